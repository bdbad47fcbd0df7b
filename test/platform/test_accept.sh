#!/bin/sh
# Whom a platform takes messengers from, across a real network boundary:
# three network namespaces on one bridge (10.78.0.0/24, made and removed
# here). n1 listens on its bridge address with no `accept` line, so the
# default beyond loopback must be `neighbours`: its neighbour n2 reaches
# it (a ping from n2 comes back), while a stranger's messenger from n3 is
# dropped and counted as not_accepted. Skipped (77) without root or
# network namespaces.
set -u
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip"; exit 77; }
. "$(dirname "$0")/../netns.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/mzero-accept.XXXXXX")
S=mza$$
FAILED=0
cleanup() {
	for i in 1 2 3; do
		[ -f "$T/n$i.pid" ] && kill -9 "$(cat "$T/n$i.pid")" 2>/dev/null
	done
	netns_remove "$S" 3
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
if ! netns_bridge "$S" 3 10.78.0; then
	echo "skip: cannot make network namespaces"
	exit 77
fi
# n1: no accept line (the default under test); n2: its pinned-less
# neighbour, accepting anyone.
printf '[platform]\nlisten = 10.78.0.1:19760\n[neighbours]\nn2 = 10.78.0.2:19760\n' \
    >"$T/n1.conf"
printf '[platform]\naccept = any\nlisten = 10.78.0.2:19760\n[neighbours]\nn1 = 10.78.0.1:19760\n' \
    >"$T/n2.conf"
for i in 1 2; do
	ip netns exec "${S}n$i" "$MDAEMON" -f -c "$T/n$i.conf" -s "$T/n$i" \
	    >"$T/n$i.out" 2>"$T/n$i.log" &
	echo $! >"$T/n$i.pid"
	k=0
	until grep -q "ready:" "$T/n$i.log" 2>/dev/null; do
		k=$((k + 1))
		if [ $k -gt 200 ]; then
			echo "FAIL: daemon n$i did not start"
			cat "$T/n$i.log"
			exit 1
		fi
		sleep 0.05
	done
done
not_accepted() {
	"$M0CTL" -s "$T/n1" --json status | tr ',{}' '\n\n\n' |
	    sed -n 's/.*"not_accepted": *\([0-9]*\).*/\1/p' | head -n 1
}
before=$(not_accepted)
[ -n "$before" ] || { echo "FAIL: no not_accepted counter"; FAILED=1; before=0; }
# The neighbour: a ping from n2 to n1 and back.
printf 'n1' >"$T/n1.name"
out=$(ip netns exec "${S}n2" "$M0INJECT" -t 10.78.0.2:19760 -w 10 --replies 1 \
    --data "$T/n1.name" "$MESSENGERS/ping.m0")
case $out in
*"ping n1: round trip"*) echo "ok: the neighbour n2 is accepted" ;;
*) echo "FAIL: ping n2 -> n1: [$out]"; FAILED=1 ;;
esac
# The stranger: n3 is no neighbour of n1; its hello never runs there.
out=$(ip netns exec "${S}n3" "$M0INJECT" -t 10.78.0.1:19760 -w 2 --idle 2 \
    "$MESSENGERS/hello.m0")
if [ -n "$out" ]; then
	echo "FAIL: a stranger's messenger ran at n1: [$out]"
	FAILED=1
fi
k=0
while [ "$(not_accepted)" -le "$before" ] && [ $k -lt 100 ]; do
	k=$((k + 1))
	sleep 0.05
done
after=$(not_accepted)
if [ "$after" -gt "$before" ]; then
	echo "ok: the stranger was dropped (not_accepted $before -> $after)"
else
	echo "FAIL: not_accepted stayed $after"
	FAILED=1
fi
grep -q "hello: a messenger" "$T/n1.out" &&
    { echo "FAIL: hello printed at n1"; FAILED=1; }
exit $FAILED
