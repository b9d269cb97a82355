// Command app-noterm is a web app that ignores SIGTERM.
// It is built into a FROM scratch test image by testhosts.BuildImage.
package main

import "github.com/kamalgo/kamal/internal/testhosts/images/internal/webapp"

func main() { webapp.Main(webapp.Behaviour{IgnoreTerm: true, DefaultName: "app-noterm"}) }
