# lib.sh: shared by the exchange's daemon tests (sourced, POSIX sh).
# Tools from the environment (test/xchg/meson.build sets it); daemons on
# 127.0.0.1 ports claimed in test/ports.sh, state in a temporary directory, all killed
# on exit.
set -u
: "${MDAEMON:?}" "${M0INJECT:?}" "${M0CTL:?}" "${MESSENGERS:?}"
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
	if cat "$tmp"/*.log 2>/dev/null | grep -q 'Sanitizer\|runtime error'; then
		fail "sanitizer reports in a daemon log:"
		grep -h -A5 'Sanitizer\|runtime error' "$tmp"/*.log | head -n 40
	fi
	if [ "$fails" != 0 ]; then
		echo "$fails failure(s)"
		exit 1
	fi
	exit 0
}

# start NAME PORT [mdaemon args...]: a charged daemon with $tmp/NAME.conf
# (when it exists); waits for its control socket. Sets $dpid and NAME's
# pid in $tmp/NAME.pid.
start() {
	_n=$1 _p=$2
	shift 2
	mkdir -p "$tmp/$_n"
	_c=""
	[ -f "$tmp/$_n.conf" ] && _c="-c $tmp/$_n.conf"
	# shellcheck disable=SC2086
	"$MDAEMON" -f -l "127.0.0.1:$_p" -s "$tmp/$_n" $_c --economy charged \
	    "$@" >>"$tmp/$_n.out" 2>>"$tmp/$_n.log" &
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

status() { "$M0CTL" -s "$tmp/$1" --json status; }
jnum() { printf '%s' "$1" | grep -o "\"$2\":-\?[0-9]*" | head -n 1 | cut -d: -f2; }

# MØ helpers: `string say` answers the injector; `proc try string` runs
# proc and gives "ok X" (X: what it left, _cte) or the error's name.
SAY=". 'say { _ori 2 G _ori 1 G {} _cha _ori 0 G G '_key G ! X \$ } :"
TRY=". 'try { H { _cts X P X P } { _cte \"ok \" X + } ? } :"
HEX=". 'hx \"0123456789abcdef\" : . 'hex { \"\" X { 0 I 16 / [ X 1 ] hx X G X 16 % [ X 1 ] hx X G + + } L } :"

# inject NAME PORT CODE [m0inject args...]: CODE at NAME, funded with a
# few units there for its answers; prints the replies.
inject() {
	_n=$1 _p=$2 _code=$3
	shift 3
	"$M0INJECT" -t "127.0.0.1:$_p" -w 20 --idle 20 --fund 20 \
	    -s "$tmp/$_n" "$@" -e "$SAY $TRY $HEX $_code"
}
# quote NAME PORT: NAME's signed price quote, hex; pk NAME PORT: its key.
quote() { inject "$1" "$2" "_quo hex say" --replies 1; }
pk() { inject "$1" "$2" "_quo [1 32] G hex say" --replies 1; }
mint() { "$M0CTL" -s "$tmp/$1" mint "$2"; }

# trust AMOUNT NAME...: makes each NAME's identity (mdaemon -p) and
# appends to each NAME's $tmp/NAME.conf an [exchange] credit line of
# AMOUNT local units for every other NAME's currency (docs/xchg.md,
# Trust). Call it after writing the .conf files, before `start`.
trust() {
	_amt=$1
	shift
	for _n in "$@"; do
		mkdir -p "$tmp/$_n"
		"$MDAEMON" -s "$tmp/$_n" -p >"$tmp/$_n.pk" || exit 1
	done
	for _n in "$@"; do
		printf '[exchange]\n' >>"$tmp/$_n.conf"
		for _o in "$@"; do
			[ "$_o" = "$_n" ] && continue
			printf 'credit = %s %s\n' "$(cat "$tmp/$_o.pk")" "$_amt" \
			    >>"$tmp/$_n.conf"
		done
	done
}
