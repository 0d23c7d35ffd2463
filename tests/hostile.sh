#!/usr/bin/env bash
# hostile.sh RARR -- the hostile corpus (fixtures/hostile/) and hostile
# inputs made on the spot (a 2 MiB line, 100,000 distinct requests, NUL
# bytes): rarr exits 0, every stdout line is one JSON object of a known
# type (checked by rarr itself reading its own output as JSON), no record
# is forged from text in the input, and stderr carries no raw control bytes.
set -u
rarr=$1
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
check() {
    local name=$1
    shift
    if "$@"; then pass=$((pass + 1)); else echo "FAIL: $name"; fails=$((fails + 1)); fi
}
# Peak memory means nothing under AddressSanitizer (redzones, quarantine):
# the memory bounds are checked on a normal build only.
limit=65536
nm "$rarr" 2>/dev/null | grep -q __asan_init && limit=4194304
printf "metric records type~'^(metric|threshold|anomaly|input)\$'\nmetric other type!~'^(metric|threshold|anomaly|input)\$'\n" \
    >"$tmp/records.rarr"

# run NAME ARGS...: rarr --emit=all on hostile input, then its output read back as JSON.
run() {
    local name=$1 st
    shift
    "$rarr" --emit=all "$@" >"$tmp/out" 2>"$tmp/err"
    st=$?
    check "$name: exit 0" [ "$st" = 0 ]
    "$rarr" -f json --time-field time -r "$tmp/records.rarr" --stats "$tmp/out" \
        >/dev/null 2>"$tmp/back"
    check "$name: every stdout line is a JSON object with a time" \
        [ -z "$(grep 'stats: bad ' "$tmp/back")" ]
    check "$name: every record is of a known type" \
        grep -q 'stats: matches other 0$' "$tmp/back"
    check "$name: as many records as lines" \
        [ "$(sed -n 's/.*stats: matches records //p' "$tmp/back")" = "$(wc -l <"$tmp/out")" ]
    check "$name: no raw control bytes on stderr" \
        [ -z "$(LC_ALL=C tr -d '\n' <"$tmp/err" | LC_ALL=C tr -d '[:print:]')" ]
}

# Quotes, escaped quotes, \n sequences, ANSI escapes, NUL and invalid UTF-8
# in the request, referer and user agent: no threshold or anomaly record
# may come out of them (the built-in rules cannot fire on 7 lines).
run injection fixtures/hostile/injection.log
check "injection: no forged event" [ -z "$(grep -v '"type":"metric"' "$tmp/out")" ]
check "injection: the login views were counted" \
    [ "$(awk -F'"value":' '/"metric":"login_views"/ { s += $2 + 0 } END { print s + 0 }' "$tmp/out")" -ge 1 ]
run garbage fixtures/hostile/garbage.bin
run "CLF look-alikes" fixtures/hostile/clf-lookalikes.log
check "CLF look-alikes: detected as combined despite a bad first line" \
    grep -q 'unparsable 11' <("$rarr" --stats fixtures/hostile/clf-lookalikes.log 2>&1)
run "odd JSON" -f json fixtures/hostile/json-odd.json

# A 2 MiB line between good ones: skipped as too long, never held.
{
    echo '1.2.3.4 - - [04/May/2026:10:00:00 +0000] "GET /login HTTP/1.1" 200 5 "-" "-"'
    printf '1.2.3.4 - - [04/May/2026:10:00:01 +0000] "GET /'
    head -c 2097152 /dev/zero | tr '\0' 'a'
    echo ' HTTP/1.1" 200 5 "-" "-"'
    echo '1.2.3.4 - - [04/May/2026:10:02:00 +0000] "GET /login HTTP/1.1" 200 5 "-" "-"'
} >"$tmp/long.log"
run "2 MiB line" "$tmp/long.log"
check "2 MiB line: reported as too long" grep -q 'too long' "$tmp/err"

# A million distinct requests (a scan), each with a value captured by a
# named group and tested again: memory stays bounded (nothing is kept per
# value; the memo forgets).
awk 'BEGIN { for (i = 0; i < 1000000; i++)
    printf "1.2.3.4 - - [04/May/2026:1%d:%02d:%02d +0000] \"GET /login/%d?x=%d HTTP/1.1\" 200 5 \"-\" \"agent-%d\"\n",
        i / 360000, (i / 6000) % 60, (i / 100) % 60, i, i * 7, i }' >"$tmp/scan.log"
printf "metric ids request~'^GET /login/(?<id>[0-9]+)' id~'[13579]\$'\nmetric agents user_agent~'^agent-'\n" \
    >"$tmp/scan.rarr"
/usr/bin/time -f '%M' -o "$tmp/rss" "$rarr" -r "$tmp/scan.rarr" --stats "$tmp/scan.log" \
    >/dev/null 2>"$tmp/err"
check "a million distinct captured values: counted" grep -q 'matches ids 500000$' "$tmp/err"
check "a million distinct captured values: peak RSS $(tail -1 "$tmp/rss") KB under 64 MiB" \
    [ "$(tail -1 "$tmp/rss")" -lt "$limit" ]

# JSON nested a million deep and a number of a million digits: bad lines, bounded memory.
{
    printf '{"ts":"2026-05-04T10:00:00Z","a":'
    head -c 1000000 /dev/zero | tr '\0' '['
    echo
    printf '{"ts":"2026-05-04T10:00:01Z","n":'
    head -c 1000000 /dev/zero | tr '\0' '7'
    echo '}'
    echo '{"ts":"2026-05-04T10:02:00Z","path":"/login"}'
} >"$tmp/deep.json"
/usr/bin/time -f '%M' -o "$tmp/rss" "$rarr" --stats "$tmp/deep.json" >/dev/null 2>"$tmp/err"
check "deep JSON, huge number: both invalid json" grep -q 'bad: invalid json 2' "$tmp/err"
check "deep JSON, huge number: peak RSS $(tail -1 "$tmp/rss") KB under 64 MiB" \
    [ "$(tail -1 "$tmp/rss")" -lt "$limit" ]

# A rule file with 5,000 rules (8,500 regexes): loads and runs in bounded memory.
bash bench/rules.sh 5000 >"$tmp/r5000.rarr"
/usr/bin/time -f '%M' -o "$tmp/rss" "$rarr" -r "$tmp/r5000.rarr" fixtures/logs/tiny.log \
    >/dev/null 2>&1
check "5,000 rules: peak RSS $(tail -1 "$tmp/rss") KB under 64 MiB" [ "$(tail -1 "$tmp/rss")" -lt "$limit" ]

# Signals are honoured on every read, also inside a line that never ends and
# while a FIFO waits for its writer: SIGTERM ends the run as usual (exit 0,
# the state saved). "Within 10 s" only guards against a hang, it is no speed.
ended=
ends_on_term() { # PID: SIGTERM ends it within 10 s; its exit status in $ended
    local pid=$1 n=100
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
        wait "$pid"
        ended=hung
        return
    fi
    wait "$pid"
    ended=$?
}
"$rarr" --state "$tmp/z.state" fixtures/logs/tiny.log >/dev/null 2>&1
saved() { grep -o '"saved":"[^"]*"' "$tmp/z.state"; }
before=$(saved)
sleep 0.01
"$rarr" --state "$tmp/z.state" /dev/zero >/dev/null 2>"$tmp/err" &
pid=$!
sleep 0.5
ends_on_term $pid
check "SIGTERM inside an endless line (/dev/zero): exit 0 ($ended)" [ "$ended" = 0 ]
check "SIGTERM inside an endless line: the state saved" [ "$(saved)" != "$before" ]
check "an endless line: reported as too long" grep -q '/dev/zero:1: too long' "$tmp/err"
head -c 300000000 /dev/urandom 2>/dev/null | tr -d '\n' | "$rarr" >/dev/null 2>&1 &
sleep 0.5
pid=$(pgrep -n -f "^$rarr\$" || true)
kill -TERM "$pid" 2>/dev/null
n=100
while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
check "SIGTERM inside a binary stream without newlines: it ends" [ -n "$pid" ] && [ $n -gt 0 ]
kill -9 "$pid" 2>/dev/null
wait 2>/dev/null
mkfifo "$tmp/fifo"
"$rarr" "$tmp/fifo" >/dev/null 2>"$tmp/err" &
pid=$!
sleep 0.3
ends_on_term $pid
check "SIGTERM while a FIFO waits for a writer: exit 0 ($ended)" [ "$ended" = 0 ]
check "SIGTERM while a FIFO waits: nothing said" [ ! -s "$tmp/err" ]

echo "hostile.sh: $pass passed, $fails failed"
[ "$fails" = 0 ]
