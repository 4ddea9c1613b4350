#!/usr/bin/env bash
# Install the named Debian packages that are missing (idempotent; as root, or through sudo).
# The one place the project calls apt-get: scripts/postgres.sh, scripts/chromium.sh and
# scripts/system-deps.sh name their packages and call this.
#
# Usage: scripts/debian-packages.sh PACKAGE...
set -euo pipefail

say() { echo "debian-packages.sh: $*" >&2; }

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for pkg in "$@"; do
  installed "$pkg" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    say "error: missing ${missing[*]} and not root (no sudo) to install them"
    exit 1
  }
  sudo=(sudo)
fi
say "installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
