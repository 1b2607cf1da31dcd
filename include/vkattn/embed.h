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

/* The application's own buffer in place of a planned input, output or decoding state:
 * kernels read and write it where they would the plan's memory, and nothing is copied. It
 * holds the tensor in the plan's layout (vka_plan_tensor_location: rows padded to 4
 * elements, the padding zeros), from `offset`. Bind before or between runs, as often as
 * wanted (double buffering); binding NULL returns the tensor to the plan's memory, which
 * stays reserved for it. Checked: the context came from vka_context_embed (the buffer is of
 * its device), offset a multiple of the device's storage and uniform offset alignments,
 * size at least the tensor's bytes, usage holding STORAGE_BUFFER (UNIFORM_BUFFER where a
 * kernel binds the tensor as a uniform block); vka_plan_write and vka_plan_read still work
 * on it through a copy when usage holds TRANSFER_DST / TRANSFER_SRC.
 * Synchronisation: binding rewrites the plan's descriptor sets, so no command buffer that
 * vka_plan_record filled for this plan may be pending; record again after binding.
 * vka_plan_record's entry barrier orders the application's earlier compute-shader and
 * transfer writes before the plan's reads, and its exit barrier makes the plan's writes
 * available to later compute shaders, transfers and host reads: the application needs no
 * barrier of its own between its passes and the plan's in one command buffer (a buffer
 * shared across queue families still needs the application's ownership transfer). */
typedef struct vka_buffer_binding {
    VkBuffer buffer;
    VkDeviceSize offset, size;
    VkBufferUsageFlags usage; /* the flags the buffer was created with */
} vka_buffer_binding;

VKA_API vka_result vka_plan_bind_buffer(vka_plan *plan, const char *name, const vka_buffer_binding *binding);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_EMBED_H */
