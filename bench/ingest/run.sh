#!/usr/bin/env bash
# Ingestor benchmark: Release build, real redis-server, wrk for REST, a Python TCP sender for
# syslog. Each phase runs ≤ 10 s. Figures are appended to bench/ingest/RESULTS.md by hand from
# the printed summary (the machine and its load matter; see RESULTS.md).
# Switches: SKIP_REST, SKIP_BATCH, SKIP_SYSLOG=1 skip phases; INGESTOR_LOG_LEVEL (default Warning;
# empty = the service default, Information); GC_SERVER=1 for server GC; DURATION, CONNECTIONS.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-128}
WORK=$(mktemp -d /tmp/mutt-bench-XXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port); HTTP_PORT=$(free_port); SYSLOG_PORT=$(free_port); SNMP_PORT=$(free_port)
export INGEST_API_KEY=bench-key
QUEUE=mutt:ingest_queue

cleanup() {
  [[ -n "${INGESTOR_PID:-}" ]] && kill "$INGESTOR_PID" 2>/dev/null && wait "$INGESTOR_PID" 2>/dev/null || true
  [[ -n "${REDIS_PID:-}" ]] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[[ -n "${SKIP_BUILD:-}" ]] || dotnet build -c Release Mutt.Ingestor -v q -nologo >/dev/null
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
rc() { redis-cli -p "$REDIS_PORT" "$@"; }
until rc ping >/dev/null 2>&1; do sleep 0.1; done

ConnectionStrings__redis="127.0.0.1:$REDIS_PORT" ASPNETCORE_URLS="http://127.0.0.1:$HTTP_PORT" \
  MAX_INGEST_QUEUE_SIZE=100000000 LOG_LEVEL=${INGESTOR_LOG_LEVEL-Warning} SYSLOG_BIND=127.0.0.1 SYSLOG_PORT=$SYSLOG_PORT SNMP_BIND=127.0.0.1 SNMP_PORT=$SNMP_PORT \
  DOTNET_gcServer=${GC_SERVER:-0} dotnet Mutt.Ingestor/bin/Release/net10.0/Mutt.Ingestor.dll >"$WORK/ingestor.log" 2>&1 &
INGESTOR_PID=$!
until curl -sf "http://127.0.0.1:$HTTP_PORT/health" >/dev/null; do sleep 0.2; done
rss() { awk '/VmHWM/ {printf "%.0f MB peak RSS", $2/1024}' "/proc/$INGESTOR_PID/status"; }
# CPU the Ingestor spent (user+system, clock ticks): on a shared, noisy machine the CPU cost per
# event compares two builds far more steadily than throughput does.
ticks() { awk '{print $14 + $15}' "/proc/$INGESTOR_PID/stat"; }
HZ=$(getconf CLK_TCK)
cpu_per() { # ticks_before events label
  awk -v t0="$1" -v t1="$(ticks)" -v n="$2" -v hz="$HZ" -v what="$3" 'BEGIN { if (n > 0) printf "ingestor CPU: %.1f us per %s (%d events)\n", (t1 - t0) * 1e6 / hz / n, what, n }'
}

if [[ -z "${SKIP_REST:-}" ]]; then
echo "== warm-up"; wrk -t2 -c16 -d2s -s bench/ingest/single.lua "http://127.0.0.1:$HTTP_PORT/api/v2/ingest" >/dev/null; rc del $QUEUE >/dev/null

echo "== REST single event ($DURATION, $CONNECTIONS connections)"
t0=$(ticks)
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/ingest/single.lua "http://127.0.0.1:$HTTP_PORT/api/v2/ingest" | grep -E "Requests/sec|Latency|99%|Non-2xx|Socket errors"
n=$(rc llen $QUEUE); cpu_per "$t0" "$n" "REST event"
echo "queue length: $n; $(rss)"; rc del $QUEUE >/dev/null

if [[ -z "${SKIP_BATCH:-}" ]]; then
echo "== REST batches of 100 ($DURATION, 16 connections)"
t0=$(ticks)
wrk -t2 -c16 -d"$DURATION" --latency -s bench/ingest/batch100.lua "http://127.0.0.1:$HTTP_PORT/api/v2/ingest" | grep -E "Requests/sec|events/s|Latency|99%|Non-2xx|Socket errors"
n=$(rc llen $QUEUE); cpu_per "$t0" "$n" "batched event"
echo "queue length: $n; $(rss)"; rc del $QUEUE >/dev/null
fi

fi
[[ -n "${SKIP_SYSLOG:-}" ]] && exit 0
COUNT=${SYSLOG_COUNT:-1000000}
echo "== syslog TCP: $COUNT octet-counted RFC 5424 messages over 8 connections"
t0=$(ticks)
python3 bench/ingest/syslog_sender.py 127.0.0.1 "$SYSLOG_PORT" "$COUNT" 8 "$REDIS_PORT" "$QUEUE"
cpu_per "$t0" "$COUNT" "syslog message"
echo "$(rss)"
echo "parse errors: $(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | grep -E '^mutt_syslog_parse_errors_total' || echo 0)"
