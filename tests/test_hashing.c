/* Hashing and clustering (SCHEMES.md §9): `reformer` and `clustered`, against the double
 * twins (engine/ref/hashing.c, through vka_graph_reference) and against properties that
 * need no twin — one chunk holding every token is full shared-QK attention without the
 * diagonal; padding past kv_len changes nothing of the rows before it; with C = Nq, or
 * topk = Nk, clustered attention is exact softmax. Both kernel classes, odd sizes, grouped
 * heads, f16, bad inputs refused by name. The public vectors run in test_vectors. */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include "harness.h"

#include <unistd.h>

static vka_context *contexts[2];
static const char *const class_names[] = {"cpu", "gpu"};

typedef struct hash_case {
    const char *op;
    uint32_t batch, heads, kv_heads, nq, nk, d, dv; /* reformer: nk = nq, no k input */
    const char *params[8];                          /* "key=value", NULL-terminated */
    const int32_t *kv_len;
    vka_dtype dtype; /* of q, k, v and the result */
    uint64_t seed;
} hash_case;

typedef struct hash_data {
    float *q, *k, *v, *out, *expected;
    size_t q_count, k_count, v_count, out_count;
} hash_data;

static bool is_reformer(const hash_case *c)
{
    return strcmp(c->op, "reformer") == 0;
}

static uint32_t kv_heads_of(const hash_case *c)
{
    return c->kv_heads ? c->kv_heads : c->heads;
}

static vka_graph *hash_graph(vka_context *ctx, const hash_case *c)
{
    vka_graph *g = NULL;
    vka_tensor q, k, v, lens, o;
    vka_op_desc op = {.op = c->op, .dtype = c->dtype};
    uint32_t kvh = kv_heads_of(c), at = 0;
    char keys[8][32];
    bool ok = vka_graph_create(ctx, &g) == VKA_SUCCESS &&
              vka_graph_input(g, &(vka_tensor_desc){"q", c->dtype, 4, {c->batch, c->heads, c->nq, c->d}}, &q) == 0 &&
              vka_graph_input(g, &(vka_tensor_desc){"v", c->dtype, 4, {c->batch, kvh, c->nk, c->dv}}, &v) == 0;
    op.inputs[at++] = (vka_op_input){"q", q};
    op.inputs[at++] = (vka_op_input){"v", v};
    if (ok && !is_reformer(c)) {
        ok = vka_graph_input(g, &(vka_tensor_desc){"k", c->dtype, 4, {c->batch, kvh, c->nk, c->d}}, &k) == 0;
        op.inputs[at++] = (vka_op_input){"k", k};
    }
    if (ok && c->kv_len) {
        ok = vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {c->batch}}, &lens) == VKA_SUCCESS;
        op.inputs[at++] = (vka_op_input){"kv_len", lens};
    }
    for (uint32_t i = 0; c->params[i]; i++) {
        const char *eq = strchr(c->params[i], '=');
        snprintf(keys[i], sizeof keys[i], "%.*s", (int)(eq - c->params[i]), c->params[i]);
        op.params[i] = (vka_op_param){keys[i], eq + 1};
    }
    ok = ok && vka_graph_op(g, &op, &o) == VKA_SUCCESS && vka_graph_output(g, "out", o) == VKA_SUCCESS;
    if (!ok) {
        fprintf(stderr, "  graph: %s\n", vka_last_error(ctx));
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void data_free(hash_data *d)
{
    free(d->q);
    free(d->k);
    free(d->v);
    free(d->out);
    free(d->expected);
}

/* Inputs rounded to f16 when the case is in f16 (then exact in either type). */
static void fill(float *x, size_t n, bool f16)
{
    test_fill_normal(x, n, 1.0f);
    for (size_t i = 0; f16 && i < n; i++) {
        uint16_t h;
        vka_f16_from_f32(&x[i], &h, 1);
        vka_f32_from_f16(&h, &x[i], 1);
    }
}

static bool data_make(const hash_case *c, hash_data *d)
{
    size_t kv_slices = (size_t)c->batch * kv_heads_of(c), slices = (size_t)c->batch * c->heads;
    *d = (hash_data){.q_count = slices * c->nq * c->d,
                     .k_count = kv_slices * c->nk * c->d,
                     .v_count = kv_slices * c->nk * c->dv,
                     .out_count = slices * c->nq * c->dv};
    d->q = malloc(d->q_count * 4);
    d->k = malloc(d->k_count * 4);
    d->v = malloc(d->v_count * 4);
    d->out = malloc(d->out_count * 4);
    d->expected = malloc(d->out_count * 4);
    if (!d->q || !d->k || !d->v || !d->out || !d->expected)
        return false;
    test_seed(c->seed);
    fill(d->q, d->q_count, c->dtype == VKA_DTYPE_F16);
    fill(d->k, d->k_count, c->dtype == VKA_DTYPE_F16);
    fill(d->v, d->v_count, c->dtype == VKA_DTYPE_F16);
    return true;
}

/* Host data in the case's type: f32 as is, f16 packed into `scratch`. */
static vka_host_tensor host(const hash_case *c, const char *name, const float *x, size_t n, uint16_t *scratch)
{
    if (c->dtype != VKA_DTYPE_F16)
        return (vka_host_tensor){name, (void *)x, n * 4};
    vka_f16_from_f32(x, scratch, n);
    return (vka_host_tensor){name, scratch, n * 2};
}

/* The device's output and the reference's (in f32) for the case. */
static bool run_case(vka_context *ctx, const hash_case *c, hash_data *d)
{
    vka_graph *g = hash_graph(ctx, c);
    vka_plan *plan = NULL;
    if (!g)
        return false;
    bool f16 = c->dtype == VKA_DTYPE_F16;
    uint16_t *h = malloc((d->q_count + d->k_count + d->v_count + d->out_count) * 2);
    vka_host_tensor in[4] = {host(c, "q", d->q, d->q_count, h), host(c, "v", d->v, d->v_count, h + d->q_count)};
    uint32_t n = 2;
    if (!is_reformer(c))
        in[n++] = host(c, "k", d->k, d->k_count, h + d->q_count + d->v_count);
    if (c->kv_len)
        in[n++] = (vka_host_tensor){"kv_len", (void *)c->kv_len, c->batch * 4u};
    uint16_t *out_h = h + d->q_count + d->k_count + d->v_count;
    size_t out_bytes = d->out_count * (f16 ? 2 : 4);
    bool ok = vka_graph_reference(g, in, n, &(vka_host_tensor){"out", f16 ? (void *)out_h : d->expected, out_bytes},
                                  1) == VKA_SUCCESS;
    if (ok && f16)
        vka_f32_from_f16(out_h, d->expected, d->out_count);
    ok = ok && vka_plan_create(g, &(vka_plan_desc){0}, &plan) == VKA_SUCCESS;
    for (uint32_t i = 0; ok && i < n; i++)
        ok = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == VKA_SUCCESS;
    ok = ok && vka_plan_run(plan) == VKA_SUCCESS &&
         vka_plan_read(plan, "out", f16 ? (void *)out_h : d->out, out_bytes) == VKA_SUCCESS;
    if (ok && f16)
        vka_f32_from_f16(out_h, d->out, d->out_count);
    CHECK_MSG(ok, "%s: %s", c->op, vka_last_error(ctx));
    free(h);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return ok;
}

static void check_cases(const hash_case *cases, size_t count)
{
    if (!test_class_contexts(contexts))
        return;
    for (int cls = 0; cls < 2; cls++)
        for (size_t i = 0; i < count; i++) {
            const hash_case *c = &cases[i];
            hash_data d = {0};
            if (data_make(c, &d) && run_case(contexts[cls], c, &d)) {
                char label[128];
                snprintf(label, sizeof label, "%s %s case %zu (N = %u, %s)", c->op, class_names[cls], i, c->nq,
                         c->dtype == VKA_DTYPE_F16 ? "f16" : "f32");
                CHECK(c->dtype == VKA_DTYPE_F16 ? test_f16_gate(label, d.out, d.expected, d.out_count)
                                                : test_close(label, d.out, d.expected, d.out_count, 2e-5, 2e-4));
            }
            data_free(&d);
            test_check_validation(contexts[cls]);
        }
}

/* ------------------------------------------------------------------------- reformer */

static void reformer_matches_the_reference(void)
{
    static const int32_t lens[] = {300, 123}, lens3[] = {0, 1, 37}, lens90[] = {90, 61};
    // clang-format off
    const hash_case cases[] = {
        {"reformer", 1, 1, 0, 1, 1, 4, 4, {NULL}, .seed = 1},
        {"reformer", 2, 3, 0, 37, 37, 13, 6, {"rounds=3", "buckets=4", "chunk=5", "causal=1", NULL}, .seed = 2},
        {"reformer", 2, 2, 0, 300, 300, 32, 32, {"rounds=4", "buckets=16", "chunk=32", NULL}, .kv_len = lens, .seed = 3},
        {"reformer", 3, 1, 0, 37, 37, 8, 8, {"buckets=2", "rounds=1", "chunk=7", "causal=1", NULL}, .kv_len = lens3, .seed = 4},
        {"reformer", 1, 2, 0, 1000, 1000, 64, 64, {"seed=7", NULL}, .seed = 5},
        {"reformer", 1, 2, 0, 130, 130, 16, 16, {"chunk=1000", "buckets=6", NULL}, .seed = 6},
        {"reformer", 2, 2, 0, 200, 200, 32, 16, {"buckets=8", "chunk=16", "causal=1", NULL}, .dtype = VKA_DTYPE_F16, .seed = 7},
        {"reformer", 2, 4, 2, 90, 90, 16, 8, {"buckets=4", "chunk=10", NULL}, .kv_len = lens90, .seed = 8},
    };
    // clang-format on
    check_cases(cases, sizeof cases / sizeof *cases);
}

/* One chunk holding every token: full attention over the unit queries, without the
 * diagonal — computed here in double from the definition, no twin involved. */
static void one_chunk_is_full_attention_without_the_diagonal(void)
{
    if (!test_class_contexts(contexts))
        return;
    const hash_case c = {"reformer", 1, 2, 0, 50, 50, 16, 8, {"chunk=64", "rounds=3", NULL}, .seed = 11};
    hash_data d = {0};
    if (data_make(&c, &d) && run_case(contexts[1], &c, &d)) {
        double worst = 0;
        for (uint32_t s = 0; s < c.heads; s++)
            for (uint32_t i = 0; i < c.nq; i++) {
                const float *qi = d.q + ((size_t)s * c.nq + i) * c.d;
                double logits[50], top = -INFINITY, sum = 0;
                for (uint32_t j = 0; j < c.nq; j++) {
                    const float *qj = d.q + ((size_t)s * c.nq + j) * c.d;
                    double dot = 0, norm = 0;
                    for (uint32_t x = 0; x < c.d; x++) {
                        dot += (double)qi[x] * qj[x];
                        norm += (double)qj[x] * qj[x];
                    }
                    logits[j] = j == i ? -INFINITY : dot / sqrt(norm) / sqrt((double)c.d);
                    top = fmax(top, logits[j]);
                }
                for (uint32_t j = 0; j < c.nq; j++)
                    sum += exp(logits[j] - top);
                for (uint32_t e = 0; e < c.dv; e++) {
                    double o = 0;
                    for (uint32_t j = 0; j < c.nq; j++)
                        o += exp(logits[j] - top) / sum * d.v[((size_t)s * c.nq + j) * c.dv + e];
                    worst = fmax(worst, fabs(o - d.out[((size_t)s * c.nq + i) * c.dv + e]));
                }
            }
        CHECK_MSG(worst < 1e-5, "one chunk: worst error %g against full attention without the diagonal", worst);
    }
    data_free(&d);
    test_check_validation(contexts[1]);
}

/* Tokens past kv_len are padding: the rows before are those of the shorter sequence, the
 * padding's rows are 0. */
static void padding_changes_nothing_before_it(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const int32_t lens[] = {70};
    hash_case padded = {"reformer",     1,         2, 0, 100, 100, 16, 16, {"chunk=8", "buckets=8", "causal=1", NULL},
                        .kv_len = lens, .seed = 12};
    hash_case shorter = padded;
    shorter.nq = shorter.nk = 70;
    shorter.kv_len = NULL;
    hash_data a = {0}, b = {0};
    if (data_make(&padded, &a) && data_make(&shorter, &b)) {
        for (uint32_t s = 0; s < padded.heads; s++) { /* the same first 70 tokens */
            memcpy(b.q + (size_t)s * 70 * 16, a.q + (size_t)s * 100 * 16, 70 * 16 * 4);
            memcpy(b.v + (size_t)s * 70 * 16, a.v + (size_t)s * 100 * 16, 70 * 16 * 4);
        }
        if (run_case(contexts[0], &padded, &a) && run_case(contexts[0], &shorter, &b)) {
            double worst = 0, padding = 0;
            for (uint32_t s = 0; s < padded.heads; s++)
                for (uint32_t i = 0; i < 100 * 16; i++) {
                    float got = a.out[(size_t)s * 100 * 16 + i];
                    if (i < 70 * 16)
                        worst = fmax(worst, fabs(got - b.out[(size_t)s * 70 * 16 + i]));
                    else
                        padding = fmax(padding, fabs(got));
                }
            CHECK_MSG(worst < 1e-6 && padding == 0, "padding: rows differ by %g, padding rows reach %g", worst,
                      padding);
        }
    }
    data_free(&a);
    data_free(&b);
    test_check_validation(contexts[0]);
}

/* ------------------------------------------------------------------------ clustered */

static void clustered_matches_the_reference(void)
{
    static const int32_t lens[] = {150, 40}, lens3[] = {0, 9, 77};
    // clang-format off
    const hash_case cases[] = {
        {"clustered", 1, 1, 0, 1, 1, 4, 4, {NULL}, .seed = 21},
        {"clustered", 2, 2, 0, 200, 150, 32, 16, {"clusters=10", NULL}, .seed = 22},
        {"clustered", 2, 2, 0, 200, 150, 32, 16, {"clusters=10", "topk=8", NULL}, .kv_len = lens, .seed = 23},
        {"clustered", 3, 4, 2, 77, 77, 13, 6, {"clusters=9", "topk=5", "bits=20", NULL}, .kv_len = lens3, .seed = 24},
        {"clustered", 1, 2, 1, 300, 500, 64, 64, {"clusters=30", "topk=32", "iters=3", NULL}, .seed = 25},
        {"clustered", 1, 1, 0, 150, 64, 16, 16, {"clusters=17", "iters=0", "topk=64", NULL}, .seed = 26},
        {"clustered", 2, 2, 0, 128, 96, 32, 32, {"clusters=12", "topk=16", NULL}, .dtype = VKA_DTYPE_F16, .seed = 27},
    };
    // clang-format on
    check_cases(cases, sizeof cases / sizeof *cases);
}

/* With a cluster per query, or every key re-weighted, clustered attention is exact: here
 * against softmax's own reference. */
static void clustered_becomes_exact(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const int32_t lens[] = {33, 90};
    // clang-format off
    const hash_case cases[] = {
        {"clustered", 2, 2, 0, 90, 90, 16, 8, {"clusters=90", NULL}, .kv_len = lens, .seed = 31},
        {"clustered", 2, 2, 0, 90, 90, 16, 8, {"clusters=4", "topk=90", NULL}, .kv_len = lens, .seed = 32},
    };
    // clang-format on
    for (size_t i = 0; i < 2; i++) {
        hash_case exact = cases[i];
        exact.op = "softmax";
        exact.params[0] = NULL;
        hash_data d = {0}, s = {0};
        /* softmax takes k: build it with clustered's graph shape (q, v, k) */
        if (data_make(&cases[i], &d) && run_case(contexts[1], &cases[i], &d) && data_make(&exact, &s) &&
            run_case(contexts[1], &exact, &s))
            CHECK(test_close(i ? "topk = Nk" : "C = Nq", d.out, s.expected, d.out_count, 2e-5, 2e-4));
        data_free(&d);
        data_free(&s);
        test_check_validation(contexts[1]);
    }
}

/* ----------------------------------------------------------------------- bad inputs */

static void expect_refused(vka_context *ctx, const hash_case *c, bool with_k, const char *needle)
{
    vka_graph *g = NULL;
    vka_tensor q, k, v, o;
    vka_op_desc op = {.op = c->op};
    char keys[8][32];
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    uint32_t heads = c->heads ? c->heads : 2, kv_heads = c->kv_heads ? c->kv_heads : heads;
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {1, heads, c->nq, c->d}}, &q));
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {1, kv_heads, c->nk, c->d}}, &k));
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {1, kv_heads, c->nk, c->dv}}, &v));
    op.inputs[0] = (vka_op_input){"q", q};
    op.inputs[1] = (vka_op_input){"v", v};
    if (with_k) /* the Reformer takes none but q itself */
        op.inputs[2] = (vka_op_input){"k", k};
    for (uint32_t i = 0; c->params[i]; i++) {
        const char *eq = strchr(c->params[i], '=');
        snprintf(keys[i], sizeof keys[i], "%.*s", (int)(eq - c->params[i]), c->params[i]);
        op.params[i] = (vka_op_param){keys[i], eq + 1};
    }
    vka_result r = vka_graph_op(g, &op, &o);
    CHECK_MSG(r != VKA_SUCCESS && strstr(vka_last_error(ctx), needle), "%s %s: got %s, '%s' (wanted '%s')", c->op,
              c->params[0] ? c->params[0] : "", vka_result_string(r), vka_last_error(ctx), needle);
    vka_graph_destroy(g);
}

static void bad_inputs_are_refused(void)
{
    vka_context *ctx = test_context(NULL);
    if (!ctx)
        return;
    const struct {
        hash_case c;
        bool with_k;
        const char *needle;
    } bad[] = {
        // clang-format off
        {{"reformer", .nq = 8, .nk = 8, .d = 4, .dv = 4, {NULL}}, true, "k must be q itself"},
        {{"reformer", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"buckets=5", NULL}}, false, "buckets=5 must be even"},
        {{"reformer", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"buckets=1", NULL}}, false, "'buckets'"},
        {{"reformer", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"chunk=0", NULL}}, false, "'chunk'"},
        {{"reformer", .nq = 8, .nk = 9, .d = 4, .dv = 4, {NULL}}, false, "tokens"},
        {{"reformer", .heads = 2, .kv_heads = 3, .nq = 8, .nk = 8, .d = 4, .dv = 4, {NULL}}, false, "grouped heads"},
        {{"clustered", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"clusters=0", NULL}}, true, "'clusters'"},
        {{"clustered", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"clusters=9", NULL}}, true, "clusters=9 exceeds the 8 queries"},
        {{"clustered", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"topk=9", NULL}}, true, "topk=9 exceeds the 8 keys"},
        {{"clustered", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"bits=65", NULL}}, true, "'bits'"},
        {{"clustered", .nq = 8, .nk = 8, .d = 4, .dv = 4, {"causal=1", NULL}}, true, "causal"},
        // clang-format on
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_refused(ctx, &bad[i].c, bad[i].with_k, bad[i].needle);
    test_context_done(ctx);
}

/* ------------------------------------------------------------------ memory, benchmark */

/* Peak device bytes (planned only) at N = 2048 .. 16384: linear in N (fitted exponent). */
static void memory_is_linear_in_n(void)
{
    vka_context *ctx = test_context(NULL);
    if (!ctx)
        return;
    static const uint32_t sizes[] = {2048, 4096, 8192, 16384};
    static const hash_case shapes[] = {
        {"reformer", 1, 8, 0, 0, 0, 64, 64, {NULL}, .kv_len = NULL},
        {"clustered", 1, 8, 0, 0, 0, 64, 64, {"topk=32", NULL}, .kv_len = NULL},
    };
    for (int s = 0; s < 2; s++) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (int i = 0; i < 4; i++) {
            hash_case c = shapes[s];
            c.nq = c.nk = sizes[i];
            vka_graph *g = hash_graph(ctx, &c);
            vka_plan *plan = NULL;
            vka_plan_stats stats = {0};
            if (g)
                CHECK_OK(ctx, vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
            if (plan)
                vka_plan_stats_get(plan, &stats);
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
            double x = log((double)sizes[i]), y = log((double)stats.peak_device_bytes + 1);
            sx += x, sy += y, sxx += x * x, sxy += x * y;
        }
        double slope = (4 * sxy - sx * sy) / (4 * sxx - sx * sx);
        CHECK_MSG(slope >= 0.95 && slope <= 1.05, "%s: peak bytes grow as N^%.3f", shapes[s].op, slope);
    }
    test_context_done(ctx);
}

/* `vkattn bench --quality --scheme clustered` on a small shape: every point is there and
 * finite, and re-weighting the top 128 keys beats none at every cluster count. */
static void bench_quality_rows(void)
{
    char csv[64], command[1024];
    snprintf(csv, sizeof csv, "/tmp/vkattn_quality_%d.csv", (int)getpid());
    snprintf(command, sizeof command,
             "VKATTN_VALIDATION=1 '%s' bench --quality --scheme clustered --n 256 --heads 2 --d 16 --reps 1 --csv '%s' "
             ">/dev/null 2>&1",
             VKATTN_CLI_PATH, csv);
    CHECK_MSG(system(command) == 0, "%s failed", command);
    FILE *f = fopen(csv, "r");
    char line[4096];
    double error[2][4][4] = {{{0}}}; /* [inputs][topk][clusters] */
    int rows = 0;
    bool provenance = false; /* the header names the device and tool columns */
    while (f && fgets(line, sizeof line, f)) {
        provenance |= strstr(line, ",vendor_id,") && strstr(line, ",tool_version,commit,time_utc,command");
        char inputs[32];
        unsigned topk, clusters;
        double e, ms;
        if (sscanf(line, "clustered,%31[^,],%u,%u,%lf,%lf", inputs, &topk, &clusters, &e, &ms) != 5)
            continue;
        int kind = strcmp(inputs, "clustered") == 0, t = topk == 0 ? 0 : topk == 8 ? 1 : topk == 32 ? 2 : 3;
        int c = clusters == 25 ? 0 : clusters == 50 ? 1 : clusters == 100 ? 2 : 3;
        error[kind][t][c] = e;
        CHECK_MSG(isfinite(e) && e > 0 && e < 2 && ms > 0, "quality row: %s", line);
        rows++;
    }
    if (f)
        fclose(f);
    CHECK_MSG(rows == 32, "bench --quality wrote %d rows, not 32", rows);
    CHECK_MSG(provenance, "bench --quality's CSV names no device or tool");
    for (int kind = 0; kind < 2; kind++)
        for (int c = 0; c < 4; c++)
            CHECK_MSG(error[kind][3][c] < error[kind][0][c], "topk 128 (%g) is no better than none (%g)",
                      error[kind][3][c], error[kind][0][c]);
    remove(csv);
}

/* A bench row says what ran: the parameters as the op resolved them, the given one
 * (--param rounds=2) and the defaults (buckets 32, chunk 64); and where and when: the
 * tool's version and commit, the UTC time, the command line, the device's IDs. */
static void bench_rows_carry_resolved_params(void)
{
    char json[64], command[1024];
    snprintf(json, sizeof json, "/tmp/vkattn_rows_%d.json", (int)getpid());
    snprintf(command, sizeof command,
             "VKATTN_VALIDATION=1 '%s' bench --scheme reformer --n 128 --heads 1 --d 16 --reps 1 --no-check "
             "--param rounds=2 --json '%s' >/dev/null 2>&1",
             VKATTN_CLI_PATH, json);
    CHECK_MSG(system(command) == 0, "%s failed", command);
    static char text[8192];
    test_read_text(json, text, sizeof text);
    static const char *const needles[] = {"\"params\":{",
                                          "\"rounds\":2",
                                          "\"buckets\":32",
                                          "\"chunk\":64",
                                          "\"seed\":0",
                                          "\"tool\":{\"version\":",
                                          "\"commit\":",
                                          "\"time_utc\":\"20",
                                          "\"command\":\"vkattn bench",
                                          "\"vendor_id\":\"0x",
                                          "\"pipeline_cache_uuid\"",
                                          NULL};
    CHECK_MSG(test_contains_all(text, needles), "the row's parameters: %.400s", text);
    remove(json);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"reformer_matches_the_reference", reformer_matches_the_reference},
        {"one_chunk_is_full_attention_without_the_diagonal", one_chunk_is_full_attention_without_the_diagonal},
        {"padding_changes_nothing_before_it", padding_changes_nothing_before_it},
        {"clustered_matches_the_reference", clustered_matches_the_reference},
        {"clustered_becomes_exact", clustered_becomes_exact},
        {"bad_inputs_are_refused", bad_inputs_are_refused},
        {"memory_is_linear_in_n", memory_is_linear_in_n},
        {"bench_quality_rows", bench_quality_rows},
        {"bench_rows_carry_resolved_params", bench_rows_carry_resolved_params},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        test_context_done(contexts[i]);
    return status;
}
