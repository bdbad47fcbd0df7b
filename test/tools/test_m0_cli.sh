#!/bin/sh
# m0's command line: the REPL survives errors and keeps its stack, a
# messenger built by _ctm runs the same from its wire form, runaway
# messengers end by limit, exit statuses and usage errors.
#   test_m0_cli.sh M0 SRCDIR
set -u
m0=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # name expected actual
	if [ "$2" != "$3" ]; then
		printf 'FAIL %s\n--- want\n%s\n--- got\n%s\n' "$1" "$2" "$3"
		fails=$((fails + 1))
	else
		echo "ok $1"
	fi
}

# REPL (stdin not a terminal: no prompt): errors are reported with name
# and object, the session and its stack survive, longdict is loaded.
out=$(printf '1 2 add\n1 0 /\nstack\n5 dup mul ptop\nfoo\n' | "$m0" 2>&1)
check repl "error: division_by_zero --/--
0
1
3
25
error: undefined foo" "$out"

# --messenger: a messenger made by _ctm (with a data field) behaves as the
# same code run directly.
code='"sum " print 1 2 + 3 * ptop _dat print'
"$m0" -e "[ ; \"$(printf '%s' "$code" | sed 's/"/\\"/g')\" \"data!\" ] _ctm print" >"$tmp/msg"
printf 'data!' >"$tmp/data"
# Known output, not m0 against itself: both must print exactly this.
check messenger-direct "sum 9
data!" "$("$m0" --data "$tmp/data" -e "$code")"
check messenger "sum 9
data!" "$("$m0" --messenger "$tmp/msg")"
# --fund with --messenger on a charged platform: unfunded it would print
# nothing; the deposit goes before the code, and the data field (which
# lives in the file's buffer) is still the file's.
check messenger-funded "sum 9
data!" "$("$m0" --state "$tmp/st" --economy charged --fund 5000 \
    --messenger "$tmp/msg" 2>&1)"
check messenger-bytes "70e7" "$("$m0" -e "[\\0102030405060708\\_ctk \"ABC\" \"xyz\"] _ctm print" | od -An -tx1 | tr -d ' \n' | cut -c1-4)"

# A forever loop ends by the step limit: exit 1, in bounded time.
"$m0" --steps 1000000 -e '1N {} L' >/dev/null 2>&1
check steps-limit 1 $?
# Recursion without end, allocation without end: an MØ error, exit 1.
# (Not { r }: a call in tail position keeps no frame and loops forever.)
"$m0" -e ". 'r { r 1 } : r" >/dev/null 2>"$tmp/err"
check recursion "1 exec_stack_overflow" "$? $(head -1 "$tmp/err" | cut -d' ' -f3)"
"$m0" --heap 1000000 -e 'null 1N { [ X 1000 S ] } L' >/dev/null 2>"$tmp/err"
check allocation "1 implementation_limit" "$? $(head -1 "$tmp/err" | cut -d' ' -f3)"

# Exit statuses: Z outside H is a normal end; usage errors are 2.
"$m0" -e '1 Z 2 ptop' >/dev/null; check stop-is-normal 0 $?
"$m0" -e '1 2' --bogus >/dev/null 2>&1; check usage 2 $?
"$m0" /nonexistent/file.m0 >/dev/null 2>&1; check missing-file 2 $?

# # comments are stripped by the loader, not inside strings.
printf '1 # comment\n"# kept" print # gone\n16#ff# ptop\n' >"$tmp/c.m0"
check comments "# kept255" "$("$m0" "$tmp/c.m0")"

# Syntax errors name FILE:LINE:COL and show the line, before anything
# runs (nothing is printed, exit 2), also inside an #include'd file.
printf '"before" print\n1 2 add\n  { 1 2\n"x" print\n' >"$tmp/syn.m0"
"$m0" "$tmp/syn.m0" >"$tmp/out" 2>"$tmp/err"
check syntax-status "2 0" "$? $(wc -c <"$tmp/out")"
check syntax-place "m0: $tmp/syn.m0:3:3: syntax error: { not closed by }
    { 1 2
    ^" "$(cat "$tmp/err")"
printf '1\n\n# a comment\n#include "syn.m0"\n' >"$tmp/main.m0"
"$m0" "$tmp/main.m0" 2>&1 | head -1 >"$tmp/err"
check syntax-include "m0: $tmp/syn.m0:3:3: syntax error: { not closed by }" "$(cat "$tmp/err")"
printf '1 2\n3 }\n' >"$tmp/b.m0"
check syntax-brace "m0: $tmp/b.m0:2:3: syntax error: } without {" "$("$m0" "$tmp/b.m0" 2>&1 | head -1)"
printf '#include "none.m0"\n' >"$tmp/i.m0"
check include-missing "m0: $tmp/none.m0: No such file or directory
  included from $tmp/i.m0:1" "$("$m0" "$tmp/i.m0" 2>&1)"
# Runtime errors name the operator and object and where in the file:
# the token that ran (for a procedure, the token that called it).
printf '1 2 + ptop\n# c\n  { 1 0 / } !\n' >"$tmp/rt.m0"
"$m0" "$tmp/rt.m0" >/dev/null 2>"$tmp/err"
check runtime-place "1 m0: $tmp/rt.m0:3:13: division_by_zero --/--" "$? $(head -1 "$tmp/err")"
check runtime-e "m0: -e:1:3: undefined foo" "$("$m0" -e '1 foo 2' 2>&1 | head -1)"

# A long name works in the REPL (longdict) but not in a file: a hint.
check longdict-hint "m0: hint: def is in longdict, which the REPL loads; begin with \`longdict (\` to use it here" \
    "$("$m0" -e "'a 1 def" 2>&1 | tail -1)"
# Not a terminal: quit ends the REPL; help is generated from the table.
check repl-quit "3" "$(printf '3 ptop\nquit\n4 ptop\n' | "$m0" 2>&1)"
check repl-help-one 1 "$(printf 'help L\n' | "$m0" | grep -c '^L ')"
check version "m0 (mzero)" "$("$m0" --version | cut -d' ' -f1-2)"

# The reference cannot drift: its operator tables are what m0 generates
# from the operator table, which has a described row for each operator.
ops=$(grep -c '^[[:space:]]*X([A-Z]' "$src/src/mzero/m0_ops.h")
check reference-rows "$ops" "$("$m0" --reference | grep -c '^| `')"
check reference-described 0 "$("$m0" --reference | grep -c '| `` |')"
check reference-md "$("$m0" --reference)" \
    "$(sed -n '/^<!-- ops:begin/,/^<!-- ops:end/p' "$src/docs/reference.md" | sed '1d;$d')"
check reference-man "$("$m0" --reference=man)" \
    "$(sed -n '/^\.\\" ops:begin/,/^\.\\" ops:end/p' "$src/dist/man/m0.7" | sed '1d;$d')"

[ $fails = 0 ]
