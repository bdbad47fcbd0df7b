# lib.sh: the start of every native script test (sourced, POSIX sh): a
# scratch directory, a claimed block of ports (test/ports.sh; the daemon
# a test starts listens on $port), and a clean-up that kills the daemon
# in $dpid, waits for it and gives the ports back; check counts failures
# in $fails.
set -u
# abs PATH: PATH made absolute (the tests cd around)
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
tmp=$(mktemp -d)
. "$(dirname "$0")/../ports.sh"
port_block || exit 1
port=$BASE
dpid=""
cleanup() {
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
	port_release
}
trap cleanup EXIT INT TERM
fails=0
check() { # name want got
	if [ "$2" = "$3" ]; then
		echo "ok $1"
	else
		printf 'FAIL %s\n--- want\n%s\n--- got\n%s\n' "$1" "$2" "$3"
		fails=$((fails + 1))
	fi
}
# within TENTHS CMD...: 0 as soon as CMD succeeds (its stderr dropped),
# 1 when it has not after TENTHS tries 0.1 s apart: every bounded wait
within() {
	_w_n=$1 _w_i=0
	shift
	until "$@" 2>/dev/null; do
		_w_i=$((_w_i + 1))
		[ $_w_i -ge "$_w_n" ] && return 1
		sleep 0.1
	done
}
