/* switch_check.c — the assembly context switch alone, without libuv: two
 * coroutines ping-pong with the main stack, callee-saved integer and FP
 * registers survive, deep frames switch cleanly. Built for aarch64 with a
 * cross compiler and run under qemu-user by run.sh (and natively too). */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include "co_switch.h"
static co_ctx_t main_ctx, a_ctx, b_ctx;
static volatile long counter;
static double dv = 1.0;
/* Each coroutine counts, keeps a floating-point value in a register across switches. */
static void entry(void *arg) {
  long id = (long)arg; register double d = 2.5 * id;
  for (long i = 0;; i++) {
    counter += id;
    d = d * 1.0000001;
    co__ctx_switch(id == 1 ? &a_ctx : &b_ctx, &main_ctx);
    if (d < 0) abort();
  }
}
static long deep(int n, co_ctx_t *c) { volatile char buf[256]; buf[0]=n; if (n==0) { co__ctx_switch(&main_ctx, c); return buf[0]; } return deep(n-1, c) + buf[0]; }
int main(void){
  size_t sz=256*1024;
  char *sa = malloc(sz), *sb = malloc(sz);
  co__ctx_make(&a_ctx, sa, sz, entry, (void*)1);
  co__ctx_make(&b_ctx, sb, sz, entry, (void*)2);
  double x = 3.0; long callee = 12345;
  for (int i = 0; i < 1000; i++) {
    co__ctx_switch(&main_ctx, &a_ctx);
    x = x * 1.5; callee ^= i;
    deep(5, &b_ctx);
    x = x / 1.5; callee ^= i;
  }
  printf("counter=%ld x=%g callee=%ld\n", counter, x, callee);
  return !(counter == 3000 && x > 2.999 && x < 3.001 && callee == 12345);
}
