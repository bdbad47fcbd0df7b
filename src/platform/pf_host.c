/*
 * pf_host.c: one host assembled the same way for m0 and mdaemon: the
 * platform, then with a state directory the bank (identity, ledger,
 * book), the money on it and the exchange beside it. Each service owns
 * its own setup and teardown; this file only keeps the order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "money.h"
#include "pf.h"
#include "xchg.h"

/* A learnt price quote counts for one price epoch at most (whole
 * seconds, at least 1), as the exchange's no-gain proof assumes. */
static uint64_t
quote_life(int64_t epoch_ms)
{
	int64_t ep = epoch_ms > 0 ? epoch_ms : PF_EPOCH_MS;
	return ep >= 2000 ? (uint64_t)(ep / 1000) : 1;
}

/* The exchange, its reserve in STATEDIR/reserve and its [exchange]
 * settings. The reserve is compacted here, before the loop runs,
 * because compaction syncs on the calling thread. */
static int
exchange_open(
    struct pf_host *h, const struct pf_host_config *c, char *err, size_t errlen)
{
	struct xchg_config xc;
	xchg_config_default(&xc);
	xc.quote_life = quote_life(c->money.epoch_ms);
	const struct pf_xchg_conf *x = c->xchg;
	if (x) {
		xc.clear_key = x->clear_key;
		xc.credit_any = x->credit_any;
		for (int i = 0; i < x->ncredit && i < XCHG_MAX_CREDIT; i++) {
			memcpy(xc.credit[i].currency, x->credit[i].pk, 32);
			xc.credit[i].amount = x->credit[i].amount;
			xc.ncredit = (uint32_t)i + 1;
		}
		if (x->spread)
			xc.rate.spread = (uint32_t)x->spread;
		if (x->target)
			xc.rate.target = x->target;
		if (x->min_life_s)
			xc.min_life = (uint64_t)x->min_life_s;
		if (x->quote_ttl_s)
			xc.quote_ttl = (uint64_t)x->quote_ttl_s;
	}
	enum xchg_err e =
	    xchg_exchange_open(c->state_dir, h->bank->ident, &xc, &h->xchg);
	if (!e)
		e = xchg_reserve_compact(
		    xchg_exchange_reserve(h->xchg), (uint64_t)time(NULL));
	if (e) {
		snprintf(err, errlen, "exchange: %s/reserve: %s", c->state_dir,
		    xchg_strerror(e));
		return PF_ERR_EXCHANGE;
	}
	return PF_OK;
}

static int
bank_open(struct pf_host *h, const struct pf_host_config *c,
    struct pf_config *pc, char *err, size_t errlen)
{
	if (mkdir(c->state_dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", c->state_dir, strerror(errno));
		return PF_ERR_STATE;
	}
	if (!(h->bank = calloc(1, sizeof(*h->bank)))) {
		snprintf(err, errlen, "out of memory");
		return PF_ERR_NOMEM;
	}
	enum money_err me = money_init();
	if (!me)
		me = money_bank_open(h->bank, c->state_dir);
	if (me) {
		snprintf(err, errlen, "state directory %s: %s", c->state_dir,
		    money_strerror(me));
		free(h->bank);
		h->bank = NULL;
		return PF_ERR_BANK;
	}
	/* _hid and _pid derive from the public key (docs/money.md), and
	 * _pid names the currency. */
	const uint8_t *hid = money_ident_hid(h->bank->ident);
	const uint8_t *pid = money_ident_pid(h->bank->ident);
	pc->hid = pc->pid = 0;
	for (int i = 0; i < 8; i++) {
		pc->hid = pc->hid << 8 | hid[i];
		pc->pid = pc->pid << 8 | pid[i];
	}
	return PF_OK;
}

int
pf_host_open(struct pf_host *h, uv_loop_t *loop, const struct pf_host_config *c,
    char *err, size_t errlen)
{
	struct pf_config pc = c->pf;
	int e = PF_OK;
	*h = (struct pf_host){.loop = loop};
	snprintf(err, errlen, "out of memory");
	if (c->state_dir && (e = bank_open(h, c, &pc, err, errlen)))
		return e;
	if (!(h->pf = pf_new(loop, &pc))) {
		e = PF_ERR_NOMEM;
		goto err_bank;
	}
	if ((e = pf_add_console(h->pf)))
		goto err_pf;
	/* Native code; without /dev/kvm its operators raise
	 * native_unavailable and the platform runs on. */
	if (c->native && (e = pf_native_init(h->pf, 0, 0, c->native_warm != 0)))
		goto err_pf;
	if (!h->bank)
		return PF_OK;
	if ((e = pf_money_init(h->pf, h->bank, &c->money))) {
		snprintf(err, errlen, "money: %s", pf_strerror(e));
		goto err_pf;
	}
	if ((e = exchange_open(h, c, err, errlen)))
		goto err_pf;
	if ((e = pf_xchg_init(h->pf, h->xchg))) {
		snprintf(err, errlen, "exchange: %s", pf_strerror(e));
		goto err_pf;
	}
	return PF_OK;
err_pf:
	/* Nothing has run, so nothing is in flight: the platform goes once
	 * the caller runs the loop, and no service touches the bank then. */
	pf_free(h->pf);
	h->pf = NULL;
	xchg_exchange_close(h->xchg);
	h->xchg = NULL;
err_bank:
	if (h->bank) {
		money_bank_close(h->bank);
		free(h->bank);
		h->bank = NULL;
	}
	return e;
}

void
pf_host_close(struct pf_host *h)
{
	pf_close(h->pf);
}

/* The platform borrowed the exchange and the bank: they close after it;
 * the bank's final commit then finds every account closed, so nothing
 * held is lost. */
void
pf_host_free(struct pf_host *h)
{
	pf_free(h->pf);
	h->pf = NULL;
	xchg_exchange_close(h->xchg);
	h->xchg = NULL;
	if (h->bank) {
		money_bank_close(h->bank);
		free(h->bank);
		h->bank = NULL;
	}
}
