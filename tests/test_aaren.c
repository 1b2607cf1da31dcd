/* `aaren` (SCHEMES.md §10): every prefix's attention of a learned query, against the
 * double twin (engine/ref/aaren.c, through vka_graph_reference) and against properties
 * that need no twin: the first output is v_0, and with scale 0 each output is the
 * running mean of the values. Both kernel classes, odd sizes, kv_len (including 0),
 * one block and many, bad inputs refused by name. Validation layer on. */
#include "harness.h"

static vka_context *contexts[2];
static const char *const class_names[] = {"cpu", "gpu"};

typedef struct aaren_case {
    uint32_t batch, heads, n, d, dv;
    const int32_t *kv_len; /* [batch] or NULL */
    double scale;          /* 0 with scale_given: a plain running mean */
    bool scale_given;
    uint64_t seed;
    bool decode; /* decode=1: n is the tokens per run */
} aaren_case;

typedef struct aaren_data {
    float *query, *k, *v, *out, *expected;
    size_t query_count, kv_count, v_count, out_count;
} aaren_data;

static vka_graph *aaren_graph(vka_context *ctx, const aaren_case *c)
{
    vka_graph *g = NULL;
    vka_tensor query, k, v, lens = {0}, o;
    vka_op_desc op = {.op = "aaren"};
    bool ok =
        vka_graph_create(ctx, &g) == VKA_SUCCESS &&
        vka_graph_input(g, &(vka_tensor_desc){"query", .rank = 4, .dims = {1, c->heads, 1, c->d}}, &query) == 0 &&
        vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {c->batch, c->heads, c->n, c->d}}, &k) == 0 &&
        vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {c->batch, c->heads, c->n, c->dv}}, &v) == 0;
    if (ok && c->kv_len)
        ok = vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {c->batch}}, &lens) == VKA_SUCCESS;
    op.inputs[0] = (vka_op_input){"query", query};
    op.inputs[1] = (vka_op_input){"k", k};
    op.inputs[2] = (vka_op_input){"v", v};
    if (c->kv_len)
        op.inputs[3] = (vka_op_input){"kv_len", lens};
    if (c->scale_given)
        op.numbers[0] = (vka_op_number){"scale", c->scale};
    if (c->decode)
        op.params[0] = (vka_op_param){"decode", "1"};
    ok = ok && vka_graph_op(g, &op, &o) == VKA_SUCCESS && vka_graph_output(g, "out", o) == VKA_SUCCESS;
    if (!ok) {
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void data_free(aaren_data *d)
{
    free(d->query);
    free(d->k);
    free(d->v);
    free(d->out);
    free(d->expected);
}

static bool data_make(const aaren_case *c, aaren_data *d)
{
    *d = (aaren_data){.query_count = (size_t)c->heads * c->d,
                      .kv_count = (size_t)c->batch * c->heads * c->n * c->d,
                      .v_count = (size_t)c->batch * c->heads * c->n * c->dv,
                      .out_count = (size_t)c->batch * c->heads * c->n * c->dv};
    d->query = malloc(d->query_count * sizeof(float));
    d->k = malloc(d->kv_count * sizeof(float));
    d->v = malloc(d->v_count * sizeof(float));
    d->out = malloc(d->out_count * sizeof(float));
    d->expected = malloc(d->out_count * sizeof(float));
    if (!d->query || !d->k || !d->v || !d->out || !d->expected)
        return false;
    test_seed(c->seed);
    test_fill_normal(d->query, d->query_count, 1.0f);
    test_fill_normal(d->k, d->kv_count, 1.0f);
    test_fill_normal(d->v, d->v_count, 1.0f);
    return true;
}

/* The GPU's output and the reference's for the case; false (with a message) on failure. */
static bool run_case(vka_context *ctx, const aaren_case *c, aaren_data *d)
{
    vka_graph *g = aaren_graph(ctx, c);
    vka_plan *plan = NULL;
    CHECK_MSG(g != NULL, "graph: %s", vka_last_error(ctx));
    if (!g)
        return false;
    vka_host_tensor in[] = {{"query", d->query, d->query_count * 4},
                            {"k", d->k, d->kv_count * 4},
                            {"v", d->v, d->v_count * 4},
                            {"kv_len", (void *)c->kv_len, c->batch * 4u}};
    uint32_t inputs = c->kv_len ? 4 : 3;
    vka_host_tensor out = {"out", d->expected, d->out_count * 4};
    bool ok = vka_graph_reference(g, in, inputs, &out, 1) == VKA_SUCCESS &&
              vka_plan_create(g, &(vka_plan_desc){0}, &plan) == VKA_SUCCESS;
    for (uint32_t i = 0; ok && i < inputs; i++)
        ok = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == VKA_SUCCESS;
    ok = ok && vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", d->out, d->out_count * 4) == VKA_SUCCESS;
    CHECK_MSG(ok, "run: %s", vka_last_error(ctx));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return ok;
}

/* GPU against the double twin, odd and even sizes, one block and many, kv_len. */
static void matches_the_reference(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const int32_t lens2[] = {517, 0}, lens3[] = {1, 40, 23};
    const aaren_case cases[] = {
        {.batch = 1, .heads = 1, .n = 1, .d = 4, .dv = 4, .seed = 1},
        {.batch = 2, .heads = 3, .n = 37, .d = 13, .dv = 6, .seed = 2},
        {.batch = 3, .heads = 2, .n = 40, .d = 8, .dv = 5, .kv_len = lens3, .seed = 3},
        {.batch = 2, .heads = 2, .n = 1000, .d = 64, .dv = 64, .kv_len = lens2, .seed = 4},
        {.batch = 1, .heads = 4, .n = 300, .d = 32, .dv = 16, .scale = 0.3, .scale_given = true, .seed = 5},
    };
    for (int cls = 0; cls < 2; cls++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            aaren_data d;
            if (data_make(&cases[i], &d) && run_case(contexts[cls], &cases[i], &d)) {
                char label[96];
                snprintf(label, sizeof label, "aaren %s case %zu (N = %u)", class_names[cls], i, cases[i].n);
                CHECK(test_close(label, d.out, d.expected, d.out_count, 2e-5, 2e-4));
            }
            data_free(&d);
            test_check_validation(contexts[cls]);
        }
}

/* No twin needed: o_0 = v_0 (one key), and with scale 0 o_t is the mean of v_0..v_t. */
static void properties_hold(void)
{
    if (!test_class_contexts(contexts))
        return;
    aaren_case c = {.batch = 2, .heads = 2, .n = 200, .d = 16, .dv = 8, .scale = 0, .scale_given = true, .seed = 9};
    aaren_data d;
    if (data_make(&c, &d) && run_case(contexts[0], &c, &d)) {
        double worst = 0;
        for (size_t s = 0; s < (size_t)c.batch * c.heads; s++)
            for (uint32_t e = 0; e < c.dv; e++) {
                double sum = 0;
                for (uint32_t t = 0; t < c.n; t++) {
                    size_t at = (s * c.n + t) * c.dv + e;
                    sum += d.v[at];
                    worst = fmax(worst, fabs(d.out[at] - sum / (t + 1)));
                }
                worst = fmax(worst, fabs(d.out[s * c.n * c.dv + e] - d.v[s * c.n * c.dv + e]));
            }
        CHECK_MSG(worst < 1e-5, "running mean: worst error %g", worst);
    }
    data_free(&d);
}

/* Tokens t0 .. t0 + n of every slice of x ([slices, total, width]) into chunk. */
static void slice_tokens(const float *x, uint32_t slices, uint32_t total, uint32_t width, uint32_t t0, uint32_t n,
                         float *chunk)
{
    for (uint32_t s = 0; s < slices; s++)
        memcpy(chunk + (size_t)s * n * width, x + ((size_t)s * total + t0) * width, (size_t)n * width * sizeof *chunk);
}

/* One decoding run of `plan` on tokens t0 .. t0 + n; its rows against the batch form's.
 * Returns the worst relative row error (or 1 on failure). */
static double decode_run(vka_plan *plan, const aaren_case *whole, const aaren_data *d, uint32_t t0, uint32_t n,
                         float *k, float *v, float *out)
{
    uint32_t slices = whole->batch * whole->heads;
    slice_tokens(d->k, slices, whole->n, whole->d, t0, n, k);
    slice_tokens(d->v, slices, whole->n, whole->dv, t0, n, v);
    size_t kb = (size_t)slices * n * whole->d * 4, vb = (size_t)slices * n * whole->dv * 4;
    if (vka_plan_write(plan, "query", d->query, d->query_count * 4) || vka_plan_write(plan, "k", k, kb) ||
        vka_plan_write(plan, "v", v, vb) || vka_plan_run(plan) || vka_plan_read(plan, "out", out, vb))
        return 1;
    double worst = 0;
    for (uint32_t s = 0; s < slices; s++)
        for (uint32_t t = 0; t < n; t++) {
            const float *a = out + ((size_t)s * n + t) * whole->dv,
                        *e = d->out + ((size_t)s * whole->n + t0 + t) * whole->dv;
            double diff = 0, norm = 0;
            for (uint32_t x = 0; x < whole->dv; x++) {
                diff += ((double)a[x] - e[x]) * ((double)a[x] - e[x]);
                norm += (double)e[x] * e[x];
            }
            double rel = sqrt(diff) / (sqrt(norm) + 1e-30);
            worst = rel > worst || isnan(rel) ? rel : worst;
        }
    return worst;
}

static vka_plan *decode_plan(vka_context *ctx, const aaren_case *whole, uint32_t chunk)
{
    aaren_case one = *whole;
    one.n = chunk;
    one.decode = true;
    vka_graph *g = aaren_graph(ctx, &one);
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    vka_graph_destroy(g);
    return plan;
}

/* decode=1: the sequence fed 1 or 7 tokens per run gives the batch form's rows (1e-5
 * relative per row, 1008 tokens); the state read halfway and written into a new plan
 * continues the same; vka_plan_reset_states starts the sequence over. */
static void decode_matches_batch(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const uint32_t chunks[] = {1, 7};
    for (int cls = 0; cls < 2; cls++)
        for (int ch = 0; ch < 2; ch++) {
            vka_context *ctx = contexts[cls];
            aaren_case c = {.batch = 2, .heads = 3, .n = 1008, .d = 16, .dv = 8, .seed = 60 + ch};
            aaren_data d;
            uint32_t chunk = chunks[ch], slices = c.batch * c.heads, half = c.n / 2 - (c.n / 2) % chunk;
            bool ok = data_make(&c, &d) && run_case(ctx, &c, &d);
            CHECK(ok && test_close("aaren batch form", d.out, d.expected, d.out_count, 2e-5, 2e-4));
            float *k = malloc((size_t)slices * chunk * c.d * 4), *v = malloc((size_t)slices * chunk * c.dv * 4),
                  *out = malloc((size_t)slices * chunk * c.dv * 4);
            size_t state_bytes = (size_t)slices * 4 * (c.dv / 4 + 1) * 4;
            float *state = malloc(state_bytes);
            vka_plan *plan = ok ? decode_plan(ctx, &c, chunk) : NULL, *second = ok ? decode_plan(ctx, &c, chunk) : NULL;
            double worst = 0;
            for (uint32_t t0 = 0; plan && second && t0 < c.n; t0 += chunk) {
                if (t0 == half) { /* the rest through a second plan, from the first's state */
                    CHECK_OK(ctx, vka_plan_read(plan, "aaren.state", state, state_bytes));
                    CHECK_OK(ctx, vka_plan_write(second, "aaren.state", state, state_bytes));
                }
                worst = fmax(worst, decode_run(t0 < half ? plan : second, &c, &d, t0, chunk, k, v, out));
            }
            CHECK_MSG(plan && second && worst <= 1e-5, "class %s, %u per run: %.3g from the batch form",
                      class_names[cls], chunk, worst);
            if (plan) { /* reset: the first run's rows again */
                CHECK_OK(ctx, vka_plan_reset_states(plan));
                CHECK_MSG(decode_run(plan, &c, &d, 0, chunk, k, v, out) <= 1e-5, "after a reset");
            }
            vka_plan_destroy(plan);
            vka_plan_destroy(second);
            free(k), free(v), free(out), free(state);
            data_free(&d);
            test_check_validation(ctx);
        }
}

static void expect_refused(const aaren_case *c, const uint32_t *query_dims, const char *needle)
{
    vka_context *ctx = contexts[0];
    vka_graph *g = NULL;
    vka_tensor query, k, v, o;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_graph_input(g, &(vka_tensor_desc){"query", .rank = 4, .dims = {query_dims[0], query_dims[1], 1, query_dims[2]}},
                    &query);
    vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {c->batch, c->heads, c->n, c->d}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {c->batch, c->heads, c->n, c->dv}}, &v);
    vka_result r = vka_graph_op(g, &(vka_op_desc){.op = "aaren", .inputs = {{"query", query}, {"k", k}, {"v", v}}}, &o);
    CHECK_MSG(r != VKA_SUCCESS && strstr(vka_last_error(ctx), needle), "wanted '%s', got '%s'", needle,
              vka_last_error(ctx));
    vka_graph_destroy(g);
}

static void bad_inputs_are_refused(void)
{
    if (!test_class_contexts(contexts))
        return;
    aaren_case c = {.batch = 2, .heads = 4, .n = 10, .d = 8, .dv = 8};
    expect_refused(&c, (uint32_t[]){2, 4, 8}, "query is [2, 4, 1, 8]; it must be [1, heads, 1, 8]");
    expect_refused(&c, (uint32_t[]){1, 3, 8}, "heads");
    expect_refused(&c, (uint32_t[]){1, 4, 6}, "head dim");
    aaren_case wide = {.batch = 1, .heads = 1, .n = 4, .d = 300, .dv = 4};
    expect_refused(&wide, (uint32_t[]){1, 1, 300}, "head dim 300 exceeds");
    test_check_validation(contexts[0]);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"matches_the_reference", matches_the_reference},
        {"properties_hold", properties_hold},
        {"bad_inputs_are_refused", bad_inputs_are_refused},
        {"decode_matches_batch", decode_matches_batch},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
