/* Plans: graphs of several operations, arena packing by lifetime (exact peak bytes),
 * barriers only where data flows, splitting of dispatches whose tensors exceed one
 * binding, repeated runs, the full-sync and staging switches, timestamps. */
#include "attention_util.h"
#include "vkattn/embed.h" /* vka_plan_bind_buffer */

#include <stdint.h>

static vka_context *ctx;

static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) / a * a;
}

/* The alignment of tensors in the arena: what the planner uses for this device. */
static uint64_t arena_alignment(void)
{
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    uint64_t a = info.limits.min_storage_buffer_offset_alignment;
    if (info.limits.min_uniform_buffer_offset_alignment > a)
        a = info.limits.min_uniform_buffer_offset_alignment;
    return a > 16 ? a : 16;
}

/* o1 = softmax(q, k, v); o2 = softmax(o1, k, v): o1 is an intermediate. */
static vka_graph *chain_graph(uint32_t heads, uint32_t n, uint32_t d, const char *kernel)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    vka_tensor q, k, v, o1, o2;
    vka_tensor_desc desc = {.rank = 4, .dims = {1, heads, n, d}};
    desc.name = "q";
    vka_graph_input(g, &desc, &q);
    desc.name = "k";
    vka_graph_input(g, &desc, &k);
    desc.name = "v";
    vka_graph_input(g, &desc, &v);
    vka_op_param params[] = {{"kernel", kernel}, {0}};
    vka_op_desc op = {.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}}, .params = {params[0]}};
    bool ok = vka_graph_op(g, &op, &o1) == VKA_SUCCESS;
    op.inputs[0].tensor = o1;
    ok = ok && vka_graph_op(g, &op, &o2) == VKA_SUCCESS && vka_graph_output(g, "out", o2) == VKA_SUCCESS;
    if (!ok) {
        fprintf(stderr, "  chain: %s\n", vka_last_error(ctx));
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

static void run_chain(vka_graph *g, uint32_t count, const float *q, const float *k, const float *v, float *out,
                      vka_plan_stats *stats)
{
    vka_plan *plan = NULL;
    size_t bytes = count * sizeof(float);
    CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (!plan)
        return;
    CHECK_OK(ctx, vka_plan_write(plan, "q", q, bytes));
    CHECK_OK(ctx, vka_plan_write(plan, "k", k, bytes));
    CHECK_OK(ctx, vka_plan_write(plan, "v", v, bytes));
    CHECK_OK(ctx, vka_plan_run(plan));
    CHECK_OK(ctx, vka_plan_read(plan, "out", out, bytes));
    vka_plan_stats_get(plan, stats);
    vka_plan_destroy(plan);
}

static void chain_of_two_matches_reference_and_packs_by_lifetime(void)
{
    const uint32_t heads = 2, n = 32, d = 8, count = heads * n * d;
    const uint64_t a = arena_alignment();
    float q[2 * 32 * 8], k[2 * 32 * 8], v[2 * 32 * 8], out[2 * 32 * 8], ref[2 * 32 * 8];
    test_seed(3);
    test_fill_normal(q, count, 1);
    test_fill_normal(k, count, 1);
    test_fill_normal(v, count, 1);
    const uint64_t tensor = align_up(count * 4, a), kv_len = align_up(16, a), scores = align_up(heads * n * n * 4, a);
    for (int materialized = 0; materialized < 2; materialized++) {
        vka_graph *g = chain_graph(heads, n, d, materialized ? "materialized" : "flash");
        if (!g)
            continue;
        vka_host_tensor in[] = {{"q", q, sizeof q}, {"k", k, sizeof k}, {"v", v, sizeof v}};
        vka_host_tensor outs[] = {{"out", ref, sizeof ref}};
        CHECK_OK(ctx, vka_graph_reference(g, in, 3, outs, 1));
        vka_plan_stats s = {0};
        run_chain(g, count, q, k, v, out, &s);
        test_close(materialized ? "materialized chain" : "flash chain", out, ref, count, 2e-5, 2e-4);
        /* Pinned: q, k, v, the output, and one 16-byte kv_len table per op. Transient:
         * o1, and for the materialized kernel two score matrices whose lifetimes do not
         * overlap, so they share bytes, and the 16-byte tensor its matrix products bind
         * where they have no bias (an aligned slot, as a table's). Largest first; the
         * last table ends the arena. */
        uint64_t expected = 5 * tensor + (materialized ? scores + kv_len : 0) + kv_len + 16;
        CHECK_MSG(s.arena_bytes == expected, "%s: arena %llu bytes, expected %llu",
                  materialized ? "materialized" : "flash", (unsigned long long)s.arena_bytes,
                  (unsigned long long)expected);
        CHECK(s.tensor_bytes == 5ull * count * 4 + (materialized ? 2ull * heads * n * n * 4 + 16 : 0) + 32);
        CHECK(s.peak_device_bytes >= s.arena_bytes);
        /* flash: o2 reads o1 → 1 barrier. materialized: scores → softmax → P·V per op,
         * then the second op's q·kᵀ reads o1, and reuses the first op's score bytes. */
        CHECK_MSG(s.barrier_count == (materialized ? 5u : 1u), "barriers: %u", s.barrier_count);
        CHECK(s.dispatch_count == (materialized ? 6u : 2u));
        vka_graph_destroy(g);
    }
}

static void runs_repeat_and_inputs_persist(void)
{
    attn_case c = {.batch = 2, .heads = 2, .nq = 40, .nk = 50, .d = 16, .causal = true, .seed = 4};
    attn_data data = {0};
    CHECK(attn_data_make(ctx, &c, &data));
    vka_graph *g = attn_graph(ctx, &c);
    vka_plan *plan = NULL;
    float *out = malloc(data.out_bytes);
    if (g && out)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        CHECK_OK(ctx, vka_plan_write(plan, "q", data.q, data.q_bytes));
        CHECK_OK(ctx, vka_plan_write(plan, "k", data.k, data.k_bytes));
        CHECK_OK(ctx, vka_plan_write(plan, "v", data.v, data.v_bytes));
        for (int i = 0; i < 5; i++) {
            memset(out, 0xff, data.out_bytes);
            CHECK_OK(ctx, vka_plan_run(plan));
            CHECK_OK(ctx, vka_plan_read(plan, "out", out, data.out_bytes));
            test_close("repeated run", out, data.expected, data.out_bytes / 4, 2e-5, 2e-4);
        }
        /* New values for one input: the others are kept. */
        for (size_t i = 0; i < data.v_bytes / 4; i++)
            data.v[i] *= -2.0f;
        CHECK_OK(ctx, vka_plan_write(plan, "v", data.v, data.v_bytes));
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", out, data.out_bytes));
        for (size_t i = 0; i < data.out_bytes / 4; i++)
            data.expected[i] *= -2.0f;
        test_close("after rewriting v", out, data.expected, data.out_bytes / 4, 4e-5, 2e-4);
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        CHECK(s.run_count == 6);
        /* every tensor through host memory counted: 4 writes and 6 reads, of q/k/v's and out's bytes */
        CHECK_MSG(s.host_transfers == 10, "%u host transfers, not 10", s.host_transfers);
        /* the application's buffers belong to an embedded context's device only */
        VkBuffer not_ours = (VkBuffer)(uintptr_t)0x1234;
        vka_result bound = vka_plan_bind_buffer(
            plan, "q", &(vka_buffer_binding){not_ours, 0, data.q_bytes, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT});
        CHECK_MSG(bound == VKA_ERROR_INVALID_ARGUMENT && strstr(vka_last_error(ctx), "vka_context_embed"), "'%s'",
                  vka_last_error(ctx));
    }
    free(out);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    attn_data_free(&data);
}

static void unwritten_inputs_read_as_zeros(void)
{
    /* q = 0 everywhere: every score is 0, so each output row is the mean of v's rows. */
    attn_case c = {.batch = 1, .heads = 1, .nq = 3, .nk = 4, .d = 4};
    vka_graph *g = attn_graph(ctx, &c);
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        float v[16], out[12];
        for (int i = 0; i < 16; i++)
            v[i] = (float)i;
        CHECK_OK(ctx, vka_plan_write(plan, "v", v, sizeof v));
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", out, sizeof out));
        float mean[12];
        for (int r = 0; r < 3; r++)
            for (int col = 0; col < 4; col++)
                mean[r * 4 + col] = (0 + 4 + 8 + 12) / 4.0f + col;
        test_close("mean of v", out, mean, 12, 1e-6, 1e-6);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
}

/* 5 heads of 3001 × 3001 scores (34 MiB each, 172 MiB in all) exceed one binding of
 * 128 MiB: each dispatch is split along heads into pieces that fit. */
static void dispatches_split_when_tensors_exceed_a_binding(void)
{
    attn_case c = {.batch = 1, .heads = 5, .nq = 3001, .nk = 3001, .d = 4, .kernel = "materialized", .seed = 8};
    attn_data data = {0};
    CHECK(attn_data_make(ctx, &c, &data));
    float *out = malloc(data.out_bytes);
    vka_plan_stats s = {0};
    if (out)
        CHECK_OK(ctx, attn_run_gpu(ctx, &c, &data, out, &s));
    if (out)
        test_close("split dispatches", out, data.expected, data.out_bytes / 4, 2e-5, 2e-4);
    /* 134217728 / 36072016 → 3 heads per piece: 2 pieces for each of the 3 dispatches. */
    CHECK_MSG(s.dispatch_count == 6, "dispatches: %u", s.dispatch_count);
    free(out);
    attn_data_free(&data);
}

static void memory_only_plans_report_without_allocating(void)
{
    attn_case c = {.batch = 1, .heads = 8, .nq = 4096, .nk = 4096, .d = 64};
    for (int k = 0; k < 2; k++) {
        c.kernel = k ? "materialized" : "flash";
        vka_graph *g = attn_graph(ctx, &c);
        vka_plan *plan = NULL;
        if (g)
            CHECK_OK(ctx, vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
        if (plan) {
            vka_plan_stats s;
            vka_plan_stats_get(plan, &s);
            uint64_t tensor = 8ull * 4096 * 64 * 4, scores = 8ull * 4096 * 4096 * 4;
            /* the kv_len table last; the products' unused-binding tensor (16 bytes) */
            uint64_t expected = 4 * tensor + 16 + (k ? scores + align_up(16, arena_alignment()) : 0);
            CHECK_MSG(s.peak_device_bytes == expected, "%s: %llu bytes, expected %llu", c.kernel,
                      (unsigned long long)s.peak_device_bytes, (unsigned long long)expected);
            CHECK(s.pipelines_created == 0);
            float x = 0;
            CHECK(vka_plan_run(plan) == VKA_ERROR_INVALID_ARGUMENT);
            CHECK(vka_plan_write(plan, "q", &x, 4) == VKA_ERROR_INVALID_ARGUMENT);
        }
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
}

static void dispatch_timings_add_up(void)
{
    attn_case c = {.batch = 1, .heads = 2, .nq = 256, .nk = 256, .d = 32, .kernel = "materialized", .seed = 5};
    attn_data data = {0};
    CHECK(attn_data_make(ctx, &c, &data));
    vka_graph *g = attn_graph(ctx, &c);
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    if (plan) {
        CHECK_OK(ctx, vka_plan_write(plan, "q", data.q, data.q_bytes));
        CHECK_OK(ctx, vka_plan_write(plan, "k", data.k, data.k_bytes));
        CHECK_OK(ctx, vka_plan_write(plan, "v", data.v, data.v_bytes));
        CHECK_OK(ctx, vka_plan_run(plan));
        vka_plan_stats s;
        vka_plan_stats_get(plan, &s);
        double sum = 0;
        const char *expected_kernels[] = {"matmul", "softmax_rows", "matmul"};
        for (uint32_t i = 0; i < s.dispatch_count; i++) {
            vka_dispatch_info info;
            CHECK_OK(ctx, vka_plan_dispatch_at(plan, i, &info));
            CHECK(i < 3 && strcmp(info.kernel, expected_kernels[i]) == 0 && strcmp(info.op, "softmax") == 0);
            CHECK(info.gpu_ms >= 0);
            CHECK(info.barrier_before == (i > 0));
            sum += info.gpu_ms;
        }
        CHECK(vka_plan_dispatch_at(plan, s.dispatch_count, &(vka_dispatch_info){0}) == VKA_ERROR_INVALID_ARGUMENT);
        CHECK_MSG(s.last_run_gpu_ms > 0 && fabs(sum - s.last_run_gpu_ms) <= 0.05 * s.last_run_gpu_ms + 0.05,
                  "dispatches %.3f ms, plan %.3f ms", sum, s.last_run_gpu_ms);
        CHECK(s.plan_ms >= s.pipeline_create_ms && s.last_run_wall_ms > 0);
    }
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    attn_data_free(&data);
}

/* VKATTN_SYNC=full and the staging path must give bit-identical results. */
static void full_sync_and_staging_change_nothing(void)
{
    attn_case c = {
        .batch = 2, .heads = 3, .nq = 70, .nk = 90, .d = 24, .causal = true, .kernel = "materialized", .seed = 6};
    attn_data data = {0};
    CHECK(attn_data_make(ctx, &c, &data));
    float *base = malloc(data.out_bytes), *other = malloc(data.out_bytes);
    vka_plan_stats s0 = {0}, s1 = {0};
    if (base && other) {
        CHECK_OK(ctx, attn_run_gpu(ctx, &c, &data, base, &s0));
        const vka_context_desc variants[] = {{.sync = VKA_SYNC_FULL}, {.force_staging = true}};
        for (int i = 0; i < 2; i++) {
            vka_context *alt = test_context(&variants[i]);
            if (!alt)
                continue;
            CHECK_OK(alt, attn_run_gpu(alt, &c, &data, other, &s1));
            CHECK_MSG(memcmp(base, other, data.out_bytes) == 0, "%s changed the result", i ? "staging" : "full sync");
            if (i == 0)
                CHECK(s1.barrier_count == s1.dispatch_count - 1);
            test_context_done(alt);
        }
        test_close("planned sync", base, data.expected, data.out_bytes / 4, 2e-5, 2e-4);
    }
    free(base);
    free(other);
    attn_data_free(&data);
}

static void a_plan_outlives_its_graph(void)
{
    attn_case c = {.batch = 1, .heads = 1, .nq = 6, .nk = 6, .d = 4, .seed = 10};
    attn_data data = {0};
    CHECK(attn_data_make(ctx, &c, &data));
    vka_graph *g = attn_graph(ctx, &c);
    vka_plan *plan = NULL;
    if (g)
        CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
    vka_graph_destroy(g);
    if (plan) {
        float out[24];
        CHECK_OK(ctx, vka_plan_write(plan, "q", data.q, data.q_bytes));
        CHECK_OK(ctx, vka_plan_write(plan, "k", data.k, data.k_bytes));
        CHECK_OK(ctx, vka_plan_write(plan, "v", data.v, data.v_bytes));
        CHECK_OK(ctx, vka_plan_run(plan));
        CHECK_OK(ctx, vka_plan_read(plan, "out", out, sizeof out));
        test_close("after the graph is gone", out, data.expected, 24, 2e-5, 2e-4);
    }
    vka_plan_destroy(plan);
    attn_data_free(&data);
}

/* The plan time of `broadcast` over `batch` (one dispatch per batch index), best of two. */
static double broadcast_plan_ms(uint32_t batch)
{
    double best = 1e300;
    for (int trial = 0; trial < 2; trial++) {
        vka_graph *g = NULL;
        vka_tensor x, y;
        vka_plan *plan = NULL;
        CHECK_OK(ctx, vka_graph_create(ctx, &g));
        CHECK_OK(ctx, vka_graph_input(g, &(vka_tensor_desc){"x", .rank = 3, .dims = {1, 2, 4}}, &x));
        CHECK_OK(ctx,
                 vka_graph_op(g, &(vka_op_desc){.op = "broadcast", .inputs = {{"x", x}}, .numbers = {{"batch", batch}}},
                              &y));
        CHECK_OK(ctx, vka_graph_output(g, "y", y));
        CHECK_OK(ctx, vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
        vka_plan_stats s = {.plan_ms = 1e300};
        vka_plan_stats_get(plan, &s);
        CHECK(s.dispatch_count == batch && s.barrier_count == 0);
        best = s.plan_ms < best ? s.plan_ms : best;
        vka_plan_destroy(plan);
        vka_graph_destroy(g);
    }
    return best;
}

/* Barrier placement is O(n log n) in dispatches: four times the dispatches may not take
 * sixteen times the planning (it did: 2.3 s at 64k). A ratio, not a time limit. */
static void planning_grows_near_linearly(void)
{
    double small = broadcast_plan_ms(8192), large = broadcast_plan_ms(32768);
    printf("  plan 8192 dispatches: %.1f ms, 32768: %.1f ms (ratio %.2f)\n", small, large, large / small);
    CHECK_MSG(large < 8 * small, "4x the dispatches took %.1fx the planning", large / small);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"chain_of_two_matches_reference_and_packs_by_lifetime", chain_of_two_matches_reference_and_packs_by_lifetime},
        {"runs_repeat_and_inputs_persist", runs_repeat_and_inputs_persist},
        {"unwritten_inputs_read_as_zeros", unwritten_inputs_read_as_zeros},
        {"dispatches_split_when_tensors_exceed_a_binding", dispatches_split_when_tensors_exceed_a_binding},
        {"memory_only_plans_report_without_allocating", memory_only_plans_report_without_allocating},
        {"dispatch_timings_add_up", dispatch_timings_add_up},
        {"full_sync_and_staging_change_nothing", full_sync_and_staging_change_nothing},
        {"a_plan_outlives_its_graph", a_plan_outlives_its_graph},
        {"planning_grows_near_linearly", planning_grows_near_linearly},
    };
    ctx = test_context(NULL);
    if (!ctx)
        return 1;
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    test_context_done(ctx);
    return status;
}
