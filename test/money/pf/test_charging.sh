#!/bin/sh
# Charging on a charged daemon (issue 5, acceptance 2; docs/money.md):
# a messenger with only the arrival allowance does almost nothing and is
# removed, silently for it and visibly for the operator (counter, debug
# line, no info line); a funded one lasts longer, its balance falling,
# and is removed when the fund is spent; bytes sent are paid per family;
# an entry stored into `_` lives as long as its lease; memory held while
# waiting pays rent; native vCPU time is paid (when /dev/kvm works). On a
# free daemon the same messenger pays nothing.
. "$(dirname "$0")/lib.sh"
PC=$((BASE + 3)) PF=$((BASE + 4)) SINK=$((BASE + 39))
printf '[money]\nallowance = 2\nstore_lease = 1\n' >"$tmp/c.conf"
start c $PC --economy charged -v
start f $PF
# The initial prices (fixed point, 1000000 = 1 unit) size the funds.
s=$(status c)
p_step=$(jnum "$s" step) p_mem=$(jnum "$s" mem) p_udp=$(jnum "$s" send_udpip)
p_con=$(jnum "$s" send_console) p_nat=$(jnum "$s" native)
echo "initial prices: step $p_step mem $p_mem send_udpip $p_udp send_console $p_con native $p_nat"

ge() { # name a b: a >= b
	if [ "$2" -ge "$3" ]; then ok "$1 ($2 >= $3)"; else fail "$1: $2 < $3"; fi
}
le() { # name a b: a <= b
	if [ "$2" -le "$3" ]; then ok "$1 ($2 <= $3)"; else fail "$1: $2 > $3"; fi
}
# waitfor NAME KEY MIN: until status field KEY of daemon NAME >= MIN (30 s)
waitfor() {
	_i=0
	while [ $_i -lt 300 ]; do
		_v=$(jnum "$(status "$1")" "$2")
		[ "$_v" -ge "$3" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}
# steps ID: the steps the debug line says process ID ran before removal
steps() {
	sed -n "s/.*debug: process $1 removed: credit exhausted after \([0-9]*\) steps.*/\1/p" \
	    "$tmp/c.log"
}
lastid() { sed -n 's/.*debug: process \([0-9]*\) removed: credit.*/\1/p' "$tmp/c.log" | tail -n 1; }

# 1. No money: an endless loop on the allowance (2 units: 2e6 / p_step
#    steps at the initial price, fewer once it rises) is removed. Nothing reaches it: its _err
#    would answer, and nothing after the loop runs.
"$M0INJECT" -t 127.0.0.1:$PC -w 1 -e \
    ". '_err { \"error\" 0 0 {} _cha 'console G '_key G ! X \$ } : { 1 N { 1 P } L } H \"after\" print" \
    >"$tmp/loop.out"
if waitfor c removed 1; then ok "unpaid loop removed"; else fail "unpaid loop not removed"; fi
id=$(lastid)
s1=$(steps "$id")
echo "unpaid loop: process $id ran $s1 steps"
le "unpaid loop did almost nothing" "$s1" $((2000000 / p_step + 1000))
check "removal is silent to the messenger" "" "$(cat "$tmp/loop.out" "$tmp/c.out")"
check "no info line about the removal" "" \
    "$(grep "process $id" "$tmp/c.log" | grep -v ': debug: ')"
check "debug line" 1 "$(grep -c "debug: process $id removed: credit exhausted" "$tmp/c.log")"
# The same locally (with one unit): m0 says nothing and exits 1; the error handler and
# what follows the loop never run.
if [ -n "${M0:-}" ]; then
	out=$("$M0" --state "$tmp/m0" --economy charged --fund 1 -e \
	    ". '_err { \"ERR\" print } : \"start\" print { 1 N { 1 P } L } H \"after\" print" 2>&1)
	check "m0: removed silently, exit 1" "start 1" "$out $?"
fi

# 2. With a fund (20 times the allowance) it lasts longer, reports a falling balance, and is
#    removed when the fund is spent.
s0=$(status c)
"$M0INJECT" -t 127.0.0.1:$PC -w 40 --idle 5 --fund 40 -s "$tmp/c" -e \
    "$SAY 1 N { $((200000 / p_step + 1)) { P } L _bal _cte say } L" >"$tmp/bal.out"
if waitfor c removed 2; then ok "funded loop removed"; else fail "funded loop not removed"; fi
s2=$(status c)
id=$(lastid)
sf=$(steps "$id")
n=$(wc -l <"$tmp/bal.out")
echo "funded loop: process $id ran $sf steps; balances $(head -n 1 "$tmp/bal.out") .. $(tail -n 1 "$tmp/bal.out") in $n reports"
ge "funded loop ran longer" "$sf" $((5 * s1))
ge "balance reports" "$n" 3
check "balance never rises" "" "$(awk 'NR > 1 && $1 > prev { print } { prev = $1 }' "$tmp/bal.out")"
ge "balance fell" "$(head -n 1 "$tmp/bal.out")" $(($(tail -n 1 "$tmp/bal.out") + 10))
ge "charged rose by the fund" $(($(jnum "$s2" charged) - $(jnum "$s0" charged))) 40
ge "burned rose by the fund" $(($(jnum "$s2" burned) - $(jnum "$s0" burned))) 40

# 3. Bytes sent, per family, at the price of the moment: 20 datagrams
#    of 50000 bytes to a port nobody reads, 4 MB to the console.
code="$SAY . 'k { [ 2130706433 $SINK ] 0 {} _cha 'udpip G '_key G ! } :
    . 'c { 0 0 {} _cha 'console G '_key G ! } :
    _bal _prc 'send_udpip G 50000 S 20 { P k 1 I \$ } L P _prc 'send_udpip G _bal
    _prc 'send_console G 1000000 S 4 { P c 1 I \$ } L P _prc 'send_console G _bal
    [ 8 1 R ] _cte say"
r=$(inject $PC "$code" --fund $((2 * (p_udp + 4 * p_con) + 100)) -s "$tmp/c" \
    --replies 1 | tr -d '[]')
echo "sends: balance, price, price, balance, price, price, balance: $r"
set -- $r
# cost in units of BYTES at PRICE (fixed point, rounded up)
cost() { echo $((($1 * $2 + 999999) / 1000000)); }
lo=$(cost 1000000 "$([ "$2" -lt "$3" ] && echo "$2" || echo "$3")")
hi=$(cost 1000000 "$([ "$2" -gt "$3" ] && echo "$2" || echo "$3")")
ge "udpip bytes charged" $(($1 - $4)) "$lo"
le "udpip bytes charged at most their price" $(($1 - $4)) $((hi + 1))
lo=$(cost 4000000 "$([ "$5" -lt "$6" ] && echo "$5" || echo "$6")")
hi=$(cost 4000000 "$([ "$5" -gt "$6" ] && echo "$5" || echo "$6")")
ge "console bytes charged" $(($4 - $7)) "$lo"
le "console bytes charged at most their price" $(($4 - $7)) $((hi + 1))

# 4. An entry stored into `_` lives for its lease (1 s), then the
#    platform removes it at an epoch and counts it.
e0=$(jnum "$(status c)" store_expired)
check "store" "ok" "$(inject $PC "_ 'leased \"x\" : \"ok\" say" --fund 1 -s "$tmp/c" --replies 1)"
t0=$(date +%s%N)
check "stored entry present" 1 \
    "$(inject $PC "_ 'leased K _cte say" --fund 1 -s "$tmp/c" --replies 1)"
i=0
while [ $i -lt 60 ]; do
	v=$(inject $PC "_ 'leased K _cte say" --fund 1 -s "$tmp/c" --replies 1)
	[ "$v" = 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
gone=$((($(date +%s%N) - t0) / 1000000))
check "stored entry removed after its lease" 0 "$v"
echo "stored entry gone after $gone ms (lease 1 s, epoch 1 s)"
ge "lease respected" "$gone" 900
le "removed within about two epochs" "$gone" 3500
ge "store_expired counts it" "$(jnum "$(status c)" store_expired)" $((e0 + 1))

# 5. Rent: 8 MB held while waiting 2 s in a stopped queue, against the
#    same wait with nothing held.
nap=". 'nap longdict 'sleep G :"
fund=$((100 * p_mem + 1000))
inject $PC "$nap _bal _prc 'mem G 8000000 S 2000000 nap P _prc 'mem G _bal
    [ 5 1 R ] _cte say" \
    --fund $fund -s "$tmp/c" --replies 1 >"$tmp/rent.big" &
p1=$!
inject $PC "$nap _bal 2000000 nap _bal [ 3 1 R ] _cte say" \
    --fund $fund -s "$tmp/c" --replies 1 >"$tmp/rent.small" &
p2=$!
wait $p1
wait $p2
set -- $(tr -d '[]' <"$tmp/rent.big") $(tr -d '[]' <"$tmp/rent.small")
echo "rent: 8 MB for 2 s at mem price $2..$3: $1 -> $4; nothing held: $5 -> $6"
# Rent is taken at epochs (1 s): at least one whole epoch of the 2 s is
# paid by the time the balance is read, at no less than the lower price.
pm=$2
[ "$3" -lt "$pm" ] && pm=$3
ge "memory held pays rent" $(($1 - $4)) $((8 * pm * 9 / 10))
le "little memory, little rent" $(($5 - $6)) $((pm / 10 + 2))

# 6. Native vCPU time: a guest spinning for 300 ms at 100e-6 per µs.
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	r=$(inject $PC ". 'k 4194304 _nnw : k 1048576 \\ebfe\\ 13 _nld
	    k D 0 I 'rip 1048576 : _nsr _bal _prc 'native G
	    k 300000 _nrn 'kind G 'budget = _bal [ 5 1 R ] _cte say" \
	    --fund $((p_nat + 100 * p_mem + 1000)) -s "$tmp/c" --replies 1 | tr -d '[]')
	echo "native: balance, price, exit, balance: $r"
	set -- $r
	check "native run ran out of budget" 1 "$3"
	ge "native time charged" $(($1 - $4)) $((300000 * $2 * 8 / 10 / 1000000))
else
	echo "no /dev/kvm: native charging not tested"
fi

# 7. The free economy charges nothing for the same work.
r=$(inject $PF "$nap _bal 2000000 { P } L
    0 0 {} _cha 'console G '_key G ! 100000 S \$
    _ 'free \"x\" : 4000000 S 1000000 nap P _bal [ 3 1 R ] _cte say" \
    --fund 50 -s "$tmp/f" --replies 1)
check "free: balance unchanged" "[50 50]" "$r"
sf=$(status f)
check "free: nothing charged" 0 "$(jnum "$sf" charged)"
check "free: nobody removed" 0 "$(jnum "$sf" removed)"
finish
