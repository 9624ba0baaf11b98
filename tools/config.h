/* tools/config.h - config files on the tool side (SPEC 2.8, the seed's create_new_config):
   dotted overrides "model.q_latent_dim=64" applied to a config's JSON text, reading a config file
   with overrides, and sweeps "model.o_latent_dim=32,64" expanded into lists of overrides.
   The library (subspace.h) checks the "model" section itself; this file only edits JSON text.
   Every function reports failure as a return value and a one-line message in err (always
   NUL-terminated, truncated to err_size); none prints. */
#ifndef SS_TOOL_CONFIG_H
#define SS_TOOL_CONFIG_H

#include <stddef.h>
#include "../subspace.h"

#define CONFIG_MAX_COMBOS 256 /* config_expand_sweeps refuses larger products */

/* Apply overrides "a.b.c=VALUE" in order to the JSON document text[0..len) (no NUL needed) and
   return the result as pretty JSON: 2-space indent, members in their original order, numbers
   written so they read back exactly (integer literals as integers, others in the shortest form
   that reads back, so 10000.0 comes out as 10000), ending with a newline.
   - The text up to the first '=' is the key: components split on '.', none empty. VALUE is read
     as JSON (12, 0.5, true, null, "text", [1,2], {...}); when it is not valid JSON it is taken as
     a plain string, so notes=hello works.
   - Every component must name a member that already exists in an object, as the seed refuses
     new keys; the message names the key, source and the members of the deepest object reached.
   - The type may change only from or to null (a number stays a number, integer or not).
   source names the text in messages (a path; NULL gives "config"). A malformed document fails
   with the parser's "<source>:<line>:<col> (byte N): ..." message. n_sets may be 0 (the result is
   then the document re-written). Returns 0 and *out (owned: release with free) or -1 with a
   message in err. */
int config_apply_sets(const char *text, size_t len, const char *source, const char *const *sets,
                      int n_sets, char **out, char *err, size_t err_size);

/* Read the config file at path, apply sets (config_apply_sets) and parse the result into doc
   (caller-owned; release with ss_json_doc_free). Without sets the document is the file as read,
   so byte offsets in later messages point into the file; with sets it is the rewritten text and
   its source name is "<path> (after overrides)". *text_out (when text_out is not NULL) gets the
   rewritten text, which is what `ss config show` prints (owned: release with free). Returns 0, or
   -1 with a message in err and doc zeroed, *text_out NULL. */
int config_read(const char *path, const char *const *sets, int n_sets, ss_json_doc *doc,
                char **text_out, char *err, size_t err_size);

/* "key=\"string\"": an override that sets key to a string whatever it looks like (--notes 12
   stays a string), with the string escaped as JSON. Owned: release with free. NULL when out of
   memory or when value is not valid UTF-8. */
char *config_format_string_set(const char *key, const char *value);

/* One point of a sweep: n_sets overrides "a.b=v" (one per sweep, in sweep order) and a short
   name built from each key's last component and value, "o_latent_dim=32,q_latent_dim=64". */
typedef struct config_combo {
    char **sets; /* owned, as the strings in it */
    int n_sets;
    char *name;  /* owned */
} config_combo;

/* Expand sweeps "a.b=v1,v2,v3" into the cartesian product of their values, the first sweep
   varying slowest. Values split on commas outside [], {} and "..." (so "a=[1,2],[3,4]" has two
   values) and lose surrounding spaces. Fails on a missing '=', a malformed key (as in
   config_apply_sets), an empty value list or value, unbalanced brackets or quotes, a key swept
   twice, or more than CONFIG_MAX_COMBOS combinations. Keys are not checked against a config here:
   config_apply_sets does that when a combo is used. No sweeps give one combo with no sets and an
   empty name. Returns 0 and *out (n_out entries; owned: release with config_combos_free) or -1
   with a message in err, *out NULL and *n_out 0. */
int config_expand_sweeps(const char *const *sweeps, int n_sweeps, config_combo **out, int *n_out,
                         char *err, size_t err_size);
/* Release n combos from config_expand_sweeps; NULL is fine. */
void config_combos_free(config_combo *c, int n);

/* Write the JSON value v into w unchanged (the copy config_apply_sets makes). 0, or -1 for a key
   holding a NUL byte, which a writer cannot take; writer errors stick in w. */
int config_json_copy(ss_json_writer *w, const ss_json *v);

#endif
