#!/usr/bin/env bash
# Installs what the tests need: redis-server and redis-sentinel, chromium
# and firefox-esr, nginx (with nchan for the benchmarks), qemu-user-static
# (the linux/arm64 runs) from Debian, and the client's npm packages from its
# lockfile. Idempotent; skips what is already there. Without root (or
# apt-get) it says what is missing and goes on: those tests then skip
# locally, and fail when CI=true.
set -u
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || need+=(firefox-esr)
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] || need+=(libnginx-mod-nchan)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || echo "install-deps: apt-get update failed" >&2
    apt-get install -y -q "${need[@]}" >/dev/null || echo "install-deps: apt-get install failed" >&2
  else
    echo "install-deps: missing ${need[*]} (not root: those tests will skip)" >&2
  fi
fi
# nginx must not hold port 80 as a system service: tests start their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
if [ -f client/package-lock.json ] && command -v npm >/dev/null 2>&1; then
  (cd client && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "install-deps: npm ci failed" >&2
fi
exit 0
