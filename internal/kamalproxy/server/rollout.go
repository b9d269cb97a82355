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
// The percentage decides; the split point derived from it is persisted too
// because the original kamal-proxy reads only that when it restores state.
type RolloutController struct {
	Percentage           int      `json:"percentage"`
	PercentageSplitPoint float64  `json:"percentage_split_point"`
	Allowlist            []string `json:"allowlist"`
}

func newRolloutController(percentage int, allowlist []string) *RolloutController {
	return &RolloutController{Percentage: percentage, PercentageSplitPoint: splitPoint(percentage), Allowlist: allowlist}
}

// splitPoint is the highest cookie hash sent to the rollout pool.
func splitPoint(percentage int) float64 {
	return float64(math.MaxUint32) * (float64(percentage) / 100)
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
	return float64(h.Sum32()) <= splitPoint(rc.Percentage)
}
