/*
 * test_pf_conf.c: the daemon's INI configuration (pf_conf.c): every key,
 * the command-line forms, and errors that name their line.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pf.h"

static struct pf_conf c;
static char err[512];

static int
parse(const char *text)
{
	pf_conf_init(&c);
	err[0] = 0;
	return pf_conf_parse(&c, text, strlen(text), err, sizeof(err));
}

static int
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void
test_conf_defaults(void **state)
{
	assert_int_equal(parse(""), 0);
	assert_int_equal(c.nlisten, 0);
	assert_int_equal(c.nnbr, 0);
	assert_int_equal(c.accept, -1);
	assert_int_equal(c.log_level, PF_LOG_INFO);
	assert_string_equal(c.state_dir, ".");
}

static void
test_conf_every_key(void **state)
{
	const char *text = "; a comment\n"
	                   "# another\n"
	                   "[platform]\n"
	                   "listen = 127.0.0.1:19761\n"
	                   "listen = [::1]:19762\n"
	                   "listen = 0.0.0.0\n"
	                   "state = /var/lib/mzero\n"
	                   "log = debug\n"
	                   "accept = neighbours\n"
	                   "[limits]\n"
	                   "max_procs = 5000\n"
	                   "heap_quota = 4m\n"
	                   "global_quota = 0x10000000\n"
	                   "slice = 500\n"
	                   "max_steps = 1000000\n"
	                   "max_life = 60\n"
	                   "max_msg = 32k\n"
	                   "max_dgram = 1400\n"
	                   "rate = 1000\n"
	                   "burst = 50\n"
	                   "tcp_queue = 64k\n"
	                   "tcp_conns = 32\n"
	                   "tcp_idle = 30\n"
	                   "[neighbours]\n"
	                   "b = 127.0.0.1:19763\n"
	                   "node-c.1 = [::1]\n"
	                   "p = 127.0.0.1:9 "
	                   "00112233445566778899aabbccddeeff"
	                   "00112233445566778899AABBCCDDEEFF\n";
	assert_int_equal(parse(text), 0);
	assert_int_equal(c.nlisten, 3);
	assert_int_equal(c.listen[0].ss_family, AF_INET);
	assert_int_equal(port_of(&c.listen[0]), 19761);
	assert_int_equal(c.listen[1].ss_family, AF_INET6);
	assert_int_equal(port_of(&c.listen[1]), 19762);
	assert_int_equal(port_of(&c.listen[2]), PF_PORT);
	assert_string_equal(c.state_dir, "/var/lib/mzero");
	assert_int_equal(c.log_level, PF_LOG_DEBUG);
	assert_int_equal(c.accept, 0);
	assert_int_equal(c.pf.max_procs, 5000);
	assert_int_equal(c.pf.lim.heap_quota, 4u << 20);
	assert_int_equal(c.pf.lim.global_quota, 0x10000000);
	assert_int_equal(c.pf.slice, 500);
	assert_int_equal(c.pf.max_steps, 1000000);
	assert_int_equal(c.pf.max_life_us, 60000000);
	assert_int_equal(c.pf.lim.max_msg, 32768);
	assert_int_equal(c.net.max_dgram, 1400);
	assert_int_equal(c.net.rate, 1000);
	assert_int_equal(c.net.burst, 50);
	assert_int_equal(c.net.tcp_queue, 65536);
	assert_int_equal(c.net.tcp_conns, 32);
	assert_int_equal(c.net.tcp_idle_s, 30);
	assert_int_equal(c.nnbr, 3);
	assert_int_equal(c.nbr[0].pinned, 0);
	assert_int_equal(c.nbr[2].pinned, 1);
	assert_int_equal(c.nbr[2].key[0], 0x00);
	assert_int_equal(c.nbr[2].key[31], 0xff);
	assert_int_equal(port_of(&c.nbr[2].sa), 9);
	assert_string_equal(c.nbr[0].name, "b");
	assert_int_equal(port_of(&c.nbr[0].sa), 19763);
	assert_string_equal(c.nbr[1].name, "node-c.1");
	assert_int_equal(c.nbr[1].sa.ss_family, AF_INET6);
	assert_int_equal(port_of(&c.nbr[1].sa), PF_PORT);
}

static void
expect_error(const char *text, const char *want)
{
	assert_int_equal(parse(text), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
test_conf_errors_name_their_line(void **state)
{
	expect_error("[platform]\nlisten = nowhere\n", "line 2: listen");
	expect_error("[platform]\n\n\nlog = loud\n", "line 4: log");
	expect_error("[limits]\nmax_procs = -1\n", "line 2: max_procs");
	expect_error("[limits]\nmax_procs = 12x\n", "line 2: max_procs");
	expect_error("[limits]\nmax_dgram = 70000\n", "line 2: max_dgram");
	expect_error(
	    "[limits]\nrate = 99999999999999999999999\n", "line 2: rate");
	expect_error(
	    "[limits]\nslice = 1\nfoo = 2\n", "line 3: unknown key foo");
	expect_error("[platform]\naccept = some\n", "line 2: accept");
	expect_error("[elsewhere]\nx = 1\n", "line 2: unknown section");
	expect_error("[platform]\nthis is not ini\n", "line 2: syntax error");
	expect_error("[neighbours]\nb = 127.0.0.1\nb = 127.0.0.2\n",
	    "line 3: neighbour b given twice");
	expect_error(
	    "[neighbours]\nb/c = 127.0.0.1\n", "line 2: neighbour name");
	expect_error("[neighbours]\nb = [::1\n", "line 2: neighbour b");
	expect_error("[neighbours]\nb = 127.0.0.1 abc\n",
	    "line 2: neighbour b: the key must be 64 hex digits");
	/* The first error wins, whatever comes later. */
	expect_error("[limits]\nslice = x\n[platform]\nnot ini\n", "line 2");
	expect_error("[platform]\nnot ini\n[limits]\nslice = x\n", "line 2");
}

static void
test_conf_command_line_forms(void **state)
{
	pf_conf_init(&c);
	assert_int_equal(
	    pf_conf_add_listen(&c, "127.0.0.1:1", err, sizeof(err)), 0);
	assert_int_equal(
	    pf_conf_add_listen(&c, "[::1]:2", err, sizeof(err)), 0);
	assert_int_equal(pf_conf_add_listen(&c, "::1", err, sizeof(err)), 0);
	assert_int_equal(port_of(&c.listen[2]), PF_PORT);
	assert_int_equal(
	    pf_conf_add_listen(&c, "1.2.3.4:0", err, sizeof(err)), -1);
	assert_int_equal(
	    pf_conf_add_listen(&c, "1.2.3.4:65536", err, sizeof(err)), -1);
	/* A host name is looked up (localhost: /etc/hosts, no query); what
	 * cannot be one is refused without a lookup. */
	assert_int_equal(
	    pf_conf_add_listen(&c, "localhost:1", err, sizeof(err)), 0);
	assert_int_equal(
	    pf_conf_add_listen(&c, "bad_host:1", err, sizeof(err)), -1);
	assert_int_equal(
	    pf_conf_add_neighbour(&c, "x", "127.0.0.1:9", err, sizeof(err)), 0);
	assert_int_equal(
	    pf_conf_add_neighbour(&c, "", "127.0.0.1:9", err, sizeof(err)), -1);
	for (int i = 0; i < PF_CONF_MAX_LISTEN - 4; i++)
		assert_int_equal(
		    pf_conf_add_listen(&c, "127.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(
	    pf_conf_add_listen(&c, "127.0.0.1", err, sizeof(err)), -1);
}

static void
test_conf_hostile_bytes(void **state)
{
	/* NUL bytes, a line far past inih's buffer, no final newline. */
	char text[2000];
	memset(text, 'a', sizeof(text));
	memcpy(text, "[limits]\nslice = 1\0\n", 20);
	text[sizeof(text) - 1] = 0;
	pf_conf_init(&c);
	pf_conf_parse(&c, text, sizeof(text) - 1, err, sizeof(err));
	assert_int_equal(parse("[limits]\nslice = 7"), 0);
	assert_int_equal(c.pf.slice, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_defaults),
	    cmocka_unit_test(test_conf_every_key),
	    cmocka_unit_test(test_conf_errors_name_their_line),
	    cmocka_unit_test(test_conf_command_line_forms),
	    cmocka_unit_test(test_conf_hostile_bytes),
	};
	return cmocka_run_group_tests_name("pf_conf", tests, NULL, NULL);
}
