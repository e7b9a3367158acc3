/* demo_verify.c — did the migration carry the VM over intact? Page hashes of
 * the frozen source and the paused destination, the guest's walk, and the
 * destination running on after `cont`. Hashing runs on libuv's pool. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo.h"
#include "vmig/co.h"

/* The walk starts at this page: vmig-vmm's demo guest keeps its code and
 * stack in page 0 ("page 0 holds the guest's code", vmig-vmm --help;
 * VMM_DEMO_FIRST_PAGE in src/tools/vmig-vmm/vmm_demo.h). */
#define WALK_FIRST_PAGE 1u
/* How long the resumed destination has to show progress. */
#define WATCH_MS 5000
/* Let it run at least this long before looking at its pages. */
#define SETTLE_MS 300

/* One image to hash: everything the pool thread touches, owned by the job. */
typedef struct hash_job {
    char path[512];      /* the memory file */
    uint64_t npages;     /* pages to hash */
    uint64_t *hashes;    /* out: one hash per page */
    uint8_t *firsts;     /* out: each page's first byte, NULL: not wanted */
    int err;             /* out: 0 or -errno */
} hash_job_t;

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* A fast 64-bit hash of one 4 KiB page: four independent multiply-rotate
 * lanes over 64-bit words (memory speed, unlike bytewise FNV), mixed at the
 * end. Not cryptographic: it finds corruption, not adversaries. */
static uint64_t hash_page(const uint8_t *p)
{
    const uint64_t m = 0x9E3779B97F4A7C15ull;
    uint64_t a = 0x243F6A8885A308D3ull, b = 0x13198A2E03707344ull;
    uint64_t c = 0xA4093822299F31D0ull, d = 0x082EFA98EC4E6C89ull;
    for (size_t i = 0; i < DEMO_PAGE; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof(w));
        a = rotl(a ^ w[0], 29) * m;
        b = rotl(b ^ w[1], 29) * m;
        c = rotl(c ^ w[2], 29) * m;
        d = rotl(d ^ w[3], 29) * m;
    }
    uint64_t h = a ^ rotl(b, 17) ^ rotl(c, 31) ^ rotl(d, 47);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return h;
}

/* On a pool thread: map the file read-only, hash each page. */
static int hash_work(void *arg)
{
    hash_job_t *j = arg;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return j->err = -errno;
    size_t len = j->npages * DEMO_PAGE;
    struct stat st;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < len) {
        close(fd);
        return j->err = -EINVAL;
    }
    uint8_t *mem = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (mem == MAP_FAILED)
        return j->err = -errno;
    madvise(mem, len, MADV_SEQUENTIAL);
    for (uint64_t i = 0; i < j->npages; i++) {
        const uint8_t *pg = mem + i * DEMO_PAGE;
        j->hashes[i] = hash_page(pg);
        if (j->firsts)
            j->firsts[i] = pg[0];
    }
    munmap(mem, len);
    return j->err = 0;
}

static void hash_job_free(void *arg)
{
    hash_job_t *j = arg;
    if (!j)
        return;
    free(j->hashes);
    free(j->firsts);
    free(j);
}

static hash_job_t *hash_job_new(const char *path, uint64_t npages, bool firsts)
{
    hash_job_t *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    snprintf(j->path, sizeof(j->path), "%s", path);
    j->npages = npages;
    j->hashes = malloc(npages * sizeof(uint64_t));
    j->firsts = firsts ? malloc(npages) : NULL;
    if (!j->hashes || (firsts && !j->firsts)) {
        hash_job_free(j);
        return NULL;
    }
    return j;
}

/* Run j on the pool from the calling coroutine. On -ECANCELED j is gone
 * (co_work frees it once the pool is done with it). */
static int hash_run(hash_job_t *j)
{
    int r = co_work(NULL, hash_work, j, hash_job_free);
    return r < 0 ? r : j->err;
}

/* The source's image, hashed in a second coroutine while ours does the
 * destination's: the two files are read in parallel. */
static int hash_co(void *arg)
{
    return hash_run(arg);
}

/* Is firsts[skip..n) one running walk: (v+1)...(v+1) v...v, mod 256? */
static bool walk_from(const uint8_t *f, uint64_t n, uint64_t skip, demo_walk_t *w)
{
    uint64_t boundary = n;
    for (uint64_t i = skip + 1; i < n; i++) {
        if (f[i] == f[i - 1])
            continue;
        if (boundary != n || (uint8_t)(f[i] + 1) != f[i - 1])
            return false;
        boundary = i;
    }
    w->ok = true;
    w->skip = skip;
    w->boundary = boundary;
    w->value = skip < n ? f[boundary == n ? skip : boundary] : 0;
    return true;
}

static void check_walk(const uint8_t *f, uint64_t n, demo_walk_t *w)
{
    memset(w, 0, sizeof(*w));
    w->skip = WALK_FIRST_PAGE;
    walk_from(f, n, WALK_FIRST_PAGE, w);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The test hook: flip bits in the middle of one destination page while the
 * destination is paused, so the comparison must find it. */
static int corrupt(const char *path, uint64_t page, char *msg, size_t msglen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        goto fail;
    off_t off = (off_t)(page * DEMO_PAGE + DEMO_PAGE / 2);
    uint8_t b;
    if (pread(fd, &b, 1, off) != 1)
        goto fail_fd;
    b ^= 0x5a;
    if (pwrite(fd, &b, 1, off) != 1)
        goto fail_fd;
    close(fd);
    return 0;
fail_fd:
    close(fd);
fail:
    demo_msg(msg, msglen, "cannot corrupt %s: %s", path, strerror(errno));
    return -EIO;
}

/* `cont` the destination and watch it: its serial file grows, its pages
 * change, its status is running. */
static int watch_resumed(demo_child_t *dst, const uint64_t *before, uint64_t npages, bool pattern,
                         bool writes, demo_verify_t *v, char *msg, size_t msglen)
{
    vmig_error_t err = { 0 };
    /* Only the walking guest writes to its serial port (a byte per pass). */
    if (pattern && dst->serial_path[0]) {
        v->serial_checked = true;
        v->serial_before = file_size(dst->serial_path);
    }
    if (vmig_qmp_client_call(dst->qmp, "cont", NULL, -1, NULL, &err) < 0) {
        demo_msg(msg, msglen, "destination: cont: %s", err.msg);
        return -EIO;
    }
    int64_t start = demo_now_ms();
    json_t *st = NULL;
    if (vmig_qmp_client_call(dst->qmp, "query-status", NULL, -1, &st, &err) < 0) {
        demo_msg(msg, msglen, "destination: query-status: %s", err.msg);
        return -EIO;
    }
    const char *s = json_string_value(json_object_get(st, "status"));
    v->running = s && !strcmp(s, "running");
    json_decref(st);
    v->progress_checked = writes;
    for (;;) {
        int r = co_sleep(100);
        if (r < 0)
            return r;
        bool serial_ok = !v->serial_checked || file_size(dst->serial_path) > v->serial_before;
        bool pages_ok = !writes || v->changed_pages > 0;
        if (writes && !pages_ok && demo_now_ms() - start >= SETTLE_MS) {
            hash_job_t *j = hash_job_new(dst->ram_path, npages, false);
            if (!j)
                return -ENOMEM;
            r = hash_run(j);
            if (r == -ECANCELED)
                return r;
            if (r < 0) {
                hash_job_free(j);
                demo_msg(msg, msglen, "cannot read %s: %s", dst->ram_path, strerror(-r));
                return r;
            }
            for (uint64_t i = 0; i < npages; i++)
                v->changed_pages += j->hashes[i] != before[i];
            hash_job_free(j);
            pages_ok = v->changed_pages > 0;
        }
        if ((serial_ok && pages_ok) || demo_now_ms() - start > WATCH_MS) {
            if (v->serial_checked)
                v->serial_after = file_size(dst->serial_path);
            return 0;
        }
    }
}

int demo_verify_run(demo_child_t *src, demo_child_t *dst, const demo_opts_t *o,
                    bool pattern, bool writes, demo_progress_t *prog, demo_verify_t *v,
                    char *msg, size_t msglen)
{
    memset(v, 0, sizeof(*v));
    v->first_diff = -1;
    uint64_t n = o->size / DEMO_PAGE;
    v->npages = n;
    if (o->corrupt_page >= 0) {
        demo_note(prog, "vmig demo: test hook: corrupting destination page %lld",
                  (long long)o->corrupt_page);
        int r = corrupt(dst->ram_path, (uint64_t)o->corrupt_page, msg, msglen);
        if (r < 0)
            return r;
    }
    hash_job_t *sj = hash_job_new(src->ram_path, n, false);
    hash_job_t *dj = hash_job_new(dst->ram_path, n, true);
    co_t *helper = sj ? co_create(co_loop(co_self()), hash_co, sj) : NULL;
    if (!sj || !dj || !helper) {
        hash_job_free(sj);
        hash_job_free(dj);
        return -ENOMEM;
    }
    co_enter(helper);
    int rd = hash_run(dj);
    int rs = 0;
    /* Joining is not cancellable here: the helper owns nothing of ours but
     * sj, which must not be freed while the pool may still use it. */
    while (co_join(helper, &rs) == -ECANCELED)
        co_cancel(helper);
    if (rd == -ECANCELED || rs == -ECANCELED) {
        if (rd != -ECANCELED)
            hash_job_free(dj);
        if (rs != -ECANCELED)
            hash_job_free(sj);
        demo_msg(msg, msglen, "interrupted");
        return -ECANCELED;
    }
    int r = 0;
    if (rd < 0 || rs < 0) {
        demo_msg(msg, msglen, "cannot read the memory files: %s", strerror(-(rd < 0 ? rd : rs)));
        r = rd < 0 ? rd : rs;
        goto out;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (sj->hashes[i] != dj->hashes[i]) {
            if (v->first_diff < 0)
                v->first_diff = (int64_t)i;
            v->differing++;
        }
    }
    v->equal = v->differing == 0;
    if (pattern) {
        v->walk_checked = true;
        check_walk(dj->firsts, n, &v->walk);
    }
    r = watch_resumed(dst, dj->hashes, n, pattern, writes, v, msg, msglen);
    if (r < 0)
        goto out;
    if (!v->equal)
        snprintf(v->why, sizeof(v->why), "%llu of %llu pages differ, the first is page %lld "
                 "(offset 0x%llx)", (unsigned long long)v->differing, (unsigned long long)n,
                 (long long)v->first_diff, (unsigned long long)v->first_diff * DEMO_PAGE);
    else if (v->walk_checked && !v->walk.ok)
        snprintf(v->why, sizeof(v->why), "the pattern walk is broken: the pages' counters are "
                 "not one running walk");
    else if (!v->running)
        snprintf(v->why, sizeof(v->why), "the destination is not running after cont");
    else if (v->serial_checked && v->serial_after <= v->serial_before)
        snprintf(v->why, sizeof(v->why), "the destination's serial output did not continue "
                 "within %d ms of cont", WATCH_MS);
    else if (v->progress_checked && v->changed_pages == 0)
        snprintf(v->why, sizeof(v->why), "the destination's pages did not change within %d ms "
                 "of cont", WATCH_MS);
    v->verified = !v->why[0];
out:
    hash_job_free(sj);
    hash_job_free(dj);
    return r;
}
