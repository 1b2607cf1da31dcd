#if !defined(_WIN32) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700 /* recursive mutexes under -std=c11 */
#endif

#include "mutex.h"

#if defined(_WIN32)

bool vka_mutex_init(vka_mutex *m, bool recursive)
{
    (void)recursive;
    InitializeCriticalSection(&m->section);
    return true;
}

void vka_mutex_destroy(vka_mutex *m)
{
    DeleteCriticalSection(&m->section);
}

void vka_mutex_lock(vka_mutex *m)
{
    EnterCriticalSection(&m->section);
}

void vka_mutex_unlock(vka_mutex *m)
{
    LeaveCriticalSection(&m->section);
}

static BOOL CALLBACK run_once(PINIT_ONCE once, PVOID fn, PVOID *context)
{
    (void)once;
    (void)context;
    ((void (*)(void))fn)();
    return TRUE;
}

void vka_call_once(vka_once *once, void (*fn)(void))
{
    InitOnceExecuteOnce(once, run_once, (PVOID)fn, NULL);
}

#else

bool vka_mutex_init(vka_mutex *m, bool recursive)
{
    pthread_mutexattr_t attributes;
    if (pthread_mutexattr_init(&attributes) != 0)
        return false;
    bool ok = pthread_mutexattr_settype(&attributes, recursive ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_NORMAL) == 0 &&
              pthread_mutex_init(&m->mutex, &attributes) == 0;
    pthread_mutexattr_destroy(&attributes);
    return ok;
}

void vka_mutex_destroy(vka_mutex *m)
{
    pthread_mutex_destroy(&m->mutex);
}

void vka_mutex_lock(vka_mutex *m)
{
    pthread_mutex_lock(&m->mutex);
}

void vka_mutex_unlock(vka_mutex *m)
{
    pthread_mutex_unlock(&m->mutex);
}

void vka_call_once(vka_once *once, void (*fn)(void))
{
    pthread_once(once, fn);
}

#endif
