/* Low-rank attention (SCHEMES.md §8) against the double-precision reference
 * (engine/ref/lowrank.c): `linformer` with drawn projections, Nq ≠ Nk, Dv ≠ D, kproj above
 * and below the keys, a given projection longer than the keys (its first columns);
 * `nystrom` with even and uneven segments, Nq ≠ Nk, m ≥ N (exact softmax, checked against
 * softmax itself), m = 1; causal=1 refused by both; planned peak bytes linear in N at
 * 16k. Both kernel classes, validation layer on. */
#include "attention_util.h"

static vka_context *contexts[2]; /* CPU class, GPU class */

static void check(attn_case c, double atol, double rtol)
{
    if (!test_class_contexts(contexts))
        return;
    attn_data data = {0};
    if (!attn_data_make(contexts[0], &c, &data)) {
        CHECK_MSG(0, "could not set up the case: %s", vka_last_error(contexts[0]));
        attn_data_free(&data);
        return;
    }
    for (int cls = 0; cls < 2; cls++) {
        char label[160];
        snprintf(label, sizeof label, "%s B%u H%u Nq%u Nk%u D%u Dv%u %s=%s %s", c.scheme, c.batch, c.heads, c.nq, c.nk,
                 c.d, c.dv ? c.dv : c.d, c.params[0].key, c.params[0].value, cls ? "gpu" : "cpu");
        attn_check(contexts[cls], &c, &data, atol, rtol, label);
    }
    attn_data_free(&data);
}

static void linformer_shapes(void)
{
    static const vka_op_param k16[] = {{"kproj", "16"}, {"seed", "3"}, {0}}, k300[] = {{"kproj", "300"}, {0}},
                              k1[] = {{"kproj", "1"}, {0}};
    const attn_case cases[] = {
        {.scheme = "linformer", .params = k16, .batch = 2, .heads = 2, .nq = 100, .nk = 100, .d = 32, .seed = 1},
        {.scheme = "linformer",
         .params = k300,
         .batch = 1,
         .heads = 3,
         .nq = 17,
         .nk = 257,
         .d = 20,
         .dv = 12,
         .seed = 2},
        {.scheme = "linformer", .params = k1, .batch = 1, .heads = 1, .nq = 5, .nk = 1, .d = 4, .seed = 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check(cases[i], 2e-5, 2e-4);
}

/* A projection covering more tokens than there are keys: its first Nk columns are used —
 * the same output as the projection cut to Nk columns. */
static void linformer_longer_projection(void)
{
    if (!test_class_contexts(contexts))
        return;
    enum { B = 1, H = 2, N = 40, L = 64, D = 8, KP = 12 };
    static float q[B * H * N * D], k[B * H * N * D], v[B * H * N * D], e[KP * L], f[KP * L], cut_e[KP * N],
        cut_f[KP * N], out[2][B * H * N * D];
    test_seed(31);
    test_fill_normal(q, sizeof q / 4, 1.0f);
    test_fill_normal(k, sizeof k / 4, 1.0f);
    test_fill_normal(v, sizeof v / 4, 1.0f);
    test_fill_normal(e, sizeof e / 4, 0.3f);
    test_fill_normal(f, sizeof f / 4, 0.3f);
    for (int r = 0; r < KP; r++) {
        memcpy(cut_e + r * N, e + r * L, N * 4);
        memcpy(cut_f + r * N, f + r * L, N * 4);
    }
    for (int cls = 0; cls < 2; cls++) {
        vka_context *ctx = contexts[cls];
        for (int cut = 0; cut < 2; cut++) {
            vka_graph *g;
            CHECK_OK(ctx, vka_graph_create(ctx, &g));
            vka_tensor t[5], o;
            const char *names[5] = {"q", "k", "v", "proj_k", "proj_v"};
            uint32_t width = cut ? N : L;
            for (int i = 0; i < 5; i++) {
                vka_tensor_desc d = i < 3 ? (vka_tensor_desc){.name = names[i], .rank = 4, .dims = {B, H, N, D}}
                                          : (vka_tensor_desc){.name = names[i], .rank = 2, .dims = {KP, width}};
                CHECK_OK(ctx, vka_graph_input(g, &d, &t[i]));
            }
            vka_op_desc op = {.op = "linformer",
                              .inputs = {{"q", t[0]}, {"k", t[1]}, {"v", t[2]}, {"proj_k", t[3]}, {"proj_v", t[4]}}};
            CHECK_OK(ctx, vka_graph_op(g, &op, &o));
            CHECK_OK(ctx, vka_graph_output(g, "out", o));
            vka_plan *plan = NULL;
            CHECK_OK(ctx, vka_plan_create(g, NULL, &plan));
            if (plan) {
                vka_plan_write(plan, "q", q, sizeof q);
                vka_plan_write(plan, "k", k, sizeof k);
                vka_plan_write(plan, "v", v, sizeof v);
                vka_plan_write(plan, "proj_k", cut ? cut_e : e, cut ? sizeof cut_e : sizeof e);
                vka_plan_write(plan, "proj_v", cut ? cut_f : f, cut ? sizeof cut_f : sizeof f);
                CHECK_OK(ctx, vka_plan_run(plan));
                CHECK_OK(ctx, vka_plan_read(plan, "out", out[cut], sizeof out[cut]));
            }
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
        }
        test_close(cls ? "longer projection gpu" : "longer projection cpu", out[0], out[1], sizeof out[0] / 4, 1e-6,
                   1e-5);
        test_check_validation(ctx);
    }
}

static void nystrom_shapes(void)
{
    static const vka_op_param m16[] = {{"landmarks", "16"}, {0}}, m32[] = {{"landmarks", "32"}, {0}},
                              m7[] = {{"landmarks", "7"}, {0}}, m1[] = {{"landmarks", "1"}, {0}},
                              m64[] = {{"landmarks", "64"}, {0}};
    const attn_case cases[] = {
        {.scheme = "nystrom", .params = m16, .batch = 1, .heads = 2, .nq = 128, .nk = 128, .d = 32, .seed = 1},
        {.scheme = "nystrom", .params = m32, .batch = 2, .heads = 1, .nq = 301, .nk = 301, .d = 64, .seed = 2},
        {.scheme = "nystrom", .params = m7, .batch = 1, .heads = 2, .nq = 50, .nk = 83, .d = 12, .dv = 20, .seed = 3},
        {.scheme = "nystrom", .params = m1, .batch = 1, .heads = 1, .nq = 9, .nk = 9, .d = 8, .seed = 4},
        {.scheme = "nystrom", .params = m64, .batch = 1, .heads = 2, .nq = 1024, .nk = 1024, .d = 64, .seed = 6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check(cases[i], 1e-4, 1e-3);
}

/* m ≥ N: exact softmax attention — against softmax's own reference, not nystrom's. */
static void nystrom_is_exact_with_many_landmarks(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const vka_op_param m64[] = {{"landmarks", "64"}, {0}};
    attn_case exact = {.batch = 2, .heads = 2, .nq = 20, .nk = 33, .d = 16, .seed = 5};
    attn_case many = exact;
    many.scheme = "nystrom";
    many.params = m64;
    attn_data data = {0};
    if (attn_data_make(contexts[0], &exact, &data)) /* expected: softmax */
        for (int cls = 0; cls < 2; cls++)
            attn_check(contexts[cls], &many, &data, 2e-5, 2e-4, cls ? "nystrom m >= N gpu" : "nystrom m >= N cpu");
    attn_data_free(&data);
}

static void causal_is_refused(void)
{
    if (!test_class_contexts(contexts))
        return;
    const char *schemes[] = {"linformer", "nystrom"};
    for (int i = 0; i < 2; i++) {
        attn_case c = {.scheme = schemes[i], .batch = 1, .heads = 1, .nq = 8, .nk = 8, .d = 8, .causal = true};
        vka_graph *g = attn_graph(contexts[0], &c);
        CHECK_MSG(g == NULL && strstr(vka_last_error(contexts[0]), "no causal form"), "%s: '%s'", schemes[i],
                  vka_last_error(contexts[0]));
        vka_graph_destroy(g);
    }
    test_check_validation(contexts[0]);
}

/* Planned (not run), H = 8, D = 64: nystrom (m = 64) and linformer (kproj = 256) grow
 * linearly — 4× from 16k to 64k what they grow from 4k to 16k — and stay below the
 * materialized scores at 16k by far. */
static void memory_is_linear_in_n(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const vka_op_param m64[] = {{"landmarks", "64"}, {0}}, k256[] = {{"kproj", "256"}, {0}};
    const char *schemes[] = {"nystrom", "linformer"};
    const vka_op_param *params[] = {m64, k256};
    for (int s = 0; s < 2; s++) {
        double bytes[3];
        const uint32_t sizes[3] = {4096, 16384, 65536};
        for (int i = 0; i < 3; i++) {
            attn_case c = {.scheme = schemes[s],
                           .params = params[s],
                           .batch = 1,
                           .heads = 8,
                           .nq = sizes[i],
                           .nk = sizes[i],
                           .d = 64};
            vka_graph *g = attn_graph(contexts[0], &c);
            vka_plan *plan = NULL;
            vka_plan_stats st = {0};
            if (g)
                CHECK_OK(contexts[0], vka_plan_create(g, &(vka_plan_desc){.memory_only = true}, &plan));
            if (plan)
                vka_plan_stats_get(plan, &st);
            bytes[i] = (double)st.peak_device_bytes;
            vka_plan_destroy(plan);
            vka_graph_destroy(g);
        }
        double growth = (bytes[2] - bytes[1]) / (bytes[1] - bytes[0]), scores = 8.0 * 16384 * 16384 * 4;
        printf("  %s: %.1f, %.1f, %.1f MiB at 4k, 16k, 64k\n", schemes[s], bytes[0] / 1048576, bytes[1] / 1048576,
               bytes[2] / 1048576);
        CHECK_MSG(growth > 3.9 && growth < 4.1, "%s: growth ratio %.3f (4 if linear)", schemes[s], growth);
        CHECK_MSG(bytes[1] * 20 <= scores, "%s at 16k holds %.0f MiB", schemes[s], bytes[1] / 1048576);
    }
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"linformer_shapes", linformer_shapes},
        {"linformer_longer_projection", linformer_longer_projection},
        {"nystrom_shapes", nystrom_shapes},
        {"nystrom_is_exact_with_many_landmarks", nystrom_is_exact_with_many_landmarks},
        {"causal_is_refused", causal_is_refused},
        {"memory_is_linear_in_n", memory_is_linear_in_n},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        vka_context_destroy(contexts[i]);
    return status;
}
