#!/bin/sh
# Preinstalled native resources (docs/germ.md): five platforms in a ring,
# one germ. The personality and busybox are installed once at p2 (with the
# name "natsvc"); a messenger from p0 goes there with `go`, instantiates
# busybox `echo hi` without carrying it, and comes back with the result
# [STATUS OUT ERR] = [0 "hi\n" ""]. Then the stand-in of lib/os.m0 (no
# germ) answers instantiate with null.
. "$(dirname "$0")/../platform/lib.sh"
. "$(dirname "$0")/ring.sh"
D=$(dirname "$0")
BB=/bin/busybox
[ -x $BB ] || { echo "no $BB (busybox-static): skipped"; exit 77; }
export RING_CHORDS=1
# busybox (2 MB) travels over TCP once, to be installed
printf '[limits]\nmax_msg = 16m\nheap_quota = 256m\n' >"$T/big.conf"
ring_start 5 -c "$T/big.conf"
out=$("$M0INJECT" -t 127.0.0.1:$BASE -w 60 --replies 1 "$MESSENGERS/germ.m0")
expect "germ ready" "^germ: ready 5 platforms$" "$out"
out=$("$M0INJECT" -t 127.0.0.1:$((BASE + 2)) --tcp -w 30 --replies 1 --data $BB \
    "$D/install.m0")
expect "installed at p2" "^installed$" "$out"
# the name floods in a few message delays: up to 3 tries (go is best effort)
for k in 1 2 3; do
	out=$("$M0INJECT" -t 127.0.0.1:$BASE -w 20 --replies 1 "$D/instantiate.m0")
	case "$out" in ran*) break ;; esac
	sleep 1
done
expect "busybox echo hi at p2, from p0" '^ran \[0"hi\\x0a"""\]$' "$out"
# a platform without the germ: the stand-in answers null

start q0 $((BASE + 9))
out=$("$M0INJECT" -t 127.0.0.1:$((BASE + 9)) -w 10 --replies 1 "$D/nonative.m0")
expect "no OS: instantiate gives null" "^null$" "$out"
exit $FAILED
