package cmd

import (
	"fmt"
	"testing"
)

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	var major, minor, patch int
	fmt.Sscanf(Version, "v%d.%d.%d", &major, &minor, &patch)
	if code != 0 || out != Version+"\n" || major != 0 || minor < 9 || (minor == 9 && patch < 2) {
		t.Fatalf("version: %d %q", code, out)
	}
}
