/* tools/config.c - config overrides, config files with overrides, and sweeps (see config.h).
   An override is applied by parsing the current text, finding the member its key names, and
   writing the whole document again with that one value replaced; overrides apply one after the
   other, so a later one sees what an earlier one wrote. Configs are a few kilobytes, so the
   repeated parsing costs nothing worth saving. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

#if defined(__GNUC__) || defined(__clang__)
#define CFG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CFG_PRINTF(f, a)
#endif

/* printf into the caller's message buffer (always NUL-terminated); returns -1 for `return`. */
static int cfg_fail(char *err, size_t err_size, const char *fmt, ...) CFG_PRINTF(3, 4);
static int cfg_fail(char *err, size_t err_size, const char *fmt, ...) {
    va_list ap;
    if (!err || err_size == 0) return -1;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- keys ------------------------------------------------------------------------------------ */

/* Check the key of an override or sweep, set[0..key_len): dotted member names, none empty.
   what is "override" or "sweep" for the message. Returns 0, or -1 with a message. */
static int cfg_check_key(const char *what, const char *set, size_t key_len, char *err,
                         size_t err_size) {
    size_t i, start = 0;
    if (key_len == 0)
        return cfg_fail(err, err_size, "%s '%s' has an empty key (expected KEY=VALUE, e.g. "
                        "model.hidden_size=128)", what, set);
    for (i = 0; i <= key_len; i++) {
        if (i < key_len && set[i] != '.') continue;
        if (i == start)
            return cfg_fail(err, err_size, "%s '%s': key '%.*s' has an empty component (keys are "
                            "dotted member names, e.g. model.hidden_size)", what, set,
                            (int)key_len, set);
        start = i + 1;
    }
    return 0;
}

/* Levenshtein distance of two short strings (at most 63 bytes each; longer gives a large value):
   used only to suggest the key a typo meant. */
static size_t cfg_edit_distance(const char *a, size_t na, const char *b, size_t nb) {
    size_t row[64], i, j;
    if (na >= 64 || nb >= 64) return (size_t)-1;
    for (j = 0; j <= nb; j++) row[j] = j;
    for (i = 1; i <= na; i++) {
        size_t diag = row[0]; /* the previous row's value at j - 1 */
        row[0] = i;
        for (j = 1; j <= nb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[nb];
}

/* "a" or "an" before a type name. */
static const char *cfg_article(ss_json_type type) {
    return type == SS_JSON_ARRAY || type == SS_JSON_OBJECT ? "an" : "a";
}

/* The member of object whose key is name[0..n), or NULL. */
static const ss_json *cfg_member(const ss_json *object, const char *name, size_t n) {
    size_t i;
    for (i = 0; i < ss_json_count(object); i++) {
        const ss_json *m = ss_json_at(object, i);
        if (m->key_length == n && memcmp(m->key, name, n) == 0) return m;
    }
    return NULL;
}

/* Message for a key whose component name[0..n) is not a member of object (reached by the key's
   first prefix_len bytes): the members it has, and the nearest one when it looks like a typo. */
static int cfg_fail_no_key(const char *source, const char *key, size_t key_len, size_t prefix_len,
                           const ss_json *object, const char *name, size_t n, char *err,
                           size_t err_size) {
    char members[768], hint[160] = "";
    size_t i, used = 0, best_d = (size_t)-1, limit = n <= 4 ? 1 : 2;
    int full = 0;
    const ss_json *best = NULL;
    members[0] = '\0';
    for (i = 0; i < ss_json_count(object); i++) {
        const ss_json *m = ss_json_at(object, i);
        size_t d = cfg_edit_distance(name, n, m->key, m->key_length);
        if (d < best_d) best_d = d, best = m;
        if (full) continue;
        if (used + m->key_length + 8 < sizeof members) {
            used += (size_t)sprintf(members + used, "%s%.*s", i ? ", " : "", (int)m->key_length,
                                    m->key);
        } else { /* the list ends here; 8 bytes are always left for this */
            used += (size_t)sprintf(members + used, ", ...");
            full = 1;
        }
    }
    if (best && best_d <= limit)
        snprintf(hint, sizeof hint, "did you mean '%.*s%.*s'? ", (int)prefix_len, key,
                 (int)(best->key_length < 100 ? best->key_length : 100), best->key);
    if (prefix_len == 0)
        return cfg_fail(err, err_size, "%s: no key '%.*s' (%sthe top level has: %s)", source,
                        (int)key_len, key, hint, ss_json_count(object) ? members : "nothing");
    return cfg_fail(err, err_size, "%s: no key '%.*s' (%s%.*s has: %s)", source, (int)key_len,
                    key, hint, (int)(prefix_len - 1), key,
                    ss_json_count(object) ? members : "nothing");
}

/* The value that key[0..key_len) names under root, every component an existing member of an
   object; NULL with a message otherwise. */
static const ss_json *cfg_find(const ss_json *root, const char *source, const char *key,
                               size_t key_len, char *err, size_t err_size) {
    const ss_json *node = root;
    size_t start = 0, end;
    while (start < key_len) {
        const ss_json *next;
        for (end = start; end < key_len && key[end] != '.'; end++) continue;
        if (node->type != SS_JSON_OBJECT) {
            cfg_fail(err, err_size, "%s: no key '%.*s': '%.*s' is %s %s, not an object", source,
                     (int)key_len, key, (int)(start - 1), key, cfg_article(node->type),
                     ss_json_type_name(node->type));
            return NULL;
        }
        next = cfg_member(node, key + start, end - start);
        if (!next) {
            cfg_fail_no_key(source, key, key_len, start, node, key + start, end - start, err,
                            err_size);
            return NULL;
        }
        node = next;
        start = end + 1;
    }
    return node;
}

/* ---- rewriting a document -------------------------------------------------------------------- */

/* Containers nested inside v, v included (0 for a scalar). */
static int cfg_nesting(const ss_json *v) {
    size_t i;
    int deepest = 0;
    if (v->type != SS_JSON_ARRAY && v->type != SS_JSON_OBJECT) return 0;
    for (i = 0; i < v->length; i++) {
        int d = cfg_nesting(&v->children[i]);
        if (d > deepest) deepest = d;
    }
    return 1 + deepest;
}

/* What replaces the target: a parsed value, or (value NULL) the plain string str[0..str_len). */
typedef struct cfg_replacement {
    const ss_json *target;
    const ss_json *value;
    const char *str;
    size_t str_len;
} cfg_replacement;

/* Write v into w, the target (if any) replaced. Returns 0, or -1 for a key holding a NUL byte,
   which ss_json_write_key cannot take; writer errors stick in w and show at finish. */
static int cfg_copy(ss_json_writer *w, const ss_json *v, const cfg_replacement *rep) {
    size_t i;
    if (rep && v == rep->target) {
        if (rep->value) return cfg_copy(w, rep->value, NULL);
        ss_json_write_string_n(w, rep->str, rep->str_len);
        return 0;
    }
    switch (v->type) {
    case SS_JSON_NULL: ss_json_write_null(w); break;
    case SS_JSON_BOOL: ss_json_write_bool(w, v->boolean); break;
    case SS_JSON_NUMBER:
        if (v->is_integer) ss_json_write_int(w, v->integer);
        else ss_json_write_number(w, v->number);
        break;
    case SS_JSON_STRING: ss_json_write_string_n(w, v->string, v->length); break;
    case SS_JSON_ARRAY:
        ss_json_write_begin_array(w);
        for (i = 0; i < v->length; i++)
            if (cfg_copy(w, &v->children[i], rep) != 0) return -1;
        ss_json_write_end_array(w);
        break;
    case SS_JSON_OBJECT:
        ss_json_write_begin_object(w);
        for (i = 0; i < v->length; i++) {
            const ss_json *m = &v->children[i];
            if (strlen(m->key) != m->key_length) return -1;
            ss_json_write_key(w, m->key);
            if (cfg_copy(w, m, rep) != 0) return -1;
        }
        ss_json_write_end_object(w);
        break;
    }
    return 0;
}

int config_json_copy(ss_json_writer *w, const ss_json *v) { return cfg_copy(w, v, NULL); }

/* The document under root written pretty with rep applied, plus a final newline, into *out
   (malloc'ed). Returns 0, or -1 with a message. */
static int cfg_write(const ss_json *root, const cfg_replacement *rep, const char *source,
                     char **out, char *err, size_t err_size) {
    ss_json_writer w;
    ss_result r;
    int bad_key;
    ss_json_writer_init(&w, 1);
    bad_key = cfg_copy(&w, root, rep);
    if (bad_key) {
        ss_json_writer_free(&w);
        return cfg_fail(err, err_size, "%s: a key holds a NUL character (\\u0000), which this "
                        "tool cannot write", source);
    }
    r = ss_json_writer_finish(&w);
    if (r != SS_OK) {
        cfg_fail(err, err_size, "%s: cannot write the result: %s (%s)", source,
                 ss_result_string(r), ss_last_error_detail());
        ss_json_writer_free(&w);
        return -1;
    }
    *out = (char *)malloc(w.length + 2);
    if (!*out) {
        ss_json_writer_free(&w);
        return cfg_fail(err, err_size, "%s: out of memory", source);
    }
    memcpy(*out, w.text, w.length);
    (*out)[w.length] = '\n';
    (*out)[w.length + 1] = '\0';
    ss_json_writer_free(&w);
    return 0;
}

/* One override "key=VALUE" on the document under root (parsed from source): fills rep, with
   vdoc holding a parsed VALUE. Returns 0, or -1 with a message. */
static int cfg_prepare(const ss_json *root, const char *source, const char *set,
                       ss_json_doc *vdoc, cfg_replacement *rep, char *err, size_t err_size) {
    const char *eq = strchr(set, '='), *value;
    size_t key_len, value_len;
    const ss_json *target, *a;
    ss_json_type new_type;
    int ancestors = 0, as_string = 0;
    ss_result r;
    if (!eq)
        return cfg_fail(err, err_size, "override '%s' has no '=' (expected KEY=VALUE, e.g. "
                        "model.hidden_size=128)", set);
    key_len = (size_t)(eq - set);
    if (cfg_check_key("override", set, key_len, err, err_size) != 0) return -1;
    target = cfg_find(root, source, set, key_len, err, err_size);
    if (!target) return -1;
    value = eq + 1;
    value_len = strlen(value);
    r = ss_json_parse(vdoc, value, value_len, "override");
    if (r == SS_ERR_NOMEM) return cfg_fail(err, err_size, "%s: out of memory", source);
    as_string = r != SS_OK;
    new_type = as_string ? SS_JSON_STRING : ss_json_root(vdoc)->type;
    if (target->type != new_type && target->type != SS_JSON_NULL && new_type != SS_JSON_NULL) {
        char hint[160] = "";
        if (as_string)
            snprintf(hint, sizeof hint, "; '%.60s' is not valid JSON, so it was read as a string",
                     value);
        else if (target->type == SS_JSON_STRING)
            snprintf(hint, sizeof hint, "; to give a string, quote it: %.*s='\"%.40s\"'",
                     (int)(key_len < 60 ? key_len : 60), set, value);
        return cfg_fail(err, err_size, "%s: '%.*s' is %s %s and the override gives %s %s%s (the "
                        "type may change only from or to null)", source, (int)key_len, set,
                        cfg_article(target->type), ss_json_type_name(target->type),
                        cfg_article(new_type), ss_json_type_name(new_type), hint);
    }
    for (a = target->parent; a; a = a->parent) ancestors++;
    if (!as_string && ancestors + cfg_nesting(ss_json_root(vdoc)) > SS_JSON_MAX_DEPTH)
        return cfg_fail(err, err_size, "%s: the value for '%.*s' nests deeper than %d levels in "
                        "all", source, (int)key_len, set, SS_JSON_MAX_DEPTH);
    rep->target = target;
    rep->value = as_string ? NULL : ss_json_root(vdoc);
    rep->str = value;
    rep->str_len = value_len;
    return 0;
}

int config_apply_sets(const char *text, size_t len, const char *source, const char *const *sets,
                      int n_sets, char **out, char *err, size_t err_size) {
    const char *src = source ? source : "config";
    char *current = NULL;
    int i = 0;
    *out = NULL;
    if (err && err_size) err[0] = '\0';
    /* n_sets == 0 still makes one pass: the document is parsed and written again */
    do {
        ss_json_doc doc, vdoc;
        const ss_json *root;
        cfg_replacement rep;
        char *next = NULL;
        int status = 0;
        ss_result r;
        memset(&doc, 0, sizeof doc);
        memset(&vdoc, 0, sizeof vdoc);
        memset(&rep, 0, sizeof rep);
        r = current ? ss_json_parse(&doc, current, strlen(current), src)
                    : ss_json_parse(&doc, text, len, src);
        if (r != SS_OK) {
            free(current);
            return cfg_fail(err, err_size, "%s", r == SS_ERR_NOMEM ? "out of memory"
                                                                   : ss_last_error_detail());
        }
        root = ss_json_root(&doc);
        if (root->type != SS_JSON_OBJECT)
            status = cfg_fail(err, err_size, "%s: the top level is %s %s, not an object", src,
                              cfg_article(root->type), ss_json_type_name(root->type));
        if (status == 0 && i < n_sets)
            status = cfg_prepare(root, src, sets[i], &vdoc, &rep, err, err_size);
        if (status == 0)
            status = cfg_write(root, i < n_sets ? &rep : NULL, src, &next, err, err_size);
        ss_json_doc_free(&vdoc);
        ss_json_doc_free(&doc);
        free(current);
        current = next;
        if (status != 0) {
            free(current);
            return -1;
        }
    } while (++i < n_sets);
    *out = current;
    return 0;
}

/* ---- files ----------------------------------------------------------------------------------- */

int config_read(const char *path, const char *const *sets, int n_sets, ss_json_doc *doc,
                char **text_out, char *err, size_t err_size) {
    char *file = NULL, *text = NULL, *name = NULL;
    size_t size = 0;
    ss_result r;
    memset(doc, 0, sizeof *doc);
    if (text_out) *text_out = NULL;
    if (ss_file_read(path, &file, &size) != SS_OK)
        return cfg_fail(err, err_size, "%s", ss_last_error_detail());
    if (config_apply_sets(file, size, path, sets, n_sets, &text, err, err_size) != 0) {
        ss_free(file);
        return -1;
    }
    if (n_sets == 0) {
        r = ss_json_parse(doc, file, size, path); /* offsets then point into the file itself */
    } else {
        name = (char *)malloc(strlen(path) + sizeof " (after overrides)");
        if (name) sprintf(name, "%s (after overrides)", path);
        r = name ? ss_json_parse(doc, text, strlen(text), name) : SS_ERR_NOMEM;
    }
    free(name);
    ss_free(file);
    if (r != SS_OK) { /* only out of memory: the text parsed once already */
        free(text);
        return cfg_fail(err, err_size, "%s: %s", path, ss_result_string(r));
    }
    if (text_out) *text_out = text;
    else free(text);
    return 0;
}

char *config_format_string_set(const char *key, const char *value) {
    ss_json_writer w;
    char *set = NULL;
    size_t key_len = strlen(key);
    ss_json_writer_init(&w, 0);
    ss_json_write_string(&w, value);
    if (ss_json_writer_finish(&w) == SS_OK) {
        set = (char *)malloc(key_len + 1 + w.length + 1);
        if (set) {
            memcpy(set, key, key_len);
            set[key_len] = '=';
            memcpy(set + key_len + 1, w.text, w.length + 1);
        }
    }
    ss_json_writer_free(&w);
    return set;
}

/* ---- sweeps ---------------------------------------------------------------------------------- */

/* One sweep "key=v1,v2": where its key, the key's last component and each value sit in the
   caller's string. */
typedef struct cfg_sweep {
    const char *text;
    size_t key_len;
    size_t last; /* offset of the key's last component */
    size_t *start, *len; /* n values */
    int n;
} cfg_sweep;

/* Split sweep text into key and values. Returns 0, or -1 with a message. */
static int cfg_split_sweep(const char *text, cfg_sweep *s, char *err, size_t err_size) {
    const char *eq = strchr(text, '=');
    size_t i, n_text = strlen(text), item = 0, begin, end;
    int depth = 0, in_string = 0, escaped = 0;
    memset(s, 0, sizeof *s);
    s->text = text;
    if (!eq)
        return cfg_fail(err, err_size, "sweep '%s' has no '=' (expected KEY=V1,V2,..., e.g. "
                        "model.o_latent_dim=32,64)", text);
    s->key_len = (size_t)(eq - text);
    if (cfg_check_key("sweep", text, s->key_len, err, err_size) != 0) return -1;
    for (i = 0; i < s->key_len; i++)
        if (text[i] == '.') s->last = i + 1;
    /* at most one value per comma, plus one */
    for (i = s->key_len + 1; i < n_text; i++) item += text[i] == ',';
    s->start = (size_t *)malloc((item + 1) * sizeof(size_t));
    s->len = (size_t *)malloc((item + 1) * sizeof(size_t));
    if (!s->start || !s->len) return cfg_fail(err, err_size, "sweep '%s': out of memory", text);
    begin = s->key_len + 1;
    for (i = begin; i <= n_text; i++) {
        char c = i < n_text ? text[i] : ',';
        if (i < n_text && in_string) {
            if (escaped) escaped = 0;
            else if (c == '\\') escaped = 1;
            else if (c == '"') in_string = 0;
            continue;
        }
        if (i < n_text && c == '"') in_string = 1;
        else if (i < n_text && (c == '[' || c == '{')) depth++;
        else if (i < n_text && (c == ']' || c == '}')) {
            if (--depth < 0)
                return cfg_fail(err, err_size, "sweep '%s': unbalanced '%c' at byte %zu", text, c,
                                i);
        } else if (c == ',' && depth == 0) {
            for (end = i; end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t'); end--)
                continue;
            while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) begin++;
            if (begin == end) {
                if (i == n_text && s->n == 0)
                    return cfg_fail(err, err_size, "sweep '%s' has no values (expected "
                                    "KEY=V1,V2,...)", text);
                return cfg_fail(err, err_size, "sweep '%s': value %d is empty", text, s->n + 1);
            }
            s->start[s->n] = begin;
            s->len[s->n] = end - begin;
            s->n++;
            begin = i + 1;
        }
    }
    if (in_string) return cfg_fail(err, err_size, "sweep '%s': a string has no closing '\"'", text);
    if (depth > 0) return cfg_fail(err, err_size, "sweep '%s': a '[' or '{' is not closed", text);
    return 0;
}

void config_combos_free(config_combo *c, int n) {
    int i, j;
    if (!c) return;
    for (i = 0; i < n; i++) {
        for (j = 0; j < c[i].n_sets; j++) free(c[i].sets[j]);
        free(c[i].sets);
        free(c[i].name);
    }
    free(c);
}

/* Fill combo k: the value of sweep s is (k / (product of the later sweeps' counts)) mod its
   count, so the first sweep varies slowest. Returns 0, or -1 when out of memory. */
static int cfg_make_combo(config_combo *c, const cfg_sweep *sw, int n_sweeps, int k) {
    size_t name_len = 0;
    int s, pick[64], *picks = pick, rest = k, status = 0;
    if (n_sweeps > 64) {
        picks = (int *)malloc((size_t)n_sweeps * sizeof(int));
        if (!picks) return -1;
    }
    for (s = n_sweeps - 1; s >= 0; s--) {
        picks[s] = rest % sw[s].n;
        rest /= sw[s].n;
    }
    if (n_sweeps > 0) {
        c->sets = (char **)calloc((size_t)n_sweeps, sizeof(char *));
        if (!c->sets) status = -1;
    }
    for (s = 0; s < n_sweeps && status == 0; s++) {
        const cfg_sweep *w = &sw[s];
        size_t v_len = w->len[picks[s]];
        char *set = (char *)malloc(w->key_len + 1 + v_len + 1);
        if (!set) {
            status = -1;
            break;
        }
        memcpy(set, w->text, w->key_len + 1); /* the key and its '=' */
        memcpy(set + w->key_len + 1, w->text + w->start[picks[s]], v_len);
        set[w->key_len + 1 + v_len] = '\0';
        c->sets[c->n_sets++] = set;
        name_len += (w->key_len - w->last) + 1 + v_len + 1;
    }
    if (status == 0) c->name = (char *)malloc(name_len + 1);
    if (status == 0 && c->name) {
        size_t at = 0;
        for (s = 0; s < n_sweeps; s++) {
            const cfg_sweep *w = &sw[s];
            const char *set = c->sets[s];
            if (s) c->name[at++] = ',';
            memcpy(c->name + at, set + w->last, strlen(set) - w->last); /* "last=value" */
            at += strlen(set) - w->last;
        }
        c->name[at] = '\0';
    } else {
        status = -1;
    }
    if (picks != pick) free(picks);
    return status;
}

int config_expand_sweeps(const char *const *sweeps, int n_sweeps, config_combo **out, int *n_out,
                         char *err, size_t err_size) {
    cfg_sweep *sw = NULL;
    config_combo *combos = NULL;
    int total = 1;
    int s, t, k, status = 0;
    *out = NULL;
    *n_out = 0;
    if (err && err_size) err[0] = '\0';
    if (n_sweeps < 0) return cfg_fail(err, err_size, "negative sweep count %d", n_sweeps);
    if (n_sweeps > 0) {
        sw = (cfg_sweep *)calloc((size_t)n_sweeps, sizeof(cfg_sweep));
        if (!sw) return cfg_fail(err, err_size, "sweeps: out of memory");
    }
    for (s = 0; s < n_sweeps && status == 0; s++) {
        status = cfg_split_sweep(sweeps[s], &sw[s], err, err_size);
        for (t = 0; t < s && status == 0; t++)
            if (sw[t].key_len == sw[s].key_len &&
                memcmp(sw[t].text, sw[s].text, sw[s].key_len) == 0)
                status = cfg_fail(err, err_size, "key '%.*s' is swept twice ('%s' and '%s')",
                                  (int)sw[s].key_len, sw[s].text, sw[t].text, sw[s].text);
        /* each count is at least 1, so the product only grows: saturate just past the limit
           (both factors are then at most CONFIG_MAX_COMBOS, so the product cannot overflow) */
        if (status == 0 && total <= CONFIG_MAX_COMBOS)
            total = sw[s].n > CONFIG_MAX_COMBOS ? CONFIG_MAX_COMBOS + 1 : total * sw[s].n;
    }
    if (status == 0 && total > CONFIG_MAX_COMBOS) {
        double exact = 1.0;
        for (s = 0; s < n_sweeps; s++) exact *= sw[s].n;
        status = cfg_fail(err, err_size, "the sweeps give %.0f combinations; at most %d are "
                          "allowed", exact, CONFIG_MAX_COMBOS);
    }
    if (status == 0) {
        combos = (config_combo *)calloc((size_t)total, sizeof(config_combo));
        if (!combos) status = cfg_fail(err, err_size, "sweeps: out of memory");
    }
    for (k = 0; k < total && status == 0; k++)
        if (cfg_make_combo(&combos[k], sw, n_sweeps, k) != 0) {
            config_combos_free(combos, total);
            combos = NULL;
            status = cfg_fail(err, err_size, "sweeps: out of memory");
        }
    for (s = 0; s < n_sweeps; s++) {
        free(sw[s].start);
        free(sw[s].len);
    }
    free(sw);
    if (status != 0) return -1;
    *out = combos;
    *n_out = total;
    return 0;
}
