package secrets

import "testing"

func TestBitwarden(t *testing.T) {
	const unlocked = `'status') echo '{"serverUrl":null,"lastSync":"2026-11-26T04:00:00.000Z","userEmail":"me@example.com","status":"unlocked"}';;
'sync') echo 'Syncing complete.';;`
	const items = `'get item REGISTRY_PASSWORD') echo '{"object":"item","type":1,"name":"REGISTRY_PASSWORD","login":{"username":"u","password":"reg-pass"}}';;
'get item MyItem') cat <<'EOF'
{"object": "item", "type": 2, "name": "MyItem", "secureNote": {"type": 0},
 "fields": [{"name": "DB_PASSWORD", "value": "db-pass", "type": 1}, {"name": "API_KEY", "value": "api-key", "type": 1}]}
EOF
;;`
	status, sync := "bw [status]", "bw [sync]"
	runAdapterCases(t, "bitwarden", "bw", []string{"BW_SESSION"}, []adapterCase{
		{
			name: "login passwords and custom fields", account: "me@example.com",
			names:     []string{"REGISTRY_PASSWORD", "MyItem/DB_PASSWORD", "MyItem/API_KEY"},
			arms:      unlocked + "\n" + items,
			wantCalls: []string{status, sync, "bw [get] [item] [REGISTRY_PASSWORD]", "bw [get] [item] [MyItem]"},
			want:      vars("REGISTRY_PASSWORD", "reg-pass", "MyItem/DB_PASSWORD", "db-pass", "MyItem/API_KEY", "api-key"),
		},
		{
			name: "every field of a non-login item from --from", account: "me@example.com", from: "MyItem",
			names:     []string{"DB_PASSWORD"},
			arms:      unlocked + "\n" + items,
			wantCalls: []string{status, sync, "bw [get] [item] [MyItem]"},
			want:      vars("MyItem/DB_PASSWORD", "db-pass"),
		},
		{
			name: "whole item without login password gives all fields", account: "me@example.com", names: []string{"MyItem"},
			arms:      unlocked + "\n" + items,
			wantCalls: []string{status, sync, "bw [get] [item] [MyItem]"},
			want:      vars("MyItem/DB_PASSWORD", "db-pass", "MyItem/API_KEY", "api-key"),
		},
		{
			name: "unlocks a locked vault and passes the session through the environment", account: "me@example.com",
			names: []string{"REGISTRY_PASSWORD"},
			arms: `'status') if [ -n "$BW_SESSION" ]; then echo '{"status":"unlocked"}'; else echo '{"status":"locked"}'; fi;;
'unlock --raw') printf 'sess10n';;
'sync') ;;
` + items,
			wantCalls: []string{status, "bw [unlock] [--raw]", "bw [status] {BW_SESSION=sess10n}", "bw [sync] {BW_SESSION=sess10n}",
				"bw [get] [item] [REGISTRY_PASSWORD] {BW_SESSION=sess10n}"},
			want: vars("REGISTRY_PASSWORD", "reg-pass"),
		},
		{
			name: "logs in when unauthenticated", account: "me@example.com", names: []string{"REGISTRY_PASSWORD"},
			arms: `'status') if [ -n "$BW_SESSION" ]; then echo '{"status":"unlocked"}'; else echo '{"status":"unauthenticated"}'; fi;;
'login me@example.com --raw') echo 'sess10n';;
'sync') ;;
` + items,
			wantCalls: []string{status, "bw [login] [me@example.com] [--raw]", "bw [status] {BW_SESSION=sess10n}", "bw [sync] {BW_SESSION=sess10n}",
				"bw [get] [item] [REGISTRY_PASSWORD] {BW_SESSION=sess10n}"},
			want: vars("REGISTRY_PASSWORD", "reg-pass"),
		},
		{
			name: "not signed in", account: "me@example.com", names: []string{"REGISTRY_PASSWORD"},
			arms: `'status') echo '{"status":"unauthenticated"}';;
'login me@example.com --raw') echo 'Username or password is incorrect. Try again.' >&2; exit 1;;`,
			wantCalls:  []string{status, "bw [login] [me@example.com] [--raw]"},
			wantErr:    "Bitwarden: not logged in as me@example.com and logging in failed: `bw login me@example.com` exited with status 1",
			wantStderr: "Username or password is incorrect",
		},
		{
			name: "still locked", account: "me@example.com", names: []string{"REGISTRY_PASSWORD"},
			arms: `'status') echo '{"status":"locked"}';;
'unlock --raw') ;;`,
			wantCalls: []string{status, "bw [unlock] [--raw]", status},
			wantErr:   `Bitwarden: could not log in to and unlock the vault (status "locked")`,
		},
		{
			name: "item missing", account: "me@example.com", names: []string{"NOPE"},
			arms:       unlocked + "\n'get item NOPE') echo 'Not found.' >&2; exit 1;;",
			wantCalls:  []string{status, sync, "bw [get] [item] [NOPE]"},
			wantErr:    "Bitwarden: could not read NOPE: `bw get item NOPE` exited with status 1",
			wantStderr: "Not found.",
		},
		{
			name: "field missing", account: "me@example.com", names: []string{"MyItem/NOPE"},
			arms:      unlocked + "\n" + items,
			wantCalls: []string{status, sync, "bw [get] [item] [MyItem]"},
			wantErr:   "Bitwarden: could not find field NOPE in item MyItem",
		},
		{
			name: "item without password or fields", account: "me@example.com", names: []string{"Card"},
			arms:      unlocked + "\n'get item Card') echo '{\"object\":\"item\",\"type\":3,\"name\":\"Card\"}';;",
			wantCalls: []string{status, sync, "bw [get] [item] [Card]"},
			wantErr:   "Bitwarden: item Card is not a login item and no fields were given",
		},
		{
			name: "malformed status", account: "me@example.com", names: []string{"A"},
			arms:      `'status') echo 'You are not logged in.';;`,
			wantCalls: []string{status},
			wantErr:   "Bitwarden: unexpected output from bw status: not valid JSON (at byte 1)",
		},
		{
			name: "malformed item", account: "me@example.com", names: []string{"A"},
			arms:      unlocked + "\n'get item A') echo '{\"login\": ';;",
			wantCalls: []string{status, sync, "bw [get] [item] [A]"},
			wantErr:   "Bitwarden: unexpected output from bw get item: not valid JSON (at byte 11)",
		},
		{
			name: "not installed", account: "me@example.com", names: []string{"A"}, notInstalled: true,
			wantErr: "Bitwarden CLI is not installed (bw not found in PATH)",
		},
	})
}

func TestBitwardenSecretsManager(t *testing.T) {
	const auth = `'run echo OK') echo OK;;`
	const list = `cat <<'EOF'
[
  {"object": "secret", "id": "id1", "organizationId": "o", "projectId": "p1", "key": "KAMAL_REGISTRY_PASSWORD", "value": "reg-pass", "note": ""},
  {"object": "secret", "id": "id2", "organizationId": "o", "projectId": "p1", "key": "MY_OTHER_SECRET", "value": "my=weird\"secret\nline", "note": ""}
]
EOF
;;`
	run := "bws [run] [echo OK]"
	runAdapterCases(t, "bitwarden-sm", "bws", nil, []adapterCase{
		{
			name: "all", names: []string{"all"},
			arms:      auth + "\n'secret list --output json') " + list,
			wantCalls: []string{run, "bws [secret] [list] [--output] [json]"},
			want:      vars("KAMAL_REGISTRY_PASSWORD", "reg-pass", "MY_OTHER_SECRET", "my=weird\"secret\nline"),
		},
		{
			name: "all from a project", names: []string{"82aeb5bd-6958/all"},
			arms:      auth + "\n'secret list 82aeb5bd-6958 --output json') " + list,
			wantCalls: []string{run, "bws [secret] [list] [82aeb5bd-6958] [--output] [json]"},
			want:      vars("KAMAL_REGISTRY_PASSWORD", "reg-pass", "MY_OTHER_SECRET", "my=weird\"secret\nline"),
		},
		{
			name: "all from --from project", from: "82aeb5bd-6958", names: []string{"all"},
			arms:      auth + "\n'secret list 82aeb5bd-6958 --output json') " + list,
			wantCalls: []string{run, "bws [secret] [list] [82aeb5bd-6958] [--output] [json]"},
			want:      vars("KAMAL_REGISTRY_PASSWORD", "reg-pass", "MY_OTHER_SECRET", "my=weird\"secret\nline"),
		},
		{
			name: "secrets by id", names: []string{"id1", "id2"},
			arms: auth + `
'secret get id1 --output json') echo '{"id": "id1", "key": "KAMAL_REGISTRY_PASSWORD", "value": "reg-pass"}';;
'secret get id2 --output json') echo '{"id": "id2", "key": "DB_PASSWORD", "value": "db-pass"}';;`,
			wantCalls: []string{run, "bws [secret] [get] [id1] [--output] [json]", "bws [secret] [get] [id2] [--output] [json]"},
			want:      vars("KAMAL_REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "not signed in", names: []string{"all"},
			arms:      `'run echo OK') echo 'Error: Missing access token' >&2; exit 1;;`,
			wantCalls: []string{run},
			wantErr:   "Bitwarden Secrets Manager: could not authenticate; is BWS_ACCESS_TOKEN set to a valid access token?",
		},
		{
			name: "secret missing", names: []string{"id9"},
			arms:       auth + "\n'secret get id9 --output json') echo 'Error: Resource not found.' >&2; exit 1;;",
			wantCalls:  []string{run, "bws [secret] [get] [id9] [--output] [json]"},
			wantErr:    "Bitwarden Secrets Manager: could not read id9: `bws secret get id9` exited with status 1",
			wantStderr: "Resource not found",
		},
		{
			name: "malformed output", names: []string{"all"},
			arms:      auth + "\n'secret list --output json') echo '[{\"key\": \"A\"}]';;",
			wantCalls: []string{run, "bws [secret] [list] [--output] [json]"},
			wantErr:   "Bitwarden Secrets Manager: unexpected output from bws: a secret has no key or value",
		},
		{
			name:      "no names",
			arms:      auth,
			wantCalls: []string{run},
			wantErr:   "Bitwarden Secrets Manager: nothing to fetch: give secret IDs, `all` or PROJECT_ID/all",
		},
		{
			name: "not installed", names: []string{"all"}, notInstalled: true,
			wantErr: "Bitwarden Secrets Manager CLI is not installed (bws not found in PATH)",
		},
	})
}
