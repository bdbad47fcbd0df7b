/*
 * m0_code.c: the threaded form of procedures, one opcode byte per element.
 *
 * The VM spends most of its time deciding what each element of a
 * procedure is (literal, operator, name) and dispatching on it. This
 * form decides once, when the array first runs as a procedure, and
 * fuses the common pairs and triples of MØ code (`0 I`, `1 -`, `2 <`,
 * `{..} {..} ?`, `. 3 1 R :`) into one instruction each. Operators met as names (as
 * in unbound code) get the same instructions, guarded by what the name
 * resolves to when the instruction runs. The fused instruction still
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

#define FUSE_MAX 5 /* elements one instruction may cover */

#define ARITH_MAP(y, op, r, ok) [M0_OP_##op] = M0_T_##op##y,
#define SINGLE_MAP(y, op) [M0_OP_##op] = M0_T_##op##y,
const uint8_t m0__op_tcode[M0_NOPS] = {
    M0_TARITH(ARITH_MAP, ) M0_TSINGLE(SINGLE_MAP, )};
const uint8_t m0__op_tcode_n[M0_NOPS] = {
    M0_TARITH(ARITH_MAP, N) M0_TSINGLE(SINGLE_MAP, N)};
const uint8_t m0__op_tcode_i[M0_NOPS] = {M0_TARITH(ARITH_MAP, I)};
const uint8_t m0__op_tcode_in[M0_NOPS] = {M0_TARITH(ARITH_MAP, IN)};
const uint8_t m0__op_tcode_v[M0_NOPS] = {M0_TARITH(ARITH_MAP, V)};
#undef ARITH_MAP
#undef SINGLE_MAP

#define ARITH_NAME1(y, op, r, ok) [M0_T_##op##N] = true,
#define SINGLE_NAME1(y, op) [M0_T_##op##N] = true,
const bool m0__tcode_name1[M0_T_N] = {[M0_T_CALL] = true,
    [M0_T_VAR] = true,
    [M0_T_PROC] = true,
    [M0_T_DFCALL] = true,
    M0_TARITH(ARITH_NAME1, ) M0_TSINGLE(SINGLE_NAME1, )};
#undef ARITH_NAME1
#undef SINGLE_NAME1

/* The operator e stands for if it is one or names one in _sys (-1 if
 * neither): code is made for what names resolve to when it is made;
 * the VM checks the guess each time it runs the instruction. */
static int
op_of(const struct m0_value *e)
{
	if (e->type == M0_TOPER)
		return e->u.op < M0_NOPS ? (int)e->u.op : -1;
	if (e->type == M0_TNAME && e->x)
		return e->u.name->op;
	return -1;
}

/* Of two forms of an instruction, the guarded one when its operator
 * element e is a name. */
static uint8_t
guarded(const struct m0_value *e, uint8_t op_form, uint8_t name_form)
{
	return e->type == M0_TNAME ? name_form : op_form;
}

/* Whether e is an executable name that no operator has: most often a
 * variable or a procedure (df among them). */
static bool
user_name(const struct m0_value *e)
{
	return e->type == M0_TNAME && e->x && e->u.name->op < 0;
}

/* The instruction that starts at element i of v[0..n). */
static uint8_t
code_at(const struct m0_value *v, uint32_t i, uint32_t n)
{
	const struct m0_value *e = &v[i];
	int op1 = i + 1 < n ? op_of(&v[i + 1]) : -1;
	if (i + 4 < n && op_of(e) == M0_OP_CURDICT &&
	    v[i + 1].type == M0_TINT && v[i + 1].u.i == 3 &&
	    v[i + 2].type == M0_TINT && v[i + 2].u.i == 1 &&
	    op_of(&v[i + 3]) == M0_OP_ROLL && op_of(&v[i + 4]) == M0_OP_PUT)
		return M0_T_DEF;
	switch (e->type) {
	case M0_TOPER:
		return e->u.op < M0_NOPS ? m0__op_tcode[e->u.op] : M0_T_SLOW;
	case M0_TNAME: {
		if (!e->x)
			return i + 2 < n && op1 == M0_OP_EXCH &&
			        user_name(&v[i + 2])
			    ? M0_T_SETX
			    : M0_T_PUSH;
		int op = e->u.name->op;
		if (op >= 0)
			return m0__op_tcode_n[op] ? m0__op_tcode_n[op]
			                          : M0_T_CALL;
		/* A name that is no operator's is most often a variable:
		 * `var op` and `var var G`/`K` are one instruction, else
		 * CALL finds out. */
		if (op1 >= 0 && m0__op_tcode_v[op1])
			return m0__op_tcode_v[op1];
		if (i + 2 < n && user_name(&v[i + 1])) {
			int op2 = op_of(&v[i + 2]);
			if (op2 == M0_OP_GET)
				return M0_T_GETVV;
			if (op2 == M0_OP_KNOWN)
				return M0_T_KNOWNVV;
		}
		return M0_T_CALL;
	}
	case M0_TINT:
		if (op1 >= 0 && m0__op_tcode_i[op1])
			return guarded(&v[i + 1], m0__op_tcode_i[op1],
			    m0__op_tcode_in[op1]);
		if (op1 == M0_OP_INDEX && e->u.i >= 0)
			return guarded(&v[i + 1], M0_T_INDEXK, M0_T_INDEXKN);
		return M0_T_PUSH;
	case M0_TARRAY:
		if (i + 2 < n && v[i + 1].type == M0_TARRAY &&
		    op_of(&v[i + 2]) == M0_OP_IFELSE)
			return guarded(&v[i + 2], M0_T_IFELSE2, M0_T_IFELSE2N);
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
uint8_t *
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
