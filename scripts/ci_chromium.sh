#!/usr/bin/env bash
# Makes sure Debian's `chromium` is installed for the browser tests (tests/web), the way
# scripts/ci_postgres.sh installs PostgreSQL: apt-get as root when it is missing. Playwright
# drives this system browser through executable_path; nothing is downloaded by Playwright.
# Prints the browser's path on stdout; progress goes to stderr; exits 1 if it cannot install.
set -euo pipefail
log() { echo "ci_chromium: $*" >&2; }
binary="${PEERLEND_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$binary" ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        log "chromium is not installed and cannot be installed here (needs root and apt-get)"
        exit 1
    fi
    log "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >&2 || apt-get install -y -qq chromium >&2
fi
[ -x "$binary" ] || { log "no chromium at $binary"; exit 1; }
# Chinese pages need a CJK font to render (and to be screenshotted) legibly; best effort.
if ! fc-list 2>/dev/null | grep -qi cjk && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing fonts-noto-cjk"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk >&2 || log "no CJK font"
fi
echo "$binary"
