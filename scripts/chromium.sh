#!/usr/bin/env bash
# Headless Chromium for the browser tests (tests/browser), from Debian's packages — never a browser
# downloaded by `playwright install`. Also a Devanagari font, so the Hindi labels render (and show in
# the screenshots) instead of empty boxes. Idempotent; installs only what is missing, as root or with
# sudo, like scripts/postgres.sh.
#
# Usage: scripts/chromium.sh [install|path]
#   install (default) install when missing and print the browser's version.
#   path          print the executable the tests launch (/usr/bin/chromium).
set -euo pipefail

BROWSER=/usr/bin/chromium
PACKAGES=(chromium fonts-lohit-deva)

say() { echo "chromium.sh: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

ensure_packages() {
  "$(dirname "$0")/debian-packages.sh" "${PACKAGES[@]}"
  [ -x "$BROWSER" ] || die "$BROWSER not found after installing ${PACKAGES[*]}"
}

case "${1:-install}" in
install)
  ensure_packages
  say "$("$BROWSER" --version 2>/dev/null || echo "$BROWSER")"
  ;;
path) echo "$BROWSER" ;;
*)
  echo "usage: $0 [install|path]" >&2
  exit 2
  ;;
esac
