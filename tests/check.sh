# check.sh -- sourced by the shell tests: a scratch directory removed at
# exit (kept with KEEP=1, to look into a failure), and check NAME CMD...
# counting what passed and what failed, with "NAME: N passed, M failed" as
# the last line (done_checks NAME); the helpers of the live tests
# (wait_for, alive, stamp, line, port_taken, stop_pids); and three_hosts,
# the logs of the many-hosts tests.
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fails=0
pass=0
check() { # NAME, then a command that must succeed
    local name=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        echo "FAIL: $name"
        fails=$((fails + 1))
    fi
}
replay_cut() { # RULES LOG "CUTS" OUT ERR [ARG...]: LOG fed to rarr -r RULES ARG... --state in
    # parts that end at the line numbers CUTS and at the end, a run each, from a new state;
    # their stdout goes to OUT, their stderr is added to ERR
    local rules=$1 log=$2 cuts=$3 out=$4 err=$5 from=1 c
    shift 5
    rm -f "$tmp/state"
    : >"$out"
    for c in $cuts '$'; do
        sed -n "${from},${c}p" "$log" | "$rarr" -r "$rules" "$@" --state "$tmp/state" >>"$out" 2>>"$err"
        [ "$c" = '$' ] || from=$((c + 1))
    done
}
wait_for() { # SECONDS CMD...: poll every 0.1 s until CMD succeeds or the time is up
    local n=$(($1 * 10))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    "$@"
}
alive() { kill -0 "$1" 2>/dev/null; } # PID: the process is still there
# stamp: the time now, as a combined log line has it.
stamp() { date -u '+%d/%b/%Y:%H:%M:%S +0000'; }
# line PATH STAMP: a combined log line for a GET of PATH at STAMP.
line() { echo "127.0.0.1 - - [$2] \"GET $1 HTTP/1.1\" 200 512 \"-\" \"curl/7.88\""; }
# port_taken PORT: something accepts connections on 127.0.0.1:PORT.
port_taken() { (exec 4<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
stop_pids() { # [SIGNAL]: send SIGNAL (default TERM) to every PID in $pids, then wait for each
    local p
    for p in $pids; do
        kill -"${1:-TERM}" "$p" 2>/dev/null || true
    done
    for p in $pids; do
        wait "$p" 2>/dev/null || true
    done
}
three_hosts() { # DAYS: $tmp/a.log, b.log, c.log: three hosts' logs (loggen, as $loggen)
    # over DAYS days with incidents, a out of order (slow requests logged when they
    # end), b shuffled within the minute, c starting 3 hours late and ending early;
    # and $tmp/all.log, their lines in time order (the day is the fourth field)
    local h=$(($1 * 24))
    "$loggen" --seed 11 --duration "${h}h" --rate 1200 --request-time \
        --incident login_outage:14h:40m --disorder slow=3:2m >"$tmp/a.log"
    "$loggen" --seed 12 --duration "${h}h" --rate 900 --request-time \
        --incident drop:10h:50m:signup --disorder shuffle=1m >"$tmp/b.log"
    "$loggen" --seed 13 --start 2026-05-04T03:00:00Z --duration "$((h * 5 / 6))h" --rate 500 \
        --request-time --incident spike:10h:30m:marketing >"$tmp/c.log"
    sort -s -m -k4,4 "$tmp/a.log" "$tmp/b.log" "$tmp/c.log" >"$tmp/all.log"
}
done_checks() { # NAME: the closing line; the status says whether all passed
    echo "$1: $pass passed, $fails failed"
    [ "$fails" = 0 ]
}
