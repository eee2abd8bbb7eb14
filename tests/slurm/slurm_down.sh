#!/usr/bin/env bash
# Stop the daemons that slurm_up.sh started (the PIDs in $VIBANK_SLURM_DIR/pids), newest first,
# and nothing else. Running it when nothing is up does nothing.
set -euo pipefail

DIR=${VIBANK_SLURM_DIR:-/var/lib/vibank-slurm}
say() { echo "slurm_down: $*"; }

if [ ! -s "$DIR/pids" ]; then
  say "nothing to stop (no $DIR/pids)"
  exit 0
fi

# jobs left in this private cluster would hold the node after the next start: cancel them
if command -v scancel >/dev/null && scontrol ping 2>/dev/null | grep -q UP; then
  jobs=$(squeue -h -o %i 2>/dev/null || true)
  [ -z "$jobs" ] || { say "cancelling jobs left in the queue: $(echo $jobs)"; scancel $jobs || true; }
fi

# check each PID still runs the program recorded for it (a PID recorded long ago may belong to
# another program now), then SIGTERM them all, newest first, and wait for them together
stopping=()
while read -r name pid; do
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  case "$comm" in
    "$name" | "${name:0:15}")
      kill -TERM "$pid" 2>/dev/null && stopping+=("$name:$pid") ;;
    "") say "$name (PID $pid) already gone" ;;
    *) say "PID $pid is now '$comm', not $name: leaving it alone" ;;
  esac
done < <(tac "$DIR/pids")

for _ in $(seq 150); do
  running=0
  for entry in "${stopping[@]}"; do kill -0 "${entry#*:}" 2>/dev/null && running=1; done
  [ "$running" = 1 ] || break
  sleep 0.1
done
for entry in "${stopping[@]}"; do
  name=${entry%%:*} pid=${entry#*:}
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (PID $pid) ignored SIGTERM for 15 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  say "stopped $name (PID $pid)"
done
rm -f "$DIR/pids"
