/* test_bench_flops.c - the FLOP count behind `ss bench train`'s GFLOP/s (bench_train_flops in
   tools/cmd_bench_train.c) against counts worked out by hand from the seed's shapes (SPEC.md):
   hidden D = 256, 6 layers, SwiGLU width F = 1024, H = 8 heads of Dh = 32, vocabulary
   V = 30522, batch 32 x 128 = 4096 rows of which 614 are scored. Per row, a weight (out, in)
   costs 2*out*in forward and 4*out*in backward; the attention core 12*B*H*T^2*Dh per layer; the
   tied output projection 6*D*V per scored row.
   cc -std=c99 -O2 -o test_bench_flops tests/test_bench_flops.c -lm && ./test_bench_flops (repo root) */
#define _POSIX_C_SOURCE 200809L
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#include "../tools/common.c"
#include "../tools/cmd_bench_train.c"

static double flops_of(const char *path, int vocab_subspace, int kept) {
    ss_config cfg;
    ss_model model;
    double f = -1.0;
    memset(&model, 0, sizeof model);
    if (ss_config_load(&cfg, path) != SS_OK) return -1.0;
    if (vocab_subspace) cfg.vocab_subspace = 1, cfg.vocab_rank = 128;
    if (ss_model_init(&model, &cfg, SS_HEAD_MLM, 1, 8, 1) != SS_OK) return -1.0; /* small buffers */
    f = bench_train_flops(&cfg, &model.params, 32, 128, kept);
    ss_model_free(&model);
    return f;
}

static void check(const char *what, double got, double want) {
    test_true(fabs(got - want) <= 1e-9 * want, what);
    if (fabs(got - want) > 1e-9 * want) printf("   got %.0f, want %.0f\n", got, want);
}

int main(void) {
    const double N = 4096, D = 256, F = 1024, L = 6, HD = 8 * 32, V = 30522, kept = 614;
    const double ffn = 3 * D * F;                          /* W_in, W_gate, W_out */
    const double core = 12.0 * 32 * 8 * 128.0 * 128 * 32;  /* per layer */
    const double lm = 6 * kept * D * V;
    /* MHA: fused q, k, v (3 HD x D) and o (D x HD) */
    const double mha = 6 * N * L * (3 * HD * D + D * HD + ffn) + L * core + lm;
    /* MLA, latents q 64, kv 32: q_a and kv_a fused (96 x D), q_b (HD x 64), kv_b (2 HD x 32), o */
    const double mla = 6 * N * L * (96 * D + HD * 64 + 2 * HD * 32 + D * HD + ffn) + L * core + lm;
    /* MLA-o: o = o_b (D x 64) o_a (64 x HD) instead of o (D x HD) */
    const double mlao = 6 * N * L * (96 * D + HD * 64 + 2 * HD * 32 + 64 * HD + D * 64 + ffn) +
                        L * core + lm;
    /* vocabulary subspace, rank 128: the table is (V, 128) and vocab_proj (D, 128) maps its rows
       to D on all rows and, on the output side, the scored rows back to 128 */
    const double mlao_vs = mlao - lm + 6 * N * D * 128 + 6 * kept * (D * 128 + 128 * V);
    check("flops: mha_rope_baseline, 193.2 GFLOP per update", flops_of("configs/mha_rope_baseline.json", 0, 614), mha);
    check("flops: best_mla", flops_of("configs/best_mla.json", 0, 614), mla);
    check("flops: best_mla-o", flops_of("configs/best_mla-o.json", 0, 614), mlao);
    check("flops: best_mla-o with the vocabulary subspace", flops_of("configs/best_mla-o.json", 1, 614), mlao_vs);
    check("flops: no scored row, no output projection", flops_of("configs/best_mla-o.json", 0, 0), mlao - lm);
    test_true(mha > 193.0e9 && mha < 193.5e9 && mlao > 167.5e9 && mlao < 168.0e9,
              "flops: the counts are the performance issue's 168-193 GFLOP per update");
    return test_summary("test_bench_flops");
}
