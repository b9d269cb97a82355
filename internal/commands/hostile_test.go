package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/shell"
)

// The hostile-values property: every command this package builds, from a
// configuration whose every string is hostile, runs under dash, bash and a
// third shell implementation (mvdan.cc/sh) without running anything the
// values hide, and every value reaches its program as one intact argument.
// hostileBuilders lists a probe for every exported builder;
// TestHostileBuildersCoverThePackage fails when a new one is missing.

// A hostile value is markerOpen + the original value + a payload +
// markerClose (see checkValuesWhole).
const (
	markerOpen  = "⟦"
	markerClose = "⟧"
)

// The payloads: every character a shell treats specially, commands hidden
// in every way a shell could run them (all calling "pwned"), expansions,
// globs and a non-ASCII run. One holds control characters (Escape writes
// those in plain double quotes), one does not (Escape writes Kamal's
// String#dump form). Neither holds "/", which path.Join could rewrite, nor
// a plain ${NAME}, which Escape leaves for the server's shell on purpose.
var hostilePayloads = []string{
	` '"$(pwned 1)` + "`pwned 2`" + ` ;pwned 3; #` + "\n" + `pwned 4` + "\t" + ` |pwned 5 &pwned 6 >pwned7 <pwned8 \ \\ \n * ? [a] ~ -x ${A:=$(pwned 9)}${A@P} $HOME #{x} é !! %h %%` + "\x1b[0m\r",
	` '"$(pwned 11)` + "`pwned 12`" + ` ;pwned 13; # |pwned 14 &&pwned 15 || pwned 16 >pwned17 \ \\ \n \" * ?? [!a] ~root -- ${A:=$(pwned 19)}${A@P} ${HOME:-x} $1 $@ $$ 中文 !!`,
}

// hostile returns the hostile form of s; "" stays "" (unset stays unset)
// and a value already hostile stays as it is.
func hostile(s string) string {
	if s == "" || strings.HasPrefix(s, markerOpen) {
		return s
	}
	return markerOpen + s + hostilePayloads[len(s)%len(hostilePayloads)] + markerClose
}

// hostileWords is a hostile value without blanks, for values that are word
// lists by design (grep options).
func hostileWords(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(hostile(s), markerOpen, "")), "_")
}

const configPkg = "github.com/kamalgo/kamal/internal/config"

// makeHostile replaces every string reachable from v through the config
// model (fields, unexported ones included, slices, map keys and values,
// pointers) with its hostile form. The same string always gets the same
// form, so keys and their order lists, and names referring to each other,
// stay consistent.
func makeHostile(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		makeHostile(v.Elem(), seen)
	case reflect.Struct:
		if v.Type().PkgPath() != configPkg {
			return // sync.Mutex, *secrets.Secrets, YAML nodes: not model values
		}
		for i := 0; i < v.NumField(); i++ {
			f, sf := v.Field(i), v.Type().Field(i)
			if sf.Name == "Raw" {
				continue // the raw tree, shown by `kamal config` only
			}
			if !sf.IsExported() {
				if f.Kind() != reflect.String {
					continue
				}
				f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
			}
			makeHostile(f, seen)
		}
	case reflect.String:
		v.SetString(hostile(v.String()))
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			makeHostile(v.Index(i), seen)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k := reflect.New(v.Type().Key()).Elem()
			k.Set(iter.Key())
			makeHostile(k, seen)
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(iter.Value())
			makeHostile(e, seen)
			out.SetMapIndex(k, e)
		}
		v.Set(out)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		makeHostile(e, seen)
		v.Set(e)
	}
}

// hostileYAML is a configuration using every section a builder reads.
// The builder section is appended per variant.
const hostileYAML = `service: app
image: dhh/app
servers:
  web:
    hosts: [1.1.1.1]
    options: { memory: 1g, cap-add: true, add-host: [a:1.2.3.4, b:1.2.3.5] }
    labels: { my-label: "a b" }
    env: { clear: { ROLE_VAR: x } }
  jobs:
    hosts: [1.1.1.2]
    cmd: bin/jobs
    logging: { driver: json-file, options: { max-file: "3" } }
registry: { server: registry.example.com:5000, username: dhh, password: [KAMAL_REGISTRY_PASSWORD] }
env:
  clear: { DB_HOST: 1.1.1.4, WEIRD: "a b" }
  secret: [RAILS_MASTER_KEY, DB_PASSWORD:PROD_DB_PASSWORD]
volumes: [/data:/data]
labels: { team: ops }
asset_path: /rails/public/assets:ro
error_pages_path: public
hooks_path: my/hooks
logging: { driver: local, options: { max-size: 10m } }
proxy:
  hosts: [a.example.com, b.example.com]
  app_port: 3000
  ssl: true
  healthcheck: { interval: 3, timeout: 3, path: /health }
  response_timeout: 10
  path_prefix: "/api,/oauth"
  strip_path_prefix: false
  buffering: { requests: true, responses: false, memory: 2000000 }
  forward_headers: true
  ssl_redirect: false
  logging: { request_headers: [Cache-Control], response_headers: [X-Request-ID] }
ssh:
  user: deploy
  port: 2222
  proxy: bastion.example.com
  proxy_command: ssh -W %h:%p bastion
  keys: [~/.ssh/id_deploy, /keys/id_other]
  keys_only: true
  config: [~/.ssh/my_config]
accessories:
  redis:
    image: redis:7
    roles: [jobs]
    port: 6379
    cmd: redis-server
    options: { restart: always, memory: 256m }
    labels: { tier: cache }
    volumes: [/var/redis:/data]
    env: { clear: { A: b }, secret: [REDIS_PASSWORD] }
    directories:
      - local: /srv/redis
        remote: /srv
        mode: "0750"
        owner: "999:999"
        options: ro
      - local: data
        remote: /data2
    files:
      - local: config/redis.conf
        remote: /usr/local/etc/redis/redis.conf
        mode: "0644"
        owner: redis
        options: ro
  site:
    image: nginx:1
    host: 1.1.1.1
    registry: { server: other.example.com, username: bob, password: [OTHER_PW] }
    proxy: { host: www.example.com, app_port: 8080, ssl: { certificate_pem: CERT_PEM, private_key_pem: KEY_PEM } }
`

// hostileBuilderSections are the builder variants, one per builder kind
// (the local arch passed to NewBuilder is hostile("amd64")).
var hostileBuilderSections = map[BuilderKind]string{
	BuilderLocal: `builder:
  arch: amd64
  driver: docker-container
  cache: { type: registry, image: cache-img, options: mode=max }
  args: { RUBY_VERSION: 3.3.0, NOTE: "it's" }
  secrets: [GITHUB_TOKEN]
  dockerfile: Dockerfile.prod
  target: production
  ssh: default
  provenance: false
  sbom: true
  context: build
`,
	BuilderRemote: "builder: { arch: arm64, remote: ssh://root@192.168.0.1, local: false, args: { A: b } }\n",
	BuilderHybrid: "builder: { arch: [amd64, arm64], remote: ssh://root@192.168.0.1, driver: docker-container, cache: { type: gha } }\n",
	BuilderPack:   "builder: { arch: amd64, pack: { builder: heroku/builder:24, buildpacks: [heroku/ruby, heroku/procfile] }, args: { A: b }, secrets: [S] }\n",
	BuilderCloud:  "builder: { arch: amd64, driver: cloud org/name }\n",
}

// hostileFixture holds the hostile configurations the probes build from.
type hostileFixture struct {
	cfg      *config.Config // with a destination, the local builder
	plain    *config.Config // no destination, proxy run settings
	builders map[BuilderKind]*Builder
	arch     string // the local arch given to NewBuilder
}

func loadHostile(t *testing.T, yaml, destination string) *config.Config {
	t.Helper()
	cfg := loadConfig(t, yaml, destination)
	makeHostile(reflect.ValueOf(cfg), map[uintptr]bool{})
	cfg.SetVersion(hostile("999"))
	// Role and accessory `cmd` are shell text in Kamal and here (see
	// docs/compatibility.md): the user writes a command, so it is run.
	for _, r := range cfg.Servers {
		if r.Cmd != "" {
			r.Cmd = "bin/jobs --queue default"
		}
	}
	for _, a := range cfg.Accessories {
		if a.Cmd != "" {
			a.Cmd = "redis-server --appendonly yes"
		}
	}
	return cfg
}

func newHostileFixture(t *testing.T) *hostileFixture {
	fx := &hostileFixture{builders: map[BuilderKind]*Builder{}, arch: hostile("amd64")}
	fx.cfg = loadHostile(t, hostileYAML+hostileBuilderSections[BuilderLocal], "staging")
	runYAML := strings.Replace(hostileYAML, "  app_port: 3000\n", "  app_port: 3000\n  run: { http_port: 8080, https_port: 8443, metrics_port: 9090, debug: true, log_max_size: 30m, bind_ips: [0.0.0.0, \"::1\"], registry: registry:4443, repository: me/proxy, version: v0.9.3, options: { memory: 512m } }\n", 1)
	fx.plain = loadHostile(t, runYAML+hostileBuilderSections[BuilderLocal], "")
	for kind, section := range hostileBuilderSections {
		cfg := loadHostile(t, hostileYAML+section, "staging")
		if kind == BuilderCloud {
			cfg.Builder.Driver = "cloud " + cfg.Builder.Driver
		}
		b := NewBuilder(cfg, hostile("999"), fx.arch)
		if b.Kind() != kind {
			t.Fatalf("builder variant %s is a %s builder", kind, b.Kind())
		}
		fx.builders[kind] = b
	}
	return fx
}

func (fx *hostileFixture) app(role int) *App {
	return NewApp(fx.cfg, fx.cfg.Servers[role], fx.cfg.Servers[role].Hosts[0], hostile("999"))
}

func (fx *hostileFixture) accessory(i int) *Accessory {
	return NewAccessory(fx.cfg, fx.cfg.Accessories[i])
}

// probe is one command to run, with what to expect of it.
type probe struct {
	name string
	cmd  Cmd
	// direct runs cmd.String() (a local command run as it is, e.g. a
	// hook) instead of shell.Command(cmd...) (the remote form).
	direct bool
	// splits marks commands whose values are word lists by design, or
	// read back by xargs: only "nothing runs" is checked.
	splits bool
	// setup prepares the working directory (files a command reads).
	setup func(t *testing.T, dir string)
	// last, when set, is what the last argument of the last call must be
	// (the remote command handed to ssh).
	last string
	// creates is the file a redirection must create, named exactly so.
	creates string
}

func p(name string, cmds ...Cmd) []probe {
	var out []probe
	for i, c := range cmds {
		out = append(out, probe{name: fmt.Sprintf("%s#%d", name, i), cmd: c})
	}
	return out
}

// hostileBuilders has a probe for every exported function and method of
// this package that returns a command (Cmd, []Cmd, or a struct holding
// commands), keyed "Type.Method" or "Func".
func hostileBuilders(fx *hostileFixture) map[string]func() []probe {
	h := hostile
	a0, a1 := fx.app(0), fx.app(1) // jobs (no proxy), web
	acc0, acc1 := fx.accessory(0), fx.accessory(1)
	hq := New("docker", "inspect").Quoted(h("x"))
	logs := AppLogOptions{Since: h("1h"), Lines: 10, Grep: h("error"), NoTimestamp: false}
	alogs := LogOptions{Since: h("1h"), Lines: 10, Grep: h("error")}
	exec := ExecOptions{Interactive: true, TTY: true, Env: []shell.KV{{Key: h("K"), Value: h("v")}}}
	clone := NewClone(h("app"), h("tmp"), h("pwd")+"/sub", h("pwd"))
	lock := NewLock(fx.cfg)
	aud := NewAuditor(fx.cfg, h("me@example.com"), time.Unix(0, 0))
	reg := func(r *Registry) Cmd { l, _ := r.Login(h("user"), h("password")); return l.Cmd }
	builder := func(name string, f func(b *Builder) Cmd) func() []probe {
		return func() []probe {
			var out []probe
			for _, kind := range []BuilderKind{BuilderLocal, BuilderRemote, BuilderHybrid, BuilderPack, BuilderCloud} {
				out = append(out, p(name+"/"+string(kind), f(fx.builders[kind]))...)
			}
			return out
		}
	}
	m := map[string]func() []probe{
		// Cmd and the combinators. New and Extend take fixed words by
		// contract; Quoted and Escaped take values.
		"New":         func() []probe { return p("New", New("docker", "ps")) },
		"Cmd.Extend":  func() []probe { return p("Extend", New("docker").Extend("ps", "-a")) },
		"Cmd.Quoted":  func() []probe { return p("Quoted", New("docker").Quoted(h("v"))) },
		"Cmd.Escaped": func() []probe { return p("Escaped", New("docker").Escaped(h("v")), New("docker").Escaped(h("ab"))) },
		"Combine":     func() []probe { return p("Combine", Combine(hq, hq)) },
		"Chain":       func() []probe { return p("Chain", Chain(hq, hq)) },
		"Pipe":        func() []probe { return p("Pipe", Pipe(hq, New("grep").Quoted(h("x")))) },
		"Any":         func() []probe { return p("Any", Any(hq, hq)) },
		"Append":      func() []probe { return []probe{{name: "Append", cmd: Append(hq, h("out")), creates: h("out")}} },
		"Write":       func() []probe { return []probe{{name: "Write", cmd: Write(hq, h("out")), creates: h("out")}} },
		"Shell":       func() []probe { return p("Shell", Shell(Pipe(hq, hq))) },
		"Xargs":       func() []probe { return p("Xargs", Xargs(hq, New("docker", "stop"))) },

		// App.
		"App.CleanUpAssets":             func() []probe { return p("CleanUpAssets", a1.CleanUpAssets()) },
		"App.ContainerID":               func() []probe { return p("ContainerID", a1.ContainerID()) },
		"App.ContainerIDForVersion":     func() []probe { return p("ContainerIDForVersion", a1.ContainerIDForVersion(h("v1"))) },
		"App.CreateTLSDirectory":        func() []probe { return p("CreateTLSDirectory", a1.CreateTLSDirectory()) },
		"App.CurrentRunningContainerID": func() []probe { return p("CurrentRunningContainerID", a1.CurrentRunningContainerID()) },
		"App.CurrentRunningVersion":     func() []probe { return p("CurrentRunningVersion", a1.CurrentRunningVersion()) },
		"App.EnsureEnvDirectory":        func() []probe { return p("EnsureEnvDirectory", a1.EnsureEnvDirectory()) },
		"App.ExecNew": func() []probe {
			return p("ExecNew", a1.ExecNew("bin/rails console", h("abc123"), exec), a0.ExecNew("", h("abc123"), ExecOptions{Detach: true}))
		},
		"App.ExecReuse":     func() []probe { return p("ExecReuse", a1.ExecReuse("bin/rails console", exec)) },
		"App.ExtractAssets": func() []probe { return p("ExtractAssets", a1.ExtractAssets()) },
		"App.FollowLogs": func() []probe {
			o := logs
			o.GrepOptions = hostileWords("-i")
			return append(p("FollowLogs", a1.FollowLogs(AppLogOptions{Since: h("1h"), Lines: 3, Grep: h("e")})),
				probe{name: "FollowLogs options", cmd: a1.FollowLogs(o), splits: true})
		},
		"App.HealthLog":          func() []probe { return p("HealthLog", a1.HealthLog(h("v1"))) },
		"App.Info":               func() []probe { return p("Info", a1.Info()) },
		"App.ListContainerNames": func() []probe { return p("ListContainerNames", a1.ListContainerNames()) },
		"App.ListContainers":     func() []probe { return p("ListContainers", a1.ListContainers()) },
		"App.ListImages":         func() []probe { return p("ListImages", a1.ListImages()) },
		"App.ListVersions":       func() []probe { return p("ListVersions", a1.ListVersions(), a1.ListVersions("--all")) },
		"App.Logs": func() []probe {
			o := logs
			o.ContainerID = h("abc")
			o.GrepOptions = hostileWords("-i")
			return append(p("Logs", a1.Logs(logs)),
				// The container id is echoed into xargs, as in Kamal.
				probe{name: "Logs container id", cmd: a1.Logs(o), splits: true})
		},
		"App.ProxyDeploy":      func() []probe { return p("ProxyDeploy", a1.ProxyDeploy(h("abc123"))) },
		"App.ProxyLive":        func() []probe { return p("ProxyLive", a1.ProxyLive()) },
		"App.ProxyMaintenance": func() []probe { return p("ProxyMaintenance", a1.ProxyMaintenance(30, h("Be back soon"))) },
		"App.ProxyRemove":      func() []probe { return p("ProxyRemove", a1.ProxyRemove()) },
		"App.RemoveAppDirectory": func() []probe {
			return p("RemoveAppDirectory", a1.RemoveAppDirectory())
		},
		"App.RemoveContainer":  func() []probe { return p("RemoveContainer", a1.RemoveContainer(h("v1"))) },
		"App.RemoveContainers": func() []probe { return p("RemoveContainers", a1.RemoveContainers()) },
		"App.RemoveImages":     func() []probe { return p("RemoveImages", a1.RemoveImages()) },
		"App.RenameContainer":  func() []probe { return p("RenameContainer", a1.RenameContainer(h("v1"), h("v2"))) },
		"App.Run":              func() []probe { return p("Run", a1.Run(h("host-abc")), a0.Run("")) },
		"App.Create":           func() []probe { return p("Create", a1.Create(h("host-abc")), a0.Create("")) },
		"App.Start":            func() []probe { return p("Start", a1.Start()) },
		"App.Status":           func() []probe { return p("Status", a1.Status(h("v1"))) },
		"App.Stop":             func() []probe { return p("Stop", a1.Stop(""), a0.Stop(h("v1"))) },
		"App.StopArgs":         func() []probe { return p("StopArgs", New("docker", "stop").Extend(a0.StopArgs()...)) },
		"App.SyncAssetVolumes": func() []probe { return p("SyncAssetVolumes", a1.SyncAssetVolumes(""), a1.SyncAssetVolumes(h("v0"))) },
		"App.TagLatestImage":   func() []probe { return p("TagLatestImage", a1.TagLatestImage()) },
		"App.UntagLatestImage": func() []probe { return p("UntagLatestImage", a1.UntagLatestImage()) },
		"App.ImageID":          func() []probe { return p("ImageID", a1.ImageID()) },

		"CleanUpErrorPages":         func() []probe { return p("CleanUpErrorPages", CleanUpErrorPages(fx.cfg, h("v1"))) },
		"CreateErrorPagesDirectory": func() []probe { return p("CreateErrorPagesDirectory", CreateErrorPagesDirectory(fx.cfg)) },
		"RemoveProxyAppDirectory":   func() []probe { return p("RemoveProxyAppDirectory", RemoveProxyAppDirectory(fx.cfg)) },
		"ProxyDeployArgs": func() []probe {
			t := DeployTarget{ContainerID: h("id"), TLSCertPath: h("cert"), TLSKeyPath: h("key"), ErrorPagesPath: h("pages"), DeployTimeout: 1, DrainTimeout: 2}
			return p("ProxyDeployArgs", New("docker", "exec").Extend(ProxyDeployArgs(fx.cfg.Servers[1].Proxy, t)...))
		},
		"ProxyStopArgs": func() []probe {
			return p("ProxyStopArgs", New("docker", "exec").Extend(ProxyStopArgs(3, h("message"))...))
		},

		// Accessory.
		"Accessory.ContainerID":        func() []probe { return p("ContainerID", acc0.ContainerID()) },
		"Accessory.CreateTLSDirectory": func() []probe { return p("CreateTLSDirectory", acc1.CreateTLSDirectory()) },
		"Accessory.DirectoryCommands": func() []probe {
			var out []probe
			for _, d := range fx.cfg.Accessories[0].Directories {
				out = append(out, p("DirectoryCommands", acc0.DirectoryCommands(d)...)...)
			}
			return out
		},
		"Accessory.EnsureEnvDirectory": func() []probe { return p("EnsureEnvDirectory", acc0.EnsureEnvDirectory()) },
		"Accessory.ExecNew":            func() []probe { return p("ExecNew", acc0.ExecNew("redis-cli", true, true)) },
		"Accessory.ExecReuse":          func() []probe { return p("ExecReuse", acc0.ExecReuse("redis-cli", true, false)) },
		"Accessory.Exists":             func() []probe { return p("Exists", acc0.Exists()) },
		"Accessory.FileCommands": func() []probe {
			fc := acc0.FileCommands(fx.cfg.Accessories[0].Files[0])
			return append(p("FileCommands", append([]Cmd{fc.Mkdir}, fc.After...)...),
				probe{name: "FileCommands upload path", cmd: New("docker", "cp").Quoted(fc.HostPath)})
		},
		"Accessory.FollowLogs": func() []probe {
			return append(p("FollowLogs", acc0.FollowLogs(alogs), acc0.FollowLogs(LogOptions{})),
				probe{name: "FollowLogs options", cmd: acc0.FollowLogs(LogOptions{Grep: h("e"), GrepOptions: hostileWords("-i")}), splits: true})
		},
		"Accessory.Info": func() []probe { return p("Info", acc0.Info()) },
		"Accessory.Logs": func() []probe {
			return append(p("Logs", acc0.Logs(alogs)),
				probe{name: "Logs options", cmd: acc0.Logs(LogOptions{Grep: h("e"), GrepOptions: hostileWords("-i")}), splits: true})
		},
		"Accessory.ProxyDeploy":            func() []probe { return p("ProxyDeploy", acc1.ProxyDeploy(h("abc123"))) },
		"Accessory.ProxyRemove":            func() []probe { return p("ProxyRemove", acc1.ProxyRemove()) },
		"Accessory.PullImage":              func() []probe { return p("PullImage", acc0.PullImage()) },
		"Accessory.RemoveContainer":        func() []probe { return p("RemoveContainer", acc0.RemoveContainer()) },
		"Accessory.RemoveImage":            func() []probe { return p("RemoveImage", acc0.RemoveImage()) },
		"Accessory.RemoveServiceDirectory": func() []probe { return p("RemoveServiceDirectory", acc0.RemoveServiceDirectory()) },
		"Accessory.Run":                    func() []probe { return p("Run", acc0.Run(h("1.1.1.1")), acc1.Run("")) },
		"Accessory.Start":                  func() []probe { return p("Start", acc0.Start()) },
		"Accessory.Stop":                   func() []probe { return p("Stop", acc0.Stop()) },

		// Builder and clone.
		"Builder.Clean":                 builder("Clean", (*Builder).Clean),
		"Builder.Create":                builder("Create", (*Builder).Create),
		"Builder.Dev":                   builder("Dev", func(b *Builder) Cmd { return b.Dev(true) }),
		"Builder.DevOutput":             builder("DevOutput", func(b *Builder) Cmd { return b.DevOutput(h("docker"), false) }),
		"Builder.EnsureLocalBuildx":     builder("EnsureLocalBuildx", (*Builder).EnsureLocalBuildx),
		"Builder.EnsureLocalDocker":     builder("EnsureLocalDocker", (*Builder).EnsureLocalDocker),
		"Builder.EnsureLocalDockerOnly": builder("EnsureLocalDockerOnly", (*Builder).EnsureLocalDockerOnly),
		"Builder.Info":                  builder("Info", (*Builder).Info),
		"Builder.Inspect":               builder("Inspect", (*Builder).Inspect),
		"Builder.Push":                  builder("Push", func(b *Builder) Cmd { return b.Push(false) }),
		"Builder.PushOutput":            builder("PushOutput", func(b *Builder) Cmd { return b.PushOutput(h("registry"), true) }),
		"Builder.Remove":                builder("Remove", (*Builder).Remove),
		"Builder.ClassicPush": builder("ClassicPush", func(b *Builder) Cmd {
			build, push, _ := b.ClassicPush(false)
			return Combine(build, push)
		}),
		"Builder.ClassicPlan": builder("ClassicPlan", func(b *Builder) Cmd {
			plan, _ := b.ClassicPlan(false, false)
			dev, _ := b.ClassicPlan(true, true)
			return Combine(plan.Build, plan.Push, dev.Build)
		}),
		"Clone.Clone":      func() []probe { return p("Clone", clone.Clone()) },
		"Clone.ResetSteps": func() []probe { return p("ResetSteps", clone.ResetSteps(h("abc123"))...) },
		"Clone.Revision":   func() []probe { return p("Revision", clone.Revision()) },
		"Clone.Status":     func() []probe { return p("Status", clone.Status()) },

		// Proxy.
		"Proxy.BootConfigEcho":       func() []probe { return p("BootConfigEcho", NewProxy(fx.cfg, h("1.1.1.1")).BootConfigEcho()) },
		"Proxy.EnsureAppsDirectory":  func() []probe { return p("EnsureAppsDirectory", NewProxy(fx.cfg, "").EnsureAppsDirectory()) },
		"Proxy.EnsureProxyDirectory": func() []probe { return p("EnsureProxyDirectory", NewProxy(fx.cfg, "").EnsureProxyDirectory()) },
		"Proxy.FollowLogs": func() []probe {
			return append(p("FollowLogs", NewProxy(fx.cfg, "").FollowLogs(alogs)),
				probe{name: "FollowLogs options", cmd: NewProxy(fx.cfg, "").FollowLogs(LogOptions{Grep: h("e"), GrepOptions: hostileWords("-i")}), splits: true})
		},
		"Proxy.Info": func() []probe { return p("Info", NewProxy(fx.cfg, "").Info()) },
		"Proxy.Logs": func() []probe {
			return append(p("Logs", NewProxy(fx.cfg, "").Logs(alogs)),
				probe{name: "Logs options", cmd: NewProxy(fx.cfg, "").Logs(LogOptions{Grep: h("e"), GrepOptions: hostileWords("-i")}), splits: true})
		},
		"Proxy.RemoveContainer":      func() []probe { return p("RemoveContainer", NewProxy(fx.cfg, "").RemoveContainer()) },
		"Proxy.RemoveImage":          func() []probe { return p("RemoveImage", NewProxy(fx.cfg, "").RemoveImage()) },
		"Proxy.RemoveProxyDirectory": func() []probe { return p("RemoveProxyDirectory", NewProxy(fx.cfg, "").RemoveProxyDirectory()) },
		"Proxy.Run": func() []probe {
			return p("Run", NewProxy(fx.plain, fx.plain.Servers[1].Hosts[0]).Run(), NewProxy(fx.cfg, "").Run())
		},
		"Proxy.Start":      func() []probe { return p("Start", NewProxy(fx.cfg, "").Start()) },
		"Proxy.StartOrRun": func() []probe { return p("StartOrRun", NewProxy(fx.plain, fx.plain.Servers[1].Hosts[0]).StartOrRun()) },
		"Proxy.Stop":       func() []probe { return p("Stop", NewProxy(fx.cfg, "").Stop()) },
		"Proxy.Version":    func() []probe { return p("Version", NewProxy(fx.cfg, "").Version()) },
		"Proxy.State":      func() []probe { return p("State", NewProxy(fx.cfg, "").State()) },
		"ProxyPublishArgs": func() []probe {
			return p("ProxyPublishArgs", New("docker", "run").Extend(ProxyPublishArgs(fx.plain.ProxyRunForHost(fx.plain.Servers[1].Hosts[0]))...))
		},
		// The boot_config files are read back with `echo $(cat …) | xargs`,
		// which splits words, as Kamal does: only "nothing runs" holds.
		"BootConfig.Files": func() []probe {
			bc := BootConfig{Publish: true, HTTPPort: 80, HTTPSPort: 443, BindIPs: []string{h("0.0.0.0")}, LogMaxSize: h("10m"),
				DockerOptions: []string{h("memory=1g")}, Registry: h("registry"), Repository: h("me/proxy"), ImageVersion: h("v1"), MetricsPort: 9090, Debug: true}
			setup := func(t *testing.T, dir string) {
				for _, f := range bc.Files() {
					path := filepath.Join(dir, f.Path)
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(f.Content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			return []probe{{name: "BootConfig.Files", cmd: NewProxy(fx.cfg, "").Run(), setup: setup, splits: true}}
		},
		// The hand-over of a reboot (proxy_handover.go).
		"InspectProxy":  func() []probe { return p("InspectProxy", InspectProxy(h("kamal-proxy"))) },
		"ImageHandover": func() []probe { return p("ImageHandover", ImageHandover(h("registry/proxy:v1"))) },
		"Proxy.BootConfigLines": func() []probe {
			return []probe{{name: "BootConfigLines", cmd: NewProxy(fx.cfg, h("1.1.1.1")).BootConfigLines(), splits: true}}
		},
		"Proxy.StartHolder": func() []probe { return p("StartHolder", NewProxy(fx.cfg, "").StartHolder()) },
		"RunSuccessor": func() []probe {
			var out []probe
			for i, px := range []*Proxy{NewProxy(fx.plain, fx.plain.Servers[1].Hosts[0]), NewProxy(fx.cfg, "")} {
				l := px.Launch()
				if l == nil { // boot_config files: their words, quoted
					l = &ProxyLaunch{Options: New("--memory").Quoted(h("1g")), Image: h("img"), Command: New("kamal-proxy", "run")}
				}
				c, err := RunSuccessor(h("f00d"), l)
				if err != nil {
					c = nil // an option Docker refuses there: nothing runs
				}
				out = append(out, p(fmt.Sprintf("RunSuccessor%d", i), c)...)
			}
			return out
		},
		"AwaitSuccessor":    func() []probe { return p("AwaitSuccessor", AwaitSuccessor(h("60s"))) },
		"SuccessorLogs":     func() []probe { return p("SuccessorLogs", SuccessorLogs()) },
		"RemoveSuccessor":   func() []probe { return p("RemoveSuccessor", RemoveSuccessor()) },
		"RemoveStaleHolder": func() []probe { return p("RemoveStaleHolder", RemoveStaleHolder()) },
		"SetProxyRestart":   func() []probe { return p("SetProxyRestart", SetProxyRestart(h("kamal-proxy"), h("no"))) },
		"PromoteSuccessor":  func() []probe { return p("PromoteSuccessor", PromoteSuccessor(true), PromoteSuccessor(false)) },
		"StopContainer":     func() []probe { return p("StopContainer", StopContainer(h("kamal-proxy"))) },
		"CreateNetwork":     func() []probe { return p("CreateNetwork", CreateNetwork()) },
		"CountApps":         func() []probe { return p("CountApps", CountApps()) },
		"CleanupTraefik":    func() []probe { return p("CleanupTraefik", CleanupTraefik()) },
		"RemoveFile":        func() []probe { return p("RemoveFile", RemoveFile(h("file"))) },

		// Prune, pull, registry.
		"Prune.AppContainers":  func() []probe { return p("AppContainers", NewPrune(fx.cfg).AppContainers(5)) },
		"Prune.DanglingImages": func() []probe { return p("DanglingImages", NewPrune(fx.cfg).DanglingImages()) },
		"Prune.TaggedImages":   func() []probe { return p("TaggedImages", NewPrune(fx.cfg).TaggedImages()) },
		"Pull.FirstMirror":     func() []probe { return p("FirstMirror", NewPull(fx.cfg, h("v1")).FirstMirror()) },
		"Pull.Pull":            func() []probe { return p("Pull", NewPull(fx.cfg, h("v1")).Pull()) },
		"Pull.RemoveImage":     func() []probe { return p("RemoveImage", NewPull(fx.cfg, h("v1")).RemoveImage()) },
		"Pull.ValidateImage":   func() []probe { return p("ValidateImage", NewPull(fx.cfg, h("v1")).ValidateImage()) },
		"Registry.Login": func() []probe {
			return p("Login", reg(NewRegistry(fx.cfg.Registry)), reg(acc1.Registry()))
		},
		"Registry.Logout": func() []probe { return p("Logout", NewRegistry(fx.cfg.Registry).Logout()) },
		"Registry.LocalRun": func() []probe {
			return p("LocalRun", NewRegistry(config.Registry{Local: true, LocalPort: 5555}).LocalRun())
		},
		"Registry.LocalRemove": func() []probe { return p("LocalRemove", NewRegistry(config.Registry{Local: true}).LocalRemove()) },

		// Lock, audit, hooks, server, docker, ssh.
		"Lock.Acquire":   func() []probe { return p("Acquire", lock.Acquire(h("details"))) },
		"Lock.Exists":    func() []probe { return p("Exists", lock.Exists()) },
		"Lock.Release":   func() []probe { return p("Release", lock.Release()) },
		"Lock.RemoveDir": func() []probe { return p("RemoveDir", lock.RemoveDir()) },
		"Lock.Status":    func() []probe { return p("Status", lock.Status()) },
		"Auditor.Record": func() []probe {
			return p("Record", aud.Record(h("Deployed"), Tag{Key: h("role"), Value: h("web")}))
		},
		"Auditor.Reveal": func() []probe { return p("Reveal", aud.Reveal()) },
		"Hooks.Run": func() []probe {
			hooks := NewHooks(fx.cfg)
			setup := func(t *testing.T, dir string) {
				path := filepath.Join(dir, hooks.File("pre-deploy"))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(filepath.Dir(dir), "printer"), path); err != nil {
					t.Fatal(err)
				}
			}
			return []probe{{name: "Hooks.Run", cmd: hooks.Run("pre-deploy"), direct: true, setup: setup}}
		},
		"EnsureRunDirectory": func() []probe { return p("EnsureRunDirectory", EnsureRunDirectory()) },
		"DockerInstalled":    func() []probe { return p("DockerInstalled", DockerInstalled()) },
		"DockerSuperuser":    func() []probe { return p("DockerSuperuser", DockerSuperuser()) },
		"DockerInstall":      func() []probe { return p("DockerInstall", DockerInstall()) },
		"Root":               func() []probe { return p("Root", Root()) },
		"InDockerGroup":      func() []probe { return p("InDockerGroup", InDockerGroup()) },
		"AddToDockerGroup":   func() []probe { return p("AddToDockerGroup", AddToDockerGroup()) },
		"RefreshSession":     func() []probe { return p("RefreshSession", RefreshSession()) },
		"Docker.CreateNetwork": func() []probe {
			return p("Docker.CreateNetwork", Docker{}.CreateNetwork())
		},
		"Docker.Installed": func() []probe { return p("Docker.Installed", Docker{}.Installed()) },
		"Docker.Running":   func() []probe { return p("Docker.Running", Docker{}.Running()) },
		"SSH.Interactive": func() []probe {
			remote := a1.ExecReuse("bin/rails console", exec)
			var out []probe
			for _, s := range []config.SSH{fx.cfg.SSH, {Proxy: h("bastion"), Keys: []string{h("~/k")}}, {}} {
				out = append(out, probe{name: "Interactive", cmd: NewSSH(s).Interactive(h("1.1.1.1"), remote), direct: true, last: remote.String()})
			}
			return out
		},
	}
	return m
}

// TestHostileBuildersCoverThePackage keeps hostileBuilders complete: every
// exported function or method of the package (outside tests) whose results
// hold a command must have a probe.
func TestHostileBuildersCoverThePackage(t *testing.T) {
	builders := exportedCommandBuilders(t)
	if len(builders) < 100 {
		t.Fatalf("only %d builders found; is the scan broken?", len(builders))
	}
	probes := hostileBuilders(newHostileFixture(t))
	for _, name := range builders {
		if probes[name] == nil {
			t.Errorf("%s builds commands but has no probe in hostileBuilders (hostile_test.go)", name)
		}
	}
	for name := range probes {
		if !contains(builders, name) {
			t.Errorf("hostileBuilders has a probe for %s, which is not an exported command builder", name)
		}
	}
}

func TestHostileValuesRunNothingAndStayWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every command under three shells")
	}
	fx := newHostileFixture(t)
	shells := testShells(t)
	shells["mvdan-sh"] = mvdanShell
	var names []string
	builders := hostileBuilders(fx)
	for name := range builders {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := newArgvRecorder(t)
			for _, pr := range builders[name]() {
				if len(pr.cmd) == 0 {
					continue // nothing to run for this variant (e.g. no builder to create)
				}
				script := shell.Command(pr.cmd...)
				if pr.direct {
					script = pr.cmd.String()
				}
				checkParses(t, pr.name, script)
				for shellName, sh := range shells {
					label := shellName + " " + pr.name
					calls, stderr := rec.runWith(t, sh, script, pr.setup)
					checkNothingInjected(t, label, calls, stderr)
					switch files := rec.createdFiles(t); {
					case pr.creates != "" && shellName == mvdanShell:
						// mvdan.cc/sh v3.14.1 keeps the backslash of '\'' in
						// redirection targets; dash and bash check the name.
					case pr.creates != "":
						if len(files) != 1 || files[0] != pr.creates {
							t.Errorf("%s: created %q, want exactly %q", label, files, pr.creates)
						}
					case hasPwnedFile(files):
						t.Errorf("%s: a redirection in a value created a file: %q", label, files)
					}
					if pr.last != "" {
						if len(calls) == 0 || calls[len(calls)-1][len(calls[len(calls)-1])-1] != pr.last {
							t.Errorf("%s: the remote command did not reach ssh intact:\n got %q\nwant %q", label, calls, pr.last)
						}
						calls[len(calls)-1] = calls[len(calls)-1][:len(calls[len(calls)-1])-1]
					}
					if !pr.splits {
						checkValuesWhole(t, label, calls)
					}
				}
			}
		})
	}
}

// checkValuesWhole fails when a value did not reach its program whole.
// A shell that splits, globs, expands or cuts a value changes its payload,
// so every closer in an argument must follow a whole payload, and no piece
// of a payload may stand outside one. Rewrites made on purpose keep the
// payload whole: a path's directory or base name (payloads hold no "/"),
// a cloud builder's name (" " and "/" become "-"), builder names reduced
// to [a-z0-9_-] (which drop the closer and every "(pwned").
func checkValuesWhole(t *testing.T, label string, calls [][]string) {
	t.Helper()
	for _, call := range calls {
		for _, arg := range call {
			if !argHoldsWholeValues(arg) {
				t.Errorf("%s: a value did not reach the program whole:\n arg %q\n in %q", label, arg, call)
				return
			}
		}
	}
}

var wholePayloads = func() []string {
	var out []string
	cloud := strings.NewReplacer(" ", "-", "/", "-")
	for _, pl := range hostilePayloads {
		out = append(out, pl+markerClose, cloud.Replace(pl)+markerClose)
	}
	return out
}()

func argHoldsWholeValues(arg string) bool {
	for _, w := range wholePayloads {
		arg = strings.ReplaceAll(arg, w, "")
	}
	return !strings.Contains(arg, markerClose) && !strings.Contains(arg, "(pwned")
}

func hasPwnedFile(files []string) bool {
	for _, f := range files {
		if strings.Contains(filepath.Base(f), "pwned") {
			return true
		}
	}
	return false
}
