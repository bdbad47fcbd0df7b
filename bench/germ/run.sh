#!/bin/sh
# bench/germ/run.sh BUILDDIR N [PER_US]: time to `ready` and messages per
# platform for the germ on N platforms on this machine (loopback, a ring
# with chords i±1, i±6), against the algorithm's own bound; then the time
# to heal after the first platform on p0's route to p(N/2) is killed.
# Prints one line (and a partial one before the heal; NOHEAL=1 stops there):
#   germ N=.. per=..us ready_ms=.. bound_ms=.. ratio=.. msgs_per_platform=..
#        msgs_bound=.. heal_ms=.. heal_bound_ms=.. rss_mib=..
# The bound (docs/germ.md): ready <= D + 4 ticks, where D is the diameter
# in hops (computed here from the graph); heal <= dead + lag + 3 ticks. Messages per platform: every
# messenger received (rx of the daemons' counters) over N.
set -u
B=$1 N=$2 PER=${3:-500000}
export MDAEMON=$B/tools/mdaemon M0INJECT=$B/tools/m0inject
H=$(cd "$(dirname "$0")/../.." && pwd)
export MESSENGERS=$H/messengers
MZERO_TESTDIR=$H/test
. "$H/test/platform/lib.sh"
. "$H/test/germ/ring.sh"
# N ports of their own (lib.sh claimed 100 of them; tests claim theirs)
port_release
port_span "$N" || exit 1
trap "cleanup; exit 1" INT TERM # (lib.sh cleans up, but would go on)
ms() { echo $(($(date +%s%N) / 1000000)); }
# the diameter of the ring with chords, in hops (breadth-first search)
D=$(awk -v n=$N -v c="${RING_CHORDS:-1 6}" 'BEGIN {
	no = split(c, cs, " "); for (k = 1; k <= no; k++) { o[2*k-1] = cs[k]; o[2*k] = -cs[k] }
	for (s = 0; s < n; s++) {
		delete d; d[s] = 0; q[0] = s; h = 0; t = 1
		while (h < t) { u = q[h++]
			for (k = 1; k <= 2 * no; k++) { v = ((u + o[k]) % n + n) % n
				if (!(v in d)) { d[v] = d[u] + 1; q[t++] = v } } }
		for (v in d) if (d[v] > m) m = d[v]
		if (n > 200) break   # vertex-transitive: one source is enough
	}
	print m }')
ring_start $N
printf "'per %s df 'dead 4 df\n" $PER >"$T/cfg"
t0=$(ms)
out=$("$M0INJECT" -t 127.0.0.1:$BASE -w 1200 --replies 1 --data "$T/cfg" "$MESSENGERS/germ.m0")
t1=$(ms)
case "$out" in "germ: ready $N platforms") ;; *) echo "germ N=$N: no ready: $out"; exit 1 ;; esac
ready=$((t1 - t0))
rx=0
for i in $(seq 0 $((N - 1))); do kill -USR1 "$(cat "$T/p$i.pid")"; done
t2=$(ms)
for i in $(seq 0 $((N - 1))); do
	k=0
	until grep -q 'stats:' "$T/p$i.log" || [ $k -ge 100 ]; do k=$((k + 1)); sleep 0.1; done
	r=$(grep 'stats:' "$T/p$i.log" | tail -n 1 | tr ' ' '\n' | sed -n 's/^rx=//p')
	rx=$((rx + ${r:-0}))
done
rss=$(ps -o rss= -p "$(cat "$T/p1.pid")")
ticks=$((((t2 - t0) * 1000 + PER - 1) / PER))   # until the counters were asked for
# bound in time (docs/germ.md): D + 4 ticks (the wave, the first vector
# and its answer, then one hop of routes per tick, the report at once)
bound=$(((D + 4) * PER / 1000))
# messages received per platform: per link at most ex, ec, jn, sz, fu
# (5), and a vector and an answer per link per tick
deg=$((2 * $(echo ${RING_CHORDS:-1 6} | wc -w)))
mbound=$((5 * deg + 2 * deg * ticks))
echo "germ N=$N ready: ready_ms=$ready msgs_per_platform=$((rx / N)) (partial line)"
[ "${NOHEAL:-0}" = 1 ] && exit 0
# heal: kill the first hop of p0's route to p(N/2), time until a go there
# and back works again
D2=$H/test/germ
printf svc >"$T/data"
"$M0INJECT" -t 127.0.0.1:$((BASE + N / 2)) -w 30 --replies 1 --data "$T/data" "$D2/register.m0" >/dev/null
k=0
until a=$("$M0INJECT" -t 127.0.0.1:$BASE -w 5 --replies 1 --data "$T/data" "$D2/route.m0" |
    sed -n 's/^route svc \["p\([0-9]*\)"_ctn.*/\1/p') && [ -n "$a" ] || [ $k -ge 60 ]; do
	k=$((k + 1))
	sleep 0.5
done
kill -9 "$(cat "$T/p$a.pid")"
tk=$(ms)
heal=never
while [ $(($(ms) - tk)) -lt $((40 * PER / 1000 + 60000)) ]; do
	if "$M0INJECT" -t 127.0.0.1:$BASE -w $((PER * 4 / 1000000 + 1)) --replies 2 --data "$T/data" \
	    "$D2/roundtrip.m0" | grep -q '^back from'; then
		heal=$(($(ms) - tk))
		break
	fi
done
hbound=$(((4 + 3 + 3) * PER / 1000))   # dead + lag + 3 ticks
echo "germ N=$N chords=${RING_CHORDS:-1 6} D=$D per=${PER}us ready_ms=$ready bound_ms=$bound ratio=$(echo "scale=2; $ready / $bound" | bc) msgs_per_platform=$((rx / N)) msgs_bound=$mbound heal_ms=$heal heal_bound_ms=$hbound rss_kib=$rss"
