package progress

import (
	"strings"
	"sync"
)

// Output is what a command printed for the user: its host blocks and
// its text. It is the result data of the query commands.
type Output struct {
	Hosts []HostOutput `json:"hosts,omitempty"`
	Text  string       `json:"text,omitempty"`
}

// Collector passes events on to a renderer and keeps what was printed.
type Collector struct {
	Renderer
	mu    sync.Mutex
	hosts []HostOutput
	text  strings.Builder
}

// Collect wraps r.
func Collect(r Renderer) *Collector { return &Collector{Renderer: r} }

func (c *Collector) Emit(e Event) {
	switch e := e.(type) {
	case HostOutput:
		if e.Shown {
			c.mu.Lock()
			c.hosts = append(c.hosts, e)
			c.mu.Unlock()
		}
	case Message:
		if e.Shown {
			c.mu.Lock()
			c.text.WriteString(e.Text)
			c.mu.Unlock()
		}
	}
	c.Renderer.Emit(e)
}

// Output is what was printed so far.
func (c *Collector) Output() Output {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Output{Hosts: append([]HostOutput(nil), c.hosts...), Text: c.text.String()}
}
