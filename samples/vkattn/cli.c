#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vkattn: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_fail_result(vka_context *ctx, vka_result r, const char *doing)
{
    const char *message = vka_last_error(ctx);
    return cli_fail("%s: %s", doing, message && message[0] ? message : vka_result_string(r));
}

const char *cli_device_type_name(vka_device_type type)
{
    switch (type) {
    case VKA_DEVICE_DISCRETE_GPU: return "discrete GPU";
    case VKA_DEVICE_INTEGRATED_GPU: return "integrated GPU";
    case VKA_DEVICE_VIRTUAL_GPU: return "virtual GPU";
    case VKA_DEVICE_CPU: return "CPU";
    default: return "other";
    }
}

void cli_split_pair(char *arg, char **key, char **value)
{
    char *eq = strchr(arg, '=');
    *key = arg;
    *value = NULL;
    if (eq) {
        *eq = '\0';
        *value = eq + 1;
    }
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

bool cli_whole_number(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!text || !isdigit((unsigned char)*text))
        return false; /* no sign, space or empty text */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end || errno == ERANGE || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool cli_real_number(const char *text, double min, double max, double *out)
{
    if (!text || !*text || isspace((unsigned char)*text))
        return false;
    char *end;
    double v = strtod(text, &end);
    if (*end || !isfinite(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int cli_with_split_options(int argc, char **argv, int (*command)(int argc, char **argv))
{
    char **args = malloc(2 * (size_t)(argc + 1) * sizeof *args);
    if (!args)
        return cli_fail("out of host memory");
    int n = 0;
    for (int i = 0; i < argc; i++) {
        char *eq = strncmp(argv[i], "--", 2) == 0 ? strchr(argv[i], '=') : NULL;
        if (eq)
            *eq = '\0';
        args[n++] = argv[i];
        if (eq)
            args[n++] = eq + 1;
    }
    int status = command(n, args);
    free(args);
    return status;
}

int cli_open_context(vka_context **ctx, vka_device_info *info)
{
    vka_result r = vka_context_create(&(vka_context_desc){0}, ctx);
    if (r != VKA_SUCCESS)
        return cli_fail_result(NULL, r, "creating a context");
    vka_context_device_info(*ctx, info);
    return 0;
}

char *cli_read_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n) {
        text[n] = '\0';
        *length = (size_t)n;
    } else {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    return text;
}

vka_result cli_plan_write_f32(vka_plan *plan, const char *name, const float *data, size_t count, vka_dtype dtype)
{
    if (dtype != VKA_DTYPE_F16)
        return vka_plan_write(plan, name, data, count * sizeof *data);
    uint16_t *h = malloc(count * sizeof *h);
    if (!h)
        return VKA_ERROR_OUT_OF_HOST_MEMORY;
    vka_f16_from_f32(data, h, count);
    vka_result r = vka_plan_write(plan, name, h, count * sizeof *h);
    free(h);
    return r;
}

vka_result cli_plan_read_f32(vka_plan *plan, const char *name, float *out, size_t count, vka_dtype dtype)
{
    if (dtype != VKA_DTYPE_F16)
        return vka_plan_read(plan, name, out, count * sizeof *out);
    uint16_t *h = malloc(count * sizeof *h);
    vka_result r = h ? vka_plan_read(plan, name, h, count * sizeof *h) : VKA_ERROR_OUT_OF_HOST_MEMORY;
    if (r == VKA_SUCCESS)
        vka_f32_from_f16(h, out, count);
    free(h);
    return r;
}
