# ring.sh: starts N platforms on loopback in a ring with chords (sourced
# after test/platform/lib.sh). Platform i (0..N-1) listens on BASE+i and
# has the neighbours i±1 and i±6 (mod N), named p<j>; RING_CHORDS (default
# "1 6") lists other strides.
# ring_start N [mdaemon args...]
ring_nbrs() {
	i=$1 n=$2 out=""
	for d in ${RING_CHORDS:-1 6}; do
		for s in $d $((n - d)); do
			j=$(((i + s) % n))
			[ "$j" = "$i" ] && continue
			case " $out " in *" p$j=127.0.0.1:$((BASE + j)) "*) continue ;; esac
			out="$out -N p$j=127.0.0.1:$((BASE + j))"
		done
	done
	echo "$out"
}
ring_start() {
	n=$1
	shift
	for i in $(seq 0 $((n - 1))); do
		# shellcheck disable=SC2046
		start_bg p$i $((BASE + i)) $(ring_nbrs $i $n) "$@"
	done
	for i in $(seq 0 $((n - 1))); do
		wait_ready p$i
	done
}
# start_bg NAME PORT args: starts a daemon without waiting for it
start_bg() {
	name=$1 port=$2
	shift 2
	rm -f "$T/$name.log" # a restart must not find the last "ready:"
	"$MDAEMON" -f -l "127.0.0.1:$port" -s "$T/$name" "$@" \
	    >"$T/$name.out" 2>"$T/$name.log" &
	echo $! >"$T/$name.pid"
	PIDS="$PIDS $!"
}
wait_ready() {
	k=0
	while ! grep -q "ready:" "$T/$1.log" 2>/dev/null; do
		k=$((k + 1))
		if [ $k -gt 400 ]; then
			echo "daemon $1 did not start:"
			cat "$T/$1.log"
			exit 1
		fi
		sleep 0.05
	done
}
