/* The pipeline cache on disk (vka_context_desc.pipeline_cache_dir, $VKATTN_CACHE_DIR): one
 * file per device, the driver's VkPipelineCache data behind a header that names the
 * library build, the device and the driver, checked (and the data's checksum) before any
 * of it reaches the driver. No Vulkan here: pipeline.c moves the bytes. */
#ifndef VKA_KERNELS_DISK_CACHE_H
#define VKA_KERNELS_DISK_CACHE_H

#include "../common/common.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct vka_disk_cache_key {
    uint64_t build; /* vka_disk_cache_build_key: the kernels' SPIR-V and the version */
    uint32_t vendor_id, device_id, driver_version;
    uint8_t uuid[16]; /* VkPhysicalDeviceProperties.pipelineCacheUUID */
} vka_disk_cache_key;

/* DIR/vkattn-VENDOR-DEVICE-UUID.pipelines */
void vka_disk_cache_path(const char *dir, const vka_disk_cache_key *key, char *out, size_t size);

/* The file's data (malloc'ed) when its header fits the key and its checksum holds; else
 * false, with why in `note` (a missing file is "no file yet"). */
bool vka_disk_cache_load(const char *path, const vka_disk_cache_key *key, void **data, size_t *bytes, char *note,
                         size_t note_size);

/* Writes header and data to a temporary file and renames it over `path`. */
bool vka_disk_cache_save(const char *path, const vka_disk_cache_key *key, const void *data, size_t bytes, char *note,
                         size_t note_size);

uint64_t vka_disk_cache_build_key(const uint32_t *const *spirv, const size_t *bytes, uint32_t count);

/* FNV-1a of the bytes: the data's checksum. */
uint64_t vka_disk_cache_hash(const void *data, size_t bytes);

#endif
