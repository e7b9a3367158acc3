/* vmm_serial.c — the demo machine's serial port: bytes the guest writes go
 * to the --serial file; how many and the last one travel as "serial". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm_demo.h"

int vmm_serial_open(vmm_serial_t *s, const char *path, char *msg, size_t msglen)
{
    *s = (vmm_serial_t){ .fd = -1, .count = 0, .last = 0 };
    if (!path)
        return 0;
    /* Append: a destination continues the file it is given, and readers
     * (tests, `vmig demo`) follow it as it grows. */
    s->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        int e = errno;
        snprintf(msg, msglen, "cannot open serial file %s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}

void vmm_serial_out(vmm_serial_t *s, uint8_t byte)
{
    s->count++;
    s->last = byte;
    if (s->fd >= 0) {
        /* A full disk loses serial output, never the guest. */
        ssize_t n;
        do
            n = write(s->fd, &byte, 1);
        while (n < 0 && errno == EINTR);
    }
}

void vmm_serial_close(vmm_serial_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static const vmig_vmsd_field_t serial_fields[] = {
    VMIG_VMSTATE_UINT64(count, vmm_serial_t),
    VMIG_VMSTATE_UINT8(last, vmm_serial_t),
    VMIG_VMSTATE_END_OF_LIST(),
};

const vmig_vmsd_t vmm_serial_vmsd = {
    .name = "serial",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = serial_fields,
};
