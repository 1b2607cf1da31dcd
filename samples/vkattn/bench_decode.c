/* vkattn bench --decode: what one generated token costs as the context grows (issue 17).
 * For each shape (B = 1, H = 32, Hkv = 8, D = 128 — a current LLM's attention — unless
 * --quick, and the bench's own --heads/--kv-heads/--d) and each context length (--n,
 * default 1k … 128k; --quick 1k, 4k): a one-token decoding step of softmax with its KV cache (the planner's
 * split-K, and split_k=1) and of the recurrent states. The cache is filled by
 * writing it (the plan's save/restore path: `NAME.k`, `NAME.v`, `NAME.length`), not by
 * decoding the context token by token, and each timed step starts from length L − 1.
 * The recurrent forms (linear, gla, retention, deltanet, aaren) keep a state of fixed size: their
 * step is measured at every context too, to show it does not grow.
 * Reported: the median step (GPU timestamps), the cache bytes a softmax step reads and
 * the bandwidth that achieves, beside the device's own copy bandwidth measured with a
 * copy dispatch (`concat` of two 64 MiB tensors: read + write bytes over its time); and
 * the causal prefill time of each scheme at N = 4096 (and 16384 with the bench's
 * shape). --json / --csv write the rows, --plot an SVG of step time against context. */
#include "bench.h"
#include "svg_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DECODE_ROWS 128
#define VKA_ARRAY_LEN_(x) (sizeof(x) / sizeof *(x))
#define MAX_LINES 12

typedef struct decode_shape {
    uint32_t batch, heads, kv_heads, d;
} decode_shape;

typedef struct decode_row {
    decode_shape shape;
    const char *scheme, *variant; /* variant: "split" / "one pass" / "" */
    bool prefill;                 /* a causal batch run of `context` tokens, not a step */
    uint32_t context;
    bool ran;
    int reps;
    double median_ms, min_ms;
    double read_mib; /* a softmax step: the cache bytes it reads (k and v of `context` positions) */
    double gbps;     /* read_mib over the median step */
    uint64_t splits;
    char note[120];
} decode_row;

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs the plan until min_reps and `seconds` of GPU time (at most max_reps), calling
 * `before` first each time; the median and least GPU time. */
static vka_result time_runs(vka_plan *plan, const bench_options *o, vka_result (*before)(vka_plan *, const void *),
                            const void *arg, decode_row *row)
{
    double ms[256], total = 0;
    int n = 0;
    vka_result r = before ? before(plan, arg) : VKA_SUCCESS;
    if (!r)
        r = vka_plan_run(plan); /* warm-up: a lazy driver compiles on first use */
    while (!r && n < 256 && (n < o->min_reps || (total < o->seconds * 1e3 && n < o->max_reps))) {
        vka_plan_stats s;
        if (before && (r = before(plan, arg)))
            break;
        if ((r = vka_plan_run(plan)) || (r = vka_plan_stats_get(plan, &s)))
            break;
        ms[n++] = s.last_run_gpu_ms;
        total += s.last_run_gpu_ms;
    }
    if (r || !n)
        return r ? r : VKA_ERROR_INVALID_ARGUMENT;
    qsort(ms, (size_t)n, sizeof *ms, compare_doubles);
    row->reps = n;
    row->median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    row->min_ms = ms[0];
    row->ran = true;
    return VKA_SUCCESS;
}

/* The row's scheme as it poses itself (its gates and β included) on `tokens` tokens, causal,
 * with `extra` parameters, planned, its inputs written. */
static vka_result posed_plan(vka_context *ctx, const decode_row *row, uint32_t tokens, const vka_op_param *extra,
                             vka_plan **plan)
{
    const decode_shape *s = &row->shape;
    bench_case c = {.scheme = row->scheme,
                    .batch = s->batch,
                    .heads = s->heads,
                    .kv_heads = s->kv_heads,
                    .nq = tokens,
                    .nk = tokens,
                    .d = s->d,
                    .causal = true};
    for (int i = 0; extra && extra[i].key && i < BENCH_MAX_PARAMS; i++)
        c.extra[i] = extra[i];
    bench_values values = {0};
    vka_graph *g = NULL;
    vka_result r = bench_values_fill(&c, false, &values);
    if (!r)
        r = bench_graph(ctx, &c, tokens, &values, &g);
    if (!r)
        r = vka_plan_create(g, NULL, plan);
    vka_graph_destroy(g);
    for (uint32_t i = 0; !r && i < values.example.input_count; i++) {
        const vka_example_input *in = &values.example.inputs[i];
        if (values.data[i] && !in->constant && in->kind != VKA_INPUT_INDICES)
            r = vka_plan_write(*plan, in->role, values.data[i], values.bytes[i]);
    }
    bench_values_free(&values);
    return r;
}

typedef struct lengths {
    int32_t *values;
    uint32_t batch;
} lengths;

/* Each timed step starts at length L − 1 (the step adds the L-th token). */
static vka_result rewind_cache(vka_plan *plan, const void *arg)
{
    const lengths *l = arg;
    return vka_plan_write(plan, "cache.length", l->values, sizeof(int32_t) * l->batch);
}

/* A softmax step at context L: the caches written with values, the length set. */
static vka_result softmax_step(vka_context *ctx, const bench_options *o, decode_row *row)
{
    const decode_shape *s = &row->shape;
    char capacity[16];
    snprintf(capacity, sizeof capacity, "%u", row->context);
    vka_plan *plan = NULL;
    vka_op_param params[] = {{"decode", "1"},
                             {"capacity", capacity},
                             {"state", "cache"},
                             {"split_k", strcmp(row->variant, "split") == 0 ? "0" : "1"},
                             {0}};
    vka_result r = posed_plan(ctx, row, 1, params, &plan);
    size_t cache_n = (size_t)s->batch * s->kv_heads * row->context * s->d;
    float *cache = r ? NULL : malloc(cache_n * sizeof *cache);
    lengths at = {malloc(sizeof(int32_t) * s->batch), s->batch};
    if (!r && (!cache || !at.values))
        r = VKA_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; !r && i < cache_n; i++) /* a cheap deterministic spread */
        cache[i] = (float)((int)((i * 2246822519u) >> 21) % 1999 - 999) * 1e-3f;
    if (!r)
        r = vka_plan_write(plan, "cache.k", cache, cache_n * sizeof *cache);
    if (!r)
        r = vka_plan_write(plan, "cache.v", cache, cache_n * sizeof *cache);
    if (!r) {
        for (uint32_t b = 0; b < s->batch; b++)
            at.values[b] = (int32_t)row->context - 1;
        r = time_runs(plan, o, rewind_cache, &at, row);
    }
    if (!r) {
        row->read_mib = 2.0 * cache_n * sizeof(float) / (1024.0 * 1024.0);
        row->gbps = row->read_mib * 1048576.0 / (row->median_ms * 1e6);
        row->splits = vka_plan_op_stat_total(plan, "flash_splits");
    }
    free(cache);
    free(at.values);
    vka_plan_destroy(plan);
    return r;
}

/* A recurrent step (linear, gla, retention, deltanet, aaren: a state of fixed size, so the same
 * work at any context), decode=1, or a causal prefill of `tokens` (run once or a few times). */
static vka_result posed_run(vka_context *ctx, const bench_options *o, decode_row *row, uint32_t tokens, bool decode)
{
    vka_plan *plan = NULL;
    vka_result r = posed_plan(ctx, row, tokens, (vka_op_param[]){{decode ? "decode" : NULL, "1"}, {0}}, &plan);
    bench_options once = *o;
    once.min_reps = 1, once.max_reps = o->quick ? 1 : 3;
    if (!r)
        r = time_runs(plan, decode ? o : &once, NULL, NULL, row);
    vka_plan_destroy(plan);
    return r;
}

/* The device's copy bandwidth: `concat` of two 64 MiB tensors reads 128 MiB and writes
 * 128 MiB with copy_rows dispatches; GB/s = bytes moved / GPU time. */
static double copy_bandwidth(vka_context *ctx, const bench_options *o)
{
    const uint32_t slices = 64, rows = 1024, width = 256; /* 64 MiB of f32 each */
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tensor a, b, c;
    vka_result r = vka_graph_create(ctx, &g);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"a", .rank = 4, .dims = {1, slices, rows, width}}, &a);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"b", .rank = 4, .dims = {1, slices, rows, width}}, &b);
    if (!r)
        r = vka_graph_op(g, &(vka_op_desc){.op = "concat", .inputs = {{"a", a}, {"b", b}}}, &c);
    if (!r)
        r = vka_graph_output(g, "c", c);
    if (!r)
        r = vka_plan_create(g, NULL, &plan);
    vka_graph_destroy(g);
    decode_row row = {0};
    if (!r)
        r = time_runs(plan, o, NULL, NULL, &row);
    vka_plan_destroy(plan);
    if (r)
        fprintf(stderr, "copy bandwidth not measured: %s\n", vka_last_error(ctx));
    double bytes = 4.0 * slices * rows * width * 4; /* two tensors read, both written */
    return r ? NAN : bytes / (row.median_ms * 1e6);
}

typedef struct decode_bench {
    decode_row rows[MAX_DECODE_ROWS];
    uint32_t count;
    double copy_gbps;
} decode_bench;

static decode_row *add_row(decode_bench *d, const decode_shape *s, const char *scheme, const char *variant,
                           uint32_t context, bool is_prefill)
{
    if (d->count == MAX_DECODE_ROWS)
        return NULL;
    decode_row *row = &d->rows[d->count++];
    *row = (decode_row){.shape = *s, .scheme = scheme, .variant = variant, .context = context, .prefill = is_prefill};
    return row;
}

static void print_row(const decode_bench *d, const decode_row *r)
{
    char shape[32];
    snprintf(shape, sizeof shape, "%u/%u/%u/%u", r->shape.batch, r->shape.heads, r->shape.kv_heads, r->shape.d);
    printf("%-14s %-9s %-9s %-8s %8u ", shape, r->scheme, r->variant, r->prefill ? "prefill" : "step", r->context);
    if (!r->ran) {
        printf(" failed: %s\n", r->note);
        return;
    }
    printf("%11.3f %11.3f %5d", r->median_ms, r->min_ms, r->reps);
    if (r->read_mib > 0)
        printf(" %9.1f %8.2f %6.1f%% %6llu", r->read_mib, r->gbps, 100.0 * r->gbps / d->copy_gbps,
               (unsigned long long)r->splits);
    printf("\n");
    fflush(stdout);
}

static void measure(vka_context *ctx, const bench_options *o, decode_bench *d, decode_row *row)
{
    if (!row)
        return;
    fprintf(stderr, "  %s %s %s %u ...\n", row->scheme, row->variant, row->prefill ? "prefill" : "step", row->context);
    /* softmax's step writes its cache; the others are posed as their schemes pose themselves */
    vka_result r = !row->prefill && strcmp(row->scheme, "softmax") == 0
                       ? softmax_step(ctx, o, row)
                       : posed_run(ctx, o, row, row->prefill ? row->context : 1, !row->prefill);
    if (r) {
        row->ran = false;
        snprintf(row->note, sizeof row->note, "%s", vka_last_error(ctx));
    }
    print_row(d, row);
}

static void write_json(FILE *f, const decode_bench *d, const vka_device_info *info)
{
    fprintf(f, "{");
    provenance_write_json(f, info);
    fprintf(f, ",\"copy_gbps\":%.3f,\"rows\":[\n", d->copy_gbps);
    for (uint32_t i = 0; i < d->count; i++) {
        const decode_row *r = &d->rows[i];
        fprintf(f,
                "  {\"scheme\":\"%s\",\"variant\":\"%s\",\"kind\":\"%s\",\"batch\":%u,\"heads\":%u,\"kv_heads\":%u,"
                "\"d\":%u,\"context\":%u,\"ran\":%s,\"reps\":%d,\"median_gpu_ms\":%.6f,\"min_gpu_ms\":%.6f,"
                "\"cache_read_mib\":%.3f,\"gbps\":%.3f,\"splits\":%llu}%s\n",
                r->scheme, r->variant, r->prefill ? "prefill" : "step", r->shape.batch, r->shape.heads,
                r->shape.kv_heads, r->shape.d, r->context, r->ran ? "true" : "false", r->reps, r->median_ms, r->min_ms,
                r->read_mib, r->gbps, (unsigned long long)r->splits, i + 1 < d->count ? "," : "");
    }
    fprintf(f, "]}\n");
}

static void write_csv(FILE *f, const decode_bench *d, const vka_device_info *info)
{
    fprintf(f, "scheme,variant,kind,batch,heads,kv_heads,d,context,ran,reps,median_gpu_ms,min_gpu_ms,cache_read_mib,"
               "gbps,copy_gbps,splits," PROVENANCE_CSV_HEADER "\n");
    for (uint32_t i = 0; i < d->count; i++) {
        const decode_row *r = &d->rows[i];
        fprintf(f, "%s,%s,%s,%u,%u,%u,%u,%u,%d,%d,%.6f,%.6f,%.3f,%.3f,%.3f,%llu,", r->scheme, r->variant,
                r->prefill ? "prefill" : "step", r->shape.batch, r->shape.heads, r->shape.kv_heads, r->shape.d,
                r->context, r->ran, r->reps, r->median_ms, r->min_ms, r->read_mib, r->gbps, d->copy_gbps,
                (unsigned long long)r->splits);
        provenance_write_csv(f, info);
        fputc('\n', f);
    }
}

/* Step time against context: one line per (shape, scheme, variant). */
static bool write_plot(const char *path, const decode_bench *d)
{
    static double x[MAX_LINES][BENCH_MAX_SIZES], y[MAX_LINES][BENCH_MAX_SIZES];
    static char labels[MAX_LINES][64];
    svg_series series[MAX_LINES];
    uint32_t lines = 0;
    for (uint32_t i = 0; i < d->count; i++) {
        const decode_row *r = &d->rows[i];
        if (r->prefill || !r->ran)
            continue;
        char label[64];
        snprintf(label, sizeof label, "%s %s H=%u/%u D=%u", r->scheme, r->variant, r->shape.heads, r->shape.kv_heads,
                 r->shape.d);
        uint32_t k = 0;
        while (k < lines && strcmp(labels[k], label) != 0)
            k++;
        if (k == lines) {
            if (lines == MAX_LINES)
                continue;
            snprintf(labels[lines], sizeof labels[lines], "%s", label);
            series[lines] = (svg_series){.label = labels[lines], .x = x[lines], .y = y[lines], .count = 0};
            lines++;
        }
        if (series[k].count < BENCH_MAX_SIZES) {
            x[k][series[k].count] = r->context;
            y[k][series[k].count++] = r->median_ms;
        }
    }
    svg_panel panel = {.title = "one-token decoding step",
                       .x_label = "context (tokens)",
                       .y_label = "GPU ms per step",
                       .series = series,
                       .series_count = lines,
                       .x_powers_of_two = true};
    return svg_write_loglog(path, "vkattn bench --decode", &panel, 1);
}

int bench_decode(vka_context *ctx, const bench_options *o, const vka_device_info *info)
{
    static const uint32_t full[] = {1024, 4096, 16384, 65536, 131072}, quick[] = {1024, 4096};
    const uint32_t *contexts = o->size_count ? o->sizes : o->quick ? quick : full;
    uint32_t context_count = o->size_count ? o->size_count : o->quick ? 2 : 5;
    decode_shape shapes[2] = {{1, 32, 8, 128}, {o->batch, o->heads, o->kv_heads ? o->kv_heads : o->heads, o->head_dim}};
    static const char *const recurrent[] = {"linear", "gla", "retention", "deltanet", "aaren"};
    static decode_bench d;
    d.count = 0;
    d.copy_gbps = copy_bandwidth(ctx, o);
    printf("device: %s\ncopy bandwidth (concat, read + write): %.2f GB/s\n\n", info->summary, d.copy_gbps);
    printf("%-14s %-9s %-9s %-8s %8s %11s %11s %5s %9s %8s %7s %6s\n", "B/H/Hkv/D", "scheme", "variant", "kind",
           "context", "median_ms", "min_ms", "reps", "read_MiB", "GB/s", "of_copy", "splits");
    for (int si = o->quick ? 1 : 0; si < 2; si++) {
        const decode_shape *s = &shapes[si];
        for (uint32_t c = 0; c < context_count; c++) {
            measure(ctx, o, &d, add_row(&d, s, "softmax", "split", contexts[c], false));
            measure(ctx, o, &d, add_row(&d, s, "softmax", "one pass", contexts[c], false));
            for (size_t i = 0; i < VKA_ARRAY_LEN_(recurrent); i++)
                measure(ctx, o, &d, add_row(&d, s, recurrent[i], "", contexts[c], false));
        }
        static const uint32_t prefill_sizes[] = {4096, 16384};
        for (uint32_t p = 0; p < (si == 1 && !o->quick ? 2u : 1u); p++) {
            uint32_t n = o->quick ? 1024 : prefill_sizes[p];
            measure(ctx, o, &d, add_row(&d, s, "softmax", "", n, true));
            for (size_t i = 0; i < VKA_ARRAY_LEN_(recurrent); i++)
                measure(ctx, o, &d, add_row(&d, s, recurrent[i], "", n, true));
        }
    }
    const char *paths[2] = {o->json_path, o->csv_path};
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        FILE *f = fopen(paths[i], "w");
        if (!f)
            return cli_fail("cannot write %s", paths[i]);
        if (i == 0)
            write_json(f, &d, info);
        else
            write_csv(f, &d, info);
        if (fclose(f) != 0)
            return cli_fail("cannot write %s", paths[i]);
    }
    if (o->plot_path && !write_plot(o->plot_path, &d))
        return cli_fail("cannot write %s", o->plot_path);
    for (uint32_t i = 0; i < d.count; i++)
        if (!d.rows[i].ran)
            return 1;
    return 0;
}
