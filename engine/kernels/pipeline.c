#include "pipeline.h"

#include "disk_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cached_pipeline {
    vka_kernel_id kernel;
    uint32_t spec[VKA_MAX_SPEC_CONSTANTS];
    VkPipeline pipeline;
} cached_pipeline;

typedef struct kernel_layout {
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
} kernel_layout;

/* The file behind the driver's cache (disk_cache.h), when the context has a cache folder. */
typedef struct disk_file {
    vka_disk_cache_key key;
    char path[1024];
    char status[1200];
    uint64_t loaded_bytes, loaded_hash; /* what was read: an unchanged cache is not rewritten */
} disk_file;

struct vka_pipeline_cache {
    vka_mutex lock; /* plans may be created from several threads */
    VkPipelineCache driver_cache;
    disk_file disk; /* path "" without a cache folder */
    kernel_layout layouts[VKA_KERNEL_COUNT];
    cached_pipeline *pipelines;
    uint32_t count, capacity;
};

static void log_status(vka_context *ctx, const disk_file *disk)
{
    if (ctx->desc.log)
        ctx->desc.log(ctx->desc.log_user, VKA_LOG_INFO, disk->status);
}

/* The cache file for this device, driver and build of the kernels: its data if it fits. */
static void read_disk_file(vka_context *ctx, disk_file *disk, void **data, size_t *bytes)
{
    const uint32_t *spirv[VKA_KERNEL_COUNT];
    size_t sizes[VKA_KERNEL_COUNT];
    for (int k = 0; k < VKA_KERNEL_COUNT; k++) {
        spirv[k] = vka_kernel_get((vka_kernel_id)k)->spirv;
        sizes[k] = vka_kernel_get((vka_kernel_id)k)->spirv_bytes;
    }
    disk->key = (vka_disk_cache_key){.build = vka_disk_cache_build_key(spirv, sizes, VKA_KERNEL_COUNT),
                                     .vendor_id = ctx->info.vendor_id,
                                     .device_id = ctx->info.device_id,
                                     .driver_version = ctx->info.driver_version};
    memcpy(disk->key.uuid, ctx->info.pipeline_cache_uuid, sizeof disk->key.uuid);
    vka_disk_cache_path(ctx->pipeline_cache_dir, &disk->key, disk->path, sizeof disk->path);
    if (vka_disk_cache_load(disk->path, &disk->key, data, bytes, disk->status, sizeof disk->status)) {
        disk->loaded_bytes = *bytes;
        disk->loaded_hash = vka_disk_cache_hash(*data, *bytes);
    }
    log_status(ctx, disk);
}

static vka_result pipeline_cache_create(vka_context *ctx, vka_pipeline_cache **out)
{
    vka_pipeline_cache *cache = calloc(1, sizeof *cache);
    if (!cache)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory for the pipeline cache");
    if (!vka_mutex_init(&cache->lock, false)) {
        free(cache);
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "could not create a mutex");
    }
    void *initial = NULL;
    size_t initial_bytes = 0;
    if (ctx->pipeline_cache_dir[0])
        read_disk_file(ctx, &cache->disk, &initial, &initial_bytes);
    VkPipelineCacheCreateInfo info = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                      .initialDataSize = initial_bytes,
                                      .pInitialData = initial};
    VkResult vr = ctx->vkd.vkCreatePipelineCache(ctx->device, &info, NULL, &cache->driver_cache);
    free(initial);
    if (vr != VK_SUCCESS) {
        vka_mutex_destroy(&cache->lock);
        free(cache);
        return vka_vk_fail(ctx, vr, "vkCreatePipelineCache");
    }
    *out = cache;
    return VKA_SUCCESS;
}

/* The driver's cache data to the file (skipped when only_if_changed and it is what was
 * read). */
static vka_result write_disk_file(vka_context *ctx, vka_pipeline_cache *cache, bool only_if_changed)
{
    disk_file *disk = &cache->disk;
    size_t bytes = 0;
    VkResult vr = ctx->vkd.vkGetPipelineCacheData(ctx->device, cache->driver_cache, &bytes, NULL);
    void *data = vr == VK_SUCCESS ? malloc(bytes ? bytes : 1) : NULL;
    if (data)
        vr = ctx->vkd.vkGetPipelineCacheData(ctx->device, cache->driver_cache, &bytes, data);
    if (vr != VK_SUCCESS || !data) {
        free(data);
        return vr != VK_SUCCESS ? vka_vk_fail(ctx, vr, "vkGetPipelineCacheData")
                                : vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory saving pipelines");
    }
    vka_result r = VKA_SUCCESS;
    if (only_if_changed && bytes == disk->loaded_bytes && vka_disk_cache_hash(data, bytes) == disk->loaded_hash)
        snprintf(disk->status, sizeof disk->status, "unchanged: %s", disk->path);
    else if (!vka_disk_cache_save(disk->path, &disk->key, data, bytes, disk->status, sizeof disk->status))
        r = vka_fail(ctx, VKA_ERROR_IO, "pipeline cache: %s", disk->status);
    free(data);
    log_status(ctx, disk);
    return r;
}

static void pipeline_cache_destroy(vka_context *ctx, void *pipelines)
{
    vka_pipeline_cache *cache = pipelines;
    if (!cache)
        return;
    if (cache->disk.path[0] && !ctx->lost) /* a failure here has no caller to tell: the log has it */
        write_disk_file(ctx, cache, true);
    for (uint32_t i = 0; i < cache->count; i++)
        ctx->vkd.vkDestroyPipeline(ctx->device, cache->pipelines[i].pipeline, NULL);
    for (int k = 0; k < VKA_KERNEL_COUNT; k++) {
        kernel_layout *kl = &cache->layouts[k];
        if (kl->layout)
            ctx->vkd.vkDestroyPipelineLayout(ctx->device, kl->layout, NULL);
        if (kl->set_layout)
            ctx->vkd.vkDestroyDescriptorSetLayout(ctx->device, kl->set_layout, NULL);
        if (kl->module)
            ctx->vkd.vkDestroyShaderModule(ctx->device, kl->module, NULL);
    }
    ctx->vkd.vkDestroyPipelineCache(ctx->device, cache->driver_cache, NULL);
    free(cache->pipelines);
    vka_mutex_destroy(&cache->lock);
    free(cache);
}

static vka_result make_layout(vka_context *ctx, const vka_kernel *k, kernel_layout *kl)
{
    VkShaderModuleCreateInfo module = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = k->spirv_bytes,
        .pCode = k->spirv,
    };
    VkResult vr = ctx->vkd.vkCreateShaderModule(ctx->device, &module, NULL, &kl->module);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreateShaderModule");
    VkDescriptorSetLayoutBinding bindings[VKA_MAX_BINDINGS];
    for (uint32_t b = 0; b < k->binding_count; b++)
        bindings[b] = (VkDescriptorSetLayoutBinding){
            .binding = b,
            .descriptorType = k->bindings[b].kind == VKA_BINDING_UNIFORM ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
                                                                         : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo set = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = k->binding_count,
        .pBindings = bindings,
    };
    vr = ctx->vkd.vkCreateDescriptorSetLayout(ctx->device, &set, NULL, &kl->set_layout);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreateDescriptorSetLayout");
    VkPushConstantRange push = {
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        .size = 4 * (VKA_PUSH_HEADER_WORDS + k->op_push_words),
    };
    VkPipelineLayoutCreateInfo layout = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &kl->set_layout,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &push,
    };
    vr = ctx->vkd.vkCreatePipelineLayout(ctx->device, &layout, NULL, &kl->layout);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreatePipelineLayout");
    return VKA_SUCCESS;
}

static vka_result make_pipeline(vka_context *ctx, vka_pipeline_cache *cache, vka_kernel_id id, const uint32_t *spec,
                                VkPipeline *out)
{
    const vka_kernel *k = vka_kernel_get(id);
    VkSpecializationMapEntry entries[VKA_MAX_SPEC_CONSTANTS];
    for (uint32_t i = 0; i < k->spec_constant_count; i++) {
        uint32_t id = k->f16_mask_slot && i == k->f16_mask_slot ? VKA_F16_CONSTANT_ID : i;
        entries[i] = (VkSpecializationMapEntry){.constantID = id, .offset = 4 * i, .size = 4};
    }
    VkSpecializationInfo specialization = {
        .mapEntryCount = k->spec_constant_count,
        .pMapEntries = entries,
        .dataSize = 4 * k->spec_constant_count,
        .pData = spec,
    };
    VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = cache->layouts[id].module,
                .pName = "main",
                .pSpecializationInfo = &specialization,
            },
        .layout = cache->layouts[id].layout,
    };
    VkResult vr = ctx->vkd.vkCreateComputePipelines(ctx->device, cache->driver_cache, 1, &info, NULL, out);
    if (vr != VK_SUCCESS) {
        vka_result r = vka_vk_fail(ctx, vr, "vkCreateComputePipelines");
        return vka_fail(ctx, r, "creating the %s (%s) pipeline: %s", k->name, k->variant, vka_last_error(ctx));
    }
    return VKA_SUCCESS;
}

static cached_pipeline *find(vka_pipeline_cache *cache, vka_kernel_id id, const uint32_t *spec, uint32_t n)
{
    for (uint32_t i = 0; i < cache->count; i++)
        if (cache->pipelines[i].kernel == id && memcmp(cache->pipelines[i].spec, spec, 4 * n) == 0)
            return &cache->pipelines[i];
    return NULL;
}

static vka_result get_locked(vka_context *ctx, vka_pipeline_cache *cache, vka_kernel_id id, const uint32_t *spec,
                             vka_pipeline *out, bool *created)
{
    const vka_kernel *k = vka_kernel_get(id);
    kernel_layout *kl = &cache->layouts[id];
    if (!kl->layout) {
        vka_result r = make_layout(ctx, k, kl);
        if (r != VKA_SUCCESS)
            return r;
    }
    cached_pipeline *found = find(cache, id, spec, k->spec_constant_count);
    *created = false;
    if (!found) {
        if (!vka_array_reserve((void **)&cache->pipelines, &cache->capacity, cache->count + 1, sizeof *found))
            return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory caching pipelines");
        cached_pipeline entry = {.kernel = id};
        memcpy(entry.spec, spec, 4 * k->spec_constant_count);
        vka_result r = make_pipeline(ctx, cache, id, spec, &entry.pipeline);
        if (r != VKA_SUCCESS)
            return r;
        cache->pipelines[cache->count] = entry;
        found = &cache->pipelines[cache->count++];
        *created = true;
    }
    *out = (vka_pipeline){found->pipeline, kl->layout, kl->set_layout};
    return VKA_SUCCESS;
}

/* The context's cache, made on first use (and its file read then). */
static vka_result cache_of(vka_context *ctx, vka_pipeline_cache **out)
{
    vka_mutex_lock(&ctx->attach_lock);
    vka_result r = VKA_SUCCESS;
    if (!ctx->pipelines && (r = pipeline_cache_create(ctx, (vka_pipeline_cache **)&ctx->pipelines)) == VKA_SUCCESS)
        ctx->release_pipelines = pipeline_cache_destroy;
    vka_mutex_unlock(&ctx->attach_lock);
    *out = ctx->pipelines;
    return r;
}

vka_result vka_context_pipeline_cache_info(vka_context *ctx, vka_pipeline_cache_info *out)
{
    if (!ctx || !out)
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "vka_context_pipeline_cache_info: NULL argument");
    *out = (vka_pipeline_cache_info){0};
    if (!ctx->pipeline_cache_dir[0])
        return VKA_SUCCESS;
    vka_pipeline_cache *cache;
    vka_result r = cache_of(ctx, &cache);
    if (r != VKA_SUCCESS)
        return r;
    vka_mutex_lock(&cache->lock);
    snprintf(out->path, sizeof out->path, "%s", cache->disk.path);
    snprintf(out->status, sizeof out->status, "%s", cache->disk.status);
    out->loaded_bytes = cache->disk.loaded_bytes;
    vka_mutex_unlock(&cache->lock);
    return VKA_SUCCESS;
}

vka_result vka_context_save_pipeline_cache(vka_context *ctx)
{
    if (!ctx)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_context_save_pipeline_cache: ctx is NULL");
    if (!ctx->pipeline_cache_dir[0])
        return vka_fail(
            ctx, VKA_ERROR_INVALID_ARGUMENT,
            "vka_context_save_pipeline_cache: the context has no pipeline_cache_dir (nor $VKATTN_CACHE_DIR)");
    vka_pipeline_cache *cache;
    vka_result r = cache_of(ctx, &cache);
    if (r != VKA_SUCCESS)
        return r;
    vka_mutex_lock(&cache->lock);
    r = write_disk_file(ctx, cache, false);
    vka_mutex_unlock(&cache->lock);
    return r;
}

vka_result vka_pipeline_get(vka_context *ctx, vka_kernel_id id, const uint32_t *spec, vka_pipeline *out, bool *created,
                            double *create_ms)
{
    *created = false;
    *create_ms = 0.0;
    vka_pipeline_cache *cache;
    vka_result r = cache_of(ctx, &cache);
    if (r != VKA_SUCCESS)
        return r;
    double start = vka_now_ms();
    vka_mutex_lock(&cache->lock);
    r = get_locked(ctx, cache, id, spec, out, created);
    vka_mutex_unlock(&cache->lock);
    *create_ms = *created ? vka_now_ms() - start : 0.0;
    return r;
}
