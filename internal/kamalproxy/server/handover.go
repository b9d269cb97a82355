package server

// Hand-over: a new kamal-proxy takes the traffic sockets of the running one
// without closing them, so that a reboot drops no connection.
//
// Docker publishes a container's ports by forwarding them to that
// container's network namespace, and a port can belong to one container
// only. A reboot therefore starts the new proxy in the network namespace of
// the container that publishes the ports (docker run --network
// container:<id>). There the two processes meet on an abstract Unix socket
// named after their state directory (the shared kamal-proxy-config volume):
//
//	new -> old  hello (protocol version)
//	old -> new  listeners, with the socket descriptors (SCM_RIGHTS); from
//	            here on the old one refuses routing changes, and its state
//	            file is complete
//	new -> old  ready: state restored, servers built
//	old -> new  stopped: the old one accepts no more connections (they wait
//	            in the sockets' queues)
//	new -> old  serving: the new one accepts
//	old -> new  done
//
// If the conversation breaks before "serving" (the new process died), the
// old one serves again on the same sockets and accepts routing changes.
// After it, the old one lets its requests finish. Then, if it opened the
// sockets itself (its container publishes the ports), it holds them: it
// stays as a small process that keeps the container, and so the published
// ports, alive; it hands the sockets to a successor that restarts (no
// running proxy to take over from), and it exits when the proxy it serves
// is stopped for good and asks it to release the ports. A process that got
// its sockets handed over exits once its requests are done.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// HandoverProtocol is the version of the hand-over conversation. The proxy
// image announces it in the HandoverLabel label so that kamal knows, before
// running a container, whether its proxies can hand over.
const HandoverProtocol = 1

// HandoverLabel is the image label that carries HandoverProtocol.
const HandoverLabel = "com.github.kamalgo.kamal-proxy.handover"

// HandoverConfig tunes the hand-over of the traffic sockets.
type HandoverConfig struct {
	// Pause holds a successor after the old process stopped accepting and
	// before it accepts itself. A test aid: connections wait in the
	// sockets' queues meanwhile.
	Pause time.Duration
	// ReleaseGrace is how long a holder asked to release the ports first
	// waits for a stop signal of its own. When Docker stops every
	// container at once (daemon shutdown), the holder must exit with the
	// status that makes Docker start it again at boot, not release.
	ReleaseGrace time.Duration
	// TeardownWait is how long a stopping proxy whose sockets are held
	// waits, once the holder exited, until its network namespace lost its
	// interfaces: Docker unpublishes the ports before it removes them, so
	// a new container can publish them as soon as the stop returns. Zero:
	// no wait (outside containers).
	TeardownWait time.Duration
}

// ErrStoppedWhileHolding is what Stop returns when the process held the
// published ports for a successor: a non-zero exit status makes Docker
// (restart policy on-failure) start it again at boot.
var ErrStoppedWhileHolding = errors.New("stopped while holding the published ports for a newer kamal-proxy")

// Message types of the conversation.
const (
	msgHello     = "hello"
	msgListeners = "listeners"
	msgRefused   = "refused"
	msgReady     = "ready"
	msgStopped   = "stopped"
	msgServing   = "serving"
	msgDone      = "done"
	msgRelease   = "release"
	msgReleasing = "releasing"
)

type handoverMsg struct {
	Type     string   `json:"type"`
	Protocol int      `json:"protocol,omitempty"`
	Version  string   `json:"version,omitempty"`
	Names    []string `json:"names,omitempty"` // of the attached descriptors, in order
	Reason   string   `json:"reason,omitempty"`
}

// Time limits of the conversation. Restoring state and certificates takes
// the new process a moment; the old one waits for running commands before
// it answers hello.
const (
	helloTimeout     = 10 * time.Second
	freezeTimeout    = time.Minute
	takeoverTimeout  = 2 * time.Minute
	releaseTimeout   = 10 * time.Second
	maxHandoverBytes = 4096
	maxHandoverFiles = 8
)

// role is where a process is in its life as a proxy.
type role int

const (
	roleServing     role = iota // accepting traffic
	roleHandingOver             // a successor is taking over
	roleHandedOver              // finishing requests after a hand-over
	roleHolding                 // holding the published ports for successors
	roleStopped
)

// handoverState is the hand-over side of a Server.
type handoverState struct {
	mu       sync.Mutex
	role     role
	owner    bool          // this process opened the traffic sockets
	ln       net.Listener  // successors connect here while serving
	holderLn net.Listener  // while holding
	settled  chan struct{} // closed when a hand-over in progress ends
	after    chan struct{} // closed when the process held or finished after a hand-over
	stopping chan struct{} // closed by Stop
	stopOnce sync.Once
	done     chan struct{} // closed when the process has nothing left to do
	doneOnce sync.Once
}

func (h *handoverState) init() {
	h.stopping = make(chan struct{})
	h.done = make(chan struct{})
}

func (h *handoverState) finish() { h.doneOnce.Do(func() { close(h.done) }) }

// Done is closed when the process has nothing left to do: it handed its
// traffic over and its requests are done, or it held the ports and was
// asked to release them.
func (s *Server) Done() <-chan struct{} { return s.ho.done }

// rendezvous is the abstract socket where processes of one state directory
// meet ("" without a state directory: no hand-over).
func (s *Server) rendezvous(kind string) string {
	if s.cfg.StateDir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s.cfg.StateDir))
	return "@kamal-proxy/" + hex.EncodeToString(sum[:8]) + "/" + kind
}

func listenPacket(addr string) (*net.UnixListener, error) {
	return net.ListenUnix("unixpacket", &net.UnixAddr{Name: addr, Net: "unixpacket"})
}

func dialPacket(addr string) (*net.UnixConn, error) {
	return net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: addr, Net: "unixpacket"})
}

// send writes one message, with descriptors attached.
func send(c *net.UnixConn, m handoverMsg, files ...*os.File) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		fds, err := descriptors(files)
		if err != nil {
			return err
		}
		oob = syscall.UnixRights(fds...)
	}
	_, _, err = c.WriteMsgUnix(b, oob, nil)
	return err
}

// descriptors are the files' descriptor numbers. Not File.Fd: it would put
// the sockets, shared with the servers accepting on them, in blocking mode.
func descriptors(files []*os.File) ([]int, error) {
	fds := make([]int, 0, len(files))
	for _, f := range files {
		rc, err := f.SyscallConn()
		if err != nil {
			return nil, err
		}
		if err := rc.Control(func(fd uintptr) { fds = append(fds, int(fd)) }); err != nil {
			return nil, err
		}
	}
	return fds, nil
}

// recv reads one message and the descriptors attached to it.
func recv(c *net.UnixConn, timeout time.Duration) (handoverMsg, []*os.File, error) {
	var m handoverMsg
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return m, nil, err
	}
	buf := make([]byte, maxHandoverBytes)
	oob := make([]byte, syscall.CmsgSpace(4*maxHandoverFiles))
	n, oobn, flags, _, err := c.ReadMsgUnix(buf, oob)
	var files []*os.File
	if oobn > 0 {
		cmsgs, perr := syscall.ParseSocketControlMessage(oob[:oobn])
		if perr != nil && err == nil {
			err = perr
		}
		for _, cm := range cmsgs {
			fds, _ := syscall.ParseUnixRights(&cm)
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), "handed-over socket"))
			}
		}
	}
	switch {
	case err != nil:
	case n == 0:
		err = io.EOF
	case flags&(syscall.MSG_TRUNC|syscall.MSG_CTRUNC) != 0:
		err = errors.New("hand-over message truncated")
	default:
		err = json.Unmarshal(buf[:n], &m)
	}
	if err != nil {
		closeFiles(files)
		return m, nil, err
	}
	return m, files, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// expect reads the next message and fails unless it has type want.
func expect(c *net.UnixConn, want string, timeout time.Duration) (handoverMsg, []*os.File, error) {
	m, files, err := recv(c, timeout)
	if err != nil {
		return m, nil, err
	}
	if m.Type == want {
		return m, files, nil
	}
	closeFiles(files)
	if m.Type == msgRefused {
		return m, nil, fmt.Errorf("refused: %s", m.Reason)
	}
	return m, nil, fmt.Errorf("got %q, want %q", m.Type, want)
}

// adopt reads the sockets of a listeners message, restores the state (the
// process they come from changes no route any more: its state file is the
// whole state) and makes the sockets this server's.
func (s *Server) adopt(c *net.UnixConn, timeout time.Duration) error {
	m, files, err := expect(c, msgListeners, timeout)
	if err != nil {
		return err
	}
	inherited, err := named(m.Names, files)
	if err != nil {
		return err
	}
	_ = s.Router.RestoreState()
	return s.openListeners(inherited)
}

// sendSockets sends a listeners message with the traffic sockets.
func (s *Server) sendSockets(c *net.UnixConn) error {
	names := s.socks.names()
	files := make([]*os.File, len(names))
	for i, n := range names {
		files[i] = s.socks[n]
	}
	return send(c, handoverMsg{Type: msgListeners, Names: names}, files...)
}

// named pairs the descriptors of a listeners message with their names.
func named(m []string, files []*os.File) (sockets, error) {
	if len(m) != len(files) {
		closeFiles(files)
		return nil, fmt.Errorf("%d socket names for %d descriptors", len(m), len(files))
	}
	ss := sockets{}
	for i, name := range m {
		ss[name] = files[i]
	}
	return ss, nil
}

// takeOver looks for a proxy of the same state directory in this network
// namespace. With a running one it takes the traffic over; with a holder
// only (the previous successor died) it takes the held sockets. Either way
// it restores the state and serves, and reports true. Nobody there: false.
func (s *Server) takeOver() (bool, error) {
	addr := s.rendezvous("handover")
	if addr == "" {
		return false, nil
	}
	if c, err := dialPacket(addr); err == nil {
		defer c.Close()
		if err := s.takeOverFrom(c); err != nil {
			return false, fmt.Errorf("taking over from the running kamal-proxy: %w", err)
		}
		return true, nil
	}
	if c, err := dialPacket(s.rendezvous("holder")); err == nil {
		defer c.Close()
		if err := s.takeHeld(c); err != nil {
			return false, fmt.Errorf("taking the sockets held for kamal-proxy: %w", err)
		}
		return true, nil
	}
	return false, nil
}

func (s *Server) takeOverFrom(c *net.UnixConn) error {
	s.log.Info("Taking over the traffic from the running kamal-proxy")
	if err := send(c, handoverMsg{Type: msgHello, Protocol: HandoverProtocol, Version: s.cfg.Version}); err != nil {
		return err
	}
	if err := s.adopt(c, takeoverTimeout); err != nil {
		return err
	}
	t, err := s.newTraffic()
	if err != nil {
		s.socks.close()
		return err
	}
	abort := func(err error) error {
		t.stopAccepting(time.Now(), s.log)
		s.socks.close()
		return err
	}
	if err := send(c, handoverMsg{Type: msgReady}); err != nil {
		return abort(err)
	}
	if _, _, err := expect(c, msgStopped, takeoverTimeout); err != nil {
		return abort(err)
	}
	if s.cfg.Handover.Pause > 0 {
		s.log.Info("Pausing the hand-over", "pause", s.cfg.Handover.Pause.String())
		time.Sleep(s.cfg.Handover.Pause)
	}
	t.start(s.log)
	s.traffic = t
	if err := send(c, handoverMsg{Type: msgServing}); err != nil {
		// The old process serves again when it does not hear from us;
		// both accepting on the same sockets serves every client.
		s.log.Warn("Hand-over not confirmed; the old kamal-proxy may keep serving too", "error", err)
		return nil
	}
	if _, _, err := expect(c, msgDone, helloTimeout); err != nil {
		s.log.Warn("Hand-over not confirmed; the old kamal-proxy may keep serving too", "error", err)
		return nil
	}
	s.log.Info("Took over the traffic")
	return nil
}

func (s *Server) takeHeld(c *net.UnixConn) error {
	s.log.Info("Taking the traffic sockets held for kamal-proxy")
	if err := send(c, handoverMsg{Type: msgListeners}); err != nil {
		return err
	}
	if err := s.adopt(c, helloTimeout); err != nil {
		return err
	}
	if err := s.serveTraffic(); err != nil {
		s.socks.close()
		return err
	}
	return nil
}

// listenForSuccessors lets a new kamal-proxy take over from this one.
func (s *Server) listenForSuccessors() {
	addr := s.rendezvous("handover")
	if addr == "" {
		return
	}
	ln, err := listenPacket(addr)
	if err != nil {
		s.log.Error("Unable to listen for a new kamal-proxy to hand over to; a reboot will stop and start this one", "error", err)
		return
	}
	s.ho.mu.Lock()
	s.ho.ln = ln
	s.ho.mu.Unlock()
	go func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			s.handOver(c)
		}
	}()
}

// begin moves a serving process to handing over; false if it is not
// serving (stopping, or already handed over).
func (h *handoverState) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.stopping:
		return false
	default:
	}
	if h.role != roleServing {
		return false
	}
	h.role = roleHandingOver
	h.settled = make(chan struct{})
	return true
}

func (h *handoverState) settle(r role) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.role = r
	if h.settled != nil {
		close(h.settled)
		h.settled = nil
	}
}

// handOver is the old side of the conversation with one successor.
func (s *Server) handOver(c *net.UnixConn) {
	defer c.Close()
	m, files, err := recv(c, helloTimeout)
	closeFiles(files)
	if err != nil || m.Type != msgHello {
		return
	}
	refuse := func(reason string) {
		s.log.Info("Refusing to hand over", "reason", reason)
		_ = send(c, handoverMsg{Type: msgRefused, Reason: reason})
	}
	if m.Protocol != HandoverProtocol {
		refuse(fmt.Sprintf("the new kamal-proxy speaks hand-over protocol %d, this one %d", m.Protocol, HandoverProtocol))
		return
	}
	if !s.ho.begin() {
		refuse("this kamal-proxy is stopping")
		return
	}
	s.log.Info("Handing the traffic over to a new kamal-proxy", "version", m.Version)
	if err := s.gate.freeze(freezeTimeout); err != nil {
		s.ho.settle(roleServing)
		refuse(err.Error())
		return
	}
	s.Router.save()
	stopped := false
	var drained <-chan struct{}
	fail := func(err error) {
		if stopped {
			if serr := s.serveTraffic(); serr != nil {
				s.log.Error("Unable to serve again after a failed hand-over", "error", serr)
			}
		}
		s.gate.thaw()
		s.ho.settle(roleServing)
		s.log.Warn("Hand-over failed; serving again", "error", err)
	}
	if err := s.sendSockets(c); err != nil {
		fail(err)
		return
	}
	if _, _, err := expect(c, msgReady, takeoverTimeout); err != nil {
		fail(err)
		return
	}
	drained = s.traffic.stopAccepting(time.Now().Add(s.cfg.ShutdownTimeout), s.log)
	stopped = true
	if err := send(c, handoverMsg{Type: msgStopped}); err != nil {
		fail(err)
		return
	}
	if _, _, err := expect(c, msgServing, takeoverTimeout); err != nil {
		fail(err)
		return
	}

	s.ho.mu.Lock()
	ln := s.ho.ln
	s.ho.ln = nil
	s.ho.after = make(chan struct{})
	after := s.ho.after
	s.ho.mu.Unlock()
	if ln != nil {
		ln.Close() // the successor listens here now
	}
	_ = send(c, handoverMsg{Type: msgDone})
	s.gate.close("this kamal-proxy handed its traffic over to a newer one; send commands to that one")
	if s.rpcLn != nil {
		s.rpcLn.Close()
	}
	s.ho.settle(roleHandedOver)
	s.log.Info("Handed the traffic over; finishing requests in flight")
	go s.afterHandover(drained, after)
}

// afterHandover waits for the requests of the old servers, then holds the
// sockets (their opener) or ends the process.
func (s *Server) afterHandover(drained <-chan struct{}, after chan struct{}) {
	defer close(after)
	<-drained
	s.Router.Shutdown()
	s.ho.mu.Lock()
	owner := s.ho.owner
	s.ho.mu.Unlock()
	if owner {
		s.hold()
		return
	}
	s.socks.close()
	s.ho.settle(roleStopped)
	s.log.Info("Requests finished; exiting")
	s.ho.finish()
}

// hold keeps the traffic sockets for successors: a successor that restarts
// gets them again, and the last one stopping for good asks for release.
func (s *Server) hold() {
	ln, err := listenPacket(s.rendezvous("holder"))
	if err != nil {
		// The ports stay published and the successor serves; only its
		// restart and the release will not find us.
		s.log.Error("Unable to listen as the holder of the published ports", "error", err)
	}
	s.ho.mu.Lock()
	s.ho.holderLn = ln
	s.ho.role = roleHolding
	s.ho.mu.Unlock()
	s.log.Info("Holding the published ports for the new kamal-proxy")
	if ln == nil {
		return
	}
	go func() {
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			s.serveHolder(c)
		}
	}()
}

func (s *Server) serveHolder(c *net.UnixConn) {
	defer c.Close()
	m, files, err := recv(c, helloTimeout)
	closeFiles(files)
	if err != nil {
		return
	}
	switch m.Type {
	case msgListeners:
		s.log.Info("Handing the held sockets to a restarted kamal-proxy")
		_ = s.sendSockets(c)
	case msgRelease:
		s.log.Info("Asked to release the published ports", "grace", s.cfg.Handover.ReleaseGrace.String())
		select {
		case <-s.ho.stopping:
			_ = send(c, handoverMsg{Type: msgRefused, Reason: "the holder is stopping too"})
			return
		case <-time.After(s.cfg.Handover.ReleaseGrace):
		}
		s.ho.mu.Lock()
		select {
		case <-s.ho.stopping:
			s.ho.mu.Unlock()
			_ = send(c, handoverMsg{Type: msgRefused, Reason: "the holder is stopping too"})
			return
		default:
		}
		s.ho.role = roleStopped
		ln := s.ho.holderLn
		s.ho.holderLn = nil
		s.ho.mu.Unlock()
		if ln != nil {
			ln.Close()
		}
		s.log.Info("Releasing the published ports: the kamal-proxy they were held for stopped")
		_ = send(c, handoverMsg{Type: msgReleasing})
		s.socks.close()
		s.ho.finish()
	}
}

// releaseHolder asks the process holding this one's sockets, if any, to
// exit so that Docker unpublishes the ports (the proxy is being stopped for
// good, e.g. before `docker run` of a new kamal-proxy container), and waits
// for that.
func (s *Server) releaseHolder() {
	addr := s.rendezvous("holder")
	if addr == "" {
		return
	}
	c, err := dialPacket(addr)
	if err != nil {
		return
	}
	defer c.Close()
	if err := send(c, handoverMsg{Type: msgRelease}); err != nil {
		return
	}
	if _, _, err := expect(c, msgReleasing, s.cfg.Handover.ReleaseGrace+releaseTimeout); err != nil {
		s.log.Info("The holder of the published ports keeps them", "reason", err.Error())
		return
	}
	// The holder closes the connection when it exits.
	_, _, _ = recv(c, releaseTimeout)
	if s.cfg.Handover.TeardownWait > 0 {
		awaitTeardown(s.cfg.Handover.TeardownWait)
	}
	s.log.Info("The published ports are released")
}

// awaitTeardown waits until this network namespace has no interface but
// loopback, or timeout.
func awaitTeardown(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ifaces, err := net.Interfaces()
		if err != nil {
			return
		}
		up := false
		for _, i := range ifaces {
			if i.Flags&net.FlagLoopback == 0 {
				up = true
			}
		}
		if !up {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
