/*
 * xchg_int.h: internals shared by the files of src/xchg: big-endian field
 * access, 128-bit rationals, the reserve's memory. Not installed.
 */
#ifndef XCHG_INT_H
#define XCHG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sodium.h>

#include "xchg.h"

/* Domain labels for signatures and hashes (docs/xchg.md). */
#define XCHG__DOM_XQUOTE "mzero/xquote/v1"

typedef unsigned __int128 xchg_u128;

static inline void
xchg__put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t
xchg__get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * xchg__rat_make: n/d (d >= 1) as a 64-bit rational into *(out), exact
 * when it fits after reduction, else rounded down ((up) == 0) or up.
 * Returns 0, or -1 when d is 0, or the value rounded up does not fit,
 * or rounded down is 0 while n is not.
 */
int xchg__rat_make(xchg_u128 n, xchg_u128 d, int up, struct xchg_rat *out);

/* The basket level of (price) in 128 bits; 0 when a price is < 1. */
xchg_u128 xchg__level128(const int64_t price[MONEY_RES_N]);

/* ---- the reserve's index (xchg_index.c) and store (xchg_reserve.c) ---- */

/* One token the reserve knows, in a stable array. */
struct xchg__ent {
	struct money_token tok;
	int64_t rowid; /* its row in xchg_reserve; 0 until staged */
	uint32_t cur;  /* index into curs */
	uint32_t hpos; /* position in the currency's held list, when HELD */
	uint8_t state;
};

/* One currency: its sums by state and the list of HELD entries. */
struct xchg__cur {
	uint8_t pk[MONEY_PK_LEN];
	struct xchg_reserve_sums sums;
	uint32_t *held; /* entry indices */
	uint32_t nheld, capheld;
};

/* A staged change: a token added as HELD, or a state change. */
struct xchg__op {
	uint8_t type;           /* XCHG__OP_ADD, XCHG__OP_STATE */
	uint8_t to;             /* the new state */
	int64_t rowid;          /* the row it writes */
	struct money_token tok; /* ADD: all of it; STATE: unused */
};
#define XCHG__OP_ADD 1
#define XCHG__OP_STATE 2

/* A batch cut for commit (xchg_reserve_commit_begin): written in one
 * transaction of the store by any thread, then ended on the owner's. */
struct xchg_batch {
	struct money_store *store;
	struct xchg__op *ops;
	size_t n;
	uint64_t no;       /* batch number: the tickets it makes durable */
	enum xchg_err err; /* XCHG_ERR_SYS until written */
};

struct xchg_reserve {
	struct money_store *store;
	int broken;
	/* group commit: changes staged since the last cut */
	struct xchg__op *stage;
	size_t nstage, capstage;
	uint64_t batch;   /* last batch cut */
	uint64_t durable; /* last batch made durable */
	int inflight;     /* a batch is being written */
	uint64_t commits;
	uint64_t records;   /* rows at open or prune plus changes since */
	int64_t next_rowid; /* for the next token added */
	/* index */
	struct xchg__ent *ents;
	uint32_t nents, capents;
	uint32_t *etab; /* entry index + 1; 0 empty */
	uint32_t etabsz;
	struct xchg__cur *curs;
	uint32_t ncurs, capcurs;
	uint32_t *ctab; /* cur index + 1 */
	uint32_t ctabsz;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

/* The index of currency (pk), created when (create); -1 if absent or out
 * of memory. */
long xchg__cur_find(struct xchg_reserve *r, const uint8_t *pk, int create);
/* The entry of (pk, serial), or -1. */
long xchg__ent_find(
    struct xchg_reserve *r, const uint8_t *pk, const uint8_t *serial);
/* Moves entry (e) to state (to), keeping sums and held lists; -1 when
 * out of memory (nothing changed). */
int xchg__ent_set(struct xchg_reserve *r, uint32_t e, int to);
/* Adds (t) as HELD (or re-adds a token sold or expired here).
 * Returns XCHG_OK, XCHG_ERR_HELD, XCHG_ERR_SPENT or XCHG_ERR_NOMEM. */
enum xchg_err xchg__apply_add(
    struct xchg_reserve *r, const struct money_token *t);
/* Whether a token in (state) may be added again, and whether the state
 * machine allows (from) -> (to). */
int xchg__may_readd(int state);
int xchg__transition_ok(int from, int to);
void xchg__free_index(struct xchg_reserve *r);

#endif /* XCHG_INT_H */
