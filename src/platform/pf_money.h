/*
 * pf_money.h: internals of the platform's money (pf_money.c: the bank,
 * the MØ operators and group commit; pf_charge.c: accounts, charging,
 * prices and rent). docs/money.md describes the policy.
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
	__int128 owe;             /* fixed point (MONEY_PRICE_SCALE) */
	int64_t offer;            /* price per step offered; 0: the price */
	struct pf_mwait *wait;    /* a _dep or _wdr waiting for its commit */
	bool broke;               /* credit ran out: remove after the slice */
};

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
	uint32_t verifying;       /* deposits on the thread pool */
	struct money_totals snap; /* the book when this commit was started */
	enum money_err commit_err;
	struct pf_link waiters;   /* struct pf_mwait, in ticket order */
	struct pf_link mints;     /* mint requests waiting for no commit */
	/* epochs */
	uv_timer_t epoch;
	int64_t last_epoch_us;
	uint64_t demand_ns; /* running slices, this epoch, doubled while
	                       others queue (pf_sched.c count_demand) */
	uint64_t gmark;                  /* global heap bytes, last seen */
	int64_t sent[MONEY_RES_N];       /* bytes sent, this epoch */
	int64_t native_us;               /* vCPU µs, this epoch */
	uint64_t epochs;
	/* the exchange (pf_xchg.c), when the platform has one: called
	 * after each price epoch */
	struct pf_xchg *xchg;
	void (*epoch_hook)(void *ud, const struct money_prices *p);
	void *epoch_ud;
	/* counters */
	uint64_t removed, deposits, withdrawals, expired_store;
	uint64_t refused_by[PF_REFUSAL_N]; /* refused deposits by kind */
	int e_token[PF_REFUSAL_OTHER]; /* token_malformed ... token_spent */
	int e_credit, e_ledger;
};

/* pf_money.c */
void pf__money_kick(struct pf_money *m);
void pf__money_wait_drop(struct pf_proc *p);
void pf__money_free(struct pf_platform *pf);

/* pf_charge.c */
void pf__acct_open(struct pf_proc *p, bool arrival);
void pf__acct_close(struct pf_proc *p);
int64_t pf__charge_budget(struct pf_proc *p, int64_t slice);
void pf__charge_steps(struct pf_proc *p, uint64_t steps);
bool pf__charge_send(struct pf_proc *p, const char *family, size_t len);
void pf__charge_native(struct pf_proc *p, uint64_t ns);
uint64_t pf__share_us(struct pf_proc *p, uint64_t us);
bool pf__acct_broke(struct pf_proc *p);
void pf__remove_broke(struct pf_proc *p);
int64_t pf__gstore(void *ud, struct m0_state *s);
void pf__epoch_start(struct pf_money *m);
int64_t pf__step_price(struct pf_money *m, const struct pf_acct *a);

/* pf_xchg.c */
struct pf_xchg;
void pf__xchg_close(struct pf_xchg *xs);
void pf__xchg_free(struct pf_xchg *xs);

/* pf_native.c */
uint64_t pf__native_bytes(struct pf_proc *p);

#endif
