package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

func TestContainsWord(t *testing.T) {
	for _, tc := range []struct {
		line, word string
		want       bool
	}{
		{"abc 10.0.0.1:5000/app:v1", "10.0.0.1:5000/app:v1", true},
		{"abc 10.0.0.1:5000/app:v1", "app:v1", true},
		{"abc 10.0.0.1:5000/app:v10", "app:v1", false},
		{"abc reg/app:v1", "app:v1x", false},
		{"abc reg/myapp:v1", "app:v1", false},
		{"abc reg/app:<none>", "reg/app:<none>", true},
		{"abc reg/app:v1", "", false},
	} {
		if got := containsWord(tc.line, tc.word); got != tc.want {
			t.Errorf("containsWord(%q, %q) = %v", tc.line, tc.word, got)
		}
	}
}

// Deferred commands run first, in order, with the host's next command, and
// the command's own result is the one returned; what is left runs at Close.
func TestDeferredCommandsGoWithTheNextOne(t *testing.T) {
	f := &fakeHosts{}
	k, _, _ := newFakeKamal(t, f, Options{})
	ctx := context.Background()
	k.deferred = map[string][]remote.Step{
		"1.1.1.1": {{Command: "echo audit-1"}, {Command: "echo audit-2"}},
		"1.1.1.2": {{Command: "echo audit-3"}},
	}
	res, err := k.Exec(ctx, "1.1.1.1", commands.New("docker", "ps"), remote.ExecOptions{})
	if err != nil || res.Command != "docker ps" {
		t.Fatalf("Exec = %+v, %v", res, err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"1.1.1.1: echo audit-1", "1.1.1.1: echo audit-2", "1.1.1.1: docker ps", "1.1.1.2: echo audit-3"}
	if strings.Join(f.commands, "|") != strings.Join(want, "|") {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(f.commands, "\n"), strings.Join(want, "\n"))
	}
	if len(k.allDeferred()) != 0 {
		t.Error("deferred commands left after Close")
	}
}
