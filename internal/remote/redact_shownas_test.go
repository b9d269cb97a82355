package remote

import "testing"

func TestRedactorAddShownAs(t *testing.T) {
	r := NewRedactor("hunter2")
	r.AddShownAs(`-u "dhh"`, "-u "+Redacted)
	r.AddShownAs("   ", "x") // ignored
	tests := []struct{ in, want string }{
		{`docker login -u "dhh" --password-stdin`, `docker login -u [REDACTED] --password-stdin`},
		{`docker pull dhh/app:999`, `docker pull dhh/app:999`},
		{`password hunter2 for -u "dhh"`, `password [REDACTED] for -u [REDACTED]`},
		{"a   b", "a   b"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var nilR *Redactor
	nilR.AddShownAs("x", "y") // no panic
}
