package testhosts

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// setupNetwork creates the bridge on the machine and one namespace per host
// joined to it by a veth pair (eth0 inside).
func setupNetwork(ctx context.Context, s state, hosts []*Host) error {
	steps := [][]string{
		{"ip", "link", "add", s.Bridge, "type", "bridge"},
		{"ip", "addr", "add", BridgeIP + "/24", "dev", s.Bridge},
		{"ip", "link", "set", s.Bridge, "up"},
	}
	for _, h := range hosts {
		steps = append(steps,
			[]string{"ip", "netns", "add", h.netns},
			[]string{"ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "netns", h.netns},
			[]string{"ip", "link", "set", h.veth, "master", s.Bridge, "up"},
			[]string{"ip", "-n", h.netns, "addr", "add", h.IP + "/24", "dev", "eth0"},
			[]string{"ip", "-n", h.netns, "link", "set", "lo", "up"},
			[]string{"ip", "-n", h.netns, "link", "set", "eth0", "up"},
			[]string{"ip", "-n", h.netns, "route", "add", "default", "via", BridgeIP},
		)
	}
	for _, st := range steps {
		if _, err := run(ctx, nil, st[0], st[1:]...); err != nil {
			return fmt.Errorf("testhosts: network setup: %w", err)
		}
	}
	// With br_netfilter loaded, bridged frames traverse the FORWARD chain,
	// whose policy a system dockerd sets to DROP. Allow our bridge
	// explicitly; teardown removes the rule.
	if bridgeNetfilter() {
		if _, err := run(ctx, nil, "iptables", forwardRule("-I", s.Bridge)...); err != nil {
			return fmt.Errorf("testhosts: network setup: %w", err)
		}
	}
	return nil
}

func bridgeNetfilter() bool {
	b, err := os.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func forwardRule(op, bridge string) []string {
	return []string{op, "FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment", "kamal-testhosts", "-j", "ACCEPT"}
}

// teardownNetwork deletes what setupNetwork created; missing pieces are fine.
func teardownNetwork(ctx context.Context, s state) []error {
	var errs []error
	for _, ns := range s.Namespaces {
		if namespaceExists(ns) {
			if _, err := run(ctx, nil, "ip", "netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Deleting a namespace deletes its eth0 and so the veth peer; these
	// catch pairs whose namespace end is already gone. The kernel destroys
	// a deleted namespace in the background, so a veth may vanish between
	// the check and the delete: only one still there is an error.
	for _, l := range append(append([]string{}, s.Veths...), s.Bridge) {
		if linkExists(l) {
			if _, err := run(ctx, nil, "ip", "link", "del", l); err != nil && linkExists(l) {
				errs = append(errs, err)
			}
		}
	}
	for i := 0; i < 10; i++ {
		if _, err := run(ctx, nil, "iptables", forwardRule("-C", s.Bridge)...); err != nil {
			break
		}
		if _, err := run(ctx, nil, "iptables", forwardRule("-D", s.Bridge)...); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errs
}

func namespaceExists(ns string) bool {
	_, err := os.Stat("/var/run/netns/" + ns)
	return err == nil
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}
