#!/usr/bin/env bash
# `./mutt.sh bench soak [args]` = bench/soak/soak.sh [args] (see soak.sh for the options).
exec "$(cd "$(dirname "$0")" && pwd)/soak.sh" "$@"
