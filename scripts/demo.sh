#!/usr/bin/env bash
# Allocate Lucknow's 110 wards among 20 illustrative COs and write the plan and its map.
# Usage: scripts/demo.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
out="${2:-out/lucknow}"
lucknow="$data/lucknow"
mkdir -p "$out"

# No real CO list is public (homes are personal data): the COs are illustrative, drawn with a
# fixed seed in proportion to ward population.
uv run wardplan example-organisers "$lucknow/raw/Lucknow_ward_boundary-SHP.zip" \
  --exclude 0 --population-table "$lucknow/census2011_wards.csv" \
  --count 20 --seed 2017 --out "$out/organisers_illustrative.csv"

uv run wardplan requirement "$lucknow/raw/Lucknow_ward_boundary-SHP.zip" \
  --exclude 0 --population-table "$lucknow/census2011_wards.csv" --organisers-in-post 20

uv run wardplan allocate "$lucknow/raw/Lucknow_ward_boundary-SHP.zip" \
  --exclude 0 --population-table "$lucknow/census2011_wards.csv" \
  --organisers "$out/organisers_illustrative.csv" \
  --tolerance auto --time-limit "${WARDPLAN_TIME_LIMIT:-120}" --out "$out"

uv run wardplan check "$out"
echo "Open $out/map.html in a browser to see the demarcation."
