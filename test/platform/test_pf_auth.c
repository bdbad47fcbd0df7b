/*
 * test_pf_auth.c: the envelopes of authenticated links (pf_auth.c): a
 * wrapped messenger opens for the pinned peer, and a replay, a changed
 * byte, an unknown key, a missing identity and an envelope older or newer
 * than the age window are each refused with their own reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../src/platform/pf_net.h"

struct side {
	uv_loop_t loop;
	struct pf_platform *pf;
	struct pf_net *n;
	unsigned char pk[32], sk[64];
	bool keyed;
};

static struct side a, b;
static uint8_t env[1024], out[1024];

static void
side_init(struct side *s)
{
	uv_loop_init(&s->loop);
	s->pf = pf_new(&s->loop, NULL);
	s->n = pf_net_new(s->pf, NULL, NULL);
	assert_non_null(s->pf);
	assert_non_null(s->n);
	/* Keys survive a restart of the side (test_auth_replay_across_restart). */
	if (!s->keyed)
		crypto_sign_keypair(s->pk, s->sk);
	s->keyed = true;
}

static void
side_free(struct side *s)
{
	pf_net_close(s->n);
	pf_free(s->pf);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	pf_net_free(s->n);
	uv_loop_close(&s->loop);
}

/* (s) pins (peer) at 127.0.0.1:port. */
static void
pin(struct side *s, const struct side *peer, int port)
{
	struct pf_neighbour nb = {.pinned = 1};
	char addr[32];
	snprintf(nb.name, sizeof(nb.name), "peer");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pf_parse_hostport(addr, &nb.sa);
	memcpy(nb.key, peer->pk, 32);
	/* Without pf_net_start: only the neighbour list and keys matter. */
	free(s->n->nbr);
	s->n->nbr = malloc(sizeof(nb));
	memcpy(s->n->nbr, &nb, sizeof(nb));
	s->n->nnbr = 1;
	assert_int_equal(pf__auth_derive(s->n), 0);
}

static int
setup(void **state)
{
	assert_true(sodium_init() >= 0);
	side_init(&a);
	side_init(&b);
	unsigned char x[32];
	assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(x, a.sk), 0);
	assert_int_equal(pf_net_set_identity(a.n, x, a.pk), 0);
	assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(x, b.sk), 0);
	assert_int_equal(pf_net_set_identity(b.n, x, b.pk), 0);
	pin(&a, &b, 2);
	pin(&b, &a, 1);
	return 0;
}

static int
teardown(void **state)
{
	side_free(&a);
	side_free(&b);
	return 0;
}

static size_t
wrap(const char *text)
{
	size_t n = pf__auth_wrap(
	    a.n, 0, (const uint8_t *)text, strlen(text), env, sizeof(env));
	assert_int_not_equal(n, 0);
	assert_int_equal(env[2], PF_AUTH_VERSION);
	assert_int_equal(pf__auth_frame_len(env, n), n);
	return n;
}

static void
test_auth_opens_for_the_peer(void **state)
{
	size_t n = wrap("hello"), len, ix;
	assert_null(memmem(env, n, "hello", 5)); /* encrypted */
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, &ix), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(ix, 0);
}

static void
test_auth_refuses_a_replay(void **state)
{
	size_t n = wrap("once"), len;
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL), 0);
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_REPLAY);
}

static void
test_auth_refuses_a_changed_byte(void **state)
{
	size_t n = wrap("intact"), len;
	for (size_t i = 40; i < n; i += 7) {
		env[i] ^= 0x20;
		assert_int_equal(
		    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
		    PF_NDROP_AUTH_BAD);
		env[i] ^= 0x20;
	}
	env[3] = 1; /* flags */
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_BAD);
	env[3] = 0;
	assert_int_equal(
	    pf__auth_open(b.n, env, n - 1, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_BAD);
}

static void
test_auth_refuses_an_unknown_key(void **state)
{
	size_t n = wrap("who"), len;
	env[8] ^= 1; /* another sender key */
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_UNKNOWN);
	/* a pinned with b's key, not its own: b's envelopes fail at b. */
	env[8] ^= 1;
	assert_int_equal(
	    pf__auth_open(a.n, env, n, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_UNKNOWN);
}

/*
 * Re-seals the envelope in env (n bytes, made by wrap) with its timestamp
 * moved by (shift_us) and a fresh nonce, as a sender with a skewed or
 * stale clock would have made it. Header: 64 bytes, nonce at 40; the box
 * holds an 8-byte big-endian time before the messenger.
 */
static void
reseal(size_t n, int64_t shift_us)
{
	uint8_t plain[1024];
	size_t plen = n - 64 - crypto_box_MACBYTES;
	assert_int_equal(crypto_box_open_easy_afternm(
	                     plain, env + 64, n - 64, env + 40, a.n->auth_k),
	    0);
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | plain[i];
	t += (uint64_t)shift_us;
	for (int i = 0; i < 8; i++)
		plain[i] = (uint8_t)(t >> (56 - 8 * i));
	/* The counter (nonce bytes 0-7) stays: only the rest is new. */
	randombytes_buf(env + 48, crypto_box_NONCEBYTES - 8);
	crypto_box_easy_afternm(env + 64, plain, plen, env + 40, a.n->auth_k);
}

static void
test_auth_age_window(void **state)
{
	size_t n, len;
	/* Inside the window on either side: opened. */
	n = wrap("recent");
	reseal(n, -(PF_AUTH_WINDOW_US - 2000000));
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL), 0);
	n = wrap("ahead");
	reseal(n, PF_AUTH_WINDOW_US - 2000000);
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL), 0);
	/* A second past it, old or from the future: refused as a replay. */
	n = wrap("stale");
	reseal(n, -(PF_AUTH_WINDOW_US + 1000000));
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_REPLAY);
	n = wrap("future");
	reseal(n, PF_AUTH_WINDOW_US + 1000000);
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_REPLAY);
}

/* An envelope kept aside is refused after any amount of later traffic
 * (the old nonce ring forgot after 4096 envelopes). */
static void
test_auth_replay_after_much_traffic(void **state)
{
	uint8_t kept[1024];
	size_t kn = wrap("kept"), len;
	memcpy(kept, env, kn);
	assert_int_equal(
	    pf__auth_open(b.n, kept, kn, out, sizeof(out), &len, NULL), 0);
	for (int i = 0; i < 3 * PF_REPLAY_BITS; i++) {
		size_t n = wrap("flood");
		assert_int_equal(
		    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
		    0);
	}
	assert_int_equal(
	    pf__auth_open(b.n, kept, kn, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_REPLAY);
}

/* Envelopes that arrive out of order inside the window open once each;
 * one that fell below the window is refused. */
static void
test_auth_reordering_window(void **state)
{
	static uint8_t held[8][1024];
	size_t hn[8], len;
	for (int i = 0; i < 8; i++) {
		hn[i] = wrap("held");
		memcpy(held[i], env, hn[i]);
	}
	for (int i = 7; i >= 0; i--)
		assert_int_equal(pf__auth_open(b.n, held[i], hn[i], out,
		                     sizeof(out), &len, NULL),
		    0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pf__auth_open(b.n, held[i], hn[i], out,
		                     sizeof(out), &len, NULL),
		    PF_NDROP_AUTH_REPLAY);
	uint8_t late[1024];
	size_t ln = wrap("late");
	memcpy(late, env, ln);
	for (int i = 0; i < PF_REPLAY_BITS; i++) {
		size_t n = wrap("ahead");
		assert_int_equal(
		    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL),
		    0);
	}
	assert_int_equal(
	    pf__auth_open(b.n, late, ln, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_REPLAY);
}

/* A restarted receiver with the same replay file refuses what it opened
 * before; a restarted sender's new envelopes still open. */
static void
test_auth_replay_across_restart(void **state)
{
	char dir[] = "/tmp/mzero-replay-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/replay", dir);
	assert_int_equal(pf_net_set_replay_file(b.n, path), 0);
	uint8_t kept[1024];
	size_t kn = wrap("before"), len;
	memcpy(kept, env, kn);
	assert_int_equal(
	    pf__auth_open(b.n, kept, kn, out, sizeof(out), &len, NULL), 0);
	/* Restart both: fresh platforms, same keys, b with the same file. */
	teardown(NULL);
	setup(NULL);
	assert_int_equal(pf_net_set_replay_file(b.n, path), 0);
	assert_int_equal(
	    pf__auth_open(b.n, kept, kn, out, sizeof(out), &len, NULL),
	    PF_NDROP_AUTH_REPLAY);
	size_t n = wrap("after");
	assert_int_equal(
	    pf__auth_open(b.n, env, n, out, sizeof(out), &len, NULL), 0);
	unlink(path);
	rmdir(dir);
}

static void
test_auth_pinned_addresses(void **state)
{
	struct sockaddr_storage sa;
	size_t ix;
	pf_parse_hostport("127.0.0.1:2", &sa);
	assert_non_null(pf__auth_pinned(a.n, (struct sockaddr *)&sa, &ix));
	pf_parse_hostport("127.0.0.1:3", &sa);
	assert_null(pf__auth_pinned(a.n, (struct sockaddr *)&sa, &ix));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auth_opens_for_the_peer),
	    cmocka_unit_test(test_auth_refuses_a_replay),
	    cmocka_unit_test(test_auth_refuses_a_changed_byte),
	    cmocka_unit_test(test_auth_refuses_an_unknown_key),
	    cmocka_unit_test(test_auth_pinned_addresses),
	    cmocka_unit_test(test_auth_age_window),
	    cmocka_unit_test(test_auth_replay_after_much_traffic),
	    cmocka_unit_test(test_auth_reordering_window),
	    cmocka_unit_test(test_auth_replay_across_restart),
	};
	return cmocka_run_group_tests_name("pf_auth", tests, setup, teardown);
}
