/* Device choice: discrete > integrated > virtual > CPU > other, unless the caller names
 * one (by index or name substring). Every candidate gets a one-line reason, so that
 * `vkattn info` can say why each device was chosen or passed over (vk-bootstrap style). */
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static vka_device_type device_type_of(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VKA_DEVICE_DISCRETE_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VKA_DEVICE_INTEGRATED_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VKA_DEVICE_VIRTUAL_GPU;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VKA_DEVICE_CPU;
    default: return VKA_DEVICE_OTHER;
    }
}

static const char *device_type_name(vka_device_type t)
{
    switch (t) {
    case VKA_DEVICE_DISCRETE_GPU: return "discrete GPU";
    case VKA_DEVICE_INTEGRATED_GPU: return "integrated GPU";
    case VKA_DEVICE_VIRTUAL_GPU: return "virtual GPU";
    case VKA_DEVICE_CPU: return "CPU device";
    default: return "other device";
    }
}

/* Higher is preferred; 0 means unusable. */
static int type_rank(vka_device_type t)
{
    switch (t) {
    case VKA_DEVICE_DISCRETE_GPU: return 5;
    case VKA_DEVICE_INTEGRATED_GPU: return 4;
    case VKA_DEVICE_VIRTUAL_GPU: return 3;
    case VKA_DEVICE_CPU: return 2;
    default: return 1;
    }
}

/* Why pd cannot be used at all, or NULL if it can. */
static const char *unusable_reason(vka_context *ctx, VkPhysicalDevice pd, const VkPhysicalDeviceProperties *props)
{
    if (props->apiVersion < VK_API_VERSION_1_1)
        return "supports only Vulkan 1.0; vkattn needs 1.1";
    uint32_t bits;
    if (vka_find_compute_queue_family(&ctx->vki, pd, &bits) == UINT32_MAX)
        return "has no compute queue";
    return NULL;
}

static bool parse_index(const char *s, uint32_t *index)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0')
        return false;
    *index = (uint32_t)v;
    return true;
}

static bool matches_request(const char *request, uint32_t index, const char *name)
{
    uint32_t wanted;
    if (parse_index(request, &wanted))
        return wanted == index;
    return vka_contains_nocase(name, request);
}

static vka_result enumerate(vka_context *ctx, VkPhysicalDevice **devices, uint32_t *count)
{
    VkResult vr = ctx->vki.vkEnumeratePhysicalDevices(ctx->instance, count, NULL);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkEnumeratePhysicalDevices");
    if (*count == 0)
        return vka_fail(ctx, VKA_ERROR_NO_DEVICE,
                        "no Vulkan physical device found (is a driver such as Mesa's lavapipe, "
                        "package mesa-vulkan-drivers, installed?)");
    *devices = calloc(*count, sizeof **devices);
    ctx->candidates = calloc(*count, sizeof *ctx->candidates);
    if (!*devices || !ctx->candidates)
        return vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory listing devices");
    vr = ctx->vki.vkEnumeratePhysicalDevices(ctx->instance, count, *devices);
    if (vr != VK_SUCCESS && vr != VK_INCOMPLETE)
        return vka_vk_fail(ctx, vr, "vkEnumeratePhysicalDevices");
    ctx->candidate_count = *count;
    return VKA_SUCCESS;
}

static void describe_choice(vka_context *ctx, uint32_t chosen, const char *request)
{
    for (uint32_t i = 0; i < ctx->candidate_count; i++) {
        vka_device_candidate *c = &ctx->candidates[i];
        if (c->reason[0])
            continue; /* unusable: already explained */
        if (i == chosen) {
            c->chosen = true;
            if (request)
                snprintf(c->reason, sizeof c->reason, "chosen: matches VKATTN_DEVICE/desc.device \"%s\"", request);
            else
                snprintf(c->reason, sizeof c->reason, "chosen: %s, the most preferred type present",
                         device_type_name(c->type));
        } else if (request) {
            snprintf(c->reason, sizeof c->reason, "passed over: does not match \"%s\"", request);
        } else {
            const vka_device_candidate *w = &ctx->candidates[chosen];
            if (type_rank(w->type) > type_rank(c->type))
                snprintf(c->reason, sizeof c->reason, "passed over: a %s is preferred to a %s",
                         device_type_name(w->type), device_type_name(c->type));
            else
                snprintf(c->reason, sizeof c->reason, "passed over: same type as device %u, which comes first",
                         w->index);
        }
    }
}

vka_result vka_choose_physical_device(vka_context *ctx)
{
    VkPhysicalDevice *devices = NULL;
    uint32_t count = 0;
    vka_result r = enumerate(ctx, &devices, &count);
    if (r != VKA_SUCCESS) {
        free(devices);
        return r;
    }
    const char *request = ctx->device_request[0] ? ctx->device_request : NULL;
    uint32_t chosen = UINT32_MAX;
    int best_rank = 0;
    for (uint32_t i = 0; i < count; i++) {
        VkPhysicalDeviceProperties props;
        ctx->vki.vkGetPhysicalDeviceProperties(devices[i], &props);
        vka_device_candidate *c = &ctx->candidates[i];
        c->index = i;
        snprintf(c->name, sizeof c->name, "%s", props.deviceName);
        c->type = device_type_of(props.deviceType);
        const char *why_not = unusable_reason(ctx, devices[i], &props);
        if (why_not) {
            snprintf(c->reason, sizeof c->reason, "unusable: %s", why_not);
            continue;
        }
        if (request && !matches_request(request, i, c->name))
            continue;
        if (type_rank(c->type) > best_rank) {
            best_rank = type_rank(c->type);
            chosen = i;
        }
    }
    if (chosen == UINT32_MAX) {
        free(devices);
        if (request)
            return vka_fail(ctx, VKA_ERROR_NOT_FOUND,
                            "no usable device matches VKATTN_DEVICE/desc.device \"%s\" (%u device%s "
                            "present; `vkattn info` lists them)",
                            request, count, count == 1 ? "" : "s");
        return vka_fail(ctx, VKA_ERROR_NO_DEVICE, "none of the %u Vulkan device%s is usable: %s", count,
                        count == 1 ? "" : "s", ctx->candidates[0].reason);
    }
    ctx->physical_device = devices[chosen];
    describe_choice(ctx, chosen, request);
    free(devices);
    return VKA_SUCCESS;
}

uint32_t vka_find_compute_queue_family(const vka_instance_table *vki, VkPhysicalDevice pd,
                                       uint32_t *timestamp_valid_bits)
{
    uint32_t n = 0;
    vki->vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties families[32];
    if (n > VKA_ARRAY_LEN(families))
        n = VKA_ARRAY_LEN(families);
    vki->vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, families);
    uint32_t best = UINT32_MAX;
    *timestamp_valid_bits = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || families[i].queueCount == 0)
            continue;
        /* Prefer a family with timestamps; among those, the first. */
        if (best == UINT32_MAX || (*timestamp_valid_bits == 0 && families[i].timestampValidBits > 0)) {
            best = i;
            *timestamp_valid_bits = families[i].timestampValidBits;
        }
    }
    return best;
}
