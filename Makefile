GO ?= go

.PHONY: build test lint unit e2e demo fuzz
build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

e2e:
	$(GO) test -count=1 -timeout 40m ./e2e/...

test: lint
	$(GO) test -count=1 -timeout 40m ./...
