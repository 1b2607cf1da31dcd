#define _POSIX_C_SOURCE 200809L /* setenv */
/* The context: device choice and its reasons, VKATTN_DEVICE, the limits clamp
 * (VKATTN_LIMITS and desc.limits), the capability probe, the resolved desc, quirks. */
#include "harness.h"

static void default_device_is_chosen_with_reasons(void)
{
    vka_context *ctx = test_context(NULL);
    if (!ctx)
        return;
    uint32_t n = vka_context_candidate_count(ctx), chosen = 0;
    CHECK(n >= 1);
    for (uint32_t i = 0; i < n; i++) {
        vka_device_candidate c;
        CHECK_OK(ctx, vka_context_candidate_at(ctx, i, &c));
        CHECK_MSG(c.reason[0] != '\0', "candidate %u has no reason", i);
        CHECK(c.name[0] != '\0');
        chosen += c.chosen;
        if (c.chosen)
            CHECK(strncmp(c.reason, "chosen", 6) == 0);
    }
    CHECK(chosen == 1);
    CHECK(vka_context_candidate_at(ctx, n, &(vka_device_candidate){0}) == VKA_ERROR_INVALID_ARGUMENT);
    vka_device_info info;
    CHECK_OK(ctx, vka_context_device_info(ctx, &info));
    CHECK(info.name[0] && info.summary[0] && strstr(info.summary, info.name));
    CHECK(info.subgroup_size >= 1 && (info.subgroup_operations & VKA_SUBGROUP_BASIC));
    CHECK(info.limits.max_storage_buffer_range >= (1u << 27) || strcmp(info.limits_profile, "none") != 0);
    CHECK(info.timestamps && info.timestamp_period_ns > 0);
    test_context_done(ctx);
}

static void device_can_be_named_by_index_or_substring(void)
{
    vka_context *first = test_context(&(vka_context_desc){.device = "0", .ignore_environment = true});
    if (!first)
        return;
    vka_device_info info;
    vka_context_device_info(first, &info);
    char upper[64] = "";
    /* A case-insensitive substring of the name picks the same device. */
    for (int i = 0; i < 6 && info.name[i]; i++)
        upper[i] = (char)(info.name[i] >= 'a' && info.name[i] <= 'z' ? info.name[i] - 32 : info.name[i]);
    vka_context *by_name = test_context(&(vka_context_desc){.device = upper, .ignore_environment = true});
    if (by_name) {
        vka_device_info other;
        vka_context_device_info(by_name, &other);
        CHECK(strcmp(other.name, info.name) == 0);
        vka_device_candidate c;
        vka_context_candidate_at(by_name, 0, &c);
        CHECK(strstr(c.reason, upper) != NULL);
    }
    test_context_done(by_name);
    test_context_done(first);
}

static void unknown_device_is_an_error_naming_it(void)
{
    vka_context *ctx = NULL;
    vka_result r = vka_context_create(&(vka_context_desc){.device = "no-such-gpu-xyz"}, &ctx);
    CHECK(r == VKA_ERROR_NOT_FOUND && ctx == NULL);
    CHECK_MSG(strstr(vka_last_error(NULL), "no-such-gpu-xyz"), "message: %s", vka_last_error(NULL));
    r = vka_context_create(&(vka_context_desc){.device = "57"}, &ctx);
    CHECK(r == VKA_ERROR_NOT_FOUND && ctx == NULL);
}

static void environment_selects_device_and_limits(void)
{
    setenv("VKATTN_DEVICE", "no-such-gpu-xyz", 1);
    vka_context *ctx = NULL;
    CHECK(vka_context_create(NULL, &ctx) == VKA_ERROR_NOT_FOUND);
    /* ignore_environment reads no VKATTN_* variable. */
    CHECK_OK(NULL, vka_context_create(&(vka_context_desc){.ignore_environment = true}, &ctx));
    vka_context_destroy(ctx);
    unsetenv("VKATTN_DEVICE");
    const char *saved = getenv("VKATTN_LIMITS");
    char saved_copy[64] = "";
    if (saved)
        snprintf(saved_copy, sizeof saved_copy, "%s", saved);
    setenv("VKATTN_LIMITS", "vulkan-1.0-min", 1);
    ctx = test_context(NULL);
    if (ctx) {
        vka_device_info info;
        vka_context_device_info(ctx, &info);
        CHECK(strcmp(info.limits_profile, "vulkan-1.0-min") == 0);
        CHECK(info.limits.max_storage_buffers_per_stage == 4);
    }
    test_context_done(ctx);
    if (saved)
        setenv("VKATTN_LIMITS", saved_copy, 1);
    else
        unsetenv("VKATTN_LIMITS");
}

static void limits_clamp_lowers_what_the_planner_sees(void)
{
    struct {
        const char *profile;
        uint32_t shared, invocations, storage_buffers, alignment;
    } expect[] = {
        {"android-2021", 16384, 128, 4, 256},
        {"roadmap-2022", 16384, 256, 30, 256},
        {"vulkan-1.0-min", 16384, 128, 4, 256},
    };
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
        vka_context *ctx = test_context(&(vka_context_desc){.limits = expect[i].profile});
        if (!ctx)
            continue;
        vka_device_info info;
        vka_context_device_info(ctx, &info);
        const vka_device_limits *l = &info.limits, *d = &info.device_limits;
        CHECK(strcmp(info.limits_profile, expect[i].profile) == 0);
        CHECK(l->max_shared_memory_bytes ==
              (d->max_shared_memory_bytes < expect[i].shared ? d->max_shared_memory_bytes : expect[i].shared));
        CHECK(l->max_workgroup_invocations <= expect[i].invocations);
        CHECK(l->max_storage_buffers_per_stage <= expect[i].storage_buffers);
        CHECK(l->min_storage_buffer_offset_alignment >= expect[i].alignment);
        CHECK(l->max_storage_buffer_range <= (1u << 27));
        CHECK(strstr(info.summary, expect[i].profile) != NULL);
        test_context_done(ctx);
    }
    vka_context *ctx = NULL;
    CHECK(vka_context_create(&(vka_context_desc){.limits = "nokia-3310"}, &ctx) == VKA_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vka_last_error(NULL), "nokia-3310") && strstr(vka_last_error(NULL), "android-2021"));
}

static void resolved_desc_says_what_zero_became(void)
{
    vka_context *ctx = test_context(&(vka_context_desc){.ignore_environment = true});
    if (!ctx)
        return;
    vka_context_desc d;
    CHECK_OK(ctx, vka_context_resolved_desc(ctx, &d));
    CHECK(d.validation);
    CHECK(d.sync == VKA_SYNC_PLANNED);
    CHECK(d.kernel_class == VKA_KERNEL_CLASS_CPU || d.kernel_class == VKA_KERNEL_CLASS_GPU);
    CHECK(d.limits && strcmp(d.limits, "none") == 0);
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    /* Device type decides the kernel class unless asked otherwise. */
    CHECK(d.kernel_class == (info.type == VKA_DEVICE_CPU ? VKA_KERNEL_CLASS_CPU : VKA_KERNEL_CLASS_GPU));
    test_context_done(ctx);
    ctx = test_context(&(vka_context_desc){.kernel_class = VKA_KERNEL_CLASS_GPU, .sync = VKA_SYNC_FULL});
    if (ctx) {
        vka_context_resolved_desc(ctx, &d);
        CHECK(d.kernel_class == VKA_KERNEL_CLASS_GPU && d.sync == VKA_SYNC_FULL);
    }
    test_context_done(ctx);
}

static void lavapipe_reports_its_loop_budget(void)
{
    vka_context *ctx = test_context(NULL);
    if (!ctx)
        return;
    vka_device_info info;
    vka_context_device_info(ctx, &info);
    if (strstr(info.name, "llvmpipe")) {
        CHECK(info.loop_iteration_budget == 65535);
        CHECK(strstr(info.quirks, "65535") != NULL);
    } else {
        CHECK(info.loop_iteration_budget == 0);
    }
    test_context_done(ctx);
}

static void operations_are_listed(void)
{
    CHECK(vka_op_count() >= 1);
    vka_op_info info;
    CHECK(vka_op_info_named("softmax", &info) == VKA_SUCCESS);
    CHECK(info.required_input_count == 3 && info.input_count == 6 && strcmp(info.inputs[0].role, "q") == 0);
    CHECK(info.inputs[3].optional && info.inputs[3].dtypes == VKA_DTYPE_BIT(VKA_DTYPE_I32) && info.rows_independent);
    CHECK(vka_op_info_named("nope", &info) == VKA_ERROR_NOT_FOUND);
    CHECK(vka_op_info_at(vka_op_count(), &info) == VKA_ERROR_INVALID_ARGUMENT);
}

/* A setting not understood is refused by name, never ignored (VKATTN_LIMITS always was). */
static void settings_not_understood_are_refused(void)
{
    static const struct {
        const char *name, *value;
    } bad[] = {{"VKATTN_KERNEL_CLASS", "tpu"},
               {"VKATTN_SYNC", "sometimes"},
               {"VKATTN_VALIDATION", "maybe"},
               {"VKATTN_FORCE_STAGING", "2"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv(bad[i].name, bad[i].value, 1);
        vka_context *ctx = NULL;
        vka_result r = vka_context_create(&(vka_context_desc){0}, &ctx);
        CHECK_MSG(r == VKA_ERROR_INVALID_ARGUMENT && !ctx && strstr(vka_last_error(NULL), bad[i].name) &&
                      strstr(vka_last_error(NULL), bad[i].value),
                  "%s=%s: %s, '%s'", bad[i].name, bad[i].value, vka_result_string(r), vka_last_error(NULL));
        vka_context_destroy(ctx);
        unsetenv(bad[i].name);
    }
    vka_context *ctx = NULL;
    CHECK(vka_context_create(&(vka_context_desc){.kernel_class = (vka_kernel_class)77}, &ctx) ==
              VKA_ERROR_INVALID_ARGUMENT &&
          !ctx && strstr(vka_last_error(NULL), "kernel_class 77"));
    CHECK(vka_context_create(&(vka_context_desc){.sync = (vka_sync_mode)9}, &ctx) == VKA_ERROR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
    static const test_case cases[] = {
        {"default_device_is_chosen_with_reasons", default_device_is_chosen_with_reasons},
        {"device_can_be_named_by_index_or_substring", device_can_be_named_by_index_or_substring},
        {"unknown_device_is_an_error_naming_it", unknown_device_is_an_error_naming_it},
        {"environment_selects_device_and_limits", environment_selects_device_and_limits},
        {"limits_clamp_lowers_what_the_planner_sees", limits_clamp_lowers_what_the_planner_sees},
        {"resolved_desc_says_what_zero_became", resolved_desc_says_what_zero_became},
        {"lavapipe_reports_its_loop_budget", lavapipe_reports_its_loop_budget},
        {"operations_are_listed", operations_are_listed},
        {"settings_not_understood_are_refused", settings_not_understood_are_refused},
    };
    return test_main(argc, argv, cases, sizeof cases / sizeof *cases);
}
