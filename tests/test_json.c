/* test_json.c - section 10, JSON: valid documents of every kind, every class of malformed input
   with its exact line:col (byte N), the nesting limit, the writer (escaping, number forms,
   pretty printing, round trips), allocation failure at every site, and seeded random and
   mutated inputs that must never crash.
   cc -std=c99 -O2 -o test_json tests/test_json.c -lm && ./test_json */
#include <stdlib.h>
#include <stdio.h>

#include "test_alloc.h"
#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static ss_result parse(ss_json_doc *doc, const char *text) {
    return ss_json_parse(doc, text, strlen(text), "test.json");
}

static void test_valid(void) {
    ss_json_doc doc;
    const ss_json *root, *a, *v;
    char path[64];
    const char *s = NULL;
    size_t len = 0;
    int i = -1, b = -1;
    double d = 0;
    ss_result r;

    r = parse(&doc, " {\"a\": [1, 2, {\"b\": null}], \"c\": true, \"d\": false, \"e\": \"x\",\n"
                    "  \"f\": {}, \"g\": []} ");
    root = ss_json_root(&doc);
    test_true(r == SS_OK && root && root->type == SS_JSON_OBJECT && ss_json_count(root) == 6,
              "valid: nested object parses");
    if (r != SS_OK) return;
    test_true(strcmp(ss_json_at(root, 0)->key, "a") == 0 &&
                  strcmp(ss_json_at(root, 1)->key, "c") == 0 &&
                  strcmp(ss_json_at(root, 2)->key, "d") == 0 &&
                  strcmp(ss_json_at(root, 3)->key, "e") == 0 &&
                  strcmp(ss_json_at(root, 5)->key, "g") == 0,
              "valid: object key order kept");
    a = ss_json_get(root, "a");
    test_true(a && a->type == SS_JSON_ARRAY && ss_json_count(a) == 3 && ss_json_at(a, 3) == NULL &&
                  ss_json_at(a, 0)->integer == 1 && ss_json_at(a, 1)->integer == 2,
              "valid: array children and bounds");
    v = ss_json_get(ss_json_at(a, 2), "b");
    test_true(v && v->type == SS_JSON_NULL && v->parent == ss_json_at(a, 2) &&
                  ss_json_at(a, 2)->parent == a && a->parent == root && root->parent == NULL,
              "valid: null and parent links");
    test_true(strcmp(ss_json_path(v, path, sizeof path), "a[2].b") == 0, "valid: path a[2].b");
    test_true(ss_json_get(root, "c")->boolean == 1 &&
                  ss_json_get(root, "d")->type == SS_JSON_BOOL &&
                  ss_json_get(root, "d")->boolean == 0,
              "valid: booleans");
    test_true(ss_json_count(ss_json_get(root, "f")) == 0 &&
                  ss_json_get(root, "f")->type == SS_JSON_OBJECT &&
                  ss_json_count(ss_json_get(root, "g")) == 0 && ss_json_get(root, "zz") == NULL &&
                  ss_json_get(a, "x") == NULL,
              "valid: empty containers, absent keys");
    test_true(root->offset == 1 && a->offset == 7 && ss_json_at(a, 1)->offset == 11 &&
                  ss_json_get(root, "f")->offset == 68,
              "valid: byte offsets of values");
    test_true(ss_json_get_int(ss_json_at(a, 2), "b", &i) == SS_ERR_FORMAT && i == -1 &&
                  detail_has("test.json: a[2].b (byte 20): expected an integer"),
              "getter: null is not an int, detail names source, path, byte");
    test_true(ss_json_get_bool(root, "c", &b) == SS_OK && b == 1, "getter: bool");
    test_true(ss_json_get_string(root, "e", &s) == SS_OK && strcmp(s, "x") == 0, "getter: string");
    test_true(ss_json_get_int(root, "missing", &i) == SS_ERR_NOT_FOUND && i == -1 &&
                  detail_has("missing"),
              "getter: absent key is NOT_FOUND, out untouched");
    test_true(ss_json_get_int(a, "x", &i) == SS_ERR_FORMAT && detail_has("expected an object"),
              "getter: lookup in an array is FORMAT");
    test_true(ss_json_get_int(NULL, "x", &i) == SS_ERR_NOT_FOUND, "getter: NULL object");
    test_true(ss_json_get_double(root, "e", &d) == SS_ERR_FORMAT && detail_has("e (byte 56)"),
              "getter: string is not a double");
    ss_json_doc_free(&doc);
    ss_json_doc_free(&doc);
    test_true(doc.nodes == NULL && doc.count == 0 && ss_json_root(&doc) == NULL,
              "doc free twice, leaves it zeroed");

    /* scalars at the top level */
    test_true(parse(&doc, "42") == SS_OK && ss_json_root(&doc)->integer == 42,
              "valid: bare number");
    ss_json_doc_free(&doc);
    test_true(parse(&doc, " \"s\"\n") == SS_OK && ss_json_root(&doc)->length == 1,
              "valid: bare string");
    ss_json_doc_free(&doc);
    test_true(parse(&doc, "null") == SS_OK && ss_json_root(&doc)->type == SS_JSON_NULL,
              "valid: bare null");
    ss_json_doc_free(&doc);

    /* strings: escapes, \u with surrogate pairs -> UTF-8, raw UTF-8, \u0000 kept with length */
    r = parse(&doc, "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u4E2D\\ud83d\\ude00\\u0000x\", "
                    "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"]");
    root = ss_json_root(&doc);
    test_true(r == SS_OK && ss_json_at(root, 0)->length == 8 &&
                  memcmp(ss_json_at(root, 0)->string, "\"\\/\b\f\n\r\t", 8) == 0,
              "strings: the eight simple escapes");
    test_true(r == SS_OK && ss_json_at(root, 1)->length == 11 &&
                  memcmp(ss_json_at(root, 1)->string, "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\0x",
                         11) == 0 &&
                  ss_json_at(root, 1)->string[11] == '\0',
              "strings: \\u escapes and a surrogate pair give UTF-8, \\u0000 kept");
    test_true(r == SS_OK && ss_json_at(root, 2)->length == 9 &&
                  ss_json_as_string(ss_json_at(root, 2), &s, &len) == SS_OK && len == 9 &&
                  memcmp(s, ss_json_at(root, 1)->string, 9) == 0,
              "strings: raw UTF-8 equals the escaped form");
    ss_json_doc_free(&doc);

    /* numbers */
    r = parse(&doc, "[0, -0, 1e-7, 1E+2, 123456789012, -1.5, 9223372036854775807, "
                    "-9223372036854775808, 9223372036854775808, 2.5e-310, 1e-400, 12.0]");
    root = ss_json_root(&doc);
    if (r == SS_OK) {
        const ss_json *n = root->children;
        int64_t i64 = 0;
        test_true(n[0].is_integer && n[0].integer == 0 && same_bits(n[0].number, 0.0), "number: 0");
        test_true(n[1].is_integer && n[1].integer == 0 && same_bits(n[1].number, -0.0),
                  "number: -0 keeps its sign as a double");
        test_true(!n[2].is_integer && n[2].number == 1e-7, "number: 1e-7");
        test_true(!n[3].is_integer && n[3].number == 100.0,
                  "number: 1E+2 is 100, not an integer literal");
        test_true(n[4].is_integer && n[4].integer == INT64_C(123456789012) &&
                      n[4].number == 123456789012.0,
                  "number: 123456789012 exact");
        test_true(!n[5].is_integer && n[5].number == -1.5, "number: -1.5");
        test_true(n[6].is_integer && n[6].integer == INT64_MAX && n[7].is_integer &&
                      n[7].integer == INT64_MIN,
                  "number: int64 limits exact");
        test_true(!n[8].is_integer && n[8].number == 9223372036854775808.0 &&
                      ss_json_as_int64(&n[8], &i64) == SS_ERR_FORMAT,
                  "number: 2^63 is not an int64");
        test_true(n[9].number == 2.5e-310 && n[10].number == 0.0,
                  "number: subnormal and underflow");
        test_true(ss_json_as_int(&n[11], &i) == SS_ERR_FORMAT && detail_has("[11] (byte 122)") &&
                      detail_has("got 12"),
                  "number: 12.0 is not an int");
        test_true(ss_json_as_int(&n[4], &i) == SS_ERR_FORMAT && detail_has("within int range"),
                  "number: 123456789012 is out of int range");
        test_true(ss_json_as_int64(&n[4], &i64) == SS_OK && i64 == INT64_C(123456789012) &&
                      ss_json_as_double(&n[5], &d) == SS_OK && d == -1.5 &&
                      ss_json_as_double(&n[4], &d) == SS_OK,
                  "number: as_int64, as_double");
    } else {
        test_true(0, "numbers parse");
    }
    ss_json_doc_free(&doc);

    {
        const char *t = "{\n  \"a\": 1,\n\t\"\xc3\xa9\xc3\xa9\": x}";
        int line = 0, col = 0;
        ss_json_line_col(t, strlen(t), 0, &line, &col);
        test_true(line == 1 && col == 1, "line_col: start is 1:1");
        ss_json_line_col(t, strlen(t), 4, &line, &col);
        test_true(line == 2 && col == 3, "line_col: second line");
        ss_json_line_col(t, strlen(t), 21, &line, &col);
        test_true(line == 3 && col == 8, "line_col: columns count code points");
    }
}

/* One malformed document: SS_ERR_FORMAT, the doc left zeroed, and the detail holds want. */
static void expect_bad(const char *name, const char *text, size_t len, const char *want) {
    ss_json_doc doc;
    ss_result r = ss_json_parse(&doc, text, len, "bad.json");
    int ok = r == SS_ERR_FORMAT && doc.nodes == NULL && doc.count == 0 && detail_has(want) &&
             detail_has("bad.json:");
    if (!ok)
        printf("  %s: result %d, detail \"%s\", want \"%s\"\n", name, r, ss_last_error_detail(),
               want);
    test_true(ok, name);
    ss_json_doc_free(&doc);
}
#define BAD(name, text, want) expect_bad(name, text, sizeof(text) - 1, want)

static void test_malformed(void) {
    BAD("bad: empty", "", "1:1 (byte 0): empty document");
    BAD("bad: whitespace only", " \n ", "2:2 (byte 3): empty document");
    BAD("bad: trailing comma in array", "[1,2,]", "1:5 (byte 4): trailing comma before ']'");
    BAD("bad: trailing comma in object", "{\"a\":1,}", "1:7 (byte 6): trailing comma before '}'");
    BAD("bad: comment as a value", "[// c\n1]", "1:2 (byte 1): comments are not allowed");
    BAD("bad: comment after a value", "{\"a\":1 /* c */}", "(byte 7): expected ',' or '}'");
    BAD("bad: single-quoted key", "{'a':1}", "(byte 1): keys must be in double quotes");
    BAD("bad: single-quoted string", "['a']", "(byte 1): strings must be in double quotes");
    BAD("bad: leading zero", "[01]", "(byte 1): leading zeros");
    BAD("bad: negative leading zero", "-012", "(byte 0): leading zeros");
    BAD("bad: NaN", "[NaN]", "1:2 (byte 1): unexpected 'N' (bare words");
    BAD("bad: Infinity", "{\"x\": Infinity}", "(byte 6): unexpected 'I'");
    BAD("bad: -Infinity", "-Infinity", "(byte 1): expected a digit after '-'");
    BAD("bad: plus sign", "[+1]", "(byte 1): unexpected '+'");
    BAD("bad: bare fraction", "[.5]", "(byte 1): unexpected '.'");
    BAD("bad: 1.", "[1.]", "(byte 3): expected a digit after '.'");
    BAD("bad: 1e", "[1e]", "(byte 3): expected a digit in the exponent");
    BAD("bad: 1e+", "1e+", "(byte 3): expected a digit in the exponent");
    BAD("bad: hex", "0x10", "(byte 1): unexpected 'x' after the JSON value");
    BAD("bad: huge number", "[1e400]", "(byte 1): number 1e400 is beyond the range");
    BAD("bad: tru", "[tru]", "(byte 1): invalid literal (expected true)");
    BAD("bad: nul", "nul", "(byte 0): invalid literal (expected null)");
    BAD("bad: True", "True", "(byte 0): unexpected 'T'");
    BAD("bad: raw tab in string", "[\"a\tb\"]", "1:4 (byte 3): control character 0x09");
    BAD("bad: raw newline in string", "\"a\nb\"", "(byte 2): control character 0x0A");
    BAD("bad: invalid escape", "[\"\\x\"]", "(byte 2): invalid escape");
    BAD("bad: escaped quote char", "[\"\\'\"]", "(byte 2): invalid escape");
    BAD("bad: short \\u", "[\"\\u12\"]", "(byte 2): \\u must be followed by 4 hex digits");
    BAD("bad: lone high surrogate", "[\"\\ud800\"]", "(byte 2): \\uD800 is a high surrogate");
    BAD("bad: high surrogate then letter", "[\"\\ud800\\u0041\"]", "(byte 2): \\uD800 is a high");
    BAD("bad: two high surrogates", "[\"\\ud800\\ud800\"]", "(byte 2): \\uD800 is a high");
    BAD("bad: lone low surrogate", "[\"ab\\udc00\"]", "(byte 4): \\uDC00 is a low surrogate");
    BAD("bad: invalid UTF-8 continuation", "[\"\xc3\x28\"]", "(byte 2): invalid UTF-8 (byte 0xC3)");
    BAD("bad: overlong UTF-8", "[\"\xc0\xaf\"]", "(byte 2): invalid UTF-8");
    BAD("bad: UTF-8 surrogate", "[\"x\xed\xa0\x80\"]", "(byte 3): invalid UTF-8");
    BAD("bad: UTF-8 above U+10FFFF", "[\"\xf4\x90\x80\x80\"]", "(byte 2): invalid UTF-8");
    BAD("bad: truncated UTF-8", "[\"\xe4\xb8\"]", "(byte 2): invalid UTF-8");
    BAD("bad: 0xFF outside strings", "[\xff]", "(byte 1): unexpected byte 0xFF");
    BAD("bad: byte order mark", "\xef\xbb\xbf{}", "(byte 0): byte order mark");
    BAD("bad: duplicate key", "{\"a\":1,\"b\":2,\"a\":3}", "1:14 (byte 13): duplicate key \"a\"");
    BAD("bad: duplicate nested key", "{\"o\": {\"k\": 1, \"k\": 2}}",
        "(byte 15): duplicate key \"k\"");
    BAD("bad: trailing garbage", "{} x", "1:4 (byte 3): unexpected 'x' after the JSON value");
    BAD("bad: two values", "1 2", "(byte 2): unexpected '2' after the JSON value");
    BAD("bad: unterminated string", "[\"abc", "(byte 1): unterminated string");
    BAD("bad: unterminated array", "[1,2", "(byte 4): unexpected end of input in an array");
    BAD("bad: unterminated object", "{\"a\":1", "(byte 6): unexpected end of input in an object");
    BAD("bad: missing colon", "{\"a\" 1}", "(byte 5): expected ':' after the key \"a\"");
    BAD("bad: missing value", "{\"a\":}", "(byte 5): unexpected '}', expected a value");
    BAD("bad: non-string key", "{1:2}", "(byte 1): expected a \"key\"");
    BAD("bad: missing comma", "[1 2]", "(byte 3): expected ',' or ']'");
    BAD("bad: double comma", "{\n  \"a\": 1,\n  \"b\": [1,,2]\n}",
        "3:11 (byte 22): unexpected ','");
    BAD("bad: column counts code points", "[\"\xc3\xa9\", x]", "1:7 (byte 7): unexpected 'x'");
    expect_bad("bad: NUL byte outside strings", "[1,\0]", 5, "(byte 3): unexpected byte 0x00");
    expect_bad("bad: NUL byte in a string", "[\"a\0\"]", 6, "(byte 3): control character 0x00");

    { /* a duplicate in a large object: the earliest repeated key is named */
        char text[4000];
        size_t n = 0;
        int i;
        n += (size_t)sprintf(text + n, "{");
        for (i = 0; i < 100; i++) n += (size_t)sprintf(text + n, "\"k%03d\":%d,", i, i);
        n += (size_t)sprintf(text + n, "\"k050\":0,\"k007\":1}");
        /* the repeat of k050 starts right after the 100 members of 9 or 10 bytes each */
        expect_bad("bad: duplicate in a 102-member object", text, n, "duplicate key \"k050\"");
        {
            char want[32];
            sprintf(want, "(byte %zu)", n - 18);
            expect_bad("bad: ... at the first repeat's byte", text, n, want);
        }
    }
    { /* a number literal past the length limit */
        char text[400];
        memset(text, '1', 300);
        expect_bad("bad: 300-digit number", text, 300, "(byte 0): number literal longer than 256");
    }
}

static void test_depth(void) {
    static char text[100000];
    ss_json_doc doc;
    const ss_json *v;
    int i, depth = 0;
    ss_result r;
    for (i = 0; i < 64; i++) text[i] = '[', text[64 + i] = ']';
    r = ss_json_parse(&doc, text, 128, "deep");
    for (v = ss_json_root(&doc); v && ss_json_count(v); v = ss_json_at(v, 0)) depth++;
    test_true(r == SS_OK && depth == 63, "depth: 64 nested arrays parse");
    ss_json_doc_free(&doc);
    for (i = 0; i < 65; i++) text[i] = '[', text[65 + i] = ']';
    expect_bad("depth: 65 nested arrays fail at the 65th", text, 130,
               "1:65 (byte 64): nesting deeper than 64");
    memset(text, '[', sizeof text); /* [[[[... deep, never closed */
    expect_bad("depth: 100000 open brackets fail without overflowing the stack", text, 100000,
               "(byte 64): nesting deeper");
}

/* Structural equality of two parsed values (numbers by bits, strings by bytes). */
static int json_equal(const ss_json *a, const ss_json *b) {
    size_t i;
    if (a->type != b->type || a->key_length != b->key_length) return 0;
    if (a->key && memcmp(a->key, b->key, a->key_length) != 0) return 0;
    switch (a->type) {
    case SS_JSON_NULL:
        return 1;
    case SS_JSON_BOOL:
        return a->boolean == b->boolean;
    case SS_JSON_NUMBER: /* 1e2 comes back as 100: the value counts, not the literal's form */
        return same_bits(a->number, b->number) &&
               (!a->is_integer || !b->is_integer || a->integer == b->integer);
    case SS_JSON_STRING:
        return a->length == b->length && memcmp(a->string, b->string, a->length) == 0;
    case SS_JSON_ARRAY:
    case SS_JSON_OBJECT:
        if (a->length != b->length) return 0;
        for (i = 0; i < a->length; i++)
            if (!json_equal(&a->children[i], &b->children[i])) return 0;
        return 1;
    }
    return 0;
}

/* Write a parsed value back out; 0 if a key holds a NUL (write_key takes C strings). */
static int json_write_value(ss_json_writer *w, const ss_json *v) {
    size_t i;
    switch (v->type) {
    case SS_JSON_NULL:
        ss_json_write_null(w);
        return 1;
    case SS_JSON_BOOL:
        ss_json_write_bool(w, v->boolean);
        return 1;
    case SS_JSON_NUMBER:
        /* beyond 2^53 a double loses digits: write the exact integer */
        if (v->is_integer &&
            (v->integer > INT64_C(9007199254740992) || v->integer < -INT64_C(9007199254740992)))
            ss_json_write_int(w, v->integer);
        else
            ss_json_write_number(w, v->number);
        return 1;
    case SS_JSON_STRING:
        ss_json_write_string_n(w, v->string, v->length);
        return 1;
    case SS_JSON_ARRAY:
        ss_json_write_begin_array(w);
        for (i = 0; i < v->length; i++)
            if (!json_write_value(w, &v->children[i])) return 0;
        ss_json_write_end_array(w);
        return 1;
    case SS_JSON_OBJECT:
        ss_json_write_begin_object(w);
        for (i = 0; i < v->length; i++) {
            if (strlen(v->children[i].key) != v->children[i].key_length) return 0;
            ss_json_write_key(w, v->children[i].key);
            if (!json_write_value(w, &v->children[i])) return 0;
        }
        ss_json_write_end_object(w);
        return 1;
    }
    return 0;
}

static const double round_trip_numbers[] = {0.1,
                                            1e300,
                                            -2.5e-310,
                                            3.0,
                                            -0.0,
                                            1.0 / 3.0,
                                            123456789012.0,
                                            1.7976931348623157e308,
                                            4.9406564584124654e-324,
                                            -1e-7,
                                            9007199254740993.0,
                                            0.30000000000000004,
                                            2.5};

static void write_sample(ss_json_writer *w) {
    size_t i;
    ss_json_write_begin_object(w);
    ss_json_write_key(w, "strings");
    ss_json_write_begin_array(w);
    ss_json_write_string(w, "quote\" and back\\slash /");
    ss_json_write_string(w, "ctl \x01\x1f\x7f\b\f\n\r\t");
    ss_json_write_string(w, "non-ASCII \xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80");
    ss_json_write_string_n(w, "nul\0inside", 10);
    ss_json_write_string(w, "");
    ss_json_write_end_array(w);
    ss_json_write_key(w, "numbers");
    ss_json_write_begin_array(w);
    for (i = 0; i < sizeof round_trip_numbers / sizeof round_trip_numbers[0]; i++)
        ss_json_write_number(w, round_trip_numbers[i]);
    ss_json_write_int(w, INT64_MIN);
    ss_json_write_int(w, INT64_MAX);
    ss_json_write_end_array(w);
    ss_json_write_key(w, "key \"quoted\"\n");
    ss_json_write_begin_object(w);
    ss_json_write_key(w, "t");
    ss_json_write_bool(w, 1);
    ss_json_write_key(w, "f");
    ss_json_write_bool(w, 0);
    ss_json_write_key(w, "n");
    ss_json_write_null(w);
    ss_json_write_key(w, "empty");
    ss_json_write_begin_object(w);
    ss_json_write_end_object(w);
    ss_json_write_key(w, "nested");
    ss_json_write_begin_array(w);
    ss_json_write_begin_array(w);
    ss_json_write_end_array(w);
    ss_json_write_end_array(w);
    ss_json_write_end_object(w);
    ss_json_write_end_object(w);
}

static void test_writer(void) {
    ss_json_writer w;
    ss_json_doc doc;
    int pretty;

    ss_json_writer_init(&w, 0);
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "a");
    ss_json_write_begin_array(&w);
    ss_json_write_int(&w, 1);
    ss_json_write_number(&w, 2.5);
    ss_json_write_string(&w, "x");
    ss_json_write_end_array(&w);
    ss_json_write_key(&w, "b");
    ss_json_write_begin_object(&w);
    ss_json_write_end_object(&w);
    ss_json_write_end_object(&w);
    test_true(ss_json_writer_finish(&w) == SS_OK &&
                  strcmp(w.text, "{\"a\":[1,2.5,\"x\"],\"b\":{}}") == 0 &&
                  w.length == strlen(w.text),
              "writer: compact text");
    ss_json_writer_free(&w);

    ss_json_writer_init(&w, 1);
    ss_json_write_begin_object(&w);
    ss_json_write_key(&w, "a");
    ss_json_write_begin_array(&w);
    ss_json_write_int(&w, 1);
    ss_json_write_number(&w, 0.1);
    ss_json_write_end_array(&w);
    ss_json_write_key(&w, "b");
    ss_json_write_begin_object(&w);
    ss_json_write_end_object(&w);
    ss_json_write_end_object(&w);
    test_true(ss_json_writer_finish(&w) == SS_OK &&
                  strcmp(w.text, "{\n  \"a\": [\n    1,\n    0.1\n  ],\n  \"b\": {}\n}") == 0,
              "writer: pretty text with 2-space indent, 0.1 written short");
    ss_json_writer_free(&w);

    ss_json_writer_init(&w, 0);
    ss_json_write_begin_array(&w);
    ss_json_write_string(&w, "q\"b\\c\x01\n");
    ss_json_write_number(&w, 3.0);
    ss_json_write_number(&w, -0.0);
    ss_json_write_number(&w, 1e300);
    ss_json_write_end_array(&w);
    test_true(ss_json_writer_finish(&w) == SS_OK &&
                  strcmp(w.text, "[\"q\\\"b\\\\c\\u0001\\n\",3,-0,1e+300]") == 0,
              "writer: escapes, integral doubles as integers, exponent form");
    ss_json_writer_free(&w);

    for (pretty = 0; pretty <= 1; pretty++) {
        const ss_json *root, *nums;
        size_t i, n = sizeof round_trip_numbers / sizeof round_trip_numbers[0];
        int ok;
        ss_result r;
        ss_json_writer_init(&w, pretty);
        write_sample(&w);
        r = ss_json_writer_finish(&w);
        ok = r == SS_OK && ss_json_parse(&doc, w.text, w.length, "written") == SS_OK;
        root = ss_json_root(&doc);
        nums = ss_json_get(root, "numbers");
        for (i = 0; ok && i < n; i++)
            ok = same_bits(ss_json_at(nums, i)->number, round_trip_numbers[i]);
        ok = ok && ss_json_at(nums, n)->integer == INT64_MIN &&
             ss_json_at(nums, n + 1)->integer == INT64_MAX;
        test_true(ok, pretty ? "writer round trip (pretty): doubles bit-exact"
                             : "writer round trip (compact): doubles bit-exact");
        ok = ok &&
             memcmp(ss_json_at(ss_json_get(root, "strings"), 0)->string,
                    "quote\" and back\\slash /", 24) == 0 &&
             memcmp(ss_json_at(ss_json_get(root, "strings"), 1)->string,
                    "ctl \x01\x1f\x7f\b\f\n\r\t", 13) == 0 &&
             strcmp(ss_json_at(ss_json_get(root, "strings"), 2)->string,
                    "non-ASCII \xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80") == 0 &&
             ss_json_at(ss_json_get(root, "strings"), 3)->length == 10 &&
             memcmp(ss_json_at(ss_json_get(root, "strings"), 3)->string, "nul\0inside", 10) == 0 &&
             ss_json_get(ss_json_get(root, "key \"quoted\"\n"), "n")->type == SS_JSON_NULL &&
             ss_json_get(ss_json_get(root, "key \"quoted\"\n"), "t")->boolean == 1;
        test_true(ok, pretty ? "writer round trip (pretty): strings, keys, literals"
                             : "writer round trip (compact): strings, keys, literals");
        if (ok) { /* and back out again: the same text */
            ss_json_writer w2;
            ss_json_writer_init(&w2, pretty);
            json_write_value(&w2, root);
            test_true(ss_json_writer_finish(&w2) == SS_OK && w2.length == w.length &&
                          memcmp(w2.text, w.text, w.length) == 0,
                      "writer: parse then write reproduces the text");
            ss_json_writer_free(&w2);
        }
        ss_json_doc_free(&doc);
        ss_json_writer_free(&w);
    }

    ss_json_writer_init(&w, 0);
    ss_json_write_begin_array(&w);
    ss_json_write_number(&w, 1.0);
    test_true(ss_json_write_number(&w, strtod("nan", NULL)) == SS_ERR_NONFINITE &&
                  detail_has("no JSON form"),
              "writer: NaN is SS_ERR_NONFINITE");
    ss_json_write_number(&w, 2.0);
    ss_json_write_end_array(&w);
    test_true(ss_json_writer_finish(&w) == SS_ERR_NONFINITE && strcmp(w.text, "[1,") == 0,
              "writer: the error sticks, later writes do nothing");
    ss_json_writer_free(&w);
    ss_json_writer_init(&w, 0);
    test_true(ss_json_write_string(&w, "bad \xc3\x28") == SS_ERR_INVALID &&
                  detail_has("not UTF-8") && ss_json_writer_finish(&w) == SS_ERR_INVALID,
              "writer: invalid UTF-8 is SS_ERR_INVALID");
    ss_json_writer_free(&w);
    ss_json_writer_free(&w);
    test_true(w.text == NULL && w.length == 0, "writer: free twice, leaves it zeroed");
}

static void test_allocation_failures(void) {
    char text[8000];
    size_t n = 0;
    long at;
    int tried = 0, all_reported = 1, none_leaked = 1, i;
    n += (size_t)sprintf(text + n, "{\"name\": \"a string long enough to grow the arena more than "
                                   "once, \\u00e9\", \"list\": [");
    for (i = 0; i < 300; i++)
        n += (size_t)sprintf(text + n, "%s{\"k\": %d, \"s\": \"v%d\"}", i ? "," : "", i, i);
    n += (size_t)sprintf(text + n, "], \"wide\": {");
    for (i = 0; i < 40; i++)
        n += (size_t)sprintf(text + n, "%s\"key%02d\": %d.5", i ? "," : "", i, i);
    n += (size_t)sprintf(text + n, "}}");
    for (at = 0; at < 1000; at++) {
        ss_json_doc doc;
        ss_result r;
        arm_failure(at);
        r = ss_json_parse(&doc, text, n, "alloc.json");
        ss_json_doc_free(&doc);
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break;
        tried++;
        if (r != SS_ERR_NOMEM || !detail_has("alloc.json")) all_reported = 0;
    }
    arm_failure(-1);
    printf("  parser: %d allocation sites failed in turn\n", tried);
    test_true(tried >= 5 && at < 1000 && all_reported && none_leaked,
              "alloc failure: parser reports NOMEM naming the source at every site, leaks nothing");

    for (at = 0, tried = 0; at < 1000; at++) {
        ss_json_writer w;
        ss_result r;
        arm_failure(at);
        ss_json_writer_init(&w, 1);
        ss_json_write_begin_array(&w);
        for (i = 0; i < 2000; i++) ss_json_write_string(&w, "grow the buffer a few times over");
        write_sample(&w);
        ss_json_write_end_array(&w);
        r = ss_json_writer_finish(&w);
        ss_json_writer_free(&w);
        if (alloc_live != 0) none_leaked = 0;
        if (r == SS_OK) break;
        tried++;
        if (r != SS_ERR_NOMEM || !detail_has("JSON writer")) all_reported = 0;
    }
    arm_failure(-1);
    test_true(tried >= 3 && at < 1000 && all_reported && none_leaked,
              "alloc failure: writer status sticks as NOMEM, leaks nothing");
}

/* Random bytes and mutated documents: never a crash (the sanitizer build watches), always OK or
   FORMAT with a detail, and whatever parses survives write-then-parse unchanged. */
static void test_fuzz(void) {
    static const char *seeds[] = {
        "{\"a\": [1, 2.5e-3, -0, {\"b\": null}], \"c\": \"x\\u00e9\\ud83d\\ude00\", \"d\": true}",
        "[[[[]]], {}, \"\", 0, -1.5E+7, false, null, \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]",
        "{\"model\": {\"hidden_size\": 256, \"num_heads\": 8, \"rope\": {\"theta\": 10000.0}}}",
    };
    static const char alphabet[] = "{}[],:\"\\ 0123456789-+.eEtrufalsn\x01\x80\xc3\xa9\xff/'u";
    ss_rng rng;
    char buf[512];
    int iter, mismatches = 0, bad_results = 0, round_trips = 0, parsed = 0;
    ss_rng_seed(&rng, 2024);
    for (iter = 0; iter < 6000; iter++) {
        ss_json_doc doc;
        size_t n, k;
        ss_result r;
        if (iter < 3000) { /* random strings over an alphabet of JSON's own characters */
            n = ss_rng_u32(&rng) % 64;
            for (k = 0; k < n; k++) buf[k] = alphabet[ss_rng_u32(&rng) % (sizeof alphabet - 1)];
        } else { /* a valid document with a few bytes flipped, inserted or deleted */
            const char *s = seeds[iter % 3];
            int edits = 1 + (int)(ss_rng_u32(&rng) % 4), e;
            n = strlen(s);
            memcpy(buf, s, n);
            for (e = 0; e < edits && n > 1; e++) {
                size_t at = ss_rng_u32(&rng) % n;
                unsigned kind = ss_rng_u32(&rng) % 3;
                char c = ss_rng_u32(&rng) % 2 ? alphabet[ss_rng_u32(&rng) % (sizeof alphabet - 1)]
                                              : (char)ss_rng_u32(&rng);
                if (kind == 0)
                    buf[at] = c;
                else if (kind == 1 && n < sizeof buf - 1)
                    memmove(buf + at + 1, buf + at, n - at), buf[at] = c, n++;
                else
                    memmove(buf + at, buf + at + 1, n - at - 1), n--;
            }
        }
        r = ss_json_parse(&doc, buf, n, "fuzz");
        if (r == SS_OK) {
            ss_json_writer w;
            ss_json_doc again = {NULL, 0, NULL}; /* freed even when the write fails */
            parsed++;
            ss_json_writer_init(&w, (int)(iter & 1));
            if (json_write_value(&w, ss_json_root(&doc))) {
                if (ss_json_writer_finish(&w) != SS_OK ||
                    ss_json_parse(&again, w.text, w.length, "again") != SS_OK ||
                    !json_equal(ss_json_root(&doc), ss_json_root(&again)))
                    mismatches++;
                else
                    round_trips++;
                ss_json_doc_free(&again);
            }
            ss_json_writer_free(&w);
        } else if (r != SS_ERR_FORMAT || !detail_has("fuzz:")) {
            bad_results++;
        }
        ss_json_doc_free(&doc);
    }
    printf("  fuzz: %d of 6000 inputs parsed, %d round-tripped\n", parsed, round_trips);
    test_true(bad_results == 0, "fuzz: every rejection is FORMAT with a located detail");
    test_true(mismatches == 0 && round_trips > 50,
              "fuzz: accepted inputs survive write-then-parse");
    test_true(alloc_live == 0, "fuzz: nothing leaked");
}

int main(void) {
    printf("%s\n", ss_build_info());
    test_valid();
    test_malformed();
    test_depth();
    test_writer();
    test_allocation_failures();
    test_fuzz();
    test_true(alloc_live == 0, "no allocation outstanding at exit");
    return test_summary("test_json");
}
