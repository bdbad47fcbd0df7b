#!/bin/sh
# Native code under messenger control (issue 4, docs/native.md): every
# exit kind and map operator from MØ, the Linux personality messenger
# running musl programs locally and on a remote mdaemon, runaway and
# faulting guests. Runs on whichever backend the core chooses (KVM, or
# the ptrace backend without /dev/kvm; MZERO_NATIVE forces one) and skips
# (77) only where neither works.
#   test_native.sh M0 MDAEMON M0INJECT GUESTDIR
. "$(dirname "$0")/lib.sh"
m0=$(abs "$1") mdaemon=$(abs "$2") m0inject=$(abs "$3") guests=$(abs "$4/.")
here=$(cd "$(dirname "$0")" && pwd)
linux=$here/../../messengers/linux.m0
case $("$m0" -e "4096 _nnw ptop" 2>&1) in
*native_unavailable*)
	echo "no native backend (neither /dev/kvm nor ptrace): skipped"
	exit 77 ;;
esac
# bounded wait (20 s) until the daemon logging to $1 listens
listening() { within 200 grep -q "listening on" "$1"; }

for t in exits maps; do
	check "$t.m0" "$(cat "$here/$t.out")" \
	    "$(cd "$here" && timeout 60 "$m0" "$t.m0" 2>&1)"
done

# The Linux personality, locally.
check linux-hello "hello from native code" \
    "$(timeout 60 "$m0" --data "$guests/hello" "$linux" 2>&1)"
check linux-hello-pie "hello from native code" \
    "$(timeout 60 "$m0" --data "$guests/hello-pie" "$linux" 2>&1)"
check linux-primes 664579 "$(timeout 120 "$m0" --data "$guests/primes" "$linux" 2>&1)"
check linux-heap "heap ok" "$(timeout 60 "$m0" --data "$guests/heap" "$linux" 2>&1)"
out=$(timeout 60 "$m0" --data "$guests/fault" "$linux" 2>&1)
case $out in
"linux: the program stopped: fault at "*) echo "ok linux-fault" ;;
*) check linux-fault "linux: the program stopped: fault at ..." "$out" ;;
esac
# A guest that spins forever: its messenger ends at the lifetime limit.
start=$(date +%s)
timeout 30 "$m0" --life 1 --data "$guests/spin" "$linux" >/dev/null 2>&1
check linux-spin-limited "1 fast" "$? $([ $(($(date +%s) - start)) -lt 10 ] && echo fast)"

# The same through a remote daemon: the personality travels as a
# messenger with the program in its data field, and the output comes
# back to the injector.
# linux.m0 and a guest exceed a datagram: TCP, and a larger max_msg.
printf '[platform]\nlisten = 127.0.0.1:%s\n[limits]\nmax_msg = 1m\n' "$port" >"$tmp/conf"
"$mdaemon" -f -c "$tmp/conf" -s "$tmp" >"$tmp/out" 2>"$tmp/log" &
dpid=$!
listening "$tmp/log" || echo "daemon not listening after 20 s"
for p in hello primes heap; do
	want=$(case $p in hello) echo "hello from native code" ;;
	    primes) echo 664579 ;; heap) echo "heap ok" ;; esac)
	got=$(timeout 60 "$m0inject" -t "127.0.0.1:$port" --tcp --data "$guests/$p" \
	    -w 30 --idle 3 "$linux" 2>&1 | grep -v '^$')
	check "remote-$p" "$want" "$got"
done
# Contexts of ended processes went back to the pool: the daemon is
# healthy and answers.
got=$(timeout 20 "$m0inject" -t "127.0.0.1:$port" --tcp --data "$guests/hello" \
    -w 10 --idle 3 "$linux" 2>&1 | grep -v '^$')
check remote-again "hello from native code" "$got"
# The caps come from the daemon's config: two contexts, 1 MiB each.
kill "$dpid"
wait "$dpid" 2>/dev/null
mkdir -p "$tmp/caps"
printf '[platform]\nlisten = 127.0.0.1:%s\n[limits]\nnative_slab = 1m\nnative_contexts = 2\n' \
    "$port" >"$tmp/caps/conf"
"$mdaemon" -f -c "$tmp/caps/conf" -s "$tmp/caps" >/dev/null \
    2>"$tmp/caps/log" &
dpid=$!
listening "$tmp/caps/log" || echo "daemon not listening after 20 s"
got=$(timeout 20 "$m0inject" -t "127.0.0.1:$port" -w 5 --idle 2 -e \
    "_ori 2 G _ori 1 G {} _cha _ori 0 G G '_key G ! [ 1048576 _nnw P 1048576 _nnw P { 1048576 _nnw } H P X P { 2097152 _nnw } H P X P ] _cte \$" 2>&1)
check native-caps "[1048576'native_limit _ctx2097152'range_check _ctx]" "$got"
[ $fails = 0 ]
