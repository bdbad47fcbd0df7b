/*
 * m0_dict.c: dictionaries with any key type, insertion order and no fixed
 * size limit (spec A2). Entries sit in an array in insertion order; an
 * open-addressed index of entry numbers finds them. Removal leaves a
 * tombstone that the next growth compacts away. A dict used as an array
 * (int keys 0..n-1, mostly present) gets a direct index of those keys
 * when it grows: a word count or a table by number then finds its
 * entries without hashing, and without the cache misses of a hashed
 * index that is larger than the entries it finds.
 */
#include <stdlib.h>

#include "m0_int.h"

static size_t
ent_bytes(uint32_t cap)
{
	return (size_t)cap * sizeof(struct m0_dent);
}

static size_t
idx_bytes(uint32_t mask)
{
	return ((size_t)mask + 1) * sizeof(uint32_t);
}

static size_t
table_bytes(uint32_t cap, uint32_t mask, uint32_t dlen)
{
	return ent_bytes(cap) + idx_bytes(mask) +
	    (size_t)dlen * sizeof(uint32_t);
}

size_t
m0__dict_table_bytes(const struct m0_dict *d)
{
	return d->cap ? table_bytes(d->cap, d->mask, d->dlen) : 0;
}

/* The index for cap entries: a power of two at least 1.5 cap, so the
 * probes stay short. cap itself need not be a power of two: a dict made
 * for exactly its entries (a process's local dict) wastes none. */
static uint32_t
mask_for(uint32_t cap)
{
	uint32_t n = 4;
	while (n < cap + cap / 2)
		n *= 2;
	return n - 1;
}

/* Entries and indexes in one allocation: the hashed index follows the
 * entries, the direct one (dlen entries) the hashed one. */
static int
table_alloc(struct m0_state *s, bool global, uint32_t cap, uint32_t dlen,
    struct m0_dent **ent, uint32_t **idx)
{
	uint32_t mask = mask_for(cap);
	*ent = m0__raw_alloc(s, global, table_bytes(cap, mask, dlen));
	if (!*ent)
		return M0__ENOMEM;
	*idx = (uint32_t *)(*ent + cap);
	memset(*idx, 0, table_bytes(cap, mask, dlen) - ent_bytes(cap));
	return M0_OK;
}

/* Whether k is an int key of d's direct index. */
static inline bool
in_dir(const struct m0_dict *d, const struct m0_value *k)
{
	return k->type == M0_TINT && k->u.k < d->dlen;
}

int
m0__new_dict(
    struct m0_state *s, bool global, uint32_t hint, struct m0_value *out)
{
	if (hint > s->g->lim.max_len)
		return M0_EIMPLEMENTATION_LIMIT;
	uint32_t cap = hint < 4 ? 4 : hint;
	struct m0_dict *d =
	    m0__alloc_obj(s, global, M0_TDICT, sizeof(struct m0_dict));
	if (!d)
		return M0__ENOMEM;
	d->used = 0;
	d->dlen = 0;
	if (table_alloc(s, global, cap, 0, &d->ent, &d->idx)) {
		/* The object stays on the heap list as an empty dict; keep
		 * its byte count honest for obj_free. */
		d->ent = NULL;
		d->idx = NULL;
		d->cap = 0;
		d->mask = (uint32_t)-1;
		return M0__ENOMEM;
	}
	d->cap = cap;
	d->mask = mask_for(cap);
	*out = (struct m0_value){.type = M0_TDICT};
	out->u.o = &d->h;
	return M0_OK;
}

static inline uint32_t *
slot_of(struct m0_dict *d, const struct m0_value *k, uint32_t h)
{
	uint32_t i = h & d->mask;
	for (;;) {
		uint32_t e = d->idx[i];
		if (e == 0)
			return &d->idx[i];
		struct m0_dent *de = &d->ent[e - 1];
		if (de->hash == h && m0__equal(&de->k, k))
			return &d->idx[i];
		i = (i + 1) & d->mask;
	}
}

struct m0_value *
m0__dict_find(struct m0_dict *d, const struct m0_value *k)
{
	if (d->cap == 0)
		return NULL;
	uint32_t e =
	    in_dir(d, k) ? M0_DIR(d)[k->u.k] : *slot_of(d, k, m0__hash(k));
	return e ? &d->ent[e - 1].v : NULL;
}

/*
 * The direct index for the live entries of d: the largest power of two
 * p >= 4 such that more than half of the ints 0..p-1 are keys (so it
 * costs at most 8 bytes per such key), or 0. As Lua sizes its array
 * part; here it is decided when the dict grows.
 */
static uint32_t
dir_len(const struct m0_dict *d)
{
	uint32_t nums[33] = {0}; /* nums[b]: int keys k with bit length b */
	for (uint32_t i = 0; i < d->used; i++) {
		const struct m0_value *k = &d->ent[i].k;
		if (k->type != M0_TINT || k->u.k >= (1u << 31))
			continue;
		nums[k->u.k ? 64 - __builtin_clzll(k->u.k) : 0]++;
	}
	uint32_t best = 0, below = 0;
	for (uint32_t b = 0; b < 32; b++) {
		below += nums[b]; /* keys < 2^b */
		if (b >= 2 && below > (1u << b) / 2)
			best = 1u << b;
	}
	return best;
}

/* Rebuilds entries (dropping tombstones) and the index at capacity cap. */
static int
rehash(struct m0_state *s, struct m0_dict *d, uint32_t cap)
{
	bool global = d->h.global;
	struct m0_dent *ent;
	uint32_t *idx, mask = mask_for(cap), dlen = dir_len(d);
	/* The direct index is only for speed: without room for it, the
	 * dict grows as it would without it. */
	if (table_alloc(s, global, cap, dlen, &ent, &idx)) {
		if (!dlen)
			return M0__ENOMEM;
		dlen = 0;
		if (table_alloc(s, global, cap, 0, &ent, &idx))
			return M0__ENOMEM;
	}
	uint32_t *dir = idx + mask + 1, n = 0;
	for (uint32_t i = 0; i < d->used; i++) {
		if (d->ent[i].k.type == M0_TEMPTY)
			continue;
		ent[n] = d->ent[i];
		uint32_t j = ent[n].hash & mask;
		while (idx[j])
			j = (j + 1) & mask;
		idx[j] = ++n;
		if (ent[n - 1].k.type == M0_TINT && ent[n - 1].k.u.k < dlen)
			dir[ent[n - 1].k.u.k] = n;
	}
	if (d->cap)
		m0__raw_free(s->g, s, global, d->ent, m0__dict_table_bytes(d));
	d->ent = ent;
	d->idx = idx;
	d->cap = cap;
	d->mask = mask;
	d->dlen = dlen;
	d->used = n;
	return M0_OK;
}

/* Raw put: no copy-on-store; the `:` operator decides about globals. */
static int
lease(struct m0_state *s, const struct m0_value *k)
{
	const struct m0_host *h = s->g->host;
	int64_t until = h && h->gstore ? h->gstore(h->ud, s) : 0;
	if (until <= 0)
		return M0_OK;
	struct m0_value v = m0__int(until);
	int err = m0__dict_put(s, M0_DICT(&s->g->leases), k, &v);
	if (err) /* an entry without its lease would stay for free */
		m0__dict_del(s, M0_DICT(&s->g->gdict), k);
	return err;
}

int
m0__dict_put(struct m0_state *s, struct m0_dict *d, const struct m0_value *k,
    const struct m0_value *v)
{
	if (d->cap == 0)
		return M0__ENOMEM;
	uint32_t h = m0__hash(k);
	uint32_t *slot = slot_of(d, k, h);
	if (*slot) {
		struct m0_value *old = &d->ent[*slot - 1].v;
		if (old->type == M0_TOPER || v->type == M0_TOPER)
			s->g->epoch++; /* names cache the operator they found */
		*old = *v;
		return d == M0_DICT(&s->g->gdict) ? lease(s, k) : M0_OK;
	}
	if (d->h.n >= s->g->lim.max_len)
		return M0_EDICT_FULL; /* the only limit a dict has (A2) */
	if (d->used == d->cap) {
		uint32_t cap = d->cap;
		if (d->h.n * 2 >= cap)
			cap *= 2; /* else compacting tombstones is enough */
		int err = rehash(s, d, cap);
		if (err)
			return err;
		slot = slot_of(d, k, h);
	}
	s->g->epoch++;
	struct m0_dent *e = &d->ent[d->used];
	e->k = *k;
	e->v = *v;
	e->hash = h;
	*slot = ++d->used;
	if (in_dir(d, k))
		M0_DIR(d)[k->u.k] = d->used;
	d->h.n++;
	return d == M0_DICT(&s->g->gdict) ? lease(s, k) : M0_OK;
}

/* A store into `_` runs on the platform's lease: a charged platform sells
 * space in `_` for a time (rent) and takes the entry back when it ends. */
uint32_t
m0_global_expire(struct m0_global *g, int64_t now_us)
{
	struct m0_dict *l = M0_DICT(&g->leases);
	struct m0_state tmp = {.g = g}; /* the dict calls only use s->g */
	uint32_t n = 0;
	for (uint32_t i = 0; i < l->used; i++) {
		struct m0_dent *e = &l->ent[i];
		if (e->k.type == M0_TEMPTY || e->v.u.i > now_us)
			continue;
		struct m0_value k = e->k;
		m0__dict_del(&tmp, M0_DICT(&g->gdict), &k);
		m0__dict_del(&tmp, l, &k); /* tombstones: i stays valid */
		n++;
	}
	if (n)
		g->gc_due = true;
	return n;
}

/* Removal: tombstone the entry and re-seat the index cluster after it. */
int
m0__dict_del(struct m0_state *s, struct m0_dict *d, const struct m0_value *k)
{
	if (d->cap == 0)
		return M0_EUNDEFINED;
	uint32_t h = m0__hash(k);
	uint32_t *slot = slot_of(d, k, h);
	if (!*slot)
		return M0_EUNDEFINED;
	s->g->epoch++;
	struct m0_dent *e = &d->ent[*slot - 1];
	e->k = (struct m0_value){.type = M0_TEMPTY};
	e->v = m0__null();
	*slot = 0;
	if (in_dir(d, k))
		M0_DIR(d)[k->u.k] = 0;
	uint32_t i = (uint32_t)(slot - d->idx);
	for (uint32_t j = (i + 1) & d->mask; d->idx[j]; j = (j + 1) & d->mask) {
		uint32_t en = d->idx[j];
		d->idx[j] = 0;
		uint32_t t = d->ent[en - 1].hash & d->mask;
		while (d->idx[t])
			t = (t + 1) & d->mask;
		d->idx[t] = en;
	}
	d->h.n--;
	return M0_OK;
}

int
m0__dict_set_str(struct m0_state *s, struct m0_dict *d, const char *k,
    const struct m0_value *v)
{
	struct m0_name *n = m0__intern(s->g, k, strlen(k));
	if (!n)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_value kv = m0__namev(n, false);
	return m0__dict_put(s, d, &kv, v);
}
