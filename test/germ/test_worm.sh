#!/bin/sh
# The worm (messengers/worm.m0, docs/germ.md): four charged platforms,
# each its own currency, with exchanges that trust each other (credit
# lines), and a sponsored germ over them:
#
#   p1 - h - p2 - p3
#
# p1 has idled with a price epoch of 100 ms: every price is at the floor,
# so its step price (64) is the lowest by number, but its currency is
# worth the most, and after exchange a step there costs home the most
# but p2's. p2 is loaded by CPU-bound messengers (its step price rises,
# epoch 2 s). p3, two hops from home, idles with epochs of 10 s like
# home: the cheapest after exchange. The worm, injected at h with home
# money only, must ask all three (p3 through p2, along the germ's
# routes), pick p3, run the hello guest there, and bring home the output
# and the change in home money; every platform's book balances:
# minted = held + outstanding + burned + lost, with 0 lost. Then p1 lies
# about its price (a quote whose signature fails): the worm drops it.
. "$(dirname "$0")/../platform/lib.sh"
. "$(dirname "$0")/ring.sh"
D=$(dirname "$0")
HELLO=$(dirname "$M0INJECT")/../guest/hello
[ -f "$HELLO" ] || { echo "no guest/hello: skipped"; exit 77; }
conf() { # conf NAME EPOCH_MS
	printf '[money]\neconomy = charged\nepoch = %s\nstore_lease = 20\n[limits]\nmax_msg = 1m\nheap_quota = 64m\n[exchange]\ncredit = * 100000000\n' \
	    "$2" >"$T/$1.conf"
}
conf h 10000
conf p1 100
conf p2 2000
conf p3 10000
nb() { echo "-N p$1=127.0.0.1:$((BASE + $1))"; }
# shellcheck disable=SC2046
start_bg p0 $BASE -c "$T/h.conf" $(nb 1) $(nb 2)
# shellcheck disable=SC2046
start_bg p1 $((BASE + 1)) -c "$T/p1.conf" $(nb 0)
# shellcheck disable=SC2046
start_bg p2 $((BASE + 2)) -c "$T/p2.conf" $(nb 0) $(nb 3)
# shellcheck disable=SC2046
start_bg p3 $((BASE + 3)) -c "$T/p3.conf" $(nb 2)
for i in 0 1 2 3; do wait_ready p$i; done
for i in 0 1 2 3; do
	out=$("$M0INJECT" -t 127.0.0.1:$((BASE + i)) -w 10 --replies 1 --fund 1000000 \
	    -s "$T/p$i" "$MESSENGERS/germ/sponsor.m0")
	expect "sponsor p$i" "^sponsored [0-9]+$" "$out"
done
out=$("$M0INJECT" -t 127.0.0.1:$BASE -w 60 --replies 1 --fund 100000 -s "$T/p0" \
    "$MESSENGERS/germ.m0")
expect "germ ready" "^germ: ready 4 platforms$" "$out"
for k in 1 2; do
	"$M0INJECT" -t 127.0.0.1:$((BASE + 2)) --fund 1000000 -s "$T/p2" \
	    --no-reply "$D/busy.m0" >/dev/null
done
price() { # price I RESOURCE
	"$M0CTL" -s "$T/p$1" status | sed -n 's/^money.prices //p' | tr ',' '\n' |
	    awk -v r="$2" '$2 == r {print $1}'
}
epoch() { # epoch I: price epochs so far at p<I>
	"$M0CTL" -s "$T/p$1" status | sed -n 's/^money .* \([0-9]*\) epoch$/\1/p'
}
# bounded wait: p1 at the floor (its native price falls last), p2 dearer
# than p3 by number, home and p3 past their first epoch (p2 loaded a
# while); up to 60 s, since prices move with epochs and a loaded machine
# (the whole suite on two cores) stretches them
k=0
while [ $k -lt 120 ]; do
	[ "$(price 1 native)" -le 64 ] && [ "$(price 2 step)" -gt "$(price 3 step)" ] &&
	    [ "$(epoch 3)" -ge 1 ] && [ "$(epoch 0)" -ge 1 ] && break
	k=$((k + 1))
	sleep 0.5
done
[ $k -lt 120 ] || echo "prices did not settle in 60 s: p1 native $(price 1 native)," \
    "epochs p0 $(epoch 0) p3 $(epoch 3)"
echo "step prices: p1 $(price 1 step) p2 $(price 2 step) p3 $(price 3 step)"
{
	printf "'argv [\"hello\"] df\n\0"
	cat "$HELLO"
} >"$T/spec"
out=$("$M0INJECT" -t 127.0.0.1:$BASE --tcp --fund 30000 -s "$T/p0" -w 80 --replies 1 \
    --data "$T/spec" "$MESSENGERS/worm.m0")
printf '%s\n' "$out" | cut -c1-400
expect "the worm ran at p3 and came home with home money" \
    "^worm: asked 3: .* ran at 127\\.0\\.0\\.1:$((BASE + 3)) step [0-9]+ home [0-9]+ \\[0\"hello from native code\\\\x0a\"\"\"\\] change [0-9]+ \"[^\"]" "$out"
printf '%s\n' "$out" | grep -q ' unsold ' && fail "the change came home unsold"
# the quotes as the worm saw them: port step home, one line each
printf '%s\n' "$out" | sed 's/ ran at .*//; s/^worm: asked [0-9]*: //' | tr ';' '\n' |
    sed -n 's/^ *127\.0\.0\.1:\([0-9]*\) step \([0-9]*\) home \([0-9]*\)$/\1 \2 \3/p' >"$T/q"
cat "$T/q"
par=$(sort -n -k2 "$T/q" | head -n 1 | cut -d' ' -f1)
after=$(sort -n -k3 "$T/q" | head -n 1 | cut -d' ' -f1)
[ "$par" = $((BASE + 1)) ] && [ "$after" = $((BASE + 3)) ] &&
    echo "ok: cheapest at par p1, after exchange p3" ||
    fail "cheapest at par port $par (want p1), after exchange port $after (want p3)"
# p1 lies (test/germ/liar.m0): its answer carries its quote with the step
# price set to 1, which would make it the cheapest by far; home's
# exchange must refuse the quote, and the worm must run at p3 again
out=$("$M0INJECT" -t 127.0.0.1:$((BASE + 1)) -w 10 --replies 1 --fund 10000 -s "$T/p1" \
    "$D/liar.m0")
expect "p1 lies" "^lying$" "$out"
out=$("$M0INJECT" -t 127.0.0.1:$BASE --tcp --fund 30000 -s "$T/p0" -w 80 --replies 1 \
    --data "$T/spec" "$MESSENGERS/worm.m0")
printf '%s\n' "$out" | cut -c1-300
expect "the forged quote is dropped, the worm runs at p3" \
    "^worm: asked 2: .* ran at 127\\.0\\.0\\.1:$((BASE + 3)) step [0-9]+ home [0-9]+ \\[0\"hello" "$out"
printf '%s\n' "$out" | sed 's/ ran at .*//' | grep -q ":$((BASE + 1)) " &&
    fail "the worm took p1's forged quote"
# with 'hops 1 only the neighbours are asked: p3 is out of reach, p1
# still lies, so p2 is the one left
{
	printf "'argv [\"hello\"] df 'hops 1 df\n\0"
	cat "$HELLO"
} >"$T/spec1"
out=$("$M0INJECT" -t 127.0.0.1:$BASE --tcp --fund 30000 -s "$T/p0" -w 80 --replies 1 \
    --data "$T/spec1" "$MESSENGERS/worm.m0")
expect "'hops 1: only p2 asked and used" \
    "^worm: asked 1: 127\\.0\\.0\\.1:$((BASE + 2)) step [0-9]+ home [0-9]+ ran at 127\\.0\\.0\\.1:$((BASE + 2)) .*\\[0\"hello" "$out"
for p in p0 p1 p2 p3; do
	m=$("$M0CTL" -s "$T/$p" status | sed -n 's/^money  *//p')
	set -- $(printf '%s\n' "$m" | tr ',' '\n' | awk '{v[$2] = $1}
	    END {print v["minted"], v["held"], v["outstanding"], v["burned"], v["charged"], v["lost"]}')
	# minted held outstanding burned charged lost
	[ $(($1)) = $(($2 + $3 + $4 + $6)) ] && [ "$6" = 0 ] &&
	    echo "ok: book of $p balances ($m)" | cut -c1-160 || fail "book of $p: $m"
done
exit $FAILED
