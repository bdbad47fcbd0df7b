/*
 * sim.c: the model behind xchgsim. Each epoch:
 *
 *  1. every platform rates each neighbour's currency with the real rule
 *     (xchg_rate_update) from its own current prices and the neighbour's
 *     quote of the previous epoch (one epoch stale: the worst a quote's
 *     validity allows), and its reserve of that currency;
 *  2. local (background) load follows a wave that moves around the
 *     platforms; it is nominal demand (the local money supply) divided
 *     by the price level, so it falls when prices rise;
 *  3. each messenger buys 1..3 baskets where it is, then either moves to
 *     the neighbour that looks cheapest (changing money at the better of
 *     the two exchanges: buy the next currency here at the ask, or sell
 *     ours there at the bid) or stays; one that cannot pay for a basket
 *     ends, and its home funds a new one;
 *  4. every platform runs the real price rule (money_prices_epoch).
 *
 * Greedy platforms target 20% utilization instead of 50%. An inflating
 * platform funds its messengers with 3% more money each epoch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

static const int64_t basket_w[MONEY_RES_N] = {
#define SIM_W(id, w) [MONEY_RES_##id] = w,
    XCHG_BASKET(SIM_W)
#undef SIM_W
};

struct plat {
	struct money_prices pr;
	int64_t quote_cur[MONEY_RES_N]; /* the quote others get now */
	int64_t quote_old[MONEY_RES_N]; /* the one before: what they use */
	int64_t cap[MONEY_RES_N];
	int64_t used[MONEY_RES_N];
	double phase;
	int greedy, inflate;
	int nn, capn;
	int *nb;                /* neighbours */
	int *back;              /* our index in each neighbour's list */
	struct xchg_rate *rate; /* rate of each neighbour's currency */
	int64_t *res;           /* reserve of each neighbour's currency */
	int64_t budget;         /* nominal funding of one messenger */
	double level0, level;
	double arrivals, arrivals2; /* this epoch, summed over 2nd half */
	double lmin2, lmax2;        /* level range over the 2nd half */
};

struct msgr {
	int home, loc;
	int64_t wallet;
};

struct sim {
	struct sim_cfg cfg;
	struct xchg_rate_param param;
	struct plat *p;
	struct msgr *m;
	int nm;
	uint64_t rng;
	int greedy, inflate; /* index or -1 */
	double val0_g, val0_i, par0_g, par0_i, res0;
};

static uint64_t
rnd(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
frand(struct sim *s)
{
	return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static int
linked(const struct plat *a, int j)
{
	for (int k = 0; k < a->nn; k++)
		if (a->nb[k] == j)
			return k;
	return -1;
}

static int
add_nb(struct plat *a, int j)
{
	if (a->nn == a->capn) {
		int n = a->capn ? a->capn * 2 : 8;
		void *q = realloc(a->nb, (size_t)n * sizeof(int));
		if (q == NULL)
			return -1;
		a->nb = q;
		a->capn = n;
	}
	a->nb[a->nn++] = j;
	return 0;
}

static int
link2(struct sim *s, int i, int j)
{
	if (i == j || linked(&s->p[i], j) >= 0)
		return 0;
	return add_nb(&s->p[i], j) < 0 || add_nb(&s->p[j], i) < 0 ? -1 : 0;
}

static uint64_t
level_of(const int64_t price[MONEY_RES_N])
{
	uint64_t l = 0;

	if (xchg_level(price, &l) != XCHG_OK)
		return UINT64_MAX;
	return l;
}

static int
build(struct sim *s)
{
	int n = s->cfg.n;

	for (int i = 0; i < n; i++) {
		if (s->cfg.topo == SIM_RING) {
			if (link2(s, i, (i + 1) % n) < 0)
				return -1;
		} else if (i > 0 &&
		    link2(s, i, (int)(rnd(s) % (uint64_t)i)) < 0) {
			return -1;
		}
	}
	for (int i = 0; i < n; i++)
		for (int d = 0; d < s->cfg.degree; d++)
			if ((rnd(s) & 1) &&
			    link2(s, i, (int)(rnd(s) % (uint64_t)n)) < 0)
				return -1;
	for (int i = 0; i < n; i++) {
		struct plat *a = &s->p[i];
		a->back = calloc((size_t)a->nn, sizeof(int));
		a->rate = calloc((size_t)a->nn, sizeof(struct xchg_rate));
		a->res = calloc((size_t)a->nn, sizeof(int64_t));
		if (a->back == NULL || a->rate == NULL || a->res == NULL)
			return -1;
	}
	for (int i = 0; i < n; i++)
		for (int k = 0; k < s->p[i].nn; k++)
			s->p[i].back[k] = linked(&s->p[s->p[i].nb[k]], i);
	return 0;
}

struct sim *
sim_new(const struct sim_cfg *cfg)
{
	struct sim *s;
	uint64_t l0;

	if (cfg->n < 2 || cfg->n > 100000 || cfg->epochs < 1 || cfg->mpp < 1 ||
	    cfg->degree < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	s->rng = cfg->seed ^ 0x6d7a65726f78ull;
	xchg_rate_param_default(&s->param);
	s->p = calloc((size_t)cfg->n, sizeof(*s->p));
	s->nm = cfg->n * cfg->mpp;
	s->m = calloc((size_t)s->nm, sizeof(*s->m));
	if (s->p == NULL || s->m == NULL || build(s) < 0)
		goto err;
	s->greedy = s->inflate = -1;
	if (cfg->scenario == SIM_GREEDY || cfg->scenario == SIM_ALL)
		s->greedy = 0;
	if (cfg->scenario == SIM_INFLATE || cfg->scenario == SIM_ALL)
		s->inflate = cfg->n / 2;
	for (int i = 0; i < cfg->n; i++) {
		struct plat *a = &s->p[i];
		money_prices_init(&a->pr);
		for (int r = 0; r < MONEY_RES_N; r++) {
			struct money_price_param q = a->pr.param[r];
			/* Prices far above D keep the band near 1/D. */
			q.initial *= 1000;
			if (i == s->greedy)
				q.target = MONEY_PPM / 5;
			money_prices_set_param(&a->pr, r, &q);
			/* Messengers of one platform alone fill about a
			 * quarter; the wave adds the rest. */
			a->cap[r] = basket_w[r] * 8 * cfg->mpp;
		}
		memcpy(a->quote_cur, a->pr.price, sizeof(a->quote_cur));
		memcpy(a->quote_old, a->pr.price, sizeof(a->quote_old));
		a->greedy = i == s->greedy;
		a->inflate = i == s->inflate;
		a->phase = 2 * M_PI * i / cfg->n;
		l0 = level_of(a->pr.price);
		a->level0 = a->level = (double)l0;
		a->budget = (int64_t)l0 * 20;
		a->lmin2 = 1e300;
	}
	/* The reserve target is worth ten budgets; each exchange starts
	 * with that much of each neighbour's currency. */
	s->param.target = s->p[0].budget * 10;
	for (int i = 0; i < cfg->n; i++)
		for (int k = 0; k < s->p[i].nn; k++)
			s->p[i].res[k] = s->param.target;
	for (int j = 0; j < s->nm; j++) {
		s->m[j].home = s->m[j].loc = j / cfg->mpp;
		s->m[j].wallet = s->p[s->m[j].home].budget;
	}
	return s;
err:
	sim_free(s);
	return NULL;
}

void
sim_free(struct sim *s)
{
	if (s == NULL)
		return;
	for (int i = 0; s->p != NULL && i < s->cfg.n; i++) {
		free(s->p[i].nb);
		free(s->p[i].back);
		free(s->p[i].rate);
		free(s->p[i].res);
	}
	free(s->p);
	free(s->m);
	free(s);
}

/* The best factor of one hop from currency x to currency y (neighbours):
 * y buys x at its bid, or x sells y at its ask. */
static double
hop(const struct sim *s, int x, int y)
{
	const struct plat *a = &s->p[x], *b = &s->p[y];
	int kx = linked(b, x), ky = linked(a, y);
	double f1 = xchg_rat_double(b->rate[kx].bid);
	double f2 = 1.0 / xchg_rat_double(a->rate[ky].ask);

	return f1 > f2 ? f1 : f2;
}

/* The best 2- and 3-hop cycle factor minus 1. */
static double
best_cycle(const struct sim *s)
{
	double best = -1;

	for (int i = 0; i < s->cfg.n; i++) {
		const struct plat *a = &s->p[i];
		for (int k = 0; k < a->nn; k++) {
			int j = a->nb[k];
			double f = hop(s, i, j) * hop(s, j, i) - 1;
			if (f > best)
				best = f;
			for (int l = 0; l < a->nn; l++) {
				int m = a->nb[l];
				if (m == j || linked(&s->p[j], m) < 0)
					continue;
				f = hop(s, i, j) * hop(s, j, m) * hop(s, m, i) -
				    1;
				if (f > best)
					best = f;
			}
		}
	}
	return best;
}

/* Bellman-Ford on -log(hop): 1 if some cycle of any length gains. */
static int
gaining_cycle(const struct sim *s)
{
	int n = s->cfg.n;
	double *d = calloc((size_t)n, sizeof(double));
	int changed = 1;

	if (d == NULL)
		return 0;
	for (int it = 0; it < n && changed; it++) {
		changed = 0;
		for (int x = 0; x < n; x++) {
			for (int k = 0; k < s->p[x].nn; k++) {
				int y = s->p[x].nb[k];
				double w = -log(hop(s, x, y));
				if (d[x] + w < d[y] - 1e-12) {
					d[y] = d[x] + w;
					changed = 1;
				}
			}
		}
	}
	free(d);
	return changed;
}

static void
rate_all(struct sim *s)
{
	for (int i = 0; i < s->cfg.n; i++) {
		struct plat *a = &s->p[i];
		for (int k = 0; k < a->nn; k++)
			(void)xchg_rate_update(&a->rate[k], a->pr.price,
			    s->p[a->nb[k]].quote_old, a->res[k], &s->param);
	}
}

static void
move(struct sim *s, struct msgr *m)
{
	struct plat *a = &s->p[m->loc];
	int best = -1;
	double cost = 0;

	for (int k = 0; k < a->nn; k++) {
		const struct plat *b = &s->p[a->nb[k]];
		/* The destination's fresh quote times what our exchange
		 * asks for its currency: a rate that lags a fast-rising
		 * price level makes that platform dear. */
		double c = (double)level_of(b->quote_cur) *
		    xchg_rat_double(a->rate[k].ask) * (0.8 + 0.4 * frand(s));
		if (best < 0 || c < cost) {
			best = k;
			cost = c;
		}
	}
	if (best < 0)
		return;
	int j = a->nb[best];
	struct plat *b = &s->p[j];
	struct xchg_rat ask = a->rate[best].ask, inv = {ask.den, ask.num};
	int64_t here = 0, there = 0;
	/* Buy here at the ask, if the reserve has it. */
	if (xchg_rat_mul_floor(m->wallet, inv, &here) != XCHG_OK ||
	    here > a->res[best])
		here = 0;
	/* Or sell ours there at its bid. */
	if (xchg_rat_mul_floor(m->wallet, b->rate[a->back[best]].bid, &there) !=
	    XCHG_OK)
		there = 0;
	if (here == 0 && there == 0)
		return;
	if (here >= there) {
		a->res[best] -= here;
		m->wallet = here;
	} else {
		int64_t *r = &b->res[a->back[best]];
		*r = *r > INT64_MAX - m->wallet ? INT64_MAX : *r + m->wallet;
		m->wallet = there;
	}
	m->loc = j;
	b->arrivals++;
}

static void
messengers(struct sim *s)
{
	for (int i = 0; i < s->nm; i++) {
		struct msgr *m = &s->m[i];
		struct plat *a = &s->p[m->loc];
		uint64_t l = level_of(a->pr.price);
		int64_t want = 1 + (int64_t)(rnd(s) % 3), k;

		k = l ? m->wallet / (int64_t)l : 0;
		if (k > want)
			k = want;
		m->wallet -= k * (int64_t)l;
		for (int r = 0; r < MONEY_RES_N; r++)
			a->used[r] += k * basket_w[r];
		if (m->wallet < (int64_t)l) {
			/* Spent: it ends and its home funds a new one. */
			m->loc = m->home;
			m->wallet = s->p[m->home].budget;
			continue;
		}
		if (frand(s) < 0.6)
			move(s, m);
	}
}

static void
row_stats(struct sim *s, int t, struct sim_row *row)
{
	int n = s->cfg.n, nn = 0, ng = 0;
	double gsum = 0, tsum = 0, gmax = 0, rv = 0;
	double vg = 0, vi = 0, pg = 0, pi = 0, ag = 0, an = 0;
	int cg = 0, ci = 0;

	memset(row, 0, sizeof(*row));
	row->epoch = t;
	row->level_min = 1e300;
	for (int i = 0; i < n; i++) {
		struct plat *a = &s->p[i];
		a->level = (double)level_of(a->pr.price);
		if (a->greedy) {
			row->level_greedy = a->level / a->level0;
			ag += a->arrivals;
		} else if (a->inflate) {
			row->level_inflate = a->level / a->level0;
		} else {
			double l = a->level / a->level0;
			row->level_mean += l;
			if (l < row->level_min)
				row->level_min = l;
			if (l > row->level_max)
				row->level_max = l;
			an += a->arrivals;
			nn++;
		}
		if (t >= s->cfg.epochs / 2) {
			if (a->level < a->lmin2)
				a->lmin2 = a->level;
			if (a->level > a->lmax2)
				a->lmax2 = a->level;
			a->arrivals2 += a->arrivals;
		}
		a->arrivals = 0;
	}
	row->level_mean /= nn ? nn : 1;
	row->visits_normal = an / (nn ? nn : 1);
	row->visits_greedy = ag;
	for (int i = 0; i < n; i++) {
		struct plat *a = &s->p[i];
		for (int k = 0; k < a->nn; k++) {
			struct plat *b = &s->p[a->nb[k]];
			double mid = xchg_rat_double(a->rate[k].mid);
			double par = xchg_rat_double(a->rate[k].parity);
			double tru = a->level / b->level;
			rv += (double)a->res[k] * par / s->param.target;
			/* The value of the greedy (inflating) currency as
			 * seen by normal platforms only. */
			if (b->greedy && !a->inflate) {
				vg += mid;
				pg += tru;
				cg++;
			}
			if (b->inflate && !a->greedy) {
				vi += mid;
				pi += tru;
				ci++;
			}
			if (a->greedy || a->inflate || b->greedy || b->inflate)
				continue;
			double g = fabs(mid - par) / par;
			gsum += g;
			tsum += fabs(mid - tru) / tru;
			if (g > gmax)
				gmax = g;
			ng++;
		}
	}
	row->gap_mean = gsum / (ng ? ng : 1);
	row->tgap_mean = tsum / (ng ? ng : 1);
	row->gap_max = gmax;
	if (t == 0) {
		s->val0_g = cg ? vg / cg : 1;
		s->par0_g = cg ? pg / cg : 1;
		s->val0_i = ci ? vi / ci : 1;
		s->par0_i = ci ? pi / ci : 1;
		s->res0 = rv;
	}
	row->val_greedy = cg ? vg / cg / s->val0_g : 0;
	row->par_greedy = cg ? pg / cg / s->par0_g : 0;
	row->val_inflate = ci ? vi / ci / s->val0_i : 0;
	row->par_inflate = ci ? pi / ci / s->par0_i : 0;
	row->reserve = rv / s->res0;
}

void
sim_run(struct sim *s, struct sim_row *rows, struct sim_summary *sum)
{
	struct timespec t0, t1;
	int n = s->cfg.n, every = n <= 200 ? 1 : 10;
	struct sim_row row = {0};

	memset(sum, 0, sizeof(*sum));
	sum->cycle_best = -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int t = 0; t < s->cfg.epochs; t++) {
		for (int i = 0; i < n; i++) {
			struct plat *a = &s->p[i];
			memcpy(
			    a->quote_old, a->quote_cur, sizeof(a->quote_old));
			memcpy(a->quote_cur, a->pr.price, sizeof(a->quote_cur));
		}
		rate_all(s);
		for (int i = 0; i < n; i++) {
			struct plat *a = &s->p[i];
			/* Local demand: a wave in nominal terms (the local
			 * money supply, which grows at an inflating
			 * platform), divided by the price level. */
			double w =
			    0.25 + 0.2 * sin(2 * M_PI * t / 50 + a->phase);
			double real = (double)a->budget / (20 * a->level0) *
			    a->level0 / a->level;
			for (int r = 0; r < MONEY_RES_N; r++)
				a->used[r] = (int64_t)((double)a->cap[r] * w *
				    (real < 4 ? real : 4));
			if (a->inflate)
				a->budget += a->budget / 33;
		}
		messengers(s);
		row_stats(s, t, &row);
		row.cycle = (t % every == 0 || t == s->cfg.epochs - 1)
		    ? best_cycle(s)
		    : -1;
		if (row.cycle > sum->cycle_best)
			sum->cycle_best = row.cycle;
		if (rows != NULL)
			rows[t] = row;
		for (int i = 0; i < n; i++)
			money_prices_epoch(
			    &s->p[i].pr, s->p[i].used, s->p[i].cap);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	sum->steps_per_s = (double)n * s->cfg.epochs /
	    ((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	sum->neg_cycle = gaining_cycle(s);
	sum->gap_mean = row.gap_mean;
	sum->gap_max = row.gap_max;
	sum->tgap_mean = row.tgap_mean;
	sum->value_greedy = row.val_greedy;
	sum->value_inflate = row.val_inflate;

	double *sp = malloc(sizeof(double) * (size_t)n), ag = 0, an = 0;
	int k = 0;
	for (int i = 0; i < n; i++) {
		struct plat *a = &s->p[i];
		double infl = a->level / a->level0;
		/* Arrivals per link, so that degree does not count. */
		if (a->greedy) {
			sum->infl_greedy = infl;
			ag += a->arrivals2 / a->nn;
			continue;
		}
		if (a->inflate) {
			sum->infl_inflate = infl;
			continue;
		}
		sum->infl_normal += infl;
		an += a->arrivals2 / a->nn;
		if (sp != NULL)
			sp[k] = a->lmax2 / a->lmin2;
		k++;
	}
	sum->infl_normal /= k ? k : 1;
	sum->traffic_greedy = s->greedy >= 0 && an > 0 ? ag / (an / k) : 0;
	/* The rate of the inflating currency against the parity of its
	 * price level with its neighbours' (1 = it fell in proportion). */
	sum->prop_inflate =
	    row.par_inflate > 0 ? row.val_inflate / row.par_inflate : 0;
	sum->money_inflate = s->inflate >= 0
	    ? (double)s->p[s->inflate].budget / (20 * s->p[s->inflate].level0)
	    : 0;
	if (sp != NULL && k > 0) {
		for (int i = 1; i < k; i++)
			for (int j = i; j > 0 && sp[j - 1] > sp[j]; j--) {
				double x = sp[j];
				sp[j] = sp[j - 1];
				sp[j - 1] = x;
			}
		sum->level_spread_med = sp[k / 2];
		sum->level_spread_max = sp[k - 1];
	}
	free(sp);
}

int
sim_print_summary(FILE *f, const struct sim_cfg *c, const struct sim_summary *s)
{
	int ok = 1, g = c->scenario == SIM_GREEDY || c->scenario == SIM_ALL;
	int inf = c->scenario == SIM_INFLATE || c->scenario == SIM_ALL;

#define CLAIM(cond, ...)                                                       \
	do {                                                                   \
		int c_ = (cond);                                               \
		ok &= c_;                                                      \
		fprintf(f, "  [%s] ", c_ ? "ok" : "FAIL");                     \
		fprintf(f, __VA_ARGS__);                                       \
		fputc('\n', f);                                                \
	} while (0)
	fprintf(f,
	    "xchgsim: %d platforms, %d epochs, seed %llu, %s topology, "
	    "scenario %d, %.0f platform-epochs/s\n",
	    c->n, c->epochs, (unsigned long long)c->seed,
	    c->topo == SIM_RING ? "ring+chords" : "random", c->scenario,
	    s->steps_per_s);
	CLAIM(s->gap_mean < 0.05,
	    "rates within 5%% of parity: mean gap %.4f%% (max %.3f%%), "
	    "to the true current parity %.3f%%",
	    100 * s->gap_mean, 100 * s->gap_max, 100 * s->tgap_mean);
	CLAIM(s->level_spread_max < 4,
	    "price levels bounded under shifting load: max/min over the 2nd "
	    "half, median %.3f, worst %.3f; mean level end/start %.3f",
	    s->level_spread_med, s->level_spread_max, s->infl_normal);
	CLAIM(s->cycle_best <= 0 && !s->neg_cycle,
	    "no arbitrage cycle gains: best 2/3-hop cycle %+.4f%%, "
	    "any length (Bellman-Ford): %s",
	    100 * s->cycle_best, s->neg_cycle ? "GAIN FOUND" : "none");
	if (g) {
		CLAIM(s->value_greedy < 1 && s->traffic_greedy < 1,
		    "greedy currency loses value (rate x%.3f, level x%.3f) and "
		    "traffic avoids it (arrivals per link %.2f of a normal "
		    "platform's)",
		    s->value_greedy, s->infl_greedy, s->traffic_greedy);
	}
	if (inf) {
		CLAIM(s->prop_inflate > 0.85 && s->prop_inflate < 1.15,
		    "inflation is not exported: money x%.4g, its level x%.4g, "
		    "its rate x%.4g = %.3f of its parity (1 = in proportion); "
		    "normal levels x%.3f",
		    s->money_inflate, s->infl_inflate, s->value_inflate,
		    s->prop_inflate, s->infl_normal);
	}
#undef CLAIM
	return ok;
}
