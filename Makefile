# Simple Comet. `make run` serves on :8080; `make test` installs what the
# tests need and runs all of them.
GO      ?= go
PKGS    := $(shell $(GO) list ./... 2>/dev/null)
# Packages that start browsers, several nodes or nginx: run one at a time.
HEAVY   := $(filter %/test/browser %/test/cluster %/test/nginx %/test/integration %/test/statuspage,$(PKGS))
LIGHT   := $(filter-out $(HEAVY),$(PKGS))
# Platforms the tree is built and vetted for, tests included (not run).
CROSS   := linux/arm64 darwin/amd64 darwin/arm64 windows/amd64
# linux/arm64 runs under qemu-user (no binfmt needed; no -race, which needs
# cgo): the unit tests of these core packages, and the integration suite
# on the embedded engine with the lean transport (its other variants are
# skipped), against the linux/arm64 binary, which the test helper starts
# through COMET_TEST_EXEC.
QEMU    ?= qemu-aarch64-static
CORE    := ./internal/comet ./internal/memengine ./internal/parking ./internal/h1 \
           ./internal/httpapi ./internal/config ./internal/livestatus ./internal/metrics \
           ./cmd/simple_comet
ARM64   := COMET_TEST_EXEC=$(QEMU) GOARCH=arm64 $(GO) test -count=1 -p 1 -timeout 10m -exec $(QEMU)

.PHONY: run build test check cross unit heavy qemu deps fuzz bench client screenshots

run:
	$(GO) run ./cmd/simple_comet

build:
	$(GO) build -o bin/simple_comet ./cmd/simple_comet

deps:
	bash scripts/install-deps.sh

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

cross:
	@set -e; for p in $(CROSS); do \
	  echo "cross: build and vet for $$p"; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build ./...; \
	  GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) vet ./...; \
	done

unit:
	$(GO) test -race -count=1 -timeout 20m $(LIGHT)

# The heavy packages, then the qemu runs (heavy too): one at a time.
heavy:
	$(if $(HEAVY),$(GO) test -race -count=1 -p 1 -timeout 30m $(HEAVY),@echo "no heavy packages")
	@$(MAKE) --no-print-directory qemu

# Without qemu-aarch64-static (make deps) this skips loudly, and fails
# when CI=true.
qemu:
	@if command -v $(QEMU) >/dev/null 2>&1; then set -ex; \
	  $(ARM64) $(CORE); \
	  $(ARM64) -skip '/^(memory-nethttp|memory-noring|redis)$$' ./test/integration; \
	else \
	  echo "SKIP: $(QEMU) is missing: no linux/arm64 runs (make deps installs qemu-user-static)" >&2; \
	  [ "$$CI" != true ]; \
	fi

test: deps check cross unit heavy

fuzz:
	bash scripts/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Rebuild client/simple-comet.min.js from client/simple-comet.js (terser,
# pinned in client/package-lock.json) and check it: ES3, <= 1024 bytes.
client:
	cd client && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# Rewrite docs/demo.png from the demo page in headless Chromium.
screenshots:
	$(GO) test -count=1 -run '^TestDemo$$' ./test/browser -args -screenshots
	$(GO) run ./tools/statusshot -out docs/status.png
