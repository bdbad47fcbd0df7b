#!/bin/sh
# Runs one MØ script test: m0 FILE, then compares stdout with FILE's
# .out twin and the exit status with a "# exit: N" line (default 0).
# A "# args: ..." line passes extra m0 options (e.g. --data FILE).
# Standard error must match FILE's .err twin (with the test directory
# taken out of paths), or be empty when there is none: error names and
# places are part of what a test checks.
m0=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
t=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$(dirname "$t")
base=${t%.m0}
want_rc=$(sed -n 's/^# exit: *\([0-9]*\).*/\1/p' "$t" | head -n 1)
[ -n "$want_rc" ] || want_rc=0
args=$(sed -n 's/^# args: *//p' "$t" | head -n 1)
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err" "$err.rel"' EXIT
(cd "$dir" && timeout 60 "$m0" $args "$t") >"$out" 2>"$err"
rc=$?
fail=0
if [ "$rc" != "$want_rc" ]; then
	echo "exit status $rc, want $want_rc"
	fail=1
fi
if ! diff -u "$base.out" "$out"; then
	fail=1
fi
sed "s|$dir/||g" "$err" >"$err.rel"
if [ -f "$base.err" ]; then
	if ! diff -u "$base.err" "$err.rel"; then
		echo "(stderr differs from $(basename "$base").err)"
		fail=1
	fi
elif [ -s "$err" ]; then
	echo "unexpected stderr (no $(basename "$base").err):"
	fail=1
fi
if [ $fail != 0 ]; then
	echo "--- stderr:"
	cat "$err"
fi
exit $fail
