/* pool_yield.h — long CPU work on a pool thread steps aside every ~100 us,
 * so the loop thread, woken by a monitor request or a socket, gets a core
 * at once rather than a scheduler slice later (2 cores, 4 busy threads). */
#ifndef VMIG_UTIL_POOL_YIELD_H
#define VMIG_UTIL_POOL_YIELD_H

#include <sched.h>
#include <stdint.h>
#include <time.h>

/* Between items of work: *next_ns holds when to yield next (0 at first). */
static inline void vmig_pool_yield(uint64_t *next_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (now < *next_ns)
        return;
    if (*next_ns)
        sched_yield(); /* nothing else runnable: returns at once */
    *next_ns = now + 100000u;
}

#endif
