#!/bin/sh
# Hostile tokens on a running daemon (issue 5, acceptance 1; docs/money.md
# "Redemption at the issuer"): messengers deposit malformed, forged,
# altered, foreign, expired and spent tokens and catch the MØ error each
# raises; every refusal is counted in `m0ctl status`; a token deposited by
# several concurrent messengers is accepted exactly once; withdrawing more
# than the credit is credit_low; a withdrawn token redeems once elsewhere.
. "$(dirname "$0")/lib.sh"
PA=$((BASE + 0)) PB=$((BASE + 1))

# a: charged (messengers pay for their answers with --fund); b: free,
# tokens live one second.
start a $PA --economy charged
printf '[money]\ntoken_ttl = 1\n' >"$tmp/b.conf"
start b $PB

mint() { "$M0CTL" -s "$tmp/$1" mint "$2"; }
# dep PORT TOKENHEX: what a messenger gets when it deposits the bytes.
dep() {
	inject "$1" "{ \\$2\\ _dep } try say" --fund 1 -s "$tmp/a" \
	    --replies 1
}
depb() { inject "$PB" "{ \\$1\\ _dep } try say" --replies 1 -w 20; }

t=$(mint a 50)
check "token is 129 bytes" 258 "${#t}"
refused=0
expect_refused() { # name want got
	check "$@"
	refused=$((refused + 1))
}

# malformed: empty, one byte short, one byte long, 129 bytes "x"
# (version 0x78), a bad version byte on valid bytes
expect_refused "empty" token_malformed \
    "$(inject $PA '{ "" _dep } try say' --fund 1 -s "$tmp/a" --replies 1)"
expect_refused "short" token_malformed "$(dep $PA "$(printf '%s' "$t" | cut -c1-256)")"
expect_refused "long" token_malformed "$(dep $PA "${t}00")"
expect_refused "garbage" token_malformed \
    "$(inject $PA '{ 129 S 129 { 1 I X 120 : } L _dep } try say' \
    --fund 1 -s "$tmp/a" --replies 1)"
expect_refused "bad version" token_malformed "$(dep $PA "$(flip "$t" 0)")"
# forged: a serial byte changed (unknown serial, signature fails)
expect_refused "forged serial" token_forged "$(dep $PA "$(flip "$t" 40)")"
# altered: our serial with the amount, the expiry, a signature byte
# changed
expect_refused "altered amount" token_altered "$(dep $PA "$(flip "$t" 56)")"
expect_refused "altered expiry" token_altered "$(dep $PA "$(flip "$t" 64)")"
expect_refused "altered signature" token_altered "$(dep $PA "$(flip "$t" 100)")"
expect_refused "altered currency" token_altered "$(dep $PA "$(flip "$t" 5)")"
# foreign: minted by b
expect_refused "foreign" token_foreign "$(dep $PA "$(mint b 50)")"
# expired: b's tokens live one second
te=$(mint b 5)
sleep 2.1 # not a wait for an event: the token's 1 s of life must pass
check "expired" token_expired "$(depb "$te")"
# the real token still redeems after all that, once, then is spent
check "genuine" "ok 50" "$(dep $PA "$t")"
expect_refused "spent" token_spent "$(dep $PA "$t")"
# twice in one messenger
t2=$(mint a 7)
check "twice in one messenger" "ok 7
token_spent" "$(inject $PA "{ \\$t2\\ _dep } try say { \\$t2\\ _dep } try say" \
    --fund 1 -s "$tmp/a" --replies 2)"
refused=$((refused + 1))

# Four messengers wait for the same moment, then deposit the same token:
# exactly one is credited. (Waiting pays rent for the heap: they carry
# enough for a few seconds at any initial price.)
t3=$(mint a 9)
at=$(($(date +%s) + 3))
ipids=""
for i in 1 2 3 4; do
	inject $PA "; 0 I 1 Q $at _ctt E P { \\$t3\\ _dep } try say" \
	    --fund 100 -s "$tmp/a" --replies 1 >"$tmp/conc.$i" &
	ipids="$ipids $!"
done
for i in $ipids; do
	wait "$i"
done
conc=$(cat "$tmp"/conc.*)
check "concurrent: one accepted" 1 "$(printf '%s\n' "$conc" | grep -c '^ok 9$')"
check "concurrent: three spent" 3 "$(printf '%s\n' "$conc" | grep -c '^token_spent$')"
refused=$((refused + 3))

# credit_low: more than the credit (the allowance is not withdrawable)
check "withdraw beyond credit" "credit_low" \
    "$(inject $PA '{ _bal 1 + _wdr } try say' --fund 3 -s "$tmp/a" --replies 1)"
check "withdraw zero" "range_check" \
    "$(inject $PA '{ 0 _wdr } try say' --fund 3 -s "$tmp/a" --replies 1)"

# _wdr, then _dep of the new token in another messenger: once.
# (both balances taken before anything is sent: sends are paid)
r=$(inject $PA '_bal 7 _wdr _bal 3 1 R 2 1 R _cte say hex say _cte say' \
    --fund 20 -s "$tmp/a" --replies 3)
b0=$(printf '%s\n' "$r" | sed -n 1p)
tw=$(printf '%s\n' "$r" | sed -n 2p)
b1=$(printf '%s\n' "$r" | sed -n 3p)
check "withdrawn token length" 258 "${#tw}"
check "withdraw takes the credit" 7 $((b0 - b1))
check "withdrawn token redeems" "ok 7" "$(dep $PA "$tw")"
expect_refused "withdrawn token redeems once" token_spent "$(dep $PA "$tw")"
check "withdrawn token is foreign at b" token_foreign "$(depb "$tw")"

# counters, in all and by kind
s=$(status a)
check "refusals counted" "$refused" "$(jnum "$s" refused)"
kinds() { # the "refusals" object of a status, as "kind n ..."
	printf '%s' "$1" | grep -o '"refusals":{[^}]*}' | tr -d '"{}' |
	    sed 's/^refusals://; s/:/ /g; s/,/ /g'
}
# malformed 5, forged 1, altered 4, foreign 1, spent: after the genuine
# one, twice in a messenger, three concurrent, the withdrawn one
check "refusals by kind" \
    "malformed 5 forged 1 altered 4 foreign 1 expired 0 spent 6 other 0" \
    "$(kinds "$s")"
sb=$(status b)
check "refusals counted at b" 2 "$(jnum "$sb" refused)"
check "refusals by kind at b" \
    "malformed 0 forged 0 altered 0 foreign 1 expired 1 spent 0 other 0" \
    "$(kinds "$sb")"
check "refusals in the text status" \
    "money.refusals 0 malformed, 0 forged, 0 altered, 1 foreign, 1 expired, 0 spent, 0 other" \
    "$("$M0CTL" -s "$tmp/b" status | grep '^money.refusals ')"
check "withdrawals counted" 1 "$(jnum "$s" withdrawals)"

# The state as an operator reads it with the sqlite3 shell while the
# daemon runs (docs/money.md, "The state database"): the serials a spends
# left spent, and the book.
if command -v sqlite3 >/dev/null 2>&1; then
	q() { sqlite3 -readonly "$tmp/a/state.db" "$1"; }
	check "sqlite3: the withdrawn token's serial is spent" 1 \
	    "$(q "SELECT spent FROM money_ledger WHERE kind = 2")"
	check "sqlite3: schema version" 1 "$(q "PRAGMA user_version")"
	check "sqlite3: journal mode" wal "$(q "PRAGMA journal_mode")"
fi

# A state directory in the format before the database: the daemon
# refuses to start, says why, and leaves the files alone.
mkdir "$tmp/old"
printf 'records' >"$tmp/old/ledger"
if "$MDAEMON" -f -l "127.0.0.1:$((BASE + 9))" -s "$tmp/old" >"$tmp/old.out" \
    2>"$tmp/old.log"; then
	fail "a daemon started on an old-format state directory"
else
	ok "a daemon refuses an old-format state directory"
fi
check "it says why" 1 "$(grep -c 'old-format' "$tmp/old.log")"
check "and touches nothing" "records" \
    "$(cat "$tmp/old/ledger"; [ -e "$tmp/old/state.db" ] && echo db)"
finish
