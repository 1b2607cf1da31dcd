/* Moving tensors between dense host arrays and their padded place in the arena:
 * straight through the mapping where the arena is host-visible, else through the
 * plan's staging buffer. */
#ifndef VKA_GRAPH_TRANSFER_H
#define VKA_GRAPH_TRANSFER_H

#include "plan.h"

/* The host side holds `host_dtype` (the tensor's host_dtype, or f32 for host steps) and
 * is converted to and from the device's type; dense == NULL writes zeros. */
vka_result vka_plan_upload(vka_plan *plan, const vka_plan_tensor *t, const void *dense, vka_dtype host_dtype);
vka_result vka_plan_download(vka_plan *plan, const vka_plan_tensor *t, void *dense, vka_dtype host_dtype);

#endif
