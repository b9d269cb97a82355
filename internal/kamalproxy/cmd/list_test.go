package cmd

import (
	"bytes"
	"testing"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func TestListTableFormat(t *testing.T) {
	var b bytes.Buffer
	printTable(&b, map[string]server.ServiceDescription{
		"web": {Host: "a.test,b.test", Path: "/", Target: "w1:3000,w2:3000,r1:3000", State: "running", TLS: true},
		"api": {Host: "*", Path: "/api", Target: "api:80", State: "stopped"},
	})
	want := "\x1b[1mService\x1b[0m  \x1b[1mHost         \x1b[0m  \x1b[1mPath\x1b[0m  \x1b[1mTarget                 \x1b[0m  \x1b[1mState  \x1b[0m  \x1b[1mTLS\x1b[0m\n" +
		"api      *              /api  api:80                   stopped  no\n" +
		"web      a.test,b.test  /     w1:3000,w2:3000,r1:3000  running  yes\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestListShowsWhyAServiceIsUnavailable(t *testing.T) {
	var b bytes.Buffer
	printTable(&b, map[string]server.ServiceDescription{
		"web":  {Host: "a.test", Path: "/", Target: "w1:3000", State: "running"},
		"shop": {Host: "s.test", Path: "/", Target: "s1:3000", State: server.StateUnavailable, Error: "unable to load error pages from /x"},
	})
	want := "\x1b[1mService\x1b[0m  \x1b[1mHost  \x1b[0m  \x1b[1mPath\x1b[0m  \x1b[1mTarget \x1b[0m  \x1b[1mState      \x1b[0m  \x1b[1mTLS\x1b[0m  \x1b[1mError                             \x1b[0m\n" +
		"shop     s.test  /     s1:3000  unavailable  no   unable to load error pages from /x\n" +
		"web      a.test  /     w1:3000  running      no\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}
