#!/bin/sh
# Slow TCP peers cannot stop a platform's TCP (issue 15, item 6). One
# host (127.0.0.3) opens connections that announce a frame and trickle a
# byte every 0.2 s: past tcp_per_host its connections are refused and
# counted, the trickling ones are closed when their frame's deadline
# (tcp_frame, 1 s here) passes however often bytes arrive, and all the
# while a messenger from another host over TCP is answered.
. "$(dirname "$0")/lib.sh"
P=$BASE
printf '[limits]\ntcp_conns = 6\ntcp_per_host = 3\ntcp_frame = 1\n' \
    >"$T/slow.conf"
start slow "$P" -c "$T/slow.conf"
python3 - "$P" >"$T/attack.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks, refused = [], 0
for i in range(5):
    s = socket.socket()
    s.bind(("127.0.0.3", 0))
    s.connect(("127.0.0.1", port))
    # A messenger header that announces 60000 bytes of code.
    s.sendall(bytes([0, 0, 0, 0]) + bytes(8) + (60000).to_bytes(4, "big"))
    socks.append(s)
time.sleep(0.3)
alive = []
for s in socks:
    s.setblocking(False)
    try:
        closed = s.recv(1) == b""
    except BlockingIOError:
        closed = False
    except OSError:
        closed = True
    (refused := refused + 1) if closed else alive.append(s)
print("refused", refused)
# Trickle one byte every 0.2 s for up to 4 s; count when each is closed.
t0, cut = time.time(), {}
while alive and time.time() - t0 < 4:
    for s in list(alive):
        try:
            s.send(b"x")
            if s.recv(1) == b"":
                raise OSError
        except BlockingIOError:
            pass
        except OSError:
            cut[s] = time.time() - t0
            alive.remove(s)
    time.sleep(0.2)
print("cut", len(cut), "alive", len(alive))
PY
apid=$!
# Meanwhile (once the slow connections stand), from 127.0.0.1: a
# messenger over TCP is answered.
i=0
until grep -q "^refused" "$T/attack.out" || [ $i -gt 100 ]; do
	i=$((i + 1))
	sleep 0.05
done
out=$("$M0INJECT" -t "127.0.0.1:$P" --tcp -w 5 --replies 1 "$MESSENGERS/hello.m0")
case $out in
"hello from "*) echo "ok: TCP answered while slow peers held connections" ;;
*) fail "TCP hello while under slowloris: [$out]" ;;
esac
wait $apid
cat "$T/attack.out"
grep -q "^refused 2$" "$T/attack.out" ||
    fail "the host's 4th and 5th connections were not refused"
grep -q "^cut 3 alive 0$" "$T/attack.out" ||
    fail "trickling connections were not closed at their frame deadline"
[ "$(counter slow tcp_host_cap)" = 2 ] || fail "tcp_host_cap not 2"
[ "$(counter slow tcp_slow)" = 3 ] || fail "tcp_slow not 3"
stop slow
exit $FAILED
