#!/bin/bash
# Measures the kernel gate's false-alarm and detection rates on this machine
# (README, "Kernel gate"): 16 rounds of the same edgebench binary, one
# kernels JSON file per round, then measure.py splits them into interleaved
# old/new halves, injects 5% and 10% slowdowns into the new side and counts
# how often `edgebench compare --gate` fails.
# Usage: EB=/path/to/edgebench bash run.sh   (in an empty directory)
set -e
EB=${EB:-edgebench}
here=$(dirname "$0")
uptime > uptime-start.txt
for i in $(seq -w 1 16); do
  "$EB" kernels --types q4_0,q8_0 --backends go,avx2 --shapes 4096x1024 --n 1 --ops matvec \
    --reps 3 --min-time 100ms --threads 1 --footprint 16 --no-roofline -o json > round-$i.json
done
uptime > uptime-end.txt
EB="$EB" python3 "$here/measure.py" pool | tee pool.txt
EB="$EB" python3 "$here/measure.py" median | tee median.txt
