package testhosts

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestAccountSetup(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/bash\nold:x:2000:2000::/home/old:/bin/sh\n"
	group := "root:x:0:\ndocker:x:106:ci\nold:x:2000:\nbusy:x:2001:\n"
	s, err := newAccountSetup([]User{{Name: "deploy", Docker: true}, {Name: "outsider"}}, passwd, group)
	if err != nil {
		t.Fatal(err)
	}
	wantPasswd := passwd + "deploy:x:2002:2002::/home/deploy:/bin/sh\noutsider:x:2003:2003::/home/outsider:/bin/sh\n"
	if s.passwd != wantPasswd {
		t.Errorf("passwd:\n%s\nwant:\n%s", s.passwd, wantPasswd)
	}
	wantGroup := "root:x:0:\ndocker:x:106:ci,deploy\nold:x:2000:\nbusy:x:2001:\ndeploy:x:2002:\noutsider:x:2003:\n"
	if s.group != wantGroup {
		t.Errorf("group:\n%s\nwant:\n%s", s.group, wantGroup)
	}

	// A machine without a docker group gets one, with a free id.
	s, err = newAccountSetup([]User{{Name: "deploy", Docker: true}}, passwd, "root:x:0:\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(s.group, "deploy:x:2001:\ndocker:x:2002:deploy\n") {
		t.Errorf("group without docker:\n%s", s.group)
	}

	for _, bad := range [][]User{{{Name: "root"}}, {{Name: "Bad Name"}}, {{Name: "a"}, {Name: "a"}}} {
		if _, err := newAccountSetup(bad, passwd, group); err == nil {
			t.Errorf("users %+v accepted", bad)
		}
	}
}

func TestBootScriptMountsAccounts(t *testing.T) {
	e := newEnv(Options{Hosts: 1, Prefix: "kt", Root: DefaultRoot})
	if strings.Contains(e.Hosts[0].bootScript(e), "/etc/passwd") {
		t.Error("accounts mounted without Options.Users")
	}
	e.accounts = &accountSetup{}
	script := e.Hosts[0].bootScript(e)
	if !strings.Contains(script, accountMounts) || strings.Index(script, accountMounts) > strings.Index(script, "sshd -f") {
		t.Errorf("accounts not mounted before sshd starts:\n%s", script)
	}
	if strings.Contains(e.deployer.bootScript(e), "/etc/passwd") {
		t.Error("accounts mounted on the deployer")
	}
	if cfg := e.Hosts[0].sshdConfig("VERBOSE", "AllowStreamLocalForwarding no"); !strings.HasSuffix(cfg, "LogLevel VERBOSE\nAllowStreamLocalForwarding no\n") {
		t.Errorf("sshd_config:\n%s", cfg)
	}
}

func TestCPUTicks(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
	stat := "42 (my (odd) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 20 10 20 0 1 0 100 0 0"
	n, err := cpuTicks(stat)
	if err != nil || n != 40 {
		t.Errorf("cpuTicks = %d, %v; want 40", n, err)
	}
	if _, err := cpuTicks("42 (x) S 1"); err == nil {
		t.Error("short stat line accepted")
	}
	if d := time.Duration(n) * time.Second / userHZ; d != 400*time.Millisecond {
		t.Errorf("40 ticks = %s", d)
	}
}

// TestUsersSessionsAndCPU logs in as the extra users and checks what the
// benchmarks read: the session count and the hosts' CPU time.
func TestUsersSessionsAndCPU(t *testing.T) {
	requireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute) // mostly waiting for the testhosts lock while another run has it
	defer cancel()
	env, err := Start(ctx, Options{Hosts: 1, Prefix: "ktu", SSHDLogLevel: "VERBOSE", Users: []User{{Name: "deploy", Docker: true}, {Name: "outsider"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	h := env.Hosts[0]

	sessions := h.SSHSessions()
	cpu, err := h.ServerCPU()
	if err != nil || cpu <= 0 {
		t.Fatalf("ServerCPU = %s, %v; dockerd alone has used some", cpu, err)
	}
	out, err := env.SSHAs(ctx, h, "deploy", "id -un; id -Gn; echo $HOME; docker ps --format x")
	if err != nil || out != "deploy\ndeploy docker\n/home/deploy\n" {
		t.Errorf("as deploy: %q, %v", out, err)
	}
	if out, err := env.SSHAs(ctx, h, "outsider", "docker ps"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("outsider used Docker: %q, %v", out, err)
	}
	if _, err := env.SSH(ctx, h, "true"); err != nil {
		t.Error(err)
	}
	if err := h.WaitSSHIdle(ctx); err != nil {
		t.Error(err)
	}
	if n := h.SSHSessions() - sessions; n != 3 {
		t.Errorf("sessions counted = %d, want 3", n)
	}
	if after, err := h.ServerCPU(); err != nil || after <= cpu {
		t.Errorf("ServerCPU after three sessions = %s (before %s), %v", after, cpu, err)
	}
	if fi, err := os.Stat(h.UserHome("deploy")); err != nil || !fi.IsDir() {
		t.Errorf("UserHome: %v", err)
	}
}
