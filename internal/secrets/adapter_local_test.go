package secrets

import "testing"

func TestPassbolt(t *testing.T) {
	const verify = `'verify') echo 'Verify success';;`
	verifyCall := "passbolt [verify]"
	runAdapterCases(t, "passbolt", "passbolt", nil, []adapterCase{
		{
			name: "resources outside folders", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			arms: verify + `
'list resources --filter Name == "REGISTRY_PASSWORD" || Name == "DB_PASSWORD" --json') cat <<'EOF'
[{"id": "r1", "folder_parent_id": "", "name": "REGISTRY_PASSWORD", "username": "", "uri": "", "password": "reg-pass"},
 {"id": "r2", "folder_parent_id": "", "name": "DB_PASSWORD", "username": "", "uri": "", "password": "db-pass"}]
EOF
;;`,
			wantCalls: []string{verifyCall, `passbolt [list] [resources] [--filter] [Name == "REGISTRY_PASSWORD" || Name == "DB_PASSWORD"] [--json]`},
			want:      vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "folder from --from", from: "coolfolder", names: []string{"REGISTRY_PASSWORD", "DB_PASSWORD"},
			arms: verify + `
'list folders --filter Name == "coolfolder" --json') echo '[{"id": "f1", "folder_parent_id": "", "name": "coolfolder"}]';;
'list resources --filter (Name == "REGISTRY_PASSWORD" && FolderParentID == "f1") || (Name == "DB_PASSWORD" && FolderParentID == "f1") --folder f1 --json') cat <<'EOF'
[{"id": "r1", "folder_parent_id": "f1", "name": "REGISTRY_PASSWORD", "password": "reg-pass"},
 {"id": "r2", "folder_parent_id": "f1", "name": "DB_PASSWORD", "password": "db-pass"}]
EOF
;;`,
			wantCalls: []string{verifyCall,
				`passbolt [list] [folders] [--filter] [Name == "coolfolder"] [--json]`,
				`passbolt [list] [resources] [--filter] [(Name == "REGISTRY_PASSWORD" && FolderParentID == "f1") || (Name == "DB_PASSWORD" && FolderParentID == "f1")] [--folder] [f1] [--json]`},
			want: vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "nested and several folders", names: []string{"coolfolder/prod/REGISTRY_PASSWORD", "otherfolder/DB_PASSWORD"},
			arms: verify + `
'list folders --filter Name == "coolfolder" || Name == "otherfolder" --json') echo '[{"id": "f1", "folder_parent_id": "", "name": "coolfolder"}, {"id": "f2", "folder_parent_id": "", "name": "otherfolder"}]';;
'list folders --filter Name == "prod" && FolderParentID == "f1" --json') echo '[{"id": "f3", "folder_parent_id": "f1", "name": "prod"}]';;
'list resources --filter (Name == "REGISTRY_PASSWORD" && FolderParentID == "f3") || (Name == "DB_PASSWORD" && FolderParentID == "f2") --folder f3 --folder f2 --json') cat <<'EOF'
[{"id": "r1", "folder_parent_id": "f3", "name": "REGISTRY_PASSWORD", "password": "reg-pass"},
 {"id": "r2", "folder_parent_id": "f2", "name": "DB_PASSWORD", "password": "db-pass"}]
EOF
;;`,
			wantCalls: []string{verifyCall,
				`passbolt [list] [folders] [--filter] [Name == "coolfolder" || Name == "otherfolder"] [--json]`,
				`passbolt [list] [folders] [--filter] [Name == "prod" && FolderParentID == "f1"] [--json]`,
				`passbolt [list] [resources] [--filter] [(Name == "REGISTRY_PASSWORD" && FolderParentID == "f3") || (Name == "DB_PASSWORD" && FolderParentID == "f2")] [--folder] [f3] [--folder] [f2] [--json]`},
			want: vars("REGISTRY_PASSWORD", "reg-pass", "DB_PASSWORD", "db-pass"),
		},
		{
			name: "folder missing", names: []string{"nope/A"},
			arms:      verify + "\n'list folders --filter Name == \"nope\" --json') echo '[]';;",
			wantCalls: []string{verifyCall, `passbolt [list] [folders] [--filter] [Name == "nope"] [--json]`},
			wantErr:   "Passbolt: could not find folders nope",
		},
		{
			name: "not signed in", names: []string{"A"},
			arms:       `'verify') echo 'Error: Checking Server: Login: private key: openpgp: invalid argument' >&2; exit 1;;`,
			wantCalls:  []string{verifyCall},
			wantErr:    "Passbolt: could not log in (`passbolt verify` failed; run `passbolt configure`): `passbolt verify` exited with status 1",
			wantStderr: "Login: private key",
		},
		{
			name: "secret missing", names: []string{"A", "B"},
			arms:      verify + "\n'list resources --filter Name == \"A\" || Name == \"B\" --json') echo '[{\"name\": \"A\", \"password\": \"a-pass\"}]';;",
			wantCalls: []string{verifyCall, `passbolt [list] [resources] [--filter] [Name == "A" || Name == "B"] [--json]`},
			wantErr:   "Passbolt: could not find B",
		},
		{
			name: "malformed output", names: []string{"A"},
			arms:      verify + "\n'list resources --filter Name == \"A\" --json') echo 'ID NAME PASSWORD';;",
			wantCalls: []string{verifyCall, `passbolt [list] [resources] [--filter] [Name == "A"] [--json]`},
			wantErr:   "Passbolt: unexpected output from passbolt list resources: not valid JSON (at byte 1)",
		},
		{
			name: "not installed", names: []string{"A"}, notInstalled: true,
			wantErr: "Passbolt CLI is not installed (passbolt not found in PATH)",
		},
	})
}

func TestEnpass(t *testing.T) {
	const show = `'-json -vault /vaults/primary show FooBar Baz') cat <<'EOF'
[
  {"title": "FooBar", "label": "", "login": "me", "password": "foo-pass", "category": "login"},
  {"title": "FooBar", "label": "API", "login": "", "password": "api-pass", "category": "login"},
  {"title": "FooBar", "label": "EMPTY", "login": "", "password": "", "category": "login"},
  {"title": "Baz", "label": "DB_PASSWORD", "login": "", "password": "db-pass", "category": "password"},
  {"title": "Baz", "label": "OTHER", "login": "", "password": "other-pass", "category": "password"}
]
EOF
;;`
	showCall := "enpass-cli [-json] [-vault] [/vaults/primary] [show] [FooBar] [Baz]"
	runAdapterCases(t, "enpass", "enpass-cli", nil, []adapterCase{
		{
			name: "whole items and single fields", from: "/vaults/primary", names: []string{"FooBar", "Baz/DB_PASSWORD"},
			arms:      show,
			wantCalls: []string{showCall},
			want:      vars("FooBar", "foo-pass", "FooBar/API", "api-pass", "Baz/DB_PASSWORD", "db-pass"),
		},
		{
			name: "field missing", from: "/vaults/primary", names: []string{"FooBar", "Baz/NOPE"},
			arms:      show,
			wantCalls: []string{showCall},
			wantErr:   "Enpass: could not find Baz/NOPE",
		},
		{
			name: "duplicate titles", from: "/vaults/primary", names: []string{"Dup"},
			arms:      `'-json -vault /vaults/primary show Dup') echo '[{"title": "Dup", "password": "a-pass"}, {"title": "Dup", "password": "b-pass"}]';;`,
			wantCalls: []string{"enpass-cli [-json] [-vault] [/vaults/primary] [show] [Dup]"},
			wantErr:   "Enpass: Dup is present more than once",
		},
		{
			name: "wrong master password", from: "/vaults/primary", names: []string{"FooBar"},
			arms:       `'-json -vault /vaults/primary show FooBar') echo 'level=fatal msg="could not open vault: file is not a database"' >&2; exit 1;;`,
			wantCalls:  []string{"enpass-cli [-json] [-vault] [/vaults/primary] [show] [FooBar]"},
			wantErr:    "Enpass: could not read FooBar: `enpass-cli` exited with status 1",
			wantStderr: "could not open vault",
		},
		{
			name: "malformed output", from: "/vaults/primary", names: []string{"FooBar"},
			arms:      `'-json -vault /vaults/primary show FooBar') echo 'title: FooBar password: foo-pass';;`,
			wantCalls: []string{"enpass-cli [-json] [-vault] [/vaults/primary] [show] [FooBar]"},
			wantErr:   "Enpass: unexpected output from enpass-cli show: not valid JSON (at byte 2)",
		},
		{
			name: "vault missing", names: []string{"FooBar"},
			arms:    show,
			wantErr: "Enpass: --from must be the path of the vault",
		},
		{
			name: "not installed", from: "/v", names: []string{"A"}, notInstalled: true,
			wantErr: "Enpass CLI is not installed (enpass-cli not found in PATH)",
		},
	})
}
