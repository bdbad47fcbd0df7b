/*
 * xchg.h: the exchange between platform currencies. Each platform has its
 * own currency (money.h); a messenger that travels changes money at an
 * exchange. This module holds the rate rule (purchasing-power parity from
 * signed price quotes, reserve pressure, a spread, a bounded change per
 * epoch; exact rationals, rounded toward the quoting platform), signed
 * exchange quotes, the reserve of foreign tokens (tables of the state
 * database that the ledger lives in, money_store_open(); states held ->
 * clearing -> cleared / spent) and the exchange itself (quote, sell, buy).
 * Plain C, libsodium and SQLite on top of the money core: no MØ, no
 * libuv. docs/xchg.md describes the rule, its proofs and every format.
 *
 * Threads: everything here belongs to one thread (the daemon's loop).
 * Call money_init() once before anything else.
 */
#ifndef XCHG_H
#define XCHG_H

#include <stddef.h>
#include <stdint.h>

#include "money.h"

/* Error codes: one list generates the enum and xchg_strerror(). */
#define XCHG_ERRMAP(X)                                                         \
	X(NOMEM, "out of memory")                                              \
	X(SYS, "a system call failed (see errno)")                             \
	X(INVAL, "invalid argument")                                           \
	X(RANGE, "rate or amount out of range")                                \
	X(UNKNOWN, "unknown currency (no valid price quote)")                  \
	X(OWN, "own currency: deposit it, do not exchange it")                 \
	X(EMPTY, "reserve holds no fitting token")                             \
	X(CREDIT, "the credit offered does not cover the price")               \
	X(QUOTE_MALFORMED, "exchange quote is malformed")                      \
	X(QUOTE_FORGED, "exchange quote signature is invalid")                 \
	X(QUOTE_EXPIRED, "quote has expired")                                  \
	X(QUOTE_FUTURE, "quote is not valid yet")                              \
	X(STALE, "rates are stale: the new epoch was not rated yet")           \
	X(BAD_TOKEN, "token is malformed or forged")                           \
	X(TOKEN_EXPIRED, "token has expired or expires too soon")              \
	X(HELD, "token is already held by this exchange")                      \
	X(SPENT, "token is known to be spent")                                 \
	X(STATE, "token is not in a state that allows this")                   \
	X(CORRUPT, "reserve tables are corrupt")                               \
	X(BROKEN, "reserve failed a commit; reopen it")                        \
	X(CRASH, "simulated crash (fault injection)")                          \
	X(BUSY, "reserve has a commit in flight or records staged")            \
	X(OLDSTATE, "state directory holds an old-format reserve file")        \
	X(NO_CREDIT,                                                           \
	    "the currency's credit line here is used up or zero "              \
	    "(docs/xchg.md, Trust)")

enum xchg_err {
	XCHG_OK = 0,
#define XCHG__E(id, s) XCHG_ERR_##id,
	XCHG_ERRMAP(XCHG__E)
#undef XCHG__E
	    XCHG_ERR_N
};

/*
 * xchg_strerror: a constant English message for (err); never NULL.
 */
const char *xchg_strerror(enum xchg_err err);

/*
 * xchg_errname: the identifier of (err) without prefix ("UNKNOWN", ...),
 * for MØ error names; never NULL.
 */
const char *xchg_errname(enum xchg_err err);

/* ---- rates (xchg_rate.c) ---- */

/* An exact non-negative rational num/den (den >= 1). A rate is the number
 * of local units paid or asked for one unit of the foreign currency. */
struct xchg_rat {
	uint64_t num;
	uint64_t den;
};

#define XCHG_PPM 1000000

/* The price-level basket: quantities of each resource in a typical visit
 * (docs/xchg.md). The level is sum(weight[r] * price[r]) in fixed point
 * (MONEY_PRICE_SCALE = one unit). */
#define XCHG_BASKET(X)                                                         \
	X(STEP, 10000)                                                         \
	X(MEM, 10000)                                                          \
	X(STORE, 1000)                                                         \
	X(SEND_UDPIP, 1000)                                                    \
	X(SEND_TCPIP, 1000)                                                    \
	X(SEND_CONSOLE, 100)                                                   \
	X(NATIVE, 100)                                                         \
	X(GUEST_MEM, 10000)

struct xchg_rate_param {
	uint32_t spread; /* sigma, ppm: bid <= low parity * (1 - sigma),
	                    ask >= high parity * (1 + sigma); < 10^6 */
	uint32_t press;  /* rho, ppm: largest cut of the bid by pressure */
	int64_t target;  /* reserve value (local units) above which the
	                    bid is cut; full cut at twice it; >= 1 */
	uint32_t denom;  /* D_r: the mid moves at most 1/D_r per epoch */
	uint32_t cover;  /* epochs of foreign price moves the band covers
	                    (0..4) */
	uint32_t pdenom; /* D assumed for every platform's price rule */
};

/* The rate of one foreign currency at one platform. */
struct xchg_rate {
	struct xchg_rat parity; /* own level / foreign level, rounded down */
	struct xchg_rat lo, hi; /* parity band over `cover` epochs */
	struct xchg_rat mid;    /* smoothed: moves <= 1/D_r per epoch */
	struct xchg_rat bid;    /* we pay this per foreign unit we take */
	struct xchg_rat ask;    /* we ask this per foreign unit we give */
	uint32_t pressure;      /* ppm cut applied to the bid */
	uint64_t epochs;        /* updates so far; 0 = not yet rated */
};

/*
 * xchg_rate_param_default: fills (p) with the defaults: spread 1%,
 * pressure up to 5%, target 1000 units, D_r = 8, cover 1, pdenom 8.
 */
void xchg_rate_param_default(struct xchg_rate_param *p);

/*
 * xchg_rate_param_check: Returns XCHG_OK if (p) is in range, else
 * XCHG_ERR_INVAL.
 */
enum xchg_err xchg_rate_param_check(const struct xchg_rate_param *p);

/*
 * xchg_level: the price level of (price) (MONEY_RES_N fixed-point prices,
 * each >= 1): the cost of the basket, in fixed point, into *(level).
 * Returns XCHG_OK, or XCHG_ERR_RANGE when it exceeds 2^64 - 1 or a price
 * is < 1.
 */
enum xchg_err xchg_level(const int64_t price[MONEY_RES_N], uint64_t *level);

/*
 * xchg_rate_update: one epoch of the rule for the foreign currency whose
 * quoted prices are (foreign), at a platform whose own prices are (own),
 * holding (held) foreign units in its reserve: recomputes the parity and
 * its band, moves the mid toward the parity by at most 1/D_r (a first
 * update sets it to the parity), applies the pressure and the spread.
 * On error (r) is unchanged.
 * Returns XCHG_OK, or XCHG_ERR_RANGE (a level or rate cannot be
 * represented), XCHG_ERR_INVAL (bad parameters or prices < 1).
 */
enum xchg_err xchg_rate_update(struct xchg_rate *r,
    const int64_t own[MONEY_RES_N], const int64_t foreign[MONEY_RES_N],
    int64_t held, const struct xchg_rate_param *p);

/*
 * xchg_rat_mul_floor, xchg_rat_mul_ceil: (amount) >= 0 times (r), rounded
 * down (what we pay) or up (what we ask), into *(out).
 * Returns XCHG_OK, or XCHG_ERR_RANGE beyond INT64_MAX, XCHG_ERR_INVAL.
 */
enum xchg_err xchg_rat_mul_floor(
    int64_t amount, struct xchg_rat r, int64_t *out);
enum xchg_err xchg_rat_mul_ceil(
    int64_t amount, struct xchg_rat r, int64_t *out);

/*
 * xchg_rat_cmp: -1, 0 or 1 as (a) is less than, equal to or greater than
 * (b). Exact.
 */
int xchg_rat_cmp(struct xchg_rat a, struct xchg_rat b);

/*
 * xchg_rat_double: (r) as a double, for reports only (never for money).
 */
double xchg_rat_double(struct xchg_rat r);

/* ---- exchange quotes (xchg_quote.c) ---- */

#define XCHG_QUOTE_VERSION 1
#define XCHG_QUOTE_BODY_LEN (1 + 2 * MONEY_PK_LEN + 8 * 8)
#define XCHG_QUOTE_LEN (XCHG_QUOTE_BODY_LEN + MONEY_SIG_LEN) /* 193 */

struct xchg_quote {
	uint8_t version;
	uint8_t issuer[MONEY_PK_LEN];   /* the exchange's platform (local) */
	uint8_t currency[MONEY_PK_LEN]; /* the foreign currency */
	uint64_t epoch;                 /* of the issuer's price rule */
	uint64_t issued;                /* unix seconds */
	uint64_t expires;               /* unix seconds; invalid at and after */
	struct xchg_rat bid;            /* local units paid per foreign unit */
	struct xchg_rat ask;            /* local units asked per foreign unit */
	int64_t avail;                  /* foreign units held for sale */
	uint8_t sig[MONEY_SIG_LEN];
};

/*
 * xchg_quote_sign: fills the version of (q) and signs it by (id) (which
 * must be the issuer) into (q)->sig, and writes the canonical bytes to
 * (out). The other fields are the caller's.
 * Returns XCHG_OK, or XCHG_ERR_INVAL (issuer is not (id), bad rates or
 * times), XCHG_ERR_NOMEM.
 */
enum xchg_err xchg_quote_sign(
    struct money_ident *id, struct xchg_quote *q, uint8_t out[XCHG_QUOTE_LEN]);

/*
 * xchg_quote_encode: the canonical XCHG_QUOTE_LEN bytes of (q) into (out).
 */
void xchg_quote_encode(const struct xchg_quote *q, uint8_t out[XCHG_QUOTE_LEN]);

/*
 * xchg_quote_decode: parses (len) bytes at (buf) into (q), field by field
 * (length, version, issued < expires, denominators >= 1, numerators >= 1,
 * bid <= ask, avail >= 0). Does not verify.
 * Returns XCHG_OK or XCHG_ERR_QUOTE_MALFORMED.
 */
enum xchg_err xchg_quote_decode(
    const uint8_t *buf, size_t len, struct xchg_quote *q);

/*
 * xchg_quote_verify: checks the signature of (q) against its issuer and
 * that (now) lies in [issued, expires).
 * Returns XCHG_OK, or XCHG_ERR_QUOTE_FORGED, XCHG_ERR_QUOTE_FUTURE,
 * XCHG_ERR_QUOTE_EXPIRED.
 */
enum xchg_err xchg_quote_verify(const struct xchg_quote *q, uint64_t now);

/* ---- the reserve of foreign tokens (xchg_reserve.c) ---- */

enum xchg_state {
	XCHG_HELD = 1,     /* in the reserve, for sale */
	XCHG_CLEARING = 2, /* sent to its issuer for a swap */
	XCHG_CLEARED = 3,  /* redeemed by its issuer (the swap came back) */
	XCHG_SPENT = 4,    /* refused by its issuer as spent: a loss */
	XCHG_SOLD = 5,     /* handed to a buyer */
	XCHG_EXPIRED = 6,  /* expired in the reserve: a loss */
};
#define XCHG_STATE_N 7

struct xchg_reserve;

/* Per-currency sums, in foreign units, by state (index xchg_state). */
struct xchg_reserve_sums {
	int64_t amount[XCHG_STATE_N];
	uint64_t tokens[XCHG_STATE_N];
};

struct xchg_reserve_stats {
	uint64_t records; /* rows of xchg_reserve at open or at the last
	                     prune, plus changes committed since: grows by
	                     one per change, as a log would, so that a
	                     caller can prune in proportion to the churn */
	uint64_t entries; /* tokens in the index (rows plus staged adds) */
	uint64_t commits; /* batches made durable since open */
};

/*
 * xchg_reserve_open: opens the reserve in the state database (path)
 * (money_store_open(): created when new; shared with a ledger open on the
 * same file) and loads its index. Free with xchg_reserve_close().
 * Returns XCHG_OK, or XCHG_ERR_CORRUPT (also a database of another
 * program or schema version), XCHG_ERR_SYS, XCHG_ERR_NOMEM.
 */
enum xchg_err xchg_reserve_open(const char *path, struct xchg_reserve **out);

/*
 * xchg_reserve_close: frees (r); NULL is ignored.
 */
void xchg_reserve_close(struct xchg_reserve *r);

/*
 * xchg_reserve_add: records the token (t) (decoded and verified by the
 * caller) as HELD, durably (one committed transaction) before returning. A serial
 * sold earlier may come back; one held, clearing, cleared or spent may not.
 * Returns XCHG_OK, or XCHG_ERR_HELD, XCHG_ERR_SPENT, XCHG_ERR_BROKEN,
 * XCHG_ERR_SYS, XCHG_ERR_RANGE (expiry beyond 2^63 - 1), XCHG_ERR_NOMEM.
 */
enum xchg_err xchg_reserve_add(
    struct xchg_reserve *r, const struct money_token *t);

/*
 * xchg_reserve_set: moves the token (currency, serial) to state (to),
 * durably. Allowed: HELD -> CLEARING, SOLD, EXPIRED; CLEARING -> CLEARED,
 * SPENT, HELD (clearing gave up), EXPIRED.
 * Returns XCHG_OK, or XCHG_ERR_STATE (unknown or not allowed), and the
 * write errors of xchg_reserve_add().
 */
enum xchg_err xchg_reserve_set(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN],
    const uint8_t serial[MONEY_SERIAL_LEN], enum xchg_state to);

/*
 * Group commit. xchg_reserve_stage_add() and xchg_reserve_stage_set() do
 * what xchg_reserve_add() and xchg_reserve_set() do (same checks, same
 * errors, and the index changes at once, so a second request for the
 * serial is refused while the first is staged) but only stage the
 * change, setting *(ticket): the change is durable, and may be
 * acknowledged, once xchg_reserve_durable() >= *(ticket). A commit cuts
 * everything staged into one batch (xchg_reserve_commit_begin(), on the
 * reserve's thread; *(b) is NULL when nothing is staged), writes it in
 * one transaction of the store (xchg_reserve_commit_write(), on any
 * thread: it touches only the store and (b)) and ends
 * (xchg_reserve_commit_end(), on the reserve's thread again; frees (b)).
 * A batch ended without being written (the thread pool refused the work)
 * fails with XCHG_ERR_SYS. One batch at a time: begin returns
 * XCHG_ERR_BUSY while one is in flight, and staging goes on meanwhile. A
 * failed batch breaks the reserve (every waiter must be refused; reopen
 * to learn what is durable). xchg_reserve_commit() runs the three steps
 * inline.
 * Returns XCHG_OK or the errors named above; commit_end returns the
 * batch's error (XCHG_ERR_SYS, XCHG_ERR_CORRUPT, XCHG_ERR_NOMEM).
 */
struct xchg_batch;
enum xchg_err xchg_reserve_stage_add(
    struct xchg_reserve *r, const struct money_token *t, uint64_t *ticket);
enum xchg_err xchg_reserve_stage_set(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN],
    const uint8_t serial[MONEY_SERIAL_LEN], enum xchg_state to,
    uint64_t *ticket);
enum xchg_err xchg_reserve_commit_begin(
    struct xchg_reserve *r, struct xchg_batch **b);
void xchg_reserve_commit_write(struct xchg_batch *b);
enum xchg_err xchg_reserve_commit_end(
    struct xchg_reserve *r, struct xchg_batch *b);
enum xchg_err xchg_reserve_commit(struct xchg_reserve *r);

/*
 * xchg_reserve_durable: the number of the last batch made durable;
 * xchg_reserve_staged: records staged and not yet cut into a batch.
 */
uint64_t xchg_reserve_durable(struct xchg_reserve *r);
uint64_t xchg_reserve_staged(struct xchg_reserve *r);

/*
 * xchg_reserve_lookup: the state of (currency, serial) and its token into
 * (t) (may be NULL). Returns the state, or 0 when unknown.
 */
int xchg_reserve_lookup(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN],
    const uint8_t serial[MONEY_SERIAL_LEN], struct money_token *t);

/*
 * xchg_reserve_sums: the sums for (currency) into (s).
 */
void xchg_reserve_sums(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN], struct xchg_reserve_sums *s);

/*
 * xchg_reserve_pick: chooses a HELD token of (currency) that stays valid
 * until at least (valid_until) and whose amount is at most (most) (<= 0:
 * no limit): the smallest of at least (want) units, or, when (want) is 0
 * or no such token exists, the largest. Fills (t); changes nothing.
 * Returns XCHG_OK, or XCHG_ERR_EMPTY (no valid token at all),
 * XCHG_ERR_CREDIT (valid tokens exist, all larger than (most)).
 */
enum xchg_err xchg_reserve_pick(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN], int64_t want, int64_t most,
    uint64_t valid_until, struct money_token *t);

/*
 * xchg_reserve_expire: moves every HELD or CLEARING token whose expiry is
 * <= (now) to EXPIRED; *(count) (may be NULL) gets the number of tokens
 * (the amounts per currency are in xchg_reserve_sums()).
 * Returns XCHG_OK or the write errors.
 */
enum xchg_err xchg_reserve_expire(
    struct xchg_reserve *r, uint64_t now, uint64_t *count);
/* The same, staged for group commit; *(ticket) as above (0: nothing). */
enum xchg_err xchg_reserve_expire_stage(
    struct xchg_reserve *r, uint64_t now, uint64_t *count, uint64_t *ticket);

/*
 * xchg_reserve_compact: prunes the reserve in one transaction: DELETEs
 * every row but the live ones (HELD and CLEARING, plus CLEARED and SPENT
 * ones not yet expired at (now), which must still refuse their serial),
 * folding the sums of the deleted rows into xchg_pruned so that losses
 * stay counted. Needs nothing staged or in flight (XCHG_ERR_BUSY).
 * Returns XCHG_OK, or XCHG_ERR_BUSY, XCHG_ERR_SYS, XCHG_ERR_CORRUPT,
 * XCHG_ERR_NOMEM; after an error the reserve is broken.
 */
enum xchg_err xchg_reserve_compact(struct xchg_reserve *r, uint64_t now);

/*
 * xchg_reserve_each: calls (fn)(arg, t, state) for every token of
 * (currency) (NULL: all) in state (state) (0: any), in no fixed order;
 * stops when (fn) returns non-zero and returns that value, else 0.
 */
int xchg_reserve_each(struct xchg_reserve *r,
    const uint8_t currency[MONEY_PK_LEN], int state,
    int (*fn)(void *arg, const struct money_token *t, int state), void *arg);

/*
 * xchg_reserve_stats: fills (st).
 */
void xchg_reserve_stats(struct xchg_reserve *r, struct xchg_reserve_stats *st);

/* ---- the exchange (xchg_exchange.c) ---- */

/* A configured credit line: the local units the exchange will mint at
 * most against the held and clearing tokens of (currency), before it has
 * earned more by clearing (docs/xchg.md, Trust). */
#define XCHG_MAX_CREDIT 64
struct xchg_credit {
	uint8_t currency[MONEY_PK_LEN];
	int64_t amount;
};

struct xchg_config {
	struct xchg_rate_param rate;
	struct xchg_credit credit[XCHG_MAX_CREDIT];
	uint32_t ncredit;
	int64_t credit_any;      /* the line of every other currency; 0 */
	uint64_t quote_ttl;      /* seconds an exchange quote is valid; 10 */
	uint64_t min_life;       /* a token sold to us or by us must stay valid
	                            this long (time to clear it); 600 */
	uint32_t max_currencies; /* known currencies at most; 4096 */
	uint64_t quote_life;     /* a learnt price quote counts as valid at most
	                            this long after it was issued, whatever its
	                            own TTL (Theorem 3 wants at most one epoch);
	                            0: its own TTL */
	uint64_t clear_key;      /* the capability a clearing messenger shows to
	                            take held tokens (the daemon's _xcl); 0: no
	                            clearing */
};

struct xchg_exchange;

/*
 * xchg_config_default: fills (c) with the defaults.
 */
void xchg_config_default(struct xchg_config *c);

/*
 * xchg_exchange_open: opens the exchange of the platform (id) (borrowed:
 * it must outlive the exchange) with its reserve in the state database
 * MONEY_STORE_FILE of the directory (dir) (the one the bank uses), using
 * (cfg) (copied; NULL for the defaults). Free with xchg_exchange_close().
 * Returns XCHG_OK, or XCHG_ERR_INVAL, XCHG_ERR_OLDSTATE (the directory
 * still holds the file "reserve" of the former format: nothing is
 * touched) and the errors of xchg_reserve_open().
 */
enum xchg_err xchg_exchange_open(const char *dir, struct money_ident *id,
    const struct xchg_config *cfg, struct xchg_exchange **out);

/*
 * xchg_exchange_close: frees (x) and closes its reserve; NULL is ignored.
 */
void xchg_exchange_close(struct xchg_exchange *x);

/*
 * xchg_exchange_reserve: the reserve of (x) (borrowed), for clearing.
 */
struct xchg_reserve *xchg_exchange_reserve(struct xchg_exchange *x);

/*
 * xchg_exchange_learn: takes note of the price quote in the (len) bytes at
 * (buf) (another platform's money_quote_make()) if it decodes, verifies at
 * (now) and is newer (epoch, then issued) than the one known for its
 * currency. A first quote of a currency rates it at once.
 * Returns XCHG_OK (also for an older quote, which is ignored), or
 * XCHG_ERR_QUOTE_MALFORMED, XCHG_ERR_QUOTE_FORGED, XCHG_ERR_QUOTE_EXPIRED,
 * XCHG_ERR_QUOTE_FUTURE, XCHG_ERR_OWN, XCHG_ERR_RANGE (too many
 * currencies, or no rate), XCHG_ERR_NOMEM.
 */
enum xchg_err xchg_exchange_learn(
    struct xchg_exchange *x, const uint8_t *buf, size_t len, uint64_t now);

/*
 * xchg_exchange_epoch: one epoch of the rate rule for every known
 * currency with the platform's current prices (own) and its reserve.
 * Call once per price epoch, right after money_prices_epoch(); (until) is
 * when the next epoch begins: the rates, and every quote made from them,
 * are valid only before it (sell, buy and quote then fail with
 * XCHG_ERR_STALE until the next call). Currencies whose rate cannot be
 * represented keep their last rate.
 * Returns the number of currencies rated.
 */
size_t xchg_exchange_epoch(
    struct xchg_exchange *x, const struct money_prices *own, uint64_t until);

/*
 * xchg_exchange_credit: the credit line of (currency) in local units at
 * (bid): the configured line (cfg.credit, else cfg.credit_any), plus its
 * cleared units at (bid), less its spent and expired units at (bid),
 * never below 0. A sale is refused (XCHG_ERR_NO_CREDIT) when the held
 * and clearing units of its currency, with the token's, would be worth
 * more than this at the bid (docs/xchg.md, Trust).
 */
int64_t xchg_exchange_credit(struct xchg_exchange *x,
    const uint8_t currency[MONEY_PK_LEN], struct xchg_rat bid);

/*
 * xchg_exchange_rate: the current rate of (currency) (borrowed pointer,
 * valid until the next call on (x)), or NULL when unknown or not rated.
 */
const struct xchg_rate *xchg_exchange_rate(
    struct xchg_exchange *x, const uint8_t currency[MONEY_PK_LEN]);

/*
 * xchg_exchange_quote: signs the bid and ask of (currency) at (now), valid
 * for the configured TTL but never beyond the price quote it rests on nor
 * beyond the end of the own epoch, into (q) and its bytes into (out).
 * Returns XCHG_OK, or XCHG_ERR_UNKNOWN, XCHG_ERR_OWN, XCHG_ERR_QUOTE_EXPIRED
 * (the currency's price quote expired), XCHG_ERR_STALE, XCHG_ERR_NOMEM.
 */
enum xchg_err xchg_exchange_quote(struct xchg_exchange *x,
    const uint8_t currency[MONEY_PK_LEN], uint64_t now, struct xchg_quote *q,
    uint8_t out[XCHG_QUOTE_LEN]);

/*
 * xchg_exchange_sell: a messenger sells the foreign token in the (len)
 * bytes at (tok) at (now). The token is checked offline (decodes, its
 * signature, its expiry at least min_life away, its currency rated from a
 * valid price quote, its serial not held or spent here), then recorded in
 * the reserve durably; only then is *(local) set to the amount to credit:
 * floor(amount * bid). The caller credits it (money_account_deposit or a
 * transfer from the exchange's account).
 * Returns XCHG_OK, or XCHG_ERR_BAD_TOKEN, XCHG_ERR_OWN,
 * XCHG_ERR_TOKEN_EXPIRED, XCHG_ERR_UNKNOWN, XCHG_ERR_QUOTE_EXPIRED,
 * XCHG_ERR_STALE, XCHG_ERR_HELD, XCHG_ERR_SPENT, XCHG_ERR_RANGE and the
 * reserve's write
 * errors (then nothing is to be credited).
 */
enum xchg_err xchg_exchange_sell(struct xchg_exchange *x, const uint8_t *tok,
    size_t len, uint64_t now, int64_t *local);

/*
 * xchg_exchange_buy: a messenger buys one whole token of (currency) from
 * the reserve at (now): with (want) > 0, the smallest held token of at
 * least (want) units whose price fits (offer) local units, or else the
 * largest token whose price fits (offer); with (want) == 0, the largest
 * whose price fits (offer). The price is ceil(amount * ask): the token is
 * sold at its face value, so no change arises (docs/xchg.md). The token is
 * marked SOLD durably before its bytes are written to (out); *(cost) is
 * the local amount to charge, *(amount) the token's face value.
 * Returns XCHG_OK, or XCHG_ERR_UNKNOWN, XCHG_ERR_OWN,
 * XCHG_ERR_QUOTE_EXPIRED, XCHG_ERR_STALE, XCHG_ERR_EMPTY (no token, or none
 * affordable:
 * then XCHG_ERR_CREDIT when a token exists but costs more than (offer)),
 * XCHG_ERR_INVAL, XCHG_ERR_RANGE and the reserve's write errors.
 */
enum xchg_err xchg_exchange_buy(struct xchg_exchange *x,
    const uint8_t currency[MONEY_PK_LEN], int64_t want, int64_t offer,
    uint64_t now, uint8_t out[MONEY_TOKEN_LEN], int64_t *cost, int64_t *amount);

/*
 * xchg_exchange_sell_stage, xchg_exchange_buy_stage: xchg_exchange_sell()
 * and xchg_exchange_buy() with group commit: the same checks and results,
 * but the reserve record is only staged, and *(ticket) is set as by
 * xchg_reserve_stage_add(). Credit the seller, or hand the token to the
 * buyer, only once xchg_reserve_durable() >= *(ticket); if the commit
 * fails, the sale never happened (refund the buyer).
 */
enum xchg_err xchg_exchange_sell_stage(struct xchg_exchange *x,
    const uint8_t *tok, size_t len, uint64_t now, int64_t *local,
    uint64_t *ticket);
enum xchg_err xchg_exchange_buy_stage(struct xchg_exchange *x,
    const uint8_t currency[MONEY_PK_LEN], int64_t want, int64_t offer,
    uint64_t now, uint8_t out[MONEY_TOKEN_LEN], int64_t *cost, int64_t *amount,
    uint64_t *ticket);

/*
 * xchg_exchange_config: the configuration (x) runs with (borrowed).
 */
const struct xchg_config *xchg_exchange_config(struct xchg_exchange *x);

#endif /* XCHG_H */
