package server

import (
	"errors"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"time"
)

// RPCServiceName is the net/rpc service name; together with the argument
// field names below it keeps the wire format of the reference CLI.
const RPCServiceName = "kamal-proxy"

// DeployArgs are the arguments of kamal-proxy.Deploy.
type DeployArgs struct {
	Service           string
	TargetURLs        []string
	ReaderURLs        []string
	DeploymentOptions DeploymentOptions
	ServiceOptions    ServiceOptions
	TargetOptions     TargetOptions
}

// RemoveArgs are the arguments of kamal-proxy.Remove.
type RemoveArgs struct{ Service string }

// PauseArgs are the arguments of kamal-proxy.Pause.
type PauseArgs struct {
	Service      string
	DrainTimeout time.Duration
	PauseTimeout time.Duration
}

// StopArgs are the arguments of kamal-proxy.Stop.
type StopArgs struct {
	Service      string
	DrainTimeout time.Duration
	Message      string
}

// ResumeArgs are the arguments of kamal-proxy.Resume.
type ResumeArgs struct{ Service string }

// ListResponse is the reply of kamal-proxy.List.
type ListResponse struct {
	Targets map[string]ServiceDescription
}

// RolloutDeployArgs are the arguments of kamal-proxy.RolloutDeploy.
type RolloutDeployArgs struct {
	Service           string
	TargetURLs        []string
	ReaderURLs        []string
	DeploymentOptions DeploymentOptions
}

// RolloutSetArgs are the arguments of kamal-proxy.RolloutSet.
type RolloutSetArgs struct {
	Service    string
	Percentage int
	Allowlist  []string
}

// RolloutStopArgs are the arguments of kamal-proxy.RolloutStop.
type RolloutStopArgs struct{ Service string }

// CommandHandler exposes the router over net/rpc. Commands that change
// routing pass its gate.
type CommandHandler struct {
	router *Router
	gate   *commandGate
}

// change runs a command that changes routing through the gate.
func (h *CommandHandler) change(reply *bool, f func() error) error {
	if err := h.gate.enter(); err != nil {
		*reply = false
		return err
	}
	defer h.gate.leave()
	err := f()
	*reply = err == nil
	return err
}

func (h *CommandHandler) Deploy(a DeployArgs, reply *bool) error {
	return h.change(reply, func() error {
		return h.router.Deploy(a.Service, a.TargetURLs, a.ReaderURLs, a.DeploymentOptions, a.ServiceOptions, a.TargetOptions)
	})
}

func (h *CommandHandler) Remove(a RemoveArgs, reply *bool) error {
	return h.change(reply, func() error { return h.router.Remove(a.Service) })
}

func (h *CommandHandler) Pause(a PauseArgs, reply *bool) error {
	return h.change(reply, func() error { return h.router.Pause(a.Service, a.DrainTimeout, a.PauseTimeout) })
}

func (h *CommandHandler) Stop(a StopArgs, reply *bool) error {
	return h.change(reply, func() error { return h.router.Stop(a.Service, a.DrainTimeout, a.Message) })
}

func (h *CommandHandler) Resume(a ResumeArgs, reply *bool) error {
	return h.change(reply, func() error { return h.router.Resume(a.Service) })
}

func (h *CommandHandler) List(_ bool, reply *ListResponse) error {
	reply.Targets = h.router.List()
	return nil
}

func (h *CommandHandler) RolloutDeploy(a RolloutDeployArgs, reply *bool) error {
	return h.change(reply, func() error {
		return h.router.RolloutDeploy(a.Service, a.TargetURLs, a.ReaderURLs, a.DeploymentOptions)
	})
}

func (h *CommandHandler) RolloutSet(a RolloutSetArgs, reply *bool) error {
	return h.change(reply, func() error { return h.router.RolloutSet(a.Service, a.Percentage, a.Allowlist) })
}

func (h *CommandHandler) RolloutStop(a RolloutStopArgs, reply *bool) error {
	return h.change(reply, func() error { return h.router.RolloutStop(a.Service) })
}

// SocketPath follows the reference: $KAMAL_PROXY_SOCKET, else
// $XDG_RUNTIME_DIR/kamal-proxy.sock, else <tmp>/kamal-proxy.sock.
func SocketPath() string {
	if p := os.Getenv("KAMAL_PROXY_SOCKET"); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "kamal-proxy.sock")
	}
	return filepath.Join(os.TempDir(), "kamal-proxy.sock")
}

func listenRPC(path string, router *Router, gate *commandGate) (net.Listener, error) {
	srv := rpc.NewServer()
	if err := srv.RegisterName(RPCServiceName, &CommandHandler{router: router, gate: gate}); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	_ = os.Chmod(path, 0o600)
	go func() {
		// Our own loop: rpc.Server.Accept logs when the listener closes.
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(conn)
		}
	}()
	return ln, nil
}

// Call makes one RPC call to a running proxy.
func Call(socket, method string, args, reply any) error {
	c, err := rpc.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(RPCServiceName+"."+method, args, reply)
}
