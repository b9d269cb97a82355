package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestStaleContainersStopsAllButCurrent(t *testing.T) {
	x := &scripted{rules: []rule{
		{match: `--format "{{.Names}}" | while read line`, stdout: "997\n998\n999\n"},
		{match: "docker ps --latest", stdout: "999\n"},
	}}
	k, out, _ := newScriptedKamal(t, bootYAML, x)
	if err := k.Apps.StaleContainers(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	var stopped []string
	for _, c := range x.commands() {
		if strings.HasPrefix(c, "1.1.1.1: ") && strings.Contains(c, "| xargs docker stop") {
			stopped = append(stopped, c[strings.Index(c, "name=^")+6:strings.Index(c, "$'")])
		}
	}
	if got := strings.Join(stopped, " "); got != "app-web-997 app-web-998" {
		t.Errorf("stopped %q, want the two stale web containers", got)
	}
	if !strings.Contains(out.String(), "Stopping stale container for role web with version 997") {
		t.Errorf("output:\n%s", out)
	}
}

func TestPruneAllIsOneCommandPerHost(t *testing.T) {
	x := &scripted{}
	k, _, _ := newScriptedKamal(t, bootYAML, x)
	if err := k.Pruner.All(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	var prunes []string
	for _, c := range x.commands() {
		if strings.Contains(c, "Pruned") {
			prunes = append(prunes, c)
		}
	}
	if len(prunes) != 2 {
		t.Fatalf("prune commands = %d, want one per host:\n%s", len(prunes), strings.Join(prunes, "\n"))
	}
	for _, want := range []string{"Pruned containers", "tail -n +4", "Pruned images", "docker image prune --force --filter label=service=app", "docker rmi $tag"} {
		if !strings.Contains(prunes[0], want) {
			t.Errorf("prune command lacks %q: %s", want, prunes[0])
		}
	}
	var ae *ArgumentError
	if err := k.Pruner.Containers(context.Background(), -1); !errors.As(err, &ae) || ae.Msg != "retain must be at least 1" {
		t.Errorf("retain -1: %v", err)
	}
}

// TestPruneRetainsConfiguredContainers: without --retain, prune keeps
// retain_containers stopped containers (5 by default).
func TestPruneRetainsConfiguredContainers(t *testing.T) {
	for _, tc := range []struct{ name, extra, want string }{
		{"default", "", "tail -n +6"},
		{"retain_containers 2", "retain_containers: 2\n", "tail -n +3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &scripted{}
			k, _, _ := newScriptedKamal(t, bootYAML+tc.extra, x)
			if err := k.Pruner.Containers(context.Background(), 0); err != nil {
				t.Fatal(err)
			}
			var prunes int
			for _, c := range x.commands() {
				if strings.Contains(c, "docker rm") {
					prunes++
					if !strings.Contains(c, tc.want) {
						t.Errorf("prune command lacks %q: %s", tc.want, c)
					}
				}
			}
			if prunes != 2 {
				t.Errorf("prune commands = %d, want one per host:\n%s", prunes, strings.Join(x.commands(), "\n"))
			}
		})
	}
}

func TestProxyBootRefusesOldProxy(t *testing.T) {
	x := &scripted{rules: []rule{{match: "docker inspect kamal-proxy", stdout: "v0.8.0\n"}}}
	k, _, _ := newScriptedKamal(t, bootYAML, x)
	err := k.Proxy.Boot(context.Background())
	if err == nil || !strings.Contains(err.Error(), "kamal-proxy version v0.8.0 is too old, run `kamal proxy reboot` in order to update to at least v0.9.2") {
		t.Fatalf("err = %v", err)
	}
	for _, c := range x.commands() {
		if strings.Contains(c, "docker run --name kamal-proxy") {
			t.Errorf("the old proxy was started anyway: %s", c)
		}
	}
}

// TestRollbackMissingVersion: a version missing on some host is an error
// naming the hosts and roles without it; nothing boots.
func TestRollbackMissingVersion(t *testing.T) {
	x := &scripted{rules: []rule{{match: "'name=^app-web-123$' --quiet", stdout: "abc\n"}}}
	k, _, _ := newScriptedKamal(t, bootYAML, x)
	err := k.Rollback(context.Background(), RollbackOptions{Version: "123"})
	if err == nil || err.Error() != "The app version '123' is not available as a container for workers on 1.1.1.2 (use 'kamal app containers' for available versions)" {
		t.Fatalf("err = %v", err)
	}
	for _, c := range x.commands() {
		if strings.Contains(c, "docker run") {
			t.Errorf("rollback booted a missing version: %s", c)
		}
	}
}

// TestPreviousVersion: the newest version older than the running one that
// every role on every host still has as a container; renamed containers
// and versions missing somewhere are skipped, and none is an error naming
// where each candidate is missing.
func TestPreviousVersion(t *testing.T) {
	for _, tc := range []struct {
		name, workers string
		want, err     string
	}{
		{"skips a version missing on a host", "3\n1\n", "1", ""},
		{"the one before", "3\n2\n1\n", "2", ""},
		{"none on every host", "3\n", "", "no version older than 3 exists as a container on every host: 2 is missing for workers on 1.1.1.2; 1 is missing for workers on 1.1.1.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &scripted{rules: []rule{
				{match: "label=role=web --all", stdout: "3\n2_replaced_0123456789abcdef\n2\n1\n"},
				{match: "label=role=workers --all", stdout: tc.workers},
				{match: "status=running", stdout: "3\n"},
			}}
			k, _, _ := newScriptedKamal(t, bootYAML, x)
			got, current, err := k.PreviousVersion(context.Background())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want || current != "3" {
				t.Fatalf("PreviousVersion = %q, %q, %v; want %q, 3", got, current, err, tc.want)
			}
		})
	}
}
