#!/usr/bin/env bash
# Prints "tests: N passed, N failed, N skipped" from the TRX files under $1 and fails when
# no test ran or any failed, so a run that executed nothing can never look green.
set -euo pipefail
dir=${1:-TestResults}
passed=0; failed=0; skipped=0; total=0
shopt -s nullglob globstar
files=("$dir"/**/*.trx)
for f in "${files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  t=$(get total); p=$(get passed); fl=$(get failed); e=$(get error); to=$(get timeout); ab=$(get aborted); ne=$(get notExecuted)
  total=$((total + t)); passed=$((passed + p)); failed=$((failed + fl + e + to + ab)); skipped=$((skipped + ne))
done
# Name every test that did not pass, with the start of its message and the test's own stack line
# and the last lines of its output (CI shows only the end of the log), before the summary line.
for f in "${files[@]}"; do
  awk '
    /<UnitTestResult / && /outcome="(Failed|Error|Timeout|Aborted)"/ {
      name = $0; sub(/.*testName="/, "", name); sub(/".*/, "", name)
      outcome = $0; sub(/.*outcome="/, "", outcome); sub(/".*/, "", outcome)
      print outcome ": " name; failing = 1; lines = 0; next
    }
    failing && /<StdOut>/ { inout = 1; n = 0 }
    failing && inout { line = $0; sub(/.*<StdOut>/, "", line); sub(/<\/StdOut>.*/, "", line); out[n++ % 30] = substr(line, 1, 240) }
    failing && /<\/StdOut>/ { inout = 0 }
    /<\/UnitTestResult>/ && failing {
      if (n > 0) { print "    --- the test'"'"'s output, last " (n < 30 ? n : 30) " lines ---"; for (i = (n > 30 ? n - 30 : 0); i < n; i++) print "    " out[i % 30] }
      n = 0
    }
    /<\/UnitTestResult>/ { failing = 0 }
    failing && /<Message>/ { inmsg = 1 }
    failing && inmsg && lines < 12 { line = $0; gsub(/^ *<Message>|<\/Message>/, "", line); print "    " line; lines++ }
    failing && /<\/Message>/ { inmsg = 0 }
    failing && /<StackTrace>/ && /Mutt\.Tests/ { line = $0; sub(/.*<StackTrace> */, "", line); print "    " line }
  ' "$f" | sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&amp;/\&/g' || true
done
echo "tests: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "${#files[@]}" -eq 0 ] || [ "$total" -eq 0 ] || [ "$passed" -eq 0 ]; then
  echo "no test was executed" >&2
  exit 1
fi
[ "$failed" -eq 0 ]
