package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestRolloutSplit(t *testing.T) {
	p := newTestProxy(t)
	a, b := newTestApp(t, "stable"), newTestApp(t, "canary")
	p.deploy(t, "app", hostOpts(), a)
	if err := p.router.RolloutSet("app", 50, nil); err != ErrRolloutTargetNotSet {
		t.Fatalf("err = %v", err)
	}
	if err := p.router.RolloutDeploy("app", []string{b.addr()}, nil, fastDeploy()); err != nil {
		t.Fatal(err)
	}
	if err := p.router.RolloutSet("app", 0, []string{"beta-user"}); err != nil {
		t.Fatal(err)
	}
	get := func(cookie string) string {
		_, body := getWithRolloutCookie(t, p.srv.URL+"/", "", cookie)
		return strings.Fields(body)[0]
	}
	if got := get("beta-user"); got != "canary" {
		t.Fatalf("allowlisted: %s", got)
	}
	if got := get("someone"); got != "stable" {
		t.Fatalf("not allowlisted: %s", got)
	}
	if got := get(""); got != "stable" {
		t.Fatalf("no cookie: %s", got)
	}
	// Percentages split stable buckets.
	rc := &RolloutController{Percentage: 60}
	n := 0
	for i := range 1000 {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: rolloutCookie, Value: fmt.Sprint("user-", i)})
		if rc.usesRollout(req) {
			n++
		}
	}
	if n < 550 || n > 650 {
		t.Fatalf("60%% split gave %d of 1000", n)
	}
	if err := p.router.RolloutStop("app"); err != nil {
		t.Fatal(err)
	}
	if got := get("beta-user"); got != "stable" {
		t.Fatalf("after stop: %s", got)
	}
}

// getWithRolloutCookie GETs url (as host, when set) with the rollout
// cookie set to cookie (none when empty): the status and the body.
func getWithRolloutCookie(t *testing.T, url, host, cookie string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if host != "" {
		req.Host = host
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: rolloutCookie, Value: cookie})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}
