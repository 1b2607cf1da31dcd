/* Per-driver quirks as data: each row names the driver, what is different about it, and
 * why we believe so. The planner and kernels read them as named capabilities; nothing
 * branches on the vendor anywhere else. */
#include "context.h"

#include <stdio.h>
#include <string.h>

typedef struct quirk_row {
    VkDriverId driver;         /* 0: match by name */
    const char *name_contains; /* device name fallback where driver ids are unavailable */
    uint32_t loop_iteration_budget;
    const char *why;
} quirk_row;

static const quirk_row quirks[] = {
    /* llvmpipe/lavapipe (Mesa gallivm): all loops of a shader invocation share one
     * counter of LP_MAX_TGSI_LOOP_ITERATIONS = 65535 iterations; when it runs out every
     * loop exits after its current iteration, silently (gallivm/lp_bld_limits.h,
     * lp_exec_endloop). Measured here: flash attention over 300k keys and a row softmax
     * over 100k keys gave wrong results until the kernels kept within it. */
    {VK_DRIVER_ID_MESA_LLVMPIPE, "llvmpipe", 65535, "llvmpipe stops every loop after 65535 iterations per invocation"},
};

void vka_apply_quirks(vka_context *ctx, VkDriverId driver)
{
    vka_device_info *info = &ctx->info;
    for (size_t i = 0; i < VKA_ARRAY_LEN(quirks); i++) {
        const quirk_row *q = &quirks[i];
        bool match = driver ? driver == q->driver : strstr(info->name, q->name_contains) != NULL;
        if (!match)
            continue;
        info->loop_iteration_budget = q->loop_iteration_budget;
        snprintf(info->quirks, sizeof info->quirks, "%s", q->why);
    }
}
