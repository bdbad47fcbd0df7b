#!/bin/sh
# The reserve file stays bounded while the daemon runs: after many sells
# and buys it is compacted at an epoch when nothing is in flight, and the
# compacted reserve still knows every token (docs/xchg.md, "Compaction").
. "$(dirname "$0")/lib.sh"
PA=$((BASE + 9)) PB=$((BASE + 10))
# 10 s epochs: A learns B's quote for one epoch, long enough for the
# trade on a loaded machine, and prices barely move during the test.
printf '[money]\nepoch = 10000\nquote_ttl = 10\n' >"$tmp/a.conf"
cp "$tmp/a.conf" "$tmp/b.conf"
trust 1000000000000 a b
start a $PA
start b $PB
pkb=$(pk b $PB)
n=140
code=""
i=0
while [ $i -lt $n ]; do
	t=$(mint b 10)
	[ $i = 0 ] && first=$t
	code="$code \\$t\\ _xsl P"
	i=$((i + 1))
done
code="\\$(quote b $PB)\\ _xlr$code $n { P \\$pkb\\ 10 100 _xby P } L \"done\" say"
"$M0INJECT" -t 127.0.0.1:$PA --tcp -w 60 --idle 30 --replies 1 --fund 3000 \
    -s "$tmp/a" -e "$SAY $code" >"$tmp/trade.out"
check "$n sells and $n buys" "done" "$(cat "$tmp/trade.out")"
s=$(status a)
check "all of them went through the exchange" "$n $n" \
    "$(jnum "$s" sells) $(jnum "$s" buys)"
# at the end of the epoch (at most 10 s) the reserve has been rewritten
i=0
while [ $i -lt 150 ]; do
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
x() { inject a $PA "{ \\$(quote b $PB)\\ _xlr $1 } try say" --replies 1; }
case "$(x "\\$first\\ _xsl")" in
"ok "*) ok "a token sold earlier comes back once" ;;
*) fail "a token sold earlier is refused after compaction" ;;
esac
check "not twice" xchg_held "$(x "\\$first\\ _xsl")"
finish
