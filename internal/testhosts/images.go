package testhosts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// ImageSpec describes a test image built FROM scratch around one of the
// programs in internal/testhosts/images.
type ImageSpec struct {
	Program    string            // directory under images/: app, app-unhealthy, app-slow, app-noterm, accessory, app-assets, app-health
	Repository string            // repository in the registry (default: Program)
	Tag        string            // default "latest"
	Service    string            // value of the `service` label (default: Repository's last element)
	Version    string            // baked in as ENV VERSION, shown by "/" (default: Tag)
	Labels     map[string]string // extra labels
	Env        map[string]string // extra ENV lines (e.g. BOOT_DELAY, PORT)
}

// Programs are the image programs BuildImage knows.
var Programs = []string{"app", "app-unhealthy", "app-slow", "app-noterm", "accessory", "app-assets", "app-health"}

// programSteps are extra Dockerfile steps of some programs, after the ENV
// lines. The exec form of RUN needs no shell in a FROM scratch image.
var programSteps = map[string]string{
	"app-assets": "RUN [\"/app\", \"seed-assets\"]\n", // writes /public/assets for asset_path
	// Docker health: GET /up every second; Env UNHEALTHY=1 makes it fail.
	"app-health": "HEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD [\"/app\", \"healthcheck\"]\n",
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9]+(?:[._/-][a-z0-9]+)*$`)
	tagRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	labelRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

func (s *ImageSpec) normalize() error {
	known := false
	for _, p := range Programs {
		known = known || p == s.Program
	}
	if !known {
		return fmt.Errorf("testhosts: unknown image program %q (known: %s)", s.Program, strings.Join(Programs, ", "))
	}
	if s.Repository == "" {
		s.Repository = s.Program
	}
	if s.Tag == "" {
		s.Tag = "latest"
	}
	if s.Service == "" {
		s.Service = s.Repository[strings.LastIndex(s.Repository, "/")+1:]
	}
	if s.Version == "" {
		s.Version = s.Tag
	}
	if !nameRE.MatchString(s.Repository) {
		return fmt.Errorf("testhosts: invalid repository %q", s.Repository)
	}
	if !tagRE.MatchString(s.Tag) {
		return fmt.Errorf("testhosts: invalid tag %q", s.Tag)
	}
	for k := range s.Labels {
		if !labelRE.MatchString(k) {
			return fmt.Errorf("testhosts: invalid label key %q", k)
		}
	}
	for k := range s.Env {
		if !labelRE.MatchString(k) {
			return fmt.Errorf("testhosts: invalid env key %q", k)
		}
	}
	return nil
}

// dockerfile renders the image's Dockerfile. Values are JSON-quoted, which
// the Dockerfile parser accepts for LABEL and ENV.
func (s ImageSpec) dockerfile() string {
	var b strings.Builder
	b.WriteString("FROM scratch\nCOPY app /app\n")
	fmt.Fprintf(&b, "ENV VERSION=%s\n", strconv.Quote(s.Version))
	for _, k := range sortedKeys(s.Env) {
		fmt.Fprintf(&b, "ENV %s=%s\n", k, strconv.Quote(s.Env[k]))
	}
	b.WriteString(programSteps[s.Program])
	fmt.Fprintf(&b, "LABEL service=%s\n", strconv.Quote(s.Service))
	for _, k := range sortedKeys(s.Labels) {
		fmt.Fprintf(&b, "LABEL %s=%s\n", k, strconv.Quote(s.Labels[k]))
	}
	b.WriteString("EXPOSE 80\nENTRYPOINT [\"/app\"]\n")
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// BuildImage builds spec's program as a static binary, wraps it in a
// FROM scratch image on the deployer's daemon and pushes it to the
// registry. It returns the pushed reference (10.77.0.1:5000/app:v1).
func (e *Env) BuildImage(ctx context.Context, spec ImageSpec) (string, error) {
	if err := spec.normalize(); err != nil {
		return "", err
	}
	ref := e.Registry + "/" + spec.Repository + ":" + spec.Tag

	e.buildMu.Lock()
	defer e.buildMu.Unlock()
	bin, err := e.buildProgram(ctx, spec.Program)
	if err != nil {
		return "", err
	}
	if err := e.loginDeployer(ctx); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(filepath.Join(e.Dir, "build"), "image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.Link(bin, filepath.Join(dir, "app")); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(spec.dockerfile()), 0o644); err != nil {
		return "", err
	}
	// The classic builder needs no buildx plugin and handles FROM scratch.
	env := append(e.DeployerEnv(), "DOCKER_BUILDKIT=0")
	if _, err := run(ctx, env, "docker", "build", "-q", "-t", ref, dir); err != nil {
		return "", fmt.Errorf("testhosts: building %s: %w", ref, err)
	}
	if _, err := run(ctx, env, "docker", "push", ref); err != nil {
		return "", fmt.Errorf("testhosts: pushing %s: %w", ref, err)
	}
	return ref, nil
}

// buildProgram returns the static binary of an image program. The first
// call compiles every program in one go command, which links them in
// parallel; later calls reuse the binaries.
func (e *Env) buildProgram(ctx context.Context, program string) (string, error) {
	if bin, ok := e.binaries[program]; ok {
		return bin, nil
	}
	src, err := imagesDir()
	if err != nil {
		return "", err
	}
	binDir := filepath.Join(e.Dir, "build", "bin")
	if err := os.MkdirAll(binDir, 0o700); err != nil {
		return "", err
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", binDir + "/"}
	for _, p := range Programs {
		args = append(args, "./"+p)
	}
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = src
	cmd.Env = append(cleanEnv(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testhosts: compiling the image programs: %w\n%s", err, out)
	}
	for _, p := range Programs {
		e.binaries[p] = filepath.Join(binDir, p)
	}
	return e.binaries[program], nil
}

func (e *Env) loginDeployer(ctx context.Context) error {
	if e.loggedIn || e.RegistryUser == "" {
		return nil
	}
	cmd := exec.CommandContext(ctx, "docker", "login", "-u", e.RegistryUser, "--password-stdin", e.Registry)
	cmd.Env = append(cleanEnv(), e.DeployerEnv()...)
	cmd.Stdin = strings.NewReader(e.RegistryPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testhosts: docker login %s on the deployer: %w: %s", e.Registry, err, tail(string(out), 5))
	}
	e.loggedIn = true
	return nil
}

// imagesDir locates the image programs in the source tree this package
// was compiled from (tests and `go run` always have it).
func imagesDir() (string, error) {
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "images"))
	}
	// Built with -trimpath: look for the module root above the working directory.
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				candidates = append(candidates, filepath.Join(d, "internal", "testhosts", "images"))
				break
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "app", "main.go")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("testhosts: image programs not found (looked in %s)", strings.Join(candidates, ", "))
}

// goTool finds the go command: PATH first, then the toolchain that built us.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	//lint:ignore SA1019 test hosts run where they were built (go test, go run), so the build's GOROOT is this machine's
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
