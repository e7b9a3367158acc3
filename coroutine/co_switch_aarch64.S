/* co_switch_aarch64.S — context switch for AArch64 (AAPCS64).
 * Saves x19-x30 and d8-d15 on the old stack, swaps stack pointers, restores
 * them from the new one. FPCR/FPSR are not switched: coroutines share the
 * thread's floating-point modes. */

    .text

/* void co__switch_asm(void **from_sp, void *to_sp) */
    .globl co__switch_asm
    .hidden co__switch_asm
    .type co__switch_asm, %function
    .p2align 4
co__switch_asm:
    .cfi_startproc
    sub sp, sp, #160
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mov x2, sp
    str x2, [x0]
    mov sp, x1
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    add sp, sp, #160
    ret
    .cfi_endproc
    .size co__switch_asm, .-co__switch_asm

/* First code of every coroutine: x19 holds entry, x20 its argument. */
    .globl co__trampoline_aarch64
    .hidden co__trampoline_aarch64
    .type co__trampoline_aarch64, %function
    .p2align 4
co__trampoline_aarch64:
    .cfi_startproc
    .cfi_undefined x30
    mov x0, x20
    blr x19
    brk #0
    .cfi_endproc
    .size co__trampoline_aarch64, .-co__trampoline_aarch64

    .section .note.GNU-stack,"",%progbits
