/* vkattn — models built from graph operations: attention blocks (MHA, the Set
 * Transformer's MAB/ISAB/PMA, transformer layers, pseudo-token encoders) and the
 * Transformer Neural Processes.
 * Beside the core header (vkattn.h), which it includes. */
#ifndef VKATTN_MODELS_H
#define VKATTN_MODELS_H

#include "../vkattn.h"
#include "io.h" /* the TNP builder reads a .safetensors file */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- blocks */

/* A multi-head attention block built from graph operations: projections in (dense),
 * split into heads, any attention scheme, merge, projection out (dense):
 *   out = merge(scheme(split(x_q W_q + b_q), split(x_kv W_k + b_k), split(x_kv W_v + b_v))) W_o + b_o
 * x_q [B, Nq, model] (or [Nq, model]), x_kv likewise (x_kv = x_q when absent: self
 * attention); W_q, W_k [model, H·Dh], W_v [model, H·Dv], W_o [H·Dv, out]; biases optional.
 * `inputs` adds the scheme's other inputs (kv_len, latents, projection …) and `params`
 * its parameters (causal, scale, kernel …). */
typedef struct vka_mha_desc {
    vka_tensor x_q, x_kv;
    vka_tensor w_q, w_k, w_v, w_o;
    vka_tensor b_q, b_k, b_v, b_o; /* {0}: no bias */
    uint32_t heads;
    const char *scheme;                         /* NULL: "softmax" */
    vka_op_input inputs[VKA_MAX_OP_INPUTS - 3]; /* besides q, k, v; ends at the first without a role */
    vka_op_param params[VKA_MAX_OP_PARAMS];     /* ends at the first without a key */
    vka_op_number numbers[VKA_MAX_OP_PARAMS];   /* the same, as numbers */
    bool weights_out_in;                        /* the W are stored [out, in] (PyTorch's Linear), read in place */
} vka_mha_desc;

VKA_API vka_result vka_graph_mha(vka_graph *graph, const vka_mha_desc *desc, vka_tensor *out);

/* Set Transformer's multihead attention block (Lee et al. 2019, as its code computes it):
 *   H = Q + merge(softmax(split(Q) split(K)ᵀ · scale) split(V)),  Q = x W_q + b_q,
 *       K = y W_k + b_k, V = y W_v + b_v        (the residual adds the *projected* queries)
 *   H = LN0(H);  out = LN1(H + relu(H W_o + b_o))   (each LN only when its weight is given)
 * x [B, Nx, in_x], y [B, Ny, in_y] (y = x when absent: SAB); W_q [in_x, d], W_k and W_v
 * [in_y, d], W_o [d, d]; heads divide d. `scale` 0 means 1/√d — the model width, not the
 * head width, as the Set Transformer code has it (weight compatibility). */
typedef struct vka_mab_desc {
    vka_tensor x, y;
    vka_tensor w_q, b_q, w_k, b_k, w_v, b_v, w_o, b_o; /* biases {0}: none */
    vka_tensor ln0_weight, ln0_bias, ln1_weight, ln1_bias;
    uint32_t heads;
    float scale;
    bool weights_out_in; /* the W are stored [out, in] (PyTorch's Linear), read in place */
} vka_mab_desc;

VKA_API vka_result vka_graph_mab(vka_graph *graph, const vka_mab_desc *desc, vka_tensor *out);

/* ISAB_m(X) = MAB1(X, MAB0(I, X)) with m learned inducing points I [1 or B, m, d] (one
 * shared set is broadcast over the batch); PMA_k(Z) = MAB(S, Z) with k learned seeds S
 * (as the Set Transformer code has it: no feed-forward on Z). The blocks' `x`/`y` are
 * set by these calls. */
VKA_API vka_result vka_graph_isab(vka_graph *graph, vka_tensor x, vka_tensor inducing, const vka_mab_desc *mab0,
                                  const vka_mab_desc *mab1, vka_tensor *out);
VKA_API vka_result vka_graph_pma(vka_graph *graph, vka_tensor z, vka_tensor seeds, const vka_mab_desc *mab,
                                 vka_tensor *out);

/* A pre-norm transformer layer (TNP, Perceiver, LBANP, IST):
 *   hq = LN1(x), hc = LN1(context) (the same norm; hc = hq when context is absent)
 *   x  = r(x) + MHA(hq, hc);  x = x + fc2(relu(fc1(LN2(x))))
 * with r(x) = x, or LN1(x) when residual_normalized (LBANP's PreNorm adds the normalised
 * input). `attention` holds the projections, heads and scheme (its x_q/x_kv are set
 * here); layer norms with eps (0: 1e-5); fc biases optional. */
typedef struct vka_transformer_layer_desc {
    vka_tensor x, context;
    vka_mha_desc attention;
    vka_tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias;
    vka_tensor fc1_weight, fc1_bias, fc2_weight, fc2_bias;
    float eps;
    bool residual_normalized;
    bool weights_out_in; /* every W of the layer (fc and attention) stored [out, in] */
} vka_transformer_layer_desc;

VKA_API vka_result vka_graph_transformer_layer(vka_graph *graph, const vka_transformer_layer_desc *desc,
                                               vka_tensor *out);

/* Pseudo-token encoders of M latents U between context tokens C and targets T, per layer
 * (every step a transformer layer; layer i's steps are steps[3i … 3i+2]):
 *   PERCEIVER (TNP's PerceiverEncoder, the LBANP order):  U ← CA(U, C); U ← SA(U); T ← CA(T, U)
 *   IST (Ashman et al. 2024):  U ← CA(U, C); T ← CA(T, U); C ← CA(C, U) (not in the last layer)
 * latents [1 or B, M, d] (a shared set is broadcast); context [B, Nc, d]; targets
 * [B, Nt, d]. *out is T after the last layer. */
typedef enum vka_encoder_order {
    VKA_ENCODER_PERCEIVER,
    VKA_ENCODER_IST,
} vka_encoder_order;

typedef struct vka_pseudo_token_encoder_desc {
    vka_encoder_order order;
    vka_tensor latents, context, targets;
    uint32_t layers;
    const vka_transformer_layer_desc *steps; /* 3 · layers; x and context are set here */
} vka_pseudo_token_encoder_desc;

VKA_API vka_result vka_graph_pseudo_token_encoder(vka_graph *graph, const vka_pseudo_token_encoder_desc *desc,
                                                  vka_tensor *out);

/* ---------------------------------------------------------------- Transformer Neural Processes */

/* The efficient-TNP chapter's six models (research: tnp-tables.md), built as a graph from
 * PyTorch-named weights (a linear layer's `weight` [out, in], `bias` [out]):
 *   TNP, LinearTNP (elu+1 linear attention), HyperMixNP (HyperMixer, one head), PT-TNP
 *   (32 pseudo-tokens, IST order), TETNP (translation-equivariant attention, one layer
 *   shared by the context and target steps), PT-TETNP (TE with pseudo-tokens placed at
 *   learned offsets around the context's mean location).
 * Names: embedder.fc{1,2,3}, decoder.fc{1,2,3}, per block `<block>.norm{1,2}`,
 * `<block>.attn.w{q,k,v,o}`, `<block>.ff.fc{1,2}`; HyperMixer `<block>.attn.mlp_{k,q}{1,2}`
 * and `<block>.attn.norm`; TE `<block>.attn.kernel.fc{1,2,3}`; `latents` (PT-TNP),
 * `latent_tokens` and `latent_inputs` (PT-TETNP). */
typedef enum vka_tnp_arch {
    VKA_TNP_ARCH_TNP = 0,
    VKA_TNP_ARCH_LINEAR_TNP,
    VKA_TNP_ARCH_HYPERMIX_NP,
    VKA_TNP_ARCH_PT_TNP,
    VKA_TNP_ARCH_TETNP,
    VKA_TNP_ARCH_PT_TETNP,
    VKA_TNP_ARCH_COUNT
} vka_tnp_arch;

VKA_API const char *vka_tnp_arch_name(vka_tnp_arch arch); /* "tnp", "linear_tnp", … ; NULL if unknown */
/* NOT_FOUND (message on vka_last_error(NULL)) for an unknown name. */
VKA_API vka_result vka_tnp_arch_named(const char *name, vka_tnp_arch *out);

/* The token sets a schedule step reads and writes. */
typedef enum vka_tnp_set { VKA_TNP_CONTEXT = 0, VKA_TNP_TARGET, VKA_TNP_PSEUDO } vka_tnp_set;

/* update ← block(queries = update, keys and values = kv); TE models use the sets' locations. */
typedef struct vka_tnp_step {
    const char *block; /* the weights' prefix: "layers.0.sa" */
    vka_tnp_set update, kv;
} vka_tnp_step;

typedef struct vka_tnp_desc {
    vka_tnp_arch arch;
    vka_safetensors *weights;     /* read while building (constants are copied) */
    uint32_t batch, nc, nt;       /* all ≥ 1 */
    uint32_t heads;               /* 0: 8 (hypermix_np: 1) */
    uint32_t layers;              /* 0: 5 (for the default schedule) */
    float attention_scale;        /* 0: 1/√head_dim */
    float layernorm_eps;          /* 0: 1e-5 */
    float linear_eps;             /* 0: 1e-6 (linear_tnp) */
    const vka_tnp_step *schedule; /* NULL: the architecture's own for `layers` */
    uint32_t schedule_length;
    const char *te_kernel; /* NULL: "flash"; "materialized" (TE models, for comparison) */
    vka_dtype dtype;       /* DEFAULT: f32; F16: inputs, weights (rounded, F16 files as stored) and
                              every activation f16, accumulation f32 */
} vka_tnp_desc;

/* Adds inputs "xc" [B, Nc, dx], "yc" [B, Nc, dy], "xt" [B, Nt, dx] and the model; *mean
 * and *std [B, Nt, dy] are the predictive Gaussian's (name them with vka_graph_output).
 * dx, dy and the widths come from the weights' shapes; a missing tensor is NOT_FOUND and
 * a wrong shape SHAPE_MISMATCH, both naming the tensor. Schedule steps whose result
 * nothing reads later are left out. */
VKA_API vka_result vka_graph_tnp(vka_graph *graph, const vka_tnp_desc *desc, vka_tensor *mean, vka_tensor *std);

#ifdef __cplusplus
}
#endif
#endif /* VKATTN_MODELS_H */
