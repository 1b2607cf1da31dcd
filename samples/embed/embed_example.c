/* An application that owns its Vulkan device and lends it to vkattn.
 *
 * The host creates the instance (with the validation layer when it is installed),
 * picks a device, asks vkattn which features it would like, creates the device and a
 * compute queue, and hands them over with vka_context_embed. It then records a plan's
 * work into its own command buffer, submits it itself, and checks the result against
 * vkattn's double-precision reference; then records, behind vkattn's work in the same
 * command buffer, its own copy of the output (vka_plan_tensor_location) into a buffer of
 * its own and reads that — no vkattn transfer for the output. Exit status 0 only if
 * everything matched and the validation layer stayed silent. */
#include <vulkan/vulkan.h>

#include "vkattn/embed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct host {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;
    uint32_t family;
    VkCommandPool pool;
    int validation_messages;
    unsigned queue_locks;
} host;

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)severity;
    (void)types;
    ((host *)user)->validation_messages++;
    fprintf(stderr, "validation: %s\n", data->pMessage);
    return VK_FALSE;
}

static bool has_validation_layer(void)
{
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, NULL);
    VkLayerProperties layers[64];
    n = n > 64 ? 64 : n;
    vkEnumerateInstanceLayerProperties(&n, layers);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(layers[i].layerName, "VK_LAYER_KHRONOS_validation") == 0)
            return true;
    return false;
}

static bool create_instance(host *h)
{
    bool validation = has_validation_layer();
    const char *layer = "VK_LAYER_KHRONOS_validation", *ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT messenger = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity =
            VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = h,
    };
    VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .pNext = &messenger,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = &sync};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_1};
    VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                 .pNext = validation ? &features : NULL,
                                 .pApplicationInfo = &app,
                                 .enabledLayerCount = validation,
                                 .ppEnabledLayerNames = &layer,
                                 .enabledExtensionCount = validation,
                                 .ppEnabledExtensionNames = &ext};
    if (vkCreateInstance(&info, NULL, &h->instance) != VK_SUCCESS)
        return false;
    printf("host: instance created%s\n", validation ? " with the validation layer" : "");
    if (validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(h->instance, "vkCreateDebugUtilsMessengerEXT");
        if (!create || create(h->instance, &messenger, NULL, &h->messenger) != VK_SUCCESS)
            return false;
    }
    return true;
}

static bool pick_device(host *h)
{
    uint32_t n = 1;
    VkPhysicalDevice devices[1];
    if (vkEnumeratePhysicalDevices(h->instance, &n, devices) < 0 || n == 0)
        return false;
    h->physical_device = devices[0];
    vka_device_requirements req;
    if (vka_query_device_requirements(h->instance, h->physical_device, vkGetInstanceProcAddr, &req) != VKA_SUCCESS ||
        !req.supported) {
        fprintf(stderr, "host: vkattn cannot use this device: %s\n", req.reason);
        return false;
    }
    printf("host: vkattn needs Vulkan %u.%u, a queue with flags 0x%x, %u required extension(s)\n",
           VK_API_VERSION_MAJOR(req.min_api_version), VK_API_VERSION_MINOR(req.min_api_version), req.queue_flags,
           req.required_extension_count);
    uint32_t families = 8;
    VkQueueFamilyProperties props[8];
    vkGetPhysicalDeviceQueueFamilyProperties(h->physical_device, &families, props);
    for (h->family = 0; h->family < families; h->family++)
        if (props[h->family].queueFlags & req.queue_flags)
            break;
    return h->family < families;
}

static bool create_device(host *h)
{
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = h->family,
                                     .queueCount = 1,
                                     .pQueuePriorities = &priority};
    VkDeviceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &queue};
    if (vkCreateDevice(h->physical_device, &info, NULL, &h->device) != VK_SUCCESS)
        return false;
    vkGetDeviceQueue(h->device, h->family, 0, &h->queue);
    VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = h->family};
    return vkCreateCommandPool(h->device, &pool, NULL, &h->pool) == VK_SUCCESS;
}

static void lock_queue(void *user)
{
    ((host *)user)->queue_locks++;
}

static void unlock_queue(void *user)
{
    (void)user;
}

/* A host-visible, coherent buffer of the host's own (the copy's destination). */
typedef struct host_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped;
} host_buffer;

static bool host_buffer_create(host *h, VkDeviceSize size, host_buffer *b)
{
    VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                               .size = size,
                               .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    if (vkCreateBuffer(h->device, &info, NULL, &b->buffer) != VK_SUCCESS)
        return false;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(h->device, b->buffer, &req);
    VkPhysicalDeviceMemoryProperties props;
    vkGetPhysicalDeviceMemoryProperties(h->physical_device, &props);
    const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < props.memoryTypeCount && type == UINT32_MAX; i++)
        if ((req.memoryTypeBits & (1u << i)) && (props.memoryTypes[i].propertyFlags & want) == want)
            type = i;
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type};
    return type != UINT32_MAX && vkAllocateMemory(h->device, &alloc, NULL, &b->memory) == VK_SUCCESS &&
           vkBindBufferMemory(h->device, b->buffer, b->memory, 0) == VK_SUCCESS &&
           vkMapMemory(h->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped) == VK_SUCCESS;
}

static void host_buffer_destroy(host *h, host_buffer *b)
{
    if (b->memory)
        vkFreeMemory(h->device, b->memory, NULL);
    if (b->buffer)
        vkDestroyBuffer(h->device, b->buffer, NULL);
}

/* The host records vkattn's work into its own command buffer and submits it itself; with
 * `copy`, its own copy of the output `o` into `dst` follows in the same command buffer
 * (vka_plan_record's exit barrier makes the output available to transfers; a barrier of
 * the host's makes the copy visible to its reads). */
static bool submit_recorded_with(host *h, vka_plan *plan, const vka_tensor_location *copy, host_buffer *dst)
{
    VkCommandBufferAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                         .commandPool = h->pool,
                                         .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                         .commandBufferCount = 1};
    VkCommandBuffer cmd;
    if (vkAllocateCommandBuffers(h->device, &alloc, &cmd) != VK_SUCCESS)
        return false;
    VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    vkBeginCommandBuffer(cmd, &begin);
    bool ok = vka_plan_record(plan, cmd) == VKA_SUCCESS;
    if (ok && copy) {
        VkBufferCopy region = {.srcOffset = copy->offset, .dstOffset = 0, .size = copy->size};
        vkCmdCopyBuffer(cmd, copy->buffer, dst->buffer, 1, &region);
        VkMemoryBarrier to_host = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                   .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                   .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL,
                             0, NULL);
    }
    vkEndCommandBuffer(cmd);
    VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    ok = ok && vkQueueSubmit(h->queue, 1, &submit, VK_NULL_HANDLE) == VK_SUCCESS &&
         vkQueueWaitIdle(h->queue) == VK_SUCCESS;
    vkFreeCommandBuffers(h->device, h->pool, 1, &cmd);
    return ok && vka_plan_collect_timings(plan) == VKA_SUCCESS;
}

static bool submit_recorded(host *h, vka_plan *plan)
{
    return submit_recorded_with(h, plan, NULL, NULL);
}

enum { B = 1, H = 4, N = 200, D = 32, COUNT = B * H * N * D };

static float q[COUNT], k[COUNT], v[COUNT], out[COUNT], ref[COUNT];

/* 3: the output copied by the host from where the plan keeps it (its rows padded to 4). */
static bool read_in_place(host *h, vka_plan *plan)
{
    vka_tensor_location at;
    host_buffer dst = {0};
    bool ok = vka_plan_tensor_location(plan, "nothing", &at) == VKA_ERROR_NOT_FOUND; /* a name the plan lacks */
    ok = ok && vka_plan_tensor_location(plan, "o", &at) == VKA_SUCCESS && at.dtype == VKA_DTYPE_F32 && at.rank == 4 &&
         at.dims[3] == D && host_buffer_create(h, at.size, &dst) && submit_recorded_with(h, plan, &at, &dst);
    for (uint32_t s = 0; ok && s < at.slices; s++)
        for (uint32_t r = 0; r < at.rows; r++)
            memcpy(out + ((size_t)s * at.rows + r) * D,
                   (const float *)dst.mapped + s * at.slice_elements + (uint64_t)r * at.row_elements,
                   D * sizeof(float));
    host_buffer_destroy(h, &dst);
    return ok;
}

static double max_error(void)
{
    double worst = 0;
    for (int i = 0; i < COUNT; i++)
        worst = fmax(worst, isfinite(out[i]) ? fabs(out[i] - ref[i]) : INFINITY);
    return worst;
}

static bool run_attention(host *h, vka_context *ctx)
{
    for (int i = 0; i < COUNT; i++) {
        q[i] = sinf(0.37f * i);
        k[i] = cosf(0.11f * i);
        v[i] = sinf(0.05f * i + 1.0f);
    }
    vka_graph *g;
    vka_tensor tq, tk, tv, to;
    vka_tensor_desc desc = {.rank = 4, .dims = {B, H, N, D}};
    bool ok = vka_graph_create(ctx, &g) == VKA_SUCCESS;
    desc.name = "q";
    ok = ok && vka_graph_input(g, &desc, &tq) == VKA_SUCCESS;
    desc.name = "k";
    ok = ok && vka_graph_input(g, &desc, &tk) == VKA_SUCCESS;
    desc.name = "v";
    ok = ok && vka_graph_input(g, &desc, &tv) == VKA_SUCCESS;
    ok = ok &&
         vka_graph_op(
             g,
             &(vka_op_desc){.op = "softmax", .inputs = {{"q", tq}, {"k", tk}, {"v", tv}}, .params = {{"causal", "1"}}},
             &to) == VKA_SUCCESS;
    ok = ok && vka_graph_output(g, "o", to) == VKA_SUCCESS;
    vka_plan *plan = NULL;
    ok = ok && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
    ok = ok && vka_plan_write(plan, "q", q, sizeof q) == VKA_SUCCESS &&
         vka_plan_write(plan, "k", k, sizeof k) == VKA_SUCCESS && vka_plan_write(plan, "v", v, sizeof v) == VKA_SUCCESS;
    vka_host_tensor in[] = {{"q", q, sizeof q}, {"k", k, sizeof k}, {"v", v, sizeof v}};
    vka_host_tensor outs[] = {{"o", ref, sizeof ref}};
    ok = ok && vka_graph_reference(g, in, 3, outs, 1) == VKA_SUCCESS;
    /* 1: recorded into the host's command buffer, submitted by the host. */
    ok = ok && submit_recorded(h, plan) && vka_plan_read(plan, "o", out, sizeof out) == VKA_SUCCESS;
    double recorded_error = ok ? max_error() : INFINITY;
    /* 2: submitted by vkattn on the host's queue, under the host's queue lock. */
    memset(out, 0, sizeof out);
    ok = ok && vka_plan_run(plan) == VKA_SUCCESS && vka_plan_read(plan, "o", out, sizeof out) == VKA_SUCCESS;
    double run_error = ok ? max_error() : INFINITY;
    memset(out, 0, sizeof out);
    ok = ok && read_in_place(h, plan);
    double in_place_error = ok ? max_error() : INFINITY;
    vka_plan_stats stats = {0};
    vka_plan_stats_get(plan, &stats);
    if (!ok)
        fprintf(stderr, "vkattn: %s\n", vka_last_error(ctx));
    printf("vkattn: recorded by the host: max error %.3g; run by vkattn: max error %.3g (%.3f ms GPU, %u queue "
           "lock(s)); output copied by the host from the plan's buffer: max error %.3g\n",
           recorded_error, run_error, stats.last_run_gpu_ms, h->queue_locks, in_place_error);
    vka_plan_destroy(plan);
    vka_graph_destroy(g);
    return ok && recorded_error < 1e-4 && run_error < 1e-4 && in_place_error < 1e-4 && h->queue_locks > 0;
}

int main(void)
{
    host h = {0};
    if (!create_instance(&h) || !pick_device(&h) || !create_device(&h)) {
        fprintf(stderr, "host: Vulkan set-up failed\n");
        return 1;
    }
    vka_embed_desc embed = {
        .instance = h.instance,
        .physical_device = h.physical_device,
        .device = h.device,
        .queue = h.queue,
        .queue_family_index = h.family,
        .get_instance_proc_addr = vkGetInstanceProcAddr,
        .api_version = VK_API_VERSION_1_1,
        .lock_queue = lock_queue,
        .unlock_queue = unlock_queue,
        .queue_user = &h,
    };
    vka_context *ctx;
    bool ok = vka_context_embed(NULL, &embed, &ctx) == VKA_SUCCESS;
    if (!ok)
        fprintf(stderr, "vkattn: %s\n", vka_last_error(NULL));
    if (ok) {
        vka_device_info info;
        vka_context_device_info(ctx, &info);
        printf("vkattn: embedded on %s\n", info.summary);
        ok = run_attention(&h, ctx);
        vka_context_destroy(ctx);
    }
    vkDestroyCommandPool(h.device, h.pool, NULL);
    vkDestroyDevice(h.device, NULL);
    if (h.messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(h.instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy(h.instance, h.messenger, NULL);
    }
    vkDestroyInstance(h.instance, NULL);
    printf("%s (%d validation message(s))\n", ok && !h.validation_messages ? "embedding: ok" : "embedding: FAILED",
           h.validation_messages);
    return ok && !h.validation_messages ? 0 : 1;
}
