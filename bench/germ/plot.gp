# gnuplot bench/germ/plot.gp: docs/img/germ-bench.png from
# bench/germ/results.dat (columns: N per_s ready_s bound_s heal_s
# heal_bound_s msgs msgs_bound; one line per run of bench/germ/run.sh).
set terminal pngcairo size 900,420 font ",10"
set output "docs/img/germ-bench.png"
set multiplot layout 1,2
set logscale x
set xlabel "platforms N"
set key top left font ",8"
set grid
set title "time to ready and to heal (s)"
set logscale y
plot "bench/germ/results.dat" using 1:3 with linespoints pt 7 title "ready", \
     "" using 1:4 with lines dt 2 title "bound (D+4) ticks", \
     "" using 1:5 with linespoints pt 5 title "heal", \
     "" using 1:6 with lines dt 3 title "heal bound (dead+lag+3) ticks"
unset logscale y
set title "messengers received per platform until ready"
plot "bench/germ/results.dat" using 1:7 with linespoints pt 7 title "measured", \
     "" using 1:8 with lines dt 2 title "bound 5 deg + 2 deg ticks"
unset multiplot
