package deploy

import (
	"context"
	"strings"
	"testing"
)

func TestProxyRemoveSteps(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, audit string
		run         func(k *Kamal) error
		want        string
	}{
		{"container", "Removed proxy container", func(k *Kamal) error { return k.Proxy.RemoveContainer(ctx) },
			"docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy"},
		{"image", "Removed proxy image", func(k *Kamal) error { return k.Proxy.RemoveImage(ctx) },
			"docker image prune --all --force --filter label=org.opencontainers.image.title=kamal-proxy"},
		{"directory", "", func(k *Kamal) error { return k.Proxy.RemoveDirectory(ctx) }, "rm -r .kamal/proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, s, _ := newScripted(t, Options{})
			if err := tt.run(k); err != nil {
				t.Fatal(err)
			}
			for _, h := range k.ProxyHosts() {
				var got []string
				for _, c := range on(s.log(), h, true) {
					if !strings.Contains(c, ".kamal/lock-") && c != "/usr/bin/env mkdir -p .kamal" {
						got = append(got, c)
					}
				}
				if len(got) != 1 || !strings.HasSuffix(got[0], tt.want) || !strings.Contains(got[0], tt.audit) {
					t.Errorf("%s ran %q, want one command ending in %q after the audit line %q", h, got, tt.want, tt.audit)
				}
			}
			log := strings.Join(s.log(), "\n")
			if !strings.Contains(log, "1.1.1.1: /usr/bin/env mkdir .kamal/lock-app") || s.isLocked() {
				t.Errorf("lock not taken and released: %q", log)
			}
		})
	}
}
