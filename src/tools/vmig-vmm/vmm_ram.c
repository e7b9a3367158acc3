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

void vmm_ram_unmap(vmm_ram_t *ram)
{
    if (ram->host)
        munmap(ram->host, ram->size);
    if (ram->fd >= 0)
        close(ram->fd);
    *ram = (vmm_ram_t){ .host = NULL, .size = 0, .fd = -1 };
}
