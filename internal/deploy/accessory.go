package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/config/erb"
	"github.com/kamalgo/kamal/internal/remote"
)

// Accessories is `kamal accessory`: long-lived services (databases,
// caches) next to the app, each run as one container per host with its
// uploaded files, data directories and env file.
type Accessories struct {
	*Session
	lock     *Lock
	registry *Registry
}

// AllAccessories is the NAME that selects every accessory.
const AllAccessories = "all"

// UnknownAccessoryError is a NAME that the configuration does not define.
type UnknownAccessoryError struct {
	Name    string
	Options []string
}

func (e *UnknownAccessoryError) Error() string {
	msg := fmt.Sprintf("No accessory by the name of '%s'", e.Name)
	if len(e.Options) > 0 {
		msg += " (options: " + config.ToSentence(e.Options) + ")"
	}
	return msg
}

// accessoryNames are the configured accessories, in config order.
func (k *Accessories) accessoryNames() []string {
	names := make([]string, len(k.Config.Accessories))
	for i, a := range k.Config.Accessories {
		names[i] = a.Name
	}
	return names
}

// accessory looks name up.
func (k *Accessories) accessory(name string) (*config.Accessory, error) {
	for _, a := range k.Config.Accessories {
		if a.Name == name {
			return a, nil
		}
	}
	return nil, &UnknownAccessoryError{Name: name, Options: k.accessoryNames()}
}

// selectAccessories resolves NAME: every accessory for "all", else the one
// named (an unknown name is an error before anything runs).
func (k *Accessories) selectAccessories(name string) ([]*config.Accessory, error) {
	if name == AllAccessories {
		return slices.Clone(k.Config.Accessories), nil
	}
	a, err := k.accessory(name)
	if err != nil {
		return nil, err
	}
	return []*config.Accessory{a}, nil
}

// CheckName fails with Kamal's message unless name is "all" or a
// configured accessory.
func (k *Accessories) CheckName(name string) error {
	_, err := k.selectAccessories(name)
	return err
}

// accessoryRegistry is the registry an accessory's image comes from: its
// own, else the app's.
func (k *Accessories) accessoryRegistry(a *config.Accessory) config.Registry {
	if a.Registry != nil {
		return *a.Registry
	}
	return k.Config.Registry
}

// accessoryRun is one accessory command over a set of hosts.
type accessoryRun struct {
	k     *Accessories
	acc   *config.Accessory
	cmd   *commands.Accessory
	hosts []string
}

func (k *Accessories) accessoryRun(a *config.Accessory, scope []string) *accessoryRun {
	return &accessoryRun{k: k, acc: a, cmd: commands.NewAccessory(k.Config, a), hosts: k.accessoryHosts(a, scope)}
}

// eachAccessory resolves name and runs fn for each selected accessory, one
// after another, under the deploy lock when locked is set.
func (k *Accessories) eachAccessory(ctx context.Context, name string, locked bool, scope []string, fn func(r *accessoryRun, ctx context.Context) error) error {
	accs, err := k.selectAccessories(name)
	if err != nil {
		return err
	}
	run := func(ctx context.Context) error {
		for _, a := range accs {
			if err := fn(k.accessoryRun(a, scope), ctx); err != nil {
				return err
			}
		}
		return nil
	}
	if locked {
		return k.lock.With(ctx, run)
	}
	return run(ctx)
}

// Boot is `kamal accessory boot NAME|all`: under the lock, log in
// to the accessory's registry and create the kamal network, skip the hosts
// where a container of the accessory already exists, create the data
// directories, upload the files, then per host the env file and `docker
// run` (and the kamal-proxy deploy for a proxied accessory).
func (k *Accessories) Boot(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, func(r *accessoryRun, ctx context.Context) error {
		return r.boot(ctx, true)
	})
}

func (r *accessoryRun) boot(ctx context.Context, prepare bool) error {
	k := r.k
	// Local inputs first: a missing file or secret stops the boot before
	// anything changes on the hosts.
	files, err := r.loadFiles()
	if err != nil {
		return err
	}
	envFile, err := r.envFile()
	if err != nil {
		return err
	}
	if prepare {
		if err := r.prepare(ctx); err != nil {
			return err
		}
	}
	var (
		booted   []string
		bootedMu sync.Mutex
	)
	err = k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		out, err := k.capture(ctx, h, r.cmd.Exists(), remote.Info)
		if err != nil {
			return err
		}
		if out != "" {
			bootedMu.Lock()
			booted = append(booted, h)
			bootedMu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	hosts := r.hosts
	if len(booted) > 0 {
		sort.Strings(booted)
		k.Say("Skipping booting `%s` on %s, a container already exists", r.acc.Name, strings.Join(booted, ", "))
		hosts = slices.DeleteFunc(slices.Clone(hosts), func(h string) bool { return slices.Contains(booted, h) })
	}
	if err := r.directories(ctx); err != nil {
		return err
	}
	if err := r.uploadFiles(ctx, files); err != nil {
		return err
	}
	return k.On(ctx, hosts, func(ctx context.Context, h string) error {
		if err := k.recordOn(ctx, h, "Booted "+r.acc.Name+" accessory"); err != nil {
			return err
		}
		if err := k.Execute(ctx, h, r.cmd.EnsureEnvDirectory(), remote.Info); err != nil {
			return err
		}
		if err := k.Upload(ctx, h, r.cmd.EnvFilePath(), envFile, 0o600); err != nil {
			return err
		}
		if err := k.Execute(ctx, h, r.cmd.Run(h), remote.Info); err != nil {
			return err
		}
		return r.proxyDeploy(ctx, h)
	})
}

// prepare logs the hosts in to the accessory's registry and creates the
// kamal network ("already exists" is fine).
func (r *accessoryRun) prepare(ctx context.Context) error {
	k := r.k
	reg := k.accessoryRegistry(r.acc)
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		if err := k.registry.loginOn(ctx, h, reg); err != nil {
			return err
		}
		return k.createNetwork(ctx, h)
	})
}

// envFile renders the accessory's secrets env file.
func (r *accessoryRun) envFile() ([]byte, error) {
	values := map[string]string{}
	for _, ref := range r.acc.Env.Secrets {
		v, err := r.k.Secret(ref.SecretKey())
		if err != nil {
			return nil, fmt.Errorf("accessory %s: %w", r.acc.Name, err)
		}
		values[ref.SecretKey()] = v
	}
	s, err := r.cmd.EnvFile(values)
	if err != nil {
		return nil, fmt.Errorf("accessory %s: %w", r.acc.Name, err)
	}
	return []byte(s), nil
}

// proxyDeploy points kamal-proxy on h at the accessory's running
// container, for a proxied accessory.
func (r *accessoryRun) proxyDeploy(ctx context.Context, h string) error {
	if r.acc.Proxy == nil {
		return nil
	}
	k := r.k
	id, err := k.capture(ctx, h, r.cmd.ContainerID(), remote.Info)
	if err != nil {
		return err
	}
	if id == "" {
		return &BootError{fmt.Sprintf("Failed to get endpoint for %s accessory on %s, did the container boot?", r.acc.Name, h)}
	}
	if err := r.uploadCertificates(ctx, h); err != nil {
		return err
	}
	return k.Execute(ctx, h, r.cmd.ProxyDeploy(id), remote.Info)
}

// uploadCertificates writes a proxied accessory's custom TLS certificate
// and key (from secrets) where kamal-proxy reads them.
func (r *accessoryRun) uploadCertificates(ctx context.Context, h string) error {
	p := r.acc.Proxy
	if p == nil || !p.CustomSSL() {
		return nil
	}
	k := r.k
	read := func(secret, key string) ([]byte, error) {
		v, err := k.Secret(secret)
		if err != nil || strings.TrimSpace(v) == "" {
			return nil, &ArgumentError{fmt.Sprintf("Missing SSL secret %q for accessory %q (%s)", secret, r.acc.Name, key)}
		}
		return []byte(v), nil
	}
	cert, err := read(p.SSLCertificate, "certificate_pem")
	if err != nil {
		return err
	}
	key, err := read(p.SSLPrivateKey, "private_key_pem")
	if err != nil {
		return err
	}
	k.Out.Infof("Writing SSL certificates for accessory %s", r.acc.Name)
	if err := k.Execute(ctx, h, r.cmd.CreateTLSDirectory(), remote.Info); err != nil {
		return err
	}
	if err := k.Upload(ctx, h, r.cmd.CertificatePath(), cert, 0o644); err != nil {
		return err
	}
	return k.Upload(ctx, h, r.cmd.PrivateKeyPath(), key, 0o644)
}

// Directories is the hidden `accessory directories NAME|all`.
func (k *Accessories) Directories(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).directories)
}

// directories creates the accessory's data directories (mode and owner
// when configured) on its hosts.
func (r *accessoryRun) directories(ctx context.Context) error {
	if len(r.acc.Directories) == 0 {
		return nil
	}
	k := r.k
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		for _, d := range r.acc.Directories {
			for _, c := range r.cmd.DirectoryCommands(d) {
				if err := k.Execute(ctx, h, c, remote.Info); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// UploadFiles is the hidden `accessory upload NAME|all`.
func (k *Accessories) UploadFiles(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).upload)
}

// localFile is one file of `files:`, read (and rendered) on this machine.
type localFile struct {
	file config.AccessoryFile
	data []byte
	mode os.FileMode // the upload's mode; chmod sets the configured one
}

// upload copies the accessory's files to its hosts.
func (r *accessoryRun) upload(ctx context.Context) error {
	files, err := r.loadFiles()
	if err != nil {
		return err
	}
	return r.uploadFiles(ctx, files)
}

// loadFiles reads (and renders) the accessory's local files.
func (r *accessoryRun) loadFiles() ([]localFile, error) {
	files := make([]localFile, 0, len(r.acc.Files))
	for _, f := range r.acc.Files {
		data, err := r.readLocal(f.Local)
		if err != nil {
			return nil, err
		}
		// The temporary upload gets the final mode at once when it is
		// numeric, so a file meant to be private is never readable by
		// others; otherwise (u+x...) it stays private until chmod.
		mode := os.FileMode(0o600)
		if m, err := strconv.ParseUint(f.Mode, 8, 32); err == nil {
			mode = os.FileMode(m) & fs.ModePerm
		}
		files = append(files, localFile{file: f, data: data, mode: mode})
	}
	return files, nil
}

// uploadFiles copies files to the accessory's hosts: the directory, the
// upload, then chmod (default 755) and chown.
func (r *accessoryRun) uploadFiles(ctx context.Context, files []localFile) error {
	if len(files) == 0 {
		return nil
	}
	k := r.k
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		for _, lf := range files {
			fc := r.cmd.FileCommands(lf.file)
			if err := k.Execute(ctx, h, fc.Mkdir, remote.Info); err != nil {
				return err
			}
			if err := k.Upload(ctx, h, fc.HostPath, lf.data, lf.mode); err != nil {
				return err
			}
			for _, c := range fc.After {
				if err := k.Execute(ctx, h, c, remote.Info); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// readLocal reads a file of `files:` relative to the working directory,
// as Kamal does. A `.erb` file is rendered with the accessory's env, clear
// and secret values merged (secrets win), visible in ENV, as in Kamal: a
// config file can hold a database password.
func (r *accessoryRun) readLocal(local string) ([]byte, error) {
	data, err := os.ReadFile(local)
	if errors.Is(err, fs.ErrNotExist) {
		//lint:ignore ST1005 Kamal's message, word for word
		return nil, fmt.Errorf("Missing file: %s", local)
	}
	if err != nil {
		return nil, fmt.Errorf("accessory %s: %w", r.acc.Name, err)
	}
	if !strings.HasSuffix(local, ".erb") {
		return data, nil
	}
	env := maps.Clone(r.acc.Env.Clear)
	if env == nil {
		env = map[string]string{}
	}
	for _, ref := range r.acc.Env.Secrets {
		v, err := r.k.Secret(ref.SecretKey())
		if err != nil {
			return nil, fmt.Errorf("accessory %s: %w", r.acc.Name, err)
		}
		env[ref.Name] = v
	}
	lookup := func(key string) (string, bool) {
		if v, ok := env[key]; ok {
			return v, true
		}
		return os.LookupEnv(key)
	}
	abs, _ := filepath.Abs(local)
	out, err := erb.Render(data, erb.Options{
		File: local, Dir: filepath.Dir(abs), LookupEnv: lookup,
		// ERB may set variables; they must not leak into this process.
		SetEnv: func(string, string) {},
	})
	if err != nil {
		return nil, fmt.Errorf("accessory %s: rendering %s: %w", r.acc.Name, local, err)
	}
	return out, nil
}

// Reboot is `kamal accessory reboot NAME|all`: prepare, pull the
// image, stop and remove the container, boot again.
func (k *Accessories) Reboot(ctx context.Context, name string) error {
	return k.accessoryReboot(ctx, name, nil)
}

func (k *Accessories) accessoryReboot(ctx context.Context, name string, scope []string) error {
	return k.eachAccessory(ctx, name, true, scope, func(r *accessoryRun, ctx context.Context) error {
		for _, step := range []func(context.Context) error{r.prepare, r.pullImage, r.stop, r.removeContainer} {
			if err := step(ctx); err != nil {
				return err
			}
		}
		return r.boot(ctx, false)
	})
}

// PullImage is the hidden `accessory pull_image NAME|all`.
func (k *Accessories) PullImage(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).pullImage)
}

func (r *accessoryRun) pullImage(ctx context.Context) error {
	return r.each(ctx, "Pull "+r.acc.Name+" accessory image", r.cmd.PullImage(), false)
}

// each records message (if any) and runs cmd on every host of the run.
func (r *accessoryRun) each(ctx context.Context, message string, cmd commands.Cmd, allowFailure bool) error {
	k := r.k
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		if message != "" {
			if err := k.recordOn(ctx, h, message); err != nil {
				return err
			}
		}
		_, err := k.Exec(ctx, h, cmd, remote.ExecOptions{Severity: remote.Info, AllowFailure: allowFailure})
		return err
	})
}

// Start is `kamal accessory start NAME|all`.
func (k *Accessories) Start(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).start)
}

func (r *accessoryRun) start(ctx context.Context) error {
	k := r.k
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		if err := k.recordOn(ctx, h, "Started "+r.acc.Name+" accessory"); err != nil {
			return err
		}
		if err := k.Execute(ctx, h, r.cmd.Start(), remote.Info); err != nil {
			return err
		}
		return r.proxyDeploy(ctx, h)
	})
}

// Stop is `kamal accessory stop NAME|all`. A stop that fails (no
// container) is not an error, as in Kamal.
func (k *Accessories) Stop(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).stop)
}

func (r *accessoryRun) stop(ctx context.Context) error {
	k := r.k
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		if err := k.recordOn(ctx, h, "Stopped "+r.acc.Name+" accessory"); err != nil {
			return err
		}
		if _, err := k.Exec(ctx, h, r.cmd.Stop(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true}); err != nil {
			return err
		}
		if r.acc.Proxy == nil {
			return nil
		}
		// Kamal fails here when kamal-proxy is gone (as during `kamal
		// remove`, which removes the proxy first); there is nothing to
		// unregister then.
		_, err := k.Exec(ctx, h, r.cmd.ProxyRemove(), remote.ExecOptions{Severity: remote.Info, AllowFailure: true})
		return err
	})
}

// Restart is `kamal accessory restart NAME|all`: stop, then start.
func (k *Accessories) Restart(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, func(r *accessoryRun, ctx context.Context) error {
		if err := r.stop(ctx); err != nil {
			return err
		}
		return r.start(ctx)
	})
}

// Details is `kamal accessory details NAME|all`: `docker ps` of
// the accessory on each of its hosts.
func (k *Accessories) Details(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, false, nil, func(r *accessoryRun, ctx context.Context) error {
		return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
			out, err := k.capture(ctx, h, r.cmd.Info(), remote.Info)
			if err != nil {
				return err
			}
			k.putsByHost("Accessory "+r.acc.Name, h, out)
			return nil
		})
	})
}

// AccessoryExecOptions are the flags of `accessory exec`.
type AccessoryExecOptions struct {
	Interactive bool // -i: a TTY session on the accessory's first host
	Reuse       bool // docker exec in the running container
	Raw         bool // print the bytes of the output only
}

// ExecCommand is `kamal accessory exec NAME CMD...`: cmd (shell text)
// runs in a new container of the accessory's image (with its env, volumes
// and network), or with Reuse in the running one, on each of its hosts;
// Interactive runs it on the first host with a TTY.
func (k *Accessories) ExecCommand(ctx context.Context, name, cmd string, o AccessoryExecOptions) error {
	a, err := k.accessory(name)
	if err != nil {
		return err
	}
	if strings.TrimSpace(cmd) == "" {
		return &ArgumentError{"No command provided. You must specify a command to execute."}
	}
	r := k.accessoryRun(a, nil)
	if len(r.hosts) == 0 {
		return &ArgumentError{fmt.Sprintf("No hosts of accessory %s match the --hosts/--roles filters", name)}
	}
	if o.Interactive {
		host := r.hosts[0]
		if o.Reuse {
			k.Say("Launching interactive command via SSH from existing container...")
			return k.interactive(ctx, host, r.cmd.ExecReuse(cmd, true, true))
		}
		k.Say("Launching interactive command via SSH from new container...")
		if err := k.On(ctx, []string{host}, func(ctx context.Context, h string) error {
			return k.registry.loginOn(ctx, h, k.accessoryRegistry(a))
		}); err != nil {
			return err
		}
		return k.interactive(ctx, host, r.cmd.ExecNew(cmd, true, true))
	}
	run, banner := r.cmd.ExecNew(cmd, false, false), "Launching command from new container..."
	if o.Reuse {
		run, banner = r.cmd.ExecReuse(cmd, false, false), "Launching command from existing container..."
	}
	if !o.Raw {
		k.Say("%s", banner)
	}
	message := fmt.Sprintf("Executed cmd '%s' on %s accessory", cmd, name)
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		if !o.Reuse {
			if err := k.registry.loginOn(ctx, h, k.accessoryRegistry(a)); err != nil {
				return err
			}
		}
		if err := k.recordOn(ctx, h, message); err != nil {
			return err
		}
		res, err := k.Exec(ctx, h, run, remote.ExecOptions{Severity: remote.Info})
		if err != nil {
			return err
		}
		k.putsExecOutput(h, res.Stdout, o.Raw)
		return nil
	})
}

// AccessoryLogsOptions are the flags of `accessory logs`.
type AccessoryLogsOptions struct {
	Since          string
	Lines          int // 0: 100 unless Since or Grep is set (10 with Follow)
	Grep           string
	GrepOptions    string
	Follow         bool
	SkipTimestamps bool
}

// Logs is `kamal accessory logs NAME`: the container's log lines
// on each of its hosts, or with Follow a stream from its first host.
func (k *Accessories) Logs(ctx context.Context, name string, o AccessoryLogsOptions) error {
	a, err := k.accessory(name)
	if err != nil {
		return err
	}
	r := k.accessoryRun(a, nil)
	lo := commands.LogOptions{Since: o.Since, Lines: o.Lines, Grep: o.Grep, GrepOptions: o.GrepOptions, NoTimestamp: o.SkipTimestamps}
	if o.Follow {
		if len(r.hosts) == 0 {
			return &ArgumentError{fmt.Sprintf("No hosts of accessory %s match the --hosts/--roles filters", name)}
		}
		host := r.hosts[0]
		cmd := r.cmd.FollowLogs(lo)
		k.Out.Infof("Following logs on %s...", host)
		k.Out.Infof("%s", cmd.String())
		err := k.interactive(ctx, host, cmd)
		if errors.Is(err, context.Canceled) {
			return nil // Ctrl-C is how a follow ends
		}
		return err
	}
	if lo.Lines <= 0 && o.Since == "" && o.Grep == "" {
		lo.Lines = 100
	}
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		out, err := k.capture(ctx, h, r.cmd.Logs(lo), remote.Info)
		if err != nil {
			return err
		}
		k.Puts(out)
		return nil
	})
}

// Remove is `kamal accessory remove NAME|all` (after the
// confirmation): under the lock, stop, remove the container and the image,
// and delete the uploaded files and data directories.
func (k *Accessories) Remove(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, func(r *accessoryRun, ctx context.Context) error {
		for _, step := range []func(context.Context) error{r.stop, r.removeContainer, r.removeImage, r.removeServiceDirectory} {
			if err := step(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveContainer is the hidden `accessory remove_container NAME|all`.
func (k *Accessories) RemoveContainer(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).removeContainer)
}

func (r *accessoryRun) removeContainer(ctx context.Context) error {
	return r.each(ctx, "Remove "+r.acc.Name+" accessory container", r.cmd.RemoveContainer(), false)
}

// RemoveImage is the hidden `accessory remove_image NAME|all`.
func (k *Accessories) RemoveImage(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).removeImage)
}

func (r *accessoryRun) removeImage(ctx context.Context) error {
	k := r.k
	return k.On(ctx, r.hosts, func(ctx context.Context, h string) error {
		if err := k.recordOn(ctx, h, "Removed "+r.acc.Name+" accessory image"); err != nil {
			return err
		}
		err := k.Execute(ctx, h, r.cmd.RemoveImage(), remote.Info)
		// Two accessories may share an image on a host; the second finds
		// it gone already.
		if err != nil && commandFailedWith(err, "No such image") {
			return nil
		}
		return err
	})
}

// RemoveServiceDirectory is the hidden `accessory
// remove_service_directory NAME|all`.
func (k *Accessories) RemoveServiceDirectory(ctx context.Context, name string) error {
	return k.eachAccessory(ctx, name, true, nil, (*accessoryRun).removeServiceDirectory)
}

func (r *accessoryRun) removeServiceDirectory(ctx context.Context) error {
	return r.each(ctx, "", r.cmd.RemoveServiceDirectory(), false)
}

// AccessoryUpgradeOptions are the flags of `accessory upgrade`.
type AccessoryUpgradeOptions struct {
	Rolling bool // one host at a time
}

// Upgrade is `kamal accessory upgrade NAME|all` (after the
// confirmation): reboot the accessories, which puts containers started
// by Kamal 1 on the kamal network, on all accessory hosts at once or one
// host at a time.
func (k *Accessories) Upgrade(ctx context.Context, name string, o AccessoryUpgradeOptions) error {
	if _, err := k.selectAccessories(name); err != nil {
		return err
	}
	return k.lock.With(ctx, func(ctx context.Context) error {
		hosts := k.allAccessoryHosts()
		groups := rollingGroups(hosts, o.Rolling)
		for _, group := range groups {
			list := strings.Join(group, ",")
			k.Say("Upgrading %s accessories on %s...", name, list)
			if err := k.accessoryReboot(ctx, name, group); err != nil {
				return err
			}
			k.Say("Upgraded %s accessories on %s...", name, list)
		}
		return nil
	})
}
