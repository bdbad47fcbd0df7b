/*
 * fuzz_link.c: libFuzzer target for what the links receive: the input is
 * a datagram (first byte even) or a TCP stream cut into reads at the
 * bytes that follow (odd), fed to a platform with one listen entry and
 * no sockets. Arrivals run for a bounded number of steps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/platform/pf_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
setup(struct m0_state *s)
{
	return m0_state_add_console_words(s);
}

static void
quiet(void *ud, struct pf_proc *p, const void *buf, size_t len)
{
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct pf_config cfg = {.max_procs = 16, .max_steps = 20000};
	cfg.lim.heap_quota = 1u << 20;
	struct pf_platform *pf = pf_new(&loop, &cfg);
	struct pf_net *n = pf_net_new(pf, NULL, setup);
	if (!pf || !n)
		abort();
	pf_set_console(pf, quiet, NULL);
	struct pf_listen *l = &n->ls[0];
	l->net = n;
	l->index = 0;
	pf_parse_hostport("127.0.0.1:19760", &l->sa);
	n->nls = 1;
	char err[128];
	if (pf_net_start(n, err, sizeof(err)))
		abort();
	struct sockaddr_storage from;
	pf_parse_hostport("127.0.0.2:4000", &from);
	if (!(data[0] & 1)) {
		pf__udp_input(l, data + 1, size - 1, (struct sockaddr *)&from,
		    data[0] & 2);
	} else {
		struct pf_conn *c =
		    pf__tcp_conn_fake(n, (struct sockaddr *)&from);
		size_t cut = data[1] ? data[1] : 1, off = 2;
		while (c && off < size && n->conns == c) {
			size_t k = size - off < cut ? size - off : cut;
			pf__tcp_input(c, data + off, k);
			off += k;
		}
	}
	for (int i = 0; i < 50; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	pf_net_close(n);
	pf_free(pf);
	uv_run(&loop, UV_RUN_DEFAULT);
	pf_net_free(n);
	uv_loop_close(&loop);
	return 0;
}
