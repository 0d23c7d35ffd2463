#!/usr/bin/env bash
# alertmanager.sh RARR WEBHOOK_SINK -- --alertmanager against a real
# Alertmanager (Debian's prometheus-alertmanager, on a free loopback port):
# rarr reads live lines through a FIFO (as behind tail -F); a metric's lines
# stop and its below= alert fires while the Alertmanager is still down; once
# it is up, the held alert reaches a webhook receiver (webhook_sink) with
# rarr's labels and annotations; the metric's lines come back, the alert
# resolves on stdout and at the receiver. Meanwhile stdout stays NDJSON and
# another metric's records keep coming (input never waits for Alertmanager),
# and --stats says what was delivered. Everything binds 127.0.0.1. A server
# that cannot start is a failure, never a skip.
set -eu
rarr=$1
sink=$2
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"
pids=
cleanup() {
    touch "$tmp/stop" 2>/dev/null || true
    stop_pids
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
die() {
    echo "FAIL: $*"
    for f in "$tmp"/*.err "$tmp"/*.log "$tmp"/sink.ndjson; do
        [ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    exit 1
}
for tool in curl jq prometheus-alertmanager amtool; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

# login-gone fires when a 2 s window has no /login line; flow's lines never stop.
cat >"$tmp/rules.rarr" <<'EOF'
metric flow rarr=activation path~'^/flow'
metric login rarr=retention path~'^/login'
alert login window=2s below=1 name=login-gone label.severity=page summary='login {value} below {threshold} over {window}' runbook=https://example.com/runbooks/login
EOF
"$rarr" --check --step 1s -r "$tmp/rules.rarr" >/dev/null || die "rarr --check refuses the rules"

# 1. The webhook receiver; it writes its port once it listens.
"$sink" "$tmp/sink.port" "$tmp/sink.ndjson" 2>"$tmp/sink.err" &
sink_pid=$!
pids="$sink_pid"
wait_for 10 test -s "$tmp/sink.port" || die "webhook_sink did not start"
sink_port=$(cat "$tmp/sink.port")

# 2. The Alertmanager's port, free now; the Alertmanager itself starts later.
am_port=
for _ in 1 2 3 4 5; do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! port_taken "$p" && [ "$p" != "$sink_port" ]; then
        am_port=$p
        break
    fi
done
[ -n "$am_port" ] || die "no free port for alertmanager in 5 tries"

# 3. rarr, live: the FIFO is held open read-write by this shell (fd 3), so
#    opening it does not block and rarr never sees its end. A writer sends a
#    /flow line every 0.2 s, and a /login line too while login_on exists,
#    both with one stamp (the first step, the one with the first event, has
#    a login line, so login-gone does not fire there).
mkfifo "$tmp/in"
exec 3<>"$tmp/in"
"$rarr" -r "$tmp/rules.rarr" -f combined --step 1s --lateness 1s --emit all --stats \
    --alertmanager "http://127.0.0.1:$am_port" <"$tmp/in" >"$tmp/rarr.out" 2>"$tmp/rarr.err" 3>&- &
rarr_pid=$!
pids="$pids $rarr_pid"
touch "$tmp/login_on"
(
    while [ ! -e "$tmp/stop" ]; do
        t=$(stamp)
        line /flow "$t"
        [ ! -e "$tmp/login_on" ] || line /login "$t"
        sleep 0.2
    done >&3
) &
writer_pid=$!
pids="$pids $writer_pid"

# 4. login flows, then stops: the alert fires on stdout while nothing listens.
login_counted() { grep -q '"type":"metric",.*"metric":"login","rarr":"retention","step":"1s","value":[1-9]' "$tmp/rarr.out"; }
wait_for 10 login_counted || die "no login metric record with a value"
rm "$tmp/login_on"
fired() { grep -q '"type":"threshold",.*"state":"firing","rule":"login-gone"' "$tmp/rarr.out"; }
wait_for 15 fired || die "login-gone did not fire on stdout"
alive "$rarr_pid" || die "rarr exited"
check "stdout: the firing record has the labels, summary and runbook" \
    grep -q '"state":"firing","rule":"login-gone",.*"labels":{"severity":"page"},"summary":"login 0 below 1 over 2s","runbook_url":"https://example.com/runbooks/login"}$' \
    "$tmp/rarr.out"
held() { grep -q "^rarr: alertmanager http://127.0.0.1:$am_port/api/v2/alerts: .*held and retried" "$tmp/rarr.err"; }
check "stderr: the post failed and the alert is held" wait_for 10 held

# 5. Now the Alertmanager, routing everything to the receiver at once.
cat >"$tmp/alertmanager.yml" <<EOF
route:
  receiver: sink
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$sink_port/
        send_resolved: true
EOF
am_config_ok() { amtool check-config "$tmp/alertmanager.yml" >/dev/null 2>&1; }
check "amtool accepts the configuration" am_config_ok
am_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$am_port/-/ready" >/dev/null 2>&1; }
am_pid=
for _ in 1 2 3 4 5; do
    rm -rf "$tmp/am"
    prometheus-alertmanager --config.file="$tmp/alertmanager.yml" \
        --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
        --storage.path="$tmp/am" >"$tmp/alertmanager.log" 2>&1 3>&- &
    am_pid=$!
    pids="$pids $am_pid"
    # Ready, and still alive a moment later: an answer from another server on
    # the port would come while ours is failing to bind.
    if wait_for 15 am_ready && sleep 0.5 && alive "$am_pid" && am_ready; then
        break
    fi
    kill "$am_pid" 2>/dev/null || true
    wait "$am_pid" 2>/dev/null || true
    am_pid=
    sleep 1
done
[ -n "$am_pid" ] || die "alertmanager did not start on 127.0.0.1:$am_port in 5 tries"

# sink_has STATUS: the receiver got login-gone with STATUS and rarr's labels
# and annotations (the summary is filled in with the value of the record
# sent: 0 when it fired, the value it resolved at).
sink_has() {
    [ -s "$tmp/sink.ndjson" ] && jq -e --arg s "$1" -s '
        [.[] | select(.receiver == "sink") | .alerts[]
         | select(.status == $s and .labels.alertname == "login-gone"
                  and .labels.metric == "login" and .labels.rarr == "retention"
                  and .labels.type == "threshold" and .labels.severity == "page"
                  and (.labels | has("key") | not)
                  and (.annotations.summary
                       | if $s == "firing" then . == "login 0 below 1 over 2s"
                         else test("^login [0-9.]+ below 1 over 2s$") end)
                  and .annotations.runbook_url == "https://example.com/runbooks/login"
                  and (.annotations.description | length) > 0)]
        | length > 0' "$tmp/sink.ndjson" >/dev/null
}
check "receiver: login-gone firing, with rarr's labels and annotations" wait_for 30 sink_has firing
delivered() { grep -q "^rarr: alertmanager http://127.0.0.1:$am_port/api/v2/alerts: delivered again" "$tmp/rarr.err"; }
check "stderr: delivered again once the Alertmanager is up" wait_for 5 delivered
amtool_lists() {
    amtool --alertmanager.url="http://127.0.0.1:$am_port" alert query alertname=login-gone -o json |
        jq -e 'length == 1 and .[0].labels.metric == "login"' >/dev/null
}
check "amtool: the Alertmanager holds login-gone" amtool_lists

# 6. login's lines come back: resolved on stdout, then at the receiver.
touch "$tmp/login_on"
resolved() { grep -q '"type":"threshold",.*"state":"resolved","rule":"login-gone"' "$tmp/rarr.out"; }
check "stdout: login-gone resolved" wait_for 15 resolved
check "receiver: login-gone resolved" wait_for 30 sink_has resolved
sleep 1.5 # a few more flow steps after the resolution

# 7. stdout: NDJSON throughout, one firing and one resolved record, and flow
#    counted at every step (the reader never waited for the Alertmanager).
ndjson() { jq -e . "$1" >/dev/null 2>&1; }
check "stdout: every line is JSON" ndjson "$tmp/rarr.out"
count() { grep -c "$1" "$tmp/rarr.out" || true; }
check "stdout: one firing record ($(count '"state":"firing"'))" [ "$(count '"state":"firing"')" = 1 ]
check "stdout: one resolved record ($(count '"state":"resolved"'))" \
    [ "$(count '"state":"resolved"')" = 1 ]
flow_values=$(jq -r 'select(.type == "metric" and .metric == "flow") | .value' "$tmp/rarr.out" 2>/dev/null |
    tr '\n' ' ')
flow_steps=$(echo "$flow_values" | wc -w)
after_resolved=$(sed -n '/"state":"resolved"/,$p' "$tmp/rarr.out" | grep -c '"metric":"flow"' || true)
flow_ok() { [ "$flow_steps" -ge 8 ] && ! echo " $flow_values" | grep -q " 0 "; }
check "stdout: flow has a record for every step, none zero ($flow_values)" flow_ok
check "stdout: flow records after the resolution ($after_resolved)" [ "$after_resolved" -ge 1 ]

# 8. SIGTERM: rarr exits 0 and --stats says what reached the Alertmanager.
touch "$tmp/stop"
wait "$writer_pid" || true
kill -TERM "$rarr_pid"
rc=0
wait "$rarr_pid" || rc=$?
check "rarr: SIGTERM: status 0 (got $rc)" [ "$rc" = 0 ]
check "stderr: the alertmanager stats line" \
    grep -q '^rarr: stats: alertmanager: [0-9]* alert states\{0,1\} delivered in [0-9]* posts\{0,1\}, [1-9][0-9]* posts\{0,1\} failed' \
    "$tmp/rarr.err"
check "stderr: nothing undelivered" eval '! grep -q "could not be delivered" "$tmp/rarr.err"'
kill -TERM "$am_pid" "$sink_pid"
wait "$am_pid" || true
rc=0
wait "$sink_pid" || rc=$?
check "webhook_sink: SIGTERM: status 0 (got $rc)" [ "$rc" = 0 ]
pids=
done_checks alertmanager
