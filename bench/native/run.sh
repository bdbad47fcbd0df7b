#!/bin/sh
# Native code benchmarks, each against its peer in the same run:
#  - a messenger's native call round trip (MØ -> guest -> exit -> MØ)
#    against the raw KVM exit round trip measured in C (bench_kvm_exit);
#  - cold context creation against pooled reuse (bench_kvm_pool);
#  - the prime sieve natively (guest/primes under linux.m0) against the
#    same sieve written in MØ (sieve.m0);
#  - for the active backend (KVM, or ptrace without /dev/kvm): a guest's
#    getpid served by the host against getpid on the host, and a pooled
#    context cycle (acquire + run hello + reset) against a cold one
#    (bench_kvm_backend).
#   bench/native/run.sh BUILDDIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build/release}
backend=$("$build/bench/kvm/bench_kvm_backend" "$build/guest/hello" 2) || {
	echo "no native backend: skipped"; exit 0; }
echo "$backend" | sed 's/^/backend     /'
raw=$("$build/bench/kvm/bench_kvm_exit" 2000 | awk '/no budget/ && /out/ {print $7; exit}')
msg=$("$build/tools/m0" "$here/roundtrip.m0" | awk '{print $1}')
echo "round trip  raw exit ${raw} ns   messenger _nrn ${msg} us" \
    "  messenger/raw $(echo "$msg * 1000 / $raw" | bc -l | cut -c1-4)"
"$build/bench/kvm/bench_kvm_pool" 50 | sed 's/^/pool        /'
t() { s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
nat=$(t "$build/tools/m0" --data "$build/guest/primes" "$root/messengers/linux.m0")
mz=$(t "$build/tools/m0" "$here/sieve.m0")
echo "sieve       primes below 10,000,000: native (linux.m0) ${nat} ms" \
    "  MØ ${mz} ms   MØ/native $(echo "$mz / $nat" | bc -l | cut -c1-5)"
