#!/usr/bin/env bash
# Ingestor benchmark: Release build, real redis-server, wrk for REST, a Python sender for syslog
# (TCP octet-counted, or RELP with omrelp's window) and real rsyslog, both as a RELP sender
# (imtcp -> shipped omrelp action) and as the reference receiver (imtcp/imrelp -> omfile) fed the
# same corpus. Each phase runs ≤ ~10 s. Figures are appended to bench/ingest/RESULTS.md by hand
# from the printed summary (the machine and its load matter; see RESULTS.md).
# Switches (=1 skips): SKIP_REST, SKIP_BATCH, SKIP_ALERTMANAGER (webhook notifications of 100 alerts), SKIP_SYSLOG (TCP), SKIP_RELP, SKIP_OMRELP (the RELP
# phases with rsyslog as the sender), SKIP_RSYSLOG (the rsyslog reference receivers), SKIP_BUILD.
# INGESTOR_ROOT=DIR runs the Release Ingestor of another checkout (built there) under this script,
# so two builds are measured by the same phases (bench/compare/run.sh).
# SYSLOG_COUNT (default 500,000) is the corpus every syslog phase sends; INGESTOR_LOG_LEVEL
# (default Warning; empty = the service default, Information); GC_SERVER=1 for server GC;
# DURATION, CONNECTIONS for the REST phases.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-128}
WORK=$(mktemp -d /tmp/mutt-bench-XXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port); HTTP_PORT=$(free_port); SYSLOG_PORT=$(free_port); SNMP_PORT=$(free_port); RELP_PORT=$(free_port)
export INGEST_API_KEY=bench-key
QUEUE=mutt:ingest_queue

RSYSLOG_PIDS=()
cleanup() {
  for pid in "${RSYSLOG_PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
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
  MAX_INGEST_QUEUE_SIZE=100000000 LOG_LEVEL=${INGESTOR_LOG_LEVEL-Warning} SYSLOG_BIND=127.0.0.1 SYSLOG_PORT=$SYSLOG_PORT SNMP_BIND=127.0.0.1 SNMP_PORT=$SNMP_PORT RELP_PORT=$RELP_PORT \
  DOTNET_gcServer=${GC_SERVER:-0} bash -c 'cd "$1" && exec dotnet Mutt.Ingestor/bin/Release/net10.0/Mutt.Ingestor.dll' _ "${INGESTOR_ROOT:-$ROOT}" >"$WORK/ingestor.log" 2>&1 &
INGESTOR_PID=$!
until curl -sf "http://127.0.0.1:$HTTP_PORT/health" >/dev/null; do sleep 0.2; done
rss() { awk '/VmHWM/ {printf "%.0f MB peak RSS", $2/1024}' "/proc/$INGESTOR_PID/status"; }
# CPU the Ingestor spent (user+system, clock ticks): on a shared, noisy machine the CPU cost per
# event compares two builds far more steadily than throughput does.
ticks() { awk '{print $14 + $15}' "/proc/${1:-$INGESTOR_PID}/stat"; }
HZ=$(getconf CLK_TCK)
cpu_per() { # ticks_before events label [pid process-name]
  awk -v t0="$1" -v t1="$(ticks "${4:-}")" -v n="$2" -v hz="$HZ" -v what="$3" -v who="${5:-ingestor}" 'BEGIN { if (n > 0) printf "%s CPU: %.1f us per %s (%d events)\n", who, (t1 - t0) * 1e6 / hz / n, what, n }'
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

if [[ -z "${SKIP_ALERTMANAGER:-}" ]]; then
# Right after the plain batches, same connections and duration: the two compare within one sitting.
echo "== Alertmanager notifications of 100 alerts ($DURATION, 16 connections, bearer auth)"
t0=$(ticks)
wrk -t2 -c16 -d"$DURATION" --latency -s bench/ingest/alertmanager100.lua "http://127.0.0.1:$HTTP_PORT/api/v2/ingest/alertmanager" | grep -E "Requests/sec|alerts/s|Latency|99%|Non-2xx|Socket errors"
n=$(rc llen $QUEUE); cpu_per "$t0" "$n" "Alertmanager alert"
echo "queue length: $n; $(rss)"; rc del $QUEUE >/dev/null
fi

fi
COUNT=${SYSLOG_COUNT:-500000}
declare -A RATE
# The last "=> N msg/s" of syslog_sender.py, as a plain number.
rate_of() { sed -n 's/.*=> \([0-9,]*\) msg\/s.*/\1/p' <<<"$1" | tr -d ,; }

# A private rsyslogd (own config, pid file and work directory under $WORK; stopped by its pid,
# never by name): rsyslogd NAME INPUT-MODULE-AND-INPUT OUTPUT. Sets RS_PID and RS_PORT (its input).
rsyslogd_start() {
  local dir="$WORK/$1"; mkdir -p "$dir/work"; RS_PORT=$(free_port)
  cat >"$dir/rsyslog.conf" <<CONF
global(workDirectory="$dir/work" maxMessageSize="64k")
$(sed "s/@PORT@/$RS_PORT/" <<<"$2")
$3
CONF
  rsyslogd -N1 -f "$dir/rsyslog.conf" >"$dir/check.log" 2>&1 || { cat "$dir/check.log"; exit 1; }
  rsyslogd -n -f "$dir/rsyslog.conf" -i "$dir/rsyslogd.pid" >"$dir/rsyslogd.log" 2>&1 &
  RS_PID=$!; RSYSLOG_PIDS+=("$RS_PID")
  until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$RS_PORT),1)" 2>/dev/null; do
    kill -0 "$RS_PID" 2>/dev/null || { echo "rsyslogd $1 exited:"; cat "$dir/rsyslogd.log"; exit 1; }
    sleep 0.1
  done
}
rsyslogd_stop() { kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
IMTCP='module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="@PORT@")'
IMRELP='module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="@PORT@")'
# rsyslog's own default file format, one line per message: the line count is the message count.
OMFILE() { echo "action(type=\"omfile\" file=\"$WORK/$1.log\")"; }
# The shipped omrelp action (deploy/rsyslog/99-mutt.conf, window 1024, disk-assisted queue)
# with only target and port changed: the RELP sender for MUTT and for rsyslog's imrelp alike.
OMRELP() { sed -e 's/target="[^"]*"/target="127.0.0.1"/' -e "s/port=\"2514\"/port=\"$1\"/" deploy/rsyslog/99-mutt.conf; }

# Warm-up (JIT) of both listener paths, as the REST phases have one; rsyslog is native code.
if [[ -z "${SKIP_SYSLOG:-}" || -z "${SKIP_RELP:-}" ]]; then
  echo "== warm-up: 100,000 messages over TCP and over RELP"
  python3 bench/ingest/syslog_sender.py 127.0.0.1 "$SYSLOG_PORT" 100000 8 "redis:$REDIS_PORT:$QUEUE" >/dev/null; rc del $QUEUE >/dev/null
  PROTO=relp python3 bench/ingest/syslog_sender.py 127.0.0.1 "$RELP_PORT" 100000 8 "redis:$REDIS_PORT:$QUEUE" >/dev/null; rc del $QUEUE >/dev/null
fi

# phase LABEL KEY PROTO PORT SINK [pid name]...: one sender run; the rate goes to RATE[KEY]; CPU per
# message printed for every process named (pid, name) pairs.
phase() {
  local label=$1 key=$2 proto=$3 port=$4 sink=$5; shift 5
  local -a pids=("$@") t=(); local k out
  echo "== $label"
  for ((k = 0; k < ${#pids[@]}; k += 2)); do t+=("$(ticks "${pids[k]}")"); done
  out=$(PROTO=$proto python3 bench/ingest/syslog_sender.py 127.0.0.1 "$port" "$COUNT" 8 "$sink"); echo "$out"
  RATE[$key]=$(rate_of "$out")
  for ((k = 0; k < ${#pids[@]}; k += 2)); do cpu_per "${t[k / 2]}" "$COUNT" "message" "${pids[k]}" "${pids[k + 1]}"; done
}

if [[ -z "${SKIP_SYSLOG:-}" ]]; then
phase "MUTT syslog TCP: $COUNT octet-counted RFC 5424 messages over 8 connections -> $QUEUE" \
  mutt_tcp tcp "$SYSLOG_PORT" "redis:$REDIS_PORT:$QUEUE" "$INGESTOR_PID" ingestor "$REDIS_PID" redis-server
echo "$(rss)"; rc del $QUEUE >/dev/null
if [[ -z "${SKIP_RSYSLOG:-}" ]]; then
  rsyslogd_start rs-tcp "$IMTCP" "$(OMFILE rs-tcp)"
  phase "rsyslog imtcp -> omfile: the same corpus over 8 connections" \
    rsyslog_tcp tcp "$RS_PORT" "file:$WORK/rs-tcp.log" "$RS_PID" "rsyslogd (receiver)"
  rsyslogd_stop "$RS_PID"; rm -f "$WORK/rs-tcp.log"
fi
fi

if [[ -z "${SKIP_RELP:-}" ]]; then
# (1) The bench's own RELP client: 8 sessions, each keeping up to 1024 frames unacknowledged
# (omrelp's windowSize in the shipped config). MUTT acknowledges after the LPUSH, so "all acked"
# is "all in Redis"; the figure is the listener's capacity, the sender costs almost nothing.
phase "MUTT RELP (bench client, 8 sessions, window 1024) -> $QUEUE" \
  mutt_relp relp "$RELP_PORT" "redis:$REDIS_PORT:$QUEUE" "$INGESTOR_PID" ingestor "$REDIS_PID" redis-server
echo "$(rss)"; rc del $QUEUE >/dev/null
if [[ -z "${SKIP_RSYSLOG:-}" ]]; then
  rsyslogd_start rs-relp "$IMRELP" "$(OMFILE rs-relp)"
  phase "rsyslog imrelp -> omfile (bench client, 8 sessions, window 1024)" \
    rsyslog_relp relp "$RS_PORT" "file:$WORK/rs-relp.log" "$RS_PID" "rsyslogd (receiver)"
  rsyslogd_stop "$RS_PID"; rm -f "$WORK/rs-relp.log"
fi

# (2) Real rsyslog as the RELP sender: the corpus goes over TCP into an rsyslog that forwards it
# with the shipped omrelp action (one session). End to end, sender included: the same sender
# config for MUTT and for rsyslog's imrelp, so the ratio compares the receivers.
if [[ -z "${SKIP_OMRELP:-}" ]]; then
  rsyslogd_start omrelp-mutt "$IMTCP" "$(OMRELP "$RELP_PORT")"
  phase "MUTT RELP (rsyslog imtcp -> omrelp, shipped config) -> $QUEUE" \
    mutt_omrelp tcp "$RS_PORT" "redis:$REDIS_PORT:$QUEUE" "$INGESTOR_PID" ingestor "$REDIS_PID" redis-server "$RS_PID" "rsyslogd (omrelp sender)"
  echo "$(rss)"; rc del $QUEUE >/dev/null; rsyslogd_stop "$RS_PID"
  if [[ -z "${SKIP_RSYSLOG:-}" ]]; then
    rsyslogd_start omrelp-rs-receiver "$IMRELP" "$(OMFILE omrelp-rs)"; RECEIVER=$RS_PID; RECEIVER_PORT=$RS_PORT
    rsyslogd_start omrelp-rs "$IMTCP" "$(OMRELP "$RECEIVER_PORT")"
    phase "rsyslog imrelp -> omfile (rsyslog imtcp -> omrelp, same sender config)" \
      rsyslog_omrelp tcp "$RS_PORT" "file:$WORK/omrelp-rs.log" "$RECEIVER" "rsyslogd (receiver)" "$RS_PID" "rsyslogd (omrelp sender)"
    rsyslogd_stop "$RS_PID"; rsyslogd_stop "$RECEIVER"; rm -f "$WORK/omrelp-rs.log"
  fi
fi
fi

echo "== side by side ($COUNT messages each; load average $(cut -d' ' -f1-3 /proc/loadavg))"
ratio() { if [[ -n "${RATE[$1]:-}" && -n "${RATE[$2]:-}" ]]; then awk -v a="${RATE[$1]}" -v b="${RATE[$2]}" -v l="$3" 'BEGIN { printf "%-40s %9d / %9d msg/s = %.2f\n", l, a, b, a / b }'; fi; }
for k in mutt_tcp rsyslog_tcp mutt_relp rsyslog_relp mutt_omrelp rsyslog_omrelp; do if [[ -n "${RATE[$k]:-}" ]]; then printf "%-16s %9d msg/s\n" "$k" "${RATE[$k]}"; fi; done
ratio mutt_tcp rsyslog_tcp "TCP MUTT/rsyslog"
ratio mutt_relp rsyslog_relp "RELP (bench client) MUTT/rsyslog"
ratio mutt_omrelp rsyslog_omrelp "RELP (rsyslog omrelp) MUTT/rsyslog"
echo "parse errors: $(curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | grep -E '^mutt_syslog_parse_errors_total' || echo 0)"
