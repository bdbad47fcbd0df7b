#!/bin/sh
# Four platforms, each in a network namespace of its own on one bridge
# (10.77.0.0/24, the bridge in a fifth namespace), all on port 19760 of
# 0.0.0.0: discover.m0 must find every one of them by broadcast. The test
# makes and removes its namespaces itself; it is skipped (77) without
# root or network namespaces.
set -u
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip"; exit 77; }
. "$(dirname "$0")/../netns.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/mzero-netns.XXXXXX")
S=mz$$
N=4
FAILED=0
cleanup() {
	for i in $(seq 1 $N); do
		[ -f "$T/n$i.pid" ] && kill -9 "$(cat "$T/n$i.pid")" 2>/dev/null
	done
	netns_remove "$S" $N
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
if ! netns_bridge "$S" $N 10.77.0; then
	echo "skip: cannot make network namespaces"
	exit 77
fi
printf '[platform]\naccept = any\nlisten = 0.0.0.0:19760\n' >"$T/any.conf"
for i in $(seq 1 $N); do
	ip netns exec "${S}n$i" "$MDAEMON" -f -c "$T/any.conf" -s "$T/n$i" \
	    >"$T/n$i.out" 2>"$T/n$i.log" &
	echo $! >"$T/n$i.pid"
done
for i in $(seq 1 $N); do
	k=0
	until grep -q "ready:" "$T/n$i.log" 2>/dev/null; do
		k=$((k + 1))
		if [ $k -gt 100 ]; then
			echo "FAIL: daemon $i did not start"
			cat "$T/n$i.log"
			exit 1
		fi
		sleep 0.05
	done
done
found=$(ip netns exec "${S}n1" "$M0INJECT" --idle 2 "$MESSENGERS/discover.m0" |
    sort -u)
printf '%s\n' "$found"
count=$(printf '%s\n' "$found" | grep -c '^platform [0-9a-f]\{16\}$')
if [ "$count" = $N ]; then
	echo "ok: broadcast found all $N platforms"
else
	echo "FAIL: broadcast found $count platforms, not $N"
	FAILED=1
fi
# Each platform is reachable across the bridge by unicast too.
out=$(ip netns exec "${S}n2" "$M0INJECT" -w 10 --replies 1 -t 10.77.0.4 "$MESSENGERS/hello.m0")
if printf '%s\n' "$out" | grep -q '^hello from \[0 19760\]$'; then
	echo "ok: hello across the bridge"
else
	echo "FAIL: hello across the bridge: $out"
	FAILED=1
fi
for i in $(seq 1 $N); do
	kill -TERM "$(cat "$T/n$i.pid")"
done
for i in $(seq 1 $N); do
	k=0
	until grep -q stopped "$T/n$i.log" || [ $k -ge 100 ]; do
		k=$((k + 1))
		sleep 0.1
	done
	grep -q stopped "$T/n$i.log" || { echo "FAIL: daemon $i did not stop within 10 s"; FAILED=1; }
done
exit $FAILED
