#include "arena.h"

#include <string.h>

#define NO_TYPE UINT32_MAX

static uint32_t find_memory_type(const vka_context *ctx, uint32_t allowed, VkMemoryPropertyFlags required,
                                 VkMemoryPropertyFlags preferred)
{
    const VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_properties;
    uint32_t fallback = NO_TYPE;
    for (uint32_t t = 0; t < mp->memoryTypeCount; t++) {
        VkMemoryPropertyFlags f = mp->memoryTypes[t].propertyFlags;
        if (!(allowed & (1u << t)) || (f & required) != required)
            continue;
        if ((f & preferred) == preferred)
            return t;
        if (fallback == NO_TYPE)
            fallback = t;
    }
    return fallback;
}

static bool is_uma(const vka_context *ctx)
{
    return ctx->info.type == VKA_DEVICE_INTEGRATED_GPU || ctx->info.type == VKA_DEVICE_CPU;
}

static vka_result check_size(vka_context *ctx, VkDeviceSize size, const char *what)
{
    const vka_device_limits *l = &ctx->info.limits;
    const double mib = 1.0 / (1024.0 * 1024.0);
    if (size > l->max_allocation_bytes)
        return vka_fail(ctx, VKA_ERROR_LIMIT_EXCEEDED,
                        "%s needs %.1f MiB in one allocation; this device allows at most %.1f MiB "
                        "(maxMemoryAllocationSize)",
                        what, size * mib, l->max_allocation_bytes * mib);
    if (size > l->max_buffer_bytes)
        return vka_fail(ctx, VKA_ERROR_LIMIT_EXCEEDED,
                        "%s needs a %.1f MiB buffer; this device allows at most %.1f MiB (maxBufferSize)", what,
                        size * mib, l->max_buffer_bytes * mib);
    if (l->device_local_heap_bytes && size > l->device_local_heap_bytes)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_DEVICE_MEMORY,
                        "%s needs %.1f MiB; the device's largest memory heap has %.1f MiB", what, size * mib,
                        l->device_local_heap_bytes * mib);
    return VKA_SUCCESS;
}

static vka_result create_buffer(vka_context *ctx, VkDeviceSize size, VkBufferUsageFlags usage,
                                VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred, bool map,
                                const char *what, vka_buffer *out)
{
    memset(out, 0, sizeof *out);
    vka_result r = check_size(ctx, size, what);
    if (r != VKA_SUCCESS)
        return r;
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult vr = ctx->vkd.vkCreateBuffer(ctx->device, &info, NULL, &out->buffer);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreateBuffer");
    VkMemoryRequirements req;
    ctx->vkd.vkGetBufferMemoryRequirements(ctx->device, out->buffer, &req);
    uint32_t type = find_memory_type(ctx, req.memoryTypeBits, required, preferred);
    if (type == NO_TYPE) {
        vka_buffer_destroy(ctx, out);
        return vka_fail(ctx, VKA_ERROR_UNSUPPORTED, "%s: the device has no suitable memory type", what);
    }
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = type,
    };
    vr = ctx->vkd.vkAllocateMemory(ctx->device, &alloc, NULL, &out->memory);
    if (vr != VK_SUCCESS) {
        vka_buffer_destroy(ctx, out);
        vka_result fail = vka_vk_fail(ctx, vr, "vkAllocateMemory");
        return vka_fail(ctx, fail, "%s: allocating %.1f MiB of device memory failed (%s)", what,
                        req.size / (1024.0 * 1024.0), vka_vk_result_name(vr));
    }
    out->size = size;
    out->allocated = req.size;
    vr = ctx->vkd.vkBindBufferMemory(ctx->device, out->buffer, out->memory, 0);
    if (vr == VK_SUCCESS && map &&
        (ctx->memory_properties.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        (ctx->memory_properties.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT))
        vr = ctx->vkd.vkMapMemory(ctx->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped);
    if (vr != VK_SUCCESS) {
        vka_buffer_destroy(ctx, out);
        return vka_vk_fail(ctx, vr, "vkBindBufferMemory/vkMapMemory");
    }
    return VKA_SUCCESS;
}

vka_result vka_arena_create(vka_context *ctx, VkDeviceSize size, vka_buffer *out)
{
    VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
                               VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    /* On UMA devices host-visible device memory is the fast path: no staging copies. A
     * discrete GPU's host-visible device memory is small or slow (no ReBAR), so it gets
     * plain device-local memory and the staging path. */
    bool host_path = is_uma(ctx) && !ctx->desc.force_staging;
    VkMemoryPropertyFlags preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    if (host_path)
        preferred |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                     VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    vka_result r = create_buffer(ctx, size, usage, 0, preferred, host_path, "the plan's arena", out);
    return r;
}

vka_result vka_staging_create(vka_context *ctx, VkDeviceSize size, vka_buffer *out)
{
    VkMemoryPropertyFlags required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    vka_result r =
        create_buffer(ctx, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, required,
                      required | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, true, "a staging buffer", out);
    if (r == VKA_SUCCESS && !out->mapped) {
        vka_buffer_destroy(ctx, out);
        return vka_fail(ctx, VKA_ERROR_UNSUPPORTED, "a staging buffer could not be mapped");
    }
    return r;
}

void vka_buffer_destroy(vka_context *ctx, vka_buffer *buffer)
{
    if (buffer->mapped)
        ctx->vkd.vkUnmapMemory(ctx->device, buffer->memory);
    if (buffer->buffer)
        ctx->vkd.vkDestroyBuffer(ctx->device, buffer->buffer, NULL);
    if (buffer->memory)
        ctx->vkd.vkFreeMemory(ctx->device, buffer->memory, NULL);
    memset(buffer, 0, sizeof *buffer);
}

static vka_result copy_locked(vka_context *ctx, const vka_buffer *src, VkDeviceSize src_offset, const vka_buffer *dst,
                              VkDeviceSize dst_offset, VkDeviceSize bytes)
{
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = ctx->command_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    VkCommandBuffer cmd;
    VkResult vr = ctx->vkd.vkAllocateCommandBuffers(ctx->device, &alloc, &cmd);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    ctx->vkd.vkBeginCommandBuffer(cmd, &begin);
    /* Order against earlier compute work and transfers on this queue, both ways. */
    VkMemoryBarrier before = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_HOST_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    ctx->vkd.vkCmdPipelineBarrier(
        cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
        VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, NULL, 0, NULL);
    VkBufferCopy region = {.srcOffset = src_offset, .dstOffset = dst_offset, .size = bytes};
    ctx->vkd.vkCmdCopyBuffer(cmd, src->buffer, dst->buffer, 1, &region);
    VkMemoryBarrier after = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_UNIFORM_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    ctx->vkd.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                  VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                                      VK_PIPELINE_STAGE_TRANSFER_BIT,
                                  0, 1, &after, 0, NULL, 0, NULL);
    vr = ctx->vkd.vkEndCommandBuffer(cmd);
    vka_result r =
        vr == VK_SUCCESS ? vka_context_submit_and_wait(ctx, cmd) : vka_vk_fail(ctx, vr, "vkEndCommandBuffer");
    ctx->vkd.vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, &cmd);
    return r;
}

vka_result vka_buffer_copy(vka_context *ctx, const vka_buffer *src, VkDeviceSize src_offset, const vka_buffer *dst,
                           VkDeviceSize dst_offset, VkDeviceSize bytes)
{
    vka_mutex_lock(&ctx->submit_lock); /* the command pool is shared by the context's threads */
    vka_result r = copy_locked(ctx, src, src_offset, dst, dst_offset, bytes);
    vka_mutex_unlock(&ctx->submit_lock);
    return r;
}
