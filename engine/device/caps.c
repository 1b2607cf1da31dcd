/* The capability probe: what the chosen physical device can do, in the engine's words. */
#include "context.h"

#include <stdio.h>
#include <string.h>

static vka_device_type type_of(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VKA_DEVICE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VKA_DEVICE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VKA_DEVICE_VIRTUAL_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VKA_DEVICE_CPU;
    default: return VKA_DEVICE_OTHER;
    }
}

static const char *type_word(vka_device_type t)
{
    static const char *const words[] = {"other", "integrated GPU", "discrete GPU", "virtual GPU", "CPU"};
    return words[t];
}

static void fill_limits(vka_device_limits *l, const VkPhysicalDeviceLimits *vk,
                        const VkPhysicalDeviceMaintenance3Properties *m3, uint64_t max_buffer, uint64_t heap)
{
    l->max_shared_memory_bytes = vk->maxComputeSharedMemorySize;
    l->max_workgroup_invocations = vk->maxComputeWorkGroupInvocations;
    for (int a = 0; a < 3; a++) {
        l->max_workgroup_size[a] = vk->maxComputeWorkGroupSize[a];
        l->max_workgroup_count[a] = vk->maxComputeWorkGroupCount[a];
    }
    l->max_storage_buffers_per_stage = vk->maxPerStageDescriptorStorageBuffers;
    l->max_uniform_buffers_per_stage = vk->maxPerStageDescriptorUniformBuffers;
    l->max_storage_buffer_range = vk->maxStorageBufferRange;
    l->max_uniform_buffer_range = vk->maxUniformBufferRange;
    l->min_storage_buffer_offset_alignment = (uint32_t)vk->minStorageBufferOffsetAlignment;
    l->min_uniform_buffer_offset_alignment = (uint32_t)vk->minUniformBufferOffsetAlignment;
    l->max_push_constants_bytes = vk->maxPushConstantsSize;
    l->max_allocation_bytes = m3->maxMemoryAllocationSize;
    l->max_buffer_bytes = max_buffer ? max_buffer : m3->maxMemoryAllocationSize;
    l->device_local_heap_bytes = heap;
}

static void probe_memory(vka_context *ctx, uint64_t *largest_heap)
{
    VkPhysicalDeviceMemoryProperties *mp = &ctx->memory_properties;
    ctx->vki.vkGetPhysicalDeviceMemoryProperties(ctx->physical_device, mp);
    *largest_heap = 0;
    for (uint32_t h = 0; h < mp->memoryHeapCount; h++)
        if ((mp->memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && mp->memoryHeaps[h].size > *largest_heap)
            *largest_heap = mp->memoryHeaps[h].size;
    ctx->info.host_visible_device_memory = false;
    for (uint32_t t = 0; t < mp->memoryTypeCount; t++) {
        VkMemoryPropertyFlags f = mp->memoryTypes[t].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
            ctx->info.host_visible_device_memory = true;
    }
}

static void probe_features(vka_context *ctx)
{
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    if (ctx->api_version >= VK_API_VERSION_1_2)
        s16.pNext = &f16;
    ctx->vki.vkGetPhysicalDeviceFeatures2(ctx->physical_device, &features);
    ctx->info.storage_buffer_16bit = s16.storageBuffer16BitAccess;
    ctx->info.shader_float16 = f16.shaderFloat16;
}

void vka_write_device_summary(vka_device_info *info)
{
    snprintf(info->summary, sizeof info->summary,
             "%.160s | %.160s | Vulkan %u.%u.%u | %s | subgroup %u | shared %u KiB | fp16 %s | limits %s", info->name,
             info->driver[0] ? info->driver : "driver ?", VK_API_VERSION_MAJOR(info->api_version),
             VK_API_VERSION_MINOR(info->api_version), VK_API_VERSION_PATCH(info->api_version), type_word(info->type),
             info->subgroup_size, info->limits.max_shared_memory_bytes / 1024,
             info->storage_buffer_16bit ? (info->shader_float16 ? "storage+arith" : "storage") : "no",
             info->limits_profile);
}

vka_result vka_probe_device(vka_context *ctx)
{
    vka_device_info *info = &ctx->info;
    VkPhysicalDeviceDriverProperties driver = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance4Properties m4 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
                                              .pNext = &m3};
    VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub};
    void **tail = &m3.pNext;
    if (ctx->api_version >= VK_API_VERSION_1_2) {
        *tail = &driver;
        tail = &driver.pNext;
    }
    if (ctx->api_version >= VK_API_VERSION_1_3)
        *tail = &m4;
    ctx->vki.vkGetPhysicalDeviceProperties2(ctx->physical_device, &props);

    const VkPhysicalDeviceProperties *p = &props.properties;
    snprintf(info->name, sizeof info->name, "%s", p->deviceName);
    if (driver.driverName[0])
        snprintf(info->driver, sizeof info->driver, "%.120s %.120s", driver.driverName, driver.driverInfo);
    info->vendor_id = p->vendorID;
    info->device_id = p->deviceID;
    info->type = type_of(p->deviceType);
    info->api_version = p->apiVersion;
    info->driver_version = p->driverVersion;
    memcpy(info->pipeline_cache_uuid, p->pipelineCacheUUID, sizeof info->pipeline_cache_uuid);
    info->subgroup_size = sub.subgroupSize;
    info->subgroup_operations = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ? sub.supportedOperations : 0;
    if (ctx->desc.disable_subgroups)
        info->subgroup_operations = 0;
    info->timestamps = p->limits.timestampComputeAndGraphics && ctx->timestamp_valid_bits > 0;
    info->timestamp_period_ns = p->limits.timestampPeriod;

    uint64_t heap;
    probe_memory(ctx, &heap);
    probe_features(ctx);
    fill_limits(&info->device_limits, &p->limits, &m3, m4.maxBufferSize, heap);
    info->limits = info->device_limits;
    const char *profile = ctx->limits_request[0] ? ctx->limits_request : "none";
    if (!vka_clamp_limits(profile, &info->limits))
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "unknown limits profile \"%s\" (VKATTN_LIMITS/desc.limits): use none, android-2021, "
                        "roadmap-2022 or vulkan-1.0-min",
                        profile);
    snprintf(info->limits_profile, sizeof info->limits_profile, "%s", profile);

    vka_apply_quirks(ctx, driver.driverID);
    info->kernel_class = ctx->desc.kernel_class;
    if (info->kernel_class == VKA_KERNEL_CLASS_AUTO)
        info->kernel_class = info->type == VKA_DEVICE_CPU ? VKA_KERNEL_CLASS_CPU : VKA_KERNEL_CLASS_GPU;
    vka_write_device_summary(info);
    return VKA_SUCCESS;
}
