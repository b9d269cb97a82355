package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// StateFileName is the file inside the state directory.
const StateFileName = "kamal-proxy.state"

func stateFile(dir string) string { return filepath.Join(dir, StateFileName) }

type serviceState struct {
	Name              string             `json:"name"`
	Options           ServiceOptions     `json:"options"`
	TargetOptions     TargetOptions      `json:"target_options"`
	ActiveTargets     []string           `json:"active_targets"`
	ActiveReaders     []string           `json:"active_readers"`
	RolloutTargets    []string           `json:"rollout_targets"`
	RolloutReaders    []string           `json:"rollout_readers"`
	PauseController   *PauseController   `json:"pause_controller"`
	RolloutController *RolloutController `json:"rollout_controller"`

	// Keys written by older versions, read only.
	LegacyActiveTarget  string   `json:"active_target,omitempty"`
	LegacyRolloutTarget string   `json:"rollout_target,omitempty"`
	LegacyHosts         []string `json:"hosts,omitempty"`
	LegacyPathPrefixes  []string `json:"path_prefixes,omitempty"`
}

// state is what the state file holds for the service: a service that failed
// to restore is written back as it was read.
func (s *Service) state() any {
	if f := s.failure.Load(); f != nil {
		if f.raw != nil {
			return f.raw
		}
		st := f.saved
		st.PauseController = s.pause
		return st
	}
	so, to, active, rollout, rctl, _, _ := s.snapshot()
	st := serviceState{
		Name: s.name, Options: so, TargetOptions: to,
		ActiveTargets: active.WriterNames(), ActiveReaders: active.ReaderNames(),
		PauseController: s.pause,
	}
	if rollout != nil {
		st.RolloutTargets, st.RolloutReaders = rollout.WriterNames(), rollout.ReaderNames()
	}
	if rctl != nil {
		c := *rctl
		st.RolloutController = &c
	}
	return st
}

// MarshalState renders the state file contents.
func (r *Router) MarshalState() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.marshalLocked()
}

func (r *Router) marshalLocked() ([]byte, error) {
	names := make([]string, 0, len(r.services))
	for n := range r.services {
		names = append(names, n)
	}
	sort.Strings(names)
	list := make([]any, 0, len(names))
	for _, n := range names {
		list = append(list, r.services[n].state())
	}
	return json.Marshal(list)
}

func (r *Router) save() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saveLocked()
}

// saveLocked writes the state atomically (temp file, fsync, rename) so a
// crash never leaves a half-written file.
func (r *Router) saveLocked() {
	if r.statePath == "" {
		return
	}
	if err := r.writeState(); err != nil {
		r.log.Error("Unable to save state", "path", r.statePath, "error", err)
	}
}

func (r *Router) writeState() error {
	data, err := r.marshalLocked()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.statePath), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.statePath), StateFileName+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), r.statePath)
}

// RestoreState loads the state file. A missing file is fine; one that is
// not a JSON list of services is renamed aside so it can be inspected, and
// the proxy starts empty. A service that cannot be restored (its error pages
// or certificate are gone, say) is kept as unavailable: it answers 503, shows
// its error in `list`, and is saved back unchanged, while every other service
// routes normally.
func (r *Router) RestoreState() error {
	if r.statePath == "" {
		return nil
	}
	data, err := os.ReadFile(r.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		r.log.Info("No previous state to restore", "path", r.statePath)
		return nil
	}
	if err != nil {
		r.log.Error("Unable to read state", "path", r.statePath, "error", err)
		return err
	}
	services, err := r.decodeState(data)
	if err != nil {
		aside := fmt.Sprintf("%s.corrupt-%s", r.statePath, time.Now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(r.statePath, aside); rerr != nil {
			r.log.Error("Unable to move corrupt state aside", "path", r.statePath, "error", rerr)
		}
		r.log.Error("Corrupt state file moved aside; starting empty", "path", r.statePath, "moved_to", aside, "error", err)
		return err
	}
	r.mu.Lock()
	for _, svc := range services {
		r.services[svc.name] = svc
	}
	r.rebuild()
	r.mu.Unlock()
	for _, svc := range services {
		svc.startCerts()
	}
	r.log.Info("Restored saved state", "path", r.statePath, "services", len(services))
	return nil
}

func (r *Router) decodeState(data []byte) ([]*Service, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, err
	}
	var out []*Service
	seen := map[string]bool{}
	for _, raw := range entries {
		// A value of the wrong type fails only its own entry; the decoder
		// still fills in the rest of it, enough to keep its routes.
		var st serviceState
		decodeErr := json.Unmarshal(raw, &st)
		st.readLegacyKeys()
		if st.Name == "" || seen[st.Name] {
			r.log.Error("Skipping a saved service without a unique name", "path", r.statePath, "service", st.Name)
			continue
		}
		seen[st.Name] = true
		st.Options.Normalize()
		r.fillACMECachePath(&st.Options)
		var svc *Service
		err := decodeErr
		if err == nil {
			svc, err = r.restoreService(st)
		}
		if err != nil {
			r.log.Error("Unable to restore service; it answers 503 until deployed again", "service", st.Name, "error", err)
			f := &restoreFailure{err: err, saved: st}
			if decodeErr != nil {
				f.raw = raw
			}
			svc = r.unavailableService(st, f)
		}
		out = append(out, svc)
	}
	// Only start probing once every entry was read.
	for _, svc := range out {
		for _, p := range []*Pool{svc.active, svc.rollout} {
			if p != nil {
				p.MarkAllHealthy()
				p.StartHealthChecks()
			}
		}
	}
	return out, nil
}

func (st *serviceState) readLegacyKeys() {
	if len(st.ActiveTargets) == 0 && st.LegacyActiveTarget != "" {
		st.ActiveTargets = []string{st.LegacyActiveTarget}
	}
	if len(st.RolloutTargets) == 0 && st.LegacyRolloutTarget != "" {
		st.RolloutTargets = []string{st.LegacyRolloutTarget}
	}
	if len(st.Options.Hosts) == 0 && len(st.LegacyHosts) > 0 {
		st.Options.Hosts = st.LegacyHosts
	}
	if len(st.Options.PathPrefixes) == 0 && len(st.LegacyPathPrefixes) > 0 {
		st.Options.PathPrefixes = st.LegacyPathPrefixes
	}
}

// restoreService rebuilds one saved service; on error nothing of it runs.
func (r *Router) restoreService(st serviceState) (*Service, error) {
	if len(st.ActiveTargets) == 0 {
		return nil, errors.New("no active targets saved")
	}
	svc := r.newService(st.Name, st.PauseController)
	if err := svc.configure(st.Options, st.TargetOptions, r.stateDir); err != nil {
		return nil, describeResourceError(err, st.Options)
	}
	active, err := NewPool(st.ActiveTargets, st.ActiveReaders, st.Options, st.TargetOptions, r.log)
	if err != nil {
		svc.dispose()
		return nil, err
	}
	svc.active = active
	if len(st.RolloutTargets) > 0 {
		rp, err := NewPool(st.RolloutTargets, st.RolloutReaders, st.Options, st.TargetOptions, r.log)
		if err != nil {
			svc.dispose()
			return nil, err
		}
		svc.rollout = rp
		if c := st.RolloutController; c != nil {
			svc.rolloutCtl = newRolloutController(c.Percentage, c.Allowlist)
		}
	}
	return svc, nil
}

// describeResourceError names the file behind a configure error; deploy
// keeps the short messages, which are part of the command line's contract.
func describeResourceError(err error, so ServiceOptions) error {
	switch {
	case errors.Is(err, ErrUnableToLoadErrorPages):
		return fmt.Errorf("%w from %s", err, so.ErrorPagePath)
	case errors.Is(err, ErrUnableToLoadCertificate):
		return fmt.Errorf("%w from %s and %s", err, so.TLSCertificatePath, so.TLSPrivateKeyPath)
	}
	return err
}

// unavailableService keeps a service that failed to restore: its routes stay
// bound (answering 503, not falling through to another service) and its saved
// entry is written back as it was, so a fix of the missing file and a restart,
// or a new deploy, brings it back.
func (r *Router) unavailableService(st serviceState, f *restoreFailure) *Service {
	svc := r.newService(st.Name, st.PauseController)
	svc.options, svc.targetOptions = st.Options, st.TargetOptions
	svc.failure.Store(f)
	return svc
}

// restoreFailure is why a service is unavailable, and what was saved for it.
type restoreFailure struct {
	err   error
	saved serviceState
	raw   json.RawMessage // the entry as read, when it did not decode
}
