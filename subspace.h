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
   | SS_LM_CHUNK         | 256              | implementation TU      | rows of LM logits computed at once         |
   | SS_SQRTF, SS_EXPF   | libm             | implementation TU      | the math group; also SS_TANHF, SS_POWF,    |
   |                     |                  |                        | SS_SQRT, SS_LOG, SS_COS, SS_SIN            |
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
   Rf  ffn_rank (decomposed FFN)  Rv  vocab_rank (vocabulary subspace)
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
   ss_mlao_forward (section 6) runs the attention half of this list, ss_ffn_forward the FFN half,
   ss_model_forward (section 7) the whole block for every layer, then the head.
   examples/layer_tour.c runs exactly the attention half from the ops and checks its gradients.

   CONTENTS (grep -n '^// >>' subspace.h is the map; interface and implementation use the same order)
   ========
   1. >>config     options, version, allocation and assert hooks, result codes, error detail
   2. >>utils      RNG (seedable, splittable), size arithmetic, timer, file reading, atomic writes
   3. >>params     named tensors and the parameter registry (params, grads, AdamW m and v blocks)
   4. >>gemm       C = alpha*op(A)*op(B) + beta*C: naive reference, blocked kernel, CBLAS
   5. >>ops        forward/backward pairs:
                   >>embedding >>linear >>rmsnorm >>rope >>attention >>swiglu >>tanh
                   >>dropout >>crossentropy
   6. >>layers     attention and FFN layers: >>mha >>mla >>mlao >>ffn
   7. >>model      config, parameter registry under PyTorch names, encoder forward/backward, heads
   10. >>json      strict RFC 8259 reader with byte offsets in every error, and a writer
       >>safetensors  reader (header only at open, one tensor at a time; F32/F16/BF16/F8) and writer
   (8. training, 9. tokenizer, 11. SVD: later releases)

   RECENT CHANGES
   ==============
   0.1.0  first release: error model, RNG, parameter registry, GEMM core, ops with checked backward,
          MHA/MLA/MLA-o layers and the encoder model with MLM, causal-LM and classifier heads,
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

// >>layers ========================================================================================
// 6. Layers: the three attention variants and the feed-forward network, each a forward/backward
//    pair built only from the ops of section 5. The argument order is the ops' order:
//      forward (out, activations, inputs, weights, RoPE tables, dims)
//      backward(dinp, weight grads, gradient scratch, dout, forward inputs, activations, weights,
//               RoPE tables, dims)
//    Every backward ADDS (+=) into dinp and into the weight gradients, and overwrites its own
//    gradient scratch (it zeroes it first). All three attention variants run the one shared core
//    ss_attention_forward/backward; they differ only in how q, k, v enter it and how its output
//    leaves. Weights, activations and gradient scratch are small structs of pointers: the model
//    points them into its blocks (section 7), and a test or an embedder can point them anywhere.
//
//    One variant per layer, fields named after the seed's PyTorch modules:
//      MHA    qkv_proj (D -> 3*H*Dh, rows [q heads | k heads | v heads]), o_proj (H*Dh -> D)
//      MLA    qkv_a_proj (D -> Cq+Ckv), q_a_norm, kv_a_norm, q_b_proj (Cq -> H*Dh),
//             kv_b_proj (Ckv -> 2*H*Dh, rows [all k heads | all v heads]), o_proj (H*Dh -> D)
//      MLA-o  as MLA, with o_a_proj (H*Dh -> Co, no bias) then o_b_proj (Co -> D) for o_proj
//    attention_bias gives a bias to qkv_proj, o_proj, qkv_a_proj and o_b_proj only (SPEC 1.5);
//    q_b_proj, kv_b_proj and o_a_proj never have one. RoPE turns the first Dr dims of every q and
//    k head; v is never turned.

/* Which attention a layer runs (chosen per layer by ss_config_attn_kind). */
typedef enum ss_attn_kind {
    SS_ATTN_MHA,  /* standard multi-head attention, fused qkv_proj */
    SS_ATTN_MLA,  /* multi-head latent attention: q and kv through shared normalised latents */
    SS_ATTN_MLA_O /* MLA plus a shared output latent: o_a_proj then o_b_proj */
} ss_attn_kind;

/* Parameters of one attention layer (or, the same struct, their gradients: `dw`). A field a
   variant does not use is NULL; a bias is NULL when attention_bias is off. */
typedef struct ss_attn_weights {
    float *qkv_proj_weight;   /* MHA (3*H*Dh, D): rows [q heads | k heads | v heads] */
    float *qkv_proj_bias;     /* MHA (3*H*Dh) or NULL */
    float *qkv_a_proj_weight; /* MLA, MLA-o (Cq+Ckv, D): rows [query latent | key-value latent] */
    float *qkv_a_proj_bias;   /* MLA, MLA-o (Cq+Ckv) or NULL */
    float *q_a_norm_weight;   /* MLA, MLA-o (Cq) RMSNorm gain of the query latent */
    float *kv_a_norm_weight;  /* MLA, MLA-o (Ckv) RMSNorm gain of the key-value latent */
    float *q_b_proj_weight;   /* MLA, MLA-o (H*Dh, Cq) */
    float *kv_b_proj_weight;  /* MLA, MLA-o (2*H*Dh, Ckv): rows [all k heads | all v heads] */
    float *o_proj_weight;     /* MHA, MLA (D, H*Dh) */
    float *o_proj_bias;       /* MHA, MLA (D) or NULL */
    float *o_a_proj_weight;   /* MLA-o (Co, H*Dh): every head into the shared output latent */
    float *o_b_proj_weight;   /* MLA-o (D, Co) */
    float *o_b_proj_bias;     /* MLA-o (D) or NULL */
} ss_attn_weights;

/* Activations of one attention layer, written by forward and read by backward. Rows are the
   B*T tokens of the batch, batch-major. Only the variant's own fields are needed. */
typedef struct ss_attn_acts {
    float *qkv;               /* MHA (B,T,3*H*Dh) qkv_proj output */
    float *q_lat;             /* MLA, MLA-o (B,T,Cq) qkv_a_proj rows [0,Cq) */
    float *kv_lat;            /* MLA, MLA-o (B,T,Ckv) qkv_a_proj rows [Cq,Cq+Ckv) */
    float *q_rstd;            /* MLA, MLA-o (B,T) q_a_norm's 1/rms, cached for backward */
    float *kv_rstd;           /* MLA, MLA-o (B,T) kv_a_norm's 1/rms */
    float *q_latn;            /* MLA, MLA-o (B,T,Cq) q_a_norm output */
    float *kv_latn;           /* MLA, MLA-o (B,T,Ckv) kv_a_norm output */
    float *q;                 /* MLA, MLA-o (B,T,H*Dh) q_b_proj output */
    float *kv;                /* MLA, MLA-o (B,T,2*H*Dh) kv_b_proj output [k heads | v heads] */
    float *q_rot;             /* all (B,T,H,Dh) queries after RoPE */
    float *k_rot;             /* all (B,T,H,Dh) keys after RoPE */
    float *att;               /* all (B,H,T,T) softmax probabilities */
    float *att_drop;          /* all (B,H,T,T) probabilities after dropout; NULL if never used */
    unsigned char *drop_mask; /* all (B,H,T,T) dropout keep mask; NULL if never used */
    float *ctx;               /* all (B,T,H*Dh) attention output, heads concatenated */
    float *o_lat;             /* MLA-o (B,T,Co) o_a_proj output: the shared output latent */
} ss_attn_acts;

/* Gradient scratch of one attention layer: dfoo is the gradient of ss_attn_acts.foo. Backward
   overwrites it, so one set serves every layer of a model. */
typedef struct ss_attn_grads {
    float *dqkv;     /* MHA (B,T,3*H*Dh) */
    float *dq_lat;   /* MLA, MLA-o (B,T,Cq) */
    float *dkv_lat;  /* MLA, MLA-o (B,T,Ckv) */
    float *dq_latn;  /* MLA, MLA-o (B,T,Cq) */
    float *dkv_latn; /* MLA, MLA-o (B,T,Ckv) */
    float *dq;       /* MLA, MLA-o (B,T,H*Dh) */
    float *dkv;      /* MLA, MLA-o (B,T,2*H*Dh) */
    float *dq_rot;   /* all (B,T,H,Dh) */
    float *dk_rot;   /* all (B,T,H,Dh) */
    float *datt;     /* all (B,H,T,T) */
    float *dctx;     /* all (B,T,H*Dh) */
    float *do_lat;   /* MLA-o (B,T,Co) */
} ss_attn_grads;

/* Sizes and switches of one attention call (the model fills it from its config). */
typedef struct ss_attn_dims {
    int B, T;         /* batch rows and sequence length of this call; T <= P */
    int D, H, Dh, Dr; /* model width, heads, head size, RoPE dims (first Dr of each head; even) */
    int Cq, Ckv, Co;  /* latent ranks: Cq, Ckv for MLA and MLA-o, Co for MLA-o; MHA ignores them */
    int P;            /* rows of the RoPE tables (max_position_embeddings) */
    float eps;        /* rms_norm_eps of q_a_norm and kv_a_norm */
    int causal;       /* nonzero: query t sees keys 0..t only */
    float dropout_p;  /* attention-probability dropout in [0,1); 0 outside training. With p > 0,
                         acts.att_drop and acts.drop_mask and rng are required */
} ss_attn_dims;

// >>mha ===========================================================================================
/* Multi-head attention (Vaswani et al. 2017) with RoPE, the seed's dense layer:
     qkv = inp @ qkv_proj^T (+ b), split into contiguous chunks q | k | v of H*Dh each;
     q_rot, k_rot = RoPE(q), RoPE(k); ctx = attention(q_rot, k_rot, v); out = ctx @ o_proj^T (+ b)
   inp (B,T,D), key_mask (B,T) or NULL (nonzero = real token, 0 = padding key),
   rng advanced by one draw when d->dropout_p > 0 (may be NULL otherwise),
   w: qkv_proj_weight/bias, o_proj_weight/bias; cos_t, sin_t (P, Dr/2) from ss_rope_tables
   -> out (B,T,D) overwritten; acts: qkv, q_rot, k_rot, att, (att_drop, drop_mask), ctx.
   Never allocates, never fails; bad shapes or a missing buffer are caught by SS_ASSERT. */
SS_API void ss_mha_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                           ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                           const float *sin_t, const ss_attn_dims *d);
/* dinp (B,T,D) +=; dw: the gradients of w's fields (+=; NULL where w's field is NULL);
   grads: dqkv, dq_rot, dk_rot, datt, dctx, scratch (overwritten); dout (B,T,D);
   inp, acts, w, tables and d exactly as given to the forward (same dropout_p). */
SS_API void ss_mha_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                            const float *dout, const float *inp, const ss_attn_acts *acts,
                            const ss_attn_weights *w, const float *cos_t, const float *sin_t,
                            const ss_attn_dims *d);

// >>mla ===========================================================================================
/* Multi-head latent attention (DeepSeek-AI 2024, DeepSeek-V2), the seed's variant: queries and
   keys/values are read through two shared low-rank latents, each RMS-normalised.
     q_lat | kv_lat = inp @ qkv_a_proj^T (+ b), rows [0,Cq) and [Cq,Cq+Ckv)
     q = q_a_norm(q_lat) @ q_b_proj^T;  [k | v] = kv_a_norm(kv_lat) @ kv_b_proj^T
     q_rot, k_rot = RoPE(q), RoPE(k); ctx = attention(q_rot, k_rot, v); out = ctx @ o_proj^T (+ b)
   Unlike DeepSeek there is no separate RoPE key head: the first Dr dims of every q and k head
   are turned, and both come from the latents. Arguments as ss_mha_forward;
   w: qkv_a_proj_weight/bias, q_a_norm_weight, kv_a_norm_weight, q_b_proj_weight,
   kv_b_proj_weight, o_proj_weight/bias
   -> out (B,T,D) overwritten; acts: q_lat, kv_lat, q_rstd, kv_rstd, q_latn, kv_latn, q, kv,
      q_rot, k_rot, att, (att_drop, drop_mask), ctx. Never allocates, never fails. */
SS_API void ss_mla_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                           ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                           const float *sin_t, const ss_attn_dims *d);
/* dinp (B,T,D) +=; dw +=; grads: dq_lat, dkv_lat, dq_latn, dkv_latn, dq, dkv, dq_rot, dk_rot,
   datt, dctx, scratch (overwritten); dout (B,T,D); the rest as given to the forward. */
SS_API void ss_mla_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                            const float *dout, const float *inp, const ss_attn_acts *acts,
                            const ss_attn_weights *w, const float *cos_t, const float *sin_t,
                            const ss_attn_dims *d);

// >>mlao ==========================================================================================
/* MLA-o: MLA with a shared output latent. Every head writes into one Co-dimensional space,
   which one projection takes back to the model width (a rank-Co factorisation of o_proj; no norm
   and no nonlinearity between the two):
     ctx as in ss_mla_forward; o_lat = ctx @ o_a_proj^T; out = o_lat @ o_b_proj^T (+ b)
   Arguments as ss_mla_forward, with o_a_proj_weight, o_b_proj_weight/bias for o_proj
   -> out (B,T,D) overwritten; acts as ss_mla_forward plus o_lat. Never allocates, never fails. */
SS_API void ss_mlao_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                            ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                            const float *sin_t, const ss_attn_dims *d);
/* As ss_mla_backward, plus grads->do_lat (scratch). */
SS_API void ss_mlao_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                             const float *dout, const float *inp, const ss_attn_acts *acts,
                             const ss_attn_weights *w, const float *cos_t, const float *sin_t,
                             const ss_attn_dims *d);

// >>ffn ===========================================================================================
/* Feed-forward network, SwiGLU (Shazeer 2020) with biases, SiLU on the W_in branch (the seed's
   naming), dense or decomposed (SPEC 1.8). Rf = ffn_rank; Rf = 0 selects the dense network:
     dense       out = W_out( silu(W_in inp + b) * (W_gate inp + b) ) + b
     decomposed  a = W_in(norm(W_in_shared inp)),  g = W_gate(norm(W_gate_shared inp)),
                 out = W_out_shared(W_out(silu(a) * g)) + b
   where the two norms are RMSNorms of size Rf, and only W_in, W_gate and W_out_shared have a
   bias in the decomposed network (W_in_shared, W_gate_shared and W_out have none). */
typedef struct ss_ffn_weights {
    float *W_in_weight;               /* dense (F,D), decomposed (F,Rf) */
    float *W_in_bias;                 /* (F) */
    float *W_gate_weight;             /* dense (F,D), decomposed (F,Rf) */
    float *W_gate_bias;               /* (F) */
    float *W_out_weight;              /* dense (D,F), decomposed (Rf,F) */
    float *W_out_bias;                /* dense (D); NULL when decomposed */
    float *W_in_shared_weight;        /* decomposed (Rf,D), else NULL */
    float *W_in_shared_norm_weight;   /* decomposed (Rf) RMSNorm gain */
    float *W_gate_shared_weight;      /* decomposed (Rf,D) */
    float *W_gate_shared_norm_weight; /* decomposed (Rf) */
    float *W_out_shared_weight;       /* decomposed (D,Rf) */
    float *W_out_shared_bias;         /* decomposed (D) */
} ss_ffn_weights;

/* Activations of one FFN; the in_, gate_ and out_ latents exist only in the decomposed one. */
typedef struct ss_ffn_acts {
    float *in_lat;    /* decomposed (B,T,Rf) W_in_shared output */
    float *in_rstd;   /* decomposed (B,T) W_in_shared_norm's 1/rms */
    float *in_latn;   /* decomposed (B,T,Rf) W_in_shared_norm output */
    float *gate_lat;  /* decomposed (B,T,Rf) W_gate_shared output */
    float *gate_rstd; /* decomposed (B,T) */
    float *gate_latn; /* decomposed (B,T,Rf) */
    float *a;         /* (B,T,F) W_in output: the SiLU branch */
    float *g;         /* (B,T,F) W_gate output: the linear multiplier */
    float *h;         /* (B,T,F) silu(a) * g */
    float *out_lat;   /* decomposed (B,T,Rf) W_out output */
} ss_ffn_acts;

/* Gradient scratch of one FFN (dfoo is the gradient of ss_ffn_acts.foo); overwritten. */
typedef struct ss_ffn_grads {
    float *din_lat, *din_latn;     /* decomposed (B,T,Rf) */
    float *dgate_lat, *dgate_latn; /* decomposed (B,T,Rf) */
    float *da, *dg, *dh;           /* (B,T,F) */
    float *dout_lat;               /* decomposed (B,T,Rf) */
} ss_ffn_grads;

/* inp (BT,D); w as above; BT rows; Rf = 0 (dense) or ffn_rank; eps = rms_norm_eps (decomposed)
   -> out (BT,D) overwritten; acts: a, g, h (and the latents when decomposed).
   Never allocates, never fails. */
SS_API void ss_ffn_forward(float *out, ss_ffn_acts *acts, const float *inp,
                           const ss_ffn_weights *w, int BT, int D, int F, int Rf, float eps);
/* dinp (BT,D) +=; dw +=; grads scratch (overwritten); dout (BT,D); the rest as forward. */
SS_API void ss_ffn_backward(float *dinp, ss_ffn_weights *dw, ss_ffn_grads *grads,
                            const float *dout, const float *inp, const ss_ffn_acts *acts,
                            const ss_ffn_weights *w, int BT, int D, int F, int Rf);

// >>model =========================================================================================
// 7. Model: the seed's SharedSpaceEncoder. Token embedding (optionally through a vocabulary
//    subspace), L pre-norm blocks h += Attn(RMSNorm(h)); h += FFN(RMSNorm(h)) with NO final norm,
//    then one head: masked-LM (logits = h E^T, tied), causal-LM (the same tied head, next-token
//    targets, causal attention) or sequence classification (CLS -> dense -> tanh -> dropout ->
//    classifier). Layers below num_dense_layers are MHA with a dense FFN; the others are MLA or
//    MLA-o with a dense or decomposed FFN. Parameters live in an ss_params registry under their
//    PyTorch names (SPEC 8); activations for max_B x max_T in one block, activation gradients in
//    another, so forward and backward never allocate.

/* The model block of a seed config: the 27 keys of its "model" section, same names, plus
   num_labels and causal. Nullable sizes (JSON null) are 0. Real values are double so that a
   config written back to JSON keeps its exact decimal values. */
typedef struct ss_config {
    int vocab_size;                 /* V */
    int hidden_size;                /* D */
    int num_hidden_layers;          /* L */
    int intermediate_size;          /* F */
    double hidden_dropout_prob;     /* used only as the classifier dropout when that is null */
    double attention_dropout_prob;  /* dropout on attention probabilities, training only */
    double classifier_dropout;      /* < 0: null, use hidden_dropout_prob */
    double initializer_range;       /* std of the normal init of every weight and embedding */
    double layer_norm_eps;          /* unused by the seed's model; kept for the schema */
    double rms_norm_eps;            /* eps of every RMSNorm */
    double rope_theta;              /* RoPE base */
    int rope_scaling;               /* 0 = null; unused by the seed (no scaling is implemented) */
    int max_position_embeddings;    /* P: rows of the RoPE tables, the longest T */
    int num_dense_layers;           /* layers [0, this) are MHA + dense FFN; 0..L */
    int q_latent_dim;               /* Cq; 0 = null (allowed only when every layer is dense) */
    int kv_latent_dim;              /* Ckv; 0 = null (likewise) */
    int num_attention_heads;        /* H */
    int head_dim;                   /* Dh (also the value head size) */
    int rope_dims;                  /* Dr: the first Dr dims of each q and k head; even, 2..Dh */
    int attention_bias;             /* bool: biases on qkv_proj, o_proj, qkv_a_proj, o_b_proj */
    int output_subspace;            /* bool: latent layers are MLA-o instead of MLA */
    int o_latent_dim;               /* Co; <= 0 = unset (the seed writes -1) */
    char attention_backend[32];     /* "sdpa"; unused (one attention kernel runs everywhere) */
    int ffn_decompose;              /* bool: latent layers use the decomposed FFN */
    int ffn_rank;                   /* Rf; 0 = null */
    int vocab_subspace;             /* bool: embedding (V,Rv) plus vocab_proj Rv -> D */
    int vocab_rank;                 /* Rv; 0 = null */
    int num_labels;                 /* classifier outputs (HF default 2); 1 = regression (MSE) */
    int causal;                     /* 0 encoder (bidirectional), 1 decoder experiments */
} ss_config;

/* Fill with the seed's best MLA-o values (configs/best_mla-o.json): V 30522, D 256, L 6,
   F 1024, H 8, Dh 32, Dr 32, Cq 64, Ckv 32, Co 64, num_dense_layers 0, output_subspace on,
   dropouts 0.1, init 0.02, rms eps 1e-6, theta 10000, max positions 128, num_labels 2. */
SS_API void ss_config_default(ss_config *cfg);
/* SS_OK, or SS_ERR_INVALID with a detail naming the key ("rope_dims = 5: must be even"):
   non-positive sizes, rope_dims odd or outside 2..head_dim, num_dense_layers outside 0..L,
   q/kv latents missing while some layer is latent, o_latent_dim missing with output_subspace,
   ffn_rank missing with ffn_decompose, vocab_rank missing with vocab_subspace, a dropout outside
   [0,1), max_position_embeddings < 1, num_labels < 1, sizes whose products overflow int. */
SS_API ss_result ss_config_validate(const ss_config *cfg);
/* The attention of layer `layer` (num_dense_layers semantics, SPEC 1.9). */
SS_API ss_attn_kind ss_config_attn_kind(const ss_config *cfg, int layer);
/* The FFN rank of layer `layer`: ffn_rank for a decomposed FFN, 0 for a dense one. */
SS_API int ss_config_ffn_rank(const ss_config *cfg, int layer);

/* The task on top of the encoder. */
typedef enum ss_head {
    SS_HEAD_MLM,        /* masked LM: logits = h E^T, tied; no tensors of its own */
    SS_HEAD_CLASSIFIER, /* CLS pooler + classifier: dense.weight/bias, classifier.weight/bias */
    SS_HEAD_CAUSAL_LM   /* the MLM head with next-token targets; needs config.causal = 1 */
} ss_head;

/* Rows of logits the LM head computes at once: bounds its (rows, V) buffer. Set it in the
   implementation TU only. */
#ifndef SS_LM_CHUNK
#define SS_LM_CHUNK 256
#endif

/* Parameters (or gradients) of one block: encoder_model.layers.{i}. */
typedef struct ss_layer_weights {
    float *attn_input_norm_weight; /* (D) */
    ss_attn_weights self_attn;     /* the layer's variant only; other fields NULL */
    float *ffn_input_norm_weight;  /* (D) */
    ss_ffn_weights ffn;
} ss_layer_weights;

/* Views of every parameter (or, same layout, every gradient) in the registry's block. */
typedef struct ss_model_weights {
    float *vocab_embed_weight;  /* (V,D), or (V,Rv) with vocab_subspace */
    float *vocab_proj_weight;   /* vocab_subspace (D,Rv), else NULL */
    ss_layer_weights *layers;   /* (L) */
    float *dense_weight;        /* classifier head (D,D), else NULL */
    float *dense_bias;          /* (D) */
    float *classifier_weight;   /* (num_labels, D) */
    float *classifier_bias;     /* (num_labels) */
} ss_model_weights;

/* Activations of one block; x of block l+1 is out of block l (the same memory). */
typedef struct ss_layer_acts {
    float *x;        /* (B,T,D) residual stream entering the block */
    float *ln1;      /* (B,T,D) attn_input_norm output */
    float *ln1_rstd; /* (B,T) */
    ss_attn_acts attn;
    float *mid;      /* (B,T,D) x + attention output */
    float *ln2;      /* (B,T,D) ffn_input_norm output */
    float *ln2_rstd; /* (B,T) */
    ss_ffn_acts ffn;
    float *out;      /* (B,T,D) mid + FFN output: the block's output */
} ss_layer_acts;

/* The activation block, sized for max_B x max_T and filled by ss_model_forward for its B, T
   (buffers are used from their start, packed for the call's B and T). Borrowed views. */
typedef struct ss_model_acts {
    int *ids;              /* (B,T) copy of the token ids */
    int *targets;          /* LM heads (B,T), classifier (B); copied when given */
    float *labels;         /* regression (num_labels 1) (B), copied when given */
    float *emb_r;          /* vocab_subspace (B,T,Rv) rows of the low-rank table */
    ss_layer_acts *layers; /* (L); layers[0].x holds the embeddings */
    float *h;              /* (B,T,D) the encoder output = layers[L-1].out (no final norm) */
    float *branch;         /* (B,T,D) an attention or FFN output before its residual add */
    float *losses;         /* LM (B,T) per-row loss, 0 where the target is -100; classifier (B) */
    int *lm_rows;          /* LM (B*T) the rows whose target is kept, ascending */
    int *lm_targets;       /* LM (SS_LM_CHUNK) targets of the current chunk */
    float *lm_h;           /* LM (SS_LM_CHUNK, D) hidden rows of the current chunk */
    float *lm_hp;          /* LM with vocab_subspace (SS_LM_CHUNK, Rv) lm_h @ vocab_proj */
    float *lm_logits;      /* LM (SS_LM_CHUNK, V) logits, then softmax probabilities */
    float *lm_loss;        /* LM (SS_LM_CHUNK) losses of the current chunk */
    float *cls;            /* classifier (B,D) h at position 0 ([CLS]) */
    float *pool_pre;       /* classifier (B,D) dense output */
    float *pooled;         /* classifier (B,D) tanh(pool_pre) */
    float *pooled_drop;    /* classifier (B,D) after dropout */
    unsigned char *cls_mask; /* classifier (B,D) dropout keep mask */
    float *cls_logits;     /* classifier (B,num_labels) */
    float *cls_probs;      /* classifier (B,num_labels) softmax (num_labels >= 2) */
    /* set by ss_model_forward for ss_model_backward */
    int B, T;              /* the last forward's batch shape */
    int training;          /* its dropout switch */
    int has_targets;       /* whether it computed a loss */
    int kept;              /* rows (LM) or examples (classifier) counted in the loss */
} ss_model_acts;

/* The activation-gradient block. Backward handles one layer at a time, so the attention and FFN
   scratch is one layer's worth, reused by every layer. */
typedef struct ss_model_grads {
    float *dresid;         /* (B,T,D) gradient of the residual stream, accumulated in place from
                              the head down to the embedding */
    float *dln;            /* (B,T,D) gradient of the current ln1 or ln2 */
    ss_attn_grads attn;    /* scratch of the layer being processed */
    ss_ffn_grads ffn;
    float *demb_r;         /* vocab_subspace (B,T,Rv) */
    float *dlm_h;          /* LM (SS_LM_CHUNK, D) */
    float *dlm_hp;         /* LM with vocab_subspace (SS_LM_CHUNK, Rv) */
    float *dlm_logits;     /* LM (SS_LM_CHUNK, V) */
    float *dcls;           /* classifier (B,D) */
    float *dpool_pre;      /* classifier (B,D) */
    float *dpooled;        /* classifier (B,D) */
    float *dpooled_drop;   /* classifier (B,D) */
    float *dcls_logits;    /* classifier (B,num_labels) */
} ss_model_grads;

/* What a forward measured. */
typedef struct ss_model_stats {
    float loss;      /* LM: mean cross-entropy over kept rows; classifier: mean CE or MSE over
                        kept examples; 0 when nothing is kept or no targets were given */
    double loss_sum; /* sum of the kept rows' losses */
    int kept;        /* LM: rows whose target is not SS_IGNORE_INDEX; classifier: examples so */
    int correct;     /* kept rows whose first largest logit is the target (MLM accuracy);
                        0 for regression */
} ss_model_stats;

/* Memory of a model, from ss_model_memory_size. */
typedef struct ss_model_sizes {
    size_t param_count;    /* trainable parameters (what the seed reports; RoPE tables excluded) */
    size_t param_bytes;    /* the registry's four blocks: parameters, gradients, AdamW m and v */
    size_t act_bytes;      /* the activation block (with the views and the RoPE tables) */
    size_t act_grad_bytes; /* the activation-gradient block */
    size_t total_bytes;    /* everything: what ss_model_init allocates in one piece */
} ss_model_sizes;

/* A model. Caller-owned; zero it or let ss_model_init fill it; treat config as read-only. */
typedef struct ss_model {
    ss_config config;     /* a copy of the config it was built from */
    ss_head head;
    int max_B, max_T;     /* the capacity of the activation blocks */
    ss_params params;     /* every tensor under its PyTorch name: param, grad, AdamW m, v */
    ss_model_weights w;   /* views into params.param */
    ss_model_weights dw;  /* the same views into params.grad */
    float *rope_cos;      /* (P, Dr/2) */
    float *rope_sin;      /* (P, Dr/2) */
    ss_model_acts acts;   /* views into the activation block */
    ss_model_grads grads; /* views into the activation-gradient block */
    ss_rng rng;           /* the dropout stream; copy it and put it back to repeat a mask */
    ss_model_sizes sizes;
    void *memory;         /* the one allocation: registry blocks, views, tables, activations */
    int owns_memory;
} ss_model;

/* Sizes of a model without building it: parameter count and the bytes of every block for
   batches up to max_B x max_T (allocates and frees only a small tensor table). Fails as
   ss_model_init does, except that it never allocates a block. */
SS_API ss_result ss_model_memory_size(ss_model_sizes *sizes, const ss_config *cfg, ss_head head,
                                      int max_B, int max_T);
/* Build a model: register every tensor (SPEC 8 names and shapes; SS_PARAM_NO_DECAY on biases
   and norm gains), allocate everything in one piece, fill the RoPE tables, and initialise as
   BERT does (SPEC 1.11): every Linear weight and the embedding ~ N(0, initializer_range^2),
   biases 0, gains 1. A tensor's values depend only on the seed and its name. The dropout stream
   model->rng is also derived from the seed. Owned: release with ss_model_free.
   Fails with SS_ERR_INVALID (bad config, head, max_B or max_T < 1, max_T > max_position_embeddings,
   SS_HEAD_CAUSAL_LM without config.causal), SS_ERR_OVERFLOW or SS_ERR_NOMEM; *model is then
   zeroed and nothing stays allocated. */
SS_API ss_result ss_model_init(ss_model *model, const ss_config *cfg, ss_head head, int max_B,
                               int max_T, uint64_t seed);
/* Same, in caller memory of ss_model_memory_size's total_bytes (any alignment; it stays the
   caller's and must outlive the model). Still allocates the small tensor table. */
SS_API ss_result ss_model_init_preallocated(ss_model *model, const ss_config *cfg, ss_head head,
                                            int max_B, int max_T, uint64_t seed, void *memory);
/* Release what init allocated; safe on a zeroed struct; leaves it zeroed. */
SS_API void ss_model_free(ss_model *model);
/* Trainable parameters (sum of the registry's tensor sizes, padding excluded). */
SS_API size_t ss_model_param_count(const ss_model *model);
/* Set every parameter gradient to 0 (once per optimizer step; backward only adds). */
SS_API void ss_model_zero_grad(ss_model *model);

/* Run the model on a batch and, when targets (or labels) are given, its loss.
   ids (B,T) in [0,V); key_mask (B,T) or NULL (nonzero = real token; 0 = padding, never attended
   to); 1 <= B <= max_B, 1 <= T <= max_T.
   MLM, causal LM: targets (B,T) in [0,V) or SS_IGNORE_INDEX (-100), row t scored against
     targets[t] (for the causal LM the caller shifts: targets[t] = ids[t+1], -100 at the end);
     labels unused. Logits are computed only for kept rows, SS_LM_CHUNK rows at a time.
   Classifier, num_labels >= 2: targets (B) class ids (or -100 to skip an example); cross-entropy.
   Classifier, num_labels == 1: labels (B) float regression targets, MSE against the one logit;
     targets unused.
   targets and labels may be NULL: the encoder (and the classifier's logits) still run, no loss.
   training: nonzero applies dropout (attention probabilities, classifier) from model->rng.
   -> model->acts (h, losses, cls_logits, ...), *stats (may be NULL).
   Never allocates, never fails; not thread-safe on one model. */
SS_API void ss_model_forward(ss_model *model, ss_model_stats *stats, const int *ids,
                             const int *key_mask, const int *targets, const float *labels, int B,
                             int T, int training);
/* Add the gradient of grad_scale * (the last forward's loss) to every parameter gradient
   (model->dw, i.e. params.grad). grad_scale is 1 for one batch; kept / total_kept spreads one
   mean over several micro-batches. Backward zeroes only its own activation-gradient scratch;
   parameter gradients accumulate (ss_model_zero_grad once per step). Needs a forward with
   targets (or labels) just before, on the same model. Never allocates, never fails. */
SS_API void ss_model_backward(ss_model *model, float grad_scale);

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

// >>checkpoint ====================================================================================
// Configs and checkpoints. A config is the seed's JSON file (shorthand, notes, model, pre_train,
// fine_tune, and whatever a run adds); its "model" object maps one to one onto ss_config. A
// checkpoint is a safetensors file of the model's parameters under the seed's PyTorch names
// (SPEC 8), so it loads into the seed's PyTorch model with load_state_dict(strict=True), with
// __metadata__ "format" = "subspace.h checkpoint 1", "config" = the model object as JSON text,
// and "head" = "mlm", "classifier" or "causal_lm".

/* Read a "model" object into cfg. Every one of the seed's 27 keys must be present with its type
   (null where the seed writes null: classifier_dropout, rope_scaling, q/kv_latent_dim, ffn_rank,
   vocab_rank, o_latent_dim); "num_labels" (default 2) and "causal" (default false) may be added;
   any other key is an error, so a misspelt key never falls back to a default silently. Then
   ss_config_validate. Fails with SS_ERR_FORMAT or SS_ERR_INVALID, the detail naming the source,
   the key and its byte offset ("configs/x.json: model.rope_dims (byte 612): ..."). */
SS_API ss_result ss_config_from_json(ss_config *cfg, const ss_json *model);
/* Write cfg as a "model" object: the 27 keys in the seed's order, then num_labels and causal.
   ss_config_from_json of the result gives cfg back. Fails as the writer does. */
SS_API ss_result ss_config_write_json(const ss_config *cfg, ss_json_writer *w);
#ifndef SS_NO_STDIO
/* Load a config file and read its "model" object (ss_config_from_json). SS_ERR_IO when the file
   cannot be read; SS_ERR_FORMAT / SS_ERR_INVALID naming the file, key and byte offset. */
SS_API ss_result ss_config_load(ss_config *cfg, const char *path);
/* Save every parameter to path (safetensors, F32, crash-safe: a temporary file renamed into
   place), with the metadata above. Fails with SS_ERR_IO or SS_ERR_NOMEM naming the path. */
SS_API ss_result ss_model_save(const ss_model *model, const char *path);
/* Load parameters saved by ss_model_save or by PyTorch (safetensors of a state_dict). Every
   encoder_model.* tensor of the model must be in the file with the same shape (else
   SS_ERR_NOT_FOUND / SS_ERR_FORMAT naming the tensor and both shapes), and the file may hold no
   encoder_model.* tensor the model lacks (an architecture mismatch). Head tensors (dense.*,
   classifier.*) load when the file has them all; when it has none (a classifier starting from an
   MLM checkpoint) the head keeps its fresh initialisation. A read error can leave the model
   partly loaded. Gradients and AdamW moments are not touched. */
SS_API ss_result ss_model_load(ss_model *model, const char *path);
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

#define SS__DETAIL_SIZE 512 /* bytes of an error detail, NUL included */
#ifndef SS_NO_ERROR_STRINGS
static SS__THREAD_LOCAL char ss__error_detail[SS__DETAIL_SIZE];
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

// >>layers (implementation) -----------------------------------------------------------------------

/* Set n floats to 0 (gradient scratch before a backward adds into it). */
SS_PRIVATE void ss__zero(float *p, size_t n) {
    if (p && n) SS_MEMSET(p, 0, n * sizeof(float));
}

// >>mha -------------------------------------------------------------------------------------------

SS_API void ss_mha_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                           ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                           const float *sin_t, const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh;
    SS_ASSERT(out && acts && inp && w && w->qkv_proj_weight && w->o_proj_weight);
    /* qkv (BT, 3*H*Dh) = inp @ qkv_proj^T: each row is [q heads | k heads | v heads] */
    ss_linear_forward(acts->qkv, inp, w->qkv_proj_weight, w->qkv_proj_bias, BT, d->D, 3 * HD);
    /* RoPE reads q and k straight out of the fused rows (stride 3*H*Dh) */
    ss_rope_forward(acts->q_rot, acts->qkv, 3 * HD, cos_t, sin_t, d->B, d->T, d->H, d->Dh, d->Dr,
                    d->P);
    ss_rope_forward(acts->k_rot, acts->qkv + HD, 3 * HD, cos_t, sin_t, d->B, d->T, d->H, d->Dh,
                    d->Dr, d->P);
    /* the shared core; v is read in place, also with stride 3*H*Dh */
    ss_attention_forward(acts->ctx, acts->att, acts->att_drop, acts->drop_mask, acts->q_rot,
                         acts->k_rot, acts->qkv + 2 * HD, key_mask, d->causal, d->dropout_p, rng,
                         d->B, d->T, d->H, d->Dh, HD, HD, 3 * HD);
    ss_linear_forward(out, acts->ctx, w->o_proj_weight, w->o_proj_bias, BT, HD, d->D);
}

SS_API void ss_mha_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                            const float *dout, const float *inp, const ss_attn_acts *acts,
                            const ss_attn_weights *w, const float *cos_t, const float *sin_t,
                            const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh;
    SS_ASSERT(dinp && dw && grads && dout && inp && acts && w);
    /* forward: qkv = inp W_qkv^T; q_rot, k_rot = RoPE(q, k); ctx = attn(q_rot, k_rot, v);
       out = ctx W_o^T. Every backward below adds, so the scratch starts at zero. */
    ss__zero(grads->dqkv, (size_t)BT * 3 * HD);
    ss__zero(grads->dq_rot, (size_t)BT * HD);
    ss__zero(grads->dk_rot, (size_t)BT * HD);
    ss__zero(grads->dctx, (size_t)BT * HD);
    ss_linear_backward(grads->dctx, dw->o_proj_weight, dw->o_proj_bias, dout, acts->ctx,
                       w->o_proj_weight, BT, HD, d->D);
    ss_attention_backward(grads->dq_rot, grads->dk_rot, grads->dqkv + 2 * HD, grads->datt,
                          grads->dctx, acts->q_rot, acts->k_rot, acts->qkv + 2 * HD, acts->att,
                          acts->att_drop, acts->drop_mask, d->dropout_p, d->B, d->T, d->H, d->Dh,
                          HD, HD, 3 * HD);
    ss_rope_backward(grads->dqkv + HD, 3 * HD, grads->dk_rot, cos_t, sin_t, d->B, d->T, d->H,
                     d->Dh, d->Dr, d->P);
    ss_rope_backward(grads->dqkv, 3 * HD, grads->dq_rot, cos_t, sin_t, d->B, d->T, d->H, d->Dh,
                     d->Dr, d->P);
    ss_linear_backward(dinp, dw->qkv_proj_weight, dw->qkv_proj_bias, grads->dqkv, inp,
                       w->qkv_proj_weight, BT, d->D, 3 * HD);
}

// >>mla -------------------------------------------------------------------------------------------

/* The part MLA and MLA-o share: from the block input to ctx, the concatenated heads. */
SS_PRIVATE void ss__mla_context_forward(ss_attn_acts *acts, const float *inp, const int *key_mask,
                                        ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                                        const float *sin_t, const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh, D = d->D, Cq = d->Cq, Ckv = d->Ckv;
    const float *bias = w->qkv_a_proj_bias;
    SS_ASSERT(acts && inp && w && w->qkv_a_proj_weight && w->q_a_norm_weight);
    SS_ASSERT(w->kv_a_norm_weight && w->q_b_proj_weight && w->kv_b_proj_weight);
    /* qkv_a_proj (Cq+Ckv, D) runs as two linears over its row blocks, so each latent lands in a
       buffer of its own: rows [0,Cq) give the query latent, rows [Cq,Cq+Ckv) the kv latent */
    ss_linear_forward(acts->q_lat, inp, w->qkv_a_proj_weight, bias, BT, D, Cq);
    ss_linear_forward(acts->kv_lat, inp, w->qkv_a_proj_weight + (size_t)Cq * D,
                      bias ? bias + Cq : NULL, BT, D, Ckv);
    /* each latent is RMS-normalised before its up-projection (q_a_norm, kv_a_norm) */
    ss_rmsnorm_forward(acts->q_latn, acts->q_rstd, acts->q_lat, w->q_a_norm_weight, BT, Cq,
                       d->eps);
    ss_rmsnorm_forward(acts->kv_latn, acts->kv_rstd, acts->kv_lat, w->kv_a_norm_weight, BT, Ckv,
                       d->eps);
    ss_linear_forward(acts->q, acts->q_latn, w->q_b_proj_weight, NULL, BT, Cq, HD);
    /* kv (BT, 2*H*Dh): the first H*Dh of a row are all key heads, the second all value heads */
    ss_linear_forward(acts->kv, acts->kv_latn, w->kv_b_proj_weight, NULL, BT, Ckv, 2 * HD);
    ss_rope_forward(acts->q_rot, acts->q, HD, cos_t, sin_t, d->B, d->T, d->H, d->Dh, d->Dr, d->P);
    ss_rope_forward(acts->k_rot, acts->kv, 2 * HD, cos_t, sin_t, d->B, d->T, d->H, d->Dh, d->Dr,
                    d->P);
    ss_attention_forward(acts->ctx, acts->att, acts->att_drop, acts->drop_mask, acts->q_rot,
                         acts->k_rot, acts->kv + HD, key_mask, d->causal, d->dropout_p, rng, d->B,
                         d->T, d->H, d->Dh, HD, HD, 2 * HD);
}

/* Backward of ss__mla_context_forward, from grads->dctx (already complete) to dinp. */
SS_PRIVATE void ss__mla_context_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                                         const float *inp, const ss_attn_acts *acts,
                                         const ss_attn_weights *w, const float *cos_t,
                                         const float *sin_t, const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh, D = d->D, Cq = d->Cq, Ckv = d->Ckv;
    float *dbias = dw->qkv_a_proj_bias;
    ss_attention_backward(grads->dq_rot, grads->dk_rot, grads->dkv + HD, grads->datt, grads->dctx,
                          acts->q_rot, acts->k_rot, acts->kv + HD, acts->att, acts->att_drop,
                          acts->drop_mask, d->dropout_p, d->B, d->T, d->H, d->Dh, HD, HD, 2 * HD);
    ss_rope_backward(grads->dkv, 2 * HD, grads->dk_rot, cos_t, sin_t, d->B, d->T, d->H, d->Dh,
                     d->Dr, d->P);
    ss_rope_backward(grads->dq, HD, grads->dq_rot, cos_t, sin_t, d->B, d->T, d->H, d->Dh, d->Dr,
                     d->P);
    ss_linear_backward(grads->dkv_latn, dw->kv_b_proj_weight, NULL, grads->dkv, acts->kv_latn,
                       w->kv_b_proj_weight, BT, Ckv, 2 * HD);
    ss_linear_backward(grads->dq_latn, dw->q_b_proj_weight, NULL, grads->dq, acts->q_latn,
                       w->q_b_proj_weight, BT, Cq, HD);
    ss_rmsnorm_backward(grads->dkv_lat, dw->kv_a_norm_weight, grads->dkv_latn, acts->kv_lat,
                        acts->kv_rstd, w->kv_a_norm_weight, BT, Ckv);
    ss_rmsnorm_backward(grads->dq_lat, dw->q_a_norm_weight, grads->dq_latn, acts->q_lat,
                        acts->q_rstd, w->q_a_norm_weight, BT, Cq);
    /* both row blocks of qkv_a_proj read the same input, so both add into dinp */
    ss_linear_backward(dinp, dw->qkv_a_proj_weight + (size_t)Cq * D, dbias ? dbias + Cq : NULL,
                       grads->dkv_lat, inp, w->qkv_a_proj_weight + (size_t)Cq * D, BT, D, Ckv);
    ss_linear_backward(dinp, dw->qkv_a_proj_weight, dbias, grads->dq_lat, inp,
                       w->qkv_a_proj_weight, BT, D, Cq);
}

/* Zero the gradient scratch of the MLA context path (the attention core overwrites datt). */
SS_PRIVATE void ss__mla_grads_zero(ss_attn_grads *grads, const ss_attn_dims *d) {
    const size_t BT = (size_t)d->B * d->T, HD = (size_t)d->H * d->Dh;
    ss__zero(grads->dq_lat, BT * d->Cq);
    ss__zero(grads->dkv_lat, BT * d->Ckv);
    ss__zero(grads->dq_latn, BT * d->Cq);
    ss__zero(grads->dkv_latn, BT * d->Ckv);
    ss__zero(grads->dq, BT * HD);
    ss__zero(grads->dkv, BT * 2 * HD);
    ss__zero(grads->dq_rot, BT * HD);
    ss__zero(grads->dk_rot, BT * HD);
    ss__zero(grads->dctx, BT * HD);
}

SS_API void ss_mla_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                           ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                           const float *sin_t, const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh;
    SS_ASSERT(out && w && w->o_proj_weight);
    ss__mla_context_forward(acts, inp, key_mask, rng, w, cos_t, sin_t, d);
    ss_linear_forward(out, acts->ctx, w->o_proj_weight, w->o_proj_bias, BT, HD, d->D);
}

SS_API void ss_mla_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                            const float *dout, const float *inp, const ss_attn_acts *acts,
                            const ss_attn_weights *w, const float *cos_t, const float *sin_t,
                            const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh;
    SS_ASSERT(dinp && dw && grads && dout && inp && acts && w);
    /* forward: q_lat | kv_lat = inp W_a^T; q = norm(q_lat) W_qb^T; [k | v] = norm(kv_lat) W_kvb^T;
       ctx = attn(RoPE(q), RoPE(k), v); out = ctx W_o^T */
    ss__mla_grads_zero(grads, d);
    ss_linear_backward(grads->dctx, dw->o_proj_weight, dw->o_proj_bias, dout, acts->ctx,
                       w->o_proj_weight, BT, HD, d->D);
    ss__mla_context_backward(dinp, dw, grads, inp, acts, w, cos_t, sin_t, d);
}

// >>mlao ------------------------------------------------------------------------------------------

SS_API void ss_mlao_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                            ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                            const float *sin_t, const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh;
    SS_ASSERT(out && w && w->o_a_proj_weight && w->o_b_proj_weight);
    ss__mla_context_forward(acts, inp, key_mask, rng, w, cos_t, sin_t, d);
    /* o_lat (BT,Co) = ctx @ o_a_proj^T: column block h of o_a_proj takes head h into the shared
       latent, and the matmul sums over heads; o_b_proj then takes the latent to the width D */
    ss_linear_forward(acts->o_lat, acts->ctx, w->o_a_proj_weight, NULL, BT, HD, d->Co);
    ss_linear_forward(out, acts->o_lat, w->o_b_proj_weight, w->o_b_proj_bias, BT, d->Co, d->D);
}

SS_API void ss_mlao_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                             const float *dout, const float *inp, const ss_attn_acts *acts,
                             const ss_attn_weights *w, const float *cos_t, const float *sin_t,
                             const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh;
    SS_ASSERT(dinp && dw && grads && dout && inp && acts && w);
    /* forward: ctx as MLA; o_lat = ctx W_oa^T; out = o_lat W_ob^T */
    ss__mla_grads_zero(grads, d);
    ss__zero(grads->do_lat, (size_t)BT * d->Co);
    ss_linear_backward(grads->do_lat, dw->o_b_proj_weight, dw->o_b_proj_bias, dout, acts->o_lat,
                       w->o_b_proj_weight, BT, d->Co, d->D);
    ss_linear_backward(grads->dctx, dw->o_a_proj_weight, NULL, grads->do_lat, acts->ctx,
                       w->o_a_proj_weight, BT, HD, d->Co);
    ss__mla_context_backward(dinp, dw, grads, inp, acts, w, cos_t, sin_t, d);
}

// >>ffn -------------------------------------------------------------------------------------------

SS_API void ss_ffn_forward(float *out, ss_ffn_acts *acts, const float *inp,
                           const ss_ffn_weights *w, int BT, int D, int F, int Rf, float eps) {
    SS_ASSERT(out && acts && inp && w && BT > 0 && D > 0 && F > 0 && Rf >= 0);
    if (Rf == 0) { /* dense: a = W_in inp, g = W_gate inp, both D -> F */
        ss_linear_forward(acts->a, inp, w->W_in_weight, w->W_in_bias, BT, D, F);
        ss_linear_forward(acts->g, inp, w->W_gate_weight, w->W_gate_bias, BT, D, F);
        ss_swiglu_forward(acts->h, acts->a, acts->g, (size_t)BT * F);
        ss_linear_forward(out, acts->h, w->W_out_weight, w->W_out_bias, BT, F, D);
        return;
    }
    /* decomposed: each input branch goes D -> Rf (shared, no bias) -> RMSNorm -> F (bias) */
    ss_linear_forward(acts->in_lat, inp, w->W_in_shared_weight, NULL, BT, D, Rf);
    ss_rmsnorm_forward(acts->in_latn, acts->in_rstd, acts->in_lat, w->W_in_shared_norm_weight, BT,
                       Rf, eps);
    ss_linear_forward(acts->a, acts->in_latn, w->W_in_weight, w->W_in_bias, BT, Rf, F);
    ss_linear_forward(acts->gate_lat, inp, w->W_gate_shared_weight, NULL, BT, D, Rf);
    ss_rmsnorm_forward(acts->gate_latn, acts->gate_rstd, acts->gate_lat,
                       w->W_gate_shared_norm_weight, BT, Rf, eps);
    ss_linear_forward(acts->g, acts->gate_latn, w->W_gate_weight, w->W_gate_bias, BT, Rf, F);
    ss_swiglu_forward(acts->h, acts->a, acts->g, (size_t)BT * F);
    /* and the output goes F -> Rf (no bias, no norm) -> D (bias) */
    ss_linear_forward(acts->out_lat, acts->h, w->W_out_weight, NULL, BT, F, Rf);
    ss_linear_forward(out, acts->out_lat, w->W_out_shared_weight, w->W_out_shared_bias, BT, Rf, D);
}

SS_API void ss_ffn_backward(float *dinp, ss_ffn_weights *dw, ss_ffn_grads *grads,
                            const float *dout, const float *inp, const ss_ffn_acts *acts,
                            const ss_ffn_weights *w, int BT, int D, int F, int Rf) {
    const size_t NF = (size_t)BT * F, NR = (size_t)BT * Rf;
    SS_ASSERT(dinp && dw && grads && dout && inp && acts && w && BT > 0 && Rf >= 0);
    /* forward: h = silu(a) * g with a, g from inp (dense) or from the normalised latents
       (decomposed); out = h W_out^T (+ the shared output projection when decomposed) */
    ss__zero(grads->da, NF);
    ss__zero(grads->dg, NF);
    ss__zero(grads->dh, NF);
    if (Rf == 0) {
        ss_linear_backward(grads->dh, dw->W_out_weight, dw->W_out_bias, dout, acts->h,
                           w->W_out_weight, BT, F, D);
        ss_swiglu_backward(grads->da, grads->dg, grads->dh, acts->a, acts->g, NF);
        ss_linear_backward(dinp, dw->W_gate_weight, dw->W_gate_bias, grads->dg, inp,
                           w->W_gate_weight, BT, D, F);
        ss_linear_backward(dinp, dw->W_in_weight, dw->W_in_bias, grads->da, inp, w->W_in_weight,
                           BT, D, F);
        return;
    }
    ss__zero(grads->dout_lat, NR);
    ss__zero(grads->dgate_latn, NR);
    ss__zero(grads->dgate_lat, NR);
    ss__zero(grads->din_latn, NR);
    ss__zero(grads->din_lat, NR);
    ss_linear_backward(grads->dout_lat, dw->W_out_shared_weight, dw->W_out_shared_bias, dout,
                       acts->out_lat, w->W_out_shared_weight, BT, Rf, D);
    ss_linear_backward(grads->dh, dw->W_out_weight, NULL, grads->dout_lat, acts->h,
                       w->W_out_weight, BT, F, Rf);
    ss_swiglu_backward(grads->da, grads->dg, grads->dh, acts->a, acts->g, NF);
    ss_linear_backward(grads->dgate_latn, dw->W_gate_weight, dw->W_gate_bias, grads->dg,
                       acts->gate_latn, w->W_gate_weight, BT, Rf, F);
    ss_rmsnorm_backward(grads->dgate_lat, dw->W_gate_shared_norm_weight, grads->dgate_latn,
                        acts->gate_lat, acts->gate_rstd, w->W_gate_shared_norm_weight, BT, Rf);
    ss_linear_backward(dinp, dw->W_gate_shared_weight, NULL, grads->dgate_lat, inp,
                       w->W_gate_shared_weight, BT, D, Rf);
    ss_linear_backward(grads->din_latn, dw->W_in_weight, dw->W_in_bias, grads->da, acts->in_latn,
                       w->W_in_weight, BT, Rf, F);
    ss_rmsnorm_backward(grads->din_lat, dw->W_in_shared_norm_weight, grads->din_latn, acts->in_lat,
                        acts->in_rstd, w->W_in_shared_norm_weight, BT, Rf);
    ss_linear_backward(dinp, dw->W_in_shared_weight, NULL, grads->din_lat, inp,
                       w->W_in_shared_weight, BT, D, Rf);
}

// >>model (implementation) ------------------------------------------------------------------------

SS_API void ss_config_default(ss_config *cfg) {
    SS_MEMSET(cfg, 0, sizeof *cfg);
    cfg->vocab_size = 30522;
    cfg->hidden_size = 256;
    cfg->num_hidden_layers = 6;
    cfg->intermediate_size = 1024;
    cfg->hidden_dropout_prob = 0.1;
    cfg->attention_dropout_prob = 0.1;
    cfg->classifier_dropout = -1.0; /* null */
    cfg->initializer_range = 0.02;
    cfg->layer_norm_eps = 1e-12;
    cfg->rms_norm_eps = 1e-6;
    cfg->rope_theta = 10000.0;
    cfg->rope_scaling = 0;
    cfg->max_position_embeddings = 128;
    cfg->num_dense_layers = 0;
    cfg->q_latent_dim = 64;
    cfg->kv_latent_dim = 32;
    cfg->num_attention_heads = 8;
    cfg->head_dim = 32;
    cfg->rope_dims = 32;
    cfg->attention_bias = 0;
    cfg->output_subspace = 1;
    cfg->o_latent_dim = 64;
    SS_MEMCPY(cfg->attention_backend, "sdpa", 5);
    cfg->ffn_decompose = 0;
    cfg->ffn_rank = 0;
    cfg->vocab_subspace = 0;
    cfg->vocab_rank = 128; /* as in the seed's file, where it is ignored */
    cfg->num_labels = 2;
    cfg->causal = 0;
}

/* A probability must lie in [0,1) (NaN fails too). */
SS_PRIVATE int ss__is_prob(double p) { return p >= 0.0 && p < 1.0; }

SS_API ss_result ss_config_validate(const ss_config *c) {
    const int L = c->num_hidden_layers;
    const int latent = c->num_dense_layers < L; /* some layer is MLA or MLA-o */
    const struct { const char *key; int value; } sizes[] = {
        {"vocab_size", c->vocab_size},
        {"hidden_size", c->hidden_size},
        {"num_hidden_layers", c->num_hidden_layers},
        {"intermediate_size", c->intermediate_size},
        {"num_attention_heads", c->num_attention_heads},
        {"head_dim", c->head_dim},
        {"max_position_embeddings", c->max_position_embeddings},
        {"num_labels", c->num_labels},
    };
    size_t i;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].value < 1)
            return ss__fail(SS_ERR_INVALID, "config: %s = %d: must be >= 1", sizes[i].key,
                            sizes[i].value);
    if (c->rope_dims < 2 || c->rope_dims % 2 != 0 || c->rope_dims > c->head_dim)
        return ss__fail(SS_ERR_INVALID,
                        "config: rope_dims = %d: must be even and in 2..head_dim (%d)",
                        c->rope_dims, c->head_dim);
    if (c->num_dense_layers < 0 || c->num_dense_layers > L)
        return ss__fail(SS_ERR_INVALID, "config: num_dense_layers = %d: must be in 0..%d",
                        c->num_dense_layers, L);
    if (latent && c->q_latent_dim < 1)
        return ss__fail(SS_ERR_INVALID,
                        "config: q_latent_dim = %d: must be >= 1 when num_dense_layers < %d",
                        c->q_latent_dim, L);
    if (latent && c->kv_latent_dim < 1)
        return ss__fail(SS_ERR_INVALID,
                        "config: kv_latent_dim = %d: must be >= 1 when num_dense_layers < %d",
                        c->kv_latent_dim, L);
    if (c->output_subspace && c->o_latent_dim < 1)
        return ss__fail(SS_ERR_INVALID,
                        "config: o_latent_dim = %d: must be >= 1 with output_subspace",
                        c->o_latent_dim);
    if (c->ffn_decompose && c->ffn_rank < 1)
        return ss__fail(SS_ERR_INVALID, "config: ffn_rank = %d: must be >= 1 with ffn_decompose",
                        c->ffn_rank);
    if (c->vocab_subspace && c->vocab_rank < 1)
        return ss__fail(SS_ERR_INVALID, "config: vocab_rank = %d: must be >= 1 with vocab_subspace",
                        c->vocab_rank);
    if (!ss__is_prob(c->hidden_dropout_prob))
        return ss__fail(SS_ERR_INVALID, "config: hidden_dropout_prob = %g: must be in [0,1)",
                        c->hidden_dropout_prob);
    if (!ss__is_prob(c->attention_dropout_prob))
        return ss__fail(SS_ERR_INVALID, "config: attention_dropout_prob = %g: must be in [0,1)",
                        c->attention_dropout_prob);
    if (c->classifier_dropout >= 0.0 ? !ss__is_prob(c->classifier_dropout)
                                     : c->classifier_dropout != c->classifier_dropout)
        return ss__fail(SS_ERR_INVALID,
                        "config: classifier_dropout = %g: must be in [0,1) or null (negative)",
                        c->classifier_dropout);
    if (!(c->initializer_range >= 0.0 && c->initializer_range < 1e30))
        return ss__fail(SS_ERR_INVALID, "config: initializer_range = %g: must be >= 0",
                        c->initializer_range);
    if (!(c->rms_norm_eps >= 0.0 && c->rms_norm_eps < 1e30))
        return ss__fail(SS_ERR_INVALID, "config: rms_norm_eps = %g: must be >= 0", c->rms_norm_eps);
    if (!(c->rope_theta > 0.0 && c->rope_theta < 1e30))
        return ss__fail(SS_ERR_INVALID, "config: rope_theta = %g: must be > 0", c->rope_theta);
    /* every width the kernels take as an int must fit one */
    if ((long long)c->num_attention_heads * c->head_dim * 3 > INT_MAX)
        return ss__fail(SS_ERR_INVALID,
                        "config: num_attention_heads * head_dim = %lld: too large",
                        (long long)c->num_attention_heads * c->head_dim);
    if (latent && (long long)c->q_latent_dim + c->kv_latent_dim > INT_MAX)
        return ss__fail(SS_ERR_INVALID, "config: q_latent_dim + kv_latent_dim: too large");
    return SS_OK;
}

SS_API ss_attn_kind ss_config_attn_kind(const ss_config *cfg, int layer) {
    SS_ASSERT(layer >= 0 && layer < cfg->num_hidden_layers);
    if (layer < cfg->num_dense_layers) return SS_ATTN_MHA;
    return cfg->output_subspace ? SS_ATTN_MLA_O : SS_ATTN_MLA;
}

SS_API int ss_config_ffn_rank(const ss_config *cfg, int layer) {
    SS_ASSERT(layer >= 0 && layer < cfg->num_hidden_layers);
    return cfg->ffn_decompose && layer >= cfg->num_dense_layers ? cfg->ffn_rank : 0;
}

/* ---- the parameter list ---------------------------------------------------------------------
   One walk over every tensor of the model, in state_dict order, serves both jobs: registering
   (names, shapes, flags) and, once the registry has memory, pointing the weight and gradient
   views at each tensor and initialising it. One list, so the two can never disagree. */

typedef enum ss__init { SS__NORMAL, SS__ZERO, SS__ONE } ss__init;

typedef struct ss__tensor_walk {
    ss_params *params;
    int point;        /* 0: register each tensor; 1: point views and initialise */
    int next;         /* point: the registry index of the next tensor */
    ss_result status; /* register: the first failure */
    ss_rng root;      /* point: the init stream, split per tensor by its name */
    float std;        /* point: initializer_range */
} ss__tensor_walk;

/* FNV-1a: a tensor name to a 64-bit stream number for ss_rng_split. */
SS_PRIVATE uint64_t ss__hash_name(const char *s) {
    uint64_t h = UINT64_C(14695981039346656037);
    while (*s) h = (h ^ (unsigned char)*s++) * UINT64_C(1099511628211);
    return h;
}

/* One tensor: rows x cols (cols 0: a vector of rows). name_fmt may hold one %d, the layer. */
SS_PRIVATE void ss__tensor(ss__tensor_walk *wk, float **view, float **grad_view,
                           const char *name_fmt, int layer, int rows, int cols, ss__init init) {
    char name[SS_MAX_NAME];
    int shape[2];
    if (wk->status != SS_OK) return;
    shape[0] = rows;
    shape[1] = cols;
    if (!wk->point) {
        /* vectors are biases and norm gains: no weight decay for either */
        unsigned flags = cols ? 0u : SS_PARAM_NO_DECAY;
        int len = snprintf(name, sizeof name, name_fmt, layer);
        if (len < 0 || len >= (int)sizeof name)
            wk->status = ss__fail(SS_ERR_INVALID, "layer %d: tensor name too long", layer);
        else
            wk->status = ss_params_add(wk->params, name, cols ? 2 : 1, shape, flags, NULL);
    } else {
        const ss_tensor *t = &wk->params->tensors[wk->next];
        float *v = ss_params_data(wk->params, wk->next);
        size_t i;
        *view = v;
        *grad_view = ss_params_grad(wk->params, wk->next);
        wk->next++;
        if (init == SS__NORMAL) { /* every Linear weight and the embedding: N(0, std^2) */
            ss_rng r = ss_rng_split(&wk->root, ss__hash_name(t->name));
            for (i = 0; i < t->numel; i++) v[i] = ss_rng_normal(&r, 0.0f, wk->std);
        } else { /* biases 0, RMSNorm gains 1 */
            for (i = 0; i < t->numel; i++) v[i] = init == SS__ONE ? 1.0f : 0.0f;
        }
    }
}

/* Every tensor of the model. In register mode w and dw are not touched (views go to a dummy). */
SS_PRIVATE void ss__model_tensors(ss__tensor_walk *wk, ss_model *m) {
    const ss_config *c = &m->config;
    const int D = c->hidden_size, V = c->vocab_size, F = c->intermediate_size;
    const int HD = c->num_attention_heads * c->head_dim, Cq = c->q_latent_dim;
    const int Ckv = c->kv_latent_dim, Co = c->o_latent_dim, bias = c->attention_bias;
    ss_layer_weights dummy_w, dummy_dw;
    ss_model_weights *w = &m->w, *dw = &m->dw;
    int l;
#define SS__T(field, name, rows, cols, init) \
    ss__tensor(wk, &w->field, &dw->field, "encoder_model." name, 0, rows, cols, init)
    SS__T(vocab_embed_weight, "vocab_embed.weight", V, c->vocab_subspace ? c->vocab_rank : D,
          SS__NORMAL);
    if (c->vocab_subspace)
        SS__T(vocab_proj_weight, "vocab_proj.weight", D, c->vocab_rank, SS__NORMAL);
#undef SS__T
    for (l = 0; l < c->num_hidden_layers; l++) {
        ss_layer_weights *lw = wk->point ? &w->layers[l] : &dummy_w;
        ss_layer_weights *ldw = wk->point ? &dw->layers[l] : &dummy_dw;
        const int Rf = ss_config_ffn_rank(c, l);
#define SS__T(field, name, rows, cols, init) \
    ss__tensor(wk, &lw->field, &ldw->field, "encoder_model.layers.%d." name, l, rows, cols, init)
        SS__T(attn_input_norm_weight, "attn_input_norm.weight", D, 0, SS__ONE);
        if (ss_config_attn_kind(c, l) == SS_ATTN_MHA) {
            SS__T(self_attn.qkv_proj_weight, "self_attn.qkv_proj.weight", 3 * HD, D, SS__NORMAL);
            if (bias)
                SS__T(self_attn.qkv_proj_bias, "self_attn.qkv_proj.bias", 3 * HD, 0, SS__ZERO);
            SS__T(self_attn.o_proj_weight, "self_attn.o_proj.weight", D, HD, SS__NORMAL);
            if (bias) SS__T(self_attn.o_proj_bias, "self_attn.o_proj.bias", D, 0, SS__ZERO);
        } else {
            SS__T(self_attn.qkv_a_proj_weight, "self_attn.qkv_a_proj.weight", Cq + Ckv, D,
                  SS__NORMAL);
            if (bias)
                SS__T(self_attn.qkv_a_proj_bias, "self_attn.qkv_a_proj.bias", Cq + Ckv, 0,
                      SS__ZERO);
            SS__T(self_attn.q_a_norm_weight, "self_attn.q_a_norm.weight", Cq, 0, SS__ONE);
            SS__T(self_attn.kv_a_norm_weight, "self_attn.kv_a_norm.weight", Ckv, 0, SS__ONE);
            SS__T(self_attn.q_b_proj_weight, "self_attn.q_b_proj.weight", HD, Cq, SS__NORMAL);
            SS__T(self_attn.kv_b_proj_weight, "self_attn.kv_b_proj.weight", 2 * HD, Ckv,
                  SS__NORMAL);
            if (ss_config_attn_kind(c, l) == SS_ATTN_MLA) {
                SS__T(self_attn.o_proj_weight, "self_attn.o_proj.weight", D, HD, SS__NORMAL);
                if (bias) SS__T(self_attn.o_proj_bias, "self_attn.o_proj.bias", D, 0, SS__ZERO);
            } else {
                SS__T(self_attn.o_a_proj_weight, "self_attn.o_a_proj.weight", Co, HD, SS__NORMAL);
                SS__T(self_attn.o_b_proj_weight, "self_attn.o_b_proj.weight", D, Co, SS__NORMAL);
                if (bias)
                    SS__T(self_attn.o_b_proj_bias, "self_attn.o_b_proj.bias", D, 0, SS__ZERO);
            }
        }
        SS__T(ffn_input_norm_weight, "ffn_input_norm.weight", D, 0, SS__ONE);
        if (Rf == 0) {
            SS__T(ffn.W_in_weight, "ffn.W_in.weight", F, D, SS__NORMAL);
            SS__T(ffn.W_in_bias, "ffn.W_in.bias", F, 0, SS__ZERO);
            SS__T(ffn.W_gate_weight, "ffn.W_gate.weight", F, D, SS__NORMAL);
            SS__T(ffn.W_gate_bias, "ffn.W_gate.bias", F, 0, SS__ZERO);
            SS__T(ffn.W_out_weight, "ffn.W_out.weight", D, F, SS__NORMAL);
            SS__T(ffn.W_out_bias, "ffn.W_out.bias", D, 0, SS__ZERO);
        } else {
            SS__T(ffn.W_in_shared_weight, "ffn.W_in_shared.weight", Rf, D, SS__NORMAL);
            SS__T(ffn.W_in_shared_norm_weight, "ffn.W_in_shared_norm.weight", Rf, 0, SS__ONE);
            SS__T(ffn.W_in_weight, "ffn.W_in.weight", F, Rf, SS__NORMAL);
            SS__T(ffn.W_in_bias, "ffn.W_in.bias", F, 0, SS__ZERO);
            SS__T(ffn.W_gate_shared_weight, "ffn.W_gate_shared.weight", Rf, D, SS__NORMAL);
            SS__T(ffn.W_gate_shared_norm_weight, "ffn.W_gate_shared_norm.weight", Rf, 0,
                  SS__ONE);
            SS__T(ffn.W_gate_weight, "ffn.W_gate.weight", F, Rf, SS__NORMAL);
            SS__T(ffn.W_gate_bias, "ffn.W_gate.bias", F, 0, SS__ZERO);
            SS__T(ffn.W_out_weight, "ffn.W_out.weight", Rf, F, SS__NORMAL);
            SS__T(ffn.W_out_shared_weight, "ffn.W_out_shared.weight", D, Rf, SS__NORMAL);
            SS__T(ffn.W_out_shared_bias, "ffn.W_out_shared.bias", D, 0, SS__ZERO);
        }
#undef SS__T
    }
    if (m->head == SS_HEAD_CLASSIFIER) { /* the pooler and the classifier: top-level names */
#define SS__T(field, name, rows, cols, init) \
    ss__tensor(wk, &w->field, &dw->field, name, 0, rows, cols, init)
        SS__T(dense_weight, "dense.weight", D, D, SS__NORMAL);
        SS__T(dense_bias, "dense.bias", D, 0, SS__ZERO);
        SS__T(classifier_weight, "classifier.weight", c->num_labels, D, SS__NORMAL);
        SS__T(classifier_bias, "classifier.bias", c->num_labels, 0, SS__ZERO);
#undef SS__T
    }
}

/* ---- the model block ------------------------------------------------------------------------
   The model block holds the per-layer view tables, the RoPE tables, the activation block and the
   activation-gradient block. ss__model_layout is both the size table and the "point into"
   function: it lists every buffer with its size, in forward order, through ss__carve. With a
   NULL base it only measures; with memory it points every field into it. */

typedef struct ss__carver {
    char *base;   /* NULL: measure only */
    size_t used;  /* bytes so far, including alignment */
    int overflow; /* a size did not fit in size_t */
} ss__carver;

/* Reserve a*b elements of elem bytes, 64-byte aligned; NULL when measuring or a == 0. */
SS_PRIVATE void *ss__carve(ss__carver *cv, size_t a, size_t b, size_t elem) {
    size_t bytes, start, end;
    if (a == 0 || b == 0) return NULL;
    if (cv->used > SIZE_MAX - 63 || !ss__mul_size(a, b, &bytes) ||
        !ss__mul_size(bytes, elem, &bytes)) {
        cv->overflow = 1;
        return NULL;
    }
    start = ss__round_up(cv->used, 64);
    if (!ss__add_size(start, bytes, &end)) {
        cv->overflow = 1;
        return NULL;
    }
    cv->used = end;
    return cv->base && !cv->overflow ? cv->base + start : NULL;
}
#define SS__CARVE_F(cv, a, b) ((float *)ss__carve(cv, a, b, sizeof(float)))

/* Views, tables and the activation block (cv_act), then the activation-gradient block (cv_grad:
   a second carver over the same memory, started where the first ended). */
SS_PRIVATE void ss__model_layout(ss_model *m, ss__carver *cv, ss__carver *cv_grad) {
    const ss_config *c = &m->config;
    const size_t BT = (size_t)m->max_B * m->max_T, B = (size_t)m->max_B;
    const size_t D = (size_t)c->hidden_size, F = (size_t)c->intermediate_size;
    const size_t V = (size_t)c->vocab_size, H = (size_t)c->num_attention_heads;
    const size_t HD = H * c->head_dim, T = (size_t)m->max_T, NL = (size_t)c->num_labels;
    const size_t Cq = (size_t)c->q_latent_dim, Ckv = (size_t)c->kv_latent_dim;
    const size_t Co = c->o_latent_dim > 0 ? (size_t)c->o_latent_dim : 0;
    const size_t Rf = c->ffn_decompose ? (size_t)c->ffn_rank : 0;
    const size_t Rv = c->vocab_subspace ? (size_t)c->vocab_rank : 0;
    const size_t chunk = BT < SS_LM_CHUNK ? BT : SS_LM_CHUNK;
    const int L = c->num_hidden_layers, lm = m->head != SS_HEAD_CLASSIFIER;
    const int dropout = c->attention_dropout_prob > 0.0;
    ss_model_acts *a = &m->acts;
    ss_model_grads *g = &m->grads;
    int l, any_mha = 0, any_mla = 0, any_mlao = 0, any_decomposed = 0;
    float *prev_out;

    /* view tables */
    m->w.layers = (ss_layer_weights *)ss__carve(cv, (size_t)L, 1, sizeof(ss_layer_weights));
    m->dw.layers = (ss_layer_weights *)ss__carve(cv, (size_t)L, 1, sizeof(ss_layer_weights));
    a->layers = (ss_layer_acts *)ss__carve(cv, (size_t)L, 1, sizeof(ss_layer_acts));
    if (m->w.layers) SS_MEMSET(m->w.layers, 0, (size_t)L * sizeof(ss_layer_weights));
    if (m->dw.layers) SS_MEMSET(m->dw.layers, 0, (size_t)L * sizeof(ss_layer_weights));
    if (a->layers) SS_MEMSET(a->layers, 0, (size_t)L * sizeof(ss_layer_acts));
    /* RoPE tables */
    m->rope_cos = SS__CARVE_F(cv, (size_t)c->max_position_embeddings, (size_t)c->rope_dims / 2);
    m->rope_sin = SS__CARVE_F(cv, (size_t)c->max_position_embeddings, (size_t)c->rope_dims / 2);

    /* activations, in forward order */
    a->ids = (int *)ss__carve(cv, BT, 1, sizeof(int));
    a->targets = (int *)ss__carve(cv, lm ? BT : B, 1, sizeof(int));
    a->labels = lm ? NULL : SS__CARVE_F(cv, B, 1);
    a->emb_r = SS__CARVE_F(cv, BT, Rv);
    prev_out = SS__CARVE_F(cv, BT, D); /* the embeddings: x of block 0 */
    for (l = 0; l < L; l++) {
        ss_layer_acts dummy, *la = a->layers ? &a->layers[l] : &dummy;
        const ss_attn_kind kind = ss_config_attn_kind(c, l);
        const size_t R = (size_t)ss_config_ffn_rank(c, l);
        ss_attn_acts *at = &la->attn;
        ss_ffn_acts *f = &la->ffn;
        SS_MEMSET(&dummy, 0, sizeof dummy);
        any_mha |= kind == SS_ATTN_MHA;
        any_mla |= kind != SS_ATTN_MHA;
        any_mlao |= kind == SS_ATTN_MLA_O;
        any_decomposed |= R > 0;
        la->x = prev_out;
        la->ln1 = SS__CARVE_F(cv, BT, D);
        la->ln1_rstd = SS__CARVE_F(cv, BT, 1);
        if (kind == SS_ATTN_MHA) {
            at->qkv = SS__CARVE_F(cv, BT, 3 * HD);
        } else {
            at->q_lat = SS__CARVE_F(cv, BT, Cq);
            at->kv_lat = SS__CARVE_F(cv, BT, Ckv);
            at->q_rstd = SS__CARVE_F(cv, BT, 1);
            at->kv_rstd = SS__CARVE_F(cv, BT, 1);
            at->q_latn = SS__CARVE_F(cv, BT, Cq);
            at->kv_latn = SS__CARVE_F(cv, BT, Ckv);
            at->q = SS__CARVE_F(cv, BT, HD);
            at->kv = SS__CARVE_F(cv, BT, 2 * HD);
        }
        at->q_rot = SS__CARVE_F(cv, BT, HD);
        at->k_rot = SS__CARVE_F(cv, BT, HD);
        at->att = SS__CARVE_F(cv, B * H, T * T);
        if (dropout) {
            at->att_drop = SS__CARVE_F(cv, B * H, T * T);
            at->drop_mask = (unsigned char *)ss__carve(cv, B * H, T * T, 1);
        }
        at->ctx = SS__CARVE_F(cv, BT, HD);
        if (kind == SS_ATTN_MLA_O) at->o_lat = SS__CARVE_F(cv, BT, Co);
        la->mid = SS__CARVE_F(cv, BT, D);
        la->ln2 = SS__CARVE_F(cv, BT, D);
        la->ln2_rstd = SS__CARVE_F(cv, BT, 1);
        if (R) {
            f->in_lat = SS__CARVE_F(cv, BT, R);
            f->in_rstd = SS__CARVE_F(cv, BT, 1);
            f->in_latn = SS__CARVE_F(cv, BT, R);
            f->gate_lat = SS__CARVE_F(cv, BT, R);
            f->gate_rstd = SS__CARVE_F(cv, BT, 1);
            f->gate_latn = SS__CARVE_F(cv, BT, R);
        }
        f->a = SS__CARVE_F(cv, BT, F);
        f->g = SS__CARVE_F(cv, BT, F);
        f->h = SS__CARVE_F(cv, BT, F);
        if (R) f->out_lat = SS__CARVE_F(cv, BT, R);
        la->out = SS__CARVE_F(cv, BT, D);
        prev_out = la->out;
    }
    a->h = prev_out;
    a->branch = SS__CARVE_F(cv, BT, D);
    a->losses = SS__CARVE_F(cv, lm ? BT : B, 1);
    if (lm) {
        a->lm_rows = (int *)ss__carve(cv, BT, 1, sizeof(int));
        a->lm_targets = (int *)ss__carve(cv, chunk, 1, sizeof(int));
        a->lm_h = SS__CARVE_F(cv, chunk, D);
        a->lm_hp = SS__CARVE_F(cv, chunk, Rv);
        a->lm_logits = SS__CARVE_F(cv, chunk, V);
        a->lm_loss = SS__CARVE_F(cv, chunk, 1);
    } else {
        a->cls = SS__CARVE_F(cv, B, D);
        a->pool_pre = SS__CARVE_F(cv, B, D);
        a->pooled = SS__CARVE_F(cv, B, D);
        a->pooled_drop = SS__CARVE_F(cv, B, D);
        a->cls_mask = (unsigned char *)ss__carve(cv, B, D, 1);
        a->cls_logits = SS__CARVE_F(cv, B, NL);
        a->cls_probs = SS__CARVE_F(cv, B, NL);
    }

    /* activation gradients: one layer's worth of scratch, big enough for every variant used */
    g->dresid = SS__CARVE_F(cv_grad, BT, D);
    g->dln = SS__CARVE_F(cv_grad, BT, D);
    if (any_mha) g->attn.dqkv = SS__CARVE_F(cv_grad, BT, 3 * HD);
    if (any_mla) {
        g->attn.dq_lat = SS__CARVE_F(cv_grad, BT, Cq);
        g->attn.dkv_lat = SS__CARVE_F(cv_grad, BT, Ckv);
        g->attn.dq_latn = SS__CARVE_F(cv_grad, BT, Cq);
        g->attn.dkv_latn = SS__CARVE_F(cv_grad, BT, Ckv);
        g->attn.dq = SS__CARVE_F(cv_grad, BT, HD);
        g->attn.dkv = SS__CARVE_F(cv_grad, BT, 2 * HD);
    }
    g->attn.dq_rot = SS__CARVE_F(cv_grad, BT, HD);
    g->attn.dk_rot = SS__CARVE_F(cv_grad, BT, HD);
    g->attn.datt = SS__CARVE_F(cv_grad, B * H, T * T);
    g->attn.dctx = SS__CARVE_F(cv_grad, BT, HD);
    if (any_mlao) g->attn.do_lat = SS__CARVE_F(cv_grad, BT, Co);
    if (any_decomposed) {
        g->ffn.din_lat = SS__CARVE_F(cv_grad, BT, Rf);
        g->ffn.din_latn = SS__CARVE_F(cv_grad, BT, Rf);
        g->ffn.dgate_lat = SS__CARVE_F(cv_grad, BT, Rf);
        g->ffn.dgate_latn = SS__CARVE_F(cv_grad, BT, Rf);
        g->ffn.dout_lat = SS__CARVE_F(cv_grad, BT, Rf);
    }
    g->ffn.da = SS__CARVE_F(cv_grad, BT, F);
    g->ffn.dg = SS__CARVE_F(cv_grad, BT, F);
    g->ffn.dh = SS__CARVE_F(cv_grad, BT, F);
    g->demb_r = SS__CARVE_F(cv_grad, BT, Rv);
    if (lm) {
        g->dlm_h = SS__CARVE_F(cv_grad, chunk, D);
        g->dlm_hp = SS__CARVE_F(cv_grad, chunk, Rv);
        g->dlm_logits = SS__CARVE_F(cv_grad, chunk, V);
    } else {
        g->dcls = SS__CARVE_F(cv_grad, B, D);
        g->dpool_pre = SS__CARVE_F(cv_grad, B, D);
        g->dpooled = SS__CARVE_F(cv_grad, B, D);
        g->dpooled_drop = SS__CARVE_F(cv_grad, B, D);
        g->dcls_logits = SS__CARVE_F(cv_grad, B, NL);
    }
}

/* Check the arguments, copy the config, register every tensor and measure every block.
   On failure m is freed and zeroed. */
SS_PRIVATE ss_result ss__model_setup(ss_model *m, const ss_config *cfg, ss_head head, int max_B,
                                     int max_T) {
    ss__tensor_walk wk;
    ss__carver act, grad;
    size_t model_bytes, total;
    ss_result r;
    SS_MEMSET(m, 0, sizeof *m);
    r = ss_config_validate(cfg);
    if (r != SS_OK) return r;
    if (head != SS_HEAD_MLM && head != SS_HEAD_CLASSIFIER && head != SS_HEAD_CAUSAL_LM)
        return ss__fail(SS_ERR_INVALID, "model: unknown head %d", (int)head);
    if (head == SS_HEAD_CAUSAL_LM && !cfg->causal)
        return ss__fail(SS_ERR_INVALID, "config: causal = 0: a causal-LM head needs causal = 1");
    if (max_B < 1 || max_T < 1)
        return ss__fail(SS_ERR_INVALID, "model: max_B = %d, max_T = %d: both must be >= 1", max_B,
                        max_T);
    if (max_T > cfg->max_position_embeddings)
        return ss__fail(SS_ERR_INVALID,
                        "config: max_position_embeddings = %d: less than max_T = %d",
                        cfg->max_position_embeddings, max_T);
    if ((long long)max_B * max_T > INT_MAX)
        return ss__fail(SS_ERR_OVERFLOW, "model: max_B * max_T = %lld rows: too many",
                        (long long)max_B * max_T);
    m->config = *cfg;
    m->head = head;
    m->max_B = max_B;
    m->max_T = max_T;

    SS_MEMSET(&wk, 0, sizeof wk);
    wk.params = &m->params;
    ss__model_tensors(&wk, m);
    if (wk.status != SS_OK) {
        ss_model_free(m);
        return wk.status;
    }

    SS_MEMSET(&act, 0, sizeof act);
    SS_MEMSET(&grad, 0, sizeof grad);
    ss__model_layout(m, &act, &grad);
    m->sizes.param_count = ss_model_param_count(m);
    m->sizes.param_bytes = ss_params_memory_size(&m->params);
    m->sizes.act_bytes = act.used;
    m->sizes.act_grad_bytes = grad.used;
    /* total = registry blocks + 64 (to align the model block) + activations + 64 + gradients */
    if (act.overflow || grad.overflow || !ss__add_size(act.used, 64, &model_bytes) ||
        !ss__add_size(model_bytes, grad.used, &model_bytes) ||
        !ss__add_size(model_bytes, 128, &model_bytes) ||
        !ss__add_size(m->sizes.param_bytes, model_bytes, &total)) {
        ss_model_free(m);
        return ss__fail(SS_ERR_OVERFLOW, "model: activation block for %d x %d overflows", max_B,
                        max_T);
    }
    m->sizes.total_bytes = total;
    return SS_OK;
}

/* Put a set-up model into memory of sizes.total_bytes: views, RoPE tables, initial values. */
SS_PRIVATE void ss__model_place(ss_model *m, void *memory, uint64_t seed) {
    const ss_config *c = &m->config;
    ss__tensor_walk wk;
    ss__carver act, grad;
    ss_rng root;
    char *base;
    ss_params_init_preallocated(&m->params, memory);
    m->memory = memory;
    base = (char *)memory + m->sizes.param_bytes;
    base += (64 - (uintptr_t)base % 64) % 64;
    SS_MEMSET(&act, 0, sizeof act);
    SS_MEMSET(&grad, 0, sizeof grad);
    act.base = base;
    grad.base = base + ss__round_up(m->sizes.act_bytes, 64);
    ss__model_layout(m, &act, &grad);
    SS_ASSERT(!act.overflow && !grad.overflow && act.used == m->sizes.act_bytes);

    ss_rng_seed(&root, seed);
    SS_MEMSET(&wk, 0, sizeof wk);
    wk.params = &m->params;
    wk.point = 1;
    wk.root = ss_rng_split(&root, 1);
    wk.std = (float)c->initializer_range;
    ss__model_tensors(&wk, m);
    SS_ASSERT(wk.next == m->params.count);
    m->rng = ss_rng_split(&root, 2); /* dropout */
    ss_rope_tables(m->rope_cos, m->rope_sin, c->max_position_embeddings, c->rope_dims,
                   (float)c->rope_theta);
}

SS_API ss_result ss_model_memory_size(ss_model_sizes *sizes, const ss_config *cfg, ss_head head,
                                      int max_B, int max_T) {
    ss_model m;
    ss_result r = ss__model_setup(&m, cfg, head, max_B, max_T);
    SS_MEMSET(sizes, 0, sizeof *sizes);
    if (r != SS_OK) return r;
    *sizes = m.sizes;
    ss_model_free(&m);
    return SS_OK;
}

SS_API ss_result ss_model_init(ss_model *model, const ss_config *cfg, ss_head head, int max_B,
                               int max_T, uint64_t seed) {
    void *memory;
    ss_result r = ss__model_setup(model, cfg, head, max_B, max_T);
    if (r != SS_OK) return r;
    memory = ss__malloc(model->sizes.total_bytes);
    if (!memory) {
        size_t bytes = model->sizes.total_bytes;
        ss_model_free(model);
        return ss__fail(SS_ERR_NOMEM, "model: no memory for %zu bytes (batch %d x %d)", bytes,
                        max_B, max_T);
    }
    ss__model_place(model, memory, seed);
    model->owns_memory = 1;
    return SS_OK;
}

SS_API ss_result ss_model_init_preallocated(ss_model *model, const ss_config *cfg, ss_head head,
                                            int max_B, int max_T, uint64_t seed, void *memory) {
    ss_result r = ss__model_setup(model, cfg, head, max_B, max_T);
    if (r != SS_OK) return r;
    SS_ASSERT(memory);
    ss__model_place(model, memory, seed);
    return SS_OK;
}

SS_API void ss_model_free(ss_model *model) {
    ss_params_free(&model->params); /* the table; its blocks are in model->memory */
    if (model->owns_memory) ss_free(model->memory);
    SS_MEMSET(model, 0, sizeof *model);
}

SS_API size_t ss_model_param_count(const ss_model *model) {
    size_t n = 0;
    int i;
    for (i = 0; i < model->params.count; i++) n += model->params.tensors[i].numel;
    return n;
}

SS_API void ss_model_zero_grad(ss_model *model) { ss_params_zero_grad(&model->params); }

/* ---- forward and backward -------------------------------------------------------------------- */

/* out = x + y over n values: a residual connection. */
SS_PRIVATE void ss__residual_add(float *out, const float *x, const float *y, size_t n) {
    long i, count = (long)n;
    SS__OMP(parallel for schedule(static))
    for (i = 0; i < count; i++) out[i] = x[i] + y[i];
}

SS_PRIVATE ss_attn_dims ss__model_attn_dims(const ss_model *m, int B, int T, int training) {
    const ss_config *c = &m->config;
    ss_attn_dims d;
    d.B = B;
    d.T = T;
    d.D = c->hidden_size;
    d.H = c->num_attention_heads;
    d.Dh = c->head_dim;
    d.Dr = c->rope_dims;
    d.Cq = c->q_latent_dim;
    d.Ckv = c->kv_latent_dim;
    d.Co = c->o_latent_dim;
    d.P = c->max_position_embeddings;
    d.eps = (float)c->rms_norm_eps;
    d.causal = c->causal;
    d.dropout_p = training ? (float)c->attention_dropout_prob : 0.0f;
    return d;
}

SS_PRIVATE float ss__classifier_dropout(const ss_config *c, int training) {
    if (!training) return 0.0f;
    return (float)(c->classifier_dropout >= 0.0 ? c->classifier_dropout : c->hidden_dropout_prob);
}

/* Logits of kept rows [first, first+n) of the LM head, then their softmax and losses:
     lm_h = h[rows];  logits = lm_h E^T,  or with the vocab subspace (lm_h P) E_r^T (SPEC 1.12)
   Forward runs it for every chunk; backward runs it again instead of keeping (kept, V) logits. */
SS_PRIVATE void ss__lm_chunk(ss_model *m, ss_ce_stats *ce, int first, int n) {
    const ss_config *c = &m->config;
    ss_model_acts *a = &m->acts;
    const int D = c->hidden_size, V = c->vocab_size, Rv = c->vocab_rank;
    int i;
    for (i = 0; i < n; i++) {
        const int row = a->lm_rows[first + i];
        SS_MEMCPY(a->lm_h + (size_t)i * D, a->h + (size_t)row * D, (size_t)D * sizeof(float));
        a->lm_targets[i] = a->targets[row];
    }
    if (c->vocab_subspace) {
        /* lm_hp (n,Rv) = lm_h (n,D) @ P (D,Rv): the input projection's weight, used untransposed */
        ss_gemm(0, 0, n, Rv, D, 1.0f, a->lm_h, D, m->w.vocab_proj_weight, Rv, 0.0f, a->lm_hp, Rv);
        ss_linear_forward(a->lm_logits, a->lm_hp, m->w.vocab_embed_weight, NULL, n, Rv, V);
    } else {
        ss_linear_forward(a->lm_logits, a->lm_h, m->w.vocab_embed_weight, NULL, n, D, V);
    }
    ss_crossentropy_forward(ce, a->lm_loss, a->lm_logits, a->lm_logits, a->lm_targets, n, V);
}

SS_PRIVATE void ss__lm_head_forward(ss_model *m, ss_model_stats *st) {
    ss_model_acts *a = &m->acts;
    const int BT = a->B * a->T;
    int r, first, kept = 0;
    for (r = 0; r < BT; r++) {
        SS_ASSERT((a->targets[r] == SS_IGNORE_INDEX ||
                   (a->targets[r] >= 0 && a->targets[r] < m->config.vocab_size)) &&
                  "target out of range");
        a->losses[r] = 0.0f;
        if (a->targets[r] != SS_IGNORE_INDEX) a->lm_rows[kept++] = r;
    }
    a->kept = kept;
    for (first = 0; first < kept; first += SS_LM_CHUNK) {
        const int n = kept - first < SS_LM_CHUNK ? kept - first : SS_LM_CHUNK;
        ss_ce_stats ce;
        int i;
        ss__lm_chunk(m, &ce, first, n);
        for (i = 0; i < n; i++) a->losses[a->lm_rows[first + i]] = a->lm_loss[i];
        st->loss_sum += ce.loss_sum; /* chunk sums in order: the same bits for any thread count */
        st->correct += ce.correct;
    }
    st->kept = kept;
    st->loss = kept ? (float)(st->loss_sum / kept) : 0.0f;
}

SS_PRIVATE void ss__lm_head_backward(ss_model *m, float grad_scale) {
    const ss_config *c = &m->config;
    ss_model_acts *a = &m->acts;
    ss_model_grads *g = &m->grads;
    const int D = c->hidden_size, V = c->vocab_size, Rv = c->vocab_rank, kept = a->kept;
    int first;
    for (first = 0; first < kept; first += SS_LM_CHUNK) {
        const int n = kept - first < SS_LM_CHUNK ? kept - first : SS_LM_CHUNK;
        ss_ce_stats ce;
        int i;
        ss__lm_chunk(m, &ce, first, n); /* recomputed: lm_logits now holds the probabilities */
        ss__zero(g->dlm_logits, (size_t)n * V);
        ss__zero(g->dlm_h, (size_t)n * D);
        /* loss = sum of row losses / kept, so each row's dloss is grad_scale / kept */
        ss_crossentropy_backward(g->dlm_logits, grad_scale / (float)kept, a->lm_logits,
                                 a->lm_targets, n, V);
        if (c->vocab_subspace) {
            ss__zero(g->dlm_hp, (size_t)n * Rv);
            ss_linear_backward(g->dlm_hp, m->dw.vocab_embed_weight, NULL, g->dlm_logits, a->lm_hp,
                               m->w.vocab_embed_weight, n, Rv, V);
            /* forward lm_hp = lm_h P: dlm_h += dlm_hp P^T;  dP += lm_h^T dlm_hp */
            ss_gemm(0, 1, n, D, Rv, 1.0f, g->dlm_hp, Rv, m->w.vocab_proj_weight, Rv, 1.0f,
                    g->dlm_h, D);
            ss_gemm(1, 0, D, Rv, n, 1.0f, a->lm_h, D, g->dlm_hp, Rv, 1.0f,
                    m->dw.vocab_proj_weight, Rv);
        } else {
            ss_linear_backward(g->dlm_h, m->dw.vocab_embed_weight, NULL, g->dlm_logits, a->lm_h,
                               m->w.vocab_embed_weight, n, D, V);
        }
        for (i = 0; i < n; i++) { /* kept rows are distinct: scatter back into dresid */
            float *dst = g->dresid + (size_t)a->lm_rows[first + i] * D;
            const float *src = g->dlm_h + (size_t)i * D;
            int j;
            for (j = 0; j < D; j++) dst[j] += src[j];
        }
    }
}

SS_PRIVATE void ss__classifier_forward(ss_model *m, ss_model_stats *st, int has_targets) {
    const ss_config *c = &m->config;
    ss_model_acts *a = &m->acts;
    const int B = a->B, T = a->T, D = c->hidden_size, NL = c->num_labels;
    int b;
    for (b = 0; b < B; b++) /* the [CLS] row, position 0 of each sequence */
        SS_MEMCPY(a->cls + (size_t)b * D, a->h + (size_t)b * T * D, (size_t)D * sizeof(float));
    ss_linear_forward(a->pool_pre, a->cls, m->w.dense_weight, m->w.dense_bias, B, D, D);
    ss_tanh_forward(a->pooled, a->pool_pre, (size_t)B * D);
    ss_dropout_forward(a->pooled_drop, a->cls_mask, a->pooled,
                       ss__classifier_dropout(c, a->training), &m->rng, (size_t)B * D);
    ss_linear_forward(a->cls_logits, a->pooled_drop, m->w.classifier_weight, m->w.classifier_bias,
                      B, D, NL);
    if (!has_targets) return;
    if (NL >= 2) {
        ss_ce_stats ce;
        ss_crossentropy_forward(&ce, a->losses, a->cls_probs, a->cls_logits, a->targets, B, NL);
        st->loss = ce.loss;
        st->loss_sum = ce.loss_sum;
        st->kept = ce.kept;
        st->correct = ce.correct;
    } else { /* regression: MSE of the one logit against the float label (PyTorch MSELoss) */
        double sum = 0.0;
        for (b = 0; b < B; b++) {
            const double e = (double)a->cls_logits[b] - (double)a->labels[b];
            a->losses[b] = (float)(e * e);
            sum += e * e;
        }
        st->loss_sum = sum;
        st->kept = B;
        st->loss = (float)(sum / B);
    }
    a->kept = st->kept;
}

SS_PRIVATE void ss__classifier_backward(ss_model *m, float grad_scale) {
    const ss_config *c = &m->config;
    ss_model_acts *a = &m->acts;
    ss_model_grads *g = &m->grads;
    const int B = a->B, T = a->T, D = c->hidden_size, NL = c->num_labels;
    const size_t BD = (size_t)B * D;
    int b, j;
    ss__zero(g->dcls_logits, (size_t)B * NL);
    ss__zero(g->dpooled_drop, BD);
    ss__zero(g->dpooled, BD);
    ss__zero(g->dpool_pre, BD);
    ss__zero(g->dcls, BD);
    if (a->kept == 0) return;
    if (NL >= 2) {
        ss_crossentropy_backward(g->dcls_logits, grad_scale / (float)a->kept, a->cls_probs,
                                 a->targets, B, NL);
    } else { /* loss = mean_b (y_b - label_b)^2: dy_b = 2 (y_b - label_b) / B */
        for (b = 0; b < B; b++)
            g->dcls_logits[b] = grad_scale * 2.0f * (a->cls_logits[b] - a->labels[b]) / (float)B;
    }
    ss_linear_backward(g->dpooled_drop, m->dw.classifier_weight, m->dw.classifier_bias,
                       g->dcls_logits, a->pooled_drop, m->w.classifier_weight, B, D, NL);
    ss_dropout_backward(g->dpooled, g->dpooled_drop, a->cls_mask,
                        ss__classifier_dropout(c, a->training), BD);
    ss_tanh_backward(g->dpool_pre, g->dpooled, a->pooled, BD);
    ss_linear_backward(g->dcls, m->dw.dense_weight, m->dw.dense_bias, g->dpool_pre, a->cls,
                       m->w.dense_weight, B, D, D);
    for (b = 0; b < B; b++)
        for (j = 0; j < D; j++) g->dresid[(size_t)b * T * D + j] += g->dcls[(size_t)b * D + j];
}

SS_API void ss_model_forward(ss_model *model, ss_model_stats *stats, const int *ids,
                             const int *key_mask, const int *targets, const float *labels, int B,
                             int T, int training) {
    ss_model *m = model;
    const ss_config *c = &m->config;
    ss_model_acts *a = &m->acts;
    const int BT = B * T, D = c->hidden_size, V = c->vocab_size, F = c->intermediate_size;
    const int lm = m->head != SS_HEAD_CLASSIFIER;
    const int has_targets = lm || c->num_labels >= 2 ? targets != NULL : labels != NULL;
    const float eps = (float)c->rms_norm_eps;
    const ss_attn_dims dims = ss__model_attn_dims(m, B, T, training);
    ss_model_stats st;
    int l;
    SS_ASSERT(m->memory && ids && B >= 1 && T >= 1 && B <= m->max_B && T <= m->max_T);
    SS_MEMSET(&st, 0, sizeof st);
    a->B = B;
    a->T = T;
    a->training = training;
    a->has_targets = has_targets;
    a->kept = 0;
    SS_MEMCPY(a->ids, ids, (size_t)BT * sizeof(int));
    if (targets && (lm || c->num_labels >= 2))
        SS_MEMCPY(a->targets, targets, (size_t)(lm ? BT : B) * sizeof(int));
    if (labels && !lm && c->num_labels == 1)
        SS_MEMCPY(a->labels, labels, (size_t)B * sizeof(float));

    /* token embedding: h0 = E[ids], or E_r[ids] P^T through the vocabulary subspace */
    if (c->vocab_subspace) {
        ss_embedding_forward(a->emb_r, a->ids, m->w.vocab_embed_weight, BT, V, c->vocab_rank);
        ss_linear_forward(a->layers[0].x, a->emb_r, m->w.vocab_proj_weight, NULL, BT,
                          c->vocab_rank, D);
    } else {
        ss_embedding_forward(a->layers[0].x, a->ids, m->w.vocab_embed_weight, BT, V, D);
    }
    /* pre-norm blocks: x += Attn(RMSNorm(x)); x += FFN(RMSNorm(x)) */
    for (l = 0; l < c->num_hidden_layers; l++) {
        const ss_layer_weights *l_w = &m->w.layers[l];
        ss_layer_acts *l_a = &a->layers[l];
        ss_rmsnorm_forward(l_a->ln1, l_a->ln1_rstd, l_a->x, l_w->attn_input_norm_weight, BT, D,
                           eps);
        switch (ss_config_attn_kind(c, l)) {
        case SS_ATTN_MHA:
            ss_mha_forward(a->branch, &l_a->attn, l_a->ln1, key_mask, &m->rng, &l_w->self_attn,
                           m->rope_cos, m->rope_sin, &dims);
            break;
        case SS_ATTN_MLA:
            ss_mla_forward(a->branch, &l_a->attn, l_a->ln1, key_mask, &m->rng, &l_w->self_attn,
                           m->rope_cos, m->rope_sin, &dims);
            break;
        case SS_ATTN_MLA_O:
            ss_mlao_forward(a->branch, &l_a->attn, l_a->ln1, key_mask, &m->rng, &l_w->self_attn,
                            m->rope_cos, m->rope_sin, &dims);
            break;
        }
        ss__residual_add(l_a->mid, l_a->x, a->branch, (size_t)BT * D);
        ss_rmsnorm_forward(l_a->ln2, l_a->ln2_rstd, l_a->mid, l_w->ffn_input_norm_weight, BT, D,
                           eps);
        ss_ffn_forward(a->branch, &l_a->ffn, l_a->ln2, &l_w->ffn, BT, D, F,
                       ss_config_ffn_rank(c, l), eps);
        ss__residual_add(l_a->out, l_a->mid, a->branch, (size_t)BT * D);
    }
    /* no final norm: the heads read the raw residual stream a->h (SPEC 1.3) */
    if (lm) {
        if (has_targets) ss__lm_head_forward(m, &st);
    } else {
        ss__classifier_forward(m, &st, has_targets);
    }
    if (stats) *stats = st;
}

SS_API void ss_model_backward(ss_model *model, float grad_scale) {
    ss_model *m = model;
    const ss_config *c = &m->config;
    const ss_model_acts *a = &m->acts;
    ss_model_grads *g = &m->grads;
    const int B = a->B, T = a->T, BT = B * T, D = c->hidden_size, F = c->intermediate_size;
    const ss_attn_dims dims = ss__model_attn_dims(m, B, T, a->training);
    int l;
    SS_ASSERT(m->memory && a->has_targets && "ss_model_backward needs a forward with targets");
    /* the residual stream's gradient starts at the head and runs down through every block */
    ss__zero(g->dresid, (size_t)BT * D);
    if (m->head != SS_HEAD_CLASSIFIER)
        ss__lm_head_backward(m, grad_scale);
    else
        ss__classifier_backward(m, grad_scale);
    for (l = c->num_hidden_layers - 1; l >= 0; l--) {
        const ss_layer_weights *l_w = &m->w.layers[l];
        ss_layer_weights *dl_w = &m->dw.layers[l];
        const ss_layer_acts *l_a = &a->layers[l];
        const int Rf = ss_config_ffn_rank(c, l);
        /* out = mid + FFN(ln2(mid)): dresid holds d(out), which is also mid's direct share;
           each norm's backward adds the branch's share into dresid, turning it into d(mid),
           then d(x) */
        ss__zero(g->dln, (size_t)BT * D);
        ss_ffn_backward(g->dln, &dl_w->ffn, &g->ffn, g->dresid, l_a->ln2, &l_a->ffn, &l_w->ffn, BT,
                        D, F, Rf);
        ss_rmsnorm_backward(g->dresid, dl_w->ffn_input_norm_weight, g->dln, l_a->mid,
                            l_a->ln2_rstd, l_w->ffn_input_norm_weight, BT, D);
        ss__zero(g->dln, (size_t)BT * D);
        switch (ss_config_attn_kind(c, l)) {
        case SS_ATTN_MHA:
            ss_mha_backward(g->dln, &dl_w->self_attn, &g->attn, g->dresid, l_a->ln1, &l_a->attn,
                            &l_w->self_attn, m->rope_cos, m->rope_sin, &dims);
            break;
        case SS_ATTN_MLA:
            ss_mla_backward(g->dln, &dl_w->self_attn, &g->attn, g->dresid, l_a->ln1, &l_a->attn,
                            &l_w->self_attn, m->rope_cos, m->rope_sin, &dims);
            break;
        case SS_ATTN_MLA_O:
            ss_mlao_backward(g->dln, &dl_w->self_attn, &g->attn, g->dresid, l_a->ln1, &l_a->attn,
                             &l_w->self_attn, m->rope_cos, m->rope_sin, &dims);
            break;
        }
        ss_rmsnorm_backward(g->dresid, dl_w->attn_input_norm_weight, g->dln, l_a->x, l_a->ln1_rstd,
                            l_w->attn_input_norm_weight, BT, D);
    }
    /* the embedding: dE gets this on top of the tied head's share */
    if (c->vocab_subspace) {
        ss__zero(g->demb_r, (size_t)BT * c->vocab_rank);
        ss_linear_backward(g->demb_r, m->dw.vocab_proj_weight, NULL, g->dresid, a->emb_r,
                           m->w.vocab_proj_weight, BT, c->vocab_rank, D);
        ss_embedding_backward(m->dw.vocab_embed_weight, g->demb_r, a->ids, BT, c->vocab_size,
                              c->vocab_rank);
    } else {
        ss_embedding_backward(m->dw.vocab_embed_weight, g->dresid, a->ids, BT, c->vocab_size, D);
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

// >>checkpoint (implementation) -------------------------------------------------------------------

/* How a "model" key is read: its JSON type, and what null means where the seed allows null. */
typedef enum ss__cfg_kind {
    SS__CFG_INT,          /* an integer */
    SS__CFG_INT_OR_NULL,  /* an integer, or null stored as 0 */
    SS__CFG_REAL,         /* a number */
    SS__CFG_REAL_OR_NULL, /* a number, or null stored as -1 (classifier_dropout) */
    SS__CFG_BOOL,         /* true or false, stored as 1 or 0 */
    SS__CFG_STRING,       /* a short string (attention_backend) */
    SS__CFG_NULL          /* null only: a feature the seed names but never uses (rope_scaling) */
} ss__cfg_kind;

typedef struct ss__cfg_key {
    const char *key;   /* the JSON key = the ss_config field */
    ss__cfg_kind kind;
    size_t offset;     /* of the field in ss_config */
    int required;      /* one of the seed's 27 */
} ss__cfg_key;

#define SS__CFG(field, kind, required) {#field, kind, offsetof(ss_config, field), required}
/* The seed's 27 keys in the order of its files, then our two additions. */
static const ss__cfg_key ss__cfg_keys[] = {
    SS__CFG(hidden_size, SS__CFG_INT, 1),
    SS__CFG(num_hidden_layers, SS__CFG_INT, 1),
    SS__CFG(intermediate_size, SS__CFG_INT, 1),
    SS__CFG(hidden_dropout_prob, SS__CFG_REAL, 1),
    SS__CFG(attention_dropout_prob, SS__CFG_REAL, 1),
    SS__CFG(classifier_dropout, SS__CFG_REAL_OR_NULL, 1),
    SS__CFG(initializer_range, SS__CFG_REAL, 1),
    SS__CFG(layer_norm_eps, SS__CFG_REAL, 1),
    SS__CFG(rms_norm_eps, SS__CFG_REAL, 1),
    SS__CFG(vocab_size, SS__CFG_INT, 1),
    SS__CFG(rope_theta, SS__CFG_REAL, 1),
    SS__CFG(rope_scaling, SS__CFG_NULL, 1),
    SS__CFG(max_position_embeddings, SS__CFG_INT, 1),
    SS__CFG(num_dense_layers, SS__CFG_INT, 1),
    SS__CFG(q_latent_dim, SS__CFG_INT_OR_NULL, 1),
    SS__CFG(kv_latent_dim, SS__CFG_INT_OR_NULL, 1),
    SS__CFG(num_attention_heads, SS__CFG_INT, 1),
    SS__CFG(head_dim, SS__CFG_INT, 1),
    SS__CFG(rope_dims, SS__CFG_INT, 1),
    SS__CFG(attention_bias, SS__CFG_BOOL, 1),
    SS__CFG(output_subspace, SS__CFG_BOOL, 1),
    SS__CFG(o_latent_dim, SS__CFG_INT_OR_NULL, 1),
    SS__CFG(attention_backend, SS__CFG_STRING, 1),
    SS__CFG(ffn_decompose, SS__CFG_BOOL, 1),
    SS__CFG(ffn_rank, SS__CFG_INT_OR_NULL, 1),
    SS__CFG(vocab_subspace, SS__CFG_BOOL, 1),
    SS__CFG(vocab_rank, SS__CFG_INT_OR_NULL, 1),
    SS__CFG(num_labels, SS__CFG_INT, 0),
    SS__CFG(causal, SS__CFG_BOOL, 0),
};
#undef SS__CFG
#define SS__CFG_KEYS ((int)(sizeof ss__cfg_keys / sizeof ss__cfg_keys[0]))

/* Store one member v under key k into cfg (type checks name the key through the JSON helpers). */
SS_PRIVATE ss_result ss__cfg_read(ss_config *cfg, const ss__cfg_key *k, const ss_json *v) {
    char *field = (char *)cfg + k->offset;
    int b;
    ss_result r = SS_OK;
    if (v->type == SS_JSON_NULL) {
        if (k->kind == SS__CFG_INT_OR_NULL) *(int *)(void *)field = 0;
        else if (k->kind == SS__CFG_REAL_OR_NULL) *(double *)(void *)field = -1.0;
        else if (k->kind == SS__CFG_NULL) *(int *)(void *)field = 0;
        else r = ss_json_as_int(v, &b); /* the helper's "expected ..., got null" message */
        return r;
    }
    switch (k->kind) {
    case SS__CFG_INT:
    case SS__CFG_INT_OR_NULL: return ss_json_as_int(v, (int *)(void *)field);
    case SS__CFG_REAL:
    case SS__CFG_REAL_OR_NULL: return ss_json_as_double(v, (double *)(void *)field);
    case SS__CFG_BOOL: return ss_json_as_bool(v, (int *)(void *)field);
    case SS__CFG_STRING: {
        const char *str = "";
        size_t len = 0;
        r = ss_json_as_string(v, &str, &len);
        if (r != SS_OK) return r;
        if (len >= sizeof cfg->attention_backend || strlen(str) != len)
            return ss__fail(SS_ERR_FORMAT, "%s: model.%s (byte %zu): a string of at most %d bytes",
                            v->source, k->key, v->offset, (int)sizeof cfg->attention_backend - 1);
        SS_MEMCPY(field, str, len + 1);
        return SS_OK;
    }
    case SS__CFG_NULL:
        return ss__fail(SS_ERR_FORMAT, "%s: model.%s (byte %zu): only null is supported (the seed "
                        "never uses it)", v->source, k->key, v->offset);
    }
    return r;
}

SS_API ss_result ss_config_from_json(ss_config *cfg, const ss_json *model) {
    unsigned char seen[SS__CFG_KEYS];
    size_t i;
    int k;
    ss_result r;
    SS_MEMSET(cfg, 0, sizeof *cfg);
    SS_MEMSET(seen, 0, sizeof seen);
    cfg->num_labels = 2; /* HF's PretrainedConfig default, which the seed's classifier uses */
    if (!model || model->type != SS_JSON_OBJECT)
        return ss__fail(SS_ERR_FORMAT, "%s: no \"model\" object", model ? model->source : "config");
    for (i = 0; i < ss_json_count(model); i++) {
        const ss_json *v = ss_json_at(model, i);
        for (k = 0; k < SS__CFG_KEYS; k++)
            if (strcmp(v->key, ss__cfg_keys[k].key) == 0) break;
        if (k == SS__CFG_KEYS)
            return ss__fail(SS_ERR_FORMAT, "%s: model.%s (byte %zu): unknown key", v->source,
                            v->key, v->offset);
        r = ss__cfg_read(cfg, &ss__cfg_keys[k], v);
        if (r != SS_OK) return r;
        seen[k] = 1;
    }
    for (k = 0; k < SS__CFG_KEYS; k++)
        if (ss__cfg_keys[k].required && !seen[k])
            return ss__fail(SS_ERR_FORMAT, "%s: model (byte %zu): missing key \"%s\"",
                            model->source, model->offset, ss__cfg_keys[k].key);
    r = ss_config_validate(cfg);
    if (r != SS_OK) { /* name the file too: copy the detail before ss__fail rewrites it */
        char detail[SS__DETAIL_SIZE];
        SS_MEMCPY(detail, ss_last_error_detail(), sizeof detail);
        detail[sizeof detail - 1] = '\0';
        return ss__fail(r, "%s: %s", model->source, detail);
    }
    return SS_OK;
}

SS_API ss_result ss_config_write_json(const ss_config *cfg, ss_json_writer *w) {
    int k;
    ss_json_write_begin_object(w);
    for (k = 0; k < SS__CFG_KEYS; k++) {
        const ss__cfg_key *key = &ss__cfg_keys[k];
        const char *field = (const char *)cfg + key->offset;
        const int iv = key->kind == SS__CFG_REAL || key->kind == SS__CFG_REAL_OR_NULL ||
                               key->kind == SS__CFG_STRING
                           ? 0
                           : *(const int *)(const void *)field;
        ss_json_write_key(w, key->key);
        switch (key->kind) {
        case SS__CFG_INT: ss_json_write_int(w, iv); break;
        case SS__CFG_INT_OR_NULL:
            if (iv == 0) ss_json_write_null(w);
            else ss_json_write_int(w, iv);
            break;
        case SS__CFG_REAL: ss_json_write_number(w, *(const double *)(const void *)field); break;
        case SS__CFG_REAL_OR_NULL: {
            double dv = *(const double *)(const void *)field;
            if (dv < 0.0) ss_json_write_null(w);
            else ss_json_write_number(w, dv);
            break;
        }
        case SS__CFG_BOOL: ss_json_write_bool(w, iv); break;
        case SS__CFG_STRING: ss_json_write_string(w, field); break;
        case SS__CFG_NULL: ss_json_write_null(w); break;
        }
    }
    return ss_json_write_end_object(w);
}

#ifndef SS_NO_STDIO
SS_API ss_result ss_config_load(ss_config *cfg, const char *path) {
    char *text = NULL;
    size_t size = 0;
    ss_json_doc doc;
    ss_result r = ss_file_read(path, &text, &size);
    SS_MEMSET(&doc, 0, sizeof doc);
    if (r == SS_OK) r = ss_json_parse(&doc, text, size, path);
    if (r == SS_OK) {
        const ss_json *root = ss_json_root(&doc), *model = ss_json_get(root, "model");
        if (!model)
            r = ss__fail(SS_ERR_FORMAT, "%s: no \"model\" object at the top level", path);
        else
            r = ss_config_from_json(cfg, model);
    }
    ss_json_doc_free(&doc);
    ss_free(text);
    return r;
}

SS_PRIVATE const char *ss__head_name(ss_head head) {
    return head == SS_HEAD_CLASSIFIER ? "classifier" : head == SS_HEAD_CAUSAL_LM ? "causal_lm" : "mlm";
}

SS_API ss_result ss_model_save(const ss_model *model, const char *path) {
    ss_json_writer w;
    ss_result r;
    const char *meta[6];
    ss_json_writer_init(&w, 0);
    ss_config_write_json(&model->config, &w);
    r = ss_json_writer_finish(&w);
    if (r != SS_OK) {
        ss_json_writer_free(&w);
        return ss__fail(r, "%s: cannot write the config as JSON", path);
    }
    meta[0] = "format", meta[1] = "subspace.h checkpoint 1";
    meta[2] = "config", meta[3] = w.text;
    meta[4] = "head", meta[5] = ss__head_name(model->head);
    r = ss_safetensors_write_params(path, &model->params, meta, 3);
    ss_json_writer_free(&w);
    return r;
}

/* encoder_model.* tensors are the encoder; everything else belongs to a head. */
SS_PRIVATE int ss__is_encoder_tensor(const char *name) {
    return strncmp(name, "encoder_model.", 14) == 0;
}

SS_API ss_result ss_model_load(ss_model *model, const char *path) {
    ss_safetensors st;
    ss_params *p = &model->params;
    int i, j, head_in_model = 0, head_in_file = 0, load_head;
    ss_result r = ss_safetensors_open(&st, path);
    if (r != SS_OK) return r;
    /* 1. Check everything before reading anything. */
    for (i = 0; i < p->count && r == SS_OK; i++) {
        const ss_tensor *t = &p->tensors[i];
        int at = ss_safetensors_find(&st, t->name), same, d;
        if (!ss__is_encoder_tensor(t->name)) {
            head_in_model++;
            head_in_file += at >= 0;
        }
        if (at < 0) {
            if (ss__is_encoder_tensor(t->name))
                r = ss__fail(SS_ERR_NOT_FOUND, "%s: tensor '%s' of the model is not in the file",
                             path, t->name);
            continue;
        }
        same = st.entries[at].ndim == t->ndim;
        for (d = 0; same && d < t->ndim; d++) same = st.entries[at].shape[d] == t->shape[d];
        if (!same)
            r = ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' is (%lld,%lld,...) with %d dims in the "
                         "file, (%d,%d,...) with %d dims in the model", path, t->name,
                         (long long)st.entries[at].shape[0],
                         (long long)(st.entries[at].ndim > 1 ? st.entries[at].shape[1] : 1),
                         st.entries[at].ndim, t->shape[0], t->shape[1], t->ndim);
    }
    for (j = 0; j < st.count && r == SS_OK; j++)
        if (ss__is_encoder_tensor(st.entries[j].name) && ss_params_find(p, st.entries[j].name) < 0)
            r = ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' is not part of this model (another "
                         "architecture?)", path, st.entries[j].name);
    if (r == SS_OK && head_in_file != 0 && head_in_file != head_in_model)
        r = ss__fail(SS_ERR_NOT_FOUND, "%s: the file has %d of the head's %d tensors", path,
                     head_in_file, head_in_model);
    load_head = head_in_file == head_in_model;
    /* 2. Read. */
    for (i = 0; i < p->count && r == SS_OK; i++) {
        const ss_tensor *t = &p->tensors[i];
        if (!ss__is_encoder_tensor(t->name) && !load_head) continue; /* fresh head stays */
        r = ss_safetensors_read_f32(&st, ss_safetensors_find(&st, t->name), ss_params_data(p, i),
                                    t->numel);
    }
    ss_safetensors_close(&st);
    return r;
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
