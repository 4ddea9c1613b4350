# Sourced by scripts that start long-running children (scripts/demo.sh): run each in its own process
# group and stop them all when the script is told to stop — by Ctrl-C (the terminal signals the
# whole foreground group) or by a SIGINT/SIGTERM sent to the script or to `make` alone (make passes
# it to the script only; bash would wait for its foreground child, which never hears of it).
#
#   run CMD...        run CMD to completion (interruptible); its status is the function's
#   start CMD...      start CMD in the background; stopped with the script
#   stop_children     SIGINT every child's process group, then wait for them (at most 30 s)
set -m # every job in its own process group, so a signal reaches a child's own children too

CHILDREN=()

stop_children() {
  local pid
  for pid in "${CHILDREN[@]}"; do
    kill -INT -- "-$pid" 2>/dev/null || true
  done
  local waited=0
  for pid in "${CHILDREN[@]}"; do
    while kill -0 -- "-$pid" 2>/dev/null && [ "$waited" -lt 300 ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  CHILDREN=()
}

start() {
  "$@" &
  CHILDREN+=("$!")
}

run() {
  "$@" &
  local pid=$!
  CHILDREN+=("$pid")
  local status=0
  wait "$pid" || status=$?
  CHILDREN=("${CHILDREN[@]/$pid/}")
  return "$status"
}

trap 'stop_children; exit 130' INT
trap 'stop_children; exit 143' TERM
trap 'stop_children' EXIT
