#!/usr/bin/env bash
# Old build vs new build, interleaved in one sitting (same machine state for both):
#   bench/compare/run.sh OLD_CHECKOUT NEW_CHECKOUT [pairs=3] [out=/tmp/mutt-compare-<time>]
# Each checkout must be built in Release (dotnet build Mutt.sln -c Release; dotnet build bench/alerter
# -c Release; dotnet build bench/e2e -c Release). For each pair it runs, old first then new:
#   ingest   bench/ingest/run.sh (REST single events, REST batches of 100, syslog TCP and RELP beside
#            rsyslog), 8 s phases
#   alerter  bench/alerter, 300,000 events, batch 1000, 200 rules
#   e2e      bench/e2e at full speed for E2E_DURATION s (default 20) after E2E_WARMUP s (default 0) of
#            warm-up, 2 Alerters, moog_batch_size=500 (zero loss checked; COMPARE_E2E_CONFIG="" for the defaults)
# Raw output goes to OUT/<bench>-<old|new>-<pair>.txt; the figures are summarised at the end.
set -euo pipefail
old=$(cd "$1" && pwd); new=$(cd "$2" && pwd); pairs=${3:-3}
out=${4:-/tmp/mutt-compare-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
echo "compare: old=$old ($(git -C "$old" rev-parse --short HEAD)) new=$new ($(git -C "$new" rev-parse --short HEAD)); output $out"
one() { # bench side pair
  local bench=$1 side=$2 pair=$3 dir; dir=$([ "$side" = old ] && echo "$old" || echo "$new")
  local f="$out/$bench-$side-$pair.txt"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$f"
  case "$bench" in
    # The new checkout's script for both builds (same phases, CPU per event), the REST and TCP phases only.
    ingest) (cd "$new" && INGESTOR_ROOT="$dir" SKIP_BUILD=1 SKIP_RELP=1 SKIP_OMRELP=1 SKIP_RSYSLOG=1 DURATION=${DURATION:-5s} SYSLOG_COUNT=500000 bench/ingest/run.sh) >>"$f" 2>&1 || echo "FAILED" >>"$f" ;;
    alerter) (cd "$dir" && dotnet bench/alerter/bin/Release/net10.0/Mutt.Bench.Alerter.dll 300000 1000) >>"$f" 2>&1 || echo "FAILED" >>"$f" ;;
    e2e) (cd "$dir" && E2E_NO_BUILD=1 E2E_CONFIG="${COMPARE_E2E_CONFIG-moog_batch_size=500}" bench/e2e/run.sh --rate 0 --duration "${E2E_DURATION:-20}" --warmup "${E2E_WARMUP:-0}" --alerters 2 --connections 16 --out "$out/e2e-$side-$pair") >>"$f" 2>&1 || echo "FAILED" >>"$f" ;;
  esac
  echo "compare: $bench $side #$pair done ($(date -u +%T))"
}
for bench in ${BENCHES:-ingest alerter e2e}; do
  for pair in $(seq 1 "$pairs"); do
    one "$bench" old "$pair"
    one "$bench" new "$pair"
  done
done
echo "compare: figures"
grep -H -E "Requests/sec|events/s|msg/s|CPU|FAILED|zero loss|loss|end-to-end" "$out"/*.txt || true
# Medians per side and new/old ratios: the machine is shared, so compare medians of interleaved runs.
python3 "$(dirname "$0")/summary.py" "$out"
