/*
 * pf_family.c: process families for `m0ctl kill -f` (issue 15, item 2).
 * A family is a process and everything it submitted with `$`,
 * transitively. Each process has a node in a tree of who submitted whom;
 * when a process ends while processes it (or its ended children)
 * submitted still live, its node stays as an ended parent, so that the
 * family of an ended id is still found: kill -f of a fork bomb's
 * intermediate that ended removes what it left behind. A node goes with
 * the last live process below it.
 *
 * Ended parents are bounded like processes: at most max_procs of them,
 * at most origin_procs for one origin (with the share rule). A process
 * that ends when there is no room for it is spliced out: its children
 * hang from its own parent, so the families of its ancestors stay whole
 * and only its own id is forgotten (then an ended arrival's family is
 * still found by its root id).
 */
#include <stdlib.h>

#include "pf_int.h"

struct pf_fnode {
	uint64_t id;
	struct pf_fnode *up;  /* who submitted it, or NULL: an arrival */
	struct pf_link kids;  /* nodes it submitted */
	struct pf_link sib;   /* in up's kids */
	struct pf_proc *proc; /* NULL: ended, kept for its kids */
	struct pf_orig *orig; /* an ended parent's, counting it */
	uint64_t mark;        /* the pf__fam_collect() that saw it */
	bool in;              /* its answer there */
};

bool
pf__fam_join(struct pf_proc *p, struct pf_proc *parent)
{
	struct pf_fnode *f = calloc(1, sizeof(*f));
	if (!f)
		return false;
	f->id = p->id;
	f->proc = p;
	pf__list_init(&f->kids);
	pf__list_init(&f->sib);
	if (parent && parent->node) {
		f->up = parent->node;
		pf__list_add_tail(&f->up->kids, &f->sib);
	}
	p->node = f;
	return true;
}

/* Frees (f), which holds no process and no kids, and each ancestor that
 * was kept only for it. */
static void
fnode_free(struct pf_platform *pf, struct pf_fnode *f)
{
	while (f) {
		struct pf_fnode *up = f->up;
		pf__list_del(&f->sib);
		if (f->orig) {
			f->orig->ended--;
			pf->nended--;
			pf__orig_put(pf, f->orig);
		}
		free(f);
		if (!up || up->proc || !pf__list_empty(&up->kids))
			break;
		f = up;
	}
}

void
pf__fam_leave(struct pf_proc *p)
{
	struct pf_platform *pf = p->pf;
	struct pf_fnode *f = p->node;
	struct pf_orig *o = p->orig;
	if (!f)
		return;
	p->node = NULL;
	f->proc = NULL;
	if (pf__list_empty(&f->kids)) {
		fnode_free(pf, f);
		return;
	}
	if (o &&
	    pf__share_ok(o->ended, 1, pf->nended, pf->cfg.max_procs,
	        pf->cfg.origin_procs)) {
		f->orig = o; /* an ended parent: its origin stays with it */
		o->ended++;
		pf->nended++;
		return;
	}
	/* No room: its kids hang from its parent; its id is forgotten. */
	pf->st.ended_spliced++;
	while (!pf__list_empty(&f->kids)) {
		struct pf_fnode *k =
		    PF_CONTAINER(f->kids.next, struct pf_fnode, sib);
		pf__list_del(&k->sib);
		k->up = f->up;
		if (k->up)
			pf__list_add_tail(&k->up->kids, &k->sib);
	}
	fnode_free(pf, f);
}

/* Appends (p) to the growing array *w; false when out of memory. */
static bool
family_add(struct pf_proc ***w, size_t *n, size_t *cap, struct pf_proc *p)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct pf_proc **nw = realloc(*w, nc * sizeof(*nw));
		if (!nw)
			return false;
		*w = nw;
		*cap = nc;
	}
	(*w)[(*n)++] = p;
	return true;
}

/* Whether (id) is (f) or one of its ancestors. The walk of one
 * pf__fam_collect() (its mark) answers each node once, so a whole
 * collection costs one visit per node however deep the tree. */
static bool
descends(struct pf_fnode *f, uint64_t id, uint64_t mark)
{
	struct pf_fnode *g = f;
	bool in = false;
	for (; g; g = g->up) {
		if (g->mark == mark) {
			in = g->in;
			break;
		}
		if (g->id == id) {
			in = true;
			break;
		}
	}
	for (struct pf_fnode *h = f; h != g; h = h->up) {
		h->mark = mark;
		h->in = in;
	}
	if (g) {
		g->mark = mark;
		g->in = in;
	}
	return in;
}

/* The live members of (id)'s family, oldest first. */
size_t
pf__fam_collect(struct pf_platform *pf, uint64_t id, struct pf_proc ***w)
{
	size_t n = 0, cap = 0;
	uint64_t mark = ++pf->fmark;
	*w = NULL;
	for (struct pf_link *l = pf->all.next; l != &pf->all; l = l->next) {
		struct pf_proc *p = PF_CONTAINER(l, struct pf_proc, all);
		if (p->node && descends(p->node, id, mark) &&
		    !family_add(w, &n, &cap, p))
			return n; /* kills what it has */
	}
	if (n)
		return n;
	/* An ended arrival that was spliced out: every process of its root. */
	for (struct pf_link *l = pf->all.next; l != &pf->all; l = l->next) {
		struct pf_proc *p = PF_CONTAINER(l, struct pf_proc, all);
		if (p->root == id && !family_add(w, &n, &cap, p))
			break;
	}
	return n;
}
