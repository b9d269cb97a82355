package secrets

import (
	"fmt"
	"strings"
	"testing"
)

func TestAWSSecretsManager(t *testing.T) {
	batch := "aws [secretsmanager] [batch-get-secret-value] [--secret-id-list]"
	var many []string
	var manyIDs []string
	for i := 1; i <= 21; i++ {
		many = append(many, fmt.Sprintf("s%d", i))
		manyIDs = append(manyIDs, fmt.Sprintf("[s%d]", i))
	}
	runAdapterCases(t, "aws_secrets_manager", "aws", nil, []adapterCase{
		{
			name: "JSON and plain secrets with a profile and --from", account: "default", from: "myapp",
			names: []string{"creds", "plain"},
			arms: `'secretsmanager batch-get-secret-value --secret-id-list myapp/creds myapp/plain --profile default --output json') cat <<'EOF'
{
  "SecretValues": [
    {"ARN": "arn:aws:secretsmanager:us-east-1:1:secret:myapp/creds-a", "Name": "myapp/creds", "VersionId": "v", "SecretString": "{\"DB_PASSWORD\":\"db-pass\",\"PORT\":5432}", "VersionStages": ["AWSCURRENT"], "CreatedDate": "2026-01-01T00:00:00Z"},
    {"ARN": "arn:aws:secretsmanager:us-east-1:1:secret:myapp/plain-b", "Name": "myapp/plain", "VersionId": "v", "SecretString": "plain-pass", "VersionStages": ["AWSCURRENT"], "CreatedDate": "2026-01-01T00:00:00Z"}
  ],
  "Errors": []
}
EOF
;;`,
			wantCalls: []string{batch + " [myapp/creds] [myapp/plain] [--profile] [default] [--output] [json]"},
			want:      vars("myapp/creds/DB_PASSWORD", "db-pass", "myapp/creds/PORT", "5432", "myapp/plain", "plain-pass"),
		},
		{
			name: "no profile", names: []string{"a"},
			arms:      `'secretsmanager batch-get-secret-value --secret-id-list a --output json') echo '{"SecretValues": [{"Name": "a", "SecretString": "a-pass"}], "Errors": []}';;`,
			wantCalls: []string{batch + " [a] [--output] [json]"},
			want:      vars("a", "a-pass"),
		},
		{
			name: "batches of twenty", names: many,
			arms: `'secretsmanager batch-get-secret-value --secret-id-list s1 '*) echo '{"SecretValues": [{"Name": "s1", "SecretString": "v-1"}], "Errors": []}';;
'secretsmanager batch-get-secret-value --secret-id-list s21 --output json') echo '{"SecretValues": [{"Name": "s21", "SecretString": "v-21"}], "Errors": []}';;`,
			wantCalls: []string{
				batch + " " + strings.Join(manyIDs[:20], " ") + " [--output] [json]",
				batch + " [s21] [--output] [json]",
			},
			want: vars("s1", "v-1", "s21", "v-21"),
		},
		{
			name: "not signed in", names: []string{"a"},
			arms:       `'secretsmanager batch-get-secret-value --secret-id-list a --output json') echo 'Unable to locate credentials. You can configure credentials by running "aws configure".' >&2; exit 255;;`,
			wantCalls:  []string{batch + " [a] [--output] [json]"},
			wantErr:    "AWS Secrets Manager: could not read a: `aws secretsmanager batch-get-secret-value` exited with status 255",
			wantStderr: "Unable to locate credentials",
		},
		{
			name: "secret missing", names: []string{"a", "nope"},
			arms: `'secretsmanager batch-get-secret-value --secret-id-list a nope --output json') cat <<'EOF'
{"SecretValues": [{"Name": "a", "SecretString": "a-pass"}],
 "Errors": [{"SecretId": "nope", "ErrorCode": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."}]}
EOF
;;`,
			wantCalls: []string{batch + " [a] [nope] [--output] [json]"},
			wantErr:   "AWS Secrets Manager: could not read nope: Secrets Manager can't find the specified secret.",
		},
		{
			name: "binary secret", names: []string{"bin"},
			arms:      `'secretsmanager batch-get-secret-value --secret-id-list bin --output json') echo '{"SecretValues": [{"Name": "bin", "SecretBinary": "AAE="}], "Errors": []}';;`,
			wantCalls: []string{batch + " [bin] [--output] [json]"},
			wantErr:   "AWS Secrets Manager: secret bin has no SecretString (binary secrets are not supported)",
		},
		{
			name: "malformed output", names: []string{"a"},
			arms:      `'secretsmanager batch-get-secret-value --secret-id-list a --output json') echo 'SECRETVALUES a a-pass';;`,
			wantCalls: []string{batch + " [a] [--output] [json]"},
			wantErr:   "AWS Secrets Manager: unexpected output from aws secretsmanager batch-get-secret-value: not valid JSON (at byte 1)",
		},
		{
			name: "not installed", names: []string{"a"}, notInstalled: true,
			wantErr: "AWS Secrets Manager CLI is not installed (aws not found in PATH)",
		},
	})
}

func TestGCPSecretManager(t *testing.T) {
	const authed = `'auth list --format=json') echo '[{"account": "me@example.com", "status": "ACTIVE"}]';;`
	// base64("gcp-pass") and base64("other\nline")
	const access = `'secrets versions access latest --secret=my-secret --format=json') echo '{"name": "projects/1/secrets/my-secret/versions/4", "payload": {"data": "Z2NwLXBhc3M=", "dataCrc32c": "1"}}';;
'secrets versions access 3 --secret=other --project=proj2 --format=json') echo '{"name": "projects/2/secrets/other/versions/3", "payload": {"data": "b3RoZXIKbGluZQ=="}}';;`
	authList := "gcloud [auth] [list] [--format=json]"
	runAdapterCases(t, "gcp", "gcloud", nil, []adapterCase{
		{
			name: "default project and explicit project with version", account: "default",
			names:     []string{"my-secret", "proj2/other/3"},
			arms:      authed + "\n" + access,
			wantCalls: []string{authList, "gcloud [secrets] [versions] [access] [latest] [--secret=my-secret] [--format=json]", "gcloud [secrets] [versions] [access] [3] [--secret=other] [--project=proj2] [--format=json]"},
			want:      vars("default/my-secret", "gcp-pass", "proj2/other", "other\nline"),
		},
		{
			name: "account, impersonation chain and --from project", account: "user@example.com|sa@example.com,sa2@example.com", from: "my-project",
			names: []string{"db"},
			arms: authed + `
'secrets versions access latest --secret=db --project=my-project --account=user@example.com --impersonate-service-account=sa@example.com,sa2@example.com --format=json') echo '{"payload": {"data": "ZGItcGFzcw=="}}';;`,
			wantCalls: []string{authList, "gcloud [secrets] [versions] [access] [latest] [--secret=db] [--project=my-project] [--account=user@example.com] [--impersonate-service-account=sa@example.com,sa2@example.com] [--format=json]"},
			want:      vars("my-project/db", "db-pass"),
		},
		{
			name: "logs in when gcloud has no credentials", account: "default", names: []string{"my-secret"},
			arms: `'auth list --format=json') if [ -f '{{DIR}}/logged-in' ]; then echo '[{"account": "me@example.com"}]'; else echo '[]'; fi;;
'auth login') touch '{{DIR}}/logged-in';;
` + access,
			wantCalls: []string{authList, "gcloud [auth] [login]", authList, "gcloud [secrets] [versions] [access] [latest] [--secret=my-secret] [--format=json]"},
			want:      vars("default/my-secret", "gcp-pass"),
		},
		{
			name: "not signed in", account: "default", names: []string{"my-secret"},
			arms: `'auth list --format=json') echo '[]'; echo 'No credentialed accounts.' >&2;;
'auth login') echo 'ERROR: (gcloud.auth.login) There was a problem with web authentication.' >&2; exit 1;;`,
			wantCalls:  []string{authList, "gcloud [auth] [login]"},
			wantErr:    "GCP Secret Manager: gcloud is not signed in and `gcloud auth login` failed: `gcloud auth login` exited with status 1",
			wantStderr: "problem with web authentication",
		},
		{
			name: "secret missing", account: "default", names: []string{"nope"},
			arms:       authed + "\n'secrets versions access latest --secret=nope --format=json') echo 'ERROR: (gcloud.secrets.versions.access) NOT_FOUND: Secret [projects/1/secrets/nope] not found or has no versions.' >&2; exit 1;;",
			wantCalls:  []string{authList, "gcloud [secrets] [versions] [access] [latest] [--secret=nope] [--format=json]"},
			wantErr:    "GCP Secret Manager: could not read default/nope: `gcloud secrets versions access latest` exited with status 1",
			wantStderr: "NOT_FOUND",
		},
		{
			name: "malformed output without payload", account: "default", names: []string{"my-secret"},
			arms:      authed + "\n'secrets versions access latest --secret=my-secret --format=json') echo '{\"name\": \"x\"}';;",
			wantCalls: []string{authList, "gcloud [secrets] [versions] [access] [latest] [--secret=my-secret] [--format=json]"},
			wantErr:   "GCP Secret Manager: unexpected output from gcloud secrets versions access: no payload data for default/my-secret",
		},
		{
			name: "malformed payload", account: "default", names: []string{"my-secret"},
			arms:      authed + "\n'secrets versions access latest --secret=my-secret --format=json') echo '{\"payload\": {\"data\": \"not base64!\"}}';;",
			wantCalls: []string{authList, "gcloud [secrets] [versions] [access] [latest] [--secret=my-secret] [--format=json]"},
			wantErr:   "GCP Secret Manager: unexpected output from gcloud secrets versions access: payload of default/my-secret is not base64",
		},
		{
			name: "not installed", account: "default", names: []string{"a"}, notInstalled: true,
			wantErr: "GCP Secret Manager CLI is not installed (gcloud not found in PATH)",
		},
	})
}

func TestDoppler(t *testing.T) {
	const me = `'me --json') echo '{"name": "me", "type": "personal"}';;`
	const get = `cat <<'EOF'
{"REGISTRY_PASSWORD": {"computed": "reg-pass", "note": "", "raw": "reg-pass"}, "DB_PASSWORD": {"computed": "db-pass", "note": "", "raw": "${X}"}}
EOF
;;`
	meCall := "doppler [me] [--json]"
	runAdapterCases(t, "doppler", "doppler", nil, []adapterCase{
		{
			name: "from project/config", from: "my-project/prd", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			env:       map[string]string{"DOPPLER_TOKEN": ""},
			arms:      me + "\n'secrets get REGISTRY_PASSWORD DB_PASSWORD --json -p my-project -c prd') " + get,
			wantCalls: []string{meCall, "doppler [secrets] [get] [REGISTRY_PASSWORD] [DB_PASSWORD] [--json] [-p] [my-project] [-c] [prd]"},
			want:      vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "project/config in the names", names: []string{"my-project/prd/REGISTRY_PASSWORD", "my-project/prd/DB_PASSWORD"},
			env:       map[string]string{"DOPPLER_TOKEN": ""},
			arms:      me + "\n'secrets get REGISTRY_PASSWORD DB_PASSWORD --json -p my-project -c prd') " + get,
			wantCalls: []string{meCall, "doppler [secrets] [get] [REGISTRY_PASSWORD] [DB_PASSWORD] [--json] [-p] [my-project] [-c] [prd]"},
			want:      vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "service token picks project and config", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			env:       map[string]string{"DOPPLER_TOKEN": "dp.st.prd.xxxx"},
			arms:      me + "\n'secrets get REGISTRY_PASSWORD DB_PASSWORD --json') " + get,
			wantCalls: []string{meCall, "doppler [secrets] [get] [REGISTRY_PASSWORD] [DB_PASSWORD] [--json]"},
			want:      vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "logs in", from: "p/c", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			env: map[string]string{"DOPPLER_TOKEN": ""},
			arms: `'me --json') echo 'Doppler Error: you must provide a token' >&2; exit 1;;
'login -y') echo 'Your auth code is: tiger-lemon';;
'secrets get REGISTRY_PASSWORD DB_PASSWORD --json -p p -c c') ` + get,
			wantCalls:  []string{meCall, "doppler [login] [-y]", "doppler [secrets] [get] [REGISTRY_PASSWORD] [DB_PASSWORD] [--json] [-p] [p] [-c] [c]"},
			want:       vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
			wantStderr: "Your auth code is: tiger-lemon",
		},
		{
			name: "not signed in", from: "p/c", names: []string{"A"},
			env: map[string]string{"DOPPLER_TOKEN": ""},
			arms: `'me --json') echo 'Doppler Error: you must provide a token' >&2; exit 1;;
'login -y') echo 'Doppler Error: Unable to authenticate' >&2; exit 1;;`,
			wantCalls:  []string{meCall, "doppler [login] [-y]"},
			wantErr:    "Doppler: not logged in and `doppler login` failed: `doppler login` exited with status 1",
			wantStderr: "Unable to authenticate",
		},
		{
			name: "missing project and config", names: []string{"A"},
			env:       map[string]string{"DOPPLER_TOKEN": ""},
			arms:      me,
			wantCalls: []string{meCall},
			wantErr:   "Doppler: missing project or config: use --from PROJECT/CONFIG or PROJECT/CONFIG/NAME",
		},
		{
			name: "secret missing", from: "p/c", names: []string{"NOPE"},
			env:        map[string]string{"DOPPLER_TOKEN": ""},
			arms:       me + "\n'secrets get NOPE --json -p p -c c') echo 'Doppler Error: Could not find requested secret: NOPE' >&2; exit 1;;",
			wantCalls:  []string{meCall, "doppler [secrets] [get] [NOPE] [--json] [-p] [p] [-c] [c]"},
			wantErr:    "Doppler: could not read NOPE: `doppler secrets get NOPE` exited with status 1",
			wantStderr: "Could not find requested secret",
		},
		{
			name: "secret missing from the output", from: "p/c", names: []string{"REGISTRY_PASSWORD", "OTHER"},
			env:       map[string]string{"DOPPLER_TOKEN": ""},
			arms:      me + "\n'secrets get REGISTRY_PASSWORD OTHER --json -p p -c c') " + get,
			wantCalls: []string{meCall, "doppler [secrets] [get] [REGISTRY_PASSWORD] [OTHER] [--json] [-p] [p] [-c] [c]"},
			wantErr:   "Doppler: could not find OTHER",
		},
		{
			name: "malformed output", from: "p/c", names: []string{"A"},
			env:       map[string]string{"DOPPLER_TOKEN": ""},
			arms:      me + "\n'secrets get A --json -p p -c c') echo '{\"A\": \"flat\"}';;",
			wantCalls: []string{meCall, "doppler [secrets] [get] [A] [--json] [-p] [p] [-c] [c]"},
			wantErr:   "Doppler: unexpected output from doppler secrets get: not in the expected shape (unexpected JSON string)",
		},
		{
			name: "not installed", from: "p/c", names: []string{"A"}, notInstalled: true,
			wantErr: "Doppler CLI is not installed (doppler not found in PATH)",
		},
	})
}
