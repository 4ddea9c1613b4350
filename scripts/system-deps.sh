#!/usr/bin/env bash
# Debian packages the printable sheets and their tests need, installed when missing (idempotent;
# as root, or through sudo):
#   fonts-lohit-deva  a Devanagari font (Lohit Devanagari, SIL OFL) for Hindi ward names in the PDFs;
#   poppler-utils     pdftoppm / pdftotext, with which the tests render and read the PDFs.
# The Dockerfile installs the font too (the service draws sheets); poppler-utils is for tests only.
set -euo pipefail

exec "$(dirname "$0")/debian-packages.sh" fonts-lohit-deva poppler-utils
