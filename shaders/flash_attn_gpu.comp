#version 450
// Exact softmax attention, the GPU-class flash kernel (dense): flash_attn_gpu.glsl.
#extension GL_GOOGLE_include_directive : require
#pragma vka_kernel(flash_attn, gpu)
#define VKA_SPARSE 0
#include "flash_attn_gpu.glsl"
