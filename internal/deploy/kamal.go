// Package deploy holds kamal's orchestrations. A run is a Session (the
// configuration, the hosts the filters select, output, the SSH pool, hooks,
// whether the lock is held); each concern is a small type that holds the
// session and the few collaborators it needs. Kamal wires them together
// and holds the composite commands (deploy, setup, rollback...). It glues
// the pure builders of internal/commands to the executors of
// internal/remote.
package deploy

import "github.com/kamalgo/kamal/internal/config"

// Kamal is one run: its session and the orchestrations built on it. The
// commands that span several concerns (deploy, setup, rollback, remove,
// details, upgrade) are its own methods; the others live on its parts.
type Kamal struct {
	*Session
	Lock        *Lock        // the deploy lock (lock.go)
	Registry    *Registry    // registry logins, local registry (registry.go, forward.go)
	Builder     *Builder     // image build, push and pull (build.go, clone.go)
	Proxy       *Proxy       // kamal-proxy on the hosts (proxy.go)
	Booter      *Booter      // the app boot, per host and role (boot.go)
	Apps        *Apps        // the other app commands (apps.go)
	Accessories *Accessories // accessories (accessory.go)
	Pruner      *Pruner      // pruning (prune.go)
	Servers     *Servers     // exec and bootstrap on the hosts (server.go)
}

// New prepares a run. It applies the filters (failing with Kamal's `No
// --hosts match for x` errors) but opens no connection.
func New(cfg *config.Config, opts Options) (*Kamal, error) {
	s, err := newSession(cfg, opts)
	if err != nil {
		return nil, err
	}
	lock := &Lock{Session: s}
	registry := &Registry{Session: s}
	proxy := &Proxy{Session: s, lock: lock, registry: registry}
	return &Kamal{
		Session:     s,
		Lock:        lock,
		Registry:    registry,
		Builder:     &Builder{Session: s, registry: registry},
		Proxy:       proxy,
		Booter:      &Booter{Session: s, lock: lock, proxy: proxy},
		Apps:        &Apps{Session: s, lock: lock, proxy: proxy, registry: registry},
		Accessories: &Accessories{Session: s, lock: lock, registry: registry},
		Pruner:      &Pruner{Session: s, lock: lock},
		Servers:     &Servers{Session: s, lock: lock},
	}, nil
}
