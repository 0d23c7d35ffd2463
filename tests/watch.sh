#!/usr/bin/env bash
# watch.sh RARR -- --watch in a real terminal (tmux, on a private socket):
# rarr reads live lines through a FIFO (as behind tail -F) and draws every
# metric with its value; one metric's lines stop and its below= alert shows
# FIRING on the screen while stdout, redirected to a file, gets the firing
# record as clean NDJSON; another metric stops with it, and the firing names it
# (related) in the latest events and marks its row; the view survives a resize down to 20x5 and back;
# q ends the run with status 0 and gives the terminal back. Then SIGTERM
# ends a second view the same way, and --watch with stdout on the terminal
# is refused (exit 2). A missing tmux is a failure, never a skip.
set -eu
rarr=$1
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"
sock=rarrwatch$$
sess=rarrwatch$$
tm() { tmux -L "$sock" "$@"; }
pids=
cleanup() {
    touch "$tmp/stop" 2>/dev/null || true
    stop_pids
    tm kill-server 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
# screen [WINDOW]: what the pane shows now.
screen() { tm capture-pane -p -t "$sess:${1:-0}" 2>/dev/null; }
die() {
    echo "FAIL: $*"
    echo "--- the screen"
    screen || true
    for f in "$tmp"/*.err "$tmp"/out; do
        [ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    exit 1
}
for tool in tmux jq; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
# not CMD...: CMD fails.
not() { ! "$@"; }

# login-gone fires when a 2 s window has no /login line; flow's lines never stop,
# /dash's stop with /login's, so the firing names dash as what else moved.
cat >"$tmp/rules.rarr" <<'EOF'
metric flow rarr=activation path~'^/flow'
metric login rarr=retention path~'^/login'
metric dash rarr=retention path~'^/dash'
alert login window=2s below=1 name=login-gone
EOF
"$rarr" --check --step 1s -r "$tmp/rules.rarr" >/dev/null || die "rarr --check refuses the rules"

# 1. The writer: a /flow line every 0.2 s, a /login and a /dash line too while login_on
#    exists. The FIFO is held open read-write by this shell (fd 3), so rarr
#    never sees its end.
mkfifo "$tmp/in"
exec 3<>"$tmp/in"
touch "$tmp/login_on"
(
    while [ ! -e "$tmp/stop" ]; do
        t=$(stamp)
        line /flow "$t"
        [ ! -e "$tmp/login_on" ] || { line /login "$t" && line /dash "$t"; }
        sleep 0.2
    done >&3
) &
pids="$!"

# 2. rarr --watch in a 120x40 terminal, stdout to a file; the shell around it
#    says when it ended, and with what status. LANG: the block characters.
cat >"$tmp/run.sh" <<EOF
LANG=C.UTF-8 "$rarr" --watch -r "$tmp/rules.rarr" -f combined --step 1s --lateness 1s \
    <"$tmp/in" >"$tmp/out" 2>"$tmp/rarr.err"
echo "WATCH-ENDED rc=\$?"
sleep 60
EOF
tm new-session -d -s "$sess" -x 120 -y 40 "sh $tmp/run.sh" || die "tmux cannot start a session"

# 3. Every metric shows with a value, and the alert's state.
shows() { screen | grep -Eq "$1"; }
wait_for 15 shows '^flow +activation +[0-9]+ ' || die "flow is not shown with a value"
wait_for 5 shows '^login +retention +[1-9][0-9]* .* ok *$' || die "login is not shown as ok"
check "the header counts lines and says how to quit" shows '^rarr +[0-9]+ lines .*q quits$'
check "column titles" shows '^METRIC +CATEGORY +STEP +WINDOW +MOVED .*LAST HOUR +STATE'
check "a sparkline in block characters" shows '[▁▂▃▄▅▆▇█]'
check "login's window value and threshold" wait_for 5 shows '^login .* [0-9]+/2s <1 '

# 4. login stops: FIRING on the screen, the record in the latest events (with what
#    else moved: dash) and on stdout; dash's row is marked while it fires.
rm "$tmp/login_on"
wait_for 15 shows '^login +retention +0 .*FIRING' || die "login-gone does not show FIRING"
check "the firing event in the latest events" wait_for 5 shows \
    '^[0-9:]{8} +threshold +firing +login-gone +value 0'
fired() { grep -q '"type":"threshold",.*"state":"firing","rule":"login-gone"' "$tmp/out"; }
check "stdout has the firing record" wait_for 5 fired
related() {
    jq -e 'select(.state == "firing" and .rule == "login-gone") | .related[0].metric == "dash"' \
        "$tmp/out" | grep -q true
}
check "the firing record names dash as what else moved" related
check "the latest events show what else moved after FIRING" shows \
    '^[0-9:]{8} +threshold +firing +login-gone +value 0  \[dash [−-][0-9]+%\]'
check "dash's row is marked as moved down while login-gone fires" shows '^dash +retention +0 +↓[0-9]+%'
check "flow's row is not marked" not shows '^flow .*[↓↑][0-9]+%'
screen >"$tmp/firing.screen" || true # kept with KEEP=1

check "every stdout line is a JSON object" jq -e 'type == "object"' "$tmp/out" >/dev/null
no_escapes() { ! grep -q "$(printf '\033')" "$tmp/out"; }
check "no terminal escape reached stdout" no_escapes

# 5. Resized down to 20x5 and back: still running, and the view comes back.
ended() { screen | grep -q 'WATCH-ENDED'; }
tm resize-window -t "$sess" -x 20 -y 5
sleep 0.8
check "20x5: the metric names still show" shows '^flow'
check "20x5: rarr still runs" not ended
tm resize-window -t "$sess" -x 120 -y 40
check "120x40 again: FIRING shows" wait_for 5 shows '^login .*FIRING'

# 6. q: rarr ends with status 0 within a few seconds, the terminal is given back.
tm send-keys -t "$sess" q
wait_for 5 ended || die "rarr did not end within 5 s of q"
check "exit status 0 after q" shows '^WATCH-ENDED rc=0$'
check "the view is gone after q" not shows "q quits|^METRIC"
check "nothing on stderr" test ! -s "$tmp/rarr.err"

# 7. SIGTERM ends a view as q does; the shell around it has its pid.
cat >"$tmp/run2.sh" <<EOF
"$rarr" --watch -r "$tmp/rules.rarr" -f combined --step 1s --lateness 1s \
    <"$tmp/in" >"$tmp/out2" 2>"$tmp/rarr2.err" &
echo \$! >"$tmp/pid2"
wait \$!
echo "WATCH-ENDED rc=\$?"
sleep 60
EOF
tm new-window -t "$sess:1" "sh $tmp/run2.sh"
shows1() { screen 1 | grep -Eq "$1"; }
wait_for 10 shows1 '^flow +activation' || die "the second view does not show"
kill -TERM "$(cat "$tmp/pid2")"
check "exit status 0 after SIGTERM" wait_for 5 shows1 '^WATCH-ENDED rc=0$'
check "the view is gone after SIGTERM" not shows1 "q quits|^METRIC"

# 8. stdout on the terminal itself: refused with exit 2, the terminal untouched.
cat >"$tmp/run3.sh" <<EOF
"$rarr" --watch -r "$tmp/rules.rarr" --step 1s </dev/null
echo "WATCH-ENDED rc=\$?"
sleep 60
EOF
tm new-window -t "$sess:2" "sh $tmp/run3.sh"
shows2() { screen 2 | grep -Eq "$1"; }
check "stdout on the terminal: refused" wait_for 5 shows2 \
    '^rarr: --watch draws on the terminal: redirect stdout \(rarr --watch \.\.\. > events\.ndjson\)$'
check "stdout on the terminal: exit status 2" shows2 '^WATCH-ENDED rc=2$'

done_checks watch
