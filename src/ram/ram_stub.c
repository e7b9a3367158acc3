/* ram_stub.c — placeholder until the RAM layer lands (deleted by it). */
#include <errno.h>
#include <stdlib.h>

#include "ram/ram.h"

struct vmig_ram { int unused; };

vmig_ram_t *vmig_ram_new(void) { return calloc(1, sizeof(vmig_ram_t)); }
void vmig_ram_free(vmig_ram_t *ram) { free(ram); }
int vmig_ram_register(vmig_ram_t *ram, vmig_savevm_t *sv) { (void)ram; (void)sv; return 0; }
