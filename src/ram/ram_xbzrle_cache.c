/* ram_xbzrle_cache.c — the XBZRLE page cache as QEMU 7.2 keeps it: a direct-
 * mapped table of page copies aged by the bitmap sync count, and its counters. */
#include "ram/ram_xbzrle_cache.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An empty slot's address: no page-aligned ram_addr is all ones. */
#define SLOT_EMPTY UINT64_MAX
/* Page copies start on this boundary: the encoder compares machine words
 * and QEMU's asserts alignment (xbzrle.md §3). */
#define DATA_ALIGN 4096u

struct vmig_xbzrle_slot {
    uint64_t addr; /* ram_addr of the page held, SLOT_EMPTY if none */
    uint64_t age;  /* generation (dirty-sync-count) of the last insert or hit */
};

static bool pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

int vmig_xbzrle_cache_check_size(uint64_t size, size_t page_size)
{
    if (!pow2(page_size) || !pow2(size) || size < page_size)
        return -EINVAL;
    return 0;
}

/* The storage for size bytes: slots, then page copies on DATA_ALIGN. */
static int alloc_store(uint64_t size, size_t page_size, void **mem, struct vmig_xbzrle_slot **slot,
                       uint8_t **data, uint64_t *nslots)
{
    int r = vmig_xbzrle_cache_check_size(size, page_size);
    if (r < 0)
        return r;
    uint64_t n = size / page_size;
    size_t meta, data_off, total;
    /* "exceeding address space" in QEMU: the size must fit a size_t, and so
     * must the entries and the rounding around them. */
    if (size > SIZE_MAX || __builtin_mul_overflow((size_t)n, sizeof(struct vmig_xbzrle_slot), &meta) ||
        __builtin_add_overflow(meta, (size_t)DATA_ALIGN - 1, &data_off))
        return -EOVERFLOW;
    data_off &= ~((size_t)DATA_ALIGN - 1);
    if (__builtin_add_overflow(data_off, (size_t)size, &total))
        return -EOVERFLOW;
    /* aligned_alloc wants a multiple of the alignment: a cache smaller
     * than DATA_ALIGN (small target pages) is not one. */
    size_t rounded;
    if (__builtin_add_overflow(total, (size_t)DATA_ALIGN - 1, &rounded))
        return -EOVERFLOW;
    rounded &= ~((size_t)DATA_ALIGN - 1);
    /* No C object may exceed PTRDIFF_MAX: refuse before asking malloc. */
    if (rounded > PTRDIFF_MAX)
        return -EOVERFLOW;
    /* The copies are not zeroed: a slot's bytes are read only after an
     * insert wrote them, and untouched memory of a big cache stays
     * unpopulated, as QEMU's lazily allocated slots do. */
    void *m = aligned_alloc(DATA_ALIGN, rounded);
    if (!m)
        return -ENOMEM;
    struct vmig_xbzrle_slot *s = m;
    for (uint64_t i = 0; i < n; i++) {
        s[i].addr = SLOT_EMPTY;
        s[i].age = 0;
    }
    *mem = m;
    *slot = s;
    *data = (uint8_t *)m + data_off;
    *nslots = n;
    return 0;
}

int vmig_xbzrle_cache_init(vmig_xbzrle_cache_t *c, uint64_t size, size_t page_size)
{
    memset(c, 0, sizeof(*c));
    int r = alloc_store(size, page_size, &c->mem, &c->slot, &c->data, &c->nslots);
    if (r < 0)
        return r;
    c->size = size;
    c->page_size = page_size;
    return 0;
}

void vmig_xbzrle_cache_fini(vmig_xbzrle_cache_t *c)
{
    free(c->mem);
    c->mem = NULL;
    c->slot = NULL;
    c->data = NULL;
    c->nslots = 0;
}

int vmig_xbzrle_cache_resize(vmig_xbzrle_cache_t *c, uint64_t new_size)
{
    int r = vmig_xbzrle_cache_check_size(new_size, c->page_size);
    if (r < 0)
        return r;
    if (new_size == c->size && c->mem)
        return 0;
    void *mem;
    struct vmig_xbzrle_slot *slot;
    uint8_t *data;
    uint64_t n;
    r = alloc_store(new_size, c->page_size, &mem, &slot, &data, &n);
    if (r < 0)
        return r;
    free(c->mem);
    c->mem = mem;
    c->slot = slot;
    c->data = data;
    c->nslots = n;
    c->size = new_size;
    return 0;
}

uint64_t vmig_xbzrle_cache_index(const vmig_xbzrle_cache_t *c, uint64_t addr)
{
    return (addr / c->page_size) & (c->nslots - 1);
}

static uint8_t *slot_data(const vmig_xbzrle_cache_t *c, uint64_t i)
{
    /* i < nslots and nslots * page_size = size fits a size_t (checked). */
    return c->data + (size_t)i * c->page_size;
}

uint8_t *vmig_xbzrle_cache_lookup(vmig_xbzrle_cache_t *c, uint64_t addr, uint64_t gen)
{
    if (!c->mem || addr == SLOT_EMPTY)
        return NULL;
    uint64_t i = vmig_xbzrle_cache_index(c, addr);
    if (c->slot[i].addr != addr)
        return NULL;
    c->slot[i].age = gen;
    return slot_data(c, i);
}

/* The slot addr would go to, or NULL when the insert is refused. */
static uint8_t *insert_slot(vmig_xbzrle_cache_t *c, uint64_t addr, uint64_t gen)
{
    if (!c->mem || addr == SLOT_EMPTY)
        return NULL;
    uint64_t i = vmig_xbzrle_cache_index(c, addr);
    struct vmig_xbzrle_slot *s = &c->slot[i];
    /* A page touched in this or the previous round is likely to be wanted
     * again soon: keep it rather than thrash (age + LIFETIME > gen, written
     * so that it cannot overflow; an age above gen counts as fresh too). */
    bool fresh = s->age > gen || gen - s->age < VMIG_XBZRLE_CACHED_PAGE_LIFETIME;
    if (s->addr != SLOT_EMPTY && s->addr != addr && fresh)
        return NULL;
    s->addr = addr;
    s->age = gen;
    return slot_data(c, i);
}

int vmig_xbzrle_cache_insert(vmig_xbzrle_cache_t *c, uint64_t addr, const void *page, uint64_t gen)
{
    uint8_t *d = insert_slot(c, addr, gen);
    if (!d)
        return -EBUSY;
    memcpy(d, page, c->page_size);
    return 0;
}

vmig_xbzrle_lookup_t vmig_xbzrle_cache_page(vmig_xbzrle_cache_t *c, uint64_t addr, const void *page,
                                            const vmig_xbzrle_round_t *r, uint8_t **cached)
{
    *cached = NULL;
    if (r->first_round || r->postcopy || !c->mem)
        return VMIG_XBZRLE_OFF;
    uint8_t *d = vmig_xbzrle_cache_lookup(c, addr, r->gen);
    if (d) {
        /* Every hit counts, whatever the encoding then gives: pages is the
         * base of encoding-rate (7.2). */
        c->st.pages++;
        *cached = d;
        return VMIG_XBZRLE_HIT;
    }
    c->st.cache_miss++;
    if (r->last_stage || vmig_xbzrle_cache_insert(c, addr, page, r->gen) < 0)
        return VMIG_XBZRLE_MISS;
    /* Sent from the copy: the guest may change the page again, and the
     * destination must hold what the next delta is computed against. */
    *cached = vmig_xbzrle_cache_lookup(c, addr, r->gen);
    return VMIG_XBZRLE_MISS_CACHED;
}

int vmig_xbzrle_cache_encoded(vmig_xbzrle_cache_t *c, uint8_t *cached, const void *snapshot,
                              long encoded_len, uint64_t record_len, const vmig_xbzrle_round_t *r)
{
    if (!cached || !snapshot || encoded_len < -1 ||
        (uint64_t)(encoded_len > 0 ? encoded_len : 0) > c->page_size ||
        (encoded_len > 0 && record_len < 8 + 3 + (uint64_t)encoded_len))
        return -EINVAL;
    if (encoded_len == 0)
        return 0; /* unchanged: the cache already holds it, nothing is sent */
    if (!r->last_stage)
        memcpy(cached, snapshot, c->page_size);
    if (encoded_len == -1) {
        c->st.overflow++;
        c->st.bytes += c->page_size;
        return 0;
    }
    /* 7.2 leaves the 8-byte offset|flags word out, as it does for the
     * compressed size: idstr, encoding flag, be16 length and data count. */
    c->st.bytes += record_len - 8;
    return 0;
}

void vmig_xbzrle_cache_zero_page(vmig_xbzrle_cache_t *c, uint64_t addr, const vmig_xbzrle_round_t *r)
{
    if (r->first_round)
        return;
    uint8_t *d = insert_slot(c, addr, r->gen);
    if (d)
        memset(d, 0, c->page_size);
}

void vmig_xbzrle_cache_update_rates(vmig_xbzrle_cache_t *c, uint64_t target_pages)
{
    vmig_xbzrle_stats_t *st = &c->st;
    uint64_t handled = target_pages - st->target_prev;
    st->target_prev = target_pages;
    /* QEMU skips the whole update (rates and their baselines) for a period
     * without pages: a division by zero otherwise. */
    if (handled == 0)
        return;
    st->cache_miss_rate = (double)(st->cache_miss - st->miss_prev) / (double)handled;
    st->miss_prev = st->cache_miss;
    uint64_t dpages = st->pages - st->pages_prev;
    uint64_t dbytes = st->bytes - st->bytes_prev;
    if (dpages == 0 || dbytes == 0)
        st->encoding_rate = 0;
    else
        st->encoding_rate = (double)dpages * (double)c->page_size / (double)dbytes;
    st->pages_prev = st->pages;
    st->bytes_prev = st->bytes;
}

void vmig_xbzrle_cache_reset_stats(vmig_xbzrle_cache_t *c)
{
    memset(&c->st, 0, sizeof(c->st));
}

/* json_integer takes a json_int_t (long long): counters beyond its range
 * cannot happen in practice, clamp rather than wrap negative. */
static json_t *jint(uint64_t v)
{
    return json_integer(v > (uint64_t)LLONG_MAX ? (json_int_t)LLONG_MAX : (json_int_t)v);
}

int vmig_xbzrle_cache_stats_json(const vmig_xbzrle_cache_t *c, json_t *obj)
{
    const vmig_xbzrle_stats_t *st = &c->st;
    if (!json_is_object(obj))
        return -EINVAL;
    if (json_object_set_new(obj, "cache-size", jint(c->size)) ||
        json_object_set_new(obj, "bytes", jint(st->bytes)) ||
        json_object_set_new(obj, "pages", jint(st->pages)) ||
        json_object_set_new(obj, "cache-miss", jint(st->cache_miss)) ||
        json_object_set_new(obj, "cache-miss-rate", json_real(st->cache_miss_rate)) ||
        json_object_set_new(obj, "encoding-rate", json_real(st->encoding_rate)) ||
        json_object_set_new(obj, "overflow", jint(st->overflow)))
        return -ENOMEM;
    return 0;
}
