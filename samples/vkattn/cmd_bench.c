/* vkattn bench: the main job. Three modes share one measuring routine (bench_run.c):
 *   default     a sweep of schemes × sizes: plan once, warm up, run repeatedly, and
 *               report the median GPU time (timestamp queries), GFLOP/s, the plan's peak
 *               device bytes, and the largest error against the double-precision
 *               reference; then the ratios the schemes promise (speed-ups, causal cost)
 *   --sweep S   scaling in N with fitted exponents of time and memory (bench_sweep.c)
 *   --quality   Performer's error against exact softmax as m grows (bench_quality.c); with
 *               --scheme reformer|clustered their error and time over their parameters
 *               (bench_quality_hashing.c)
 *   --decode    a generated token's cost against context length (bench_decode.c)
 * Progress goes to stderr, tables to stdout; --json / --csv write every row with a
 * summary of the device, --plot an SVG. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CASES 128

/* ------------------------------------------------------------------ the default sweep */

/* Whether `name` is one of the comma-separated names of `list`. */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool wanted(const bench_options *o, const char *scheme, const char *kernel)
{
    if (o->only_scheme && !listed(o->only_scheme, scheme))
        return false;
    return !o->only_kernel || !kernel || strcmp(o->only_kernel, kernel) == 0; /* narrows schemes that have kernels */
}

/* The case once per element type asked for (--dtype). */
static void add_case(bench_case *cases, uint32_t *n, const bench_options *o, const char *scheme, const char *kernel,
                     const vka_op_param *extra, uint32_t size, bool causal)
{
    static const vka_dtype types[] = {VKA_DTYPE_F32, VKA_DTYPE_F16};
    for (int t = 0; t < 2; t++)
        if (*n < MAX_CASES && wanted(o, scheme, kernel) && (o->dtypes & VKA_DTYPE_BIT(types[t]))) {
            bench_case *c = &cases[(*n)++];
            *c = (bench_case){.scheme = scheme,
                              .kernel = kernel,
                              .batch = o->batch,
                              .heads = o->heads,
                              .kv_heads = o->kv_heads,
                              .nq = size,
                              .nk = size,
                              .d = o->head_dim,
                              .causal = causal,
                              .dtype = types[t]};
            bench_set_params(c, extra, o);
        }
}

/* Each scheme at each size, non-causal (or as --causal says), and the causal form: at
 * every size for `linear` (whose causal scan has a cost promise) and at the middle size
 * for the others. */
static uint32_t default_cases(const bench_options *o, bench_case *cases)
{
    static const uint32_t full[] = {256, 1024, 4096};
    static const uint32_t quick[] = {128, 256};
    const uint32_t *sizes = o->size_count ? o->sizes : (o->quick ? quick : full);
    uint32_t size_count = o->size_count ? o->size_count : (o->quick ? 2 : 3);
    uint32_t middle = sizes[size_count / 2];
    bool extra_causal = o->causal == -1 && !o->size_count;
    static const vka_op_param improved[] = {{"topk", "32"}, {0}};
    struct {
        const char *scheme, *kernel;
        bool causal_everywhere, when_named; /* when_named: only with --scheme (too slow for the default) */
        const vka_op_param *extra;
    } const schemes[] = {
        {"softmax", "flash", false, false, NULL},
        {"softmax", "materialized", false, false, NULL},
        {"linear", NULL, true, false, NULL},
        {"performer", "positive", false, false, NULL},
        {"inducing", NULL, false, false, NULL},
        {"hypermixer", NULL, false, false, NULL},
        {"local", NULL, false, false, NULL},
        {"reformer", NULL, false, false, NULL},      /* 4 rounds, 32 buckets, chunks of 64 */
        {"clustered", NULL, false, false, improved}, /* C = 100, 10 iterations, top 32 */
        {"te_attention", "flash", false, true, NULL},
        {"te_attention", "materialized", false, true, NULL},
    };
    uint32_t n = 0;
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++) {
        if (schemes[s].when_named && !o->only_scheme)
            continue;
        bool has_causal = bench_scheme_has_causal(schemes[s].scheme);
        for (uint32_t i = 0; i < size_count; i++) {
            add_case(cases, &n, o, schemes[s].scheme, schemes[s].kernel, schemes[s].extra, sizes[i],
                     o->causal == 1 && has_causal);
            if (extra_causal && has_causal && schemes[s].causal_everywhere)
                add_case(cases, &n, o, schemes[s].scheme, schemes[s].kernel, schemes[s].extra, sizes[i], true);
        }
        if (extra_causal && has_causal && !schemes[s].causal_everywhere)
            add_case(cases, &n, o, schemes[s].scheme, schemes[s].kernel, schemes[s].extra, middle, true);
    }
    vka_op_info named; /* any other operation named with --scheme: at each size, as asked */
    if (n == 0 && o->only_scheme && !o->only_kernel && vka_op_info_named(o->only_scheme, &named) == VKA_SUCCESS)
        for (uint32_t i = 0; i < size_count; i++)
            add_case(cases, &n, o, named.name, NULL, NULL, sizes[i],
                     (o->causal == 1 && bench_scheme_has_causal(named.name)) || bench_scheme_causal_only(named.name));
    return n;
}

static const bench_row *find_typed_row(const bench_row *rows, uint32_t n, const char *scheme, const char *kernel,
                                       uint32_t size, bool causal, vka_dtype dtype)
{
    for (uint32_t i = 0; i < n; i++) {
        const bench_case *c = &rows[i].c;
        if (rows[i].ran && strcmp(c->scheme, scheme) == 0 && (!kernel || (c->kernel && !strcmp(c->kernel, kernel))) &&
            c->nq == size && c->causal == causal && bench_dtype(c) == dtype)
            return &rows[i];
    }
    return NULL;
}

/* The first type benchmarked: the ratios between schemes compare rows of one type. */
static vka_dtype ratio_dtype(const bench_row *rows, uint32_t n)
{
    return n ? bench_dtype(&rows[0].c) : VKA_DTYPE_F32;
}

static const bench_row *find_row(const bench_row *rows, uint32_t n, const char *scheme, const char *kernel,
                                 uint32_t size, bool causal)
{
    return find_typed_row(rows, n, scheme, kernel, size, causal, ratio_dtype(rows, n));
}

/* With --dtype both: f16 against f32, time and peak memory, per scheme at each size. */
static void print_dtype_ratios(const bench_row *rows, uint32_t n)
{
    bool header = false;
    for (uint32_t i = 0; i < n; i++) {
        const bench_case *c = &rows[i].c;
        const bench_row *half = bench_dtype(c) == VKA_DTYPE_F32 && rows[i].ran
                                    ? find_typed_row(rows, n, c->scheme, c->kernel, c->nq, c->causal, VKA_DTYPE_F16)
                                    : NULL;
        if (!half)
            continue;
        if (!header)
            printf("\nf16 against f32 (time f32/f16: above 1 is f16 faster; peak bytes f16/f32):\n");
        header = true;
        printf("  %-9s %-13s N=%-6u%s  time %.2f  peak %.3f\n", c->scheme, c->kernel ? c->kernel : "-", c->nq,
               c->causal ? " causal" : "       ", rows[i].median_gpu_ms / half->median_gpu_ms,
               half->peak_mib / rows[i].peak_mib);
    }
}

/* The promises the schemes make, at the largest size where both sides ran. */
static void print_ratios(const bench_row *rows, uint32_t n)
{
    print_dtype_ratios(rows, n);
    uint32_t largest = 0;
    for (uint32_t i = 0; i < n; i++)
        if (rows[i].ran && find_row(rows, n, "softmax", "flash", rows[i].c.nq, false) && rows[i].c.nq > largest)
            largest = rows[i].c.nq;
    const bench_row *flash = find_row(rows, n, "softmax", "flash", largest, false);
    const bench_row *lin = find_row(rows, n, "linear", NULL, largest, false);
    const bench_row *lin_causal = find_row(rows, n, "linear", NULL, largest, true);
    const bench_row *perf = find_row(rows, n, "performer", NULL, largest, false);
    const bench_row *ind = find_row(rows, n, "inducing", NULL, largest, false);
    const bench_row *mix = find_row(rows, n, "hypermixer", NULL, largest, false);
    const bench_row *local = find_row(rows, n, "local", NULL, largest, false);
    const bench_row *lsh = find_row(rows, n, "reformer", NULL, largest, false);
    const bench_row *clustered = find_row(rows, n, "clustered", NULL, largest, false);
    if (!flash)
        return;
    printf("\nat N = %u (%s):\n", largest, bench_dtype_name(&flash->c));
    if (lin)
        printf("  softmax flash time / linear time               = %.2f\n", flash->median_gpu_ms / lin->median_gpu_ms);
    if (lin && lin_causal)
        printf("  linear causal time / linear non-causal time    = %.2f\n",
               lin_causal->median_gpu_ms / lin->median_gpu_ms);
    if (perf)
        printf("  softmax flash time / performer (m = 256) time  = %.2f\n", flash->median_gpu_ms / perf->median_gpu_ms);
    if (ind)
        printf("  softmax flash time / inducing (M = 32) time     = %.2f\n", flash->median_gpu_ms / ind->median_gpu_ms);
    if (mix)
        printf("  softmax flash time / hypermixer (p = 64) time  = %.2f\n", flash->median_gpu_ms / mix->median_gpu_ms);
    if (local)
        printf("  softmax flash time / local (window 128) time   = %.2f\n",
               flash->median_gpu_ms / local->median_gpu_ms);
    if (lsh)
        printf("  softmax flash time / reformer (4 rounds) time  = %.2f\n", flash->median_gpu_ms / lsh->median_gpu_ms);
    if (clustered)
        printf("  softmax flash time / clustered (C 100, top 32) = %.2f\n",
               flash->median_gpu_ms / clustered->median_gpu_ms);
}

/* The ceilings the rows are measured against: read from --roofline FILE, measured now
 * (the default: about a second on lavapipe, less on a GPU), or none (--roofline none, and
 * --memory-only, which runs nothing). */
static int find_roofline(vka_context *ctx, const bench_options *o, roofline *out)
{
    if (o->roofline_path && strcmp(o->roofline_path, "none") != 0)
        return roofline_load(o->roofline_path, out);
    fprintf(stderr, "measuring the device's roofline (vkattn roofline; --roofline FILE reuses one) ...\n");
    return roofline_measure(ctx, o->quick ? 20.0 : 50.0, 3, out);
}

static int default_sweep(vka_context *ctx, bench_options *o, const vka_device_info *info)
{
    bench_case cases[MAX_CASES];
    uint32_t n = default_cases(o, cases);
    if (n == 0)
        return cli_fail("bench: nothing to run for --scheme %s --kernel %s", o->only_scheme ? o->only_scheme : "any",
                        o->only_kernel ? o->only_kernel : "any");
    roofline ceilings;
    bool wanted = !o->memory_only && !(o->roofline_path && strcmp(o->roofline_path, "none") == 0);
    if (wanted && find_roofline(ctx, o, &ceilings))
        return 1;
    o->roofline = wanted ? &ceilings : NULL;
    bench_row rows[MAX_CASES];
    int status = 0;
    bench_print_header();
    for (uint32_t i = 0; i < n; i++) {
        bench_row *row = &rows[i];
        *row = (bench_row){.c = cases[i], .max_abs_error = NAN, .roofline_fraction = NAN};
        fprintf(stderr, "[%u/%u] %s %s %s N=%u%s ...\n", i + 1, n, cases[i].scheme,
                cases[i].kernel ? cases[i].kernel : "", bench_dtype_name(&cases[i]), cases[i].nq,
                cases[i].causal ? " causal" : "");
        if (bench_measure(ctx, o, false, row, NULL) != VKA_SUCCESS)
            status = 1;
        bench_print_row(row);
    }
    print_ratios(rows, n);
    printf("device: %s\n", info->summary);
    if (o->roofline)
        printf("roofline (%s): f32 %.1f GFLOP/s, f16 %.1f GFLOP/s, bandwidth %.1f GB/s; roof%% = GFLOP/s over "
               "min(f32 peak, flops/io_bytes x bandwidth)\n",
               o->roofline->source, o->roofline->f32_gflops, o->roofline->f16_gflops, o->roofline->bandwidth_gbs);
    int written = bench_write_reports(o, rows, n, info);
    o->roofline = NULL; /* ceilings lives on this frame only */
    return status ? status : written;
}

/* ------------------------------------------------------------------ options */

static int parse_sizes(const char *list, bench_options *o)
{
    o->size_count = 0;
    for (const char *p = list; *p;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > 1u << 24 || o->size_count == BENCH_MAX_SIZES || (*end && *end != ','))
            return cli_fail("--n wants up to %d comma-separated sizes in 1..16777216, got '%s'", BENCH_MAX_SIZES, list);
        o->sizes[o->size_count++] = (uint32_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* The numeric options, each a whole number in its range (or --seconds, a finite time). */
static int parse_number_option(const char *a, const char *value, bench_options *o)
{
    uint32_t whole = 0;
    struct {
        const char *name;
        uint32_t min, max;
    } const counts[] = {{"--heads", 1, 4096},  {"--d", 1, 4096},       {"--batch", 1, 1u << 20},
                        {"--causal", 0, 1},    {"--reps", 1, 256},     {"--run-limit", 1, 1u << 26},
                        {"--seeds", 1, 10000}, {"--kv-heads", 1, 4096}};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        if (strcmp(a, counts[i].name) != 0)
            continue;
        if (!cli_whole_number(value, counts[i].min, counts[i].max, &whole))
            return cli_fail("bench: %s takes a whole number in %u..%u, not '%s'", a, counts[i].min, counts[i].max,
                            value);
        uint32_t *slots[] = {&o->heads, &o->head_dim, &o->batch, NULL, NULL, &o->run_limit, &o->seeds, &o->kv_heads};
        if (i == 3)
            o->causal = (int)whole;
        else if (i == 4)
            o->min_reps = (int)whole;
        else
            *slots[i] = whole;
        return 0;
    }
    if (strcmp(a, "--seconds") == 0) {
        if (!cli_real_number(value, 0, 3600, &o->seconds))
            return cli_fail("bench: --seconds takes a number of seconds in 0..3600, not '%s'", value);
    } else
        return cli_fail("bench: unknown option '%s'", a);
    return 0;
}

static int parse_value_option(const char *a, const char *value, bench_options *o)
{
    if (strcmp(a, "--scheme") == 0)
        o->only_scheme = value;
    else if (strcmp(a, "--kernel") == 0)
        o->only_kernel = value;
    else if (strcmp(a, "--json") == 0)
        o->json_path = value;
    else if (strcmp(a, "--csv") == 0)
        o->csv_path = value;
    else if (strcmp(a, "--plot") == 0)
        o->plot_path = value;
    else if (strcmp(a, "--sweep") == 0)
        o->sweep = value;
    else if (strcmp(a, "--roofline") == 0)
        o->roofline_path = value;
    else if (strcmp(a, "--n") == 0)
        return parse_sizes(value, o);
    else if (strcmp(a, "--dtype") == 0) {
        uint32_t f32 = VKA_DTYPE_BIT(VKA_DTYPE_F32), f16 = VKA_DTYPE_BIT(VKA_DTYPE_F16);
        o->dtypes = !strcmp(value, "f32") ? f32 : !strcmp(value, "f16") ? f16 : !strcmp(value, "both") ? f32 | f16 : 0;
        if (!o->dtypes)
            return cli_fail("bench: --dtype takes f32, f16 or both, not '%s'", value);
    } else if (strcmp(a, "--param") == 0) {
        char *key, *text;
        cli_split_pair((char *)value, &key, &text);
        if (!text || !key[0] || o->param_count == BENCH_MAX_PARAMS)
            return cli_fail("bench: --param takes key=value (at most %d), not '%s'", BENCH_MAX_PARAMS, value);
        o->params[o->param_count++] = (vka_op_param){key, text};
    } else
        return parse_number_option(a, value, o);
    return 0;
}

/* Which runs read each option: a run refuses an option it would ignore (a typo or a
 * misunderstanding must not pass as a measurement). */
enum { DEFAULT = 1, SWEEP = 2, QUALITY = 4, DECODE = 8, ALL = 15 };
static const struct {
    const char *name;
    unsigned modes;
} option_modes[] = {
    {"--quick", DEFAULT | SWEEP | DECODE},
    {"--no-check", DEFAULT | SWEEP},
    {"--memory-only", DEFAULT | SWEEP},
    {"--quality", QUALITY},
    {"--decode", DECODE},
    {"--sweep", SWEEP},
    {"--scheme", DEFAULT | QUALITY},
    {"--kernel", DEFAULT},
    {"--json", DEFAULT | SWEEP | DECODE},
    {"--csv", ALL},
    {"--plot", SWEEP | QUALITY | DECODE},
    {"--n", ALL},
    {"--dtype", DEFAULT | SWEEP},
    {"--param", DEFAULT | SWEEP},
    {"--roofline", DEFAULT},
    {"--heads", ALL},
    {"--kv-heads", DEFAULT | DECODE},
    {"--d", ALL},
    {"--batch", ALL},
    {"--causal", DEFAULT | SWEEP},
    {"--reps", ALL},
    {"--seconds", ALL},
    {"--run-limit", SWEEP},
    {"--seeds", QUALITY},
};

static int option_index(const char *name)
{
    for (size_t i = 0; i < sizeof option_modes / sizeof *option_modes; i++)
        if (strcmp(option_modes[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int check_modes(const bench_options *o, uint32_t given)
{
    unsigned mode = o->sweep ? SWEEP : o->quality ? QUALITY : o->decode ? DECODE : DEFAULT;
    static const char *const names[] = {"", "the default sweep", "--sweep", "", "--quality", "", "", "", "--decode"};
    for (size_t i = 0; i < sizeof option_modes / sizeof *option_modes; i++)
        if ((given >> i & 1) && !(option_modes[i].modes & mode))
            return cli_fail("bench: %s does nothing in %s; drop it (vkattn bench --help)", option_modes[i].name,
                            names[mode]);
    return 0;
}

static int parse_options(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){.batch = 1,
                         .heads = 8,
                         .head_dim = 64,
                         .causal = -1,
                         .min_reps = 3,
                         .max_reps = 50,
                         .seconds = 1.0,
                         .run_limit = 4096,
                         .seeds = 4,
                         .dtypes = VKA_DTYPE_BIT(VKA_DTYPE_F32)};
    uint32_t given = 0;
    for (int i = 0; i < argc; i++) {
        char name[32]; /* --name=value as getopt_long takes it, or --name value */
        const char *a = argv[i], *inline_value = strchr(a, '=');
        if (inline_value && (size_t)(inline_value - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(inline_value - a), a);
            a = name, inline_value++;
        } else
            inline_value = NULL;
        int known = option_index(a);
        if (known < 0)
            return cli_fail("bench: unknown option '%s' (vkattn bench --help lists them)", argv[i]);
        given |= 1u << known;
        bool flag = !strcmp(a, "--quick") || !strcmp(a, "--no-check") || !strcmp(a, "--memory-only") ||
                    !strcmp(a, "--quality") || !strcmp(a, "--decode");
        if (flag && inline_value)
            return cli_fail("bench: %s takes no value ('%s')", a, argv[i]);
        if (inline_value) {
            if (parse_value_option(a, inline_value, o))
                return 1;
        } else if (strcmp(a, "--quick") == 0)
            o->quick = true, o->min_reps = 2, o->seconds = 0.2;
        else if (strcmp(a, "--no-check") == 0)
            o->no_check = true;
        else if (strcmp(a, "--memory-only") == 0)
            o->memory_only = true;
        else if (strcmp(a, "--quality") == 0)
            o->quality = true;
        else if (strcmp(a, "--decode") == 0)
            o->decode = true;
        else if (i + 1 == argc)
            return cli_fail("bench: %s wants a value", a);
        else if (parse_value_option(a, argv[++i], o))
            return 1;
    }
    if (o->batch == 0 || o->heads == 0 || o->head_dim == 0 || o->min_reps < 1 || o->min_reps > 200 || o->seeds == 0 ||
        o->seeds > 64)
        return cli_fail("bench: --batch, --heads, --d must be positive, --reps in 1..200, --seeds in 1..64");
    if (o->roofline_path && o->memory_only && strcmp(o->roofline_path, "none") != 0)
        return cli_fail("bench: --memory-only runs nothing to hold against a roofline; drop --roofline");
    if ((o->sweep != NULL) + o->quality + o->decode > 1)
        return cli_fail("bench: --sweep, --quality and --decode are separate runs");
    if (check_modes(o, given))
        return 1;
    if (o->quality && o->only_scheme && strcmp(o->only_scheme, "performer") && strcmp(o->only_scheme, "reformer") &&
        strcmp(o->only_scheme, "clustered"))
        return cli_fail("bench: --quality measures performer, reformer or clustered, not '%s'", o->only_scheme);
    if (o->kv_heads && o->heads % o->kv_heads)
        return cli_fail("bench: --kv-heads %u must divide --heads %u (grouped heads)", o->kv_heads, o->heads);
    if (o->max_reps < o->min_reps)
        o->max_reps = o->min_reps;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_options o;
    if (parse_options(argc, argv, &o))
        return 1;
    vka_context *ctx;
    vka_device_info info;
    if (cli_open_context(&ctx, &info))
        return 1;
    o.device = &info;
    fprintf(stderr, "device: %s\n", info.summary);
    int status = o.sweep ? bench_sweep(ctx, &o, &info)
                 : o.quality && o.only_scheme && strcmp(o.only_scheme, "performer")
                     ? bench_quality_hashing(ctx, &o, &info)
                 : o.quality ? bench_quality(ctx, &o, &info)
                 : o.decode  ? bench_decode(ctx, &o, &info)
                             : default_sweep(ctx, &o, &info);
    if (vka_context_validation_message_count(ctx))
        status = cli_fail("validation: %s", vka_context_first_validation_message(ctx));
    vka_context_destroy(ctx);
    return status;
}
