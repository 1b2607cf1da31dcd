/* How a tensor sits in the arena. Rows are padded to a multiple of 4 elements so every
 * kernel can use vec4 loads (research/lavapipe-performance.md: load instructions
 * dominate on lavapipe; vec4 cuts their number by 4). The leading axes form "slices"
 * ([batch, head] pairs for attention tensors): a dispatch too big for one binding is
 * split along them, and then every slice must start at an aligned offset. */
#include "plan.h"

void vka_tensor_layout(vka_plan_tensor *t, uint64_t alignment)
{
    if (t->rank == 0) /* the unused tensor id 0 */
        return;
    const uint32_t *d = t->dims;
    uint32_t last = d[t->rank - 1];
    t->row_elems = (uint32_t)vka_align_up(last, 4);
    t->rows = t->rank >= 2 ? d[t->rank - 2] : 1;
    t->slices = 1;
    for (uint32_t i = 0; i + 2 < t->rank; i++)
        t->slices *= d[i];
    /* Strides stay whole vec4 (the kernels count them so) and, when aligned, whole
     * alignments in bytes: f16 elements are 2 bytes, the rest 4. */
    uint32_t element_bytes = vka_dtype_bytes(t->dtype);
    uint64_t slice_elems = (uint64_t)t->rows * t->row_elems;
    uint64_t unit = VKA_MAX(alignment / element_bytes, 4);
    t->slice_stride = t->aligned_slices ? vka_align_up(slice_elems, unit) : slice_elems;
    t->bytes = ((uint64_t)(t->slices - 1) * t->slice_stride + slice_elems) * element_bytes;
    if (element_bytes == 2) /* whole 16 bytes: an f16 uniform is read as std140 uvec4 (aaren's query) */
        t->bytes = vka_align_up(t->bytes, 16);
}
