#!/usr/bin/env bash
# Forwarder throughput benchmark (≤ 60 s). Usage: bench/forwarder/run.sh [alerts]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build Mutt.MoogSink -c Release -v q -nologo >/dev/null
dotnet build Mutt.Forwarder -c Release -v q -nologo >/dev/null
dotnet run --project bench/forwarder -c Release -- "${1:-300000}"
