# bench/plot/hitrate.gp -- cache hit rate over time during the peak mix at
# each write share (cache on, starting empty), from the extension's
# cache_stats sampled by tools/lib/bench-sampler.py.  Called by
# tools/bench.sh as: gnuplot -e "dir='<results>'" hitrate.gp
# Reads <dir>/hitrate.dat (one block per write share, a header line naming
# it) and hitrate-steps.gp (dashed lines where the connections change),
# writes hitrate.png.
file = dir."/hitrate.dat"
blocks = system("grep -c '^t ' ".file) + 0
if (blocks < 1) exit
set terminal pngcairo size 900,450 font "sans,10"
set output dir."/hitrate.png"
set title "Peak mix: cache hit rate per second, by write share (steps of 10/25/50/25 connections)"
set xlabel "seconds since the start of the peak run"
set ylabel "hit rate"
set yrange [0:1.05]
set ytics ("0%%" 0, "25%%" 0.25, "50%%" 0.5, "75%%" 0.75, "100%%" 1)
set grid
set key bottom right
if (system("test -s ".dir."/hitrate-steps.gp && echo y") eq "y") load dir."/hitrate-steps.gp"
plot for [i=0:blocks-1] file index i using 1:2 with linespoints pt 7 ps 0.4 title columnheader(2)
