#version 450
// Translation-equivariant attention, flash form: te_attn.glsl.
#extension GL_GOOGLE_include_directive : require
#include "te_attn.glsl"
