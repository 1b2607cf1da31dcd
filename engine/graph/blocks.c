/* Model-level blocks composed of graph operations (nothing here is a kernel): the
 * multi-head attention block. */
#include "graph.h"

#include <stdio.h>

static vka_result dense(vka_graph *g, vka_tensor x, vka_tensor w, vka_tensor b, vka_tensor *out)
{
    vka_op_desc d = {.op = "dense", .inputs = {{"x", x}, {"weight", w}}};
    if (b.id)
        d.inputs[2] = (vka_op_input){"bias", b};
    return vka_graph_op(g, &d, out);
}

static vka_result split(vka_graph *g, vka_tensor x, const char *heads, vka_tensor *out)
{
    return vka_graph_op(g, &(vka_op_desc){.op = "split_heads", .inputs = {{"x", x}}, .params = {{"heads", heads}}},
                        out);
}

vka_result vka_graph_mha(vka_graph *g, const vka_mha_desc *m, vka_tensor *out)
{
    if (!g || !m || !out)
        return vka_fail(g ? g->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_graph_mha: NULL argument");
    if (!m->x_q.id || !m->w_q.id || !m->w_k.id || !m->w_v.id || !m->w_o.id || m->heads == 0)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_mha: x_q, w_q, w_k, w_v, w_o and heads (> 0) are required");
    char heads[16];
    snprintf(heads, sizeof heads, "%u", m->heads);
    vka_tensor x_kv = m->x_kv.id ? m->x_kv : m->x_q, q, k, v, qh, kh, vh, attended, merged;
    vka_result r;
    if ((r = dense(g, m->x_q, m->w_q, m->b_q, &q)) || (r = dense(g, x_kv, m->w_k, m->b_k, &k)) ||
        (r = dense(g, x_kv, m->w_v, m->b_v, &v)) || (r = split(g, q, heads, &qh)) || (r = split(g, k, heads, &kh)) ||
        (r = split(g, v, heads, &vh)))
        return r;
    vka_op_desc attention = {.op = m->scheme ? m->scheme : "softmax", .inputs = {{"q", qh}, {"k", kh}, {"v", vh}}};
    for (uint32_t i = 0; i < VKA_MAX_OP_INPUTS - 3 && m->inputs[i].role; i++)
        attention.inputs[3 + i] = m->inputs[i];
    for (uint32_t i = 0; i < VKA_MAX_OP_PARAMS && m->params[i].key; i++)
        attention.params[i] = m->params[i];
    if ((r = vka_graph_op(g, &attention, &attended)) ||
        (r = vka_graph_op(g, &(vka_op_desc){.op = "merge_heads", .inputs = {{"x", attended}}}, &merged)))
        return r;
    return dense(g, merged, m->w_o, m->b_o, out);
}
