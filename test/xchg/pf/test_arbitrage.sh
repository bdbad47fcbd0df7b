#!/bin/sh
# Arbitrage (issue 6; docs/xchg.md "Arbitrage messenger"): three charged
# daemons A, B, C, each the neighbour of the other two, whose exchanges
# learnt each other's price quotes; their reserves hold some foreign money
# (so that "buy at the ask" is a way too). messengers/arbitrage.m0 starts
# at A, visits the neighbours, collects every exchange's signed quotes and
# judges every cycle of 2 and 3 hops exactly.
#  1. consistent quotes (one epoch for all): no cycle gains; it comes home
#     with its stake and what is left of its purse (home balance <= start);
#  2. skewed quotes: A rates B on B's quote of the previous epoch while C
#     rates it on the current one (B's prices moved by up to 1/8 between
#     them: a skew within a quote's validity). Theorem 3 bounds the gain of
#     any cycle by 0 then, so it still finds no gain;
#  3. forced trade: it goes round the best cycle with its stake although
#     it does not gain, and comes home with less (the trading path works,
#     and a cycle without gain really loses);
# and after each run every book balances (minted = held + outstanding +
# burned + lost).
. "$(dirname "$0")/lib.sh"
PA=$((BASE + 3)) PB=$((BASE + 4)) PC=$((BASE + 8))
LO=2130706433
for n in a b c; do
	printf '[money]\nepoch = 10000\nquote_ttl = 10\n' >"$tmp/$n.conf"
done
# the three trust each other (docs/xchg.md, Trust)
trust 1000000000000 a b c
start a $PA -N b=127.0.0.1:$PB -N c=127.0.0.1:$PC
start b $PB -N a=127.0.0.1:$PA -N c=127.0.0.1:$PC
start c $PC -N a=127.0.0.1:$PA -N b=127.0.0.1:$PB
pka=$(pk a $PA) pkb=$(pk b $PB) pkc=$(pk c $PC)
check "three currencies" 3 "$(printf '%s\n' "$pka" "$pkb" "$pkc" | sort -u | grep -c '^[0-9a-f]\{64\}$')"
tag() { printf '%s' "$1" | cut -c1-8; }
ta=$(tag "$pka") tb=$(tag "$pkb") tc=$(tag "$pkc")
names() { sed "s/$ta/A/g; s/$tb/B/g; s/$tc/C/g"; }

# stock NAME PORT ISSUER IPORT AMOUNT...: a market maker sells ISSUER's
# fresh tokens at NAME's exchange (as in test_e2e.sh).
stock() {
	_n=$1 _p=$2 _i=$3 _ip=$4
	shift 4
	_code="\\$(quote "$_i" "$_ip")\\ _xlr"
	for _a in "$@"; do
		_code="$_code { \\$(mint "$_i" "$_a")\\ _xsl } try say"
	done
	inject "$_n" "$_p" "$_code" --replies $#
}
# teach NAME PORT QUOTE...: NAME's exchange learns these price quotes
teach() {
	_n=$1 _p=$2
	shift 2
	_code=""
	for _q in "$@"; do
		_code="$_code { \\$_q\\ _xlr 0 } try say"
	done
	inject "$_n" "$_p" "$_code" --replies $#
}
got=$(stock a $PA b $PB 1000 500
	stock b $PB c $PC 1000 500
	stock c $PC a $PA 1000 500)
check "the reserves are stocked" 6 "$(printf '%s\n' "$got" | grep -c '^ok [0-9]')"

# books: minted = held + outstanding + burned + lost, at every platform
books() {
	for n in a b c; do
		s=$(status $n)
		m=$(jnum "$s" minted) h=$(jnum "$s" held) o=$(jnum "$s" outstanding)
		b=$(jnum "$s" burned) l=$(jnum "$s" lost)
		echo "  $1 $n: minted $m = held $h + outstanding $o + burned $b + lost $l"
		check "$1: $n's book balances" "$m" "$((h + o + b + l))"
	done
}
# arb NAME FUND DATA: runs the arbitrage messenger from A, prints its
# report with the platforms named
arb() {
	printf '%s' "$3" >"$tmp/arb.dat"
	"$M0INJECT" -t 127.0.0.1:$PA -w 30 --idle 4 --fund "$2" -s "$tmp/a" \
	    --data "$tmp/arb.dat" "$MESSENGERS/arbitrage.m0" | names >"$tmp/$1.out"
	sed "s/^/  $1: /" "$tmp/$1.out"
}
# ppm of the best cycle, and the home balance against the start
bestppm() { sed -n 's/^best .* ppm \([0-9]*\).*/\1/p' "$tmp/$1.out"; }
homebal() { sed -n 's/^home A bal \([0-9]*\) start.*/\1/p' "$tmp/$1.out"; }
homestart() { sed -n 's/^home A bal [0-9]* start \([0-9]*\).*/\1/p' "$tmp/$1.out"; }

# 1. consistent quotes: every exchange learns the others' quotes of now
qa=$(quote a $PA) qb=$(quote b $PB) qc=$(quote c $PC)
got=$(teach a $PA "$qb" "$qc"
	teach b $PB "$qa" "$qc"
	teach c $PC "$qa" "$qb")
check "consistent: every exchange learns the others' quotes" 6 "$(printf '%s\n' "$got" | grep -c '^ok 0')"

arb consistent 3000 "'learn 1 df 'purse 1200 df"
check "consistent: it visits B, C, B and comes home" "at A|at B|at C|at B|at A|home A" \
    "$(grep -o '^at [ABC]\|^home [ABC]' "$tmp/consistent.out" | tr '\n' '|' | sed 's/|$//')"
check "consistent: it judged 5 cycles" 5 "$(grep -c '^cycle ' "$tmp/consistent.out")"
check "consistent: no gain" 1 "$(grep -c '^best .* no gain$' "$tmp/consistent.out")"
p=$(bestppm consistent)
[ -n "$p" ] && [ "$p" -lt 1000000 ] && ok "consistent: best factor $p ppm < 1" ||
    fail "consistent: best factor [$p]"
h=$(homebal consistent) s=$(homestart consistent)
[ -n "$h" ] && [ "$h" -le "$s" ] && [ "$h" -gt 0 ] &&
    ok "consistent: home with $h of $s (lost only fees)" ||
    fail "consistent: home [$h] start [$s]"
books "consistent"

# 2. skewed quotes: B's prices fall by 1/8 an epoch while it idles. Take
# B's last quote of one epoch and its first of the next: A rates B on the
# old one, C on the new one (each stays valid for its epoch: the exchange
# counts a learnt quote valid for one epoch at most).
bq() { inject b $PB "_quo hex \" \" + _prc 'epoch G _cte + \" \" + _prc 'step G _cte + say" --replies 1; }
set -- $(bq)
q1=$1 e1=$2 s1=$3 i=0
while [ $i -lt 80 ]; do
	set -- $(bq)
	[ "$2" != "$e1" ] && break
	q1=$1 s1=$3
	sleep 0.2
	i=$((i + 1))
done
q2=$1 e2=$2 s2=$3
check "skewed: B's epoch turned" 1 "$([ "$e2" -gt "$e1" ] && echo 1)"
qa=$(quote a $PA) qc=$(quote c $PC)
got=$(teach a $PA "$q1" "$qc"
	teach b $PB "$qa" "$qc"
	teach c $PC "$qa" "$q2")
check "skewed: every exchange learns the others' quotes" 6 "$(printf '%s\n' "$got" | grep -c '^ok 0')"
# the skew s between A's and C's view of B, and Theorem 2's bound for a
# 3-hop cycle without the band, ((1+s)/(1+spread))^3 - 1 (spread 1%)
sk=$(awk "BEGIN { printf \"%.4f\", $s1 / $s2 - 1 }")
bound=$(awk "BEGIN { printf \"%.4f\", ((1 + $sk) / 1.01) ^ 3 - 1 }")
echo "  skewed: B's step price $s1 in epoch $e1 (A's view), $s2 in epoch $e2 (C's view): skew $sk; without the band a 3-hop cycle could gain $bound"
check "skewed: the views of B differ" 1 "$(awk "BEGIN { print ($sk > 0.05) }")"
arb skewed 3000 "'learn 0 df 'purse 1200 df"
check "skewed: it judged 5 cycles" 5 "$(grep -c '^cycle ' "$tmp/skewed.out")"
# Theorem 3: the band covers one epoch of B's price rule, so the bound on
# the gain is 0 for a skew within a quote's validity
check "skewed: no gain (Theorem 3 bound: 0)" 1 "$(grep -c '^best .* no gain$' "$tmp/skewed.out")"
p=$(bestppm skewed)
[ -n "$p" ] && [ "$p" -le 1000000 ] && ok "skewed: best factor $p ppm <= 1" ||
    fail "skewed: best factor [$p]"
h=$(homebal skewed) s=$(homestart skewed)
[ -n "$h" ] && [ "$h" -le "$s" ] && [ "$h" -gt 0 ] &&
    ok "skewed: home with $h of $s (lost only fees)" ||
    fail "skewed: home [$h] start [$s]"
books "skewed"

# 3. forced: round the best cycle with the stake although it does not gain
arb forced 2000 "'learn 1 df 'force 1 df 'purse 1200 df"
check "forced: it trades the best cycle" 1 "$(grep -c '^trade A>' "$tmp/forced.out")"
check "forced: it stops on the cycle and comes home" 1 \
    "$(grep -c '^trade at ' "$tmp/forced.out" | awk '{ print ($1 >= 2) }')"
h=$(homebal forced) s=$(homestart forced)
[ -n "$h" ] && [ "$h" -lt "$s" ] && [ "$h" -gt 0 ] &&
    ok "forced: home with $h of $s (a cycle without gain loses)" ||
    fail "forced: home [$h] start [$s]"
books "forced"
finish
