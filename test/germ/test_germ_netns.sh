#!/bin/sh
# The germ across network namespaces: six platforms, each in a namespace
# of its own on one bridge (10.78.0.0/24, the bridge in a seventh
# namespace), in a ring (each has its two ring neighbours, by address).
# One injection answers "germ: ready 6 platforms", a name registered at
# n4 (3 hops from n1) is looked up at n1 and `go` gets there and back.
# The test makes and removes its namespaces itself; it is skipped (77)
# without root or network namespaces.
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
command -v ip >/dev/null || { echo "skip: no ip"; exit 77; }
. "$(dirname "$0")/../platform/lib.sh"
. "$(dirname "$0")/ring.sh"
. "$(dirname "$0")/../netns.sh"
D=$(dirname "$0")
S=mg$$
N=6
netns_cleanup() {
	cleanup
	netns_remove "$S" $N
}
trap netns_cleanup EXIT INT TERM
if ! netns_bridge "$S" $N 10.78.0; then
	echo "skip: cannot make network namespaces"
	exit 77
fi
for i in $(seq 1 $N); do
	l=$(((i + N - 2) % N + 1)) r=$((i % N + 1))
	printf '[platform]\naccept = any\nlisten = 10.78.0.%s:19760\n[neighbours]\nn%s = 10.78.0.%s:19760\nn%s = 10.78.0.%s:19760\n' \
	    $i $l $l $r $r >"$T/n$i.conf"
	ip netns exec "${S}n$i" "$MDAEMON" -f -c "$T/n$i.conf" -s "$T/n$i" \
	    >"$T/n$i.out" 2>"$T/n$i.log" &
	echo $! >"$T/n$i.pid"
	PIDS="$PIDS $!"
done
for i in $(seq 1 $N); do wait_ready n$i; done
# at I: runs a test messenger at namespace I with NAME as data
at() {
	printf %s "$2" >"$T/data"
	ip netns exec "${S}n$1" "$M0INJECT" -t 10.78.0.$1 -w ${W:-10} \
	    --replies $4 --data "$T/data" "$D/$3"
}
out=$(ip netns exec "${S}n1" "$M0INJECT" -t 10.78.0.1 -w 60 --replies 1 \
    "$MESSENGERS/germ.m0")
expect "germ ready across namespaces" "^germ: ready $N platforms$" "$out"
expect "register at n4" "^registered svc at " "$(at 4 svc register.m0 1)"
k=0
until out=$(W=2 at 1 svc route.m0 1) && printf '%s\n' "$out" | grep -q '3\]$' ||
    [ $k -ge 20 ]; do
	k=$((k + 1))
done
expect "route n1 -> n4: 3 hops" '^route svc \["n[26]"_ctn ?[0-9]+ 3\]$' "$out"
expect "go n1 -> n4 -> n1" '^back from ' "$(at 1 svc roundtrip.m0 2)"
exit $FAILED
