#version 450
// Translation-equivariant attention, flash form, 4 storage buffers (packed rows): te_attn.glsl.
#extension GL_GOOGLE_include_directive : require
#define VKA_TE_PACKED 1
#include "te_attn.glsl"
