/* vkattn — the command-line face of the engine:
 *   vkattn info                      devices, the chosen one and why, capabilities, limits
 *   vkattn run SCHEME key=value...   one operation on .npy files
 *   vkattn bench [options]           the benchmark sweep (the main job)
 *   vkattn model DIR key=value...    a Transformer Neural Process on .npy files
 *   vkattn roofline [--json FILE]    the device's peak f32/f16 rates and bandwidth
 *   vkattn report FILE.json...       result files of several devices merged into tables, charts */
#include "cli.h"
#include "provenance.h"

#include <string.h>

static int usage(FILE *f)
{
    fputs(
        "usage: vkattn info [SCHEME] [--json]        devices, or one operation's inputs and parameters\n"
        "       vkattn run SCHEME key=value... [out=o.npy] [stats=1] [runs=N] [in_dtype=f16|f32] [out_dtype=f16|f32]\n"
        "                  [reference=1]\n"
        "       vkattn model DIR xc=… yc=… xt=… [mean=m.npy] [std=s.npy] [yt=…] [te_kernel=flash|materialized]\n"
        "                    [stats=1] [runs=N]\n"
        "       vkattn model DIR --gp rbf|matern52|periodic|--sawtooth [--nc N] [--nt N] [--batch B] [--seed S] "
        "[mean=…]\n"
        "       vkattn model --memory-table DIR... [--json FILE]\n"
        "       vkattn bench [--quick] [--scheme NAME[,NAME]] [--kernel NAME] [--n N,...] [--dtype f32|f16|both]\n"
        "                    [--param key=value]...\n"
        "                    [--heads H] [--kv-heads Hkv] [--d D] [--batch B] [--causal 0|1] [--reps N]\n"
        "                    [--seconds S] [--memory-only] [--no-check]\n"
        "                    [--json FILE] [--csv FILE]\n"
        "       vkattn bench --sweep SCHEME[,SCHEME] [--n N,...] [--run-limit N] [--plot FILE.svg]\n"
        "       vkattn bench --quality [--scheme performer|reformer|clustered] [--n N] [--seeds K] [--plot FILE.svg]\n"
        "                    [--csv FILE]\n"
        "       vkattn bench ... [--roofline FILE|none]   the default sweep's ceilings (measured unless given)\n"
        "       vkattn roofline [--json FILE] [--ms T] [--reps N]\n"
        "       vkattn report FILE.json... [--baseline DEVICE] [--md FILE] [--html FILE] [--svg PREFIX]\n"
        "environment: VKATTN_DEVICE=index|name  VKATTN_LIMITS=android-2021|roadmap-2022|vulkan-1.0-min\n"
        "             VKATTN_VALIDATION=1  VKATTN_KERNEL_CLASS=gpu|cpu  VKATTN_SYNC=full  VKATTN_FORCE_STAGING=1\n"
        "             VKATTN_DISABLE_F16=1  VKATTN_DISABLE_SUBGROUPS=1  VKATTN_CACHE_DIR=folder\n",
        f);
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    provenance_set_command(argc, argv);
    for (int i = 2; i < argc; i++) /* `vkattn SUBCOMMAND --help`: the usage, on stdout */
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout);
    if (strcmp(command, "info") == 0)
        return cmd_info(argc - 2, argv + 2);
    if (strcmp(command, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(command, "model") == 0)
        return cmd_model(argc - 2, argv + 2);
    if (strcmp(command, "bench") == 0)
        return cmd_bench(argc - 2, argv + 2);
    if (strcmp(command, "roofline") == 0)
        return cmd_roofline(argc - 2, argv + 2);
    if (strcmp(command, "report") == 0)
        return cmd_report(argc - 2, argv + 2);
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0)
        return usage(stdout);
    cli_fail("unknown command '%s' (vkattn help lists them)", command);
    return 2;
}
