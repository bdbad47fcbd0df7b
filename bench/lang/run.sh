#!/bin/sh
# Language benchmark: MØ (m0, metering on, as always) against Ghostscript
# (PostScript, MØ's ancestor) and Lua 5.4 on the same machine in the same
# run. Each program runs 5 times, interleaved; the median wall time is
# compared. Prints seconds and the ratios m0/gs and m0/lua.
#   bench/lang/run.sh BUILDDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
m0=$build/tools/m0
MZERO_BENCH=1 "$here/../../scripts/deps"
runs=5
t() { # prints seconds of one run of "$@"
	s=$(date +%s.%N)
	"$@" >/dev/null
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for prog in fib loop; do
	: >/tmp/mz.$prog.m0; : >/tmp/mz.$prog.gs; : >/tmp/mz.$prog.lua
	i=0
	while [ $i -lt $runs ]; do
		t "$m0" "$here/$prog.m0" >>/tmp/mz.$prog.m0
		t gs -q -dNODISPLAY -dBATCH -dNOSAFER "$here/$prog.ps" >>/tmp/mz.$prog.gs
		t lua5.4 "$here/$prog.lua" >>/tmp/mz.$prog.lua
		i=$((i + 1))
	done
	m=$(median </tmp/mz.$prog.m0)
	g=$(median </tmp/mz.$prog.gs)
	l=$(median </tmp/mz.$prog.lua)
	printf '%-5s m0 %.3fs  gs %.3fs  lua %.3fs  m0/gs %.2f  m0/lua %.2f\n' \
	    "$prog" "$m" "$g" "$l" "$(echo "$m / $g" | bc -l)" \
	    "$(echo "$m / $l" | bc -l)"
	rm -f /tmp/mz.$prog.*
done
if [ -x "$build/bench/lang/bench_proc" ]; then
	"$build/bench/lang/bench_proc"
fi
