#!/usr/bin/env bash
# Debian packages the printable sheets and their tests need, installed when missing (idempotent;
# as root, or through sudo):
#   fonts-lohit-deva  a Devanagari font (Lohit Devanagari, SIL OFL) for Hindi ward names in the PDFs;
#   poppler-utils     pdftoppm / pdftotext, with which the tests render and read the PDFs.
# The Dockerfile installs the font too (the service draws sheets); poppler-utils is for tests only.
set -euo pipefail

PACKAGES=(fonts-lohit-deva poppler-utils)

say() { echo "system-deps.sh: $*" >&2; }

package_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  package_installed "$pkg" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { say "error: missing ${missing[*]} and not root (no sudo)"; exit 1; }
  sudo=(sudo)
fi
say "installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
