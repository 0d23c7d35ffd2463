#!/usr/bin/env bash
# report.sh RARR -- the --report page opened in a real browser (Debian's headless
# chromium): a replay of fixtures/logs/login-outage.log, then a page of hostile
# rule and key text. The page must load without a single console message (an SVG
# path with an empty or NaN 'd' is one), hold a time axis with dates and HH:MM
# labels, the events table with the login_success firing, how long it fired and
# what else moved with it, the "What would have paged" summary (as --emit summary
# counts it), a tooltip that a hover fills in, and nothing the rules or keys could inject.
# A screenshot is taken too; KEEP=1 keeps the scratch directory (and says where).
# Fails, never skips, when chromium is missing or cannot run. CHROMIUM=path
# picks another binary.
set -u
rarr=$1
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
keep=${KEEP:-0}
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ "$keep" = 1 ]; then
        echo "report.sh: kept $tmp (screenshot $tmp/report.png)" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
browser=${CHROMIUM:-chromium}
fails=0

check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok   $what"
    else
        echo "FAIL $what"
        fails=$((fails + 1))
    fi
}

# Whether no line of the files matches: the grep arguments. (Both are called by check.)
# shellcheck disable=SC2317
none() {
    ! grep -q "$@"
}

# shellcheck disable=SC2317
is_png() {
    [ "$(head -c 4 "$1" | tail -c 3)" = PNG ]
}

die() {
    echo "report.sh: $*" >&2
    exit 1
}

# One headless run on page $1 (a file), the rest of the arguments chromium's.
# Its stderr, where --enable-logging puts the page's console, goes to $tmp/$2.log.
# The profile is a scratch one, so no user's profile or lock gets in the way.
browse() {
    local page=$1 log=$2
    shift 2
    timeout 50 "$browser" --headless=new --disable-gpu --no-sandbox --no-first-run \
        --no-default-browser-check --disable-extensions --user-data-dir="$tmp/profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=3000 "$@" "file://$page" \
        2>"$tmp/$log.log"
}

# The page's console messages: chromium logs each as "...:CONSOLE:LINE] "text", source: URL".
console() {
    grep -F ':CONSOLE' "$tmp/$1.log"
}

# The page $1 with a probe before its end: it hovers the first chart that fired,
# at its first firing point, and copies the tooltip's text into <pre id="probe">.
probe() {
    sed 's#</body></html>##' "$1"
    cat <<'EOF'
<script>
(function () {
    var out = document.createElement('pre'), R = window.RARR, tip = document.getElementById('tip');
    var svg = document.querySelector('svg.chart[data-f*="1"]');
    out.id = 'probe';
    out.textContent = 'no chart fired';
    if (svg && R && tip) {
        var i = svg.getAttribute('data-f').indexOf('1'), b = svg.getBoundingClientRect();
        var x = R.L + (R.T[i] - R.t0) / (R.t1 - R.t0) * R.PW;
        svg.dispatchEvent(new MouseEvent('mousemove', {bubbles: true,
            clientX: b.left + x / R.W * b.width, clientY: b.top + b.height / 2}));
        out.textContent = tip.hidden ? 'tooltip hidden' : 'tooltip: ' + tip.textContent;
    }
    document.body.appendChild(out);
})();
</script>
</body></html>
EOF
}

command -v "$browser" >/dev/null 2>&1 ||
    die "$browser not found: install it (apt-get install chromium, or RARR_CHECK=1 scripts/deps)"

"$rarr" -q --report "$tmp/report.html" <"$top/fixtures/logs/login-outage.log" >"$tmp/out" \
    2>"$tmp/err" || die "rarr failed: $(head -5 "$tmp/err")"
probe "$tmp/report.html" >"$tmp/probe.html"
browse "$tmp/probe.html" dom --dump-dom >"$tmp/dom.html" ||
    die "chromium could not run (status $?): $(grep -v dbus "$tmp/dom.log" | tail -5)"
[ -s "$tmp/dom.html" ] || die "chromium dumped no DOM: $(grep -v dbus "$tmp/dom.log" | tail -5)"
browse "$tmp/probe.html" shot --screenshot="$tmp/report.png" --window-size=1400,2400 \
    >/dev/null || die "chromium could not take a screenshot: $(tail -5 "$tmp/shot.log")"

# The DOM on one line, and its parts: the time axes, the events' rows.
tr -d '\n' <"$tmp/dom.html" >"$tmp/flat.html"
grep -oP '<g class="axis x">.*?</g>' "$tmp/flat.html" >"$tmp/xaxis"
grep -oP '<tr class="firing">.*?</tr>' "$tmp/flat.html" >"$tmp/firing"
grep -oP '<tr class="resolved">.*?</tr>' "$tmp/flat.html" >"$tmp/resolved"
grep -oP '<h2 id="paged">.*?</table>' "$tmp/flat.html" | sed 's#<tr#\n<tr#g' >"$tmp/paged"

check "the page logs nothing to the console" \
    test -z "$(console dom; console shot)"
check "a time axis labels 14:00" grep -q '>14:00<' "$tmp/xaxis"
check "a time axis labels the date 2026-05-04" grep -q '>2026-05-04<' "$tmp/xaxis"
check "the axes say UTC" grep -q '>UTC<' "$tmp/xaxis"
check "a value axis has labels" grep -qP '<g class="axis y">(<[^>]*>\s*)*<text[^>]*>[0-9]' \
    "$tmp/flat.html"
check "the login_success firing is in the events table, 31m long" \
    grep -qP 'login_success below 50 over 15m</a>.*<td>31m</td>' "$tmp/firing"
check "the firing row says what else moved: dashboard_views, -75 %" \
    grep -qP 'what else moved: <span class="mm">dashboard_views</span> 4 <span class="note">\(usual 16, −75(&nbsp;|\s)%\)' \
    "$tmp/firing"
check "the firing row names login_views too" grep -q '>login_views</span> 27' "$tmp/firing"
check "the resolved row names nothing that moved" none -q 'what else moved' "$tmp/resolved"
check "what would have paged: login_success fired once, 31m in all, 31m at the longest" \
    grep -qP '<a href="#a0">login_success below 50 over 15m</a></td><td></td><td class="n">1</td><td>31m</td><td>31m</td><td class="state"></td>' \
    "$tmp/paged"
check "what would have paged: a rule that never fired has 0" \
    grep -qP 'signups anomaly over 1h</a></td><td></td><td class="n">0</td><td>0s</td><td>0s</td>' \
    "$tmp/paged"
check "what would have paged: a row per rule" test "$(grep -o '<tr class=' "$tmp/paged" | wc -l)" = 6
check "the event links to its chart" grep -q '<a href="#a0">login_success below 50' "$tmp/flat.html"
check "the chart has the anchor" grep -q '<h2 id="a0">' "$tmp/flat.html"
check "a tooltip element is there" grep -q 'id="tip" class="tooltip"' "$tmp/flat.html"
check "hovering where it fired shows time, value, threshold and FIRING" \
    grep -qP '<pre id="probe">tooltip: 2026-05-04 14:\d\d( to 14:\d\d)? UTC\s*value [0-9.]+.*threshold: below 50\s*FIRING' \
    "$tmp/flat.html"
check "the per-step ratio says why it has no value" \
    grep -q 'no value in this replay (below min=20' "$tmp/flat.html"
check "no path is empty or NaN" none -E '<path[^>]* d="("|[^"]*NaN)' "$tmp/flat.html"
check "the last page does not reload itself" none 'http-equiv="refresh"' "$tmp/report.html"
check "the screenshot is a PNG" is_png "$tmp/report.png"

# Rule and key text that would be markup or script if it were not escaped.
cat >"$tmp/evil.rarr" <<'EOF'
metric views request~'^GET ' by=path
alert views window=2m above=1 name='</script><script>alert(1)</script> "q" &amp; <b>bold'
EOF
cat >"$tmp/evil.log" <<'EOF'
203.0.113.9 - - [04/May/2026:10:00:01 +0000] "GET /<img src=x onerror=alert(3)> HTTP/1.1" 200 5 "-" "x"
203.0.113.9 - - [04/May/2026:10:00:02 +0000] "GET /</script><script>alert(2)</script> HTTP/1.1" 200 5 "-" "x"
203.0.113.9 - - [04/May/2026:10:01:02 +0000] "GET /</script><script>alert(2)</script> HTTP/1.1" 200 5 "-" "x"
203.0.113.9 - - [04/May/2026:10:02:02 +0000] "GET /'\"&amp;<svg/onload=alert(4)> HTTP/1.1" 200 5 "-" "x"
203.0.113.9 - - [04/May/2026:10:09:02 +0000] "GET /x HTTP/1.1" 200 5 "-" "x"
EOF
"$rarr" -q -r "$tmp/evil.rarr" --report "$tmp/evil.html" "$tmp/evil.log" >"$tmp/out" \
    2>"$tmp/err" || die "rarr failed on the hostile rules: $(head -5 "$tmp/err")"
probe "$tmp/evil.html" >"$tmp/evilprobe.html"
browse "$tmp/evilprobe.html" evil --dump-dom >"$tmp/evildom.html" ||
    die "chromium could not run (status $?)"
check "hostile text: the page logs nothing to the console" test -z "$(console evil)"
check "hostile text: no element was injected" \
    none -iE '<(img|b|svg/)[ >]|<script>alert' "$tmp/evildom.html"
check "hostile text: the rule is shown as text" \
    grep -qF '&lt;/script&gt;&lt;script&gt;alert(1)' "$tmp/evildom.html"
check "hostile text: the keys are shown as text" \
    grep -qF 'key /&lt;img src=x onerror=alert(3)&gt;' "$tmp/evildom.html"
check "hostile text: the tooltip works" grep -q '<pre id="probe">tooltip: 2026' "$tmp/evildom.html"

[ "$fails" = 0 ] || echo "report.sh: $fails check(s) failed; KEEP=1 keeps $tmp"
exit $((fails > 0))
