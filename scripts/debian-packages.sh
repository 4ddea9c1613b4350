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
# Another apt or dpkg (unattended upgrades, a second install) may hold the lock: wait for it, at
# most WARDPLAN_APT_LOCK_WAIT seconds (default 600), instead of failing at once.
wait_s="${WARDPLAN_APT_LOCK_WAIT:-600}"
apt_get() {
  local deadline=$((SECONDS + wait_s)) err
  err=$(mktemp)
  while true; do
    if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$wait_s" "$@" 2>"$err"; then
      rm -f "$err"
      return 0
    fi
    if grep -qiE "could not get lock|unable to acquire|is another process using it" "$err" &&
      [ "$SECONDS" -lt "$deadline" ]; then
      say "another package manager holds the lock; waiting (at most until ${wait_s} s)"
      sleep 5
      continue
    fi
    cat "$err" >&2
    rm -f "$err"
    return 1
  done
}
say "installing ${missing[*]}"
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
