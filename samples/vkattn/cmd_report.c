/* vkattn report FILE.json...: result files of `vkattn bench --json` from several devices
 * (or runs, or limits profiles) merged into one comparison —
 *   a Markdown table per scheme (stdout, or --md FILE) and the same in HTML (--html FILE):
 *   rows by size, a column per device, each cell the median time and the speed against the
 *   baseline device (--baseline NAME, else the first file);
 *   SVG charts (--svg PREFIX): PREFIX-time.svg, time against N per device, a panel per
 *   scheme; PREFIX-speed.svg, bars per scheme at the largest size all devices ran.
 * A case is a row's scheme, kernel, element type, causality and sizes Nq, Nk; files that
 * hold the same case with other shapes (batch, heads, head dim) or parameters are not
 * comparable and are refused, naming both. */
#include "cli.h"
#include "json.h"
#include "svg_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RUNS 16
#define MAX_CASES 1024

typedef struct run { /* one result file */
    const char *path;
    json_value *doc;
    char label[200]; /* the device's name, its limits profile when clamped */
    char driver[256], tool[64], time_utc[32];
    double f32_gflops, bandwidth_gbs; /* its roofline, 0 when the file holds none */
} run;

typedef struct result { /* one file's row of one case */
    bool present, ran;
    double median_ms, min_ms, max_ms, gflops, roof;
    int reps;
    char shape[600]; /* what must match across files: batch, heads, head dim, parameters */
} result;

typedef struct case_row {
    char scheme[48], kernel[48], dtype[8];
    bool causal;
    uint32_t nq, nk;
    result at[MAX_RUNS];
} case_row;

typedef struct report {
    run runs[MAX_RUNS];
    uint32_t run_count, baseline;
    case_row *cases;
    uint32_t case_count;
} report;

typedef struct report_options {
    const char *files[MAX_RUNS];
    uint32_t file_count;
    const char *baseline, *md_path, *html_path, *svg_prefix;
} report_options;

/* ------------------------------------------------------------------ reading */

static const char *text_of(const json_value *object, const char *key)
{
    const json_value *v = json_member(object, key);
    return v && v->type == JSON_STRING ? v->string : NULL;
}

static bool number_of(const json_value *object, const char *key, double *out)
{
    const json_value *v = json_member(object, key);
    if (!v || (v->type != JSON_NUMBER && v->type != JSON_BOOL))
        return false;
    *out = v->number;
    return true;
}

static double number_or(const json_value *object, const char *key, double fallback)
{
    double v;
    return number_of(object, key, &v) ? v : fallback;
}

/* A JSON value as compact text (the parameters' object, for comparing). */
static void put_value(char *out, size_t size, size_t *used, const json_value *v)
{
    if (*used >= size)
        return;
    char *at = out + *used;
    size_t left = size - *used;
    int n = 0;
    if (v->type == JSON_STRING)
        n = snprintf(at, left, "\"%s\"", v->string);
    else if (v->type == JSON_NUMBER || v->type == JSON_BOOL)
        n = snprintf(at, left, "%.10g", v->number);
    else if (v->type == JSON_OBJECT || v->type == JSON_ARRAY) {
        n = snprintf(at, left, "%c", v->type == JSON_OBJECT ? '{' : '[');
        *used += n > 0 ? (size_t)n : 0;
        for (size_t i = 0; i < v->count; i++) {
            if (v->items[i].key) {
                n = snprintf(out + *used, *used < size ? size - *used : 0, "%s%s=", i ? "," : "", v->items[i].key);
                *used += n > 0 ? (size_t)n : 0;
            }
            put_value(out, size, used, &v->items[i]);
        }
        n = snprintf(out + (*used < size ? *used : size - 1), *used < size ? size - *used : 1, "%c",
                     v->type == JSON_OBJECT ? '}' : ']');
    } else
        n = snprintf(at, left, "null");
    *used += n > 0 ? (size_t)n : 0;
}

/* The run's label and provenance from its first row (every row of a file carries them). */
static void describe_run(run *r, const json_value *row)
{
    const json_value *device = json_member(row, "device"), *tool = json_member(row, "tool");
    const json_value *ceilings = json_member(row, "roofline");
    const char *name = device ? text_of(device, "name") : NULL, *limits = device ? text_of(device, "limits") : NULL;
    if (limits && strcmp(limits, "none") != 0)
        snprintf(r->label, sizeof r->label, "%s [%s]", name ? name : r->path, limits);
    else
        snprintf(r->label, sizeof r->label, "%s", name ? name : r->path);
    snprintf(r->driver, sizeof r->driver, "%s", device && text_of(device, "driver") ? text_of(device, "driver") : "");
    snprintf(r->tool, sizeof r->tool, "%s %s", tool && text_of(tool, "version") ? text_of(tool, "version") : "?",
             tool && text_of(tool, "commit") ? text_of(tool, "commit") : "");
    snprintf(r->time_utc, sizeof r->time_utc, "%s", tool && text_of(tool, "time_utc") ? text_of(tool, "time_utc") : "");
    if (ceilings) {
        r->f32_gflops = number_or(ceilings, "f32_gflops", 0);
        r->bandwidth_gbs = number_or(ceilings, "bandwidth_gbs", 0);
    }
}

static case_row *find_case(report *rep, const char *scheme, const char *kernel, const char *dtype, bool causal,
                           uint32_t nq, uint32_t nk)
{
    for (uint32_t i = 0; i < rep->case_count; i++) {
        case_row *c = &rep->cases[i];
        if (!strcmp(c->scheme, scheme) && !strcmp(c->kernel, kernel) && !strcmp(c->dtype, dtype) &&
            c->causal == causal && c->nq == nq && c->nk == nk)
            return c;
    }
    if (rep->case_count == MAX_CASES)
        return NULL;
    case_row *c = &rep->cases[rep->case_count++];
    memset(c, 0, sizeof *c);
    snprintf(c->scheme, sizeof c->scheme, "%s", scheme);
    snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
    snprintf(c->dtype, sizeof c->dtype, "%s", dtype);
    c->causal = causal, c->nq = nq, c->nk = nk;
    return c;
}

static void case_name(const case_row *c, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s %s Nq=%u Nk=%u%s", c->scheme, c->kernel[0] ? " " : "", c->kernel, c->dtype, c->nq,
             c->nk, c->causal ? " causal" : "");
}

/* One row of file `index` into its case; 0, or the exit status after cli_fail. */
static int add_row(report *rep, uint32_t index, size_t row_index, const json_value *row)
{
    const char *path = rep->runs[index].path;
    const char *scheme = text_of(row, "scheme"), *kernel = text_of(row, "kernel"), *dtype = text_of(row, "dtype");
    double causal, nq, nk, batch, heads, kv_heads, d;
    const json_value *params = json_member(row, "params");
    if (!scheme || !kernel || !dtype || !number_of(row, "causal", &causal) || !number_of(row, "nq", &nq) ||
        !number_of(row, "nk", &nk) || !number_of(row, "batch", &batch) || !number_of(row, "heads", &heads) ||
        !number_of(row, "d", &d) || !params)
        return cli_fail("report: %s row %zu is not a bench row (it needs scheme, kernel, dtype, causal, nq, nk, "
                        "batch, heads, d, params: vkattn bench --json writes them)",
                        path, row_index);
    case_row *c = find_case(rep, scheme, kernel, dtype, causal != 0, (uint32_t)nq, (uint32_t)nk);
    if (!c)
        return cli_fail("report: more than %d distinct cases", MAX_CASES);
    result *r = &c->at[index];
    char name[160];
    case_name(c, name, sizeof name);
    if (r->present)
        return cli_fail("report: %s holds %s twice (rows of one run per file)", path, name);
    kv_heads = number_or(row, "kv_heads", heads);
    size_t used = (size_t)snprintf(r->shape, sizeof r->shape, "batch %g, heads %g:%g, head dim %g, params ", batch,
                                   heads, kv_heads, d);
    put_value(r->shape, sizeof r->shape, &used, params);
    double ran = 0;
    r->present = true;
    r->ran = number_of(row, "ran", &ran) && ran != 0;
    r->median_ms = number_or(row, "median_gpu_ms", NAN);
    r->min_ms = number_or(row, "min_gpu_ms", NAN);
    r->max_ms = number_or(row, "max_gpu_ms", NAN);
    r->gflops = number_or(row, "gflops", NAN);
    r->roof = number_or(row, "roofline_fraction", NAN);
    r->reps = (int)number_or(row, "reps", 0);
    return 0;
}

static int load_run(report *rep, uint32_t index)
{
    run *r = &rep->runs[index];
    size_t length = 0;
    char *text = cli_read_file(r->path, &length), error[256];
    if (!text)
        return cli_fail("report: cannot read %s", r->path);
    r->doc = json_parse(text, length, error, sizeof error);
    free(text);
    if (!r->doc)
        return cli_fail("report: %s: %s", r->path, error);
    if (r->doc->type != JSON_ARRAY || r->doc->count == 0 || r->doc->items[0].type != JSON_OBJECT)
        return cli_fail("report: %s is not a list of bench rows (vkattn bench --json FILE writes one)", r->path);
    describe_run(r, &r->doc->items[0]);
    for (size_t i = 0; i < r->doc->count; i++) {
        if (r->doc->items[i].type != JSON_OBJECT)
            return cli_fail("report: %s row %zu is not an object", r->path, i);
        if (add_row(rep, index, i, &r->doc->items[i]))
            return 1;
    }
    return 0;
}

/* Two runs with one label (the same device twice) are told apart by their files. */
static void distinct_labels(report *rep)
{
    for (uint32_t i = 0; i < rep->run_count; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(rep->runs[i].label, rep->runs[j].label) == 0) {
                size_t n = strlen(rep->runs[i].label);
                snprintf(rep->runs[i].label + n, sizeof rep->runs[i].label - n, " (%s)", rep->runs[i].path);
            }
}

/* Every case that several files hold must have one shape and one set of parameters, and
 * with several files at least one case must be shared. */
static int check_comparable(const report *rep)
{
    uint32_t shared = 0;
    for (uint32_t i = 0; i < rep->case_count; i++) {
        const case_row *c = &rep->cases[i];
        int first = -1, holders = 0;
        for (uint32_t k = 0; k < rep->run_count; k++) {
            if (!c->at[k].present)
                continue;
            holders++;
            if (first < 0) {
                first = (int)k;
            } else if (strcmp(c->at[k].shape, c->at[first].shape) != 0) {
                char name[160];
                case_name(c, name, sizeof name);
                return cli_fail("report: %s and %s are not comparable: both hold %s, but with %s against %s",
                                rep->runs[first].path, rep->runs[k].path, name, c->at[first].shape, c->at[k].shape);
            }
        }
        shared += holders > 1;
    }
    if (rep->run_count > 1 && shared == 0)
        return cli_fail("report: the files share no case (the same scheme, kernel, element type and sizes): "
                        "nothing to compare");
    return 0;
}

/* ------------------------------------------------------------------ tables */

typedef enum format { MARKDOWN, HTML } format;

static void put_escaped(FILE *f, const char *s, format fmt)
{
    for (; *s; s++) {
        if (fmt == HTML && (*s == '<' || *s == '>' || *s == '&'))
            fputs(*s == '<' ? "&lt;" : *s == '>' ? "&gt;" : "&amp;", f);
        else if (fmt == MARKDOWN && *s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

static void begin_row(FILE *f, format fmt)
{
    fputs(fmt == HTML ? "<tr>" : "|", f);
}

static void cell(FILE *f, format fmt, const char *text)
{
    if (fmt == HTML)
        fputs("<td>", f);
    else
        fputc(' ', f);
    put_escaped(f, text, fmt);
    fputs(fmt == HTML ? "</td>" : " |", f);
}

static void end_row(FILE *f, format fmt)
{
    fputs(fmt == HTML ? "</tr>\n" : "\n", f);
}

static void header_rule(FILE *f, format fmt, uint32_t columns)
{
    if (fmt == HTML)
        return;
    fputs("|", f);
    for (uint32_t i = 0; i < columns; i++)
        fputs(i < 2 ? ":---|" : "---:|", f);
    fputs("\n", f);
}

static void write_devices(FILE *f, const report *rep, format fmt)
{
    fputs(fmt == HTML ? "<h2>Devices</h2>\n<table>\n" : "## Devices\n\n", f);
    static const char *const heads[] = {"", "device", "driver", "vkattn", "time (UTC)", "file", "f32 GFLOP/s", "GB/s"};
    begin_row(f, fmt);
    for (int i = 0; i < 8; i++)
        cell(f, fmt, heads[i]);
    end_row(f, fmt);
    header_rule(f, fmt, 8);
    for (uint32_t k = 0; k < rep->run_count; k++) {
        const run *r = &rep->runs[k];
        char peak[32] = "-", bandwidth[32] = "-";
        if (r->f32_gflops > 0)
            snprintf(peak, sizeof peak, "%.1f", r->f32_gflops),
                snprintf(bandwidth, sizeof bandwidth, "%.1f", r->bandwidth_gbs);
        begin_row(f, fmt);
        cell(f, fmt, k == rep->baseline ? "baseline" : "");
        const char *cells[] = {r->label, r->driver, r->tool, r->time_utc, r->path, peak, bandwidth};
        for (int i = 0; i < 7; i++)
            cell(f, fmt, cells[i]);
        end_row(f, fmt);
    }
    fputs(fmt == HTML ? "</table>\n" : "\n", f);
}

/* Whether case b belongs to a's table: the same scheme, kernel and element type. */
static bool same_table(const case_row *a, const case_row *b)
{
    return !strcmp(a->scheme, b->scheme) && !strcmp(a->kernel, b->kernel) && !strcmp(a->dtype, b->dtype);
}

static void time_cell(FILE *f, format fmt, const report *rep, const case_row *c, uint32_t k)
{
    const result *r = &c->at[k], *base = &c->at[rep->baseline];
    char text[96] = "-";
    if (r->present && r->ran && isfinite(r->median_ms)) {
        int n = snprintf(text, sizeof text, "%.3f ms", r->median_ms);
        if (k != rep->baseline && base->present && base->ran && r->median_ms > 0)
            n += snprintf(text + n, sizeof text - (size_t)n, " (%.2fx)", base->median_ms / r->median_ms);
        if (isfinite(r->roof))
            snprintf(text + n, sizeof text - (size_t)n, ", %.0f%% roof", 100 * r->roof);
    }
    cell(f, fmt, text);
}

static void write_table(FILE *f, const report *rep, uint32_t first, format fmt)
{
    const case_row *c0 = &rep->cases[first];
    char title[160];
    snprintf(title, sizeof title, "%s%s%s (%s)", c0->scheme, c0->kernel[0] ? " " : "", c0->kernel, c0->dtype);
    fputs(fmt == HTML ? "<h2>" : "## ", f);
    put_escaped(f, title, fmt);
    fputs(fmt == HTML ? "</h2>\n<table>\n" : "\n\n", f);
    begin_row(f, fmt);
    cell(f, fmt, "N");
    cell(f, fmt, "causal");
    for (uint32_t k = 0; k < rep->run_count; k++)
        cell(f, fmt, rep->runs[k].label);
    end_row(f, fmt);
    header_rule(f, fmt, 2 + rep->run_count);
    for (uint32_t i = first; i < rep->case_count; i++) {
        const case_row *c = &rep->cases[i];
        if (!same_table(c0, c))
            continue;
        char size[32];
        if (c->nk == c->nq)
            snprintf(size, sizeof size, "%u", c->nq);
        else
            snprintf(size, sizeof size, "%u x %u", c->nq, c->nk);
        begin_row(f, fmt);
        cell(f, fmt, size);
        cell(f, fmt, c->causal ? "yes" : "no");
        for (uint32_t k = 0; k < rep->run_count; k++)
            time_cell(f, fmt, rep, c, k);
        end_row(f, fmt);
    }
    fputs(fmt == HTML ? "</table>\n" : "\n", f);
}

/* Whether case i is the first of its table. */
static bool opens_table(const report *rep, uint32_t i)
{
    for (uint32_t j = 0; j < i; j++)
        if (same_table(&rep->cases[j], &rep->cases[i]))
            return false;
    return true;
}

static void write_document(FILE *f, const report *rep, format fmt, const char *svg_prefix)
{
    if (fmt == HTML)
        fputs("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>vkattn report</title>\n"
              "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
              "td{border:1px solid #ccc;padding:3px 8px;text-align:right}tr:first-child td{font-weight:bold;"
              "background:#f4f4f4}</style></head><body>\n<h1>vkattn report</h1>\n",
              f);
    else
        fputs("# vkattn report\n\n", f);
    const char *explain = "Median GPU time per run; in brackets the speed against the baseline device (above 1: "
                          "faster); roof: the share of the device's roofline the row reached.";
    if (fmt == HTML)
        fprintf(f, "<p>%s</p>\n", explain);
    else
        fprintf(f, "%s\n\n", explain);
    write_devices(f, rep, fmt);
    if (fmt == HTML && svg_prefix)
        fprintf(f, "<p><img src='%s-time.svg'></p>\n<p><img src='%s-speed.svg'></p>\n", svg_prefix, svg_prefix);
    for (uint32_t i = 0; i < rep->case_count; i++)
        if (opens_table(rep, i))
            write_table(f, rep, i, fmt);
    if (fmt == HTML)
        fputs("</body></html>\n", f);
}

/* ------------------------------------------------------------------ charts */

/* Time against N per device: a panel per table, the non-causal rows. */
static int write_time_chart(const report *rep, const char *path)
{
    uint32_t tables = 0;
    for (uint32_t i = 0; i < rep->case_count; i++)
        tables += opens_table(rep, i);
    svg_panel *panels = calloc(tables ? tables : 1, sizeof *panels);
    svg_series *series = calloc((size_t)(tables ? tables : 1) * rep->run_count, sizeof *series);
    double *xs = calloc((size_t)rep->case_count * rep->run_count + 1, sizeof *xs);
    double *ys = calloc((size_t)rep->case_count * rep->run_count + 1, sizeof *ys);
    char(*titles)[160] = calloc(tables ? tables : 1, sizeof *titles);
    bool ok = panels && series && xs && ys && titles;
    uint32_t p = 0, used = 0;
    for (uint32_t i = 0; ok && i < rep->case_count; i++) {
        if (!opens_table(rep, i))
            continue;
        const case_row *c0 = &rep->cases[i];
        snprintf(titles[p], sizeof titles[p], "%s%s%s (%s)", c0->scheme, c0->kernel[0] ? " " : "", c0->kernel,
                 c0->dtype);
        for (uint32_t k = 0; k < rep->run_count; k++) {
            svg_series *s = &series[p * rep->run_count + k];
            *s = (svg_series){.label = rep->runs[k].label, .x = xs + used, .y = ys + used};
            for (uint32_t j = i; j < rep->case_count; j++) {
                const case_row *c = &rep->cases[j];
                if (same_table(c0, c) && !c->causal && c->at[k].present && c->at[k].ran) {
                    xs[used] = c->nq, ys[used] = c->at[k].median_ms;
                    used++, s->count++;
                }
            }
        }
        panels[p] = (svg_panel){.title = titles[p],
                                .x_label = "N (tokens)",
                                .y_label = "median GPU ms",
                                .series = &series[p * rep->run_count],
                                .series_count = rep->run_count,
                                .x_powers_of_two = true};
        p++;
    }
    ok = ok && svg_write_loglog(path, "time against N, per device", panels, p);
    free(panels), free(series), free(xs), free(ys), free(titles);
    return ok ? 0 : cli_fail("report: cannot write %s", path);
}

/* Speed against the baseline per table, at the largest non-causal N the baseline ran. */
static int write_speed_chart(const report *rep, const char *path)
{
    uint32_t tables = 0;
    for (uint32_t i = 0; i < rep->case_count; i++)
        tables += opens_table(rep, i);
    const char **groups = calloc(tables ? tables : 1, sizeof *groups);
    const char **labels = calloc(rep->run_count, sizeof *labels);
    double *values = calloc((size_t)(tables ? tables : 1) * rep->run_count, sizeof *values);
    char(*titles)[160] = calloc(tables ? tables : 1, sizeof *titles);
    bool ok = groups && labels && values && titles;
    uint32_t g = 0;
    for (uint32_t i = 0; ok && i < rep->case_count; i++) {
        if (!opens_table(rep, i))
            continue;
        const case_row *largest = NULL;
        for (uint32_t j = i; j < rep->case_count; j++) {
            const case_row *c = &rep->cases[j];
            if (same_table(&rep->cases[i], c) && !c->causal && c->at[rep->baseline].ran &&
                (!largest || c->nq > largest->nq))
                largest = c;
        }
        if (!largest)
            continue;
        snprintf(titles[g], sizeof titles[g], "%s%s%s N=%u", largest->scheme, largest->kernel[0] ? " " : "",
                 largest->kernel, largest->nq);
        groups[g] = titles[g];
        for (uint32_t k = 0; k < rep->run_count; k++) {
            const result *r = &largest->at[k];
            values[g * rep->run_count + k] =
                r->present && r->ran && r->median_ms > 0 ? largest->at[rep->baseline].median_ms / r->median_ms : NAN;
        }
        g++;
    }
    for (uint32_t k = 0; ok && k < rep->run_count; k++)
        labels[k] = rep->runs[k].label;
    char title[256];
    snprintf(title, sizeof title, "speed against %s (above 1: faster)", rep->runs[rep->baseline].label);
    ok = ok && svg_write_bars(path, title, "speed-up", groups, g, labels, rep->run_count, values);
    free(groups), free(labels), free(values), free(titles);
    return ok ? 0 : cli_fail("report: cannot write %s", path);
}

/* ------------------------------------------------------------------ the command */

static int parse(int argc, char **argv, report_options *o)
{
    *o = (report_options){0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--baseline") ? &o->baseline
                            : !strcmp(a, "--md")     ? &o->md_path
                            : !strcmp(a, "--html")   ? &o->html_path
                            : !strcmp(a, "--svg")    ? &o->svg_prefix
                                                     : NULL;
        if (slot && i + 1 == argc)
            return cli_fail("report: %s wants a value", a);
        if (slot)
            *slot = argv[++i];
        else if (a[0] == '-' && a[1] == '-')
            return cli_fail("report: unknown option '%s' (--baseline DEVICE, --md FILE, --html FILE, --svg PREFIX)", a);
        else if (o->file_count == MAX_RUNS)
            return cli_fail("report: at most %d result files", MAX_RUNS);
        else
            o->files[o->file_count++] = a;
    }
    if (o->file_count == 0)
        return cli_fail("report: name the result files (vkattn bench --json FILE writes one per device)");
    return 0;
}

static int choose_baseline(report *rep, const char *wanted)
{
    if (!wanted)
        return 0;
    for (uint32_t k = 0; k < rep->run_count; k++)
        if (strstr(rep->runs[k].label, wanted) || strcmp(rep->runs[k].path, wanted) == 0) {
            rep->baseline = k;
            return 0;
        }
    return cli_fail("report: no file's device is '%s' (a device name, part of one, or a file name)", wanted);
}

static int write_outputs(const report *rep, const report_options *o)
{
    int status = 0;
    const char *paths[2] = {o->md_path, o->html_path};
    for (int i = 0; i < 2 && status == 0; i++) {
        if (!paths[i])
            continue;
        FILE *f = fopen(paths[i], "w");
        if (!f)
            return cli_fail("report: cannot write %s", paths[i]);
        write_document(f, rep, i == 0 ? MARKDOWN : HTML, o->svg_prefix);
        if (fclose(f) != 0)
            status = cli_fail("report: cannot write %s", paths[i]);
    }
    if (!o->md_path && status == 0)
        write_document(stdout, rep, MARKDOWN, NULL);
    if (o->svg_prefix && status == 0) {
        char path[1024];
        snprintf(path, sizeof path, "%s-time.svg", o->svg_prefix);
        status = write_time_chart(rep, path);
        snprintf(path, sizeof path, "%s-speed.svg", o->svg_prefix);
        if (status == 0)
            status = write_speed_chart(rep, path);
    }
    return status;
}

/* The command on its arguments, --name=value already split. */
static int report_command(int argc, char **argv)
{
    report_options o;
    if (parse(argc, argv, &o))
        return 2;
    report rep = {.run_count = o.file_count, .cases = malloc(MAX_CASES * sizeof(case_row))};
    if (!rep.cases)
        return cli_fail("report: out of host memory");
    int status = 0;
    for (uint32_t k = 0; k < rep.run_count && status == 0; k++) {
        rep.runs[k].path = o.files[k];
        status = load_run(&rep, k);
    }
    if (status == 0) {
        distinct_labels(&rep);
        status = check_comparable(&rep);
    }
    if (status == 0)
        status = choose_baseline(&rep, o.baseline);
    if (status == 0)
        status = write_outputs(&rep, &o);
    for (uint32_t k = 0; k < rep.run_count; k++)
        json_free(rep.runs[k].doc);
    free(rep.cases);
    return status;
}

int cmd_report(int argc, char **argv)
{
    return cli_with_split_options(argc, argv, report_command);
}
