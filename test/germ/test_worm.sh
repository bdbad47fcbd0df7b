#!/bin/sh
# The worm (messengers/worm.m0, docs/germ.md): a home platform h with three
# charged neighbours p1 p2 p3, each its own currency. p1 and p2 are loaded
# by CPU-bound messengers (their step price rises), p3 idles (its price
# falls). The worm, injected at h with tokens of every neighbour (bought
# beforehand with m0ctl mint), asks for prices, runs the hello guest at
# p3, and brings home its output and the change; every platform's book
# balances: minted = held + outstanding + burned + lost, with 0 lost.
. "$(dirname "$0")/../platform/lib.sh"
D=$(dirname "$0")
HELLO=$(dirname "$M0INJECT")/../guest/hello
[ -f "$HELLO" ] || { echo "no guest/hello: skipped"; exit 77; }
printf '[money]\neconomy = charged\n[limits]\nmax_msg = 1m\nheap_quota = 64m\n' >"$T/ch.conf"
start h $BASE -c "$T/ch.conf" -N p1=127.0.0.1:$((BASE + 1)) \
    -N p2=127.0.0.1:$((BASE + 2)) -N p3=127.0.0.1:$((BASE + 3))
for i in 1 2 3; do start p$i $((BASE + i)) -c "$T/ch.conf" -N h=127.0.0.1:$BASE; done
step() { "$M0CTL" -s "$T/$1" status | sed -n 's/^money.prices \([0-9]*\) step.*/\1/p'; }
for i in 1 2; do
	for k in 1 2 3; do
		"$M0INJECT" -t 127.0.0.1:$((BASE + i)) --fund 1000000 -s "$T/p$i" \
		    --no-reply "$D/busy.m0" >/dev/null
	done
done
# bounded wait until both loaded platforms cost more per step than p3
k=0
while [ $k -lt 40 ]; do
	[ "$(step p1)" -gt "$(step p3)" ] && [ "$(step p2)" -gt "$(step p3)" ] && break
	k=$((k + 1))
	sleep 0.5
done
echo "step prices: p1 $(step p1) p2 $(step p2) p3 $(step p3)"
{
	printf "'argv [\"hello\"] df 'tk D df\n"
	for i in 1 2 3; do
		printf "tk \"p%s\"_ctn \\\\%s\\\\ :\n" $i "$("$M0CTL" -s "$T/p$i" mint 100000)"
	done
	printf '\0'
	cat "$HELLO"
} >"$T/spec"
out=$("$M0INJECT" -t 127.0.0.1:$BASE --tcp --fund 20000 -s "$T/h" -w 60 --replies 1 \
    --data "$T/spec" "$MESSENGERS/worm.m0")
printf '%s\n' "$out" | cut -c1-200
expect "the worm ran at the idle p3 and came home" \
    '^worm: ran at p3 step [0-9]+ \[0"hello from native code\\x0a"""\] change [0-9]+ ' "$out"
for p in h p1 p2 p3; do
	m=$("$M0CTL" -s "$T/$p" status | sed -n 's/^money  *//p')
	set -- $(printf '%s\n' "$m" | tr ',' '\n' | awk '{v[$2] = $1}
	    END {print v["minted"], v["held"], v["outstanding"], v["burned"], v["charged"], v["lost"]}')
	# minted held outstanding burned charged lost
	[ $(($1)) = $(($2 + $3 + $4 + $6)) ] && [ "$6" = 0 ] &&
	    echo "ok: book of $p balances ($m)" | cut -c1-160 || fail "book of $p: $m"
done
exit $FAILED
