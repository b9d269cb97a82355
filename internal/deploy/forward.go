package deploy

import (
	"context"
	"fmt"
	"strconv"
	"sync"
)

// portForwarder is the SSH pool's remote port forwarding (ssh -R).
type portForwarder interface {
	ForwardRemotePort(ctx context.Context, host string, port int, localAddr string) (func(), error)
}

// withLocalRegistryForward runs fn with the local registry's port
// forwarded from each host's localhost to this machine, so hosts pull
// `localhost:<port>/…` from the deployer (Kamal's port_forwarding.rb). It
// just runs fn when the registry is not a local one.
func (k *Registry) withLocalRegistryForward(ctx context.Context, hosts []string, fn func() error) error {
	if !k.Config.Registry.Local || len(hosts) == 0 {
		return fn()
	}
	x, err := k.connect(ctx)
	if err != nil {
		return err
	}
	f, ok := x.(portForwarder)
	if !ok {
		return fmt.Errorf("a local registry (%s) needs SSH remote port forwarding, which this executor does not support", k.Config.Registry.Server)
	}
	port := k.Config.Registry.LocalPort
	local := "127.0.0.1:" + strconv.Itoa(port)
	var mu sync.Mutex
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	err = k.On(ctx, hosts, func(ctx context.Context, h string) error {
		stop, err := f.ForwardRemotePort(ctx, h, port, local)
		if err != nil {
			return err
		}
		mu.Lock()
		stops = append(stops, stop)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	return fn()
}
