/*
 * pf_plat.c: the platform object: it owns the interpreter's global state,
 * answers the interpreter's host calls, creates processes, keeps the
 * services and the meter that plug into it (include/pf_svc.h), and runs
 * its own shutdown through close callbacks.
 */
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "pf_int.h"

#define PROC(s) ((struct pf_proc *)m0_state_ud(s))

static int
h_enter(void *ud, struct m0_state *s, uint64_t key, int timed, int64_t deadline)
{
	return pf__enter(PROC(s), key, timed, deadline); /* 2: counted */
}

static void
h_leave(void *ud, struct m0_state *s)
{
	pf__leave(PROC(s));
}

static void
h_qctl(void *ud, struct m0_state *s, uint64_t key, int stop)
{
	pf__qctl(ud, PROC(s), key, stop);
}

static int
h_current(void *ud, struct m0_state *s, uint64_t *key)
{
	struct pf_proc *p = PROC(s);
	if (!p || !p->q)
		return 0;
	*key = p->q->key;
	return 1;
}

static struct pf_proc *proc_new(struct pf_platform *pf, struct m0_state *s,
    struct pf_orig *o, struct pf_proc *parent);
static int proc_join(struct pf_proc *p, uint64_t queue);

/* The drop reason that refuses a new process of origin (o) submitted by
 * (parent) (NULL: an arrival), or -1 when it may start. The budget is
 * taken on success. */
static int
proc_refusal(struct pf_platform *pf, struct pf_orig *o, struct pf_proc *parent)
{
	if (pf->nprocs >= pf->cfg.max_procs)
		return PF_DROP_PROC_CAP;
	if (o &&
	    !pf__share_ok(o->procs, 1, pf->nprocs, pf->cfg.max_procs,
	        pf->cfg.origin_procs))
		return PF_DROP_ORIGIN_PROCS;
	if (parent && parent->nkids >= pf->cfg.proc_kids)
		return PF_DROP_PROC_KIDS;
	uint64_t used, limit;
	pf__budget_now(&used, &limit);
	if (o &&
	    !pf__share_ok(
	        o->bytes, PF_PROC_COST, used, limit, pf->cfg.origin_memory))
		return PF_DROP_MEMORY;
	if (!m0_budget_take(PF_PROC_COST))
		return PF_DROP_MEMORY;
	return -1;
}

/* The budget asks before a process heap grows (the budget has taken
 * (n) already): its origin's share (origin_memory, and the share rule)
 * holds the rest of the budget in reserve for others. Frees are seen at
 * the next growth, through the heap's own count. */
static bool
budget_admit(void *ud, struct m0_state *s, uint64_t n)
{
	struct pf_proc *p = PROC(s);
	if (!p || !p->orig || p->pf->closing)
		return true;
	struct pf_orig *o = p->orig;
	uint64_t now = m0_state_heap_bytes(s) + n;
	uint64_t held = o->bytes - p->heap_seen + now - n;
	uint64_t b = held + n, used, limit;
	pf__budget_now(&used, &limit);
	if (now > p->heap_seen &&
	    !pf__share_ok(held, n, used - n, limit, p->pf->cfg.origin_memory))
		return false;
	o->bytes = b;
	p->heap_seen = now;
	return true;
}

bool
pf_proc_native_take(struct pf_proc *p, uint64_t bytes)
{
	struct pf_platform *pf = p->pf;
	struct pf_orig *o = p->orig;
	uint64_t used, limit;
	pf__budget_now(&used, &limit);
	if (p->contexts >= pf->cfg.proc_contexts ||
	    (o &&
	        (!pf__share_ok(o->contexts, 1, pf->ncontexts,
	             pf->cfg.native_contexts, pf->cfg.origin_contexts) ||
	            !pf__share_ok(o->bytes, bytes, used, limit,
	                pf->cfg.origin_memory))) ||
	    !m0_budget_take(bytes)) {
		pf->st.drops[PF_DROP_NATIVE]++;
		return false;
	}
	pf->ncontexts++;
	p->contexts++;
	if (o) {
		o->contexts++;
		o->bytes += bytes;
	}
	return true;
}

void
pf_proc_native_give(struct pf_proc *p, uint64_t bytes)
{
	p->contexts--;
	p->pf->ncontexts--;
	if (p->orig) {
		p->orig->contexts--;
		p->orig->bytes -= bytes;
	}
	m0_budget_give(bytes);
}

static int
h_submit(void *ud, struct m0_state *s, const struct m0_value *ori,
    const struct m0_msg *msg)
{
	struct pf_platform *pf = ud;
	struct pf_proc *parent = PROC(s);
	int why = proc_refusal(pf, parent ? parent->orig : NULL, parent);
	if (why >= 0) {
		pf->st.drops[why]++;
		return M0_OK; /* $ never blocks and never fails for this */
	}
	struct m0_state *ns;
	int err = m0_state_new_msg(pf->g, msg, s, ori, &ns);
	if (err) {
		m0_budget_give(PF_PROC_COST);
		return err;
	}
	struct pf_proc *p =
	    proc_new(pf, ns, parent ? parent->orig : NULL, parent);
	if (!p) {
		m0_state_free(ns);
		m0_budget_give(PF_PROC_COST);
		pf->st.drops[PF_DROP_NO_MEMORY]++;
		return M0_OK;
	}
	proc_join(p, msg->queue); /* a drop is counted: $ never fails */
	return M0_OK;
}

static int
h_chan_key(void *ud, struct m0_state *s, const char *family,
    const struct m0_value *addr, int64_t ifindex, uint64_t *key)
{
	return pf__chan_key(ud, s, family, addr, ifindex, key);
}

static void
h_chan_send(
    void *ud, struct m0_state *s, uint64_t key, const uint8_t *buf, size_t len)
{
	pf__chan_send(ud, PROC(s), key, buf, len);
}

static int64_t
h_now(void *ud)
{
	return pf_now_us();
}

static void
h_random(void *ud, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n <= 0)
			abort(); /* no entropy: keys would be guessable */
		p += n;
		len -= (size_t)n;
	}
}

static void
h_console(void *ud, struct m0_state *s, const void *buf, size_t len)
{
	struct pf_platform *pf = ud;
	/* The console words write what a console key would: same price. */
	if (pf->console && pf__meter_send(PROC(s), "console", len) == PF_PAID)
		pf->console(pf->console_ud, PROC(s), buf, len);
}

static int64_t
h_gstore(void *ud, struct m0_state *s)
{
	struct pf_platform *pf = ud;
	return pf->meter.gstore(pf->meter.ud, s);
}

/* One budget for the program: every platform's heaps share the RAM. */
static struct m0_budget budget;

uint64_t
pf_default_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || psz <= 0)
		return 1ull << 30;
	return (uint64_t)pages * (uint64_t)psz / 4;
}

uint32_t
pf_origin_contexts(const struct pf_config *c)
{
	uint32_t n =
	    c->native_contexts ? c->native_contexts : PF_NATIVE_CONTEXTS;
	return n - n / 4 ? n - n / 4 : 1;
}

struct pf_platform *
pf_new(uv_loop_t *loop, const struct pf_config *cfg)
{
	struct pf_platform *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pf->loop = loop;
	pf->started_us = pf_now_us();
	if (cfg)
		pf->cfg = *cfg;
	if (!pf->cfg.slice)
		pf->cfg.slice = PF_SLICE;
	if (!pf->cfg.max_procs)
		pf->cfg.max_procs = PF_MAX_PROCS;
	if (!pf->cfg.max_queues)
		pf->cfg.max_queues = PF_MAX_QUEUES;
	if (!pf->cfg.origin_procs)
		pf->cfg.origin_procs =
		    pf->cfg.max_procs - pf->cfg.max_procs / 4;
	if (!pf->cfg.origin_queues)
		pf->cfg.origin_queues =
		    pf->cfg.max_queues - pf->cfg.max_queues / 4;
	if (!pf->cfg.proc_queues)
		pf->cfg.proc_queues = PF_PROC_QUEUES;
	if (!pf->cfg.proc_kids)
		pf->cfg.proc_kids = PF_PROC_KIDS;
	if (!pf->cfg.memory)
		pf->cfg.memory = pf_default_memory();
	if (!pf->cfg.proc_contexts)
		pf->cfg.proc_contexts = PF_PROC_CONTEXTS;
	if (!pf->cfg.native_contexts)
		pf->cfg.native_contexts = PF_NATIVE_CONTEXTS;
	if (!pf->cfg.origin_contexts)
		pf->cfg.origin_contexts = pf_origin_contexts(&pf->cfg);
	if (!pf->cfg.origin_memory)
		pf->cfg.origin_memory = pf->cfg.memory - pf->cfg.memory / 4;
	budget.limit = pf->cfg.memory;
	budget.admit = budget_admit;
	m0_set_budget(&budget);
	h_random(NULL, &pf->oseed, sizeof(pf->oseed));
	pf->host = (struct m0_host){.ud = pf,
	    .enter = h_enter,
	    .leave = h_leave,
	    .qctl = h_qctl,
	    .current = h_current,
	    .submit = h_submit,
	    .chan_key = h_chan_key,
	    .chan_send = h_chan_send,
	    .now = h_now,
	    .random = h_random,
	    .console = h_console};
	pf->qmask = 63;
	pf->qtab = calloc(pf->qmask + 1, sizeof(*pf->qtab));
	pf->kmask = 63;
	pf->ktab = calloc(pf->kmask + 1, sizeof(*pf->ktab));
	pf->omask = 63;
	pf->otab = calloc(pf->omask + 1, sizeof(*pf->otab));
	pf__list_init(&pf->all);
	pf->g =
	    m0_global_new(&pf->cfg.lim, &pf->host, pf->cfg.hid, pf->cfg.pid);
	if (!pf->qtab || !pf->ktab || !pf->otab || !pf->g) {
		m0_global_free(pf->g);
		free(pf->qtab);
		free(pf->ktab);
		free(pf->otab);
		free(pf);
		return NULL;
	}
	pf__sched_init(pf);
	pf__timer_init(pf);
	pf__life_init(pf);
	return pf;
}

/* Everything has closed and pf_free() was called: services first (they
 * may still hold queues' processes' leftovers), then the core. */
static void
release(struct pf_platform *pf)
{
	for (int i = pf->nsvc - 1; i >= 0; i--)
		if (pf->svc[i].free)
			pf->svc[i].free(pf->svc[i].ud);
	pf__queues_free(pf);
	pf__chan_free(pf);
	m0_global_free(pf->g);
	free(pf);
}

static void
pending_done(struct pf_platform *pf)
{
	if (--pf->pending == 0 && pf->freeing)
		release(pf);
}

void
pf__handle_closed(uv_handle_t *h)
{
	pending_done(h->data);
}

void
pf__pending_add(struct pf_platform *pf)
{
	pf->pending++;
}

void
pf__pending_done(struct pf_platform *pf)
{
	pending_done(pf);
}

void
pf_service_closed(struct pf_platform *pf, void *ud)
{
	for (int i = 0; i < pf->nsvc; i++)
		if (pf->svc[i].ud == ud && pf->svc_open[i]) {
			pf->svc_open[i] = false;
			pending_done(pf);
			return;
		}
}

void
pf_close(struct pf_platform *pf)
{
	if (!pf || pf->closing)
		return;
	pf->closing = true;
	pf->on_end = NULL;
	/* Processes first: services then finish their work in flight with
	 * nobody waiting on it (deposits burn, bought tokens go back). */
	while (!pf__list_empty(&pf->all)) {
		struct pf_proc *p =
		    PF_CONTAINER(pf->all.next, struct pf_proc, all);
		m0_state_kill(p->s);
		pf__end_proc(p);
	}
	pf->pending++; /* held while the services are told */
	pf__sched_close(pf);
	for (int i = pf->nsvc - 1; i >= 0; i--) {
		if (!pf->svc[i].close)
			continue;
		pf->svc_open[i] = true;
		pf->pending++;
		pf->svc[i].close(pf->svc[i].ud);
	}
	pf->pending--;
}

void
pf_free(struct pf_platform *pf)
{
	if (!pf)
		return;
	pf_close(pf);
	pf->freeing = true;
	if (pf->pending == 0)
		release(pf);
}

int
pf_add_service(struct pf_platform *pf, const struct pf_service *svc)
{
	if (pf->closing)
		return PF_ERR_CLOSED;
	if (pf->nsvc == PF_MAX_SERVICES)
		return PF_ERR_LIMIT;
	pf->svc[pf->nsvc++] = *svc;
	return PF_OK;
}

void *
pf_service_find(struct pf_platform *pf, const char *name)
{
	for (int i = 0; i < pf->nsvc; i++)
		if (!strcmp(pf->svc[i].name, name))
			return pf->svc[i].ud;
	return NULL;
}

int
pf_set_meter(struct pf_platform *pf, const struct pf_meter *m)
{
	if (pf->metered)
		return PF_ERR_EXISTS;
	pf->meter = *m;
	pf->metered = true;
	if (m->gstore)
		pf->host.gstore = h_gstore;
	return PF_OK;
}

void *
pf_proc_meter(const struct pf_proc *p)
{
	return p->meter;
}

void
pf_proc_set_meter(struct pf_proc *p, void *data)
{
	p->meter = data;
}

uint64_t
pf_proc_service_bytes(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	uint64_t b = 0;
	for (int i = 0; i < pf->nsvc; i++)
		if (pf->svc[i].proc_bytes)
			b += pf->svc[i].proc_bytes(pf->svc[i].ud, p);
	return b;
}

int
pf_add_family(struct pf_platform *pf, const struct pf_family *fam,
    const int64_t *addrs, size_t n)
{
	if (pf->nfams == PF_MAX_FAMILIES)
		return PF_ERR_LIMIT;
	struct pf_fam *f = malloc(sizeof(*f));
	if (!f)
		return PF_ERR_NOMEM;
	f->f = *fam;
	int err = m0_global_add_family(pf->g, fam->name, fam->mtu, addrs, n);
	if (err) {
		free(f);
		return PF_ERR_INTERP;
	}
	pf->fams[pf->nfams++] = f;
	return PF_OK;
}

void
pf_set_console(struct pf_platform *pf, pf_console_cb cb, void *ud)
{
	pf->console = cb;
	pf->console_ud = ud;
}

void
pf_set_end(struct pf_platform *pf, pf_end_cb cb, void *ud)
{
	pf->on_end = cb;
	pf->end_ud = ud;
}

/* A process of origin (o) (NULL: local), child of (parent) or an
 * arrival (NULL). The caller has taken its PF_PROC_COST of the budget;
 * it goes back when the process ends. */
static struct pf_proc *
proc_new(struct pf_platform *pf, struct m0_state *s, struct pf_orig *o,
    struct pf_proc *parent)
{
	if (!o && !(o = pf__orig_get(pf, 0)))
		return NULL;
	struct pf_proc *p = calloc(1, sizeof(*p));
	if (!p) {
		pf__orig_put(pf, o);
		return NULL;
	}
	p->pf = pf;
	p->s = s;
	p->id = ++pf->next_id;
	p->born = pf_now_us();
	pf__list_init(&p->run);
	pf__list_init(&p->keys);
	pf__list_init(&p->queues);
	pf__list_init(&p->kids);
	pf__list_init(&p->sib);
	pf__list_add_tail(&pf->all, &p->all);
	m0_state_set_ud(s, p);
	if (!pf__fam_join(p, parent) ||
	    (pf->meter.open && pf->meter.open(pf->meter.ud, p, !parent))) {
		pf__fam_leave(p); /* a node with no kids: freed */
		pf__list_del(&p->all);
		free(p);
		pf__orig_put(pf, o);
		return NULL;
	}
	p->orig = o;
	o->procs++;
	o->bytes += PF_PROC_COST;
	p->parent = parent;
	p->root = parent ? parent->root : p->id;
	if (parent) {
		pf__list_add_tail(&parent->kids, &p->sib);
		parent->nkids++;
	}
	pf->nprocs++;
	pf->st.created++;
	return p;
}

void
pf__proc_detach(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	pf__queues_release(p);
	/* Its children move up to its parent: a family stays one tree. */
	while (!pf__list_empty(&p->kids)) {
		struct pf_proc *k =
		    PF_CONTAINER(p->kids.next, struct pf_proc, sib);
		pf__list_del(&k->sib);
		p->nkids--;
		k->parent = p->parent;
		if (p->parent) {
			pf__list_add_tail(&p->parent->kids, &k->sib);
			p->parent->nkids++;
		}
	}
	if (p->parent) {
		pf__list_del(&p->sib);
		p->parent->nkids--;
		p->parent = NULL;
	}
	pf__fam_leave(p); /* while its origin can count an ended parent */
	if (p->orig) {
		p->orig->procs--;
		p->orig->bytes -= PF_PROC_COST + p->heap_seen;
		pf__orig_put(pf, p->orig);
		p->orig = NULL;
	}
	m0_budget_give(PF_PROC_COST);
}

/* An arriving messenger joins the queue named in its header (A5); when
 * that queue cannot be made it is dropped and counted. Returns 0, or -1
 * when dropped (p is gone). */
static int
proc_join(struct pf_proc *p, uint64_t queue)
{
	p->state = PF_RUNNING; /* not in any list yet */
	int r = pf__enter(p, queue, false, 0);
	if (r == 2) { /* counted */
		m0_state_kill(p->s);
		pf__end_proc(p);
		return -1;
	}
	if (r == 0)
		pf__make_runnable(p);
	return 0;
}

static int
spawn(struct pf_platform *pf, const struct m0_msg *msg, m0_fill_fn fill,
    void *ud, const struct pf_origin *ori, int (*setup)(struct m0_state *s),
    struct pf_proc **out, uint64_t *id)
{
	if (pf->closing)
		return PF_ERR_CLOSED;
	struct pf_orig *o =
	    pf__orig_host(pf, ori ? ori->host : NULL, ori ? ori->host_len : 0);
	if (!o) {
		pf->st.drops[PF_DROP_NO_MEMORY]++;
		return PF_ERR_NOMEM;
	}
	int why = proc_refusal(pf, o, NULL);
	if (why >= 0) {
		pf->st.drops[why]++;
		pf__orig_put(pf, o);
		return PF_ERR_DROPPED;
	}
	struct m0_state *s;
	if (fill ? m0_state_new_msg_fill(pf->g, msg, fill, ud, &s)
	         : m0_state_new_msg(pf->g, msg, NULL, NULL, &s)) {
		pf->st.drops[PF_DROP_NO_MEMORY]++;
		pf__orig_put(pf, o);
		m0_budget_give(PF_PROC_COST);
		return PF_ERR_NOMEM;
	}
	int err = M0_OK;
	if (ori && ori->family)
		err = m0_state_set_ori_net(
		    s, ori->family, ori->ifindex, ori->addr_int, ori->addr_str);
	if (!err && setup)
		err = setup(s);
	struct pf_proc *p = err ? NULL : proc_new(pf, s, o, NULL);
	if (!p) {
		m0_state_free(s);
		if (!err)
			pf->st.drops[PF_DROP_NO_MEMORY]++;
		pf__orig_put(pf, o);
		m0_budget_give(PF_PROC_COST);
		return err ? PF_ERR_INTERP : PF_ERR_NOMEM;
	}
	uint64_t pid = p->id;
	if (proc_join(p, msg->queue))
		return PF_ERR_DROPPED;
	if (out)
		*out = p;
	if (id)
		*id = pid;
	return PF_OK;
}

int
pf_spawn(struct pf_platform *pf, const struct m0_msg *msg,
    const struct pf_origin *ori, int (*setup)(struct m0_state *s),
    struct pf_proc **out, uint64_t *id)
{
	return spawn(pf, msg, NULL, NULL, ori, setup, out, id);
}

int
pf_spawn_fill(struct pf_platform *pf, const struct m0_msg *msg, m0_fill_fn fill,
    void *ud, struct pf_proc **out)
{
	return spawn(pf, msg, fill, ud, NULL, NULL, out, NULL);
}

struct m0_state *
pf_proc_state(struct pf_proc *p)
{
	return p->s;
}

uint64_t
pf_proc_id(const struct pf_proc *p)
{
	return p->id;
}

int
pf_kill(struct pf_platform *pf, uint64_t id)
{
	for (struct pf_link *l = pf->all.next; l != &pf->all; l = l->next) {
		struct pf_proc *p = PF_CONTAINER(l, struct pf_proc, all);
		if (p->id != id)
			continue;
		if (p->state == PF_RUNNING)
			return -1; /* never free a process inside its own run */
		m0_state_kill(p->s);
		pf__end_proc(p);
		return 0;
	}
	return -1;
}

void
pf_get_stats(const struct pf_platform *pf, struct pf_stats *st)
{
	*st = pf->st;
	st->origins = pf->norigs;
	st->ended_parents = pf->nended;
	struct m0_budget *b = m0_budget();
	if (b) {
		st->mem_used = b->used;
		st->mem_limit = b->limit;
		st->mem_refused = b->refused;
	}
	st->running = 0;
	st->waiting = 0;
	for (struct pf_link *l = pf->all.next; l != &pf->all; l = l->next) {
		struct pf_proc *p = PF_CONTAINER(l, struct pf_proc, all);
		if (p->state == PF_WAITING)
			st->waiting++;
		else
			st->running++;
	}
	st->queues = pf->nqueues;
}

struct m0_global *
pf_global(struct pf_platform *pf)
{
	return pf->g;
}

void
pf_foreach(
    struct pf_platform *pf, void (*fn)(void *ud, struct pf_proc *p), void *ud)
{
	struct pf_link *l = pf->all.next, *next;
	for (; l != &pf->all; l = next) {
		next = l->next;
		fn(ud, PF_CONTAINER(l, struct pf_proc, all));
	}
}

void
pf_proc_info(const struct pf_proc *p, struct pf_proc_info *info)
{
	info->id = p->id;
	info->in_queue = p->q != NULL;
	info->queue = p->q ? p->q->key : 0;
	info->head = p->q && p->q->head == p;
	info->age_us = pf_now_us() - p->born;
	info->steps = m0_state_steps(p->s);
	info->heap = m0_state_heap_bytes(p->s);
}
