#!/usr/bin/env bash
# merge.sh [HOSTS] [HOURS] -- the central at scale: rarr --merge over the
# partial records of HOSTS hosts (default 200) over HOURS hours (default 24),
# with the built-in rules and with the rich set (-r patterns/default.rarr -r
# fixtures/rules/hosts.rarr: keys, distinct, a quantile, sums).
#
# The hosts are cheap: SEEDS distinct host logs (default 4, loggen --rate
# RATE, default 1200 requests at the peak hour) each made into partials by
# `rarr --emit partials --host hS`, and host i is a copy of log (i mod SEEDS)
# with its "host" field rewritten: the merge's cost is in the records, not
# in where they came from. Prints, per rule set:
#
#   - the central: host-steps (partial records) merged per second of wall
#     time and per CPU second, CPU seconds (user+sys), peak RSS and what each
#     host adds to it (against a merge of one host), bytes per record;
#   - for 1,000 hosts at one step a minute (1,000 host-steps a minute): the
#     central's share of one core, its memory, the partials' bytes a day;
#   - the host: the extra CPU of --emit partials over a plain run of the same
#     log, in percent and in microseconds per step, on the first host's log
#     and on a busy day (loggen --rate 30000, 24 h, ~400,000 lines);
#   - NATS JetStream (nats-server -js on a free loopback port, when
#     installed): NATS_HOSTS hosts (default 50; 0 skips) publish with
#     `rarr --publish`, then a central drains them with --durable; its
#     host-steps per second. The central starts once all is published, so it
#     catches up on a backlog: it queues each host's records until the
#     slowest host's come, and its RSS shows that, not a live central's.
#
# CPU time and peak RSS come from getrusage of the child (a wrapper compiled
# with cc), or else from bash `times` and VmHWM polled in /proc (which can
# miss the peak of a run shorter than a tenth of a second). Nothing is asserted
# but that the merge took every record: the figures are read by people.
# RARR and LOGGEN name other binaries than build/rarr and build/loggen,
# NATS_SERVER another nats-server; TMPDIR the scratch space (200 hosts x 24 h
# of rich partials take about 0.5 GB, removed at the end).
set -eu
cd "$(dirname "$0")/.."
hosts=${1:-200}
hours=${2:-24}
seeds=${SEEDS:-4}
rate=${RATE:-1200}
nats_hosts=${NATS_HOSTS:-50}
rarr=${RARR:-build/rarr}
loggen=${LOGGEN:-build/loggen}
[ -x "$rarr" ] && [ -x "$loggen" ] || {
    echo "merge.sh: build first: cmake -S . -B build && cmake --build build (or set RARR, LOGGEN)" >&2
    exit 2
}
[ "$hosts" -ge 1 ] && [ "$hours" -ge 1 ] && [ "$seeds" -ge 1 ] || {
    echo "usage: merge.sh [HOSTS] [HOURS] (both at least 1)" >&2
    exit 2
}
[ "$seeds" -le "$hosts" ] || seeds=$hosts
[ "$nats_hosts" -le "$hosts" ] || nats_hosts=$hosts
rarr=$(cd "$(dirname "$rarr")" && pwd)/$(basename "$rarr")
# A file per host, all open at once.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((hosts + 64)) ]; then
    ulimit -n $((hosts + 64)) 2>/dev/null || {
        echo "merge.sh: $hosts files need ulimit -n $((hosts + 64)) (now $(ulimit -n))" >&2
        exit 2
    }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rarr-bench-merge.XXXXXX")
nats_pid=
agents=()
cleanup() {
    local p
    for p in "${agents[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$nats_pid" ]; then
        kill "$nats_pid" 2>/dev/null || true
        wait "$nats_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cores=$(nproc 2>/dev/null || echo '?')
rich=(-r patterns/default.rarr -r fixtures/rules/hosts.rarr)

# run OUT CMD...: run CMD, then OUT holds "WALL USER SYS MAXRSS_KB" and
# the status is CMD's. RUN_LIMIT=SECONDS (exported) ends CMD with SIGTERM
# after that long.
if command -v cc >/dev/null &&
    cc -O2 -o "$tmp/rusage" -x c - <<'EOF' 2>/dev/null
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static volatile sig_atomic_t late;
static void on_alarm(int sig) { (void)sig; late = 1; }
int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: wait4 returns EINTR */
    struct timespec a, b;
    struct rusage ru;
    const char *limit = getenv("RUN_LIMIT");
    FILE *f;
    pid_t pid;
    int st;

    if (argc < 3)
        return 125;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if ((pid = fork()) == 0) {
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    if (pid == -1)
        return 126;
    if (limit != NULL && atoi(limit) > 0) {
        sigaction(SIGALRM, &sa, NULL);
        alarm((unsigned)atoi(limit));
    }
    while (wait4(pid, &st, 0, &ru) == -1)
        if (late)
            kill(pid, SIGTERM), late = 0;
        else
            return 126;
    clock_gettime(CLOCK_MONOTONIC, &b);
    if ((f = fopen(argv[1], "w")) == NULL)
        return 126;
    fprintf(f, "%.3f %.3f %.3f %ld\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
            ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
EOF
then
    run() {
        local out=$1
        shift
        "$tmp/rusage" "$out" "$@"
    }
else
    # Children's CPU from `times` (before and after, run in this shell),
    # peak RSS polled from /proc, waiting with read -t on a pipe that never
    # has data (no sleep processes to count).
    exec {nap}<> <(:)
    secs() { # 1m2.500s -> 62.500
        awk -v t="$1" 'BEGIN { split(t, p, "m"); sub("s", "", p[2]); printf "%.3f", p[1] * 60 + p[2] }'
    }
    run() {
        local out=$1 u0 s0 u1 s1 t0 t1 pid peak=0 k v rc=0
        shift
        times >"$tmp/times"
        { read -r _; read -r u0 s0; } <"$tmp/times"
        t0=$(date +%s.%N)
        "$@" &
        pid=$!
        while [ -r "/proc/$pid/status" ]; do
            while read -r k v _; do [ "$k" = VmHWM: ] && peak=$v; done <"/proc/$pid/status" 2>/dev/null || true
            if [ "${RUN_LIMIT:-0}" -gt 0 ] && [ "$(date +%s)" -ge "$((${t0%.*} + RUN_LIMIT))" ]; then
                kill "$pid" 2>/dev/null || true
            fi
            read -r -t 0.01 -u "$nap" _ || true
        done
        wait "$pid" || rc=$?
        t1=$(date +%s.%N)
        times >"$tmp/times"
        { read -r _; read -r u1 s1; } <"$tmp/times"
        awk -v a="$t0" -v b="$t1" -v u0="$(secs "$u0")" -v s0="$(secs "$s0")" \
            -v u1="$(secs "$u1")" -v s1="$(secs "$s1")" -v kb="$peak" \
            'BEGIN { printf "%.3f %.3f %.3f %d\n", b - a, u1 - u0, s1 - s0, kb }' >"$out"
        return $rc
    }
fi

# merged ERR: the partial records a merge took, from its --stats; warns
# unless every one was merged (nothing late, duplicate or bad).
merged() {
    local line
    line=$(grep 'stats: merge:' "$1" || true)
    case $line in
    *' 0 late, 0 duplicates, 0 bad') ;;
    *) echo "merge.sh: the merge did not take every record: ${line:-no stats} (see $1)" >&2 ;;
    esac
    sed -n 's/.* \([0-9][0-9]*\) partial records.*/\1/p' <<<"$line"
}

echo "rarr --merge at scale: $hosts hosts x $hours h ($((hours * 60)) steps of 1m), $seeds distinct"
echo "host logs (loggen --rate $rate --request-time), $cores cores, $("$rarr" -V 2>&1)"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo

# The distinct host logs, and a busy one for the host-side cost.
for s in $(seq 1 "$seeds"); do
    "$loggen" --seed "$s" --duration "${hours}h" --rate "$rate" --request-time >"$tmp/host$s.log"
done
"$loggen" --seed 9 --duration 24h --rate 30000 --request-time >"$tmp/busy.log"
host_lines=$(cat "$tmp"/host*.log | wc -l)

# partials SET RULES...: the partials of every distinct log as host hS in
# $tmp/SET/hS, then the copies up to $hosts.
partials() {
    local set=$1 s i
    shift
    mkdir -p "$tmp/$set"
    for s in $(seq 1 "$seeds"); do
        "$rarr" "$@" --emit partials --host "h$s" "$tmp/host$s.log" >"$tmp/$set/h$s"
    done
    for i in $(seq $((seeds + 1)) "$hosts"); do
        s=$(((i - 1) % seeds + 1))
        sed "s/^{\"rarr_partial\":1,\"host\":\"h$s\",/{\"rarr_partial\":1,\"host\":\"h$i\",/" \
            "$tmp/$set/h$s" >"$tmp/$set/h$i"
    done
}

# central SET RULES...: merge every host's file, then one host's; a row of
# the central's table in $tmp/SET.row, the extrapolation's in $tmp/SET.x.
central() {
    local set=$1 files=() i n s u events size tn rn r1
    shift
    for i in $(seq 1 "$hosts"); do files+=("$tmp/$set/h$i"); done
    cat "${files[@]}" >/dev/null
    run "$tmp/t.n" "$rarr" "$@" --merge --stats "${files[@]}" >"$tmp/$set.out" 2>"$tmp/$set.err"
    n=$(merged "$tmp/$set.err")
    run "$tmp/t.1" "$rarr" "$@" --merge --stats "$tmp/$set/h1" >/dev/null 2>"$tmp/$set.err1"
    events=$(wc -l <"$tmp/$set.out")
    # Bytes of a record (the JSON, as a NATS message carries it), end markers aside.
    size=$(for s in $(seq 1 "$seeds"); do cat "$tmp/$set/h$s"; done |
        awk 'index($0, "\"end\":") == 0 { n++; b += length($0); if (length($0) > m) m = length($0) }
             END { printf "%.0f %d", b / n, m }')
    read -r _ _ _ r1 <"$tmp/t.1"
    echo "$r1" >"$tmp/$set.r1"
    read -r tn u s rn <"$tmp/t.n"
    awk -v set="$set" -v n="$n" -v t="$tn" -v u="$u" -v s="$s" -v rn="$rn" -v r1="$r1" \
        -v h="$hosts" -v ev="$events" -v size="$size" 'BEGIN {
            cpu = u + s; if (cpu <= 0) cpu = 0.001; if (t <= 0) t = 0.001
            per = h > 1 ? (rn - r1) / (h - 1) : 0
            split(size, sz, " ")
            printf "%-9s %11d %7.2f %7.2f %12.0f %12.0f %8.1f MB %7.1f KB %7d %6d %7d\n",
                set, n, t, cpu, n / t, n / cpu, rn / 1024, per, sz[1], sz[2], ev
            # 1,000 hosts, a step a minute: 1000/60 host-steps a second.
            printf "%-9s %9.3f %% %13.1f MB %14.1f MB %13.2f GB\n", set, 1000 / 60 / (n / cpu) * 100,
                (r1 + 1000 * per) / 1024, 1000 * per / 1024, sz[1] * 1440 * 1000 / 1e9 > "/dev/stderr"
        }' >"$tmp/$set.row" 2>"$tmp/$set.x"
}

# host_side SET RULES...: the first host's log and the busy one, plain and
# with --emit partials, the median CPU of 5 runs each; rows in $tmp/SET.host.
host_side() {
    local set=$1 log name mode k plain part lines steps
    shift
    : >"$tmp/$set.host"
    for log in host1 busy; do
        for mode in plain partials; do
            for k in 1 2 3 4 5; do
                if [ $mode = plain ]; then
                    run "$tmp/t" "$rarr" "$@" "$tmp/$log.log" >/dev/null 2>>"$tmp/host.err"
                else
                    run "$tmp/t" "$rarr" "$@" --emit partials --host h "$tmp/$log.log" \
                        >"$tmp/t.part" 2>>"$tmp/host.err"
                fi
                awk '{ printf "%.4f\n", $2 + $3 }' "$tmp/t"
            done | sort -n | sed -n 3p >"$tmp/$set.$mode"
        done
        read -r plain <"$tmp/$set.plain"
        read -r part <"$tmp/$set.partials"
        lines=$(wc -l <"$tmp/$log.log")
        name="$set, $([ $log = busy ] && echo busy day || echo "host h1")"
        steps=$(grep -vc '"end":' "$tmp/t.part" || true)
        awk -v n="$name" -v a="$plain" -v b="$part" -v steps="$steps" -v l="$lines" 'BEGIN {
            if (a <= 0) a = 0.0001
            printf "%-18s %8d %6d %11.3f %14.3f %+9.1f %% %+12.1f\n", n, l, steps, a, b,
                (b - a) / a * 100, (b - a) / steps * 1e6 }' >>"$tmp/$set.host"
    done
}

partials builtin
central builtin
host_side builtin
rm -rf "$tmp/builtin"
partials rich "${rich[@]}"
central rich "${rich[@]}"
host_side rich "${rich[@]}"
rm -rf "$tmp/rich"

echo "The central: $hosts hosts' partial files merged, each read side by side ($host_lines lines"
echo "in the $seeds distinct host logs). CPU is user+sys; RSS/host = (RSS of $hosts hosts - RSS of 1) / $((hosts - 1 > 0 ? hosts - 1 : 1))."
printf '%-9s %11s %7s %7s %12s %12s %11s %10s %7s %6s %7s\n' rules host-steps wall-s CPU-s \
    steps/s steps/CPU-s 'peak RSS' RSS/host 'B mean' 'B max' records
cat "$tmp/builtin.row" "$tmp/rich.row"
echo
echo "Extrapolated to 1,000 hosts at 1 step/min (1,000 host-steps a minute, 16.7 a second):"
printf '%-9s %11s %16s %17s %16s\n' rules 'CPU (1 core)' 'memory (files)' 'of it, hosts' \
    'partials a day'
cat "$tmp/builtin.x" "$tmp/rich.x"
echo "(memory (files): a file source's read buffer is most of RSS/host, up to 1.3 MB once the"
echo "file is bigger than that; a central on NATS holds the records queued instead, KB/record below.)"
echo
echo "The host: the same log plain and with --emit partials (to a file), median CPU seconds"
echo "of 5 runs; the extra per step is the partials' CPU per record written, in us."
printf '%-18s %8s %6s %11s %14s %11s %12s\n' 'rules, log' lines steps 'plain CPU-s' \
    'partials CPU-s' extra 'us per step'
cat "$tmp/builtin.host" "$tmp/rich.host"

# NATS JetStream: NATS_HOSTS agents publish, then one central drains the stream.
nats_server=${NATS_SERVER:-}
for p in /usr/sbin/nats-server /usr/bin/nats-server /usr/local/bin/nats-server; do
    [ -n "$nats_server" ] || { [ -x "$p" ] && nats_server=$p; }
done
echo
if [ "$nats_hosts" -le 0 ]; then
    echo "NATS: skipped (NATS_HOSTS=0)"
    exit 0
elif [ -z "$nats_server" ]; then
    echo "NATS: skipped, no nats-server (apt-get install nats-server, or set NATS_SERVER)"
    exit 0
fi
mkdir -p "$tmp/js"
# -p -1: a free port, which the ports file tells.
"$nats_server" -a 127.0.0.1 -p -1 -js -sd "$tmp/js" --ports_file_dir "$tmp" >"$tmp/nats.log" 2>&1 &
nats_pid=$!
url=
for _ in $(seq 1 100); do
    url=$(sed -n 's/.*"nats":\["\(nats:\/\/[^"]*\)".*/\1/p' "$tmp"/nats-server_*.ports 2>/dev/null || true)
    [ -n "$url" ] && break
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "NATS: skipped, nats-server did not start: $(tail -3 "$tmp/nats.log")"
    exit 0
fi
par=${cores//\?/2}
nats_list=$(seq -s, -f 'h%.0f' 1 "$nats_hosts")
echo "NATS JetStream ($("$nats_server" --version 2>&1), loopback, file store): $nats_hosts hosts x $hours h;"
echo "the agents publish (rarr --publish, $par at a time), then one central drains the stream"
echo "(rarr --merge --hosts h1,...,h$nats_hosts --durable); its figures are the central's."
echo "KB/record: (peak RSS - RSS of a merge of one host's file) / host-steps, the memory of a"
echo "record queued while it waits for the other hosts' records of its step."
printf '%-9s %11s %11s %10s %7s %7s %10s %11s %10s\n' rules host-steps 'publish MB' publish-s \
    wall-s CPU-s steps/s 'peak RSS' KB/record
nats() { # SET RULES...
    local set=$1 i s subject=bench.$1 bytes failed=0 t0 t1 n
    shift
    agents=()
    t0=$(date +%s.%N)
    for i in $(seq 1 "$nats_hosts"); do
        s=$(((i - 1) % seeds + 1))
        "$rarr" "$@" --publish "$url/$subject" --host "h$i" --stats "$tmp/host$s.log" \
            >/dev/null 2>"$tmp/agent$i.err" &
        agents+=($!)
        if [ ${#agents[@]} -ge "$par" ]; then
            for p in "${agents[@]}"; do wait "$p" || failed=$((failed + 1)); done
            agents=()
        fi
    done
    for p in "${agents[@]}"; do wait "$p" || failed=$((failed + 1)); done
    agents=()
    t1=$(date +%s.%N)
    [ "$failed" = 0 ] || echo "merge.sh: $failed agents lost records (see $tmp/agent*.err)" >&2
    bytes=$(cat "$tmp"/agent*.err | sed -n 's/.*publish: [0-9]* partial records (\([0-9]*\) bytes).*/\1/p' |
        awk '{ b += $1 } END { print b + 0 }')
    RUN_LIMIT=600 run "$tmp/t.nats" "$rarr" "$@" --merge --hosts "$nats_list" --durable "central-$set" \
        --stats "$url/$subject" >/dev/null 2>"$tmp/nats-$set.err" ||
        echo "merge.sh: the central over NATS exited $? (see $tmp/nats-$set.err)" >&2
    n=$(merged "$tmp/nats-$set.err")
    read -r t u s r <"$tmp/t.nats"
    awk -v set="$set" -v n="${n:-0}" -v mb="$bytes" -v p0="$t0" -v p1="$t1" -v t="$t" -v u="$u" \
        -v s="$s" -v r="$r" -v r1="$(cat "$tmp/$set.r1")" 'BEGIN { if (t <= 0) t = 0.001
            printf "%-9s %11d %11.1f %10.2f %7.2f %7.2f %10.0f %8.1f MB %10.1f\n", set, n, mb / 1e6,
                p1 - p0, t, u + s, n / t, r / 1024, (n > 0 ? (r - r1) / n : 0) }'
    rm -f "$tmp"/agent*.err
}
nats builtin
nats rich "${rich[@]}"
