/* vmm_ram.c — the demo VMM's guest RAM: anonymous memory, or a file mapped
 * MAP_SHARED whose content is the RAM (kept if it already has the size). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

int vmm_ram_map(vmm_ram_t *ram, uint64_t size, const char *path, char *msg, size_t msglen)
{
    *ram = (vmm_ram_t){ .host = NULL, .size = 0, .fd = -1 };
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (size == 0 || size % page) {
        snprintf(msg, msglen, "memory size %llu is not a positive multiple of the page size %llu",
                 (unsigned long long)size, (unsigned long long)page);
        return -EINVAL;
    }
    if (size > (uint64_t)SIZE_MAX / 2) {
        snprintf(msg, msglen, "memory size %llu is too large", (unsigned long long)size);
        return -ERANGE;
    }
    if (!path) {
        /* NORESERVE: like QEMU, RAM the guest never touches costs nothing. */
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            snprintf(msg, msglen, "cannot allocate %llu bytes of RAM: %s",
                     (unsigned long long)size, strerror(e));
            return -e;
        }
        ram->host = p;
        ram->size = size;
        return 0;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(msg, msglen, "cannot open memory file %s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, msglen, "memory file %s is not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    if (st.st_size == 0) {
        if (ftruncate(fd, (off_t)size) < 0) {
            int e = errno;
            snprintf(msg, msglen, "cannot size memory file %s to %llu bytes: %s", path,
                     (unsigned long long)size, strerror(e));
            close(fd);
            return -e;
        }
    } else if ((uint64_t)st.st_size != size) {
        snprintf(msg, msglen,
                 "memory file %s has %llu bytes but --memory asks for %llu "
                 "(remove it or give its size)",
                 path, (unsigned long long)st.st_size, (unsigned long long)size);
        close(fd);
        return -EINVAL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        snprintf(msg, msglen, "cannot map memory file %s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    ram->host = p;
    ram->size = size;
    ram->fd = fd;
    return 0;
}

/* Linux 5.14's populate-for-write; older headers lack the constant. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

int vmm_ram_prealloc(vmm_ram_t *ram, char *msg, size_t msglen)
{
    /* One call faults every page in writable, shared file pages included
     * (MAP_POPULATE only read-faults those), without touching content. */
    if (madvise(ram->host, ram->size, MADV_POPULATE_WRITE) == 0)
        return 0;
    int e = errno;
    if (e != EINVAL) {
        /* ENOMEM, or EFAULT/SIGBUS-like trouble (a full tmpfs): say so now
         * rather than crash on the guest's first write. */
        snprintf(msg, msglen, "cannot preallocate %zu bytes of RAM: %s", ram->size, strerror(e));
        return -e;
    }
    /* An older kernel: write each page's first byte back to itself. Nobody
     * else writes the RAM yet, so this changes nothing but the page tables. */
    long page = sysconf(_SC_PAGESIZE);
    for (size_t off = 0; off < ram->size; off += (size_t)page) {
        volatile uint8_t *p = (volatile uint8_t *)ram->host + off;
        *p = *p;
    }
    return 0;
}

void vmm_ram_unmap(vmm_ram_t *ram)
{
    if (ram->host)
        munmap(ram->host, ram->size);
    if (ram->fd >= 0)
        close(ram->fd);
    *ram = (vmm_ram_t){ .host = NULL, .size = 0, .fd = -1 };
}
