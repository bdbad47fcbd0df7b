#!/bin/sh
# Handing money to a local child on a charged daemon (issue 15, item 7;
# docs/money.md "Handing money to a child"): a funded messenger withdraws
# a token and submits a child ($) carrying it; the parent pays the
# child's first steps from its credit, so the child lives to deposit the
# token and reports its balance; and the book balances.
. "$(dirname "$0")/lib.sh"
P=$((BASE + 4))
start a "$P" --economy charged
s0=$(status a)
child="$SAY _dat _dep P \"child \" _bal _cte + say"
got=$(inject "$P" "_ori [ ; \"$(printf '%s' "$child" | sed 's/"/\\"/g')\" 50 _wdr ] _ctm \$ \"parent \" _bal _cte + say" \
    --fund 300 -s "$tmp/a" --replies 2 2>/dev/null)
echo "$got"
pb=$(printf '%s\n' "$got" | sed -n 's/^parent \([0-9]*\).*/\1/p')
cb=$(printf '%s\n' "$got" | sed -n 's/^child \([0-9]*\).*/\1/p')
# the token's 50 and the parent's 100, less its steps
if [ -n "$cb" ] && [ "$cb" -gt 140 ] && [ "$cb" -le 150 ]; then
	ok "the child deposited the token: balance $cb"
else
	fail "the child did not report a deposit: [$got]"
fi
# _bal counts the parent's own allowance (100): 300 funded + 100 - 50
# withdrawn - one allowance (100) handed over - steps; without the gift
# it would be 350
if [ -n "$pb" ] && [ "$pb" -le 250 ] && [ "$pb" -gt 200 ]; then
	ok "the parent paid the child's first steps: balance $pb"
else
	fail "parent balance [$pb], want 201..250"
fi
s=$(status a)
check "the book balances" "$(jnum "$s" minted)" \
    "$(($(jnum "$s" held) + $(jnum "$s" outstanding) + $(jnum "$s" burned) + $(jnum "$s" lost)))"
finish
