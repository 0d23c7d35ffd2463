#!/usr/bin/env bash
# rules_load.sh [N...] -- how long rarr takes to load big rule files.
#
# For each N (default 5000 20000 50000) it writes a rule file of N lines in
# $TMPDIR (default /tmp): a define every tenth line, metrics with a regex
# condition (a third of them use a define), ratios of two metrics and alerts
# on the ratios, every name unique; then it prints the wall time and peak
# RSS of `rarr --check -r FILE` (which parses, test-compiles and compiles
# every regex). Loading should grow about linearly: 50,000 rules about ten
# times 5,000. With valgrind installed it adds the instructions of the first
# and last sizes under callgrind, the figure to compare across machines
# (RULES_LOAD_CALLGRIND=0 skips it). RARR names another binary than
# build/rarr. Nothing is asserted: the figures are read by people.
set -eu
cd "$(dirname "$0")/.."
rarr=${RARR:-build/rarr}
tmp=${TMPDIR:-/tmp}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000 20000 50000)
[ -x "$rarr" ] || { echo "rules_load.sh: no $rarr (build first, or set RARR)" >&2; exit 1; }

# gen N: N rule lines, deterministic.
gen() {
    awk -v n="$1" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = i % 10
            d = i - k
            if (k == 0)
                printf "define P%d \x27/(p%d|q%d)/[0-9]+\x27\n", d, d, d
            else if (k <= 3)
                printf "metric m%d request~\x27^GET %%{P%d}\\b\x27 status~\x27^2\x27\n", i, d
            else if (k <= 6)
                printf "metric m%d path~\x27^/s%d/(a|b)\x27\n", i, i
            else if (k <= 8)
                printf "ratio r%d = m%d / m%d * 100 min=5\n", i, d + k - 6, d + k - 3
            else
                printf "alert r%d window=15m below=%d for=5m\n", d + 7, i % 90 + 1
        }
    }'
}

# measure FILE: "SECONDS RSS_KB" of one rarr --check run.
measure() {
    local f=$1 t0 t1 rc=0
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%e %M' -o "$tmp/rules_load.time" "$rarr" --check -r "$f" >/dev/null ||
            rc=$?
        tail -1 "$tmp/rules_load.time"
    else
        # Without GNU time: wall time from bash, peak RSS from /proc while it runs.
        t0=$(date +%s.%N)
        "$rarr" --check -r "$f" >/dev/null &
        local pid=$! peak=0 kb
        while kb=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$kb" ]; do
            peak=$kb
            sleep 0.01
        done
        wait $pid || rc=$?
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" -v kb="$peak" 'BEGIN { printf "%.2f %d\n", b - a, kb }'
    fi
    [ $rc = 0 ] || echo "rules_load.sh: rarr exited $rc on $f" >&2
}

printf '%8s %10s %10s\n' rules seconds 'peak RSS'
for n in "${sizes[@]}"; do
    f=$tmp/rarr-rules-$n.rarr
    gen "$n" >"$f"
    read -r secs kb < <(measure "$f")
    printf '%8d %10s %7d KB\n' "$n" "$secs" "$kb"
done

if [ "${RULES_LOAD_CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
    first=${sizes[0]}
    last=${sizes[${#sizes[@]} - 1]}
    for n in $(printf '%s\n' "$first" "$last" | sort -un); do
        out=$tmp/rules_load.callgrind.$n
        valgrind --tool=callgrind --callgrind-out-file="$out" "$rarr" --check \
            -r "$tmp/rarr-rules-$n.rarr" >/dev/null 2>"$out.log" || true
        ir=$(awk '/^summary:/ {print $2}' "$out")
        printf '%8d %16s instructions (callgrind)\n' "$n" "$ir"
        rm -f "$out" "$out.log"
    done
fi
