/* co_switch.h — the machine-context switch: hand-written assembly for x86-64
 * and aarch64, or ucontext as the portable fallback (chosen at configure time). */
#ifndef CO_SWITCH_H
#define CO_SWITCH_H

#include <stddef.h>

#if defined(CO_BACKEND_UCONTEXT)
#include <ucontext.h>
typedef struct co_ctx {
    ucontext_t uc;            /* full context, signal mask included */
} co_ctx_t;
#else
typedef struct co_ctx {
    void *sp;                 /* stack pointer; callee-saved registers sit on the stack */
} co_ctx_t;
#endif

/* Prepare ctx so that switching to it calls entry(arg) on the stack
 * [lo, lo + size). entry must never return. */
void co__ctx_make(co_ctx_t *ctx, void *lo, size_t size, void (*entry)(void *), void *arg);

/* Save the current context in from and continue in to. */
#if defined(CO_BACKEND_UCONTEXT)
void co__ctx_switch(co_ctx_t *from, co_ctx_t *to);
#else
void co__switch_asm(void **from_sp, void *to_sp);
static inline void co__ctx_switch(co_ctx_t *from, co_ctx_t *to)
{
    co__switch_asm(&from->sp, to->sp);
}
#endif

#endif
