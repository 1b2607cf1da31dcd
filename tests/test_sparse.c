/* Sparse patterns on the block-sparse flash kernels against dense masked softmax in
 * double (engine/ref/sparse.c): every pattern at N ∈ {1, 63, 200, 1025} with window and
 * stride edge cases (window 0 and ≥ N, stride 1 and ≥ N, one block, more blocks than
 * tokens), kv_len, causal local, queries that are the sequence's last positions; the
 * kernels visit fewer blocks than dense (stats) and
 * the patterns' flop counts are their pairs; a given block layout (blocksparse); bad
 * parameters and a layout too large for the kernel are refused. Both kernel classes, validation layer on. */
#include "attention_util.h"

static vka_context *contexts[2]; /* CPU class, GPU class */

typedef struct pattern_case {
    const char *scheme;
    vka_op_param params[4];
} pattern_case;

/* nq 0: the whole sequence; fewer: its last nq positions. */
static void check_pattern_queries(const pattern_case *pc, uint32_t n, uint32_t nq, bool causal, const int32_t *kv_len,
                                  uint64_t seed)
{
    attn_case c = {.scheme = pc->scheme,
                   .params = pc->params,
                   .batch = kv_len ? 2 : 1,
                   .heads = 3,
                   .nq = nq ? nq : n,
                   .nk = n,
                   .d = 16,
                   .dv = 12,
                   .causal = causal,
                   .kv_len = kv_len,
                   .seed = seed};
    attn_data data = {0};
    if (!attn_data_make(contexts[0], &c, &data)) {
        CHECK_MSG(0, "%s: could not set up (N = %u): %s", pc->scheme, n, vka_last_error(contexts[0]));
        attn_data_free(&data);
        return;
    }
    for (int cls = 0; cls < 2; cls++) {
        char label[160];
        snprintf(label, sizeof label, "%s %s=%s %s=%s N%u Nq%u%s%s %s", pc->scheme, pc->params[0].key,
                 pc->params[0].value, pc->params[1].key ? pc->params[1].key : "",
                 pc->params[1].value ? pc->params[1].value : "", n, c.nq, causal ? " causal" : "",
                 kv_len ? " kv_len" : "", cls ? "gpu" : "cpu");
        attn_check(contexts[cls], &c, &data, 2e-5, 2e-4, label);
    }
    attn_data_free(&data);
}

static void check_pattern(const pattern_case *pc, uint32_t n, bool causal, const int32_t *kv_len, uint64_t seed)
{
    check_pattern_queries(pc, n, 0, causal, kv_len, seed);
}

static const pattern_case patterns[] = {
    {"local", {{"window", "7"}}},
    {"local", {{"window", "0"}}},    /* the diagonal only */
    {"local", {{"window", "5000"}}}, /* ≥ N: dense */
    {"longformer", {{"window", "5"}, {"global", "3"}}},
    {"longformer", {{"window", "2"}, {"global", "0"}}},
    {"bigbird", {{"block", "16"}, {"random", "2"}, {"seed", "9"}}},
    {"bigbird", {{"block", "32"}, {"random", "0"}}},
    {"strided", {{"stride", "13"}}},
    {"strided", {{"stride", "1"}}},
    {"strided", {{"stride", "4096"}}},
    {"fixed", {{"stride", "16"}, {"summary", "2"}}},
    {"fixed", {{"stride", "1"}}},
    {"blockwise", {{"blocks", "4"}}},
    {"blockwise", {{"blocks", "1"}}},
    {"blockwise", {{"blocks", "300"}}}, /* more blocks than tokens at small N */
};

static void patterns_against_dense_masks(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const uint32_t sizes[] = {1, 63, 200};
    for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            check_pattern(&patterns[p], sizes[s], false, NULL, 10 + p * 3 + s);
}

/* causal_align=top_left: the queries are the sequence's first Nq positions (PyTorch's
 * alignment). Every pattern against the twin; and, independently of it, a causal local
 * window that covers the sequence is softmax's own causal top-left attention (the dense
 * kernel, its own reference), and top-left equals bottom-right when Nq = Nk. */
static void queries_first_with_top_left(void)
{
    if (!test_class_contexts(contexts))
        return;
    for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
        pattern_case pc = patterns[p];
        int free_slot = 0;
        while (pc.params[free_slot].key)
            free_slot++;
        if (free_slot >= 3)
            continue; /* bigbird with its seed: no slot left (its two-parameter case runs) */
        pc.params[free_slot] = (vka_op_param){"causal_align", "top_left"};
        check_pattern_queries(&pc, 200, 48, false, NULL, 300 + p);
    }
    static const pattern_case causal_first = {"local", {{"window", "5000"}, {"causal_align", "top_left"}}};
    check_pattern_queries(&causal_first, 150, 40, true, NULL, 400);
    attn_case sparse = {.scheme = "local",
                        .params = causal_first.params,
                        .batch = 1,
                        .heads = 2,
                        .nq = 40,
                        .nk = 150,
                        .d = 16,
                        .dv = 8,
                        .causal = true,
                        .seed = 401};
    static const vka_op_param top_left[] = {{"causal_align", "top_left"}, {0}};
    attn_case dense = sparse;
    dense.scheme = "softmax", dense.params = top_left;
    attn_data data = {0};
    size_t count = (size_t)sparse.heads * sparse.nq * sparse.dv;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b);
    if (a && b && attn_data_make(contexts[0], &sparse, &data)) {
        CHECK_OK(contexts[0], attn_run_gpu(contexts[0], &sparse, &data, a, NULL));
        CHECK_OK(contexts[0], attn_run_gpu(contexts[0], &dense, &data, b, NULL));
        test_close("local window ≥ N, causal top-left = softmax causal top-left", a, b, count, 1e-6, 1e-5);
    }
    attn_data_free(&data);
    free(a);
    free(b);
}

/* The long case, a causal window, and kv_len (rows that see few keys, or none). */
static void long_causal_and_kv_len(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const int32_t lens[] = {1000, 3};
    static const pattern_case local7 = {"local", {{"window", "7"}}}, local16 = {"local", {{"window", "16"}}};
    static const pattern_case longformer = {"longformer", {{"window", "33"}, {"global", "5"}}};
    static const pattern_case bigbird = {"bigbird", {{"block", "64"}, {"random", "3"}, {"seed", "1"}}};
    static const pattern_case strided = {"strided", {{"stride", "37"}}};
    static const pattern_case fixed = {"fixed", {{"stride", "64"}, {"summary", "4"}}};
    static const pattern_case blockwise = {"blockwise", {{"blocks", "5"}}};
    const pattern_case *long_cases[] = {&local16, &longformer, &bigbird, &strided, &fixed, &blockwise};
    for (size_t i = 0; i < sizeof long_cases / sizeof *long_cases; i++)
        check_pattern(long_cases[i], 1025, false, NULL, 100 + i);
    check_pattern(&local16, 200, true, NULL, 110);
    check_pattern(&longformer, 200, true, NULL, 111);
    check_pattern(&local7, 1025, false, lens, 112);
    check_pattern(&bigbird, 1025, false, lens, 113);
    /* Queries that are the sequence's last positions (decoding-style). */
    for (size_t i = 0; i < sizeof long_cases / sizeof *long_cases; i++)
        check_pattern_queries(long_cases[i], 1025, 65, i == 0, NULL, 120 + i); /* 1025 − 65 = 15·64 */
}

/* Planned: local with window 128 at N = 4096 visits a few blocks per row of blocks. */
static void visited_blocks_are_few(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const vka_op_param window[] = {{"window", "128"}, {0}};
    attn_case c = {.scheme = "local", .params = window, .batch = 1, .heads = 8, .nq = 4096, .nk = 4096, .d = 64};
    vka_graph *g = attn_graph(contexts[0], &c);
    vka_plan *plan = NULL;
    vka_plan_stats s = {0};
    if (g)
        CHECK_OK(contexts[0], vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
    if (plan)
        vka_plan_stats_get(plan, &s);
    uint64_t visited = vka_plan_op_stat_total(plan, "sparse_blocks_visited"),
             total = vka_plan_op_stat_total(plan, "sparse_blocks_total"),
             rows = vka_plan_op_stat_total(plan, "sparse_block_rows");
    printf("  local window 128, N = 4096: %llu of %llu blocks of %llu rows visited (%u figures reported)\n",
           (unsigned long long)visited, (unsigned long long)total, (unsigned long long)rows, s.op_stat_count);
    double fraction = total ? (double)visited / (double)total : 1;
    /* The band is 257 keys wide: (257 + 2·rows) / 4096 of the keys at most. */
    CHECK_MSG(rows > 0 && fraction < (257.0 + 2 * rows) / 4096 + 1e-9, "visited fraction %.4f", fraction);
    /* Flops count the allowed pairs: about 257 per row. */
    double flops = g ? vka_graph_flops(g) : 0, pairs = flops / (2.0 * 128);
    CHECK_MSG(pairs > 8.0 * 4096 * 250 && pairs < 8.0 * 4096 * 257.1, "flops say %.0f pairs", pairs);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
}

static void bad_parameters_are_refused(void)
{
    if (!test_class_contexts(contexts))
        return;
    vka_context *ctx = contexts[0];
    static const vka_op_param no_window[] = {{"causal", "0"}, {0}},
                              summary[] = {{"stride", "4"}, {"summary", "5"}, {0}},
                              tiny_block[] = {{"block", "1"}, {"random", "3"}, {0}}, no_stride[] = {{0}};
    struct {
        const char *scheme;
        const vka_op_param *params;
        uint32_t nq, nk;
        const char *needle;
    } cases[] = {
        {"local", no_window, 16, 16, "window= is required"},
        {"fixed", summary, 16, 16, "summary=5 exceeds"},
        {"strided", no_stride, 16, 16, "stride= is required"},
        {"local", no_window + 1, 20, 16, "at most as many"},
    };
    static const vka_op_param window[] = {{"window", "2"}, {0}};
    cases[3].params = window;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        attn_case c = {.scheme = cases[i].scheme,
                       .params = cases[i].params,
                       .batch = 1,
                       .heads = 1,
                       .nq = cases[i].nq,
                       .nk = cases[i].nk,
                       .d = 8};
        vka_graph *g = attn_graph(ctx, &c);
        CHECK_MSG(g == NULL && strstr(vka_last_error(ctx), cases[i].needle), "case %zu: '%s'", i, vka_last_error(ctx));
        vka_graph_destroy(g);
    }
    /* A layout larger than the kernel's 16 KiB uniform block: refused at planning. */
    attn_case big = {.scheme = "bigbird", .params = tiny_block, .batch = 1, .heads = 1, .nq = 8192, .nk = 8192, .d = 8};
    vka_graph *g = attn_graph(ctx, &big);
    vka_plan *plan = NULL;
    CHECK(g != NULL);
    if (g) {
        vka_result r = vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan);
        CHECK_MSG(r == VKA_ERROR_LIMIT_EXCEEDED && strstr(vka_last_error(ctx), "block layout"), "'%s'",
                  vka_last_error(ctx));
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    test_check_validation(ctx);
}

/* A given block layout (blocksparse): random blocks per head, as a graph constant, for
 * the whole sequence and for its last positions; refused as a plain input or misshapen. */
static vka_graph *layout_graph(vka_context *ctx, uint32_t heads, uint32_t nq, uint32_t n, uint32_t layout_heads,
                               const int32_t *layout, uint32_t blocks, bool constant)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    vka_tensor q, k, v, l, o;
    vka_tensor_desc dl = {.name = "layout", .dtype = VKA_DTYPE_I32, .rank = 3, .dims = {layout_heads, blocks, blocks}};
    size_t bytes = (size_t)layout_heads * blocks * blocks * 4;
    bool ok = vka_graph_input(g, &(vka_tensor_desc){.name = "q", .rank = 4, .dims = {1, heads, nq, 16}}, &q) == 0 &&
              vka_graph_input(g, &(vka_tensor_desc){.name = "k", .rank = 4, .dims = {1, heads, n, 16}}, &k) == 0 &&
              vka_graph_input(g, &(vka_tensor_desc){.name = "v", .rank = 4, .dims = {1, heads, n, 16}}, &v) == 0 &&
              (constant ? vka_graph_constant(g, &dl, layout, bytes, &l) : vka_graph_input(g, &dl, &l)) == 0;
    vka_op_desc op = {
        .op = "blocksparse", .inputs = {{"q", q}, {"k", k}, {"v", v}, {"layout", l}}, .params = {{"block", "16"}}};
    if (!ok || vka_graph_op(g, &op, &o) != VKA_SUCCESS || vka_graph_output(g, "out", o) != VKA_SUCCESS) {
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void given_layouts(void)
{
    if (!test_class_contexts(contexts))
        return;
    enum { H = 2, N = 200, BLOCKS = 13 }; /* ⌈200 / 16⌉ */
    static int32_t layout[H * BLOCKS * BLOCKS];
    static float q[H * N * 16], k[H * N * 16], v[H * N * 16], out[H * N * 16], ref[H * N * 16];
    test_seed(700);
    for (size_t i = 0; i < sizeof layout / 4; i++)
        layout[i] = test_normal() > 0.3f;
    test_fill_normal(q, sizeof q / 4, 1.0f);
    test_fill_normal(k, sizeof k / 4, 1.0f);
    test_fill_normal(v, sizeof v / 4, 1.0f);
    const uint32_t query_counts[] = {N, N - 5 * 16};
    for (int cls = 0; cls < 2; cls++)
        for (int qi = 0; qi < 2; qi++) {
            vka_context *ctx = contexts[cls];
            uint32_t nq = query_counts[qi];
            vka_graph *g = layout_graph(ctx, H, nq, N, H, layout, BLOCKS, true);
            vka_plan *plan = NULL;
            CHECK_MSG(g != NULL, "building: %s", vka_last_error(ctx));
            size_t q_bytes = (size_t)H * nq * 16 * 4;
            float *q_last = malloc(q_bytes);
            for (uint32_t h = 0; q_last && h < H; h++) /* the last nq positions' queries */
                memcpy(q_last + (size_t)h * nq * 16, q + ((size_t)h * N + (N - nq)) * 16, (size_t)nq * 16 * 4);
            vka_host_tensor in[] = {{"q", q_last, q_bytes}, {"k", k, sizeof k}, {"v", v, sizeof v}};
            if (g && q_last)
                CHECK_OK(ctx, vka_graph_reference(g, in, 3, &(vka_host_tensor){"out", ref, q_bytes}, 1));
            if (g && q_last && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS) {
                for (int i = 0; i < 3; i++)
                    CHECK_OK(ctx, vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes));
                CHECK_OK(ctx, vka_plan_run(plan));
                CHECK_OK(ctx, vka_plan_read(plan, "out", out, q_bytes));
                char label[64];
                snprintf(label, sizeof label, "given layout Nq%u %s", nq, cls ? "gpu" : "cpu");
                test_close(label, out, ref, q_bytes / 4, 2e-5, 2e-4);
            }
            free(q_last);
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
            test_check_validation(ctx);
        }
    vka_context *ctx = contexts[0];
    vka_graph *g = layout_graph(ctx, H, N, N, H, layout, BLOCKS, false);
    CHECK_MSG(g == NULL && strstr(vka_last_error(ctx), "must be a constant"), "'%s'", vka_last_error(ctx));
    vka_graph_destroy(g);
    g = layout_graph(ctx, H, N, N, H, layout, BLOCKS - 1, true);
    CHECK_MSG(g == NULL && strstr(vka_last_error(ctx), "it must be [1 or 2, 13, 13]"), "'%s'", vka_last_error(ctx));
    vka_graph_destroy(g);
}

enum { MB = 2, MH = 3, MNQ = 24, MNK = 40, MD = 16, MDV = 8 };

/* One operation on q [MB, MH, MNQ, MD], k, v over MNK keys and an additive mask of
 * `mask_dims`: the GPU's output into gpu, the reference's into ref (NULL: not wanted). The
 * result of planning (refused where the device binds too few buffers). */
static vka_result run_masked(vka_context *ctx, const char *scheme, const vka_op_param *params,
                             const uint32_t mask_dims[4], const float *q, const float *k, const float *v,
                             const float *mask, float *gpu, float *ref)
{
    size_t mask_bytes = (size_t)mask_dims[0] * mask_dims[1] * MNQ * MNK * 4;
    vka_host_tensor in[] = {{"q", (void *)q, (size_t)MB * MH * MNQ * MD * 4},
                            {"k", (void *)k, (size_t)MB * MH * MNK * MD * 4},
                            {"v", (void *)v, (size_t)MB * MH * MNK * MDV * 4},
                            {"mask", (void *)mask, mask_bytes}};
    const uint32_t dims[4][4] = {
        {MB, MH, MNQ, MD}, {MB, MH, MNK, MD}, {MB, MH, MNK, MDV}, {mask_dims[0], mask_dims[1], MNQ, MNK}};
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tensor o;
    vka_op_desc op = {.op = scheme};
    for (int i = 0; params && params[i].key; i++)
        op.params[i] = params[i];
    vka_result r = vka_graph_create(ctx, &g);
    for (int t = 0; r == VKA_SUCCESS && t < 4; t++) {
        op.inputs[t].role = in[t].name;
        r = vka_graph_input(
            g, &(vka_tensor_desc){in[t].name, .rank = 4, .dims = {dims[t][0], dims[t][1], dims[t][2], dims[t][3]}},
            &op.inputs[t].tensor);
    }
    if (r == VKA_SUCCESS)
        r = vka_graph_op(g, &op, &o);
    if (r == VKA_SUCCESS)
        r = vka_graph_output(g, "out", o);
    size_t out_bytes = (size_t)MB * MH * MNQ * MDV * 4;
    if (r == VKA_SUCCESS && ref)
        r = vka_graph_reference(g, in, 4, &(vka_host_tensor){"out", ref, out_bytes}, 1);
    if (r == VKA_SUCCESS)
        r = vka_plan_create(g, NULL, &plan);
    for (int t = 0; r == VKA_SUCCESS && t < 4; t++)
        r = vka_plan_write(plan, in[t].name, in[t].data, in[t].bytes);
    if (r == VKA_SUCCESS)
        r = vka_plan_run(plan);
    if (r == VKA_SUCCESS)
        r = vka_plan_read(plan, "out", gpu, out_bytes);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return r;
}

/* An additive mask on the patterns (SCHEMES.md §1, as softmax's): four broadcast shapes,
 * −inf entries and a row masked whole (its output 0), the queries the sequence's last 24 of
 * 40 positions, against the twin; and independently of it, a window covering the sequence
 * with a mask equals softmax with that mask. Where the device binds four storage buffers per
 * stage (android-2021), refused by name. */
static void additive_mask(void)
{
    static const pattern_case cases[] = {
        {"local", {{"window", "5"}, {"causal", "1"}}},
        {"bigbird", {{"block", "8"}, {"random", "1"}}},
        {"strided", {{"stride", "7"}}},
        {"longformer", {{"window", "3"}, {"global", "2"}}},
    };
    static const uint32_t shapes[4][4] = {{MB, MH}, {1, 1}, {MB, 1}, {1, MH}};
    if (!test_class_contexts(contexts))
        return;
    size_t nq = (size_t)MB * MH * MNQ, nk = (size_t)MB * MH * MNK, masks = nq * MNK;
    float *q = malloc(nq * MD * 4), *k = malloc(nk * MD * 4), *v = malloc(nk * MDV * 4), *mask = malloc(masks * 4);
    float *gpu = malloc(nq * MDV * 4), *ref = malloc(nq * MDV * 4), *dense = malloc(nq * MDV * 4);
    test_seed(91);
    test_fill_normal(q, nq * MD, 1.0f);
    test_fill_normal(k, nk * MD, 1.0f);
    test_fill_normal(v, nk * MDV, 1.0f);
    test_fill_normal(mask, masks, 2.0f);
    for (size_t i = 0; i < masks; i += 5)
        mask[i] = -INFINITY;
    for (size_t j = 0; j < MNK; j++) /* the first slice's row 3: every key masked */
        mask[3 * MNK + j] = -INFINITY;
    vka_device_info info;
    vka_context_device_info(contexts[0], &info);
    bool fits = info.limits.max_storage_buffers_per_stage >= 5;
    for (int cls = 0; cls < 2; cls++)
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
            for (int s = 0; s < 4; s++) {
                vka_result r =
                    run_masked(contexts[cls], cases[c].scheme, cases[c].params, shapes[s], q, k, v, mask, gpu, ref);
                char label[96];
                snprintf(label, sizeof label, "%s with a [%u, %u] mask (%s)", cases[c].scheme, shapes[s][0],
                         shapes[s][1], cls ? "gpu" : "cpu");
                if (!fits) {
                    CHECK_MSG(r == VKA_ERROR_LIMIT_EXCEEDED &&
                                  strstr(vka_last_error(contexts[cls]), "5 storage buffers"),
                              "%s: %s", label, vka_last_error(contexts[cls]));
                    continue;
                }
                CHECK_MSG(r == VKA_SUCCESS, "%s: %s", label, vka_last_error(contexts[cls]));
                if (r == VKA_SUCCESS)
                    test_close(label, gpu, ref, nq * MDV, 2e-5, 2e-4);
                if (r == VKA_SUCCESS && s == 0 && shapes[s][0] == MB) /* the row masked whole */
                    for (int d = 0; d < MDV; d++)
                        CHECK_MSG(gpu[3 * MDV + d] == 0.0f, "%s: a row masked whole gave %g", label, gpu[3 * MDV + d]);
            }
    static const vka_op_param wide[] = {{"window", "1000"}, {0}};
    for (int cls = 0; fits && cls < 2; cls++) {
        CHECK_OK(contexts[cls], run_masked(contexts[cls], "local", wide, shapes[0], q, k, v, mask, gpu, NULL));
        CHECK_OK(contexts[cls], run_masked(contexts[cls], "softmax", NULL, shapes[0], q, k, v, mask, dense, NULL));
        test_close("local window ≥ N with a mask = softmax with it", gpu, dense, nq * MDV, 1e-6, 1e-5);
    }
    free(q), free(k), free(v), free(mask), free(gpu), free(ref), free(dense);
}

/* SCHEMES.md §1's softcap and sinks on the patterns (as softmax's): each pattern with a soft
 * cap and a sink logit per head against the reference, kv_len with an empty batch (rows 0). */
static void softcap_and_sinks(void)
{
    static const pattern_case cases[] = {
        {"local", {{"window", "7"}, {"causal", "1"}}},
        {"bigbird", {{"block", "16"}, {"random", "2"}}},
        {"strided", {{"stride", "13"}}},
        {"longformer", {{"window", "5"}, {"global", "3"}}},
    };
    enum { B = 2, H = 3, N = 100, D = 16 };
    static const int32_t lens[B] = {0, 77};
    if (!test_class_contexts(contexts))
        return;
    size_t count = (size_t)B * H * N * D;
    float *q = malloc(count * 4), *k = malloc(count * 4), *v = malloc(count * 4), *gpu = malloc(count * 4),
          *ref = malloc(count * 4), sinks[H] = {0.5f, -1.0f, 3.0f};
    test_seed(77);
    test_fill_normal(q, count, 1.0f);
    test_fill_normal(k, count, 1.0f);
    test_fill_normal(v, count, 1.0f);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int cls = 0; cls < 2; cls++) {
            vka_context *ctx = contexts[cls];
            vka_graph *g = NULL;
            vka_plan *plan = NULL;
            vka_tensor tq, tk, tv, tl, ts, o;
            vka_op_desc op = {.op = cases[i].scheme};
            memcpy(op.params, cases[i].params, sizeof cases[i].params);
            op.params[2] = (vka_op_param){"softcap", "2.5"};
            CHECK_OK(ctx, vka_graph_create(ctx, &g));
            vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {B, H, N, D}}, &tq);
            vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {B, H, N, D}}, &tk);
            vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {B, H, N, D}}, &tv);
            vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {B}}, &tl);
            vka_graph_input(g, &(vka_tensor_desc){"sinks", .rank = 1, .dims = {H}}, &ts);
            op.inputs[0] = (vka_op_input){"q", tq};
            op.inputs[1] = (vka_op_input){"k", tk};
            op.inputs[2] = (vka_op_input){"v", tv};
            op.inputs[3] = (vka_op_input){"kv_len", tl};
            op.inputs[4] = (vka_op_input){"sinks", ts};
            CHECK_OK(ctx, vka_graph_op(g, &op, &o));
            CHECK_OK(ctx, vka_graph_output(g, "out", o));
            vka_host_tensor in[] = {{"q", q, count * 4},
                                    {"k", k, count * 4},
                                    {"v", v, count * 4},
                                    {"kv_len", (void *)lens, sizeof lens},
                                    {"sinks", sinks, sizeof sinks}};
            CHECK_OK(ctx, vka_graph_reference(g, in, 5, &(vka_host_tensor){"out", ref, count * 4}, 1));
            CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
            for (size_t t = 0; plan && t < 5; t++)
                CHECK_OK(ctx, vka_plan_write(plan, in[t].name, in[t].data, in[t].bytes));
            if (plan) {
                CHECK_OK(ctx, vka_plan_run(plan));
                CHECK_OK(ctx, vka_plan_read(plan, "out", gpu, count * 4));
                char label[96];
                snprintf(label, sizeof label, "%s softcap + sinks (%s)", cases[i].scheme, cls ? "gpu" : "cpu");
                CHECK(test_close(label, gpu, ref, count, 2e-5, 2e-4));
                double empty = 0; /* batch 0 has no keys: its rows are 0, sinks or not */
                for (size_t e = 0; e < count / B; e++)
                    empty = fmax(empty, fabs(gpu[e]));
                CHECK_MSG(empty == 0, "%s: a row without keys reads %g", cases[i].scheme, empty);
            }
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
            test_check_validation(ctx);
        }
    free(q), free(k), free(v), free(gpu), free(ref);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"patterns_against_dense_masks", patterns_against_dense_masks},
        {"long_causal_and_kv_len", long_causal_and_kv_len},
        {"queries_first_with_top_left", queries_first_with_top_left},
        {"additive_mask", additive_mask},
        {"visited_blocks_are_few", visited_blocks_are_few},
        {"bad_parameters_are_refused", bad_parameters_are_refused},
        {"given_layouts", given_layouts},
        {"softcap_and_sinks", softcap_and_sinks},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
