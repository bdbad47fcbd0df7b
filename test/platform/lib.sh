# lib.sh: helpers of the multi-daemon tests (sourced). Daemons run on
# 127.0.0.1 ports from a block claimed in test/ports.sh, each with its
# own state directory under a temporary directory that is always removed,
# and every daemon started here is killed on exit.
# Needs MDAEMON, M0INJECT, MESSENGERS in the environment.
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/mzero-test.XXXXXX")
. "${MZERO_TESTDIR:-$(dirname "$0")/..}/ports.sh"
port_block || exit 1
PIDS=""
FAILED=0

cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	# the ports go back only once their daemons are gone
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
	port_release
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*"
	FAILED=1
}

# start NAME PORT [mdaemon args...]: runs a daemon in the foreground,
# stdout in $T/NAME.out, log in $T/NAME.log; waits until it is ready.
start() {
	name=$1 port=$2
	shift 2
	# A restart must not find the last run's "ready:": the redirection
	# below truncates the log only once the child runs, maybe after the
	# first look.
	rm -f "$T/$name.log"
	"$MDAEMON" -f -l "127.0.0.1:$port" -s "$T/$name" "$@" \
	    >"$T/$name.out" 2>"$T/$name.log" &
	echo $! >"$T/$name.pid"
	PIDS="$PIDS $!"
	i=0
	while ! grep -q "ready:" "$T/$name.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$(cat "$T/$name.pid")" 2>/dev/null; then
			echo "daemon $name did not start:"
			cat "$T/$name.log"
			exit 1
		fi
		sleep 0.05
	done
}

# stats NAME: asks for the counters, prints the two log lines.
stats() {
	before=$(grep -c '^.*drops:' "$T/$1.log")
	kill -USR1 "$(cat "$T/$1.pid")"
	i=0
	while [ "$(grep -c '^.*drops:' "$T/$1.log")" = "$before" ] && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	grep -E 'stats:|drops:' "$T/$1.log" | tail -n 2
}

# counter NAME KEY: one counter from the last stats of NAME.
counter() {
	stats "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -n 1
}

# stop NAME: SIGTERM, then the daemon must exit 0 within 5 s.
stop() {
	pid=$(cat "$T/$1.pid")
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "daemon $1 did not stop on SIGTERM"
		return
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	[ $rc = 0 ] || fail "daemon $1 exited with $rc"
	grep -q "stopped" "$T/$1.log" || fail "daemon $1: no clean stop"
}

expect() {
	# expect WHAT PATTERN TEXT
	if printf '%s\n' "$3" | grep -qE -- "$2"; then
		echo "ok: $1"
	else
		fail "$1: wanted /$2/, got:"
		printf '%s\n' "$3" | sed 's/^/  | /'
	fi
}

# eventually WHAT PATTERN CMD...: runs CMD until its output matches (5 s
# at most), then judges it like expect. For state that settles after a
# signal or an arrival, on a machine that may be busy.
eventually() {
	what=$1 pat=$2
	shift 2
	i=0
	while :; do
		got=$("$@" 2>&1)
		if printf '%s\n' "$got" | grep -qE -- "$pat" || [ $i -ge 50 ]; then
			break
		fi
		i=$((i + 1))
		sleep 0.1
	done
	expect "$what" "$pat" "$got"
}

# wait_line FILE PATTERN: waits (5 s at most) until FILE has a line
# matching PATTERN, e.g. a helper's "listening".
wait_line() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null || [ $i -gt 100 ]; do
		i=$((i + 1))
		sleep 0.05
	done
}

# rss_bound KB: sets LIMIT_KB, the RSS bound for KB of budget (and
# slack); under AddressSanitizer (shadow memory and redzones) twice
# that, with a small quarantine. Call it before starting the daemon.
rss_bound() {
	LIMIT_KB=$1
	if grep -q __asan_init "$MDAEMON"; then
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
		export ASAN_OPTIONS
		LIMIT_KB=$(($1 * 2))
	fi
}

# answered PORT: a benign messenger from 127.0.0.1 (hello.m0) must be
# answered within 1 s (the best of three tries); sets ANSWER_MS.
answered() {
	ANSWER_MS=999999
	for try in 1 2 3; do
		t0=$(date +%s%N)
		out=$("$M0INJECT" -w 1 --replies 1 -t "127.0.0.1:$1" \
		    "$MESSENGERS/hello.m0")
		ms=$((($(date +%s%N) - t0) / 1000000))
		if printf '%s\n' "$out" | grep -q "^hello from"; then
			ANSWER_MS=$ms
			break
		fi
	done
	[ $ANSWER_MS -lt 1000 ] &&
	    echo "ok: benign origin answered in $ANSWER_MS ms" ||
	    fail "benign origin not answered within 1 s: $out"
}
