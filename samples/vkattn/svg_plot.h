/* A small SVG writer: log-log line plots (panels in rows, one polyline with markers per
 * series, decade grid lines, a legend) and grouped bar charts. No dependency beyond stdio. */
#ifndef VKATTN_SVG_PLOT_H
#define VKATTN_SVG_PLOT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct svg_series {
    const char *label;
    const double *x, *y; /* points with x or y not > 0 are skipped (the line breaks there) */
    uint32_t count;
    bool dashed;
} svg_series;

typedef struct svg_panel {
    const char *title, *x_label, *y_label;
    const svg_series *series;
    uint32_t series_count;
    bool x_powers_of_two; /* ticks at 2^k (sizes); else at decades */
    bool legend_below;    /* legend in the lower left corner (falling curves); else upper left */
} svg_panel;

/* Writes the figure (panels in rows of three); false (and errno from stdio) if the file
 * could not be written. */
bool svg_write_loglog(const char *path, const char *title, const svg_panel *panels, uint32_t panel_count);

/* A grouped bar chart from zero: per group (x axis), a bar per series; values[g·series_count
 * + s], a missing bar NaN. */
bool svg_write_bars(const char *path, const char *title, const char *y_label, const char *const *groups,
                    uint32_t group_count, const char *const *series, uint32_t series_count, const double *values);

#endif
