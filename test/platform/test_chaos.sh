#!/bin/sh
# Chaos (issue 15): from one origin (127.0.0.2) a fork bomb whose
# processes hold 256 KiB each, queue churn (stopping fresh queues in a
# loop) and a UDP flood, each bounded in count; the daemon has a 64 MiB
# budget and otherwise default limits. Then: it is alive, its RSS is
# within the budget, a benign messenger from another origin (127.0.0.1)
# is answered within 1 s, the counters show the drops, and one
# `m0ctl kill -f` removes the bomb's family.
. "$(dirname "$0")/lib.sh"
HOSTILE=$1
P=$BASE
printf '[limits]\nmemory = 64m\n' >"$T/c.conf"
rss_bound 65536
start c "$P" -c "$T/c.conf"
pid=$(cat "$T/c.pid")
BOMB='[ 0 ] 14 { P 0 I + } L 2 { P 0 [ ; _cod null ] _ctm $ } L 1 N { 1 P } L'
CHURN='200000 { P ; 1 Q } L'
"$HOSTILE" "$P" from 127.0.0.2 send 1 "$BOMB" send 5 "$CHURN" \
    flood 3000 >/dev/null 2>&1 || fail "hostile could not send"
# Let the bomb grow to its caps (bounded: 3 s).
sleep_until=$(($(date +%s) + 3))
while [ "$(date +%s)" -lt $sleep_until ]; do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
kill -0 "$pid" 2>/dev/null && echo "ok: daemon alive under the bomb" ||
    fail "daemon died"
rss=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
[ "${rss:-999999}" -le $LIMIT_KB ] &&
    echo "ok: RSS ${rss} kB within $LIMIT_KB kB (budget 64 MiB)" ||
    fail "RSS ${rss} kB over $LIMIT_KB kB (budget 64 MiB)"
answered "$P"
st=$(stats c)
# A bomb child whose heap cannot grow ends with nomemory: budget_refused.
for k in budget_refused proc_queues; do
	expect "$k counted" " $k=[1-9]" "$st"
done
out=$("$M0CTL" -s "$T/c" kill -f 1)
expect "kill -f removes the bomb's family" "^killed ([2-9]|[1-9][0-9]+) processes" "$out"
kill -0 "$pid" 2>/dev/null || fail "daemon died"
echo "figures: rss_kb=$rss answer_ms=$ANSWER_MS $(printf '%s\n' "$st" | tr ' ' '\n' | grep -E '^(created|memory|proc_cap|origin_procs|proc_queues|queue_cap|budget_used|budget_refused)=' | tr '\n' ' ')"
stop c
exit $FAILED
