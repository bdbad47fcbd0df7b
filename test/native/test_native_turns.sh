#!/bin/sh
# A guest's turns (docs/native.md, "The loop is never blocked longer than
# a slice"): while another process waits to run, a native run is cut
# into 2 ms turns, so that process gets the processor between them; a
# guest alone runs 10 ms turns, since each turn's end stops it and passes
# through the scheduler for nobody. The daemon counts the turns (m0ctl
# status: native turns); a guest spins through a 100 ms budget alone,
# then again while a messenger spins in MØ next to it (for 3 s: the pair
# takes about 0.15 s unloaded, so the spinner outlasts the guest even on
# a machine twenty times slower).
#   test_native_turns.sh MDAEMON M0CTL
. "$(dirname "$0")/lib.sh"
mdaemon=$(abs "$1") m0ctl=$(abs "$2")

cat >"$tmp/guest.m0" <<'M0'
. 'df {. 3 1 R :} :
'k 4194304 _nnw df
k 1044480 \ebfe\ 13 _nld k D 0 I 'rip 1044480 : _nsr
k 100000 _nrn P
M0
cat >"$tmp/spin.m0" <<'M0'
. 'df {. 3 1 R :} :
'st @ df 1N {@ st - 3000000 > {Z} {} ?} L
M0
mkdir -p "$tmp/s"
"$mdaemon" -f -l "127.0.0.1:$port" -s "$tmp/s" >/dev/null 2>"$tmp/log" &
dpid=$!
st() { "$m0ctl" -s "$tmp/s" status 2>/dev/null; }
have_ended() { st | grep -q "^processes .* $1 ended"; }
# bounded wait (20 s) until N processes have ended
ended() { within 200 have_ended "$1"; }
turns() { st | sed -n 's/^native .* \([0-9]*\) turns.*/\1/p'; }
ended 0 || { echo "FAIL the daemon did not start"; exit 1; }
case $(st | grep '^native') in
*"none backend"*)
	echo "no native backend: skipped"
	exit 77 ;;
esac
"$m0ctl" -s "$tmp/s" inject "$tmp/guest.m0" >/dev/null
ended 1 || echo "the guest did not end"
alone=$(turns)
"$m0ctl" -s "$tmp/s" inject "$tmp/spin.m0" >/dev/null
"$m0ctl" -s "$tmp/s" inject "$tmp/guest.m0" >/dev/null
ended 3 || echo "the guest and the spinner did not end"
shared=$(($(turns) - alone))
echo "100 ms of guest time: $alone turns alone, $shared next to a spinner"
check turns-alone 1 "$([ "$alone" -ge 9 ] && [ "$alone" -le 20 ] && echo 1)"
check turns-shared 1 "$([ "$shared" -ge 35 ] && echo 1)"
[ $fails = 0 ]
