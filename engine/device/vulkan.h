/* Vulkan through volk, with per-context function tables.
 *
 * volk is compiled into the library with hidden visibility (volk_build.c). Only its
 * loader bootstrap (vkGetInstanceProcAddr from libvulkan) and its device-table layout
 * are used: every instance and device call goes through a context's own tables, so two
 * contexts (say, one owned and one adopted from a host application) never share
 * function pointers. */
#ifndef VKA_DEVICE_VULKAN_H
#define VKA_DEVICE_VULKAN_H

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <volk.h>

#include "vkattn/embed.h" /* the embedding declarations, with volk's Vulkan types */

#include <stdbool.h>

/* The instance-level entry points the engine uses. */
typedef struct vka_instance_table {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
    PFN_vkDestroyInstance vkDestroyInstance;
    PFN_vkEnumeratePhysicalDevices vkEnumeratePhysicalDevices;
    PFN_vkGetPhysicalDeviceProperties vkGetPhysicalDeviceProperties;
    PFN_vkGetPhysicalDeviceProperties2 vkGetPhysicalDeviceProperties2;
    PFN_vkGetPhysicalDeviceFeatures2 vkGetPhysicalDeviceFeatures2;
    PFN_vkGetPhysicalDeviceMemoryProperties vkGetPhysicalDeviceMemoryProperties;
    PFN_vkGetPhysicalDeviceQueueFamilyProperties vkGetPhysicalDeviceQueueFamilyProperties;
    PFN_vkEnumerateDeviceExtensionProperties vkEnumerateDeviceExtensionProperties;
    PFN_vkCreateDevice vkCreateDevice;
    PFN_vkGetDeviceProcAddr vkGetDeviceProcAddr;
    PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;   /* may be NULL */
    PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT; /* may be NULL */
} vka_instance_table;

/* The loader's vkGetInstanceProcAddr (dlopen of libvulkan), or NULL if there is none. */
PFN_vkGetInstanceProcAddr vka_loader_get_instance_proc_addr(void);

/* Fills the table from gipa for `instance`; false if a required entry point is missing. */
bool vka_load_instance_table(vka_instance_table *table, VkInstance instance, PFN_vkGetInstanceProcAddr gipa);

/* Fills volk's device table through the given vkGetDeviceProcAddr. */
void vka_load_device_table(struct VolkDeviceTable *table, VkDevice device, PFN_vkGetDeviceProcAddr gdpa);

#endif
