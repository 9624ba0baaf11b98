/* tools/cmd_synth_mla.c - a synthetic MLA checkpoint in DeepSeek-V3's layout:
     ss synth-mla --out DIR [--layers N] [--heads H] [--seed S] [--no-fp8] [--shards N] [--rank R]
                  [--deepseek-v3]
   writes DIR/config.json and the safetensors shards with DIR/model.safetensors.index.json (or one
   DIR/model.safetensors with --shards 1): FP8 E4M3 projections with 128x128 block scales, BF16
   norms, K and V heads of planted rank R. What is planted, and what an SVD analysis should find,
   is in tools/mla_synth.h. The other dimensions are fixed small values that are not multiples of
   128 (hidden 320, q_lora 192, kv_lora 160, nope 32, rope 16, v 32). --deepseek-v3 writes
   DeepSeek-V3's real attention sizes with random entries instead, for timing `ss svd`. */
#include <stdio.h>
#include <string.h>
#include "ss.h"
#include "mla_synth.h"

int cmd_synth_mla(int argc, char **argv) {
    tool_opt opts[] = {
        {"--out", 1, "directory to write (created if missing; its parent must exist)", NULL},
        {"--layers", 1, "layers (default 3)", NULL},
        {"--heads", 1, "attention heads (default 4)", NULL},
        {"--seed", 1, "random seed (default 1)", NULL},
        {"--no-fp8", 0, "projections as F32 instead of F8_E4M3 with block scales", NULL},
        {"--shards", 1, "safetensors files (default 2, with an index; 1: model.safetensors)", NULL},
        {"--rank", 1, "rank planted into every K and V head (default 5, at most 32)", NULL},
        {"--deepseek-v3", 0, "DeepSeek-V3's sizes (128 heads, hidden 7168, ...), random "
                             "entries, one shard per layer (--layers default 1): for timings",
         NULL},
        {"--quiet", 0, "print nothing but errors", NULL},
        {"--help", 0, "this text", NULL},
    };
    const int n_opts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[1];
    mla_synth_spec spec;
    int n_pos, seed, count;
    double t0 = ss_time_seconds();
    if (!tool_parse("synth-mla", argc, argv, 2, opts, n_opts, pos, 0, &n_pos)) return 2;
    if (opts[9].value) {
        tool_usage("synth-mla", "--out DIR [options]", opts, n_opts);
        printf("Writes a small MLA checkpoint as DeepSeek-V3 publishes them (config.json, FP8\n"
               "E4M3 weights with F32 <name>_scale_inv per 128x128 block, BF16 norms, shards and\n"
               "model.safetensors.index.json) with known structure: every head's K and V of rank\n"
               "exactly R, Q and O heads of full rank. `ss svd --model DIR` should find rank R\n"
               "for K, V, KQ and VO heads. The same seed gives the same bytes.\n");
        return 0;
    }
    if (!opts[0].value || !*opts[0].value) {
        fprintf(stderr, "ss synth-mla: --out DIR is required (see ss synth-mla --help)\n");
        return 2;
    }
    if (opts[7].value)
        mla_synth_deepseek_v3(&spec, 1);
    else
        mla_synth_default(&spec);
    if (!tool_opt_int(&opts[1], spec.layers, 1, 1000, &spec.layers) ||
        !tool_opt_int(&opts[2], spec.heads, 1, 1024, &spec.heads) ||
        !tool_opt_int(&opts[3], 1, 0, 2147483647, &seed) ||
        !tool_opt_int(&opts[5], spec.shards, 1, 99999, &spec.shards) ||
        !tool_opt_int(&opts[6], spec.planted_rank, 1, 32, &spec.planted_rank))
        return 2;
    if (opts[7].value && !opts[5].value) spec.shards = spec.layers; /* one file per layer */
    spec.seed = (uint64_t)seed;
    spec.fp8 = opts[4].value == NULL;
    count = mla_synth_list(&spec, NULL, 0);
    if (count < 0) return 2;
    if (mla_synth_write(opts[0].value, &spec) != 0) return 1;
    if (opts[8].value) return 0;
    printf("%s: %d layers, %d heads, %d tensors (%s) in %d file%s%s, %s %d\n",
           opts[0].value, spec.layers, spec.heads, count,
           spec.fp8 ? "F8_E4M3 projections with scale_inv, BF16 norms"
                    : "F32 projections, BF16 norms",
           spec.shards, spec.shards > 1 ? "s" : "",
           spec.shards > 1 ? " + model.safetensors.index.json" : " (model.safetensors)",
           spec.random ? "random entries, hidden" : "planted rank",
           spec.random ? spec.hidden : spec.planted_rank);
    printf("done in %.2f s\n", ss_time_seconds() - t0);
    return 0;
}
