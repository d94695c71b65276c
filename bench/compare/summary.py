#!/usr/bin/env python3
"""Medians per build and new/old ratios of a bench/compare/run.sh output folder (OUT/<bench>-<old|new>-<pair>.txt).
On a shared machine single runs swing by a third; interleaved runs compared by their medians do not."""
import pathlib, re, statistics, sys

PATTERNS = {
    "REST single events, req/s": (r"Requests/sec:\s+([\d.]+)", 0),
    "REST batches of 100, events/s": (r"events/s: (\d+)", 0),
    "syslog TCP, msg/s": (r"=> ([\d,]+) msg/s", 0),
    "Ingestor CPU per REST event, us": (r"CPU: ([\d.]+) us per REST event", 0),
    "Ingestor CPU per batched event, us": (r"CPU: ([\d.]+) us per batched event", 0),
    "Ingestor CPU per syslog message, us": (r"CPU: ([\d.]+) us per syslog message", 0),
    "Alerter, events/s": (r"drained [\d,]+ events in [\d.]+ s = ([\d,]+) events/s", 0),
    "e2e ingest, events/s": (r"RESULT .*? ingest ([\d,]+) events/s", 0),
    "e2e end-to-end, events/s": (r"RESULT .*? end-to-end ([\d,]+) events/s", 0),
}

def main(folder: str) -> None:
    values: dict[tuple[str, str], list[float]] = {}
    for path in sorted(pathlib.Path(folder).glob("*-*-*.txt")):
        side = path.stem.split("-")[-2]
        text = path.read_text(errors="replace")
        for name, (pattern, group) in PATTERNS.items():
            found = re.findall(pattern, text)
            if found:
                values.setdefault((name, side), []).append(float(found[group].replace(",", "")))
    print(f"{'figure':40} {'old median':>12} {'new median':>12} {'new/old':>8}  runs")
    for name in PATTERNS:
        old, new = values.get((name, "old")), values.get((name, "new"))
        if old and new:
            o, n = statistics.median(old), statistics.median(new)
            print(f"{name:40} {o:12,.1f} {n:12,.1f} {n / o:8.3f}  {len(old)}+{len(new)}")

if __name__ == "__main__":
    main(sys.argv[1])
