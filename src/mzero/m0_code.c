/*
 * m0_code.c: the threaded form of procedures, one opcode byte per element.
 *
 * The VM spends most of its time deciding what each element of a
 * procedure is (literal, operator, name) and dispatching on it. This
 * form decides once, when the array first runs as a procedure, and
 * fuses the common pairs and triples of MØ code (`0 I`, `1 -`, `2 <`,
 * `{..} {..} ?`) into one instruction each. The fused instruction still
 * counts one step per element, and the VM falls back to the single
 * element whenever a fused one cannot run exactly as its parts would
 * (too little fuel, wrong types, stack full), so behaviour, errors and
 * the step count are those of element-by-element execution.
 *
 * Arrays are mutable: whoever writes elements of an array calls
 * m0__code_touch, which recomputes the bytes that can see the change.
 * The form has the array's fixed length, so this never allocates and
 * the VM may keep running on the same bytes.
 */
#include <stdlib.h>

#include "m0_int.h"

#define FUSE_MAX 3 /* elements one instruction may cover */

/* The instruction that starts at element i of v[0..n). */
static uint8_t
code_at(const struct m0_value *v, uint32_t i, uint32_t n)
{
	const struct m0_value *e = &v[i];
	const struct m0_value *e1 = i + 1 < n ? &v[i + 1] : NULL;
	switch (e->type) {
	case M0_TOPER:
		switch (e->u.op) {
		case M0_OP_ADD:
			return M0_T_ADD;
		case M0_OP_SUB:
			return M0_T_SUB;
		case M0_OP_LT:
			return M0_T_LT;
		case M0_OP_GT:
			return M0_T_GT;
		case M0_OP_EQ:
			return M0_T_EQ;
		case M0_OP_POP:
			return M0_T_POP;
		case M0_OP_EXCH:
			return M0_T_EXCH;
		case M0_OP_INDEX:
			return M0_T_INDEX;
		case M0_OP_IFELSE:
			return M0_T_IFELSE;
		default:
			return M0_T_SLOW;
		}
	case M0_TNAME:
		return e->x ? M0_T_CALL : M0_T_PUSH;
	case M0_TINT:
		if (!e1 || e1->type != M0_TOPER)
			return M0_T_PUSH;
		switch (e1->u.op) {
		case M0_OP_ADD:
			return M0_T_ADDI;
		case M0_OP_SUB:
			return M0_T_SUBI;
		case M0_OP_LT:
			return M0_T_LTI;
		case M0_OP_GT:
			return M0_T_GTI;
		case M0_OP_EQ:
			return M0_T_EQI;
		case M0_OP_INDEX:
			return e->u.i >= 0 ? M0_T_INDEXK : M0_T_PUSH;
		default:
			return M0_T_PUSH;
		}
	case M0_TARRAY:
		if (e1 && e1->type == M0_TARRAY && i + 2 < n &&
		    v[i + 2].type == M0_TOPER && v[i + 2].u.op == M0_OP_IFELSE)
			return M0_T_IFELSE2;
		return M0_T_PUSH;
	default:
		return M0_T_PUSH;
	}
}

/*
 * Returns the threaded form of a, making it on first use. It is charged
 * to a's heap like the array. Returns NULL when the quota has no room;
 * the VM then runs the elements one by one.
 */
const uint8_t *
m0__code_get(struct m0_state *s, struct m0_array *a)
{
	if (a->code)
		return a->code;
	uint32_t n = a->h.n;
	uint8_t *c = m0__raw_alloc(s, a->h.global, (size_t)n + 1);
	if (!c)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		c[i] = code_at(a->v, i, n);
	c[n] = M0_T_RET;
	a->code = c;
	return c;
}

/* Elements [from, to) of a changed: recompute every instruction that
 * covers one of them. */
void
m0__code_touch(struct m0_array *a, uint32_t from, uint32_t to)
{
	if (!a->code)
		return;
	uint32_t n = a->h.n;
	from = from >= FUSE_MAX - 1 ? from - (FUSE_MAX - 1) : 0;
	if (to > n)
		to = n;
	for (uint32_t i = from; i < to; i++)
		a->code[i] = code_at(a->v, i, n);
}
