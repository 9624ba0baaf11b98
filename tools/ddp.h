/* tools/ddp.h - data-parallel training over MPI for `ss pretrain` and `ss finetune`: the few
   collective operations the training loop needs, behind functions that are single-process
   stubs unless the tool is built with SS_TOOL_MPI (`make MPI=1`, which compiles with mpicc).
   The default build therefore links only libc and libm, and subspace.h knows nothing of MPI:
   the loop all-reduces the model's flat gradient block (ss_params.grad, ss_params.numel floats)
   and broadcasts its parameter and AdamW blocks.

   Until tool_mpi_init runs (and always in the default build) there is one process: rank 0 of 1,
   and every collective returns at once, so `ss compare`, which calls the same training code
   without initialising MPI, stays a single process.

   Failures: MPI's default error handler ends the whole job on a communication error, which is
   what a training run wants. Failures of our own (a missing file on one host, a checkpoint that
   cannot be written) are agreed on with tool_mpi_all, so that every process returns together
   instead of some waiting forever in a collective. */
#ifndef SS_TOOL_MPI_H
#define SS_TOOL_MPI_H

#include <stddef.h>

/* Start MPI (funneled: only the main thread talks to it; OpenMP threads never do). 0, or -1
   with a message. A no-op in the default build. */
int tool_mpi_init(void);
/* End MPI and return status. A process that failed before the run's first collective (always
   tool_mpi_all, see train_run) joins that collective with "not ok" first, so the others stop
   too. */
int tool_mpi_finish(int status);
/* This process's rank and the number of processes: 0 and 1 without MPI. */
int tool_mpi_rank(void);
int tool_mpi_size(void);
/* Whether ok is nonzero on every process (a minimum over all of them). */
int tool_mpi_all(int ok);
/* Sum x[0..n) over all processes, in place, on every process. */
void tool_mpi_sum_floats(float *x, size_t n);
void tool_mpi_sum_doubles(double *x, int n);
/* Copy rank 0's bytes to every other process. */
void tool_mpi_bcast(void *data, size_t bytes);

#endif
