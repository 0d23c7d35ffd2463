# check.sh -- sourced by the shell tests: a scratch directory removed at
# exit (kept with KEEP=1, to look into a failure), and check NAME CMD...
# counting what passed and what failed, with "NAME: N passed, M failed" as
# the last line (done NAME).
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
done_checks() { # NAME: the closing line; the status says whether all passed
    echo "$1: $pass passed, $fails failed"
    [ "$fails" = 0 ]
}
