# Simple Comet. `make run` serves on :8080; `make test` installs what the
# tests need and runs all of them.
GO      ?= go
PKGS    := $(shell $(GO) list ./... 2>/dev/null)
# Packages that start browsers, several nodes or nginx: run one at a time.
HEAVY   := $(filter %/test/browser %/test/cluster %/test/nginx %/test/integration %/test/statuspage,$(PKGS))
LIGHT   := $(filter-out $(HEAVY),$(PKGS))

.PHONY: run build test check unit heavy deps fuzz bench client screenshots

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

unit:
	$(GO) test -race -count=1 -timeout 20m $(LIGHT)

heavy:
	$(if $(HEAVY),$(GO) test -race -count=1 -p 1 -timeout 30m $(HEAVY),@echo "no heavy packages")

test: deps check unit heavy

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
