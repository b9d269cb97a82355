package dockerapi

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	nat "github.com/moby/moby/api/types/network"

	"github.com/kamalgo/kamal/internal/remote"
	"github.com/kamalgo/kamal/internal/testhosts"
)

// startHosts brings up one simulated server with a docker-group user and
// one outside that group, sshd logging every session.
func startHosts(t *testing.T) *testhosts.Env {
	t.Helper()
	if err := testhosts.CheckPrerequisites(); err != nil {
		if os.Getenv("CI") != "true" && (runtime.GOOS != "linux" || os.Geteuid() != 0) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	// Other test packages may hold the simulated servers for a while.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	env, err := testhosts.Start(ctx, testhosts.Options{
		Hosts: 1, RegistryAuth: true, Prefix: "ktd", SSHDLogLevel: "VERBOSE",
		Users: []testhosts.User{{Name: "deploy", Docker: true}, {Name: "outsider"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return env
}

func sshPool(t *testing.T, env *testhosts.Env, user string, out *remote.Output) *remote.Pool {
	t.Helper()
	p, err := remote.NewPool(remote.SSHOptions{
		User: user, Keys: []string{env.SSHKeyPath}, KeysOnly: true, AgentSocket: "-",
		KnownHostsFile: env.KnownHostsPath, ConnectTimeout: 10 * time.Second,
	}, out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestRealDockerd drives the Docker Engine 20.10 of a simulated server
// through its socket forwarded by sshd, and checks the fallback decisions
// for the ways a host can refuse it.
func TestRealDockerd(t *testing.T) {
	env := startHosts(t)
	h := env.Hosts[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute) // mostly waiting for the testhosts lock while another run has it
	defer cancel()
	image, err := env.BuildImage(ctx, testhosts.ImageSpec{Program: "app", Repository: "dockerapi/app", Tag: "v1", Service: "dockerapi"})
	if err != nil {
		t.Fatal(err)
	}
	auth := &Auth{Server: env.Registry, Username: env.RegistryUser, Password: env.RegistryPassword}

	t.Run("root over the API", func(t *testing.T) {
		pool := sshPool(t, env, "root", nil)
		sessions := h.SSHSessions()
		e := NewEngines(pool, nil, false)
		defer e.Close()
		api := e.API(ctx, h.IP)
		if api == nil {
			t.Fatalf("no API: %v", e.Reason(h.IP))
		}
		if v := api.APIVersion(); v != "1.41" {
			t.Errorf("negotiated API version %s, want 1.41 (Docker 20.10)", v)
		}
		ver, err := api.Version(ctx)
		if err != nil || !strings.HasPrefix(ver.Version, "20.10") {
			t.Errorf("Version = %+v, %v", ver, err)
		}
		info, err := api.Info(ctx)
		if err != nil || info.Name != h.Name {
			t.Errorf("Info name = %q, %v; want %s", info.Name, err, h.Name)
		}

		err = api.Pull(ctx, image, nil, nil)
		if err == nil || !strings.HasPrefix(err.Error(), "Error response from daemon: ") {
			t.Errorf("pull without credentials = %v, want the daemon's refusal", err)
		}
		var progress []string
		if err := api.Pull(ctx, image, auth, func(l string) { progress = append(progress, l) }); err != nil {
			t.Fatalf("Pull: %v", err)
		}
		if len(progress) == 0 || !strings.HasPrefix(progress[len(progress)-1], "Status: Downloaded newer image for "+image) {
			t.Errorf("pull progress = %q", progress)
		}
		img, err := api.ImageInspect(ctx, image)
		if err != nil || img.Config == nil || img.Config.Labels["service"] != "dockerapi" {
			t.Fatalf("ImageInspect = %+v, %v", img.Config, err)
		}
		if err := api.Tag(ctx, image, "dockerapi/app:latest"); err != nil {
			t.Fatal(err)
		}
		imgs, err := api.Images(ctx, []string{"reference=dockerapi/app:latest"})
		if err != nil || len(imgs) != 1 || imgs[0].ID != img.ID {
			t.Errorf("Images(latest) = %+v, %v; want %s", imgs, err, img.ID)
		}

		id, err := api.Create(ctx, ContainerSpec{
			Name: "dockerapi-web-v1",
			Config: &container.Config{
				Image:  image,
				Env:    []string{"KAMAL_VERSION=v1"},
				Labels: map[string]string{"service": "dockerapi", "role": "web", "destination": ""},
			},
			Host: &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: "unless-stopped"}},
		})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if err := api.Start(ctx, id); err != nil {
			t.Fatalf("Start: %v", err)
		}
		running, err := api.Containers(ctx, ListOptions{Filters: []string{"label=service=dockerapi", "label=role=web", "status=running"}})
		if err != nil || len(running) != 1 || running[0].ID != id || !slices.Contains(running[0].Names, "/dockerapi-web-v1") {
			t.Fatalf("Containers(running) = %+v, %v", running, err)
		}
		res, err := api.Exec(ctx, "dockerapi-web-v1", []string{"/app", "echo", "hello", "world"})
		if err != nil || res.Stdout != "hello world\n" || res.ExitCode != 0 {
			t.Errorf("Exec echo = %+v, %v", res, err)
		}
		res, err = api.Exec(ctx, "dockerapi-web-v1", []string{"/no/such/program"})
		if err != nil || res.ExitCode != 126 || !strings.Contains(res.Stdout, "no such file or directory") {
			t.Errorf("Exec of a missing program = %+v, %v; want exit status 126 as the docker CLI reports", res, err)
		}
		if err := api.Rename(ctx, "dockerapi-web-v1", "dockerapi-web-v1_replaced_0123"); err != nil {
			t.Fatal(err)
		}
		stop := 1
		if err := api.Stop(ctx, id, &stop); err != nil {
			t.Fatal(err)
		}
		got, err := api.Inspect(ctx, "dockerapi-web-v1_replaced_0123")
		if err != nil || got.State == nil || got.State.Running || got.Config.Env[0] != "KAMAL_VERSION=v1" {
			t.Errorf("Inspect after stop = %+v, %v", got.State, err)
		}
		if out, err := h.Docker(ctx, "ps", "-a", "--filter", "label=service=dockerapi", "--format", "{{.Names}} {{.Status}}"); err != nil || !strings.HasPrefix(out, "dockerapi-web-v1_replaced_0123 Exited") {
			t.Errorf("docker ps on the host: %q, %v", out, err)
		}
		if err := api.Remove(ctx, id, false); err != nil {
			t.Fatal(err)
		}
		_, err = api.Inspect(ctx, id)
		if !IsNotFound(err) || err.Error() != "Error response from daemon: No such container: "+id {
			t.Errorf("Inspect of a removed container = %v", err)
		}
		err = api.Stop(ctx, "dockerapi-missing", nil)
		if err == nil || err.Error() != "Error response from daemon: No such container: dockerapi-missing" {
			t.Errorf("Stop of a missing container = %v", err)
		}
		nets, err := api.Networks(ctx, []string{"name=bridge"})
		if err != nil || len(nets) != 1 || nets[0].Name != "bridge" {
			t.Errorf("Networks = %+v, %v", nets, err)
		}
		if err := api.CreateNetwork(ctx, "dockerapi-net"); err != nil {
			t.Fatal(err)
		}
		err = api.CreateNetwork(ctx, "dockerapi-net")
		if err == nil || err.Error() != "Error response from daemon: network with name dockerapi-net already exists" || !cerrdefs.IsConflict(err) {
			t.Errorf("creating an existing network = %v", err)
		}
		if out, err := h.Docker(ctx, "network", "inspect", "-f", "{{.Driver}}", "dockerapi-net"); err != nil || out != "bridge\n" {
			t.Errorf("network driver %q, %v", out, err)
		}

		exited, err := api.Create(ctx, ContainerSpec{Name: "dockerapi-old", Config: &container.Config{Image: image, Labels: map[string]string{"service": "dockerapi"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := api.PruneContainers(ctx, []string{"label=service=dockerapi"}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.Inspect(ctx, exited); !IsNotFound(err) {
			t.Errorf("a created container survived the prune: %v", err)
		}
		if err := api.PruneImages(ctx, true, []string{"label=service=dockerapi"}); err != nil {
			t.Fatal(err)
		}
		if _, err := api.ImageInspect(ctx, image); !IsNotFound(err) {
			t.Errorf("the unused image survived the prune: %v", err)
		}

		if n := pool.ConnectionsOpened(h.IP); n != 1 {
			t.Errorf("SSH connections = %d, want 1", n)
		}
		if n := h.SSHSessions() - sessions; n != 0 {
			t.Errorf("SSH sessions = %d, want none: every call went through the forwarded socket", n)
		}
	})

	t.Run("docker ps table as the CLI prints it", func(t *testing.T) {
		pool := sshPool(t, env, "root", nil)
		api := NewEngines(pool, nil, false).API(ctx, h.IP)
		if api == nil {
			t.Fatal("no API")
		}
		if err := api.Pull(ctx, image, auth, nil); err != nil {
			t.Fatal(err)
		}
		port := nat.MustParsePort
		ports := nat.PortMap{
			port("80/tcp"):   {{HostPort: "80"}},
			port("443/tcp"):  {{HostPort: "443"}},
			port("8000/tcp"): {{HostPort: "8000"}},
			port("8001/tcp"): {{HostPort: "8001"}},
			port("90/udp"):   {{HostPort: "9090"}},
		}
		labels := map[string]string{"service": "dockerapi-table"}
		specs := []ContainerSpec{
			{Name: "dockerapi-table-ports", Config: &container.Config{Image: image, Labels: labels, Cmd: []string{"--listen", "a-long-argument-to-cut"},
				ExposedPorts: nat.PortSet{port("80/tcp"): {}, port("443/tcp"): {}, port("8000/tcp"): {}, port("8001/tcp"): {}, port("90/udp"): {}, port("7000/tcp"): {}}},
				Host: &container.HostConfig{PortBindings: ports}},
			{Name: "dockerapi-table-plain", Config: &container.Config{Image: image, Labels: labels}},
		}
		for _, spec := range specs {
			id, err := api.Create(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			defer api.Remove(ctx, id, true)
			if spec.Name == "dockerapi-table-ports" {
				if err := api.Start(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		cli, err := h.Docker(ctx, "ps", "--all", "--filter", "label=service=dockerapi-table")
		if err != nil {
			t.Fatal(err)
		}
		list, err := api.Containers(ctx, ListOptions{All: true, Filters: []string{"label=service=dockerapi-table"}})
		if err != nil {
			t.Fatal(err)
		}
		got := PSTable(list, time.Now())
		fields := func(table string) (rows [][]string, created []string) {
			for _, line := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
				f := regexp.MustCompile(`\s{3,}`).Split(strings.TrimSpace(line), -1)
				if len(f) > 3 {
					created = append(created, f[3])
					f[3] = "-"
				}
				rows = append(rows, f)
			}
			return rows, created
		}
		// The docker CLI before 23 wrote IPv6 addresses without brackets
		// (":::80->80/tcp"); we follow the current one ("[::]:80->80/tcp").
		oldIPv6 := strings.Contains(cli, ":::")
		cli = strings.ReplaceAll(cli, ":::", "[::]:")
		wantRows, wantCreated := fields(cli)
		gotRows, gotCreated := fields(got)
		if !reflect.DeepEqual(gotRows, wantRows) {
			t.Errorf("table:\n%s\nthe docker CLI:\n%s", got, cli)
		}
		if !oldIPv6 && reflect.DeepEqual(gotCreated, wantCreated) && got != strings.TrimRight(cli, "\n") {
			t.Errorf("alignment differs:\n%q\n%q", got, cli)
		}
	})

	t.Run("docker group user over the API", func(t *testing.T) {
		pool := sshPool(t, env, "deploy", nil)
		e := NewEngines(pool, nil, false)
		defer e.Close()
		api := e.API(ctx, h.IP)
		if api == nil {
			t.Fatalf("no API for a docker group member: %v", e.Reason(h.IP))
		}
		if _, err := api.Containers(ctx, ListOptions{All: true}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("user outside the docker group", func(t *testing.T) {
		var log bytes.Buffer
		out := remote.NewOutput(&log, remote.LevelVerbose, nil)
		pool := sshPool(t, env, "outsider", out)
		e := NewEngines(pool, out, false)
		defer e.Close()
		if api := e.API(ctx, h.IP); api != nil {
			t.Fatal("API client for a user who may not open the socket")
		}
		var refused *remote.UnixSocketError
		if !errors.As(e.Reason(h.IP), &refused) {
			t.Errorf("Reason = %v, want sshd's refusal", e.Reason(h.IP))
		}
		_, cliErr := pool.Exec(ctx, h.IP, "docker ps", remote.ExecOptions{Severity: remote.Debug})
		err := e.Unusable(h.IP, cliErr)
		if err == nil || !strings.Contains(err.Error(), "cannot use Docker on "+h.IP+": the Docker API: sshd on "+h.IP+" refused") ||
			!strings.Contains(err.Error(), "permission denied") {
			t.Errorf("both ways failing = %v", err)
		}
		if !strings.Contains(log.String(), "Docker API not reachable on "+h.IP+", using the docker CLI") {
			t.Errorf("no fallback line with -v:\n%s", log.String())
		}
	})

	t.Run("sshd forbids stream-local forwarding", func(t *testing.T) {
		if err := h.ConfigureSSHD(ctx, "AllowStreamLocalForwarding no"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := h.ConfigureSSHD(ctx); err != nil {
				t.Error(err)
			}
		}()
		pool := sshPool(t, env, "root", nil)
		e := NewEngines(pool, nil, false)
		defer e.Close()
		if api := e.API(ctx, h.IP); api != nil {
			t.Fatal("API client although sshd forbids stream-local forwarding")
		}
		res, err := pool.Exec(ctx, h.IP, "docker version --format '{{.Server.APIVersion}}'", remote.ExecOptions{})
		if err != nil || strings.TrimSpace(res.Stdout) != "1.41" {
			t.Errorf("the docker CLI fallback: %q, %v", res.Stdout, err)
		}
		if n := pool.ConnectionsOpened(h.IP); n != 1 {
			t.Errorf("SSH connections = %d, want 1", n)
		}
	})

	t.Run("dropped connection during a pull", func(t *testing.T) {
		pool := sshPool(t, env, "root", nil)
		api := NewEngines(pool, nil, false).API(ctx, h.IP)
		if api == nil {
			t.Fatal("no API")
		}
		if out, err := h.Docker(ctx, "image", "ls", "-q", "dockerapi/app"); err != nil || out != "" {
			t.Fatalf("image still there before the pull: %q, %v", out, err)
		}
		done := make(chan error, 1)
		go func() {
			done <- api.Pull(ctx, image, auth, func(string) { pool.Close() })
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Error("pull succeeded over a closed SSH connection")
			}
		case <-time.After(time.Minute):
			t.Fatal("pull hangs after the SSH connection dropped")
		}
	})
}
