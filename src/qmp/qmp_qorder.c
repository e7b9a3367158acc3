/* qmp_qorder.c — QEMU 7.2's dictionary orders: how its QDict iterates (the
 * member order of every message it prints) and which leftover argument its
 * input visitor's GHashTable reports first as unexpected. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_schema.h"

/*
 * Why emulate hash tables: QEMU keeps JSON objects in a QDict, a 512-bucket
 * hash table, and prints and walks them bucket by bucket. Its replies thus
 * come as {"id": 1, "error": ...} but {"return": {}, "id": 1}, and when a
 * request has two bad members, the one reported is the first in that order.
 * Likewise the argument check reports the first leftover key of a GHashTable.
 * Reproducing both makes vmig's bytes match QEMU's; both were checked against
 * a running QEMU 7.2 (hundreds of random argument sets, see tests/qmp).
 */

/* ---- QDict: qobject/qdict.c ------------------------------------------------------ */

#define QDICT_BUCKET_MAX 512

/* QEMU's tdb_hash(), unchanged since 2009. */
static uint32_t qdict_hash(const char *name)
{
    const unsigned char *p = (const unsigned char *)name;
    uint32_t value = 0x238F13AFu * (uint32_t)strlen(name);
    for (uint32_t i = 0; p[i]; i++)
        value = value + ((uint32_t)p[i] << (i * 5 % 24));
    return 1103515243u * value + 12345u;
}

typedef struct qkey {
    const char *key; /* the member's name */
    uint32_t bucket; /* its QDict bucket */
    size_t pos;      /* insertion position (jansson keeps insertion order) */
} qkey_t;

/* Buckets in increasing order; inside a bucket the newest entry first
 * (QLIST_INSERT_HEAD). */
static int qkey_cmp(const void *a, const void *b)
{
    const qkey_t *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return x->pos < y->pos ? 1 : (x->pos > y->pos ? -1 : 0);
}

static qkey_t *qdict_sorted(json_t *obj, size_t *n)
{
    *n = json_object_size(obj);
    if (*n == 0)
        return NULL;
    qkey_t *k = calloc(*n, sizeof(*k));
    if (!k)
        return NULL;
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (i == *n)
            break;
        k[i].key = key;
        k[i].bucket = qdict_hash(key) % QDICT_BUCKET_MAX;
        k[i].pos = i;
        i++;
    }
    *n = i;
    qsort(k, i, sizeof(*k), qkey_cmp);
    return k;
}

int qmp_qdict_keys(json_t *obj, const char ***keys)
{
    *keys = NULL;
    size_t n;
    qkey_t *k = qdict_sorted(obj, &n);
    if (!k)
        return n ? -ENOMEM : 0;
    const char **out = malloc(n * sizeof(*out));
    if (!out) {
        free(k);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = k[i].key;
    free(k);
    *keys = out;
    return (int)n;
}

json_t *qmp_qdict_reorder(json_t *v)
{
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!a || json_array_append_new(a, qmp_qdict_reorder(e)) < 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    if (!json_is_object(v))
        return json_incref(v); /* scalars are shared, never modified */
    json_t *o = json_object();
    size_t n;
    qkey_t *k = qdict_sorted(v, &n);
    if (!o || (n && !k)) {
        json_decref(o);
        free(k);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = qmp_qdict_reorder(json_object_get(v, k[i].key));
        if (json_object_set_new(o, k[i].key, c) < 0) {
            json_decref(o);
            o = NULL;
            break;
        }
    }
    free(k);
    return o;
}

/* ---- GHashTable: glib 2.74 ghash.c, string keys ------------------------------------ */

#define GH_MIN_SHIFT 3
#define GH_UNUSED 0u
#define GH_TOMBSTONE 1u
#define GH_IS_REAL(h) ((h) >= 2u)

typedef struct ghash {
    uint32_t size;     /* slots, a power of two */
    uint32_t mod;      /* prime the hash is reduced by */
    uint32_t mask;     /* size - 1 */
    uint32_t nnodes;   /* live entries */
    uint32_t noccupied; /* live entries plus tombstones */
    uint32_t *hashes;  /* per slot: GH_UNUSED, GH_TOMBSTONE or the key's hash */
    const char **keys; /* per slot: the key */
} ghash_t;

static const uint32_t gh_prime_mod[] = {
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749,
    65521, 131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213,
    33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647,
};

/* glib's g_str_hash(): djb2 over signed chars. */
static uint32_t gh_str_hash(const char *s)
{
    uint32_t h = 5381;
    for (const signed char *p = (const signed char *)s; *p; p++)
        h = (h << 5) + h + (uint32_t)(int32_t)*p;
    return h;
}

static void gh_set_shift(ghash_t *t, unsigned shift)
{
    t->size = 1u << shift;
    t->mod = gh_prime_mod[shift];
    t->mask = t->size - 1;
}

static uint32_t gh_index(const ghash_t *t, uint32_t hash)
{
    return (hash * 11u) % t->mod;
}

/* The slot of key, or where it would go (the first tombstone passed). */
static uint32_t gh_lookup(const ghash_t *t, const char *key, uint32_t *hash_out)
{
    uint32_t hash = gh_str_hash(key);
    if (!GH_IS_REAL(hash))
        hash = 2;
    *hash_out = hash;
    uint32_t i = gh_index(t, hash), step = 0, tomb = 0;
    bool have_tomb = false;
    while (t->hashes[i] != GH_UNUSED) {
        if (t->hashes[i] == hash && strcmp(t->keys[i], key) == 0)
            return i;
        if (t->hashes[i] == GH_TOMBSTONE && !have_tomb) {
            tomb = i;
            have_tomb = true;
        }
        step++;
        i = (i + step) & t->mask;
    }
    return have_tomb ? tomb : i;
}

static bool bit_get(const uint32_t *bm, uint32_t i)
{
    return bm[i / 32] & (1u << (i % 32));
}

static void bit_set(uint32_t *bm, uint32_t i)
{
    bm[i / 32] |= 1u << (i % 32);
}

/* g_hash_table_resize() with resize_map(): rehash in place. */
static int gh_resize(ghash_t *t)
{
    uint32_t old_size = t->size;
    unsigned shift = 0;
    for (int n = (int)(t->nnodes * 1.333); n; n >>= 1)
        shift++;
    if (shift < GH_MIN_SHIFT)
        shift = GH_MIN_SHIFT;
    if (shift >= sizeof(gh_prime_mod) / sizeof(gh_prime_mod[0]))
        return -ENOMEM;
    uint32_t new_size = 1u << shift;
    uint32_t cap = new_size > old_size ? new_size : old_size;
    if (new_size > old_size) {
        uint32_t *h = realloc(t->hashes, new_size * sizeof(*h));
        if (!h)
            return -ENOMEM;
        t->hashes = h;
        const char **k = realloc(t->keys, new_size * sizeof(*k));
        if (!k)
            return -ENOMEM;
        t->keys = k;
        memset(h + old_size, 0, (new_size - old_size) * sizeof(*h));
        memset(k + old_size, 0, (new_size - old_size) * sizeof(*k));
    }
    uint32_t *bm = calloc((cap + 31) / 32, sizeof(*bm));
    if (!bm)
        return -ENOMEM;
    gh_set_shift(t, shift);
    for (uint32_t i = 0; i < old_size; i++) {
        uint32_t node_hash = t->hashes[i];
        if (!GH_IS_REAL(node_hash)) {
            t->hashes[i] = GH_UNUSED;
            continue;
        }
        if (bit_get(bm, i))
            continue; /* already relocated through eviction */
        t->hashes[i] = GH_UNUSED;
        const char *key = t->keys[i];
        t->keys[i] = NULL;
        for (;;) {
            uint32_t j = gh_index(t, node_hash), step = 0;
            while (bit_get(bm, j)) {
                step++;
                j = (j + step) & t->mask;
            }
            bit_set(bm, j);
            uint32_t replaced = t->hashes[j];
            t->hashes[j] = node_hash;
            if (!GH_IS_REAL(replaced)) {
                t->keys[j] = key;
                break;
            }
            node_hash = replaced;
            const char *evicted = t->keys[j];
            t->keys[j] = key;
            key = evicted;
        }
    }
    free(bm);
    t->noccupied = t->nnodes;
    return 0;
}

static int gh_maybe_resize(ghash_t *t)
{
    uint32_t occ = t->noccupied;
    if ((t->size > t->nnodes * 4 && t->size > (1u << GH_MIN_SHIFT)) || t->size <= occ + occ / 16)
        return gh_resize(t);
    return 0;
}

static int gh_insert(ghash_t *t, const char *key)
{
    uint32_t hash;
    uint32_t i = gh_lookup(t, key, &hash);
    if (GH_IS_REAL(t->hashes[i]))
        return 0;
    uint32_t old = t->hashes[i];
    t->hashes[i] = hash;
    t->keys[i] = key;
    t->nnodes++;
    if (old == GH_UNUSED) {
        t->noccupied++;
        return gh_maybe_resize(t);
    }
    return 0;
}

static int gh_remove(ghash_t *t, const char *key)
{
    uint32_t hash;
    uint32_t i = gh_lookup(t, key, &hash);
    if (!GH_IS_REAL(t->hashes[i]))
        return 0;
    t->hashes[i] = GH_TOMBSTONE;
    t->keys[i] = NULL;
    t->nnodes--;
    return gh_maybe_resize(t);
}

const char *qmp_qdict_leftover(json_t *obj, const char *const *consumed, size_t nconsumed)
{
    size_t n;
    qkey_t *k = qdict_sorted(obj, &n);
    if (!k)
        return NULL;
    const char *first = NULL;
    ghash_t t = { 0 };
    gh_set_shift(&t, GH_MIN_SHIFT);
    t.hashes = calloc(t.size, sizeof(*t.hashes));
    t.keys = calloc(t.size, sizeof(*t.keys));
    int r = t.hashes && t.keys ? 0 : -ENOMEM;
    /* The visitor fills its table walking the QDict, then removes each
     * member it visits, in the schema's member order. */
    for (size_t i = 0; i < n && r == 0; i++)
        r = gh_insert(&t, k[i].key);
    for (size_t i = 0; i < nconsumed && r == 0; i++)
        r = gh_remove(&t, consumed[i]);
    for (uint32_t i = 0; r == 0 && i < t.size && !first; i++)
        if (GH_IS_REAL(t.hashes[i]))
            first = t.keys[i];
    if (r < 0) {
        /* Out of memory: still name a leftover, in the request's order. */
        for (size_t i = 0; i < n && !first; i++) {
            bool used = false;
            for (size_t j = 0; j < nconsumed && !used; j++)
                used = strcmp(consumed[j], k[i].key) == 0;
            if (!used)
                first = k[i].key;
        }
    }
    free(t.hashes);
    free(t.keys);
    free(k);
    return first;
}
