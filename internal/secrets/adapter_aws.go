package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// awsSecretsManager reads secrets with `aws secretsmanager
// batch-get-secret-value`. Names are secret names or ARNs (--from is put in
// front); --account is the AWS CLI profile. A secret whose string is a JSON
// object gives one key per field, NAME/FIELD; any other secret gives NAME.
type awsSecretsManager struct{ cli *vendorCLI }

// awsBatchLimit is the most secret IDs one batch call accepts.
const awsBatchLimit = 20

func (a *awsSecretsManager) Fetch(ctx context.Context, account, from string, names []string) ([]Var, error) {
	c := a.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	names = unique(prefixed(from, names))
	if len(names) == 0 {
		return nil, c.errorf("no secrets given to fetch")
	}
	var r results
	for start := 0; start < len(names); start += awsBatchLimit {
		batch := names[start:min(start+awsBatchLimit, len(names))]
		args := append([]string{"secretsmanager", "batch-get-secret-value", "--secret-id-list"}, batch...)
		if account != "" {
			args = append(args, "--profile", account)
		}
		out, err := c.output(ctx, append(args, "--output", "json")...)
		if err != nil {
			return nil, c.errorf("could not read %s: %w", strings.Join(batch, ", "), err)
		}
		var resp struct {
			SecretValues []struct {
				Name         string  `json:"Name"`
				SecretString *string `json:"SecretString"`
			} `json:"SecretValues"`
			Errors []struct {
				SecretID  string `json:"SecretId"`
				ErrorCode string `json:"ErrorCode"`
				Message   string `json:"Message"`
			} `json:"Errors"`
		}
		if err := c.decode(out, &resp, "aws secretsmanager batch-get-secret-value"); err != nil {
			return nil, err
		}
		if len(resp.Errors) > 0 {
			msgs := make([]string, len(resp.Errors))
			for i, e := range resp.Errors {
				msgs[i] = fmt.Sprintf("%s: %s", e.SecretID, e.Message)
			}
			return nil, c.errorf("could not read %s", strings.Join(msgs, "; "))
		}
		for _, s := range resp.SecretValues {
			if s.SecretString == nil {
				return nil, c.errorf("secret %s has no SecretString (binary secrets are not supported)", s.Name)
			}
			if fields, ok := awsJSONFields(*s.SecretString); ok {
				for _, f := range fields {
					r.set(s.Name+"/"+f.Key, f.Value)
				}
				continue
			}
			r.set(s.Name, *s.SecretString)
		}
	}
	return r.vars, nil
}

// awsJSONFields returns the fields of a secret string that is a JSON object.
func awsJSONFields(s string) ([]Var, bool) {
	if t := bytes.TrimSpace([]byte(s)); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return nil, false
	}
	vars, err := decodeObject(s)
	return vars, err == nil
}
