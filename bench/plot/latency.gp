# bench/plot/latency.gp -- latency percentiles per scenario, cache off vs on.
# Called by tools/bench.sh as: gnuplot -e "dir='<results>'" latency.gp
# Reads <dir>/latency.dat (tools/lib/bench-summarize.py), writes latency.png.
# Log scale: cached and uncached answers differ by orders of magnitude.
set terminal pngcairo size 900,500 font "sans,10"
set output dir."/latency.png"
set title "Latency percentiles per scenario: cache off vs on (ms, log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [0.05:*]
set ylabel "ms"
set grid ytics
set key top right
plot dir."/latency.dat" using 2:xtic(1) title "off p50" lc rgb "#f4a582", \
     "" using 3 title "off p95" lc rgb "#d6604d", \
     "" using 4 title "off p99" lc rgb "#b2182b", \
     "" using 5 title "on p50" lc rgb "#92c5de", \
     "" using 6 title "on p95" lc rgb "#4393c3", \
     "" using 7 title "on p99" lc rgb "#2166ac"
