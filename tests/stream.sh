#!/usr/bin/env bash
# stream.sh RARR -- end-to-end checks that need a pipeline, not a golden file:
# chunked reads, a closed stdout, hostile bytes, CRLF, several inputs.
set -u
rarr=$1
cd "$(dirname "$0")/.."
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"

log=fixtures/logs/login-outage.log
rules="-r fixtures/rules/tiny.rarr"
"$rarr" --emit=all <"$log" >"$tmp/whole" 2>/dev/null

# The same bytes out whatever the read sizes: a replay is deterministic (docs/design.md, "Time").
for bs in 1 7 4093 65536; do
    if [ "$bs" = 1 ]; then
        head -c 300000 "$log" >"$tmp/head.log"
        "$rarr" --emit=all <"$tmp/head.log" >"$tmp/head.out" 2>/dev/null
        dd if="$tmp/head.log" bs=1 status=none | "$rarr" --emit=all >"$tmp/chunk" 2>/dev/null
        check "chunks of $bs bytes" cmp -s "$tmp/head.out" "$tmp/chunk"
    else
        dd if="$log" bs="$bs" status=none | "$rarr" --emit=all >"$tmp/chunk" 2>/dev/null
        check "chunks of $bs bytes" cmp -s "$tmp/whole" "$tmp/chunk"
    fi
done

# A closed stdout ends the run quietly: exit status 0, nothing on stderr.
"$rarr" --emit=metrics "$log" 2>"$tmp/err" | head -1 >/dev/null
rc=${PIPESTATUS[0]}
check "closed stdout: status 0 (got $rc)" [ "$rc" = 0 ]
check "closed stdout: nothing on stderr" [ ! -s "$tmp/err" ]

# CRLF line ends read like LF.
sed 's/$/\r/' fixtures/logs/tiny.log >"$tmp/crlf.log"
"$rarr" $rules --emit=all -q "$tmp/crlf.log" >"$tmp/crlf.out"
"$rarr" $rules --emit=all -q fixtures/logs/tiny.log >"$tmp/lf.out"
check "CRLF" cmp -s "$tmp/lf.out" "$tmp/crlf.out"

# A slow writer: pieces of odd sizes with pauses between them.
{
    off=0
    for n in 13 1 200 77 4000; do
        tail -c +$((off + 1)) fixtures/logs/tiny.log | head -c "$n"
        off=$((off + n))
        sleep 0.05
    done
    tail -c +$((off + 1)) fixtures/logs/tiny.log
} | "$rarr" $rules --emit=all >"$tmp/slow" 2>/dev/null
"$rarr" $rules --emit=all fixtures/logs/tiny.log >"$tmp/fast" 2>/dev/null
check "slow pipe" cmp -s "$tmp/fast" "$tmp/slow"

# Hostile lines between good ones change nothing the good lines produce.
{
    i=0
    while IFS= read -r l; do
        printf '%s\n' "$l"
        case $((i % 4)) in
        0) printf '\x00\x01\xff\xfe binary \x00 garbage\n' ;;
        1) printf '1.2.3.4 - - [04/May/2026:10:00:01 +0000] "GET /login\xc3\x28 HTTP/1.1" 200 1 "-" "\xed\xa0\x80"\n' ;;
        2) head -c 2200000 /dev/zero | tr '\0' 'a'; printf '\n' ;;
        3) printf '1.2.3.4 - - [31/Feb/2026:10:00:01 +0000] "GET /login HTTP/1.1" 200 1 "-" "-"\n' ;;
        esac
        i=$((i + 1))
    done <fixtures/logs/tiny.log
    printf '1.2.3.4 - - [04/May/2026:10:04:59 +0000] "GET /login HTTP/1.1" 200 1 "-" "-'
} >"$tmp/hostile.log"
# The invalid-UTF-8 request does match /login byte-wise; take it out of the comparison.
LC_ALL=C grep -av $'login\xc3' "$tmp/hostile.log" >"$tmp/hostile2.log" || true
"$rarr" $rules --emit=all -q "$tmp/hostile2.log" >"$tmp/hostile.out"
rc=$?
check "hostile input: status 0 (got $rc)" [ "$rc" = 0 ]
check "hostile input: same records as the good lines" cmp -s "$tmp/lf.out" "$tmp/hostile.out"
"$rarr" $rules --stats "$tmp/hostile2.log" >/dev/null 2>"$tmp/hostile.err"
check "hostile input: too long counted" grep -q '^rarr: stats: bad: too long 3$' "$tmp/hostile.err"
check "hostile input: first 5 bad lines shown" \
    [ "$(grep -c "^rarr: $tmp/hostile2.log:[0-9]*: " "$tmp/hostile.err")" = 5 ]

# Several inputs in order, '-' is stdin; line numbers are per file.
"$rarr" $rules --emit=all -q fixtures/logs/tiny.log - <fixtures/logs/tiny.log >"$tmp/two.out"
cat fixtures/logs/tiny.log fixtures/logs/tiny.log | "$rarr" $rules --emit=all -q >"$tmp/cat.out"
check "file then stdin equals one stream" cmp -s "$tmp/cat.out" "$tmp/two.out"

# Per-step counts equal an independent count (awk over the same log); the
# minute of the newest line is not a complete step, so it is left out.
awk '{ split($4, t, ":"); key = t[2] ":" t[3]; last = key }
     $6 == "\"POST" && $7 ~ /^\/signup/ && $9 ~ /^20[01]$/ { signups[key]++ }
     $6 == "\"GET" && $7 ~ /^\/login([^A-Za-z0-9_]|$)/ { logins[key]++ }
     END { delete logins[last]; delete signups[last]
           for (k in logins) print "login_views", k, logins[k]
           for (k in signups) print "signups", k, signups[k] }' "$log" | sort >"$tmp/awk.counts"
"$rarr" --emit=metrics "$log" |
    sed -n 's/.*"time":"[0-9-]*T\([0-9]*:[0-9]*\):00Z","metric":"\(login_views\|signups\)".*"value":\([1-9][0-9]*\)}$/\2 \1 \3/p' |
    awk '{ split($2, t, ":"); m = t[1] * 60 + t[2] - 1; printf "%s %02d:%02d %s\n", $1, int(m / 60), m % 60, $3 }' |
    sort >"$tmp/rarr.counts"
check "counts equal an independent count" cmp -s "$tmp/awk.counts" "$tmp/rarr.counts"
check "independent count is not empty" [ "$(wc -l <"$tmp/awk.counts")" -gt 100 ]

done_checks stream
