/* The kernel table. Specialization-constant order and shared-memory formulas here must
 * match the `constant_id`s and `shared` declarations of each shader (named beside
 * each entry); the planner checks every dispatch against the device limits and loop budget. */
#include "registry.h"

#include "shaders_spv.h" /* generated: vka_spv_<shader>[] and vka_spv_<shader>_bytes */

/* flash_attn_gpu.comp: ids 1 D4, 2 DV4, 3 BR, 4 BC. */
static uint32_t flash_attn_gpu_shared_bytes(const uint32_t *spec)
{
    uint32_t d4 = spec[1], dv4 = spec[2], br = spec[3], bc = spec[4];
    return 16 * (br * d4 + bc * d4 + bc * dv4) + 4 * (br * bc + 3 * br);
}

/* matmul_gpu.comp: fixed 32×16 and 16×32 tiles of vec4. */
static uint32_t matmul_gpu_shared_bytes(const uint32_t *spec)
{
    (void)spec;
    return 16 * (32 * 4 + 16 * 8);
}

/* layernorm.comp: three passes over a row of push[1] vec4. */
static uint64_t layernorm_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    return 3ull * push[1] + 1;
}

/* heads.comp: clearing a merged row's padding, at most 3 floats. */
static uint64_t heads_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    (void)push;
    return 4;
}

static uint32_t no_shared_memory(const uint32_t *spec)
{
    (void)spec;
    return 0;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* continuous_density.comp: two passes over a row of push[1] basis functions, in vec4. */
static uint64_t continuous_density_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    return 2 * div_up(push[1], 4) + 2;
}

/* pinv_init.comp: 64 invocations; per invocation m/64 columns of m, then m·m/4/64 writes
 * of 4; push[0] is m. */
static uint64_t pinv_init_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    uint64_t m = push[0];
    return div_up(m, 64) * (m + 1) + 6 + div_up(m * div_up(m, 4), 64) * 5;
}

static uint32_t pinv_init_shared_bytes(const uint32_t *spec)
{
    (void)spec;
    return 2 * 64 * 4;
}

/* flash_attn_cpu.comp: one loop, over blocks of KB (spec 5) keys; push[1] is nk. */
static uint64_t flash_attn_cpu_loops(const uint32_t *spec, const uint32_t *push)
{
    return div_up(push[1], spec[5]) + 1;
}

/* flash_attn_cpu_sparse.comp: over the layout's ranges (push[12] at most), within them
 * over blocks — at most one partial block per range. */
static uint64_t flash_sparse_cpu_loops(const uint32_t *spec, const uint32_t *push)
{
    return div_up(push[1], spec[5]) + 2ull * push[12] + 1;
}

/* flash_attn_gpu.comp: per tile of BC keys, the strided loops that stage K and V, score
 * the tile and fold the rows; before them, staging Q. `ranges`: one, or the layout's. */
static uint64_t flash_gpu_loops(const uint32_t *spec, const uint32_t *push, uint64_t ranges)
{
    uint64_t wg = spec[0], d4 = spec[1], dv4 = spec[2], br = spec[3], bc = spec[4];
    uint64_t per_tile = 1 + div_up(bc * d4, wg) + div_up(bc * dv4, wg) + div_up(br * bc, wg) + div_up(br, wg);
    return (div_up(push[1], bc) + ranges - 1) * per_tile + ranges + div_up(br * d4, wg) + div_up(br, wg);
}

static uint64_t flash_attn_gpu_loops(const uint32_t *spec, const uint32_t *push)
{
    return flash_gpu_loops(spec, push, 1);
}

static uint64_t flash_sparse_gpu_loops(const uint32_t *spec, const uint32_t *push)
{
    return flash_gpu_loops(spec, push, push[12] + 1);
}

/* matmul_cpu.comp: one loop over K in vec4; push[2] is K. */
static uint64_t matmul_cpu_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    return div_up(push[2], 4) + 1;
}

/* matmul_gpu.comp: one loop over K in steps of 16. */
static uint64_t matmul_gpu_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    return div_up(push[2], 16) + 1;
}

/* softmax_rows.comp: three passes over the row, 16 scores per iteration; push[1] is nk. */
static uint64_t softmax_rows_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    return 3 * (div_up(push[1], 16) + 1);
}

/* feature_map.comp: ids 4 F4; push[2] is m. Two passes over the projections/features. */
static uint64_t feature_map_loops(const uint32_t *spec, const uint32_t *push)
{
    return div_up(push[2], 4) + spec[4] + 2;
}

/* kstate_blocks.comp: ids 4 T; two passes over a block's keys. */
static uint64_t kstate_blocks_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)push;
    return 2 * (uint64_t)spec[4] + 2;
}

/* kstate_scan.comp: one iteration per block (push[1]) and the statistics row (DV14, id 3). */
static uint64_t kstate_scan_loops(const uint32_t *spec, const uint32_t *push)
{
    return (uint64_t)push[1] + spec[3] + 2;
}

/* kattn_causal.comp: ids 1 F4, 4 ROWS, 5 T. A row sees at most T − 1 keys past its
 * prefix; two passes over them, each key's feature loop unrolled only for F4 ≤ 32. */
static uint64_t kattn_causal_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)push;
    uint64_t f4 = spec[1], keys = (uint64_t)spec[5] + spec[4];
    return 2 * keys + (f4 > 32 ? keys * f4 : 0) + 2;
}

/* te_attn.glsl: ids 1 H, 4 DX, 6 H2, 7 UB; push[2] keys per chunk. Each pair: the MLP's
 * DX + H inputs and H2 / UB second-layer steps; each key one more. */
static uint64_t te_pair_loops(const uint32_t *spec)
{
    return (uint64_t)spec[4] + spec[1] + spec[6] / spec[7];
}

static uint64_t te_attn_loops(const uint32_t *spec, const uint32_t *push)
{
    return (uint64_t)push[2] * (1 + te_pair_loops(spec)) + 1;
}

static uint64_t te_logits_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)push;
    return te_pair_loops(spec) + 1;
}

/* te_combine.comp: push[1] state rows. */
static uint64_t te_combine_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    return push[1] + 1;
}

static uint64_t no_loops(const uint32_t *spec, const uint32_t *push)
{
    (void)spec;
    (void)push;
    return 1;
}

#define SPIRV(name) vka_spv_##name, sizeof vka_spv_##name
#define S VKA_BINDING_STORAGE
#define U VKA_BINDING_UNIFORM

static const vka_kernel kernels[VKA_KERNEL_COUNT] = {
    [VKA_KERNEL_FLASH_ATTN_CPU] =
        {"flash_attn", "cpu", SPIRV(flash_attn_cpu), 5, {S, S, S, S, U}, 5, 6, no_shared_memory, flash_attn_cpu_loops},
    [VKA_KERNEL_FLASH_ATTN_GPU] = {"flash_attn",
                                   "gpu",
                                   SPIRV(flash_attn_gpu),
                                   5,
                                   {S, S, S, S, U},
                                   5,
                                   7,
                                   flash_attn_gpu_shared_bytes,
                                   flash_attn_gpu_loops},
    /* the sparse variants: a 6th binding (the layout, uniform) and 8 more push words */
    [VKA_KERNEL_FLASH_SPARSE_CPU] = {"flash_sparse",
                                     "cpu",
                                     SPIRV(flash_attn_cpu_sparse),
                                     6,
                                     {S, S, S, S, U, U},
                                     13,
                                     6,
                                     no_shared_memory,
                                     flash_sparse_cpu_loops},
    [VKA_KERNEL_FLASH_SPARSE_GPU] = {"flash_sparse",
                                     "gpu",
                                     SPIRV(flash_attn_gpu_sparse),
                                     6,
                                     {S, S, S, S, U, U},
                                     13,
                                     7,
                                     flash_attn_gpu_shared_bytes,
                                     flash_sparse_gpu_loops},
    [VKA_KERNEL_MATMUL_CPU] =
        {"matmul", "cpu", SPIRV(matmul_cpu), 4, {S, S, S, S}, 21, 5, no_shared_memory, matmul_cpu_loops},
    [VKA_KERNEL_MATMUL_GPU] =
        {"matmul", "gpu", SPIRV(matmul_gpu), 4, {S, S, S, S}, 21, 3, matmul_gpu_shared_bytes, matmul_gpu_loops},
    [VKA_KERNEL_SOFTMAX_ROWS] =
        {"softmax_rows", "any", SPIRV(softmax_rows), 2, {S, U}, 4, 2, no_shared_memory, softmax_rows_loops},
    [VKA_KERNEL_FEATURE_MAP] =
        {"feature_map", "any", SPIRV(feature_map), 4, {S, S, S, S}, 4, 5, no_shared_memory, feature_map_loops},
    [VKA_KERNEL_KSTATE_BLOCKS] =
        {"kstate_blocks", "any", SPIRV(kstate_blocks), 4, {S, S, S, U}, 7, 8, no_shared_memory, kstate_blocks_loops},
    [VKA_KERNEL_KSTATE_SCAN] =
        {"kstate_scan", "any", SPIRV(kstate_scan), 2, {S, S}, 2, 6, no_shared_memory, kstate_scan_loops},
    [VKA_KERNEL_KATTN_CAUSAL] =
        {"kattn_causal", "any", SPIRV(kattn_causal), 5, {S, S, S, S, U}, 9, 7, no_shared_memory, kattn_causal_loops},
    [VKA_KERNEL_KATTN_NORMALIZE] =
        {"kattn_normalize", "any", SPIRV(kattn_normalize), 4, {S, S, S, U}, 6, 5, no_shared_memory, no_loops},
    [VKA_KERNEL_COPY_ROWS] = {"copy_rows", "any", SPIRV(copy_rows), 2, {S, S}, 3, 1, no_shared_memory, no_loops},
    /* pointwise.comp: ids 0 workgroup size, 1 MODE; no loops. */
    [VKA_KERNEL_POINTWISE] = {"pointwise", "any", SPIRV(pointwise), 3, {S, S, S}, 3, 2, no_shared_memory, no_loops},
    /* layernorm.comp: ids 0 workgroup size, 1 AFFINE. */
    [VKA_KERNEL_LAYERNORM] =
        {"layernorm", "any", SPIRV(layernorm), 4, {S, S, S, S}, 4, 2, no_shared_memory, layernorm_loops},
    /* heads.comp: ids 0 workgroup size, 1 SPLIT. */
    [VKA_KERNEL_HEADS] = {"heads", "any", SPIRV(heads), 2, {S, S}, 3, 2, no_shared_memory, heads_loops},
    /* continuous_density.comp: id 0 workgroup size; the basis in push constants. */
    [VKA_KERNEL_CONTINUOUS_DENSITY] = {"continuous_density",
                                       "any",
                                       SPIRV(continuous_density),
                                       4,
                                       {S, S, S, S},
                                       13,
                                       1,
                                       no_shared_memory,
                                       continuous_density_loops},
    /* pinv_init.comp: a fixed 64-invocation workgroup per slice. */
    [VKA_KERNEL_PINV_INIT] =
        {"pinv_init", "any", SPIRV(pinv_init), 2, {S, S}, 1, 1, pinv_init_shared_bytes, pinv_init_loops},
    /* te_attn.glsl: ids 0 workgroup size, 1 H, 2 DH, 3 DV, 4 DX, 5 H1, 6 H2, 7 UB. */
    [VKA_KERNEL_TE_ATTN] =
        {"te_attn", "any", SPIRV(te_attn), 7, {S, S, S, S, S, S, S}, 6, 8, no_shared_memory, te_attn_loops},
    [VKA_KERNEL_TE_LOGITS] =
        {"te_logits", "any", SPIRV(te_logits), 7, {S, S, S, S, S, S, S}, 6, 8, no_shared_memory, te_logits_loops},
    /* te_combine.comp: ids 0 workgroup size, 1 H, 2 DV. */
    [VKA_KERNEL_TE_COMBINE] =
        {"te_combine", "any", SPIRV(te_combine), 2, {S, S}, 2, 3, no_shared_memory, te_combine_loops},
};

const vka_kernel *vka_kernel_get(vka_kernel_id id)
{
    return (unsigned)id < VKA_KERNEL_COUNT ? &kernels[id] : NULL;
}
