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

// A secret too short to hide is not redacted: blanking out every "a" would
// reveal it by the gaps and make output unreadable.
func TestRedactorIgnoresShortSecrets(t *testing.T) {
	r := NewRedactor("a", "12", " ab ", "中文字")
	for _, in := range []string{"a banana at 12:00", "ab 中文字"} {
		if got := r.Redact(in); got != in {
			t.Errorf("Redact(%q) = %q, want it unchanged", in, got)
		}
	}
	r.Add("abcd")
	if got := r.Redact("xabcdx"); got != "x"+Redacted+"x" {
		t.Errorf("4-character secret not redacted: %q", got)
	}
}
