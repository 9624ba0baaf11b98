/* tools/cmd_config.c - config files (SPEC 2.8, the seed's configs/create_new_config.py):
     ss config new NAME --base B.json [--shorthand S] [--notes N] [--set KEY=VALUE]... [--out PATH]
     ss config show C.json [--set KEY=VALUE]...
   `new` copies B, replaces shorthand and notes when given, sets pre_train.output_dir to
   checkpoints/NAME, applies the overrides (keys must already exist), checks the model section
   with the library and writes NAME.json next to B. `show` prints a config after overrides.
   Overrides are parsed as JSON, falling back to a plain string (tools/config.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "ss.h"

/* Read path with sets and check its "model" section as ss_config_load would; on success doc,
   *text and *cfg hold the result. Prints the reason and returns 0 on failure. */
static int config_load_checked(const char *cmd, const char *path, const char *const *sets,
                               int n_sets, ss_json_doc *doc, char **text, ss_config *cfg) {
    char err[1024];
    const ss_json *model;
    if (config_read(path, sets, n_sets, doc, text, err, sizeof err) != 0) {
        fprintf(stderr, "ss config %s: %s\n", cmd, err);
        return 0;
    }
    model = ss_json_get(ss_json_root(doc), "model");
    if (!model)
        fprintf(stderr, "ss config %s: %s: no \"model\" object at the top level\n", cmd, path);
    else if (ss_config_from_json(cfg, model) != SS_OK)
        fprintf(stderr, "ss config %s: %s\n", cmd, ss_last_error_detail());
    else
        return 1;
    ss_json_doc_free(doc);
    free(*text);
    *text = NULL;
    return 0;
}

/* ---- ss config new --------------------------------------------------------------------------- */

enum { NEW_BASE, NEW_SHORTHAND, NEW_NOTES, NEW_SET, NEW_OUT, NEW_FORCE, NEW_HELP, NEW_N };

static int config_new(int argc, char **argv) {
    tool_opt opts[NEW_N] = {
        {"--base", 1, "the config to start from (required); NAME.json is written next to it", NULL},
        {"--shorthand", 1, "the new \"shorthand\" (a string)", NULL},
        {"--notes", 1, "the new \"notes\" (a string)", NULL},
        {"--set", 1, "KEY=VALUE (repeatable): an existing dotted key, model.o_latent_dim=64; "
                     "VALUE is JSON, else a plain string", NULL, 1},
        {"--out", 1, "write here instead of next to the base config", NULL},
        {"--force", 0, "overwrite an existing file", NULL},
        {"--help", 0, "this text", NULL},
    };
    const char *pos[1], *sets[3 + TOOL_MAX_VALUES];
    char *owned[3] = {NULL, NULL, NULL}, *text = NULL, *out_path = NULL, *output_dir;
    int n_pos, n_sets = 0, n_owned = 0, i, status = 1;
    size_t name_len;
    ss_json_doc doc;
    ss_config cfg;
    ss_model_sizes sizes;
    ss_result r;
    FILE *f;
    memset(&doc, 0, sizeof doc);
    if (!tool_parse("config new", argc, argv, 3, opts, NEW_N, pos, 1, &n_pos)) return 2;
    if (opts[NEW_HELP].value || n_pos != 1 || !opts[NEW_BASE].value) {
        tool_usage("config new", "NAME --base B.json [options]", opts, NEW_N);
        if (!opts[NEW_HELP].value)
            fprintf(stderr, "ss config new: %s\n",
                    n_pos != 1 ? "give one NAME" : "--base is required");
        return opts[NEW_HELP].value ? 0 : 2;
    }
    name_len = strlen(pos[0]);
    if (name_len == 0 || strchr(pos[0], '/') || strchr(pos[0], '\\') ||
        (name_len >= 5 && strcmp(pos[0] + name_len - 5, ".json") == 0)) {
        fprintf(stderr, "ss config new: NAME '%s' must be a bare name such as mla_wide (no "
                "directory, no .json; --out PATH chooses another place)\n", pos[0]);
        return 2;
    }
    /* the seed's order: shorthand and notes, then output_dir, then the overrides (so an explicit
       --set pre_train.output_dir=... wins) */
    if (opts[NEW_SHORTHAND].value)
        owned[n_owned++] = config_format_string_set("shorthand", opts[NEW_SHORTHAND].value);
    if (opts[NEW_NOTES].value)
        owned[n_owned++] = config_format_string_set("notes", opts[NEW_NOTES].value);
    output_dir = (char *)malloc(sizeof "checkpoints/" + name_len);
    if (output_dir) sprintf(output_dir, "checkpoints/%s", pos[0]);
    owned[n_owned++] =
        output_dir ? config_format_string_set("pre_train.output_dir", output_dir) : NULL;
    free(output_dir);
    for (i = 0; i < n_owned; i++) {
        if (!owned[i]) {
            fprintf(stderr, "ss config new: out of memory, or a value is not valid UTF-8\n");
            goto done;
        }
        sets[n_sets++] = owned[i];
    }
    for (i = 0; i < opts[NEW_SET].n_values; i++) sets[n_sets++] = opts[NEW_SET].values[i];

    if (opts[NEW_OUT].value) {
        out_path = (char *)malloc(strlen(opts[NEW_OUT].value) + 1);
        if (out_path) strcpy(out_path, opts[NEW_OUT].value);
    } else { /* NAME.json in the base config's directory */
        const char *base = opts[NEW_BASE].value, *slash = strrchr(base, '/');
        size_t dir_len = slash ? (size_t)(slash - base) + 1 : 0;
        out_path = (char *)malloc(dir_len + name_len + sizeof ".json");
        if (out_path) sprintf(out_path, "%.*s%s.json", (int)dir_len, base, pos[0]);
    }
    if (!out_path) {
        fprintf(stderr, "ss config new: out of memory\n");
        goto done;
    }
    if (!opts[NEW_FORCE].value && (f = fopen(out_path, "rb")) != NULL) {
        fclose(f);
        fprintf(stderr, "ss config new: %s exists (--force overwrites it)\n", out_path);
        goto done;
    }
    if (!config_load_checked("new", opts[NEW_BASE].value, sets, n_sets, &doc, &text, &cfg))
        goto done;
    r = ss_model_memory_size(&sizes, &cfg, SS_HEAD_MLM, 1, 1);
    if (r != SS_OK) {
        fprintf(stderr, "ss config new: %s: %s\n", ss_result_string(r), ss_last_error_detail());
        goto done;
    }
    r = ss_file_write_atomic(out_path, text, strlen(text));
    if (r != SS_OK) {
        fprintf(stderr, "ss config new: %s\n", ss_last_error_detail());
        goto done;
    }
    printf("wrote %s: %zu parameters = %.2fM (binary, as the seed prints) = %.2f million\n",
           out_path, sizes.param_count, (double)sizes.param_count / 1048576.0,
           (double)sizes.param_count / 1e6);
    status = 0;
done:
    for (i = 0; i < n_owned; i++) free(owned[i]);
    free(out_path);
    free(text);
    ss_json_doc_free(&doc);
    return status;
}

/* ---- ss config show -------------------------------------------------------------------------- */

enum { SHOW_SET, SHOW_HELP, SHOW_N };

static int config_show(int argc, char **argv) {
    tool_opt opts[SHOW_N] = {
        {"--set", 1, "KEY=VALUE (repeatable): an existing dotted key, model.o_latent_dim=64; "
                     "VALUE is JSON, else a plain string", NULL, 1},
        {"--help", 0, "this text", NULL},
    };
    const char *pos[1];
    char *text = NULL;
    int n_pos;
    ss_json_doc doc;
    ss_config cfg;
    if (!tool_parse("config show", argc, argv, 3, opts, SHOW_N, pos, 1, &n_pos)) return 2;
    if (opts[SHOW_HELP].value || n_pos != 1) {
        tool_usage("config show", "CONFIG.json [--set KEY=VALUE]...", opts, SHOW_N);
        printf("Prints the config after the overrides, once its model section has been checked.\n");
        return opts[SHOW_HELP].value ? 0 : 2;
    }
    if (!config_load_checked("show", pos[0], opts[SHOW_SET].values, opts[SHOW_SET].n_values, &doc,
                             &text, &cfg))
        return 1;
    fputs(text, stdout);
    free(text);
    ss_json_doc_free(&doc);
    return 0;
}

int cmd_config(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[2], "new") == 0) return config_new(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "show") == 0) return config_show(argc, argv);
    printf("usage: ss config new NAME --base B.json [--shorthand S] [--notes N] "
           "[--set KEY=VALUE]...\n"
           "       ss config show CONFIG.json [--set KEY=VALUE]...\n"
           "  new   write NAME.json: B with new shorthand/notes, pre_train.output_dir "
           "checkpoints/NAME\n        and the overrides (ss config new --help)\n"
           "  show  print a config after overrides, once checked\n");
    if (argc >= 3 && strcmp(argv[2], "--help") != 0 && strcmp(argv[2], "help") != 0) {
        fprintf(stderr, "ss config: unknown sub-command '%s'\n", argv[2]);
        return 2;
    }
    return argc >= 3 ? 0 : 2;
}
