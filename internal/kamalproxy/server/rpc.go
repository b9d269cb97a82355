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

// CommandHandler exposes the router over net/rpc.
type CommandHandler struct{ router *Router }

func (h *CommandHandler) Deploy(a DeployArgs, reply *bool) error {
	err := h.router.Deploy(a.Service, a.TargetURLs, a.ReaderURLs, a.DeploymentOptions, a.ServiceOptions, a.TargetOptions)
	*reply = err == nil
	return err
}

func (h *CommandHandler) Remove(a RemoveArgs, reply *bool) error {
	err := h.router.Remove(a.Service)
	*reply = err == nil
	return err
}

func (h *CommandHandler) Pause(a PauseArgs, reply *bool) error {
	err := h.router.Pause(a.Service, a.DrainTimeout, a.PauseTimeout)
	*reply = err == nil
	return err
}

func (h *CommandHandler) Stop(a StopArgs, reply *bool) error {
	err := h.router.Stop(a.Service, a.DrainTimeout, a.Message)
	*reply = err == nil
	return err
}

func (h *CommandHandler) Resume(a ResumeArgs, reply *bool) error {
	err := h.router.Resume(a.Service)
	*reply = err == nil
	return err
}

func (h *CommandHandler) List(_ bool, reply *ListResponse) error {
	reply.Targets = h.router.List()
	return nil
}

func (h *CommandHandler) RolloutDeploy(a RolloutDeployArgs, reply *bool) error {
	err := h.router.RolloutDeploy(a.Service, a.TargetURLs, a.ReaderURLs, a.DeploymentOptions)
	*reply = err == nil
	return err
}

func (h *CommandHandler) RolloutSet(a RolloutSetArgs, reply *bool) error {
	err := h.router.RolloutSet(a.Service, a.Percentage, a.Allowlist)
	*reply = err == nil
	return err
}

func (h *CommandHandler) RolloutStop(a RolloutStopArgs, reply *bool) error {
	err := h.router.RolloutStop(a.Service)
	*reply = err == nil
	return err
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

func listenRPC(path string, router *Router) (net.Listener, error) {
	srv := rpc.NewServer()
	if err := srv.RegisterName(RPCServiceName, &CommandHandler{router: router}); err != nil {
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
