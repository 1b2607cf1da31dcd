/* Evaluating a graph with the double-precision reference: the same graph that is
 * planned for the GPU, run op by op on the host. Intermediate results stay in double. */
#include "graph.h"

#include "op.h"

#include <string.h>

typedef struct ref_state {
    const vka_graph *g;
    vka_ref_view *views; /* by tensor id */
} ref_state;

static void free_views(ref_state *st)
{
    for (uint32_t i = 0; st->views && i < st->g->tensor_count; i++) {
        free(st->views[i].data);
        free(st->views[i].ints);
    }
    free(st->views);
}

static vka_result alloc_view(ref_state *st, uint32_t id)
{
    const vka_graph_tensor *t = &st->g->tensors[id];
    vka_ref_view *v = &st->views[id];
    *v = (vka_ref_view){.dtype = t->dtype, .rank = t->rank};
    memcpy(v->dims, t->dims, sizeof v->dims);
    size_t n = (size_t)vka_element_count(t->rank, t->dims);
    if (t->dtype == VKA_DTYPE_I32)
        v->ints = calloc(n, sizeof *v->ints);
    else
        v->data = calloc(n, sizeof *v->data);
    if (!v->ints && !v->data)
        return vka_fail(st->g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory for the reference (%s)", t->name);
    return VKA_SUCCESS;
}

static vka_result load_view(ref_state *st, uint32_t id, const void *host)
{
    vka_result r = alloc_view(st, id);
    if (r != VKA_SUCCESS)
        return r;
    vka_ref_view *v = &st->views[id];
    size_t n = (size_t)vka_element_count(v->rank, v->dims);
    if (v->ints)
        memcpy(v->ints, host, n * sizeof *v->ints);
    else if (v->dtype == VKA_DTYPE_F16) /* exactly widened (SCHEMES.md: the f16 reference) */
        for (size_t i = 0; i < n; i++)
            v->data[i] = vka_half_to_float(((const uint16_t *)host)[i]);
    else
        for (size_t i = 0; i < n; i++)
            v->data[i] = ((const float *)host)[i];
    return VKA_SUCCESS;
}

static const vka_host_tensor *find_host(const vka_host_tensor *list, uint32_t count, const char *name)
{
    for (uint32_t i = 0; i < count; i++)
        if (list[i].name && strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

static vka_result check_bytes(const vka_graph *g, const vka_graph_tensor *t, const char *name, size_t bytes)
{
    size_t need = vka_dense_bytes(t->dtype, t->rank, t->dims);
    if (bytes == need)
        return VKA_SUCCESS;
    return vka_fail(g->ctx, VKA_ERROR_SHAPE_MISMATCH, "reference: '%s' has %zu bytes; its shape needs %zu", name, bytes,
                    need);
}

static vka_result load_leaves(ref_state *st, const vka_host_tensor *inputs, uint32_t input_count)
{
    const vka_graph *g = st->g;
    for (uint32_t i = 1; i < g->tensor_count; i++) {
        const vka_graph_tensor *t = &g->tensors[i];
        if (t->kind == VKA_TENSOR_CONSTANT) {
            vka_result r = load_view(st, i, t->data);
            if (r != VKA_SUCCESS)
                return r;
        } else if (t->kind == VKA_TENSOR_INPUT) {
            const vka_host_tensor *h = find_host(inputs, input_count, t->name);
            if (!h || !h->data)
                return vka_fail(g->ctx, VKA_ERROR_NOT_FOUND, "reference: no data for input '%s'", t->name);
            vka_result r = check_bytes(g, t, t->name, h->bytes);
            if (r == VKA_SUCCESS && t->int_ranged)
                r = vka_check_int_range(g->ctx, t->int_range_op, t->name, h->data, vka_element_count(t->rank, t->dims),
                                        t->int_min, t->int_max);
            if (r == VKA_SUCCESS)
                r = vka_check_float_range(g->ctx, t->name, h->data, t->dtype, vka_element_count(t->rank, t->dims),
                                          &t->float_range);
            if (r == VKA_SUCCESS)
                r = load_view(st, i, h->data);
            if (r != VKA_SUCCESS)
                return r;
        }
    }
    return VKA_SUCCESS;
}

static vka_result evaluate_ops(ref_state *st)
{
    const vka_graph *g = st->g;
    for (uint32_t i = 0; i < g->op_count; i++) {
        const vka_op_node *node = &g->ops[i];
        vka_ref_view in[VKA_MAX_OP_INPUTS] = {0};
        for (int role = 0; role < VKA_MAX_OP_INPUTS; role++)
            if (node->inputs[role])
                in[role] = st->views[node->inputs[role]];
        vka_result r = alloc_view(st, node->output);
        if (r == VKA_SUCCESS)
            r = node->cls->reference(g->ctx, node, in, &st->views[node->output]);
        if (r != VKA_SUCCESS)
            return r;
    }
    return VKA_SUCCESS;
}

static vka_result store_outputs(ref_state *st, vka_host_tensor *outputs, uint32_t output_count)
{
    const vka_graph *g = st->g;
    for (uint32_t o = 0; o < output_count; o++) {
        const vka_graph_tensor *t = NULL;
        uint32_t id = 0;
        for (uint32_t i = 1; i < g->tensor_count && !t; i++)
            if (g->tensors[i].output_name && outputs[o].name && strcmp(g->tensors[i].output_name, outputs[o].name) == 0)
                t = &g->tensors[id = i];
        if (!t || !outputs[o].data)
            return vka_fail(g->ctx, VKA_ERROR_NOT_FOUND, "reference: the graph has no output '%s'",
                            outputs[o].name ? outputs[o].name : "(null)");
        vka_result r = check_bytes(g, t, outputs[o].name, outputs[o].bytes);
        if (r != VKA_SUCCESS)
            return r;
        const vka_ref_view *v = &st->views[id];
        size_t n = (size_t)vka_element_count(v->rank, v->dims);
        if (v->ints)
            memcpy(outputs[o].data, v->ints, n * sizeof *v->ints);
        else if (t->dtype == VKA_DTYPE_F16) /* the result rounded to f16 */
            for (size_t i = 0; i < n; i++)
                ((uint16_t *)outputs[o].data)[i] = vka_float_to_half((float)v->data[i]);
        else
            for (size_t i = 0; i < n; i++)
                ((float *)outputs[o].data)[i] = (float)v->data[i];
    }
    return VKA_SUCCESS;
}

vka_result vka_graph_reference(const vka_graph *g, const vka_host_tensor *inputs, uint32_t input_count,
                               vka_host_tensor *outputs, uint32_t output_count)
{
    vka_result alive = vka_graph_alive(g, "vka_graph_reference");
    if (alive != VKA_SUCCESS)
        return alive;
    if ((input_count && !inputs) || (output_count && !outputs))
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_graph_reference: NULL argument");
    ref_state st = {.g = g, .views = calloc(g->tensor_count, sizeof(vka_ref_view))};
    if (!st.views)
        return vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory for the reference");
    vka_result r = load_leaves(&st, inputs, input_count);
    if (r == VKA_SUCCESS)
        r = evaluate_ops(&st);
    if (r == VKA_SUCCESS)
        r = store_outputs(&st, outputs, output_count);
    free_views(&st);
    return r;
}
