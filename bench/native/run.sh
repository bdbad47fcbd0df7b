#!/bin/sh
# Native code benchmarks, each against its peer in the same run; the
# figures of issue 12 are medians over R interleaved rounds (the machine
# is shared, so one run says little):
#  - a system call served by the messenger: guest/getpid under
#    messengers/linux.m0 (m0run, N calls against 0 calls, so start-up
#    cancels), against the raw syscall exit round trip of the same backend
#    in C (bench_kvm_exit, with a 2 ms budget as a messenger's slice has),
#    the platform's part alone (syscall.m0: _nrn + _nsy, no personality)
#    and getpid on the host (the same binary run natively);
#  - a context's cycle: cold (create + run hello) against pooled (acquire
#    + run hello + reset), through the messenger operators (pool.m0) and
#    in C (bench_kvm_backend, create + run + free against the pool);
#  - read-bound and compute-bound guests against the same binary natively
#    (busybox sha256sum of 64 MiB, busybox awk), when busybox-static is
#    installed; the read-bound one also with start-up cancelled (each
#    side less `busybox true` with the same tree, in the same round): the
#    reads themselves, which read passthrough gives to the host kernel;
#  - once: the messenger `out` round trip against the raw one, and the
#    prime sieve natively (guest/primes under linux.m0) against MØ.
#   bench/native/run.sh [BUILDDIR] [ROUNDS]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/release}
rounds=${2:-5}
b=$build/bench/kvm
m0run=$build/tools/m0run
getpid=$build/guest/getpid
hello=$build/guest/hello
n=10000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
backend=$("$b/bench_kvm_backend" "$hello" 1) || {
	echo "no native backend: skipped"; exit 0; }
echo "$backend" | sed 's/^/backend     /'

now() { date +%s%N; }
# wall µs of a command, output discarded
t() { s=$(now); "$@" >/dev/null </dev/null; e=$(now); echo $(((e - s) / 1000)); }
med() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# median of one column of $tmp/FILE
col() { med <"$tmp/$1"; }
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }

bb=$(command -v busybox || true)
if [ -n "$bb" ] && ! file -L "$bb" | grep -q 'statically linked'; then
	bb=""
fi
if [ -n "$bb" ]; then
	mkdir -p "$tmp/root/data"
	head -c 8388608 /dev/urandom >"$tmp/root/data/big"
	set -- data/big data/big data/big data/big data/big data/big data/big data/big
fi

i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	# served getpid, per call (µs): N calls against none
	a=$(t "$m0run" "$getpid" 0)
	z=$(t "$m0run" "$getpid" "$n")
	echo "$a $z $n" | awk '{printf "%.1f\n", ($2 - $1) / $3}' >>"$tmp/served"
	"$b/bench_kvm_exit" 10000 syscall |
	    awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "ns/trip") printf "%.1f\n", $i / 1000}' >>"$tmp/raw"
	"$build/tools/m0" "$here/syscall.m0" | awk '{print $1}' >>"$tmp/plat"
	a=$(t "$getpid" 0)
	z=$(t "$getpid" 400000)
	echo "$a $z" | awk '{printf "%.3f\n", ($2 - $1) / 400000}' >>"$tmp/native"
	# a context's cycle through the messenger operators
	"$build/tools/m0" --data "$hello" "$here/pool.m0" >"$tmp/p"
	awk '{print $1}' "$tmp/p" >>"$tmp/pcold"
	awk '{print $5}' "$tmp/p" >>"$tmp/ppool"
	"$b/bench_kvm_backend" "$hello" 1 >"$tmp/k"
	awk '/hello in a context/ {print $11}' "$tmp/k" >>"$tmp/kcold"
	awk '/hello in a context/ {print $19}' "$tmp/k" >>"$tmp/kpool"
	if [ -n "$bb" ]; then
		sg=$(t "$m0run" -C "$tmp/root" "$bb" sha256sum "$@")
		sg0=$(t "$m0run" -C "$tmp/root" "$bb" true)
		sn=$(cd "$tmp/root" && t "$bb" sha256sum "$@")
		sn0=$(cd "$tmp/root" && t "$bb" true)
		echo "$sg" >>"$tmp/shag"
		echo "$sn" >>"$tmp/shan"
		echo "$sg0" >>"$tmp/shag0"
		echo $((sg - sg0)) >>"$tmp/shagd"
		echo $((sn - sn0)) >>"$tmp/shand"
		t "$m0run" "$bb" awk 'BEGIN{for(i=0;i<3000000;i++)s+=i}' >>"$tmp/awkg"
		t "$bb" awk 'BEGIN{for(i=0;i<3000000;i++)s+=i}' >>"$tmp/awkn"
	fi
done

echo "medians of $rounds interleaved rounds:"
s=$(col served) r=$(col raw) p=$(col plat) h=$(col native)
echo "syscall     served getpid (linux.m0) $s us   raw exit (C, 2 ms budget) $r us" \
    "  served/raw $(ratio "$s" "$r")   platform only (_nrn+_nsy) $p us" \
    "  host getpid $h us   served/host $(ratio "$s" "$h")"
# LABEL WHAT FILE1 NAME1 FILE2 NAME2 UNIT DIV: medians of two files and
# their ratio (UNIT after each figure divided by DIV)
pair() {
	x=$(col "$3") y=$(col "$5")
	echo "$1 $2: $4 $(echo "$x $8" | awk '{printf "%.0f", $1 / $2}') $7" \
	    "  $6 $(echo "$y $8" | awk '{printf "%.0f", $1 / $2}') $7   $4/$6 $(ratio "$x" "$y")"
}
pair "pool       " "messenger" pcold cold ppool pooled us 1
pair "pool       " "C (bench_kvm_backend)" kcold cold kpool pooled us 1
if [ -n "$bb" ]; then
	pair "read-bound " "busybox sha256sum of 64 MiB" shag m0run shan native ms 1000
	pair "read-bound " "the same less start-up (m0run true $(($(col shag0) / 1000)) ms)" \
	    shagd m0run shand native ms 1000
	pair "compute    " "busybox awk, 3e6 additions" awkg m0run awkn native ms 1000
else
	echo "read-bound  busybox-static not installed: skipped"
fi

raw=$("$b/bench_kvm_exit" 2000 | awk '/no budget/ && /out/ {print $7; exit}')
msg=$("$build/tools/m0" "$here/roundtrip.m0" | awk '{print $1}')
echo "round trip  raw out exit ${raw} ns   messenger _nrn ${msg} us" \
    "  messenger/raw $(ratio "$((msg * 1000))" "$raw")"
nat=$(t "$build/tools/m0" --data "$build/guest/primes" "$root/messengers/linux.m0")
mz=$(t "$build/tools/m0" "$here/sieve.m0")
echo "sieve       primes below 10,000,000: native (linux.m0) $((nat / 1000)) ms" \
    "  MØ $((mz / 1000)) ms   MØ/native $(ratio "$mz" "$nat")"
