package deploy

import (
	"context"
	"strings"
	"testing"
)

// TestProxyRebootHandsOver: what `kamal proxy reboot` runs on a host for
// each state of its proxy and each new image (legacy boot config, the
// default image).
func TestProxyRebootHandsOver(t *testing.T) {
	const (
		probe   = "echo --kamal-current--"
		image   = "docker image inspect"
		await   = "kamal-proxy ready"
		bootCfg = "--publish 80:80 --publish 443:443 --log-opt max-size=10m\nbasecamp/kamal-proxy:v0.9.2\n\n"
		owner   = "f00d true kamal 1\n--kamal-current--\n\n--kamal-current--\n" + bootCfg
		tenant  = "beef true container:f00d 1\n--kamal-current--\n\n--kamal-current--\n" + bootCfg
		basecmp = "f00d true kamal <no value>\n--kamal-current--\n\n--kamal-current--\n" + bootCfg
		stopped = "f00d false kamal 1\n--kamal-current--\n\n--kamal-current--\n" + bootCfg
		run     = "docker run --name kamal-proxy-next --network container:f00d --detach --restart no"
		promote = "docker rename kamal-proxy-next kamal-proxy"
		restart = "xargs docker run --name kamal-proxy --network kamal"
	)
	tests := []struct {
		name  string
		rules []outputRule
		want  []string // in order
		not   []string
		say   string
		err   string
	}{
		{"owner hands over and holds", []outputRule{{"", probe, owner, 0}, {"", image, "1\n", 0}},
			[]string{probe, image, run, await, "docker rename kamal-proxy kamal-proxy-ports && docker update --restart on-failure kamal-proxy-ports", promote},
			[]string{"docker container stop kamal-proxy", restart, "--restart no kamal-proxy"}, "", ""},
		{"tenant hands over and goes", []outputRule{{"", probe, tenant, 0}, {"", image, "1\n", 0}},
			[]string{"docker update --restart no kamal-proxy > /dev/null && " + run, await, "docker container stop kamal-proxy && docker container rm kamal-proxy && " + promote},
			[]string{restart, "kamal-proxy-ports"}, "", ""},
		{"the running image cannot", []outputRule{{"", probe, basecmp, 0}},
			[]string{probe, "docker container stop kamal-proxy", restart}, []string{image, run},
			"kamal-proxy on 1.1.1.1 cannot hand its traffic over (its image cannot hand over): stopping it and starting the new one, requests fail meanwhile", ""},
		{"the new image cannot", []outputRule{{"", probe, owner, 0}, {"", image, "\n", 0}},
			[]string{probe, image, "docker container stop kamal-proxy", restart}, []string{run},
			"(the image basecamp/kamal-proxy:v0.9.2 cannot take over)", ""},
		{"not running", []outputRule{{"", probe, stopped, 0}},
			[]string{probe, "docker container stop kamal-proxy", restart}, []string{image, run}, "", ""},
		{"the new proxy does not take over", []outputRule{{"", probe, owner, 0}, {"", image, "1\n", 0}, {"", await, "", 1}, {"", "docker logs", "Error: refused", 0}},
			[]string{run, await, "docker logs --tail 20 kamal-proxy-next", "docker container rm --force kamal-proxy-next"},
			[]string{promote, "docker container stop kamal-proxy"}, "",
			"new kamal-proxy on 1.1.1.1: it did not take the traffic over; the running one keeps serving\nError: refused"},
		{"a leftover that did not take over goes", []outputRule{
			{"", probe, "f00d true kamal 1\n--kamal-current--\nabcd false container:f00d 1\n--kamal-current--\n" + bootCfg, 0}},
			[]string{probe, "docker container rm --force kamal-proxy-next", probe}, []string{image, run},
			"", "a new kamal-proxy container from an interrupted reboot is still on 1.1.1.1"},
		{"a leftover that took over gets the name", []outputRule{
			{"", probe, "f00d true kamal 1\n--kamal-current--\nabcd true container:f00d 1\n--kamal-current--\n" + bootCfg, 0},
			{"", "ready --timeout 2s", "", 0}},
			[]string{probe, "ready --timeout 2s", "docker rename kamal-proxy kamal-proxy-ports", promote, probe}, []string{image, run},
			"", "a new kamal-proxy container from an interrupted reboot is still on 1.1.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, s, out := newScripted(t, Options{Hosts: []string{"1.1.1.1"}}, tt.rules...)
			err := k.Proxy.Reboot(context.Background(), ProxyRebootOptions{})
			if tt.err == "" && err != nil {
				t.Fatal(err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			cmds := on(s.log(), "1.1.1.1", false)
			i := 0
			for _, c := range cmds {
				for i < len(tt.want) && strings.Contains(c, tt.want[i]) {
					i++
				}
				for _, n := range tt.not {
					if strings.Contains(c, n) {
						t.Errorf("ran %q", c)
					}
				}
			}
			if i < len(tt.want) {
				t.Errorf("missing %q (in order) in\n%s", tt.want[i], strings.Join(cmds, "\n"))
			}
			if !strings.Contains(out.String(), tt.say) || tt.say == "" && strings.Contains(out.String(), "cannot hand") {
				t.Errorf("output %q, want %q", out.String(), tt.say)
			}
		})
	}
}
