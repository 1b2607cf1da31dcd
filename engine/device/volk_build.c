/* volk, compiled into the library (the whole library builds with hidden visibility, so
 * none of volk's global symbols are exported), plus the two loader helpers the engine
 * needs. Debian ships volk as source only (volk.c / volk.h). */
#include "vulkan.h"

#include "../common/mutex.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#include <volk.c>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static vka_once loader_once = VKA_ONCE_INIT;
static PFN_vkGetInstanceProcAddr loader_gipa;

static void load_loader(void)
{
    if (volkInitialize() == VK_SUCCESS)
        loader_gipa = vkGetInstanceProcAddr;
}

PFN_vkGetInstanceProcAddr vka_loader_get_instance_proc_addr(void)
{
    vka_call_once(&loader_once, load_loader);
    return loader_gipa;
}

#define LOAD_INSTANCE(name) table->name = (PFN_##name)gipa(instance, #name)

bool vka_load_instance_table(vka_instance_table *table, VkInstance instance, PFN_vkGetInstanceProcAddr gipa)
{
    table->vkGetInstanceProcAddr = gipa;
    LOAD_INSTANCE(vkDestroyInstance);
    LOAD_INSTANCE(vkEnumeratePhysicalDevices);
    LOAD_INSTANCE(vkGetPhysicalDeviceProperties);
    LOAD_INSTANCE(vkGetPhysicalDeviceProperties2);
    LOAD_INSTANCE(vkGetPhysicalDeviceFeatures2);
    LOAD_INSTANCE(vkGetPhysicalDeviceMemoryProperties);
    LOAD_INSTANCE(vkGetPhysicalDeviceQueueFamilyProperties);
    LOAD_INSTANCE(vkEnumerateDeviceExtensionProperties);
    LOAD_INSTANCE(vkCreateDevice);
    LOAD_INSTANCE(vkGetDeviceProcAddr);
    LOAD_INSTANCE(vkCreateDebugUtilsMessengerEXT);
    LOAD_INSTANCE(vkDestroyDebugUtilsMessengerEXT);
    return table->vkDestroyInstance && table->vkEnumeratePhysicalDevices && table->vkGetPhysicalDeviceProperties &&
           table->vkGetPhysicalDeviceProperties2 && table->vkGetPhysicalDeviceFeatures2 &&
           table->vkGetPhysicalDeviceMemoryProperties && table->vkGetPhysicalDeviceQueueFamilyProperties &&
           table->vkEnumerateDeviceExtensionProperties && table->vkCreateDevice && table->vkGetDeviceProcAddr;
}

typedef struct device_loader {
    PFN_vkGetDeviceProcAddr gdpa;
    VkDevice device;
} device_loader;

static PFN_vkVoidFunction load_device_entry(void *context, const char *name)
{
    const device_loader *loader = context;
    return loader->gdpa(loader->device, name);
}

void vka_load_device_table(struct VolkDeviceTable *table, VkDevice device, PFN_vkGetDeviceProcAddr gdpa)
{
    device_loader loader = {gdpa, device};
    volkGenLoadDeviceTable(table, &loader, load_device_entry);
}
