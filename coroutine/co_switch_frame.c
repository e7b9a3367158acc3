/* co_switch_frame.c — the first frame of a new coroutine for the assembly
 * backends: what co__switch_asm will pop the first time it switches in. */
#include "co_switch.h"

#include <stdint.h>

#if !defined(CO_BACKEND_UCONTEXT)

#if defined(__x86_64__)
void co__trampoline_x86_64(void);

void co__ctx_make(co_ctx_t *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    /* The return slot sits at top - 8 so that the trampoline runs with a
     * 16-byte aligned stack, as a call needs. */
    uint64_t *sp = (uint64_t *)(top - 8 - 6 * 8);
    sp[0] = 0;                               /* r15 */
    sp[1] = 0;                               /* r14 */
    sp[2] = (uint64_t)(uintptr_t)arg;        /* r13 */
    sp[3] = (uint64_t)(uintptr_t)entry;      /* r12 */
    sp[4] = 0;                               /* rbx */
    sp[5] = 0;                               /* rbp: ends frame-pointer walks */
    sp[6] = (uint64_t)(uintptr_t)co__trampoline_x86_64;
    ctx->sp = sp;
}
#elif defined(__aarch64__)
void co__trampoline_aarch64(void);

void co__ctx_make(co_ctx_t *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 160);
    for (int i = 0; i < 20; i++)
        sp[i] = 0;
    sp[0] = (uint64_t)(uintptr_t)entry;      /* x19 */
    sp[1] = (uint64_t)(uintptr_t)arg;        /* x20 */
    sp[10] = 0;                              /* x29: ends frame-pointer walks */
    sp[11] = (uint64_t)(uintptr_t)co__trampoline_aarch64; /* x30 */
    ctx->sp = sp;
}
#else
#error "no assembly context switch for this architecture; configure with -DVMIG_CO_BACKEND=ucontext"
#endif

#endif
