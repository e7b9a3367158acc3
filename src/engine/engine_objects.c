/* engine_objects.c — objects made by object-add / --object and kept by id:
 * TLS credentials (loaded when added) and authorization lists. Arguments
 * are checked against the schema's ObjectOptions (QEMU 7.2's texts for bad
 * members, enums and types), then by what QEMU checks when it completes the
 * object (a missing dir, files it cannot read). */
#include "engine/engine_objects.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "qmp/qmp_dispatch.h"
#include "qmp/qmp_internal.h"
#include "qmp/qmp_schema.h"

typedef struct authz_rule {
    char *match;
    bool allow;
    bool glob;
} authz_rule_t;

typedef struct engine_object engine_object_t;

struct engine_object {
    struct engine_object *next; /* newest first */
    char *id;
    engine_object_type_t type;
    unsigned holds;             /* migrations using it (each holds it once) */
    vmig_tls_creds_t *creds;    /* tls-creds-* */
    bool allow_default;         /* authz-list: policy */
    authz_rule_t *rules;        /* authz-list */
    size_t nrules;
    char *identity;             /* authz-simple */
};

static const char *const type_names[] = {
    [ENGINE_OBJ_TLS_CREDS_X509] = "tls-creds-x509",
    [ENGINE_OBJ_TLS_CREDS_PSK] = "tls-creds-psk",
    [ENGINE_OBJ_AUTHZ_LIST] = "authz-list",
    [ENGINE_OBJ_AUTHZ_SIMPLE] = "authz-simple",
};

static void object_free(engine_object_t *o)
{
    if (!o)
        return;
    vmig_tls_creds_free(o->creds);
    for (size_t i = 0; i < o->nrules; i++)
        free(o->rules[i].match);
    free(o->rules);
    free(o->identity);
    free(o->id);
    free(o);
}

static engine_object_t *find(vmig_engine_t *e, const char *id)
{
    if (!e || !id)
        return NULL;
    for (engine_object_t *o = e->objects; o; o = o->next)
        if (strcmp(o->id, id) == 0)
            return o;
    return NULL;
}

/* QEMU's id_wellformed(): a letter, then letters, digits, '-', '.', '_'. */
static bool id_wellformed(const char *id)
{
    if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_'))
            return false;
    return true;
}

/* A GenericError; returns code. */
__attribute__((format(printf, 3, 4))) static int gen_err(vmig_qmp_error_t *err, int code,
                                                         const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->cls = VMIG_QMP_ERROR_GENERIC;
        vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* QEMU reads the files itself first: "Unable to access credentials PATH: why". */
static int need_file(const char *dir, const char *name, vmig_qmp_error_t *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (access(path, R_OK) == 0)
        return 0;
    int r = -errno;
    if (err)
        vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "Unable to access credentials %s: %s",
                           path, strerror(-r));
    return r;
}

static int load_creds(engine_object_t *o, const json_t *args, vmig_qmp_error_t *err)
{
    const char *dir = json_string_value(json_object_get(args, "dir"));
    if (!dir)
        return gen_err(err, -EINVAL, "Missing '%s' property value", "dir");
    const char *ep = json_string_value(json_object_get(args, "endpoint"));
    vmig_tls_endpoint_t endpoint = ep && strcmp(ep, "server") == 0 ? VMIG_TLS_SERVER
                                                                   : VMIG_TLS_CLIENT;
    json_t *vp = json_object_get(args, "verify-peer");
    bool verify_peer = vp ? json_is_true(vp) : true;
    vmig_error_t verr = { 0 };
    int r;
    if (o->type == ENGINE_OBJ_TLS_CREDS_X509) {
        if ((r = need_file(dir, "ca-cert.pem", err)) < 0)
            return r;
        if (endpoint == VMIG_TLS_SERVER &&
            ((r = need_file(dir, "server-cert.pem", err)) < 0 ||
             (r = need_file(dir, "server-key.pem", err)) < 0))
            return r;
        r = vmig_tls_creds_x509_load(dir, endpoint, verify_peer, &o->creds, &verr);
    } else {
        if ((r = need_file(dir, "keys.psk", err)) < 0)
            return r;
        const char *user = json_string_value(json_object_get(args, "username"));
        r = vmig_tls_creds_psk_load(dir, endpoint, user, &o->creds, &verr);
    }
    if (r < 0) {
        if (err)
            vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "%s",
                               verr.msg[0] ? verr.msg : vmig_strerror(r));
        return r;
    }
    return 0;
}

static int load_authz_list(engine_object_t *o, const json_t *args, vmig_qmp_error_t *err)
{
    const char *policy = json_string_value(json_object_get(args, "policy"));
    o->allow_default = policy && strcmp(policy, "allow") == 0;
    json_t *rules = json_object_get(args, "rules");
    size_t n = json_array_size(rules);
    if (n == 0)
        return 0;
    if (!(o->rules = calloc(n, sizeof(*o->rules))))
        return gen_err(err, -ENOMEM, "%s", "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *rule = json_array_get(rules, i);
        const char *match = json_string_value(json_object_get(rule, "match"));
        const char *p = json_string_value(json_object_get(rule, "policy"));
        const char *f = json_string_value(json_object_get(rule, "format"));
        authz_rule_t *ru = &o->rules[o->nrules];
        if (!match || !(ru->match = strdup(match)))
            return gen_err(err, -ENOMEM, "%s", "out of memory");
        o->nrules++;
        ru->allow = p && strcmp(p, "allow") == 0;
        ru->glob = f && strcmp(f, "glob") == 0;
    }
    return 0;
}

/* Check args as object-add's ObjectOptions (the schema's own texts). */
static int check_schema(vmig_engine_t *e, json_t *args, vmig_qmp_error_t *err)
{
    struct qmp_dispatcher *d = e->qmp ? e->qmp->disp : NULL;
    const qs_command_t *cmd = d ? qmp_schema_command(d->schema, "object-add") : NULL;
    if (!cmd)
        return gen_err(err, -ENOSYS, "%s", "object-add is not in the schema");
    char desc[sizeof(err->desc)];
    if (qmp_schema_check(cmd->args, args, desc, sizeof(desc)) < 0) {
        if (err)
            vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "%s", desc);
        return -EINVAL;
    }
    return 0;
}

int engine_object_add(vmig_engine_t *e, const json_t *args, vmig_qmp_error_t *err)
{
    if (!e || !json_is_object(args))
        return gen_err(err, -EINVAL, "%s", "Invalid parameter type, expected: object");
    int r = check_schema(e, (json_t *)args, err);
    if (r < 0)
        return r;
    const char *type = json_string_value(json_object_get(args, "qom-type"));
    const char *id = json_string_value(json_object_get(args, "id"));
    if (!id_wellformed(id))
        return gen_err(err, -EINVAL, "Parameter '%s' expects %s", "id", "an identifier");
    if (find(e, id))
        return gen_err(err, -EEXIST,
                       "attempt to add duplicate property '%s' to object (type '%s')", id,
                       "container");
    engine_object_t *o = calloc(1, sizeof(*o));
    if (!o || !(o->id = strdup(id))) {
        free(o);
        return gen_err(err, -ENOMEM, "%s", "out of memory");
    }
    size_t t = 0;
    while (t < sizeof(type_names) / sizeof(type_names[0]) && strcmp(type_names[t], type) != 0)
        t++;
    o->type = (engine_object_type_t)t;
    switch (o->type) {
    case ENGINE_OBJ_TLS_CREDS_X509:
    case ENGINE_OBJ_TLS_CREDS_PSK:
        r = load_creds(o, args, err);
        break;
    case ENGINE_OBJ_AUTHZ_LIST:
        r = load_authz_list(o, args, err);
        break;
    case ENGINE_OBJ_AUTHZ_SIMPLE: {
        const char *ident = json_string_value(json_object_get(args, "identity"));
        if (!ident || !(o->identity = strdup(ident)))
            r = gen_err(err, -ENOMEM, "%s", "out of memory");
        break;
    }
    default: /* the schema knows only the four */
        r = gen_err(err, -EINVAL, "Parameter 'qom-type' does not accept value '%s'", type);
        break;
    }
    if (r < 0) {
        object_free(o);
        return r;
    }
    o->next = e->objects;
    e->objects = o;
    return 0;
}

int engine_object_del(vmig_engine_t *e, const char *id, vmig_qmp_error_t *err)
{
    engine_object_t **pp = e ? &e->objects : NULL;
    while (pp && *pp && (!id || strcmp((*pp)->id, id) != 0))
        pp = &(*pp)->next;
    if (!pp || !*pp)
        return gen_err(err, -ENOENT, "object '%s' not found", id ? id : "");
    engine_object_t *o = *pp;
    if (o->holds)
        return gen_err(err, -EBUSY, "object '%s' is in use, can not be deleted", id);
    *pp = o->next;
    object_free(o);
    return 0;
}

void engine_objects_free(vmig_engine_t *e)
{
    if (!e)
        return;
    while (e->objects) {
        engine_object_t *o = e->objects;
        e->objects = o->next;
        object_free(o);
    }
}

const vmig_tls_creds_t *engine_tls_creds(vmig_engine_t *e, const char *id)
{
    engine_object_t *o = find(e, id);
    return o ? o->creds : NULL; /* only tls-creds-* have credentials */
}

int engine_authz_check(vmig_engine_t *e, const char *id, const char *identity)
{
    engine_object_t *o = find(e, id);
    if (!o || (o->type != ENGINE_OBJ_AUTHZ_LIST && o->type != ENGINE_OBJ_AUTHZ_SIMPLE))
        return -ENOENT;
    if (!identity)
        return 0;
    if (o->type == ENGINE_OBJ_AUTHZ_SIMPLE)
        return strcmp(o->identity, identity) == 0;
    for (size_t i = 0; i < o->nrules; i++) {
        const authz_rule_t *ru = &o->rules[i];
        bool hit = ru->glob ? fnmatch(ru->match, identity, 0) == 0
                            : strcmp(ru->match, identity) == 0;
        if (hit)
            return ru->allow;
    }
    return o->allow_default;
}

void engine_object_hold(vmig_engine_t *e, const char *id, bool held)
{
    engine_object_t *o = find(e, id);
    if (o && held)
        o->holds++;
    else if (o && o->holds)
        o->holds--;
}

/* ---- --object TYPE,id=ID,key=value,... ----------------------------------------- */

/* Next comma-separated item of *p (",," is a literal comma), malloc'd. */
static char *next_item(const char **p)
{
    const char *s = *p;
    size_t len = strlen(s);
    char *out = malloc(len + 1), *w = out;
    if (!out)
        return NULL;
    while (*s) {
        if (*s == ',') {
            if (s[1] == ',') {
                *w++ = ',';
                s += 2;
                continue;
            }
            s++;
            break;
        }
        *w++ = *s++;
    }
    *w = '\0';
    *p = s;
    return out;
}

static bool is_bool_key(const char *key)
{
    return strcmp(key, "verify-peer") == 0;
}

/* key=value into args: booleans for the bool properties, rules.N.member
 * into the rules list, strings otherwise. */
static int opt_set(json_t *args, const char *key, const char *val, vmig_qmp_error_t *err)
{
    json_t *v;
    if (is_bool_key(key)) {
        if (strcmp(val, "on") == 0 || strcmp(val, "true") == 0)
            v = json_true();
        else if (strcmp(val, "off") == 0 || strcmp(val, "false") == 0)
            v = json_false();
        else
            return gen_err(err, -EINVAL, "Parameter '%s' expects 'on' or 'off'", key);
    } else {
        v = json_string(val);
    }
    if (!v)
        return gen_err(err, -ENOMEM, "%s", "out of memory");
    if (strncmp(key, "rules.", 6) == 0) {
        char *end;
        unsigned long idx = strtoul(key + 6, &end, 10);
        json_t *rules = json_object_get(args, "rules");
        if (!rules) {
            rules = json_array();
            json_object_set_new(args, "rules", rules);
        }
        if (!json_is_array(rules) || end == key + 6 || *end != '.' || !end[1] ||
            idx > json_array_size(rules) || idx > 1024) {
            json_decref(v);
            return gen_err(err, -EINVAL, "Parameter '%s' is unexpected", key);
        }
        if (idx == json_array_size(rules))
            json_array_append_new(rules, json_object());
        json_t *rule = json_array_get(rules, idx);
        /* json_object_set_new() takes v even when it fails. */
        if (!rule) {
            json_decref(v);
            return gen_err(err, -ENOMEM, "%s", "out of memory");
        }
        if (json_object_set_new(rule, end + 1, v) < 0)
            return gen_err(err, -ENOMEM, "%s", "out of memory");
        return 0;
    }
    if (json_object_get(args, key)) {
        json_decref(v);
        return gen_err(err, -EINVAL, "Parameter '%s' is given twice", key);
    }
    if (json_object_set_new(args, key, v) < 0)
        return gen_err(err, -ENOMEM, "%s", "out of memory");
    return 0;
}

int engine_object_add_opts(vmig_engine_t *e, const char *opts, vmig_qmp_error_t *err)
{
    if (!opts)
        return gen_err(err, -EINVAL, "%s", "Parameter 'qom-type' is missing");
    json_t *args = json_object();
    if (!args)
        return gen_err(err, -ENOMEM, "%s", "out of memory");
    const char *p = opts;
    int r = 0;
    bool first = true;
    while (r == 0 && (*p || first)) {
        char *item = next_item(&p);
        if (!item) {
            r = gen_err(err, -ENOMEM, "%s", "out of memory");
            break;
        }
        char *eq = strchr(item, '=');
        if (first && !eq) {
            /* The implied key: the type. */
            r = *item ? opt_set(args, "qom-type", item, err)
                      : gen_err(err, -EINVAL, "%s", "Parameter 'qom-type' is missing");
        } else if (!eq) {
            r = gen_err(err, -EINVAL, "Expected '=' after parameter '%s'", item);
        } else {
            *eq = '\0';
            r = opt_set(args, item, eq + 1, err);
        }
        free(item);
        first = false;
    }
    if (r == 0)
        r = engine_object_add(e, args, err);
    json_decref(args);
    return r;
}
