#!/bin/sh
# Language benchmark: MØ (m0, metering on, as always) against Ghostscript
# (PostScript, MØ's ancestor) and Lua 5.4 on the same machine in the same
# run. Each program runs 5 times, interleaved; the median wall time is
# compared. Prints seconds and the ratios m0/gs and m0/lua.
# Two sets of programs: bound ones (fib, loop: the procedures bound with
# `B` as PostScript code would be) and unbound ones as ordinary MØ is
# written (issue 11): fibu and loopu are fib and loop without `B`, sieve
# is a sieve of Eratosthenes over a 2,000,000-element array with its
# variables in the local dict (`'x v df`), words a word count of
# 1,000,000 dict updates. Each is also in PostScript and in Lua 5.4 as a
# user of those languages would write it (Lua with locals).
# Charging (issue 5), for the bound programs: each round also runs m0 on a charged platform
# (--state, a fresh state dir on tmpfs per run, --economy charged, --fund
# 10^8 units: 10^11 steps at a step price of 1000) and, for its fixed
# cost, `-e 1` free and charged (opening a new identity and ledger, one
# synced mint, the deposit). Prints charged/free of the medians, raw and with that
# start-up cost subtracted, and the median of 10 pairwise ratios (each
# charged run over the free run next to it, both orders), which other
# load on the machine disturbs less.
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
shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm=/tmp
charged() { # m0 on a charged platform with a fresh state dir
	d=$(mktemp -d "$shm/mz-bench.XXXXXX")
	rc=0
	"$m0" --state "$d/s" --economy charged --fund 100000000 "$@" || rc=$?
	rm -rf "$d"
	return $rc
}
# m0 options of one program: the sieve's array needs a larger heap
opts() { case $1 in sieve) echo "--heap 67108864" ;; esac; }
for prog in fibu loopu sieve words; do
	: >/tmp/mz.$prog.m0; : >/tmp/mz.$prog.gs; : >/tmp/mz.$prog.lua
	i=0
	while [ $i -lt $runs ]; do
		# shellcheck disable=SC2046
		t "$m0" $(opts $prog) "$here/$prog.m0" >>/tmp/mz.$prog.m0
		t gs -q -dNODISPLAY -dBATCH -dNOSAFER "$here/$prog.ps" >>/tmp/mz.$prog.gs
		t lua5.4 "$here/$prog.lua" >>/tmp/mz.$prog.lua
		i=$((i + 1))
	done
	m=$(median </tmp/mz.$prog.m0)
	g=$(median </tmp/mz.$prog.gs)
	l=$(median </tmp/mz.$prog.lua)
	printf '%-5s m0 %.3fs  gs %.3fs  lua %.3fs  m0/gs %.2f  m0/lua %.2f  (unbound)\n' \
	    "$prog" "$m" "$g" "$l" "$(echo "$m / $g" | bc -l)" \
	    "$(echo "$m / $l" | bc -l)"
	rm -f /tmp/mz.$prog.*
done
for prog in fib loop; do
	: >/tmp/mz.$prog.m0; : >/tmp/mz.$prog.gs; : >/tmp/mz.$prog.lua
	: >/tmp/mz.$prog.chg; : >/tmp/mz.$prog.e1f; : >/tmp/mz.$prog.e1c
	: >/tmp/mz.$prog.pr
	# a charged run must compute the same (not be removed for credit)
	[ "$(charged "$here/$prog.m0")" = "$("$m0" "$here/$prog.m0")" ] ||
		{ echo "$prog: charged m0 output differs" >&2; exit 1; }
	i=0
	while [ $i -lt $runs ]; do
		f1=$(t "$m0" "$here/$prog.m0")
		echo "$f1" >>/tmp/mz.$prog.m0
		c1=$(t charged "$here/$prog.m0")
		echo "$c1" >>/tmp/mz.$prog.chg
		c2=$(t charged "$here/$prog.m0")
		f2=$(t "$m0" "$here/$prog.m0")
		echo "$c1 / $f1" | bc -l >>/tmp/mz.$prog.pr
		echo "$c2 / $f2" | bc -l >>/tmp/mz.$prog.pr
		t "$m0" -e 1 >>/tmp/mz.$prog.e1f
		t charged -e 1 >>/tmp/mz.$prog.e1c
		t gs -q -dNODISPLAY -dBATCH -dNOSAFER "$here/$prog.ps" >>/tmp/mz.$prog.gs
		t lua5.4 "$here/$prog.lua" >>/tmp/mz.$prog.lua
		i=$((i + 1))
	done
	m=$(median </tmp/mz.$prog.m0)
	g=$(median </tmp/mz.$prog.gs)
	l=$(median </tmp/mz.$prog.lua)
	printf '%-5s m0 %.3fs  gs %.3fs  lua %.3fs  m0/gs %.2f  m0/lua %.2f  (bound)\n' \
	    "$prog" "$m" "$g" "$l" "$(echo "$m / $g" | bc -l)" \
	    "$(echo "$m / $l" | bc -l)"
	c=$(median </tmp/mz.$prog.chg)
	ef=$(median </tmp/mz.$prog.e1f)
	ec=$(median </tmp/mz.$prog.e1c)
	fx=$(echo "$ec - $ef" | bc -l)
	pr=$(median </tmp/mz.$prog.pr)
	printf '%-5s charged %.3fs  free %.3fs  charged/free %.3f raw, ' \
	    "$prog" "$c" "$m" "$(echo "$c / $m" | bc -l)"
	printf '%.3f start-up subtracted; pairwise %.3f raw, %.3f subtracted\n' \
	    "$(echo "($c - $fx) / $m" | bc -l)" "$pr" \
	    "$(echo "$pr - $fx / $m" | bc -l)"
	printf '%-5s start-up (-e 1): free %.1fms, charged %.1fms, ' \
	    "$prog" "$(echo "$ef * 1000" | bc -l)" "$(echo "$ec * 1000" | bc -l)"
	printf 'fixed cost of charging %.1fms\n' "$(echo "$fx * 1000" | bc -l)"
	rm -f /tmp/mz.$prog.*
done
if [ -x "$build/bench/lang/bench_proc" ]; then
	"$build/bench/lang/bench_proc"
fi
