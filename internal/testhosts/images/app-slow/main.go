// Command app-slow is a web app that waits BOOT_DELAY seconds (default 5) before listening.
// It is built into a FROM scratch test image by testhosts.BuildImage.
package main

import "github.com/kamalgo/kamal/internal/testhosts/images/internal/webapp"

func main() { webapp.Main(webapp.Behaviour{BootDelay: true, DefaultName: "app-slow"}) }
