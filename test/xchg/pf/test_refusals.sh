#!/bin/sh
# Every refusal of the exchange operators is its own MØ error, and hostile
# quotes and tokens change nothing (issue 6, acceptance 3).
. "$(dirname "$0")/lib.sh"
PA=$((BASE + 5)) PB=$((BASE + 6)) PD=$((BASE + 7))
for n in a b; do
	printf '[money]\nepoch = 10000\nquote_ttl = 10\n[exchange]\nclear_key = 00000000c1ea0002\n' >"$tmp/$n.conf"
done
# d's tokens live 60 s: less than the exchange's min_life (600 s)
printf '[money]\ntoken_ttl = 60\n' >"$tmp/d.conf"
start a $PA
start b $PB
start d $PD
pka=$(pk a $PA) pkb=$(pk b $PB) pkd=$(pk d $PD)
qb=$(quote b $PB) qd=$(quote d $PD)
# flip HEX OFFSET: byte OFFSET xor 1
flip() {
	_b=$(printf '%s' "$1" | cut -c$((2 * $2 + 1))-$((2 * $2 + 2)))
	printf '%s%02x%s' "$(printf '%s' "$1" | cut -c1-$((2 * $2)))" \
	    $((0x$_b ^ 1)) "$(printf '%s' "$1" | cut -c$((2 * $2 + 3))-)"
}
tb=$(mint b 1000)
tb2=$(mint b 500)
ta=$(mint a 100)
td=$(mint d 100)
x() { inject a $PA "\\$qb\\ _xlr \\$qd\\ _xlr { $1 } try say" --replies 1; }
check "unknown currency" xchg_unknown "$(x "\\$(printf '%064d' 7)\\ _xqt")"
check "own currency" xchg_own "$(x "\\$pka\\ _xqt")"
check "own token sold" xchg_own "$(x "\\$ta\\ _xsl")"
check "malformed quote" xchg_quote_malformed "$(x '"abc" _xlr')"
check "forged quote" xchg_quote_forged "$(x "\\$(flip "$qb" 100)\\ _xlr")"
check "bad token" xchg_bad_token "$(x "\\$(flip "$tb" 60)\\ _xsl")"
check "token too close to expiry" xchg_token_expired "$(x "\\$td\\ _xsl")"
check "nothing to buy" xchg_empty "$(x "\\$pkb\\ 0 100 _xby")"
check "a quote of a known currency" "ok 193" "$(x "\\$pkb\\ _xqt \`")"
case "$(x "\\$tb\\ _xsl")" in
"ok "*) ok "a genuine token sells" ;;
*) fail "a genuine token does not sell" ;;
esac
check "sold twice" xchg_held "$(x "\\$tb\\ _xsl")"
check "offer too small" xchg_credit "$(x "\\$pkb\\ 0 1 _xby")"
check "wrong clearing key" access_check "$(x "\\$pkb\\ \\0000000000000001\\_ctk _xcl")"
check "cleared without clearing" xchg_state "$(x "[ \\$tb\\ ] [] [] _xcd")"
check "fresh money not backed by cleared" range_check \
    "$(x "[] [] [ \\$tb2\\ ] _xcd")"
check "an expired quote is not learnt" xchg_quote_expired \
    "$(sleep 11; inject a $PA "{ \\$qb\\ _xlr } try say" --replies 1)"
check "nothing sells at an expired rate" xchg_quote_expired \
    "$(inject a $PA "{ \\$tb2\\ _xsl } try say" --replies 1)"
s=$(status a)
check "a's book balances" "$(jnum "$s" minted)" \
    "$(($(jnum "$s" held) + $(jnum "$s" outstanding) + $(jnum "$s" burned) + $(jnum "$s" lost)))"
finish
