/* xbzrle.c — benchmark of the XBZRLE codec (ram/ram_xbzrle*): encode (the
 * dispatched SIMD encoder and the scalar word-at-a-time one, alternating in
 * the same run) and decode throughput, in GB/s of 4 KiB pages handled, for
 * pages with 1%, 10% and 50% of their bytes changed.
 *
 * Write model: a guest dirties a page with stores and copies, so changes
 * come in runs. Each write is, with probability 60%, a 1-8 byte store at a
 * naturally aligned offset (counters, pointers, flags), 30% a 9-64 byte
 * struct update, 10% a 65-512 byte copy, at a random offset, with random new
 * bytes (some equal to the old ones by chance); writes are added until the
 * target share of the page's bytes differs. Working sets: cache-resident
 * (256 page pairs, 2 MiB, by default) and memory-bound (512 MiB of pairs),
 * best of several rounds.
 *
 * usage: xbzrle [--json] [--rounds N] [--pairs N] [--mib N]
 * --json prints one object: encode_gbps_<p>pct (best variant),
 * scalar_encode_gbps_<p>pct, decode_gbps_<p>pct, membound_* the same for the
 * large set, overflow_share_<p>pct, encode_impl, migration_bytes_ratio
 * (null: comes with the RAM sender integration). Exit 0, 1 on failure, 2 on
 * bad usage. */
#include "bench_util.h"
#include "ram/ram_xbzrle_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096
static const int pcts[] = {1, 10, 50};
#define NP 3

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* new = old dirtied by guest-like writes until pct% of the bytes differ. */
static void dirty(const uint8_t *old, uint8_t *new, int pct, uint64_t *s)
{
    memcpy(new, old, PAGE);
    size_t target = (size_t)PAGE * (size_t)pct / 100, changed = 0;
    while (changed < target) {
        uint64_t r = rnd(s);
        size_t kind = r % 10, len, at;
        if (kind < 6) {
            len = (size_t)1 << ((r >> 8) % 4); /* 1, 2, 4, 8 */
            at = (size_t)(r >> 16) % PAGE & ~(len - 1);
        } else {
            len = kind < 9 ? 9 + (size_t)(r >> 8) % 56 : 65 + (size_t)(r >> 8) % 448;
            at = (size_t)(r >> 20) % PAGE;
        }
        for (size_t q = at; q < at + len && q < PAGE && changed < target; q++) {
            uint8_t v = (uint8_t)rnd(s);
            changed += (new[q] == old[q]) && v != old[q];
            changed -= (new[q] != old[q]) && v == old[q];
            new[q] = v;
        }
    }
}

static uint8_t *map(size_t bytes)
{
    uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("xbzrle: mmap");
        exit(1);
    }
    return p;
}

typedef struct result {
    double enc, scalar, dec, overflow; /* GB/s, GB/s, GB/s, share of pages */
} result_t;

/* One working set of npairs at pct%: best of rounds for each contender. */
static int run(size_t npairs, int pct, long rounds, const struct vmig_xbzrle_impl *best,
               const struct vmig_xbzrle_impl *scalar, result_t *res)
{
    size_t bytes = npairs * PAGE;
    uint8_t *old = map(bytes), *new = map(bytes), *page = map(bytes);
    uint8_t *enc = map(bytes); /* the deltas, one page slot each */
    int *elen = calloc(npairs, sizeof *elen);
    if (!elen)
        return -1;
    uint64_t s = 0x1234567 + (uint64_t)pct;
    for (size_t i = 0; i < bytes; i += 8) {
        uint64_t r = rnd(&s);
        memcpy(old + i, &r, 8);
    }
    size_t over = 0;
    for (size_t p = 0; p < npairs; p++) {
        dirty(old + p * PAGE, new + p * PAGE, pct, &s);
        elen[p] = best->encode(old + p * PAGE, new + p * PAGE, PAGE, enc + p * PAGE, PAGE);
        int rs = scalar->encode(old + p * PAGE, new + p * PAGE, PAGE, page, PAGE);
        if (rs != elen[p] || (rs > 0 && memcmp(page, enc + p * PAGE, (size_t)rs))) {
            fprintf(stderr, "xbzrle: %s and %s disagree on page %zu\n", best->name, scalar->name, p);
            return -1;
        }
        over += elen[p] < 0;
    }
    memcpy(page, old, bytes);
    /* Enough passes over a small set that one timing is ~10 ms or more. */
    size_t passes = npairs >= 16384 ? 1 : 1 + (size_t)(16384 / npairs);
    double be = 1e30, bs = 1e30, bd = 1e30;
    volatile int sink = 0;
    uint8_t out[PAGE];
    for (long r = 0; r < rounds; r++) {
        const struct vmig_xbzrle_impl *c[2] = {best, scalar};
        double *bt[2] = {&be, &bs};
        for (int k = 0; k < 2; k++) {
            double t0 = now_s();
            for (size_t pass = 0; pass < passes; pass++)
                for (size_t p = 0; p < npairs; p++)
                    sink += c[k]->encode(old + p * PAGE, new + p * PAGE, PAGE, out, PAGE);
            double t = now_s() - t0;
            if (t < *bt[k])
                *bt[k] = t;
        }
        double t0 = now_s();
        for (size_t pass = 0; pass < passes; pass++)
            for (size_t p = 0; p < npairs; p++)
                if (elen[p] > 0)
                    sink += vmig_xbzrle_decode(enc + p * PAGE, (size_t)elen[p], page + p * PAGE, PAGE);
        double t = now_s() - t0;
        if (t < bd)
            bd = t;
    }
    (void)sink;
    if (memcmp(page, new, PAGE) && elen[0] > 0) {
        fprintf(stderr, "xbzrle: decode did not give the new page\n");
        return -1;
    }
    double gb = (double)bytes * (double)passes / 1e9;
    res->enc = gb / be;
    res->scalar = gb / bs;
    /* decode: all pages count, an overflowed one costs nothing to skip */
    res->dec = gb / bd;
    res->overflow = (double)over / (double)npairs;
    munmap(old, bytes);
    munmap(new, bytes);
    munmap(page, bytes);
    munmap(enc, bytes);
    free(elen);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: xbzrle [--json] [--rounds N] [--pairs N] [--mib N]\n");
}

int main(int argc, char **argv)
{
    int json = 0;
    long rounds = 5, pairs = 256, mib = 512;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], &rounds) < 0)
                return usage(), 2;
        } else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], &pairs) < 0)
                return usage(), 2;
        } else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            if (parse_count(argv[++i], &mib) < 0)
                return usage(), 2;
        } else {
            usage();
            return 2;
        }
    }
    size_t n;
    const struct vmig_xbzrle_impl *scalar = &vmig_xbzrle_impls(&n)[0];
    const struct vmig_xbzrle_impl *best = vmig_xbzrle_best();
    /* --mib is the whole large working set: old and new pages. */
    size_t big = ((size_t)mib << 20) / (2 * PAGE);
    result_t cr[NP], mr[NP];
    for (int k = 0; k < NP; k++)
        if (run((size_t)pairs, pcts[k], rounds, best, scalar, &cr[k]) < 0 ||
            run(big, pcts[k], rounds < 3 ? rounds : 3, best, scalar, &mr[k]) < 0)
            return 1;
    if (json) {
        printf("{\"encode_impl\": \"%s\", \"pairs\": %ld, \"membound_bytes\": %zu", best->name, pairs,
               big * 2 * PAGE);
        for (int k = 0; k < NP; k++) {
            int p = pcts[k];
            printf(", \"encode_gbps_%dpct\": %.3f, \"scalar_encode_gbps_%dpct\": %.3f"
                   ", \"decode_gbps_%dpct\": %.3f, \"overflow_share_%dpct\": %.3f",
                   p, cr[k].enc, p, cr[k].scalar, p, cr[k].dec, p, cr[k].overflow);
            printf(", \"membound_encode_gbps_%dpct\": %.3f, \"membound_scalar_encode_gbps_%dpct\": %.3f"
                   ", \"membound_decode_gbps_%dpct\": %.3f",
                   p, mr[k].enc, p, mr[k].scalar, p, mr[k].dec);
        }
        printf(", \"migration_bytes_ratio\": null}\n");
    } else {
        printf("XBZRLE codec, 4 KiB pages, guest-like write runs, best of %ld rounds; encoder %s\n",
               rounds, best->name);
        printf("%-22s %6s %10s %10s %10s %9s\n", "working set", "delta", "enc GB/s", "scalar",
               "dec GB/s", "overflow");
        for (int k = 0; k < NP; k++)
            printf("%-22s %5d%% %10.2f %10.2f %10.2f %8.0f%%\n", "cache (pairs)", pcts[k], cr[k].enc,
                   cr[k].scalar, cr[k].dec, cr[k].overflow * 100);
        for (int k = 0; k < NP; k++)
            printf("%-22s %5d%% %10.2f %10.2f %10.2f %8.0f%%\n", "memory-bound", pcts[k], mr[k].enc,
                   mr[k].scalar, mr[k].dec, mr[k].overflow * 100);
    }
    return 0;
}
