package deploy

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/remote"
)

// fullID is what `docker run --detach` prints: the new container's id.
var fullID = strings.Repeat("f00dcafe", 8)

// rollbackRules script a boot of 999 over 998 on bootYAML's hosts (web on
// 1.1.1.1 behind the proxy, workers on 1.1.1.2); extra rules come first.
func rollbackRules(current string, extra ...rule) []rule {
	return append(extra,
		rule{match: "docker run --detach", stdout: fullID + "\n"},
		rule{match: "'name=^app-web-998$' --quiet", stdout: "0ld0ld0ld0ld\n"},
		rule{match: "'name=^app-workers-998$' --quiet | xargs docker inspect", stdout: "running"},
		rule{match: "'name=^app-workers-999$' --quiet | xargs docker inspect", stdout: "running"},
		rule{match: "--quiet", stdout: ""},
		rule{match: "while read line; do echo ${line#app-web-}", stdout: current},
		rule{match: "while read line; do echo ${line#app-workers-}", stdout: current},
	)
}

// stepsOn lists the commands of interest run on host, in order, by name.
func stepsOn(log []string, host string, names map[string]string) []string {
	var steps []string
	for _, c := range log {
		if !strings.HasPrefix(c, host+": ") {
			continue
		}
		for _, key := range sortedKeys(names) {
			if strings.Contains(c, key) {
				steps = append(steps, names[key])
				break
			}
		}
	}
	return steps
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Longer keys first, so a specific match wins over a prefix.
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if len(keys[j]) > len(keys[i]) || (len(keys[j]) == len(keys[i]) && keys[j] < keys[i]) {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// TestRollbackAfterWorkersFail: web boots 999 on 1.1.1.1, then the workers
// never get ready on 1.1.1.2. Both go back to 998: the old container
// starts, kamal-proxy (web) or the readiness check (workers) takes it back
// before the new one stops, with an audit line; latest is never tagged;
// the table names every host and role.
func TestRollbackAfterWorkersFail(t *testing.T) {
	x := &scripted{rules: rollbackRules("998\n",
		rule{match: "'name=^app-workers-999$' --quiet | xargs docker inspect", stdout: "unhealthy"})}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	err := k.Booter.Boot(context.Background(), AppBootOptions{})
	var rb *RolledBackError
	if !errors.As(err, &rb) || len(rb.Incomplete) > 0 {
		t.Fatalf("err = %v, want a complete rollback\n%s", err, out)
	}
	var he *HealthcheckError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "container not ready after 10 seconds (unhealthy)") {
		t.Errorf("err = %v, want the health check failure", err)
	}
	log := x.commands()
	web := stepsOn(log, "1.1.1.1", map[string]string{
		"docker run --detach":                               "run 999",
		`kamal-proxy deploy app-web --target="f00dcafef00d`: "proxy 999",
		"docker start app-web-998":                          "start 998",
		`kamal-proxy deploy app-web --target="0ld0ld0ld0ld`: "proxy 998",
		"'name=^app-web-998$' --quiet | xargs docker stop":  "stop 998",
		"'name=^app-web-999$' --quiet | xargs docker stop":  "stop 999",
		"docker tag": "tag",
	})
	if got, want := strings.Join(web, ", "), "run 999, proxy 999, stop 998, start 998, proxy 998, stop 999"; got != want {
		t.Errorf("web steps = %s\nwant       %s\n%s", got, want, strings.Join(log, "\n"))
	}
	workers := stepsOn(log, "1.1.1.2", map[string]string{
		"docker run --detach":                                     "run 999",
		"docker start app-workers-998":                            "start 998",
		"'name=^app-workers-998$' --quiet | xargs docker inspect": "ready 998",
		"'name=^app-workers-999$' --quiet | xargs docker stop":    "stop 999",
		"'name=^app-workers-998$' --quiet | xargs docker stop":    "stop 998",
	})
	if got, want := strings.Join(dedupe(workers), ", "), "run 999, start 998, ready 998, stop 999"; got != want {
		t.Errorf("workers steps = %s\nwant           %s\n%s", got, want, strings.Join(log, "\n"))
	}
	joined := strings.Join(log, "\n")
	for _, want := range []string{
		`[web] Rolled back app version 999 to 998 (workers on 1.1.1.2 failed)`,
		`[workers] Rolled back app version 999 to 998 (container not ready after 10 seconds (unhealthy))`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no audit line %q:\n%s", want, joined)
		}
	}
	for _, r := range k.HostResults() {
		if r.OK || r.VersionBefore != "998" || r.Version != "998" {
			t.Errorf("result after the rollback: %+v, want 998 -> 998, not ok", r)
		}
	}
	if n := len(k.HostResults()); n != 2 {
		t.Errorf("%d results, want one per host and role: %+v", n, k.HostResults())
	}
	if o := out.String(); strings.Index(o, "HOST") < strings.Index(o, "Releasing the deploy lock...") {
		t.Errorf("the output does not end with the table:\n%s", o)
	}
	table := regexp.MustCompile(` +`).ReplaceAllString(out.String(), " ")
	for _, want := range []string{
		"Boot of version 999 failed: rolling back to the versions that ran before...",
		" HOST ROLE BEFORE ATTEMPTED NOW REASON\n",
		" 1.1.1.1 web 998 999 998 rolled back (workers on 1.1.1.2 failed)\n",
		" 1.1.1.2 workers 998 999 998 container not ready after 10 seconds (unhealthy); rolled back\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func dedupe(steps []string) []string {
	var out []string
	for _, s := range steps {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// TestRollbackWithoutPreviousVersion: on a first deploy nothing ran
// before, so the new containers are stopped and the table says so.
func TestRollbackWithoutPreviousVersion(t *testing.T) {
	x := &scripted{rules: rollbackRules("",
		rule{match: "kamal-proxy deploy", fail: true, stdout: "target failed to become healthy"})}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	err := k.Booter.Boot(context.Background(), AppBootOptions{})
	var rb *RolledBackError
	if !errors.As(err, &rb) || len(rb.Incomplete) > 0 {
		t.Fatalf("err = %v, want a complete rollback\n%s", err, out)
	}
	joined := strings.Join(x.commands(), "\n")
	if !strings.Contains(joined, "[web] Rolled back app version 999: no previous version, container stopped") ||
		!strings.Contains(joined, "'name=^app-web-999$' --quiet | xargs docker stop") {
		t.Errorf("the new web container was not stopped with an audit line:\n%s", joined)
	}
	if strings.Contains(joined, "docker start") || strings.Contains(joined, "--name app-workers-999") {
		t.Errorf("started something that did not run before:\n%s", joined)
	}
	table := regexp.MustCompile(` +`).ReplaceAllString(out.String(), " ")
	for _, want := range []string{
		" 1.1.1.1 web none 999 none ",
		"no previous version: new container stopped\n",
		" 1.1.1.2 workers none 999 none not booted (Halted at barrier)\n",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestRollbackAfterPostAppBootHook: a failing post-app-boot hook rolls back
// hosts that booted fine, and restores nothing that did not move.
func TestRollbackAfterPostAppBootHook(t *testing.T) {
	x := &scripted{rules: rollbackRules("998\n")}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	if err := os.MkdirAll(".kamal/hooks", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(".kamal/hooks/post-app-boot", []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := k.Booter.Boot(context.Background(), AppBootOptions{})
	var hook *HookError
	if !errors.As(err, &hook) || hook.Hook != "post-app-boot" {
		t.Fatalf("err = %v, want the hook's error\n%s", err, out)
	}
	joined := strings.Join(x.commands(), "\n")
	for _, want := range []string{
		"1.1.1.1: docker start app-web-998",
		"1.1.1.2: docker start app-workers-998",
		"[web] Rolled back app version 999 to 998 (hook post-app-boot failed)",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("commands lack %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "docker tag") || strings.Contains(joined, "docker image rm") {
		t.Errorf("latest was touched although it never moved:\n%s", joined)
	}
}

// TestRollbackAfterInterrupt: Ctrl-C during the boot (a cancelled context)
// still rolls back to the end.
func TestRollbackAfterInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x := &scripted{rules: rollbackRules("998\n")}
	x.onExec = func(cmd string) {
		if strings.Contains(cmd, "--name app-workers-999") {
			cancel()
		}
	}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	err := k.Booter.Boot(ctx, AppBootOptions{})
	var rb *RolledBackError
	if !errors.As(err, &rb) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a rollback after the interruption\n%s", err, out)
	}
	joined := strings.Join(x.commands(), "\n")
	for _, want := range []string{
		"1.1.1.1: docker start app-web-998",
		"1.1.1.2: docker start app-workers-998",
		"[web] Rolled back app version 999 to 998 (interrupted)",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("commands lack %q:\n%s", want, joined)
		}
	}
	if !strings.Contains(out.String(), "Interrupted: rolling back") {
		t.Errorf("output:\n%s", out)
	}
}

// TestRollbackRestoresLatest: the tag step fails on one host after it
// moved latest on the other; latest goes back to the old image on both.
func TestRollbackRestoresLatest(t *testing.T) {
	x := &scripted{rules: rollbackRules("998\n", rule{match: "docker tag dhh/app:999", fail: true})}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	var rb *RolledBackError
	if err := k.Booter.Boot(context.Background(), AppBootOptions{}); !errors.As(err, &rb) {
		t.Fatalf("err = %v, want a rollback\n%s", err, out)
	}
	joined := strings.Join(x.commands(), "\n")
	for _, want := range []string{
		"1.1.1.1: docker tag dhh/app:998 dhh/app:latest",
		"1.1.1.2: docker tag dhh/app:998 dhh/app:latest",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("commands lack %q:\n%s", want, joined)
		}
	}
}

// TestNoRollback: --no-rollback leaves the hosts that booted on the new
// version, as Kamal does.
func TestNoRollback(t *testing.T) {
	x := &scripted{rules: rollbackRules("998\n",
		rule{match: "'name=^app-workers-999$' --quiet | xargs docker inspect", stdout: "unhealthy"})}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	err := k.Booter.Boot(context.Background(), AppBootOptions{NoRollback: true})
	var rb *RolledBackError
	if err == nil || errors.As(err, &rb) {
		t.Fatalf("err = %v, want the plain failure\n%s", err, out)
	}
	joined := strings.Join(x.commands(), "\n")
	if strings.Contains(joined, "docker start") || strings.Contains(joined, "Rolled back") {
		t.Errorf("rolled back with --no-rollback:\n%s", joined)
	}
}

func TestShortReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{context.Canceled, "interrupted"},
		{&HealthcheckError{"container not ready after 10 seconds (unhealthy)"}, "container not ready after 10 seconds (unhealthy)"},
		{&HookError{Hook: "post-app-boot", Err: errors.New("exit status 3")}, "hook post-app-boot failed"},
		{errors.New("ssh: connection lost\nmore"), "ssh: connection lost"},
		{&remote.CommandError{Command: `docker exec kamal-proxy kamal-proxy deploy app-web --target="a:80"`, ExitStatus: 1, Stderr: "Error: target failed to become healthy\n"},
			"`kamal-proxy deploy` exited with 1: Error: target failed to become healthy"},
		{&remote.CommandError{Command: "docker run --detach --name x", ExitStatus: 125, Stderr: "docker: Error response from daemon: port is already allocated.\nSee 'docker run --help'."},
			"`docker run` exited with 125: docker: Error response from daemon: port is already allocated."},
	} {
		if got := shortReason(tc.err); got != tc.want {
			t.Errorf("shortReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestInterruptedDuringRollback: a second Ctrl-C while rolling back is
// refused with a message; outside a rollback it says nothing.
func TestInterruptedDuringRollback(t *testing.T) {
	k, out, _ := newScriptedKamal(t, bootYAML, &scripted{})
	k.Interrupted()
	if out.Len() != 0 {
		t.Errorf("outside a rollback: %q", out)
	}
	k.setRollingBack(true)
	k.Interrupted()
	if !strings.Contains(out.String(), "Rollback in progress: it will finish first") {
		t.Errorf("during a rollback: %q", out)
	}
}

// TestRollbackAssetsAndErrorPages: with asset bridging and error pages,
// the rollback extracts the old version's assets again (the new version's
// boot removed them) and uploads its error pages before the old container
// starts and the proxy takes it back, then removes the new version's
// assets and error pages, as a deploy of the old version leaves them.
func TestRollbackAssetsAndErrorPages(t *testing.T) {
	x := &scripted{rules: rollbackRules("998\n",
		rule{match: "'name=^app-workers-999$' --quiet | xargs docker inspect", stdout: "unhealthy"})}
	k, out, _ := newScriptedKamal(t, bootYAML+"asset_path: /public/assets\nerror_pages_path: pages\n", x)
	if err := os.MkdirAll("pages", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("pages/500.html", []byte("oops"), 0o644); err != nil {
		t.Fatal(err)
	}
	var rb *RolledBackError
	if err := k.Booter.Boot(context.Background(), AppBootOptions{}); !errors.As(err, &rb) || len(rb.Incomplete) > 0 {
		t.Fatalf("err = %v, want a complete rollback\n%s", err, out)
	}
	web := stepsOn(x.commands(), "1.1.1.1", map[string]string{
		"docker start app-web-998":                                                                  "start 998",
		"docker container create --name app-web-assets dhh/app:998":                                 "extract 998",
		"cp -rnT .kamal/apps/app/assets/extracted/web-998 .kamal/apps/app/assets/volumes/web-998 ;": "fill 998",
		"upload .kamal/proxy/apps-config/app/error_pages/998/500.html":                              "pages 998",
		`kamal-proxy deploy app-web --target="0ld0ld0ld0ld`:                                         "proxy 998",
		"Rolled back app version 999 to 998":                                                        "stop 999 and clean up",
	})
	if got, want := strings.Join(web, ", "), "extract 998, fill 998, start 998, pages 998, proxy 998, stop 999 and clean up"; got != want {
		t.Errorf("web rollback steps = %s\nwant                 %s\n%s", got, want, strings.Join(x.commands(), "\n"))
	}
	for _, c := range x.commands() {
		if strings.HasPrefix(c, "1.1.1.1: ") && strings.Contains(c, "Rolled back app version") {
			for _, want := range []string{"-name 'web-*' ! -name web-998 -exec rm", "error_pages -mindepth 1 -maxdepth 1 ! -name 998"} {
				if !strings.Contains(c, want) {
					t.Errorf("the clean-up lacks %q: %s", want, c)
				}
			}
		}
	}
}
