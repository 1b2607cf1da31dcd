/* `hypermixer` against the double-precision reference (engine/ref/hypermixer.c): shapes
 * with odd widths, Nq ≠ Nk, Dv ≠ D, sequences longer than one streaming chunk (2048
 * tokens) with kv_len cutting inside a chunk, kv_len = 0, N = 1; weights given as inputs
 * and drawn from a seed; its symmetries (permuting the context tokens leaves the output
 * unchanged, permuting the queries permutes it); memory linear in N with no Nq × Nk
 * buffer; bad weights and parameters refused. Both kernel classes, validation on. */
#include "attention_util.h"

static vka_context *contexts[2]; /* CPU class, GPU class */

static bool have_contexts(void)
{
    return test_class_contexts(contexts);
}

static void check(attn_case c, double atol, double rtol)
{
    if (!have_contexts())
        return;
    attn_data data = {0};
    if (!attn_data_make(contexts[0], &c, &data)) {
        CHECK_MSG(0, "could not set up the case: %s", vka_last_error(contexts[0]));
        attn_data_free(&data);
        return;
    }
    /* Outputs sum Nk·p products of O(1) terms and may cancel to near zero: the absolute
     * tolerance follows the output's scale (f32 rounding of its largest terms). */
    double scale = 0;
    for (size_t i = 0; i < data.out_bytes / 4; i++)
        scale = fmax(scale, fabs(data.expected[i]));
    atol = fmax(atol, 2e-6 * scale);
    for (int cls = 0; cls < 2; cls++) {
        char label[160];
        snprintf(label, sizeof label, "hypermixer B%u H%u Nq%u Nk%u D%u Dv%u %s=%s kv_len%s %s", c.batch, c.heads, c.nq,
                 c.nk, c.d, c.dv ? c.dv : c.d, c.params[0].key, c.params[0].value, c.kv_len ? "yes" : "no",
                 cls ? "gpu" : "cpu");
        attn_check(contexts[cls], &c, &data, atol, rtol, label);
    }
    attn_data_free(&data);
}

/* Weights drawn from the seed (the reference draws the same ones). */
static void shapes_against_the_reference(void)
{
    static const vka_op_param p64[] = {{"p", "64"}, {"seed", "1"}, {0}}, p8[] = {{"p", "8"}, {"seed", "2"}, {0}},
                              p3[] = {{"p", "3"}, {"seed", "3"}, {0}}, p1[] = {{"p", "1"}, {0}};
    static const int32_t long_lens[] = {2050, 0}, short_lens[] = {1, 0, 1};
    const attn_case cases[] = {
        {.scheme = "hypermixer", .params = p64, .batch = 1, .heads = 2, .nq = 40, .nk = 90, .d = 32, .seed = 1},
        /* two key chunks; kv_len inside the second, and none at all */
        {.scheme = "hypermixer",
         .params = p8,
         .batch = 2,
         .heads = 1,
         .nq = 7,
         .nk = 2100,
         .d = 16,
         .kv_len = long_lens,
         .seed = 2},
        /* two query chunks; widths that are not multiples of 4 */
        {.scheme = "hypermixer",
         .params = p3,
         .batch = 1,
         .heads = 1,
         .nq = 2500,
         .nk = 30,
         .d = 6,
         .dv = 10,
         .seed = 3},
        {.scheme = "hypermixer",
         .params = p1,
         .batch = 3,
         .heads = 2,
         .nq = 1,
         .nk = 1,
         .d = 4,
         .dv = 1,
         .kv_len = short_lens,
         .seed = 4},
        {.scheme = "hypermixer",
         .params = p64,
         .batch = 2,
         .heads = 3,
         .nq = 129,
         .nk = 300,
         .d = 64,
         .dv = 40,
         .seed = 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check(cases[i], 2e-5, 2e-4);
}

/* ------------------------------------------------------------------ given weights */

enum { WEIGHTS = 6 };
static const char *const weight_names[WEIGHTS] = {"mlp_k1", "mlp_k2", "mlp_k2_bias", "mlp_q1", "mlp_q2", "mlp_q2_bias"};

/* q, k, v [1, 2, n, d] and the six weights as inputs (p hidden); NULL on failure. */
static vka_graph *weights_graph(vka_context *ctx, uint32_t n, uint32_t d, uint32_t p, uint32_t given,
                                const vka_op_param *params)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    vka_op_desc op = {.op = "hypermixer"};
    const char *names[3] = {"q", "k", "v"};
    bool ok = true;
    for (uint32_t i = 0; i < 3 && ok; i++) {
        op.inputs[i].role = names[i];
        ok = vka_graph_input(g, &(vka_tensor_desc){.name = names[i], .rank = 4, .dims = {1, 2, n, d}},
                             &op.inputs[i].tensor) == VKA_SUCCESS;
    }
    bool out_in = params && params[0].key && strcmp(params[0].value, "out_in") == 0;
    for (uint32_t i = 0; i < given && ok; i++) {
        uint32_t layer = i % 3;
        vka_tensor_desc w = {
            .name = weight_names[i], .rank = layer == 2 ? 1 : 2, .dims = {layer == 2 ? p : d, layer == 0 ? d : p}};
        if (out_in && layer != 2) /* PyTorch's [out, in] */
            w.dims[0] = layer == 0 ? d : p, w.dims[1] = d;
        op.inputs[3 + i].role = weight_names[i];
        ok = vka_graph_input(g, &w, &op.inputs[3 + i].tensor) == VKA_SUCCESS;
    }
    for (uint32_t i = 0; params && params[i].key; i++)
        op.params[i] = params[i];
    vka_tensor o;
    if (!ok || vka_graph_op(g, &op, &o) != VKA_SUCCESS || vka_graph_output(g, "out", o) != VKA_SUCCESS) {
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void given_weights(void)
{
    if (!have_contexts())
        return;
    const uint32_t n = 70, d = 12, p = 20;
    size_t io = 2 * n * d, sizes[WEIGHTS] = {d * d, d * p, p, d * d, d * p, p};
    float *data[3 + WEIGHTS], *ref = malloc(io * 4), *out = malloc(io * 4);
    vka_host_tensor in[3 + WEIGHTS];
    const char *names[3] = {"q", "k", "v"};
    bool ok = ref && out;
    test_seed(77);
    for (uint32_t i = 0; i < 3 + WEIGHTS; i++) {
        size_t count = i < 3 ? io : sizes[i - 3];
        data[i] = malloc(count * 4);
        ok = ok && data[i];
        if (data[i])
            test_fill_normal(data[i], count, i < 3 ? 1.0f : 0.3f);
        in[i] = (vka_host_tensor){i < 3 ? names[i] : weight_names[i - 3], data[i], count * 4};
    }
    vka_graph *g = ok ? weights_graph(contexts[0], n, d, p, WEIGHTS, NULL) : NULL;
    CHECK_MSG(g != NULL, "building the graph: %s", vka_last_error(contexts[0]));
    if (g)
        CHECK_OK(contexts[0], vka_graph_reference(g, in, 3 + WEIGHTS, &(vka_host_tensor){"out", ref, io * 4}, 1));
    vka_graph_destroy(g);
    for (int cls = 0; cls < 2 && g; cls++) {
        vka_plan *plan = NULL;
        g = weights_graph(contexts[cls], n, d, p, WEIGHTS, NULL);
        bool run = g && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
        for (uint32_t i = 0; run && i < 3 + WEIGHTS; i++)
            run = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == VKA_SUCCESS;
        run = run && vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", out, io * 4) == VKA_SUCCESS;
        CHECK_MSG(run, "hypermixer with given weights: %s", vka_last_error(contexts[cls]));
        if (run)
            test_close(cls ? "given weights gpu" : "given weights cpu", out, ref, io, 2e-5, 2e-4);
        test_check_validation(contexts[cls]);
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
    /* the same weights stored [out, in] (weight_layout=out_in): the same output */
    static const vka_op_param out_in[] = {{"weight_layout", "out_in"}, {0}};
    for (uint32_t i = 3; ok && i < 3 + WEIGHTS; i++) {
        uint32_t rows = (i - 3) % 3 == 0 ? d : (i - 3) % 3 == 1 ? d : 0, cols = (i - 3) % 3 == 0 ? d : p;
        float *t = malloc(sizes[i - 3] * 4);
        for (uint32_t r = 0; t && r < rows; r++)
            for (uint32_t c = 0; c < cols; c++)
                t[(size_t)c * rows + r] = data[i][(size_t)r * cols + c];
        if (t && rows)
            memcpy(data[i], t, sizes[i - 3] * 4);
        free(t);
    }
    for (int cls = 0; cls < 2 && ok; cls++) {
        vka_plan *plan = NULL;
        g = weights_graph(contexts[cls], n, d, p, WEIGHTS, out_in);
        bool run = g && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
        for (uint32_t i = 0; run && i < 3 + WEIGHTS; i++)
            run = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == VKA_SUCCESS;
        run = run && vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", out, io * 4) == VKA_SUCCESS;
        CHECK_MSG(run, "hypermixer with [out, in] weights: %s", vka_last_error(contexts[cls]));
        if (run)
            CHECK(test_close(cls ? "out_in weights gpu" : "out_in weights cpu", out, ref, io, 2e-5, 2e-4));
        float *ref_out_in = malloc(io * 4);
        if (g && ref_out_in && cls == 0) { /* the reference reads them transposed too */
            CHECK_OK(contexts[0],
                     vka_graph_reference(g, in, 3 + WEIGHTS, &(vka_host_tensor){"out", ref_out_in, io * 4}, 1));
            CHECK(test_close("out_in weights reference", ref_out_in, ref, io, 1e-6, 1e-6));
        }
        free(ref_out_in);
        test_check_validation(contexts[cls]);
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
    for (uint32_t i = 0; i < 3 + WEIGHTS; i++)
        free(data[i]);
    free(ref);
    free(out);
}

/* ------------------------------------------------------------------ symmetries */

/* Row t of every [batch, head] slice of out is row perm[t] of x. */
static void permute_tokens(const float *x, uint32_t slices, uint32_t n, uint32_t width, const uint32_t *perm,
                           float *out)
{
    for (uint32_t s = 0; s < slices; s++)
        for (uint32_t t = 0; t < n; t++)
            memcpy(out + ((size_t)s * n + t) * width, x + ((size_t)s * n + perm[t]) * width, width * sizeof(float));
}

static bool run_checked(vka_context *ctx, const attn_case *c, const attn_data *x, float *out)
{
    vka_result r = attn_run_gpu(ctx, c, x, out, NULL);
    CHECK_MSG(r == VKA_SUCCESS, "hypermixer on the device: %s", vka_last_error(ctx));
    return r == VKA_SUCCESS;
}

static void permutation_properties(void)
{
    if (!have_contexts())
        return;
    static const vka_op_param params[] = {{"p", "16"}, {"seed", "9"}, {0}};
    const attn_case c = {
        .scheme = "hypermixer", .params = params, .batch = 2, .heads = 2, .nq = 37, .nk = 91, .d = 16, .seed = 9};
    attn_data x = {0};
    float *out = malloc(2 * 2 * 37 * 16 * 4), *permuted = malloc(2 * 2 * 37 * 16 * 4);
    float *k = malloc(2 * 2 * 91 * 16 * 4), *v = malloc(2 * 2 * 91 * 16 * 4), *q = malloc(2 * 2 * 37 * 16 * 4);
    uint32_t perm_k[91], perm_q[37];
    for (uint32_t i = 0; i < 91; i++)
        perm_k[i] = (i * 37 + 11) % 91; /* 37 is coprime with 91: a permutation */
    for (uint32_t i = 0; i < 37; i++)
        perm_q[i] = (i * 5 + 3) % 37;
    bool ok = out && permuted && k && v && q && attn_data_make(contexts[0], &c, &x);
    CHECK(ok);
    for (int cls = 0; cls < 2 && ok; cls++) {
        /* The context permuted: the same output as the reference of the original order. */
        memcpy(k, x.k, x.k_bytes);
        memcpy(v, x.v, x.v_bytes);
        permute_tokens(k, 4, 91, 16, perm_k, x.k);
        permute_tokens(v, 4, 91, 16, perm_k, x.v);
        if (run_checked(contexts[cls], &c, &x, out))
            test_close("context tokens permuted", out, x.expected, x.out_bytes / 4, 1e-5, 1e-4);
        memcpy(x.k, k, x.k_bytes);
        memcpy(x.v, v, x.v_bytes);
        /* The queries permuted: the output rows permuted alike. */
        memcpy(q, x.q, x.q_bytes);
        permute_tokens(q, 4, 37, 16, perm_q, x.q);
        permute_tokens(x.expected, 4, 37, 16, perm_q, permuted);
        if (run_checked(contexts[cls], &c, &x, out))
            test_close("queries permuted", out, permuted, x.out_bytes / 4, 1e-5, 1e-4);
        memcpy(x.q, q, x.q_bytes);
        test_check_validation(contexts[cls]);
    }
    attn_data_free(&x);
    free(out);
    free(permuted);
    free(k);
    free(v);
    free(q);
}

/* ------------------------------------------------------------------ memory, bad input */

/* Planned (not run), H = 8, D = 64, p = 64: the peak is the inputs and output plus a
 * constant (one streaming chunk), so its growth from N to 4N is 4× its growth from N/4 to
 * N; at N = 16384 it is at most 1/50 of the materialized softmax's Nq × Nk scores. */
static void memory_is_linear_in_n(void)
{
    if (!have_contexts())
        return;
    static const vka_op_param params[] = {{"p", "64"}, {0}};
    double bytes[3];
    const uint32_t sizes[3] = {4096, 16384, 65536};
    for (int i = 0; i < 3; i++) {
        attn_case c = {
            .scheme = "hypermixer", .params = params, .batch = 1, .heads = 8, .nq = sizes[i], .nk = sizes[i], .d = 64};
        vka_graph *g = attn_graph(contexts[0], &c);
        vka_plan *plan = NULL;
        vka_plan_stats s = {0};
        if (g)
            CHECK_OK(contexts[0], vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
        if (plan)
            vka_plan_stats_get(plan, &s);
        bytes[i] = (double)s.peak_device_bytes;
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
    double growth = (bytes[2] - bytes[1]) / (bytes[1] - bytes[0]), scores = 8.0 * 16384 * 16384 * 4;
    CHECK_MSG(growth > 3.9 && growth < 4.1,
              "peak bytes grow %.3f times as much from 16k to 64k as from 4k to 16k (4 if linear)", growth);
    CHECK_MSG(bytes[1] * 50 <= scores, "hypermixer at N = 16384 holds %.0f MiB; the scores alone are %.0f MiB",
              bytes[1] / 1048576, scores / 1048576);
}

static void bad_input_is_refused(void)
{
    if (!have_contexts())
        return;
    vka_context *ctx = contexts[0];
    static const vka_op_param p_wrong[] = {{"p", "7"}, {0}}, causal[] = {{"causal", "1"}, {0}},
                              p_zero[] = {{"p", "0"}, {0}};
    struct {
        uint32_t given;
        const vka_op_param *params;
        const char *needle;
    } cases[] = {
        {2, NULL, "or none"},              /* some weights, not all */
        {WEIGHTS, p_wrong, "hidden size"}, /* p disagrees with the weights */
        {0, causal, "causal"},             /* no causal form: an unknown key */
        {0, p_zero, "p"},                  /* p out of range */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vka_graph *g = weights_graph(ctx, 8, 8, 12, cases[i].given, cases[i].params);
        CHECK_MSG(g == NULL && strstr(vka_last_error(ctx), cases[i].needle), "case %zu: '%s'", i, vka_last_error(ctx));
        vka_graph_destroy(g);
    }
    /* A weight of the wrong shape names the role and the axis. */
    vka_graph *g;
    vka_tensor q, w[WEIGHTS], o;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {1, 1, 4, 8}}, &q);
    for (uint32_t i = 0; i < WEIGHTS; i++) {
        uint32_t layer = i % 3, in = i == 4 ? 9 : 8; /* mlp_q2 takes 9 inputs: wrong */
        vka_graph_input(g,
                        &(vka_tensor_desc){.name = weight_names[i],
                                           .rank = layer == 2 ? 1 : 2,
                                           .dims = {layer == 2 ? 5 : in, layer == 0 ? 8 : 5}},
                        &w[i]);
    }
    vka_op_desc op = {.op = "hypermixer", .inputs = {{"q", q}, {"k", q}, {"v", q}}};
    for (uint32_t i = 0; i < WEIGHTS; i++)
        op.inputs[3 + i] = (vka_op_input){weight_names[i], w[i]};
    vka_result r = vka_graph_op(g, &op, &o);
    CHECK_MSG(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "mlp_q2"), "'%s'", vka_last_error(ctx));
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"shapes_against_the_reference", shapes_against_the_reference},
        {"given_weights", given_weights},
        {"permutation_properties", permutation_properties},
        {"memory_is_linear_in_n", memory_is_linear_in_n},
        {"bad_input_is_refused", bad_input_is_refused},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
