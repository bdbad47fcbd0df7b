/*
 * m0_sys.c: the global state and the system dictionary `_sys` (A5), with
 * longdict, the error and type name arrays, and the channel tables.
 */
#include <stdio.h>
#include <stdlib.h>

#include "m0_int.h"

const struct m0_opdef m0__ops[M0_NOPS] = {
#define M0__OPDEF(id, name, fn, hidden) {name, fn, hidden},
    M0_OPS(M0__OPDEF)
#undef M0__OPDEF
};

void
m0_limits_default(struct m0_limits *l)
{
	l->operand_depth = 4096;
	l->dict_depth = 64;
	l->exec_depth = 4096;
	l->max_len = M0_MAX_LEN;
	l->heap_quota = 16u << 20;
	l->global_quota = 256u << 20;
	l->max_msg = 65000;
	l->name_bytes = 16u << 20;
}

/* Long aliases that are one operator each (A5). */
static const struct {
	const char *alias, *op;
} aliases[] = {{"add", "+"}, {"and", "&"}, {"array", "A"}, {"begin", "("},
    {"bind", "B"}, {"count", "O"}, {"currentdict", "."}, {"currentqueue", ","},
    {"dict", "D"}, {"div", "/"}, {"end", ")"}, {"enter", "E"}, {"eq", "="},
    {"exec", "!"}, {"exch", "X"}, {"exit", "J"}, {"find", "F"}, {"get", "G"},
    {"getattribute", "T"}, {"gt", ">"}, {"ifelse", "?"}, {"index", "I"},
    {"known", "K"}, {"length", "`"}, {"loop", "L"}, {"lt", "<"}, {"mark", "["},
    {"mod", "%"}, {"mul", "*"}, {"neg", "N"}, {"not", "~"}, {"or", "|"},
    {"pop", "P"}, {"put", ":"}, {"queuestate", "Q"}, {"randomkey", ";"},
    {"roll", "R"}, {"setattribute", "W"}, {"stop", "Z"}, {"stopped", "H"},
    {"string", "S"}, {"sub", "-"}, {"submit", "$"}, {"type", "Y"},
    {"undefine", "U"}, {"utc", "@"}, {"xor", "^"}, {"halt", "Z"},
    {"halted", "H"}, {"toarray", "_cta"}, {"toextern", "_cte"},
    {"toexec", "_ctx"}, {"toint", "_cti"}, {"tokey", "_ctk"},
    {"toliteral", "_ctl"}, {"tomsgr", "_ctm"}, {"toname", "_ctn"},
    {"tostring", "_cts"}, {"totime", "_ctt"}};

/* Procedures of longdict, written in MØ and bound at start. */
static const struct {
	const char *name, *code;
} procs[] = {{"true", "{1}"}, {"false", "{0}"}, {"code", "{_cod}"},
    {"data", "{_dat}"}, {"msgr", "{_mgr}"}, {"origin", "{_ori}"},
    {"localdict", "{_loc}"}, {"hostid", "{_hid}"}, {"platformid", "{_pid}"},
    {"abs", "{0 I 0<{N}{}?}"}, {"clear", "{1 O{P P}L}"}, {"def", "{. 3 1 R:}"},
    {"dup", "{0 I}"}, {"dictstack", "{2 _stk}"}, {"execstack", "{3 _stk}"},
    {"operstack", "{1 _stk}"}, {"ge", "{< 0=}"}, {"le", "{> 0=}"},
    {"ne", "{= 0=}"}, {"if", "{{}?}"}, {"land", "{0= X 0= | 0=}"},
    {"lor", "{0= X 0= & 0=}"}, {"lxor", "{0= X 0= ^}"}, {"lnot", "{0=}"},
    {"makechannel", "{3 2 R _cha X G'_key G !}"},
    {"repeat", "{X 0 I 0 < {X L} {X {P} X + L} ?}"},
    {"sleep", "{; 0 I 1 Q X 1 I X E P 0 Q}"},
    /* a b c d, or [a b c d] as in 0.11 */
    {"inet_to_int",
        "{0 I Y 'array = {{} L} {} ? X 256* + X 65536* + X 16777216* +}"}};

/* Stores v under k in a system dict (no copy, no attribute check). */
int
m0__gset(
    struct m0_state *b, struct m0_value *d, const char *k, struct m0_value v)
{
	return m0__nomem(m0__dict_set_str(b, M0_DICT(d), k, &v));
}

static int
name_array(struct m0_state *b, const char *const *names, uint32_t n,
    struct m0_value *out)
{
	int err = m0__nomem(m0__new_array(b, true, n, out));
	for (uint32_t i = 0; !err && i < n; i++) {
		struct m0_name *nm =
		    m0__intern(b->g, names[i], strlen(names[i]));
		if (!nm)
			return M0_EIMPLEMENTATION_LIMIT;
		M0_ARR(out)->v[i] = m0__namev(nm, true);
	}
	if (!err)
		out->u.o->attr = M0_AR | M0_AX;
	return err;
}

/* Compiles "{...}" in the boot state, binds it, copies it to global. */
static int
compile(struct m0_state *b, const char *code, struct m0_value *out)
{
	struct m0_value p;
	uint32_t pos = 0;
	int err = m0__scan(
	    b, (const uint8_t *)code, (uint32_t)strlen(code), &pos, &p);
	if (err)
		return m0__nomem(err);
	b->os[b->sp++] = p;
	err = m0__op_bind(b);
	b->sp--;
	if (!err)
		err = m0__nomem(m0__to_global(b, &p, out));
	if (!err)
		out->u.o->attr = M0_AR | M0_AX;
	return err;
}

static int
build(struct m0_global *g, struct m0_state *b)
{
	static const char *const ena[M0_NERR - 1] = {
#define M0__EN(id, name) name,
	    M0_ERRMAP(M0__EN)
#undef M0__EN
	};
	static const char *const tna[M0_NTYPE] = {"empty", "null", "int",
	    "time", "name", "key", "array", "string", "dict", "oper", "mark",
	    "queue", "channel"};
	static const struct {
		const char *n;
		int v;
	} attrs[] = {{"_nac", 0}, {"_r", 1}, {"_w", 2}, {"_x", 4}, {"_rw", 3},
	    {"_rx", 5}, {"_wx", 6}, {"_rwx", 7}};
	struct m0_value v;
	int err;
	if ((err = m0__nomem(m0__new_dict(b, true, 128, &g->sys))) ||
	    (err = m0__nomem(m0__new_dict(b, true, 16, &g->gdict))) ||
	    (err = m0__nomem(m0__new_dict(b, true, 16, &g->leases))) ||
	    (err = m0__nomem(m0__new_dict(b, true, 128, &g->longdict))) ||
	    (err = m0__nomem(m0__new_dict(b, true, 4, &g->adr))) ||
	    (err = m0__nomem(m0__new_dict(b, true, 4, &g->cha))))
		return err;
	b->ds[0] = g->sys;
	for (uint32_t i = 0; i < M0_NOPS; i++) {
		struct m0_name *n =
		    m0__intern(g, m0__ops[i].name, strlen(m0__ops[i].name));
		if (!n)
			return M0_EIMPLEMENTATION_LIMIT;
		g->opname[i] = n;
		if (m0__ops[i].hidden)
			continue;
		n->op = (int16_t)i;
		if ((err = m0__gset(b, &g->sys, m0__ops[i].name, m0__oper(i))))
			return err;
	}
	for (int i = 1; i < M0_NERR; i++)
		if (!(g->errname[i] =
		            m0__intern(g, ena[i - 1], strlen(ena[i - 1]))))
			return M0_EIMPLEMENTATION_LIMIT;
	g->nerr = M0_NERR;
	if (!(g->n_err = m0__intern(g, "_err", 4)))
		return M0_EIMPLEMENTATION_LIMIT;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if ((err = m0__gset(
		         b, &g->sys, attrs[i].n, m0__int(attrs[i].v))))
			return err;
	if ((err = name_array(b, ena, M0_NERR - 1, &v)) ||
	    (err = m0__gset(b, &g->sys, "_ena", v)) ||
	    (err = name_array(b, tna, M0_NTYPE, &v)) ||
	    (err = m0__gset(b, &g->sys, "_tna", v)))
		return err;
	const char *cpy = "mzero: an MØ messenger platform (after Tschudin et "
	                  "al., Geneva 1994)";
	if ((err = m0__nomem(m0__new_string(b, true, cpy, strlen(cpy), &v))))
		return err;
	v.u.o->attr = M0_AR;
	g->gdict.u.o->attr = M0_AR | M0_AW;
	g->adr.u.o->attr = M0_AR | M0_AX;
	g->cha.u.o->attr = M0_AR | M0_AX;
	if ((err = m0__gset(b, &g->sys, "_cpy", v)) ||
	    (err = m0__gset(b, &g->sys, "_", g->gdict)) ||
	    (err = m0__gset(b, &g->sys, "_adr", g->adr)) ||
	    (err = m0__gset(b, &g->sys, "_cha", g->cha)) ||
	    (err = m0__gset(b, &g->sys, "_ver", m0__int(1))) ||
	    (err = m0__gset(b, &g->sys, "_err", m0__oper(M0_OP_STOP))) ||
	    (err = m0__gset(b, &g->sys, "null", m0__null())) ||
	    (err = m0__gset(b, &g->sys, "_hid", m0__key(g->hid))) ||
	    (err = m0__gset(b, &g->sys, "_pid", m0__key(g->pid))) ||
	    (err = m0__gset(b, &g->sys, "longdict", g->longdict)) ||
	    (err = m0__gset(b, &g->sys, "_sys", g->sys)))
		return err;
	/* longdict: aliases, values, procedures. */
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		struct m0_name *n =
		    m0__intern(g, aliases[i].op, strlen(aliases[i].op));
		if (!n || n->op < 0)
			return M0_EIMPLEMENTATION_LIMIT;
		if ((err = m0__nomem(m0__new_array(b, true, 1, &v))))
			return err;
		M0_ARR(&v)->v[0] = m0__oper((uint32_t)n->op);
		v.x = 1;
		v.u.o->attr = M0_AR | M0_AX;
		if ((err = m0__gset(b, &g->longdict, aliases[i].alias, v)))
			return err;
	}
	struct m0_value *ena_v = m0__dict_find(M0_DICT(&g->sys),
	    &(struct m0_value){
	        .type = M0_TNAME, .u.name = m0__intern(g, "_ena", 4)});
	struct m0_value *tna_v = m0__dict_find(M0_DICT(&g->sys),
	    &(struct m0_value){
	        .type = M0_TNAME, .u.name = m0__intern(g, "_tna", 4)});
	if ((err = m0__gset(b, &g->longdict, "addrdict", g->adr)) ||
	    (err = m0__gset(b, &g->longdict, "channeldict", g->cha)) ||
	    (err = m0__gset(b, &g->longdict, "errors", *ena_v)) ||
	    (err = m0__gset(b, &g->longdict, "globaldict", g->gdict)) ||
	    (err = m0__gset(b, &g->longdict, "systemdict", g->sys)) ||
	    (err = m0__gset(b, &g->longdict, "types", *tna_v)) ||
	    (err = m0__gset(b, &g->longdict, "version", m0__int(1))))
		return err;
	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		if ((err = compile(b, procs[i].code, &v)) ||
		    (err = m0__gset(b, &g->longdict, procs[i].name, v)))
			return err;
	}
	g->longdict.u.o->attr = M0_AR | M0_AX;
	g->sys.u.o->attr = M0_AR | M0_AX;
	return M0_OK;
}

struct m0_global *
m0_global_new(const struct m0_limits *lim, const struct m0_host *host,
    uint64_t hid, uint64_t pid)
{
	struct m0_global *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	m0_limits_default(&g->lim);
	if (lim) {
#define TAKE(f)                                                                \
	if (lim->f)                                                            \
		g->lim.f = lim->f;
		TAKE(operand_depth)
		TAKE(dict_depth)
		TAKE(exec_depth)
		TAKE(max_len)
		TAKE(heap_quota)
		TAKE(global_quota)
		TAKE(max_msg)
		TAKE(name_bytes)
#undef TAKE
	}
	if (g->lim.dict_depth < 4)
		g->lim.dict_depth = 4;
	if (g->lim.max_len > M0_MAX_LEN)
		g->lim.max_len = M0_MAX_LEN;
	if (g->lim.max_len < 1024)
		g->lim.max_len = 1024; /* _sys and longdict must fit */
	g->host = host;
	g->hid = hid;
	g->pid = pid;
	g->epoch = 1; /* names start with cache_epoch 0: never valid */
	g->heap.global = true;
	g->heap.quota = g->lim.global_quota;
	g->heap.threshold = 1u << 20;
	g->names_mask = 1023;
	g->names = calloc(g->names_mask + 1, sizeof(*g->names));
	struct m0_state *b = g->names ? m0_state_new(g) : NULL;
	if (!b || build(g, b)) {
		m0_state_free(b);
		m0_global_free(g);
		return NULL;
	}
	m0_state_free(b);
	return g;
}

void
m0_global_free(struct m0_global *g)
{
	if (!g)
		return;
	m0__heap_free_all(g, &g->heap);
	if (g->names) {
		for (uint32_t i = 0; i <= g->names_mask; i++) {
			struct m0_name *n = g->names[i], *next;
			for (; n; n = next) {
				next = n->chain;
				free(n);
			}
		}
		free(g->names);
	}
	free(g->work);
	free(g);
}

int
m0_global_add_family(struct m0_global *g, const char *family, int64_t mtu,
    const int64_t *addrs, size_t n)
{
	struct m0_state *b = m0_state_new(g);
	if (!b)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_value desc, arr, key;
	struct m0_name *fam = m0__intern(g, family, strlen(family));
	int err = fam ? M0_OK : M0_EIMPLEMENTATION_LIMIT;
	if (!err)
		err = m0__nomem(m0__new_dict(b, true, 8, &desc));
	if (!err)
		err = m0__nomem(m0__new_array(b, true, (uint32_t)n, &arr));
	if (!err) {
		/* chankey is hidden: put the oper in by hand after compiling
		 * the family name into the procedure. */
		err = m0__nomem(m0__new_array(b, true, 2, &key));
	}
	if (!err) {
		M0_ARR(&key)->v[0] = m0__namev(fam, false);
		M0_ARR(&key)->v[1] = m0__oper(M0_OP_CHANKEY);
		key.x = 1;
		key.u.o->attr = M0_AR | M0_AX;
		for (size_t i = 0; i < n; i++)
			M0_ARR(&arr)->v[i] = m0__int(addrs[i]);
		arr.u.o->attr = M0_AR | M0_AX;
		struct m0_value des;
		err = m0__nomem(
		    m0__new_string(b, true, family, strlen(family), &des));
		if (!err)
			des.u.o->attr = M0_AR;
		if (!err)
			err = m0__gset(b, &desc, "_aut", m0__int(0));
		if (!err)
			err = m0__gset(b, &desc, "_des", des);
		if (!err)
			err = m0__gset(b, &desc, "_key", key);
		if (!err)
			err = m0__gset(b, &desc, "_mtu", m0__int(mtu));
		if (!err)
			err = m0__gset(b, &desc, "_tar", m0__null());
		if (!err)
			err = m0__gset(b, &desc, "_typ", m0__namev(fam, false));
		desc.u.o->attr = M0_AR | M0_AX;
	}
	struct m0_value fk = m0__namev(fam, false);
	if (!err)
		err = m0__nomem(m0__dict_put(b, M0_DICT(&g->cha), &fk, &desc));
	if (!err)
		err = m0__nomem(m0__dict_put(b, M0_DICT(&g->adr), &fk, &arr));
	m0_state_free(b);
	return err;
}

/* ---- platform values: addresses, origins, definitions ---- */

static int
addr_host(const struct m0_value *v, struct m0_addr *a)
{
	if (v->type == M0_TINT) {
		a->host = v->u.i;
		return M0_OK;
	}
	if (v->type != M0_TSTRING)
		return M0_ETYPE_CHECK;
	if (!(v->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	a->str = (const char *)M0_BYTES(v);
	a->str_len = v->len;
	return M0_OK;
}

int
m0_value_addr(const struct m0_value *v, struct m0_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (v->type != M0_TARRAY)
		return addr_host(v, a);
	if (!(v->u.o->attr & M0_AR))
		return M0_EACCESS_CHECK;
	if (v->len != 2)
		return M0_ERANGE_CHECK;
	const struct m0_value *e = M0_ELEMS(v);
	if (e[1].type != M0_TINT)
		return M0_ETYPE_CHECK;
	a->has_port = 1;
	a->port = e[1].u.i;
	return addr_host(&e[0], a);
}

static int
addr_value(struct m0_state *s, const struct m0_addr *a, struct m0_value *out)
{
	struct m0_value h = m0__int(a->host);
	int err = M0_OK;
	if (a->str &&
	    (err = m0__nomem(
	         m0__new_string(s, false, a->str, (uint32_t)a->str_len, &h))))
		return err;
	if (!a->has_port) {
		*out = h;
		return M0_OK;
	}
	if ((err = m0__nomem(m0__new_array(s, false, 2, out))))
		return err;
	M0_ARR(out)->v[0] = h;
	M0_ARR(out)->v[1] = m0__int(a->port);
	return M0_OK;
}

int
m0_state_set_ori_addr(struct m0_state *s, const char *family, int64_t ifindex,
    const struct m0_addr *a)
{
	struct m0_value addr;
	int err = addr_value(s, a, &addr);
	return err ? err : m0__state_set_ori(s, family, ifindex, &addr);
}

/* Platform values are shared by every process: nobody may change them. */
static void
freeze(struct m0_value *v, int depth)
{
	if (!m0__composite(v) || depth > 16)
		return;
	v->u.o->attr &= M0_AR | M0_AX;
	if (v->type == M0_TARRAY)
		for (uint32_t i = 0; i < v->len; i++)
			freeze(&M0_ELEMS(v)[i], depth + 1);
	else if (v->type == M0_TDICT)
		for (uint32_t i = 0; i < M0_DICT(v)->used; i++)
			freeze(&M0_DICT(v)->ent[i].v, depth + 1);
}

int
m0_global_define(
    struct m0_global *g, const char *table, const char *name, const char *code)
{
	struct m0_value *d = strcmp(table, "_sys") == 0 ? &g->sys
	    : strcmp(table, "_adr") == 0                ? &g->adr
	    : strcmp(table, "longdict") == 0            ? &g->longdict
	                                                : NULL;
	if (!d)
		return M0_EUNDEFINED;
	struct m0_state *b = m0_state_new(g);
	if (!b)
		return M0_EIMPLEMENTATION_LIMIT;
	struct m0_value v;
	int err = m0_state_push_code(b, code, strlen(code));
	if (!err && m0_state_run(b, 1000000) != M0_RUN_DONE)
		err = M0_EIMPLEMENTATION_LIMIT;
	if (!err && b->end != M0_END_NORMAL)
		err = b->lasterr ? b->lasterr : M0_EIMPLEMENTATION_LIMIT;
	if (!err && b->sp == 0)
		err = M0_ESTACK_UNDERFLOW;
	if (!err)
		err = m0__nomem(m0__to_global(b, M0_TOP(b, 0), &v));
	if (!err) {
		freeze(&v, 0);
		struct m0_name *n = m0__intern(g, name, strlen(name));
		struct m0_value k = m0__namev(n, false);
		err = n ? m0__nomem(m0__dict_put(b, M0_DICT(d), &k, &v))
		        : M0_EIMPLEMENTATION_LIMIT;
	}
	m0_state_free(b);
	return err;
}

int
m0_global_known(struct m0_global *g, const char *table, const char *name)
{
	struct m0_value *d = strcmp(table, "_sys") == 0 ? &g->sys
	    : strcmp(table, "longdict") == 0            ? &g->longdict
	                                                : NULL;
	struct m0_name *n = d ? m0__intern(g, name, strlen(name)) : NULL;
	if (!n)
		return 0;
	struct m0_value k = m0__namev(n, false);
	return m0__dict_find(M0_DICT(d), &k) != NULL;
}
