package secrets

import (
	"context"
	"strconv"
	"strings"
)

// passbolt reads Passbolt resources with `passbolt` (go-passbolt-cli).
// Names are NAME (a resource outside any folder) or FOLDER[/SUB...]/NAME;
// --from FOLDER is put in front. --account is ignored. Keys are the
// resource names, without folders.
type passbolt struct{ cli *vendorCLI }

type pbFolder struct {
	ID       string `json:"id"`
	ParentID string `json:"folder_parent_id"`
	Name     string `json:"name"`
}

func (p *passbolt) Fetch(ctx context.Context, _, from string, names []string) ([]Var, error) {
	c := p.cli
	if err := c.checkInstalled(); err != nil {
		return nil, err
	}
	if _, err := c.output(ctx, "verify"); err != nil {
		return nil, c.errorf("could not log in (`passbolt verify` failed; run `passbolt configure`): %w", err)
	}
	names = prefixed(from, names)
	if len(names) == 0 {
		return nil, c.errorf("no secrets given to fetch")
	}

	folders, err := p.folders(ctx, names)
	if err != nil {
		return nil, err
	}
	var conds, folderArgs, wanted []string
	for _, n := range names {
		i := strings.LastIndexByte(n, '/')
		name := n[i+1:]
		wanted = append(wanted, name)
		if i <= 0 {
			conds = append(conds, "Name == "+strconv.Quote(name))
			continue
		}
		f := folders[n[:i]]
		conds = append(conds, "(Name == "+strconv.Quote(name)+" && FolderParentID == "+strconv.Quote(f.ID)+")")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if i := strings.LastIndexByte(n, '/'); i > 0 {
			if id := folders[n[:i]].ID; !seen[id] {
				seen[id] = true
				folderArgs = append(folderArgs, "--folder", id)
			}
		}
	}
	args := append([]string{"list", "resources", "--filter", strings.Join(conds, " || ")}, folderArgs...)
	out, err := c.output(ctx, append(args, "--json")...)
	if err != nil {
		return nil, c.errorf("could not read %s: %w", strings.Join(names, ", "), err)
	}
	var resources []struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := c.decode(out, &resources, "passbolt list resources"); err != nil {
		return nil, err
	}
	var r results
	for _, res := range resources {
		r.set(res.Name, res.Password)
	}
	if missing := r.lacking(wanted); len(missing) > 0 {
		return nil, c.errorf("could not find %s", strings.Join(missing, ", "))
	}
	return r.vars, nil
}

// folders resolves every folder path used by names to its folder, one
// level at a time: top-level folders by name, then each child by name and
// parent ID.
func (p *passbolt) folders(ctx context.Context, names []string) (map[string]pbFolder, error) {
	c := p.cli
	var paths [][]string
	var tops []string
	for _, n := range names {
		if i := strings.LastIndexByte(n, '/'); i > 0 {
			parts := strings.Split(n[:i], "/")
			paths = append(paths, parts)
			tops = append(tops, parts[0])
		}
	}
	found := map[string]pbFolder{}
	if len(paths) == 0 {
		return found, nil
	}
	list := func(filter string) ([]pbFolder, error) {
		out, err := c.output(ctx, "list", "folders", "--filter", filter, "--json")
		if err != nil {
			return nil, c.errorf("could not list folders: %w", err)
		}
		var fs []pbFolder
		if err := c.decode(out, &fs, "passbolt list folders"); err != nil {
			return nil, err
		}
		return fs, nil
	}
	var conds []string
	for _, t := range unique(tops) {
		conds = append(conds, "Name == "+strconv.Quote(t))
	}
	top, err := list(strings.Join(conds, " || "))
	if err != nil {
		return nil, err
	}
	for _, f := range top {
		if f.ParentID == "" {
			if _, dup := found[f.Name]; !dup {
				found[f.Name] = f
			}
		}
	}
	var missing []string
	for _, parts := range paths {
		parent, ok := found[parts[0]]
		for depth := 1; ok && depth < len(parts); depth++ {
			path := strings.Join(parts[:depth+1], "/")
			if f, done := found[path]; done {
				parent = f
				continue
			}
			children, err := list("Name == " + strconv.Quote(parts[depth]) + " && FolderParentID == " + strconv.Quote(parent.ID))
			if err != nil {
				return nil, err
			}
			if len(children) == 0 {
				ok = false
				break
			}
			parent = children[0]
			found[path] = parent
		}
		if !ok {
			missing = append(missing, strings.Join(parts, "/"))
		}
	}
	if len(missing) > 0 {
		return nil, c.errorf("could not find folders %s", strings.Join(unique(missing), ", "))
	}
	return found, nil
}
