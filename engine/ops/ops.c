/* The operation catalogue: one line per family file. */
#include "op.h"

#include <string.h>

extern const vka_op_class vka_op_softmax;
extern const vka_op_class vka_op_linear;
extern const vka_op_class vka_op_performer;
extern const vka_op_class vka_op_inducing;
extern const vka_op_class vka_op_hypermixer;
extern const vka_op_class vka_op_continuous;
extern const vka_op_class vka_op_continuous_update;
extern const vka_op_class vka_op_linformer;
extern const vka_op_class vka_op_nystrom;
extern const vka_op_class vka_op_local;
extern const vka_op_class vka_op_longformer;
extern const vka_op_class vka_op_bigbird;
extern const vka_op_class vka_op_strided;
extern const vka_op_class vka_op_fixed;
extern const vka_op_class vka_op_blockwise;
extern const vka_op_class vka_op_blocksparse;
extern const vka_op_class vka_op_gelu;
extern const vka_op_class vka_op_relu;
extern const vka_op_class vka_op_softplus;
extern const vka_op_class vka_op_add;
extern const vka_op_class vka_op_dense;
extern const vka_op_class vka_op_layernorm;
extern const vka_op_class vka_op_concat;
extern const vka_op_class vka_op_split_heads;
extern const vka_op_class vka_op_merge_heads;
extern const vka_op_class vka_op_broadcast;
extern const vka_op_class vka_op_te_attention;
extern const vka_op_class vka_op_sqrt_softplus;
extern const vka_op_class vka_op_mean_tokens;

static const vka_op_class *const classes[] = {
    &vka_op_softmax,
    &vka_op_linear,
    &vka_op_performer,
    &vka_op_inducing,
    &vka_op_hypermixer,
    &vka_op_continuous,
    &vka_op_continuous_update,
    &vka_op_linformer,
    &vka_op_nystrom,
    &vka_op_local,
    &vka_op_longformer,
    &vka_op_bigbird,
    &vka_op_strided,
    &vka_op_fixed,
    &vka_op_blockwise,
    &vka_op_blocksparse,
    &vka_op_te_attention,
    &vka_op_gelu,
    &vka_op_relu,
    &vka_op_softplus,
    &vka_op_sqrt_softplus,
    &vka_op_add,
    &vka_op_dense,
    &vka_op_layernorm,
    &vka_op_concat,
    &vka_op_split_heads,
    &vka_op_merge_heads,
    &vka_op_broadcast,
    &vka_op_mean_tokens,
};

uint32_t vka_op_class_count(void)
{
    return (uint32_t)VKA_ARRAY_LEN(classes);
}

const vka_op_class *vka_op_class_at(uint32_t index)
{
    return index < VKA_ARRAY_LEN(classes) ? classes[index] : NULL;
}

const vka_op_class *vka_op_class_named(const char *name)
{
    for (size_t i = 0; i < VKA_ARRAY_LEN(classes); i++)
        if (strcmp(classes[i]->name, name) == 0)
            return classes[i];
    return NULL;
}

int vka_op_role_index(const vka_op_class *cls, const char *role)
{
    for (int i = 0; cls->input_roles[i]; i++)
        if (strcmp(cls->input_roles[i], role) == 0)
            return i;
    return -1;
}
