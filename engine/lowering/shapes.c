#include "shapes.h"

#include <stdio.h>

static const char *role_name(const vka_op_build *b, int role)
{
    return vka_op_class_named(b->op)->inputs[role].role;
}

vka_result vka_expect_tensor(vka_op_build *b, int role, uint32_t rank, vka_dtype dtype, const char *layout)
{
    const vka_graph_tensor *t = b->inputs[role];
    bool is_float = t->dtype == VKA_DTYPE_F32 || t->dtype == VKA_DTYPE_F16;
    if (t->rank == rank && (t->dtype == dtype || (dtype == VKA_DTYPE_F32 && is_float)))
        return VKA_SUCCESS;
    char shape[64];
    vka_format_shape(shape, sizeof shape, t->rank, t->dims);
    return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: %s must be %s %s; got %s %s", b->op, role_name(b, role),
                    vka_dtype_name(dtype), layout, vka_dtype_name(t->dtype), shape);
}

vka_result vka_expect_grouped_heads(vka_op_build *b, uint32_t *kv_heads)
{
    uint32_t h = b->inputs[0]->dims[1], hk = b->inputs[1]->dims[1], hv = b->inputs[2]->dims[1];
    *kv_heads = hk;
    if (hk != hv)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: k has heads %u (axis 1) but v has heads %u", b->op, hk,
                        hv);
    if (h % hk)
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                        "%s: q has %u heads and k, v %u; grouped heads need the k/v heads to divide the query heads",
                        b->op, h, hk);
    return VKA_SUCCESS;
}

vka_result vka_expect_sinks(vka_op_build *b, int role)
{
    const vka_graph_tensor *s = b->inputs[role];
    vka_result r = s ? vka_expect_tensor(b, role, 1, VKA_DTYPE_F32, "[heads]") : VKA_SUCCESS;
    if (r == VKA_SUCCESS && s && s->dims[0] != b->inputs[0]->dims[1])
        r = vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: sinks has %u entries; q has %u heads", b->op, s->dims[0],
                     b->inputs[0]->dims[1]);
    return r;
}

vka_result vka_expect_mask(vka_op_build *b, int role, uint32_t batch, uint32_t heads, uint32_t nq, uint32_t nk,
                           uint32_t *mask_batch, uint32_t *mask_heads)
{
    const vka_graph_tensor *m = b->inputs[role];
    *mask_batch = m ? m->dims[0] : 0;
    *mask_heads = m ? m->dims[1] : 0;
    if (!m || (m->rank == 4 && (m->dims[0] == 1 || m->dims[0] == batch) && (m->dims[1] == 1 || m->dims[1] == heads) &&
               m->dims[2] == nq && m->dims[3] == nk))
        return VKA_SUCCESS;
    char shape[64];
    vka_format_shape(shape, sizeof shape, m->rank, m->dims);
    return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH,
                    "%s: mask is %s; it must be [1 or %u, 1 or %u, %u, %u] (batch, heads, queries, keys)", b->op, shape,
                    batch, heads, nq, nk);
}

vka_result vka_expect_axes(vka_op_build *b, const vka_axis_rule *rules, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const vka_axis_rule *rule = &rules[i];
        const vka_graph_tensor *t = b->inputs[rule->role], *ref = b->inputs[rule->ref_role];
        if (!t || !ref || t->dims[rule->axis] == ref->dims[rule->ref_axis])
            continue;
        return vka_fail(b->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: %s has %s %u (axis %u) but %s has %s %u", b->op,
                        role_name(b, rule->role), rule->axis_name, t->dims[rule->axis], rule->axis,
                        role_name(b, rule->ref_role), rule->axis_name, ref->dims[rule->ref_axis]);
    }
    return VKA_SUCCESS;
}

vka_result vka_expect_qkv(vka_op_build *b)
{
    const char *layout = "[batch, heads, tokens, head_dim]";
    vka_result r = VKA_SUCCESS;
    for (int role = 0; r == VKA_SUCCESS && role < 3; role++)
        r = vka_expect_tensor(b, role, 4, VKA_DTYPE_F32, layout);
    return r;
}
