// Command app-health is the web app with a Docker HEALTHCHECK that runs
// `/app healthcheck` (exec form, no shell needed), so Docker reports it
// healthy, or unhealthy when the container has UNHEALTHY set.
// It is built into a FROM scratch test image by testhosts.BuildImage.
package main

import "github.com/kamalgo/kamal/internal/testhosts/images/internal/webapp"

func main() { webapp.Main(webapp.Behaviour{DefaultName: "app-health"}) }
