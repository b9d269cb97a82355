package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// planRules answer the plan's state command: web and workers run 998
// (997 and a stale 996 also exist), the proxy runs, the lock is held.
var planRules = []rule{
	{match: "label=role=web --all", stdout: "998\n997\n996\n"},
	{match: "label=role=workers --all", stdout: "998\n997\n"},
	{match: "label=role=web --format", stdout: "998\n996\n"},
	{match: "label=role=workers --format", stdout: "998\n"},
	{match: "status=running", stdout: "998\n"},
	{match: "name=^kamal-proxy$", stdout: "running basecamp/kamal-proxy:v0.9.2\n"},
	{match: "base64 -d", stdout: "Locked by: Someone at 2026-11-26T04:05:57Z\nVersion: 997\nMessage: Automatic deploy lock\n"},
}

// TestDeployPlan: one read-only command per host, nothing else runs (no
// lock, no hook, no login, no pull), and the plan names every host, the
// running and the new version, the containers to start and stop, the
// proxy, the lock and the hooks.
func TestDeployPlan(t *testing.T) {
	// The registry has 999 only.
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/dhh/app/manifests/999" {
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer reg.Close()
	yaml := strings.Replace(bootYAML, "registry:\n", "registry:\n  server: "+strings.TrimPrefix(reg.URL, "http://")+"\n", 1)
	x := &scripted{rules: planRules}
	k, out, _ := newScriptedKamal(t, yaml, x)
	if err := os.MkdirAll(".kamal/hooks", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"pre-connect", "pre-deploy", "post-deploy"} {
		if err := os.WriteFile(".kamal/hooks/"+h, []byte("#!/bin/sh\ntouch ran-"+h+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Plan(context.Background(), PlanOptions{Command: "deploy", SkipPush: true}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cmds := x.commands()
	if len(cmds) != 2 {
		t.Errorf("%d commands, want one per host:\n%s", len(cmds), strings.Join(cmds, "\n"))
	}
	for _, c := range cmds {
		for _, bad := range []string{"mkdir", "docker run", "docker pull", "docker login", "docker stop", "kamal-proxy deploy", ">>", "upload"} {
			if strings.Contains(c, bad) {
				t.Errorf("the plan ran %q: %s", bad, c)
			}
		}
	}
	if _, err := os.Stat("ran-pre-connect"); err == nil {
		t.Error("the plan ran the pre-connect hook")
	}
	for _, want := range []string{
		"Plan of `kamal deploy` with version 999 (read only: nothing was changed on any server)",
		"Image:   " + strings.TrimPrefix(reg.URL, "http://") + "/dhh/app:999 is in the registry",
		"Lock:    held on 1.1.1.1",
		"Message: Automatic deploy lock",
		"Hooks:   pre-connect, pre-deploy, post-deploy",
		"1.1.1.1\n  proxy     running (basecamp/kamal-proxy:v0.9.2)\n  image     would be pulled\n  web       running 998, would boot 999: start app-web-999; stop app-web-998, app-web-996 (stale)\n",
		"1.1.1.2\n  image     would be pulled\n  workers   running 998, would boot 999: start app-workers-999; stop app-workers-998\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}

	// A version the registry does not have is said per host.
	k.Config.SetVersion("1000")
	out.Reset()
	if err := k.Plan(context.Background(), PlanOptions{Command: "deploy", SkipPush: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"dhh/app:1000 is NOT in the registry: the deploy would fail at the pull",
		"1.1.1.2\n  image     not on the host and not in the registry: the deploy would fail here",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

// TestRollbackPlan: without a version the plan picks the previous one;
// a version missing on a host is said for that host.
func TestRollbackPlan(t *testing.T) {
	x := &scripted{rules: planRules}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	if err := k.Plan(context.Background(), PlanOptions{Command: "rollback"}); err != nil {
		t.Fatal(err)
	}
	if want := "web       running 998, would boot 997: rename the existing app-web-997 aside; start app-web-997; stop app-web-998\n"; !strings.Contains(out.String(), want) {
		t.Errorf("plan lacks %q:\n%s", want, out)
	}
	out.Reset()
	if err := k.Plan(context.Background(), PlanOptions{Command: "rollback", Version: "996"}); err != nil {
		t.Fatal(err)
	}
	if want := "workers   running 998: NO container of 996 here: the rollback would fail"; !strings.Contains(out.String(), want) {
		t.Errorf("plan lacks %q:\n%s", want, out)
	}
}
