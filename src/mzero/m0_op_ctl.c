/*
 * m0_op_ctl.c: control operators (A3). They push exec frames and return;
 * the loop in m0_vm.c does the rest, so nothing here recurses.
 */
#include <stdlib.h>

#include "m0_int.h"

int
m0__op_exec(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value v = *M0_TOP(s, 0), *val;
	if ((v.type == M0_TARRAY || v.type == M0_TSTRING) &&
	    !(v.u.o->attr & M0_AX))
		return m0__fail(s, M0_EACCESS_CHECK, &v);
	if (v.type == M0_TNAME && m0__lookup(s, v.u.name, &val))
		return m0__fail(s, M0_EUNDEFINED, &v); /* operand stays */
	s->sp--;
	int err = m0__exec(s, &v);
	/* Nothing ran when there was no room for its frame: the operand
	 * stays for the handler. Errors of an operator run by ! leave that
	 * operator's operands instead. */
	if (err == M0_EEXEC_STACK_OVERFLOW)
		s->os[s->sp++] = v;
	return err;
}

int
m0__op_ifelse(struct m0_state *s)
{
	M0_NEED(s, 3);
	struct m0_value *c = M0_TOP(s, 2);
	if (c->type != M0_TINT)
		return M0_ETYPE_CHECK;
	struct m0_value v = c->u.i ? *M0_TOP(s, 1) : *M0_TOP(s, 0);
	if ((v.type == M0_TARRAY || v.type == M0_TSTRING) &&
	    !(v.u.o->attr & M0_AX))
		return m0__fail(s, M0_EACCESS_CHECK, &v);
	s->sp -= 3;
	return m0__exec(s, &v);
}

static bool
runnable(const struct m0_value *v)
{
	if (v->type == M0_TARRAY || v->type == M0_TSTRING)
		return v->u.o->attr & M0_AX;
	return true;
}

int
m0__op_loop(struct m0_state *s)
{
	M0_NEED(s, 2);
	struct m0_value *what = M0_TOP(s, 1), body = *M0_TOP(s, 0);
	if (!runnable(&body))
		return m0__fail(s, M0_EACCESS_CHECK, &body);
	int err;
	switch (what->type) {
	case M0_TINT:
		err = m0__push_frame(s, what->u.i < 0 ? M0_FLOOPF : M0_FLOOPN,
		    NULL, &body, 0, what->u.i);
		break;
	case M0_TARRAY:
	case M0_TSTRING:
		if ((what->u.o->attr & (M0_AR | M0_AX)) != (M0_AR | M0_AX))
			return M0_EACCESS_CHECK;
		err = m0__push_frame(s,
		    what->type == M0_TARRAY ? M0_FLOOPA : M0_FLOOPS, what,
		    &body, 0, 0);
		break;
	case M0_TDICT: {
		struct m0_dict *d = M0_DICT(what);
		if ((d->h.attr & (M0_AR | M0_AX)) != (M0_AR | M0_AX))
			return M0_EACCESS_CHECK;
		/* Snapshot the keys: others may change the dict between
		 * steps (A5), and the loop must not see a torn table. */
		struct m0_value snap;
		err = m0__new_array(s, false, d->h.n + 1, &snap);
		if (err)
			return err;
		struct m0_value *sv = M0_ARR(&snap)->v;
		sv[0] = *what;
		uint32_t k = 1;
		for (uint32_t i = 0; i < d->used; i++)
			if (d->ent[i].k.type != M0_TEMPTY)
				sv[k++] = d->ent[i].k;
		err = m0__push_frame(s, M0_FLOOPD, &snap, &body, 1, 0);
		break;
	}
	default:
		return M0_ETYPE_CHECK;
	}
	if (!err)
		s->sp -= 2;
	return err;
}

int
m0__op_exit(struct m0_state *s)
{
	for (uint32_t i = s->esp; i-- > 0;) {
		uint8_t k = s->es[i].kind;
		if (k == M0_FSTOP)
			break;
		if (k >= M0_FLOOPN && k <= M0_FLOOPD) {
			s->esp = i;
			return M0_OK;
		}
	}
	return M0_ENO_MATCHING_LOOP;
}

int
m0__op_stopped(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value v = *M0_TOP(s, 0);
	if (!runnable(&v))
		return M0_EACCESS_CHECK;
	int err = m0__push_frame(s, M0_FSTOP, NULL, NULL, 0, 0);
	if (err)
		return err;
	s->sp--;
	err = m0__exec(s, &v);
	if (err && err != M0__BLOCK && err != M0__END) {
		/* Nothing ran: undo, so the operand stays for the handler. */
		s->esp--;
		s->os[s->sp++] = v;
	}
	return err;
}

int
m0__op_stop(struct m0_state *s)
{
	return m0__stop(s);
}

/*
 * B: replaces executable names that now resolve to operators by the
 * operators, in this procedure and the writable procedures inside it.
 * A worklist and the GC mark keep cycles and depth harmless.
 */
int
m0__op_bind(struct m0_state *s)
{
	M0_NEED(s, 1);
	struct m0_value *p = M0_TOP(s, 0);
	if (p->type != M0_TARRAY)
		return M0_ETYPE_CHECK;
	struct m0_obj **work = NULL;
	uint32_t n = 0, cap = 0, seen_n = 0;
	struct m0_obj **seen = NULL;
	int err = M0_OK;
#define PUSHW(arr, cnt, o)                                                     \
	do {                                                                   \
		if (cnt == cap) {                                              \
			cap = cap ? cap * 2 : 16;                              \
			void *nw = realloc(work, cap * sizeof(*work));         \
			void *ns = realloc(seen, cap * sizeof(*seen));         \
			if (nw)                                                \
				work = nw;                                     \
			if (ns)                                                \
				seen = ns;                                     \
			if (!nw || !ns) {                                      \
				err = M0__ENOMEM;                              \
				goto out;                                      \
			}                                                      \
		}                                                              \
		arr[cnt++] = o;                                                \
	} while (0)
	PUSHW(work, n, p->u.o);
	p->u.o->mark = 2;
	PUSHW(seen, seen_n, p->u.o);
	while (n) {
		struct m0_array *a = (struct m0_array *)work[--n];
		if (!(a->h.attr & M0_AW))
			continue;
		for (uint32_t i = 0; i < a->h.n; i++) {
			struct m0_value *e = &a->v[i];
			if (e->type == M0_TNAME && e->x) {
				struct m0_value *val;
				if (!m0__lookup(s, e->u.name, &val) &&
				    val->type == M0_TOPER) {
					*e = *val;
					m0__code_touch(a, i, i + 1);
				}
			} else if (e->type == M0_TARRAY && e->x &&
			    e->u.o->mark != 2 && !e->u.o->global) {
				e->u.o->mark = 2;
				PUSHW(seen, seen_n, e->u.o);
				PUSHW(work, n, e->u.o);
			}
		}
	}
out:
	for (uint32_t i = 0; i < seen_n; i++)
		seen[i]->mark = 0;
	free(work);
	free(seen);
	return m0__nomem(err);
#undef PUSHW
}
