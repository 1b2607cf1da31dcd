#include "params.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

vka_result vka_params_begin(vka_param_reader *r, vka_context *ctx, const char *op, const vka_op_param *params)
{
    *r = (vka_param_reader){.ctx = ctx, .op = op, .params = params};
    while (r->count < VKA_MAX_OP_PARAMS && params[r->count].key)
        r->count++;
    for (uint32_t i = 0; i < r->count; i++) {
        if (!params[i].value)
            return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' has no value", op, params[i].key);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(params[i].key, params[j].key) == 0)
                return vka_fail(ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' is given twice", op,
                                params[i].key);
    }
    return VKA_SUCCESS;
}

static const char *take(vka_param_reader *r, const char *key)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (strcmp(r->params[i].key, key) == 0) {
            r->used |= 1u << i;
            return r->params[i].value;
        }
    return NULL;
}

bool vka_param_given(const vka_param_reader *r, const char *key)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (strcmp(r->params[i].key, key) == 0)
            return true;
    return false;
}

vka_result vka_param_bool(vka_param_reader *r, const char *key, bool fallback, bool *out)
{
    const char *v = take(r, key);
    *out = fallback;
    if (!v)
        return VKA_SUCCESS;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        *out = false;
    else
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be 0 or 1, got '%s'", r->op, key,
                        v);
    return VKA_SUCCESS;
}

vka_result vka_param_number(vka_param_reader *r, const char *key, double fallback, double *out)
{
    const char *v = take(r, key);
    *out = fallback;
    if (!v)
        return VKA_SUCCESS;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE)
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be a number, got '%s'", r->op, key,
                        v);
    if (!isfinite(x))
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be finite, got '%s'", r->op, key,
                        v);
    *out = x;
    return VKA_SUCCESS;
}

vka_result vka_param_scale(vka_param_reader *r, const char *key, uint32_t head_dim, float *out)
{
    double scale;
    vka_result result = vka_param_number(r, key, 1.0 / sqrt((double)head_dim), &scale);
    if (result == VKA_SUCCESS && fabs(scale) > 3.0e38)
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: %s %g does not fit in float32", r->op, key, scale);
    *out = (float)scale;
    return result;
}

vka_result vka_param_uint(vka_param_reader *r, const char *key, uint32_t fallback, uint32_t min, uint32_t max,
                          uint32_t *out)
{
    const char *v = take(r, key);
    *out = fallback;
    if (!v)
        return VKA_SUCCESS;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE || x < (long long)min || x > (long long)max)
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT,
                        "%s: parameter '%s' must be an integer in [%u, %u], got '%s'", r->op, key, min, max, v);
    *out = (uint32_t)x;
    return VKA_SUCCESS;
}

vka_result vka_param_choice(vka_param_reader *r, const char *key, const char *const *choices, int fallback, int *out)
{
    const char *v = take(r, key);
    *out = fallback;
    if (!v)
        return VKA_SUCCESS;
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(choices[i], v) == 0) {
            *out = i;
            return VKA_SUCCESS;
        }
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? " or " : "", choices[i]);
    }
    return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' must be %s, got '%s'", r->op, key, list, v);
}

vka_result vka_param_name(vka_param_reader *r, const char *key, const char *fallback, char *out, size_t size)
{
    const char *v = take(r, key);
    if (!v)
        v = fallback;
    if (!v[0] || strlen(v) >= size)
        return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: parameter '%s' wants a name of 1 to %zu characters",
                        r->op, key, size - 1);
    memcpy(out, v, strlen(v) + 1);
    return VKA_SUCCESS;
}

vka_result vka_params_end(vka_param_reader *r)
{
    for (uint32_t i = 0; i < r->count; i++)
        if (!(r->used & (1u << i)))
            return vka_fail(r->ctx, VKA_ERROR_INVALID_ARGUMENT, "%s: unknown parameter '%s'", r->op, r->params[i].key);
    return VKA_SUCCESS;
}
