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
usage_to(FILE *f, int status)
{
	fprintf(f,
	    "usage: xchgsim [-n N] [-e EPOCHS] [-s SEED] [-t ring|random]\n"
	    "               [-d DEGREE] [-m MESSENGERS] "
	    "[-S calm|greedy|inflate|all]\n"
	    "               [--csv DIR] [--plot DIR]\n"
	    "  -n N          platforms (default 100)\n"
	    "  -e EPOCHS     price epochs to run (default 300)\n"
	    "  -s SEED       random seed (default 1)\n"
	    "  -t ring|random  topology (default ring with chords)\n"
	    "  -d DEGREE     links per platform (default 2)\n"
	    "  -m MESSENGERS messengers per platform and epoch (default 10)\n"
	    "  -S SCENARIO   calm, greedy, inflate or all (default all)\n"
	    "  --csv DIR     write the series as CSV into DIR\n"
	    "  --plot DIR    draw the four plots into DIR (gnuplot)\n"
	    "  -h, --help    this text\n"
	    "  -V, --version the version\n");
	exit(status);
}

static void
usage(void)
{
	usage_to(stderr, 2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"csv", required_argument, NULL, 'c'},
	    {"plot", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
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

	while ((c = getopt_long(argc, argv, "n:e:s:t:d:m:S:hV", opts, NULL)) !=
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
		case 'h':
			usage_to(stdout, 0);
			break;
		case 'V':
			printf("xchgsim (mzero) %s\n", MZERO_VERSION);
			return 0;
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
		fprintf(
		    stderr, "xchgsim: bad configuration or out of memory\n");
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
