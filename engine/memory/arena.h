/* Device memory for plans: one arena per plan (one VkDeviceMemory, one VkBuffer that
 * every descriptor points into), and a staging buffer for devices whose arena memory
 * the host cannot map (discrete GPUs, or VKATTN_FORCE_STAGING=1). */
#ifndef VKA_MEMORY_ARENA_H
#define VKA_MEMORY_ARENA_H

#include "../device/context.h"

typedef struct vka_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;      /* bytes requested */
    VkDeviceSize allocated; /* bytes the driver asked for (memory requirements) */
    void *mapped;           /* host pointer when the memory is host-visible and mapped, else NULL */
} vka_buffer;

/* The arena: device-local memory, mapped when host-visible and coherent (UMA: lavapipe,
 * integrated and most mobile GPUs) unless staging is forced. */
vka_result vka_arena_create(vka_context *ctx, VkDeviceSize size, vka_buffer *out);

/* A host-visible, coherent buffer for transfers. */
vka_result vka_staging_create(vka_context *ctx, VkDeviceSize size, vka_buffer *out);

void vka_buffer_destroy(vka_context *ctx, vka_buffer *buffer);

/* Copies between buffers with a one-shot command buffer, and waits. */
vka_result vka_buffer_copy(vka_context *ctx, const vka_buffer *src, VkDeviceSize src_offset, const vka_buffer *dst,
                           VkDeviceSize dst_offset, VkDeviceSize bytes);

#endif
