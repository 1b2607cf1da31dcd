/* The public plan API: create (lower, lay out, realize), write, run, read, statistics. */
#include "plan.h"

#include "transfer.h"

#include <string.h>

/* ------------------------------------------------------------------ life and turns */

/* The context went first: the plan gives back its device objects and stays a husk. */
static void orphan(vka_context_child *child)
{
    vka_plan *plan = (vka_plan *)((char *)child - offsetof(vka_plan, child));
    vka_mutex_lock(&plan->lock);
    vka_plan_release(plan);
    plan->ctx = NULL;
    vka_mutex_unlock(&plan->lock);
}

/* Takes the plan's turn for a public call; fails (turn not taken) on NULL or a husk. */
static vka_result enter(vka_plan *plan, const char *call)
{
    if (!plan)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "%s: plan is NULL", call);
    vka_mutex_lock(&plan->lock);
    if (plan->ctx)
        return VKA_SUCCESS;
    vka_mutex_unlock(&plan->lock);
    return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT,
                    "%s: the plan's context was destroyed (destroy plans before their context)", call);
}

static vka_result leave(vka_plan *plan, vka_result r)
{
    vka_mutex_unlock(&plan->lock);
    return r;
}

/* ------------------------------------------------------------------ create */

static vka_result check_kernel_limits(vka_plan *plan, const vka_plan_dispatch *d)
{
    const vka_device_limits *l = &plan->ctx->info.limits;
    const vka_kernel *k = vka_kernel_get(d->desc.kernel);
    uint32_t storage = 0, uniform = 0;
    for (uint32_t b = 0; b < k->binding_count; b++)
        *(k->bindings[b].kind == VKA_BINDING_UNIFORM ? &uniform : &storage) += 1;
    uint32_t wg = d->desc.spec.workgroup_size;
    uint64_t shared = k->shared_bytes(&d->desc.spec, &d->desc.push);
    uint32_t push = 4 * (VKA_PUSH_HEADER_WORDS + k->op_push_words);
    const char *what = NULL;
    uint32_t need = 0, have = 0;
    if (wg > l->max_workgroup_invocations || wg > l->max_workgroup_size[0])
        what = "workgroup invocations", need = wg,
        have = VKA_MIN(l->max_workgroup_invocations, l->max_workgroup_size[0]);
    else if (shared > l->max_shared_memory_bytes)
        what = "bytes of shared memory", need = (uint32_t)VKA_MIN(shared, UINT32_MAX),
        have = l->max_shared_memory_bytes;
    else if (storage > l->max_storage_buffers_per_stage)
        what = "storage buffers", need = storage, have = l->max_storage_buffers_per_stage;
    else if (uniform > l->max_uniform_buffers_per_stage)
        what = "uniform buffers", need = uniform, have = l->max_uniform_buffers_per_stage;
    else if (k->subgroup_operations & ~plan->ctx->info.subgroup_operations)
        what = "subgroup operation bits (the kernel has no path without them)", need = k->subgroup_operations,
        have = plan->ctx->info.subgroup_operations;
    else if (push > l->max_push_constants_bytes)
        what = "bytes of push constants", need = push, have = l->max_push_constants_bytes;
    else if (d->desc.groups_x > l->max_workgroup_count[0] || d->desc.groups_y > l->max_workgroup_count[1])
        what = "workgroups along x or y", need = VKA_MAX(d->desc.groups_x, d->desc.groups_y),
        have = VKA_MIN(l->max_workgroup_count[0], l->max_workgroup_count[1]);
    if (!what && k->needs_float16 && !plan->ctx->info.shader_float16)
        return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED,
                        "%s: kernel %s computes in f16, which this device does not offer (shaderFloat16)", d->op_name,
                        k->name);
    uint64_t loops = k->loop_iterations(&d->desc.spec, &d->desc.push);
    uint32_t budget = plan->ctx->info.loop_iteration_budget;
    if (!what && budget && loops > budget)
        return vka_fail(plan->ctx, VKA_ERROR_LIMIT_EXCEEDED,
                        "%s: kernel %s (%s) would run %llu loop iterations per invocation; this driver ends every "
                        "loop after %u (%s)",
                        d->op_name, k->name, k->variant, (unsigned long long)loops, budget, plan->ctx->info.quirks);
    if (!what)
        return VKA_SUCCESS;
    return vka_fail(plan->ctx, VKA_ERROR_LIMIT_EXCEEDED,
                    "%s: kernel %s (%s) needs %u %s; the device allows %u (limits: %s)", d->op_name, k->name,
                    k->variant, need, what, have, plan->ctx->info.limits_profile);
}

static vka_result plan_build(vka_plan *plan, vka_graph *graph)
{
    vka_result r = vka_plan_lower(plan, graph);
    for (uint32_t i = 0; r == VKA_SUCCESS && i < plan->dispatch_count; i++)
        r = check_kernel_limits(plan, &plan->dispatches[i]);
    if (r == VKA_SUCCESS)
        r = vka_plan_layout(plan);
    plan->stats.dispatch_count = plan->piece_count;
    for (uint32_t i = 1; i < plan->tensor_count; i++) {
        const vka_plan_tensor *t = &plan->tensors[i];
        plan->stats.state_bytes += t->is_state ? t->bytes : 0;
        plan->stats.f16_tensors += t->dtype == VKA_DTYPE_F16;
        plan->stats.f16_widened += t->host_dtype == VKA_DTYPE_F16 && t->dtype != VKA_DTYPE_F16;
    }
    plan->stats.peak_device_bytes = plan->stats.arena_bytes;
    plan->stats.last_run_gpu_ms = -1;
    if (r == VKA_SUCCESS && !plan->desc.memory_only)
        r = vka_plan_realize(plan);
    return r;
}

vka_result vka_plan_create(vka_graph *graph, const vka_plan_desc *desc, vka_plan **out)
{
    vka_result alive = vka_graph_alive(graph, "vka_plan_create");
    if (alive != VKA_SUCCESS)
        return alive;
    if (!out)
        return vka_fail(graph->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_plan_create: out is NULL");
    *out = NULL;
    vka_context *ctx = graph->ctx;
    if (ctx->lost)
        return vka_fail(ctx, VKA_ERROR_DEVICE_LOST, "the device was lost earlier; destroy this context");
    double start = vka_now_ms();
    vka_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory creating a plan");
    if (!vka_mutex_init(&plan->lock, true)) {
        free(plan);
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "could not create a mutex");
    }
    plan->ctx = ctx;
    plan->desc = desc ? *desc : (vka_plan_desc){0};
    const vka_device_limits *l = &ctx->info.limits;
    plan->alignment =
        VKA_MAX(16, VKA_MAX(l->min_storage_buffer_offset_alignment, l->min_uniform_buffer_offset_alignment));
    vka_result r = plan_build(plan, graph);
    if (r != VKA_SUCCESS) {
        /* The message is already in the context; destroying must not overwrite it. */
        vka_plan_destroy(plan);
        return r;
    }
    plan->stats.plan_ms = vka_now_ms() - start;
    plan->stats.host_transfers = 0; /* the creation's uploads (constants, zeroed inputs) are not counted */
    plan->stats.host_transfer_bytes = 0;
    vka_context_adopt(ctx, &plan->child, orphan);
    *out = plan;
    return VKA_SUCCESS;
}

void vka_plan_destroy(vka_plan *plan)
{
    if (!plan)
        return;
    vka_mutex_lock(&plan->lock);
    if (plan->ctx) {
        vka_context_disown(plan->ctx, &plan->child);
        vka_plan_release(plan);
    }
    vka_mutex_unlock(&plan->lock);
    vka_mutex_destroy(&plan->lock);
    for (uint32_t i = 0; i < plan->tensor_count; i++) {
        free(plan->tensors[i].name);
        free(plan->tensors[i].output_name);
        free(plan->tensors[i].owned_data);
        free(plan->tensors[i].widened);
    }
    for (uint32_t i = 0; i < plan->host_step_count; i++) {
        vka_plan_host_step *step = &plan->host_steps[i];
        free(step->state);
        for (uint32_t k = 0; k < VKA_HOST_STEP_TENSORS; k++) {
            free(step->reads[k]);
            free(step->writes[k]);
        }
    }
    free(plan->host_steps);
    vka_plan_counters_free(plan);
    free(plan->tensors);
    free(plan->dispatches);
    free(plan->pieces);
    free(plan->op_stats);
    free(plan);
}

static vka_result find_for_transfer(vka_plan *plan, const char *name, bool output, size_t bytes,
                                    const vka_plan_tensor **out)
{
    const char *verb = output ? "vka_plan_read" : "vka_plan_write";
    if (plan->desc.memory_only)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: this plan was made with memory_only", verb);
    if (!name)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: name is NULL", verb);
    const vka_plan_tensor *t = vka_plan_find_tensor(plan, name, output);
    if (!t)
        return vka_fail(plan->ctx, VKA_ERROR_NOT_FOUND, "%s: the plan has no %s named '%s'", verb,
                        output ? "output" : "input", name);
    size_t need = vka_dense_bytes(t->host_dtype, t->rank, t->dims);
    if (bytes != need) {
        char shape[64];
        vka_format_shape(shape, sizeof shape, t->rank, t->dims);
        return vka_fail(plan->ctx, VKA_ERROR_SHAPE_MISMATCH, "%s '%s': %zu bytes given; %s %s needs %zu", verb, name,
                        bytes, vka_dtype_name(t->host_dtype), shape, need);
    }
    if (plan->ctx->lost)
        return vka_fail(plan->ctx, VKA_ERROR_DEVICE_LOST, "the device was lost earlier; destroy this context");
    *out = t;
    return VKA_SUCCESS;
}

vka_result vka_plan_write(vka_plan *plan, const char *input, const void *data, size_t bytes)
{
    vka_result r = enter(plan, "vka_plan_write");
    if (r != VKA_SUCCESS)
        return r;
    if (!data)
        return leave(plan, vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_plan_write: data is NULL"));
    const vka_plan_tensor *t = NULL;
    r = find_for_transfer(plan, input, false, bytes, &t);
    if (r == VKA_SUCCESS && t->int_ranged)
        r = vka_check_int_range(plan->ctx, t->int_range_op, t->name, data, vka_element_count(t->rank, t->dims),
                                t->int_min, t->int_max);
    if (r == VKA_SUCCESS)
        r = vka_check_float_range(plan->ctx, t->name, data, t->host_dtype, vka_element_count(t->rank, t->dims),
                                  &t->float_range);
    if (r == VKA_SUCCESS)
        r = vka_plan_upload(plan, t, data, t->host_dtype);
    if (r == VKA_SUCCESS)
        vka_plan_counters_written(plan, t, data);
    return leave(plan, r);
}

vka_result vka_plan_read(vka_plan *plan, const char *output, void *data, size_t bytes)
{
    vka_result r = enter(plan, "vka_plan_read");
    if (r != VKA_SUCCESS)
        return r;
    if (!data)
        return leave(plan, vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_plan_read: data is NULL"));
    const vka_plan_tensor *t = NULL;
    r = find_for_transfer(plan, output, true, bytes, &t);
    if (r == VKA_SUCCESS && !plan->ran && !t->is_state) /* a state holds its start until the first run */
        r = vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                     "vka_plan_read '%s': the plan has not run yet (vka_plan_run or vka_plan_record first)", output);
    return leave(plan, r == VKA_SUCCESS ? vka_plan_download(plan, t, data, t->host_dtype) : r);
}

static vka_result collect_timings(vka_plan *plan, bool wait)
{
    if (!plan->queries)
        return VKA_SUCCESS;
    vka_context *ctx = plan->ctx;
    uint32_t n = plan->piece_count + 1;
    uint64_t *ticks = calloc(n, sizeof *ticks);
    if (!ticks)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory reading timestamps");
    VkQueryResultFlags flags = VK_QUERY_RESULT_64_BIT | (wait ? VK_QUERY_RESULT_WAIT_BIT : 0);
    VkResult vr = ctx->vkd.vkGetQueryPoolResults(ctx->device, plan->queries, 0, n, n * sizeof *ticks, ticks,
                                                 sizeof *ticks, flags);
    if (vr != VK_SUCCESS) {
        free(ticks);
        return vr == VK_NOT_READY ? vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "timestamps are not ready yet")
                                  : vka_vk_fail(ctx, vr, "vkGetQueryPoolResults");
    }
    uint64_t mask = ctx->timestamp_valid_bits >= 64 ? ~0ull : (1ull << ctx->timestamp_valid_bits) - 1;
    double to_ms = ctx->info.timestamp_period_ns * 1e-6;
    for (uint32_t i = 0; i < plan->piece_count; i++)
        plan->pieces[i].gpu_ms = (double)(((ticks[i + 1] & mask) - (ticks[i] & mask)) & mask) * to_ms;
    plan->stats.last_run_gpu_ms = (double)(((ticks[n - 1] & mask) - (ticks[0] & mask)) & mask) * to_ms;
    free(ticks);
    return VKA_SUCCESS;
}

/* Each host step: its reads down, its function, its writes up (before the run). */
static vka_result run_host_steps(vka_plan *plan)
{
    for (uint32_t i = 0; i < plan->host_step_count; i++) {
        vka_plan_host_step *step = &plan->host_steps[i];
        const vka_host_step_desc *d = &step->desc;
        vka_result r = VKA_SUCCESS;
        for (uint32_t k = 0; r == VKA_SUCCESS && k < VKA_HOST_STEP_TENSORS && d->reads[k]; k++)
            r = vka_plan_download(plan, &plan->tensors[d->reads[k]], step->reads[k], VKA_DTYPE_F32);
        if (r == VKA_SUCCESS)
            r = d->fn(plan->ctx, step->state, plan->runs_since_reset, (const float *const *)step->reads, step->writes);
        for (uint32_t k = 0; r == VKA_SUCCESS && k < VKA_HOST_STEP_TENSORS && d->writes[k]; k++)
            r = vka_plan_upload(plan, &plan->tensors[d->writes[k]], step->writes[k], VKA_DTYPE_F32);
        if (r != VKA_SUCCESS)
            return r;
    }
    return VKA_SUCCESS;
}

static vka_result run_locked(vka_plan *plan)
{
    if (plan->desc.memory_only)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_plan_run: this plan was made with memory_only");
    double start = vka_now_ms();
    vka_result r = vka_plan_counters_check(plan);
    if (r == VKA_SUCCESS)
        r = run_host_steps(plan);
    if (r == VKA_SUCCESS)
        r = vka_context_submit_and_wait(plan->ctx, plan->cmd);
    if (r != VKA_SUCCESS)
        return r;
    plan->stats.last_run_wall_ms = vka_now_ms() - start;
    plan->stats.run_count++;
    plan->runs_since_reset++;
    vka_plan_counters_advance(plan);
    plan->ran = true;
    return collect_timings(plan, true);
}

vka_result vka_plan_run(vka_plan *plan)
{
    vka_result r = enter(plan, "vka_plan_run");
    return r == VKA_SUCCESS ? leave(plan, run_locked(plan)) : r;
}

vka_result vka_plan_reset_states(vka_plan *plan)
{
    vka_result r = enter(plan, "vka_plan_reset_states");
    if (r != VKA_SUCCESS)
        return r;
    if (plan->desc.memory_only)
        return leave(plan, vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                                    "vka_plan_reset_states: this plan was made with memory_only"));
    plan->runs_since_reset = 0;
    r = vka_plan_initialise(plan, true);
    if (r == VKA_SUCCESS)
        vka_plan_counters_reset(plan);
    return leave(plan, r);
}

static vka_result redraw_locked(vka_plan *plan, uint64_t seed)
{
    uint32_t drawn = 0;
    for (uint32_t i = 1; i < plan->tensor_count; i++) {
        vka_plan_tensor *t = &plan->tensors[i];
        if (!t->draw)
            continue;
        /* The i-th drawn constant from seed + i: two operations never share a draw. */
        vka_result r = t->draw(seed + drawn++, t->draw_args, t->owned_data);
        if (r == VKA_SUCCESS && !plan->desc.memory_only)
            r = vka_plan_upload(plan, t, t->owned_data, t->host_dtype);
        if (r != VKA_SUCCESS)
            return r;
    }
    if (!drawn)
        return vka_fail(plan->ctx, VKA_ERROR_NOT_FOUND,
                        "vka_plan_redraw: the plan draws no constant from a seed (a performer op given a "
                        "projection input takes new matrices through vka_plan_write)");
    return VKA_SUCCESS;
}

vka_result vka_plan_redraw(vka_plan *plan, uint64_t seed)
{
    vka_result r = enter(plan, "vka_plan_redraw");
    return r == VKA_SUCCESS ? leave(plan, redraw_locked(plan, seed)) : r;
}

static vka_result record_locked(vka_plan *plan, VkCommandBuffer command_buffer)
{
    if (!command_buffer)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_plan_record: command buffer is NULL");
    if (plan->desc.memory_only)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_plan_record: this plan was made with memory_only");
    if (plan->host_step_count)
        return vka_fail(plan->ctx, VKA_ERROR_UNSUPPORTED,
                        "vka_plan_record: this plan computes on the host between runs (continuous_update with "
                        "sticky=1); run it with vka_plan_run");
    vka_plan_record_commands(plan, command_buffer);
    vka_plan_counters_forget(plan);
    plan->ran = true; /* the application runs it: what it reads is its business */
    return VKA_SUCCESS;
}

vka_result vka_plan_record(vka_plan *plan, VkCommandBuffer command_buffer)
{
    vka_result r = enter(plan, "vka_plan_record");
    return r == VKA_SUCCESS ? leave(plan, record_locked(plan, command_buffer)) : r;
}

vka_result vka_plan_tensor_location(const vka_plan *plan, const char *name, vka_tensor_location *out)
{
    if (!plan || !name || !out)
        return vka_fail(plan ? plan->ctx : NULL, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_plan_tensor_location: plan, name and out must not be NULL");
    if (plan->desc.memory_only || !plan->ctx)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_plan_tensor_location: the plan has no memory (memory_only, or its context is gone)");
    const vka_plan_tensor *t = vka_plan_find_tensor(plan, name, true);
    if (!t)
        t = vka_plan_find_tensor(plan, name, false);
    if (!t || vka_plan_tensor_unread_constant(t))
        return vka_fail(plan->ctx, VKA_ERROR_NOT_FOUND, "vka_plan_tensor_location: the plan holds no tensor '%s'",
                        name);
    VkDeviceSize offset;
    *out = (vka_tensor_location){.buffer = vka_plan_tensor_buffer(plan, t, &offset),
                                 .offset = offset,
                                 .size = t->bytes,
                                 .dtype = t->dtype,
                                 .element_bytes = vka_dtype_bytes(t->dtype),
                                 .rank = t->rank,
                                 .rows = t->rows,
                                 .slices = t->slices,
                                 .row_elements = t->row_elems,
                                 .slice_elements = t->slice_stride};
    memcpy(out->dims, t->dims, sizeof out->dims);
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ the application's buffers */

/* Whether any dispatch binds tensor `index` as a uniform buffer (a block layout, a query). */
static bool bound_as_uniform(const vka_plan *plan, uint32_t index)
{
    for (uint32_t i = 0; i < plan->dispatch_count; i++) {
        const vka_kernel *k = vka_kernel_get(plan->dispatches[i].desc.kernel);
        for (uint32_t b = 0; b < k->binding_count; b++)
            if (plan->dispatches[i].desc.bindings[b].tensor == index && k->bindings[b].kind == VKA_BINDING_UNIFORM)
                return true;
    }
    return false;
}

static vka_result check_binding(const vka_plan *plan, const vka_plan_tensor *t, const char *name,
                                const vka_buffer_binding *b)
{
    const char *call = "vka_plan_bind_buffer";
    bool uniform = bound_as_uniform(plan, (uint32_t)(t - plan->tensors));
    VkBufferUsageFlags need = uniform ? VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT : VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    if (!b->buffer)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s '%s': buffer is VK_NULL_HANDLE", call, name);
    if (b->offset % plan->alignment)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s '%s': offset %llu is not a multiple of %llu (the device's minimum storage and uniform "
                        "buffer offset alignments, and the plan's)",
                        call, name, (unsigned long long)b->offset, (unsigned long long)plan->alignment);
    if (b->size < t->bytes)
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s '%s': size %llu is smaller than the tensor's %llu bytes in the plan's layout "
                        "(vka_plan_tensor_location: rows padded to 4 elements)",
                        call, name, (unsigned long long)b->size, (unsigned long long)t->bytes);
    if (!(b->usage & need))
        return vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s '%s': usage 0x%x lacks %s (a kernel binds this tensor as a %s buffer)", call, name,
                        (unsigned)b->usage,
                        uniform ? "VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT" : "VK_BUFFER_USAGE_STORAGE_BUFFER_BIT",
                        uniform ? "uniform" : "storage");
    return VKA_SUCCESS;
}

vka_result vka_plan_bind_buffer(vka_plan *plan, const char *name, const vka_buffer_binding *binding)
{
    vka_result r = enter(plan, "vka_plan_bind_buffer");
    if (r != VKA_SUCCESS)
        return r;
    if (!name)
        return leave(plan, vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_plan_bind_buffer: name is NULL"));
    if (plan->desc.memory_only)
        return leave(plan, vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                                    "vka_plan_bind_buffer: this plan was made with memory_only"));
    if (plan->ctx->owned)
        return leave(plan, vka_fail(plan->ctx, VKA_ERROR_INVALID_ARGUMENT,
                                    "vka_plan_bind_buffer '%s': the context made its own device; only a context "
                                    "from vka_context_embed shares the application's device and its buffers",
                                    name));
    vka_plan_tensor *t = (vka_plan_tensor *)vka_plan_find_tensor(plan, name, true);
    if (!t)
        t = (vka_plan_tensor *)vka_plan_find_tensor(plan, name, false);
    if (!t || t->kind == VKA_TENSOR_CONSTANT)
        return leave(plan, vka_fail(plan->ctx, VKA_ERROR_NOT_FOUND,
                                    "vka_plan_bind_buffer: the plan has no input, output or state '%s'%s", name,
                                    t ? " (it is a constant, uploaded once into the plan)" : ""));
    if (binding && (r = check_binding(plan, t, name, binding)) != VKA_SUCCESS)
        return leave(plan, r);
    t->bound_buffer = binding ? binding->buffer : VK_NULL_HANDLE;
    t->bound_offset = binding ? binding->offset : 0;
    t->bound_size = binding ? binding->size : 0;
    t->bound_usage = binding ? binding->usage : 0;
    return leave(plan, vka_plan_rebind(plan));
}

vka_result vka_plan_collect_timings(vka_plan *plan)
{
    vka_result r = enter(plan, "vka_plan_collect_timings");
    if (r != VKA_SUCCESS)
        return r;
    r = collect_timings(plan, false);
    if (r == VKA_SUCCESS)
        plan->stats.run_count++;
    return leave(plan, r);
}

vka_result vka_plan_stats_get(const vka_plan *plan, vka_plan_stats *out)
{
    if (!plan || !out)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = plan->stats;
    return VKA_SUCCESS;
}

vka_result vka_plan_op_stat_at(const vka_plan *plan, uint32_t index, vka_op_stat *out)
{
    if (!plan || !out || index >= plan->op_stat_count)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = plan->op_stats[index];
    return VKA_SUCCESS;
}

uint64_t vka_plan_op_stat_total(const vka_plan *plan, const char *key)
{
    uint64_t total = 0;
    for (uint32_t i = 0; plan && key && i < plan->op_stat_count; i++)
        total += strcmp(plan->op_stats[i].key, key) == 0 ? plan->op_stats[i].value : 0;
    return total;
}

vka_result vka_plan_dispatch_at(const vka_plan *plan, uint32_t index, vka_dispatch_info *out)
{
    if (!plan || !out || index >= plan->piece_count)
        return VKA_ERROR_INVALID_ARGUMENT;
    const vka_plan_piece *piece = &plan->pieces[index];
    const vka_plan_dispatch *d = &plan->dispatches[piece->dispatch];
    const vka_kernel *k = vka_kernel_get(d->desc.kernel);
    *out = (vka_dispatch_info){
        .kernel = k->name,
        .variant = k->variant,
        .op = d->op_name,
        .workgroups = {d->desc.groups_x, d->desc.groups_y, piece->slice_count},
        .workgroup_size = d->desc.spec.workgroup_size,
        .f16_bindings = k->f16_mask_slot ? d->desc.spec.words[k->f16_mask_slot] : 0,
        .barrier_before = piece->barrier_before,
        .gpu_ms = plan->queries && plan->stats.run_count ? piece->gpu_ms : -1,
    };
    return VKA_SUCCESS;
}
