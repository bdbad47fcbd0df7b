/*
 * fund_local.h: --fund on an embedded platform, for m0 and m0run: mints
 * (amount) at the platform's own bank and returns the messenger's code
 * with a deposit of the token put before it, as pf_ctl_fund does through
 * a daemon's control socket. It runs (loop) until the mint is committed,
 * so call it from a tool's main, never from a callback.
 */
#ifndef FUND_LOCAL_H
#define FUND_LOCAL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "pf.h"

struct fund_minted {
	bool done;
	int err;
	uint8_t token[MONEY_TOKEN_LEN];
};

static void
fund_minted(void *ud, int err, const uint8_t *token)
{
	struct fund_minted *m = ud;
	m->done = true;
	m->err = err;
	if (!err)
		memcpy(m->token, token, sizeof(m->token));
}

/* Returns malloc'd `"\xHH.." _dep P` and a newline followed by the (*len)
 * bytes of (code), NUL-terminated, and sets (*len) to its length; NULL
 * after a message on stderr that starts with (tool). */
static char *
fund_local(uv_loop_t *loop, struct pf_platform *pf, long long amount,
    const char *code, size_t *len, const char *tool)
{
	struct fund_minted m = {0};
	if (pf_money_mint(pf, amount, fund_minted, &m)) {
		fprintf(stderr, "%s: --fund: the platform cannot mint\n", tool);
		return NULL;
	}
	while (!m.done)
		uv_run(loop, UV_RUN_ONCE);
	if (m.err) {
		fprintf(
		    stderr, "%s: --fund: %s\n", tool, money_strerror(m.err));
		return NULL;
	}
	char *out = malloc(4 * MONEY_TOKEN_LEN + 16 + *len + 1), *w = out;
	if (!out) {
		fprintf(stderr, "%s: out of memory\n", tool);
		return NULL;
	}
	*w++ = '"';
	for (size_t i = 0; i < sizeof(m.token); i++, w += 4)
		snprintf(w, 5, "\\x%02x", m.token[i]);
	w += sprintf(w, "\" _dep P\n");
	memcpy(w, code, *len);
	w[*len] = 0;
	*len += (size_t)(w - out);
	return out;
}

#endif /* FUND_LOCAL_H */
