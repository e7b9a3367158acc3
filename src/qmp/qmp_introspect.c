/* qmp_introspect.c — query-qmp-schema: the schema in QEMU's introspection
 * format (SchemaInfo entities), built the way QEMU's qapi/introspect.py does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_schema.h"

/*
 * As in QEMU 7.2:
 * - commands first, then events, then every type they use, in order of first
 *   use (a list type comes before its element type);
 * - type names are masked: each non-builtin type is a number given in order
 *   of first use ("0" is usually the empty object), a list is "[N]"; clients
 *   must look at commands and events, not at type names;
 * - every integer type (int8..uint64, size) shows as builtin "int";
 * - optional members carry "default": null; allow-oob appears only when true;
 * - a union lists a variant for every tag value (the empty object when the
 *   value has no branch).
 * Unlike QEMU, only commands with a registered handler are listed (a command
 * vmig does not implement must not look available to a probing client); all
 * events are listed.
 */

#define NAME_MAX_LEN 32

/* One introspection run. */
typedef struct intro {
    const qmp_schema_t *s;          /* the schema */
    char (*names)[NAME_MAX_LEN];    /* masked name per type index; "" until used */
    unsigned next;                  /* next number to give */
    const qs_type_t **queue;        /* types to describe, in order of first use */
    size_t nqueue;                  /* entries in queue */
    size_t cap;                     /* slots in queue */
    json_t *seen;                   /* names already queued (a set) */
    json_t *out;                    /* the SchemaInfo list */
    int r;                          /* first error */
} intro_t;

static const char *builtin_name(const qs_type_t *t)
{
    switch (t->builtin) {
    case QS_B_STR:
        return "str";
    case QS_B_BOOL:
        return "bool";
    case QS_B_NUMBER:
        return "number";
    case QS_B_ANY:
        return "any";
    case QS_B_NULL:
        return "null";
    default:
        return "int";
    }
}

/* The name clients see for t, giving it a number on first use. */
static const char *name_of(intro_t *in, const qs_type_t *t)
{
    if (t->kind == QS_BUILTIN)
        return builtin_name(t);
    char *n = in->names[t->index];
    if (!n[0]) {
        if (t->kind == QS_ARRAY)
            snprintf(n, NAME_MAX_LEN, "[%s]", name_of(in, t->elem));
        else
            snprintf(n, NAME_MAX_LEN, "%u", in->next++);
    }
    return n;
}

static void enqueue(intro_t *in, const qs_type_t *t, const char *name)
{
    if (in->r < 0 || json_object_get(in->seen, name))
        return;
    if (in->nqueue == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        const qs_type_t **q = realloc(in->queue, cap * sizeof(*q));
        if (!q) {
            in->r = -ENOMEM;
            return;
        }
        in->queue = q;
        in->cap = cap;
    }
    if (json_object_set_new(in->seen, name, json_true()) < 0) {
        in->r = -ENOMEM;
        return;
    }
    in->queue[in->nqueue++] = t;
}

/* Name t and queue it for description (QEMU's _use_type()). */
static const char *use(intro_t *in, const qs_type_t *t)
{
    const char *n = name_of(in, t);
    enqueue(in, t, n);
    if (t->kind == QS_ARRAY)
        use(in, t->elem);
    return n;
}

static void add(intro_t *in, json_t *entry, const char *name, const char *meta, json_t *features)
{
    if (entry && json_object_set_new(entry, "name", json_string(name)) == 0 &&
        json_object_set_new(entry, "meta-type", json_string(meta)) == 0 &&
        (!features || json_object_set(entry, "features", features) == 0) &&
        json_array_append_new(in->out, entry) == 0)
        return;
    json_decref(entry);
    in->r = -ENOMEM;
}

static json_t *members_of(intro_t *in, const qs_member_t *m, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_t *e = json_pack("{s:s, s:s}", "name", m[i].name, "type", use(in, m[i].type));
        if (e && m[i].optional && json_object_set_new(e, "default", json_null()) < 0)
            json_decref(e), e = NULL;
        if (e && m[i].features && json_object_set(e, "features", m[i].features) < 0)
            json_decref(e), e = NULL;
        if (!e || json_array_append_new(list, e) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

static void describe(intro_t *in, const qs_type_t *t)
{
    json_t *e = NULL;
    const char *meta = "object";
    switch (t->kind) {
    case QS_BUILTIN:
        meta = "builtin";
        e = json_pack("{s:s}", "json-type", t->json_type);
        break;
    case QS_ENUM: {
        meta = "enum";
        json_t *members = json_array(), *values = json_array();
        for (size_t i = 0; members && values && i < t->nvalues; i++)
            if (json_array_append_new(members, json_pack("{s:s}", "name", t->values[i])) < 0 ||
                json_array_append_new(values, json_string(t->values[i])) < 0)
                json_decref(members), members = NULL;
        e = json_pack("{s:o?, s:o?}", "members", members, "values", values);
        break;
    }
    case QS_ARRAY:
        meta = "array";
        e = json_pack("{s:s}", "element-type", name_of(in, t->elem));
        break;
    case QS_STRUCT:
        e = json_pack("{s:o?}", "members", members_of(in, t->members, t->nmembers));
        break;
    case QS_UNION: {
        e = json_pack("{s:o?, s:s}", "members", members_of(in, t->members, t->nmembers), "tag",
                      t->tag->name);
        json_t *variants = json_array();
        /* As QEMU: a variant for every tag value, the empty object for
         * values without a branch. */
        for (size_t i = 0; variants && i < t->tag->type->nvalues; i++) {
            const qs_type_t *b = t->branches[i] ? t->branches[i] : in->s->empty;
            if (json_array_append_new(variants, json_pack("{s:s, s:s}", "case",
                                                          t->tag->type->values[i], "type",
                                                          use(in, b))) < 0)
                json_decref(variants), variants = NULL;
        }
        if (e && (!variants || json_object_set_new(e, "variants", variants) < 0))
            json_decref(e), e = NULL;
        break;
    }
    case QS_ALTERNATE: {
        meta = "alternate";
        json_t *alts = json_array();
        for (size_t i = 0; alts && i < t->nmembers; i++)
            if (json_array_append_new(alts, json_pack("{s:s}", "type",
                                                      use(in, t->members[i].type))) < 0)
                json_decref(alts), alts = NULL;
        e = json_pack("{s:o?}", "members", alts);
        break;
    }
    }
    if (e && (json_object_get(e, "members") == json_null() ||
              json_object_get(e, "values") == json_null()))
        json_decref(e), e = NULL; /* an allocation inside failed */
    add(in, e, name_of(in, t), meta, t->features);
}

json_t *qmp_schema_introspect(const qmp_schema_t *s,
                              bool (*include)(const qs_command_t *cmd, void *opaque), void *opaque)
{
    intro_t in = { .s = s };
    in.names = calloc(s->ntypes ? s->ntypes : 1, sizeof(*in.names));
    in.seen = json_object();
    in.out = json_array();
    if (!in.names || !in.seen || !in.out)
        in.r = -ENOMEM;
    for (size_t i = 0; in.r == 0 && i < s->ncmds; i++) {
        const qs_command_t *c = &s->cmds[i];
        if (include && !include(c, opaque))
            continue;
        /* arg-type is named before ret-type, as QEMU does. */
        const char *arg = use(&in, c->args);
        const char *ret = use(&in, c->ret ? c->ret : s->empty);
        json_t *e = json_pack("{s:s, s:s}", "arg-type", arg, "ret-type", ret);
        if (e && c->allow_oob && json_object_set_new(e, "allow-oob", json_true()) < 0)
            json_decref(e), e = NULL;
        add(&in, e, c->name, "command", c->features);
    }
    for (size_t i = 0; in.r == 0 && i < s->nevents; i++)
        add(&in, json_pack("{s:s}", "arg-type", use(&in, s->events[i].data)), s->events[i].name,
            "event", NULL);
    /* describe() may queue more types: walk by index. */
    for (size_t i = 0; in.r == 0 && i < in.nqueue; i++)
        describe(&in, in.queue[i]);
    free(in.names);
    free(in.queue);
    json_decref(in.seen);
    if (in.r < 0) {
        json_decref(in.out);
        return NULL;
    }
    return in.out;
}
