#!/usr/bin/env bash
# The AppHost's local PostgreSQL:  postgres-run.sh DATA_DIR PORT   (superuser password in $POSTGRES_PASSWORD)
# - PostgreSQL's server binaries from $POSTGRES_BIN_DIR (the AppHost passes Debian's newest /usr/lib/postgresql/<major>/bin).
# - initdb on the first start only; the cluster and its data stay in DATA_DIR across runs.
# - As root, initdb and postgres run as the postgres user (they refuse root). When that user cannot
#   reach DATA_DIR (a checkout inside a mode-700 home such as /root), the cluster lives in
#   ${MUTT_PG_DATA_ROOT:-/var/lib/mutt}/<hash of DATA_DIR> and DATA_DIR/pgdata links to it.
# - SIGTERM/SIGINT become a fast shutdown (postgres's own SIGTERM waits for every client).
set -euo pipefail
DATA=${1:?usage: postgres-run.sh DATA_DIR PORT}
PORT=${2:?usage: postgres-run.sh DATA_DIR PORT}
say() { echo "postgres-run: $*" >&2; }
fail() { say "$*"; exit 1; }

# The AppHost finds the binaries (Postgres:BinDirectory or Debian's newest) and refuses to start without them;
# these checks say the same in plain words if they vanished since, or the script is run by hand.
BIN=${POSTGRES_BIN_DIR:?"POSTGRES_BIN_DIR (PostgreSQL's bin folder) is not set; the AppHost sets it"}
for b in postgres initdb; do
  [ -x "$BIN/$b" ] || fail "PostgreSQL's $b was not found at $BIN/$b; install PostgreSQL: apt-get install -y postgresql"
done
if [ "$(id -u)" = 0 ] && ! command -v setpriv >/dev/null; then
  fail "running as root needs setpriv to start PostgreSQL as the postgres user; install it: apt-get install -y util-linux"
fi
[ -n "${POSTGRES_PASSWORD:-}" ] || fail "POSTGRES_PASSWORD is not set"

AS=()
mkdir -p "$DATA"
CLUSTER="$DATA/pgdata"
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || fail "running as root, but there is no postgres user to run the server as (apt-get install -y postgresql creates it)"
  AS=(setpriv --reuid=postgres --regid=postgres --init-groups)
  if ! "${AS[@]}" test -x "$DATA" 2>/dev/null || ! "${AS[@]}" test -r "$DATA" 2>/dev/null; then
    # The postgres user cannot traverse to DATA (e.g. /root is mode 700): keep the cluster where it can.
    ROOT=${MUTT_PG_DATA_ROOT:-/var/lib/mutt}
    ELSEWHERE="$ROOT/pg-$(printf '%s' "$(cd "$DATA" && pwd -P)" | sha256sum | cut -c1-16)"
    mkdir -p "$ELSEWHERE"; chmod 755 "$ROOT"; chown postgres:postgres "$ELSEWHERE"; chmod 700 "$ELSEWHERE"
    if [ ! -L "$CLUSTER" ]; then
      [ -e "$CLUSTER" ] && fail "$CLUSTER exists but the postgres user cannot reach it (a parent folder is not searchable by others); move the checkout or set a --state-dir the postgres user can reach"
      ln -s "$ELSEWHERE" "$CLUSTER"
    fi
    say "the postgres user cannot reach $DATA (a parent folder is private); the cluster is kept in $ELSEWHERE ($CLUSTER links to it)"
    CLUSTER=$(readlink -f "$CLUSTER")
    SOCKETS="$ELSEWHERE.sockets"
  else
    chown postgres:postgres "$DATA"
    mkdir -p "$CLUSTER"; chown postgres:postgres "$CLUSTER"; chmod 700 "$CLUSTER"
    SOCKETS="$DATA/sockets"
  fi
else
  mkdir -p "$CLUSTER"; chmod 700 "$CLUSTER"
  SOCKETS="$DATA/sockets"
fi
mkdir -p "$SOCKETS"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$SOCKETS"

if [ ! -f "$CLUSTER/PG_VERSION" ]; then
  say "creating the cluster in $CLUSTER"
  PWFILE=$(mktemp "$SOCKETS/.pw.XXXXXX")
  printf '%s' "$POSTGRES_PASSWORD" >"$PWFILE"; chmod 600 "$PWFILE"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PWFILE"
  if ! "${AS[@]}" "$BIN/initdb" -D "$CLUSTER" -U postgres --pwfile="$PWFILE" --auth-host=scram-sha-256 --auth-local=peer \
       -E UTF8 --locale=C >"$SOCKETS/initdb.log" 2>&1; then
    rm -f "$PWFILE"; cat "$SOCKETS/initdb.log" >&2; fail "initdb failed (log above)"
  fi
  rm -f "$PWFILE"
fi

# Sized for the audit log's steady stream of COPYs: fewer checkpoints (each is followed by a burst of
# full-page images of the index pages the next rows touch). No WAL compression: it saves disk
# writes but costs CPU, and a local run shares its cores with every service.
"${AS[@]}" "$BIN/postgres" -D "$CLUSTER" -p "$PORT" -k "$SOCKETS" -c listen_addresses=127.0.0.1 \
  -c max_connections=200 -c shared_buffers=256MB -c max_wal_size=4GB -c checkpoint_timeout=15min &
PG=$!
trap 'kill -INT "$PG" 2>/dev/null || true' TERM INT
rc=0
while kill -0 "$PG" 2>/dev/null; do wait "$PG" || rc=$?; done
exit $rc
