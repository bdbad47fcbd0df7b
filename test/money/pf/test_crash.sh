#!/bin/sh
# kill -9 of a daemon during a stream of deposits and withdrawals (issue
# 5, acceptance 1; docs/money.md "Crash-safety argument"). Each round
# starts the daemon on the same state directory, mints tokens, sends
# messengers that deposit a fresh token and an older one (maybe spent,
# maybe withdrawn), withdraw small tokens and hold their credit, and
# report every acknowledged deposit and every withdrawn token; a seeded
# random moment later the daemon is killed. At the end every token ever
# minted or withdrawn is deposited again: none was accepted twice, every
# acknowledged deposit is refused as spent, every token is either
# accepted now or was spent before (never unknown), the book balances and
# the credit lost in the kills is what the starts reported.
#   SEED (default 5) and ROUNDS (default 12) may be set in the environment.
. "$(dirname "$0")/lib.sh"
P=$((BASE + 2))
SEED=${SEED:-5}
ROUNDS=${ROUNDS:-12}
echo "seed $SEED, $ROUNDS rounds"
awk -v s="$SEED" 'BEGIN { srand(s); for (i = 0; i < 4000; i++) print rand() }' \
    >"$tmp/rnd"
rn=0
# pick N [POW]: R = a seeded random integer in 0..N-1 (r^POW scaled:
# POW 2 favours small values). Not in a subshell: it counts its draws.
pick() {
	rn=$((rn + 1))
	R=$(awk -v n="$1" -v p="${2:-1}" -v r="$(sed -n "${rn}p" "$tmp/rnd")" \
	    'BEGIN { print int(r ^ p * n) }')
}

# Every token the test knows: "HEX AMOUNT" (pool); those sent to the
# daemon in a stream (sent); the replies of all messengers (acks: "ack
# HEX AMOUNT", "ref HEX ERROR", "wdr HEX").
: >"$tmp/pool"
: >"$tmp/sent"
: >"$tmp/replies"
DEFS=". 'nap longdict 'sleep G :"
# dep HEX: MØ that deposits the token and reports the outcome.
dep() {
	printf '{ \\%s\\ _dep } H { _cts "ref %s " X + say P P } { _cte "ack %s " X + say } ? ' \
	    "$1" "$1" "$1"
}
mintn() { # N AMOUNT: mints, appends what the daemon acknowledged
	_k=0
	while [ $_k -lt "$1" ]; do
		_t=$("$M0CTL" -s "$tmp/d" mint "$2" 2>/dev/null) || return 0
		[ ${#_t} = 258 ] && echo "$_t $2" >>"$tmp/pool"
		_k=$((_k + 1))
	done
}

lost_sum=0
lost_rounds=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
	start d $P
	s=$(status d)
	l=$(jnum "$s" lost_at_start)
	lost_sum=$((lost_sum + l))
	[ "$l" -gt 0 ] && lost_rounds=$((lost_rounds + 1))
	# four fresh tokens for this round
	: >"$tmp/fresh"
	for i in 1 2 3 4; do
		pick 80
		a=$((20 + R))
		t=$("$M0CTL" -s "$tmp/d" mint "$a")
		echo "$t $a" >>"$tmp/fresh"
	done
	cat "$tmp/fresh" >>"$tmp/pool"
	# mints go on during the stream too
	mintn 3 11 &
	mpid=$!
	ipids=""
	i=1
	while [ $i -le 4 ]; do
		fresh=$(sed -n "${i}p" "$tmp/fresh" | cut -d' ' -f1)
		n=$(wc -l <"$tmp/pool")
		pick "$n"
		old=$(sed -n "$((R + 1))p" "$tmp/pool" | cut -d' ' -f1)
		printf '%s\n%s\n' "$fresh" "$old" >>"$tmp/sent"
		code="$DEFS $(dep "$fresh") $(dep "$old")
		    4 { P { 3 _wdr } H { P P P } { hex \"wdr \" X + say } ? 20000 nap } L
		    1000000 nap"
		inject $P "$code" --replies 6 -w 8 --idle 3 >"$tmp/r.$r.$i" &
		ipids="$ipids $!"
		i=$((i + 1))
	done
	# mostly early, while deposits and withdrawals commit
	pick 1200 2
	delay=$((5 + R))
	sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
	kill -9 "$dpid"
	wait "$dpid" 2>/dev/null
	for p in $ipids $mpid; do
		wait "$p"
	done
	cat "$tmp"/r.$r.* >>"$tmp/replies"
	acks=$(cat "$tmp"/r.$r.* | grep -c '^ack')
	wdrs=$(cat "$tmp"/r.$r.* | grep -c '^wdr')
	echo "round $r: killed after ${delay} ms; lost at start $l; $acks deposits acknowledged, $wdrs tokens withdrawn"
	grep '^wdr' "$tmp"/r.$r.* | awk '{ print $2, 3 }' >>"$tmp/pool"
	r=$((r + 1))
done

# The end: an orderly daemon takes every token again.
start d $P
s=$(status d)
l=$(jnum "$s" lost_at_start)
lost_sum=$((lost_sum + l))
[ "$l" -gt 0 ] && lost_rounds=$((lost_rounds + 1))
sort -u "$tmp/pool" >"$tmp/all"
ntok=$(wc -l <"$tmp/all")
: >"$tmp/final"
ipids=""
k=0
while [ $k -lt "$ntok" ]; do
	code=$(sed -n "$((k + 1)),$((k + 25))p" "$tmp/all" | while read -r h a; do
		dep "$h"
	done)
	n=$(sed -n "$((k + 1)),$((k + 25))p" "$tmp/all" | wc -l)
	inject $P "$code" --replies "$n" >"$tmp/f.$k" &
	ipids="$ipids $!"
	k=$((k + 25))
done
for p in $ipids; do
	wait "$p"
done
cat "$tmp"/f.* >"$tmp/final"
check "every token answered at the end" "$ntok" "$(wc -l <"$tmp/final")"

# Per token: acknowledged deposits over the whole run, and the final word.
awk -v F="$tmp/final" -v S="$tmp/sent" '
	FILENAME == ARGV[1] { amount[$1] = $2; next }
	$1 == "ack" { acks[$2]++; if ($3 != amount[$2]) badamt++; next }
	END {
		while ((getline line < S) > 0) sent[line] = 1
		while ((getline line < F) > 0) {
			split(line, f, " ")
			h = f[2]
			if (f[1] == "ack") {
				final_ack++
				if (acks[h] > 0) twice++
				if (sent[h]) late++
				if (f[3] != amount[h]) badamt++
			} else if (f[3] == "token_spent") {
				spent++
				if (!sent[h]) lostok++
			} else {
				other++
				print "unexpected: " f[3] > "/dev/stderr"
			}
			if (acks[h] > 1) twice++
			if (acks[h] > 0 && f[1] == "ack") ackd_ok++
		}
		for (h in acks) if (acks[h] > 0) stream_ack++
		printf "stream_acks %d final_accepted %d final_spent %d twice %d badamt %d other %d unsent_spent %d ack_then_ok %d late %d\n",
		    stream_ack, final_ack, spent, twice, badamt, other, lostok,
		    ackd_ok, late
	}' "$tmp/all" "$tmp/replies" >"$tmp/verdict"
v=$(cat "$tmp/verdict")
echo "$ntok tokens: $v"
field() { printf '%s' "$v" | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }
check "no token accepted twice" 0 "$(field twice)"
check "acknowledged deposits are spent" 0 "$(field ack_then_ok)"
check "amounts as minted" 0 "$(field badamt)"
check "no token unknown (forged, altered, ...)" 0 "$(field other)"
check "tokens never deposited redeem" 0 "$(field unsent_spent)"
[ "$(field stream_acks)" -gt "$ROUNDS" ] && ok "deposits acknowledged in the stream" ||
    fail "too few deposits acknowledged in the stream: $(field stream_acks)"
[ "$(field final_accepted)" -gt 0 ] && ok "tokens accepted at the end" ||
    fail "no token accepted at the end"

# The book balances, and what the kills lost is what the starts reported.
s=$(status d)
echo "book: $(printf '%s' "$s" | grep -o '"minted".*"lost_at_start":[0-9]*')"
minted=$(jnum "$s" minted) held=$(jnum "$s" held)
out=$(jnum "$s" outstanding) burned=$(jnum "$s" burned) lost=$(jnum "$s" lost)
check "minted = held + outstanding + burned + lost" "$minted" \
    $((held + out + burned + lost))
check "lost is what the starts reported" "$lost_sum" "$lost"
[ "$lost_rounds" -gt 0 ] && ok "lost on crash reported ($lost_rounds starts)" ||
    fail "no start reported credit lost on crash"
grep -q "lost when" "$tmp/d.log" && ok "lost on crash logged" ||
    fail "lost on crash not logged"
finish
