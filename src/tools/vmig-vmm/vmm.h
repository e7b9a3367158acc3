/* vmm.h — the demo VMM's pieces: its options, its guest RAM and the VM
 * object tying them to a vmig engine. */
#ifndef VMIG_VMM_H
#define VMIG_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "vmig/vmig.h"

#define VMM_MAX_QMP 16

typedef struct vmm_opts {
    const char *machine;          /* "none": RAM only, no vCPUs */
    uint64_t memory;              /* guest RAM in bytes */
    const char *memory_file;      /* RAM backing file (MAP_SHARED), NULL: anonymous */
    const char *qmp[VMM_MAX_QMP]; /* monitor sockets (QMP URIs) */
    unsigned nqmp;                /* how many */
    bool start_paused;            /* -S: stay in prelaunch until `cont` */
} vmm_opts_t;

/* Parse argv into opts. Returns 0, 1 when --help/--version printed (exit 0),
 * or 2 after printing a usage error on stderr. */
int vmm_parse_args(int argc, char **argv, vmm_opts_t *opts);

/* Guest RAM: anonymous, or a file mapped shared so tests can `cmp` it. */
typedef struct vmm_ram {
    void *host;     /* the mapping, NULL when not mapped */
    size_t size;    /* its length */
    int fd;         /* the backing file, -1 when anonymous */
} vmm_ram_t;

/* Map size bytes (a multiple of the page size) of RAM, from path if not
 * NULL: an existing file of exactly that size keeps its content, a missing
 * or empty one is created and sized, any other size is refused. 0 or a
 * negative errno with a one-line message in msg. */
int vmm_ram_map(vmm_ram_t *ram, uint64_t size, const char *path, char *msg, size_t msglen);
void vmm_ram_unmap(vmm_ram_t *ram);

#endif
