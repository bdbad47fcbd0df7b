#!/bin/sh
# m0run and the Linux personality (issue 12, docs/native.md): unmodified
# static programs from Debian (busybox-static, bash-static) give the
# host's answers, locally and through a remote mdaemon, with their exit
# statuses; hostile guests are contained; --trace is strace-like.
# Skips (77) only when no native backend works.
#   test_m0run.sh M0RUN MDAEMON HOSTILE
. "$(dirname "$0")/lib.sh"
m0run=$(abs "$1") mdaemon=$(abs "$2") hostile=$(abs "$3")
here=$(cd "$(dirname "$0")" && pwd)
export M0RUN_LINUX="$here/../../messengers/linux.m0"
bb=/bin/busybox
if ! [ -x $bb ]; then
	echo "FAIL: $bb missing (scripts/deps installs busybox-static)"
	exit 1
fi
probe=$("$m0run" $bb true 2>&1 </dev/null)
case $probe in
*native_unavailable* | *"no native context"*)
	echo "no native backend: skipped ($probe)"
	exit 77
	;;
esac

run() { timeout 120 "$m0run" "$@" 2>&1; }

# stdin, stdout, exit status
check cat hi "$(echo hi | run $bb cat)"
check exit-7 7 "$(run $bb sh -c 'exit 7' </dev/null; echo $?)"
check sh-pipe 3 "$(run $bb sh -c 'for i in 1 2 3; do echo $i; done | wc -l' </dev/null)"
"$m0run" $bb sh -c 'echo out; echo err >&2' </dev/null >"$tmp/o" 2>"$tmp/e"
check stderr "out|err" "$(cat "$tmp/o")|$(cat "$tmp/e")"
check trap "$(printf 'caught TERM\nafter')" "$(run $bb sh -c 'trap "echo caught TERM" TERM; kill -TERM $$; echo after' </dev/null)"
# a handler interrupts a wait4 that blocks in the messenger
check trap-wait "$(printf 'int\ndone')" "$(run $bb sh -c 'trap "echo int" USR1; (sleep 0.3; kill -USR1 $$) & wait; echo done' </dev/null)"
check signal 137 "$(run $bb sh -c 'kill -9 $$' </dev/null; echo $?)"

# A file tree: the host's answers for the same files. Names are relative
# to the working directory (/ in the guest, the tree on the host).
t=$tmp/tree
mkdir -p "$t/data/sub" "$t/etc"
grep "^root:\|^$(id -un):" /etc/passwd >"$t/etc/passwd"
grep "^root:\|^$(id -gn):" /etc/group >"$t/etc/group"
printf 'pear 3\napple 10\nfig 7\nbanana 2\napple 1\n' >"$t/data/fruit"
seq 1 2000 | sed 's/$/ lines of text/' >"$t/data/lines"
head -c 100000 /dev/urandom >"$t/data/sub/random"
ln -s fruit "$t/data/link"
touch -d '2024-01-02 03:04:05' "$t/data/fruit"
for cmd in "sha256sum data/fruit data/lines data/sub/random" \
    "wc data/fruit data/lines" "sort data/fruit" "sort -k2 -n data/fruit" \
    "grep -n apple data/fruit" "sed -n 's/ /=/p' data/fruit" \
    "awk '{s+=\$2} END {print s, NR}' data/fruit" "ls -l data" \
    "ls -lR data" "cat data/link" "head -3 data/lines" "md5sum data/link" \
    "find data -type f" "du -s data/sub"; do
	want=$(cd "$t" && TZ=UTC eval "$bb $cmd" 2>&1)
	got=$(run -C "$t" -e TZ=UTC $bb sh -c "$cmd" </dev/null)
	check "tree: $cmd" "$want" "$got"
done
check tree-pipeline "$(cd "$t" && $bb sh -c 'cat data/fruit | sort | uniq -c | sort -rn')" \
    "$(run -C "$t" $bb sh -c 'cat data/fruit | sort | uniq -c | sort -rn' </dev/null)"
# Each process of the pipeline is a native context of its own: the
# shell forks three children under the one messenger.
run --trace -C "$t" $bb sh -c 'cat data/fruit | sort | uniq -c' </dev/null >"$tmp/pt"
check pipeline-processes "3 3" "$(grep -c '^\[pid 100\] clone(.*) = 10[1-9]$' "$tmp/pt") $(grep -o '^\[pid 10[1-9]\]' "$tmp/pt" | sort -u | wc -l)"
check tree-readonly "sh: can't create data/x: Read-only file system" \
    "$(run -C "$t" $bb sh -c 'echo x > data/x' </dev/null)"
check tmp-writable "a b 2" "$(run -C "$t" $bb sh -c \
    'echo a > /tmp/f; echo b >> /tmp/f; echo $(cat /tmp/f) $(wc -l < /tmp/f)' </dev/null)"
check proc-self-exe "$bb" "$(run $bb readlink /proc/self/exe </dev/null)"

# Not tuned to one binary: bash, statically linked with glibc.
if [ -x /bin/bash-static ]; then
	check bash "$(printf '42\n3')" "$(run /bin/bash-static -c 'echo $((6*7)); exit 3' </dev/null; echo $?)"
	check bash-loop "a:b:c" "$(run /bin/bash-static -c 'x=; for i in a b c; do x=$x${x:+:}$i; done; echo $x' </dev/null)"
else
	echo "FAIL: /bin/bash-static missing (scripts/deps installs bash-static)"
	fails=$((fails + 1))
fi

# --trace: one line per call; unknown calls show ENOSYS.
run --trace $bb true </dev/null >"$tmp/trace"
check trace-exit 1 "$(grep -c '^\[pid 100\] exit_group(0) = ?$' "$tmp/trace")"
check trace-enosys 1 "$(grep -c '^\[pid 100\] rseq(.*) = -1 ENOSYS (Function not implemented)$' "$tmp/trace")"
check trace-path 1 "$(grep -c '^\[pid 100\] readlink("/proc/self/exe", 0x[0-9a-f]*, 4096) = 12$' "$tmp/trace")"

# Hostile guests: EFAULT for wild pointers, bounded lengths and fds, a
# fork bomb stopped with a clear result, a fault as SIGSEGV.
got=$(run "$hostile" wild </dev/null | grep -v ' ok$')
check hostile-wild "" "$got"
got=$(run "$hostile" huge </dev/null | grep -v ' ok$')
check hostile-huge "" "$got"
check hostile-fds "fds bounded EMFILE
again ok" "$(run "$hostile" fds </dev/null)"
start=$(date +%s)
got=$(run "$hostile" bomb </dev/null; echo "status $?")
case $got in
*"forks refused"*"status 137") echo "ok hostile-bomb ($(($(date +%s) - start)) s)" ;;
*) check hostile-bomb "... forks refused ... status 137" "$got" ;;
esac
check hostile-segv 139 "$(run "$hostile" segv </dev/null; echo $?)"

# Read passthrough: a large read-only file of the tree is read by the
# host kernel (its reads are not served: --stats counts what is), with
# the host's answer; offsets stay exact across dup, lseek, fork; a read
# of an empty passthrough number is the kernel's EBADF, a write is served
# (EBADF), a wild pointer is EFAULT. --trace turns it off.
p=$tmp/ptree
mkdir -p "$p/data"
head -c 1048576 /dev/urandom >"$p/data/big"
check passthru-sha "$(cd "$p" && $bb sha256sum data/big)" \
    "$(run -C "$p" $bb sha256sum data/big </dev/null)"
served=$(run --stats -C "$p" $bb sha256sum data/big </dev/null | sed -n 's/^linux: \([0-9]*\) system calls served$/\1/p')
traced=$(run --stats --trace -C "$p" $bb sha256sum data/big </dev/null)
reads=$(echo "$traced" | grep -c '^\[pid 100\] read(3, ')
tserved=$(echo "$traced" | sed -n 's/^linux: \([0-9]*\) system calls served$/\1/p')
# 256 reads of 4 KiB: none served with passthrough, all under --trace
check passthru-not-served "1 1 1" "$([ "${served:-999}" -lt 64 ] && echo 1) $([ "$reads" -ge 256 ] && echo 1) $([ "${tserved:-0}" -ge $((reads + served - 8)) ] && echo 1)"
got=$(run -C "$p" "$hostile" passthru data/big </dev/null)
check passthru-semantics "" "$(echo "$got" | grep -v ' ok$')"
check passthru-checks 22 "$(echo "$got" | grep -c ' ok$')"
got=$(timeout 120 "$m0run" --trace -C "$p" "$hostile" passthru data/big </dev/null 2>/dev/null | grep -v ' ok$')
check passthru-off-traced "fd-range WRONG
  got 0 want 1" "$got"
# More large files than m0run leaves open to read in place (64): the
# rest are read while packing; all arrive whole and in order.
m=$tmp/many
mkdir -p "$m"
i=0
while [ $i -lt 70 ]; do
	head -c $((65536 + i)) /dev/urandom >"$m/f$i"
	i=$((i + 1))
done
check many-large "$(cd "$m" && $bb sha256sum f*)" \
    "$(run -C "$m" $bb sh -c 'cd / && sha256sum f*' </dev/null)"

# The same through a remote platform: everything travels in the
# messenger, output and status come back.
daemon() { # DIR EXTRA-CONFIG: a platform on $port that admits m0run's messengers
	[ -n "$dpid" ] && kill "$dpid" && wait "$dpid" 2>/dev/null
	mkdir -p "$1"
	printf '[platform]\nlisten = 127.0.0.1:%s\n[limits]\nmax_msg = 16m\nheap_quota = 256m\n%b' \
	    "$port" "$2" >"$1/conf"
	"$mdaemon" -f -c "$1/conf" -s "$1" >"$1/out" 2>"$1/log" &
	dpid=$!
	within 300 grep -q "ready" "$1/log"
}
# The embedded platform with money (--fund without -t): the bank in
# STATEDIR, a charged economy; enough money runs the program, too little
# ends it with 125 and says why.
check local-funded "$(printf 'paid\n3')" "$(run --fund 100000000 -s "$tmp/bank" \
    $bb sh -c 'echo paid; exit 3' </dev/null; echo $?)"
run --fund 1 -s "$tmp/bank" $bb sh -c 'while :; do :; done' </dev/null >"$tmp/broke"
check local-broke "125 1" "$? $(grep -c 'out of money' "$tmp/broke")"
daemon "$tmp/d" ""
remote() { run -t "127.0.0.1:$port" --tcp "$@"; }
check remote-cat hi "$(echo hi | remote $bb cat)"
check remote-pipe "$(printf '3\n5')" "$(remote $bb sh -c 'for i in 1 2 3; do echo $i; done | wc -l; exit 5' </dev/null; echo $?)"
check remote-tree "$(cd "$t" && $bb sha256sum data/lines)" \
    "$(remote -C "$t" $bb sha256sum data/lines </dev/null)"
got=$(remote -C "$p" "$hostile" passthru data/big </dev/null)
check remote-passthru "22 " "$(echo "$got" | grep -c ' ok$') $(echo "$got" | grep -v ' ok$')"
# A charged platform: the run pays with money minted through the
# daemon's control socket (--fund).
daemon "$tmp/c" '[money]\neconomy = charged\n'
check remote-funded "$(printf 'paid\n3')" "$(run -t "127.0.0.1:$port" --tcp --fund 100000000 \
    -s "$tmp/c" $bb sh -c 'echo paid; exit 3' </dev/null; echo $?)"
grep -q "economy charged" "$tmp/c/log" || { echo "FAIL: the platform is not charged"; fails=$((fails + 1)); }
[ $fails = 0 ]
