#!/usr/bin/env bash
# by.sh RARR LOGGEN -- by=FIELD with the real binary on a generated day of
# traffic: the per-step count of each key equals an independent count (awk
# over the CLF times and statuses); with max_keys=50 over 80,000 distinct
# paths every step writes at most 51 series, which add up to the metric
# without by=, and the overflow is said once; an alert on errors by path
# fires for the failing endpoint only, with its key; a replay cut in two
# and three with --state writes the records of one run; keys that are
# attacker text come out escaped and bounded. Asserts on records, never on
# speed.
set -u
rarr=$1
loggen=$2
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"

"$loggen" --seed 3 --rate 6000 --incident login_outage:14h:40m >"$tmp/day.log"

# 1. Per key and step, the count of an independent tally.
printf "metric reqs request~'^(GET|POST) ' by=status\n" >"$tmp/status.rarr"
"$rarr" -r "$tmp/status.rarr" --emit=metrics "$tmp/day.log" >"$tmp/status.out"
check "by=status: records carry the key after the metric" \
    grep -q '^{"type":"metric","time":"[^"]*","metric":"reqs","key":"200","step":"1m","value":' \
    "$tmp/status.out"
sed -n 's/.*"time":"\([^"]*\)","metric":"reqs","key":"\([^"]*\)","step":"1m","value":\([0-9]*\)}$/\1 \2 \3/p' \
    "$tmp/status.out" | awk '$3 != 0' | sort >"$tmp/got"
last=$(tail -n 1 "$tmp/status.out" | sed 's/.*"time":"\([^"]*\)".*/\1/')
# The step a line counts in ends at its minute + 1 (one day from May 4).
awk -v last="$last" '$6 == "\"GET" || $6 == "\"POST" {
        split($4, t, ":"); m = t[2] * 60 + t[3] + 1; d = 4 + int(m / 1440); m %= 1440
        end = sprintf("2026-05-%02dT%02d:%02d:00Z", d, int(m / 60), m % 60)
        if (end <= last) n[end " " $9]++
    }
    END { for (k in n) print k, n[k] }' "$tmp/day.log" | sort >"$tmp/want"
check "by=status: every key's count at every step equals awk's ($(wc -l <"$tmp/want") series-steps)" \
    cmp -s "$tmp/got" "$tmp/want"

# 2. A cap of 50 keys over 80,000 distinct paths.
awk '{ sub(/"GET [^ ]*/, "\"GET /p" NR); print }' "$tmp/day.log" >"$tmp/paths.log"
printf "metric gets request~'^GET ' by=path max_keys=50\n" >"$tmp/cap.rarr"
printf "metric gets request~'^GET '\n" >"$tmp/plain.rarr"
"$rarr" -r "$tmp/cap.rarr" --emit=metrics --stats "$tmp/paths.log" >"$tmp/cap.out" 2>"$tmp/cap.err"
"$rarr" -r "$tmp/plain.rarr" --emit=metrics "$tmp/paths.log" >"$tmp/plain.out"
check "max_keys=50: at most 51 series a step" \
    [ "$(sed 's/.*"time":"\([^"]*\)".*/\1/' "$tmp/cap.out" | uniq -c | sort -rn | head -n 1 |
        awk '{print $1}')" -le 51 ]
check "max_keys=50: the rest in key __other__" grep -q '"key":"__other__"' "$tmp/cap.out"
sum_by_step() {
    sed 's/.*"time":"\([^"]*\)".*"value":\([0-9]*\)}$/\1 \2/' "$1" |
        awk '{ n[$1] += $2 } END { for (t in n) if (n[t] != 0) print t, n[t] }' | sort
}
check "max_keys=50: the series of every step add up to the metric without by=" \
    cmp -s <(sum_by_step "$tmp/cap.out") <(sum_by_step "$tmp/plain.out")
check "max_keys=50: the overflow is said once" \
    [ "$(grep -c 'more than max_keys=50 values of by=path' "$tmp/cap.err")" = 1 ]
check "max_keys=50: --stats counts the values in __other__" \
    grep -q 'stats: keys gets [0-9]* in use (max_keys 50), [1-9][0-9]* released idle, [1-9][0-9]* values in __other__' \
    "$tmp/cap.err"

# 3. An alert on errors by path fires for the failing endpoint only.
printf "metric errs status~'^(5|401)' by=path\nalert errs window=5m above=20\n" >"$tmp/errs.rarr"
"$rarr" -r "$tmp/errs.rarr" "$tmp/day.log" >"$tmp/errs.out"
check "alert by path: fires and resolves" \
    [ "$(grep -c '"type":"threshold"' "$tmp/errs.out")" -ge 2 ]
check "alert by path: every event is about /login, with its key" \
    [ "$(grep -c '"metric":"errs","key":"/login",' "$tmp/errs.out")" = "$(wc -l <"$tmp/errs.out")" ]

# 4. A replay cut with --state writes the records of one run (keys, windows and alert states kept).
printf "metric reqs request~'^GET ' by=status\nmetric errs status~'^(5|401)' by=path max_keys=4\nalert errs window=5m above=20\n" \
    >"$tmp/split.rarr"
"$rarr" -r "$tmp/split.rarr" --emit=all "$tmp/day.log" >"$tmp/whole" 2>/dev/null
n=$(wc -l <"$tmp/day.log")
for cuts in "$((n / 2))" "$((n * 7 / 12 + 5))" "$((n / 3)) $((n * 3 / 4))"; do
    replay_cut "$tmp/split.rarr" "$tmp/day.log" "$cuts" "$tmp/parts" "$tmp/split.err" --emit=all
    check "by= with --state: cut at $cuts gives the records of one run" cmp -s "$tmp/whole" "$tmp/parts"
done
check "by= with --state: only the overflow said" \
    [ -z "$(grep -v 'errs: more than max_keys=4 values of by=path' "$tmp/split.err")" ]

# 4b. A state saved while a key's alert fired, loaded under rules without the
#     alert (so a shorter window): the key's alert is resolved with its key.
cut=$(grep -n '04/May/2026:14:20' "$tmp/day.log" | head -n 1 | cut -d: -f1)
printf "metric errs status~'^(5|401)' by=path\n" >"$tmp/noalert.rarr"
rm -f "$tmp/state"
head -n "$cut" "$tmp/day.log" | "$rarr" -r "$tmp/errs.rarr" --state "$tmp/state" >/dev/null
tail -n +$((cut + 1)) "$tmp/day.log" |
    "$rarr" -r "$tmp/noalert.rarr" --state "$tmp/state" >"$tmp/gone.out" 2>"$tmp/gone.err"
check "by= alert gone while firing: resolved for its key, reason rule removed" \
    grep -q '"state":"resolved","rule":"errs above 20 over 5m","metric":"errs","key":"/login",.*"reason":"rule removed"' \
    "$tmp/gone.out"
check "by= alert gone while firing: said, and the keys' state kept" \
    [ "$(cat "$tmp/gone.err")" = "rarr: $tmp/state: rule 'errs above 20 over 5m' is gone while firing; it is resolved" ]

# 4c. The same with labels on the alert: its resolved record still carries them.
printf "metric errs status~'^(5|401)' by=path\nalert errs window=5m above=20 label.severity=page label.team='web ops'\n" \
    >"$tmp/labelled.rarr"
rm -f "$tmp/state"
head -n "$cut" "$tmp/day.log" | "$rarr" -r "$tmp/labelled.rarr" --state "$tmp/state" >/dev/null
tail -n +$((cut + 1)) "$tmp/day.log" |
    "$rarr" -r "$tmp/noalert.rarr" --state "$tmp/state" >"$tmp/gone.out" 2>/dev/null
check "a labelled alert gone while firing: resolved for its key, with its labels" \
    grep -q '"key":"/login",.*"reason":"rule removed","labels":{"severity":"page","team":"web ops"}}$' \
    "$tmp/gone.out"

# 5. Keys are attacker text: escaped in records, long ones bounded.
long=$(head -c 5000 /dev/zero | tr '\0' 'A')
{
    printf '{"ts":"2026-05-04T10:00:01Z","user":"a\\"b\\\\c\\u0001\\u00e9"}\n'
    printf '{"ts":"2026-05-04T10:00:02Z","user":"%s"}\n' "$long"
    printf '{"ts":"2026-05-04T10:00:03Z","user":"%sB"}\n' "$long"
    printf '{"ts":"2026-05-04T10:02:00Z","user":"x"}\n'
} >"$tmp/keys.json"
printf "metric logins by=user\n" >"$tmp/keys.rarr"
"$rarr" -r "$tmp/keys.rarr" --emit=metrics "$tmp/keys.json" >"$tmp/keys.out"
check "keys: a quote, a backslash, a control byte escaped" \
    grep -qF '"key":"a\"b\\c\u0001é"' "$tmp/keys.out"
check "keys: two long values are two bounded keys" \
    [ "$(grep -c '"key":"A\{183\}~[0-9a-f]\{16\}"' "$tmp/keys.out")" = 2 ]

# 6. Ratios of by= metrics: key by key, and each key over a plain total.
cat >"$tmp/ratio.rarr" <<'EOF'
metric reqs request~'^(GET|POST) ' by=path max_keys=5000
metric errs request~'^(GET|POST) ' status~'^(5|401)' by=path max_keys=5000
metric all request~'^(GET|POST) '
ratio fail = errs / reqs * 100 min=20
ratio share = reqs / all * 100
EOF
"$rarr" -r "$tmp/ratio.rarr" --emit=metrics "$tmp/day.log" >"$tmp/ratio.out"
check "ratios of by= metrics: exits 0" [ $? = 0 ]
# "time key value" of a ratio's records with a value, from rarr and from awk.
ratio_got() {
    sed -n 's/.*"time":"\([^"]*\)","metric":"'"$1"'","key":"\([^"]*\)","step":"1m","value":\([0-9.e+-]*\)}$/\1 \2 \3/p' \
        "$tmp/ratio.out" | sort
}
ratio_want() { # WHICH: fail (errs/reqs*100 where reqs >= 20) or share (reqs/all*100)
    awk -v which="$1" -v last="$last" '$6 == "\"GET" || $6 == "\"POST" {
            split($4, t, ":"); m = t[2] * 60 + t[3] + 1; d = 4 + int(m / 1440); m %= 1440
            end = sprintf("2026-05-%02dT%02d:%02d:00Z", d, int(m / 60), m % 60)
            if (end > last) next
            path = $7; sub(/\?.*/, "", path) # the path field: up to the first "?"
            reqs[end " " path]++; all[end]++
            if ($9 ~ /^(5|401)/) errs[end " " path]++
        }
        END {
            for (k in reqs) {
                split(k, p, " ")
                if (which == "fail" && reqs[k] >= 20) printf "%s %.12g\n", k, errs[k] / reqs[k] * 100
                if (which == "share") printf "%s %.12g\n", k, reqs[k] / all[p[1]] * 100
            }
        }' "$tmp/day.log" | sort
}
same_values() { # two "time key value" lists: the same series, values equal to 12 digits
    join -j1 -o 1.2,2.2 <(awk '{print $1 "|" $2, $3}' "$1" | sort) \
        <(awk '{print $1 "|" $2, $3}' "$2" | sort) >"$tmp/joined"
    [ "$(wc -l <"$tmp/joined")" = "$(wc -l <"$1")" ] && [ "$(wc -l <"$1")" = "$(wc -l <"$2")" ] &&
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-9 * ($2 < 0 ? -$2 : $2) + 1e-12) exit 1 }' \
            "$tmp/joined"
}
ratio_got fail | awk '{ printf "%s %s %.12g\n", $1, $2, $3 }' >"$tmp/fail.got"
ratio_want fail >"$tmp/fail.want"
check "ratio of by= metrics: every key's errs/reqs at every step equals awk's ($(wc -l <"$tmp/fail.want") with reqs >= min=20)" \
    same_values "$tmp/fail.got" "$tmp/fail.want"
check "ratio of by= metrics: a key below min= writes null" \
    grep -q '"metric":"fail","key":"[^"]*","step":"1m","value":null}' "$tmp/ratio.out"
# A key's share is written while it has a line in its window: compare where it has one this step.
ratio_got share | awk '$3 != 0 { printf "%s %s %.12g\n", $1, $2, $3 }' >"$tmp/share.got"
ratio_want share >"$tmp/share.want"
check "ratio of a by= metric over a plain one: each key over the total ($(wc -l <"$tmp/share.want") series-steps)" \
    same_values "$tmp/share.got" "$tmp/share.want"

printf "metric reqs request~'^(GET|POST) ' by=path\nmetric errs status~'^(5|401)' by=path\nratio fail = errs / reqs * 100 min=20\nalert fail window=5m above=50\n" \
    >"$tmp/fail.rarr"
"$rarr" -r "$tmp/fail.rarr" "$tmp/day.log" >"$tmp/fail.out" 2>/dev/null
check "alert on a ratio by path: fires, for /login only, with its key" \
    [ "$(grep -c '"state":"firing","rule":"fail above 50 over 5m","metric":"fail","key":"/login",' "$tmp/fail.out")" -ge 1 ] &&
    [ "$(grep -c '"metric":"fail","key":"/login",' "$tmp/fail.out")" = "$(wc -l <"$tmp/fail.out")" ]
"$rarr" -r "$tmp/fail.rarr" --emit=all "$tmp/day.log" >"$tmp/whole" 2>/dev/null
replay_cut "$tmp/fail.rarr" "$tmp/day.log" "$((n * 7 / 12))" "$tmp/parts" /dev/null --emit=all
check "ratio by path with --state: a cut replay writes the records of one run" \
    cmp -s "$tmp/whole" "$tmp/parts"

# A ratio added between two runs: its operands' two key tables become one.
printf "metric reqs request~'^(GET|POST) ' by=path max_keys=20\nmetric errs status~'^(5|401)' by=path max_keys=20\n" \
    >"$tmp/two.rarr"
{
    cat "$tmp/two.rarr"
    printf "ratio fail = errs / reqs * 100 min=20\nalert fail window=5m above=50\n"
} >"$tmp/one.rarr"
rm -f "$tmp/state"
head -n "$cut" "$tmp/day.log" | "$rarr" -r "$tmp/two.rarr" --state "$tmp/state" >/dev/null 2>&1
tail -n +$((cut + 1)) "$tmp/day.log" |
    "$rarr" -r "$tmp/one.rarr" --state "$tmp/state" >"$tmp/joined.out" 2>"$tmp/joined.err"
check "a ratio added between runs: the saved keys are kept, not the file called corrupt" \
    [ $? = 0 ] && ! grep -q corrupt "$tmp/joined.err"
check "a ratio added between runs: its alert runs on the shared keys" \
    grep -q '"state":"firing","rule":"fail above 50 over 5m","metric":"fail","key":"/login",' "$tmp/joined.out"

refuse() { # NAME RULES MESSAGE: --check exits 2 naming the problem
    printf '%b' "$2" >"$tmp/bad.rarr"
    "$rarr" -r "$tmp/bad.rarr" --check >/dev/null 2>"$tmp/bad.err"
    check "$1" [ $? = 2 ] && check "$1: message" grep -qF "$3" "$tmp/bad.err"
}
refuse "ratio of two by= fields refused" \
    "metric a status~. by=path\nmetric b status~. by=status\nratio r = a / b\n" \
    "a ratio of two by= metrics needs one by= field: 'a' has by=path, 'b' by=status"
refuse "ratio of two max_keys refused" \
    "metric a status~. by=path\nmetric b status~. by=path max_keys=7\nratio r = a / b\n" \
    "needs one max_keys (they share their keys): 'a' has 100, 'b' 7"
refuse "plain over by= refused" "metric a status~.\nmetric b status~. by=path\nratio r = a / b\n" \
    "a ratio of a metric without by= over a by= metric is not supported"

# 7. Anomaly rules per key: each key's detector is the one a metric of its own would have.
"$loggen" --seed 5 --duration 10d --rate 3000 --incident spike:8d10h:1h:login \
    --incident drop:9d15h:1h:dashboard >"$tmp/days.log"
printf "metric hits path~'^/(login|dashboard)\$' by=path max_keys=10\nanomaly hits window=30m\n" \
    >"$tmp/kanom.rarr"
printf "metric hits path='/login'\nanomaly hits window=30m\nmetric hits2 path='/dashboard'\nanomaly hits2 window=30m\n" \
    >"$tmp/panom.rarr"
"$rarr" -r "$tmp/kanom.rarr" "$tmp/days.log" >"$tmp/kanom.out"
check "anomaly by path: exits 0" [ $? = 0 ]
"$rarr" -r "$tmp/panom.rarr" "$tmp/days.log" |
    sed -e 's|"rule":"hits anomaly over 30m","metric":"hits",|&"key":"/login",|' \
        -e 's|"rule":"hits2 anomaly over 30m","metric":"hits2",|"rule":"hits anomaly over 30m","metric":"hits","key":"/dashboard",|' \
        >"$tmp/panom.out"
check "anomaly by path: the spike and the drop, each with its key" \
    grep -q '"state":"firing","rule":"hits anomaly over 30m","metric":"hits","key":"/dashboard",.*"direction":"drop"' \
    "$tmp/kanom.out"
# (Separate metrics name each other in "related"; the keys of one metric do not.)
check "anomaly by path: the records of one detector per path, as separate metrics give" \
    cmp -s <(sort "$tmp/kanom.out") <(sed 's/,"related":\[[^]]*\]//' "$tmp/panom.out" | sort)
n=$(wc -l <"$tmp/days.log")
replay_cut "$tmp/kanom.rarr" "$tmp/days.log" "$((n * 17 / 20))" "$tmp/kparts" /dev/null
check "anomaly by path with --state: a cut replay writes the records of one run (detectors kept)" \
    cmp -s "$tmp/kanom.out" "$tmp/kparts"
cut=$(grep -n '13/May/2026:15:30' "$tmp/days.log" | head -n 1 | cut -d: -f1)
rm -f "$tmp/state"
head -n "$cut" "$tmp/days.log" | "$rarr" -r "$tmp/kanom.rarr" --state "$tmp/state" >/dev/null
printf "metric hits path~'^/(login|dashboard)\$' by=path max_keys=10\n" >"$tmp/kgone.rarr"
tail -n +$((cut + 1)) "$tmp/days.log" | "$rarr" -r "$tmp/kgone.rarr" --state "$tmp/state" \
    >"$tmp/kgone.out" 2>/dev/null
check "anomaly by path gone while firing: resolved for its key, with its direction" \
    grep -q '"type":"anomaly",.*"state":"resolved","rule":"hits anomaly over 30m","metric":"hits","key":"/dashboard",.*"direction":"drop".*"reason":"rule removed"' \
    "$tmp/kgone.out"
refuse "anomaly by= with more keys than detectors allowed refused" \
    "metric a status~. by=path max_keys=101\nanomaly a window=1h\n" \
    "an anomaly rule keeps a detector of about 38 KB per key: 'a' has max_keys=101, at most 100 here"

# 8. --report: a chart per key for the five keys with the most, the most first.
"$rarr" -r "$tmp/fail.rarr" --report "$tmp/report.html" "$tmp/day.log" >/dev/null 2>&1
awk '$6 == "\"GET" || $6 == "\"POST" { p = $7; sub(/\?.*/, "", p); n[p]++ }
    END { for (k in n) print n[k], k }' "$tmp/day.log" | sort -k1,1rn -k2 | head -n 5 |
    awk '{ print "key " $2 }' >"$tmp/top.want"
sed -n '/>metric: reqs/,/>metric: errs/p' "$tmp/report.html" | grep -o '<h3 [^>]*>key [^<]*' |
    sed 's/^<h3 [^>]*>//' >"$tmp/top.got"
check "report: the charts of reqs by path are its five paths with the most, in order" \
    cmp -s "$tmp/top.got" "$tmp/top.want"
check "report: the events table names the key" \
    grep -q '>fail above 50 over 5m</a></td><td>fail</td><td>/login</td>' "$tmp/report.html"
check "report: every SVG path begins with a move" \
    [ -z "$(grep -o ' d="[^"]*"' "$tmp/report.html" | grep -v '^ d="M[^"]*"$')" ]

# 9. patterns/web.rarr: errors by endpoint fire for the failing one only; a clean day is silent.
web=$(dirname "$0")/../patterns/web.rarr
"$rarr" -r "$web" "$tmp/day.log" >"$tmp/web.out" 2>/dev/null
check "web.rarr: the login outage fires for /login, and only for it" \
    grep -q '"state":"firing","rule":"path_error_pct above 20 over 15m","metric":"path_error_pct","key":"/login",' \
    "$tmp/web.out" &&
    [ "$(grep -c '"key":"/login"' "$tmp/web.out")" = "$(wc -l <"$tmp/web.out")" ]
"$loggen" --seed 4 --rate 6000 | "$rarr" -r "$web" >"$tmp/webclean.out" 2>/dev/null
check "web.rarr: a clean day is silent" [ ! -s "$tmp/webclean.out" ]

done_checks by.sh
