package config

import (
	"regexp"

	"github.com/kamalgo/kamal/internal/config/rubyyaml"
)

// Checks shared by the sections that describe containers (root, roles,
// accessories): labels and docker run options.

// validateLabels rejects the labels Kamal sets itself.
func (v *validator) validateLabels(labels *rubyyaml.Node) {
	if !labels.Present() || labels.Kind != rubyyaml.Map {
		return
	}
	v.with("labels", func() {
		for _, k := range labels.Keys {
			v.with(k, func() {
				switch k {
				case "destination", "role", "service":
					v.fail(labels.KeyNodes[k], "invalid label. destination, role, and service are reserved labels")
				}
			})
		}
	})
}

var restartPolicyRE = regexp.MustCompile(`^(?:no|always|unless-stopped|on-failure(?::\d+)?)$`)

// validateDockerOptions checks the restart policy among docker run options.
func (v *validator) validateDockerOptions(options *rubyyaml.Node) {
	if options == nil || options.Kind != rubyyaml.Map {
		return
	}
	restart := options.Get("restart")
	if restart == nil {
		return
	}
	v.with("options", func() {
		v.with("restart", func() {
			if restart.Kind != rubyyaml.String && restart.Kind != rubyyaml.Symbol {
				v.fail(restart, `should be a string. Use "no" to disable restarts`)
			}
			if !restartPolicyRE.MatchString(restart.Str) {
				v.fail(restart, "should be no, always, unless-stopped, on-failure, or on-failure:N")
			}
		})
	})
}
