/*
 * pf.h: the platform core shared by `m0` and `mdaemon`. One libuv loop
 * runs MØ processes as green threads (fair step slices, FIFO), queues with
 * the semantics of spec A5, timers for timed enter, local submit, and the
 * channel families that the embedding program registers.
 */
#ifndef PF_H
#define PF_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "m0.h"

struct pf_platform;
struct pf_proc;
struct pf_net;

/*
 * Errors of the platform's own calls (registration, setup, hosts). MØ
 * errors that a messenger sees stay m0_err; pf_ converts libuv's and the
 * bank's errors at its boundary.
 */
#define PF_ERRMAP(X)                                                           \
	X(NOMEM, "out of memory")                                              \
	X(LIMIT, "a table of the platform is full")                            \
	X(EXISTS, "already registered")                                        \
	X(NEEDS, "a service it builds on is missing")                          \
	X(CLOSED, "the platform is closing")                                   \
	X(INTERP, "the interpreter refused the definition")                    \
	X(DROPPED, "dropped and counted")                                      \
	X(STATE, "the state directory cannot be used")                         \
	X(BANK, "the bank cannot be opened")                                   \
	X(EXCHANGE, "the exchange cannot be opened")

enum pf_err {
	PF_OK = 0,
#define PF__E(id, s) PF_ERR_##id,
	PF_ERRMAP(PF__E)
#undef PF__E
	    PF_ERR_N
};

/* The text of a pf_err; "unknown error" out of range. */
const char *pf_strerror(int err);

/* The m0_err that stands for a pf_err in an operator's answer. */
int pf_err_m0(int err);

/* Drop and removal reasons, each with a counter in struct pf_stats. */
#define PF_DROPMAP(X)                                                          \
	X(PROC_CAP, "process cap reached")                                     \
	X(NO_MEMORY, "out of memory creating a process")                       \
	X(STEP_LIMIT, "process step limit")                                    \
	X(LIFE_LIMIT, "process lifetime limit")                                \
	X(QUEUE_CAP, "queue cap reached")                                      \
	X(CREDIT, "credit exhausted")                                          \
	X(ORIGIN_PROCS, "the origin's process cap reached")                    \
	X(ORIGIN_QUEUES, "the origin's queue cap reached")                     \
	X(PROC_QUEUES, "the process's queue cap reached")                      \
	X(PROC_KIDS, "the process's cap on live children reached")             \
	X(MEMORY, "the daemon's memory budget reached")                        \
	X(NATIVE, "a native context over the process's or origin's cap")

enum pf_drop {
#define PF__D(id, s) PF_DROP_##id,
	PF_DROPMAP(PF__D)
#undef PF__D
	    PF_DROP_N
};

const char *pf_drop_reason(int reason);
/* The counter's name for machines and logs: "proc_cap", ... */
const char *pf_drop_id(int reason);

/* Defaults of struct pf_config (zero fields take them). */
#define PF_SLICE 1000                  /* steps per slice */
#define PF_MAX_PROCS 100000            /* processes alive at once */
#define PF_MAX_QUEUES 1000000          /* queues alive at once */
#define PF_NATIVE_SLAB (256ull << 20)  /* guest memory of a context */
#define PF_NATIVE_CONTEXTS 64          /* live native contexts */
#define PF_PROC_QUEUES 1024            /* queues one process keeps alive */
#define PF_PROC_KIDS 4096              /* live children of one process */
#define PF_PROC_CONTEXTS 8             /* native contexts of one process */
#define PF_PROC_COST (16u << 10)       /* budget bytes a process record takes */
#define PF_STORE_CAPACITY (64ll << 20) /* bytes of `_` the price assumes */

struct pf_config {
	struct m0_limits lim;     /* zero fields: interpreter defaults */
	int64_t slice;            /* steps per slice [PF_SLICE] */
	uint32_t max_procs;       /* [PF_MAX_PROCS] */
	uint64_t max_steps;       /* per process; 0: no limit */
	int64_t max_life_us;      /* per process wall clock; 0: no limit */
	uint32_t max_queues;      /* queues alive at once [PF_MAX_QUEUES] */
	uint64_t native_slab;     /* guest memory of a native context [256m] */
	uint32_t native_contexts; /* live native contexts [64] */
	/* One origin (the host an arrival came from; its submitted children
	 * inherit it; local work is one origin) keeps at most this many
	 * processes and queues alive [3/4 of max_procs, max_queues]: the
	 * rest is a reserve that other origins still get, and in it an
	 * origin takes at most what it finds free (the share rule,
	 * docs/platform.md), so a few origins together cannot empty it. */
	uint32_t origin_procs;
	uint32_t origin_queues;
	uint64_t origin_memory; /* heap + records of one origin [3/4 memory] */
	uint32_t proc_queues; /* queues one process creates [PF_PROC_QUEUES] */
	uint32_t proc_kids;   /* live children of a process [PF_PROC_KIDS] */
	uint32_t proc_contexts;   /* native contexts of a process [8] */
	uint32_t origin_contexts; /* of an origin [3/4 native_contexts] */
	/* Daemon-wide bytes over process heaps, the global store, process
	 * records, channel keys, guest memory and link buffers [1/4 of
	 * RAM]; past it new work is refused (drop "memory"), heaps stop
	 * growing (m0 nomemory), links queue nothing more (link_memory). */
	uint64_t memory;
	uint64_t hid, pid;
};

struct pf_stats {
	uint64_t created, ended, errors, running, waiting, queues;
	uint64_t drops[PF_DROP_N];
	uint64_t slices, steps;
	uint64_t origins; /* origins holding processes or queues */
	uint64_t mem_used, mem_limit, mem_refused; /* the memory budget */
	uint64_t ended_parents; /* ended processes kept for kill -f */
	uint64_t ended_spliced; /* ended with no room to be kept */
};

/* A channel family that the embedding program provides (console, udpip,
 * tcpip). key_new checks the address form and returns an m0_err; send
 * gets the bytes submitted on a key made by key_new with that address. */
struct pf_family {
	const char *name;
	int64_t mtu;
	void *ud;
	int (*check)(void *ud, struct m0_state *s, const struct m0_value *addr,
	    int64_t ifindex, void **dest);
	void (*send)(void *ud, void *dest, const uint8_t *buf, size_t len);
	void (*dest_free)(void *ud, void *dest);
};

/* Called when a process ends: (end) is an enum m0_end, (err) its error
 * text for M0_END_ERROR/M0_END_FATAL, else NULL. */
typedef void (*pf_end_cb)(
    void *ud, struct pf_proc *p, uint64_t id, int end, const char *err);
typedef void (*pf_console_cb)(
    void *ud, struct pf_proc *p, const void *buf, size_t len);

/*
 * Creates a platform on (loop). (cfg) is copied; NULL takes defaults.
 * Returns NULL when out of memory.
 */
struct pf_platform *pf_new(uv_loop_t *loop, const struct pf_config *cfg);

/* The default of pf_config.memory: a quarter of the machine's RAM. */
uint64_t pf_default_memory(void);
/* The default of origin_contexts: 3/4 of native_contexts (at least 1). */
uint32_t pf_origin_contexts(const struct pf_config *c);

/*
 * Begins closing the platform: every process ends (no end callback), the
 * platform's handles close and each service (pf_svc.h) closes in the
 * reverse order of registration, finishing its work in flight (commits)
 * through libuv callbacks. It never runs the loop: the caller runs it
 * until it returns (as after uv_close), then calls pf_free().
 */
void pf_close(struct pf_platform *pf);

/* Frees the platform and its services. Without a pf_close() before, it
 * closes first; the memory is released once the loop has delivered the
 * close callbacks (run the loop afterwards, as after uv_close). */
void pf_free(struct pf_platform *pf);

/* Registers a channel family (copied) with its local addresses. Returns
 * a pf_err: PF_ERR_LIMIT, PF_ERR_NOMEM, PF_ERR_INTERP. */
int pf_add_family(struct pf_platform *pf, const struct pf_family *fam,
    const int64_t *addrs, size_t n);

void pf_set_console(struct pf_platform *pf, pf_console_cb cb, void *ud);

/* Registers the `console` channel family (spec A6): `_adr 'console` is
 * [0], and text sent on its keys goes to the pf_set_console() callback
 * (with no process). Returns a pf_err. */
int pf_add_console(struct pf_platform *pf);
void pf_set_end(struct pf_platform *pf, pf_end_cb cb, void *ud);

/*
 * Starts a process for msg. (ori) sets _ori: NULL for null, or a network
 * origin when family is not NULL. (setup) may prepare the state before it
 * runs (console words, longdict) and returns an m0_err. On success *out
 * (may be NULL) is the process and *id its number. Returns a pf_err:
 * PF_ERR_DROPPED (process or queue cap, counted), PF_ERR_NOMEM,
 * PF_ERR_INTERP (setup or _ori refused), PF_ERR_CLOSED.
 */
struct pf_origin {
	const char *family; /* NULL: _ori is null (or set by setup) */
	const void *host;   /* the host's bytes that name the origin for the
	                     * caps, or NULL: the local origin */
	size_t host_len;
	int64_t ifindex;
	int64_t addr_int;
	const char *addr_str;
};
int pf_spawn(struct pf_platform *pf, const struct m0_msg *msg,
    const struct pf_origin *ori, int (*setup)(struct m0_state *s),
    struct pf_proc **out, uint64_t *id);
/* As pf_spawn with no origin and no setup, the data field written in
 * place by (fill) (m0_state_new_msg_fill); PF_ERR_NOMEM also when fill
 * refused. */
int pf_spawn_fill(struct pf_platform *pf, const struct m0_msg *msg,
    m0_fill_fn fill, void *ud, struct pf_proc **out);

/* Process accessors. */
struct m0_state *pf_proc_state(struct pf_proc *p);
uint64_t pf_proc_id(const struct pf_proc *p);

/* Removes a process by id. Returns 0, or -1 when there is none. */
int pf_kill(struct pf_platform *pf, uint64_t id);

/* Removes a process and every live process it submitted, transitively
 * (children of ended members included). An id that ended is found while
 * processes it submitted live (ended parents are kept up to max_procs,
 * origin_procs per origin); past that bound an ended arrival's family is
 * still found by its id. Returns the count removed (0: none). */
int pf_kill_family(struct pf_platform *pf, uint64_t id);

/* Counters. */
void pf_get_stats(const struct pf_platform *pf, struct pf_stats *st);

/* The global interpreter state (for tests and tools). */
struct m0_global *pf_global(struct pf_platform *pf);

/* Calls fn for each live process. */
void pf_foreach(
    struct pf_platform *pf, void (*fn)(void *ud, struct pf_proc *p), void *ud);

/* Process facts for listings. */
struct pf_proc_info {
	uint64_t id;
	int in_queue;
	uint64_t queue;
	int head;
	int64_t age_us;
	uint64_t steps;
	uint64_t heap;
};
void pf_proc_info(const struct pf_proc *p, struct pf_proc_info *info);

/*
 * Loads MØ source for a messenger: from the file (path), or from (text,
 * len) when path is NULL. `#` comments are stripped and `#include "f"` /
 * `#includestring "f"` expanded (spec A1). On success *out (malloc'd,
 * NUL-terminated) and *outlen; on error -1 with a message in err.
 */
int pf_load_source(const char *path, const char *text, size_t len, char **out,
    size_t *outlen, char *err, size_t errlen);

/* Loaded source that remembers where each file's text starts, so that a
 * byte of it can be named FILE:LINE:COL. */
struct pf_source_part {
	size_t off;    /* in text */
	char *file;    /* the file from here on ("-e" for given text) */
	uint32_t line; /* its line at off */
};
struct pf_source {
	char *text; /* NUL-terminated */
	size_t len;
	struct pf_source_part *part;
	size_t npart;
};

/* pf_load_source() into (src), which pf_source_free() releases; (name)
 * names given text in messages (NULL: "-e"). Returns 0, or -1 with a
 * message in err ("FILE:LINE: ..." for a bad include). */
int pf_source_load(struct pf_source *src, const char *path, const char *text,
    size_t len, const char *name, char *err, size_t errlen);
void pf_source_free(struct pf_source *src);

/* Writes "FILE:LINE:COL", a new line, the line indented and a caret under
 * the column, for byte (off) of src's text. Returns 0, or -1 when off is
 * outside it. */
int pf_source_where(
    const struct pf_source *src, size_t off, char *buf, size_t len);

/* Checks src's syntax (m0_syntax_check()). Returns 0, or -1 with
 * "FILE:LINE:COL: syntax error: why", the line and a caret in err. */
int pf_source_check(const struct pf_source *src, char *err, size_t errlen);

/* For an error text "undefined NAME" where NAME is in longdict, writes a
 * hint that it needs `longdict (` to (buf). Returns 1 when it did. */
int pf_hint(struct pf_platform *pf, const char *errtext, char *buf, size_t len);

/* Reads a whole file ("-": stdin), at most 16 MiB. Returns 0, or -1 with
 * errno set. *out is malloc'd and NUL-terminated. */
int pf_read_file(const char *path, char **out, size_t *len);

/* Takes a process out of the scheduler: the caller runs it with
 * pf_run_manual() (the REPL). */
void pf_proc_set_manual(struct pf_proc *p);

/* Runs a manual process for at most budget steps; returns the
 * m0_state_run() status, and M0_RUN_BLOCKED while it waits. */
int pf_run_manual(struct pf_proc *p, int64_t budget);

/* Abandons what a manual process was running (leaving any queue it waits
 * in), keeping its stacks and dicts: the REPL's Ctrl-C. */
void pf_proc_interrupt(struct pf_proc *p);

/*
 * Offers native code to messengers (spec Part B, docs/native.md): the
 * operators _nnw … _nrn and their errors, as the service "native"
 * (pf_native.c). (slab_max) caps a context's guest memory, (ctx_max) the
 * live contexts; 0 takes the platform's config (native_slab,
 * native_contexts), else PF_NATIVE_SLAB and PF_NATIVE_CONTEXTS. Without
 * /dev/kvm the operators exist and raise native_unavailable. (warm), for
 * a host that runs native code at once (m0run): the backend's probe and
 * one context with its first pages resident are made in a thread from
 * now on, and the first request takes them (else the first request
 * probes and creates, ~5-10 ms). Returns a pf_err.
 */
int pf_native_init(
    struct pf_platform *pf, uint64_t slab_max, uint32_t ctx_max, bool warm);

/* Current UTC time in µs. */
int64_t pf_now_us(void);

/* ---- money (pf_money.c, pf_charge.c, pf_epoch.c; docs/money.md) ---- */

struct money_bank;

#define PF_US_PER_S 1000000
#define PF_ALLOWANCE 100               /* units an arrival gets */
#define PF_TOKEN_TTL_S (7 * 24 * 3600) /* life of a withdrawn token */
#define PF_QUOTE_TTL_S 60              /* life of a price quote */
#define PF_EPOCH_MS 1000               /* price epoch */
#define PF_STORE_LEASE_S 600           /* rent period of an entry in `_` */
#define PF_MEM_CAPACITY (1ll << 30)    /* heap bytes the prices assume */
#define PF_LINK_CAPACITY 10000000      /* bytes/s per family */
/* Epochs between prunes of the spent-serial ledger (an hour at 1 s). */
#define PF_PRUNE_EPOCHS 3600

/* Zero fields take the defaults in brackets. */
struct pf_money_config {
	int charged;           /* economy: 0 free, 1 charged [0] */
	int64_t allowance;     /* units an arrival gets for steps [100] */
	int64_t token_ttl_s;   /* life of a withdrawn token [7 days] */
	int64_t quote_ttl_s;   /* life of a price quote [60] */
	int64_t epoch_ms;      /* price epoch [1000] */
	int64_t store_lease_s; /* rent period of an entry in `_` [600] */
	int64_t mem_capacity;  /* heap bytes the prices are set for [1 GiB] */
	int64_t link_capacity; /* bytes/s per family the prices assume [10M] */
};

/* Why a deposit was refused, as `m0ctl status` counts it. */
enum pf_refusal {
	PF_REFUSAL_MALFORMED,
	PF_REFUSAL_FORGED,
	PF_REFUSAL_ALTERED,
	PF_REFUSAL_FOREIGN,
	PF_REFUSAL_EXPIRED,
	PF_REFUSAL_SPENT,
	PF_REFUSAL_OTHER, /* the ledger failed, memory ran out */
	PF_REFUSAL_N
};

/* The name of refusal kind (r) in `m0ctl status`; "?" when out of range. */
const char *pf_refusal_name(int r);

struct pf_money_stats {
	int charged;
	int64_t minted, held, outstanding, burned, charged_units, lost;
	int64_t lost_at_open;
	uint64_t removed; /* processes removed at zero credit */
	uint64_t deposits, withdrawals, refused, expired_store;
	/* refused deposits by kind (enum pf_refusal), summing to refused */
	uint64_t refused_by[PF_REFUSAL_N];
	uint64_t ledger_records, ledger_serials, commits;
	uint64_t epoch;
	int64_t price[16]; /* by enum money_res; MONEY_PRICE_SCALE = 1 */
	int nprices;
};

/*
 * Gives the platform money, as the service "money" and the platform's
 * meter (pf_svc.h): (bank) (opened by the caller, borrowed until the
 * platform is freed) holds the identity and ledger; the MØ operators
 * _bal _dep _wdr _prc _quo _ofr and their errors are added, every process
 * gets an account, and when (cfg)->charged the platform charges for its
 * services. Call before any process runs. Returns a pf_err.
 */
int pf_money_init(struct pf_platform *pf, struct money_bank *bank,
    const struct pf_money_config *cfg);

/* Money counters and prices; all zero without money. */
void pf_money_get_stats(struct pf_platform *pf, struct pf_money_stats *st);

/*
 * Mints a token of (amount) units (administrative): (cb) is called once
 * the issue is durable with 0 and the token's MONEY_TOKEN_LEN bytes, or
 * with an enum money_err and NULL. Returns 0, or -1 without money.
 */
typedef void (*pf_mint_cb)(void *ud, int err, const uint8_t *token);
int pf_money_mint(
    struct pf_platform *pf, int64_t amount, pf_mint_cb cb, void *ud);

/* Kept for callers of the former API: the same as pf_close() (accounts
 * close as their processes end; the money service closes with it). */
void pf_money_close(struct pf_platform *pf);

/*
 * Gives the platform (which has money) the exchange (x), as the service
 * "xchg" (opened by the caller on the bank's identity, borrowed until the
 * platform is freed): the MØ operators _xlr _xqt _xsl _xby _xcl _xcd
 * _xrs and their errors (docs/xchg.md), re-rated after every price epoch.
 * Call after pf_money_init() and before any process runs. Returns a
 * pf_err (PF_ERR_NEEDS without money).
 */
struct xchg_exchange;
int pf_xchg_init(struct pf_platform *pf, struct xchg_exchange *x);

/* Exchange counters for m0ctl status; all zero without an exchange. */
struct pf_xchg_stats {
	int present;
	uint64_t sells, buys, refused;
	int64_t minted, burned; /* local units paid to sellers, from buyers */
	uint64_t reserve_records, reserve_tokens, reserve_commits;
	uint64_t reserve_compactions; /* while running (pf_xchg.c) */
};
void pf_xchg_get_stats(struct pf_platform *pf, struct pf_xchg_stats *st);

/* ---- the status table (pf_status.c): m0ctl text and JSON, the log ---- */

/* One counter: (group) its section ("processes", "money.prices"; NULL at
 * the top), (name) for machines, its (value), or a (word) instead
 * ("charged", an address), and (note) a reason for people, or NULL. */
struct pf_counter {
	const char *group;
	const char *name;
	int64_t value;
	const char *word;
	const char *note;
	bool service; /* added by a service: a log line per group */
	char buf[48]; /* storage of a word made on the fly */
};

struct pf_status {
	struct pf_counter *v;
	size_t n, cap;
	bool oom;
};

/* Adds a counter to (st); out of memory marks st->oom. (group), (name)
 * and (note) must outlive (st) (string literals, static names). */
void pf_status_add(struct pf_status *st, const char *group, const char *name,
    int64_t value, const char *note);
/* Adds a word (copied, at most 47 bytes). */
void pf_status_word(struct pf_status *st, const char *group, const char *name,
    const char *word);

/* Fills (st) (zeroed by the caller) with the counters of (pf), of (net)
 * when not NULL, and of every service. */
void pf_status_collect(
    struct pf_platform *pf, struct pf_net *net, struct pf_status *st);
void pf_status_free(struct pf_status *st);

/* The table as m0ctl prints it, as JSON, and as lines for the daemon's
 * log. Text and JSON are malloc'd (NULL when out of memory). */
char *pf_status_text(const struct pf_status *st);
char *pf_status_json(const struct pf_status *st);
void pf_status_log(const struct pf_status *st);

/* ---- a whole host: platform, bank, money, exchange (pf_host.c) ---- */

struct pf_xchg_conf;

/* What pf_host_open() assembles. */
struct pf_host_config {
	struct pf_config pf;   /* hid and pid are set from the key */
	const char *state_dir; /* NULL: no bank, no money */
	struct pf_money_config money;
	const struct pf_xchg_conf *xchg; /* NULL: the exchange's defaults */
	int native;      /* offer native code (pf_native_init) */
	int native_warm; /* and warm it up at once (pf_native_init) */
};

/* A host as m0 and mdaemon run it. */
struct pf_host {
	uv_loop_t *loop;
	struct pf_platform *pf;
	struct money_bank *bank;    /* NULL without a state directory */
	struct xchg_exchange *xchg; /* beside the bank: STATEDIR/reserve */
};

/*
 * Assembles a host on (loop): the platform with its console family,
 * native code when asked, and with a state directory the bank (identity,
 * ledger, book; made on first use), money and the exchange, whose
 * reserve is compacted before the loop runs. _hid and _pid then derive
 * from the platform's public key, so they are stable across restarts.
 * Returns a pf_err with a message in (err); on error nothing stays open
 * once the caller has run the loop (the platform's handles close there).
 */
int pf_host_open(struct pf_host *h, uv_loop_t *loop,
    const struct pf_host_config *c, char *err, size_t errlen);

/* Begins closing the host (pf_close()); run the loop until it returns,
 * then pf_host_free(), which frees the platform and closes the exchange
 * and the bank (the bank's final commit). */
void pf_host_close(struct pf_host *h);
void pf_host_free(struct pf_host *h);

/* ---- network links: udpip and tcpip (pf_net.c, pf_udp.c, pf_tcp.c) ---- */

struct pf_net;

/* Why a link dropped something, each with a counter in pf_net_stats. The
 * first six follow the wire decoder's reasons (enum m0_wire_err, from
 * M0_WIRE_SHORT on). */
#define PF_NETDROPMAP(X)                                                       \
	X(WIRE_SHORT, "shorter than the header")                               \
	X(WIRE_VERSION, "unknown version")                                     \
	X(WIRE_FLAGS, "unknown flag bits")                                     \
	X(WIRE_CODE_LEN, "code length past the end")                           \
	X(WIRE_CRC, "bad CRC")                                                 \
	X(WIRE_TOO_BIG, "larger than the messenger limit")                     \
	X(OVERSIZE, "datagram larger than the maximum")                        \
	X(NOT_ACCEPTED, "sender is not a neighbour")                           \
	X(SPAWN, "no process could be created")                                \
	X(TCP_GARBAGE, "TCP peer sent garbage: disconnected")                  \
	X(TCP_CONN_CAP, "inbound TCP connection cap reached")                  \
	X(TCP_OUT_CAP, "outbound TCP connection cap reached")                  \
	X(TCP_HOST_CAP, "TCP connections from one host at their cap")          \
	X(TCP_SLOW, "TCP frame not completed in time: disconnected")           \
	X(TX_RATE, "send rate limit of the destination")                       \
	X(TX_QUEUE, "TCP send queue full")                                     \
	X(TX_TOO_BIG, "larger than the maximum datagram")                      \
	X(TX_ERROR, "send failed")                                             \
	X(TX_NOT_MESSENGER, "not a well-formed messenger: not sent")           \
	X(TX_STRANGER, "byte budget toward a stranger spent")                  \
	X(AUTH_UNKNOWN, "envelope from an unknown key")                        \
	X(AUTH_BAD, "envelope failed authentication")                          \
	X(AUTH_REPLAY, "envelope replayed or out of time")                     \
	X(AUTH_REQUIRED, "plain messenger from a pinned neighbour")            \
	X(LINK_MEMORY, "link buffer refused: the memory budget is spent")

enum pf_netdrop {
#define PF__ND(id, s) PF_NDROP_##id,
	PF_NETDROPMAP(PF__ND)
#undef PF__ND
	    PF_NDROP_N
};

const char *pf_net_drop_reason(int reason);
/* The counter's name for machines and logs: "wire_crc", ... */
const char *pf_net_drop_id(int reason);

#define PF_PORT 19760 /* 0x4d30, "MØ" */

/* The one default of each path (docs/platform.md, "Files"): the unit
 * runs `mdaemon -f -c PF_CONF_PATH` whose state is PF_STATE_DIR, and
 * m0ctl looks for the control socket there when not told otherwise. */
#define PF_CONF_PATH "/etc/mzero/mdaemon.conf"
#define PF_STATE_DIR "/var/lib/mzero"

#ifndef MZERO_VERSION
#define MZERO_VERSION "0.1.0"
#endif

/* Defaults and bounds of struct pf_net_config. */
#define PF_DGRAM 65000          /* bytes of a datagram */
#define PF_DGRAM_MAX 65507      /* the most a UDP datagram carries */
#define PF_RATE 1000000         /* messengers/s per destination */
#define PF_TCP_QUEUE (1u << 20) /* bytes queued per TCP connection */
#define PF_TCP_CONNS 256        /* open inbound TCP connections */
#define PF_TCP_IDLE_S 120       /* an idle connection is closed */

/* An address prefix: ADDR/BITS. */
struct pf_prefix {
	struct sockaddr_storage sa;
	int bits;
};

#define PF_EGRESS_MAX_ALLOW 16

/* Link limits; zero fields take the defaults in brackets. */
struct pf_net_config {
	uint32_t max_dgram; /* bytes of a datagram, sent or received [65000] */
	uint32_t max_msg;   /* bytes of a messenger on TCP [max_dgram] */
	uint32_t rate;      /* messengers/s per destination [PF_RATE] */
	uint32_t burst;     /* bucket depth of the rate limit [rate / 10] */
	uint32_t tcp_queue; /* bytes queued per TCP connection [1 MiB] */
	uint32_t tcp_conns; /* open inbound TCP connections [256] */
	uint32_t tcp_out;   /* open outbound TCP connections [64] */
	uint32_t tcp_per_host; /* inbound connections from one host [8] */
	uint32_t tcp_frame_s;  /* a started frame must end within [10] */
	uint32_t tcp_idle_s;   /* an idle connection is closed [120] */
	int accept_any;        /* 1: anyone; 0: neighbours' hosts only */
	/* Egress toward strangers (pf_egress.c): a bucket of bytes per host
	 * [65536], refilled over a period [10 s], and bytes earned per byte
	 * received from that host [4]. */
	uint32_t egress_bytes;
	uint32_t egress_period_s;
	uint32_t egress_factor;
	struct pf_prefix egress_allow[PF_EGRESS_MAX_ALLOW]; /* not strangers */
	int negress_allow;
};

struct pf_net_stats {
	uint64_t rx, rx_bytes, tx, tx_bytes;
	uint64_t rx_auth, tx_auth; /* envelopes opened, envelopes made */
	uint64_t tcp_accepted, tcp_connected, tcp_open;
	uint64_t buf_bytes; /* link buffers held, in the memory budget */
	uint64_t drops[PF_NDROP_N];
};

/* A configured neighbour: messengers see it in `_nbr` (docs/platform.md). */
struct pf_neighbour {
	char name[64];
	struct sockaddr_storage sa;
	int pinned;            /* key is set: udpip only in envelopes */
	unsigned char key[32]; /* the neighbour's Ed25519 public key */
	/* Kept by the links (zero in configuration; m0ctl status): when a
	 * messenger last came from it and went to it (pf_now_us()), and the
	 * last round trip: from a messenger sent to it to the next that
	 * came back from it; 0 when none yet. */
	int64_t last_rx_us, last_tx_us, rtt_us;
};

/*
 * Creates the links of (pf). (cfg) is copied (NULL: defaults). (setup) is
 * run on every arriving process before _ori is set (console words); it
 * may be NULL. Returns NULL when out of memory.
 */
struct pf_net *pf_net_new(struct pf_platform *pf,
    const struct pf_net_config *cfg, int (*setup)(struct m0_state *s));

/* Listens for UDP and TCP on (sa) (IPv4 or IPv6; port 0 takes 19760).
 * Call before pf_net_start(). Returns 0, or -1 with a message in err. */
int pf_net_listen(
    struct pf_net *n, const struct sockaddr *sa, char *err, size_t errlen);

/* Registers the families udpip and tcpip with the listen addresses in
 * `_adr`, defines an empty `_nbr` and starts receiving. Returns 0, or -1
 * with a message in err. */
int pf_net_start(struct pf_net *n, char *err, size_t errlen);

/* Replaces the neighbours (copied) and redefines `_nbr`. Returns a
 * pf_err (PF_ERR_NOMEM, PF_ERR_INTERP). */
int pf_net_set_neighbours(
    struct pf_net *n, const struct pf_neighbour *nb, size_t count);

/*
 * Gives the links the platform's identity: (box_sk) its X25519 secret key
 * (32 bytes, money_ident_box_sk(); copied into sodium_malloc memory) and
 * (pk) its Ed25519 public key (32 bytes), so that pinned neighbours can be
 * talked to in authenticated envelopes (pf_auth.c). Returns 0, or -1 when
 * out of memory.
 */
int pf_net_set_identity(
    struct pf_net *n, const unsigned char *box_sk, const unsigned char *pk);

/*
 * Keeps the per-peer replay state of authenticated links in the file at
 * (path) (pf_replay.c): read now for the pinned neighbours, written at
 * most once a second while it changes and when (n) is freed, so that a
 * restarted platform refuses envelopes it accepted before. Returns 0, or
 * -1 when out of memory.
 */
int pf_net_set_replay_file(struct pf_net *n, const char *path);

/* Sets whom messengers are taken from (pf_net_config.accept_any). */
void pf_net_set_accept(struct pf_net *n, int accept_any);

void pf_net_get_stats(const struct pf_net *n, struct pf_net_stats *st);

/* Closes every socket. Run the loop until it ends, then pf_net_free(). */
void pf_net_close(struct pf_net *n);
void pf_net_free(struct pf_net *n);

/* Parses "ADDR:PORT", "ADDR", "[V6]:PORT" or "[V6]" (default port
 * PF_PORT) into (ss); ADDR may be a host name, looked up now (blocking;
 * the first IPv4 address, else the first). Returns 0, or -1 when it is
 * not an address. */
int pf_parse_hostport(const char *s, struct sockaddr_storage *ss);

/* Writes "ADDR:PORT" or "[V6]:PORT". */
void pf_format_sa(const struct sockaddr *sa, char *buf, size_t len);

/*
 * One request of (type) with (len) bytes at (payload) on the control
 * socket at (path) (include/pf_proto.h). On success returns 0 with the
 * answer's type in *(rtype) and its text, NUL-terminated and malloc'd, in
 * *(reply), *(rlen) bytes. On error returns -1 with a message in (err).
 */
int pf_ctl_call(const char *path, uint32_t type, const void *payload,
    size_t len, uint32_t *rtype, char **reply, size_t *rlen, char *err,
    size_t errlen);

/*
 * Mints (amount) at the platform behind the control socket (path) and
 * returns malloc'd MØ source that deposits the token, `"\xHH.." _dep P`
 * and a newline, *(len) bytes: what m0inject --fund and m0run --fund put
 * before a messenger. On error returns NULL with a message in (err).
 */
char *pf_ctl_fund(
    const char *path, long long amount, size_t *len, char *err, size_t errlen);

/* The control socket of the state directory (state); when NULL, of
 * $MZERO_STATE, else ./control when that is a socket, else the installed
 * daemon's (PF_STATE_DIR/control). Writes the path to buf. */
void pf_ctl_default_path(const char *state, char *buf, size_t len);

/* ---- configuration of mdaemon (pf_conf.c) ---- */

enum pf_log_level { PF_LOG_DEBUG, PF_LOG_INFO, PF_LOG_WARN, PF_LOG_ERROR };

/* mdaemon's limits on each process of a free platform unless configured
 * (0 turns them off): some seconds of steps, and a day. m0 has none. */
#define PF_DEFAULT_MAX_STEPS 1000000000ull
#define PF_DEFAULT_MAX_LIFE_S 86400ll

#define PF_CONF_MAX_LISTEN 16
#define PF_CONF_MAX_NBR 256

/* [exchange] (docs/xchg.md): zero fields take the exchange's defaults. */
struct pf_xchg_conf {
	uint64_t clear_key; /* capability of clearing messengers; 0: none */
	int64_t spread;     /* ppm each side */
	int64_t target; /* reserve value (local units) where pressure starts */
	int64_t min_life_s;  /* life a token must have left to be traded */
	int64_t quote_ttl_s; /* life of an exchange quote */
	/* credit = KEY AMOUNT lines (docs/xchg.md, Trust); KEY * for any */
	struct {
		uint8_t pk[32];
		int64_t amount;
	} credit[64];
	int ncredit;
	int64_t credit_any;
};

struct pf_conf {
	struct sockaddr_storage listen[PF_CONF_MAX_LISTEN];
	int nlisten;
	char state_dir[1024];
	int log_level; /* enum pf_log_level */
	int accept;    /* 1 any, 0 neighbours, -1 not set */
	struct pf_config pf;
	struct pf_net_config net;
	struct pf_money_config money;
	struct pf_xchg_conf xchg;
	struct pf_neighbour nbr[PF_CONF_MAX_NBR];
	size_t nnbr;
};

/* economy = free | charged (also mdaemon --economy). Returns 0, or -1
 * with a message in err. */
int pf_conf_set_economy(
    struct pf_conf *c, const char *value, char *err, size_t errlen);

/* Sets the defaults: no listen address yet, state ".", log info, the
 * process limits not yet set (pf_conf_settle_limits()). */
void pf_conf_init(struct pf_conf *c);

/* After the configuration and flags: process limits not configured become
 * PF_DEFAULT_MAX_STEPS and PF_DEFAULT_MAX_LIFE_S on a free platform, none
 * on a charged one (money limits it). */
void pf_conf_settle_limits(struct pf_conf *c);

/*
 * Parses INI text (len bytes; NUL bytes end a line's value) into (c), on
 * top of what it holds. Returns 0, or -1 with "line N: why" in err (the
 * first error).
 */
int pf_conf_parse(
    struct pf_conf *c, const char *text, size_t len, char *err, size_t errlen);

/* Prints every [limits] key as "key = value", the defaults that zero
 * fields take filled in (max_life in seconds, bytes as plain numbers). */
void pf_conf_print_limits(const struct pf_conf *c, FILE *f);

/* pf_conf_parse() of a file; the message starts with the path. */
int pf_conf_load(struct pf_conf *c, const char *path, char *err, size_t errlen);

/* The command line forms of listen and neighbour (-l, -N). Return 0, or
 * -1 with a message in err. */
int pf_conf_add_listen(
    struct pf_conf *c, const char *addr, char *err, size_t errlen);
int pf_conf_add_neighbour(struct pf_conf *c, const char *name, const char *addr,
    char *err, size_t errlen);

/* ---- logging to stderr with levels (pf_log.c, after OpenBSD log.c) ---- */

void log_init(const char *progname, int level);
/* Log lines go to (path), appended, from now on. Returns 0, or -1 with
 * errno set. */
int log_open_file(const char *path);
/* Log lines go to syslog (daemon facility) from now on, unless a file
 * was opened; for a daemon that left its terminal. */
void log_use_syslog(void);
void log_set_level(int level);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn and fatal append strerror(errno). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* ---- the control socket (pf_ctl.c, protocol in pf_proto.h) ---- */

struct pf_ctl;

/*
 * Listens on the Unix socket (path), owner-only, and answers requests
 * about (pf) and (net) (may be NULL). Injected messengers run (setup)
 * first. Returns NULL with a message in err (the loop must still run to
 * release what was opened).
 */
struct pf_ctl *pf_ctl_new(struct pf_platform *pf, struct pf_net *net,
    const char *path, int (*setup)(struct m0_state *s), char *err,
    size_t errlen);

/* What only the daemon knows, for stop, reload and status. Strings are
 * borrowed until pf_ctl_free(); any field may be NULL. */
struct pf_ctl_daemon {
	const char *version, *pubkey, *state_dir;
	void (*stop)(void *ud);
	/* Returns 0 or -1, with what it did or why not in msg. */
	int (*reload)(void *ud, char *msg, size_t len);
	void *ud;
};
void pf_ctl_set_daemon(struct pf_ctl *c, const struct pf_ctl_daemon *d);

/* Closes the socket and its clients and removes the path. Run the loop
 * until it ends, then pf_ctl_free(). */
void pf_ctl_close(struct pf_ctl *c);
void pf_ctl_free(struct pf_ctl *c);

#endif
