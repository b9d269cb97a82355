package server

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
)

// Names of the traffic sockets, as a hand-over labels them.
const (
	socketHTTP    = "http"
	socketHTTPS   = "https"
	socketHTTP3   = "http3" // UDP on the HTTPS port
	socketMetrics = "metrics"
)

// sockets are the traffic sockets of a server, by name, held as files. They
// outlive the servers that accept on them: a hand-over passes them to the
// next process, and a failed hand-over serves them again.
type sockets map[string]*os.File

func (ss sockets) close() {
	for name, f := range ss {
		f.Close()
		delete(ss, name)
	}
}

// names are the socket names in a fixed order.
func (ss sockets) names() []string {
	names := make([]string, 0, len(ss))
	for n := range ss {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// socketAddr is the local address of a socket file.
func socketAddr(name string, f *os.File) (net.Addr, error) {
	if name == socketHTTP3 {
		c, err := net.FilePacketConn(f)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.LocalAddr(), nil
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	return ln.Addr(), nil
}

// matches reports whether addr is what bind:port asks for (port 0: any).
func matches(addr net.Addr, bind string, port int) bool {
	var ip net.IP
	var got int
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, got = a.IP, a.Port
	case *net.UDPAddr:
		ip, got = a.IP, a.Port
	default:
		return false
	}
	if port != 0 && got != port {
		return false
	}
	if bind == "" {
		return ip.IsUnspecified()
	}
	want := net.ParseIP(bind)
	return want != nil && want.Equal(ip)
}

// openListeners opens every traffic socket into s.socks, taking each one
// from inherited when it is there and bound where this server's
// configuration asks; the rest of inherited is closed. On error none stays
// open. This is the one place that makes traffic sockets.
func (s *Server) openListeners(inherited sockets) (err error) {
	s.socks = sockets{}
	defer func() {
		inherited.close()
		if err != nil {
			s.socks.close()
		}
	}()
	addr := func(port int) string { return net.JoinHostPort(s.cfg.Bind, strconv.Itoa(port)) }
	take := func(name string, port int) bool {
		f, ok := inherited[name]
		if !ok {
			return false
		}
		a, err := socketAddr(name, f)
		if err != nil || !matches(a, s.cfg.Bind, port) {
			s.log.Info("Not using a handed-over socket bound elsewhere", "socket", name, "address", fmt.Sprint(a))
			return false
		}
		delete(inherited, name)
		s.socks[name] = f
		return true
	}
	listen := func(name string, port int) error {
		if take(name, port) {
			return nil
		}
		ln, err := net.Listen("tcp", addr(port))
		if err != nil {
			return fmt.Errorf("%s listener: %w", name, err)
		}
		defer ln.Close()
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			return fmt.Errorf("%s listener: %w", name, err)
		}
		s.socks[name] = f
		return nil
	}
	if s.metrics != nil {
		if err := listen(socketMetrics, s.cfg.MetricsPort); err != nil {
			return err
		}
	}
	if err := listen(socketHTTP, s.cfg.HTTPPort); err != nil {
		return err
	}
	if err := listen(socketHTTPS, s.cfg.HTTPSPort); err != nil {
		return err
	}
	if s.cfg.HTTP3 {
		// The same port number as HTTPS, so that Alt-Svc can name it.
		port := s.port(socketHTTPS)
		if !take(socketHTTP3, port) {
			c, err := net.ListenPacket("udp", addr(port))
			if err != nil {
				return fmt.Errorf("http3 listener: %w", err)
			}
			defer c.Close()
			f, err := c.(*net.UDPConn).File()
			if err != nil {
				return fmt.Errorf("http3 listener: %w", err)
			}
			s.socks[socketHTTP3] = f
		}
	}
	return nil
}

// addr is the bound address of a traffic socket, "" without it.
func (s *Server) addr(name string) string {
	f, ok := s.socks[name]
	if !ok {
		return ""
	}
	a, err := socketAddr(name, f)
	if err != nil {
		return ""
	}
	return a.String()
}

// port is the bound port of a traffic socket, 0 without it.
func (s *Server) port(name string) int {
	_, p, _ := net.SplitHostPort(s.addr(name))
	n, _ := strconv.Atoi(p)
	return n
}
