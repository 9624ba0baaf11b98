/* test_cfgtool.c - the `ss` tool's config side (tools/config.c) and its repeatable options
   (tools/common.c): overrides of every JSON type read back exactly, keys that do not exist and
   type changes are refused with the key named, malformed overrides and documents are reported
   with where they went wrong, sweeps expand in order with their names and limits, and tool_parse
   collects a repeated option up to its limit.
   cc -std=c99 -O2 -o test_cfgtool tests/test_cfgtool.c -lm && ./test_cfgtool    (repo root) */
#define _POSIX_C_SOURCE 200809L /* tools/common.c uses isatty and fileno */
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#include "../tools/config.c"
#include "../tools/common.c"

/* A small config in the form config_apply_sets writes (2-space indent, one member a line). */
static const char base_text[] =
    "{\n"
    "  \"shorthand\": \"s\",\n"
    "  \"notes\": \"n\",\n"
    "  \"model\": {\n"
    "    \"hidden_size\": 64,\n"
    "    \"dropout\": 0.1,\n"
    "    \"bias\": false,\n"
    "    \"rank\": null,\n"
    "    \"backend\": \"sdpa\",\n"
    "    \"sub\": {\n"
    "      \"deep\": {\n"
    "        \"x\": 1\n"
    "      }\n"
    "    },\n"
    "    \"list\": [\n"
    "      1,\n"
    "      2\n"
    "    ],\n"
    "    \"empty\": {}\n"
    "  },\n"
    "  \"pre_train\": {\n"
    "    \"output_dir\": \"checkpoints/t\",\n"
    "    \"eps\": 1e-12\n"
    "  }\n"
    "}\n";

static char err[1024];

/* Apply n sets to base_text: the result (or NULL) in *out, parsed into doc when it succeeded. */
static int apply(const char *const *sets, int n, char **out, ss_json_doc *doc) {
    int rc;
    memset(doc, 0, sizeof *doc);
    err[0] = '\0';
    rc = config_apply_sets(base_text, strlen(base_text), "base.json", sets, n, out, err,
                           sizeof err);
    if (rc == 0 && ss_json_parse(doc, *out, strlen(*out), "out") != SS_OK) {
        printf("  the output does not parse: %s\n", ss_last_error_detail());
        rc = -2;
    }
    return rc;
}

static void release(char **out, ss_json_doc *doc) {
    free(*out);
    *out = NULL;
    ss_json_doc_free(doc);
}

/* The value at a dotted path under the root of doc, or NULL. */
static const ss_json *at(const ss_json_doc *doc, const char *path) {
    const ss_json *v = ss_json_root(doc);
    char copy[256], *p, *dot;
    snprintf(copy, sizeof copy, "%s", path);
    for (p = copy; v && p; p = dot ? dot + 1 : NULL) {
        dot = strchr(p, '.');
        if (dot) *dot = '\0';
        v = ss_json_get(v, p);
    }
    return v;
}

static int is_int(const ss_json *v, int64_t want) {
    return v && v->type == SS_JSON_NUMBER && v->is_integer && v->integer == want;
}

static int is_str(const ss_json *v, const char *want) {
    return v && v->type == SS_JSON_STRING && v->length == strlen(want) &&
           strcmp(v->string, want) == 0;
}

/* Whether the member at index i of the object at path is called key. */
static int key_at(const ss_json_doc *doc, const char *path, size_t i, const char *key) {
    const ss_json *m = ss_json_at(path[0] ? at(doc, path) : ss_json_root(doc), i);
    return m && strcmp(m->key, key) == 0;
}

/* Apply one override and return the value at path in the result (NULL on failure); the caller
   releases *out and doc. */
static const ss_json *apply_one(const char *set, const char *path, char **out, ss_json_doc *doc) {
    const char *sets[1];
    sets[0] = set;
    *out = NULL;
    if (apply(sets, 1, out, doc) == 0) return at(doc, path);
    printf("  '%s' failed: %s\n", set, err);
    return NULL;
}

/* Whether one override is refused with *out left NULL. */
static int refused(const char *set) {
    char *out = (char *)"untouched";
    ss_json_doc doc;
    const char *sets[1];
    int rc;
    sets[0] = set;
    memset(&doc, 0, sizeof doc);
    err[0] = '\0';
    rc = config_apply_sets(base_text, strlen(base_text), "base.json", sets, 1, &out, err,
                           sizeof err);
    if (rc == 0) free(out);
    return rc == -1 && out == NULL;
}

/* Whether the last message holds every given piece (b, c may be NULL); prints it otherwise. */
static int err_has(const char *a, const char *b, const char *c) {
    int ok = strstr(err, a) && (!b || strstr(err, b)) && (!c || strstr(err, c));
    if (!ok) printf("  message: %s\n", err);
    return ok;
}

/* ---- overrides ------------------------------------------------------------------------------- */

static void test_values(void) {
    char *out;
    ss_json_doc doc;
    const ss_json *v;

    v = apply_one("model.hidden_size=128", "model.hidden_size", &out, &doc);
    test_true(is_int(v, 128), "set: int");
    release(&out, &doc);

    v = apply_one("model.dropout=0.30000000000000004", "model.dropout", &out, &doc);
    test_true(v && v->type == SS_JSON_NUMBER && !v->is_integer && v->number == 0.1 + 0.2,
              "set: a real that needs 17 digits reads back exactly");
    release(&out, &doc);

    v = apply_one("model.hidden_size=0.5", "model.hidden_size", &out, &doc);
    test_true(v && v->type == SS_JSON_NUMBER && v->number == 0.5, "set: int to real is allowed");
    release(&out, &doc);

    v = apply_one("model.bias=true", "model.bias", &out, &doc);
    test_true(v && v->type == SS_JSON_BOOL && v->boolean == 1, "set: bool");
    release(&out, &doc);

    v = apply_one("model.hidden_size=null", "model.hidden_size", &out, &doc);
    test_true(v && v->type == SS_JSON_NULL, "set: a number to null");
    release(&out, &doc);

    v = apply_one("model.rank=16", "model.rank", &out, &doc);
    test_true(is_int(v, 16), "set: null to a number");
    release(&out, &doc);

    v = apply_one("model.backend=eager", "model.backend", &out, &doc);
    test_true(is_str(v, "eager"), "set: a plain string (not JSON)");
    release(&out, &doc);

    v = apply_one("model.backend=\"fl\\u00e4sh\"", "model.backend", &out, &doc);
    test_true(is_str(v, "fl\xc3\xa4sh"), "set: a JSON string with an escape");
    release(&out, &doc);

    v = apply_one("notes=\"a=b\"", "notes", &out, &doc);
    test_true(is_str(v, "a=b"), "set: '=' inside a JSON string value");
    release(&out, &doc);

    v = apply_one("notes=x=y", "notes", &out, &doc);
    test_true(is_str(v, "x=y"), "set: '=' inside a plain string value");
    release(&out, &doc);

    v = apply_one("notes=", "notes", &out, &doc);
    test_true(is_str(v, ""), "set: an empty value is the empty string");
    release(&out, &doc);

    v = apply_one("model.sub={\"deep\": {\"x\": 2, \"y\": [3, {\"z\": null}]}}", "model.sub.deep",
                  &out, &doc);
    test_true(v && v->type == SS_JSON_OBJECT && ss_json_count(v) == 2 &&
                  is_int(ss_json_get(v, "x"), 2) &&
                  is_int(ss_json_at(ss_json_get(v, "y"), 0), 3) &&
                  ss_json_get(ss_json_at(ss_json_get(v, "y"), 1), "z") &&
                  ss_json_get(ss_json_at(ss_json_get(v, "y"), 1), "z")->type == SS_JSON_NULL,
              "set: an object value");
    release(&out, &doc);

    v = apply_one("model.list=[3, 4, 5]", "model.list", &out, &doc);
    test_true(v && v->type == SS_JSON_ARRAY && ss_json_count(v) == 3 &&
                  is_int(ss_json_at(v, 2), 5), "set: an array value");
    release(&out, &doc);

    v = apply_one("model.sub.deep.x=7", "model.sub.deep.x", &out, &doc);
    test_true(is_int(v, 7), "set: a nested key");
    release(&out, &doc);

    v = apply_one("model.empty={}", "model.empty", &out, &doc);
    test_true(v && v->type == SS_JSON_OBJECT && ss_json_count(v) == 0, "set: an empty object");
    release(&out, &doc);
}

static void test_document(void) {
    char *out = NULL;
    ss_json_doc doc;
    const ss_json *v;
    const char *two[2];
    int rc;

    rc = apply(NULL, 0, &out, &doc);
    test_true(rc == 0 && strcmp(out, base_text) == 0,
              "no sets: the document comes back byte for byte (2-space indent, order, newline)");
    release(&out, &doc);

    two[0] = "model.hidden_size=96";
    two[1] = "pre_train.eps=2e-7";
    rc = apply(two, 2, &out, &doc);
    v = at(&doc, "pre_train.eps");
    test_true(rc == 0 && ss_json_count(ss_json_root(&doc)) == 4 && key_at(&doc, "", 2, "model") &&
                  ss_json_count(at(&doc, "model")) == 8 &&
                  key_at(&doc, "model", 0, "hidden_size") && key_at(&doc, "model", 7, "empty") &&
                  is_int(at(&doc, "model.hidden_size"), 96) && v && v->number == 2e-7 &&
                  at(&doc, "model.dropout") && at(&doc, "model.dropout")->number == 0.1 &&
                  is_str(at(&doc, "shorthand"), "s"),
              "two sets: both applied, everything else and the member order kept");
    release(&out, &doc);

    two[0] = "model.sub={\"deep\": {\"x\": 2, \"w\": 5}}";
    two[1] = "model.sub.deep.w=6";
    rc = apply(two, 2, &out, &doc);
    test_true(rc == 0 && is_int(at(&doc, "model.sub.deep.w"), 6),
              "sets apply in order: a key added by an earlier object value can be set");
    release(&out, &doc);

    two[0] = "model.hidden_size=1";
    two[1] = "model.hidden_size=2";
    rc = apply(two, 2, &out, &doc);
    test_true(rc == 0 && is_int(at(&doc, "model.hidden_size"), 2), "the last set of a key wins");
    release(&out, &doc);
}

static void test_refused(void) {
    test_true(refused("nope=1") && !strstr(err, "did you mean") &&
                  err_has("base.json", "no key 'nope'",
                          "the top level has: shorthand, notes, model, pre_train"),
              "unknown top-level key: named, with the file and the top-level keys, no guess");
    test_true(refused("model.hiden_size=1") &&
                  err_has("no key 'model.hiden_size'", "did you mean 'model.hidden_size'?",
                          "model has: hidden_size, dropout, bias, rank, backend, sub, list, "
                          "empty)"),
              "unknown nested key: named, with a suggestion and the members of model");
    test_true(refused("model.sub.deep.q=1") &&
                  err_has("no key 'model.sub.deep.q'", "model.sub.deep has: x", NULL),
              "unknown deep key: the deepest object reached is listed");
    test_true(refused("model.empty.a=1") &&
                  err_has("no key 'model.empty.a'", "model.empty has: nothing", NULL),
              "unknown key in an empty object");
    test_true(refused("model.hidden_size.x=1") &&
                  err_has("no key 'model.hidden_size.x'",
                          "'model.hidden_size' is a number, not an object", NULL),
              "a path through a number is refused");
    test_true(refused("model.list.0=1") &&
                  err_has("no key 'model.list.0'", "'model.list' is an array, not an object", NULL),
              "a path through an array is refused");

    test_true(refused("model.hidden_size=abc") &&
                  err_has("'model.hidden_size' is a number", "gives a string", "not valid JSON"),
              "type change number -> string refused");
    test_true(refused("model.bias=1") && err_has("'model.bias' is a bool", "gives a number", NULL),
              "type change bool -> number refused");
    test_true(refused("notes=12") &&
                  err_has("'notes' is a string", "gives a number", "notes='\"12\"'"),
              "type change string -> number refused, with the quoting hint");
    test_true(refused("model=3") && err_has("'model' is an object", "gives a number", NULL),
              "type change object -> number refused");
    test_true(refused("model.list={\"a\": 1}") &&
                  err_has("'model.list' is an array", "gives an object", NULL),
              "type change array -> object refused");

    test_true(refused("model.hidden_size") &&
                  err_has("'model.hidden_size' has no '='", NULL, NULL), "malformed: no '='");
    test_true(refused("=3") && err_has("'=3' has an empty key", NULL, NULL),
              "malformed: empty key");
    test_true(refused("model..x=1") && err_has("key 'model..x' has an empty component", NULL, NULL),
              "malformed: a..b");
    test_true(refused(".model=1") && err_has("empty component", NULL, NULL), "malformed: .a");
    test_true(refused("model.=1") && err_has("empty component", NULL, NULL), "malformed: a.");

    test_true(refused("notes=\xff\xfe") && err_has("base.json", "cannot write", NULL),
              "a plain-string value that is not UTF-8 is refused, not written");
}

/* "model.rank=[[...]]" with levels brackets. */
static const char *nested_set(char *buf, int levels) {
    int n = sprintf(buf, "model.rank=");
    memset(buf + n, '[', (size_t)levels);
    memset(buf + n + levels, ']', (size_t)levels);
    buf[n + 2 * levels] = '\0';
    return buf;
}

/* A value nested so deep that the result would pass the parser's and writer's limit must be
   refused (the writer would assert). model.rank sits inside 2 containers. */
static void test_depth(void) {
    char value[2 * SS_JSON_MAX_DEPTH + 16], *out = NULL;
    const char *set[1];
    ss_json_doc doc;
    int rc;
    set[0] = nested_set(value, SS_JSON_MAX_DEPTH - 1);
    rc = apply(set, 1, &out, &doc);
    test_true(rc == -1 && err_has("'model.rank'", "nests deeper than 64", NULL),
              "a value that nests past the limit is refused");
    release(&out, &doc);
    set[0] = nested_set(value, SS_JSON_MAX_DEPTH - 2);
    rc = apply(set, 1, &out, &doc);
    test_true(rc == 0, "a value that nests exactly to the limit is written");
    release(&out, &doc);
}

static void test_malformed_base(void) {
    static const char bad[] = "{\n  \"a\": 1,\n  \"b\": }\n", nul_key[] = "{\"a\\u0000b\": 1}";
    char *out = (char *)"untouched", want[64];
    int rc = config_apply_sets(bad, strlen(bad), "bad.json", NULL, 0, &out, err, sizeof err);
    sprintf(want, "(byte %zu)", (size_t)(strchr(bad, '}') - bad));
    test_true(rc == -1 && out == NULL && err_has("bad.json:3:", want, NULL),
              "malformed base JSON: file, line and byte offset");
    rc = config_apply_sets("[1, 2]", 6, NULL, NULL, 0, &out, err, sizeof err);
    test_true(rc == -1 && err_has("config: the top level is an array, not an object", NULL, NULL),
              "a document that is not an object is refused (source defaults to 'config')");
    rc = config_apply_sets("{\"a\": 1} x", 10, "trail.json", NULL, 0, &out, err, sizeof err);
    test_true(rc == -1 && err_has("trail.json:1:", "(byte 9)", NULL), "trailing junk in the base");
    rc = config_apply_sets(nul_key, strlen(nul_key), "nul.json", NULL, 0, &out, err, sizeof err);
    test_true(rc == -1 && err_has("nul.json: a key holds a NUL", NULL, NULL),
              "a key with a NUL byte is refused, not cut short");
}

static void test_files(void) {
    const char *sets[1];
    ss_json_doc doc;
    char *text = NULL, *file = NULL, *out = NULL;
    size_t size = 0;
    const ss_json *model;
    int rc;

    sets[0] = "model.hidden_size=96";
    rc = config_read("configs/tiny.json", sets, 1, &doc, &text, err, sizeof err);
    model = at(&doc, "model");
    test_true(rc == 0 && model && is_int(at(&doc, "model.hidden_size"), 96) &&
                  strstr(text, "\n    \"hidden_size\": 96,\n") != NULL &&
                  strcmp(model->source, "configs/tiny.json (after overrides)") == 0,
              "config_read with a set: document, text and source name");
    ss_json_doc_free(&doc);
    free(text);
    text = NULL;

    rc = config_read("configs/tiny.json", NULL, 0, &doc, NULL, err, sizeof err);
    model = at(&doc, "model");
    test_true(rc == 0 && model && strcmp(model->source, "configs/tiny.json") == 0 &&
                  ss_file_read("configs/tiny.json", &file, &size) == SS_OK &&
                  model->offset < size && file[model->offset] == '{',
              "config_read without sets: byte offsets point into the file");
    ss_free(file);
    ss_json_doc_free(&doc);

    sets[0] = "model.q_latnt_dim=64";
    text = (char *)"untouched";
    rc = config_read("configs/tiny.json", sets, 1, &doc, &text, err, sizeof err);
    test_true(rc == -1 && text == NULL && ss_json_root(&doc) == NULL &&
                  err_has("configs/tiny.json: no key 'model.q_latnt_dim'",
                          "did you mean 'model.q_latent_dim'?", "model has: hidden_size, "),
              "config_read: an unknown key names the file and the key");

    rc = config_read("configs/no_such_config.json", NULL, 0, &doc, &text, err, sizeof err);
    test_true(rc == -1 && err_has("configs/no_such_config.json", NULL, NULL),
              "config_read: a missing file is named");

    /* a string override whatever it looks like, escaped */
    text = config_format_string_set("notes", "12 \"quoted\"\n\\");
    test_true(text && is_str(apply_one(text, "notes", &out, &doc), "12 \"quoted\"\n\\"),
              "config_format_string_set: a string that looks like a number stays a string");
    release(&out, &doc);
    free(text);
}

/* ---- sweeps ---------------------------------------------------------------------------------- */

static config_combo *combos;
static int n_combos;

/* Expand n sweeps into combos/n_combos (freeing the previous ones); returns the result. */
static int expand(const char *const *sweeps, int n) {
    config_combos_free(combos, n_combos);
    combos = NULL;
    n_combos = 0;
    err[0] = '\0';
    return config_expand_sweeps(sweeps, n, &combos, &n_combos, err, sizeof err);
}

/* Whether combo i exists and its set j is want. */
static int set_is(int i, int j, const char *want) {
    return i < n_combos && j < combos[i].n_sets && strcmp(combos[i].sets[j], want) == 0;
}

static int name_is(int i, const char *want) {
    return i < n_combos && strcmp(combos[i].name, want) == 0;
}

/* Whether a single sweep is refused with a message holding a and b. */
static int sweep_refused(const char *sweep, const char *a, const char *b) {
    const char *sw[1];
    sw[0] = sweep;
    return expand(sw, 1) == -1 && combos == NULL && n_combos == 0 && err_has(a, b, NULL);
}

static void test_sweeps(void) {
    const char *sw[3];
    char *out = NULL;
    ss_json_doc doc;
    int rc, ok, i;

    sw[0] = "model.q_latent_dim=32,64";
    sw[1] = "model.o_latent_dim=16,32,48";
    ok = expand(sw, 2) == 0 && n_combos == 6;
    /* the first sweep varies slowest */
    for (i = 0; ok && i < 6; i++) {
        const char *q = i < 3 ? "32" : "64", *o = i % 3 == 0 ? "16" : i % 3 == 1 ? "32" : "48";
        char want0[64], want1[64], name[64];
        sprintf(want0, "model.q_latent_dim=%s", q);
        sprintf(want1, "model.o_latent_dim=%s", o);
        sprintf(name, "q_latent_dim=%s,o_latent_dim=%s", q, o);
        ok = combos[i].n_sets == 2 && set_is(i, 0, want0) && set_is(i, 1, want1) &&
             name_is(i, name);
        if (!ok) printf("  combo %d: %s\n", i, combos[i].name);
    }
    test_true(ok, "sweeps: 2 x 3 combos, first sweep slowest, sets and names");

    sw[0] = "model.list=[1,2], [3, 4] ,[]";
    sw[1] = "notes=\"a,b\",\"c\\\",d\",plain";
    rc = expand(sw, 2);
    test_true(rc == 0 && n_combos == 9 && set_is(0, 0, "model.list=[1,2]") &&
                  set_is(3, 0, "model.list=[3, 4]") && set_is(6, 0, "model.list=[]") &&
                  set_is(0, 1, "notes=\"a,b\"") && set_is(1, 1, "notes=\"c\\\",d\"") &&
                  set_is(2, 1, "notes=plain") && name_is(8, "list=[],notes=plain"),
              "sweeps: commas inside [] and strings do not split; spaces around values trimmed");
    memset(&doc, 0, sizeof doc);
    rc = rc == 0 && n_combos == 9 ? apply((const char *const *)combos[4].sets, 2, &out, &doc) : -1;
    test_true(rc == 0 && ss_json_count(at(&doc, "model.list")) == 2 &&
                  is_str(at(&doc, "notes"), "c\",d"), "sweeps: a combo's sets apply to a config");
    release(&out, &doc);

    sw[0] = "model.a=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16";
    sw[1] = "model.b=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16";
    test_true(expand(sw, 2) == 0 && n_combos == 256 && name_is(255, "a=16,b=16") &&
                  name_is(16, "a=2,b=1"), "sweeps: 256 combos are allowed");
    sw[2] = "model.c=1,2";
    test_true(expand(sw, 3) == -1 && combos == NULL && n_combos == 0 &&
                  err_has("512 combinations", "at most 256", NULL),
              "sweeps: more than 256 combos refused");

    test_true(expand(NULL, 0) == 0 && n_combos == 1 && combos[0].n_sets == 0 && name_is(0, ""),
              "sweeps: none give one empty combo");

    test_true(sweep_refused("model.a", "sweep 'model.a' has no '='", NULL), "sweeps: no '='");
    test_true(sweep_refused("model.a=", "has no values", NULL), "sweeps: empty value list");
    test_true(sweep_refused("model.a= ", "has no values", NULL), "sweeps: blank value list");
    test_true(sweep_refused("model.a=1,,2", "value 2 is empty", NULL), "sweeps: empty value");
    test_true(sweep_refused("model.a=1,2,", "value 3 is empty", NULL), "sweeps: trailing comma");
    test_true(sweep_refused("model.a=[1,2", "is not closed", NULL), "sweeps: unclosed [");
    test_true(sweep_refused("model.a=1],2", "unbalanced ']'", NULL), "sweeps: stray ]");
    test_true(sweep_refused("model.a=\"x,y", "no closing", NULL), "sweeps: unclosed string");
    test_true(sweep_refused("=1,2", "empty key", NULL), "sweeps: empty key");
    test_true(sweep_refused("model..a=1,2", "empty component", NULL), "sweeps: a..b key");
    sw[0] = "model.a=1,2";
    sw[1] = "model.a=3";
    test_true(expand(sw, 2) == -1 && err_has("key 'model.a' is swept twice", NULL, NULL),
              "sweeps: a key swept twice is refused");
    config_combos_free(combos, n_combos);
    combos = NULL;
    n_combos = 0;
}

/* ---- tool_parse ------------------------------------------------------------------------------ */

static void test_tool_parse(void) {
    tool_opt opts[] = {
        {"--set", 1, "KEY=VALUE", NULL, 1},
        {"--x", 1, "a value", NULL},
        {"--flag", 0, "a flag", NULL},
    };
    static const char *const first[] = {"ss", "cmd", "--set", "a=1", "file", "--set", "b=2",
                                        "--x", "3", "--x", "4", "--flag"};
    char *argv[80], buf[40][16];
    const char *pos[2];
    int n_pos = -1, ok, i;
    double d;

    for (i = 0; i < 12; i++) argv[i] = (char *)first[i];
    ok = tool_parse("cmd", 12, argv, 2, opts, 3, pos, 2, &n_pos);
    test_true(ok && opts[0].n_values == 2 && opts[0].values[0] && opts[0].values[1] &&
                  strcmp(opts[0].values[0], "a=1") == 0 && strcmp(opts[0].values[1], "b=2") == 0 &&
                  strcmp(opts[0].value, "b=2") == 0 &&
                  strcmp(opts[1].value, "4") == 0 && opts[1].n_values == 0 &&
                  strcmp(opts[2].value, "1") == 0 && n_pos == 1 && strcmp(pos[0], "file") == 0,
              "tool_parse: a repeated option keeps every value; others keep the last");

    ok = tool_parse("cmd", 3, argv, 2, opts, 3, pos, 2, &n_pos);
    test_true(!ok, "tool_parse: a repeatable option still needs its value");

    for (i = 0; i < 33; i++) {
        sprintf(buf[i], "k%d=%d", i, i);
        argv[2 + 2 * i] = (char *)"--set";
        argv[3 + 2 * i] = buf[i];
    }
    ok = tool_parse("cmd", 2 + 2 * 32, argv, 2, opts, 3, pos, 2, &n_pos);
    test_true(ok && opts[0].n_values == 32 && opts[0].values[0] && opts[0].values[31] &&
                  strcmp(opts[0].values[31], "k31=31") == 0 &&
                  strcmp(opts[0].values[0], "k0=0") == 0,
              "tool_parse: 32 repeats are kept (and a new parse starts the list afresh)");
    ok = tool_parse("cmd", 2 + 2 * 33, argv, 2, opts, 3, pos, 2, &n_pos);
    test_true(!ok, "tool_parse: the 33rd repeat is an error");

    opts[1].value = "0.25";
    test_true(tool_opt_double(&opts[1], 9.0, 0.0, 1.0, &d) && d == 0.25, "tool_opt_double: 0.25");
    opts[1].value = "1e-3";
    test_true(tool_opt_double(&opts[1], 9.0, 0.0, 1.0, &d) && d == 1e-3, "tool_opt_double: 1e-3");
    opts[1].value = NULL;
    test_true(tool_opt_double(&opts[1], 9.0, 0.0, 1.0, &d) && d == 9.0,
              "tool_opt_double: absent gives the default");
    opts[1].value = "1.5";
    test_true(!tool_opt_double(&opts[1], 9.0, 0.0, 1.0, &d), "tool_opt_double: out of range");
    opts[1].value = "nan";
    test_true(!tool_opt_double(&opts[1], 9.0, 0.0, 1.0, &d), "tool_opt_double: NaN refused");
    opts[1].value = "0.5x";
    test_true(!tool_opt_double(&opts[1], 9.0, 0.0, 1.0, &d), "tool_opt_double: junk refused");
    opts[1].value = "";
    test_true(!tool_opt_double(&opts[1], 9.0, 0.0, 1.0, &d), "tool_opt_double: empty refused");
}

int main(void) {
    test_values();
    test_document();
    test_refused();
    test_depth();
    test_malformed_base();
    test_files();
    test_sweeps();
    test_tool_parse();
    return test_summary("test_cfgtool");
}
