#!/usr/bin/env bash
# install.sh BUILD_DIR SOURCE_DIR -- `cmake --install` staged with DESTDIR
# under the prefix /usr: the tree holds the binary (which runs), both manual
# pages, the rule files, the systemd units (naming the installed binary), the
# bash completion and the docs, and nothing of the tests; mandoc's linter
# has nothing to say about the pages; every option that `rarr --help` lists
# is documented in rarr.1 as a flag (.Fl) and completed by the completion.
# Needs mandoc (RARR_CHECK=1 ./scripts/deps installs it): missing, it is a
# failure, never a skip. CMAKE names the cmake to run (default: cmake).
set -u
build=${1:?usage: install.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: install.sh BUILD_DIR SOURCE_DIR}
# shellcheck source=tests/check.sh
. "$(dirname "$0")/check.sh"
die() {
    echo "FAIL: $*"
    exit 1
}
command -v mandoc >/dev/null || die "mandoc is not installed (RARR_CHECK=1 ./scripts/deps installs it)"
stage=$tmp/stage
DESTDIR=$stage "${CMAKE:-cmake}" --install "$build" --prefix /usr >"$tmp/install.log" 2>&1 ||
    die "DESTDIR=$stage cmake --install $build --prefix /usr failed: $(tail -5 "$tmp/install.log")"
usr=$stage/usr
rarr=$usr/bin/rarr
man1=$usr/share/man/man1/rarr.1
man5=$usr/share/man/man5/rarr.5

# 1. Where each thing goes.
exists() { [ -f "$1" ] || { echo "  missing: ${1#"$stage"}"; return 1; }; }
check "usr/bin/rarr is an executable file" test -f "$rarr" -a -x "$rarr"
version=$("$rarr" -V 2>&1)
check "usr/bin/rarr -V prints 'rarr VERSION' (got '$version')" [ "${version#rarr [0-9]}" != "$version" ]
check "usr/share/man/man1/rarr.1 is man/rarr.1" cmp -s "$man1" "$src/man/rarr.1"
check "usr/share/man/man5/rarr.5 is man/rarr.5" cmp -s "$man5" "$src/man/rarr.5"
for f in "$src"/patterns/*.rarr; do
    p=$usr/share/rarr/patterns/${f##*/}
    check "usr/share/rarr/patterns/${f##*/} is installed" exists "$p"
    check "rarr --check -r usr/share/rarr/patterns/${f##*/} exits 0" \
        "$rarr" --check -r "$p" -q >/dev/null 2>"$tmp/check.err"
done
# The units' directory is the cache's RARR_SYSTEMD_UNITDIR (lib/systemd/system
# under the prefix by default; absolute as it is; empty: no units).
unitdir=$(sed -n 's/^RARR_SYSTEMD_UNITDIR:[A-Z]*=//p' "$build/CMakeCache.txt")
case $unitdir in
/*) unitdir=$stage$unitdir ;;
?*) unitdir=$usr/$unitdir ;;
esac
for f in "$src"/contrib/*.service; do
    [ -n "$unitdir" ] || break
    u=$unitdir/${f##*/}
    check "${u#"$stage"/} is installed" exists "$u"
    check "${f##*/}: ExecStart runs /usr/bin/rarr, not /usr/local/bin/rarr" \
        grep -q '^ExecStart=.* /usr/bin/rarr ' "$u"
done
comp=$usr/share/bash-completion/completions/rarr
check "usr/share/bash-completion/completions/rarr is installed" exists "$comp"
check "the bash completion parses (bash -n)" bash -n "$comp"
check "usr/share/doc/rarr/README.md is installed" exists "$usr/share/doc/rarr/README.md"
for f in "$src"/docs/*.md; do
    check "usr/share/doc/rarr/docs/${f##*/} is installed" exists "$usr/share/doc/rarr/docs/${f##*/}"
done
# Nothing of the tests, the benchmarks or the library: bin holds rarr alone.
others=$(find "$stage" \( -name 'test_*' -o -name 'fuzz_*' -o -name loggen -o -name '*.a' \
    -o -name webhook_sink \) -print | sed "s|^$stage||")
check "no test binaries, loggen or library installed (found: ${others:-none})" [ -z "$others" ]
bins=$(cd "$usr/bin" && ls -A)
check "usr/bin holds rarr alone (holds: ${bins//$'\n'/ })" [ "$bins" = rarr ]

# 2. mandoc -Tlint -Wwarning: not a word, on stdout or stderr.
for page in "$man1" "$man5"; do
    mandoc -Tlint -Wwarning "$page" >"$tmp/lint" 2>&1
    check "mandoc -Tlint -Wwarning ${page#"$usr"/} prints nothing, got:
$(cat "$tmp/lint")" [ ! -s "$tmp/lint" ]
done
# Both render (-Tascii, overstrikes removed) and say what they are.
mandoc -Tascii "$man1" 2>/dev/null | sed 's/.\x08//g' >"$tmp/rarr.1.txt"
mandoc -Tascii "$man5" 2>/dev/null | sed 's/.\x08//g' >"$tmp/rarr.5.txt"
check "rarr.1 renders as RARR(1)" grep -q '^RARR(1)' "$tmp/rarr.1.txt"
check "rarr.5 renders as RARR(5)" grep -q '^RARR(5)' "$tmp/rarr.5.txt"
for d in define metric ratio alert anomaly; do
    check "rarr.5 documents the directive '$d' (.Ic $d)" grep -Eq "(^\.| )Ic $d( |$)" "$man5"
done

# 3. Every option of --help is in rarr.1 as a flag, and completed.
"$rarr" --help >"$tmp/help" 2>&1 || die "usr/bin/rarr --help failed: $(cat "$tmp/help")"
mapfile -t longs < <(grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u)
mapfile -t shorts < <(sed -n 's/^ \{1,\}-\([A-Za-z0-9]\), --.*/\1/p' "$tmp/help" | sort -u)
check "rarr --help lists long options (found ${#longs[@]})" [ "${#longs[@]}" -ge 10 ]
# In mdoc, "--name" is written ".Fl -name" (Fl adds the first dash), the
# dash perhaps escaped as \-; rendered, it is "--name". An option is
# documented when a list item (.It, as in OPTIONS) names it, not only the
# SYNOPSIS.
flag_src() { grep -Eq "^\.It([[:space:]].*)?[[:space:]]Fl[[:space:]]+\\\\?-$1([^A-Za-z0-9-]|$)" "$man1"; }
flag_txt() { grep -Eq -- "(^|[^A-Za-z0-9-])--$1([^A-Za-z0-9-]|$)" "$tmp/rarr.1.txt"; }
for o in "${longs[@]}"; do
    n=${o#--}
    check "rarr.1 documents $o in a list item ('.It Fl -$n' in man/rarr.1)" flag_src "$n"
    check "rarr.1 as rendered shows $o" flag_txt "$n"
done
short_src() { grep -Eq "^\.It([[:space:]].*)?[[:space:]]Fl[[:space:]]+$1([[:space:],]|$)" "$man1"; }
for s in "${shorts[@]}"; do
    check "rarr.1 documents -$s in a list item ('.It Fl $s' in man/rarr.1)" short_src "$s"
done
if grep -Eq '(^|[^a-z])rarr test ' "$tmp/help"; then
    check "rarr.1 documents 'rarr test' (.Cm test)" grep -Eq '(^\.| )Cm test( |$)' "$man1"
fi
# The completion, as bash runs it: "rarr -" offers every option of --help,
# read from the installed rarr; and its fallback list (no rarr to ask) too.
complete_opts() { # CMD: what the completion offers for "CMD -"
    bash -c '. "$1"; COMP_WORDS=("$2" -); COMP_CWORD=1; _rarr; printf "%s\n" "${COMPREPLY[@]}"' \
        _ "$comp" "$1"
}
complete_opts "$rarr" >"$tmp/comp"
complete_opts "$tmp/no-such-rarr" >"$tmp/comp-fallback"
for o in "${longs[@]}" "${shorts[@]/#/-}"; do
    check "the completion offers $o" grep -qx -- "$o" "$tmp/comp"
    check "the completion's fallback list has $o (contrib/bash-completion/rarr)" \
        grep -qx -- "$o" "$tmp/comp-fallback"
done

done_checks install
