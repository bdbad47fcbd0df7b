/*
 * m0_vm.c: the resumable interpreter loop (spec A3, A5).
 *
 * All execution state is in the exec stack of struct m0_state, so a call
 * never recurses in C: `!`, `?`, `L` and `H` push frames and return, and
 * the loop below takes the next step from the top frame. m0_state_run()
 * can therefore stop after any step and resume there later.
 */
#include <stdlib.h>

#include "m0_int.h"

#define NAME_CHAIN_MAX 64 /* name -> name -> ... resolutions in one step */
#define ERR_HEADROOM 8    /* stack slots kept for raising an error */

/*
 * Grows one of a process's stacks to hold need entries, doubling, at most
 * to max. The first stacks live inside the state (inline) and are never
 * freed. Returns false when need is over max or memory is out.
 */
bool
m0__grow_stack(void **arr, const void *inline_arr, uint32_t *cap,
    uint32_t used, uint32_t need, uint32_t max, size_t size)
{
	if (need > max)
		return false;
	uint32_t ncap = *cap * 2;
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
			*out = v;
			return M0_OK;
		}
	}
	return M0_EUNDEFINED;
}

static inline int
call_op(struct m0_state *s, uint32_t op)
{
	s->cur = m0__oper(op);
	if (op < M0_NOPS)
		return m0__ops[op].fn(s);
	return m0__ext_call(s, op);
}

/* Runs an array or string as code: needs the exec attribute. */
static int
exec_body(struct m0_state *s, const struct m0_value *v)
{
	if (!(v->u.o->attr & M0_AX))
		return m0__fail(s, M0_EACCESS_CHECK, v);
	if (v->len == 0)
		return M0_OK;
	return push_frame(s, v->type == M0_TARRAY ? M0_FPROC : M0_FSTR, v,
	    NULL, 0, 0, false);
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
			return call_op(s, v->u.op);
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
static inline int
exec_token(struct m0_state *s, const struct m0_value *v)
{
	if (v->type == M0_TOPER)
		return call_op(s, v->u.op);
	if (v->type != M0_TNAME || !v->x)
		return m0__push(s, v);
	const struct m0_value *n = v;
	for (int chain = 0; chain < NAME_CHAIN_MAX; chain++) {
		struct m0_value *val;
		if (m0__lookup(s, n->u.name, &val))
			return m0__fail(s, M0_EUNDEFINED, n);
		switch (val->type) {
		case M0_TOPER:
			return call_op(s, val->u.op);
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
	return end_process(s, has_frame(s, M0_FERRH) ? M0_END_ERROR
						     : M0_END_NORMAL);
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
static int
settle(struct m0_state *s, int err)
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
static int
retry_token(struct m0_state *s, const struct m0_value *v)
{
	struct m0_value tok = *v;
	s->cur = tok; /* rooted while collecting */
	m0__gc_local(s);
	tok = s->cur;
	return exec_token(s, &tok);
}

static int
step_loop(struct m0_state *s, struct m0_frame *f)
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
			struct m0_value *val = m0__dict_find(M0_DICT(&snap[0]), k);
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

/*
 * The fast path: hot operators on ints, inline. Anything unusual (other
 * types, too few operands) falls back to the operator's own function, so
 * errors are raised in exactly one place.
 */
#if defined(M0_DISPATCH_SWITCH)
#define vmdispatch(o) switch (o)
#define vmcase(l) case l:
#define vmdefault default:
#define tswitch(o) switch (o)
#define tcase(l) case l:
#define tdefault default:
#define tdispatch() goto t_dispatch
#else
#define vmdispatch(o) goto *optab[o];
#define vmcase(l) L_##l:
#define vmdefault L_default:
#define tswitch(o) goto *ttab[o];
#define tcase(l) T_##l:
#define tdefault
#define tdispatch() goto *ttab[*pc]
#endif


int
m0_state_run(struct m0_state *s, int64_t budget)
{
	struct m0_global *g = s->g;
	if (s->end)
		return M0_RUN_DONE;
	if (s->blocked)
		return M0_RUN_BLOCKED;
#if !defined(M0_DISPATCH_SWITCH)
	static const void *optab[M0_NOPS + M0_MAX_EXT_OPS];
	static const void *ttab[M0_T_N];
	if (!optab[0]) {
		for (uint32_t i = 0; i < M0_NOPS + M0_MAX_EXT_OPS; i++)
			optab[i] = &&L_default;
		optab[M0_OP_ADD] = &&L_M0_OP_ADD;
		optab[M0_OP_SUB] = &&L_M0_OP_SUB;
		optab[M0_OP_LT] = &&L_M0_OP_LT;
		optab[M0_OP_GT] = &&L_M0_OP_GT;
		optab[M0_OP_EQ] = &&L_M0_OP_EQ;
		optab[M0_OP_POP] = &&L_M0_OP_POP;
		optab[M0_OP_EXCH] = &&L_M0_OP_EXCH;
		optab[M0_OP_INDEX] = &&L_M0_OP_INDEX;
		optab[M0_OP_IFELSE] = &&L_M0_OP_IFELSE;
#define TSET(l) ttab[l] = &&T_##l
		TSET(M0_T_PUSH);
		TSET(M0_T_CALL);
		TSET(M0_T_SLOW);
		TSET(M0_T_RET);
		TSET(M0_T_ADD);
		TSET(M0_T_SUB);
		TSET(M0_T_LT);
		TSET(M0_T_GT);
		TSET(M0_T_EQ);
		TSET(M0_T_POP);
		TSET(M0_T_EXCH);
		TSET(M0_T_INDEX);
		TSET(M0_T_IFELSE);
		TSET(M0_T_ADDI);
		TSET(M0_T_SUBI);
		TSET(M0_T_LTI);
		TSET(M0_T_GTI);
		TSET(M0_T_EQI);
		TSET(M0_T_INDEXK);
		TSET(M0_T_IFELSE2);
#undef TSET
		__atomic_thread_fence(__ATOMIC_RELEASE);
	}
#endif
	g->epoch++; /* another process: another dict stack */
	if (g->gc_due)
		m0_global_gc(g);
	if (s->gc_req) {
		s->gc_req = false;
		m0__gc_local(s);
	}
	s->fuel = budget;
	int err;
	for (;;) {
		if (s->fuel <= 0) {
			if (s->gc_req) {
				s->gc_req = false;
				s->fuel = s->fuel_saved;
				m0__gc_local(s);
				continue;
			}
			s->steps += (uint64_t)budget;
			return M0_RUN_YIELD;
		}
		if (s->esp == 0) {
			s->end = M0_END_NORMAL;
			break;
		}
		struct m0_frame *f = &s->es[s->esp - 1];
		if (f->kind == M0_FPROC) {
			/*
			 * Run this procedure's elements in one C frame, following
			 * calls and returns into other procedures, until the fuel
			 * runs out or another kind of frame is on top. The stack
			 * pointer, fuel and position live in registers and are
			 * written back before anything that can look at them
			 * (Lua's savepc).
			 */
			const struct m0_value *el, *ip, *end;
			/* Initialised only for the compiler: with computed
			 * goto it assumes any label may be reached from any
			 * dispatch. */
			const uint8_t *pc = NULL;
			const struct m0_value *v = NULL;
			struct m0_value bv;
			uint32_t esp0;
			int64_t fuel = s->fuel;
			uint32_t sp = s->sp, cap = s->os_cap;
			struct m0_value *os = s->os;
			bool last = false;
#define SAVE() (s->fuel = fuel, s->sp = sp)
#define LOAD() (fuel = s->fuel, sp = s->sp, os = s->os, cap = s->os_cap)
/* By index: a call may have moved the exec stack, and an unwind (Z, J)
 * may have dropped the frame, which then leaves a harmless write. */
#define SAVEPC()                                                              \
	do {                                                                  \
		if (!last)                                                    \
			s->es[esp0 - 1].i = ip - el;                          \
	} while (0)
#define R(k) (&os[sp - 1 - (k)])
#define RINTS2 (sp >= 2 && R(0)->type == M0_TINT && R(1)->type == M0_TINT)
		enter_proc:
			el = M0_ELEMS(&f->a);
			end = el + f->a.len;
			ip = el + f->i;
			esp0 = s->esp;
			if (ip >= end) {
				/* Stopped after an inline operator on the last
				 * element: only the return is left. */
				s->esp--;
				goto t_next;
			}
			/* A whole array runs in its threaded form; a view
			 * (`[off len] G`) or a quota too full for the form
			 * runs element by element below. */
			if (f->a.off == 0 && f->a.len == M0_ARR(&f->a)->h.n) {
				pc = M0_ARR(&f->a)->code;
				if (!pc) {
					SAVE();
					pc = m0__code_get(s, M0_ARR(&f->a));
					LOAD(); /* charging may ask for a collection */
					if (fuel <= 0) {
						err = M0_OK;
						goto proc_out;
					}
				}
				if (pc) {
					pc += ip - el;
					goto t_dispatch;
				}
			}
			for (;;) {
				v = ip++;
				last = ip == end;
				fuel--;
				if (last)
					s->esp--; /* tail call: no frame kept */
				if (v->type == M0_TOPER) {
					vmdispatch(v->u.op)
					{
					vmcase(M0_OP_ADD)
						if (!RINTS2)
							goto op_generic;
						R(1)->u.i = (int64_t)((uint64_t)R(1)->u.i +
						    (uint64_t)R(0)->u.i);
						sp--;
						goto op_done;
					vmcase(M0_OP_SUB)
						if (!RINTS2)
							goto op_generic;
						R(1)->u.i = (int64_t)((uint64_t)R(1)->u.i -
						    (uint64_t)R(0)->u.i);
						sp--;
						goto op_done;
					vmcase(M0_OP_LT)
						if (!RINTS2)
							goto op_generic;
						R(1)->u.i = R(1)->u.i < R(0)->u.i;
						sp--;
						goto op_done;
					vmcase(M0_OP_GT)
						if (!RINTS2)
							goto op_generic;
						R(1)->u.i = R(1)->u.i > R(0)->u.i;
						sp--;
						goto op_done;
					vmcase(M0_OP_EQ)
						if (!RINTS2)
							goto op_generic;
						R(1)->u.i = R(1)->u.i == R(0)->u.i;
						sp--;
						goto op_done;
					vmcase(M0_OP_POP)
						if (sp < 1)
							goto op_generic;
						sp--;
						goto op_done;
					vmcase(M0_OP_EXCH)
						if (sp < 2)
							goto op_generic;
						{
							struct m0_value t = *R(0);
							*R(0) = *R(1);
							*R(1) = t;
						}
						goto op_done;
					vmcase(M0_OP_INDEX)
						if (sp < 2 || R(0)->type != M0_TINT ||
						    R(0)->u.i < 0 ||
						    (uint64_t)R(0)->u.i >= sp - 1)
							goto op_generic;
						*R(0) = *R(1 + R(0)->u.i);
						goto op_done;
					vmcase(M0_OP_IFELSE)
						if (sp < 3 || R(2)->type != M0_TINT)
							goto op_generic;
						{
							const struct m0_value *b =
							    R(2)->u.i ? R(1) : R(0);
							if (b->type != M0_TARRAY ||
							    !(b->u.o->attr & M0_AX) ||
							    s->esp >= s->es_cap ||
							    s->esp >= g->lim.exec_depth)
								goto op_generic;
							sp -= 3;
							if (b->len == 0)
								goto op_done;
							SAVEPC();
							struct m0_frame *nf = &s->es[s->esp++];
							nf->kind = M0_FPROC;
							nf->i = 0;
							nf->a = *b;
						}
						goto op_done;
					vmdefault
						goto op_generic;
					}
				op_generic:
					SAVEPC();
					SAVE();
					err = call_op(s, v->u.op);
					LOAD();
					goto op_checked;
				op_done:
					err = M0_OK;
				op_checked:;
				} else if (v->type == M0_TNAME && v->x) {
					/* A call of a named procedure, cached lookup:
					 * push its frame right here. */
					struct m0_name *n = v->u.name;
					const struct m0_value *val = n->cache_slot;
					SAVEPC();
					if (n->cache_epoch == g->epoch &&
					    val->type == M0_TARRAY && val->x &&
					    (val->u.o->attr & M0_AX) && val->len &&
					    s->esp < s->es_cap &&
					    s->esp < g->lim.exec_depth) {
						struct m0_frame *nf = &s->es[s->esp++];
						nf->kind = M0_FPROC;
						nf->i = 0;
						nf->a = *val;
						err = M0_OK;
					} else {
						SAVE();
						err = exec_token(s, v);
						LOAD();
					}
				} else if (sp < cap) {
					os[sp++] = *v;
					err = M0_OK;
				} else {
					SAVE();
					err = m0__push(s, v);
					LOAD();
				}
				if (err) {
					SAVEPC();
					SAVE();
					if (err == M0__ENOMEM)
						err = retry_token(s, v);
					LOAD();
					break;
				}
				if (fuel <= 0) {
					SAVEPC();
					break;
				}
				if (last || s->esp != esp0) {
					SAVEPC();
					goto t_next;
				}
			}
			goto proc_out;

			/*
			 * Go straight on when the next frame is a procedure
			 * too (a call or a return), or a counted loop over one.
			 */
		t_next:
			if (s->esp == 0)
				goto proc_ok;
			f = &s->es[s->esp - 1];
			if (f->kind == M0_FPROC)
				goto enter_proc;
			if (f->kind == M0_FLOOPN && f->i < f->n &&
			    f->b.type == M0_TARRAY && f->b.len &&
			    (f->b.u.o->attr & M0_AX) && sp < cap &&
			    s->esp < s->es_cap && s->esp < g->lim.exec_depth) {
				fuel--;
				/* Field by field: building the value in memory
				 * first stalls store forwarding. */
				os[sp].type = M0_TINT;
				os[sp].x = 0;
				os[sp++].u.i = f->i++;
				bv = f->b;
				goto t_push_frame;
			}
			goto proc_ok;

			/*
			 * The threaded form (m0_code.c). pc walks the opcode
			 * bytes beside ip. A handler runs with fuel >= 1; a
			 * fused one needs fuel for all its elements, else it
			 * runs its first element alone (t_push: all fused
			 * instructions start with a literal), as it does when
			 * its parts would not all take the fast path. Inline
			 * operators never pop the frame on the last element:
			 * M0_T_RET does, as nothing can observe the difference;
			 * anything that can (calls, errors, other operators)
			 * goes through t_slow, which pops first like the loop
			 * above.
			 */
#define TNEXT(w)                                                              \
	do {                                                                  \
		ip += (w);                                                    \
		pc += (w);                                                    \
		fuel -= (w);                                                  \
		if (fuel <= 0)                                                \
			goto t_fuel;                                          \
		tdispatch();                                                  \
	} while (0)
/* Leaves the instruction of width w to run the procedure bv next. */
#define TBRANCH(w)                                                            \
	do {                                                                  \
		ip += (w);                                                    \
		pc += (w);                                                    \
		fuel -= (w);                                                  \
		goto t_branch;                                                \
	} while (0)
#define TROOM (s->esp < s->es_cap && s->esp < g->lim.exec_depth)
		t_dispatch:
			tswitch(*pc)
			{
			tcase(M0_T_PUSH)
			t_push:
				if (sp >= cap)
					goto t_slow;
				os[sp++] = *ip;
				TNEXT(1);
			tcase(M0_T_CALL)
			{
				/* Cached lookup of a procedure: the epoch is
				 * checked before the slot is looked at. */
				struct m0_name *n = ip->u.name;
				if (n->cache_epoch != g->epoch)
					goto t_slow;
				const struct m0_value *val = n->cache_slot;
				if (val->type != M0_TARRAY || !val->x ||
				    !(val->u.o->attr & M0_AX) || !val->len ||
				    !TROOM)
					goto t_slow;
				bv = *val;
				TBRANCH(1);
			}
			tcase(M0_T_RET)
				s->esp--;
				goto t_next;
			tcase(M0_T_ADD)
				if (!RINTS2)
					goto t_slow;
				R(1)->u.i = (int64_t)((uint64_t)R(1)->u.i +
				    (uint64_t)R(0)->u.i);
				sp--;
				TNEXT(1);
			tcase(M0_T_SUB)
				if (!RINTS2)
					goto t_slow;
				R(1)->u.i = (int64_t)((uint64_t)R(1)->u.i -
				    (uint64_t)R(0)->u.i);
				sp--;
				TNEXT(1);
			tcase(M0_T_LT)
				if (!RINTS2)
					goto t_slow;
				R(1)->u.i = R(1)->u.i < R(0)->u.i;
				sp--;
				TNEXT(1);
			tcase(M0_T_GT)
				if (!RINTS2)
					goto t_slow;
				R(1)->u.i = R(1)->u.i > R(0)->u.i;
				sp--;
				TNEXT(1);
			tcase(M0_T_EQ)
				if (!RINTS2)
					goto t_slow;
				R(1)->u.i = R(1)->u.i == R(0)->u.i;
				sp--;
				TNEXT(1);
			tcase(M0_T_POP)
				if (sp < 1)
					goto t_slow;
				sp--;
				TNEXT(1);
			tcase(M0_T_EXCH)
				if (sp < 2)
					goto t_slow;
				{
					struct m0_value t = *R(0);
					*R(0) = *R(1);
					*R(1) = t;
				}
				TNEXT(1);
			tcase(M0_T_INDEX)
				if (sp < 2 || R(0)->type != M0_TINT ||
				    R(0)->u.i < 0 ||
				    (uint64_t)R(0)->u.i >= sp - 1)
					goto t_slow;
				*R(0) = *R(1 + R(0)->u.i);
				TNEXT(1);
			tcase(M0_T_IFELSE)
			{
				if (sp < 3 || R(2)->type != M0_TINT)
					goto t_slow;
				const struct m0_value *b = R(2)->u.i ? R(1) : R(0);
				if (b->type != M0_TARRAY ||
				    !(b->u.o->attr & M0_AX) || !TROOM)
					goto t_slow;
				sp -= 3;
				if (b->len == 0)
					TNEXT(1);
				bv = *b;
				TBRANCH(1);
			}
			/* int OP: the operator applied to the top and the
			 * literal, without pushing the literal. */
#define TFUSEI(expr)                                                          \
	do {                                                                  \
		if (fuel < 2 || sp >= cap || sp < 1 || R(0)->type != M0_TINT) \
			goto t_push;                                          \
		int64_t a = R(0)->u.i, k = ip->u.i;                           \
		R(0)->u.i = (expr);                                           \
		TNEXT(2);                                                     \
	} while (0)
			tcase(M0_T_ADDI)
				TFUSEI((int64_t)((uint64_t)a + (uint64_t)k));
			tcase(M0_T_SUBI)
				TFUSEI((int64_t)((uint64_t)a - (uint64_t)k));
			tcase(M0_T_LTI)
				TFUSEI(a < k);
			tcase(M0_T_GTI)
				TFUSEI(a > k);
			tcase(M0_T_EQI)
				TFUSEI(a == k);
#undef TFUSEI
			tcase(M0_T_INDEXK)
				/* k I with k >= 0 (0 I is dup) */
				if (fuel < 2 || sp >= cap ||
				    (uint64_t)ip->u.i >= sp)
					goto t_push;
				os[sp] = os[sp - 1 - ip->u.i];
				sp++;
				TNEXT(2);
			tcase(M0_T_IFELSE2)
			{
				/* {a} {b} ?: the branches are the elements; the
				 * stack must have had room for them. */
				if (fuel < 3 || sp < 1 || R(0)->type != M0_TINT ||
				    cap - sp < 2)
					goto t_push;
				const struct m0_value *b = R(0)->u.i ? ip : ip + 1;
				if (!(b->u.o->attr & M0_AX))
					goto t_push;
				if (b->len == 0) {
					sp--;
					TNEXT(3);
				}
				if (!TROOM)
					goto t_push;
				sp--;
				bv = *b;
				TBRANCH(3);
			}
			tcase(M0_T_SLOW)
			tdefault
				goto t_slow;
			}

		t_slow: {
			/* One element through the general path, exactly as
			 * the loop above runs it. */
			v = ip++;
			pc++;
			fuel--;
			last = ip == end;
			if (last)
				s->esp--; /* tail call: no frame kept */
			SAVEPC();
			SAVE();
			err = exec_token(s, v);
			if (err == M0__ENOMEM) {
				err = retry_token(s, v);
				LOAD();
				goto proc_out;
			}
			LOAD();
			if (err || fuel <= 0)
				goto proc_out;
			if (last || s->esp != esp0)
				goto t_next;
			tdispatch();
		}
		t_branch: {
			/* Calls bv; the caller's frame goes on a tail call. */
			if (ip == end)
				s->esp--;
			else
				s->es[esp0 - 1].i = ip - el;
		}
		t_push_frame: {
			/* A new frame for bv at its first element. When bv is
			 * in the threaded form the checks of enter_proc are
			 * known; bv, not the frame just written, feeds the
			 * loads that lead to the dispatch. */
			struct m0_frame *nf = &s->es[s->esp++];
			nf->kind = M0_FPROC;
			nf->i = 0;
			nf->a = bv;
			f = nf;
			if (fuel <= 0)
				goto proc_ok;
			struct m0_array *arr = M0_ARR(&bv);
			pc = arr->code;
			if (!pc || bv.off != 0 || bv.len != arr->h.n)
				goto enter_proc;
			el = ip = arr->v;
			end = el + bv.len;
			esp0 = s->esp;
			tdispatch();
		}
		t_fuel:
			s->es[esp0 - 1].i = ip - el;
		proc_ok:
			err = M0_OK;
		proc_out:
			SAVE();
#undef TNEXT
#undef TBRANCH
#undef TROOM
#undef SAVE
#undef LOAD
#undef SAVEPC
#undef R
#undef RINTS2
			if (err == M0_OK)
				continue;
		} else if (f->kind == M0_FLOOPN && f->i < f->n &&
		    f->b.type == M0_TARRAY && f->b.len &&
		    (f->b.u.o->attr & M0_AX) && s->sp < s->os_cap &&
		    s->esp < s->es_cap && s->esp < g->lim.exec_depth) {
			/* The common counted loop over a procedure, without
			 * the general exec path. */
			s->fuel--;
			s->os[s->sp].type = M0_TINT;
			s->os[s->sp].x = 0;
			s->os[s->sp++].u.i = f->i++;
			struct m0_frame *nf = &s->es[s->esp++];
			nf->kind = M0_FPROC;
			nf->i = 0;
			nf->a = f->b;
			continue;
		} else {
			s->fuel--;
			switch (f->kind) {
			case M0_FSTR: {
				struct m0_value tok;
				uint32_t pos = (uint32_t)f->i;
				err = m0__scan(s, M0_BYTES(&f->a), f->a.len, &pos,
				    &tok);
				if (err == M0__ENOMEM) {
					m0__gc_local(s);
					f = &s->es[s->esp - 1];
					err = m0__scan(s, M0_BYTES(&f->a), f->a.len,
					    &pos, &tok);
				}
				f->i = pos;
				if (err == M0__END) {
					s->esp--;
					continue;
				}
				if (err) {
					s->errobj = f->a;
					s->errset = 1;
					if (pos >= f->a.len)
						s->esp--;
					break;
				}
				if (pos >= f->a.len)
					s->esp--;
				err = exec_token(s, &tok);
				if (err == M0__ENOMEM)
					err = retry_token(s, &tok);
				break;
			}
			case M0_FSTOP:
				s->esp--;
				err = m0__push_int(s, 0);
				break;
			case M0_FERRH:
			case M0_FBASE:
				s->esp--;
				continue;
			default:
				err = step_loop(s, f);
				break;
			}
			if (err == M0_OK)
				continue;
		}
		err = settle(s, err);
		if (err == M0__BLOCK) {
			s->steps += (uint64_t)(budget - s->fuel);
			return M0_RUN_BLOCKED;
		}
		if (err == M0__END)
			break;
	}
	s->steps += (uint64_t)(budget - s->fuel);
	return M0_RUN_DONE;
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
