/*
 * m0_op_conv.c: conversions between types (A3), the external form `_cte`
 * (A4) and the messenger builder `_ctm` (A6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "m0_int.h"

int
m0__op_cta(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0), a;
	int err;
	if (v->type == M0_TINT) {
		if ((err = m0__new_array(s, false, 64, &a)))
			return err;
		for (int i = 0; i < 64; i++)
			M0_ARR(&a)->v[i] = m0__int((v->u.k >> i) & 1);
	} else if (v->type == M0_TTIME) {
		int64_t t = v->u.i, sec = t / 1000000, us = t % 1000000;
		if (us < 0) {
			us += 1000000;
			sec--;
		}
		time_t tt = (time_t)sec;
		struct tm tm;
		if (!gmtime_r(&tt, &tm))
			return M0_ERANGE_CHECK;
		if ((err = m0__new_array(s, false, 7, &a)))
			return err;
		int64_t f[7] = {us, tm.tm_sec, tm.tm_min, tm.tm_hour,
		    tm.tm_mday - 1, tm.tm_mon, (int64_t)tm.tm_year + 1900};
		for (int i = 0; i < 7; i++)
			M0_ARR(&a)->v[i] = m0__int(f[i]);
	} else {
		return M0_ETYPE_CHECK;
	}
	*v = a;
	return M0_OK;
}

int
m0__op_cti(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	if (v->type == M0_TTIME) {
		int64_t sec = v->u.i / 1000000;
		if (v->u.i % 1000000 < 0)
			sec--;
		*v = m0__int(sec);
		return M0_OK;
	}
	if (v->type != M0_TARRAY)
		return M0_ETYPE_CHECK;
	if (!(v->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	if (v->len > 64)
		return M0_ERANGE_CHECK;
	uint64_t r = 0;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct m0_value *b = &M0_ELEMS(v)[i];
		if (b->type != M0_TINT)
			return M0_ETYPE_CHECK;
		if (b->u.i)
			r |= 1ull << i;
	}
	*v = m0__int((int64_t)r);
	return M0_OK;
}

int
m0__op_ctt(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	if (v->type != M0_TINT)
		return M0_ETYPE_CHECK;
	if (v->u.i < 0 || v->u.i > INT64_MAX / 1000000)
		return M0_ERANGE_CHECK;
	v->type = M0_TTIME;
	v->u.i *= 1000000;
	return M0_OK;
}

/* ctime's 24 bytes, in UTC, without its newline. */
static int
ctime_utc(int64_t t, char out[25])
{
	static const char *const wd[] = {
	    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int64_t sec = t / 1000000;
	if (t % 1000000 < 0)
		sec--;
	time_t tt = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		return M0_ERANGE_CHECK;
	snprintf(out, 25, "%s %s %2d %02d:%02d:%02d %4d", wd[tm.tm_wday],
	    mo[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_year + 1900);
	return M0_OK;
}

int
m0__op_cts(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0), r;
	int err;
	if (v->type == M0_TNAME) {
		err =
		    m0__new_string(s, false, v->u.name->s, v->u.name->len, &r);
	} else if (v->type == M0_TKEY) {
		uint8_t b[8];
		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(v->u.k >> (56 - 8 * i));
		err = m0__new_string(s, false, b, 8, &r);
	} else if (v->type == M0_TTIME) {
		char c[25];
		if ((err = ctime_utc(v->u.i, c)))
			return err;
		err = m0__new_string(s, false, c, 24, &r);
	} else {
		return M0_ETYPE_CHECK;
	}
	if (err)
		return err;
	*v = r;
	return M0_OK;
}

int
m0__op_ctk(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	int err;
	if ((err = m0__readable(v, M0_TSTRING)))
		return err;
	if (v->len != 8)
		return M0_ERANGE_CHECK;
	uint64_t k = 0;
	for (int i = 0; i < 8; i++)
		k = k << 8 | M0_BYTES(v)[i];
	*v = m0__key(k);
	return M0_OK;
}

int
m0__op_ctn(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	int err;
	if ((err = m0__readable(v, M0_TSTRING)))
		return err;
	struct m0_name *n = m0__intern(s->g, (const char *)M0_BYTES(v), v->len);
	if (!n)
		return M0_EIMPLEMENTATION_LIMIT;
	*v = m0__namev(n, false);
	return M0_OK;
}

static int
set_exec(struct m0_state *s, uint8_t x)
{
	M0_NEED(s, 1);
	struct m0_value *v = M0_TOP(s, 0);
	if (v->type != M0_TARRAY && v->type != M0_TNAME)
		return M0_ETYPE_CHECK;
	v->x = x;
	return M0_OK;
}

int
m0__op_ctx(struct m0_state *s)
{
	return set_exec(s, 1);
}

int
m0__op_ctl(struct m0_state *s)
{
	return set_exec(s, 0);
}

int
m0__op_cte(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_buf b = {0};
	struct m0_value r;
	int err = m0__cte(s, M0_TOP(s, 0), &b);
	if (!err && b.n > s->g->lim.max_len)
		err = M0_EIMPLEMENTATION_LIMIT;
	if (!err)
		err = m0__new_string(s, false, b.p, (uint32_t)b.n, &r);
	free(b.p);
	if (err)
		return err;
	*M0_TOP(s, 0) = r;
	return M0_OK;
}

/* [key code data-or-null] _ctm string */
int
m0__op_ctm(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *a = M0_TOP(s, 0), r;
	if (a->type != M0_TARRAY)
		return M0_ETYPE_CHECK;
	if (!(a->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	if (a->len != 3)
		return M0_ERANGE_CHECK;
	const struct m0_value *e = M0_ELEMS(a);
	if (e[0].type != M0_TKEY || e[1].type != M0_TSTRING ||
	    (e[2].type != M0_TSTRING && e[2].type != M0_TNULL))
		return M0_ETYPE_CHECK;
	if (!(e[1].u.o->attr & M0_AR) ||
	    (e[2].type == M0_TSTRING && !(e[2].u.o->attr & M0_AR)))
		return M0_EACCESS_CHECK;
	struct m0_msg m = {
	    .queue = e[0].u.k, .code = M0_BYTES(&e[1]), .code_len = e[1].len};
	if (e[2].type == M0_TSTRING) {
		m.data = M0_BYTES(&e[2]);
		m.data_len = e[2].len;
	}
	size_t n = m0_wire_size(&m);
	if (n > s->g->lim.max_len || n > s->g->lim.max_msg + 64u)
		return M0_EIMPLEMENTATION_LIMIT;
	int err = m0__new_string_raw(s, false, (uint32_t)n, &r);
	if (err)
		return err;
	/* Re-read the elements: allocation does not move them, but keep the
	 * array rooted on the stack until the copy is made. */
	e = M0_ELEMS(M0_TOP(s, 0));
	m.code = M0_BYTES(&e[1]);
	if (m.data)
		m.data = M0_BYTES(&e[2]);
	m0_wire_encode(&m, M0_BYTES(&r), n);
	*M0_TOP(s, 0) = r;
	return M0_OK;
}
