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

is_root() { [ "$(id -u)" -eq 0 ]; }

package_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

ensure_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    package_installed "$pkg" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=()
    if ! is_root; then
      command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]} and not root (no sudo) to install them"
      sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
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
