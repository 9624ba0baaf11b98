/* tools/mla_synth.h - a small synthetic MLA checkpoint in DeepSeek-V3's layout, with structure
   planted where an SVD analysis (ss svd, SPEC 4) can find it.

   FILES (mla_synth_write, into DIR, created if missing; its parent must exist)
     DIR/config.json                 the Hugging Face keys: model_type "deepseek_v3",
                                     num_hidden_layers, num_attention_heads, hidden_size,
                                     q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim,
                                     v_head_dim (and quantization_config when fp8)
     DIR/model-0000S-of-0000N.safetensors and DIR/model.safetensors.index.json (shards >= 2), or
     DIR/model.safetensors alone (shards == 1, as Hugging Face writes a single file)
   Per layer i, prefix model.layers.{i}. (SPEC 4.4), with H heads, D hidden, Cq q_lora,
   Ckv kv_lora, dn nope, dr rope, dv v:
     input_layernorm.weight                 (D)             BF16
     self_attn.q_a_proj.weight              (Cq, D)         F8_E4M3 + scale_inv  | F32
     self_attn.q_a_layernorm.weight         (Cq)            BF16
     self_attn.q_b_proj.weight              (H*(dn+dr), Cq) F8_E4M3 + scale_inv  | F32
     self_attn.kv_a_proj_with_mqa.weight    (Ckv+dr, D)     F8_E4M3 + scale_inv  | F32
     self_attn.kv_a_layernorm.weight        (Ckv)           BF16
     self_attn.kv_b_proj.weight             (H*(dn+dv), Ckv) F8_E4M3 + scale_inv | F32
     self_attn.o_proj.weight                (D, H*dv)       F8_E4M3 + scale_inv  | F32
   q_b_proj is laid out per head as [Q_h (dn rows); Q_pe_h (dr rows)] x H, kv_b_proj per head as
   [K_h (dn rows); V_h (dv rows)] x H, and o_proj's columns h*dv .. h*dv+dv-1 are O_h^T (O_h is
   (dv, D)), as DeepSeek-V3 lays them out. With fp8 each projection is F8_E4M3 with an F32
   "<name>_scale_inv" of shape (ceil(M/128), ceil(N/128)): per 128x128 block, scale = max|w| / 448
   (1 for an all-zero block), stored code = e4m3(w / scale) rounded to nearest even and saturated
   at +-448; a reader gets code * scale. The defaults (D 320, Cq 192, Ckv 160, ...) are not
   multiples of 128, so edge blocks occur in every projection. Tensors are spread over the shards
   in file order; each scale_inv follows its weight, except o_proj's, which goes to the next
   shard, so an index reader must look the scale up separately (as DeepSeek's own index needs).

   PLANTED STRUCTURE (exact before rounding). Every matrix kind is U_h diag(sigma) W_h^T per head
   with orthonormal U_h, W_h made by Gram-Schmidt from Gaussian draws, so its singular values are
   sigma exactly; the input-side W_h of all heads of a kind form one orthonormal set (while
   H * k <= columns), so heads' row spaces are mutually orthogonal and a stack of heads has the
   union of their spectra. Entries have a root mean square of 0.02 times the head's scale.
     K_h (dn, Ckv), V_h (dv, Ckv)   rank exactly R = planted_rank, sigma_l = 1 - 0.5 l / R
                                    (1, 0.9, 0.8, 0.7, 0.6 for R = 5), times the head's scale:
                                    K_h (1 + h), V_h (H - h), so a wrong split of kv_b_proj (the
                                    seed's halves, SPEC 4.6) shows in the per-head norms
     Q_h (dn, Cq), Q_pe_h (dr, Cq), O_h (dv, D), QA (Cq, D), KVA_pe (dr, D)
                                    full rank, sigma_l = 1 - 0.2 l / n (n = min(rows, cols));
                                    O_h scaled by 1 + h / 2
     KVA (Ckv, D)                   full rank, sigma_l = 1 - 0.3 l / n
     norm gains                     1 + 0.1 u, u uniform in [-1, 1)
   Hence KQ_h = K_h^T Q_h and VO_h = V_h^T O_h have rank R, and stacked K, V, KQ, VO (each head
   divided by its largest singular value, SPEC 4.8) rank H R. Norm folding (W diag(g), SPEC 4.5)
   keeps every rank. FP8 rounding (3 mantissa bits) adds full-rank noise: 4.9e-4 .. 5.9e-4 of a
   matrix's energy lies beyond its planted rank (measured); F32 leaves about 1e-16 there.

   WHAT AN ANALYSIS SHOULD FIND with the defaults (any seed, folded or not, FP8 or F32; measured
   in double precision by dev/shards/measure_ranks.c: r(eps) of SPEC 4.9, the same in every layer;
   "margin" is how far the energy beyond r-1 and r is from eps, as a factor, the worst case):
     kind            values  r(0.01)  r(0.001)  margin at 0.01 / 0.001   r(1e-4) FP8 / F32
     K, V head         32       5        5        x10 / x1.8               19..21 / 5
     KQ, VO head      160       5        5        x10 / x1.8               19..21 / 5
     Q, O head         32      32       32        x2.4 / x24                  32 / 32
     Q_pe head         16      16       16        x4.9 / x49                  16 / 16
     K, V stacked     160      20       20        x2.7 / x2.1                 60 / 20
     KQ stacked       192      20       20        x2.5 / x1.9                 78 / 20
     VO stacked       320      20       20        x2.8 / x1.9                 79 / 20
     Q stacked        192     127      128        x1.13 / x5.6               128 / 128
     Q_pe stacked     192      64       64        x1.17 / x12                 64 / 64
     O stacked        320     127      128        x1.23 / x6                 128 / 128
     QA               192     190      192        x1.14 / x3.8               192 / 192
     KVA              160     158      160        x1.19 / x4.2               160 / 160
     KVA_pe            16      16       16        x5 / x50                    16 / 16
   (Q and O stacked: 128 nonzero values, the rest zero.) So at eps = 0.01 and 0.001 alike the
   planted ranks come out, FP8 or not: the FP8 noise (about 5e-4 of the energy) stays below
   1e-3 by a factor 1.8. Only below about 5e-4 does it show, the rank-R kinds then jumping
   towards full rank (r(1e-4) above); with F32 the energy beyond R is about 1e-16. Full-rank
   kinds with many values lose a value or two at 0.01, as any spectrum does whose smallest values
   each hold less than 1% of the energy.

   The same spec gives the same files from the same build; other platforms may differ in the last
   bits (the normal draws go through libm's log and cos). Thread-safe for distinct directories. */
#ifndef SS_TOOL_MLA_SYNTH_H
#define SS_TOOL_MLA_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "../subspace.h"

typedef struct mla_synth_spec {
    int layers, heads, hidden, q_lora, kv_lora, qk_nope, qk_rope, v_head;
    int shards;       /* files to spread the tensors over; 1: a single model.safetensors */
    int fp8;          /* 1: projections as F8_E4M3 + F32 scale_inv; 0: F32 */
    uint64_t seed;
    int planted_rank; /* R, 1..min(qk_nope, v_head, kv_lora) */
    int random;       /* 1: no planted structure; every projection entry Gaussian, root mean
                         square 0.02 (what a timing at real sizes needs: the orthonormal sets
                         behind the planted spectra cost O(n^3) to draw at DeepSeek-V3's
                         sizes); the norm gains as above */
} mla_synth_spec;

/* 3 layers, 4 heads, hidden 320, q_lora 192, kv_lora 160, nope 32, rope 16, v 32, 2 shards, fp8,
   seed 1, planted rank 5. */
void mla_synth_default(mla_synth_spec *spec);
/* DeepSeek-V3's attention sizes (SPEC 4.4): 128 heads, hidden 7168, q_lora 1536, kv_lora 512,
   nope 128, rope 64, v 128, with random entries (spec->random = 1), fp8, one shard per layer; the
   layer count stays as given (61 in the real model, about 190 MB per layer in FP8). */
void mla_synth_deepseek_v3(mla_synth_spec *spec, int layers);

/* Write the checkpoint into dir (crash-safe: each file through an ss_writer). Returns 0, or
   prints "ss: ..." to stderr and returns -1 (a bad spec, an I/O failure). */
int mla_synth_write(const char *dir, const mla_synth_spec *spec);

/* What each tensor is (the index in a layer's list of eight). */
enum {
    MLA_SYNTH_INPUT_NORM, MLA_SYNTH_Q_A, MLA_SYNTH_Q_A_NORM, MLA_SYNTH_Q_B, MLA_SYNTH_KV_A,
    MLA_SYNTH_KV_A_NORM, MLA_SYNTH_KV_B, MLA_SYNTH_O, MLA_SYNTH_KINDS
};

/* One tensor of the checkpoint. */
typedef struct mla_synth_tensor {
    char name[SS_MAX_NAME];
    ss_dtype dtype; /* as stored */
    int ndim;       /* 1 or 2 */
    int shape[2];   /* outermost first; shape[1] = 1 for 1-D */
    int layer, kind;
    int is_scale;   /* 1: the "<weight>_scale_inv" of kind's weight */
    int shard;      /* 0-based file number */
} mla_synth_tensor;

/* The checkpoint's tensors in file order (at most max into list; list may be NULL to count).
   Returns the count, or -1 for a bad spec (after printing why). */
int mla_synth_list(const mla_synth_spec *spec, mla_synth_tensor *list, int max);
/* The values of tensor t as floats, shape[0] * shape[1] of them. stored = 1: what a reader of the
   file gets (BF16-rounded gains; FP8 codes times their block's scale; the scales themselves for
   a scale_inv); stored = 0: the planted values before any rounding. Returns 0, or -1 when out of
   memory (after printing why). */
int mla_synth_values(const mla_synth_spec *spec, const mla_synth_tensor *t, int stored,
                     float *out);

/* float -> E4M3 ("e4m3fn") code: round to nearest, ties to even; beyond +-448 (infinities too)
   saturates to +-448; NaN gives the NaN code with x's sign. */
uint8_t mla_synth_f32_to_e4m3(float x);
/* float -> BF16: round to nearest, ties to even (overflowing to infinity as IEEE does); NaN stays
   a quiet NaN. */
uint16_t mla_synth_f32_to_bf16(float x);

#endif
