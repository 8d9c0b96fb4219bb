# bench/plot/throughput.gp -- requests/s per scenario, cache off vs on.
# Called by tools/bench.sh as: gnuplot -e "dir='<results>'" throughput.gp
# Reads <dir>/throughput.dat, writes throughput.png (log scale).
set terminal pngcairo size 700,450 font "sans,10"
set output dir."/throughput.png"
set title "Throughput per scenario: cache off vs on (requests/s, log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [1:*]
set ylabel "requests/s"
set grid ytics
set key top left
plot dir."/throughput.dat" using 2:xtic(1) title "cache off" lc rgb "#d6604d", \
     "" using 3 title "cache on" lc rgb "#4393c3"
