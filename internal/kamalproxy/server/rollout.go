package server

import (
	"hash/fnv"
	"math"
	"net/http"
	"slices"
)

const rolloutCookie = "kamal-rollout"

// RolloutController decides which requests go to the rollout pool, based on
// the kamal-rollout cookie: an allowlist and a stable percentage bucket.
type RolloutController struct {
	Percentage int      `json:"percentage"`
	Allowlist  []string `json:"allowlist"`
}

func (rc *RolloutController) usesRollout(r *http.Request) bool {
	c, err := r.Cookie(rolloutCookie)
	if err != nil || c.Value == "" {
		return false
	}
	if slices.Contains(rc.Allowlist, c.Value) {
		return true
	}
	if rc.Percentage <= 0 {
		return false
	}
	h := fnv.New32a()
	h.Write([]byte(c.Value))
	limit := uint64(float64(rc.Percentage) / 100 * math.MaxUint32)
	return uint64(h.Sum32()) <= limit
}
