/*
 * sim.h: the exchange simulator: N platforms, each with the real price
 * rule (money_prices_epoch) and the real rate rule (xchg_rate_update) for
 * the currencies of its neighbours, messengers that travel, change money
 * and buy resources, shifting load, greedy and inflating platforms.
 * Money is integer (fixed point, as in the money core); the statistics
 * are doubles and never feed back into money.
 */
#ifndef XCHGSIM_H
#define XCHGSIM_H

#include <stdint.h>
#include <stdio.h>

#include "xchg.h"

enum sim_topo { SIM_RING = 0, SIM_RANDOM = 1 };

enum sim_scenario {
	SIM_CALM = 0,    /* shifting load only */
	SIM_GREEDY = 1,  /* plus one platform with a 20% utilization target */
	SIM_INFLATE = 2, /* plus one platform that mints 3% more each epoch */
	SIM_ALL = 3,     /* both */
};

struct sim_cfg {
	int n; /* platforms, 2 .. 100000 */
	int epochs;
	uint64_t seed;
	enum sim_topo topo;
	enum sim_scenario scenario;
	int degree; /* chords per platform (ring) or edges (random) */
	int mpp;    /* messengers per platform */
	int quiet;
};

/* One row per epoch, for the CSV and the plots. */
struct sim_row {
	int epoch;
	double level_min, level_mean, level_max; /* normal platforms */
	double level_greedy, level_inflate;      /* 0 if absent */
	double gap_mean, gap_max; /* |mid - parity| / parity, normal pairs */
	double tgap_mean;         /* against the true current parity */
	double val_greedy, val_inflate;      /* mean mid of that currency at its
	                                        neighbours, / start */
	double par_greedy, par_inflate;      /* same for the true parity */
	double reserve;                      /* value of all reserves / start */
	double visits_greedy, visits_normal; /* arrivals per platform */
	double cycle; /* best 2- and 3-cycle factor - 1 */
};

struct sim_summary {
	double level_spread_med, level_spread_max; /* max/min over 2nd half */
	double gap_mean, gap_max, tgap_mean;       /* last epoch */
	double cycle_best;  /* best cycle factor - 1 over the run */
	int neg_cycle;      /* Bellman-Ford found a gaining cycle */
	double infl_normal; /* level end / start, mean of normal */
	double infl_greedy, infl_inflate;
	double value_greedy, value_inflate; /* rate end / start */
	double prop_inflate;   /* rate / parity change (1 = proportional) */
	double money_inflate;  /* its money supply end / start */
	double traffic_greedy; /* arrivals at greedy / normal, 2nd half */
	double steps_per_s;    /* platform-epochs per second */
};

struct sim;

/*
 * sim_new: builds a simulation of (cfg) (copied). NULL on bad config or
 * out of memory.
 */
struct sim *sim_new(const struct sim_cfg *cfg);
void sim_free(struct sim *s);

/*
 * sim_run: runs all epochs, filling one row per epoch into (rows) (array
 * of cfg->epochs, may be NULL) and the summary into (sum).
 */
void sim_run(struct sim *s, struct sim_row *rows, struct sim_summary *sum);

/*
 * sim_print_summary: the summary as text, with the acceptance targets.
 * Returns 1 if every claim holds, 0 if not.
 */
int sim_print_summary(
    FILE *f, const struct sim_cfg *cfg, const struct sim_summary *sum);

/*
 * sim_write_csv, sim_plot: outputs (sim_out.c). sim_plot returns 0, or -1
 * when gnuplot is missing or fails (a note goes to stderr).
 */
int sim_write_csv(
    const char *dir, const struct sim_cfg *cfg, const struct sim_row *rows);
int sim_plot(const char *dir, const char *csvdir, const struct sim_cfg *cfg);

#endif /* XCHGSIM_H */
