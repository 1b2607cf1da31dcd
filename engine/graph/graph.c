/* Building graphs: tensors, operations, outputs, and evaluation by the reference. */
#include "graph.h"

#include "device/context.h"
#include "op.h"
#include "params.h"

#include <stdio.h>
#include <string.h>

#define NAME_MAX_CHARS 63

const vka_graph_tensor *vka_graph_tensor_at(const vka_graph *g, uint32_t id)
{
    return id > 0 && id < g->tensor_count ? &g->tensors[id] : NULL;
}

/* The context went first: the graph (host memory only) stays a husk until destroyed. */
static void orphan(vka_context_child *child)
{
    ((vka_graph *)((char *)child - offsetof(vka_graph, child)))->ctx = NULL;
}

vka_result vka_graph_alive(const vka_graph *g, const char *call)
{
    if (!g)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "%s: graph is NULL", call);
    if (!g->ctx)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: the graph's context was destroyed (destroy graphs before their context)", call);
    return VKA_SUCCESS;
}

vka_result vka_graph_create(vka_context *ctx, vka_graph **out)
{
    if (!ctx || !out)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_graph_create: ctx and out must not be NULL");
    vka_graph *g = calloc(1, sizeof *g);
    if (!g || !vka_array_reserve((void **)&g->tensors, &g->tensor_capacity, 1, sizeof *g->tensors)) {
        free(g);
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory creating a graph");
    }
    g->ctx = ctx;
    g->tensor_count = 1; /* id 0 is "none" */
    vka_context_adopt(ctx, &g->child, orphan);
    *out = g;
    return VKA_SUCCESS;
}

void vka_graph_destroy(vka_graph *g)
{
    if (!g)
        return;
    if (g->ctx)
        vka_context_disown(g->ctx, &g->child);
    for (uint32_t i = 0; i < g->tensor_count; i++) {
        free(g->tensors[i].name);
        free(g->tensors[i].data);
        free(g->tensors[i].output_name);
    }
    for (uint32_t i = 0; i < g->op_count; i++) {
        free(g->ops[i].params);
        free(g->ops[i].resolved);
    }
    free(g->tensors);
    free(g->ops);
    free(g);
}

static bool name_taken(const vka_graph *g, const char *name)
{
    for (uint32_t i = 1; i < g->tensor_count; i++) {
        const vka_graph_tensor *t = &g->tensors[i];
        if (t->kind != VKA_TENSOR_RESULT && t->name && strcmp(t->name, name) == 0)
            return true;
        if (t->output_name && strcmp(t->output_name, name) == 0)
            return true;
    }
    return false;
}

static vka_result check_name(vka_graph *g, const char *what, const char *name)
{
    if (!name || !name[0])
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: a name is required", what);
    if (strlen(name) > NAME_MAX_CHARS)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s '%.20s...': names have at most %d characters", what,
                        name, NAME_MAX_CHARS);
    if (name_taken(g, name))
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s '%s': the graph already has a tensor of that name",
                        what, name);
    return VKA_SUCCESS;
}

static vka_result check_desc(vka_graph *g, const char *what, const vka_tensor_desc *d)
{
    if (d->dtype < VKA_DTYPE_DEFAULT || d->dtype > VKA_DTYPE_I32)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s '%s': unknown dtype %d", what, d->name, (int)d->dtype);
    if (d->rank < 1 || d->rank > VKA_MAX_RANK)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s '%s': rank %u, must be 1..%d", what, d->name, d->rank,
                        VKA_MAX_RANK);
    for (uint32_t i = 0; i < d->rank; i++)
        if (d->dims[i] == 0)
            return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s '%s': axis %u has size 0", what, d->name, i);
    /* Element counts must stay addressable by 32-bit shader indices (in vec4). */
    if (vka_element_count(d->rank, d->dims) > ((uint64_t)1 << 32))
        return vka_fail(g->ctx, VKA_ERROR_UNSUPPORTED, "%s '%s': more than 2^32 elements", what, d->name);
    return VKA_SUCCESS;
}

static vka_result add_tensor(vka_graph *g, vka_graph_tensor t, vka_tensor *out)
{
    if (!vka_array_reserve((void **)&g->tensors, &g->tensor_capacity, g->tensor_count + 1, sizeof t))
        return vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory adding a tensor");
    g->tensors[g->tensor_count] = t;
    out->id = g->tensor_count++;
    return VKA_SUCCESS;
}

static vka_result add_leaf(vka_graph *g, const char *what, vka_tensor_kind kind, const vka_tensor_desc *desc,
                           const void *data, size_t bytes, vka_tensor *out)
{
    if (!g || !desc || !out)
        return vka_fail(g ? g->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT, "%s: graph, desc and out must not be NULL",
                        what);
    out->id = 0;
    vka_result r = check_name(g, what, desc->name);
    if (r == VKA_SUCCESS)
        r = check_desc(g, what, desc);
    if (r != VKA_SUCCESS)
        return r;
    vka_dtype dtype = desc->dtype == VKA_DTYPE_DEFAULT ? VKA_DTYPE_F32 : desc->dtype;
    vka_graph_tensor t = {.kind = kind, .dtype = dtype, .rank = desc->rank};
    memcpy(t.dims, desc->dims, sizeof t.dims);
    if (kind == VKA_TENSOR_CONSTANT) {
        size_t need = vka_dense_bytes(dtype, desc->rank, desc->dims);
        if (!data || bytes != need)
            return vka_fail(g->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s '%s': %zu bytes given, its shape needs %zu", what,
                            desc->name, data ? bytes : 0, need);
        t.data = malloc(bytes);
        if (!t.data)
            return vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory copying constant '%s'",
                            desc->name);
        memcpy(t.data, data, bytes);
        t.data_bytes = bytes;
    }
    t.name = vka_strdup(desc->name);
    if (!t.name || add_tensor(g, t, out) != VKA_SUCCESS) {
        free(t.name);
        free(t.data);
        return vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory adding '%s'", desc->name);
    }
    return VKA_SUCCESS;
}

vka_result vka_graph_input(vka_graph *g, const vka_tensor_desc *desc, vka_tensor *out)
{
    vka_result r = vka_graph_alive(g, "vka_graph_input");
    return r == VKA_SUCCESS ? add_leaf(g, "input", VKA_TENSOR_INPUT, desc, NULL, 0, out) : r;
}

vka_result vka_graph_constant(vka_graph *g, const vka_tensor_desc *desc, const void *data, size_t bytes,
                              vka_tensor *out)
{
    vka_result r = vka_graph_alive(g, "vka_graph_constant");
    return r == VKA_SUCCESS ? add_leaf(g, "constant", VKA_TENSOR_CONSTANT, desc, data, bytes, out) : r;
}

/* ------------------------------------------------------------------ operations */

static vka_result bind_inputs(vka_graph *g, const vka_op_class *cls, const vka_op_desc *desc, vka_op_node *node,
                              vka_op_build *b)
{
    for (uint32_t i = 0; i < VKA_MAX_OP_INPUTS && desc->inputs[i].role; i++) {
        const vka_op_input *in = &desc->inputs[i];
        int role = vka_op_role_index(cls, in->role);
        if (role < 0)
            return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: unknown input '%s'", cls->name, in->role);
        if (node->inputs[role])
            return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: input '%s' is given twice", cls->name, in->role);
        const vka_graph_tensor *t = vka_graph_tensor_at(g, in->tensor.id);
        if (!t)
            return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: input '%s' is not a tensor of this graph",
                            cls->name, in->role);
        if (!(cls->inputs[role].dtypes & VKA_DTYPE_BIT(t->dtype)))
            return vka_fail(g->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s: %s must be %s [%s]; '%s' is %s", cls->name, in->role,
                            cls->inputs[role].dtypes & VKA_DTYPE_BIT(VKA_DTYPE_I32) ? "int32" : "float32 or float16",
                            cls->inputs[role].shape, t->name, vka_dtype_name(t->dtype));
        node->inputs[role] = in->tensor.id;
        b->inputs[role] = t;
    }
    for (uint32_t role = 0; cls->inputs[role].role; role++)
        if (!cls->inputs[role].optional && !node->inputs[role])
            return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: input '%s' is required", cls->name,
                            cls->inputs[role].role);
    return VKA_SUCCESS;
}

static vka_result build_node(vka_graph *g, const vka_op_class *cls, const vka_op_desc *desc, vka_op_node *node,
                             vka_op_build *b, vka_param_reader *params)
{
    vka_result r = bind_inputs(g, cls, desc, node, b);
    if (r == VKA_SUCCESS)
        r = vka_params_begin(params, g->ctx, cls->name, cls->params, desc->params, desc->numbers);
    if (r != VKA_SUCCESS)
        return r;
    node->params = calloc(1, cls->params_size ? cls->params_size : 1);
    if (!node->params)
        return vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory building %s", cls->name);
    b->ctx = g->ctx;
    b->op = cls->name;
    b->params = params;
    b->parsed = node->params;
    r = cls->build(b);
    if (r == VKA_SUCCESS)
        r = vka_params_end(params);
    if (r == VKA_SUCCESS && params->resolved_count) {
        node->resolved = malloc(params->resolved_count * sizeof *node->resolved);
        if (!node->resolved)
            return vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory building %s", cls->name);
        memcpy(node->resolved, params->resolved, params->resolved_count * sizeof *node->resolved);
        node->resolved_count = params->resolved_count;
    }
    return r;
}

/* The first value of an int32 array outside [min, max], or -1. */
static int64_t find_out_of_range(const int32_t *values, uint64_t count, int32_t min, int32_t max)
{
    for (uint64_t i = 0; i < count; i++)
        if (values[i] < min || values[i] > max)
            return (int64_t)i;
    return -1;
}

vka_result vka_check_int_range(vka_context *ctx, const char *op, const char *name, const int32_t *values,
                               uint64_t count, int32_t min, int32_t max)
{
    int64_t bad = find_out_of_range(values, count, min, max);
    if (bad < 0)
        return VKA_SUCCESS;
    return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: %s[%lld] = %d is outside [%d, %d]", op, name, (long long)bad,
                    values[bad], min, max);
}

static bool float_inside(float x, const vka_float_range *r)
{
    return (r->open_min ? x > r->min : x >= r->min) && (r->open_max ? x < r->max : x <= r->max);
}

vka_result vka_check_float_range(vka_context *ctx, const char *name, const void *data, vka_dtype dtype, uint64_t count,
                                 const vka_float_range *range)
{
    for (uint64_t i = 0; range->active && i < count; i++) {
        float x;
        if (dtype == VKA_DTYPE_F16)
            vka_f32_from_f16((const uint16_t *)data + i, &x, 1);
        else
            x = ((const float *)data)[i];
        if (!float_inside(x, range))
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: %s[%llu] = %g is outside %c%g, %g%c", range->op, name,
                            (unsigned long long)i, (double)x, range->open_min ? '(' : '[', (double)range->min,
                            (double)range->max, range->open_max ? ')' : ']');
    }
    return VKA_SUCCESS;
}

/* Records the value ranges the op's input table gives its float inputs (the last op's rule
 * stands: two ops asking different ranges of one tensor is no case yet); constants are
 * checked now. */
static vka_result apply_float_ranges(vka_graph *g, const vka_op_node *node)
{
    for (int role = 0; node->cls->inputs[role].role; role++) {
        const vka_value_range *v = &node->cls->inputs[role].values;
        if (!v->bounded || !node->inputs[role])
            continue;
        vka_graph_tensor *t = &g->tensors[node->inputs[role]];
        vka_float_range range = {.active = true,
                                 .open_min = v->open_min,
                                 .open_max = v->open_max,
                                 .min = v->min,
                                 .max = v->max,
                                 .op = node->cls->name};
        if (t->kind == VKA_TENSOR_CONSTANT) {
            vka_result r =
                vka_check_float_range(g->ctx, t->name, t->data, t->dtype, vka_element_count(t->rank, t->dims), &range);
            if (r != VKA_SUCCESS)
                return r;
        }
        t->float_range = range;
    }
    return VKA_SUCCESS;
}

/* Records the value ranges an op asks of its int32 inputs; constants are checked now. */
static vka_result apply_int_ranges(vka_graph *g, const vka_op_node *node, const vka_op_build *b)
{
    for (int role = 0; role < VKA_MAX_OP_INPUTS; role++) {
        if (!b->int_range[role].active || !node->inputs[role])
            continue;
        vka_graph_tensor *t = &g->tensors[node->inputs[role]];
        int32_t lo = b->int_range[role].min, hi = b->int_range[role].max;
        if (t->int_ranged) {
            lo = VKA_MAX(lo, t->int_min);
            hi = VKA_MIN(hi, t->int_max);
        }
        if (t->kind == VKA_TENSOR_CONSTANT) {
            vka_result r = vka_check_int_range(g->ctx, node->cls->name, t->name, t->data,
                                               vka_element_count(t->rank, t->dims), lo, hi);
            if (r != VKA_SUCCESS)
                return r;
        }
        t->int_ranged = true;
        t->int_min = lo;
        t->int_max = hi;
        t->int_range_op = node->cls->name;
    }
    return VKA_SUCCESS;
}

/* The result's element type: asked (f32 or f16), else the first input's when it is a float,
 * else f32 (SCHEMES.md §Conventions). An op may fix its own in build(). */
static vka_result resolve_output_dtype(vka_graph *g, const vka_op_class *cls, const vka_op_desc *desc, vka_op_build *b)
{
    vka_dtype asked = desc->dtype;
    if (asked != VKA_DTYPE_DEFAULT && asked != VKA_DTYPE_F32 && asked != VKA_DTYPE_F16)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: a result's dtype must be float32 or float16 (got %s)",
                        cls->name, asked == VKA_DTYPE_I32 ? "int32" : "an unknown value");
    if (b->output_dtype != VKA_DTYPE_DEFAULT) {
        if (asked != VKA_DTYPE_DEFAULT && asked != b->output_dtype)
            return vka_fail(g->ctx, VKA_ERROR_UNSUPPORTED, "%s writes %s only", cls->name,
                            vka_dtype_name(b->output_dtype));
        return VKA_SUCCESS;
    }
    const vka_graph_tensor *first = b->inputs[0];
    b->output_dtype = asked != VKA_DTYPE_DEFAULT               ? asked
                      : first && first->dtype == VKA_DTYPE_F16 ? VKA_DTYPE_F16
                                                               : VKA_DTYPE_F32;
    return VKA_SUCCESS;
}

vka_result vka_graph_op(vka_graph *g, const vka_op_desc *desc, vka_tensor *out)
{
    vka_result alive = vka_graph_alive(g, "vka_graph_op");
    if (alive != VKA_SUCCESS)
        return alive;
    if (!desc || !out)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_graph_op: desc and out must not be NULL");
    out->id = 0;
    const vka_op_class *cls = desc->op ? vka_op_class_named(desc->op) : NULL;
    if (!cls)
        return vka_fail(g->ctx, VKA_ERROR_NOT_FOUND, "unknown operation '%s'", desc->op ? desc->op : "(null)");
    vka_op_node node = {.cls = cls};
    vka_op_build b = {0};
    vka_param_reader params;
    vka_result r = build_node(g, cls, desc, &node, &b, &params);
    if (r == VKA_SUCCESS)
        r = resolve_output_dtype(g, cls, desc, &b);
    if (r == VKA_SUCCESS)
        r = apply_int_ranges(g, &node, &b);
    if (r == VKA_SUCCESS)
        r = apply_float_ranges(g, &node);
    if (r == VKA_SUCCESS && !vka_array_reserve((void **)&g->ops, &g->op_capacity, g->op_count + 1, sizeof node))
        r = vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory adding %s", cls->name);
    vka_graph_tensor result = {.kind = VKA_TENSOR_RESULT,
                               .dtype = b.output_dtype,
                               .rank = b.output_rank,
                               .producer = g->op_count,
                               .name = vka_strdup(cls->name)};
    memcpy(result.dims, b.output_dims, sizeof result.dims);
    if (r == VKA_SUCCESS && !result.name)
        r = vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory adding %s", cls->name);
    if (r == VKA_SUCCESS)
        r = add_tensor(g, result, out);
    if (r != VKA_SUCCESS) {
        free(node.params);
        free(node.resolved);
        free(result.name);
        return r;
    }
    node.output = out->id;
    g->ops[g->op_count++] = node;
    return VKA_SUCCESS;
}

vka_result vka_graph_output(vka_graph *g, const char *name, vka_tensor tensor)
{
    vka_result alive = vka_graph_alive(g, "vka_graph_output");
    if (alive != VKA_SUCCESS)
        return alive;
    vka_graph_tensor *t = tensor.id > 0 && tensor.id < g->tensor_count ? &g->tensors[tensor.id] : NULL;
    if (!t)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "output '%s': not a tensor of this graph",
                        name ? name : "(null)");
    if (t->output_name)
        return vka_fail(g->ctx, VKA_ERROR_INVALID_ARGUMENT, "output '%s': that tensor is already output '%s'",
                        name ? name : "(null)", t->output_name);
    vka_result r = check_name(g, "output", name);
    if (r != VKA_SUCCESS)
        return r;
    t->output_name = vka_strdup(name);
    return t->output_name ? VKA_SUCCESS : vka_fail(g->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
}

vka_result vka_graph_tensor_desc(const vka_graph *g, vka_tensor tensor, vka_tensor_desc *out)
{
    const vka_graph_tensor *t = g ? vka_graph_tensor_at(g, tensor.id) : NULL;
    if (!t || !out)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = (vka_tensor_desc){.name = t->output_name ? t->output_name : t->name, .dtype = t->dtype, .rank = t->rank};
    memcpy(out->dims, t->dims, sizeof out->dims);
    return VKA_SUCCESS;
}

vka_result vka_graph_find(const vka_graph *g, const char *name, vka_tensor *out)
{
    if (!g || !name || !out)
        return VKA_ERROR_INVALID_ARGUMENT;
    out->id = 0;
    for (uint32_t i = 1; i < g->tensor_count; i++) {
        const vka_graph_tensor *t = &g->tensors[i];
        if ((t->kind == VKA_TENSOR_INPUT || t->kind == VKA_TENSOR_CONSTANT) && strcmp(t->name, name) == 0) {
            out->id = i;
            return VKA_SUCCESS;
        }
    }
    for (uint32_t i = 1; i < g->tensor_count; i++)
        if (g->tensors[i].output_name && strcmp(g->tensors[i].output_name, name) == 0) {
            out->id = i;
            return VKA_SUCCESS;
        }
    return VKA_ERROR_NOT_FOUND;
}

vka_context *vka_graph_context(const vka_graph *g)
{
    return g ? g->ctx : NULL;
}

double vka_graph_flops(const vka_graph *g)
{
    double total = 0;
    for (uint32_t i = 0; g && i < g->op_count; i++)
        if (g->ops[i].cls->flops)
            total += g->ops[i].cls->flops(g, &g->ops[i]);
    return total;
}

/* ------------------------------------------------------------------ operation catalogue */

static vka_op_info info_of(const vka_op_class *cls)
{
    uint32_t params = 0;
    while (cls->params && cls->params[params].key)
        params++;
    return (vka_op_info){.name = cls->name,
                         .summary = cls->summary,
                         .inputs = cls->inputs,
                         .input_count = vka_op_input_count(cls),
                         .required_input_count = vka_op_required_input_count(cls),
                         .output_shape = cls->output_shape,
                         .rows_independent = cls->rows_independent,
                         .params = cls->params,
                         .param_count = params};
}

/* The node that produced `op`, or NULL. */
static const vka_op_node *producer_of(const vka_graph *g, vka_tensor op)
{
    if (!g || op.id == 0 || op.id >= g->tensor_count || g->tensors[op.id].kind != VKA_TENSOR_RESULT)
        return NULL;
    return &g->ops[g->tensors[op.id].producer];
}

uint32_t vka_graph_op_param_count(const vka_graph *graph, vka_tensor op)
{
    const vka_op_node *node = producer_of(graph, op);
    return node ? node->resolved_count : 0;
}

vka_result vka_graph_op_param_at(const vka_graph *graph, vka_tensor op, uint32_t index, vka_param_value *out)
{
    const vka_op_node *node = producer_of(graph, op);
    if (!node || !out || index >= node->resolved_count)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = node->resolved[index].value;
    if (out->text) /* the text lives in the node's copy */
        out->text = node->resolved[index].text;
    return VKA_SUCCESS;
}

uint32_t vka_op_count(void)
{
    return vka_op_class_count();
}

vka_result vka_op_info_at(uint32_t index, vka_op_info *out)
{
    const vka_op_class *cls = vka_op_class_at(index);
    if (!cls || !out)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = info_of(cls);
    return VKA_SUCCESS;
}

vka_result vka_op_info_named(const char *name, vka_op_info *out)
{
    const vka_op_class *cls = name ? vka_op_class_named(name) : NULL;
    if (!out)
        return VKA_ERROR_INVALID_ARGUMENT;
    if (!cls)
        return VKA_ERROR_NOT_FOUND;
    *out = info_of(cls);
    return VKA_SUCCESS;
}
