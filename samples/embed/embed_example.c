/* An application that owns its Vulkan device and lends it to vkattn.
 *
 * The host creates the instance (with the validation layer when it is installed),
 * picks a device, asks vkattn which features it would like, creates the device and a
 * compute queue, and hands them over with vka_context_embed. It then records a plan's
 * work into its own command buffer, submits it itself, and checks the result against
 * vkattn's double-precision reference; then records, behind vkattn's work in the same
 * command buffer, its own copy of the output (vka_plan_tensor_location) into a buffer of
 * its own and reads that — no vkattn transfer for the output. Last, the real case: the
 * host's own compute pass writes q, k and v into a buffer of its own, vkattn's work reads
 * them there and writes the output into another of the host's buffers (vka_plan_bind_buffer),
 * and the host's next pass consumes it — one command buffer, one submission, no tensor
 * through host memory (the plan's host_transfers stay 0); then the output buffer is swapped
 * (double buffering) and wrong bindings are refused. Exit status 0 only if everything
 * matched and the validation layer stayed silent. */
#include <vulkan/vulkan.h>

#include "vkattn/embed.h"

#include "embed_fill.h" /* the host's own shaders (fill.comp, row_sums.comp), compiled at build */
#include "embed_row_sums.h"

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
    vka_device_requirements req;
    bool storage_16bit, float16; /* the optional features the host enabled */
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
    vka_device_requirements *r = &h->req;
    if (vka_query_device_requirements(h->instance, h->physical_device, vkGetInstanceProcAddr, r) != VKA_SUCCESS ||
        !r->supported) {
        fprintf(stderr, "host: vkattn cannot use this device: %s\n", r->reason);
        return false;
    }
    printf("host: vkattn needs Vulkan %u.%u, a queue with flags 0x%x, %u required extension(s)\n",
           VK_API_VERSION_MAJOR(r->min_api_version), VK_API_VERSION_MINOR(r->min_api_version), r->queue_flags,
           r->required_extension_count);
    uint32_t families = 8;
    VkQueueFamilyProperties props[8];
    vkGetPhysicalDeviceQueueFamilyProperties(h->physical_device, &families, props);
    for (h->family = 0; h->family < families; h->family++)
        if (props[h->family].queueFlags & r->queue_flags)
            break;
    return h->family < families;
}

static bool device_has_extension(host *h, const char *name)
{
    uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(h->physical_device, NULL, &n, NULL);
    VkExtensionProperties *all = calloc(n ? n : 1, sizeof *all);
    bool found = false;
    if (all && vkEnumerateDeviceExtensionProperties(h->physical_device, NULL, &n, all) >= 0)
        for (uint32_t i = 0; i < n && !found; i++)
            found = strcmp(all[i].extensionName, name) == 0;
    free(all);
    return found;
}

/* The device with what vkattn asked for: its required extensions, the optional ones this
 * device offers, and the features it wants where the device has them (told to vkattn in
 * vka_embed_desc). */
static bool create_device(host *h)
{
    const char *extensions[32];
    uint32_t count = 0;
    for (uint32_t i = 0; i < h->req.required_extension_count && count < 32; i++)
        extensions[count++] = h->req.required_extensions[i];
    bool float16_int8 = false;
    for (uint32_t i = 0; i < h->req.optional_extension_count && count < 32; i++)
        if (device_has_extension(h, h->req.optional_extensions[i])) {
            extensions[count++] = h->req.optional_extensions[i];
            float16_int8 |= strcmp(h->req.optional_extensions[i], "VK_KHR_shader_float16_int8") == 0;
        }
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                .pNext = float16_int8 ? &f16 : NULL};
    VkPhysicalDeviceFeatures2 offered = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s16};
    vkGetPhysicalDeviceFeatures2(h->physical_device, &offered);
    h->storage_16bit = h->req.want_storage_buffer_16bit && s16.storageBuffer16BitAccess;
    h->float16 = h->req.want_shader_float16 && float16_int8 && f16.shaderFloat16;
    /* enable exactly those two (a feature struct enables every field left true) */
    VkPhysicalDeviceShaderFloat16Int8Features want_f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES, .shaderFloat16 = h->float16};
    VkPhysicalDevice16BitStorageFeatures want_s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
                                                     .pNext = float16_int8 ? &want_f16 : NULL,
                                                     .storageBuffer16BitAccess = h->storage_16bit};
    VkPhysicalDeviceFeatures2 enabled = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &want_s16};
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = h->family,
                                     .queueCount = 1,
                                     .pQueuePriorities = &priority};
    VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                               .pNext = &enabled,
                               .queueCreateInfoCount = 1,
                               .pQueueCreateInfos = &queue,
                               .enabledExtensionCount = count,
                               .ppEnabledExtensionNames = extensions};
    if (vkCreateDevice(h->physical_device, &info, NULL, &h->device) != VK_SUCCESS)
        return false;
    printf("host: device created with %u extension(s); 16-bit storage %s, f16 arithmetic %s\n", count,
           h->storage_16bit ? "on" : "off", h->float16 ? "on" : "off");
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

/* A buffer of the host's own: host-visible and coherent (mapped) to read back, or
 * device-local for data that never leaves the device. */
typedef struct host_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped;
} host_buffer;

static bool buffer_create(host *h, VkDeviceSize size, VkBufferUsageFlags usage, bool mapped, host_buffer *b)
{
    VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                               .size = size,
                               .usage = usage,
                               .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    if (vkCreateBuffer(h->device, &info, NULL, &b->buffer) != VK_SUCCESS)
        return false;
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(h->device, b->buffer, &req);
    VkPhysicalDeviceMemoryProperties props;
    vkGetPhysicalDeviceMemoryProperties(h->physical_device, &props);
    const VkMemoryPropertyFlags want = mapped
                                           ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                           : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < props.memoryTypeCount && type == UINT32_MAX; i++)
        if ((req.memoryTypeBits & (1u << i)) && (props.memoryTypes[i].propertyFlags & want) == want)
            type = i;
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = type};
    return type != UINT32_MAX && vkAllocateMemory(h->device, &alloc, NULL, &b->memory) == VK_SUCCESS &&
           vkBindBufferMemory(h->device, b->buffer, b->memory, 0) == VK_SUCCESS &&
           (!mapped || vkMapMemory(h->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped) == VK_SUCCESS);
}

static bool host_buffer_create(host *h, VkDeviceSize size, host_buffer *b)
{
    return buffer_create(h, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, true, b);
}

static void host_buffer_destroy(host *h, host_buffer *b)
{
    if (b->memory)
        vkFreeMemory(h->device, b->memory, NULL);
    if (b->buffer)
        vkDestroyBuffer(h->device, b->buffer, NULL);
}

/* The host's own commands around vkattn's in one command buffer: `before` it, or after. */
typedef void (*host_commands)(host *h, VkCommandBuffer cmd, void *user, bool before);

/* The host records vkattn's work into its own command buffer, between its own commands,
 * submits it itself and waits. */
static bool submit_around(host *h, vka_plan *plan, host_commands commands, void *user)
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
    if (commands)
        commands(h, cmd, user, true);
    bool ok = vka_plan_record(plan, cmd) == VKA_SUCCESS;
    if (ok && commands)
        commands(h, cmd, user, false);
    vkEndCommandBuffer(cmd);
    VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    ok = ok && vkQueueSubmit(h->queue, 1, &submit, VK_NULL_HANDLE) == VK_SUCCESS &&
         vkQueueWaitIdle(h->queue) == VK_SUCCESS;
    vkFreeCommandBuffers(h->device, h->pool, 1, &cmd);
    return ok && vka_plan_collect_timings(plan) == VKA_SUCCESS;
}

/* The host's reads wait for its own last writes (`stage`, `access`). */
static void barrier_to_host(VkCommandBuffer cmd, VkPipelineStageFlags stage, VkAccessFlags access)
{
    VkMemoryBarrier to_host = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = access, .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(cmd, stage, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &to_host, 0, NULL, 0, NULL);
}

typedef struct output_copy {
    const vka_tensor_location *from;
    host_buffer *to;
} output_copy;

/* After vkattn's work, the host copies the output `o` where the plan keeps it into its own
 * buffer (vka_plan_record's exit barrier makes the output available to transfers). */
static void copy_output(host *h, VkCommandBuffer cmd, void *user, bool before)
{
    (void)h;
    const output_copy *c = user;
    if (before)
        return;
    VkBufferCopy region = {.srcOffset = c->from->offset, .dstOffset = 0, .size = c->from->size};
    vkCmdCopyBuffer(cmd, c->from->buffer, c->to->buffer, 1, &region);
    barrier_to_host(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
}

static bool submit_recorded(host *h, vka_plan *plan)
{
    return submit_around(h, plan, NULL, NULL);
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
         at.dims[3] == D && host_buffer_create(h, at.size, &dst) &&
         submit_around(h, plan, copy_output, &(output_copy){&at, &dst});
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

/* ------------------------------------------------------------------ 4: the host's own buffers */

/* One of the host's compute passes: a pipeline over `bindings` storage buffers. */
typedef struct host_pass {
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    VkDescriptorPool pool;
    VkDescriptorSet set;
} host_pass;

static bool pass_create(host *h, const uint32_t *spirv, size_t bytes, uint32_t bindings, uint32_t push_bytes,
                        host_pass *p)
{
    VkDescriptorSetLayoutBinding slots[2];
    for (uint32_t i = 0; i < bindings; i++)
        slots[i] =
            (VkDescriptorSetLayoutBinding){i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL};
    VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkShaderModuleCreateInfo module = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = bytes, .pCode = spirv};
    VkDescriptorSetLayoutCreateInfo set = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = bindings, .pBindings = slots};
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, bindings};
    VkDescriptorPoolCreateInfo pool = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1, .poolSizeCount = 1, .pPoolSizes = &size};
    if (vkCreateShaderModule(h->device, &module, NULL, &p->module) != VK_SUCCESS ||
        vkCreateDescriptorSetLayout(h->device, &set, NULL, &p->set_layout) != VK_SUCCESS ||
        vkCreateDescriptorPool(h->device, &pool, NULL, &p->pool) != VK_SUCCESS)
        return false;
    VkPipelineLayoutCreateInfo layout = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                         .setLayoutCount = 1,
                                         .pSetLayouts = &p->set_layout,
                                         .pushConstantRangeCount = 1,
                                         .pPushConstantRanges = &push};
    VkDescriptorSetAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                         .descriptorPool = p->pool,
                                         .descriptorSetCount = 1,
                                         .pSetLayouts = &p->set_layout};
    if (vkCreatePipelineLayout(h->device, &layout, NULL, &p->layout) != VK_SUCCESS ||
        vkAllocateDescriptorSets(h->device, &alloc, &p->set) != VK_SUCCESS)
        return false;
    VkComputePipelineCreateInfo pipeline = {.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
                                            .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                                                      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                                                      .module = p->module,
                                                      .pName = "main"},
                                            .layout = p->layout};
    return vkCreateComputePipelines(h->device, VK_NULL_HANDLE, 1, &pipeline, NULL, &p->pipeline) == VK_SUCCESS;
}

static void pass_bind(host *h, host_pass *p, uint32_t binding, VkBuffer buffer, VkDeviceSize offset, VkDeviceSize size)
{
    VkDescriptorBufferInfo info = {buffer, offset, size};
    VkWriteDescriptorSet write = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                  .dstSet = p->set,
                                  .dstBinding = binding,
                                  .descriptorCount = 1,
                                  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  .pBufferInfo = &info};
    vkUpdateDescriptorSets(h->device, 1, &write, 0, NULL);
}

static void pass_dispatch(VkCommandBuffer cmd, const host_pass *p, const void *push, uint32_t push_bytes,
                          uint32_t invocations)
{
    vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &p->set, 0, NULL);
    vkCmdPushConstants(cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    vkCmdDispatch(cmd, (invocations + 63) / 64, 1, 1);
}

static void pass_destroy(host *h, host_pass *p)
{
    vkDestroyPipeline(h->device, p->pipeline, NULL);
    vkDestroyPipelineLayout(h->device, p->layout, NULL);
    vkDestroyDescriptorPool(h->device, p->pool, NULL);
    vkDestroyDescriptorSetLayout(h->device, p->set_layout, NULL);
    vkDestroyShaderModule(h->device, p->module, NULL);
}

/* What fill.comp writes: exactly representable, so the host's copy for the check is exact. */
static float filled(uint32_t i, uint32_t seed)
{
    return (float)((i * 2654435761u + seed) >> 22) / 1024.0f - 0.5f;
}

enum { ROWS = B * H * N, SLOT = (COUNT * 4 + 255) / 256 * 256 }; /* q, k, v 256-byte aligned in one buffer */

typedef struct app {
    host_buffer qkv, out[2], sums;
    host_pass fill, row_sums;
    float expected[ROWS];
} app;

/* The host's passes around vkattn's work in one command buffer: before it, fill.comp
 * writes q, k, v into `qkv` (when `fill`); after it, row_sums.comp sums each row of
 * out[which] into `sums`. vka_plan_record's barriers order the passes on both sides; the
 * host adds only the one that makes its sums visible to its own reads. */
typedef struct app_step {
    app *a;
    int which;
    bool fill;
} app_step;

static void app_passes(host *h, VkCommandBuffer cmd, void *user, bool before)
{
    const app_step *s = user;
    for (uint32_t t = 0; before && s->fill && t < 3; t++) {
        uint32_t push[3] = {t * SLOT / 4, COUNT, t * 7919u};
        pass_dispatch(cmd, &s->a->fill, push, sizeof push, COUNT);
    }
    if (before)
        return;
    pass_bind(h, &s->a->row_sums, 0, s->a->out[s->which].buffer, 0, COUNT * 4);
    uint32_t push[2] = {ROWS, D};
    pass_dispatch(cmd, &s->a->row_sums, push, sizeof push, ROWS);
    barrier_to_host(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT);
}

static double sums_error(const app *a)
{
    double worst = 0;
    const float *sums = a->sums.mapped;
    for (int r = 0; r < ROWS; r++)
        worst = fmax(worst, isfinite(sums[r]) ? fabs(sums[r] - a->expected[r]) : INFINITY);
    return worst;
}

/* The expected row sums: the reference on the values fill.comp writes. */
static bool expect(vka_graph *g, app *a)
{
    for (uint32_t i = 0; i < COUNT; i++)
        q[i] = filled(i, 0), k[i] = filled(i, 7919u), v[i] = filled(i, 2 * 7919u);
    vka_host_tensor in[] = {{"q", q, sizeof q}, {"k", k, sizeof k}, {"v", v, sizeof v}};
    vka_host_tensor outs[] = {{"o", ref, sizeof ref}};
    if (vka_graph_reference(g, in, 3, outs, 1) != VKA_SUCCESS)
        return false;
    for (int r = 0; r < ROWS; r++) {
        double s = 0;
        for (int c = 0; c < D; c++)
            s += ref[r * D + c];
        a->expected[r] = (float)s;
    }
    return true;
}

/* Wrong bindings are refused, each naming what is wrong. */
static bool refuses_bad_bindings(vka_context *ctx, vka_plan *plan, const app *a)
{
    const VkBufferUsageFlags storage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    const struct {
        const char *name;
        vka_buffer_binding b;
        const char *needle;
    } bad[] = {
        {"q", {a->qkv.buffer, 4, COUNT * 4, storage}, "not a multiple of"},
        {"q", {a->qkv.buffer, 0, 64, storage}, "smaller than the tensor's"},
        {"q", {a->qkv.buffer, 0, COUNT * 4, VK_BUFFER_USAGE_TRANSFER_SRC_BIT}, "VK_BUFFER_USAGE_STORAGE_BUFFER_BIT"},
        {"nope", {a->qkv.buffer, 0, COUNT * 4, storage}, "no input, output or state 'nope'"},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bool refused = vka_plan_bind_buffer(plan, bad[i].name, &bad[i].b) != VKA_SUCCESS &&
                       strstr(vka_last_error(ctx), bad[i].needle) != NULL;
        if (!refused)
            fprintf(stderr, "host: bad binding %zu was not refused as expected: %s\n", i, vka_last_error(ctx));
        ok = ok && refused;
    }
    /* the output's buffer has no TRANSFER_SRC usage: vkattn cannot read it back itself */
    ok = ok && vka_plan_read(plan, "o", out, sizeof out) != VKA_SUCCESS &&
         strstr(vka_last_error(ctx), "TRANSFER_SRC") != NULL;
    return ok;
}

static bool app_create(host *h, app *a)
{
    const VkBufferUsageFlags storage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    return buffer_create(h, 3 * SLOT, storage, false, &a->qkv) &&
           buffer_create(h, COUNT * 4, storage, false, &a->out[0]) &&
           buffer_create(h, COUNT * 4, storage, false, &a->out[1]) &&
           buffer_create(h, ROWS * 4, storage, true, &a->sums) &&
           pass_create(h, embed_fill_spv, sizeof embed_fill_spv, 1, 12, &a->fill) &&
           pass_create(h, embed_row_sums_spv, sizeof embed_row_sums_spv, 2, 8, &a->row_sums);
}

static void app_destroy(host *h, app *a)
{
    pass_destroy(h, &a->fill);
    pass_destroy(h, &a->row_sums);
    host_buffer *buffers[] = {&a->qkv, &a->out[0], &a->out[1], &a->sums};
    for (int i = 0; i < 4; i++)
        host_buffer_destroy(h, buffers[i]);
}

static bool run_in_host_buffers(host *h, vka_context *ctx, vka_graph *g)
{
    app a = {0};
    vka_plan *plan = NULL;
    bool ok = app_create(h, &a) && expect(g, &a) && vka_plan_create(g, NULL, &plan) == VKA_SUCCESS;
    if (ok) {
        pass_bind(h, &a.fill, 0, a.qkv.buffer, 0, 3 * SLOT);
        pass_bind(h, &a.row_sums, 1, a.sums.buffer, 0, ROWS * 4);
    }
    const char *names[] = {"q", "k", "v"};
    for (uint32_t t = 0; ok && t < 3; t++)
        ok = vka_plan_bind_buffer(plan, names[t],
                                  &(vka_buffer_binding){a.qkv.buffer, t * SLOT, COUNT * 4,
                                                        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT}) == VKA_SUCCESS;
    double errors[2] = {INFINITY, INFINITY};
    for (int which = 0; ok && which < 2; which++) { /* the second run writes the other output buffer */
        ok = vka_plan_bind_buffer(plan, "o",
                                  &(vka_buffer_binding){a.out[which].buffer, 0, COUNT * 4,
                                                        VK_BUFFER_USAGE_STORAGE_BUFFER_BIT}) == VKA_SUCCESS &&
             submit_around(h, plan, app_passes, &(app_step){&a, which, which == 0});
        errors[which] = ok ? sums_error(&a) : INFINITY;
    }
    vka_plan_stats stats = {0};
    vka_plan_stats_get(plan, &stats);
    ok = ok && refuses_bad_bindings(ctx, plan, &a);
    if (!ok)
        fprintf(stderr, "vkattn: %s\n", vka_last_error(ctx));
    printf("vkattn: in the host's buffers, between the host's passes: row sums max error %.3g, after swapping the "
           "output buffer %.3g; %u tensor transfer(s) through host memory; bad bindings refused: %s\n",
           errors[0], errors[1], stats.host_transfers, ok ? "yes" : "no");
    vka_plan_destroy(plan);
    app_destroy(h, &a);
    return ok && errors[0] < 1e-4 && errors[1] < 1e-4 && stats.host_transfers == 0;
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
    ok = ok && run_in_host_buffers(h, ctx, g);
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
        .storage_buffer_16bit_enabled = h.storage_16bit,
        .shader_float16_enabled = h.float16,
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
