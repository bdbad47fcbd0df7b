#!/bin/sh
# demo_explore.sh: five platforms on loopback in a ring with a chord
# (a-b-c-d-e-a and a-c), explored by explore.m0 from a. Prints the
# topology it found and writes it as Graphviz DOT to topology.dot (or
# $1), then stops the daemons.
#   test/platform/demo_explore.sh [DOTFILE]    (after scripts/build)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${MZERO_BIN:-$root/build/release/tools}
MDAEMON=$bin/mdaemon M0INJECT=$bin/m0inject MESSENGERS=$root/messengers
export MDAEMON M0INJECT MESSENGERS
out=${1:-topology.dot}
. "$here/lib.sh"
pa=$BASE pb=$((BASE + 1)) pc=$((BASE + 2)) pd=$((BASE + 3)) pe=$((BASE + 4))
n() { echo "-N $1=127.0.0.1:$2"; }
echo "starting a..e on 127.0.0.1:$pa..$pe: ring a-b-c-d-e-a, chord a-c"
start a $pa $(n b $pb) $(n e $pe) $(n c $pc)
start b $pb $(n a $pa) $(n c $pc)
start c $pc $(n b $pb) $(n d $pd) $(n a $pa)
start d $pd $(n c $pc) $(n e $pe)
start e $pe $(n d $pd) $(n a $pa)
echo "injecting explore.m0 at a"
"$M0INJECT" -t 127.0.0.1:$pa --idle 3 --replies 1 "$MESSENGERS/explore.m0" >"$out"
# Platforms by address, links with their round trips.
awk -F'"' '
!/ -> / && /label=/ { name[$2] = $4 }
/ -> / { from[++n] = $2; to[n] = $4; rtt[n] = $6 }
END {
	for (h in name) count++
	printf "found %d platforms, %d links:\n", count, n
	for (i = 1; i <= n; i++)
		printf "  %-16s -> %-16s %s\n", name[from[i]],
		    (to[i] in name) ? name[to[i]] : to[i], rtt[i]
}' "$out"
echo "wrote $out"
for x in a b c d e; do stop $x; done
