#!/usr/bin/env bash
# statefile.sh RARR -- what is at and beside the --state path, as an attacker
# who can write to the state directory leaves it (run as root, as under
# systemd): links, dangling links and FIFOs planted before the start and
# while rarr runs are never followed or opened, their targets stay as they
# were, and the state is saved all the same, as a regular file of mode 0600;
# a path that holds something other than a rarr state file (a rule file, a
# link, a FIFO, a directory, a device) is refused before anything is written;
# a save that fails is reported once.
# Asserts on files, modes, records and messages, never on speed.
set -u
rarr=$1
loggen=$(dirname "$rarr")/loggen
cd "$(dirname "$0")/.."
. tests/check.sh
trap 'pkill -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT
export RARR_SAVE_GAP_MS=0
umask 022

"$loggen" --duration 2h --rate 600 >"$tmp/log"
target=$tmp/precious
printf 'root:secret\n' >"$target"
untouched() { [ "$(cat "$target")" = 'root:secret' ] && [ ! -e "$tmp/created" ]; }
mode() { stat -c %a "$1"; }
loads() { "$rarr" --state "$1" </dev/null >/dev/null 2>"$tmp/load.err" && [ ! -s "$tmp/load.err" ]; }

# 1. Planted before the start, at the names a save could use.
plant() { # DIR: a link to the target, a dangling link, a FIFO, beside DIR/s
    ln -s "$target" "$1/s.tmp"
    ln -s "$tmp/created" "$1/s.tmp.XXXXXX"
    mkfifo "$1/s.new"
    ln -s "$target" "$1/.s.tmp"
}
mkdir "$tmp/d1"
plant "$tmp/d1"
timeout 20 "$rarr" --state "$tmp/d1/s" "$tmp/log" >/dev/null 2>"$tmp/1.err"
check "planted before start: exit 0" [ $? = 0 ]
check "planted before start: nothing said" [ ! -s "$tmp/1.err" ]
check "planted before start: targets untouched" untouched
check "planted before start: the state is a regular file" [ -f "$tmp/d1/s" ] && [ ! -L "$tmp/d1/s" ]
check "planted before start: mode 0600 (umask 022)" [ "$(mode "$tmp/d1/s")" = 600 ]
check "planted before start: it loads" loads "$tmp/d1/s"
check "no temporary file is left" [ -z "$(find "$tmp/d1" -name 's.tmp.*' ! -name 's.tmp.XXXXXX')" ]

# 2. Planted while it runs: between saves (every 5 minutes of event time).
mkdir "$tmp/d2"
mkfifo "$tmp/in"
timeout 60 "$rarr" --state "$tmp/d2/s" <"$tmp/in" >/dev/null 2>"$tmp/2.err" &
pid=$!
exec 3>"$tmp/in"
head -n 300 "$tmp/log" >&3
sleep 0.3
plant "$tmp/d2"
for i in 1 2 3 4 5 6; do ln -s "$target" "$tmp/d2/s.tmp.00000$i"; done
ln -sfn "$target" "$tmp/d2/s" # the state file itself swapped for a link: replaced, not followed
tail -n +301 "$tmp/log" >&3
sleep 0.3
kill -TERM $pid
wait $pid
check "planted while running: exit 0 after SIGTERM" [ $? = 0 ]
exec 3>&-
check "planted while running: nothing said" [ ! -s "$tmp/2.err" ]
check "planted while running: targets untouched" untouched
check "planted while running: the state saved, 0600" [ "$(mode "$tmp/d2/s")" = 600 ]
check "planted while running: the state file is a regular file again" [ -f "$tmp/d2/s" ] && [ ! -L "$tmp/d2/s" ]
check "planted while running: it loads" loads "$tmp/d2/s"

# 3. An old state file of mode 0644 becomes 0600 at the next save.
chmod 644 "$tmp/d2/s"
"$rarr" --state "$tmp/d2/s" </dev/null >/dev/null 2>&1
check "a 0644 state file is saved as 0600" [ "$(mode "$tmp/d2/s")" = 600 ]

# 4. What is at the path itself is refused unless it is a state file of ours.
refused() { # NAME PATH WHAT: refused with WHAT, exit 1, before reading input
    local name=$1 path=$2 what=$3
    timeout 10 "$rarr" --state "$path" fixtures/logs/tiny.log >"$tmp/r.out" 2>"$tmp/r.err"
    check "$name: exit 1" [ $? = 1 ]
    check "$name: says '$what'" grep -q "rarr: $path: $what; refusing" "$tmp/r.err"
    check "$name: no record written" [ ! -s "$tmp/r.out" ]
}
cp patterns/default.rarr "$tmp/my.rarr"
refused "a rule file" "$tmp/my.rarr" "is not a rarr state file"
check "a rule file: unchanged" cmp -s "$tmp/my.rarr" patterns/default.rarr
check "a rule file: no file beside it" [ "$(ls "$tmp" | grep -c '^my.rarr')" = 1 ]
ln -s "$target" "$tmp/link"
refused "a link to a file" "$tmp/link" "is a symbolic link (name the file itself)"
check "a link: still a link, its target untouched" [ -L "$tmp/link" ] && untouched
cp "$tmp/d2/s" "$tmp/good"
ln -s "$tmp/good" "$tmp/link-to-state"
refused "a link to a state file" "$tmp/link-to-state" "is a symbolic link (name the file itself)"
ln -s "$tmp/created" "$tmp/dangling"
refused "a dangling link" "$tmp/dangling" "is a symbolic link (name the file itself)"
check "a dangling link: nothing created" untouched
mkfifo "$tmp/fifo"
refused "a FIFO (not waited on)" "$tmp/fifo" "is not a regular file"
check "a FIFO: still a FIFO" [ -p "$tmp/fifo" ]
mkdir "$tmp/dir"
refused "a directory" "$tmp/dir" "is not a regular file"
if [ "$(id -u)" = 0 ]; then
    mknod "$tmp/zero" c 1 5
    refused "a device node" "$tmp/zero" "is not a regular file"
    check "a device node: still a device" [ -c "$tmp/zero" ]
fi
head -c 4096 /dev/urandom >"$tmp/random"
cp "$tmp/random" "$tmp/random.orig"
refused "random bytes" "$tmp/random" "is not a rarr state file"
check "random bytes: unchanged" cmp -s "$tmp/random" "$tmp/random.orig"
: >"$tmp/empty"
"$rarr" --state "$tmp/empty" fixtures/logs/tiny.log >/dev/null 2>"$tmp/e.err"
check "an empty file is a first start: exit 0" [ $? = 0 ]
check "an empty file: becomes a state file" loads "$tmp/empty"

# 5. A save that fails is reported once, however many fail.
mkdir "$tmp/d5"
timeout 60 "$rarr" --state "$tmp/d5/s" <"$tmp/in" >/dev/null 2>"$tmp/5.err" &
pid=$!
exec 3>"$tmp/in"
head -n 10 "$tmp/log" >&3
sleep 0.3
rm -rf "$tmp/d5"
tail -n +11 "$tmp/log" >&3
exec 3>&-
wait $pid
check "failed saves: exit 1" [ $? = 1 ]
check "failed saves: reported once" [ "$(grep -c 'cannot save state' "$tmp/5.err")" = 1 ]

done_checks statefile.sh
