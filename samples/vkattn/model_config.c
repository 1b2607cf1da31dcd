#include "model_config.h"

#include "json.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static bool number_field(const json_value *root, const char *key, double *out, const char *path)
{
    const json_value *v = json_member(root, key);
    if (!v || v->type == JSON_NULL)
        return true; /* absent: the default */
    if (v->type != JSON_NUMBER) {
        cli_fail("%s: \"%s\" must be a number", path, key);
        return false;
    }
    *out = v->number;
    return true;
}

/* "zc" / "zt" / "zp" (and the TE locations "xc" / "xt" / "xp", which must match). */
static bool set_named(const json_value *step, const char *key, char prefix, vka_tnp_set *out)
{
    const json_value *v = json_member(step, key);
    static const char sets[3] = {'c', 't', 'p'};
    if (!v || v->type != JSON_STRING || strlen(v->string) != 2 || v->string[0] != prefix)
        return false;
    for (int i = 0; i < 3; i++)
        if (v->string[1] == sets[i]) {
            *out = (vka_tnp_set)i;
            return true;
        }
    return false;
}

static bool parse_schedule(const json_value *schedule, model_config *m, const char *path)
{
    if (!schedule || schedule->type != JSON_ARRAY || schedule->count == 0 || schedule->count > MAX_STEPS) {
        cli_fail("%s: \"schedule\" must be a list of 1..%d steps", path, MAX_STEPS);
        return false;
    }
    for (size_t i = 0; i < schedule->count; i++) {
        const json_value *s = &schedule->items[i], *block = json_member(s, "block");
        vka_tnp_step *step = &m->steps[i];
        vka_tnp_set xq, xk;
        if (!block || block->type != JSON_STRING || strlen(block->string) >= sizeof m->blocks[0] ||
            !set_named(s, "update", 'z', &step->update) || !set_named(s, "kv", 'z', &step->kv)) {
            cli_fail("%s: schedule step %zu needs \"block\", \"update\" and \"kv\" (zc, zt or zp)", path, i);
            return false;
        }
        if ((json_member(s, "xq") && (!set_named(s, "xq", 'x', &xq) || xq != step->update)) ||
            (json_member(s, "xk") && (!set_named(s, "xk", 'x', &xk) || xk != step->kv))) {
            cli_fail("%s: schedule step %zu: the locations xq/xk must be those of update/kv", path, i);
            return false;
        }
        snprintf(m->blocks[i], sizeof m->blocks[i], "%s", block->string);
        step->block = m->blocks[i];
    }
    m->desc.schedule = m->steps;
    m->desc.schedule_length = (uint32_t)schedule->count;
    return true;
}

bool model_config_parse(const char *text, size_t length, const char *path, model_config *m)
{
    char error[160];
    json_value *root = json_parse(text, length, error, sizeof error);
    if (!root || root->type != JSON_OBJECT) {
        cli_fail("%s: not a JSON object (%s)", path, root ? "another value" : error);
        json_free(root);
        return false;
    }
    const json_value *arch = json_member(root, "arch");
    double heads = 0, layers = 0, scale = 0, eps = 0, linear_eps = 0, dim_x = 2;
    bool ok = true;
    if (!arch || arch->type != JSON_STRING || vka_tnp_arch_named(arch->string, &m->desc.arch) != VKA_SUCCESS) {
        cli_fail("%s: \"arch\" must be one of tnp, linear_tnp, hypermix_np, pt_tnp, tetnp, pt_tetnp (got %s)", path,
                 arch && arch->type == JSON_STRING ? arch->string : "none");
        ok = false;
    }
    ok = ok && number_field(root, "num_heads", &heads, path) && number_field(root, "num_layers", &layers, path) &&
         number_field(root, "attention_scale", &scale, path) && number_field(root, "layernorm_eps", &eps, path) &&
         number_field(root, "linear_attention_eps", &linear_eps, path) && number_field(root, "dim_x", &dim_x, path) &&
         parse_schedule(json_member(root, "schedule"), m, path);
    if (ok && (heads < 0 || heads > 1024 || heads != floor(heads))) {
        cli_fail("%s: \"num_heads\" must be a whole number in 1..1024", path);
        ok = false;
    }
    if (ok && (layers < 0 || layers > 64 || layers != floor(layers))) {
        cli_fail("%s: \"num_layers\" must be a whole number in 1..64", path);
        ok = false;
    }
    if (ok && (dim_x < 1 || dim_x > 64 || dim_x != floor(dim_x))) {
        cli_fail("%s: \"dim_x\" must be a whole number in 1..64", path);
        ok = false;
    }
    const struct {
        const char *key;
        double value;
    } reals[] = {{"attention_scale", scale}, {"layernorm_eps", eps}, {"linear_attention_eps", linear_eps}};
    for (int i = 0; ok && i < 3; i++)
        if (fabs(reals[i].value) > FLT_MAX) { /* a float cannot hold it (the engine judges the rest) */
            cli_fail("%s: \"%s\" is %g, beyond a float", path, reals[i].key, reals[i].value);
            ok = false;
        }
    if (ok) { /* converted only once in range: a double beyond an integer's range is undefined */
        m->dim_x = (uint32_t)dim_x;
        m->desc.heads = (uint32_t)heads;
        m->desc.layers = (uint32_t)layers;
        m->desc.attention_scale = (float)scale;
        m->desc.layernorm_eps = (float)eps;
        m->desc.linear_eps = (float)linear_eps;
    }
    json_free(root);
    return ok;
}
