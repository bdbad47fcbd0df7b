/*
 * fuzz_m0.c: random bytes run as a messenger's code with a small step
 * budget and heap quota: the scanner and the VM must never crash, leak or
 * hang, whatever the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "host.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct th t;
	static struct m0_host h;
	static struct m0_global *g;
	if (!g) {
		struct m0_limits lim = {0};
		lim.heap_quota = 1 << 20;
		lim.global_quota = 8 << 20;
		lim.operand_depth = 500;
		lim.exec_depth = 500;
		lim.max_len = 1 << 16;
		lim.name_bytes = 1 << 20;
		th_init(&t, &h);
		g = m0_global_new(&lim, &h, 1, 2);
		if (!g)
			abort();
	}
	if (size > 4096)
		return 0;
	/* The tools' syntax check reads the same bytes without a state: it
	 * must not crash and must point inside the code. */
	struct m0_syntax e;
	if (m0_syntax_check(data, size, &e) != M0_OK &&
	    (e.off > size || !e.why))
		abort();
	struct m0_msg m = {.code = data, .code_len = (uint32_t)size};
	struct m0_state *s;
	if (m0_state_new_msg(g, &m, NULL, NULL, &s))
		return 0;
	m0_state_add_console_words(s);
	for (int i = 0; i < 20 && m0_state_run(s, 1000) == M0_RUN_YIELD; i++)
		;
	m0_state_free(s);
	t.n = 0;
	m0_global_gc(g);
	return 0;
}
