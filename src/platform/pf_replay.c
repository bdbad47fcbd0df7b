/*
 * pf_replay.c: replay protection of authenticated envelopes, per peer.
 *
 * Every envelope to a pinned neighbour carries a 64-bit counter in the
 * first 8 bytes of its nonce (the box authenticates the nonce, so the
 * counter cannot be changed). The sender counts per peer, strictly up;
 * the receiver keeps, per peer, the highest counter seen and a window of
 * PF_REPLAY_BITS below it (the sliding window of IPsec and WireGuard): a
 * counter seen before, or below the window, is a replay. Since each peer
 * has its own window, no amount of traffic from anyone else, or from the
 * peer itself, can make an old envelope new again (the single nonce ring
 * of 4096 that this replaces forgot under load).
 *
 * Across restarts: send counters start at the clock in µs shifted left by
 * PF_REPLAY_CLOCK_SHIFT and count up by one per envelope, so a restarted
 * sender starts above anything it sent before unless it sent more than
 * 256 envelopes per µs of its life or its clock went back; the persisted
 * counter, raised by a margin, covers the clock going back. The
 * highest counter seen from each peer is written to the replay file (a
 * rename of a fresh copy) at most once a second while it changes, and at
 * close; a restarted receiver refuses every counter at or below it. After
 * a crash (no write at close), envelopes of the last second before it
 * could be accepted once more, and only within the envelope age window
 * (pf_auth.c): that is the exposure, documented in docs/platform.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pf_net.h"

/* Persisted send counters are raised by this on load: more than the
 * envelopes a platform can send in the second between two writes. */
#define REPLAY_TX_MARGIN (1ull << 32)
#define REPLAY_SAVE_US 1000000
#define REPLAY_REC 48 /* pk 32, highest seen 8, next to send 8 */
#define REPLAY_MAX_REC 4096

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
clock_floor(void)
{
	return (uint64_t)pf_now_us() << PF_REPLAY_CLOCK_SHIFT;
}

/* Everything at or below (top) counts as seen: what a restart knows. */
static void
peer_floor(struct pf_peer_ctr *p, uint64_t top)
{
	p->top = top;
	memset(p->map, 0xff, sizeof(p->map));
}

/* The persisted record of (pk), if the replay file has one. */
static bool
file_lookup(const struct pf_net *n, const unsigned char *pk, uint64_t *top,
    uint64_t *tx)
{
	if (!n->replay_path)
		return false;
	FILE *f = fopen(n->replay_path, "rb");
	if (!f)
		return false;
	uint8_t rec[REPLAY_REC];
	bool found = false;
	for (int i = 0;
	     i < REPLAY_MAX_REC && fread(rec, 1, sizeof(rec), f) == sizeof(rec);
	     i++)
		if (!memcmp(rec, pk, 32)) {
			*top = get64(rec + 32);
			*tx = get64(rec + 40);
			found = true;
		}
	fclose(f);
	return found;
}

int
pf__replay_sync(struct pf_net *n)
{
	struct pf_peer_ctr *np = NULL;
	if (n->nnbr) {
		np = calloc(n->nnbr, sizeof(*np));
		if (!np)
			return -1;
	}
	for (size_t i = 0; i < n->nnbr; i++) {
		struct pf_peer_ctr *p = &np[i];
		const struct pf_peer_ctr *old = NULL;
		memcpy(p->pk, n->nbr[i].key, 32);
		if (!n->nbr[i].pinned)
			continue;
		for (size_t j = 0; j < n->npeer; j++)
			if (!memcmp(n->peer[j].pk, p->pk, 32))
				old = &n->peer[j];
		if (old) { /* a reload keeps what the running daemon knows */
			*p = *old;
			continue;
		}
		uint64_t top = 0, tx = 0;
		p->tx = clock_floor();
		if (file_lookup(n, p->pk, &top, &tx)) {
			peer_floor(p, top);
			if (tx + REPLAY_TX_MARGIN > p->tx)
				p->tx = tx + REPLAY_TX_MARGIN;
		}
	}
	free(n->peer);
	n->peer = np;
	n->npeer = n->nnbr;
	return 0;
}

uint64_t
pf__replay_next(struct pf_net *n, size_t ix)
{
	/* Strictly up by one: the receiver's window counts envelopes, so a
	 * counter that followed the clock would make it microseconds wide.
	 * The clock sets only the start (pf__replay_sync). */
	n->replay_dirty = true;
	return ++n->peer[ix].tx;
}

bool
pf__replay_accept(struct pf_net *n, size_t ix, uint64_t ctr)
{
	struct pf_peer_ctr *p = &n->peer[ix];
	const uint64_t words = PF_REPLAY_BITS / 64;
	if (ctr == 0)
		return false;
	if (ctr > p->top) {
		/* Slide: clear the words between the old top and the new. */
		uint64_t from = p->top / 64, to = ctr / 64;
		if (to - from >= words)
			memset(p->map, 0, sizeof(p->map));
		else
			for (uint64_t w = from + 1; w <= to; w++)
				p->map[w % words] = 0;
		p->top = ctr;
	} else if (p->top - ctr >= PF_REPLAY_BITS - 64) {
		return false; /* below the window: too old to tell, refused */
	}
	uint64_t *w = &p->map[(ctr / 64) % words];
	uint64_t bit = 1ull << (ctr % 64);
	if (*w & bit)
		return false;
	*w |= bit;
	n->replay_dirty = true;
	return true;
}

void
pf__replay_save(struct pf_net *n, bool force)
{
	if (!n->replay_path || !n->replay_dirty || !n->npeer)
		return;
	int64_t now = pf_now_us();
	if (!force && now - n->replay_saved_us < REPLAY_SAVE_US)
		return;
	n->replay_saved_us = now;
	size_t plen = strlen(n->replay_path);
	char *tmp = malloc(plen + 5);
	if (!tmp)
		return;
	memcpy(tmp, n->replay_path, plen);
	memcpy(tmp + plen, ".new", 5);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0;
	for (size_t i = 0; ok && i < n->npeer; i++) {
		uint8_t rec[REPLAY_REC];
		if (!n->nbr[i].pinned)
			continue;
		memcpy(rec, n->peer[i].pk, 32);
		put64(rec + 32, n->peer[i].top);
		put64(rec + 40, n->peer[i].tx);
		ok = write(fd, rec, sizeof(rec)) == (ssize_t)sizeof(rec);
	}
	if (fd >= 0 && close(fd))
		ok = false;
	if (ok && rename(tmp, n->replay_path) == 0)
		n->replay_dirty = false;
	else
		unlink(tmp);
	free(tmp);
}

int
pf_net_set_replay_file(struct pf_net *n, const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -1;
	free(n->replay_path);
	n->replay_path = p;
	/* Peers already known take their floors from the file. */
	free(n->peer);
	n->peer = NULL;
	n->npeer = 0;
	return pf__replay_sync(n);
}

void
pf__replay_free(struct pf_net *n)
{
	pf__replay_save(n, true);
	free(n->peer);
	free(n->replay_path);
	n->peer = NULL;
	n->replay_path = NULL;
	n->npeer = 0;
}
