// Command app answers /up with 200 and / with its version and hostname.
// It is built into a FROM scratch test image by testhosts.BuildImage.
package main

import "github.com/kamalgo/kamal/internal/testhosts/images/internal/webapp"

func main() { webapp.Main(webapp.Behaviour{DefaultName: "app"}) }
