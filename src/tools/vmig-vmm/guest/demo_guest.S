/* demo_guest.S — the KVM guest of vmig-vmm --machine demo: 32-bit flat code
 * (no GDT, paging off, interrupts off) loaded at guest address 0. */

/* Register contract, shared with the host (vmm_kvm.c) and mirrored by the
 * simulated walker (vmm_sim.c), so that both carry the same vCPU state:
 *   esi  guest address of the page to increment next
 *   edi  first walked page (the page below it holds this code and the stack)
 *   ebx  end of the walk (RAM size); ebx == edi: nothing to walk, idle
 *   ebp  passes completed
 *   ecx  pages left before the next progress exit
 *   esp  stack at the top of page 0, used only to keep ecx across the div */
#define VMM_GUEST_SERIAL_PORT 0x3f8   /* the serial data register (COM1) */
#define VMM_GUEST_PROGRESS_PORT 0x80  /* POST port: "CHUNK more pages walked" */
#define VMM_GUEST_CHUNK 64            /* pages between two progress exits */
#define VMM_GUEST_PAGE 4096

    .text
    .code32
    .globl vmm_demo_guest_entry
vmm_demo_guest_entry:
    cmpl %ebx, %edi
    jae idle
walk:
    cmpl %ebx, %esi
    jae pass_done
    incb (%esi)
    addl $VMM_GUEST_PAGE, %esi
    decl %ecx
    jnz walk
    /* The host counts pages by these exits: they pace the walk, apply the
     * auto-converge throttle and are where a stop finds the vCPU. */
    movl $VMM_GUEST_CHUNK, %ecx
    outb %al, $VMM_GUEST_PROGRESS_PORT
    jmp walk
pass_done:
    movl %edi, %esi
    incl %ebp
    /* One byte a pass on the serial port: '0' + passes % 10. */
    pushl %ecx
    movl %ebp, %eax
    xorl %edx, %edx
    movl $10, %ecx
    divl %ecx
    popl %ecx
    leal '0'(%edx), %eax
    movw $VMM_GUEST_SERIAL_PORT, %dx
    outb %al, %dx
    jmp walk
idle:
    /* No interrupt ever comes: each hlt exits to the host, which waits for
     * the next stop instead of running the vCPU. */
    hlt
    jmp idle
