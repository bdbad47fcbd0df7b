/*
 * m0_vm.c: the resumable interpreter loop (spec A3, A5).
 *
 * All execution state is in the exec stack of struct m0_state, so a call
 * never recurses in C: `!`, `?`, `L` and `H` push frames and return, and
 * the loop below takes the next step from the top frame. m0_state_run()
 * can therefore stop after any step and resume there later. What the
 * loop does off its fast path (frames, errors, unwinding) is in m0_do.c.
 */
#include <stdlib.h>

#include "m0_int.h"

/*
 * The threaded form's handlers are generated from the lists in m0_int.h
 * (M0_TCODES, M0_TARITH, M0_TSINGLE); tcase labels them for either
 * dispatch: computed goto (default) or a switch (-Ddispatch=switch).
 */
#if defined(M0_DISPATCH_SWITCH)
#define tswitch(o) switch (o)
#define tcase(l)                                                               \
	case l:                                                                \
		T_##l : __attribute__((unused));
#define tdefault default:
#define tdispatch()                                                            \
	do {                                                                   \
		tc = *pc;                                                      \
		goto t_dispatch_tc;                                            \
	} while (0)
#define tjump(c)                                                               \
	do {                                                                   \
		tc = (c);                                                      \
		goto t_dispatch_tc;                                            \
	} while (0)
#else
#define tswitch(o) goto *ttab[o];
#define tcase(l) T_##l:
#define tdefault
#define tdispatch() goto *ttab[*pc]
#define tjump(c) goto *ttab[c]
#endif

/* Whether the name element e resolves to operator op now: its cached
 * lookup is valid for this epoch and gives the operator. */
static inline __attribute__((always_inline)) bool
name_is_op(uint64_t epoch, const struct m0_value *e, uint32_t op)
{
	const struct m0_name *n = e->u.name;
	return n->cache_epoch == epoch && n->cache_op == (int)op;
}

/* Whether e, an element that code_at took for operator op, is that
 * operator now. An operator element is: the form is recomputed whenever
 * an element changes (m0__code_touch). */
static inline __attribute__((always_inline)) bool
is_op(uint64_t epoch, const struct m0_value *e, uint32_t op)
{
	return e->type == M0_TOPER || name_is_op(epoch, e, op);
}

/* Whether running v, the value a name resolved to, pushes it (as
 * exec_token does for anything but operators and executable arrays and
 * names). */
static inline bool
pushable(const struct m0_value *v)
{
	return v->type != M0_TOPER &&
	    !(v->x && (v->type == M0_TARRAY || v->type == M0_TNAME));
}

/*
 * The slot of key k in dict t for a store `t k v :` that needs nothing
 * but the write: k is there, t is writable, no copy into global memory,
 * no lease in `_`, no operator stored or stored over (a new epoch). NULL
 * when the operator itself must do it. A name key
 * whose cached lookup (this epoch) found it in t needs no hashing: that
 * is what makes `'x v df` on a variable cheap.
 */
static inline __attribute__((always_inline)) struct m0_value *
store_slot_in(const struct m0_global *g, uint64_t epoch,
    const struct m0_value *t, const struct m0_value *k,
    const struct m0_value *v)
{
	if (!(t->u.o->attr & M0_AW) || t->u.o == g->gdict.u.o ||
	    (t->u.o->global && m0__composite(v)) || v->type == M0_TOPER)
		return NULL;
	struct m0_dict *d = M0_DICT(t);
	struct m0_value *e;
	if (k->type == M0_TNAME && k->u.name->cache_epoch == epoch &&
	    k->u.name->cache_dict == d)
		e = k->u.name->cache_slot;
	else
		e = m0__dict_find_fast(d, k);
	/* Over an operator, the store must start a new epoch (m0_dict.c). */
	return e && e->type != M0_TOPER ? e : NULL;
}

/* store_slot out of line, for the instructions it would crowd. */
static __attribute__((noinline)) struct m0_value *
store_slot(const struct m0_global *g, uint64_t epoch, const struct m0_value *t,
    const struct m0_value *k, const struct m0_value *v)
{
	return store_slot_in(g, epoch, t, k, v);
}

/* `t k G` where the inline path can do it: an array and an int in range,
 * or a dict and a key that is there, readable; the value in *r. */
static inline bool
get_fast(const struct m0_value *t, const struct m0_value *k, struct m0_value *r)
{
	if (!m0__composite(t) || !(t->u.o->attr & M0_AR))
		return false;
	if (t->type == M0_TARRAY) {
		if (k->type != M0_TINT || (uint64_t)k->u.i >= t->len)
			return false;
		*r = M0_ELEMS(t)[k->u.i];
		return true;
	}
	if (t->type != M0_TDICT)
		return false;
	const struct m0_value *e = m0__dict_find_fast(M0_DICT(t), k);
	if (!e)
		return false;
	*r = *e;
	return true;
}

/* Whether the procedure b is `. 3 1 R :` now (its form says it was). */
static inline bool
is_def(uint64_t epoch, const struct m0_value *b)
{
	const struct m0_array *a = M0_ARR(b);
	return b->len == 5 && a->h.n == 5 && a->code &&
	    a->code[0] == M0_T_DEF && is_op(epoch, &a->v[0], M0_OP_CURDICT) &&
	    is_op(epoch, &a->v[3], M0_OP_ROLL) &&
	    is_op(epoch, &a->v[4], M0_OP_PUT);
}

int
m0_state_run(struct m0_state *s, int64_t budget)
{
	struct m0_global *g = s->g;
	if (s->end)
		return M0_RUN_DONE;
	if (s->blocked)
		return M0_RUN_BLOCKED;
	if (s->locd.type == M0_TSTRING) { /* its first run */
		int uerr = m0__state_unfold(s);
		if (uerr) {
			s->lasterr = uerr;
			s->end = M0_END_FATAL;
			return M0_RUN_DONE;
		}
	}
#if !defined(M0_DISPATCH_SWITCH)
	static const void *const ttab[M0_T_N] = {
#define TLABEL(c) &&T_M0_T_##c,
	    M0_TCODES(TLABEL)
#undef TLABEL
	};
#endif
	if (g->last_run != s) {
		g->epoch++; /* another process: another dict stack */
		g->last_run = s;
	}
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
			uint8_t *pc = NULL;
			const struct m0_value *v = NULL, *val = NULL;
			struct m0_value bv;
			uint32_t esp0, op = 0;
			uint8_t tc = 0;
			int64_t fuel = s->fuel;
			/* The operand stack as pointers: its top and the end
			 * of its room (s->sp and s->os_cap outside). */
			uint64_t epoch = g->epoch;
#define ES_MAX() (s->es_cap < g->lim.exec_depth ? s->es_cap : g->lim.exec_depth)
			uint32_t esmax = ES_MAX();
			struct m0_value *os = s->os, *top = os + s->sp,
			                *lim = os + s->os_cap;
			bool last = false;
			(void)tc;
/* epoch and esmax (the exec stack's room: its capacity or the limit)
 * change only in what runs out of line, followed by LOAD(). */
#define SAVE() (s->fuel = fuel, s->sp = (uint32_t)SP)
#define LOAD()                                                                 \
	(fuel = s->fuel, os = s->os, top = os + s->sp, lim = os + s->os_cap,   \
	    epoch = g->epoch, esmax = ES_MAX())
#define SP ((uint64_t)(top - os)) /* operands on the stack */
/* By index: a call may have moved the exec stack, and an unwind (Z, J)
 * may have dropped the frame, which then leaves a harmless write. */
#define SAVEPC()                                                               \
	do {                                                                   \
		if (!last)                                                     \
			s->es[esp0 - 1].i = ip - el;                           \
	} while (0)
#define R(k) (&top[-1 - (k)])
#define RINTS2 (top >= os + 2 && R(0)->type == M0_TINT && R(1)->type == M0_TINT)
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
					tdispatch();
				}
			}
			/* Element by element: literals pushed here, the rest
			 * through the general path. */
			for (;;) {
				v = ip++;
				last = ip == end;
				fuel--;
				if (last)
					s->esp--; /* tail call: no frame kept */
				if (v->type != M0_TOPER &&
				    (v->type != M0_TNAME || !v->x) &&
				    top < lim) {
					*top++ = *v;
					err = M0_OK;
				} else {
					SAVEPC();
					SAVE();
					err = m0__exec_token(s, v);
					if (err == M0__ENOMEM)
						err = m0__retry_token(s, v);
					LOAD();
				}
				if (err)
					break;
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
			    (f->b.u.o->attr & M0_AX) && top < lim &&
			    s->esp < s->es_cap && s->esp < g->lim.exec_depth) {
				fuel--;
				/* Field by field: building the value in memory
				 * first stalls store forwarding. */
				top->type = M0_TINT;
				top->x = 0;
				(top++)->u.i = f->i++;
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
			 * above. An operator's handler is reached from its own
			 * element or from a name that resolves to it (T_CALL);
			 * either way it covers the one element at ip.
			 */
#define TNEXT(w)                                                               \
	do {                                                                   \
		ip += (w);                                                     \
		pc += (w);                                                     \
		fuel -= (w);                                                   \
		if (fuel <= 0)                                                 \
			goto t_fuel;                                           \
		tdispatch();                                                   \
	} while (0)
/* Leaves the instruction of width w to run the procedure bv next. */
#define TBRANCH(w)                                                             \
	do {                                                                   \
		ip += (w);                                                     \
		pc += (w);                                                     \
		fuel -= (w);                                                   \
		goto t_branch;                                                 \
	} while (0)
#define TROOM (s->esp < esmax)
/* Room for the frame of a call by the instruction of width w: a tail
 * call replaces the caller's frame. */
#define TROOMAT(w) (TROOM || ip + (w) == end)
			/* Laid out by hand: tcase() labels confuse clang-format. */
			/* clang-format off */
#if defined(M0_DISPATCH_SWITCH)
		t_dispatch_tc:
#endif
			tswitch(tc)
			{
			tcase(M0_T_PUSH)
			t_push:
				if (top >= lim)
					goto t_slow;
				*top++ = *ip;
				TNEXT(1);
			/* A name met for the first time, or whose guess
			 * failed: resolved as exec_token would, through its
			 * cache (checked before the slot is read). Where the
			 * instruction is one that covers just this name, it
			 * becomes the one for what the name gave (VAR, PROC,
			 * DFCALL, an operator's N form): the next run goes
			 * straight there, guarded. */
			tcase(M0_T_CALL)
			t_call:
			{
				struct m0_name *n = ip->u.name;
				if (n->cache_epoch != epoch) {
					struct m0_value *found;
					if (m0__lookup(s, n, &found))
						goto t_slow; /* raises undefined */
				}
				val = n->cache_slot;
				bool name1 = m0__tcode_name1[*pc];
				if (val->type == M0_TOPER) {
					op = val->u.op;
					if (op < M0_NOPS && m0__op_tcode[op]) {
						if (name1)
							*pc = m0__op_tcode_n[op];
						tjump(m0__op_tcode[op]);
					}
					goto t_oper;
				}
				if (val->type == M0_TARRAY && val->x) {
					/* Five elements that are not df (yet: its
					 * form is made when it first runs): CALL
					 * looks again next time. */
					bool df = val->len == 5 && is_def(epoch, val);
					if (name1 && (df || val->len != 5))
						*pc = df ? M0_T_DFCALL : M0_T_PROC;
					if (df)
						goto t_dfcall;
					if (!(val->u.o->attr & M0_AX) ||
					    !val->len || !TROOMAT(1))
						goto t_slow;
					bv = *val;
					TBRANCH(1);
				}
				if (val->type == M0_TNAME && val->x)
					goto t_slow;
				if (name1)
					*pc = M0_T_VAR;
				/* A value: pushed. */
				if (top >= lim)
					goto t_slow;
				*top++ = *val;
				TNEXT(1);
			}
			tcase(M0_T_VAR)
			{
				struct m0_name *n = ip->u.name;
				if (n->cache_epoch != epoch || top >= lim ||
				    !pushable(n->cache_slot))
					goto t_call;
				*top++ = *n->cache_slot;
				TNEXT(1);
			}
			tcase(M0_T_PROC)
			{
				struct m0_name *n = ip->u.name;
				if (n->cache_epoch != epoch)
					goto t_call;
				val = n->cache_slot;
				if (val->type != M0_TARRAY || !val->x ||
				    !(val->u.o->attr & M0_AX) || !val->len ||
				    !TROOMAT(1))
					goto t_call;
				bv = *val;
				TBRANCH(1);
			}
			tcase(M0_T_DFCALL)
			{
				struct m0_name *n = ip->u.name;
				if (n->cache_epoch != epoch)
					goto t_call;
				val = n->cache_slot;
				if (val->type != M0_TARRAY || !val->x ||
				    val->len != 5 || !is_def(epoch, val))
					goto t_call;
			t_dfcall:
				/* A call of `{ . 3 1 R : }` (df): the store
				 * without the frame, when it runs to its end in
				 * this slice; else the call. */
				if (!(val->u.o->attr & M0_AX) || !TROOMAT(1))
					goto t_slow;
				if (fuel >= 6 && top >= os + 2 && lim - top >= 3) {
					struct m0_value *e = store_slot(
					    g, epoch, &s->ds[s->dsp - 1], R(1), R(0));
					if (e) {
						*e = *R(0);
						top -= 2;
						fuel -= 5;
						TNEXT(1);
					}
				}
				bv = *val;
				TBRANCH(1);
			}
			tcase(M0_T_RET)
			{
				/* Back into the caller's procedure; or, at the
				 * end of the body of a counted loop that goes on,
				 * the next round in the body's frame: the state
				 * that popping it and pushing it anew (as t_next
				 * does) gives, one step for the loop. The frame's
				 * place was in the limits when the body was first
				 * pushed there. */
				if (esp0 < 2) {
					s->esp--;
					goto t_next;
				}
				f = &s->es[esp0 - 2];
				if (f->kind == M0_FPROC) {
					/* enter_proc for a caller in its threaded
					 * form, left before its last element. */
					struct m0_array *arr = M0_ARR(&f->a);
					s->esp = --esp0;
					if (f->a.off == 0 && arr->code &&
					    f->a.len == arr->h.n && f->i < f->a.len) {
						el = arr->v;
						end = el + f->a.len;
						ip = el + f->i;
						pc = arr->code + f->i;
						tdispatch();
					}
					goto enter_proc;
				}
				if (f->kind == M0_FLOOPN && f->i < f->n &&
				    f->b.type == M0_TARRAY &&
				    M0_ARR(&f->b)->v == el && f->b.off == 0 &&
				    f->b.len == end - el &&
				    (f->b.u.o->attr & M0_AX) && top < lim) {
					fuel--;
					top->type = M0_TINT;
					top->x = 0;
					(top++)->u.i = f->i++;
					f = &s->es[esp0 - 1];
					pc -= end - el;
					ip = el;
					if (fuel <= 0) {
						f->i = 0;
						goto proc_ok;
					}
					tdispatch();
				}
				s->esp--;
				goto t_next;
			}
			/* Two ints: the single form works on the stack, the
			 * fused form (`int op`) on the top and the literal,
			 * without pushing the literal. */
#define TARITH(y, o, expr, ok)                                                \
	tcase(M0_T_##o##N)                                                    \
	if (!name_is_op(epoch, ip, M0_OP_##o))                                    \
		goto t_call;                                                  \
	goto T_M0_T_##o;                                                      \
	tcase(M0_T_##o)                                                       \
	{                                                                     \
		if (!RINTS2 && M0_T_##o == M0_T_EQ)                           \
			goto t_eq_any;                                        \
		if (!RINTS2)                                                  \
			goto t_slow;                                          \
		int64_t a = R(1)->u.i, b = R(0)->u.i;                         \
		if (!(ok))                                                    \
			goto t_slow;                                          \
		R(1)->u.i = (expr);                                           \
		top--;                                                         \
		TNEXT(1);                                                     \
	}                                                                     \
	tcase(M0_T_##o##IN)                                                   \
	if (!name_is_op(epoch, ip + 1, M0_OP_##o))                                \
		goto t_push;                                                  \
	goto T_M0_T_##o##I;                                                   \
	tcase(M0_T_##o##I)                                                    \
	{                                                                     \
		if (fuel < 2 || top >= lim || top <= os ||                        \
		    R(0)->type != M0_TINT)                                    \
			goto t_push;                                          \
		int64_t a = R(0)->u.i, b = ip->u.i;                           \
		if (!(ok))                                                    \
			goto t_push;                                          \
		R(0)->u.i = (expr);                                           \
		TNEXT(2);                                                     \
	}                                                                     \
	tcase(M0_T_##o##V)                                                    \
	{                                                                     \
		/* var op: the name's int value is b. A name that did     \
		 * not give an int becomes a single-name instruction. */   \
		const struct m0_name *n = ip->u.name;                         \
		if (n->cache_epoch != epoch)                               \
			goto t_call;                                          \
		if (n->cache_slot->type != M0_TINT) {                         \
			*pc = M0_T_CALL;                                      \
			goto t_call;                                          \
		}                                                             \
		if (fuel < 2 || top >= lim || top <= os ||                        \
		    R(0)->type != M0_TINT || !is_op(epoch, ip + 1, M0_OP_##o))    \
			goto t_call;                                          \
		int64_t a = R(0)->u.i, b = n->cache_slot->u.i;                \
		if (!(ok))                                                    \
			goto t_call;                                          \
		R(0)->u.i = (expr);                                           \
		TNEXT(2);                                                     \
	}
			M0_TARITH(TARITH, _)
#undef TARITH
			/* Other types: only = is defined on any two values. */
			t_eq_any:
				if (top < os + 2)
					goto t_slow;
				{
					bool eq = m0__equal(R(1), R(0));
					top--;
					*R(0) = m0__int(eq);
				}
				TNEXT(1);
			tcase(M0_T_POP)
				if (top <= os)
					goto t_slow;
				top--;
				TNEXT(1);
			tcase(M0_T_EXCH)
				if (top < os + 2)
					goto t_slow;
				{
					struct m0_value t = *R(0);
					*R(0) = *R(1);
					*R(1) = t;
				}
				TNEXT(1);
			tcase(M0_T_INDEX)
				if (top < os + 2 || R(0)->type != M0_TINT ||
				    R(0)->u.i < 0 ||
				    (uint64_t)R(0)->u.i >= SP - 1)
					goto t_slow;
				*R(0) = *R(1 + R(0)->u.i);
				TNEXT(1);
			tcase(M0_T_ROLL)
			{
				/* n j R over a few elements (`3 1 R` of the
				 * 'x v df idiom); larger ones by the operator. */
				if (!RINTS2 || R(1)->u.i < 1 || R(1)->u.i > 8 ||
				    (uint64_t)R(1)->u.i > SP - 2)
					goto t_slow;
				uint32_t cnt = (uint32_t)R(1)->u.i;
				int64_t sh = R(0)->u.i % (int64_t)cnt;
				if (sh < 0)
					sh += cnt;
				top -= 2;
				struct m0_value t[8], *base = top - cnt;
				memcpy(t, base, cnt * sizeof(*t));
				for (uint32_t k = 0; k < cnt; k++)
					base[(k + (uint32_t)sh) % cnt] = t[k];
				TNEXT(1);
			}
			tcase(M0_T_IFELSE)
			{
				if (top < os + 3 || R(2)->type != M0_TINT)
					goto t_slow;
				const struct m0_value *b = R(2)->u.i ? R(1) : R(0);
				if (b->type != M0_TARRAY ||
				    !(b->u.o->attr & M0_AX) || !TROOMAT(1))
					goto t_slow;
				top -= 3;
				if (b->len == 0)
					TNEXT(1);
				bv = *b;
				TBRANCH(1);
			}
			tcase(M0_T_GET)
			{
				/* array int G, dict key G (present) */
				struct m0_value r;
				if (top < os + 2 || !get_fast(R(1), R(0), &r))
					goto t_slow;
				*R(1) = r;
				top--;
				TNEXT(1);
			}
			tcase(M0_T_PUT)
			{
				/* array int v :, dict key v : of a key that is
				 * there; nothing that would need a copy into
				 * global memory or a lease in `_`. */
				if (top < os + 3)
					goto t_slow;
				struct m0_value *t = R(2), *k = R(1), *nv = R(0);
				if (!m0__composite(t) || !(t->u.o->attr & M0_AW) ||
				    (t->u.o->global && m0__composite(nv)))
					goto t_slow;
				if (t->type == M0_TARRAY) {
					if (k->type != M0_TINT ||
					    (uint64_t)k->u.i >= t->len)
						goto t_slow;
					uint32_t i = t->off + (uint32_t)k->u.i;
					M0_ARR(t)->v[i] = *nv;
					if (M0_ARR(t)->code)
						m0__code_touch(M0_ARR(t), i, i + 1);
				} else if (t->type == M0_TDICT) {
					struct m0_value *e = store_slot_in(g, epoch, t, k, nv);
					if (!e)
						goto t_slow;
					*e = *nv;
				} else {
					goto t_slow;
				}
				top -= 3;
				TNEXT(1);
			}
			tcase(M0_T_KNOWN)
			{
				if (top < os + 2 || R(1)->type != M0_TDICT ||
				    !(R(1)->u.o->attr & M0_AR))
					goto t_slow;
				bool known =
				    m0__dict_find_fast(M0_DICT(R(1)), R(0)) != NULL;
				top--;
				*R(0) = m0__int(known);
				TNEXT(1);
			}
			tcase(M0_T_CURDICT)
				if (top >= lim)
					goto t_slow;
				*top++ = s->ds[s->dsp - 1];
				TNEXT(1);
#define TSINGLE_N(y, o)                                                       \
	tcase(M0_T_##o##N)                                                    \
	if (!name_is_op(epoch, ip, M0_OP_##o))                                    \
		goto t_call;                                                  \
	goto T_M0_T_##o;
			M0_TSINGLE(TSINGLE_N, _)
#undef TSINGLE_N
			tcase(M0_T_INDEXKN)
				if (!name_is_op(epoch, ip + 1, M0_OP_INDEX))
					goto t_push;
				goto T_M0_T_INDEXK;
			tcase(M0_T_INDEXK)
				/* k I with k >= 0 (0 I is dup) */
				if (fuel < 2 || top >= lim ||
				    (uint64_t)ip->u.i >= SP)
					goto t_push;
				*top = top[-1 - ip->u.i];
				top++;
				TNEXT(2);
			tcase(M0_T_IFELSE2N)
				if (!name_is_op(epoch, ip + 2, M0_OP_IFELSE))
					goto t_push;
				goto T_M0_T_IFELSE2;
			tcase(M0_T_IFELSE2)
			{
				/* {a} {b} ?: the branches are the elements; the
				 * stack must have had room for them. */
				if (fuel < 3 || top <= os || R(0)->type != M0_TINT ||
				    lim - top < 2)
					goto t_push;
				const struct m0_value *b = R(0)->u.i ? ip : ip + 1;
				if (!(b->u.o->attr & M0_AX))
					goto t_push;
				if (b->len == 0) {
					top--;
					TNEXT(3);
				}
				if (!TROOMAT(3))
					goto t_push;
				top--;
				bv = *b;
				TBRANCH(3);
			}
			tcase(M0_T_DEF)
			{
				/* . 3 1 R : stores the top under the key below
				 * it in the current dict; else `.` alone. */
				if (fuel < 5 || top < os + 2 || lim - top < 3 ||
				    !is_op(epoch, ip, M0_OP_CURDICT) ||
				    !is_op(epoch, ip + 3, M0_OP_ROLL) ||
				    !is_op(epoch, ip + 4, M0_OP_PUT))
					goto t_def_first;
				struct m0_value *e =
				    store_slot(g, epoch, &s->ds[s->dsp - 1], R(1), R(0));
				if (!e)
					goto t_def_first;
				*e = *R(0);
				top -= 2;
				TNEXT(5);
			t_def_first:
				if (ip->type == M0_TOPER)
					goto T_M0_T_CURDICT;
				goto t_call;
			}
			tcase(M0_T_SETX)
			{
				/* 'x X df: the top stored under x in the
				 * current dict, as the three elements and df's
				 * five do (t_dfcall); else 'x alone. */
				const struct m0_name *n = ip[2].u.name;
				if (fuel < 8 || top <= os || lim - top < 4 ||
				    n->cache_epoch != epoch ||
				    !is_op(epoch, ip + 1, M0_OP_EXCH))
					goto t_push;
				val = n->cache_slot;
				if (val->type != M0_TARRAY || !val->x ||
				    val->len != 5 || !(val->u.o->attr & M0_AX) ||
				    !is_def(epoch, val) || !TROOMAT(3))
					goto t_push;
				struct m0_value *e = store_slot_in(
				    g, epoch, &s->ds[s->dsp - 1], ip, R(0));
				if (!e)
					goto t_push;
				*e = *R(0);
				top--;
				fuel -= 5;
				TNEXT(3);
			}
			tcase(M0_T_GETVV)
			tcase(M0_T_KNOWNVV)
			{
				/* var var G, var var K: two names that give
				 * values (pushed), then the operator on them;
				 * else the first name alone. One that gives no
				 * value makes this a single-name instruction. */
				const struct m0_name *n = ip->u.name,
				                     *n2 = ip[1].u.name;
				if (n->cache_epoch != epoch)
					goto t_call;
				if (!pushable(n->cache_slot)) {
					*pc = M0_T_CALL;
					goto t_call;
				}
				if (fuel < 3 || lim - top < 2 ||
				    n2->cache_epoch != epoch ||
				    !pushable(n2->cache_slot))
					goto t_call;
				const struct m0_value *t = n->cache_slot,
				                      *k = n2->cache_slot;
				if (*pc == M0_T_GETVV) {
					struct m0_value r;
					if (!is_op(epoch, ip + 2, M0_OP_GET) ||
					    !get_fast(t, k, &r))
						goto t_call;
					*top++ = r;
				} else {
					if (!is_op(epoch, ip + 2, M0_OP_KNOWN) ||
					    t->type != M0_TDICT ||
					    !(t->u.o->attr & M0_AR))
						goto t_call;
					bool known = m0__dict_find_fast(
					    M0_DICT(t), k) != NULL;
					*top++ = m0__int(known);
				}
				TNEXT(3);
			}
			tcase(M0_T_SLOW)
			tdefault
				goto t_slow;
			}

		/* clang-format on */
		t_slow:
			op = UINT32_MAX;
		t_oper : {
			/* One element through the general path, exactly as
			 * the loop above runs it: exec_token, or the operator
			 * a name resolved to (op) as exec_token would call it. */
			v = ip++;
			pc++;
			fuel--;
			last = ip == end;
			if (last)
				s->esp--; /* tail call: no frame kept */
			SAVEPC();
			SAVE();
			err = op == UINT32_MAX ? m0__exec_token(s, v)
			                       : m0__call_op(s, op);
			if (err == M0__ENOMEM) {
				err = m0__retry_token(s, v);
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
		t_branch : {
			/* Calls bv; the caller's frame goes on a tail call. */
			if (ip == end)
				s->esp--;
			else
				s->es[esp0 - 1].i = ip - el;
		}
		t_push_frame : {
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
#undef ES_MAX
#undef TROOMAT
#undef SAVE
#undef LOAD
#undef SAVEPC
#undef R
#undef RINTS2
#undef SP
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
				if (s->esp == 1) /* the code field */
					s->codepos = pos;
				err = m0__scan(
				    s, M0_BYTES(&f->a), f->a.len, &pos, &tok);
				if (err == M0__ENOMEM) {
					m0__gc_local(s);
					f = &s->es[s->esp - 1];
					err = m0__scan(s, M0_BYTES(&f->a),
					    f->a.len, &pos, &tok);
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
				err = m0__exec_token(s, &tok);
				if (err == M0__ENOMEM)
					err = m0__retry_token(s, &tok);
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
				err = m0__step_loop(s, f);
				break;
			}
			if (err == M0_OK)
				continue;
		}
		err = m0__settle(s, err);
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
