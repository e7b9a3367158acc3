/* co_stack.c — coroutine objects and their stacks: one mmap per coroutine,
 * a PROT_NONE guard page below the stack, the object itself at the top. */
#include "co_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(CO_ASAN)
#include <sanitizer/asan_interface.h>
#endif

#if defined(CO_HAVE_VALGRIND)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0u
#define VALGRIND_STACK_DEREGISTER(id) ((void)(id))
#endif

size_t co__page_size(void)
{
    long p = sysconf(_SC_PAGESIZE); /* read from the aux vector: cheap */
    return p > 0 ? (size_t)p : 4096;
}

static size_t round_up(size_t v, size_t to)
{
    return (v + to - 1) / to * to;
}

co_t *co__alloc(size_t stack_size)
{
    size_t page = co__page_size();
    size_t head = round_up(sizeof(co_t), 64);
    if (stack_size > SIZE_MAX / 2)
        return NULL;
    /* The object shares the last page(s) with the stack top. */
    size_t map_size = round_up(page + stack_size + head, page);
    void *base = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base, page, PROT_NONE) != 0) {
        munmap(base, map_size);
        return NULL;
    }
    co_t *co = (co_t *)((char *)base + map_size - head);
    memset(co, 0, sizeof(*co));
    co->map_base = base;
    co->map_size = map_size;
    co->stack_size = (size_t)((char *)co - ((char *)base + page));
    co->si.bottom = (char *)base + page;
    co->si.size = co->stack_size;
    co->valgrind_id = VALGRIND_STACK_REGISTER((char *)base + page, (char *)co);
    return co;
}

void co__free(co_t *co)
{
    VALGRIND_STACK_DEREGISTER(co->valgrind_id);
#if defined(CO_ASAN)
    /* The stack dies with frames (and their redzones) on it; a later mapping
     * at this address must not inherit that poison. */
    __asan_unpoison_memory_region(co->si.bottom, co->si.size);
#endif
    munmap(co->map_base, co->map_size);
}

_Noreturn void co__panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vmig coroutine runtime: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
