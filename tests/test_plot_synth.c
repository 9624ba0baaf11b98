/* test_plot_synth.c - the tools' SVG line charts (tools/plot.c) and built-in synthetic data set
   (tools/synth.c): well-formed SVG for ordinary and degenerate data, tick choice and labels,
   determinism, label balance and layout of the generated text, the data set files, and a
   WordPiece vocabulary trained on it. Writes scratch files under test_plot_synth.d/ in the
   current directory.
   cc -std=c99 -O2 -o test_plot_synth tests/test_plot_synth.c -lm && ./test_plot_synth */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define SS_IMPLEMENTATION
#include "../subspace.h"
#include "test_util.h"
#include "../tools/plot.c"
#include "../tools/synth.c"

#define DIR "test_plot_synth.d"

/* ---- a small XML well-formedness check ------------------------------------------------------- */

/* An entity reference at s ("&amp;" ...): its length, or 0 when it is not one we write. */
static size_t xml_entity(const char *s) {
    static const char *const ok[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strncmp(s, ok[i], strlen(ok[i])) == 0) return strlen(ok[i]);
    return 0;
}

/* Record why a document is not well-formed; returns 0. */
static int xml_fail(char *why, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return 0;
}

/* Elements nest and close by name, attributes are name="value" with no raw < or stray &, text
   has no raw < or stray &, and there is one root element, <svg>. why gets the first problem. */
static int xml_well_formed(const char *s, char *why, size_t cap) {
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = s;
    while (*p) {
        size_t n;
        if (*p == '&') {
            if (!(n = xml_entity(p))) return xml_fail(why, cap, "stray & at byte %d", (int)(p - s));
            p += n;
            continue;
        }
        if (*p != '<') {
            if (depth == 0 && *p != '\n' && *p != ' ')
                return xml_fail(why, cap, "text outside the root at byte %d", (int)(p - s));
            p++;
            continue;
        }
        if (p[1] == '/') { /* a closing tag */
            p += 2;
            n = strcspn(p, " >");
            if (depth == 0 || strlen(stack[depth - 1]) != n || strncmp(stack[depth - 1], p, n) != 0)
                return xml_fail(why, cap, "unmatched </%.*s> at byte %d", (int)n, p, (int)(p - s));
            depth--;
            p += n;
            if (*p != '>') return xml_fail(why, cap, "bad closing tag at byte %d", (int)(p - s));
            p++;
            continue;
        }
        p++; /* an opening tag: name, attributes, > or /> */
        n = strcspn(p, " />\n");
        if (n == 0 || n >= 32) return xml_fail(why, cap, "bad tag name at byte %d", (int)(p - s));
        if (depth == 0) roots++;
        if (depth == 0 && strncmp(p, "svg", n) != 0)
            return xml_fail(why, cap, "root element is not svg");
        if (depth == 64) return xml_fail(why, cap, "too deep");
        memcpy(stack[depth], p, n);
        stack[depth][n] = '\0';
        p += n;
        for (;;) {
            while (*p == ' ' || *p == '\n') p++;
            if (*p == '>') {
                depth++;
                p++;
                break;
            }
            if (p[0] == '/' && p[1] == '>') {
                p += 2;
                break;
            }
            n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:_");
            if (n == 0 || !isalpha((unsigned char)*p) || p[n] != '=' || p[n + 1] != '"')
                return xml_fail(why, cap, "bad attribute at byte %d", (int)(p - s));
            p += n + 2;
            while (*p && *p != '"') {
                if (*p == '<')
                    return xml_fail(why, cap, "< in an attribute at byte %d", (int)(p - s));
                if (*p == '&') {
                    if (!(n = xml_entity(p)))
                        return xml_fail(why, cap, "stray & in an attribute at byte %d",
                                        (int)(p - s));
                    p += n;
                } else {
                    p++;
                }
            }
            if (*p != '"') return xml_fail(why, cap, "unterminated attribute");
            p++;
        }
    }
    if (depth != 0) return xml_fail(why, cap, "%d elements left open", depth);
    if (roots != 1) return xml_fail(why, cap, "%d root elements", roots);
    return 1;
}

/* Inside tags (attribute values: coordinates), no number has more than 2 decimals. */
static int svg_two_decimals(const char *s) {
    int in_tag = 0;
    for (; *s; s++) {
        if (*s == '<') in_tag = 1;
        else if (*s == '>') in_tag = 0;
        else if (in_tag && *s == '.' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' &&
                 s[3] >= '0' && s[3] <= '9')
            return 0;
    }
    return 1;
}

/* Read an SVG the plotter wrote and check the document as a whole. Returns the text (owned:
   ss_free) or NULL. */
static char *svg_check(const char *path, const char *name) {
    char *text = NULL, *lower, why[160] = "", label[200];
    size_t len = 0, i;
    int ok;
    if (ss_file_read(path, &text, &len) != SS_OK) {
        snprintf(label, sizeof label, "%s: file written and readable", name);
        test_true(0, label);
        return NULL;
    }
    lower = (char *)malloc(len + 1);
    for (i = 0; lower && i <= len; i++) lower[i] = (char)tolower((unsigned char)text[i]);
    ok = lower && strncmp(text, "<svg", 4) == 0 && len >= 7 &&
         strcmp(text + len - 7, "</svg>\n") == 0 &&
         strstr(text, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL;
    snprintf(label, sizeof label, "%s: starts with <svg, ends with </svg>, has the SVG namespace",
             name);
    test_true(ok, label);
    snprintf(label, sizeof label, "%s: no nan or inf anywhere", name);
    test_true(lower && !strstr(lower, "nan") && !strstr(lower, "inf"), label);
    ok = xml_well_formed(text, why, sizeof why);
    snprintf(label, sizeof label, "%s: well-formed XML%s%s", name, ok ? "" : ": ", why);
    test_true(ok, label);
    snprintf(label, sizeof label, "%s: coordinates have at most 2 decimals", name);
    test_true(svg_two_decimals(text), label);
    free(lower);
    return text;
}

static int count_of(const char *s, const char *needle) {
    int n = 0;
    size_t k = strlen(needle);
    while ((s = strstr(s, needle)) != NULL) n++, s += k;
    return n;
}

static plot_spec spec_default(const char *title) {
    plot_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.title = title;
    spec.xlabel = "step";
    spec.ylabel = "loss";
    spec.y_min = spec.y_max = NAN;
    return spec;
}

/* ---- plot ------------------------------------------------------------------------------------ */

static void test_ticks(void) {
    double lo, hi, t[PLOT_MAX_TICKS], step = 0;
    char s[64];
    int n, i, ok, bad = 0;
    ss_rng r;

    lo = 0, hi = 1;
    n = plot_nice_ticks(&lo, &hi, 1, 1, t, &step);
    test_true(n == 6 && step == 0.2 && t[0] == 0 && t[5] == 1 && t[3] == 0.6,
              "ticks: 0..1 gives 0, 0.2, ..., 1");
    lo = 3, hi = 97;
    n = plot_nice_ticks(&lo, &hi, 1, 1, t, &step);
    test_true(n == 6 && step == 20 && lo == 0 && hi == 100,
              "ticks: 3..97 rounds out to 0..100 by 20");
    lo = -1, hi = 1;
    n = plot_nice_ticks(&lo, &hi, 1, 1, t, &step);
    test_true(n == 5 && step == 0.5 && t[2] == 0, "ticks: -1..1 by 0.5 through 0");
    lo = 0.0013, hi = 0.0042;
    n = plot_nice_ticks(&lo, &hi, 1, 1, t, &step);
    test_true(n == 5 && step == 0.001 && lo == 0.001 && hi == 0.005 && t[2] == 0.003,
              "ticks: 0.0013..0.0042 rounds out to 0.001..0.005 by 0.001");
    lo = 0.12, hi = 0.18; /* fixed ends: ticks inside, ends stay */
    n = plot_nice_ticks(&lo, &hi, 0, 0, t, &step);
    test_true(n >= 4 && n <= 8 && lo == 0.12 && hi == 0.18 && t[0] >= 0.12 && t[n - 1] <= 0.18,
              "ticks: fixed ends 0.12..0.18 stay, ticks inside");
    lo = 0, hi = 10000;
    n = plot_nice_ticks(&lo, &hi, 1, 1, t, &step);
    ok = n == 6;
    for (i = 0; ok && i < n; i++) {
        static const char *const want[] = {"0", "2k", "4k", "6k", "8k", "10k"};
        plot_tick_label(s, sizeof s, t[i], step);
        ok = strcmp(s, want[i]) == 0;
    }
    test_true(ok, "ticks: 0..10000 labelled 0, 2k, ..., 10k");

    /* random ranges: 4 to 8 ticks of a 1-2-5 step that cover the data */
    ss_rng_seed(&r, 3);
    for (i = 0; i < 2000; i++) {
        double scale = pow(10.0, (double)synth_below(&r, 16) - 8.0), m, e;
        double a = (ss_rng_uniform(&r) * 2 - 1) * scale,
               b = a + (ss_rng_uniform(&r) + 1e-3) * scale;
        lo = a, hi = b;
        n = plot_nice_ticks(&lo, &hi, 1, 1, t, &step);
        e = floor(log10(step) + 1e-9);
        m = step / pow(10.0, e);
        if (n < 4 || n > 8 || lo > a || hi < b ||
            !(fabs(m - 1) < 1e-6 || fabs(m - 2) < 1e-6 || fabs(m - 5) < 1e-6))
            bad++;
    }
    test_true(bad == 0,
              "ticks: 2000 random ranges get 4..8 ticks of 1, 2 or 5 x 10^k covering the data");

    plot_tick_label(s, sizeof s, 1000, 1000);
    test_true(strcmp(s, "1k") == 0, "label: 1000 is 1k");
    plot_tick_label(s, sizeof s, 0.0001, 0.0001);
    test_true(strcmp(s, "1e-4") == 0, "label: 0.0001 is 1e-4");
    plot_tick_label(s, sizeof s, 2.5, 0.5);
    test_true(strcmp(s, "2.5") == 0, "label: 2.5 is 2.5");
    plot_tick_label(s, sizeof s, 1500000, 500000);
    test_true(strcmp(s, "1.5M") == 0, "label: 1500000 is 1.5M");
    plot_tick_label(s, sizeof s, 0.6000000000000001, 0.2);
    test_true(strcmp(s, "0.6") == 0, "label: 0.6000000000000001 (3 x 0.2) is 0.6");
    plot_tick_label(s, sizeof s, -0.5, 0.5);
    test_true(strcmp(s, "-0.5") == 0, "label: -0.5");
    plot_tick_label(s, sizeof s, 12.34, 0.01);
    test_true(strcmp(s, "12.34") == 0, "label: 12.34 with step 0.01 keeps both decimals");
    plot_tick_label(s, sizeof s, 0.0025, 0.0005);
    test_true(strcmp(s, "2.5e-3") == 0, "label: 0.0025 is 2.5e-3");
    plot_tick_label(s, sizeof s, 10002, 2);
    test_true(strcmp(s, "10002") == 0, "label: 10002 with step 2 stays a plain integer");
    plot_tick_label(s, sizeof s, 1e-17, 0.2);
    test_true(strcmp(s, "0") == 0, "label: rounding noise next to 0 is 0");
    plot_tick_label(s, sizeof s, 5.005, 0.005);
    test_true(strcmp(s, "5.005") == 0, "label: 5.005 with step 0.005");
    plot_tick_label(s, sizeof s, 9.9996e-5, 1e-6);
    test_true(strcmp(s, "1e-4") == 0, "label: 9.9996e-5 rounds to 1e-4, not 10e-5");
}

static void test_plot_ordinary(void) {
    double x[50], y1[50], y2[50], lo[50], hi[50];
    plot_series s[2];
    plot_hline h[2] = {{32.0, "max rank 32"}, {-5.0, NULL}};
    plot_spec spec = spec_default("loss <MLA> & \"MLA-o\"");
    char *svg;
    int i;
    for (i = 0; i < 50; i++) {
        x[i] = 100.0 * i;
        y1[i] = 40.0 * exp(-i / 10.0);
        y2[i] = 30.0 * exp(-i / 15.0) + 1.0;
        lo[i] = y1[i] - 1.0;
        hi[i] = y1[i] + 1.5;
    }
    memset(s, 0, sizeof s);
    s[0].name = "MLA <r=64>";
    s[0].x = x, s[0].y = y1, s[0].y_lo = lo, s[0].y_hi = hi, s[0].n = 50;
    s[1].name = "MHA";
    s[1].x = x, s[1].y = y2, s[1].n = 50, s[1].dashed = 1;
    spec.hlines = h;
    spec.n_hlines = 2;
    test_true(plot_lines_svg(DIR "/ordinary.svg", &spec, s, 2) == 0,
              "plot: ordinary chart written");
    svg = svg_check(DIR "/ordinary.svg", "plot ordinary");
    if (!svg) return;
    test_true(strstr(svg, "loss &lt;MLA&gt; &amp; &quot;MLA-o&quot;") && !strstr(svg, "<MLA>"),
              "plot: title escaped (& < > \")");
    test_true(strstr(svg, "MLA &lt;r=64&gt;") && strstr(svg, ">MHA<"),
              "plot: legend names, escaped");
    test_true(strstr(svg, ">max rank 32<") != NULL, "plot: reference line label drawn");
    test_true(strstr(svg, "stroke-dasharray=\"6 4\"") != NULL, "plot: dashed series dashed");
    test_true(strstr(svg, "fill-opacity=\"0.18\"") != NULL, "plot: band drawn translucent");
    test_true(strstr(svg, ">4k<") && strstr(svg, ">step<") && strstr(svg, ">loss<"),
              "plot: x ticks in k, axis titles");
    test_true(strstr(svg, "#0072B2") && strstr(svg, "#D55E00"), "plot: palette colours 1 and 2");
    test_true(count_of(svg, "<circle") == 0, "plot: no markers unless asked");
    ss_free(svg);

    spec.markers = 1;
    spec.width = 300, spec.height = 200;
    spec.log_y = 1;
    test_true(plot_lines_svg(DIR "/log.svg", &spec, s, 2) == 0, "plot: log chart written");
    svg = svg_check(DIR "/log.svg", "plot log");
    if (!svg) return;
    test_true(strstr(svg, "width=\"300\" height=\"200\"") != NULL, "plot: width and height kept");
    test_true(strstr(svg, ">1<") && strstr(svg, ">10<") && strstr(svg, ">100<"),
              "plot: log axis ticks at powers of ten");
    test_true(count_of(svg, "<circle") >= 100, "plot: markers at every point");
    ss_free(svg);
}

static void test_plot_edges(void) {
    double x1 = 5, y1 = 2, xs[7] = {0, 1, 2, 3, 4, 5, 6}, flat[7] = {3, 3, 3, 3, 3, 3, 3};
    double gaps[7] = {1, 2, NAN, 4, 5, NAN, 7}, zeros[7] = {0, -1, 1, 10, 100, 0, 1000};
    double huge[3] = {1e300, -1e300, 2}, nanx[3] = {NAN, NAN, NAN};
    plot_series s[3];
    plot_spec spec = spec_default(NULL);
    char *svg;
    memset(s, 0, sizeof s);

    s[0].name = "one";
    s[0].x = &x1, s[0].y = &y1, s[0].n = 1;
    test_true(plot_lines_svg(DIR "/single.svg", &spec, s, 1) == 0, "plot: single point written");
    if ((svg = svg_check(DIR "/single.svg", "plot single point")) != NULL) {
        test_true(count_of(svg, "<circle") == 1 && !strstr(svg, "<path"),
                  "plot: a single point is a dot, not a line");
        ss_free(svg);
    }

    s[0].x = xs, s[0].y = flat, s[0].n = 7;
    test_true(plot_lines_svg(DIR "/flat.svg", &spec, s, 1) == 0, "plot: all-equal y written");
    if ((svg = svg_check(DIR "/flat.svg", "plot all-equal y")) != NULL) {
        test_true(strstr(svg, ">3<") && strstr(svg, ">2.8<"),
                  "plot: all-equal y gets a range around it");
        ss_free(svg);
    }

    s[0].y = gaps;
    test_true(plot_lines_svg(DIR "/gaps.svg", &spec, s, 1) == 0, "plot: NaN gaps written");
    if ((svg = svg_check(DIR "/gaps.svg", "plot NaN gaps")) != NULL) {
        const char *d = strstr(svg, "<path d=\"");
        test_true(d && count_of(d, " M") + 1 == 2 && count_of(svg, "<circle") == 1,
                  "plot: a NaN breaks the line; a lone point after a gap is a dot");
        ss_free(svg);
    }

    s[0].y = flat, s[0].n = 0; /* an empty series next to a real one */
    s[1].name = "real";
    s[1].x = xs, s[1].y = gaps, s[1].n = 7;
    test_true(plot_lines_svg(DIR "/empty1.svg", &spec, s, 2) == 0, "plot: an empty series written");
    if ((svg = svg_check(DIR "/empty1.svg", "plot one empty series")) != NULL) {
        test_true(strstr(svg, ">one<") && strstr(svg, ">real<"),
                  "plot: empty series keeps its legend entry");
        ss_free(svg);
    }

    s[1].n = 0;
    s[2].x = NULL, s[2].y = NULL, s[2].n = 0;
    test_true(plot_lines_svg(DIR "/empty2.svg", &spec, s, 3) == 0,
              "plot: all series empty written");
    if ((svg = svg_check(DIR "/empty2.svg", "plot all empty")) != NULL) {
        test_true(strstr(svg, ">0<") && strstr(svg, ">1<") && !strstr(svg, "<path"),
                  "plot: all empty gives empty 0..1 axes");
        ss_free(svg);
    }
    test_true(plot_lines_svg(DIR "/empty3.svg", &spec, NULL, 0) == 0,
              "plot: no series at all written");
    if ((svg = svg_check(DIR "/empty3.svg", "plot no series")) != NULL) ss_free(svg);

    s[0].n = 7, s[0].y = zeros; /* log axis: values <= 0 skipped */
    spec.log_y = 1;
    test_true(plot_lines_svg(DIR "/logzero.svg", &spec, s, 1) == 0,
              "plot: log axis with zeros written");
    if ((svg = svg_check(DIR "/logzero.svg", "plot log with zeros")) != NULL) ss_free(svg);
    s[0].y = flat;
    test_true(plot_lines_svg(DIR "/logflat.svg", &spec, s, 1) == 0,
              "plot: log axis all-equal written");
    if ((svg = svg_check(DIR "/logflat.svg", "plot log all-equal")) != NULL) ss_free(svg);
    s[0].y = zeros, s[0].n = 2; /* nothing drawable on a log axis */
    test_true(plot_lines_svg(DIR "/lognone.svg", &spec, s, 1) == 0,
              "plot: log axis, nothing > 0 written");
    if ((svg = svg_check(DIR "/lognone.svg", "plot log nothing drawable")) != NULL) ss_free(svg);

    spec.log_y = 0; /* huge values and explicit limits: clipped, still valid */
    spec.y_min = 0, spec.y_max = 5;
    s[0].x = xs, s[0].y = huge, s[0].n = 3;
    s[1].x = nanx, s[1].y = huge, s[1].n = 3;
    test_true(plot_lines_svg(DIR "/huge.svg", &spec, s, 2) == 0,
              "plot: huge values, fixed limits written");
    if ((svg = svg_check(DIR "/huge.svg", "plot huge values")) != NULL) {
        test_true(strstr(svg, ">5<") && strstr(svg, "clip-path=\"url(#plot-area)\""),
                  "plot: fixed limits kept, data clipped");
        ss_free(svg);
    }
    spec.log_y = 1, spec.y_min = 2, spec.y_max = 8; /* less than a decade: 2 and 5 labelled */
    test_true(plot_lines_svg(DIR "/logdecade.svg", &spec, s, 1) == 0,
              "plot: log axis within a decade written");
    if ((svg = svg_check(DIR "/logdecade.svg", "plot log within a decade")) != NULL) {
        test_true(strstr(svg, ">2<") && strstr(svg, ">5<"), "plot: log axis within a decade: 2, 5");
        ss_free(svg);
    }
    spec.log_y = 0;
    spec.title = "bad UTF-8 \xC3\x28 \xED\xA0\x80 and \x01 control";
    spec.y_min = 7, spec.y_max = 7; /* unusable limits: automatic */
    test_true(plot_lines_svg(DIR "/badlimits.svg", &spec, s, 1) == 0,
              "plot: equal fixed limits written");
    if ((svg = svg_check(DIR "/badlimits.svg", "plot equal fixed limits")) != NULL) ss_free(svg);

    fflush(stdout);
    fprintf(stderr, "(an error message about no_such_dir is expected next)\n");
    test_true(plot_lines_svg(DIR "/no_such_dir/x.svg", &spec, s, 1) == -1,
              "plot: unwritable path returns -1");
}

/* ---- synth ----------------------------------------------------------------------------------- */

static int is_vowel(char c) { return c && strchr("aeiouAEIOU", c) != NULL; }

static void test_synth_text(void) {
    static char a[1 << 16], b[1 << 16];
    char line[2048], prevw[64], word[64];
    ss_rng r1, r2;
    int i, label, pos = 0, bad_layout = 0, bad_article = 0, bad_base = 0, n_words = 0, after_do;
    size_t la = 0, lb = 0, len;
    double t0;

    ss_rng_seed(&r1, 42);
    ss_rng_seed(&r2, 42);
    for (i = 0; i < 300; i++) {
        la += synth_line(&r1, a + la, sizeof a - la);
        lb += synth_line(&r2, b + lb, sizeof b - lb);
    }
    test_true(la == lb && memcmp(a, b, la) == 0 && la > 1000, "synth: same seed, same lines");
    ss_rng_seed(&r2, 43);
    for (i = 0, lb = 0; i < 300; i++) lb += synth_line(&r2, b + lb, sizeof b - lb);
    test_true(la != lb || memcmp(a, b, la) != 0, "synth: another seed, other lines");
    ss_rng_seed(&r1, 42);
    ss_rng_seed(&r2, 42);
    synth_labelled(&r1, a, sizeof a, &label);
    synth_labelled(&r2, b, sizeof b, &i);
    test_true(strcmp(a, b) == 0 && label == i, "synth: same seed, same labelled sentence");

    /* 10000 labelled sentences: balanced, one line each, a capital first, an end mark last */
    ss_rng_seed(&r1, 7);
    for (i = 0, bad_layout = 0; i < 10000; i++) {
        len = synth_labelled(&r1, line, sizeof line, &label);
        pos += label;
        if (len < 10 || strlen(line) != len || strchr(line, '\t') || strchr(line, '\n') ||
            !(line[0] >= 'A' && line[0] <= 'Z') || !strchr(".!?", line[len - 1]) ||
            (label != 0 && label != 1))
            bad_layout++;
    }
    printf("  %d of 10000 labelled sentences positive\n", pos);
    test_true(pos >= 4500 && pos <= 5500, "synth: labels balanced within 45-55%");
    test_true(bad_layout == 0,
              "synth: labelled sentences have no tab or newline, a capital and an end mark");

    /* lines: 1 to 3 sentences; a / an agree with the next word; do-support takes base forms */
    ss_rng_seed(&r1, 8);
    for (i = 0, bad_layout = 0; i < 5000; i++) {
        const char *p;
        int marks = 0;
        len = synth_line(&r1, line, sizeof line);
        for (p = line; *p; p++)
            if (strchr(".!?", *p) && (p[1] == ' ' || p[1] == '\0')) marks++;
        if (marks < 1 || marks > 3 || strchr(line, '\t') || !(line[0] >= 'A' && line[0] <= 'Z') ||
            !strchr(".!?", line[len - 1]))
            bad_layout++;
        prevw[0] = '\0';
        after_do = 0;
        for (p = line; *p;) {
            size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
            if (k == 0) {
                p++;
                continue;
            }
            if (k >= sizeof word) k = sizeof word - 1;
            memcpy(word, p, k);
            word[k] = '\0';
            p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
            n_words++;
            if ((strcmp(prevw, "a") == 0 || strcmp(prevw, "A") == 0) && is_vowel(word[0]))
                bad_article++;
            if ((strcmp(prevw, "an") == 0 || strcmp(prevw, "An") == 0) && !is_vowel(word[0]))
                bad_article++;
            if (strcmp(prevw, "not") == 0 && after_do) { /* after "does/do/did not" */
                size_t wl = strlen(word);
                if (word[wl - 1] == 's' || (wl > 4 && strcmp(word + wl - 3, "ing") == 0) ||
                    (wl > 2 && strcmp(word + wl - 2, "ed") == 0))
                    bad_base++;
            }
            after_do = strcmp(word, "does") == 0 || strcmp(word, "do") == 0 ||
                       strcmp(word, "did") == 0 || (after_do && strcmp(word, "not") == 0);
            strcpy(prevw, word);
        }
    }
    printf("  5000 lines, %.1f words a line\n", n_words / 5000.0);
    test_true(bad_layout == 0, "synth: lines have 1 to 3 sentences, a capital and an end mark");
    test_true(bad_article == 0, "synth: a before consonants, an before vowels");
    test_true(bad_base == 0, "synth: do / does / did not take the base form");

    /* truncation */
    ss_rng_seed(&r1, 9);
    memset(line, 'x', sizeof line);
    len = synth_line(&r1, line, 16);
    test_true(len == 15 && line[15] == '\0' && line[16] == 'x',
              "synth: truncated at cap, NUL-terminated");
    len = synth_line(&r1, line, 1);
    test_true(len == 0 && line[0] == '\0', "synth: cap 1 gives an empty string");
    line[0] = 'x';
    len = synth_labelled(&r1, line, 0, &label);
    test_true(len == 0 && line[0] == 'x', "synth: cap 0 writes nothing");

    /* speed: well under a second for 100k lines (the bound leaves room for sanitizers, valgrind) */
    t0 = ss_time_seconds();
    ss_rng_seed(&r1, 10);
    for (i = 0; i < 100000; i++) synth_line(&r1, line, sizeof line);
    t0 = ss_time_seconds() - t0;
    printf("  100000 lines in %.3f s\n", t0);
    test_true(t0 < 10.0, "synth: 100000 lines in under 10 s");
}

/* Distinct words (lowercased) of a text: a crude count with a sorted list. */
static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int distinct_words(char *text) {
    size_t cap = 1 << 20, n = 0, i;
    char **w = (char **)malloc(cap * sizeof *w), *p;
    int distinct = 0;
    if (!w) return -1;
    for (p = text; *p;) {
        size_t k = 0;
        while (p[k] && ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= 'A' && p[k] <= 'Z'))) {
            p[k] = (char)tolower((unsigned char)p[k]);
            k++;
        }
        if (k == 0) {
            p++;
            continue;
        }
        if (n < cap) w[n++] = p;
        p += k;
        if (*p) *p++ = '\0';
    }
    qsort(w, n, sizeof *w, cmp_str);
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp(w[i], w[i - 1]) != 0) distinct++;
    free(w);
    return distinct;
}

static long count_lines(const char *text) {
    long n = 0;
    for (; *text; text++) n += *text == '\n';
    return n;
}

static void test_dataset(void) {
    char *train = NULL, *cls = NULL, *cls2 = NULL, *valid = NULL, *valid2 = NULL, *dev = NULL, *p;
    size_t n_train = 0, n_cls = 0, n_cls2 = 0, n_valid = 0, n_valid2 = 0, n_dev = 0;
    int rows = 0, bad = 0, pos = 0, words;
    test_true(synth_write_dataset(DIR, 11, 3000, 100, 400, 50) == 0, "data: data set written");
    mkdir(DIR "/b", 0777);
    test_true(synth_write_dataset(DIR "/b/", 11, 2000, 100, 400, 60) == 0,
              "data: data set written again with other counts");
    fflush(stdout);
    fprintf(stderr, "(an error message about no_such_dir is expected next)\n");
    test_true(synth_write_dataset(DIR "/no_such_dir", 11, 10, 10, 10, 10) == -1,
              "data: a missing directory returns -1");
    if (ss_file_read(DIR "/train.txt", &train, &n_train) != SS_OK ||
        ss_file_read(DIR "/cls_train.tsv", &cls, &n_cls) != SS_OK ||
        ss_file_read(DIR "/b/cls_train.tsv", &cls2, &n_cls2) != SS_OK ||
        ss_file_read(DIR "/valid.txt", &valid, &n_valid) != SS_OK ||
        ss_file_read(DIR "/b/valid.txt", &valid2, &n_valid2) != SS_OK ||
        ss_file_read(DIR "/cls_dev.tsv", &dev, &n_dev) != SS_OK) {
        test_true(0, "data: files readable");
        goto done;
    }
    test_true(count_lines(train) == 3000 && count_lines(valid) == 100,
              "data: train.txt and valid.txt line counts");
    test_true(strncmp(cls, "sentence\tlabel\n", 15) == 0, "data: TSV header line");
    for (p = strchr(cls, '\n'), p = p ? p + 1 : cls + n_cls; *p; rows++) {
        char *nl = strchr(p, '\n'), *tab = strchr(p, '\t');
        /* one tab per row, then the label and the line end */
        if (!nl || !tab || tab > nl || nl - tab != 2 || (tab[1] != '0' && tab[1] != '1'))
            bad++;
        else
            pos += tab[1] == '1';
        if (!nl) break;
        p = nl + 1;
    }
    test_true(rows == 400 && bad == 0, "data: 400 rows of sentence<TAB>0|1");
    test_true(pos > 150 && pos < 250, "data: both labels present, roughly balanced");
    test_true(n_cls == n_cls2 && memcmp(cls, cls2, n_cls) == 0 && n_valid == n_valid2 &&
                  memcmp(valid, valid2, n_valid) == 0,
              "data: other counts leave the other files unchanged (independent streams)");
    test_true(strncmp(train, valid, strcspn(train, "\n") + 1) != 0 &&
                  strncmp(cls + 15, dev + 15, strcspn(cls + 15, "\n") + 1) != 0,
              "data: train and valid, cls_train and cls_dev start differently (distinct streams)");
    words = distinct_words(train);
    printf("  %d distinct words in 3000 lines\n", words);
    test_true(words >= 300 && words <= 600, "data: 300-600 distinct words");
done:
    ss_free(train);
    ss_free(cls);
    ss_free(cls2);
    ss_free(valid);
    ss_free(valid2);
    ss_free(dev);
}

static void test_vocab(void) {
    ss_vocab_train_options to;
    ss_vocab_trainer tr;
    ss_tokenizer tok;
    ss_rng r;
    char line[2048];
    int ids[512], i, j, n_cont = 0;
    size_t n_tokens = 0, n_unk = 0, n;
    memset(&to, 0, sizeof to);
    memset(&tok, 0, sizeof tok);
    to.vocab_size = 2048;
    if (ss_vocab_trainer_init(&tr, &to) != SS_OK) {
        test_true(0, "vocab: trainer starts");
        return;
    }
    ss_rng_seed(&r, 21);
    for (i = 0; i < 2000; i++) {
        size_t len = synth_line(&r, line, sizeof line);
        ss_vocab_trainer_feed(&tr, line, len);
    }
    if (ss_vocab_trainer_train(&tr, &tok) != SS_OK) {
        test_true(0, "vocab: trained on 2000 lines");
        ss_vocab_trainer_free(&tr);
        return;
    }
    for (i = 0; i < tok.vocab_size; i++)
        n_cont += strncmp(ss_tokenizer_token(&tok, i), "##", 2) == 0;
    printf("  vocabulary of %d tokens (%d continuations) from 2000 lines\n", tok.vocab_size,
           n_cont);
    test_true(tok.vocab_size > 300 && n_cont > 20,
              "vocab: hundreds of tokens, ## continuations among them");
    ss_rng_seed(&r, 22); /* fresh lines, another stream */
    for (i = 0; i < 500; i++) {
        size_t len = synth_line(&r, line, sizeof line);
        n = ss_tokenizer_tokenize(&tok, line, len, ids, 512);
        if (n > 512) n = 512;
        for (j = 0; j < (int)n; j++) n_unk += ids[j] == tok.unk_id;
        n_tokens += n;
    }
    printf("  %zu [UNK] of %zu tokens in 500 fresh lines\n", n_unk, n_tokens);
    test_true(n_tokens > 5000 && n_unk * 1000 <= n_tokens,
              "vocab: fresh lines have at most 0.1% [UNK]");
    ss_tokenizer_free(&tok);
    ss_vocab_trainer_free(&tr);
}

int main(void) {
    printf("%s\n", ss_build_info());
    if (mkdir(DIR, 0777) != 0 && errno != EEXIST) {
        printf("FAIL cannot create %s (%s)\n", DIR, strerror(errno));
        return 1;
    }
    test_ticks();
    test_plot_ordinary();
    test_plot_edges();
    test_synth_text();
    test_dataset();
    test_vocab();
    return test_summary("test_plot_synth");
}
