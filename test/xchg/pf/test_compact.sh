#!/bin/sh
# The reserve file stays bounded while the daemon runs: after many sells
# and buys it is compacted at an epoch when nothing is in flight, and the
# compacted reserve still knows every token (docs/xchg.md, "Compaction").
. "$(dirname "$0")/lib.sh"
PA=19989 PB=19990
printf '[money]\nepoch = 100\nquote_ttl = 10\n' >"$tmp/a.conf"
cp "$tmp/a.conf" "$tmp/b.conf" # prices of both fall to the floor together
start a $PA
start b $PB
pkb=$(pk b $PB)
# A's epoch is 100 ms, so it counts B's quote as valid only until the end
# of the second it was issued in: fetch it just after a second begins.
fresh() {
	_s=$(date +%s)
	while [ "$(date +%s)" = "$_s" ]; do sleep 0.02; done
	qb=$(quote b $PB)
}
n=140
code=""
i=0
while [ $i -lt $n ]; do
	t=$(mint b 10)
	[ $i = 0 ] && first=$t
	code="$code \\$t\\ _xsl P"
	i=$((i + 1))
done
fresh
code="\\$qb\\ _xlr$code $n { P \\$pkb\\ 10 100 _xby P } L \"done\" say"
"$M0INJECT" -t 127.0.0.1:$PA --tcp -w 60 --idle 30 --replies 1 --fund 3000 \
    -s "$tmp/a" -e "$SAY $code" >"$tmp/trade.out"
check "$n sells and $n buys" "done" "$(cat "$tmp/trade.out")"
s=$(status a)
check "all of them went through the exchange" "$n $n" \
    "$(jnum "$s" sells) $(jnum "$s" buys)"
# a few epochs (100 ms) later the reserve has been rewritten
i=0
while [ $i -lt 50 ]; do
	s=$(status a)
	[ "$(jnum "$s" reserve_compactions)" -ge 1 ] && break
	sleep 0.1
	i=$((i + 1))
done
c=$(jnum "$s" reserve_compactions) r=$(jnum "$s" reserve_records)
check "compacted while running" 1 "$([ "$c" -ge 1 ] && echo 1)"
[ "$r" -le $((n + 8)) ] && ok "the file keeps one record per token ($r for $n)" ||
    fail "$r records for $n tokens after compaction"
# The compacted reserve still knows the tokens: one bought back may come
# back once (it is sold), not twice.
x() {
	fresh
	inject a $PA "\\$qb\\ _xlr { $1 } try say" --replies 1
}
# Idle prices fall by 1/8 every 100 ms epoch to the floor, A's and B's
# not in step (the trade ran at A): until they meet a 10-unit token of B
# may be worth less than one unit of A (xchg_range). Wait, at most 10 s.
i=0
while [ $i -lt 50 ]; do
	r=$(x "\\$first\\ _xsl")
	[ "$r" = xchg_range ] || break
	sleep 0.2
	i=$((i + 1))
done
case "$r" in
"ok "*) ok "a token sold earlier comes back once" ;;
*) fail "a token sold earlier is refused after compaction" ;;
esac
check "not twice" xchg_held "$(x "\\$first\\ _xsl")"
finish
