#!/bin/sh
# Three platforms on loopback, each the neighbour of the others: hello over
# UDP, TCP and IPv6, ping between them, neighbours reloaded on SIGHUP, the
# state directory lock, and a clean stop on SIGTERM.
. "$(dirname "$0")/lib.sh"

# -n checks a configuration: good, then broken with its line number.
printf '[platform]\nlog = info\n' >"$T/good.conf"
out=$("$MDAEMON" -n -c "$T/good.conf" 2>&1) || fail "-n rejected a good config"
expect "-n accepts a good config" "configuration OK" "$out"
printf '[platform]\nlog = info\n[limits]\nslice = many\n' >"$T/bad.conf"
if out=$("$MDAEMON" -n -c "$T/bad.conf" 2>&1); then
	fail "-n accepted a broken config"
fi
expect "-n names the bad line" "bad.conf: line 4: slice" "$out"
A=$BASE B=$((BASE + 1)) C=$((BASE + 2))
cat >"$T/a.conf" <<CONF
[neighbours]
b = 127.0.0.1:$B
c = 127.0.0.1:$C
CONF
start a "$A" -c "$T/a.conf"
start b "$B" -N a=127.0.0.1:$A -N c=127.0.0.1:$C
start c "$C" -N a=127.0.0.1:$A -N b=127.0.0.1:$B -l "[::1]:$C"

out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A "$MESSENGERS/hello.m0")
expect "hello over udp" "^hello from \[2130706433 $A\]$" "$out"
expect "hello on the console" "hello: a messenger from \['udpip0\[2130706433 " \
    "$(cat "$T/a.out")"
out=$("$M0INJECT" -w 10 --replies 1 --tcp -t 127.0.0.1:$B "$MESSENGERS/hello.m0")
expect "hello over tcp" "^hello from \[2130706433 $B\]$" "$out"
if "$M0INJECT" -w 0.2 --no-reply -t "[::1]:$C" -e '' 2>/dev/null; then
	out=$("$M0INJECT" -w 10 --replies 1 -t "[::1]:$C" "$MESSENGERS/hello.m0")
	expect "hello over ipv6" "^hello from \[\"::1\" ?$C\]$" "$out"
else
	echo "skip: no ipv6 loopback"
fi

out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A "$MESSENGERS/ping.m0")
expect "ping the first neighbour" "^ping b: round trip [0-9]+ us$" "$out"
printf c >"$T/name"
out=$("$M0INJECT" -w 10 --replies 1 --data "$T/name" -t 127.0.0.1:$B "$MESSENGERS/ping.m0")
expect "ping a named neighbour" "^ping c: round trip [0-9]+ us$" "$out"
expect "ping reached c" "ping: here from \['udpip" "$(cat "$T/c.out")"
printf zz >"$T/name"
out=$("$M0INJECT" -w 10 --replies 1 --data "$T/name" -t 127.0.0.1:$B "$MESSENGERS/ping.m0")
expect "ping an unknown neighbour" "^ping: no neighbour zz$" "$out"

# Messengers see the neighbours in _nbr; SIGHUP reloads them.
nbr='"" _nbr {P _cts + " " +} L _ori 2 G _ori 1 G {} _cha _ori 0 G G '"'"'_key G ! X $'
out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A -e "$nbr")
expect "_nbr lists the neighbours" "^b c $" "$out"
lnbr='longdict ( "" neighbours {P _cts + " " +} L _ori 2 G _ori 1 G {} _cha _ori 0 G G '"'"'_key G ! X $'
out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A -e "$lnbr")
expect "longdict neighbours" "^b c $" "$out"
printf '[neighbours]\nd = 127.0.0.1:%s\n' $B >"$T/a.conf"
kill -HUP "$(cat "$T/a.pid")"
eventually "SIGHUP reloads the neighbours" "^d $" \
    "$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A -e "$nbr"

# One daemon per state directory.
if "$MDAEMON" -f -l 127.0.0.1:$((BASE + 3)) -s "$T/a" 2>"$T/second.log"; then
	fail "a second daemon started on a locked state directory"
else
	expect "the state directory is locked" "in use by another mdaemon" \
	    "$(cat "$T/second.log")"
fi

# Without -f it detaches (and would log to syslog: --log keeps it here);
# the lock file names the running daemon.
"$MDAEMON" -l 127.0.0.1:$((BASE + 4)) -s "$T/bg" --log "$T/bg.log" ||
    fail "mdaemon without -f failed"
eventually "a detached daemon answers" "^processes" "$M0CTL" -s "$T/bg" status
bgpid=$(cat "$T/bg/mdaemon.lock")
PIDS="$PIDS $bgpid"
kill -TERM "$bgpid"
eventually "it stops on SIGTERM to the pid in the lock" "stopped" cat "$T/bg.log"

# The same identity after a restart.
hid='_hid _cte _ori 2 G _ori 1 G {} _cha _ori 0 G G '"'"'_key G ! X $'
h1=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$C -e "$hid")
stop c
start c "$C"
h2=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$C -e "$hid")
if [ -n "$h1" ] && [ "$h1" = "$h2" ]; then
	echo "ok: _hid is stable across restarts"
else
	fail "_hid changed across a restart: '$h1' then '$h2'"
fi

expect "replies counted" "tx=[1-9]" "$(stats b)"

# The control socket: status, ps, kill, neighbours, inject.
"$M0INJECT" -w 0.1 -t 127.0.0.1:$B -e 'longdict ( 20000000 sleep'
eventually "m0ctl status" "^processes +0 running, 1 waiting" \
    "$M0CTL" -s "$T/b" status
expect "m0ctl status --json" '"waiting":1' "$("$M0CTL" -s "$T/b" --json status)"
if command -v python3 >/dev/null; then
	"$M0CTL" -s "$T/b" --json status | python3 -m json.tool >/dev/null ||
	    fail "status --json is not JSON"
	"$M0CTL" -s "$T/b" --json ps | python3 -m json.tool >/dev/null ||
	    fail "ps --json is not JSON"
fi
ps=$("$M0CTL" -s "$T/b" ps)
expect "m0ctl ps" "waiting" "$ps"
id=$(printf '%s\n' "$ps" | awk '$3 == "waiting" { print $1; exit }')
expect "m0ctl kill" "^killed process $id$" "$("$M0CTL" -s "$T/b" kill "$id")"
eventually "killed" "0 running, 0 waiting" "$M0CTL" -s "$T/b" status
"$M0CTL" -s "$T/b" kill 999999 2>/dev/null && fail "kill of no process succeeded"
expect "m0ctl neighbours" "^a +127.0.0.1:$A$" "$("$M0CTL" -s "$T/b" neighbours)"
printf '"injected by m0ctl\\x0a" print\n' >"$T/i.m0"
expect "m0ctl inject" "^process [0-9]+$" "$("$M0CTL" -s "$T/b" inject "$T/i.m0")"
eventually "the injected messenger ran" "injected by m0ctl" cat "$T/b.out"
[ "$(stat -c %a "$T/b/control")" = 700 ] || [ "$(stat -c %a "$T/b/control")" = 600 ] ||
    fail "the control socket is not owner-only"
stop a
stop b
stop c
exit $FAILED
