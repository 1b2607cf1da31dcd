/* The kernel table, generated from the shaders (tools/kernel_interface.py). */
#include "registry.h"

/* The helpers the shaders' vka_loops / vka_shared_bytes expressions may use. */
static inline uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

#include "vka_kernel_table.h" /* generated: the SPIR-V, the rules, kernel_table */

const vka_kernel *vka_kernel_get(vka_kernel_id id)
{
    return (unsigned)id < VKA_KERNEL_COUNT ? &kernel_table[id] : NULL;
}
