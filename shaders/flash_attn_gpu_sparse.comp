#version 450
// Exact softmax attention, the GPU-class flash kernel (block-sparse): flash_attn_gpu.glsl.
#extension GL_GOOGLE_include_directive : require
#pragma vka_kernel(flash_sparse, gpu)
#define VKA_SPARSE 1
#include "flash_attn_gpu.glsl"
