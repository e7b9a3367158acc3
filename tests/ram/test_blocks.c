/* test_blocks.c — the RAM block list: the rules of add (name 1..255 bytes and
 * unique, page size a power of two >= 4096, host aligned, length a non-zero
 * multiple), remove and find, the accessors, -EBUSY while a migration in
 * either direction uses the blocks, and the engine's public wrappers. */
#include "ram_test.h"

#include "vmig/vmig.h"

static uint8_t mem[16 * PS] __attribute__((aligned(2u << 20)));

static int add(vmig_ram_t *ram, const char *name, void *host, uint64_t len, uint64_t ps)
{
    vmig_ram_block_opts_t o = {.name = name, .host = host, .length = len, .page_size = ps};
    return vmig_ram_add(ram, &o, NULL);
}

static void test_rules(void **state)
{
    vmig_ram_t *ram = vmig_ram_new();
    assert_non_null(ram);
    char longname[257];
    memset(longname, 'n', 256);
    longname[256] = '\0';

    assert_int_equal(add(ram, "", mem, PS, 0), -EINVAL);        /* empty name */
    assert_int_equal(add(ram, longname, mem, PS, 0), -EINVAL);  /* 256 bytes */
    assert_int_equal(add(ram, NULL, mem, PS, 0), -EINVAL);
    assert_int_equal(add(ram, "a", NULL, PS, 0), -EINVAL);
    assert_int_equal(add(ram, "a", mem, 0, 0), -EINVAL);        /* empty */
    assert_int_equal(add(ram, "a", mem, PS + 512, 0), -EINVAL); /* not whole pages */
    assert_int_equal(add(ram, "a", mem + 512, PS, 0), -EINVAL); /* host not aligned */
    assert_int_equal(add(ram, "a", mem, 2 * PS, 2048), -EINVAL); /* smaller than a target page */
    assert_int_equal(add(ram, "a", mem, 12 * PS, 3 * PS), -EINVAL); /* not a power of two */
    assert_int_equal(add(ram, "a", mem + PS, 4 * PS, 4 * PS), -EINVAL); /* host not aligned to it */
    assert_int_equal(add(ram, "a", mem, 6 * PS, 4 * PS), -EINVAL); /* length not a multiple */
    assert_int_equal(vmig_ram_count(ram), 0);
    assert_int_equal(vmig_ram_total(ram), 0);

    longname[255] = '\0';
    vmig_ram_block_t *a = NULL, *b = NULL, *c = NULL;
    vmig_ram_block_opts_t o = {.name = longname, .host = mem, .length = 8 * PS};
    assert_int_equal(vmig_ram_add(ram, &o, &a), 0); /* 255 bytes is fine */
    o = (vmig_ram_block_opts_t){.name = "b", .host = mem + 8 * PS, .length = 4 * PS,
                                .page_size = 4 * PS};
    assert_int_equal(vmig_ram_add(ram, &o, &b), 0);
    assert_int_equal(add(ram, "b", mem + 12 * PS, PS, 0), -EEXIST);
    o = (vmig_ram_block_opts_t){.name = "c", .host = mem + 12 * PS, .length = PS};
    assert_int_equal(vmig_ram_add(ram, &o, &c), 0);
    assert_int_equal(vmig_ram_count(ram), 3);
    assert_int_equal(vmig_ram_total(ram), 13 * PS);

    assert_ptr_equal(vmig_ram_find(ram, longname), a);
    assert_ptr_equal(vmig_ram_find(ram, "b"), b);
    assert_null(vmig_ram_find(ram, "d"));
    assert_string_equal(vmig_ram_block_name(b), "b");
    assert_ptr_equal(vmig_ram_block_host(b), mem + 8 * PS);
    assert_int_equal(vmig_ram_block_length(b), 4 * PS);
    assert_int_equal(vmig_ram_block_page_size(b), 4 * PS);
    assert_int_equal(vmig_ram_block_page_size(c), PS); /* 0 means 4096 */

    /* Remove from the middle; a block of another list is not ours. */
    vmig_ram_t *other = vmig_ram_new();
    assert_int_equal(vmig_ram_remove(other, b), -ENOENT);
    vmig_ram_free(other);
    assert_int_equal(vmig_ram_remove(ram, b), 0);
    assert_int_equal(vmig_ram_count(ram), 2);
    assert_int_equal(vmig_ram_total(ram), 9 * PS);
    assert_null(vmig_ram_find(ram, "b"));
    /* The name is free again, and the new block goes last. */
    assert_int_equal(add(ram, "b", mem + 8 * PS, PS, 0), 0);
    assert_int_equal(vmig_ram_remove(ram, c), 0);
    assert_int_equal(vmig_ram_remove(ram, a), 0);
    assert_int_equal(vmig_ram_count(ram), 1);
    vmig_ram_free(ram);
}

/* Add and remove fail with -EBUSY from setup to cleanup (outgoing) and from
 * load_setup to load_cleanup (incoming); mark_dirty on a block that is not
 * logging does nothing harmful. */
static void test_busy(void **state)
{
    rt_vm_t vm;
    rt_vm_init(&vm);
    vmig_ram_block_t *b = rt_add(&vm, "mem", mem, 4 * PS);
    vmig_ram_block_mark_dirty(b, 0, 4 * PS);
    assert_false(vmig_ram_busy(vm.ram));

    vmig_stream_t *s = rt_save_begin(&vm);
    assert_true(vmig_ram_busy(vm.ram));
    assert_int_equal(add(vm.ram, "x", mem + 8 * PS, PS, 0), -EBUSY);
    assert_int_equal(vmig_ram_remove(vm.ram, b), -EBUSY);
    /* An incoming load cannot start meanwhile. */
    vmig_stream_t *r = vt_mem_reader("", 0);
    assert_int_equal(vmig_savevm_load_setup(vm.sv, r), -EBUSY);
    vmig_stream_free(r);
    vmig_savevm_save_cleanup(vm.sv);
    vmig_stream_free(s);
    assert_false(vmig_ram_busy(vm.ram));

    r = vt_mem_reader("", 0);
    assert_int_equal(vmig_savevm_load_setup(vm.sv, r), 0);
    assert_true(vmig_ram_busy(vm.ram));
    assert_int_equal(add(vm.ram, "x", mem + 8 * PS, PS, 0), -EBUSY);
    assert_int_equal(vmig_ram_remove(vm.ram, b), -EBUSY);
    vmig_savevm_load_cleanup(vm.sv);
    vmig_stream_free(r);
    assert_false(vmig_ram_busy(vm.ram));
    assert_int_equal(add(vm.ram, "x", mem + 8 * PS, PS, 0), 0);
    assert_int_equal(vmig_ram_remove(vm.ram, b), 0);
    rt_vm_free(&vm);
}

static void closed(vmig_engine_t *e, void *arg)
{
    *(bool *)arg = true;
}

/* vmig_engine_ram_add / find / remove reach the engine's list, which the
 * engine registered as "ram" in its savevm registry. */
static void test_engine_wrappers(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    vmig_engine_t *e = NULL;
    assert_int_equal(vmig_engine_new(&loop, NULL, &e), 0);
    vmig_ram_block_opts_t o = {.name = "pc.ram", .host = mem, .length = 8 * PS};
    vmig_ram_block_t *b = NULL;
    assert_int_equal(vmig_engine_ram_add(e, &o, &b), 0);
    assert_int_equal(vmig_engine_ram_add(e, &o, NULL), -EEXIST);
    assert_ptr_equal(vmig_engine_ram_find(e, "pc.ram"), b);
    assert_null(vmig_engine_ram_find(e, "pc.bios"));
    assert_int_equal(vmig_engine_ram_remove(e, b), 0);
    assert_null(vmig_engine_ram_find(e, "pc.ram"));
    assert_int_equal(vmig_engine_ram_add(NULL, &o, NULL), -EINVAL);
    assert_null(vmig_engine_ram_find(NULL, "pc.ram"));
    bool done = false;
    assert_int_equal(vmig_engine_close(e, closed, &done), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(done);
    vt_loop_done(&loop);
}

int main(void)
{
    vt_test_setup(60);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_engine_wrappers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
