/* vkattn bench --sweep linear[,performer,...]: how time and peak device memory grow with
 * N at fixed B, H, D. Each named scheme runs non-causal and causal (or as --causal says)
 * at every size; softmax flash joins as the quadratic baseline, run up to --run-limit
 * (4096) and planned without running above it, where its memory still comes from the
 * plan. Prints the table, the least-squares exponent of time and of memory in N for each
 * series, and with --plot draws both on log-log axes. */
#include "bench.h"
#include "svg_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 8
#define FIT_FROM 1024 /* below this, fixed per-dispatch costs bend the time curve (used when >= 2 sizes reach it) */

typedef struct series {
    char label[64];
    const char *scheme, *kernel;
    bool causal;
    bench_row rows[BENCH_MAX_SIZES];
    double n[BENCH_MAX_SIZES], ms[BENCH_MAX_SIZES], mib[BENCH_MAX_SIZES];
} series;

typedef struct sweep {
    series s[MAX_SERIES];
    uint32_t count;
    uint32_t sizes[BENCH_MAX_SIZES], size_count;
} sweep;

static bool add_series(sweep *w, const char *scheme, const char *kernel, bool causal)
{
    if (w->count == MAX_SERIES)
        return false;
    series *s = &w->s[w->count++];
    *s = (series){.scheme = scheme, .kernel = kernel, .causal = causal};
    snprintf(s->label, sizeof s->label, "%s%s%s%s", scheme, kernel ? " " : "", kernel ? kernel : "",
             causal ? " causal" : "");
    return true;
}

/* The schemes of the --sweep list (a copy of which `list` is), each as --causal says. */
static int plan_series(const bench_options *o, char *list, sweep *w)
{
    bool softmax_named = false;
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        vka_op_info info;
        if (vka_op_info_named(name, &info) != VKA_SUCCESS)
            return cli_fail("--sweep: unknown scheme '%s'", name);
        bool is_softmax = strcmp(name, "softmax") == 0;
        const char *kernel = is_softmax ? "flash" : NULL;
        softmax_named |= is_softmax;
        bool ok = true, has_causal = bench_scheme_has_causal(name);
        if (!has_causal && o->causal == 1)
            return cli_fail("--sweep: %s has no causal form", name);
        if (o->causal != 1)
            ok = add_series(w, info.name, kernel, false);
        if (has_causal && (o->causal == 1 || (o->causal == -1 && !is_softmax)))
            ok = ok && add_series(w, info.name, kernel, true);
        if (!ok)
            return cli_fail("--sweep: at most %d series", MAX_SERIES);
    }
    if (!softmax_named && !add_series(w, "softmax", "flash", o->causal == 1))
        return cli_fail("--sweep: at most %d series", MAX_SERIES);
    return 0;
}

static void default_sizes(const bench_options *o, sweep *w)
{
    if (o->size_count) {
        memcpy(w->sizes, o->sizes, sizeof w->sizes);
        w->size_count = o->size_count;
        return;
    }
    uint32_t top = o->quick ? 4096 : 65536;
    for (uint32_t n = 1024; n <= top; n *= 2)
        w->sizes[w->size_count++] = n;
}

static bool quadratic(const series *s)
{
    return strcmp(s->scheme, "softmax") == 0;
}

static int measure_all(vka_context *ctx, const bench_options *o, sweep *w)
{
    int status = 0;
    uint32_t total = w->count * w->size_count, done = 0;
    bench_print_header();
    for (uint32_t i = 0; i < w->count; i++) {
        series *s = &w->s[i];
        for (uint32_t j = 0; j < w->size_count; j++) {
            uint32_t n = w->sizes[j];
            bench_row *row = &s->rows[j];
            *row =
                (bench_row){.c = {.scheme = s->scheme,
                                  .kernel = s->kernel,
                                  .batch = o->batch,
                                  .heads = o->heads,
                                  .nq = n,
                                  .nk = n,
                                  .d = o->head_dim,
                                  .causal = s->causal,
                                  /* --dtype both: the sweep's series are f32 */
                                  .dtype = o->dtypes == VKA_DTYPE_BIT(VKA_DTYPE_F16) ? VKA_DTYPE_F16 : VKA_DTYPE_F32},
                            .max_abs_error = NAN};
            bench_set_params(&row->c, NULL, o);
            bool memory_only = quadratic(s) && n > o->run_limit;
            fprintf(stderr, "[%u/%u] %s N=%u%s ...\n", ++done, total, s->label, n, memory_only ? " (plan only)" : "");
            if (bench_measure(ctx, o, memory_only, row, NULL) != VKA_SUCCESS)
                status = 1;
            if (memory_only && !row->note[0])
                snprintf(row->note, sizeof row->note, "planned only (N > --run-limit %u)", o->run_limit);
            bench_print_row(row);
            s->n[j] = n;
            s->ms[j] = row->ran ? row->median_gpu_ms : 0;
            s->mib[j] = row->peak_mib;
        }
    }
    return status;
}

static void print_exponents(const sweep *w)
{
    uint32_t reaching = 0;
    for (uint32_t j = 0; j < w->size_count; j++)
        reaching += w->sizes[j] >= FIT_FROM;
    double from = reaching >= 2 ? FIT_FROM : 0;
    printf("\nfitted exponents (least squares of log y on log N, N >= %.0f):\n", from);
    printf("%-28s %10s %12s\n", "series", "time", "peak memory");
    for (uint32_t i = 0; i < w->count; i++) {
        const series *s = &w->s[i];
        printf("%-28s %10.3f %12.3f\n", s->label, bench_fit_exponent(s->n, s->ms, w->size_count, from),
               bench_fit_exponent(s->n, s->mib, w->size_count, from));
    }
}

static int plot(const bench_options *o, const sweep *w, const vka_device_info *info)
{
    svg_series time[MAX_SERIES], memory[MAX_SERIES];
    for (uint32_t i = 0; i < w->count; i++) {
        const series *s = &w->s[i];
        time[i] = (svg_series){s->label, s->n, s->ms, w->size_count, s->causal};
        memory[i] = (svg_series){s->label, s->n, s->mib, w->size_count, s->causal};
    }
    svg_panel panels[2] = {
        {.title = "GPU time per run",
         .x_label = "N (tokens)",
         .y_label = "ms (median)",
         .series = time,
         .series_count = w->count,
         .x_powers_of_two = true},
        {.title = "peak device memory",
         .x_label = "N (tokens)",
         .y_label = "MiB",
         .series = memory,
         .series_count = w->count,
         .x_powers_of_two = true},
    };
    char title[400];
    snprintf(title, sizeof title, "B=%u H=%u D=%u on %s", o->batch, o->heads, o->head_dim, info->name);
    if (!svg_write_loglog(o->plot_path, title, panels, 2))
        return cli_fail("cannot write %s", o->plot_path);
    fprintf(stderr, "wrote %s\n", o->plot_path);
    return 0;
}

int bench_sweep(vka_context *ctx, const bench_options *o, const vka_device_info *info)
{
    sweep *w = calloc(1, sizeof *w);
    char *list = malloc(strlen(o->sweep) + 1);
    if (!w || !list) {
        free(w);
        free(list);
        return cli_fail("out of host memory");
    }
    strcpy(list, o->sweep);
    int status = plan_series(o, list, w);
    if (!status) {
        default_sizes(o, w);
        status = measure_all(ctx, o, w);
        print_exponents(w);
        printf("device: %s\n", info->summary);
        bench_row rows[MAX_SERIES * BENCH_MAX_SIZES];
        uint32_t n = 0;
        for (uint32_t i = 0; i < w->count; i++)
            for (uint32_t j = 0; j < w->size_count; j++)
                rows[n++] = w->s[i].rows[j];
        if (!status)
            status = bench_write_reports(o, rows, n, info);
        if (!status && o->plot_path)
            status = plot(o, w, info);
    }
    free(list);
    free(w);
    return status;
}
