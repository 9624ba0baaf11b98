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
   10. >>json     strict RFC 8259 reader with byte offsets in every error, and a writer
       >>safetensors  reader (header only at open, one tensor at a time; F32/F16/BF16/F8) and writer
   (6. layers, 7. model, 8. training, 9. tokenizer, 11. SVD: later releases)

   RECENT CHANGES
   ==============
   0.1.0  first release: error model, RNG, parameter registry, GEMM core, ops with checked backward,
          strict JSON, safetensors reading and writing.

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

// >>json ==========================================================================================
// 10. Serialization: strict JSON for configs and safetensors headers, safetensors files.
//
// JSON follows RFC 8259 strictly: no comments, trailing commas, single quotes, leading zeros,
// NaN or Infinity; strings must be valid UTF-8 with no raw control characters and no lone
// surrogates in \u escapes; an object may not repeat a key (a config must not be ambiguous).
// Numbers go through strtod after the grammar is checked, so the C locale must be in effect for
// LC_NUMERIC (the default; a program that calls setlocale must keep LC_NUMERIC "C"). A number
// that strtod reads differently is an error, never a silently wrong value.

#define SS_JSON_MAX_DEPTH 64 /* arrays and objects nested deeper are an error (parser and writer) */

typedef enum ss_json_type {
    SS_JSON_NULL,
    SS_JSON_BOOL,
    SS_JSON_NUMBER,
    SS_JSON_STRING,
    SS_JSON_ARRAY,
    SS_JSON_OBJECT
} ss_json_type;

/* One value of a parsed document. Read-only; every pointer is borrowed from its ss_json_doc and
   valid until ss_json_doc_free. */
typedef struct ss_json {
    ss_json_type type;
    int boolean;                    /* BOOL: 0 or 1 */
    int is_integer;                 /* NUMBER: no fraction or exponent, and fits in int64 */
    double number;                  /* NUMBER: the value (also set for integers) */
    int64_t integer;                /* NUMBER with is_integer: the exact value */
    const char *string;             /* STRING: decoded UTF-8, NUL-terminated, may hold NUL */
    size_t length;                  /* STRING: bytes in string; ARRAY, OBJECT: children */
    const struct ss_json *children; /* ARRAY, OBJECT: length values in source order */
    const char *key;                /* a member of an object: its decoded key; else NULL */
    size_t key_length;              /* bytes in key */
    const struct ss_json *parent;   /* NULL for the root */
    const char *source;             /* the source name given to ss_json_parse */
    size_t offset;                  /* byte offset of the value's first character in the text */
} ss_json;

/* A parsed document: one array of values (children of a value are contiguous) and one arena of
   decoded strings. Caller-owned; zero it or let ss_json_parse fill it. */
typedef struct ss_json_doc {
    ss_json *nodes; /* count values; nodes[0] is the root */
    size_t count;
    char *strings;  /* the source name and every decoded string and key */
} ss_json_doc;

/* Parse len bytes of text (no NUL needed; NUL bytes are errors outside strings). source_name
   (e.g. a path, NULL gives "json") prefixes every message. Owned: release with
   ss_json_doc_free. Fails with SS_ERR_FORMAT, detail "<source>:<line>:<col> (byte N): <what>",
   or SS_ERR_NOMEM; *doc is then zeroed. Thread-safe for distinct docs. */
SS_API ss_result ss_json_parse(ss_json_doc *doc, const char *text, size_t len,
                               const char *source_name);
/* Release what ss_json_parse allocated; safe on a zeroed doc; leaves it zeroed. */
SS_API void ss_json_doc_free(ss_json_doc *doc);
/* The root value, or NULL for a zeroed doc. Borrowed: valid until ss_json_doc_free. */
SS_API const ss_json *ss_json_root(const ss_json_doc *doc);
/* The member called key, or NULL when object is NULL, not an object or lacks the key. */
SS_API const ss_json *ss_json_get(const ss_json *object, const char *key);
/* Children of an array or object (0 for NULL and scalars), and child i or NULL past the end. */
SS_API size_t ss_json_count(const ss_json *value);
SS_API const ss_json *ss_json_at(const ss_json *value, size_t i);
/* "null", "bool", "number", "string", "array" or "object". Static string. */
SS_API const char *ss_json_type_name(ss_json_type type);
/* Where a value sits, e.g. "model.layers[2].name" ("" for the root), written into buf (always
   NUL-terminated, truncated to size). Returns buf. */
SS_API char *ss_json_path(const ss_json *value, char *buf, size_t size);
/* The 1-based line and column (in code points; a tab counts 1) of byte offset in text. */
SS_API void ss_json_line_col(const char *text, size_t len, size_t offset, int *line, int *col);

/* Typed reads of one value. On success *out is set; on failure it is left alone and the result
   is SS_ERR_FORMAT, detail "<source>: <path> (byte N): expected ..., got ...". as_int and
   as_int64 take only integer literals in range (12, not 12.0 or 1.2e1). as_string's *out is
   borrowed (valid until ss_json_doc_free); len may be NULL. */
SS_API ss_result ss_json_as_int(const ss_json *value, int *out);
SS_API ss_result ss_json_as_int64(const ss_json *value, int64_t *out);
SS_API ss_result ss_json_as_double(const ss_json *value, double *out);
SS_API ss_result ss_json_as_bool(const ss_json *value, int *out);
SS_API ss_result ss_json_as_string(const ss_json *value, const char **out, size_t *len);
/* The same for the member key of object. A missing key (or a NULL object) is SS_ERR_NOT_FOUND
   with *out untouched, so a caller can preset a default and accept NOT_FOUND; object not being
   an object is SS_ERR_FORMAT. */
SS_API ss_result ss_json_get_int(const ss_json *object, const char *key, int *out);
SS_API ss_result ss_json_get_double(const ss_json *object, const char *key, double *out);
SS_API ss_result ss_json_get_bool(const ss_json *object, const char *key, int *out);
SS_API ss_result ss_json_get_string(const ss_json *object, const char *key, const char **out);

/* Appends JSON text to a growable buffer. Caller-owned struct: ss_json_writer_init, write one
   value (containers by begin/key/.../end), ss_json_writer_finish, read text, ss_json_writer_free.
   The first error sticks (SS_ERR_NOMEM; SS_ERR_NONFINITE for NaN or infinity; SS_ERR_INVALID for
   a string that is not UTF-8): later calls do nothing and return it, so one check at finish is
   enough. Misuse (a key outside an object, a value without its key, end without begin, nesting
   past SS_JSON_MAX_DEPTH) is a programmer error (SS_ASSERT). Not thread-safe per writer. */
typedef struct ss_json_writer {
    char *text;      /* owned: NUL-terminated output, NULL before the first byte */
    size_t length;   /* bytes in text */
    size_t capacity;
    ss_result status;
    int pretty;      /* 1: newline and 2-space indent per level, ": " after keys */
    int depth;       /* open containers */
    int after_key;   /* a key was written and waits for its value */
    int done;        /* the root value is complete */
    unsigned char is_object[SS_JSON_MAX_DEPTH + 1]; /* per level: object (1) or array (0) */
    unsigned char has_items[SS_JSON_MAX_DEPTH + 1]; /* per level: something written already */
} ss_json_writer;

/* Start an empty writer; allocates nothing (so cannot fail). pretty: see the struct. */
SS_API void ss_json_writer_init(ss_json_writer *w, int pretty);
SS_API ss_result ss_json_write_begin_object(ss_json_writer *w);
SS_API ss_result ss_json_write_end_object(ss_json_writer *w);
SS_API ss_result ss_json_write_begin_array(ss_json_writer *w);
SS_API ss_result ss_json_write_end_array(ss_json_writer *w);
/* The next member's key (NUL-terminated UTF-8), inside an object. */
SS_API ss_result ss_json_write_key(ss_json_writer *w, const char *key);
/* A string: quote and backslash escaped, \b \f \n \r \t by name, other control characters as
   \u00XX, UTF-8 passed through. _n takes len bytes, which may include NUL (written \u0000). */
SS_API ss_result ss_json_write_string(ss_json_writer *w, const char *s);
SS_API ss_result ss_json_write_string_n(ss_json_writer *w, const char *s, size_t len);
/* A double in the shortest of %.15g/%.16g/%.17g that reads back to the same bits; integral
   values below 2^53 are written as integers ("3", "-0"). NaN and infinity: SS_ERR_NONFINITE. */
SS_API ss_result ss_json_write_number(ss_json_writer *w, double value);
SS_API ss_result ss_json_write_int(ss_json_writer *w, int64_t value);
SS_API ss_result ss_json_write_bool(ss_json_writer *w, int value);
SS_API ss_result ss_json_write_null(ss_json_writer *w);
/* Asserts that one complete value was written, and returns the sticky status. On SS_OK,
   w->text holds w->length bytes plus a NUL; owned by w: release with ss_json_writer_free. */
SS_API ss_result ss_json_writer_finish(ss_json_writer *w);
/* Release the text; safe on a zeroed writer; leaves it zeroed. */
SS_API void ss_json_writer_free(ss_json_writer *w);

// >>safetensors ===================================================================================
// safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
// UTF-8 JSON, then the data. The JSON maps each tensor name to {"dtype", "shape", "data_offsets":
// [begin, end]} with offsets relative to the first data byte; an optional "__metadata__" object
// holds string values (the config travels there as a JSON string). Data is row-major, little-
// endian, shapes outermost first (PyTorch order). Files are read through fseek/ftell, which take
// a long: on LP64 systems (Linux, macOS) any size works; where long is 32 bits (Windows, 32-bit
// systems) files beyond 2 GiB fail with SS_ERR_IO.

#define SS_SAFETENSORS_MAX_DIMS 8           /* more dimensions in a file are an error */
#define SS_SAFETENSORS_MAX_HEADER 100000000 /* bytes; a longer header is rejected (as upstream) */

/* Element types: enum name, header string, bytes per element. One list for all three. */
#define SS_DTYPE_LIST(X)                                                                        \
    X(SS_DTYPE_BOOL, "BOOL", 1)                                                                 \
    X(SS_DTYPE_U8, "U8", 1)                                                                     \
    X(SS_DTYPE_I8, "I8", 1)                                                                     \
    X(SS_DTYPE_F8_E5M2, "F8_E5M2", 1)                                                           \
    X(SS_DTYPE_F8_E4M3, "F8_E4M3", 1)                                                           \
    X(SS_DTYPE_I16, "I16", 2)                                                                   \
    X(SS_DTYPE_U16, "U16", 2)                                                                   \
    X(SS_DTYPE_F16, "F16", 2)                                                                   \
    X(SS_DTYPE_BF16, "BF16", 2)                                                                 \
    X(SS_DTYPE_I32, "I32", 4)                                                                   \
    X(SS_DTYPE_U32, "U32", 4)                                                                   \
    X(SS_DTYPE_F32, "F32", 4)                                                                   \
    X(SS_DTYPE_F64, "F64", 8)                                                                   \
    X(SS_DTYPE_I64, "I64", 8)                                                                   \
    X(SS_DTYPE_U64, "U64", 8)

typedef enum ss_dtype {
#define SS__DTYPE_ENUM(name, text, size) name,
    SS_DTYPE_LIST(SS__DTYPE_ENUM)
#undef SS__DTYPE_ENUM
    SS_DTYPE_COUNT
} ss_dtype;

/* "F32", "BF16", ...; "?" outside the list. Static string. */
SS_API const char *ss_dtype_name(ss_dtype dtype);
/* Bytes per element; 0 outside the list. */
SS_API size_t ss_dtype_size(ss_dtype dtype);
/* Whether ss_safetensors_read_f32 converts this type: F64, F32, F16, BF16, F8_E4M3, F8_E5M2. */
SS_API int ss_dtype_is_float(ss_dtype dtype);

/* Exact widening of one stored value to float (F64 is rounded to nearest).
   f16: IEEE binary16 with subnormals, infinities and NaN. bf16: the upper half of a float32.
   f8_e4m3: "e4m3fn" (bias 7, no infinities, S.1111.111 is NaN, max 448, subnormals m * 2^-9).
   f8_e5m2: binary16 cut to its upper byte (bias 15, with infinities and NaN). */
SS_API float ss_f16_to_f32(uint16_t h);
SS_API float ss_bf16_to_f32(uint16_t b);
SS_API float ss_f8_e4m3_to_f32(uint8_t b);
SS_API float ss_f8_e5m2_to_f32(uint8_t b);

/* One tensor of an open file. */
typedef struct ss_safetensors_entry {
    const char *name;                       /* borrowed: valid until ss_safetensors_close */
    ss_dtype dtype;
    int ndim;                               /* 0..SS_SAFETENSORS_MAX_DIMS; 0 is a scalar */
    int64_t shape[SS_SAFETENSORS_MAX_DIMS]; /* outermost first; unused dims are 1 */
    uint64_t numel;                         /* product of shape (1 for a scalar, 0 allowed) */
    uint64_t offset;                        /* file offset of the first byte (8 + N + begin) */
    uint64_t size;                          /* bytes: numel * ss_dtype_size(dtype) */
    size_t header_offset;                   /* where the entry sits in the header (messages) */
} ss_safetensors_entry;

/* An open safetensors file: the parsed, validated header and an open FILE for the data. Only the
   header is read at open, never the data (shards can be many GB). Caller-owned; zero-initialisable.
   One thread at a time per struct (reads share one file position). */
typedef struct ss_safetensors {
    char *path;                     /* owned copy, for messages */
    void *file;                     /* FILE*, open until ss_safetensors_close */
    uint64_t file_size;             /* bytes */
    uint64_t header_size;           /* N; data starts at byte 8 + N */
    ss_safetensors_entry *entries;  /* count entries, in header order */
    int count;
    const ss_safetensors_entry **by_name; /* count entries sorted by name, for find */
    const ss_json *metadata;        /* the "__metadata__" object, or NULL when absent */
    ss_json_doc header;             /* the parsed header; owns the names and the metadata */
} ss_safetensors;

/* A tensor to write: F32 data of numel = product of shape (numel 0 allowed; data may then be
   NULL). The caller keeps ownership of everything it points to. */
typedef struct ss_safetensors_tensor {
    const char *name;                       /* UTF-8, unique, not "__metadata__" */
    int ndim;                               /* 0..SS_SAFETENSORS_MAX_DIMS */
    int64_t shape[SS_SAFETENSORS_MAX_DIMS]; /* outermost first, each >= 0 */
    const float *data;                      /* (numel) row-major */
} ss_safetensors_tensor;

#ifndef SS_NO_STDIO
/* Write count F32 tensors, in the given order and contiguous, to path through an ss_writer (a
   crash or a failure never leaves a partial file). metadata holds metadata_pairs (key, value)
   string pairs: metadata[2i] is a key, metadata[2i+1] its value (may be NULL when 0 pairs). The
   header is compact JSON, "__metadata__" first, padded with spaces to a multiple of 8 bytes.
   Fails with SS_ERR_INVALID (a NULL, duplicate or reserved name, a bad ndim or dimension, a
   duplicate metadata key, a string that is not UTF-8), SS_ERR_OVERFLOW, SS_ERR_NOMEM or
   SS_ERR_IO, each naming the tensor or the path. Thread-safe for distinct paths. */
SS_API ss_result ss_safetensors_write(const char *path, const ss_safetensors_tensor *tensors,
                                      int count, const char *const *metadata, int metadata_pairs);
/* Every tensor of an initialised registry, under its name and shape, data from p->param. */
SS_API ss_result ss_safetensors_write_params(const char *path, const ss_params *p,
                                             const char *const *metadata, int metadata_pairs);

/* Open path and read and validate its header; the data stays on disk. Owned: release with
   ss_safetensors_close (also after a failure, though *st is then already zeroed). Fails with
   SS_ERR_IO (cannot open, seek or read) or SS_ERR_FORMAT (file shorter than 8 bytes, header
   length beyond the file or SS_SAFETENSORS_MAX_HEADER, header not JSON or not an object, an entry
   that is not exactly {dtype, shape, data_offsets}, an unknown dtype, a shape entry that is not a
   non-negative integer, numel * dtype size != end - begin, offsets outside the data, overlapping
   tensors, "__metadata__" not an object of strings), or SS_ERR_NOMEM. Each detail names the file
   and the tensor and/or the byte offset. */
SS_API ss_result ss_safetensors_open(ss_safetensors *st, const char *path);
/* Index of the tensor called name (binary search), or -1. */
SS_API int ss_safetensors_find(const ss_safetensors *st, const char *name);
/* The metadata value of key, or NULL. Borrowed: valid until ss_safetensors_close. */
SS_API const char *ss_safetensors_metadata(const ss_safetensors *st, const char *key);
/* Read tensor index (0 <= index < count) as float into out (out_numel elements, which must equal
   its numel), converting F64/F32/F16/BF16/F8_E4M3/F8_E5M2, in bounded chunks through a 16 KiB
   stack buffer. Fails with SS_ERR_INVALID (out_numel differs), SS_ERR_FORMAT (a dtype that is not
   a float) or SS_ERR_IO (seek failure, or a short read: the file shrank after open), naming the
   file and the tensor. out is then partly written. */
SS_API ss_result ss_safetensors_read_f32(ss_safetensors *st, int index, float *out,
                                         size_t out_numel);
/* Fill every tensor of an initialised registry from the file, by name. Everything is checked
   before any data is read: a registry tensor missing from the file is SS_ERR_NOT_FOUND; shapes
   must match exactly (same ndim and dims), else SS_ERR_FORMAT naming the tensor and both shapes;
   with strict nonzero a file tensor the registry lacks is SS_ERR_FORMAT naming it. A read error
   afterwards may leave some tensors filled. */
SS_API ss_result ss_safetensors_load_params(ss_safetensors *st, ss_params *p, int strict);
/* Close the file and free everything; safe on a zeroed struct; leaves it zeroed. */
SS_API void ss_safetensors_close(ss_safetensors *st);
#endif

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
#include <limits.h>
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

// >>json (implementation) -------------------------------------------------------------------------


#define SS__JSON_NONE ((size_t)-1)   /* "no item" in the parser's child links */
#define SS__JSON_MAX_NUMBER 256      /* longest number literal accepted, in characters */

/* Decode one UTF-8 sequence from s[0..n): its length (1 to 4) and *cp, or 0 when the bytes are
   not well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates U+D800..DFFF,
   nothing above U+10FFFF, no missing or stray continuation bytes. */
SS_PRIVATE size_t ss__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    uint32_t c = s[0], min;
    size_t len, i;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) { /* C0 and C1 could only start overlong forms */
        len = 2, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, c &= 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) { /* F5..FF would pass U+10FFFF */
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

/* Encode code point cp (<= U+10FFFF, not a surrogate) as UTF-8 into out; returns its length. */
SS_PRIVATE size_t ss__utf8_encode(uint32_t cp, unsigned char *out) {
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Make room for need elements of elem bytes in a realloc'd array, at least doubling so appends
   are amortised O(1). Returns the (possibly moved) array and updates *cap, or returns NULL and
   leaves the old array alone when memory runs out or the size overflows. */
SS_PRIVATE void *ss__grow_array(void *data, size_t *cap, size_t need, size_t elem) {
    size_t new_cap = *cap, bytes;
    void *grown;
    if (!ss__mul_size(new_cap, 2, &new_cap)) new_cap = need;
    if (new_cap < need) new_cap = need;
    if (new_cap < 16) new_cap = 16;
    if (!ss__mul_size(new_cap, elem, &bytes)) return NULL;
    grown = ss__realloc(data, bytes);
    if (grown) *cap = new_cap;
    return grown;
}

/* The parser works on items: the values in the order they start (the root first), with child
   lists linked by index, because the item array moves as it grows. When the whole text has
   parsed, ss__json_finish lays the items out breadth-first as ss_json nodes, so that every
   container's children sit side by side, and turns indices into pointers. */
typedef struct ss__json_item {
    ss_json_type type;
    int boolean, is_integer, has_key;
    double number;
    int64_t integer;
    size_t offset;                /* where the value starts in the text */
    size_t str_at, str_len;       /* STRING: the decoded bytes in the arena */
    size_t key_at, key_len;       /* member of an object: its key in the arena */
    size_t key_offset;            /* ... and where the key starts in the text */
    size_t count;                 /* ARRAY, OBJECT: children */
    size_t first, last, next;     /* first and last child, next sibling (SS__JSON_NONE: none) */
} ss__json_item;

typedef struct ss__json_key { /* one member, for the duplicate-key check */
    const char *key;
    size_t len, offset;
} ss__json_key;

typedef struct ss__json_parser {
    const unsigned char *text;
    size_t len, pos;
    const char *source;           /* the caller's source name, for messages */
    ss__json_item *items;
    size_t count, cap;
    char *arena;                  /* source name, then every decoded string, each NUL-ended */
    size_t arena_len, arena_cap;
    ss__json_key *keys;           /* scratch of the duplicate-key check */
    size_t keys_cap;
} ss__json_parser;

/* Fail with SS_ERR_FORMAT and "<source>:<line>:<col> (byte N): <what>". */
SS_PRIVATE ss_result ss__json_error(const ss__json_parser *p, size_t at, const char *fmt, ...)
    SS__PRINTF_LIKE(3, 4);
SS_PRIVATE ss_result ss__json_error(const ss__json_parser *p, size_t at, const char *fmt, ...) {
#ifndef SS_NO_ERROR_STRINGS
    char what[256];
    int line, col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    ss_json_line_col((const char *)p->text, p->len, at, &line, &col);
    return ss__fail(SS_ERR_FORMAT, "%s:%d:%d (byte %zu): %s", p->source, line, col, at, what);
#else
    (void)p, (void)at, (void)fmt;
    return SS_ERR_FORMAT;
#endif
}

/* "'x'" for a printable ASCII character, "byte 0xNN" for anything else (messages only). */
SS_PRIVATE const char *ss__json_char(unsigned char c, char buf[16]) {
    if (c >= 0x20 && c < 0x7F)
        snprintf(buf, 16, "'%c'", c);
    else
        snprintf(buf, 16, "byte 0x%02X", c);
    return buf;
}

SS_PRIVATE void ss__json_skip_space(ss__json_parser *p) {
    while (p->pos < p->len) {
        unsigned char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

/* Room for n more arena bytes. */
SS_PRIVATE ss_result ss__json_reserve(ss__json_parser *p, size_t n) {
    size_t need;
    char *grown;
    if (p->arena_cap - p->arena_len >= n) return SS_OK;
    if (!ss__add_size(p->arena_len, n, &need))
        return ss__fail(SS_ERR_OVERFLOW, "%s: strings overflow the address space", p->source);
    grown = (char *)ss__grow_array(p->arena, &p->arena_cap, need, 1);
    if (!grown)
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu bytes of strings", p->source, need);
    p->arena = grown;
    return SS_OK;
}

/* A new item of this type starting at offset; *index receives it. */
SS_PRIVATE ss_result ss__json_new_item(ss__json_parser *p, ss_json_type type, size_t offset,
                                       size_t *index) {
    ss__json_item *it;
    if (p->count == p->cap) {
        ss__json_item *grown =
            (ss__json_item *)ss__grow_array(p->items, &p->cap, p->count + 1, sizeof *p->items);
        if (!grown)
            return ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu JSON values", p->source,
                            p->count + 1);
        p->items = grown;
    }
    it = &p->items[p->count];
    SS_MEMSET(it, 0, sizeof *it);
    it->type = type;
    it->offset = offset;
    it->first = it->last = it->next = SS__JSON_NONE;
    *index = p->count++;
    return SS_OK;
}

SS_PRIVATE void ss__json_link(ss__json_parser *p, size_t parent, size_t child) {
    ss__json_item *c = &p->items[parent];
    if (c->count == 0)
        c->first = child;
    else
        p->items[c->last].next = child;
    c->last = child;
    c->count++;
}

/* Four hex digits at s (avail bytes there) into *out; 0 if they are not there. */
SS_PRIVATE int ss__json_hex4(const unsigned char *s, size_t avail, uint32_t *out) {
    uint32_t v = 0;
    size_t i;
    if (avail < 4) return 0;
    for (i = 0; i < 4; i++) {
        unsigned char c = s[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

/* The string whose opening quote is at p->pos, decoded into the arena and NUL-terminated:
   *at is where it starts there, *len its length without the NUL. */
SS_PRIVATE ss_result ss__json_string(ss__json_parser *p, size_t *at, size_t *len) {
    size_t start = p->pos;
    char cbuf[16];
    p->pos++;
    *at = p->arena_len;
    for (;;) {
        unsigned char c, out[4];
        size_t n;
        uint32_t cp;
        if (p->pos >= p->len) return ss__json_error(p, start, "unterminated string");
        if (ss__json_reserve(p, 5) != SS_OK) return SS_ERR_NOMEM; /* one code point and a NUL */
        c = p->text[p->pos];
        if (c == '"') break;
        if (c < 0x20)
            return ss__json_error(p, p->pos, "control character 0x%02X in a string (escape it)", c);
        if (c == '\\') {
            size_t esc = p->pos;
            if (p->pos + 1 >= p->len) return ss__json_error(p, start, "unterminated string");
            c = p->text[p->pos + 1];
            p->pos += 2;
            switch (c) {
            case '"': case '\\': case '/': cp = c; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (!ss__json_hex4(p->text + p->pos, p->len - p->pos, &cp))
                    return ss__json_error(p, esc, "\\u must be followed by 4 hex digits");
                p->pos += 4;
                /* UTF-16 surrogates: a high one (D800..DBFF) must be followed by an escaped low
                   one (DC00..DFFF); together they code U+10000..10FFFF. */
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return ss__json_error(p, esc, "\\u%04X is a low surrogate with no high "
                                          "surrogate before it", (unsigned)cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (p->len - p->pos < 6 || p->text[p->pos] != '\\' ||
                        p->text[p->pos + 1] != 'u' ||
                        !ss__json_hex4(p->text + p->pos + 2, 4, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return ss__json_error(p, esc, "\\u%04X is a high surrogate not followed "
                                              "by a \\u low surrogate", (unsigned)cp);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p->pos += 6;
                }
                break;
            default:
                return ss__json_error(p, esc, "invalid escape: backslash then %s",
                                      ss__json_char(c, cbuf));
            }
            n = ss__utf8_encode(cp, out);
            SS_MEMCPY(p->arena + p->arena_len, out, n);
            p->arena_len += n;
        } else if (c < 0x80) {
            p->arena[p->arena_len++] = (char)c;
            p->pos++;
        } else {
            n = ss__utf8_decode(p->text + p->pos, p->len - p->pos, &cp);
            if (n == 0) return ss__json_error(p, p->pos, "invalid UTF-8 (byte 0x%02X)", c);
            SS_MEMCPY(p->arena + p->arena_len, p->text + p->pos, n);
            p->arena_len += n;
            p->pos += n;
        }
    }
    p->pos++; /* the closing quote */
    *len = p->arena_len - *at;
    p->arena[p->arena_len++] = '\0';
    return SS_OK;
}

/* A number: the RFC 8259 grammar  -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?  is
   checked here, then strtod converts it (the C locale makes '.' its decimal point). An integer
   literal is also accumulated exactly into int64 when it fits. */
SS_PRIVATE ss_result ss__json_number(ss__json_parser *p, size_t index) {
    const unsigned char *t = p->text;
    size_t start = p->pos, n;
    int negative = 0, integral = 1, fits = 1;
    uint64_t mag = 0, limit;
    char buf[SS__JSON_MAX_NUMBER + 1], *end;
    double v;
    ss__json_item *it;
    if (t[p->pos] == '-') negative = 1, p->pos++;
    if (p->pos >= p->len || t[p->pos] < '0' || t[p->pos] > '9')
        return ss__json_error(p, p->pos, "expected a digit after '-'");
    if (t[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->len && t[p->pos] >= '0' && t[p->pos] <= '9')
            return ss__json_error(p, start, "leading zeros are not allowed in numbers");
    } else {
        limit = negative ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
        while (p->pos < p->len && t[p->pos] >= '0' && t[p->pos] <= '9') {
            unsigned d = (unsigned)(t[p->pos++] - '0');
            if (mag > (limit - d) / 10) fits = 0;
            else mag = mag * 10 + d;
        }
    }
    if (p->pos < p->len && t[p->pos] == '.') {
        integral = 0;
        p->pos++;
        if (p->pos >= p->len || t[p->pos] < '0' || t[p->pos] > '9')
            return ss__json_error(p, p->pos, "expected a digit after '.'");
        while (p->pos < p->len && t[p->pos] >= '0' && t[p->pos] <= '9') p->pos++;
    }
    if (p->pos < p->len && (t[p->pos] == 'e' || t[p->pos] == 'E')) {
        integral = 0;
        p->pos++;
        if (p->pos < p->len && (t[p->pos] == '+' || t[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || t[p->pos] < '0' || t[p->pos] > '9')
            return ss__json_error(p, p->pos, "expected a digit in the exponent");
        while (p->pos < p->len && t[p->pos] >= '0' && t[p->pos] <= '9') p->pos++;
    }
    n = p->pos - start;
    if (n > SS__JSON_MAX_NUMBER)
        return ss__json_error(p, start, "number literal longer than %d characters",
                              SS__JSON_MAX_NUMBER);
    SS_MEMCPY(buf, t + start, n);
    buf[n] = '\0';
    v = strtod(buf, &end);
    if (end != buf + n)
        return ss__json_error(p, start, "strtod stopped inside the number '%s' (is LC_NUMERIC "
                              "the \"C\" locale?)", buf);
    if (isinf(v)) return ss__json_error(p, start, "number %s is beyond the range of a double", buf);
    it = &p->items[index];
    it->number = v; /* underflow to 0 or to a subnormal is accepted, as JSON readers do */
    it->is_integer = integral && fits;
    if (it->is_integer)
        it->integer = negative ? (mag == 0 ? 0 : -(int64_t)(mag - 1) - 1) : (int64_t)mag;
    return SS_OK;
}

SS_PRIVATE ss_result ss__json_value(ss__json_parser *p, int depth, size_t *out);

/* Members of an object must have distinct keys: sort (key, position) and look at neighbours;
   the error points at the earliest key that repeats one before it. */
SS_PRIVATE int ss__json_key_cmp(const void *a, const void *b) {
    const ss__json_key *x = (const ss__json_key *)a, *y = (const ss__json_key *)b;
    int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (c != 0) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

SS_PRIVATE ss_result ss__json_check_keys(ss__json_parser *p, size_t object) {
    size_t n = p->items[object].count, i, child, dup = SS__JSON_NONE;
    if (n < 2) return SS_OK;
    if (n > p->keys_cap) {
        ss__json_key *grown = (ss__json_key *)ss__grow_array(p->keys, &p->keys_cap, n,
                                                             sizeof *p->keys);
        if (!grown)
            return ss__fail(SS_ERR_NOMEM, "%s: no memory to check %zu keys", p->source, n);
        p->keys = grown;
    }
    for (i = 0, child = p->items[object].first; i < n; i++, child = p->items[child].next) {
        p->keys[i].key = p->arena + p->items[child].key_at;
        p->keys[i].len = p->items[child].key_len;
        p->keys[i].offset = p->items[child].key_offset;
    }
    qsort(p->keys, n, sizeof *p->keys, ss__json_key_cmp);
    for (i = 1; i < n; i++)
        if (p->keys[i].len == p->keys[i - 1].len &&
            memcmp(p->keys[i].key, p->keys[i - 1].key, p->keys[i].len) == 0 &&
            (dup == SS__JSON_NONE || p->keys[i].offset < p->keys[dup].offset))
            dup = i;
    if (dup == SS__JSON_NONE) return SS_OK;
    return ss__json_error(p, p->keys[dup].offset, "duplicate key \"%.*s\" in an object",
                          (int)(p->keys[dup].len < 80 ? p->keys[dup].len : 80), p->keys[dup].key);
}

SS_PRIVATE ss_result ss__json_array(ss__json_parser *p, int depth, size_t *out) {
    size_t self, child, comma;
    char cbuf[16];
    ss_result r = ss__json_new_item(p, SS_JSON_ARRAY, p->pos, &self);
    if (r != SS_OK) return r;
    *out = self;
    p->pos++;
    ss__json_skip_space(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
        return SS_OK;
    }
    for (;;) {
        r = ss__json_value(p, depth + 1, &child);
        if (r != SS_OK) return r;
        ss__json_link(p, self, child);
        ss__json_skip_space(p);
        if (p->pos >= p->len)
            return ss__json_error(p, p->pos, "unexpected end of input in an array");
        if (p->text[p->pos] == ']') break;
        if (p->text[p->pos] != ',')
            return ss__json_error(p, p->pos, "expected ',' or ']' after an array element, got %s",
                                  ss__json_char(p->text[p->pos], cbuf));
        comma = p->pos++;
        ss__json_skip_space(p);
        if (p->pos < p->len && p->text[p->pos] == ']')
            return ss__json_error(p, comma, "trailing comma before ']'");
    }
    p->pos++;
    return SS_OK;
}

SS_PRIVATE ss_result ss__json_object(ss__json_parser *p, int depth, size_t *out) {
    size_t self, child, comma = SS__JSON_NONE, key_offset, key_at, key_len;
    char cbuf[16];
    ss_result r = ss__json_new_item(p, SS_JSON_OBJECT, p->pos, &self);
    if (r != SS_OK) return r;
    *out = self;
    p->pos++;
    ss__json_skip_space(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
        return SS_OK;
    }
    for (;;) {
        ss__json_item *it;
        ss__json_skip_space(p);
        if (p->pos >= p->len)
            return ss__json_error(p, p->pos, "unexpected end of input in an object");
        if (p->text[p->pos] != '"') {
            if (p->text[p->pos] == '}' && comma != SS__JSON_NONE)
                return ss__json_error(p, comma, "trailing comma before '}'");
            if (p->text[p->pos] == '\'')
                return ss__json_error(p, p->pos, "keys must be in double quotes, not single");
            return ss__json_error(p, p->pos, "expected a \"key\" in an object, got %s",
                                  ss__json_char(p->text[p->pos], cbuf));
        }
        key_offset = p->pos;
        r = ss__json_string(p, &key_at, &key_len);
        if (r != SS_OK) return r;
        ss__json_skip_space(p);
        if (p->pos >= p->len || p->text[p->pos] != ':')
            return ss__json_error(p, p->pos, "expected ':' after the key \"%.*s\"",
                                  (int)(key_len < 80 ? key_len : 80), p->arena + key_at);
        p->pos++;
        r = ss__json_value(p, depth + 1, &child);
        if (r != SS_OK) return r;
        it = &p->items[child];
        it->has_key = 1;
        it->key_at = key_at;
        it->key_len = key_len;
        it->key_offset = key_offset;
        ss__json_link(p, self, child);
        ss__json_skip_space(p);
        if (p->pos >= p->len)
            return ss__json_error(p, p->pos, "unexpected end of input in an object");
        if (p->text[p->pos] == '}') break;
        if (p->text[p->pos] != ',')
            return ss__json_error(p, p->pos, "expected ',' or '}' after an object member, got %s",
                                  ss__json_char(p->text[p->pos], cbuf));
        comma = p->pos++;
    }
    p->pos++;
    return ss__json_check_keys(p, self);
}

/* One value at p->pos (after optional space); depth counts the containers around it. */
SS_PRIVATE ss_result ss__json_value(ss__json_parser *p, int depth, size_t *out) {
    static const char *const words[3] = {"true", "false", "null"};
    unsigned char c;
    char cbuf[16];
    ss_result r;
    ss__json_skip_space(p);
    if (p->pos >= p->len)
        return ss__json_error(p, p->pos, depth == 0 ? "empty document"
                                                    : "unexpected end of input, expected a value");
    c = p->text[p->pos];
    if (c == '{' || c == '[') {
        /* the parser recurses once per level: the limit also bounds its stack */
        if (depth >= SS_JSON_MAX_DEPTH)
            return ss__json_error(p, p->pos, "nesting deeper than %d levels", SS_JSON_MAX_DEPTH);
        return c == '{' ? ss__json_object(p, depth, out) : ss__json_array(p, depth, out);
    }
    if (c == '"') {
        size_t at, len;
        r = ss__json_new_item(p, SS_JSON_STRING, p->pos, out);
        if (r == SS_OK) r = ss__json_string(p, &at, &len);
        if (r == SS_OK) p->items[*out].str_at = at, p->items[*out].str_len = len;
        return r;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        r = ss__json_new_item(p, SS_JSON_NUMBER, p->pos, out);
        return r == SS_OK ? ss__json_number(p, *out) : r;
    }
    if (c == 't' || c == 'f' || c == 'n') {
        const char *w = words[c == 't' ? 0 : c == 'f' ? 1 : 2];
        size_t n = strlen(w);
        if (p->len - p->pos < n || memcmp(p->text + p->pos, w, n) != 0)
            return ss__json_error(p, p->pos, "invalid literal (expected %s)", w);
        r = ss__json_new_item(p, c == 'n' ? SS_JSON_NULL : SS_JSON_BOOL, p->pos, out);
        if (r != SS_OK) return r;
        p->items[*out].boolean = c == 't';
        p->pos += n;
        return SS_OK;
    }
    if (c == '/') return ss__json_error(p, p->pos, "comments are not allowed in JSON");
    if (c == '\'') return ss__json_error(p, p->pos, "strings must be in double quotes, not single");
    if (c == 0xEF)
        return ss__json_error(p, p->pos, "byte order mark (or stray UTF-8) before a value");
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return ss__json_error(p, p->pos, "unexpected %s (bare words such as NaN or Infinity are "
                              "not JSON)", ss__json_char(c, cbuf));
    return ss__json_error(p, p->pos, "unexpected %s, expected a value", ss__json_char(c, cbuf));
}

/* Lay the items out breadth-first: the root at 0, then each container's children side by side
   in source order. Until node q is visited, its offset field holds the index of its item. */
SS_PRIVATE ss_result ss__json_finish(ss__json_parser *p, ss_json_doc *doc) {
    size_t bytes, q, end = 1, k, child;
    ss_json *nodes;
    if (!ss__mul_size(p->count, sizeof(ss_json), &bytes))
        return ss__fail(SS_ERR_OVERFLOW, "%s: too many JSON values", p->source);
    nodes = (ss_json *)ss__malloc(bytes);
    if (!nodes)
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu JSON values", p->source, p->count);
    nodes[0].offset = 0;
    nodes[0].parent = NULL;
    for (q = 0; q < p->count; q++) {
        ss_json *n = &nodes[q];
        const ss__json_item *it = &p->items[n->offset];
        const ss_json *parent = n->parent;
        SS_MEMSET(n, 0, sizeof *n);
        n->type = it->type;
        n->boolean = it->boolean;
        n->is_integer = it->is_integer;
        n->number = it->number;
        n->integer = it->integer;
        n->parent = parent;
        n->source = p->arena;
        n->offset = it->offset;
        if (it->type == SS_JSON_STRING) {
            n->string = p->arena + it->str_at;
            n->length = it->str_len;
        }
        if (it->has_key) {
            n->key = p->arena + it->key_at;
            n->key_length = it->key_len;
        }
        if (it->count > 0) {
            n->length = it->count;
            n->children = nodes + end;
            for (k = 0, child = it->first; k < it->count; k++, child = p->items[child].next) {
                nodes[end].offset = child;
                nodes[end].parent = n;
                end++;
            }
        }
    }
    SS_ASSERT(end == p->count);
    doc->nodes = nodes;
    doc->count = p->count;
    doc->strings = p->arena;
    p->arena = NULL;
    return SS_OK;
}

SS_API ss_result ss_json_parse(ss_json_doc *doc, const char *text, size_t len,
                               const char *source_name) {
    ss__json_parser p;
    ss_result r;
    size_t root, name_len;
    char cbuf[16];
    SS_ASSERT(doc && (text || len == 0));
    SS_MEMSET(doc, 0, sizeof *doc);
    SS_MEMSET(&p, 0, sizeof p);
    p.text = (const unsigned char *)text;
    p.len = len;
    p.source = source_name ? source_name : "json";
    /* the arena starts with the source name, which every value points to for its messages */
    name_len = strlen(p.source);
    r = ss__json_reserve(&p, name_len + 1);
    if (r == SS_OK) {
        SS_MEMCPY(p.arena, p.source, name_len + 1);
        p.arena_len = name_len + 1;
        r = ss__json_value(&p, 0, &root);
    }
    if (r == SS_OK) {
        ss__json_skip_space(&p);
        if (p.pos < p.len)
            r = ss__json_error(&p, p.pos, "unexpected %s after the JSON value",
                               ss__json_char(p.text[p.pos], cbuf));
    }
    if (r == SS_OK) r = ss__json_finish(&p, doc);
    ss_free(p.items);
    ss_free(p.keys);
    ss_free(p.arena);
    return r;
}

SS_API void ss_json_doc_free(ss_json_doc *doc) {
    ss_free(doc->nodes);
    ss_free(doc->strings);
    SS_MEMSET(doc, 0, sizeof *doc);
}

SS_API const ss_json *ss_json_root(const ss_json_doc *doc) {
    return doc->count ? doc->nodes : NULL;
}

SS_API const ss_json *ss_json_get(const ss_json *object, const char *key) {
    size_t i, n;
    if (!object || object->type != SS_JSON_OBJECT) return NULL;
    n = strlen(key);
    for (i = 0; i < object->length; i++) {
        const ss_json *m = &object->children[i];
        if (m->key_length == n && memcmp(m->key, key, n) == 0) return m;
    }
    return NULL;
}

SS_API size_t ss_json_count(const ss_json *value) {
    return value && (value->type == SS_JSON_ARRAY || value->type == SS_JSON_OBJECT) ? value->length
                                                                                     : 0;
}

SS_API const ss_json *ss_json_at(const ss_json *value, size_t i) {
    return i < ss_json_count(value) ? &value->children[i] : NULL;
}

SS_API const char *ss_json_type_name(ss_json_type type) {
    switch (type) {
    case SS_JSON_NULL: return "null";
    case SS_JSON_BOOL: return "bool";
    case SS_JSON_NUMBER: return "number";
    case SS_JSON_STRING: return "string";
    case SS_JSON_ARRAY: return "array";
    case SS_JSON_OBJECT: return "object";
    }
    return "?";
}

SS_API char *ss_json_path(const ss_json *value, char *buf, size_t size) {
    const ss_json *chain[SS_JSON_MAX_DEPTH + 1];
    int n = 0, i;
    size_t used = 0;
    if (size == 0) return buf;
    buf[0] = '\0';
    for (; value && value->parent && n < SS_JSON_MAX_DEPTH + 1; value = value->parent)
        chain[n++] = value;
    for (i = n - 1; i >= 0 && used + 1 < size; i--) {
        const ss_json *v = chain[i];
        if (v->key)
            snprintf(buf + used, size - used, "%s%.*s", used ? "." : "",
                     (int)(v->key_length < 200 ? v->key_length : 200), v->key);
        else
            snprintf(buf + used, size - used, "[%zu]", (size_t)(v - v->parent->children));
        used += strlen(buf + used);
    }
    return buf;
}

SS_API void ss_json_line_col(const char *text, size_t len, size_t offset, int *line, int *col) {
    size_t i;
    int l = 1, c = 1;
    if (offset > len) offset = len;
    for (i = 0; i < offset; i++) {
        unsigned char b = (unsigned char)text[i];
        if (b == '\n') {
            if (l < INT_MAX) l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80 && c < INT_MAX) { /* continuation bytes add no column */
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* SS_ERR_FORMAT: "<source>: <path> (byte N): expected <what>, got <value>". */
SS_PRIVATE ss_result ss__json_expected(const ss_json *v, const char *what) {
#ifndef SS_NO_ERROR_STRINGS
    char path[256], got[64];
    if (v->type == SS_JSON_NUMBER)
        snprintf(got, sizeof got, "%.17g", v->number);
    else if (v->type == SS_JSON_BOOL)
        snprintf(got, sizeof got, "%s", v->boolean ? "true" : "false");
    else
        snprintf(got, sizeof got, "%s %s", v->type == SS_JSON_ARRAY ? "an" : "a",
                 ss_json_type_name(v->type));
    ss_json_path(v, path, sizeof path);
    return ss__fail(SS_ERR_FORMAT, "%s: %s (byte %zu): expected %s, got %s", v->source,
                    path[0] ? path : "(root)", v->offset, what, got);
#else
    (void)v, (void)what;
    return SS_ERR_FORMAT;
#endif
}

SS_API ss_result ss_json_as_int(const ss_json *value, int *out) {
    SS_ASSERT(value && out);
    if (value->type != SS_JSON_NUMBER || !value->is_integer || value->integer < INT_MIN ||
        value->integer > INT_MAX)
        return ss__json_expected(value, "an integer within int range");
    *out = (int)value->integer;
    return SS_OK;
}

SS_API ss_result ss_json_as_int64(const ss_json *value, int64_t *out) {
    SS_ASSERT(value && out);
    if (value->type != SS_JSON_NUMBER || !value->is_integer)
        return ss__json_expected(value, "an integer within int64 range");
    *out = value->integer;
    return SS_OK;
}

SS_API ss_result ss_json_as_double(const ss_json *value, double *out) {
    SS_ASSERT(value && out);
    if (value->type != SS_JSON_NUMBER) return ss__json_expected(value, "a number");
    *out = value->number;
    return SS_OK;
}

SS_API ss_result ss_json_as_bool(const ss_json *value, int *out) {
    SS_ASSERT(value && out);
    if (value->type != SS_JSON_BOOL) return ss__json_expected(value, "true or false");
    *out = value->boolean;
    return SS_OK;
}

SS_API ss_result ss_json_as_string(const ss_json *value, const char **out, size_t *len) {
    SS_ASSERT(value && out);
    if (value->type != SS_JSON_STRING) return ss__json_expected(value, "a string");
    *out = value->string;
    if (len) *len = value->length;
    return SS_OK;
}

/* The member key of object for the get_* family: NOT_FOUND or FORMAT with a detail. */
SS_PRIVATE ss_result ss__json_member(const ss_json *object, const char *key, const ss_json **out) {
    char path[256];
    if (!object) return ss__fail(SS_ERR_NOT_FOUND, "%s: missing (no object to look in)", key);
    if (object->type != SS_JSON_OBJECT) return ss__json_expected(object, "an object");
    *out = ss_json_get(object, key);
    if (*out) return SS_OK;
    ss_json_path(object, path, sizeof path);
    return ss__fail(SS_ERR_NOT_FOUND, "%s: %s%s%s (object at byte %zu): missing", object->source,
                    path, path[0] ? "." : "", key, object->offset);
}

SS_API ss_result ss_json_get_int(const ss_json *object, const char *key, int *out) {
    const ss_json *v = NULL;
    ss_result r = ss__json_member(object, key, &v);
    return r == SS_OK ? ss_json_as_int(v, out) : r;
}

SS_API ss_result ss_json_get_double(const ss_json *object, const char *key, double *out) {
    const ss_json *v = NULL;
    ss_result r = ss__json_member(object, key, &v);
    return r == SS_OK ? ss_json_as_double(v, out) : r;
}

SS_API ss_result ss_json_get_bool(const ss_json *object, const char *key, int *out) {
    const ss_json *v = NULL;
    ss_result r = ss__json_member(object, key, &v);
    return r == SS_OK ? ss_json_as_bool(v, out) : r;
}

SS_API ss_result ss_json_get_string(const ss_json *object, const char *key, const char **out) {
    const ss_json *v = NULL;
    ss_result r = ss__json_member(object, key, &v);
    return r == SS_OK ? ss_json_as_string(v, out, NULL) : r;
}

/* The writer. Structure is tracked even after an error, so the programmer-error checks stay
   exact; only the appends stop. */

SS_API void ss_json_writer_init(ss_json_writer *w, int pretty) {
    SS_MEMSET(w, 0, sizeof *w);
    w->pretty = pretty != 0;
}

/* Record the first error only. */
SS_PRIVATE void ss__jw_error(ss_json_writer *w, ss_result r) {
    if (w->status == SS_OK) w->status = r;
}

SS_PRIVATE void ss__jw_append(ss_json_writer *w, const char *s, size_t n) {
    if (w->status != SS_OK) return;
    if (w->capacity - w->length <= n) { /* keep room for the NUL after the text */
        size_t need;
        char *grown;
        if (!ss__add_size(w->length, n, &need) || !ss__add_size(need, 1, &need)) {
            ss__jw_error(w, ss__fail(SS_ERR_OVERFLOW, "JSON writer: text overflows"));
            return;
        }
        grown = (char *)ss__grow_array(w->text, &w->capacity, need < 256 ? 256 : need, 1);
        if (!grown) {
            ss__jw_error(w, ss__fail(SS_ERR_NOMEM, "JSON writer: no memory for %zu bytes", need));
            return;
        }
        w->text = grown;
    }
    SS_MEMCPY(w->text + w->length, s, n);
    w->length += n;
    w->text[w->length] = '\0';
}

/* Pretty mode: a new line indented two spaces per open container. */
SS_PRIVATE void ss__jw_newline(ss_json_writer *w) {
    static const char spaces[] = "\n" /* 2 * SS_JSON_MAX_DEPTH spaces */
        "                                                                "
        "                                                                ";
    if (w->pretty) ss__jw_append(w, spaces, 1 + 2 * (size_t)w->depth); /* depth <= 64 */
}

/* Punctuation before any value: the comma and line break in an array; in an object the key has
   already written them. */
SS_PRIVATE void ss__jw_before_value(ss_json_writer *w) {
    if (w->depth == 0) {
        SS_ASSERT(!w->done && "ss_json_writer: only one root value");
        return;
    }
    if (w->is_object[w->depth]) {
        SS_ASSERT(w->after_key && "ss_json_writer: a value in an object needs ss_json_write_key");
        w->after_key = 0;
        return;
    }
    if (w->has_items[w->depth]) ss__jw_append(w, ",", 1);
    w->has_items[w->depth] = 1;
    ss__jw_newline(w);
}

SS_PRIVATE void ss__jw_after_value(ss_json_writer *w) {
    if (w->depth == 0) w->done = 1;
}

SS_PRIVATE ss_result ss__jw_begin(ss_json_writer *w, int object) {
    ss__jw_before_value(w);
    SS_ASSERT(w->depth < SS_JSON_MAX_DEPTH && "ss_json_writer: nesting deeper than the limit");
    ss__jw_append(w, object ? "{" : "[", 1);
    w->depth++;
    w->is_object[w->depth] = (unsigned char)object;
    w->has_items[w->depth] = 0;
    return w->status;
}

SS_PRIVATE ss_result ss__jw_end(ss_json_writer *w, int object) {
    SS_ASSERT(w->depth > 0 && w->is_object[w->depth] == object && !w->after_key &&
              "ss_json_writer: end does not match begin, or a key has no value");
    w->depth--;
    if (w->has_items[w->depth + 1]) ss__jw_newline(w);
    ss__jw_append(w, object ? "}" : "]", 1);
    ss__jw_after_value(w);
    return w->status;
}

SS_API ss_result ss_json_write_begin_object(ss_json_writer *w) { return ss__jw_begin(w, 1); }
SS_API ss_result ss_json_write_end_object(ss_json_writer *w) { return ss__jw_end(w, 1); }
SS_API ss_result ss_json_write_begin_array(ss_json_writer *w) { return ss__jw_begin(w, 0); }
SS_API ss_result ss_json_write_end_array(ss_json_writer *w) { return ss__jw_end(w, 0); }

/* A quoted, escaped string; bytes that are not UTF-8 set SS_ERR_INVALID. */
SS_PRIVATE void ss__jw_quoted(ss_json_writer *w, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run;
    ss__jw_append(w, "\"", 1);
    while (i < len) {
        char esc[6];
        size_t n;
        uint32_t cp;
        for (run = i; run < len && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' &&
                      u[run] != '\\'; run++) {
        }
        ss__jw_append(w, s + i, run - i); /* plain ASCII goes out as one run */
        i = run;
        if (i == len) break;
        if (u[i] >= 0x80) {
            n = ss__utf8_decode(u + i, len - i, &cp);
            if (n == 0) {
                ss__jw_error(w, ss__fail(SS_ERR_INVALID, "JSON writer: string is not UTF-8 "
                                         "(byte 0x%02X at %zu of it)", u[i], i));
                return;
            }
            ss__jw_append(w, s + i, n);
            i += n;
            continue;
        }
        esc[0] = '\\';
        n = 2;
        switch (u[i]) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: /* the other control characters */
            esc[1] = 'u', esc[2] = '0', esc[3] = '0';
            esc[4] = hex[u[i] >> 4], esc[5] = hex[u[i] & 15];
            n = 6;
        }
        ss__jw_append(w, esc, n);
        i++;
    }
    ss__jw_append(w, "\"", 1);
}

SS_API ss_result ss_json_write_key(ss_json_writer *w, const char *key) {
    SS_ASSERT(w->depth > 0 && w->is_object[w->depth] && !w->after_key &&
              "ss_json_writer: a key outside an object, or two keys in a row");
    if (w->has_items[w->depth]) ss__jw_append(w, ",", 1);
    w->has_items[w->depth] = 1;
    ss__jw_newline(w);
    ss__jw_quoted(w, key, strlen(key));
    ss__jw_append(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    w->after_key = 1;
    return w->status;
}

SS_API ss_result ss_json_write_string_n(ss_json_writer *w, const char *s, size_t len) {
    ss__jw_before_value(w);
    ss__jw_quoted(w, s, len);
    ss__jw_after_value(w);
    return w->status;
}

SS_API ss_result ss_json_write_string(ss_json_writer *w, const char *s) {
    return ss_json_write_string_n(w, s, strlen(s));
}

SS_API ss_result ss_json_write_number(ss_json_writer *w, double value) {
    char buf[40];
    int precision;
    ss__jw_before_value(w);
    if (isnan(value) || isinf(value)) {
        ss__jw_error(w, ss__fail(SS_ERR_NONFINITE, "JSON writer: %g has no JSON form (at byte "
                                 "%zu)", value, w->length));
    } else if (value == floor(value) && fabs(value) < 9007199254740992.0) {
        snprintf(buf, sizeof buf, "%.0f", value); /* exact below 2^53; "-0" keeps the sign */
        ss__jw_append(w, buf, strlen(buf));
    } else {
        /* %.17g always reads back to the same double; a shorter form that also does is kinder
           to readers (0.1 rather than 0.10000000000000001). */
        for (precision = 15; precision <= 17; precision++) {
            snprintf(buf, sizeof buf, "%.*g", precision, value);
            if (strtod(buf, NULL) == value) break;
        }
        ss__jw_append(w, buf, strlen(buf));
    }
    ss__jw_after_value(w);
    return w->status;
}

SS_API ss_result ss_json_write_int(ss_json_writer *w, int64_t value) {
    char buf[24];
    ss__jw_before_value(w);
    snprintf(buf, sizeof buf, "%lld", (long long)value);
    ss__jw_append(w, buf, strlen(buf));
    ss__jw_after_value(w);
    return w->status;
}

SS_API ss_result ss_json_write_bool(ss_json_writer *w, int value) {
    ss__jw_before_value(w);
    ss__jw_append(w, value ? "true" : "false", value ? 4 : 5);
    ss__jw_after_value(w);
    return w->status;
}

SS_API ss_result ss_json_write_null(ss_json_writer *w) {
    ss__jw_before_value(w);
    ss__jw_append(w, "null", 4);
    ss__jw_after_value(w);
    return w->status;
}

SS_API ss_result ss_json_writer_finish(ss_json_writer *w) {
    if (w->status != SS_OK) return w->status;
    SS_ASSERT(w->depth == 0 && w->done && "ss_json_writer_finish before the value is complete");
    return SS_OK;
}

SS_API void ss_json_writer_free(ss_json_writer *w) {
    ss_free(w->text);
    SS_MEMSET(w, 0, sizeof *w);
}

// >>safetensors (implementation) ------------------------------------------------------------------

SS_API const char *ss_dtype_name(ss_dtype dtype) {
    switch (dtype) {
#define SS__DTYPE_NAME(name, text, size)                                                        \
    case name:                                                                                  \
        return text;
        SS_DTYPE_LIST(SS__DTYPE_NAME)
#undef SS__DTYPE_NAME
    case SS_DTYPE_COUNT:
        break;
    }
    return "?";
}

SS_API size_t ss_dtype_size(ss_dtype dtype) {
    switch (dtype) {
#define SS__DTYPE_SIZE(name, text, size)                                                        \
    case name:                                                                                  \
        return size;
        SS_DTYPE_LIST(SS__DTYPE_SIZE)
#undef SS__DTYPE_SIZE
    case SS_DTYPE_COUNT:
        break;
    }
    return 0;
}

SS_API int ss_dtype_is_float(ss_dtype dtype) {
    return dtype == SS_DTYPE_F64 || dtype == SS_DTYPE_F32 || dtype == SS_DTYPE_F16 ||
           dtype == SS_DTYPE_BF16 || dtype == SS_DTYPE_F8_E4M3 || dtype == SS_DTYPE_F8_E5M2;
}

SS_PRIVATE float ss__f32_from_bits(uint32_t bits) {
    float f;
    SS_MEMCPY(&f, &bits, sizeof f);
    return f;
}

SS_API float ss_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (uint32_t)(h >> 10) & 0x1F, man = h & 0x3FFu;
    if (exp == 0) { /* zero or subnormal: man * 2^-24, exact in a float */
        float f = (float)man * (1.0f / 16777216.0f);
        return sign ? -f : f;
    }
    if (exp == 31) return ss__f32_from_bits(sign | 0x7F800000u | (man << 13)); /* inf, NaN */
    return ss__f32_from_bits(sign | ((exp + 112) << 23) | (man << 13)); /* rebias 15 -> 127 */
}

SS_API float ss_bf16_to_f32(uint16_t b) { return ss__f32_from_bits((uint32_t)b << 16); }

/* e4m3fn (Micikevicius et al. 2022, "FP8 formats for deep learning"; PyTorch float8_e4m3fn):
   1 sign, 4 exponent bits (bias 7), 3 mantissa bits; the top exponent still holds numbers up to
   1.75 * 2^8 = 448, and only S.1111.111 is NaN. There is no infinity. */
SS_API float ss_f8_e4m3_to_f32(uint8_t b) {
    uint32_t sign = (uint32_t)(b >> 7) << 31, exp = (uint32_t)(b >> 3) & 0xF, man = b & 0x7u;
    if (exp == 15 && man == 7) return ss__f32_from_bits(sign | 0x7FC00000u);
    if (exp == 0) { /* zero or subnormal: man/8 * 2^(1-7) = man * 2^-9 */
        float f = (float)man * (1.0f / 512.0f);
        return sign ? -f : f;
    }
    return ss__f32_from_bits(sign | ((exp + 120) << 23) | (man << 20)); /* rebias 7 -> 127 */
}

/* e5m2 is binary16 with the low 8 mantissa bits dropped. */
SS_API float ss_f8_e5m2_to_f32(uint8_t b) { return ss_f16_to_f32((uint16_t)(b << 8)); }

/* Little-endian byte order by shifts: the same bytes whatever the host's byte order, so no
   run-time endianness test is needed for the file's little-endian data. */
SS_PRIVATE uint64_t ss__load_le64(const unsigned char *b) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}
SS_PRIVATE uint32_t ss__load_le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
SS_PRIVATE void ss__store_le64(unsigned char *b, uint64_t v) {
    int i;
    for (i = 0; i < 8; i++, v >>= 8) b[i] = (unsigned char)(v & 0xFF);
}

/* n stored little-endian values of a float dtype -> float. */
SS_PRIVATE void ss__to_f32(float *out, const unsigned char *in, size_t n, ss_dtype dtype) {
    size_t i;
    switch (dtype) {
    case SS_DTYPE_F32:
        for (i = 0; i < n; i++) out[i] = ss__f32_from_bits(ss__load_le32(in + 4 * i));
        break;
    case SS_DTYPE_F64:
        for (i = 0; i < n; i++) {
            uint64_t bits = ss__load_le64(in + 8 * i);
            double d;
            SS_MEMCPY(&d, &bits, sizeof d);
            out[i] = (float)d;
        }
        break;
    case SS_DTYPE_F16:
        for (i = 0; i < n; i++) out[i] = ss_f16_to_f32((uint16_t)(in[2 * i] | in[2 * i + 1] << 8));
        break;
    case SS_DTYPE_BF16:
        for (i = 0; i < n; i++) out[i] = ss_bf16_to_f32((uint16_t)(in[2 * i] | in[2 * i + 1] << 8));
        break;
    case SS_DTYPE_F8_E4M3:
        for (i = 0; i < n; i++) out[i] = ss_f8_e4m3_to_f32(in[i]);
        break;
    case SS_DTYPE_F8_E5M2:
        for (i = 0; i < n; i++) out[i] = ss_f8_e5m2_to_f32(in[i]);
        break;
    default:
        SS_ASSERT(0 && "ss__to_f32: not a float dtype");
    }
}

/* "[3, 4]" into buf (messages only). */
SS_PRIVATE char *ss__shape_string(char *buf, size_t size, const int64_t *shape, int ndim) {
    size_t used = 0;
    int i;
    buf[0] = '\0';
    for (i = 0; i < ndim && used + 1 < size; i++) {
        snprintf(buf + used, size - used, "%s%lld", i ? ", " : "[", (long long)shape[i]);
        used += strlen(buf + used);
    }
    if (used + 1 < size) snprintf(buf + used, size - used, "%s]", ndim ? "" : "[");
    return buf;
}

#ifndef SS_NO_STDIO

#define SS__ST_CHUNK 16384 /* bytes converted per step when reading or writing tensor data */

SS_PRIVATE int ss__cmp_cstr_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

SS_API ss_result ss_safetensors_write(const char *path, const ss_safetensors_tensor *tensors,
                                      int count, const char *const *metadata, int metadata_pairs) {
    static const char spaces[] = "       "; /* padding: at most 7 */
    unsigned char len8[8], buf[SS__ST_CHUNK];
    const char **names = NULL;
    ss_json_writer jw;
    ss_writer w;
    ss_result r = SS_OK;
    uint64_t offset = 0;
    size_t pad, k, n, numel = 1, bytes;
    int i, j, d;
    SS_ASSERT(path && count >= 0 && metadata_pairs >= 0);
    SS_ASSERT((count == 0 || tensors) && (metadata_pairs == 0 || metadata));
    for (i = 0; i < count; i++) { /* everything is checked before a byte is written */
        const ss_safetensors_tensor *t = &tensors[i];
        if (!t->name) return ss__fail(SS_ERR_INVALID, "%s: tensor %d has no name", path, i);
        if (strcmp(t->name, "__metadata__") == 0)
            return ss__fail(SS_ERR_INVALID, "%s: \"__metadata__\" is reserved, not a tensor name",
                            path);
        if (t->ndim < 0 || t->ndim > SS_SAFETENSORS_MAX_DIMS)
            return ss__fail(SS_ERR_INVALID, "%s: tensor '%s': ndim %d is outside 0..%d", path,
                            t->name, t->ndim, SS_SAFETENSORS_MAX_DIMS);
        for (d = 0, numel = 1; d < t->ndim; d++) {
            if (t->shape[d] < 0)
                return ss__fail(SS_ERR_INVALID, "%s: tensor '%s': dimension %d is %lld", path,
                                t->name, d, (long long)t->shape[d]);
            if ((uint64_t)t->shape[d] > SIZE_MAX ||
                !ss__mul_size(numel, (size_t)t->shape[d], &numel))
                return ss__fail(SS_ERR_OVERFLOW, "%s: tensor '%s': element count overflows", path,
                                t->name);
        }
        if (!ss__mul_size(numel, 4, &bytes) || offset + bytes < offset ||
            offset + bytes > (uint64_t)INT64_MAX)
            return ss__fail(SS_ERR_OVERFLOW, "%s: tensor '%s': data size overflows", path, t->name);
        offset += bytes;
        if (numel > 0 && !t->data)
            return ss__fail(SS_ERR_INVALID, "%s: tensor '%s' has no data", path, t->name);
    }
    for (i = 0; i < metadata_pairs; i++) {
        SS_ASSERT(metadata[2 * i] && metadata[2 * i + 1]);
        for (j = 0; j < i; j++)
            if (strcmp(metadata[2 * i], metadata[2 * j]) == 0)
                return ss__fail(SS_ERR_INVALID, "%s: metadata key '%s' given twice", path,
                                metadata[2 * i]);
    }
    if (count > 1) { /* duplicate tensor names: sort a copy of the name pointers */
        if (!ss__mul_size((size_t)count, sizeof *names, &bytes))
            return ss__fail(SS_ERR_OVERFLOW, "%s: too many tensors", path);
        names = (const char **)ss__malloc(bytes);
        if (!names) return ss__fail(SS_ERR_NOMEM, "%s: no memory for %d tensor names", path, count);
        for (i = 0; i < count; i++) names[i] = tensors[i].name;
        qsort((void *)names, (size_t)count, sizeof *names, ss__cmp_cstr_ptr);
        for (i = 1; i < count && r == SS_OK; i++)
            if (strcmp(names[i], names[i - 1]) == 0)
                r = ss__fail(SS_ERR_INVALID, "%s: tensor name '%s' given twice", path, names[i]);
        ss_free((void *)names);
        if (r != SS_OK) return r;
    }

    /* The header: {"__metadata__":{...}, name:{"dtype":"F32","shape":[..],"data_offsets":[b,e]}} */
    ss_json_writer_init(&jw, 0);
    ss_json_write_begin_object(&jw);
    if (metadata_pairs > 0) {
        ss_json_write_key(&jw, "__metadata__");
        ss_json_write_begin_object(&jw);
        for (i = 0; i < metadata_pairs; i++) {
            ss_json_write_key(&jw, metadata[2 * i]);
            ss_json_write_string(&jw, metadata[2 * i + 1]);
        }
        ss_json_write_end_object(&jw);
    }
    for (i = 0, offset = 0; i < count; i++) {
        const ss_safetensors_tensor *t = &tensors[i];
        ss_json_write_key(&jw, t->name);
        ss_json_write_begin_object(&jw);
        ss_json_write_key(&jw, "dtype");
        ss_json_write_string(&jw, "F32");
        ss_json_write_key(&jw, "shape");
        ss_json_write_begin_array(&jw);
        for (d = 0, numel = 1; d < t->ndim; d++) {
            ss_json_write_int(&jw, t->shape[d]);
            numel *= (size_t)t->shape[d]; /* checked above */
        }
        ss_json_write_end_array(&jw);
        ss_json_write_key(&jw, "data_offsets");
        ss_json_write_begin_array(&jw);
        ss_json_write_int(&jw, (int64_t)offset);
        offset += 4 * (uint64_t)numel;
        ss_json_write_int(&jw, (int64_t)offset);
        ss_json_write_end_array(&jw);
        ss_json_write_end_object(&jw);
    }
    ss_json_write_end_object(&jw);
    r = ss_json_writer_finish(&jw);
    if (r != SS_OK) {
        char why[256];
        snprintf(why, sizeof why, "%.200s", ss_last_error_detail());
        ss_json_writer_free(&jw);
        return ss__fail(r, "%s: header: %s", path, why);
    }
    /* pad with spaces so that the data starts on an 8-byte boundary, as upstream writers do */
    pad = (8 - jw.length % 8) % 8;
    ss__store_le64(len8, (uint64_t)(jw.length + pad));

    r = ss_writer_init(&w, path);
    if (r != SS_OK) {
        ss_json_writer_free(&jw);
        return r;
    }
    ss_writer_write(&w, len8, 8);
    ss_writer_write(&w, jw.text, jw.length);
    ss_writer_write(&w, spaces, pad);
    ss_json_writer_free(&jw);
    for (i = 0; i < count && w.status == SS_OK; i++) {
        const ss_safetensors_tensor *t = &tensors[i];
        for (d = 0, numel = 1; d < t->ndim; d++) numel *= (size_t)t->shape[d];
        for (k = 0; k < numel && w.status == SS_OK; k += n) {
            size_t q;
            n = numel - k < SS__ST_CHUNK / 4 ? numel - k : SS__ST_CHUNK / 4;
            for (q = 0; q < n; q++) {
                uint32_t bits;
                SS_MEMCPY(&bits, &t->data[k + q], 4);
                buf[4 * q] = (unsigned char)(bits & 0xFF);
                buf[4 * q + 1] = (unsigned char)((bits >> 8) & 0xFF);
                buf[4 * q + 2] = (unsigned char)((bits >> 16) & 0xFF);
                buf[4 * q + 3] = (unsigned char)(bits >> 24);
            }
            ss_writer_write(&w, buf, 4 * n);
        }
    }
    r = ss_writer_commit(&w);
    ss_writer_free(&w);
    return r;
}

SS_API ss_result ss_safetensors_write_params(const char *path, const ss_params *p,
                                             const char *const *metadata, int metadata_pairs) {
    ss_safetensors_tensor *ts;
    size_t bytes;
    ss_result r;
    int i, d;
    SS_ASSERT(p->param && "ss_safetensors_write_params before ss_params_init");
    if (!ss__mul_size((size_t)p->count, sizeof *ts, &bytes))
        return ss__fail(SS_ERR_OVERFLOW, "%s: too many tensors", path);
    ts = (ss_safetensors_tensor *)ss__malloc(bytes);
    if (!ts) return ss__fail(SS_ERR_NOMEM, "%s: no memory for %d tensor entries", path, p->count);
    for (i = 0; i < p->count; i++) {
        const ss_tensor *t = &p->tensors[i];
        SS_MEMSET(&ts[i], 0, sizeof ts[i]);
        ts[i].name = t->name;
        ts[i].ndim = t->ndim;
        for (d = 0; d < t->ndim; d++) ts[i].shape[d] = t->shape[d];
        ts[i].data = p->param + t->offset;
    }
    r = ss_safetensors_write(path, ts, p->count, metadata, metadata_pairs);
    ss_free(ts);
    return r;
}

/* Overflow-checked uint64 product. */
SS_PRIVATE int ss__mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (b != 0 && a > UINT64_MAX / b) return 0;
    *out = a * b;
    return 1;
}

/* A non-negative integer of the header (a shape entry or an offset), else SS_ERR_FORMAT. */
SS_PRIVATE ss_result ss__st_count(const ss_safetensors *st, const ss_json *v, const char *name,
                                  const char *what, size_t i, uint64_t *out) {
    char got[40];
    if (v->type == SS_JSON_NUMBER && v->is_integer && v->integer >= 0) {
        *out = (uint64_t)v->integer;
        return SS_OK;
    }
    if (v->type == SS_JSON_NUMBER)
        snprintf(got, sizeof got, "%.17g", v->number);
    else
        snprintf(got, sizeof got, "a %s", ss_json_type_name(v->type));
    return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': %s[%zu] (header byte %zu) must be a "
                    "non-negative integer, got %s", st->path, name, what, i, v->offset, got);
}

/* Check one header entry `name: {"dtype", "shape", "data_offsets"}` and fill e. */
SS_PRIVATE ss_result ss__st_entry(const ss_safetensors *st, const ss_json *m, uint64_t data_size,
                                  ss_safetensors_entry *e) {
    const char *path = st->path, *name = m->key;
    const ss_json *dtype = NULL, *shape = NULL, *offsets = NULL;
    uint64_t begin, end, bytes, numel = 1, dim;
    char sbuf[160];
    size_t i;
    int t;
    ss_result r;
    SS_MEMSET(e, 0, sizeof *e);
    if (strlen(name) != m->key_length)
        return ss__fail(SS_ERR_FORMAT, "%s: a tensor name (header byte %zu) contains a NUL byte",
                        path, m->offset);
    if (m->type != SS_JSON_OBJECT)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' (header byte %zu): entry is a %s, "
                        "expected an object", path, name, m->offset, ss_json_type_name(m->type));
    for (i = 0; i < m->length; i++) {
        const ss_json *c = &m->children[i];
        if (strcmp(c->key, "dtype") == 0 && c->key_length == 5)
            dtype = c;
        else if (strcmp(c->key, "shape") == 0 && c->key_length == 5)
            shape = c;
        else if (strcmp(c->key, "data_offsets") == 0 && c->key_length == 12)
            offsets = c;
        else
            return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' (header byte %zu): unexpected key "
                            "\"%s\" (an entry holds exactly dtype, shape and data_offsets)",
                            path, name, c->offset, c->key);
    }
    if (!dtype || !shape || !offsets)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' (header byte %zu): missing \"%s\"", path,
                        name, m->offset, !dtype ? "dtype" : !shape ? "shape" : "data_offsets");

    if (dtype->type != SS_JSON_STRING)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': dtype (header byte %zu) is a %s, "
                        "expected a string", path, name, dtype->offset,
                        ss_json_type_name(dtype->type));
    for (t = 0; t < SS_DTYPE_COUNT; t++)
        if (strcmp(dtype->string, ss_dtype_name((ss_dtype)t)) == 0 &&
            strlen(dtype->string) == dtype->length)
            break;
    if (t == SS_DTYPE_COUNT)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': unknown dtype \"%.40s\" (header byte %zu)",
                        path, name, dtype->string, dtype->offset);
    e->dtype = (ss_dtype)t;

    if (shape->type != SS_JSON_ARRAY)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': shape (header byte %zu) is a %s, "
                        "expected an array", path, name, shape->offset,
                        ss_json_type_name(shape->type));
    if (shape->length > SS_SAFETENSORS_MAX_DIMS)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': %zu dimensions (header byte %zu), at "
                        "most %d supported", path, name, shape->length, shape->offset,
                        SS_SAFETENSORS_MAX_DIMS);
    e->ndim = (int)shape->length;
    for (i = 0; i < SS_SAFETENSORS_MAX_DIMS; i++) e->shape[i] = 1;
    for (i = 0; i < shape->length; i++) {
        r = ss__st_count(st, &shape->children[i], name, "shape", i, &dim);
        if (r != SS_OK) return r;
        e->shape[i] = (int64_t)dim;
        if (!ss__mul_u64(numel, dim, &numel))
            return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': shape (header byte %zu) has more "
                            "than 2^64 elements", path, name, shape->offset);
    }
    e->numel = numel;

    if (offsets->type != SS_JSON_ARRAY || offsets->length != 2)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': data_offsets (header byte %zu) must be "
                        "an array [begin, end]", path, name, offsets->offset);
    r = ss__st_count(st, &offsets->children[0], name, "data_offsets", 0, &begin);
    if (r == SS_OK) r = ss__st_count(st, &offsets->children[1], name, "data_offsets", 1, &end);
    if (r != SS_OK) return r;
    if (begin > end || end > data_size)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] (header byte "
                        "%zu) do not fit the %llu-byte data buffer", path, name,
                        (unsigned long long)begin, (unsigned long long)end, offsets->offset,
                        (unsigned long long)data_size);
    if (!ss__mul_u64(numel, ss_dtype_size(e->dtype), &bytes) || bytes != end - begin)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' (header byte %zu): shape %s of %s needs "
                        "%llu elements of %zu bytes, but data_offsets [%llu, %llu] span %llu bytes",
                        path, name, m->offset,
                        ss__shape_string(sbuf, sizeof sbuf, e->shape, e->ndim),
                        ss_dtype_name(e->dtype), (unsigned long long)numel,
                        ss_dtype_size(e->dtype), (unsigned long long)begin,
                        (unsigned long long)end, (unsigned long long)(end - begin));
    e->name = name;
    e->offset = 8 + st->header_size + begin;
    e->size = bytes;
    e->header_offset = m->offset;
    return SS_OK;
}

/* The reserved member (an exact match: a key with a NUL after these bytes is a tensor name). */
SS_PRIVATE int ss__st_is_metadata(const ss_json *m) {
    return m->key_length == 12 && memcmp(m->key, "__metadata__", 12) == 0;
}

SS_PRIVATE int ss__st_cmp_offset(const void *a, const void *b) {
    const ss_safetensors_entry *x = *(const ss_safetensors_entry *const *)a;
    const ss_safetensors_entry *y = *(const ss_safetensors_entry *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

SS_PRIVATE int ss__st_cmp_name(const void *a, const void *b) {
    return strcmp((*(const ss_safetensors_entry *const *)a)->name,
                  (*(const ss_safetensors_entry *const *)b)->name);
}

/* Parse and check the header text; fills everything but path, file and the sizes. */
SS_PRIVATE ss_result ss__st_header(ss_safetensors *st, const char *text, size_t n) {
    const ss_json *root, *m;
    const ss_safetensors_entry *reach = NULL; /* the entry that reaches furthest so far */
    uint64_t data_size = st->file_size - 8 - st->header_size;
    size_t i, tensors = 0, bytes, name_len = strlen(st->path);
    char *source;
    ss_result r;
    /* JSON messages read "<path> header:<line>:<col> (byte N)": N counts from the header start */
    source = (char *)ss__malloc(name_len + 8);
    if (!source) return ss__fail(SS_ERR_NOMEM, "%s: no memory for the file name", st->path);
    SS_MEMCPY(source, st->path, name_len);
    SS_MEMCPY(source + name_len, " header", 8);
    r = ss_json_parse(&st->header, text, n, source);
    ss_free(source);
    if (r != SS_OK) return r;
    root = ss_json_root(&st->header);
    if (root->type != SS_JSON_OBJECT)
        return ss__fail(SS_ERR_FORMAT, "%s: the header (file byte 8) is a JSON %s, expected an "
                        "object", st->path, ss_json_type_name(root->type));
    for (i = 0; i < root->length; i++)
        if (!ss__st_is_metadata(&root->children[i])) tensors++;
    if (tensors > (size_t)INT_MAX)
        return ss__fail(SS_ERR_FORMAT, "%s: %zu tensors, too many", st->path, tensors);
    if (!ss__mul_size(tensors, sizeof *st->entries, &bytes))
        return ss__fail(SS_ERR_OVERFLOW, "%s: too many tensors", st->path);
    st->entries = (ss_safetensors_entry *)ss__malloc(bytes);
    if (!st->entries || !ss__mul_size(tensors, sizeof *st->by_name, &bytes) ||
        !(st->by_name = (const ss_safetensors_entry **)ss__malloc(bytes)))
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu tensor entries", st->path, tensors);
    for (i = 0; i < root->length; i++) {
        m = &root->children[i];
        if (ss__st_is_metadata(m)) {
            size_t j;
            if (m->type != SS_JSON_OBJECT)
                return ss__fail(SS_ERR_FORMAT, "%s: __metadata__ (header byte %zu) is a %s, "
                                "expected an object of strings", st->path, m->offset,
                                ss_json_type_name(m->type));
            for (j = 0; j < m->length; j++)
                if (m->children[j].type != SS_JSON_STRING)
                    return ss__fail(SS_ERR_FORMAT, "%s: __metadata__.%s (header byte %zu) is a "
                                    "%s, expected a string", st->path, m->children[j].key,
                                    m->children[j].offset, ss_json_type_name(m->children[j].type));
            st->metadata = m;
            continue;
        }
        r = ss__st_entry(st, m, data_size, &st->entries[st->count]);
        if (r != SS_OK) return r;
        st->by_name[st->count] = &st->entries[st->count];
        st->count++;
    }
    /* No two tensors may share a byte: in order of their first byte, each must start at or after
       the furthest end so far (touching is fine, and so are empty tensors between others). */
    qsort((void *)st->by_name, (size_t)st->count, sizeof *st->by_name, ss__st_cmp_offset);
    for (i = 0; i < (size_t)st->count; i++) {
        const ss_safetensors_entry *e = st->by_name[i];
        if (reach && e->offset < reach->offset + reach->size)
            return ss__fail(SS_ERR_FORMAT, "%s: tensors '%s' (data bytes %llu..%llu) and '%s' "
                            "(data bytes %llu..%llu) overlap", st->path, reach->name,
                            (unsigned long long)(reach->offset - 8 - st->header_size),
                            (unsigned long long)(reach->offset + reach->size - 8 - st->header_size),
                            e->name, (unsigned long long)(e->offset - 8 - st->header_size),
                            (unsigned long long)(e->offset + e->size - 8 - st->header_size));
        if (!reach || e->offset + e->size > reach->offset + reach->size) reach = e;
    }
    qsort((void *)st->by_name, (size_t)st->count, sizeof *st->by_name, ss__st_cmp_name);
    return SS_OK;
}

SS_API ss_result ss_safetensors_open(ss_safetensors *st, const char *path) {
    unsigned char len8[8];
    char *text = NULL;
    FILE *f;
    long end;
    ss_result r;
    SS_MEMSET(st, 0, sizeof *st);
    st->path = ss__strdup(path);
    if (!st->path) return ss__fail(SS_ERR_NOMEM, "%s: no memory for the file name", path);
    f = fopen(path, "rb");
    if (!f) {
        r = ss__fail(SS_ERR_IO, "%s: cannot open for reading (%s)", path, strerror(errno));
        ss_safetensors_close(st);
        return r;
    }
    st->file = f;
    /* the size by seeking to the end: ftell returns a long (64 bits on LP64 systems) */
    if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0) {
        r = ss__fail(SS_ERR_IO, "%s: cannot find the file size (%s)", path, strerror(errno));
    } else if ((st->file_size = (uint64_t)end) < 8) {
        r = ss__fail(SS_ERR_FORMAT, "%s: the file is %llu bytes, shorter than the 8-byte header "
                     "length", path, (unsigned long long)st->file_size);
    } else if (fseek(f, 0, SEEK_SET) != 0 || fread(len8, 1, 8, f) != 8) {
        r = ss__fail(SS_ERR_IO, "%s: cannot read the header length (bytes 0..7)", path);
    } else if ((st->header_size = ss__load_le64(len8)) > SS_SAFETENSORS_MAX_HEADER) {
        r = ss__fail(SS_ERR_FORMAT, "%s: header length %llu (bytes 0..7) is over the limit of %d "
                     "bytes", path, (unsigned long long)st->header_size, SS_SAFETENSORS_MAX_HEADER);
    } else if (st->header_size > st->file_size - 8) {
        r = ss__fail(SS_ERR_FORMAT, "%s: header length %llu (bytes 0..7) runs past the end of the "
                     "%llu-byte file", path, (unsigned long long)st->header_size,
                     (unsigned long long)st->file_size);
    } else if (!(text = (char *)ss__malloc((size_t)st->header_size))) {
        r = ss__fail(SS_ERR_NOMEM, "%s: no memory for the %llu-byte header", path,
                     (unsigned long long)st->header_size);
    } else if (fread(text, 1, (size_t)st->header_size, f) != (size_t)st->header_size) {
        r = ss__fail(SS_ERR_IO, "%s: cannot read the %llu-byte header at byte 8", path,
                     (unsigned long long)st->header_size);
    } else {
        r = ss__st_header(st, text, (size_t)st->header_size);
    }
    ss_free(text);
    if (r != SS_OK) ss_safetensors_close(st);
    return r;
}

SS_API int ss_safetensors_find(const ss_safetensors *st, const char *name) {
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(st->by_name[mid]->name, name);
        if (c == 0) return (int)(st->by_name[mid] - st->entries);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

SS_API const char *ss_safetensors_metadata(const ss_safetensors *st, const char *key) {
    const ss_json *v = ss_json_get(st->metadata, key);
    return v ? v->string : NULL;
}

SS_API ss_result ss_safetensors_read_f32(ss_safetensors *st, int index, float *out,
                                         size_t out_numel) {
    unsigned char buf[SS__ST_CHUNK];
    const ss_safetensors_entry *e;
    FILE *f = (FILE *)st->file;
    size_t esize, step, done = 0;
    SS_ASSERT(f && index >= 0 && index < st->count && (out || out_numel == 0));
    e = &st->entries[index];
    if ((uint64_t)out_numel != e->numel)
        return ss__fail(SS_ERR_INVALID, "%s: tensor '%s' has %llu elements, the buffer %zu",
                        st->path, e->name, (unsigned long long)e->numel, out_numel);
    if (!ss_dtype_is_float(e->dtype))
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' is %s, not a floating-point type",
                        st->path, e->name, ss_dtype_name(e->dtype));
    if (e->numel == 0) return SS_OK;
    if (e->offset > (uint64_t)LONG_MAX)
        return ss__fail(SS_ERR_IO, "%s: tensor '%s' starts at byte %llu, beyond what fseek "
                        "reaches here (long is %d bits)", st->path, e->name,
                        (unsigned long long)e->offset, (int)(sizeof(long) * CHAR_BIT));
    if (fseek(f, (long)e->offset, SEEK_SET) != 0)
        return ss__fail(SS_ERR_IO, "%s: tensor '%s': cannot seek to byte %llu (%s)", st->path,
                        e->name, (unsigned long long)e->offset, strerror(errno));
    esize = ss_dtype_size(e->dtype);
    step = SS__ST_CHUNK / esize;
    while (done < out_numel) {
        size_t n = out_numel - done < step ? out_numel - done : step;
        size_t got = fread(buf, esize, n, f);
        if (got != n) {
            int failed = ferror(f);
            clearerr(f);
            return ss__fail(SS_ERR_IO, "%s: tensor '%s' (file bytes %llu..%llu): %s at file byte "
                            "%llu", st->path, e->name, (unsigned long long)e->offset,
                            (unsigned long long)(e->offset + e->size),
                            failed ? "read error" : "the file ends (truncated after open)",
                            (unsigned long long)(e->offset + (done + got) * esize));
        }
        ss__to_f32(out + done, buf, n, e->dtype);
        done += n;
    }
    return SS_OK;
}

SS_API ss_result ss_safetensors_load_params(ss_safetensors *st, ss_params *p, int strict) {
    char want[160], have[160];
    int i, d, j;
    ss_result r;
    SS_ASSERT(p->param && "ss_safetensors_load_params before ss_params_init");
    for (i = 0; i < p->count; i++) { /* everything is checked before any data is read */
        const ss_tensor *t = &p->tensors[i];
        const ss_safetensors_entry *e;
        int64_t shape[SS_MAX_DIMS];
        int same;
        j = ss_safetensors_find(st, t->name);
        if (j < 0)
            return ss__fail(SS_ERR_NOT_FOUND, "%s: tensor '%s' is missing", st->path, t->name);
        e = &st->entries[j];
        for (d = 0; d < t->ndim; d++) shape[d] = t->shape[d];
        same = e->ndim == t->ndim;
        for (d = 0; same && d < t->ndim; d++) same = e->shape[d] == shape[d];
        if (!same)
            return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' has shape %s in the file, the model "
                            "expects %s", st->path, t->name,
                            ss__shape_string(have, sizeof have, e->shape, e->ndim),
                            ss__shape_string(want, sizeof want, shape, t->ndim));
    }
    for (j = 0; strict && j < st->count; j++)
        if (ss_params_find(p, st->entries[j].name) < 0)
            return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' (header byte %zu) is not in the model",
                            st->path, st->entries[j].name, st->entries[j].header_offset);
    for (i = 0; i < p->count; i++) {
        r = ss_safetensors_read_f32(st, ss_safetensors_find(st, p->tensors[i].name),
                                    ss_params_data(p, i), p->tensors[i].numel);
        if (r != SS_OK) return r;
    }
    return SS_OK;
}

SS_API void ss_safetensors_close(ss_safetensors *st) {
    if (st->file) fclose((FILE *)st->file);
    ss_free(st->path);
    ss_free(st->entries);
    ss_free((void *)st->by_name);
    ss_json_doc_free(&st->header);
    SS_MEMSET(st, 0, sizeof *st);
}

#endif /* SS_NO_STDIO */

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
