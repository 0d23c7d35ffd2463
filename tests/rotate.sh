#!/usr/bin/env bash
# rotate.sh RARR -- a log followed with `tail -n +1 -F` while it is
# rotated five times (renamed, a new file created, the writer appending to
# the new one): every line is counted exactly once. The lines carry old
# timestamps a second apart, so the counts are deterministic however the
# lines arrive; a last line far ahead closes every step. Asserts on counts,
# never on speed.
set -u
rarr=$1
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"
trap 'exec 4>&- 2>/dev/null; pkill -P $$ 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

log=$tmp/access.log
base=1777852800 # 2026-05-04T00:00:00Z
n=0
# write K: K lines through fd 4, one a second of event time, every 4th a /hit.
write() {
    local k
    for k in $(seq 1 "$1"); do
        n=$((n + 1))
        if [ $((n % 4)) = 0 ]; then p=/hit; else p=/other; fi
        printf '{"ts":%d,"path":"%s","n":%d}\n' $((base + n)) "$p" "$n" >&4
    done
}

printf "metric hits path='/hit'\nmetric all path~'^/'\n" >"$tmp/r.rarr"

# follow NAME NGINX TAIL-OPTIONS...: rotate five times while writing; with
# NGINX=1 the writer goes on in the renamed file until it reopens (as nginx
# does until logrotate's postrotate signal), else it switches at once.
follow() {
    local name=$1 nginx=$2 round rpid i
    shift 2
    rm -f "$log"* "$tmp/out" "$tmp/err"
    n=0
    exec 4>>"$log"
    tail "$@" -n +1 -F "$log" 2>"$tmp/tail.err" |
        "$rarr" -r "$tmp/r.rarr" --emit=metrics --step 10s >"$tmp/out" 2>"$tmp/err" &
    sleep 0.3
    for round in 1 2 3 4 5; do
        write 150
        sleep 0.2
        if [ "$nginx" = 1 ]; then
            mv "$log" "$log.$round"
            write 40
            sleep 0.5
            exec 4>&-
            exec 4>>"$log"
        else
            exec 4>&-
            mv "$log" "$log.$round"
            exec 4>>"$log"
        fi
        sleep 0.3
    done
    write 100
    total=$n
    # A last line an hour ahead: every step of the lines above is complete.
    printf '{"ts":%d,"path":"x/end"}\n' $((base + n + 3600)) >&4
    exec 4>&-
    rpid=$(pgrep -n -x rarr -P $$)
    tailpid=$(pgrep -n -x tail -P $$)
    for i in $(seq 1 100); do
        kill -USR1 "$rpid" 2>/dev/null
        sleep 0.1
        grep -q "newest event $(date -u -d @$((base + n + 3600)) +%Y-%m-%dT%H:%M:%S)Z" \
            "$tmp/err" && break
    done
    kill "$tailpid" 2>/dev/null
    wait 2>/dev/null
    all=$(sum all)
    hits=$(sum hits)
    check "$name: every line counted once: all = $all, written $total" [ "$all" = "$total" ]
    check "$name: every /hit counted once: hits = $hits, written $((total / 4))" \
        [ "$hits" = $((total / 4)) ]
    check "$name: no bad or late lines" \
        [ -z "$(grep -v -e 'windows at' -e '^rarr:   ' "$tmp/err")" ]
    check "$name: tail followed the new files" \
        [ "$(grep -c 'following new file' "$tmp/tail.err")" -ge 4 ]
}
sum() {
    awk -v m="$1" -F'"value":' 'index($0, "\"metric\":\"" m "\"") { s += $2 + 0 } END { print s + 0 }' \
        "$tmp/out"
}

follow "tail -F, rename and create" 0
# Not tested: a writer that goes on in the renamed file (nginx until
# logrotate's postrotate signal). GNU tail stops reading a renamed file as
# soon as it notices the rename, so those lines never reach rarr (measured:
# 40 lost of 40 per rotation with inotify; README, "Live input").

done_checks rotate.sh
