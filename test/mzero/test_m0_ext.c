/*
 * test_m0_ext.c: operators and error names added by the platform (spec
 * Part B): they sit in _sys and longdict, raise appended errors that H
 * and _err see by name, keep their operands on error, and can block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "host.h"

static struct th T;
static struct m0_host H;
static int e_odd;

/* _tst: a b -> a+b; an odd sum raises the appended error odd_sum. */
static int
op_tst(struct m0_state *s, void *ud)
{
	int64_t a, b;
	int err;
	if ((err = m0_get_int(s, 1, &a)) || (err = m0_get_int(s, 0, &b)))
		return err;
	if ((a + b) % 2)
		return e_odd;
	m0_pop(s, 2);
	return m0_push_int(s, a + b);
}

/* _blk: blocks the process; the platform resumes it. */
static int
op_blk(struct m0_state *s, void *ud)
{
	return M0_EXT_BLOCK;
}

/* _rec: -> dict with fields, as exit records are made. */
static int
op_rec(struct m0_state *s, void *ud)
{
	int err = m0_push_dict(s);
	if (!err)
		err = m0_push_name(s, "halt");
	if (!err)
		err = m0_set_field(s, "kind");
	if (!err)
		err = m0_push_int(s, 42);
	if (!err)
		err = m0_set_field(s, "rax");
	return err;
}

static struct m0_global *
global(void)
{
	th_init(&T, &H);
	struct m0_global *g = m0_global_new(NULL, &H, 1, 2);
	assert_non_null(g);
	e_odd = m0_global_add_error(g, "odd_sum");
	assert_int_equal(e_odd, M0_NERR);
	assert_int_equal(
	    m0_global_add_op(g, "_tst", "testadd", op_tst, NULL), M0_OK);
	assert_int_equal(
	    m0_global_add_op(g, "_blk", NULL, op_blk, NULL), M0_OK);
	assert_int_equal(
	    m0_global_add_op(g, "_rec", NULL, op_rec, NULL), M0_OK);
	return g;
}

static void
test_ext_operator_runs(void **st)
{
	struct m0_global *g = global();
	assert_int_equal(th_run(g,
	                     "2 4 _tst ptop longdict ( 3 5 testadd ptop "
	                     "'_tst F ptop ptop { _tst } B 0 G ptop",
	                     1000),
	    M0_END_NORMAL);
	assert_string_equal(T.out, "6\n8\n1\n--dict--\n--_tst--\n");
	m0_global_free(g);
}

static void
test_ext_appended_error(void **st)
{
	struct m0_global *g = global();
	/* Operands stay; the appended name is last in _ena. */
	assert_int_equal(th_run(g,
	                     "{ 1 2 _tst } H ptop ptop ptop stack "
	                     "_ena 0 I ` 1 - G ptop",
	                     1000),
	    M0_END_NORMAL);
	assert_string_equal(T.out, "1\nodd_sum\n--_tst--\n2\n1\nodd_sum\n");
	assert_string_equal(m0_global_strerror(g, e_odd), "odd_sum");
	m0_global_free(g);
}

static void
test_ext_block_and_record(void **st)
{
	struct m0_global *g = global();
	const char *code = "_blk ptop _rec 0 I 'kind G ptop 'rax G ptop";
	struct m0_msg m = {
	    .code = (const uint8_t *)code, .code_len = (uint32_t)strlen(code)};
	struct m0_state *s;
	assert_int_equal(m0_state_new_msg(g, &m, NULL, NULL, &s), M0_OK);
	m0_state_add_console_words(s);
	assert_int_equal(m0_state_run(s, 1000), M0_RUN_BLOCKED);
	assert_int_equal(m0_state_run(s, 1000), M0_RUN_BLOCKED);
	m0_state_resume_int(s, 1, 7);
	assert_int_equal(m0_state_run(s, 1000), M0_RUN_DONE);
	assert_string_equal(T.out, "7\n'halt\n42\n");
	m0_state_free(s);
	m0_global_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ext_operator_runs),
	    cmocka_unit_test(test_ext_appended_error),
	    cmocka_unit_test(test_ext_block_and_record),
	};
	return cmocka_run_group_tests_name("m0_ext", tests, NULL, NULL);
}
