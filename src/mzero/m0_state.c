/*
 * m0_state.c: the life of a process (spec A5): creation from a messenger,
 * its local dict, origin, accessors, and release of everything it holds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "m0_int.h"

/* The stacks a process starts with, in the same allocation as the
 * state: what a new process that has not run yet uses (the dict stack
 * `_sys` and its local dict, one frame for its code), so that a waiting
 * messenger costs little; they move to the heap when they grow. */
#define OS0 0
#define DS0 2
#define ES0 1

struct m0_state *
m0_state_new(struct m0_global *g)
{
	size_t sz = sizeof(struct m0_state) + OS0 * sizeof(struct m0_value) +
	    DS0 * sizeof(struct m0_value) + ES0 * sizeof(struct m0_frame);
	struct m0_state *s = malloc(sz);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->g = g;
	s->os = s->os_inline = (struct m0_value *)(s + 1);
	s->os_cap = OS0;
	s->ds = s->ds_inline = s->os_inline + OS0;
	s->ds_cap = DS0;
	s->es = s->es_inline = (struct m0_frame *)(s->ds_inline + DS0);
	s->es_cap = ES0;
	s->heap.quota = g->lim.heap_quota;
	s->heap.threshold = 64 * 1024;
	s->ds[s->dsp++] = g->sys;
	s->locd = s->ori0 = m0__null();
	s->errobj = m0__null();
	s->errpos = s->codepos = -1;
	s->cur = m0__null();
	s->gnext = g->states;
	if (g->states)
		g->states->gprev = s;
	g->states = s;
	return s;
}

void
m0_state_free(struct m0_state *s)
{
	if (!s)
		return;
	struct m0_global *g = s->g;
	if (s->gprev)
		s->gprev->gnext = s->gnext;
	else
		g->states = s->gnext;
	if (s->gnext)
		s->gnext->gprev = s->gprev;
	if (g->last_run == s)
		g->last_run = NULL; /* a new state may get its address */
	m0__heap_free_all(g, &s->heap);
	if (s->os != s->os_inline)
		free(s->os);
	if (s->ds != s->ds_inline)
		free(s->ds);
	if (s->es != s->es_inline)
		free(s->es);
	free(s->errtext);
	free(s);
}

static int
set(struct m0_state *s, const char *k, const struct m0_value *v)
{
	return m0__nomem(m0__dict_set_str(s, M0_DICT(&s->locd), k, v));
}

/*
 * A new process holds only its messenger (_mgr) and origin until it first
 * runs: 100,000 messengers waiting in queues then cost their bytes and
 * their states, not a local dict and two more strings each (issue 11's
 * footprint). Nothing a messenger can see depends on when they are made:
 * the first step of a process is taken after m0__state_unfold().
 */
static int
new_msg(struct m0_global *g, const struct m0_msg *msg, m0_fill_fn fill,
    void *ud, struct m0_state *parent, const struct m0_value *ori,
    struct m0_state **out)
{
	struct m0_state *s = m0_state_new(g);
	if (!s)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_value mgr, o = m0__null();
	size_t wl = m0_wire_size(msg);
	int err = M0_OK;
	if (wl > g->lim.max_msg + 64u)
		err = M0_EIMPLEMENTATION_LIMIT;
	if (!err)
		err =
		    m0__nomem(m0__new_string_raw(s, false, (uint32_t)wl, &mgr));
	if (!err) {
		s->locd = mgr;
		if (!fill)
			m0_wire_encode(msg, M0_BYTES(&mgr), wl);
		else if (!m0_wire_encode_head(msg, M0_BYTES(&mgr), wl) ||
		    fill(
		        ud, M0_BYTES(&mgr) + wl - msg->data_len, msg->data_len))
			err = M0_EIMPLEMENTATION_LIMIT;
		mgr.u.o->attr = M0_AR | M0_AX;
	}
	if (!err && ori) {
		if (parent)
			err = m0__nomem(m0__copy_into(s, ori, &o));
		else if (!m0__composite(ori))
			o = *ori;
	}
	if (err) {
		m0_state_free(s);
		return err;
	}
	s->ori0 = o;
	*out = s;
	return M0_OK;
}

int
m0_state_new_msg(struct m0_global *g, const struct m0_msg *msg,
    struct m0_state *parent, const struct m0_value *ori, struct m0_state **out)
{
	return new_msg(g, msg, NULL, NULL, parent, ori, out);
}

int
m0_state_new_msg_fill(struct m0_global *g, const struct m0_msg *msg,
    m0_fill_fn fill, void *ud, struct m0_state **out)
{
	if (!msg->data)
		return M0_EIMPLEMENTATION_LIMIT; /* nothing to fill */
	return new_msg(g, msg, fill, ud, NULL, NULL, out);
}

/* The local dict (A5) of a process that has not run yet, its code and
 * data strings from its _mgr, and its first frame. An error leaves the
 * process as it was (it is ended by the caller). */
int
m0__state_unfold(struct m0_state *s)
{
	if (s->locd.type != M0_TSTRING)
		return M0_OK;
	struct m0_value mgr = s->locd, locd, cod, dat = m0__null();
	struct m0_msg msg;
	if (m0_wire_decode(M0_BYTES(&mgr), mgr.len, UINT32_MAX, &msg, NULL) !=
	    M0_WIRE_OK)
		return M0_EIMPLEMENTATION_LIMIT; /* cannot be: we encoded it */
	/* offsets, not pointers: the strings below are new objects, but
	 * objects do not move, so M0_BYTES(&mgr) stays put */
	int err = m0__nomem(m0__new_dict(s, false, 5, &locd));
	if (!err)
		err = m0__nomem(
		    m0__new_string(s, false, msg.code, msg.code_len, &cod));
	if (!err) {
		cod.u.o->attr = M0_AR | M0_AX;
		/* _dat is the data part of _mgr, not a copy: a messenger
		 * that carries a program and its files holds them once */
		if (msg.data) {
			dat = mgr;
			dat.off =
			    (uint64_t)(msg.data - M0_BYTES(&mgr)) + mgr.off;
			dat.len = msg.data_len;
		}
	}
	if (err)
		return err;
	s->locd = locd;
	err = set(s, "_mgr", &mgr);
	if (!err)
		err = set(s, "_cod", &cod);
	if (!err)
		err = set(s, "_dat", &dat);
	if (!err)
		err = set(s, "_ori", &s->ori0);
	if (!err)
		err = set(s, "_loc", &s->locd);
	if (!err) {
		s->ori0 = m0__null();
		s->ds[s->dsp++] = s->locd;
		if (cod.len)
			err = m0__push_frame(s, M0_FSTR, &cod, NULL, 0, 0);
	}
	if (err)
		s->locd = mgr; /* the rest is collected with the process */
	return err;
}

/* _ori = [family ifindex addr], or its origin until the first run (ori0)
 * for a process that has not run (m0__state_unfold). */
int
m0__state_set_ori(struct m0_state *s, const char *family, int64_t ifindex,
    const struct m0_value *addr)
{
	struct m0_value a;
	struct m0_name *fam = m0__intern(s->g, family, strlen(family));
	if (!fam || (s->locd.type != M0_TDICT && s->locd.type != M0_TSTRING))
		return M0_EIMPLEMENTATION_LIMIT;
	int err = m0__nomem(m0__new_array(s, false, 3, &a));
	if (err)
		return err;
	M0_ARR(&a)->v[0] = m0__namev(fam, false);
	M0_ARR(&a)->v[1] = m0__int(ifindex);
	M0_ARR(&a)->v[2] = *addr;
	if (s->locd.type == M0_TSTRING) {
		s->ori0 = a;
		return M0_OK;
	}
	return set(s, "_ori", &a);
}

int
m0_state_set_ori_net(struct m0_state *s, const char *family, int64_t ifindex,
    int64_t addr_int, const char *addr_str)
{
	struct m0_value addr = m0__int(addr_int);
	if (addr_str) {
		int err = m0__nomem(m0__new_string(
		    s, false, addr_str, (uint32_t)strlen(addr_str), &addr));
		if (err)
			return err;
	}
	return m0__state_set_ori(s, family, ifindex, &addr);
}

int
m0_state_add_console_words(struct m0_state *s)
{
	static const struct {
		const char *name;
		uint32_t op;
	} words[] = {{"print", M0_OP_PRINT}, {"ptop", M0_OP_PTOP},
	    {"stack", M0_OP_PSTACK}};
	int e = m0__state_unfold(s);
	if (e)
		return e;
	if (s->locd.type != M0_TDICT)
		return M0_ETYPE_CHECK;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct m0_value v = m0__oper(words[i].op);
		int err = set(s, words[i].name, &v);
		if (err)
			return err;
	}
	return M0_OK;
}

/* longdict goes under the local dict, so definitions still go local. */
int
m0_state_begin_longdict(struct m0_state *s)
{
	int err = m0__state_unfold(s);
	if (err)
		return err;
	if (s->dsp >= s->ds_cap &&
	    !m0__grow_stack((void **)&s->ds, s->ds_inline, &s->ds_cap, s->dsp,
	        s->dsp + 1, s->g->lim.dict_depth, sizeof(*s->ds)))
		return M0_EDICT_STACK_OVERFLOW;
	s->ds[s->dsp] = s->ds[s->dsp - 1];
	s->ds[s->dsp - 1] = s->g->longdict;
	s->dsp++;
	s->g->epoch++;
	return M0_OK;
}

int
m0_state_set_repl_handler(struct m0_state *s)
{
	struct m0_value v = m0__oper(M0_OP_REPLERR);
	int err = m0__state_unfold(s);
	if (err)
		return err;
	if (s->locd.type != M0_TDICT)
		return M0_ETYPE_CHECK;
	return set(s, "_err", &v);
}

int
m0_state_end(const struct m0_state *s)
{
	return s->end;
}

int
m0_state_last_error(const struct m0_state *s)
{
	return s->lasterr;
}

const char *
m0_state_error_text(struct m0_state *s)
{
	struct m0_buf b = {0};
	const char *n = m0_global_strerror(s->g, s->lasterr);
	m0__buf_put(&b, n, strlen(n));
	m0__buf_put(&b, " ", 1);
	m0__display(s, &s->errobj, &b);
	m0__buf_put(&b, "", 1);
	free(s->errtext);
	s->errtext = b.oom ? NULL : b.p;
	if (b.oom)
		free(b.p);
	return s->errtext ? s->errtext : "(out of memory)";
}

int64_t
m0_state_error_pos(const struct m0_state *s)
{
	return s->errpos;
}

uint64_t
m0_state_steps(const struct m0_state *s)
{
	return s->steps;
}

uint64_t
m0_state_heap_bytes(const struct m0_state *s)
{
	return s->heap.bytes;
}

void
m0_state_set_ud(struct m0_state *s, void *ud)
{
	s->ud = ud;
}

void *
m0_state_ud(const struct m0_state *s)
{
	return s->ud;
}

uint32_t
m0_state_depth(const struct m0_state *s)
{
	return s->sp;
}

void
m0_state_print_stack(struct m0_state *s)
{
	struct m0_buf b = {0};
	for (uint32_t i = s->sp; i-- > 0;) {
		m0__display(s, &s->os[i], &b);
		m0__buf_put(&b, "\n", 1);
	}
	if (!b.oom && b.n)
		s->g->host->console(s->g->host->ud, s, b.p, b.n);
	free(b.p);
}
