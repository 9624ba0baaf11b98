/* tools/ddp.c - see ddp.h. With SS_TOOL_MPI (make MPI=1: mpicc -DSS_TOOL_MPI) the functions call
   MPI on MPI_COMM_WORLD; without it they are the single-process stubs. */
#include <stdio.h>
#include "ddp.h"

#ifdef SS_TOOL_MPI
#include <mpi.h> /* the MPI library's header (angle brackets: not this directory's mpi.h) */
#include <limits.h>

static int mpi_started = 0; /* MPI_Init ran here: finish must finalize */
static int mpi_joined = 0;  /* a collective ran: the run's first agreement has taken place */

/* MPI counts are int: blocks of more than INT_MAX elements go in pieces. */
#define TOOL_MPI_CHUNK ((size_t)1 << 30)

int tool_mpi_init(void) {
    int provided, ready = 0;
    MPI_Initialized(&ready);
    if (ready) return 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "ss: MPI_Init failed\n");
        return -1;
    }
    mpi_started = 1;
    return 0;
}

int tool_mpi_finish(int status) {
    if (!mpi_started) return status;
    if (status != 0 && !mpi_joined) tool_mpi_all(0); /* see ddp.h */
    MPI_Finalize();
    mpi_started = 0;
    return status;
}

int tool_mpi_rank(void) {
    int rank = 0;
    if (mpi_started) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int tool_mpi_size(void) {
    int size = 1;
    if (mpi_started) MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int tool_mpi_all(int ok) {
    int all = ok != 0;
    if (tool_mpi_size() == 1) return all;
    mpi_joined = 1;
    MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

void tool_mpi_sum_floats(float *x, size_t n) {
    size_t done, part;
    if (tool_mpi_size() == 1) return;
    mpi_joined = 1;
    for (done = 0; done < n; done += part) {
        part = n - done < TOOL_MPI_CHUNK ? n - done : TOOL_MPI_CHUNK;
        MPI_Allreduce(MPI_IN_PLACE, x + done, (int)part, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}

void tool_mpi_sum_doubles(double *x, int n) {
    if (tool_mpi_size() == 1) return;
    mpi_joined = 1;
    MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

void tool_mpi_bcast(void *data, size_t bytes) {
    size_t done, part;
    if (tool_mpi_size() == 1) return;
    mpi_joined = 1;
    for (done = 0; done < bytes; done += part) {
        part = bytes - done < TOOL_MPI_CHUNK ? bytes - done : TOOL_MPI_CHUNK;
        MPI_Bcast((char *)data + done, (int)part, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
}

#else /* one process */

int tool_mpi_init(void) { return 0; }
int tool_mpi_finish(int status) { return status; }
int tool_mpi_rank(void) { return 0; }
int tool_mpi_size(void) { return 1; }
int tool_mpi_all(int ok) { return ok != 0; }
void tool_mpi_sum_floats(float *x, size_t n) { (void)x, (void)n; }
void tool_mpi_sum_doubles(double *x, int n) { (void)x, (void)n; }
void tool_mpi_bcast(void *data, size_t bytes) { (void)data, (void)bytes; }

#endif
