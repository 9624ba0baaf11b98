/* tools/plot.h - SVG line charts for the `ss` commands (loss curves, ranks per layer), written by
   our own code: no plotting library, one self-contained SVG 1.1 file per chart that any browser
   opens.

   What a chart has: a title, axis titles, "nice" ticks (steps of 1, 2 or 5 times a power of ten,
   4 to 8 of them; powers of ten on a log axis) with compact labels ("1k", "2.5", "1e-4"), a light
   grid, one line per series in a fixed colour-blind-friendly palette of 10 colours (series i gets
   colour i mod 10), optional translucent bands (min..max over seeds), labelled horizontal
   reference lines, and a legend box inside the plot area in the corner the data crosses least
   (top right when that is as good as any).

   Usage:
       double x[3] = {0, 1, 2}, y[3] = {4.1, 3.2, 2.9};
       plot_series s = {"MLA-o", x, y, NULL, NULL, 3, 0};
       plot_spec spec = {"pre-training loss", "step", "loss", 0, NAN, NAN, NULL, 0, 0, 0, 0};
       if (plot_lines_svg("loss.svg", &spec, &s, 1) != 0) return 1;
   A zeroed plot_spec is a valid one: y_min == y_max counts as automatic, like NaN. */
#ifndef SS_TOOL_PLOT_H
#define SS_TOOL_PLOT_H

/* One line of a chart. All pointers are borrowed for the duration of the call only. */
typedef struct plot_series {
    const char *name;          /* legend text (NULL: no legend entry) */
    const double *x, *y;       /* n points; NaN y values are gaps (the line breaks) */
    /* optional band (e.g. min..max over seeds), drawn translucent; NULL: none */
    const double *y_lo, *y_hi;
    int n;
    int dashed;                /* draw dashed */
} plot_series;

/* A labelled horizontal reference line (e.g. "max rank 32"); it is kept inside automatic limits. */
typedef struct plot_hline {
    double y;
    const char *label; /* NULL: no label */
} plot_hline;

/* What the chart looks like. Text fields may be NULL (nothing drawn). */
typedef struct plot_spec {
    const char *title, *xlabel, *ylabel;
    int log_y;                 /* log10 y axis (values <= 0 skipped) */
    double y_min, y_max;       /* NaN: automatic (rounded out to the next tick); both set with
                                  y_min >= y_max (or <= 0 on a log axis) counts as automatic */
    const plot_hline *hlines;
    int n_hlines;
    int width, height;         /* 0: 720 x 440 (each on its own); at least 240 x 160 */
    int markers;               /* draw a small circle at every point */
} plot_spec;

/* Write an SVG line chart to path, crash-safe (a temporary file renamed over path). Non-finite
   x or y values are gaps; a point with no neighbour on either side is drawn as a dot so it does
   not vanish; lines outside explicit y limits are clipped to the plot area. No data at all gives
   empty axes. Returns 0 on success; on failure prints "ss: <path>: <reason>" to stderr and
   returns -1. */
int plot_lines_svg(const char *path, const plot_spec *spec, const plot_series *series,
                   int n_series);

#endif
