#!/usr/bin/env bash
# replay.sh RARR LOGGEN -- a replay of logs in the order real ones come in
# applies every line with no options: lines shuffled within their minute (an
# export sorted to the minute) and slow requests written up to 2 minutes after
# their time. The per-step counts equal an independent count (awk over the CLF
# times, the same regexes), from a file, a pipe and gzip, in the same bytes;
# lines 30 minutes out of order are reported with a pointer to --lateness.
set -u
rarr=$1
loggen=$2
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"

cat >"$tmp/replay.rarr" <<'EOF'
define LOGIN '/login\b'
metric login_views  request~'^GET %{LOGIN}'
metric logins       method='POST'  path~'^%{LOGIN}'  status~'^3'
metric login_fails  method='POST'  path='/login'  status~'^[45]'
metric signups      method='POST'  path~'^/signup\b'  status~'^20[01]$'
metric api_errors   path~'^/api/'  status~'^5'
metric not_found    status='404'
EOF

# Days since 1970-01-01 of a date (from 1970 on), and the CLF time of a line
# ($4 and $5) in seconds since the epoch.
cat >"$tmp/time.awk" <<'EOF'
function days(y, m, d) {
    y -= (m <= 2)
    d += int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) - 1 - 719468
    return int(y / 400) * 146097 + (y % 400) * 365 + int((y % 400) / 4) - int((y % 400) / 100) + d
}
function clf_time(    t, i, off) {
    if (!("Jan" in month))
        for (i = split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", t, " "); i > 0; i--)
            month[t[i]] = i
    split(substr($4, 2), t, /[\/:]/)
    off = (substr($5, 2, 2) * 60 + substr($5, 4, 2)) * 60
    if (substr($5, 1, 1) == "-")
        off = -off
    return ((days(t[3] + 0, month[t[2]], t[1] + 0) * 24 + t[4]) * 60 + t[5]) * 60 + t[6] - off
}
EOF

# The independent count: each rule of replay.rarr as an awk condition, every
# line in the UTC minute of its own time, every step from the oldest line's
# minute up to the newest one's (the step holding the newest line is not
# complete), zeros included: "MINUTE METRIC COUNT", minutes since the epoch.
cat >"$tmp/count.awk" <<'EOF'
BEGIN { nname = split("login_views logins login_fails signups api_errors not_found", name, " ") }
{
    m = int(clf_time() / 60)
    if (NR == 1 || m < first)
        first = m
    if (NR == 1 || m > last)
        last = m
    path = $7
    sub(/\?.*/, "", path)
    if ($6 == "\"GET" && $7 ~ /^\/login([^A-Za-z0-9_]|$)/)
        n["login_views", m]++
    if ($6 == "\"POST" && path ~ /^\/login([^A-Za-z0-9_]|$)/ && $9 ~ /^3/)
        n["logins", m]++
    if ($6 == "\"POST" && path == "/login" && $9 ~ /^[45]/)
        n["login_fails", m]++
    if ($6 == "\"POST" && path ~ /^\/signup([^A-Za-z0-9_]|$)/ && $9 ~ /^20[01]$/)
        n["signups", m]++
    if (path ~ /^\/api\// && $9 ~ /^5/)
        n["api_errors", m]++
    if ($9 == "404")
        n["not_found", m]++
}
END {
    for (m = first; m < last; m++)
        for (i = 1; i <= nname; i++)
            print m, name[i], n[name[i], m] + 0
}
EOF

# rarr's metric records as "MINUTE METRIC VALUE", the minute the step starts.
cat >"$tmp/records.awk" <<'EOF'
/^\{"type":"metric",/ {
    match($0, /"time":"[^"]*"/)
    t = substr($0, RSTART + 8, RLENGTH - 9)
    match($0, /"metric":"[^"]*"/)
    metric = substr($0, RSTART + 10, RLENGTH - 11)
    match($0, /"value":[^,}]*/)
    value = substr($0, RSTART + 8, RLENGTH - 8)
    m = days(substr(t, 1, 4) + 0, substr(t, 6, 2) + 0, substr(t, 9, 2) + 0) * 24 + substr(t, 12, 2)
    m = m * 60 + substr(t, 15, 2) - 1
    print m, metric, value
}
EOF

# How far a log is out of order: the most a line's time is behind the newest
# time before it (seconds), and how many lines are behind it at all.
cat >"$tmp/disorder.awk" <<'EOF'
{
    s = clf_time()
    if (NR == 1 || s > newest)
        newest = s
    else if (s < newest) {
        behind++
        if (newest - s > lag)
            lag = newest - s
    }
}
END { print lag + 0, behind + 0 }
EOF

# Counts equal the independent count at every step; else name the first step that differs.
same_counts() { # NAME WANT RECORDS
    local name=$1 want=$2 got=$tmp/got.counts m metric w g
    awk -f "$tmp/time.awk" -f "$tmp/records.awk" "$3" | sort -k1,1n -k2,2 >"$got"
    if [ -s "$want" ] && cmp -s "$want" "$got"; then
        pass=$((pass + 1))
        return
    fi
    fails=$((fails + 1))
    awk 'NR == FNR { want[$1 " " $2] = $3; next }
         { got[$1 " " $2] = $3 }
         END { for (k in want) if (!(k in got) || got[k] != want[k])
                   print k, want[k], (k in got) ? got[k] : "none"
               for (k in got) if (!(k in want)) print k, "none", got[k] }' "$want" "$got" |
        sort -k1,1n -k2,2 >"$tmp/differ"
    read -r m metric w g <"$tmp/differ"
    echo "FAIL: $name: $(wc -l <"$tmp/differ") of $(wc -l <"$want") step counts differ;" \
        "first: step $(date -u -d "@$((m * 60))" +%Y-%m-%dT%H:%MZ) $metric: awk $w, rarr $g"
}

# Three replays of 3 hours: a login outage, a UTC offset, an evening across a month's end in UTC.
runs="11 2026-05-04T08:00:00Z +0000 --incident=login_outage:1h:20m
12 2026-05-05T15:00:00Z -0700
13 2026-05-31T22:30:00Z -0200"
while read -r seed start tz extra <&3; do
    gen="$loggen --seed $seed --start $start --duration 3h --rate 20000 --tz $tz $extra"
    log=$tmp/s$seed.log
    $gen --disorder shuffle=1m,slow=5:2m >"$log"
    $gen >"$tmp/sorted.log"
    awk -f "$tmp/time.awk" -f "$tmp/count.awk" "$log" | sort -k1,1n -k2,2 >"$tmp/want"

    # The generator's disorder: the same lines, up to 3 minutes out of order.
    check "seed $seed: disorder moves lines, changes none" \
        cmp -s <(sort "$log") <(sort "$tmp/sorted.log")
    read -r lag behind < <(awk -f "$tmp/time.awk" -f "$tmp/disorder.awk" "$log")
    check "seed $seed: lines out of order by 1 to 3 minutes (the most: ${lag}s, $behind lines)" \
        [ "$lag" -gt 60 -a "$lag" -le 180 -a "$behind" -gt 1000 ]
    check "seed $seed: the independent count has logins and signups in most steps" \
        [ "$(awk '$2 == "logins" && $3 > 0' "$tmp/want" | wc -l)" -gt 120 -a \
        "$(awk '$2 == "signups" && $3 > 0' "$tmp/want" | wc -l)" -gt 60 ]

    # In time order the count agrees already: what differs below is the disorder.
    "$rarr" -r "$tmp/replay.rarr" --emit=metrics "$tmp/sorted.log" >"$tmp/sorted.out" 2>/dev/null
    same_counts "seed $seed: in time order: counts" "$tmp/want" "$tmp/sorted.out"

    gzip -c "$log" >"$log.gz"
    "$rarr" -r "$tmp/replay.rarr" --emit=metrics --stats "$log" >"$tmp/file.out" 2>"$tmp/file.err"
    # shellcheck disable=SC2002 # a pipe, not a file on stdin
    cat "$log" | "$rarr" -r "$tmp/replay.rarr" --emit=metrics --stats >"$tmp/pipe.out" \
        2>"$tmp/pipe.err"
    "$rarr" -r "$tmp/replay.rarr" --emit=metrics --stats "$log.gz" >"$tmp/gz.out" 2>"$tmp/gz.err"
    gzip -dc "$log.gz" | "$rarr" -r "$tmp/replay.rarr" --emit=metrics --stats >"$tmp/gzpipe.out" \
        2>"$tmp/gzpipe.err"
    for how in file pipe gz gzpipe; do
        case $how in
        file) what="from a file" ;;
        pipe) what="from a pipe (cat f | rarr)" ;;
        gz) what="from gzip (rarr f.gz)" ;;
        gzpipe) what="from gzip through a pipe (gzip -dc f.gz | rarr)" ;;
        esac
        same_counts "seed $seed: $what: counts" "$tmp/want" "$tmp/$how.out"
        late=$(sed -n 's/^rarr: stats: \(late [0-9]*\)$/\1/p' "$tmp/$how.err")
        check "seed $seed: $what: --stats shows late 0 (got '${late:-no stats}')" \
            [ "$late" = "late 0" ]
        [ "$how" = file ] ||
            check "seed $seed: $what: the same bytes as from the file" \
                cmp -s "$tmp/file.out" "$tmp/$how.out"
    done
done 3<<<"$runs"

# Lines out of order by more than a replay's default (slow requests written up
# to 40 minutes late) are late, and the message says which option takes them.
"$loggen" --seed 21 --start 2026-05-04T08:00:00Z --duration 2h --rate 20000 \
    --disorder shuffle=1m,slow=2:40m >"$tmp/late.log"
read -r lag behind < <(awk -f "$tmp/time.awk" -f "$tmp/disorder.awk" "$tmp/late.log")
check "30 minutes: lines out of order by over 30 minutes (the most: ${lag}s)" [ "$lag" -gt 1800 ]
"$rarr" -r "$tmp/replay.rarr" --emit=metrics --stats "$tmp/late.log" >/dev/null 2>"$tmp/late.err"
check "30 minutes: --stats counts late lines, and the most they were behind" \
    grep -q '^rarr: stats: late [1-9][0-9]* (the most [0-9hms]* behind the newest event; --lateness 15m)$' "$tmp/late.err"
check "30 minutes: stderr names --lateness" grep -q -e '--lateness' "$tmp/late.err"

# A drop of a sum= metric (revenue: the bytes of subscription requests) fires an anomaly; its
# resolved record carries the shortfall, expected minus actual over the window that fired and
# every step until it resolved. A replay cut mid-firing with --state gives the same records.
cat >"$tmp/rev.rarr" <<'EOF'
metric revenue rarr=revenue request~'^POST /(billing/)?(subscribe|checkout)\b' status~'^(2|30[23])' sum=bytes
metric views request~'^GET '
anomaly revenue window=1h direction=drop season=daily
EOF
"$loggen" --seed 5 --duration 3d --rate 12000 --incident drop:2d10h:6h:subscribe >"$tmp/rev.log"
"$rarr" -r "$tmp/rev.rarr" "$tmp/rev.log" >"$tmp/rev.out"
check "revenue drop: fires during the incident" \
    grep -q '"type":"anomaly","time":"2026-05-06T1[0-5]:[0-9:]*Z","state":"firing","rule":"revenue anomaly' "$tmp/rev.out"
check "revenue drop: the firing record has no shortfall" \
    test "$(grep '"state":"firing"' "$tmp/rev.out" | grep -c shortfall)" = 0
shortfall=$(grep '"state":"resolved"' "$tmp/rev.out" | grep -o '"shortfall":[0-9.]*' | cut -d: -f2)
check "revenue drop: the resolved record says the shortfall (thousands of bytes)" \
    awk -v s="${shortfall:-0}" 'BEGIN { exit !(s > 5000 && s < 50000) }'
cut=$(grep -n '06/May/2026:13:00' "$tmp/rev.log" | head -1 | cut -d: -f1)
replay_cut "$tmp/rev.rarr" "$tmp/rev.log" "$cut" "$tmp/rev.parts" "$tmp/rev.err"
check "revenue drop, cut mid-firing with --state: the records of one run, shortfall included" \
    cmp -s "$tmp/rev.out" "$tmp/rev.parts"
rm -f "$tmp/rev.log"

done_checks replay
