/*
 * m0_ext.c: extension operators and error names (spec Part B), and the
 * small stack API they are written with. The platform registers them at
 * start (native code, money); to MØ they are operators like any other.
 */
#include <stdlib.h>

#include "m0_int.h"

const char *
m0__op_name(const struct m0_global *g, uint32_t op)
{
	if (op < M0_NOPS)
		return m0__ops[op].name;
	if (op - M0_NOPS < g->next)
		return g->ext[op - M0_NOPS].name->s;
	return "?";
}

const char *
m0_global_strerror(const struct m0_global *g, int err)
{
	if (err > 0 && (uint32_t)err < g->nerr)
		return g->errname[err]->s;
	return m0_strerror(err);
}

int
m0__ext_call(struct m0_state *s, uint32_t op)
{
	struct m0_global *g = s->g;
	if (op - M0_NOPS >= g->next)
		return M0_EUNDEFINED;
	int err = g->ext[op - M0_NOPS].fn(s, g->ext[op - M0_NOPS].ud);
	return err == M0_EXT_BLOCK ? M0__BLOCK : err;
}

int
m0_global_add_error(struct m0_global *g, const char *name)
{
	if (g->nerr >= M0_MAX_ERRORS)
		return -1;
	struct m0_name *n = m0__intern(g, name, strlen(name));
	struct m0_state *b = m0_state_new(g);
	struct m0_value a;
	if (!n || !b || m0__new_array(b, true, g->nerr, &a)) {
		m0_state_free(b);
		return -1;
	}
	g->errname[g->nerr] = n;
	for (uint32_t i = 1; i <= g->nerr; i++)
		M0_ARR(&a)->v[i - 1] = m0__namev(g->errname[i], true);
	a.u.o->attr = M0_AR | M0_AX;
	int err = m0__gset(b, &g->sys, "_ena", a);
	if (!err)
		err = m0__gset(b, &g->longdict, "errors", a);
	m0_state_free(b);
	if (err)
		return -1;
	return (int)g->nerr++;
}

int
m0_global_add_op(struct m0_global *g, const char *name, const char *alias,
    m0_ext_fn fn, void *ud)
{
	if (g->next >= M0_MAX_EXT_OPS)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_name *n = m0__intern(g, name, strlen(name));
	struct m0_state *b = m0_state_new(g);
	if (!n || !b) {
		m0_state_free(b);
		return M0_EIMPLEMENTATION_LIMIT;
	}
	uint32_t op = M0_NOPS + g->next;
	g->ext[g->next] = (struct m0_ext){n, fn, ud};
	int err = m0__gset(b, &g->sys, name, m0__oper(op));
	if (!err && alias) {
		struct m0_value p;
		err = m0__new_array(b, true, 1, &p);
		if (!err) {
			M0_ARR(&p)->v[0] = m0__oper(op);
			p.x = 1;
			p.u.o->attr = M0_AR | M0_AX;
			err = m0__gset(b, &g->longdict, alias, p);
		} else {
			err = M0_EIMPLEMENTATION_LIMIT;
		}
	}
	m0_state_free(b);
	if (!err)
		g->next++;
	return err;
}

/* ---- stack API for extension operators ---- */

static int
arg(struct m0_state *s, uint32_t k, uint8_t type, struct m0_value **v)
{
	if (k >= s->sp)
		return M0_ESTACK_UNDERFLOW;
	*v = M0_TOP(s, k);
	return (*v)->type == type ? M0_OK : M0_ETYPE_CHECK;
}

int
m0_get_int(struct m0_state *s, uint32_t k, int64_t *out)
{
	struct m0_value *v;
	int err = arg(s, k, M0_TINT, &v);
	if (!err)
		*out = v->u.i;
	return err;
}

int
m0_get_key(struct m0_state *s, uint32_t k, uint64_t *out)
{
	struct m0_value *v;
	int err = arg(s, k, M0_TKEY, &v);
	if (!err)
		*out = v->u.k;
	return err;
}

int
m0_get_string(struct m0_state *s, uint32_t k, const uint8_t **p, size_t *n)
{
	struct m0_value *v;
	int err = arg(s, k, M0_TSTRING, &v);
	if (err)
		return err;
	if (!(v->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	*p = M0_BYTES(v);
	*n = v->len;
	return M0_OK;
}

int
m0_get_field_int(
    struct m0_state *s, uint32_t k, const char *name, int64_t *out, int *found)
{
	struct m0_value *d;
	int err = arg(s, k, M0_TDICT, &d);
	if (err)
		return err;
	if (!(d->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	*found = 0;
	struct m0_name *n = m0__intern(s->g, name, strlen(name));
	if (!n)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_value key = m0__namev(n, false);
	struct m0_value *v = m0__dict_find(M0_DICT(d), &key);
	if (!v)
		return M0_OK;
	if (v->type != M0_TINT)
		return M0_ETYPE_CHECK;
	*out = v->u.i;
	*found = 1;
	return M0_OK;
}

int
m0_get_array_len(struct m0_state *s, uint32_t k, size_t *n)
{
	struct m0_value *a;
	int err = arg(s, k, M0_TARRAY, &a);
	if (err)
		return err;
	if (!(a->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	*n = a->len;
	return M0_OK;
}

int
m0_get_array_string(
    struct m0_state *s, uint32_t k, size_t i, const uint8_t **p, size_t *n)
{
	size_t len;
	int err = m0_get_array_len(s, k, &len);
	if (err)
		return err;
	if (i >= len)
		return M0_ERANGE_CHECK;
	const struct m0_value *e = &M0_ELEMS(M0_TOP(s, k))[i];
	if ((err = m0__readable(e, M0_TSTRING)))
		return err;
	*p = M0_BYTES(e);
	*n = e->len;
	return M0_OK;
}

int
m0_is_null(struct m0_state *s, uint32_t k)
{
	if (k >= s->sp)
		return -M0_ESTACK_UNDERFLOW;
	return M0_TOP(s, k)->type == M0_TNULL;
}

void
m0_pop(struct m0_state *s, uint32_t n)
{
	s->sp = n > s->sp ? 0 : s->sp - n;
}

void
m0_drop_under(struct m0_state *s, uint32_t n)
{
	if (s->sp < n + 1)
		return;
	s->os[s->sp - 1 - n] = s->os[s->sp - 1];
	s->sp -= n;
}

int
m0_pack(struct m0_state *s, uint32_t n)
{
	struct m0_value a;
	if (n > s->sp)
		return M0_ESTACK_UNDERFLOW;
	int err = m0__new_array(s, false, n, &a);
	if (err)
		return m0__nomem(err);
	memcpy(M0_ARR(&a)->v, s->os + s->sp - n, n * sizeof(struct m0_value));
	s->sp -= n;
	s->os[s->sp++] = a;
	return M0_OK;
}

int
m0_push_int(struct m0_state *s, int64_t v)
{
	return m0__push_int(s, v);
}

int
m0_push_key(struct m0_state *s, uint64_t v)
{
	struct m0_value k = m0__key(v);
	return m0__push(s, &k);
}

int
m0_push_null(struct m0_state *s)
{
	struct m0_value n = m0__null();
	return m0__push(s, &n);
}

int
m0_push_string(struct m0_state *s, const void *p, size_t n)
{
	struct m0_value v;
	if (n > s->g->lim.max_len)
		return M0_EIMPLEMENTATION_LIMIT;
	int err = m0__nomem(m0__new_string(s, false, p, (uint32_t)n, &v));
	return err ? err : m0__push(s, &v);
}

int
m0_push_name(struct m0_state *s, const char *name)
{
	struct m0_name *n = m0__intern(s->g, name, strlen(name));
	if (!n)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_value v = m0__namev(n, false);
	return m0__push(s, &v);
}

int
m0_push_dict(struct m0_state *s)
{
	struct m0_value d;
	int err = m0__nomem(m0__new_dict(s, false, 8, &d));
	return err ? err : m0__push(s, &d);
}

int
m0_set_field(struct m0_state *s, const char *name)
{
	if (s->sp < 2)
		return M0_ESTACK_UNDERFLOW;
	struct m0_value *d = M0_TOP(s, 1);
	if (d->type != M0_TDICT)
		return M0_ETYPE_CHECK;
	int err =
	    m0__nomem(m0__dict_set_str(s, M0_DICT(d), name, M0_TOP(s, 0)));
	if (!err)
		s->sp--;
	return err;
}
