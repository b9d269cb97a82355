package commands

import (
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func TestHandoverLabelMatchesTheProxy(t *testing.T) {
	if ProxyHandoverLabel != server.HandoverLabel || ProxyHandoverProtocol != fmt.Sprint(server.HandoverProtocol) {
		t.Errorf("kamal looks for %s=%s, the proxy speaks %s=%d", ProxyHandoverLabel, ProxyHandoverProtocol, server.HandoverLabel, server.HandoverProtocol)
	}
}

func TestHandoverCommands(t *testing.T) {
	run := NewProxy(load(t, "proxyrun/deploy.yml", ""), "1.1.1.1")
	successor, err := RunSuccessor("f00d", run.Launch())
	if err != nil {
		t.Fatal(err)
	}
	check(t, []cmdCase{
		{"inspect", InspectProxy(ProxyContainer), `docker container inspect --format '{{.Id}} {{.State.Running}} {{.HostConfig.NetworkMode}} {{index .Config.Labels "com.github.kamalgo.kamal-proxy.handover"}}' kamal-proxy 2> /dev/null`},
		{"image", ImageHandover("registry:4443/basecamp/kamal-proxy:v0.9.3"), `docker image inspect --format '{{index .Config.Labels "com.github.kamalgo.kamal-proxy.handover"}}' registry:4443/basecamp/kamal-proxy:v0.9.3 2> /dev/null || ( docker pull --quiet registry:4443/basecamp/kamal-proxy:v0.9.3 > /dev/null && docker image inspect --format '{{index .Config.Labels "com.github.kamalgo.kamal-proxy.handover"}}' registry:4443/basecamp/kamal-proxy:v0.9.3 )`},
		// Kamal's run without the ports (the holder publishes them) and
		// with restart policy no until it took over.
		{"successor", successor, `docker run --name kamal-proxy-next --network container:f00d --detach --restart no --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config --log-opt max-size=30m --memory "512m" registry:4443/basecamp/kamal-proxy:v0.9.3 kamal-proxy run --debug --metrics-port "9090"`},
		{"await", AwaitSuccessor("60s"), `docker exec kamal-proxy-next kamal-proxy ready --timeout 60s`},
		{"promote holder", PromoteSuccessor(true), `docker container rm kamal-proxy-ports 2> /dev/null ; docker rename kamal-proxy kamal-proxy-ports && docker update --restart on-failure kamal-proxy-ports > /dev/null && docker rename kamal-proxy-next kamal-proxy && docker update --restart unless-stopped kamal-proxy > /dev/null`},
		{"promote tenant", PromoteSuccessor(false), `docker container stop kamal-proxy && docker container rm kamal-proxy && docker rename kamal-proxy-next kamal-proxy && docker update --restart unless-stopped kamal-proxy > /dev/null`},
		{"start holder", run.StartHolder(), `docker container inspect --format '{{.HostConfig.NetworkMode}}' kamal-proxy 2> /dev/null | sed -n 's/^container://p' | xargs -r docker container start > /dev/null`},
		{"boot config lines", NewProxy(load(t, "example/deploy.yml", ""), "1.1.1.1").BootConfigLines(), `echo $(cat .kamal/proxy/options 2> /dev/null || echo "--publish 80:80 --publish 443:443 --log-opt max-size=10m") ; echo $(cat .kamal/proxy/image 2> /dev/null || echo "basecamp/kamal-proxy"):$(cat .kamal/proxy/image_version 2> /dev/null || echo "v0.9.2") ; echo $(cat .kamal/proxy/run_command 2> /dev/null || echo "")`},
	})
}

func TestParseProxyState(t *testing.T) {
	tests := []struct {
		out  string
		want ProxyState
	}{
		{"", ProxyState{}},
		{"abc true kamal 1\n", ProxyState{Exists: true, Running: true, ID: "abc", Handover: "1"}},
		{"abc false container:def", ProxyState{Exists: true, ID: "abc", Holder: "def"}},
		{"abc true kamal <no value>", ProxyState{Exists: true, Running: true, ID: "abc"}},
	}
	for _, tt := range tests {
		if got := ParseProxyState(tt.out); got != tt.want {
			t.Errorf("ParseProxyState(%q) = %+v, want %+v", tt.out, got, tt.want)
		}
	}
}

func TestLaunchFromBootConfig(t *testing.T) {
	tests := []struct {
		name, out string
		want      string // the successor's docker run, or the error
	}{
		{"defaults", "--publish 80:80 --publish 443:443 --log-opt max-size=10m\nbasecamp/kamal-proxy:v0.9.2\n\n",
			`--log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run`},
		{"set", `--publish 10.0.0.1:80:80 -p 443:443 --expose=9090 --log-opt "max-size=30m" --memory 'a b' --read-only` + "\nreg/kamal-proxy:v1\nkamal-proxy run --debug --metrics-port \"9090\"\n",
			`--log-opt max-size=30m --memory 'a b' --read-only reg/kamal-proxy:v1 kamal-proxy run --debug --metrics-port 9090`},
		{"refused", "--publish 80:80 --dns 1.1.1.1\nimg:v1\n\n", "its option --dns cannot be used in the network namespace of another container"},
		{"refused inline", "--hostname=x\nimg:v1\n\n", "its option --hostname cannot be used in the network namespace of another container"},
		{"bad quote", "--memory 'x\nimg:v1\n\n", ".kamal/proxy/options: unmatched ' quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			l, err := LaunchFromBootConfig(tt.out)
			if err == nil {
				var c Cmd
				c, err = RunSuccessor("f00d", l)
				got = strings.TrimPrefix(c.String(), `docker run --name kamal-proxy-next --network container:f00d --detach --restart no --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config `)
			}
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestSplitXargs compares splitXargs with xargs itself.
func TestSplitXargs(t *testing.T) {
	for _, line := range []string{
		`--publish 80:80 --log-opt max-size=10m`,
		`a "b c" 'd e' f\ g "h'i" 'j"k'  `,
		`--label "x=\"y\""`, // unmatched for xargs too
		`a "b\c" d\ e`,
		"\ta\t b",
	} {
		got, err := splitXargs(line)
		cmd := exec.Command("sh", "-c", `printf '%s\n' "$1" | xargs sh -c 'for a; do printf "[%s]" "$a"; done' _`, "_", line)
		out, xerr := cmd.Output()
		if (err != nil) != (xerr != nil) {
			t.Errorf("splitXargs(%q): error %v, xargs: %v", line, err, xerr)
			continue
		}
		if err != nil {
			continue
		}
		want := strings.Split(strings.TrimSuffix(strings.TrimPrefix(string(out), "["), "]"), "][")
		if string(out) == "" {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("splitXargs(%q) = %q, xargs gives %q", line, got, want)
		}
	}
}
