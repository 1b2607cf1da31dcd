/* The context: one Vulkan device (owned or adopted), what it can do, and the
 * per-context state every other room hangs on it. */
#ifndef VKA_DEVICE_CONTEXT_H
#define VKA_DEVICE_CONTEXT_H

#include "../common/common.h"
#include "vulkan.h"

/* A graph or a plan made on a context: linked into it, and told (orphan) when the context
 * is destroyed first, so that it releases its device objects while the device exists
 * and answers later calls with an error rather than touching freed memory. */
typedef struct vka_context_child {
    struct vka_context_child *prev, *next;
    void (*orphan)(struct vka_context_child *child);
} vka_context_child;

typedef struct vka_context {
    vka_error_sink error;
    vka_context_desc desc;    /* resolved: defaults and environment applied */
    char device_request[128]; /* copies of the desc's strings, owned */
    char limits_request[32];
    char pipeline_cache_dir[1024];

    bool owned;           /* we created instance and device (and destroy them) */
    bool lost;            /* VK_ERROR_DEVICE_LOST was seen: every call fails */
    uint32_t api_version; /* of the device as used */
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    uint32_t timestamp_valid_bits;
    vka_instance_table vki;
    struct VolkDeviceTable vkd;

    void (*lock_queue)(void *user);
    void (*unlock_queue)(void *user);
    void *queue_user;

    VkDebugUtilsMessengerEXT messenger;
    uint32_t validation_messages;
    char first_validation_message[1024];
    vka_mutex message_lock;

    vka_device_info info;
    VkPhysicalDeviceMemoryProperties memory_properties;
    vka_device_candidate *candidates;
    uint32_t candidate_count;

    /* One-shot submissions (staging copies) and plan runs share these; submit_lock
     * (recursive) serialises every use of the pool, the queue and the fence, so that
     * plans of one context may run from several threads. */
    VkCommandPool command_pool;
    VkFence fence;
    vka_mutex submit_lock;

    /* The graphs and plans alive on this context (a ring through the sentinel). */
    vka_context_child children;
    vka_mutex children_lock;

    /* The kernels' pipeline cache (engine/kernels, which uses this room, not the reverse):
     * made there on first use under attach_lock; the context releases it last. */
    void *pipelines;
    void (*release_pipelines)(vka_context *ctx, void *pipelines);
    vka_mutex attach_lock;
    vka_host_cache *host_constants; /* plan-time constants by what they depend on */
} vka_context;

/* Links a new graph or plan into the context; unlinks one being destroyed. */
void vka_context_adopt(vka_context *ctx, vka_context_child *child, void (*orphan)(vka_context_child *child));
void vka_context_disown(vka_context *ctx, vka_context_child *child);

/* Translates a failed VkResult into a result code with a message naming the call;
 * marks the context lost on VK_ERROR_DEVICE_LOST. */
vka_result vka_vk_fail(vka_context *ctx, VkResult vr, const char *call);
const char *vka_vk_result_name(VkResult vr);

/* Fills ctx->info (capabilities, limits as reported) for ctx->physical_device, then
 * applies the limits clamp named by ctx->desc.limits. */
vka_result vka_probe_device(vka_context *ctx);

/* The one-line summary in info->summary, from its other fields. */
void vka_write_device_summary(vka_device_info *info);

/* Fills the quirk fields of ctx->info for this driver (engine/device/quirks.c). */
void vka_apply_quirks(vka_context *ctx, VkDriverId driver);

/* Lowers `limits` to the named profile; false if the name is unknown. */
bool vka_clamp_limits(const char *profile, vka_device_limits *limits);
/* The known profile names, NULL-terminated (for messages). */
extern const char *const vka_limits_profiles[];

/* Chooses ctx->physical_device among the instance's devices, honouring
 * ctx->desc.device, and records why each was chosen or passed over. */
vka_result vka_choose_physical_device(vka_context *ctx);

/* A compute-capable queue family on pd (prefers one with timestamps); UINT32_MAX if none. */
uint32_t vka_find_compute_queue_family(const vka_instance_table *vki, VkPhysicalDevice pd,
                                       uint32_t *timestamp_valid_bits);

/* Creates the command pool and fence shared by submissions. */
vka_result vka_context_create_submission_objects(vka_context *ctx);

/* Submits one command buffer on the context's queue and waits for it. */
vka_result vka_context_submit_and_wait(vka_context *ctx, VkCommandBuffer cmd);

/* Probe, device (own mode), submission objects, pipeline cache: the part of set-up
 * shared by own and embedded mode. */
vka_result vka_context_finish_setup(vka_context *ctx);

/* A zeroed context with the desc resolved; and its disposal after a failed set-up, which
 * moves the message to the thread's sink (vka_last_error(NULL)). */
vka_result vka_context_alloc(const vka_context_desc *desc, vka_context **out);
vka_result vka_context_abandon(vka_context *ctx, vka_result r);

/* Reads the VKATTN_* environment into the desc's zero fields. */
vka_result vka_resolve_desc(vka_context *ctx, const vka_context_desc *desc);

#endif
