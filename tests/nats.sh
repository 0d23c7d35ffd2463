#!/usr/bin/env bash
# nats.sh RARR LOGGEN -- many hosts over a real NATS JetStream (Debian's
# nats-server, on free loopback ports): three hosts' logs (as in merge.sh)
# published by three agents at once and merged by a central reading a
# durable consumer give the bytes of one rarr over all their lines in time
# order, also
#   - when the central is killed (SIGKILL) mid-way and restarted with its
#     --state and --durable: what it wrote before is a prefix of that, what
#     it writes after is the rest, from at or before where it stopped;
#   - when an agent is killed (SIGKILL) while its input pauses and restarted
#     with its --state on the rest of its log (JetStream keeps one copy of a
#     HOST/STEP id sent twice, the merge drops what it already had);
#   - on a 3-node cluster with replicas=3, agents starting together on a new
#     stream, and one node killed (SIGKILL) while the agents publish: the
#     node that leads the stream, or any other one with
#     RARR_NATS_KILL=follower.
# Agents that must still run at a given moment read their logs through a
# FIFO at a limited pace (an hour of log every PACE seconds). Everything
# binds 127.0.0.1. A server that cannot start is a failure, never a skip.
set -u
rarr=$1
loggen=$2
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/check.sh
. "$here/tests/check.sh"
rules=(-r "$here/patterns/default.rarr" -r "$here/fixtures/rules/hosts.rarr")
nats_server=${NATS_SERVER:-/usr/sbin/nats-server}
pace=0.25 # seconds per hour of log, for the agents that are slowed down

# Background processes: rarr and the feeders (pids, ended with SIGKILL) and
# nats-server (servers, SIGTERM), all stopped and waited for at exit.
pids=
servers=
cleanup() {
    stop_pids KILL
    pids=$servers
    stop_pids
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
die() {
    local f
    echo "FAIL: $*"
    for f in "$tmp"/*.err "$tmp"/n*.log; do
        [ -s "$f" ] && { echo "--- $f"; tail -n 8 "$f"; }
    done
    exit 1
}
forget() { pids=" $pids "; pids=${pids// $1 / }; } # PID: no longer to be stopped at exit
reap() { # SECONDS PID: wait up to SECONDS for the background PID; its status (124: killed, late)
    local n=$(($1 * 10)) pid=$2 rc=0
    while [ "$n" -gt 0 ] && alive "$pid"; do
        sleep 0.1
        n=$((n - 1))
    done 2>/dev/null # not bash's word on a process killed
    if alive "$pid"; then # SIGTERM first: rarr says what it did (--stats)
        echo "nats.sh: process $pid did not end in $1 s: stopped" >&2
        kill "$pid" 2>/dev/null
        n=120
        while [ "$n" -gt 0 ] && alive "$pid"; do
            sleep 0.1
            n=$((n - 1))
        done 2>/dev/null
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rc=124
    else
        wait "$pid" 2>/dev/null || rc=$?
    fi
    forget "$pid"
    return "$rc"
}
# reap_all PID...: reap each (60 s at most); their statuses, a digit each, in rcs.
reap_all() {
    local p
    rcs=
    for p in "$@"; do
        reap 60 "$p"
        rcs="$rcs$?"
    done
}
# publish_all NAME URI: agents NAME.a, NAME.b, NAME.c publish the three logs at
# once, and are reaped (rcs).
publish_all() {
    local h ps=
    for h in a b c; do
        agent "$1.$h" "$h" "$2" "$tmp/$h.log"
        ps="$ps $agent_pid"
    done
    # shellcheck disable=SC2086
    reap_all $ps
}
for tool in curl jq awk; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x "$nats_server" ] || die "$nats_server is not installed (Debian's nats-server)"

# pick_ports N: N distinct ports nothing listens on, in the array ports.
pick_ports() {
    local p tries=0
    ports=()
    while [ "${#ports[@]}" -lt "$1" ]; do
        tries=$((tries + 1))
        [ "$tries" -le 500 ] || return 1
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        port_taken "$p" && continue
        case " ${ports[*]} " in *" $p "*) continue ;; esac
        ports+=("$p")
    done
}
# start_server NAME ARG...: a JetStream server storing in $tmp/NAME, its log
# $tmp/NAME.log; its PID in server_pid.
start_server() {
    local name=$1
    shift
    rm -rf "${tmp:?}/$name"
    mkdir -p "$tmp/$name"
    "$nats_server" -a 127.0.0.1 -js -sd "$tmp/$name" "$@" >"$tmp/$name.log" 2>&1 &
    server_pid=$!
    servers="$servers $server_pid"
}
up() { # NAME PID: wait (10 s at most) until the server is ready; 1 if it is not, or died
    local n=100
    until grep -qs 'Server is ready' "$tmp/$1.log"; do
        alive "$2" && [ "$n" -gt 0 ] || return 1
        sleep 0.1
        n=$((n - 1))
    done
    alive "$2"
}
stop_server() { # PID
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    servers=" $servers "
    servers=${servers// $1 / }
}

# Three hosts over a day (three_hosts, check.sh); the reference is one rarr
# over every line in time order.
three_hosts 1
"$rarr" "${rules[@]}" --emit all "$tmp/all.log" >"$tmp/ref" 2>"$tmp/ref.err"
nref=$(wc -l <"$tmp/ref")
check "reference: records written" test "$nref" -gt 1000
check "reference: alerts fired" grep -q '"state":"firing"' "$tmp/ref"

# agent NAME HOST URI [ARG...]: an agent publishing as HOST to URI in the
# background, stdout $tmp/NAME.out, stderr $tmp/NAME.err; its PID in agent_pid.
agent() {
    local name=$1 host=$2 uri=$3
    shift 3
    "$rarr" "${rules[@]}" --host "$host" --stats --publish "$uri" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    agent_pid=$!
    pids="$pids $agent_pid"
}
# paced NAME HOST URI: the same, its log read through a FIFO an hour of log
# every $pace seconds; the feeder's PID in feeder_pid.
paced() {
    local name=$1 host=$2 uri=$3
    mkfifo "$tmp/$name.fifo"
    awk -v pause="$pace" '{ k = substr($4, 2, 14) } # 04/May/2026:13
        k > last { if (NR > 1) { fflush(); system("sleep " pause) } last = k }
        { print }' "$tmp/$host.log" >"$tmp/$name.fifo" &
    feeder_pid=$!
    pids="$pids $feeder_pid"
    agent "$name" "$host" "$uri" "$tmp/$name.fifo"
}
# central NAME URI DURABLE [ARG...]: a central of hosts a, b and c writing
# every record, stdout $tmp/NAME.out, stderr $tmp/NAME.err, in the background;
# its PID in central_pid.
central() {
    local name=$1 uri=$2 durable=$3
    shift 3
    "$rarr" "${rules[@]}" --merge --hosts a,b,c --durable "$durable" --emit all --stats "$@" \
        "$uri" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    central_pid=$!
    pids="$pids $central_pid"
}
lines() { wc -l <"$1"; } # FILE: its complete lines
said() { # NAME: what the rarr NAME said on stderr, but its stats and bad lines, indented
    grep -v -e '^rarr: stats: [^pm]' -e '^rarr: stats: matches' -e '^rarr: [^ ]*:[0-9]*: late' \
        -e '^rarr: input: ' "$tmp/$1.err" | head -n 4 | sed "s/^/    $1: /"
}
agents_ok() { # NAME...: each agent's stdout is empty, and it lost nothing it published
    local n rc=0
    for n in "$@"; do
        if [ -s "$tmp/$n.out" ] ||
            ! grep -q '^rarr: stats: publish: .* 0 failed, 0 dropped$' "$tmp/$n.err"; then
            said "$n"
            rc=1
        fi
    done
    return "$rc"
}
clean() { # NAME: the central NAME found no bad partial record, else what it said
    grep -q '^rarr: stats: merge: 3 hosts .* 0 bad$' "$tmp/$1.err" && return 0
    said "$1"
    return 1
}
exited() { # NAME STATUS: the rarr NAME exited 0, else what it said
    [ "$2" = 0 ] && return 0
    said "$1"
    return 1
}

# The server of checks 1 to 3, on a free port (another one if that one was
# taken in the meantime).
nats=
for _ in 1 2 3; do
    pick_ports 1 || die "no free port"
    start_server n0 -p "${ports[0]}"
    if up n0 "$server_pid"; then
        nats=127.0.0.1:${ports[0]}
        break
    fi
    stop_server "$server_pid"
done
[ -n "$nats" ] || die "nats-server did not start in 3 tries"

# 1. Three agents publish at once; a central merges: the reference's bytes.
uri=nats://$nats/rarr.one
publish_all one "$uri"
check "one: agents exit 0 ($rcs)" test "$rcs" = 000
check "one: agents write nothing on stdout, publish everything" agents_ok one.a one.b one.c
central one "$uri" d1
reap 60 "$central_pid"
rc=$?
check "one: central exits 0 ($rc)" exited one "$rc"
check "one: merged equals the reference" cmp "$tmp/ref" "$tmp/one.out"
check "one: nothing late or bad" grep -q '^rarr: stats: merge: 3 hosts .* 0 late, 0 duplicates, 0 bad$' \
    "$tmp/one.err"

# 2. A central killed mid-way while the agents publish, restarted with its
#    --state and --durable.
uri=nats://$nats/rarr.kill
central kill1 "$uri" d2 --state "$tmp/kill.state"
kill1=$central_pid
kp=
for h in a b c; do
    paced "kill.$h" "$h" "$uri"
    kp="$kp $agent_pid"
done
enough() { [ "$(lines "$tmp/kill1.out")" -ge $((nref * 3 / 10)) ] || ! alive "$kill1"; }
wait_for 60 enough
if ! alive "$kill1"; then
    check "kill: the central still runs at 30% of the records (it ended first; slow the agents: pace)" false
else
    kill -9 "$kill1"
    reap 10 "$kill1"
    central kill2 "$uri" d2 --state "$tmp/kill.state"
    # shellcheck disable=SC2086
    reap_all $kp
    reap 60 "$central_pid"
    rc=$?
    check "kill: agents exit 0 ($rcs)" test "$rcs" = 000
    check "kill: and lose nothing" agents_ok kill.a kill.b kill.c
    check "kill: restarted central exits 0 ($rc)" exited kill2 "$rc"
    n1=$(lines "$tmp/kill1.out")
    n2=$(lines "$tmp/kill2.out")
    k=$((nref - n2 + 1))
    head -n "$n1" "$tmp/ref" >"$tmp/kill.ref1"
    head -n "$n1" "$tmp/kill1.out" >"$tmp/kill.out1"
    tail -n "$n2" "$tmp/ref" >"$tmp/kill.ref2"
    check "kill: killed at $n1 of $nref lines, before the end" test "$n1" -lt "$nref"
    check "kill: what the killed central wrote is the reference's beginning" \
        cmp "$tmp/kill.ref1" "$tmp/kill.out1"
    check "kill: the restarted one writes the reference's end, complete" \
        cmp "$tmp/kill.ref2" "$tmp/kill2.out"
    check "kill: it starts at line $k, at or before where the killed one stopped ($((n1 + 1)))" \
        test "$k" -le $((n1 + 1))
fi

# 3. Agent a killed mid-way (SIGKILL while its input pauses, once its state
#    has every line it read: rarr saves before it waits for input), then
#    restarted with its --state on the rest of its log.
uri=nats://$nats/rarr.agent
cut=$(awk 'substr($4, 14, 2) >= "06" { print NR - 1; exit }' "$tmp/a.log") # a's lines before 06:00
head -n "$cut" "$tmp/a.log" >"$tmp/a.head"
end1=$("$rarr" "${rules[@]}" --emit partials --host a "$tmp/a.head" | sed -n 's/.*"end":\([0-9]*\)}$/\1/p')
mkfifo "$tmp/agent.fifo"
{
    cat "$tmp/a.head"
    while [ ! -e "$tmp/agent.go" ]; do sleep 0.1; done
    tail -n +"$((cut + 1))" "$tmp/a.log"
} >"$tmp/agent.fifo" &
feeder=$!
pids="$pids $feeder"
RARR_SAVE_GAP_MS=0 agent agent1.a a "$uri" --state "$tmp/agent.state" "$tmp/agent.fifo"
agent1=$agent_pid
ap=
for h in b c; do
    agent "agent.$h" "$h" "$uri" "$tmp/$h.log"
    ap="$ap $agent_pid"
done
# The save before the pause: the newest line of the first part.
saved() { [ "$(sed -n 's/.*"max_ts":\([0-9]*\).*/\1/p' "$tmp/agent.state" 2>/dev/null)" = "$end1" ]; }
if ! wait_for 60 saved; then
    check "agent: the state of the first part is saved (max_ts near $end1)" false
elif ! alive "$agent1"; then
    check "agent: the agent still runs after the first part" false
else
    sleep 1 # its publishes acknowledged
    kill -9 "$agent1"
    reap 10 "$agent1"
    kill -9 "$feeder" 2>/dev/null
    reap 10 "$feeder"
    tail -n +"$((cut + 1))" "$tmp/a.log" >"$tmp/a.tail"
    agent agent2.a a "$uri" --state "$tmp/agent.state" "$tmp/a.tail"
    # shellcheck disable=SC2086
    reap_all $agent_pid $ap
    check "agent: the restarted agent and the others exit 0 ($rcs)" test "$rcs" = 000
    check "agent: they lost nothing they published" agents_ok agent2.a agent.b agent.c
    check "agent: the restarted agent has no late line" grep -q '^rarr: stats: late 0' \
        "$tmp/agent2.a.err"
    central agent "$uri" d3
    reap 60 "$central_pid"
    rc=$?
    check "agent: central exits 0 ($rc)" exited agent "$rc"
    check "agent: merged equals the reference" cmp "$tmp/ref" "$tmp/agent.out"
    check "agent: nothing bad" clean agent
fi
stop_server "$server_pid"

# 4. A cluster of three on loopback; streams of 3 replicas.
cluster_up() { # nodes n1 n2 n3: client ports cport[i], monitoring mport[i]; 1 when one did not start
    local i routes
    pick_ports 9 || return 1
    cport=(x "${ports[@]:0:3}")
    rport=(x "${ports[@]:3:3}")
    mport=(x "${ports[@]:6:3}")
    routes=nats://127.0.0.1:${rport[1]},nats://127.0.0.1:${rport[2]},nats://127.0.0.1:${rport[3]}
    for i in 1 2 3; do
        start_server "n$i" -p "${cport[$i]}" -m "${mport[$i]}" -n "n$i" --cluster_name rarrtest \
            --cluster "nats://127.0.0.1:${rport[$i]}" --routes "$routes"
        spid[i]=$server_pid
    done
    for i in 1 2 3; do
        up "n$i" "${spid[$i]}" || {
            stop_server "${spid[1]}"
            stop_server "${spid[2]}"
            stop_server "${spid[3]}"
            return 1
        }
    done
}
jsz() { curl -fsS --max-time 2 "http://127.0.0.1:${mport[$1]}/jsz?streams=true" 2>/dev/null; } # NODE
meta_leader() { # every node knows a JetStream meta leader
    local i
    for i in 1 2 3; do
        jsz "$i" | jq -e '.meta_cluster.leader // "" | length > 0' >/dev/null || return 1
    done
}
stream() { # NODE STREAM FIELD: a field of the stream as the node sees it
    jsz "$1" | jq -r --arg s "$2" ".account_details[]?.stream_detail[]? | select(.name == \$s) | $3 // empty"
}
led_by() { [ -n "$(stream "$1" "$2" .cluster.leader)" ] && [ "$(stream "$1" "$2" .cluster.leader)" != "$3" ]; } # NODE STREAM NOT: a leader, not NOT
stored() { [ "$(stream "$1" "$2" .state.messages)" -ge "$3" ] 2>/dev/null; } # NODE STREAM N
cluster=
for _ in 1 2 3; do
    if cluster_up; then
        cluster=1
        break
    fi
done
[ -n "$cluster" ] || die "the cluster of 3 nats-servers did not start in 3 tries"
wait_for 30 meta_leader || die "no JetStream meta leader in the cluster after 30 s"
servers3=127.0.0.1:${cport[1]},127.0.0.1:${cport[2]},127.0.0.1:${cport[3]}

# 4a. Three agents start together on a new stream of 3 replicas.
uri="nats://$servers3/rarr.fresh?replicas=3"
publish_all fresh "$uri"
check "cluster: agents starting together on a new stream exit 0 ($rcs)" test "$rcs" = 000
check "cluster: and lose nothing" agents_ok fresh.a fresh.b fresh.c

# 4b. Agents publish (a first, the others once the stream has a leader); a
#     node is killed meanwhile; a central lists the three.
uri="nats://$servers3/rarr.cluster?replicas=3"
paced cl.a a "$uri"
cp=$agent_pid
wait_for 30 led_by 1 RARR_rarr_cluster "" || die "stream RARR_rarr_cluster has no leader after 30 s"
for h in b c; do
    paced "cl.$h" "$h" "$uri"
    cp="$cp $agent_pid"
done
# About 4 hours of each log published: kill the node leading the stream (or another).
wait_for 60 stored 1 RARR_rarr_cluster 700
leader=$(stream 1 RARR_rarr_cluster .cluster.leader)
victim=${leader#n}
if [ "${RARR_NATS_KILL:-leader}" = follower ]; then
    for i in 3 2 1; do
        [ "n$i" = "$leader" ] || victim=$i
    done
fi
running=0
for p in $cp; do
    alive "$p" && running=$((running + 1))
done
check "cluster: the agents still publish when node n$victim is killed (leader $leader)" test "$running" = 3
case $victim in 1 | 2 | 3) ;; *) die "no stream leader known (got '$leader')" ;; esac
kill -9 "${spid[$victim]}"
stop_server "${spid[$victim]}"
# shellcheck disable=SC2086
reap_all $cp
check "cluster: agents exit 0 ($rcs)" test "$rcs" = 000
check "cluster: and lose nothing" agents_ok cl.a cl.b cl.c
# The central starts once the cluster has settled: the nodes left know a
# meta leader and a stream leader, neither of them the node killed.
settled() {
    local i
    for i in 1 2 3; do
        [ "$i" = "$victim" ] && continue
        jsz "$i" | jq -e --arg v "n$victim" '.meta_cluster.leader // $v | . != $v' >/dev/null &&
            led_by "$i" RARR_rarr_cluster "n$victim" || return 1
    done
}
check "cluster: the nodes left have settled (leaders) after node n$victim is gone" wait_for 30 settled
central cl "$uri" dc
reap 30 "$central_pid"
rc=$?
check "cluster: central exits 0 ($rc)" exited cl "$rc"
check "cluster: merged equals the reference" cmp "$tmp/ref" "$tmp/cl.out"
done_checks nats
