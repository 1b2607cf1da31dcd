/* Model-level blocks composed of graph operations (nothing here is a kernel): the
 * multi-head attention block, Set Transformer's MAB / ISAB / PMA, the pre-norm
 * transformer layer and the pseudo-token encoders (Perceiver / LBANP, IST). */
#include "common/common.h" /* vka_fail: the library's error sink */
#include "vkattn/models.h"

#include <math.h>
#include <string.h>

/* y = x W + b; W stored [out, in] (PyTorch) when out_in. */
static vka_result dense(vka_graph *g, vka_tensor x, vka_tensor w, vka_tensor b, bool out_in, vka_tensor *out)
{
    vka_op_desc d = {.op = "dense",
                     .inputs = {{"x", x}, {"weight", w}},
                     .params = {{"weight_layout", out_in ? "out_in" : "in_out"}}};
    if (b.id)
        d.inputs[2] = (vka_op_input){"bias", b};
    return vka_graph_op(g, &d, out);
}

static vka_result split(vka_graph *g, vka_tensor x, uint32_t heads, vka_tensor *out)
{
    return vka_graph_op(g, &(vka_op_desc){.op = "split_heads", .inputs = {{"x", x}}, .numbers = {{"heads", heads}}},
                        out);
}

vka_result vka_graph_mha(vka_graph *g, const vka_mha_desc *m, vka_tensor *out)
{
    if (!g || !m || !out)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT, "vka_graph_mha: NULL argument");
    if (!m->x_q.id || !m->w_q.id || !m->w_k.id || !m->w_v.id || !m->w_o.id || m->heads == 0)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_mha: x_q, w_q, w_k, w_v, w_o and heads (> 0) are required");
    uint32_t heads = m->heads;
    vka_tensor x_kv = m->x_kv.id ? m->x_kv : m->x_q, q, k, v, qh, kh, vh, attended, merged;
    vka_result r;
    bool t = m->weights_out_in;
    if ((r = dense(g, m->x_q, m->w_q, m->b_q, t, &q)) || (r = dense(g, x_kv, m->w_k, m->b_k, t, &k)) ||
        (r = dense(g, x_kv, m->w_v, m->b_v, t, &v)) || (r = split(g, q, heads, &qh)) || (r = split(g, k, heads, &kh)) ||
        (r = split(g, v, heads, &vh)))
        return r;
    vka_op_desc attention = {.op = m->scheme ? m->scheme : "softmax", .inputs = {{"q", qh}, {"k", kh}, {"v", vh}}};
    for (uint32_t i = 0; i < VKA_MAX_OP_INPUTS - 3 && m->inputs[i].role; i++)
        attention.inputs[3 + i] = m->inputs[i];
    memcpy(attention.params, m->params, sizeof attention.params);
    memcpy(attention.numbers, m->numbers, sizeof attention.numbers);
    if ((r = vka_graph_op(g, &attention, &attended)) ||
        (r = vka_graph_op(g, &(vka_op_desc){.op = "merge_heads", .inputs = {{"x", attended}}}, &merged)))
        return r;
    return dense(g, merged, m->w_o, m->b_o, m->weights_out_in, out);
}

/* ------------------------------------------------------------------ small op helpers */

static vka_result unary(vka_graph *g, const char *op, vka_tensor x, vka_tensor *out)
{
    return vka_graph_op(g, &(vka_op_desc){.op = op, .inputs = {{"x", x}}}, out);
}

static vka_result add(vka_graph *g, vka_tensor a, vka_tensor b, vka_tensor *out)
{
    return vka_graph_op(g, &(vka_op_desc){.op = "add", .inputs = {{"a", a}, {"b", b}}}, out);
}

/* LayerNorm with optional affine; `weight` {0} leaves x as it is. */
static vka_result layernorm(vka_graph *g, vka_tensor x, vka_tensor weight, vka_tensor bias, float eps, vka_tensor *out)
{
    if (!weight.id) {
        *out = x;
        return VKA_SUCCESS;
    }
    vka_op_desc d = {
        .op = "layernorm", .inputs = {{"x", x}, {"weight", weight}}, .numbers = {{"eps", eps > 0 ? eps : 1e-5f}}};
    if (bias.id)
        d.inputs[2] = (vka_op_input){"bias", bias};
    return vka_graph_op(g, &d, out);
}

static uint32_t batch_of(const vka_graph *g, vka_tensor t)
{
    vka_tensor_desc d;
    return vka_graph_tensor_desc(g, t, &d) == VKA_SUCCESS && d.rank == 3 ? d.dims[0] : 0;
}

/* A learned set [1, M, d] made [batch, M, d]; one given per batch is used as it is. */
static vka_result per_batch(vka_graph *g, vka_tensor set, uint32_t batch, vka_tensor *out)
{
    if (batch_of(g, set) == batch || batch_of(g, set) != 1) {
        *out = set; /* a wrong batch is reported by the op that meets it */
        return VKA_SUCCESS;
    }
    return vka_graph_op(g, &(vka_op_desc){.op = "broadcast", .inputs = {{"x", set}}, .numbers = {{"batch", batch}}},
                        out);
}

/* ------------------------------------------------------------------ Set Transformer */

vka_result vka_graph_mab(vka_graph *g, const vka_mab_desc *m, vka_tensor *out)
{
    if (!g || !m || !out)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT, "vka_graph_mab: NULL argument");
    if (!m->x.id || !m->w_q.id || !m->w_k.id || !m->w_v.id || !m->w_o.id || m->heads == 0)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_mab: x, w_q, w_k, w_v, w_o and heads (> 0) are required");
    vka_tensor y = m->y.id ? m->y : m->x, q, k, v, qh, kh, vh, attended, merged, h, ff, ff_relu, sum;
    vka_tensor_desc qd;
    vka_result r;
    bool t = m->weights_out_in;
    if ((r = dense(g, m->x, m->w_q, m->b_q, t, &q)) || (r = dense(g, y, m->w_k, m->b_k, t, &k)) ||
        (r = dense(g, y, m->w_v, m->b_v, t, &v)) || (r = vka_graph_tensor_desc(g, q, &qd)))
        return r;
    /* Set Transformer divides by √(model width), not √(head width). */
    double scale = m->scale != 0 ? m->scale : 1.0 / sqrt((double)qd.dims[qd.rank - 1]);
    if ((r = split(g, q, m->heads, &qh)) || (r = split(g, k, m->heads, &kh)) || (r = split(g, v, m->heads, &vh)) ||
        (r = vka_graph_op(g,
                          &(vka_op_desc){.op = "softmax",
                                         .inputs = {{"q", qh}, {"k", kh}, {"v", vh}},
                                         .numbers = {{"scale", scale}}},
                          &attended)) ||
        (r = unary(g, "merge_heads", attended, &merged)) || (r = add(g, q, merged, &h)) ||
        (r = layernorm(g, h, m->ln0_weight, m->ln0_bias, 0, &h)) || (r = dense(g, h, m->w_o, m->b_o, t, &ff)) ||
        (r = unary(g, "relu", ff, &ff_relu)) || (r = add(g, h, ff_relu, &sum)))
        return r;
    return layernorm(g, sum, m->ln1_weight, m->ln1_bias, 0, out);
}

vka_result vka_graph_isab(vka_graph *g, vka_tensor x, vka_tensor inducing, const vka_mab_desc *mab0,
                          const vka_mab_desc *mab1, vka_tensor *out)
{
    if (!g || !mab0 || !mab1 || !out || !x.id || !inducing.id)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_isab: x, inducing, both blocks and out are required");
    vka_mab_desc first = *mab0, second = *mab1;
    vka_result r = per_batch(g, inducing, batch_of(g, x), &first.x);
    first.y = x;
    if (r == VKA_SUCCESS)
        r = vka_graph_mab(g, &first, &second.y); /* H = MAB0(I, X) */
    second.x = x;
    return r == VKA_SUCCESS ? vka_graph_mab(g, &second, out) : r;
}

vka_result vka_graph_pma(vka_graph *g, vka_tensor z, vka_tensor seeds, const vka_mab_desc *mab, vka_tensor *out)
{
    if (!g || !mab || !out || !z.id || !seeds.id)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_pma: z, seeds, the block and out are required");
    vka_mab_desc block = *mab;
    block.y = z;
    vka_result r = per_batch(g, seeds, batch_of(g, z), &block.x);
    return r == VKA_SUCCESS ? vka_graph_mab(g, &block, out) : r;
}

/* ------------------------------------------------------------------ pre-norm transformer layer */

vka_result vka_graph_transformer_layer(vka_graph *g, const vka_transformer_layer_desc *t, vka_tensor *out)
{
    if (!g || !t || !out)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT, "vka_graph_transformer_layer: NULL argument");
    if (!t->x.id || !t->norm1_weight.id || !t->norm2_weight.id || !t->fc1_weight.id || !t->fc2_weight.id)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_transformer_layer: x, norm1_weight, norm2_weight, fc1_weight and fc2_weight are "
                        "required");
    vka_mha_desc attention = t->attention;
    vka_tensor hq, hc = {0}, attended, x1, h2, ff, ff_relu, ff_out;
    vka_result r;
    if ((r = layernorm(g, t->x, t->norm1_weight, t->norm1_bias, t->eps, &hq)) ||
        (t->context.id && (r = layernorm(g, t->context, t->norm1_weight, t->norm1_bias, t->eps, &hc))))
        return r;
    attention.x_q = hq;
    attention.x_kv = hc; /* {0}: self attention on hq */
    attention.weights_out_in = attention.weights_out_in || t->weights_out_in;
    if ((r = vka_graph_mha(g, &attention, &attended)) ||
        (r = add(g, t->residual_normalized ? hq : t->x, attended, &x1)) ||
        (r = layernorm(g, x1, t->norm2_weight, t->norm2_bias, t->eps, &h2)) ||
        (r = dense(g, h2, t->fc1_weight, t->fc1_bias, t->weights_out_in, &ff)) ||
        (r = unary(g, "relu", ff, &ff_relu)) ||
        (r = dense(g, ff_relu, t->fc2_weight, t->fc2_bias, t->weights_out_in, &ff_out)))
        return r;
    return add(g, t->residual_normalized ? h2 : x1, ff_out, out);
}

/* ------------------------------------------------------------------ pseudo-token encoders */

static vka_result step(vka_graph *g, const vka_transformer_layer_desc *s, vka_tensor x, vka_tensor context,
                       vka_tensor *out)
{
    vka_transformer_layer_desc layer = *s;
    layer.x = x;
    layer.context = context;
    return vka_graph_transformer_layer(g, &layer, out);
}

vka_result vka_graph_pseudo_token_encoder(vka_graph *g, const vka_pseudo_token_encoder_desc *e, vka_tensor *out)
{
    if (!g || !e || !out)
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_pseudo_token_encoder: NULL argument");
    if (!e->latents.id || !e->context.id || !e->targets.id || e->layers == 0 || !e->steps ||
        (e->order != VKA_ENCODER_PERCEIVER && e->order != VKA_ENCODER_IST))
        return vka_fail(vka_graph_context(g), VKA_ERROR_INVALID_ARGUMENT,
                        "vka_graph_pseudo_token_encoder: latents, context, targets, layers (> 0), 3·layers steps "
                        "and a known order are required");
    vka_tensor u, c = e->context, t = e->targets, none = {0};
    vka_result r = per_batch(g, e->latents, batch_of(g, c), &u);
    for (uint32_t i = 0; r == VKA_SUCCESS && i < e->layers; i++) {
        const vka_transformer_layer_desc *s = &e->steps[3 * i];
        if ((r = step(g, &s[0], u, c, &u))) /* the latents read the context */
            break;
        if (e->order == VKA_ENCODER_PERCEIVER) {
            if ((r = step(g, &s[1], u, none, &u)) == VKA_SUCCESS) /* latent self-attention */
                r = step(g, &s[2], t, u, &t);                     /* the targets read the latents */
        } else {
            if ((r = step(g, &s[1], t, u, &t)) == VKA_SUCCESS && i + 1 < e->layers) /* targets read the latents */
                r = step(g, &s[2], c, u, &c);                                       /* the context reads them back */
        }
    }
    if (r == VKA_SUCCESS)
        *out = t;
    return r;
}
