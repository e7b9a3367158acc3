/* co_switch_ucontext.c — the portable context switch on makecontext/swapcontext
 * (slower: swapcontext also saves the signal mask with a system call). */
#include "co_switch.h"

#include <stdint.h>
#include <stdlib.h>

/* makecontext passes int arguments only: split the two pointers in halves. */
static void co__uc_entry(unsigned e_hi, unsigned e_lo, unsigned a_hi, unsigned a_lo)
{
    void (*entry)(void *) =
        (void (*)(void *))(uintptr_t)(((uint64_t)e_hi << 32) | e_lo);
    void *arg = (void *)(uintptr_t)(((uint64_t)a_hi << 32) | a_lo);
    entry(arg);
    abort(); /* entry never returns */
}

void co__ctx_make(co_ctx_t *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uint64_t e = (uint64_t)(uintptr_t)entry, a = (uint64_t)(uintptr_t)arg;
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, (void (*)(void))co__uc_entry, 4,
                (unsigned)(e >> 32), (unsigned)e, (unsigned)(a >> 32), (unsigned)a);
}

void co__ctx_switch(co_ctx_t *from, co_ctx_t *to)
{
    swapcontext(&from->uc, &to->uc);
}
