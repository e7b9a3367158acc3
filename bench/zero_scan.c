/* zero_scan.c — benchmark of zero-page detection: every implementation of
 * ram/ram_zero.c scanning a pre-faulted all-zero buffer (1 GiB by default,
 * 4 KiB pages, bitmap scan as the engine calls it) next to the memory read
 * bandwidth of a plain sum loop over the same buffer, in the same run, the
 * contenders alternating over several rounds (best round kept).
 *
 * usage: zero_scan [--json] [--rounds N] [--mib N]
 * --json prints one object: zero_scan_gbps (the implementation the engine
 * dispatches to on this CPU), zero_scan_<impl>_gbps for each usable one,
 * zero_scan_impl, sum_read_gbps, bytes. Exit 0, 1 on failure, 2 on bad usage. */
#include "bench_util.h"
#include "ram/ram_zero_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096
#define MAX_IMPLS 8

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Four accumulators so the loop is bound by loads, not by one add chain:
 * this is the read bandwidth a scan can hope for. */
static uint64_t sum_read(const uint64_t *p, size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
    }
    return a + b + c + d;
}

static void usage(void)
{
    fprintf(stderr, "usage: zero_scan [--json] [--rounds N] [--mib N]\n");
}

int main(int argc, char **argv)
{
    int json = 0;
    long rounds = 5, mib = 1024;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], &rounds) < 0)
                return usage(), 2;
        } else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], &mib) < 0)
                return usage(), 2;
        } else {
            usage();
            return 2;
        }
    }

    size_t bytes = (size_t)mib << 20;
    size_t npages = bytes / PAGE;
    unsigned char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        perror("zero_scan: mmap");
        return 1;
    }
    /* Write every page: an untouched anonymous page reads as the shared zero
     * page, all mapped to one physical frame, which would time the cache. */
    memset(buf, 0, bytes);
    uint64_t *bitmap = calloc((npages + 63) / 64, sizeof *bitmap);
    if (!bitmap) {
        perror("zero_scan: calloc");
        return 1;
    }

    size_t nall;
    const struct vmig_ram_zero_impl *all = vmig_ram_zero_impls(&nall);
    const struct vmig_ram_zero_impl *im[MAX_IMPLS];
    size_t n = 0;
    for (size_t i = 0; i < nall && n < MAX_IMPLS; i++)
        if (all[i].usable())
            im[n++] = &all[i];
    const struct vmig_ram_zero_impl *best = vmig_ram_zero_best();

    double best_s[MAX_IMPLS], sum_s = 1e30;
    for (size_t k = 0; k < n; k++)
        best_s[k] = 1e30;
    volatile uint64_t sink = 0;
    for (long r = 0; r < rounds; r++) {
        double t0 = now_s();
        sink += sum_read((const uint64_t *)buf, bytes / 8);
        double t = now_s() - t0;
        if (t < sum_s)
            sum_s = t;
        for (size_t k = 0; k < n; k++) {
            t0 = now_s();
            size_t z = vmig_ram_scan_zero_with(im[k]->is_zero, buf, npages, PAGE, bitmap);
            t = now_s() - t0;
            if (z != npages) {
                fprintf(stderr, "zero_scan: %s found %zu zero pages of %zu\n", im[k]->name, z, npages);
                return 1;
            }
            if (t < best_s[k])
                best_s[k] = t;
        }
    }
    (void)sink;

    double gb = (double)bytes / 1e9;
    double best_gbps = 0;
    for (size_t k = 0; k < n; k++)
        if (im[k] == best)
            best_gbps = gb / best_s[k];
    if (json) {
        printf("{\"bytes\": %zu, \"rounds\": %ld, \"zero_scan_impl\": \"%s\", \"zero_scan_gbps\": %.3f",
               bytes, rounds, best->name, best_gbps);
        for (size_t k = 0; k < n; k++)
            printf(", \"zero_scan_%s_gbps\": %.3f", im[k]->name, gb / best_s[k]);
        printf(", \"sum_read_gbps\": %.3f}\n", gb / sum_s);
    } else {
        printf("zero-page scan of %zu MiB all-zero, pre-faulted, %d-byte pages, best of %ld rounds\n",
               bytes >> 20, PAGE, rounds);
        printf("%-12s %10s %10s\n", "contender", "GB/s", "ms");
        for (size_t k = 0; k < n; k++)
            printf("%-12s %10.2f %10.1f%s\n", im[k]->name, gb / best_s[k], best_s[k] * 1e3,
                   im[k] == best ? "   (dispatched)" : "");
        printf("%-12s %10.2f %10.1f   (plain sum loop: memory read bandwidth)\n", "sum-read",
               gb / sum_s, sum_s * 1e3);
    }
    munmap(buf, bytes);
    free(bitmap);
    return 0;
}
