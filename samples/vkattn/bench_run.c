/* Measuring one benchmark case, and the table and report files every mode shares. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_ROWS 64 /* query rows compared against the reference per [batch, head] */

/* ------------------------------------------------------------------ inputs */

typedef struct xorshift {
    uint64_t state;
} xorshift;

static double uniform01(xorshift *r)
{
    r->state ^= r->state << 13;
    r->state ^= r->state >> 7;
    r->state ^= r->state << 17;
    return ((r->state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static void fill_normal(xorshift *r, float *x, size_t n, float sigma)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sigma * (float)(sqrt(-2.0 * log(uniform01(r))) * cos(6.283185307179586 * uniform01(r)));
}

bool bench_inputs(const bench_case *c, float **q, float **k, float **v)
{
    size_t bh = (size_t)c->batch * c->heads;
    size_t q_count = bh * c->nq * c->d, kv_count = bh * c->nk * c->d;
    *q = malloc(q_count * sizeof(float));
    *k = malloc(kv_count * sizeof(float));
    *v = malloc(kv_count * sizeof(float));
    if (!*q || !*k || !*v)
        return false;
    xorshift r = {c->input_seed ? c->input_seed : 0x9E3779B97F4A7C15ull ^ ((uint64_t)c->nq << 20) ^ c->d};
    float sigma = c->input_sigma > 0 ? c->input_sigma : 1.0f;
    fill_normal(&r, *q, q_count, sigma);
    fill_normal(&r, *k, kv_count, sigma);
    fill_normal(&r, *v, kv_count, 1.0f);
    return true;
}

/* ------------------------------------------------------------------ graphs */

static bool contains(const char *const *names, const char *name)
{
    for (uint32_t i = 0; names && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* Whether the operation takes a causal form (a `causal` it can set to 1). */
static bool takes_causal(const vka_op_info *info)
{
    for (uint32_t i = 0; i < info->param_count; i++)
        if (strcmp(info->params[i].key, "causal") == 0)
            return info->params[i].max >= 1;
    return false;
}

bool bench_scheme_has_causal(const char *scheme)
{
    vka_op_info info;
    return vka_op_info_named(scheme, &info) == VKA_SUCCESS && takes_causal(&info);
}

/* Schemes whose q, k, v are token-major, [B, N, H·D] (te_attention): the same bytes as
 * [B, H, N, D] inputs, sliced per batch rather than per head. */
static bool token_major(const char *scheme)
{
    return strcmp(scheme, "te_attention") == 0;
}

/* A learned input as a constant drawn from a fixed seed, so the reference graph holds
 * the same values: latents [1, H, BENCH_LATENTS, D] (`inducing`), the ∞-former's per-head
 * w_mu, w_sigma [1, H, 1, BENCH_BASIS] (`continuous`), te_attention's kernel MLP
 * (H + 2 → 128 → 128 → H). dims: rank 4, leading 1s dropped. */
/* A seeded constant; `squeeze` drops its leading 1s (the TE MLP's matrices are 2-D). */
static vka_result add_constant(vka_graph *g, const char *name, const uint32_t dims[4], bool squeeze, float sigma,
                               uint64_t seed, vka_tensor *out)
{
    size_t count = (size_t)dims[0] * dims[1] * dims[2] * dims[3];
    float *data = malloc(count * sizeof *data);
    if (!data)
        return VKA_ERROR_OUT_OF_HOST_MEMORY;
    xorshift r = {seed};
    fill_normal(&r, data, count, sigma);
    uint32_t lead = 0;
    while (squeeze && lead < 3 && dims[lead] == 1)
        lead++;
    vka_tensor_desc desc = {.name = name, .rank = 4 - lead};
    memcpy(desc.dims, dims + lead, desc.rank * sizeof *dims);
    vka_result result = vka_graph_constant(g, &desc, data, count * sizeof *data, out);
    free(data);
    return result;
}

/* te_attention's locations [B, n, 2]: a fixed function of the token's index (the check
 * graph's queries are the last rows: `first` is their first index). */
static vka_result add_locations(vka_graph *g, const char *name, uint32_t batch, uint32_t n, uint32_t first,
                                vka_tensor *out)
{
    float *x = malloc((size_t)batch * n * 2 * sizeof *x);
    if (!x)
        return VKA_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t b = 0; b < batch; b++)
        for (uint32_t i = 0; i < n; i++) {
            x[((size_t)b * n + i) * 2] = (float)(2 * sin(0.37 * (first + i) + b));
            x[((size_t)b * n + i) * 2 + 1] = (float)(2 * cos(0.59 * (first + i) + b));
        }
    vka_tensor_desc desc = {.name = name, .rank = 3, .dims = {batch, n, 2}};
    vka_result r = vka_graph_constant(g, &desc, x, (size_t)batch * n * 2 * sizeof *x, out);
    free(x);
    return r;
}

static vka_result add_te_inputs(vka_graph *g, const bench_case *c, uint32_t nq, vka_op_desc *op, uint32_t next)
{
    static const char *const roles[] = {"fc1", "fc2", "fc3", "fc1_bias", "fc2_bias", "fc3_bias"};
    const uint32_t h = c->heads, dims[6][4] = {{1, 1, 128, h + 2}, {1, 1, 128, 128}, {1, 1, h, 128},
                                               {1, 1, 1, 128},     {1, 1, 1, 128},   {1, 1, 1, h}};
    vka_result r = add_locations(g, "xq", c->batch, nq, c->nq - nq, &op->inputs[next].tensor);
    op->inputs[next++].role = "xq";
    if (r == VKA_SUCCESS)
        r = add_locations(g, "xk", c->batch, c->nk, 0, &op->inputs[next].tensor);
    op->inputs[next++].role = "xk";
    for (int i = 0; r == VKA_SUCCESS && i < 6; i++) {
        op->inputs[next].role = roles[i];
        r = add_constant(g, roles[i], dims[i], true, i < 3 ? 1.0f / sqrtf((float)dims[i][3]) : 0.01f, 0x7E0000ull + i,
                         &op->inputs[next++].tensor);
    }
    return r;
}

/* Whether the scheme takes queries of its own (aaren's query is a learned one). */
static bool takes_queries(const char *scheme)
{
    vka_op_info info;
    return vka_op_info_named(scheme, &info) != VKA_SUCCESS || contains(info.input_roles, "q");
}

/* The learned inputs the scheme's roles ask for, from op->inputs[next] on. */
static vka_result add_learned_inputs(vka_graph *g, const bench_case *c, uint32_t nq, const vka_op_info *info,
                                     vka_op_desc *op, uint32_t next)
{
    vka_result r = VKA_SUCCESS;
    if (contains(info->input_roles, "xq"))
        return add_te_inputs(g, c, nq, op, next);
    if (contains(info->input_roles, "latents")) {
        op->inputs[next].role = "latents";
        r = add_constant(g, "latents", (uint32_t[4]){1, c->heads, BENCH_LATENTS, c->d}, false, 1.0f, 0x5EED1A7E27ull,
                         &op->inputs[next++].tensor);
    }
    if (contains(info->input_roles, "query")) { /* aaren's learned query */
        op->inputs[next].role = "query";
        r = add_constant(g, "query", (uint32_t[4]){1, c->heads, 1, c->d}, false, 1.0f, 0xAA2E9ull,
                         &op->inputs[next++].tensor);
    }
    const char *weights[2] = {"w_mu", "w_sigma"};
    for (int i = 0; r == VKA_SUCCESS && i < 2 && contains(info->input_roles, weights[i]); i++) {
        op->inputs[next].role = weights[i];
        r = add_constant(g, weights[i], (uint32_t[4]){1, c->heads, 1, BENCH_BASIS}, false, 1.0f / 16, 0xB451500ull + i,
                         &op->inputs[next++].tensor);
    }
    return r;
}

/* Parameters a scheme cannot do without, as the benchmark sets them (a case's own
 * `extra` parameters win). */
static const struct {
    const char *scheme, *key, *value;
} scheme_defaults[] = {
    {"local", "window", "128"},   {"longformer", "window", "128"}, {"longformer", "global", "16"},
    {"strided", "stride", "128"}, {"fixed", "stride", "128"},      {"blockwise", "blocks", "16"},
};

static bool has_param(const vka_op_desc *op, const char *key)
{
    for (uint32_t i = 0; i < VKA_MAX_OP_PARAMS && op->params[i].key; i++)
        if (strcmp(op->params[i].key, key) == 0)
            return true;
    return false;
}

vka_result bench_graph(vka_context *ctx, const bench_case *c, uint32_t nq, vka_graph **out)
{
    vka_op_info info;
    vka_result r = vka_op_info_named(c->scheme, &info);
    vka_graph *g = NULL;
    if (r == VKA_SUCCESS)
        r = vka_graph_create(ctx, &g);
    if (r != VKA_SUCCESS)
        return r;
    vka_tensor q = {0}, k = {0}, v = {0}, o = {0};
    vka_tensor_desc dq = {.name = "q", .rank = 4, .dims = {c->batch, c->heads, nq, c->d}};
    vka_tensor_desc dk = {.name = "k", .rank = 4, .dims = {c->batch, c->heads, c->nk, c->d}};
    if (token_major(c->scheme)) {
        dq = (vka_tensor_desc){.name = "q", .rank = 3, .dims = {c->batch, nq, c->heads * c->d}};
        dk = (vka_tensor_desc){.name = "k", .rank = 3, .dims = {c->batch, c->nk, c->heads * c->d}};
    }
    vka_tensor_desc dv = dk;
    dv.name = "v";
    vka_op_desc op = {.op = c->scheme};
    bool queries = contains(info.input_roles, "q");
    uint32_t next = 0;
    if (queries && (r = vka_graph_input(g, &dq, &q)) == VKA_SUCCESS)
        op.inputs[next++] = (vka_op_input){"q", q};
    if (r == VKA_SUCCESS && (r = vka_graph_input(g, &dk, &k)) == VKA_SUCCESS &&
        (r = vka_graph_input(g, &dv, &v)) == VKA_SUCCESS) {
        op.inputs[next++] = (vka_op_input){"k", k};
        op.inputs[next++] = (vka_op_input){"v", v};
        r = add_learned_inputs(g, c, nq, &info, &op, next);
    }
    if (r == VKA_SUCCESS) {
        uint32_t p = 0;
        if (takes_causal(&info))
            op.params[p++] = (vka_op_param){"causal", c->causal ? "1" : "0"};
        if (c->kernel)
            op.params[p++] = (vka_op_param){"kernel", c->kernel};
        for (uint32_t i = 0; i < BENCH_MAX_PARAMS && c->extra[i].key; i++)
            op.params[p++] = c->extra[i];
        for (size_t i = 0; i < sizeof scheme_defaults / sizeof *scheme_defaults; i++)
            if (strcmp(scheme_defaults[i].scheme, c->scheme) == 0 && !has_param(&op, scheme_defaults[i].key))
                op.params[p++] = (vka_op_param){scheme_defaults[i].key, scheme_defaults[i].value};
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

/* ------------------------------------------------------------------ error check */

/* Copies the last `rows` query rows of every [batch, head] slice. The last rows keep
 * the bottom-right causal alignment, so a reference over them equals the full one. */
static void last_rows(const float *x, uint32_t slices, uint32_t n, uint32_t rows, uint32_t width, float *out)
{
    for (uint32_t s = 0; s < slices; s++)
        memcpy(out + (size_t)s * rows * width, x + ((size_t)s * n + (n - rows)) * width,
               (size_t)rows * width * sizeof(float));
}

/* Nyström's landmarks are means over all queries: a subset of rows is another problem;
 * a scheme without queries (aaren) has no rows to take. */
static bool rows_depend_on_each_other(const char *scheme)
{
    return strcmp(scheme, "nystrom") == 0 || !takes_queries(scheme);
}

/* The largest |GPU − reference| over the checked rows. */
static vka_result check_error(vka_context *ctx, const bench_case *c, const float *q, const float *k, const float *v,
                              const float *gpu_out, double *max_error)
{
    uint32_t rows = c->nq < CHECK_ROWS || rows_depend_on_each_other(c->scheme) ? c->nq : CHECK_ROWS;
    bool by_batch = token_major(c->scheme); /* a slice per batch of rows of all heads */
    uint32_t slices = by_batch ? c->batch : c->batch * c->heads, width = by_batch ? c->heads * c->d : c->d;
    size_t sub_bytes = (size_t)slices * rows * width * sizeof(float);
    size_t kv_bytes = (size_t)slices * c->nk * width * sizeof(float);
    float *q_sub = malloc(sub_bytes), *gpu_sub = malloc(sub_bytes), *ref = malloc(sub_bytes);
    vka_graph *g = NULL;
    vka_result r = q_sub && gpu_sub && ref ? bench_graph(ctx, c, rows, &g) : VKA_ERROR_OUT_OF_HOST_MEMORY;
    if (r == VKA_SUCCESS) {
        last_rows(q, slices, c->nq, rows, width, q_sub);
        last_rows(gpu_out, slices, c->nq, rows, width, gpu_sub);
        vka_host_tensor in[] = {{"q", q_sub, sub_bytes}, {"k", (void *)k, kv_bytes}, {"v", (void *)v, kv_bytes}};
        vka_host_tensor out[] = {{"out", ref, sub_bytes}};
        bool queries = takes_queries(c->scheme);
        r = vka_graph_reference(g, queries ? in : in + 1, queries ? 3 : 2, out, 1);
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

/* ------------------------------------------------------------------ timing */

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
    vka_plan_stats first;
    vka_plan_stats_get(plan, &first);
    row->first_run_ms = first.last_run_wall_ms;
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
    row->min_gpu_ms = gpu[0];
    for (int i = 1; i < n; i++)
        row->min_gpu_ms = gpu[i] < row->min_gpu_ms ? gpu[i] : row->min_gpu_ms;
    row->median_gpu_ms = median(gpu, n);
    row->median_wall_ms = median(wall, n);
    row->gflops = row->flops / (row->median_gpu_ms * 1e6);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ one case */

static void record_plan_stats(const vka_plan *plan, bench_row *row)
{
    vka_plan_stats s;
    vka_plan_stats_get(plan, &s);
    row->peak_mib = s.peak_device_bytes / (1024.0 * 1024.0);
    row->dispatches = s.dispatch_count;
    row->plan_ms = s.plan_ms;
    row->pipeline_ms = s.pipeline_create_ms;
}

static vka_result run_case(vka_context *ctx, const bench_options *o, vka_plan *plan, bench_row *row, float **out_copy)
{
    const bench_case *c = &row->c;
    float *q = NULL, *k = NULL, *v = NULL, *out = NULL;
    size_t q_bytes = (size_t)c->batch * c->heads * c->nq * c->d * sizeof(float);
    size_t kv_bytes = (size_t)c->batch * c->heads * c->nk * c->d * sizeof(float);
    vka_result r = bench_inputs(c, &q, &k, &v) && (out = malloc(q_bytes)) ? VKA_SUCCESS : VKA_ERROR_OUT_OF_HOST_MEMORY;
    if (r == VKA_SUCCESS && takes_queries(c->scheme))
        r = vka_plan_write(plan, "q", q, q_bytes);
    if (r == VKA_SUCCESS && (r = vka_plan_write(plan, "k", k, kv_bytes)) == VKA_SUCCESS)
        r = vka_plan_write(plan, "v", v, kv_bytes);
    if (r == VKA_SUCCESS)
        r = time_runs(plan, o, row);
    if (r == VKA_SUCCESS)
        r = vka_plan_read(plan, "out", out, q_bytes);
    row->ran = r == VKA_SUCCESS;
    if (r == VKA_SUCCESS && !o->no_check)
        r = check_error(ctx, c, q, k, v, out, &row->max_abs_error);
    if (r == VKA_SUCCESS && out_copy) {
        *out_copy = out;
        out = NULL;
    }
    free(q);
    free(k);
    free(v);
    free(out);
    return r;
}

vka_result bench_measure(vka_context *ctx, const bench_options *o, bool memory_only, bench_row *row, float **out_copy)
{
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    memory_only = memory_only || o->memory_only;
    vka_result r = bench_graph(ctx, &row->c, row->c.nq, &g);
    if (r == VKA_SUCCESS) {
        row->flops = vka_graph_flops(g);
        r = vka_plan_create(g, &(vka_plan_desc){.memory_only = memory_only}, &plan);
    }
    if (r == VKA_SUCCESS) {
        record_plan_stats(plan, row);
        if (!memory_only)
            r = run_case(ctx, o, plan, row, out_copy);
    }
    if (r != VKA_SUCCESS)
        snprintf(row->note, sizeof row->note, "failed: %s", vka_last_error(ctx));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return r;
}

/* ------------------------------------------------------------------ exponents */

double bench_fit_exponent(const double *x, const double *y, uint32_t n, double x_min)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (x[i] < x_min || !(y[i] > 0))
            continue;
        double lx = log(x[i]), ly = log(y[i]);
        sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly, m++;
    }
    double denominator = m * sxx - sx * sx;
    return m < 2 || denominator <= 0 ? NAN : (m * sxy - sx * sy) / denominator;
}

/* ------------------------------------------------------------------ the table */

void bench_print_header(void)
{
    printf("%-9s %-13s %2s %3s %6s %6s %4s %6s %11s %9s %10s %5s %10s %9s %9s\n", "scheme", "kernel", "B", "H", "Nq",
           "Nk", "D", "causal", "gpu_ms(med)", "GFLOP/s", "peak_MiB", "disp", "max_err", "plan_ms", "1st_ms");
}

void bench_print_row(const bench_row *r)
{
    const bench_case *c = &r->c;
    printf("%-9s %-13s %2u %3u %6u %6u %4u %6s ", c->scheme, c->kernel ? c->kernel : "-", c->batch, c->heads, c->nq,
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
    printf("%9.1f ", r->plan_ms);
    if (r->ran)
        printf("%9.1f", r->first_run_ms);
    else
        printf("%9s", "-");
    printf("%s%s\n", r->note[0] ? "  " : "", r->note);
    fflush(stdout);
}

/* ------------------------------------------------------------------ report files */

static void write_params_json(FILE *f, const bench_case *c)
{
    fputc('{', f);
    for (uint32_t i = 0; i < BENCH_MAX_PARAMS && c->extra[i].key; i++) {
        fprintf(f, "%s", i ? "," : "");
        cli_json_string(f, c->extra[i].key);
        fputc(':', f);
        cli_json_string(f, c->extra[i].value);
    }
    fputc('}', f);
}

static void write_json(FILE *f, const bench_row *rows, uint32_t n, const vka_device_info *info)
{
    fprintf(f, "[\n");
    for (uint32_t i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        const bench_case *c = &r->c;
        fprintf(f,
                "  {\"scheme\":\"%s\",\"kernel\":\"%s\",\"batch\":%u,\"heads\":%u,\"nq\":%u,\"nk\":%u,\"d\":%u,"
                "\"causal\":%s,\"params\":",
                c->scheme, c->kernel ? c->kernel : "", c->batch, c->heads, c->nq, c->nk, c->d,
                c->causal ? "true" : "false");
        write_params_json(f, c);
        fprintf(f,
                ",\"ran\":%s,\"reps\":%d,\"median_gpu_ms\":%.6f,\"median_wall_ms\":%.6f,"
                "\"gflops\":%.6f,\"flops\":%.0f,\"peak_device_bytes_mib\":%.6f,\"dispatches\":%u,"
                "\"plan_ms\":%.3f,\"pipeline_create_ms\":%.3f,\"first_run_ms\":%.3f,\"max_abs_error\":",
                r->ran ? "true" : "false", r->reps, r->median_gpu_ms, r->median_wall_ms, r->gflops, r->flops,
                r->peak_mib, r->dispatches, r->plan_ms, r->pipeline_ms, r->first_run_ms);
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

int bench_write_reports(const bench_options *o, const bench_row *rows, uint32_t n, const vka_device_info *info)
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
