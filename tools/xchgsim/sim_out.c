/*
 * sim_out.c: the simulator's outputs: one CSV row per epoch, and four
 * small PNG plots drawn by gnuplot from that CSV (skipped, with a note,
 * when gnuplot is not installed).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

int
sim_write_csv(
    const char *dir, const struct sim_cfg *cfg, const struct sim_row *rows)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/xchgsim.csv", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f,
	    "epoch,level_min,level_mean,level_max,level_greedy,"
	    "level_inflate,gap_mean,gap_max,tgap_mean,val_greedy,par_greedy,"
	    "val_inflate,par_inflate,reserve,visits_greedy,visits_normal,"
	    "cycle\n");
	for (int t = 0; t < cfg->epochs; t++) {
		const struct sim_row *r = &rows[t];
		fprintf(f,
		    "%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
		    "%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n",
		    r->epoch, r->level_min, r->level_mean, r->level_max,
		    r->level_greedy, r->level_inflate, r->gap_mean, r->gap_max,
		    r->tgap_mean, r->val_greedy, r->par_greedy, r->val_inflate,
		    r->par_inflate, r->reserve, r->visits_greedy,
		    r->visits_normal, r->cycle);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static const char plot_script[] =
    "set datafile separator ','\n"
    "set terminal pngcairo size 640,360 font ',9' noenhanced\n"
    "set key top left\n"
    "set xlabel 'epoch'\n"
    "set grid\n"
    "set output OUT.'/xchg-levels.png'\n"
    "set title 'Price levels (basket cost / start)'\n"
    "set logscale y\n"
    "plot CSV u 1:2:4 w filledcurves lc rgb '#c8d8f0' t 'normal min..max', "
    "CSV u 1:3 w l lw 2 lc rgb '#1f4e9c' t 'normal mean', "
    "CSV u 1:($5>0?$5:1/0) w l lw 2 lc rgb '#c03020' t 'greedy', "
    "CSV u 1:($6>0?$6:1/0) w l lw 2 lc rgb '#20a040' t 'inflating'\n"
    "set output OUT.'/xchg-rates.png'\n"
    "set title 'Value of a currency at its neighbours (mid rate / start)'\n"
    "plot CSV u 1:($10>0?$10:1/0) w l lw 2 lc rgb '#c03020' t 'greedy: rate', "
    "CSV u 1:($11>0?$11:1/0) w l dt 2 lc rgb '#c03020' t 'greedy: parity', "
    "CSV u 1:($12>0?$12:1/0) w l lw 2 lc rgb '#20a040' t 'inflating: rate', "
    "CSV u 1:($13>0?$13:1/0) w l dt 2 lc rgb '#20a040' t 'inflating: parity'\n"
    "unset logscale y\n"
    "set output OUT.'/xchg-gap.png'\n"
    "set title 'Gap between rates and parity, normal pairs (%)'\n"
    "plot CSV u 1:($7*100) w l lw 2 t 'mean |mid-parity|/parity', "
    "CSV u 1:($8*100) w l t 'max', "
    "CSV u 1:($9*100) w l t 'mean, to the true current parity', "
    "CSV u 1:($17>-1?$17*100:1/0) w p pt 7 ps 0.3 t 'best 2/3-hop cycle gain'\n"
    "set output OUT.'/xchg-reserves.png'\n"
    "set title 'Reserves (value / start) and arrivals per platform'\n"
    "set y2tics\n"
    "plot CSV u 1:14 w l lw 2 t 'reserves (left)', "
    "CSV u 1:15 w l axes x1y2 lc rgb '#c03020' t 'arrivals: greedy (right)', "
    "CSV u 1:16 w l axes x1y2 lc rgb '#1f4e9c' t 'arrivals: normal mean "
    "(right)'\n";

int
sim_plot(const char *dir, const char *csvdir, const struct sim_cfg *cfg)
{
	char cmd[PATH_MAX * 2 + 64];
	FILE *p;

	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr,
		    "xchgsim: gnuplot not found, no plots "
		    "(install gnuplot-nox)\n");
		return -1;
	}
	snprintf(cmd, sizeof(cmd),
	    "gnuplot -e \"CSV='%s/xchgsim.csv'; "
	    "OUT='%s'\" -",
	    csvdir, dir);
	p = popen(cmd, "w");
	if (p == NULL)
		return -1;
	fputs(plot_script, p);
	if (pclose(p) != 0) {
		fprintf(stderr, "xchgsim: gnuplot failed\n");
		return -1;
	}
	(void)cfg;
	return 0;
}
