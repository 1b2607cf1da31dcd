#version 450
// Translation-equivariant attention, the materialised logits, 4 storage buffers (packed
// rows): te_attn.glsl.
#extension GL_GOOGLE_include_directive : require
#define VKA_TE_LOGITS 1
#define VKA_TE_PACKED 1
#include "te_attn.glsl"
