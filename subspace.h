/* subspace.h 0.1.0 - train, measure and take apart MHA, MLA and MLA-o attention in C99. MIT licence.

   QUICK START
   ===========
   In exactly one C or C++ file:

       #define SS_IMPLEMENTATION
       #include "subspace.h"

   and plain `#include "subspace.h"` everywhere else. Build with one line:

       cc -O2 -march=native -o prog prog.c -lm                  (add -fopenmp for threads)
       cc -O2 -march=native -DSS_USE_CBLAS -o prog prog.c -lopenblas -lm

   The library links libc and libm only. It never prints, never exits, never reads the environment.
   Do not build it with -Ofast or -ffast-math: they break the NaN and infinity handling that the
   error paths and the masked softmax rely on. Tests build at -O2.

   OPTIONS
   =======
   | macro               | default          | where to set           | effect                                     |
   |---------------------|------------------|------------------------|--------------------------------------------|
   | SS_IMPLEMENTATION   | off              | one TU                 | compile the implementation into this TU    |
   | SS_STATIC           | off              | every TU that uses it  | all functions static (private copy per TU) |
   | SS_API              | extern           | every TU               | decoration of public functions             |
   | SS_MALLOC/REALLOC/FREE | libc          | implementation TU      | allocator; define all three or none        |
   | SS_ASSERT(x)        | assert(x)        | implementation TU      | programmer-error check                     |
   | SS_MEMCPY/SS_MEMSET | libc             | implementation TU      | memory copy and fill                       |
   | SS_SQRTF, SS_EXPF, SS_TANHF, SS_POWF, SS_SQRT, SS_LOG, SS_COS, SS_SIN | libm | implementation TU | math |
   | SS_USE_CBLAS        | off              | implementation TU      | ss_gemm calls cblas_sgemm (<cblas.h>)      |
   | SS_SGEMM(...)       | undefined        | implementation TU      | plug in any BLAS: see section 4            |
   | SS_NO_STDIO         | off              | implementation TU      | drop the FILE*-based read/write helpers    |
   | SS_NO_ERROR_STRINGS | off              | implementation TU      | ss_last_error_detail() always returns ""   |
   | _OPENMP (-fopenmp)  | set by compiler  | implementation TU      | threads over rows, heads and GEMM tiles    |

   GLOSSARY (the letters follow the shared-subspaces research code)
   ========
   B  batch size                 T  sequence length            BT  B*T rows of a flattened batch
   D  hidden size (model width)  H  attention heads             Dh  head size
   Dr RoPE dims per head (first Dr of every q and k head are rotated; Dr <= Dh, even)
   L  layers                     V  vocabulary size             F   feed-forward hidden size
   Cq  query latent rank         Ckv key-value latent rank      Co  output latent rank (MLA-o)
   IC, OC  input and output features of a linear layer           P   rows of the RoPE tables
   foo / dfoo      a buffer and its gradient (same shape)
   l_foo / dl_foo  the slice of foo (or dfoo) that belongs to one layer, inside layer loops
   Linear weights are (OC, IC) as in PyTorch's nn.Linear: out = inp @ weight^T + bias.

   WALKTHROUGH: one pre-norm block with MLA-o attention, as the ops below compose it
   ===========
   Every arrow is one call; shapes are written outermost first. Backward runs the same calls in
   reverse order, each `_backward` adding (+=) into the gradients of its inputs and weights.

     x (BT,D)                          the residual stream entering the block
     ss_rmsnorm_forward   -> ln1 (BT,D), ln1_rstd (BT)      attn_input_norm
     ss_linear_forward    -> q_lat (BT,Cq)                  qkv_a_proj rows [0, Cq)
     ss_linear_forward    -> kv_lat (BT,Ckv)                qkv_a_proj rows [Cq, Cq+Ckv)
     ss_rmsnorm_forward   -> q_latn (BT,Cq)                 q_a_norm
     ss_rmsnorm_forward   -> kv_latn (BT,Ckv)               kv_a_norm
     ss_linear_forward    -> q (BT,H*Dh)                    q_b_proj
     ss_linear_forward    -> kv (BT,2*H*Dh) = [k | v]       kv_b_proj
     ss_rope_forward      -> q_rot, k_rot (B,T,H,Dh)        first Dr dims of each head rotated
     ss_attention_forward -> att (B,H,T,T), ctx (B,T,H,Dh)  softmax(q k^T / sqrt(Dh) + mask) v
     ss_linear_forward    -> o_lat (BT,Co)                  o_a_proj: all heads into the shared latent
     ss_linear_forward    -> attn_out (BT,D)                o_b_proj
     x += attn_out
     ss_rmsnorm_forward   -> ln2 (BT,D)                     ffn_input_norm
     ss_linear_forward x2 -> ffn_a, ffn_g (BT,F)            W_in, W_gate
     ss_swiglu_forward    -> ffn_h (BT,F)                   silu(ffn_a) * ffn_g
     ss_linear_forward    -> ffn_out (BT,D)                 W_out
     x += ffn_out
   MHA replaces the five latent calls with one fused qkv_proj (D -> 3*H*Dh); MLA keeps one o_proj.
   examples/layer_tour.c runs exactly the attention half of this list and checks its gradients.

   CONTENTS (grep -n '^// >>' subspace.h is the map; interface and implementation use the same order)
   ========
   1. >>config     options, version, allocation and assert hooks, result codes, error detail
   2. >>utils      RNG (seedable, splittable), size arithmetic, timer, file reading, atomic writes
   3. >>params     named tensors and the parameter registry (params, grads, AdamW m and v blocks)
   4. >>gemm       C = alpha*op(A)*op(B) + beta*C: naive reference, blocked kernel, CBLAS
   5. >>ops        forward/backward pairs:
                   >>embedding >>linear >>rmsnorm >>rope >>attention >>swiglu >>tanh
                   >>dropout >>crossentropy
   (6. layers, 7. model, 8. training, 9. tokenizer, 10. serialization, 11. SVD: later releases)

   RECENT CHANGES
   ==============
   0.1.0  first release: error model, RNG, parameter registry, GEMM core, ops with checked backward.

   LICENCE: MIT, at the end of the file.
*/
#ifndef SS_INCLUDE_SUBSPACE_H
#define SS_INCLUDE_SUBSPACE_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint32_t, uint64_t */

// >>config ========================================================================================
// 1. Configuration, version, results

#define SS_VERSION_MAJOR 0
#define SS_VERSION_MINOR 1
#define SS_VERSION_PATCH 0
#define SS_VERSION_STRING "0.1.0"

#ifndef SS_API
#ifdef SS_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define SS_API static __attribute__((unused))
#else
#define SS_API static
#endif
#else
#define SS_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Every fallible function returns one of these. SS_OK is 0; every error is negative.
   The list is the one source of the codes and of their strings (ss_result_string). */
#define SS_RESULT_LIST(X)                                                                     \
    X(SS_OK, 0, "ok")                                                                           \
    X(SS_ERR_NOMEM, -1, "out of memory")                                                        \
    X(SS_ERR_INVALID, -2, "invalid argument")                                                   \
    X(SS_ERR_OVERFLOW, -3, "size overflow")                                                     \
    X(SS_ERR_IO, -4, "input/output error")                                                      \
    X(SS_ERR_FORMAT, -5, "malformed input")                                                     \
    X(SS_ERR_NOT_FOUND, -6, "not found")                                                        \
    X(SS_ERR_NOT_CONVERGED, -7, "did not converge")                                             \
    X(SS_ERR_NONFINITE, -8, "non-finite value")

typedef enum ss_result {
#define SS__RESULT_ENUM(name, value, text) name = value,
    SS_RESULT_LIST(SS__RESULT_ENUM)
#undef SS__RESULT_ENUM
} ss_result;

/* A fixed, static string for a result code ("out of memory"); "unknown result" for other values. */
SS_API const char *ss_result_string(ss_result r);

/* Detail of the last failure in this thread, naming the file, key, byte offset or size that caused
   it ("vocab.txt:17: duplicate token 'the'"). Borrowed: valid until the next failing call in this
   thread. Only meaningful right after a function returned an error; "" when compiled with
   SS_NO_ERROR_STRINGS. Thread-local where the compiler offers it. */
SS_API const char *ss_last_error_detail(void);

/* "subspace 0.1.0 gemm=builtin-avx2 omp=on": what this build runs on. Static string. */
SS_API const char *ss_build_info(void);

/* Release a buffer the library returned as "owned: release with ss_free" (e.g. ss_file_read). */
SS_API void ss_free(void *p);

// >>utils =========================================================================================
// 2. Utilities

/* Deterministic random numbers: xorshift64* for the stream, splitmix64 to seed and split.
   A caller-owned value type: copy it to fork a stream, zero it and seed it to restart. */
typedef struct ss_rng {
    uint64_t state; /* never 0 once seeded */
} ss_rng;

/* Seed a stream. The same seed gives the same numbers on every platform. */
SS_API void ss_rng_seed(ss_rng *rng, uint64_t seed);
/* Uniform 64 and 32 random bits. */
SS_API uint64_t ss_rng_u64(ss_rng *rng);
SS_API uint32_t ss_rng_u32(ss_rng *rng);
/* Uniform float in [0, 1), 24 random bits. */
SS_API float ss_rng_uniform(ss_rng *rng);
/* Normal(mean, std^2) by Box-Muller (two uniforms per number, no cached spare). */
SS_API float ss_rng_normal(ss_rng *rng, float mean, float std);
/* An independent child stream number `stream` of rng; rng itself is not advanced, so children
   can be made in any order, on any thread, and give the same numbers (per-thread, per-row or
   per-head streams that do not depend on the thread count). */
SS_API ss_rng ss_rng_split(const ss_rng *rng, uint64_t stream);

/* Wall-clock seconds from an arbitrary origin, for rates and ETAs (never used in results). */
SS_API double ss_time_seconds(void);

#ifndef SS_NO_STDIO
/* Read a whole file. On success *data holds *size bytes plus a terminating NUL (so text can be
   parsed in place). Owned: release with ss_free. Fails with SS_ERR_IO naming the path. */
SS_API ss_result ss_file_read(const char *path, char **data, size_t *size);

/* Crash-safe file writing: bytes go to "<path>.tmp", and only ss_writer_commit renames that over
   <path>. A process killed at any moment leaves either the old file or the new one, never a mix.
   Caller-owned struct; ss_writer_free removes the temporary file if commit did not happen. The
   first error sticks: later writes do nothing and commit returns it (so one check at the end is
   enough). Not safe for two writers of the same path at once. */
typedef struct ss_writer {
    void *file;     /* FILE*, NULL when closed */
    char *path;     /* owned copy of the destination */
    char *tmp_path; /* owned "<path>.tmp" */
    ss_result status;
    size_t bytes;   /* written so far */
} ss_writer;

SS_API ss_result ss_writer_init(ss_writer *w, const char *path);
SS_API ss_result ss_writer_write(ss_writer *w, const void *data, size_t size);
SS_API ss_result ss_writer_commit(ss_writer *w);
SS_API void ss_writer_free(ss_writer *w);
/* One call: write size bytes to path through an ss_writer. */
SS_API ss_result ss_file_write_atomic(const char *path, const void *data, size_t size);
#endif

// >>params ========================================================================================
// 3. Tensors and the parameter registry

#define SS_MAX_NAME 96 /* longest tensor name + 1 ("encoder_model.layers.11.self_attn.kv_a_norm.weight") */
#define SS_MAX_DIMS 4

/* Flags of a registered tensor. */
#define SS_PARAM_NO_DECAY 1u /* excluded from AdamW weight decay (biases, norm gains) */

/* A named tensor of the registry: a view, no data of its own. */
typedef struct ss_tensor {
    char name[SS_MAX_NAME]; /* PyTorch state_dict name */
    int ndim;               /* 1..SS_MAX_DIMS */
    int shape[SS_MAX_DIMS]; /* outermost first; unused dims are 1 */
    size_t numel;           /* product of shape */
    size_t offset;          /* element offset into each block; a multiple of 16 (64-byte aligned) */
    unsigned flags;         /* SS_PARAM_* */
} ss_tensor;

/* The registry owns four blocks with one layout: parameters, their gradients and the two AdamW
   moments. Zero-grad, AdamW, gradient clipping and checkpoints each loop over one flat array.
   Lifecycle: zero the struct, ss_params_add every tensor, then ss_params_init (allocating) or
   ss_params_init_preallocated (caller's memory), use, ss_params_free. */
typedef struct ss_params {
    ss_tensor *tensors; /* count entries; owned */
    int count, capacity;
    size_t numel;       /* elements per block, including the alignment padding between tensors */
    float *param;       /* (numel) */
    float *grad;        /* (numel) */
    float *m, *v;       /* (numel) AdamW first and second moments */
    void *memory;       /* the allocation holding all four blocks */
    int owns_memory;
} ss_params;

/* Register a tensor before init. Fails with SS_ERR_INVALID (empty, too long or duplicate name,
   ndim outside 1..4, a dimension <= 0, or called after init), SS_ERR_OVERFLOW or SS_ERR_NOMEM.
   *index (if not NULL) receives the tensor's index. */
SS_API ss_result ss_params_add(ss_params *p, const char *name, int ndim, const int *shape,
                               unsigned flags, int *index);
/* Bytes that ss_params_init_preallocated needs for the tensors added so far. */
SS_API size_t ss_params_memory_size(const ss_params *p);
/* Allocate and zero the four blocks. Owned: release with ss_params_free. */
SS_API ss_result ss_params_init(ss_params *p);
/* Same, in caller memory of ss_params_memory_size(p) bytes (any alignment; it stays the
   caller's and must outlive p). */
SS_API void ss_params_init_preallocated(ss_params *p, void *memory);
/* Index of the tensor called name, or -1. */
SS_API int ss_params_find(const ss_params *p, const char *name);
/* The tensor's parameters / gradients. Borrowed: valid until ss_params_free. */
SS_API float *ss_params_data(const ss_params *p, int index);
SS_API float *ss_params_grad(const ss_params *p, int index);
/* Set every gradient to 0. */
SS_API void ss_params_zero_grad(ss_params *p);
/* Release what init allocated and the tensor table; leaves *p zeroed. Safe on a zeroed struct. */
SS_API void ss_params_free(ss_params *p);

// >>gemm ==========================================================================================
// 4. Matrix multiplication

/* C = alpha * op(A) * op(B) + beta * C, row-major, the one matmul every layer uses.
     op(A) is (M,K): A is stored (M,K) with row stride lda, or (K,M) when transA is nonzero.
     op(B) is (K,N): B is stored (K,N) with row stride ldb, or (N,K) when transB is nonzero.
     C is (M,N) with row stride ldc. beta == 0 never reads C (NaN there is overwritten).
   The body is chosen at compile time: SS_SGEMM / SS_USE_CBLAS if set, else the built-in kernel.
   Thread-safe; with OpenMP it runs on all threads, and the built-in kernel's output bits do not
   depend on the thread count. Uses about 300 KiB of stack per thread for packed panels. */
SS_API void ss_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc);
/* The built-in kernel whatever the build, so benchmarks and tests can set it against a BLAS. */
SS_API void ss_gemm_builtin(int transA, int transB, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta,
                            float *C, int ldc);

// >>ops ===========================================================================================
// 5. Ops. Each is a forward/backward pair with one argument order:
//    forward (outputs, caches for backward, inputs, weights, dimensions)
//    backward(input grads, weight grads, dout, forward inputs and caches, weights, dimensions)
//    Every backward ADDS (+=) into every gradient it writes; zero gradients once per step.
//    A gradient pointer documented "or NULL" is skipped. Kernels never allocate and never fail;
//    wrong shapes or NULL required buffers are programmer errors caught by SS_ASSERT.

/* >>embedding  out[r] = table[ids[r]].
   ids (BT) in [0,V), table (V,D) -> out (BT,D) */
SS_API void ss_embedding_forward(float *out, const int *ids, const float *table, int BT, int V,
                                 int D);
/* dtable[ids[r]] += dout[r]   dtable (V,D); rows hit twice get both contributions. */
SS_API void ss_embedding_backward(float *dtable, const float *dout, const int *ids, int BT, int V,
                                  int D);

/* >>linear  out = inp @ weight^T + bias   (PyTorch nn.Linear)
   inp (BT,IC), weight (OC,IC), bias (OC) or NULL -> out (BT,OC) */
SS_API void ss_linear_forward(float *out, const float *inp, const float *weight,
                              const float *bias, int BT, int IC, int OC);
/* dinp += dout @ weight; dweight += dout^T @ inp; dbias += column sums of dout.
   dinp (BT,IC) or NULL, dweight (OC,IC), dbias (OC) or NULL, dout (BT,OC) */
SS_API void ss_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, int BT, int IC, int OC);

/* >>rmsnorm  out = gain * (inp / sqrt(mean(inp^2) + eps)) per row (Zhang & Sennrich 2019; the
   seed's formula, eps = rms_norm_eps = 1e-6). The mean of squares accumulates in double.
   inp (BT,C), gain (C) -> out (BT,C), rstd (BT) = 1/sqrt(mean + eps), cached for backward. */
SS_API void ss_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *gain,
                               int BT, int C, float eps);
/* dinp (BT,C) +=, dgain (C) +=, dout (BT,C); rstd from forward. */
SS_API void ss_rmsnorm_backward(float *dinp, float *dgain, const float *dout, const float *inp,
                                const float *rstd, const float *gain, int BT, int C);

/* >>rope  Rotary position embedding, rotate-half convention (GPT-NeoX / Llama / HF
   rotate_half), on the first Dr dims of every head; dims Dr..Dh-1 pass through unchanged.
   Tables: inv_freq[i] = 1 / theta^(2i/Dr) in float; angle = (float)p * inv_freq[i];
   cos_t[p][i] = cos(angle), sin_t[p][i] = sin(angle); cos_t, sin_t (P, Dr/2).
   Dr even, 2 <= Dr. P = max_position_embeddings. */
SS_API void ss_rope_tables(float *cos_t, float *sin_t, int P, int Dr, float theta);
/* For position t (the row's index within its sequence) and half = Dr/2, j < half:
     out[j]      = inp[j] * cos - inp[j+half] * sin
     out[j+half] = inp[j+half] * cos + inp[j] * sin
   inp rows (B*T of them) have stride ld_inp >= H*Dh, so q or k can be read straight out of a
   fused projection; the first H*Dh values of a row are H heads of Dh.
   -> out (B,T,H,Dh) contiguous. T <= P. out must not overlap inp. */
SS_API void ss_rope_forward(float *out, const float *inp, int ld_inp, const float *cos_t,
                            const float *sin_t, int B, int T, int H, int Dh, int Dr, int P);
/* dinp (rows of stride ld_inp) += R^T dout, the inverse rotation; dout (B,T,H,Dh). */
SS_API void ss_rope_backward(float *dinp, int ld_inp, const float *dout, const float *cos_t,
                             const float *sin_t, int B, int T, int H, int Dh, int Dr, int P);

/* >>attention  Scaled dot-product attention for every batch row b and head h:
     S = q k^T / sqrt(Dh), masked; att = softmax(S) per query row; out = dropout(att) v.
   q, k, v: (B,T,H,Dh) with row strides ldq, ldk, ldv (>= H*Dh), so they may point into fused
     projection outputs, e.g. k = kv and v = kv + H*Dh with ldk = ldv = 2*H*Dh.
   key_mask (B,T) or NULL: nonzero = a real token, 0 = padding. Padding keys get probability 0;
     padded query rows are computed normally (as PyTorch's SDPA does with HF's padding mask).
   causal: nonzero lets query i see keys j <= i only.
   A query row with no visible key gets all-zero probabilities and a zero output.
   dropout_p in [0,1): with p > 0, each probability is kept with chance 1-p and scaled by
     1/(1-p); rng is advanced by one draw, and each (b,h) uses its own split stream, so the
     mask does not depend on the thread count.
   -> out (B,T,H,Dh) contiguous; att (B,H,T,T) softmax probabilities (cache);
      att_drop (B,H,T,T) and drop_mask (B,H,T,T), needed only when dropout_p > 0 (else NULL):
      the probabilities after dropout and the keep mask (1 kept, 0 dropped). */
SS_API void ss_attention_forward(float *out, float *att, float *att_drop, unsigned char *drop_mask,
                                 const float *q, const float *k, const float *v,
                                 const int *key_mask, int causal, float dropout_p, ss_rng *rng,
                                 int B, int T, int H, int Dh, int ldq, int ldk, int ldv);
/* dq, dk, dv (strides ldq, ldk, ldv) +=; datt (B,H,T,T) is scratch (overwritten);
   dout (B,T,H,Dh); q, k, v, att, att_drop, drop_mask, dropout_p as given to forward. */
SS_API void ss_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout,
                                  const float *q, const float *k, const float *v, const float *att,
                                  const float *att_drop, const unsigned char *drop_mask,
                                  float dropout_p, int B, int T, int H, int Dh, int ldq, int ldk,
                                  int ldv);

/* >>swiglu  out = silu(a) * g, silu(x) = x * sigmoid(x) (Shazeer 2020; the seed puts SiLU on the
   W_in branch and uses W_gate as the linear multiplier). a, g, out (N) for N = BT*F. */
SS_API void ss_swiglu_forward(float *out, const float *a, const float *g, size_t N);
/* da (N) +=, dg (N) +=, dout (N). */
SS_API void ss_swiglu_backward(float *da, float *dg, const float *dout, const float *a,
                               const float *g, size_t N);

/* >>tanh  out = tanh(inp), for the classifier's pooler. inp, out (N). */
SS_API void ss_tanh_forward(float *out, const float *inp, size_t N);
/* dinp += dout * (1 - out^2); uses forward's out, not inp. */
SS_API void ss_tanh_backward(float *dinp, const float *dout, const float *out, size_t N);

/* >>dropout  Inverted dropout: out = inp * mask / (1-p), mask[i] = 1 with chance 1-p.
   p in [0,1); p = 0 copies and sets every mask entry to 1. inp, out (N) may alias; mask (N). */
SS_API void ss_dropout_forward(float *out, unsigned char *mask, const float *inp, float p,
                               ss_rng *rng, size_t N);
/* dinp += dout * mask / (1-p). */
SS_API void ss_dropout_backward(float *dinp, const float *dout, const unsigned char *mask, float p,
                                size_t N);

/* >>crossentropy  Softmax cross-entropy over rows with an ignore index (PyTorch's
   F.cross_entropy(ignore_index=-100), reduction "mean" over the rows that are kept). */
#define SS_IGNORE_INDEX (-100)

typedef struct ss_ce_stats {
    float loss;      /* mean loss over kept rows; 0 when no row is kept */
    double loss_sum; /* sum of the kept rows' losses */
    int kept;        /* rows whose target is not SS_IGNORE_INDEX */
    int correct;     /* kept rows whose first largest logit is the target (MLM accuracy) */
} ss_ce_stats;

/* logits (N,V), targets (N) in [0,V) or SS_IGNORE_INDEX
   -> probs (N,V) softmax (may be the logits buffer itself, overwriting it), losses (N) per-row
      loss (0 for ignored rows), *stats. Row sums and losses accumulate in double. */
SS_API void ss_crossentropy_forward(ss_ce_stats *stats, float *losses, float *probs,
                                    const float *logits, const int *targets, int N, int V);
/* dlogits (N,V) += dloss * (probs - onehot(target)) on kept rows; ignored rows get nothing.
   dloss is d(objective)/d(row loss): 1/kept for the mean loss of this call, 1/total_kept when
   gradients of several micro-batches add up to one mean. */
SS_API void ss_crossentropy_backward(float *dlogits, float dloss, const float *probs,
                                     const int *targets, int N, int V);

#ifdef __cplusplus
}
#endif
#endif /* SS_INCLUDE_SUBSPACE_H */

/* ================================================================================================
   IMPLEMENTATION
   ================================================================================================ */
#ifdef SS_IMPLEMENTATION
#ifndef SS__IMPLEMENTED
#define SS__IMPLEMENTED

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>  /* vsnprintf for error details; FILE unless SS_NO_STDIO */
#include <stdlib.h> /* the default allocator */
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/time.h> /* gettimeofday for ss_time_seconds */
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

// >>config (implementation) -----------------------------------------------------------------------

#if defined(SS_MALLOC) && defined(SS_REALLOC) && defined(SS_FREE)
/* all three supplied by the user */
#elif !defined(SS_MALLOC) && !defined(SS_REALLOC) && !defined(SS_FREE)
#define SS_MALLOC(size) malloc(size)
#define SS_REALLOC(p, size) realloc(p, size)
#define SS_FREE(p) free(p)
#else
#error "subspace.h: define all of SS_MALLOC, SS_REALLOC and SS_FREE, or none of them"
#endif

#ifndef SS_ASSERT
#define SS_ASSERT(x) assert(x)
#endif
#ifndef SS_MEMCPY
#define SS_MEMCPY(dst, src, n) memcpy(dst, src, n)
#endif
#ifndef SS_MEMSET
#define SS_MEMSET(p, value, n) memset(p, value, n)
#endif
/* The math the library uses, in one place; each can be replaced like SS_MEMCPY. */
#ifndef SS_SQRTF
#define SS_SQRTF(x) sqrtf(x)
#endif
#ifndef SS_EXPF
#define SS_EXPF(x) expf(x)
#endif
#ifndef SS_TANHF
#define SS_TANHF(x) tanhf(x)
#endif
#ifndef SS_POWF
#define SS_POWF(x, y) powf(x, y)
#endif
#ifndef SS_SQRT
#define SS_SQRT(x) sqrt(x)
#endif
#ifndef SS_LOG
#define SS_LOG(x) log(x)
#endif
#ifndef SS_COS
#define SS_COS(x) cos(x)
#endif
#ifndef SS_SIN
#define SS_SIN(x) sin(x)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SS_PRIVATE static __attribute__((unused))
#define SS__PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SS_PRIVATE static
#define SS__PRINTF_LIKE(fmt, args)
#endif

/* Thread-local storage for the error detail, where the compiler offers it. */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define SS__THREAD_LOCAL thread_local
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_THREADS__)
#define SS__THREAD_LOCAL _Thread_local
#elif defined(__GNUC__) || defined(__clang__)
#define SS__THREAD_LOCAL __thread
#elif defined(_MSC_VER)
#define SS__THREAD_LOCAL __declspec(thread)
#else
#define SS__THREAD_LOCAL /* one detail shared by all threads */
#endif

/* OpenMP without warnings: SS__OMP(parallel for) becomes #pragma omp parallel for under -fopenmp
   and nothing otherwise (a bare #pragma omp warns under -Wall when OpenMP is off). */
#ifdef _OPENMP
#define SS__PRAGMA(text) _Pragma(#text)
#define SS__OMP(text) SS__PRAGMA(omp text)
#else
#define SS__OMP(text)
#endif

/* The GEMM body: SS_SGEMM if the user set one, cblas_sgemm under SS_USE_CBLAS, else built in. */
#if defined(SS_USE_CBLAS) && !defined(SS_SGEMM)
#include <cblas.h>
#define SS_SGEMM(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)                            \
    cblas_sgemm(CblasRowMajor, (tA) ? CblasTrans : CblasNoTrans, (tB) ? CblasTrans : CblasNoTrans, \
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
#define SS__GEMM_NAME "cblas"
#elif defined(SS_SGEMM)
#define SS__GEMM_NAME "custom"
#elif defined(__AVX512F__)
#define SS__GEMM_NAME "builtin-avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#define SS__GEMM_NAME "builtin-avx2"
#elif defined(__ARM_NEON)
#define SS__GEMM_NAME "builtin-neon"
#else
#define SS__GEMM_NAME "builtin-portable"
#endif
#ifdef _OPENMP
#define SS__OMP_NAME "on"
#else
#define SS__OMP_NAME "off"
#endif

SS_API const char *ss_build_info(void) {
    return "subspace " SS_VERSION_STRING " gemm=" SS__GEMM_NAME " omp=" SS__OMP_NAME;
}

SS_API const char *ss_result_string(ss_result r) {
    switch (r) {
#define SS__RESULT_CASE(name, value, text)                                                          \
    case name:                                                                                      \
        return text;
        SS_RESULT_LIST(SS__RESULT_CASE)
#undef SS__RESULT_CASE
    }
    return "unknown result";
}

#ifndef SS_NO_ERROR_STRINGS
static SS__THREAD_LOCAL char ss__error_detail[512];
#endif

SS_API const char *ss_last_error_detail(void) {
#ifndef SS_NO_ERROR_STRINGS
    return ss__error_detail;
#else
    return "";
#endif
}

/* Record why a call fails and return the code: `return ss__fail(SS_ERR_IO, "%s: ...", path);` */
SS_PRIVATE ss_result ss__fail(ss_result r, const char *fmt, ...) SS__PRINTF_LIKE(2, 3);
SS_PRIVATE ss_result ss__fail(ss_result r, const char *fmt, ...) {
#ifndef SS_NO_ERROR_STRINGS
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ss__error_detail, sizeof ss__error_detail, fmt, ap);
    va_end(ap);
#else
    (void)fmt;
#endif
    return r;
}

/* Every allocation of the library goes through these two. A zero-byte request still returns a
   unique pointer, so NULL always means failure. */
SS_PRIVATE void *ss__malloc(size_t size) { return SS_MALLOC(size ? size : 1); }
SS_PRIVATE void *ss__realloc(void *p, size_t size) { return SS_REALLOC(p, size ? size : 1); }

SS_API void ss_free(void *p) {
    if (p) SS_FREE(p);
}

/* Owned copy of a C string (NULL when out of memory). */
SS_PRIVATE char *ss__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = (char *)ss__malloc(n);
    if (copy) SS_MEMCPY(copy, s, n);
    return copy;
}

// >>utils (implementation) ------------------------------------------------------------------------

/* Overflow-checked size arithmetic: 1 and *out set on success, 0 if the result does not fit.
   Every product that feeds an allocation goes through ss__mul_size. */
SS_PRIVATE int ss__mul_size(size_t a, size_t b, size_t *out) {
    if (b != 0 && a > SIZE_MAX / b) return 0;
    *out = a * b;
    return 1;
}
SS_PRIVATE int ss__add_size(size_t a, size_t b, size_t *out) {
    if (a > SIZE_MAX - b) return 0;
    *out = a + b;
    return 1;
}

/* splitmix64 (Steele, Lea & Flood 2014): a strong 64-bit mixer, used to seed and to split. */
SS_PRIVATE uint64_t ss__splitmix64(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

SS_API void ss_rng_seed(ss_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    rng->state = ss__splitmix64(&x);
    if (rng->state == 0) rng->state = UINT64_C(0x9E3779B97F4A7C15); /* xorshift must not be 0 */
}

/* xorshift64* (Vigna 2016): three shifts, one multiply; period 2^64 - 1. */
SS_API uint64_t ss_rng_u64(ss_rng *rng) {
    uint64_t x = rng->state;
    SS_ASSERT(x != 0 && "ss_rng used before ss_rng_seed");
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

SS_API uint32_t ss_rng_u32(ss_rng *rng) { return (uint32_t)(ss_rng_u64(rng) >> 32); }

SS_API float ss_rng_uniform(ss_rng *rng) {
    return (float)(ss_rng_u32(rng) >> 8) * (1.0f / 16777216.0f); /* 24 bits: exact in a float */
}

SS_API float ss_rng_normal(ss_rng *rng, float mean, float std) {
    /* Box-Muller: u1 in (0,1] so the log is finite, u2 in [0,1); 53-bit uniforms. */
    double u1 = 1.0 - (double)(ss_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
    double u2 = (double)(ss_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
    double z = SS_SQRT(-2.0 * SS_LOG(u1)) * SS_COS(6.283185307179586476925 * u2);
    return (float)(mean + std * z);
}

SS_API ss_rng ss_rng_split(const ss_rng *rng, uint64_t stream) {
    uint64_t s = stream, x;
    ss_rng child;
    x = rng->state ^ ss__splitmix64(&s); /* mix the stream number before it meets the state */
    child.state = ss__splitmix64(&x);
    if (child.state == 0) child.state = UINT64_C(0x9E3779B97F4A7C15);
    return child;
}

SS_API double ss_time_seconds(void) {
#if defined(_OPENMP)
    return omp_get_wtime();
#elif defined(__unix__) || defined(__APPLE__)
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
#else
    return (double)clock() / CLOCKS_PER_SEC; /* processor time: the best plain C99 offers */
#endif
}

#ifndef SS_NO_STDIO
SS_API ss_result ss_file_read(const char *path, char **data, size_t *size) {
    FILE *f;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    *data = NULL;
    *size = 0;
    f = fopen(path, "rb");
    if (!f) return ss__fail(SS_ERR_IO, "%s: cannot open for reading (%s)", path, strerror(errno));
    /* Read in growing chunks rather than trusting a seek: works for pipes and /dev/stdin too. */
    for (;;) {
        size_t got;
        if (cap - len < 2) { /* room for at least one byte and the final NUL */
            size_t new_cap = cap ? cap : 65536;
            char *grown;
            if (cap && !ss__mul_size(cap, 2, &new_cap)) {
                ss_free(buf);
                fclose(f);
                return ss__fail(SS_ERR_OVERFLOW, "%s: file too large", path);
            }
            grown = (char *)ss__realloc(buf, new_cap);
            if (!grown) {
                ss_free(buf);
                fclose(f);
                return ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu bytes", path, new_cap);
            }
            buf = grown;
            cap = new_cap;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        ss_free(buf);
        fclose(f);
        return ss__fail(SS_ERR_IO, "%s: read failed after %zu bytes", path, len);
    }
    fclose(f);
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return SS_OK;
}

SS_API ss_result ss_writer_init(ss_writer *w, const char *path) {
    size_t n = strlen(path);
    SS_MEMSET(w, 0, sizeof *w);
    w->path = ss__strdup(path);
    w->tmp_path = (char *)ss__malloc(n + 5);
    if (!w->path || !w->tmp_path) {
        ss_writer_free(w);
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for the file name", path);
    }
    SS_MEMCPY(w->tmp_path, path, n);
    SS_MEMCPY(w->tmp_path + n, ".tmp", 5);
    w->file = fopen(w->tmp_path, "wb");
    if (!w->file) {
        ss_result r = ss__fail(SS_ERR_IO, "%s: cannot create (%s)", w->tmp_path, strerror(errno));
        ss_writer_free(w);
        return r;
    }
    return SS_OK;
}

SS_API ss_result ss_writer_write(ss_writer *w, const void *data, size_t size) {
    if (w->status != SS_OK) return w->status;
    SS_ASSERT(w->file && "ss_writer_write after commit or failed init");
    if (size && fwrite(data, 1, size, (FILE *)w->file) != size)
        w->status = ss__fail(SS_ERR_IO, "%s: write failed at byte %zu (%s)", w->tmp_path, w->bytes,
                             strerror(errno));
    else
        w->bytes += size;
    return w->status;
}

SS_API ss_result ss_writer_commit(ss_writer *w) {
    FILE *f = (FILE *)w->file;
    SS_ASSERT(f && "ss_writer_commit twice or after failed init");
    w->file = NULL;
    /* fflush and fclose report the errors that buffered writes deferred (a full disk, a quota). */
    if (w->status == SS_OK && (fflush(f) != 0 || ferror(f)))
        w->status = ss__fail(SS_ERR_IO, "%s: write failed at byte %zu (%s)", w->tmp_path,
                             w->bytes, strerror(errno));
    if (fclose(f) != 0 && w->status == SS_OK)
        w->status = ss__fail(SS_ERR_IO, "%s: close failed (%s)", w->tmp_path, strerror(errno));
    if (w->status == SS_OK && rename(w->tmp_path, w->path) != 0)
        w->status = ss__fail(SS_ERR_IO, "%s: cannot rename to %s (%s)", w->tmp_path, w->path,
                             strerror(errno));
    if (w->status != SS_OK) remove(w->tmp_path); /* the old <path> stays as it was */
    ss_free(w->tmp_path);
    w->tmp_path = NULL;
    return w->status;
}

SS_API void ss_writer_free(ss_writer *w) {
    if (w->file) { /* never committed: drop the partial temporary */
        fclose((FILE *)w->file);
        remove(w->tmp_path);
    }
    ss_free(w->path);
    ss_free(w->tmp_path);
    SS_MEMSET(w, 0, sizeof *w);
}

SS_API ss_result ss_file_write_atomic(const char *path, const void *data, size_t size) {
    ss_writer w;
    ss_result r = ss_writer_init(&w, path);
    if (r != SS_OK) return r;
    ss_writer_write(&w, data, size);
    r = ss_writer_commit(&w);
    ss_writer_free(&w);
    return r;
}
#endif /* SS_NO_STDIO */

// >>params (implementation) -----------------------------------------------------------------------

#define SS__ALIGN_FLOATS 16 /* tensors and blocks start on 64-byte boundaries */

SS_PRIVATE size_t ss__round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

SS_API ss_result ss_params_add(ss_params *p, const char *name, int ndim, const int *shape,
                               unsigned flags, int *index) {
    size_t numel = 1, end, bytes, name_len = name ? strlen(name) : 0;
    ss_tensor *t;
    int i;
    if (p->memory)
        return ss__fail(SS_ERR_INVALID, "%s: parameters cannot be added after ss_params_init", name);
    if (name_len == 0 || name_len >= SS_MAX_NAME)
        return ss__fail(SS_ERR_INVALID, "tensor name '%s' must have 1 to %d characters",
                        name ? name : "(null)", SS_MAX_NAME - 1);
    if (ndim < 1 || ndim > SS_MAX_DIMS)
        return ss__fail(SS_ERR_INVALID, "%s: ndim %d is outside 1..%d", name, ndim, SS_MAX_DIMS);
    for (i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return ss__fail(SS_ERR_INVALID, "%s: dimension %d is %d, must be > 0", name, i,
                            shape[i]);
        if (!ss__mul_size(numel, (size_t)shape[i], &numel))
            return ss__fail(SS_ERR_OVERFLOW, "%s: element count overflows", name);
    }
    if (ss_params_find(p, name) >= 0)
        return ss__fail(SS_ERR_INVALID, "%s: tensor name registered twice", name);
    /* the four blocks of the padded total must stay addressable in bytes */
    if (!ss__add_size(p->numel, numel + SS__ALIGN_FLOATS, &end) ||
        !ss__mul_size(end, 4 * sizeof(float), &bytes) || bytes > SIZE_MAX - 64)
        return ss__fail(SS_ERR_OVERFLOW, "%s: total parameter size overflows", name);
    if (p->count == p->capacity) {
        int cap = p->capacity ? 2 * p->capacity : 64;
        size_t table_bytes;
        ss_tensor *grown;
        if (!ss__mul_size((size_t)cap, sizeof(ss_tensor), &table_bytes))
            return ss__fail(SS_ERR_OVERFLOW, "%s: tensor table overflows", name);
        grown = (ss_tensor *)ss__realloc(p->tensors, table_bytes);
        if (!grown) return ss__fail(SS_ERR_NOMEM, "%s: no memory for the tensor table", name);
        p->tensors = grown;
        p->capacity = cap;
    }
    t = &p->tensors[p->count];
    SS_MEMSET(t, 0, sizeof *t);
    SS_MEMCPY(t->name, name, name_len + 1);
    t->ndim = ndim;
    for (i = 0; i < SS_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    t->numel = numel;
    t->offset = p->numel; /* already a multiple of SS__ALIGN_FLOATS */
    t->flags = flags;
    p->numel = ss__round_up(t->offset + numel, SS__ALIGN_FLOATS);
    if (index) *index = p->count;
    p->count++;
    return SS_OK;
}

SS_API size_t ss_params_memory_size(const ss_params *p) {
    return 4 * p->numel * sizeof(float) + 64; /* overflow excluded by ss_params_add */
}

SS_API ss_result ss_params_init(ss_params *p) {
    size_t bytes = ss_params_memory_size(p);
    void *memory;
    SS_ASSERT(!p->memory && "ss_params_init called twice");
    memory = ss__malloc(bytes);
    if (!memory)
        return ss__fail(SS_ERR_NOMEM, "parameter blocks: no memory for %zu bytes (%d tensors)",
                        bytes, p->count);
    ss_params_init_preallocated(p, memory);
    p->owns_memory = 1;
    return SS_OK;
}

SS_API void ss_params_init_preallocated(ss_params *p, void *memory) {
    uintptr_t addr = (uintptr_t)memory;
    float *base = (float *)(void *)((char *)memory + ((64 - addr % 64) % 64));
    SS_ASSERT(memory && !p->memory);
    p->memory = memory;
    p->owns_memory = 0;
    p->param = base;
    p->grad = base + p->numel;
    p->m = base + 2 * p->numel;
    p->v = base + 3 * p->numel;
    SS_MEMSET(base, 0, 4 * p->numel * sizeof(float));
}

SS_API int ss_params_find(const ss_params *p, const char *name) {
    int i;
    for (i = 0; i < p->count; i++)
        if (strcmp(p->tensors[i].name, name) == 0) return i;
    return -1;
}

SS_API float *ss_params_data(const ss_params *p, int index) {
    SS_ASSERT(p->param && index >= 0 && index < p->count);
    return p->param + p->tensors[index].offset;
}

SS_API float *ss_params_grad(const ss_params *p, int index) {
    SS_ASSERT(p->grad && index >= 0 && index < p->count);
    return p->grad + p->tensors[index].offset;
}

SS_API void ss_params_zero_grad(ss_params *p) {
    if (p->grad) SS_MEMSET(p->grad, 0, p->numel * sizeof(float));
}

SS_API void ss_params_free(ss_params *p) {
    if (p->owns_memory) ss_free(p->memory);
    ss_free(p->tensors);
    SS_MEMSET(p, 0, sizeof *p);
}

// >>gemm (implementation) -------------------------------------------------------------------------

/* Element (i,j) of op(X) for a row-major X with row stride ld. */
#define SS__OP(X, trans, ld, i, j) ((trans) ? (X)[(size_t)(j) * (ld) + (i)] : (X)[(size_t)(i) * (ld) + (j)])

/* The reference: the definition of the product, one dot product per output, accumulated in
   double. Slow and obviously right; the oracle of the tests and the benchmarks. */
SS_PRIVATE void ss__gemm_naive(int transA, int transB, int M, int N, int K, float alpha,
                               const float *A, int lda, const float *B, int ldb, float beta,
                               float *C, int ldc) {
    int i, j, p;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double acc = 0.0;
            float *c = &C[(size_t)i * ldc + j];
            for (p = 0; p < K; p++)
                acc += (double)SS__OP(A, transA, lda, i, p) * (double)SS__OP(B, transB, ldb, p, j);
            *c = (float)(alpha * acc) + (beta == 0.0f ? 0.0f : beta * *c);
        }
}

/* @@GEMM_BUILTIN@@ placeholder: row-parallel i-k-j loops, replaced by the blocked kernel. */
SS_PRIVATE void ss__gemm_blocked(int transA, int transB, int M, int N, int K, float alpha,
                                 const float *A, int lda, const float *B, int ldb, float beta,
                                 float *C, int ldc) {
    int i;
    SS__OMP(parallel for schedule(static))
    for (i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        int j, p;
        for (j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (p = 0; p < K; p++) {
            float a = alpha * SS__OP(A, transA, lda, i, p);
            for (j = 0; j < N; j++) c[j] += a * SS__OP(B, transB, ldb, p, j);
        }
    }
}

/* C = beta*C for the degenerate products (K == 0 or alpha == 0); beta == 0 writes zeros. */
SS_PRIVATE void ss__gemm_scale(int M, int N, float beta, float *C, int ldc) {
    int i, j;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
}

/* Shapes and strides are the caller's contract: check them once here for every body. */
SS_PRIVATE int ss__gemm_check(int transA, int transB, int M, int N, int K, float alpha, int lda,
                              int ldb, int ldc) {
    SS_ASSERT(M >= 0 && N >= 0 && K >= 0);
    SS_ASSERT(lda >= (transA ? M : K) && lda >= 1);
    SS_ASSERT(ldb >= (transB ? K : N) && ldb >= 1);
    SS_ASSERT(ldc >= N && ldc >= 1);
    (void)transA, (void)transB, (void)lda, (void)ldb, (void)ldc;
    return M > 0 && N > 0 && K > 0 && alpha != 0.0f; /* 0: only the beta scaling remains */
}

SS_API void ss_gemm_builtin(int transA, int transB, int M, int N, int K, float alpha,
                            const float *A, int lda, const float *B, int ldb, float beta,
                            float *C, int ldc) {
    if (ss__gemm_check(transA, transB, M, N, K, alpha, lda, ldb, ldc))
        ss__gemm_blocked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        ss__gemm_scale(M, N, beta, C, ldc);
}

SS_API void ss_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
#ifdef SS_SGEMM
    if (ss__gemm_check(transA, transB, M, N, K, alpha, lda, ldb, ldc))
        SS_SGEMM(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        ss__gemm_scale(M, N, beta, C, ldc);
#else
    ss_gemm_builtin(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

// >>ops (implementation) --------------------------------------------------------------------------
// Loops over rows (or heads) run in parallel: each iteration writes its own outputs. Reductions
// over rows (bias, gain and embedding gradients) are split by column instead, so every sum keeps
// one order whatever the thread count.

#define SS__COLS 64 /* columns per thread task in the column-split reductions */

// >>embedding -------------------------------------------------------------------------------------

SS_API void ss_embedding_forward(float *out, const int *ids, const float *table, int BT, int V,
                                 int D) {
    int r;
    SS_ASSERT(out && ids && table && BT > 0 && V > 0 && D > 0);
    SS__OMP(parallel for schedule(static))
    for (r = 0; r < BT; r++) {
        SS_ASSERT(ids[r] >= 0 && ids[r] < V && "token id out of range");
        SS_MEMCPY(out + (size_t)r * D, table + (size_t)ids[r] * D, (size_t)D * sizeof(float));
    }
    (void)V;
}

SS_API void ss_embedding_backward(float *dtable, const float *dout, const int *ids, int BT, int V,
                                  int D) {
    int c0;
    SS_ASSERT(dtable && dout && ids && BT > 0 && V > 0 && D > 0);
    /* Two rows may carry the same id, so rows cannot be split across threads; columns can. */
    SS__OMP(parallel for schedule(static))
    for (c0 = 0; c0 < D; c0 += SS__COLS) {
        int r, c, c1 = c0 + SS__COLS < D ? c0 + SS__COLS : D;
        for (r = 0; r < BT; r++) {
            float *drow = dtable + (size_t)ids[r] * D;
            const float *g = dout + (size_t)r * D;
            for (c = c0; c < c1; c++) drow[c] += g[c];
        }
    }
    (void)V;
}

// >>linear ----------------------------------------------------------------------------------------

SS_API void ss_linear_forward(float *out, const float *inp, const float *weight,
                              const float *bias, int BT, int IC, int OC) {
    int r;
    SS_ASSERT(out && inp && weight && BT > 0 && IC > 0 && OC > 0);
    if (bias) { /* start every row from the bias, then accumulate the product onto it */
        SS__OMP(parallel for schedule(static))
        for (r = 0; r < BT; r++) SS_MEMCPY(out + (size_t)r * OC, bias, (size_t)OC * sizeof(float));
    }
    /* out (BT,OC) = inp (BT,IC) @ weight^T, weight stored (OC,IC): the NT product */
    ss_gemm(0, 1, BT, OC, IC, 1.0f, inp, IC, weight, IC, bias ? 1.0f : 0.0f, out, OC);
}

/* dsum (C) += column sums of x (R,C), each sum in double, in row order. */
SS_PRIVATE void ss__add_column_sums(float *dsum, const float *x, int R, int C) {
    int c0;
    SS__OMP(parallel for schedule(static))
    for (c0 = 0; c0 < C; c0 += SS__COLS) {
        double acc[SS__COLS];
        int r, c, n = C - c0 < SS__COLS ? C - c0 : SS__COLS;
        for (c = 0; c < n; c++) acc[c] = 0.0;
        for (r = 0; r < R; r++)
            for (c = 0; c < n; c++) acc[c] += x[(size_t)r * C + c0 + c];
        for (c = 0; c < n; c++) dsum[c0 + c] += (float)acc[c];
    }
}

SS_API void ss_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, int BT, int IC, int OC) {
    SS_ASSERT(dweight && dout && inp && weight && BT > 0 && IC > 0 && OC > 0);
    /* forward: out = inp @ weight^T + bias */
    /* dinp (BT,IC) += dout (BT,OC) @ weight (OC,IC): the NN product */
    if (dinp) ss_gemm(0, 0, BT, IC, OC, 1.0f, dout, OC, weight, IC, 1.0f, dinp, IC);
    /* dweight (OC,IC) += dout^T (OC,BT) @ inp (BT,IC): the TN product */
    ss_gemm(1, 0, OC, IC, BT, 1.0f, dout, OC, inp, IC, 1.0f, dweight, IC);
    /* dbias (OC) += sum over rows of dout */
    if (dbias) ss__add_column_sums(dbias, dout, BT, OC);
}

// >>rmsnorm ---------------------------------------------------------------------------------------

SS_API void ss_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *gain,
                               int BT, int C, float eps) {
    int r;
    SS_ASSERT(out && rstd && inp && gain && BT > 0 && C > 0 && eps >= 0.0f);
    SS__OMP(parallel for schedule(static))
    for (r = 0; r < BT; r++) {
        const float *x = inp + (size_t)r * C;
        float *y = out + (size_t)r * C;
        double ss = 0.0;
        float s;
        int c;
        for (c = 0; c < C; c++) ss += (double)x[c] * x[c];
        /* rstd is cached: backward needs it, and recomputing it would cost a second pass */
        s = (float)(1.0 / SS_SQRT(ss / C + (double)eps));
        rstd[r] = s;
        /* the seed's order: normalise in float, then multiply by the gain */
        for (c = 0; c < C; c++) y[c] = (x[c] * s) * gain[c];
    }
}

SS_API void ss_rmsnorm_backward(float *dinp, float *dgain, const float *dout, const float *inp,
                                const float *rstd, const float *gain, int BT, int C) {
    int r;
    SS_ASSERT(dinp && dgain && dout && inp && rstd && gain && BT > 0 && C > 0);
    /* forward: xhat = x * s with s = (mean(x^2) + eps)^-1/2; y = gain * xhat
       ds/dx_c = -s^3 x_c / C, so with g_c = dy_c * gain_c:
       dx_c = s * g_c - x_c * s^3 * sum_k(g_k x_k) / C = s * (g_c - xhat_c * mean(g . xhat)) */
    SS__OMP(parallel for schedule(static))
    for (r = 0; r < BT; r++) {
        const float *x = inp + (size_t)r * C, *dy = dout + (size_t)r * C;
        float *dx = dinp + (size_t)r * C;
        float s = rstd[r], m;
        double dot = 0.0;
        int c;
        for (c = 0; c < C; c++) dot += (double)(dy[c] * gain[c]) * (x[c] * s);
        m = (float)(dot / C);
        for (c = 0; c < C; c++) dx[c] += s * (dy[c] * gain[c] - (x[c] * s) * m);
    }
    /* dgain_c += sum over rows of dy_c * xhat_c: a reduction over rows, split by column */
    {
        int c0;
        SS__OMP(parallel for schedule(static))
        for (c0 = 0; c0 < C; c0 += SS__COLS) {
            double acc[SS__COLS];
            int rr, c, n = C - c0 < SS__COLS ? C - c0 : SS__COLS;
            for (c = 0; c < n; c++) acc[c] = 0.0;
            for (rr = 0; rr < BT; rr++) {
                const float *x = inp + (size_t)rr * C + c0, *dy = dout + (size_t)rr * C + c0;
                for (c = 0; c < n; c++) acc[c] += (double)dy[c] * (x[c] * rstd[rr]);
            }
            for (c = 0; c < n; c++) dgain[c0 + c] += (float)acc[c];
        }
    }
}

// >>rope ------------------------------------------------------------------------------------------

SS_API void ss_rope_tables(float *cos_t, float *sin_t, int P, int Dr, float theta) {
    int p, i, half = Dr / 2;
    SS_ASSERT(cos_t && sin_t && P > 0 && Dr >= 2 && Dr % 2 == 0 && theta > 0.0f);
    for (p = 0; p < P; p++)
        for (i = 0; i < half; i++) {
            /* float steps as PyTorch computes them: inv_freq and the product are float32, the
               cosine and sine of that float are taken exactly (in double) and rounded once */
            float inv_freq = 1.0f / SS_POWF(theta, (float)(2 * i) / (float)Dr);
            float angle = (float)p * inv_freq;
            cos_t[(size_t)p * half + i] = (float)SS_COS((double)angle);
            sin_t[(size_t)p * half + i] = (float)SS_SIN((double)angle);
        }
}

SS_API void ss_rope_forward(float *out, const float *inp, int ld_inp, const float *cos_t,
                            const float *sin_t, int B, int T, int H, int Dh, int Dr, int P) {
    int r, half = Dr / 2;
    SS_ASSERT(out && inp && cos_t && sin_t && B > 0 && T > 0 && H > 0);
    SS_ASSERT(Dr >= 2 && Dr % 2 == 0 && Dr <= Dh && T <= P && ld_inp >= H * Dh);
    (void)P;
    SS__OMP(parallel for schedule(static))
    for (r = 0; r < B * T; r++) {
        const float *c = cos_t + (size_t)(r % T) * half, *s = sin_t + (size_t)(r % T) * half;
        int h, j;
        for (h = 0; h < H; h++) {
            const float *x = inp + (size_t)r * ld_inp + (size_t)h * Dh;
            float *y = out + ((size_t)r * H + h) * Dh;
            for (j = 0; j < half; j++) { /* rotate the pair (j, j+half) by the angle of (t, j) */
                y[j] = x[j] * c[j] - x[j + half] * s[j];
                y[j + half] = x[j + half] * c[j] + x[j] * s[j];
            }
            for (j = Dr; j < Dh; j++) y[j] = x[j]; /* the position-free part of the head */
        }
    }
}

SS_API void ss_rope_backward(float *dinp, int ld_inp, const float *dout, const float *cos_t,
                             const float *sin_t, int B, int T, int H, int Dh, int Dr, int P) {
    int r, half = Dr / 2;
    SS_ASSERT(dinp && dout && cos_t && sin_t && B > 0 && T > 0 && H > 0);
    SS_ASSERT(Dr >= 2 && Dr % 2 == 0 && Dr <= Dh && T <= P && ld_inp >= H * Dh);
    (void)P;
    /* forward: [y1; y2] = [c -s; s c] [x1; x2], a rotation, so the gradient is the transposed
       rotation: dx1 = c dy1 + s dy2, dx2 = -s dy1 + c dy2 */
    SS__OMP(parallel for schedule(static))
    for (r = 0; r < B * T; r++) {
        const float *c = cos_t + (size_t)(r % T) * half, *s = sin_t + (size_t)(r % T) * half;
        int h, j;
        for (h = 0; h < H; h++) {
            float *dx = dinp + (size_t)r * ld_inp + (size_t)h * Dh;
            const float *dy = dout + ((size_t)r * H + h) * Dh;
            for (j = 0; j < half; j++) {
                dx[j] += dy[j] * c[j] + dy[j + half] * s[j];
                dx[j + half] += dy[j + half] * c[j] - dy[j] * s[j];
            }
            for (j = Dr; j < Dh; j++) dx[j] += dy[j];
        }
    }
}

// >>attention -------------------------------------------------------------------------------------

/* In-place softmax of one score row over the keys that are visible: keys [0, n_visible) that
   key_mask (or NULL) marks as real. Hidden keys get exactly 0; no visible key gives a zero row.
   The max is subtracted first so exp never overflows; the sum accumulates in double. */
SS_PRIVATE void ss__masked_softmax_row(float *row, int T, int n_visible, const int *key_mask) {
    float max = -INFINITY, inv;
    double sum = 0.0;
    int j;
    for (j = 0; j < n_visible; j++)
        if ((!key_mask || key_mask[j]) && row[j] > max) max = row[j];
    if (max == -INFINITY) { /* nothing visible (or all scores -inf) */
        SS_MEMSET(row, 0, (size_t)T * sizeof(float));
        return;
    }
    for (j = 0; j < T; j++) {
        float e = (j < n_visible && (!key_mask || key_mask[j])) ? SS_EXPF(row[j] - max) : 0.0f;
        row[j] = e;
        sum += e;
    }
    inv = (float)(1.0 / sum);
    for (j = 0; j < T; j++) row[j] *= inv;
}

/* Inverted dropout over n values with the given stream: out = x * keep / (1-p). */
SS_PRIVATE void ss__dropout_apply(float *out, unsigned char *mask, const float *x, float p,
                                  ss_rng *rng, size_t n) {
    float scale = 1.0f / (1.0f - p);
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char keep = ss_rng_uniform(rng) >= p;
        mask[i] = keep;
        out[i] = keep ? x[i] * scale : 0.0f;
    }
}

SS_API void ss_attention_forward(float *out, float *att, float *att_drop, unsigned char *drop_mask,
                                 const float *q, const float *k, const float *v,
                                 const int *key_mask, int causal, float dropout_p, ss_rng *rng,
                                 int B, int T, int H, int Dh, int ldq, int ldk, int ldv) {
    const int HD = H * Dh;
    const float scale = 1.0f / SS_SQRTF((float)Dh); /* 1/sqrt(Dh): full head size, as SDPA */
    ss_rng base;
    int bh;
    SS_ASSERT(out && att && q && k && v && B > 0 && T > 0 && H > 0 && Dh > 0);
    SS_ASSERT(ldq >= HD && ldk >= HD && ldv >= HD && dropout_p >= 0.0f && dropout_p < 1.0f);
    SS_ASSERT(dropout_p == 0.0f || (att_drop && drop_mask && rng));
    base.state = dropout_p > 0.0f ? ss_rng_u64(rng) | 1u : 1u; /* one draw per call */
    SS__OMP(parallel for schedule(static))
    for (bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const float *qb = q + (size_t)b * T * ldq + (size_t)h * Dh; /* (T,Dh), row stride ldq */
        const float *kb = k + (size_t)b * T * ldk + (size_t)h * Dh;
        const float *vb = v + (size_t)b * T * ldv + (size_t)h * Dh;
        const int *km = key_mask ? key_mask + (size_t)b * T : NULL;
        float *a = att + (size_t)bh * T * T; /* (T,T) */
        const float *pv = a;
        int i;
        /* scores: a = scale * q k^T */
        ss_gemm(0, 1, T, T, Dh, scale, qb, ldq, kb, ldk, 0.0f, a, T);
        for (i = 0; i < T; i++) ss__masked_softmax_row(a + (size_t)i * T, T, causal ? i + 1 : T, km);
        if (dropout_p > 0.0f) {
            ss_rng r = ss_rng_split(&base, (uint64_t)bh);
            ss__dropout_apply(att_drop + (size_t)bh * T * T, drop_mask + (size_t)bh * T * T, a,
                              dropout_p, &r, (size_t)T * T);
            pv = att_drop + (size_t)bh * T * T;
        }
        /* out (T,Dh) rows of stride H*Dh = probabilities (T,T) @ v (T,Dh) */
        ss_gemm(0, 0, T, Dh, T, 1.0f, pv, T, vb, ldv, 0.0f, out + (size_t)b * T * HD + (size_t)h * Dh,
                HD);
    }
}

SS_API void ss_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout,
                                  const float *q, const float *k, const float *v, const float *att,
                                  const float *att_drop, const unsigned char *drop_mask,
                                  float dropout_p, int B, int T, int H, int Dh, int ldq, int ldk,
                                  int ldv) {
    const int HD = H * Dh;
    const float scale = 1.0f / SS_SQRTF((float)Dh);
    const float keep_scale = 1.0f / (1.0f - dropout_p);
    int bh;
    SS_ASSERT(dq && dk && dv && datt && dout && q && k && v && att);
    SS_ASSERT(B > 0 && T > 0 && H > 0 && Dh > 0 && ldq >= HD && ldk >= HD && ldv >= HD);
    SS_ASSERT(dropout_p == 0.0f || (att_drop && drop_mask));
    /* forward: S = scale q k^T; A = softmax(S); A' = A * mask / (1-p); out = A' v */
    SS__OMP(parallel for schedule(static))
    for (bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t qo = (size_t)b * T * ldq + (size_t)h * Dh, ko = (size_t)b * T * ldk + (size_t)h * Dh;
        const size_t vo = (size_t)b * T * ldv + (size_t)h * Dh, oo = (size_t)b * T * HD + (size_t)h * Dh;
        const float *a = att + (size_t)bh * T * T;
        const float *ad = dropout_p > 0.0f ? att_drop + (size_t)bh * T * T : a;
        float *da = datt + (size_t)bh * T * T;
        int i, j;
        /* dA' (T,T) = dout (T,Dh) @ v^T;  dv (T,Dh) += A'^T @ dout */
        ss_gemm(0, 1, T, T, Dh, 1.0f, dout + oo, HD, v + vo, ldv, 0.0f, da, T);
        ss_gemm(1, 0, T, Dh, T, 1.0f, ad, T, dout + oo, HD, 1.0f, dv + vo, ldv);
        for (i = 0; i < T; i++) {
            float *dar = da + (size_t)i * T;
            const float *ar = a + (size_t)i * T;
            double dot = 0.0;
            float fdot;
            if (dropout_p > 0.0f) { /* dA = dA' * mask / (1-p) */
                const unsigned char *mr = drop_mask + (size_t)bh * T * T + (size_t)i * T;
                for (j = 0; j < T; j++) dar[j] = mr[j] ? dar[j] * keep_scale : 0.0f;
            }
            /* softmax: dS_j = A_j (dA_j - sum_k A_k dA_k); hidden keys have A = 0, so dS = 0 */
            for (j = 0; j < T; j++) dot += (double)ar[j] * dar[j];
            fdot = (float)dot;
            for (j = 0; j < T; j++) dar[j] = ar[j] * (dar[j] - fdot);
        }
        /* dq += scale dS @ k;  dk += scale dS^T @ q */
        ss_gemm(0, 0, T, Dh, T, scale, da, T, k + ko, ldk, 1.0f, dq + qo, ldq);
        ss_gemm(1, 0, T, Dh, T, scale, da, T, q + qo, ldq, 1.0f, dk + ko, ldk);
    }
}

// >>swiglu ----------------------------------------------------------------------------------------

SS_API void ss_swiglu_forward(float *out, const float *a, const float *g, size_t N) {
    long i, n = (long)N;
    SS_ASSERT(out && a && g);
    SS__OMP(parallel for schedule(static))
    for (i = 0; i < n; i++) {
        float sig = 1.0f / (1.0f + SS_EXPF(-a[i]));
        out[i] = a[i] * sig * g[i];
    }
}

SS_API void ss_swiglu_backward(float *da, float *dg, const float *dout, const float *a,
                               const float *g, size_t N) {
    long i, n = (long)N;
    SS_ASSERT(da && dg && dout && a && g);
    /* forward: out = a sig(a) g;  d/da [a sig(a)] = sig(a) (1 + a (1 - sig(a))) */
    SS__OMP(parallel for schedule(static))
    for (i = 0; i < n; i++) {
        float sig = 1.0f / (1.0f + SS_EXPF(-a[i]));
        da[i] += dout[i] * g[i] * sig * (1.0f + a[i] * (1.0f - sig));
        dg[i] += dout[i] * a[i] * sig;
    }
}

// >>tanh ------------------------------------------------------------------------------------------

SS_API void ss_tanh_forward(float *out, const float *inp, size_t N) {
    size_t i;
    SS_ASSERT(out && inp);
    for (i = 0; i < N; i++) out[i] = SS_TANHF(inp[i]);
}

SS_API void ss_tanh_backward(float *dinp, const float *dout, const float *out, size_t N) {
    size_t i;
    SS_ASSERT(dinp && dout && out);
    /* forward: y = tanh(x);  dy/dx = 1 - y^2, so backward needs only the output */
    for (i = 0; i < N; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}

// >>dropout ---------------------------------------------------------------------------------------

SS_API void ss_dropout_forward(float *out, unsigned char *mask, const float *inp, float p,
                               ss_rng *rng, size_t N) {
    SS_ASSERT(out && mask && inp && p >= 0.0f && p < 1.0f);
    if (p == 0.0f) { /* identity; no random draw, so p = 0 leaves rng untouched */
        size_t i;
        if (out != inp) SS_MEMCPY(out, inp, N * sizeof(float));
        for (i = 0; i < N; i++) mask[i] = 1;
        return;
    }
    SS_ASSERT(rng);
    ss__dropout_apply(out, mask, inp, p, rng, N);
}

SS_API void ss_dropout_backward(float *dinp, const float *dout, const unsigned char *mask, float p,
                                size_t N) {
    float scale = 1.0f / (1.0f - p);
    size_t i;
    SS_ASSERT(dinp && dout && mask && p >= 0.0f && p < 1.0f);
    for (i = 0; i < N; i++)
        if (mask[i]) dinp[i] += dout[i] * scale;
}

// >>crossentropy ----------------------------------------------------------------------------------

SS_API void ss_crossentropy_forward(ss_ce_stats *stats, float *losses, float *probs,
                                    const float *logits, const int *targets, int N, int V) {
    double loss_sum = 0.0;
    int r, kept = 0, correct = 0;
    SS_ASSERT(stats && losses && probs && logits && targets && N > 0 && V > 0);
    SS__OMP(parallel for schedule(static) reduction(+ : correct))
    for (r = 0; r < N; r++) {
        const float *x = logits + (size_t)r * V;
        float *p = probs + (size_t)r * V;
        const int t = targets[r];
        float max, xt, inv;
        double sum = 0.0;
        int j, argmax = 0;
        SS_ASSERT((t == SS_IGNORE_INDEX || (t >= 0 && t < V)) && "target out of range");
        if (t == SS_IGNORE_INDEX) { /* ignored rows cost nothing; their probs are not written */
            losses[r] = 0.0f;
            continue;
        }
        max = x[0];
        for (j = 1; j < V; j++)
            if (x[j] > max) { /* strictly greater: ties go to the lower id, as torch.argmax */
                max = x[j];
                argmax = j;
            }
        xt = x[t]; /* read before p overwrites x when probs aliases logits */
        for (j = 0; j < V; j++) {
            p[j] = SS_EXPF(x[j] - max); /* subtract the max: exp never overflows */
            sum += p[j];
        }
        inv = (float)(1.0 / sum);
        for (j = 0; j < V; j++) p[j] *= inv;
        /* -log softmax_t = log(sum exp(x - max)) - (x_t - max), in double */
        losses[r] = (float)(SS_LOG(sum) - ((double)xt - (double)max));
        correct += argmax == t;
    }
    for (r = 0; r < N; r++) /* serial: the sum has one order whatever the thread count */
        if (targets[r] != SS_IGNORE_INDEX) {
            loss_sum += losses[r];
            kept++;
        }
    stats->loss_sum = loss_sum;
    stats->kept = kept;
    stats->correct = correct;
    stats->loss = kept ? (float)(loss_sum / kept) : 0.0f;
}

SS_API void ss_crossentropy_backward(float *dlogits, float dloss, const float *probs,
                                     const int *targets, int N, int V) {
    int r;
    SS_ASSERT(dlogits && probs && targets && N > 0 && V > 0);
    /* forward: loss = log(sum_j exp x_j) - x_t;  dloss/dx_j = softmax_j - [j == t] */
    SS__OMP(parallel for schedule(static))
    for (r = 0; r < N; r++) {
        const int t = targets[r];
        const float *p = probs + (size_t)r * V;
        float *dx = dlogits + (size_t)r * V;
        int j;
        if (t == SS_IGNORE_INDEX) continue;
        for (j = 0; j < V; j++) dx[j] += dloss * p[j];
        dx[t] -= dloss;
    }
}

#endif /* SS__IMPLEMENTED */
#endif /* SS_IMPLEMENTATION */

/* ================================================================================================
   HISTORY
   0.1.0  (2026-11-27) first release: result codes and error details, splittable RNG, atomic file
          writes, the parameter registry, the GEMM core (naive, blocked, CBLAS), and the ops:
          embedding, linear, RMSNorm, RoPE, attention, SwiGLU, tanh, dropout, cross-entropy.

   LICENCE (MIT)
   Copyright (c) 2026 the subspace.h authors

   Permission is hereby granted, free of charge, to any person obtaining a copy of this software
   and associated documentation files (the "Software"), to deal in the Software without
   restriction, including without limitation the rights to use, copy, modify, merge, publish,
   distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
   Software is furnished to do so, subject to the following conditions:

   The above copyright notice and this permission notice shall be included in all copies or
   substantial portions of the Software.

   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
   BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
   NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
   DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
   OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
*/
