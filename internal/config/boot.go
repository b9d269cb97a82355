package config

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// The boot section: rolling boots, a group of hosts at a time.

// Boot controls rolling boots.
type Boot struct {
	Limit         string // "N" or "N%"; "" means all at once
	Wait          int    // seconds between groups
	ParallelRoles bool
}

var bootSchema = []field{
	f("limit", tString),
	f("wait", tInt),
	f("parallel_roles", tBool),
}

// bootLimitRE: a number of hosts, or anything ending in "%", which Kamal
// reads with to_i ("25 %" is 25%). Other values Kamal would only trip over
// at deploy time, so they are refused here.
var bootLimitRE = regexp.MustCompile(`^(?:[1-9][0-9]*|.*%)$`)

func (v *validator) validateBoot(n *rubyyaml.Node) {
	if n == nil {
		return
	}
	v.withContext("boot", func() {
		v.validateAgainst(n, bootSchema, false)
		if l := n.Get("limit"); l != nil {
			v.with("limit", func() {
				if !bootLimitRE.MatchString(l.Text()) {
					v.fail(l, "should be a number of hosts (N) or a percentage of hosts (N%)")
				}
			})
		}
	})
}

func buildBoot(n *rubyyaml.Node) Boot {
	return Boot{Limit: n.Get("limit").Text(), Wait: intOr(n.Get("wait"), 0), ParallelRoles: boolOf(n.Get("parallel_roles"))}
}

// GroupSize returns how many hosts boot together given the number of all
// hosts (app + accessory, as in Kamal). 0 means no limit.
func (b Boot) GroupSize(allHosts int) int {
	if b.Limit == "" {
		return 0
	}
	if p, ok := strings.CutSuffix(b.Limit, "%"); ok {
		return max(allHosts*rubyToI(p)/100, 1)
	}
	n, _ := strconv.Atoi(b.Limit)
	return n
}

var leadingIntRE = regexp.MustCompile(`^\s*[-+]?[0-9]+(?:_[0-9]+)*`)

// rubyToI is Ruby's String#to_i: the leading integer, 0 when there is none.
func rubyToI(s string) int {
	n, _ := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(leadingIntRE.FindString(s)), "_", ""))
	return n
}

// BootGroups splits the app hosts (primary-role hosts first) into the groups
// booted together, as set by boot.limit.
func (c *Config) BootGroups(hosts []string) [][]string {
	size := c.Boot.GroupSize(len(c.AllHosts()))
	if size <= 0 || size >= len(hosts) {
		if len(hosts) == 0 {
			return nil
		}
		return [][]string{hosts}
	}
	var groups [][]string
	for i := 0; i < len(hosts); i += size {
		end := min(i+size, len(hosts))
		groups = append(groups, hosts[i:end])
	}
	return groups
}
