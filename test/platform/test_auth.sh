#!/bin/sh
# Authenticated links: a and b pin each other's keys, so everything
# between them travels in envelopes and ping works; d pins a wrong key
# for a, so its envelopes are unknown at a and a's plain messengers are
# refused at d; a forged envelope with b's key fails authentication.
. "$(dirname "$0")/lib.sh"
HOSTILE=$1
A=$BASE B=$((BASE + 1)) D=$((BASE + 2))
ka=$("$MDAEMON" -p -s "$T/a") kb=$("$MDAEMON" -p -s "$T/b")
kd=$("$MDAEMON" -p -s "$T/d")
expect "-p prints a public key" "^[0-9a-f]{64}$" "$ka"
start a "$A" -N "b=127.0.0.1:$B,$kb"
start b "$B" -N "a=127.0.0.1:$A,$ka"
start d "$D" -N "a=127.0.0.1:$A,$kd"

# TCP between pinned neighbours: a sends to b in an envelope; b answers
# on the same connection, in an envelope too, and a tells the injector.
out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A "$(dirname "$0")/tcp_back.m0")
expect "tcpip between pinned neighbours" "^tcp ok$" "$out"
eventually "b opened an envelope" " rx_auth=[1-9]" stats b
eventually "a opened the answer" " rx_auth=[1-9]" stats a

out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A "$MESSENGERS/ping.m0")
expect "ping over an authenticated link" "^ping b: round trip [0-9]+ us$" "$out"
out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$B "$MESSENGERS/ping.m0")
expect "and back" "^ping a: round trip [0-9]+ us$" "$out"
s=$(stats a)
for k in auth_unknown auth_bad auth_replay auth_required; do
	expect "a: no $k yet" " $k=0( |$)" "$s"
done

out=$("$M0INJECT" -w 1 -t 127.0.0.1:$D "$MESSENGERS/ping.m0")
[ -z "$out" ] && echo "ok: a wrong key gets no answer" || fail "d got: $out"
eventually "a: envelope from an unknown key" " auth_unknown=[1-9]" stats a
"$M0INJECT" -w 0.3 -t 127.0.0.1:$A -e \
    "[2130706433 $D] 0 {} _cha 'udpip G '_key G ! [; \"1\" null] _ctm \$" >/dev/null
eventually "d: plain messenger from a pinned neighbour" \
    " auth_required=[1-9]" stats d
"$HOSTILE" "$A" env "$kb" || fail "hostile could not send"
eventually "a: forged envelope" " auth_bad=[1-9]" stats a
out=$("$M0INJECT" -w 10 --replies 1 -t 127.0.0.1:$A "$MESSENGERS/ping.m0")
expect "a and b still talk" "^ping b: round trip [0-9]+ us$" "$out"
stop a
stop b
stop d
exit $FAILED
