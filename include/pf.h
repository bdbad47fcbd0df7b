/*
 * pf.h: the platform core shared by `m0` and `mdaemon`. One libuv loop
 * runs MØ processes as green threads (fair step slices, FIFO), queues with
 * the semantics of spec A5, timers for timed enter, local submit, and the
 * channel families that the embedding program registers.
 */
#ifndef PF_H
#define PF_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "m0.h"

struct pf_platform;
struct pf_proc;

/* Drop and removal reasons, each with a counter in struct pf_stats. */
#define PF_DROPMAP(X)                                                         \
	X(PROC_CAP, "process cap reached")                                    \
	X(NO_MEMORY, "out of memory creating a process")                      \
	X(STEP_LIMIT, "process step limit")                                   \
	X(LIFE_LIMIT, "process lifetime limit")

enum pf_drop {
#define PF__D(id, s) PF_DROP_##id,
	PF_DROPMAP(PF__D)
#undef PF__D
	PF_DROP_N
};

const char *pf_drop_reason(int reason);

struct pf_config {
	struct m0_limits lim; /* zero fields: interpreter defaults */
	int64_t slice;        /* steps per slice (default 1000) */
	uint32_t max_procs;   /* default 100000 */
	uint64_t max_steps;   /* per process; 0: no limit */
	int64_t max_life_us;  /* per process wall clock; 0: no limit */
	uint64_t hid, pid;
};

struct pf_stats {
	uint64_t created, ended, errors, running, waiting, queues;
	uint64_t drops[PF_DROP_N];
	uint64_t slices, steps;
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
typedef void (*pf_end_cb)(void *ud, struct pf_proc *p, uint64_t id, int end,
    const char *err);
typedef void (*pf_console_cb)(void *ud, struct pf_proc *p, const void *buf,
    size_t len);

/*
 * Creates a platform on (loop). (cfg) is copied; NULL takes defaults.
 * Returns NULL when out of memory.
 */
struct pf_platform *pf_new(uv_loop_t *loop, const struct pf_config *cfg);

/* Frees every process and queue. Call after the loop has stopped; the
 * platform's handles are closed and the loop run once to finish them. */
void pf_free(struct pf_platform *pf);

/* Registers a channel family (copied) with its local addresses. Returns
 * an m0_err. */
int pf_add_family(struct pf_platform *pf, const struct pf_family *fam,
    const int64_t *addrs, size_t n);

void pf_set_console(struct pf_platform *pf, pf_console_cb cb, void *ud);
void pf_set_end(struct pf_platform *pf, pf_end_cb cb, void *ud);

/*
 * Starts a process for msg. (ori) sets _ori: NULL for null, or a network
 * origin when family is not NULL. (setup) may prepare the state before it
 * runs (console words, longdict) and returns an m0_err. On success *out
 * (may be NULL) is the process and *id its number. Returns an m0_err, or
 * -1 when dropped (counted).
 */
struct pf_origin {
	const char *family; /* NULL: _ori is null */
	int64_t ifindex;
	int64_t addr_int;
	const char *addr_str;
};
int pf_spawn(struct pf_platform *pf, const struct m0_msg *msg,
    const struct pf_origin *ori, int (*setup)(struct m0_state *s),
    struct pf_proc **out, uint64_t *id);

/* Process accessors. */
struct m0_state *pf_proc_state(struct pf_proc *p);
uint64_t pf_proc_id(const struct pf_proc *p);

/* Removes a process by id. Returns 0, or -1 when there is none. */
int pf_kill(struct pf_platform *pf, uint64_t id);

/* Counters. */
void pf_get_stats(const struct pf_platform *pf, struct pf_stats *st);

/* The global interpreter state (for tests and tools). */
struct m0_global *pf_global(struct pf_platform *pf);

/* Calls fn for each live process. */
void pf_foreach(struct pf_platform *pf,
    void (*fn)(void *ud, struct pf_proc *p), void *ud);

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
int pf_load_source(const char *path, const char *text, size_t len,
    char **out, size_t *outlen, char *err, size_t errlen);

/* Reads a whole file ("-": stdin), at most 16 MiB. Returns 0, or -1 with
 * errno set. *out is malloc'd and NUL-terminated. */
int pf_read_file(const char *path, char **out, size_t *len);

/* Takes a process out of the scheduler: the caller runs it with
 * pf_run_manual() (the REPL). */
void pf_proc_set_manual(struct pf_proc *p);

/* Runs a manual process for at most budget steps; returns the
 * m0_state_run() status, and M0_RUN_BLOCKED while it waits. */
int pf_run_manual(struct pf_proc *p, int64_t budget);

/* Current UTC time in µs. */
int64_t pf_now_us(void);

#endif
