#!/bin/sh
# End to end (issue 6, acceptance 1; docs/xchg.md "End to end"): three
# charged daemons A, B, C. A market maker stocks A's reserve with B's
# money and C's with A's; a tourist funded in A's money travels
# A -> B -> C -> A, changing money and working at every stop, and comes
# home with its change. Then: every book balances (minted = held +
# outstanding + burned + lost), every foreign token in a reserve is
# outstanding at its issuer, B is killed -9 and its reserve is intact,
# clearing messengers carry every reserve home and back, and redepositing
# every token the run ever saw honours none a second time.
. "$(dirname "$0")/lib.sh"
PA=$((BASE + 0)) PB=$((BASE + 1)) PC=$((BASE + 2))
LO=2130706433
for n in a b c; do
	printf '[money]\nepoch = 10000\nquote_ttl = 10\n[exchange]\nclear_key = 00000000c1ea0001\n' >"$tmp/$n.conf"
done
# the three trust each other (docs/xchg.md, Trust)
trust 1000000000000 a b c
start a $PA
start b $PB
start c $PC
pka=$(pk a $PA) pkb=$(pk b $PB) pkc=$(pk c $PC)
check "three currencies" 3 "$(printf '%s\n' "$pka" "$pkb" "$pkc" | sort -u | grep -c '^[0-9a-f]\{64\}$')"
: >"$tmp/tokens" # issuer hex, one a line: every token the test saw

# stock NAME PORT ISSUER IPORT AMOUNT...: mints tokens at ISSUER and a
# market maker sells them at NAME (with ISSUER's fresh quote).
stock() {
	_n=$1 _p=$2 _i=$3 _ip=$4
	shift 4
	_q=$(quote "$_i" "$_ip")
	_code="\\$_q\\ _xlr"
	for _a in "$@"; do
		_t=$(mint "$_i" "$_a")
		echo "$_i $_t" >>"$tmp/tokens"
		_code="$_code { \\$_t\\ _xsl } try say"
	done
	inject "$_n" "$_p" "$_code" --replies $#
}
got=$(stock a $PA b $PB 2000 1000 1000)
check "A buys B's money at its bid" 3 "$(printf '%s\n' "$got" | grep -c '^ok [0-9]')"
got=$(stock c $PC a $PA 2000 1000 1000)
check "C buys A's money at its bid" 3 "$(printf '%s\n' "$got" | grep -c '^ok [0-9]')"

# The tourist: funded with 3000 of A's units at A.
qa=$(quote a $PA) qb=$(quote b $PB) qc=$(quote c $PC)
printf "'route [[%s %s \\\\%s\\\\] [%s %s \\\\%s\\\\] [%s %s \\\\%s\\\\]] df 'quotes [\\\\%s\\\\ \\\\%s\\\\ \\\\%s\\\\] df 'work 20000 df" \
    $LO $PB "$pkb" $LO $PC "$pkc" $LO $PA "$pka" "$qa" "$qb" "$qc" >"$tmp/tour.dat"
"$M0INJECT" -t 127.0.0.1:$PA -w 30 --idle 8 --fund 3000 -s "$tmp/a" \
    --data "$tmp/tour.dat" "$MESSENGERS/travel.m0" >"$tmp/tour.out"
grep -v '^tok ' "$tmp/tour.out" | sed 's/^/  tour: /'
check "the tourist stops at A, B and C and comes home" "at at at home" \
    "$(grep -o '^at\|^home' "$tmp/tour.out" | tr '\n' ' ' | sed 's/ $//')"
home=$(sed -n 's/^home [0-9a-f]* bal //p' "$tmp/tour.out")
[ "${home:-0}" -gt 0 ] && ok "home with change: $home of 3000 units" ||
    fail "no change came home"
check "it changed money at every stop (tokens carried)" 1 \
    "$([ "$(grep -c '^tok ' "$tmp/tour.out")" -ge 3 ] && echo 1)"
# its tokens, with their issuer (the currency is bytes 1..32)
grep '^tok ' "$tmp/tour.out" | while read -r _ t; do
	c=$(printf '%s' "$t" | cut -c3-66)
	for n in a b c; do
		eval "k=\$pk$n"
		[ "$c" = "$k" ] && echo "$n $t" >>"$tmp/tokens"
	done
done

# books: minted = held + outstanding + burned + lost, at every platform
books() {
	for n in a b c; do
		s=$(status $n)
		m=$(jnum "$s" minted) h=$(jnum "$s" held) o=$(jnum "$s" outstanding)
		b=$(jnum "$s" burned) l=$(jnum "$s" lost)
		echo "  $1 $n: minted $m = held $h + outstanding $o + burned $b + lost $l"
		check "$1: $n's book balances" "$m" "$((h + o + b + l))"
		eval "out_$n=$o"
	done
}
books "after the tour"

# reserve NAME PORT PK FIELD: a field of _xrs at NAME for currency PK
reserve() { inject "$1" "$2" "\\$3\\ _xrs '$4 G _cte say" --replies 1; }
# Every foreign unit in a reserve is outstanding at its issuer.
inres() { # currency: the sum held + clearing of it in the other reserves
	_s=0
	for m in a b c; do
		[ "$m" = "$1" ] && continue
		eval "_k=\$pk$1 _p=\$P$(echo $m | tr a-c A-C)"
		_h=$(reserve $m "$_p" "$_k" held)
		_c=$(reserve $m "$_p" "$_k" clearing)
		_s=$((_s + _h + _c))
	done
	echo $_s
}
for n in a b c; do
	r=$(inres $n)
	eval "o=\$out_$n"
	[ "$r" -le "$o" ] && [ "$r" -gt 0 ] &&
	    ok "$n's money in foreign reserves ($r) is outstanding at $n ($o)" ||
	    fail "$n: $r in reserves, $o outstanding"
done

# kill -9 B: every token it acknowledged is still in its reserve.
before=$(reserve b $PB "$pka" held)
# Two empty readings would agree too: the reserve must hold something.
case $before in
'' | 0 | *[!0-9]*) fail "B's reserve before kill -9: [$before], not a count > 0" ;;
esac
kill -9 "$(cat "$tmp/b.pid")"
wait "$(cat "$tmp/b.pid")" 2>/dev/null
start b $PB
check "B's reserve survives kill -9 (A's money held)" "$before" \
    "$(reserve b $PB "$pka" held)"

# Clearing: every reserve goes home and comes back fresh.
clear() { # NAME PORT CURRENCY-NAME CURRENCY-PORT
	eval "_k=\$pk$3"
	printf "'cur \\\\%s\\\\ df 'key \\\\00000000c1ea0001\\\\_ctk df 'to [%s %s] df" \
	    "$_k" $LO "$4" >"$tmp/clear.dat"
	"$M0INJECT" -t 127.0.0.1:"$2" -w 20 --idle 5 --fund 300 -s "$tmp/$1" \
	    --data "$tmp/clear.dat" "$MESSENGERS/clearing.m0"
}
for pair in "a $PA b $PB" "a $PA c $PC" "b $PB a $PA" "c $PC a $PA" "c $PC b $PB"; do
	# shellcheck disable=SC2086
	set -- $pair
	got=$(clear "$@")
	printf '%s\n' "$got" | sed "s/^/  clear $1<-$3: /"
	case "$got" in
	*"clear back 1 fresh"*) ok "$1 cleared $3's money" ;;
	*) fail "$1 clearing $3: $got" ;;
	esac
	eval "_k=\$pk$3"
	check "$1: nothing of $3's left clearing" 0 "$(reserve "$1" "$2" "$_k" clearing)"
done
books "after clearing"

# Redeposit every token the run saw at its issuer: none is honoured
# (each was deposited by the tourist or by a clearing run, once).
n=0 honoured=0
while read -r who t; do
	eval "_p=\$P$(echo "$who" | tr a-c A-C)"
	r=$(inject "$who" "$_p" "{ \\$t\\ _dep } try say" --replies 1)
	n=$((n + 1))
	[ "$r" = token_spent ] || honoured=$((honoured + 1))
done <"$tmp/tokens"
check "$n tokens redeposited at their issuers, none honoured twice" 0 "$honoured"
finish
