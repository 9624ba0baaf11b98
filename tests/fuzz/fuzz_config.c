/* fuzz_config.c - libFuzzer target: the JSON reader, ss_config_from_json and the tool's
   `--set KEY=VALUE` overrides (config_apply_sets in tools/config.c).
   Input: JSON text, optionally followed by a line "%%" and override lines ("model.x=3"), one a
   line. Properties checked:
   - a parse either succeeds with a consistent tree (children point back at their parent, every
     string and key NUL-terminated at its length and valid UTF-8, offsets inside the text) or
     fails with SS_ERR_FORMAT, a detail, and a zeroed doc;
   - writing a parsed document and parsing it again gives the same tree (types, numbers, strings);
   - a "model" object that ss_config_from_json accepts validates, and writing the config and
     reading it back gives the same struct; a refused one has a detail;
   - config_apply_sets either fails with a message, or gives JSON that parses and that a second
     pass without overrides rewrites byte for byte (the output is a fixed point);
   - the same lines as sweeps (config_expand_sweeps) either fail with a message or expand into
     combos of one set per sweep, which apply or fail cleanly; config_format_string_set's
     "key=\"VALUE\"" gives the key exactly the string VALUE.
   Every input runs twice: once as is, once with one allocation of the library failing.
   clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined tests/fuzz/fuzz_config.c -lm */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_hooks.h"
#define SS_IMPLEMENTATION
#include "../../subspace.h"
#include "fuzz_util.h"
#include "../../tools/config.c"

#define FZ_MAX_SETS 8

/* The tree under v is consistent: parent links, child counts, strings, offsets. */
static void check_tree(const ss_json *v, const ss_json *parent, size_t len) {
    size_t i;
    FZ_CHECK(v->parent == parent, "parent link");
    FZ_CHECK(v->offset < len, "value offset inside the text");
    FZ_CHECK((v->key != NULL) == (parent && parent->type == SS_JSON_OBJECT), "key iff in object");
    if (v->key) {
        FZ_CHECK(v->key[v->key_length] == '\0', "key NUL-terminated");
        FZ_CHECK(fz_utf8_valid((const unsigned char *)v->key, v->key_length), "key is UTF-8");
    }
    switch (v->type) {
    case SS_JSON_STRING:
        FZ_CHECK(v->string && v->string[v->length] == '\0', "string NUL-terminated");
        FZ_CHECK(fz_utf8_valid((const unsigned char *)v->string, v->length), "string is UTF-8");
        break;
    case SS_JSON_NUMBER:
        FZ_CHECK(v->number - v->number == 0.0, "number finite");
        if (v->is_integer) FZ_CHECK((double)v->integer == v->number, "integer matches number");
        break;
    case SS_JSON_BOOL: FZ_CHECK(v->boolean == 0 || v->boolean == 1, "bool 0 or 1"); break;
    case SS_JSON_ARRAY:
    case SS_JSON_OBJECT:
        FZ_CHECK(ss_json_count(v) == v->length, "count");
        for (i = 0; i < v->length; i++) {
            FZ_CHECK(ss_json_at(v, i) == &v->children[i], "at");
            check_tree(&v->children[i], v, len);
        }
        FZ_CHECK(ss_json_at(v, v->length) == NULL, "at past the end");
        break;
    case SS_JSON_NULL: break;
    }
}

/* Two trees hold the same values (a number written and read back keeps its value; a non-integer
   -0.0 stays negative). */
static int same_tree(const ss_json *a, const ss_json *b) {
    size_t i;
    if (a->type != b->type) return 0;
    if (a->key_length != b->key_length || (a->key && memcmp(a->key, b->key, a->key_length) != 0))
        return 0;
    switch (a->type) {
    case SS_JSON_NULL: return 1;
    case SS_JSON_BOOL: return a->boolean == b->boolean;
    case SS_JSON_NUMBER:
        /* integer literals compare as integers: "-0" is written back as the integer 0 */
        if (a->is_integer && b->is_integer) return a->integer == b->integer;
        return a->number == b->number && signbit(a->number) == signbit(b->number);
    case SS_JSON_STRING:
        return a->length == b->length && memcmp(a->string, b->string, a->length) == 0;
    case SS_JSON_ARRAY:
    case SS_JSON_OBJECT:
        if (a->length != b->length) return 0;
        for (i = 0; i < a->length; i++)
            if (!same_tree(&a->children[i], &b->children[i])) return 0;
        return 1;
    }
    return 0;
}

/* Any object member whose key holds a NUL byte (the writer cannot take those). */
static int has_nul_key(const ss_json *v) {
    size_t i;
    if (v->key && strlen(v->key) != v->key_length) return 1;
    for (i = 0; i < ss_json_count(v); i++)
        if (has_nul_key(&v->children[i])) return 1;
    return 0;
}

/* Write the document (config_json_copy), parse it again and compare. */
static void check_round_trip(const ss_json *root) {
    ss_json_writer w;
    ss_json_doc again;
    ss_result r;
    if (has_nul_key(root)) return;
    ss_json_writer_init(&w, (int)(root->length & 1)); /* pretty or compact */
    FZ_CHECK(config_json_copy(&w, root) == 0, "copy of a document without NUL keys");
    r = ss_json_writer_finish(&w);
    fz_check_ok(r, "writing a parsed document");
    if (r == SS_OK) {
        r = ss_json_parse(&again, w.text, w.length, "again");
        fz_check_ok(r, "parsing what the writer wrote");
        if (r == SS_OK) FZ_CHECK(same_tree(root, ss_json_root(&again)), "write/parse round trip");
        ss_json_doc_free(&again);
    }
    ss_json_writer_free(&w);
}

/* ss_config_from_json on the "model" member (or the root itself). */
static void check_config(const ss_json *root) {
    const ss_json *model = ss_json_get(root, "model");
    ss_config cfg, back;
    ss_json_writer w;
    ss_json_doc doc;
    ss_result r;
    if (!model) model = root;
    fz_clear_detail();
    r = ss_config_from_json(&cfg, model);
    if (r != SS_OK) {
        fz_check_error(r, "ss_config_from_json refusal");
        FZ_CHECK(r == SS_ERR_FORMAT || r == SS_ERR_INVALID, "config error code");
        return;
    }
    FZ_CHECK(ss_config_validate(&cfg) == SS_OK, "an accepted config validates");
    ss_json_writer_init(&w, 0);
    r = ss_config_write_json(&cfg, &w);
    if (r == SS_OK) r = ss_json_writer_finish(&w);
    fz_check_ok(r, "writing an accepted config");
    if (r == SS_OK) {
        r = ss_json_parse(&doc, w.text, w.length, "config-again");
        fz_check_ok(r, "parsing a written config");
        if (r == SS_OK) {
            r = ss_config_from_json(&back, ss_json_root(&doc));
            fz_check_ok(r, "reading a written config");
            if (r == SS_OK) FZ_CHECK(memcmp(&cfg, &back, sizeof cfg) == 0, "config round trip");
        }
        ss_json_doc_free(&doc);
    }
    ss_json_writer_free(&w);
}

/* The overrides: apply, then check the result is a fixed point of a second pass. */
static void check_sets(const char *json, size_t json_len, const char *const *sets, int n_sets) {
    char err[256], *out = NULL, *again = NULL;
    int rc;
    err[0] = 'x';
    rc = config_apply_sets(json, json_len, "fuzz.json", sets, n_sets, &out, err, sizeof err);
    if (rc != 0) {
        FZ_CHECK(rc == -1 && out == NULL, "failure leaves no output");
        FZ_CHECK(err[0] != '\0', "failure has a message");
        return;
    }
    FZ_CHECK(out != NULL && strlen(out) > 0 && out[strlen(out) - 1] == '\n', "output text");
    rc = config_apply_sets(out, strlen(out), "out", NULL, 0, &again, err, sizeof err);
    if (rc == 0) {
        FZ_CHECK(strcmp(out, again) == 0, "rewriting the output changes nothing");
    } else {
        FZ_CHECK(fz_alloc_failed, "the output of config_apply_sets parses again");
    }
    free(again);
    free(out);
}

/* The same lines as sweeps "key=v1,v2": the product of the value counts as combos, each with one
   set per sweep, in sweep order; the first and last combos applied to the document. */
static void check_sweeps(const char *json, size_t json_len, const char *const *sweeps, int n) {
    config_combo *combos = NULL;
    char err[256], *out = NULL;
    int n_out = -1, rc, k, j;
    err[0] = 'x';
    rc = config_expand_sweeps(sweeps, n, &combos, &n_out, err, sizeof err);
    if (rc != 0) {
        FZ_CHECK(rc == -1 && combos == NULL && n_out == 0 && err[0] != '\0', "sweep refusal");
        return;
    }
    FZ_CHECK(combos != NULL && n_out >= 1 && n_out <= CONFIG_MAX_COMBOS, "combos");
    if (n == 0) FZ_CHECK(n_out == 1 && combos[0].n_sets == 0 && combos[0].name[0] == '\0', "none");
    for (k = 0; k < n_out; k++) {
        FZ_CHECK(combos[k].n_sets == n && combos[k].name != NULL, "one set per sweep, a name");
        for (j = 0; j < n; j++) {
            size_t key_len = (size_t)(strchr(sweeps[j], '=') - sweeps[j]);
            FZ_CHECK(strncmp(combos[k].sets[j], sweeps[j], key_len + 1) == 0, "set of sweep j");
        }
    }
    for (k = 0; k < n_out; k += n_out > 1 ? n_out - 1 : 1) {
        rc = config_apply_sets(json, json_len, "fuzz.json", (const char *const *)combos[k].sets,
                               combos[k].n_sets, &out, err, sizeof err);
        FZ_CHECK(rc == 0 ? out != NULL : out == NULL && err[0] != '\0', "a combo applies or not");
        free(out);
        out = NULL;
    }
    config_combos_free(combos, n_out);
}

/* "key=VALUE" made by config_format_string_set sets key to the string VALUE, whatever it
   looks like. */
static void check_string_set(const char *json, size_t json_len, const char *set) {
    const char *eq = strchr(set, '=');
    char key[128], err[256], *fmt, *out = NULL;
    size_t key_len;
    const ss_json *v;
    ss_json_doc doc;
    if (!eq || (key_len = (size_t)(eq - set)) >= sizeof key) return;
    memcpy(key, set, key_len);
    key[key_len] = '\0';
    fmt = config_format_string_set(key, eq + 1);
    if (!fmt) {
        FZ_CHECK(!fz_utf8_valid((const unsigned char *)eq + 1, strlen(eq + 1)) || fz_alloc_failed,
                 "a UTF-8 value can be set as a string");
        return;
    }
    if (config_apply_sets(json, json_len, "fuzz.json", (const char *const *)&fmt, 1, &out, err,
                          sizeof err) == 0) {
        if (ss_json_parse(&doc, out, strlen(out), "out") == SS_OK) {
            v = cfg_find(ss_json_root(&doc), "out", key, key_len, err, sizeof err);
            FZ_CHECK(v && v->type == SS_JSON_STRING && strcmp(v->string, eq + 1) == 0,
                     "the key now holds the string");
        } else {
            FZ_CHECK(fz_alloc_failed, "the output parses");
        }
        ss_json_doc_free(&doc);
        free(out);
    }
    free(fmt);
}

static void one(const uint8_t *data, size_t size) {
    char *copy = (char *)malloc(size + 1), *sep, *line;
    const char *sets[FZ_MAX_SETS];
    size_t json_len = size;
    int n_sets = 0;
    ss_json_doc doc;
    ss_result r;
    if (!copy) return;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* "JSON\n%%\nset\nset..." (the sets part holds no NUL: the strings end at the first one) */
    sep = size >= 4 ? strstr(copy, "\n%%\n") : NULL;
    if (sep && (size_t)(sep - copy) < size) {
        json_len = (size_t)(sep - copy) + 1;
        line = sep + 4;
        while (*line && n_sets < FZ_MAX_SETS) {
            char *nl = strchr(line, '\n');
            sets[n_sets++] = line;
            if (!nl) break;
            *nl = '\0';
            line = nl + 1;
        }
    }

    fz_clear_detail();
    r = ss_json_parse(&doc, copy, json_len, "fuzz.json");
    if (r != SS_OK) {
        fz_check_error(r, "ss_json_parse refusal");
        FZ_CHECK(r == SS_ERR_FORMAT || (fz_alloc_failed && r == SS_ERR_NOMEM), "parse error code");
        FZ_CHECK(doc.nodes == NULL && doc.count == 0 && doc.strings == NULL, "failed doc zeroed");
    } else {
        const ss_json *root = ss_json_root(&doc);
        FZ_CHECK(root == doc.nodes && doc.count > 0, "root");
        check_tree(root, NULL, json_len);
        check_round_trip(root);
        check_config(root);
    }
    ss_json_doc_free(&doc);
    FZ_CHECK(doc.nodes == NULL && doc.count == 0, "freed doc zeroed");
    check_sets(copy, json_len, sets, n_sets);
    check_sweeps(copy, json_len, sets, n_sets);
    if (n_sets > 0) check_string_set(copy, json_len, sets[0]);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_run_with_failures(one, data, size);
    return 0;
}
