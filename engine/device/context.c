/* Context life cycle in own mode: instance (with the validation layer on request),
 * device choice, capability probe, device and queue. */
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

vka_error_sink *vka_context_error_sink(vka_context *ctx)
{
    return &ctx->error;
}

const char *vka_last_error(const vka_context *ctx)
{
    return ctx ? ctx->error.message : vka_thread_error();
}

/* ------------------------------------------------------------------ environment */

/* The index of $name's value among `choices` (NULL-terminated), -1 when unset; an
 * unknown value is an error naming the variable and what it takes. */
static vka_result env_choice(const char *name, const char *const *choices, int *out)
{
    const char *v = getenv(name);
    *out = -1;
    if (!v || !*v)
        return VKA_SUCCESS;
    char known[96] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = i;
            return VKA_SUCCESS;
        }
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "", choices[i]);
    }
    return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "%s=%s is not understood: use one of %s", name, v, known);
}

/* A switch: 1, true, yes or 0, false, no. */
static vka_result env_switch(const char *name, bool *on)
{
    static const char *const words[] = {"0", "false", "no", "1", "true", "yes", NULL};
    int i;
    vka_result r = env_choice(name, words, &i);
    *on = *on || i >= 3;
    return r;
}

/* The environment's settings (VKATTN_*), each refused by name when not understood. */
static vka_result read_environment(vka_context_desc *d)
{
    static const char *const classes[] = {"gpu", "cpu", NULL}, *const syncs[] = {"planned", "full", NULL};
    int kc, sync;
    vka_result r;
    if ((r = env_switch("VKATTN_VALIDATION", &d->validation)) ||
        (r = env_switch("VKATTN_FORCE_STAGING", &d->force_staging)) ||
        (r = env_switch("VKATTN_DISABLE_F16", &d->disable_f16)) ||
        (r = env_switch("VKATTN_DISABLE_SUBGROUPS", &d->disable_subgroups)) ||
        (r = env_choice("VKATTN_KERNEL_CLASS", classes, &kc)) || (r = env_choice("VKATTN_SYNC", syncs, &sync)))
        return r;
    if (d->kernel_class == VKA_KERNEL_CLASS_AUTO && kc >= 0)
        d->kernel_class = kc == 0 ? VKA_KERNEL_CLASS_GPU : VKA_KERNEL_CLASS_CPU;
    if (d->sync == VKA_SYNC_AUTO && sync >= 0)
        d->sync = sync == 0 ? VKA_SYNC_PLANNED : VKA_SYNC_FULL;
    return VKA_SUCCESS;
}

vka_result vka_resolve_desc(vka_context *ctx, const vka_context_desc *desc)
{
    vka_context_desc d = desc ? *desc : (vka_context_desc){0};
    bool env = !d.ignore_environment;
    const char *device = d.device ? d.device : (env ? getenv("VKATTN_DEVICE") : NULL);
    const char *limits = d.limits ? d.limits : (env ? getenv("VKATTN_LIMITS") : NULL);
    snprintf(ctx->device_request, sizeof ctx->device_request, "%s", device ? device : "");
    snprintf(ctx->limits_request, sizeof ctx->limits_request, "%s", limits ? limits : "");
    const char *cache = d.pipeline_cache_dir ? d.pipeline_cache_dir : (env ? getenv("VKATTN_CACHE_DIR") : NULL);
    snprintf(ctx->pipeline_cache_dir, sizeof ctx->pipeline_cache_dir, "%s", cache ? cache : "");
    d.pipeline_cache_dir = ctx->pipeline_cache_dir[0] ? ctx->pipeline_cache_dir : NULL;
    d.device = ctx->device_request[0] ? ctx->device_request : NULL;
    d.limits = ctx->limits_request[0] ? ctx->limits_request : "none";
    vka_result r = env ? read_environment(&d) : VKA_SUCCESS;
    if (r == VKA_SUCCESS && ((unsigned)d.kernel_class > VKA_KERNEL_CLASS_CPU || (unsigned)d.sync > VKA_SYNC_FULL))
        r = vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT,
                     "vka_context_create: kernel_class %d or sync %d is not one of the enum's values",
                     (int)d.kernel_class, (int)d.sync);
    if (d.sync == VKA_SYNC_AUTO)
        d.sync = VKA_SYNC_PLANNED;
    ctx->desc = d;
    return r;
}

vka_result vka_context_resolved_desc(const vka_context *ctx, vka_context_desc *out)
{
    if (!ctx || !out)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = ctx->desc;
    out->kernel_class = ctx->info.kernel_class;
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ errors */

const char *vka_vk_result_name(VkResult vr)
{
    switch (vr) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
    default: return "VkResult";
    }
}

vka_result vka_vk_fail(vka_context *ctx, VkResult vr, const char *call)
{
    vka_result r = VKA_ERROR_VULKAN;
    if (vr == VK_ERROR_OUT_OF_HOST_MEMORY)
        r = VKA_ERROR_OUT_OF_HOST_MEMORY;
    else if (vr == VK_ERROR_OUT_OF_DEVICE_MEMORY)
        r = VKA_ERROR_OUT_OF_DEVICE_MEMORY;
    else if (vr == VK_ERROR_DEVICE_LOST) {
        r = VKA_ERROR_DEVICE_LOST;
        if (ctx)
            ctx->lost = true;
    }
    return vka_fail(ctx, r, "%s failed: %s (%d)", call, vka_vk_result_name(vr), (int)vr);
}

/* ------------------------------------------------------------------ validation messages */

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                            VkDebugUtilsMessageTypeFlagsEXT types,
                                                            const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                            void *user)
{
    (void)types;
    vka_context *ctx = user;
    const char *text = data && data->pMessage ? data->pMessage : "(no message)";
    vka_mutex_lock(&ctx->message_lock);
    if (ctx->validation_messages++ == 0)
        snprintf(ctx->first_validation_message, sizeof ctx->first_validation_message, "%s", text);
    vka_mutex_unlock(&ctx->message_lock);
    if (ctx->desc.log) {
        vka_log_level level =
            (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? VKA_LOG_ERROR : VKA_LOG_WARNING;
        ctx->desc.log(ctx->desc.log_user, level, text);
    }
    return VK_FALSE;
}

uint32_t vka_context_validation_message_count(const vka_context *ctx)
{
    return ctx ? ctx->validation_messages : 0;
}

const char *vka_context_first_validation_message(const vka_context *ctx)
{
    return ctx ? ctx->first_validation_message : "";
}

static VkDebugUtilsMessengerCreateInfoEXT messenger_info(vka_context *ctx)
{
    return (VkDebugUtilsMessengerCreateInfoEXT){
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity =
            VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation_message,
        .pUserData = ctx,
    };
}

/* ------------------------------------------------------------------ instance */

static bool has_layer(PFN_vkGetInstanceProcAddr gipa, const char *name)
{
    PFN_vkEnumerateInstanceLayerProperties enumerate =
        (PFN_vkEnumerateInstanceLayerProperties)gipa(NULL, "vkEnumerateInstanceLayerProperties");
    uint32_t n = 0;
    if (!enumerate || enumerate(&n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkLayerProperties *layers = calloc(n, sizeof *layers);
    bool found = false;
    if (layers && enumerate(&n, layers) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(layers[i].layerName, name) == 0;
    free(layers);
    return found;
}

static bool has_instance_extension(PFN_vkGetInstanceProcAddr gipa, const char *layer, const char *name)
{
    PFN_vkEnumerateInstanceExtensionProperties enumerate =
        (PFN_vkEnumerateInstanceExtensionProperties)gipa(NULL, "vkEnumerateInstanceExtensionProperties");
    uint32_t n = 0;
    if (!enumerate || enumerate(layer, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *ext = calloc(n, sizeof *ext);
    bool found = false;
    if (ext && enumerate(layer, &n, ext) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(ext[i].extensionName, name) == 0;
    free(ext);
    return found;
}

static uint32_t loader_version(PFN_vkGetInstanceProcAddr gipa)
{
    PFN_vkEnumerateInstanceVersion enumerate = (PFN_vkEnumerateInstanceVersion)gipa(NULL, "vkEnumerateInstanceVersion");
    uint32_t version = VK_API_VERSION_1_0;
    if (enumerate && enumerate(&version) != VK_SUCCESS)
        version = VK_API_VERSION_1_0;
    return version;
}

static vka_result create_instance(vka_context *ctx, PFN_vkGetInstanceProcAddr gipa)
{
    uint32_t version = loader_version(gipa);
    if (version < VK_API_VERSION_1_1)
        return vka_fail(ctx, VKA_ERROR_NO_DEVICE, "the Vulkan loader supports only 1.0; vkattn needs 1.1");
    const char *layers[1];
    const char *extensions[2];
    uint32_t layer_count = 0, extension_count = 0;
    VkInstanceCreateFlags flags = 0;
    bool validation = ctx->desc.validation;
    if (validation) {
        if (!has_layer(gipa, VALIDATION_LAYER))
            return vka_fail(ctx, VKA_ERROR_UNSUPPORTED,
                            "validation was requested but " VALIDATION_LAYER
                            " is not installed (Debian package vulkan-validationlayers)");
        layers[layer_count++] = VALIDATION_LAYER;
        extensions[extension_count++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    }
    /* MoltenVK and other portability drivers are listed only when asked for. */
    if (has_instance_extension(gipa, NULL, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
        extensions[extension_count++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
        flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    }
    VkValidationFeatureEnableEXT sync_validation = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkDebugUtilsMessengerCreateInfoEXT early_messages = messenger_info(ctx);
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .pNext = &early_messages, /* also catches messages from vkCreateInstance itself */
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = &sync_validation,
    };
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pEngineName = "vkattn",
        .engineVersion = VK_MAKE_API_VERSION(0, VKATTN_VERSION_MAJOR, VKATTN_VERSION_MINOR, VKATTN_VERSION_PATCH),
        .apiVersion = version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : version,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = validation ? &features : NULL,
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = layer_count,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = extension_count,
        .ppEnabledExtensionNames = extensions,
    };
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)gipa(NULL, "vkCreateInstance");
    VkResult vr = create ? create(&info, NULL, &ctx->instance) : VK_ERROR_INITIALIZATION_FAILED;
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreateInstance");
    if (!vka_load_instance_table(&ctx->vki, ctx->instance, gipa))
        return vka_fail(ctx, VKA_ERROR_NO_DEVICE, "the Vulkan loader lacks a Vulkan 1.1 instance entry point");
    ctx->api_version = app.apiVersion;
    if (validation && !ctx->vki.vkCreateDebugUtilsMessengerEXT)
        return vka_fail(ctx, VKA_ERROR_UNSUPPORTED, "validation was requested but VK_EXT_debug_utils is unavailable");
    if (validation) {
        VkDebugUtilsMessengerCreateInfoEXT mi = messenger_info(ctx);
        vr = ctx->vki.vkCreateDebugUtilsMessengerEXT(ctx->instance, &mi, NULL, &ctx->messenger);
        if (vr != VK_SUCCESS)
            return vka_vk_fail(ctx, vr, "vkCreateDebugUtilsMessengerEXT");
    }
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ device */

static bool device_has_extension(vka_context *ctx, const char *name)
{
    uint32_t n = 0;
    if (ctx->vki.vkEnumerateDeviceExtensionProperties(ctx->physical_device, NULL, &n, NULL) != VK_SUCCESS)
        return false;
    VkExtensionProperties *ext = calloc(n ? n : 1, sizeof *ext);
    bool found = false;
    if (ext && ctx->vki.vkEnumerateDeviceExtensionProperties(ctx->physical_device, NULL, &n, ext) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(ext[i].extensionName, name) == 0;
    free(ext);
    return found;
}

static vka_result create_device(vka_context *ctx)
{
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES,
        .shaderFloat16 = ctx->info.shader_float16,
    };
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .pNext = ctx->api_version >= VK_API_VERSION_1_2 ? &f16 : NULL,
        .storageBuffer16BitAccess = ctx->info.storage_buffer_16bit,
    };
    const char *extensions[1];
    uint32_t extension_count = 0;
    /* Required by the spec wherever a driver exposes it (MoltenVK). */
    if (device_has_extension(ctx, "VK_KHR_portability_subset"))
        extensions[extension_count++] = "VK_KHR_portability_subset";
    VkDeviceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &s16,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &queue,
        .enabledExtensionCount = extension_count,
        .ppEnabledExtensionNames = extensions,
    };
    VkResult vr = ctx->vki.vkCreateDevice(ctx->physical_device, &info, NULL, &ctx->device);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreateDevice");
    vka_load_device_table(&ctx->vkd, ctx->device, ctx->vki.vkGetDeviceProcAddr);
    ctx->vkd.vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);
    return VKA_SUCCESS;
}

vka_result vka_context_create_submission_objects(vka_context *ctx)
{
    VkCommandPoolCreateInfo pool = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = ctx->queue_family,
    };
    VkResult vr = ctx->vkd.vkCreateCommandPool(ctx->device, &pool, NULL, &ctx->command_pool);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreateCommandPool");
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    vr = ctx->vkd.vkCreateFence(ctx->device, &fence, NULL, &ctx->fence);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkCreateFence");
    return VKA_SUCCESS;
}

vka_result vka_context_submit_and_wait(vka_context *ctx, VkCommandBuffer cmd)
{
    if (ctx->lost)
        return vka_fail(ctx, VKA_ERROR_DEVICE_LOST, "the device was lost earlier; destroy this context");
    VkSubmitInfo submit = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
    };
    vka_mutex_lock(&ctx->submit_lock);
    if (ctx->lock_queue)
        ctx->lock_queue(ctx->queue_user);
    VkResult vr = ctx->vkd.vkQueueSubmit(ctx->queue, 1, &submit, ctx->fence);
    if (ctx->unlock_queue)
        ctx->unlock_queue(ctx->queue_user);
    if (vr != VK_SUCCESS) {
        vka_mutex_unlock(&ctx->submit_lock);
        return vka_vk_fail(ctx, vr, "vkQueueSubmit");
    }
    /* Wait on the fence rather than polling: a spinning host thread steals a core
     * from lavapipe (research/lavapipe-performance.md). */
    vr = ctx->vkd.vkWaitForFences(ctx->device, 1, &ctx->fence, VK_TRUE, UINT64_MAX);
    VkResult reset = ctx->vkd.vkResetFences(ctx->device, 1, &ctx->fence);
    vka_mutex_unlock(&ctx->submit_lock);
    if (vr != VK_SUCCESS)
        return vka_vk_fail(ctx, vr, "vkWaitForFences");
    if (reset != VK_SUCCESS)
        return vka_vk_fail(ctx, reset, "vkResetFences");
    return VKA_SUCCESS;
}

/* ------------------------------------------------------------------ create / destroy */

vka_result vka_context_alloc(const vka_context_desc *desc, vka_context **out)
{
    vka_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return vka_fail(NULL, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory creating a context");
    vka_mutex *locks[] = {&ctx->message_lock, &ctx->attach_lock, &ctx->children_lock, &ctx->submit_lock};
    for (int i = 0; i < 4; i++)
        if (!vka_mutex_init(locks[i], i == 3)) {
            while (i-- > 0)
                vka_mutex_destroy(locks[i]);
            free(ctx);
            return vka_fail(NULL, VKA_ERROR_OUT_OF_HOST_MEMORY, "could not create a mutex");
        }
    ctx->error.lock = &ctx->message_lock;
    ctx->children.prev = ctx->children.next = &ctx->children;
    vka_result r = vka_resolve_desc(ctx, desc);
    if (r != VKA_SUCCESS) { /* the message is this thread's: no context to hold it */
        vka_context_destroy(ctx);
        return r;
    }
    *out = ctx;
    return VKA_SUCCESS;
}

/* Copies a failure's message to the thread's sink (the context is about to go away). */
vka_result vka_context_abandon(vka_context *ctx, vka_result r)
{
    vka_fail(NULL, r, "%s", ctx->error.message);
    vka_context_destroy(ctx);
    return r;
}

vka_result vka_context_finish_setup(vka_context *ctx)
{
    vka_result r = vka_probe_device(ctx);
    if (r == VKA_SUCCESS && ctx->owned)
        r = create_device(ctx);
    if (r == VKA_SUCCESS)
        r = vka_context_create_submission_objects(ctx);
    if (r == VKA_SUCCESS && !(ctx->host_constants = vka_host_cache_create()))
        r = vka_fail(ctx, VKA_ERROR_OUT_OF_HOST_MEMORY, "out of host memory creating the constant cache");
    return r;
}

vka_result vka_context_create(const vka_context_desc *desc, vka_context **out)
{
    if (!out)
        return vka_fail(NULL, VKA_ERROR_INVALID_ARGUMENT, "vka_context_create: out is NULL");
    *out = NULL;
    vka_context *ctx = NULL;
    vka_result r = vka_context_alloc(desc, &ctx);
    if (r != VKA_SUCCESS)
        return r;
    ctx->owned = true;
    PFN_vkGetInstanceProcAddr gipa = vka_loader_get_instance_proc_addr();
    if (!gipa)
        return vka_context_abandon(ctx, vka_fail(ctx, VKA_ERROR_NO_DEVICE,
                                                 "no Vulkan loader found (libvulkan.so.1; Debian package libvulkan1)"));
    r = create_instance(ctx, gipa);
    if (r == VKA_SUCCESS)
        r = vka_choose_physical_device(ctx);
    if (r == VKA_SUCCESS) {
        VkPhysicalDeviceProperties props;
        ctx->vki.vkGetPhysicalDeviceProperties(ctx->physical_device, &props);
        if (props.apiVersion < ctx->api_version)
            ctx->api_version = props.apiVersion;
        ctx->queue_family = vka_find_compute_queue_family(&ctx->vki, ctx->physical_device, &ctx->timestamp_valid_bits);
        r = vka_context_finish_setup(ctx);
    }
    if (r != VKA_SUCCESS)
        return vka_context_abandon(ctx, r);
    *out = ctx;
    return VKA_SUCCESS;
}

vka_host_cache *vka_context_host_cache(vka_context *ctx)
{
    return ctx ? ctx->host_constants : NULL;
}

void vka_context_adopt(vka_context *ctx, vka_context_child *child, void (*orphan)(vka_context_child *child))
{
    vka_mutex_lock(&ctx->children_lock);
    child->orphan = orphan;
    child->next = ctx->children.next;
    child->prev = &ctx->children;
    ctx->children.next->prev = child;
    ctx->children.next = child;
    vka_mutex_unlock(&ctx->children_lock);
}

void vka_context_disown(vka_context *ctx, vka_context_child *child)
{
    vka_mutex_lock(&ctx->children_lock);
    if (child->next) {
        child->prev->next = child->next;
        child->next->prev = child->prev;
        child->prev = child->next = NULL;
    }
    vka_mutex_unlock(&ctx->children_lock);
}

/* The graphs and plans still alive release what they hold on the device and stay as
 * husks that answer errors until destroyed. */
static void orphan_children(vka_context *ctx)
{
    vka_mutex_lock(&ctx->children_lock);
    while (ctx->children.next != &ctx->children) {
        vka_context_child *child = ctx->children.next;
        ctx->children.next = child->next;
        child->next->prev = &ctx->children;
        child->prev = child->next = NULL;
        child->orphan(child);
    }
    vka_mutex_unlock(&ctx->children_lock);
}

void vka_context_destroy(vka_context *ctx)
{
    if (!ctx)
        return;
    orphan_children(ctx);
    vka_host_cache_destroy(ctx->host_constants);
    if (ctx->device) {
        /* Every submission of ours waited on its fence, so nothing of ours is in flight. */
        if (ctx->release_pipelines)
            ctx->release_pipelines(ctx, ctx->pipelines);
        if (ctx->fence)
            ctx->vkd.vkDestroyFence(ctx->device, ctx->fence, NULL);
        if (ctx->command_pool)
            ctx->vkd.vkDestroyCommandPool(ctx->device, ctx->command_pool, NULL);
        if (ctx->owned)
            ctx->vkd.vkDestroyDevice(ctx->device, NULL);
    }
    if (ctx->owned && ctx->instance) {
        if (ctx->messenger && ctx->vki.vkDestroyDebugUtilsMessengerEXT)
            ctx->vki.vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
        ctx->vki.vkDestroyInstance(ctx->instance, NULL);
    }
    free(ctx->candidates);
    vka_mutex_destroy(&ctx->message_lock);
    vka_mutex_destroy(&ctx->attach_lock);
    vka_mutex_destroy(&ctx->children_lock);
    vka_mutex_destroy(&ctx->submit_lock);
    free(ctx);
}

vka_result vka_context_device_info(const vka_context *ctx, vka_device_info *out)
{
    if (!ctx || !out)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = ctx->info;
    return VKA_SUCCESS;
}

uint32_t vka_context_candidate_count(const vka_context *ctx)
{
    return ctx ? ctx->candidate_count : 0;
}

vka_result vka_context_candidate_at(const vka_context *ctx, uint32_t index, vka_device_candidate *out)
{
    if (!ctx || !out || index >= ctx->candidate_count)
        return VKA_ERROR_INVALID_ARGUMENT;
    *out = ctx->candidates[index];
    return VKA_SUCCESS;
}
