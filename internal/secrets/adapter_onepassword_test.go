package secrets

import "testing"

func TestOnePassword(t *testing.T) {
	const signedIn = `'account get --account acme') exit 0;;`
	const threeFields = `'item get myitem --vault myvault --format json --account acme --fields label=section.SECRET1,label=section.SECRET2,label=section2.SECRET3') cat <<'EOF'
[
  {"id": "a1", "section": {"id": "s1", "label": "section"}, "type": "CONCEALED", "label": "SECRET1", "value": "VALUE1", "reference": "op://myvault/myitem/section/SECRET1"},
  {"id": "a2", "section": {"id": "s1", "label": "section"}, "type": "CONCEALED", "label": "SECRET2", "value": "VALUE2", "reference": "op://myvault/myitem/section/SECRET2"},
  {"id": "a3", "section": {"id": "s2", "label": "section2"}, "type": "CONCEALED", "label": "SECRET3", "value": "VALUE3", "reference": "op://myvault/myitem/section2/SECRET3"}
]
EOF
;;`
	const passwordItem = `'item get item1 --vault vault1 --format json --account acme --fields label=password') cat <<'EOF'
{"id": "p", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "pw-item1", "reference": "op://vault1/item1/password"}
EOF
;;`
	accountGet := "op [account] [get] [--account] [acme]"
	runAdapterCases(t, "1password", "op", []string{"OP_SESSION_abc123"}, []adapterCase{
		{
			name: "sections of one item from --from VAULT/ITEM", account: "acme", from: "op://myvault/myitem",
			names: []string{"section/SECRET1", "section/SECRET2", "section2/SECRET3"},
			arms:  signedIn + "\n" + threeFields,
			wantCalls: []string{accountGet,
				"op [item] [get] [myitem] [--vault] [myvault] [--format] [json] [--account] [acme] [--fields] [label=section.SECRET1,label=section.SECRET2,label=section2.SECRET3]"},
			want: vars("myvault/myitem/section/SECRET1", "VALUE1", "myvault/myitem/section/SECRET2", "VALUE2", "myvault/myitem/section2/SECRET3", "VALUE3"),
		},
		{
			name: "passwords of items in several vaults", account: "acme",
			names: []string{"vault1/item1", "vault2/item2/API_KEY"},
			arms: signedIn + "\n" + passwordItem + `
'item get item2 --vault vault2 --format json --account acme --fields label=API_KEY') echo '{"label": "API_KEY", "value": "key-item2", "reference": "op://vault2/item2/API_KEY"}';;`,
			wantCalls: []string{accountGet,
				"op [item] [get] [item1] [--vault] [vault1] [--format] [json] [--account] [acme] [--fields] [label=password]",
				"op [item] [get] [item2] [--vault] [vault2] [--format] [json] [--account] [acme] [--fields] [label=API_KEY]"},
			want: vars("vault1/item1", "pw-item1", "vault2/item2/API_KEY", "key-item2"),
		},
		{
			name: "every field of an item", account: "acme", from: "myvault/myitem",
			arms: signedIn + `
'item get myitem --vault myvault --format json --account acme') cat <<'EOF'
{"id": "i", "title": "myitem", "category": "LOGIN", "fields": [
  {"id": "username", "type": "STRING", "label": "username", "value": "admin", "reference": "op://myvault/myitem/username"},
  {"id": "notes", "type": "STRING", "label": "notesPlain", "reference": "op://myvault/myitem/notesPlain"},
  {"id": "a1", "section": {"id": "s1", "label": "section"}, "label": "SECRET1", "value": "VALUE1", "reference": "op://myvault/myitem/section/SECRET1"}
]}
EOF
;;`,
			wantCalls: []string{accountGet, "op [item] [get] [myitem] [--vault] [myvault] [--format] [json] [--account] [acme]"},
			want:      vars("myvault/myitem/username", "admin", "myvault/myitem/section/SECRET1", "VALUE1"),
		},
		{
			name: "signs in and passes the session through the environment", account: "acme", names: []string{"vault1/item1"},
			arms: `'account get --account acme') echo '[ERROR] account is not signed in' >&2; exit 1;;
'signin --account acme --force') echo 'export OP_SESSION_abc123="tok-en"'; echo "# This command is meant to be used with your shell's eval function.";;
` + passwordItem,
			wantCalls: []string{accountGet, "op [signin] [--account] [acme] [--force]",
				"op [item] [get] [item1] [--vault] [vault1] [--format] [json] [--account] [acme] [--fields] [label=password] {OP_SESSION_abc123=tok-en}"},
			want: vars("vault1/item1", "pw-item1"),
		},
		{
			name: "not signed in", account: "acme", names: []string{"vault1/item1"},
			arms: `'account get --account acme') echo '[ERROR] account is not signed in' >&2; exit 1;;
'signin --account acme --force') echo '[ERROR] 2026/11/26 04:00:00 authentication required' >&2; exit 1;;`,
			wantCalls:  []string{accountGet, "op [signin] [--account] [acme] [--force]"},
			wantErr:    "1Password: not signed in to account acme and signing in failed: `op signin` exited with status 1",
			wantStderr: "authentication required",
		},
		{
			name: "secret missing", account: "acme", names: []string{"vault1/item1/NOPE"},
			arms: signedIn + `
'item get item1 --vault vault1 --format json --account acme --fields label=NOPE') echo '[ERROR] "NOPE" is not a field in the "item1" item' >&2; exit 1;;`,
			wantCalls:  []string{accountGet, "op [item] [get] [item1] [--vault] [vault1] [--format] [json] [--account] [acme] [--fields] [label=NOPE]"},
			wantErr:    "1Password: could not read NOPE from item1 in the vault1 vault: `op item get item1` exited with status 1",
			wantStderr: "is not a field",
		},
		{
			name: "fewer fields than asked", account: "acme", names: []string{"vault1/item1/A", "vault1/item1/B"},
			arms: signedIn + `
'item get item1 --vault vault1 --format json --account acme --fields label=A,label=B') echo '[{"label": "A", "value": "x", "reference": "op://vault1/item1/A"}]';;`,
			wantCalls: []string{accountGet, "op [item] [get] [item1] [--vault] [vault1] [--format] [json] [--account] [acme] [--fields] [label=A,label=B]"},
			wantErr:   "1Password: op returned 1 of the 2 fields asked from item1 in the vault1 vault",
		},
		{
			name: "malformed output", account: "acme", names: []string{"vault1/item1"},
			arms: signedIn + `
'item get item1 --vault vault1 --format json --account acme --fields label=password') echo 'password: hunter2';;`,
			wantCalls: []string{accountGet, "op [item] [get] [item1] [--vault] [vault1] [--format] [json] [--account] [acme] [--fields] [label=password]"},
			wantErr:   "1Password: unexpected output from op item get: not valid JSON (at byte 1)",
		},
		{
			name: "name without an item", account: "acme", names: []string{"REGISTRY_PASSWORD"},
			arms:      signedIn,
			wantCalls: []string{accountGet},
			wantErr:   `1Password: "REGISTRY_PASSWORD" is not VAULT/ITEM[/SECTION][/FIELD] (use --from VAULT or --from VAULT/ITEM)`,
		},
		{
			name: "not installed", account: "acme", names: []string{"v/i"}, notInstalled: true,
			wantErr: "1Password CLI is not installed (op not found in PATH)",
		},
	})
}
