#!/usr/bin/env bash
# RSS growth per resource from a soak CSV (epoch,elapsed_s,resource,pid,rss_kb).
# Baseline = median of the first 3 samples after the warm-up; end = median of the last 3 samples.
# A resource whose pid changed during the run is reported as RESTARTED (a crash counts as a failure).
#   rss_report.sh samples.csv [warmup_seconds=60] [max_growth_percent=10]
# Exit 1 when any MUTT service grew more than the limit or restarted. redis, postgres (the postmaster only)
# and moog-sink (a test stand-in that keeps every event it receives, so it grows by design) are
# reported for information and do not count in the verdict.
set -euo pipefail
csv=${1:?usage: rss_report.sh samples.csv [warmup_seconds] [max_growth_percent]}
warmup=${2:-60}
limit=${3:-10}
awk -F, -v warmup="$warmup" -v limit="$limit" '
  function median3(a, b, c) { return (a <= b) ? ((b <= c) ? b : ((a <= c) ? c : a)) : ((a <= c) ? a : ((b <= c) ? c : b)) }
  NR == 1 && $1 == "epoch" { next }
  $2 + 0 < warmup + 0 { next }
  {
    r = $3; n[r]++; v[r, n[r]] = $5 + 0
    if (!(r in firstpid)) firstpid[r] = $4
    if ($4 != firstpid[r]) restarted[r] = 1
  }
  END {
    printf "%-16s %8s %12s %12s %9s  %s\n", "resource", "samples", "start_kb", "end_kb", "growth_%", "verdict"
    bad = 0
    for (r in n) {
      if (n[r] < 6 && r !~ /^(redis|postgres|muttdb|moog-sink)/) { printf "%-16s %8d %12s %12s %9s  %s\n", r, n[r], "-", "-", "-", "TOO FEW SAMPLES"; bad = 1; continue }
      s = median3(v[r, 1], v[r, 2], v[r, 3]); e = median3(v[r, n[r] - 2], v[r, n[r] - 1], v[r, n[r]])
      g = (s > 0) ? (e - s) * 100.0 / s : 0
      verdict = (r in restarted) ? "RESTARTED" : (g > limit ? "GREW" : "ok")
      if (r ~ /^(redis|postgres|muttdb|moog-sink)/) { if (verdict != "ok") verdict = verdict " (info only)" }
      else if (verdict != "ok") bad = 1
      printf "%-16s %8d %12d %12d %9.1f  %s\n", r, n[r], s, e, g, verdict
    }
    exit bad
  }' "$csv"
