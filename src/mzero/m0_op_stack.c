/*
 * m0_op_stack.c: stack, arithmetic, bit and comparison operators (A3).
 * Operators check all operands before changing anything, so on an error
 * the operands stay on the stack (A5) and a retry after M0__ENOMEM is safe.
 */
#include "m0_int.h"

#define NEED_TYPE(v, t)                                                        \
	do {                                                                   \
		if ((v)->type != (t))                                          \
			return M0_ETYPE_CHECK;                                 \
	} while (0)

int
m0__op_pop(struct m0_state *s)
{
	M0_NEED(s, 1);
	s->sp--;
	return M0_OK;
}

int
m0__op_exch(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value t = *M0_TOP(s, 0);
	*M0_TOP(s, 0) = *M0_TOP(s, 1);
	*M0_TOP(s, 1) = t;
	return M0_OK;
}

int
m0__op_index(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *n = M0_TOP(s, 0);
	NEED_TYPE(n, M0_TINT);
	if (n->u.i < 0)
		return M0_ERANGE_CHECK;
	if ((uint64_t)n->u.i >= s->sp - 1)
		return M0_ESTACK_UNDERFLOW;
	*n = *M0_TOP(s, 1 + n->u.i);
	return M0_OK;
}

static void
reverse(struct m0_value *a, uint32_t n)
{
	for (uint32_t i = 0, j = n - 1; i < j; i++, j--) {
		struct m0_value t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

int
m0__op_roll(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *n = M0_TOP(s, 1), *j = M0_TOP(s, 0);
	NEED_TYPE(n, M0_TINT);
	NEED_TYPE(j, M0_TINT);
	if (n->u.i < 1)
		return M0_ERANGE_CHECK;
	if ((uint64_t)n->u.i > s->sp - 2)
		return M0_ESTACK_UNDERFLOW;
	uint32_t cnt = (uint32_t)n->u.i;
	int64_t sh = j->u.i % (int64_t)cnt;
	if (sh < 0)
		sh += cnt;
	s->sp -= 2;
	if (sh) {
		/* Rotate right by sh with three reversals. */
		struct m0_value *a = s->os + s->sp - cnt;
		reverse(a, cnt);
		reverse(a, (uint32_t)sh);
		if (cnt - sh > 1)
			reverse(a + sh, cnt - (uint32_t)sh);
	}
	return M0_OK;
}

int
m0__op_copy(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0), c;
	if (!m0__composite(v))
		return M0_ETYPE_CHECK;
	if (!(v->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	int err = m0__copy_shallow(s, v, &c);
	if (err)
		return err;
	*M0_TOP(s, 0) = c;
	return M0_OK;
}

static int64_t
above_mark(const struct m0_state *s, uint32_t below)
{
	for (uint32_t i = s->sp - below; i-- > 0;)
		if (s->os[i].type == M0_TMARK)
			return (int64_t)(s->sp - below - 1 - i);
	return -1;
}

int
m0__op_count(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *n = M0_TOP(s, 0);
	NEED_TYPE(n, M0_TINT);
	int64_t r;
	switch (n->u.i) {
	case 0:
		r = above_mark(s, 1);
		if (r < 0)
			r = s->sp - 1;
		break;
	case 1:
		r = s->sp - 1;
		break;
	case 2:
		r = s->dsp;
		break;
	case 3:
		r = s->esp;
		break;
	default:
		return M0_ERANGE_CHECK;
	}
	*n = m0__int(r);
	return M0_OK;
}

int
m0__op_mark(struct m0_state *s)
{
	struct m0_value m = {.type = M0_TMARK};
	return m0__push(s, &m);
}

int
m0__op_build(struct m0_state *s)
{
	int64_t n = above_mark(s, 0);
	if (n < 0)
		return M0_ENO_MATCHING_MARK;
	struct m0_value a;
	int err = m0__new_array(s, false, (uint32_t)n, &a);
	if (err)
		return err;
	memcpy(M0_ARR(&a)->v, s->os + s->sp - n,
	    (size_t)n * sizeof(struct m0_value));
	s->sp -= (uint32_t)n;
	*M0_TOP(s, 0) = a;
	return M0_OK;
}

/* One value per exec frame: what it is running or looping over. */
static struct m0_value
frame_value(const struct m0_frame *f)
{
	switch (f->kind) {
	case M0_FPROC:
	case M0_FSTR:
		return f->a;
	case M0_FSTOP:
	case M0_FERRH:
	case M0_FBASE:
		return m0__null();
	default:
		return f->b;
	}
}

int
m0__op_stk(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *n = M0_TOP(s, 0), a;
	NEED_TYPE(n, M0_TINT);
	if (n->u.i < 1 || n->u.i > 3)
		return M0_ERANGE_CHECK;
	int which = (int)n->u.i;
	uint32_t cnt = which == 1 ? s->sp - 1 : which == 2 ? s->dsp : s->esp;
	int err = m0__new_array(s, false, cnt, &a);
	if (err)
		return err;
	for (uint32_t i = 0; i < cnt; i++)
		M0_ARR(&a)->v[i] = which == 1 ? s->os[i]
		    : which == 2              ? s->ds[i]
		                              : frame_value(&s->es[i]);
	a.u.o->attr = M0_AR;
	*M0_TOP(s, 0) = a;
	return M0_OK;
}

/* ---- arithmetic ---- */

static int
concat(struct m0_state *s, struct m0_value *a, struct m0_value *b)
{
	struct m0_value r;
	if (!(a->u.o->attr & M0_AR) || !(b->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	uint64_t n = (uint64_t)a->len + b->len;
	if (n > s->g->lim.max_len)
		return M0_EIMPLEMENTATION_LIMIT;
	int err;
	if (a->type == M0_TARRAY) {
		err = m0__new_array(s, false, (uint32_t)n, &r);
		if (err)
			return err;
		memcpy(M0_ARR(&r)->v, M0_ELEMS(a), a->len * sizeof(*a));
		memcpy(
		    M0_ARR(&r)->v + a->len, M0_ELEMS(b), b->len * sizeof(*a));
		r.x = a->x;
	} else {
		err = m0__new_string(s, false, NULL, (uint32_t)n, &r);
		if (err)
			return err;
		memcpy(M0_STR(&r)->b, M0_BYTES(a), a->len);
		memcpy(M0_STR(&r)->b + a->len, M0_BYTES(b), b->len);
	}
	s->sp--;
	*M0_TOP(s, 0) = r;
	return M0_OK;
}

static inline int64_t
wrap_add(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t
wrap_sub(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

int
m0__op_add(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *a = M0_TOP(s, 1), *b = M0_TOP(s, 0);
	if (a->type == M0_TINT && b->type == M0_TINT) {
		a->u.i = wrap_add(a->u.i, b->u.i);
	} else if ((a->type == M0_TTIME && b->type == M0_TINT) ||
	    (a->type == M0_TINT && b->type == M0_TTIME)) {
		a->u.i = wrap_add(a->u.i, b->u.i);
		a->type = M0_TTIME;
	} else if (a->type == b->type &&
	    (a->type == M0_TARRAY || a->type == M0_TSTRING)) {
		return concat(s, a, b);
	} else {
		return M0_ETYPE_CHECK;
	}
	s->sp--;
	return M0_OK;
}

int
m0__op_sub(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *a = M0_TOP(s, 1), *b = M0_TOP(s, 0);
	if (b->type != M0_TINT && !(a->type == M0_TTIME && b->type == M0_TTIME))
		return M0_ETYPE_CHECK;
	if (a->type == M0_TINT && b->type == M0_TINT)
		a->u.i = wrap_sub(a->u.i, b->u.i);
	else if (a->type == M0_TTIME && b->type == M0_TINT)
		a->u.i = wrap_sub(a->u.i, b->u.i);
	else if (a->type == M0_TTIME && b->type == M0_TTIME)
		*a = m0__int(wrap_sub(a->u.i, b->u.i));
	else
		return M0_ETYPE_CHECK;
	s->sp--;
	return M0_OK;
}

#define INT2(s, a, b)                                                          \
	M0_NEED(s, 2);                                                         \
	struct m0_value *a = M0_TOP(s, 1), *b = M0_TOP(s, 0);                  \
	if (a->type != M0_TINT || b->type != M0_TINT)                          \
	return M0_ETYPE_CHECK

int
m0__op_mul(struct m0_state *s)
{
	INT2(s, a, b);
	a->u.i = (int64_t)((uint64_t)a->u.i * (uint64_t)b->u.i);
	s->sp--;
	return M0_OK;
}

int
m0__op_div(struct m0_state *s)
{
	INT2(s, a, b);
	if (b->u.i == 0)
		return M0_EDIVISION_BY_ZERO;
	/* INT64_MIN / -1 wraps, as every other overflow does. */
	a->u.i = b->u.i == -1 ? wrap_sub(0, a->u.i) : a->u.i / b->u.i;
	s->sp--;
	return M0_OK;
}

int
m0__op_mod(struct m0_state *s)
{
	INT2(s, a, b);
	if (b->u.i == 0)
		return M0_EDIVISION_BY_ZERO;
	if (b->u.i < 0)
		return M0_ERANGE_CHECK;
	int64_t r = a->u.i % b->u.i;
	a->u.i = r < 0 ? r + b->u.i : r;
	s->sp--;
	return M0_OK;
}

int
m0__op_neg(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *a = M0_TOP(s, 0);
	NEED_TYPE(a, M0_TINT);
	a->u.i = wrap_sub(0, a->u.i);
	return M0_OK;
}

int
m0__op_not(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *a = M0_TOP(s, 0);
	if (a->type != M0_TINT && a->type != M0_TKEY)
		return M0_ETYPE_CHECK;
	a->u.k = ~a->u.k;
	return M0_OK;
}

static int
bits(struct m0_state *s, int op)
{
	M0_NEED(s, 2);
	struct m0_value *a = M0_TOP(s, 1), *b = M0_TOP(s, 0);
	if (a->type != b->type || (a->type != M0_TINT && a->type != M0_TKEY))
		return M0_ETYPE_CHECK;
	a->u.k = op == 0 ? a->u.k & b->u.k
	    : op == 1    ? a->u.k | b->u.k
	                 : a->u.k ^ b->u.k;
	s->sp--;
	return M0_OK;
}

int
m0__op_and(struct m0_state *s)
{
	return bits(s, 0);
}

int
m0__op_or(struct m0_state *s)
{
	return bits(s, 1);
}

int
m0__op_xor(struct m0_state *s)
{
	return bits(s, 2);
}

/* Returns <0, 0, >0, or 2 with *err set for incomparable operands. */
static int
compare(struct m0_state *s, int *err)
{
	struct m0_value *a = M0_TOP(s, 1), *b = M0_TOP(s, 0);
	*err = M0_OK;
	if (a->type != b->type) {
		*err = M0_ETYPE_CHECK;
		return 0;
	}
	if (a->type == M0_TINT || a->type == M0_TTIME)
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	if (a->type == M0_TSTRING) {
		if (!(a->u.o->attr & M0_AR) || !(b->u.o->attr & M0_AR)) {
			*err = M0_EACCESS_CHECK;
			return 0;
		}
		uint32_t n = a->len < b->len ? a->len : b->len;
		int c = n ? memcmp(M0_BYTES(a), M0_BYTES(b), n) : 0;
		if (c)
			return c;
		return (a->len > b->len) - (a->len < b->len);
	}
	*err = M0_ETYPE_CHECK;
	return 0;
}

/* < and >: want is the sign of the comparison that gives true. */
static int
order(struct m0_state *s, int want)
{
	M0_NEED(s, 2);
	int err, c = compare(s, &err);
	if (err)
		return err;
	s->sp--;
	*M0_TOP(s, 0) = m0__int(want < 0 ? c < 0 : c > 0);
	return M0_OK;
}

int
m0__op_lt(struct m0_state *s)
{
	return order(s, -1);
}

int
m0__op_gt(struct m0_state *s)
{
	return order(s, 1);
}

int
m0__op_eq(struct m0_state *s)
{
	M0_NEED(s, 2);
	bool eq = m0__equal(M0_TOP(s, 1), M0_TOP(s, 0));
	s->sp--;
	*M0_TOP(s, 0) = m0__int(eq);
	return M0_OK;
}
