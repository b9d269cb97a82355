package deploy

import "testing"

func TestContainsWord(t *testing.T) {
	for _, tc := range []struct {
		line, word string
		want       bool
	}{
		{"abc 10.0.0.1:5000/app:v1", "10.0.0.1:5000/app:v1", true},
		{"abc 10.0.0.1:5000/app:v1", "app:v1", true},
		{"abc 10.0.0.1:5000/app:v10", "app:v1", false},
		{"abc reg/app:v1", "app:v1x", false},
		{"abc reg/myapp:v1", "app:v1", false},
		{"abc reg/app:<none>", "reg/app:<none>", true},
		{"abc reg/app:v1", "", false},
	} {
		if got := containsWord(tc.line, tc.word); got != tc.want {
			t.Errorf("containsWord(%q, %q) = %v", tc.line, tc.word, got)
		}
	}
}
