#!/usr/bin/env bash
# merge.sh RARR LOGGEN -- partials of several hosts merged from files give the
# same bytes as one rarr over all their lines in time order: every metric
# kind (fixtures/rules/hosts.rarr), alerts and metric records, hosts whose
# logs are out of order, hosts that start late and stop early, a gap of
# hours on every host, and the built-in rules alone. Then what a merge
# says of what it cannot use: bad lines, late and duplicate records,
# another rule set, --hosts, usage errors.
set -u
rarr=$1
loggen=$2
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/tests/check.sh"
rules=(-r "$here/patterns/default.rarr" -r "$here/fixtures/rules/hosts.rarr")

# Three hosts over two days (three_hosts, check.sh): one rarr over all.log,
# every line in time order, is what the merges must equal.
three_hosts 2

same() { # NAME, then the options of both runs: hosts a b c partials merged == one run
    local name=$1 h
    shift
    "$rarr" "$@" "$tmp/all.log" >"$tmp/$name.one" 2>"$tmp/$name.one.err"
    for h in a b c; do
        "$rarr" "$@" --emit partials --host "$h" "$tmp/$h.log" >"$tmp/$name.$h" 2>>"$tmp/$name.err"
    done
    "$rarr" "$@" --merge --stats "$tmp/$name.a" "$tmp/$name.b" "$tmp/$name.c" \
        >"$tmp/$name.merged" 2>>"$tmp/$name.err"
    check "$name: one run writes records" test -s "$tmp/$name.one"
    check "$name: merged equals one run" cmp "$tmp/$name.one" "$tmp/$name.merged"
    check "$name: nothing late or bad" grep -q ' 0 late, 0 duplicates, 0 bad$' "$tmp/$name.err"
}
same rich-all "${rules[@]}" --emit all
same rich-alerts "${rules[@]}"
same builtin-all --emit all
check "rich-alerts: alerts fired" grep -q '"state":"firing"' "$tmp/rich-alerts.one"
check "rich-all: per-key, distinct and quantile records" \
    grep -q '"metric":"requests","key":"200"' "$tmp/rich-all.one"

# A gap of three hours on every host: the steps are crossed alike.
for s in 21 22 23; do
    "$loggen" --seed $s --duration 2d --rate 400 --incident drop:26h:3h:all >"$tmp/g$s.log"
done
sort -s -m -k4,4 "$tmp/g21.log" "$tmp/g22.log" "$tmp/g23.log" >"$tmp/gall.log"
for args in "--emit all" "-e metric_hits_status~^2 -e alert_hits_window=10m_below=1"; do
    args=${args//_/ }
    read -r -a a <<<"$args"
    [ "${a[0]}" = -e ] && a=(-e 'metric hits status~^2' -e 'alert hits window=10m below=1')
    "$rarr" "${a[@]}" "$tmp/gall.log" >"$tmp/gap.one"
    for s in 21 22 23; do
        "$rarr" "${a[@]}" --emit partials --host "h$s" "$tmp/g$s.log" >"$tmp/gap.$s"
    done
    "$rarr" "${a[@]}" --merge "$tmp/gap.21" "$tmp/gap.22" "$tmp/gap.23" >"$tmp/gap.merged"
    check "gap [${a[*]}]: merged equals one run" cmp "$tmp/gap.one" "$tmp/gap.merged"
done

# The partial record: versioned, its host, step and lines, one per step.
p="$tmp/rich-all.a"
check "partials: every record is versioned" test "$(grep -vc '^{"rarr_partial":1,"host":"a",' "$p")" = 0
check "partials: an end marker last" sh -c "tail -n 1 '$p' | grep -q '\"end\":'"
check "partials: a step per minute" test "$(grep -c '"step_ms":60000' "$p")" -ge 2800

# What a merge cannot use is counted and said, and changes nothing else.
m="$tmp/rich-alerts"
{
    echo 'not json'
    echo '{"rarr_partial":9,"host":"a"}'
    head -n 5 "$m.a"
} >"$tmp/bad.part"
"$rarr" "${rules[@]}" --merge --stats "$m.a" "$m.b" "$m.c" "$tmp/bad.part" \
    >"$tmp/bad.out" 2>"$tmp/bad.err"
check "bad: same records" cmp "$m.one" "$tmp/bad.out"
check "bad: told with file:line" grep -q "bad.part:1: not a JSON object" "$tmp/bad.err"
check "bad: another version told" grep -q "bad.part:2: a partial record of another version" \
    "$tmp/bad.err"
check "bad: counted" grep -q ' 5 duplicates, 2 bad$' "$tmp/bad.err"
# A host whose partials come after their steps were merged: late, said once.
head -n 100 "$m.a" | sed 's/"host":"a"/"host":"d"/' >"$tmp/late.part"
cat "$m.a" "$tmp/late.part" >"$tmp/a+d.part"
"$rarr" "${rules[@]}" --merge --stats "$tmp/a+d.part" "$m.b" "$m.c" >"$tmp/late.out" \
    2>"$tmp/late.err"
check "late: same records" cmp "$m.one" "$tmp/late.out"
check "late: told once" test "$(grep -c 'host d: partials of steps already merged' "$tmp/late.err")" = 1
check "late: counted" grep -q ' 100 late, 0 duplicates, 0 bad$' "$tmp/late.err"
# --hosts: others are left out and told; the merge waits for the ones named.
"$rarr" "${rules[@]}" --merge --hosts a,b,c --stats "$m.a" "$m.b" "$m.c" "$tmp/late.part" \
    >"$tmp/hosts.out" 2>"$tmp/hosts.err"
check "hosts: same records" cmp "$m.one" "$tmp/hosts.out"
check "hosts: another host told" grep -q "host d is not one of --hosts" "$tmp/hosts.err"
# Another rule set: metrics merge by name, and the difference is said.
"$rarr" --merge "$m.a" "$m.b" "$m.c" >/dev/null 2>"$tmp/rules.err"
check "rules: a difference is said" grep -q "host a: its rules differ from these" "$tmp/rules.err"
check "rules: unknown metrics are said" grep -q "host a: its partials have metrics these rules do not" \
    "$tmp/rules.err"

# Usage: what does not fit together exits 2 with a message.
usage() { # MESSAGE, then the options
    local msg=$1
    shift
    "$rarr" "$@" </dev/null >/dev/null 2>"$tmp/usage.err"
    [ $? = 2 ] && grep -q -- "$msg" "$tmp/usage.err"
}
check "usage: --merge without source" usage "no source" --merge
check "usage: --hosts without --merge" usage "options of --merge" --hosts a
check "usage: partials and merge" usage "does not write them" --merge --emit partials x
check "usage: nats and files" usage "the only source" --merge nats://127.0.0.1:1/x y
check "usage: --durable with files" usage "consumer of a nats" --merge --durable d x
check "usage: --host without partials" usage "host of --emit=partials" --host a
done_checks merge
