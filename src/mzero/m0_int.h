/*
 * m0_int.h: the interpreter's internal types, shared by src/mzero only.
 */
#ifndef M0_INT_H
#define M0_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "m0.h"

/* Value types, in the order of `_tna` (spec A2). */
enum m0_type {
	M0_TEMPTY,
	M0_TNULL,
	M0_TINT,
	M0_TTIME,
	M0_TNAME,
	M0_TKEY,
	M0_TARRAY,
	M0_TSTRING,
	M0_TDICT,
	M0_TOPER,
	M0_TMARK,
	M0_TQUEUE,
	M0_TCHANNEL,
	M0_NTYPE
};

/* Attribute bits of a composite object (spec A2). */
#define M0_AR 1
#define M0_AW 2
#define M0_AX 4
#define M0_ARWX 7

/* Internal status codes, beyond the MØ errors. */
#define M0__ENOMEM 100 /* quota hit: collect and retry once */
#define M0__BLOCK 101  /* the operator blocked the process */
#define M0__END 102    /* the process ended */

struct m0_name {
	struct m0_name *chain;
	/* Lookup cache: valid while the global epoch is unchanged. */
	uint64_t cache_epoch;
	struct m0_value *cache_slot;
	struct m0_dict *cache_dict; /* the dict holding cache_slot */
	uint32_t hash;
	uint32_t len;
	int16_t op; /* operator of this name in _sys, or -1 */
	/* The operator in cache_slot when the lookup was made, or -1. An
	 * operator in a dict is never stored over, nor one stored over
	 * another value, without a new epoch: for this epoch it is still
	 * there. */
	int16_t cache_op;
	bool ident; /* spelled as one identifier token */
	char s[];
};

struct m0_obj {
	struct m0_obj *next; /* all objects of one heap */
	struct m0_obj *fwd;  /* copy target while deep-copying */
	uint8_t type;
	uint8_t attr;
	uint8_t global;
	uint8_t mark;
	uint32_t n; /* elements (array, string), live entries (dict) */
};

/*
 * A value: simple ones by value, composites by reference. Arrays and
 * strings are views (off, len) of their object, so `[off len] G` shares.
 */
/* 16 bytes: offsets and lengths fit in 24 bits because no array or
 * string may have more than M0_MAX_LEN elements. */
#define M0_MAX_LEN ((1u << 24) - 1)

struct m0_value {
	uint64_t type : 8;
	uint64_t x : 8; /* executable flag (names, arrays) */
	uint64_t off : 24;
	uint64_t len : 24;
	union {
		int64_t i;
		uint64_t k;
		struct m0_name *name;
		struct m0_obj *o;
		uint32_t op;
	} u;
};

_Static_assert(sizeof(struct m0_value) == 16, "values are 16 bytes");

struct m0_array {
	struct m0_obj h;
	uint8_t *code; /* threaded form (m0_code.c), made on first run */
	struct m0_value v[];
};

struct m0_string {
	struct m0_obj h;
	uint8_t b[];
};

struct m0_dent {
	struct m0_value k;
	struct m0_value v;
	uint32_t hash;
};

/*
 * Insertion-ordered hash: ent[] in order, idx[] maps hash -> ent + 1.
 * A dict whose keys are mostly the ints 0..dlen-1 also has a direct
 * index after idx[] (M0_DIR): dir[k] = ent + 1 of int key k, or 0, so
 * such keys are found without hashing (Lua's array part, but only an
 * index: the entries, their order and idx[] are as without it).
 */
struct m0_dict {
	struct m0_obj h;
	uint32_t used; /* ent slots used, tombstones included */
	uint32_t cap;  /* ent capacity */
	uint32_t mask; /* idx size - 1 */
	uint32_t dlen; /* direct index size (0: none) */
	struct m0_dent *ent;
	uint32_t *idx;
};
#define M0_DIR(d) ((d)->idx + (d)->mask + 1)

#define M0_ARR(x) ((struct m0_array *)(x)->u.o)
#define M0_STR(x) ((struct m0_string *)(x)->u.o)
#define M0_DICT(x) ((struct m0_dict *)(x)->u.o)
#define M0_ELEMS(x) (M0_ARR(x)->v + (x)->off)
#define M0_BYTES(x) (M0_STR(x)->b + (x)->off)

static inline bool
m0__composite(const struct m0_value *v)
{
	return v->type == M0_TARRAY || v->type == M0_TSTRING ||
	    v->type == M0_TDICT;
}

struct m0_heap {
	struct m0_obj *objs;
	uint64_t bytes;
	uint64_t quota;
	uint64_t threshold; /* collect when bytes pass it */
	bool global;
};

/* Exec stack frame kinds. */
enum m0_fkind {
	M0_FPROC,  /* executing an array: a, index i */
	M0_FSTR,   /* executing a string: a, byte offset i */
	M0_FLOOPN, /* int loop: counter i to n, body b */
	M0_FLOOPF, /* forever loop: body b */
	M0_FLOOPA, /* array loop: a, i, body b */
	M0_FLOOPS, /* string loop: a, i, body b */
	M0_FLOOPD, /* dict loop: a = [dict k0 k1 ...], i, body b */
	M0_FSTOP,  /* H: pushes 0 when reached, target of Z */
	M0_FERRH,  /* running _err: errors inside it are fatal */
	M0_FBASE,  /* REPL line base: the REPL handler unwinds to it */
};

struct m0_frame {
	uint8_t kind;
	int64_t i;
	int64_t n;
	struct m0_value a;
	struct m0_value b;
};

typedef int (*m0_opfn)(struct m0_state *s);

struct m0_opdef {
	const char *name;
	m0_opfn fn;
	bool hidden; /* not entered into _sys */
};

#include "m0_ops.h"

enum m0_opid {
#define M0__OPENUM(id, name, fn, hidden) M0_OP_##id,
	M0_OPS(M0__OPENUM)
#undef M0__OPENUM
	    M0_NOPS
};

extern const struct m0_opdef m0__ops[M0_NOPS];

struct m0_global {
	struct m0_limits lim;
	const struct m0_host *host;
	uint64_t hid, pid;
	struct m0_name **names;
	uint32_t names_mask;
	uint32_t names_count;
	uint64_t names_bytes;
	struct m0_heap heap;
	bool gc_due;
	struct m0_value sys;      /* _sys */
	struct m0_value gdict;    /* _ */
	struct m0_value leases;   /* key of _ -> expiry in µs (hidden) */
	struct m0_value longdict; /* longdict */
	struct m0_value adr;      /* _adr */
	struct m0_value cha;      /* _cha */
	struct m0_name *opname[M0_NOPS];
	struct m0_name *errname[M0_MAX_ERRORS];
	uint32_t nerr; /* errors in _ena, appended ones included, plus 1 */
	struct m0_ext {
		struct m0_name *name;
		m0_ext_fn fn;
		void *ud;
	} ext[M0_MAX_EXT_OPS];
	uint32_t next;
	struct m0_name *n_err;     /* "_err" */
	struct m0_state *states;   /* all live states, for global GC */
	struct m0_state *last_run; /* the state m0_state_run ran last */
	uint32_t work_cap;
	struct m0_obj **work;
	uint32_t nwork;
	/* Bumped by anything that can change what a name resolves to: a key
	 * added or removed, a dict stack change, an attribute change, a
	 * collection, a switch of process. */
	uint64_t epoch;
};

struct m0_state {
	struct m0_global *g;
	struct m0_state *gnext, *gprev;
	void *ud;
	struct m0_value *os; /* operand stack */
	uint32_t sp, os_cap;
	struct m0_value *ds; /* dict stack */
	uint32_t dsp, ds_cap;
	struct m0_frame *es; /* exec stack */
	uint32_t esp, es_cap;
	int64_t fuel;
	int64_t fuel_saved; /* fuel while a GC request borrows it */
	bool gc_req;
	uint8_t end; /* enum m0_end */
	bool blocked;
	struct m0_heap heap;
	uint64_t steps;
	/* The local dict; before the first run, the process's _mgr string:
	 * a waiting messenger holds only its bytes, and its local dict,
	 * code and data strings are made when it first runs
	 * (m0__state_unfold), with ori0 its _ori until then. */
	struct m0_value locd;
	struct m0_value ori0;
	struct m0_value errobj; /* last error object */
	int lasterr;
	int errset;          /* the operator set errobj itself */
	int64_t errpos;      /* last error's token in the code, or -1 */
	int64_t codepos;     /* where the last code-field token began */
	struct m0_value cur; /* the operator being executed */
	char *errtext;
	/* The first stacks live in the same allocation as the state, so a
	 * new process costs one malloc until a stack grows past them. */
	struct m0_value *os_inline, *ds_inline;
	struct m0_frame *es_inline;
};

int m0__stop(struct m0_state *s);
int m0__state_unfold(struct m0_state *s);
int m0__state_set_ori(struct m0_state *s, const char *family, int64_t ifindex,
    const struct m0_value *addr);
int m0__ext_call(struct m0_state *s, uint32_t op);
const char *m0__op_name(const struct m0_global *g, uint32_t op);
const char *m0__type_name(int t);

/* ---- heap (m0_heap.c) ---- */
void *m0__alloc_obj(struct m0_state *s, bool global, uint8_t type, size_t size);
void *m0__raw_alloc(struct m0_state *s, bool global, size_t size);
void m0__raw_free(
    struct m0_global *g, struct m0_state *s, bool global, void *p, size_t size);
int m0__new_array(
    struct m0_state *s, bool global, uint32_t n, struct m0_value *out);
/* A string whose n bytes the caller writes, every one, before the next
 * allocation: what a wire encoding fills (no zeroing of megabytes first). */
int m0__new_string_raw(
    struct m0_state *s, bool global, uint32_t n, struct m0_value *out);
int m0__new_string(struct m0_state *s, bool global, const void *b, uint32_t n,
    struct m0_value *out);
int m0__new_dict(
    struct m0_state *s, bool global, uint32_t hint, struct m0_value *out);
void m0__heap_free_all(struct m0_global *g, struct m0_heap *h);
void m0__gc_local(struct m0_state *s);
int m0__to_global(
    struct m0_state *s, const struct m0_value *v, struct m0_value *out);
int m0__copy_into(
    struct m0_state *dst, const struct m0_value *v, struct m0_value *out);
int m0__copy_shallow(
    struct m0_state *s, const struct m0_value *v, struct m0_value *out);

/* ---- names and values (m0_value.c) ---- */
struct m0_name *m0__intern(struct m0_global *g, const char *s, size_t len);

static inline uint32_t
m0__mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

/* Simple values hash by value, composites by identity (and view).
 * Inline: every dict access hashes its key. */
static inline uint32_t
m0__hash(const struct m0_value *v)
{
	switch (v->type) {
	case M0_TNAME:
		return v->u.name->hash;
	case M0_TINT:
	case M0_TTIME:
	case M0_TKEY:
		return m0__mix64(v->u.k + v->type);
	case M0_TOPER:
		return m0__mix64(v->u.op + 977u);
	case M0_TARRAY:
	case M0_TSTRING:
	case M0_TDICT:
		return m0__mix64(
		    (uintptr_t)v->u.o ^ ((uint64_t)v->off << 40) ^ v->len);
	default:
		return v->type * 2654435761u;
	}
}

static inline bool
m0__equal(const struct m0_value *a, const struct m0_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case M0_TNULL:
	case M0_TMARK:
	case M0_TEMPTY:
		return true;
	case M0_TINT:
	case M0_TTIME:
	case M0_TKEY:
		return a->u.k == b->u.k;
	case M0_TNAME:
		return a->u.name == b->u.name;
	case M0_TOPER:
		return a->u.op == b->u.op;
	default:
		return a->u.o == b->u.o && a->off == b->off && a->len == b->len;
	}
}
bool m0__name_is_ident(const char *s, size_t len);

static inline struct m0_value
m0__int(int64_t i)
{
	struct m0_value v = {.type = M0_TINT};
	v.u.i = i;
	return v;
}

static inline struct m0_value
m0__null(void)
{
	struct m0_value v = {.type = M0_TNULL};
	return v;
}

static inline struct m0_value
m0__namev(struct m0_name *n, bool exec)
{
	struct m0_value v = {.type = M0_TNAME, .x = exec};
	v.u.name = n;
	return v;
}

static inline struct m0_value
m0__oper(uint32_t op)
{
	struct m0_value v = {.type = M0_TOPER, .x = 1};
	v.u.op = op;
	return v;
}

static inline struct m0_value
m0__key(uint64_t k)
{
	struct m0_value v = {.type = M0_TKEY};
	v.u.k = k;
	return v;
}

/* ---- dictionaries (m0_dict.c) ---- */
struct m0_value *m0__dict_find(struct m0_dict *d, const struct m0_value *k);
size_t m0__dict_table_bytes(const struct m0_dict *d);

/* m0__dict_find for the keys the VM meets most, ints and names: inline,
 * compared by payload (names are interned). */
static inline struct m0_value *
m0__dict_find_fast(struct m0_dict *d, const struct m0_value *k)
{
	if (k->type != M0_TINT && k->type != M0_TNAME)
		return m0__dict_find(d, k);
	if (k->type == M0_TINT && k->u.k < d->dlen) {
		uint32_t e = M0_DIR(d)[k->u.k];
		return e ? &d->ent[e - 1].v : NULL;
	}
	if (d->cap == 0)
		return NULL;
	uint32_t h =
	    k->type == M0_TINT ? m0__mix64(k->u.k + M0_TINT) : k->u.name->hash;
	for (uint32_t i = h & d->mask;; i = (i + 1) & d->mask) {
		uint32_t e = d->idx[i];
		if (!e)
			return NULL;
		struct m0_dent *de = &d->ent[e - 1];
		if (de->hash == h && de->k.type == k->type &&
		    de->k.u.k == k->u.k)
			return &de->v;
	}
}
int m0__dict_put(struct m0_state *s, struct m0_dict *d,
    const struct m0_value *k, const struct m0_value *v);
int m0__dict_del(
    struct m0_state *s, struct m0_dict *d, const struct m0_value *k);
int m0__dict_set_str(struct m0_state *s, struct m0_dict *d, const char *k,
    const struct m0_value *v);

/* ---- scanner (m0_scan.c) ---- */
int m0__scan(struct m0_state *s, const uint8_t *p, uint32_t len, uint32_t *pos,
    struct m0_value *out);

/* ---- external and display forms (m0_cte.c) ---- */
struct m0_buf {
	char *p;
	size_t n, cap;
	bool oom;
};
void m0__buf_put(struct m0_buf *b, const void *p, size_t n);
int m0__cte(struct m0_state *s, const struct m0_value *v, struct m0_buf *b);
void m0__display(
    struct m0_state *s, const struct m0_value *v, struct m0_buf *b);

/* ---- threaded form of procedures (m0_code.c) ---- */
/*
 * One byte per element of an array, plus an end byte: the VM opcode for
 * the instruction that starts at that element. Fused opcodes (the I and
 * 2 forms) cover two or three elements and read their operands from the
 * elements themselves, so the form holds no pointers and every index is
 * still a valid place to resume.
 *
 * The lists below are the one place that names the instructions: the
 * enum, the operator-to-instruction map (m0_code.c) and the handlers
 * and jump table (m0_vm.c) are generated from them.
 *
 * M0_TARITH(X, y): X(y, op, result, guard): operators on two ints computed
 * inline from a and b when guard holds (else the operator's function
 * raises the error). Each has a single form (`a b op`), fused forms
 * M0_T_<op>I (`int op`, b the literal) and M0_T_<op>V (`var op`, b the
 * int value of the variable, an executable name).
 * M0_TSINGLE(X, y): X(y, op): other operators with an inline handler in
 * m0_vm.c, for the common case only.
 *
 * An instruction whose operator is met as an operator element needs no
 * guard: the form is recomputed when an element changes. Where it is met
 * as a name (unbound code) the instruction is the N form, which first
 * checks that the name resolves to that operator now. The V forms check
 * both of their names.
 */
#define M0_TARITH(X, y)                                                        \
	X(y, ADD, (int64_t)((uint64_t)a + (uint64_t)b), 1)                     \
	X(y, SUB, (int64_t)((uint64_t)a - (uint64_t)b), 1)                     \
	X(y, MUL, (int64_t)((uint64_t)a * (uint64_t)b), 1)                     \
	X(y, DIV, b == -1 ? (int64_t)(0 - (uint64_t)a) : a / b, b != 0)        \
	X(y, MOD, a % b < 0 ? a % b + b : a % b, b > 0)                        \
	X(y, LT, a < b, 1)                                                     \
	X(y, GT, a > b, 1)                                                     \
	X(y, EQ, a == b, 1)
#define M0_TSINGLE(X, y)                                                       \
	X(y, POP)                                                              \
	X(y, EXCH)                                                             \
	X(y, INDEX)                                                            \
	X(y, ROLL)                                                             \
	X(y, IFELSE)                                                           \
	X(y, GET)                                                              \
	X(y, PUT)                                                              \
	X(y, KNOWN)                                                            \
	X(y, CURDICT)
/* Every instruction, as X(code). */
#define M0__TARITH_CODES(X, op, r, ok)                                         \
	X(op) X(op##N) X(op##I) X(op##IN) X(op##V)
#define M0__TSINGLE_CODES(X, op) X(op) X(op##N)
#define M0_TCODES(X)                                                           \
	X(SLOW)   /* anything done through exec_token (0: the default) */      \
	X(PUSH)   /* a literal */                                              \
	X(CALL)   /* an executable name: resolved, then run as its value */    \
	X(RET)    /* past the last element */                                  \
	X(VAR)    /* a name that resolved to a value: pushed */                \
	X(PROC)   /* a name that resolved to a procedure: called */            \
	X(DFCALL) /* a name that resolved to { . 3 1 R : } */                  \
	M0_TARITH(M0__TARITH_CODES, X)                                         \
	M0_TSINGLE(M0__TSINGLE_CODES, X)                                       \
	X(INDEXK)   /* int I, int >= 0 */                                      \
	X(INDEXKN)  /* the same, I a name */                                   \
	X(IFELSE2)  /* array array ? */                                        \
	X(IFELSE2N) /* the same, ? a name */                                   \
	X(DEF)      /* . 3 1 R : (the body of the 'x v df idiom) */            \
	X(SETX)     /* 'x X df: the top stored in a variable */                \
	X(GETVV)    /* var var G (d k G, a i G) */                             \
	X(KNOWNVV)  /* var var K */

enum m0_tcode {
#define M0__TENUM(c) M0_T_##c,
	M0_TCODES(M0__TENUM)
#undef M0__TENUM
	    M0_T_N
};
_Static_assert(M0_T_N <= 256, "instructions fit in a byte");
/* The single-element instruction of each operator (M0_T_SLOW if none):
 * as an operator element, as a name that resolves to it (the N form,
 * M0_T_CALL if none); for M0_TARITH operators, the fused `int op` forms
 * (operator element, name; else 0). */
extern const uint8_t m0__op_tcode[M0_NOPS];
extern const uint8_t m0__op_tcode_n[M0_NOPS];
extern const uint8_t m0__op_tcode_i[M0_NOPS];
extern const uint8_t m0__op_tcode_in[M0_NOPS];
extern const uint8_t m0__op_tcode_v[M0_NOPS];
/* Whether an instruction covers just the executable name it starts at
 * (CALL and what CALL rewrites itself into: VAR, PROC, DFCALL, the N
 * forms of single operators). */
extern const bool m0__tcode_name1[M0_T_N];
uint8_t *m0__code_get(struct m0_state *s, struct m0_array *a);
void m0__code_touch(struct m0_array *a, uint32_t from, uint32_t to);

/* ---- stacks, frames, calls, errors (m0_do.c) ---- */
int m0__push_frame(struct m0_state *s, uint8_t kind, const struct m0_value *a,
    const struct m0_value *b, int64_t i, int64_t n);
int m0__exec(struct m0_state *s, const struct m0_value *v);
int m0__lookup(struct m0_state *s, struct m0_name *n, struct m0_value **out);
int m0__grow_os(struct m0_state *s, uint32_t need);
bool m0__grow_stack(void **arr, const void *inline_arr, uint32_t *cap,
    uint32_t used, uint32_t need, uint32_t max, size_t size);
int m0__exec_token(struct m0_state *s, const struct m0_value *v);
int m0__retry_token(struct m0_state *s, const struct m0_value *v);
int m0__step_loop(struct m0_state *s, struct m0_frame *f);
int m0__settle(struct m0_state *s, int err);

/* Calls operator op (built-in or extension) as the current object. */
static inline int
m0__call_op(struct m0_state *s, uint32_t op)
{
	s->cur = m0__oper(op);
	if (op < M0_NOPS)
		return m0__ops[op].fn(s);
	return m0__ext_call(s, op);
}

/* ---- system dictionary (m0_sys.c) ---- */
int m0__gset(
    struct m0_state *b, struct m0_value *d, const char *k, struct m0_value v);

/* ---- operand stack helpers for operators ---- */
#define M0_NEED(s, n)                                                          \
	do {                                                                   \
		if ((s)->sp < (n))                                             \
			return M0_ESTACK_UNDERFLOW;                            \
	} while (0)
#define M0_TOP(s, k) (&(s)->os[(s)->sp - 1 - (k)])

static inline int
m0__push(struct m0_state *s, const struct m0_value *v)
{
	if (s->sp >= s->os_cap) {
		int e = m0__grow_os(s, s->sp + 1);
		if (e)
			return e;
	}
	s->os[s->sp++] = *v;
	return M0_OK;
}

static inline int
m0__push_int(struct m0_state *s, int64_t i)
{
	struct m0_value v = m0__int(i);
	return m0__push(s, &v);
}

/* Sets the error object explicitly (else the operator is used). */
static inline int
m0__fail(struct m0_state *s, int err, const struct m0_value *obj)
{
	s->errobj = *obj;
	s->errset = 1;
	return err;
}

/* Quota errors become implementation_limit where no retry follows (the
 * VM retries an operator after collecting; callers outside it cannot). */
static inline int
m0__nomem(int err)
{
	return err == M0__ENOMEM ? M0_EIMPLEMENTATION_LIMIT : err;
}

/* A composite of type t that may be read: the check every reading
 * operator makes (type_check, then access_check). */
static inline int
m0__readable(const struct m0_value *v, uint8_t t)
{
	if (v->type != t)
		return M0_ETYPE_CHECK;
	return v->u.o->attr & M0_AR ? M0_OK : M0_EACCESS_CHECK;
}

static inline uint8_t
m0__attr(const struct m0_value *v)
{
	return m0__composite(v) ? v->u.o->attr : M0_ARWX;
}

#endif
