/*
 * m0_op_dict.c: dictionaries, arrays, strings, types and attributes (A2,
 * A3). A store into a global object stores a deep copy made in global
 * memory, so no global object ever points into a process's heap.
 */
#include <stdlib.h>

#include "m0_int.h"

int
m0__op_dict(struct m0_state *s)
{
	struct m0_value d;
	int err = m0__new_dict(s, false, 0, &d);
	if (err)
		return err;
	return m0__push(s, &d);
}

int
m0__op_begin(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *d = M0_TOP(s, 0);
	if (d->type != M0_TDICT)
		return M0_ETYPE_CHECK;
	if (s->dsp == s->ds_cap &&
	    !m0__grow_stack((void **)&s->ds, s->ds_inline, &s->ds_cap, s->dsp,
	        s->dsp + 1, s->g->lim.dict_depth, sizeof(*s->ds)))
		return M0_EDICT_STACK_OVERFLOW;
	s->ds[s->dsp++] = *d;
	s->sp--;
	s->g->epoch++;
	return M0_OK;
}

int
m0__op_end(struct m0_state *s)
{
	if (s->dsp <= 1)
		return M0_ESTACK_UNDERFLOW;
	s->dsp--;
	s->g->epoch++;
	return M0_OK;
}

int
m0__op_curdict(struct m0_state *s)
{
	return m0__push(s, &s->ds[s->dsp - 1]);
}

/* [off len] index: checks it against a composite of length n. */
static int
range_index(const struct m0_value *ix, uint32_t n, uint32_t *off, uint32_t *len)
{
	if (ix->len != 2 || !(ix->u.o->attr & M0_AR))
		return M0_ERANGE_CHECK;
	const struct m0_value *e = M0_ELEMS(ix);
	if (e[0].type != M0_TINT || e[1].type != M0_TINT)
		return M0_ETYPE_CHECK;
	if (e[0].u.i < 0 || e[1].u.i < 0 || e[0].u.i > n ||
	    e[1].u.i > (int64_t)n - e[0].u.i)
		return M0_ERANGE_CHECK;
	*off = (uint32_t)e[0].u.i;
	*len = (uint32_t)e[1].u.i;
	return M0_OK;
}

static int
index_of(const struct m0_value *ix, uint32_t n, uint32_t *i)
{
	if (ix->type != M0_TINT)
		return M0_ETYPE_CHECK;
	if (ix->u.i < 0 || ix->u.i >= n)
		return M0_ERANGE_CHECK;
	*i = (uint32_t)ix->u.i;
	return M0_OK;
}

/* Makes v storable into target: a deep copy when target is global. */
static int
storable(struct m0_state *s, const struct m0_value *target,
    const struct m0_value *v, struct m0_value *out)
{
	if (target->u.o->global)
		return m0__to_global(s, v, out);
	*out = *v;
	return M0_OK;
}

static int
put_array(struct m0_state *s, struct m0_value *a, struct m0_value *ix,
    struct m0_value *v)
{
	int err;
	uint32_t i, off, len;
	if (ix->type == M0_TARRAY) {
		if ((err = range_index(ix, a->len, &off, &len)))
			return err;
		if (v->type != M0_TARRAY)
			return M0_ETYPE_CHECK;
		if (v->len != len)
			return M0_ERANGE_CHECK;
		if (!(v->u.o->attr & M0_AR))
			return M0_EACCESS_CHECK;
		if (!a->u.o->global) {
			memmove(M0_ELEMS(a) + off, M0_ELEMS(v),
			    len * sizeof(struct m0_value));
			m0__code_touch(
			    M0_ARR(a), a->off + off, a->off + off + len);
			return M0_OK;
		}
		/* Copy all first, so a failure leaves the target as it was. */
		struct m0_value *tmp = malloc((len ? len : 1) * sizeof(*tmp));
		if (!tmp)
			return M0__ENOMEM;
		for (uint32_t k = 0; k < len && !err; k++)
			err = m0__to_global(s, &M0_ELEMS(v)[k], &tmp[k]);
		if (!err) {
			memcpy(M0_ELEMS(a) + off, tmp, len * sizeof(*tmp));
			m0__code_touch(
			    M0_ARR(a), a->off + off, a->off + off + len);
		}
		free(tmp);
		return err;
	}
	if ((err = index_of(ix, a->len, &i)))
		return err;
	struct m0_value c;
	if ((err = storable(s, a, v, &c)))
		return err;
	M0_ELEMS(a)[i] = c;
	m0__code_touch(M0_ARR(a), a->off + i, a->off + i + 1);
	return M0_OK;
}

static int
put_string(struct m0_state *s, struct m0_value *str, struct m0_value *ix,
    struct m0_value *v)
{
	int err;
	uint32_t i, off, len;
	if (ix->type == M0_TARRAY) {
		if ((err = range_index(ix, str->len, &off, &len)))
			return err;
		if (v->type != M0_TSTRING)
			return M0_ETYPE_CHECK;
		if (v->len != len)
			return M0_ERANGE_CHECK;
		if (!(v->u.o->attr & M0_AR))
			return M0_EACCESS_CHECK;
		memmove(M0_BYTES(str) + off, M0_BYTES(v), len);
		return M0_OK;
	}
	if ((err = index_of(ix, str->len, &i)))
		return err;
	if (v->type != M0_TINT)
		return M0_ETYPE_CHECK;
	if (v->u.i < 0 || v->u.i > 255)
		return M0_ERANGE_CHECK;
	M0_BYTES(str)[i] = (uint8_t)v->u.i;
	return M0_OK;
}

int
m0__op_put(struct m0_state *s)
{
	M0_NEED(s, 3);
	struct m0_value *t = M0_TOP(s, 2), *k = M0_TOP(s, 1), *v = M0_TOP(s, 0);
	if (!m0__composite(t))
		return M0_ETYPE_CHECK;
	if (!(t->u.o->attr & M0_AW))
		return M0_EACCESS_CHECK;
	int err;
	if (t->type == M0_TDICT) {
		struct m0_value kc, vc;
		if ((err = storable(s, t, k, &kc)) ||
		    (err = storable(s, t, v, &vc)))
			return err;
		err = m0__dict_put(s, M0_DICT(t), &kc, &vc);
	} else if (t->type == M0_TARRAY) {
		err = put_array(s, t, k, v);
	} else {
		err = put_string(s, t, k, v);
	}
	if (!err)
		s->sp -= 3;
	return err;
}

int
m0__op_get(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *t = M0_TOP(s, 1), *k = M0_TOP(s, 0), r;
	if (!m0__composite(t))
		return M0_ETYPE_CHECK;
	if (!(t->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	int err;
	uint32_t i, off, len;
	if (t->type == M0_TDICT) {
		struct m0_value *v = m0__dict_find(M0_DICT(t), k);
		if (!v)
			return m0__fail(s, M0_EUNDEFINED, k);
		r = *v;
	} else if (k->type == M0_TARRAY) {
		if ((err = range_index(k, t->len, &off, &len)))
			return err;
		r = *t;
		r.off += off;
		r.len = len;
	} else {
		if ((err = index_of(k, t->len, &i)))
			return err;
		r = t->type == M0_TARRAY ? M0_ELEMS(t)[i]
		                         : m0__int(M0_BYTES(t)[i]);
	}
	s->sp--;
	*M0_TOP(s, 0) = r;
	return M0_OK;
}

int
m0__op_known(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *d = M0_TOP(s, 1), *k = M0_TOP(s, 0);
	if (d->type != M0_TDICT)
		return M0_ETYPE_CHECK;
	if (!(d->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	bool known = m0__dict_find(M0_DICT(d), k) != NULL;
	s->sp--;
	*M0_TOP(s, 0) = m0__int(known);
	return M0_OK;
}

int
m0__op_undef(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *d = M0_TOP(s, 1), *k = M0_TOP(s, 0);
	if (d->type != M0_TDICT)
		return M0_ETYPE_CHECK;
	if (!(d->u.o->attr & M0_AW))
		return M0_EACCESS_CHECK;
	int err = m0__dict_del(s, M0_DICT(d), k);
	if (err)
		return m0__fail(s, err, k);
	s->sp -= 2;
	return M0_OK;
}

int
m0__op_find(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *k = M0_TOP(s, 0);
	for (uint32_t i = s->dsp; i-- > 0;) {
		struct m0_dict *d = M0_DICT(&s->ds[i]);
		if (!(d->h.attr & M0_AR) || !m0__dict_find(d, k))
			continue;
		struct m0_value one = m0__int(1);
		int err = m0__push(s, &one);
		if (err)
			return err;
		*M0_TOP(s, 1) = s->ds[i];
		return M0_OK;
	}
	*k = m0__int(0);
	return M0_OK;
}

int
m0__op_length(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	if (v->type == M0_TDICT)
		*v = m0__int(v->u.o->n);
	else if (v->type == M0_TARRAY || v->type == M0_TSTRING)
		*v = m0__int(v->len);
	else if (v->type == M0_TNAME)
		*v = m0__int(v->u.name->len);
	else
		return M0_ETYPE_CHECK;
	return M0_OK;
}

static int
sized(struct m0_state *s, bool array)
{
	M0_NEED(s, 1);
	struct m0_value *n = M0_TOP(s, 0), r;
	if (n->type != M0_TINT)
		return M0_ETYPE_CHECK;
	if (n->u.i < 0)
		return M0_ERANGE_CHECK;
	if (n->u.i > s->g->lim.max_len)
		return M0_EIMPLEMENTATION_LIMIT;
	int err = array ? m0__new_array(s, false, (uint32_t)n->u.i, &r)
	                : m0__new_string(s, false, NULL, (uint32_t)n->u.i, &r);
	if (err)
		return err;
	*n = r;
	return M0_OK;
}

int
m0__op_array(struct m0_state *s)
{
	return sized(s, true);
}

int
m0__op_string(struct m0_state *s)
{
	return sized(s, false);
}

static const char *const type_names[M0_NTYPE] = {"empty", "null", "int", "time",
    "name", "key", "array", "string", "dict", "oper", "mark", "queue",
    "channel"};

const char *
m0__type_name(int t)
{
	return t >= 0 && t < M0_NTYPE ? type_names[t] : "empty";
}

int
m0__op_type(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	const char *tn = m0__type_name(v->type);
	struct m0_name *n = m0__intern(s->g, tn, strlen(tn));
	if (!n)
		return M0_EIMPLEMENTATION_LIMIT;
	*v = m0__namev(n, true);
	return M0_OK;
}

int
m0__op_getattr(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	*v = m0__int(m0__attr(v));
	return M0_OK;
}

int
m0__op_setattr(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *v = M0_TOP(s, 1), *m = M0_TOP(s, 0);
	if (m->type != M0_TINT || !m0__composite(v))
		return M0_ETYPE_CHECK;
	if (m->u.i < 0 || m->u.i > 7)
		return M0_ERANGE_CHECK;
	if (!(v->u.o->attr & M0_AW))
		return M0_EACCESS_CHECK;
	/* `_` is shared by every process: one messenger must not take it
	 * away from all the others. */
	if (v->u.o == s->g->gdict.u.o && (uint8_t)m->u.i != v->u.o->attr)
		return M0_EACCESS_CHECK;
	v->u.o->attr &= (uint8_t)m->u.i;
	s->g->epoch++; /* an unreadable dict drops out of lookup */
	s->sp -= 2;
	return M0_OK;
}
