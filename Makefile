GO ?= go

.PHONY: build test lint fmt vet staticcheck unit e2e e2e-cli testhosts-up testhosts-down demo fuzz
build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The version pinned as a tool in go.mod; checks chosen in staticcheck.conf.
staticcheck:
	$(GO) tool staticcheck ./...

# Unit tests: everything but the e2e scenarios. As root, internal/testhosts
# also brings simulated servers up and down.
unit:
	$(GO) test -count=1 -timeout 45m $$($(GO) list ./... | grep -v /e2e)

# End-to-end scenarios against simulated servers (root; see docs/testing.md).
e2e:
	$(GO) test -count=1 -timeout 45m ./e2e/...

# The scenarios with the docker CLI forced on every host instead of the
# Docker Engine API over SSH (docs/ssh.md). `make test` skips the ones whose
# remote Docker work is the same either way or already covered by a sibling
# (local builds, the output formats, the proxy image and hand-over, all but
# one rollback), to keep CI well under 30 minutes; E2E_CLI_SKIP= runs all.
E2E_CLI_SKIP ?= ^(TestBuild.*|TestProxyReboot.*|TestProxyImage|TestJSONEvents|TestTTYDeploy|TestRollback(DockerRunFailure|DroppedConnection|SecondBootGroup|WithoutVersion|Assets|OnInterrupt))$$
e2e-cli:
	KAMAL_DOCKER_CLI=1 $(GO) test -count=1 -timeout 45m -skip '$(E2E_CLI_SKIP)' ./e2e/...

# Simulated servers by hand: hosts, registry and deployer stay up until
# testhosts-down (or the next e2e run).
testhosts-up:
	$(GO) run ./internal/testhosts/cmd up -images

testhosts-down:
	$(GO) run ./internal/testhosts/cmd down

# Runs every Go fuzz test in the repository, one after the other, each for
# FUZZTIME (default 60s): make fuzz FUZZTIME=10s. Minimizing each new
# interesting input is capped (FUZZMINIMIZETIME) because the large seed
# configs otherwise keep both workers minimizing for the whole run.
FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 100x
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for fn in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "==> $$pkg $$fn ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
		done; \
	done

# All tests, each step run even if an earlier one failed, then a summary.
test:
	@status=0; summary=""; \
	for step in fmt vet staticcheck unit e2e e2e-cli; do \
		echo "==> $$step"; start=$$(date +%s); \
		if $(MAKE) --no-print-directory $$step; then result=PASS; else result=FAIL; status=1; fi; \
		summary="$$summary  $$result  $$step ($$(( $$(date +%s) - start ))s)\n"; \
	done; \
	printf "\n==> summary\n%b" "$$summary"; exit $$status

.PHONY: proxy-image
# Builds the kamal-proxy image FROM scratch (static binary built outside Docker).
proxy-image:
	build/kamal-proxy/build.sh

.PHONY: demo-down
# The main job, end to end: two simulated servers and a registry, `kamal
# setup` of a sample app, then `kamal deploy` of a second version under a
# request loop that must see no failure (root; see demo/run.sh).
demo:
	demo/run.sh

# Tears down servers left up by `demo/run.sh -keep`.
demo-down:
	$(GO) run ./internal/testhosts/cmd down
