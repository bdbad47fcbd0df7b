# lib.sh: shared by the money platform tests (sourced, POSIX sh).
# The tools come from the environment (MDAEMON, M0INJECT, M0CTL, M0), as
# test/money/pf/meson.build sets it. Ports from a block claimed in test/ports.sh.
set -u
: "${MDAEMON:?}" "${M0INJECT:?}" "${M0CTL:?}"
tmp=$(mktemp -d)
. "${PORTS_SH:-$(dirname "$0")/../../ports.sh}"
port_block || exit 1
dpids=""
fails=0
cleanup() {
	for p in $dpids; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
	port_release
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok $*"; }
fail() {
	echo "FAIL $*"
	fails=$((fails + 1))
}
check() { # name want got
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: want [$2], got [$3]"
	fi
}
finish() {
	# a sanitizer build reports in the daemons' logs
	if cat "$tmp"/*.log 2>/dev/null | grep -q 'Sanitizer\|runtime error'; then
		fail "sanitizer reports in a daemon log:"
		grep -h -A60 'Sanitizer\|runtime error' "$tmp"/*.log | head -n 120
	fi
	if [ "$fails" != 0 ]; then
		echo "$fails failure(s)"
		exit 1
	fi
	exit 0
}

# start NAME PORT [mdaemon args...]: a daemon on 127.0.0.1:PORT with state
# in $tmp/NAME (and $tmp/NAME.conf as its configuration when that
# exists), with $START_ARGS before the args; stdout in $tmp/NAME.out,
# stderr in $tmp/NAME.log. Waits until its control socket answers. Sets
# $dpid and NAME's pid in $tmp/NAME.pid.
start() {
	_n=$1 _p=$2
	shift 2
	mkdir -p "$tmp/$_n"
	_c=""
	[ -f "$tmp/$_n.conf" ] && _c="-c $tmp/$_n.conf"
	# shellcheck disable=SC2086
	"$MDAEMON" -f -l "127.0.0.1:$_p" -s "$tmp/$_n" $_c ${START_ARGS:-} "$@" \
	    >>"$tmp/$_n.out" 2>>"$tmp/$_n.log" &
	dpid=$!
	echo $dpid >"$tmp/$_n.pid"
	dpids="$dpids $dpid"
	_i=0
	while [ $_i -lt 200 ]; do
		if "$M0CTL" -s "$tmp/$_n" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.05
		_i=$((_i + 1))
	done
	echo "daemon $_n did not start:"
	cat "$tmp/$_n.log"
	exit 1
}

# stop PID: an orderly stop (SIGTERM), waited for.
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# status NAME: the JSON status; jnum JSON KEY: a numeric field of it.
status() { "$M0CTL" -s "$tmp/$1" --json status; }
jnum() { printf '%s' "$1" | grep -o "\"$2\":-\?[0-9]*" | head -n 1 | cut -d: -f2; }

# MØ: `string say` answers the injector on a fresh one-use key.
SAY=". 'say { _ori 2 G _ori 1 G {} _cha _ori 0 G G '_key G ! X \$ } :"
# `proc try string`: runs proc; "ok N" with what it left (N: an int), or
# the name of the error it raised (the default _err stops it).
TRY=". 'try { H { _cts X P X P } { _cte \"ok \" X + } ? } :"

# inject PORT CODE [m0inject args...]: sends CODE and prints the replies
# (pass --replies N: it waits up to 20 s for them).
inject() {
	_p=$1 _code=$2
	shift 2
	"$M0INJECT" -t "127.0.0.1:$_p" -w 20 --idle 20 "$@" -e "$SAY $TRY $HEX $_code"
}
# `string hex string`: the bytes in hex (for tokens sent back to the test).
HEX=". 'hx \"0123456789abcdef\" : . 'hex { \"\" X { 0 I 16 / [ X 1 ] hx X G X 16 % [ X 1 ] hx X G + + } L } :"

# flip HEX OFFSET: the token with byte OFFSET xor 0x01.
flip() {
	_h=$1 _o=$2
	_b=$(printf '%s' "$_h" | cut -c$((2 * _o + 1))-$((2 * _o + 2)))
	_x=$(printf '%02x' $((0x$_b ^ 1)))
	_l=""
	[ "$_o" -gt 0 ] && _l=$(printf '%s' "$_h" | cut -c1-$((2 * _o)))
	printf '%s%s%s' "$_l" "$_x" \
	    "$(printf '%s' "$_h" | cut -c$((2 * _o + 3))-)"
}
