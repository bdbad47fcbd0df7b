#!/bin/sh
# State integrity and the mint bound (issue 15, items 7 and 8;
# docs/money.md "Bounds" and "Recovery"). A charged daemon makes its
# identity and state.db and mints; then, each time from a copy of that
# directory, mdaemon must refuse to start — exit status not 0 and a
# message that names the cause — when the identity file is missing, when
# state.db is cut short, and when it is garbage; and it must never have
# made a new identity or wiped the file. Before that, `m0ctl mint` past
# the bound is refused and a later messenger still runs.
. "$(dirname "$0")/lib.sh"
P=$((BASE + 3))

start a "$P" --economy charged
"$M0CTL" -s "$tmp/a" mint 1000 >/dev/null || fail "mint 1000"
if "$M0CTL" -s "$tmp/a" mint 9223372036854775807 >"$tmp/big" 2>&1; then
	fail "mint INT64_MAX was accepted: $(cat "$tmp/big")"
else
	ok "mint INT64_MAX refused: $(head -c 120 "$tmp/big")"
fi
# 2^50 + 1: one past the largest single mint
if "$M0CTL" -s "$tmp/a" mint 1125899906842625 >/dev/null 2>&1; then
	fail "mint 2^50+1 was accepted"
else
	ok "mint 2^50+1 refused"
fi
"$M0CTL" -s "$tmp/a" mint 1125899906842624 >/dev/null || fail "mint 2^50"
# the book still admits arrivals: a funded messenger answers
got=$(inject "$P" '"alive" say' --fund 20 -s "$tmp/a" --replies 1 \
    2>/dev/null | grep -c alive)
check "a messenger runs after the large mints" 1 "$got"
kill "$dpid"
wait "$dpid" 2>/dev/null
[ -s "$tmp/a/state.db" ] || fail "no state.db after a clean stop"

# refuse CASE: mdaemon on $tmp/CASE must exit non-zero with WANT in its log
refuse() {
	_case=$1 _want=$2
	"$MDAEMON" -f -l "127.0.0.1:$((P + 1))" -s "$tmp/$_case" \
	    --economy charged >"$tmp/$_case.out" 2>"$tmp/$_case.log" &
	_pid=$!
	dpids="$dpids $_pid"
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if kill -0 "$_pid" 2>/dev/null; then
		fail "$_case: the daemon started"
		kill -9 "$_pid"
		wait "$_pid" 2>/dev/null
		return
	fi
	wait "$_pid"
	_rc=$?
	[ "$_rc" != 0 ] && ok "$_case: exit status $_rc" ||
	    fail "$_case: exit status 0"
	if grep -q "$_want" "$tmp/$_case.log"; then
		ok "$_case: says: $(grep -m1 "$_want" "$tmp/$_case.log")"
	else
		fail "$_case: no \"$_want\" in: $(cat "$tmp/$_case.log")"
	fi
}

cp -r "$tmp/a" "$tmp/noident"
rm "$tmp/noident/identity"
refuse noident "identity file is missing"
[ -e "$tmp/noident/identity" ] && fail "noident: a new identity was made"
cmp -s "$tmp/a/state.db" "$tmp/noident/state.db" ||
    fail "noident: state.db was changed"

cp -r "$tmp/a" "$tmp/cut"
sz=$(wc -c <"$tmp/cut/state.db")
rm -f "$tmp/cut/state.db-wal" "$tmp/cut/state.db-shm"
head -c $((sz / 2)) "$tmp/a/state.db" >"$tmp/cut/state.db"
refuse cut "corrupt or truncated"
check "cut: state.db left as it was" $((sz / 2)) "$(wc -c <"$tmp/cut/state.db")"

cp -r "$tmp/a" "$tmp/garbage"
rm -f "$tmp/garbage/state.db-wal" "$tmp/garbage/state.db-shm"
head -c "$sz" /dev/urandom >"$tmp/garbage/state.db"
refuse garbage "corrupt or truncated"
check "garbage: state.db left as it was" "$sz" \
    "$(wc -c <"$tmp/garbage/state.db")"

# the original still starts: the refusals were about the damage
start a "$P" --economy charged
ok "the intact directory starts again"
finish
