/* Mutexes and once-flags on every platform the engine runs on: POSIX threads (Linux,
 * Android, and Apple, whose C library has no <threads.h>) or Windows. Also what
 * ThreadSanitizer sees: glibc's C11 mtx_* reach pthreads through internal calls that its
 * interceptors miss. */
#ifndef VKA_COMMON_MUTEX_H
#define VKA_COMMON_MUTEX_H

#include <stdbool.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
typedef struct vka_mutex {
    CRITICAL_SECTION section; /* recursive by nature */
} vka_mutex;
typedef INIT_ONCE vka_once;
#define VKA_ONCE_INIT INIT_ONCE_STATIC_INIT
#else
#include <pthread.h>
typedef struct vka_mutex {
    pthread_mutex_t mutex;
} vka_mutex;
typedef pthread_once_t vka_once;
#define VKA_ONCE_INIT PTHREAD_ONCE_INIT
#endif

/* False if the system has none to give. */
bool vka_mutex_init(vka_mutex *m, bool recursive);
void vka_mutex_destroy(vka_mutex *m);
void vka_mutex_lock(vka_mutex *m);
void vka_mutex_unlock(vka_mutex *m);

/* Calls fn exactly once across all threads sharing `once`. */
void vka_call_once(vka_once *once, void (*fn)(void));

#endif
