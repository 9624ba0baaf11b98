/* tools/bench/mpi_allreduce.c - how long one MPI_Allreduce (sum, in place) of a training step's
   gradient block takes: n floats, median of reps, as train.c calls it. The README's
   communication figures come from it.
     mpicc -std=c99 -O2 -o build/mpi_allreduce tools/bench/mpi_allreduce.c
     mpirun -np 2 build/mpi_allreduce 13090368 11      (best_mla-o's parameter count) */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 13090368L, i;
    int reps = argc > 2 ? atoi(argv[2]) : 11, r, rank, size;
    float *g;
    double *t;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    g = (float *)malloc((size_t)n * sizeof(float));
    t = (double *)malloc((size_t)reps * sizeof(double));
    if (!g || !t || n < 1 || reps < 1) MPI_Abort(MPI_COMM_WORLD, 1);
    for (i = 0; i < n; i++) g[i] = 1e-3f * (float)(i % 1000);
    for (r = 0; r < reps; r++) {
        double t0;
        MPI_Barrier(MPI_COMM_WORLD); /* time the reduction, not the wait for a late process */
        t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        t[r] = MPI_Wtime() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);
    if (rank == 0)
        printf("%d processes, %ld floats (%.1f MB): median %.1f ms, best %.1f ms; %.2f GB/s of "
               "ring traffic 2(N-1)/N x bytes per process\n", size, n, (double)n * 4 / 1e6,
               t[reps / 2] * 1e3, t[0] * 1e3,
               2.0 * (size - 1) / size * (double)n * 4 / t[reps / 2] / 1e9);
    free(g), free(t);
    MPI_Finalize();
    return 0;
}
