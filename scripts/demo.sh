#!/usr/bin/env bash
# The main job on Lucknow: allocate its wards among 20 COs, write the plan and its map, then load the
# same city into a private PostGIS, plan it through the service, and serve the API and map with a
# solve worker for new plan requests.
# Usage: scripts/demo.sh [DATA_DIR] [OUT_DIR]      (WARDPLAN_TIME_LIMIT: solver seconds, default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/children.sh
. scripts/children.sh # a SIGINT to this script (or to `make demo` alone) stops every child
data="${1:-../shared/data}"
out="${2:-out/lucknow}"
limit="${WARDPLAN_TIME_LIMIT:-60}"
port="${WARDPLAN_API_PORT:-8000}"
lucknow="$data/lucknow"
wards=("$lucknow/raw/Lucknow_ward_boundary-SHP.zip" --exclude 0 --population-table "$lucknow/census2011_wards.csv")
mkdir -p "$out"

# 1. The command line. No real CO list is public (homes are personal data): the COs are
#    illustrative, drawn with a fixed seed in proportion to ward population.
run uv run wardplan example-organisers "${wards[@]}" --count 20 --seed 2017 --out "$out/organisers_illustrative.csv"
run uv run wardplan requirement "${wards[@]}" --organisers-in-post 20
# The data's credit on the map, the sheets and report.json: the one the service's demo upload states
# (gis/credits.py), read from there.
source=$(uv run python -c 'from gis.credits import DATAMEET_SOURCE; print(DATAMEET_SOURCE)')
licence=$(uv run python -c 'from gis.credits import DATAMEET_LICENCE; print(DATAMEET_LICENCE)')
credit=(--source "$source" --licence "$licence")
run uv run wardplan allocate "${wards[@]}" --organisers "$out/organisers_illustrative.csv" \
  --tolerance auto --time-limit "$limit" --out "$out" --sheets --city Lucknow "${credit[@]}"
run uv run wardplan check "$out"

# 2. The service: PostGIS (started here, installed when missing), migrations, Lucknow stored and
#    planned through the same services the API uses, then the API and map on localhost.
./scripts/postgres.sh start
export WARDPLAN_DB_URL="${WARDPLAN_DB_URL:-$(./scripts/postgres.sh url)}" # honours WARDPLAN_PG_PORT
# The key of signed map links (browsers send no API key): this demo's own, unless one is set.
WARDPLAN_API_LINK_SECRET="${WARDPLAN_API_LINK_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
export WARDPLAN_API_LINK_SECRET
run uv run alembic upgrade head
answer=$(mktemp) # private (0600): it holds the demo's API key for a moment
run uv run python scripts/load_demo.py "$data" "$limit" >"$answer"
loaded=$(cat "$answer")
rm -f "$answer"
plan_id=$(sed -n 's/^plan \([0-9]*\):.*/\1/p' <<<"$loaded")
key=$(sed -n 's/^key \(.*\)$/\1/p' <<<"$loaded")
link=$(sed -n 's/^link \(.*\)$/\1/p' <<<"$loaded")
edit=$(sed -n 's/^edit \(.*\)$/\1/p' <<<"$loaded")
# A roster with one CO gone, for the re-plan hint below.
grep -v '^CO-07,' "$out/organisers_illustrative.csv" >"$out/organisers_without_CO-07.csv"
echo
echo "Files: $out (open $out/map.html)"
echo "Key:   an admin API key for this demo, shown only now (wardplan keys list|revoke):"
echo "       export KEY=$key"
echo "Map:   http://127.0.0.1:$port$link"
echo "       (open it in a browser: a signed link, valid 7 days; POST …/plans/N/map-link makes more)"
echo "Print: curl -f -H \"Authorization: Bearer \$KEY\" -o city.pdf http://127.0.0.1:$port/cities/lucknow/plans/$plan_id/sheet.pdf"
echo "Edit:  http://127.0.0.1:$port$edit"
echo "       (the map in edit mode: click a ward, pick a CO, see the check and each CO's deltas at once, undo,"
echo "       save as a new version; POST …/plans/N/edit-link makes more). The same check over the API:"
echo "       curl -H \"Authorization: Bearer \$KEY\" -H 'content-type: application/json' -d '{\"moves\": [{\"ward_id\": \"57\", \"organiser_id\": \"CO-05\"}]}' http://127.0.0.1:$port/cities/lucknow/plans/$plan_id/edits"
echo "Replan: CO-07 leaves; the fewest poor households move (beside a fresh plan's figures):"
echo "       uv run wardplan replan $out --organisers $out/organisers_without_CO-07.csv --out $out-replan"
echo "       or on the server: curl -H \"Authorization: Bearer \$KEY\" -X DELETE http://127.0.0.1:$port/cities/lucknow/organisers/CO-07"
echo "       then curl -H \"Authorization: Bearer \$KEY\" -H 'content-type: application/json' -d '{\"note\": \"CO-07 left\"}' http://127.0.0.1:$port/cities/lucknow/plans/$plan_id/replan"
echo "API:   http://127.0.0.1:$port/docs (open); every other route needs the key, see README"
echo "Jobs:  POST http://127.0.0.1:$port/cities/lucknow/plans → a job a worker solves (see README)"
echo "State: curl -H \"Authorization: Bearer \$KEY\" -X POST http://127.0.0.1:$port/states/UP/dashboard-link → a signed link to the state view (cities, COs required and in post, plan status; CSV, XLSX, PDF)"
# A solve worker beside the API, both stopped with the script (Ctrl-C, or SIGINT to make).
start uv run wardplan worker
run uv run uvicorn app.main:create_app --factory --host 127.0.0.1 --port "$port"
