/* tools/ss.c - the `ss` command: dispatch to one sub-command per tools/cmd_*.c file.
   This file holds the library's implementation for the whole tool. */
#define SS_IMPLEMENTATION
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "ss.h"

typedef struct tool_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} tool_command;

static int cmd_version(int argc, char **argv) {
    (void)argc, (void)argv;
    printf("%s\n", ss_build_info());
    return 0;
}

static int cmd_help(int argc, char **argv);

static const tool_command commands[] = {
    {"pretrain", cmd_pretrain, "pre-train an encoder (masked LM) or decoder (--objective clm) from a config"},
    {"finetune", cmd_finetune, "fine-tune a pre-trained encoder on sentence classification (GLUE TSV)"},
    {"compare", cmd_compare, "pre-train and fine-tune several configs with several seeds; the results table"},
    {"data", cmd_data, "write the built-in synthetic data set and its vocabulary: `ss data --out DIR`"},
    {"config", cmd_config, "config files: `ss config new NAME --base C --set KEY=VALUE`, `ss config show C`"},
    {"svd", cmd_svd, "singular values and effective ranks of attention: DeepSeek-V3/Kimi-K2 or our checkpoints"},
    {"synth-mla", cmd_synth_mla, "write a small synthetic DeepSeek-layout MLA checkpoint with planted ranks"},
    {"params", cmd_params, "the tensors, parameter count and memory of a config's model"},
    {"bench", cmd_bench, "benchmarks: `ss bench gemm` (matrix products), `ss bench train` (training update), `ss bench step`, `ss bench tokenize`, `ss bench attention` (MHA/MLA/MLA-o layer)"},
    {"tokenize", cmd_tokenize, "token ids of each line of a text: `ss tokenize --vocab vocab.txt [FILE]`"},
    {"vocab", cmd_vocab, "train a WordPiece vocabulary: `ss vocab train --size N --out vocab.txt FILES`"},
    {"version", cmd_version, "print the library version and what this build runs on"},
    {"help", cmd_help, "this list"},
};
#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

static int cmd_help(int argc, char **argv) {
    int i;
    (void)argc, (void)argv;
    printf("ss - train, measure and take apart MHA, MLA and MLA-o attention (%s)\n\n",
           ss_build_info());
    printf("usage: ss <command> [options]    (ss <command> --help for its options)\n\n");
    for (i = 0; i < N_COMMANDS; i++) printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    return 0;
}

int main(int argc, char **argv) {
    int i;
#ifdef SIGXFSZ
    /* Past a file-size limit (ulimit -f) a write then fails with EFBIG, which the writers report
       naming the file, instead of the signal ending the process without a word. */
    signal(SIGXFSZ, SIG_IGN);
#endif
    if (argc < 2) {
        cmd_help(argc, argv);
        return 2;
    }
    for (i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc, argv);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return cmd_help(argc, argv);
    if (strcmp(argv[1], "--version") == 0) return cmd_version(argc, argv);
    fprintf(stderr, "ss: unknown command '%s' (ss help lists them)\n", argv[1]);
    return 2;
}
