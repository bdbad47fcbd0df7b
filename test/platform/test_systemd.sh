#!/bin/sh
# What systemd relies on (Type=notify, the journal): with NOTIFY_SOCKET
# set, mdaemon sends READY=1 there once it listens (so a messenger sent
# after it is answered); with JOURNAL_STREAM set, every log line on stderr
# starts with its syslog priority, <6> for info and <4> for warnings.
. "$(dirname "$0")/lib.sh"
P=$BASE
python3 - "$T/notify" >"$T/notify.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
print("bound", flush=True)
try:
    print(s.recv(256).decode(), flush=True)
except socket.timeout:
    print("nothing", flush=True)
PY
npid=$!
i=0
until grep -q bound "$T/notify.out" 2>/dev/null || [ $i -gt 100 ]; do
	i=$((i + 1))
	sleep 0.05
done
NOTIFY_SOCKET="$T/notify" JOURNAL_STREAM=8:1234 "$MDAEMON" -f \
    -l "127.0.0.1:$P" -s "$T/sd" >"$T/sd.out" 2>"$T/sd.log" &
dpid=$!
PIDS="$PIDS $dpid"
wait $npid
expect "READY=1 on NOTIFY_SOCKET" "^READY=1$" "$(cat "$T/notify.out")"
out=$("$M0INJECT" -t "127.0.0.1:$P" -w 5 --replies 1 "$MESSENGERS/hello.m0")
expect "answered once ready" "^hello from " "$out"
kill -TERM $dpid
wait $dpid
expect "info lines carry <6>" "^<6>" "$(grep ready "$T/sd.log")"
bad=$(grep -cv '^<[0-7]>' "$T/sd.log")
[ "$bad" = 0 ] && echo "ok: every journal line has a priority" ||
    fail "$bad log lines without a <N> prefix: $(grep -v '^<[0-7]>' "$T/sd.log" | head -3)"
# A warning: a bad -N is reported (and the daemon refuses to start).
JOURNAL_STREAM=8:1234 "$MDAEMON" -f -l "127.0.0.1:$P" -s "$T/sd2" \
    -N "bad=127.0.0.1:$((P + 1)) 00" 2>"$T/sd2.log"
expect "a warning carries <4>" "^<4>warning: -N" "$(cat "$T/sd2.log")"
exit $FAILED
