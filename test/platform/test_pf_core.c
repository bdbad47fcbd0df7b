/*
 * test_pf_core.c: the platform core alone (libpfcore, no money, no
 * exchange, no KVM): processes run to their end, the scheduler shares
 * the processor by the turns a meter gives, a meter's verdict ends a
 * process only through the scheduler, a refused send sends nothing,
 * eviction of a waiting process, work stepped by the scheduler, and a
 * shutdown that waits for a service's close callback without running
 * the loop inside the library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pf.h"
#include "pf_svc.h"

#define SPIN "1 N { 1 P } L"

struct ended {
	int n;
	uint64_t id[8];
	int end[8];
};

static uv_loop_t loop;
static struct pf_platform *pf;
static struct ended ends;

static void
on_end(void *ud, struct pf_proc *p, uint64_t id, int end, const char *err)
{
	struct ended *e = ud;
	if (e->n < 8) {
		e->id[e->n] = id;
		e->end[e->n] = end;
	}
	e->n++;
}

static int
setup(void **state)
{
	uv_loop_init(&loop);
	pf = pf_new(&loop, NULL);
	assert_non_null(pf);
	memset(&ends, 0, sizeof(ends));
	pf_set_end(pf, on_end, &ends);
	return 0;
}

static int
teardown(void **state)
{
	pf_close(pf);
	uv_run(&loop, UV_RUN_DEFAULT);
	pf_free(pf);
	assert_int_equal(uv_loop_close(&loop), 0);
	return 0;
}

static uint64_t
spawn_q(const char *code, uint64_t queue, int (*fn)(struct m0_state *))
{
	struct m0_msg msg = {.queue = queue,
	    .code = (const uint8_t *)code,
	    .code_len = (uint32_t)strlen(code)};
	uint64_t id = 0;
	assert_int_equal(pf_spawn(pf, &msg, NULL, fn, NULL, &id), PF_OK);
	return id;
}

static uint64_t
spawn(const char *code, uint64_t queue)
{
	return spawn_q(code, queue, NULL);
}

static void
find_steps(void *ud, struct pf_proc *p)
{
	uint64_t *v = ud; /* v[0] id in, v[1] steps out */
	struct pf_proc_info i;
	pf_proc_info(p, &i);
	if (i.id == v[0])
		v[1] = i.steps;
}

static uint64_t
steps_of(uint64_t id)
{
	uint64_t v[2] = {id, UINT64_MAX};
	pf_foreach(pf, find_steps, v);
	return v[1];
}

/* Runs the loop a bounded number of times (each run is at most the
 * scheduler's budget of a few ms). */
static void
spin_loop(int times)
{
	for (int i = 0; i < times; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
}

static void
test_core_process_runs_to_end(void **state)
{
	uint64_t id = spawn("1 2 P P", 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(ends.n, 1);
	assert_int_equal(ends.id[0], id);
	assert_int_equal(ends.end[0], M0_END_NORMAL);
	struct pf_stats st;
	pf_get_stats(pf, &st);
	assert_int_equal(st.created, 1);
	assert_int_equal(st.ended, 1);
}

static void
test_core_round_robin_is_fair(void **state)
{
	uint64_t a = spawn(SPIN, 1), b = spawn(SPIN, 2);
	spin_loop(20);
	uint64_t sa = steps_of(a), sb = steps_of(b);
	assert_true(sa > 0 && sb > 0);
	/* One slice apart at most: they alternate turns of equal length. */
	int64_t d = (int64_t)sa - (int64_t)sb;
	assert_true(d <= 1000 && d >= -1000);
}

/* ---- a meter for tests ---- */

struct tmeter {
	uint64_t ida; /* the process that gets (mult) slices a turn */
	int64_t mult;
	uint64_t limit; /* steps any process may pay for; 0: no limit */
	int opened, closed;
	uint64_t paid[4]; /* steps charged, by process id (1..3) */
	int sends_refused;
	uint64_t busy_ns;
};

static int
t_open(void *ud, struct pf_proc *p, int arrival)
{
	struct tmeter *t = ud;
	t->opened++;
	pf_proc_set_meter(p, t);
	return PF_OK;
}

static void
t_close(void *ud, struct pf_proc *p)
{
	struct tmeter *t = ud;
	assert_ptr_equal(pf_proc_meter(p), t);
	t->closed++;
}

static int64_t
t_turn(void *ud, struct pf_proc *p, int64_t slice)
{
	struct tmeter *t = ud;
	return pf_proc_id(p) == t->ida ? slice * t->mult : slice;
}

static enum pf_verdict
t_steps(void *ud, struct pf_proc *p, uint64_t steps)
{
	struct tmeter *t = ud;
	uint64_t id = pf_proc_id(p);
	if (id < 4)
		t->paid[id] += steps;
	return t->limit && id < 4 && t->paid[id] >= t->limit ? PF_BROKE
	                                                     : PF_PAID;
}

static enum pf_verdict
t_send(void *ud, struct pf_proc *p, const char *family, size_t len)
{
	struct tmeter *t = ud;
	t->sends_refused++;
	return PF_BROKE;
}

static void
t_busy(void *ud, uint64_t ns, int queued)
{
	((struct tmeter *)ud)->busy_ns += ns;
}

static void
set_meter(struct tmeter *t)
{
	const struct pf_meter m = {.ud = t,
	    .open = t_open,
	    .close = t_close,
	    .turn = t_turn,
	    .steps = t_steps,
	    .send = t_send,
	    .busy = t_busy};
	assert_int_equal(pf_set_meter(pf, &m), PF_OK);
	assert_int_equal(pf_set_meter(pf, &m), PF_ERR_EXISTS);
}

static void
test_core_meter_turns_set_shares(void **state)
{
	struct tmeter t = {.mult = 3};
	set_meter(&t);
	uint64_t a = spawn(SPIN, 1), b = spawn(SPIN, 2);
	t.ida = a;
	spin_loop(40);
	double r = (double)steps_of(a) / (double)steps_of(b);
	assert_true(r > 2.9 && r < 3.1);
	assert_int_equal(t.opened, 2);
	assert_true(t.busy_ns > 0);
}

static void
test_core_broke_verdict_ends_process(void **state)
{
	struct tmeter t = {.mult = 1, .limit = 5000};
	set_meter(&t);
	uint64_t a = spawn(SPIN, 1);
	spin_loop(20);
	/* The scheduler ended it after the turn that reached the limit. */
	assert_int_equal(ends.n, 1);
	assert_int_equal(ends.id[0], a);
	assert_int_equal(ends.end[0], M0_END_KILLED);
	assert_int_equal(t.paid[a], 5000);
	assert_int_equal(t.closed, 1);
	struct pf_stats st;
	pf_get_stats(pf, &st);
	assert_int_equal(st.drops[PF_DROP_CREDIT], 1);
}

static int
console_words(struct m0_state *s)
{
	return m0_state_add_console_words(s);
}

static int console_calls;

static void
console_cb(void *ud, struct pf_proc *p, const void *buf, size_t len)
{
	console_calls++;
}

static void
test_core_refused_send_sends_nothing(void **state)
{
	struct tmeter t = {.mult = 1};
	set_meter(&t);
	pf_set_console(pf, console_cb, NULL);
	console_calls = 0;
	spawn_q("\"hi\" print", 1, console_words);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(t.sends_refused, 1);
	assert_int_equal(console_calls, 0);
	/* Without a meter the same text goes out. */
	pf_close(pf);
	uv_run(&loop, UV_RUN_DEFAULT);
	pf_free(pf);
	pf = pf_new(&loop, NULL);
	pf_set_console(pf, console_cb, NULL);
	spawn_q("\"hi\" print", 1, console_words);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(console_calls, 1);
}

static void
evict_it(void *ud, struct pf_proc *p)
{
	if (pf_proc_id(p) == *(uint64_t *)ud)
		pf_proc_evict(p);
}

static void
test_core_evict_waiting_process(void **state)
{
	uint64_t head = spawn(SPIN, 7), waiter = spawn(SPIN, 7);
	spin_loop(2);
	struct pf_stats st;
	pf_get_stats(pf, &st);
	assert_int_equal(st.waiting, 1);
	pf_foreach(pf, evict_it, &waiter);
	assert_int_equal(ends.n, 1);
	assert_int_equal(ends.id[0], waiter);
	pf_get_stats(pf, &st);
	assert_int_equal(st.drops[PF_DROP_CREDIT], 1);
	assert_int_equal(st.waiting, 0);
	assert_true(steps_of(head) != UINT64_MAX);
}

/* ---- services ---- */

struct tsvc {
	struct pf_platform *pf;
	uv_timer_t t;
	int ends, closes, frees, turns;
	bool timer_closed;
};

static void
s_proc_end(void *ud, struct pf_proc *p)
{
	((struct tsvc *)ud)->ends++;
}

static void
s_timer_closed(uv_handle_t *h)
{
	struct tsvc *s = h->data;
	s->timer_closed = true;
	pf_service_closed(s->pf, s);
}

/* Closes asynchronously, as a service with work in flight does. */
static void
s_close(void *ud)
{
	struct tsvc *s = ud;
	s->closes++;
	uv_close((uv_handle_t *)&s->t, s_timer_closed);
}

static void
s_free(void *ud)
{
	struct tsvc *s = ud;
	assert_true(s->timer_closed);
	s->frees++;
}

static void
test_core_close_waits_for_services(void **state)
{
	static struct tsvc s;
	memset(&s, 0, sizeof(s));
	s.pf = pf;
	uv_timer_init(&loop, &s.t);
	s.t.data = &s;
	const struct pf_service svc = {.name = "t",
	    .ud = &s,
	    .proc_end = s_proc_end,
	    .close = s_close,
	    .free = s_free};
	assert_int_equal(pf_add_service(pf, &svc), PF_OK);
	assert_ptr_equal(pf_service_find(pf, "t"), &s);
	assert_null(pf_service_find(pf, "money"));
	spawn(SPIN, 1);
	spin_loop(2);
	pf_close(pf);
	/* Every process ended, the service was told, nothing was freed:
	 * the library did not run the loop. */
	assert_int_equal(s.ends, 1);
	assert_int_equal(s.closes, 1);
	assert_false(s.timer_closed);
	pf_free(pf);
	assert_int_equal(s.frees, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(s.frees, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
	/* teardown needs a platform again */
	uv_loop_init(&loop);
	pf = pf_new(&loop, NULL);
	assert_int_equal(
	    pf_spawn(pf, &(struct m0_msg){0}, NULL, NULL, NULL, NULL), PF_OK);
}

static bool
w_step(void *ud, struct pf_proc *p)
{
	struct tsvc *s = ud;
	if (++s->turns < 5)
		return false;
	m0_state_resume_int(pf_proc_state(p), 0, 0);
	return true;
}

static int
w_op(struct m0_state *s, void *ud)
{
	pf_proc_set_work(m0_state_ud(s), w_step, ud);
	return M0_EXT_BLOCK;
}

static void
test_core_work_is_stepped_by_scheduler(void **state)
{
	static struct tsvc s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    m0_global_add_op(pf_global(pf), "_wrk", NULL, w_op, &s), M0_OK);
	uint64_t id = spawn("_wrk 1 P", 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(s.turns, 5);
	assert_int_equal(ends.n, 1);
	assert_int_equal(ends.id[0], id);
	assert_int_equal(ends.end[0], M0_END_NORMAL);
}

static void
s_stats(void *ud, struct pf_status *st)
{
	pf_status_word(st, "svc", "mode", "on");
	pf_status_add(st, "svc", "count", 7, NULL);
	pf_status_add(st, "svc.sub", "a", 1, NULL);
	pf_status_add(st, "svc.sub", "b", 2, NULL);
	pf_status_add(st, "other", "c", 3, NULL);
}

/* One table feeds the text and the JSON; services add nested groups. */
static void
test_core_status_table(void **state)
{
	const struct pf_service svc = {
	    .name = "s", .ud = NULL, .stats = s_stats};
	assert_int_equal(pf_add_service(pf, &svc), PF_OK);
	spawn(SPIN, 1);
	spin_loop(1);
	struct pf_status st = {0};
	pf_status_collect(pf, NULL, &st);
	assert_false(st.oom);
	char *text = pf_status_text(&st), *json = pf_status_json(&st);
	pf_status_free(&st);
	assert_non_null(text);
	assert_non_null(json);
	assert_non_null(strstr(text,
	    "processes  1 running, 0 waiting, 1 "
	    "created, 0 ended\n"));
	assert_non_null(strstr(text, "svc        on mode, 7 count\n"));
	assert_non_null(strstr(text,
	    "  credit                  0  credit "
	    "exhausted\n"));
	assert_non_null(strstr(json, "\"processes\":{\"running\":1,"));
	assert_non_null(strstr(json,
	    "\"svc\":{\"mode\":\"on\",\"count\":7,"
	    "\"sub\":{\"a\":1,\"b\":2}},\"other\":{\"c\":3}}"));
	free(text);
	free(json);
}

static void
test_core_errors_have_text(void **state)
{
	assert_string_equal(pf_strerror(PF_OK), "ok");
	assert_string_equal(pf_strerror(PF_ERR_NOMEM), "out of memory");
	assert_string_equal(pf_strerror(PF_ERR_N), "unknown error");
	assert_string_equal(pf_strerror(-1), "unknown error");
	for (int e = PF_OK; e < PF_ERR_N; e++)
		assert_true(strlen(pf_strerror(e)) > 0);
	assert_int_equal(pf_err_m0(PF_OK), M0_OK);
}

/* ---- caps (issue 15): origins, queues, families, the memory budget ---- */

static int
setup_caps(void **state)
{
	uv_loop_init(&loop);
	struct pf_config c = {.max_procs = 8,
	    .origin_procs = 6,
	    .proc_queues = 100,
	    .memory = 4u << 20};
	pf = pf_new(&loop, &c);
	assert_non_null(pf);
	memset(&ends, 0, sizeof(ends));
	pf_set_end(pf, on_end, &ends);
	return 0;
}

static int
spawn_from(const char *code, const char *host)
{
	static uint64_t queue = 100; /* each its own: all may run */
	struct m0_msg msg = {.queue = queue++,
	    .code = (const uint8_t *)code,
	    .code_len = (uint32_t)strlen(code)};
	struct pf_origin o = {.host = host, .host_len = host ? 4 : 0};
	return pf_spawn(pf, &msg, &o, NULL, NULL, NULL);
}

/* One host at its cap: its next arrival is dropped as origin_procs, and
 * another host still gets in (the reserve). Two origins acting together
 * cannot close admission for a third: the first holds its cap (6 of 8),
 * the second gets at most half of the reserve it finds free (1 of 2),
 * and a third still gets in. Without the share rule the second would
 * take both and the third hit proc_cap. */
static void
test_caps_origin_keeps_a_reserve(void **state)
{
	int a = 0, b = 0;
	while (a < 20 && spawn_from(SPIN, "\x0a\0\0\1") == PF_OK)
		a++;
	while (b < 20 && spawn_from(SPIN, "\x0a\0\0\2") == PF_OK)
		b++;
	assert_int_equal(a, 6);
	assert_int_equal(b, 1);
	assert_int_equal(spawn_from(SPIN, "\x0a\0\0\3"), PF_OK);
	struct pf_stats st;
	pf_get_stats(pf, &st);
	assert_int_equal(st.drops[PF_DROP_PROC_CAP], 0);
	assert_int_equal(st.drops[PF_DROP_ORIGIN_PROCS], 2);
	assert_int_equal(st.origins, 3);
	/* Full now: the last place went to the third origin. */
	assert_int_equal(spawn_from(SPIN, "\x0a\0\0\4"), PF_ERR_DROPPED);
}

/* Queue churn: a process that stops fresh queues in a loop is held to
 * proc_queues, and its empty stopped queues go when it ends. */
static void
test_caps_stopped_queues_go_with_creator(void **state)
{
	spawn_from("1000 { ; 1 Q } L", NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(ends.n, 1);
	struct pf_stats st;
	pf_get_stats(pf, &st);
	/* 100 queues: its arrival queue and 99 stopped ones */
	assert_int_equal(st.drops[PF_DROP_PROC_QUEUES], 901);
	assert_int_equal(st.queues, 0);
	assert_int_equal(st.origins, 0);
	/* Later arrivals are not refused for it. */
	assert_int_equal(spawn_from("1 P", NULL), PF_OK);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(ends.n, 2);
}

/* Many origins: the table grows, and each origin goes with its last
 * process. */
static void
test_caps_many_origins(void **state)
{
	struct pf_stats st;
	for (int i = 0; i < 200; i++) {
		char host[4] = {10, 1, (char)(i >> 8), (char)i};
		assert_int_equal(spawn_from(SPIN, host), PF_OK);
	}
	pf_get_stats(pf, &st);
	assert_int_equal(st.origins, 200);
	for (uint64_t id = 1; id <= 200; id++)
		assert_int_equal(pf_kill(pf, id), 0);
	pf_get_stats(pf, &st);
	assert_int_equal(st.origins, 0);
}

/* kill -f: a process, its children and grandchildren go in one call;
 * a process of another family stays. */
static void
test_caps_kill_family(void **state)
{
	uint64_t other = spawn(SPIN, 5);
	uint64_t top = spawn("2 { 0 [ ; \""
	                     "0 [ ; \\\"" SPIN "\\\" null ] "
	                     "_ctm $ " SPIN "\" null ] _ctm $ } L " SPIN,
	    0);
	struct pf_stats st;
	for (int i = 0; i < 200; i++) {
		spin_loop(1);
		pf_get_stats(pf, &st);
		if (st.created == 7)
			break;
	}
	assert_int_equal(st.created, 6); /* other, top, 2 kids, 2 grandkids */
	assert_int_equal(pf_kill_family(pf, top), 5);
	pf_get_stats(pf, &st);
	assert_int_equal(st.running + st.waiting, 1);
	assert_int_not_equal(steps_of(other), UINT64_MAX);
	assert_int_equal(pf_kill_family(pf, top), 0);
}

/* kill -f of a member that ended and was not an arrival: a child (3)
 * submits two spinning grandchildren and ends; its family is still
 * found (it is kept as an ended parent) and goes in one call, while its
 * parent (2) and another family (1) stay. */
static void
test_caps_kill_family_of_ended_child(void **state)
{
	uint64_t other = spawn(SPIN, 5);
	uint64_t top = spawn("0 [ ; \""
	                     "2 { P 0 [ ; \\\"" SPIN "\\\" null ] _ctm $ } L"
	                     "\" null ] _ctm $ " SPIN,
	    0);
	struct pf_stats st;
	for (int i = 0; i < 200; i++) {
		spin_loop(1);
		pf_get_stats(pf, &st);
		if (st.created == 5 && st.ended == 1)
			break;
	}
	assert_int_equal(st.created, 5); /* other, top, child, 2 grandkids */
	assert_int_equal(st.ended, 1);   /* the child */
	assert_int_equal(st.ended_parents, 1);
	uint64_t child = top + 1;
	assert_int_equal(steps_of(child), UINT64_MAX); /* ended */
	assert_int_equal(pf_kill_family(pf, child), 2);
	pf_get_stats(pf, &st);
	assert_int_equal(st.running + st.waiting, 2);
	assert_int_equal(st.ended_parents, 0); /* gone with its kids */
	assert_int_not_equal(steps_of(other), UINT64_MAX);
	assert_int_not_equal(steps_of(top), UINT64_MAX);
	assert_int_equal(pf_kill_family(pf, child), 0);
}

/* MØ source that submits (code) and ends; the result is malloc'd. */
static char *
submit_then_end(char *code)
{
	size_t n = strlen(code);
	char *out = malloc(2 * n + 40), *o = out;
	assert_non_null(out);
	o += sprintf(o, "0 [ ; \"");
	for (size_t i = 0; i < n; i++) {
		if (code[i] == '"' || code[i] == '\\')
			*o++ = '\\';
		*o++ = code[i];
	}
	sprintf(o, "\" null ] _ctm $");
	free(code);
	return out;
}

/* Ended parents are bounded like processes (here 6 of one origin): a
 * chain of 10 in which each submits the next and ends keeps the first
 * six, splices out the next three (their ids are forgotten, counted),
 * and the family of a kept one still reaches the spinning tail. */
static void
test_caps_kill_family_past_the_ended_bound(void **state)
{
	char *code = strdup(SPIN);
	for (int i = 0; i < 9; i++)
		code = submit_then_end(code);
	uint64_t first = spawn(code, 0);
	free(code);
	struct pf_stats st;
	for (int i = 0; i < 200; i++) {
		spin_loop(1);
		pf_get_stats(pf, &st);
		if (st.ended == 9)
			break;
	}
	assert_int_equal(st.created, 10);
	assert_int_equal(st.ended_parents, 6);
	assert_int_equal(st.ended_spliced, 3);
	assert_int_equal(pf_kill_family(pf, first + 7), 0); /* forgotten */
	assert_int_equal(pf_kill_family(pf, first + 2), 1); /* the tail */
	pf_get_stats(pf, &st);
	assert_int_equal(st.running + st.waiting, 0);
	assert_int_equal(st.ended_parents, 0);
	assert_int_equal(st.origins, 0);
}

/* The daemon-wide budget: arrivals past it are refused and counted,
 * and room comes back when processes end. */
static void
test_caps_memory_budget_refuses_work(void **state)
{
	struct pf_stats st;
	int ok = 0, refused = 0;
	for (int i = 0; i < 8; i++) {
		/* each holds about 1 MiB of heap */
		int e = spawn_from("[ 0 ] 16 { P 0 I + } L " SPIN,
		    i % 2 ? "\x0a\0\0\1" : "\x0a\0\0\2");
		ok += e == PF_OK;
		spin_loop(20);
	}
	spin_loop(50);
	pf_get_stats(pf, &st);
	assert_true(st.mem_limit == 4u << 20);
	assert_true(st.mem_used <= st.mem_limit);
	refused = (int)st.mem_refused;
	assert_true(refused > 0);
	assert_true(ok > 0);
	assert_true(st.ended > 0); /* heaps that could not grow: nomemory */
	/* Ending the rest gives their bytes back. */
	for (uint64_t id = 1; id <= 8; id++)
		pf_kill(pf, id);
	pf_get_stats(pf, &st);
	assert_true(st.mem_used < 1u << 20);
	assert_int_equal(spawn_from(SPIN, NULL), PF_OK);
}

/* Channel keys hold budget bytes for their maker's origin: processes
 * that hoard 4000 keys each (about 1 MiB) are stopped by the origin's
 * share of a 4 MiB budget (counted as memory), and the bytes come back
 * when they end. */
static void
test_caps_channel_keys_in_the_budget(void **state)
{
	assert_int_equal(pf_add_console(pf), PF_OK);
	struct pf_stats st;
	pf_get_stats(pf, &st);
	uint64_t base = st.mem_used;
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    spawn_from(
		        "4000 { P 0 0 {} _cha 'console G '_key G ! P } L "
		        "1 N { 1 P } L",
		        NULL),
		    PF_OK);
	spin_loop(400);
	pf_get_stats(pf, &st);
	assert_true(st.drops[PF_DROP_MEMORY] > 0);
	assert_true(st.mem_used <= st.mem_limit);
	assert_true(st.mem_used - base > 2u << 20); /* the keys are in it */
	for (uint64_t id = 1; id <= 4; id++)
		pf_kill(pf, id);
	pf_get_stats(pf, &st);
	assert_true(st.mem_used - base < 64u << 10);
	assert_int_equal(st.origins, 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_core_process_runs_to_end),
	    T(test_core_round_robin_is_fair),
	    T(test_core_meter_turns_set_shares),
	    T(test_core_broke_verdict_ends_process),
	    T(test_core_refused_send_sends_nothing),
	    T(test_core_evict_waiting_process),
	    T(test_core_close_waits_for_services),
	    T(test_core_work_is_stepped_by_scheduler),
	    T(test_core_status_table),
	    T(test_core_errors_have_text),
	    T(test_caps_kill_family),
	    T(test_caps_kill_family_of_ended_child),
	    T(test_caps_many_origins),
#define C(f) cmocka_unit_test_setup_teardown(f, setup_caps, teardown)
	    C(test_caps_origin_keeps_a_reserve),
	    C(test_caps_kill_family_past_the_ended_bound),
	    C(test_caps_channel_keys_in_the_budget),
	    C(test_caps_stopped_queues_go_with_creator),
	    C(test_caps_memory_budget_refuses_work),
	};
	return cmocka_run_group_tests_name("pf_core", tests, NULL, NULL);
}
