#!/bin/sh
# The README's demo, as a user runs it (without the set-up, on this build):
# it must end well and show what the README promises.
#   test_demo.sh SRCROOT BUILDDIR
set -u
src=$1 build=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$src/scripts/demo" --no-setup "$build" >"$out" 2>&1
rc=$?
fails=0
check() { # description, extended regular expression
	if grep -qE "$2" "$out"; then
		echo "ok $1"
	else
		echo "FAIL $1: no line matching /$2/"
		fails=$((fails + 1))
	fi
}
[ $rc -eq 0 ] || { echo "FAIL demo exited $rc"; fails=$((fails + 1)); }
check "demo.m0 ran" '^== 1\. one platform'
check "a native program ran, or the demo said why not" \
    'the program above ran natively|skipped: no native backend'
check "six platforms found" '^   platforms: 6$'
# the ring a-b-c-d-e-f-a and the chord a-d: 7 links, each seen both ways
links=$(grep -cE '^   [a-f] -> [a-f] +[0-9]+us$' "$out")
if [ "$links" -eq 14 ]; then
	echo "ok 14 directed links with round-trip times"
else
	echo "FAIL $links directed links with round-trip times, not 14"
	fails=$((fails + 1))
fi
check "the germ is ready on all six" '^germ: ready 6 platforms$'
check "the tourist came home" '^     home'
for n in a b c; do
	# minted = held + outstanding + burned + lost, for each platform
	line=$(grep -E "^     $n: minted " "$out")
	if [ -z "$line" ]; then
		echo "FAIL book of $n not shown"; fails=$((fails + 1)); continue
	fi
	set -- $(echo "$line" | tr -c '0-9\n' ' ')
	if [ $# -eq 5 ] && [ "$1" -eq $(($2 + $3 + $4 + $5)) ] && [ "$1" -gt 0 ]; then
		echo "ok book of $n balances: $line"
	else
		echo "FAIL book of $n: $line"; fails=$((fails + 1))
	fi
done
[ $fails -eq 0 ] || { echo "--- demo output"; cat "$out"; }
exit $((fails != 0))
