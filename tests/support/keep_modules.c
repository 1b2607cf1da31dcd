/* Linked into every program of the AddressSanitizer build (CMakeLists.txt): a dlclose that
 * keeps the library mapped. The Vulkan loader unloads its drivers and layers when an
 * instance is destroyed; lavapipe (Mesa 22.3.6 here) keeps a small process-lifetime
 * allocation per load in a global, which becomes unreachable once the library is unmapped,
 * and LeakSanitizer then reports it from "<unknown module>" where no suppression can name
 * it. With the libraries kept, those allocations stay reachable; the engine's own leaks
 * (unreachable from anywhere) are still reported. */
int dlclose(void *handle);

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
