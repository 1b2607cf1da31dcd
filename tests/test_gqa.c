/* Grouped heads (GQA/MQA, SCHEMES.md §Conventions) in softmax, linear and performer: k and v with Hkv heads,
 * Hkv dividing H, query head h reading k/v head h / (H / Hkv). Against two oracles: the
 * double-precision reference, and the same engine run as ordinary multi-head attention
 * on k and v repeated head by head on the host (which must agree to f32 rounding). Both
 * kernels (flash, materialized), both kernel classes, causal and kv_len, an f16 case,
 * and head counts that do not divide refused by name. Validation layer on. */
#include "harness.h"

static vka_context *contexts[2]; /* CPU class, GPU class */

typedef struct gqa_case {
    uint32_t batch, heads, kv_heads, nq, nk, d, dv;
    bool causal, kv_len;
    const char *kernel; /* softmax's; NULL: another op, its defaults */
    const char *op;     /* NULL: softmax */
} gqa_case;

/* softmax on q [B,H,Nq,D], k [B,kv_heads,Nk,D], v [B,kv_heads,Nk,Dv]; out gets [B,H,Nq,Dv]
 * from the device, ref (if not NULL) from the reference. */
static vka_result run(vka_context *ctx, const gqa_case *c, uint32_t kv_heads, const float *q, const float *k,
                      const float *v, const int32_t *lens, float *out, float *ref)
{
    vka_graph *g = NULL;
    vka_plan *plan = NULL;
    vka_tensor tq, tk, tv, tl = {0}, o;
    size_t nq = (size_t)c->batch * c->heads * c->nq, nk = (size_t)c->batch * kv_heads * c->nk;
    vka_result r = vka_graph_create(ctx, &g);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {c->batch, c->heads, c->nq, c->d}}, &tq);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {c->batch, kv_heads, c->nk, c->d}}, &tk);
    if (!r)
        r = vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {c->batch, kv_heads, c->nk, c->dv}}, &tv);
    if (!r && c->kv_len)
        r = vka_graph_input(g, &(vka_tensor_desc){"kv_len", VKA_DTYPE_I32, 1, {c->batch}}, &tl);
    if (!r)
        r = vka_graph_op(g,
                         &(vka_op_desc){.op = c->op ? c->op : "softmax",
                                        .inputs = {{"q", tq}, {"k", tk}, {"v", tv}, {c->kv_len ? "kv_len" : NULL, tl}},
                                        .params = {{c->kernel ? "kernel" : NULL, c->kernel}},
                                        .numbers = {{"causal", c->causal}}},
                         &o);
    if (!r)
        r = vka_graph_output(g, "o", o);
    size_t out_bytes = (size_t)c->batch * c->heads * c->nq * c->dv * 4;
    vka_host_tensor in[4] = {{"q", (void *)q, nq * c->d * 4},
                             {"k", (void *)k, nk * c->d * 4},
                             {"v", (void *)v, nk * c->dv * 4},
                             {"kv_len", (void *)lens, c->batch * 4}};
    if (!r && ref)
        r = vka_graph_reference(g, in, c->kv_len ? 4 : 3, &(vka_host_tensor){"o", ref, out_bytes}, 1);
    if (!r)
        r = vka_plan_create(g, NULL, &plan);
    for (int i = 0; !r && i < (c->kv_len ? 4 : 3); i++)
        r = vka_plan_write(plan, in[i].name, in[i].data, in[i].bytes);
    if (!r && !(r = vka_plan_run(plan)))
        r = vka_plan_read(plan, "o", out, out_bytes);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return r;
}

/* x [B, Hkv, N, W] repeated to [B, H, N, W]: head h is kv head h / (H / Hkv). */
static float *repeat_heads(const float *x, uint32_t batch, uint32_t heads, uint32_t kv_heads, size_t per_head)
{
    float *out = malloc((size_t)batch * heads * per_head * sizeof *out);
    for (uint32_t b = 0; out && b < batch; b++)
        for (uint32_t h = 0; h < heads; h++)
            memcpy(out + ((size_t)b * heads + h) * per_head,
                   x + ((size_t)b * kv_heads + h / (heads / kv_heads)) * per_head, per_head * sizeof *out);
    return out;
}

static void check(const gqa_case *c, uint64_t seed)
{
    size_t nq = (size_t)c->batch * c->heads * c->nq, nk = (size_t)c->batch * c->kv_heads * c->nk;
    size_t n_out = nq * c->dv;
    float *q = malloc(nq * c->d * 4), *k = malloc(nk * c->d * 4), *v = malloc(nk * c->dv * 4);
    float *out = malloc(n_out * 4), *ref = malloc(n_out * 4), *mha = malloc(n_out * 4);
    int32_t lens[8];
    test_seed(seed);
    test_fill_normal(q, nq * c->d, 0.5f);
    test_fill_normal(k, nk * c->d, 0.5f);
    test_fill_normal(v, nk * c->dv, 1.0f);
    for (uint32_t b = 0; b < c->batch; b++)
        lens[b] = (int32_t)(c->nk - 5 * b);
    float *k_rep = repeat_heads(k, c->batch, c->heads, c->kv_heads, (size_t)c->nk * c->d);
    float *v_rep = repeat_heads(v, c->batch, c->heads, c->kv_heads, (size_t)c->nk * c->dv);
    for (int cls = 0; cls < 2; cls++) {
        char label[160];
        snprintf(label, sizeof label, "%s B%u H%u Hkv%u Nq%u Nk%u D%u Dv%u causal%d kv_len%d %s/%s",
                 c->op ? c->op : "softmax", c->batch, c->heads, c->kv_heads, c->nq, c->nk, c->d, c->dv, c->causal,
                 c->kv_len, c->kernel ? c->kernel : "-", cls ? "gpu" : "cpu");
        vka_result r = run(contexts[cls], c, c->kv_heads, q, k, v, lens, out, ref);
        CHECK_MSG(r == VKA_SUCCESS, "%s: %s", label, vka_last_error(contexts[cls]));
        if (r != VKA_SUCCESS)
            continue;
        CHECK(test_close(label, out, ref, n_out, 2e-5, 2e-4));
        r = run(contexts[cls], c, c->heads, q, k_rep, v_rep, lens, mha, NULL);
        CHECK_MSG(r == VKA_SUCCESS, "%s (repeated): %s", label, vka_last_error(contexts[cls]));
        if (r == VKA_SUCCESS)
            CHECK(test_close("grouped against repeated heads", out, mha, n_out, 1e-6, 1e-6));
    }
    free(q), free(k), free(v), free(out), free(ref), free(mha), free(k_rep), free(v_rep);
}

static void grouped_heads_match(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const uint32_t kv_heads[] = {1, 2, 4, 8};
    static const char *const kernels[] = {"flash", "materialized"};
    uint64_t seed = 1;
    for (size_t i = 0; i < 4; i++)
        for (int k = 0; k < 2; k++)
            for (int variant = 0; variant < 2; variant++) {
                gqa_case c = {.batch = 2,
                              .heads = 8,
                              .kv_heads = kv_heads[i],
                              .nq = variant ? 33 : 64,
                              .nk = variant ? 70 : 64,
                              .d = 16,
                              .dv = variant ? 12 : 16,
                              .causal = variant,
                              .kv_len = variant,
                              .kernel = kernels[k]};
                check(&c, seed++);
            }
}

/* Kernel attention (linear, performer) with grouped heads: each query head keeps its own
 * state of its group's keys. */
static void kernel_attention_grouped(void)
{
    if (!test_class_contexts(contexts))
        return;
    static const char *const ops[] = {"linear", "performer"};
    uint64_t seed = 50;
    for (int o = 0; o < 2; o++)
        for (int variant = 0; variant < 2; variant++) {
            gqa_case c = {.batch = 2,
                          .heads = 4,
                          .kv_heads = variant ? 1 : 2,
                          .nq = 40,
                          .nk = variant ? 70 : 40,
                          .d = 16,
                          .dv = 8,
                          .causal = variant,
                          .kv_len = variant,
                          .op = ops[o]};
            check(&c, seed++);
        }
}

/* Three batches of 12 query heads on 3 k/v heads each (groups of 4), few tokens. */
static void grouped_heads_three_per_group(void)
{
    if (!test_class_contexts(contexts))
        return;
    gqa_case c = {.batch = 3, .heads = 12, .kv_heads = 3, .nq = 5, .nk = 9, .d = 8, .dv = 8, .kernel = "flash"};
    check(&c, 99);
}

static void heads_that_do_not_divide_are_refused(void)
{
    vka_context *ctx = test_context(NULL);
    vka_graph *g = NULL;
    if (!ctx || vka_graph_create(ctx, &g) != VKA_SUCCESS) {
        test_context_done(ctx);
        return;
    }
    vka_tensor q, k, v, o;
    vka_graph_input(g, &(vka_tensor_desc){"q", .rank = 4, .dims = {1, 8, 4, 4}}, &q);
    vka_graph_input(g, &(vka_tensor_desc){"k", .rank = 4, .dims = {1, 3, 4, 4}}, &k);
    vka_graph_input(g, &(vka_tensor_desc){"v", .rank = 4, .dims = {1, 2, 4, 4}}, &v);
    vka_result r = vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v}}}, &o);
    CHECK_MSG(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "heads"), "%s", vka_last_error(ctx));
    vka_tensor v3;
    vka_graph_input(g, &(vka_tensor_desc){"v3", .rank = 4, .dims = {1, 3, 4, 4}}, &v3);
    r = vka_graph_op(g, &(vka_op_desc){.op = "softmax", .inputs = {{"q", q}, {"k", k}, {"v", v3}}}, &o);
    CHECK_MSG(r == VKA_ERROR_SHAPE_MISMATCH && strstr(vka_last_error(ctx), "8 heads") &&
                  strstr(vka_last_error(ctx), "k, v 3"),
              "%s", vka_last_error(ctx));
    vka_graph_destroy(g);
    test_context_done(ctx);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"grouped_heads_match", grouped_heads_match},
        {"grouped_heads_three_per_group", grouped_heads_three_per_group},
        {"kernel_attention_grouped", kernel_attention_grouped},
        {"heads_that_do_not_divide_are_refused", heads_that_do_not_divide_are_refused},
    };
    int status = test_main(argc, argv, cases, sizeof cases / sizeof *cases);
    for (int i = 0; i < 2; i++)
        test_context_done(contexts[i]);
    return status;
}
