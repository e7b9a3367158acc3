/* co_switch.c — benchmark of the coroutine runtime's context switch: vmig's
 * co_enter/co_yield round trip against a plain swapcontext round trip, and the
 * cost of creating, running and recycling a pooled coroutine, measured in the
 * same run with the contenders alternating over several rounds.
 *
 * usage: co_switch [--json] [--rounds N] [--iters N] [--swap-iters N] [--create-iters N]
 * Counts take k/M/G suffixes (powers of 1000). Exit 0, 1 on failure, 2 on bad usage. */
#include "vmig/co.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(CO_BACKEND_ASM)
#define BACKEND "asm"
#elif defined(CO_BACKEND_UCONTEXT)
#define BACKEND "ucontext"
#else
#define BACKEND "unknown"
#endif

#define MAX_ROUNDS 101

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- vmig: a coroutine that yields forever, entered from the loop's stack ---- */

static volatile int yielder_stop;

static int yielder(void *arg)
{
    (void)arg;
    while (!yielder_stop) /* for (;;) co_yield(); with a way out for a clean join */
        co_yield();
    return 0;
}

static int bench_vmig_roundtrip(uv_loop_t *loop, unsigned long n, double *ns)
{
    yielder_stop = 0;
    co_t *co = co_create(loop, yielder, NULL);
    if (!co)
        return -ENOMEM;
    co_enter(co); /* first entry: reach the loop in yielder */
    double t0 = now_ns();
    for (unsigned long i = 0; i < n; i++)
        co_enter(co);
    double t1 = now_ns();
    yielder_stop = 1;
    co_enter(co);
    int r = co_join(co, NULL);
    *ns = (t1 - t0) / (double)n;
    return r;
}

/* ---- swapcontext: two ucontexts ping-ponging -------------------------------- */

static ucontext_t uc_main, uc_peer;

static void peer_main(void)
{
    for (;;)
        swapcontext(&uc_peer, &uc_main);
}

static int swap_setup(void)
{
    static char *stack;
    size_t size = 256 * 1024;
    stack = malloc(size);
    if (!stack || getcontext(&uc_peer) != 0)
        return -ENOMEM;
    uc_peer.uc_stack.ss_sp = stack;
    uc_peer.uc_stack.ss_size = size;
    uc_peer.uc_link = NULL;
    makecontext(&uc_peer, peer_main, 0);
    return 0;
}

static void bench_swapcontext(unsigned long n, double *ns)
{
    swapcontext(&uc_main, &uc_peer); /* warm */
    double t0 = now_ns();
    for (unsigned long i = 0; i < n; i++)
        swapcontext(&uc_main, &uc_peer);
    double t1 = now_ns();
    *ns = (t1 - t0) / (double)n;
}

/* ---- create + run + recycle a pooled coroutine ------------------------------ */

static int nop_body(void *arg)
{
    (void)arg;
    return 0;
}

static int bench_create(uv_loop_t *loop, unsigned long n, double *ns)
{
    double t0 = now_ns();
    for (unsigned long i = 0; i < n; i++) {
        co_t *co = co_create(loop, nop_body, NULL);
        if (!co)
            return -ENOMEM;
        co_enter(co);
        int r = co_join(co, NULL); /* finished: joinable from the loop's stack */
        if (r)
            return r;
    }
    double t1 = now_ns();
    *ns = (t1 - t0) / (double)n;
    return 0;
}

/* ---- statistics and output --------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct stat2 {
    double best, median;
} stat2_t;

static stat2_t summarize(const double *v, int n)
{
    double s[MAX_ROUNDS];
    memcpy(s, v, (size_t)n * sizeof(*v));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    stat2_t st = {s[0], n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2};
    return st;
}

static int parse_count(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1000ull, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1000000ull, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1000000000ull, end++;
    if (*end || v == 0 || v > (unsigned long long)(~0ul) / mul)
        return -1;
    *out = (unsigned long)(v * mul);
    return 0;
}

static int usage(FILE *f)
{
    fputs("usage: co_switch [--json] [--rounds N] [--iters N] [--swap-iters N] [--create-iters N]\n"
          "  --json            print one JSON object instead of the table\n"
          "  --rounds N        rounds, contenders alternating (default 7, at most 101)\n"
          "  --iters N         vmig round trips per round (default 10M)\n"
          "  --swap-iters N    swapcontext round trips per round (default 1M)\n"
          "  --create-iters N  create+run+recycle per round (default 2M)\n"
          "counts take k/M/G suffixes (powers of 1000)\n",
          f);
    return f == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    int json = 0;
    unsigned long rounds = 7, iters = 10000000, swap_iters = 1000000, create_iters = 2000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned long *dst = NULL;
        if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout);
        if (!strcmp(a, "--rounds"))
            dst = &rounds;
        else if (!strcmp(a, "--iters"))
            dst = &iters;
        else if (!strcmp(a, "--swap-iters"))
            dst = &swap_iters;
        else if (!strcmp(a, "--create-iters"))
            dst = &create_iters;
        else {
            fprintf(stderr, "co_switch: unknown argument '%s'\n", a);
            return usage(stderr);
        }
        if (i + 1 >= argc || parse_count(argv[i + 1], dst) != 0) {
            fprintf(stderr, "co_switch: %s needs a positive count\n", a);
            return usage(stderr);
        }
        i++;
    }
    if (rounds > MAX_ROUNDS) {
        fprintf(stderr, "co_switch: --rounds is at most %d\n", MAX_ROUNDS);
        return usage(stderr);
    }

    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0 || swap_setup() != 0) {
        fputs("co_switch: setup failed (out of memory?)\n", stderr);
        return 1;
    }
    int progress = isatty(STDERR_FILENO);

    /* Warm-up, not counted: fault in stacks, fill the pool, train branches. */
    double vm[MAX_ROUNDS], sw[MAX_ROUNDS], cr[MAX_ROUNDS], junk;
    if (bench_vmig_roundtrip(&loop, iters / 10 + 1, &junk) ||
        bench_create(&loop, create_iters / 10 + 1, &junk)) {
        fputs("co_switch: co_create failed\n", stderr);
        return 1;
    }
    bench_swapcontext(swap_iters / 10 + 1, &junk);

    for (unsigned long r = 0; r < rounds; r++) {
        if (progress)
            fprintf(stderr, "\rco_switch: round %lu/%lu", r + 1, rounds);
        /* Alternate the order too, so neither contender always runs first. */
        if (r % 2 == 0) {
            if (bench_vmig_roundtrip(&loop, iters, &vm[r]))
                goto fail;
            bench_swapcontext(swap_iters, &sw[r]);
        } else {
            bench_swapcontext(swap_iters, &sw[r]);
            if (bench_vmig_roundtrip(&loop, iters, &vm[r]))
                goto fail;
        }
        if (bench_create(&loop, create_iters, &cr[r]))
            goto fail;
    }
    if (progress)
        fputs("\r\033[K", stderr);

    stat2_t v = summarize(vm, (int)rounds), s = summarize(sw, (int)rounds),
            c = summarize(cr, (int)rounds);
    double ratio = s.median / v.median, ratio_best = s.best / v.best;

    if (json) {
        printf("{\"backend\":\"%s\",\"asm_roundtrip_ns\":%.3f,\"swapcontext_roundtrip_ns\":%.3f,"
               "\"ratio\":%.2f,\"create_run_recycle_ns\":%.3f,"
               "\"asm_roundtrip_best_ns\":%.3f,\"swapcontext_roundtrip_best_ns\":%.3f,"
               "\"create_run_recycle_best_ns\":%.3f,\"rounds\":%lu,\"iters\":%lu,"
               "\"swap_iters\":%lu,\"create_iters\":%lu}\n",
               BACKEND, v.median, s.median, ratio, c.median, v.best, s.best, c.best, rounds,
               iters, swap_iters, create_iters);
    } else {
        printf("vmig coroutine switch (backend %s), %lu rounds alternating the contenders\n",
               BACKEND, rounds);
        printf("%-36s %12s %12s %14s\n", "", "median ns", "best ns", "iters/round");
        printf("%-36s %12.2f %12.2f %14lu\n", "vmig co_enter+co_yield round trip", v.median,
               v.best, iters);
        printf("%-36s %12.2f %12.2f %14lu\n", "swapcontext round trip", s.median, s.best,
               swap_iters);
        printf("%-36s %12.1f %12.1f\n", "ratio swapcontext / vmig", ratio, ratio_best);
        printf("%-36s %12.2f %12.2f %14lu\n", "create + run + recycle (pooled)", c.median,
               c.best, create_iters);
        printf("targets: round trip < 10 ns (x86-64 asm), create+run+recycle < 100 ns\n");
    }
    uv_loop_close(&loop);
    co_thread_cleanup();
    return 0;

fail:
    if (progress)
        fputc('\n', stderr);
    fputs("co_switch: a coroutine could not be created or joined\n", stderr);
    return 1;
}
