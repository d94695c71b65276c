#!/usr/bin/env bash
# End-to-end benchmark: ingest -> Alerter -> audit -> Forwarder -> sink, on the whole system started by the AppHost.
#
#   bench/e2e/run.sh [--rate 10000] [--duration 30] [--events 0] [--alerters 2] [--connections 8] [--out DIR]
#   bench/e2e/run.sh --source syslog --lines 2000000 [--rate 0] [--connections 4] [--alerters 2]
#
#   --rate         target events/s posted (batches of 100); 0 = as fast as the connections go
#   --duration     seconds of load (the drain that follows is not limited by it)
#   --events       stop after this many events (0 = only --duration)
#   --alerters     Alerter replica count; a comma list (1,2,3) runs the benchmark once per count,
#                  each on a fresh system
#   --connections  concurrent HTTP connections of the load generator
#   --warmup       seconds of the same load (other correlation ids) sent and drained before the measured run
#   --warmup-lines with --source syslog: lines (other host names) sent and drained before the measured run
#   --source       rest (default: JSON batches to /api/v2/ingest) or syslog: --lines RFC 5424 lines,
#                  octet-counted over TCP to the Ingestor's syslog port (--connections sockets; --rate
#                  lines/s, 0 = as fast as they go); every line audited, every 10th (LINK-DOWN) forwarded,
#                  the rest audited as unhandled; checked exactly by the sequence number in each line
#   --lines        syslog lines to send (--source syslog)
#
# For each run: builds Release (unless E2E_NO_BUILD=1), starts MUTT with a fresh state folder and free
# ports (the real Mutt.AppHost, Release, no Aspire dashboard, Replicas:alerter=N),
# lifts the Forwarder's rate limit and the Alerter's shed threshold through dynamic config (so the run
# measures MUTT, not the policy), drives the load (bench/e2e `drive`: unique correlation ids, every event
# matches seeded rule 2 and is forwarded), waits until audit rows == accepted events and sink events ==
# alerts, checks both exactly (anti-join on correlation ids), prints the figures and each service's peak
# RSS, and stops the system (trap EXIT). Exit status 1 when any count does not match.
# Environment: LOG_LEVEL (services, default Warning), E2E_NO_BUILD=1, E2E_START_TIMEOUT (s, default 600),
# E2E_CONFIG="moog_batch_size=500 ..." (more dynamic config keys set before the load),
# E2E_MUTT_ROOT=/other/checkout (run that checkout's Release build of MUTT with this driver: old vs new).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

rate=10000 duration=30 events=0 alerters=2 connections=8 warmup=0 warmup_lines=0 out="" source=rest lines=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --alerters) alerters=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --warmup-lines) warmup_lines=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --source) source=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "e2e: unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in jq redis-cli; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is required" >&2; exit 2; }
done
out=${out:-"$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$out"
BENCH_DLL="$HERE/bin/Release/net10.0/Mutt.Bench.E2e.dll"

if [ "${E2E_NO_BUILD:-}" != 1 ]; then
  echo "e2e: building Release (log: $out/build.log)"
  { dotnet build Mutt.sln -c Release -nologo -clp:ErrorsOnly && dotnet build bench/e2e -c Release -nologo -clp:ErrorsOnly; } >"$out/build.log" 2>&1 \
    || { echo "e2e: build failed; see $out/build.log" >&2; exit 1; }
fi

apphost_pid="" state_dir=""
stop_mutt() {
  if [ -n "$apphost_pid" ] && kill -0 "$apphost_pid" 2>/dev/null; then
    echo "e2e: stopping MUTT (AppHost pid $apphost_pid)"
    kill -TERM "$apphost_pid" 2>/dev/null || true
    for _ in $(seq 1 90); do kill -0 "$apphost_pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$apphost_pid" 2>/dev/null; then
      echo "e2e: AppHost ignored SIGTERM for 90 s; SIGKILL it and the pids in endpoints.json" >&2
      kill -KILL "$apphost_pid" 2>/dev/null || true
      [ -s "$state_dir/endpoints.json" ] && jq -r '.resources[] | (.replicas // [.])[] | .pid // empty' "$state_dir/endpoints.json" | xargs -r kill -KILL 2>/dev/null || true
    fi
  fi
  apphost_pid=""
  [ -z "$state_dir" ] || rm -rf "$state_dir"
  state_dir=""
}
trap stop_mutt EXIT
trap 'exit 130' INT TERM

# name<TAB>pid for every service replica, redis and postgres.
pids() {
  jq -r '.resources | to_entries[] | .key as $k | .value | if .replicas then .replicas[] | [.name, (.pid // "" | tostring)] else [$k, (.pid // "" | tostring)] end | @tsv' \
    "$state_dir/endpoints.json"
}

verdict=0
IFS=, read -r -a counts <<<"$alerters"
for n in "${counts[@]}"; do
  state_dir=$(mktemp -d /tmp/mutt-e2e-state.XXXXXX)
  chmod 755 "$state_dir"   # PostgreSQL runs as the postgres user and must reach its folder inside
  log="$out/apphost-alerters$n.log"
  echo "e2e: starting MUTT with $n alerter(s), state $state_dir (log: $log)"
  # The real AppHost (Release), without the Aspire dashboard, on free ports, with N alerter replicas.
  # No local Prometheus either: the benchmark measures MUTT, not a scraper sharing its cores.
  MUTT_NO_DASHBOARD=1 MUTT_NO_PROMETHEUS=1 LOG_LEVEL=${LOG_LEVEL:-Warning} \
    dotnet "${E2E_MUTT_ROOT:-$ROOT}/Mutt.AppHost/bin/Release/net10.0/Mutt.AppHost.dll" --state-dir "$state_dir" --AppHost:UseFreePorts=true --Replicas:alerter="$n" >"$log" 2>&1 &
  apphost_pid=$!
  deadline=$((SECONDS + ${E2E_START_TIMEOUT:-600}))
  until grep -qs "Ctrl+C stops everything" "$log"; do
    kill -0 "$apphost_pid" 2>/dev/null || { echo "e2e: MUTT exited during start; see $log" >&2; tail -20 "$log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "e2e: MUTT not up in time; see $log" >&2; exit 1; }
    sleep 1
  done
  redis_port=$(jq -r '.resources.redis.connectionString' "$state_dir/endpoints.json" | sed 's/.*://; s/,.*//')
  rc() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
  # shellcheck disable=SC2086  # E2E_CONFIG is a space-separated list of key=value
  for kv in moog_rate_limit=1000000 alerter_queue_warn_threshold=100000000 alerter_queue_shed_threshold=100000000 ${E2E_CONFIG:-}; do
    rc SET "mutt:config:${kv%%=*}" "${kv#*=}" >/dev/null
    rc PUBLISH mutt:config:updates "${kv%%=*}" >/dev/null
  done
  echo "e2e: system up ($(pids | awk -F'\t' '{printf "%s ", $1}')); load average $(cut -d' ' -f1-3 /proc/loadavg)"

  set +e
  dotnet "$BENCH_DLL" drive --state-dir "$state_dir" --rate "$rate" --duration "$duration" --events "$events" \
    --connections "$connections" --warmup "$warmup" --warmup-lines "$warmup_lines" --source "$source" --lines "$lines" \
    --label "source=$source alerters=$n rate=$rate $([ "$source" = syslog ] && echo "lines=$lines warmup_lines=$warmup_lines" || echo "duration=${duration}s warmup=${warmup}s")" --json "$out/alerters$n.json" | tee "$out/drive-alerters$n.txt"
  rc_drive=${PIPESTATUS[0]}
  set -e
  [ "$rc_drive" -eq 0 ] || verdict=1
  echo "e2e: load average after the run $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "e2e: peak RSS (VmHWM) / RSS now per process:" | tee -a "$out/drive-alerters$n.txt"
  pids | while IFS=$'\t' read -r name pid; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    awk -v n="$name" '/^VmHWM:/ {h=$2} /^VmRSS:/ {r=$2} END {printf "  %-14s %6.0f MB peak, %6.0f MB now\n", n, h/1024, r/1024}' "/proc/$pid/status" 2>/dev/null
  done | tee -a "$out/drive-alerters$n.txt"
  # CPU seconds (user + system) each process used since it started, warm-up and drain included:
  # where the cores went, comparable between builds run with the same load.
  tck=$(getconf CLK_TCK)
  echo "e2e: CPU seconds per process and its children (user+system, whole run; postgres = all its backends):" | tee -a "$out/drive-alerters$n.txt"
  pids | while IFS=$'\t' read -r name pid; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    # Fields 14-17 of /proc/PID/stat (own and waited-for children's user+system), counted after the
    # ")" that ends the command name, plus the live children's own (PostgreSQL's backends).
    { sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12+$13+$14+$15}'
      for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        sed 's/.*) //' "/proc/$child/stat" 2>/dev/null | awk '{print $12+$13}'
      done; } | awk -v n="$name" -v t="$tck" '{s+=$1} END {printf "  %-14s %8.1f s\n", n, s/t}'
  done | tee -a "$out/drive-alerters$n.txt"
  restarts=$(jq '[.resources[] | .restarts // 0] | add' "$state_dir/endpoints.json")
  echo "e2e: service restarts during the run: $restarts" | tee -a "$out/drive-alerters$n.txt"
  [ "$restarts" -eq 0 ] || verdict=1
  stop_mutt
done
echo "e2e: results in $out"
exit "$verdict"
