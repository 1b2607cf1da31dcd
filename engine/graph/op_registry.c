/* The operation catalogue: every class the sources define (tools/op_registry.py). */
#include "op.h"

#include <string.h>

#define VKA_OP(name) extern const vka_op_class vka_op_##name;
#include "vka_ops.h" /* generated: every VKA_OP_CLASS in the engine's sources */
#undef VKA_OP

#define VKA_OP(name) &vka_op_##name,
static const vka_op_class *const classes[] = {
#include "vka_ops.h"
};
#undef VKA_OP

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
    for (int i = 0; cls->inputs[i].role; i++)
        if (strcmp(cls->inputs[i].role, role) == 0)
            return i;
    return -1;
}

uint32_t vka_op_input_count(const vka_op_class *cls)
{
    uint32_t n = 0;
    while (cls->inputs[n].role)
        n++;
    return n;
}

uint32_t vka_op_required_input_count(const vka_op_class *cls)
{
    uint32_t n = 0;
    for (uint32_t i = 0; cls->inputs[i].role; i++)
        n += !cls->inputs[i].optional;
    return n;
}
