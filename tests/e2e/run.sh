#!/usr/bin/env bash
# run.sh RARR CASE_DIR -- run the real binary on one end-to-end case and compare.
#
# A case is a directory with:
#   cmd              the arguments, one shell line (paths relative to the repo top;
#                    $out is a scratch directory, for output files to cat)
#   stdin            optional: fed to rarr's standard input (else /dev/null)
#   expected.ndjson  what stdout must be, byte for byte
#   expected.stderr  optional: what stderr must be, byte for byte
#   expected.rc      optional: the exit status (default 0)
# With UPDATE=1 the expected files are rewritten from the actual output.
set -u
rarr=$1
dir=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

args=$(cat "$dir/cmd")
input=/dev/null
[ -f "$dir/stdin" ] && input=$dir/stdin
# shellcheck disable=SC2086
eval "\"$rarr\" $args" <"$input" >"$out/stdout" 2>"$out/stderr"
echo $? >"$out/rc"

if [ "${UPDATE:-0}" = 1 ]; then
    cp "$out/stdout" "$dir/expected.ndjson"
    cp "$out/rc" "$dir/expected.rc"
    if [ -s "$out/stderr" ] || [ -f "$dir/expected.stderr" ]; then
        cp "$out/stderr" "$dir/expected.stderr"
    fi
    exit 0
fi

fail=0
expected_rc=0
[ -f "$dir/expected.rc" ] && expected_rc=$(cat "$dir/expected.rc")
if [ "$(cat "$out/rc")" != "$expected_rc" ]; then
    echo "exit status $(cat "$out/rc"), expected $expected_rc"
    fail=1
fi
if ! cmp -s "$out/stdout" "$dir/expected.ndjson"; then
    echo "stdout differs from $dir/expected.ndjson:"
    diff "$dir/expected.ndjson" "$out/stdout" | head -40
    fail=1
fi
if [ -f "$dir/expected.stderr" ] && ! cmp -s "$out/stderr" "$dir/expected.stderr"; then
    echo "stderr differs from $dir/expected.stderr:"
    diff "$dir/expected.stderr" "$out/stderr" | head -40
    fail=1
fi
[ $fail = 0 ] || { echo "stderr was:"; head -20 "$out/stderr"; }
exit $fail
