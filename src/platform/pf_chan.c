/*
 * pf_chan.c: channel keys (spec A6). A family's key factory checks the
 * address and returns a fresh random key good for one submission; `$` on
 * it hands the bytes to the family's send function. Any other key does
 * nothing, as in 1994. A key belongs to the process that made it: keys
 * not used when it ends are freed with it, and a process holds at most
 * PF_KEYS_PER_PROC unused keys, so no messenger can make the platform
 * keep memory for it after it is gone. While it holds a key, KEY_COST
 * bytes of the memory budget are held for its origin (4096 keys are
 * about 1 MiB: more than a process's record), so keys cannot carry a
 * fork bomb past the budget.
 */
#include <stdlib.h>
#include <sys/random.h>

#include "pf_int.h"

#define KEY_COST 256u /* the key, its destination and malloc's overhead */

static uint32_t
khash(uint64_t k)
{
	return (uint32_t)(k ^ k >> 29);
}

static void
key_release(struct pf_platform *pf, struct pf_proc *owner)
{
	if (owner->orig)
		pf__orig_release(pf, owner->orig, KEY_COST);
}

int
pf__chan_key(struct pf_platform *pf, struct m0_state *s, const char *family,
    const struct m0_value *addr, int64_t ifindex, uint64_t *key)
{
	struct pf_proc *owner = m0_state_ud(s);
	if (owner && owner->nkeys >= PF_KEYS_PER_PROC)
		return M0_EIMPLEMENTATION_LIMIT;
	struct pf_fam *fam = NULL;
	for (int i = 0; i < pf->nfams; i++)
		if (strcmp(pf->fams[i]->f.name, family) == 0)
			fam = pf->fams[i];
	if (!fam)
		return M0_EINVALID_CHANNEL;
	void *dest = NULL;
	int err = fam->f.check(fam->f.ud, s, addr, ifindex, &dest);
	if (err)
		return err;
	if (pf->nkeys >= pf->kmask) {
		uint32_t ncap = (pf->kmask + 1) * 2;
		struct pf_chankey **nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			goto nomem;
		for (uint32_t i = 0; i <= pf->kmask; i++) {
			struct pf_chankey *c = pf->ktab[i], *next;
			for (; c; c = next) {
				next = c->next;
				c->next = nt[khash(c->key) & (ncap - 1)];
				nt[khash(c->key) & (ncap - 1)] = c;
			}
		}
		free(pf->ktab);
		pf->ktab = nt;
		pf->kmask = ncap - 1;
	}
	struct pf_orig *o = owner ? owner->orig : NULL;
	if (o && !pf__orig_hold(pf, o, KEY_COST)) {
		pf->st.drops[PF_DROP_MEMORY]++;
		goto nomem;
	}
	struct pf_chankey *c = malloc(sizeof(*c));
	if (!c) {
		if (o)
			pf__orig_release(pf, o, KEY_COST);
		goto nomem;
	}
	if (getrandom(&c->key, sizeof(c->key), 0) != sizeof(c->key))
		c->key = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
	c->fam = fam;
	c->dest = dest;
	c->owner = owner;
	pf__list_init(&c->own);
	if (owner) {
		pf__list_add_tail(&owner->keys, &c->own);
		owner->nkeys++;
	}
	c->next = pf->ktab[khash(c->key) & pf->kmask];
	pf->ktab[khash(c->key) & pf->kmask] = c;
	pf->nkeys++;
	*key = c->key;
	return M0_OK;
nomem:
	if (fam->f.dest_free)
		fam->f.dest_free(fam->f.ud, dest);
	return M0_EIMPLEMENTATION_LIMIT;
}

void
pf__chan_send(struct pf_platform *pf, struct pf_proc *from, uint64_t key,
    const uint8_t *buf, size_t len)
{
	struct pf_chankey **pp = &pf->ktab[khash(key) & pf->kmask];
	for (; *pp; pp = &(*pp)->next) {
		struct pf_chankey *c = *pp;
		if (c->key != key)
			continue;
		*pp = c->next; /* one use */
		pf->nkeys--;
		if (c->owner) {
			pf__list_del(&c->own);
			c->owner->nkeys--;
			key_release(pf, c->owner);
		}
		/* Paid before it leaves (the meter); the key is used up
		 * either way. */
		if (pf__meter_send(from, c->fam->f.name, len) == PF_PAID) {
			/* The link charges what it queues to the sender's
			 * origin (pf__orig_hold). */
			pf->sending = from ? from->orig : NULL;
			c->fam->f.send(c->fam->f.ud, c->dest, buf, len);
			pf->sending = NULL;
		}
		if (c->fam->f.dest_free)
			c->fam->f.dest_free(c->fam->f.ud, c->dest);
		free(c);
		return;
	}
}

/* The process ends: the keys it made and did not use go with it. */
void
pf__chan_release(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	while (!pf__list_empty(&p->keys)) {
		struct pf_chankey *c =
		    PF_CONTAINER(p->keys.next, struct pf_chankey, own);
		struct pf_chankey **pp = &pf->ktab[khash(c->key) & pf->kmask];
		while (*pp != c)
			pp = &(*pp)->next;
		*pp = c->next;
		pf->nkeys--;
		pf__list_del(&c->own);
		key_release(pf, p);
		if (c->fam->f.dest_free)
			c->fam->f.dest_free(c->fam->f.ud, c->dest);
		free(c);
	}
	p->nkeys = 0;
}

void
pf__chan_free(struct pf_platform *pf)
{
	for (uint32_t i = 0; pf->ktab && i <= pf->kmask; i++) {
		struct pf_chankey *c = pf->ktab[i], *next;
		for (; c; c = next) {
			next = c->next;
			if (c->fam->f.dest_free)
				c->fam->f.dest_free(c->fam->f.ud, c->dest);
			free(c);
		}
	}
	free(pf->ktab);
	for (int i = 0; i < pf->nfams; i++)
		free(pf->fams[i]);
}

/* ---- the console family: text to whatever the program set with
 * pf_set_console() (stdout in m0 and mdaemon) ---- */

static int
console_check(void *ud, struct m0_state *s, const struct m0_value *addr,
    int64_t ifindex, void **dest)
{
	*dest = NULL;
	/* ifindex indexes _adr 'console, which is [0] (spec A6). */
	return ifindex == 0 ? M0_OK : M0_ERANGE_CHECK;
}

static void
console_send(void *ud, void *dest, const uint8_t *buf, size_t len)
{
	struct pf_platform *pf = ud;
	if (pf->console)
		pf->console(pf->console_ud, NULL, buf, len);
}

int
pf_add_console(struct pf_platform *pf)
{
	struct pf_family con = {.name = "console",
	    .mtu = PF_DGRAM,
	    .ud = pf,
	    .check = console_check,
	    .send = console_send};
	int64_t addr0 = 0;
	return pf_add_family(pf, &con, &addr0, 1);
}
