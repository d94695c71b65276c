#!/usr/bin/env bash
# Long reliability run: start MUTT (or attach to a running one), drive ingest load with wrk for N minutes,
# sample the RSS of every service process listed in endpoints.json every few seconds into a CSV, then
# report each resource's RSS growth (issue 9: < 10% over a 10-minute soak) and whether any process restarted.
#
#   bench/soak/soak.sh [--minutes 10] [--rate 2000] [--batch 10] [--connections 16] [--threads 2]
#                      [--sample-seconds 10] [--warmup-seconds 60] [--max-growth 10]
#                      [--state-dir DIR] [--attach] [--ingestor-url URL] [--api-key KEY] [--out DIR]
#
#   --rate          requests/s across all connections (events/s = rate x batch); 0 = as fast as wrk can
#   --attach        do not start MUTT: use the one whose state folder is --state-dir
#   --state-dir     MUTT's state folder (endpoints.json lives there); default: a fresh temp folder
#   --api-key       defaults to $INGEST_API_KEY, then to the ingest-api-key parameter stored in the state folder
#   --keep-policy   keep the default Forwarder rate limit and Alerter shed threshold (otherwise lifted via
#                   dynamic config, as the load would otherwise be shed to the DLQ by design)
#   SOAK_NO_BUILD=1 skips the Release build
#
# Output (--out, default bench/soak/results/<UTC timestamp>): samples.csv, wrk.txt, report.txt, mutt.log.
# Exit status: 0 when every resource stayed within --max-growth and none restarted, 1 otherwise.
# Runs the Release build unless CONFIGURATION is set. Needs: jq, wrk, procfs. Only the AppHost this script started is stopped (by its PID), never anything else.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

minutes=10 rate=2000 batch=10 connections=16 threads=2 sample=10 warmup=60 max_growth=10
state_dir="" attach=0 keep_policy=0 ingestor_url="" api_key="${INGEST_API_KEY:-}" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --sample-seconds) sample=$2; shift 2 ;;
    --warmup-seconds) warmup=$2; shift 2 ;;
    --max-growth) max_growth=$2; shift 2 ;;
    --state-dir) state_dir=$2; shift 2 ;;
    --attach) attach=1; shift ;;
    --keep-policy) keep_policy=1; shift ;;
    --ingestor-url) ingestor_url=$2; shift 2 ;;
    --api-key) api_key=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "soak: unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in jq wrk redis-cli; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is required (apt-get install -y $tool)" >&2; exit 2; }
done
if [ "$attach" -eq 1 ] && [ -z "$state_dir" ]; then echo "soak: --attach needs --state-dir" >&2; exit 2; fi
created_state=0
if [ -z "$state_dir" ]; then
  created_state=1
  state_dir=$(mktemp -d /tmp/mutt-soak-state.XXXXXX)
  chmod 755 "$state_dir"   # PostgreSQL runs as the postgres user and must reach its folder inside
fi
out=${out:-"$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$out"
endpoints="$state_dir/endpoints.json"
apphost_pid=""

# endpoints.json as lines "name<TAB>pid<TAB>state<TAB>first http url", one per replica of a project
# (alerter-0, alerter-1, ...) and one per infrastructure resource (redis, postgres).
resources() {
  jq -r '
    .resources | to_entries[] | .key as $k | .value
    | (if (.replicas | type) == "array" then .replicas[] else (. + {name: $k}) end)
    | [ .name,
        ((.pid // "") | tostring),
        ((.state // "") | tostring),
        ([.urls[]?] | map(select(type == "string" and startswith("http"))) | .[0] // "")
      ] | @tsv' "$endpoints" 2>/dev/null || true
}

stop_mutt() {
  [ -n "$apphost_pid" ] || return 0
  if kill -0 "$apphost_pid" 2>/dev/null; then
    echo "soak: stopping MUTT (AppHost pid $apphost_pid)"
    kill -TERM "$apphost_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$apphost_pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$apphost_pid" 2>/dev/null && { echo "soak: AppHost ignored SIGTERM for 60 s; SIGKILL" >&2; kill -KILL "$apphost_pid" 2>/dev/null || true; }
  fi
  apphost_pid=""
}
sampler_pid=""
cleanup() {
  [ -z "$sampler_pid" ] || kill "$sampler_pid" 2>/dev/null || true
  stop_mutt
  # A state folder this script created (not one given with --state-dir) goes with the run.
  [ "$created_state" -eq 0 ] || [ -n "$apphost_pid" ] || rm -rf "$state_dir"
}
trap cleanup EXIT INT TERM

if [ "$attach" -eq 0 ]; then
  echo "soak: building, then starting MUTT with state in $state_dir (log: $out/mutt.log)"
  config=${CONFIGURATION:-Release}
  if [ "${SOAK_NO_BUILD:-}" != 1 ]; then
    CONFIGURATION=$config "$ROOT/mutt.sh" build >"$out/build.log" 2>&1 || { echo "soak: build failed; see $out/build.log" >&2; exit 1; }
  fi
  # The AppHost's own dll, not `dotnet run`: then $! is the AppHost itself and SIGTERM reaches it directly.
  # Free ports: the spec ports may be taken by another MUTT on the same machine.
  (cd "$ROOT" && AppHost__UseFreePorts=true MUTT_NO_DASHBOARD=1 LOG_LEVEL=${LOG_LEVEL:-Warning} \
     exec dotnet "Mutt.AppHost/bin/$config/net10.0/Mutt.AppHost.dll" --state-dir "$state_dir") >"$out/mutt.log" 2>&1 &
  apphost_pid=$!
  # Poll for every resource to report healthy/running (build + first start can take minutes).
  deadline=$((SECONDS + ${SOAK_START_TIMEOUT:-600}))
  until [ -s "$endpoints" ] && [ -n "$(resources)" ] && ! resources | awk -F'\t' '$3 != "" && tolower($3) !~ /^(healthy|running)$/ {bad=1} END {exit !bad}'; do
    kill -0 "$apphost_pid" 2>/dev/null || { echo "soak: MUTT exited during start; see $out/mutt.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "soak: MUTT not healthy in time; see $out/mutt.log" >&2; exit 1; }
    sleep 2
  done
fi
[ -s "$endpoints" ] || { echo "soak: $endpoints not found" >&2; exit 1; }

if [ -z "$ingestor_url" ]; then
  ingestor_url=$(resources | awk -F'\t' '$1 ~ /^ingestor/ && $4 != "" {print $4; exit}')
fi
[ -n "$ingestor_url" ] || { echo "soak: no ingestor URL in $endpoints (use --ingestor-url)" >&2; exit 1; }
if [ -z "$api_key" ]; then
  api_key=$(jq -r '.["ingest-api-key"] // empty' "$state_dir/parameters.json" 2>/dev/null || true)
fi
[ -n "$api_key" ] || { echo "soak: no ingest API key (--api-key or INGEST_API_KEY)" >&2; exit 1; }

# Lift the Forwarder's rate limit (default 50 requests/s) and the Alerter's shed threshold (2,000 queued
# alerts) so a soak of thousands of events/s measures the services, not the delivery policy (--keep-policy: do not).
if [ "$keep_policy" -eq 0 ]; then
  redis_port=$(jq -r '.resources.redis.connectionString' "$endpoints" | sed 's/.*://; s/,.*//')
  for kv in moog_rate_limit=1000000 alerter_queue_warn_threshold=100000000 alerter_queue_shed_threshold=100000000; do
    redis-cli -h 127.0.0.1 -p "$redis_port" SET "mutt:config:${kv%%=*}" "${kv#*=}" >/dev/null
    redis-cli -h 127.0.0.1 -p "$redis_port" PUBLISH mutt:config:updates "${kv%%=*}" >/dev/null
  done
fi

echo "epoch,elapsed_s,resource,pid,rss_kb" >"$out/samples.csv"
start=$(date +%s)
(
  # Re-read endpoints.json each time: a restarted service has a new pid (the report flags it).
  while :; do
    now=$(date +%s)
    resources | while IFS=$'\t' read -r name pid _state _url; do
      [[ "$pid" =~ ^[0-9]+$ ]] || continue
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
      echo "$now,$((now - start)),$name,$pid,${rss:-0}"
    done >>"$out/samples.csv"
    sleep "$sample"
  done
) &
sampler_pid=$!

delay_ms=0
if [ "$rate" -gt 0 ]; then delay_ms=$((connections * 1000 / rate)); fi
echo "soak: ${minutes} min against $ingestor_url/api/v2/ingest: ${connections} connections, batch ${batch}, target ${rate} req/s (delay ${delay_ms} ms/conn)"
INGEST_API_KEY="$api_key" SOAK_BATCH="$batch" SOAK_DELAY_MS="$delay_ms" \
  wrk -t "$threads" -c "$connections" -d "${minutes}m" --timeout 10s --latency -s "$HERE/ingest.lua" \
  "${ingestor_url%/}/api/v2/ingest" | tee "$out/wrk.txt"
sleep "$sample"   # one more sample after the load ends
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""

set +e
"$HERE/rss_report.sh" "$out/samples.csv" "$warmup" "$max_growth" | tee "$out/report.txt"
verdict=${PIPESTATUS[0]}
set -e
echo "soak: samples in $out/samples.csv; verdict $([ "$verdict" -eq 0 ] && echo PASS || echo FAIL)"
exit "$verdict"
