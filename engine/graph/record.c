/* The plan's Vulkan objects: pipelines, the arena and its initial content, descriptor
 * sets written once, the timestamp pool, and the command buffer recorded once. */
#include "plan.h"

#include "transfer.h"

#include <string.h>

static vka_result create_pipelines(vka_plan *plan)
{
    vka_context *ctx = plan->ctx;
    for (uint32_t i = 0; i < plan->dispatch_count; i++) {
        vka_plan_dispatch *d = &plan->dispatches[i];
        bool created;
        double ms;
        vka_result r = vka_pipeline_get(ctx, d->desc.kernel, d->desc.spec.words, &d->pipeline, &created, &ms);
        if (r != VKA_SUCCESS)
            return r;
        plan->stats.pipelines_created += created;
        plan->stats.pipeline_create_ms += ms;
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = plan->dispatches[j].pipeline.pipeline == d->pipeline.pipeline;
        plan->stats.pipeline_count += !seen;
    }
    return VKA_SUCCESS;
}

/* Constants and states get their (initial) content; inputs start as zeros, so that a
 * run before the first write reads defined values. */
vka_result vka_plan_initialise(vka_plan *plan, bool states_only)
{
    for (uint32_t i = 1; i < plan->tensor_count; i++) {
        const vka_plan_tensor *t = &plan->tensors[i];
        bool constant = t->kind == VKA_TENSOR_CONSTANT, input = t->kind == VKA_TENSOR_INPUT;
        if (states_only ? !t->is_state : !(constant || input || t->is_state) || vka_plan_tensor_unread_constant(t))
            continue;
        vka_result r = vka_plan_upload(plan, t, constant || t->is_state ? t->data : NULL, t->host_dtype);
        if (r != VKA_SUCCESS)
            return r;
    }
    return VKA_SUCCESS;
}

static VkDescriptorBufferInfo binding_info(const vka_plan *plan, const vka_plan_piece *piece, const vka_binding_desc *b)
{
    const vka_plan_tensor *t = &plan->tensors[b->tensor];
    VkDeviceSize offset;
    VkBuffer buffer = vka_plan_tensor_buffer(plan, t, &offset);
    if (b->whole)
        return (VkDescriptorBufferInfo){buffer, offset, t->bytes};
    uint64_t slice_bytes = vka_plan_slice_bytes(t), stride = vka_plan_slice_stride_bytes(t);
    uint32_t first, last;
    vka_binding_slices(piece, b, &first, &last);
    return (VkDescriptorBufferInfo){buffer, offset + first * stride, (last - first) * stride + slice_bytes};
}

static vka_result create_descriptor_pool(vka_plan *plan)
{
    uint32_t storage = 0, uniform = 0;
    for (uint32_t i = 0; i < plan->piece_count; i++) {
        const vka_kernel *k = vka_kernel_get(plan->dispatches[plan->pieces[i].dispatch].desc.kernel);
        for (uint32_t b = 0; b < k->binding_count; b++)
            *(k->bindings[b].kind == VKA_BINDING_UNIFORM ? &uniform : &storage) += 1;
    }
    VkDescriptorPoolSize sizes[2];
    uint32_t n = 0;
    if (storage)
        sizes[n++] = (VkDescriptorPoolSize){VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, storage};
    if (uniform)
        sizes[n++] = (VkDescriptorPoolSize){VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, uniform};
    VkDescriptorPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = plan->piece_count,
        .poolSizeCount = n,
        .pPoolSizes = sizes,
    };
    VkResult vr = plan->ctx->vkd.vkCreateDescriptorPool(plan->ctx->device, &info, NULL, &plan->descriptor_pool);
    return vr == VK_SUCCESS ? VKA_SUCCESS : vka_vk_fail(plan->ctx, vr, "vkCreateDescriptorPool");
}

static vka_result allocate_descriptors(vka_plan *plan)
{
    vka_context *ctx = plan->ctx;
    for (uint32_t i = 0; i < plan->piece_count; i++) {
        vka_plan_piece *piece = &plan->pieces[i];
        const vka_plan_dispatch *d = &plan->dispatches[piece->dispatch];
        VkDescriptorSetAllocateInfo alloc = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = plan->descriptor_pool,
            .descriptorSetCount = 1,
            .pSetLayouts = &d->pipeline.set_layout,
        };
        VkResult vr = ctx->vkd.vkAllocateDescriptorSets(ctx->device, &alloc, &piece->set);
        if (vr != VK_SUCCESS)
            return vka_vk_fail(ctx, vr, "vkAllocateDescriptorSets");
    }
    return VKA_SUCCESS;
}

/* Every piece's bindings: the arena's bytes, or the application's buffer where bound. */
static void write_descriptors(vka_plan *plan)
{
    vka_context *ctx = plan->ctx;
    for (uint32_t i = 0; i < plan->piece_count; i++) {
        vka_plan_piece *piece = &plan->pieces[i];
        const vka_plan_dispatch *d = &plan->dispatches[piece->dispatch];
        const vka_kernel *k = vka_kernel_get(d->desc.kernel);
        VkDescriptorBufferInfo buffers[VKA_MAX_BINDINGS];
        VkWriteDescriptorSet writes[VKA_MAX_BINDINGS];
        for (uint32_t b = 0; b < k->binding_count; b++) {
            buffers[b] = binding_info(plan, piece, &d->desc.bindings[b]);
            writes[b] = (VkWriteDescriptorSet){
                .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                .dstSet = piece->set,
                .dstBinding = b,
                .descriptorCount = 1,
                .descriptorType = k->bindings[b].kind == VKA_BINDING_UNIFORM ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
                                                                             : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .pBufferInfo = &buffers[b],
            };
        }
        ctx->vkd.vkUpdateDescriptorSets(ctx->device, k->binding_count, writes, 0, NULL);
    }
}

static vka_result create_queries(vka_plan *plan)
{
    if (plan->desc.no_timestamps || !plan->ctx->info.timestamps || plan->piece_count == 0)
        return VKA_SUCCESS;
    VkQueryPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = plan->piece_count + 1,
    };
    VkResult vr = plan->ctx->vkd.vkCreateQueryPool(plan->ctx->device, &info, NULL, &plan->queries);
    return vr == VK_SUCCESS ? VKA_SUCCESS : vka_vk_fail(plan->ctx, vr, "vkCreateQueryPool");
}

static void barrier(const vka_context *ctx, VkCommandBuffer cmd, VkPipelineStageFlags src_stage,
                    VkAccessFlags src_access, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access)
{
    VkMemoryBarrier b = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src_access, .dstAccessMask = dst_access};
    ctx->vkd.vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}

static void push_constants(const vka_plan *plan, VkCommandBuffer cmd, const vka_plan_piece *piece)
{
    const vka_plan_dispatch *d = &plan->dispatches[piece->dispatch];
    const vka_kernel *k = vka_kernel_get(d->desc.kernel);
    uint32_t words[VKA_MAX_PUSH_WORDS] = {piece->slice_begin};
    for (uint32_t b = 0; b < VKA_MAX_BINDINGS && d->desc.bindings[b].tensor; b++)
        if (!d->desc.bindings[b].whole && b < VKA_SLICE_STRIDE_BINDINGS)
            words[1 + b] = (uint32_t)(plan->tensors[d->desc.bindings[b].tensor].slice_stride / 4);
    memcpy(&words[VKA_PUSH_HEADER_WORDS], d->desc.push.words, 4 * k->op_push_words);
    plan->ctx->vkd.vkCmdPushConstants(cmd, d->pipeline.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                      4 * (VKA_PUSH_HEADER_WORDS + k->op_push_words), words);
}

void vka_plan_record_commands(const vka_plan *plan, VkCommandBuffer cmd)
{
    const vka_context *ctx = plan->ctx;
    const VkAccessFlags shader_rw = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_UNIFORM_READ_BIT;
    const VkPipelineStageFlags compute = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    if (plan->queries)
        ctx->vkd.vkCmdResetQueryPool(cmd, plan->queries, 0, plan->piece_count + 1);
    /* Entry: host writes, transfers and earlier runs' shader accesses come before ours. */
    barrier(ctx, cmd, VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | compute,
            VK_ACCESS_HOST_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT | shader_rw, compute,
            shader_rw);
    if (plan->queries)
        ctx->vkd.vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, plan->queries, 0);
    VkPipeline bound = VK_NULL_HANDLE;
    for (uint32_t i = 0; i < plan->piece_count; i++) {
        const vka_plan_piece *piece = &plan->pieces[i];
        const vka_plan_dispatch *d = &plan->dispatches[piece->dispatch];
        if (piece->barrier_before)
            barrier(ctx, cmd, compute, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT, compute, shader_rw);
        if (d->pipeline.pipeline != bound) {
            ctx->vkd.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline.pipeline);
            bound = d->pipeline.pipeline;
        }
        ctx->vkd.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline.layout, 0, 1, &piece->set, 0,
                                         NULL);
        push_constants(plan, cmd, piece);
        ctx->vkd.vkCmdDispatch(cmd, d->desc.groups_x, d->desc.groups_y, piece->slice_count);
        if (plan->queries)
            ctx->vkd.vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, plan->queries, i + 1);
    }
    /* Exit: our writes are available to host reads, transfers and later shaders. */
    barrier(ctx, cmd, compute, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
            VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | compute,
            VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | shader_rw);
}

static vka_result record_locked(vka_plan *plan)
{
    vka_context *ctx = plan->ctx;
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = ctx->command_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkResult vr = plan->cmd ? VK_SUCCESS : ctx->vkd.vkAllocateCommandBuffers(ctx->device, &alloc, &plan->cmd);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkAllocateCommandBuffers");
    /* the pool resets a command buffer as it begins again (RESET_COMMAND_BUFFER_BIT) */
    VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    vr = ctx->vkd.vkBeginCommandBuffer(plan->cmd, &begin);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkBeginCommandBuffer");
    vka_plan_record_commands(plan, plan->cmd);
    vr = ctx->vkd.vkEndCommandBuffer(plan->cmd);
    return vr == VK_SUCCESS ? VKA_SUCCESS : vka_vk_fail(ctx, vr, "vkEndCommandBuffer");
}

static vka_result record_own_command_buffer(vka_plan *plan)
{
    vka_mutex_lock(&plan->ctx->submit_lock); /* the command pool is shared by the context's threads */
    vka_result r = record_locked(plan);
    vka_mutex_unlock(&plan->ctx->submit_lock);
    return r;
}

vka_result vka_plan_realize(vka_plan *plan)
{
    vka_result r = create_pipelines(plan);
    if (r == VKA_SUCCESS)
        r = vka_arena_create(plan->ctx, VKA_MAX(plan->stats.arena_bytes, 16), &plan->arena);
    if (r == VKA_SUCCESS) {
        plan->stats.peak_device_bytes = plan->arena.allocated;
        r = vka_plan_initialise(plan, false);
    }
    if (r == VKA_SUCCESS && plan->piece_count)
        r = create_descriptor_pool(plan);
    if (r == VKA_SUCCESS)
        r = allocate_descriptors(plan);
    if (r == VKA_SUCCESS) {
        write_descriptors(plan);
        r = create_queries(plan);
    }
    if (r == VKA_SUCCESS)
        r = record_own_command_buffer(plan);
    return r;
}

vka_result vka_plan_rebind(vka_plan *plan)
{
    write_descriptors(plan);
    return plan->cmd ? record_own_command_buffer(plan) : VKA_SUCCESS;
}

void vka_plan_release(vka_plan *plan)
{
    vka_context *ctx = plan->ctx;
    if (!ctx)
        return;
    if (plan->cmd) {
        vka_mutex_lock(&ctx->submit_lock);
        ctx->vkd.vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, &plan->cmd);
        vka_mutex_unlock(&ctx->submit_lock);
        plan->cmd = VK_NULL_HANDLE;
    }
    if (plan->queries)
        ctx->vkd.vkDestroyQueryPool(ctx->device, plan->queries, NULL);
    if (plan->descriptor_pool)
        ctx->vkd.vkDestroyDescriptorPool(ctx->device, plan->descriptor_pool, NULL);
    plan->queries = VK_NULL_HANDLE;
    plan->descriptor_pool = VK_NULL_HANDLE;
    vka_buffer_destroy(ctx, &plan->staging);
    vka_buffer_destroy(ctx, &plan->arena);
}
