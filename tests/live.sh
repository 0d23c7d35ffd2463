#!/usr/bin/env bash
# live.sh RARR -- live input: time moves with the wall clock when lines stop,
# --silence, prompt output through a pipe, SIGTERM, SIGUSR1, an idle process.
# Asserts on ordering and on bounds in event time, never on speed.
set -u
rarr=$1
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"
trap 'pkill -P $$ 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
printf "metric a path='/a'\nmetric b path='/b'\nalert b window=1s below=1 name=b-gone\n" >"$tmp/r.rarr"

# 1. b's lines stop while a's go on: b-gone fires within step + lateness + 1 s
#    of b's last event (in event time), and the record arrives while the
#    writer is still running (prompt output through a pipe).
{
    for i in $(seq 1 70); do
        t=$(now)
        echo "{\"ts\":$t,\"path\":\"/a\"}"
        if [ "$i" -le 15 ]; then
            echo "{\"ts\":$t,\"path\":\"/b\"}"
            echo "$t" >"$tmp/last_b"
        fi
        sleep 0.1
    done
    echo done >"$tmp/writer_done"
} | "$rarr" -r "$tmp/r.rarr" --step 1s --lateness 1s --silence 0s |
    while IFS= read -r l; do
        [ -e "$tmp/writer_done" ] || echo early >"$tmp/early"
        echo "$l"
    done >"$tmp/out1"
fire=$(grep -c '"state":"firing","rule":"b-gone"' "$tmp/out1")
check "b-gone fired once (got $fire)" [ "$fire" = 1 ]
check "the record arrived while lines were still coming" [ -e "$tmp/early" ]
t_rec=$(sed -n 's/.*"time":"\([^"]*\)".*"rule":"b-gone".*/\1/p' "$tmp/out1" | head -1)
if [ -n "$t_rec" ]; then
    rec=$(date -u -d "$t_rec" +%s)
    last=$(cut -d. -f1 "$tmp/last_b")
    check "fired within step + lateness + 1 s of the last b line ($((rec - last)) s)" \
        [ $((rec - last)) -le 3 ]
fi

# 2. --silence: no line at all for 1 s gives "silent", the next line "flowing".
{
    echo "{\"ts\":$(now),\"path\":\"/a\"}"
    sleep 2.5
    echo "{\"ts\":$(now),\"path\":\"/a\"}"
    sleep 0.3
} | "$rarr" -r "$tmp/r.rarr" --step 1s --lateness 0s --silence 1s >"$tmp/out2"
check "silent then flowing" \
    [ "$(grep -o '"type":"input","time":"[^"]*","state":"[a-z]*"' "$tmp/out2" | sed 's/.*"state":"//; s/"//' | tr '\n' ' ')" = "silent flowing " ]

# 3. SIGTERM while waiting: records written so far are out, status 0.
{
    echo "{\"ts\":$(now),\"path\":\"/a\"}"
    exec sleep 30
} | "$rarr" -r "$tmp/r.rarr" --step 1s --lateness 0s >"$tmp/out3" 2>"$tmp/err3" &
pid=$!
sleep 2.2
# 4. An idle rarr uses no measurable CPU (ticks of user + system time).
t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep 2
t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
check "idle: $((t1 - t0)) clock ticks of CPU in 2 s" [ $((t1 - t0)) -le 5 ]
kill -USR1 $pid
check "SIGUSR1 prints the windows" wait_for 10 grep -q '^rarr:   b: last step 0, 1s 0$' "$tmp/err3"
kill -TERM $pid
gone() { ! kill -0 "$pid" 2>/dev/null; }
check "SIGTERM: rarr exits" wait_for 10 gone
pkill -P $$ sleep # the writer; 'wait' waits for the whole pipeline
wait $pid
rc=$?
check "SIGTERM: status 0 (got $rc)" [ "$rc" = 0 ]
check "SIGTERM: the b-gone record was written" grep -q '"rule":"b-gone"' "$tmp/out3"

# 5. A recent log (timestamps up to now) through a pipe with short pauses
#    gives the same bytes as the same log read from a file.
t0=$(date +%s)
for i in $(seq 0 299); do
    echo "{\"ts\":$((t0 - 180 + i * 6 / 10)),\"path\":\"/$([ $((i % 3)) = 0 ] && echo b || echo a)\"}"
done >"$tmp/recent.json"
"$rarr" -r "$tmp/r.rarr" --step 1s --emit=all "$tmp/recent.json" >"$tmp/file.out"
size=$(wc -c <"$tmp/recent.json")
{
    off=0
    while [ "$off" -lt "$size" ]; do
        tail -c +$((off + 1)) "$tmp/recent.json" | head -c 997
        off=$((off + 997))
        sleep 0.05
    done
} | "$rarr" -r "$tmp/r.rarr" --step 1s --emit=all >"$tmp/pipe.out"
check "recent log: pipe with pauses equals file" cmp -s "$tmp/file.out" "$tmp/pipe.out"
check "recent log: records were written" [ -s "$tmp/file.out" ]

# 6. The whole input goes silent: threshold alerts hold, so the operator gets
#    one "input" silent record, not one firing per metric. (b-gone would fire
#    3 s after b's lines stop; the silence is declared after 1 s.)
printf "metric b path='/b'\nalert b window=1s below=1 for=3s name=b-gone\n" >"$tmp/r6.rarr"
{
    for i in $(seq 1 5); do
        echo "{\"ts\":$(now),\"path\":\"/b\"}"
        sleep 0.2
    done
    sleep 5
} | "$rarr" -r "$tmp/r6.rarr" --step 1s --lateness 0s --silence 1s >"$tmp/out6"
check "silent input: one input record ($(grep -c '"state":"silent"' "$tmp/out6"))" \
    [ "$(grep -c '"state":"silent"' "$tmp/out6")" = 1 ]
check "silent input: the threshold alert holds" [ "$(grep -c b-gone "$tmp/out6")" = 0 ]

done_checks live
