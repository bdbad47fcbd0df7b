#!/bin/sh
# Money benchmarks through the platform (issue 5, acceptance item 3).
# Each compares with its peers in the same run and prints ratios; these
# are benchmarks, not tests (docs/money.md, "Platform benchmarks").
#   bench/money/run.sh BUILDDIR
# DISK (default /tmp) names a directory on a real disk for the ledger.
# Metering overhead (charged vs free m0 on the language benchmarks) is in
# bench/lang/run.sh BUILDDIR, lines "charged/free".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
b=$build/bench/money
disk=${DISK:-/tmp}
shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm=/tmp
for x in bench_pf_deposit bench_pf_share; do
	[ -x "$b/$x" ] || { echo "no $b/$x: build first" >&2; exit 2; }
done
echo "== deposits: 64 messengers calling _dep, vs raw verify (tmpfs)"
"$b/bench_pf_deposit" "$shm" 40000 64 5
echo
echo "== deposits: the same with the ledger on a disk ($disk)"
"$b/bench_pf_deposit" "$disk" 40000 64 5
echo
echo "== CPU shares by payment, step price held (1 s x 3 rounds per case)"
"$b/bench_pf_share" "$shm" 1 3
echo
echo "== CPU shares with the daemon's 1 s price epoch (10 s per case)"
"$b/bench_pf_share" "$shm" 10 1 1000 || true
echo
echo "metering overhead: bench/lang/run.sh $build (charged/free lines)"
