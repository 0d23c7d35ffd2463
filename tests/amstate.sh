#!/usr/bin/env bash
# amstate.sh RARR WEBHOOK_SINK -- --alertmanager across a restart with
# --state. webhook_sink stands in for Alertmanager's API (it keeps every
# POST body), so what rarr sends is read back exactly.
#
# A replay of the bundled login outage is cut while login_success fires and
# saved with --state; the next run, with --alertmanager and no more input,
# must tell the Alertmanager the alert fires (stdout had it from the first
# run, so stdout stays empty). Two cuts: one where the saved state already
# has the alert firing (step_resend), one a minute after it fired, where
# the state holds it pending and the restarted run evaluates the last steps
# again without writing them (the tap still hears the firing). And a run
# that resolves it sends the resolution with the same labels.
set -eu
rarr=$1
sink=$2
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"
log=fixtures/logs/login-outage.log
sink_pid=
cleanup() {
    [ -z "$sink_pid" ] || { kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null; } || true
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
command -v jq >/dev/null || { echo "FAIL: jq is not installed"; exit 1; }

"$sink" "$tmp/sink.port" "$tmp/posts.ndjson" 2>"$tmp/sink.err" &
sink_pid=$!
wait_for 5 test -s "$tmp/sink.port" || { echo "FAIL: webhook_sink did not start"; exit 1; }
am="http://127.0.0.1:$(cat "$tmp/sink.port")"

# the firing alerts of every POST so far, one compact JSON object a line
firing() { jq -c '.[] | select(.endsAt > "2026-12")' "$tmp/posts.ndjson"; }
# restart_case NAME CUT_TIME: cut the log before CUT_TIME, save, restart with --alertmanager
restart_case() {
    local name=$1 cut n
    cut=$2
    n=$(grep -n "04/May/2026:$cut" "$log" | head -1 | cut -d: -f1)
    rm -f "$tmp/state"
    : >"$tmp/posts.ndjson"
    head -n "$((n - 1))" "$log" | "$rarr" --state "$tmp/state" >"$tmp/$name.first"
    check "$name: the first run wrote the firing" grep -q '"state":"firing"' "$tmp/$name.first"
    "$rarr" --state "$tmp/state" --alertmanager "$am" --stats </dev/null >"$tmp/$name.out" \
        2>"$tmp/$name.err"
    check "$name: the restarted run writes nothing to stdout" test ! -s "$tmp/$name.out"
    check "$name: delivered" grep -q "alertmanager: [1-9][0-9]* alert states delivered" "$tmp/$name.err"
    firing >"$tmp/$name.alerts"
    check "$name: the Alertmanager hears login_success fires, with rarr's labels" \
        test "$(jq -c '.labels' "$tmp/$name.alerts" | sort -u)" = \
        '{"alertname":"login_success below 50 over 15m","metric":"login_success","rarr":"retention","type":"threshold"}'
    check "$name: since when" test "$(jq -r '.startsAt' "$tmp/$name.alerts" | sort -u)" = \
        "2026-05-04T14:11:00Z"
}
# login_success fires at 14:16 (since 14:11) and resolves at 14:47.
restart_case firing-saved 14:40
restart_case pending-saved 14:17

# The rest of the log: the alert resolves, with the labels it fired with.
n=$(grep -n "04/May/2026:14:17" "$log" | head -1 | cut -d: -f1)
: >"$tmp/posts.ndjson"
tail -n "+$n" "$log" | "$rarr" --state "$tmp/state" --alertmanager "$am" >"$tmp/rest.out" 2>"$tmp/rest.err"
check "resolved on stdout" grep -q '"state":"resolved","rule":"login_success below 50 over 15m"' \
    "$tmp/rest.out"
resolved=$(jq -c '.[] | select(.endsAt == "2026-05-04T14:47:00Z") | .labels' "$tmp/posts.ndjson")
check "the Alertmanager gets the resolution with the same labels" test "$resolved" = \
    '{"alertname":"login_success below 50 over 15m","metric":"login_success","rarr":"retention","type":"threshold"}'
done_checks amstate
