#version 450
// The peak f16 multiply-add rate (fma_peak.glsl): arithmetic in float16_t, which needs the
// device's shaderFloat16 (the module declares the Float16 capability; the planner refuses it
// on a device without: vka_kernel.needs_float16).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define T float16_t
#define T4 f16vec4
#include "fma_peak.glsl"
