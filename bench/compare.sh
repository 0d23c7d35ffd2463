#!/usr/bin/env bash
# compare.sh [--install] [--callgrind] [LINES] [RUNS] -- rarr's throughput
# side by side with peers doing comparable work, on the same generated input
# in the page cache: the median of RUNS runs of each (default 1,000,000
# lines, 5 runs), as lines/s, MB/s, peak RSS and the ratio to rarr with the
# built-in rules.
#
#   rarr             built-in rules (5 metrics, a ratio, an alert, 5 anomaly rules)
#   rarr metrics     the same with --emit=metrics
#   rarr 20 / 100    20 and 100 rules (anchored and unanchored, several fields)
#   rarr json        JSON events (5 fields) with 3 rules
#   rarr rich        by=status, errors by=path (100 keys), distinct=remote_addr, and
#                    p95= of the request time captured from the line's end
#   bareloop         read + memchr split + the 5 request regexes (JIT): the limit
#   pcre2grep -c     one alternation of the same request patterns (JIT)
#   grep -c -E       the same alternation, LC_ALL=C
#   mawk / gawk      the 5 per-minute counts (bench/peers/rarr.awk)
#   mtail            --one_shot with the 5 counters (bench/peers/rarr.mtail)
#
# Missing peers are skipped; --install installs them (pcre2-utils mawk gawk
# mtail). --callgrind adds instructions per line of each rarr run (the
# first 100,000 lines, under valgrind).
# Needs a build in build/ (cmake -S . -B build && cmake --build build), or
# RARR and LOGGEN naming the binaries.
set -eu
cd "$(dirname "$0")/.."
install=0
callgrind=0
while [ $# -gt 0 ]; do
    case $1 in
    --install) install=1 ;;
    --callgrind) callgrind=1 ;;
    *) break ;;
    esac
    shift
done
lines=${1:-1000000}
runs=${2:-5}
tmp=${TMPDIR:-/tmp}
if [ "$install" = 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pcre2-utils mawk gawk mtail >/dev/null
fi
rarr=${RARR:-build/rarr}
loggen=${LOGGEN:-build/loggen}
[ -x "$rarr" ] && [ -x "$loggen" ] || {
    echo "compare.sh: build first: cmake -S . -B build && cmake --build build" >&2
    exit 2
}

# Inputs: a busy site's combined log (30,000 requests at the peak hour),
# each line ending with the request time as nginx's $request_time (" rt=S"),
# and the same traffic as JSON events of 5 fields.
log=$tmp/rarr-compare-rt-$lines.log
json=$tmp/rarr-compare-$lines.json
[ -s "$log" ] || "$loggen" --seed 9 --rate 30000 --lines "$lines" --request-time >"$log"
[ -s "$json" ] || "$loggen" --format json --seed 9 --rate 30000 --lines "$lines" |
    sed -E 's/^\{"@timestamp":"([^"]*)","event":"([^"]*)","method":"([^"]*)","path":"([^"]*)","status":([0-9]+).*/{"ts":"\1","event":"\2","method":"\3","path":"\4","status":\5}/' \
        >"$json"
cat "$log" "$json" >/dev/null

# The rule sets: 20 and 100 realistic rules, 3 JSON rules.
rules20=$tmp/rarr-compare-20.rarr
rules100=$tmp/rarr-compare-100.rarr
rulesjson=$tmp/rarr-compare-json.rarr
bench/rules.sh 20 >"$rules20"
bench/rules.sh 100 >"$rules100"
cat >"$rulesjson" <<'EOF'
metric logins   method='POST' path~'^/login\b' status~'^30[23]$'
metric signups  event='signup'
metric errors   status~'^5'
alert errors window=5m above=100
EOF
# The rich metric kinds on the same log: per-key series, distinct users, a quantile.
rulesrich=$tmp/rarr-compare-rich.rarr
cat >"$rulesrich" <<'EOF'
metric requests   request~'^(GET|POST) '  by=status
metric errors     status~'^[45]'  by=path  max_keys=100
metric visitors   distinct=remote_addr
metric latency    extra~'rt=(?<rt>[0-9.]+)'  p95=rt
alert  errors     window=5m  above=100
alert  latency    window=5m  above=2
EOF

# The same request patterns as one alternation, for the scanners.
alt='"(GET /(login|log-in|signin|sign-in|sign_in|users/sign_in|session/new|auth/login)\b|GET /(dashboard|home)\b|POST /(signup|sign-up|sign_up|register|registration|users/sign_up|join)\b|POST /(billing/|api/(v[0-9]+/)?)?(subscribe|subscriptions?|checkout|purchase|orders?)\b|GET /((pricing|features|blog|landing|about|customers|product)\b|\?| ))'
alt_ere=$(printf '%s' "$alt" | sed 's/\\b/([^A-Za-z0-9_]|$)/g')

bare=$tmp/rarr-bareloop
cc -O2 -o "$bare" bench/bareloop.c $(pkg-config --cflags --libs libpcre2-8)
mtail_dir=$tmp/rarr-compare-mtail
mkdir -p "$mtail_dir"
cp bench/peers/rarr.mtail "$mtail_dir/"

bytes_log=$(wc -c <"$log")
bytes_json=$(wc -c <"$json")
printf '%-14s %10s %12s %9s %10s %7s\n' tool seconds lines/s MB/s "RSS KB" ratio
base=

# measure NAME BYTES CMD...: median wall time and peak RSS of RUNS runs.
measure() {
    local name=$1 bytes=$2 i t rss
    shift 2
    : >"$tmp/rarr-compare.times"
    for i in $(seq 1 "$runs"); do
        # Not >/dev/null: GNU grep stops at the first match when it sees that.
        /usr/bin/time -f '%e %M' -o "$tmp/rarr-compare.t" "$@" >"$tmp/rarr-compare.out" 2>&1 || true
        grep -v 'exited' "$tmp/rarr-compare.t" >>"$tmp/rarr-compare.times"
    done
    read -r t rss < <(sort -n "$tmp/rarr-compare.times" | sed -n "$(((runs + 1) / 2))p")
    [ -n "$base" ] || base=$t
    awk -v n="$name" -v t="$t" -v l="$lines" -v b="$bytes" -v r="$rss" -v base="$base" \
        'BEGIN { if (t <= 0) t = 0.001; printf "%-14s %10.3f %12.0f %9.1f %10d %7.2f\n", n, t, l / t, b / t / 1e6, r, base / t }'
}

measure rarr "$bytes_log" "$rarr" "$log"
measure "rarr metrics" "$bytes_log" "$rarr" --emit=metrics "$log"
measure "rarr 20" "$bytes_log" "$rarr" -r "$rules20" "$log"
measure "rarr 100" "$bytes_log" "$rarr" -r "$rules100" "$log"
measure "rarr json" "$bytes_json" "$rarr" -r "$rulesjson" "$json"
measure "rarr rich" "$bytes_log" "$rarr" -r "$rulesrich" "$log"
measure bareloop "$bytes_log" sh -c "exec $bare < $log"
if command -v pcre2grep >/dev/null; then
    measure "pcre2grep -c" "$bytes_log" pcre2grep -c "$alt" "$log"
else
    echo "pcre2grep: not installed (--install)"
fi
measure "grep -c -E" "$bytes_log" env LC_ALL=C grep -c -E "$alt_ere" "$log"
for awk in mawk gawk; do
    if command -v $awk >/dev/null; then
        measure "$awk" "$bytes_log" $awk -f bench/peers/rarr.awk "$log"
    else
        echo "$awk: not installed (--install)"
    fi
done
if command -v mtail >/dev/null; then
    measure mtail "$bytes_log" mtail --one_shot --one_shot_format=json --logtostderr \
        --progs "$mtail_dir" --logs "$log"
else
    echo "mtail: not installed (--install)"
fi

# The figures mean something only if rarr counted what the bare loop did.
want=$("$bare" <"$log" | cut -d" " -f3)
got=$("$rarr" --stats "$log" 2>&1 >/dev/null | sed -n 's/.*matches login_views //p')
if [ "$want" != "$got" ]; then
    echo "compare.sh: rarr counted $got login views, the bare loop $want" >&2
    exit 1
fi

# Instructions per line: the stable figure for before/after comparisons.
if [ "$callgrind" = 1 ]; then
    head -n 100000 "$log" >"$tmp/rarr-compare-100k.log"
    head -n 100000 "$json" >"$tmp/rarr-compare-100k.json"
    cg() {
        local name=$1 n
        shift
        n=$(wc -l <"${!#}")
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
            awk -v name="$name" -v n="$n" '/refs:/ { gsub(",", "", $NF); printf "callgrind: %-13s %6.0f instructions per line (%d lines)\n", name, $NF / n, n }'
    }
    cg rarr "$rarr" "$tmp/rarr-compare-100k.log"
    cg "rarr metrics" "$rarr" --emit=metrics "$tmp/rarr-compare-100k.log"
    cg "rarr 20" "$rarr" -r "$rules20" "$tmp/rarr-compare-100k.log"
    cg "rarr 100" "$rarr" -r "$rules100" "$tmp/rarr-compare-100k.log"
    cg "rarr json" "$rarr" -r "$rulesjson" "$tmp/rarr-compare-100k.json"
    cg "rarr rich" "$rarr" -r "$rulesrich" "$tmp/rarr-compare-100k.log"
fi
