#!/bin/sh
# Prices follow load (issue 5, acceptance 4; docs/money.md "Prices"): on a
# charged daemon with 100 ms epochs, one CPU-bound messenger alone leaves
# the step price where it is; two CPU-bound messengers (funded far
# beyond what they can spend here) make the step price rise epoch by
# epoch, never by more than 1/8 (or 1 while 1/8 rounds to nothing); when
# they are killed it falls, never by more than 1/8 per epoch, back to
# where it started (or to 7, where 1/8 of it rounds to nothing).
. "$(dirname "$0")/lib.sh"
P=$((BASE + 5))
printf '[money]\nepoch = 100\n' >"$tmp/p.conf"
start p $P --economy charged

# sample N: N samples "epoch price" of the step price, 30 ms apart
sample() {
	_i=0
	while [ $_i -lt "$1" ]; do
		_s=$(status p)
		echo "$(jnum "$_s" epoch) $(jnum "$_s" step)"
		sleep 0.03
		_i=$((_i + 1))
	done
}
# wait_epochs N: until the daemon has run N more price epochs (30 s at most)
wait_epochs() {
	_e0=$(jnum "$(status p)" epoch)
	_i=0
	while [ $(($(jnum "$(status p)" epoch) - _e0)) -lt "$1" ] && [ $_i -lt 1000 ]; do
		sleep 0.03
		_i=$((_i + 1))
	done
}
# idle: until ps lists no process (10 s at most)
wait_idle() {
	_i=0
	while [ "$("$M0CTL" -s "$tmp/p" ps | awk 'NR > 1' | wc -l)" -gt 0 ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
sample 3 >"$tmp/idle0"
killall_p() {
	for id in $("$M0CTL" -s "$tmp/p" ps | awk 'NR > 1 { print $1 }'); do
		"$M0CTL" -s "$tmp/p" kill "$id" >/dev/null
	done
}
# One CPU-bound messenger alone takes the processor without queueing:
# the step price holds (it demands half of the capacity, the target).
# The old rule, busy time against the epoch, raised it 1/8 every epoch.
"$M0INJECT" -t 127.0.0.1:$P -w 0.1 --fund 1000000000000 -s "$tmp/p" \
    -e "1 N { 1 P } L" >/dev/null
sample 1 >"$tmp/alone"
wait_epochs 20
sample 1 >>"$tmp/alone"
killall_p
set -- $(tr '\n' ' ' <"$tmp/alone")
echo "one messenger alone: step price $2 at epoch $1, $4 at epoch $3"
check "one messenger alone ran 20 epochs" 1 "$([ $(($3 - $1)) -ge 15 ] && echo 1)"
check "the price holds for one messenger alone" 1 \
    "$([ $(($4 * 8)) -le $(($2 * 9)) ] && echo 1)"
wait_idle
for i in 1 2; do
	"$M0INJECT" -t 127.0.0.1:$P -w 0.1 --fund 1000000000000 -s "$tmp/p" \
	    -e "1 N { 1 P } L" >/dev/null
done
sample 50 >"$tmp/load"
"$M0CTL" -s "$tmp/p" ps
killall_p
check "load ended" 0 "$(jnum "$(status p)" running)"
# idle: until the price has not moved for three epochs (at most 300
# samples, about 15 s)
i=0
while [ $i -lt 300 ]; do
	sample 1 >>"$tmp/idle1"
	i=$((i + 1))
	[ $i -lt 10 ] && continue
	tail -n 10 "$tmp/idle1" | awk 'NR == 1 { e = $1; p = $2 } $2 != p { m = 1 }
	    END { exit !(m == 0 && $1 - e >= 3) }' && break
done

# bounds FILE RISE|FALL: checks each step between samples against the
# rule for the epochs between them; prints the curve and the verdict
bounds() {
	awk -v dir="$2" '
	{
		if (NR > 1 && $1 > pe) {
			k = $1 - pe
			hi = pp; lo = pp
			for (i = 0; i < k; i++) {
				d = int(hi / 8); hi += d > 0 ? d : 1
				lo -= int(lo / 8)
			}
			if ($2 > hi || $2 < lo) {
				bad++
				printf "bad: epoch %d price %d -> epoch %d price %d\n", pe, pp, $1, $2 > "/dev/stderr"
			}
			if (dir == "RISE" && $2 < pp) wrong++
			if (dir == "FALL" && $2 > pp) wrong++
			curve = curve " " $2 "@" $1
		}
		if (NR == 1) { first = $2; curve = $2 "@" $1 }
		if (NR == 1 || $1 > pe) { pe = $1; pp = $2 }
	}
	END { printf "%d %d %d %d %s\n", bad, wrong, first, pp, curve }' "$1"
}
set -- $(bounds "$tmp/load" RISE)
echo "under load (price@epoch): ${*#* * * * }"
check "rises within 1/8 per epoch" 0 "$1"
check "never falls under load" 0 "$2"
start_p=$3 peak=$4
[ "$peak" -ge $((4 * start_p)) ] &&
    ok "step price rose from $start_p to $peak" ||
    fail "step price did not rise enough: $start_p -> $peak"
# The epoch the load ended in may still have been busy: the curve starts
# after it.
awk 'NR == 1 { e = $1 } $1 > e + 1' "$tmp/idle1" >"$tmp/idle2"
set -- $(bounds "$tmp/idle2" FALL)
echo "idle (price@epoch): ${*#* * * * }"
check "falls within 1/8 per epoch" 0 "$1"
check "never rises when idle" 0 "$2"
end=$4
# Where it stops: the floor, or where 1/8 of it rounds to nothing (7).
bottom=$start_p
[ "$bottom" -lt 7 ] && bottom=7
[ "$end" -le "$bottom" ] && ok "step price fell back from $peak to $end" ||
    fail "step price did not fall back: $peak -> $end"
finish
