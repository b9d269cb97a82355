package server

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

type reqStateKey struct{}

// reqState travels with a request through the proxy so that the access log,
// the error pages and the target's response hooks can share what was decided.
type reqState struct {
	service        string
	target         string
	status         int // status recorded by the proxy itself (e.g. 499)
	prefix         string
	setAffinity    bool
	affinityUntil  time.Time
	noMetrics      bool
	pages          *errorPages
	metrics        *Metrics
	logReqHeaders  []string
	logRespHeaders []string
	lw             logWriter     // the access log's response writer
	headerValues   [3]string     // X-Request-Id and X-Request-Start set by the proxy
	internal       bool          // made by the proxy itself (on-demand TLS check): never redirected
	body           *deadlineBody // the request body under the body timeout, if any
}

func withReqState(r *http.Request, st *reqState) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), reqStateKey{}, st))
}

func stateOf(r *http.Request) *reqState {
	if st, ok := r.Context().Value(reqStateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

// affinityCookie pins the client to writers until affinityUntil so it reads
// its own writes.
func (st *reqState) affinityCookie() string {
	c := &http.Cookie{
		Name:     writerCookie,
		Value:    strconv.FormatInt(st.affinityUntil.UnixMilli(), 10),
		Path:     "/",
		HttpOnly: true,
		Expires:  st.affinityUntil.Add(time.Second),
	}
	return c.String()
}
