#!/usr/bin/env bash
# rich.sh [LINES] [RUNS] -- the rich metric kinds against the built-in rules
# on one generated log (default 1,500,000 lines, 3 runs): by=status, errors
# by=path capped at 100 keys, distinct=remote_addr and p95= of the request
# time captured from the end of the line (nginx's $request_time). Every
# request has a path and a client address of its own cycle (300,000 paths,
# 400,000 addresses), so the key tables and sketches are as full as they get.
# Prints the median seconds and lines/s of each rule set, the ratio, and the
# peak RSS of the rich rules over the first third, two thirds and all of the
# log: memory must not grow with the input. Needs /usr/bin/time and a build
# in build/ (or RARR and LOGGEN naming the binaries).
set -eu
cd "$(dirname "$0")/.."
lines=${1:-1500000}
runs=${2:-3}
tmp=${TMPDIR:-/tmp}
rarr=${RARR:-build/rarr}
loggen=${LOGGEN:-build/loggen}
[ -x "$rarr" ] && [ -x "$loggen" ] && [ -x /usr/bin/time ] || {
    echo "rich.sh: needs build/rarr, build/loggen (cmake --build build) and /usr/bin/time" >&2
    exit 2
}
log=$tmp/rarr-rich-$lines.log
rules=$tmp/rarr-rich.rarr
if [ ! -s "$log" ]; then
    "$loggen" --seed 9 --rate 30000 --lines "$lines" --request-time |
        awk '{ $1 = sprintf("10.%d.%d.%d", NR % 400000 / 65536, NR % 65536 / 256, NR % 256)
               $7 = "/p" (NR % 300000); print }' >"$log"
fi
cat >"$rules" <<'RULES'
metric requests   by=status
metric errors     status~'^[45]'  by=path  max_keys=100
metric paths      by=path  max_keys=100
metric visitors   distinct=remote_addr
metric latency    extra~'rt=(?<rt>[0-9.]+)'  p95=rt
alert  errors     window=5m  above=100
alert  latency    window=5m  above=2
RULES
cat "$log" >/dev/null

# median NAME FILE RULES...: median seconds and peak RSS (KB) of RUNS runs.
median() {
    local name=$1 file=$2 i
    shift 2
    for i in $(seq 1 "$runs"); do
        /usr/bin/time -f '%e %M' -o "$tmp/rarr-rich.t" "$rarr" "$@" "$file" >/dev/null 2>&1
        cat "$tmp/rarr-rich.t"
    done | sort -n | sed -n "$(((runs + 1) / 2))p" | {
        read -r t rss
        awk -v n="$name" -v t="$t" -v l="$(wc -l <"$file")" -v r="$rss" \
            'BEGIN { if (t <= 0) t = 0.001; printf "%-22s %8.3f s %12.0f lines/s %9d KB\n", n, t, l / t, r }'
    }
}
median "built-in rules" "$log" | tee "$tmp/rarr-rich.base"
median "rich rules" "$log" -r "$rules" | tee "$tmp/rarr-rich.rich"
awk 'NR == FNR { b = $3; next } { printf "ratio (rich / built-in throughput): %.2f\n", b / $3 }' \
    "$tmp/rarr-rich.base" "$tmp/rarr-rich.rich"
for part in 1 2 3; do
    head -n $((lines * part / 3)) "$log" >"$tmp/rarr-rich-part.log"
    median "rich rules, $part/3 of it" "$tmp/rarr-rich-part.log" -r "$rules"
done
rm -f "$tmp/rarr-rich-part.log" "$tmp/rarr-rich.t" "$tmp/rarr-rich.base" "$tmp/rarr-rich.rich"
