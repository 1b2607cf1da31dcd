/* Planning without Vulkan objects: lower every operation into dispatches, give every
 * tensor a layout and a lifetime, split dispatches whose bindings exceed the device's
 * range, pack the arena, and place the barriers. */
#include "plan.h"

#include "op.h"

#include <stdio.h>
#include <string.h>

struct vka_lowering {
    vka_plan *plan;
    const vka_graph *graph;
    uint32_t op;
    /* Fusion: absorbed[i] is the op whose activation op i applies in its epilogue (its
     * result is then that op's), or UINT32_MAX; skipped ops lower to nothing. */
    uint32_t *absorbed;
    bool *skipped;
};

static vka_result add_tensor(vka_plan *plan, vka_plan_tensor t, uint32_t *out)
{
    if (!vka_array_reserve((void **)&plan->tensors, &plan->tensor_capacity, plan->tensor_count + 1, sizeof t))
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning tensors");
    t.first_use = VKA_LIFETIME_FOREVER;
    t.last_use = -1;
    vka_tensor_layout(&t, plan->alignment);
    plan->tensors[plan->tensor_count] = t;
    *out = plan->tensor_count++;
    return VKA_SUCCESS;
}

static vka_result copy_graph_tensors(vka_plan *plan, const vka_graph *g)
{
    uint32_t unused;
    vka_result r = add_tensor(plan, (vka_plan_tensor){0}, &unused); /* id 0: none */
    for (uint32_t i = 1; r == VKA_SUCCESS && i < g->tensor_count; i++) {
        const vka_graph_tensor *gt = &g->tensors[i];
        bool widen = gt->dtype == VKA_DTYPE_F16 && plan->ctx->desc.disable_f16;
        vka_plan_tensor t = {.kind = gt->kind,
                             .is_output = gt->output_name != NULL,
                             .dtype = widen ? VKA_DTYPE_F32 : gt->dtype,
                             .host_dtype = gt->dtype,
                             .rank = gt->rank,
                             .data = gt->data,
                             .int_ranged = gt->int_ranged,
                             .int_min = gt->int_min,
                             .int_max = gt->int_max,
                             .int_range_op = gt->int_range_op,
                             .float_range = gt->float_range};
        memcpy(t.dims, gt->dims, sizeof t.dims);
        /* The plan outlives the graph: keep its own copies. */
        t.name = vka_strdup(gt->name);
        t.output_name = gt->output_name ? vka_strdup(gt->output_name) : NULL;
        if (gt->data) {
            t.owned_data = malloc(gt->data_bytes);
            if (t.owned_data)
                memcpy(t.owned_data, gt->data, gt->data_bytes);
            t.data = t.owned_data;
        }
        if (!t.name || (gt->output_name && !t.output_name) || (gt->data && !t.owned_data)) {
            free(t.name);
            free(t.output_name);
            free(t.owned_data);
            return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning tensors");
        }
        r = add_tensor(plan, t, &unused);
    }
    return r;
}

/* How many operations read each graph tensor. */
static uint32_t *count_readers(const vka_graph *g)
{
    uint32_t *readers = calloc(g->tensor_count, sizeof *readers);
    for (uint32_t i = 0; readers && i < g->op_count; i++)
        for (uint32_t r = 0; r < VKA_MAX_OP_INPUTS; r++)
            readers[g->ops[i].inputs[r]] += g->ops[i].inputs[r] != 0;
    return readers;
}

/* An element-wise activation whose one input is the result of an op that can absorb it,
 * read by nothing else and not an output, becomes that op's epilogue: one dispatch and
 * one tensor fewer. */
static void plan_fusion(vka_lowering *lw, const uint32_t *readers)
{
    const vka_graph *g = lw->graph;
    for (uint32_t i = 0; i < g->op_count; i++) {
        const vka_op_node *act = &g->ops[i];
        uint32_t x = act->inputs[0];
        if (act->cls->activation == VKA_ACTIVATION_NONE || !x || g->tensors[x].kind != VKA_TENSOR_RESULT)
            continue;
        uint32_t producer = g->tensors[x].producer;
        if (!g->ops[producer].cls->absorbs_activation || lw->absorbed[producer] != UINT32_MAX || readers[x] != 1 ||
            g->tensors[x].output_name)
            continue;
        lw->absorbed[producer] = i;
        lw->skipped[i] = true;
        lw->plan->stats.fused_ops++;
    }
}

vka_result vka_plan_lower(vka_plan *plan, const vka_graph *g)
{
    vka_result r = copy_graph_tensors(plan, g);
    vka_lowering lw = {.plan = plan, .graph = g};
    uint32_t n = g->op_count ? g->op_count : 1, *readers = count_readers(g);
    lw.absorbed = malloc(n * sizeof *lw.absorbed);
    lw.skipped = calloc(n, sizeof *lw.skipped);
    if (r == VKA_SUCCESS && (!readers || !lw.absorbed || !lw.skipped))
        r = vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning fusion");
    if (r == VKA_SUCCESS) {
        for (uint32_t i = 0; i < g->op_count; i++)
            lw.absorbed[i] = UINT32_MAX;
        if (!plan->desc.no_fusion)
            plan_fusion(&lw, readers);
    }
    for (uint32_t i = 0; r == VKA_SUCCESS && i < g->op_count; i++) {
        lw.op = i;
        if (!lw.skipped[i])
            r = g->ops[i].cls->lower(&lw, &g->ops[i]);
    }
    free(readers);
    free(lw.absorbed);
    free(lw.skipped);
    return r;
}

/* ------------------------------------------------------------------ lowering API */

const void *vka_lower_constant_data(const vka_lowering *lw, uint32_t tensor)
{
    vka_plan_tensor *t = &lw->plan->tensors[tensor];
    if (!tensor || t->kind != VKA_TENSOR_CONSTANT)
        return NULL;
    if (t->host_dtype != VKA_DTYPE_F16)
        return t->data;
    if (!t->widened) { /* made once, on first use: most f16 constants go to the device as they are */
        size_t n = (size_t)vka_element_count(t->rank, t->dims);
        t->widened = malloc(n * sizeof *t->widened);
        if (!t->widened) {
            vka_fail(lw->plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory widening %s", t->name);
            return NULL;
        }
        vka_f32_from_f16(t->data, t->widened, n);
    }
    return t->widened;
}

uint32_t vka_lower_input(const vka_lowering *lw, const vka_op_node *node, int role)
{
    (void)lw;
    return role >= 0 && role < VKA_MAX_OP_INPUTS ? node->inputs[role] : 0;
}

static uint32_t node_index(const vka_lowering *lw, const vka_op_node *node)
{
    return (uint32_t)(node - lw->graph->ops);
}

uint32_t vka_lower_result(const vka_lowering *lw, const vka_op_node *node)
{
    uint32_t fused = lw->absorbed[node_index(lw, node)];
    return fused == UINT32_MAX ? node->output : lw->graph->ops[fused].output;
}

vka_result vka_lower_store_as(vka_lowering *lw, uint32_t tensor, vka_dtype dtype)
{
    vka_plan_tensor *t = &lw->plan->tensors[tensor];
    if (t->last_use >= 0 || (dtype != VKA_DTYPE_F32 && dtype != VKA_DTYPE_F16) || t->host_dtype == VKA_DTYPE_I32)
        return vka_fail(lw->plan->ctx, VKA_ERROR_UNSUPPORTED, "internal: %s cannot be stored as %s now", t->name,
                        vka_dtype_name(dtype));
    t->dtype = dtype;
    vka_tensor_layout(t, lw->plan->alignment);
    return VKA_SUCCESS;
}

vka_dtype vka_lower_dtype(const vka_lowering *lw, uint32_t tensor)
{
    return lw->plan->tensors[tensor].dtype;
}

vka_dtype vka_lower_storage_dtype(const vka_lowering *lw, const vka_op_node *node)
{
    return lw->plan->tensors[vka_lower_result(lw, node)].dtype;
}

vka_activation vka_lower_fused_activation(const vka_lowering *lw, const vka_op_node *node)
{
    uint32_t fused = lw->absorbed[node_index(lw, node)];
    return fused == UINT32_MAX ? VKA_ACTIVATION_NONE : lw->graph->ops[fused].cls->activation;
}

vka_context *vka_lower_context(const vka_lowering *lw)
{
    return lw->plan->ctx;
}

const vka_device_info *vka_lower_device(const vka_lowering *lw)
{
    return &lw->plan->ctx->info;
}

/* Intermediates and constants are named "op.name"; states keep the name they are given
 * (the host reads and writes them by it). */
static vka_result new_tensor(vka_lowering *lw, const char *name, vka_dtype dtype, uint32_t rank, const uint32_t *dims,
                             const void *data, bool state, uint32_t *out)
{
    const char *op = lw->graph->ops[lw->op].cls->name;
    char full[96];
    if (state)
        snprintf(full, sizeof full, "%s", name);
    else
        snprintf(full, sizeof full, "%s.%s", op, name);
    if (state && vka_plan_find_tensor(lw->plan, full, true))
        return vka_fail(lw->plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: the plan already has a tensor named '%s'; give each decoding op its own state= name", op,
                        full);
    vka_plan_tensor t = {.kind = data && !state ? VKA_TENSOR_CONSTANT : VKA_TENSOR_RESULT,
                         .is_intermediate = !state,
                         .is_state = state,
                         .dtype = dtype,
                         .host_dtype = dtype,
                         .rank = rank};
    memcpy(t.dims, dims, rank * sizeof *dims);
    t.name = vka_strdup(full);
    size_t bytes = vka_dense_bytes(dtype, rank, dims);
    if (data) {
        t.owned_data = malloc(bytes);
        if (t.owned_data)
            memcpy(t.owned_data, data, bytes);
        t.data = t.owned_data;
    }
    if (!t.name || (data && !t.owned_data)) {
        free(t.name);
        free(t.owned_data);
        return vka_fail(lw->plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning %s", full);
    }
    vka_result r = add_tensor(lw->plan, t, out);
    if (r != VKA_SUCCESS) {
        free(t.name);
        free(t.owned_data);
    }
    return r;
}

uint32_t vka_lower_find_constant(const vka_lowering *lw, const char *name)
{
    char full[96];
    snprintf(full, sizeof full, "%s.%s", lw->graph->ops[lw->op].cls->name, name);
    for (uint32_t i = 1; i < lw->plan->tensor_count; i++) {
        const vka_plan_tensor *t = &lw->plan->tensors[i];
        if (t->kind == VKA_TENSOR_CONSTANT && t->is_intermediate && strcmp(t->name, full) == 0)
            return i;
    }
    return 0;
}

vka_result vka_lower_intermediate(vka_lowering *lw, const char *name, vka_dtype dtype, uint32_t rank,
                                  const uint32_t *dims, uint32_t *out)
{
    return new_tensor(lw, name, dtype, rank, dims, NULL, false, out);
}

vka_result vka_lower_constant(vka_lowering *lw, const char *name, vka_dtype dtype, uint32_t rank, const uint32_t *dims,
                              const void *data, uint32_t *out)
{
    return new_tensor(lw, name, dtype, rank, dims, data, false, out);
}

vka_result vka_lower_drawn_constant(vka_lowering *lw, const char *name, uint32_t rank, const uint32_t *dims,
                                    vka_constant_draw draw, const uint32_t args[4], uint64_t seed, uint32_t *out)
{
    float *data = malloc(vka_dense_bytes(VKA_DTYPE_F32, rank, dims));
    if (!data)
        return vka_fail(lw->plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory drawing %s", name);
    vka_result r = draw(seed, args, data);
    if (r == VKA_SUCCESS)
        r = new_tensor(lw, name, VKA_DTYPE_F32, rank, dims, data, false, out);
    if (r == VKA_SUCCESS) {
        vka_plan_tensor *t = &lw->plan->tensors[*out];
        t->draw = draw;
        memcpy(t->draw_args, args, sizeof t->draw_args);
    }
    free(data);
    return r;
}

vka_result vka_lower_state(vka_lowering *lw, const char *name, vka_dtype dtype, uint32_t rank, const uint32_t *dims,
                           const void *initial, uint32_t *out)
{
    return new_tensor(lw, name, dtype, rank, dims, initial, true, out);
}

vka_result vka_lower_note_stat(vka_lowering *lw, const char *key, uint64_t value)
{
    vka_plan *plan = lw->plan;
    if (!vka_array_reserve((void **)&plan->op_stats, &plan->op_stat_capacity, plan->op_stat_count + 1,
                           sizeof *plan->op_stats))
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory noting statistics");
    plan->op_stats[plan->op_stat_count++] = (vka_op_stat){lw->graph->ops[lw->op].cls->name, key, value};
    plan->stats.op_stat_count = plan->op_stat_count;
    return VKA_SUCCESS;
}

vka_result vka_lower_counter(vka_lowering *lw, const vka_counter_desc *desc)
{
    vka_plan *plan = lw->plan;
    if (!vka_array_reserve((void **)&plan->counters, &plan->counter_capacity, plan->counter_count + 1,
                           sizeof *plan->counters))
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning a counter");
    vka_plan_tensor *length = &plan->tensors[desc->length];
    uint32_t batch = length->dims[0];
    vka_plan_counter *c = &plan->counters[plan->counter_count++]; /* freed with the plan */
    *c = (vka_plan_counter){.desc = *desc,
                            .op = lw->graph->ops[lw->op].cls->name,
                            .batch = batch,
                            .length = calloc(batch, sizeof(int32_t)),
                            .added = calloc(batch, sizeof(int32_t)),
                            .known = true};
    if (!c->length || !c->added)
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning a counter");
    length->int_ranged = true; /* a restored level must fit */
    length->int_min = 0;
    length->int_max = (int32_t)desc->capacity;
    length->int_range_op = c->op;
    return VKA_SUCCESS;
}

vka_result vka_lower_host_step(vka_lowering *lw, const vka_host_step_desc *desc)
{
    vka_plan *plan = lw->plan;
    if (!vka_array_reserve((void **)&plan->host_steps, &plan->host_step_capacity, plan->host_step_count + 1,
                           sizeof *plan->host_steps))
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning host work");
    vka_plan_host_step *step = &plan->host_steps[plan->host_step_count];
    *step = (vka_plan_host_step){.desc = *desc, .state = malloc(desc->state_bytes ? desc->state_bytes : 1)};
    bool ok = step->state != NULL;
    for (uint32_t i = 0; ok && i < VKA_HOST_STEP_TENSORS; i++) {
        const uint32_t ids[2] = {desc->reads[i], desc->writes[i]};
        float **buffers[2] = {&step->reads[i], &step->writes[i]};
        for (int k = 0; k < 2 && ok; k++)
            if (ids[k]) {
                const vka_plan_tensor *t = &plan->tensors[ids[k]];
                *buffers[k] = malloc(vka_dense_bytes(VKA_DTYPE_F32, t->rank, t->dims));
                ok = *buffers[k] != NULL;
            }
    }
    plan->host_step_count++; /* freed with the plan whatever happened */
    if (!ok)
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning host work");
    memcpy(step->state, desc->state, desc->state_bytes);
    step->desc.state = step->state;
    return VKA_SUCCESS;
}

vka_result vka_lower_dummy(vka_lowering *lw, uint32_t *out)
{
    if (!lw->plan->dummy) {
        static const float zeros[4];
        vka_result r = new_tensor(lw, "unused", VKA_DTYPE_F32, 1, (uint32_t[]){4}, zeros, false, &lw->plan->dummy);
        if (r != VKA_SUCCESS)
            return r;
    }
    *out = lw->plan->dummy;
    return VKA_SUCCESS;
}

/* Bit b set: binding b holds an f16 tensor. */
static uint32_t f16_bindings(const vka_plan *plan, const vka_dispatch_desc *desc)
{
    uint32_t mask = 0;
    for (uint32_t b = 0; b < VKA_MAX_BINDINGS && desc->bindings[b].tensor; b++)
        mask |= (uint32_t)(plan->tensors[desc->bindings[b].tensor].dtype == VKA_DTYPE_F16) << b;
    return mask;
}

vka_result vka_lower_dispatch(vka_lowering *lw, const vka_dispatch_desc *desc)
{
    vka_plan *plan = lw->plan;
    int32_t index = (int32_t)plan->dispatch_count;
    const vka_kernel *kernel = vka_kernel_get(desc->kernel);
    if (kernel->fixed_workgroup_size && desc->spec.workgroup_size != kernel->fixed_workgroup_size)
        return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED, "internal: %s (%s) is written for workgroups of %u, not %u",
                        kernel->name, kernel->variant, kernel->fixed_workgroup_size, desc->spec.workgroup_size);
    for (uint32_t b = 0; b < VKA_MAX_BINDINGS && desc->bindings[b].tensor; b++) {
        vka_plan_tensor *t = &plan->tensors[desc->bindings[b].tensor];
        const vka_binding_desc *bd = &desc->bindings[b];
        if (b >= VKA_SLICE_STRIDE_BINDINGS && !bd->whole)
            return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED,
                            "internal: %s binding %u must be bound whole (the push header has no stride for it)",
                            kernel->name, b);
        if (b >= kernel->binding_count || (bd->access & ~kernel->bindings[b].access))
            return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED, "internal: %s (%s) binding %u (%s) cannot be %s",
                            kernel->name, kernel->variant, b,
                            b < kernel->binding_count ? kernel->bindings[b].name : "none",
                            bd->access == VKA_READ ? "read" : "written");
        uint32_t divisor = bd->slice_divisor > 1 ? bd->slice_divisor : 1;
        if (divisor > 1 && (bd->whole || bd->slice_offset || (uint64_t)t->slices * divisor != desc->slices))
            return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED,
                            "internal: %s binds %s with slice divisor %u, but it has %u slices and the dispatch %u",
                            vka_kernel_get(desc->kernel)->name, t->name, divisor, t->slices, desc->slices);
        bool sub_range = !bd->whole && (bd->slice_offset || divisor > 1 || t->slices != desc->slices);
        if (!bd->whole && divisor == 1 && (uint64_t)bd->slice_offset + desc->slices > t->slices)
            return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED, "internal: %s binds slices %u..%u of %s, which has %u",
                            vka_kernel_get(desc->kernel)->name, bd->slice_offset, bd->slice_offset + desc->slices - 1,
                            t->name, t->slices);
        if (sub_range && !t->aligned_slices) { /* its bindings start at slices other than 0 */
            t->aligned_slices = true;
            vka_tensor_layout(t, plan->alignment);
        }
        if (t->dtype == VKA_DTYPE_F16 && !kernel->bindings[b].f16)
            return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED, "internal: %s (%s) binding %u (%s) cannot hold f16 (%s)",
                            kernel->name, kernel->variant, b, kernel->bindings[b].name, t->name);
        t->first_use = VKA_MIN(t->first_use, index);
        t->last_use = VKA_MAX(t->last_use, index);
    }
    if (!vka_array_reserve((void **)&plan->dispatches, &plan->dispatch_capacity, plan->dispatch_count + 1,
                           sizeof *plan->dispatches))
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning dispatches");
    vka_plan_dispatch *d = &plan->dispatches[plan->dispatch_count++];
    *d = (vka_plan_dispatch){
        .desc = *desc,
        .op = lw->op,
        .op_name = lw->graph->ops[lw->op].cls->name,
    };
    if (kernel->f16_mask_slot) /* the kernel's variant for these element types (common.glsl) */
        d->desc.spec.words[kernel->f16_mask_slot] = f16_bindings(plan, desc);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ splitting */

static uint32_t binding_count(const vka_dispatch_desc *d)
{
    uint32_t n = 0;
    while (n < VKA_MAX_BINDINGS && d->bindings[n].tensor)
        n++;
    return n;
}

static uint64_t range_limit(const vka_plan *plan, const vka_dispatch_desc *d, uint32_t b)
{
    const vka_device_limits *l = &plan->ctx->info.limits;
    return vka_kernel_get(d->kernel)->bindings[b].kind == VKA_BINDING_UNIFORM ? l->max_uniform_buffer_range
                                                                              : l->max_storage_buffer_range;
}

static bool needs_split(const vka_plan *plan, const vka_dispatch_desc *d)
{
    if (d->slices > plan->ctx->info.limits.max_workgroup_count[2])
        return true;
    for (uint32_t b = 0; b < binding_count(d); b++)
        if (!d->bindings[b].whole && plan->tensors[d->bindings[b].tensor].bytes > range_limit(plan, d, b))
            return true;
    return false;
}

/* Tensors bound per slice in a dispatch that will be split get aligned slices, so each
 * piece's binding can start at a legal offset. Aligning grows tensors, which can make
 * another dispatch need splitting: repeat until nothing changes. */
static void align_split_tensors(vka_plan *plan)
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (uint32_t i = 0; i < plan->dispatch_count; i++) {
            const vka_dispatch_desc *d = &plan->dispatches[i].desc;
            if (!needs_split(plan, d))
                continue;
            for (uint32_t b = 0; b < binding_count(d); b++) {
                vka_plan_tensor *t = &plan->tensors[d->bindings[b].tensor];
                if (d->bindings[b].whole || t->aligned_slices)
                    continue;
                t->aligned_slices = true;
                vka_tensor_layout(t, plan->alignment);
                changed = true;
            }
        }
    }
}

static vka_result too_big(vka_plan *plan, const vka_plan_tensor *t, uint64_t bytes, uint64_t limit, const char *why)
{
    const double mib = 1.0 / (1024 * 1024);
    return vka_fail(plan->ctx, VKA_ERROR_LIMIT_EXCEEDED,
                    "tensor '%s' needs %.1f MiB %s; this device binds at most %.1f MiB (max%sBufferRange) and "
                    "it cannot be split further",
                    t->name, bytes * mib, why, limit * mib,
                    limit == plan->ctx->info.limits.max_uniform_buffer_range ? "Uniform" : "Storage");
}

/* The most slices one piece of dispatch d may cover. */
static vka_result slices_per_piece(vka_plan *plan, const vka_dispatch_desc *d, uint32_t *out)
{
    uint64_t most = VKA_MIN(d->slices, plan->ctx->info.limits.max_workgroup_count[2]);
    for (uint32_t b = 0; b < binding_count(d); b++) {
        const vka_plan_tensor *t = &plan->tensors[d->bindings[b].tensor];
        uint64_t limit = range_limit(plan, d, b);
        if (d->bindings[b].whole) {
            if (t->bytes > limit)
                return too_big(plan, t, t->bytes, limit, "in one binding");
            continue;
        }
        uint64_t slice_bytes = vka_plan_slice_bytes(t);
        if (slice_bytes > limit)
            return too_big(plan, t, slice_bytes, limit, "for one [batch, head] slice");
        /* k slices span (k − 1)·stride + slice bytes. */
        uint64_t k = (limit - slice_bytes) / vka_plan_slice_stride_bytes(t) + 1;
        most = VKA_MIN(most, k);
    }
    *out = (uint32_t)most;
    return VKA_SUCCESS;
}

static vka_result make_pieces(vka_plan *plan)
{
    uint32_t total = 0;
    uint32_t *per_piece = calloc(plan->dispatch_count ? plan->dispatch_count : 1, sizeof *per_piece);
    if (!per_piece)
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning");
    vka_result r = VKA_SUCCESS;
    for (uint32_t i = 0; r == VKA_SUCCESS && i < plan->dispatch_count; i++) {
        r = slices_per_piece(plan, &plan->dispatches[i].desc, &per_piece[i]);
        if (r == VKA_SUCCESS)
            total += vka_div_up(plan->dispatches[i].desc.slices, per_piece[i]);
    }
    if (r == VKA_SUCCESS) {
        plan->pieces = calloc(total ? total : 1, sizeof *plan->pieces);
        if (!plan->pieces)
            r = vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory planning");
    }
    for (uint32_t i = 0; r == VKA_SUCCESS && i < plan->dispatch_count; i++) {
        vka_plan_dispatch *d = &plan->dispatches[i];
        d->first_piece = plan->piece_count;
        for (uint32_t s = 0; s < d->desc.slices; s += per_piece[i])
            plan->pieces[plan->piece_count++] = (vka_plan_piece){
                .dispatch = i, .slice_begin = s, .slice_count = VKA_MIN(per_piece[i], d->desc.slices - s)};
        d->piece_count = plan->piece_count - d->first_piece;
    }
    free(per_piece);
    return r;
}

/* ------------------------------------------------------------------ lifetimes and packing */

static bool pinned(const vka_plan_tensor *t)
{
    /* Inputs keep their content across runs; outputs are read after a run; constants
     * are uploaded once. None of them may share bytes with anything. */
    return t->kind == VKA_TENSOR_INPUT || t->kind == VKA_TENSOR_CONSTANT || t->is_output || t->is_state;
}

static vka_result pack_arena(vka_plan *plan)
{
    uint32_t n = plan->tensor_count - 1;
    vka_pack_item *items = calloc(n ? n : 1, sizeof *items);
    if (!items)
        return vka_fail(plan->ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory packing the arena");
    uint64_t tensor_bytes = 0;
    for (uint32_t i = 1; i < plan->tensor_count; i++) {
        vka_plan_tensor *t = &plan->tensors[i];
        bool used = t->last_use >= 0;
        /* A result nothing writes (an activation's input fused away) takes no bytes, nor
         * does a constant nothing reads. */
        items[i - 1] = (vka_pack_item){
            .bytes = (pinned(t) || used) && !vka_plan_tensor_unread_constant(t) ? t->bytes : 0,
            .first = pinned(t) || !used ? 0 : t->first_use,
            .last = pinned(t) || !used ? VKA_LIFETIME_FOREVER : t->last_use,
        };
        tensor_bytes += items[i - 1].bytes;
    }
    uint64_t arena = 0;
    vka_result r = vka_pack(items, n, plan->alignment, &arena);
    if (r != VKA_SUCCESS) {
        free(items);
        return vka_fail(plan->ctx, r, "out of host memory packing the arena");
    }
    for (uint32_t i = 1; i < plan->tensor_count; i++)
        plan->tensors[i].offset = items[i - 1].offset;
    free(items);
    plan->stats.arena_bytes = arena;
    plan->stats.tensor_bytes = tensor_bytes;
    plan->stats.tensor_count = n;
    return VKA_SUCCESS;
}

vka_result vka_plan_layout(vka_plan *plan)
{
    align_split_tensors(plan);
    vka_result r = make_pieces(plan);
    if (r == VKA_SUCCESS)
        r = pack_arena(plan);
    if (r == VKA_SUCCESS)
        vka_plan_barriers(plan);
    return r;
}

const vka_plan_tensor *vka_plan_find_tensor(const vka_plan *plan, const char *name, bool output)
{
    for (uint32_t i = 1; i < plan->tensor_count; i++) {
        const vka_plan_tensor *t = &plan->tensors[i];
        /* States are both: the host may read them and write them. */
        if (t->is_state && strcmp(t->name, name) == 0)
            return t;
        if (output ? (t->output_name && strcmp(t->output_name, name) == 0)
                   : (t->kind == VKA_TENSOR_INPUT && strcmp(t->name, name) == 0))
            return t;
    }
    return NULL;
}
