/* `te_attention` (translation-equivariant attention, SCHEMES.md §11) against the
 * double-precision reference (engine/ref/te_attention.c): the TETNP shape, odd shapes
 * (heads, head widths, location dimensions and hidden sizes that are not multiples of 4,
 * no biases), key chunks (split-K) forced small, one query and one key; the flash and
 * materialised kernels agree; shifting every location changes nothing; the flash plan
 * holds nothing of size Nq·Nk; bad inputs are refused with messages that name them.
 * Both kernel classes, validation on. Under a clamp with fewer than 7 storage buffers per
 * stage (android-2021, vulkan-1.0-min: 4) the packed variants run (query and key rows
 * packed side by side first) and must give the same results. */
#define _POSIX_C_SOURCE 200809L /* getpid, mkdir */
#include "harness.h"
#include "vkattn/io.h"

#include <sys/stat.h>
#include <unistd.h>

static vka_context *contexts[2]; /* CPU class, GPU class */

typedef struct te_case {
    uint32_t batch, nq, nk, heads, dh, dv, dx, hidden1, hidden2;
    bool no_bias;
    const char *kernel, *chunk;
    uint64_t seed;
} te_case;

enum { INPUTS = 5, WEIGHTS = 6 };
static const char *const input_names[INPUTS] = {"q", "k", "v", "xq", "xk"};
static const char *const weight_names[WEIGHTS] = {"fc1", "fc2", "fc3", "fc1_bias", "fc2_bias", "fc3_bias"};

typedef struct te_data {
    float *in[INPUTS], *w[WEIGHTS];
    size_t in_count[INPUTS], w_count[WEIGHTS], out_count;
    uint32_t in_dims[INPUTS][3], w_dims[WEIGHTS][2];
} te_data;

static void te_data_make(const te_case *c, te_data *d)
{
    uint32_t qk = c->heads * c->dh, vw = c->heads * c->dv;
    uint32_t dims[INPUTS][3] = {{c->batch, c->nq, qk},
                                {c->batch, c->nk, qk},
                                {c->batch, c->nk, vw},
                                {c->batch, c->nq, c->dx},
                                {c->batch, c->nk, c->dx}};
    uint32_t wd[WEIGHTS][2] = {{c->hidden1, c->dx + c->heads},
                               {c->hidden2, c->hidden1},
                               {c->heads, c->hidden2},
                               {c->hidden1, 1},
                               {c->hidden2, 1},
                               {c->heads, 1}};
    test_seed(c->seed);
    for (int i = 0; i < INPUTS; i++) {
        memcpy(d->in_dims[i], dims[i], sizeof dims[i]);
        d->in_count[i] = (size_t)dims[i][0] * dims[i][1] * dims[i][2];
        d->in[i] = malloc(d->in_count[i] * sizeof(float));
        test_fill_normal(d->in[i], d->in_count[i], i >= 3 ? 1.5f : 1.0f);
    }
    for (int i = 0; i < WEIGHTS; i++) {
        memcpy(d->w_dims[i], wd[i], sizeof wd[i]);
        d->w_count[i] = (size_t)wd[i][0] * wd[i][1];
        d->w[i] = malloc(d->w_count[i] * sizeof(float));
        test_fill_normal(d->w[i], d->w_count[i], i < 3 ? 1.0f / sqrtf((float)wd[i][1]) : 0.1f);
    }
    d->out_count = (size_t)c->batch * c->nq * vw;
}

static void te_data_free(te_data *d)
{
    for (int i = 0; i < INPUTS; i++)
        free(d->in[i]);
    for (int i = 0; i < WEIGHTS; i++)
        free(d->w[i]);
}

/* q, k, v, xq, xk as inputs, the MLP as constants (or inputs: weights_as_inputs). */
static vka_graph *te_graph(vka_context *ctx, const te_case *c, const te_data *d, bool weights_as_inputs)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    vka_op_desc op = {.op = "te_attention", .params = {{"kernel", c->kernel ? c->kernel : "flash"}}};
    if (c->chunk)
        op.params[1] = (vka_op_param){"chunk", c->chunk};
    bool ok = true;
    uint32_t n = 0;
    for (int i = 0; i < INPUTS && ok; i++, n++) {
        op.inputs[n].role = input_names[i];
        vka_tensor_desc t = {.name = input_names[i], .rank = 3};
        memcpy(t.dims, d->in_dims[i], sizeof d->in_dims[i]);
        ok = vka_graph_input(g, &t, &op.inputs[n].tensor) == VKA_SUCCESS;
    }
    for (int i = 0; i < WEIGHTS && ok; i++) {
        if (i >= 3 && c->no_bias)
            continue;
        vka_tensor_desc t = {
            .name = weight_names[i], .rank = i < 3 ? 2 : 1, .dims = {d->w_dims[i][0], d->w_dims[i][1]}};
        op.inputs[n].role = weight_names[i];
        ok = (weights_as_inputs
                  ? vka_graph_input(g, &t, &op.inputs[n].tensor)
                  : vka_graph_constant(g, &t, d->w[i], d->w_count[i] * 4, &op.inputs[n].tensor)) == VKA_SUCCESS;
        n++;
    }
    vka_tensor out;
    ok = ok && vka_graph_op(g, &op, &out) == VKA_SUCCESS && vka_graph_output(g, "out", out) == VKA_SUCCESS;
    if (!ok) {
        CHECK_MSG(0, "te graph: %s", vka_last_error(ctx));
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static bool te_reference(vka_context *ctx, const te_case *c, const te_data *d, float *out)
{
    vka_graph *g = te_graph(ctx, c, d, false);
    vka_host_tensor in[INPUTS], o = {"out", out, d->out_count * 4};
    for (int i = 0; i < INPUTS; i++)
        in[i] = (vka_host_tensor){input_names[i], d->in[i], d->in_count[i] * 4};
    vka_result r = g ? vka_graph_reference(g, in, INPUTS, &o, 1) : VKA_ERROR_INVALID_ARGUMENT;
    CHECK_MSG(r == VKA_SUCCESS, "reference: %s", vka_last_error(ctx));
    vka_graph_destroy(g);
    return r == VKA_SUCCESS;
}

static bool clamped(void)
{
    const char *l = getenv("VKATTN_LIMITS");
    return l && (strcmp(l, "android-2021") == 0 || strcmp(l, "vulkan-1.0-min") == 0);
}

/* Whether the plan's pair kernels are the packed variants (4 storage buffers). */
static bool uses_packed_kernels(const vka_plan *plan)
{
    vka_plan_stats s = {0};
    vka_plan_stats_get(plan, &s);
    bool packed = false;
    for (uint32_t i = 0; i < s.dispatch_count; i++) {
        vka_dispatch_info info;
        if (vka_plan_dispatch_at(plan, i, &info) == VKA_SUCCESS)
            packed = packed || strstr(info.kernel, "_packed") != NULL;
    }
    return packed;
}

/* Plans, writes, runs, reads into out. */
static vka_result te_run(vka_context *ctx, const te_case *c, const te_data *d, float *out)
{
    vka_graph *g = te_graph(ctx, c, d, false);
    vka_plan *plan = NULL;
    vka_result r = g ? vka_plan_create(g, &(vka_plan_desc){0}, &plan) : VKA_ERROR_INVALID_ARGUMENT;
    if (r == VKA_SUCCESS)
        CHECK_MSG(uses_packed_kernels(plan) == clamped(), "the packed kernels run exactly under a 4-buffer clamp");
    for (int i = 0; i < INPUTS && r == VKA_SUCCESS; i++)
        r = vka_plan_write(plan, input_names[i], d->in[i], d->in_count[i] * 4);
    if (r == VKA_SUCCESS)
        r = vka_plan_run(plan);
    if (r == VKA_SUCCESS)
        r = vka_plan_read(plan, "out", out, d->out_count * 4);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return r;
}

static void check(const te_case *c)
{
    if (!test_class_contexts(contexts))
        return;
    te_data d = {0};
    te_data_make(c, &d);
    float *expected = malloc(d.out_count * 4), *got = malloc(d.out_count * 4);
    if (te_reference(contexts[0], c, &d, expected))
        for (int cls = 0; cls < 2; cls++) {
            char label[200];
            snprintf(label, sizeof label, "te B%u Nq%u Nk%u H%u dh%u dv%u dx%u hidden %u,%u %s chunk=%s %s", c->batch,
                     c->nq, c->nk, c->heads, c->dh, c->dv, c->dx, c->hidden1, c->hidden2,
                     c->kernel ? c->kernel : "flash", c->chunk ? c->chunk : "auto", cls ? "gpu" : "cpu");
            vka_result r = te_run(contexts[cls], c, &d, got);
            CHECK_MSG(r == VKA_SUCCESS, "%s: %s", label, vka_last_error(contexts[cls]));
            if (r == VKA_SUCCESS)
                CHECK_MSG(test_close(label, got, expected, d.out_count, 2e-5, 2e-4), "%s", label);
            test_check_validation(contexts[cls]);
        }
    free(expected);
    free(got);
    te_data_free(&d);
}

/* TETNP's attention: 8 heads of 16, 2-D locations, the kernel MLP 10 → 128 → 128 → 8. */
static const te_case tetnp = {
    .batch = 2, .nq = 19, .nk = 37, .heads = 8, .dh = 16, .dv = 16, .dx = 2, .hidden1 = 128, .hidden2 = 128, .seed = 1};

static void tetnp_shape(void)
{
    te_case c = tetnp;
    check(&c);
    c.kernel = "materialized";
    check(&c);
}

static void odd_shapes(void)
{
    check(&(te_case){.batch = 1,
                     .nq = 5,
                     .nk = 300,
                     .heads = 3,
                     .dh = 5,
                     .dv = 7,
                     .dx = 3,
                     .hidden1 = 20,
                     .hidden2 = 12,
                     .no_bias = true,
                     .seed = 2});
    check(&(te_case){
        .batch = 3, .nq = 1, .nk = 1, .heads = 1, .dh = 1, .dv = 1, .dx = 1, .hidden1 = 1, .hidden2 = 1, .seed = 3});
    check(&(te_case){.batch = 2,
                     .nq = 33,
                     .nk = 9,
                     .heads = 5,
                     .dh = 4,
                     .dv = 8,
                     .dx = 5,
                     .hidden1 = 9,
                     .hidden2 = 6,
                     .kernel = "materialized",
                     .seed = 4});
}

/* Key chunks merged by te_combine: 7 keys each (15 chunks), and one key each. */
static void key_chunks(void)
{
    check(&(te_case){.batch = 2,
                     .nq = 10,
                     .nk = 100,
                     .heads = 8,
                     .dh = 16,
                     .dv = 16,
                     .dx = 2,
                     .hidden1 = 32,
                     .hidden2 = 32,
                     .chunk = "7",
                     .seed = 5});
    check(&(te_case){.batch = 1,
                     .nq = 3,
                     .nk = 5,
                     .heads = 2,
                     .dh = 3,
                     .dv = 5,
                     .dx = 2,
                     .hidden1 = 8,
                     .hidden2 = 8,
                     .chunk = "1",
                     .seed = 6});
}

/* flash and materialized on the same data, and the output under a common shift of every
 * location (the logits see only differences: equal up to f32 rounding of x − x'). */
static void flash_materialized_shift(void)
{
    if (!test_class_contexts(contexts))
        return;
    te_case c = {.batch = 2,
                 .nq = 40,
                 .nk = 70,
                 .heads = 8,
                 .dh = 16,
                 .dv = 16,
                 .dx = 2,
                 .hidden1 = 64,
                 .hidden2 = 64,
                 .seed = 7};
    te_data d = {0};
    te_data_make(&c, &d);
    float *flash = malloc(d.out_count * 4), *mat = malloc(d.out_count * 4), *shifted = malloc(d.out_count * 4);
    te_case m = c;
    m.kernel = "materialized";
    CHECK_OK(contexts[0], te_run(contexts[0], &c, &d, flash));
    CHECK_OK(contexts[0], te_run(contexts[0], &m, &d, mat));
    CHECK(test_close("te flash vs materialized", flash, mat, d.out_count, 1e-5, 1e-4));
    for (int t = 3; t < 5; t++)
        for (size_t i = 0; i < d.in_count[t]; i++)
            d.in[t][i] += (i % c.dx) ? -1.25f : 3.5f; /* exact in f32 for |x| < 2^20 */
    CHECK_OK(contexts[0], te_run(contexts[0], &c, &d, shifted));
    CHECK(test_close("te under a shift of every location", shifted, flash, d.out_count, 1e-5, 1e-4));
    test_check_validation(contexts[0]);
    free(flash);
    free(mat);
    free(shifted);
    te_data_free(&d);
}

/* Planned, not run. Flash at Nq = Nk = 5000: nothing of size Nq·Nk (100 MB). Materialized
 * holds the H·Nq·Nk logits: at 1000 that is 32 MB; at 5000 one batch's 763 MiB exceed what
 * one binding can see, refused by name. */
static void flash_memory(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const struct {
        uint32_t n;
        const char *kernel;
    } plans[] = {{5000, "flash"}, {1000, "materialized"}, {5000, "materialized"}};
    for (size_t i = 0; i < sizeof plans / sizeof *plans; i++) {
        te_case c = tetnp;
        c.batch = 1, c.nq = c.nk = plans[i].n, c.kernel = plans[i].kernel;
        te_data d = {0};
        te_data_make(&c, &d);
        vka_graph *g = te_graph(contexts[0], &c, &d, false);
        vka_plan *plan = NULL;
        vka_plan_stats s = {0};
        vka_result r =
            g ? vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan) : VKA_ERROR_INVALID_ARGUMENT;
        uint64_t pairs_bytes = 4ull * c.nq * c.nk;
        if (i == 2)
            CHECK_MSG(r == VKA_ERROR_LIMIT_EXCEEDED && strstr(vka_last_error(contexts[0]), "maxStorageBufferRange"),
                      "materialized at 5000: %s", vka_last_error(contexts[0]));
        else {
            CHECK_OK(contexts[0], r);
            CHECK_OK(contexts[0], vka_plan_stats_get(plan, &s));
        }
        if (i == 0)
            CHECK_MSG(s.peak_device_bytes < pairs_bytes / 4, "flash peak %llu bytes at 5000×5000",
                      (unsigned long long)s.peak_device_bytes);
        if (i == 1)
            CHECK_MSG(s.peak_device_bytes >= 8 * pairs_bytes, "materialized holds the logits: %llu bytes",
                      (unsigned long long)s.peak_device_bytes);
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
        te_data_free(&d);
    }
}

static vka_result build_op(vka_context *ctx, const te_case *c, const te_data *d, const char *heads, vka_tensor *out)
{
    vka_graph *g = te_graph(ctx, c, d, false);
    if (!g)
        return VKA_ERROR_INVALID_ARGUMENT;
    /* the same op again, with `heads` */
    vka_op_desc op = {.op = "te_attention", .params = {{"heads", heads}}};
    vka_result r = VKA_SUCCESS;
    for (int i = 0; i < INPUTS + WEIGHTS && r == VKA_SUCCESS; i++) {
        op.inputs[i].role = i < INPUTS ? input_names[i] : weight_names[i - INPUTS];
        vka_tensor t = {0};
        for (uint32_t id = 1; id < 64 && !t.id; id++) {
            vka_tensor_desc td;
            if (vka_graph_tensor_desc(g, (vka_tensor){id}, &td) == VKA_SUCCESS && td.name &&
                strcmp(td.name, op.inputs[i].role) == 0)
                t.id = id;
        }
        op.inputs[i].tensor = t;
    }
    r = vka_graph_op(g, &op, out);
    vka_graph_destroy(g);
    return r;
}

static void bad_inputs(void)
{
    if (!test_class_contexts(contexts))
        return;
    vka_context *ctx = contexts[0];
    te_case c = {
        .batch = 1, .nq = 4, .nk = 6, .heads = 2, .dh = 4, .dv = 4, .dx = 2, .hidden1 = 8, .hidden2 = 8, .seed = 9};
    te_data d = {0};
    te_data_make(&c, &d);
    vka_tensor out;
    CHECK(build_op(ctx, &c, &d, "3", &out) == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "heads=3"));
    /* fc1 taking the wrong number of inputs */
    d.w_dims[0][1] = 5;
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_op_desc op = {.op = "te_attention"};
    for (int i = 0; i < INPUTS + 3; i++) {
        op.inputs[i].role = i < INPUTS ? input_names[i] : weight_names[i - INPUTS];
        vka_tensor_desc t = {.name = op.inputs[i].role, .rank = i < INPUTS ? 3 : 2};
        memcpy(t.dims, i < INPUTS ? d.in_dims[i] : d.w_dims[i - INPUTS], (i < INPUTS ? 3 : 2) * 4);
        CHECK_OK(ctx, vka_graph_input(g, &t, &op.inputs[i].tensor));
    }
    CHECK(vka_graph_op(g, &op, &out) == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "fc1 takes 5"));
    vka_graph_destroy(g);
    d.w_dims[0][1] = 4;
    /* the MLP as graph inputs: refused at plan time */
    g = te_graph(ctx, &c, &d, true);
    vka_plan *plan = NULL;
    if (g) {
        CHECK(vka_plan_create(g, &(vka_plan_desc){0}, &plan) == VKA_ERROR_UNSUPPORTED &&
              strstr(vka_last_error(ctx), "graph constant"));
        vka_plan_destroy(plan);
    }
    vka_graph_destroy(g);
    test_check_validation(ctx);
    te_data_free(&d);
}

/* `vkattn run te_attention` from .npy files: the MLP's files become graph constants, the
 * tool's own keys leave the op's `chunk` alone; the output equals the double reference. */
static void runs_from_files(void)
{
    if (!test_class_contexts(contexts))
        return;
    te_case c = {
        .batch = 1, .nq = 6, .nk = 11, .heads = 2, .dh = 3, .dv = 5, .dx = 2, .hidden1 = 7, .hidden2 = 6, .seed = 9};
    te_data d = {0};
    te_data_make(&c, &d);
    char folder[64], path[160], args[4096];
    snprintf(folder, sizeof folder, "/tmp/vkattn_te_%ld", (long)getpid());
    mkdir(folder, 0700);
    int used = snprintf(args, sizeof args, "cd '%s' && VKATTN_VALIDATION=1 '%s' run te_attention out=o.npy chunk=4",
                        folder, VKATTN_CLI_PATH);
    for (int i = 0; i < INPUTS + WEIGHTS; i++) {
        const char *name = i < INPUTS ? input_names[i] : weight_names[i - INPUTS];
        const float *data = i < INPUTS ? d.in[i] : d.w[i - INPUTS];
        const uint32_t *dims = i < INPUTS ? d.in_dims[i] : d.w_dims[i - INPUTS];
        uint32_t rank = i < INPUTS ? 3 : i < INPUTS + 3 ? 2 : 1; /* biases are 1-D */
        snprintf(path, sizeof path, "%s/%s.npy", folder, name);
        CHECK_OK(NULL, vka_npy_save(NULL, path, VKA_DTYPE_F32, rank, dims, data));
        used += snprintf(args + used, sizeof args - (size_t)used, " %s=%s.npy", name, name);
    }
    CHECK_MSG(system(args) == 0, "%s", args);
    float *expected = malloc(d.out_count * 4);
    vka_npy out = {0};
    snprintf(path, sizeof path, "%s/o.npy", folder);
    if (te_reference(contexts[0], &c, &d, expected) && vka_npy_load(NULL, path, &out) == VKA_SUCCESS) {
        CHECK(out.bytes == d.out_count * 4 && out.rank == 3 && out.dims[2] == c.heads * c.dv);
        if (out.bytes == d.out_count * 4)
            test_close("te_attention through vkattn run", out.data, expected, d.out_count, 2e-5, 2e-4);
    } else
        CHECK_MSG(0, "no output: %s", vka_last_error(NULL));
    vka_npy_free(&out);
    free(expected);
    te_data_free(&d);
    snprintf(args, sizeof args, "rm -rf '%s'", folder);
    CHECK(system(args) == 0);
}

static void done(void)
{
    for (int i = 0; i < 2; i++) {
        test_context_done(contexts[i]);
        contexts[i] = NULL;
    }
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"tetnp_shape", tetnp_shape},         {"odd_shapes", odd_shapes},
        {"key_chunks", key_chunks},           {"flash_materialized_shift", flash_materialized_shift},
        {"flash_memory", flash_memory},       {"bad_inputs", bad_inputs},
        {"runs_from_files", runs_from_files}, {"done", done},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
