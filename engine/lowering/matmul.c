/* The batched matrix product as a lowering step: the kernel variant (register-blocked
 * for CPU devices, shared-memory tiles for GPUs) and its workgroup counts. */
#include "matmul.h"
#include "kernel_class.h"

static uint32_t epilogue_bits(const vka_matmul_desc *m)
{
    /* = matmul_epilogue.glsl's pc.epilogue */
    return (uint32_t)m->activation | (m->bias ? 8u : 0u) | (m->accumulate ? 16u : 0u) | (m->key_counts ? 32u : 0u);
}

vka_result vka_lower_matmul(vka_lowering *lw, const vka_matmul_desc *m)
{
    const vka_device_info *dev = vka_lower_device(lw);
    if ((m->trans_a && (m->trans_b || m->groups)) || (m->key_counts && (!m->trans_a || !m->heads)))
        return vka_fail(vka_lower_context(lw), VKA_ERROR_UNSUPPORTED,
                        "matmul: trans_a excludes trans_b and groups; a key limit needs trans_a and heads");
    uint32_t k4 = vka_div_up(m->k, 4), n4 = vka_div_up(m->n, 4), m4 = vka_div_up(m->m, 4);
    uint32_t lda = m->lda ? m->lda : (m->trans_a ? m4 : k4), ldb = m->ldb ? m->ldb : (m->trans_b ? k4 : n4),
             ldc = m->ldc ? m->ldc : n4;
    uint32_t groups = m->groups ? m->groups : 1, extra = m->key_counts ? m->key_counts : m->bias, dummy = 0;
    vka_result r = extra ? VKA_SUCCESS : vka_lower_dummy(lw, &dummy);
    if (r != VKA_SUCCESS)
        return r;
    vka_dispatch_desc d = {
        .push.matmul =
            {
                .m = m->m,
                .n = m->n,
                .k = m->k,
                .alpha = m->alpha,
                .lda = lda,
                .ldb = ldb,
                .ldc = ldc,
                .b_offset = m->b_offset,
                .c_offset = m->c_offset,
                .a_group_stride = m->a_group_stride,
                .b_group_stride = m->b_group_stride,
                .c_group_stride = m->c_group_stride,
                .b_group_base = m->b_group_base,
                .b_group_last = m->b_group_last,
                .m_total = m->groups ? m->m_total : m->m,
                .epilogue = epilogue_bits(m),
                .heads = m->heads ? m->heads : 1,
                .k_base = m->k_base,
                .a_offset = m->a_offset,
                .a_divisor = m->a_slice_divisor,
                .b_divisor = m->b_slice_divisor,
                .diagonal = m->diagonal,
            },
        .groups_y = groups,
        .slices = m->slices,
        .bindings = {{.tensor = m->a,
                      .access = VKA_READ,
                      .whole = m->a_whole,
                      .slice_offset = 0,
                      .slice_divisor = m->a_slice_divisor},
                     {.tensor = m->b, .access = VKA_READ, .whole = m->b_whole, .slice_divisor = m->b_slice_divisor},
                     {.tensor = m->c, .access = m->accumulate ? VKA_READ_WRITE : VKA_WRITE, .whole = false},
                     {.tensor = extra ? extra : dummy, .access = VKA_READ, .whole = true}},
    };
    if (vka_cpu_class(dev)) {
        /* 4 rows × 2 vec4 per invocation, vec4 loads, no shared memory. */
        uint32_t wg = 64, tm = 4, tn4 = 2;
        d.kernel = VKA_KERNEL_MATMUL_CPU;
        d.spec.matmul_cpu = (vka_matmul_cpu_spec){
            .workgroup_size = wg, .TM = tm, .TN4 = tn4, .TRANS_B = m->trans_b, .TRANS_A = m->trans_a};
        d.groups_x = vka_div_up(vka_div_up(m->m, tm) * vka_div_up(n4, tn4), wg);
    } else {
        d.kernel = VKA_KERNEL_MATMUL_GPU;
        d.spec.matmul_gpu = (vka_matmul_gpu_spec){.workgroup_size = 64, .TRANS_B = m->trans_b, .TRANS_A = m->trans_a};
        d.groups_x = vka_div_up(m->m, 32) * vka_div_up(n4, 8);
    }
    return vka_lower_dispatch(lw, &d);
}
