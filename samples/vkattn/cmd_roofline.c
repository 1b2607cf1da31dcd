/* vkattn roofline: the device's ceilings — peak f32 and f16 multiply-add rates and the
 * copy bandwidth (roofline.h) — printed, and with --json FILE written with the tool and
 * device they belong to, for `vkattn bench --roofline FILE` and `vkattn report`. */
#include "provenance.h"
#include "roofline.h"

#include <string.h>

typedef struct roofline_options {
    const char *json_path;
    double target_ms;
    uint32_t reps;
} roofline_options;

static int parse(int argc, char **argv, roofline_options *o)
{
    *o = (roofline_options){.target_ms = 100.0, .reps = 5};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!value)
            return cli_fail("roofline: unknown option '%s' or missing value (--json FILE, --ms T, --reps N)", a);
        if (strcmp(a, "--json") == 0)
            o->json_path = value;
        else if (strcmp(a, "--ms") == 0) {
            if (!cli_real_number(value, 1, 10000, &o->target_ms))
                return cli_fail("roofline: --ms takes a time per run in 1..10000 ms, not '%s'", value);
        } else if (strcmp(a, "--reps") == 0) {
            if (!cli_whole_number(value, 1, 32, &o->reps))
                return cli_fail("roofline: --reps takes a whole number in 1..32, not '%s'", value);
        } else
            return cli_fail("roofline: unknown option '%s' (--json FILE, --ms T, --reps N)", a);
        i++;
    }
    return 0;
}

static int write_json(const char *path, const roofline *r, const vka_device_info *info)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_fail("cannot write %s", path);
    fprintf(f, "{\"roofline\":");
    roofline_write_json(f, r);
    fprintf(f, ",");
    provenance_write_json(f, info);
    fprintf(f, "}\n");
    return fclose(f) == 0 ? 0 : cli_fail("cannot write %s", path);
}

/* The command on its arguments, --name=value already split. */
static int roofline_command(int argc, char **argv)
{
    roofline_options o;
    if (parse(argc, argv, &o))
        return 2;
    vka_context *ctx;
    vka_device_info info;
    if (cli_open_context(&ctx, &info))
        return 1;
    roofline ceilings;
    int status = roofline_measure(ctx, o.target_ms, (int)o.reps, &ceilings);
    if (status == 0) {
        printf("device: %s\n", info.summary);
        printf("  f32 multiply-add  %10.1f GFLOP/s  (fma_peak, %u steps of 8 chains per element, median of %u)\n",
               ceilings.f32_gflops, ceilings.f32_iterations, o.reps);
        if (ceilings.f16_gflops > 0)
            printf("  f16 multiply-add  %10.1f GFLOP/s  (fma_peak precision=f16, %u steps)\n", ceilings.f16_gflops,
                   ceilings.f16_iterations);
        else
            printf("  f16 multiply-add  %10s          (no shaderFloat16 on this device)\n", "-");
        printf("  bandwidth         %10.1f GB/s     (add: 2 reads + 1 write, %.0f MiB per run)\n",
               ceilings.bandwidth_gbs, ceilings.bandwidth_bytes / 1048576.0);
        printf("  ridge point       %10.1f flop/byte (f32 peak / bandwidth)\n",
               ceilings.f32_gflops / ceilings.bandwidth_gbs);
    }
    if (status == 0 && o.json_path)
        status = write_json(o.json_path, &ceilings, &info);
    if (vka_context_validation_message_count(ctx))
        status = cli_fail("validation: %s", vka_context_first_validation_message(ctx));
    vka_context_destroy(ctx);
    return status;
}

int cmd_roofline(int argc, char **argv)
{
    return cli_with_split_options(argc, argv, roofline_command);
}
