#!/bin/sh
# The ptrace backend's guest processes never outlive the daemon that
# traces them (docs/kvm.md): after a messenger ran a program natively in
# mdaemon, the daemon's children are its guest processes (one in the
# pool at least); killing the daemon with SIGKILL (no cleanup at all)
# must take every one of them along, and so must a clean SIGTERM. Skips
# (77) unless the active backend is ptrace.
#   test_native_sandbox.sh MDAEMON M0INJECT M0CTL GUESTDIR
. "$(dirname "$0")/lib.sh"
mdaemon=$(abs "$1") m0inject=$(abs "$2") m0ctl=$(abs "$3") guests=$(abs "$4/.")
here=$(cd "$(dirname "$0")" && pwd)
linux=$here/../../messengers/linux.m0

# bounded wait: 0 when "$@" succeeds within 10 s
eventually() { within 100 "$@"; }
alive_any() { for p in $1; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
none_alive() { ! alive_any "$1"; }

round() { # signal
	rm -rf "$tmp/s" && mkdir -p "$tmp/s"
	# the personality and hello together pass 64 KiB, a datagram's and
	# the default max_msg: over TCP, with room
	printf '[limits]\nmax_msg = 1m\n' >"$tmp/conf"
	"$mdaemon" -f -c "$tmp/conf" -l "127.0.0.1:$port" -s "$tmp/s" >/dev/null 2>"$tmp/log" &
	dpid=$!
	eventually "$m0ctl" -s "$tmp/s" status >/dev/null || {
		echo "FAIL daemon did not start"; fails=$((fails + 1)); return; }
	backend=$("$m0ctl" -s "$tmp/s" status | awk '/^native/ {print $2}')
	if [ "$backend" != ptrace ]; then
		echo "backend is '$backend', not ptrace: skipped"
		exit 77
	fi
	got=$(timeout 60 "$m0inject" -t "127.0.0.1:$port" --tcp --data "$guests/hello" \
	    -w 30 --idle 3 "$linux" 2>&1 | grep -v '^$')
	[ "$got" = "hello from native code" ] || {
		echo "FAIL $1: hello said '$got'"; fails=$((fails + 1)); }
	kids=$(pgrep -P "$dpid")
	if [ -z "$kids" ]; then
		echo "FAIL $1: no guest process under the daemon"
		fails=$((fails + 1))
		return
	fi
	kill "-$1" "$dpid"
	wait "$dpid" 2>/dev/null
	dpid=""
	if eventually none_alive "$kids"; then
		echo "ok guests die with the daemon ($1): $(echo $kids | wc -w) gone"
	else
		echo "FAIL $1: guest processes outlived the daemon: $kids"
		fails=$((fails + 1))
	fi
}

round KILL
round TERM
[ $fails = 0 ]
