#!/bin/sh
# bench/germ/routes.sh BUILDDIR [N]: the picture of the routes a germ
# built (docs/img/germ-routes.dot and .png): N platforms (default 40) on
# loopback in a ring with chords, one germ, then messengers/germ/dot.m0 at
# p0; nodes are relabelled p<i> from their ports.
set -u
B=$1 N=${2:-40}
export MDAEMON=$B/tools/mdaemon M0INJECT=$B/tools/m0inject
H=$(cd "$(dirname "$0")/../.." && pwd)
export MESSENGERS=$H/messengers
. "$H/test/platform/lib.sh"
. "$H/test/germ/ring.sh"
BASE=11000
ring_start $N
"$M0INJECT" -t 127.0.0.1:$BASE -w 120 --replies 1 "$MESSENGERS/germ.m0"
"$M0INJECT" -t 127.0.0.1:$BASE -w 60 --replies $N "$MESSENGERS/germ/dot.m0" >"$T/lines"
{
	echo 'digraph germ {'
	echo '  graph [layout=neato overlap=false splines=true label="routes toward p0 built by one germ: ring of '$N' with chords i±1, i±6 (delay us / hops)"];'
	echo '  node [shape=circle fontsize=10]; edge [fontsize=8];'
	awk -v base=$BASE '{ while (match($0, /label="[0-9]+"\]/)) {
		p = substr($0, RSTART + 7, RLENGTH - 9)
		$0 = substr($0, 1, RSTART - 1) "label=\"p" (p - base) "\"]" substr($0, RSTART + RLENGTH) }
		print "  " $0 }' "$T/lines"
	echo '}'
} >"$H/docs/img/germ-routes.dot"
dot -Tpng "$H/docs/img/germ-routes.dot" -o "$H/docs/img/germ-routes.png"
echo "$(grep -c ' -> ' "$H/docs/img/germ-routes.dot") routes drawn"
