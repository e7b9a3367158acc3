/* channel_tls.h — TLS 1.2 (mbedtls 2.28) as a channel wrapped around any
 * other channel: the main migration channel, its return path and every
 * multifd channel (spec/channels.md §4). Record crypto and handshake steps
 * run on libuv's pool; the loop only moves ciphertext. */
#ifndef VMIG_CHANNEL_TLS_H
#define VMIG_CHANNEL_TLS_H

#include <stdbool.h>

#include "channel/channel.h"
#include "vmig/error.h"

/*
 * Rules
 * - Role: the migration source is the TLS client, the destination the
 *   server, whoever connected (QEMU's rule).
 * - The wrapper takes the inner channel: closing the TLS channel closes it;
 *   shutting it down shuts the inner one down (how cancel and yank stop it).
 * - One reader and one writer at a time, as every channel; the mbedtls
 *   context is used by one pool job at a time (reads and writes of one
 *   channel are serialised on it), so channels run in parallel on the pool.
 * - Errors keep a human message in ch->err: "certificate for 'wrong.example'
 *   does not match host '127.0.0.1'", "peer certificate not trusted",
 *   "TLS handshake with 127.0.0.1:4444 failed: <mbedtls text>".
 */

/* Credentials: what a tls-creds-x509 / tls-creds-psk object holds, loaded.
 * Opaque; shared by every channel of a migration (read-only once loaded). */
typedef struct vmig_tls_creds vmig_tls_creds_t;

typedef enum vmig_tls_endpoint {
    VMIG_TLS_CLIENT, /* source */
    VMIG_TLS_SERVER, /* destination */
} vmig_tls_endpoint_t;

/* tls-creds-x509: dir holds ca-cert.pem (+ optional ca-crl.pem) and, for a
 * server, server-cert.pem/server-key.pem, for a client
 * client-cert.pem/client-key.pem (needed only when the server verifies
 * peers). verify_peer: the server asks for and checks a client certificate;
 * a client always checks the server's. 0, or a negative errno with a
 * message naming the file and mbedtls's reason. */
int vmig_tls_creds_x509_load(const char *dir, vmig_tls_endpoint_t endpoint, bool verify_peer,
                             vmig_tls_creds_t **out, vmig_error_t *err);
/* tls-creds-psk: dir holds keys.psk (lines "username:hexkey"); a client
 * uses username's key (NULL: "qemu"), a server looks the client's up. */
int vmig_tls_creds_psk_load(const char *dir, vmig_tls_endpoint_t endpoint, const char *username,
                            vmig_tls_creds_t **out, vmig_error_t *err);
void vmig_tls_creds_free(vmig_tls_creds_t *creds);
vmig_tls_endpoint_t vmig_tls_creds_endpoint(const vmig_tls_creds_t *creds);

/* What a handshake checks beyond the chain. */
typedef struct vmig_tls_opts {
    const char *hostname;   /* client, x509: the name or IP address the server's
                             * certificate must match (IP addresses against its
                             * IP subjectAltName entries); NULL: x509 fails */
    const char *const *authz; /* server: client certificate DNs allowed, in
                               * gnutls's form "CN=client,O=Example,C=US";
                               * NULL: any certificate the CA signed */
    /* server, instead of (or besides) the list: is this DN allowed? (an
     * authz object's rules) */
    bool (*authz_fn)(void *opaque, const char *dn);
    void *authz_opaque;          /* its first argument */
} vmig_tls_opts_t;

/* Wrap inner (taken, closed on failure too) and run the handshake; in a
 * coroutine. 0 with *out, or a negative errno with the message in err. */
int vmig_channel_tls_wrap(vmig_channel_t *inner, const vmig_tls_creds_t *creds,
                          const vmig_tls_opts_t *opts, vmig_channel_t **out, vmig_error_t *err);
/* The peer certificate's distinguished name as gnutls prints it (RFC 4514
 * order), "" without one. */
const char *vmig_channel_tls_peer_dn(const vmig_channel_t *ch);

#endif
