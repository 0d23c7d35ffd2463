#!/usr/bin/env bash
# shellcheck disable=SC2002 # cat FILE | rarr: a pipe is what is tested
# messy.sh RARR -- real, messy input read right: each variant of the login
# outage log below (a stray timestamp, a cut first line, a line of only \r,
# tail's headers, a vhost prefix, gzip, files in the wrong order, disorder)
# must give the same alerts (and where no line is lost, the same metric
# records) as the clean file, and stderr must say what was wrong with it.
# The e2e cases tests/e2e/input-messy-* cover the small fixtures.
set -u
rarr=$1
case $rarr in /*) ;; */*) rarr=$PWD/$rarr ;; esac
cd "$(dirname "$0")/.." || exit 1
top=$PWD
# shellcheck source=tests/check.sh
. "$top/tests/check.sh"
# has FILE REGEX: a line of FILE matches the extended REGEX.
has() { grep -Eq -- "$2" "$1"; }
# lines FILE N: FILE has exactly N lines.
lines() { [ "$(wc -l <"$1")" = "$2" ]; }
# count FILE REGEX N: exactly N lines of FILE match the extended REGEX.
count() { [ "$(grep -Ec -- "$2" "$1")" = "$3" ]; }
# hasnt FILE REGEX: no line of FILE matches.
hasnt() { ! grep -Eq -- "$2" "$1"; }

log=$top/fixtures/logs/login-outage.log
"$rarr" "$log" >"$tmp/clean.alerts" 2>"$tmp/clean.err"
"$rarr" --emit=all "$log" >"$tmp/clean.all" 2>/dev/null
check "clean: two alerts" lines "$tmp/clean.alerts" 2
check "clean: login_success fires" count "$tmp/clean.alerts" '"state":"firing","rule":"login_success' 1
check "clean: login_success resolves" count "$tmp/clean.alerts" '"state":"resolved","rule":"login_success' 1
check "clean: nothing on stderr" [ ! -s "$tmp/clean.err" ]

# same NAME FILE [rarr options]: the alerts and the metric records of FILE are
# those of the clean log; stderr is left in NAME.err, that with --stats in
# NAME.stats.
same() {
    local name=$1 file=$2
    shift 2
    "$rarr" "$@" "$file" >"$tmp/$name.alerts" 2>"$tmp/$name.err"
    check "$name: exit 0" [ $? = 0 ]
    check "$name: same alerts" cmp -s "$tmp/clean.alerts" "$tmp/$name.alerts"
    "$rarr" --emit=all "$@" "$file" >"$tmp/$name.all" 2>/dev/null
    check "$name: same metric records" cmp -s "$tmp/clean.all" "$tmp/$name.all"
    "$rarr" --stats "$@" "$file" >/dev/null 2>"$tmp/$name.stats"
}
stray() { printf '10.0.0.9 - - [%s +0000] "GET /login HTTP/1.1" 200 512 "-" "curl/8.0"\n' "$1"; }

# 1. A stray timestamp costs that line (counted as a time jump), not the lines
# after it. The stray lines are login page views: counted, they would change
# login_views. Line 2542 of the log is at 10:00:46, before the outage (14:11).
{ stray 01/Jan/1970:00:00:00; cat "$log"; } >"$tmp/j1970.log"
{ stray 04/Mar/2026:09:00:00; cat "$log"; } >"$tmp/jearly.log"
awk -v s="$(stray 04/Jun/2026:10:00:00)" 'NR == 2542 { print s } { print }' "$log" >"$tmp/jahead.log"
awk -v s="$(stray 18/May/2026:10:00:00)" 'NR == 2542 { print s } { print }' "$log" >"$tmp/j2weeks.log"
{ cat "$log"; stray 04/Jun/2026:10:00:00; } >"$tmp/jlast.log"
# Strays less than an hour ahead (a clock an hour off is common) cost the same one line.
awk -v s="$(stray 04/May/2026:10:30:00)" 'NR == 2542 { print s } { print }' "$log" >"$tmp/j30m.log"
awk -v s="$(stray 04/May/2026:10:50:00)" 'NR == 2542 { print s } { print }' "$log" >"$tmp/j50m.log"
for v in j1970:1 jearly:1 jahead:2542 j2weeks:2542 jlast:13516 j30m:2542 j50m:2542; do
    name=${v%:*} at=${v#*:}
    same "$name" "$tmp/$name.log"
    check "$name: stderr is the one time jump line" lines "$tmp/$name.err" 1
    check "$name: it names line $at" has "$tmp/$name.err" "^rarr: $tmp/$name.log:$at: time jump: 10\.0\.0\.9 "
    check "$name: --stats counts it" has "$tmp/$name.stats" '^rarr: stats: bad: time jump 1$'
    check "$name: --stats: no line late" has "$tmp/$name.stats" '^rarr: stats: late 0$'
done
# The same from standard input: the line is named input:LINE.
"$rarr" <"$tmp/jahead.log" >"$tmp/jstdin.alerts" 2>"$tmp/jstdin.err"
check "stray from stdin: same alerts" cmp -s "$tmp/clean.alerts" "$tmp/jstdin.alerts"
check "stray from stdin: input:2542 named" has "$tmp/jstdin.err" '^rarr: input:2542: time jump: '
# A jump the lines after it confirm is adopted: the same day again two days
# later fires and resolves again, and no line is skipped.
{ cat "$log"; sed 's#\[04/May/2026#[06/May/2026#' "$log"; } >"$tmp/twodays.log"
"$rarr" --stats "$tmp/twodays.log" >"$tmp/twodays.alerts" 2>"$tmp/twodays.err"
check "confirmed jump: the alerts of both days" \
    cmp -s "$tmp/twodays.alerts" <(cat "$tmp/clean.alerts"; sed 's/2026-05-04T/2026-05-06T/g' "$tmp/clean.alerts")
check "confirmed jump: no line bad" has "$tmp/twodays.err" '^rarr: stats: lines 27030, parsed 27030, empty 0, bad 0$'

# 2. The first line cut mid-line (tail -c of a log being written), a first
# line of only \r, tail's ==> FILE <== headers: the format is still combined.
tail -c +38 "$log" >"$tmp/cut.log"
"$rarr" -v "$tmp/cut.log" >"$tmp/cut.alerts" 2>"$tmp/cut.err"
check "cut first line: same alerts" cmp -s "$tmp/clean.alerts" "$tmp/cut.alerts"
check "cut first line: format combined" has "$tmp/cut.err" "^rarr: $tmp/cut.log: format combined$"
check "cut first line: it alone is bad" count "$tmp/cut.err" ': unparsable: ' 1
check "cut first line: line 1 named" has "$tmp/cut.err" "^rarr: $tmp/cut.log:1: unparsable:  - - \[04/May/2026:00:00:27 "
sed 1d "$log" | "$rarr" --emit=all >"$tmp/sed1d.all" 2>/dev/null
"$rarr" --emit=all -q "$tmp/cut.log" >"$tmp/cut.all" 2>/dev/null
check "cut first line: the records of the log without its first line" cmp -s "$tmp/sed1d.all" "$tmp/cut.all"

{ printf '\r\n'; cat "$log"; } >"$tmp/cr.log"
same cr "$tmp/cr.log"
check "a line of only \\r: nothing on stderr" [ ! -s "$tmp/cr.err" ]
check "a line of only \\r: counted empty" has "$tmp/cr.stats" '^rarr: stats: lines 13516, parsed 13515, empty 1, bad 0$'

# What tail -F access.log other.log prints (tail -n +1: the same headers).
mkdir "$tmp/tail"
head -n 5000 "$log" >"$tmp/tail/access.log"
tail -n +5001 "$log" >"$tmp/tail/other.log"
(cd "$tmp/tail" && tail -n +1 access.log other.log) >"$tmp/tail.log"
check "tail output: starts with its header" [ "$(head -n 1 "$tmp/tail.log")" = '==> access.log <==' ]
check "tail output: a second header in the middle" has "$tmp/tail.log" '^==> other.log <==$'
same tail "$tmp/tail.log"
check "tail headers: nothing on stderr" [ ! -s "$tmp/tail.err" ]
check "tail headers: --stats counts 2" has "$tmp/tail.stats" '^rarr: stats: tail headers 2$'
check "tail headers: not bad lines" has "$tmp/tail.stats" '^rarr: stats: lines 13518, parsed 13515, empty 1, bad 0$'
# ... and of JSON files, which start with a header too.
ev=fixtures/logs/events.json
{ echo '==> app.json <=='; head -n 500 $ev; printf '\n==> app2.json <==\n'; tail -n +501 $ev; } >"$tmp/tail.json"
"$rarr" -r fixtures/rules/events.rarr --emit=all $ev >"$tmp/json.all" 2>/dev/null
"$rarr" -r fixtures/rules/events.rarr --emit=all "$tmp/tail.json" >"$tmp/tailjson.all" 2>"$tmp/tailjson.err"
check "tail headers in JSON: same records" cmp -s "$tmp/json.all" "$tmp/tailjson.all"
check "tail headers in JSON: nothing on stderr" [ ! -s "$tmp/tailjson.err" ]
# One stray first line of another format does not decide the format.
{ echo '{"@timestamp":"2026-05-04T00:00:00Z","msg":"server started"}'; cat "$log"; } >"$tmp/jsonfirst.log"
"$rarr" -v "$tmp/jsonfirst.log" >"$tmp/jsonfirst.alerts" 2>"$tmp/jsonfirst.err"
check "a JSON first line: same alerts" cmp -s "$tmp/clean.alerts" "$tmp/jsonfirst.alerts"
check "a JSON first line: format combined" has "$tmp/jsonfirst.err" ': format combined$'

# 3. vhost_combined (Apache's vhost:port first; nginx with $host first).
sed 's/^/www.example.com:443 /' "$log" >"$tmp/vh.log"
same vhost "$tmp/vh.log"
"$rarr" -v "$tmp/vh.log" 2>&1 >/dev/null | grep -q ': format vcombined$'
check "vhost: format vcombined detected" [ $? = 0 ]
check "vhost: nothing bad" has "$tmp/vhost.stats" '^rarr: stats: lines 13515, parsed 13515, empty 0, bad 0$'
{
    grep '^define LOGIN ' patterns/default.rarr
    echo "metric www_logins    vhost='www.example.com:443'        request~'^GET %{LOGIN}'"
    echo "metric other_logins  vhost!~'^www\\.example\\.com:443$'  request~'^GET %{LOGIN}'"
} >"$tmp/vhost.rarr"
# nginx's $host first, no port.
sed 's/^/shop.example.com /' "$log" >"$tmp/shop.log"
"$rarr" --stats -r "$tmp/vhost.rarr" "$tmp/vh.log" >/dev/null 2>"$tmp/vrule.err"
"$rarr" --stats -r "$tmp/vhost.rarr" "$tmp/shop.log" >/dev/null 2>"$tmp/vrule2.err"
# login_views of the clean log (972) is the same regex without the vhost.
check "vhost rule: 972 login views on www" has "$tmp/vrule.err" '^rarr: stats: matches www_logins 972$'
check "vhost rule: none on the others" has "$tmp/vrule.err" '^rarr: stats: matches other_logins 0$'
check "vhost rule, nginx: 972 on the other vhost" has "$tmp/vrule2.err" '^rarr: stats: matches other_logins 972$'
check "vhost rule, nginx: none on www" has "$tmp/vrule2.err" '^rarr: stats: matches www_logins 0$'
"$rarr" -q -f combined "$tmp/vh.log" >"$tmp/vhc.alerts" 2>"$tmp/vhc.err"
check "vhost read as combined: no alerts" [ ! -s "$tmp/vhc.alerts" ]
check "vhost read as combined: -q still says it" lines "$tmp/vhc.err" 1
check "vhost read as combined: names vcombined" has "$tmp/vhc.err" \
    "^rarr: $tmp/vh.log:33: warning: 33 of the last 33 lines are not combined lines; they look like vcombined \(try -f vcombined\)"

# 4. gzip, told by its magic bytes whatever the name, from a file or a pipe.
gzip -n -c "$log" >"$tmp/log.gz"
cp "$tmp/log.gz" "$tmp/gz-named.log"
same gzip "$tmp/log.gz"
same gzip-named-log "$tmp/gz-named.log"
"$rarr" --emit=all <"$tmp/log.gz" >"$tmp/gzstdin.all" 2>"$tmp/gzstdin.err"
check "gzip on stdin: same records" cmp -s "$tmp/clean.all" "$tmp/gzstdin.all"
check "gzip on stdin: nothing on stderr" [ ! -s "$tmp/gzstdin.err" ]
cat "$tmp/log.gz" | "$rarr" --emit=all >"$tmp/gzpipe.all" 2>"$tmp/gzpipe.err"
check "gzip through a pipe: same records" cmp -s "$tmp/clean.all" "$tmp/gzpipe.all"
check "gzip through a pipe: nothing on stderr" [ ! -s "$tmp/gzpipe.err" ]
{ head -n 7000 "$log" | gzip -n; tail -n +7001 "$log" | gzip -n; } >"$tmp/two.gz"
same gzip-two-members "$tmp/two.gz"
gzip -n -c "$tmp/vh.log" >"$tmp/vh.gz"
same gzip-vhost "$tmp/vh.gz"
# Cut in the middle: the complete lines before the cut are read, then an
# error with the file's name and exit 1.
head -c 120000 "$tmp/log.gz" >"$tmp/cut.gz"
zcat "$tmp/cut.gz" 2>/dev/null | sed '$d' >"$tmp/before-cut.log"
check "cut gzip: the cut is in the second half of the day" [ "$(wc -l <"$tmp/before-cut.log")" -gt 6000 ]
"$rarr" --emit=all "$tmp/before-cut.log" >"$tmp/before-cut.all" 2>/dev/null
"$rarr" --emit=all "$tmp/cut.gz" >"$tmp/cutgz.all" 2>"$tmp/cutgz.err"
check "cut gzip: exit 1" [ $? = 1 ]
check "cut gzip: the error names the file" has "$tmp/cutgz.err" "^rarr: $tmp/cut.gz: truncated gzip data$"
check "cut gzip: the records of the lines before the cut" cmp -s "$tmp/before-cut.all" "$tmp/cutgz.all"
"$rarr" --emit=all <"$tmp/cut.gz" >"$tmp/cutgzin.all" 2>"$tmp/cutgzin.err"
check "cut gzip on stdin: exit 1" [ $? = 1 ]
check "cut gzip on stdin: the error names input" has "$tmp/cutgzin.err" '^rarr: input: truncated gzip data$'
check "cut gzip on stdin: the records of the lines before the cut" cmp -s "$tmp/before-cut.all" "$tmp/cutgzin.all"
"$rarr" -q "$tmp/cut.gz" "$log" >"$tmp/cutgz-then.alerts" 2>/dev/null
check "cut gzip then a good file: exit 1" [ $? = 1 ]
check "cut gzip then a good file: the good file is read" count "$tmp/cutgz-then.alerts" '"state":"firing"' 1

# 5. (the e2e cases input-messy-common-on-json*, input-messy-json-on-combined*)

# 6. Two files newest first: the old one is late, and stderr says why.
mkdir "$tmp/two"
head -n 6000 "$log" >"$tmp/two/old.log"
tail -n +6001 "$log" >"$tmp/two/new.log"
(cd "$tmp/two" && "$rarr" --emit=all old.log new.log) >"$tmp/oldfirst.all" 2>"$tmp/oldfirst.err"
check "oldest first: same records as one file" cmp -s "$tmp/clean.all" "$tmp/oldfirst.all"
check "oldest first: nothing on stderr" [ ! -s "$tmp/oldfirst.err" ]
(cd "$tmp/two" && "$rarr" new.log old.log) >/dev/null 2>"$tmp/newfirst.err"
check "newest first: the hint names both files" has "$tmp/newfirst.err" \
    '^rarr: old\.log:1: 23h59m behind the newest event \(from new\.log\): are the inputs out of time order\? give the oldest first$'
check "newest first: the hint once" [ "$(grep -c 'out of time order' "$tmp/newfirst.err")" = 1 ]
check "newest first: the late lines say how late" has "$tmp/newfirst.err" \
    '^rarr: old\.log:1: late: 23h59m26s behind the newest event, past --lateness 15m: '

# 7. A replay keeps 15 minutes of disorder, from a file or a pipe; a live
# input (a pipe whose times are the wall clock's) 10 s. Line 2542 (10:00:46,
# a marketing view) moved down.
move() { # the line 2542 put after the first line at or past HH:MM:SS
    awk -v until="$1" 'NR == 2542 { held = $0; next } { print }
        held != "" { split($4, t, ":"); if (t[2] ":" t[3] ":" substr(t[4], 1, 2) >= until) { print held; held = "" } }' "$log"
}
move 10:14:30 >"$tmp/late14.log"
same late14 "$tmp/late14.log"
check "14 minutes late: nothing on stderr" [ ! -s "$tmp/late14.err" ]
cat "$tmp/late14.log" | "$rarr" --emit=all >"$tmp/late14pipe.all" 2>"$tmp/late14pipe.err"
check "14 minutes late, from a pipe: same records" cmp -s "$tmp/clean.all" "$tmp/late14pipe.all"
check "14 minutes late, from a pipe: nothing on stderr" [ ! -s "$tmp/late14pipe.err" ]
move 10:17:00 >"$tmp/late16.log"
"$rarr" "$tmp/late16.log" >"$tmp/late16.alerts" 2>"$tmp/late16.err"
check "16 minutes late: same alerts" cmp -s "$tmp/clean.alerts" "$tmp/late16.alerts"
check "16 minutes late: says how late, names --lateness" has "$tmp/late16.err" \
    "^rarr: $tmp/late16.log:2708: late: 16m18s behind the newest event, past --lateness 15m: 24\.89\.190\.60 "
check "16 minutes late: no out-of-order hint within one input" hasnt "$tmp/late16.err" 'out of time order'
now=$(date -u +%s)
stamp() { LC_ALL=C date -u -d "@$1" '+%d/%b/%Y:%H:%M:%S'; }
{
    for i in 3 2 1 0; do stray "$(stamp $((now - i)))"; done
    stray "$(stamp $((now - 40)))"
    stray "$(stamp "$now")"
} >"$tmp/live.log"
"$rarr" --stats "$tmp/live.log" >/dev/null 2>"$tmp/livefile.err"
check "40 s late in a file (a replay): kept" has "$tmp/livefile.err" '^rarr: stats: late 0$'
cat "$tmp/live.log" | "$rarr" >/dev/null 2>"$tmp/livepipe.err"
check "40 s late on a live pipe: past --lateness 10s" has "$tmp/livepipe.err" \
    '^rarr: input:5: late: 40s behind the newest event, past --lateness 10s: '

done_checks messy
