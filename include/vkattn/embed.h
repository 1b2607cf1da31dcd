/* vkattn — embedding: running inside an application that owns its Vulkan device.
 * Beside the core header (vkattn.h), which it includes. Include <vulkan/vulkan.h> (or
 * volk.h) before it to choose how Vulkan is declared; otherwise it includes vulkan.h. */
#ifndef VKATTN_EMBED_H
#define VKATTN_EMBED_H

#include "../vkattn.h"

#ifndef VK_VERSION_1_0
#include <vulkan/vulkan.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The host application's Vulkan objects. The engine never creates or destroys them,
 * never waits idle on the device, and takes the queue lock around each submission. */
typedef struct vka_embed_desc {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue; /* must support compute */
    uint32_t queue_family_index;
    PFN_vkGetInstanceProcAddr get_instance_proc_addr;
    uint32_t api_version;              /* what the device was created with; 0: 1.1 */
    bool storage_buffer_16bit_enabled; /* features the host enabled (see requirements) */
    bool shader_float16_enabled;
    void (*lock_queue)(void *user); /* NULL: the engine assumes exclusive use while it submits */
    void (*unlock_queue)(void *user);
    void *queue_user;
} vka_embed_desc;

typedef struct vka_device_requirements {
    uint32_t min_api_version; /* VK_API_VERSION_1_1 */
    VkQueueFlags queue_flags; /* VK_QUEUE_COMPUTE_BIT */
    uint32_t required_extension_count;
    const char *const *required_extensions;
    uint32_t optional_extension_count; /* enable those the device offers */
    const char *const *optional_extensions;
    bool want_storage_buffer_16bit; /* features to enable where supported */
    bool want_shader_float16;
    bool supported;   /* this physical device meets the requirements */
    char reason[256]; /* if not, why */
} vka_device_requirements;

/* What the host should enable on its device before handing it to vka_context_embed. */
VKA_API vka_result vka_query_device_requirements(VkInstance instance, VkPhysicalDevice physical_device,
                                                 PFN_vkGetInstanceProcAddr get_instance_proc_addr,
                                                 vka_device_requirements *out);

/* desc may be NULL; its device, validation and force_staging fields do not apply. */
VKA_API vka_result vka_context_embed(const vka_context_desc *desc, const vka_embed_desc *embed, vka_context **out);

/* Appends the plan's work to the host's command buffer (which must be recording, on a
 * queue of the context's family). Entry: the inputs were written with vka_plan_write or
 * by the host with writes made available to compute shaders. Exit: a barrier makes the
 * outputs available to host reads, transfers and later compute shaders. */
VKA_API vka_result vka_plan_record(vka_plan *plan, VkCommandBuffer command_buffer);
/* After the host's submission completed: pick up the timestamps it wrote. */
VKA_API vka_result vka_plan_collect_timings(vka_plan *plan);

/* Where a planned input, output or state lives, for the host's own passes (consume an
 * output, fill an input) with no copy through host memory. Rows of the last axis are
 * padded to a multiple of 4 elements (the padding holds zeros, and a host that writes an
 * input must keep it so); the leading axes form slices. Element (s, r, c) sits at byte
 * offset + (s·slice_elements + r·row_elements + c)·element_bytes. Synchronisation: after
 * vka_plan_record's exit barrier outputs may be read by transfers and compute shaders;
 * host writes to an input must be made available to compute shaders before the work
 * vka_plan_record appended. Valid for the plan's lifetime (memory_only plans have none). */
typedef struct vka_tensor_location {
    VkBuffer buffer;
    VkDeviceSize offset, size; /* the tensor's whole range in the buffer */
    vka_dtype dtype;           /* on the device (f16 held as f32 under disable_f16) */
    uint32_t element_bytes;
    uint32_t rank;
    uint32_t dims[VKA_MAX_RANK];
    uint32_t rows, slices;   /* rows per slice (the second-last axis), slices (the leading axes) */
    uint32_t row_elements;   /* from one row to the next: the last axis rounded up to 4 */
    uint64_t slice_elements; /* from one slice to the next */
} vka_tensor_location;

VKA_API vka_result vka_plan_tensor_location(const vka_plan *plan, const char *name, vka_tensor_location *out);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_EMBED_H */
