/*
 * m0_do.c: stacks, frames, calls and error unwinding (spec A3, A5).
 *
 * What the interpreter loop (m0_vm.c) does off its fast path: growing
 * the stacks, pushing frames, executing a value as `!` does, raising an
 * error into `_err`, unwinding for `Z`, and the entries that resume,
 * kill or feed a process. Nothing here recurses per MØ call either.
 */
#include <stdlib.h>

#include "m0_int.h"

#define NAME_CHAIN_MAX 64 /* name -> name -> ... resolutions in one step */
#define ERR_HEADROOM 8    /* stack slots kept for raising an error */
#define STACK_MIN 16      /* entries of a stack once it leaves the state */

/*
 * Grows one of a process's stacks to hold need entries, doubling, at most
 * to max. The first stacks live inside the state (inline) and are never
 * freed. Returns false when need is over max or memory is out.
 */
bool
m0__grow_stack(void **arr, const void *inline_arr, uint32_t *cap, uint32_t used,
    uint32_t need, uint32_t max, size_t size)
{
	if (need > max)
		return false;
	uint32_t ncap = *cap * 2;
	if (ncap < STACK_MIN)
		ncap = STACK_MIN; /* past the small first stacks at once */
	if (ncap < need)
		ncap = need;
	if (ncap > max)
		ncap = max;
	void *n = malloc((size_t)ncap * size);
	if (!n)
		return false;
	memcpy(n, *arr, (size_t)used * size);
	if (*arr != inline_arr)
		free(*arr);
	*arr = n;
	*cap = ncap;
	return true;
}

/* The operand stack stops at its limit; only push_force goes past. */
int
m0__grow_os(struct m0_state *s, uint32_t need)
{
	if (!m0__grow_stack((void **)&s->os, s->os_inline, &s->os_cap, s->sp,
	        need, s->g->lim.operand_depth, sizeof(*s->os)))
		return M0_EOPER_STACK_OVERFLOW;
	return M0_OK;
}

/* Grows the exec stack; the error path may use ERR_HEADROOM more. */
static int
grow_es(struct m0_state *s, uint32_t need, bool headroom)
{
	uint32_t lim = s->g->lim.exec_depth + (headroom ? ERR_HEADROOM : 0);
	if (!m0__grow_stack((void **)&s->es, s->es_inline, &s->es_cap, s->esp,
	        need, lim, sizeof(*s->es)))
		return M0_EEXEC_STACK_OVERFLOW;
	return M0_OK;
}

static int
push_frame(struct m0_state *s, uint8_t kind, const struct m0_value *a,
    const struct m0_value *b, int64_t i, int64_t n, bool headroom)
{
	if (s->esp >= s->es_cap ||
	    (!headroom && s->esp >= s->g->lim.exec_depth)) {
		int err = grow_es(s, s->esp + 1, headroom);
		if (err)
			return err;
	}
	struct m0_frame *f = &s->es[s->esp++];
	f->kind = kind;
	f->i = i;
	f->n = n;
	if (a)
		f->a = *a;
	else
		f->a.type = M0_TNULL;
	if (b)
		f->b = *b;
	else
		f->b.type = M0_TNULL;
	return M0_OK;
}

int
m0__push_frame(struct m0_state *s, uint8_t kind, const struct m0_value *a,
    const struct m0_value *b, int64_t i, int64_t n)
{
	return push_frame(s, kind, a, b, i, n, false);
}

int
m0__lookup(struct m0_state *s, struct m0_name *n, struct m0_value **out)
{
	/* The cache holds slots of the last run state's dicts: a lookup for
	 * another state outside its run (a service resuming it with an
	 * error looks up its _err) must not see them. */
	if (s->g->last_run != s) {
		s->g->epoch++;
		s->g->last_run = s;
	}
	if (n->cache_epoch == s->g->epoch) {
		*out = n->cache_slot;
		return M0_OK;
	}
	struct m0_value k = m0__namev(n, false);
	for (uint32_t i = s->dsp; i-- > 0;) {
		struct m0_dict *d = M0_DICT(&s->ds[i]);
		if (!(d->h.attr & M0_AR))
			continue;
		struct m0_value *v = m0__dict_find(d, &k);
		if (v) {
			n->cache_epoch = s->g->epoch;
			n->cache_slot = v;
			n->cache_dict = d;
			n->cache_op =
			    v->type == M0_TOPER ? (int16_t)v->u.op : -1;
			*out = v;
			return M0_OK;
		}
	}
	return M0_EUNDEFINED;
}

/* Runs an array or string as code: needs the exec attribute. */
static int
exec_body(struct m0_state *s, const struct m0_value *v)
{
	if (!(v->u.o->attr & M0_AX))
		return m0__fail(s, M0_EACCESS_CHECK, v);
	if (v->len == 0)
		return M0_OK;
	return push_frame(
	    s, v->type == M0_TARRAY ? M0_FPROC : M0_FSTR, v, NULL, 0, 0, false);
}

/* Executes v as `!` does (spec A3). */
int
m0__exec(struct m0_state *s, const struct m0_value *v)
{
	for (int chain = 0; chain < NAME_CHAIN_MAX; chain++) {
		switch (v->type) {
		case M0_TSTRING:
		case M0_TARRAY:
			return exec_body(s, v);
		case M0_TOPER:
			return m0__call_op(s, v->u.op);
		case M0_TNAME: {
			struct m0_value *val;
			if (m0__lookup(s, v->u.name, &val))
				return m0__fail(s, M0_EUNDEFINED, v);
			v = val;
			continue;
		}
		default:
			return m0__push(s, v);
		}
	}
	return m0__fail(s, M0_EIMPLEMENTATION_LIMIT, v);
}

/* Executes a token met while running code: executable names run what
 * they name when that is executable, anything else is pushed. */
int
m0__exec_token(struct m0_state *s, const struct m0_value *v)
{
	if (v->type == M0_TOPER)
		return m0__call_op(s, v->u.op);
	if (v->type != M0_TNAME || !v->x)
		return m0__push(s, v);
	const struct m0_value *n = v;
	for (int chain = 0; chain < NAME_CHAIN_MAX; chain++) {
		struct m0_value *val;
		if (m0__lookup(s, n->u.name, &val))
			return m0__fail(s, M0_EUNDEFINED, n);
		switch (val->type) {
		case M0_TOPER:
			return m0__call_op(s, val->u.op);
		case M0_TARRAY:
			if (val->x) {
				int e = exec_body(s, val);
				if (e && !s->errset)
					m0__fail(s, e, n);
				return e;
			}
			return m0__push(s, val);
		case M0_TNAME:
			if (val->x) {
				n = val;
				continue;
			}
			return m0__push(s, val);
		default:
			return m0__push(s, val);
		}
	}
	return m0__fail(s, M0_EIMPLEMENTATION_LIMIT, v);
}

/* Pushes past the operand limit by at most ERR_HEADROOM: raising an
 * error and answering Z must work on a full stack. */
static int
push_force(struct m0_state *s, const struct m0_value *v)
{
	if (s->sp >= s->os_cap &&
	    !m0__grow_stack((void **)&s->os, s->os_inline, &s->os_cap, s->sp,
	        s->sp + 1, s->g->lim.operand_depth + ERR_HEADROOM,
	        sizeof(*s->os)))
		return M0_EOPER_STACK_OVERFLOW;
	s->os[s->sp++] = *v;
	return M0_OK;
}

/* An error raised while _err runs ends the process unless an H that the
 * handler itself set up will catch it (spec A5: "if _err itself fails"). */
static bool
handler_unprotected(const struct m0_state *s)
{
	for (uint32_t i = s->esp; i-- > 0;) {
		if (s->es[i].kind == M0_FSTOP)
			return false;
		if (s->es[i].kind == M0_FERRH)
			return true;
	}
	return false;
}

static bool
has_frame(const struct m0_state *s, uint8_t kind)
{
	for (uint32_t i = 0; i < s->esp; i++)
		if (s->es[i].kind == kind)
			return true;
	return false;
}

static int
end_process(struct m0_state *s, int how)
{
	s->end = (uint8_t)how;
	s->esp = 0;
	return M0__END;
}

/* Z: unwind to the innermost H, or end the process. */
int
m0__stop(struct m0_state *s)
{
	for (uint32_t i = s->esp; i-- > 0;) {
		if (s->es[i].kind == M0_FSTOP) {
			struct m0_value one = m0__int(1);
			s->esp = i;
			return push_force(s, &one);
		}
	}
	return end_process(
	    s, has_frame(s, M0_FERRH) ? M0_END_ERROR : M0_END_NORMAL);
}

/*
 * Raises an MØ error: the operands stay, the error object and the error
 * name are pushed, and `_err` found by name lookup runs. An error while
 * `_err` runs, or no room to raise, ends the process.
 */
static int
raise_error(struct m0_state *s, int err)
{
	struct m0_value obj = s->errset ? s->errobj : s->cur;
	s->errset = 0;
	/* Where in the code field: the token it last began to read (inside
	 * a procedure, the one that called it), for FILE:LINE:COL. */
	s->errpos = s->codepos;
	s->lasterr = err;
	s->errobj = obj;
	if (handler_unprotected(s))
		return end_process(s, M0_END_FATAL);
	if (err <= 0 || (uint32_t)err >= s->g->nerr)
		err = M0_EIMPLEMENTATION_LIMIT; /* an extension's bad code */
	s->lasterr = err;
	struct m0_value name = m0__namev(s->g->errname[err], true);
	if (push_force(s, &obj) || push_force(s, &name))
		return end_process(s, M0_END_FATAL);
	if (push_frame(s, M0_FERRH, NULL, NULL, 0, 0, true))
		return end_process(s, M0_END_FATAL);
	struct m0_value *h;
	if (m0__lookup(s, s->g->n_err, &h))
		return end_process(s, M0_END_FATAL);
	struct m0_value hv = *h;
	int e;
	if (hv.type == M0_TARRAY || hv.type == M0_TSTRING) {
		if (!(hv.u.o->attr & M0_AX) || hv.len == 0)
			return hv.len ? end_process(s, M0_END_FATAL) : M0_OK;
		e = push_frame(s, hv.type == M0_TARRAY ? M0_FPROC : M0_FSTR,
		    &hv, NULL, 0, 0, true);
	} else {
		e = m0__exec(s, &hv);
	}
	if (e == M0__END || e == M0_OK)
		return e;
	return end_process(s, M0_END_FATAL);
}

/* Turns an operator's status into what the loop does next. */
int
m0__settle(struct m0_state *s, int err)
{
	if (err == M0__BLOCK) {
		s->blocked = true;
		return M0__BLOCK;
	}
	if (err == M0__END)
		return M0__END;
	if (err == M0__ENOMEM) {
		m0__gc_local(s);
		err = M0_EIMPLEMENTATION_LIMIT;
	}
	return raise_error(s, err);
}

/* Retries a token once after collecting: operators fail on the quota
 * before they change anything, so running them again is safe. */
int
m0__retry_token(struct m0_state *s, const struct m0_value *v)
{
	struct m0_value tok = *v;
	s->cur = tok; /* rooted while collecting */
	m0__gc_local(s);
	tok = s->cur;
	return m0__exec_token(s, &tok);
}

/* One step of a loop frame (L over a count, for ever, an array, a string
 * or a dict): push the next element and run the body, or pop the frame. */
int
m0__step_loop(struct m0_state *s, struct m0_frame *f)
{
	struct m0_value body = f->b, v;
	switch (f->kind) {
	case M0_FLOOPN:
		if (f->i >= f->n) {
			s->esp--;
			return M0_OK;
		}
		v = m0__int(f->i++);
		break;
	case M0_FLOOPF:
		return m0__exec(s, &body);
	case M0_FLOOPA:
		if (f->i >= f->a.len) {
			s->esp--;
			return M0_OK;
		}
		v = M0_ELEMS(&f->a)[f->i++];
		break;
	case M0_FLOOPS:
		if (f->i >= f->a.len) {
			s->esp--;
			return M0_OK;
		}
		v = m0__int(M0_BYTES(&f->a)[f->i++]);
		break;
	default: { /* M0_FLOOPD: a = [dict k0 k1 ...] */
		struct m0_value *snap = M0_ELEMS(&f->a);
		for (;;) {
			if (f->i >= f->a.len) {
				s->esp--;
				return M0_OK;
			}
			struct m0_value *k = &snap[f->i++];
			struct m0_value *val =
			    m0__dict_find(M0_DICT(&snap[0]), k);
			if (!val)
				continue; /* removed since the loop began */
			int err = m0__push(s, k);
			if (!err)
				err = m0__push(s, val);
			if (err)
				return err;
			return m0__exec(s, &body);
		}
	}
	}
	int err = m0__push(s, &v);
	if (err)
		return err;
	return m0__exec(s, &body);
}

void
m0_state_resume_int(struct m0_state *s, int push, int64_t v)
{
	s->blocked = false;
	if (push)
		m0__push_int(s, v);
}

void
m0_state_resume_error(struct m0_state *s, int err)
{
	s->blocked = false;
	(void)raise_error(s, err); /* an unhandled one ends the process */
}

void
m0_state_interrupt(struct m0_state *s)
{
	s->blocked = false;
	while (s->esp > 0 && s->es[s->esp - 1].kind != M0_FBASE)
		s->esp--;
}

void
m0_state_kill(struct m0_state *s)
{
	s->blocked = false;
	end_process(s, M0_END_KILLED);
}

int
m0_state_push_code(struct m0_state *s, const void *code, size_t len)
{
	struct m0_value v;
	if (len > UINT32_MAX)
		return M0_EIMPLEMENTATION_LIMIT;
	int err = m0__new_string(s, false, code, (uint32_t)len, &v);
	if (err)
		return m0__nomem(err);
	if (s->end == M0_END_NORMAL || s->end == M0_END_ERROR)
		s->end = M0_END_NONE;
	if ((err = push_frame(s, M0_FBASE, NULL, NULL, 0, 0, false)))
		return err;
	if (len == 0)
		return M0_OK;
	return push_frame(s, M0_FSTR, &v, NULL, 0, 0, false);
}

/* REPL error handler: report, then abandon the line being run. */
int
m0__op_replerr(struct m0_state *s)
{
	struct m0_buf b = {0};
	m0__buf_put(&b, "error: ", 7);
	if (s->sp >= 2) {
		m0__display(s, M0_TOP(s, 0), &b);
		m0__buf_put(&b, " ", 1);
		m0__display(s, M0_TOP(s, 1), &b);
		s->sp -= 2;
	}
	m0__buf_put(&b, "\n", 1);
	if (!b.oom)
		s->g->host->console(s->g->host->ud, s, b.p, b.n);
	free(b.p);
	while (s->esp > 0 && s->es[s->esp - 1].kind != M0_FBASE)
		s->esp--;
	return M0_OK;
}
