#!/bin/sh
# Scheduling by payment (issue 10, acceptance 3; docs/money.md "Scheduling
# by payment"): two CPU-bound messengers on a charged daemon with the
# default 1 s price epoch offer prices per step (_ofr); the steps they run
# in the same window match the ratio of their offers within 5%. 1:1 runs
# for 1.2 s; 2:1 and 10:1 run for 10 s with the lower offer at the
# initial step price, so the price (rising by 1/8 per epoch under this
# load, about 3.2 times in 10 s) overtakes the lower offer, and in the
# 2:1 case the higher one too: shares follow offers at any price.
. "$(dirname "$0")/lib.sh"
port=$((BASE + 6))

# steps JSON ID
steps() {
	printf '%s' "$1" | grep -o "\"id\":$2,[^}]*" | grep -o '"steps":[0-9]*' |
	    cut -d: -f2
}
# pair NAME LO HI SECONDS: offers of LO and HI times the initial step
# price, steps counted over SECONDS
pair() {
	start "$1" $port --economy charged
	p0=$(jnum "$(status "$1")" step)
	set -- "$1" $(($2 * p0)) $(($3 * p0)) "$4"
	for o in "$2" "$3"; do
		"$M0INJECT" -t 127.0.0.1:$port -w 0.1 --fund 1000000000000 \
		    -s "$tmp/$1" -e "$o _ofr 1 N { 1 P } L" >/dev/null
	done
	# both running: each has deposited its fund and run a few slices
	_i=0
	while [ $_i -lt 100 ]; do
		_a=$("$M0CTL" -s "$tmp/$1" --json ps)
		_l=$(steps "$_a" 1) _h=$(steps "$_a" 2)
		[ "${_l:-0}" -gt 1000000 ] && [ "${_h:-0}" -gt 1000000 ] && break
		sleep 0.05
		_i=$((_i + 1))
	done
	sleep "$4" # the measuring window, not a wait for an event
	_b=$("$M0CTL" -s "$tmp/$1" --json ps)
	_p=$(jnum "$(status "$1")" step)
	stop "$dpid"
	dl=$(($(steps "$_b" 1) - _l)) dh=$(($(steps "$_b" 2) - _h))
	awk -v dl="$dl" -v dh="$dh" -v lo="$2" -v hi="$3" -v p="$_p" -v n="$1" '
	BEGIN {
		want = hi / lo; got = dl > 0 ? dh / dl : 0
		printf "%s: offers %d:%d, steps %d : %d, ratio %.4f (want %.4f, %+.2f%%), step price at the end %d\n",
		    n, hi, lo, dh, dl, got, want, (got / want - 1) * 100, p
		exit (got >= want * 0.95 && got <= want * 1.05) ? 0 : 1
	}' && ok "$1 share within 5%" || fail "$1 share off by more than 5%"
	port=$((port + 1))
}
pair 1to1 10 10 1.2
pair 2to1 1 2 10
pair 10to1 1 10 10
finish
