# ports.sh: a block of loopback ports that no other test on this machine
# holds (sourced, POSIX sh). Fixed or pid-derived ports collide when
# suites run in parallel (two build trees, --num-processes, a developer's
# daemons) and with the kernel's ephemeral range; a claim here cannot.
#
# port_block [N]: sets BASE to the first of N (default 100, at most 100)
# consecutive ports in 10000-32699, below Linux's ephemeral range
# (32768-60999). A block is claimed by an atomic mkdir under
# $MZERO_PORTS (default /tmp/mzero-ports) holding the claimer's pid; a
# block whose claimer is dead is taken over. port_release gives it back
# (call it from the EXIT trap; a forgotten claim dies with its shell).
MZERO_PORTS=${MZERO_PORTS:-/tmp/mzero-ports}

port_block() {
	_n=${1:-100}
	[ "$_n" -le 100 ] || { echo "port_block: at most 100" >&2; return 1; }
	mkdir -p "$MZERO_PORTS" 2>/dev/null
	_tries=0
	while [ $_tries -lt 2000 ]; do
		# Start at a pseudo-random block so parallel claimers rarely meet.
		_b=$(( ( $$ + _tries * 37 ) % 227 ))
		_d="$MZERO_PORTS/$_b"
		if mkdir "$_d" 2>/dev/null; then
			echo $$ >"$_d/pid"
			if port_busy $((10000 + _b * 100)) 100; then
				# a stray daemon outlived its claimer: leave the block
				rm -rf "$_d"
				_tries=$((_tries + 1))
				continue
			fi
			PORT_CLAIM="$_d"
			BASE=$((10000 + _b * 100))
			return 0
		fi
		_owner=$(cat "$_d/pid" 2>/dev/null)
		if [ -n "$_owner" ] && ! kill -0 "$_owner" 2>/dev/null; then
			# Dead claimer: take over by renaming, which only one wins.
			if mv "$_d" "$_d.stale.$$" 2>/dev/null; then
				rm -rf "$_d.stale.$$"
				continue
			fi
		fi
		_tries=$((_tries + 1))
	done
	echo "port_block: no free block of ports" >&2
	return 1
}

# port_busy FIRST N: true when a socket of this machine is bound to a port
# in FIRST..FIRST+N-1 (a daemon that outlived its test holds its ports
# past the claim). Without ss, nothing is known: false.
port_busy() {
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$(ss -Htuln "( sport >= :$1 and sport <= :$(($1 + $2 - 1)) )" 2>/dev/null)" ]
}

port_span() {
	_k=$((($1 + 99) / 100))
	mkdir -p "$MZERO_PORTS" 2>/dev/null
	_b=0
	while [ $((_b + _k)) -le 227 ]; do
		_got=""
		_i=0
		while [ $_i -lt $_k ] && mkdir "$MZERO_PORTS/$((_b + _i))" 2>/dev/null; do
			echo $$ >"$MZERO_PORTS/$((_b + _i))/pid"
			_got="$_got $MZERO_PORTS/$((_b + _i))"
			_i=$((_i + 1))
		done
		if [ $_i -eq $_k ] && port_busy $((10000 + _b * 100)) $((_k * 100)); then
			# shellcheck disable=SC2086
			rm -rf $_got
			_b=$((_b + 1))
			continue
		fi
		if [ $_i -eq $_k ]; then
			PORT_CLAIM="${PORT_CLAIM:-}$_got"
			BASE=$((10000 + _b * 100))
			return 0
		fi
		# shellcheck disable=SC2086
		[ -n "$_got" ] && rm -rf $_got
		_b=$((_b + _i + 1))
	done
	echo "port_span: no $_k free consecutive blocks of ports" >&2
	return 1
}

port_release() {
	# shellcheck disable=SC2086
	[ -n "${PORT_CLAIM:-}" ] && rm -rf $PORT_CLAIM
	PORT_CLAIM=""
}
