#!/usr/bin/env bash
# prometheus.sh RARR -- --listen and --prom-textfile against a real
# Prometheus: rarr reads live lines through a FIFO (as behind tail -F) and
# serves /metrics on a port of its own choosing; Prometheus (Debian's
# prometheus, on a free loopback port) scrapes it every second, and its
# query API must return the counts that were sent: lines, matches, bad
# lines, and the alert that fired. promtool finds nothing to say about the
# text served nor the textfile. Everything binds 127.0.0.1. A server that
# cannot start is a failure, never a skip.
set -eu
rarr=$1
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"
pids=
cleanup() {
    stop_pids
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
die() {
    echo "FAIL: $*"
    for f in "$tmp"/*.err "$tmp"/*.log; do
        [ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    exit 1
}
for tool in curl jq promtool prometheus; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
# query EXPR: the value of Prometheus's instant query EXPR (its first series), or "".
query() {
    curl -fsS --max-time 5 --get --data-urlencode "query=$1" \
        "http://127.0.0.1:$prom_port/api/v1/query" 2>/dev/null |
        jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
# query_is EXPR VALUE: the query returns VALUE now.
query_is() { [ "$(query "$1")" = "$2" ]; }

# gone's lines come first and stop after a second: gone-stopped (a 2 s
# window) fires. hits's lines go on for about 3 s; hits-stopped looks over a
# minute, so it stays quiet for the whole test.
cat >"$tmp/rules.rarr" <<'EOF'
metric hits rarr=activation path~'^/hit'
metric gone rarr=retention path~'^/gone'
alert gone window=2s below=1 name=gone-stopped label.severity=page summary='gone {value} below {threshold}'
alert hits window=60s below=1 name=hits-stopped
EOF
"$rarr" --check --step 1s -r "$tmp/rules.rarr" >/dev/null || die "rarr --check refuses the rules"

# 1. rarr, live: the FIFO is held open read-write by this shell (fd 3), so
#    opening it does not block and rarr never sees its end.
mkfifo "$tmp/in"
exec 3<>"$tmp/in"
"$rarr" -r "$tmp/rules.rarr" -f combined --step 1s --lateness 1s --listen 127.0.0.1:0 \
    --prom-textfile "$tmp/rarr.prom" <"$tmp/in" >"$tmp/rarr.out" 2>"$tmp/rarr.err" 3>&- &
rarr_pid=$!
pids="$rarr_pid"
listening() { grep -qs '^rarr: listening on http://127\.0\.0\.1:[0-9]*/metrics$' "$tmp/rarr.err"; }
wait_for 10 listening || die "rarr did not say where it listens"
alive "$rarr_pid" || die "rarr exited at start"
rarr_port=$(sed -n 's|^rarr: listening on http://127\.0\.0\.1:\([0-9]*\)/metrics$|\1|p' "$tmp/rarr.err")
url=http://127.0.0.1:$rarr_port

# The first hit and the gone lines share one stamp: the first step evaluated
# (the one with the first event) has both, so neither alert holds there.
hits=0 gone=0 bad=0 n=0
for i in $(seq 1 30); do
    t=$(stamp)
    if [ "$i" = 1 ]; then
        for _ in 1 2 3 4 5; do
            line /gone "$t" >&3
            gone=$((gone + 1))
        done
    fi
    line "/hit?i=$i" "$t" >&3
    hits=$((hits + 1))
    if [ $((i % 10)) = 0 ]; then
        echo "not a log line $i" >&3
        bad=$((bad + 1))
    fi
    line /other "$t" >&3
    sleep 0.1
done
n=$((gone + hits * 2 + bad))

# 2. Prometheus on a free port, scraping rarr every second.
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: rarr
    static_configs:
      - targets: ['127.0.0.1:$rarr_port']
EOF
prom_ready() { curl -fsS --max-time 2 "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1; }
prom_pid=
for _ in 1 2 3 4 5; do
    prom_port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    rm -rf "$tmp/prom"
    prometheus --config.file="$tmp/prometheus.yml" --web.listen-address="127.0.0.1:$prom_port" \
        --storage.tsdb.path="$tmp/prom" >"$tmp/prometheus.log" 2>&1 3>&- &
    prom_pid=$!
    pids="$pids $prom_pid"
    # Ready, and still alive a moment later: an answer from another server on
    # the port would come while ours is failing to bind.
    if wait_for 20 prom_ready && sleep 0.5 && alive "$prom_pid" && prom_ready; then
        break
    fi
    kill "$prom_pid" 2>/dev/null || true
    wait "$prom_pid" 2>/dev/null || true
    prom_pid=
done
[ -n "$prom_pid" ] || die "prometheus did not start on 5 ports"

# 3. What Prometheus scraped equals what was sent.
check "prometheus: rarr_lines_total reached $n (got '$(query rarr_lines_total)')" \
    wait_for 30 query_is rarr_lines_total "$n"
check "prometheus: matches of hits = $hits" query_is 'rarr_matches_total{metric="hits"}' "$hits"
check "prometheus: matches of gone = $gone" query_is 'rarr_matches_total{metric="gone"}' "$gone"
check "prometheus: bad lines = $bad" query_is 'sum(rarr_bad_lines_total)' "$bad"
check "prometheus: unparsable lines = $bad" \
    query_is 'rarr_bad_lines_total{reason="unparsable"}' "$bad"
check "prometheus: gone-stopped firing" \
    wait_for 15 query_is 'rarr_alert_firing{alertname="gone-stopped",metric="gone",rarr="retention",type="threshold",severity="page"}' 1
check "prometheus: hits-stopped not firing" query_is 'rarr_alert_firing{alertname="hits-stopped"}' 0
check "prometheus: the scrape target is up" query_is "up{instance=\"127.0.0.1:$rarr_port\"}" 1
check "stdout: gone-stopped fired" grep -q '"state":"firing","rule":"gone-stopped"' "$tmp/rarr.out"
check "stdout: hits-stopped did not fire" eval '! grep -q hits-stopped "$tmp/rarr.out"'

# 4. The text itself: promtool is silent about it, methods other than GET
#    and HEAD are refused, /healthz answers.
curl -fsS --max-time 5 "$url/metrics" >"$tmp/metrics.txt" || die "GET /metrics failed"
promtool_clean() { # FILE: promtool check metrics exits 0 and prints nothing
    local out rc=0
    out=$(promtool check metrics <"$1" 2>&1) || rc=$?
    [ "$rc" = 0 ] && [ -z "$out" ] && return 0
    echo "promtool: status $rc: $(echo "$out" | head -3)"
    return 1
}
check "promtool: /metrics is clean" promtool_clean "$tmp/metrics.txt"
check "promtool: the textfile is clean" promtool_clean "$tmp/rarr.prom"
check "/metrics: rarr_lines_total $n" grep -qx "rarr_lines_total $n" "$tmp/metrics.txt"
check "textfile: rarr_lines_total $n" grep -qx "rarr_lines_total $n" "$tmp/rarr.prom"
check "textfile: gone-stopped firing" \
    grep -q '^rarr_alert_firing{alertname="gone-stopped",.*} 1$' "$tmp/rarr.prom"
status() { curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$@"; }
check "POST /metrics: 405 (got $(status -X POST -d x=1 "$url/metrics"))" \
    [ "$(status -X POST -d x=1 "$url/metrics")" = 405 ]
allow=$(curl -s -o /dev/null -D - --max-time 5 -X POST "$url/metrics" | tr -d '\r' |
    sed -n 's/^[Aa]llow: //p')
check "POST /metrics: Allow: GET, HEAD (got '$allow')" [ "$allow" = "GET, HEAD" ]
check "/healthz: 200" [ "$(status "$url/healthz")" = 200 ]
check "/nope: 404" [ "$(status "$url/nope")" = 404 ]
type=$(curl -s -o /dev/null --max-time 5 -w '%{content_type}' "$url/metrics")
check "/metrics: Content-Type text/plain; version=0.0.4 (got '$type')" \
    [ "$type" = "text/plain; version=0.0.4; charset=utf-8" ]

# 5. rarr stops on SIGTERM with status 0; then Prometheus.
kill -TERM "$rarr_pid"
rc=0
wait "$rarr_pid" || rc=$?
check "rarr: SIGTERM: status 0 (got $rc)" [ "$rc" = 0 ]
ndjson() { jq -e . "$1" >/dev/null 2>&1; }
check "stdout: valid NDJSON" ndjson "$tmp/rarr.out"
kill -TERM "$prom_pid"
wait "$prom_pid" || true
pids=
done_checks prometheus
