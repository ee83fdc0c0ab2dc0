#!/usr/bin/env bash
# Runs every fuzz target of the packages that parse client input, one after
# the other, for FUZZTIME each (default 30s). The seed corpus already runs in
# `make test`; this explores beyond it. A failing input is written under the
# package's testdata/fuzz/ and the script stops with status 1.
#   FUZZTIME=5m scripts/fuzz.sh            every target, 5 minutes each
#   scripts/fuzz.sh FuzzHandler            only the targets named
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-30s}
PKGS=${FUZZ_PKGS:-./internal/httpapi/}
for pkg in $PKGS; do
	targets=$(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for target in $targets; do
		if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$target"; then
			continue
		fi
		echo "== $pkg $target ($FUZZTIME)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
