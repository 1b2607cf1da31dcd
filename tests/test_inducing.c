/* `inducing` (pseudo-token attention) against the double-precision reference: shared
 * and per-batch latents, cross shapes, kv_len (including 0), M = 1; its symmetries —
 * permuting the context tokens leaves the output unchanged, permuting the queries
 * permutes it; memory linear in N; bad shapes refused. Both kernel classes, validation
 * layer on. */
#include "attention_util.h"

static vka_context *contexts[2]; /* CPU class, GPU class */

static bool have_contexts(void)
{
    return test_class_contexts(contexts);
}

typedef struct inducing_case {
    uint32_t batch, heads, nq, nk, d, m, latent_batch;
    const int32_t *kv_len;
    uint64_t seed;
} inducing_case;

typedef struct inducing_data {
    float *q, *k, *v, *latents, *out;
    size_t q_bytes, kv_bytes, latent_bytes;
} inducing_data;

static void data_free(inducing_data *x)
{
    free(x->q);
    free(x->k);
    free(x->v);
    free(x->latents);
    free(x->out);
}

static bool data_make(const inducing_case *c, inducing_data *x)
{
    size_t bh = (size_t)c->batch * c->heads;
    x->q_bytes = bh * c->nq * c->d * 4;
    x->kv_bytes = bh * c->nk * c->d * 4;
    x->latent_bytes = (size_t)c->latent_batch * c->heads * c->m * c->d * 4;
    x->q = malloc(x->q_bytes);
    x->k = malloc(x->kv_bytes);
    x->v = malloc(x->kv_bytes);
    x->latents = malloc(x->latent_bytes);
    x->out = malloc(x->q_bytes);
    if (!x->q || !x->k || !x->v || !x->latents || !x->out)
        return false;
    test_seed(c->seed);
    test_fill_normal(x->q, x->q_bytes / 4, 1.0f);
    test_fill_normal(x->k, x->kv_bytes / 4, 1.0f);
    test_fill_normal(x->v, x->kv_bytes / 4, 1.0f);
    test_fill_normal(x->latents, x->latent_bytes / 4, 1.0f);
    return true;
}

static vka_graph *make_graph(vka_context *ctx, const inducing_case *c)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    vka_tensor q, k, v, l, kv = {0}, o;
    bool ok =
        vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {c->batch, c->heads, c->nq, c->d}}, &q) ==
            VKA_SUCCESS &&
        vka_graph_input(g, &(vka_tensor_desc){.name = "k", .rank = 4, .dims = {c->batch, c->heads, c->nk, c->d}}, &k) ==
            VKA_SUCCESS &&
        vka_graph_input(g, &(vka_tensor_desc){.name = "v", .rank = 4, .dims = {c->batch, c->heads, c->nk, c->d}}, &v) ==
            VKA_SUCCESS &&
        vka_graph_input(
            g, &(vka_tensor_desc){.name = "latents", .rank = 4, .dims = {c->latent_batch, c->heads, c->m, c->d}}, &l) ==
            VKA_SUCCESS;
    if (ok && c->kv_len)
        ok = vka_graph_input(
                 g, &(vka_tensor_desc){.name = "kv_len", .dtype = VKA_DTYPE_I32, .rank = 1, .dims = {c->batch}}, &kv) ==
             VKA_SUCCESS;
    vka_op_desc op = {.op = "inducing", .inputs = {{"q", q}, {"k", k}, {"v", v}, {"latents", l}}};
    if (c->kv_len)
        op.inputs[4] = (vka_op_input){"kv_len", kv};
    ok = ok && vka_graph_op(g, &op, &o) == VKA_SUCCESS && vka_graph_output(g, "out", o) == VKA_SUCCESS;
    if (!ok) {
        fprintf(stderr, "  building the graph: %s\n", vka_last_error(ctx));
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static uint32_t input_count(const inducing_case *c)
{
    return c->kv_len ? 5 : 4;
}

static void host_inputs(const inducing_case *c, const inducing_data *x, vka_host_tensor *in)
{
    in[0] = (vka_host_tensor){"q", x->q, x->q_bytes};
    in[1] = (vka_host_tensor){"k", x->k, x->kv_bytes};
    in[2] = (vka_host_tensor){"v", x->v, x->kv_bytes};
    in[3] = (vka_host_tensor){"latents", x->latents, x->latent_bytes};
    in[4] = (vka_host_tensor){"kv_len", (void *)c->kv_len, c->batch * sizeof(int32_t)};
}

/* Runs the case on the device into x->out; false on failure (reported). */
static bool run_gpu(vka_context *ctx, const inducing_case *c, inducing_data *x)
{
    vka_graph *g = make_graph(ctx, c);
    vka_plan *plan = NULL;
    vka_host_tensor in[5];
    host_inputs(c, x, in);
    bool ok = g && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
    for (uint32_t i = 0; ok && i < input_count(c); i++)
        ok = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == VKA_SUCCESS;
    ok = ok && vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", x->out, x->q_bytes) == VKA_SUCCESS;
    CHECK_MSG(ok, "inducing on the device: %s", vka_last_error(ctx));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return ok;
}

static void check_case(inducing_case c)
{
    if (!have_contexts())
        return;
    inducing_data x = {0};
    float *ref = malloc((size_t)c.batch * c.heads * c.nq * c.d * 4);
    vka_graph *g = make_graph(contexts[0], &c);
    vka_host_tensor in[5];
    if (!ref || !g || !data_make(&c, &x)) {
        CHECK_MSG(0, "could not set up the case");
    } else {
        host_inputs(&c, &x, in);
        vka_host_tensor out[] = {{"out", ref, x.q_bytes}};
        CHECK_OK(contexts[0], vka_graph_reference(g, in, input_count(&c), out, 1));
        for (int cls = 0; cls < 2; cls++) {
            if (!run_gpu(contexts[cls], &c, &x))
                continue;
            char label[160];
            snprintf(label, sizeof label, "inducing B%u H%u Nq%u Nk%u D%u M%u latents[%u] kv_len%s %s", c.batch,
                     c.heads, c.nq, c.nk, c.d, c.m, c.latent_batch, c.kv_len ? "yes" : "no", cls ? "gpu" : "cpu");
            test_close(label, x.out, ref, x.q_bytes / 4, 2e-5, 2e-4);
            test_check_validation(contexts[cls]);
        }
    }
    vka_graph_destroy(g);
    data_free(&x);
    free(ref);
}

static void shapes_against_the_reference(void)
{
    static const int32_t lens[] = {300, 0, 17};
    const inducing_case cases[] = {
        {.batch = 1, .heads = 2, .nq = 50, .nk = 300, .d = 32, .m = 16, .latent_batch = 1, .seed = 1},
        {.batch = 2, .heads = 1, .nq = 7, .nk = 64, .d = 64, .m = 32, .latent_batch = 1, .seed = 2},
        {.batch = 3, .heads = 2, .nq = 129, .nk = 300, .d = 16, .m = 8, .latent_batch = 1, .kv_len = lens, .seed = 3},
        {.batch = 2, .heads = 3, .nq = 1, .nk = 1, .d = 16, .m = 1, .latent_batch = 2, .seed = 4},
        {.batch = 2, .heads = 2, .nq = 300, .nk = 17, .d = 40, .m = 64, .latent_batch = 2, .seed = 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_case(cases[i]);
}

/* ------------------------------------------------------------------ symmetries */

/* Reorders the tokens of every [batch, head] slice: row t of out is row perm[t] of x. */
static void permute_tokens(const float *x, uint32_t slices, uint32_t n, uint32_t width, const uint32_t *perm,
                           float *out)
{
    for (uint32_t s = 0; s < slices; s++)
        for (uint32_t t = 0; t < n; t++)
            memcpy(out + ((size_t)s * n + t) * width, x + ((size_t)s * n + perm[t]) * width, width * sizeof(float));
}

static void permutation_properties(void)
{
    if (!have_contexts())
        return;
    const inducing_case c = {.batch = 2, .heads = 2, .nq = 37, .nk = 91, .d = 16, .m = 8, .latent_batch = 1, .seed = 9};
    inducing_data x = {0}, y = {0};
    CHECK(data_make(&c, &x) && data_make(&c, &y));
    uint32_t perm_k[91], perm_q[37];
    for (uint32_t i = 0; i < 91; i++)
        perm_k[i] = (i * 37 + 11) % 91; /* 37 is coprime with 91: a permutation */
    for (uint32_t i = 0; i < 37; i++)
        perm_q[i] = (i * 5 + 3) % 37;
    for (int cls = 0; cls < 2 && x.out && y.out; cls++) {
        if (!run_gpu(contexts[cls], &c, &x))
            continue;
        permute_tokens(x.k, 4, 91, 16, perm_k, y.k);
        permute_tokens(x.v, 4, 91, 16, perm_k, y.v);
        memcpy(y.q, x.q, x.q_bytes);
        memcpy(y.latents, x.latents, x.latent_bytes);
        if (run_gpu(contexts[cls], &c, &y))
            test_close("context tokens permuted", y.out, x.out, x.q_bytes / 4, 1e-5, 1e-4);
        memcpy(y.k, x.k, x.kv_bytes);
        memcpy(y.v, x.v, x.kv_bytes);
        permute_tokens(x.q, 4, 37, 16, perm_q, y.q);
        float *expected = malloc(x.q_bytes);
        if (expected && run_gpu(contexts[cls], &c, &y)) {
            permute_tokens(x.out, 4, 37, 16, perm_q, expected);
            test_close("queries permuted", y.out, expected, x.q_bytes / 4, 1e-5, 1e-4);
        }
        free(expected);
        test_check_validation(contexts[cls]);
    }
    data_free(&x);
    data_free(&y);
}

/* Planned (not run): peak bytes grow linearly in N and stay far below the materialized
 * softmax's Nq × Nk scores at the same size. */
static void memory_is_linear_in_n(void)
{
    if (!have_contexts())
        return;
    double bytes[2];
    const uint32_t sizes[2] = {4096, 16384};
    for (int i = 0; i < 2; i++) {
        inducing_case c = {.batch = 1, .heads = 8, .nq = sizes[i], .nk = sizes[i], .d = 64, .m = 32, .latent_batch = 1};
        vka_graph *g = make_graph(contexts[0], &c);
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
    double exponent = log(bytes[1] / bytes[0]) / log(4.0), scores = 8.0 * 16384 * 16384 * 4;
    CHECK_MSG(exponent > 0.95 && exponent < 1.05, "peak bytes grow as N^%.3f", exponent);
    CHECK_MSG(bytes[1] * 50 <= scores, "inducing at N = 16384 holds %.0f MiB; the scores alone are %.0f MiB",
              bytes[1] / 1048576, scores / 1048576);
}

static void bad_shapes_are_refused(void)
{
    if (!have_contexts())
        return;
    struct {
        inducing_case c;
        const char *needle;
    } cases[] = {
        {{.batch = 2, .heads = 1, .nq = 4, .nk = 4, .d = 8, .m = 2, .latent_batch = 3}, "must be 1 (shared)"},
        {{.batch = 1, .heads = 1, .nq = 4, .nk = 4, .d = 300, .m = 2, .latent_batch = 1}, "exceeds"},
    };
    for (size_t i = 0; i < 2; i++) {
        vka_graph *g = make_graph(contexts[0], &cases[i].c);
        CHECK_MSG(g == NULL && strstr(vka_last_error(contexts[0]), cases[i].needle), "case %zu: '%s'", i,
                  vka_last_error(contexts[0]));
        vka_graph_destroy(g);
    }
    /* v's width must be q's: the summaries serve as keys. */
    vka_graph *g;
    vka_tensor q, k, v, l, o;
    CHECK_OK(contexts[0], vka_graph_create(contexts[0], &g));
    vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {1, 1, 4, 8}}, &q);
    vka_graph_input(g, &(vka_tensor_desc){.name = "k", .rank = 4, .dims = {1, 1, 4, 8}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){.name = "v", .rank = 4, .dims = {1, 1, 4, 12}}, &v);
    vka_graph_input(g, &(vka_tensor_desc){.name = "latents", .rank = 4, .dims = {1, 1, 2, 8}}, &l);
    vka_result r =
        vka_graph_op(g, &(vka_op_desc){.op = "inducing", .inputs = {{"q", q}, {"k", k}, {"v", v}, {"latents", l}}}, &o);
    CHECK(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(contexts[0]), "v axis 3 must equal q axis 3"));
    r = vka_graph_op(g,
                     &(vka_op_desc){.op = "inducing",
                                    .inputs = {{"q", q}, {"k", k}, {"v", k}, {"latents", l}},
                                    .params = {{"causal", "1"}}},
                     &o);
    CHECK(r == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(contexts[0]), "causal"));
    vka_graph_destroy(g);
    test_check_validation(contexts[0]);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"shapes_against_the_reference", shapes_against_the_reference},
        {"permutation_properties", permutation_properties},
        {"memory_is_linear_in_n", memory_is_linear_in_n},
        {"bad_shapes_are_refused", bad_shapes_are_refused},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
