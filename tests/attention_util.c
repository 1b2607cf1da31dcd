#include "attention_util.h"

static uint32_t dv_of(const attn_case *c)
{
    return c->dv ? c->dv : c->d;
}

vka_graph *attn_graph(vka_context *ctx, const attn_case *c)
{
    vka_graph *g;
    if (vka_graph_create(ctx, &g) != VKA_SUCCESS)
        return NULL;
    vka_tensor q, k, v, kv, o;
    vka_tensor_desc dq = {.name = "q", .rank = 4, .dims = {c->batch, c->heads, c->nq, c->d}};
    vka_tensor_desc dk = {.name = "k", .rank = 4, .dims = {c->batch, c->heads, c->nk, c->d}};
    vka_tensor_desc dv = {.name = "v", .rank = 4, .dims = {c->batch, c->heads, c->nk, dv_of(c)}};
    vka_tensor_desc dl = {.name = "kv_len", .dtype = VKA_DTYPE_I32, .rank = 1, .dims = {c->batch}};
    vka_op_desc op = {.op = c->scheme ? c->scheme : "softmax", .inputs = {{"q", {0}}, {"k", {0}}, {"v", {0}}}};
    uint32_t p = 0;
    if (c->causal) /* schemes without a causal form take no such key */
        op.params[p++] = (vka_op_param){"causal", "1"};
    if (c->scale)
        op.params[p++] = (vka_op_param){"scale", c->scale};
    if (c->kernel)
        op.params[p++] = (vka_op_param){"kernel", c->kernel};
    for (uint32_t i = 0; c->params && c->params[i].key && p < VKA_MAX_OP_PARAMS; i++)
        op.params[p++] = c->params[i];
    bool ok = vka_graph_input(g, &dq, &q) == VKA_SUCCESS && vka_graph_input(g, &dk, &k) == VKA_SUCCESS &&
              vka_graph_input(g, &dv, &v) == VKA_SUCCESS;
    op.inputs[0].tensor = q;
    op.inputs[1].tensor = k;
    op.inputs[2].tensor = v;
    if (ok && c->kv_len) {
        ok = vka_graph_input(g, &dl, &kv) == VKA_SUCCESS;
        op.inputs[3] = (vka_op_input){"kv_len", kv};
    }
    ok = ok && vka_graph_op(g, &op, &o) == VKA_SUCCESS && vka_graph_output(g, "out", o) == VKA_SUCCESS;
    if (!ok) {
        fprintf(stderr, "  building the graph: %s\n", vka_last_error(ctx));
        vka_graph_destroy(g);
        return NULL;
    }
    return g;
}

void attn_data_free(attn_data *data)
{
    free(data->q);
    free(data->k);
    free(data->v);
    free(data->expected);
    memset(data, 0, sizeof *data);
}

bool attn_data_make(vka_context *ctx, const attn_case *c, attn_data *data)
{
    size_t bh = (size_t)c->batch * c->heads;
    data->q_bytes = bh * c->nq * c->d * 4;
    data->k_bytes = bh * c->nk * c->d * 4;
    data->v_bytes = bh * c->nk * dv_of(c) * 4;
    data->out_bytes = bh * c->nq * dv_of(c) * 4;
    data->q = malloc(data->q_bytes);
    data->k = malloc(data->k_bytes);
    data->v = malloc(data->v_bytes);
    data->expected = malloc(data->out_bytes);
    if (!data->q || !data->k || !data->v || !data->expected)
        return false;
    float s = c->input_scale > 0 ? c->input_scale : 1.0f;
    test_seed(c->seed ? c->seed : 1);
    test_fill_normal(data->q, data->q_bytes / 4, s);
    test_fill_normal(data->k, data->k_bytes / 4, s);
    test_fill_normal(data->v, data->v_bytes / 4, 1.0f);
    return attn_reference(ctx, c, data);
}

bool attn_reference(vka_context *ctx, const attn_case *c, attn_data *data)
{
    vka_graph *g = attn_graph(ctx, c);
    if (!g)
        return false;
    vka_host_tensor in[] = {{"q", data->q, data->q_bytes},
                            {"k", data->k, data->k_bytes},
                            {"v", data->v, data->v_bytes},
                            {"kv_len", (void *)c->kv_len, c->batch * sizeof(int32_t)}};
    vka_host_tensor out[] = {{"out", data->expected, data->out_bytes}};
    vka_result r = vka_graph_reference(g, in, c->kv_len ? 4 : 3, out, 1);
    if (r != VKA_SUCCESS)
        fprintf(stderr, "  reference: %s\n", vka_last_error(ctx));
    vka_graph_destroy(g);
    return r == VKA_SUCCESS;
}

vka_result attn_run_gpu(vka_context *ctx, const attn_case *c, const attn_data *data, float *out, vka_plan_stats *stats)
{
    vka_graph *g = attn_graph(ctx, c);
    if (!g)
        return VKA_ERROR_INVALID_ARGUMENT;
    vka_plan *plan = NULL;
    vka_result r = vka_plan_create(g, &(vka_plan_desc){0}, &plan);
    if (r == VKA_SUCCESS)
        r = vka_plan_write(plan, "q", data->q, data->q_bytes);
    if (r == VKA_SUCCESS)
        r = vka_plan_write(plan, "k", data->k, data->k_bytes);
    if (r == VKA_SUCCESS)
        r = vka_plan_write(plan, "v", data->v, data->v_bytes);
    if (r == VKA_SUCCESS && c->kv_len)
        r = vka_plan_write(plan, "kv_len", c->kv_len, c->batch * sizeof(int32_t));
    if (r == VKA_SUCCESS)
        r = vka_plan_run(plan);
    if (r == VKA_SUCCESS)
        r = vka_plan_read(plan, "out", out, data->out_bytes);
    if (r == VKA_SUCCESS && stats)
        vka_plan_stats_get(plan, stats);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return r;
}

bool attn_check(vka_context *ctx, const attn_case *c, const attn_data *data, double atol, double rtol,
                const char *label)
{
    float *out = malloc(data->out_bytes);
    if (!out)
        return false;
    vka_result r = attn_run_gpu(ctx, c, data, out, NULL);
    bool ok = r == VKA_SUCCESS;
    CHECK_MSG(ok, "%s: %s: %s", label, vka_result_string(r), vka_last_error(ctx));
    if (ok) {
        int before = test_failures;
        test_close(label, out, data->expected, data->out_bytes / 4, atol, rtol);
        ok = test_failures == before;
    }
    free(out);
    return ok;
}
