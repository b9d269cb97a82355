package cli

import "testing"

func TestProxyHiddenSteps(t *testing.T) {
	root := (&App{}).newRootCommand()
	for _, name := range []string{"remove_container", "remove_image", "remove_proxy_directory"} {
		c, _, err := root.Find([]string{"proxy", name})
		if err != nil || c.Name() != name {
			t.Errorf("kamal proxy %s: %v (found %q)", name, err, c.Name())
			continue
		}
		if !c.Hidden {
			t.Errorf("kamal proxy %s is not hidden", name)
		}
	}
}
