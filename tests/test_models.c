/* Model-level compositions against an independent double-precision oracle
 * (model_oracle.c): Set Transformer MAB / SAB (with and without LayerNorm, the
 * √(model width) default scale and a given one), ISAB and PMA with learned sets
 * broadcast over the batch, the pre-norm transformer layer (self, cross, LBANP's
 * normalised residual), the Perceiver and IST pseudo-token encoders and their context-
 * permutation invariance; element-wise fusion (fewer dispatches, the same output);
 * `broadcast`; bad arguments. Both kernel classes, validation layer on. */
#include "harness.h"
#include "vkattn/models.h"
#include "model_oracle.h"

static vka_context *contexts[2]; /* CPU class, GPU class */
static vka_context *ctx;         /* the one a case is building on */

enum { B = 2, D = 8, H = 2, FF = 12, NX = 5, NY = 9, M = 3, NC = 7, NT = 4, LAYERS = 2 };

/* ------------------------------------------------------------------ graph plumbing */

static vka_tensor constant(vka_graph *g, const float *data, uint32_t rank, uint32_t d0, uint32_t d1)
{
    static unsigned counter;
    char name[32];
    snprintf(name, sizeof name, "w%u", counter++);
    vka_tensor t = {0};
    vka_tensor_desc desc = {.name = name, .rank = rank, .dims = {d0, d1}};
    CHECK_OK(ctx, vka_graph_constant(g, &desc, data, (size_t)d0 * (rank == 2 ? d1 : 1) * 4, &t));
    return t;
}

/* The weight W [d0, d1] as a constant stored [d1, d0] (PyTorch's [out, in]). */
static vka_tensor constant_out_in(vka_graph *g, const float *data, uint32_t d0, uint32_t d1)
{
    float *t = malloc((size_t)d0 * d1 * sizeof *t);
    for (uint32_t i = 0; t && i < d0; i++)
        for (uint32_t j = 0; j < d1; j++)
            t[(size_t)j * d0 + i] = data[(size_t)i * d1 + j];
    vka_tensor out = t ? constant(g, t, 2, d1, d0) : (vka_tensor){0};
    free(t);
    return out;
}

static vka_tensor input(vka_graph *g, const char *name, uint32_t d0, uint32_t d1, uint32_t d2)
{
    vka_tensor t = {0};
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){.name = name, .rank = 3, .dims = {d0, d1, d2}}, &t));
    return t;
}

/* Plans (with or without fusion), writes, runs and reads "out"; the plan's stats too. */
static bool run_graph(vka_graph *g, const vka_host_tensor *in, uint32_t count, float *out, size_t n, bool fuse,
                      vka_plan_stats *stats)
{
    vka_plan *plan = NULL;
    bool ok = vka_plan_create(g, &(vka_plan_desc){.no_fusion = !fuse}, &plan) == VKA_SUCCESS;
    for (uint32_t i = 0; ok && i < count; i++)
        ok = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes) == VKA_SUCCESS;
    ok = ok && vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "out", out, n * 4) == VKA_SUCCESS;
    if (ok && stats)
        vka_plan_stats_get(plan, stats);
    CHECK_MSG(ok, "running the graph: %s", vka_last_error(ctx));
    vka_plan_destroy(plan);
    return ok;
}

static void widen(const float *x, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = x[i];
}

static void narrow(const double *x, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)x[i];
}

/* ------------------------------------------------------------------ weights */

typedef struct mab_weights {
    float w[4][D * D], b[4][D], ln[4][D]; /* q, k, v, o; ln0 w, b, ln1 w, b */
} mab_weights;

static void mab_weights_fill(mab_weights *w)
{
    for (int i = 0; i < 4; i++) {
        test_fill_normal(w->w[i], D * D, 0.35f);
        test_fill_normal(w->b[i], D, 0.3f);
        test_fill_normal(w->ln[i], D, 0.2f);
        if (i % 2 == 0)
            for (int j = 0; j < D; j++)
                w->ln[i][j] += 1.0f; /* LayerNorm gains near 1 */
    }
}

static vka_mab_desc mab_desc(vka_graph *g, const mab_weights *w, bool ln, float scale)
{
    vka_mab_desc m = {.heads = H, .scale = scale};
    vka_tensor *ws[4] = {&m.w_q, &m.w_k, &m.w_v, &m.w_o}, *bs[4] = {&m.b_q, &m.b_k, &m.b_v, &m.b_o};
    vka_tensor *lns[4] = {&m.ln0_weight, &m.ln0_bias, &m.ln1_weight, &m.ln1_bias};
    for (int i = 0; i < 4; i++) {
        *ws[i] = constant(g, w->w[i], 2, D, D);
        *bs[i] = constant(g, w->b[i], 1, D, 0);
        if (ln)
            *lns[i] = constant(g, w->ln[i], 1, D, 0);
    }
    return m;
}

static oracle_mab mab_oracle(const mab_weights *w, bool ln, float scale)
{
    return (oracle_mab){.attention = {.wq = w->w[0],
                                      .bq = w->b[0],
                                      .wk = w->w[1],
                                      .bk = w->b[1],
                                      .wv = w->w[2],
                                      .bv = w->b[2],
                                      .in_q = D,
                                      .in_kv = D,
                                      .width = D,
                                      .heads = H,
                                      .scale = scale},
                        .wo = w->w[3],
                        .bo = w->b[3],
                        .ln0_w = ln ? w->ln[0] : NULL,
                        .ln0_b = ln ? w->ln[1] : NULL,
                        .ln1_w = ln ? w->ln[2] : NULL,
                        .ln1_b = ln ? w->ln[3] : NULL};
}

typedef struct layer_weights {
    float w[4][D * D], bo[D], norm[4][D], fc1[D * FF], fc1b[FF], fc2[FF * D], fc2b[D];
} layer_weights;

static void layer_weights_fill(layer_weights *w)
{
    for (int i = 0; i < 4; i++) {
        test_fill_normal(w->w[i], D * D, 0.35f);
        test_fill_normal(w->norm[i], D, 0.2f);
        if (i % 2 == 0)
            for (int j = 0; j < D; j++)
                w->norm[i][j] += 1.0f;
    }
    test_fill_normal(w->bo, D, 0.1f);
    test_fill_normal(w->fc1, D * FF, 0.35f);
    test_fill_normal(w->fc1b, FF, 0.1f);
    test_fill_normal(w->fc2, FF * D, 0.3f);
    test_fill_normal(w->fc2b, D, 0.1f);
}

/* A weight [d0, d1] as the graph takes it: as is, or stored [out, in] when out_in. */
static vka_tensor weight(vka_graph *g, const float *w, uint32_t d0, uint32_t d1, bool out_in)
{
    return out_in ? constant_out_in(g, w, d0, d1) : constant(g, w, 2, d0, d1);
}

/* TNP's layer: projections without bias but the output's, heads of D / H; the weights
 * stored [out, in] (as PyTorch's Linear holds them) when out_in. */
static vka_transformer_layer_desc layer_desc_stored(vka_graph *g, const layer_weights *w, bool residual_normalized,
                                                    bool out_in)
{
    vka_transformer_layer_desc t = {.residual_normalized = residual_normalized, .weights_out_in = out_in};
    t.attention = (vka_mha_desc){.heads = H,
                                 .w_q = weight(g, w->w[0], D, D, out_in),
                                 .w_k = weight(g, w->w[1], D, D, out_in),
                                 .w_v = weight(g, w->w[2], D, D, out_in),
                                 .w_o = weight(g, w->w[3], D, D, out_in),
                                 .b_o = constant(g, w->bo, 1, D, 0)};
    t.norm1_weight = constant(g, w->norm[0], 1, D, 0);
    t.norm1_bias = constant(g, w->norm[1], 1, D, 0);
    t.norm2_weight = constant(g, w->norm[2], 1, D, 0);
    t.norm2_bias = constant(g, w->norm[3], 1, D, 0);
    t.fc1_weight = weight(g, w->fc1, D, FF, out_in);
    t.fc1_bias = constant(g, w->fc1b, 1, FF, 0);
    t.fc2_weight = weight(g, w->fc2, FF, D, out_in);
    t.fc2_bias = constant(g, w->fc2b, 1, D, 0);
    return t;
}

static vka_transformer_layer_desc layer_desc(vka_graph *g, const layer_weights *w, bool residual_normalized)
{
    return layer_desc_stored(g, w, residual_normalized, false);
}

static oracle_layer layer_oracle(const layer_weights *w, bool residual_normalized)
{
    return (oracle_layer){.attention = {.wq = w->w[0],
                                        .wk = w->w[1],
                                        .wv = w->w[2],
                                        .wo = w->w[3],
                                        .bo = w->bo,
                                        .in_q = D,
                                        .in_kv = D,
                                        .width = D,
                                        .out = D,
                                        .heads = H},
                          .n1_w = w->norm[0],
                          .n1_b = w->norm[1],
                          .n2_w = w->norm[2],
                          .n2_b = w->norm[3],
                          .fc1_w = w->fc1,
                          .fc1_b = w->fc1b,
                          .fc2_w = w->fc2,
                          .fc2_b = w->fc2b,
                          .width = D,
                          .ff = FF,
                          .residual_normalized = residual_normalized};
}

/* ------------------------------------------------------------------ Set Transformer */

enum set_block { BLOCK_MAB, BLOCK_SAB, BLOCK_ISAB, BLOCK_PMA };

static const char *const block_names[] = {"MAB", "SAB", "ISAB", "PMA"};

/* The oracle of one block on batch element b: out rows (NX, or M for PMA) × D. */
static void set_block_oracle(enum set_block kind, const mab_weights *w, bool ln, float scale, const float *x,
                             const float *y, const float *set, double *out)
{
    double xd[NX * D], yd[NY * D], sd[M * D], h[M * D];
    widen(x, NX * D, xd);
    widen(y, NY * D, yd);
    widen(set, M * D, sd);
    oracle_mab first = mab_oracle(&w[0], ln, scale), second = mab_oracle(&w[1], ln, scale);
    switch (kind) {
    case BLOCK_MAB: oracle_mab_run(&first, xd, NX, yd, NY, out); break;
    case BLOCK_SAB: oracle_mab_run(&first, xd, NX, NULL, 0, out); break;
    case BLOCK_ISAB:
        oracle_mab_run(&first, sd, M, xd, NX, h); /* H = MAB0(I, X) */
        oracle_mab_run(&second, xd, NX, h, M, out);
        break;
    case BLOCK_PMA: oracle_mab_run(&first, sd, M, xd, NX, out); break;
    }
}

static void check_set_block(enum set_block kind, bool ln, float scale)
{
    static float x[B * NX * D], y[B * NY * D], set[M * D];
    static mab_weights w[2];
    test_seed(100 + kind * 4 + ln * 2 + (scale != 0));
    test_fill_normal(x, B * NX * D, 1.0f);
    test_fill_normal(y, B * NY * D, 1.0f);
    test_fill_normal(set, M * D, 1.0f);
    mab_weights_fill(&w[0]);
    mab_weights_fill(&w[1]);
    uint32_t rows = kind == BLOCK_PMA ? M : NX;
    double expected[B * NX * D];
    float want[B * NX * D], got[B * NX * D];
    for (uint32_t b = 0; b < B; b++)
        set_block_oracle(kind, w, ln, scale, x + b * NX * D, y + b * NY * D, set, expected + b * rows * D);
    narrow(expected, (size_t)B * rows * D, want);
    for (int cls = 0; cls < 2; cls++) {
        ctx = contexts[cls];
        vka_graph *g = NULL;
        CHECK_OK(ctx, vka_graph_create(ctx, &g));
        if (!g)
            return;
        vka_tensor tx = input(g, "x", B, NX, D), ty = kind == BLOCK_MAB ? input(g, "y", B, NY, D) : (vka_tensor){0};
        vka_tensor ts = {0}, o = {0};
        CHECK_OK(ctx, vka_graph_constant(g, &(vka_tensor_desc){.name = "set", .rank = 3, .dims = {1, M, D}}, set,
                                         sizeof set, &ts));
        vka_mab_desc first = mab_desc(g, &w[0], ln, scale), second = mab_desc(g, &w[1], ln, scale);
        vka_result r = VKA_SUCCESS;
        first.x = tx;
        if (kind == BLOCK_MAB)
            first.y = ty;
        if (kind <= BLOCK_SAB)
            r = vka_graph_mab(g, &first, &o);
        else if (kind == BLOCK_ISAB)
            r = vka_graph_isab(g, tx, ts, &first, &second, &o);
        else
            r = vka_graph_pma(g, tx, ts, &first, &o);
        CHECK_OK(ctx, r);
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
        vka_host_tensor in[] = {{"x", x, sizeof x}, {"y", y, sizeof y}};
        char label[96];
        snprintf(label, sizeof label, "%s ln%d scale %g %s", block_names[kind], ln, scale, cls ? "gpu" : "cpu");
        /* y is only MAB's. */
        if (r == VKA_SUCCESS && run_graph(g, in, kind == BLOCK_MAB ? 2 : 1, got, (size_t)B * rows * D, true, NULL))
            test_close(label, got, want, (size_t)B * rows * D, 2e-5, 2e-4);
        vka_graph_destroy(g);
        test_check_validation(ctx);
    }
}

static void set_transformer_blocks(void)
{
    if (!test_class_contexts(contexts))
        return;
    for (int kind = BLOCK_MAB; kind <= BLOCK_PMA; kind++)
        for (int ln = 0; ln < 2; ln++)
            check_set_block((enum set_block)kind, ln, 0.0f);
    check_set_block(BLOCK_MAB, true, 0.5f); /* a given scale */
    check_set_block(BLOCK_SAB, false, 0.25f);
}

/* ------------------------------------------------------------------ transformer layer, encoders */

static void transformer_layer(void)
{
    if (!test_class_contexts(contexts))
        return;
    static float x[B * NX * D], c[B * NY * D];
    static layer_weights w;
    for (int cross = 0; cross < 2; cross++)
        for (int resnorm = 0; resnorm < 3; resnorm++) { /* 2: plain residual, weights stored [out, in] */
            bool out_in = resnorm == 2;
            test_seed(200 + cross * 3 + resnorm);
            test_fill_normal(x, B * NX * D, 1.0f);
            test_fill_normal(c, B * NY * D, 1.0f);
            layer_weights_fill(&w);
            oracle_layer ol = layer_oracle(&w, resnorm == 1);
            double xd[NX * D], cd[NY * D];
            float want[B * NX * D], got[B * NX * D];
            for (uint32_t b = 0; b < B; b++) {
                widen(x + b * NX * D, NX * D, xd);
                widen(c + b * NY * D, NY * D, cd);
                oracle_layer_run(&ol, xd, NX, cross ? cd : NULL, NY);
                narrow(xd, NX * D, want + b * NX * D);
            }
            for (int cls = 0; cls < 2; cls++) {
                ctx = contexts[cls];
                vka_graph *g = NULL;
                CHECK_OK(ctx, vka_graph_create(ctx, &g));
                if (!g)
                    return;
                vka_transformer_layer_desc t = layer_desc_stored(g, &w, resnorm == 1, out_in);
                t.x = input(g, "x", B, NX, D);
                if (cross)
                    t.context = input(g, "c", B, NY, D);
                vka_tensor o = {0};
                CHECK_OK(ctx, vka_graph_transformer_layer(g, &t, &o));
                CHECK_OK(ctx, vka_graph_output(g, "out", o));
                vka_host_tensor in[] = {{"x", x, sizeof x}, {"c", c, sizeof c}};
                char label[80];
                snprintf(label, sizeof label, "layer %s residual%s%s %s", cross ? "cross" : "self",
                         resnorm == 1 ? " normalised" : "", out_in ? " weights [out, in]" : "", cls ? "gpu" : "cpu");
                if (run_graph(g, in, cross ? 2 : 1, got, B * NX * D, true, NULL))
                    test_close(label, got, want, B * NX * D, 2e-5, 2e-4);
                vka_graph_destroy(g);
                test_check_validation(ctx);
            }
        }
}

typedef struct encoder_case {
    vka_encoder_order order;
    float latents[M * D], context[B * NC * D], targets[B * NT * D];
    layer_weights steps[3 * LAYERS];
} encoder_case;

static void encoder_oracle(const encoder_case *e, float *out)
{
    double u[M * D], c[NC * D], t[NT * D];
    for (uint32_t b = 0; b < B; b++) {
        widen(e->latents, M * D, u);
        widen(e->context + b * NC * D, NC * D, c);
        widen(e->targets + b * NT * D, NT * D, t);
        for (uint32_t i = 0; i < LAYERS; i++) {
            oracle_layer s[3];
            for (int j = 0; j < 3; j++)
                s[j] = layer_oracle(&e->steps[3 * i + j], false);
            oracle_layer_run(&s[0], u, M, c, NC);
            if (e->order == VKA_ENCODER_PERCEIVER) {
                oracle_layer_run(&s[1], u, M, NULL, 0);
                oracle_layer_run(&s[2], t, NT, u, M);
            } else {
                oracle_layer_run(&s[1], t, NT, u, M);
                if (i + 1 < LAYERS)
                    oracle_layer_run(&s[2], c, NC, u, M);
            }
        }
        narrow(t, NT * D, out + b * NT * D);
    }
}

/* The encoder's graph on ctx: inputs "c" and "t", output "out". */
static vka_graph *encoder_graph(const encoder_case *e)
{
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return NULL;
    vka_transformer_layer_desc steps[3 * LAYERS];
    for (int i = 0; i < 3 * LAYERS; i++)
        steps[i] = layer_desc(g, &e->steps[i], false);
    vka_pseudo_token_encoder_desc desc = {.order = e->order, .layers = LAYERS, .steps = steps};
    CHECK_OK(ctx, vka_graph_constant(g, &(vka_tensor_desc){.name = "latents", .rank = 3, .dims = {1, M, D}}, e->latents,
                                     sizeof e->latents, &desc.latents));
    desc.context = input(g, "c", B, NC, D);
    desc.targets = input(g, "t", B, NT, D);
    vka_tensor o = {0};
    vka_result r = vka_graph_pseudo_token_encoder(g, &desc, &o);
    CHECK_OK(ctx, r);
    if (r == VKA_SUCCESS)
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
    if (r != VKA_SUCCESS) {
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void encoder_case_fill(encoder_case *e, vka_encoder_order order, uint64_t seed)
{
    e->order = order;
    test_seed(seed);
    test_fill_normal(e->latents, M * D, 1.0f);
    test_fill_normal(e->context, B * NC * D, 1.0f);
    test_fill_normal(e->targets, B * NT * D, 1.0f);
    for (int i = 0; i < 3 * LAYERS; i++)
        layer_weights_fill(&e->steps[i]);
}

/* Both orders against the oracle; permuting the context tokens leaves the targets' output
 * unchanged (up to f32 summation order). */
static void pseudo_token_encoders(void)
{
    if (!test_class_contexts(contexts))
        return;
    static encoder_case e;
    float want[B * NT * D], got[B * NT * D], permuted_out[B * NT * D], permuted[B * NC * D];
    for (int order = VKA_ENCODER_PERCEIVER; order <= VKA_ENCODER_IST; order++) {
        encoder_case_fill(&e, (vka_encoder_order)order, 300 + order);
        encoder_oracle(&e, want);
        for (uint32_t b = 0; b < B; b++)
            for (uint32_t j = 0; j < NC; j++)
                memcpy(permuted + (b * NC + j) * D, e.context + (b * NC + (j * 3 + 2) % NC) * D, D * 4);
        for (int cls = 0; cls < 2; cls++) {
            ctx = contexts[cls];
            vka_graph *g = encoder_graph(&e);
            vka_host_tensor in[] = {{"c", e.context, sizeof e.context}, {"t", e.targets, sizeof e.targets}};
            char label[64];
            snprintf(label, sizeof label, "%s encoder %s", order ? "IST" : "Perceiver", cls ? "gpu" : "cpu");
            if (g && run_graph(g, in, 2, got, B * NT * D, true, NULL))
                test_close(label, got, want, B * NT * D, 2e-5, 2e-4);
            in[0].data = permuted;
            if (g && run_graph(g, in, 2, permuted_out, B * NT * D, true, NULL))
                test_close("context permuted", permuted_out, got, B * NT * D, 1e-5, 1e-4);
            vka_graph_destroy(g);
            test_check_validation(ctx);
        }
    }
}

/* Every dense → relu of the encoder's feed-forward runs as one dispatch: fewer dispatches,
 * the same output as with every op its own dispatch. */
static void fusion_keeps_results(void)
{
    if (!test_class_contexts(contexts))
        return;
    static encoder_case e;
    encoder_case_fill(&e, VKA_ENCODER_IST, 400);
    float fused[B * NT * D], unfused[B * NT * D];
    vka_plan_stats with = {0}, without = {0};
    ctx = contexts[0];
    vka_graph *g = encoder_graph(&e);
    vka_host_tensor in[] = {{"c", e.context, sizeof e.context}, {"t", e.targets, sizeof e.targets}};
    if (g && run_graph(g, in, 2, fused, B * NT * D, true, &with) &&
        run_graph(g, in, 2, unfused, B * NT * D, false, &without)) {
        printf("  IST encoder, %d layers: %u dispatches fused (%u ops absorbed), %u unfused\n", LAYERS,
               with.dispatch_count, with.fused_ops, without.dispatch_count);
        uint32_t ff_steps = 3 * LAYERS - 1; /* the last layer has no context step */
        CHECK_MSG(with.fused_ops == ff_steps && without.fused_ops == 0, "fused %u ops, expected %u", with.fused_ops,
                  ff_steps);
        CHECK(with.dispatch_count + ff_steps == without.dispatch_count);
        CHECK(with.tensor_bytes < without.tensor_bytes);
        test_close("fused against unfused", fused, unfused, B * NT * D, 1e-6, 1e-6);
    }
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

/* ------------------------------------------------------------------ broadcast, bad arguments */

static void broadcast_and_bad_arguments(void)
{
    if (!test_class_contexts(contexts))
        return;
    ctx = contexts[0];
    static float set[2 * 3 * 5], got[4 * 2 * 3 * 5];
    test_seed(500);
    test_fill_normal(set, sizeof set / 4, 1.0f);
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_tensor x, o, bad;
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 4, .dims = {1, 2, 3, 5}}, &x));
    CHECK_OK(ctx,
             vka_graph_op(g, &(vka_op_desc){.op = "broadcast", .inputs = {{"x", x}}, .params = {{"batch", "4"}}}, &o));
    CHECK_OK(ctx, vka_graph_output(g, "out", o));
    if (run_graph(g, (vka_host_tensor[]){{"x", set, sizeof set}}, 1, got, 4 * sizeof set / 4, true, NULL))
        for (int b = 0; b < 4; b++)
            test_close("broadcast", got + b * sizeof set / 4, set, sizeof set / 4, 0, 0);
    CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){.name = "y", .rank = 3, .dims = {2, 3, 5}}, &bad));
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "broadcast", .inputs = {{"x", bad}}, .params = {{"batch", "4"}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "only a batch of 1"), "'%s'", vka_last_error(ctx));
    /* Missing weights and layers are named. */
    vka_mab_desc mab = {.x = bad, .heads = 2};
    CHECK(vka_graph_mab(g, &mab, &o) == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(ctx), "w_q"));
    vka_transformer_layer_desc layer = {.x = bad};
    CHECK(vka_graph_transformer_layer(g, &layer, &o) == VKA_ERROR_INVALID_ARGUMENT &&
          strstr(vka_last_error(ctx), "norm1_weight"));
    vka_pseudo_token_encoder_desc enc = {.latents = x, .context = bad, .targets = bad};
    CHECK(vka_graph_pseudo_token_encoder(g, &enc, &o) == VKA_ERROR_INVALID_ARGUMENT &&
          strstr(vka_last_error(ctx), "layers"));
    CHECK(vka_graph_isab(g, bad, (vka_tensor){0}, &mab, &mab, &o) == VKA_ERROR_INVALID_ARGUMENT);
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"set_transformer_blocks", set_transformer_blocks},
        {"transformer_layer", transformer_layer},
        {"pseudo_token_encoders", pseudo_token_encoders},
        {"fusion_keeps_results", fusion_keeps_results},
        {"broadcast_and_bad_arguments", broadcast_and_bad_arguments},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
