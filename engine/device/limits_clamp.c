/* The limits clamp: lowers what the planner sees of the device to a named profile,
 * so that a desktop GPU or lavapipe can stand in for a phone in tests.
 * Numbers from Khronos' Vulkan-Profiles (VP_ANDROID_baseline_2021, VP_KHR_roadmap_2022)
 * and the Vulkan 1.0 required minimums; see ../shared/research/vulkan-engines.md §3.1. */
#include "context.h"

#include <string.h>

typedef struct limits_profile {
    const char *name;
    uint32_t max_shared_memory_bytes;
    uint32_t max_workgroup_invocations;
    uint32_t max_workgroup_size[3];
    uint32_t max_workgroup_count[3];
    uint32_t max_storage_buffers_per_stage;
    uint32_t max_uniform_buffers_per_stage;
    uint32_t max_storage_buffer_range;
    uint32_t max_uniform_buffer_range;
    uint32_t min_offset_alignment; /* raised to this (storage and uniform) */
    uint32_t max_push_constants_bytes;
} limits_profile;

static const limits_profile profiles[] = {
    {"android-2021", 16384, 128, {128, 128, 64}, {65535, 65535, 65535}, 4, 12, 134217728u, 16384, 256, 128},
    {"roadmap-2022", 16384, 256, {256, 256, 64}, {65535, 65535, 65535}, 30, 15, 134217728u, 65536, 256, 128},
    {"vulkan-1.0-min", 16384, 128, {128, 128, 64}, {65535, 65535, 65535}, 4, 12, 134217728u, 16384, 256, 128},
};

const char *const vka_limits_profiles[] = {"none", "android-2021", "roadmap-2022", "vulkan-1.0-min", NULL};

static void lower(uint32_t *value, uint32_t cap)
{
    if (*value > cap)
        *value = cap;
}

static void raise(uint32_t *value, uint32_t floor)
{
    if (*value < floor)
        *value = floor;
}

bool vka_clamp_limits(const char *name, vka_device_limits *l)
{
    if (!name || !name[0] || strcmp(name, "none") == 0)
        return true;
    for (size_t i = 0; i < VKA_ARRAY_LEN(profiles); i++) {
        const limits_profile *p = &profiles[i];
        if (strcmp(p->name, name) != 0)
            continue;
        lower(&l->max_shared_memory_bytes, p->max_shared_memory_bytes);
        lower(&l->max_workgroup_invocations, p->max_workgroup_invocations);
        for (int a = 0; a < 3; a++) {
            lower(&l->max_workgroup_size[a], p->max_workgroup_size[a]);
            lower(&l->max_workgroup_count[a], p->max_workgroup_count[a]);
        }
        lower(&l->max_storage_buffers_per_stage, p->max_storage_buffers_per_stage);
        lower(&l->max_uniform_buffers_per_stage, p->max_uniform_buffers_per_stage);
        lower(&l->max_storage_buffer_range, p->max_storage_buffer_range);
        lower(&l->max_uniform_buffer_range, p->max_uniform_buffer_range);
        raise(&l->min_storage_buffer_offset_alignment, p->min_offset_alignment);
        raise(&l->min_uniform_buffer_offset_alignment, p->min_offset_alignment);
        lower(&l->max_push_constants_bytes, p->max_push_constants_bytes);
        return true;
    }
    return false;
}
