/*
 * pf_int.h: internals of the platform core (src/platform): processes,
 * the scheduler, queues, channels. The economy and native code reach it
 * only through include/pf_svc.h and the fields documented here as theirs.
 */
#ifndef PF_INT_H
#define PF_INT_H

#include <stdbool.h>
#include <string.h>

#include "pf.h"
#include "pf_svc.h"

/* Intrusive doubly linked list. */
struct pf_link {
	struct pf_link *prev, *next;
};

#define PF_CONTAINER(p, type, field)                                           \
	((type *)((char *)(p)-offsetof(type, field)))

static inline void
pf__list_init(struct pf_link *l)
{
	l->prev = l->next = l;
}

static inline bool
pf__list_empty(const struct pf_link *l)
{
	return l->next == l;
}

static inline void
pf__list_add_tail(struct pf_link *head, struct pf_link *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void
pf__list_del(struct pf_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

enum pf_pstate {
	PF_RUNNABLE, /* in the run queue */
	PF_RUNNING,  /* being run now */
	PF_WAITING,  /* a waiter of a queue */
	PF_IDLE,     /* head of a queue or in none, but blocked (never) */
};

/* The host work came from, with what it holds alive (key first: the
 * table grows with pf__rehash). */
struct pf_orig {
	uint64_t key; /* 0: local */
	uint32_t procs, queues, contexts;
	uint64_t bytes; /* heaps of its processes, as last seen, records
	                 * and links */
	uint64_t links; /* bytes link buffers hold for it (keep it alive) */
	uint32_t ended; /* ended parents kept for kill -f (pf_family.c) */
	struct pf_orig *next; /* hash chain */
};

struct pf_queue {
	uint64_t key; /* first: the table grows with pf__rehash */
	bool stopped;
	struct pf_proc *owner; /* the process that made it, or NULL */
	struct pf_link own;    /* the owner's queues */
	struct pf_orig *orig;  /* counted against this origin */
	struct pf_proc *head;
	struct pf_link waiters;
	struct pf_queue *hnext; /* hash chain */
};

struct pf_proc {
	struct pf_platform *pf;
	struct m0_state *s;
	uint64_t id;
	uint8_t state;
	bool timed;  /* waiting in a timed enter */
	bool manual; /* run by its owner, not the scheduler */
	bool broke;  /* the meter's verdict: end after this turn */
	struct pf_queue *q;
	struct pf_link run; /* run queue, or waiters of q */
	struct pf_link all;
	uint32_t theap; /* index in the timer heap + 1, 0: none */
	int64_t deadline;
	int64_t born;
	pf_work_fn work; /* work it waits on (pf_svc.h), or NULL */
	void *work_ud;
	struct pf_link keys; /* channel keys it made and has not used */
	uint32_t nkeys;
	void *meter;           /* the meter's data (an account), or NULL */
	struct pf_orig *orig;  /* its origin (children inherit it) */
	struct pf_link queues; /* queues it made */
	uint32_t nqueues;
	struct pf_proc *parent; /* the nearest live ancestor, or NULL */
	struct pf_link kids; /* live processes it (or ended kids) submitted */
	struct pf_link sib;  /* in parent's kids */
	uint32_t nkids;
	uint64_t root;         /* id of the arrival the family began with */
	struct pf_fnode *node; /* its place in the family tree */
	uint64_t heap_seen;    /* its heap bytes as counted in orig->bytes */
	uint32_t contexts;     /* native contexts it holds */
};

struct pf_fam {
	struct pf_family f;
};

struct pf_chankey {
	uint64_t key;
	struct pf_fam *fam;
	void *dest;
	struct pf_chankey *next; /* hash chain */
	struct pf_proc *owner;   /* the process that made it */
	struct pf_link own;      /* the owner's unused keys */
};

/* A process may hold this many keys it has not used yet. */
#define PF_KEYS_PER_PROC 4096

#define PF_MAX_SERVICES 8
#define PF_MAX_FAMILIES 8

struct pf_platform {
	uv_loop_t *loop;
	struct pf_service svc[PF_MAX_SERVICES];
	bool svc_open[PF_MAX_SERVICES]; /* not yet pf_service_closed() */
	int nsvc;
	struct pf_meter meter;
	bool metered;
	bool closing;
	bool freeing;
	int64_t started_us; /* pf_free() called: release when nothing pends */
	int pending;        /* handles and services still closing */
	struct pf_config cfg;
	struct m0_host host;
	struct m0_global *g;
	uv_idle_t idle;
	uv_timer_t timer;
	uv_timer_t life; /* sweeps waiting processes past max_life */
	bool idle_on;
	struct pf_link runq;
	struct pf_link all;
	uint64_t next_id;
	uint64_t nprocs;
	struct pf_queue **qtab;
	uint32_t qmask, nqueues;
	struct pf_proc **theap; /* min-heap on deadline */
	uint32_t ntimers, theap_cap;
	struct pf_fam *fams[PF_MAX_FAMILIES];
	int nfams;
	struct pf_chankey **ktab;
	uint32_t kmask, nkeys;
	pf_console_cb console;
	void *console_ud;
	pf_end_cb on_end;
	void *end_ud;
	struct pf_stats st;
	struct pf_orig **otab;
	uint32_t omask, norigs;
	uint64_t oseed;
	uint32_t ncontexts;      /* native contexts held, all origins */
	uint64_t nended, fmark;  /* ended parents kept; pf_family.c's walk */
	struct pf_orig *sending; /* whose send a family is making, or NULL */
};

/* pf_orig.c: origins */
struct pf_orig *pf__orig_get(struct pf_platform *pf, uint64_t key);
/* The origin of a host's address bytes (as pf_origin.host names it). */
struct pf_orig *pf__orig_host(
    struct pf_platform *pf, const void *host, size_t len);
void pf__orig_put(struct pf_platform *pf, struct pf_orig *o);
/*
 * The share rule for everything an origin holds (processes, queues,
 * native contexts, bytes): an origin holding (held) may take (n) more
 * when it stays within its (cap) and the daemon's (total) ((used) taken;
 * total 0: no daemon-wide limit), and, once the take reaches into the
 * reserve (the last total - cap), only while it would then hold no more
 * than was free before the take. So an origin that enters the reserve
 * takes at most about half of what it finds free, and origins acting
 * together cannot empty it: k of them leave about reserve / 2^k
 * (docs/platform.md, "Origins").
 */
bool pf__share_ok(
    uint64_t held, uint64_t n, uint64_t used, uint64_t total, uint64_t cap);
/* Link buffers of (o): (n) bytes taken from its memory share and the
 * budget (false: refused); release gives them back and may free (o). */
bool pf__orig_hold(struct pf_platform *pf, struct pf_orig *o, uint64_t n);
void pf__orig_release(struct pf_platform *pf, struct pf_orig *o, uint64_t n);
/* The memory budget's (used) and (limit), 0 and 0 without one. */
void pf__budget_now(uint64_t *used, uint64_t *limit);
/* pf_plat.c: an ending process gives back its queues, children, origin
 * and budget */
void pf__proc_detach(struct pf_proc *p);

/* The meter's hooks, or what a platform without one does. */
static inline enum pf_verdict
pf__meter_send(struct pf_proc *p, const char *family, size_t len)
{
	struct pf_platform *pf = p ? p->pf : NULL;
	if (!pf || !pf->meter.send)
		return PF_PAID;
	/* PF_BROKE: nothing is sent; whether the process goes is the
	 * verdict on its turn (the meter's steps hook). */
	return pf->meter.send(pf->meter.ud, p, family, len);
}

/* pf_family.c: a new process joins its submitter's family (false: out
 * of memory); an ending one leaves it, kept as an ended parent while
 * processes it submitted live */
bool pf__fam_join(struct pf_proc *p, struct pf_proc *parent);
void pf__fam_leave(struct pf_proc *p);
size_t pf__fam_collect(
    struct pf_platform *pf, uint64_t id, struct pf_proc ***w);

/* pf_sched.c */
void pf__make_runnable(struct pf_proc *p);
void pf__sched_init(struct pf_platform *pf);
void pf__end_proc(struct pf_proc *p);
void pf__life_init(struct pf_platform *pf);
void pf__sched_close(struct pf_platform *pf);

/* pf_status.c: text growing in a malloc'd buffer; out of memory sets
 * oom and later prints do nothing. */
struct pf_sbuf {
	char *p;
	size_t n, cap;
	bool oom;
};
void pf__sprint(struct pf_sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* pf_util.c: an X-macro id in lower case, the form counters are named */
void pf__lower(char *dst, const char *src, size_t len);
/* pf_plat.c: a handle of the platform finished closing */
void pf__handle_closed(uv_handle_t *h);
/* pf_plat.c: a close in flight that pf_free() waits for (link handles,
 * whose callbacks give origins their bytes back) */
void pf__pending_add(struct pf_platform *pf);
void pf__pending_done(struct pf_platform *pf);

/* pf_queue.c */
int pf__enter(struct pf_proc *p, uint64_t key, bool timed, int64_t deadline);
void pf__leave(struct pf_proc *p);
void pf__qctl(
    struct pf_platform *pf, struct pf_proc *by, uint64_t key, bool stop);
void pf__timer_del(struct pf_proc *p);
void pf__timer_init(struct pf_platform *pf);
void pf__queues_free(struct pf_platform *pf);
struct pf_queue *pf__queue_get(
    struct pf_platform *pf, uint64_t key, bool create, struct pf_proc *by);
void pf__queues_release(struct pf_proc *p);
bool pf__rehash(
    void ***tab, uint32_t *mask, size_t next_off, uint32_t (*hash)(uint64_t));

/* pf_chan.c */
int pf__chan_key(struct pf_platform *pf, struct m0_state *s, const char *family,
    const struct m0_value *addr, int64_t ifindex, uint64_t *key);
void pf__chan_send(struct pf_platform *pf, struct pf_proc *from, uint64_t key,
    const uint8_t *buf, size_t len);
void pf__chan_free(struct pf_platform *pf);
void pf__chan_release(struct pf_proc *p);

#endif
