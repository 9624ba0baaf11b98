/* tools/plot.c - SVG line charts (see plot.h): a growable text buffer, 1-2-5 ticks, the chart. */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../subspace.h"
#include "plot.h"

#define PLOT_MAX_TICKS 16  /* more candidate ticks than this are never chosen */
#define PLOT_CHAR_W 7.0    /* estimated width of one character at font-size 12, in px */
#define PLOT_COORD_MAX 1e6 /* coordinates are clamped to +-this many px (the clip hides them) */

/* Okabe & Ito's colour-blind-safe set without its yellow (too pale on white), then three of Paul
   Tol's muted colours (wine, olive, indigo) to make ten. Series i gets colour i mod 10. */
static const char *const plot_palette[10] = {
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
    "#56B4E9", "#882255", "#999933", "#332288", "#000000"};

/* ---- a growable text buffer ------------------------------------------------------------------ */

typedef struct plot_buf {
    char *text; /* NUL-terminated; owned */
    size_t len, cap;
    int failed; /* out of memory: later appends do nothing */
} plot_buf;

/* Make room for extra more bytes plus the NUL. Returns 0 (and marks the buffer) when it cannot. */
static int plot_reserve(plot_buf *b, size_t extra) {
    size_t need, cap;
    char *grown;
    if (b->failed) return 0;
    if (extra > (size_t)-1 - b->len - 1) {
        b->failed = 1;
        return 0;
    }
    need = b->len + extra + 1;
    if (need <= b->cap) return 1;
    cap = b->cap ? b->cap : 4096;
    while (cap < need) cap = cap > (size_t)-1 / 2 ? need : 2 * cap;
    grown = (char *)realloc(b->text, cap);
    if (!grown) {
        b->failed = 1;
        return 0;
    }
    b->text = grown;
    b->cap = cap;
    return 1;
}

static void plot_append(plot_buf *b, const char *s, size_t n) {
    if (!plot_reserve(b, n)) return;
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static void plot_puts(plot_buf *b, const char *s) { plot_append(b, s, strlen(s)); }

static void plot_printf(plot_buf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    if (!plot_reserve(b, 256)) return;
    va_start(ap, fmt);
    n = vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n >= b->cap - b->len) { /* did not fit: grow and format again */
        if (!plot_reserve(b, (size_t)n)) return;
        va_start(ap, fmt);
        vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* A coordinate with at most 2 decimals and no trailing zeros ("12.5", "3", "-0.25"). Non-finite
   values (never expected) become 0 so the document stays valid; huge ones are clamped. */
static void plot_num(plot_buf *b, double v) {
    char s[48];
    size_t n;
    if (!isfinite(v)) v = 0.0;
    if (v > PLOT_COORD_MAX) v = PLOT_COORD_MAX;
    if (v < -PLOT_COORD_MAX) v = -PLOT_COORD_MAX;
    n = (size_t)snprintf(s, sizeof s, "%.2f", v);
    while (n > 0 && s[n - 1] == '0') n--; /* "%.2f" always has a '.', so this stops there */
    if (n > 0 && s[n - 1] == '.') n--;
    s[n] = '\0';
    plot_puts(b, strcmp(s, "-0") == 0 ? "0" : s);
}

/* Text content or an attribute value: & < > " escaped, control characters (not allowed in XML
   1.0) and bytes that are not valid UTF-8 replaced, so any C string gives a well-formed file. */
static void plot_text(plot_buf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned c = *p;
        int k, extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                     : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (c == '&') plot_puts(b, "&amp;");
        else if (c == '<') plot_puts(b, "&lt;");
        else if (c == '>') plot_puts(b, "&gt;");
        else if (c == '"') plot_puts(b, "&quot;");
        else if (c < 0x20) plot_puts(b, " ");
        else if (extra == 0) plot_append(b, (const char *)p, 1);
        if (extra <= 0) {
            if (extra < 0) plot_puts(b, "?");
            p++;
            continue;
        }
        for (k = 1; k <= extra; k++)
            if ((p[k] & 0xC0) != 0x80) break;
        /* also invalid: overlong forms (C0, C1, E0 80-9F, F0 80-8F), UTF-16 surrogates (ED A0-BF)
           and code points past U+10FFFF (F4 90-BF, F5-F7) */
        if (k <= extra || (extra == 1 && c < 0xC2) || (c == 0xE0 && p[1] < 0xA0) ||
            (c == 0xED && p[1] >= 0xA0) || (c == 0xF0 && p[1] < 0x90) ||
            (c == 0xF4 && p[1] >= 0x90) || c > 0xF4) {
            plot_puts(b, "?");
            p++;
        } else {
            plot_append(b, (const char *)p, (size_t)extra + 1);
            p += extra + 1;
        }
    }
}

/* Code points of a UTF-8 string: the width estimate of a label. */
static int plot_text_chars(const char *s) {
    int n = 0;
    for (; s && *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* ---- ticks ----------------------------------------------------------------------------------- */

/* m * 10^e, with 10^e exact for negative e as a division (0.2 is 2 / 10, not 2 * 0.1). */
static double plot_step_value(double m, int e) {
    return e >= 0 ? m * pow(10.0, e) : m / pow(10.0, -e);
}

/* Ticks at multiples of a step of 1, 2 or 5 times a power of ten over [*lo, *hi] (finite,
   *lo < *hi). An end that may expand is rounded out to the next multiple of the step (and
   written back); a fixed end stays. Of the steps that give 4 to 8 ticks, the one closest to 6
   ticks with the least room left unused; where none does, the nearest to that range. Writes the
   ticks (at most PLOT_MAX_TICKS) and the step, and returns the count (0 only if no step fits). */
static int plot_nice_ticks(double *lo, double *hi, int expand_lo, int expand_hi, double *ticks,
                           double *step_out) {
    static const double mult[3] = {1.0, 2.0, 5.0};
    double range = *hi - *lo, best_score = HUGE_VAL, best_a = 0.0, best_m = 1.0;
    int e0 = (int)floor(log10(range)), e, k, i, best_e = 0, best_n = 0;
    for (e = e0 - 2; e <= e0 + 1; e++) {
        for (k = 0; k < 3; k++) {
            double s = plot_step_value(mult[k], e), a, b, n, new_lo, new_hi, waste, out, score;
            a = expand_lo ? floor(*lo / s + 1e-9) : ceil(*lo / s - 1e-9);
            b = expand_hi ? ceil(*hi / s - 1e-9) : floor(*hi / s + 1e-9);
            n = b - a + 1.0;
            if (n < 2.0 || n > PLOT_MAX_TICKS) continue;
            new_lo = expand_lo ? a * s : *lo;
            new_hi = expand_hi ? b * s : *hi;
            waste = 1.0 - range / (new_hi - new_lo);
            out = n < 4.0 ? 4.0 - n : n > 8.0 ? n - 8.0 : 0.0;
            score = 100.0 * out + fabs(n - 6.0) + 3.0 * waste;
            if (score < best_score) {
                best_score = score;
                best_a = a;
                best_m = mult[k];
                best_e = e;
                best_n = (int)n;
            }
        }
    }
    if (best_n == 0) return 0;
    *step_out = plot_step_value(best_m, best_e);
    for (i = 0; i < best_n; i++) {
        /* (a + i) * m first, an exact integer, then one scaling: 0.6 rather than 3 * 0.2 */
        double v = plot_step_value((best_a + i) * best_m, best_e);
        ticks[i] = fabs(v) < 1e-9 * *step_out ? 0.0 : v;
    }
    if (expand_lo) *lo = ticks[0];
    if (expand_hi) *hi = ticks[best_n - 1];
    return best_n;
}

/* Decimals needed to write multiples of step (0.05 -> 2, 0.2 -> 1, 5 -> 0). */
static int plot_decimals(double step) {
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d;
}

/* Print v with d decimals into s, trailing zeros (and a bare '.') removed, "-0" as "0". */
static void plot_fixed(char *s, size_t cap, double v, int d) {
    size_t n = (size_t)snprintf(s, cap, "%.*f", d, v);
    if (n >= cap) n = cap - 1;
    if (memchr(s, '.', n)) {
        while (n > 0 && s[n - 1] == '0') n--;
        if (n > 0 && s[n - 1] == '.') n--;
    }
    s[n] = '\0';
    if (strcmp(s, "-0") == 0) strcpy(s, "0");
}

/* A compact tick label for v, a multiple of step: "0", "0.25", "2.5", "1k", "1.5M", "1e-4",
   "2.5e-3". Plain decimals for 0.01 <= |v| < 1000 (as many as the step needs, up to 4); k, M,
   G, T from 1000 up where that needs at most 2 decimals (plain numbers otherwise); a mantissa
   and exponent below 0.01, from 10^15 up, or where the step needs more decimals. */
static void plot_tick_label(char *s, size_t cap, double v, double step) {
    static const char suffix[4] = {'k', 'M', 'G', 'T'};
    double a = fabs(v);
    if (a < 1e-12 * (step > 0.0 ? step : 1.0) || a == 0.0) {
        snprintf(s, cap, "0");
    } else if (a >= 0.01 && a < 1000.0 && plot_decimals(step) <= 4) {
        plot_fixed(s, cap, v, plot_decimals(step));
    } else if (a >= 1000.0 && a < 1e15) {
        int k = a >= 1e12 ? 3 : a >= 1e9 ? 2 : a >= 1e6 ? 1 : 0;
        double scale = pow(1000.0, k + 1);
        int d = plot_decimals(step / scale);
        size_t n;
        if (d <= 2) {
            plot_fixed(s, cap, v / scale, d);
            n = strlen(s);
            if (n + 1 < cap) {
                s[n] = suffix[k];
                s[n + 1] = '\0';
            }
        } else if (a < 1e9) {
            plot_fixed(s, cap, v, plot_decimals(step));
        } else {
            snprintf(s, cap, "%.6g", v);
        }
    } else {
        /* mantissa digits: as many as the step resolves below v's leading digit, at most 6 */
        int ev = (int)floor(log10(a) + 1e-9);
        int es = step > 0.0 ? (int)floor(log10(step) + 1e-9) : ev;
        int d = ev - es < 0 ? 0 : ev - es > 6 ? 6 : ev - es;
        double mant = v / pow(10.0, ev);
        char m[40];
        plot_fixed(m, sizeof m, mant, d);
        if (fabs(atof(m)) >= 10.0) { /* 9.996 rounded up to "10": one more power of ten */
            ev++;
            plot_fixed(m, sizeof m, mant / 10.0, d);
        }
        snprintf(s, cap, "%se%d", m, ev);
    }
}

/* ---- the chart ------------------------------------------------------------------------------- */

/* One axis: limits in data units (log10 units on a log axis) and its ticks. */
typedef struct plot_axis {
    double lo, hi;
    double ticks[PLOT_MAX_TICKS]; /* in axis units */
    int n_ticks;
    double step;                  /* of the ticks, in axis units */
    int log;
} plot_axis;

/* Limits and ticks from the data range [dlo, dhi] (NaN when there is no data); fixed_lo/hi
   (NaN: automatic) override an end and stop it from expanding. */
static void plot_axis_setup(plot_axis *ax, double dlo, double dhi, double fixed_lo,
                            double fixed_hi, int log_axis) {
    int auto_lo = !isfinite(fixed_lo), auto_hi = !isfinite(fixed_hi);
    ax->log = log_axis;
    /* beyond +-1e300 the range itself would overflow */
    if (dlo < -1e300) dlo = -1e300;
    if (dhi > 1e300) dhi = 1e300;
    if (log_axis) { /* fixed ends must be > 0 to count */
        if (!auto_lo && fixed_lo <= 0.0) auto_lo = 1;
        if (!auto_hi && fixed_hi <= 0.0) auto_hi = 1;
    }
    if (!auto_lo && !auto_hi && fixed_lo >= fixed_hi) auto_lo = auto_hi = 1;
    if (!isfinite(dlo) || !isfinite(dhi)) { /* no data: a unit range, or one around a fixed end */
        dlo = log_axis ? 1.0 : 0.0;
        dhi = log_axis ? 10.0 : 1.0;
        if (!auto_lo) {
            dlo = fixed_lo;
            dhi = log_axis ? fixed_lo * 10.0 : fixed_lo + 1.0;
        }
        if (!auto_hi) {
            dhi = fixed_hi;
            if (auto_lo) dlo = log_axis ? fixed_hi / 10.0 : fixed_hi - 1.0;
        }
    }
    if (!auto_lo) dlo = fixed_lo;
    if (!auto_hi) dhi = fixed_hi;
    if (log_axis) {
        dlo = log10(dlo);
        dhi = log10(dhi);
    }
    if (dhi < dlo) { /* a fixed end on the wrong side of the data: keep the fixed one */
        if (auto_lo) dlo = dhi - 1.0;
        else dhi = dlo + 1.0;
    }
    if (dhi - dlo < 1e-12 * (fabs(dlo) + 1.0)) { /* one value: a range around it */
        double d = log_axis ? 0.5 : fabs(dlo) > 0.0 ? 0.1 * fabs(dlo) : 1.0;
        if (auto_lo) dlo -= d;
        if (auto_hi) dhi += d;
        if (dhi - dlo < 1e-12 * (fabs(dlo) + 1.0)) dhi = dlo + d; /* both fixed and equal */
    }
    ax->lo = dlo;
    ax->hi = dhi;
    if (log_axis) {
        /* ticks at powers of ten; every 2nd, 5th, 10th... decade when there are many */
        static const int steps[] = {1, 2, 5, 10, 20, 50, 100};
        int a = 0, b = 0, k, i, d, m, pass;
        if (auto_lo) ax->lo = floor(ax->lo + 1e-9);
        if (auto_hi) ax->hi = ceil(ax->hi - 1e-9);
        for (k = 0; k < 7; k++) {
            a = (int)ceil(ax->lo / steps[k] - 1e-9);
            b = (int)floor(ax->hi / steps[k] + 1e-9);
            if (b - a + 1 <= 8) break;
        }
        if (k == 7) k = 6;
        ax->n_ticks = 0;
        ax->step = steps[k];
        for (i = a; i <= b && ax->n_ticks < PLOT_MAX_TICKS; i++)
            ax->ticks[ax->n_ticks++] = (double)i * steps[k];
        /* fixed ends less than a decade apart: 1, 2 and 5 times powers of ten, else every digit */
        for (pass = 0; pass < 2 && ax->n_ticks < 2; pass++) {
            ax->n_ticks = 0;
            for (d = (int)floor(ax->lo); d < (int)ceil(ax->hi); d++)
                for (m = 1; m <= 9; m++) {
                    double t = d + log10((double)m);
                    if ((pass == 0 && m != 1 && m != 2 && m != 5) || t < ax->lo - 1e-9 ||
                        t > ax->hi + 1e-9 || ax->n_ticks == PLOT_MAX_TICKS)
                        continue;
                    ax->ticks[ax->n_ticks++] = t;
                }
        }
    } else {
        ax->n_ticks = plot_nice_ticks(&ax->lo, &ax->hi, auto_lo, auto_hi, ax->ticks, &ax->step);
    }
}

/* The position (px) of a data value along an axis drawn from p0 (its lo) to p1 (its hi). */
static double plot_map(const plot_axis *ax, double v, double p0, double p1) {
    double t = ax->log ? log10(v) : v;
    return p0 + (t - ax->lo) / (ax->hi - ax->lo) * (p1 - p0);
}

/* The label of tick i of an axis. */
static void plot_axis_label(const plot_axis *ax, int i, char *s, size_t cap) {
    if (ax->log) {
        double v = pow(10.0, ax->ticks[i]);
        plot_tick_label(s, cap, v, v);
    } else {
        plot_tick_label(s, cap, ax->ticks[i], ax->step);
    }
}

/* Whether point j of a series is drawn: finite x and y, y > 0 on a log axis. */
static int plot_valid(const double *x, const double *y, int j, int log_y) {
    return isfinite(x[j]) && isfinite(y[j]) && (!log_y || y[j] > 0.0);
}

/* The plot area in px. */
typedef struct plot_area {
    double x0, x1, y0, y1; /* left, right, top, bottom */
} plot_area;

/* How much of the data lies under a legend box at (bx, by, bw, bh): points and samples along
   the segments between them, counted in px space. */
static double plot_overlap(const plot_series *series, int n_series, const plot_axis *xa,
                           const plot_axis *ya, const plot_area *pa, double bx, double by,
                           double bw, double bh) {
    double hits = 0.0;
    int i, j, k;
    for (i = 0; i < n_series; i++) {
        const plot_series *s = &series[i];
        double px_prev = 0.0, py_prev = 0.0;
        int prev = 0;
        if (!s->x || !s->y) continue;
        for (j = 0; j < s->n; j++) {
            double px, py;
            if (!plot_valid(s->x, s->y, j, ya->log)) {
                prev = 0;
                continue;
            }
            px = plot_map(xa, s->x[j], pa->x0, pa->x1);
            py = plot_map(ya, s->y[j], pa->y1, pa->y0);
            for (k = prev ? 1 : 8; k <= 8; k++) { /* the point itself, and 7 between */
                double qx = px_prev + (px - px_prev) * k / 8.0;
                double qy = py_prev + (py - py_prev) * k / 8.0;
                if (qx >= bx && qx <= bx + bw && qy >= by && qy <= by + bh) hits += 1.0;
            }
            px_prev = px;
            py_prev = py;
            prev = 1;
        }
    }
    return hits;
}

/* The sample of one series in the legend, or a point's marker. */
static void plot_marker(plot_buf *b, double x, double y, const char *colour) {
    plot_puts(b, "<circle cx=\"");
    plot_num(b, x);
    plot_puts(b, "\" cy=\"");
    plot_num(b, y);
    plot_printf(b, "\" r=\"2.5\" fill=\"%s\"/>\n", colour);
}

/* The band of one series: a closed outline along y_hi forward and y_lo back, one per run of
   points where x, y_lo and y_hi are all drawable. */
static void plot_band(plot_buf *b, const plot_series *s, const char *colour, const plot_axis *xa,
                      const plot_axis *ya, const plot_area *pa) {
    int j = 0, k;
    while (j < s->n) {
        int start, end;
        while (j < s->n && !(plot_valid(s->x, s->y_lo, j, ya->log) &&
                             plot_valid(s->x, s->y_hi, j, ya->log)))
            j++;
        start = j;
        while (j < s->n && plot_valid(s->x, s->y_lo, j, ya->log) &&
               plot_valid(s->x, s->y_hi, j, ya->log))
            j++;
        end = j;
        if (end - start < 2) continue; /* one point has no width */
        plot_puts(b, "<path d=\"");
        for (k = start; k < end; k++) {
            plot_puts(b, k == start ? "M" : " L");
            plot_num(b, plot_map(xa, s->x[k], pa->x0, pa->x1));
            plot_puts(b, " ");
            plot_num(b, plot_map(ya, s->y_hi[k], pa->y1, pa->y0));
        }
        for (k = end - 1; k >= start; k--) {
            plot_puts(b, " L");
            plot_num(b, plot_map(xa, s->x[k], pa->x0, pa->x1));
            plot_puts(b, " ");
            plot_num(b, plot_map(ya, s->y_lo[k], pa->y1, pa->y0));
        }
        plot_printf(b, " Z\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\"/>\n", colour);
    }
}

/* The line of one series, broken at gaps. */
static void plot_line(plot_buf *b, const plot_series *s, const char *colour, const plot_axis *xa,
                      const plot_axis *ya, const plot_area *pa) {
    int j, started = 0, prev = 0;
    for (j = 0; j < s->n; j++) {
        int ok = plot_valid(s->x, s->y, j, ya->log);
        int next = j + 1 < s->n && plot_valid(s->x, s->y, j + 1, ya->log);
        if (ok && (prev || next)) {
            if (!started) plot_puts(b, "<path d=\"");
            plot_puts(b, prev ? " L" : started ? " M" : "M");
            plot_num(b, plot_map(xa, s->x[j], pa->x0, pa->x1));
            plot_puts(b, " ");
            plot_num(b, plot_map(ya, s->y[j], pa->y1, pa->y0));
            started = 1;
        }
        prev = ok;
    }
    if (started)
        plot_printf(b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" "
                       "stroke-linejoin=\"round\" stroke-linecap=\"round\"%s/>\n",
                    colour, s->dashed ? " stroke-dasharray=\"6 4\"" : "");
}

/* The markers of one series: every point with markers set, else only points with no drawable
   neighbour (a line of one point would not show). Drawn unclipped, so a point on the frame
   shows whole, and only inside the plot area. */
static void plot_points(plot_buf *b, const plot_series *s, const char *colour, int markers,
                        const plot_axis *xa, const plot_axis *ya, const plot_area *pa) {
    int j;
    for (j = 0; j < s->n; j++) {
        int alone = (j == 0 || !plot_valid(s->x, s->y, j - 1, ya->log)) &&
                    (j + 1 == s->n || !plot_valid(s->x, s->y, j + 1, ya->log));
        double px, py;
        if (!plot_valid(s->x, s->y, j, ya->log) || !(markers || alone)) continue;
        px = plot_map(xa, s->x[j], pa->x0, pa->x1);
        py = plot_map(ya, s->y[j], pa->y1, pa->y0);
        if (px >= pa->x0 - 0.5 && px <= pa->x1 + 0.5 && py >= pa->y0 - 0.5 && py <= pa->y1 + 0.5)
            plot_marker(b, px, py, colour);
    }
}

/* <text> at (x, y) with the given anchor and extra attributes, its content escaped. */
static void plot_label(plot_buf *b, double x, double y, const char *anchor, const char *attrs,
                       const char *text) {
    plot_puts(b, "<text x=\"");
    plot_num(b, x);
    plot_puts(b, "\" y=\"");
    plot_num(b, y);
    plot_printf(b, "\" text-anchor=\"%s\"%s%s>", anchor, *attrs ? " " : "", attrs);
    plot_text(b, text);
    plot_puts(b, "</text>\n");
}

static void plot_hline_seg(plot_buf *b, double x0, double y0, double x1, double y1,
                           const char *attrs) {
    plot_puts(b, "<line x1=\"");
    plot_num(b, x0);
    plot_puts(b, "\" y1=\"");
    plot_num(b, y0);
    plot_puts(b, "\" x2=\"");
    plot_num(b, x1);
    plot_puts(b, "\" y2=\"");
    plot_num(b, y1);
    plot_printf(b, "\" %s/>\n", attrs);
}

/* Report a failure the way every `ss` command does; the library's detail already starts with
   the file name it failed on. */
static int plot_fail(const char *path, const char *reason) {
    if (strncmp(reason, path, strlen(path)) == 0) fprintf(stderr, "ss: %s\n", reason);
    else fprintf(stderr, "ss: %s: %s\n", path, reason);
    return -1;
}

/* The whole document into b. */
static void plot_render(plot_buf *b, const plot_spec *spec, const plot_series *series,
                        int n_series) {
    int W = spec->width > 0 ? spec->width : 720, H = spec->height > 0 ? spec->height : 440;
    double xmin = HUGE_VAL, xmax = -HUGE_VAL, ymin = HUGE_VAL, ymax = -HUGE_VAL;
    double left, right = 24.0, top, bottom, lw, lh, best = HUGE_VAL, lx = 0.0, ly = 0.0;
    int i, j, n_legend = 0, legend_chars = 0, label_chars = 1, corner;
    plot_axis xa, ya;
    plot_area pa;
    char s[64];
    if (W < 240) W = 240;
    if (H < 160) H = 160;

    /* data ranges: x over every finite x; y over drawable points, bands and reference lines */
    for (i = 0; i < n_series; i++) {
        const plot_series *sr = &series[i];
        const double *ys[3];
        int k;
        if (sr->name) {
            n_legend++;
            if (plot_text_chars(sr->name) > legend_chars) legend_chars = plot_text_chars(sr->name);
        }
        if (!sr->x) continue;
        ys[0] = sr->y;
        ys[1] = sr->y_lo;
        ys[2] = sr->y_hi;
        for (j = 0; j < sr->n; j++) {
            if (!isfinite(sr->x[j])) continue;
            if (sr->x[j] < xmin) xmin = sr->x[j];
            if (sr->x[j] > xmax) xmax = sr->x[j];
            for (k = 0; k < 3; k++) {
                double v;
                if (!ys[k] || (k > 0 && !(sr->y_lo && sr->y_hi))) continue;
                v = ys[k][j];
                if (!isfinite(v) || (spec->log_y && v <= 0.0)) continue;
                if (v < ymin) ymin = v;
                if (v > ymax) ymax = v;
            }
        }
    }
    for (i = 0; i < spec->n_hlines; i++) {
        double v = spec->hlines[i].y;
        if (!isfinite(v) || (spec->log_y && v <= 0.0)) continue;
        if (v < ymin) ymin = v;
        if (v > ymax) ymax = v;
    }
    if (xmin > xmax) xmin = xmax = NAN;
    if (ymin > ymax) ymin = ymax = NAN;
    plot_axis_setup(&xa, xmin, xmax, NAN, NAN, 0);
    plot_axis_setup(&ya, ymin, ymax, spec->y_min, spec->y_max, spec->log_y);

    /* margins: the widest y tick label sets the left one */
    for (i = 0; i < ya.n_ticks; i++) {
        plot_axis_label(&ya, i, s, sizeof s);
        if ((int)strlen(s) > label_chars) label_chars = (int)strlen(s);
    }
    left = 14.0 + label_chars * PLOT_CHAR_W + (spec->ylabel && *spec->ylabel ? 22.0 : 4.0);
    top = spec->title && *spec->title ? 44.0 : 16.0;
    bottom = spec->xlabel && *spec->xlabel ? 54.0 : 34.0;
    pa.x0 = left;
    pa.x1 = W - right;
    pa.y0 = top;
    pa.y1 = H - bottom;

    plot_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
                   "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, "
                   "sans-serif\" font-size=\"12\">\n", W, H, W, H);
    if (spec->title && *spec->title) {
        plot_puts(b, "<title>");
        plot_text(b, spec->title);
        plot_puts(b, "</title>\n");
    }
    plot_puts(b, "<defs><clipPath id=\"plot-area\"><rect x=\"");
    plot_num(b, pa.x0);
    plot_puts(b, "\" y=\"");
    plot_num(b, pa.y0);
    plot_puts(b, "\" width=\"");
    plot_num(b, pa.x1 - pa.x0);
    plot_puts(b, "\" height=\"");
    plot_num(b, pa.y1 - pa.y0);
    plot_puts(b, "\"/></clipPath></defs>\n");
    plot_printf(b, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H);

    /* grid, tick marks and tick labels */
    for (i = 0; i < xa.n_ticks; i++) {
        double px = plot_map(&xa, xa.ticks[i], pa.x0, pa.x1);
        plot_hline_seg(b, px, pa.y0, px, pa.y1, "stroke=\"#e6e6e6\"");
        plot_hline_seg(b, px, pa.y1, px, pa.y1 + 4.0, "stroke=\"#333333\"");
        plot_axis_label(&xa, i, s, sizeof s);
        plot_label(b, px, pa.y1 + 18.0, "middle", "fill=\"#333333\"", s);
    }
    for (i = 0; i < ya.n_ticks; i++) {
        double py = pa.y1 - (ya.ticks[i] - ya.lo) / (ya.hi - ya.lo) * (pa.y1 - pa.y0);
        plot_hline_seg(b, pa.x0, py, pa.x1, py, "stroke=\"#e6e6e6\"");
        plot_hline_seg(b, pa.x0 - 4.0, py, pa.x0, py, "stroke=\"#333333\"");
        plot_axis_label(&ya, i, s, sizeof s);
        plot_label(b, pa.x0 - 7.0, py + 4.0, "end", "fill=\"#333333\"", s);
    }
    if (ya.log && ya.step == 1.0 && ya.hi - ya.lo <= 6.0) { /* minor ticks at 2..9 x 10^k */
        int d;
        for (d = (int)floor(ya.lo); d < (int)ceil(ya.hi); d++)
            for (j = 2; j <= 9; j++) {
                double t = d + log10((double)j), py;
                if (t < ya.lo || t > ya.hi) continue;
                py = pa.y1 - (t - ya.lo) / (ya.hi - ya.lo) * (pa.y1 - pa.y0);
                plot_hline_seg(b, pa.x0 - 2.0, py, pa.x0, py, "stroke=\"#333333\"");
            }
    }

    /* the data, clipped to the plot area: bands under reference lines under lines */
    plot_puts(b, "<g clip-path=\"url(#plot-area)\">\n");
    for (i = 0; i < n_series; i++)
        if (series[i].x && series[i].y_lo && series[i].y_hi)
            plot_band(b, &series[i], plot_palette[i % 10], &xa, &ya, &pa);
    for (i = 0; i < spec->n_hlines; i++) {
        const plot_hline *h = &spec->hlines[i];
        double py;
        if (!isfinite(h->y) || (ya.log && h->y <= 0.0)) continue;
        py = plot_map(&ya, h->y, pa.y1, pa.y0);
        if (py < pa.y0 - 0.5 || py > pa.y1 + 0.5) continue;
        plot_hline_seg(b, pa.x0, py, pa.x1, py,
                       "stroke=\"#555555\" stroke-width=\"1\" stroke-dasharray=\"4 3\"");
        if (h->label)
            plot_label(b, pa.x1 - 5.0, py < pa.y0 + 14.0 ? py + 13.0 : py - 4.0, "end",
                       "font-size=\"11\" fill=\"#333333\"", h->label);
    }
    for (i = 0; i < n_series; i++)
        if (series[i].x && series[i].y)
            plot_line(b, &series[i], plot_palette[i % 10], &xa, &ya, &pa);
    plot_puts(b, "</g>\n");
    for (i = 0; i < n_series; i++)
        if (series[i].x && series[i].y)
            plot_points(b, &series[i], plot_palette[i % 10], spec->markers, &xa, &ya, &pa);
    plot_puts(b, "<rect x=\"");
    plot_num(b, pa.x0);
    plot_puts(b, "\" y=\"");
    plot_num(b, pa.y0);
    plot_puts(b, "\" width=\"");
    plot_num(b, pa.x1 - pa.x0);
    plot_puts(b, "\" height=\"");
    plot_num(b, pa.y1 - pa.y0);
    plot_puts(b, "\" fill=\"none\" stroke=\"#333333\"/>\n");

    /* the legend, in the corner the data crosses least (ties: top right, top left, bottom
       right, bottom left) */
    if (n_legend > 0) {
        lw = 50.0 + legend_chars * PLOT_CHAR_W;
        lh = 8.0 + 18.0 * n_legend;
        for (corner = 0; corner < 4; corner++) {
            double bx = corner % 2 == 0 ? pa.x1 - 8.0 - lw : pa.x0 + 8.0;
            double by = corner < 2 ? pa.y0 + 8.0 : pa.y1 - 8.0 - lh;
            double o = plot_overlap(series, n_series, &xa, &ya, &pa, bx, by, lw, lh);
            if (o < best) {
                best = o;
                lx = bx;
                ly = by;
            }
        }
        plot_puts(b, "<g>\n<rect x=\"");
        plot_num(b, lx);
        plot_puts(b, "\" y=\"");
        plot_num(b, ly);
        plot_puts(b, "\" width=\"");
        plot_num(b, lw);
        plot_puts(b, "\" height=\"");
        plot_num(b, lh);
        plot_puts(b, "\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#999999\"/>\n");
        for (i = 0, j = 0; i < n_series; i++) {
            const char *colour = plot_palette[i % 10];
            double ry = ly + 4.0 + 18.0 * j + 9.0;
            char attrs[128];
            if (!series[i].name) continue;
            snprintf(attrs, sizeof attrs, "stroke=\"%s\" stroke-width=\"1.8\"%s", colour,
                     series[i].dashed ? " stroke-dasharray=\"6 4\"" : "");
            plot_hline_seg(b, lx + 8.0, ry, lx + 36.0, ry, attrs);
            if (spec->markers) plot_marker(b, lx + 22.0, ry, colour);
            plot_label(b, lx + 42.0, ry + 4.0, "start", "", series[i].name);
            j++;
        }
        plot_puts(b, "</g>\n");
    }

    /* titles */
    if (spec->title && *spec->title)
        plot_label(b, W / 2.0, 26.0, "middle", "font-size=\"15\" font-weight=\"bold\"",
                   spec->title);
    if (spec->xlabel && *spec->xlabel)
        plot_label(b, (pa.x0 + pa.x1) / 2.0, H - 12.0, "middle", "", spec->xlabel);
    if (spec->ylabel && *spec->ylabel) {
        plot_puts(b, "<text transform=\"translate(16 ");
        plot_num(b, (pa.y0 + pa.y1) / 2.0);
        plot_puts(b, ") rotate(-90)\" text-anchor=\"middle\">");
        plot_text(b, spec->ylabel);
        plot_puts(b, "</text>\n");
    }
    plot_puts(b, "</svg>\n");
}

int plot_lines_svg(const char *path, const plot_spec *spec, const plot_series *series,
                   int n_series) {
    plot_buf b = {NULL, 0, 0, 0};
    ss_result r;
    assert(path && spec && n_series >= 0 && (series || n_series == 0));
    assert(spec->n_hlines >= 0 && (spec->hlines || spec->n_hlines == 0));
    plot_render(&b, spec, series, n_series);
    if (b.failed) {
        free(b.text);
        return plot_fail(path, "out of memory");
    }
    r = ss_file_write_atomic(path, b.text, b.len);
    free(b.text);
    if (r != SS_OK) return plot_fail(path, ss_last_error_detail());
    return 0;
}
