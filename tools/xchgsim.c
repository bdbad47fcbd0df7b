/*
 * xchgsim: simulates N platforms that price their resources by the real
 * price rule and exchange each other's currencies by the real rate rule,
 * and prints whether the system stays stable (docs/xchg.md).
 *
 *   xchgsim [-n N] [-e EPOCHS] [-s SEED] [-t ring|random] [-d DEGREE]
 *           [-m MESSENGERS] [-S calm|greedy|inflate|all]
 *           [--csv DIR] [--plot DIR]
 *
 * Deterministic given the seed. Exits 0 when every claim of the summary
 * holds, 1 when one fails, 2 on bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sim.h"

static void
usage(void)
{
	fprintf(stderr,
	        "usage: xchgsim [-n N] [-e EPOCHS] [-s SEED] [-t ring|random]\n"
	        "               [-d DEGREE] [-m MESSENGERS] "
	        "[-S calm|greedy|inflate|all]\n"
	        "               [--csv DIR] [--plot DIR]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"csv", required_argument, NULL, 'c'},
	    {"plot", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	struct sim_cfg cfg = {.n = 100,
	                      .epochs = 300,
	                      .seed = 1,
	                      .topo = SIM_RING,
	                      .scenario = SIM_ALL,
	                      .degree = 2,
	                      .mpp = 10};
	const char *csv = NULL, *plot = NULL;
	struct sim_summary sum;
	struct sim_row *rows;
	struct sim *s;
	int c, ok;

	while ((c = getopt_long(argc, argv, "n:e:s:t:d:m:S:", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			cfg.n = atoi(optarg);
			break;
		case 'e':
			cfg.epochs = atoi(optarg);
			break;
		case 's':
			cfg.seed = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			cfg.degree = atoi(optarg);
			break;
		case 'm':
			cfg.mpp = atoi(optarg);
			break;
		case 't':
			if (strcmp(optarg, "ring") == 0)
				cfg.topo = SIM_RING;
			else if (strcmp(optarg, "random") == 0)
				cfg.topo = SIM_RANDOM;
			else
				usage();
			break;
		case 'S':
			if (strcmp(optarg, "calm") == 0)
				cfg.scenario = SIM_CALM;
			else if (strcmp(optarg, "greedy") == 0)
				cfg.scenario = SIM_GREEDY;
			else if (strcmp(optarg, "inflate") == 0)
				cfg.scenario = SIM_INFLATE;
			else if (strcmp(optarg, "all") == 0)
				cfg.scenario = SIM_ALL;
			else
				usage();
			break;
		case 'c':
			csv = optarg;
			break;
		case 'p':
			plot = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (money_init() != MONEY_OK)
		return 1;
	s = sim_new(&cfg);
	rows = calloc((size_t)(cfg.epochs > 0 ? cfg.epochs : 1), sizeof(*rows));
	if (s == NULL || rows == NULL) {
		fprintf(stderr,
		        "xchgsim: bad configuration or out of memory\n");
		return 2;
	}
	sim_run(s, rows, &sum);
	ok = sim_print_summary(stdout, &cfg, &sum);
	if (plot != NULL && csv == NULL)
		csv = plot;
	if (csv != NULL) {
		mkdir(csv, 0755);
		if (sim_write_csv(csv, &cfg, rows) < 0)
			perror("xchgsim: csv");
	}
	if (plot != NULL) {
		mkdir(plot, 0755);
		(void)sim_plot(plot, csv, &cfg);
	}
	free(rows);
	sim_free(s);
	return ok ? 0 : 1;
}
