/* test_mark_threads.c — vmig_ram_block_mark_dirty() from other threads while
 * the loop thread syncs over and over: two writers mark interleaved pages
 * (so they contend for the same bitmap words) in many small and large
 * ranges; when they are done and a last sync has run, every page they
 * marked is dirty in the migration bitmap and counted exactly once. */
#include "ram_test.h"

#include <inttypes.h>
#include <pthread.h>

#include "ram/ram_internal.h"

#define NPAGES (1u << 19) /* 2 GiB of address space, never touched */
#define ROUNDS 4

typedef struct writer {
    vmig_ram_block_t *block; /* what it marks */
    unsigned parity;         /* marks pages with page % 2 == parity */
    unsigned round;          /* which pass: ranges differ per pass */
    atomic_bool done;        /* set when it has marked everything */
} writer_t;

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    /* Every page of the parity once, alone or as the start of a two-page
     * range (whose other page belongs to the other writer: both set bits in
     * one word at the same time), in an order that changes per round. */
    for (unsigned k = 0; k < NPAGES / 2; k++) {
        unsigned i = (k * 2654435761u + w->round * 977u) % (NPAGES / 2);
        uint64_t page = (uint64_t)i * 2 + w->parity;
        uint64_t len = (i % 3 == 0 && page + 1 < NPAGES) ? 2 * PS : 1;
        vmig_ram_block_mark_dirty(w->block, page * PS + (len == 1 ? 7 : 0), len);
    }
    atomic_store(&w->done, true);
    return NULL;
}

static void test_no_lost_bits(void **state)
{
    rt_mem_t m = {0};
    rt_vm_t a;
    rt_vm_init(&a);
    vmig_ram_block_t *blk =
        rt_add(&a, "mem", rt_map(&m, (size_t)NPAGES * PS, PS), (uint64_t)NPAGES * PS);
    vmig_stream_t *s = rt_save_begin(&a);

    for (unsigned round = 0; round < ROUNDS; round++) {
        /* As if everything had been sent (the memory is never read, so it
         * can stay untouched): an empty migration bitmap. */
        memset(blk->bmap, 0, blk->nwords * sizeof(uint64_t));
        a.ram->dirty_pages = 0;
        assert_int_equal(vmig_ram_remaining(a.ram), 0);

        writer_t w[2];
        pthread_t t[2];
        for (unsigned i = 0; i < 2; i++) {
            w[i].block = blk;
            w[i].parity = i;
            w[i].round = round;
            atomic_init(&w[i].done, false);
            assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
        }
        /* Sync over and over while they mark. */
        vmig_error_t err = {0};
        unsigned syncs = 0;
        while (syncs < 4 || !atomic_load(&w[0].done) || !atomic_load(&w[1].done)) {
            assert_int_equal(vmig_ram_sync(a.ram, &err), 0);
            syncs++;
        }
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(vmig_ram_sync(a.ram, &err), 0);
        for (size_t wd = 0; wd < blk->nwords; wd++)
            if (blk->bmap[wd] != UINT64_MAX)
                fail_msg("round %u: word %zu is 0x%016" PRIx64 " after %u syncs", round, wd,
                         blk->bmap[wd], syncs);
        /* Counted once each, however many syncs saw them. */
        assert_int_equal(vmig_ram_remaining(a.ram), (uint64_t)NPAGES * PS);
        print_message("ram: round %u: %u syncs while marking\n", round, syncs);
    }
    vmig_savevm_save_cleanup(a.sv);
    vmig_stream_free(s);
    rt_vm_free(&a);
    rt_unmap(&m);
}

int main(void)
{
    vt_test_setup(100);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_lost_bits)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
