/* Embedded mode: adopt the host application's instance, physical device, device and
 * queue (IREE's external-device contract). The engine never creates or destroys them;
 * it makes its own command pool, fence, pipelines and memory on the host's device. */
#define VK_NO_PROTOTYPES
#include "context.h"

#include "context.h"

#include <stdio.h>
#include <string.h>

static const char *const no_extensions[] = {NULL};
/* Features the engine can use where present; none is required. */
static const char *const optional_extensions[] = {
    "VK_KHR_16bit_storage", /* core in 1.1; listed for hosts that enable by name */
    "VK_KHR_shader_float16_int8",
};

vka_result vka_query_device_requirements(VkInstance instance, VkPhysicalDevice physical_device,
                                         PFN_vkGetInstanceProcAddr gipa, vka_device_requirements *out)
{
    if (!instance || !physical_device || !gipa || !out)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_query_device_requirements: NULL argument");
    *out = (vka_device_requirements){
        .min_api_version = VK_API_VERSION_1_1,
        .queue_flags = VK_QUEUE_COMPUTE_BIT,
        .required_extension_count = 0,
        .required_extensions = no_extensions,
        .optional_extension_count = (uint32_t)VKA_ARRAY_LEN(optional_extensions),
        .optional_extensions = optional_extensions,
        .want_storage_buffer_16bit = true,
        .want_shader_float16 = true,
    };
    vka_instance_table vki;
    if (!vka_load_instance_table(&vki, instance, gipa)) {
        snprintf(out->reason, sizeof out->reason, "the loader lacks Vulkan 1.1 instance entry points");
        return VKA_SUCCESS;
    }
    VkPhysicalDeviceProperties props;
    vki.vkGetPhysicalDeviceProperties(physical_device, &props);
    uint32_t bits;
    if (props.apiVersion < VK_API_VERSION_1_1)
        snprintf(out->reason, sizeof out->reason, "%.200s supports only Vulkan 1.0", props.deviceName);
    else if (vka_find_compute_queue_family(&vki, physical_device, &bits) == UINT32_MAX)
        snprintf(out->reason, sizeof out->reason, "%.200s has no compute queue", props.deviceName);
    else
        out->supported = true;
    return VKA_SUCCESS;
}

static vka_result check_embed(const vka_embed_desc *e)
{
    if (!e->instance || !e->physical_device || !e->device || !e->queue || !e->get_instance_proc_addr)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_context_embed: instance, physical_device, device, queue and get_instance_proc_addr are "
                        "required");
    if (!e->lock_queue != !e->unlock_queue)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT,
                        "vka_context_embed: give both lock_queue and unlock_queue, or neither");
    return VKA_SUCCESS;
}

static vka_result adopt(vka_context *ctx, const vka_embed_desc *e)
{
    if (!vka_load_instance_table(&ctx->vki, e->instance, e->get_instance_proc_addr))
        return vka_fail(ctx, VKA_ERROR_NO_DEVICE, "the host's loader lacks a Vulkan 1.1 instance entry point");
    ctx->instance = e->instance;
    ctx->physical_device = e->physical_device;
    ctx->device = e->device;
    ctx->queue = e->queue;
    ctx->queue_family = e->queue_family_index;
    ctx->lock_queue = e->lock_queue;
    ctx->unlock_queue = e->unlock_queue;
    ctx->queue_user = e->queue_user;
    ctx->api_version = e->api_version ? e->api_version : VK_API_VERSION_1_1;
    uint32_t n = 0;
    ctx->vki.vkGetPhysicalDeviceQueueFamilyProperties(e->physical_device, &n, NULL);
    VkQueueFamilyProperties families[32];
    n = n > 32 ? 32 : n;
    ctx->vki.vkGetPhysicalDeviceQueueFamilyProperties(e->physical_device, &n, families);
    if (e->queue_family_index >= n || !(families[e->queue_family_index].queueFlags & VK_QUEUE_COMPUTE_BIT))
        return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "queue family %u of the host's device does not support compute", e->queue_family_index);
    ctx->timestamp_valid_bits = families[e->queue_family_index].timestampValidBits;
    vka_load_device_table(&ctx->vkd, e->device, ctx->vki.vkGetDeviceProcAddr);
    /* One candidate: the host's device, chosen by the host. */
    ctx->candidates = calloc(1, sizeof *ctx->candidates);
    if (!ctx->candidates)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    ctx->candidate_count = 1;
    VkPhysicalDeviceProperties props;
    ctx->vki.vkGetPhysicalDeviceProperties(e->physical_device, &props);
    snprintf(ctx->candidates[0].name, sizeof ctx->candidates[0].name, "%s", props.deviceName);
    ctx->candidates[0].chosen = true;
    snprintf(ctx->candidates[0].reason, sizeof ctx->candidates[0].reason, "chosen: the host application's device");
    return VKA_SUCCESS;
}

vka_result vka_context_embed(const vka_context_desc *desc, const vka_embed_desc *embed, vka_context **out)
{
    if (!embed || !out)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_context_embed: embed and out must not be NULL");
    *out = NULL;
    vka_result r = check_embed(embed);
    if (r != VKA_SUCCESS)
        return r;
    vka_context *ctx = NULL;
    r = vka_context_alloc(desc, &ctx);
    if (r != VKA_SUCCESS)
        return r;
    ctx->owned = false;
    ctx->desc.validation = false; /* the host owns the instance and its layers */
    r = adopt(ctx, embed);
    if (r == VKA_SUCCESS) {
        r = vka_context_finish_setup(ctx);
        /* Features are what the host enabled, not what the device offers. */
        ctx->info.storage_buffer_16bit = ctx->info.storage_buffer_16bit && embed->storage_buffer_16bit_enabled;
        ctx->info.shader_float16 = ctx->info.shader_float16 && embed->shader_float16_enabled;
        vka_write_device_summary(&ctx->info);
    }
    if (r != VKA_SUCCESS)
        return vka_context_abandon(ctx, r);
    *out = ctx;
    return VKA_SUCCESS;
}
