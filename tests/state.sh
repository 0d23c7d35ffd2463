#!/usr/bin/env bash
# state.sh RARR -- --state and SIGHUP with the real binary: a replay cut in
# two (and in three) with --state between the parts writes the same records
# as one run, for a generated multi-day log with incidents and for a captured
# journald stream; SIGTERM saves the state; SIGHUP with a changed rule file
# keeps the unchanged metrics' windows, alerts and detectors, and a broken
# rule file keeps the rules in force; kill -9 at any moment of a run that
# saves all the time leaves a state file that loads.
# Asserts on records and messages, never on speed.
set -u
rarr=$1
loggen=$(dirname "$rarr")/loggen
cd "$(dirname "$0")/.."
# shellcheck source=tests/check.sh
. tests/check.sh
trap 'pkill -P $$ 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT

# split FILE NAME CUT... -- [ARGS]: run the parts of FILE cut after lines
# CUT... with one --state file; the records must equal one run over FILE.
split() {
    local file=$1 name=$2 cuts=() from=1 c i=0
    shift 2
    while [ "$1" != -- ]; do cuts+=("$1"); shift; done
    shift
    "$rarr" "$@" "$file" >"$tmp/whole" 2>"$tmp/whole.err"
    rm -f "$tmp/state" "$tmp/parts"
    for c in "${cuts[@]}" '$'; do
        sed -n "${from},${c}p" "$file" >"$tmp/part$i"
        "$rarr" --state "$tmp/state" "$@" <"$tmp/part$i" >>"$tmp/parts" 2>"$tmp/err$i"
        check "$name: part $i exits 0" [ $? = 0 ]
        check "$name: part $i says nothing on stderr" [ ! -s "$tmp/err$i" ]
        [ "$c" = '$' ] || from=$((c + 1))
        i=$((i + 1))
    done
    check "$name: cut at ${cuts[*]} gives the records of one run ($(wc -l <"$tmp/whole"))" \
        cmp -s "$tmp/whole" "$tmp/parts"
}

# 1. Replays cut in two and three: four days with a signup drop, a login
#    outage and a marketing spike; alerts and anomalies, then every metric.
"$loggen" --seed 5 --duration 4d --rate 6000 --incident spike:2d5h:30m:marketing \
    --incident drop:3d3h:1h:signup --incident login_outage:3d12h:40m >"$tmp/g.log"
n=$(wc -l <"$tmp/g.log")
check "the generated replay has records" [ "$("$rarr" "$tmp/g.log" | wc -l)" -ge 4 ]
split "$tmp/g.log" "alerts" $((n / 2)) --
split "$tmp/g.log" "alerts, inside the outage" $((n * 7 / 8 + 11)) --
split "$tmp/g.log" "alerts, three parts" $((n / 3)) $((n * 3 / 4)) --
split "$tmp/g.log" "all records" $((n * 7 / 8 + 11)) -- --emit=all
split fixtures/logs/login-outage.log "login outage" 7000 -- --emit=all
split fixtures/logs/journald-outage.json "journald" 1000 2000 -- -r patterns/journald.rarr \
    --emit=all

# 1b. A state file of format version 1 (fixtures/state/v1.state: detectors
#     saved as an image of their C struct, written by rarr 0.1.0 under
#     fixtures/state/v1.rarr after the first half of the log above) still
#     loads: the second half gives the records of a split run whose state
#     was saved in the current format, and the next save is version 2.
head -n $((n / 2)) "$tmp/g.log" >"$tmp/g1"
tail -n +$((n / 2 + 1)) "$tmp/g.log" >"$tmp/g2"
cp fixtures/state/v1.state "$tmp/v1"
"$rarr" -r fixtures/state/v1.rarr --state "$tmp/v1" <"$tmp/g2" >"$tmp/v1.out" 2>"$tmp/v1.err"
check "version-1 state: exit 0" [ $? = 0 ]
check "version-1 state: nothing said (no detector learns afresh)" [ ! -s "$tmp/v1.err" ]
check "version-1 state: saved again as version 2" grep -q '^{"rarr_state":2,' "$tmp/v1"
rm -f "$tmp/v2"
"$rarr" -r fixtures/state/v1.rarr --state "$tmp/v2" <"$tmp/g1" >/dev/null 2>&1
"$rarr" -r fixtures/state/v1.rarr --state "$tmp/v2" <"$tmp/g2" >"$tmp/v2.out" 2>&1
check "version-1 state: anomalies in the second half" grep -q '"type":"anomaly"' "$tmp/v1.out"
check "version-1 state: the records of a run from a version-2 state" cmp -s "$tmp/v1.out" "$tmp/v2.out"
"$rarr" -r fixtures/state/v1.rarr <"$tmp/g2" >"$tmp/none.out" 2>&1
check "version-1 state: without it the records differ (the test can fail)" \
    test "$(cmp -s "$tmp/v1.out" "$tmp/none.out"; echo $?)" = 1

# 2. SIGTERM saves the state; the next run goes on from it.
head -n 6000 fixtures/logs/login-outage.log >"$tmp/first"
tail -n +6001 fixtures/logs/login-outage.log >"$tmp/second"
rm -f "$tmp/state"
mkfifo "$tmp/fifo"
"$rarr" --state "$tmp/state" --emit=all <"$tmp/fifo" >"$tmp/t1" 2>"$tmp/t1.err" &
pid=$!
exec 3>"$tmp/fifo"
cat "$tmp/first" >&3
sleep 0.5
kill -TERM $pid
wait $pid
check "SIGTERM: exit 0" [ $? = 0 ]
exec 3>&-
check "SIGTERM: the state was saved" [ -s "$tmp/state" ]
"$rarr" --state "$tmp/state" --emit=all <"$tmp/second" >"$tmp/t2" 2>"$tmp/t2.err"
"$rarr" --emit=all fixtures/logs/login-outage.log >"$tmp/whole"
check "SIGTERM then restart gives the records of one run" \
    cmp -s "$tmp/whole" <(cat "$tmp/t1" "$tmp/t2")
rm -f "$tmp/fifo"

# 3. SIGHUP with a changed rule file, in the middle of a replay through a
#    pipe: an added metric, a changed one; the others keep their windows,
#    alert states and detectors, so the alert records are those of one run
#    with the old rules, and the added metric counts from the reload on.
cp patterns/default.rarr "$tmp/r.rarr"
"$rarr" -r "$tmp/r.rarr" --emit=all fixtures/logs/login-outage.log >"$tmp/old"
fire=$(grep -n '"state":"firing","rule":"login_success' "$tmp/old" | head -1)
check "the login outage fires with the built-in rules" [ -n "$fire" ]
cut=$(grep -n '\[04/May/2026:14:20' fixtures/logs/login-outage.log | head -1 | cut -d: -f1)
head -n "$cut" fixtures/logs/login-outage.log >"$tmp/first"
tail -n +$((cut + 1)) fixtures/logs/login-outage.log >"$tmp/second"
mkfifo "$tmp/fifo"
"$rarr" -r "$tmp/r.rarr" --emit=all <"$tmp/fifo" >"$tmp/h" 2>"$tmp/h.err" &
pid=$!
exec 3>"$tmp/fifo"
cat "$tmp/first" >&3
# Wait until the first part is read: SIGUSR1 shows the newest event.
for i in $(seq 1 50); do
    kill -USR1 $pid
    sleep 0.1
    grep -q 'newest event 2026-05-04T14:20' "$tmp/h.err" && break
done
printf "metric broken path~'(unclosed'\n" >>"$tmp/r.rarr"
kill -HUP $pid
wait_for 5 grep -q 'SIGHUP: the rules in force stay' "$tmp/h.err"
check "SIGHUP with a broken rule: FILE:LINE:COL and the rules stay" \
    grep -q "r.rarr:$(wc -l <"$tmp/r.rarr"):[0-9]*: error" "$tmp/h.err"
sed -i '$d' "$tmp/r.rarr"
printf "metric checkouts path~'^/checkout'\n" >>"$tmp/r.rarr"
sed -i "s|^metric subscriptions .*|metric subscriptions rarr=revenue request~'^POST /subscribe'|" \
    "$tmp/r.rarr"
kill -HUP $pid
wait_for 5 grep -q 'SIGHUP: rules reloaded' "$tmp/h.err"
check "SIGHUP: reloaded" grep -q 'SIGHUP: rules reloaded: 7 metrics' "$tmp/h.err"
check "SIGHUP: the changed metric is named" \
    grep -q 'SIGHUP: metric subscriptions: its definition changed' "$tmp/h.err"
cat "$tmp/second" >&3
exec 3>&-
wait $pid
check "SIGHUP: exit 0" [ $? = 0 ]
grep -v '"type":"metric"' "$tmp/old" | grep -v '"metric":"subscriptions"' >"$tmp/old.alerts"
grep -v '"type":"metric"' "$tmp/h" | grep -v '"metric":"subscriptions"' >"$tmp/h.alerts"
check "SIGHUP: the alert records of the kept metrics are those of one run" \
    cmp -s "$tmp/old.alerts" "$tmp/h.alerts"
for m in login_views login_success marketing_views; do
    check "SIGHUP: $m counts as in one run" \
        cmp -s <(grep "\"metric\":\"$m\"" "$tmp/old") <(grep "\"metric\":\"$m\"" "$tmp/h")
done
check "SIGHUP: the new metric counts from the reload on" \
    [ "$(grep -c '"metric":"checkouts"' "$tmp/h")" -gt 100 ]
check "SIGHUP: the new metric has no records before the reload" \
    [ -z "$(grep '"metric":"checkouts"' "$tmp/h" | grep '"time":"2026-05-04T0')" ]

# 3c. SIGHUP with --time-field and a rule file that adds a field: the time
#     key is looked up in the new rules' field table, so no line after the
#     reload loses its time.
printf "metric signups rarr=activation event='signup'\n" >"$tmp/t.rarr"
rm -f "$tmp/fifo"
mkfifo "$tmp/fifo"
"$rarr" -v -r "$tmp/t.rarr" --time-field when --emit=metrics --stats <"$tmp/fifo" \
    >"$tmp/tf" 2>"$tmp/tf.err" &
pid=$!
exec 3>"$tmp/fifo"
head -n 3 fixtures/logs/custom-time.json >&3
# -v tells the format once the lines have voted: rarr is past setting up its signals.
wait_for 10 grep -q 'format json' "$tmp/tf.err"
for i in $(seq 1 50); do
    kill -USR1 $pid
    sleep 0.1
    grep -q 'newest event 2026-05-04T08:01' "$tmp/tf.err" && break
done
printf "metric big amount~'^[0-9]'\n" >>"$tmp/t.rarr"
kill -HUP $pid
wait_for 5 grep -q 'SIGHUP: rules reloaded' "$tmp/tf.err"
tail -n +4 fixtures/logs/custom-time.json >&3
exec 3>&-
wait $pid
check "SIGHUP with --time-field: reloaded" grep -q 'SIGHUP: rules reloaded: 2 metrics' "$tmp/tf.err"
# Line 6 of the fixture has no "when": the one line without a time.
check "SIGHUP with --time-field: every line keeps its time" \
    grep -q 'stats: lines 7, parsed 6, empty 0, bad 1' "$tmp/tf.err"

# 3b. SIGHUP that changes a firing alert: the old rule's alert is resolved on
#     stdout ("reason":"rule changed"), so a pager keyed on its rule closes;
#     one that removes it says "rule removed". The new rule starts afresh.
for change in changed removed; do
    cp patterns/default.rarr "$tmp/r.rarr"
    cut=$(grep -n '\[04/May/2026:14:40' fixtures/logs/login-outage.log | head -1 | cut -d: -f1)
    rm -f "$tmp/fifo"
    mkfifo "$tmp/fifo"
    "$rarr" -r "$tmp/r.rarr" <"$tmp/fifo" >"$tmp/f" 2>"$tmp/f.err" &
    pid=$!
    exec 3>"$tmp/fifo"
    head -n "$cut" fixtures/logs/login-outage.log >&3
    wait_for 10 grep -q '"state":"firing","rule":"login_success below 50' "$tmp/f"
    if [ $change = changed ]; then
        sed -i 's/^alert  *login_success .*/alert login_success window=15m below=40 for=5m/' \
            "$tmp/r.rarr"
    else
        sed -i '/^alert  *login_success /d' "$tmp/r.rarr"
    fi
    kill -HUP $pid
    wait_for 5 grep -q 'SIGHUP: rules reloaded' "$tmp/f.err"
    tail -n +$((cut + 1)) fixtures/logs/login-outage.log >&3
    exec 3>&-
    wait $pid
    check "SIGHUP, firing rule $change: a resolved record with the reason" \
        grep -q '"type":"threshold","time":"[^"]*","state":"resolved","rule":"login_success below 50 over 15m","metric":"login_success","rarr":"retention","window":"15m","since":"[^"]*","reason":"rule '$change'"}' "$tmp/f"
    check "SIGHUP, firing rule $change: said on stderr" \
        grep -q "rule 'login_success below 50 over 15m' .* while firing; it is resolved" "$tmp/f.err"
done
rm -f "$tmp/fifo"

# 3c. A replay cut in two whose first part fired only in its last steps (the
#     ones the end of input forces out), then the rule changed: the second run
#     resolves the old rule's alert and shows the new rule's firing too.
cp patterns/default.rarr "$tmp/r.rarr"
cut=$(grep -n '\[04/May/2026:14:30' fixtures/logs/login-outage.log | head -1 | cut -d: -f1)
head -n "$cut" fixtures/logs/login-outage.log >"$tmp/c1"
tail -n +$((cut + 1)) fixtures/logs/login-outage.log >"$tmp/c2"
rm -f "$tmp/cs"
"$rarr" -r "$tmp/r.rarr" --state "$tmp/cs" "$tmp/c1" >"$tmp/c1.out"
check "cut replay: part 1 fires" grep -q '"state":"firing","rule":"login_success below 50' "$tmp/c1.out"
sed -i 's/^alert  *login_success .*/alert login_success window=15m below=40 for=5m/' "$tmp/r.rarr"
"$rarr" -r "$tmp/r.rarr" --state "$tmp/cs" "$tmp/c2" >"$tmp/c2.out" 2>/dev/null
check "cut replay, rule changed: the old alert is resolved" \
    grep -q '"state":"resolved","rule":"login_success below 50 over 15m",.*"reason":"rule changed"' "$tmp/c2.out"
check "cut replay, rule changed: the new rule fires, then resolves" \
    [ "$(grep -o '"state":"[a-z]*","rule":"login_success below 40' "$tmp/c2.out" | cut -d'"' -f4 | tr '\n' ' ')" = "firing resolved " ]

# 4. kill -9 at random moments of a run that saves all the time (every 5
#    minutes of event time): the state file always loads. Each round goes
#    on from the state the last one left (its lines up to there are late).
"$loggen" --seed 6 --duration 3d --rate 3000 >"$tmp/k.log"
rm -f "$tmp/state"
ok=0
for i in $(seq 1 12); do
    RARR_SAVE_GAP_MS=0 "$rarr" --state "$tmp/state" "$tmp/k.log" >/dev/null 2>"$tmp/k.err" &
    pid=$!
    sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    [ -s "$tmp/state" ] || continue
    "$rarr" --state "$tmp/state" </dev/null >/dev/null 2>"$tmp/load.err"
    if [ $? = 0 ] && [ ! -s "$tmp/load.err" ] && ! grep -q 'state' "$tmp/k.err"; then
        ok=$((ok + 1))
    else
        echo "kill -9 round $i:"
        cat "$tmp/k.err" "$tmp/load.err"
    fi
done
check "kill -9 during saves: the state loads every time ($ok of 12)" [ "$ok" = 12 ]
check "kill -9: the loaded state has the clock" grep -q '"clock":{' "$tmp/state"

# 5. A state from other rules keeps what matches and says what it drops;
#    a damaged file is reported and ignored.
"$rarr" --state "$tmp/state" -r fixtures/rules/tiny.rarr </dev/null >/dev/null 2>"$tmp/o.err"
check "other rules: exit 0" [ $? = 0 ]
check "other rules: what is dropped is named" grep -q 'is no longer defined' "$tmp/o.err"
printf '{"rarr_state":1,"step_ms":60000,"metrics":[' >"$tmp/state"
"$rarr" --state "$tmp/state" fixtures/logs/tiny.log >"$tmp/c.out" 2>"$tmp/c.err"
check "corrupt state: exit 0" [ $? = 0 ]
check "corrupt state: reported with its place" \
    grep -q "state:1:[0-9]*: corrupt state file: .*starting without state" "$tmp/c.err"
check "corrupt state: the run is that of a fresh start" \
    cmp -s "$tmp/c.out" <("$rarr" fixtures/logs/tiny.log 2>/dev/null)
check "corrupt state: replaced by a good one at exit" \
    "$rarr" --state "$tmp/state" </dev/null 2>/dev/null
"$rarr" --state /nonexistent/dir/state fixtures/logs/tiny.log >/dev/null 2>"$tmp/w.err"
check "unwritable state: exit 1 before reading" [ $? = 1 ]
check "unwritable state: said so" grep -q 'cannot save state' "$tmp/w.err"

# A below= alert waits until its window lies after the first step, also
# across a restart: the state keeps where the first run's first step was
# (without it, the part after a cut at line 5 would fire at 10:02).
fw=tests/e2e/alert-below-first-window/stdin
"$rarr" -r fixtures/rules/first-window.rarr --lateness 0s "$fw" >"$tmp/fw.whole"
for cut in 5 8 14; do
    replay_cut fixtures/rules/first-window.rarr "$fw" "$cut" "$tmp/fw.$cut" "$tmp/fw.err" --lateness 0s
    check "first window, cut after line $cut: the records of one run" cmp -s "$tmp/fw.whole" "$tmp/fw.$cut"
done
check "first window: the state says where the first step was" \
    grep -q '"first_step":1777888800000' "$tmp/state"

done_checks state.sh
