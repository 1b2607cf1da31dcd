/* vkattn bench: the main job. A sweep of schemes × sizes: plan once, warm up, run
 * repeatedly, and report the median GPU time (timestamp queries), GFLOP/s, the plan's
 * peak device bytes, and the largest error against the double-precision reference.
 * Progress goes to stderr, an aligned table to stdout, and --json / --csv write every
 * row with a summary of the device. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CASES 64
#define CHECK_ROWS 64 /* query rows compared against the reference per [batch, head] */

typedef struct bench_case {
    const char *scheme;
    const char *kernel;
    uint32_t batch, heads, nq, nk, d;
    bool causal;
} bench_case;

typedef struct bench_row {
    bench_case c;
    bool ran;
    int reps;
    double median_gpu_ms, min_gpu_ms, median_wall_ms;
    double gflops; /* per second, at the median */
    double flops;
    double peak_mib;
    uint32_t dispatches;
    double plan_ms, pipeline_ms;
    double max_abs_error; /* NaN if not checked */
    char note[160];
} bench_row;

typedef struct bench_options {
    bool quick, no_check, memory_only;
    const char *only_scheme, *only_kernel;
    const char *json_path, *csv_path;
    uint32_t sizes[16], size_count;
    uint32_t heads, head_dim, batch;
    int causal; /* -1: the sweep's choice */
    int min_reps, max_reps;
    double seconds; /* measured time to aim for per case */
} bench_options;

/* ------------------------------------------------------------------ inputs */

static uint64_t rng_state;

static double uniform01(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static void fill_normal(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01()));
}

typedef struct bench_tensors {
    float *q, *k, *v, *out;
    size_t q_bytes, kv_bytes, out_bytes;
} bench_tensors;

static void free_tensors(bench_tensors *t)
{
    free(t->q);
    free(t->k);
    free(t->v);
    free(t->out);
}

static bool make_tensors(const bench_case *c, bench_tensors *t)
{
    size_t bh = (size_t)c->batch * c->heads;
    t->q_bytes = bh * c->nq * c->d * sizeof(float);
    t->kv_bytes = bh * c->nk * c->d * sizeof(float);
    t->out_bytes = t->q_bytes;
    t->q = malloc(t->q_bytes);
    t->k = malloc(t->kv_bytes);
    t->v = malloc(t->kv_bytes);
    t->out = malloc(t->out_bytes);
    if (!t->q || !t->k || !t->v || !t->out)
        return false;
    rng_state = 0x9E3779B97F4A7C15ull ^ ((uint64_t)c->nq << 20) ^ c->d;
    fill_normal(t->q, t->q_bytes / 4);
    fill_normal(t->k, t->kv_bytes / 4);
    fill_normal(t->v, t->kv_bytes / 4);
    return true;
}

/* ------------------------------------------------------------------ graphs */

static vka_result build_graph(vka_context *ctx, const bench_case *c, uint32_t nq, vka_graph **out)
{
    vka_graph *g;
    vka_result r = vka_graph_create(ctx, &g);
    if (r != VKA_SUCCESS)
        return r;
    vka_tensor q = {0}, k = {0}, v = {0}, o = {0};
    vka_tensor_desc dq = {.name = "q", .rank = 4, .dims = {c->batch, c->heads, nq, c->d}};
    vka_tensor_desc dk = {.name = "k", .rank = 4, .dims = {c->batch, c->heads, c->nk, c->d}};
    vka_tensor_desc dv = dk;
    dv.name = "v";
    if ((r = vka_graph_input(g, &dq, &q)) == VKA_SUCCESS && (r = vka_graph_input(g, &dk, &k)) == VKA_SUCCESS &&
        (r = vka_graph_input(g, &dv, &v)) == VKA_SUCCESS) {
        vka_op_desc op = {
            .op = c->scheme, .inputs = {{"q", q}, {"k", k}, {"v", v}}, .params = {{"causal", c->causal ? "1" : "0"}}};
        if (c->kernel)
            op.params[1] = (vka_op_param){"kernel", c->kernel};
        r = vka_graph_op(g, &op, &o);
    }
    if (r == VKA_SUCCESS)
        r = vka_graph_output(g, "out", o);
    if (r != VKA_SUCCESS) {
        vka_graph_destroy(g);
        return r;
    }
    *out = g;
    return VKA_SUCCESS;
}

/* Copies the last `rows` query rows of every [batch, head] slice. The last rows keep
 * the bottom-right causal alignment, so a reference over them equals the full one. */
static void last_rows(const float *x, uint32_t slices, uint32_t n, uint32_t rows, uint32_t width, float *out)
{
    for (uint32_t s = 0; s < slices; s++)
        memcpy(out + (size_t)s * rows * width, x + ((size_t)s * n + (n - rows)) * width,
               (size_t)rows * width * sizeof(float));
}

/* The largest |GPU − reference| over the checked rows. */
static vka_result check_error(vka_context *ctx, const bench_case *c, const bench_tensors *t, double *max_error)
{
    uint32_t rows = c->nq < CHECK_ROWS ? c->nq : CHECK_ROWS;
    uint32_t slices = c->batch * c->heads;
    size_t sub_bytes = (size_t)slices * rows * c->d * sizeof(float);
    float *q_sub = malloc(sub_bytes), *gpu_sub = malloc(sub_bytes), *ref = malloc(sub_bytes);
    vka_graph *g = NULL;
    vka_result r = q_sub && gpu_sub && ref ? build_graph(ctx, c, rows, &g) : VKA_ERROR_OUT_OF_HOST_MEMORY;
    if (r == VKA_SUCCESS) {
        last_rows(t->q, slices, c->nq, rows, c->d, q_sub);
        last_rows(t->out, slices, c->nq, rows, c->d, gpu_sub);
        vka_host_tensor in[] = {{"q", q_sub, sub_bytes}, {"k", t->k, t->kv_bytes}, {"v", t->v, t->kv_bytes}};
        vka_host_tensor out[] = {{"out", ref, sub_bytes}};
        r = vka_graph_reference(g, in, 3, out, 1);
    }
    if (r == VKA_SUCCESS) {
        double worst = 0;
        for (size_t i = 0; i < sub_bytes / sizeof(float); i++) {
            double e = fabs((double)gpu_sub[i] - ref[i]);
            if (!(e <= worst)) /* NaN propagates */
                worst = e;
        }
        *max_error = worst;
    }
    vka_graph_destroy(g);
    free(q_sub);
    free(gpu_sub);
    free(ref);
    return r;
}

/* ------------------------------------------------------------------ one case */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, compare_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static vka_result time_runs(vka_plan *plan, const bench_options *o, bench_row *row)
{
    double gpu[256], wall[256];
    vka_result r = vka_plan_run(plan); /* warm-up: the first dispatch of a pipeline pays its JIT */
    int n = 0;
    double spent = 0;
    while (r == VKA_SUCCESS && n < o->max_reps && (n < o->min_reps || spent < o->seconds * 1e3)) {
        r = vka_plan_run(plan);
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        gpu[n] = s.last_run_gpu_ms >= 0 ? s.last_run_gpu_ms : s.last_run_wall_ms;
        wall[n] = s.last_run_wall_ms;
        spent += wall[n++];
    }
    if (r != VKA_SUCCESS)
        return r;
    row->reps = n;
    row->median_gpu_ms = median(gpu, n);
    row->min_gpu_ms = gpu[0];
    row->median_wall_ms = median(wall, n);
    row->gflops = row->flops / (row->median_gpu_ms * 1e6);
    return VKA_SUCCESS;
}

static vka_result plan_and_run(vka_context *ctx, const bench_options *o, bench_row *row)
{
    const bench_case *c = &row->c;
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    bench_tensors t = {0};
    vka_result r = build_graph(ctx, c, c->nq, &g);
    if (r != VKA_SUCCESS)
        return r;
    row->flops = vka_graph_flops(g);
    r = vka_plan_create(g, &(vka_plan_desc){.memory_only = o->memory_only}, &plan);
    if (r == VKA_SUCCESS) {
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        row->peak_mib = s.peak_device_bytes / (1024.0 * 1024.0);
        row->dispatches = s.dispatch_count;
        row->plan_ms = s.plan_ms;
        row->pipeline_ms = s.pipeline_create_ms;
    }
    if (r == VKA_SUCCESS && !o->memory_only) {
        if (!make_tensors(c, &t))
            r = VKA_ERROR_OUT_OF_HOST_MEMORY;
        if (r == VKA_SUCCESS && (r = vka_plan_write(plan, "q", t.q, t.q_bytes)) == VKA_SUCCESS &&
            (r = vka_plan_write(plan, "k", t.k, t.kv_bytes)) == VKA_SUCCESS)
            r = vka_plan_write(plan, "v", t.v, t.kv_bytes);
        if (r == VKA_SUCCESS)
            r = time_runs(plan, o, row);
        if (r == VKA_SUCCESS)
            r = vka_plan_read(plan, "out", t.out, t.out_bytes);
        row->ran = r == VKA_SUCCESS;
        if (r == VKA_SUCCESS && !o->no_check)
            r = check_error(ctx, c, &t, &row->max_abs_error);
    }
    free_tensors(&t);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return r;
}

/* ------------------------------------------------------------------ the sweep */

static uint32_t default_cases(const bench_options *o, bench_case *cases)
{
    static const uint32_t full[] = {256, 1024, 4096};
    static const uint32_t quick[] = {128, 256};
    const uint32_t *sizes = o->size_count ? o->sizes : (o->quick ? quick : full);
    uint32_t size_count = o->size_count ? o->size_count : (o->quick ? 2 : 3);
    static const char *const kernels[] = {"flash", "materialized"};
    uint32_t n = 0;
    for (int k = 0; k < 2; k++) {
        if (o->only_kernel && strcmp(o->only_kernel, kernels[k]) != 0)
            continue;
        for (uint32_t s = 0; s < size_count && n < MAX_CASES; s++)
            cases[n++] = (bench_case){"softmax", kernels[k], o->batch,    o->heads,
                                      sizes[s],  sizes[s],   o->head_dim, o->causal == 1};
        /* The causal form at the middle size, unless the caller chose. */
        if (o->causal == -1 && !o->size_count && n < MAX_CASES)
            cases[n++] =
                (bench_case){"softmax",   kernels[k], o->batch, o->heads, sizes[size_count / 2], sizes[size_count / 2],
                             o->head_dim, true};
    }
    if (o->only_scheme && strcmp(o->only_scheme, "softmax") != 0)
        return 0;
    return n;
}

static void print_header(void)
{
    printf("%-8s %-13s %2s %3s %6s %6s %4s %6s %11s %9s %10s %5s %10s %9s\n", "scheme", "kernel", "B", "H", "Nq", "Nk",
           "D", "causal", "gpu_ms(med)", "GFLOP/s", "peak_MiB", "disp", "max_err", "plan_ms");
}

static void print_row(const bench_row *r)
{
    const bench_case *c = &r->c;
    printf("%-8s %-13s %2u %3u %6u %6u %4u %6s ", c->scheme, c->kernel ? c->kernel : "-", c->batch, c->heads, c->nq,
           c->nk, c->d, c->causal ? "yes" : "no");
    if (r->ran)
        printf("%11.3f %9.3f ", r->median_gpu_ms, r->gflops);
    else
        printf("%11s %9s ", "-", "-");
    printf("%10.2f %5u ", r->peak_mib, r->dispatches);
    if (r->ran && !isnan(r->max_abs_error))
        printf("%10.2e ", r->max_abs_error);
    else
        printf("%10s ", "-");
    printf("%9.1f%s%s\n", r->plan_ms, r->note[0] ? "  " : "", r->note);
}

static void write_json(FILE *f, const bench_row *rows, uint32_t n, const vka_device_info *info)
{
    fprintf(f, "[\n");
    for (uint32_t i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        const bench_case *c = &r->c;
        fprintf(f,
                "  {\"scheme\":\"%s\",\"kernel\":\"%s\",\"batch\":%u,\"heads\":%u,\"nq\":%u,\"nk\":%u,\"d\":%u,"
                "\"causal\":%s,\"ran\":%s,\"reps\":%d,\"median_gpu_ms\":%.6f,\"median_wall_ms\":%.6f,"
                "\"gflops\":%.6f,\"flops\":%.0f,\"peak_device_bytes_mib\":%.6f,\"dispatches\":%u,"
                "\"plan_ms\":%.3f,\"pipeline_create_ms\":%.3f,\"max_abs_error\":",
                c->scheme, c->kernel ? c->kernel : "", c->batch, c->heads, c->nq, c->nk, c->d,
                c->causal ? "true" : "false", r->ran ? "true" : "false", r->reps, r->median_gpu_ms, r->median_wall_ms,
                r->gflops, r->flops, r->peak_mib, r->dispatches, r->plan_ms, r->pipeline_ms);
        if (r->ran && !isnan(r->max_abs_error) && !isinf(r->max_abs_error))
            fprintf(f, "%.6e", r->max_abs_error);
        else
            fprintf(f, "null");
        fprintf(f, ",\"device\":{\"name\":");
        cli_json_string(f, info->name);
        fprintf(f, ",\"driver\":");
        cli_json_string(f, info->driver);
        fprintf(f,
                ",\"api_version\":\"%u.%u.%u\",\"subgroup_size\":%u,\"shared_memory_bytes\":%u,"
                "\"fp16_storage\":%s,\"fp16_arithmetic\":%s,\"limits\":\"%s\",\"kernel_class\":\"%s\"}}%s\n",
                info->api_version >> 22, (info->api_version >> 12) & 0x3ff, info->api_version & 0xfff,
                info->subgroup_size, info->limits.max_shared_memory_bytes,
                info->storage_buffer_16bit ? "true" : "false", info->shader_float16 ? "true" : "false",
                info->limits_profile, info->kernel_class == VKA_KERNEL_CLASS_CPU ? "cpu" : "gpu", i + 1 < n ? "," : "");
    }
    fprintf(f, "]\n");
}

static void write_csv(FILE *f, const bench_row *rows, uint32_t n, const vka_device_info *info)
{
    fprintf(f, "scheme,kernel,batch,heads,nq,nk,d,causal,ran,reps,median_gpu_ms,gflops,peak_device_mib,dispatches,"
               "max_abs_error,plan_ms,pipeline_create_ms,device,driver,api_version,subgroup_size,shared_memory_bytes,"
               "fp16_storage,fp16_arithmetic,limits\n");
    for (uint32_t i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        const bench_case *c = &r->c;
        fprintf(
            f, "%s,%s,%u,%u,%u,%u,%u,%d,%d,%d,%.6f,%.6f,%.6f,%u,%.6e,%.3f,%.3f,\"%s\",\"%s\",%u.%u.%u,%u,%u,%d,%d,%s\n",
            c->scheme, c->kernel ? c->kernel : "", c->batch, c->heads, c->nq, c->nk, c->d, c->causal, r->ran, r->reps,
            r->median_gpu_ms, r->gflops, r->peak_mib, r->dispatches, r->max_abs_error, r->plan_ms, r->pipeline_ms,
            info->name, info->driver, info->api_version >> 22, (info->api_version >> 12) & 0x3ff,
            info->api_version & 0xfff, info->subgroup_size, info->limits.max_shared_memory_bytes,
            info->storage_buffer_16bit, info->shader_float16, info->limits_profile);
    }
}

static int write_reports(const bench_options *o, const bench_row *rows, uint32_t n, const vka_device_info *info)
{
    const char *paths[2] = {o->json_path, o->csv_path};
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        FILE *f = fopen(paths[i], "w");
        if (!f)
            return cli_fail("cannot write %s", paths[i]);
        (i == 0 ? write_json : write_csv)(f, rows, n, info);
        if (fclose(f) != 0)
            return cli_fail("cannot write %s", paths[i]);
    }
    return 0;
}

/* ------------------------------------------------------------------ options */

static int parse_sizes(const char *list, bench_options *o)
{
    o->size_count = 0;
    for (const char *p = list; *p && o->size_count < 16;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0)
            return cli_fail("--n wants a comma-separated list of sizes, got '%s'", list);
        o->sizes[o->size_count++] = (uint32_t)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return cli_fail("--n wants a comma-separated list of sizes, got '%s'", list);
    }
    return 0;
}

static int parse_options(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){
        .batch = 1, .heads = 8, .head_dim = 64, .causal = -1, .min_reps = 3, .max_reps = 50, .seconds = 1.0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0)
            o->quick = true, o->min_reps = 2, o->seconds = 0.2;
        else if (strcmp(a, "--no-check") == 0)
            o->no_check = true;
        else if (strcmp(a, "--memory-only") == 0)
            o->memory_only = true;
        else if (!next)
            return cli_fail("bench: unknown option '%s' or missing value", a);
        else if (strcmp(a, "--scheme") == 0)
            o->only_scheme = argv[++i];
        else if (strcmp(a, "--kernel") == 0)
            o->only_kernel = argv[++i];
        else if (strcmp(a, "--json") == 0)
            o->json_path = argv[++i];
        else if (strcmp(a, "--csv") == 0)
            o->csv_path = argv[++i];
        else if (strcmp(a, "--n") == 0) {
            if (parse_sizes(argv[++i], o))
                return 1;
        } else if (strcmp(a, "--heads") == 0)
            o->heads = (uint32_t)atoi(argv[++i]);
        else if (strcmp(a, "--d") == 0)
            o->head_dim = (uint32_t)atoi(argv[++i]);
        else if (strcmp(a, "--batch") == 0)
            o->batch = (uint32_t)atoi(argv[++i]);
        else if (strcmp(a, "--causal") == 0)
            o->causal = atoi(argv[++i]) ? 1 : 0;
        else if (strcmp(a, "--reps") == 0)
            o->min_reps = atoi(argv[++i]);
        else if (strcmp(a, "--seconds") == 0)
            o->seconds = atof(argv[++i]);
        else
            return cli_fail("bench: unknown option '%s'", a);
    }
    if (o->batch == 0 || o->heads == 0 || o->head_dim == 0 || o->min_reps < 1 || o->min_reps > 200)
        return cli_fail("bench: --batch, --heads, --d must be positive and --reps in 1..200");
    if (o->max_reps < o->min_reps)
        o->max_reps = o->min_reps;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_options o;
    if (parse_options(argc, argv, &o))
        return 1;
    bench_case cases[MAX_CASES];
    uint32_t n = default_cases(&o, cases);
    if (n == 0)
        return cli_fail("bench: nothing to run for scheme '%s'", o.only_scheme ? o.only_scheme : "?");
    vka_context *ctx;
    vka_result r = vka_context_create(&(vka_context_desc){0}, &ctx);
    if (r != VKA_SUCCESS)
        return cli_fail_result(NULL, r, "creating a context");
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    fprintf(stderr, "device: %s\n", info.summary);
    bench_row rows[MAX_CASES];
    int status = 0;
    print_header();
    for (uint32_t i = 0; i < n; i++) {
        bench_row *row = &rows[i];
        *row = (bench_row){.c = cases[i], .max_abs_error = NAN};
        fprintf(stderr, "[%u/%u] %s %s N=%u%s ...\n", i + 1, n, cases[i].scheme, cases[i].kernel, cases[i].nq,
                cases[i].causal ? " causal" : "");
        r = plan_and_run(ctx, &o, row);
        if (r != VKA_SUCCESS) {
            snprintf(row->note, sizeof row->note, "failed: %s", vka_last_error(ctx));
            status = 1;
        }
        print_row(row);
        fflush(stdout);
    }
    printf("device: %s\n", info.summary);
    if (vka_context_validation_message_count(ctx))
        status = cli_fail("validation: %s", vka_context_first_validation_message(ctx));
    if (!status)
        status = write_reports(&o, rows, n, &info);
    vka_context_destroy(ctx);
    return status;
}
