#!/bin/sh
# m0ctl operates a daemon: status shows version, identity, state and each
# neighbour's liveness and round trip; reload rereads the configuration;
# stop stops it cleanly; mdaemon --log writes the log to a file; the
# default limits end a runaway arrival.
. "$(dirname "$0")/../platform/lib.sh"
A=$BASE B=$((BASE + 1))
printf '[neighbours]\nb = localhost:%s\n' $B >"$T/a.conf"
# a logs to a file: wait for "ready:" there.
"$MDAEMON" -f -l 127.0.0.1:$A -s "$T/a" -c "$T/a.conf" --log "$T/a.file" \
    >"$T/a.out" 2>"$T/a.log" &
echo $! >"$T/a.pid"
PIDS="$PIDS $!"
i=0
while ! grep -q "ready:" "$T/a.file" 2>/dev/null && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.05
done
start b $B -N a=127.0.0.1:$A
pk=$("$MDAEMON" -p -s "$T/a")

"$M0INJECT" -t 127.0.0.1:$A --replies 1 "$MESSENGERS/ping.m0" >/dev/null
st=$("$M0CTL" -s "$T/a" status)
expect "status: version" "^version +[0-9]" "$st"
expect "status: identity" "^identity +$pk$" "$st"
expect "status: _hid _pid" "^_hid _pid +[0-9a-f]{16} [0-9a-f]{16}$" "$st"
expect "status: state" "^state +$T/a$" "$st"
expect "status: neighbour heard, sent, round trip" \
    "^b +127\.0\.0\.1:$B +plain +heard [0-9.]+ s ago, sent [0-9.]+ s ago, round trip [0-9]+ us$" "$st"
js=$("$M0CTL" -s "$T/a" --json status)
expect "status --json: neighbour" "\"b\":\{\"address\":\"127.0.0.1:$B\"" "$js"
expect "status --json parses" "^ok$" \
    "$(printf '%s' "$js" | python3 -c 'import json,sys; json.load(sys.stdin); print("ok")')"

printf 'c = 127.0.0.1:9\n' >>"$T/a.conf"
expect "reload: new neighbours" "^reload: 2 neighbours$" "$("$M0CTL" -s "$T/a" reload)"
expect "reload: _nbr sees them" "^c$" \
    "$("$M0INJECT" -t 127.0.0.1:$A --replies 1 -e "_ori 2 G _ori 1 G {} _cha _ori 0 G G '_key G ! _nbr 'c K { \"c\" } { \"none\" } ? \$")"

# Arrivals are limited on a free platform unless configured, not on a
# charged one (money limits them); the shipped config keeps the defaults.
expect "free: limited" "^limits per process: 1000000000 steps, 86400 s" \
    "$("$MDAEMON" -n | grep "^limits per process")"
expect "charged: money limits" "^limits per process: 0 steps, 0 s" \
    "$("$MDAEMON" -n --economy charged | grep "^limits per process")"
printf '[limits]\nmax_steps = 0\nmax_life = 5\n' >"$T/off.conf"
expect "configured: as said" "^limits per process: 0 steps, 5 s" \
    "$("$MDAEMON" -n -c "$T/off.conf" | grep "^limits per process")"
expect "shipped config: defaults" "^limits per process: 1000000000 steps, 86400 s" \
    "$("$MDAEMON" -n -c "$MESSENGERS/../dist/mdaemon.conf" | grep "^limits per process")"

expect "stop: answered" "^stopping$" "$("$M0CTL" -s "$T/a" stop)"
pid=$(cat "$T/a.pid")
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then fail "m0ctl stop: still running"; else echo "ok: m0ctl stop"; fi
expect "--log FILE: time-stamped lines" \
    "^[0-9-]{10}T[0-9:]{8}Z mdaemon: info: m0ctl stop: shutting down$" "$(cat "$T/a.file")"
expect "--log FILE: nothing on stderr" "^$" "$(grep -v '^$' "$T/a.log")"
exit $FAILED
