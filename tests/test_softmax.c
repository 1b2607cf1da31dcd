/* softmax attention against the double-precision reference: the shape grid of the core
 * issue (N ∈ {1, 17, 129, 300, 1000}, D ∈ {1, 16, 40, 64, 128, 256}), cross attention,
 * bottom-right causal, kv_len, large logits, Dv ≠ D — for both kernels (flash and
 * materialized) and both kernel classes (CPU: register-blocked; GPU: shared-memory
 * tiles), each on a context with the validation layer on. */
#include "attention_util.h"

#define ATOL 2e-5
#define RTOL 2e-4

static const char *const kernels[] = {"flash", "materialized"};
static const char *const class_names[] = {"cpu", "gpu"};

/* Every kernel × class on the same inputs and reference. */
static void check_all_variants(vka_context **ctx, attn_case c, double atol, double rtol)
{
    attn_data data = {0};
    if (!attn_data_make(ctx[0], &c, &data)) {
        CHECK_MSG(0, "could not make the case's data");
        attn_data_free(&data);
        return;
    }
    for (int cls = 0; cls < 2; cls++)
        for (int k = 0; k < 2; k++) {
            c.kernel = kernels[k];
            char label[160];
            snprintf(label, sizeof label, "B%u H%u Nq%u Nk%u D%u Dv%u causal%d kv_len%s %s/%s", c.batch, c.heads, c.nq,
                     c.nk, c.d, c.dv ? c.dv : c.d, c.causal, c.kv_len ? "yes" : "no", kernels[k], class_names[cls]);
            attn_check(ctx[cls], &c, &data, atol, rtol, label);
        }
    attn_data_free(&data);
}

/* One context per kernel class for the whole program, so that pipelines are compiled
 * once (lavapipe's JIT takes up to a second for the unrolled kernels). */
static vka_context *contexts[2];

static void with_contexts(void (*body)(vka_context **))
{
    if (test_class_contexts(contexts))
        body(contexts);
    for (int i = 0; i < 2; i++)
        test_check_validation(contexts[i]);
}

static void grid_for(vka_context **ctx, uint32_t n)
{
    static const uint32_t dims[] = {1, 16, 40, 64, 128, 256};
    for (size_t i = 0; i < sizeof dims / sizeof *dims; i++)
        for (int causal = 0; causal < 2; causal++) {
            uint32_t heads = n >= 300 ? 1 : 2;
            attn_case c = {.batch = 1,
                           .heads = heads,
                           .nq = n,
                           .nk = n,
                           .d = dims[i],
                           .causal = causal,
                           .seed = n * 1000 + dims[i] * 10 + causal};
            check_all_variants(ctx, c, ATOL, RTOL);
        }
}

#define GRID_CASE(N)                                                                                                   \
    static void grid_n##N##_body(vka_context **ctx)                                                                    \
    {                                                                                                                  \
        grid_for(ctx, N);                                                                                              \
    }                                                                                                                  \
    static void grid_n##N(void)                                                                                        \
    {                                                                                                                  \
        with_contexts(grid_n##N##_body);                                                                               \
    }
GRID_CASE(1)
GRID_CASE(17)
GRID_CASE(129)
GRID_CASE(300)
GRID_CASE(1000)

static void cross_body(vka_context **ctx)
{
    static const uint32_t shapes[][3] = {{5, 300, 64}, {300, 17, 40}, {129, 1000, 16}, {1, 129, 128}, {64, 1, 256}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int causal = 0; causal < 2; causal++) {
            attn_case c = {.batch = 2,
                           .heads = 2,
                           .nq = shapes[i][0],
                           .nk = shapes[i][1],
                           .d = shapes[i][2],
                           .causal = causal,
                           .seed = 77 + i};
            check_all_variants(ctx, c, ATOL, RTOL);
        }
}
static void cross_attention(void)
{
    with_contexts(cross_body);
}

static void kv_len_body(vka_context **ctx)
{
    /* A batch with no keys at all (rows give 0), one with some, one with every key. */
    static const int32_t lens[] = {0, 150, 300};
    for (int causal = 0; causal < 2; causal++) {
        attn_case c = {
            .batch = 3, .heads = 2, .nq = 129, .nk = 300, .d = 40, .causal = causal, .kv_len = lens, .seed = 5};
        check_all_variants(ctx, c, ATOL, RTOL);
    }
    static const int32_t short_lens[] = {1, 17};
    attn_case c = {
        .batch = 2, .heads = 3, .nq = 17, .nk = 17, .d = 64, .causal = true, .kv_len = short_lens, .seed = 6};
    check_all_variants(ctx, c, ATOL, RTOL);
}
static void kv_len(void)
{
    with_contexts(kv_len_body);
}

static void empty_rows_body(vka_context **ctx)
{
    /* Causal with Nq > Nk: the first Nq − Nk rows see no key and must be exactly 0. */
    attn_case c = {.batch = 1, .heads = 2, .nq = 100, .nk = 30, .d = 16, .causal = true, .seed = 9};
    attn_data data = {0};
    float *out = NULL;
    if (attn_data_make(ctx[0], &c, &data) && (out = malloc(data.out_bytes))) {
        for (int cls = 0; cls < 2; cls++)
            for (int k = 0; k < 2; k++) {
                c.kernel = kernels[k];
                CHECK_OK(ctx[cls], attn_run_gpu(ctx[cls], &c, &data, out, NULL));
                bool zeros = true;
                for (uint32_t h = 0; h < 2; h++)
                    for (uint32_t i = 0; i < 70 * 16; i++)
                        zeros = zeros && out[h * 100 * 16 + i] == 0.0f;
                CHECK_MSG(zeros, "rows that see no key must be 0 (%s/%s)", kernels[k], class_names[cls]);
                test_close("empty rows", out, data.expected, data.out_bytes / 4, ATOL, RTOL);
            }
    }
    free(out);
    attn_data_free(&data);
}
static void empty_rows(void)
{
    with_contexts(empty_rows_body);
}

static void large_logits_body(vka_context **ctx)
{
    /* q, k ~ N(0, 2.5²) with scale 1 and D = 64: logits reach ±100 and beyond. */
    for (int causal = 0; causal < 2; causal++) {
        attn_case c = {.batch = 1,
                       .heads = 2,
                       .nq = 129,
                       .nk = 300,
                       .d = 64,
                       .causal = causal,
                       .scale = "1",
                       .input_scale = 2.5f,
                       .seed = 11};
        check_all_variants(ctx, c, 1e-4, 1e-3);
    }
}
static void large_logits(void)
{
    with_contexts(large_logits_body);
}

static void value_dim_body(vka_context **ctx)
{
    attn_case c = {.batch = 2, .heads = 3, .nq = 33, .nk = 45, .d = 40, .dv = 24, .seed = 13};
    check_all_variants(ctx, c, ATOL, RTOL);
    attn_case d = {
        .batch = 1, .heads = 1, .nq = 7, .nk = 9, .d = 3, .dv = 256, .causal = true, .scale = "0.3", .seed = 14};
    check_all_variants(ctx, d, ATOL, RTOL);
}
static void value_dim_differs(void)
{
    with_contexts(value_dim_body);
}

static void batches_and_heads_body(vka_context **ctx)
{
    attn_case c = {.batch = 3, .heads = 5, .nq = 31, .nk = 31, .d = 20, .causal = true, .seed = 15};
    check_all_variants(ctx, c, ATOL, RTOL);
}
static void many_batches_and_heads(void)
{
    with_contexts(batches_and_heads_body);
}

static void deterministic_body(vka_context **ctx)
{
    attn_case c = {.batch = 1, .heads = 2, .nq = 200, .nk = 200, .d = 64, .seed = 21};
    attn_data data = {0};
    float *a = NULL, *b = NULL;
    if (attn_data_make(ctx[0], &c, &data) && (a = malloc(data.out_bytes)) && (b = malloc(data.out_bytes))) {
        for (int cls = 0; cls < 2; cls++) {
            CHECK_OK(ctx[cls], attn_run_gpu(ctx[cls], &c, &data, a, NULL));
            CHECK_OK(ctx[cls], attn_run_gpu(ctx[cls], &c, &data, b, NULL));
            CHECK_MSG(memcmp(a, b, data.out_bytes) == 0, "two runs differ (%s)", class_names[cls]);
        }
    }
    free(a);
    free(b);
    attn_data_free(&data);
}
static void deterministic(void)
{
    with_contexts(deterministic_body);
}

/* Where a driver ends loops early (lavapipe), flash attention's CPU-class kernel, ⌈N/4⌉ + 1
 * iterations, plans up to (budget − 1)·4 keys and refuses one more by name (the README's
 * figure, 262,136 on lavapipe). */
static void loop_budget_boundary_is_exact(void)
{
    if (!test_class_contexts(contexts))
        return;
    vka_device_info info;
    vka_context_device_info(contexts[0], &info);
    if (!info.loop_iteration_budget)
        return; /* no such driver quirk: nothing to refuse */
    uint32_t most = (info.loop_iteration_budget - 1) * 4;
    for (uint32_t nk = most; nk <= most + 2; nk++) {
        bool split = nk == most + 2; /* most + 1 keys again, split */
        if (split)
            nk = most + 1;
        vka_graph *g = NULL;
        vka_tensor q, k, v, o;
        vka_plan *plan = NULL;
        CHECK_OK(contexts[0], vka_graph_create(contexts[0], &g));
        vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {1, 1, 1, 16}}, &q);
        vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {1, 1, nk, 16}}, &k);
        vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {1, 1, nk, 16}}, &v);
        /* one pass (split-K walks shorter ranges: with it the same problem plans) */
        CHECK_OK(contexts[0], vka_graph_op(g,
                                           &(vka_op_desc){.op = "softmax",
                                                          .inputs = {{"q", q}, {"k", k}, {"v", v}},
                                                          .numbers = {{"split_k", split ? 0 : 1}}},
                                           &o));
        vka_graph_output(g, "o", o);
        vka_result r = vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan);
        if (nk == most || split)
            CHECK_MSG(r == VKA_SUCCESS, "%u keys%s: %s", nk, split ? " split" : "", vka_last_error(contexts[0]));
        else
            CHECK_MSG(r == VKA_ERROR_LIMIT_EXCEEDED && strstr(vka_last_error(contexts[0]), "loop iterations"),
                      "%u keys: %s", nk, vka_last_error(contexts[0]));
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
        if (split)
            break;
    }
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"grid_n1", grid_n1},
        {"grid_n17", grid_n17},
        {"grid_n129", grid_n129},
        {"grid_n300", grid_n300},
        {"grid_n1000", grid_n1000},
        {"cross_attention", cross_attention},
        {"kv_len", kv_len},
        {"empty_rows", empty_rows},
        {"large_logits", large_logits},
        {"value_dim_differs", value_dim_differs},
        {"many_batches_and_heads", many_batches_and_heads},
        {"deterministic", deterministic},
        {"loop_budget_boundary_is_exact", loop_budget_boundary_is_exact},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
