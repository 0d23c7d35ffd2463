#!/usr/bin/env bash
# sketch.sh RARR LOGGEN -- distinct= and the quantiles with the real binary
# on generated traffic, against independent counts (awk and sort): distinct
# remote addresses per step exact while few (up to 1,024) and within 2 %
# when thousands; p95= of the bytes per step and over an alert's window
# within 1 % of the value at the exact rank floor(0.95 (n - 1)); max= exact;
# values that are not numbers or below zero skipped and counted; a replay
# cut in two and three with --state writes the records of one run.
# Asserts on records, never on speed.
set -u
rarr=$1
loggen=$2
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"

"$loggen" --seed 4 --rate 6000 >"$tmp/day.log"
cat >"$tmp/sk.rarr" <<'RULES'
metric visitors  distinct=remote_addr
metric p95bytes  request~'^GET '  p95=bytes
metric maxbytes  max=bytes
alert  p95bytes  window=5m  above=20000
RULES
"$rarr" -r "$tmp/sk.rarr" --emit=all "$tmp/day.log" >"$tmp/sk.out"
last=$(grep '"type":"metric"' "$tmp/sk.out" | tail -n 1 | sed 's/.*"time":"\([^"]*\)".*/\1/')

# The end of the step of a CLF time (one day from May 4), as rarr writes it: minute + 1.
step_end='function end(ts,   t, m, d) {
    split(ts, t, ":"); m = t[2] * 60 + t[3] + 1; d = 4 + int(m / 1440); m %= 1440
    return sprintf("2026-05-%02dT%02d:%02d:00Z", d, int(m / 60), m % 60)
}'
records() { # METRIC: "time value" of its metric records
    sed -n "s/.*\"time\":\"\\([^\"]*\\)\",\"metric\":\"$1\",\"step\":\"1m\",\"value\":\\([^}]*\\)}\$/\\1 \\2/p" \
        "$tmp/sk.out"
}

# 1. Distinct addresses per step: exact.
awk "$step_end"' { e = end($4); if (e <= "'"$last"'" && !seen[e " " $1]++) n[e]++ }
    END { for (e in n) print e, n[e] }' "$tmp/day.log" | sort >"$tmp/want.distinct"
records visitors | awk '$2 != 0' | sort >"$tmp/got.distinct"
check "distinct=: every step's count is exact ($(wc -l <"$tmp/want.distinct") steps)" \
    cmp -s "$tmp/got.distinct" "$tmp/want.distinct"

# 2. p95 of GET bytes per step, max of all bytes: each step's sorted values from awk and sort.
awk "$step_end"' $6 == "\"GET" { e = end($4); if (e <= "'"$last"'") print e, ($10 == "-" ? 0 : $10) }' \
    "$tmp/day.log" | sort -k1,1 -k2,2n >"$tmp/get.values"
awk '{ v[$1, ++n[$1]] = $2 } END { for (e in n) print e, v[e, int(0.95 * (n[e] - 1)) + 1] }' \
    "$tmp/get.values" | sort >"$tmp/want.p95"
records p95bytes | grep -v ' null$' | sort >"$tmp/got.p95"
check "p95=: a value for every step with GET lines" \
    [ "$(cut -d' ' -f1 "$tmp/got.p95")" = "$(cut -d' ' -f1 "$tmp/want.p95")" ]
check "p95=: within 1 % of the exact value at the rank, every step" \
    [ "$(join "$tmp/got.p95" "$tmp/want.p95" | awk '{ d = $2 - $3; if (d < 0) d = -d }
        d > 0.01 * $3 + 1e-9 { bad++ } END { print bad + 0 }')" = 0 ]
awk "$step_end"' { e = end($4); if (e <= "'"$last"'") { b = $10 == "-" ? 0 : $10; if (!(e in m) || b > m[e]) m[e] = b } }
    END { for (e in m) print e, m[e] }' "$tmp/day.log" | sort >"$tmp/want.max"
records maxbytes | sort >"$tmp/got.max"
check "max=: exact, every step" cmp -s "$tmp/got.max" "$tmp/want.max"

# 3. The alert's value is the p95 of its whole window: the five steps' values merged.
grep '"type":"threshold"' "$tmp/sk.out" | sed 's/.*"time":"\([^"]*\)".*"value":\([^,]*\),.*/\1 \2/' \
    >"$tmp/alerts"
check "p95= alert: fires" [ -s "$tmp/alerts" ]
ok=0
while read -r t v; do
    # The steps ending at t - 4m .. t: their GET values, sorted, at the rank.
    want=$(awk -v t="$t" '{ print }' "$tmp/get.values" | awk -v t="$t" '
        function min(s,   h, m) { h = substr(s, 12, 2); m = substr(s, 15, 2); return (substr(s, 9, 2) - 4) * 1440 + h * 60 + m }
        { d = min(t) - min($1); if (d >= 0 && d < 5) print $2 }' | sort -n |
        awk '{ v[NR] = $1 } END { print v[int(0.95 * (NR - 1)) + 1] }')
    awk -v g="$v" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= 0.01 * w + 1e-9) }' &&
        ok=$((ok + 1))
done <"$tmp/alerts"
check "p95= alert: every firing and resolved value within 1 % of its window's exact p95" \
    [ "$ok" = "$(wc -l <"$tmp/alerts")" ]

# 4. Thousands of distinct values a step: the registers' estimate within 2 %.
"$loggen" --seed 5 --rate 150000 --duration 1h --start 2026-05-04T12:00:00Z >"$tmp/busy.log"
awk '{ $1 = "10." int(NR / 65536) "." int(NR / 256) % 256 "." NR % 256; print }' "$tmp/busy.log" \
    >"$tmp/unique.log"
printf "metric visitors distinct=remote_addr\nmetric lines\n" >"$tmp/d.rarr"
"$rarr" -r "$tmp/d.rarr" --emit=metrics "$tmp/unique.log" >"$tmp/d.out"
paste -d' ' <(grep '"metric":"visitors"' "$tmp/d.out" | sed 's/.*"value":\([^}]*\)}/\1/') \
    <(grep '"metric":"lines"' "$tmp/d.out" | sed 's/.*"value":\([^}]*\)}/\1/') >"$tmp/d.pairs"
check "distinct=: steps of more than 1,024 distinct values were tested" \
    [ "$(awk '$2 > 1024' "$tmp/d.pairs" | wc -l)" -gt 10 ]
check "distinct=: within 2 % of the exact count, every step" \
    [ "$(awk '{ d = $1 - $2; if (d < 0) d = -d } d > 0.02 * $2 + 1 { bad++ } END { print bad + 0 }' \
        "$tmp/d.pairs")" = 0 ]

# 5. Values that are not numbers, or below zero, are skipped and counted.
printf '%s\n' '{"ts":"2026-05-04T10:00:01Z","duration_ms":12.5}' \
    '{"ts":"2026-05-04T10:00:02Z","duration_ms":"fast"}' \
    '{"ts":"2026-05-04T10:00:03Z","duration_ms":-3}' \
    '{"ts":"2026-05-04T10:01:05Z","duration_ms":1}' >"$tmp/lat.json"
printf "metric p99ms p99=duration_ms\n" >"$tmp/lat.rarr"
"$rarr" -r "$tmp/lat.rarr" --emit=metrics --stats "$tmp/lat.json" >"$tmp/lat.out" 2>"$tmp/lat.err"
check "p99=: the one good value of the step" grep -q '"metric":"p99ms","step":"1m","value":12.5}' \
    "$tmp/lat.out"
check "p99=: a word and a negative value skipped and counted" \
    grep -q 'p99= values skipped p99ms 2 (not numbers, below zero, or beyond 2^53)' "$tmp/lat.err"

# 6. A replay cut with --state writes the records of one run (the sketches of open and closed steps kept).
n=$(wc -l <"$tmp/day.log")
for cuts in "$((n / 2))" "$((n / 3)) $((n * 3 / 4))"; do
    replay_cut "$tmp/sk.rarr" "$tmp/day.log" "$cuts" "$tmp/parts" "$tmp/split.err" --emit=all
    check "sketches with --state: cut at $cuts gives the records of one run" cmp -s "$tmp/sk.out" "$tmp/parts"
done
check "sketches with --state: nothing said" [ ! -s "$tmp/split.err" ]

done_checks sketch.sh
