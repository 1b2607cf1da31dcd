/* Model building blocks against the double-precision reference: the element-wise ops
 * (gelu, relu, softplus, sqrt_softplus, add) on every rank with odd widths and values out to ±150, a
 * chain of them feeding attention, dense layers on every rank with and without bias, an
 * MLP, layer norms, concatenation along tokens, the mean over tokens (with and without
 * offsets) and a Gaussian head (dense → sqrt_softplus, fused), head split and merge, the
 * multi-head attention block, and bad shapes. Both kernel classes, validation
 * layer on. */
#include "attention_util.h"
#include "vkattn/models.h"

/* The context of the kernel class the running pass uses (every case runs under both). */
static vka_context *ctx, *contexts[2];

static bool have_context(void)
{
    CHECK_MSG(ctx != NULL, "no context of this kernel class");
    return ctx != NULL;
}

static size_t count_of(uint32_t rank, const uint32_t *dims)
{
    size_t n = 1;
    for (uint32_t i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* Plans g (whose output is "out"), writes the inputs, runs, and compares the output
 * (out_count floats) with the reference on the same inputs. */
static void run_and_compare(vka_graph *g, const vka_host_tensor *in, uint32_t in_count, size_t out_count,
                            const char *label, double atol, double rtol)
{
    vka_plan *plan = NULL;
    float *gpu = malloc(out_count * 4), *ref = malloc(out_count * 4);
    if (gpu && ref)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        for (uint32_t i = 0; i < in_count; i++)
            CHECK_OK(ctx, vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes));
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", gpu, out_count * 4));
        vka_host_tensor out[] = {{"out", ref, out_count * 4}};
        CHECK_OK(ctx, vka_graph_reference(g, in, in_count, out, 1));
        test_close(label, gpu, ref, out_count, atol, rtol);
    }
    vka_plan_destroy(plan);
    free(gpu);
    free(ref);
}

/* One element-wise op on random x (and y for add) of this shape, against the reference. */
static void check_op(const char *op, uint32_t rank, const uint32_t *dims, float scale)
{
    size_t n = count_of(rank, dims);
    float *x = malloc(n * 4), *y = malloc(n * 4), *gpu = malloc(n * 4), *ref = malloc(n * 4);
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    bool binary = strcmp(op, "add") == 0;
    if (!x || !y || !gpu || !ref || vka_graph_create(ctx, &g) != VKA_SUCCESS) {
        CHECK_MSG(0, "set-up failed");
    } else {
        test_fill_normal(x, n, scale);
        test_fill_normal(y, n, scale);
        vka_tensor_desc desc = {.name = "x", .rank = rank};
        memcpy(desc.dims, dims, rank * sizeof *dims);
        vka_tensor tx, ty = {0}, o;
        vka_graph_input(g, &desc, &tx);
        desc.name = "y";
        if (binary)
            vka_graph_input(g, &desc, &ty);
        vka_op_desc d = {.op = op, .inputs = {{binary ? "a" : "x", tx}}};
        if (binary)
            d.inputs[1] = (vka_op_input){"b", ty};
        CHECK_OK(ctx, vka_graph_op(g, &d, &o));
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    }
    if (plan) {
        vka_plan_write(plan, "x", x, n * 4);
        if (binary)
            vka_plan_write(plan, "y", y, n * 4);
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", gpu, n * 4));
        vka_host_tensor in[] = {{"x", x, n * 4}, {"y", y, n * 4}};
        vka_host_tensor out[] = {{"out", ref, n * 4}};
        CHECK_OK(ctx, vka_graph_reference(g, in, binary ? 2 : 1, out, 1));
        char label[96];
        snprintf(label, sizeof label, "%s rank %u last %u scale %g", op, rank, dims[rank - 1], scale);
        /* gelu's erf approximation is good to 1.5e-7 absolute (times |x|/2). */
        test_close(label, gpu, ref, n, 2e-6 * (scale > 1 ? scale : 1), 1e-6);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    free(x);
    free(y);
    free(gpu);
    free(ref);
}

static void elementwise_ops(void)
{
    if (!have_context())
        return;
    static const char *const ops[] = {"gelu", "relu", "softplus", "sqrt_softplus", "add"};
    static const struct {
        uint32_t rank, dims[4];
    } shapes[] = {{1, {1}}, {1, {1001}}, {2, {7, 5}}, {3, {3, 17, 3}}, {4, {2, 3, 33, 6}}, {4, {1, 1, 4, 64}}};
    test_seed(71);
    for (int o = 0; o < 5; o++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            check_op(ops[o], shapes[s].rank, shapes[s].dims, 1.0f);
            check_op(ops[o], shapes[s].rank, shapes[s].dims, 40.0f); /* out to about ±150 */
        }
    test_check_validation(ctx);
}

/* relu and gelu of x, added, through softplus, as q and k of softmax attention (D = 5,
 * so rows are padded): four element-wise dispatches and the flash one, in order. */
static void chain_into_attention(void)
{
    if (!have_context())
        return;
    enum { N = 24, D = 5 };
    float x[N * D], v[N * D], gpu[N * D], ref[N * D];
    test_seed(72);
    test_fill_normal(x, N * D, 1.0f);
    test_fill_normal(v, N * D, 1.0f);
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_tensor tx, tv, a, b, c, q, o;
    vka_tensor_desc desc = {.name = "x", .rank = 4, .dims = {1, 1, N, D}};
    vka_graph_input(g, &desc, &tx);
    desc.name = "v";
    vka_graph_input(g, &desc, &tv);
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "relu", .inputs = {{"x", tx}}}, &a));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "gelu", .inputs = {{"x", tx}}}, &b));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "add", .inputs = {{"a", a}, {"b", b}}}, &c));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "softplus", .inputs = {{"x", c}}}, &q));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", q}, {"v", tv}}}, &o));
    CHECK_OK(ctx, vka_graph_output(g, "out", o));
    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        vka_plan_write(plan, "x", x, sizeof x);
        vka_plan_write(plan, "v", v, sizeof v);
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", gpu, sizeof gpu));
        vka_host_tensor in[] = {{"x", x, sizeof x}, {"v", v, sizeof v}};
        vka_host_tensor out[] = {{"out", ref, sizeof ref}};
        CHECK_OK(ctx, vka_graph_reference(g, in, 2, out, 1));
        test_close("relu + gelu -> softplus -> attention", gpu, ref, N * D, 2e-5, 2e-4);
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        CHECK_MSG(s.dispatch_count == 5, "%u dispatches for 4 element-wise ops and a flash attention",
                  s.dispatch_count);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

/* dense on ranks 1..4, with and without bias, weights as constants; then an MLP
 * (dense → gelu → dense) as one graph. */
static void dense_layers(void)
{
    if (!have_context())
        return;
    static const struct {
        uint32_t rank, dims[4], out;
        bool bias;
    } cases[] = {
        {1, {7}, 3, true},        {2, {5, 13}, 1, false},        {2, {40, 64}, 33, true},
        {3, {2, 3, 17}, 6, true}, {4, {2, 2, 9, 64}, 64, false}, {4, {1, 3, 1, 5}, 8, true},
    };
    test_seed(73);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        uint32_t rank = cases[c].rank, in = cases[c].dims[rank - 1], out_width = cases[c].out;
        size_t n = count_of(rank, cases[c].dims), rows = n / in, m = rows * out_width;
        float *x = malloc(n * 4), *w = malloc((size_t)in * out_width * 4), *bias = malloc(out_width * 4);
        vka_graph *g = NULL;
        if (!x || !w || !bias || vka_graph_create(ctx, &g) != VKA_SUCCESS) {
            CHECK_MSG(0, "set-up failed");
        } else {
            test_fill_normal(x, n, 1.0f);
            test_fill_normal(w, (size_t)in * out_width, 0.3f);
            test_fill_normal(bias, out_width, 1.0f);
            vka_tensor tx, tw, tb = {0}, o;
            vka_tensor_desc dx = {.name = "x", .rank = rank};
            memcpy(dx.dims, cases[c].dims, sizeof dx.dims);
            vka_graph_input(g, &dx, &tx);
            vka_graph_constant(g, &(vka_tensor_desc){.name = "w", .rank = 2, .dims = {in, out_width}}, w,
                               (size_t)in * out_width * 4, &tw);
            vka_op_desc d = {.op = "dense", .inputs = {{"x", tx}, {"weight", tw}}};
            if (cases[c].bias) {
                vka_graph_constant(g, &(vka_tensor_desc){.name = "b", .rank = 1, .dims = {out_width}}, bias,
                                   out_width * 4, &tb);
                d.inputs[2] = (vka_op_input){"bias", tb};
            }
            CHECK_OK(ctx, vka_graph_op(g, &d, &o));
            CHECK_OK(ctx, vka_graph_output(g, "out", o));
            char label[96];
            snprintf(label, sizeof label, "dense rank %u in %u out %u bias %d", rank, in, out_width, cases[c].bias);
            run_and_compare(g, (vka_host_tensor[]){{"x", x, n * 4}}, 1, m, label, 1e-5, 1e-5);
            /* The same weights stored [out, in] (PyTorch), read transposed in place: the
             * reference computes y = x Wᵀ itself, so the product's reading is checked. */
            float *wt = malloc((size_t)in * out_width * 4);
            vka_graph *gt = NULL;
            if (wt && vka_graph_create(ctx, &gt) == VKA_SUCCESS) {
                for (uint32_t i = 0; i < in; i++)
                    for (uint32_t o2 = 0; o2 < out_width; o2++)
                        wt[(size_t)o2 * in + i] = w[(size_t)i * out_width + o2];
                vka_tensor tx2, tw2, tb2, o3;
                vka_graph_input(gt, &dx, &tx2);
                vka_graph_constant(gt, &(vka_tensor_desc){.name = "w", .rank = 2, .dims = {out_width, in}}, wt,
                                   (size_t)in * out_width * 4, &tw2);
                vka_op_desc dt = {
                    .op = "dense", .inputs = {{"x", tx2}, {"weight", tw2}}, .params = {{"weight_layout", "out_in"}}};
                if (cases[c].bias) {
                    vka_graph_constant(gt, &(vka_tensor_desc){.name = "b", .rank = 1, .dims = {out_width}}, bias,
                                       out_width * 4, &tb2);
                    dt.inputs[2] = (vka_op_input){"bias", tb2};
                }
                CHECK_OK(ctx, vka_graph_op(gt, &dt, &o3));
                CHECK_OK(ctx, vka_graph_output(gt, "out", o3));
                snprintf(label, sizeof label, "dense [out, in] rank %u in %u out %u bias %d", rank, in, out_width,
                         cases[c].bias);
                run_and_compare(gt, (vka_host_tensor[]){{"x", x, n * 4}}, 1, m, label, 1e-5, 1e-5);
            }
            vka_graph_destroy(gt);
            free(wt);
        }
        vka_graph_destroy(g);
        free(x);
        free(w);
        free(bias);
    }
    test_check_validation(ctx);
}

static void mlp_of_dense_and_gelu(void)
{
    if (!have_context())
        return;
    enum { ROWS = 50, IN = 24, HIDDEN = 40, OUT = 12 };
    static float x[ROWS * IN], w1[IN * HIDDEN], b1[HIDDEN], w2[HIDDEN * OUT], gpu[ROWS * OUT], ref[ROWS * OUT];
    test_seed(74);
    test_fill_normal(x, ROWS * IN, 1.0f);
    test_fill_normal(w1, IN * HIDDEN, 0.3f);
    test_fill_normal(b1, HIDDEN, 0.5f);
    test_fill_normal(w2, HIDDEN * OUT, 0.3f);
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_tensor tx, tw1, tb1, tw2, h, a, o;
    vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 2, .dims = {ROWS, IN}}, &tx);
    vka_graph_input(g, &(vka_tensor_desc){.name = "w1", .rank = 2, .dims = {IN, HIDDEN}}, &tw1);
    vka_graph_input(g, &(vka_tensor_desc){.name = "b1", .rank = 1, .dims = {HIDDEN}}, &tb1);
    vka_graph_input(g, &(vka_tensor_desc){.name = "w2", .rank = 2, .dims = {HIDDEN, OUT}}, &tw2);
    CHECK_OK(ctx,
             vka_graph_op(g, &(vka_op_desc){.op = "dense", .inputs = {{"x", tx}, {"weight", tw1}, {"bias", tb1}}}, &h));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "gelu", .inputs = {{"x", h}}}, &a));
    CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "dense", .inputs = {{"x", a}, {"weight", tw2}}}, &o));
    CHECK_OK(ctx, vka_graph_output(g, "out", o));
    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        vka_host_tensor in[] = {
            {"x", x, sizeof x}, {"w1", w1, sizeof w1}, {"b1", b1, sizeof b1}, {"w2", w2, sizeof w2}};
        for (int i = 0; i < 4; i++)
            CHECK_OK(ctx, vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes));
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", gpu, sizeof gpu));
        vka_host_tensor out[] = {{"out", ref, sizeof ref}};
        CHECK_OK(ctx, vka_graph_reference(g, in, 4, out, 1));
        test_close("dense -> gelu -> dense", gpu, ref, ROWS * OUT, 1e-5, 1e-5);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

/* layernorm on ranks 1..4 and odd widths, affine or not (or half: weight only), rows
 * with a large mean (the two-pass variance), and a custom eps. */
static void layer_norms(void)
{
    if (!have_context())
        return;
    static const struct {
        uint32_t rank, dims[4];
        int affine; /* 0 none, 1 weight and bias, 2 weight only */
        float offset;
        const char *eps;
    } cases[] = {
        {1, {257}, 1, 0, NULL},
        {2, {9, 5}, 0, 0, NULL},
        {3, {2, 7, 64}, 1, 1000.0f, NULL},
        {4, {2, 2, 3, 1}, 1, 0, NULL},
        {4, {1, 2, 33, 40}, 2, 3.0f, "0.1"},
    };
    test_seed(75);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        uint32_t rank = cases[c].rank, width = cases[c].dims[rank - 1];
        size_t n = count_of(rank, cases[c].dims);
        float *x = malloc(n * 4), *w = malloc(width * 4), *b = malloc(width * 4);
        vka_graph *g = NULL;
        if (!x || !w || !b || vka_graph_create(ctx, &g) != VKA_SUCCESS) {
            CHECK_MSG(0, "set-up failed");
        } else {
            test_fill_normal(x, n, 2.0f);
            for (size_t i = 0; i < n; i++)
                x[i] += cases[c].offset;
            test_fill_normal(w, width, 1.0f);
            test_fill_normal(b, width, 1.0f);
            vka_tensor tx, tw, tb, o;
            vka_tensor_desc dx = {.name = "x", .rank = rank};
            memcpy(dx.dims, cases[c].dims, sizeof dx.dims);
            vka_graph_input(g, &dx, &tx);
            vka_op_desc d = {.op = "layernorm", .inputs = {{"x", tx}}};
            if (cases[c].affine) {
                vka_graph_constant(g, &(vka_tensor_desc){.name = "w", .rank = 1, .dims = {width}}, w, width * 4, &tw);
                d.inputs[1] = (vka_op_input){"weight", tw};
            }
            if (cases[c].affine == 1) {
                vka_graph_constant(g, &(vka_tensor_desc){.name = "b", .rank = 1, .dims = {width}}, b, width * 4, &tb);
                d.inputs[2] = (vka_op_input){"bias", tb};
            }
            if (cases[c].eps)
                d.params[0] = (vka_op_param){"eps", cases[c].eps};
            CHECK_OK(ctx, vka_graph_op(g, &d, &o));
            CHECK_OK(ctx, vka_graph_output(g, "out", o));
            char label[96];
            snprintf(label, sizeof label, "layernorm rank %u width %u affine %d offset %g", rank, width,
                     cases[c].affine, cases[c].offset);
            /* An offset of 1000 costs f32 inputs about 1000·2^-24 ≈ 6e-5 absolute, over a std of 2. */
            run_and_compare(g, (vka_host_tensor[]){{"x", x, n * 4}}, 1, n, label, cases[c].offset > 100 ? 1e-4 : 1e-5,
                            1e-5);
        }
        vka_graph_destroy(g);
        free(x);
        free(w);
        free(b);
    }
    test_check_validation(ctx);
}

/* concat along tokens on ranks 2..4 with odd widths; then concatenated keys and values
 * feeding attention. */
static void concatenation(void)
{
    if (!have_context())
        return;
    static const struct {
        uint32_t rank, a[4];
        uint32_t rows_b;
    } cases[] = {{2, {3, 5}, 4}, {3, {2, 1, 17}, 9}, {4, {2, 3, 7, 64}, 1}, {4, {1, 2, 30, 3}, 33}};
    test_seed(76);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        uint32_t rank = cases[c].rank;
        uint32_t bdims[4];
        memcpy(bdims, cases[c].a, sizeof bdims);
        bdims[rank - 2] = cases[c].rows_b;
        size_t na = count_of(rank, cases[c].a), nb = count_of(rank, bdims);
        float *a = malloc(na * 4), *b = malloc(nb * 4);
        vka_graph *g = NULL;
        if (!a || !b || vka_graph_create(ctx, &g) != VKA_SUCCESS) {
            CHECK_MSG(0, "set-up failed");
        } else {
            test_fill_normal(a, na, 1.0f);
            test_fill_normal(b, nb, 1.0f);
            vka_tensor ta, tb, o;
            vka_tensor_desc da = {.name = "a", .rank = rank}, db = {.name = "b", .rank = rank};
            memcpy(da.dims, cases[c].a, sizeof da.dims);
            memcpy(db.dims, bdims, sizeof db.dims);
            vka_graph_input(g, &da, &ta);
            vka_graph_input(g, &db, &tb);
            CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "concat", .inputs = {{"a", ta}, {"b", tb}}}, &o));
            CHECK_OK(ctx, vka_graph_output(g, "out", o));
            char label[96];
            snprintf(label, sizeof label, "concat rank %u rows %u + %u", rank, cases[c].a[rank - 2], cases[c].rows_b);
            vka_host_tensor in[] = {{"a", a, na * 4}, {"b", b, nb * 4}};
            run_and_compare(g, in, 2, na + nb, label, 0, 0); /* a copy is exact */
        }
        vka_graph_destroy(g);
        free(a);
        free(b);
    }
    /* Memory tokens and new tokens as the keys and values of one attention. */
    enum { NQ = 20, NM = 7, NN = 13, D = 16 };
    static float q[NQ * D], m[NM * D], x[NN * D];
    test_fill_normal(q, NQ * D, 1.0f);
    test_fill_normal(m, NM * D, 1.0f);
    test_fill_normal(x, NN * D, 1.0f);
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (g) {
        vka_tensor tq, tm, tx, kv, o;
        vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {1, 1, NQ, D}}, &tq);
        vka_graph_input(g, &(vka_tensor_desc){.name = "m", .rank = 4, .dims = {1, 1, NM, D}}, &tm);
        vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 4, .dims = {1, 1, NN, D}}, &tx);
        CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "concat", .inputs = {{"a", tm}, {"b", tx}}}, &kv));
        CHECK_OK(ctx,
                 vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", tq}, {"k", kv}, {"v", kv}}}, &o));
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
        vka_host_tensor in[] = {{"q", q, sizeof q}, {"m", m, sizeof m}, {"x", x, sizeof x}};
        run_and_compare(g, in, 3, NQ * D, "attention over concatenated tokens", 2e-5, 2e-4);
        vka_graph_destroy(g);
    }
    test_check_validation(ctx);
}

/* mean_tokens with and without per-row offsets (one token, odd widths, more tokens than
 * a matrix-product tile), and a Gaussian head's std: dense then sqrt_softplus, which the
 * planner runs in the product's epilogue. */
static void token_means_and_gaussian_head(void)
{
    if (!have_context())
        return;
    static const struct {
        uint32_t batch, n, d, m; /* m 0: no offset */
    } cases[] = {{1, 1, 2, 0}, {3, 37, 2, 32}, {2, 1000, 5, 3}, {1, 7, 128, 1}};
    test_seed(78);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        uint32_t b = cases[c].batch, n = cases[c].n, d = cases[c].d, m = cases[c].m;
        float *x = malloc((size_t)b * n * d * 4), *off = malloc((m ? m : 1) * d * 4);
        vka_graph *g = NULL;
        if (!x || !off || vka_graph_create(ctx, &g) != VKA_SUCCESS) {
            CHECK_MSG(0, "set-up failed");
        } else {
            test_fill_normal(x, (size_t)b * n * d, 2.0f);
            test_fill_normal(off, (m ? m : 1) * d, 1.0f);
            vka_tensor tx, to, o;
            vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 3, .dims = {b, n, d}}, &tx);
            vka_op_desc op = {.op = "mean_tokens", .inputs = {{"x", tx}}};
            if (m) {
                vka_graph_input(g, &(vka_tensor_desc){.name = "offset", .rank = 2, .dims = {m, d}}, &to);
                op.inputs[1] = (vka_op_input){"offset", to};
            }
            CHECK_OK(ctx, vka_graph_op(g, &op, &o));
            CHECK_OK(ctx, vka_graph_output(g, "out", o));
            char label[96];
            snprintf(label, sizeof label, "mean_tokens B%u N%u D%u offsets %u", b, n, d, m);
            vka_host_tensor in[] = {{"x", x, (size_t)b * n * d * 4}, {"offset", off, (size_t)m * d * 4}};
            run_and_compare(g, in, m ? 2 : 1, (size_t)b * (m ? m : 1) * d, label, 1e-5, 1e-5);
        }
        vka_graph_destroy(g);
        free(x);
        free(off);
    }
    enum { ROWS = 19, IN = 12, OUT = 3 };
    static float x[ROWS * IN], w[IN * OUT], bias[OUT];
    test_fill_normal(x, ROWS * IN, 3.0f);
    test_fill_normal(w, IN * OUT, 1.0f);
    test_fill_normal(bias, OUT, 1.0f);
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (g) {
        vka_tensor tx, tw, tb, h, o;
        vka_graph_input(g, &(vka_tensor_desc){.name = "x", .rank = 2, .dims = {ROWS, IN}}, &tx);
        vka_graph_constant(g, &(vka_tensor_desc){.name = "w", .rank = 2, .dims = {IN, OUT}}, w, sizeof w, &tw);
        vka_graph_constant(g, &(vka_tensor_desc){.name = "bias", .rank = 1, .dims = {OUT}}, bias, sizeof bias, &tb);
        CHECK_OK(ctx, vka_graph_op(
                          g, &(vka_op_desc){.op = "dense", .inputs = {{"x", tx}, {"weight", tw}, {"bias", tb}}}, &h));
        CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "sqrt_softplus", .inputs = {{"x", h}}}, &o));
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
        vka_plan *plan = NULL;
        vka_plan_stats st = {0};
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
        CHECK_OK(ctx, vka_plan_stats_get(plan, &st));
        CHECK_MSG(st.fused_ops == 1 && st.dispatch_count == 1, "sqrt_softplus fused: %u fused, %u dispatches",
                  st.fused_ops, st.dispatch_count);
        vka_plan_destroy(plan);
        vka_host_tensor in[] = {{"x", x, sizeof x}};
        run_and_compare(g, in, 1, ROWS * OUT, "dense -> sqrt_softplus (fused)", 2e-6, 1e-5);
        vka_graph_destroy(g);
    }
    test_check_validation(ctx);
}

/* split_heads / merge_heads on odd head widths (exact), and the multi-head core:
 * split q, k, v → softmax per head → merge. */
static void head_split_and_merge(void)
{
    if (!have_context())
        return;
    static const struct {
        uint32_t batch, tokens, heads, head_width; /* batch 0: rank-2 input */
    } cases[] = {{0, 5, 3, 7}, {2, 9, 2, 5}, {3, 17, 4, 16}, {1, 1, 1, 3}, {2, 33, 8, 8}};
    test_seed(77);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        uint32_t b = cases[c].batch ? cases[c].batch : 1, n = cases[c].tokens, h = cases[c].heads,
                 dh = cases[c].head_width;
        size_t count = (size_t)b * n * h * dh;
        float *x = malloc(count * 4), *apart = malloc(count * 4);
        vka_graph *g = NULL;
        if (!x || !apart || vka_graph_create(ctx, &g) != VKA_SUCCESS) {
            CHECK_MSG(0, "set-up failed");
        } else {
            test_fill_normal(x, count, 1.0f);
            vka_tensor tx, split, merged;
            vka_tensor_desc dx = {.name = "x", .rank = cases[c].batch ? 3 : 2};
            memcpy(dx.dims, cases[c].batch ? (uint32_t[]){b, n, h * dh} : (uint32_t[]){n, h * dh}, dx.rank * 4);
            vka_graph_input(g, &dx, &tx);
            char heads[16];
            snprintf(heads, sizeof heads, "%u", h);
            CHECK_OK(ctx,
                     vka_graph_op(
                         g, &(vka_op_desc){.op = "split_heads", .inputs = {{"x", tx}}, .params = {{"heads", heads}}},
                         &split));
            CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "merge_heads", .inputs = {{"x", split}}}, &merged));
            CHECK_OK(ctx, vka_graph_output(g, "out", split));
            CHECK_OK(ctx, vka_graph_output(g, "merged", merged));
            char label[96];
            snprintf(label, sizeof label, "split_heads B%u N%u H%u Dh%u", b, n, h, dh);
            run_and_compare(g, (vka_host_tensor[]){{"x", x, count * 4}}, 1, count, label, 0, 0);
            vka_plan *plan = NULL;
            CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
            if (plan) {
                CHECK_OK(ctx, vka_plan_write(plan, "x", x, count * 4));
                CHECK_OK(ctx, vka_plan_run(plan));
                CHECK_OK(ctx, vka_plan_read(plan, "merged", apart, count * 4));
                CHECK_MSG(memcmp(apart, x, count * 4) == 0, "%s: merge_heads(split_heads(x)) != x", label);
            }
            vka_plan_destroy(plan);
        }
        vka_graph_destroy(g);
        free(x);
        free(apart);
    }
    /* Multi-head attention's core on [B, N, H·Dh] activations. */
    enum { B = 2, N = 21, H = 3, DH = 8 };
    static float q[B * N * H * DH], k[B * N * H * DH], v[B * N * H * DH];
    test_fill_normal(q, B * N * H * DH, 1.0f);
    test_fill_normal(k, B * N * H * DH, 1.0f);
    test_fill_normal(v, B * N * H * DH, 1.0f);
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (g) {
        vka_tensor in[3], apart[3], att, o;
        const char *names[] = {"q", "k", "v"};
        for (int i = 0; i < 3; i++) {
            vka_graph_input(g, &(vka_tensor_desc){.name = names[i], .rank = 3, .dims = {B, N, H * DH}}, &in[i]);
            CHECK_OK(ctx,
                     vka_graph_op(
                         g, &(vka_op_desc){.op = "split_heads", .inputs = {{"x", in[i]}}, .params = {{"heads", "3"}}},
                         &apart[i]));
        }
        CHECK_OK(ctx, vka_graph_op(g,
                                   &(vka_op_desc){.op = "softmax",
                                                  .inputs = {{"q", apart[0]}, {"k", apart[1]}, {"v", apart[2]}},
                                                  .params = {{"causal", "1"}}},
                                   &att));
        CHECK_OK(ctx, vka_graph_op(g, &(vka_op_desc){.op = "merge_heads", .inputs = {{"x", att}}}, &o));
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
        vka_host_tensor host[] = {{"q", q, sizeof q}, {"k", k, sizeof k}, {"v", v, sizeof v}};
        run_and_compare(g, host, 3, B * N * H * DH, "split -> causal softmax -> merge", 2e-5, 2e-4);
        vka_graph_destroy(g);
    }
    test_check_validation(ctx);
}

/* vka_graph_mha: projections, heads, a scheme, merge, output projection — self attention
 * (causal softmax) and cross attention (linear), against the reference. */
static void multi_head_attention_block(void)
{
    if (!have_context())
        return;
    enum { B = 2, NQ = 13, NK = 17, MODEL = 24, H = 3, DH = 8, OUT = 10 };
    static float xq[B * NQ * MODEL], xkv[B * NK * MODEL], w[4][MODEL * MODEL], bias[4][MODEL];
    test_seed(78);
    test_fill_normal(xq, B * NQ * MODEL, 1.0f);
    test_fill_normal(xkv, B * NK * MODEL, 1.0f);
    for (int i = 0; i < 4; i++) {
        test_fill_normal(w[i], MODEL * MODEL, 0.25f);
        test_fill_normal(bias[i], MODEL, 0.5f);
    }
    for (int cross = 0; cross < 2; cross++) {
        vka_graph *g = NULL;
        CHECK_OK(ctx, vka_graph_create(ctx, &g));
        if (!g)
            return;
        vka_mha_desc m = {.heads = H, .scheme = cross ? "linear" : "softmax"};
        vka_graph_input(g, &(vka_tensor_desc){.name = "xq", .rank = 3, .dims = {B, NQ, MODEL}}, &m.x_q);
        if (cross)
            vka_graph_input(g, &(vka_tensor_desc){.name = "xkv", .rank = 3, .dims = {B, NK, MODEL}}, &m.x_kv);
        vka_tensor *weights[] = {&m.w_q, &m.w_k, &m.w_v, &m.w_o}, *biases[] = {&m.b_q, &m.b_k, &m.b_v, &m.b_o};
        for (int i = 0; i < 4; i++) {
            char name[8];
            snprintf(name, sizeof name, "w%d", i);
            vka_graph_constant(g, &(vka_tensor_desc){.name = name, .rank = 2, .dims = {MODEL, i == 3 ? OUT : MODEL}},
                               w[i], (size_t)MODEL * (i == 3 ? OUT : MODEL) * 4, weights[i]);
            snprintf(name, sizeof name, "b%d", i);
            if (i != 1) /* one projection without a bias */
                vka_graph_constant(g, &(vka_tensor_desc){.name = name, .rank = 1, .dims = {i == 3 ? OUT : MODEL}},
                                   bias[i], (size_t)(i == 3 ? OUT : MODEL) * 4, biases[i]);
        }
        m.params[0] = (vka_op_param){"causal", cross ? "0" : "1"};
        vka_tensor o;
        CHECK_OK(ctx, vka_graph_mha(g, &m, &o));
        CHECK_OK(ctx, vka_graph_output(g, "out", o));
        vka_tensor_desc od;
        CHECK_OK(ctx, vka_graph_tensor_desc(g, o, &od));
        CHECK(od.rank == 3 && od.dims[0] == B && od.dims[1] == NQ && od.dims[2] == OUT);
        vka_host_tensor in[] = {{"xq", xq, sizeof xq}, {"xkv", xkv, sizeof xkv}};
        run_and_compare(g, in, cross ? 2 : 1, B * NQ * OUT, cross ? "mha cross, linear" : "mha self, causal softmax",
                        2e-5, 2e-4);
        vka_graph_destroy(g);
    }
    vka_mha_desc empty = {0};
    vka_tensor o;
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    CHECK(vka_graph_mha(g, &empty, &o) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK_MSG(strstr(vka_last_error(ctx), "required"), "message: %s", vka_last_error(ctx));
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

static void bad_shapes_are_refused(void)
{
    if (!have_context())
        return;
    vka_graph *g = NULL;
    CHECK_OK(ctx, vka_graph_create(ctx, &g));
    if (!g)
        return;
    vka_tensor a, b, c, i, o;
    vka_graph_input(g, &(vka_tensor_desc){.name = "a", .rank = 2, .dims = {3, 4}}, &a);
    vka_graph_input(g, &(vka_tensor_desc){.name = "b", .rank = 2, .dims = {3, 5}}, &b);
    vka_graph_input(g, &(vka_tensor_desc){.name = "c", .rank = 3, .dims = {1, 3, 4}}, &c);
    vka_graph_input(g, &(vka_tensor_desc){.name = "i", .dtype = VKA_DTYPE_I32, .rank = 1, .dims = {3}}, &i);
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "add", .inputs = {{"a", a}, {"b", b}}}, &o) == VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "b axis 1 is 5 but a axis 1 is 4"), "message: %s", vka_last_error(ctx));
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "add", .inputs = {{"a", a}, {"b", c}}}, &o) == VKA_ERROR_SHAPE_MISMATCH);
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "gelu", .inputs = {{"x", i}}}, &o) != VKA_SUCCESS);
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "relu", .inputs = {{"x", a}}, .params = {{"alpha", "1"}}}, &o) ==
          VKA_ERROR_INVALID_ARGUMENT);
    /* dense: weight axis 0 must be x's width; bias must match weight axis 1. */
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "dense", .inputs = {{"x", a}, {"weight", b}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "weight axis 0 is 3 but x's last axis (in) is 4"), "message: %s",
              vka_last_error(ctx));
    vka_tensor w, bias;
    vka_graph_input(g, &(vka_tensor_desc){.name = "w", .rank = 2, .dims = {4, 6}}, &w);
    vka_graph_input(g, &(vka_tensor_desc){.name = "bias", .rank = 1, .dims = {5}}, &bias);
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "dense", .inputs = {{"x", a}, {"weight", w}, {"bias", bias}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "bias has 5 entries"), "message: %s", vka_last_error(ctx));
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "layernorm", .inputs = {{"x", a}, {"bias", bias}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "bias has 5 entries but x's last axis is 4"), "message: %s",
              vka_last_error(ctx));
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "layernorm", .inputs = {{"x", a}}, .params = {{"eps", "-1"}}}, &o) ==
          VKA_ERROR_INVALID_ARGUMENT);
    /* concat: every axis but the tokens must agree; rank 1 has no tokens axis. */
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "concat", .inputs = {{"a", a}, {"b", b}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "b axis 1 is 5 but a axis 1 is 4"), "message: %s", vka_last_error(ctx));
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "concat", .inputs = {{"a", bias}, {"b", bias}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    /* split_heads: the width must split evenly. */
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "split_heads", .inputs = {{"x", b}}, .params = {{"heads", "2"}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "width 5 does not split into 2 heads"), "message: %s", vka_last_error(ctx));
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "merge_heads", .inputs = {{"x", a}}}, &o) == VKA_ERROR_SHAPE_MISMATCH);
    /* mean_tokens: x [batch, tokens, features]; offsets of x's width */
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "mean_tokens", .inputs = {{"x", a}}}, &o) == VKA_ERROR_SHAPE_MISMATCH);
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "mean_tokens", .inputs = {{"x", c}, {"offset", b}}}, &o) ==
          VKA_ERROR_SHAPE_MISMATCH);
    CHECK_MSG(strstr(vka_last_error(ctx), "offset has 5 features but x has 4"), "message: %s", vka_last_error(ctx));
    CHECK(vka_graph_op(g, &(vka_op_desc){.op = "sqrt_softplus", .inputs = {{"x", i}}}, &o) != VKA_SUCCESS);
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

#define BOTH_CLASSES(NAME)                                                                                             \
    static void NAME##_both(void)                                                                                      \
    {                                                                                                                  \
        for (int cls = 0; cls < 2; cls++) {                                                                            \
            ctx = contexts[cls];                                                                                       \
            NAME();                                                                                                    \
        }                                                                                                              \
    }
BOTH_CLASSES(elementwise_ops)
BOTH_CLASSES(chain_into_attention)
BOTH_CLASSES(dense_layers)
BOTH_CLASSES(mlp_of_dense_and_gelu)
BOTH_CLASSES(layer_norms)
BOTH_CLASSES(concatenation)
BOTH_CLASSES(token_means_and_gaussian_head)
BOTH_CLASSES(head_split_and_merge)
BOTH_CLASSES(multi_head_attention_block)
BOTH_CLASSES(bad_shapes_are_refused)

int main(int argc, char **argv)
{
    test_class_contexts(contexts);
    static const test_case cases[] = {
        {"elementwise_ops", elementwise_ops_both},
        {"chain_into_attention", chain_into_attention_both},
        {"dense_layers", dense_layers_both},
        {"mlp_of_dense_and_gelu", mlp_of_dense_and_gelu_both},
        {"layer_norms", layer_norms_both},
        {"concatenation", concatenation_both},
        {"token_means_and_gaussian_head", token_means_and_gaussian_head_both},
        {"head_split_and_merge", head_split_and_merge_both},
        {"multi_head_attention_block", multi_head_attention_block_both},
        {"bad_shapes_are_refused", bad_shapes_are_refused_both},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
