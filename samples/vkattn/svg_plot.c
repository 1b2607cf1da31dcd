#include "svg_plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { PANEL_W = 460, PANEL_H = 340, MARGIN_L = 70, MARGIN_R = 16, MARGIN_T = 34, MARGIN_B = 46, TITLE_H = 30 };
enum { PANELS_PER_ROW = 3 };

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

typedef struct axis {
    double lo, hi; /* log10 of the range */
} axis;

/* Text as SVG character data: device names may hold '&' or '<'. */
static void put_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else
            fputc(*s, f);
    }
}

static bool usable(double x, double y)
{
    return x > 0 && y > 0 && isfinite(x) && isfinite(y);
}

/* The data range of a panel, widened to whole decades on y and a little on x. */
static bool panel_range(const svg_panel *p, axis *x, axis *y)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (uint32_t s = 0; s < p->series_count; s++)
        for (uint32_t i = 0; i < p->series[s].count; i++) {
            double a = p->series[s].x[i], b = p->series[s].y[i];
            if (!usable(a, b))
                continue;
            x0 = fmin(x0, a), x1 = fmax(x1, a), y0 = fmin(y0, b), y1 = fmax(y1, b);
        }
    if (x0 > x1)
        return false;
    double xpad = x1 > x0 ? 0.04 * (log10(x1) - log10(x0)) : 0.3;
    *x = (axis){log10(x0) - xpad, log10(x1) + xpad};
    *y = (axis){floor(log10(y0)), ceil(log10(y1))};
    if (y->hi <= y->lo)
        y->hi = y->lo + 1;
    return true;
}

static double to_px(const axis *a, double v, double p0, double p1)
{
    return p0 + (log10(v) - a->lo) / (a->hi - a->lo) * (p1 - p0);
}

static void format_tick(char *buf, size_t size, double v, bool sizes)
{
    if (sizes && v >= 1024 && fmod(v, 1024) == 0)
        snprintf(buf, size, "%gk", v / 1024);
    else
        snprintf(buf, size, "%g", v);
}

static void draw_x_ticks(FILE *f, const svg_panel *p, const axis *x, double left, double right, double top,
                         double bottom)
{
    double step = p->x_powers_of_two ? log10(2.0) : 1.0;
    for (double e = ceil(x->lo / step - 1e-9) * step; e <= x->hi + 1e-9; e += step) {
        double v = pow(10, e), px = to_px(x, v, left, right);
        if (p->x_powers_of_two)
            v = round(v);
        char label[32];
        format_tick(label, sizeof label, v, p->x_powers_of_two);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", px, top, px, bottom);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%s</text>\n", px, bottom + 15, label);
    }
}

static void draw_y_ticks(FILE *f, const axis *y, double left, double right, double top, double bottom)
{
    bool fine = y->hi - y->lo <= 3; /* few decades: 2 and 5 as well */
    for (double e = y->lo; e <= y->hi + 1e-9; e += 1) {
        for (int m = 1; m <= (fine ? 5 : 1); m += m == 1 ? 1 : 3) {
            double v = m * pow(10, e);
            if (log10(v) > y->hi + 1e-9)
                break;
            double py = to_px(y, v, bottom, top);
            fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s'/>\n", left, py, right, py,
                    m == 1 ? "#ccc" : "#eee");
            fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n", left - 5, py + 4, v);
        }
    }
}

static void draw_series(FILE *f, const svg_series *s, const char *color, const axis *x, const axis *y, double left,
                        double right, double top, double bottom)
{
    bool open = false;
    for (uint32_t i = 0; i < s->count; i++) {
        if (!usable(s->x[i], s->y[i])) {
            if (open)
                fprintf(f, "'/>\n");
            open = false;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.8'%s points='", color,
                    s->dashed ? " stroke-dasharray='5,3'" : "");
        open = true;
        fprintf(f, "%.1f,%.1f ", to_px(x, s->x[i], left, right), to_px(y, s->y[i], bottom, top));
    }
    if (open)
        fprintf(f, "'/>\n");
    for (uint32_t i = 0; i < s->count; i++)
        if (usable(s->x[i], s->y[i]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", to_px(x, s->x[i], left, right),
                    to_px(y, s->y[i], bottom, top), color);
}

static void draw_legend(FILE *f, const svg_panel *p, double left, double top, double bottom)
{
    double height = 15.0 * p->series_count + 6;
    if (p->legend_below)
        top = bottom - height - 4;
    fprintf(f, "<rect x='%.1f' y='%.1f' width='190' height='%.1f' fill='white' fill-opacity='0.85'/>\n", left + 4,
            top + 2, height);
    for (uint32_t s = 0; s < p->series_count; s++) {
        double y = top + 14 + 15 * s;
        const char *color = palette[s % (sizeof palette / sizeof palette[0])];
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'%s/>\n", left + 8, y - 4,
                left + 28, y - 4, color, p->series[s].dashed ? " stroke-dasharray='5,3'" : "");
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11'>", left + 33, y);
        put_text(f, p->series[s].label);
        fprintf(f, "</text>\n");
    }
}

static void draw_panel(FILE *f, const svg_panel *p, double x0, double y0)
{
    double left = x0 + MARGIN_L, right = x0 + PANEL_W - MARGIN_R, top = y0 + MARGIN_T, bottom = y0 + PANEL_H - MARGIN_B;
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='13' text-anchor='middle' font-weight='bold'>", (left + right) / 2,
            y0 + 20);
    put_text(f, p->title);
    fprintf(f, "</text>\n");
    axis x, y;
    if (!panel_range(p, &x, &y)) {
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>no data</text>\n", (left + right) / 2,
                (top + bottom) / 2);
        return;
    }
    draw_x_ticks(f, p, &x, left, right, top, bottom);
    draw_y_ticks(f, &y, left, right, top, bottom);
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n", left, top,
            right - left, bottom - top);
    for (uint32_t s = 0; s < p->series_count; s++)
        draw_series(f, &p->series[s], palette[s % (sizeof palette / sizeof palette[0])], &x, &y, left, right, top,
                    bottom);
    draw_legend(f, p, left, top, bottom);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>%s</text>\n", (left + right) / 2,
            bottom + 34, p->x_label);
    fprintf(f, "<text transform='translate(%.1f,%.1f) rotate(-90)' font-size='12' text-anchor='middle'>%s</text>\n",
            x0 + 16, (top + bottom) / 2, p->y_label);
}

static void begin_figure(FILE *f, unsigned width, unsigned height, const char *title)
{
    fprintf(f,
            "<svg xmlns='http://www.w3.org/2000/svg' width='%u' height='%u' viewBox='0 0 %u %u' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            width, height, width, height);
    fprintf(f, "<text x='%u' y='20' font-size='14' text-anchor='middle'>", width / 2);
    put_text(f, title);
    fprintf(f, "</text>\n");
}

bool svg_write_loglog(const char *path, const char *title, const svg_panel *panels, uint32_t panel_count)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    uint32_t columns = panel_count < PANELS_PER_ROW ? panel_count : PANELS_PER_ROW;
    uint32_t rows = (panel_count + PANELS_PER_ROW - 1) / PANELS_PER_ROW;
    begin_figure(f, PANEL_W * (columns ? columns : 1), PANEL_H * rows + TITLE_H, title);
    for (uint32_t i = 0; i < panel_count; i++)
        draw_panel(f, &panels[i], (double)PANEL_W * (i % PANELS_PER_ROW),
                   TITLE_H + (double)PANEL_H * (i / PANELS_PER_ROW));
    fprintf(f, "</svg>\n");
    return fclose(f) == 0;
}

/* ------------------------------------------------------------------ bars */

enum { BAR_GROUP_W = 34, BAR_H = 300, BAR_LEFT = 70, BAR_BOTTOM = 120, BAR_LEGEND_W = 220 };

bool svg_write_bars(const char *path, const char *title, const char *y_label, const char *const *groups,
                    uint32_t group_count, const char *const *series, uint32_t series_count, const double *values)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    double hi = 0;
    for (uint32_t i = 0; i < group_count * series_count; i++)
        if (isfinite(values[i]) && values[i] > hi)
            hi = values[i];
    double step = hi > 0 ? pow(10, floor(log10(hi))) : 1; /* ticks at whole multiples of a power of ten */
    hi = hi > 0 ? ceil(hi / step) * step : 1;
    double group_w = (double)BAR_GROUP_W * (series_count + 1) / 2 + 20;
    double plot_w = group_w * group_count, top = TITLE_H + 10, bottom = top + BAR_H;
    begin_figure(f, (unsigned)(BAR_LEFT + plot_w + BAR_LEGEND_W), (unsigned)(bottom + BAR_BOTTOM), title);
    for (double v = 0; v <= hi + 1e-9 * hi; v += step) {
        double y = bottom - v / hi * BAR_H;
        fprintf(f, "<line x1='%d' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s'/>\n", BAR_LEFT, y, BAR_LEFT + plot_w, y,
                v == 0 ? "#444" : "#ddd");
        fprintf(f, "<text x='%d' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n", BAR_LEFT - 5, y + 4, v);
    }
    double bar_w = (group_w - 20) / (series_count ? series_count : 1);
    for (uint32_t g = 0; g < group_count; g++) {
        double x0 = BAR_LEFT + g * group_w + 10;
        for (uint32_t s = 0; s < series_count; s++) {
            double v = values[g * series_count + s];
            if (!isfinite(v) || v <= 0)
                continue;
            fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%.3g</title></rect>\n",
                    x0 + s * bar_w, bottom - v / hi * BAR_H, bar_w - 2, v / hi * BAR_H,
                    palette[s % (sizeof palette / sizeof palette[0])], v);
        }
        fprintf(f, "<text transform='translate(%.1f,%.1f) rotate(-40)' font-size='11' text-anchor='end'>",
                x0 + (group_w - 20) / 2, bottom + 14);
        put_text(f, groups[g]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<text transform='translate(16,%.1f) rotate(-90)' font-size='12' text-anchor='middle'>",
            (top + bottom) / 2);
    put_text(f, y_label);
    fprintf(f, "</text>\n");
    for (uint32_t s = 0; s < series_count; s++) {
        double x = BAR_LEFT + plot_w + 16, y = top + 14 + 16.0 * s;
        fprintf(f, "<rect x='%.1f' y='%.1f' width='14' height='10' fill='%s'/>\n", x, y - 9,
                palette[s % (sizeof palette / sizeof palette[0])]);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11'>", x + 20, y);
        put_text(f, series[s]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
    return fclose(f) == 0;
}
