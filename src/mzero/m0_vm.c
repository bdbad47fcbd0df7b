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
					err = m0__call_op(s, v->u.op);
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
						err = m0__exec_token(s, v);
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
						err = m0__retry_token(s, v);
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
			err = m0__exec_token(s, v);
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
				if (s->esp == 1) /* the code field */
					s->codepos = pos;
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
