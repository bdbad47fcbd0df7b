/*
 * pf_money.h: internals of the platform's economy, which plugs into the
 * core through include/pf_svc.h: pf_money.c (the bank as the service
 * "money", the MØ operators and group commit), pf_charge.c (the meter:
 * accounts and charging), pf_share.c (the share rule), pf_epoch.c (the
 * price epoch and rent). docs/money.md describes the policy.
 */
#ifndef PF_MONEY_H
#define PF_MONEY_H

#include "money.h"
#include "pf_int.h"

/* A process's money: credit it can spend on anything, the arrival
 * allowance that pays only for steps, and charges not yet a whole unit. */
struct pf_acct {
	struct money_account credit;
	struct money_account allow;
	__int128 owe;          /* fixed point (MONEY_PRICE_SCALE) */
	int64_t offer;         /* price per step offered; 0: the price */
	struct pf_mwait *wait; /* a _dep or _wdr waiting for its commit */
	bool broke;            /* credit ran out: the verdict is BROKE */
};

/* The account of a process on a platform with money. */
#define ACCT(p) ((struct pf_acct *)pf_proc_meter(p))

enum pf_mwait_kind { PF_MW_DEP, PF_MW_WDR, PF_MW_MINT };

/* Something waiting until the ledger has made a batch durable. */
struct pf_mwait {
	struct pf_link link;
	enum pf_mwait_kind kind;
	struct pf_proc *p; /* NULL once the process has gone */
	uint64_t ticket;
	int64_t amount;
	uint8_t token[MONEY_TOKEN_LEN]; /* _wdr and mint: the new token */
	pf_mint_cb cb;
	void *ud;
};

struct pf_money {
	struct pf_platform *pf;
	struct money_bank *bank;
	struct pf_money_config cfg;
	struct money_prices prices;
	struct money_account dead; /* closed: deposits of gone processes burn */
	/* group commit on the libuv thread pool, one at a time */
	uv_work_t work;
	bool committing;
	bool closing;             /* pf_close(): report when idle */
	uint32_t verifying;       /* deposits on the thread pool */
	struct money_totals snap; /* the book when this commit was started */
	enum money_err commit_err;
	struct pf_link waiters; /* struct pf_mwait, in ticket order */
	struct pf_link mints;   /* mint requests waiting for no commit */
	/* epochs (pf_epoch.c) */
	uv_timer_t *epoch; /* its own allocation: freed in its callback */
	int64_t last_epoch_us;
	uint64_t demand_ns;        /* running slices, this epoch, doubled while
	                       others queue (the meter's busy hook) */
	uint64_t gmark;            /* global heap bytes, last seen */
	struct pf_proc *turning;   /* between turn and steps: parent of a `$` */
	int64_t sent[MONEY_RES_N]; /* bytes sent, this epoch */
	int64_t native_us;         /* vCPU µs, this epoch */
	uint64_t epochs;
	/* called after each price epoch: the exchange (pf_xchg.c) */
	void (*epoch_hook)(void *ud, const struct money_prices *p);
	void *epoch_ud;
	/* counters */
	uint64_t deposits, withdrawals, expired_store;
	uint64_t refused_by[PF_REFUSAL_N]; /* refused deposits by kind */
	int e_token[PF_REFUSAL_OTHER];     /* token_malformed ... token_spent */
	int e_credit, e_ledger;
};

/* pf_money.c */
void pf__money_kick(struct pf_money *m);
void pf__money_wait_drop(struct pf_proc *p);
void pf__money_idle(struct pf_money *m);

/* pf_charge.c: the meter */
void pf__meter_fill(struct pf_money *m, struct pf_meter *mt);
void pf__charge_rent(struct pf_money *m, struct pf_proc *p, uint64_t heap,
    uint64_t guest, int64_t dt_us);

/* pf_share.c: the share rule (docs/money.md "Scheduling by payment") */
#define PF_MAX_SHARE 100 /* a turn is at most this many normal turns */
int64_t pf__share_weight(int64_t offer, int64_t price);
int64_t pf__share_turn(int64_t base, int64_t offer, int64_t price);
int64_t pf__share_pay(int64_t offer, int64_t price);

/* pf_epoch.c */
int pf__epoch_start(struct pf_money *m);
void pf__epoch_close(struct pf_money *m);

#endif
