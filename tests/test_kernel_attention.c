#define _POSIX_C_SOURCE 200809L /* mkdtemp */
/* Kernel (feature-map) attention — `linear` and `performer` — against the double-precision
 * reference: shapes (Nq ≠ Nk, causal, kv_len, N = 1, D ∈ {16, 40, 64, 128}, m ∈ {1, 7, 64,
 * 256}), each feature map, decoding ≡ the batch causal form over 1000 steps, the
 * projection generator, inputs with large norms, and bad parameters. Both kernel
 * classes, validation layer on. */
#include "attention_util.h"
#include "vkattn/io.h"

#include <unistd.h>

static vka_context *contexts[2]; /* CPU class, GPU class */

static bool have_contexts(void)
{
    return test_class_contexts(contexts);
}

static void validation_quiet(void)
{
    for (int i = 0; i < 2; i++)
        test_check_validation(contexts[i]);
}

/* GPU (both classes) against the reference for one case. */
static void check_case(attn_case c, double atol, double rtol)
{
    if (!have_contexts())
        return;
    attn_data data = {0};
    if (!attn_data_make(contexts[0], &c, &data)) {
        CHECK_MSG(0, "%s: could not make the case's data: %s", c.scheme, vka_last_error(contexts[0]));
    } else {
        for (int cls = 0; cls < 2; cls++) {
            char label[200];
            snprintf(label, sizeof label, "%s%s%s B%u H%u Nq%u Nk%u D%u Dv%u causal%d kv_len%s %s", c.scheme,
                     c.kernel ? " " : "", c.kernel ? c.kernel : "", c.batch, c.heads, c.nq, c.nk, c.d,
                     c.dv ? c.dv : c.d, c.causal, c.kv_len ? "yes" : "no", cls ? "gpu" : "cpu");
            for (int i = 0; c.params && c.params[i].key; i++) {
                size_t used = strlen(label);
                snprintf(label + used, sizeof label - used, " %s=%s", c.params[i].key, c.params[i].value);
            }
            attn_check(contexts[cls], &c, &data, atol, rtol, label);
        }
    }
    attn_data_free(&data);
    validation_quiet();
}

static void linear_shapes(void)
{
    static const uint32_t dims[] = {16, 40, 64, 128};
    static const uint32_t lengths[] = {1, 17, 129, 300};
    for (size_t i = 0; i < 4; i++)
        for (size_t n = 0; n < 4; n++)
            for (int causal = 0; causal < 2; causal++)
                check_case((attn_case){.scheme = "linear",
                                       .batch = 1,
                                       .heads = 2,
                                       .nq = lengths[n],
                                       .nk = lengths[n],
                                       .d = dims[i],
                                       .causal = causal,
                                       .seed = 100 + i * 10 + n},
                           1e-5, 1e-4);
}

static void linear_cross_attention(void)
{
    static const uint32_t shapes[][3] = {{5, 300, 64}, {300, 17, 40}, {1, 129, 16}, {129, 1, 16}, {70, 33, 24}};
    for (size_t i = 0; i < 5; i++)
        for (int causal = 0; causal < 2; causal++)
            check_case((attn_case){.scheme = "linear",
                                   .batch = 2,
                                   .heads = 2,
                                   .nq = shapes[i][0],
                                   .nk = shapes[i][1],
                                   .d = shapes[i][2],
                                   .dv = shapes[i][2] == 40 ? 20 : 0,
                                   .causal = causal,
                                   .seed = 200 + i},
                       1e-5, 1e-4);
}

static void linear_kv_len(void)
{
    static const int32_t lens[] = {0, 150, 300};
    for (int causal = 0; causal < 2; causal++)
        check_case((attn_case){.scheme = "linear",
                               .batch = 3,
                               .heads = 2,
                               .nq = 129,
                               .nk = 300,
                               .d = 40,
                               .causal = causal,
                               .kv_len = lens,
                               .seed = 7},
                   1e-5, 1e-4);
}

static void performer_feature_maps(void)
{
    static const char *const kinds[] = {"positive", "hyperbolic", "trig"};
    static const char *const ms[] = {"1", "7", "64", "256"};
    for (int k = 0; k < 3; k++)
        for (int m = 0; m < 4; m++)
            for (int causal = 0; causal < 2; causal++) {
                vka_op_param params[] = {{"features", ms[m]}, {"seed", "3"}, {0}};
                /* Trig features take both signs: few of them make the normaliser small and the
                 * output sensitive, as in the reference vectors' tolerances. */
                double atol = k == 2 ? 1e-3 : 1e-4, rtol = k == 2 ? 1e-2 : 1e-3;
                check_case((attn_case){.scheme = "performer",
                                       .kernel = kinds[k],
                                       .params = params,
                                       .batch = 1,
                                       .heads = 2,
                                       .nq = 64,
                                       .nk = 100,
                                       .d = m % 2 ? 16 : 64,
                                       .causal = causal,
                                       .input_scale = 0.5f,
                                       .seed = 300 + k * 10 + m},
                           atol, rtol);
            }
}

static void performer_shapes_and_kv_len(void)
{
    static const int32_t lens[] = {1, 0, 77};
    vka_op_param params[] = {{"features", "64"}, {0}};
    const attn_case shapes[] = {
        {.batch = 3, .heads = 1, .nq = 50, .nk = 77, .d = 40, .causal = true, .kv_len = lens, .seed = 11},
        {.batch = 3, .heads = 1, .nq = 50, .nk = 77, .d = 40, .kv_len = lens, .seed = 12},
        {.batch = 1, .heads = 1, .nq = 1, .nk = 1, .d = 128, .causal = true, .seed = 13},
        {.batch = 2, .heads = 2, .nq = 200, .nk = 30, .d = 64, .dv = 16, .causal = true, .seed = 14},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        attn_case c = shapes[i];
        c.scheme = "performer";
        c.params = params;
        check_case(c, 1e-4, 1e-3);
    }
}

/* |x| ≈ 10 and far beyond: the stabilisers keep every output finite. */
static void large_norms_stay_finite(void)
{
    static const char *const kinds[] = {"positive", "hyperbolic", "trig"};
    if (!have_contexts())
        return;
    for (int k = 0; k < 4; k++)
        for (int causal = 0; causal < 2; causal++) {
            vka_op_param params[] = {{"features", "64"}, {0}};
            attn_case c = {.scheme = k < 3 ? "performer" : "linear",
                           .kernel = k < 3 ? kinds[k] : NULL,
                           .params = k < 3 ? params : NULL,
                           .batch = 1,
                           .heads = 2,
                           .nq = 40,
                           .nk = 60,
                           .d = 64,
                           .causal = causal,
                           .seed = 17};
            attn_data data = {0};
            CHECK(attn_data_make(contexts[0], &c, &data));
            /* Rows of norm ~10 (1.25 per element), and some rows of norm ~100. */
            for (size_t i = 0; i < data.q_bytes / 4; i++)
                data.q[i] *= (i / 64) % 5 == 0 ? 12.5f : 1.25f;
            for (size_t i = 0; i < data.k_bytes / 4; i++)
                data.k[i] *= (i / 64) % 7 == 0 ? 12.5f : 1.25f;
            float *out = malloc(data.out_bytes);
            for (int cls = 0; out && cls < 2; cls++) {
                CHECK_OK(contexts[cls], attn_run_gpu(contexts[cls], &c, &data, out, NULL));
                bool finite = true;
                for (size_t i = 0; i < data.out_bytes / 4; i++)
                    finite = finite && isfinite(out[i]);
                CHECK_MSG(finite, "%s %s causal %d: non-finite output", c.scheme, c.kernel ? c.kernel : "", causal);
            }
            free(out);
            attn_data_free(&data);
        }
    validation_quiet();
}

/* ------------------------------------------------------------------ decoding */

typedef struct decode_setup {
    const char *scheme;
    const vka_op_param *params;
    uint32_t heads, d, steps, chunk;
} decode_setup;

/* A plan that takes `chunk` new tokens per run, with its persistent state. */
static vka_plan *decode_plan(vka_context *ctx, const decode_setup *s)
{
    attn_case c = {.scheme = s->scheme,
                   .params = s->params,
                   .batch = 1,
                   .heads = s->heads,
                   .nq = s->chunk,
                   .nk = s->chunk,
                   .d = s->d,
                   .causal = true};
    vka_op_param params[VKA_MAX_OP_PARAMS] = {{"decode", "1"}};
    for (int i = 0; s->params && s->params[i].key; i++)
        params[i + 1] = s->params[i];
    c.params = params;
    vka_graph *g = attn_graph(ctx, &c);
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    vka_graph_destroy(g);
    return plan;
}

/* Copies token range [t0, t0 + n) of every head of x ([1, H, N, D]) into out ([1, H, n, D]). */
static void take_tokens(const float *x, uint32_t heads, uint32_t n_all, uint32_t d, uint32_t t0, uint32_t n, float *out)
{
    for (uint32_t h = 0; h < heads; h++)
        memcpy(out + (size_t)h * n * d, x + ((size_t)h * n_all + t0) * d, (size_t)n * d * sizeof(float));
}

/* Decoding `steps` tokens, `chunk` per run, reproduces the batch causal outputs. */
static void decode_matches_batch(const decode_setup *s, vka_context *ctx)
{
    const uint32_t n = s->steps, h = s->heads, d = s->d;
    attn_case batch = {.scheme = s->scheme,
                       .params = s->params,
                       .batch = 1,
                       .heads = h,
                       .nq = n,
                       .nk = n,
                       .d = d,
                       .causal = true,
                       .seed = 41};
    attn_data data = {0};
    /* Growing magnitudes (input_scale, then per token) make later keys raise the running
     * stabiliser; the reference is made after the change. */
    CHECK(attn_data_make(ctx, &batch, &data));
    for (uint32_t hh = 0; hh < h; hh++)
        for (uint32_t t = 0; t < n; t++)
            for (uint32_t c = 0; c < d; c++)
                data.k[((size_t)hh * n + t) * d + c] *= 0.5f + 2.0f * t / n;
    CHECK(attn_reference(ctx, &batch, &data));
    float *batch_out = malloc(data.out_bytes), *step_out = malloc((size_t)h * s->chunk * d * 4);
    float *q = malloc((size_t)h * s->chunk * d * 4), *k = malloc((size_t)h * s->chunk * d * 4),
          *v = malloc((size_t)h * s->chunk * d * 4);
    vka_plan *plan = decode_plan(ctx, s);
    if (!plan || !batch_out || !step_out || !q || !k || !v || attn_run_gpu(ctx, &batch, &data, batch_out, NULL)) {
        CHECK_MSG(0, "%s decode set-up failed: %s", s->scheme, vka_last_error(ctx));
    } else {
        size_t bytes = (size_t)h * s->chunk * d * 4;
        double worst = 0;
        for (uint32_t t0 = 0; t0 + s->chunk <= n; t0 += s->chunk) {
            take_tokens(data.q, h, n, d, t0, s->chunk, q);
            take_tokens(data.k, h, n, d, t0, s->chunk, k);
            take_tokens(data.v, h, n, d, t0, s->chunk, v);
            vka_plan_write(plan, "q", q, bytes);
            vka_plan_write(plan, "k", k, bytes);
            vka_plan_write(plan, "v", v, bytes);
            CHECK_OK(ctx, vka_plan_run(plan));
            CHECK_OK(ctx, vka_plan_read(plan, "out", step_out, bytes));
            float *expected = malloc(bytes);
            take_tokens(batch_out, h, n, d, t0, s->chunk, expected);
            /* Relative to each row's norm. */
            for (uint32_t r = 0; r < h * s->chunk; r++) {
                double diff = 0, norm = 0;
                for (uint32_t c = 0; c < d; c++) {
                    double e = expected[(size_t)r * d + c], a = step_out[(size_t)r * d + c];
                    diff += (a - e) * (a - e);
                    norm += e * e;
                }
                double rel = sqrt(diff) / (sqrt(norm) + 1e-30);
                worst = rel > worst || isnan(rel) ? rel : worst;
            }
            free(expected);
        }
        CHECK_MSG(worst <= 1e-5,
                  "%s decoding %u tokens %u at a time: rows differ from the batch causal form by %.3g "
                  "(relative)",
                  s->scheme, n, s->chunk, worst);
        /* The batch form itself against the reference. */
        test_close("batch causal", batch_out, data.expected, data.out_bytes / 4, 1e-4, 1e-3);
    }
    vka_plan_destroy(plan);
    free(batch_out);
    free(step_out);
    free(q);
    free(k);
    free(v);
    attn_data_free(&data);
}

static void decoding_one_token_matches_batch_over_1000_steps(void)
{
    if (!have_contexts())
        return;
    vka_op_param performer[] = {{"features", "64"}, {"seed", "5"}, {0}};
    decode_setup setups[] = {
        {"linear", NULL, 2, 32, 1000, 1},
        {"performer", performer, 2, 32, 1000, 1},
    };
    for (int i = 0; i < 2; i++)
        decode_matches_batch(&setups[i], contexts[0]);
    validation_quiet();
}

static void decoding_in_chunks_matches_batch(void)
{
    if (!have_contexts())
        return;
    vka_op_param performer[] = {{"features", "32"}, {"kernel", "hyperbolic"}, {0}};
    decode_setup setups[] = {
        {"linear", NULL, 3, 24, 350, 7},
        {"performer", performer, 1, 16, 320, 40},
    };
    for (int i = 0; i < 2; i++)
        for (int cls = 0; cls < 2; cls++)
            decode_matches_batch(&setups[i], contexts[cls]);
    validation_quiet();
}

/* The state can be read (saved), reset, and written back (restored). */
static void decode_state_save_reset_restore(void)
{
    if (!have_contexts())
        return;
    vka_context *ctx = contexts[0];
    decode_setup s = {"linear", (vka_op_param[]){{"state", "memory"}, {0}}, 1, 8, 0, 1};
    vka_plan *plan = decode_plan(ctx, &s);
    if (!plan)
        return;
    float token[8], out_a[8], out_b[8], out_c[8];
    for (int i = 0; i < 8; i++)
        token[i] = 0.1f * (float)i - 0.3f;
    vka_plan_stats stats;
    vka_plan_stats_get(plan, &stats);
    CHECK(stats.state_bytes > 0);
    size_t state_bytes = (size_t)(8 + 1) * 12 * 4; /* [1, 1, F + 1, 4·ceil((Dv + 1)/4)] floats */
    float *saved = malloc(state_bytes);
    for (int step = 0; step < 3; step++) {
        vka_plan_write(plan, "q", token, sizeof token);
        vka_plan_write(plan, "k", token, sizeof token);
        vka_plan_write(plan, "v", token, sizeof token);
        CHECK_OK(ctx, vka_plan_run(plan));
    }
    CHECK_OK(ctx, vka_plan_read(plan, "memory", saved, state_bytes));
    CHECK_OK(ctx, vka_plan_run(plan));
    CHECK_OK(ctx, vka_plan_read(plan, "out", out_a, sizeof out_a));
    CHECK_OK(ctx, vka_plan_reset_states(plan));
    CHECK_OK(ctx, vka_plan_run(plan));
    CHECK_OK(ctx, vka_plan_read(plan, "out", out_b, sizeof out_b));
    CHECK_OK(ctx, vka_plan_write(plan, "memory", saved, state_bytes));
    CHECK_OK(ctx, vka_plan_run(plan));
    CHECK_OK(ctx, vka_plan_read(plan, "out", out_c, sizeof out_c));
    CHECK_MSG(memcmp(out_a, out_c, sizeof out_a) == 0, "restoring the state did not reproduce the output");
    /* After a reset the same token sees only itself: the output is its value. */
    test_close("after reset", out_b, token, 8, 1e-5, 1e-5);
    free(saved);
    vka_plan_destroy(plan);
    validation_quiet();
}

/* `vkattn run … decode=1` feeds a whole sequence through a decoding plan, `chunk` tokens
 * per run, and writes the batch causal outputs; a chunk that does not divide the
 * sequence is refused with a message (the last run would need kv_len). */
static int run_cli(const char *args, const char *err_path)
{
    char command[2048];
    snprintf(command, sizeof command, "VKATTN_VALIDATION=1 '%s' %s >/dev/null 2>'%s'", VKATTN_CLI_PATH, args, err_path);
    return system(command);
}

static void cli_decode_matches_batch(void)
{
    if (!have_contexts())
        return;
    char dir[] = "/tmp/vkattn_decode_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp failed");
        return;
    }
    vka_op_param performer[] = {{"features", "16"}, {"seed", "9"}, {0}};
    attn_case cases[] = {
        {.scheme = "linear", .batch = 2, .heads = 2, .nq = 48, .nk = 48, .d = 16, .causal = true, .seed = 61},
        {.scheme = "performer",
         .params = performer,
         .batch = 1,
         .heads = 2,
         .nq = 30,
         .nk = 30,
         .d = 8,
         .causal = true,
         .input_scale = 0.7f,
         .seed = 62},
    };
    const char *const chunks[] = {"4", "1"};
    for (int i = 0; i < 2; i++) {
        attn_case *c = &cases[i];
        attn_data data = {0};
        CHECK(attn_data_make(contexts[0], c, &data));
        char path[3][256], out_path[256], err_path[256], args[1536];
        const char *const roles[] = {"q", "k", "v"};
        float *inputs[] = {data.q, data.k, data.v};
        uint32_t dims[4] = {c->batch, c->heads, c->nq, c->d};
        for (int r = 0; r < 3; r++) {
            snprintf(path[r], sizeof path[r], "%s/%s.npy", dir, roles[r]);
            CHECK_OK(NULL, vka_npy_save(NULL, path[r], VKA_DTYPE_F32, 4, dims, inputs[r]));
        }
        snprintf(out_path, sizeof out_path, "%s/o.npy", dir);
        snprintf(err_path, sizeof err_path, "%s/err.txt", dir);
        snprintf(args, sizeof args, "run %s q=%s k=%s v=%s causal=1 decode=1 chunk=%s out=%s%s", c->scheme, path[0],
                 path[1], path[2], chunks[i], out_path, i == 1 ? " features=16 seed=9" : "");
        CHECK_MSG(run_cli(args, err_path) == 0, "vkattn %s failed", args);
        vka_npy out = {0};
        if (vka_npy_load(NULL, out_path, &out) == VKA_SUCCESS && out.bytes == data.out_bytes)
            test_close(c->scheme, out.data, data.expected, data.out_bytes / 4, 1e-5, 1e-4);
        else
            CHECK_MSG(0, "%s: no output of the right size from vkattn run decode=1", c->scheme);
        vka_npy_free(&out);
        /* Neither 48 nor 30 tokens split into chunks of 7. */
        snprintf(args, sizeof args, "run %s q=%s k=%s v=%s causal=1 decode=1 chunk=7 out=%s", c->scheme, path[0],
                 path[1], path[2], out_path);
        CHECK_MSG(run_cli(args, err_path) != 0, "chunk=7 over %u tokens was accepted", c->nq);
        char message[512];
        test_read_text(err_path, message, sizeof message);
        /* (the tool would say how many of the last run's tokens are real through kv_len, which
         * kernel attention's decoding does not take) */
        CHECK_MSG(strstr(message, "kv_len does not apply when decoding"), "unclear message for a bad chunk: '%s'",
                  message);
        attn_data_free(&data);
        for (int r = 0; r < 3; r++)
            remove(path[r]);
        remove(out_path);
        remove(err_path);
    }
    rmdir(dir);
}

/* ------------------------------------------------------------------ memory in N */

/* Peak device bytes of planned (not run) kernel attention grow linearly in N: the
 * least-squares exponent over N = 1k … 32k is within [0.95, 1.05]. */
static void peak_bytes_grow_linearly(void)
{
    if (!have_contexts())
        return;
    static const uint32_t sizes[] = {1024, 4096, 16384, 32768};
    vka_op_param performer[] = {{"features", "256"}, {0}};
    for (int scheme = 0; scheme < 2; scheme++)
        for (int causal = 0; causal < 2; causal++) {
            double sx = 0, sy = 0, sxx = 0, sxy = 0;
            for (int i = 0; i < 4; i++) {
                attn_case c = {.scheme = scheme ? "performer" : "linear",
                               .params = scheme ? performer : NULL,
                               .batch = 1,
                               .heads = 8,
                               .nq = sizes[i],
                               .nk = sizes[i],
                               .d = 64,
                               .causal = causal};
                vka_graph *g = attn_graph(contexts[0], &c);
                vka_plan *plan = NULL;
                vka_plan_stats stats = {0};
                if (g)
                    CHECK_OK(contexts[0], vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
                if (plan)
                    vka_plan_stats_get(plan, &stats);
                vka_plan_destroy(plan);
                vka_graph_destroy(g);
                double x = log((double)sizes[i]), y = log((double)stats.peak_device_bytes + 1);
                sx += x, sy += y, sxx += x * x, sxy += x * y;
            }
            double slope = (4 * sxy - sx * sy) / (4 * sxx - sx * sx);
            CHECK_MSG(slope >= 0.95 && slope <= 1.05, "%s causal=%d: peak bytes grow as N^%.3f",
                      scheme ? "performer" : "linear", causal, slope);
        }
}

/* The benchmark's sweep and its SVG figure, planned only (no shader compiles). */
static void bench_sweep_draws_a_plot(void)
{
    char svg[64], err[64], args[512];
    snprintf(svg, sizeof svg, "/tmp/vkattn_sweep_%d.svg", (int)getpid());
    snprintf(err, sizeof err, "/tmp/vkattn_sweep_%d.txt", (int)getpid());
    snprintf(args, sizeof args, "bench --sweep linear,performer --memory-only --n 1024,2048,4096 --plot %s", svg);
    CHECK_MSG(run_cli(args, err) == 0, "vkattn %s failed", args);
    static char text[65536];
    test_read_text(svg, text, sizeof text);
    const char *const needles[] = {"<svg", "<polyline", "linear causal", "performer", "softmax flash", "</svg>", NULL};
    CHECK_MSG(test_contains_all(text, needles), "the sweep's SVG lacks its series");
    CHECK_MSG(run_cli("bench --plot x.svg", err) != 0, "--plot without --sweep or --quality was accepted");
    remove(svg);
    remove(err);
}

/* ------------------------------------------------------------------ projections */

static void projection_rows_are_orthogonal_within_blocks(void)
{
    const uint32_t m = 256, d = 64;
    float *w = malloc((size_t)m * d * sizeof *w);
    CHECK_OK(NULL, vka_random_projection(42, m, d, true, w));
    double worst = 0, mean_square_norm = 0;
    for (uint32_t i = 0; i < m; i++) {
        double ni = 0;
        for (uint32_t c = 0; c < d; c++)
            ni += (double)w[i * d + c] * w[i * d + c];
        mean_square_norm += ni / m;
        for (uint32_t j = i + 1; j < m && j / d == i / d; j++) {
            double dot = 0, nj = 0;
            for (uint32_t c = 0; c < d; c++) {
                dot += (double)w[i * d + c] * w[j * d + c];
                nj += (double)w[j * d + c] * w[j * d + c];
            }
            double cosine = fabs(dot) / sqrt(ni * nj);
            worst = cosine > worst ? cosine : worst;
        }
    }
    CHECK_MSG(worst < 1e-5, "rows of a block are not orthogonal: |cos| up to %.3g", worst);
    /* χ_D-distributed norms: E|w|² = D. */
    CHECK_MSG(fabs(mean_square_norm - d) < 0.15 * d, "mean |w|² = %.2f, expected about %u", mean_square_norm, d);
    float *again = malloc((size_t)m * d * sizeof *again);
    CHECK_OK(NULL, vka_random_projection(42, m, d, true, again));
    CHECK_MSG(memcmp(w, again, (size_t)m * d * sizeof *w) == 0, "the same seed gave a different matrix");
    CHECK_OK(NULL, vka_random_projection(43, m, d, true, again));
    CHECK_MSG(memcmp(w, again, (size_t)m * d * sizeof *w) != 0, "another seed gave the same matrix");
    /* iid rows: no orthogonality, but the same norm statistics. */
    CHECK_OK(NULL, vka_random_projection(42, m, d, false, again));
    double iid_worst = 0;
    for (uint32_t j = 1; j < d; j++) {
        double dot = 0;
        for (uint32_t c = 0; c < d; c++)
            dot += (double)again[c] * again[j * d + c];
        iid_worst = fabs(dot) > iid_worst ? fabs(dot) : iid_worst;
    }
    CHECK(iid_worst > 1.0);
    CHECK(vka_random_projection(1, 0, d, true, w) == VKA_ERROR_INVALID_ARGUMENT);
    free(w);
    free(again);
}

/* A generated projection and the same matrix given as an input give the same result;
 * writing a new matrix (a redraw) changes it. */
static void projection_input_and_redraw(void)
{
    if (!have_contexts())
        return;
    vka_context *ctx = contexts[0];
    const uint32_t m = 16, d = 16;
    vka_graph *g;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    vka_tensor q, k, v, w, o1, o2;
    vka_tensor_desc desc = {.rank = 4, .dims = {1, 1, 10, d}};
    desc.name = "q";
    vka_graph_input(g, &desc, &q);
    desc.name = "k";
    vka_graph_input(g, &desc, &k);
    desc.name = "v";
    vka_graph_input(g, &desc, &v);
    vka_graph_input(g, &(vka_tensor_desc){.name = "w", .rank = 4, .dims = {1, 1, m, d}}, &w);
    CHECK_OK(ctx, vka_graph_op(g,
                               &(vka_op_desc){.op = "performer",
                                              .inputs = {{"q", q}, {"k", k}, {"v", v}},
                                              .params = {{"features", "16"}, {"seed", "9"}}},
                               &o1));
    CHECK_OK(ctx, vka_graph_op(
                      g, &(vka_op_desc){.op = "performer", .inputs = {{"q", q}, {"k", k}, {"v", v}, {"projection", w}}},
                      &o2));
    vka_graph_output(g, "generated", o1);
    vka_graph_output(g, "given", o2);
    vka_plan *plan = NULL;
    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    float x[10 * 16], matrix[16 * 16], a[10 * 16], b[10 * 16], c[10 * 16];
    test_seed(5);
    test_fill_normal(x, 160, 0.5f);
    CHECK_OK(NULL, vka_random_projection(9, m, d, true, matrix));
    if (plan) {
        vka_plan_write(plan, "q", x, sizeof x);
        vka_plan_write(plan, "k", x, sizeof x);
        vka_plan_write(plan, "v", x, sizeof x);
        vka_plan_write(plan, "w", matrix, sizeof matrix);
        CHECK_OK(ctx, vka_plan_run(plan));
        vka_plan_read(plan, "generated", a, sizeof a);
        vka_plan_read(plan, "given", b, sizeof b);
        CHECK_MSG(memcmp(a, b, sizeof a) == 0, "seed 9 generated and given differ");
        CHECK_OK(NULL, vka_random_projection(10, m, d, true, matrix));
        vka_plan_write(plan, "w", matrix, sizeof matrix);
        CHECK_OK(ctx, vka_plan_run(plan));
        vka_plan_read(plan, "given", c, sizeof c);
        CHECK_MSG(memcmp(b, c, sizeof b) != 0, "a redrawn projection left the output unchanged");
        /* The explicit redraw: the generated projection drawn again from seed 10 now
         * equals the given one drawn from 10. */
        CHECK_OK(ctx, vka_plan_redraw(plan, 10));
        CHECK_OK(ctx, vka_plan_run(plan));
        vka_plan_read(plan, "generated", a, sizeof a);
        CHECK_MSG(memcmp(a, c, sizeof a) == 0, "vka_plan_redraw(10) differs from a projection drawn from seed 10");
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    /* A plan that draws nothing says so. */
    attn_case lin = {.scheme = "linear", .batch = 1, .heads = 1, .nq = 4, .nk = 4, .d = 8};
    g = attn_graph(ctx, &lin);
    plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        CHECK(vka_plan_redraw(plan, 1) == VKA_ERROR_NOT_FOUND);
        CHECK_MSG(strstr(vka_last_error(ctx), "draws no constant"), "unclear message: %s", vka_last_error(ctx));
    }
    CHECK(vka_plan_redraw(NULL, 1) == VKA_ERROR_INVALID_ARGUMENT);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    validation_quiet();
}

/* ------------------------------------------------------------------ bad parameters */

static void bad_parameters_are_refused(void)
{
    if (!have_contexts())
        return;
    vka_context *ctx = contexts[0];
    struct {
        const char *op;
        vka_op_param params[4];
        const char *needle;
    } cases[] = {
        {"linear", {{"decode", "1"}}, "needs causal=1"},
        {"linear", {{"eps", "-1"}}, "eps"},
        {"performer", {{"features", "0"}}, "features"},
        {"performer", {{"features", "5000"}}, "features"},
        {"performer", {{"kernel", "relu"}}, "positive or hyperbolic or trig"},
        {"performer", {{"state", ""}, {"decode", "1"}, {"causal", "1"}}, "state"},
        {"linear", {{"scale", "2"}}, "unknown parameter 'scale'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        attn_case c = {
            .scheme = cases[i].op, .params = cases[i].params, .batch = 1, .heads = 1, .nq = 4, .nk = 4, .d = 8};
        vka_graph *g;
        vka_graph_create(ctx, &g);
        vka_tensor q, out;
        vka_tensor_desc desc = {.name = "q", .rank = 4, .dims = {1, 1, 4, 8}};
        vka_graph_input(g, &desc, &q);
        vka_op_desc op = {.op = c.scheme, .inputs = {{"q", q}, {"k", q}, {"v", q}}};
        memcpy(op.params, cases[i].params, sizeof cases[i].params);
        vka_result r = vka_graph_op(g, &op, &out);
        CHECK_MSG(r == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(ctx), cases[i].needle),
                  "%s case %zu: %s: %s", cases[i].op, i, vka_result_string(r), vka_last_error(ctx));
        vka_graph_destroy(g);
    }
    /* kv_len with decoding, decoding with Nq ≠ Nk, a projection of the wrong width. */
    vka_graph *g;
    vka_graph_create(ctx, &g);
    vka_tensor q, k, kv, w, out;
    vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {1, 1, 4, 8}}, &q);
    vka_graph_input(g, &(vka_tensor_desc){.name = "k", .rank = 4, .dims = {1, 1, 5, 8}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){.name = "kv", .dtype = VKA_DTYPE_I32, .rank = 1, .dims = {1}}, &kv);
    vka_graph_input(g, &(vka_tensor_desc){.name = "w", .rank = 4, .dims = {1, 1, 16, 6}}, &w);
    vka_result r = vka_graph_op(g,
                                &(vka_op_desc){.op = "linear",
                                               .inputs = {{"q", q}, {"k", k}, {"v", k}, {"kv_len", kv}},
                                               .params = {{"causal", "1"}, {"decode", "1"}}},
                                &out);
    CHECK_MSG(r == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(ctx), "kv_len"), "%s", vka_last_error(ctx));
    r = vka_graph_op(g,
                     &(vka_op_desc){.op = "linear",
                                    .inputs = {{"q", q}, {"k", k}, {"v", k}},
                                    .params = {{"causal", "1"}, {"decode", "1"}}},
                     &out);
    CHECK_MSG(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "same new tokens"), "%s",
              vka_last_error(ctx));
    r = vka_graph_op(g, &(vka_op_desc){.op = "performer", .inputs = {{"q", q}, {"k", k}, {"v", k}, {"projection", w}}},
                     &out);
    CHECK_MSG(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "projection"), "%s", vka_last_error(ctx));
    vka_graph_destroy(g);
    validation_quiet();
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"linear_shapes", linear_shapes},
        {"linear_cross_attention", linear_cross_attention},
        {"linear_kv_len", linear_kv_len},
        {"performer_feature_maps", performer_feature_maps},
        {"performer_shapes_and_kv_len", performer_shapes_and_kv_len},
        {"large_norms_stay_finite", large_norms_stay_finite},
        {"decoding_one_token_matches_batch_over_1000_steps", decoding_one_token_matches_batch_over_1000_steps},
        {"decoding_in_chunks_matches_batch", decoding_in_chunks_matches_batch},
        {"decode_state_save_reset_restore", decode_state_save_reset_restore},
        {"cli_decode_matches_batch", cli_decode_matches_batch},
        {"peak_bytes_grow_linearly", peak_bytes_grow_linearly},
        {"bench_sweep_draws_a_plot", bench_sweep_draws_a_plot},
        {"projection_rows_are_orthogonal_within_blocks", projection_rows_are_orthogonal_within_blocks},
        {"projection_input_and_redraw", projection_input_and_redraw},
        {"bad_parameters_are_refused", bad_parameters_are_refused},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
