/*
 * money.h: the platform's local currency. A platform is named by a
 * persistent Ed25519 identity; its currency is that public key. Money leaves
 * a process as a bearer token (a signed, canonically encoded note) and comes
 * back through the spent-serial ledger, kept in the platform's SQLite state
 * database (the store) so that no token is accepted twice and no
 * acknowledged deposit is lost, whatever the moment of a crash. Around that: process accounts and the conservation book
 * (minted = held + outstanding + burned + lost), one price per resource that
 * follows load by a bounded local rule, signed price quotes for other
 * platforms, and stride scheduling by payment. Plain C, libsodium and
 * SQLite, no MØ and no libuv; docs/money.md describes every format byte by
 * byte and the tables of the store.
 *
 * Threads: a ledger may be used from several threads (one mutex; group
 * commit lets concurrent deposits share one transaction). The store may be
 * used from several threads (one mutex). An identity may sign
 * from several threads. Books, accounts, prices and shares belong to one
 * thread (the daemon's loop). Call money_init() once before anything else.
 */
#ifndef MONEY_H
#define MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Error codes: one list generates the enum and money_strerror(). */
#define MONEY_ERRMAP(X)                                                        \
	X(NOMEM, "out of memory")                                              \
	X(SYS, "a system call failed (see errno)")                             \
	X(INVAL, "invalid argument")                                           \
	X(IDENT, "identity file is corrupt or readable by others")             \
	X(MALFORMED, "token is malformed")                                     \
	X(FORGED, "token is forged")                                           \
	X(ALTERED, "token was altered")                                        \
	X(FOREIGN, "token is of another currency")                             \
	X(EXPIRED, "token has expired")                                        \
	X(SPENT, "token was already spent")                                    \
	X(DUP, "serial already issued")                                        \
	X(OVERFLOW, "amount out of range (docs/money.md, Bounds)")             \
	X(CREDIT, "not enough credit")                                         \
	X(CLOSED, "account is closed")                                         \
	X(CORRUPT,                                                             \
	    "state database is corrupt or truncated; see docs/money.md")       \
	X(BROKEN, "ledger failed a write or sync; reopen it")                  \
	X(BUSY, "ledger has staged records")                                   \
	X(CRASH, "simulated crash (fault injection)")                          \
	X(QUOTE_MALFORMED, "price quote is malformed")                         \
	X(QUOTE_FORGED, "price quote signature is invalid")                    \
	X(QUOTE_EXPIRED, "price quote has expired")                            \
	X(QUOTE_FUTURE, "price quote is not valid yet")                        \
	X(SCHEMA, "state database is another program's or another version")    \
	X(OLDSTATE,                                                            \
	    "state directory holds old-format ledger or reserve "              \
	    "files; see docs/money.md")                                        \
	X(NOIDENT,                                                             \
	    "the identity file is missing beside an existing state "           \
	    "database; see docs/money.md, Recovery")

enum money_err {
	MONEY_OK = 0,
#define MONEY__E(id, s) MONEY_ERR_##id,
	MONEY_ERRMAP(MONEY__E)
#undef MONEY__E
	    MONEY_ERR_N
};

#define MONEY_PK_LEN 32     /* Ed25519 public key = currency name */
#define MONEY_SIG_LEN 64    /* Ed25519 detached signature */
#define MONEY_SERIAL_LEN 16 /* random token serial */
#define MONEY_ID_LEN 8      /* _pid, _hid */

/* Bearer token: see docs/money.md. Fields in this order, big-endian. */
#define MONEY_TOKEN_VERSION 1
#define MONEY_TOKEN_BODY_LEN (1 + MONEY_PK_LEN + MONEY_SERIAL_LEN + 8 + 8)
#define MONEY_TOKEN_LEN (MONEY_TOKEN_BODY_LEN + MONEY_SIG_LEN) /* 129 */

struct money_token {
	uint8_t version;
	uint8_t currency[MONEY_PK_LEN];
	uint8_t serial[MONEY_SERIAL_LEN];
	int64_t amount;  /* > 0 */
	uint64_t expiry; /* unix seconds; refused at and after this second */
	uint8_t sig[MONEY_SIG_LEN];
};

/* The totals that the ledger persists with every commit. */
struct money_totals {
	int64_t minted; /* tokens minted plus arrival allowances */
	int64_t burned; /* charged, left on close, expired unredeemed */
	int64_t lost;   /* held by processes when the platform died */
};

/* Resources that have a price. Names as MØ sees them in `_prc`. */
#define MONEY_RESMAP(X)                                                        \
	X(STEP, "step")             /* one interpreter step */                 \
	X(MEM, "mem")               /* one local-heap byte for one second */   \
	X(STORE, "store")           /* one byte in `_` for one second */       \
	X(SEND_UDPIP, "send_udpip") /* one byte sent */                        \
	X(SEND_TCPIP, "send_tcpip")                                            \
	X(SEND_CONSOLE, "send_console")                                        \
	X(NATIVE, "native")       /* one µs of vCPU time */                   \
	X(GUEST_MEM, "guest_mem") /* one guest byte for one second */

enum money_res {
#define MONEY__R(id, s) MONEY_RES_##id,
	MONEY_RESMAP(MONEY__R)
#undef MONEY__R
	    MONEY_RES_N
};

/* Prices are int64 fixed point: MONEY_PRICE_SCALE = one currency unit. */
#define MONEY_PRICE_SCALE 1000000
#define MONEY_PPM 1000000 /* utilization and targets, parts per million */

struct money_price_param {
	int64_t initial; /* starting price, fixed point; >= floor */
	int64_t floor;   /* lowest price, >= 1 */
	int64_t ceil;    /* highest price */
	int64_t target;  /* utilization target, ppm, 1 .. MONEY_PPM */
	int64_t denom;   /* D: step at most 1/D per epoch, >= 1; 8 default */
};

struct money_prices {
	uint64_t epoch;
	int64_t price[MONEY_RES_N];
	struct money_price_param param[MONEY_RES_N];
};

/* Signed price quote: see docs/money.md. */
#define MONEY_QUOTE_VERSION 1
#define MONEY_QUOTE_BODY_LEN                                                   \
	(1 + MONEY_PK_LEN + 8 + 8 + 8 + 1 + 9 * MONEY_RES_N)
#define MONEY_QUOTE_LEN (MONEY_QUOTE_BODY_LEN + MONEY_SIG_LEN)

struct money_quote {
	uint8_t version;
	uint8_t issuer[MONEY_PK_LEN];
	uint64_t epoch;
	uint64_t issued;  /* unix seconds */
	uint64_t expires; /* unix seconds; invalid at and after */
	int64_t price[MONEY_RES_N];
	uint8_t sig[MONEY_SIG_LEN];
};

/* Ledger record flags for money_ledger_stage_issue(). */
enum money_issue_kind {
	MONEY_ISSUE_MINT = 1,     /* new money (administrative act) */
	MONEY_ISSUE_WITHDRAW = 2, /* credit turned into a token */
};

/* What the ledger knows about a serial. */
struct money_serial_info {
	int issued;      /* an ISSUE record is committed */
	int spent;       /* a SPEND record is committed or staged */
	int64_t amount;  /* as issued */
	uint64_t expiry; /* as issued */
};

struct money_ledger_stats {
	uint64_t records;    /* rows of money_serial (issued serials) */
	uint64_t serials;    /* serials known (rows plus staged issues) */
	uint64_t commits;    /* commits since open */
	int64_t outstanding; /* issued, not spent, not yet pruned */
};

/* Conservation book and accounts: one thread. */
struct money_book {
	int64_t minted, held, outstanding, burned, lost;
	int64_t charged; /* part of burned that was charged for services */
	uint64_t open_accounts;
};

struct money_account {
	int64_t credit;
	int closed;
};

/* Stride scheduling by payment (one per process or native context). */
struct money_share {
	uint64_t pass;   /* virtual time; smallest runs next */
	uint64_t stride; /* MONEY_SHARE_STRIDE1 / offer */
	int64_t offer;   /* price offered per step, fixed point, >= 1 */
};
#define MONEY_SHARE_STRIDE1 ((uint64_t)1 << 32)

struct money_ident;  /* persistent Ed25519 identity */
struct money_ledger; /* spent/issued serial ledger */
struct money_store;  /* the state database (SQLite) */
struct sqlite3;
struct sqlite3_stmt;

/*
 * money_strerror: a constant English message for (err); never NULL.
 */
const char *money_strerror(enum money_err err);

/*
 * money_init: initialises libsodium. Call once before any other function;
 * further calls are harmless. Returns MONEY_OK, or MONEY_ERR_SYS.
 */
enum money_err money_init(void);

/* ---- the store (money_store.c) ---- */

/* The schema version of the state database (`PRAGMA user_version`). */
#define MONEY_STORE_SCHEMA 1
/* Its file name in a state directory. */
#define MONEY_STORE_FILE "state.db"

/*
 * money_store_open: opens the SQLite state database (path), creating it
 * (mode 0600) with the schema when new, in WAL journal mode with
 * synchronous=FULL: what a transaction wrote is on disk when it commits.
 * Opening a file that is already open in this process returns the same
 * handle (so the ledger and the exchange reserve share one connection);
 * each open needs one money_store_close().
 * Returns MONEY_OK, or MONEY_ERR_SCHEMA (another program's database or
 * another schema version), MONEY_ERR_CORRUPT, MONEY_ERR_SYS,
 * MONEY_ERR_NOMEM.
 */
enum money_err money_store_open(const char *path, struct money_store **out);

/*
 * money_store_close: drops one reference to (s), closing the database
 * with the last. NULL is ignored.
 */
void money_store_close(struct money_store *s);

/*
 * money_store_run: the one commit path. Runs (fn)(db, arg) inside one
 * write transaction (BEGIN IMMEDIATE ... COMMIT) holding the store's
 * mutex, from any thread; (fn) returns SQLITE_OK or an SQLite error code.
 * When it returns MONEY_OK everything (fn) wrote is durable; otherwise
 * the transaction was rolled back (after a failed COMMIT SQLite decides
 * at the next open whether it reached the disk).
 * Returns MONEY_OK, or MONEY_ERR_SYS, MONEY_ERR_CORRUPT, MONEY_ERR_NOMEM.
 */
typedef int (*money_store_fn)(struct sqlite3 *db, void *arg);
enum money_err money_store_run(
    struct money_store *s, money_store_fn fn, void *arg);

/*
 * money_store_stmt: inside (fn) of money_store_run() on (db), the
 * statement for (sql), prepared at its first use and kept until the
 * store closes, into *(out). (sql) must be a static string (the cache is
 * keyed by its address, at most 16 of them per store); the statement is
 * borrowed: bind, step and reset it (money_store_step()), never finalize.
 * Returns SQLITE_OK or an SQLite error code.
 */
int money_store_stmt(
    struct sqlite3 *db, const char *sql, struct sqlite3_stmt **out);

/*
 * money_store_err: the money error for an SQLite result code (rc).
 * money_store_step: steps (st) once and resets it; SQLITE_OK when it ran
 * to completion, else the SQLite error.
 */
enum money_err money_store_err(int rc);
int money_store_step(struct sqlite3_stmt *st);

/* ---- identity (money_ident.c) ---- */

/*
 * money_ident_open: loads the identity from the file "identity" in the
 * directory (dir), creating a fresh key pair there (mode 0600, written
 * atomically) when the file is missing. The secret key lives only in
 * sodium_malloc memory. The caller owns *(out) and frees it with
 * money_ident_free().
 * Returns MONEY_OK. On error *(out) is NULL: MONEY_ERR_SYS (errno set),
 * MONEY_ERR_IDENT (wrong size, key mismatch, or group/other permissions),
 * MONEY_ERR_NOMEM.
 */
enum money_err money_ident_open(const char *dir, struct money_ident **out);

/*
 * money_ident_free: wipes and frees (id); NULL is ignored.
 */
void money_ident_free(struct money_ident *id);

/*
 * money_ident_pk: the public key of (id) (MONEY_PK_LEN bytes), which names
 * its currency. Borrowed; valid until money_ident_free().
 */
const uint8_t *money_ident_pk(const struct money_ident *id);

/*
 * money_ident_pid, money_ident_hid: the platform id `_pid` and the host id
 * `_hid` (MONEY_ID_LEN bytes each) of (id), derived from its public key by
 * money_pid_of() / money_hid_of(). Borrowed.
 */
const uint8_t *money_ident_pid(const struct money_ident *id);
const uint8_t *money_ident_hid(const struct money_ident *id);

/*
 * money_pid_of, money_hid_of: derive the ids of any currency key (pk) into
 * (out): keyed BLAKE2b-64 of the key under two distinct keys
 * ("mzero/pid/v1", "mzero/hid/v1"). So a foreign currency's _pid can be
 * computed from its tokens.
 */
void money_pid_of(const uint8_t pk[MONEY_PK_LEN], uint8_t out[MONEY_ID_LEN]);
void money_hid_of(const uint8_t pk[MONEY_PK_LEN], uint8_t out[MONEY_ID_LEN]);

/*
 * money_ident_sign: signs (len) bytes at (msg) prefixed with the
 * NUL-terminated domain label (domain) (label bytes and its NUL are signed
 * too, so a signature for one purpose never verifies for another) and
 * writes the detached signature to (sig). Thread-safe.
 * Returns MONEY_OK, or MONEY_ERR_NOMEM / MONEY_ERR_INVAL.
 */
enum money_err money_ident_sign(struct money_ident *id, const char *domain,
    const uint8_t *msg, size_t len, uint8_t sig[MONEY_SIG_LEN]);

/*
 * money_ident_box_sk: the X25519 secret key of (id) (the Ed25519 key
 * converted, for crypto_box with neighbours) into (out), which should be
 * sodium_malloc memory that the caller wipes.
 * Returns MONEY_OK, or MONEY_ERR_IDENT.
 */
enum money_err money_ident_box_sk(struct money_ident *id, uint8_t out[32]);

/*
 * money_sig_verify: checks (sig) over (domain) and (msg, len), as made by
 * money_ident_sign(), against the public key (pk).
 * Returns 1 if valid, 0 if not.
 */
int money_sig_verify(const uint8_t pk[MONEY_PK_LEN], const char *domain,
    const uint8_t *msg, size_t len, const uint8_t sig[MONEY_SIG_LEN]);

/* ---- tokens (money_token.c) ---- */

/*
 * money_token_sign: fills (t) as a fresh token of the currency of (id): a
 * random serial, (amount) units (> 0), (expiry) in unix seconds, signed.
 * Issuing means nothing until the serial is committed in the ledger: use
 * money_bank_mint() or money_bank_withdraw() rather than this alone.
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW (amount <= 0), MONEY_ERR_NOMEM.
 */
enum money_err money_token_sign(struct money_ident *id, int64_t amount,
    uint64_t expiry, struct money_token *t);

/*
 * money_token_encode: writes the canonical MONEY_TOKEN_LEN bytes of (t)
 * to (out). Pure.
 */
void money_token_encode(
    const struct money_token *t, uint8_t out[MONEY_TOKEN_LEN]);

/*
 * money_token_decode: parses (len) bytes at (buf) into (t), checking the
 * length, the version and that the amount is positive. Does not verify.
 * Returns MONEY_OK, or MONEY_ERR_MALFORMED.
 */
enum money_err money_token_decode(
    const uint8_t *buf, size_t len, struct money_token *t);

/*
 * money_token_verify: checks the signature of (t) against the currency key
 * inside it, so any platform can verify any token offline.
 * Returns MONEY_OK, or MONEY_ERR_FORGED.
 */
enum money_err money_token_verify(const struct money_token *t);

/*
 * money_token_classify: decides whether the issuer (id) with ledger (l)
 * would redeem the (len) bytes at (buf) at time (now), without changing
 * anything; fills (t) when the bytes parse. Order of checks, first match
 * wins: MALFORMED (does not parse); ALTERED (signature fails but the serial
 * is one we issued); FORGED (signature fails, serial unknown); FOREIGN
 * (valid, another currency); EXPIRED; FORGED (valid signature but a serial
 * we never issued: stolen key or lost ledger); ALTERED (amount or expiry
 * differ from our record); SPENT (spent or staged to be spent).
 * Returns MONEY_OK when the token may be redeemed.
 */
enum money_err money_token_classify(struct money_ident *id,
    struct money_ledger *l, const uint8_t *buf, size_t len, uint64_t now,
    struct money_token *t);

/* ---- ledger (money_ledger.c) ---- */

/*
 * money_ledger_open: opens the ledger in the state database (path) (see
 * money_store_open()) and loads its serials and totals into memory. The
 * caller owns *(out) and frees it with money_ledger_close().
 * Returns MONEY_OK. On error *(out) is NULL: the errors of
 * money_store_open(), MONEY_ERR_CORRUPT (a row contradicts the ledger),
 * MONEY_ERR_NOMEM.
 */
enum money_err money_ledger_open(const char *path, struct money_ledger **out);

/*
 * money_ledger_close: closes (l) and frees it; staged records are dropped
 * (they were never acknowledged). NULL is ignored.
 */
void money_ledger_close(struct money_ledger *l);

/*
 * money_ledger_pk: records the currency key (pk) in the store on first
 * use (one transaction) and afterwards checks it, so that a ledger is
 * never used with another identity's tokens.
 * Returns MONEY_OK, or MONEY_ERR_IDENT (the store names another key) and
 * the errors of money_store_run().
 */
enum money_err money_ledger_pk(
    struct money_ledger *l, const uint8_t pk[MONEY_PK_LEN]);

/*
 * money_ledger_stage_issue: stages the issue of (serial) of (kind),
 * (amount) and (expiry). It counts as issued only once committed. Sets
 * *(ticket) to the batch number; the record is durable once
 * money_ledger_durable() >= *(ticket).
 * Returns MONEY_OK, or MONEY_ERR_DUP, MONEY_ERR_BROKEN, MONEY_ERR_NOMEM.
 */
enum money_err money_ledger_stage_issue(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], enum money_issue_kind kind,
    int64_t amount, uint64_t expiry, uint64_t *ticket);

/*
 * money_ledger_stage_spend: stages the spend of (serial), which must be
 * issued and committed. A serial spent or already staged (in this batch
 * or one being committed) is refused; this is the one place where double
 * spending is stopped. Sets *(ticket) as money_ledger_stage_issue() does.
 * Returns MONEY_OK, or MONEY_ERR_SPENT, MONEY_ERR_FORGED (not issued),
 * MONEY_ERR_BROKEN, MONEY_ERR_NOMEM.
 */
enum money_err money_ledger_stage_spend(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], uint64_t *ticket);

/*
 * money_ledger_commit: writes every change staged so far and (totals) in
 * one transaction of the store (money_store_run(); callable from any
 * thread). Changes staged by other threads meanwhile go to the next
 * batch. When it returns MONEY_OK every ticket <= money_ledger_durable()
 * may be acknowledged. On error the staged changes are dropped and the
 * ledger is broken (every later call fails with MONEY_ERR_BROKEN): close
 * and reopen it, and the database decides what was durable.
 * Returns MONEY_OK, or MONEY_ERR_SYS, MONEY_ERR_CORRUPT, MONEY_ERR_NOMEM,
 * MONEY_ERR_BROKEN.
 */
enum money_err money_ledger_commit(
    struct money_ledger *l, const struct money_totals *totals);

/*
 * money_ledger_abandon: breaks (l) without a commit, dropping what is
 * staged (never acknowledged), for a caller that could not run the
 * commit (e.g. the thread pool refused the work): it then refuses every
 * waiter, as after a failed commit, and the ledger refuses everything
 * with MONEY_ERR_BROKEN until it is reopened.
 */
void money_ledger_abandon(struct money_ledger *l);

/*
 * money_ledger_durable: the number of the last batch made durable.
 */
uint64_t money_ledger_durable(struct money_ledger *l);

/*
 * money_ledger_lookup: fills (info) for (serial).
 * Returns 1 if the ledger knows the serial (issued or staged), else 0.
 */
int money_ledger_lookup(struct money_ledger *l,
    const uint8_t serial[MONEY_SERIAL_LEN], struct money_serial_info *info);

/*
 * money_ledger_totals: the totals of the last commit (after open: those in
 * the store).
 */
void money_ledger_totals(struct money_ledger *l, struct money_totals *t);

/*
 * money_ledger_expired: the sum of amounts issued, not spent, and expired
 * at (now): what money_ledger_compact() would drop unredeemed.
 */
int64_t money_ledger_expired(struct money_ledger *l, uint64_t now);

/*
 * money_ledger_compact: prunes the serials whose expiry is <= (now) (a
 * token is refused as expired from its expiry on, so its serial is no
 * longer needed): one transaction that DELETEs their rows and writes
 * (totals). Needs nothing staged.
 * Returns MONEY_OK, or MONEY_ERR_BUSY, MONEY_ERR_SYS, MONEY_ERR_NOMEM;
 * after SYS the ledger is broken.
 */
enum money_err money_ledger_compact(
    struct money_ledger *l, uint64_t now, const struct money_totals *totals);

/*
 * money_ledger_stats: fills (st).
 */
void money_ledger_stats(struct money_ledger *l, struct money_ledger_stats *st);

/*
 * money_ledger_store: the store (l) lives in (borrowed).
 */
struct money_store *money_ledger_store(struct money_ledger *l);

/* ---- accounts and the book (money_account.c) ---- */

/*
 * Bounds that keep every sum of the book inside int64_t: one mint (by the
 * operator or by the exchange) is at most MONEY_AMOUNT_MAX units, and
 * explicit mints stop when the book's minted total would pass
 * MONEY_MINT_MAX. Allowances (money_account_open) may go on past it up to
 * INT64_MAX, so that a full book still admits arrivals for 3 * 2^62 more
 * units. Both refuse with MONEY_ERR_OVERFLOW (docs/money.md, Bounds).
 */
#define MONEY_AMOUNT_MAX ((int64_t)1 << 50)
#define MONEY_MINT_MAX ((int64_t)1 << 62)

/*
 * money_book_init: starts (b) from persisted (totals) (may be NULL: all
 * zero) with (outstanding) units in unredeemed tokens and nothing held.
 * Whatever the totals do not explain was held by processes when the
 * platform died and is added to lost.
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW, MONEY_ERR_CORRUPT (the totals
 * explain more than was minted).
 */
enum money_err money_book_init(struct money_book *b,
    const struct money_totals *totals, int64_t outstanding);

/*
 * money_book_totals: the part of (b) that the ledger persists, into (t).
 */
void money_book_totals(const struct money_book *b, struct money_totals *t);

/*
 * money_book_check: the conservation invariant of (b):
 * minted == held + outstanding + burned + lost, all >= 0.
 * Returns 1 if it holds, else 0.
 */
int money_book_check(const struct money_book *b);

/*
 * money_book_mint: (amount) new units leave as a token being issued.
 * money_book_unmint undoes it when the issue is not committed.
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW (amount < 1, past
 * MONEY_AMOUNT_MAX, or minted would pass MONEY_MINT_MAX).
 */
enum money_err money_book_mint(struct money_book *b, int64_t amount);
enum money_err money_book_unmint(struct money_book *b, int64_t amount);

/*
 * money_book_expire: (amount) of unredeemed tokens expired and their
 * serials are pruned: outstanding becomes burned.
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW.
 */
enum money_err money_book_expire(struct money_book *b, int64_t amount);

/*
 * money_account_open: opens (a) in (b) with (allowance) new units (the
 * arrival allowance; 0 for none), which count as minted.
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW.
 */
enum money_err money_account_open(
    struct money_book *b, struct money_account *a, int64_t allowance);

/*
 * money_account_charge: burns (amount) >= 0 from (a). When the credit does
 * not cover it, takes what is there and sets *(exhausted); *(exhausted) is
 * also set when the credit reaches zero. (exhausted) may be NULL.
 * Returns MONEY_OK, or MONEY_ERR_CLOSED, MONEY_ERR_INVAL.
 */
enum money_err money_account_charge(struct money_book *b,
    struct money_account *a, int64_t amount, int *exhausted);

/*
 * money_account_deposit: a redeemed token of (amount) becomes credit of
 * (a) (outstanding to held). Call only after the spend was committed. If
 * (a) was closed meanwhile the amount is burned.
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW.
 */
enum money_err money_account_deposit(
    struct money_book *b, struct money_account *a, int64_t amount);

/*
 * money_account_withdraw: takes (amount) > 0 of credit from (a) for a token
 * being issued (held to outstanding). If the issue is not committed, give
 * it back with money_account_deposit().
 * Returns MONEY_OK, or MONEY_ERR_CREDIT, MONEY_ERR_CLOSED, MONEY_ERR_INVAL.
 */
enum money_err money_account_withdraw(
    struct money_book *b, struct money_account *a, int64_t amount);

/*
 * money_account_transfer: moves (amount) > 0 from (from) to (to); all or
 * nothing. Returns MONEY_OK, or MONEY_ERR_CREDIT, MONEY_ERR_CLOSED,
 * MONEY_ERR_INVAL, MONEY_ERR_OVERFLOW.
 */
enum money_err money_account_transfer(struct money_book *b,
    struct money_account *from, struct money_account *to, int64_t amount);

/*
 * money_account_close: closes (a); its remaining credit is burned.
 * Closing twice is harmless. Returns the amount burned.
 */
int64_t money_account_close(struct money_book *b, struct money_account *a);

/* ---- the bank: identity + ledger + book (money_bank.c) ---- */

struct money_bank {
	struct money_ident *ident;
	struct money_ledger *ledger;
	struct money_book book;
	int64_t lost_at_open; /* what this start found lost on crash */
};

/*
 * money_bank_open: opens the identity and the ledger (in the store
 * MONEY_STORE_FILE) in the state directory (dir) (which must exist) and
 * starts the book; the credit that processes held when the platform last
 * died is reported in (b)->lost_at_open. Close with money_bank_close().
 * Returns MONEY_OK, or MONEY_ERR_OLDSTATE (the directory holds the files
 * of the former hand-written ledger, "ledger" or "reserve": nothing is
 * touched), MONEY_ERR_IDENT (the store belongs to another identity), and
 * the errors of money_ident_open() and money_ledger_open().
 */
enum money_err money_bank_open(struct money_bank *b, const char *dir);

/*
 * money_bank_close: commits the final book when the ledger is healthy
 * (close the accounts first so that their credit is burned, not lost) and
 * frees everything.
 */
void money_bank_close(struct money_bank *b);

/*
 * money_bank_mint: mints a token of (amount) units valid until (expiry),
 * commits its issue, and writes its bytes to (out). Administrative.
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW and the errors of the ledger.
 */
enum money_err money_bank_mint(struct money_bank *b, int64_t amount,
    uint64_t expiry, uint8_t out[MONEY_TOKEN_LEN]);

/*
 * money_bank_deposit_stage: classifies the (len) bytes at (buf) at (now)
 * as money_token_classify() does and stages the spend; sets *(amount) and
 * *(ticket). Once money_ledger_durable() >= *(ticket) (after a
 * money_bank_commit()), the caller credits with money_account_deposit().
 * Returns MONEY_OK or the refusal (MALFORMED, FORGED, ALTERED, FOREIGN,
 * EXPIRED, SPENT) or a ledger error.
 */
enum money_err money_bank_deposit_stage(struct money_bank *b,
    const uint8_t *buf, size_t len, uint64_t now, int64_t *amount,
    uint64_t *ticket);

/*
 * money_bank_withdraw_stage: takes (amount) from (a), signs a fresh token
 * (new serial) valid until (expiry) into (out) and stages its issue. Hand
 * the token out only once money_ledger_durable() >= *(ticket); if the
 * commit fails, refund with money_account_deposit().
 * Returns MONEY_OK, or the errors of money_account_withdraw() and the ledger.
 */
enum money_err money_bank_withdraw_stage(struct money_bank *b,
    struct money_account *a, int64_t amount, uint64_t expiry,
    uint8_t out[MONEY_TOKEN_LEN], uint64_t *ticket);

/*
 * money_bank_commit: money_ledger_commit() with the current book totals.
 */
enum money_err money_bank_commit(struct money_bank *b);

/*
 * money_bank_prune: turns the expired unredeemed tokens at (now) into
 * burned money and deletes their serials (money_ledger_compact()). Needs
 * nothing staged.
 * Returns MONEY_OK or the errors of money_ledger_compact().
 */
enum money_err money_bank_prune(struct money_bank *b, uint64_t now);

/* ---- prices (money_price.c) ---- */

/*
 * money_res_name: the name of resource (r) ("step", ...), or NULL.
 */
const char *money_res_name(enum money_res r);

/*
 * money_prices_init: fills (p) with the default parameters (target 50%,
 * D = 8, floor 64) and their initial prices, epoch 0.
 */
void money_prices_init(struct money_prices *p);

/*
 * money_prices_set_param: sets the parameters of resource (r) in (p) and
 * resets its price to (param)->initial. Returns MONEY_OK, or
 * MONEY_ERR_INVAL when a parameter is out of range.
 */
enum money_err money_prices_set_param(struct money_prices *p, enum money_res r,
    const struct money_price_param *param);

/*
 * money_price_next: one epoch of the rule for a price (price) at
 * utilization (util) ppm (clamped to 0 .. MONEY_PPM) with (param):
 * p' = p + p * (u - t) / (t * D), the change clamped to p / D, the result
 * to [floor, ceil]. Integer only, truncating toward zero, except that a
 * rise is at least 1 so a price can leave a small value. Pure.
 */
int64_t money_price_next(
    int64_t price, int64_t util, const struct money_price_param *param);

/*
 * money_prices_epoch: ends an epoch of (p): for each resource, utilization
 * = (used)[r] / (capacity)[r] (capacity 0 counts as idle), then
 * money_price_next(); increments the epoch.
 */
void money_prices_epoch(struct money_prices *p, const int64_t used[MONEY_RES_N],
    const int64_t capacity[MONEY_RES_N]);

/*
 * money_price_cost: the charge for (qty) >= 0 units of a resource at
 * (price): ceil(qty * price / MONEY_PRICE_SCALE) (rounded toward the
 * platform), into *(cost).
 * Returns MONEY_OK, or MONEY_ERR_OVERFLOW / MONEY_ERR_INVAL.
 */
enum money_err money_price_cost(int64_t price, int64_t qty, int64_t *cost);

/* ---- quotes (money_quote.c) ---- */

/*
 * money_quote_make: signs the current prices of (p) by (id) as a quote
 * issued at (now), valid for (ttl) seconds, into (q) and its canonical
 * bytes into (out).
 * Returns MONEY_OK, or MONEY_ERR_INVAL / MONEY_ERR_NOMEM.
 */
enum money_err money_quote_make(struct money_ident *id,
    const struct money_prices *p, uint64_t now, uint64_t ttl,
    struct money_quote *q, uint8_t out[MONEY_QUOTE_LEN]);

/*
 * money_quote_encode: the canonical MONEY_QUOTE_LEN bytes of (q) into
 * (out). Pure.
 */
void money_quote_encode(
    const struct money_quote *q, uint8_t out[MONEY_QUOTE_LEN]);

/*
 * money_quote_decode: parses (len) bytes at (buf) into (q), field by field
 * (length, version, resource count and order, prices >= 1, issued <=
 * expires). Does not verify. Returns MONEY_OK or MONEY_ERR_QUOTE_MALFORMED.
 */
enum money_err money_quote_decode(
    const uint8_t *buf, size_t len, struct money_quote *q);

/*
 * money_quote_verify: checks the signature of (q) against its issuer key
 * and that (now) lies in [issued, expires).
 * Returns MONEY_OK, or MONEY_ERR_QUOTE_FORGED, MONEY_ERR_QUOTE_FUTURE,
 * MONEY_ERR_QUOTE_EXPIRED.
 */
enum money_err money_quote_verify(const struct money_quote *q, uint64_t now);

/* ---- scheduling by payment (money_share.c) ---- */

/*
 * money_share_init: starts (s) with offer (offer) (price per step, fixed
 * point; values < 1 count as 1) at virtual time (pass), normally
 * money_share_vtime() of the runnable set, so a newcomer neither starves
 * nor monopolises.
 */
void money_share_init(struct money_share *s, int64_t offer, uint64_t pass);

/*
 * money_share_offer: changes the offer of (s); the next charge uses the
 * new stride.
 */
void money_share_offer(struct money_share *s, int64_t offer);

/*
 * money_share_charge: advances (s) by (used) units of service (steps or
 * µs): pass += stride * used.
 */
void money_share_charge(struct money_share *s, uint64_t used);

/*
 * money_share_pick: the index of the element of (v) (array of (n)
 * pointers, NULLs skipped) with the smallest pass (ties: lowest index),
 * comparing passes modulo 2^64; -1 when none.
 */
long money_share_pick(struct money_share *const *v, size_t n);

/*
 * money_share_vtime: the smallest pass among (v) (as money_share_pick), or
 * (dflt) when none; use it to start newcomers.
 */
uint64_t money_share_vtime(
    struct money_share *const *v, size_t n, uint64_t dflt);

#endif /* MONEY_H */
