package commands

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// Run `go test ./internal/commands -run Golden -update` to rewrite the
// golden files after an intended change; review the diff before committing.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// allCommands renders every builder's commands for cfg, one "name: cmd"
// line each, so any change to a generated command shows up in review.
func allCommands(cfg *config.Config) string {
	var b strings.Builder
	add := func(name string, c Cmd) {
		if c == nil {
			fmt.Fprintf(&b, "%s: <none>\n", name)
			return
		}
		fmt.Fprintf(&b, "%s: %s\n", name, c)
	}

	reg := NewRegistry(cfg.Registry)
	if l, ok := reg.Login("user", "pw"); ok {
		add("registry.login", l.Cmd)
	}
	add("registry.logout", reg.Logout())

	for _, arch := range []string{"amd64", "arm64"} {
		bl := NewBuilder(cfg, "999", arch)
		p := "builder[" + arch + "]."
		fmt.Fprintf(&b, "%skind: %s\n", p, bl.Kind())
		add(p+"inspect", bl.Inspect())
		add(p+"create", bl.Create())
		add(p+"remove", bl.Remove())
		add(p+"info", bl.Info())
		add(p+"push", bl.Push(false))
		add(p+"dev", bl.Dev(true))
		add(p+"clean", bl.Clean())
		if build, push, err := bl.ClassicPush(false); err != nil {
			fmt.Fprintf(&b, "%sclassic: error: %v\n", p, err)
		} else {
			add(p+"classic.build", build)
			add(p+"classic.push", push)
		}
	}

	pl := NewPull(cfg, "999")
	add("pull.rm", pl.RemoveImage())
	add("pull.pull", pl.Pull())
	add("pull.validate", pl.ValidateImage())

	for _, host := range cfg.AllHosts() {
		px := NewProxy(cfg, host)
		add("proxy["+host+"].start_or_run", px.StartOrRun())
	}

	for _, r := range cfg.Servers {
		for _, host := range r.Hosts {
			a := NewApp(cfg, r, host, "999")
			p := "app[" + r.Name + "@" + host + "]."
			add(p+"run", a.Run(Hostname(host, "0123456789ab")))
			add(p+"status", a.Status("999"))
			add(p+"stop.old", a.Stop("998"))
			add(p+"stop.current", a.Stop(""))
			add(p+"current_version", a.CurrentRunningVersion())
			add(p+"exec.new", a.ExecNew("bin/rails c", "abcdef", ExecOptions{Interactive: true, TTY: true, Env: []shell.KV{{Key: "A", Value: "b c"}}}))
			add(p+"exec.reuse", a.ExecReuse("bin/rails c", ExecOptions{}))
			add(p+"logs", a.Logs(AppLogOptions{Lines: 100, Grep: "x"}))
			add(p+"follow", NewSSH(cfg.SSH).Interactive(host, a.FollowLogs(AppLogOptions{Lines: 10})))
			if r.AssetPath != "" {
				add(p+"assets.extract", a.ExtractAssets())
				add(p+"assets.sync", a.SyncAssetVolumes("998"))
				add(p+"assets.cleanup", a.CleanUpAssets())
			}
			if r.RunsProxy() {
				add(p+"proxy.deploy", a.ProxyDeploy("f00dcafe1234"))
				add(p+"proxy.maintenance", a.ProxyMaintenance(cfg.DrainTimeout, "Back soon"))
			}
		}
	}

	pr := NewPrune(cfg)
	add("prune.dangling", pr.DanglingImages())
	add("prune.tagged", pr.TaggedImages())
	add("prune.containers", pr.AppContainers(cfg.RetainContainers))

	for _, acc := range cfg.Accessories {
		a := NewAccessory(cfg, acc)
		p := "accessory[" + acc.Name + "]."
		for _, host := range acc.Hosts {
			add(p+"run@"+host, a.Run(host))
		}
		add(p+"logs", a.Logs(LogOptions{Lines: 100}))
		add(p+"exec.new", a.ExecNew("sh", false, false))
		for _, d := range acc.Directories {
			add(p+"dir", Chain(a.DirectoryCommands(d)...))
		}
		for _, f := range acc.Files {
			fc := a.FileCommands(f)
			add(p+"file.mkdir", fc.Mkdir)
			add(p+"file.after", Chain(fc.After...))
		}
		if acc.Proxy != nil {
			add(p+"proxy.deploy", a.ProxyDeploy("f00dcafe1234"))
		}
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	cases := []struct{ name, file, dest string }{
		{"example", "example/deploy.yml", ""},
		{"example-staging", "dest/deploy.yml", "staging"},
		{"full", "full/deploy.yml", ""},
		{"proxyrun", "proxyrun/deploy.yml", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := allCommands(load(t, c.file, c.dest))
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) || i < len(wl); i++ {
					var g, w string
					if i < len(gl) {
						g = gl[i]
					}
					if i < len(wl) {
						w = wl[i]
					}
					if g != w {
						t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s", path, i+1, g, w)
					}
				}
			}
		})
	}
}
