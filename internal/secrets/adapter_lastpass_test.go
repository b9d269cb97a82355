package secrets

import "testing"

func TestLastPass(t *testing.T) {
	const loggedIn = `'status --color never') echo 'Logged in as me@example.com.';;`
	const twoEntries = `cat <<'EOF'
[
  {"id": "1", "name": "REGISTRY_PASSWORD", "fullname": "{{FOLDER}}REGISTRY_PASSWORD", "username": "u", "password": "reg-pass", "group": "", "url": "", "note": ""},
  {"id": "2", "name": "DB_PASSWORD", "fullname": "{{FOLDER}}DB_PASSWORD", "username": "u", "password": "db-pass", "group": "", "url": "", "note": ""}
]
EOF
;;`
	status := "lpass [status] [--color] [never]"
	plain := stringsReplace(twoEntries, "{{FOLDER}}", "")
	inFolder := stringsReplace(twoEntries, "{{FOLDER}}", "MyFolder/")
	runAdapterCases(t, "lastpass", "lpass", nil, []adapterCase{
		{
			name: "passwords", account: "me@example.com", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			arms:      loggedIn + "\n'show REGISTRY_PASSWORD DB_PASSWORD --json') " + plain,
			wantCalls: []string{status, "lpass [show] [REGISTRY_PASSWORD] [DB_PASSWORD] [--json]"},
			want:      vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "passwords from a folder", account: "me@example.com", from: "MyFolder", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			arms:      loggedIn + "\n'show MyFolder/REGISTRY_PASSWORD MyFolder/DB_PASSWORD --json') " + inFolder,
			wantCalls: []string{status, "lpass [show] [MyFolder/REGISTRY_PASSWORD] [MyFolder/DB_PASSWORD] [--json]"},
			want:      vars("MyFolder/REGISTRY_PASSWORD", "reg-pass", "MyFolder/DB_PASSWORD", "db-pass"),
		},
		{
			name: "logs in when logged in as someone else", account: "me@example.com", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			arms: `'status --color never') echo 'Logged in as other@example.com.';;
'login me@example.com') echo 'Success: Logged in as me@example.com.';;
'show REGISTRY_PASSWORD DB_PASSWORD --json') ` + plain,
			wantCalls:  []string{status, "lpass [login] [me@example.com]", "lpass [show] [REGISTRY_PASSWORD] [DB_PASSWORD] [--json]"},
			want:       vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
			wantStderr: "Success: Logged in as me@example.com.",
		},
		{
			name: "not signed in", account: "me@example.com", names: []string{"A"},
			arms: `'status --color never') echo 'Not logged in.'; exit 1;;
'login me@example.com') echo 'Error: Failed to enter correct password.' >&2; exit 1;;`,
			wantCalls:  []string{status, "lpass [login] [me@example.com]"},
			wantErr:    "LastPass: not logged in as me@example.com and logging in failed: `lpass login me@example.com` exited with status 1",
			wantStderr: "Failed to enter correct password",
		},
		{
			name: "secret missing", account: "me@example.com", names: []string{"NOPE"},
			arms:       loggedIn + "\n'show NOPE --json') echo 'Error: Could not find specified account(s).' >&2; exit 1;;",
			wantCalls:  []string{status, "lpass [show] [NOPE] [--json]"},
			wantErr:    "LastPass: could not read NOPE: `lpass show NOPE` exited with status 1",
			wantStderr: "Could not find specified account",
		},
		{
			name: "secret missing from the output", account: "me@example.com", names: []string{"REGISTRY_PASSWORD", "OTHER"},
			arms:      loggedIn + "\n'show REGISTRY_PASSWORD OTHER --json') " + plain,
			wantCalls: []string{status, "lpass [show] [REGISTRY_PASSWORD] [OTHER] [--json]"},
			wantErr:   "LastPass: could not find OTHER",
		},
		{
			name: "malformed output", account: "me@example.com", names: []string{"A"},
			arms:      loggedIn + "\n'show A --json') echo 'A: hunter2';;",
			wantCalls: []string{status, "lpass [show] [A] [--json]"},
			wantErr:   "LastPass: unexpected output from lpass show: not valid JSON (at byte 1)",
		},
		{
			name: "no names", account: "me@example.com",
			arms:      loggedIn,
			wantCalls: []string{status},
			wantErr:   "LastPass: no secrets given to fetch",
		},
		{
			name: "not installed", account: "me@example.com", names: []string{"A"}, notInstalled: true,
			wantErr: "LastPass CLI is not installed (lpass not found in PATH)",
		},
	})
}
