// Command app-unhealthy is a web app whose /up always answers 500.
// It is built into a FROM scratch test image by testhosts.BuildImage.
package main

import "github.com/kamalgo/kamal/internal/testhosts/images/internal/webapp"

func main() { webapp.Main(webapp.Behaviour{Unhealthy: true, DefaultName: "app-unhealthy"}) }
