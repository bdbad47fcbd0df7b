#!/bin/sh
# Link buffers in the memory budget (issue 15, item 3). The daemon has a
# 48 MiB budget and a per-connection send queue (tcp_queue) far above it,
# so only the budget can bound what links hold. Two origins attack at once:
# 127.0.0.2 opens TCP connections and floods them with messengers that each
# answer 240 KB on the connection they came on, and never reads a byte;
# 127.0.0.3 sends one messenger that queues 3000 sends of 60 KB over TCP
# to a peer that accepts and never reads. Then: the daemon is alive, its
# RSS stays within the budget plus the documented slack (16 MiB: code,
# libraries, the allocator's free lists), link_memory counts the refused
# buffers, the links' bytes came back down after the attackers hung up,
# and a benign messenger from a third origin (127.0.0.1) is answered
# within 1 s while the attackers hold their connections.
. "$(dirname "$0")/lib.sh"
HOSTILE=$1
P=$BASE SINK=$((BASE + 1))
printf '[platform]\negress_allow = 127.0.0.0/8\n[limits]\nmemory = 48m\ntcp_queue = 1g\n' >"$T/l.conf"
rss_bound $((49152 + 16384)) # the budget and the slack
start l "$P" -c "$T/l.conf"
pid=$(cat "$T/l.pid")
python3 - "$SINK" >"$T/sink.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
print("listening", flush=True)
s.settimeout(30)
held = []
try:
    while True:
        c, _ = s.accept()
        held.append(c)  # accepted, never read
except socket.timeout:
    pass
PY
spid=$!
wait_line "$T/sink.out" listening
REPLY='4 { P _ori 2 G _ori 1 G {} _cha _ori 0 G G '"'"'_key G ! 60000 S $ } L'
SLOW="3000 { P [2130706433 $SINK] 0 {} _cha 'tcpip G '_key G ! 60000 S \$ } L"
"$HOSTILE" "$P" from 127.0.0.3 send 1 "$SLOW" from 127.0.0.2 \
    tcpflood 4 300 "$REPLY" hold 30 >/dev/null 2>&1 &
hpid=$!
PIDS="$PIDS $hpid $spid"
# The attack is on once buffers have been refused (bounded: 10 s).
i=0
while [ "$(counter l link_memory)" = 0 ] && [ $i -lt 50 ]; do
	kill -0 "$pid" 2>/dev/null || break
	i=$((i + 1))
	sleep 0.2
done
kill -0 "$pid" 2>/dev/null && echo "ok: daemon alive under the attack" ||
    fail "daemon died"
st=$(stats l)
expect "link_memory counted" " link_memory=[1-9]" "$st"
held=$(printf '%s\n' "$st" | tr ' ' '\n' | sed -n 's/^buf_bytes=//p')
[ "${held:-0}" -gt 4000000 ] && echo "ok: links hold $held bytes" ||
    fail "links hold only [$held] bytes: the attack did not queue"
answered "$P"
rss=$(sed -n 's/^VmHWM:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
[ "${rss:-999999}" -le $LIMIT_KB ] &&
    echo "ok: peak RSS ${rss} kB within $LIMIT_KB kB (budget + slack)" ||
    fail "peak RSS ${rss} kB over $LIMIT_KB kB (budget + slack)"
echo "figures: peak_rss_kb=$rss answer_ms=$ANSWER_MS buf_bytes=$held $(printf '%s\n' "$st" | tr ' ' '\n' | grep -E '^(budget_used|budget_refused|link_memory|memory|tx_queue|tcp_open)=' | tr '\n' ' ')"
# Hung up: every link buffer goes back to the budget.
kill "$hpid" "$spid" 2>/dev/null
wait "$hpid" "$spid" 2>/dev/null
eventually "links give their bytes back" " buf_bytes=[0-9]{1,5}( |$)" stats l
stop l
exit $FAILED
