#include "roofline.h"
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The fma probe runs one invocation per vec4 of x: 2^20 of them fill the largest GPUs
 * (an H100 holds 270k resident invocations), 2^16 a CPU's SIMD lanes; it starts at 256
 * steps (so arithmetic, not x's bytes, sets the time) and scales them to the target time.
 * The bandwidth probe's operands are 32 MiB, far past any cache, within every device's
 * maxStorageBufferRange (128 MiB at least). */
#define FMA_ROWS_GPU 16384
#define FMA_ROWS_CPU 1024
#define FMA_WIDTH 256
#define FMA_FIRST_STEPS 256
#define FMA_MIN_STEPS 64
#define COPY_ROWS 8192
#define COPY_WIDTH 1024
#define MAX_REPS 32

typedef struct probe {
    const char *op;
    vka_op_param params[3];
    uint32_t rows, width;
    bool binary; /* `add`: inputs a and b; else `fma_peak`: x */
} probe;

/* A one-operation graph over [rows, width] f32 operands, planned; its inputs written. */
static vka_result plan_probe(vka_context *ctx, const probe *p, const float *data, vka_plan **out)
{
    vka_graph *g = NULL;
    vka_tensor a = {0}, b = {0}, o = {0};
    vka_tensor_desc desc = {.name = p->binary ? "a" : "x", .rank = 2, .dims = {p->rows, p->width}};
    vka_result r = vka_graph_create(ctx, &g);
    if (r == VKA_SUCCESS)
        r = vka_graph_input(g, &desc, &a);
    if (r == VKA_SUCCESS && p->binary) {
        desc.name = "b";
        r = vka_graph_input(g, &desc, &b);
    }
    vka_op_desc op = {.op = p->op, .inputs = {{p->binary ? "a" : "x", a}, {p->binary ? "b" : NULL, b}}};
    memcpy(op.params, p->params, sizeof p->params);
    if (r == VKA_SUCCESS)
        r = vka_graph_op(g, &op, &o);
    if (r == VKA_SUCCESS)
        r = vka_graph_output(g, "out", o);
    if (r == VKA_SUCCESS)
        r = vka_plan_create(g, &(vka_plan_desc){0}, out);
    vka_graph_destroy(g);
    size_t bytes = (size_t)p->rows * p->width * sizeof(float);
    if (r == VKA_SUCCESS)
        r = vka_plan_write(*out, p->binary ? "a" : "x", data, bytes);
    if (r == VKA_SUCCESS && p->binary)
        r = vka_plan_write(*out, "b", data, bytes);
    return r;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs the plan `reps` times; the median GPU time (wall time where there are no
 * timestamps). */
static vka_result median_ms(vka_plan *plan, int reps, double *out)
{
    double ms[MAX_REPS];
    for (int i = 0; i < reps; i++) {
        vka_result r = vka_plan_run(plan);
        if (r != VKA_SUCCESS)
            return r;
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        ms[i] = s.last_run_gpu_ms >= 0 ? s.last_run_gpu_ms : s.last_run_wall_ms;
    }
    qsort(ms, (size_t)reps, sizeof *ms, by_value);
    *out = ms[reps / 2];
    return VKA_SUCCESS;
}

/* Whether every output is the probe's closed form: the fma chains' x·(1 − 0.4375·2^−n),
 * or the add's 2x (b = a). */
static bool output_is_right(vka_plan *plan, const probe *p, const float *data, uint32_t iterations, double tolerance)
{
    size_t n = (size_t)p->rows * p->width;
    float *out = malloc(n * sizeof *out);
    bool right = out && vka_plan_read(plan, "out", out, n * sizeof *out) == VKA_SUCCESS;
    double factor = p->binary ? 2.0 : 1.0 - 0.4375 * ldexp(1.0, -(int)iterations);
    for (size_t i = 0; right && i < n; i++)
        right = fabs(out[i] - data[i] * factor) <= tolerance * (1.0 + fabs(data[i]));
    free(out);
    return right;
}

/* Times the fma probe: a short calibration run, then `iterations` scaled so one run takes
 * about target_ms. The rate in GFLOP/s (0 with *refused set where the device has no f16
 * arithmetic). */
static vka_result measure_fma(vka_context *ctx, uint32_t rows, const char *precision, const float *data,
                              double target_ms, int reps, double *gflops, uint32_t *iterations, bool *wrong)
{
    char text[16];
    uint32_t steps = FMA_FIRST_STEPS;
    vka_result r = VKA_SUCCESS;
    for (int pass = 0; pass < 2 && r == VKA_SUCCESS; pass++) {
        snprintf(text, sizeof text, "%u", steps);
        probe p = {"fma_peak", {{"iterations", text}, {"precision", precision}}, rows, FMA_WIDTH, false};
        vka_plan *plan = NULL;
        double ms = 0;
        r = plan_probe(ctx, &p, data, &plan);
        if (r == VKA_SUCCESS)
            r = vka_plan_run(plan); /* a lazy driver compiles its pipelines now */
        if (r == VKA_SUCCESS)
            r = median_ms(plan, pass == 0 ? 1 : reps, &ms);
        if (r == VKA_SUCCESS && pass == 1) {
            *wrong = !output_is_right(plan, &p, data, steps, strcmp(precision, "f16") == 0 ? 4e-3 : 1e-5);
            *gflops = 2.0 * 4 * 8 * steps * (rows * (FMA_WIDTH / 4)) / (ms * 1e6);
            *iterations = steps;
        }
        vka_plan_destroy(plan);
        double scaled = steps * target_ms / (ms > 1e-3 ? ms : 1e-3);
        steps = (uint32_t)fmin(fmax(scaled, FMA_MIN_STEPS), 16384.0);
    }
    return r;
}

static vka_result measure_bandwidth(vka_context *ctx, const float *data, int reps, double *gbs, uint64_t *bytes,
                                    bool *wrong)
{
    probe p = {"add", {{0}}, COPY_ROWS, COPY_WIDTH, true};
    vka_plan *plan = NULL;
    double ms = 0;
    vka_result r = plan_probe(ctx, &p, data, &plan);
    if (r == VKA_SUCCESS)
        r = vka_plan_run(plan);
    if (r == VKA_SUCCESS)
        r = median_ms(plan, reps, &ms);
    if (r == VKA_SUCCESS) {
        *wrong = !output_is_right(plan, &p, data, 0, 1e-6);
        *bytes = 3ull * COPY_ROWS * COPY_WIDTH * sizeof(float);
        *gbs = (double)*bytes / (ms * 1e6);
    }
    vka_plan_destroy(plan);
    return r;
}

int roofline_measure(vka_context *ctx, double target_ms, int reps, roofline *out)
{
    *out = (roofline){.source = "measured"};
    reps = reps < 1 ? 1 : reps > MAX_REPS ? MAX_REPS : reps;
    size_t n = (size_t)COPY_ROWS * COPY_WIDTH; /* the larger of the two probes' operands */
    float *data = malloc(n * sizeof *data);
    if (!data)
        return cli_fail("roofline: out of host memory");
    for (size_t i = 0; i < n; i++) /* values in [1, 2): no denormals, no cancellation */
        data[i] = 1.0f + (float)((i * 2654435761u) % 1024u) / 1024.0f;
    bool wrong = false;
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    uint32_t rows = info.kernel_class == VKA_KERNEL_CLASS_CPU ? FMA_ROWS_CPU : FMA_ROWS_GPU;
    const char *doing = "the f32 multiply-add probe";
    vka_result r = measure_fma(ctx, rows, "f32", data, target_ms, reps, &out->f32_gflops, &out->f32_iterations, &wrong);
    if (r == VKA_SUCCESS && !wrong && info.shader_float16) {
        doing = "the f16 multiply-add probe";
        r = measure_fma(ctx, rows, "f16", data, target_ms, reps, &out->f16_gflops, &out->f16_iterations, &wrong);
    }
    if (r == VKA_SUCCESS && !wrong) {
        doing = "the bandwidth probe";
        r = measure_bandwidth(ctx, data, reps, &out->bandwidth_gbs, &out->bandwidth_bytes, &wrong);
    }
    free(data);
    if (r != VKA_SUCCESS)
        return cli_fail_result(ctx, r, doing);
    if (wrong)
        return cli_fail("roofline: %s computed wrong values on this device; no ceiling from it", doing);
    return 0;
}

void roofline_write_json(FILE *f, const roofline *r)
{
    fprintf(f,
            "{\"f32_gflops\":%.3f,\"f16_gflops\":%.3f,\"bandwidth_gbs\":%.3f,\"f32_iterations\":%u,"
            "\"f16_iterations\":%u,\"bandwidth_bytes\":%llu,\"source\":",
            r->f32_gflops, r->f16_gflops, r->bandwidth_gbs, r->f32_iterations, r->f16_iterations,
            (unsigned long long)r->bandwidth_bytes);
    cli_json_string(f, r->source);
    fprintf(f, "}");
}

static double number_of(const json_value *object, const char *key)
{
    const json_value *v = json_member(object, key);
    return v && v->type == JSON_NUMBER ? v->number : 0.0;
}

/* The roofline object in a document: the top level's `roofline`, or the first row's. */
static const json_value *find_roofline(const json_value *doc)
{
    if (doc->type == JSON_ARRAY && doc->count > 0)
        doc = &doc->items[0];
    return doc->type == JSON_OBJECT ? json_member(doc, "roofline") : NULL;
}

int roofline_load(const char *path, roofline *out)
{
    size_t length = 0;
    char *text = cli_read_file(path, &length);
    if (!text)
        return cli_fail("cannot read %s", path);
    char error[256];
    json_value *doc = json_parse(text, length, error, sizeof error);
    free(text);
    if (!doc)
        return cli_fail("%s: %s", path, error);
    const json_value *r = find_roofline(doc);
    if (r && r->type == JSON_OBJECT) {
        *out = (roofline){.f32_gflops = number_of(r, "f32_gflops"),
                          .f16_gflops = number_of(r, "f16_gflops"),
                          .bandwidth_gbs = number_of(r, "bandwidth_gbs"),
                          .f32_iterations = (uint32_t)number_of(r, "f32_iterations"),
                          .f16_iterations = (uint32_t)number_of(r, "f16_iterations"),
                          .bandwidth_bytes = (uint64_t)number_of(r, "bandwidth_bytes")};
        snprintf(out->source, sizeof out->source, "%s", path);
    }
    json_free(doc);
    if (!r || out->f32_gflops <= 0 || out->bandwidth_gbs <= 0)
        return cli_fail("%s holds no roofline (an object \"roofline\" with f32_gflops and bandwidth_gbs > 0: "
                        "vkattn roofline --json FILE writes one)",
                        path);
    return 0;
}

double roofline_fraction(const roofline *r, double flops, double bytes, double ms)
{
    if (!r || ms <= 0 || r->f32_gflops <= 0)
        return NAN;
    double ceiling = r->f32_gflops; /* GFLOP/s: the kernels compute in f32 whatever they store */
    if (bytes > 0 && r->bandwidth_gbs > 0)
        ceiling = fmin(ceiling, flops / bytes * r->bandwidth_gbs);
    return ceiling > 0 ? flops / (ms * 1e6) / ceiling : NAN;
}
