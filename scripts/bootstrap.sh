#!/usr/bin/env bash
# Install what Wardplan needs on a fresh Debian machine: uv (from PyPI) and the locked Python deps.
# Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check "uv>=0.4"
fi
uv sync --frozen --quiet
