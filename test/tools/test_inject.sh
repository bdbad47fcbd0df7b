#!/bin/sh
# m0inject's errors reach the user: a syntax error names FILE:LINE:COL
# before anything is sent; an error the messenger does not handle comes
# home from whichever platform it happened at (stderr, exit 1); an error
# handled in H does not; a port where nothing listens is "no platform"
# (UDP and TCP); nothing back is a warning and exit 3, unless --no-reply.
# Host names work in -t.
. "$(dirname "$0")/../platform/lib.sh"
A=$BASE B=$((BASE + 1)) NONE=$((BASE + 2))
start a $A
start b $B

printf '1 2 +\n"ok" print\n  3 }\n' >"$T/syn.m0"
"$M0INJECT" -t 127.0.0.1:$A "$T/syn.m0" >/dev/null 2>"$T/err"
rc=$?
expect "syntax: exit 2" "^2$" "$rc"
expect "syntax: FILE:3:5" "^m0inject: $T/syn.m0:3:5: syntax error: \} without \{$" \
    "$(head -1 "$T/err")"

err=$("$M0INJECT" -t localhost:$A -e '1 foo' 2>&1 >/dev/null)
rc=$?
expect "remote undefined: exit 1" "^1$" "$rc"
expect "remote undefined on stderr" "^m0inject: 127.0.0.1:$A: undefined foo$" "$err"
err=$("$M0INJECT" --tcp -t 127.0.0.1:$A -e '"abc" 9 G' 2>&1 >/dev/null)
expect "remote error over tcp" "^m0inject: 127.0.0.1:$A: range_check --G--$" "$err"

# The messenger hops to b and fails there: b reports it to us directly.
cat >"$T/hop.m0" <<M0
. 'rk {0 I 2 G X 0 I 1 G X 0 G {} X _cha X G '_key G !} :
_dat null = { ['udpip 0 [2130706433 $B]] rk [; _cod "x"] _ctm \$ } { 1 0 / } ?
M0
err=$("$M0INJECT" -t 127.0.0.1:$A "$T/hop.m0" 2>&1 >/dev/null)
expect "error after a hop" "^m0inject: 127.0.0.1:$B: division_by_zero --/--$" "$err"

# Handled errors stay silent; nothing came back at all: a warning, 3.
err=$("$M0INJECT" -t 127.0.0.1:$A -w 1 --idle 0.5 -e '{ 1 0 / } H P' 2>&1)
rc=$?
expect "handled error: exit 3" "^3$" "$rc"
expect "nothing back: warning" "warning: nothing came back" "$err"
"$M0INJECT" -t 127.0.0.1:$A --no-reply -w 1 --idle 0.5 -e '1 2 +'
expect "--no-reply: exit 0" "^0$" "$?"
out=$("$M0INJECT" -t localhost:$A --replies 1 "$MESSENGERS/hello.m0")
expect "-t localhost: exit 0 and the reply" "^0 hello from \[2130706433 $A\]$" "$? $out"

err=$("$M0INJECT" -t 127.0.0.1:$NONE -e '1' 2>&1)
expect "udp, nothing listens: exit 1" "^1 m0inject: no platform at 127.0.0.1:$NONE$" "$? $err"
err=$("$M0INJECT" --tcp -t 127.0.0.1:$NONE -e '1' 2>&1)
expect "tcp, nothing listens: exit 1" "^1 m0inject: no platform at 127.0.0.1:$NONE$" "$? $err"
"$M0INJECT" -t bad_host -e 1 2>/dev/null
expect "unknown host: usage error" "^2$" "$?"

exit $FAILED
