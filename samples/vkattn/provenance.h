/* What makes a result file self-describing: the tool (version, commit, UTC time, command
 * line) and the device (name, vendor and device IDs, driver name and version — decoded per
 * vendor as vulkaninfo does —, API version, pipeline cache UUID, limits profile, kernel
 * class). Every JSON the tool writes (bench rows, run and model statistics, the roofline)
 * carries both, so files from several machines can be told apart and merged
 * (`vkattn report`). */
#ifndef VKATTN_PROVENANCE_H
#define VKATTN_PROVENANCE_H

#include "cli.h"

/* The command line as run ("vkattn bench --n 1024"), for the result files. */
void provenance_set_command(int argc, char **argv);
const char *provenance_command(void);

/* The driver version as its vendor numbers it: NVIDIA 10.8.8.6 bits, Intel on Windows
 * 18.14 bits, everyone else VK_MAKE_API_VERSION's major.minor.patch. */
void provenance_driver_version(const vka_device_info *info, char *out, size_t size);

/* The operation's parameters as it resolved them — given ones and defaults — as a JSON
 * object ({"window":128,"causal":0,…}), so a result row says exactly what ran. False (and
 * buf "") when it does not fit. */
bool provenance_params_json(const vka_graph *g, vka_tensor op, char *buf, size_t size);

/* The same for CSV rows: PROVENANCE_CSV_HEADER's columns (after a comma), then each row's
 * cells (no comma before, none after). Text cells are quoted. */
#define PROVENANCE_CSV_HEADER                                                                                          \
    "device,driver,vendor_id,device_id,driver_version,api_version,limits,kernel_class,tool_version,commit,time_utc,"   \
    "command"
void provenance_write_csv(FILE *f, const vka_device_info *info);

/* Writes the members `"tool":{…},"device":{…}` (no braces around them, no comma before). */
void provenance_write_json(FILE *f, const vka_device_info *info);

#endif
