/* engine_objects.h — objects a user creates by id (QMP object-add /
 * object-del, vmig-vmm --object), QEMU 7.2's flat form: TLS credentials
 * and authorization lists that migration parameters name. */
#ifndef VMIG_ENGINE_OBJECTS_H
#define VMIG_ENGINE_OBJECTS_H

#include <stdbool.h>

#include <jansson.h>

#include "channel/channel_tls.h"
#include "qmp/qmp.h"

typedef struct vmig_engine vmig_engine_t;

/* The kinds of object vmig knows (qom-type). */
typedef enum engine_object_type {
    ENGINE_OBJ_TLS_CREDS_X509, /* "tls-creds-x509": dir, endpoint, verify-peer */
    ENGINE_OBJ_TLS_CREDS_PSK,  /* "tls-creds-psk": dir, endpoint, username */
    ENGINE_OBJ_AUTHZ_LIST,     /* "authz-list": policy, rules [{match, policy, format}] */
    ENGINE_OBJ_AUTHZ_SIMPLE,   /* "authz-simple": identity */
} engine_object_type_t;

/* object-add with QEMU 7.2's flat arguments: {"qom-type": T, "id": ID, props...}.
 * Credentials are loaded now (a missing or bad file fails the command, as in
 * QEMU). 0, or a negative errno with the QMP error in err. */
int engine_object_add(vmig_engine_t *e, const json_t *args, vmig_qmp_error_t *err);
/* object-del: 0, or -ENOENT / -EBUSY (in use by a running migration). */
int engine_object_del(vmig_engine_t *e, const char *id, vmig_qmp_error_t *err);
/* Frees every object (engine close). */
void engine_objects_free(vmig_engine_t *e);

/* For migrations: the credentials object id, or NULL (no such id, or an
 * object of another type). */
const vmig_tls_creds_t *engine_tls_creds(vmig_engine_t *e, const char *id);
/* Is identity (a client certificate DN in gnutls's form) allowed by authz
 * object id? 1, 0, or -ENOENT when there is no such authz object. */
int engine_authz_check(vmig_engine_t *e, const char *id, const char *identity);
/* One more migration uses id (held; object-del fails with -EBUSY while any
 * does), or one less (!held). */
void engine_object_hold(vmig_engine_t *e, const char *id, bool held);

/* vmig-vmm --object TYPE,id=ID,key=value,...: the same as object-add of the
 * equivalent flat JSON (values: strings; "on"/"off"/"true"/"false" for
 * booleans). */
int engine_object_add_opts(vmig_engine_t *e, const char *opts, vmig_qmp_error_t *err);

#endif
