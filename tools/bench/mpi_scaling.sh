#!/usr/bin/env bash
# tools/bench/mpi_scaling.sh - the README's samples/s of 1 process against 2 (one thread each)
# and one process on 2 threads: best_mla-o (its 13.1M parameters, vocabulary 30522) on the
# built-in data packed into full 128-token sequences, updates of 32 sequences as 2 micro-batches.
#     bash tools/bench/mpi_scaling.sh [REPS]      (needs build/ss, build/mpi/ss and build/omp/ss:
#                                                  make; make MPI=1; make OPENMP=1 BUILD=build/omp)
# Prints the median samples/s over updates 2..6 of each run (the first warms the caches).
set -eu
reps=${1:-2}
W=build/scaling
rm -rf $W
build/ss data --out $W/data --train 6000 --valid 10 --quiet
ARGS=(pretrain --config configs/best_mla-o.json --train $W/data/train.txt --vocab $W/data/vocab.txt
      --quiet --set pre_train.train_batch_size=32 --set pre_train.gradient_accumulation_steps=2
      --set pre_train.num_train_steps=6 --set pre_train.logging_steps=1
      --set pre_train.pack_sequences=true --set pre_train.save_total_limit=1)
med() { # median samples/s of updates 2.. of a run
    python3 -c 'import json,sys,statistics
r=[json.loads(l)["samples_per_s"] for l in open(sys.argv[1]) if "samples_per_s" in l][1:]
print("%.2f" % statistics.median(r))' "$1/metrics.jsonl"
}
for i in $(seq "$reps"); do
    OMP_NUM_THREADS=1 build/ss "${ARGS[@]}" --out $W/one-$i
    echo "run $i: 1 process, 1 thread:    $(med $W/one-$i) samples/s"
    OMP_NUM_THREADS=1 mpirun --oversubscribe --allow-run-as-root -np 2 build/mpi/ss "${ARGS[@]}" --out $W/two-$i
    echo "run $i: 2 processes, 1 thread:  $(med $W/two-$i) samples/s"
    build/omp/ss "${ARGS[@]}" --threads 2 --out $W/omp-$i
    echo "run $i: 1 process, 2 threads:   $(med $W/omp-$i) samples/s"
    rm -rf $W/*-$i/checkpoint-*
done
