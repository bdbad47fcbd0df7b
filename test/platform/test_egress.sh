#!/bin/sh
# Egress (issue 15, item 4): a messenger cannot make the daemon a proxy or
# an amplifier. (1) Raw bytes never leave a link: a messenger that sends
# "GET /admin HTTP/1.0" to a TCP service makes the service receive a
# messenger frame (binary header, the text as data), not a request line.
# (2) Toward a stranger that never sent anything, one platform sends at
# most egress_bytes per egress_period: a 150-byte messenger that sends
# 200 x 20000 bytes to a third party's UDP port gets 64 KiB out at the
# default and the rest is counted as tx_stranger. (3) Its own injector
# still gets its replies, and a neighbour is no stranger.
. "$(dirname "$0")/lib.sh"
P=$BASE NB=$((BASE + 1)) SVC=$((BASE + 2)) SINK=$((BASE + 3))
printf '[neighbours]\nnb = 127.0.0.1:%s\n' "$NB" >"$T/e.conf"
start e "$P" -c "$T/e.conf"
python3 - "$SVC" "$SINK" >"$T/svc.out" 2>&1 <<'PY' &
import socket, sys, time
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", int(sys.argv[1])))
tcp.listen(4)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", int(sys.argv[2])))
udp.settimeout(0.2)
print("listening", flush=True)
tcp.settimeout(8)
c, _ = tcp.accept()
c.settimeout(2)
got = b""
try:
    while len(got) < 64:
        b = c.recv(4096)
        if not b:
            break
        got += b
except socket.timeout:
    pass
print("tcp-starts-with-GET", got.startswith(b"GET"), flush=True)
print("tcp-has-text", b"GET /admin" in got, flush=True)
total, t0 = 0, time.time()
while time.time() - t0 < 3:
    try:
        total += len(udp.recv(65536))
    except socket.timeout:
        pass
print("udp-bytes", total, flush=True)
PY
spid=$!
wait_line "$T/svc.out" listening
tcpkey="[2130706433 $SVC] 0 {} _cha 'tcpip G '_key G !"
udpkey="[2130706433 $SINK] 0 {} _cha 'udpip G '_key G !"
"$M0INJECT" -t "127.0.0.1:$P" -w 1 --idle 1 \
    -e "$tcpkey \"GET /admin HTTP/1.0\x0d\x0a\x0d\x0a\" \$" >/dev/null
"$M0INJECT" -t "127.0.0.1:$P" -w 1 --idle 1 \
    -e "200 { P $udpkey 20000 S \$ } L" >/dev/null
wait $spid
cat "$T/svc.out"
grep -q "^tcp-starts-with-GET False$" "$T/svc.out" ||
    fail "a raw request line reached the TCP service"
grep -q "^tcp-has-text True$" "$T/svc.out" ||
    fail "the framed text did not arrive at all"
udp=$(sed -n 's/^udp-bytes //p' "$T/svc.out")
if [ -n "$udp" ] && [ "$udp" -gt 0 ] && [ "$udp" -le 65536 ]; then
	echo "ok: $udp bytes reached the stranger (budget 65536 of 4000000)"
else
	fail "bytes to the stranger: [$udp]"
fi
n=$(counter e tx_stranger)
[ "${n:-0}" -ge 190 ] && echo "ok: tx_stranger=$n" || fail "tx_stranger=[$n]"
# The injector is answered, and a neighbour is no stranger.
out=$("$M0INJECT" -t "127.0.0.1:$P" -w 5 --replies 1 "$MESSENGERS/hello.m0")
expect "the injector is answered" "^hello from " "$out"
nbkey="[2130706433 $NB] 0 {} _cha 'udpip G '_key G !"
before=$(counter e tx_stranger) txb=$(counter e tx)
"$M0INJECT" -t "127.0.0.1:$P" -w 0.5 --idle 0.5 \
    -e "20 { P $nbkey 20000 S \$ } L" >/dev/null
eventually "a neighbour gets all 20 sends" " tx=$((txb + 20)) " stats e
[ "$(counter e tx_stranger)" = "$before" ] ||
    fail "sends to the neighbour were counted as a stranger's"
stop e
exit $FAILED
