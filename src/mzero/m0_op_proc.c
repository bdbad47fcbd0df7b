/*
 * m0_op_proc.c: processes, queues, submission, identity, time and the
 * console words (A3, A5, A6). Each goes through struct m0_host, so the
 * interpreter knows nothing of sockets or event loops.
 */
#include <stdlib.h>

#include "m0_int.h"

#define HOST(s) ((s)->g->host)

int
m0__op_curq(struct m0_state *s)
{
	uint64_t k;
	struct m0_value v = m0__null();
	if (HOST(s)->current(HOST(s)->ud, s, &k))
		v = m0__key(k);
	return m0__push(s, &v);
}

/* key E | key int E int | key time E int */
int
m0__op_enter(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *t = M0_TOP(s, 0);
	if (t->type == M0_TKEY) {
		int r = HOST(s)->enter(HOST(s)->ud, s, t->u.k, 0, 0);
		if (r == 2)
			return M0_EIMPLEMENTATION_LIMIT; /* queue cap */
		s->sp--;
		return r ? M0__BLOCK : M0_OK;
	}
	M0_NEED(s, 2);
	struct m0_value *k = M0_TOP(s, 1);
	if (k->type != M0_TKEY || (t->type != M0_TINT && t->type != M0_TTIME))
		return M0_ETYPE_CHECK;
	int64_t deadline = t->u.i;
	if (t->type == M0_TINT) {
		if (t->u.i < 0)
			return M0_ERANGE_CHECK;
		int64_t now = HOST(s)->now(HOST(s)->ud);
		deadline = t->u.i > INT64_MAX - now ? INT64_MAX : now + t->u.i;
	}
	int r = HOST(s)->enter(HOST(s)->ud, s, k->u.k, 1, deadline);
	if (r == 2)
		return M0_EIMPLEMENTATION_LIMIT; /* queue cap */
	s->sp -= 2;
	if (r)
		return M0__BLOCK; /* the platform pushes 0 or 1 */
	return m0__push_int(s, 0);
}

int
m0__op_leave(struct m0_state *s)
{
	HOST(s)->leave(HOST(s)->ud, s);
	return M0_OK;
}

int
m0__op_qctl(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *k = M0_TOP(s, 1), *f = M0_TOP(s, 0);
	if (k->type != M0_TKEY || f->type != M0_TINT)
		return M0_ETYPE_CHECK;
	HOST(s)->qctl(HOST(s)->ud, s, k->u.k, f->u.i != 0);
	s->sp -= 2;
	return M0_OK;
}

/* key string $ sends on a channel; any string $ submits locally. */
int
m0__op_submit(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *to = M0_TOP(s, 1), *str = M0_TOP(s, 0);
	int err = m0__readable(str, M0_TSTRING);
	if (err)
		return err;
	if (to->type == M0_TKEY) {
		HOST(s)->chan_send(
		    HOST(s)->ud, s, to->u.k, M0_BYTES(str), str->len);
		s->sp -= 2;
		return M0_OK;
	}
	struct m0_msg m;
	if (m0_wire_decode(M0_BYTES(str), str->len, s->g->lim.max_msg, &m,
	        NULL) != M0_WIRE_OK)
		return M0_ERANGE_CHECK;
	err = HOST(s)->submit(HOST(s)->ud, s, to, &m);
	if (err)
		return err;
	s->sp -= 2;
	return M0_OK;
}

int
m0__op_randkey(struct m0_state *s)
{
	uint64_t k;
	HOST(s)->random(HOST(s)->ud, &k, sizeof(k));
	struct m0_value v = m0__key(k);
	return m0__push(s, &v);
}

int
m0__op_now(struct m0_state *s)
{
	struct m0_value v = {.type = M0_TTIME};
	v.u.i = HOST(s)->now(HOST(s)->ud);
	return m0__push(s, &v);
}

/* addr ifindex authproc 'family chankey -> key (the `_key` factories) */
int
m0__op_chankey(struct m0_state *s)
{
	M0_NEED(s, 4);
	struct m0_value *fam = M0_TOP(s, 0), *ifx = M0_TOP(s, 2);
	if (fam->type != M0_TNAME || ifx->type != M0_TINT)
		return M0_ETYPE_CHECK;
	uint64_t key;
	int err = HOST(s)->chan_key(
	    HOST(s)->ud, s, fam->u.name->s, M0_TOP(s, 3), ifx->u.i, &key);
	if (err)
		return err;
	s->sp -= 3;
	*M0_TOP(s, 0) = m0__key(key);
	return M0_OK;
}

int
m0__op_print(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	int err = m0__readable(v, M0_TSTRING);
	if (err)
		return err;
	HOST(s)->console(HOST(s)->ud, s, M0_BYTES(v), v->len);
	s->sp--;
	return M0_OK;
}

int
m0__op_ptop(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_buf b = {0};
	m0__display(s, M0_TOP(s, 0), &b);
	m0__buf_put(&b, "\n", 1);
	if (!b.oom)
		HOST(s)->console(HOST(s)->ud, s, b.p, b.n);
	free(b.p);
	s->sp--;
	return M0_OK;
}

int
m0__op_pstack(struct m0_state *s)
{
	m0_state_print_stack(s);
	return M0_OK;
}
