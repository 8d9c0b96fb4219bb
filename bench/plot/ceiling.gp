# bench/plot/ceiling.gp -- cached GET /stats through the gateway vs the
# ceiling gateway (same statement, same pool): requests/s and p99 side by
# side.  Called by tools/bench.sh as: gnuplot -e "dir='<results>'" ceiling.gp
# Reads <dir>/ceiling.dat, writes ceiling.png.
if (system("grep -c '^\"' ".dir."/ceiling.dat") + 0 < 2) exit
set terminal pngcairo size 800,400 font "sans,10"
set output dir."/ceiling.png"
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.6
set grid ytics
set key off
set multiplot layout 1,2 title "Cached GET /stats: gateway vs ceiling (medians, wrk -c50)"
set title "requests/s"
set yrange [0:*]
plot dir."/ceiling.dat" using 2:xtic(1) lc rgb "#4393c3"
set title "p99 latency (ms)"
plot dir."/ceiling.dat" using 3:xtic(1) lc rgb "#b2182b"
unset multiplot
