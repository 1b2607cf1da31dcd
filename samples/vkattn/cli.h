/* Shared pieces of the vkattn command-line tool. */
#ifndef VKATTN_CLI_H
#define VKATTN_CLI_H

#include "vkattn.h"
#include "vkattn/io.h"
#include "vkattn/models.h"
#include "vkattn/ops.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_roofline(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Prints "vkattn: <message>" on stderr and returns 1 (the exit status). */
int cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A context on the default device (VKATTN_* respected) and what that device is; 0, or
 * the exit status after cli_fail. */
int cli_open_context(vka_context **ctx, vka_device_info *info);

/* The failure of a vkattn call: its message, or the result's name. */
int cli_fail_result(vka_context *ctx, vka_result r, const char *doing);

const char *cli_device_type_name(vka_device_type type);

/* Strict numbers for options: all of the text, in range (a float also finite). */
bool cli_whole_number(const char *text, uint32_t min, uint32_t max, uint32_t *out);
bool cli_real_number(const char *text, double min, double max, double *out);

/* A whole file, NUL-terminated (*length bytes before the NUL); NULL if it cannot be read.
 * The caller frees it. */
char *cli_read_file(const char *path, size_t *length);

/* Runs `command` on argv with getopt_long's `--name=value` split into `--name value` (in
 * place; a value that itself holds '=' is kept); its exit status. */
int cli_with_split_options(int argc, char **argv, int (*command)(int argc, char **argv));

/* Splits "key=value" (in place); NULL value if there is no '='. */
void cli_split_pair(char *arg, char **key, char **value);

/* Writes s as a JSON string (quotes and escapes included). */
void cli_json_string(FILE *f, const char *s);

/* f32 host data moved to and from a plan tensor held as `dtype` (F16: rounded on the way
 * in, widened on the way out; count elements). */
vka_result cli_plan_write_f32(vka_plan *plan, const char *name, const float *data, size_t count, vka_dtype dtype);
vka_result cli_plan_read_f32(vka_plan *plan, const char *name, float *out, size_t count, vka_dtype dtype);

#endif
