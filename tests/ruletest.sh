#!/usr/bin/env bash
# ruletest.sh RARR -- `rarr test`: the project's own rule cases pass, and a
# wrong time, a record that never comes, an unexpected alert and broken cases
# are each reported with the exact line of docs/ruletest.md and exit status.
set -u
rarr=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# check WHAT RC EXPECTED_FILE ARGS...: run `rarr test ARGS` in $tmp, compare stdout and status.
check() {
    local what=$1 want_rc=$2 want=$3 rc
    shift 3
    (cd "$tmp" && "$rarr" test "$@") >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" != "$want_rc" ]; then
        echo "$what: exit status $rc, expected $want_rc"
        fail=1
    fi
    if ! diff -u "$want" "$tmp/out"; then
        echo "$what: output differs (above)"
        fail=1
    fi
}

# The suite in tests/rules: every case passes.
(cd "$top" && "$rarr" test tests/rules) >"$tmp/out" 2>"$tmp/err"
rc=$?
n=$(find "$top/tests/rules" -mindepth 1 -maxdepth 1 -type d | wc -l)
if [ $rc != 0 ] || [ "$(tail -n 1 "$tmp/out")" != "$n passed, 0 failed" ] ||
    [ "$(grep -c '^ok tests/rules/' "$tmp/out")" != "$n" ]; then
    echo "tests/rules: exit status $rc, expected 0 and $n ok lines:"
    cat "$tmp/out" "$tmp/err"
    fail=1
fi

# Failing cases, made from tests/rules/tiny-alerts (an alert at 10:01, resolved at 10:03).
tiny=$top/tests/rules/tiny-alerts
firing='{"type":"threshold","time":"2026-05-04T10:01:00Z","state":"firing","rule":"login-burst","metric":"login_views","rarr":"retention","window":"2m","value":3,"threshold":1,"op":"above","since":"2026-05-04T10:01:00Z"}'
resolved='{"type":"threshold","time":"2026-05-04T10:03:00Z","state":"resolved","rule":"login-burst","metric":"login_views","rarr":"retention","window":"2m","value":0,"threshold":1,"op":"above","since":"2026-05-04T10:01:00Z"}'
for c in wrong-time never unexpected metric-off; do
    mkdir -p "$tmp/suite/$c"
    cp "$tiny/rules.rarr" "$tiny/input.log" "$tmp/suite/$c/"
done
cat >"$tmp/suite/wrong-time/expected.ndjson" <<'EOF'
{"type":"threshold","time":"2026-05-04T10:02:00Z","state":"firing","rule":"login-burst"}
{"type":"threshold","state":"resolved","rule":"login-burst"}
EOF
printf '%s\n%s\n{"type":"anomaly","state":"firing"}\n' "$firing" "$resolved" \
    >"$tmp/suite/never/expected.ndjson"
printf '%s\n' "$firing" >"$tmp/suite/unexpected/expected.ndjson"
# Numbers compare as numbers: 2.0 is 2, but 39720.4 is not 39720.
cat >"$tmp/suite/metric-off/expected.ndjson" <<'EOF'
{"type":"metric","time":"2026-05-04T10:01:00Z","metric":"login_views","value":2.0}
{"type":"metric","time":"2026-05-04T10:01:00Z","metric":"bytes_total","value":39720.4}
EOF

cat >"$tmp/want" <<EOF
FAIL suite/wrong-time: expected {"type":"threshold","time":"2026-05-04T10:02:00Z","state":"firing","rule":"login-burst"} (expected.ndjson:1), got $firing
0 passed, 1 failed
EOF
check wrong-time 1 "$tmp/want" suite/wrong-time

cat >"$tmp/want" <<EOF
FAIL suite/never: expected {"type":"anomaly","state":"firing"} (expected.ndjson:3), got <none>
0 passed, 1 failed
EOF
check never 1 "$tmp/want" suite/never

cat >"$tmp/want" <<EOF
FAIL suite/unexpected: unexpected $resolved
0 passed, 1 failed
EOF
check unexpected 1 "$tmp/want" suite/unexpected

# The whole suite: name order, the summary, exit 1; the passing case is
# tiny-alerts itself, and the metric one fails on its second value.
mkdir -p "$tmp/suite/pass"
cp "$tiny/rules.rarr" "$tiny/input.log" "$tiny/expected.ndjson" "$tmp/suite/pass/"
cat >"$tmp/want" <<EOF
FAIL suite/metric-off: expected {"type":"metric","time":"2026-05-04T10:01:00Z","metric":"bytes_total","value":39720.4} (expected.ndjson:2), got {"type":"metric","time":"2026-05-04T10:01:00Z","metric":"bytes_total","step":"1m","value":39720}
FAIL suite/never: expected {"type":"anomaly","state":"firing"} (expected.ndjson:3), got <none>
ok suite/pass
FAIL suite/unexpected: unexpected $resolved
FAIL suite/wrong-time: expected {"type":"threshold","time":"2026-05-04T10:02:00Z","state":"firing","rule":"login-burst"} (expected.ndjson:1), got $firing
1 passed, 4 failed
EOF
check suite 1 "$tmp/want" suite/

# -v: a failing case's records follow its line, indented.
cat >"$tmp/want" <<EOF
FAIL suite/unexpected: unexpected $resolved
    $firing
    $resolved
0 passed, 1 failed
EOF
check verbose 1 "$tmp/want" -v suite/unexpected

# Broken cases: no input, expected.ndjson not JSON objects, a rule error, no such path.
mkdir -p "$tmp/broken/no-input" "$tmp/broken/bad-json" "$tmp/broken/rule-error"
echo '{"type":"threshold"}' >"$tmp/broken/no-input/expected.ndjson"
cp "$tiny/rules.rarr" "$tiny/input.log" "$tmp/broken/bad-json/"
printf '{"type":"threshold"}\n\n[1,2]\n' >"$tmp/broken/bad-json/expected.ndjson"
cp "$top/fixtures/rules/bad/bad-option.rarr" "$tmp/broken/rule-error/rules.rarr"
cp "$tiny/input.log" "$tmp/broken/rule-error/"
: >"$tmp/broken/rule-error/expected.ndjson"
cat >"$tmp/want" <<EOF
BROKEN broken/bad-json: expected.ndjson:3: not a JSON object
BROKEN broken/no-input: no input.* file
BROKEN broken/rule-error: rules.rarr:2:32: error: unknown option 'windw' (did you mean 'window'?)
BROKEN nowhere: No such file or directory
ok suite/pass
FAIL suite/unexpected: unexpected $resolved
1 passed, 1 failed, 4 broken
EOF
check broken 2 "$tmp/want" broken nowhere suite/pass suite/unexpected

# Usage: no PATH, an unknown option.
: >"$tmp/want"
check no-path 2 "$tmp/want"
if [ "$(cat "$tmp/err")" != "rarr: test: expected a case or suite directory
usage: rarr test [-v] PATH..." ]; then
    echo "no-path: stderr was:"
    cat "$tmp/err"
    fail=1
fi
check bad-option 2 "$tmp/want" -x suite
exit $fail
