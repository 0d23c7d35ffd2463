#!/bin/sh
# throughput.sh [LINES] -- rarr's whole job with the built-in rules over a
# generated combined log: lines/s from --stats, peak memory from time -v.
# Needs a build in build/ (cmake -S . -B build && cmake --build build).
set -eu
cd "$(dirname "$0")/.."
lines=${1:-1000000}
log=${TMPDIR:-/tmp}/rarr-bench-$lines.log
[ -s "$log" ] || build/loggen --seed 9 --lines "$lines" >"$log"
echo "input: $log, $(wc -c <"$log") bytes, $lines lines"
cat "$log" >/dev/null # into the page cache
for i in 1 2 3; do
    /usr/bin/time -v build/rarr --stats "$log" 2>&1 >/dev/null |
        grep -E 'stats: [0-9.]+ s|Maximum resident'
done
