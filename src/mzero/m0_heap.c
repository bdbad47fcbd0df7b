/*
 * m0_heap.c: per-process and global heaps, quotas, collection and the deep
 * copy that keeps global objects from ever pointing into a local heap.
 *
 * Allocation never collects: an operator that hits the quota fails with
 * M0__ENOMEM before changing anything, and the VM collects at that safe
 * point and retries the operator once. Crossing the soft threshold only
 * requests a collection, which the VM runs between two steps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "m0_int.h"

#define HEAP_MIN_THRESHOLD (64u * 1024)

static struct m0_budget *budget;

void
m0_set_budget(struct m0_budget *b)
{
	budget = b;
}

struct m0_budget *
m0_budget(void)
{
	return budget;
}

bool
m0_budget_take(uint64_t n)
{
	if (!budget)
		return true;
	if (budget->limit && budget->used + n > budget->limit) {
		budget->refused++;
		return false;
	}
	budget->used += n;
	return true;
}

/* Never below zero: bytes taken before the budget was installed may
 * come back after it. */
void
m0_budget_give(uint64_t n)
{
	if (budget)
		budget->used = budget->used > n ? budget->used - n : 0;
}

static struct m0_heap *
heap_of(struct m0_state *s, bool global)
{
	return global ? &s->g->heap : &s->heap;
}

static bool
charge(struct m0_state *s, bool global, size_t size)
{
	struct m0_heap *h = heap_of(s, global);
	if (h->bytes + size > h->quota || !m0_budget_take(size))
		return false;
	if (!global && budget && budget->admit &&
	    !budget->admit(budget->ud, s, size)) {
		m0_budget_give(size);
		budget->refused++;
		return false;
	}
	h->bytes += size;
	if (h->bytes > h->threshold) {
		if (global) {
			s->g->gc_due = true;
		} else if (!s->gc_req) {
			/* Borrow the fuel so the dispatch loop stops at the
			 * next step boundary and collects (Lua's trap). */
			s->gc_req = true;
			s->fuel_saved = s->fuel;
			s->fuel = 0;
		}
	}
	return true;
}

/*
 * A large object (`2000000 A`, 32 MB; a received messenger and its data
 * field) is filled right after it is made: in 4 KiB pages that is one
 * fault per page, which on a virtual machine costs more than the filling
 * (here 25 ms for 8 MiB, against 0.7 ms in huge pages). So an object of
 * at least BIG_MIN gets a mapping of its own that starts on a 2 MiB
 * boundary, with transparent huge pages asked for over its whole 2 MiB
 * blocks (advice only: small pages where the system gives none) and the
 * tail in small pages, so it wastes less than a page. Its size is known
 * again when it is freed (obj_size, m0__dict_table_bytes).
 */
#define HUGE_PAGE ((size_t)2 << 20)
#define BIG_MIN HUGE_PAGE
#define PAGE_UP(n) (((n) + 4095) & ~(size_t)4095)

static void *
big_alloc(size_t size)
{
	if (size < BIG_MIN)
		return malloc(size ? size : 1);
	size_t len = PAGE_UP(size);
	uint8_t *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) &
	    ~(uintptr_t)(HUGE_PAGE - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	munmap(p + len, (size_t)(m + HUGE_PAGE - p)); /* > 0: p < m + 2 MiB */
#if defined(MADV_HUGEPAGE)
	(void)madvise(p, size & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
#endif
	return p;
}

static void
big_free(void *p, size_t size)
{
	if (size < BIG_MIN)
		free(p);
	else if (p)
		munmap(p, PAGE_UP(size));
}

void *
m0__raw_alloc(struct m0_state *s, bool global, size_t size)
{
	if (!charge(s, global, size))
		return NULL;
	void *p = big_alloc(size);
	if (!p) {
		heap_of(s, global)->bytes -= size;
		m0_budget_give(size);
	}
	return p;
}

void
m0__raw_free(
    struct m0_global *g, struct m0_state *s, bool global, void *p, size_t size)
{
	struct m0_heap *h = global ? &g->heap : &s->heap;
	h->bytes -= size;
	m0_budget_give(size);
	big_free(p, size);
}

void *
m0__alloc_obj(struct m0_state *s, bool global, uint8_t type, size_t size)
{
	struct m0_obj *o = m0__raw_alloc(s, global, size);
	if (!o)
		return NULL;
	struct m0_heap *h = heap_of(s, global);
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->attr = M0_ARWX;
	o->global = global;
	o->next = h->objs;
	h->objs = o;
	return o;
}

int
m0__new_array(struct m0_state *s, bool global, uint32_t n, struct m0_value *out)
{
	if (n > s->g->lim.max_len)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_array *a = m0__alloc_obj(s, global, M0_TARRAY,
	    sizeof(*a) + (size_t)n * sizeof(struct m0_value));
	if (!a)
		return M0__ENOMEM;
	a->h.n = n;
	a->code = NULL;
	for (uint32_t i = 0; i < n; i++)
		a->v[i] = m0__null();
	*out = (struct m0_value){.type = M0_TARRAY, .len = n};
	out->u.o = &a->h;
	return M0_OK;
}

int
m0__new_string_raw(
    struct m0_state *s, bool global, uint32_t n, struct m0_value *out)
{
	if (n > s->g->lim.max_len)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_string *str =
	    m0__alloc_obj(s, global, M0_TSTRING, sizeof(*str) + n);
	if (!str)
		return M0__ENOMEM;
	str->h.n = n;
	*out = (struct m0_value){.type = M0_TSTRING, .len = n};
	out->u.o = &str->h;
	return M0_OK;
}

int
m0__new_string(struct m0_state *s, bool global, const void *b, uint32_t n,
    struct m0_value *out)
{
	int err = m0__new_string_raw(s, global, n, out);
	if (err)
		return err;
	if (b)
		memcpy(M0_BYTES(out), b, n);
	else
		memset(M0_BYTES(out), 0, n);
	return M0_OK;
}

static size_t
obj_size(const struct m0_obj *o)
{
	switch (o->type) {
	case M0_TARRAY:
		return sizeof(struct m0_array) +
		    (size_t)o->n * sizeof(struct m0_value);
	case M0_TSTRING:
		return sizeof(struct m0_string) + o->n;
	default:
		return sizeof(struct m0_dict);
	}
}

static void
obj_free(struct m0_global *g, struct m0_heap *h, struct m0_obj *o)
{
	size_t n = obj_size(o);
	if (o->type == M0_TDICT) {
		struct m0_dict *d = (struct m0_dict *)o;
		if (d->cap) {
			size_t t = m0__dict_table_bytes(d);
			n += t;
			big_free(
			    d->ent, t); /* the indexes with it (m0_dict.c) */
		}
	} else if (o->type == M0_TARRAY) {
		struct m0_array *a = (struct m0_array *)o;
		if (a->code) {
			n += (size_t)o->n + 1; /* m0__code_get */
			free(a->code);
		}
	}
	h->bytes -= n;
	m0_budget_give(n);
	big_free(o, obj_size(o));
}

void
m0__heap_free_all(struct m0_global *g, struct m0_heap *h)
{
	struct m0_obj *o = h->objs, *next;
	for (; o; o = next) {
		next = o->next;
		obj_free(g, h, o);
	}
	h->objs = NULL;
}

/* ---- marking: an explicit worklist, so deep structures never recurse */

static void
work_push(struct m0_global *g, struct m0_obj *o)
{
	if (g->nwork == g->work_cap) {
		uint32_t ncap = g->work_cap ? g->work_cap * 2 : 256;
		struct m0_obj **w = realloc(g->work, ncap * sizeof(*w));
		if (!w)
			abort(); /* plumbing: the collector cannot fail */
		g->work = w;
		g->work_cap = ncap;
	}
	g->work[g->nwork++] = o;
}

/* Marks v's object; with local_only, global objects are not traversed
 * (they never point into a local heap). */
static void
mark_value(struct m0_global *g, const struct m0_value *v, bool local_only)
{
	if (!m0__composite(v))
		return;
	struct m0_obj *o = v->u.o;
	if (o->mark || (local_only && o->global))
		return;
	o->mark = 1;
	work_push(g, o);
}

static void
mark_drain(struct m0_global *g, bool local_only)
{
	while (g->nwork) {
		struct m0_obj *o = g->work[--g->nwork];
		if (o->type == M0_TARRAY) {
			struct m0_array *a = (struct m0_array *)o;
			for (uint32_t i = 0; i < o->n; i++)
				mark_value(g, &a->v[i], local_only);
		} else if (o->type == M0_TDICT) {
			struct m0_dict *d = (struct m0_dict *)o;
			for (uint32_t i = 0; i < d->used; i++) {
				if (d->ent[i].k.type == M0_TEMPTY)
					continue;
				mark_value(g, &d->ent[i].k, local_only);
				mark_value(g, &d->ent[i].v, local_only);
			}
		}
	}
}

static void
mark_state(struct m0_state *s, bool local_only)
{
	struct m0_global *g = s->g;
	for (uint32_t i = 0; i < s->sp; i++)
		mark_value(g, &s->os[i], local_only);
	for (uint32_t i = 0; i < s->dsp; i++)
		mark_value(g, &s->ds[i], local_only);
	for (uint32_t i = 0; i < s->esp; i++) {
		mark_value(g, &s->es[i].a, local_only);
		mark_value(g, &s->es[i].b, local_only);
	}
	mark_value(g, &s->locd, local_only);
	mark_value(g, &s->ori0, local_only);
	mark_value(g, &s->errobj, local_only);
	mark_value(g, &s->cur, local_only);
	mark_drain(g, local_only);
}

static void
sweep(struct m0_global *g, struct m0_heap *h)
{
	g->epoch++; /* freed dicts may hold cached slots */
	struct m0_obj **pp = &h->objs;
	while (*pp) {
		struct m0_obj *o = *pp;
		if (o->mark) {
			o->mark = 0;
			pp = &o->next;
		} else {
			*pp = o->next;
			obj_free(g, h, o);
		}
	}
	h->threshold = h->bytes * 2;
	if (h->threshold < HEAP_MIN_THRESHOLD)
		h->threshold = HEAP_MIN_THRESHOLD;
}

void
m0__gc_local(struct m0_state *s)
{
	mark_state(s, true);
	sweep(s->g, &s->heap);
}

void
m0_state_gc(struct m0_state *s)
{
	m0__gc_local(s);
}

void
m0_global_gc(struct m0_global *g)
{
	mark_value(g, &g->sys, false);
	mark_value(g, &g->longdict, false);
	mark_value(g, &g->leases, false);
	mark_drain(g, false);
	for (struct m0_state *s = g->states; s; s = s->gnext)
		mark_state(s, false);
	sweep(g, &g->heap);
	/* Local objects were marked on the way; clear them. */
	for (struct m0_state *s = g->states; s; s = s->gnext)
		for (struct m0_obj *o = s->heap.objs; o; o = o->next)
			o->mark = 0;
	g->gc_due = false;
}

uint64_t
m0_global_bytes(const struct m0_global *g)
{
	return g->heap.bytes;
}

/* ---- copies ---- */

/*
 * Copies v's object graph into dst (global or dst's local heap). Objects
 * already in the target heap are shared; each source object is copied once
 * (fwd), so cycles and sharing are kept. Two passes: allocate every copy,
 * then fill, so nothing recurses in C.
 */
static int
deep_copy(struct m0_state *s, bool global, struct m0_state *dst,
    const struct m0_value *v, struct m0_value *out)
{
	struct m0_global *g = s->g;
	struct m0_state *as = dst ? dst : s; /* allocating state */
	int err = M0_OK;
	*out = *v;
	if (!m0__composite(v))
		return M0_OK;
	if (v->u.o->global)
		return M0_OK; /* global objects are shared, never copied */
	uint32_t base = g->nwork;
	work_push(g, v->u.o);
	v->u.o->fwd = v->u.o; /* placeholder: queued */
	uint32_t head = base;
	/* Breadth-first over the work list: allocate copies. */
	while (head < g->nwork) {
		struct m0_obj *o = g->work[head++];
		struct m0_obj *c;
		if (o->type == M0_TARRAY) {
			struct m0_value t;
			err = m0__new_array(as, global, o->n, &t);
			c = err ? NULL : t.u.o;
		} else if (o->type == M0_TSTRING) {
			struct m0_value t;
			err = m0__new_string(
			    as, global, ((struct m0_string *)o)->b, o->n, &t);
			c = err ? NULL : t.u.o;
		} else {
			struct m0_value t;
			err = m0__new_dict(as, global, o->n, &t);
			c = err ? NULL : t.u.o;
		}
		if (err)
			break;
		c->attr = o->attr;
		o->fwd = c;
		/* Queue children that need copying. */
		if (o->type == M0_TARRAY) {
			struct m0_array *a = (struct m0_array *)o;
			for (uint32_t i = 0; i < o->n; i++) {
				struct m0_value *e = &a->v[i];
				if (m0__composite(e) && !e->u.o->fwd &&
				    !e->u.o->global) {
					e->u.o->fwd = e->u.o;
					work_push(g, e->u.o);
				}
			}
		} else if (o->type == M0_TDICT) {
			struct m0_dict *d = (struct m0_dict *)o;
			for (uint32_t i = 0; i < d->used; i++) {
				for (int kv = 0; kv < 2; kv++) {
					struct m0_value *e =
					    kv ? &d->ent[i].v : &d->ent[i].k;
					if (d->ent[i].k.type == M0_TEMPTY)
						continue;
					if (m0__composite(e) && !e->u.o->fwd &&
					    !e->u.o->global) {
						e->u.o->fwd = e->u.o;
						work_push(g, e->u.o);
					}
				}
			}
		}
	}
	/* Fill pass (only when every copy was allocated). */
#define FWD(e)                                                                 \
	do {                                                                   \
		if (m0__composite(e) && (e)->u.o->fwd)                         \
			(e)->u.o = (e)->u.o->fwd;                              \
	} while (0)
	for (uint32_t w = base; !err && w < g->nwork; w++) {
		struct m0_obj *o = g->work[w];
		if (o->type == M0_TARRAY) {
			struct m0_array *a = (struct m0_array *)o;
			struct m0_array *c = (struct m0_array *)o->fwd;
			for (uint32_t i = 0; i < o->n; i++) {
				c->v[i] = a->v[i];
				FWD(&c->v[i]);
			}
		} else if (o->type == M0_TDICT) {
			struct m0_dict *d = (struct m0_dict *)o;
			for (uint32_t i = 0; i < d->used && !err; i++) {
				if (d->ent[i].k.type == M0_TEMPTY)
					continue;
				struct m0_value k = d->ent[i].k;
				struct m0_value val = d->ent[i].v;
				FWD(&k);
				FWD(&val);
				err = m0__dict_put(
				    as, (struct m0_dict *)o->fwd, &k, &val);
			}
		}
	}
	if (!err) {
		*out = *v;
		out->u.o = v->u.o->fwd;
	}
#undef FWD
	/* Clear forwarding pointers; failed copies become garbage that the
	 * next collection frees. */
	for (uint32_t w = base; w < g->nwork; w++)
		g->work[w]->fwd = NULL;
	g->nwork = base;
	return err;
}

int
m0__to_global(
    struct m0_state *s, const struct m0_value *v, struct m0_value *out)
{
	return deep_copy(s, true, NULL, v, out);
}

int
m0__copy_into(
    struct m0_state *dst, const struct m0_value *v, struct m0_value *out)
{
	return deep_copy(dst, false, dst, v, out);
}

int
m0__copy_shallow(
    struct m0_state *s, const struct m0_value *v, struct m0_value *out)
{
	int err;
	struct m0_value c;
	if (v->type == M0_TARRAY) {
		if ((err = m0__new_array(s, false, v->len, &c)))
			return err;
		memcpy(M0_ARR(&c)->v, M0_ELEMS(v),
		    (size_t)v->len * sizeof(struct m0_value));
	} else if (v->type == M0_TSTRING) {
		if ((err = m0__new_string(s, false, M0_BYTES(v), v->len, &c)))
			return err;
	} else {
		struct m0_dict *d = M0_DICT(v);
		if ((err = m0__new_dict(s, false, d->h.n, &c)))
			return err;
		for (uint32_t i = 0; i < d->used; i++) {
			if (d->ent[i].k.type == M0_TEMPTY)
				continue;
			err = m0__dict_put(
			    s, M0_DICT(&c), &d->ent[i].k, &d->ent[i].v);
			if (err)
				return err;
		}
	}
	c.u.o->attr = v->u.o->attr;
	c.x = v->x;
	*out = c;
	return M0_OK;
}
