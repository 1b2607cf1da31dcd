/* The gated recurrent forms (SCHEMES.md §10): gla, retention, deltanet against the
 * double-precision recurrences (engine/ref/gated.c) — D ∈ {16, 40}, Dv ≠ D, grouped heads,
 * kv_len, a run longer than one dispatch's loop budget on lavapipe — and decoding: one
 * token per run and uneven chunks reproduce the batch form (1e-5 relative per row), the
 * state saved and restored; bad inputs refused by name. Both kernel classes, validation
 * layer on. (The public vectors run through test_vectors.) */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "harness.h"
#include "vkattn/io.h"

#include <unistd.h>

#include <string.h>

#define COUNT(x) (sizeof(x) / sizeof *(x))

static vka_context *contexts[2];

typedef struct gated_case {
    const char *op;
    uint32_t batch, heads, kv_heads, n, d, dv;
    bool kv_len, gates; /* deltanet: with gates (gla always, retention never) */
    const char *extra_key, *extra_value;
} gated_case;

typedef struct gated_data {
    float *q, *k, *v, *gates, *beta;
    int32_t lens[4];
    size_t qn, kn, vn, gn, bn, on;
} gated_data;

static bool has_gates(const gated_case *c)
{
    return strcmp(c->op, "gla") == 0 || (strcmp(c->op, "deltanet") == 0 && c->gates);
}

static bool is_deltanet(const gated_case *c)
{
    return strcmp(c->op, "deltanet") == 0;
}

/* Inputs in the forms' domains: log gates in [−1, 0), β in (0, 1). */
static bool data_make(const gated_case *c, uint64_t seed, gated_data *x)
{
    *x = (gated_data){.qn = (size_t)c->batch * c->heads * c->n * c->d,
                      .kn = (size_t)c->batch * c->kv_heads * c->n * c->d,
                      .vn = (size_t)c->batch * c->kv_heads * c->n * c->dv,
                      .gn = (size_t)c->batch * c->heads * c->n * (strcmp(c->op, "gla") == 0 ? c->d : 1),
                      .bn = (size_t)c->batch * c->heads * c->n,
                      .on = (size_t)c->batch * c->heads * c->n * c->dv};
    x->q = malloc(x->qn * 4), x->k = malloc(x->kn * 4), x->v = malloc(x->vn * 4);
    x->gates = malloc(x->gn * 4), x->beta = malloc(x->bn * 4);
    if (!x->q || !x->k || !x->v || !x->gates || !x->beta)
        return false;
    test_seed(seed);
    test_fill_normal(x->q, x->qn, 1.0f);
    test_fill_normal(x->k, x->kn, 1.0f / sqrtf((float)c->d));
    test_fill_normal(x->v, x->vn, 1.0f);
    for (size_t i = 0; i < x->gn; i++)
        x->gates[i] = -fabsf(test_normal()) * 0.3f - 0.01f;
    for (size_t i = 0; i < x->bn; i++)
        x->beta[i] = 0.05f + 0.9f * (0.5f + 0.5f * tanhf(test_normal()));
    for (uint32_t b = 0; b < c->batch && b < 4; b++)
        x->lens[b] = c->kv_len ? (int32_t)(c->n - (b * 7) % c->n) : (int32_t)c->n;
    return true;
}

static void data_free(gated_data *x)
{
    free(x->q);
    free(x->k);
    free(x->v);
    free(x->gates);
    free(x->beta);
}

/* The op over `tokens` tokens (q, k, v, gates, beta in that shape), decode or not. */
static vka_graph *gated_graph(vka_context *ctx, const gated_case *c, uint32_t tokens, bool decode)
{
    vka_graph *g = NULL;
    vka_tensor q, k, v, l = {0}, gt = {0}, bt = {0}, o;
    vka_result r = vka_graph_create(ctx, &g);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {c->batch, c->heads, tokens, c->d}}, &q);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {c->batch, c->kv_heads, tokens, c->d}}, &k);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {c->batch, c->kv_heads, tokens, c->dv}}, &v);
    if (!r && c->kv_len && !decode)
        r = vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {c->batch}}, &l);
    if (!r && has_gates(c))
        r = strcmp(c->op, "gla") == 0
                ? vka_graph_input(g, &(vka_tensor_desc){"gates", .rank = 4, .dims = {c->batch, c->heads, tokens, c->d}},
                                  &gt)
                : vka_graph_input(g, &(vka_tensor_desc){"gates", .rank = 3, .dims = {c->batch, c->heads, tokens}}, &gt);
    if (!r && is_deltanet(c))
        r = vka_graph_input(g, &(vka_tensor_desc){"beta", .rank = 3, .dims = {c->batch, c->heads, tokens}}, &bt);
    vka_op_desc op = {.op = c->op,
                      .inputs = {{"q", q},
                                 {"k", k},
                                 {"v", v},
                                 {l.id ? "kv_len" : NULL, l},
                                 {gt.id ? "gates" : NULL, gt},
                                 {bt.id ? "beta" : NULL, bt}},
                      .params = {{"decode", decode ? "1" : "0"}, {c->extra_key, c->extra_value}}};
    /* the inputs list ends at the first without a role: pack them */
    uint32_t n = 0;
    for (uint32_t i = 0; i < 6; i++)
        if (op.inputs[i].role)
            op.inputs[n++] = op.inputs[i];
    for (uint32_t i = n; i < 6; i++)
        op.inputs[i] = (vka_op_input){0};
    if (!r)
        r = vka_graph_op(g, &op, &o);
    if (!r)
        r = vka_graph_output(g, "o", o);
    if (r) {
        CHECK_MSG(0, "%s graph: %s", c->op, vka_last_error(ctx));
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

/* Tokens [t0, t0 + n) of every slice of x ([slices, all, w]) into out ([slices, n, w]). */
static void take(const float *x, size_t slices, uint32_t all, uint32_t w, uint32_t t0, uint32_t n, float *out)
{
    for (size_t s = 0; s < slices; s++)
        memcpy(out + s * n * w, x + (s * all + t0) * w, (size_t)n * w * 4);
}

/* Writes tokens [t0, t0 + n) of every input (all of them when the plan takes `n` = all). */
static vka_result write_tokens(vka_plan *plan, const gated_case *c, const gated_data *x, uint32_t t0, uint32_t n)
{
    const struct {
        const char *name;
        const float *data;
        size_t slices;
        uint32_t width;
        bool used;
    } parts[] = {{"q", x->q, (size_t)c->batch * c->heads, c->d, true},
                 {"k", x->k, (size_t)c->batch * c->kv_heads, c->d, true},
                 {"v", x->v, (size_t)c->batch * c->kv_heads, c->dv, true},
                 {"gates", x->gates, (size_t)c->batch * c->heads, strcmp(c->op, "gla") == 0 ? c->d : 1, has_gates(c)},
                 {"beta", x->beta, (size_t)c->batch * c->heads, 1, is_deltanet(c)}};
    vka_result r = VKA_SUCCESS;
    for (size_t i = 0; !r && i < COUNT(parts); i++) {
        if (!parts[i].used)
            continue;
        size_t count = parts[i].slices * n * parts[i].width;
        float *chunk = malloc(count * 4);
        if (!chunk)
            return VKA_ERROR_OUT_OF_HOST_MEMORY;
        take(parts[i].data, parts[i].slices, c->n, parts[i].width, t0, n, chunk);
        r = vka_plan_write(plan, parts[i].name, chunk, count * 4);
        free(chunk);
    }
    return r;
}

/* The batch run against the reference; its output in `out` (x->on floats). */
static bool batch_matches_reference(vka_context *ctx, const gated_case *c, const gated_data *x, float *out)
{
    vka_graph *g = gated_graph(ctx, c, c->n, false);
    float *ref = malloc(x->on * 4);
    vka_host_tensor in[6] = {{"q", x->q, x->qn * 4}, {"k", x->k, x->kn * 4}, {"v", x->v, x->vn * 4}};
    uint32_t count = 3;
    if (c->kv_len)
        in[count++] = (vka_host_tensor){"kv_len", (void *)x->lens, c->batch * 4};
    if (has_gates(c))
        in[count++] = (vka_host_tensor){"gates", x->gates, x->gn * 4};
    if (is_deltanet(c))
        in[count++] = (vka_host_tensor){"beta", x->beta, x->bn * 4};
    bool ok = g && ref && vka_graph_reference(g, in, count, &(vka_host_tensor){"o", ref, x->on * 4}, 1) == 0;
    vka_plan *plan = NULL;
    ok = ok && vka_plan_create(g, NULL, &plan) == 0;
    ok = ok && write_tokens(plan, c, x, 0, c->n) == 0;
    if (ok && c->kv_len)
        ok = vka_plan_write(plan, "kv_len", x->lens, c->batch * 4) == 0;
    ok = ok && vka_plan_run(plan) == 0 && vka_plan_read(plan, "o", out, x->on * 4) == 0;
    char what[96];
    snprintf(what, sizeof what, "%s B=%u H=%u/%u N=%u D=%u Dv=%u%s", c->op, c->batch, c->heads, c->kv_heads, c->n, c->d,
             c->dv, c->kv_len ? " kv_len" : "");
    if (!ok)
        CHECK_MSG(0, "%s: %s", what, vka_last_error(ctx));
    else
        ok = test_close(what, out, ref, x->on, 2e-5, 2e-4);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    free(ref);
    return ok;
}

static const gated_case cases[] = {
    {"gla", 2, 2, 2, 37, 16, 16, true, false, NULL, NULL},
    {"gla", 1, 4, 2, 20, 40, 24, false, false, NULL, NULL},
    {"retention", 2, 3, 3, 50, 16, 16, true, false, NULL, NULL},
    {"retention", 1, 2, 1, 9, 8, 12, false, false, "gamma", "0.5,0.9"},
    {"deltanet", 2, 2, 2, 33, 16, 16, true, true, NULL, NULL},
    {"deltanet", 1, 4, 2, 21, 40, 24, false, false, NULL, NULL},
    {"deltanet", 1, 2, 2, 12, 16, 16, false, true, "qk_l2norm", "0"},
};

static void matches_reference(void)
{
    if (!test_class_contexts(contexts))
        return;
    for (int cls = 0; cls < 2; cls++)
        for (size_t i = 0; i < COUNT(cases); i++) {
            gated_data x;
            CHECK(data_make(&cases[i], 10 + i, &x));
            float *out = malloc(x.on * 4);
            batch_matches_reference(contexts[cls], &cases[i], &x, out);
            free(out);
            data_free(&x);
        }
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
}

/* A sequence longer than lavapipe's loop budget in one run: several dispatches carrying
 * the state (70,000 tokens, one head, D = Dv = 4). */
static void longer_than_one_dispatch(void)
{
    if (!test_class_contexts(contexts))
        return;
    gated_case c = {"retention", 1, 1, 1, 70000, 4, 4, false, false, "gamma", "0.9"};
    gated_data x;
    CHECK(data_make(&c, 3, &x));
    float *out = malloc(x.on * 4);
    batch_matches_reference(contexts[0], &c, &x, out);
    free(out);
    data_free(&x);
    test_check_validation(contexts[0]);
}

/* Decoding `chunk` tokens per run (the last run shorter when it does not divide N: a
 * second plan) reproduces the batch rows; a saved state restored gives the same rows. */
static void decode_matches_batch(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const uint32_t chunks[] = {1, 5};
    for (int cls = 0; cls < 2; cls++)
        for (size_t i = 0; i < COUNT(cases); i++)
            for (size_t ch = 0; ch < COUNT(chunks); ch++) {
                gated_case c = cases[i];
                c.kv_len = false;
                if (c.n % chunks[ch])
                    c.n -= c.n % chunks[ch]; /* whole chunks: one plan */
                vka_context *ctx = contexts[cls];
                gated_data x;
                CHECK(data_make(&c, 40 + i, &x));
                float *batch = malloc(x.on * 4), *step = malloc(x.on * 4);
                if (!batch_matches_reference(ctx, &c, &x, batch)) {
                    free(batch), free(step), data_free(&x);
                    continue;
                }
                gated_case one = c;
                one.n = chunks[ch];
                vka_graph *g = gated_graph(ctx, &one, chunks[ch], true);
                vka_plan *plan = NULL;
                if (g)
                    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
                vka_graph_destroy(g);
                size_t per_run = (size_t)c.batch * c.heads * chunks[ch] * c.dv;
                float *out = malloc(per_run * 4);
                double worst = 0;
                for (uint32_t t0 = 0; plan && t0 < c.n; t0 += chunks[ch]) {
                    gated_case whole = c; /* writes slice tokens of the whole sequence */
                    if (write_tokens(plan, &whole, &x, t0, chunks[ch]) || vka_plan_run(plan) ||
                        vka_plan_read(plan, "o", out, per_run * 4)) {
                        CHECK_MSG(0, "%s decode: %s", c.op, vka_last_error(ctx));
                        break;
                    }
                    for (size_t s = 0; s < (size_t)c.batch * c.heads; s++)
                        for (uint32_t t = 0; t < chunks[ch]; t++) {
                            const float *a = out + (s * chunks[ch] + t) * c.dv, *e = batch + (s * c.n + t0 + t) * c.dv;
                            double diff = 0, norm = 0;
                            for (uint32_t d = 0; d < c.dv; d++) {
                                diff += ((double)a[d] - e[d]) * ((double)a[d] - e[d]);
                                norm += (double)e[d] * e[d];
                            }
                            double rel = sqrt(diff) / (sqrt(norm) + 1e-30);
                            worst = rel > worst || isnan(rel) ? rel : worst;
                        }
                }
                CHECK_MSG(worst <= 1e-5, "class %d %s decoding %u at a time: %.3g from the batch form", cls, c.op,
                          chunks[ch], worst);
                vka_plan_destroy(plan);
                free(out);
                free(batch);
                free(step);
                data_free(&x);
            }
    test_check_validation(contexts[0]);
    test_check_validation(contexts[1]);
}

/* Values outside an input's range are refused on write, naming the element: gla's gates
 * above 0 (a decay over 1), deltanet's β at or outside (0, 1), NaN; in-range values pass
 * (−∞ gates too: a decay of 0), and the reference refuses the same. */
static void values_out_of_range_are_refused(void)
{
    vka_context *ctx = contexts[0] ? contexts[0] : (test_class_contexts(contexts), contexts[0]);
    if (!ctx)
        return;
    vka_graph *g = NULL;
    vka_tensor q, k, v, gates, beta, o;
    uint32_t n = 4;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {1, 1, n, 4}}, &q);
    vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {1, 1, n, 4}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {1, 1, n, 4}}, &v);
    vka_graph_input(g, &(vka_tensor_desc){"gates", .rank = 3, .dims = {1, 1, n}}, &gates);
    vka_graph_input(g, &(vka_tensor_desc){"beta", .rank = 3, .dims = {1, 1, n}}, &beta);
    CHECK_OK(ctx,
             vka_graph_op(g,
                          &(vka_op_desc){.op = "deltanet",
                                         .inputs = {{"q", q}, {"k", k}, {"v", v}, {"gates", gates}, {"beta", beta}}},
                          &o));
    CHECK_OK(ctx, vka_graph_output(g, "o", o));
    vka_plan *plan = NULL;
    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    const struct {
        const char *input;
        float values[4];
        const char *needle; /* NULL: accepted */
    } writes[] = {
        {"gates", {-1.0f, 0.0f, -INFINITY, -0.5f}, NULL},
        {"gates", {-1.0f, 0.25f, -2.0f, -0.5f}, "gates[1] = 0.25 is outside [-inf, 0]"},
        {"gates", {-1.0f, -1.0f, NAN, -0.5f}, "gates[2]"},
        {"beta", {0.5f, 0.999f, 1e-6f, 0.25f}, NULL},
        {"beta", {0.5f, 1.0f, 0.5f, 0.5f}, "beta[1] = 1 is outside (0, 1)"},
        {"beta", {0.0f, 0.5f, 0.5f, 0.5f}, "beta[0] = 0 is outside (0, 1)"},
    };
    for (size_t i = 0; plan && i < COUNT(writes); i++) {
        vka_result r = vka_plan_write(plan, writes[i].input, writes[i].values, sizeof writes[i].values);
        if (!writes[i].needle)
            CHECK_MSG(r == VKA_SUCCESS, "write %zu refused: %s", i, vka_last_error(ctx));
        else
            CHECK_MSG(r == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(ctx), writes[i].needle),
                      "write %zu: %s (wanted '%s')", i, r ? vka_last_error(ctx) : "accepted", writes[i].needle);
    }
    float ones[16], out[16], bad_beta[4] = {0.5f, 2.0f, 0.5f, 0.5f}, gates_ok[4] = {0};
    for (int i = 0; i < 16; i++)
        ones[i] = 1.0f;
    vka_host_tensor in[] = {{"q", ones, sizeof ones},
                            {"k", ones, sizeof ones},
                            {"v", ones, sizeof ones},
                            {"gates", gates_ok, sizeof gates_ok},
                            {"beta", bad_beta, sizeof bad_beta}};
    vka_result r = vka_graph_reference(g, in, 5, &(vka_host_tensor){"o", out, sizeof out}, 1);
    CHECK_MSG(r == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(ctx), "beta[1] = 2"),
              "the reference took beta 2: %s", vka_last_error(ctx));
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
}

/* `vkattn run … decode=1 chunk=5` over 13 tokens (the last run short: the tool's kv_len)
 * for every recurrent scheme, their per-token inputs (gates, β) chunked with q, k, v: the
 * rows of the batch form. */
static void cli_decode_matches_batch(void)
{
    char dir[] = "/tmp/vkattn_gated_cli_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp failed");
        return;
    }
    enum { B = 2, H = 2, N = 13, D = 8 };
    static float x[B * H * N * D];
    const struct {
        const char *name;
        uint32_t rank, dims[4];
        vka_value_range range;
    } files[] = {
        {"q", 4, {B, H, N, D}, {0}},
        {"k", 4, {B, H, N, D}, {0}},
        {"v", 4, {B, H, N, D}, {0}},
        {"g4", 4, {B, H, N, D}, {.bounded = true, .min = -INFINITY, .max = 0}},
        {"g3", 3, {B, H, N}, {.bounded = true, .min = -INFINITY, .max = 0}},
        {"beta", 3, {B, H, N}, {.bounded = true, .open_min = true, .open_max = true, .min = 0, .max = 1}},
        {"query", 4, {1, H, 1, D}, {0}},
    };
    char path[256], command[2048];
    test_seed(91);
    for (size_t i = 0; i < COUNT(files); i++) {
        size_t n = 1;
        for (uint32_t a = 0; a < files[i].rank; a++)
            n *= files[i].dims[a];
        test_fill_normal(x, n, 1.0f);
        vka_value_range_place(&files[i].range, x, n);
        snprintf(path, sizeof path, "%s/%s.npy", dir, files[i].name);
        CHECK_OK(NULL, vka_npy_save(NULL, path, VKA_DTYPE_F32, files[i].rank, files[i].dims, x));
    }
    static const char *const runs[] = {"gla q=q.npy k=k.npy v=v.npy gates=g4.npy", "retention q=q.npy k=k.npy v=v.npy",
                                       "deltanet q=q.npy k=k.npy v=v.npy gates=g3.npy beta=beta.npy",
                                       "aaren query=query.npy k=k.npy v=v.npy"};
    for (size_t i = 0; i < COUNT(runs); i++) {
        snprintf(command, sizeof command,
                 "cd '%s' && VKATTN_VALIDATION=1 '%s' run %s out=batch.npy >/dev/null 2>&1 && VKATTN_VALIDATION=1 "
                 "'%s' run %s decode=1 chunk=5 out=decoded.npy >/dev/null 2>&1",
                 dir, VKATTN_CLI_PATH, runs[i], VKATTN_CLI_PATH, runs[i]);
        CHECK_MSG(system(command) == 0, "failed: %s", command);
        vka_npy batch = {0}, decoded = {0};
        char batch_path[300], decoded_path[300];
        snprintf(batch_path, sizeof batch_path, "%s/batch.npy", dir);
        snprintf(decoded_path, sizeof decoded_path, "%s/decoded.npy", dir);
        if (vka_npy_load(NULL, batch_path, &batch) == VKA_SUCCESS &&
            vka_npy_load(NULL, decoded_path, &decoded) == VKA_SUCCESS && batch.bytes == decoded.bytes &&
            batch.bytes == (size_t)B * H * N * D * 4)
            CHECK(test_close(runs[i], decoded.data, batch.data, batch.bytes / 4, 1e-6, 1e-5));
        else
            CHECK_MSG(0, "%s: outputs missing or of the wrong size", runs[i]);
        vka_npy_free(&batch);
        vka_npy_free(&decoded);
        remove(batch_path);
        remove(decoded_path);
    }
    for (size_t i = 0; i < COUNT(files); i++) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, files[i].name);
        remove(path);
    }
    rmdir(dir);
}

/* Misuse refused by name. */
static void bad_inputs(void)
{
    vka_context *ctx = contexts[0] ? contexts[0] : (test_class_contexts(contexts), contexts[0]);
    if (!ctx)
        return;
    struct {
        gated_case c;
        const char *needle;
    } bad[] = {
        {{"retention", 1, 3, 3, 8, 8, 8, false, false, "gamma", "0.5,0.9"}, "gives 2 decays; q has 3 heads"},
        {{"retention", 1, 2, 2, 8, 8, 8, false, false, "gamma", "0.5,1.5"}, "in (0, 1]"},
        {{"gla", 1, 2, 2, 8, 8, 8, false, false, "causal", "0"}, "causal only"},
        {{"deltanet", 1, 3, 2, 8, 8, 8, false, false, NULL, NULL}, "heads"},
        {{"gla", 1, 2, 2, 8, 300, 8, false, false, NULL, NULL}, "head dim 300"},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        vka_graph *g = NULL;
        vka_tensor q, k, v, gt, bt, o;
        const gated_case *c = &bad[i].c;
        CHECK_OK(ctx, vka_graph_create(ctx, &g));
        vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {c->batch, c->heads, c->n, c->d}}, &q);
        vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {c->batch, c->kv_heads, c->n, c->d}}, &k);
        vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {c->batch, c->kv_heads, c->n, c->dv}}, &v);
        vka_graph_input(g, &(vka_tensor_desc){"gates", .rank = 4, .dims = {c->batch, c->heads, c->n, c->d}}, &gt);
        vka_graph_input(g, &(vka_tensor_desc){"beta", .rank = 3, .dims = {c->batch, c->heads, c->n}}, &bt);
        vka_op_desc op = {
            .op = c->op, .inputs = {{"q", q}, {"k", k}, {"v", v}}, .params = {{c->extra_key, c->extra_value}}};
        if (strcmp(c->op, "gla") == 0)
            op.inputs[3] = (vka_op_input){"gates", gt};
        if (strcmp(c->op, "deltanet") == 0)
            op.inputs[3] = (vka_op_input){"beta", bt};
        vka_result r = vka_graph_op(g, &op, &o);
        CHECK_MSG(r != VKA_SUCCESS && strstr(vka_last_error(ctx), bad[i].needle), "case %zu: %s (wanted '%s')", i,
                  r ? vka_last_error(ctx) : "accepted", bad[i].needle);
        vka_graph_destroy(g);
    }
}

int main(int argc, char **argv)
{
    static const test_case tests[] = {
        {"matches_reference", matches_reference},
        {"longer_than_one_dispatch", longer_than_one_dispatch},
        {"decode_matches_batch", decode_matches_batch},
        {"bad_inputs", bad_inputs},
        {"values_out_of_range_are_refused", values_out_of_range_are_refused},
        {"cli_decode_matches_batch", cli_decode_matches_batch},
    };
    int status = test_main(argc, argv, tests, COUNT(tests));
    for (int i = 0; i < 2; i++)
        test_context_done(contexts[i]);
    return status;
}
