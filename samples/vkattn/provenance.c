#include "provenance.h"
#ifndef VKATTN_COMMIT
#include "vkattn_commit.h" /* the commit the tool is built from (cmake/commit.cmake) */
#endif

#include <stdarg.h>
#include <string.h>
#include <time.h>

static char command_line[1024] = "vkattn";

void provenance_set_command(int argc, char **argv)
{
    size_t used = (size_t)snprintf(command_line, sizeof command_line, "vkattn");
    for (int i = 1; i < argc && used < sizeof command_line; i++)
        used += (size_t)snprintf(command_line + used, sizeof command_line - used, " %s", argv[i]);
}

const char *provenance_command(void)
{
    return command_line;
}

void provenance_driver_version(const vka_device_info *info, char *out, size_t size)
{
    uint32_t v = info->driver_version;
    if (info->vendor_id == 0x10de) /* NVIDIA */
        snprintf(out, size, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
#if defined(_WIN32)
    else if (info->vendor_id == 0x8086) /* Intel's Windows driver */
        snprintf(out, size, "%u.%u", v >> 14, v & 0x3fff);
#endif
    else
        snprintf(out, size, "%u.%u.%u", v >> 22, (v >> 12) & 0x3ff, v & 0xfff);
}

static void utc_now(char *utc, size_t size)
{
    snprintf(utc, size, "unknown");
    time_t now = time(NULL);
    const struct tm *parts = gmtime(&now);
    if (parts)
        strftime(utc, size, "%Y-%m-%dT%H:%M:%SZ", parts);
}

/* A CSV cell: quoted, its quotes doubled. */
static void csv_text(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        fputs(*s == '"' ? "\"\"" : (char[2]){*s, 0}, f);
    fputc('"', f);
}

void provenance_write_csv(FILE *f, const vka_device_info *info)
{
    char driver_version[48], utc[32];
    provenance_driver_version(info, driver_version, sizeof driver_version);
    utc_now(utc, sizeof utc);
    csv_text(f, info->name);
    fputc(',', f);
    csv_text(f, info->driver);
    fprintf(f, ",0x%04x,0x%04x,%s,%u.%u.%u,%s,%s,%s,%s,%s,", info->vendor_id, info->device_id, driver_version,
            info->api_version >> 22, (info->api_version >> 12) & 0x3ff, info->api_version & 0xfff, info->limits_profile,
            info->kernel_class == VKA_KERNEL_CLASS_CPU ? "cpu" : "gpu", VKATTN_VERSION_STRING, VKATTN_COMMIT, utc);
    csv_text(f, command_line);
}

static void write_tool(FILE *f)
{
    char utc[32];
    utc_now(utc, sizeof utc);
    fprintf(f, "\"tool\":{\"version\":\"%s\",\"commit\":\"%s\",\"time_utc\":\"%s\",\"command\":", VKATTN_VERSION_STRING,
            VKATTN_COMMIT, utc);
    cli_json_string(f, command_line);
    fprintf(f, "}");
}

static void write_device(FILE *f, const vka_device_info *info)
{
    char driver_version[48];
    provenance_driver_version(info, driver_version, sizeof driver_version);
    fprintf(f, "\"device\":{\"name\":");
    cli_json_string(f, info->name);
    fprintf(f, ",\"driver\":");
    cli_json_string(f, info->driver);
    fprintf(f,
            ",\"vendor_id\":\"0x%04x\",\"device_id\":\"0x%04x\",\"driver_version\":\"%s\","
            "\"driver_version_raw\":%u,\"api_version\":\"%u.%u.%u\",\"pipeline_cache_uuid\":\"",
            info->vendor_id, info->device_id, driver_version, info->driver_version, info->api_version >> 22,
            (info->api_version >> 12) & 0x3ff, info->api_version & 0xfff);
    for (int i = 0; i < 16; i++)
        fprintf(f, "%02x", info->pipeline_cache_uuid[i]);
    fprintf(f,
            "\",\"subgroup_size\":%u,\"shared_memory_bytes\":%u,\"fp16_storage\":%s,\"fp16_arithmetic\":%s,"
            "\"limits\":\"%s\",\"kernel_class\":\"%s\"}",
            info->subgroup_size, info->limits.max_shared_memory_bytes, info->storage_buffer_16bit ? "true" : "false",
            info->shader_float16 ? "true" : "false", info->limits_profile,
            info->kernel_class == VKA_KERNEL_CLASS_CPU ? "cpu" : "gpu");
}

void provenance_write_json(FILE *f, const vka_device_info *info)
{
    write_tool(f);
    fprintf(f, ",");
    write_device(f, info);
}

static size_t append(char *buf, size_t size, size_t used, const char *format, ...)
{
    if (used >= size)
        return used;
    va_list args;
    va_start(args, format);
    int n = vsnprintf(buf + used, size - used, format, args);
    va_end(args);
    return n < 0 ? size : used + (size_t)n;
}

bool provenance_params_json(const vka_graph *g, vka_tensor op, char *buf, size_t size)
{
    size_t used = append(buf, size, 0, "{");
    for (uint32_t i = 0; i < vka_graph_op_param_count(g, op); i++) {
        vka_param_value v;
        if (vka_graph_op_param_at(g, op, i, &v) != VKA_SUCCESS)
            continue;
        used = append(buf, size, used, "%s\"%s\":", i ? "," : "", v.key);
        if (!v.text) {
            used = append(buf, size, used, "%.9g", v.number);
            continue;
        }
        used = append(buf, size, used, "\"");
        for (const unsigned char *t = (const unsigned char *)v.text; *t; t++) /* a state's name is the user's */
            used = *t == '"' || *t == '\\' ? append(buf, size, used, "\\%c", *t)
                   : *t < 0x20             ? append(buf, size, used, "\\u%04x", *t)
                                           : append(buf, size, used, "%c", *t);
        used = append(buf, size, used, "\"");
    }
    used = append(buf, size, used, "}");
    if (used >= size)
        buf[0] = '\0';
    return used < size;
}
