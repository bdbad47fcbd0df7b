/*
 * host.h: a minimal struct m0_host for interpreter unit tests: no queues
 * (enter heads at once), console output captured in a buffer.
 */
#ifndef TEST_M0_HOST_H
#define TEST_M0_HOST_H

#include <stdlib.h>
#include <string.h>

#include "m0.h"

struct th {
	char out[65536];
	size_t n;
	int submits;
};

static int
th_enter(void *ud, struct m0_state *s, uint64_t k, int timed, int64_t d)
{
	return 0;
}
static void
th_leave(void *ud, struct m0_state *s)
{
}
static void
th_qctl(void *ud, struct m0_state *s, uint64_t k, int stop)
{
}
static int
th_current(void *ud, struct m0_state *s, uint64_t *k)
{
	return 0;
}
static int
th_submit(void *ud, struct m0_state *s, const struct m0_value *ori,
    const struct m0_msg *m)
{
	((struct th *)ud)->submits++;
	return 0;
}
static int
th_chan_key(void *ud, struct m0_state *s, const char *f,
    const struct m0_value *a, int64_t i, uint64_t *k)
{
	*k = 42;
	return 0;
}
static void
th_chan_send(
    void *ud, struct m0_state *s, uint64_t k, const uint8_t *b, size_t n)
{
}
static int64_t
th_now(void *ud)
{
	return 1700000000000000;
}
static void
th_random(void *ud, void *b, size_t n)
{
	memset(b, 0x5a, n);
}
static void
th_console(void *ud, struct m0_state *s, const void *b, size_t n)
{
	struct th *t = ud;
	if (t->n + n < sizeof(t->out)) {
		memcpy(t->out + t->n, b, n);
		t->n += n;
		t->out[t->n] = 0;
	}
}

static void
th_init(struct th *t, struct m0_host *h)
{
	memset(t, 0, sizeof(*t));
	*h = (struct m0_host){t, th_enter, th_leave, th_qctl, th_current,
	    th_submit, th_chan_key, th_chan_send, th_now, th_random, th_console,
	    NULL};
}

/* Runs code as a messenger to its end with the console words; returns
 * the m0_end and leaves output in t->out. */
static int
th_run(struct m0_global *g, const char *code, int64_t budget)
{
	struct m0_msg m = {
	    .code = (const uint8_t *)code, .code_len = (uint32_t)strlen(code)};
	struct m0_state *s;
	if (m0_state_new_msg(g, &m, NULL, NULL, &s))
		return -1;
	m0_state_add_console_words(s);
	int r;
	while ((r = m0_state_run(s, budget)) == M0_RUN_YIELD)
		;
	int end = m0_state_end(s);
	m0_state_free(s);
	return end;
}

#endif
