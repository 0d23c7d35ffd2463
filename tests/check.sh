# check.sh -- sourced by the shell tests: a scratch directory removed at
# exit (kept with KEEP=1, to look into a failure), and check NAME CMD...
# counting what passed and what failed, with "NAME: N passed, M failed" as
# the last line (done_checks NAME); and the helpers of the live tests
# (wait_for, alive, stamp, line, port_taken).
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
done_checks() { # NAME: the closing line; the status says whether all passed
    echo "$1: $pass passed, $fails failed"
    [ "$fails" = 0 ]
}
