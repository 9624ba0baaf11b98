/* tools/gen_unicode.c - generate the Unicode tables of subspace.h's tokenizer (section 9) from the
   Unicode Character Database, as Debian's unicode-data package installs it:

       apt-get install -y unicode-data
       cc -std=c99 -O2 -DSS_GEN_UNICODE -o build/gen_unicode tools/gen_unicode.c
       build/gen_unicode /usr/share/unicode > dev/tok/unicode_tables.inc

   Without -DSS_GEN_UNICODE this file compiles to nothing, so the `ss` build, which compiles every
   tools/ C file, is unaffected. Reads UnicodeData.txt (general category, canonical combining class,
   canonical decompositions, simple lowercase), SpecialCasing.txt (the unconditional full
   lowercase mappings, which Python's str.lower() applies: U+0130 -> U+0069 U+0307) and
   DerivedCoreProperties.txt (Cased and Case_Ignorable, for Python's word-final sigma rule, and
   the Unicode version).

   What the tables answer, for BERT's uncased basic tokenizer (see section 9 of subspace.h):
   1. A class for every code point, one of the SS__UC_* kinds below plus a "fold" flag (+8), in
      a three-level table: top[cp >> 8] -> mid block, mid[block * 16 + ((cp >> 4) & 15)] -> leaf,
      leaf[cp & 15] -> 'A' + class, identical blocks and leaves stored once. Unassigned code
      points are controls (category Cn), which BERT's clean-up drops.
   2. The fold of a flagged code point c: NFD(lower(c)) with every nonspacing mark (Mn) removed,
      i.e. what lowercasing and accent stripping leave of it. Hangul syllables are flagged too but
      decomposed by the algorithm of Unicode section 3.12 at run time, so they are not listed.
      No keys are stored: a sorted list of the 16-code-point blocks that hold folds gives the
      index of the block's first one, and the rank of c among the flagged code points of its
      leaf the rest. Most folds are one code point; the others (Indic two-part vowels, musical
      symbols) point into a small table of up to 3.
   3. The canonical combining class of the few characters that survive accent stripping with a
      class other than 0 (spacing marks such as U+1D165), for canonical reordering.
   4. Cased and Case_Ignorable as sorted toggle points (for the word-final sigma).
   The program checks the assumptions the tokenizer relies on and fails loudly if a future
   Unicode version breaks one. About 51 kB of C text for Unicode 15.0.
*/
#ifdef SS_GEN_UNICODE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCP 0x110000
#define MAXSEQ 8

/* Must match the SS__UC_* kinds in subspace.h section 9. */
enum { K_OTHER, K_DROP, K_SPACE, K_PUNCT, K_MN_BREAK, K_MN, K_NONSTARTER };
#define K_FOLD 8 /* flag: the code point changes under lowercasing + accent stripping */

static char gc[NCP][3];              /* general category, "Cn" when unassigned */
static unsigned char ccc[NCP];       /* canonical combining class */
static unsigned dec[NCP][2];         /* canonical decomposition (1 or 2 code points) */
static unsigned char dec_n[NCP];
static unsigned lower1[NCP];         /* simple lowercase (itself when none) */
static unsigned lowerx[NCP][3];      /* unconditional full lowercase from SpecialCasing */
static unsigned char lowerx_n[NCP];
static unsigned char cased[NCP], case_ignorable[NCP];
static unsigned char klass[NCP];
static char version[32] = "unknown";

static void die(const char *what, unsigned cp) {
    fprintf(stderr, "gen_unicode: %s (U+%04X)\n", what, cp);
    exit(1);
}

static FILE *open_ucd(const char *dir, const char *name) {
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gen_unicode: cannot open %s (apt-get install -y unicode-data)\n", path);
        exit(1);
    }
    return f;
}

/* Split line at ';' into at most max fields (in place); returns the count. */
static int split_fields(char *line, char **field, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        char *semi = strchr(p, ';');
        if (n < max) field[n++] = p;
        if (!semi) break;
        *semi = '\0';
        p = semi + 1;
    }
    return n;
}

static void read_unicode_data(const char *dir) {
    FILE *f = open_ucd(dir, "UnicodeData.txt");
    char line[1024], *field[16];
    unsigned cp, range_start = 0;
    int in_range = 0;
    for (cp = 0; cp < NCP; cp++) {
        memcpy(gc[cp], "Cn", 3);
        lower1[cp] = cp;
    }
    while (fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        unsigned lo;
        if (nl) *nl = '\0';
        if (split_fields(line, field, 16) < 15) continue;
        cp = (unsigned)strtoul(field[0], NULL, 16);
        if (cp >= NCP) die("code point out of range", cp);
        if (strstr(field[1], ", First>")) {
            range_start = cp;
            in_range = 1;
        }
        lo = in_range && strstr(field[1], ", Last>") ? range_start : cp;
        for (; lo <= cp; lo++) {
            memcpy(gc[lo], field[2], 2);
            gc[lo][2] = '\0';
            ccc[lo] = (unsigned char)atoi(field[3]);
        }
        if (strstr(field[1], ", Last>")) in_range = 0;
        if (field[5][0] && field[5][0] != '<') { /* canonical: no <tag> */
            char *p = field[5], *end;
            while (*p) {
                unsigned d = (unsigned)strtoul(p, &end, 16);
                if (end == p) break;
                if (dec_n[cp] == 2) die("canonical decomposition longer than 2", cp);
                dec[cp][dec_n[cp]++] = d;
                p = end;
            }
        }
        if (field[13][0]) lower1[cp] = (unsigned)strtoul(field[13], NULL, 16);
    }
    fclose(f);
}

static void read_special_casing(const char *dir) {
    FILE *f = open_ucd(dir, "SpecialCasing.txt");
    char line[1024], *field[8];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#'), *p, *end;
        unsigned cp;
        int n;
        if (hash) *hash = '\0';
        n = split_fields(line, field, 8);
        if (n < 5) continue;
        /* code; lower; title; upper; [conditions;] - conditional mappings (final sigma, Turkish,
           Lithuanian) are not what Python's str.lower() applies from this file */
        if (n >= 6 && strspn(field[4], " ") != strlen(field[4])) continue;
        cp = (unsigned)strtoul(field[0], NULL, 16);
        p = field[1];
        lowerx_n[cp] = 0;
        while (*p) {
            unsigned d = (unsigned)strtoul(p, &end, 16);
            if (end == p) break;
            if (lowerx_n[cp] == 3) die("full lowercase longer than 3", cp);
            lowerx[cp][lowerx_n[cp]++] = d;
            p = end;
        }
    }
    fclose(f);
}

static void read_core_properties(const char *dir) {
    FILE *f = open_ucd(dir, "DerivedCoreProperties.txt");
    char line[1024];
    if (fgets(line, sizeof line, f)) { /* "# DerivedCoreProperties-15.0.0.txt" */
        char *p = strchr(line, '-'), *q = strstr(line, ".txt");
        if (p && q && q > p + 1 && (size_t)(q - p - 1) < sizeof version) {
            memcpy(version, p + 1, (size_t)(q - p - 1));
            version[q - p - 1] = '\0';
        }
    }
    while (fgets(line, sizeof line, f)) {
        unsigned lo, hi;
        char *semi, *name, *end;
        unsigned char *prop;
        if (line[0] == '#' || !(semi = strchr(line, ';'))) continue;
        lo = hi = (unsigned)strtoul(line, &end, 16);
        if (end[0] == '.' && end[1] == '.') hi = (unsigned)strtoul(end + 2, NULL, 16);
        name = semi + 1;
        while (*name == ' ') name++;
        if (strncmp(name, "Cased ", 6) == 0) prop = cased;
        else if (strncmp(name, "Case_Ignorable ", 15) == 0) prop = case_ignorable;
        else continue;
        for (; lo <= hi; lo++) prop[lo] = 1;
    }
    fclose(f);
}

/* Hangul syllables decompose by arithmetic (Unicode 15.0, section 3.12). */
#define S_BASE 0xAC00u
#define S_COUNT 11172u
static int is_hangul(unsigned cp) { return cp >= S_BASE && cp < S_BASE + S_COUNT; }

/* Full canonical decomposition of cp appended to out (recursive). */
static int nfd(unsigned cp, unsigned *out, int n) {
    if (is_hangul(cp)) {
        unsigned s = cp - S_BASE;
        out[n++] = 0x1100 + s / 588;
        out[n++] = 0x1161 + (s % 588) / 28;
        if (s % 28) out[n++] = 0x11A7 + s % 28;
        return n;
    }
    if (dec_n[cp] == 0) {
        if (n == MAXSEQ) die("decomposition too long", cp);
        out[n++] = cp;
        return n;
    }
    n = nfd(dec[cp][0], out, n);
    if (dec_n[cp] == 2) n = nfd(dec[cp][1], out, n);
    return n;
}

/* Python's str.lower() of one character: SpecialCasing's unconditional mapping, else simple. */
static int lower_full(unsigned cp, unsigned *out) {
    int i;
    if (lowerx_n[cp]) {
        for (i = 0; i < lowerx_n[cp]; i++) out[i] = lowerx[cp][i];
        return lowerx_n[cp];
    }
    out[0] = lower1[cp];
    return 1;
}

static int is_control(unsigned cp) { /* BERT's _is_control: category C*, but not \t \n \r */
    return gc[cp][0] == 'C' && cp != 9 && cp != 10 && cp != 13;
}
static int is_space(unsigned cp) { /* BERT's _is_whitespace, plus the two separators that
                                       Python's str.split() splits at and clean-up keeps */
    return cp == ' ' || cp == 9 || cp == 10 || cp == 13 || strcmp(gc[cp], "Zs") == 0 ||
           cp == 0x2028 || cp == 0x2029;
}
static int is_punct(unsigned cp) { /* BERT's _is_punctuation: ASCII symbols and category P* */
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126) || gc[cp][0] == 'P';
}
static int is_mn(unsigned cp) { return strcmp(gc[cp], "Mn") == 0; }

/* fold: NFD(lower(cp)) without Mn. Returns its length; checks that dropping the marks cannot
   change canonical reordering of what survives (see the comment at the top). */
static int fold(unsigned cp, unsigned *out) {
    unsigned low[3], seq[MAXSEQ * 3];
    int nl = lower_full(cp, low), n = 0, i, m = 0, pending = 0;
    for (i = 0; i < nl; i++) {
        if (is_control(low[i]) || is_space(low[i]) || low[i] == 0xFFFD)
            die("lowercase of a kept character is dropped or a space", cp);
        n = nfd(low[i], seq, n);
    }
    for (i = 0; i < n; i++) {
        unsigned d = seq[i];
        if (is_mn(d)) {
            /* a dropped starter ends a combining run: harmless unless a surviving non-starter
               of the same run precedes it */
            if (ccc[d] == 0 && pending) die("dropped starter after a surviving non-starter", cp);
            continue;
        }
        if (is_control(d) || is_space(d)) die("decomposition contains a control or space", cp);
        if (ccc[d] && i > 0 && is_mn(seq[i - 1]) && ccc[seq[i - 1]] == 0)
            die("surviving non-starter right after a dropped starter", cp);
        pending = ccc[d] != 0;
        out[m++] = d;
    }
    return m;
}

static void classify(void) {
    unsigned cp, f[MAXSEQ * 3];
    for (cp = 0; cp < NCP; cp++) {
        int k, n;
        if (cp == 0 || cp == 0xFFFD || is_control(cp)) {
            k = K_DROP;
        } else if (is_space(cp)) {
            k = K_SPACE;
        } else if (is_mn(cp)) { /* dropped whole; does its decomposition hold a starter? */
            unsigned seq[MAXSEQ];
            int i, starter = 0;
            n = nfd(cp, seq, 0);
            for (i = 0; i < n; i++) {
                if (!is_mn(seq[i])) die("Mn decomposes to a non-Mn", cp);
                if (ccc[seq[i]] == 0) starter = 1;
            }
            if (lower_full(cp, f) != 1 || f[0] != cp) die("Mn with a lowercase", cp);
            k = starter ? K_MN_BREAK : K_MN;
        } else {
            k = is_punct(cp) ? K_PUNCT : ccc[cp] ? K_NONSTARTER : K_OTHER;
            if (k == K_PUNCT && ccc[cp]) die("punctuation with a combining class", cp);
            n = fold(cp, f);
            if (n != 1 || f[0] != cp) k |= K_FOLD;
        }
        if ((k & 7) == K_DROP || (k & 7) == K_SPACE) {
            n = lower_full(cp, f);
            if (n != 1 || f[0] != cp) die("control or space with a lowercase", cp);
        }
        klass[cp] = (unsigned char)k;
    }
}

/* ---- emitting ---------------------------------------------------------------------------- */

static int col = 0;
static void emit_item(const char *text) { /* comma-separated items, lines of at most 100 */
    size_t n = strlen(text);
    if (col + (int)n + 1 > 99) {
        printf("\n");
        col = 0;
    }
    if (col == 0) {
        printf("    ");
        col = 4;
    }
    printf("%s,", text);
    col += (int)n + 1;
}
static void emit_uint(unsigned v) {
    char item[16];
    sprintf(item, "%u", v);
    emit_item(item);
}
static void emit_end(void) {
    printf("\n};\n");
    col = 0;
}

#define LEAF 16u  /* code points per leaf */
#define MID 16u   /* leaves per mid block: each top entry covers 256 code points */
#define PLANE14 0xE0000u

static unsigned limit;                       /* the trie covers [0, limit) */
static unsigned leaf_of[NCP / LEAF], n_leaves, leaf_first[NCP / LEAF];
static unsigned mid_of[NCP / (LEAF * MID)], n_mids, mid_first[NCP / (LEAF * MID)];

/* Above the last assigned code point of planes 0-3 only plane 14 holds anything the tokenizer
   keeps apart from dropping: the variation selectors U+E0100..E01EF (Mn, starters). The run-time
   lookup hard-codes that; check it. */
static void find_limit(void) {
    unsigned cp, last = 0;
    for (cp = 0; cp < PLANE14; cp++)
        if (klass[cp] != K_DROP) last = cp;
    limit = (last / (LEAF * MID) + 1) * (LEAF * MID);
    for (cp = limit; cp < NCP; cp++) {
        unsigned want = cp >= 0xE0100 && cp <= 0xE01EF ? K_MN_BREAK : K_DROP;
        if (klass[cp] != want) die("unexpected class above the table limit", cp);
    }
}

static void emit_class_trie(void) {
    unsigned i, j, n_leaf_blocks, n_top;
    find_limit();
    n_leaf_blocks = limit / LEAF;
    n_top = limit / (LEAF * MID);
    for (i = 0; i < n_leaf_blocks; i++) { /* deduplicate leaves */
        for (j = 0; j < n_leaves; j++)
            if (memcmp(klass + leaf_first[j] * LEAF, klass + i * LEAF, LEAF) == 0) break;
        if (j == n_leaves) leaf_first[n_leaves++] = i;
        leaf_of[i] = j;
    }
    for (i = 0; i < n_top; i++) { /* deduplicate mid blocks */
        for (j = 0; j < n_mids; j++)
            if (memcmp(leaf_of + mid_first[j] * MID, leaf_of + i * MID, MID * sizeof(unsigned)) == 0)
                break;
        if (j == n_mids) mid_first[n_mids++] = i;
        mid_of[i] = j;
    }
    if (n_mids > 256 || n_leaves > 65535) die("class table too large for its index types", 0);
    printf("/* The class of code point cp < SS__UC_LIMIT is\n"
           "     ss__uc_leaf[ss__uc_mid[ss__uc_top[cp >> 8] * 16 + ((cp >> 4) & 15)]][cp & 15] - 'A'\n"
           "   (%u mid blocks, %u distinct leaves of 16 code points). Above the limit, everything\n"
           "   is dropped (unassigned, tags, private use) except U+E0100..E01EF, Mn starters. */\n",
           n_mids, n_leaves);
    printf("#define SS__UC_LIMIT 0x%X\n", limit);
    printf("static const unsigned char ss__uc_top[%u] = {\n", n_top);
    for (i = 0; i < n_top; i++) emit_uint(mid_of[i]);
    emit_end();
    printf("static const unsigned short ss__uc_mid[%u] = {\n", n_mids * MID);
    for (i = 0; i < n_mids; i++)
        for (j = 0; j < MID; j++) emit_uint(leaf_of[mid_first[i] * MID + j]);
    emit_end();
    printf("static const char ss__uc_leaf[%u][%u] = {\n", n_leaves, LEAF + 1);
    for (i = 0; i < n_leaves; i++) {
        char s[LEAF + 3];
        s[0] = '"';
        for (j = 0; j < LEAF; j++) s[1 + j] = (char)('A' + klass[leaf_first[i] * LEAF + j]);
        s[LEAF + 1] = '"';
        s[LEAF + 2] = '\0';
        emit_item(s);
    }
    emit_end();
}

static int listed_fold(unsigned cp) { return (klass[cp] & K_FOLD) && !is_hangul(cp); }

/* Folds are found without a key table: a sorted list of the 16-code-point blocks that hold
   any, each with the index of its first fold; within a block, the rank of cp among the flagged
   code points of its leaf (class >= 8) gives the offset. */
static void emit_folds(void) {
    unsigned cp, f[MAXSEQ * 3], n_blocks = 0, n_folds = 0, n_multi = 0, b;
    int n, i;
    for (b = 0; b < limit / LEAF; b++) {
        int any = 0, hangul = 0;
        for (cp = b * LEAF; cp < (b + 1) * LEAF; cp++) {
            any |= listed_fold(cp);
            hangul |= is_hangul(cp);
        }
        if (any && hangul) die("a block mixes Hangul and listed folds", b * LEAF);
        n_blocks += any;
    }
    printf("/* Folds (lowercase, then NFD without Mn) of the code points flagged +8, Hangul aside:\n"
           "   block i (cp >> 4 == ss__uc_fold_block[i]) has its first at ss__uc_fold_base[i]; the\n"
           "   value is the folded code point, or 0x110000 + k for ss__uc_fold_multi[k]. */\n");
    printf("#define SS__UC_NFOLD_BLOCK %u\n", n_blocks);
    printf("static const unsigned short ss__uc_fold_block[%u] = {\n", n_blocks);
    for (b = 0; b < limit / LEAF; b++)
        for (cp = b * LEAF; cp < (b + 1) * LEAF; cp++)
            if (listed_fold(cp)) {
                emit_uint(b);
                break;
            }
    emit_end();
    printf("static const unsigned short ss__uc_fold_base[%u] = {\n", n_blocks);
    for (b = 0; b < limit / LEAF; b++) {
        unsigned count = 0;
        for (cp = b * LEAF; cp < (b + 1) * LEAF; cp++) count += listed_fold(cp);
        if (count) emit_uint(n_folds);
        n_folds += count;
    }
    emit_end();
    if (n_folds > 65535) die("too many folds for 16-bit bases", 0);
    printf("static const uint32_t ss__uc_fold_value[%u] = {\n", n_folds);
    for (cp = 0; cp < limit; cp++)
        if (listed_fold(cp)) {
            n = fold(cp, f);
            if (n == 0 || n > 3) die("fold of a kept character is empty or longer than 3", cp);
            emit_uint(n == 1 ? f[0] : 0x110000 + n_multi++);
        }
    emit_end();
    printf("/* Folds of more than one code point: up to 3, 0 after the last. */\n");
    printf("static const uint32_t ss__uc_fold_multi[%u][3] = {\n", n_multi);
    for (cp = 0; cp < limit; cp++)
        if (listed_fold(cp) && (n = fold(cp, f)) > 1) {
            char item[64], *p = item;
            p += sprintf(p, "{");
            for (i = 0; i < 3; i++) p += sprintf(p, "%u%s", i < n ? f[i] : 0, i < 2 ? "," : "}");
            emit_item(item);
        }
    emit_end();
}

static void emit_nonstarters(void) {
    unsigned cp, n = 0;
    for (cp = 0; cp < NCP; cp++) n += (klass[cp] & 7) == K_NONSTARTER;
    printf("/* Kept non-starters (class 6; spacing marks such as U+1D165): cp << 8 | ccc, sorted. */\n");
    printf("#define SS__UC_NNONSTARTER %u\n", n);
    printf("static const uint32_t ss__uc_nonstarter[%u] = {\n", n);
    for (cp = 0; cp < NCP; cp++)
        if ((klass[cp] & 7) == K_NONSTARTER) {
            char item[16];
            sprintf(item, "0x%X", cp << 8 | ccc[cp]);
            emit_item(item);
        }
    emit_end();
}

/* A property as sorted toggle points: cp has it when the number of points <= cp is odd. */
static void emit_toggles(const char *name, const char *macro, const unsigned char *prop) {
    unsigned cp, n = 0;
    for (cp = 0; cp < NCP; cp++) n += prop[cp] != (cp ? prop[cp - 1] : 0);
    printf("#define %s %u\n", macro, n);
    printf("static const uint32_t %s[%u] = {\n", name, n);
    for (cp = 0; cp < NCP; cp++)
        if (prop[cp] != (cp ? prop[cp - 1] : 0)) emit_uint(cp);
    emit_end();
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/usr/share/unicode";
    read_unicode_data(dir);
    read_special_casing(dir);
    read_core_properties(dir);
    classify();
    printf("/* Unicode %s tables for the BERT basic tokenizer: GENERATED by tools/gen_unicode.c from"
           "\n   the Unicode Character Database (Debian's unicode-data). Do not edit; regenerate."
           "\n   Classes: 0 other, 1 dropped (NUL, U+FFFD, category C*), 2 space, 3 punctuation,"
           "\n   4 Mn ending a combining run, 5 other Mn, 6 kept non-starter; +8 when the code point"
           "\n   folds (changes under lowercasing and accent stripping). */\n", version);
    printf("#define SS__UC_VERSION \"%s\"\n", version);
    emit_class_trie();
    emit_folds();
    emit_nonstarters();
    printf("/* Cased and Case_Ignorable (DerivedCoreProperties), for the word-final sigma. */\n");
    emit_toggles("ss__uc_cased", "SS__UC_NCASED", cased);
    emit_toggles("ss__uc_case_ignorable", "SS__UC_NCASE_IGNORABLE", case_ignorable);
    return 0;
}
#else
typedef int ss_gen_unicode_not_built; /* built only with -DSS_GEN_UNICODE (see the top) */
#endif
