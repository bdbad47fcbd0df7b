/*
 * pf_queue.c: queues (spec A5) and the timers of timed enter.
 *
 * A queue has a running/stopped flag, at most one head (the only member
 * that may run) and a FIFO of waiters. Queues are created on first use and
 * deleted when a running queue becomes empty, when an empty stopped queue
 * is restarted, or when an empty stopped queue's creator has ended: a
 * queue never outlives both its creator and its members. Each queue counts
 * against its creator (proc_queues) and its creator's origin
 * (origin_queues) while it lives. One libuv timer serves all timed enters through a
 * min-heap of deadlines.
 */
#include <stdlib.h>

#include "pf_int.h"

static uint32_t
qhash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (uint32_t)k;
}

/* The drop reason that refuses a new queue made by (by), or -1. */
static int
queue_refusal(struct pf_platform *pf, struct pf_proc *by)
{
	if (pf->nqueues >= pf->cfg.max_queues)
		return PF_DROP_QUEUE_CAP;
	if (by && by->nqueues >= pf->cfg.proc_queues)
		return PF_DROP_PROC_QUEUES;
	struct pf_orig *o = by ? by->orig : NULL;
	if (o &&
	    !pf__share_ok(o->queues, 1, pf->nqueues, pf->cfg.max_queues,
	        pf->cfg.origin_queues))
		return PF_DROP_ORIGIN_QUEUES;
	return -1;
}

/* Finds the queue (key); with (create) makes it for (by) when the caps
 * allow, else counts the drop and returns NULL. */
struct pf_queue *
pf__queue_get(
    struct pf_platform *pf, uint64_t key, bool create, struct pf_proc *by)
{
	uint32_t h = qhash(key);
	for (struct pf_queue *q = pf->qtab[h & pf->qmask]; q; q = q->hnext)
		if (q->key == key)
			return q;
	if (!create)
		return NULL;
	int why = queue_refusal(pf, by);
	if (why >= 0) {
		pf->st.drops[why]++;
		return NULL;
	}
	if (pf->nqueues >= pf->qmask) /* no memory: longer chains */
		pf__rehash((void ***)&pf->qtab, &pf->qmask,
		    offsetof(struct pf_queue, hnext), qhash);
	struct pf_queue *q = calloc(1, sizeof(*q));
	if (!q) {
		pf->st.drops[PF_DROP_NO_MEMORY]++;
		return NULL;
	}
	q->key = key;
	pf__list_init(&q->waiters);
	pf__list_init(&q->own);
	if (by) {
		q->owner = by;
		pf__list_add_tail(&by->queues, &q->own);
		by->nqueues++;
		q->orig = by->orig;
		if (q->orig)
			q->orig->queues++;
	}
	q->hnext = pf->qtab[h & pf->qmask];
	pf->qtab[h & pf->qmask] = q;
	pf->nqueues++;
	return q;
}

static void
queue_delete(struct pf_platform *pf, struct pf_queue *q)
{
	struct pf_queue **pp = &pf->qtab[qhash(q->key) & pf->qmask];
	while (*pp != q)
		pp = &(*pp)->hnext;
	*pp = q->hnext;
	pf->nqueues--;
	if (q->owner) {
		pf__list_del(&q->own);
		q->owner->nqueues--;
	}
	if (q->orig) {
		q->orig->queues--;
		pf__orig_put(pf, q->orig);
	}
	free(q);
}

static bool
queue_empty(const struct pf_queue *q)
{
	return !q->head && pf__list_empty(&q->waiters);
}

/* Deletes an empty queue that nobody can need: a running one, or a
 * stopped one whose creator has ended. */
static void
queue_settle(struct pf_platform *pf, struct pf_queue *q)
{
	if (queue_empty(q) && (!q->stopped || !q->owner))
		queue_delete(pf, q);
}

/* The creator ends: its empty queues go, the others are left to their
 * members (and go when they empty). */
void
pf__queues_release(struct pf_proc *p)
{
	while (!pf__list_empty(&p->queues)) {
		struct pf_queue *q =
		    PF_CONTAINER(p->queues.next, struct pf_queue, own);
		pf__list_del(&q->own);
		q->owner = NULL;
		p->nqueues--;
		queue_settle(p->pf, q);
	}
}

/* ---- timer heap ---- */

static void
theap_swap(struct pf_platform *pf, uint32_t a, uint32_t b)
{
	struct pf_proc *t = pf->theap[a];
	pf->theap[a] = pf->theap[b];
	pf->theap[b] = t;
	pf->theap[a]->theap = a + 1;
	pf->theap[b]->theap = b + 1;
}

static void
theap_up(struct pf_platform *pf, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (pf->theap[parent]->deadline <= pf->theap[i]->deadline)
			break;
		theap_swap(pf, i, parent);
		i = parent;
	}
}

static void
theap_down(struct pf_platform *pf, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < pf->ntimers &&
		    pf->theap[l]->deadline < pf->theap[m]->deadline)
			m = l;
		if (r < pf->ntimers &&
		    pf->theap[r]->deadline < pf->theap[m]->deadline)
			m = r;
		if (m == i)
			break;
		theap_swap(pf, i, m);
		i = m;
	}
}

static void timer_cb(uv_timer_t *t);

static void
timer_arm(struct pf_platform *pf)
{
	if (pf->ntimers == 0) {
		uv_timer_stop(&pf->timer);
		return;
	}
	int64_t d = pf->theap[0]->deadline - pf_now_us();
	uint64_t ms = d <= 0 ? 0 : (uint64_t)(d + 999) / 1000;
	uv_timer_start(&pf->timer, timer_cb, ms, 0);
}

static void
timer_add(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	if (pf->ntimers == pf->theap_cap) {
		uint32_t ncap = pf->theap_cap ? pf->theap_cap * 2 : 64;
		struct pf_proc **n = realloc(pf->theap, ncap * sizeof(*n));
		if (!n)
			abort(); /* plumbing: a waiter must never hang */
		pf->theap = n;
		pf->theap_cap = ncap;
	}
	pf->theap[pf->ntimers] = p;
	p->theap = ++pf->ntimers;
	theap_up(pf, pf->ntimers - 1);
	timer_arm(pf);
}

void
pf__timer_del(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	if (!p->theap)
		return;
	uint32_t i = p->theap - 1;
	p->theap = 0;
	pf->ntimers--;
	if (i != pf->ntimers) {
		pf->theap[i] = pf->theap[pf->ntimers];
		pf->theap[i]->theap = i + 1;
		theap_down(pf, i);
		theap_up(pf, i);
	}
	if (i == 0)
		timer_arm(pf);
}

/* A timed enter expired: the waiter leaves the queue and gets 1. */
static void
expire(struct pf_proc *p)
{
	struct pf_queue *q = p->q;
	pf__list_del(&p->run);
	p->q = NULL;
	p->timed = false;
	if (q)
		queue_settle(p->pf, q);
	m0_state_resume_int(p->s, 1, 1);
	pf__make_runnable(p);
}

static void
timer_cb(uv_timer_t *t)
{
	struct pf_platform *pf = t->data;
	int64_t now = pf_now_us();
	while (pf->ntimers && pf->theap[0]->deadline <= now) {
		struct pf_proc *p = pf->theap[0];
		pf__timer_del(p);
		expire(p);
	}
	timer_arm(pf);
}

void
pf__timer_init(struct pf_platform *pf)
{
	uv_timer_init(pf->loop, &pf->timer);
	pf->timer.data = pf; /* active only while someone waits on time */
}

/* ---- queue operations ---- */

/* Promotes the first waiter of a running queue with no head. */
static void
promote(struct pf_platform *pf, struct pf_queue *q)
{
	if (q->stopped || q->head || pf__list_empty(&q->waiters)) {
		queue_settle(pf, q);
		return;
	}
	struct pf_proc *p = PF_CONTAINER(q->waiters.next, struct pf_proc, run);
	pf__list_del(&p->run);
	q->head = p;
	pf__timer_del(p);
	m0_state_resume_int(p->s, p->timed, 0);
	p->timed = false;
	pf__make_runnable(p);
}

void
pf__leave(struct pf_proc *p)
{
	struct pf_queue *q = p->q;
	if (!q)
		return;
	p->q = NULL;
	if (q->head == p) {
		q->head = NULL;
		promote(p->pf, q);
		return;
	}
	pf__list_del(&p->run);
	pf__timer_del(p);
	p->timed = false;
	queue_settle(p->pf, q);
}

/* Returns 0 when p heads the queue at once, 1 when it waits, 2 when the
 * queue cannot be made (a cap, counted): then p stays where it was. */
int
pf__enter(struct pf_proc *p, uint64_t key, bool timed, int64_t deadline)
{
	struct pf_platform *pf = p->pf;
	if (!pf__queue_get(pf, key, false, NULL)) {
		int why = queue_refusal(pf, p);
		if (why >= 0) {
			pf->st.drops[why]++;
			return 2;
		}
	}
	pf__leave(p);
	struct pf_queue *q = pf__queue_get(pf, key, true, p);
	if (!q)
		return 0; /* no memory for the queue: run on, in none */
	p->q = q;
	if (!q->head && !q->stopped && pf__list_empty(&q->waiters)) {
		q->head = p;
		return 0;
	}
	pf__list_add_tail(&q->waiters, &p->run);
	p->state = PF_WAITING;
	p->timed = timed;
	if (timed) {
		p->deadline = deadline;
		timer_add(p);
	}
	return 1;
}

void
pf__qctl(struct pf_platform *pf, struct pf_proc *by, uint64_t key, bool stop)
{
	struct pf_queue *q = pf__queue_get(pf, key, stop, by);
	if (!q)
		return; /* a stop over the caps is counted and does nothing */
	q->stopped = stop;
	if (!stop)
		promote(pf, q); /* deletes it when empty */
}

void
pf__queues_free(struct pf_platform *pf)
{
	for (uint32_t i = 0; i <= pf->qmask; i++) {
		struct pf_queue *q = pf->qtab[i], *next;
		for (; q; q = next) {
			next = q->hnext;
			free(q);
		}
	}
	free(pf->qtab);
	free(pf->theap);
	for (uint32_t i = 0; pf->otab && i <= pf->omask; i++) {
		struct pf_orig *o = pf->otab[i], *next;
		for (; o; o = next) {
			next = o->next;
			free(o);
		}
	}
	free(pf->otab);
}
