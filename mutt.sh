#!/usr/bin/env bash
# MUTT's one entry point for people and CI.
#   ./mutt.sh run   - install what is missing, build, and run MUTT locally (Redis, PostgreSQL, the sink, all services)
#   ./mutt.sh test  - install what is missing, build, and run every test
# Other commands: setup (install only), build, bench <name>, publish.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

# Debian packages MUTT's runs and tests use: real servers and real clients, no stand-ins.
APT_PACKAGES=(redis-server redis-sentinel snmp snmptrapd rsyslog rsyslog-relp rsyslog-gnutls rsyslog-openssl chromium wrk postgresql openssl procps util-linux shellcheck jq prometheus prometheus-alertmanager)

need_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  printf '%s\n' "${missing[@]}"
}

setup() {
  local missing
  missing=$(need_apt | xargs)
  if [ -n "$missing" ]; then
    echo "mutt: installing Debian packages: $missing"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
  # Debian's packages start their own daemons where an init system runs; MUTT never uses those
  # (it starts its own on free ports), so stop them to free the default ports.
  for svc in redis-server snmptrapd rsyslog prometheus; do
    if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
  done
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "mutt: the .NET SDK (10.0) is required on PATH" >&2
    exit 1
  fi
}

build() {
  dotnet build Mutt.sln -c "${CONFIGURATION:-Debug}" -nologo -clp:ErrorsOnly
}

run() {
  setup
  build
  # The Aspire dashboard is served over HTTPS with the developer certificate.
  dotnet dev-certs https >/dev/null 2>&1 || echo "mutt: could not create the developer certificate; run with --no-dashboard or MUTT_NO_DASHBOARD=1" >&2
  exec dotnet run --no-build --project Mutt.AppHost -c "${CONFIGURATION:-Debug}" -- "$@"
}

test() {
  setup
  build
  local results="$ROOT/TestResults"
  rm -rf "$results"
  set +e
  dotnet test Mutt.sln --no-build -c "${CONFIGURATION:-Debug}" \
    --logger "trx;LogFileName=mutt.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@"
  local rc=$?
  set -e
  "$ROOT/scripts/test-summary.sh" "$results" || rc=1
  return $rc
}

cmd=${1:-}
shift || true
case "$cmd" in
  setup) setup ;;
  build) setup; build ;;
  run) run "$@" ;;
  test) test "$@" ;;
  # Absolute paths: `dotnet run` starts the AppHost in Mutt.AppHost/. deploy/k8s is generated from the manifest just written.
  publish) build; dotnet run --no-build --project Mutt.AppHost -c "${CONFIGURATION:-Debug}" -- --publisher manifest --output-path "$ROOT/aspire-manifest.json"
           dotnet run --no-build --project Mutt.AppHost -c "${CONFIGURATION:-Debug}" -- kubernetes "$ROOT/aspire-manifest.json" "$ROOT/deploy/k8s" ;;
  bench) setup; build; exec "$ROOT/bench/run.sh" "$@" ;;
  *) echo "usage: ./mutt.sh {run|test|setup|build|publish|bench}" >&2; exit 2 ;;
esac
