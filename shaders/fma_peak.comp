#version 450
// The peak f32 multiply-add rate (fma_peak.glsl).
#extension GL_GOOGLE_include_directive : require
#define T float
#define T4 vec4
#include "fma_peak.glsl"
