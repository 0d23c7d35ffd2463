#!/usr/bin/env bash
# nats.sh RARR LOGGEN -- many hosts over a real NATS JetStream (Debian's
# nats-server, on free loopback ports): three hosts' logs (as in merge.sh)
# published by three agents at once and merged by a central reading a
# durable consumer give the bytes of one rarr over all their lines in time
# order, also
#   - when the central is killed (SIGKILL) mid-way and restarted with its
#     --state and --durable: what it wrote before is a prefix of that, what
#     it writes after is the rest, from at or before where it stopped;
#   - when an agent is killed (SIGKILL) mid-way and restarted over its whole
#     log with its --state (JetStream keeps one copy of a HOST/STEP id sent
#     twice, the merge drops what it already had);
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
    local p
    for p in $pids; do
        kill -9 "$p" 2>/dev/null
    done
    for p in $servers; do
        kill "$p" 2>/dev/null
    done
    for p in $pids $servers; do
        wait "$p" 2>/dev/null
    done
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
for tool in curl jq awk timeout; do
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
ready() { grep -qs 'Server is ready' "$tmp/$1.log" && alive "$2"; } # NAME PID
stop_server() { # PID
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    servers=" $servers "
    servers=${servers// $1 / }
}

# Three hosts over a day, with incidents, one out of order (slow requests
# logged when they end), one shuffled within the minute, one that starts late
# and stops early; the reference is one rarr over every line in time order.
"$loggen" --seed 11 --duration 1d --rate 1200 --request-time \
    --incident login_outage:14h:40m --disorder slow=3:2m >"$tmp/a.log"
"$loggen" --seed 12 --duration 1d --rate 900 --request-time \
    --incident drop:10h:50m:signup --disorder shuffle=1m >"$tmp/b.log"
"$loggen" --seed 13 --start 2026-05-04T03:00:00Z --duration 20h --rate 500 --request-time \
    --incident spike:10h:30m:marketing >"$tmp/c.log"
sort -s -m -k4,4 "$tmp/a.log" "$tmp/b.log" "$tmp/c.log" >"$tmp/all.log"
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
agents_ok() { # NAME...: each agent's stdout is empty, and it lost nothing it published
    local n
    for n in "$@"; do
        [ ! -s "$tmp/$n.out" ] || return 1
        grep -q '^rarr: stats: publish: .* 0 failed, 0 dropped$' "$tmp/$n.err" || return 1
    done
}

# The server of checks 1 to 3, on a free port (another one if that one was
# taken in the meantime).
nats=
for _ in 1 2 3; do
    pick_ports 1 || die "no free port"
    start_server n0 -p "${ports[0]}"
    if wait_for 10 ready n0 "$server_pid"; then
        nats=127.0.0.1:${ports[0]}
        break
    fi
    stop_server "$server_pid"
done
[ -n "$nats" ] || die "nats-server did not start in 3 tries"

# 1. Three agents publish at once; a central merges: the reference's bytes.
uri=nats://$nats/rarr.one
for h in a b c; do
    agent "one.$h" "$h" "$uri" "$tmp/$h.log"
    eval "one_$h=\$agent_pid"
done
rcs=
for h in a b c; do
    eval "p=\$one_$h"
    reap 60 "$p"
    rcs="$rcs$?"
done
check "one: agents exit 0 ($rcs)" test "$rcs" = 000
check "one: agents write nothing on stdout, publish everything" agents_ok one.a one.b one.c
central one "$uri" d1
reap 60 "$central_pid"
rc=$?
check "one: central exits 0 ($rc)" test "$rc" = 0
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
    rcs=
    for p in $kp; do
        reap 60 "$p"
        rcs="$rcs$?"
    done
    reap 60 "$central_pid"
    rc=$?
    check "kill: agents exit 0 ($rcs)" test "$rcs" = 000
    check "kill: restarted central exits 0 ($rc)" test "$rc" = 0
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

# 3. Agent a killed mid-way (SIGKILL once its state is saved and its input
#    pauses), restarted with its --state over its whole log.
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
for h in b c; do
    agent "agent.$h" "$h" "$uri" "$tmp/$h.log"
    eval "agent_$h=\$agent_pid"
done
# The last save of the first part: within 5 minutes of event time of its end.
saved() { [ "$(sed -n 's/.*"max_ts":\([0-9]*\).*/\1/p' "$tmp/agent.state" 2>/dev/null)" -ge $((end1 - 300000)) ] 2>/dev/null; }
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
    agent agent2.a a "$uri" --state "$tmp/agent.state" "$tmp/a.log"
    rcs=
    for p in "$agent_pid" "$agent_b" "$agent_c"; do
        reap 60 "$p"
        rcs="$rcs$?"
    done
    check "agent: the restarted agent and the others exit 0 ($rcs)" test "$rcs" = 000
    check "agent: they lost nothing they published" agents_ok agent2.a agent.b agent.c
    check "agent: the restarted agent's old lines come back late" \
        grep -q '^rarr: stats: late [1-9]' "$tmp/agent2.a.err"
    central agent "$uri" d3
    reap 60 "$central_pid"
    rc=$?
    check "agent: central exits 0 ($rc)" test "$rc" = 0
    check "agent: merged equals the reference" cmp "$tmp/ref" "$tmp/agent.out"
    check "agent: nothing bad" grep -q '^rarr: stats: merge: 3 hosts .* 0 bad$' "$tmp/agent.err"
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
        spid[$i]=$server_pid
    done
    for i in 1 2 3; do
        wait_for 10 ready "n$i" "${spid[$i]}" && continue
        for i in 1 2 3; do
            stop_server "${spid[$i]}"
        done
        return 1
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
has_leader() { [ -n "$(stream 1 "$1" .cluster.leader)" ]; } # STREAM
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
fp=
for h in a b c; do
    agent "fresh.$h" "$h" "$uri" "$tmp/$h.log"
    fp="$fp $agent_pid"
done
rcs=
for p in $fp; do
    reap 60 "$p"
    rcs="$rcs$?"
done
check "cluster: agents starting together on a new stream exit 0 ($rcs)" test "$rcs" = 000
check "cluster: and lose nothing" agents_ok fresh.a fresh.b fresh.c

# 4b. Agents publish (a first, the others once the stream has a leader); a
#     node is killed meanwhile; a central lists the three.
uri="nats://$servers3/rarr.cluster?replicas=3"
paced cl.a a "$uri"
cp=$agent_pid
wait_for 30 has_leader RARR_rarr_cluster || die "stream RARR_rarr_cluster has no leader after 30 s"
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
rcs=
for p in $cp; do
    reap 60 "$p"
    rcs="$rcs$?"
done
check "cluster: agents exit 0 ($rcs)" test "$rcs" = 000
check "cluster: and lose nothing" agents_ok cl.a cl.b cl.c
central cl "$uri" dc
reap 30 "$central_pid"
rc=$?
check "cluster: central exits 0 ($rc)" test "$rc" = 0
check "cluster: merged equals the reference" cmp "$tmp/ref" "$tmp/cl.out"
done_checks nats
