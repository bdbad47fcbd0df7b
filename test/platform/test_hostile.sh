#!/bin/sh
# Hostile input: malformed datagrams of every kind, random bytes, garbage
# and oversized frames on TCP, and a flood beyond the process cap. The
# daemon must keep serving, count every drop, and stop cleanly.
. "$(dirname "$0")/lib.sh"
HOSTILE=$1
P=$BASE
printf '[limits]\nmax_procs = 50\n' >"$T/h.conf"
start h "$P" -c "$T/h.conf"
"$HOSTILE" "$P" short version flags codelen crc oversize random \
    tcpgarbage tcpcrc tcptrunc tcpbig ctl "$T/h/control" flood 200 ||
    fail "hostile could not send"
sleep 0.3
s=$(stats h)
for k in wire_short wire_version wire_flags wire_code_len wire_crc oversize \
    tcp_garbage proc_cap; do
	v=$(printf '%s\n' "$s" | tr ' ' '\n' | sed -n "s/^$k=//p")
	if [ -n "$v" ] && [ "$v" -gt 0 ]; then
		echo "ok: $k counted ($v)"
	else
		fail "$k not counted"
	fi
done
sleep 1 # the flood sleeps 1 s, then the cap has room again
out=$("$M0INJECT" -t 127.0.0.1:$P "$MESSENGERS/hello.m0")
expect "still serving udp" "^hello from \[2130706433 $P\]$" "$out"
out=$("$M0INJECT" --tcp -t 127.0.0.1:$P "$MESSENGERS/hello.m0")
expect "still serving tcp" "^hello from \[2130706433 $P\]$" "$out"
expect "control socket still answers" "^processes" "$("$M0CTL" -s "$T/h" status)"
stop h
exit $FAILED
