package dockerapi

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
)

// PSTable renders containers as `docker ps` prints them by default, so a
// listing read through the API looks as it did through the docker CLI:
// the columns CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS and
// NAMES, aligned with three spaces, in the order given (newest first, as
// the Engine lists them). now is the reference for the CREATED column.
func PSTable(containers []container.Summary, now time.Time) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 10, 1, 3, ' ', 0)
	fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, c := range containers {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			shortID(c.ID), displayImage(c), strconv.Quote(ellipsis(c.Command, 20)),
			units.HumanDuration(now.Sub(time.Unix(c.Created, 0)))+" ago",
			c.Status, displayPorts(c.Ports), displayNames(c.Names))
	}
	_ = w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// shortID is the 12-character form of an ID, as the CLI shows it.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// displayImage shows the image as the container was created from, in its
// short form ("app:v1" rather than "docker.io/library/app:v1"), with a
// digest left out when a tag is given; an image given by ID stays short.
func displayImage(c container.Summary) string {
	if c.Image == "" {
		return "<no image>"
	}
	if shortID(c.ImageID) == shortID(c.Image) {
		return shortID(c.Image)
	}
	ref, err := reference.ParseNormalizedNamed(c.Image)
	if err != nil {
		return c.Image
	}
	if tagged, ok := ref.(reference.NamedTagged); ok {
		if short, err := reference.WithTag(reference.TrimNamed(tagged), tagged.Tag()); err == nil {
			return reference.FamiliarString(short)
		}
		return c.Image
	}
	return reference.FamiliarString(reference.TrimNamed(ref))
}

// ellipsis cuts s to at most max characters, the last one "…".
func ellipsis(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// displayNames is the container's own name (a legacy link name has a
// slash inside).
func displayNames(names []string) string {
	var plain []string
	for _, n := range names {
		n = strings.TrimPrefix(n, "/")
		if !strings.Contains(n, "/") {
			return n
		}
		plain = append(plain, n)
	}
	return strings.Join(plain, ",")
}

// displayPorts renders ports as the CLI does: ports published on the same
// host port, grouped by address and protocol into ranges of consecutive
// ports ("0.0.0.0:8000-8001->8000-8001/tcp"), exposed ports likewise
// ("80/tcp"), then ports published on another host port one by one
// ("0.0.0.0:8080->80/tcp").
func displayPorts(ports []container.PortSummary) string {
	sorted := slices.Clone(ports)
	slices.SortFunc(sorted, func(a, b container.PortSummary) int {
		if a.PrivatePort != b.PrivatePort {
			return int(a.PrivatePort) - int(b.PrivatePort)
		}
		if c := strings.Compare(ipString(a), ipString(b)); c != 0 {
			return c
		}
		if a.PublicPort != b.PublicPort {
			return int(a.PublicPort) - int(b.PublicPort)
		}
		return strings.Compare(a.Type, b.Type)
	})
	type span struct {
		ip, proto   string
		first, last uint16
	}
	render := func(s span) string {
		ports := strconv.Itoa(int(s.first))
		if s.last != s.first {
			ports += "-" + strconv.Itoa(int(s.last))
		}
		if s.ip != "" {
			ports = net.JoinHostPort(s.ip, ports) + "->" + ports
		}
		return ports + "/" + s.proto
	}
	var out, remapped []string
	open := map[string]*span{} // by address and protocol
	var order []string
	for _, p := range sorted {
		ip := ipString(p)
		if ip != "" && p.PublicPort != p.PrivatePort {
			remapped = append(remapped, fmt.Sprintf("%s->%d/%s", net.JoinHostPort(ip, strconv.Itoa(int(p.PublicPort))), p.PrivatePort, p.Type))
			continue
		}
		key := ip + "/" + p.Type
		s, ok := open[key]
		switch {
		case !ok:
			open[key] = &span{ip: ip, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort}
			order = append(order, key)
		case p.PrivatePort == s.last+1:
			s.last = p.PrivatePort
		default:
			out = append(out, render(*s))
			open[key] = &span{ip: ip, proto: p.Type, first: p.PrivatePort, last: p.PrivatePort}
		}
	}
	for _, key := range order {
		out = append(out, render(*open[key]))
	}
	return strings.Join(append(out, remapped...), ", ")
}

func ipString(p container.PortSummary) string {
	if !p.IP.IsValid() {
		return ""
	}
	return p.IP.String()
}
