/* Measuring one benchmark case, and the table and report files every mode shares. */
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* q or k ([..., H, N, D]) drawn around `centres` centres per head: the centres from a stream
 * of the case's seed alone (so q and k share them), each token's centre and offset from
 * the token stream. Where clustering and hashing schemes are meant to shine. */
static void fill_around_centres(const bench_case *c, xorshift *tokens, float *x, const vka_tensor_desc *d, float sigma)
{
    uint32_t dim = d->dims[d->rank - 1], n = d->dims[d->rank - 2], heads = d->rank >= 3 ? d->dims[d->rank - 3] : 1;
    size_t centre_count = (size_t)heads * c->input_centres * dim, slices = 1;
    for (uint32_t i = 0; i + 2 < d->rank; i++)
        slices *= d->dims[i];
    float *centres = malloc(centre_count * sizeof *centres);
    xorshift own = {(c->input_seed ? c->input_seed : 0x9E3779B97F4A7C15ull) ^ 0xC3A5C85C97CB3127ull};
    if (!centres) { /* plain draws rather than none */
        fill_normal(tokens, x, slices * n * dim, sigma);
        return;
    }
    fill_normal(&own, centres, centre_count, 2.0f * sigma);
    for (size_t s = 0; s < slices; s++)
        for (uint32_t t = 0; t < n; t++) {
            uint32_t pick = (uint32_t)(uniform01(tokens) * c->input_centres) % c->input_centres;
            const float *centre = centres + ((s % heads) * c->input_centres + pick) * dim;
            float *row = x + (s * n + t) * dim;
            fill_normal(tokens, row, dim, sigma / 3.0f);
            for (uint32_t i = 0; i < dim; i++)
                row[i] += centre[i];
        }
    free(centres);
}

/* ------------------------------------------------------------------ element types */

vka_dtype bench_dtype(const bench_case *c)
{
    return c->dtype == VKA_DTYPE_F16 ? VKA_DTYPE_F16 : VKA_DTYPE_F32;
}

const char *bench_dtype_name(const bench_case *c)
{
    return bench_dtype(c) == VKA_DTYPE_F16 ? "f16" : "f32";
}

/* Host data of `bytes` f32 bytes in the case's type: x itself for f32 (*owned NULL),
 * else a converted copy in *owned (NULL data when out of memory). */
static const void *in_case_dtype(const bench_case *c, const float *x, size_t *bytes, void **owned)
{
    *owned = NULL;
    if (bench_dtype(c) == VKA_DTYPE_F32)
        return x;
    size_t n = *bytes / sizeof(float);
    uint16_t *h = malloc(n * sizeof *h);
    if (h)
        vka_f16_from_f32(x, h, n);
    *bytes = n * sizeof *h;
    *owned = h;
    return h;
}

/* ------------------------------------------------------------------ graphs */

/* Whether the operation takes a causal form (a `causal` it can set to 1). */
static bool takes_causal(const vka_op_info *info)
{
    for (uint32_t i = 0; i < info->param_count; i++)
        if (strcmp(info->params[i].key, "causal") == 0)
            return info->params[i].max >= 1;
    return false;
}

bool bench_scheme_causal_only(const char *scheme)
{
    vka_op_info info;
    if (vka_op_info_named(scheme, &info) != VKA_SUCCESS)
        return false;
    for (uint32_t i = 0; i < info.param_count; i++)
        if (strcmp(info.params[i].key, "causal") == 0)
            return info.params[i].min >= 1; /* the gated forms: causal=1 only */
    return false;
}

bool bench_scheme_has_causal(const char *scheme)
{
    vka_op_info info;
    return vka_op_info_named(scheme, &info) == VKA_SUCCESS && takes_causal(&info);
}

/* The scheme posed on the case's sizes with nq queries, as the operation describes itself. */
static vka_result case_example(const bench_case *c, uint32_t nq, vka_op_example *e)
{
    vka_problem problem = {
        .batch = c->batch, .heads = c->heads, .kv_heads = c->kv_heads, .queries = nq, .keys = c->nk, .head_dim = c->d};
    return vka_op_example_for(c->scheme, &problem, e);
}

static size_t desc_elements(const vka_tensor_desc *d)
{
    size_t n = 1;
    for (uint32_t i = 0; i < d->rank; i++)
        n *= d->dims[i];
    return n;
}

void bench_values_free(bench_values *v)
{
    for (uint32_t i = 0; i < VKA_MAX_OP_INPUTS; i++)
        free(v->data[i]);
}

static uint64_t role_seed(const char *role)
{
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */
    while (*role)
        h = (h ^ (uint8_t)*role++) * 0x100000001B3ull;
    return h;
}

vka_result bench_values_fill(const bench_case *c, bool constants_only, bench_values *v)
{
    vka_result r = case_example(c, c->nq, &v->example);
    xorshift tokens = {c->input_seed ? c->input_seed : 0x9E3779B97F4A7C15ull ^ ((uint64_t)c->nq << 20) ^ c->d};
    float sigma = c->input_sigma > 0 ? c->input_sigma : 1.0f;
    for (uint32_t i = 0; r == VKA_SUCCESS && i < v->example.input_count; i++) {
        const vka_example_input *in = &v->example.inputs[i];
        if (in->kind == VKA_INPUT_INDICES || (constants_only && !in->constant))
            continue;
        size_t count = desc_elements(&in->desc);
        v->bytes[i] = count * sizeof(float);
        if (!(v->data[i] = malloc(v->bytes[i])))
            return VKA_ERROR_OUT_OF_HOST_MEMORY;
        xorshift own = {role_seed(in->role)};
        if (in->kind == VKA_INPUT_TOKENS && in->in_logits && c->input_centres)
            fill_around_centres(c, &tokens, v->data[i], &in->desc, sigma);
        else if (in->kind == VKA_INPUT_TOKENS)
            fill_normal(&tokens, v->data[i], count, in->in_logits ? sigma : 1.0f);
        else
            fill_normal(&own, v->data[i], count,
                        in->kind == VKA_INPUT_LEARNED ? 1.0f / sqrtf((float)in->desc.dims[in->desc.rank - 1]) : 1.0f);
        vka_value_range_place(&in->values, v->data[i], count);
    }
    return r;
}

static bool takes_param(const char *scheme, const char *key)
{
    vka_op_info info;
    if (vka_op_info_named(scheme, &info) != VKA_SUCCESS)
        return false;
    for (uint32_t i = 0; i < info.param_count; i++)
        if (strcmp(info.params[i].key, key) == 0)
            return true;
    return false;
}

void bench_set_params(bench_case *c, const vka_op_param *table, const bench_options *o)
{
    uint32_t n = 0;
    for (uint32_t i = 0; table && table[i].key && n < BENCH_MAX_PARAMS; i++) {
        bool overridden = false;
        for (uint32_t j = 0; j < o->param_count; j++)
            overridden = overridden || strcmp(o->params[j].key, table[i].key) == 0;
        if (!overridden)
            c->extra[n++] = table[i];
    }
    for (uint32_t i = 0; i < o->param_count && n < BENCH_MAX_PARAMS; i++)
        if (takes_param(c->scheme, o->params[i].key))
            c->extra[n++] = o->params[i];
}

/* softmax's q, k, v as bench_values_fill draws them for any scheme that takes them:
 * the same values by construction (bench_quality compares against them). */
bool bench_inputs(const bench_case *c, float **q, float **k, float **v)
{
    bench_case softmax = *c;
    softmax.scheme = "softmax";
    bench_values values = {0};
    bool ok = bench_values_fill(&softmax, false, &values) == VKA_SUCCESS;
    float **out[3] = {q, k, v};
    for (int i = 0; i < 3; i++) { /* the example's inputs are q, k, v in that order */
        *out[i] = ok ? values.data[i] : NULL;
        values.data[i] = NULL;
    }
    bench_values_free(&values);
    return ok;
}

/* An index input (a layout) as a constant of ones: every block visited. */
static vka_result add_index_constant(vka_graph *g, const vka_tensor_desc *desc, vka_tensor *out)
{
    size_t count = desc_elements(desc);
    int32_t *ones = malloc(count * sizeof *ones);
    if (!ones)
        return VKA_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < count; i++)
        ones[i] = 1;
    vka_result r = vka_graph_constant(g, desc, ones, count * sizeof *ones, out);
    free(ones);
    return r;
}

static bool has_param(const bench_case *c, const char *key)
{
    for (uint32_t i = 0; i < BENCH_MAX_PARAMS && c->extra[i].key; i++)
        if (strcmp(c->extra[i].key, key) == 0)
            return true;
    return false;
}

/* The case's parameters: causal, kernel, its own, then the example's for the rest. */
static void set_params(const bench_case *c, const vka_op_info *info, const vka_op_example *e, vka_op_desc *op)
{
    uint32_t p = 0;
    if (takes_causal(info))
        op->params[p++] = (vka_op_param){"causal", c->causal ? "1" : "0"};
    if (c->kernel)
        op->params[p++] = (vka_op_param){"kernel", c->kernel};
    for (uint32_t i = 0; i < BENCH_MAX_PARAMS && c->extra[i].key; i++)
        op->params[p++] = c->extra[i];
    uint32_t n = 0;
    for (uint32_t i = 0; i < VKA_MAX_OP_PARAMS && e->params[i].key; i++)
        if (!has_param(c, e->params[i].key))
            op->numbers[n++] = e->params[i];
}

vka_result bench_graph(vka_context *ctx, const bench_case *c, uint32_t nq, const bench_values *values, vka_graph **out)
{
    vka_op_info info;
    vka_op_example e;
    vka_graph *g = NULL;
    vka_result r = vka_op_info_named(c->scheme, &info);
    if (r == VKA_SUCCESS)
        r = case_example(c, nq, &e);
    if (r == VKA_SUCCESS)
        r = vka_graph_create(ctx, &g);
    if (r != VKA_SUCCESS)
        return r;
    vka_op_desc op = {.op = c->scheme, .dtype = bench_dtype(c)};
    for (uint32_t i = 0; r == VKA_SUCCESS && i < e.input_count; i++) {
        op.inputs[i].role = e.inputs[i].role;
        vka_example_input *in = &e.inputs[i];
        if (in->kind == VKA_INPUT_INDICES) {
            r = add_index_constant(g, &in->desc, &op.inputs[i].tensor);
            continue;
        }
        in->desc.dtype = bench_dtype(c);
        if (in->constant && values) { /* the same values at any nq: a constant has no queries */
            size_t bytes = values->bytes[i];
            void *owned;
            const void *data = in_case_dtype(c, values->data[i], &bytes, &owned);
            r = data ? vka_graph_constant(g, &in->desc, data, bytes, &op.inputs[i].tensor)
                     : VKA_ERROR_OUT_OF_HOST_MEMORY;
            free(owned);
        } else {
            r = in->constant ? VKA_ERROR_INVALID_ARGUMENT : vka_graph_input(g, &in->desc, &op.inputs[i].tensor);
        }
    }
    vka_tensor o = {0};
    if (r == VKA_SUCCESS) {
        set_params(c, &info, &e, &op);
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

/* The last `rows` of axis `axis` of x (shape d): the last rows keep the bottom-right
 * causal alignment, so a reference over them equals the full one. */
static void last_rows(const float *x, const vka_tensor_desc *d, int32_t axis, uint32_t rows, float *out)
{
    size_t outer = 1, inner = 1;
    for (int32_t i = 0; i < axis; i++)
        outer *= d->dims[i];
    for (uint32_t i = (uint32_t)axis + 1; i < d->rank; i++)
        inner *= d->dims[i];
    uint32_t n = d->dims[axis];
    for (size_t o = 0; o < outer; o++)
        memcpy(out + o * rows * inner, x + (o * n + (n - rows)) * inner, rows * inner * sizeof(float));
}

/* The reference's inputs for the last `rows` queries: sliced where an input has them, in
 * the case's type. */
static bool check_inputs(const bench_case *c, const bench_values *v, uint32_t rows, vka_host_tensor *in, void **owned,
                         uint32_t *count)
{
    *count = 0;
    for (uint32_t i = 0; i < v->example.input_count; i++) {
        const vka_example_input *e = &v->example.inputs[i];
        if (!v->data[i] || e->constant)
            continue;
        vka_host_tensor *t = &in[(*count)++];
        const float *data = v->data[i];
        size_t bytes = v->bytes[i];
        float *sliced = NULL;
        if (e->query_axis >= 0 && rows != e->desc.dims[e->query_axis]) {
            bytes = v->bytes[i] / e->desc.dims[e->query_axis] * rows;
            if (!(sliced = malloc(bytes)))
                return false;
            last_rows(v->data[i], &e->desc, e->query_axis, rows, sliced);
            data = sliced;
        }
        void *converted;
        *t = (vka_host_tensor){e->role, (void *)in_case_dtype(c, data, &bytes, &converted), bytes};
        owned[i] = converted ? converted : sliced;
        if (converted)
            free(sliced);
        if (!t->data)
            return false;
    }
    return true;
}

/* The largest |GPU − reference| over the checked rows: a few query rows where the
 * operation's rows are independent, else all of them. */
static vka_result check_error(vka_context *ctx, const bench_case *c, const bench_values *v, const float *gpu_out,
                              double *max_error)
{
    vka_op_info info;
    vka_op_info_named(c->scheme, &info);
    const vka_tensor_desc *out_desc = &v->example.output;
    int32_t axis = v->example.output_query_axis;
    uint32_t rows = c->nq < CHECK_ROWS || !info.rows_independent || axis < 0 ? c->nq : CHECK_ROWS;
    size_t sub_bytes = desc_elements(out_desc) * sizeof(float) / c->nq * rows;
    void *owned[VKA_MAX_OP_INPUTS] = {0};
    float *gpu_sub = malloc(sub_bytes), *ref = malloc(sub_bytes);
    uint16_t *ref_half = bench_dtype(c) == VKA_DTYPE_F16 ? malloc(sub_bytes / 2) : NULL;
    vka_host_tensor in[VKA_MAX_OP_INPUTS];
    uint32_t in_count = 0;
    vka_graph *g = NULL;
    bool have = gpu_sub && ref && (bench_dtype(c) == VKA_DTYPE_F32 || ref_half);
    vka_result r = have && check_inputs(c, v, rows, in, owned, &in_count) ? bench_graph(ctx, c, rows, v, &g)
                                                                          : VKA_ERROR_OUT_OF_HOST_MEMORY;
    if (r == VKA_SUCCESS) {
        if (rows == c->nq)
            memcpy(gpu_sub, gpu_out, sub_bytes);
        else
            last_rows(gpu_out, out_desc, axis, rows, gpu_sub);
        if (ref_half) { /* the f16 reference: rounded to f16 like the device's result */
            r = vka_graph_reference(g, in, in_count, (vka_host_tensor[]){{"out", ref_half, sub_bytes / 2}}, 1);
            vka_f32_from_f16(ref_half, ref, sub_bytes / sizeof(float));
        } else {
            r = vka_graph_reference(g, in, in_count, (vka_host_tensor[]){{"out", ref, sub_bytes}}, 1);
        }
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
    for (uint32_t i = 0; i < VKA_MAX_OP_INPUTS; i++)
        free(owned[i]);
    free(gpu_sub);
    free(ref);
    free(ref_half);
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
    row->min_gpu_ms = row->max_gpu_ms = gpu[0];
    for (int i = 1; i < n; i++) {
        row->min_gpu_ms = gpu[i] < row->min_gpu_ms ? gpu[i] : row->min_gpu_ms;
        row->max_gpu_ms = gpu[i] > row->max_gpu_ms ? gpu[i] : row->max_gpu_ms;
    }
    row->median_gpu_ms = median(gpu, n);
    row->median_wall_ms = median(wall, n);
    row->gflops = row->flops / (row->median_gpu_ms * 1e6);
    row->gbs = row->io_bytes / (row->median_gpu_ms * 1e6);
    row->roofline_fraction = roofline_fraction(o->roofline, row->flops, row->io_bytes, row->median_gpu_ms);
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

static vka_result run_case(vka_context *ctx, const bench_options *o, vka_plan *plan, const bench_values *values,
                           bench_row *row, float **out_copy)
{
    const bench_case *c = &row->c;
    vka_result r = VKA_SUCCESS;
    size_t out_bytes = desc_elements(&values->example.output) * sizeof(float);
    float *out = r == VKA_SUCCESS ? malloc(out_bytes) : NULL;
    if (r == VKA_SUCCESS && !out)
        r = VKA_ERROR_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; r == VKA_SUCCESS && i < values->example.input_count; i++)
        if (values->data[i] && !values->example.inputs[i].constant)
            r = cli_plan_write_f32(plan, values->example.inputs[i].role, values->data[i],
                                   values->bytes[i] / sizeof(float), bench_dtype(c));
    if (r == VKA_SUCCESS)
        r = time_runs(plan, o, row);
    vka_plan_stats stats;
    vka_plan_stats_get(plan, &stats);
    if (r == VKA_SUCCESS && stats.state_bytes > 0 && (r = vka_plan_reset_states(plan)) == VKA_SUCCESS)
        r = vka_plan_run(plan); /* the runs folded into persistent states: the output of a first run */
    if (r == VKA_SUCCESS)
        r = cli_plan_read_f32(plan, "out", out, out_bytes / sizeof *out, bench_dtype(c));
    row->ran = r == VKA_SUCCESS;
    if (r == VKA_SUCCESS && !o->no_check)
        r = check_error(ctx, c, values, out, &row->max_abs_error);
    if (r == VKA_SUCCESS && out_copy) {
        *out_copy = out;
        out = NULL;
    }
    free(out);
    return r;
}

/* Appends text to buf (of size bytes, `used` taken) as printf would, never past its end. */
/* The op's parameters as it resolved them (provenance.h), so a result row says exactly
 * what ran. */
static void record_params(const vka_graph *g, bench_row *row)
{
    vka_tensor out;
    row->params_json[0] = '\0';
    if (vka_graph_find(g, "out", &out) == VKA_SUCCESS)
        provenance_params_json(g, out, row->params_json, sizeof row->params_json);
}

static double tensor_bytes(const vka_tensor_desc *d)
{
    double n = d->dtype == VKA_DTYPE_F16 ? 2 : 4;
    for (uint32_t i = 0; i < d->rank; i++)
        n *= d->dims[i];
    return n;
}

/* The bytes of the case's inputs and output as stored: what any run must move at least. */
static double io_bytes(const bench_case *c, const vka_graph *g)
{
    vka_op_example e;
    vka_tensor out;
    vka_tensor_desc d;
    double bytes = 0;
    if (case_example(c, c->nq, &e) == VKA_SUCCESS)
        for (uint32_t i = 0; i < e.input_count; i++) {
            d = e.inputs[i].desc;
            d.dtype = e.inputs[i].kind == VKA_INPUT_INDICES ? VKA_DTYPE_I32 : bench_dtype(c);
            bytes += tensor_bytes(&d);
        }
    if (vka_graph_find(g, "out", &out) == VKA_SUCCESS && vka_graph_tensor_desc(g, out, &d) == VKA_SUCCESS)
        bytes += tensor_bytes(&d);
    return bytes;
}

vka_result bench_measure(vka_context *ctx, const bench_options *o, bool memory_only, bench_row *row, float **out_copy)
{
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    memory_only = memory_only || o->memory_only;
    bench_values values = {0};
    vka_result r = bench_values_fill(&row->c, memory_only, &values);
    if (r != VKA_SUCCESS) { /* an unknown scheme, sizes its inputs cannot take, or no host memory */
        snprintf(row->note, sizeof row->note, "failed: %s cannot be posed on these sizes (%s)", row->c.scheme,
                 vka_result_string(r));
        bench_values_free(&values);
        return r;
    }
    r = bench_graph(ctx, &row->c, row->c.nq, &values, &g);
    if (r == VKA_SUCCESS) {
        row->flops = vka_graph_flops(g);
        row->io_bytes = io_bytes(&row->c, g);
        record_params(g, row);
        r = vka_plan_create(g, &(vka_plan_desc){.memory_only = memory_only}, &plan);
    }
    if (r == VKA_SUCCESS) {
        record_plan_stats(plan, row);
        if (!memory_only)
            r = run_case(ctx, o, plan, &values, row, out_copy);
    }
    if (r != VKA_SUCCESS)
        snprintf(row->note, sizeof row->note, "failed: %s", vka_last_error(ctx));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    bench_values_free(&values);
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
    printf("%-9s %-13s %5s %2s %5s %6s %6s %4s %6s %11s %9s %8s %6s %10s %5s %10s %9s %9s\n", "scheme", "kernel",
           "dtype", "B", "H", "Nq", "Nk", "D", "causal", "gpu_ms(med)", "GFLOP/s", "GB/s", "roof%", "peak_MiB", "disp",
           "max_err", "plan_ms", "1st_ms");
}

void bench_print_row(const bench_row *r)
{
    const bench_case *c = &r->c;
    char heads[24]; /* "32:8": 32 query heads on 8 k/v heads */
    if (c->kv_heads && c->kv_heads != c->heads)
        snprintf(heads, sizeof heads, "%u:%u", c->heads, c->kv_heads);
    else
        snprintf(heads, sizeof heads, "%u", c->heads);
    printf("%-9s %-13s %5s %2u %5s %6u %6u %4u %6s ", c->scheme, c->kernel ? c->kernel : "-", bench_dtype_name(c),
           c->batch, heads, c->nq, c->nk, c->d, c->causal ? "yes" : "no");
    if (r->ran)
        printf("%11.3f %9.3f %8.2f ", r->median_gpu_ms, r->gflops, r->gbs);
    else
        printf("%11s %9s %8s ", "-", "-", "-");
    if (r->ran && !isnan(r->roofline_fraction))
        printf("%6.1f ", 100.0 * r->roofline_fraction);
    else
        printf("%6s ", "-");
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

/* What the op resolved (bench_measure), else the parameters the case gave. */
static void write_params_json(FILE *f, const bench_row *r)
{
    const bench_case *c = &r->c;
    if (r->params_json[0]) {
        fputs(r->params_json, f);
        return;
    }
    fputc('{', f);
    for (uint32_t i = 0; i < BENCH_MAX_PARAMS && c->extra[i].key; i++) {
        fprintf(f, "%s", i ? "," : "");
        cli_json_string(f, c->extra[i].key);
        fputc(':', f);
        cli_json_string(f, c->extra[i].value);
    }
    fputc('}', f);
}

static void write_number_or_null(FILE *f, double value, const char *format)
{
    if (isfinite(value))
        fprintf(f, format, value);
    else
        fprintf(f, "null");
}

static void write_json(FILE *f, const bench_options *o, const bench_row *rows, uint32_t n, const vka_device_info *info)
{
    fprintf(f, "[\n");
    for (uint32_t i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        const bench_case *c = &r->c;
        fprintf(f,
                "  {\"scheme\":\"%s\",\"kernel\":\"%s\",\"dtype\":\"%s\",\"batch\":%u,\"heads\":%u,\"kv_heads\":%u,"
                "\"nq\":%u,\"nk\":%u,\"d\":%u,\"causal\":%s,\"params\":",
                c->scheme, c->kernel ? c->kernel : "", bench_dtype_name(c), c->batch, c->heads,
                c->kv_heads ? c->kv_heads : c->heads, c->nq, c->nk, c->d, c->causal ? "true" : "false");
        write_params_json(f, r);
        fprintf(f,
                ",\"ran\":%s,\"reps\":%d,\"median_gpu_ms\":%.6f,\"min_gpu_ms\":%.6f,\"max_gpu_ms\":%.6f,"
                "\"median_wall_ms\":%.6f,\"gflops\":%.6f,\"flops\":%.0f,\"io_bytes\":%.0f,\"gbs\":%.6f,"
                "\"roofline_fraction\":",
                r->ran ? "true" : "false", r->reps, r->median_gpu_ms, r->min_gpu_ms, r->max_gpu_ms, r->median_wall_ms,
                r->gflops, r->flops, r->io_bytes, r->gbs);
        write_number_or_null(f, r->ran && o->roofline ? r->roofline_fraction : NAN, "%.6f");
        fprintf(f,
                ",\"peak_device_bytes_mib\":%.6f,\"dispatches\":%u,\"plan_ms\":%.3f,\"pipeline_create_ms\":%.3f,"
                "\"first_run_ms\":%.3f,\"max_abs_error\":",
                r->peak_mib, r->dispatches, r->plan_ms, r->pipeline_ms, r->first_run_ms);
        write_number_or_null(f, r->ran ? r->max_abs_error : NAN, "%.6e");
        fprintf(f, ",");
        provenance_write_json(f, info);
        if (o->roofline) {
            fprintf(f, ",\"roofline\":");
            roofline_write_json(f, o->roofline);
        }
        fprintf(f, "}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, "]\n");
}

static void write_csv(FILE *f, const bench_options *o, const bench_row *rows, uint32_t n, const vka_device_info *info)
{
    fprintf(f, "scheme,kernel,dtype,batch,heads,kv_heads,nq,nk,d,causal,ran,reps,median_gpu_ms,min_gpu_ms,max_gpu_ms,"
               "gflops,gbs,roofline_fraction,peak_device_mib,dispatches,max_abs_error,plan_ms,pipeline_create_ms,"
               "subgroup_size,shared_memory_bytes,fp16_storage,fp16_arithmetic," PROVENANCE_CSV_HEADER "\n");
    for (uint32_t i = 0; i < n; i++) {
        const bench_row *r = &rows[i];
        const bench_case *c = &r->c;
        fprintf(f, "%s,%s,%s,%u,%u,%u,%u,%u,%u,%d,%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%u,%.6e,%.3f,%.3f,",
                c->scheme, c->kernel ? c->kernel : "", bench_dtype_name(c), c->batch, c->heads,
                c->kv_heads ? c->kv_heads : c->heads, c->nq, c->nk, c->d, c->causal, r->ran, r->reps, r->median_gpu_ms,
                r->min_gpu_ms, r->max_gpu_ms, r->gflops, r->gbs, o->roofline ? r->roofline_fraction : NAN, r->peak_mib,
                r->dispatches, r->max_abs_error, r->plan_ms, r->pipeline_ms);
        fprintf(f, "%u,%u,%d,%d,", info->subgroup_size, info->limits.max_shared_memory_bytes,
                info->storage_buffer_16bit, info->shader_float16);
        provenance_write_csv(f, info);
        fputc('\n', f);
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
        (i == 0 ? write_json : write_csv)(f, o, rows, n, info);
        if (fclose(f) != 0)
            return cli_fail("cannot write %s", paths[i]);
    }
    return 0;
}
