/* subspace.h 0.3.0 - train, measure and take apart MHA, MLA and MLA-o attention in C99. MIT licence.

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
   | SS_LM_KEEP          | 1024             | implementation TU      | scored rows whose LM probabilities the     |
   |                     |                  |                        | forward keeps for the backward             |
   | SS_SQRTF            | libm             | implementation TU      | the math group; also SS_TANHF, SS_POWF,    |
   |                     |                  |                        | SS_SQRT, SS_LOG, SS_COS, SS_SIN            |
   | SS_EXPF(x)          | built-in         | implementation TU      | scalar float e^x (<= 2 ulp); the softmax,  |
   |                     |                  |                        | sigmoid and cross-entropy loops always use |
   |                     |                  |                        | the built-in one, in vector form           |
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
   8. >>train      AdamW, LR schedules, gradient clipping, MLM masking, data sets (text, TSV, token
                   cache), sampler, padded batches, optimizer state:
                   >>adamw >>schedule >>clip >>masking >>dataset >>sampler >>optimizer state
   9. >>tokenizer  BERT-compatible WordPiece: vocab.txt, basic tokenization with generated Unicode
                   tables, encode (pairs, truncation, padding), decode, a WordPiece vocab trainer
   10. >>json      strict RFC 8259 reader with byte offsets in every error, and a writer
       >>safetensors  reader (header only at open, one tensor at a time; F32/F16/BF16/F8) and writer
       >>shards       sharded checkpoints (model.safetensors.index.json), FP8 block dequantisation
       >>checkpoint   seed config files, model checkpoints as safetensors
   11. >>linalg    double precision: Householder QR, one-sided Jacobi SVD, effective rank,
                   principal angles

   RECENT CHANGES
   ==============
   0.3.3  gradient scratch cleared on all threads, or not at all where its first producer
          writes it (the FFN's dh, da, dg; the attention's dctx); column-split reductions
          narrow their tasks for many threads; SwiGLU, RMSNorm, RoPE and the attention core's
          softmax rows in explicit vector lanes, so plain -O2 builds vectorise them.
   0.3.2  the LM head keeps the probabilities of up to SS_LM_KEEP scored rows for the backward
          instead of computing the logits twice; the GEMM packs op(B) once per product, and
          called from inside a parallel region plans for one thread; e^x sixteen lanes at a
          time under AVX-512F; AdamW in vector lanes.
   0.3.1  a token cache with an offset of -2^63 is refused without signed overflow; the
          bias and RMSNorm-gain gradient sums vectorised (same bits); the AVX-512 GEMM's
          12 x 32 tile as a -D option beside the default 8 x 32.
   0.3.0  the tiled attention core (online softmax, memory linear in T), which the model now
          uses; attention dropout decided by a counter hash (both cores draw the same mask);
          a built-in vectorised e^x for softmax, SiLU and cross-entropy; sections 10 (sharded
          checkpoints, FP8 dequantisation) and 11 (QR, Jacobi SVD, bidiagonal singular values).
   0.2.0  section 8, training: AdamW, LR schedules, gradient clipping, MLM masking, text and TSV
          data sets, a token cache, a sampler, padded batches, AdamW state for exact resume.
   0.1.0  first release: error model, RNG, parameter registry, GEMM core, ops with checked backward,
          MHA/MLA/MLA-o layers and the encoder model with MLM, causal-LM and classifier heads,
          the BERT WordPiece tokenizer and vocabulary trainer,
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
#define SS_VERSION_MINOR 3
#define SS_VERSION_PATCH 3
#define SS_VERSION_STRING "0.3.3"

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

/* "subspace 0.2.0 gemm=builtin-avx2 omp=on": what this build runs on. Static string. */
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
   depend on the thread count. The built-in kernel packs panels on the stack: about 360 KiB per
   calling thread (a thread created with a small stack, e.g. musl's 128 KiB default, needs more).
   Two kinds of product borrow scratch from SS_MALLOC for the length of the call: one with
   more than one block of MC = 288 rows packs op(B) once for all of them (about K*N floats, at
   most 16 MiB), and one with a small C and a long K (M*N <= 294,912 and K >= 2048: the weight
   gradients) is computed in K slices whose partial products take S*M*N floats (S <= 8). When
   either is refused the same operations run without it, slower, with the same bits. So ss_gemm
   never fails, but it is the one place a training step may allocate. */
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
//    A gradient pointer documented "or NULL" is skipped. Kernels never fail and allocate nothing
//    of their own (an ss_gemm product may borrow heap scratch: section 4);
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
     1/(1-p); rng is advanced by one draw, the seed of a hash that decides each (b,h,i,j)
     on its own, so the mask depends neither on the thread count nor on the order of work.
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

/* >>attention tiled  The same attention in linear memory: no (T,T) matrix is kept. Scores are
   formed per (query tile, key tile) in cache and folded into the output by an online softmax
   (Milakov & Gimelshein 2018; the scheme of FlashAttention, Dao et al. 2022); backward forms them
   again from q, k and the per-row log-sum-exp. Memory beyond q, k, v and out: lse (B,H,T).
   Same arguments and meaning as ss_attention_forward, except:
   -> out (B,T,H,Dh); lse (B,H,T) log sum_j exp(S_ij) over visible keys (+inf for a row with no
      visible key); *drop_seed: the seed of the dropout decisions, for backward.
   With the same rng state the dropout decisions equal ss_attention_forward's, so the two cores
   agree within float rounding (different summation order). Dh <= SS_ATT_TILED_DH_MAX.
   Stack: ~100 KiB per thread besides ss_gemm's. */
#define SS_ATT_TILED_DH_MAX 256
SS_API void ss_attention_tiled_forward(float *out, float *lse, uint64_t *drop_seed, const float *q,
                                       const float *k, const float *v, const int *key_mask,
                                       int causal, float dropout_p, ss_rng *rng, int B, int T, int H,
                                       int Dh, int ldq, int ldk, int ldv);
/* dq, dk, dv (strides ldq, ldk, ldv) +=; dout (B,T,H,Dh); q, k, v as given to the forward, out,
   lse, drop_seed from it, key_mask, causal, dropout_p as given to it. Allocates nothing. */
SS_API void ss_attention_tiled_backward(float *dq, float *dk, float *dv, const float *dout,
                                        const float *q, const float *k, const float *v,
                                        const float *out, const float *lse, uint64_t drop_seed,
                                        const int *key_mask, int causal, float dropout_p, int B,
                                        int T, int H, int Dh, int ldq, int ldk, int ldv);

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
    float *att;               /* all (B,H,T,T) softmax probabilities: the full core. NULL: the
                                 tiled core (ss_attention_tiled_*) runs and lse is used instead */
    float *att_drop;          /* all (B,H,T,T) probabilities after dropout; NULL if never used */
    unsigned char *drop_mask; /* all (B,H,T,T) dropout keep mask; NULL if never used */
    float *lse;               /* tiled core: (B,H,T) per-row log-sum-exp */
    uint64_t drop_seed;       /* tiled core: its dropout seed, set by forward */
    const int *key_mask;      /* tiled core: forward's key_mask (B,T) or NULL, which backward
                                 reads again: the caller keeps it alive until then */
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
    float *datt;     /* all (B,H,T,T); the full core only */
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
                         rng is required, and with the full core acts.att_drop, acts.drop_mask */
} ss_attn_dims;

// >>mha ===========================================================================================
/* Multi-head attention (Vaswani et al. 2017) with RoPE, the seed's dense layer:
     qkv = inp @ qkv_proj^T (+ b), split into contiguous chunks q | k | v of H*Dh each;
     q_rot, k_rot = RoPE(q), RoPE(k); ctx = attention(q_rot, k_rot, v); out = ctx @ o_proj^T (+ b)
   inp (B,T,D), key_mask (B,T) or NULL (nonzero = real token, 0 = padding key),
   rng advanced by one draw when d->dropout_p > 0 (may be NULL otherwise),
   w: qkv_proj_weight/bias, o_proj_weight/bias; cos_t, sin_t (P, Dr/2) from ss_rope_tables
   -> out (B,T,D) overwritten; acts: qkv, q_rot, k_rot, ctx, and for the attention core either
      att (att_drop, drop_mask) (the full core) or, with acts->att NULL, lse (the tiled core,
      which also records key_mask and drop_seed in acts: keep key_mask alive until backward).
   Never fails; allocates nothing but ss_gemm's scratch; bad shapes or a missing buffer are
   caught by SS_ASSERT. */
SS_API void ss_mha_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                           ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                           const float *sin_t, const ss_attn_dims *d);
/* dinp (B,T,D) +=; dw: the gradients of w's fields (+=; NULL where w's field is NULL);
   grads: dqkv, dq_rot, dk_rot, dctx, datt (full core only), scratch (overwritten); dout (B,T,D);
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
      q_rot, k_rot, ctx and the core's (as ss_mha_forward). Never fails; allocates nothing but
      ss_gemm's scratch. */
SS_API void ss_mla_forward(float *out, ss_attn_acts *acts, const float *inp, const int *key_mask,
                           ss_rng *rng, const ss_attn_weights *w, const float *cos_t,
                           const float *sin_t, const ss_attn_dims *d);
/* dinp (B,T,D) +=; dw +=; grads: dq_lat, dkv_lat, dq_latn, dkv_latn, dq, dkv, dq_rot, dk_rot,
   dctx, datt (full core only), scratch (overwritten); dout (B,T,D); the rest as given to the
   forward. */
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
   -> out (B,T,D) overwritten; acts as ss_mla_forward plus o_lat. Never fails; allocates
   nothing but ss_gemm's scratch. */
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
   Never fails; allocates nothing but ss_gemm's scratch. */
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
//    another, so forward and backward allocate nothing of their own (their matrix products may
//    borrow ss_gemm scratch, and do without it when refused: section 4).

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
/* Rows of LM probabilities the forward keeps for the backward. When a batch scores at most
   max(SS_LM_KEEP, SS_LM_CHUNK) rows (the seed's 15% of 32 x 128 is about 614), the head computes
   all their logits in one product and the backward starts from the forward's probabilities;
   with more, both go SS_LM_CHUNK rows at a time and the backward computes each chunk's logits
   again. The (rows, V) buffer is the cost: 1024 x 30522 floats = 119 MiB. Implementation TU. */
#ifndef SS_LM_KEEP
#define SS_LM_KEEP 1024
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
    int *key_mask;         /* (B,T) copy of the key mask (the attention backward reads it) */
    int has_key_mask;      /* forward was given one */
    int *targets;          /* LM heads (B,T), classifier (B); copied when given */
    float *labels;         /* regression (num_labels 1) (B), copied when given */
    float *emb_r;          /* vocab_subspace (B,T,Rv) rows of the low-rank table */
    ss_layer_acts *layers; /* (L); layers[0].x holds the embeddings */
    float *h;              /* (B,T,D) the encoder output = layers[L-1].out (no final norm) */
    float *branch;         /* (B,T,D) an attention or FFN output before its residual add */
    float *losses;         /* LM (B,T) per-row loss, 0 where the target is -100; classifier (B) */
    int *lm_rows;          /* LM (B*T) the rows whose target is kept, ascending */
    int lm_cap;            /* LM rows of the five buffers below: max(SS_LM_KEEP, SS_LM_CHUNK),
                              at most B*T */
    int *lm_targets;       /* LM (lm_cap) targets of the current piece of kept rows */
    float *lm_h;           /* LM (lm_cap, D) hidden rows of the current piece */
    float *lm_hp;          /* LM with vocab_subspace (lm_cap, Rv) lm_h @ vocab_proj */
    float *lm_logits;      /* LM (lm_cap, V) logits, then softmax probabilities; backward turns
                              them into their gradient */
    float *lm_loss;        /* LM (lm_cap) losses of the current piece */
    float *cls;            /* classifier (B,D) h at position 0 ([CLS]) */
    float *pool_pre;       /* classifier (B,D) dense output */
    float *pooled;         /* classifier (B,D) tanh(pool_pre) */
    float *pooled_drop;    /* classifier (B,D) after dropout */
    unsigned char *cls_mask; /* classifier (B,D) dropout keep mask */
    float *cls_logits;     /* classifier (B,num_labels) */
    float *cls_probs;      /* classifier (B,num_labels) softmax (num_labels >= 2), with or
                              without targets */
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
    float *dlm_h;          /* LM (lm_cap, D) */
    float *dlm_hp;         /* LM with vocab_subspace (lm_cap, Rv) */
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
     labels unused. Logits are computed only for kept rows: all at once when they are at most
     acts.lm_cap (SS_LM_KEEP), else SS_LM_CHUNK rows at a time.
   Classifier, num_labels >= 2: targets (B) class ids (or -100 to skip an example); cross-entropy.
   Classifier, num_labels == 1: labels (B) float regression targets, MSE against the one logit;
     targets unused.
   targets and labels may be NULL: the encoder (and the classifier's logits) still run, no loss.
   training: nonzero applies dropout (attention probabilities, classifier) from model->rng.
   -> model->acts (h, losses, cls_logits, ...), *stats (may be NULL).
   Never fails; allocates nothing but ss_gemm's scratch; not thread-safe on one model. */
SS_API void ss_model_forward(ss_model *model, ss_model_stats *stats, const int *ids,
                             const int *key_mask, const int *targets, const float *labels, int B,
                             int T, int training);
/* Add the gradient of grad_scale * (the last forward's loss) to every parameter gradient
   (model->dw, i.e. params.grad). grad_scale is 1 for one batch; kept / total_kept spreads one
   mean over several micro-batches. Backward zeroes only its own activation-gradient scratch;
   parameter gradients accumulate (ss_model_zero_grad once per step). Needs a forward with
   targets (or labels) just before, on the same model. Never fails; allocates nothing itself
   (ss_gemm may borrow scratch for its larger products, as documented there). */
SS_API void ss_model_backward(ss_model *model, float grad_scale);

// >>train =========================================================================================
// 8. Training: what a training loop needs around ss_model_forward / ss_model_backward. AdamW, the
//    learning-rate schedule, global-norm gradient clipping, MLM masking (SPEC 2.2), data sets of
//    token sequences read from plain text, WikiText raw files and GLUE TSV files, a binary token
//    cache, a shuffling sampler and padded batches. Gradient accumulation is ss_model_backward's
//    grad_scale (each micro-batch's kept rows over the step's total). Every function here is
//    deterministic: the same inputs give the same bits for any thread count.
//    (The tokenizer and safetensors types come in sections 9 and 10; here they are used by
//    pointer through their struct tags.)

struct ss_tokenizer;
struct ss_safetensors;

/* AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), in the order in which
   torch.optim.AdamW applies it, for every tensor of a registry, with t the 1-based step number:
     p -= lr * weight_decay * p            decoupled decay; skipped for SS_PARAM_NO_DECAY tensors
     m  = beta1 * m + (1 - beta1) * g
     v  = beta2 * v + (1 - beta2) * g^2
     p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
   No decay on biases and RMSNorm gains (the model registers them SS_PARAM_NO_DECAY). The seed's
   HF Trainer decided this with a name filter whose patterns changed between transformers versions,
   so its runs may have decayed the gains; we take the newest filter's choice (SPEC 2.3). */
typedef struct ss_adamw {
    double beta1, beta2, eps, weight_decay;
} ss_adamw;

/* beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0.01 (the seed's values). */
SS_API void ss_adamw_default(ss_adamw *opt);
/* One update of p->param from p->grad with learning rate lr; t >= 1 counts the updates so far
   including this one. Reads and writes p->m and p->v. Never allocates, never fails. */
SS_API void ss_adamw_step(ss_params *p, const ss_adamw *opt, double lr, int64_t t);

/* Learning rate by update number: HF's get_linear_schedule_with_warmup and its cosine sibling.
   Update `step` (0-based: the first update is step 0) uses
     step < warmup:  peak * step / warmup               (so the very first update has lr 0)
     LINEAR:         peak * max(0, total - step) / (total - warmup)
     COSINE:         peak * 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup)))
     CONSTANT:       peak */
typedef enum ss_lr_kind { SS_LR_LINEAR, SS_LR_COSINE, SS_LR_CONSTANT } ss_lr_kind;

typedef struct ss_lr_schedule {
    ss_lr_kind kind;
    double peak;          /* the learning rate after warmup */
    int64_t warmup_steps; /* 0: none */
    int64_t total_steps;  /* updates in the whole run */
} ss_lr_schedule;

SS_API double ss_lr_at(const ss_lr_schedule *s, int64_t step);
/* HF's warmup steps of a warmup ratio: ceil(ratio * total). */
SS_API int64_t ss_warmup_steps(double ratio, int64_t total_steps);

/* L2 norm of every gradient of the registry, accumulated in double over fixed chunks (the same
   bits for any thread count). */
SS_API double ss_grad_norm(const ss_params *p);
/* torch.nn.utils.clip_grad_norm_: when the norm exceeds max_norm, scale every gradient by
   max_norm / (norm + 1e-6). Returns the norm before clipping. A non-finite norm scales nothing
   (the caller should stop: the step would poison the weights). max_norm <= 0: no clipping. */
SS_API double ss_clip_grad_norm(ss_params *p, double max_norm);

/* Masked-LM corruption as HF's DataCollatorForLanguageModeling (SPEC 2.2): each position that
   is real (key_mask nonzero, or key_mask NULL) and not a special id is selected with probability
   `probability`, independently (Bernoulli, not a fixed share per sequence). A selected position
   keeps its original id as target and becomes mask_id with probability mask_ratio, a uniform
   random id in [0, vocab_size) with probability random_ratio (special ids possible, as in HF),
   else stays unchanged. Every other target is SS_IGNORE_INDEX. */
#define SS_MLM_MAX_SPECIAL 8
typedef struct ss_mlm_options {
    double probability;  /* 0.15 */
    double mask_ratio;   /* 0.8 */
    double random_ratio; /* 0.1 */
    int mask_id;
    int vocab_size;      /* random replacements come from [0, vocab_size) */
    int special_ids[SS_MLM_MAX_SPECIAL]; /* never selected ([CLS] [SEP] [PAD] [UNK] [MASK]) */
    int n_special;
} ss_mlm_options;

/* The seed's options for a BERT vocabulary: 0.15, 0.8, 0.1, the tokenizer's five special ids,
   vocab_size = tok->vocab_size (set it to the model's V when that is larger). */
SS_API void ss_mlm_options_default(ss_mlm_options *o, const struct ss_tokenizer *tok);
/* Corrupt n ids in place and write n targets. Returns the number of selected positions.
   The draws depend only on rng and the inputs: two calls from the same rng give the same mask. */
SS_API size_t ss_mlm_mask(const ss_mlm_options *o, ss_rng *rng, int *ids, int *targets,
                          const int *key_mask, size_t n);

/* A data set of token sequences, each [CLS] ... [SEP]: sequence i is
   tokens[offsets[i] .. offsets[i+1]). labels holds one value per sequence for classification
   (a class id, exactly representable) or regression, NULL for pre-training text.
   Caller-owned; zero it or let a reader fill it; ss_dataset_free releases it. */
typedef struct ss_dataset {
    int64_t count;    /* sequences */
    int64_t *offsets; /* (count + 1) owned */
    int32_t *tokens;  /* (offsets[count]) owned */
    float *labels;    /* (count) owned, or NULL */
    int max_len;      /* the longest sequence */
} ss_dataset;

/* Text, one sequence per line as the seed reads WikiText-103 raw (SPEC 2.1): "\n" or "\r\n"
   line ends; lines of only spaces, tabs and "\r" are skipped (the seed kept them as [CLS][SEP],
   which teaches nothing); every other line becomes [CLS] tokens [SEP], truncated to max_len ids
   (>= 3). pack nonzero: instead the lines' tokens are concatenated in order and cut into full
   sequences of max_len ids, [CLS] + max_len-2 tokens + [SEP] (the last one may be shorter), as
   packed causal-LM training wants. source (NULL: "text") names the input in errors. Fails with
   SS_ERR_INVALID (max_len < 3), SS_ERR_FORMAT (no sequence at all: "<source>: no non-empty
   line"), SS_ERR_OVERFLOW or SS_ERR_NOMEM; *ds is then zeroed. */
SS_API ss_result ss_dataset_from_text(ss_dataset *ds, const struct ss_tokenizer *tok, const char *text,
                                      size_t len, const char *source, int max_len, int pack);
/* GLUE-style TSV (SST-2's train.tsv / dev.tsv): a header line naming the columns, then one row
   per line, fields split on every tab (quoting off, as GLUE's files need: quotes are text).
   The "sentence" and "label" columns are required, others are ignored. Every row must have the
   header's field count; the label must be an integer in [0, num_labels) when num_labels >= 2, a
   finite number when num_labels == 1 (regression). A final empty line is allowed, no other.
   The sentence becomes [CLS] tokens [SEP] truncated to max_len. Fails with SS_ERR_FORMAT naming
   source, line and column ("dev.tsv:17: label 'positive' is not an integer in [0, 2)"),
   SS_ERR_INVALID, SS_ERR_OVERFLOW or SS_ERR_NOMEM; *ds is then zeroed. */
SS_API ss_result ss_dataset_from_tsv(ss_dataset *ds, const struct ss_tokenizer *tok, const char *text,
                                     size_t len, const char *source, int max_len, int num_labels);
/* ds = a copy of sequences [first, first + count) of src (the seed's 90% / 10% split of a
   training file is two calls). Fails with SS_ERR_INVALID (range outside src) or SS_ERR_NOMEM. */
SS_API ss_result ss_dataset_slice(ss_dataset *ds, const ss_dataset *src, int64_t first,
                                  int64_t count);
/* Release what a reader allocated; safe on a zeroed struct; leaves it zeroed. */
SS_API void ss_dataset_free(ss_dataset *ds);

/* 64-bit FNV-1a of n bytes continuing from h (start with SS_HASH64_INIT): cache keys. */
#define SS_HASH64_INIT 14695981039346656037ull
SS_API uint64_t ss_hash64(const void *data, size_t n, uint64_t h);

#ifndef SS_NO_STDIO
/* The readers above on a file (read whole; the path names errors). */
SS_API ss_result ss_dataset_read_text(ss_dataset *ds, const struct ss_tokenizer *tok, const char *path,
                                      int max_len, int pack);
SS_API ss_result ss_dataset_read_tsv(ss_dataset *ds, const struct ss_tokenizer *tok, const char *path,
                                     int max_len, int num_labels);
/* The token cache: a little-endian binary file, so a corpus is tokenized once.
     bytes 0-7   "SSTOKS1\n"           magic and format version 1
     8-15        key (uint64)          the caller's fingerprint of what made the data (e.g.
                                       ss_hash64 of the text, the vocabulary and the options)
     16-23       count (int64)
     24-31       tokens (int64)        = offsets[count]
     32-35       max_len (int32)
     36-39       has_labels (int32)    0 or 1
     then offsets (count+1 int64), tokens (int32), labels (count float32) when has_labels,
     then an 8-byte FNV-1a of everything before it.
   Written crash-safe (ss_writer). Load checks every field: a wrong magic, a key that differs
   from `key` (the cache is stale: SS_ERR_NOT_FOUND, so the caller re-tokenizes), a size that
   does not match the file, offsets that decrease or overrun, a negative token, a label that is
   not finite, a bad checksum: SS_ERR_FORMAT naming the file and byte offset. */
SS_API ss_result ss_dataset_save(const ss_dataset *ds, const char *path, uint64_t key);
SS_API ss_result ss_dataset_load(ss_dataset *ds, const char *path, uint64_t key);
#endif

/* Sequences rows[0..B) of ds as one batch padded to its longest sequence T (dynamic padding, as
   HF's collator): ids (B,T) with pad_id after each sequence, key_mask (B,T) 1 real / 0 pad,
   labels (B) or NULL (ignored when ds has none). Buffers hold at least B * ds->max_len. Returns
   T. Rows must be valid indices. */
SS_API int ss_dataset_batch(const ss_dataset *ds, const int64_t *rows, int B, int pad_id,
                            int *ids, int *key_mask, float *labels);

/* Which sequence is the g-th sample of a run: samples are drawn epoch by epoch, each epoch a
   permutation of [0, count) (Fisher-Yates on the stream ss_rng_split(seed, epoch)), or in order
   with shuffle 0. A pure function of (seed, count, g), so a resumed run, or each rank of a
   data-parallel run, finds its rows without replaying the past. */
typedef struct ss_sampler {
    uint64_t seed;
    int64_t count;
    int shuffle;
    int64_t epoch; /* the epoch whose permutation perm holds; -1 before the first */
    int64_t *perm; /* (count) owned */
} ss_sampler;

SS_API ss_result ss_sampler_init(ss_sampler *s, int64_t count, uint64_t seed, int shuffle);
SS_API int64_t ss_sampler_row(ss_sampler *s, int64_t g);
SS_API void ss_sampler_free(ss_sampler *s);

/* Training state beside a model checkpoint: the AdamW moments of every tensor, as a safetensors
   file with tensors "m.<name>" and "v.<name>" plus the caller's metadata pairs (step counts,
   best metric, ...), crash-safe. Load fills p->m and p->v from an open file (every moment
   present with its tensor's shape, else SS_ERR_NOT_FOUND / SS_ERR_FORMAT naming it); read the
   metadata with ss_safetensors_metadata. */
#ifndef SS_NO_STDIO
SS_API ss_result ss_optimizer_save(const ss_params *p, const char *path,
                                   const char *const *metadata, int metadata_pairs);
SS_API ss_result ss_optimizer_load(ss_params *p, struct ss_safetensors *st);
#endif

// >>tokenizer =====================================================================================
// 9. Tokenizer: BERT's uncased WordPiece (load vocab.txt, basic tokenization, encode, decode) and
//    a WordPiece vocabulary trainer.
//
// The pipeline is the one of HuggingFace transformers 4.x `BertTokenizer(vocab_file,
// do_lower_case=True)` (the Python "slow" tokenizer), which gives the ids bert-base-uncased was
// trained with; only this uncased pipeline is offered (no do_lower_case=False). For each text:
//   0. Occurrences of "[PAD]", "[UNK]", "[CLS]", "[SEP]" and "[MASK]" (exact, case-sensitive)
//      become their ids, the text between them is tokenized separately (HF's added-token split;
//      ss_tokenizer.split_special_tokens turns this off).
//   1. Lowercase: Python's str.lower() applied one character at a time, the full mapping
//      (U+0130, capital I with dot above -> "i" + U+0307). Per character, as transformers 4.x does
//      before its BasicTokenizer, so a capital sigma U+03A3 always becomes U+03C3, never the final
//      form U+03C2. With ss_tokenizer.final_sigma set, whole words are lowercased as str.lower()
//      does (a word-final capital sigma -> U+03C2), as Google's original BERT code on Python 3 and
//      transformers 5's BertTokenizerLegacy do.
//   2. Clean: drop NUL, U+FFFD and every control character (general category C*: Cc, Cf, Cn
//      unassigned, Co private use, Cs) except \t \n \r; \t \n \r and category Zs become spaces.
//      U+2028 and U+2029 also separate words (Python's str.split() does), so they act as spaces.
//   3. Put spaces around CJK ideographs (U+4E00-9FFF, 3400-4DBF, 20000-2A6DF, 2A700-2B73F,
//      2B740-2B81F, 2B820-2CEAF, F900-FAFF, 2F800-2FA1F), so each is a word of its own.
//   4. Strip accents: canonical decomposition (NFD, recursive, with canonical reordering, and
//      Hangul syllables into jamo), then drop every nonspacing mark (category Mn).
//   5. Split on whitespace and punctuation: every punctuation character is a word of its own;
//      punctuation is category P* plus the ASCII symbols 33-47, 58-64, 91-96 and 123-126.
//   6. WordPiece each word: greedy longest-match-first from the left, continuations looked up
//      as "##" + piece; a word of more than 100 code points, or one that cannot be covered, is
//      one [UNK].
// HF also NFC-normalizes before step 4; with accent stripping that cannot change the result.
// Invalid UTF-8 never fails: each bad byte reads as U+FFFD, which step 2 drops.
//
// Unicode data come from the generated tables (Unicode 15.0.0, SS_UNICODE_VERSION). HF's
// reference uses the unicodedata of its Python (3.10: 13.0, 3.11: 14.0, 3.12: 15.0,
// 3.13: 15.1), so characters assigned between the two versions can tokenize differently
// (unassigned code points are dropped as controls).
//
// Vocabulary files: UTF-8, one token per line, id = line number - 1, read as Python's text mode
// reads them: lines end in \n, \r\n or \r; the last line may lack its end. Stricter than HF,
// which would load these silently: an empty line, a duplicate token, invalid UTF-8, a NUL byte,
// a byte order mark, an empty file, or a missing [PAD], [UNK], [CLS], [SEP] or [MASK] is
// SS_ERR_FORMAT with a detail "<file>:<line>: <what>".

#define SS_TOKENIZER_MAX_WORD_CHARS 100 /* longer words become [UNK] (HF max_input_chars_per_word) */
#define SS_UNICODE_VERSION "15.0.0"     /* of the generated tables */

/* One slot of the vocabulary's hash index (open addressing, linear probing). */
typedef struct ss__vocab_slot {
    uint32_t hash; /* FNV-1a of the token's bytes */
    int32_t id;    /* -1: empty */
} ss__vocab_slot;

/* A loaded vocabulary and the settings of the pipeline. Caller-owned; zero it, or let
   ss_tokenizer_load / ss_tokenizer_init fill it. Read-only after init, so any number of threads
   may encode and decode with one tokenizer at once. */
typedef struct ss_tokenizer {
    int vocab_size;                            /* V; ids are 0..V-1 */
    int pad_id, unk_id, cls_id, sep_id, mask_id;
    int final_sigma;          /* 0 (default): per-character lowercase, as transformers 4.x; 1: see above */
    int split_special_tokens; /* 0 (default): "[MASK]" in the text is the id of [MASK]; 1: plain text */
    int max_token_bytes;      /* longest token in bytes: longer pieces are never looked up */
    char *text;               /* owned: the tokens, each NUL-terminated, in id order */
    size_t *start;            /* owned: (V+1) offsets into text; token i has start[i+1]-start[i]-1 bytes */
    ss__vocab_slot *slots;    /* points into the block of start: the hash index */
    size_t slot_mask;         /* slots - 1, a power of two minus one */
} ss_tokenizer;

#ifndef SS_NO_STDIO
/* Load a vocab.txt (see above for the format and its checks). Owned: release with
   ss_tokenizer_free. Fails with SS_ERR_IO, SS_ERR_FORMAT ("vocab.txt:17: duplicate token 'the'
   (first on line 5)") or SS_ERR_NOMEM; *tok is then zeroed. */
SS_API ss_result ss_tokenizer_load(ss_tokenizer *tok, const char *path);
/* Write the vocabulary as vocab.txt (one token and "\n" per id), crash-safe (ss_writer). */
SS_API ss_result ss_tokenizer_save(const ss_tokenizer *tok, const char *path);
#endif
/* The same as load, from len bytes of vocab.txt content in memory (copied). source_name (NULL
   gives "vocab") starts every error detail. */
SS_API ss_result ss_tokenizer_init(ss_tokenizer *tok, const char *text, size_t len,
                                   const char *source_name);
/* Release what load/init allocated; safe on a zeroed tokenizer; leaves it zeroed. */
SS_API void ss_tokenizer_free(ss_tokenizer *tok);
/* The id of the token with these len bytes, or -1. */
SS_API int ss_tokenizer_find(const ss_tokenizer *tok, const char *token, size_t len);
/* Token id as a NUL-terminated string. Borrowed: valid until ss_tokenizer_free. */
SS_API const char *ss_tokenizer_token(const ss_tokenizer *tok, int id);

/* Basic tokenization alone (steps 1-5; no vocabulary, no special-token split): calls
   fn(user, word, len, nchars) for each word in order, word pointing at len bytes of UTF-8 (not
   NUL-terminated, valid during the call). A word of more than SS_TOKENIZER_MAX_WORD_CHARS code
   points comes with its first 100 only, and nchars its full length. final_sigma as in
   ss_tokenizer. Allocates nothing; thread-safe. */
SS_API void ss_basic_tokenize(const char *text, size_t len, int final_sigma,
                              void (*fn)(void *user, const char *word, size_t len, int nchars),
                              void *user);

/* Token ids of text (steps 0-6, no [CLS]/[SEP]). Writes the first min(n, cap) ids to ids (NULL
   when cap is 0) and returns n, the full count: call again with a larger buffer when n > cap.
   Never fails and allocates nothing. */
SS_API size_t ss_tokenizer_tokenize(const ss_tokenizer *tok, const char *text, size_t len,
                                    int *ids, size_t cap);

/* How ss_tokenizer_encode shapes a sequence; zero means HF's defaults of BertTokenizer.encode. */
typedef struct ss_encode_options {
    int max_length;        /* > 0: at most this many ids, special tokens included; a pair is cut
                              longest-first (HF's default: tokens come off the end of the longer
                              side, one at a time, the second side when both are as long).
                              0: no limit */
    int pad;               /* nonzero: fill up to max_length with [PAD] (mask 0, type 0) */
    int no_special_tokens; /* nonzero: no [CLS] and [SEP] */
} ss_encode_options;

/* Model input for text, or for the pair (text, pair) when pair is not NULL:
     [CLS] text [SEP]   or   [CLS] text [SEP] pair [SEP]
   ids (cap), type_ids (cap) or NULL (0 for [CLS], text and the first [SEP]; 1 for pair and its
   [SEP]; BERT's segment ids), mask (cap) or NULL (1 real, 0 padding; HF's attention_mask).
   opts NULL means all defaults. Returns the length before padding; when it exceeds cap (no
   max_length, or cap < max_length) only cap entries were written: call again with more room.
   max_length must leave room for the special tokens (>= 2, or 3 for a pair). One deliberate
   difference from HF: where a single sequence would lose every token, HF logs an error and does
   not truncate at all; here the result is [CLS] [SEP]. Never fails; allocates nothing;
   thread-safe. */
SS_API size_t ss_tokenizer_encode(const ss_tokenizer *tok, const ss_encode_options *opts,
                                  const char *text, size_t len, const char *pair, size_t pair_len,
                                  int *ids, int *type_ids, int *mask, size_t cap);

/* B sequences (or pairs) into one contiguous (B,T) batch, T = opts->max_length > 0: every row is
   truncated and padded to T. texts (B) with lens (B) or NULL for NUL-terminated strings; pairs
   (B) or NULL, pair_lens likewise. ids (B,T), type_ids (B,T) or NULL, mask (B,T) or NULL,
   lengths (B) or NULL: each row's length before padding. Rows run in parallel under OpenMP. */
SS_API void ss_tokenizer_encode_batch(const ss_tokenizer *tok, const ss_encode_options *opts,
                                      const char *const *texts, const size_t *lens,
                                      const char *const *pairs, const size_t *pair_lens, int B,
                                      int *ids, int *type_ids, int *mask, int *lengths);

/* Text of n ids, as HF's tokenizer.decode(ids) with clean_up_tokenization_spaces=True: the
   tokens joined by single spaces, every " ##" removed (continuations glued to their word),
   leading and trailing spaces stripped, then the clean-up HF applies in this order:
   " ." -> ".", " ?" -> "?", " !" -> "!", " ," -> ",", " ' " -> "'", " n't" -> "n't",
   " 'm" -> "'m", " 's" -> "'s", " 've" -> "'ve", " 're" -> "'re". Lowercasing and stripped
   accents are not undone. out needs ss_tokenizer_decode_size(tok, ids, n) bytes; the result is
   NUL-terminated and its length returned. Ids must be in [0, V). */
#define SS_DECODE_SKIP_SPECIAL 1u /* leave out [PAD] [UNK] [CLS] [SEP] [MASK] (skip_special_tokens) */
#define SS_DECODE_NO_CLEANUP 2u   /* no clean-up replacements (clean_up_tokenization_spaces=False) */
SS_API size_t ss_tokenizer_decode_size(const ss_tokenizer *tok, const int *ids, size_t n);
SS_API size_t ss_tokenizer_decode(const ss_tokenizer *tok, const int *ids, size_t n,
                                  unsigned flags, char *out);

/* WordPiece vocabulary training, at the level of the documented behaviour of HF tokenizers'
   BertWordPieceTokenizer.train (its WordPieceTrainer, a BPE trainer with "##" continuations):
   1. Words are counted after basic tokenization (steps 1-5); words of more than 100 code points
      are left out (they can only ever be [UNK]).
   2. The alphabet is every character seen, or the limit_alphabet most frequent (ties: lower
      code point first); words with a character outside it are left out.
   3. The vocabulary starts as [PAD] [UNK] [CLS] [SEP] [MASK], the alphabet in code point order,
      then "##c" for every character c seen inside a word (code point order).
   4. Each word is its first character followed by "##" continuation characters. Repeatedly, the
      adjacent pair with the highest count (words weighted by their frequency; ties: the pair
      of lower ids, first then second) is merged everywhere into one token: "ab" from "a" and
      "##b", "##ab" from "##a" and "##b". A merge whose string already exists reuses its id.
   5. Stop at vocab_size tokens, or when the best pair occurs fewer than min_frequency times.
   The result is a function of the multiset of words: the same text, fed in any order and in
   any chunks that split at line ends, gives the same vocab.txt byte for byte. When the special
   tokens and the alphabet alone exceed vocab_size, the vocabulary is that larger size. */
typedef struct ss_vocab_train_options {
    int vocab_size;     /* wanted size, special tokens included (e.g. 30522) */
    int min_frequency;  /* 0 means 2, HF's BertWordPieceTokenizer default */
    int limit_alphabet; /* 0 means 1000, likewise */
    int final_sigma;    /* as in ss_tokenizer */
    /* Called now and then during training (not during feeding): stage "pairs" or "merges",
       done out of total. NULL for none. */
    void (*progress)(void *user, const char *stage, double done, double total);
    void *progress_user;
} ss_vocab_train_options;

/* A growable table of distinct strings with a 64-bit value each (internal to the trainer). */
typedef struct ss__strtab_entry {
    size_t offset;   /* into bytes; the string is NUL-terminated there */
    uint64_t value;  /* the trainer's counts */
    uint32_t length, hash;
} ss__strtab_entry;
typedef struct ss__strtab {
    char *bytes;
    size_t used, capacity;
    ss__strtab_entry *entries;
    size_t count, entries_capacity;
    size_t *slots;   /* entry index + 1, 0 empty; a power of two */
    size_t n_slots;
} ss__strtab;

/* Lifecycle: ss_vocab_trainer_init, ss_vocab_trainer_feed any number of times,
   ss_vocab_trainer_train, ss_vocab_trainer_free. Caller-owned; single-threaded. */
typedef struct ss_vocab_trainer {
    ss_vocab_train_options options;
    ss__strtab words;     /* distinct words and their counts */
    uint64_t total_words; /* words fed, repeats included */
    ss_result status;     /* the first failure of a feed; every later call returns it */
} ss_vocab_trainer;

/* Check the options (vocab_size >= 5, min_frequency and limit_alphabet >= 0: SS_ERR_INVALID)
   and start an empty trainer. */
SS_API ss_result ss_vocab_trainer_init(ss_vocab_trainer *tr, const ss_vocab_train_options *opts);
/* Count the words of len bytes of text. Feed whole lines (a word split across two feeds counts
   as two). Fails with SS_ERR_NOMEM (or SS_ERR_OVERFLOW past 2^32 distinct words), which
   sticks. */
SS_API ss_result ss_vocab_trainer_feed(ss_vocab_trainer *tr, const char *text, size_t len);
/* Learn the vocabulary from everything fed and load it into *out (as ss_tokenizer_init would;
   owned: release with ss_tokenizer_free; save it with ss_tokenizer_save). The trainer stays
   as it was (train again with other options by changing tr->options). SS_ERR_NOMEM, or the
   feed's error. */
SS_API ss_result ss_vocab_trainer_train(ss_vocab_trainer *tr, ss_tokenizer *out);
/* Release everything; safe on a zeroed trainer; leaves it zeroed. */
SS_API void ss_vocab_trainer_free(ss_vocab_trainer *tr);

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

// >>shards ----------------------------------------------------------------------------------------
// Checkpoints of many safetensors files, as Hugging Face publishes large models (DeepSeek-V3/R1,
// Kimi-K2: 163 shards of about 4.3 GB, SPEC 4.2): DIR/model.safetensors.index.json maps every
// tensor name to the shard file that holds it,
//     {"metadata": {"total_size": ...}, "weight_map": {"model.embed_tokens.weight":
//      "model-00001-of-000163.safetensors", ...}}
// and each shard is an ordinary safetensors file. A tensor is read by opening its shard's header
// and seeking to its bytes; nothing else of the shard is read. Weights stored as FP8 E4M3 come
// with a companion F32 tensor "<name>_scale_inv" of one multiplier per 128x128 block (DeepSeek's
// weight_dequant: despite the name, value * scale_inv is the weight).

#ifndef SS_NO_STDIO
/* Read tensor `index` of st as float, dequantising a block-scaled 2-D (M,N) tensor as DeepSeek-V3
   stores its FP8 weights:
       out[i*N + j] = value[i][j] * scale[i / block][j / block]      (in float, as weight_dequant)
   where scale is tensor scale_index of scale_st (st itself or another open file), a float tensor
   (F32 as DeepSeek writes it; BF16, F16, F64 also taken) of shape (ceil(M/block), ceil(N/block)).
   The division is rounded up, so the edge blocks of a dimension that is not a multiple of block
   (kv_a_proj_with_mqa's 576 rows: rows 512..575) get their own scales; the seed's notebook left
   those rows uninitialised (SPEC 4.3). value may be any float dtype. block > 0 (asserted).
   Reads the values into out, then the scales in chunks (a 16 KiB and an 8 KiB stack buffer),
   multiplying each block of out in place: nothing of the tensor's size is allocated. Fails with
   SS_ERR_INVALID (out_numel is not M*N), SS_ERR_FORMAT (the tensor not 2-D, either one not a
   float type, or a scale shape that does not match: naming both tensors, both files and both
   shapes) or SS_ERR_IO as ss_safetensors_read_f32; out is then partly written. One thread at a
   time per file (as every read). */
SS_API ss_result ss_safetensors_read_f32_scaled(ss_safetensors *st, int index,
                                                ss_safetensors *scale_st, int scale_index,
                                                int block, float *out, size_t out_numel);

/* Shard files kept open at once (each holds its parsed header and a FILE). Reading a tensor whose
   shard is not open closes the least recently used one first. At least 2 (a weight and its scale
   may sit in two shards). Set it in every TU: it sizes the struct. */
#ifndef SS_SHARDS_OPEN
#define SS_SHARDS_OPEN 4
#endif
#if SS_SHARDS_OPEN < 2
#error "SS_SHARDS_OPEN must be at least 2: a weight and its scale_inv may sit in two shards"
#endif

/* One tensor of a checkpoint: its name and the shard that holds it. */
typedef struct ss_shards_tensor {
    const char *name; /* borrowed from the ss_shards: valid until ss_shards_close */
    int file;         /* index into ss_shards.files */
} ss_shards_tensor;

/* A checkpoint of one or many safetensors files: DIR/model.safetensors.index.json, or when that
   does not exist a single DIR/model.safetensors (Hugging Face writes no index for one file).
   Open reads the index (or the single file's header) only; a shard's header is read the first
   time one of its tensors is asked for, and at most SS_SHARDS_OPEN shards stay open.
   Caller-owned; zero it or let ss_shards_open fill it. One thread at a time per struct. */
typedef struct ss_shards {
    char *dir;                  /* owned copy of DIR, for messages */
    char *index_path;           /* owned "DIR/model.safetensors.index.json", NULL for one file */
    ss_shards_tensor *tensors;  /* count tensors sorted by name (strcmp), for binary search */
    int count;
    const char **files;         /* n_files shard paths ("DIR/model-00001-of-00002.safetensors") */
    int n_files;
    char *strings;              /* owned: every tensor name and shard path */
    ss_safetensors open[SS_SHARDS_OPEN]; /* open shards; a slot is in use when its .file is set */
    int open_file[SS_SHARDS_OPEN];       /* the files index that slot k holds */
    uint64_t last_used[SS_SHARDS_OPEN];  /* the clock at slot k's last use */
    uint64_t clock;                      /* ticks once per use of a shard */
    long opens;                 /* shard headers read so far (how often the LRU had to reopen) */
} ss_shards;

/* Read the index of the checkpoint in dir and check it: it must be a JSON object whose
   "weight_map" is an object of strings, each a shard file name inside dir (no "/" or "\",
   not "." or "..", not empty). Shard files are not opened (a missing one fails when first
   needed). Without an index, dir/model.safetensors is opened and its tensors listed. Owned:
   release with ss_shards_close (also safe after a failure, which leaves *sh zeroed). Fails with
   SS_ERR_IO (neither file can be opened: the detail names both paths; or a read error),
   SS_ERR_FORMAT (index not JSON, with the parser's line, column and byte offset; no
   "weight_map" object; a value that is not a string; a refused shard name: each naming the
   index file, the tensor and the byte offset; or the single file's header as
   ss_safetensors_open), SS_ERR_OVERFLOW or SS_ERR_NOMEM. */
SS_API ss_result ss_shards_open(ss_shards *sh, const char *dir);
/* Whether the checkpoint lists a tensor called name (binary search; opens nothing). */
SS_API int ss_shards_has(const ss_shards *sh, const char *name);
/* dtype, ndim and shape (outermost first; room for SS_SAFETENSORS_MAX_DIMS, only the first ndim
   written) of the tensor called name; any of the three may be NULL. Opens its shard's header if
   needed. Fails with SS_ERR_NOT_FOUND (no such tensor in the index), SS_ERR_IO (the shard cannot
   be opened or read, naming it and the tensor), SS_ERR_FORMAT (the shard's header is malformed,
   or it lacks a tensor the index puts there: naming the shard, the tensor and the index) or
   SS_ERR_NOMEM. */
SS_API ss_result ss_shards_info(ss_shards *sh, const char *name, ss_dtype *dtype, int *ndim,
                                int64_t *shape);
/* Read the tensor called name as float into out (out_numel must equal its numel). An F8_E4M3 or
   F8_E5M2 tensor whose companion "<name>_scale_inv" is in the index (in any shard) is dequantised
   with 128x128 blocks (ss_safetensors_read_f32_scaled; it must then be 2-D); without a companion
   it is converted as ss_safetensors_read_f32 does, like every other float dtype. Allocates
   nothing beyond opening shard headers. Fails as ss_shards_info, and as the two readers; out is
   then partly written. */
SS_API ss_result ss_shards_read_f32(ss_shards *sh, const char *name, float *out,
                                    size_t out_numel);
/* Close every open shard and free everything; safe on a zeroed struct; leaves it zeroed. */
SS_API void ss_shards_close(ss_shards *sh);
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

// >>linalg ========================================================================================
// 11. Linear algebra for analysis: the Householder QR, the singular value decomposition, the
//     effective rank of a spectrum (SPEC 4.9) and principal angles between subspaces. What the
//     rank studies of SPEC 4.8 to 4.11 run on weight matrices: per-head and stacked singular
//     values, the cumulative-energy rank, truncation (keep the top r columns of U diag(s) and rows
//     of V^T) and fuse-then-truncate. Everything here is double precision, row-major, with the
//     row stride of every input given (lda, ldb). Every function is deterministic: the same
//     inputs give the same bits for any thread count.

/* Householder QR of A (m,n), m >= n >= 1, row stride lda >= n, in place: A = Q R with
     Q = H_0 H_1 ... H_{n-1},  H_k = I - tau[k] v_k v_k^T,  v_k = (0,...,0, 1, A[k+1][k], ...,
     A[m-1][k])  (k zeros, then the implicit 1, then the stored entries below the diagonal).
   After the call R (n,n) is the upper triangle of A (diagonal included) and v_k lies below the
   diagonal of column k; tau (n). A column that is already zero below its diagonal gets tau 0
   (H_k = I). Never allocates; never fails. */
SS_API void ss_qr(double *A, int m, int n, int lda, double *tau);

/* Options of ss_svd; a zeroed struct (or opts NULL) means the defaults. */
typedef struct ss_svd_options {
    int max_sweeps; /* 0: default 60; exceeding it returns SS_ERR_NOT_CONVERGED (never loops
                       forever). A sweep visits every pair of columns once. */
    double tol;     /* 0: default, sqrt(min(m,n)) * DBL_EPSILON, at least 8 * DBL_EPSILON; a
                       pair is converged when |a_i . a_j| <= tol * |a_i| |a_j| */
} ss_svd_options;

/* Doubles of workspace ss_svd needs for an (m,n) matrix and the outputs wanted (want_u: U != NULL,
   want_v: V != NULL). With M = max(m,n) and N = min(m,n): M*N + N*N (+ N*N when the singular
   vectors of the longer side are wanted) + 5N + 2M; 0 when m or n < 1. */
SS_API size_t ss_svd_work_size(int m, int n, int want_u, int want_v);

/* Singular value decomposition A = U diag(s) V^T of A (m,n), row stride lda >= n (A is not
   modified), k = min(m,n):
     s (k)     the singular values, sorted descending, all >= 0;
     U (m,k)   row stride k, orthonormal columns, or NULL when not wanted;
     V (n,k)   row stride k, orthonormal columns, or NULL when not wanted.
   Method: one-sided Jacobi (Hestenes 1958) with the QR preconditioning of Drmac and Veselic
   ("New fast and accurate Jacobi SVD algorithm", 2008). A wide matrix (m < n) is handled through
   its transpose, so let B (M,N), M >= N, be A or A^T. B's rows are sorted by decreasing max-norm
   and B is factored by Householder QR with column pivoting, B P = Q R, so that the rotations
   work on an N x N triangle (for every M >= N, square included: the pivoted R is what makes the
   method accurate for graded matrices). Jacobi then orthogonalises the rows of R (the columns of
   R^T): Z^T R = diag(s) W^T, so B = (Q Z) diag(s) (P W)^T. A pair of rows is rotated unless
   |x_i . x_j| <= tol |x_i| |x_j|; the angle comes from zeta = (|x_j|^2 - |x_i|^2) / (2 x_i . x_j)
   by Rutishauser's formulas (no cancellation), the rotation is applied as x - sin (y + tan(a/2) x)
   (no rounded cosine, so the accumulated Z stays orthogonal to ~1e-15 at N = 1024), and the norms
   are summed afresh from the rotated rows. Once a whole sweep rotates nothing, s are the row
   norms and W the normalised rows. The pairs are visited in round-robin (tournament) order over
   blocks of rows: the block pairs of one round touch disjoint rows and run in parallel under
   OpenMP, each done by one thread in a fixed order, so the bits do not depend on the thread count.
   Z is accumulated only when U of B is wanted; the values-only call gives the same s bit for bit.
   Cost: the QR, then about 10 sweeps of N^2/2 rotations of length N for a random square matrix
   (fewer for graded ones), each 2x dearer with Z; the largest dense calls meant here are 2048^2.
   Accuracy: with this relative convergence test the singular values of a graded matrix (A = B D
   or A = D B, D diagonal, B well-conditioned) come out to high relative accuracy, about
   DBL_EPSILON * cond(B) * min(m,n) each, however small they are against s[0]: no square or product
   of entries is allowed to underflow (tested with values 1e-200 s[0]); values below about 1e-290
   times the largest |entry| are returned as 0 (subnormal range). Any matrix gets each s to about
   DBL_EPSILON * s[0], and |U^T U - I|, |V^T V - I| to a few DBL_EPSILON * sqrt(N).
   work: ss_svd_work_size(m, n, U != NULL, V != NULL) doubles, any content. opts NULL: defaults.
   Returns SS_OK; SS_ERR_INVALID (m or n < 1, lda < n, max_sweeps < 0, tol < 0 or NaN);
   SS_ERR_NONFINITE (NaN or infinity in A, its position in the detail), s, U and V then untouched;
   SS_ERR_NOT_CONVERGED (max_sweeps sweeps all rotated something; s, U, V then hold the last
   iterate, sorted, U orthonormal, V normalised but not quite orthogonal). A zero matrix gives s = 0
   and some orthonormal U and V: the columns of V for exactly zero singular values are completed
   to an orthonormal basis. Thread-safe (no shared state). */
SS_API ss_result ss_svd(const double *A, int m, int n, int lda, double *s, double *U, double *V,
                        double *work, const ss_svd_options *opts);
/* The same, allocating its workspace for the call (SS_ERR_NOMEM when that fails, SS_ERR_OVERFLOW
   when its size does not fit in size_t). */
SS_API ss_result ss_svd_alloc(const double *A, int m, int n, int lda, double *s, double *U,
                              double *V, const ss_svd_options *opts);

/* Doubles of workspace ss_svd_values needs for an (m,n) matrix: with M = max(m,n), N = min(m,n)
   and N' = N rounded up to an odd number of 8s (the padded row stride),
   M*N' + 96 M + 267 N + 8864; 0 when m or n < 1. */
SS_API size_t ss_svd_values_work_size(int m, int n);

/* The singular values of A (m,n), row stride lda >= n (A is not modified): s (min(m,n)), sorted
   descending, all >= 0 - what ss_svd gives without U and V, 10 to 20 times sooner at 1024^2 and
   2048^2 (`ss bench svd` times both against LAPACK's dgesdd).
   Method: B (M,N), M >= N, is A or A^T, scaled by a power of two, its columns sorted by
   decreasing norm and its rows by decreasing max-norm, so that a graded matrix has its large
   entries top left. When M >= 1.6 N, B first goes to the N x N triangle R of its Householder QR
   (blocked). The square matrix that goes on is turned over when its rows are graded much more
   than its columns (see Accuracy). Then two-stage Householder bidiagonalization (Bischof, Lang
   and Sun's successive band reduction): blocked QR and LQ panels of 32 reflections take it to an
   upper band of width 32, nearly all flops in three matrix-product kernels (AVX2 + FMA when
   compiled for it, portable C otherwise), and bulge chasing takes the band to bidiagonal form;
   below 160 columns a one-stage level-2 reduction does it directly. The singular values of the
   bidiagonal come from dqds (Fernando and Parlett 1994) on its squares, which computes each to
   a few ulps of itself; its shifts are lower bounds of the smallest eigenvalue (Kimura's
   generalized Newton bound, or Johnson's bound where that is tighter), so they never overshoot
   but for rounding.
   Cost: 8/3 N^3 + 4 (M-N) N^2 flops for M < 1.6 N, 2 M N^2 + 2 N^3 above, plus about 8 * 32 N^2
   for the band and O(N^2) for dqds. Every product splits into fixed blocks of rows or columns
   under OpenMP (the band and dqds run on one thread), so the bits do not depend on the thread
   count; they do depend on the build (AVX2 or not).
   Accuracy: every value to about DBL_EPSILON * s[0] times a modest factor (backward stable).
   Small values also come out to high relative accuracy, a few hundred DBL_EPSILON of themselves,
   when the matrix is smoothly graded by columns (A = B D, D diagonal, B well-conditioned, the
   columns in any order) or by rows (A = D B): the sorting puts the grading top left, where
   Householder reflections keep each column's error to a multiple of DBL_EPSILON times that
   column, and a matrix graded by rows only is turned over first, since a QR panel without
   column pivoting can lose small rows to large ones (Cox and Higham). That is observed (1e-14
   relative on values 1 .. 1e-12, see tests/test_svd.c; LAPACK's dgesdd gets 1e-6 there), not
   guaranteed as it is for ss_svd's Jacobi method: with a sharp jump in the grading (one column
   in three 1e9 times larger than the rest, say) the small values keep about 7 digits, as with
   any Householder bidiagonalization (LAPACK's dgebrd alike), though still far below
   DBL_EPSILON * s[0] in absolute terms. When the small values of such matrices matter, use
   ss_svd. Values below about 1e-295 of s[0] are not resolved (they may come out as 0).
   work: ss_svd_values_work_size(m, n) doubles, any content. Returns SS_OK; SS_ERR_INVALID (m or
   n < 1, lda < n); SS_ERR_NONFINITE (NaN or infinity in A, its position in the detail), s then
   untouched; SS_ERR_NOT_CONVERGED (dqds used 30 N + 100 transforms, never seen; s then holds the
   current approximations, sorted). Thread-safe (no shared state). */
SS_API ss_result ss_svd_values(const double *A, int m, int n, int lda, double *s, double *work);
/* The same, allocating its workspace for the call (SS_ERR_NOMEM when that fails, SS_ERR_OVERFLOW
   when its size does not fit in size_t). */
SS_API ss_result ss_svd_values_alloc(const double *A, int m, int n, int lda, double *s);

/* Effective rank by cumulative energy (SPEC 4.9): the smallest k (1-based) with
     1 - sum_{j<=k} s_j^2 / sum_j s_j^2 <= eps,
   n when never reached, 0 for an all-zero spectrum (or n = 0). s (n) descending, >= 0. The sums
   are taken in double after scaling by s[0], so no square overflows or underflows to zero unless
   it is negligible. eps = 0.01 is the seed's "1% error" (99% of the energy kept), 0.001 "0.1%". */
SS_API int ss_effective_rank(const double *s, int n, double eps);
/* The fraction of energy lost by keeping the first k values (the seed's get_error_for_rank):
   1 - sum_{j<=k} s_j^2 / sum_j s_j^2, computed as sum_{j>k} s_j^2 / sum_j s_j^2 (no cancellation);
   0 for a zero spectrum; k is clamped to [0, n]. */
SS_API double ss_energy_lost(const double *s, int n, int k);

/* Principal angles between the column spaces of A (m,ka), row stride lda >= ka, and B (m,kb), row
   stride ldb >= kb, ka, kb <= m, each of full column rank (not necessarily orthonormal):
   cosines (min(ka,kb)) of the angles, descending (the smallest angle first), clamped to [0, 1].
   They are the singular values of Qa^T Qb, Qa and Qb the orthonormal bases of ss_qr (a rank-
   deficient input still gives some orthonormal basis containing its columns' span, but then
   which one is not defined). Identical spaces give cosines 1, orthogonal spaces 0. Cosines near 1
   carry absolute error about DBL_EPSILON, so angles below ~1e-8 rad are not resolved by
   acos(cosine). Allocates its workspace. Fails with SS_ERR_INVALID (a size < 1, ka or kb > m, a
   stride too small), SS_ERR_NONFINITE (NaN or infinity in A or B), SS_ERR_NOMEM, SS_ERR_OVERFLOW,
   or as ss_svd. */
SS_API ss_result ss_principal_angles(const double *A, int lda, const double *B, int ldb, int m,
                                     int ka, int kb, double *cosines);

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
#define SS_EXPF(x) ss__expf(x) /* below: libm's expf would stop the loops from vectorising */
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

/* SS__FP_EXACT, first in a function body: its floating-point steps as written, never fused into
   multiply-adds. GCC in ISO C mode does not fuse; clang does unless told, and the scalar code
   that has vector lanes beside it must compute what the lanes compute (the same bits). */
#if defined(__clang__)
#define SS__FP_EXACT _Pragma("clang fp contract(off)")
#else
#define SS__FP_EXACT
#endif

/* e^x in float, within 2 ulp of the exact value (tests/test_core.c sweeps it), with no branch,
   call or table, so that the softmax, sigmoid and cross-entropy loops around it vectorise.
   x = n ln2 + r with n = round(x / ln2) and |r| <= ln2/2 (Cody & Waite: ln2 in two parts, the
   first with trailing zero bits so n * ln2_hi is exact); e^r by its Taylor polynomial to r^7
   (truncation error < 1.3e-9 relative); times 2^n, built in two halves so that n in [-150,128]
   needs no special case: the product rounds to a subnormal, 0 or inf as IEEE would. x below
   -104 gives exactly 0 (so exp(-inf) = 0, as softmax's masked entries need), NaN gives NaN. */
SS_PRIVATE float ss__expf(float x) {
    SS__FP_EXACT /* the steps as written, as the vector lanes compute them */
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float xc = x < -104.0f ? -104.0f : x > 89.0f ? 89.0f : x, t, nf, r, p;
    uint32_t tb, b1, b2;
    int32_t n, n1;
    float s1, s2;
    t = xc * 1.44269504088896341f + shifter;
    nf = t - shifter;                                 /* round(x / ln2), as a float */
    SS_MEMCPY(&tb, &t, sizeof tb);                    /* ... and as the low bits of t */
    n = (int32_t)(tb - UINT32_C(0x4B400000));         /* two's complement: n in [-150, 129] */
    r = (xc - nf * 0.693145751953125f) - nf * 1.42860682030941723212e-6f;
    p = 1.0f + r * (1.0f + r * (0.5f + r * (1.66666667e-1f + r * (4.16666667e-2f +
        r * (8.33333333e-3f + r * (1.38888889e-3f + r * 1.98412698e-4f))))));
    n1 = n / 2;
    b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n - n1 + 127) << 23;
    SS_MEMCPY(&s1, &b1, sizeof s1);
    SS_MEMCPY(&s2, &b2, sizeof s2);
    p = p * s1 * s2;
    return x < -104.0f ? 0.0f : x != x ? x : p;
}

/* Float vectors for the loops that compilers leave scalar (e^x, whose integer steps they do not
   see through; AdamW, whose sqrtf they must keep scalar for errno): SS__VW lanes, sixteen under
   AVX-512F and eight under AVX2, each loop written once over the operations below. The lanes
   compute what the scalar code computes, operation for operation and without FMA, so they give
   its bits. SS__VW is undefined in builds with neither: the scalar code runs alone. */
#if defined(__AVX512F__)
#include <immintrin.h>
#define SS__VW 16
typedef __m512 ss__vf;
typedef __m512i ss__vi;
#define SS__VSET1(x) _mm512_set1_ps(x)
#define SS__VISET1(x) _mm512_set1_epi32(x)
#define SS__VLOAD(p) _mm512_loadu_ps(p)
#define SS__VSTORE(p, v) _mm512_storeu_ps(p, v)
#define SS__V_(op) _mm512_##op
#define SS__V_TO_I(v) _mm512_castps_si512(v)
#define SS__VI_TO_V(v) _mm512_castsi512_ps(v)
/* min, max and the shifts in their zero-masking form with every lane on: the same instructions,
   but GCC 12's plain forms trip -Wmaybe-uninitialized in C++ (their _mm512_undefined source) */
#define SS__VMIN(a, b) _mm512_maskz_min_ps((__mmask16)0xFFFF, a, b)
#define SS__VMAX(a, b) _mm512_maskz_max_ps((__mmask16)0xFFFF, a, b)
#define SS__VI_SRAI(a, k) _mm512_maskz_srai_epi32((__mmask16)0xFFFF, a, k)
#define SS__VI_SRLI(a, k) _mm512_maskz_srli_epi32((__mmask16)0xFFFF, a, k)
#define SS__VI_SLLI(a, k) _mm512_maskz_slli_epi32((__mmask16)0xFFFF, a, k)
#define SS__VSQRT(a) _mm512_maskz_sqrt_ps((__mmask16)0xFFFF, a)
/* x where c != 0 (NaN included, as C's c != 0.0f), 0 where c == 0 */
#define SS__VNZ_OR0(c, x) \
    _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(c, _mm512_setzero_ps(), _CMP_NEQ_UQ), x)
/* p where v >= lo, 0 where v < lo (below -104), v where v is NaN */
#define SS__EXPV_FIXUP(p, v, lo)                                                                   \
    _mm512_mask_mov_ps(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, lo, _CMP_NLT_UQ), p),             \
                       _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v)
#elif defined(__AVX2__)
#include <immintrin.h>
#define SS__VW 8
typedef __m256 ss__vf;
typedef __m256i ss__vi;
#define SS__VSET1(x) _mm256_set1_ps(x)
#define SS__VISET1(x) _mm256_set1_epi32(x)
#define SS__VLOAD(p) _mm256_loadu_ps(p)
#define SS__VSTORE(p, v) _mm256_storeu_ps(p, v)
#define SS__V_(op) _mm256_##op
#define SS__V_TO_I(v) _mm256_castps_si256(v)
#define SS__VI_TO_V(v) _mm256_castsi256_ps(v)
#define SS__VMIN(a, b) _mm256_min_ps(a, b)
#define SS__VMAX(a, b) _mm256_max_ps(a, b)
#define SS__VI_SRAI(a, k) _mm256_srai_epi32(a, k)
#define SS__VI_SRLI(a, k) _mm256_srli_epi32(a, k)
#define SS__VI_SLLI(a, k) _mm256_slli_epi32(a, k)
#define SS__VSQRT(a) _mm256_sqrt_ps(a)
#define SS__VNZ_OR0(c, x) _mm256_and_ps(_mm256_cmp_ps(c, _mm256_setzero_ps(), _CMP_NEQ_UQ), x)
#define SS__EXPV_FIXUP(p, v, lo)                                                                   \
    _mm256_blendv_ps(_mm256_andnot_ps(_mm256_cmp_ps(v, lo, _CMP_LT_OQ), p), v,                     \
                     _mm256_cmp_ps(v, v, _CMP_UNORD_Q))
#endif

/* y[j] = e^(x[j] - shift) for j < n; y may be x. The hot loops (softmax rows, the sigmoid of
   SwiGLU, cross-entropy over the vocabulary) go through here: ss__expf's steps on SS__VW lanes at
   a time (ss__exp_vec), so a lane gives ss__expf's bits (GCC in ISO C mode and clang; a compiler
   told to fuse the scalar products may move the tail by an ulp); the tail through ss__expf. */
#ifdef SS__VW
#if defined(__GNUC__) || defined(__clang__)
#define SS__VINLINE __inline__ __attribute__((always_inline)) /* into each loop that uses it */
#else
#define SS__VINLINE
#endif
/* ss__expf on every lane of v, step for step (see there). */
SS_PRIVATE SS__VINLINE ss__vf ss__exp_vec(ss__vf v) {
    const ss__vf lo = SS__VSET1(-104.0f), shifter = SS__VSET1(12582912.0f);
    const ss__vi bias = SS__VISET1(127);
    const ss__vf xc = SS__VMIN(SS__VMAX(v, lo), SS__VSET1(89.0f));
    const ss__vf t = SS__V_(add_ps)(SS__V_(mul_ps)(xc, SS__VSET1(1.44269504088896341f)),
                                         shifter);
    const ss__vf nf = SS__V_(sub_ps)(t, shifter);
    /* n = round(x / ln2) as an integer, split n = n1 + (n - n1) with n1 = n / 2 (to zero) */
    const ss__vi n = SS__V_(sub_epi32)(SS__V_TO_I(t), SS__VISET1(0x4B400000));
    const ss__vi n1 = SS__VI_SRAI(SS__V_(add_epi32)(n, SS__VI_SRLI(n, 31)), 1);
    const ss__vf s1 = SS__VI_TO_V(SS__VI_SLLI(SS__V_(add_epi32)(n1, bias), 23));
    const ss__vf s2 = SS__VI_TO_V(
        SS__VI_SLLI(SS__V_(add_epi32)(SS__V_(sub_epi32)(n, n1), bias), 23));
    const ss__vf r = SS__V_(sub_ps)(
        SS__V_(sub_ps)(xc, SS__V_(mul_ps)(nf, SS__VSET1(0.693145751953125f))),
        SS__V_(mul_ps)(nf, SS__VSET1(1.42860682030941723212e-6f)));
    ss__vf p = SS__VSET1(1.98412698e-4f); /* Horner, from r^7's coefficient down */
#define SS__EXP_HORNER(c) p = SS__V_(add_ps)(SS__VSET1(c), SS__V_(mul_ps)(r, p))
    SS__EXP_HORNER(1.38888889e-3f);
    SS__EXP_HORNER(8.33333333e-3f);
    SS__EXP_HORNER(4.16666667e-2f);
    SS__EXP_HORNER(1.66666667e-1f);
    SS__EXP_HORNER(0.5f);
    SS__EXP_HORNER(1.0f);
    SS__EXP_HORNER(1.0f);
#undef SS__EXP_HORNER
    p = SS__V_(mul_ps)(SS__V_(mul_ps)(p, s1), s2);
    return SS__EXPV_FIXUP(p, v, lo);
}
#endif

SS_PRIVATE void ss__exp_shift(float *y, const float *x, float shift, int n) {
    int j = 0;
#ifdef SS__VW
    const ss__vf vshift = SS__VSET1(shift);
    for (; j + SS__VW <= n; j += SS__VW)
        SS__VSTORE(y + j, ss__exp_vec(SS__V_(sub_ps)(SS__VLOAD(x + j), vshift)));
#endif
    for (; j < n; j++) y[j] = ss__expf(x[j] - shift);
}

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

/* Set n floats to 0: gradient scratch before a backward adds into it, and the parameter
   gradients before each update, about 0.5 GB per training update of the seed's models. Spans of
   more than one chunk are cleared by all threads: one thread's memset reaches a fraction of the
   memory bandwidth, and on 16 threads the serial clears took a fifth of the update. */
#define SS__ZERO_CHUNK 65536 /* floats per task: 256 KiB */
SS_PRIVATE void ss__zero(float *p, size_t n) {
    long c, nc = (long)((n + SS__ZERO_CHUNK - 1) / SS__ZERO_CHUNK);
    if (!p) return;
    SS__OMP(parallel for schedule(static) if(nc > 1))
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * SS__ZERO_CHUNK;
        SS_MEMSET(p + i0, 0, (n - i0 < SS__ZERO_CHUNK ? n - i0 : SS__ZERO_CHUNK) * sizeof(float));
    }
}

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

/* UTF-8, as RFC 3629 defines it: shared by the JSON reader and the tokenizer. */
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

/* The next code point of untrusted text, advancing *p: a byte that does not start a well-formed
   sequence reads as U+FFFD and only that byte is consumed (so no valid character after it is
   lost; BERT's clean-up drops U+FFFD anyway). */
SS_PRIVATE uint32_t ss__utf8_next(const unsigned char **p, const unsigned char *end) {
    uint32_t cp;
    size_t len = ss__utf8_decode(*p, (size_t)(end - *p), &cp);
    *p += len ? len : 1;
    return len ? cp : 0xFFFD;
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
    uintptr_t addr;
    float *base;
    SS_ASSERT(memory && !p->memory); /* before any arithmetic on memory */
    addr = (uintptr_t)memory;
    base = (float *)(void *)((char *)memory + ((64 - addr % 64) % 64));
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
    ss__zero(p->grad, p->numel);
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

/* ---- ss__gemm_blocked: the built-in single-precision GEMM -------------------------------------

   C = alpha*op(A)*op(B) + beta*C, all row-major, op(X) = X or X^T.

   The scheme follows Goto and van de Geijn, "Anatomy of high-performance matrix multiplication"
   (ACM TOMS, 2008): copy ("pack") small blocks of A and B into buffers laid out exactly as a
   register-blocked micro-kernel reads them, and size the blocks so that each one stays in the
   cache level where it is reused.

   C is cut into output TILES of at most MC rows and NC columns. One thread computes a tile from
   start to finish:

     for p0 = 0, KC, 2*KC, ... < K                        the K blocks, always in this order
       pack op(A)[tile rows][p0 : p0+KC]  -> abuf         "A block", MC x KC, kept in L2
       for each NB-wide column chunk jc of the tile
         pack op(B)[p0 : p0+KC][chunk]    -> bbuf         NB/NR "B micro-panels" of KC x NR
         for each NR-wide micro-panel jr of the chunk     (its 16 KiB stay in L1)
           for each MR-high row strip ir of the tile      (A strips stream in from L2)
             micro-kernel: C[ir:ir+MR][jr:jr+NR]  (+)=  A strip (MR x KC) * B panel (KC x NR)

   Packed layout: an A micro-panel stores, for k = 0, 1, ..., the MR values op(A)[ir+r][p0+k]
   side by side; a B micro-panel stores, for each k, the NR values op(B)[p0+k][jr+c]. The kernel
   thus reads both operands as two contiguous streams, whatever the transposes were. Rows past
   M and columns past N are packed as zeros, so the kernel always computes a full MR x NR block;
   a block that sticks out of C goes through a small buffer.

   Micro-kernel: MR x NR accumulators held in vector registers. Per k it loads NR floats of B
   (two vectors), broadcasts each of the MR floats of A and does 2*MR fused multiply-adds. After
   its K block it writes C = alpha*acc + beta*C on the first block (not reading C when beta is
   0) and C = alpha*acc + C on the later ones, so beta is applied exactly once.

   Threads and determinism. The tiles are distributed over OpenMP threads (dynamic schedule,
   one tile at a time); no sum is ever shared between threads. Every element of C is produced
   by the same operations in the same order wherever it sits: one FMA chain over k = p0 ..
   p0+kc-1 per K block starting from zero, then one write-back per block, blocks in increasing
   order; a block at the edge of C runs the same kernel function on a buffer. (A small C with a
   long K is cut into K slices whose partial products are then added in a fixed order; the
   slices follow from the shape alone: see ss__gemm_run_sliced.) So the result does not depend
   on the tile grid at all, and hence not on the number of threads either. That lets the grid follow the thread count: one thread gets the largest
   tiles (each operand packed the fewest times), T threads get at least 2T tiles.
   tests/test_gemm.c checks both facts bit for bit (1, 2 and 3 threads; arbitrary grids).

   A product with several row blocks would pack each B micro-panel once per row block; it
   packs op(B) whole instead, once, before the tiles start (ss__gemm_run), and the tiles skip
   their "pack op(B)" step. The micro-kernel sees the same panels either way.

   Memory: each call of ss__gemm_tile holds its buffers on its own stack, 356 KiB in all (see
   the block sizes below), so any number of threads may call this at once. Two heap buffers
   may be borrowed for the length of a call: op(B) packed whole (at most 16 MiB, only with
   several row blocks) and the partial products of K slices (ss__gemm_run_sliced: a C of at
   most one tile with a long K). When either cannot be had, the same operations run without
   it (the tiles pack their own B; the slices go through the stack), more slowly.
   ------------------------------------------------------------------------------------------- */

#if defined(__cplusplus) || !defined(__STDC_VERSION__) || __STDC_VERSION__ < 199901L
#define SS__GEMM_RESTRICT
#else
#define SS__GEMM_RESTRICT restrict
#endif

/* The micro-kernel stays out of line: inlined into the tile loops, compilers run short of the
   16 vector registers of AVX2 and spill accumulators to the stack (measured 40% slower). */
#if defined(__GNUC__) || defined(__clang__)
#define SS__GEMM_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define SS__GEMM_NOINLINE __declspec(noinline)
#else
#define SS__GEMM_NOINLINE
#endif

/* Register tile MR x NR, per instruction set.

   AVX2 + FMA, 6 x 16: 12 accumulators (6 rows x 2 vectors of 8 floats) + 2 vectors of B + 1
   broadcast of A = 15 of the 16 ymm registers. Zen 3 has two FMA pipes with a latency of 4
   cycles, so at least 2*4 = 8 independent accumulators are needed to keep both busy; 12 leaves
   slack. Per k: 2 loads + 6 broadcast-loads (Zen 3 does up to 3 loads a cycle) feed 12 FMAs (6
   cycles), so the kernel is FMA-bound; it measures ~100% of peak on packed data in L1/L2. NR =
   16 divides the model widths (256, 768, 1024); rows waste at most 5 of M.
   AVX-512F, 8 x 32: 16 accumulators (8 rows x 2 zmm of 16 floats), 19 of the 32 zmm
   registers; the same kernel code as AVX2 with wider vectors. 12 x 32 (24 accumulators, 27
   registers; -DSS__GEMM_MR=12) was tried against it on 2026-11-29. On a Zen 4 (AVX-512 in two
   256-bit halves) 8 x 32 was 2% faster on the 15 training products, 15-25% faster on the
   attention core's 64-row tile products (which 12 rows do not divide) and 2-3% faster on the
   whole training update. On the 16-core Xeon device machine 12 x 32 measured 122-130 GFLOP/s
   geometric mean on one thread in three runs and 8 x 32 72-123, a spread that is that
   shared machine's noise more than either kernel (docs/data/gemm_avx512_tune_20261129.txt).
   Both are tested wherever the CPU has AVX-512 (tests/run.sh).
   Portable C, 4 x 8: four rows of eight floats, which compilers can keep in SSE/NEON registers
   when they vectorise the inner loop. */
#if defined(__AVX512F__)
#include <immintrin.h>
#ifndef SS__GEMM_MR /* 8, or 12 with -D for tuning experiments */
#define SS__GEMM_MR 8
#endif
#define SS__GEMM_NR 32
#define SS__GEMM_VLEN 16
typedef __m512 ss__gemm_vec;
#define SS__GEMM_VZERO() _mm512_setzero_ps()
#define SS__GEMM_VLOAD(p) _mm512_loadu_ps(p)
#define SS__GEMM_VSTORE(p, v) _mm512_storeu_ps(p, v)
#define SS__GEMM_VSET1(x) _mm512_set1_ps(x)
#define SS__GEMM_VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SS__GEMM_VMUL(a, b) _mm512_mul_ps(a, b)
#if SS__GEMM_MR == 12
#define SS__GEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#else
#define SS__GEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#endif
#define SS__GEMM_SIMD 1
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SS__GEMM_MR 6
#define SS__GEMM_NR 16
#define SS__GEMM_VLEN 8
typedef __m256 ss__gemm_vec;
#define SS__GEMM_VZERO() _mm256_setzero_ps()
#define SS__GEMM_VLOAD(p) _mm256_loadu_ps(p)
#define SS__GEMM_VSTORE(p, v) _mm256_storeu_ps(p, v)
#define SS__GEMM_VSET1(x) _mm256_set1_ps(x)
#define SS__GEMM_VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SS__GEMM_VMUL(a, b) _mm256_mul_ps(a, b)
#define SS__GEMM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define SS__GEMM_SIMD 1
#else
#define SS__GEMM_MR 4
#define SS__GEMM_NR 8
#define SS__GEMM_SIMD 0
#endif

/* Cache blocking (the numbers are for Zen 3: 32 KiB L1d and 512 KiB L2 per core, measured
   against alternatives there; on the Xeon device machine, 48 KiB L1d and 2 MiB L2, KC 128 to
   384 and MC 288 to 576 measured no better within its noise).
   KC = 256: a B micro-panel is KC*NR*4 bytes = 16 KiB, half of L1, so it stays there while
     the A strips stream past. K = 256 (the model width) is a single block, and a K block of
     256 FMAs per element makes the write-back of C cheap.
   MC = 288: the A block is MC*KC*4 = 288 KiB of the 512 KiB L2. A bigger MC means fewer
     row blocks, and B is packed again for every row block; 288 measured better than 192 and
     as good as 336 (a multiple of 6, 8 and 12, the SIMD MRs).
   NB = 64: B is packed 64 columns (four AVX2 micro-panels) at a time, so that each row of B
     is read in runs of 256 bytes rather than 64; 64 KiB of buffer, which lives in L2.
   NC = 1024: the widest tile. It costs no buffer; it bounds the part of C a tile sweeps.
   PAD = 16 floats (one cache line) between micro-panels, so that the packers' writes into
     neighbouring micro-panels do not all fall into the same L1 set (micro-panels are 6 and
     16 KiB apart, multiples of the 4 KiB set stride).
   Stack per ss__gemm_tile call, in floats (+16 each for 64-byte alignment):
     abuf MC/MR*(MR*KC+PAD) = 74496, bbuf NB/NR*(NR*KC+PAD) = 16448, cbuf MR*NR = 96
     -> 364 KB = 356 KiB with AVX2; 356 KiB with AVX-512 and 357 KiB portable likewise. */
#ifndef SS__GEMM_KC /* the blocking can be set with -D for tuning experiments */
#define SS__GEMM_KC 256
#endif
#ifndef SS__GEMM_MC
#define SS__GEMM_MC 288
#endif
#ifndef SS__GEMM_NB
#define SS__GEMM_NB 64
#endif
#define SS__GEMM_NC 1024
#define SS__GEMM_PAD 16
#define SS__GEMM_APANEL(kc) ((size_t)SS__GEMM_MR * (size_t)(kc) + SS__GEMM_PAD) /* floats */
#define SS__GEMM_BPANEL(kc) ((size_t)SS__GEMM_NR * (size_t)(kc) + SS__GEMM_PAD)

/* The packers prefetch the source rows this far ahead (into L2): rows of A and B that are
   kilobytes apart defeat the hardware prefetchers. */
#if SS__GEMM_SIMD
#define SS__GEMM_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T1)
#else
#define SS__GEMM_PREFETCH(p) ((void)(p))
#endif
#define SS__GEMM_PF_ROWS 32

/* Tiles for T > 1 threads: the grid is refined until it has at least T tiles, and a multiple
   of T if it has fewer than 8T (so the last round of the dynamic schedule is full; T equal
   tiles beat 2T smaller ones, which pack the operands twice as often: 256x256x4096 TN on two
   threads runs ~10% faster on a 2x1 grid than on 2x2), but tiles
   stay at least MC_MIN x NC_MIN: smaller ones would pack the same operands too many times.
   Products below PAR_WORK multiply-adds stay on the calling thread. */
#define SS__GEMM_MC_MIN 48
#define SS__GEMM_NC_MIN 64
#define SS__GEMM_PAR_WORK 262144.0

/* Everything a tile needs to know about the product. */
typedef struct ss__gemm_job {
    int transA, transB, M, N, K;
    float alpha, beta;
    const float *A;
    const float *B;
    float *C;
    int lda, ldb, ldc;
} ss__gemm_job;

/* The first 64-byte aligned float at or after p (every buffer carries 16 floats of slack). */
SS_PRIVATE float *ss__gemm_align64(float *p) {
    size_t misalign = (size_t)p & 63u;
    return misalign ? p + (64u - misalign) / sizeof(float) : p;
}

#if SS__GEMM_SIMD
/* dst[k*ldd + r] = src[r*lds + k] for r < nrows (1 to 8) and k < kc8 (a multiple of 8): the
   transposing copy behind both packers. Eight k at a time, the nrows source rows (plus zero
   rows up to 8) are loaded as an 8x8 block and transposed in registers: interleave pairs of
   rows (unpack), then pairs of pairs (shuffle), then swap 128-bit halves (permute2f128).
   Each result column is stored as 8 floats in increasing k; with nrows < 8, its 8 - nrows
   extra floats (zeros) run into the next row of dst and are overwritten by the next store, and
   the very last store's land in row kc8, which the caller writes afterwards or keeps as
   padding (or, for the last rows of a 12-row panel, in the first row of the next k, which the
   caller fills afterwards: see ss__gemm_pack_a).
   If next is not NULL, the nrows rows starting there (the caller's next micro-panel) are
   prefetched along the way, one cache line per row every 16 k. */
SS_PRIVATE void ss__gemm_transpose(const float *src, int lds, int nrows, int kc8,
                                   float *SS__GEMM_RESTRICT dst, int ldd, const float *next) {
    const __m256 zero = _mm256_setzero_ps();
    const float *s[8];
    int k, r;
    for (r = 0; r < 8; r++) s[r] = src + (size_t)(r < nrows ? r : 0) * lds; /* read if r < nrows */
    for (k = 0; k < kc8; k += 8) {
        __m256 r0, r1, r2, r3, r4, r5, r6, r7, t0, t1, t2, t3, t4, t5, t6, t7;
        __m256 u0, u1, u2, u3, u4, u5, u6, u7;
        float *d = dst + (size_t)k * ldd;
        if (next && k % 16 == 0)
            for (r = 0; r < nrows; r++) SS__GEMM_PREFETCH(next + (size_t)r * lds + k);
        r0 = _mm256_loadu_ps(s[0] + k);
        r1 = nrows > 1 ? _mm256_loadu_ps(s[1] + k) : zero;
        r2 = nrows > 2 ? _mm256_loadu_ps(s[2] + k) : zero;
        r3 = nrows > 3 ? _mm256_loadu_ps(s[3] + k) : zero;
        r4 = nrows > 4 ? _mm256_loadu_ps(s[4] + k) : zero;
        r5 = nrows > 5 ? _mm256_loadu_ps(s[5] + k) : zero;
        r6 = nrows > 6 ? _mm256_loadu_ps(s[6] + k) : zero;
        r7 = nrows > 7 ? _mm256_loadu_ps(s[7] + k) : zero;
        /* rows a..h: t0 = a0 b0 a1 b1 | a4 b4 a5 b5, t1 = a2 b2 a3 b3 | a6 b6 a7 b7, ... */
        t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        /* u0 = a0 b0 c0 d0 | a4 b4 c4 d4, u4 = e0 f0 g0 h0 | e4 f4 g4 h4, ... */
        u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        /* column j: the low (j < 4) or high (j >= 4) halves of u(j%4) and u(j%4 + 4) */
        _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
}
#endif

/* Pack rows [i0, i1) x columns [p0, p0+kc) of op(A) into the A block: micro-panel q (at
   dst + q*APANEL(kc)) holds op(A)[i0 + q*MR + r][p0 + k] at [k*MR + r], with the rows of the
   last micro-panel that lie past i1 set to zero. */
SS_PRIVATE void ss__gemm_pack_a(const ss__gemm_job *g, int i0, int i1, int p0, int kc,
                                float *SS__GEMM_RESTRICT dst) {
    int k, r, i, u;
    if (g->transA) {
        /* op(A)[i][p] = A[p][i]: row p0+k of A holds this k's values for the whole block side
           by side. Read four rows at a time and fill each micro-panel's four slots in turn, so
           the writes go to one micro-panel at a time instead of to all of them for every k. */
        const size_t lda = (size_t)g->lda;
        int ifull = i0 + (i1 - i0) / SS__GEMM_MR * SS__GEMM_MR; /* end of the full panels */
        for (k = 0; k < kc; k += 4) {
            const float *src = g->A + (size_t)(p0 + k) * lda;
            float *d = dst + (size_t)k * SS__GEMM_MR;
            int kn = kc - k < 4 ? kc - k : 4;
            if (p0 + k + SS__GEMM_PF_ROWS + kn <= g->K)
                for (u = 0; u < kn; u++)
                    for (i = i0; i < i1; i += 16)
                        SS__GEMM_PREFETCH(src + (SS__GEMM_PF_ROWS + u) * lda + i);
            for (i = i0; i < ifull; i += SS__GEMM_MR, d += SS__GEMM_APANEL(kc)) {
                if (kn == 4 && SS__GEMM_MR < 8 && i + 8 <= g->M) {
                    /* MR = 6: one 8-float move per slot instead of a 4- and a 2-float one. The
                       2 extra floats land in the next slot, written right after; the last ones
                       in the next group's first slot, or in the padding after the panel. */
                    SS_MEMCPY(d, src + i, sizeof(float) * 8);
                    SS_MEMCPY(d + SS__GEMM_MR, src + lda + i, sizeof(float) * 8);
                    SS_MEMCPY(d + 2 * SS__GEMM_MR, src + 2 * lda + i, sizeof(float) * 8);
                    SS_MEMCPY(d + 3 * SS__GEMM_MR, src + 3 * lda + i, sizeof(float) * 8);
                } else {
                    for (u = 0; u < kn; u++)
                        SS_MEMCPY(d + u * SS__GEMM_MR, src + u * lda + i,
                                  sizeof(float) * SS__GEMM_MR);
                }
            }
            if (ifull < i1) /* the last micro-panel is partial: zero rows below i1 */
                for (u = 0; u < kn; u++) {
                    for (r = 0; r < i1 - ifull; r++)
                        d[u * SS__GEMM_MR + r] = src[u * lda + (size_t)(ifull + r)];
                    for (; r < SS__GEMM_MR; r++) d[u * SS__GEMM_MR + r] = 0.0f;
                }
        }
    } else {
        /* op(A)[i][p] = A[i][p]: each micro-panel is the transpose of MR rows of A */
        for (i = i0; i < i1; i += SS__GEMM_MR, dst += SS__GEMM_APANEL(kc)) {
            const float *src = g->A + (size_t)i * g->lda + p0;
            int mr = i1 - i < SS__GEMM_MR ? i1 - i : SS__GEMM_MR;
            k = 0;
#if SS__GEMM_SIMD
            if (mr == SS__GEMM_MR) { /* eight k at a time; fetch the next panel's rows */
                const float *next =
                    i + 2 * SS__GEMM_MR <= i1 ? src + (size_t)SS__GEMM_MR * g->lda : NULL;
                k = kc / 8 * 8;
#if SS__GEMM_MR > 8
                /* rows 8.. first: their stores run on into the next k's first slots, which
                   the rows 0..7 below then overwrite (MR = 12 wastes no store) */
                ss__gemm_transpose(src + (size_t)8 * g->lda, g->lda, SS__GEMM_MR - 8, k, dst + 8,
                                   SS__GEMM_MR, next ? next + (size_t)8 * g->lda : NULL);
                ss__gemm_transpose(src, g->lda, 8, k, dst, SS__GEMM_MR, next);
#else
                ss__gemm_transpose(src, g->lda, SS__GEMM_MR, k, dst, SS__GEMM_MR, next);
#endif
            }
#endif
            for (; k < kc; k++) {
                for (r = 0; r < mr; r++) dst[k * SS__GEMM_MR + r] = src[(size_t)r * g->lda + k];
                for (; r < SS__GEMM_MR; r++) dst[k * SS__GEMM_MR + r] = 0.0f;
            }
        }
    }
}

/* Pack rows [p0, p0+kc) x columns [j0, j1) of op(B), at most NB columns, into B micro-panels:
   micro-panel q (at dst + q*BPANEL(kc)) holds op(B)[p0 + k][j0 + q*NR + c] at [k*NR + c], with
   the columns of the last micro-panel that lie past j1 set to zero. */
SS_PRIVATE void ss__gemm_pack_b(const ss__gemm_job *g, int p0, int kc, int j0, int j1,
                                float *SS__GEMM_RESTRICT dst) {
    int k, c, j;
    if (!g->transB) {
        /* op(B)[p][j] = B[p][j]: row p0+k of B holds this k's values side by side; read the
           chunk's part of it once, left to right, and deal it out to the micro-panels */
        for (k = 0; k < kc; k++) {
            const float *src = g->B + (size_t)(p0 + k) * g->ldb;
            float *d = dst + (size_t)k * SS__GEMM_NR;
            if (p0 + k + SS__GEMM_PF_ROWS < g->K)
                for (j = j0; j < j1; j += 16)
                    SS__GEMM_PREFETCH(src + (size_t)SS__GEMM_PF_ROWS * g->ldb + j);
            for (j = j0; j + SS__GEMM_NR <= j1; j += SS__GEMM_NR, d += SS__GEMM_BPANEL(kc))
                SS_MEMCPY(d, src + j, sizeof(float) * SS__GEMM_NR);
            if (j < j1) { /* the last micro-panel is partial: zero columns past j1 */
                for (c = 0; c < j1 - j; c++) d[c] = src[j + c];
                for (; c < SS__GEMM_NR; c++) d[c] = 0.0f;
            }
        }
    } else {
        /* op(B)[p][j] = B[j][p]: each micro-panel is the transpose of NR rows of B */
        for (j = j0; j < j1; j += SS__GEMM_NR, dst += SS__GEMM_BPANEL(kc)) {
            const float *src = g->B + (size_t)j * g->ldb + p0;
            int nr = j1 - j < SS__GEMM_NR ? j1 - j : SS__GEMM_NR;
            k = 0;
#if SS__GEMM_SIMD
            if (nr == SS__GEMM_NR) { /* eight k by eight columns at a time */
                k = kc / 8 * 8;
                for (c = 0; c < SS__GEMM_NR; c += 8)
                    ss__gemm_transpose(src + (size_t)c * g->ldb, g->ldb, 8, k, dst + c,
                                       SS__GEMM_NR, NULL);
            }
#endif
            for (; k < kc; k++) {
                for (c = 0; c < nr; c++) dst[k * SS__GEMM_NR + c] = src[(size_t)c * g->ldb + k];
                for (; c < SS__GEMM_NR; c++) dst[k * SS__GEMM_NR + c] = 0.0f;
            }
        }
    }
}

#if SS__GEMM_SIMD
/* The micro-kernel: acc = a * b for an A micro-panel a (kc x MR) and a B micro-panel b
   (kc x NR), then c = alpha*acc + beta*c on the MR x NR block at c (row stride ldc); with
   load_c == 0 the block is not read: c = alpha*acc. Row r of acc is c<r>0, c<r>1. */
SS_PRIVATE SS__GEMM_NOINLINE void ss__gemm_kernel(int kc, const float *SS__GEMM_RESTRICT a,
                                                  const float *SS__GEMM_RESTRICT b, float alpha,
                                                  float beta, int load_c,
                                                  float *SS__GEMM_RESTRICT c, int ldc) {
#define SS__GEMM_PREFETCH_C(r)                                                                     \
    _mm_prefetch((const char *)(c + (size_t)(r) * ldc), _MM_HINT_T0);                              \
    _mm_prefetch((const char *)(c + (size_t)(r) * ldc + SS__GEMM_VLEN), _MM_HINT_T0);              \
    _mm_prefetch((const char *)(c + (size_t)(r) * ldc + SS__GEMM_NR - 1), _MM_HINT_T0);
#define SS__GEMM_DECLARE(r) ss__gemm_vec c##r##0 = SS__GEMM_VZERO(), c##r##1 = SS__GEMM_VZERO();
#define SS__GEMM_UPDATE(r)                                                                         \
    va = SS__GEMM_VSET1(a[r]);                                                                     \
    c##r##0 = SS__GEMM_VFMA(va, b0, c##r##0);                                                      \
    c##r##1 = SS__GEMM_VFMA(va, b1, c##r##1);
#define SS__GEMM_STORE(r)                                                                          \
    {                                                                                              \
        float *cr = c + (size_t)(r) * ldc;                                                         \
        if (load_c) {                                                                              \
            SS__GEMM_VSTORE(cr, SS__GEMM_VFMA(va, c##r##0, SS__GEMM_VMUL(vb, SS__GEMM_VLOAD(cr))));\
            SS__GEMM_VSTORE(cr + SS__GEMM_VLEN,                                                    \
                            SS__GEMM_VFMA(va, c##r##1,                                             \
                                          SS__GEMM_VMUL(vb, SS__GEMM_VLOAD(cr + SS__GEMM_VLEN)))); \
        } else {                                                                                   \
            SS__GEMM_VSTORE(cr, SS__GEMM_VMUL(va, c##r##0));                                       \
            SS__GEMM_VSTORE(cr + SS__GEMM_VLEN, SS__GEMM_VMUL(va, c##r##1));                       \
        }                                                                                          \
    }
    ss__gemm_vec b0, b1, va, vb;
    int k;
    /* ask for the C block now: it is needed only after the k loop, which hides the latency */
    SS__GEMM_ROWS(SS__GEMM_PREFETCH_C)
    SS__GEMM_ROWS(SS__GEMM_DECLARE)
    for (k = 0; k < kc; k++) { /* acc += a[k][.]^T b[k][.], one rank-1 update per k */
        b0 = SS__GEMM_VLOAD(b);
        b1 = SS__GEMM_VLOAD(b + SS__GEMM_VLEN);
        SS__GEMM_ROWS(SS__GEMM_UPDATE)
        a += SS__GEMM_MR;
        b += SS__GEMM_NR;
    }
    va = SS__GEMM_VSET1(alpha);
    vb = SS__GEMM_VSET1(beta);
    SS__GEMM_ROWS(SS__GEMM_STORE)
#undef SS__GEMM_PREFETCH_C
#undef SS__GEMM_DECLARE
#undef SS__GEMM_UPDATE
#undef SS__GEMM_STORE
}
#else
/* The portable micro-kernel, same contract. One array per row of accumulators and the column
   loop innermost: the shape that gcc and clang both turn into vector code at -O2. */
SS_PRIVATE SS__GEMM_NOINLINE void ss__gemm_kernel(int kc, const float *SS__GEMM_RESTRICT a,
                                                  const float *SS__GEMM_RESTRICT b, float alpha,
                                                  float beta, int load_c,
                                                  float *SS__GEMM_RESTRICT c, int ldc) {
    float acc0[SS__GEMM_NR], acc1[SS__GEMM_NR], acc2[SS__GEMM_NR], acc3[SS__GEMM_NR];
    float *acc[SS__GEMM_MR];
    int k, r, j;
    acc[0] = acc0, acc[1] = acc1, acc[2] = acc2, acc[3] = acc3;
    for (j = 0; j < SS__GEMM_NR; j++) acc0[j] = acc1[j] = acc2[j] = acc3[j] = 0.0f;
    for (k = 0; k < kc; k++) {
        const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        for (j = 0; j < SS__GEMM_NR; j++) {
            const float bj = b[j];
            acc0[j] += a0 * bj;
            acc1[j] += a1 * bj;
            acc2[j] += a2 * bj;
            acc3[j] += a3 * bj;
        }
        a += SS__GEMM_MR;
        b += SS__GEMM_NR;
    }
    for (r = 0; r < SS__GEMM_MR; r++) {
        float *cr = c + (size_t)r * ldc;
        if (load_c)
            for (j = 0; j < SS__GEMM_NR; j++) cr[j] = alpha * acc[r][j] + beta * cr[j];
        else
            for (j = 0; j < SS__GEMM_NR; j++) cr[j] = alpha * acc[r][j];
    }
}
#endif

/* One MR x NR block of C, rows ir.. and columns jr.., for one K block of length kc: the kernel
   on the packed micro-panels. A block that sticks out of C (mr < MR rows or nr < NR columns
   left) runs the same kernel on a full-size copy in cbuf (MR*NR floats), so its elements get
   exactly the operations of the others. */
SS_PRIVATE void ss__gemm_block(const ss__gemm_job *g, const float *apanel, const float *bpanel,
                               int ir, int jr, int kc, int load_c, float beta, float *cbuf) {
    int mr = g->M - ir < SS__GEMM_MR ? g->M - ir : SS__GEMM_MR;
    int nr = g->N - jr < SS__GEMM_NR ? g->N - jr : SS__GEMM_NR;
    int edge = mr < SS__GEMM_MR || nr < SS__GEMM_NR, r;
    float *c = g->C + (size_t)ir * g->ldc + jr;
    if (!edge) {
        ss__gemm_kernel(kc, apanel, bpanel, g->alpha, beta, load_c, c, g->ldc);
        return;
    }
    if (load_c) {
        SS_MEMSET(cbuf, 0, sizeof(float) * SS__GEMM_MR * SS__GEMM_NR);
        for (r = 0; r < mr; r++)
            SS_MEMCPY(cbuf + r * SS__GEMM_NR, c + (size_t)r * g->ldc, sizeof(float) * (size_t)nr);
    }
    ss__gemm_kernel(kc, apanel, bpanel, g->alpha, beta, load_c, cbuf, SS__GEMM_NR);
    for (r = 0; r < mr; r++)
        SS_MEMCPY(c + (size_t)r * g->ldc, cbuf + r * SS__GEMM_NR, sizeof(float) * (size_t)nr);
}

/* Where B micro-panel q of K block b sits (in floats from the start) in op(B) packed whole by
   ss__gemm_run: the K blocks one after the other, each a row of pn micro-panels of its kc, laid
   out as ss__gemm_pack_b lays out a chunk, so a chunk's panels there are BPANEL(kc) apart too. */
SS_PRIVATE size_t ss__gemm_bpanel_at(int pn, int b, int q, int kc) {
    return (size_t)b * pn * SS__GEMM_BPANEL(SS__GEMM_KC) + (size_t)q * SS__GEMM_BPANEL(kc);
}

/* One output tile, rows [i0, i1) x columns [j0, j1) of C, with the whole K loop. i0 and j0 are
   multiples of MR and NR; so are i1 and j1 unless they equal M or N; i1 - i0 <= MC. bpack is
   op(B) packed whole, or NULL: then the tile packs the B micro-panels it needs itself. Either
   way the micro-kernel gets the same panels in the same order. */
SS_PRIVATE void ss__gemm_tile(const ss__gemm_job *g, const float *bpack, int i0, int i1, int j0,
                              int j1) {
    float abuf_mem[SS__GEMM_MC / SS__GEMM_MR * SS__GEMM_APANEL(SS__GEMM_KC) + 16];
    float bbuf_mem[SS__GEMM_NB / SS__GEMM_NR * SS__GEMM_BPANEL(SS__GEMM_KC) + 16];
    float cbuf_mem[SS__GEMM_MR * SS__GEMM_NR + 16];
    float *abuf = ss__gemm_align64(abuf_mem);
    float *bbuf = ss__gemm_align64(bbuf_mem);
    float *cbuf = ss__gemm_align64(cbuf_mem);
    const int pn = (g->N + SS__GEMM_NR - 1) / SS__GEMM_NR;
    int p0, jc, jr, ir;
    SS_ASSERT(i1 - i0 <= SS__GEMM_MC);
    for (p0 = 0; p0 < g->K; p0 += SS__GEMM_KC) {
        int kc = g->K - p0 < SS__GEMM_KC ? g->K - p0 : SS__GEMM_KC;
        int load_c = p0 > 0 || g->beta != 0.0f; /* beta on the first K block only */
        float beta = p0 > 0 ? 1.0f : g->beta;
        ss__gemm_pack_a(g, i0, i1, p0, kc, abuf);
        for (jc = j0; jc < j1; jc += SS__GEMM_NB) {
            int jn = j1 - jc < SS__GEMM_NB ? j1 : jc + SS__GEMM_NB;
            const float *bchunk = bbuf; /* the chunk's micro-panels, BPANEL(kc) apart */
            if (bpack)
                bchunk = bpack + ss__gemm_bpanel_at(pn, p0 / SS__GEMM_KC, jc / SS__GEMM_NR, kc);
            else
                ss__gemm_pack_b(g, p0, kc, jc, jn, bbuf);
            for (jr = jc; jr < jn; jr += SS__GEMM_NR)
                for (ir = i0; ir < i1; ir += SS__GEMM_MR)
                    ss__gemm_block(g,
                                   abuf + (size_t)((ir - i0) / SS__GEMM_MR) * SS__GEMM_APANEL(kc),
                                   bchunk + (size_t)((jr - jc) / SS__GEMM_NR) * SS__GEMM_BPANEL(kc),
                                   ir, jr, kc, load_c, beta, cbuf);
        }
    }
}

/* The tile grid for `threads` threads: nbm row blocks x nbn column blocks, counted in whole
   micro-panels (pm of MR rows, pn of NR columns) and as equal as possible. Start from the
   largest tiles the buffers allow; with several threads, cut the longer side of the tiles
   until the threads have enough of them. */
SS_PRIVATE void ss__gemm_grid(int M, int N, int threads, int *nbm, int *nbn) {
    int pm = (M + SS__GEMM_MR - 1) / SS__GEMM_MR, pn = (N + SS__GEMM_NR - 1) / SS__GEMM_NR;
    int bm = (pm + SS__GEMM_MC / SS__GEMM_MR - 1) / (SS__GEMM_MC / SS__GEMM_MR);
    int bn = (pn + SS__GEMM_NC / SS__GEMM_NR - 1) / (SS__GEMM_NC / SS__GEMM_NR);
    while (threads > 1 &&
           (bm * bn < threads || (bm * bn % threads != 0 && bm * bn < 8 * threads))) {
        int rows = pm / bm * SS__GEMM_MR, cols = pn / bn * SS__GEMM_NR;
        int can_m = pm / (bm + 1) * SS__GEMM_MR >= SS__GEMM_MC_MIN;
        int can_n = pn / (bn + 1) * SS__GEMM_NR >= SS__GEMM_NC_MIN;
        if (can_m && (rows >= cols || !can_n))
            bm++;
        else if (can_n)
            bn++;
        else
            break;
    }
    *nbm = bm;
    *nbn = bn;
}

/* op(B) packed whole, once per product instead of once per row block: when the grid has
   several row blocks (each of which would pack every B micro-panel of its column block again:
   15 times for the 4096-row products of training) and the packed copy is at most PREPACK_MAX
   floats (16 MiB), it is borrowed from the heap; without it (allocation failed, or B too big)
   the tiles pack their own panels, as before. */
#define SS__GEMM_PREPACK_MAX 4194304.0

/* Floats of op(B) packed whole (+16 for alignment), or 0 when the product should not do it. */
SS_PRIVATE size_t ss__gemm_prepack_size(const ss__gemm_job *g, int nbm) {
    const size_t kb = (size_t)(g->K + SS__GEMM_KC - 1) / SS__GEMM_KC;
    const size_t pn = (size_t)(g->N + SS__GEMM_NR - 1) / SS__GEMM_NR;
    const size_t n = kb * pn * SS__GEMM_BPANEL(SS__GEMM_KC) + 16;
    return nbm > 1 && (double)n <= SS__GEMM_PREPACK_MAX ? n : 0;
}

/* Compute every tile of an nbm x nbn grid (nbm large enough that no tile exceeds MC rows),
   spread over the OpenMP threads. Row blocks vary fastest, so the tiles being computed at one
   time share a column block of B. With several row blocks, the threads first pack op(B) whole
   (K block by K block, NB columns at a time, into the layout of ss__gemm_bpanel_at). */
SS_PRIVATE void ss__gemm_run(const ss__gemm_job *g, int nbm, int nbn) {
    const int pm = (g->M + SS__GEMM_MR - 1) / SS__GEMM_MR;
    const int pn = (g->N + SS__GEMM_NR - 1) / SS__GEMM_NR;
    const int ntiles = nbm * nbn, kb = (g->K + SS__GEMM_KC - 1) / SS__GEMM_KC;
    const int nchunks = (g->N + SS__GEMM_NB - 1) / SS__GEMM_NB;
    size_t nprepack;
    float *bmem, *bpack;
    int t;
    if (ntiles == 1) { /* one tile needs no team: the attention core's tile products (21,504
                          calls per training update, from inside its parallel loop) would each
                          open a nested one-thread parallel region */
        ss__gemm_tile(g, NULL, 0, g->M, 0, g->N);
        return;
    }
    nprepack = ss__gemm_prepack_size(g, nbm);
    bmem = nprepack ? (float *)ss__malloc(sizeof(float) * nprepack) : NULL;
    bpack = bmem ? ss__gemm_align64(bmem) : NULL;
    SS__OMP(parallel if((double)g->M * g->N * g->K >= SS__GEMM_PAR_WORK))
    {
        if (bpack) {
            SS__OMP(for schedule(static))
            for (t = 0; t < kb * nchunks; t++) {
                const int b = t / nchunks, jc = t % nchunks * SS__GEMM_NB;
                const int kc = g->K - b * SS__GEMM_KC < SS__GEMM_KC ? g->K - b * SS__GEMM_KC
                                                                     : SS__GEMM_KC;
                const int jn = g->N - jc < SS__GEMM_NB ? g->N : jc + SS__GEMM_NB;
                ss__gemm_pack_b(g, b * SS__GEMM_KC, kc, jc, jn,
                                bpack + ss__gemm_bpanel_at(pn, b, jc / SS__GEMM_NR, kc));
            } /* the implied barrier: every panel is packed before any tile reads it */
        }
        SS__OMP(for schedule(dynamic, 1))
        for (t = 0; t < ntiles; t++) {
            int bi = t % nbm, bj = t / nbm;
            int i0 = (int)((size_t)pm * (size_t)bi / (size_t)nbm) * SS__GEMM_MR;
            int i1 = (int)((size_t)pm * (size_t)(bi + 1) / (size_t)nbm) * SS__GEMM_MR;
            int j0 = (int)((size_t)pn * (size_t)bj / (size_t)nbn) * SS__GEMM_NR;
            int j1 = (int)((size_t)pn * (size_t)(bj + 1) / (size_t)nbn) * SS__GEMM_NR;
            ss__gemm_tile(g, bpack, i0, i1 < g->M ? i1 : g->M, j0, j1 < g->N ? j1 : g->N);
        }
    }
    ss_free(bmem);
}

/* K slices, for a product whose C is small but whose K is long: the weight gradients
   dW = dY^T X with K = B*T = 4096. Tiles alone give such a C too few tasks (one tile on one
   thread; cut further for T threads, every tile packs the other operand all over again:
   256x4096x256 TN ran 1.58x faster on 2 threads than on 1, against 1.9x for other shapes), and
   sharing the packed panels instead needs two barriers per K block, which cost more than they
   save with sleeping (OMP_WAIT_POLICY=PASSIVE) threads on a busy machine (measured: 0.8-1x).
   So K is cut into S slices of whole K blocks, S fixed by the shape alone (ss__gemm_slices),
   never by the thread count: slice s computes the partial product P_s = op(A)[:, Ks] op(B)[Ks, :]
   by the tile code (alpha 1, beta 0: the same FMA chains and write-backs as always), the
   (slice, tile) tasks run on any threads in any order, and then
     C = alpha * (((P_0 + P_1) + P_2) + ...) + beta * C      (beta = 0: C is not read)
   element by element in that order. The bits thus depend on the shape only, as everywhere in
   this GEMM; the slices change the rounding against one long chain by no more than any other
   summation order would. */
#define SS__GEMM_SLICE_K 1024 /* K per slice: four K blocks */
#define SS__GEMM_SLICE_MAX 8
#define SS__GEMM_SLICE_C ((double)SS__GEMM_MC * SS__GEMM_NC) /* C at most one full tile */

/* How many K slices the product (M,N,K) takes: 1 (none) unless C is at most one tile and K at
   least two slices long. */
SS_PRIVATE int ss__gemm_slices(int M, int N, int K) {
    int s;
    if ((double)M * N > SS__GEMM_SLICE_C || K < 2 * SS__GEMM_SLICE_K) return 1;
    s = K / SS__GEMM_SLICE_K;
    return s < SS__GEMM_SLICE_MAX ? s : SS__GEMM_SLICE_MAX;
}

/* The job of slice s of S: op(A) columns and op(B) rows [k0, k1) (whole K blocks, the last one
   maybe partial), rows [i0, i0+m) and columns [j0, j0+n) of the product, into P (row stride
   ldp) with alpha 1 and beta 0. */
SS_PRIVATE ss__gemm_job ss__gemm_slice_job(const ss__gemm_job *g, int s, int S, int i0, int m,
                                           int j0, int n, float *P, int ldp) {
    const int kb = (g->K + SS__GEMM_KC - 1) / SS__GEMM_KC;
    const int k0 = kb * s / S * SS__GEMM_KC, k1 = s + 1 == S ? g->K : kb * (s + 1) / S * SS__GEMM_KC;
    ss__gemm_job job = *g;
    job.M = m, job.N = n, job.K = k1 - k0;
    job.A = g->transA ? g->A + (size_t)k0 * g->lda + i0 : g->A + (size_t)i0 * g->lda + k0;
    job.B = g->transB ? g->B + (size_t)j0 * g->ldb + k0 : g->B + (size_t)k0 * g->ldb + j0;
    job.alpha = 1.0f, job.beta = 0.0f;
    job.C = P, job.ldc = ldp;
    return job;
}

/* C[i][j0..j0+n) = alpha * (sum over s of P_s[i][...]) + beta * C[i][...], for one row. */
SS_PRIVATE void ss__gemm_slice_sum(const ss__gemm_job *g, float *c, const float *P, size_t stride,
                                   int S, int n) {
    int j, s;
    for (j = 0; j < n; j++) {
        float sum = P[j];
        for (s = 1; s < S; s++) sum += P[(size_t)s * stride + j];
        c[j] = g->beta == 0.0f ? g->alpha * sum : g->alpha * sum + g->beta * c[j];
    }
}

/* The product in S K slices over an nbm x nbn tile grid. The partial products live in one heap
   block of S*M*N floats; when that cannot be had, the same operations run on the calling thread
   over pieces of C small enough for a stack buffer (slow, but the same bits). */
SS_PRIVATE void ss__gemm_run_sliced(const ss__gemm_job *g, int S, int nbm, int nbn) {
    const int pm = (g->M + SS__GEMM_MR - 1) / SS__GEMM_MR, pn = (g->N + SS__GEMM_NR - 1) / SS__GEMM_NR;
    const size_t mn = (size_t)g->M * (size_t)g->N;
    const int ntiles = nbm * nbn;
    float *P = (float *)ss__malloc(sizeof(float) * mn * (size_t)S);
    int t, i;
    if (P) {
        SS__OMP(parallel for schedule(dynamic, 1))
        for (t = 0; t < S * ntiles; t++) {
            const int s = t / ntiles, bi = t % ntiles % nbm, bj = t % ntiles / nbm;
            const int i0 = (int)((size_t)pm * (size_t)bi / (size_t)nbm) * SS__GEMM_MR;
            const int i1 = (int)((size_t)pm * (size_t)(bi + 1) / (size_t)nbm) * SS__GEMM_MR;
            const int j0 = (int)((size_t)pn * (size_t)bj / (size_t)nbn) * SS__GEMM_NR;
            const int j1 = (int)((size_t)pn * (size_t)(bj + 1) / (size_t)nbn) * SS__GEMM_NR;
            const ss__gemm_job job = ss__gemm_slice_job(g, s, S, 0, g->M, 0, g->N, P + mn * s, g->N);
            ss__gemm_tile(&job, NULL, i0, i1 < g->M ? i1 : g->M, j0, j1 < g->N ? j1 : g->N);
        }
        SS__OMP(parallel for schedule(static))
        for (i = 0; i < g->M; i++)
            ss__gemm_slice_sum(g, g->C + (size_t)i * g->ldc, P + (size_t)i * g->N, mn, S, g->N);
        ss_free(P);
    } else { /* pieces of 48 x 64: S partial products of 12 KiB each on the stack */
        float piece[SS__GEMM_SLICE_MAX * 48 * 64];
        int i0, j0, s;
        for (i0 = 0; i0 < g->M; i0 += 48)
            for (j0 = 0; j0 < g->N; j0 += 64) {
                const int m = g->M - i0 < 48 ? g->M - i0 : 48, n = g->N - j0 < 64 ? g->N - j0 : 64;
                for (s = 0; s < S; s++) {
                    const ss__gemm_job job =
                        ss__gemm_slice_job(g, s, S, i0, m, j0, n, piece + (size_t)s * 48 * 64, 64);
                    ss__gemm_tile(&job, NULL, 0, m, 0, n);
                }
                for (i = 0; i < m; i++)
                    ss__gemm_slice_sum(g, g->C + (size_t)(i0 + i) * g->ldc + j0, piece + i * 64,
                                       48 * 64, S, n);
            }
    }
}

/* C = alpha*op(A)*op(B) + beta*C, row-major. op(A) is M x K (A stored K x M when transA),
   op(B) is K x N (B stored N x K when transB), C is M x N with row stride ldc. */
SS_PRIVATE void ss__gemm_blocked(int transA, int transB, int M, int N, int K, float alpha,
                                 const float *A, int lda, const float *B, int ldb, float beta,
                                 float *C, int ldc) {
    ss__gemm_job job;
    int threads = 1, nbm, nbn, slices;
    SS_ASSERT(M > 0 && N > 0 && K > 0 && alpha != 0.0f); /* ss_gemm_builtin handled the rest */
    job.transA = transA, job.transB = transB;
    job.M = M, job.N = N, job.K = K;
    job.alpha = alpha, job.beta = beta;
    job.A = A, job.B = B, job.C = C;
    job.lda = lda, job.ldb = ldb, job.ldc = ldc;
#ifdef _OPENMP
    /* Inside a parallel region (the attention core's per-head products) a nested region gets
       one thread unless nesting is on, but omp_get_max_threads() still says the outer count:
       the grid would cut a 64 x 128 product in two tiles, each packing its operand again. */
    threads = omp_get_active_level() < omp_get_max_active_levels() ? omp_get_max_threads() : 1;
#endif
    slices = ss__gemm_slices(M, N, K);
    /* K slices are tasks too: the tile grid need only give each slice threads/S tiles, and the
       tiles stay large enough that packing the other operand again per tile costs little */
    ss__gemm_grid(M, N, slices > 1 ? (threads + slices - 1) / slices : threads, &nbm, &nbn);
    if (slices > 1)
        ss__gemm_run_sliced(&job, slices, nbm, nbn);
    else
        ss__gemm_run(&job, nbm, nbn);
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

#define SS__COLS 64 /* columns per thread task in the column-split reductions, at most */

/* Columns per task for a column-split pass over C columns: SS__COLS, halved down to 16 (one
   cache line of floats, so no two tasks write one line) while that leaves threads without a
   task: a 256-column gain gradient is 4 tasks of 64 but 16 of 16. Every column's sum keeps its
   row order, so the width changes no bits. */
SS_PRIVATE int ss__col_block(int C) {
    int w = SS__COLS, threads = 1;
#ifdef _OPENMP
    threads = omp_in_parallel() ? 1 : omp_get_max_threads();
#endif
    while (w > 16 && (C + w - 1) / w < threads) w /= 2;
    return w;
}

/* acc[c] += the sum over rows r < R (row stride ld) of x[r][c] for c < n, in double and in row
   order for each column; with y, of x[r][c] * (y[r][c] * scale[r]) (the product in float, then
   x times it in double). The inner loop of the column-split reductions: under AVX2, 32 columns
   a pass, four to a vector, then the rest one at a time; every column sees the same operations
   in the same order either way (same bits). */
SS_PRIVATE void ss__colsum(double *acc, const float *x, const float *y, const float *scale, int R,
                           int n, size_t ld) {
    int r, c, c0 = 0;
#if defined(__AVX2__)
#define SS__CS_LOAD(v) __m256d a##v = _mm256_loadu_pd(acc + c0 + 4 * v);
#define SS__CS_X(v) _mm256_cvtps_pd(_mm_loadu_ps(xr + 4 * v))
#define SS__CS_ADD(v) a##v = _mm256_add_pd(a##v, SS__CS_X(v));
#define SS__CS_ADDMUL(v)                                                                           \
    a##v = _mm256_add_pd(a##v, _mm256_mul_pd(SS__CS_X(v), _mm256_cvtps_pd(_mm_mul_ps(              \
                                                              _mm_loadu_ps(yr + 4 * v), s))));
#define SS__CS_STORE(v) _mm256_storeu_pd(acc + c0 + 4 * v, a##v);
#define SS__CS_PASS(width, EACH)                                                                   \
    for (; c0 + width <= n; c0 += width) {                                                         \
        EACH(SS__CS_LOAD)                                                                          \
        if (y) {                                                                                   \
            for (r = 0; r < R; r++) {                                                              \
                const float *xr = x + (size_t)r * ld + c0, *yr = y + (size_t)r * ld + c0;          \
                const __m128 s = _mm_set1_ps(scale[r]);                                            \
                EACH(SS__CS_ADDMUL)                                                                \
            }                                                                                      \
        } else {                                                                                   \
            for (r = 0; r < R; r++) {                                                              \
                const float *xr = x + (size_t)r * ld + c0;                                         \
                EACH(SS__CS_ADD)                                                                   \
            }                                                                                      \
        }                                                                                          \
        EACH(SS__CS_STORE)                                                                         \
    }
#define SS__CS_EACH8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define SS__CS_EACH4(X) X(0) X(1) X(2) X(3)
    SS__CS_PASS(32, SS__CS_EACH8)
    SS__CS_PASS(16, SS__CS_EACH4) /* the narrower tasks of ss__col_block */
#undef SS__CS_PASS
#undef SS__CS_EACH8
#undef SS__CS_EACH4
#undef SS__CS_LOAD
#undef SS__CS_X
#undef SS__CS_ADD
#undef SS__CS_ADDMUL
#undef SS__CS_STORE
#endif
    if (c0 < n)
        for (r = 0; r < R; r++) {
            const float *xr = x + (size_t)r * ld, *yr = y ? y + (size_t)r * ld : NULL;
            if (yr)
                for (c = c0; c < n; c++) acc[c] += (double)xr[c] * (yr[c] * scale[r]);
            else
                for (c = c0; c < n; c++) acc[c] += xr[c];
        }
}

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
    const int w = ss__col_block(D);
    int c0;
    SS_ASSERT(dtable && dout && ids && BT > 0 && V > 0 && D > 0);
    /* Two rows may carry the same id, so rows cannot be split across threads; columns can. */
    SS__OMP(parallel for schedule(static))
    for (c0 = 0; c0 < D; c0 += w) {
        int r, c, c1 = c0 + w < D ? c0 + w : D;
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
    const int w = ss__col_block(C);
    int c0;
    SS__OMP(parallel for schedule(static))
    for (c0 = 0; c0 < C; c0 += w) {
        double acc[SS__COLS];
        int c, n = C - c0 < w ? C - c0 : w;
        for (c = 0; c < n; c++) acc[c] = 0.0;
        ss__colsum(acc, x + c0, NULL, NULL, R, n, (size_t)C);
        for (c = 0; c < n; c++) dsum[c0 + c] += (float)acc[c];
    }
}

/* ss_linear_backward with dinp = dinp_beta * dinp + dout @ weight: dinp_beta 0 writes dinp
   without reading it, for gradient scratch that this product is the first to write (clearing
   it first would be one more pass over memory). */
SS_PRIVATE void ss__linear_backward(float *dinp, float dinp_beta, float *dweight, float *dbias,
                                    const float *dout, const float *inp, const float *weight,
                                    int BT, int IC, int OC) {
    SS_ASSERT(dweight && dout && inp && weight && BT > 0 && IC > 0 && OC > 0);
    /* forward: out = inp @ weight^T + bias */
    /* dinp (BT,IC) += dout (BT,OC) @ weight (OC,IC): the NN product */
    if (dinp) ss_gemm(0, 0, BT, IC, OC, 1.0f, dout, OC, weight, IC, dinp_beta, dinp, IC);
    /* dweight (OC,IC) += dout^T (OC,BT) @ inp (BT,IC): the TN product */
    ss_gemm(1, 0, OC, IC, BT, 1.0f, dout, OC, inp, IC, 1.0f, dweight, IC);
    /* dbias (OC) += sum over rows of dout */
    if (dbias) ss__add_column_sums(dbias, dout, BT, OC);
}

SS_API void ss_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, int BT, int IC, int OC) {
    ss__linear_backward(dinp, 1.0f, dweight, dbias, dout, inp, weight, BT, IC, OC);
}

// >>rmsnorm ---------------------------------------------------------------------------------------

/* The element-wise steps of RMSNorm and RoPE in SS__VW lanes (plain -O2 leaves these loops of
   unknown trip count scalar), each lane doing the scalar tail's operations in its order, with no
   fused multiply-add (the pragma stops clang fusing the tail's), so both give the same bits. */

/* One row of RMSNorm: out = (x * s) * gain; or with dy, its gradient added into out:
   out += s * (dy * gain - (x * s) * m). */
SS_PRIVATE void ss__rms_row(float *out, const float *dy, const float *x, const float *gain,
                            float s, float m, int C) {
    SS__FP_EXACT
    int c = 0;
#ifdef SS__VW
    const ss__vf sv = SS__VSET1(s), mv = SS__VSET1(m);
    for (; c + SS__VW <= C; c += SS__VW) {
        const ss__vf xs = SS__V_(mul_ps)(SS__VLOAD(x + c), sv);
        if (!dy) {
            SS__VSTORE(out + c, SS__V_(mul_ps)(xs, SS__VLOAD(gain + c)));
        } else {
            const ss__vf t = SS__V_(sub_ps)(SS__V_(mul_ps)(SS__VLOAD(dy + c), SS__VLOAD(gain + c)),
                                            SS__V_(mul_ps)(xs, mv));
            SS__VSTORE(out + c, SS__V_(add_ps)(SS__VLOAD(out + c), SS__V_(mul_ps)(sv, t)));
        }
    }
#endif
    for (; c < C; c++) {
        if (!dy)
            out[c] = (x[c] * s) * gain[c];
        else
            out[c] += s * (dy[c] * gain[c] - (x[c] * s) * m);
    }
}

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
        ss__rms_row(y, NULL, x, gain, s, 0.0f, C);
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
        ss__rms_row(dx, dy, x, gain, s, m, C);
    }
    /* dgain_c += sum over rows of dy_c * xhat_c: a reduction over rows, split by column */
    {
        const int w = ss__col_block(C);
        int c0;
        SS__OMP(parallel for schedule(static))
        for (c0 = 0; c0 < C; c0 += w) {
            double acc[SS__COLS];
            int c, n = C - c0 < w ? C - c0 : w;
            for (c = 0; c < n; c++) acc[c] = 0.0;
            ss__colsum(acc, dout + c0, inp + c0, rstd, BT, n, (size_t)C);
            for (c = 0; c < n; c++) dgain[c0 + c] += (float)acc[c];
        }
    }
}

// >>rope ------------------------------------------------------------------------------------------

/* One head's rotated pairs (j, j+half), j < half, in lanes as ss__rms_row: forward (back == 0)
   y1 = x1 c - x2 s, y2 = x2 c + x1 s; backward (back != 0), the transposed rotation added into
   y: y1 += x1 c + x2 s, y2 += x2 c - x1 s. */
SS_PRIVATE void ss__rope_pairs(float *y, const float *x, const float *c, const float *s, int half,
                               int back) {
    SS__FP_EXACT
    int j = 0;
#ifdef SS__VW
    for (; j + SS__VW <= half; j += SS__VW) {
        const ss__vf x1 = SS__VLOAD(x + j), x2 = SS__VLOAD(x + j + half);
        const ss__vf cv = SS__VLOAD(c + j), sv = SS__VLOAD(s + j);
        if (!back) {
            SS__VSTORE(y + j, SS__V_(sub_ps)(SS__V_(mul_ps)(x1, cv), SS__V_(mul_ps)(x2, sv)));
            SS__VSTORE(y + j + half,
                       SS__V_(add_ps)(SS__V_(mul_ps)(x2, cv), SS__V_(mul_ps)(x1, sv)));
        } else {
            SS__VSTORE(y + j, SS__V_(add_ps)(SS__VLOAD(y + j), SS__V_(add_ps)(SS__V_(mul_ps)(x1, cv),
                                                                            SS__V_(mul_ps)(x2, sv))));
            SS__VSTORE(y + j + half,
                       SS__V_(add_ps)(SS__VLOAD(y + j + half),
                                      SS__V_(sub_ps)(SS__V_(mul_ps)(x2, cv), SS__V_(mul_ps)(x1, sv))));
        }
    }
#endif
    for (; j < half; j++) {
        if (!back) {
            y[j] = x[j] * c[j] - x[j + half] * s[j];
            y[j + half] = x[j + half] * c[j] + x[j] * s[j];
        } else {
            y[j] += x[j] * c[j] + x[j + half] * s[j];
            y[j + half] += x[j + half] * c[j] - x[j] * s[j];
        }
    }
}

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
            ss__rope_pairs(y, x, c, s, half, 0); /* rotate (j, j+half) by the angle of (t, j) */
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
            ss__rope_pairs(dx, dy, c, s, half, 1);
            for (j = Dr; j < Dh; j++) dx[j] += dy[j];
        }
    }
}

// >>attention -------------------------------------------------------------------------------------

/* ---- attention dropout's keep decisions ----
   Both attention cores draw one u64 seed per call and decide each probability (b, h, i, j) from
   it by hashing, without a sequential stream: the tiled core regenerates the same decisions in
   backward, tile by tile, in any order. Row (bh, i) gets a 32-bit key from splitmix64 of the seed
   and the row number; key j of that row is kept when a 32-bit mix (Wellons' lowbias32 constants)
   of row_key + j * golden gives a 24-bit uniform >= p. */
SS_PRIVATE uint32_t ss__drop_row_key(uint64_t seed, uint64_t row) {
    uint64_t s = seed ^ (row * UINT64_C(0xD1B54A32D192ED03));
    return (uint32_t)(ss__splitmix64(&s) >> 32);
}

SS_PRIVATE int ss__drop_keep(uint32_t row_key, int j, float p) {
    uint32_t x = row_key + (uint32_t)j * 0x9E3779B9u;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return (float)(x >> 8) * (1.0f / 16777216.0f) >= p;
}

/* f[j] = keep(row_key, j0 + j) ? scale : 0 for j < n: ss__drop_keep for a run of keys, eight at a
   time under AVX2 (integer steps, the same decisions). */
SS_PRIVATE void ss__drop_factors(float *f, uint32_t row_key, int j0, int n, float p, float scale) {
    int j = 0;
#if defined(__AVX2__)
    const __m256i golden = _mm256_set1_epi32((int)0x9E3779B9u), m1 = _mm256_set1_epi32(0x7FEB352D);
    const __m256i m2 = _mm256_set1_epi32((int)0x846CA68Bu), lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 vp = _mm256_set1_ps(p), vs = _mm256_set1_ps(scale), u24 = _mm256_set1_ps(1.0f / 16777216.0f);
    for (; j + 8 <= n; j += 8) {
        __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(j0 + j), lanes);
        __m256i x = _mm256_add_epi32(_mm256_set1_epi32((int)row_key), _mm256_mullo_epi32(idx, golden));
        __m256 u;
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        x = _mm256_mullo_epi32(x, m1);
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 15));
        x = _mm256_mullo_epi32(x, m2);
        x = _mm256_xor_si256(x, _mm256_srli_epi32(x, 16));
        u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(x, 8)), u24); /* 24 bits: exact */
        _mm256_storeu_ps(f + j, _mm256_and_ps(_mm256_cmp_ps(u, vp, _CMP_GE_OQ), vs));
    }
#endif
    for (; j < n; j++) f[j] = ss__drop_keep(row_key, j0 + j, p) ? scale : 0.0f;
}

/* sum of x[0..n) in double, four chains so the adds overlap; the order is fixed by n alone. */
SS_PRIVATE double ss__sum_f(const float *x, int n) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int j = 0;
    for (; j + 4 <= n; j += 4) s0 += x[j], s1 += x[j + 1], s2 += x[j + 2], s3 += x[j + 3];
    for (; j < n; j++) s0 += x[j];
    return (s0 + s1) + (s2 + s3);
}

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
    if (key_mask)
        for (j = 0; j < n_visible; j++)
            if (!key_mask[j]) row[j] = -INFINITY; /* e^-inf = 0 exactly */
    ss__exp_shift(row, row, max, n_visible);
    for (j = n_visible; j < T; j++) row[j] = 0.0f;
    sum = ss__sum_f(row, n_visible);
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
    const float keep_scale = 1.0f / (1.0f - dropout_p);
    uint64_t seed;
    int bh;
    SS_ASSERT(out && att && q && k && v && B > 0 && T > 0 && H > 0 && Dh > 0);
    SS_ASSERT(ldq >= HD && ldk >= HD && ldv >= HD && dropout_p >= 0.0f && dropout_p < 1.0f);
    SS_ASSERT(dropout_p == 0.0f || (att_drop && drop_mask && rng));
    seed = dropout_p > 0.0f ? ss_rng_u64(rng) : 0u; /* one draw per call */
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
        if (dropout_p > 0.0f) { /* the keep decisions of the tiled core, kept as a mask */
            float *ad = att_drop + (size_t)bh * T * T;
            unsigned char *dm = drop_mask + (size_t)bh * T * T;
            int j;
            for (i = 0; i < T; i++) {
                const size_t e = (size_t)i * T;
                ss__drop_factors(ad + e, ss__drop_row_key(seed, (uint64_t)bh * T + i), 0, T,
                                 dropout_p, keep_scale);
                for (j = 0; j < T; j++) {
                    dm[e + j] = ad[e + j] != 0.0f;
                    ad[e + j] *= a[e + j];
                }
            }
            pv = ad;
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

// >>attention tiled -------------------------------------------------------------------------------

#define SS__ATT_BQ 64  /* query rows per tile of the tiled core */
#define SS__ATT_BK 128 /* keys per tile: a (64,128) score block is 32 KiB, in L1/L2 */

/* The largest of init and x[0..n), with `x[j] > m` deciding (a NaN never wins): the running
   maximum of a softmax row, in SS__VW lanes (max is exact, so the lanes give the scalar
   loop's value). */
SS_PRIVATE float ss__max_f(const float *x, int n, float init) {
    float m = init;
    int j = 0;
#ifdef SS__VW
    if (n >= SS__VW) { /* max_ps(x, v) is x > v ? x : v, lane by lane */
        float lane[SS__VW];
        ss__vf v = SS__VSET1(init);
        int k;
        for (; j + SS__VW <= n; j += SS__VW) v = SS__VMAX(SS__VLOAD(x + j), v);
        SS__VSTORE(lane, v);
        for (k = 0; k < SS__VW; k++)
            if (lane[k] > m) m = lane[k];
    }
#endif
    for (; j < n; j++)
        if (x[j] > m) m = x[j];
    return m;
}

/* One row of dS in the tiled backward: drow[j] = row[j] * (dA[j] - delta), where dA is drow (the
   gradient of the probabilities A' after dropout) times keep_scale where prow[j] (A', NULL
   without dropout) kept the value, 0 where it dropped it. In SS__VW lanes, with the scalar
   tail's operations in its order (no fused multiply-adds: same bits). */
SS_PRIVATE void ss__att_ds_row(float *drow, const float *row, const float *prow, float keep_scale,
                               float delta, int nk) {
    SS__FP_EXACT
    int j = 0;
#ifdef SS__VW
    const ss__vf dv = SS__VSET1(delta), ks = SS__VSET1(keep_scale);
    for (; j + SS__VW <= nk; j += SS__VW) {
        ss__vf d = SS__VLOAD(drow + j);
        if (prow) d = SS__VNZ_OR0(SS__VLOAD(prow + j), SS__V_(mul_ps)(d, ks));
        SS__VSTORE(drow + j, SS__V_(mul_ps)(SS__VLOAD(row + j), SS__V_(sub_ps)(d, dv)));
    }
#endif
    for (; j < nk; j++) { /* kept iff A' != 0 (when A == 0 too, dS = 0 either way) */
        const float d = prow ? (prow[j] != 0.0f ? drow[j] * keep_scale : 0.0f) : drow[j];
        drow[j] = row[j] * (d - delta);
    }
}

/* One (query tile, key tile) block of scores, masked: s[r*SS__ATT_BK + j] = scale q_i . k_j for
   query i = i0 + r and key j0 + j, or -inf where the key is hidden (padding, or after i when
   causal). */
SS_PRIVATE void ss__att_tile_scores(float *s, const float *qb, int ldq, const float *kb, int ldk,
                                    const int *km, int causal, float scale, int i0, int nq, int j0,
                                    int nk, int Dh) {
    int r, j;
    ss_gemm(0, 1, nq, nk, Dh, scale, qb + (size_t)i0 * ldq, ldq, kb + (size_t)j0 * ldk, ldk, 0.0f,
            s, SS__ATT_BK);
    for (r = 0; r < nq; r++) {
        float *row = s + (size_t)r * SS__ATT_BK;
        const int vis = causal ? i0 + r + 1 - j0 : nk; /* keys [0, vis) of the tile may be seen */
        for (j = vis < 0 ? 0 : vis; j < nk; j++) row[j] = -INFINITY;
        if (km)
            for (j = 0; j < nk; j++)
                if (!km[j0 + j]) row[j] = -INFINITY;
    }
}

SS_API void ss_attention_tiled_forward(float *out, float *lse, uint64_t *drop_seed, const float *q,
                                       const float *k, const float *v, const int *key_mask,
                                       int causal, float dropout_p, ss_rng *rng, int B, int T, int H,
                                       int Dh, int ldq, int ldk, int ldv) {
    const int HD = H * Dh;
    const float scale = 1.0f / SS_SQRTF((float)Dh), keep_scale = 1.0f / (1.0f - dropout_p);
    uint64_t seed;
    int bh;
    SS_ASSERT(out && lse && drop_seed && q && k && v && B > 0 && T > 0 && H > 0);
    SS_ASSERT(Dh > 0 && Dh <= SS_ATT_TILED_DH_MAX && ldq >= HD && ldk >= HD && ldv >= HD);
    SS_ASSERT(dropout_p >= 0.0f && dropout_p < 1.0f && (dropout_p == 0.0f || rng));
    seed = dropout_p > 0.0f ? ss_rng_u64(rng) : 0u; /* one draw per call, as the full core */
    *drop_seed = seed;
    SS__OMP(parallel for schedule(dynamic, 1))
    for (bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const float *qb = q + (size_t)b * T * ldq + (size_t)h * Dh;
        const float *kb = k + (size_t)b * T * ldk + (size_t)h * Dh;
        const float *vb = v + (size_t)b * T * ldv + (size_t)h * Dh;
        const int *km = key_mask ? key_mask + (size_t)b * T : NULL;
        float s[SS__ATT_BQ * SS__ATT_BK], acc[SS__ATT_BQ * SS_ATT_TILED_DH_MAX], m[SS__ATT_BQ];
        double l[SS__ATT_BQ];
        int i0, j0, r, j, c;
        for (i0 = 0; i0 < T; i0 += SS__ATT_BQ) {
            const int nq = T - i0 < SS__ATT_BQ ? T - i0 : SS__ATT_BQ;
            const int kend = causal ? i0 + nq : T; /* keys after the tile's last query: unseen */
            for (r = 0; r < nq; r++) m[r] = -INFINITY, l[r] = 0.0;
            SS_MEMSET(acc, 0, (size_t)nq * Dh * sizeof(float));
            for (j0 = 0; j0 < kend; j0 += SS__ATT_BK) {
                const int nk = kend - j0 < SS__ATT_BK ? kend - j0 : SS__ATT_BK;
                ss__att_tile_scores(s, qb, ldq, kb, ldk, km, causal, scale, i0, nq, j0, nk, Dh);
                /* online softmax (Milakov & Gimelshein 2018): the running max m and sum l of
                   each row are rescaled when a tile raises the max, and so is acc = sum p v */
                for (r = 0; r < nq; r++) {
                    float *row = s + (size_t)r * SS__ATT_BK, alpha, f[SS__ATT_BK];
                    const float mt = ss__max_f(row, nk, m[r]);
                    double sum;
                    if (mt == -INFINITY) { /* nothing visible yet: p = 0, acc stays 0 */
                        SS_MEMSET(row, 0, (size_t)nk * sizeof(float));
                        continue;
                    }
                    alpha = SS_EXPF(m[r] - mt); /* exp(-inf) = 0 on the first visible tile */
                    ss__exp_shift(row, row, mt, nk);
                    sum = ss__sum_f(row, nk); /* the sum is taken before dropout */
                    if (dropout_p > 0.0f) {
                        ss__drop_factors(f, ss__drop_row_key(seed, (uint64_t)bh * T + i0 + r), j0,
                                         nk, dropout_p, keep_scale);
                        for (j = 0; j < nk; j++) row[j] *= f[j];
                    }
                    l[r] = l[r] * alpha + sum;
                    m[r] = mt;
                    if (alpha != 1.0f)
                        for (c = 0; c < Dh; c++) acc[(size_t)r * Dh + c] *= alpha;
                }
                ss_gemm(0, 0, nq, Dh, nk, 1.0f, s, SS__ATT_BK, vb + (size_t)j0 * ldv, ldv, 1.0f,
                        acc, Dh);
            }
            for (r = 0; r < nq; r++) { /* out = acc / l; lse = m + log l (+inf: no key seen) */
                float *o = out + ((size_t)b * T + i0 + r) * HD + (size_t)h * Dh;
                const float inv = l[r] > 0.0 ? (float)(1.0 / l[r]) : 0.0f;
                for (c = 0; c < Dh; c++) o[c] = acc[(size_t)r * Dh + c] * inv;
                lse[(size_t)bh * T + i0 + r] =
                    l[r] > 0.0 ? m[r] + (float)SS_LOG(l[r]) : (float)INFINITY;
            }
        }
    }
}

SS_API void ss_attention_tiled_backward(float *dq, float *dk, float *dv, const float *dout,
                                        const float *q, const float *k, const float *v,
                                        const float *out, const float *lse, uint64_t drop_seed,
                                        const int *key_mask, int causal, float dropout_p, int B,
                                        int T, int H, int Dh, int ldq, int ldk, int ldv) {
    const int HD = H * Dh;
    const float scale = 1.0f / SS_SQRTF((float)Dh), keep_scale = 1.0f / (1.0f - dropout_p);
    int bh;
    SS_ASSERT(dq && dk && dv && dout && out && lse && q && k && v && B > 0 && T > 0 && H > 0);
    SS_ASSERT(Dh > 0 && Dh <= SS_ATT_TILED_DH_MAX && ldq >= HD && ldk >= HD && ldv >= HD);
    SS_ASSERT(dropout_p >= 0.0f && dropout_p < 1.0f);
    /* forward: S = scale q k^T; A = softmax(S) = exp(S - lse); A' = A * keep / (1-p);
       out = A' v. Per tile, with Delta_i = sum_j A_ij dA_ij = sum_j A'_ij dA'_ij = dout_i . out_i:
       dv += A'^T dout; dA' = dout v^T; dS = A * (dA' * keep / (1-p) - Delta); dq += scale dS k;
       dk += scale dS^T q. Each (b, h) owns its slices of dq, dk, dv, so no two threads add into
       the same value and the order of every sum is fixed. */
    SS__OMP(parallel for schedule(dynamic, 1))
    for (bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t qo = (size_t)b * T * ldq + (size_t)h * Dh, ko = (size_t)b * T * ldk + (size_t)h * Dh;
        const size_t vo = (size_t)b * T * ldv + (size_t)h * Dh, oo = (size_t)b * T * HD + (size_t)h * Dh;
        const int *km = key_mask ? key_mask + (size_t)b * T : NULL;
        float s[SS__ATT_BQ * SS__ATT_BK], pd[SS__ATT_BQ * SS__ATT_BK], dp[SS__ATT_BQ * SS__ATT_BK];
        float delta[SS__ATT_BQ];
        int i0, j0, r, j, c;
        for (i0 = 0; i0 < T; i0 += SS__ATT_BQ) {
            const int nq = T - i0 < SS__ATT_BQ ? T - i0 : SS__ATT_BQ;
            const int kend = causal ? i0 + nq : T;
            for (r = 0; r < nq; r++) {
                const float *o = out + oo + (size_t)(i0 + r) * HD, *g = dout + oo + (size_t)(i0 + r) * HD;
                double dot = 0.0;
                for (c = 0; c < Dh; c++) dot += (double)g[c] * o[c];
                delta[r] = (float)dot;
            }
            for (j0 = 0; j0 < kend; j0 += SS__ATT_BK) {
                const int nk = kend - j0 < SS__ATT_BK ? kend - j0 : SS__ATT_BK;
                const float *pv = dropout_p > 0.0f ? pd : s; /* A' (after dropout) */
                ss__att_tile_scores(s, q + qo, ldq, k + ko, ldk, km, causal, scale, i0, nq, j0, nk,
                                    Dh);
                for (r = 0; r < nq; r++) { /* A = exp(S - lse): hidden keys and empty rows give 0 */
                    float *row = s + (size_t)r * SS__ATT_BK;
                    const float ls = lse[(size_t)bh * T + i0 + r];
                    if (ls == INFINITY)
                        SS_MEMSET(row, 0, (size_t)nk * sizeof(float));
                    else
                        ss__exp_shift(row, row, ls, nk);
                    if (dropout_p > 0.0f) {
                        float *prow = pd + (size_t)r * SS__ATT_BK;
                        ss__drop_factors(prow, ss__drop_row_key(drop_seed, (uint64_t)bh * T + i0 + r),
                                         j0, nk, dropout_p, keep_scale);
                        for (j = 0; j < nk; j++) prow[j] *= row[j];
                    }
                }
                ss_gemm(1, 0, nk, Dh, nq, 1.0f, pv, SS__ATT_BK, dout + oo + (size_t)i0 * HD, HD,
                        1.0f, dv + vo + (size_t)j0 * ldv, ldv);
                ss_gemm(0, 1, nq, nk, Dh, 1.0f, dout + oo + (size_t)i0 * HD, HD,
                        v + vo + (size_t)j0 * ldv, ldv, 0.0f, dp, SS__ATT_BK);
                for (r = 0; r < nq; r++)
                    ss__att_ds_row(dp + (size_t)r * SS__ATT_BK, s + (size_t)r * SS__ATT_BK,
                                   dropout_p > 0.0f ? pd + (size_t)r * SS__ATT_BK : NULL,
                                   keep_scale, delta[r], nk);
                ss_gemm(0, 0, nq, Dh, nk, scale, dp, SS__ATT_BK, k + ko + (size_t)j0 * ldk, ldk, 1.0f,
                        dq + qo + (size_t)i0 * ldq, ldq);
                ss_gemm(1, 0, nk, Dh, nq, scale, dp, SS__ATT_BK, q + qo + (size_t)i0 * ldq, ldq, 1.0f,
                        dk + ko + (size_t)j0 * ldk, ldk);
            }
        }
    }
}

// >>swiglu ----------------------------------------------------------------------------------------

#define SS__SWIGLU_CHUNK 512 /* values per parallel task */

/* SwiGLU over n values, forward (da == NULL: out = silu(a) g) or backward (da, dg = their
   gradients from dout = out's, added into da and dg when accumulate, else written), with
   sig(a) = 1 / (1 + e^-a). The loops are written in SS__VW lanes, since compilers at -O2 leave
   them scalar (GCC 12 does not vectorise a loop of unknown trip count there, and the division
   stayed a vdivss per value); the lanes do the scalar tail's operations in its order, without
   fused multiply-adds (clang would fuse the tail's, hence the pragma), so they give its bits. */
SS_PRIVATE void ss__swiglu_run(float *out, float *da, float *dg, const float *dout,
                               const float *a, const float *g, int n, int accumulate) {
    SS__FP_EXACT
    int j = 0;
#ifdef SS__VW
    const ss__vf one = SS__VSET1(1.0f), minus = SS__VSET1(-1.0f), zero = SS__VSET1(0.0f);
    for (; j + SS__VW <= n; j += SS__VW) {
        const ss__vf av = SS__VLOAD(a + j), gv = SS__VLOAD(g + j);
        const ss__vf sig = SS__V_(div_ps)(
            one, SS__V_(add_ps)(one, ss__exp_vec(SS__V_(mul_ps)(minus, av))));
        if (!da) {
            SS__VSTORE(out + j, SS__V_(mul_ps)(SS__V_(mul_ps)(av, sig), gv));
        } else {
            const ss__vf d = SS__VLOAD(dout + j);
            const ss__vf ga = SS__V_(mul_ps)(
                SS__V_(mul_ps)(SS__V_(mul_ps)(d, gv), sig),
                SS__V_(add_ps)(one, SS__V_(mul_ps)(av, SS__V_(sub_ps)(one, sig))));
            const ss__vf gg = SS__V_(mul_ps)(SS__V_(mul_ps)(d, av), sig);
            SS__VSTORE(da + j, SS__V_(add_ps)(accumulate ? SS__VLOAD(da + j) : zero, ga));
            SS__VSTORE(dg + j, SS__V_(add_ps)(accumulate ? SS__VLOAD(dg + j) : zero, gg));
        }
    }
#endif
    for (; j < n; j++) {
        const float sig = 1.0f / (1.0f + ss__expf(-1.0f * a[j]));
        if (!da) {
            out[j] = a[j] * sig * g[j];
        } else { /* without accumulate, 0 + x: the bits of adding into cleared memory */
            da[j] = (accumulate ? da[j] : 0.0f) + dout[j] * g[j] * sig * (1.0f + a[j] * (1.0f - sig));
            dg[j] = (accumulate ? dg[j] : 0.0f) + dout[j] * a[j] * sig;
        }
    }
}

SS_API void ss_swiglu_forward(float *out, const float *a, const float *g, size_t N) {
    long c, nc = (long)((N + SS__SWIGLU_CHUNK - 1) / SS__SWIGLU_CHUNK);
    SS_ASSERT(out && a && g);
    SS__OMP(parallel for schedule(static))
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * SS__SWIGLU_CHUNK;
        const int n = (int)(N - i0 < SS__SWIGLU_CHUNK ? N - i0 : SS__SWIGLU_CHUNK);
        ss__swiglu_run(out + i0, NULL, NULL, NULL, a + i0, g + i0, n, 0);
    }
}

/* ss_swiglu_backward, adding into da and dg (accumulate) or writing them without reading. */
SS_PRIVATE void ss__swiglu_backward(float *da, float *dg, const float *dout, const float *a,
                                    const float *g, size_t N, int accumulate) {
    long c, nc = (long)((N + SS__SWIGLU_CHUNK - 1) / SS__SWIGLU_CHUNK);
    SS_ASSERT(da && dg && dout && a && g);
    /* forward: out = a sig(a) g;  d/da [a sig(a)] = sig(a) (1 + a (1 - sig(a))) */
    SS__OMP(parallel for schedule(static))
    for (c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * SS__SWIGLU_CHUNK;
        const int n = (int)(N - i0 < SS__SWIGLU_CHUNK ? N - i0 : SS__SWIGLU_CHUNK);
        ss__swiglu_run(NULL, da + i0, dg + i0, dout + i0, a + i0, g + i0, n, accumulate);
    }
}

SS_API void ss_swiglu_backward(float *da, float *dg, const float *dout, const float *a,
                               const float *g, size_t N) {
    ss__swiglu_backward(da, dg, dout, a, g, N, 1);
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
        ss__exp_shift(p, x, max, V); /* subtract the max: exp never overflows; p may be x */
        sum = ss__sum_f(p, V);
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

/* The attention core of every variant: the full one when acts->att is set, else the tiled one
   (linear memory in T). v has rows of stride ldv. */
SS_PRIVATE void ss__attn_core_forward(ss_attn_acts *acts, const float *v, int ldv,
                                      const int *key_mask, ss_rng *rng, const ss_attn_dims *d) {
    const int HD = d->H * d->Dh;
    acts->key_mask = key_mask;
    if (acts->att)
        ss_attention_forward(acts->ctx, acts->att, acts->att_drop, acts->drop_mask, acts->q_rot,
                             acts->k_rot, v, key_mask, d->causal, d->dropout_p, rng, d->B, d->T,
                             d->H, d->Dh, HD, HD, ldv);
    else
        ss_attention_tiled_forward(acts->ctx, acts->lse, &acts->drop_seed, acts->q_rot,
                                   acts->k_rot, v, key_mask, d->causal, d->dropout_p, rng, d->B,
                                   d->T, d->H, d->Dh, HD, HD, ldv);
}

/* Its backward: grads->dq_rot, grads->dk_rot and dv (stride ldv) += from grads->dctx. */
SS_PRIVATE void ss__attn_core_backward(ss_attn_grads *grads, float *dv, const ss_attn_acts *acts,
                                       const float *v, int ldv, const ss_attn_dims *d) {
    const int HD = d->H * d->Dh;
    if (acts->att)
        ss_attention_backward(grads->dq_rot, grads->dk_rot, dv, grads->datt, grads->dctx,
                              acts->q_rot, acts->k_rot, v, acts->att, acts->att_drop,
                              acts->drop_mask, d->dropout_p, d->B, d->T, d->H, d->Dh, HD, HD, ldv);
    else
        ss_attention_tiled_backward(grads->dq_rot, grads->dk_rot, dv, grads->dctx, acts->q_rot,
                                    acts->k_rot, v, acts->ctx, acts->lse, acts->drop_seed,
                                    acts->key_mask, d->causal, d->dropout_p, d->B, d->T, d->H,
                                    d->Dh, HD, HD, ldv);
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
    ss__attn_core_forward(acts, acts->qkv + 2 * HD, 3 * HD, key_mask, rng, d);
    ss_linear_forward(out, acts->ctx, w->o_proj_weight, w->o_proj_bias, BT, HD, d->D);
}

SS_API void ss_mha_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                            const float *dout, const float *inp, const ss_attn_acts *acts,
                            const ss_attn_weights *w, const float *cos_t, const float *sin_t,
                            const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh;
    SS_ASSERT(dinp && dw && grads && dout && inp && acts && w);
    /* forward: qkv = inp W_qkv^T; q_rot, k_rot = RoPE(q, k); ctx = attn(q_rot, k_rot, v);
       out = ctx W_o^T. The backwards below add, so their scratch starts at zero; dctx is
       written by its one producer. */
    ss__zero(grads->dqkv, (size_t)BT * 3 * HD);
    ss__zero(grads->dq_rot, (size_t)BT * HD);
    ss__zero(grads->dk_rot, (size_t)BT * HD);
    ss__linear_backward(grads->dctx, 0.0f, dw->o_proj_weight, dw->o_proj_bias, dout, acts->ctx,
                        w->o_proj_weight, BT, HD, d->D);
    ss__attn_core_backward(grads, grads->dqkv + 2 * HD, acts, acts->qkv + 2 * HD, 3 * HD, d);
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
    const float *bias;
    SS_ASSERT(acts && inp && w && w->qkv_a_proj_weight && w->q_a_norm_weight);
    SS_ASSERT(w->kv_a_norm_weight && w->q_b_proj_weight && w->kv_b_proj_weight);
    bias = w->qkv_a_proj_bias; /* read after the check that w is there */
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
    ss__attn_core_forward(acts, acts->kv + HD, 2 * HD, key_mask, rng, d);
}

/* Backward of ss__mla_context_forward, from grads->dctx (already complete) to dinp. */
SS_PRIVATE void ss__mla_context_backward(float *dinp, ss_attn_weights *dw, ss_attn_grads *grads,
                                         const float *inp, const ss_attn_acts *acts,
                                         const ss_attn_weights *w, const float *cos_t,
                                         const float *sin_t, const ss_attn_dims *d) {
    const int BT = d->B * d->T, HD = d->H * d->Dh, D = d->D, Cq = d->Cq, Ckv = d->Ckv;
    float *dbias = dw->qkv_a_proj_bias;
    ss__attn_core_backward(grads, grads->dkv + HD, acts, acts->kv + HD, 2 * HD, d);
    ss_rope_backward(grads->dkv, 2 * HD, grads->dk_rot, cos_t, sin_t, d->B, d->T, d->H, d->Dh,
                     d->Dr, d->P);
    ss_rope_backward(grads->dq, HD, grads->dq_rot, cos_t, sin_t, d->B, d->T, d->H, d->Dh, d->Dr,
                     d->P);
    ss__linear_backward(grads->dkv_latn, 0.0f, dw->kv_b_proj_weight, NULL, grads->dkv,
                        acts->kv_latn, w->kv_b_proj_weight, BT, Ckv, 2 * HD);
    ss__linear_backward(grads->dq_latn, 0.0f, dw->q_b_proj_weight, NULL, grads->dq, acts->q_latn,
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

/* Zero the gradient scratch of the MLA context path that its backwards add into (the
   attention core overwrites datt; dctx, dq_latn and dkv_latn are written by their producers). */
SS_PRIVATE void ss__mla_grads_zero(ss_attn_grads *grads, const ss_attn_dims *d) {
    const size_t BT = (size_t)d->B * d->T, HD = (size_t)d->H * d->Dh;
    ss__zero(grads->dq_lat, BT * d->Cq);
    ss__zero(grads->dkv_lat, BT * d->Ckv);
    ss__zero(grads->dq, BT * HD);
    ss__zero(grads->dkv, BT * 2 * HD);
    ss__zero(grads->dq_rot, BT * HD);
    ss__zero(grads->dk_rot, BT * HD);
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
    ss__linear_backward(grads->dctx, 0.0f, dw->o_proj_weight, dw->o_proj_bias, dout, acts->ctx,
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
    ss__linear_backward(grads->do_lat, 0.0f, dw->o_b_proj_weight, dw->o_b_proj_bias, dout,
                        acts->o_lat, w->o_b_proj_weight, BT, d->Co, d->D);
    ss__linear_backward(grads->dctx, 0.0f, dw->o_a_proj_weight, NULL, grads->do_lat, acts->ctx,
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
       (decomposed); out = h W_out^T (+ the shared output projection when decomposed).
       dh, da and dg (BT x F each) are written by their first producer, not cleared and added
       into: that saves three passes over 3 x 16 MB per layer of the seed's models. */
    if (Rf == 0) {
        ss__linear_backward(grads->dh, 0.0f, dw->W_out_weight, dw->W_out_bias, dout, acts->h,
                            w->W_out_weight, BT, F, D);
        ss__swiglu_backward(grads->da, grads->dg, grads->dh, acts->a, acts->g, NF, 0);
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
    ss__linear_backward(grads->dh, 0.0f, dw->W_out_weight, NULL, grads->dout_lat, acts->h,
                        w->W_out_weight, BT, F, Rf);
    ss__swiglu_backward(grads->da, grads->dg, grads->dh, acts->a, acts->g, NF, 0);
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
    const size_t lm_keep = BT < (size_t)SS_LM_KEEP ? BT : (size_t)SS_LM_KEEP;
    const size_t lm_cap = lm_keep > chunk ? lm_keep : chunk;
    const int L = c->num_hidden_layers, lm = m->head != SS_HEAD_CLASSIFIER;
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
    a->key_mask = (int *)ss__carve(cv, BT, 1, sizeof(int));
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
        at->lse = SS__CARVE_F(cv, B * H, T); /* the tiled core: no (T,T) matrix is kept */
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
        a->lm_cap = (int)lm_cap;
        a->lm_targets = (int *)ss__carve(cv, lm_cap, 1, sizeof(int));
        a->lm_h = SS__CARVE_F(cv, lm_cap, D);
        a->lm_hp = SS__CARVE_F(cv, lm_cap, Rv);
        a->lm_logits = SS__CARVE_F(cv, lm_cap, V);
        a->lm_loss = SS__CARVE_F(cv, lm_cap, 1);
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
        g->dlm_h = SS__CARVE_F(cv_grad, lm_cap, D);
        g->dlm_hp = SS__CARVE_F(cv_grad, lm_cap, Rv);
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
    if (cfg->head_dim > SS_ATT_TILED_DH_MAX)
        return ss__fail(SS_ERR_INVALID, "config: head_dim = %d: the model's attention core takes "
                        "at most %d", cfg->head_dim, SS_ATT_TILED_DH_MAX);
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
   The kept rows go through in pieces of ss__lm_piece rows. With one piece, backward starts from
   the probabilities forward left; with several, backward runs this again for each piece
   instead of keeping (kept, V) logits. */
SS_PRIVATE int ss__lm_piece(const ss_model_acts *a) {
    return a->kept <= a->lm_cap ? a->kept : SS_LM_CHUNK;
}

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
    int r, first, piece, kept = 0;
    for (r = 0; r < BT; r++) {
        SS_ASSERT((a->targets[r] == SS_IGNORE_INDEX ||
                   (a->targets[r] >= 0 && a->targets[r] < m->config.vocab_size)) &&
                  "target out of range");
        a->losses[r] = 0.0f;
        if (a->targets[r] != SS_IGNORE_INDEX) a->lm_rows[kept++] = r;
    }
    a->kept = kept;
    piece = ss__lm_piece(a);
    for (first = 0; first < kept; first += piece) {
        const int n = kept - first < piece ? kept - first : piece;
        ss_ce_stats ce;
        int i;
        ss__lm_chunk(m, &ce, first, n);
        for (i = 0; i < n; i++) a->losses[a->lm_rows[first + i]] = a->lm_loss[i];
        st->loss_sum += ce.loss_sum; /* piece sums in order: the same bits for any thread count */
        st->correct += ce.correct;
    }
    st->kept = kept;
    st->loss = kept ? (float)(st->loss_sum / kept) : 0.0f;
}

/* p (n,V) = dloss * (p - onehot(target)) in place: ss_crossentropy_backward into zeros, for
   rows that are all kept (the same bits: 0 + x is x). */
SS_PRIVATE void ss__ce_grad_inplace(float *p, float dloss, const int *targets, int n, int V) {
    int r;
    SS__OMP(parallel for schedule(static))
    for (r = 0; r < n; r++) {
        float *pr = p + (size_t)r * V;
        int j;
        for (j = 0; j < V; j++) pr[j] *= dloss;
        pr[targets[r]] -= dloss;
    }
}

SS_PRIVATE void ss__lm_head_backward(ss_model *m, float grad_scale) {
    const ss_config *c = &m->config;
    ss_model_acts *a = &m->acts;
    ss_model_grads *g = &m->grads;
    const int D = c->hidden_size, V = c->vocab_size, Rv = c->vocab_rank, kept = a->kept;
    const int piece = ss__lm_piece(a);
    const float dloss = kept ? grad_scale / (float)kept : 0.0f; /* loss = row losses / kept */
    float *dlogits = a->lm_logits; /* the gradient replaces the probabilities */
    int first;
    for (first = 0; first < kept; first += piece) {
        const int n = kept - first < piece ? kept - first : piece;
        int i;
        if (piece < kept) { /* several pieces: only the last one's probabilities are left */
            ss_ce_stats ce;
            ss__lm_chunk(m, &ce, first, n);
        }
        ss__ce_grad_inplace(dlogits, dloss, a->lm_targets, n, V);
        ss__zero(g->dlm_h, (size_t)n * D);
        if (c->vocab_subspace) {
            ss__zero(g->dlm_hp, (size_t)n * Rv);
            ss_linear_backward(g->dlm_hp, m->dw.vocab_embed_weight, NULL, dlogits, a->lm_hp,
                               m->w.vocab_embed_weight, n, Rv, V);
            /* forward lm_hp = lm_h P: dlm_h += dlm_hp P^T;  dP += lm_h^T dlm_hp */
            ss_gemm(0, 1, n, D, Rv, 1.0f, g->dlm_hp, Rv, m->w.vocab_proj_weight, Rv, 1.0f,
                    g->dlm_h, D);
            ss_gemm(1, 0, D, Rv, n, 1.0f, a->lm_h, D, g->dlm_hp, Rv, 1.0f,
                    m->dw.vocab_proj_weight, Rv);
        } else {
            ss_linear_backward(g->dlm_h, m->dw.vocab_embed_weight, NULL, dlogits, a->lm_h,
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
    if (!has_targets) { /* inference: the class probabilities alone */
        for (b = 0; b < B && NL >= 2; b++) {
            const float *z = a->cls_logits + (size_t)b * NL;
            float *p = a->cls_probs + (size_t)b * NL, zmax = z[0];
            double sum = 0.0;
            int k;
            for (k = 1; k < NL; k++) zmax = z[k] > zmax ? z[k] : zmax;
            for (k = 0; k < NL; k++) sum += (double)(p[k] = SS_EXPF(z[k] - zmax));
            for (k = 0; k < NL; k++) p[k] = (float)(p[k] / sum);
        }
        return;
    }
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
    const int *kmask = key_mask ? a->key_mask : NULL; /* the model's copy, alive until backward */
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
    a->has_key_mask = key_mask != NULL;
    if (key_mask) SS_MEMCPY(a->key_mask, key_mask, (size_t)BT * sizeof(int));
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
            ss_mha_forward(a->branch, &l_a->attn, l_a->ln1, kmask, &m->rng, &l_w->self_attn,
                           m->rope_cos, m->rope_sin, &dims);
            break;
        case SS_ATTN_MLA:
            ss_mla_forward(a->branch, &l_a->attn, l_a->ln1, kmask, &m->rng, &l_w->self_attn,
                           m->rope_cos, m->rope_sin, &dims);
            break;
        case SS_ATTN_MLA_O:
            ss_mlao_forward(a->branch, &l_a->attn, l_a->ln1, kmask, &m->rng, &l_w->self_attn,
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

// >>train (implementation) ------------------------------------------------------------------------

// >>adamw -----------------------------------------------------------------------------------------

SS_API void ss_adamw_default(ss_adamw *opt) {
    opt->beta1 = 0.9;
    opt->beta2 = 0.999;
    opt->eps = 1e-8;
    opt->weight_decay = 0.01;
}

/* x^n for n >= 0 by repeated squaring (libm's pow is not in the math group). */
SS_PRIVATE double ss__powi(double x, int64_t n) {
    double r = 1.0;
    while (n > 0) {
        if (n & 1) r *= x;
        x *= x;
        n >>= 1;
    }
    return r;
}

/* The coefficients of one AdamW update of one tensor (see ss_adamw_step). */
typedef struct ss__adamw_coef {
    float b1, b2, c1, c2, decay, step_size, bc2_sqrt, eps;
} ss__adamw_coef;

#define SS__ADAMW_BLOCK 1024 /* values per task: a multiple of every SS__VW */

/* AdamW on n consecutive values, SS__VW at a time and the rest one by one, with the same
   operations in the same order either way (so the lanes give the scalar bits, and where the
   lanes end is fixed by the blocks, not by the threads). */
SS_PRIVATE void ss__adamw_run(float *w, float *m, float *v, const float *g, int n,
                              const ss__adamw_coef *k) {
    SS__FP_EXACT /* the scalar tail as the lanes compute it */
    int i = 0;
#ifdef SS__VW
    const ss__vf b1 = SS__VSET1(k->b1), b2 = SS__VSET1(k->b2), c1 = SS__VSET1(k->c1);
    const ss__vf c2 = SS__VSET1(k->c2), decay = SS__VSET1(k->decay);
    const ss__vf step = SS__VSET1(k->step_size), bc2 = SS__VSET1(k->bc2_sqrt);
    const ss__vf eps = SS__VSET1(k->eps);
    for (; i + SS__VW <= n; i += SS__VW) {
        const ss__vf gi = SS__VLOAD(g + i);
        const ss__vf mi =
            SS__V_(add_ps)(SS__V_(mul_ps)(b1, SS__VLOAD(m + i)), SS__V_(mul_ps)(c1, gi));
        const ss__vf vi = SS__V_(add_ps)(SS__V_(mul_ps)(b2, SS__VLOAD(v + i)),
                                         SS__V_(mul_ps)(SS__V_(mul_ps)(c2, gi), gi));
        const ss__vf den = SS__V_(add_ps)(SS__V_(div_ps)(SS__VSQRT(vi), bc2), eps);
        SS__VSTORE(m + i, mi);
        SS__VSTORE(v + i, vi);
        SS__VSTORE(w + i, SS__V_(sub_ps)(SS__V_(mul_ps)(SS__VLOAD(w + i), decay),
                                         SS__V_(div_ps)(SS__V_(mul_ps)(step, mi), den)));
    }
#endif
    for (; i < n; i++) {
        m[i] = k->b1 * m[i] + k->c1 * g[i];
        v[i] = k->b2 * v[i] + k->c2 * g[i] * g[i];
        w[i] = w[i] * k->decay - k->step_size * m[i] / (SS_SQRTF(v[i]) / k->bc2_sqrt + k->eps);
    }
}

SS_API void ss_adamw_step(ss_params *p, const ss_adamw *opt, double lr, int64_t t) {
    /* 1 - beta in double, as torch does: (1.0f - 0.999f) would be 1.3e-5 off in relative terms */
    ss__adamw_coef k;
    int i;
    SS_ASSERT(t >= 1 && p->param);
    k.b1 = (float)opt->beta1, k.b2 = (float)opt->beta2, k.eps = (float)opt->eps;
    k.c1 = (float)(1.0 - opt->beta1), k.c2 = (float)(1.0 - opt->beta2);
    k.step_size = (float)(lr / (1.0 - ss__powi(opt->beta1, t)));
    k.bc2_sqrt = (float)SS_SQRT(1.0 - ss__powi(opt->beta2, t));
    for (i = 0; i < p->count; i++) {
        const ss_tensor *tn = &p->tensors[i];
        const size_t o = tn->offset;
        long b, n = (long)tn->numel, nb = (n + SS__ADAMW_BLOCK - 1) / SS__ADAMW_BLOCK;
        k.decay = (tn->flags & SS_PARAM_NO_DECAY) ? 1.0f : (float)(1.0 - lr * opt->weight_decay);
        SS__OMP(parallel for schedule(static) if (n > 16384))
        for (b = 0; b < nb; b++) {
            const size_t i0 = o + (size_t)b * SS__ADAMW_BLOCK;
            const long len = n - b * SS__ADAMW_BLOCK;
            ss__adamw_run(p->param + i0, p->m + i0, p->v + i0, p->grad + i0,
                          (int)(len < SS__ADAMW_BLOCK ? len : SS__ADAMW_BLOCK), &k);
        }
    }
}

// >>schedule --------------------------------------------------------------------------------------

SS_API double ss_lr_at(const ss_lr_schedule *s, int64_t step) {
    int64_t decay_steps = s->total_steps - s->warmup_steps;
    double progress;
    if (step < s->warmup_steps) return s->peak * (double)step / (double)s->warmup_steps;
    if (decay_steps < 1) decay_steps = 1;
    progress = (double)(step - s->warmup_steps) / (double)decay_steps;
    switch (s->kind) {
    case SS_LR_LINEAR: return s->peak * (progress >= 1.0 ? 0.0 : 1.0 - progress);
    case SS_LR_COSINE:
        return progress >= 1.0 ? 0.0 : s->peak * 0.5 * (1.0 + SS_COS(3.14159265358979323846 * progress));
    case SS_LR_CONSTANT: return s->peak;
    }
    return s->peak;
}

SS_API int64_t ss_warmup_steps(double ratio, int64_t total_steps) {
    double w = ratio * (double)total_steps;
    int64_t n = (int64_t)w;
    if (ratio <= 0.0) return 0;
    return (double)n < w ? n + 1 : n;
}

// >>clip ------------------------------------------------------------------------------------------

#define SS__NORM_CHUNKS 64 /* fixed partial sums: the order of additions ignores the thread count */

SS_API double ss_grad_norm(const ss_params *p) {
    double part[SS__NORM_CHUNKS], sum = 0.0;
    size_t chunk = (p->numel + SS__NORM_CHUNKS - 1) / SS__NORM_CHUNKS;
    int c;
    SS__OMP(parallel for schedule(static))
    for (c = 0; c < SS__NORM_CHUNKS; c++) {
        size_t i, begin = (size_t)c * chunk, end = begin + chunk;
        double s = 0.0;
        if (end > p->numel) end = p->numel;
        for (i = begin; i < end; i++) s += (double)p->grad[i] * p->grad[i];
        part[c] = s;
    }
    for (c = 0; c < SS__NORM_CHUNKS; c++) sum += part[c];
    return SS_SQRT(sum);
}

SS_API double ss_clip_grad_norm(ss_params *p, double max_norm) {
    double norm = ss_grad_norm(p);
    if (max_norm > 0.0 && norm > max_norm && norm - norm == 0.0) {
        const float scale = (float)(max_norm / (norm + 1e-6));
        long i, n = (long)p->numel;
        SS__OMP(parallel for schedule(static))
        for (i = 0; i < n; i++) p->grad[i] *= scale;
    }
    return norm;
}

// >>masking ---------------------------------------------------------------------------------------

SS_API void ss_mlm_options_default(ss_mlm_options *o, const struct ss_tokenizer *tok) {
    SS_MEMSET(o, 0, sizeof *o);
    o->probability = 0.15;
    o->mask_ratio = 0.8;
    o->random_ratio = 0.1;
    o->mask_id = tok->mask_id;
    o->vocab_size = tok->vocab_size;
    o->special_ids[0] = tok->cls_id;
    o->special_ids[1] = tok->sep_id;
    o->special_ids[2] = tok->pad_id;
    o->special_ids[3] = tok->unk_id;
    o->special_ids[4] = tok->mask_id;
    o->n_special = 5;
}

SS_API size_t ss_mlm_mask(const ss_mlm_options *o, ss_rng *rng, int *ids, int *targets,
                          const int *key_mask, size_t n) {
    size_t i, selected = 0;
    int k;
    SS_ASSERT(o->n_special >= 0 && o->n_special <= SS_MLM_MAX_SPECIAL && o->vocab_size > 0);
    for (i = 0; i < n; i++) {
        int special = key_mask && !key_mask[i];
        float r;
        for (k = 0; k < o->n_special && !special; k++) special = ids[i] == o->special_ids[k];
        targets[i] = SS_IGNORE_INDEX;
        if (special || ss_rng_uniform(rng) >= (float)o->probability) continue;
        targets[i] = ids[i];
        selected++;
        r = ss_rng_uniform(rng);
        if (r < (float)o->mask_ratio)
            ids[i] = o->mask_id;
        else if (r < (float)(o->mask_ratio + o->random_ratio))
            ids[i] = (int)(((uint64_t)ss_rng_u32(rng) * (uint64_t)o->vocab_size) >> 32);
    }
    return selected;
}

// >>dataset ---------------------------------------------------------------------------------------

SS_API uint64_t ss_hash64(const void *data, size_t n, uint64_t h) {
    const unsigned char *b = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

SS_API void ss_dataset_free(ss_dataset *ds) {
    ss_free(ds->offsets);
    ss_free(ds->tokens);
    ss_free(ds->labels);
    SS_MEMSET(ds, 0, sizeof *ds);
}

/* A data set under construction: arrays that grow by doubling. */
typedef struct ss__ds_builder {
    ss_dataset *ds;
    int64_t seq_cap, tok_cap;
    int with_labels;
    const char *source;
} ss__ds_builder;

SS_PRIVATE ss_result ss__ds_begin(ss__ds_builder *b, ss_dataset *ds, const char *source,
                                  int with_labels) {
    SS_MEMSET(ds, 0, sizeof *ds);
    b->ds = ds;
    b->seq_cap = 1024;
    b->tok_cap = 16384;
    b->with_labels = with_labels;
    b->source = source;
    ds->offsets = (int64_t *)ss__malloc((size_t)(b->seq_cap + 1) * sizeof(int64_t));
    ds->tokens = (int32_t *)ss__malloc((size_t)b->tok_cap * sizeof(int32_t));
    ds->labels = with_labels ? (float *)ss__malloc((size_t)b->seq_cap * sizeof(float)) : NULL;
    if (!ds->offsets || !ds->tokens || (with_labels && !ds->labels)) {
        ss_dataset_free(ds);
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for the token arrays", source);
    }
    ds->offsets[0] = 0;
    return SS_OK;
}

/* array grown to hold at least need elements of elem bytes (+ extra), capacity doubling; NULL
   with *r set when that fails (array is then untouched). */
SS_PRIVATE void *ss__ds_grow(void *array, int64_t *cap, int64_t need, size_t elem, size_t extra,
                             const char *what, ss_result *r) {
    size_t bytes;
    int64_t c = *cap;
    void *grown;
    if (need <= c) return array;
    while (c < need) c *= 2;
    if (!ss__mul_size((size_t)c + extra, elem, &bytes)) {
        *r = ss__fail(SS_ERR_OVERFLOW, "%s: the data set is too large", what);
        return NULL;
    }
    grown = ss__realloc(array, bytes);
    if (!grown) {
        *r = ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu bytes of tokens", what, bytes);
        return NULL;
    }
    *cap = c;
    return grown;
}

/* Append one sequence of n ids (and its label). */
SS_PRIVATE ss_result ss__ds_push(ss__ds_builder *b, const int *ids, int n, float label) {
    ss_dataset *ds = b->ds;
    int64_t used = ds->offsets[ds->count];
    ss_result r = SS_OK;
    void *p;
    int i;
    if (ds->count + 1 > b->seq_cap) {
        int64_t cap = b->seq_cap, cap2 = b->seq_cap;
        if (!(p = ss__ds_grow(ds->offsets, &cap, ds->count + 1, sizeof(int64_t), 1, b->source, &r)))
            return r;
        ds->offsets = (int64_t *)p;
        if (b->with_labels) {
            if (!(p = ss__ds_grow(ds->labels, &cap2, ds->count + 1, sizeof(float), 0, b->source, &r)))
                return r;
            ds->labels = (float *)p;
        }
        b->seq_cap = cap;
    }
    if (!(p = ss__ds_grow(ds->tokens, &b->tok_cap, used + n, sizeof(int32_t), 0, b->source, &r)))
        return r;
    ds->tokens = (int32_t *)p;
    for (i = 0; i < n; i++) ds->tokens[used + i] = ids[i];
    if (b->with_labels) ds->labels[ds->count] = label;
    ds->count++;
    ds->offsets[ds->count] = used + n;
    if (n > ds->max_len) ds->max_len = n;
    return SS_OK;
}

/* Next line of text[*pos, len): its bytes without "\n" and a trailing "\r". */
SS_PRIVATE size_t ss__next_line(const char *text, size_t len, size_t *pos, size_t *line_len) {
    size_t start = *pos, end = start;
    while (end < len && text[end] != '\n') end++;
    *pos = end < len ? end + 1 : end;
    *line_len = end - start;
    if (*line_len > 0 && text[start + *line_len - 1] == '\r') (*line_len)--;
    return start;
}

SS_PRIVATE int ss__is_blank(const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

SS_API ss_result ss_dataset_from_text(ss_dataset *ds, const struct ss_tokenizer *tok,
                                      const char *text, size_t len, const char *source,
                                      int max_len, int pack) {
    ss__ds_builder b;
    ss_encode_options eo;
    size_t pos = 0, cap = (size_t)(max_len > 0 ? max_len : 3);
    int *ids = NULL, fill = 1; /* pack: ids[0] = [CLS], fill = ids so far */
    ss_result r;
    if (!source) source = "text";
    SS_MEMSET(ds, 0, sizeof *ds);
    if (max_len < 3)
        return ss__fail(SS_ERR_INVALID, "%s: max_len %d must be at least 3", source, max_len);
    if ((r = ss__ds_begin(&b, ds, source, 0)) != SS_OK) return r;
    ids = (int *)ss__malloc(cap * sizeof(int));
    if (!ids) {
        ss_dataset_free(ds);
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for a line of tokens", source);
    }
    SS_MEMSET(&eo, 0, sizeof eo);
    eo.max_length = max_len;
    ids[0] = tok->cls_id;
    while (pos < len && r == SS_OK) {
        size_t line_len, start = ss__next_line(text, len, &pos, &line_len);
        if (ss__is_blank(text + start, line_len)) continue;
        if (!pack) {
            size_t n = ss_tokenizer_encode(tok, &eo, text + start, line_len, NULL, 0, ids, NULL,
                                           NULL, cap);
            r = ss__ds_push(&b, ids, (int)n, 0.0f);
        } else {
            /* the line's tokens, a piece at a time: room for max_len - 2 between the specials */
            size_t n = ss_tokenizer_tokenize(tok, text + start, line_len, NULL, 0), done = 0;
            int *line_ids = (int *)ss__malloc((n ? n : 1) * sizeof(int));
            if (!line_ids) {
                r = ss__fail(SS_ERR_NOMEM, "%s: no memory for a line of %zu tokens", source, n);
                break;
            }
            ss_tokenizer_tokenize(tok, text + start, line_len, line_ids, n);
            while (done < n && r == SS_OK) {
                size_t room = (size_t)max_len - 1 - (size_t)fill, take = n - done;
                if (take > room) take = room;
                SS_MEMCPY(ids + fill, line_ids + done, take * sizeof(int));
                fill += (int)take;
                done += take;
                if (fill == max_len - 1) {
                    ids[fill] = tok->sep_id;
                    r = ss__ds_push(&b, ids, max_len, 0.0f);
                    fill = 1;
                }
            }
            ss_free(line_ids);
        }
    }
    if (r == SS_OK && pack && fill > 1) {
        ids[fill] = tok->sep_id;
        r = ss__ds_push(&b, ids, fill + 1, 0.0f);
    }
    ss_free(ids);
    if (r == SS_OK && ds->count == 0)
        r = ss__fail(SS_ERR_FORMAT, "%s: no non-empty line", source);
    if (r != SS_OK) ss_dataset_free(ds);
    return r;
}

/* Field col of a tab-separated line, or NULL when the line has fewer fields. */
SS_PRIVATE const char *ss__tsv_field(const char *line, size_t n, int col, size_t *field_len) {
    size_t i = 0, start = 0;
    int c = 0;
    for (;;) {
        if (i == n || line[i] == '\t') {
            if (c == col) {
                *field_len = i - start;
                return line + start;
            }
            if (i == n) return NULL;
            c++;
            start = i + 1;
        }
        i++;
    }
}

SS_PRIVATE int ss__count_fields(const char *line, size_t n) {
    size_t i;
    int c = 1;
    for (i = 0; i < n; i++) c += line[i] == '\t';
    return c;
}

/* The label field as a float: an integer in [0, num_labels) or, for num_labels 1, any finite
   decimal number. 0 and a message in msg when it is not. */
SS_PRIVATE int ss__parse_label(const char *f, size_t n, int num_labels, float *out, char *msg,
                               size_t msg_size) {
    char buf[64];
    char *end;
    double v;
    size_t i;
    if (n == 0 || n >= sizeof buf) {
        snprintf(msg, msg_size, "label '%.*s' is %s", (int)(n < 40 ? n : 40), f,
                 n == 0 ? "empty" : "too long");
        return 0;
    }
    SS_MEMCPY(buf, f, n);
    buf[n] = '\0';
    if (num_labels >= 2) {
        long k = 0;
        for (i = 0; i < n; i++) {
            if (buf[i] < '0' || buf[i] > '9' || k >= num_labels) {
                k = num_labels;
                break;
            }
            k = 10 * k + (buf[i] - '0');
        }
        if (k >= num_labels) {
            snprintf(msg, msg_size, "label '%s' is not an integer in [0, %d)", buf, num_labels);
            return 0;
        }
        *out = (float)k;
        return 1;
    }
    v = strtod(buf, &end);
    /* end != buf + n: the whole field is the number (a NUL inside it would end strtod early) */
    if (end != buf + n || buf[0] == ' ' || !(v - v == 0.0) || v > 3.4028234663852886e38 || v < -3.4028234663852886e38) {
        snprintf(msg, msg_size, "label '%s' is not a finite number", buf);
        return 0;
    }
    *out = (float)v;
    return 1;
}

SS_API ss_result ss_dataset_from_tsv(ss_dataset *ds, const struct ss_tokenizer *tok,
                                     const char *text, size_t len, const char *source,
                                     int max_len, int num_labels) {
    ss__ds_builder b;
    ss_encode_options eo;
    size_t pos = 0, line_len, start, flen = 0;
    int *ids, fields, col_sentence = -1, col_label = -1, c, line_no = 1;
    ss_result r;
    if (!source) source = "tsv";
    SS_MEMSET(ds, 0, sizeof *ds);
    if (max_len < 2 || num_labels < 1)
        return ss__fail(SS_ERR_INVALID, "%s: max_len %d must be >= 2 and num_labels %d >= 1",
                        source, max_len, num_labels);
    if (len == 0) return ss__fail(SS_ERR_FORMAT, "%s: empty file (a header line is needed)", source);
    start = ss__next_line(text, len, &pos, &line_len);
    fields = ss__count_fields(text + start, line_len);
    for (c = 0; c < fields; c++) {
        const char *f = ss__tsv_field(text + start, line_len, c, &flen);
        if (flen == 8 && memcmp(f, "sentence", 8) == 0) col_sentence = c;
        if (flen == 5 && memcmp(f, "label", 5) == 0) col_label = c;
    }
    if (col_sentence < 0 || col_label < 0)
        return ss__fail(SS_ERR_FORMAT,
                        "%s:1: the header needs the columns 'sentence' and 'label' (tab-separated), "
                        "got '%.*s'", source, (int)(line_len < 80 ? line_len : 80), text + start);
    if ((r = ss__ds_begin(&b, ds, source, 1)) != SS_OK) return r;
    ids = (int *)ss__malloc((size_t)max_len * sizeof(int));
    if (!ids) {
        ss_dataset_free(ds);
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for a row of tokens", source);
    }
    SS_MEMSET(&eo, 0, sizeof eo);
    eo.max_length = max_len;
    while (pos < len && r == SS_OK) {
        const char *sentence, *label;
        size_t slen = 0, llen = 0, n;
        float value;
        char msg[160];
        int got;
        line_no++;
        start = ss__next_line(text, len, &pos, &line_len);
        if (line_len == 0 && pos == len) break; /* "...\n" then "\r" or nothing: the end */
        got = ss__count_fields(text + start, line_len);
        if (got != fields) {
            r = ss__fail(SS_ERR_FORMAT, "%s:%d: %d tab-separated fields, the header has %d%s",
                         source, line_no, got, fields, line_len == 0 ? " (an empty line)" : "");
            break;
        }
        sentence = ss__tsv_field(text + start, line_len, col_sentence, &slen);
        label = ss__tsv_field(text + start, line_len, col_label, &llen);
        if (!ss__parse_label(label, llen, num_labels, &value, msg, sizeof msg)) {
            r = ss__fail(SS_ERR_FORMAT, "%s:%d: column %d: %s", source, line_no, col_label + 1, msg);
            break;
        }
        n = ss_tokenizer_encode(tok, &eo, sentence, slen, NULL, 0, ids, NULL, NULL,
                                (size_t)max_len);
        r = ss__ds_push(&b, ids, (int)n, value);
    }
    ss_free(ids);
    if (r == SS_OK && ds->count == 0)
        r = ss__fail(SS_ERR_FORMAT, "%s: no rows after the header", source);
    if (r != SS_OK) ss_dataset_free(ds);
    return r;
}

SS_API ss_result ss_dataset_slice(ss_dataset *ds, const ss_dataset *src, int64_t first,
                                  int64_t count) {
    int64_t i, base, ntok;
    SS_MEMSET(ds, 0, sizeof *ds);
    if (first < 0 || count < 0 || first > src->count || count > src->count - first)
        return ss__fail(SS_ERR_INVALID, "slice of %lld sequences from %lld outside a data set of "
                        "%lld sequences", (long long)count, (long long)first, (long long)src->count);
    base = src->offsets[first];
    ntok = src->offsets[first + count] - base;
    ds->offsets = (int64_t *)ss__malloc((size_t)(count + 1) * sizeof(int64_t));
    ds->tokens = (int32_t *)ss__malloc((size_t)ntok * sizeof(int32_t));
    ds->labels = src->labels ? (float *)ss__malloc((size_t)count * sizeof(float)) : NULL;
    if (!ds->offsets || !ds->tokens || (src->labels && !ds->labels)) {
        ss_dataset_free(ds);
        return ss__fail(SS_ERR_NOMEM, "no memory for a slice of %lld sequences", (long long)count);
    }
    for (i = 0; i <= count; i++) ds->offsets[i] = src->offsets[first + i] - base;
    SS_MEMCPY(ds->tokens, src->tokens + base, (size_t)ntok * sizeof(int32_t));
    if (src->labels) SS_MEMCPY(ds->labels, src->labels + first, (size_t)count * sizeof(float));
    ds->count = count;
    for (i = 0; i < count; i++) {
        int n = (int)(ds->offsets[i + 1] - ds->offsets[i]);
        if (n > ds->max_len) ds->max_len = n;
    }
    return SS_OK;
}

#ifndef SS_NO_STDIO
SS_API ss_result ss_dataset_read_text(ss_dataset *ds, const struct ss_tokenizer *tok,
                                      const char *path, int max_len, int pack) {
    char *text;
    size_t size;
    ss_result r = ss_file_read(path, &text, &size);
    if (r != SS_OK) {
        SS_MEMSET(ds, 0, sizeof *ds);
        return r;
    }
    r = ss_dataset_from_text(ds, tok, text, size, path, max_len, pack);
    ss_free(text);
    return r;
}

SS_API ss_result ss_dataset_read_tsv(ss_dataset *ds, const struct ss_tokenizer *tok,
                                     const char *path, int max_len, int num_labels) {
    char *text;
    size_t size;
    ss_result r = ss_file_read(path, &text, &size);
    if (r != SS_OK) {
        SS_MEMSET(ds, 0, sizeof *ds);
        return r;
    }
    r = ss_dataset_from_tsv(ds, tok, text, size, path, max_len, num_labels);
    ss_free(text);
    return r;
}

/* The token cache's fixed header (see the interface). */
#define SS__CACHE_MAGIC "SSTOKS1\n"
#define SS__CACHE_HEADER 40

SS_PRIVATE void ss__put_le(unsigned char *out, uint64_t v, int bytes) {
    int i;
    for (i = 0; i < bytes; i++) out[i] = (unsigned char)(v >> (8 * i));
}

SS_PRIVATE uint64_t ss__get_le(const unsigned char *in, int bytes) {
    uint64_t v = 0;
    int i;
    for (i = 0; i < bytes; i++) v |= (uint64_t)in[i] << (8 * i);
    return v;
}

/* Write n values of elem bytes (4 or 8) little-endian, through a small buffer, hashing as we go. */
SS_PRIVATE void ss__write_le_array(ss_writer *w, const void *data, size_t n, int elem, int is_float,
                                   uint64_t *h) {
    unsigned char buf[4096];
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        uint64_t v;
        if (elem == 8) {
            v = (uint64_t)((const int64_t *)data)[i];
        } else if (is_float) {
            uint32_t u;
            SS_MEMCPY(&u, (const float *)data + i, 4);
            v = u;
        } else {
            v = (uint32_t)((const int32_t *)data)[i];
        }
        ss__put_le(buf + k, v, elem);
        k += (size_t)elem;
        if (k == sizeof buf || i + 1 == n) {
            *h = ss_hash64(buf, k, *h);
            ss_writer_write(w, buf, k);
            k = 0;
        }
    }
}

SS_API ss_result ss_dataset_save(const ss_dataset *ds, const char *path, uint64_t key) {
    unsigned char head[SS__CACHE_HEADER];
    uint64_t h = SS_HASH64_INIT;
    ss_writer w;
    ss_result r;
    SS_MEMCPY(head, SS__CACHE_MAGIC, 8);
    ss__put_le(head + 8, key, 8);
    ss__put_le(head + 16, (uint64_t)ds->count, 8);
    ss__put_le(head + 24, (uint64_t)ds->offsets[ds->count], 8);
    ss__put_le(head + 32, (uint64_t)(uint32_t)ds->max_len, 4);
    ss__put_le(head + 36, ds->labels ? 1u : 0u, 4);
    if ((r = ss_writer_init(&w, path)) != SS_OK) return r;
    h = ss_hash64(head, sizeof head, h);
    ss_writer_write(&w, head, sizeof head);
    ss__write_le_array(&w, ds->offsets, (size_t)ds->count + 1, 8, 0, &h);
    ss__write_le_array(&w, ds->tokens, (size_t)ds->offsets[ds->count], 4, 0, &h);
    if (ds->labels) ss__write_le_array(&w, ds->labels, (size_t)ds->count, 4, 1, &h);
    ss__put_le(head, h, 8);
    ss_writer_write(&w, head, 8);
    r = ss_writer_commit(&w);
    ss_writer_free(&w);
    return r;
}

/* Read n values of elem bytes little-endian into out, hashing the raw bytes. */
SS_PRIVATE int ss__read_le_array(FILE *f, void *out, size_t n, int elem, uint64_t *h) {
    unsigned char buf[4096];
    size_t done = 0, per = sizeof buf / (size_t)elem;
    while (done < n) {
        size_t k = n - done < per ? n - done : per, i;
        if (fread(buf, (size_t)elem, k, f) != k) return 0;
        *h = ss_hash64(buf, k * (size_t)elem, *h);
        for (i = 0; i < k; i++) {
            uint64_t v = ss__get_le(buf + i * (size_t)elem, elem);
            if (elem == 8) {
                ((int64_t *)out)[done + i] = (int64_t)v;
            } else {
                uint32_t u = (uint32_t)v;
                SS_MEMCPY((char *)out + (done + i) * 4, &u, 4);
            }
        }
        done += k;
    }
    return 1;
}

SS_API ss_result ss_dataset_load(ss_dataset *ds, const char *path, uint64_t key) {
    unsigned char head[SS__CACHE_HEADER], tail[8];
    uint64_t h = SS_HASH64_INIT, count, ntok, file_size, i;
    int has_labels, max_len = 0;
    long end;
    ss_result r = SS_OK;
    FILE *f;
    SS_MEMSET(ds, 0, sizeof *ds);
    f = fopen(path, "rb");
    if (!f) return ss__fail(SS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return ss__fail(SS_ERR_IO, "%s: cannot seek", path);
    }
    file_size = (uint64_t)end;
    if (file_size < SS__CACHE_HEADER + 16 || fread(head, 1, sizeof head, f) != sizeof head ||
        memcmp(head, SS__CACHE_MAGIC, 8) != 0) {
        fclose(f);
        return ss__fail(SS_ERR_FORMAT, "%s: byte 0: not a token cache (magic \"SSTOKS1\")", path);
    }
    if (ss__get_le(head + 8, 8) != key) {
        fclose(f);
        return ss__fail(SS_ERR_NOT_FOUND, "%s: byte 8: the cache was made from other data, "
                        "vocabulary or options (key differs)", path);
    }
    count = ss__get_le(head + 16, 8);
    ntok = ss__get_le(head + 24, 8);
    has_labels = ss__get_le(head + 36, 4) <= 1 ? (int)ss__get_le(head + 36, 4) : 2; /* 2: invalid */
    /* the file size must be exactly what the header promises (checked without overflow) */
    if (count >= file_size / 8 || ntok >= file_size / 4 || has_labels > 1 ||
        SS__CACHE_HEADER + 8 * (count + 1) + 4 * ntok + (has_labels ? 4 * count : 0) + 8 !=
            file_size) {
        fclose(f);
        return ss__fail(SS_ERR_FORMAT, "%s: byte 16: %llu sequences and %llu tokens do not match "
                        "the file size %llu", path, (unsigned long long)count,
                        (unsigned long long)ntok, (unsigned long long)file_size);
    }
    h = ss_hash64(head, sizeof head, h);
    ds->offsets = (int64_t *)ss__malloc((size_t)(count + 1) * sizeof(int64_t));
    ds->tokens = (int32_t *)ss__malloc((size_t)ntok * sizeof(int32_t));
    ds->labels = has_labels ? (float *)ss__malloc((size_t)count * sizeof(float)) : NULL;
    if (!ds->offsets || !ds->tokens || (has_labels && !ds->labels))
        r = ss__fail(SS_ERR_NOMEM, "%s: no memory for %llu tokens", path, (unsigned long long)ntok);
    else if (!ss__read_le_array(f, ds->offsets, (size_t)count + 1, 8, &h) ||
             !ss__read_le_array(f, ds->tokens, (size_t)ntok, 4, &h) ||
             (has_labels && !ss__read_le_array(f, ds->labels, (size_t)count, 4, &h)) ||
             fread(tail, 1, 8, f) != 8)
        r = ss__fail(SS_ERR_IO, "%s: short read (the file changed while reading)", path);
    else if (ss__get_le(tail, 8) != h)
        r = ss__fail(SS_ERR_FORMAT, "%s: byte %llu: checksum mismatch (the file is damaged)", path,
                     (unsigned long long)(file_size - 8));
    fclose(f);
    if (r == SS_OK && ds->offsets[0] != 0)
        r = ss__fail(SS_ERR_FORMAT, "%s: byte %d: the first offset is not 0", path, SS__CACHE_HEADER);
    for (i = 0; r == SS_OK && i < count; i++) {
        /* offsets[i] is in [0, ntok] here, so the difference is taken only after the bounds */
        int64_t n = ds->offsets[i + 1] <= ds->offsets[i] || ds->offsets[i + 1] > (int64_t)ntok
                        ? 0 : ds->offsets[i + 1] - ds->offsets[i];
        if (n < 1 || n > INT_MAX)
            r = ss__fail(SS_ERR_FORMAT, "%s: byte %llu: offset %llu of sequence %llu is out of order",
                         path, (unsigned long long)(SS__CACHE_HEADER + 8 * (i + 1)),
                         (unsigned long long)ds->offsets[i + 1], (unsigned long long)i);
        else if ((int)n > max_len)
            max_len = (int)n;
    }
    if (r == SS_OK && ds->offsets[count] != (int64_t)ntok)
        r = ss__fail(SS_ERR_FORMAT, "%s: the last offset is not the token count", path);
    for (i = 0; r == SS_OK && i < ntok; i++)
        if (ds->tokens[i] < 0)
            r = ss__fail(SS_ERR_FORMAT, "%s: token %llu is negative", path, (unsigned long long)i);
    for (i = 0; r == SS_OK && has_labels && i < count; i++) /* as the TSV reader makes them */
        if (!(ds->labels[i] - ds->labels[i] == 0.0f))
            r = ss__fail(SS_ERR_FORMAT, "%s: label %llu is not a finite number", path,
                         (unsigned long long)i);
    if (r != SS_OK) {
        ss_dataset_free(ds);
        return r;
    }
    ds->count = (int64_t)count;
    ds->max_len = max_len;
    return SS_OK;
}
#endif

SS_API int ss_dataset_batch(const ss_dataset *ds, const int64_t *rows, int B, int pad_id,
                            int *ids, int *key_mask, float *labels) {
    int b, t, T = 1;
    for (b = 0; b < B; b++) {
        int n = (int)(ds->offsets[rows[b] + 1] - ds->offsets[rows[b]]);
        if (n > T) T = n;
    }
    for (b = 0; b < B; b++) {
        const int32_t *seq = ds->tokens + ds->offsets[rows[b]];
        int n = (int)(ds->offsets[rows[b] + 1] - ds->offsets[rows[b]]);
        for (t = 0; t < T; t++) {
            ids[b * T + t] = t < n ? seq[t] : pad_id;
            key_mask[b * T + t] = t < n;
        }
        if (labels && ds->labels) labels[b] = ds->labels[rows[b]];
    }
    return T;
}

// >>sampler ---------------------------------------------------------------------------------------

SS_API ss_result ss_sampler_init(ss_sampler *s, int64_t count, uint64_t seed, int shuffle) {
    SS_MEMSET(s, 0, sizeof *s);
    if (count < 1) return ss__fail(SS_ERR_INVALID, "sampler over %lld sequences", (long long)count);
    s->perm = (int64_t *)ss__malloc((size_t)count * sizeof(int64_t));
    if (!s->perm) return ss__fail(SS_ERR_NOMEM, "no memory for a permutation of %lld", (long long)count);
    s->seed = seed;
    s->count = count;
    s->shuffle = shuffle;
    s->epoch = -1;
    return SS_OK;
}

SS_API int64_t ss_sampler_row(ss_sampler *s, int64_t g) {
    int64_t epoch = g / s->count, i;
    if (!s->shuffle) return g % s->count;
    if (epoch != s->epoch) {
        ss_rng base, rng;
        ss_rng_seed(&base, s->seed);
        rng = ss_rng_split(&base, (uint64_t)epoch);
        for (i = 0; i < s->count; i++) s->perm[i] = i;
        for (i = s->count - 1; i > 0; i--) {
            int64_t j = (int64_t)(ss_rng_u64(&rng) % (uint64_t)(i + 1)), tmp = s->perm[i];
            s->perm[i] = s->perm[j];
            s->perm[j] = tmp;
        }
        s->epoch = epoch;
    }
    return s->perm[g % s->count];
}

SS_API void ss_sampler_free(ss_sampler *s) {
    ss_free(s->perm);
    SS_MEMSET(s, 0, sizeof *s);
}

// >>optimizer state -------------------------------------------------------------------------------

#ifndef SS_NO_STDIO
SS_API ss_result ss_optimizer_save(const ss_params *p, const char *path,
                                   const char *const *metadata, int metadata_pairs) {
    ss_safetensors_tensor *t;
    char *names;
    size_t name_size = SS_MAX_NAME + 2;
    ss_result r;
    int i, k, n = 2 * p->count;
    t = (ss_safetensors_tensor *)ss__malloc((size_t)n * sizeof *t);
    names = (char *)ss__malloc((size_t)n * name_size);
    if (!t || !names) {
        ss_free(t);
        ss_free(names);
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for the optimizer table", path);
    }
    for (i = 0; i < p->count; i++) {
        const ss_tensor *tn = &p->tensors[i];
        for (k = 0; k < 2; k++) {
            ss_safetensors_tensor *o = &t[2 * i + k];
            char *name = names + (size_t)(2 * i + k) * name_size;
            int d;
            snprintf(name, name_size, "%c.%s", k ? 'v' : 'm', tn->name);
            o->name = name;
            o->ndim = tn->ndim;
            for (d = 0; d < SS_SAFETENSORS_MAX_DIMS; d++) /* ndim <= SS_MAX_DIMS < MAX_DIMS */
                o->shape[d] = d < tn->ndim && d < SS_MAX_DIMS ? tn->shape[d] : 1;
            o->data = (k ? p->v : p->m) + tn->offset;
        }
    }
    r = ss_safetensors_write(path, t, n, metadata, metadata_pairs);
    ss_free(t);
    ss_free(names);
    return r;
}

SS_API ss_result ss_optimizer_load(ss_params *p, struct ss_safetensors *st) {
    char name[SS_MAX_NAME + 2];
    int i, k, d;
    ss_result r;
    for (k = 0; k < 2; k++) {
        for (i = 0; i < p->count; i++) {
            const ss_tensor *tn = &p->tensors[i];
            const ss_safetensors_entry *e;
            int idx;
            snprintf(name, sizeof name, "%c.%s", k ? 'v' : 'm', tn->name);
            idx = ss_safetensors_find(st, name);
            if (idx < 0)
                return ss__fail(SS_ERR_NOT_FOUND, "%s: no tensor '%s'", st->path, name);
            e = &st->entries[idx];
            for (d = 0; d < tn->ndim && e->ndim == tn->ndim; d++)
                if (e->shape[d] != tn->shape[d]) break;
            if (e->ndim != tn->ndim || d != tn->ndim)
                return ss__fail(SS_ERR_FORMAT, "%s: '%s' has %d dims of another shape than the "
                                "model's tensor", st->path, name, e->ndim);
            r = ss_safetensors_read_f32(st, idx, (k ? p->v : p->m) + tn->offset, tn->numel);
            if (r != SS_OK) return r;
        }
    }
    return SS_OK;
}
#endif

// >>tokenizer (implementation) --------------------------------------------------------------------

/* ---- UTF-8 ---- */

/* FNV-1a, 32 bits: the hash of vocabulary tokens and of the trainer's strings. */
SS_PRIVATE uint32_t ss__fnv1a(const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    uint32_t h = 2166136261u;
    while (n--) {
        h ^= *p++;
        h *= 16777619u;
    }
    return h;
}

/* ---- Unicode tables ---- */
/* @@ BEGIN GENERATED unicode tables @@ */
/* Unicode 15.0.0 tables for the BERT basic tokenizer: GENERATED by tools/gen_unicode.c from
   the Unicode Character Database (Debian's unicode-data). Do not edit; regenerate.
   Classes: 0 other, 1 dropped (NUL, U+FFFD, category C*), 2 space, 3 punctuation,
   4 Mn ending a combining run, 5 other Mn, 6 kept non-starter; +8 when the code point
   folds (changes under lowercasing and accent stripping). */
#define SS__UC_VERSION "15.0.0"
/* The class of code point cp < SS__UC_LIMIT is
     ss__uc_leaf[ss__uc_mid[ss__uc_top[cp >> 8] * 16 + ((cp >> 4) & 15)]][cp & 15] - 'A'
   (147 mid blocks, 543 distinct leaves of 16 code points). Above the limit, everything
   is dropped (unassigned, tags, private use) except U+E0100..E01EF, Mn starters. */
#define SS__UC_LIMIT 0x32400
static const unsigned char ss__uc_top[804] = {
    0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,17,21,22,23,24,25,26,27,28,29,30,31,32,33,
    34,35,17,17,36,17,37,38,39,40,41,42,43,44,45,46,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,47,17,48,49,50,51,52,53,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,
    54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,54,55,56,56,56,56,56,
    56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,54,57,58,
    17,59,60,61,62,63,64,65,66,67,17,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,
    88,89,90,91,92,17,17,17,93,94,95,56,56,56,56,56,56,56,56,56,96,17,17,17,17,97,56,56,56,56,56,
    56,56,56,56,56,56,56,56,56,56,17,17,98,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,
    56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,17,17,99,100,56,56,101,102,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,103,17,17,17,17,104,105,56,56,56,56,56,56,56,
    56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,106,17,107,108,
    56,56,56,56,56,56,56,56,56,109,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,56,110,111,
    112,113,114,115,116,117,118,17,17,119,56,56,56,56,120,121,122,123,56,124,56,56,125,126,127,56,
    56,128,129,130,56,131,132,133,17,17,17,134,135,136,17,137,138,56,56,56,56,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,139,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,140,141,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,17,17,142,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,17,17,17,17,17,17,143,56,56,56,56,56,56,56,56,56,56,56,56,54,54,144,56,56,56,
    56,56,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,145,17,17,17,17,17,17,17,17,17,
    17,17,17,17,17,17,146,
};
static const unsigned short ss__uc_mid[2352] = {
    0,1,2,3,4,5,6,7,1,1,8,9,10,11,12,13,10,14,15,16,17,18,15,19,20,21,22,23,24,25,26,18,10,25,27,
    28,29,30,30,30,30,30,30,30,30,30,30,30,31,31,31,31,32,31,31,33,34,10,35,36,37,38,39,40,10,10,
    10,41,30,42,39,43,44,39,39,39,45,46,47,48,39,39,39,49,10,50,30,30,51,52,31,53,54,30,55,56,57,
    58,59,30,60,31,61,62,30,30,30,30,63,64,65,30,66,67,30,31,68,30,30,30,30,30,69,70,30,30,60,71,
    30,72,73,74,30,75,76,30,77,78,30,30,79,31,80,31,81,30,41,82,83,84,85,6,86,87,88,89,90,91,92,93,
    94,87,88,95,96,97,98,99,100,101,88,102,103,104,92,105,106,87,88,107,108,109,92,110,111,112,113,
    114,115,116,98,76,117,118,88,119,120,121,92,122,123,118,88,124,125,126,92,127,128,118,30,129,
    130,131,92,30,132,133,30,134,135,136,98,137,138,30,30,139,140,141,1,1,142,30,143,144,145,146,1,
    1,147,148,30,149,150,151,152,153,154,155,156,157,158,159,1,1,30,30,160,161,3,162,163,164,165,
    166,10,10,167,30,30,168,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,169,170,30,
    30,169,30,30,171,172,173,30,30,30,172,30,30,30,174,175,176,30,177,10,10,10,10,10,178,6,30,30,
    30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,179,30,180,181,30,30,30,30,182,183,30,
    184,30,185,30,186,187,188,30,30,30,189,190,191,177,177,192,177,30,30,30,30,30,183,193,30,194,
    30,30,30,30,195,30,77,196,197,198,30,199,200,30,30,201,30,177,202,30,30,30,203,30,30,30,204,
    205,206,177,177,207,208,209,1,1,1,210,211,30,212,213,3,214,215,216,30,217,30,30,30,218,219,30,
    30,220,221,222,30,30,223,183,10,10,224,225,226,227,228,30,30,30,30,30,30,30,30,30,30,30,30,31,
    31,31,31,10,10,10,10,10,10,10,10,10,229,10,10,10,10,10,230,10,231,10,10,231,232,10,233,10,10,
    10,234,235,236,10,237,238,239,240,239,241,242,1,243,244,176,30,30,104,245,246,247,30,30,248,
    211,30,30,10,30,249,250,251,30,252,30,30,30,253,30,254,30,255,30,256,257,257,30,258,30,30,30,
    259,30,260,30,261,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,262,1,76,1,30,30,30,30,30,263,
    10,30,30,30,30,30,30,30,30,30,264,265,30,30,30,30,266,30,267,30,30,30,30,30,30,30,30,30,268,
    175,30,30,30,260,30,269,30,30,30,30,30,30,30,30,30,30,30,30,30,270,30,30,30,30,30,30,30,30,30,
    271,30,272,30,30,30,30,30,30,10,10,10,30,30,30,273,274,39,39,39,39,39,39,275,276,30,30,277,30,
    30,30,278,279,30,262,280,280,280,280,31,31,239,239,281,239,239,282,1,1,30,283,30,30,30,30,30,
    284,30,30,30,30,30,30,30,30,30,30,30,30,30,195,1,201,285,286,287,288,289,39,290,291,30,292,293,
    39,290,291,30,294,295,30,30,138,30,30,30,30,77,30,30,30,30,30,284,30,30,77,30,30,30,30,30,30,
    30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,176,30,30,30,262,30,30,223,296,30,201,1,39,39,
    297,298,39,299,30,30,30,30,30,300,30,30,301,301,39,39,39,302,303,304,305,306,307,308,1,309,310,
    30,311,177,30,30,30,312,30,30,30,30,313,177,31,314,30,30,315,30,316,317,30,176,81,30,30,318,
    319,320,321,77,30,30,322,323,324,325,30,326,30,30,30,327,328,329,330,331,332,333,280,30,30,30,
    201,30,30,30,30,30,30,30,334,177,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,10,
    10,10,10,10,10,10,335,30,336,30,30,201,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,337,338,339,10,10,10,
    233,10,10,10,10,10,10,340,1,1,262,341,37,342,343,30,30,30,30,30,30,30,344,345,30,30,30,30,30,
    223,30,30,30,30,30,346,30,30,278,1,1,30,156,347,31,239,239,348,349,350,30,30,30,30,30,30,30,
    176,351,352,4,353,30,354,265,30,30,30,30,77,355,356,280,357,358,30,173,359,199,199,1,1,30,30,
    30,30,30,30,30,76,360,30,30,361,30,30,30,30,77,176,104,1,1,30,30,362,1,1,1,1,1,1,1,1,30,176,30,
    30,30,104,62,201,30,30,363,30,76,30,30,364,30,365,30,30,366,367,1,1,10,10,368,30,30,30,30,30,
    30,199,177,10,10,369,30,201,30,30,110,30,30,30,370,371,371,372,101,373,1,1,1,1,30,30,30,262,30,
    195,110,1,272,30,30,374,1,1,1,1,375,30,30,376,30,377,30,30,30,77,378,1,1,1,30,379,30,380,30,
    381,1,1,1,1,30,30,30,382,30,346,30,30,383,384,30,385,183,386,30,387,30,30,1,1,30,30,388,389,30,
    30,30,390,30,391,30,392,30,393,394,1,1,1,1,1,30,30,30,30,183,1,1,1,10,10,10,395,30,30,30,396,
    30,30,397,177,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,30,77,30,30,398,399,1,1,1,400,30,30,110,30,
    401,402,1,30,403,1,1,30,201,1,30,262,404,30,30,405,406,346,30,407,216,408,409,410,411,30,183,
    177,412,30,413,414,415,30,30,416,216,30,30,417,418,419,138,200,30,101,420,421,422,1,1,1,423,
    424,425,30,30,420,426,177,427,87,88,428,429,430,431,432,1,1,1,1,1,1,1,1,30,30,30,405,433,434,
    399,1,30,30,30,435,436,177,1,1,1,1,1,1,1,1,1,1,30,30,30,437,438,439,1,1,30,30,30,440,441,177,
    442,1,30,30,443,444,177,1,1,1,30,445,446,447,262,1,1,1,1,1,1,1,1,1,1,1,30,30,420,448,1,1,1,1,1,
    1,10,10,30,30,30,449,450,451,30,452,453,177,1,1,1,1,454,30,30,455,456,1,457,30,30,458,459,460,
    30,30,461,462,463,30,30,30,30,183,347,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,88,30,30,464,465,30,176,
    466,30,467,468,469,1,1,1,1,470,30,30,471,472,177,473,30,77,474,177,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,30,475,216,118,30,476,477,177,1,1,1,1,1,104,30,30,30,478,30,30,30,30,30,30,30,30,30,
    177,1,1,1,1,1,1,30,30,30,30,30,30,77,479,30,30,30,30,30,30,30,30,30,30,30,30,284,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,30,30,30,30,30,30,480,30,30,30,1,481,482,1,1,1,1,1,1,1,1,1,1,30,30,
    30,30,262,1,1,1,1,1,1,1,1,1,1,1,30,30,30,183,30,77,320,30,30,30,30,77,177,30,199,483,30,30,30,
    484,485,283,101,486,30,1,1,1,1,1,1,1,1,1,1,1,10,10,30,30,30,487,1,1,1,1,1,1,30,30,30,30,488,30,
    30,30,489,81,1,1,1,1,490,491,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,110,30,30,30,30,30,
    30,30,30,30,30,30,30,30,195,1,1,183,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,492,30,30,344,493,1,494,495,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,
    30,30,30,201,30,30,30,30,30,30,76,176,183,496,1,1,1,1,1,1,156,156,497,156,498,30,30,30,30,30,
    30,30,284,1,1,1,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,195,30,30,499,30,30,500,501,502,
    503,30,504,505,36,30,76,1,30,30,30,30,506,1,1,1,1,1,1,1,30,284,30,284,30,30,30,30,30,262,30,
    183,1,1,1,1,1,1,1,1,30,30,30,30,30,350,30,30,30,187,507,508,509,30,30,30,510,511,30,512,513,
    118,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,391,30,30,30,30,30,30,30,30,30,
    30,30,30,30,30,30,30,30,514,30,30,30,156,156,156,515,156,156,516,321,517,518,519,1,1,1,1,1,30,
    77,520,1,1,1,1,1,1,1,1,1,1,1,1,1,521,522,523,30,30,30,199,1,524,1,1,1,1,1,1,1,30,30,176,525,
    114,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,30,526,1,30,30,527,528,1,1,1,1,1,1,1,1,1,1,1,1,1,
    30,527,177,1,1,1,1,1,1,1,1,1,1,1,1,1,1,529,77,30,30,30,30,30,30,30,30,30,30,30,30,530,531,1,1,
    10,10,532,30,533,320,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,138,30,30,30,200,1,1,1,1,138,30,30,199,
    1,1,1,1,1,1,1,1,1,1,1,1,509,30,534,535,536,537,538,539,283,201,540,201,1,1,1,399,30,30,201,30,
    30,30,30,30,30,284,77,138,138,138,30,195,30,30,30,30,30,30,30,30,30,30,199,1,1,1,98,30,344,30,
    30,201,183,399,195,1,1,1,1,1,1,1,1,1,30,30,30,30,30,30,30,30,30,30,30,30,30,382,176,176,30,30,
    30,30,30,30,30,336,30,30,30,30,30,177,201,104,201,30,30,30,110,177,30,30,110,30,199,399,1,1,1,
    1,30,30,30,30,30,284,199,176,183,30,30,424,541,201,183,183,30,30,30,30,30,30,30,30,30,542,30,
    30,76,1,1,177,30,30,30,30,30,30,30,30,30,30,30,30,30,30,1,1,30,30,30,177,30,30,30,30,30,30,30,
    30,30,30,30,30,30,199,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,
    399,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,104,1,10,233,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,30,30,30,30,76,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,30,1,1,1,
    1,1,
};
static const char ss__uc_leaf[543][17] = {
    "BBBBBBBBBCCBBCBB","BBBBBBBBBBBBBBBB","CDDDDDDDDDDDDDDD","AAAAAAAAAADDDDDD","DIIIIIIIIIIIIIII",
    "IIIIIIIIIIIDDDDD","DAAAAAAAAAAAAAAA","AAAAAAAAAAADDDDB","CDAAAAADAAADABAA","AAAAAADDAAADAAAD",
    "IIIIIIIIIIIIIIII","IIIIIIIAIIIIIIIA","IIIIIIAIIIIIIIII","AIIIIIIAAIIIIIAI","IAIIIIIIIIIIIIII",
    "IIIIIIIAIIIIIIII","IAIAIIIIAIIIIIII","AIAIIIIIIAIAIIII","IIIAIIIIIIIIIIII","IIIIIIIIIIIIIIIA",
    "AIIAIAIIAIIIAAII","IIAIIAIIIAAAIIAI","IIIAIAIIAIAAIAII","IIIIAIAIIAAAIAAA","AAAAIIAIIAIIAIII",
    "IIIIIIIIIIIIIAII","IIIIIAIIIIIIIIII","IAIAIAIIIIIIIIII","IIIIAAAAAAIIAIIA","AIAIIIIAIAIAIAIA",
    "AAAAAAAAAAAAAAAA","FFFFFFFFFFFFFFFF","FFFFFFFFFFFFFFFE","IAIAIAIABBAAAALI","BBBBAIILIIIBIBII",
    "IIBIIIIIIIIIIIII","IAAAAAAAAAAAAAAA","AAAAAAAAAAIIIIII","AAAIIAAAIAIAIAIA","IAIAIAIAIAIAIAIA",
    "AAAAIAAIAIIAAIII","AAAAAAAAAIAAAAAA","IIAIAAAIAAAAIIIA","IAIAIAIIIAIAIAIA","IAAFFFFFAAIAIAIA",
    "IIIIAIAIAIAIAIAA","IIIIIAIIIAIIIIII","IAIIIIIIIAIIIIII","IIIIIIIAIIIAIAIA","BIIIIIIIIIIIIIII",
    "IIIIIIIBBADDDDDD","AAAAAAAAADDBBAAA","BFFFFFFFFFFFFFFF","FFFFFFFFFFFFFFDF","DFFDFFDFBBBBBBBB",
    "AAAAAAAAAAABBBBA","AAADDBBBBBBBBBBB","BBBBBBAAADDADDAA","FFFFFFFFFFFDBDDD","AAIIIIIAAAAAAAAA",
    "AAAAAAAAAAAFFFFF","AAAAAAAAAADDDDAA","FAAAAAAAAAAAAAAA","IAIAAAAAAAAAAAAA","AAAIDAFFFFFFFBAF",
    "FFFFFAAFFAFFFFAA","DDDDDDDDDDDDDDBB","AFAAAAAAAAAAAAAA","FFFFFFFFFFFBBAAA","AAAAAAEEEEEEEEEE",
    "EABBBBBBBBBBBBBB","FFFFAAADDDABBFAA","AAAAAAFFFFAFFFFF","FFFFAFFFAFFFFFBB","DDDDDDDDDDDDDDDB",
    "AAAAAAAAAFFFBBDB","AAAAAAAAAAABBBBB","AAAAAAAAAAAAAAAB","BBBBBBBBFFFFFFFF","AAAAAAAAAAFFFFFF",
    "FFBFFFFFFFFFFFFF","EEEAAAAAAAAAAAAA","AIAAIAAAAAEAFAAA","AEEEEEEEEAAAAFAA","AFFFFEEEIIIIIIII",
    "AAEEDDAAAAAAAAAA","AEAABAAAAAAAABBA","ABBAAAAAAAAAAAAA","AAAAAAAAABAAAAAA","ABABBBAAAABBFAAA",
    "AEEEEBBAABBIIFAB","BBBBBBBABBBBIIBI","AAEEBBAAAAAAAAAA","AAAAAAAAAAAAADFB","BEEABAAAAAABBBBA",
    "ABAIBAIBAABBFBAA","AEEBBBBEEBBEEFBB","BEBBBBBBBIIIABIB","BBBBBBAAAAAAAAAA","EEAAAEDBBBBBBBBB",
    "BEEABAAAAAAAAABA","AABAAAAAAAAAAAAA","ABAABAAAAABBFAAA","AEEEEEBEEABAAFBB","ABBBBBBBBBBBBBBB",
    "DABBBBBBBAEEEEEE","BEAABAAAAAAAABBA","ABAABAAAAABBFAAE","AEEEEBBAIBBIIFBB","BBBBBEEABBBBIIBA",
    "AAAAAAAABBBBBBBB","BBEABAAAAAABBBAA","ABAAIABBBAABABAA","BBBAABBBAAABBBAA","AAAAAAAAAABBBBAA",
    "EAABBBAAABIIIFBB","ABBBBBBABBBBBBBB","EAAAEAAAAAAAABAA","ABAAAAAAAAAAAAAA","AAAAAAAAAABBFAEE",
    "EAAAABEEEBEEEFBB","BBBBBFFBAAABBABB","BBBBBBBDAAAAAAAA","AEAADAAAAAAAABAA","AAAABAAAAABBFAAE",
    "IAAAABEIIBIIEFBB","BBBBBAABBBBBBAAB","BAAABBBBBBBBBBBB","EEAAAAAAAAAAABAA","AAAAAAAAAAAFFAAA",
    "AEEEEBAAABIIIFAA","BBBBAAAAAAAAAAAA","BEAABAAAAAAAAAAA","AAAAAAABBBAAAAAA","AABAAAAAAAAABABB",
    "AAAAAAABBBFBBBBA","AAEEEBEBAAIAIIIA","BBAADBBBBBBBBBBB","BAAAAAAAAAAAAAAA","AEAAEEEEFFFBBBBA",
    "AAAAAAAEFFFFEEED","AAAAAAAAAADDBBBB","BAABABAAAAABAAAA","AAAABABAAAAAAAAA","AEAAEEEEFFFEEABB",
    "AAAAABABFFFFEEEB","AAAAAAAAAABBAAAA","AAAADDDDDDDDDDDD","DDDADAAAFFAAAAAA","AAAAAFAFAFDDDDAA",
    "AAAIAAAABAAAAIAA","AAIAAAAIAAAAIAAA","AAAAAAAAAIAAABBB","BFFFFFEEEEFFFFEA","FFFFFDFFAAAAAEEE",
    "EEEEEEEEBEEEEEEE","EEEEEEEEEEEEEEEE","EEEEEEEEEEEEEBAA","AAAAAAFAAAAAABAA","DDDDDAAAADDBBBBB",
    "AAAAAAIAAAAAAEEE","EAEEEEEFAFFAAEEA","AAAAAAAAEEAAAAEE","EAAAAAAAAAAAAAAA","AEEEEAAAAAAAAAAA",
    "AAEAAEEAAAAAAFAA","AAAAAAAAAAAAAEAA","IIIIIIBIBBBBBIBB","AAAAAAAAAAADAAAA","AAAAAAAAABAAAABB",
    "AAAAAAABABAAAABB","ABAAAABBAAAAAAAB","ABAAAABBAAAAAAAA","AAAAAAABAAAAAAAA","AAAAAAAAAAABBFFF",
    "DDDDDDDDDAAAAAAA","AAAAAAAAAAAAABBB","AAAAAAAAAABBBBBB","IIIIIIBBAAAAAABB","AAAAAAAAAAAAAADA",
    "CAAAAAAAAAAAAAAA","AAAAAAAAAAADDBBB","AAAAAAAAAAADDDAA","AAAAAAAAABBBBBBB","AAEEFGBBBBBBBBBA",
    "AAEEGDDBBBBBBBBB","AAEEBBBBBBBBBBBB","AAAAAAAAAAAAABAA","ABEEBBBBBBBBBBBB","AAAAEEAEEEEEEEAA",
    "AAAAAAEAAEEEEEEE","EEFEDDDADDDAAFBB","DDDDDDDDDDDEEEBE","AAAAAEEAAAAAAAAA","AAAAAAAAAFABBBBB",
    "AAAAAABBBBBBBBBB","EEEAAAAEEAAABBBB","AAEAAAAAAFFFBBBB","ABBBDDAAAAAAAAAA","AAAAAAAAAAAAAABB",
    "AAAAABBBBBBBBBBB","AAAAAAAAAAAABBBB","AAAAAAAAAAABBBAA","AAAAAAAFFAAEBBDD","AAAAAAEAEEEEEEEB",
    "FAEAAEEEEEEEEAAA","AAAEEFFFFFFFFBBF","DDDDDDDADDDDDDBB","FFFFFFFFFFFFFFAF","FFFFFFFFFFFFFFFB",
    "EEEEAAIAIAIAIAIA","AAIAAAAAAAAAAAAA","AAAAFAEEEEEIEIAA","IIEIGAAAAAAAABBB","DAAAAAAAAAAFFFFF",
    "FFFFAAAAAAAAADDB","EEAAAAAAAAAAAAAA","AAEEEEAAEEGFEEAA","AAAAAAFAEEAAAEAE","EEGGBBBBBBBBDDDD",
    "AAAAAAAAAAAAEEEE","EEEEAAEFBBBDDDDD","AAAAAAAAAABBBAAA","AAAAAAAAAAAAAADD","IIIIIIIIIIIBBIII",
    "DDDDDDDDBBBBBBBB","FFFDFFFFFFFFFFFF","FAFFFFFFFAAAAFAA","AAAAFAAAFFABBBBB","IIIIIIIIIIAIAAIA",
    "IIIIIIIIIIIAIAIA","IIIIIIBBIIIIIIBB","IIIIIIIIBIBIBIBI","IIIIIIIIIIIIIIBB","IIIIIBIIIIIIIAIA",
    "AIIIIBIIIIIIIIII","IIIIBBIIIIIIBIII","BBIIIBIIIIIIIIAB","CCCCCCCCCCCBBBBB","DDDDDDDDDDDDDDDD",
    "DDDDDDDDCCBBBBBC","DDDDADDDDDDDDDDD","DDADDDDDDDDDDDDC","AABBAAAAAAAAADDA","AAAAAAAAAAAAADDB",
    "FFFFFFFFFFFFFAAA","AFAAAFFFFFFFFFFF","FBBBBBBBBBBBBBBB","AAAAAAIAAAIIAAAA","AAAIAAAAAAAABBBB",
    "AAAAAAAAAAIIAAAA","AAAAAAAAAAAAAAIA","AAAAAAAAAAAAAIII","AAAAIAAAAIAAIAAA","AAAAIAIAAAAAAAAA",
    "AIAAIAAIAIAAAAAA","IAIAAAAAAAAAAIII","IIAAIIAAIIAAAAAA","AAAAAAAAAAAAIIII","IIIIAAAAAAIIIIAA",
    "AAAAAAAADDDDAAAA","AAAAAAAAALLAAAAA","AAAAAAABBBBBBBBB","AAAAAAIIIIIIIIII","AAAAAAAADDDDDDDD",
    "DDDDDDAAAAAAAAAA","AAAAADDAAAAAAAAA","AAAAAADDDDDDDDDD","AAADDDDDDDDDDDDD","AAAAAAAAAAAADDAA",
    "AAAAAAAAAAAAIAAA","AAAABBAAAAAAAAAA","AAAAAABAAAAAAAAA","IAIIIAAIAIAIAIII","IAIAAIAAAAAAAAII",
    "IAIAAAAAAAAIAIAF","FFIABBBBBDDDDADD","AAAAAABABBBBBABB","AAAAAAAABBBBBBBA","DBBBBBBBBBBBBBBF",
    "AAAAAAABAAAAAAAB","DDDDDDDDDDDDDDDA","AADDDDDDDDDDDDBB","AAAAAAAAAABAAAAA","AAAABBBBBBBBBBBB",
    "CDDDAAAADDDDDDDD","DDAADDDDDDDDDDDD","AAAAAAAAAAFFFFGG","DAAAAAAAAAAAADAA","BAAAAAAAAAAAIAIA",
    "IAIAAIAIAIAAAAAA","IIAIIAIIAIIAIIAA","AAAAIAABBFFAAAIA","DAAAAAAAAAAAIAIA","AAAAIAAIIIIDAAIA",
    "BBBBBAAAAAAAAAAA","AAAAAAAAAAAAADDD","IAIAIAIAIAIAIAAF","AAADFFFFFFFFFFDA","IAIAIAIAIAIAAAFF",
    "FFDDDDDDBBBBBBBB","AAIAIAIAIAIAIAIA","AAAAAAAAAIAIAIIA","IAIAIAIAAAAIAIAA","IAIAAAIAIAIAIAIA",
    "IAIAIAIAIAIIIIIA","IIIIIAIAIAIAIAIA","IAIAIIIIAIABBBBB","IABABAIAIABBBBBB","BBAAAIAAAAAAAAAA",
    "AAEAAAFAAAAEAAAA","AAAAAEEAAAAAFBBB","AAAADDDDBBBBBBBB","AAAAFEBBBBBBBBDD","FFAAAAAADDDADAAE",
    "AAAAAAEEEEEFFFDD","AAAAAAAEEEEEEEEE","EEAGBBBBBBBBBBBD","AAAFAAEEEEAAEEAA","GDDDDDDDDDDDDDBA",
    "AAAAAAAAAABBBBDD","AAAAAEAAAAAAAAAA","AAAAAAAAAEEEEEEA","AEEAAEEBBBBBBBBB","AAAEAAAAAAAAEABB",
    "AAAAAAAAAABBDDDD","AAAAAAAAAAAAEAAA","FAFFFAAFFAAAAAFF","AFABBBBBBBBBBBBB","BBBBBBBBBBBAAADD",
    "AAAAAAAAAAAAEEAA","DDAAAAFBBBBBBBBB","BAAAAAABBAAAAAAB","BAAAAAABBBBBBBBB","AAAAAEAAEAADAFBB",
    "IIIIBBBBBBBBBBBB","AAAAAAABBBBAAAAA","IIIIIIIIIIIIIIAA","IAIAAIIIIIIIIIIA","IAIAAIIAAAIIIIII",
    "IIIIIIIIIIBBBBBB","BBBAAAAABBBBBIFI","IIIIIIIBIIIIIBIB","IIBIIBIIIIIIIIIA","AAABBBBBBBBBBBBB",
    "BBBAAAAAAAAAAAAA","BBAAAAAAAAAAAAAA","DDDDDDDDDDBBBBBB","DDDBDDDDDDDDDDDD","DDADAAABDADDBBBB",
    "AAAAABAAAAAAAAAA","BDDDADDDDDDADDDD","AAAAAAAAAADDAAAD","IIIIIIIIIIIDDDAD","AAAAAAAAAAADADAD",
    "BBAAAAAABBAAAAAA","BBAAAAAABBAAABBB","BBBBBBBBBBBBABBB","AAAAAAAAAAAABAAA","AAAAAAAAAAABAABA",
    "DDDBBBBAAAAAAAAA","AAAABBBAAAAAAAAA","AAAAAAAAAAAAAFBB","AAAABBBBBBBBBAAA","AAAAAAFFFFFBBBBB",
    "AAAAAAAAAAAAAABD","AAAABBBBAAAAAAAA","DAAAAABBBBBBBBBB","IIIIIIIIAAAAAAAA","IIIIBBBBAAAAAAAA",
    "AAAABBBBBBBBBBBD","IIIIIIIIIIIBIIII","IIIBIIBAAAAAAAAA","AABAAAAAAABAABBB","ABAAAAAAAAABBBBB",
    "AAAAAABBABAAAAAA","AAAAAABAABBBABBA","AAAAAABDAAAAAAAA","BBBBBBBAAAAAAAAA","AAABAABBBBBAAAAA",
    "AAAAAAAAAAAABBBD","AAAAAAAAAABBBBBD","AAAAAAAABBBBAAAA","AEEEBEEBBBBBEFEF","AAAABAAABAAAAAAA",
    "AAAAAABBFFFBBBBF","DDDDDDDDDBBBBBBB","AAAAAAAAAAAAAAAD","AAAAAFFBBBBAAAAA","DDDDDDDBBBBBBBBB",
    "AAAAAABBBDDDDDDD","AAAAAABBAAAAAAAA","AAABBBBBAAAAAAAA","AABBBBBBBDDDDBBB","BBBBBBBBBAAAAAAA",
    "IIIBBBBBBBBBBBBB","AAABBBBBBBAAAAAA","AAAAFFFFBBBBBBBB","AAAAAAAAAABFFDBB","AABBBBBBBBBBBBBB",
    "BBBBBBBBBBBBBFFF","AAAAAAFFFFFFFFFF","FAAAADDDDDBBBBBB","AAFFFFDDDDBBBBBB","AEAAAAAAAAAAAAAA",
    "AAAAAAAAEEEEEEEE","EEEEEEFDDDDDDDBB","FAAEEABBBBBBBBBF","AAAAAAAAAAIAIAAA","AAAAAAAAAAAIAAAA",
    "AAAEEEEAAFFDDBDD","DDEBBBBBBBBBBBBB","FFFAAAAAAAAAAAAA","AAAAAAAEEEEEAEEE","EEEFFBAAAAAAAAAA",
    "DDDDAAAABBBBBBBB","AAAFDDABBBBBBBBB","AAAAAAEEEEEEEEEA","GAAAADDDDEFEEDAE","AAAAAAAAAAADADDD",
    "AAAAAAAAAAAAAAAE","EEAAEGFEDDDDDDEA","AEBBBBBBBBBBBBBB","AAAAAAABABAAAABA","AAAAAAAAAAAAAABA",
    "AAAAAAAAADBBBBBB","AAAEEEEEEFFBBBBB","EEAABAAAAAAAABBA","ABAABAAAAABFFAAA","EAAAABBAABBIIGBB",
    "ABBBBBBABBBBBAAA","AAAABBFFFFFFFBBB","FFFFFBBBBBBBBBBB","AAFEEAFAAAADDDDD","AAAAAAAAAADDBDFA",
    "AAAEEEEEEAEIIAIE","EAFFAADABBBBBBBB","AAEEEEBBAAIIEEAF","FDDDDDDDDDDDDDDD","DDDDDDDDAAAAEEBB",
    "AAAEEEEEEEEAAEAF","EDDDABBBBBBBBBBB","DDDDDDDDDDDDDBBB","AAAAAAAAAAAEAEAA","EEEEEEGFADBBBBBB",
    "AAAAAAAAAAABBEEE","AAEEEEAEEEEFBBBB","AAAAAAAAAAAADDDA","EEEEEEEEAFFDBBBB","AAABBBBBBBBBBBBA",
    "AAAAAAABBABBAAAA","AAAABAABAAAAAAAA","AAAAAABAIBBEEGFA","AAAFDDDBBBBBBBBB","AAAAAAAABBAAAAAA",
    "AAAAEEEEBBEEAAAA","FADAABBBBBBBBBBB","AEEEEEEEEEEAAAAA","AAAEFEEEEAAEEEED","DDDDDDDFBBBBBBBB",
    "AEEEEEEAAEEEAAAA","AAAAAAAAAAEEEEEE","EEEEEEEAEFDDDADD","DDDBBBBBBBBBBBBB","EEEEEEEBEEEEEEAF",
    "ADDDDDBBBBBBBBBB","DDAAAAAAAAAAAAAA","BBEEEEEEEEEEEEEE","EEEEEEEEBAEEEEEE","EAEEAEEBBBBBBBBB",
    "AAAAAAABAABAAAAA","AEEEEEEBBBEBEEBE","EEFEFFAEBBBBBBBB","AAAAAABAABAAAAAA","EEBAAEAFABBBBBBB",
    "AAAEEAADDBBBBBBB","AAAAAAEEEEEBBBAA","EGFDDDDDDDDDDDDD","AABBBBBBBBBBBBBD","DDDDDBBBBBBBBBBB",
    "ADDBBBBBBBBBBBBB","EAAAAAAEEEEEEEEE","EEEEEEBBBBBBBBBB","FFFFFDBBBBBBBBBB","FFFFFFFDDDDDAAAA",
    "AAAADABBBBBBBBBB","AAAAAAAABBBBBAAA","AAAAAAADDDDBBBBB","AAAAAAAAAAABBBBE","AAAAAAAABBBBBBBE",
    "AADAEBBBBBBBBBBB","GGBBBBBBBBBBBBBB","AAAABAAAAAAABAAB","BBABBBBBBBBBBBBB","AAABBABBBBBBBBBB",
    "BBBBAAAABBBBBBBB","AAAAAAAAAABBAEFD","EEEEEEEEEEEEEEBB","EEEEEEEBBBBBBBBB","AAAAAAABBAAAAAAA",
    "AAAAAAAAAAAAAAII","IIIIIGGFFFAAAGGG","GGGBBBBBBBBFFFFF","FFFAAFFFFFFFAAAA","AAAAAAAAAAFFFFAA",
    "AAAAAAAAAAAIIIII","AAFFFABBBBBBBBBB","BBABBAABBAAAABAA","AAAAAAAAAABABAAA","AAAABAAAAAAAAAAA",
    "AAAAAABAAAABBAAA","AAAAABAAAAAAABAA","AAAAAAAAAABAAAAB","AAAAABABBBAAAAAA","AAAAAAAAAAAABBAA",
    "EEEEEEEAAAAEEEEE","EEEEEEEEEEEEEAAA","AAAAEAADDDDDBBBB","BBBBBBBBBBBEEEEE","BEEEEEEEEEEEEEEE",
    "BBBBBAAAAAABBBBB","FFFFFFFBFFFFFFFF","FFFFFFFFFBBFFFFF","FFBFFBFFFFFBBBBB","BBBBBBBBBBBBBBBF",
    "FFFFFFFAAAAAAABB","AAAAAAAAAAAAAAFB","AAAAAAAAAAAAFFFF","AAAAAAAAAABBBBBA","AAAAAAABAAAABAAB",
    "AAAAABBAAAAAAAAA","FFFFFFFBBBBBBBBB","IIAAAAAAAAAAAAAA","AAAAFFFFFFFABBBB","BAABABBABAAAAAAA",
    "AAABAAAABABABBBB","BBABBBBABABABAAA","BAABABBABABABABA","BAABABBAAAABAAAA","AAABAAAABAAAABAB",
    "BAAABAAAAABAAAAA","AAAAAABBBBBBBBAA","AAABAAAAAAAAAAAA",
};
/* Folds (lowercase, then NFD without Mn) of the code points flagged +8, Hangul aside:
   block i (cp >> 4 == ss__uc_fold_block[i]) has its first at ss__uc_fold_base[i]; the
   value is the folded code point, or 0x110000 + k for ss__uc_fold_multi[k]. */
#define SS__UC_NFOLD_BLOCK 286
static const unsigned short ss__uc_fold_block[286] = {
    4,5,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,55,56,57,58,59,
    60,61,62,63,64,65,66,67,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,98,108,109,146,147,
    149,156,157,163,165,180,181,185,188,204,212,221,244,245,246,258,266,267,268,314,315,316,317,
    318,319,432,433,435,436,457,458,459,480,481,482,483,484,485,486,487,488,489,490,491,492,493,
    494,495,496,497,498,499,500,501,502,503,504,505,506,507,508,509,510,511,530,531,534,536,537,
    538,540,544,546,548,550,551,552,554,558,562,587,588,685,704,705,706,710,711,712,713,714,715,
    716,717,718,719,772,773,774,775,777,778,779,780,781,783,2660,2661,2662,2664,2665,2674,2675,
    2676,2677,2678,2679,2680,2681,2682,2683,2684,2685,2687,3984,3985,3986,3987,3988,3989,3990,3991,
    3992,3993,3994,3995,3996,3997,3998,3999,4000,4001,4002,4003,4004,4005,4006,4007,4008,4009,4010,
    4011,4012,4013,4017,4018,4019,4020,4082,4083,4160,4161,4162,4171,4172,4173,4183,4184,4185,4296,
    4297,4298,4299,4361,4362,4404,4427,4443,4490,4491,4499,5860,5861,7445,7446,7451,7452,7824,7825,
    7826,12160,12161,12162,12163,12164,12165,12166,12167,12168,12169,12170,12171,12172,12173,12174,
    12175,12176,12177,12178,12179,12180,12181,12182,12183,12184,12185,12186,12187,12188,12189,
    12190,12191,12192,12193,
};
static const unsigned short ss__uc_fold_base[286] = {
    0,15,26,42,56,71,83,99,114,129,142,154,169,184,199,209,219,229,237,246,261,276,291,307,322,335,
    343,352,358,367,383,398,399,405,411,419,426,442,458,474,475,482,490,499,503,511,519,527,536,
    550,564,576,584,592,600,615,631,638,643,645,646,647,649,657,659,662,664,668,671,673,674,677,
    682,685,689,691,694,695,696,712,728,736,752,768,784,800,816,822,827,828,830,833,849,865,879,
    895,911,927,943,959,975,991,1007,1023,1035,1051,1067,1083,1099,1115,1128,1144,1156,1172,1188,
    1200,1212,1228,1242,1258,1274,1290,1303,1317,1330,1346,1357,1360,1361,1377,1378,1380,1381,1384,
    1387,1389,1393,1398,1404,1410,1414,1422,1424,1434,1450,1451,1467,1483,1499,1509,1514,1522,1530,
    1538,1546,1554,1562,1566,1567,1569,1577,1582,1592,1594,1596,1604,1609,1619,1625,1633,1641,1648,
    1656,1662,1669,1676,1684,1692,1700,1704,1710,1717,1727,1737,1744,1747,1748,1764,1780,1796,1812,
    1828,1844,1860,1876,1892,1908,1924,1940,1956,1972,1988,2004,2018,2030,2040,2056,2072,2088,2102,
    2118,2134,2150,2166,2182,2198,2208,2210,2216,2229,2242,2257,2268,2284,2300,2308,2324,2340,2344,
    2359,2374,2379,2395,2411,2427,2430,2432,2433,2435,2438,2440,2456,2472,2473,2489,2505,2507,2512,
    2517,2518,2534,2550,2552,2568,2584,2600,2616,2632,2648,2664,2680,2696,2712,2728,2744,2760,2776,
    2792,2808,2824,2840,2856,2872,2888,2904,2920,2936,2952,2968,2984,3000,3016,3032,3048,3064,3080,
};
static const uint32_t ss__uc_fold_value[3094] = {
    97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,
    121,122,97,97,97,97,97,97,230,99,101,101,101,101,105,105,105,105,240,110,111,111,111,111,111,
    248,117,117,117,117,121,254,97,97,97,97,97,97,99,101,101,101,101,105,105,105,105,110,111,111,
    111,111,111,117,117,117,117,121,121,97,97,97,97,97,97,99,99,99,99,99,99,99,99,100,100,273,101,
    101,101,101,101,101,101,101,101,101,103,103,103,103,103,103,103,103,104,104,295,105,105,105,
    105,105,105,105,105,105,307,106,106,107,107,108,108,108,108,108,108,320,322,110,110,110,110,
    110,110,331,111,111,111,111,111,111,339,114,114,114,114,114,114,115,115,115,115,115,115,115,
    115,116,116,116,116,359,117,117,117,117,117,117,117,117,117,117,117,117,119,119,121,121,121,
    122,122,122,122,122,122,595,387,389,596,392,598,599,396,477,601,603,402,608,611,617,616,409,
    623,626,629,111,111,419,421,640,424,643,429,648,117,117,650,651,436,438,658,441,445,454,454,
    457,457,460,460,97,97,105,105,111,111,117,117,117,117,117,117,117,117,117,117,97,97,97,97,230,
    230,485,103,103,107,107,111,111,111,111,658,658,106,499,499,103,103,405,447,110,110,97,97,230,
    230,248,248,97,97,97,97,101,101,101,101,105,105,105,105,111,111,111,111,114,114,114,114,117,
    117,117,117,115,115,116,116,541,104,104,414,547,549,97,97,101,101,111,111,111,111,111,111,111,
    111,121,121,11365,572,410,11366,578,384,649,652,583,585,587,589,591,881,883,697,887,59,1011,
    168,945,183,949,951,953,959,965,969,953,945,946,947,948,949,950,951,952,953,954,955,956,957,
    958,959,960,961,963,964,965,966,967,968,969,953,965,945,949,951,953,965,953,965,959,965,969,
    983,978,978,985,987,989,991,993,995,997,999,1001,1003,1005,1007,952,1016,1010,1019,891,892,893,
    1077,1077,1106,1075,1108,1109,1110,1110,1112,1113,1114,1115,1082,1080,1091,1119,1072,1073,1074,
    1075,1076,1077,1078,1079,1080,1080,1082,1083,1084,1085,1086,1087,1088,1089,1090,1091,1092,1093,
    1094,1095,1096,1097,1098,1099,1100,1101,1102,1103,1080,1077,1077,1075,1110,1082,1080,1091,1121,
    1123,1125,1127,1129,1131,1133,1135,1137,1139,1141,1141,1141,1145,1147,1149,1151,1153,1163,1165,
    1167,1169,1171,1173,1175,1177,1179,1181,1183,1185,1187,1189,1191,1193,1195,1197,1199,1201,1203,
    1205,1207,1209,1211,1213,1215,1231,1078,1078,1220,1222,1224,1226,1228,1230,1072,1072,1072,1072,
    1237,1077,1077,1241,1241,1241,1078,1078,1079,1079,1249,1080,1080,1080,1080,1086,1086,1257,1257,
    1257,1101,1101,1091,1091,1091,1091,1091,1091,1095,1095,1271,1099,1099,1275,1277,1279,1281,1283,
    1285,1287,1289,1291,1293,1295,1297,1299,1301,1303,1305,1307,1309,1311,1313,1315,1317,1319,1321,
    1323,1325,1327,1377,1378,1379,1380,1381,1382,1383,1384,1385,1386,1387,1388,1389,1390,1391,1392,
    1393,1394,1395,1396,1397,1398,1399,1400,1401,1402,1403,1404,1405,1406,1407,1408,1409,1410,1411,
    1412,1413,1414,1575,1575,1608,1575,1610,1749,1729,1746,2344,2352,2355,2325,2326,2327,2332,2337,
    2338,2347,2351,1114112,1114113,2465,2466,2479,2610,2616,2582,2583,2588,2603,2887,1114114,
    1114115,2849,2850,1114116,1114117,1114118,1114119,3285,3285,3286,3266,1114120,1114121,1114122,
    1114123,3545,1114124,1114125,1114126,3906,3916,3921,3926,3931,3904,4133,11520,11521,11522,
    11523,11524,11525,11526,11527,11528,11529,11530,11531,11532,11533,11534,11535,11536,11537,
    11538,11539,11540,11541,11542,11543,11544,11545,11546,11547,11548,11549,11550,11551,11552,
    11553,11554,11555,11556,11557,11559,11565,43888,43889,43890,43891,43892,43893,43894,43895,
    43896,43897,43898,43899,43900,43901,43902,43903,43904,43905,43906,43907,43908,43909,43910,
    43911,43912,43913,43914,43915,43916,43917,43918,43919,43920,43921,43922,43923,43924,43925,
    43926,43927,43928,43929,43930,43931,43932,43933,43934,43935,43936,43937,43938,43939,43940,
    43941,43942,43943,43944,43945,43946,43947,43948,43949,43950,43951,43952,43953,43954,43955,
    43956,43957,43958,43959,43960,43961,43962,43963,43964,43965,43966,43967,5112,5113,5114,5115,
    5116,5117,1114127,1114128,1114129,1114130,1114131,1114132,6965,6965,1114133,1114134,6965,4304,
    4305,4306,4307,4308,4309,4310,4311,4312,4313,4314,4315,4316,4317,4318,4319,4320,4321,4322,4323,
    4324,4325,4326,4327,4328,4329,4330,4331,4332,4333,4334,4335,4336,4337,4338,4339,4340,4341,4342,
    4343,4344,4345,4346,4349,4350,4351,97,97,98,98,98,98,98,98,99,99,100,100,100,100,100,100,100,
    100,100,100,101,101,101,101,101,101,101,101,101,101,102,102,103,103,104,104,104,104,104,104,
    104,104,104,104,105,105,105,105,107,107,107,107,107,107,108,108,108,108,108,108,108,108,109,
    109,109,109,109,109,110,110,110,110,110,110,110,110,111,111,111,111,111,111,111,111,112,112,
    112,112,114,114,114,114,114,114,114,114,115,115,115,115,115,115,115,115,115,115,116,116,116,
    116,116,116,116,116,117,117,117,117,117,117,117,117,117,117,118,118,118,118,119,119,119,119,
    119,119,119,119,119,119,120,120,120,120,121,121,122,122,122,122,122,122,104,116,119,121,383,
    223,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,97,101,101,101,101,
    101,101,101,101,101,101,101,101,101,101,101,101,105,105,105,105,111,111,111,111,111,111,111,
    111,111,111,111,111,111,111,111,111,111,111,111,111,111,111,111,111,117,117,117,117,117,117,
    117,117,117,117,117,117,117,117,121,121,121,121,121,121,121,121,7931,7933,7935,945,945,945,945,
    945,945,945,945,945,945,945,945,945,945,945,945,949,949,949,949,949,949,949,949,949,949,949,
    949,951,951,951,951,951,951,951,951,951,951,951,951,951,951,951,951,953,953,953,953,953,953,
    953,953,953,953,953,953,953,953,953,953,959,959,959,959,959,959,959,959,959,959,959,959,965,
    965,965,965,965,965,965,965,965,965,965,965,969,969,969,969,969,969,969,969,969,969,969,969,
    969,969,969,969,945,945,949,949,951,951,953,953,959,959,965,965,969,969,945,945,945,945,945,
    945,945,945,945,945,945,945,945,945,945,945,951,951,951,951,951,951,951,951,951,951,951,951,
    951,951,951,951,969,969,969,969,969,969,969,969,969,969,969,969,969,969,969,969,945,945,945,
    945,945,945,945,945,945,945,945,945,953,168,951,951,951,951,951,949,949,951,951,951,8127,8127,
    8127,953,953,953,953,953,953,953,953,953,953,8190,8190,8190,965,965,965,965,961,961,965,965,
    965,965,965,965,961,168,168,96,969,969,969,969,969,959,959,969,969,969,180,969,107,97,8526,
    8560,8561,8562,8563,8564,8565,8566,8567,8568,8569,8570,8571,8572,8573,8574,8575,8580,8592,8594,
    8596,8656,8660,8658,8707,8712,8715,8739,8741,8764,8771,8773,8776,61,8801,8781,60,62,8804,8805,
    8818,8819,8822,8823,8826,8827,8834,8835,8838,8839,8866,8872,8873,8875,8828,8829,8849,8850,8882,
    8883,8884,8885,12296,12297,9424,9425,9426,9427,9428,9429,9430,9431,9432,9433,9434,9435,9436,
    9437,9438,9439,9440,9441,9442,9443,9444,9445,9446,9447,9448,9449,10973,11312,11313,11314,11315,
    11316,11317,11318,11319,11320,11321,11322,11323,11324,11325,11326,11327,11328,11329,11330,
    11331,11332,11333,11334,11335,11336,11337,11338,11339,11340,11341,11342,11343,11344,11345,
    11346,11347,11348,11349,11350,11351,11352,11353,11354,11355,11356,11357,11358,11359,11361,619,
    7549,637,11368,11370,11372,593,625,592,594,11379,11382,575,576,11393,11395,11397,11399,11401,
    11403,11405,11407,11409,11411,11413,11415,11417,11419,11421,11423,11425,11427,11429,11431,
    11433,11435,11437,11439,11441,11443,11445,11447,11449,11451,11453,11455,11457,11459,11461,
    11463,11465,11467,11469,11471,11473,11475,11477,11479,11481,11483,11485,11487,11489,11491,
    11500,11502,11507,12363,12365,12367,12369,12371,12373,12375,12377,12379,12381,12383,12385,
    12388,12390,12392,12399,12399,12402,12402,12405,12405,12408,12408,12411,12411,12358,12445,
    12459,12461,12463,12465,12467,12469,12471,12473,12475,12477,12479,12481,12484,12486,12488,
    12495,12495,12498,12498,12501,12501,12504,12504,12507,12507,12454,12527,12528,12529,12530,
    12541,42561,42563,42565,42567,42569,42571,42573,42575,42577,42579,42581,42583,42585,42587,
    42589,42591,42593,42595,42597,42599,42601,42603,42605,42625,42627,42629,42631,42633,42635,
    42637,42639,42641,42643,42645,42647,42649,42651,42787,42789,42791,42793,42795,42797,42799,
    42803,42805,42807,42809,42811,42813,42815,42817,42819,42821,42823,42825,42827,42829,42831,
    42833,42835,42837,42839,42841,42843,42845,42847,42849,42851,42853,42855,42857,42859,42861,
    42863,42874,42876,7545,42879,42881,42883,42885,42887,42892,613,42897,42899,42903,42905,42907,
    42909,42911,42913,42915,42917,42919,42921,614,604,609,620,618,670,647,669,43859,42933,42935,
    42937,42939,42941,42943,42945,42947,42900,642,7566,42952,42954,42961,42967,42969,42998,35912,
    26356,36554,36040,28369,20018,21477,40860,40860,22865,37329,21895,22856,25078,30313,32645,
    34367,34746,35064,37007,27138,27931,28889,29662,33853,37226,39409,20098,21365,27396,29211,
    34349,40478,23888,28651,34253,35172,25289,33240,34847,24266,26391,28010,29436,37070,20358,
    20919,21214,25796,27347,29200,30439,32769,34310,34396,36335,38706,39791,40442,30860,31103,
    32160,33737,37636,40575,35542,22751,24324,31840,32894,29282,30922,36034,38647,22744,23650,
    27155,28122,28431,32047,32311,38475,21202,32907,20956,20940,31260,32190,33777,38517,35712,
    25295,27138,35582,20025,23527,24594,29575,30064,21271,30971,20415,24489,19981,27852,25976,
    32034,21443,22622,30465,33865,35498,27578,36784,27784,25342,33509,25504,30053,20142,20841,
    20937,26753,31975,33391,35538,37327,21237,21570,22899,24300,26053,28670,31018,38317,39530,
    40599,40654,21147,26310,27511,36706,24180,24976,25088,25754,28451,29001,29833,31178,32244,
    32879,36646,34030,36899,37706,21015,21155,21693,28872,35010,35498,24265,24565,25467,27566,
    31806,29557,20196,22265,23527,23994,24604,29618,29801,32666,32838,37428,38646,38728,38936,
    20363,31150,37300,38584,24801,20102,20698,23534,23615,26009,27138,29134,30274,34044,36988,
    40845,26248,38446,21129,26491,26611,27969,28316,29705,30041,30827,32016,39006,20845,25134,
    38520,20523,23833,28138,36650,24459,24900,26647,29575,38534,21033,21519,23653,26131,26446,
    26792,27877,29702,30178,32633,35023,35041,37324,38626,21311,28346,21533,29136,29848,34298,
    38563,40023,40607,26519,28107,33256,31435,31520,31890,29376,28825,35672,20160,33590,21050,
    20999,24230,25299,31958,23429,27934,26292,36667,34892,38477,35211,24275,20800,21952,22618,
    26228,20958,29482,30410,31036,31070,31077,31119,38742,31934,32701,34322,35576,36920,37117,
    39151,39164,39208,40372,37086,38583,20398,20711,20813,21193,21220,21329,21917,22022,22120,
    22592,22696,23652,23662,24724,24936,24974,25074,25935,26082,26257,26757,28023,28186,28450,
    29038,29227,29730,30865,31038,31049,31048,31056,31062,31069,31117,31118,31296,31361,31680,
    32244,32265,32321,32626,32773,33261,33401,33401,33879,35088,35222,35585,35641,36051,36104,
    36790,36920,38627,38911,38971,24693,148206,33304,20006,20917,20840,20352,20805,20864,21191,
    21242,21917,21845,21913,21986,22618,22707,22852,22868,23138,23336,24274,24281,24425,24493,
    24792,24910,24840,24974,24928,25074,25140,25540,25628,25682,25942,26228,26391,26395,26454,
    27513,27578,27969,28379,28363,28450,28702,29038,30631,29237,29359,29482,29809,29958,30011,
    30237,30239,30410,30427,30452,30538,30528,30924,31409,31680,31867,32091,32244,32574,32773,
    33618,33775,34681,35137,35206,35222,35519,35576,35531,35585,35582,35565,35641,35722,36104,
    36664,36978,37273,37494,38524,38627,38742,38875,38911,38923,38971,39698,40860,141386,141380,
    144341,15261,16408,16441,152137,154832,163539,40771,40846,1497,1522,1513,1513,1513,1513,1488,
    1488,1488,1489,1490,1491,1492,1493,1494,1496,1497,1498,1499,1500,1502,1504,1505,1507,1508,1510,
    1511,1512,1513,1514,1493,1489,1499,1508,65345,65346,65347,65348,65349,65350,65351,65352,65353,
    65354,65355,65356,65357,65358,65359,65360,65361,65362,65363,65364,65365,65366,65367,65368,
    65369,65370,66600,66601,66602,66603,66604,66605,66606,66607,66608,66609,66610,66611,66612,
    66613,66614,66615,66616,66617,66618,66619,66620,66621,66622,66623,66624,66625,66626,66627,
    66628,66629,66630,66631,66632,66633,66634,66635,66636,66637,66638,66639,66776,66777,66778,
    66779,66780,66781,66782,66783,66784,66785,66786,66787,66788,66789,66790,66791,66792,66793,
    66794,66795,66796,66797,66798,66799,66800,66801,66802,66803,66804,66805,66806,66807,66808,
    66809,66810,66811,66967,66968,66969,66970,66971,66972,66973,66974,66975,66976,66977,66979,
    66980,66981,66982,66983,66984,66985,66986,66987,66988,66989,66990,66991,66992,66993,66995,
    66996,66997,66998,66999,67000,67001,67003,67004,68800,68801,68802,68803,68804,68805,68806,
    68807,68808,68809,68810,68811,68812,68813,68814,68815,68816,68817,68818,68819,68820,68821,
    68822,68823,68824,68825,68826,68827,68828,68829,68830,68831,68832,68833,68834,68835,68836,
    68837,68838,68839,68840,68841,68842,68843,68844,68845,68846,68847,68848,68849,68850,69785,
    69787,69797,1114135,1114136,70841,1114137,1114138,1114139,1114140,71872,71873,71874,71875,
    71876,71877,71878,71879,71880,71881,71882,71883,71884,71885,71886,71887,71888,71889,71890,
    71891,71892,71893,71894,71895,71896,71897,71898,71899,71900,71901,71902,71903,1114141,93792,
    93793,93794,93795,93796,93797,93798,93799,93800,93801,93802,93803,93804,93805,93806,93807,
    93808,93809,93810,93811,93812,93813,93814,93815,93816,93817,93818,93819,93820,93821,93822,
    93823,1114142,1114143,1114144,1114145,1114146,1114147,1114148,1114149,1114150,1114151,1114152,
    1114153,1114154,125218,125219,125220,125221,125222,125223,125224,125225,125226,125227,125228,
    125229,125230,125231,125232,125233,125234,125235,125236,125237,125238,125239,125240,125241,
    125242,125243,125244,125245,125246,125247,125248,125249,125250,125251,20029,20024,20033,131362,
    20320,20398,20411,20482,20602,20633,20711,20687,13470,132666,20813,20820,20836,20855,132380,
    13497,20839,20877,132427,20887,20900,20172,20908,20917,168415,20981,20995,13535,21051,21062,
    21106,21111,13589,21191,21193,21220,21242,21253,21254,21271,21321,21329,21338,21363,21373,
    21375,21375,21375,133676,28784,21450,21471,133987,21483,21489,21510,21662,21560,21576,21608,
    21666,21750,21776,21843,21859,21892,21892,21913,21931,21939,21954,22294,22022,22295,22097,
    22132,20999,22766,22478,22516,22541,22411,22578,22577,22700,136420,22770,22775,22790,22810,
    22818,22882,136872,136938,23020,23067,23079,23000,23142,14062,14076,23304,23358,23358,137672,
    23491,23512,23527,23539,138008,23551,23558,24403,23586,14209,23648,23662,23744,23693,138724,
    23875,138726,23918,23915,23932,24033,24034,14383,24061,24104,24125,24169,14434,139651,14460,
    24240,24243,24246,24266,172946,24318,140081,140081,33281,24354,24354,14535,144056,156122,24418,
    24427,14563,24474,24525,24535,24569,24705,14650,14620,24724,141012,24775,24904,24908,24910,
    24908,24954,24974,25010,24996,25007,25054,25074,25078,25104,25115,25181,25265,25300,25424,
    142092,25405,25340,25448,25475,25572,142321,25634,25541,25513,14894,25705,25726,25757,25719,
    14956,25935,25964,143370,26083,26360,26185,15129,26257,15112,15076,20882,20885,26368,26268,
    32941,17369,26391,26395,26401,26462,26451,144323,15177,26618,26501,26706,26757,144493,26766,
    26655,26900,15261,26946,27043,27114,27304,145059,27355,15384,27425,145575,27476,15438,27506,
    27551,27578,27579,146061,138507,146170,27726,146620,27839,27853,27751,27926,27966,28023,27969,
    28009,28024,28037,146718,27956,28207,28270,15667,28363,28359,147153,28153,28526,147294,147342,
    28614,28729,28702,28699,15766,28746,28797,28791,28845,132389,28997,148067,29084,148395,29224,
    29237,29264,149000,29312,29333,149301,149524,29562,29579,16044,29605,16056,16056,29767,29788,
    29809,29829,29898,16155,29988,150582,30014,150674,30064,139679,30224,151457,151480,151620,
    16380,16392,30452,151795,151794,151833,151859,30494,30495,30495,30538,16441,30603,16454,16534,
    152605,30798,30860,30924,16611,153126,31062,153242,153285,31119,31211,16687,31296,31306,31311,
    153980,154279,154279,31470,16898,154539,31686,31689,16935,154752,31954,17056,31976,31971,32000,
    155526,32099,17153,32199,32258,32325,17204,156200,156231,17241,156377,32634,156478,32661,32762,
    32773,156890,156963,32864,157096,32880,144223,17365,32946,33027,17419,33086,23221,157607,
    157621,144275,144284,33281,33284,36766,17515,33425,33419,33437,21171,33457,33459,33469,33510,
    158524,33509,33565,33635,33709,33571,33725,33767,33879,33619,33738,33740,33756,158774,159083,
    158933,17707,34033,34035,34070,160714,34148,159532,17757,17761,159665,159954,17771,34384,34396,
    34407,34409,34473,34440,34574,34530,34681,34600,34667,34694,17879,34785,34817,17913,34912,
    34915,161383,35031,35038,17973,35066,13499,161966,162150,18110,18119,35488,35565,35722,35925,
    162984,36011,36033,36123,36215,163631,133124,36299,36284,36336,133342,36564,36664,165330,
    165357,37012,37105,37137,165678,37147,37432,37591,37592,37500,37881,37909,166906,38283,18837,
    38327,167287,18918,38595,23986,38691,168261,168474,19054,19062,38880,168970,19122,169110,38923,
    38923,38953,169398,39138,19251,39209,39335,39362,39422,19406,170800,39698,40000,40189,19662,
    19693,40295,172238,19704,172293,172558,172689,40635,19798,40697,40702,40709,40719,40726,40763,
    173568,
};
/* Folds of more than one code point: up to 3, 0 after the last. */
static const uint32_t ss__uc_fold_multi[43][3] = {
    {2503,2494,0},{2503,2519,0},{2887,2878,0},{2887,2903,0},{2962,3031,0},{3014,3006,0},
    {3015,3006,0},{3014,3031,0},{3266,3285,0},{3398,3390,0},{3399,3390,0},{3398,3415,0},
    {3545,3535,0},{3545,3535,0},{3545,3551,0},{6917,6965,0},{6919,6965,0},{6921,6965,0},
    {6923,6965,0},{6925,6965,0},{6929,6965,0},{6974,6965,0},{6975,6965,0},{70471,70462,0},
    {70471,70487,0},{70841,70832,0},{70841,70845,0},{71096,71087,0},{71097,71087,0},
    {71989,71984,0},{119127,119141,0},{119128,119141,0},{119128,119141,119150},
    {119128,119141,119151},{119128,119141,119152},{119128,119141,119153},{119128,119141,119154},
    {119225,119141,0},{119226,119141,0},{119225,119141,119150},{119226,119141,119150},
    {119225,119141,119151},{119226,119141,119151},
};
/* Kept non-starters (class 6; spacing marks such as U+1D165): cp << 8 | ccc, sorted. */
#define SS__UC_NNONSTARTER 26
static const uint32_t ss__uc_nonstarter[26] = {
    0x171509,0x173409,0x1B4409,0x1BAA09,0x1BF209,0x1BF309,0x302EE0,0x302FE0,0xA95309,0xA9C009,
    0x111C009,0x1123509,0x1134D09,0x116B609,0x1193D09,0x11F4109,0x16FF006,0x16FF106,0x1D165D8,
    0x1D166D8,0x1D16DE2,0x1D16ED8,0x1D16FD8,0x1D170D8,0x1D171D8,0x1D172D8,
};
/* Cased and Case_Ignorable (DerivedCoreProperties), for the word-final sigma. */
#define SS__UC_NCASED 314
static const uint32_t ss__uc_cased[314] = {
    65,91,97,123,170,171,181,182,186,187,192,215,216,247,248,443,444,448,452,660,661,697,704,706,
    736,741,837,838,880,884,886,888,890,894,895,896,902,903,904,907,908,909,910,930,931,1014,1015,
    1154,1162,1328,1329,1367,1376,1417,4256,4294,4295,4296,4301,4302,4304,4347,4348,4352,5024,5110,
    5112,5118,7296,7305,7312,7355,7357,7360,7424,7616,7680,7958,7960,7966,7968,8006,8008,8014,8016,
    8024,8025,8026,8027,8028,8029,8030,8031,8062,8064,8117,8118,8125,8126,8127,8130,8133,8134,8141,
    8144,8148,8150,8156,8160,8173,8178,8181,8182,8189,8305,8306,8319,8320,8336,8349,8450,8451,8455,
    8456,8458,8468,8469,8470,8473,8478,8484,8485,8486,8487,8488,8489,8490,8494,8495,8501,8505,8506,
    8508,8512,8517,8522,8526,8527,8544,8576,8579,8581,9398,9450,11264,11493,11499,11503,11506,
    11508,11520,11558,11559,11560,11565,11566,42560,42606,42624,42654,42786,42888,42891,42895,
    42896,42955,42960,42962,42963,42964,42965,42970,42994,42999,43000,43003,43824,43867,43868,
    43882,43888,43968,64256,64263,64275,64280,65313,65339,65345,65371,66560,66640,66736,66772,
    66776,66812,66928,66939,66940,66955,66956,66963,66964,66966,66967,66978,66979,66994,66995,
    67002,67003,67005,67456,67457,67459,67462,67463,67505,67506,67515,68736,68787,68800,68851,
    71840,71904,93760,93824,119808,119893,119894,119965,119966,119968,119970,119971,119973,119975,
    119977,119981,119982,119994,119995,119996,119997,120004,120005,120070,120071,120075,120077,
    120085,120086,120093,120094,120122,120123,120127,120128,120133,120134,120135,120138,120145,
    120146,120486,120488,120513,120514,120539,120540,120571,120572,120597,120598,120629,120630,
    120655,120656,120687,120688,120713,120714,120745,120746,120771,120772,120780,122624,122634,
    122635,122655,122661,122667,122928,122990,125184,125252,127280,127306,127312,127338,127344,
    127370,
};
#define SS__UC_NCASE_IGNORABLE 874
static const uint32_t ss__uc_case_ignorable[874] = {
    39,40,46,47,58,59,94,95,96,97,168,169,173,174,175,176,180,181,183,185,688,880,884,886,890,891,
    900,902,903,904,1155,1162,1369,1370,1375,1376,1425,1470,1471,1472,1473,1475,1476,1478,1479,
    1480,1524,1525,1536,1542,1552,1563,1564,1565,1600,1601,1611,1632,1648,1649,1750,1758,1759,1769,
    1770,1774,1807,1808,1809,1810,1840,1867,1958,1969,2027,2038,2042,2043,2045,2046,2070,2094,2137,
    2140,2184,2185,2192,2194,2200,2208,2249,2307,2362,2363,2364,2365,2369,2377,2381,2382,2385,2392,
    2402,2404,2417,2418,2433,2434,2492,2493,2497,2501,2509,2510,2530,2532,2558,2559,2561,2563,2620,
    2621,2625,2627,2631,2633,2635,2638,2641,2642,2672,2674,2677,2678,2689,2691,2748,2749,2753,2758,
    2759,2761,2765,2766,2786,2788,2810,2816,2817,2818,2876,2877,2879,2880,2881,2885,2893,2894,2901,
    2903,2914,2916,2946,2947,3008,3009,3021,3022,3072,3073,3076,3077,3132,3133,3134,3137,3142,3145,
    3146,3150,3157,3159,3170,3172,3201,3202,3260,3261,3263,3264,3270,3271,3276,3278,3298,3300,3328,
    3330,3387,3389,3393,3397,3405,3406,3426,3428,3457,3458,3530,3531,3538,3541,3542,3543,3633,3634,
    3636,3643,3654,3663,3761,3762,3764,3773,3782,3783,3784,3791,3864,3866,3893,3894,3895,3896,3897,
    3898,3953,3967,3968,3973,3974,3976,3981,3992,3993,4029,4038,4039,4141,4145,4146,4152,4153,4155,
    4157,4159,4184,4186,4190,4193,4209,4213,4226,4227,4229,4231,4237,4238,4253,4254,4348,4349,4957,
    4960,5906,5909,5938,5940,5970,5972,6002,6004,6068,6070,6071,6078,6086,6087,6089,6100,6103,6104,
    6109,6110,6155,6160,6211,6212,6277,6279,6313,6314,6432,6435,6439,6441,6450,6451,6457,6460,6679,
    6681,6683,6684,6742,6743,6744,6751,6752,6753,6754,6755,6757,6765,6771,6781,6783,6784,6823,6824,
    6832,6863,6912,6916,6964,6965,6966,6971,6972,6973,6978,6979,7019,7028,7040,7042,7074,7078,7080,
    7082,7083,7086,7142,7143,7144,7146,7149,7150,7151,7154,7212,7220,7222,7224,7288,7294,7376,7379,
    7380,7393,7394,7401,7405,7406,7412,7413,7416,7418,7468,7531,7544,7545,7579,7680,8125,8126,8127,
    8130,8141,8144,8157,8160,8173,8176,8189,8191,8203,8208,8216,8218,8228,8229,8231,8232,8234,8239,
    8288,8293,8294,8304,8305,8306,8319,8320,8336,8349,8400,8433,11388,11390,11503,11506,11631,
    11632,11647,11648,11744,11776,11823,11824,12293,12294,12330,12334,12337,12342,12347,12348,
    12441,12447,12540,12543,40981,40982,42232,42238,42508,42509,42607,42611,42612,42622,42623,
    42624,42652,42656,42736,42738,42752,42786,42864,42865,42888,42891,42994,42997,43000,43002,
    43010,43011,43014,43015,43019,43020,43045,43047,43052,43053,43204,43206,43232,43250,43263,
    43264,43302,43310,43335,43346,43392,43395,43443,43444,43446,43450,43452,43454,43471,43472,
    43493,43495,43561,43567,43569,43571,43573,43575,43587,43588,43596,43597,43632,43633,43644,
    43645,43696,43697,43698,43701,43703,43705,43710,43712,43713,43714,43741,43742,43756,43758,
    43763,43765,43766,43767,43867,43872,43881,43884,44005,44006,44008,44009,44013,44014,64286,
    64287,64434,64451,65024,65040,65043,65044,65056,65072,65106,65107,65109,65110,65279,65280,
    65287,65288,65294,65295,65306,65307,65342,65343,65344,65345,65392,65393,65438,65440,65507,
    65508,65529,65532,66045,66046,66272,66273,66422,66427,67456,67462,67463,67505,67506,67515,
    68097,68100,68101,68103,68108,68112,68152,68155,68159,68160,68325,68327,68900,68904,69291,
    69293,69373,69376,69446,69457,69506,69510,69633,69634,69688,69703,69744,69745,69747,69749,
    69759,69762,69811,69815,69817,69819,69821,69822,69826,69827,69837,69838,69888,69891,69927,
    69932,69933,69941,70003,70004,70016,70018,70070,70079,70089,70093,70095,70096,70191,70194,
    70196,70197,70198,70200,70206,70207,70209,70210,70367,70368,70371,70379,70400,70402,70459,
    70461,70464,70465,70502,70509,70512,70517,70712,70720,70722,70725,70726,70727,70750,70751,
    70835,70841,70842,70843,70847,70849,70850,70852,71090,71094,71100,71102,71103,71105,71132,
    71134,71219,71227,71229,71230,71231,71233,71339,71340,71341,71342,71344,71350,71351,71352,
    71453,71456,71458,71462,71463,71468,71727,71736,71737,71739,71995,71997,71998,71999,72003,
    72004,72148,72152,72154,72156,72160,72161,72193,72203,72243,72249,72251,72255,72263,72264,
    72273,72279,72281,72284,72330,72343,72344,72346,72752,72759,72760,72766,72767,72768,72850,
    72872,72874,72881,72882,72884,72885,72887,73009,73015,73018,73019,73020,73022,73023,73030,
    73031,73032,73104,73106,73109,73110,73111,73112,73459,73461,73472,73474,73526,73531,73536,
    73537,73538,73539,78896,78913,78919,78934,92912,92917,92976,92983,92992,92996,94031,94032,
    94095,94112,94176,94178,94179,94181,110576,110580,110581,110588,110589,110591,113821,113823,
    113824,113828,118528,118574,118576,118599,119143,119146,119155,119171,119173,119180,119210,
    119214,119362,119365,121344,121399,121403,121453,121461,121462,121476,121477,121499,121504,
    121505,121520,122880,122887,122888,122905,122907,122914,122915,122917,122918,122923,122928,
    122990,123023,123024,123184,123198,123566,123567,123628,123632,124139,124144,125136,125143,
    125252,125260,127995,128000,917505,917506,917536,917632,917760,918000,
};
/* @@ END GENERATED unicode tables @@ */

/* The classes of the tables (SS__UC_FOLD is a flag on top of one of the others). */
#define SS__UC_OTHER 0      /* kept, a starter (canonical combining class 0) */
#define SS__UC_DROP 1       /* NUL, U+FFFD, category C*: removed by the clean-up */
#define SS__UC_SPACE 2      /* \t \n \r, category Zs, U+2028, U+2029: separates words */
#define SS__UC_PUNCT 3      /* category P* and the ASCII symbols: a word of its own */
#define SS__UC_MN_BREAK 4   /* a nonspacing mark with a starter in its decomposition: dropped,
                               but it ends a run of combining marks */
#define SS__UC_MN 5         /* any other nonspacing mark: dropped */
#define SS__UC_NONSTARTER 6 /* kept, combining class > 0 (ss__uc_ccc) */
#define SS__UC_FOLD 8       /* lowercasing and accent stripping change it (ss__uc_fold) */

SS_PRIVATE unsigned ss__uc_class(uint32_t cp) {
    if (cp < SS__UC_LIMIT)
        return (unsigned)(ss__uc_leaf[ss__uc_mid[ss__uc_top[cp >> 8] * 16 + ((cp >> 4) & 15)]]
                                     [cp & 15] - 'A');
    return cp >= 0xE0100 && cp <= 0xE01EF ? SS__UC_MN_BREAK : SS__UC_DROP;
}

/* Canonical combining class of a code point of class SS__UC_NONSTARTER. */
SS_PRIVATE unsigned ss__uc_ccc(uint32_t cp) {
    size_t lo = 0, hi = SS__UC_NNONSTARTER;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t key = ss__uc_nonstarter[mid] >> 8;
        if (key == cp) return ss__uc_nonstarter[mid] & 0xFF;
        if (key < cp) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* A property stored as sorted toggle points: cp has it when an odd number of points are <= cp. */
SS_PRIVATE int ss__uc_has(const uint32_t *points, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (points[mid] <= cp) lo = mid + 1;
        else hi = mid;
    }
    return (int)(lo & 1);
}

/* The fold of a code point whose class has SS__UC_FOLD: NFD(lower(cp)) without nonspacing marks,
   1 to 3 code points into out; returns how many. Hangul syllables decompose arithmetically into
   their conjoining jamo (Unicode section 3.12); the rest is looked up: the block of 16 code
   points, then the rank of cp among the block's flagged code points. */
SS_PRIVATE int ss__uc_fold(uint32_t cp, uint32_t *out) {
    const char *leaf;
    size_t lo = 0, hi = SS__UC_NFOLD_BLOCK;
    uint32_t block = cp >> 4, value;
    unsigned rank = 0, j;
    if (cp - 0xAC00u < 11172u) {
        uint32_t s = cp - 0xAC00u;
        out[0] = 0x1100 + s / 588;        /* leading consonant */
        out[1] = 0x1161 + (s % 588) / 28; /* vowel */
        if (s % 28 == 0) return 2;
        out[2] = 0x11A7 + s % 28;         /* trailing consonant */
        return 3;
    }
    while (lo < hi) { /* the block is listed: the class table flagged cp */
        size_t mid = (lo + hi) / 2;
        if (ss__uc_fold_block[mid] < block) lo = mid + 1;
        else hi = mid;
    }
    SS_ASSERT(lo < SS__UC_NFOLD_BLOCK && ss__uc_fold_block[lo] == block);
    leaf = ss__uc_leaf[ss__uc_mid[ss__uc_top[cp >> 8] * 16 + ((cp >> 4) & 15)]];
    for (j = 0; j < (cp & 15); j++) rank += leaf[j] - 'A' >= SS__UC_FOLD;
    value = ss__uc_fold_value[ss__uc_fold_base[lo] + rank];
    if (value < 0x110000) {
        out[0] = value;
        return 1;
    }
    out[0] = ss__uc_fold_multi[value - 0x110000][0];
    out[1] = ss__uc_fold_multi[value - 0x110000][1];
    out[2] = ss__uc_fold_multi[value - 0x110000][2];
    return out[2] ? 3 : 2;
}

/* BERT's _is_chinese_char: the CJK Unified Ideographs blocks (a fixed list of the reference code,
   not a Unicode property: Extension F and later are not in it). */
SS_PRIVATE int ss__is_cjk(uint32_t cp) {
    return cp >= 0x3400 &&
           ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
            (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
            (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
            (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F));
}

/* ---- The scanner: text -> words (basic tokenization) -> WordPiece ids ---- */

/* Class of each ASCII byte, '0' + an SS__UC_ class: 0-31 controls (dropped) except \t \n \r
   (spaces); space; the symbols 33-47, 58-64, 91-96, 123-126 (punctuation); digits and letters
   (kept, letters lowercased by the scanner); DEL (dropped). Checked against the tables by
   tests/test_tokenizer.c. */
static const char ss__ascii_class[129] = "11111111122112111111111111111111"  /* 0x00 */
                                         "23333333333333330000000000333333"  /* 0x20 */
                                         "30000000000000000000000000033333"  /* 0x40 */
                                         "30000000000000000000000000033331"; /* 0x60 */

static const char *const ss__special_names[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

#define SS__WORD_BYTES (4 * SS_TOKENIZER_MAX_WORD_CHARS)

/* The state of one pass over a text. The word being built holds at most 100 code points (the
   WordPiece limit): a longer one only counts on, since it becomes [UNK] anyway. */
typedef struct ss__scan {
    const ss_tokenizer *tok;         /* NULL: basic tokenization only, words go to fn */
    int specials;                    /* split the text at "[MASK]" and the other special tokens */
    int final_sigma;                 /* lowercase as str.lower() on whole words */
    int sigma_cased;                 /* final_sigma: the last character of the current
                                        whitespace-separated word that is not case-ignorable
                                        is cased */
    const unsigned char *end;        /* end of the text, for the final sigma's look-ahead */
    int n;                           /* code points stored in buf */
    int n_total;                     /* code points of the word, stored or not */
    int run_start;                   /* first code point after the last starter */
    unsigned short off[SS_TOKENIZER_MAX_WORD_CHARS + 1]; /* byte offset of code point i */
    unsigned char ccc[SS_TOKENIZER_MAX_WORD_CHARS];      /* its combining class */
    unsigned char buf[2 + SS__WORD_BYTES];               /* the word at buf + 2: the two bytes
                                                            before it leave room for "##" */
    int *ids;                        /* output ids (cap of them), or NULL */
    size_t cap, count;               /* count may pass cap: ids past cap are only counted */
    void (*fn)(void *user, const char *word, size_t len, int nchars);
    void *user;
} ss__scan;

SS_PRIVATE void ss__scan_init(ss__scan *s, const ss_tokenizer *tok, int final_sigma) {
    s->tok = tok;
    s->specials = tok && !tok->split_special_tokens;
    s->final_sigma = final_sigma;
    s->sigma_cased = 0;
    s->end = NULL;
    s->n = s->n_total = s->run_start = 0;
    s->off[0] = 0;
    s->ids = NULL;
    s->cap = s->count = 0;
    s->fn = NULL;
    s->user = NULL;
}

SS_PRIVATE void ss__scan_emit(ss__scan *s, int id) {
    if (s->count < s->cap) s->ids[s->count] = id;
    s->count++;
}

/* FNV-1a continued over n more bytes: hashes of growing prefixes come one byte at a time. */
SS_PRIVATE uint32_t ss__fnv1a_more(uint32_t h, const unsigned char *p, size_t n) {
    while (n--) {
        h ^= *p++;
        h *= 16777619u;
    }
    return h;
}

/* The id of the token piece[0..len) whose FNV-1a hash is h, or -1. */
SS_PRIVATE int ss__vocab_find_hashed(const ss_tokenizer *tok, const unsigned char *piece, size_t len,
                                     uint32_t h) {
    size_t i = h & tok->slot_mask;
    for (;; i = (i + 1) & tok->slot_mask) {
        const ss__vocab_slot *slot = &tok->slots[i];
        if (slot->id < 0) return -1;
        if (slot->hash == h) {
            const size_t at = tok->start[slot->id];
            const unsigned char *t = (const unsigned char *)tok->text + at;
            size_t k = 0;
            if (tok->start[slot->id + 1] - at - 1 != len) continue;
            while (k < len && t[k] == piece[k]) k++; /* short strings: no call to memcmp */
            if (k == len) return slot->id;
        }
    }
}

SS_PRIVATE int ss__vocab_find(const ss_tokenizer *tok, const unsigned char *piece, size_t len) {
    return ss__vocab_find_hashed(tok, piece, len, ss__fnv1a(piece, len));
}

/* WordPiece of the finished word: greedy longest-match-first. From the first code point not yet
   covered, try the longest piece first and shorten it one code point at a time until the
   vocabulary has it ("##" + piece after the first); when no piece fits, the whole word is one
   [UNK]. The pieces wait in found[] until the word is done, so the caller's buffer never gets
   ids that are then taken back (nothing is written past the count returned). */
SS_PRIVATE void ss__wordpiece(ss__scan *s) {
    const ss_tokenizer *tok = s->tok;
    unsigned char *w = s->buf + 2;
    size_t max_bytes = (size_t)tok->max_token_bytes;
    uint32_t hash[SS_TOKENIZER_MAX_WORD_CHARS + 1]; /* hash[e]: of the piece [start, e) */
    int found[SS_TOKENIZER_MAX_WORD_CHARS];        /* each piece covers at least one code point */
    int start = 0, n = s->n, n_found = 0, k;
    if (s->n_total > SS_TOKENIZER_MAX_WORD_CHARS) {
        ss__scan_emit(s, tok->unk_id);
        return;
    }
    while (start < n) {
        const size_t pre = start ? 2 : 0;
        const unsigned char *piece = w + s->off[start] - pre;
        int end = start, id = -1;
        uint32_t h = 2166136261u; /* FNV-1a offset basis */
        if (start) { /* overwrites the last bytes of pieces already found: they are done */
            w[s->off[start] - 2] = '#';
            w[s->off[start] - 1] = '#';
            h = ss__fnv1a_more(h, piece, 2);
        }
        while (end < n && s->off[end + 1] - s->off[start] + pre <= max_bytes) { /* one pass */
            h = ss__fnv1a_more(h, w + s->off[end], (size_t)(s->off[end + 1] - s->off[end]));
            hash[++end] = h;
        }
        for (; end > start; end--) {
            id = ss__vocab_find_hashed(tok, piece, s->off[end] - s->off[start] + pre, hash[end]);
            if (id >= 0) break;
        }
        if (id < 0) {
            ss__scan_emit(s, tok->unk_id);
            return;
        }
        found[n_found++] = id;
        start = end;
    }
    for (k = 0; k < n_found; k++) ss__scan_emit(s, found[k]);
}

SS_PRIVATE void ss__scan_end_word(ss__scan *s) {
    if (s->n_total == 0) return;
    if (s->tok) ss__wordpiece(s);
    else s->fn(s->user, (const char *)s->buf + 2, s->off[s->n], s->n_total);
    s->n = s->n_total = s->run_start = 0;
}

/* Append a code point of combining class ccc to the word. NFD puts each run of non-starters in
   order of their classes (stable); the marks it drops do not matter, so the kept non-starters
   are inserted in order among the kept ones since the last starter. */
SS_PRIVATE void ss__scan_add(ss__scan *s, uint32_t cp, unsigned ccc) {
    unsigned char bytes[4];
    int len, pos, i;
    if (s->n_total++ >= SS_TOKENIZER_MAX_WORD_CHARS) return;
    len = (int)ss__utf8_encode(cp, bytes);
    pos = s->n;
    if (ccc)
        while (pos > s->run_start && s->ccc[pos - 1] > ccc) pos--;
    if (pos < s->n) { /* rare: make room in the middle */
        unsigned char *at = s->buf + 2 + s->off[pos];
        memmove(at + len, at, (size_t)(s->off[s->n] - s->off[pos]));
        for (i = s->n; i > pos; i--) {
            s->off[i + 1] = (unsigned short)(s->off[i] + len);
            s->ccc[i] = s->ccc[i - 1];
        }
    }
    SS_MEMCPY(s->buf + 2 + s->off[pos], bytes, (size_t)len);
    s->off[pos + 1] = (unsigned short)(s->off[pos] + len);
    s->ccc[pos] = (unsigned char)ccc;
    s->n++;
    if (!ccc) s->run_start = s->n;
}

/* One code point after lowercasing and decomposition, of class kind (without the fold flag). */
SS_PRIVATE void ss__scan_element(ss__scan *s, uint32_t cp, unsigned kind) {
    switch (kind) {
    case SS__UC_OTHER:
        ss__scan_add(s, cp, 0);
        break;
    case SS__UC_NONSTARTER:
        ss__scan_add(s, cp, ss__uc_ccc(cp));
        break;
    case SS__UC_PUNCT:
        ss__scan_end_word(s);
        ss__scan_add(s, cp, 0);
        ss__scan_end_word(s);
        break;
    case SS__UC_MN_BREAK:
        if (s->n_total <= SS_TOKENIZER_MAX_WORD_CHARS) s->run_start = s->n;
        break;
    default: /* SS__UC_MN: stripped with the accents */
        break;
    }
}

/* If p starts a special token's text, its id and *len its length; else -1. */
SS_PRIVATE int ss__match_special(const ss_tokenizer *tok, const unsigned char *p,
                                 const unsigned char *end, size_t *len) {
    const int ids[5] = {tok->pad_id, tok->unk_id, tok->cls_id, tok->sep_id, tok->mask_id};
    int i;
    for (i = 0; i < 5; i++) {
        size_t n = strlen(ss__special_names[i]);
        if ((size_t)(end - p) >= n && memcmp(p, ss__special_names[i], n) == 0) {
            *len = n;
            return ids[i];
        }
    }
    return -1;
}

/* Python's final sigma rule, the part after the sigma: is it NOT followed, within its
   whitespace-separated word and skipping case-ignorable characters, by a cased one? */
SS_PRIVATE int ss__sigma_is_final(const ss__scan *s, const unsigned char *p) {
    while (p < s->end) {
        size_t skip;
        uint32_t cp;
        unsigned kind;
        if (*p == '[' && s->specials && ss__match_special(s->tok, p, s->end, &skip) >= 0) return 1;
        cp = ss__utf8_next(&p, s->end);
        kind = ss__uc_class(cp) & 7;
        if (kind == SS__UC_DROP) continue; /* gone before lowercasing */
        if (kind == SS__UC_SPACE || ss__is_cjk(cp)) return 1;
        if (ss__uc_has(ss__uc_case_ignorable, SS__UC_NCASE_IGNORABLE, cp)) continue;
        return !ss__uc_has(ss__uc_cased, SS__UC_NCASED, cp);
    }
    return 1;
}

/* One code point of the text; next points just after it (for the final sigma's look-ahead). */
SS_PRIVATE void ss__scan_code_point(ss__scan *s, uint32_t cp, const unsigned char *next) {
    unsigned k = ss__uc_class(cp);
    uint32_t fold[3];
    int n, i, cjk;
    if ((k & 7) == SS__UC_DROP) return;
    if ((k & 7) == SS__UC_SPACE) {
        ss__scan_end_word(s);
        s->sigma_cased = 0;
        return;
    }
    cjk = ss__is_cjk(cp);
    if (s->final_sigma) {
        int cased = ss__uc_has(ss__uc_cased, SS__UC_NCASED, cp);
        if (cp == 0x3A3) { /* capital sigma: final form after a cased letter, at a word's end */
            cp = s->sigma_cased && ss__sigma_is_final(s, next) ? 0x3C2 : 0x3C3;
            k = SS__UC_OTHER;
        }
        if (cjk) s->sigma_cased = 0;
        else if (!ss__uc_has(ss__uc_case_ignorable, SS__UC_NCASE_IGNORABLE, cp)) s->sigma_cased = cased;
    }
    if (cjk) ss__scan_end_word(s); /* spaces around each CJK ideograph */
    if (k & SS__UC_FOLD) {
        n = ss__uc_fold(cp, fold);
        for (i = 0; i < n; i++) ss__scan_element(s, fold[i], ss__uc_class(fold[i]) & 7);
    } else {
        ss__scan_element(s, cp, k);
    }
    if (cjk) ss__scan_end_word(s);
}

SS_PRIVATE void ss__scan_text(ss__scan *s, const char *text, size_t len) {
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    s->end = end;
    while (p < end) {
        unsigned c = *p;
        if (c == '[' && s->specials) { /* HF splits the text at special tokens first */
            size_t skip;
            int id = ss__match_special(s->tok, p, end, &skip);
            if (id >= 0) {
                ss__scan_end_word(s);
                ss__scan_emit(s, id);
                s->sigma_cased = 0;
                p += skip;
                continue;
            }
        }
        if (c < 0x80 && !s->final_sigma) { /* the fast path: ASCII */
            switch (ss__ascii_class[c]) {
            case '0':
                if (c - 'A' < 26u) c += 'a' - 'A';
                if (s->n_total++ < SS_TOKENIZER_MAX_WORD_CHARS) {
                    s->buf[2 + s->off[s->n]] = (unsigned char)c;
                    s->off[s->n + 1] = (unsigned short)(s->off[s->n] + 1);
                    s->ccc[s->n] = 0;
                    s->run_start = ++s->n;
                }
                break;
            case '2':
                ss__scan_end_word(s);
                break;
            case '3':
                ss__scan_end_word(s);
                ss__scan_add(s, c, 0);
                ss__scan_end_word(s);
                break;
            default: /* '1': a control character, dropped */
                break;
            }
            p++;
            continue;
        }
        {
            uint32_t cp = ss__utf8_next(&p, end);
            ss__scan_code_point(s, cp, p);
        }
    }
    ss__scan_end_word(s);
}

/* ---- The vocabulary ---- */

/* Index the vocabulary in text[0..len) (owned by tok from here on, with a NUL at text[len]):
   check every line, pack the tokens NUL-terminated to the front in place, hash them. */
SS_PRIVATE ss_result ss__tokenizer_parse(ss_tokenizer *tok, char *text, size_t len,
                                         const char *src) {
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0, line = 1, V = 0, n_slots = 16, bytes, slot_bytes, out, id;
    int k;
    SS_MEMSET(tok, 0, sizeof *tok);
    tok->text = text;
    if (len == 0) {
        ss_tokenizer_free(tok);
        return ss__fail(SS_ERR_FORMAT, "%s: empty file, no tokens", src);
    }
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        ss_tokenizer_free(tok);
        return ss__fail(SS_ERR_FORMAT, "%s:1: starts with a UTF-8 byte order mark", src);
    }
    /* pass 1: every line is a non-empty token of valid UTF-8 without NUL */
    while (i < len) {
        size_t line_start = i;
        while (i < len && u[i] != '\n' && u[i] != '\r') {
            uint32_t cp;
            size_t n = u[i] < 0x80 ? 1 : ss__utf8_decode(u + i, len - i, &cp);
            if (u[i] == 0 || n == 0) {
                ss_result r = ss__fail(SS_ERR_FORMAT, "%s:%zu: %s at byte %zu", src, line,
                                       u[i] ? "invalid UTF-8" : "NUL byte", i);
                ss_tokenizer_free(tok);
                return r;
            }
            i += n;
        }
        if (i == line_start) {
            ss_tokenizer_free(tok);
            return ss__fail(SS_ERR_FORMAT, "%s:%zu: empty line", src, line);
        }
        V++;
        i += i + 1 < len && u[i] == '\r' && u[i + 1] == '\n' ? 2 : 1;
        line++;
    }
    if (V > 0x3FFFFFFF) {
        ss_tokenizer_free(tok);
        return ss__fail(SS_ERR_FORMAT, "%s: %zu tokens, more than ids can hold", src, V);
    }
    while (n_slots < 2 * V) n_slots *= 2; /* load factor at most 1/2 */
    if (!ss__mul_size(V + 1, sizeof(size_t), &bytes) ||
        !ss__mul_size(n_slots, sizeof(ss__vocab_slot), &slot_bytes) ||
        !ss__add_size(bytes, slot_bytes, &bytes)) {
        ss_tokenizer_free(tok);
        return ss__fail(SS_ERR_OVERFLOW, "%s: index size overflows", src);
    }
    tok->start = (size_t *)ss__malloc(bytes);
    if (!tok->start) {
        ss_tokenizer_free(tok);
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for the index of %zu tokens", src, V);
    }
    tok->slots = (ss__vocab_slot *)(void *)(tok->start + V + 1); /* size_t alignment suffices */
    tok->slot_mask = n_slots - 1;
    tok->vocab_size = (int)V;
    for (i = 0; i < n_slots; i++) {
        tok->slots[i].hash = 0;
        tok->slots[i].id = -1;
    }
    /* pass 2: tokens to the front, one NUL after each (never overtakes the reading) */
    for (i = 0, out = 0, id = 0; id < V; id++) {
        size_t line_start = i, n, end_length;
        while (i < len && u[i] != '\n' && u[i] != '\r') i++;
        n = i - line_start;
        end_length = i + 1 < len && u[i] == '\r' && u[i + 1] == '\n' ? 2 : 1; /* before the NUL */
        memmove(text + out, text + line_start, n);
        tok->start[id] = out;
        out += n;
        text[out++] = '\0'; /* may overwrite the line end; at most text[len], the caller's NUL */
        i += end_length;
        if ((int)n > tok->max_token_bytes) tok->max_token_bytes = (int)n;
    }
    tok->start[V] = out;
    /* pass 3: the hash index; a duplicate is an error */
    for (id = 0; id < V; id++) {
        const char *t = text + tok->start[id];
        size_t n = tok->start[id + 1] - tok->start[id] - 1;
        uint32_t h = ss__fnv1a(t, n);
        size_t s = h & tok->slot_mask;
        for (; tok->slots[s].id >= 0; s = (s + 1) & tok->slot_mask) {
            int other = tok->slots[s].id;
            if (tok->slots[s].hash == h && tok->start[other + 1] - tok->start[other] - 1 == n &&
                memcmp(text + tok->start[other], t, n) == 0) {
                ss_result r = ss__fail(SS_ERR_FORMAT, "%s:%zu: duplicate token '%s' (first on line %d)",
                                       src, id + 1, t, other + 1);
                ss_tokenizer_free(tok);
                return r;
            }
        }
        tok->slots[s].hash = h;
        tok->slots[s].id = (int32_t)id;
    }
    for (k = 0; k < 5; k++) {
        int found = ss_tokenizer_find(tok, ss__special_names[k], strlen(ss__special_names[k]));
        if (found < 0) {
            ss_result r = ss__fail(SS_ERR_FORMAT, "%s: missing special token %s", src,
                                   ss__special_names[k]);
            ss_tokenizer_free(tok);
            return r;
        }
        if (k == 0) tok->pad_id = found;
        else if (k == 1) tok->unk_id = found;
        else if (k == 2) tok->cls_id = found;
        else if (k == 3) tok->sep_id = found;
        else tok->mask_id = found;
    }
    return SS_OK;
}

#ifndef SS_NO_STDIO
SS_API ss_result ss_tokenizer_load(ss_tokenizer *tok, const char *path) {
    char *data;
    size_t size;
    ss_result r;
    SS_MEMSET(tok, 0, sizeof *tok);
    r = ss_file_read(path, &data, &size);
    if (r != SS_OK) return r;
    return ss__tokenizer_parse(tok, data, size, path);
}

SS_API ss_result ss_tokenizer_save(const ss_tokenizer *tok, const char *path) {
    ss_writer w;
    int id;
    ss_result r = ss_writer_init(&w, path);
    if (r != SS_OK) return r;
    for (id = 0; id < tok->vocab_size; id++) { /* the first error sticks in w */
        size_t at = tok->start[id];
        ss_writer_write(&w, tok->text + at, tok->start[id + 1] - at - 1);
        ss_writer_write(&w, "\n", 1);
    }
    r = ss_writer_commit(&w);
    ss_writer_free(&w);
    return r;
}
#endif

SS_API ss_result ss_tokenizer_init(ss_tokenizer *tok, const char *text, size_t len,
                                   const char *source_name) {
    char *copy;
    const char *src = source_name ? source_name : "vocab";
    SS_MEMSET(tok, 0, sizeof *tok);
    if (len == SIZE_MAX) return ss__fail(SS_ERR_OVERFLOW, "%s: size overflows", src);
    copy = (char *)ss__malloc(len + 1);
    if (!copy) return ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu bytes", src, len + 1);
    if (len) SS_MEMCPY(copy, text, len);
    copy[len] = '\0';
    return ss__tokenizer_parse(tok, copy, len, src);
}

SS_API void ss_tokenizer_free(ss_tokenizer *tok) {
    ss_free(tok->text);
    ss_free(tok->start); /* the hash slots live in the same block */
    SS_MEMSET(tok, 0, sizeof *tok);
}

SS_API int ss_tokenizer_find(const ss_tokenizer *tok, const char *token, size_t len) {
    return ss__vocab_find(tok, (const unsigned char *)token, len);
}

SS_API const char *ss_tokenizer_token(const ss_tokenizer *tok, int id) {
    SS_ASSERT(id >= 0 && id < tok->vocab_size && "token id out of range");
    return tok->text + tok->start[id];
}

/* ---- Tokenizing, encoding, decoding ---- */

SS_API void ss_basic_tokenize(const char *text, size_t len, int final_sigma,
                              void (*fn)(void *user, const char *word, size_t len, int nchars),
                              void *user) {
    ss__scan s;
    SS_ASSERT(fn && (text || len == 0));
    ss__scan_init(&s, NULL, final_sigma);
    s.fn = fn;
    s.user = user;
    ss__scan_text(&s, text, len);
}

SS_API size_t ss_tokenizer_tokenize(const ss_tokenizer *tok, const char *text, size_t len,
                                    int *ids, size_t cap) {
    ss__scan s;
    SS_ASSERT(tok && tok->slots && (text || len == 0) && (ids || cap == 0));
    ss__scan_init(&s, tok, tok->final_sigma);
    s.ids = ids;
    s.cap = cap;
    ss__scan_text(&s, text, len);
    return s.count;
}

SS_API size_t ss_tokenizer_encode(const ss_tokenizer *tok, const ss_encode_options *opts,
                                  const char *text, size_t len, const char *pair, size_t pair_len,
                                  int *ids, int *type_ids, int *mask, size_t cap) {
    const int special = !(opts && opts->no_special_tokens);
    const size_t max_length = opts && opts->max_length > 0 ? (size_t)opts->max_length : 0;
    const size_t n_special = special ? (pair ? 3 : 2) : 0, a_at = special ? 1 : 0;
    size_t na, nb = 0, keep_a, keep_b, total, pos, i;
    SS_ASSERT(tok && (ids || cap == 0));
    SS_ASSERT((max_length == 0 || max_length >= n_special) && "max_length leaves no room for [CLS]/[SEP]");
    SS_ASSERT(!(opts && opts->pad) || max_length == 0 || cap >= max_length);
    /* the first sequence straight into place: truncation keeps a prefix of it */
    na = ss_tokenizer_tokenize(tok, text, len, cap > a_at ? ids + a_at : NULL, cap > a_at ? cap - a_at : 0);
    if (pair) nb = ss_tokenizer_tokenize(tok, pair, pair_len, NULL, 0); /* count only, for now */
    keep_a = na;
    keep_b = nb;
    if (max_length && na + nb + n_special > max_length) {
        /* longest-first: first even out the longer side, then take turns, the second side first
           (HF's truncate_sequences, strategy "longest_first", truncation_side "right") */
        size_t excess = na + nb + n_special - max_length;
        size_t diff = na > nb ? na - nb : nb - na, even = diff < excess ? diff : excess;
        size_t rest = excess - even;
        if (na > nb) {
            keep_a = na - (even + rest / 2);
            keep_b = nb - (rest - rest / 2);
        } else {
            keep_a = na - rest / 2;
            keep_b = nb - (even + rest - rest / 2);
        }
    }
    total = n_special + keep_a + keep_b;
    if (special && cap > 0) ids[0] = tok->cls_id;
    pos = a_at + keep_a;
    if (special) {
        if (pos < cap) ids[pos] = tok->sep_id;
        pos++;
    }
    if (pair) {
        if (pos < cap) ss_tokenizer_tokenize(tok, pair, pair_len, ids + pos, keep_b < cap - pos ? keep_b : cap - pos);
        pos += keep_b;
        if (special) {
            if (pos < cap) ids[pos] = tok->sep_id;
            pos++;
        }
    }
    for (i = 0; i < total && i < cap; i++) {
        if (type_ids) type_ids[i] = pair && i >= a_at + keep_a + (special ? 1 : 0);
        if (mask) mask[i] = 1;
    }
    if (opts && opts->pad)
        for (i = total; i < max_length && i < cap; i++) {
            ids[i] = tok->pad_id;
            if (type_ids) type_ids[i] = 0;
            if (mask) mask[i] = 0;
        }
    return total;
}

SS_API void ss_tokenizer_encode_batch(const ss_tokenizer *tok, const ss_encode_options *opts,
                                      const char *const *texts, const size_t *lens,
                                      const char *const *pairs, const size_t *pair_lens, int B,
                                      int *ids, int *type_ids, int *mask, int *lengths) {
    ss_encode_options row_opts;
    int b;
    SS_ASSERT(tok && opts && opts->max_length > 0 && texts && ids && B >= 0);
    row_opts = *opts;
    row_opts.pad = 1;
    SS__OMP(parallel for schedule(dynamic, 16))
    for (b = 0; b < B; b++) {
        const size_t T = (size_t)row_opts.max_length, at = (size_t)b * T;
        const char *pair = pairs ? pairs[b] : NULL;
        size_t n = ss_tokenizer_encode(tok, &row_opts, texts[b], lens ? lens[b] : strlen(texts[b]),
                                       pair, pair ? (pair_lens ? pair_lens[b] : strlen(pair)) : 0,
                                       ids + at, type_ids ? type_ids + at : NULL,
                                       mask ? mask + at : NULL, T);
        if (lengths) lengths[b] = (int)n;
    }
}

SS_API size_t ss_tokenizer_decode_size(const ss_tokenizer *tok, const int *ids, size_t n) {
    size_t i, size = 1;
    for (i = 0; i < n; i++) {
        SS_ASSERT(ids[i] >= 0 && ids[i] < tok->vocab_size && "token id out of range");
        size += tok->start[ids[i] + 1] - tok->start[ids[i]]; /* the token and a space */
    }
    return size;
}

/* Replace every occurrence of from by the no longer to in s[0..len), left to right, as
   Python's str.replace; returns the new length (s stays NUL-terminated). */
SS_PRIVATE size_t ss__replace_all(char *s, size_t len, const char *from, const char *to) {
    size_t nf = strlen(from), nt = strlen(to), r = 0, w = 0;
    while (r < len) {
        if (r + nf <= len && memcmp(s + r, from, nf) == 0) {
            SS_MEMCPY(s + w, to, nt);
            w += nt;
            r += nf;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

SS_API size_t ss_tokenizer_decode(const ss_tokenizer *tok, const int *ids, size_t n,
                                  unsigned flags, char *out) {
    /* HF's clean_up_tokenization, in its order */
    static const char *const cleanup[10][2] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    size_t len = 0, i, lead = 0;
    for (i = 0; i < n; i++) {
        const int id = ids[i];
        size_t at, tn;
        SS_ASSERT(id >= 0 && id < tok->vocab_size && "token id out of range");
        if ((flags & SS_DECODE_SKIP_SPECIAL) && (id == tok->pad_id || id == tok->unk_id ||
            id == tok->cls_id || id == tok->sep_id || id == tok->mask_id))
            continue;
        at = tok->start[id];
        tn = tok->start[id + 1] - at - 1;
        if (len) out[len++] = ' ';
        SS_MEMCPY(out + len, tok->text + at, tn);
        len += tn;
    }
    out[len] = '\0';
    len = ss__replace_all(out, len, " ##", ""); /* convert_tokens_to_string */
    while (lead < len && (out[lead] == ' ' || (out[lead] >= '\t' && out[lead] <= '\r') ||
                          (out[lead] >= 0x1C && out[lead] <= 0x1F)))
        lead++;
    while (len > lead && (out[len - 1] == ' ' || (out[len - 1] >= '\t' && out[len - 1] <= '\r') ||
                          (out[len - 1] >= 0x1C && out[len - 1] <= 0x1F)))
        len--;
    memmove(out, out + lead, len - lead);
    len -= lead;
    out[len] = '\0';
    if (!(flags & SS_DECODE_NO_CLEANUP))
        for (i = 0; i < 10; i++) len = ss__replace_all(out, len, cleanup[i][0], cleanup[i][1]);
    return len;
}

/* ---- The vocabulary trainer ---- */

SS_PRIVATE void ss__strtab_free(ss__strtab *t) {
    ss_free(t->bytes);
    ss_free(t->entries);
    ss_free(t->slots);
    SS_MEMSET(t, 0, sizeof *t);
}

/* Index of the string s[0..n) with hash h, or -1. */
SS_PRIVATE long ss__strtab_find(const ss__strtab *t, const char *s, size_t n, uint32_t h) {
    size_t i;
    if (!t->n_slots) return -1;
    for (i = h & (t->n_slots - 1); t->slots[i]; i = (i + 1) & (t->n_slots - 1)) {
        const ss__strtab_entry *e = &t->entries[t->slots[i] - 1];
        if (e->hash == h && e->length == n && memcmp(t->bytes + e->offset, s, n) == 0)
            return (long)(t->slots[i] - 1);
    }
    return -1;
}

/* p grown to hold at least need elements of size bytes (capacity doubling), or p itself with
   *r set on failure. */
SS_PRIVATE void *ss__grow(void *p, size_t *capacity, size_t need, size_t size, ss_result *r) {
    size_t cap = *capacity ? *capacity : 64, bytes;
    void *grown;
    if (need <= *capacity) return p;
    while (cap < need)
        if (!ss__mul_size(cap, 2, &cap)) {
            *r = ss__fail(SS_ERR_OVERFLOW, "table size overflows");
            return p;
        }
    if (!ss__mul_size(cap, size, &bytes)) {
        *r = ss__fail(SS_ERR_OVERFLOW, "table size overflows");
        return p;
    }
    grown = ss__realloc(p, bytes);
    if (!grown) {
        *r = ss__fail(SS_ERR_NOMEM, "no memory for a table of %zu bytes", bytes);
        return p;
    }
    *capacity = cap;
    return grown;
}

/* Add a string that is not in the table yet, with value 0; *index receives its index. */
SS_PRIVATE ss_result ss__strtab_add(ss__strtab *t, const char *s, size_t n, uint32_t h,
                                    size_t *index) {
    ss__strtab_entry *e;
    size_t i, need;
    ss_result r = SS_OK;
    if (2 * (t->count + 1) > t->n_slots) { /* keep the load at most 1/2: rehash into twice as many */
        size_t n_slots = t->n_slots ? 2 * t->n_slots : 1024, bytes;
        size_t *slots;
        if (!ss__mul_size(n_slots, sizeof(size_t), &bytes))
            return ss__fail(SS_ERR_OVERFLOW, "string table size overflows");
        slots = (size_t *)ss__malloc(bytes);
        if (!slots) return ss__fail(SS_ERR_NOMEM, "no memory for a string table of %zu bytes", bytes);
        SS_MEMSET(slots, 0, bytes);
        for (i = 0; i < t->count; i++) {
            size_t j = t->entries[i].hash & (n_slots - 1);
            while (slots[j]) j = (j + 1) & (n_slots - 1);
            slots[j] = i + 1;
        }
        ss_free(t->slots);
        t->slots = slots;
        t->n_slots = n_slots;
    }
    if (!ss__add_size(t->used, n + 1, &need)) return ss__fail(SS_ERR_OVERFLOW, "string table size overflows");
    t->bytes = (char *)ss__grow(t->bytes, &t->capacity, need, 1, &r);
    if (r != SS_OK) return r;
    t->entries = (ss__strtab_entry *)ss__grow(t->entries, &t->entries_capacity, t->count + 1,
                                              sizeof(ss__strtab_entry), &r);
    if (r != SS_OK) return r;
    e = &t->entries[t->count];
    e->offset = t->used;
    e->length = (uint32_t)n;
    e->hash = h;
    e->value = 0;
    SS_MEMCPY(t->bytes + t->used, s, n);
    t->bytes[t->used + n] = '\0';
    t->used = need;
    for (i = h & (t->n_slots - 1); t->slots[i]; i = (i + 1) & (t->n_slots - 1)) {
    }
    t->slots[i] = ++t->count;
    *index = t->count - 1;
    return SS_OK;
}

SS_API ss_result ss_vocab_trainer_init(ss_vocab_trainer *tr, const ss_vocab_train_options *opts) {
    SS_MEMSET(tr, 0, sizeof *tr);
    if (!opts || opts->vocab_size < 5 || opts->min_frequency < 0 || opts->limit_alphabet < 0)
        return ss__fail(SS_ERR_INVALID, "vocab trainer: vocab_size must be >= 5 (the special "
                        "tokens) and min_frequency, limit_alphabet >= 0");
    tr->options = *opts;
    return SS_OK;
}

SS_PRIVATE void ss__trainer_count_word(void *user, const char *word, size_t len, int nchars) {
    ss_vocab_trainer *tr = (ss_vocab_trainer *)user;
    uint32_t h;
    long found;
    size_t index;
    if (tr->status != SS_OK || nchars > SS_TOKENIZER_MAX_WORD_CHARS) return;
    h = ss__fnv1a(word, len);
    found = ss__strtab_find(&tr->words, word, len, h);
    if (found < 0 && tr->words.count >= 0xFFFFFFF0u) {
        tr->status = ss__fail(SS_ERR_OVERFLOW, "vocab trainer: more than 2^32 distinct words");
        return;
    }
    if (found < 0) {
        tr->status = ss__strtab_add(&tr->words, word, len, h, &index);
        if (tr->status != SS_OK) return;
        found = (long)index;
    }
    tr->words.entries[found].value++;
    tr->total_words++;
}

SS_API ss_result ss_vocab_trainer_feed(ss_vocab_trainer *tr, const char *text, size_t len) {
    if (tr->status == SS_OK)
        ss_basic_tokenize(text, len, tr->options.final_sigma, ss__trainer_count_word, tr);
    return tr->status;
}

SS_API void ss_vocab_trainer_free(ss_vocab_trainer *tr) {
    ss__strtab_free(&tr->words);
    SS_MEMSET(tr, 0, sizeof *tr);
}

/* The training state: words as symbol ids, adjacent pairs with their counts and the words they
   occur in, and a max-heap of pairs with lazily updated counts. */
typedef struct ss__bpe_pair {
    uint64_t key;     /* first id << 32 | second id */
    int64_t count;    /* occurrences, each word weighted by its frequency */
    uint32_t *where;  /* words that contained the pair when it was counted (may be stale) */
    uint32_t n_where, cap_where;
    int dirty;        /* its count grew during the current merge */
} ss__bpe_pair;

typedef struct ss__bpe_heap_item {
    int64_t count;
    uint32_t pair;
} ss__bpe_heap_item;

typedef struct ss__bpe {
    ss__strtab vocab;           /* token strings; value unused; index = id */
    int32_t *sym;               /* every word's symbols, word w at sym + word_at[w] */
    size_t *word_at;
    uint32_t *word_len;         /* symbols left in word w (0: left out) */
    ss__bpe_pair *pairs;
    size_t n_pairs, cap_pairs;
    size_t *pair_slots;         /* pair index + 1, 0 empty */
    size_t n_pair_slots;
    ss__bpe_heap_item *heap;
    size_t n_heap, cap_heap;
    uint32_t *dirty;            /* pairs whose count grew in this merge */
    size_t n_dirty, cap_dirty;
} ss__bpe;

SS_PRIVATE void ss__bpe_free(ss__bpe *b) {
    size_t i;
    ss__strtab_free(&b->vocab);
    for (i = 0; i < b->n_pairs; i++) ss_free(b->pairs[i].where);
    ss_free(b->sym);
    ss_free(b->word_at);
    ss_free(b->word_len);
    ss_free(b->pairs);
    ss_free(b->pair_slots);
    ss_free(b->heap);
    ss_free(b->dirty);
    SS_MEMSET(b, 0, sizeof *b);
}

SS_PRIVATE uint64_t ss__mix64(uint64_t x) { /* the splitmix64 finalizer, to hash pair keys */
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

/* Heap order: the larger count first; equal counts, the smaller (first, second) ids first. */
SS_PRIVATE int ss__bpe_before(const ss__bpe *b, const ss__bpe_heap_item *x, const ss__bpe_heap_item *y) {
    if (x->count != y->count) return x->count > y->count;
    return b->pairs[x->pair].key < b->pairs[y->pair].key;
}

SS_PRIVATE ss_result ss__bpe_push(ss__bpe *b, int64_t count, uint32_t pair) {
    size_t i;
    ss_result r = SS_OK;
    b->heap = (ss__bpe_heap_item *)ss__grow(b->heap, &b->cap_heap, b->n_heap + 1,
                                            sizeof(ss__bpe_heap_item), &r);
    if (r != SS_OK) return r;
    i = b->n_heap++;
    b->heap[i].count = count;
    b->heap[i].pair = pair;
    while (i > 0 && ss__bpe_before(b, &b->heap[i], &b->heap[(i - 1) / 2])) { /* sift up */
        ss__bpe_heap_item t = b->heap[i];
        b->heap[i] = b->heap[(i - 1) / 2];
        b->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return SS_OK;
}

SS_PRIVATE ss__bpe_heap_item ss__bpe_pop(ss__bpe *b) {
    ss__bpe_heap_item top = b->heap[0];
    size_t i = 0;
    b->heap[0] = b->heap[--b->n_heap];
    for (;;) { /* sift down */
        size_t l = 2 * i + 1, best = i;
        if (l < b->n_heap && ss__bpe_before(b, &b->heap[l], &b->heap[best])) best = l;
        if (l + 1 < b->n_heap && ss__bpe_before(b, &b->heap[l + 1], &b->heap[best])) best = l + 1;
        if (best == i) break;
        {
            ss__bpe_heap_item t = b->heap[i];
            b->heap[i] = b->heap[best];
            b->heap[best] = t;
        }
        i = best;
    }
    return top;
}

/* The index of pair (x, y), created with count 0 when create is set; -1 when absent or on
   failure (*r then holds the error). */
SS_PRIVATE long ss__bpe_pair_index(ss__bpe *b, int32_t x, int32_t y, int create, ss_result *r) {
    uint64_t key = (uint64_t)(uint32_t)x << 32 | (uint32_t)y;
    size_t i, mask;
    ss__bpe_pair *p;
    if (b->n_pair_slots) {
        mask = b->n_pair_slots - 1;
        for (i = ss__mix64(key) & mask; b->pair_slots[i]; i = (i + 1) & mask)
            if (b->pairs[b->pair_slots[i] - 1].key == key) return (long)(b->pair_slots[i] - 1);
    }
    if (!create) return -1;
    if (2 * (b->n_pairs + 1) > b->n_pair_slots) {
        size_t n = b->n_pair_slots ? 2 * b->n_pair_slots : 4096, bytes, j;
        size_t *slots;
        if (!ss__mul_size(n, sizeof(size_t), &bytes)) {
            *r = ss__fail(SS_ERR_OVERFLOW, "vocab trainer: pair table overflows");
            return -1;
        }
        slots = (size_t *)ss__malloc(bytes);
        if (!slots) {
            *r = ss__fail(SS_ERR_NOMEM, "vocab trainer: no memory for %zu pair slots", n);
            return -1;
        }
        SS_MEMSET(slots, 0, bytes);
        for (j = 0; j < b->n_pairs; j++) {
            size_t k = ss__mix64(b->pairs[j].key) & (n - 1);
            while (slots[k]) k = (k + 1) & (n - 1);
            slots[k] = j + 1;
        }
        ss_free(b->pair_slots);
        b->pair_slots = slots;
        b->n_pair_slots = n;
    }
    b->pairs = (ss__bpe_pair *)ss__grow(b->pairs, &b->cap_pairs, b->n_pairs + 1, sizeof(ss__bpe_pair), r);
    if (*r != SS_OK) return -1;
    p = &b->pairs[b->n_pairs];
    SS_MEMSET(p, 0, sizeof *p);
    p->key = key;
    mask = b->n_pair_slots - 1;
    for (i = ss__mix64(key) & mask; b->pair_slots[i]; i = (i + 1) & mask) {
    }
    b->pair_slots[i] = ++b->n_pairs;
    return (long)(b->n_pairs - 1);
}

/* count(x, y) += delta, for word w. A growing count marks the pair for the heap and records w. */
SS_PRIVATE ss_result ss__bpe_add(ss__bpe *b, int32_t x, int32_t y, int64_t delta, uint32_t w) {
    ss_result r = SS_OK;
    long i = ss__bpe_pair_index(b, x, y, delta > 0, &r);
    ss__bpe_pair *p;
    if (i < 0) {
        SS_ASSERT(delta > 0 && "pair counts out of step");
        return r;
    }
    p = &b->pairs[i];
    p->count += delta;
    SS_ASSERT(p->count >= 0);
    if (delta <= 0) return SS_OK;
    if (!p->n_where || p->where[p->n_where - 1] != w) {
        if (p->n_where == p->cap_where) {
            size_t cap = p->cap_where;
            p->where = (uint32_t *)ss__grow(p->where, &cap, (size_t)p->n_where + 1, sizeof(uint32_t), &r);
            if (r != SS_OK) return r;
            p->cap_where = (uint32_t)cap;
        }
        p->where[p->n_where++] = w;
    }
    if (!p->dirty) {
        b->dirty = (uint32_t *)ss__grow(b->dirty, &b->cap_dirty, b->n_dirty + 1, sizeof(uint32_t), &r);
        if (r != SS_OK) return r;
        p->dirty = 1;
        b->dirty[b->n_dirty++] = (uint32_t)i;
    }
    return SS_OK;
}

/* Add token s[0..n) to the vocabulary unless there; its id in *id. */
SS_PRIVATE ss_result ss__bpe_token(ss__bpe *b, const char *s, size_t n, int32_t *id) {
    uint32_t h = ss__fnv1a(s, n);
    long found = ss__strtab_find(&b->vocab, s, n, h);
    size_t index;
    ss_result r;
    if (found >= 0) {
        *id = (int32_t)found;
        return SS_OK;
    }
    if ((r = ss__strtab_add(&b->vocab, s, n, h, &index)) != SS_OK) return r;
    *id = (int32_t)index;
    return SS_OK;
}

typedef struct ss__char_count {
    uint32_t cp;
    uint64_t count;
    int32_t id, cont_id; /* ids of "c" and "##c" (-1 none) */
} ss__char_count;

SS_PRIVATE int ss__cmp_char_frequency(const void *x, const void *y) {
    const ss__char_count *a = (const ss__char_count *)x, *b = (const ss__char_count *)y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return (a->cp > b->cp) - (a->cp < b->cp);
}
SS_PRIVATE int ss__cmp_char_cp(const void *x, const void *y) {
    const ss__char_count *a = (const ss__char_count *)x, *b = (const ss__char_count *)y;
    return (a->cp > b->cp) - (a->cp < b->cp);
}

SS_PRIVATE ss__char_count *ss__find_char(ss__char_count *alphabet, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (alphabet[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && alphabet[lo].cp == cp ? &alphabet[lo] : NULL;
}

/* Merge pair p = (x, y) into token z in every word that has it, updating the counts of the
   neighbouring pairs (left to right, so "x y x y" -> "z z" counts right). */
SS_PRIVATE ss_result ss__bpe_merge(ss__bpe *b, ss__strtab *words, size_t p, int32_t z) {
    const int32_t x = (int32_t)(b->pairs[p].key >> 32), y = (int32_t)(b->pairs[p].key & 0xFFFFFFFFu);
    uint32_t *where = b->pairs[p].where, n_where = b->pairs[p].n_where, k;
    ss_result r = SS_OK;
    b->pairs[p].where = NULL; /* the list is consumed; new words never get (x, y) again */
    b->pairs[p].n_where = b->pairs[p].cap_where = 0;
    for (k = 0; k < n_where && r == SS_OK; k++) {
        const uint32_t w = where[k];
        int32_t *s = b->sym + b->word_at[w];
        uint32_t len = b->word_len[w], i = 0;
        const int64_t c = (int64_t)words->entries[w].value;
        while (i + 1 < len && r == SS_OK) {
            if (s[i] != x || s[i + 1] != y) {
                i++;
                continue;
            }
            if (i > 0) {
                r = ss__bpe_add(b, s[i - 1], x, -c, w);
                if (r == SS_OK) r = ss__bpe_add(b, s[i - 1], z, c, w);
            }
            if (r == SS_OK) r = ss__bpe_add(b, x, y, -c, w);
            if (i + 2 < len && r == SS_OK) {
                r = ss__bpe_add(b, y, s[i + 2], -c, w);
                if (r == SS_OK) r = ss__bpe_add(b, z, s[i + 2], c, w);
            }
            s[i] = z;
            memmove(s + i + 1, s + i + 2, (len - i - 2) * sizeof(int32_t));
            len--;
            i++;
        }
        b->word_len[w] = len;
    }
    ss_free(where);
    return r;
}

SS_API ss_result ss_vocab_trainer_train(ss_vocab_trainer *tr, ss_tokenizer *out) {
    const ss_vocab_train_options *o = &tr->options;
    const size_t min_frequency = o->min_frequency ? (size_t)o->min_frequency : 2;
    const size_t limit_alphabet = o->limit_alphabet ? (size_t)o->limit_alphabet : 1000;
    ss__strtab *words = &tr->words;
    ss__strtab chars;
    ss__char_count *alphabet = NULL;
    ss__bpe b;
    size_t n_chars = 0, i, n_sym = 0, merges_total, text_len = 0, bytes = 0;
    uint32_t w;
    char *text = NULL;
    ss_result r = tr->status;
    SS_MEMSET(out, 0, sizeof *out);
    SS_MEMSET(&chars, 0, sizeof chars);
    SS_MEMSET(&b, 0, sizeof b);
    if (r != SS_OK) return r;

    /* 1. character frequencies (a word's count for each of its characters) */
    for (w = 0; w < words->count && r == SS_OK; w++) {
        const unsigned char *p = (const unsigned char *)words->bytes + words->entries[w].offset;
        const unsigned char *end = p + words->entries[w].length;
        while (p < end && r == SS_OK) {
            const unsigned char *c = p;
            size_t index;
            long found;
            ss__utf8_next(&p, end);
            found = ss__strtab_find(&chars, (const char *)c, (size_t)(p - c), ss__fnv1a(c, (size_t)(p - c)));
            if (found < 0) {
                r = ss__strtab_add(&chars, (const char *)c, (size_t)(p - c), ss__fnv1a(c, (size_t)(p - c)), &index);
                found = (long)index;
            }
            if (r == SS_OK) chars.entries[found].value += words->entries[w].value;
        }
        n_sym += words->entries[w].length; /* bytes: at least the characters */
    }
    /* 2. the alphabet: the most frequent characters, then in code point order */
    if (r == SS_OK && !ss__mul_size(chars.count + 1, sizeof(ss__char_count), &bytes))
        r = ss__fail(SS_ERR_OVERFLOW, "vocab trainer: alphabet too large");
    if (r == SS_OK && !(alphabet = (ss__char_count *)ss__malloc(bytes)))
        r = ss__fail(SS_ERR_NOMEM, "vocab trainer: no memory for the alphabet");
    if (r == SS_OK) {
        for (i = 0; i < chars.count; i++) {
            ss__utf8_decode((const unsigned char *)chars.bytes + chars.entries[i].offset,
                                chars.entries[i].length, &alphabet[i].cp);
            alphabet[i].count = chars.entries[i].value;
            alphabet[i].id = alphabet[i].cont_id = -1;
        }
        n_chars = chars.count;
        qsort(alphabet, n_chars, sizeof *alphabet, ss__cmp_char_frequency);
        if (n_chars > limit_alphabet) n_chars = limit_alphabet;
        qsort(alphabet, n_chars, sizeof *alphabet, ss__cmp_char_cp);
    }
    ss__strtab_free(&chars);
    /* 3. the initial vocabulary: special tokens, the alphabet, the "##" continuations in use */
    for (i = 0; i < 5 && r == SS_OK; i++) {
        int32_t id;
        r = ss__bpe_token(&b, ss__special_names[i], strlen(ss__special_names[i]), &id);
    }
    for (i = 0; i < n_chars && r == SS_OK; i++) {
        unsigned char u[4];
        r = ss__bpe_token(&b, (const char *)u, (size_t)ss__utf8_encode(alphabet[i].cp, u), &alphabet[i].id);
    }
    if (r == SS_OK && (!(b.sym = (int32_t *)ss__malloc((n_sym + 1) * sizeof(int32_t))) ||
                       !(b.word_at = (size_t *)ss__malloc((words->count + 1) * sizeof(size_t))) ||
                       !(b.word_len = (uint32_t *)ss__malloc((words->count + 1) * sizeof(uint32_t)))))
        r = ss__fail(SS_ERR_NOMEM, "vocab trainer: no memory for %zu symbols", n_sym);
    for (w = 0, n_sym = 0; w < words->count && r == SS_OK; w++) { /* words as alphabet indices */
        const unsigned char *p = (const unsigned char *)words->bytes + words->entries[w].offset;
        const unsigned char *end = p + words->entries[w].length;
        uint32_t len = 0, k;
        int kept = 1;
        b.word_at[w] = n_sym;
        while (p < end && kept) {
            ss__char_count *c = ss__find_char(alphabet, n_chars, ss__utf8_next(&p, end));
            if (c) b.sym[n_sym + len++] = (int32_t)(c - alphabet);
            else kept = 0; /* a character outside the alphabet: the word is left out */
        }
        for (k = 1; kept && k < len; k++) alphabet[b.sym[n_sym + k]].cont_id = 0; /* "##c" needed */
        b.word_len[w] = kept ? len : 0;
        n_sym += b.word_len[w];
    }
    for (i = 0; i < n_chars && r == SS_OK; i++)
        if (alphabet[i].cont_id == 0) {
            unsigned char u[6] = {'#', '#'};
            r = ss__bpe_token(&b, (const char *)u, 2 + (size_t)ss__utf8_encode(alphabet[i].cp, u + 2),
                              &alphabet[i].cont_id);
        }
    for (w = 0; w < words->count && r == SS_OK; w++) { /* alphabet indices -> token ids */
        int32_t *s = b.sym + b.word_at[w];
        uint32_t k;
        for (k = 0; k < b.word_len[w]; k++) s[k] = k ? alphabet[s[k]].cont_id : alphabet[s[k]].id;
    }
    /* 4. count the pairs, heap them, merge the best until the vocabulary is full */
    if (o->progress && r == SS_OK) o->progress(o->progress_user, "pairs", 0.0, (double)words->count);
    for (w = 0; w < words->count && r == SS_OK; w++) {
        const int32_t *s = b.sym + b.word_at[w];
        uint32_t k;
        for (k = 0; k + 1 < b.word_len[w] && r == SS_OK; k++)
            r = ss__bpe_add(&b, s[k], s[k + 1], (int64_t)words->entries[w].value, w);
    }
    for (i = 0; i < b.n_dirty && r == SS_OK; i++) {
        b.pairs[b.dirty[i]].dirty = 0;
        r = ss__bpe_push(&b, b.pairs[b.dirty[i]].count, b.dirty[i]);
    }
    b.n_dirty = 0;
    if (o->progress && r == SS_OK)
        o->progress(o->progress_user, "pairs", (double)words->count, (double)words->count);
    merges_total = (size_t)o->vocab_size > b.vocab.count ? (size_t)o->vocab_size - b.vocab.count : 0;
    while (r == SS_OK && b.vocab.count < (size_t)o->vocab_size && b.n_heap) {
        ss__bpe_heap_item top = ss__bpe_pop(&b);
        ss__bpe_pair *p = &b.pairs[top.pair];
        char merged[2 * SS__WORD_BYTES + 8];
        const ss__strtab_entry *ex, *ey;
        size_t skip;
        int32_t z;
        if (top.count != p->count) { /* stale: requeue with the current count */
            if (p->count > 0) r = ss__bpe_push(&b, p->count, top.pair);
            continue;
        }
        if ((uint64_t)top.count < min_frequency) break;
        ex = &b.vocab.entries[p->key >> 32];
        ey = &b.vocab.entries[p->key & 0xFFFFFFFFu];
        skip = ey->length >= 2 && b.vocab.bytes[ey->offset] == '#' && b.vocab.bytes[ey->offset + 1] == '#' ? 2 : 0;
        SS_ASSERT(ex->length + ey->length - skip < sizeof merged);
        SS_MEMCPY(merged, b.vocab.bytes + ex->offset, ex->length);
        SS_MEMCPY(merged + ex->length, b.vocab.bytes + ey->offset + skip, ey->length - skip);
        r = ss__bpe_token(&b, merged, ex->length + ey->length - skip, &z);
        if (r == SS_OK) r = ss__bpe_merge(&b, words, top.pair, z);
        for (i = 0; i < b.n_dirty && r == SS_OK; i++) {
            b.pairs[b.dirty[i]].dirty = 0;
            r = ss__bpe_push(&b, b.pairs[b.dirty[i]].count, b.dirty[i]);
        }
        b.n_dirty = 0;
        if (o->progress && r == SS_OK && (b.vocab.count % 256 == 0 || b.vocab.count == (size_t)o->vocab_size))
            o->progress(o->progress_user, "merges", (double)(merges_total - ((size_t)o->vocab_size - b.vocab.count)),
                        (double)merges_total);
    }
    /* 5. the vocabulary as vocab.txt text, loaded like any other */
    for (i = 0; i < b.vocab.count && r == SS_OK; i++) text_len += b.vocab.entries[i].length + 1;
    if (r == SS_OK && !(text = (char *)ss__malloc(text_len + 1)))
        r = ss__fail(SS_ERR_NOMEM, "vocab trainer: no memory for %zu bytes of vocabulary", text_len);
    if (r == SS_OK) {
        size_t at = 0;
        for (i = 0; i < b.vocab.count; i++) {
            SS_MEMCPY(text + at, b.vocab.bytes + b.vocab.entries[i].offset, b.vocab.entries[i].length);
            at += b.vocab.entries[i].length;
            text[at++] = '\n';
        }
        r = ss_tokenizer_init(out, text, text_len, "trained vocab");
        out->final_sigma = o->final_sigma;
    }
    ss_free(text);
    ss_free(alphabet);
    ss__bpe_free(&b);
    return r;
}

// >>json (implementation) -------------------------------------------------------------------------


#define SS__JSON_NONE ((size_t)-1)   /* "no item" in the parser's child links */
#define SS__JSON_MAX_NUMBER 256      /* longest number literal accepted, in characters */

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

// >>shards (implementation) -----------------------------------------------------------------------

#ifndef SS_NO_STDIO

/* Elements [first, first + count) of entry e of st, converted to float into out, through a
   stack buffer of SS__ST_CHUNK bytes. The caller has checked that e's dtype is a float. */
SS_PRIVATE ss_result ss__st_read_span(ss_safetensors *st, const ss_safetensors_entry *e,
                                      uint64_t first, size_t count, float *out) {
    unsigned char buf[SS__ST_CHUNK];
    FILE *f = (FILE *)st->file;
    size_t esize = ss_dtype_size(e->dtype), step = SS__ST_CHUNK / esize, done = 0;
    uint64_t at = e->offset + first * esize;
    if (count == 0) return SS_OK;
    if (at > (uint64_t)LONG_MAX)
        return ss__fail(SS_ERR_IO, "%s: tensor '%s': byte %llu is beyond what fseek reaches here "
                        "(long is %d bits)", st->path, e->name, (unsigned long long)at,
                        (int)(sizeof(long) * CHAR_BIT));
    if (fseek(f, (long)at, SEEK_SET) != 0)
        return ss__fail(SS_ERR_IO, "%s: tensor '%s': cannot seek to byte %llu (%s)", st->path,
                        e->name, (unsigned long long)at, strerror(errno));
    while (done < count) {
        size_t n = count - done < step ? count - done : step;
        size_t got = fread(buf, esize, n, f);
        if (got != n) {
            int failed = ferror(f);
            clearerr(f);
            return ss__fail(SS_ERR_IO, "%s: tensor '%s' (file bytes %llu..%llu): %s at file byte "
                            "%llu", st->path, e->name, (unsigned long long)e->offset,
                            (unsigned long long)(e->offset + e->size),
                            failed ? "read error" : "the file ends (truncated after open)",
                            (unsigned long long)(at + (done + got) * esize));
        }
        ss__to_f32(out + done, buf, n, e->dtype);
        done += n;
    }
    return SS_OK;
}

SS_API ss_result ss_safetensors_read_f32_scaled(ss_safetensors *st, int index,
                                                ss_safetensors *scale_st, int scale_index,
                                                int block, float *out, size_t out_numel) {
    float scales[SS__ST_CHUNK / 8]; /* a chunk of scales, converted; 8 KiB */
    const ss_safetensors_entry *e, *s;
    int64_t want[2];
    char have[180], need[48], got[180];
    size_t M, N, bn, b = (size_t)block, done, n, q, i, j;
    ss_result r;
    SS_ASSERT(st && st->file && index >= 0 && index < st->count);
    SS_ASSERT(scale_st && scale_st->file && scale_index >= 0 && scale_index < scale_st->count);
    SS_ASSERT(block > 0 && (out || out_numel == 0));
    e = &st->entries[index];
    s = &scale_st->entries[scale_index];
    if ((uint64_t)out_numel != e->numel)
        return ss__fail(SS_ERR_INVALID, "%s: tensor '%s' has %llu elements, the buffer %zu",
                        st->path, e->name, (unsigned long long)e->numel, out_numel);
    if (e->ndim != 2)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' has shape %s, but block scales ('%s' in "
                        "%s) apply to a 2-D tensor", st->path, e->name,
                        ss__shape_string(have, sizeof have, e->shape, e->ndim), s->name,
                        scale_st->path);
    if (!ss_dtype_is_float(e->dtype) || !ss_dtype_is_float(s->dtype))
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' is %s and its scales '%s' (in %s) are %s: "
                        "both must be floating-point types", st->path, e->name,
                        ss_dtype_name(e->dtype), s->name, scale_st->path, ss_dtype_name(s->dtype));
    /* ceil-divided, so that the last block of a dimension that is not a multiple of block has a
       scale too (128x128 blocks of a 576-row tensor: 5 block rows, the last one 64 rows high) */
    want[0] = e->shape[0] / block + (e->shape[0] % block != 0);
    want[1] = e->shape[1] / block + (e->shape[1] % block != 0);
    if (s->ndim != 2 || s->shape[0] != want[0] || s->shape[1] != want[1])
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' of shape %s needs scales of shape %s for "
                        "%dx%d blocks, but '%s' in %s has shape %s", st->path, e->name,
                        ss__shape_string(have, sizeof have, e->shape, 2),
                        ss__shape_string(need, sizeof need, want, 2), block, block, s->name,
                        scale_st->path, ss__shape_string(got, sizeof got, s->shape, s->ndim));
    /* The values first, straight into out; then one pass over the scales in chunks, each scale
       multiplying its block of out in place. Both are bounded reads: no buffer of the tensor's
       size besides out itself. */
    r = ss_safetensors_read_f32(st, index, out, out_numel);
    if (r != SS_OK) return r;
    M = (size_t)e->shape[0];
    N = (size_t)e->shape[1];
    bn = (size_t)want[1];
    for (done = 0; done < (size_t)s->numel; done += n) {
        n = (size_t)s->numel - done;
        if (n > sizeof scales / sizeof scales[0]) n = sizeof scales / sizeof scales[0];
        r = ss__st_read_span(scale_st, s, done, n, scales);
        if (r != SS_OK) return r;
        for (q = 0; q < n; q++) {
            size_t bi = (done + q) / bn, bj = (done + q) % bn;
            size_t i1 = (bi + 1) * b < M ? (bi + 1) * b : M;
            size_t j1 = (bj + 1) * b < N ? (bj + 1) * b : N;
            float sc = scales[q];
            for (i = bi * b; i < i1; i++) {
                float *row = out + i * N;
                for (j = bj * b; j < j1; j++) row[j] *= sc;
            }
        }
    }
    return SS_OK;
}

/* "dir/name" (just name when dir is empty) into a new buffer of ss__path_join_size bytes. */
SS_PRIVATE size_t ss__path_join_size(const char *dir, const char *name) {
    size_t d = strlen(dir);
    return d + (d > 0 && dir[d - 1] != '/') + strlen(name) + 1;
}
SS_PRIVATE char *ss__path_join_into(char *out, const char *dir, const char *name) {
    size_t d = strlen(dir), n = strlen(name);
    SS_MEMCPY(out, dir, d);
    if (d > 0 && dir[d - 1] != '/') out[d++] = '/';
    SS_MEMCPY(out + d, name, n + 1);
    return out;
}
SS_PRIVATE char *ss__path_join(const char *dir, const char *name) {
    char *out = (char *)ss__malloc(ss__path_join_size(dir, name));
    return out ? ss__path_join_into(out, dir, name) : NULL;
}

/* Whether a shard name from an index stays inside the checkpoint's directory: a plain file name,
   no separator, not "." or "..", not empty (an index from the internet must not reach
   "../../.ssh/id_rsa" or "/etc/passwd"). */
SS_PRIVATE int ss__shard_name_ok(const char *name, size_t len) {
    size_t i;
    if (len == 0 || strlen(name) != len) return 0; /* empty, or a NUL inside */
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return 0;
    for (i = 0; i < len; i++)
        if (name[i] == '/' || name[i] == '\\') return 0;
    return 1;
}

/* strcmp(s, a followed by b), without building the concatenation. */
SS_PRIVATE int ss__cmp_concat(const char *s, const char *a, const char *b) {
    const unsigned char *p = (const unsigned char *)s, *q = (const unsigned char *)a;
    int part;
    for (part = 0; part < 2; part++, q = (const unsigned char *)b)
        for (; *q; p++, q++)
            if (*p != *q) return *p < *q ? -1 : 1; /* the end of s (0) sorts first */
    return *p != 0;
}

/* Index in sh->tensors of the tensor called name followed by suffix, or -1. */
SS_PRIVATE int ss__shards_find(const ss_shards *sh, const char *name, const char *suffix) {
    int lo = 0, hi = sh->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = ss__cmp_concat(sh->tensors[mid].name, name, suffix);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* "a" or "an" before a JSON type name ("an array", "a number"). */
SS_PRIVATE const char *ss__a_an(const char *word) {
    return word[0] == 'a' || word[0] == 'o' ? "an" : "a";
}

SS_PRIVATE int ss__shards_cmp_tensor(const void *a, const void *b) {
    return strcmp(((const ss_shards_tensor *)a)->name, ((const ss_shards_tensor *)b)->name);
}

SS_PRIVATE int ss__shards_cmp_value(const void *a, const void *b) {
    return strcmp((*(const ss_json *const *)a)->string, (*(const ss_json *const *)b)->string);
}

/* Fill sh's tables from the index file at path (sh->dir set, everything else zero). */
SS_PRIVATE ss_result ss__shards_index(ss_shards *sh, const char *path) {
    ss_json_doc doc;
    const ss_json *root, *map, **by_file = NULL;
    char *text = NULL, *at;
    size_t len, i, n, bytes = 0, names_bytes = 0, files_bytes = 0;
    int file;
    ss_result r;
    SS_MEMSET(&doc, 0, sizeof doc);
    r = ss_file_read(path, &text, &len);
    if (r != SS_OK) return r;
    r = ss_json_parse(&doc, text, len, path); /* "<path>:<line>:<col> (byte N): ..." */
    ss_free(text);
    if (r != SS_OK) return r;
    root = ss_json_root(&doc);
    map = ss_json_get(root, "weight_map");
    if (root->type != SS_JSON_OBJECT) {
        r = ss__fail(SS_ERR_FORMAT, "%s: the index is %s %s, expected an object with a "
                     "\"weight_map\"", path, ss__a_an(ss_json_type_name(root->type)),
                     ss_json_type_name(root->type));
    } else if (!map) {
        r = ss__fail(SS_ERR_FORMAT, "%s: no \"weight_map\" (the object mapping each tensor name "
                     "to its shard file)", path);
    } else if (map->type != SS_JSON_OBJECT) {
        r = ss__fail(SS_ERR_FORMAT, "%s: \"weight_map\" (byte %zu) is %s %s, expected an object "
                     "mapping each tensor name to its shard file", path, map->offset,
                     ss__a_an(ss_json_type_name(map->type)), ss_json_type_name(map->type));
    } else if (map->length > (size_t)INT_MAX) {
        r = ss__fail(SS_ERR_FORMAT, "%s: %zu tensors, too many", path, map->length);
    }
    n = r == SS_OK ? map->length : 0;
    for (i = 0; i < n && r == SS_OK; i++) {
        const ss_json *m = &map->children[i];
        if (strlen(m->key) != m->key_length)
            r = ss__fail(SS_ERR_FORMAT, "%s: a tensor name in \"weight_map\" (byte %zu) contains "
                         "a NUL byte", path, m->offset);
        else if (m->type != SS_JSON_STRING)
            r = ss__fail(SS_ERR_FORMAT, "%s: weight_map[\"%s\"] (byte %zu) is %s %s, expected "
                         "the shard file name as a string", path, m->key, m->offset,
                         ss__a_an(ss_json_type_name(m->type)), ss_json_type_name(m->type));
        else if (!ss__shard_name_ok(m->string, m->length))
            r = ss__fail(SS_ERR_FORMAT, "%s: weight_map[\"%s\"] (byte %zu): shard \"%s\" is not a "
                         "plain file name in the checkpoint's directory (refused: empty, \".\", "
                         "\"..\", or a \"/\" or \"\\\" in it)", path, m->key, m->offset, m->string);
        else if (!ss__add_size(names_bytes, m->key_length + 1, &names_bytes))
            r = ss__fail(SS_ERR_OVERFLOW, "%s: tensor names overflow", path);
    }
    /* Shard files: sort the members by value, one file per run of equal values. */
    if (r == SS_OK && (!ss__mul_size(n, sizeof *by_file, &bytes) ||
                       !(by_file = (const ss_json **)ss__malloc(bytes))))
        r = ss__fail(SS_ERR_NOMEM, "%s: no memory for %zu index entries", path, n);
    if (r == SS_OK) {
        for (i = 0; i < n; i++) by_file[i] = &map->children[i];
        qsort((void *)by_file, n, sizeof *by_file, ss__shards_cmp_value);
        for (i = 0; i < n; i++)
            if (i == 0 || strcmp(by_file[i]->string, by_file[i - 1]->string) != 0) {
                sh->n_files++;
                if (!ss__add_size(files_bytes, ss__path_join_size(sh->dir, by_file[i]->string),
                                  &files_bytes))
                    r = ss__fail(SS_ERR_OVERFLOW, "%s: shard paths overflow", path);
            }
    }
    if (r == SS_OK && (!ss__add_size(names_bytes, files_bytes, &bytes) ||
                       !ss__mul_size(n, sizeof *sh->tensors, &len) ||
                       !ss__mul_size((size_t)sh->n_files, sizeof *sh->files, &files_bytes)))
        r = ss__fail(SS_ERR_OVERFLOW, "%s: the table of %zu tensors overflows", path, n);
    if (r == SS_OK &&
        (!(sh->strings = (char *)ss__malloc(bytes)) ||
         !(sh->tensors = (ss_shards_tensor *)ss__malloc(len)) ||
         !(sh->files = (const char **)ss__malloc(files_bytes))))
        r = ss__fail(SS_ERR_NOMEM, "%s: no memory for the table of %zu tensors", path, n);
    if (r == SS_OK) {
        at = sh->strings;
        for (i = 0, file = -1; i < n; i++) {
            const ss_json *m = by_file[i];
            if (i == 0 || strcmp(m->string, by_file[i - 1]->string) != 0) {
                sh->files[++file] = ss__path_join_into(at, sh->dir, m->string);
                at += strlen(at) + 1;
            }
            SS_MEMCPY(at, m->key, m->key_length + 1);
            sh->tensors[i].name = at;
            sh->tensors[i].file = file;
            at += m->key_length + 1;
        }
        sh->count = (int)n;
        qsort(sh->tensors, n, sizeof *sh->tensors, ss__shards_cmp_tensor);
    }
    ss_free((void *)by_file);
    ss_json_doc_free(&doc);
    return r;
}

/* Fill sh's tables from a single safetensors file at path, kept open in slot 0. */
SS_PRIVATE ss_result ss__shards_single(ss_shards *sh, const char *path) {
    ss_safetensors *st = &sh->open[0];
    size_t bytes, table, i;
    char *at;
    ss_result r = ss_safetensors_open(st, path);
    if (r != SS_OK) return r;
    sh->open_file[0] = 0;
    sh->last_used[0] = ++sh->clock;
    sh->opens = 1;
    bytes = strlen(path) + 1;
    for (i = 0; i < (size_t)st->count; i++)
        if (!ss__add_size(bytes, strlen(st->entries[i].name) + 1, &bytes))
            return ss__fail(SS_ERR_OVERFLOW, "%s: tensor names overflow", path);
    if (!ss__mul_size((size_t)st->count, sizeof *sh->tensors, &table))
        return ss__fail(SS_ERR_OVERFLOW, "%s: the table of %d tensors overflows", path, st->count);
    sh->strings = (char *)ss__malloc(bytes);
    sh->tensors = (ss_shards_tensor *)ss__malloc(table);
    sh->files = (const char **)ss__malloc(sizeof *sh->files);
    if (!sh->strings || !sh->tensors || !sh->files)
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for the table of %d tensors", path,
                        st->count);
    at = sh->strings;
    SS_MEMCPY(at, path, strlen(path) + 1);
    sh->files[0] = at;
    sh->n_files = 1;
    at += strlen(path) + 1;
    for (i = 0; i < (size_t)st->count; i++) { /* by_name is sorted with strcmp already */
        const char *name = st->by_name[i]->name;
        size_t n = strlen(name) + 1;
        SS_MEMCPY(at, name, n);
        sh->tensors[i].name = at;
        sh->tensors[i].file = 0;
        at += n;
    }
    sh->count = st->count;
    return SS_OK;
}

SS_API ss_result ss_shards_open(ss_shards *sh, const char *dir) {
    char *single = NULL;
    FILE *f;
    ss_result r;
    SS_ASSERT(sh && dir);
    SS_MEMSET(sh, 0, sizeof *sh);
    sh->dir = ss__strdup(dir);
    sh->index_path = ss__path_join(dir, "model.safetensors.index.json");
    if (!sh->dir || !sh->index_path) {
        ss_shards_close(sh);
        return ss__fail(SS_ERR_NOMEM, "%s: no memory for the path", dir);
    }
    f = fopen(sh->index_path, "rb");
    if (f) {
        fclose(f);
        r = ss__shards_index(sh, sh->index_path);
    } else if (errno != ENOENT) {
        r = ss__fail(SS_ERR_IO, "%s: cannot open for reading (%s)", sh->index_path,
                     strerror(errno));
    } else if (!(single = ss__path_join(dir, "model.safetensors"))) {
        r = ss__fail(SS_ERR_NOMEM, "%s: no memory for the path", dir);
    } else if (!(f = fopen(single, "rb"))) {
        r = ss__fail(SS_ERR_IO, "%s: not a checkpoint: neither %s nor %s can be opened (%s)", dir,
                     sh->index_path, single, strerror(errno));
    } else {
        fclose(f);
        ss_free(sh->index_path);
        sh->index_path = NULL;
        r = ss__shards_single(sh, single);
    }
    ss_free(single);
    if (r != SS_OK) ss_shards_close(sh);
    return r;
}

SS_API int ss_shards_has(const ss_shards *sh, const char *name) {
    return ss__shards_find(sh, name, "") >= 0;
}

/* The open shard holding sh->tensors[t] (opened, in the least recently used slot other than
   keep, when it is not open yet), and the tensor's index in it. */
SS_PRIVATE ss_result ss__shards_get(ss_shards *sh, int t, int keep, int *slot, int *entry) {
    const ss_shards_tensor *tensor = &sh->tensors[t];
    int k, pick = -1;
    ss_result r;
    for (k = 0; k < SS_SHARDS_OPEN; k++)
        if (sh->open[k].file && sh->open_file[k] == tensor->file) pick = k;
    if (pick < 0) {
        for (k = 0; k < SS_SHARDS_OPEN; k++) { /* a free slot, else the least recently used */
            if (k == keep) continue;
            if (!sh->open[k].file) {
                pick = k;
                break;
            }
            if (pick < 0 || sh->last_used[k] < sh->last_used[pick]) pick = k;
        }
        ss_safetensors_close(&sh->open[pick]);
        r = ss_safetensors_open(&sh->open[pick], sh->files[tensor->file]);
        if (r != SS_OK) {
#ifndef SS_NO_ERROR_STRINGS
            char why[SS__DETAIL_SIZE];
            SS_MEMCPY(why, ss__error_detail, sizeof why);
            return ss__fail(r, "%s (the shard of '%s' in %s)", why, tensor->name,
                            sh->index_path ? sh->index_path : sh->dir);
#else
            return r;
#endif
        }
        sh->open_file[pick] = tensor->file;
        sh->opens++;
    }
    sh->last_used[pick] = ++sh->clock;
    *slot = pick;
    *entry = ss_safetensors_find(&sh->open[pick], tensor->name);
    if (*entry < 0)
        return ss__fail(SS_ERR_FORMAT, "%s: tensor '%s' is not in this shard, though %s lists it "
                        "there", sh->files[tensor->file], tensor->name,
                        sh->index_path ? sh->index_path : sh->dir);
    return SS_OK;
}

SS_PRIVATE ss_result ss__shards_lookup(ss_shards *sh, const char *name, int *t) {
    SS_ASSERT(sh && name);
    *t = ss__shards_find(sh, name, "");
    if (*t < 0)
        return ss__fail(SS_ERR_NOT_FOUND, "%s: no tensor '%s' in the checkpoint", 
                        sh->index_path ? sh->index_path : sh->dir ? sh->dir : "(closed)", name);
    return SS_OK;
}

SS_API ss_result ss_shards_info(ss_shards *sh, const char *name, ss_dtype *dtype, int *ndim,
                                int64_t *shape) {
    const ss_safetensors_entry *e;
    int t, slot, entry, d;
    ss_result r = ss__shards_lookup(sh, name, &t);
    if (r == SS_OK) r = ss__shards_get(sh, t, -1, &slot, &entry);
    if (r != SS_OK) return r;
    e = &sh->open[slot].entries[entry];
    if (dtype) *dtype = e->dtype;
    if (ndim) *ndim = e->ndim;
    for (d = 0; shape && d < e->ndim; d++) shape[d] = e->shape[d];
    return SS_OK;
}

SS_API ss_result ss_shards_read_f32(ss_shards *sh, const char *name, float *out,
                                    size_t out_numel) {
    ss_dtype dtype;
    int t, ts, slot, entry, scale_slot, scale_entry;
    ss_result r = ss__shards_lookup(sh, name, &t);
    if (r == SS_OK) r = ss__shards_get(sh, t, -1, &slot, &entry);
    if (r != SS_OK) return r;
    dtype = sh->open[slot].entries[entry].dtype;
    ts = ss__shards_find(sh, name, "_scale_inv");
    if ((dtype == SS_DTYPE_F8_E4M3 || dtype == SS_DTYPE_F8_E5M2) && ts >= 0) {
        /* the scales may live in another shard: open it without closing the weight's */
        r = ss__shards_get(sh, ts, slot, &scale_slot, &scale_entry);
        if (r != SS_OK) return r;
        return ss_safetensors_read_f32_scaled(&sh->open[slot], entry, &sh->open[scale_slot],
                                              scale_entry, 128, out, out_numel);
    }
    return ss_safetensors_read_f32(&sh->open[slot], entry, out, out_numel);
}

SS_API void ss_shards_close(ss_shards *sh) {
    int k;
    for (k = 0; k < SS_SHARDS_OPEN; k++) ss_safetensors_close(&sh->open[k]);
    ss_free(sh->dir);
    ss_free(sh->index_path);
    ss_free(sh->tensors);
    ss_free((void *)sh->files);
    ss_free(sh->strings);
    SS_MEMSET(sh, 0, sizeof *sh);
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

// >>linalg (implementation) -----------------------------------------------------------------------

#define SS__DBL_EPS 2.220446049250313080847e-16 /* DBL_EPSILON, 2^-52 */
/* Rows of R whose norm falls below this (the matrix scaled so that its largest entry is in
   [0.5, 1)) count as zero: their entries are subnormal or nearly, a rotation by a small angle
   would change nothing representable in them, and the pair would never converge. */
#define SS__JACOBI_TINY 1e-290

/* ---- kernels: the four loops where the time goes ----
   Hand-written for AVX2 + FMA (as the GEMM section's micro-kernel is), in portable C otherwise.
   The sums keep a fixed order given n, so the bits depend on the build but never on threads. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SS__LINALG_AVX2 1
#else
#define SS__LINALG_AVX2 0
#endif

/* x . y over n contiguous doubles, with several partial sums: independent chains hide the
   latency of the adds (and let a compiler use vector registers in the portable version). */
SS_PRIVATE double ss__ddot(const double *x, const double *y, int n) {
    int i = 0;
#if SS__LINALG_AVX2
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    double part[4], s;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(x + i), _mm256_loadu_pd(y + i), a0);
        a1 = _mm256_fmadd_pd(_mm256_loadu_pd(x + i + 4), _mm256_loadu_pd(y + i + 4), a1);
        a2 = _mm256_fmadd_pd(_mm256_loadu_pd(x + i + 8), _mm256_loadu_pd(y + i + 8), a2);
        a3 = _mm256_fmadd_pd(_mm256_loadu_pd(x + i + 12), _mm256_loadu_pd(y + i + 12), a3);
    }
    for (; i + 4 <= n; i += 4)
        a0 = _mm256_fmadd_pd(_mm256_loadu_pd(x + i), _mm256_loadu_pd(y + i), a0);
    _mm256_storeu_pd(part, _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3)));
    s = (part[0] + part[2]) + (part[1] + part[3]);
    for (; i < n; i++) s += x[i] * y[i];
    return s;
#else
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        s2 += x[i + 2] * y[i + 2];
        s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; i++) s0 += x[i] * y[i];
    return (s0 + s2) + (s1 + s3);
#endif
}

/* y += a x over n contiguous doubles (x and y do not overlap). */
SS_PRIVATE void ss__daxpy(double a, const double *x, double *y, int n) {
    int i = 0;
#if SS__LINALG_AVX2
    const __m256d va = _mm256_set1_pd(a);
    for (; i + 8 <= n; i += 8) {
        const __m256d y0 = _mm256_loadu_pd(y + i), y1 = _mm256_loadu_pd(y + i + 4);
        _mm256_storeu_pd(y + i, _mm256_fmadd_pd(va, _mm256_loadu_pd(x + i), y0));
        _mm256_storeu_pd(y + i + 4, _mm256_fmadd_pd(va, _mm256_loadu_pd(x + i + 4), y1));
    }
#endif
    for (; i < n; i++) y[i] += a * x[i];
}

/* The rotation x' = c x - s y, y' = s x + c y (c = cos, s = sin of the angle), applied in
   Rutishauser's form x' = x - s (y + r x), y' = y + s (x - r y) with r = tan(angle/2) = s/(1+c):
   the rounded c is never used, so a small angle does not turn into the non-orthogonal pair
   (1, t) (c rounds to 1 once t^2 < DBL_EPSILON, and (1, t) stretches both rows by 1 + t^2/2; over
   the ~10 N rotations a row of Z sees, that drift alone took |U^T U - I| to 1e-12 at N = 1024).
   The error of each row is then a rounding of its own small correction. *sx, *sy: the new sums
   of squares of x and y. */
SS_PRIVATE void ss__rotate_norms(double *x, double *y, int n, double s, double r, double *sx,
                                 double *sy) {
    double x0 = 0.0, x1 = 0.0, y0 = 0.0, y1 = 0.0;
    int i = 0;
#if SS__LINALG_AVX2
    const __m256d vs = _mm256_set1_pd(s), vr = _mm256_set1_pd(r);
    __m256d nx0 = _mm256_setzero_pd(), nx1 = nx0, ny0 = nx0, ny1 = nx0;
    double px[4], py[4];
    for (; i + 8 <= n; i += 8) {
        const __m256d a0 = _mm256_loadu_pd(x + i), b0 = _mm256_loadu_pd(y + i);
        const __m256d a1 = _mm256_loadu_pd(x + i + 4), b1 = _mm256_loadu_pd(y + i + 4);
        const __m256d p0 = _mm256_fnmadd_pd(vs, _mm256_fmadd_pd(vr, a0, b0), a0);
        const __m256d q0 = _mm256_fmadd_pd(vs, _mm256_fnmadd_pd(vr, b0, a0), b0);
        const __m256d p1 = _mm256_fnmadd_pd(vs, _mm256_fmadd_pd(vr, a1, b1), a1);
        const __m256d q1 = _mm256_fmadd_pd(vs, _mm256_fnmadd_pd(vr, b1, a1), b1);
        _mm256_storeu_pd(x + i, p0), _mm256_storeu_pd(y + i, q0);
        _mm256_storeu_pd(x + i + 4, p1), _mm256_storeu_pd(y + i + 4, q1);
        nx0 = _mm256_fmadd_pd(p0, p0, nx0), ny0 = _mm256_fmadd_pd(q0, q0, ny0);
        nx1 = _mm256_fmadd_pd(p1, p1, nx1), ny1 = _mm256_fmadd_pd(q1, q1, ny1);
    }
    _mm256_storeu_pd(px, _mm256_add_pd(nx0, nx1));
    _mm256_storeu_pd(py, _mm256_add_pd(ny0, ny1));
    x0 = px[0] + px[2], x1 = px[1] + px[3], y0 = py[0] + py[2], y1 = py[1] + py[3];
#endif
    for (; i + 2 <= n; i += 2) {
        const double a0 = x[i], b0 = y[i], a1 = x[i + 1], b1 = y[i + 1];
        const double p0 = a0 - s * (b0 + r * a0), q0 = b0 + s * (a0 - r * b0);
        const double p1 = a1 - s * (b1 + r * a1), q1 = b1 + s * (a1 - r * b1);
        x[i] = p0, y[i] = q0, x[i + 1] = p1, y[i + 1] = q1;
        x0 += p0 * p0, y0 += q0 * q0, x1 += p1 * p1, y1 += q1 * q1;
    }
    for (; i < n; i++) {
        const double a = x[i], b = y[i], p = a - s * (b + r * a), q = b + s * (a - r * b);
        x[i] = p, y[i] = q;
        x0 += p * p, y0 += q * q;
    }
    *sx = x0 + x1;
    *sy = y0 + y1;
}

/* The same rotation without norms: the accumulated rotations Z. */
SS_PRIVATE void ss__rotate(double *x, double *y, int n, double s, double r) {
    int i = 0;
#if SS__LINALG_AVX2
    const __m256d vs = _mm256_set1_pd(s), vr = _mm256_set1_pd(r);
    for (; i + 4 <= n; i += 4) {
        const __m256d a = _mm256_loadu_pd(x + i), b = _mm256_loadu_pd(y + i);
        _mm256_storeu_pd(x + i, _mm256_fnmadd_pd(vs, _mm256_fmadd_pd(vr, a, b), a));
        _mm256_storeu_pd(y + i, _mm256_fmadd_pd(vs, _mm256_fnmadd_pd(vr, b, a), b));
    }
#endif
    for (; i < n; i++) {
        const double a = x[i], b = y[i];
        x[i] = a - s * (b + r * a);
        y[i] = b + s * (a - r * b);
    }
}

/* Euclidean norm of x[0], x[stride], ..., n values. The plain sum of squares is exact enough when
   it lies well inside the range of double; otherwise some squares overflowed or underflowed, and
   a second pass scales every value by the largest magnitude first (no square can then overflow,
   and those that underflow are below 1e-300 of the result). */
SS_PRIVATE double ss__dnrm2(const double *x, int n, int stride) {
    double sum = 0.0, big = 0.0, scaled = 0.0;
    const double *p;
    int i;
    for (i = 0, p = x; i < n; i++, p += stride) sum += *p * *p;
    if (sum > 1e-280 && sum < 1e280) return SS_SQRT(sum);
    for (i = 0, p = x; i < n; i++, p += stride)
        if (fabs(*p) > big) big = fabs(*p);
    if (big == 0.0 || big - big != 0.0) return big; /* 0, or Inf/NaN passed through */
    for (i = 0, p = x; i < n; i++, p += stride) {
        double t = *p / big;
        scaled += t * t;
    }
    return big * SS_SQRT(scaled);
}

/* Generate a Householder reflection from x[0], x[stride], ..., n values: H = I - tau v v^T with
   v = (1, x[1..n) / (alpha - beta)), H x = (beta, 0, ..., 0), alpha = x[0]. On return x[0] holds
   beta and x[1..n) the tail of v; the result is tau, in [1, 2], or 0 (H = I, x unchanged) when
   x[1..n) is zero already. beta = -sign(alpha) |x|, so alpha - beta adds two numbers of one sign
   and never cancels. */
SS_PRIVATE double ss__householder(double *x, int n, int stride) {
    double alpha = x[0], tail, a, big, small, norm, beta, denom;
    double *p;
    int i;
    if (n <= 1) return 0.0;
    tail = ss__dnrm2(x + stride, n - 1, stride);
    if (tail == 0.0) return 0.0;
    a = fabs(alpha);
    big = a > tail ? a : tail;
    small = a > tail ? tail : a;
    norm = big * SS_SQRT(1.0 + (small / big) * (small / big)); /* hypot without overflow */
    beta = alpha >= 0.0 ? -norm : norm;
    denom = alpha - beta;
    for (i = 1, p = x + stride; i < n; i++, p += stride) *p /= denom;
    x[0] = beta;
    return (beta - alpha) / beta;
}

SS_API void ss_qr(double *A, int m, int n, int lda, double *tau) {
    int k;
    SS_ASSERT(A && tau && n >= 1 && m >= n && lda >= n);
    for (k = 0; k < n; k++) {
        double *akk = A + (size_t)k * lda + k;
        const int rows = m - k, cols = n - k - 1, chunks = (cols + 63) / 64;
        const double t = ss__householder(akk, rows, lda);
        int c;
        tau[k] = t;
        if (t == 0.0 || cols == 0) continue;
        /* Columns j > k of the trailing block: w_j = v . A[k..m)[j], then A[k..m)[j] -= t w_j v,
           row by row (rows are contiguous). w lives in tau[k+1..n), not written yet. Each thread
           owns whole columns, so every w_j sums its rows in the same order. */
        SS__OMP(parallel for schedule(static) if ((double)rows * cols > 65536.0))
        for (c = 0; c < chunks; c++) {
            const int j0 = k + 1 + 64 * c, j1 = j0 + 64 < n ? j0 + 64 : n;
            double *w = tau;
            int i, j;
            for (j = j0; j < j1; j++) w[j] = akk[j - k];
            for (i = 1; i < rows; i++) /* row k+i, columns j0..j1 */
                ss__daxpy(akk[(size_t)i * lda], akk + (size_t)i * lda - k + j0, w + j0, j1 - j0);
            for (j = j0; j < j1; j++) {
                w[j] *= t;
                akk[j - k] -= w[j];
            }
            for (i = 1; i < rows; i++)
                ss__daxpy(-akk[(size_t)i * lda], w + j0, akk + (size_t)i * lda - k + j0, j1 - j0);
        }
    }
}

/* C (m,nc), row stride ldc, = Q C (trans 0) or Q^T C (trans 1), Q = H_0 ... H_{nr-1} the
   reflections ss_qr left in F (m, >= nr), row stride ldf, and tau. Column chunks of C are
   independent, so threads split them without changing any sum. */
SS_PRIVATE void ss__qr_apply(const double *F, int m, int nr, int ldf, const double *tau, double *C,
                             int nc, int ldc, int trans) {
    const int chunks = (nc + 31) / 32;
    int c;
    SS__OMP(parallel for schedule(static) if ((double)m * nr * nc > 1e6))
    for (c = 0; c < chunks; c++) {
        const int j0 = 32 * c, j1 = j0 + 32 < nc ? j0 + 32 : nc;
        double w[32];
        int step, i, j;
        for (step = 0; step < nr; step++) {
            const int k = trans ? step : nr - 1 - step;
            const double t = tau[k];
            double *ck = C + (size_t)k * ldc;
            if (t == 0.0) continue;
            for (j = j0; j < j1; j++) w[j - j0] = ck[j];
            for (i = k + 1; i < m; i++) {
                const double vi = F[(size_t)i * ldf + k], *row = C + (size_t)i * ldc;
                for (j = j0; j < j1; j++) w[j - j0] += vi * row[j];
            }
            for (j = j0; j < j1; j++) {
                w[j - j0] *= t;
                ck[j] -= w[j - j0];
            }
            for (i = k + 1; i < m; i++) {
                const double vi = F[(size_t)i * ldf + k];
                double *row = C + (size_t)i * ldc;
                for (j = j0; j < j1; j++) row[j] -= vi * w[j - j0];
            }
        }
    }
}

/* idx[0..n) = 0..n-1 (as doubles, exact) ordered by key descending, equal keys by index
   ascending: one total order, so the result is unique. Heapsort: no memory, O(n log n). */
SS_PRIVATE int ss__sort_before(const double *key, double a, double b) {
    const double ka = key[(int)a], kb = key[(int)b];
    return ka > kb || (ka == kb && a < b);
}
SS_PRIVATE void ss__sift_down(const double *key, double *idx, int root, int n) {
    for (;;) {
        int child = 2 * root + 1;
        double tmp;
        if (child >= n) return;
        /* a max-heap of "comes later": the root is the element that belongs at the end */
        if (child + 1 < n && ss__sort_before(key, idx[child], idx[child + 1])) child++;
        if (!ss__sort_before(key, idx[root], idx[child])) return;
        tmp = idx[root], idx[root] = idx[child], idx[child] = tmp;
        root = child;
    }
}
SS_PRIVATE void ss__sort_desc(const double *key, double *idx, int n) {
    int i;
    for (i = 0; i < n; i++) idx[i] = (double)i;
    for (i = n / 2 - 1; i >= 0; i--) ss__sift_down(key, idx, i, n);
    for (i = n - 1; i > 0; i--) {
        double tmp = idx[0];
        idx[0] = idx[i], idx[i] = tmp;
        ss__sift_down(key, idx, 0, i);
    }
}

/* Householder QR with column pivoting of B (M,N), M >= N, stored by columns: column j of B is
   F[j*M .. j*M+M). Businger and Golub's rule: step k brings the remaining column of largest norm
   (below row k) to position k, so |R[0][0]| >= |R[1][1]| >= ... After the call row j of F holds
   R[0..j][j] in its first j+1 entries and the tail of v_j below; perm[j] is the original index of
   column j (as a double). The norms below the current row are downdated after every step,
   part_j^2 -= R[k][j]^2, and recomputed from the column when too much cancelled for the update to
   be trusted (when the kept fraction (part/ref)^2 falls below sqrt(eps), ref the norm at the last
   recomputation). part, ref: N doubles of scratch. */
SS_PRIVATE void ss__qrcp(double *F, int M, int N, double *tau, double *perm, double *part,
                         double *ref) {
    const double tol = 1.4901161193847656e-08; /* sqrt(DBL_EPSILON) */
    int j, k;
    for (j = 0; j < N; j++) {
        perm[j] = (double)j;
        part[j] = ref[j] = ss__dnrm2(F + (size_t)j * M, M, 1);
    }
    for (k = 0; k < N; k++) {
        double *fk = F + (size_t)k * M, t;
        const int L = M - k;
        int p = k;
        for (j = k + 1; j < N; j++)
            if (part[j] > part[p]) p = j;
        if (p != k) {
            double *fp = F + (size_t)p * M, tmp;
            int i;
            for (i = 0; i < M; i++) tmp = fk[i], fk[i] = fp[i], fp[i] = tmp;
            tmp = part[k], part[k] = part[p], part[p] = tmp;
            tmp = ref[k], ref[k] = ref[p], ref[p] = tmp;
            tmp = perm[k], perm[k] = perm[p], perm[p] = tmp;
        }
        t = ss__householder(fk + k, L, 1);
        tau[k] = t;
        /* The remaining columns: apply H_k (w = v . f, f -= t w v), then downdate their norms.
           Each column is one thread's, so this is the same arithmetic for any thread count. */
        SS__OMP(parallel for schedule(static) if ((double)L * (N - k) > 65536.0))
        for (j = k + 1; j < N; j++) {
            double *fj = F + (size_t)j * M + k;
            const double *v = fk + k;
            if (t != 0.0) {
                double w = fj[0] + ss__ddot(v + 1, fj + 1, L - 1);
                w *= t;
                fj[0] -= w;
                ss__daxpy(-w, v + 1, fj + 1, L - 1);
            }
            if (part[j] != 0.0) {
                double q = fabs(fj[0]) / part[j], keep = (1.0 - q) * (1.0 + q), r;
                if (keep < 0.0) keep = 0.0;
                r = part[j] / ref[j];
                if (keep * r * r <= tol) {
                    part[j] = ref[j] = ss__dnrm2(fj + 1, L - 1, 1);
                } else {
                    part[j] *= SS_SQRT(keep);
                }
            }
        }
    }
}

/* One Jacobi step on rows x, y (n values) of norms *nx, *ny: rotate them so that x . y = 0
   (Hestenes' one-sided step, Rutishauser's formulas), unless they are already orthogonal to
   tol: |x . y| <= tol |x| |y|. The rows g, h (ng values, NULL when not accumulated) get the same
   rotation. With alpha = |x|^2, beta = |y|^2, gamma = x . y, the rotation
     x' = c x - s y,  y' = s x + c y,  t = s / c,  t^2 + 2 zeta t - 1 = 0,
     zeta = (beta - alpha) / (2 gamma) = (|y|/|x| - |x|/|y|) / (2 cos(x,y))
   takes the root of smaller magnitude, t = sign(zeta) / (|zeta| + sqrt(1 + zeta^2)), |t| <= 1, a
   sum of like-signed terms: no cancellation, and the smaller angle that moves the rows least.
   The new norms are summed from the rotated rows themselves, not updated as alpha - t gamma
   (which cancels when the rows are nearly parallel): the norms stay those of the stored rows,
   which is what keeps small singular values accurate. Returns 1 when it rotated. */
SS_PRIVATE int ss__jacobi_pair(double *x, double *y, double *g, double *h, int n, int ng,
                               double *nx, double *ny, double tol) {
    const double a = *nx, b = *ny;
    double cosine, zeta, t, root, s, r, sx, sy;
    if (a < SS__JACOBI_TINY || b < SS__JACOBI_TINY) return 0;
    if (a * b > 1e-280) {
        cosine = ss__ddot(x, y, n) / a / b;
    } else { /* tiny rows: products of their entries would underflow, so normalise first */
        int i;
        cosine = 0.0;
        for (i = 0; i < n; i++) cosine += (x[i] / a) * (y[i] / b);
    }
    if (!(fabs(cosine) > tol)) return 0;
    zeta = (b / a - a / b) / (2.0 * cosine);
    t = fabs(zeta) < 1e150 ? 1.0 / (fabs(zeta) + SS_SQRT(1.0 + zeta * zeta)) : 0.5 / fabs(zeta);
    if (zeta < 0.0) t = -t;
    if (t == 0.0) return 0; /* norms 1e300 apart: nothing representable to do */
    root = SS_SQRT(1.0 + t * t);
    s = t / root;         /* sin = t cos, cos = 1 / root */
    r = t / (1.0 + root); /* tan(angle / 2) = sin / (1 + cos) */
    ss__rotate_norms(x, y, n, s, r, &sx, &sy);
    *nx = sx > 1e-280 && sx < 1e280 ? SS_SQRT(sx) : ss__dnrm2(x, n, 1);
    *ny = sy > 1e-280 && sy < 1e280 ? SS_SQRT(sy) : ss__dnrm2(y, n, 1);
    if (g) ss__rotate(g, h, ng, s, r);
    return 1;
}

/* Rows per block of the Jacobi ordering, a function of N alone (never of the thread count or of
   which vectors are wanted, so every call on the same matrix does the same rotations): two blocks
   of rows of X and of Z (2 x 2 x b x N doubles, at most 1 MiB) stay in a core's cache while all
   their pairs are rotated (half the time of b = 1 at N = 1024), and there are at least 32 blocks,
   16 meetings a round, to share out. */
SS_PRIVATE int ss__jacobi_block(int N) {
    int b = 32768 / N;
    if (b > N / 32) b = N / 32;
    if (b > 32) b = 32;
    return b < 1 ? 1 : b;
}

/* The pairs of rows i < j, both in block u when v < 0, else i in block u and j in block v. */
SS_PRIVATE long ss__jacobi_blocks(double *X, double *Z, double *nrm, int N, int bs, int u, int v,
                                  double tol) {
    const int u0 = u * bs, u1 = u0 + bs < N ? u0 + bs : N;
    int i, j, v0 = 0, v1 = 0;
    long rotated = 0;
    if (v >= 0) v0 = v * bs, v1 = v0 + bs < N ? v0 + bs : N;
    for (i = u0; i < u1; i++)
        for (j = v >= 0 ? v0 : i + 1; j < (v >= 0 ? v1 : u1); j++)
            rotated += ss__jacobi_pair(X + (size_t)i * N, X + (size_t)j * N,
                                       Z ? Z + (size_t)i * N : NULL, Z ? Z + (size_t)j * N : NULL,
                                       N, N, &nrm[i], &nrm[j], tol);
    return rotated;
}

/* One-sided Jacobi sweeps on the rows of X (N,N) until a sweep rotates nothing; nrm (N) holds the
   row norms throughout; Z (N,N) or NULL accumulates the rotations. Round-robin (circle method)
   over nbp block slots, nbp even (one empty slot when the block count is odd): in round r slot r
   meets slot nbp-1 and slot (r+p) meets slot (r-p) mod (nbp-1), p = 1..nbp/2-1, so every two
   blocks meet once per sweep and the meetings of a round share no row. Round 0 also does the
   pairs inside each block (every block meets someone exactly once in it). Returns the sweeps
   done, or -1 when max_sweeps all rotated something. */
SS_PRIVATE int ss__jacobi(double *X, double *Z, double *nrm, int N, double tol, int max_sweeps) {
    const int bs = ss__jacobi_block(N), nb = (N + bs - 1) / bs, nbp = nb + (nb & 1);
    int sweep, r, p;
    for (sweep = 0; sweep < max_sweeps; sweep++) {
        long rotated = 0;
        for (r = 0; r < nbp - 1; r++) {
            SS__OMP(parallel for schedule(dynamic, 1) reduction(+ : rotated) if (nb >= 8))
            for (p = 0; p < nbp / 2; p++) {
                const int u = p == 0 ? r : (r + p) % (nbp - 1);
                const int v = p == 0 ? nbp - 1 : (r - p + nbp - 1) % (nbp - 1);
                if (r == 0) {
                    if (u < nb) rotated += ss__jacobi_blocks(X, Z, nrm, N, bs, u, -1, tol);
                    if (v < nb) rotated += ss__jacobi_blocks(X, Z, nrm, N, bs, v, -1, tol);
                }
                if (u < nb && v < nb) rotated += ss__jacobi_blocks(X, Z, nrm, N, bs, u, v, tol);
            }
        }
        if (rotated == 0) return sweep + 1;
    }
    return -1;
}

/* Complete columns k0..N-1 of Y (N,N), row stride N, whose columns 0..k0-1 are orthonormal, to an
   orthonormal basis: each new column starts as the unit vector e_c least covered by the columns
   so far (largest 1 - sum_l Y[c][l]^2, at least 1/N of the dimensions left), orthogonalised
   twice against them ("twice is enough", Kahan/Parlett) and normalised. resid, u, h: N doubles. */
SS_PRIVATE void ss__complete_basis(double *Y, int N, int k0, double *resid, double *u, double *h) {
    int c, l, k, pass;
    for (c = 0; c < N; c++) {
        double sq = 0.0;
        for (l = 0; l < k0; l++) sq += Y[(size_t)c * N + l] * Y[(size_t)c * N + l];
        resid[c] = 1.0 - sq;
    }
    for (k = k0; k < N; k++) {
        int best = 0;
        double norm;
        for (c = 1; c < N; c++)
            if (resid[c] > resid[best]) best = c;
        for (c = 0; c < N; c++) u[c] = c == best ? 1.0 : 0.0;
        for (pass = 0; pass < 2; pass++) {
            for (l = 0; l < k; l++) h[l] = 0.0;
            for (c = 0; c < N; c++)
                for (l = 0; l < k; l++) h[l] += Y[(size_t)c * N + l] * u[c];
            for (c = 0; c < N; c++)
                for (l = 0; l < k; l++) u[c] -= h[l] * Y[(size_t)c * N + l];
        }
        norm = ss__dnrm2(u, N, 1);
        for (c = 0; c < N; c++) {
            Y[(size_t)c * N + k] = u[c] / norm;
            resid[c] -= Y[(size_t)c * N + k] * Y[(size_t)c * N + k];
        }
    }
}

/* Blocks of reflections applied at once (Schreiber and Van Loan, "A storage-efficient WY
   representation for products of Householder transformations", 1989): a run of nb reflections
   H_k0 ... H_{k0+nb-1} equals I - V T V^T, V (M-k0, nb) their vectors side by side, T (nb,nb)
   upper triangular. Applying it takes two passes over C instead of 2 nb, so C streams from memory
   N/nb * 2 times rather than 2N times. */
#define SS__WY_NB 32

/* T of the block of reflections k0..k0+nb-1 of F (column-major, as ss__qrcp leaves them), by
   the forward recurrence: T = [[T, -tau_q T (V^T v_q)], [0, tau_q]] as v_q joins V. T (nb,nb),
   row stride nb. */
SS_PRIVATE void ss__wy_t(const double *F, int M, const double *tau, int k0, int nb, double *T) {
    int p, q, r;
    for (q = 0; q < nb; q++) {
        const int kq = k0 + q;
        const double *vq = F + (size_t)kq * M; /* v_q[kq] = 1, v_q[i] = vq[i] for i > kq */
        for (p = 0; p < nb; p++) T[p * nb + q] = 0.0;
        T[q * nb + q] = tau[kq];
        if (tau[kq] == 0.0) continue;
        for (p = 0; p < q; p++) { /* y_p = v_p . v_q, over rows kq.. (v_q is 0 above kq) */
            const double *vp = F + (size_t)(k0 + p) * M;
            T[p * nb + q] = vp[kq] + ss__ddot(vp + kq + 1, vq + kq + 1, M - kq - 1);
        }
        for (p = 0; p < q; p++) { /* T[0:q, q] = -tau_q T[0:q, 0:q] y (upper triangular) */
            double acc = 0.0;
            for (r = p; r < q; r++) acc += T[p * nb + r] * T[r * nb + q];
            T[p * nb + q] = -tau[kq] * acc;
        }
    }
}

/* C = Q C for Q = H_0 ... H_{N-1} of F (M,N column-major) and C (M,N), row r of C at
   C + rowo[r] * N (rows in their place before the row sort). T: scratch for the blocks' T
   factors (block b at T + 32 * 32 b), N * min(N, 32) doubles in all. Columns of C are
   independent: each thread owns chunks of 64 columns, so every sum keeps its order for any
   thread count. */
SS_PRIVATE void ss__wy_apply(const double *F, int M, int N, const double *tau, double *T,
                             const double *rowo, double *C) {
    const int nblocks = (N + SS__WY_NB - 1) / SS__WY_NB, chunks = (N + 63) / 64;
    int b, c;
    SS__OMP(parallel for schedule(dynamic, 1) if (nblocks > 1))
    for (b = 0; b < nblocks; b++) {
        const int k0 = b * SS__WY_NB, nb = k0 + SS__WY_NB < N ? SS__WY_NB : N - k0;
        ss__wy_t(F, M, tau, k0, nb, T + (size_t)k0 * SS__WY_NB);
    }
    SS__OMP(parallel for schedule(dynamic, 1) if ((double)M * N * N > 1e6))
    for (c = 0; c < chunks; c++) {
        const int c0 = 64 * c, cw = c0 + 64 < N ? 64 : N - c0;
        double W[SS__WY_NB * 64]; /* (nb, cw) */
        int blk, i, j, p, q;
        for (blk = nblocks - 1; blk >= 0; blk--) { /* Q = Q_0 Q_1 ...: the last block acts first */
            const int k0 = blk * SS__WY_NB, nb = k0 + SS__WY_NB < N ? SS__WY_NB : N - k0;
            const double *Tb = T + (size_t)k0 * SS__WY_NB;
            /* W = V^T C[k0..M) */
            for (q = 0; q < nb * cw; q++) W[q] = 0.0;
            for (i = k0; i < M; i++) {
                const double *row = C + (size_t)(int)rowo[i] * N + c0;
                const int top = i - k0 < nb - 1 ? i - k0 : nb - 1; /* v_q[i] != 0 for q <= i-k0 */
                for (q = 0; q <= top; q++)
                    ss__daxpy(q == i - k0 ? 1.0 : F[(size_t)(k0 + q) * M + i], row, W + q * cw, cw);
            }
            /* W = T W (T upper triangular: row q uses rows q.. of W, so go top down) */
            for (q = 0; q < nb; q++) {
                double *w = W + q * cw;
                const double d = Tb[q * nb + q];
                for (j = 0; j < cw; j++) w[j] *= d;
                for (p = q + 1; p < nb; p++) ss__daxpy(Tb[q * nb + p], W + p * cw, w, cw);
            }
            /* C[k0..M) -= V W */
            for (i = k0; i < M; i++) {
                double *row = C + (size_t)(int)rowo[i] * N + c0;
                const int top = i - k0 < nb - 1 ? i - k0 : nb - 1;
                for (q = 0; q <= top; q++) {
                    const double v = q == i - k0 ? 1.0 : F[(size_t)(k0 + q) * M + i];
                    ss__daxpy(-v, W + q * cw, row, cw);
                }
            }
        }
    }
}

SS_API size_t ss_svd_work_size(int m, int n, int want_u, int want_v) {
    size_t M, N;
    int want_q;
    if (m < 1 || n < 1) return 0;
    M = (size_t)(m >= n ? m : n);
    N = (size_t)(m >= n ? n : m);
    want_q = m >= n ? want_u : want_v;
    return M * N + N * N + (want_q ? N * N : 0) + 5 * N + 2 * M;
}

SS_API ss_result ss_svd(const double *A, int m, int n, int lda, double *s, double *U, double *V,
                        double *work, const ss_svd_options *opts) {
    /* B (M,N) = A, or A^T when A is wide; B = UB diag(s) VB^T. */
    const int tall = m >= n, M = tall ? m : n, N = tall ? n : m;
    double *const UB = tall ? U : V, *const VB = tall ? V : U;
    double *F, *X, *Z, *tau, *nrm, *part, *ref, *perm, *rowo, *key;
    double tol, big = 0.0, scale = 1.0;
    int max_sweeps = 60, sweeps, i, j, k, r;
    if (m < 1 || n < 1)
        return ss__fail(SS_ERR_INVALID, "ss_svd: the matrix is %d x %d; both sizes must be >= 1",
                        m, n);
    if (lda < n) return ss__fail(SS_ERR_INVALID, "ss_svd: row stride lda %d < n %d", lda, n);
    tol = SS_SQRT((double)N) > 8.0 ? SS_SQRT((double)N) * SS__DBL_EPS : 8.0 * SS__DBL_EPS;
    if (opts) {
        if (opts->max_sweeps < 0 || !(opts->tol >= 0.0))
            return ss__fail(SS_ERR_INVALID, "ss_svd: options max_sweeps %d, tol %g: both must be "
                            ">= 0 (0: default)", opts->max_sweeps, opts->tol);
        if (opts->max_sweeps > 0) max_sweeps = opts->max_sweeps;
        if (opts->tol > 0.0) tol = opts->tol;
    }
    SS_ASSERT(A && s && work);
    F = work;                          /* (N,M): B by columns, then the QR factors */
    X = F + (size_t)M * N;             /* (N,N): R, whose rows Jacobi orthogonalises */
    Z = UB ? X + (size_t)N * N : NULL; /* (N,N): the rotations, when UB is wanted */
    tau = X + (size_t)N * N + (UB ? (size_t)N * N : 0);
    nrm = tau + N, part = nrm + N, ref = part + N, perm = ref + N; /* N each */
    rowo = perm + N, key = rowo + M;                                 /* M each */

    /* 1. Check, and find the largest magnitude of the whole matrix and of every row of B. */
    for (i = 0; i < M; i++) key[i] = 0.0;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            const double a = A[(size_t)i * lda + j], mag = fabs(a);
            if (a - a != 0.0)
                return ss__fail(SS_ERR_NONFINITE, "ss_svd: A[%d][%d] = %g (row %d, column %d of "
                                "a %d x %d matrix)", i, j, a, i, j, m, n);
            if (mag > key[tall ? i : j]) key[tall ? i : j] = mag;
            if (mag > big) big = mag;
        }
    /* 2. Scale by a power of two (exact) so that the largest entry is in [0.5, 1): no square or
          dot product below can overflow, and tiny matrices are not lost to underflow. */
    if (big > 0.0) {
        while (big * scale >= 1.0) scale *= 0.5;
        while (big * scale < 0.5 && scale < 1e300) scale *= 2.0;
    }
    /* 3. Rows of B by decreasing max-norm (Cox and Higham: with column pivoting this makes the
          Householder QR accurate row by row as well, for matrices graded by rows), copied by
          columns into F. */
    ss__sort_desc(key, rowo, M);
    if (tall) {
        for (i = 0; i < M; i++) {
            const double *src = A + (size_t)(int)rowo[i] * lda;
            for (j = 0; j < N; j++) F[(size_t)j * M + i] = src[j] * scale;
        }
    } else {
        for (j = 0; j < N; j++) {
            const double *src = A + (size_t)j * lda;
            double *dst = F + (size_t)j * M;
            for (i = 0; i < M; i++) dst[i] = src[(int)rowo[i]] * scale;
        }
    }
    /* 4. B_sorted P = Q R; X = R with zeros below the diagonal; Z = I. */
    ss__qrcp(F, M, N, tau, perm, part, ref);
    for (i = 0; i < N; i++) {
        double *xi = X + (size_t)i * N;
        for (j = 0; j < i; j++) xi[j] = 0.0;
        for (j = i; j < N; j++) xi[j] = F[(size_t)j * M + i];
        nrm[i] = ss__dnrm2(xi, N, 1);
        if (nrm[i] < SS__JACOBI_TINY)
            for (j = 0; j < N; j++) xi[j] = 0.0, nrm[i] = 0.0;
        if (Z)
            for (j = 0; j < N; j++) Z[(size_t)i * N + j] = i == j ? 1.0 : 0.0;
    }
    /* 5. Jacobi on the rows of R (the columns of R^T): Z^T R = diag(s) W^T, W orthonormal. */
    sweeps = ss__jacobi(X, Z, nrm, N, tol, max_sweeps);
    /* 6. The singular values are the final row norms, recomputed with care; sorted. A row that
          fell below SS__JACOBI_TINY was left out of the last rotations: it counts as zero. */
    for (i = 0; i < N; i++) {
        nrm[i] = ss__dnrm2(X + (size_t)i * N, N, 1);
        if (nrm[i] < SS__JACOBI_TINY) nrm[i] = 0.0;
    }
    ss__sort_desc(nrm, key, N); /* key (M >= N) now holds the order */
    for (k = 0; k < N; k++) s[k] = nrm[(int)key[k]] / scale;
    /* 7. VB = P W: column k is row key[k] of X over its norm, put back in B's column order. Exact
          zeros come last (sorted) and get an orthonormal completion. */
    if (VB) {
        for (r = 0; r < N && nrm[(int)key[r]] > 0.0; r++) {
            const double *xr = X + (size_t)(int)key[r] * N, d = nrm[(int)key[r]];
            for (j = 0; j < N; j++) VB[(size_t)(int)perm[j] * N + r] = xr[j] / d;
        }
        if (r < N) ss__complete_basis(VB, N, r, nrm, part, ref);
    }
    /* 8. UB = Pi^T Q [Z^T; 0]: column k is row key[k] of Z, padded with zeros, then Q applied,
          each row landing at its place before the row sort (rowo). */
    if (UB) {
        for (i = 0; i < M; i++) {
            double *row = UB + (size_t)(int)rowo[i] * N;
            for (k = 0; k < N; k++) row[k] = i < N ? Z[(size_t)(int)key[k] * N + i] : 0.0;
        }
        ss__wy_apply(F, M, N, tau, X, rowo, UB); /* X (N,N) is free now: the T factors */
    }
    if (sweeps < 0)
        return ss__fail(SS_ERR_NOT_CONVERGED, "ss_svd: %d x %d matrix not converged after %d "
                        "Jacobi sweeps (tol %g)", m, n, max_sweeps, tol);
    return SS_OK;
}

SS_API ss_result ss_svd_alloc(const double *A, int m, int n, int lda, double *s, double *U,
                              double *V, const ss_svd_options *opts) {
    const size_t count = ss_svd_work_size(m, n, U != NULL, V != NULL);
    size_t bytes;
    double *work;
    ss_result r;
    if (count == 0) return ss_svd(A, m, n, lda, s, U, V, NULL, opts); /* reports the bad size */
    if (!ss__mul_size(count, sizeof(double), &bytes))
        return ss__fail(SS_ERR_OVERFLOW, "ss_svd_alloc: workspace of %zu doubles overflows", count);
    work = (double *)ss__malloc(bytes);
    if (!work)
        return ss__fail(SS_ERR_NOMEM, "ss_svd_alloc: no memory for the %zu-byte workspace of a "
                        "%d x %d SVD", bytes, m, n);
    r = ss_svd(A, m, n, lda, s, U, V, work, opts);
    ss_free(work);
    return r;
}

/* ---- ss_svd_values: singular values only, by Householder bidiagonalization and dqds ----
   The way there: B (M,N), M >= N, sorted (columns by norm, rows by max-norm) and scaled
     -> [M >= 1.6 N] R of a blocked Householder QR, N x N
     -> stage 1: upper band of width SS__SVDV_NB (blocked QR and LQ panels; the time goes into
        three GEMM-like kernels, so the matrix streams from memory once per panel, not twice per
        column as in a level-2 reduction)
     -> stage 2: upper bidiagonal (bulge chasing on the band, in cache)
     -> dqds on the squares of the bidiagonal (Fernando and Parlett 1994).
   Below SS__SVDV_SMALL columns stage 1 and 2 give way to a one-stage level-2 reduction. */

#define SS__SVDV_NB 32     /* panel width of stage 1 = bandwidth that stage 2 removes */
#define SS__SVDV_SMALL 160 /* N below this: the one-stage reduction (it fits in cache) */

/* ---- the product kernels of stage 1 ----
   All three products, W = V^T C, C -= X Z and W = C Y^T, run on one micro-kernel (the register
   tile of a GEMM, as in the GEMM section): out[r][0..8) += sign * sum_k X(r,k) Z(k)[0..8) for
   r < 6, with X(r,k) = X[r*xr + k*xk] (broadcast) and Z(k) = Z + k*zs (8 contiguous doubles,
   from a packed copy where the operand is reused). 12 accumulators of 4 doubles hide the FMA
   latency; they start from 0 and out is read only at the end, off the critical path. sign is
   +1 or -1, so out + sign * acc is an exact add or subtract. The edge versions do 4 rows, or
   one row at a time. The sum over k always runs in order, so each output's bits depend on the
   build, never on the thread count. */
#if SS__LINALG_AVX2
/* out[r][0..8) += sign * (lo, hi), with sg = sign in every lane (the kernels' last step) */
#define SS__SVDV_OUT(r, lo, hi)                                                                    \
    _mm256_storeu_pd(out + (size_t)(r)*ldo,                                                        \
                     _mm256_fmadd_pd(sg, lo, _mm256_loadu_pd(out + (size_t)(r)*ldo)));            \
    _mm256_storeu_pd(out + (size_t)(r)*ldo + 4,                                                    \
                     _mm256_fmadd_pd(sg, hi, _mm256_loadu_pd(out + (size_t)(r)*ldo + 4)))
#endif

#if !SS__LINALG_AVX2
/* The portable body of the 6- and 4-row kernels below: rows <= 6 rows, the same sums in the
   same order as the vector code (each out element gets sign * its sum, added once). */
SS_PRIVATE void ss__svdv_kn(int rows, double *out, int ldo, double sign, const double *X, int xr,
                            int xk, const double *Z, int zs, int K) {
    double a[6][8];
    int r, j, k;
    for (r = 0; r < rows; r++)
        for (j = 0; j < 8; j++) a[r][j] = 0.0;
    for (k = 0; k < K; k++)
        for (r = 0; r < rows; r++) {
            const double x = X[(size_t)r * xr + (size_t)k * xk], *z = Z + (size_t)k * zs;
            for (j = 0; j < 8; j++) a[r][j] += x * z[j];
        }
    for (r = 0; r < rows; r++)
        for (j = 0; j < 8; j++) out[(size_t)r * ldo + j] += sign * a[r][j];
}
#endif

SS_PRIVATE void ss__svdv_k6(double *out, int ldo, double sign, const double *X, int xr, int xk,
                            const double *Z, int zs, int K) {
#if SS__LINALG_AVX2
    int k;
    const double *x0 = X, *x1 = x0 + xr, *x2 = x1 + xr, *x3 = x2 + xr, *x4 = x3 + xr, *x5 = x4 + xr;
    const __m256d sg = _mm256_set1_pd(sign);
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
    __m256d a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
    size_t o = 0;
    for (k = 0; k < K; k++, o += (size_t)xk) {
        const double *z = Z + (size_t)k * zs;
        const __m256d z0 = _mm256_loadu_pd(z), z1 = _mm256_loadu_pd(z + 4);
        __m256d b = _mm256_broadcast_sd(x0 + o);
        a0 = _mm256_fmadd_pd(b, z0, a0), a1 = _mm256_fmadd_pd(b, z1, a1);
        b = _mm256_broadcast_sd(x1 + o);
        a2 = _mm256_fmadd_pd(b, z0, a2), a3 = _mm256_fmadd_pd(b, z1, a3);
        b = _mm256_broadcast_sd(x2 + o);
        a4 = _mm256_fmadd_pd(b, z0, a4), a5 = _mm256_fmadd_pd(b, z1, a5);
        b = _mm256_broadcast_sd(x3 + o);
        a6 = _mm256_fmadd_pd(b, z0, a6), a7 = _mm256_fmadd_pd(b, z1, a7);
        b = _mm256_broadcast_sd(x4 + o);
        a8 = _mm256_fmadd_pd(b, z0, a8), a9 = _mm256_fmadd_pd(b, z1, a9);
        b = _mm256_broadcast_sd(x5 + o);
        a10 = _mm256_fmadd_pd(b, z0, a10), a11 = _mm256_fmadd_pd(b, z1, a11);
    }
    SS__SVDV_OUT(0, a0, a1);
    SS__SVDV_OUT(1, a2, a3);
    SS__SVDV_OUT(2, a4, a5);
    SS__SVDV_OUT(3, a6, a7);
    SS__SVDV_OUT(4, a8, a9);
    SS__SVDV_OUT(5, a10, a11);
#else
    ss__svdv_kn(6, out, ldo, sign, X, xr, xk, Z, zs, K);
#endif
}

SS_PRIVATE void ss__svdv_k4(double *out, int ldo, double sign, const double *X, int xr, int xk,
                            const double *Z, int zs, int K) {
#if SS__LINALG_AVX2
    int k;
    const double *x0 = X, *x1 = x0 + xr, *x2 = x1 + xr, *x3 = x2 + xr;
    const __m256d sg = _mm256_set1_pd(sign);
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t o = 0;
    for (k = 0; k < K; k++, o += (size_t)xk) {
        const double *z = Z + (size_t)k * zs;
        const __m256d z0 = _mm256_loadu_pd(z), z1 = _mm256_loadu_pd(z + 4);
        __m256d b = _mm256_broadcast_sd(x0 + o);
        a0 = _mm256_fmadd_pd(b, z0, a0), a1 = _mm256_fmadd_pd(b, z1, a1);
        b = _mm256_broadcast_sd(x1 + o);
        a2 = _mm256_fmadd_pd(b, z0, a2), a3 = _mm256_fmadd_pd(b, z1, a3);
        b = _mm256_broadcast_sd(x2 + o);
        a4 = _mm256_fmadd_pd(b, z0, a4), a5 = _mm256_fmadd_pd(b, z1, a5);
        b = _mm256_broadcast_sd(x3 + o);
        a6 = _mm256_fmadd_pd(b, z0, a6), a7 = _mm256_fmadd_pd(b, z1, a7);
    }
    SS__SVDV_OUT(0, a0, a1);
    SS__SVDV_OUT(1, a2, a3);
    SS__SVDV_OUT(2, a4, a5);
    SS__SVDV_OUT(3, a6, a7);
#else
    ss__svdv_kn(4, out, ldo, sign, X, xr, xk, Z, zs, K);
#endif
}
#if SS__LINALG_AVX2
#undef SS__SVDV_OUT
#endif

/* rows x w of out (w <= 8) += sign * sum_k X(r,k) Z(k): the rows in kernels of 6 (the last 8 as
   4 + 4), then 4, then one at a time, scalar; an edge narrower than 8 columns all scalar. */
SS_PRIVATE void ss__svdv_rows(double *out, int ldo, double sign, const double *X, int xr, int xk,
                              const double *Z, int zs, int K, int rows, int w) {
    int r = 0, k, j;
    if (w == 8) {
        for (; r + 6 <= rows && rows - r != 8; r += 6)
            ss__svdv_k6(out + (size_t)r * ldo, ldo, sign, X + (size_t)r * xr, xr, xk, Z, zs, K);
        for (; r + 4 <= rows; r += 4)
            ss__svdv_k4(out + (size_t)r * ldo, ldo, sign, X + (size_t)r * xr, xr, xk, Z, zs, K);
    }
    for (; r < rows; r++)
        for (j = 0; j < w; j++) {
            double acc = 0.0;
            for (k = 0; k < K; k++)
                acc += X[(size_t)r * xr + (size_t)k * xk] * Z[(size_t)k * zs + j];
            out[(size_t)r * ldo + j] += sign * acc;
        }
}

/* Zp = Z (K,n), row stride ldz, in slices of 8 columns: slice s is Zp[s*K*8 ..], (K,8) row-major
   (the last slice zero-padded). transpose 1: Z is given as its transpose (n,K), row stride ldz. */
SS_PRIVATE void ss__svdv_pack(const double *Z, int ldz, int K, int n, int transpose, double *Zp) {
    const int slices = (n + 7) / 8;
    int s, k, j;
    if (transpose) {
        for (s = 0; s < slices; s++) {
            double *dst = Zp + (size_t)s * K * 8;
            for (j = 0; j < 8; j++) {
                const double *src = Z + (size_t)(8 * s + j) * ldz;
                if (8 * s + j < n)
                    for (k = 0; k < K; k++) dst[(size_t)k * 8 + j] = src[k];
                else
                    for (k = 0; k < K; k++) dst[(size_t)k * 8 + j] = 0.0;
            }
        }
        return;
    }
    for (k = 0; k < K; k++) { /* row by row: each row of Z is read front to back */
        const double *src = Z + (size_t)k * ldz;
#if SS__LINALG_AVX2
        if (k + 8 < K) /* rows a stride apart defeat the hardware prefetcher: ask 8 rows ahead */
            for (j = 0; j < n; j += 8)
                _mm_prefetch((const char *)(src + (size_t)8 * ldz + j), _MM_HINT_T0);
#endif
        for (s = 0; s < slices; s++) {
            double *dst = Zp + ((size_t)s * K + k) * 8;
            const int w = 8 * s + 8 <= n ? 8 : n - 8 * s;
            for (j = 0; j < w; j++) dst[j] = src[8 * s + j];
            for (; j < 8; j++) dst[j] = 0.0;
        }
    }
}

/* W (p,nc) = V^T C: V (L,p) and C (L,nc), row strides ldv, ldc; W row stride ldw. Chunks of 64
   columns are independent (one thread each); inside, C goes by blocks of 64 rows, each packed
   (32 KiB, in L1: eight slices of 8 columns) from whole 512-byte row segments and then used by
   all rows of W. */
SS_PRIVATE void ss__svdv_tn(const double *V, int ldv, const double *C, int ldc, int L, int p,
                            int nc, double *W, int ldw) {
    const int chunks = (nc + 63) / 64;
    int c;
    SS__OMP(parallel for schedule(dynamic, 1) if ((double)L * p * nc > 2e6))
    for (c = 0; c < chunks; c++) {
        const int j0 = 64 * c, cw = j0 + 64 < nc ? 64 : nc - j0;
        double Cp[64 * 64];
        int l0, q, j;
        for (q = 0; q < p; q++)
            for (j = j0; j < j0 + cw; j++) W[(size_t)q * ldw + j] = 0.0;
        for (l0 = 0; l0 < L; l0 += 64) {
            const int lb = l0 + 64 < L ? 64 : L - l0;
            ss__svdv_pack(C + (size_t)l0 * ldc + j0, ldc, lb, cw, 0, Cp);
            for (j = 0; j < cw; j += 8)
                ss__svdv_rows(W + j0 + j, ldw, 1.0, V + (size_t)l0 * ldv, 1, ldv,
                              Cp + (size_t)j * lb, 8, lb, p, j + 8 <= cw ? 8 : cw - j);
        }
    }
}

/* C (L,nc) -= X (L,p) Zp, Zp the packed (p,nc) (ss__svdv_pack), X row stride ldx: the rank-p
   update. Chunks of 48 rows are independent. */
SS_PRIVATE void ss__svdv_nn(double *C, int ldc, const double *X, int ldx, const double *Zp, int L,
                            int p, int nc) {
    const int chunks = (L + 47) / 48;
    int c;
    SS__OMP(parallel for schedule(dynamic, 1) if ((double)L * p * nc > 2e6))
    for (c = 0; c < chunks; c++) {
        const int i0 = 48 * c, rows = i0 + 48 < L ? 48 : L - i0;
        int i, j;
        for (i = 0; i < rows; i += 6) { /* 6 rows across all columns, then the next 6 */
            const int r = i + 6 <= rows ? 6 : rows - i;
            for (j = 0; j < nc; j += 8)
                ss__svdv_rows(C + (size_t)(i0 + i) * ldc + j, ldc, -1.0, X + (size_t)(i0 + i) * ldx,
                              ldx, 1, Zp + (size_t)j * p, 8, p, r, j + 8 <= nc ? 8 : nc - j);
        }
    }
}

/* W (L,p) = C Yp: W[i][q] = C[i] . Y[q], Yp the packed Y^T (nc,p) (ss__svdv_pack with transpose
   1), C (L,nc) row stride ldc, W row stride ldw. Chunks of 48 rows are independent; each dot
   product is summed in blocks of 512 columns, in order. */
SS_PRIVATE void ss__svdv_nt(const double *C, int ldc, const double *Yp, int L, int p, int nc,
                            double *W, int ldw) {
    const int chunks = (L + 47) / 48;
    int c;
    SS__OMP(parallel for schedule(dynamic, 1) if ((double)L * p * nc > 2e6))
    for (c = 0; c < chunks; c++) {
        const int i0 = 48 * c, rows = i0 + 48 < L ? 48 : L - i0;
        int jb, i, q;
        for (i = i0; i < i0 + rows; i++)
            for (q = 0; q < p; q++) W[(size_t)i * ldw + q] = 0.0;
        for (jb = 0; jb < nc; jb += 512) {
            const int kb = jb + 512 < nc ? 512 : nc - jb;
            for (q = 0; q < p; q += 8)
                ss__svdv_rows(W + (size_t)i0 * ldw + q, ldw, 1.0, C + (size_t)i0 * ldc + jb, ldc, 1,
                              Yp + (size_t)q * nc + (size_t)jb * 8, 8, kb, rows,
                              q + 8 <= p ? 8 : p - q);
        }
    }
}

/* Householder QR of the panel V (L,kb), row stride ldv, L >= kb, in place (as ss_qr, but the
   reflections wait for the blocked update): R in the upper triangle, v_q below the diagonal of
   column q, tau (kb). w: kb doubles of scratch. */
SS_PRIVATE void ss__svdv_qr_panel(double *V, int L, int kb, int ldv, double *tau, double *w) {
    int q, i, j;
    for (q = 0; q < kb; q++) {
        double *vq = V + (size_t)q * ldv + q;
        const double t = ss__householder(vq, L - q, ldv);
        tau[q] = t;
        if (t == 0.0 || q == kb - 1) continue;
        /* columns q+1..kb of rows q..L: w = t v^T V, then V -= v w */
        for (j = q + 1; j < kb; j++) w[j] = V[(size_t)q * ldv + j];
        for (i = q + 1; i < L; i++) {
            const double vi = V[(size_t)i * ldv + q], *row = V + (size_t)i * ldv;
            for (j = q + 1; j < kb; j++) w[j] += vi * row[j];
        }
        for (j = q + 1; j < kb; j++) {
            w[j] *= t;
            V[(size_t)q * ldv + j] -= w[j];
        }
        for (i = q + 1; i < L; i++) {
            double *row = V + (size_t)i * ldv;
            const double vi = row[q];
            for (j = q + 1; j < kb; j++) row[j] -= vi * w[j];
        }
    }
}

/* Householder LQ of the panel Y (rows,nc), row stride ldy, in place: p = min(rows, nc)
   reflections from the right, H_q = I - tau[q] y_q y_q^T with y_q = (0,..,0, 1, Y[q][q+1..nc)),
   so that Y H_0 ... H_{p-1} = [L 0], L (rows,p) lower trapezoidal, left in place. */
SS_PRIVATE void ss__svdv_lq_panel(double *Y, int rows, int nc, int ldy, double *tau) {
    const int p = rows < nc ? rows : nc;
    int q, r;
    for (q = 0; q < p; q++) {
        double *yq = Y + (size_t)q * ldy + q;
        const double t = ss__householder(yq, nc - q, 1);
        tau[q] = t;
        if (t == 0.0) continue;
        for (r = q + 1; r < rows; r++) { /* row r -= t (row r . y_q) y_q, y_q[0] = 1 */
            double *yr = Y + (size_t)r * ldy + q;
            const double dot = t * (yr[0] + ss__ddot(yr + 1, yq + 1, nc - q - 1));
            yr[0] -= dot;
            ss__daxpy(-dot, yq + 1, yr + 1, nc - q - 1);
        }
    }
}

/* T (p,p), row stride ldt, upper triangular, with H_0 H_1 ... H_{p-1} = I - Y T Y^T for the
   reflections H_q = I - tau[q] y_q y_q^T, from G = Y^T Y (p,p), row stride ldt (Schreiber and
   Van Loan's forward recurrence, as ss__wy_t): T[0..q)[q] = -tau_q T[0..q)[0..q) G[0..q)[q]. */
SS_PRIVATE void ss__svdv_tfactor(const double *G, const double *tau, int p, double *T, int ldt) {
    int q, i, r;
    for (q = 0; q < p; q++) {
        for (i = 0; i < p; i++) T[(size_t)i * ldt + q] = 0.0;
        T[(size_t)q * ldt + q] = tau[q];
        for (i = 0; i < q; i++) { /* reads columns < q of T only */
            double acc = 0.0;
            for (r = i; r < q; r++) acc += T[(size_t)i * ldt + r] * G[(size_t)r * ldt + q];
            T[(size_t)i * ldt + q] = -tau[q] * acc;
        }
    }
}

/* The same panel QR, recursively (Elmroth and Gustavson): the left half of the columns is
   factored, its reflections go to the right half as a block (two products and a triangular one),
   then the right half below the left half's rows is factored. Only panels of 8 columns or fewer
   are done column by column, so a tall panel (7168 x 64) streams from memory a few times, not
   twice per column. w <= 64. Scratch, shared by the levels (each is done with it before the next
   level starts): E (L, w/2), row stride 32, the left half's explicit reflections; W (w/2 x w/2);
   Zp (w/2 x (w/2 + 8)); T and G (32,32); w8 (8). */
SS_PRIVATE void ss__svdv_qr_rec(double *V, int L, int w, int ldv, double *tau, double *E,
                                double *W, double *Zp, double *T, double *G, double *w8) {
    const int w1 = w / 2, w2 = w - w1;
    double *C = V + w1;
    int r, q;
    if (w <= 8) {
        ss__svdv_qr_panel(V, L, w, ldv, tau, w8);
        return;
    }
    ss__svdv_qr_rec(V, L, w1, ldv, tau, E, W, Zp, T, G, w8);
    for (r = 0; r < L; r++) /* E = the left half's v's: unit diagonal, zeros above */
        for (q = 0; q < w1; q++) E[(size_t)r * 32 + q] = r > q ? V[(size_t)r * ldv + q] : r == q;
    ss__svdv_tn(E, 32, E, 32, L, w1, w1, G, 32); /* G = E^T E */
    ss__svdv_tfactor(G, tau, w1, T, 32);
    ss__svdv_tn(E, 32, C, ldv, L, w1, w2, W, w2); /* W = E^T C */
    for (q = w1 - 1; q >= 0; q--) {               /* W = T^T W, bottom row first */
        double *wq = W + (size_t)q * w2;
        int j;
        for (j = 0; j < w2; j++) wq[j] *= T[(size_t)q * 32 + q];
        for (r = 0; r < q; r++) ss__daxpy(T[(size_t)r * 32 + q], W + (size_t)r * w2, wq, w2);
    }
    ss__svdv_pack(W, w2, w1, w2, 0, Zp);
    ss__svdv_nn(C, ldv, E, 32, Zp, L, w1, w2); /* C -= E W */
    ss__svdv_qr_rec(V + (size_t)w1 * ldv + w1, L - w1, w2, ldv, tau + w1, E, W, Zp, T, G, w8);
}

/* Scratch of stage 1 (SS__SVDV_NB = nb, panels of pw <= 2 nb columns): V (M,2nb) and Wl
   (M,nb); Y (nb,N) and Wq (2nb,N); Zp, a packed operand, 2nb (N+8); T and G (2nb,2nb); tau
   (2nb) and w (3nb). */
typedef struct ss__svdv_scratch {
    double *V, *Wl, *Y, *Wq, *Zp, *T, *G, *tau, *w;
} ss__svdv_scratch;

/* Stage 1: F (M,N), row stride ldf, M >= N, goes to upper band form, panel by panel of nb =
   SS__SVDV_NB columns (Bischof, Lang and Sun's successive band reduction, first step):
     k = 0, nb, 2nb, ...: QR of the column panel F[k..M)[k..k+nb) = Q R;
                          F[k..M)[k+nb..N) = Q^T F[k..M)[k+nb..N);
                          LQ of the row panel F[k..k+nb)[k+nb..N) = [L 0] P^T;
                          F[k+nb..M)[k+nb..N) = F[k+nb..M)[k+nb..N) P.
   Q = I - V T V^T and P = I - Y^T T Y are blocks of reflections (compact WY), so each update is
   three products: W = V^T C, W = T^T W, C -= V W (and C Y^T, W T, C -= W Y for P), where C,
   the trailing matrix, is read twice per panel. After the call row i of F holds its band,
   F[i][i..i+nb] (R to the right of the diagonal, then L), and the rest of F is garbage.
   lq 0: the QR only, in panels of 2 nb (half the passes over C; the panel itself is factored
   recursively); the top N x N of F is then R with zeros below the diagonal.
   Cost: 8/3 N^3 + 4 (M-N) N^2 flops with lq (2 M N^2 - 2/3 N^3 without), nearly all in the
   three kernels. */
SS_PRIVATE void ss__svdv_band(double *F, int M, int N, int ldf, int lq,
                              const ss__svdv_scratch *ws) {
    const int nb = SS__SVDV_NB, pw = lq ? nb : 2 * nb; /* the QR alone: wider panels */
    int k, r, q;
    for (k = 0; k < N; k += pw) {
        const int kb = k + pw < N ? pw : N - k, L = M - k, nc = N - k - kb;
        double *V = ws->V, *T = ws->T, *G = ws->G;
        /* the column panel into V (L,kb), factored there; R back into F */
        for (r = 0; r < L; r++)
            SS_MEMCPY(V + (size_t)r * pw, F + (size_t)(k + r) * ldf + k,
                      (size_t)kb * sizeof(double));
        ss__svdv_qr_rec(V, L, kb, pw, ws->tau, ws->Wl, ws->Wq, ws->Zp, T, G, ws->w);
        for (r = 0; r < kb; r++) {
            for (q = r; q < kb; q++) F[(size_t)(k + r) * ldf + k + q] = V[(size_t)r * pw + q];
            for (q = r; q < kb; q++) V[(size_t)r * pw + q] = q == r ? 1.0 : 0.0; /* explicit v */
        }
        if (nc == 0) break;
        {   /* F[k..M)[k+kb..N) = (I - V T^T V^T) F[k..M)[k+kb..N) */
            double *C = F + (size_t)k * ldf + k + kb, *W = ws->Wq;
            ss__svdv_tn(V, pw, V, pw, L, kb, kb, G, pw); /* G = V^T V */
            ss__svdv_tfactor(G, ws->tau, kb, T, pw);
            ss__svdv_tn(V, pw, C, ldf, L, kb, nc, W, nc); /* W (kb,nc) = V^T C */
            for (q = kb - 1; q >= 0; q--) {                /* W = T^T W, bottom row first */
                double *wq = W + (size_t)q * nc;
                int j;
                for (j = 0; j < nc; j++) wq[j] *= T[(size_t)q * pw + q];
                for (r = 0; r < q; r++)
                    ss__daxpy(T[(size_t)r * pw + q], W + (size_t)r * nc, wq, nc);
            }
            ss__svdv_pack(W, nc, kb, nc, 0, ws->Zp);
            ss__svdv_nn(C, ldf, V, pw, ws->Zp, L, kb, nc); /* C -= V W */
        }
        if (!lq) continue;
        {   /* the row panel into Y (kb,nc), factored there; L back into F */
            const int p = kb < nc ? kb : nc, L2 = M - k - kb;
            double *Y = ws->Y, *W = ws->Wl, *C = F + (size_t)(k + kb) * ldf + k + kb;
            for (r = 0; r < kb; r++)
                SS_MEMCPY(Y + (size_t)r * nc, F + (size_t)(k + r) * ldf + k + kb,
                          (size_t)nc * sizeof(double));
            ss__svdv_lq_panel(Y, kb, nc, nc, ws->tau);
            for (r = 0; r < kb; r++)
                for (q = 0; q <= r && q < nc; q++) {
                    F[(size_t)(k + r) * ldf + k + kb + q] = Y[(size_t)r * nc + q];
                    if (r < p) Y[(size_t)r * nc + q] = q == r ? 1.0 : 0.0; /* explicit y_r */
                }
            if (L2 == 0) continue;
            /* F[k+kb..M)[k+kb..N) = C (I - Y^T T Y), Y (p,nc) */
            ss__svdv_pack(Y, nc, nc, p, 1, ws->Zp); /* Y^T, packed */
            ss__svdv_nt(Y, nc, ws->Zp, p, p, nc, G, nb); /* G = Y Y^T */
            ss__svdv_tfactor(G, ws->tau, p, T, nb);
            ss__svdv_nt(C, ldf, ws->Zp, L2, p, nc, W, nb); /* W (L2,p) = C Y^T */
            for (r = 0; r < L2; r++) {                    /* W = W T, right column first */
                double *wr = W + (size_t)r * nb;
                for (q = p - 1; q >= 0; q--) {
                    double acc = 0.0;
                    int t;
                    for (t = 0; t <= q; t++) acc += wr[t] * T[(size_t)t * nb + q];
                    wr[q] = acc;
                }
            }
            ss__svdv_pack(Y, nc, p, nc, 0, ws->Zp);
            ss__svdv_nn(C, ldf, W, nb, ws->Zp, L2, p, nc); /* C -= W Y */
        }
    }
    if (!lq) /* R alone: zeros below its diagonal (the v's of the panels were never written back) */
        for (r = 1; r < N; r++)
            for (q = 0; q < r; q++) F[(size_t)r * ldf + q] = 0.0;
}

/* rows rows of len doubles, row r at y + r * stride: each gets y -= t (y . v) v (a reflection
   from the right), two rows at a time so that v is loaded once for both. */
SS_PRIVATE void ss__svdv_reflect_rows(double *y, size_t stride, int rows, const double *v, int len,
                                      double t) {
    int r = 0;
#if SS__LINALG_AVX2
    for (; r + 2 <= rows; r += 2) {
        double *y0 = y + (size_t)r * stride, *y1 = y0 + stride, p0[4], p1[4], s0, s1;
        __m256d a0 = _mm256_setzero_pd(), a1 = a0, b0, b1;
        int j;
        for (j = 0; j + 4 <= len; j += 4) {
            const __m256d vv = _mm256_loadu_pd(v + j);
            a0 = _mm256_fmadd_pd(_mm256_loadu_pd(y0 + j), vv, a0);
            a1 = _mm256_fmadd_pd(_mm256_loadu_pd(y1 + j), vv, a1);
        }
        _mm256_storeu_pd(p0, a0), _mm256_storeu_pd(p1, a1);
        s0 = (p0[0] + p0[2]) + (p0[1] + p0[3]), s1 = (p1[0] + p1[2]) + (p1[1] + p1[3]);
        for (; j < len; j++) s0 += y0[j] * v[j], s1 += y1[j] * v[j];
        s0 *= t, s1 *= t;
        b0 = _mm256_set1_pd(s0), b1 = _mm256_set1_pd(s1);
        for (j = 0; j + 4 <= len; j += 4) {
            const __m256d vv = _mm256_loadu_pd(v + j);
            _mm256_storeu_pd(y0 + j, _mm256_fnmadd_pd(b0, vv, _mm256_loadu_pd(y0 + j)));
            _mm256_storeu_pd(y1 + j, _mm256_fnmadd_pd(b1, vv, _mm256_loadu_pd(y1 + j)));
        }
        for (; j < len; j++) y0[j] -= s0 * v[j], y1[j] -= s1 * v[j];
    }
#endif
    for (; r < rows; r++) {
        double *yr = y + (size_t)r * stride;
        ss__daxpy(-t * ss__ddot(yr, v, len), v, yr, len);
    }
}

/* The reflection from the left on rows rows of n doubles, row l at y + l * stride: w = sum_l
   v[l] row_l, then row_l -= t v[l] w, four columns at a time (no w stored). v[0] = 1. */
SS_PRIVATE void ss__svdv_reflect_cols(double *y, size_t stride, int rows, const double *v, int n,
                                      double t) {
    int c = 0, l;
#if SS__LINALG_AVX2
    for (; c + 4 <= n; c += 4) {
        __m256d acc = _mm256_loadu_pd(y + c);
        for (l = 1; l < rows; l++)
            acc = _mm256_fmadd_pd(_mm256_set1_pd(v[l]), _mm256_loadu_pd(y + l * stride + c), acc);
        acc = _mm256_mul_pd(acc, _mm256_set1_pd(t));
        for (l = 0; l < rows; l++) {
            double *yl = y + l * stride + c;
            _mm256_storeu_pd(yl, _mm256_fnmadd_pd(_mm256_set1_pd(v[l]), acc, _mm256_loadu_pd(yl)));
        }
    }
#endif
    for (; c < n; c++) {
        double acc = y[c];
        for (l = 1; l < rows; l++) acc += v[l] * y[l * stride + c];
        acc *= t;
        for (l = 0; l < rows; l++) y[l * stride + c] -= v[l] * acc;
    }
}

/* Stage 2: the upper band (N,N) of width b to upper bidiagonal form, by chasing bulges with
   Householder reflections of length b (after Schwarz's Givens-rotation chase; here one
   reflection annihilates a whole row or column segment). Sweep i clears row i beyond the
   superdiagonal and chases the fill down the band, window by window:
     right: the reflection from row rho over columns [c0, c1] (rho = i, [c0, c1] = [i+1, i+b]
            at first) zeros row rho there except at c0; rows rho+1..c1 take it;
     left:  the reflection from column c0 over rows [c0, c1] zeros column c0 below the
            diagonal; columns c0+1..c1+b take it;
     then rho = c0 and [c0, c1] moves on by b, until it leaves the matrix.
   Each window only clears its first row and column; what else it filled (below the diagonal,
   and past the band in rows c0+1..c1) lies in the windows of the next sweeps, which clear it in
   turn, so entries stay between b below and 2b above the diagonal. Band storage: row r holds
   columns r-b .. r+2b at Bd[r * (3b+1) + (c - r + b)]. Cost: about 8 b N^2 flops, on blocks
   that stay in L1. v: b doubles of scratch. */
SS_PRIVATE void ss__svdv_chase(double *Bd, int N, int b, double *v) {
    const int wd = 3 * b + 1;
#define SS__BD(r, c) Bd[(size_t)(r) * wd + (c) - (r) + b]
    int i;
    for (i = 0; i + 1 < N; i++) {
        int rho = i, c0 = i + 1, c1 = i + b < N - 1 ? i + b : N - 1;
        while (c0 < N) {
            const int len = c1 - c0 + 1;
            double t, *x;
            int l;
            if (len < 2) break; /* a single column: nothing to clear, no fill beyond it */
            /* right: row rho, columns c0..c1 */
            x = &SS__BD(rho, c0);
            t = ss__householder(x, len, 1);
            v[0] = 1.0;
            for (l = 1; l < len; l++) v[l] = x[l], x[l] = 0.0;
            if (t != 0.0)
                ss__svdv_reflect_rows(&SS__BD(rho + 1, c0), (size_t)wd - 1, c1 - rho, v, len, t);
            /* left: column c0, rows c0..c1 (stride wd - 1 in the band storage) */
            x = &SS__BD(c0, c0);
            t = ss__householder(x, len, wd - 1);
            for (l = 1; l < len; l++) v[l] = x[(size_t)l * (wd - 1)], x[(size_t)l * (wd - 1)] = 0.0;
            if (t != 0.0) {
                const int ce = c1 + b < N - 1 ? c1 + b : N - 1;
                v[0] = 1.0;
                ss__svdv_reflect_cols(&SS__BD(c0, c0 + 1), (size_t)wd - 1, len, v, ce - c0, t);
            }
            rho = c0;
            c0 = c1 + 1;
            c1 = c0 + b - 1 < N - 1 ? c0 + b - 1 : N - 1;
        }
    }
#undef SS__BD
}

/* The two fused row operations of the one-stage reduction below, over n contiguous doubles:
   left:  row -= z v, then w += u row (the pending right reflection, and the next one's w);
   right: row -= u w, then return row . v (the left reflection, and the next one's z). */
SS_PRIVATE void ss__svdv_fuse_left(double *row, double z, double u, const double *v, double *w,
                                   int n) {
    int j = 0;
#if SS__LINALG_AVX2
    const __m256d vz = _mm256_set1_pd(z), vu = _mm256_set1_pd(u);
    for (; j + 4 <= n; j += 4) {
        const __m256d x = _mm256_fnmadd_pd(vz, _mm256_loadu_pd(v + j), _mm256_loadu_pd(row + j));
        _mm256_storeu_pd(row + j, x);
        _mm256_storeu_pd(w + j, _mm256_fmadd_pd(vu, x, _mm256_loadu_pd(w + j)));
    }
#endif
    for (; j < n; j++) {
        const double x = row[j] - z * v[j];
        row[j] = x;
        w[j] += u * x;
    }
}

SS_PRIVATE double ss__svdv_fuse_right(double *row, double u, const double *w, const double *v,
                                      int n) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int j = 0;
#if SS__LINALG_AVX2
    const __m256d vu = _mm256_set1_pd(u);
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    double part[4];
    for (; j + 8 <= n; j += 8) {
        const __m256d x0 = _mm256_fnmadd_pd(vu, _mm256_loadu_pd(w + j), _mm256_loadu_pd(row + j));
        const __m256d x1 =
            _mm256_fnmadd_pd(vu, _mm256_loadu_pd(w + j + 4), _mm256_loadu_pd(row + j + 4));
        _mm256_storeu_pd(row + j, x0);
        _mm256_storeu_pd(row + j + 4, x1);
        a0 = _mm256_fmadd_pd(x0, _mm256_loadu_pd(v + j), a0);
        a1 = _mm256_fmadd_pd(x1, _mm256_loadu_pd(v + j + 4), a1);
    }
    _mm256_storeu_pd(part, _mm256_add_pd(a0, a1));
    s0 = part[0], s1 = part[1], s2 = part[2], s3 = part[3];
#endif
    for (; j + 4 <= n; j += 4) {
        const double x0 = row[j] - u * w[j], x1 = row[j + 1] - u * w[j + 1];
        const double x2 = row[j + 2] - u * w[j + 2], x3 = row[j + 3] - u * w[j + 3];
        row[j] = x0, row[j + 1] = x1, row[j + 2] = x2, row[j + 3] = x3;
        s0 += x0 * v[j], s1 += x1 * v[j + 1], s2 += x2 * v[j + 2], s3 += x3 * v[j + 3];
    }
    for (; j < n; j++) {
        const double x = row[j] - u * w[j];
        row[j] = x;
        s0 += x * v[j];
    }
    return (s0 + s2) + (s1 + s3);
}

/* One-stage Householder bidiagonalization of F (M,N), row stride ldf, M >= N (Golub and Kahan
   1965): step k reflects rows k..M to clear column k below the diagonal (d[k]), then columns
   k+1..N to clear row k beyond the superdiagonal (e[k]). Each reflection is applied one step
   late, fused with the product the next reflection needs, so the trailing matrix is read twice
   per step instead of four times: pass 1 applies the last right reflection (row -= z v) and sums
   w = A^T u; pass 2 applies the left one (row -= u w) and forms z = A v. For matrices that fit
   in cache (the memory traffic of 2 passes per column is what stage 1 and 2 avoid for large N).
   d (N), e (N-1); u, z (M) and w, v (N): scratch. One thread: it serves N < SS__SVDV_SMALL. */
SS_PRIVATE void ss__svdv_bidiag_small(double *F, int M, int N, int ldf, double *d, double *e,
                                      double *u, double *z, double *w, double *v) {
    int k, i, j;
    for (i = 0; i < M; i++) z[i] = 0.0;
    for (j = 0; j < N; j++) v[j] = 0.0; /* no right reflection pending before step 0 */
    for (k = 0; k < N; k++) {
        const int C = N - k - 1, chunks = (C + 255) / 256;
        double tu, tv, *fk = F + (size_t)k * ldf + k;
        int c;
        /* column k takes the pending right reflection (its v starts with 1 at column k) */
        for (i = k; i < M; i++) F[(size_t)i * ldf + k] -= z[i];
        tu = ss__householder(fk, M - k, ldf);
        d[k] = fk[0];
        u[k] = 1.0;
        for (i = k + 1; i < M; i++) u[i] = F[(size_t)i * ldf + k];
        if (C == 0) break;
        /* pass 1: rows k..M, columns k+1..N: row -= z_i v, w += u_i row, by column chunks */
        for (c = 0; c < chunks; c++) {
            const int j0 = 256 * c, n = j0 + 256 < C ? 256 : C - j0;
            int r;
            for (r = 0; r < n; r++) w[j0 + r] = 0.0;
            for (r = k; r < M; r++)
                ss__svdv_fuse_left(F + (size_t)r * ldf + k + 1 + j0, z[r], u[r], v + 1 + j0,
                                   w + j0, n);
        }
        for (j = 0; j < C; j++) {
            w[j] *= tu;
            fk[1 + j] -= w[j]; /* row k (u_k = 1) now final: the right reflection comes from it */
        }
        tv = ss__householder(fk + 1, C, 1);
        e[k] = fk[1];
        v[0] = 1.0;
        for (j = 1; j < C; j++) v[j] = fk[1 + j];
        /* pass 2: rows k+1..M: row -= u_i w, z_i = tv row . v */
        for (i = k + 1; i < M; i++)
            z[i] = tv * ss__svdv_fuse_right(F + (size_t)i * ldf + k + 1, u[i], w, v, C);
        z[k] = 0.0;
    }
}

/* The eigenvalues lmax >= lmin of B^T B for the 2 x 2 B = [sqrt(q1) sqrt(e1); 0 sqrt(q2)], each
   to a few ulps of itself: lmax = (S + sqrt(S^2 - 4 q1 q2)) / 2 with S = q1 + e1 + q2 and the
   root's argument written as (q1 - q2)^2 + e1 (2 (q1 + q2) + e1), a sum of non-negative terms;
   lmin = q1 q2 / lmax. Everything over the largest of the three first (no overflow). */
SS_PRIVATE void ss__svdv_2x2(double q1, double e1, double q2, double *lmax, double *lmin) {
    const double mx = q1 > q2 ? (q1 > e1 ? q1 : e1) : (q2 > e1 ? q2 : e1);
    double a, b, c;
    if (mx == 0.0) {
        *lmax = *lmin = 0.0;
        return;
    }
    a = q1 / mx, b = e1 / mx, c = q2 / mx;
    *lmax = mx * (0.5 * ((a + b + c) + SS_SQRT((a - c) * (a - c) + b * (2.0 * (a + c) + b))));
    *lmin = q1 * (q2 / *lmax);
}

/* One dqds transform (Fernando and Parlett's differential qd with shift sft) of the block
   lo..hi of (q, e) into (qt, et):
     d = q[lo] - sft;  for j: qt[j] = d + e[j], et[j] = q[j+1] e[j] / qt[j],
                              d = q[j+1] d / qt[j] - sft;  qt[hi] = d,
   so that the new bidiagonal Bt satisfies Bt^T Bt = B B^T - sft I. It fails (returns 0) when a
   d turns negative, which happens when sft exceeds the smallest eigenvalue. e/qt and d/qt lie
   in [0, 1], and r = 1/qt[j], kept in R[j] for the next shift, is finite: qt[j] >= e[j] >=
   2^-1000 (smaller e's are dropped, see below). (Multiplying by r instead of dividing saves
   nothing on the critical path and costs accuracy: 4e-14 against 6e-15 on the graded matrices
   of `ss bench svd`.) On the way it
   forms h[j] = |Bt^{-1} e_j|^2, the squared norm of column j of the inverse, by h[j] = r (1 +
   et[j-1] h[j-1]), for two uses:
   - et[j] h[j] <= tol2 drops et[j] (set to 0, a split): Bt loses an entry b with |b|
     |Bt^{-1} e_j| <= sqrt(tol2), which changes every singular value by a factor within
     1 +- sqrt(tol2) (a multiplicative perturbation Bt (I + F), |F| <= sqrt(tol2)); so does
     et[j] < 2^-1000 (an absolute perturbation of 2^-500, below what the scaling resolves);
   - D[j] = 2 qt[j] h[j] - 1, the factor the next shift needs (below). */
SS_PRIVATE int ss__svdv_dqds_pass(const double *q, const double *e, int lo, int hi, double sft,
                                  double tol2, double tiny, double *qt, double *et, double *D,
                                  double *R) {
    double d = q[lo] - sft, h = 0.0;
    int j;
    if (d < 0.0) return 0;
    for (j = lo; j < hi; j++) {
        const double qh = d + e[j], r = 1.0 / qh; /* qh >= e[j] >= tiny inside a block */
        const double t = q[j + 1] * (e[j] / qh); /* divisions, not * r: one rounding each */
        d = q[j + 1] * (d / qh) - sft;
        if (d < 0.0) return 0;
        qt[j] = qh, R[j] = r;
        h = r * (1.0 + (j > lo ? et[j - 1] * h : 0.0));
        D[j] = 2.0 * (qh * h) - 1.0;
        et[j] = t * h <= tol2 || t < tiny ? 0.0 : t; /* 0: split here */
    }
    qt[hi] = d;
    if (d > 0.0) {
        R[hi] = 1.0 / d;
        h = R[hi] * (1.0 + et[hi - 1] * h);
        D[hi] = 2.0 * (d * h) - 1.0;
    } else {
        R[hi] = D[hi] = HUGE_VAL; /* an exact zero eigenvalue: no Newton bound */
    }
    return 1;
}

/* A lower bound of the smallest eigenvalue of B^T B for the block lo..hi of (q, e), from two
   theorems, the larger taken:
   - Kimura's generalized Newton bound (trace((B^T B)^-2))^(-1/2) (Aishima, Matsuo, Murota and
     Sugihara use it as a dqds shift): with X = B^-1, upper triangular and semiseparable, the
     trace is sum_j (2 q[j] h[j] - 1) / dh[j]^2 = sum_j D[j] / dh[j]^2, h[j] = |X e_j|^2 from the
     last pass and dh the bottom-up pivots (1/dh[j] = |e_j^T X|^2, dh[hi] = q[hi], dh[j] = q[j]
     dh[j+1] / (dh[j+1] + e[j])), R[j] = 1/q[j] also from the pass. Its error is about
     lambda_min * sum_{i>1} (lambda_min / lambda_i)^2 / 2: tight unless other eigenvalues are
     close;
   - Johnson's bound (a Gersgorin theorem for singular values), sigma_min >= min_j (|a_j| -
     (|b_{j-1}| + |b_j|) / 2) on B itself: tight when the off-diagonal is tiny, which is where the
     first fails (a cluster, e.g. the values of an orthogonal matrix, all 1).
   Each is shrunk by a few rounding errors per entry. Dknown 0: no pass yet (Johnson only). */
SS_PRIVATE double ss__svdv_dqds_shift(const double *q, const double *e, const double *D,
                                      const double *R, int lo, int hi, int Dknown) {
    const double slack = 1.0 - 4.0 * (hi - lo + 2) * SS__DBL_EPS;
    double kim = 0.0, john = HUGE_VAL, kim_root, below;
    int j;
    if (Dknown) { /* g = 1/dh = (1 + e[j] g[j+1]) / q[j], with R[j] = 1/q[j] from the pass */
        double g = 0.0, gmax = 0.0, tr = 0.0;
        for (j = hi; j >= lo; j--) {
            g = (1.0 + (j < hi ? e[j] * g : 0.0)) * R[j];
            tr += D[j] * g * g;
            if (g > gmax) gmax = g; /* every 1/g = dh bounds lambda_min from above */
        }
        if (tr > 0.0 && tr < HUGE_VAL) kim = slack / SS_SQRT(tr);
        if (kim * gmax >= 0.5) return kim; /* within 2x of lambda_min: good enough */
    }
    kim_root = SS_SQRT(kim), below = 0.0;
    for (j = hi; j >= lo; j--) { /* bottom up (small values first), until it cannot beat Kimura */
        const double above = j > lo ? SS_SQRT(e[j - 1]) : 0.0;
        const double r = SS_SQRT(q[j]) - 0.5 * (above + below);
        if (!(r > kim_root)) return kim;
        if (r < john) john = r;
        below = above;
    }
    john = john * john * slack;
    return john > kim ? john : kim;
}

/* The singular values of the bidiagonal with diagonal d (n) and superdiagonal e (n-1), in s (n),
   in no particular order, by dqds on q = d^2, e = e^2. The block at the bottom is iterated until
   its last entry deflates:
     e[hi-1] <= tol^2 (sigma + q[hi]):  the absolute perturbation |b| <= tol sqrt(sigma + q[hi])
       moves no sigma + lambda by more than 2 tol of itself, so q[hi] + sigma is an eigenvalue
       (sigma: the sum of the shifts so far, accumulated with its rounding error kept);
   or splits in the middle (see the transform), or is 1 x 1 or 2 x 2 (solved directly). The
   shift is the lower bound above, so the transform succeeds but for rounding; a failed one is
   retried with the shift 1 - 2^-20 times as large, then a quarter of it, then 0 (which always
   succeeds). A fresh block whose last entry is larger than its first is turned upside down
   first (the singular values do not change): qd converges fastest with the larger values on top.
   Scaled by a power of two so that the largest |entry| is about 2^480: the squares cannot
   overflow; entries below 2^-500 there (2^-980, 1e-295, of the largest) are set to 0 first, so
   that every square is a normal number (an absolute perturbation of 1e-295 max|entry|: values
   below that are not resolved). tol = DBL_EPSILON.
   work: 8n doubles. Returns 0, or -1 after 30 n + 100 transforms (s then holds the current
   approximations). */
SS_PRIVATE int ss__svdv_dqds(const double *d, const double *e, int n, double *s, double *work) {
    const double tol2 = SS__DBL_EPS * SS__DBL_EPS;
    double *q = work, *ee = q + n, *qt = ee + n, *et = qt + n, *sh = et + n, *shc = sh + n;
    double *D = shc + n, *R = D + n, big = 0.0, sc = 1.0, top = 1.0, thr = 1.0;
    long passes = 0, max_passes = 30L * n + 100;
    int i, lo, hi;
    for (i = 0; i < n; i++) {
        if (fabs(d[i]) > big) big = fabs(d[i]);
        if (i + 1 < n && fabs(e[i]) > big) big = fabs(e[i]);
    }
    if (big == 0.0) {
        for (i = 0; i < n; i++) s[i] = 0.0;
        return 0;
    }
    for (i = 0; i < 480; i++) top *= 2.0; /* 2^480 */
    for (i = 0; i < 500; i++) thr *= 0.5; /* 2^-500: squares stay normal numbers */
    while (big * sc >= 2.0 * top) sc *= 0.5;
    while (big * sc < top) sc *= 2.0;
    for (i = 0; i < n; i++) {
        const double a = fabs(d[i]) * sc, b = i + 1 < n ? fabs(e[i]) * sc : 0.0;
        q[i] = a < thr ? 0.0 : a * a;
        ee[i] = b < thr ? 0.0 : b * b;
        sh[i] = shc[i] = 0.0;
        D[i] = -1.0; /* no pass yet */
    }
    hi = n - 1;
    while (hi >= 0) {
        double sig, sigc, sft, t, bp;
        int tries;
        for (lo = hi; lo > 0 && ee[lo - 1] != 0.0; lo--) continue;
        sig = sh[hi], sigc = shc[hi];
        if (lo == hi) {
            s[hi] = SS_SQRT(sig + (sigc + q[hi])) / sc;
            hi--;
            continue;
        }
        if (lo + 1 == hi) {
            double lmax, lmin;
            ss__svdv_2x2(q[lo], ee[lo], q[hi], &lmax, &lmin);
            s[lo] = SS_SQRT(sig + (sigc + lmax)) / sc;
            s[hi] = SS_SQRT(sig + (sigc + lmin)) / sc;
            hi -= 2;
            continue;
        }
        if (ee[hi - 1] <= tol2 * (sig + q[hi])) { /* deflate the bottom */
            s[hi] = SS_SQRT(sig + (sigc + q[hi])) / sc;
            ee[hi - 1] = 0.0;
            hi--;
            continue;
        }
        if (passes >= max_passes) { /* give up: report what is there */
            for (i = 0; i <= hi; i++) s[i] = SS_SQRT(sh[i] + (shc[i] + q[i])) / sc;
            return -1;
        }
        if (D[hi] < 0.0 && q[hi] > 1.5 * q[lo]) { /* a fresh block, larger at the bottom: flip */
            for (i = 0; lo + i < hi - i; i++) {
                t = q[lo + i], q[lo + i] = q[hi - i], q[hi - i] = t;
                if (lo + i < hi - 1 - i)
                    t = ee[lo + i], ee[lo + i] = ee[hi - 1 - i], ee[hi - 1 - i] = t;
            }
        }
        sft = ss__svdv_dqds_shift(q, ee, D, R, lo, hi, D[hi] >= 0.0);
        for (tries = 0;; tries++) {
            passes++;
            if (ss__svdv_dqds_pass(q, ee, lo, hi, sft, tol2, thr * thr, qt, et, D, R)) break;
            sft = tries == 0 ? sft * (1.0 - 9.5367431640625e-07) : tries == 1 ? 0.25 * sft : 0.0;
        }
        for (i = lo; i <= hi; i++) q[i] = qt[i];
        for (i = lo; i < hi; i++) ee[i] = et[i];
        t = sig + sft, bp = t - sig; /* sigma += sft, the rounding error kept in sigc */
        sigc += (sig - (t - bp)) + (sft - bp);
        sig = t;
        for (i = lo; i <= hi; i++) sh[i] = sig, shc[i] = sigc;
    }
    return 0;
}

/* Whether F (M,N), row stride ld, M >= N, is graded by rows much more than by columns: the
   spread of its row max-norms exceeds 16 times that of its column max-norms, the spread being
   the largest over the median of those that are not 0 (zero rows and columns do not grade).
   scratch: 3 M doubles. */
SS_PRIVATE double ss__svdv_spread(const double *key, double *idx, int n) {
    int nz = 0;
    ss__sort_desc(key, idx, n);
    while (nz < n && key[(int)idx[nz]] > 0.0) nz++;
    return nz == 0 ? 1.0 : key[(int)idx[0]] / key[(int)idx[nz / 2]];
}
SS_PRIVATE int ss__svdv_rows_graded(const double *F, int M, int N, int ld, double *scratch) {
    double *rk = scratch, *ck = rk + M, *idx = ck + M;
    int i, j;
    for (j = 0; j < N; j++) ck[j] = 0.0;
    for (i = 0; i < M; i++) {
        const double *row = F + (size_t)i * ld;
        rk[i] = 0.0;
        for (j = 0; j < N; j++) {
            const double a = fabs(row[j]);
            if (a > rk[i]) rk[i] = a;
            if (a > ck[j]) ck[j] = a;
        }
    }
    return ss__svdv_spread(rk, idx, M) > 16.0 * ss__svdv_spread(ck, idx, N);
}

/* Row stride of the working copy F: at least N, a whole number of 64-byte lines, and an odd
   number of them, so that the rows of a column block spread over all sets of the caches
   (a stride of 2048 doubles would put every row in the same set of L1). */
SS_PRIVATE int ss__svdv_ld(int N) {
    int ld = (N + 7) / 8 * 8;
    return (ld / 8) % 2 == 0 ? ld + 8 : ld;
}

SS_API size_t ss_svd_values_work_size(int m, int n) {
    size_t M, N, nb = SS__SVDV_NB;
    if (m < 1 || n < 1) return 0;
    M = (size_t)(m >= n ? m : n);
    N = (size_t)(m >= n ? n : m);
    return M * (size_t)ss__svdv_ld((int)N) + 3 * nb * M + (5 * nb + 3 * nb + 1 + 10) * N +
           8 * nb * nb + 21 * nb;
}

SS_API ss_result ss_svd_values(const double *A, int m, int n, int lda, double *s, double *work) {
    /* B (M,N) = A, or A^T when A is wide: the same singular values. */
    const int tall = m >= n, M = tall ? m : n, N = tall ? n : m, nb = SS__SVDV_NB;
    int ld, Mw, i, j, rc, one_stage;
    double *F, *Bd, *d, *e, *dq, *rowkey, *rowo, *colkey, *colo, big = 0.0, scale = 1.0;
    ss__svdv_scratch ws;
    if (m < 1 || n < 1)
        return ss__fail(SS_ERR_INVALID,
                        "ss_svd_values: the matrix is %d x %d; both sizes must be >= 1", m, n);
    if (lda < n) return ss__fail(SS_ERR_INVALID, "ss_svd_values: row stride lda %d < n %d", lda, n);
    SS_ASSERT(A && s && work);
    ld = ss__svdv_ld(N);
    F = work;                                                     /* (M,ld): B, sorted, scaled */
    ws.V = F + (size_t)M * ld, ws.Wl = ws.V + (size_t)M * 2 * nb; /* (M,2nb), (M,nb) */
    ws.Y = ws.Wl + (size_t)M * nb, ws.Wq = ws.Y + (size_t)nb * N; /* (nb,N), (2nb,N) */
    ws.Zp = ws.Wq + (size_t)2 * nb * N;                           /* 2nb (N+8) */
    ws.T = ws.Zp + (size_t)2 * nb * (N + 8), ws.G = ws.T + 4 * nb * nb; /* (2nb,2nb) each */
    ws.tau = ws.G + 4 * nb * nb, ws.w = ws.tau + 2 * nb;                 /* 2nb and 3nb */
    Bd = ws.w + 3 * nb;                                         /* (N,3nb+1): the band */
    d = Bd + (size_t)N * (3 * nb + 1), e = d + N, dq = e + N;    /* N, N, 8N */
    rowkey = ws.V, rowo = rowkey + M, colkey = rowo + M, colo = colkey + N; /* in V for now */

    /* 1. Check, and find the largest magnitude of the whole matrix and of every row of B. */
    for (i = 0; i < M; i++) rowkey[i] = 0.0;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            const double a = A[(size_t)i * lda + j], mag = fabs(a);
            if (a - a != 0.0)
                return ss__fail(SS_ERR_NONFINITE, "ss_svd_values: A[%d][%d] = %g (row %d, column "
                                "%d of a %d x %d matrix)", i, j, a, i, j, m, n);
            if (mag > rowkey[tall ? i : j]) rowkey[tall ? i : j] = mag;
            if (mag > big) big = mag;
        }
    /* 2. Scale by a power of two (exact): the largest entry in [0.5, 1). */
    if (big > 0.0) {
        while (big * scale >= 1.0) scale *= 0.5;
        while (big * scale < 0.5 && scale < 1e300) scale *= 2.0;
    }
    /* 3. The norms of B's columns (a column of A, or a row of A when wide), the sums of squares
          redone with care where they may have underflowed. */
    for (j = 0; j < N; j++) colkey[j] = 0.0;
    if (tall) {
        for (i = 0; i < M; i++)
            for (j = 0; j < N; j++) {
                const double a = A[(size_t)i * lda + j] * scale;
                colkey[j] += a * a;
            }
    } else {
        for (j = 0; j < N; j++)
            for (i = 0; i < M; i++) {
                const double a = A[(size_t)j * lda + i] * scale;
                colkey[j] += a * a;
            }
    }
    for (j = 0; j < N; j++)
        colkey[j] = colkey[j] > 1e-280 ? SS_SQRT(colkey[j])
                                       : ss__dnrm2(tall ? A + j : A + (size_t)j * lda, M,
                                                   tall ? lda : 1) * scale;
    /* 4. Rows by decreasing max-norm, columns by decreasing norm, so that a graded matrix has its
          large entries top left: the reflections then carry errors proportional to the column
          (and row) they act on (Demmel and Veselic; Cox and Higham for the rows). B so ordered
          and scaled goes into F. */
    ss__sort_desc(rowkey, rowo, M);
    ss__sort_desc(colkey, colo, N);
    if (tall) {
        for (i = 0; i < M; i++) {
            const double *src = A + (size_t)(int)rowo[i] * lda;
            double *dst = F + (size_t)i * ld;
            for (j = 0; j < N; j++) dst[j] = src[(int)colo[j]] * scale;
        }
    } else {
        for (j = 0; j < N; j++) {
            const double *src = A + (size_t)(int)colo[j] * lda;
            for (i = 0; i < M; i++) F[(size_t)i * ld + j] = src[(int)rowo[i]] * scale;
        }
    }
    /* 5. How B is reduced. The two-stage reduction and the QR keep the small values of a matrix
          graded by columns (each QR panel errs column by column), but not those of one graded
          by rows only: a QR panel without column pivoting can lose the small rows to the large
          ones (Cox and Higham). So a B whose rows are graded much more than its columns is
          turned over when square (the sorting is kept: rows and columns both decreasing), and
          reduced by the one-stage method when taller than wide (its right reflections, taken
          after each column, play the part of the pivoting; level-2 and slower at large sizes,
          but such matrices are rare). Otherwise a clearly tall B (M >= 1.6 N) goes to the
          N x N triangle R of its QR first: the band reduction costs 4 M N^2 - 4/3 N^3 on B,
          against 2 M N^2 - 2/3 N^3 + 8/3 N^3 this way. */
    Mw = M;
    one_stage = N < SS__SVDV_SMALL;
    if (N > 1 && ss__svdv_rows_graded(F, M, N, ld, ws.V)) {
        if (M == N) {
            for (i = 0; i < N; i++)
                for (j = 0; j < i; j++) {
                    const double t = F[(size_t)i * ld + j];
                    F[(size_t)i * ld + j] = F[(size_t)j * ld + i], F[(size_t)j * ld + i] = t;
                }
        } else {
            one_stage = 1;
        }
    } else if (N > 1 && 5.0 * M >= 8.0 * N) {
        ss__svdv_band(F, M, N, ld, 0, &ws);
        Mw = N;
    }
    /* 6. To bidiagonal form d (N), e (N-1). */
    if (one_stage) {
        ss__svdv_bidiag_small(F, Mw, N, ld, d, e, ws.V, ws.V + M, ws.Y, ws.Y + N);
    } else {
        const int wd = 3 * nb + 1;
        ss__svdv_band(F, Mw, N, ld, 1, &ws);
        SS_MEMSET(Bd, 0, (size_t)N * wd * sizeof(double));
        for (i = 0; i < N; i++) /* row i: columns i..i+nb */
            for (j = i; j <= i + nb && j < N; j++)
                Bd[(size_t)i * wd + j - i + nb] = F[(size_t)i * ld + j];
        ss__svdv_chase(Bd, N, nb, ws.w);
        for (i = 0; i < N; i++) {
            d[i] = Bd[(size_t)i * wd + nb];
            if (i + 1 < N) e[i] = Bd[(size_t)i * wd + nb + 1];
        }
    }
    /* 7. dqds, then undo the scaling and sort (Bd is free now: keys and order). */
    rc = ss__svdv_dqds(d, e, N, s, dq);
    for (j = 0; j < N; j++) Bd[j] = s[j] / scale;
    ss__sort_desc(Bd, Bd + N, N);
    for (j = 0; j < N; j++) s[j] = Bd[(int)Bd[N + j]];
    if (rc != 0)
        return ss__fail(SS_ERR_NOT_CONVERGED, "ss_svd_values: %d x %d matrix: dqds did not "
                        "converge within %d transforms", m, n, 30 * N + 100);
    return SS_OK;
}

SS_API ss_result ss_svd_values_alloc(const double *A, int m, int n, int lda, double *s) {
    const size_t count = ss_svd_values_work_size(m, n);
    size_t bytes;
    double *work;
    ss_result r;
    if (count == 0) return ss_svd_values(A, m, n, lda, s, NULL); /* reports the bad size */
    if (!ss__mul_size(count, sizeof(double), &bytes))
        return ss__fail(SS_ERR_OVERFLOW, "ss_svd_values_alloc: workspace of %zu doubles overflows",
                        count);
    work = (double *)ss__malloc(bytes);
    if (!work)
        return ss__fail(SS_ERR_NOMEM, "ss_svd_values_alloc: no memory for the %zu-byte workspace "
                        "of a %d x %d SVD", bytes, m, n);
    r = ss_svd_values(A, m, n, lda, s, work);
    ss_free(work);
    return r;
}

/* The largest value of s (n), and sum_j (s_j / top)^2 from the last value to the first (small to
   large for a sorted spectrum), so that the tails below are sums in the same order. */
SS_PRIVATE double ss__energy_total(const double *s, int n, double *top) {
    double total = 0.0;
    int j;
    *top = 0.0;
    for (j = 0; j < n; j++)
        if (s[j] > *top) *top = s[j];
    if (*top == 0.0) return 0.0;
    for (j = n - 1; j >= 0; j--) total += (s[j] / *top) * (s[j] / *top);
    return total;
}

SS_API int ss_effective_rank(const double *s, int n, double eps) {
    double top, total = ss__energy_total(s, n, &top), tail = 0.0;
    int k, rank = n;
    if (total == 0.0) return 0;
    /* lost(k) = sum_{j>k} / total only grows as k falls: walk down from k = n while it holds */
    for (k = n; k >= 1; k--) {
        if (k < n) tail += (s[k] / top) * (s[k] / top);
        if (!(tail / total <= eps)) break;
        rank = k;
    }
    return rank;
}

SS_API double ss_energy_lost(const double *s, int n, int k) {
    double top, total = ss__energy_total(s, n, &top), tail = 0.0;
    int j;
    if (total == 0.0) return 0.0;
    if (k < 0) k = 0;
    for (j = n - 1; j >= k; j--) tail += (s[j] / top) * (s[j] / top);
    return tail / total;
}

SS_API ss_result ss_principal_angles(const double *A, int lda, const double *B, int ldb, int m,
                                     int ka, int kb, double *cosines) {
    size_t fa, fb, svd_work, count, bytes;
    double *mem, *Fa, *Fb, *Qb, *ta, *tb, *svdw;
    const int kmin = ka < kb ? ka : kb;
    int i, j;
    ss_result r;
    if (m < 1 || ka < 1 || kb < 1 || ka > m || kb > m)
        return ss__fail(SS_ERR_INVALID, "ss_principal_angles: A is %d x %d and B %d x %d; need "
                        "1 <= ka, kb <= m", m, ka, m, kb);
    if (lda < ka || ldb < kb)
        return ss__fail(SS_ERR_INVALID, "ss_principal_angles: strides lda %d, ldb %d below the "
                        "widths %d, %d", lda, ldb, ka, kb);
    SS_ASSERT(A && B && cosines);
    for (i = 0; i < m; i++) {
        for (j = 0; j < ka; j++)
            if (A[(size_t)i * lda + j] - A[(size_t)i * lda + j] != 0.0)
                return ss__fail(SS_ERR_NONFINITE, "ss_principal_angles: A[%d][%d] = %g", i, j,
                                A[(size_t)i * lda + j]);
        for (j = 0; j < kb; j++)
            if (B[(size_t)i * ldb + j] - B[(size_t)i * ldb + j] != 0.0)
                return ss__fail(SS_ERR_NONFINITE, "ss_principal_angles: B[%d][%d] = %g", i, j,
                                B[(size_t)i * ldb + j]);
    }
    fa = (size_t)m * ka, fb = (size_t)m * kb;
    svd_work = ss_svd_work_size(ka, kb, 0, 0);
    count = fa + 2 * fb + (size_t)ka + (size_t)kb + svd_work; /* no overflow: ints below 2^31 */
    if (!ss__mul_size(count, sizeof(double), &bytes))
        return ss__fail(SS_ERR_OVERFLOW, "ss_principal_angles: workspace of %zu doubles "
                        "overflows", count);
    mem = (double *)ss__malloc(bytes);
    if (!mem)
        return ss__fail(SS_ERR_NOMEM, "ss_principal_angles: no memory for %zu bytes (m %d, ka %d, "
                        "kb %d)", bytes, m, ka, kb);
    Fa = mem, Fb = Fa + fa, Qb = Fb + fb, ta = Qb + fb, tb = ta + ka, svdw = tb + kb;
    for (i = 0; i < m; i++) {
        SS_MEMCPY(Fa + (size_t)i * ka, A + (size_t)i * lda, (size_t)ka * sizeof(double));
        SS_MEMCPY(Fb + (size_t)i * kb, B + (size_t)i * ldb, (size_t)kb * sizeof(double));
        for (j = 0; j < kb; j++) Qb[(size_t)i * kb + j] = i == j ? 1.0 : 0.0;
    }
    ss_qr(Fa, m, ka, ka, ta);
    ss_qr(Fb, m, kb, kb, tb);
    ss__qr_apply(Fb, m, kb, kb, tb, Qb, kb, kb, 0); /* Qb = Q_B [I; 0] */
    ss__qr_apply(Fa, m, ka, ka, ta, Qb, kb, kb, 1); /* rows 0..ka of Q_A^T Qb = Qa^T Qb */
    r = ss_svd(Qb, ka, kb, kb, cosines, NULL, NULL, svdw, NULL);
    for (i = 0; i < kmin; i++)
        if (cosines[i] > 1.0) cosines[i] = 1.0;
    ss_free(mem);
    return r;
}

#endif /* SS__IMPLEMENTED */
#endif /* SS_IMPLEMENTATION */

/* ================================================================================================
   HISTORY
   0.3.3  (2026-11-29) ss__zero clears spans of more than 64 Ki floats on all threads (and
          ss_params_zero_grad goes through it). Private ss__linear_backward (dinp_beta) and
          ss__swiglu_backward (accumulate): the FFN's dh, da, dg and the attention's dctx,
          do_lat, dq_latn, dkv_latn are written by their first producer instead of cleared
          and added into. ss__col_block: column tasks of 64 down to 16 columns so that every
          thread has one; ss__colsum has a 16-column vector pass. ss__swiglu_run (forward
          and backward, e^-a computed in the lanes), ss__rms_row, ss__rope_pairs,
          ss__att_ds_row and ss__max_f: SS__VW lanes with the scalar tail's operation order;
          SS__VNZ_OR0. Same bits as 0.3.2
          except the sign of a zero gradient (and, under clang, the scalar code that clang
          fused into multiply-adds before the fp contract pragmas).
   0.3.2  (2026-11-29) SS_LM_KEEP (1024): with at most that many scored rows the LM head
          computes their logits in one product and the backward starts from the forward's
          probabilities (turned into the gradient in place; the (chunk, V) gradient buffer is
          gone), else SS_LM_CHUNK rows at a time with the logits computed again, as before;
          acts.lm_cap. ss__gemm_run packs op(B) whole before the tiles when there are several
          row blocks (borrowed scratch, at most 16 MiB, with the old per-tile packing as the
          fallback). ss__exp_vec: one body for the 16-lane AVX-512F and 8-lane AVX2 e^x.
          ss_gemm inside an active parallel region plans for one thread and runs a one-tile
          product without opening a parallel region. ss_adamw_step in vector lanes
          (ss__adamw_run; libm's sqrtf kept the loop scalar), blocks of 1024 values per task.
   0.3.1  (2026-11-29) ss_dataset_load checks an offset's bounds before taking a difference
          with it (a fuzz finding: -2^63 overflowed); ss__colsum (the column-split sums of
          the bias and RMSNorm-gain gradients, AVX2, the scalar order); the transposing packer
          takes 1 to 8 rows, so SS__GEMM_MR=12 builds a 12 x 32 AVX-512 tile; the blocking
          macros take -D values for tuning.
   0.3.0  (2026-11-28) ss_attention_tiled_forward/backward (FlashAttention-style tiles with an
          online softmax; the layers run it when acts.att is NULL, the model always); attention
          dropout keep decisions from a hash of (seed, row, key); ss__expf/ss__exp_shift (AVX2);
          K-sliced GEMM products cut their tile grid for threads/S; the shard reader and FP8
          block dequantisation (section 10); Householder QR, one-sided Jacobi SVD,
          ss_svd_values (band reduction, bulge chasing, dqds), effective rank and principal
          angles (section 11).
   0.2.0  (2026-11-28) training: AdamW (torch's arithmetic, no decay on biases and norm gains),
          linear-warmup/linear-decay, cosine and constant schedules, global-norm clipping, HF's
          MLM masking, data sets from text (per line or packed) and GLUE TSV, the token cache,
          the sampler, padded batches, optimizer state save/load.
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
