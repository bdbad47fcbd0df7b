#!/bin/sh
# The germ on charged platforms (docs/germ.md, "Money"): three platforms in
# a ring, leases of 6 s. Sponsored (a token in _ 'gpot of every platform):
# the germ answers ready and is still there, with its tick loop, after
# three leases. Unsponsored (only the injection is funded, with 2300
# units): it installs at the injection platform only, and fades when
# that money is spent: no process and none of its entries in _ on any of
# the three, within the documented time.
. "$(dirname "$0")/../platform/lib.sh"
. "$(dirname "$0")/ring.sh"
D=$(dirname "$0")
export RING_CHORDS=1
printf '[money]\neconomy = charged\nstore_lease = 6\n' >"$T/charged.conf"
probe() { # probe I: the germ's entries at p<I>
	"$M0INJECT" -t 127.0.0.1:$((BASE + $1)) -w 5 --replies 1 --fund 100 \
	    -s "$T/p$1" "$D/probe.m0"
}
procs() { # procs I: the number of processes at p<I>
	"$M0CTL" -s "$T/p$1" ps | tail -n +2 | grep -c .
}
ms() { echo $(($(date +%s%N) / 1000000)); }

# sponsored
ring_start 3 -c "$T/charged.conf"
for i in 0 1 2; do
	out=$("$M0INJECT" -t 127.0.0.1:$((BASE + i)) -w 10 --replies 1 --fund 1000000 \
	    -s "$T/p$i" "$MESSENGERS/germ/sponsor.m0")
	expect "sponsor p$i" "^sponsored [0-9]+$" "$out"
done
out=$("$M0INJECT" -t 127.0.0.1:$BASE -w 60 --replies 1 --fund 100000 -s "$T/p0" \
    "$MESSENGERS/germ.m0")
expect "sponsored germ ready" "^germ: ready 3 platforms$" "$out"
t0=$(ms)
while [ $(($(ms) - t0)) -lt 18000 ]; do sleep 1; done # three leases
for i in 0 1 2; do
	expect "sponsored germ stays at p$i" "^germ 1 os 1 " "$(probe $i)"
	[ "$(procs $i)" -ge 1 ] && echo "ok: tick loop at p$i" || fail "no process at p$i"
done
for i in 0 1 2; do kill -9 "$(cat "$T/p$i.pid")"; rm -rf "$T/p$i"; done

# unsponsored: fades within (credit / cost of a tick) + a lease + an epoch
BASE=$((BASE + 10))
ring_start 3 -c "$T/charged.conf"
out=$("$M0INJECT" -t 127.0.0.1:$BASE -w 4 --replies 1 --fund 2300 -s "$T/p0" \
    "$MESSENGERS/germ.m0")
# it can pay for itself at p0 only: no neighbour is incorporated
printf '%s\n' "$out" | grep -q 'ready [2-9]' && fail "unsponsored germ spread: $out"
expect "unsponsored germ installed at p0" "^germ 1 os 1 " "$(probe 0)"
[ "$(procs 0)" -ge 1 ] && echo "ok: its tick loop runs at p0" || fail "no tick loop at p0"
t0=$(ms)
gone=""
while [ $(($(ms) - t0)) -lt 40000 ]; do
	n=0
	for i in 0 1 2; do
		[ "$(procs $i)" = 0 ] && probe $i | grep -q '^germ 0 os 0 pot 0$' && n=$((n + 1))
	done
	if [ $n = 3 ]; then gone=$(($(ms) - t0)); break; fi
	sleep 0.5
done
[ -n "$gone" ] && echo "ok: unsponsored germ faded after $gone ms" ||
    fail "unsponsored germ did not fade: $(for i in 0 1 2; do probe $i; procs $i; done)"
exit $FAILED
