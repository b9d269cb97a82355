// Package deploy holds kamal's orchestrations. A run is a Session (the
// configuration, the hosts the filters select, output, the SSH pool, hooks,
// whether the lock is held); each concern is a small type that holds the
// session and the few collaborators it needs. Kamal wires them together
// and holds the composite commands (deploy, setup, rollback...). It glues
// the pure builders of internal/commands to the executors of
// internal/remote.
package deploy

import "github.com/kamalgo/kamal/internal/config"

// Kamal is one run: its session and the orchestrations built on it.
type Kamal struct {
	*Session
	Builder     *Builder
	Booter      *Booter
	Proxy       *Proxy
	Lock        *Lock
	Registry    *Registry
	Apps        *Apps
	Accessories *Accessories
	Pruner      *Pruner
	Servers     *Servers
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
		Builder:     &Builder{Session: s, registry: registry},
		Booter:      &Booter{Session: s, lock: lock, proxy: proxy},
		Proxy:       proxy,
		Lock:        lock,
		Registry:    registry,
		Apps:        &Apps{Session: s, lock: lock, proxy: proxy, registry: registry},
		Accessories: &Accessories{Session: s, lock: lock, registry: registry},
		Pruner:      &Pruner{Session: s, lock: lock},
		Servers:     &Servers{Session: s, lock: lock},
	}, nil
}
