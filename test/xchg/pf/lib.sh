# lib.sh: shared by the exchange's daemon tests (sourced, POSIX sh): the
# money tests' helpers (test/money/pf/lib.sh: ports, daemons killed on
# exit, check, start, status, SAY, TRY, HEX) with charged daemons, plus
# quotes, keys, mints and credit lines. Tools from the environment
# (test/xchg/meson.build sets it).
: "${MESSENGERS:?}"
START_ARGS="--economy charged"
. "${MONEY_LIB:-$(dirname "$0")/../../money/pf/lib.sh}"

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
