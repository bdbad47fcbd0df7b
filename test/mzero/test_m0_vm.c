/*
 * test_m0_vm.c: the resumable VM: step budgets, preemption at any step,
 * runaway messengers stopped by limits, memory reclaimed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "host.h"

static struct th T;
static struct m0_host H;

static struct m0_global *
global(const struct m0_limits *lim)
{
	th_init(&T, &H);
	struct m0_global *g = m0_global_new(lim, &H, 1, 2);
	assert_non_null(g);
	return g;
}

/* Running one step at a time must give exactly what one long run gives:
 * the VM keeps no state in C frames between steps. */
static void
test_vm_resume_every_step(void **st)
{
	const char *code = ". 'f { 0 I 2 < {} { 1 - 0 I f X 1 - f + } ? } : "
	                   "15 f ptop [1 2 3] { 2 * } L + + ptop "
	                   "{ 1 0 / } H ptop ptop ptop ptop ptop "
	                   "D 'a 1 : 5 { P } L \"x\" { ptop } L";
	struct m0_global *g = global(NULL);
	assert_int_equal(th_run(g, code, 1 << 30), M0_END_NORMAL);
	char full[4096];
	strcpy(full, T.out);
	T.n = 0;
	T.out[0] = 0;
	assert_int_equal(th_run(g, code, 1), M0_END_NORMAL);
	assert_string_equal(T.out, full);
	assert_string_equal(
	    full, "610\n12\n1\ndivision_by_zero\n--/--\n0\n1\n120\n");
	m0_global_free(g);
}

/* Runs code to its end in slices of budget steps; returns the steps
 * taken and leaves the output in T.out. */
static uint64_t
run_steps(struct m0_global *g, const char *code, int64_t budget)
{
	struct m0_msg m = {
	    .code = (const uint8_t *)code, .code_len = (uint32_t)strlen(code)};
	struct m0_state *s;
	T.n = 0;
	T.out[0] = 0;
	assert_int_equal(m0_state_new_msg(g, &m, NULL, NULL, &s), M0_OK);
	m0_state_add_console_words(s);
	int64_t slices = 0;
	while (m0_state_run(s, budget) == M0_RUN_YIELD)
		slices++;
	assert_int_equal(m0_state_end(s), M0_END_NORMAL);
	uint64_t steps = m0_state_steps(s);
	/* Every slice but the last used its whole budget. */
	assert_true(steps >= (uint64_t)(slices * budget));
	m0_state_free(s);
	return steps;
}

/* Runs code to its end in one slice, then in slices of every budget
 * from 1 to bmax: each must give the same output and step count. Returns
 * the steps and leaves the output in T.out. */
static uint64_t
same_at_budgets(struct m0_global *g, const char *code, int64_t bmax)
{
	static char full[8192];
	uint64_t steps = run_steps(g, code, 1 << 30);
	assert_true(strlen(T.out) < sizeof(full));
	strcpy(full, T.out);
	for (int64_t b = 1; b <= bmax; b++) {
		assert_int_equal(run_steps(g, code, b), steps);
		assert_string_equal(T.out, full);
	}
	strcpy(T.out, full);
	return steps;
}

/* Fused instructions (`0 I`, `1 -`, `{} {} ?`) count one step per
 * element and can be cut by the budget anywhere: every budget gives the
 * output and the step count of one long run. */
static void
test_vm_fused_budgets(void **st)
{
	const char *code =
	    ". 'f { 0 I 2 < {} { 1 - 0 I f X 1 - f + } ? } : 12 f ptop "
	    "{ 0 I 3 > { 1 } { 2 } ? 1 + 1 I 1 = } . 'g 2 I : P "
	    "5 g 2 g stack 1 O { P P } L "
	    "{ \"a\" 1 - } H stack 1 O { P P } L "
	    "{ 1 2 0 I 9 I } H stack 1 O { P P } L "
	    "{ null { 2 } { 3 } ? } H stack 1 O { P P } L "
	    "{ 1 2 { 7 } { 8 } ? 3 O } ! stack";
	struct m0_global *g = global(NULL);
	same_at_budgets(g, code, 7);
	/* As element-by-element execution gave before the threaded form. */
	assert_string_equal(T.out,
	    "144\n0\n3\n2\n0\n2\n5\n1\ntype_check\n-----\n1\n\"a\"\n1\n"
	    "stack_underflow\n--I--\n9\n2\n2\n1\n1\ntype_check\n--?--\n"
	    "{3}\n{2}\nnull\n1\n7\n1\n");
	m0_global_free(g);
}

/* Ordinary code: operators and variables met as names, variables kept in
 * dicts with `'x v df`, arrays and dicts read and written by name. The
 * threaded form speculates on what each name resolves to; rebinding a
 * name mid-loop (an operator to a procedure or a value, a variable
 * shadowed in an inner dict), and errors inside those instructions, must
 * give exactly the output and the step count of element-by-element
 * execution, at every budget. */
static const char unbound_code[] =
    ". 'df { . 3 1 R : } : 'acc 1 df "
    "6 { 0 I 3 = { . '+ {*} B 0 G : } {} ? 1 + acc X + 'acc X df } L "
    "acc ptop . '+ U 2 3 + ptop "
    "'v 1 df 3 { P v ptop D ( 'v v 10 + df v ptop ) 'v v 1 + df } L "
    "v ptop "
    "'w 5 df 4 { P w ptop 'w { 9 } df } L "
    "D ( . 'P 42 : 1 2 P ptop ptop ) 3 4 P ptop P "
    "'a 5 A df { a 2 9 : a 7 G } H stack 1 O { P P } L a ptop "
    "{ a 5 8 : } H stack 1 O { P P } L "
    "'d D df d 'k 1 : { d 'k G ptop d 'zz G } H stack 1 O { P P } L "
    "{ d 1 W d 'k 2 : } H stack 1 O { P P } L "
    "{ 1 nosuch 2 } H stack 1 O { P P } L "
    "{ \"s\" 1 + } H stack 1 O { P P } L "
    "_ 'gk 5 : _ 'gk G ptop _ 'ga 3 A : _ 'ga G 1 7 : "
    "_ 'ga G 0 [1 2] : _ 'ga G ptop _ 'ga U _ 'gk U "
    "'p { 1 2 + } df p ptop . 'p G 2 '* _ctx : p ptop "
    ". 'p G 0 5 : p ptop "
    "1 { 7 } { 8 } ? ptop 0 { 7 } { 8 } ? ptop "
    "'e D df 20 { 3 % 'k X df e k e k K { e k G 1 + } { 1 } ? : } L "
    "e 0 G ptop e ` ptop "
    "'n 30 df 'b n A df 'c 0 df n 2 - { 2 + 'i X df b i G null = { "
    "'c c 1 + df 'j i i * df j n < { n j - i + 1 - i / "
    "{ P b j 1 : 'j j i + df } L } {} ? } {} ? } L c ptop";

static void
test_vm_unbound_budgets(void **st)
{
	struct m0_global *g = global(NULL);
	uint64_t steps = same_at_budgets(g, unbound_code, 9);
	/* As element-by-element execution gave before names were
	 * resolved in the threaded form. */
	assert_string_equal(T.out,
	    "420\n5\n1\n11\n2\n12\n3\n13\n4\n5\n9\n9\n9\n42\n2\n3\n1\n"
	    "range_check\n--G--\n7\n[null null9null null]\n"
	    "[null null9null null]\n1\nrange_check\n--:--\n8\n5\n"
	    "[null null9null null]\n1\n1\nundefined\n'zz\n'zz\n--dict--\n"
	    "1\naccess_check\n--:--\n2\n'k\n--dict--\n1\nundefined\n"
	    "nosuch\n1\n1\ntype_check\n--+--\n1\n\"s\"\n5\n[[1 2]7null]\n"
	    "3\n2\n10\n7\n8\n7\n3\n10\n");
	assert_int_equal(steps, 2323);
	m0_global_free(g);
}

/* The `'x v df` idiom runs as one instruction when df is `{ . 3 1 R : }`
 * and the key is there: a read-only dict, a new key, df or `.` or `R`
 * rebound (mid-loop too), a global dict and a composite stored into it
 * all behave as the five elements do, at every budget. */
static void
test_vm_def_idiom(void **st)
{
	const char *code =
	    ". 'df { . 3 1 R : } : 'r D df r 1 W { r ( 'z 1 df } H ) "
	    "stack 1 O { P P } L 3 { 'q X df q ptop } L "
	    "4 { 0 I 2 = { . 'df { P P } : } {} ? 'm X df } L m ptop "
	    ". 'df { . 3 1 R : } : "
	    "D ( . '. { 99 } : { 'y 5 df } H ) stack 1 O { P P } L "
	    "D ( . 'R { P P } : { 'u 7 df } H ) stack 1 O { P P } L "
	    "'y 1 df 'y y 1 + df y ptop "
	    "_ 'gd D : _ 'gd G ( 'h 1 df 'h [1] df ) _ 'gd G 'h G ptop "
	    "_ 'gd U";
	struct m0_global *g = global(NULL);
	same_at_budgets(g, code, 8);
	/* As the interpreter gave before the instruction existed. */
	assert_string_equal(T.out,
	    "1\naccess_check\n--:--\n1\n'z\n--dict--\n0\n1\n2\n1\n1\n"
	    "type_check\n--:--\n5\n'y\n99\n1\ntype_check\n--:--\n"
	    "--dict--\n7\n'u\n2\n[1]\n");
	m0_global_free(g);
}

/* A name runs through the instruction it last resolved to (a variable,
 * a procedure, df, an operator), `var op` is one instruction, and a
 * counted loop's next round reuses its body's frame. Operators stored
 * over operators or values in place (no new key), a variable that stops
 * being an int (type_check), that becomes 0 (division_by_zero), a
 * procedure that becomes a value, and a loop cut at every budget give
 * exactly the output and the step count of element-by-element
 * execution. The expected output is what the interpreter before issue
 * 11 (c4eaba0^, no resolved names) prints for the same code. */
static void
test_vm_name_instructions(void **st)
{
	const char *code =
	    ". 'f { 3 4 x } : . 'x {+} B 0 G : f ptop . 'x {-} B 0 G : f ptop "
	    "3 { P f ptop } L . 'x {*} B 0 G : f ptop . 'x 10 : f ptop ptop P "
	    ". 'x {+} B 0 G : f ptop D ( . '+ {-} B 0 G : 1 2 + ptop f ptop ) "
	    "1 2 + ptop "
	    ". 'df { . 3 1 R : } : . 'p { 1 v + } : 'v 2 df p ptop "
	    "'v \"s\" df { p } H ptop ptop ptop ptop ptop 'v 4 df p ptop "
	    "'z 0 df { 10 z / } H ptop ptop ptop ptop ptop "
	    "'z 3 df 3 { 10 z / ptop 'z z 1 - df } L "
	    "'q { 2 * } df 3 { 5 q ptop } L 'q 7 df 2 { 5 q + ptop } L "
	    "5 { 'z X df z 2 % 0 = { 'z 99 df } {} ? z ptop } L";
	struct m0_global *g = global(NULL);
	same_at_budgets(g, code, 9);
	assert_string_equal(T.out,
	    "7\n1N\n1N\n1N\n1N\n12\n10\n4\n7\n1N\n7\n3\n3\n1\n"
	    "type_check\n--+--\n\"s\"\n1\n5\n1\ndivision_by_zero\n--/--\n0\n"
	    "10\n3\n5\n10\n10\n10\n10\n12\n12\n99\n1\n99\n3\n99\n");
	m0_global_free(g);
}

/* `'x X df` (the top stored in a variable), `var var G` and `var var K`
 * run as one instruction each: over dicts and arrays, with a missing key
 * or an index out of range, K on an array, G, X and df rebound mid-loop,
 * a procedure where a variable was, a read-only dict, a new variable, an
 * operator stored, a variable shadowed and a store into `_`, at every
 * budget (`'x X df` takes 8 steps). The expected output is what the
 * interpreter before issue 11 (c4eaba0^) prints for the same code. */
static void
test_vm_fused_vars(void **st)
{
	const char *code =
	    ". 'df { . 3 1 R : } : 'd D df 'k 'a df "
	    "10 { 3 % 'k X df d k d k K { d k G 1 + } { 1 } ? : } L "
	    "d 0 G ptop d 2 G ptop d ` ptop "
	    "'a 5 A df 'j 2 df a j G ptop a 2 7 : a j G ptop "
	    "{ 'j 9 df a j G } H stack 1 O { P P } L "
	    "{ 'j 'zz df d j G } H stack 1 O { P P } L "
	    "{ a j K } H stack 1 O { P P } L "
	    "'k 1 df "
	    "4 { 'i X df i 2 = { D ( . 'G { P P 77 } : } {} ? d k G ptop d k K "
	    "ptop } L ) "
	    "d k G ptop "
	    "D ( . 'X { P } : 1 2 'z X df . 1 G ptop ) "
	    "4 { 'i X df i 1 = { . 'df { P P } : } {} ? i ptop } L "
	    ". 'df { . 3 1 R : } : "
	    "'pp { d } df pp k G ptop 'k 0 df pp k G ptop "
	    "'r D df r 1 W { r ( 5 'z X df } H ) stack 1 O { P P } L "
	    "3 { 'nv X df nv ptop } L "
	    "{+} B 0 G 'o X df 3 4 o ptop "
	    "D ( 'k 2 df d k G ptop ) d k G ptop "
	    "_ ( 5 'gz X df ) _ 'gz G ptop _ 'gz U "
	    "3 { 'q X df 'qd D df qd q K ptop qd q 1 : qd q K ptop qd q G ptop "
	    "} L";
	struct m0_global *g = global(NULL);
	same_at_budgets(g, code, 10);
	assert_string_equal(T.out,
	    "4\n3\n3\nnull\n7\n1\nrange_check\n--G--\n9\n"
	    "[null null7null null]\n1\nundefined\n'zz\n'zz\n"
	    "--dict--\n1\ntype_check\n--K--\n'zz\n"
	    "[null null7null null]\n3\n1\n3\n1\n77\n1\n77\n1\n3\n2\n"
	    "0\n1\n1\n1\n3\n4\n1\naccess_check\n--:--\n5\n'z\n"
	    "--dict--\n0\n1\n2\n7\n3\n4\n5\n0\n1\n1\n0\n1\n1\n0\n1\n"
	    "1\n");
	m0_global_free(g);
}

/* A messenger looping forever yields every budget and never ends. */
static void
test_vm_infinite_loop_yields(void **st)
{
	struct m0_global *g = global(NULL);
	struct m0_msg m = {.code = (const uint8_t *)"1N {} L", .code_len = 7};
	struct m0_state *s;
	assert_int_equal(m0_state_new_msg(g, &m, NULL, NULL, &s), M0_OK);
	for (int i = 0; i < 100; i++)
		assert_int_equal(m0_state_run(s, 1000), M0_RUN_YIELD);
	assert_true(m0_state_steps(s) >= 100 * 1000);
	m0_state_free(s);
	m0_global_free(g);
}

/* Recursion without end hits the exec stack limit and ends. */
static void
test_vm_unbounded_recursion_ends(void **st)
{
	struct m0_limits lim = {0};
	lim.exec_depth = 200;
	struct m0_global *g = global(&lim);
	assert_int_equal(th_run(g, ". 'r { r 1 } : r", 1000), M0_END_ERROR);
	/* Caught with H, it is an ordinary error. */
	assert_int_equal(
	    th_run(g, ". 'r { r 1 } : 'r H P ptop ptop", 1000), M0_END_NORMAL);
	assert_string_equal(T.out, "exec_stack_overflow\nr\n");
	m0_global_free(g);
}

/* Allocation without end hits the heap quota: an MØ error, no crash. */
static void
test_vm_allocation_without_end(void **st)
{
	struct m0_limits lim = {0};
	lim.heap_quota = 1 << 20;
	struct m0_global *g = global(&lim);
	assert_int_equal(th_run(g, "[ 1N { 1000 A } L", 1000), M0_END_ERROR);
	assert_int_equal(
	    th_run(g, "{ [ 1N { 1000 A } L } H P ptop", 1000), M0_END_NORMAL);
	assert_string_equal(T.out, "implementation_limit\n");
	m0_global_free(g);
}

/* Garbage, cycles included, is collected: a loop that makes far more
 * than the quota in short-lived cyclic arrays runs to the end. */
static void
test_vm_collects_cycles(void **st)
{
	struct m0_limits lim = {0};
	lim.heap_quota = 256 << 10;
	struct m0_global *g = global(&lim);
	assert_int_equal(
	    th_run(g, "20000 { P 10 A 0 I 0 I 0 X : P } L \"ok\" print", 1000),
	    M0_END_NORMAL);
	assert_string_equal(T.out, "ok");
	m0_global_free(g);
}

/* Operand stack overflow is an MØ error, the stack stays bounded. */
static void
test_vm_operand_overflow(void **st)
{
	struct m0_limits lim = {0};
	lim.operand_depth = 100;
	struct m0_global *g = global(&lim);
	assert_int_equal(
	    th_run(g, "{ 1N { 1 } L } H P ptop 1 O { P P } L 1 O ptop", 1000),
	    M0_END_NORMAL);
	assert_string_equal(T.out, "oper_stack_overflow\n0\n");
	m0_global_free(g);
}

/* A dict holding the element limit refuses a new key with dict_full;
 * an existing key can still be replaced. */
static void
test_vm_dict_full(void **st)
{
	struct m0_limits lim = {0};
	lim.max_len = 1024;
	struct m0_global *g = global(&lim);
	assert_int_equal(th_run(g,
	                     "D { 2000 { 1 I X 1 : } L } H P ptop P P P "
	                     "0 I 5 7 : 5 G ptop",
	                     1000),
	    M0_END_NORMAL);
	assert_string_equal(T.out, "dict_full\n7\n");
	m0_global_free(g);
}

/* A process's memory is all returned when it ends. */
static void
test_vm_state_free_returns_memory(void **st)
{
	struct m0_global *g = global(NULL);
	uint64_t before = m0_global_bytes(g);
	struct m0_msg m = {
	    .code = (const uint8_t *)"[ 100 { 50 A } L ] 0 I 0 X :",
	    .code_len = 28};
	struct m0_state *s;
	assert_int_equal(m0_state_new_msg(g, &m, NULL, NULL, &s), M0_OK);
	assert_int_equal(m0_state_run(s, 100000), M0_RUN_DONE);
	assert_true(m0_state_heap_bytes(s) > 100 * 50 * 16);
	m0_state_free(s);
	assert_int_equal(m0_global_bytes(g), before);
	m0_global_free(g);
}

/* A new process holds only its messenger and origin until it first runs
 * (a waiting messenger costs its bytes): the local dict and _cod are made
 * then, with an origin set before that, exactly as if made at once. _dat
 * is the data part of _mgr, read-only like it: a large data field is
 * held once, not twice (docs/m0-language.md). */
static void
test_vm_process_unfolds_at_first_run(void **st)
{
	struct m0_global *g = global(NULL);
	static char data[4000];
	memset(data, 'd', sizeof(data));
	const char *code = "_dat ` ptop _dat 0 G ptop _ori 1 G ptop "
	                   "_mgr ` ptop _cod ` ptop _loc '_ori G 2 G ptop "
	                   "{_dat 0 65 :} H ptop _dat 0 G ptop "
	                   "0 _dat {+} L ptop";
	struct m0_msg m = {.code = (const uint8_t *)code,
	    .code_len = (uint32_t)strlen(code),
	    .data = (const uint8_t *)data,
	    .data_len = sizeof(data)};
	struct m0_state *s;
	assert_int_equal(m0_state_new_msg(g, &m, NULL, NULL, &s), M0_OK);
	uint64_t waiting = m0_state_heap_bytes(s);
	assert_true(waiting >= m0_wire_size(&m));
	assert_true(waiting < m0_wire_size(&m) + sizeof(data)); /* no _dat */
	assert_int_equal(m0_state_set_ori_net(s, "udp", 3, 0, "h1"), M0_OK);
	assert_int_equal(m0_state_add_console_words(s), M0_OK); /* unfolds */
	assert_true(m0_state_heap_bytes(s) > waiting);
	assert_true(m0_state_heap_bytes(s) < waiting + sizeof(data));
	assert_int_equal(m0_state_run(s, 100000), M0_RUN_DONE);
	assert_int_equal(m0_state_end(s), M0_END_NORMAL);
	char want[256];
	snprintf(want, sizeof(want),
	    "4000\n100\n3\n%zu\n%zu\n\"h1\"\n1\n100\n400000\n",
	    m0_wire_size(&m), strlen(code));
	assert_string_equal(T.out, want);
	m0_state_free(s);

	/* unfolded by its first run alone; no data: _dat is null */
	T.n = 0;
	T.out[0] = 0;
	struct m0_msg m2 = {
	    .code = (const uint8_t *)"_ 'd _dat :", .code_len = 11};
	assert_int_equal(m0_state_new_msg(g, &m2, NULL, NULL, &s), M0_OK);
	assert_int_equal(m0_state_run(s, 1000), M0_RUN_DONE);
	assert_int_equal(m0_state_end(s), M0_END_NORMAL);
	m0_state_free(s);
	assert_int_equal(th_run(g, "_ 'd G ptop", 1000), M0_END_NORMAL);
	assert_string_equal(T.out, "null\n");
	m0_global_free(g);
}

static int
fill_abc(void *ud, uint8_t *dst, size_t len)
{
	int *calls = ud;
	++*calls;
	if (len != 3)
		return -1;
	memcpy(dst, "abc", 3);
	return 0;
}

static int
fill_refuse(void *ud, uint8_t *dst, size_t len)
{
	return -1;
}

/* A host may write a messenger's data field in place (m0run reads its
 * files straight into it): the process sees it as _dat; a refusal is no
 * process. */
static void
test_vm_new_msg_fill(void **st)
{
	struct m0_global *g = global(NULL);
	uint64_t base = m0_global_bytes(g);
	const char *code = "_dat ptop _mgr ` ptop";
	struct m0_msg m = {.code = (const uint8_t *)code,
	    .code_len = (uint32_t)strlen(code),
	    .data = (const uint8_t *)"not read",
	    .data_len = 3};
	struct m0_state *s = NULL;
	int calls = 0;
	assert_int_equal(
	    m0_state_new_msg_fill(g, &m, fill_abc, &calls, &s), M0_OK);
	assert_int_equal(calls, 1);
	T.n = 0;
	T.out[0] = 0;
	assert_int_equal(m0_state_add_console_words(s), M0_OK);
	assert_int_equal(m0_state_run(s, 1000), M0_RUN_DONE);
	char want[64];
	snprintf(want, sizeof(want), "\"abc\"\n%zu\n", m0_wire_size(&m));
	assert_string_equal(T.out, want);
	m0_state_free(s);
	s = NULL;
	assert_int_equal(m0_state_new_msg_fill(g, &m, fill_refuse, NULL, &s),
	    M0_EIMPLEMENTATION_LIMIT);
	assert_null(s);
	m.data = NULL; /* no data field: nothing to fill */
	assert_int_equal(m0_state_new_msg_fill(g, &m, fill_abc, &calls, &s),
	    M0_EIMPLEMENTATION_LIMIT);
	assert_int_equal(calls, 1);
	assert_int_equal(m0_global_bytes(g), base);
	m0_global_free(g);
}

/* Storing into `_` deep-copies; the global copy survives the process
 * and a global collection frees what `_` no longer holds. */
static void
test_vm_global_store_and_collect(void **st)
{
	struct m0_global *g = global(NULL);
	uint64_t base = m0_global_bytes(g);
	assert_int_equal(th_run(g,
	                     "[1 2 [3]] _ 'k 2 I : 0 I 2 G 0 9 : "
	                     "P _ 'k G ptop",
	                     1000),
	    M0_END_NORMAL);
	assert_string_equal(T.out, "[1 2[3]]\n");
	assert_true(m0_global_bytes(g) > base);
	assert_int_equal(th_run(g, "_ 'k U", 1000), M0_END_NORMAL);
	m0_global_gc(g);
	assert_int_equal(m0_global_bytes(g), base);
	m0_global_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vm_resume_every_step),
	    cmocka_unit_test(test_vm_fused_budgets),
	    cmocka_unit_test(test_vm_unbound_budgets),
	    cmocka_unit_test(test_vm_fused_vars),
	    cmocka_unit_test(test_vm_def_idiom),
	    cmocka_unit_test(test_vm_name_instructions),
	    cmocka_unit_test(test_vm_infinite_loop_yields),
	    cmocka_unit_test(test_vm_unbounded_recursion_ends),
	    cmocka_unit_test(test_vm_allocation_without_end),
	    cmocka_unit_test(test_vm_collects_cycles),
	    cmocka_unit_test(test_vm_operand_overflow),
	    cmocka_unit_test(test_vm_dict_full),
	    cmocka_unit_test(test_vm_state_free_returns_memory),
	    cmocka_unit_test(test_vm_process_unfolds_at_first_run),
	    cmocka_unit_test(test_vm_new_msg_fill),
	    cmocka_unit_test(test_vm_global_store_and_collect),
	};
	return cmocka_run_group_tests_name("m0_vm", tests, NULL, NULL);
}
