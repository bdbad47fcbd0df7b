#!/bin/sh
# Hostile input: malformed datagrams of every kind, random bytes, garbage
# and oversized frames on TCP, and a flood beyond the process cap (one
# origin: its share of it, origin_procs). The
# daemon must keep serving, count every drop, and stop cleanly.
. "$(dirname "$0")/lib.sh"
HOSTILE=$1
P=$BASE
printf '[limits]\nmax_procs = 50\n' >"$T/h.conf"
start h "$P" -c "$T/h.conf"
"$HOSTILE" "$P" short version flags codelen crc oversize random \
    tcpgarbage tcpcrc tcptrunc tcpbig ctl "$T/h/control" flood 200 ||
    fail "hostile could not send"
for k in wire_short wire_version wire_flags wire_code_len wire_crc oversize \
    tcp_garbage origin_procs; do
	eventually "$k counted" " $k=[1-9]" stats h
done
# The flood sleeps 1 s; then the cap has room again.
eventually "still serving udp" "^hello from \[2130706433 $P\]$" \
    "$M0INJECT" -w 2 --replies 1 -t 127.0.0.1:$P "$MESSENGERS/hello.m0"
out=$("$M0INJECT" -w 10 --replies 1 --tcp -t 127.0.0.1:$P "$MESSENGERS/hello.m0")
expect "still serving tcp" "^hello from \[2130706433 $P\]$" "$out"
# Sending limits: the rate of one destination, the TCP send queue.
R=$((BASE + 1)) CLOSED=$((BASE + 2))
printf '[limits]\nrate = 10\nburst = 5\ntcp_queue = 64k\negress_bytes = 1m\n' >"$T/r.conf"
start r "$R" -c "$T/r.conf"
flood='_ori 2 G _ori 1 G {} _cha _ori 0 G G '"'"'_key G ! "x" $'
out=$("$M0INJECT" -t 127.0.0.1:$R -e "50 {P $flood} L")
got=$(printf '%s\n' "$out" | grep -c '^x$')
[ "$got" -ge 5 ] && [ "$got" -le 7 ] && echo "ok: rate limit lets $got of 50 through" ||
    fail "rate limit let $got of 50 through"
big='[2130706433 '$CLOSED'] 0 {} _cha '"'"'tcpip G '"'"'_key G ! 20000 S $'
"$M0INJECT" -w 0.3 -t 127.0.0.1:$R -e "5 {P $big} L" >/dev/null
for k in tx_rate tx_queue; do
	eventually "$k counted" " $k=[1-9]" stats r
done
stop r

expect "control socket still answers" "^processes" "$("$M0CTL" -s "$T/h" status)"
stop h

# Queues are capped: beyond its origin's share of max_queues (3/4), E on
# a new key is refused with implementation_limit and counted as
# origin_queues; queues already there still work.
Q=$((BASE + 9))
printf '[limits]\nmax_queues = 10\n' >"$T/q.conf"
start q "$Q" -c "$T/q.conf"
out=$("$M0INJECT" -t 127.0.0.1:$Q -e "_ori 2 G _ori 1 G {} _cha _ori 0 G G '_key G ! [ 20 { P ; 1 Q } L { ; E } H P X P , E ] _cte \$")
expect "queue cap refuses E" "implementation_limit" "$out"
eventually "origin_queues counted" " origin_queues=[1-9]" stats q
stop q

# The lifetime limit reaches processes that only wait: one that enters a
# stopped queue forever is removed after max_life and counted.
W=$((BASE + 10))
printf '[limits]\nmax_life = 1\n' >"$T/w.conf"
start w "$W" -c "$T/w.conf"
"$M0INJECT" -t 127.0.0.1:$W -w 0.2 -e "; 0 I 1 Q E" >/dev/null
expect "a waiting process" ", 1 waiting" "$("$M0CTL" -s "$T/w" status)"
eventually "life_limit counted" " life_limit=[1-9]" stats w
expect "no process left" ", 0 waiting" "$("$M0CTL" -s "$T/w" status)"
stop w
exit $FAILED
