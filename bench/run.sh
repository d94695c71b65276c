#!/usr/bin/env bash
# Benchmark dispatcher: `./mutt.sh bench <name> [args]` runs bench/<name>/run.sh [args].
#   names: ingest, alerter, forwarder, soak, e2e (a folder of bench/ with a run.sh, or a console project run with dotnet run -c Release)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
name=${1:-}
if [ -n "$name" ] && [ -x "$HERE/$name/run.sh" ]; then
  shift
  exec "$HERE/$name/run.sh" "$@"
fi
# A benchmark that is a console project without a run.sh (bench/alerter): dotnet run it in Release.
if [ -n "$name" ] && compgen -G "$HERE/$name/*.csproj" >/dev/null; then
  shift
  exec dotnet run --project "$HERE/$name" -c Release -- "$@"
fi
echo "usage: ./mutt.sh bench <name> [args]; names:" >&2
for d in "$HERE"/*/; do
  if [ -x "$d/run.sh" ] || compgen -G "$d/*.csproj" >/dev/null; then echo "  $(basename "$d")" >&2; fi
done
exit 2
