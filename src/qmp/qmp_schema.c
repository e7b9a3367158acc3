/* qmp_schema.c — loads and checks the QMP schema document (the compiled-in
 * qapi-schema.json) into resolved C structs; lookups by name. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_schema.h"

/* The scalars the checker implements; the schema's "builtins" list must
 * declare exactly these, with these JSON types. */
static const struct {
    const char *name;      /* schema name */
    qs_builtin_t b;        /* checker behaviour */
    const char *json_type; /* introspection json-type */
} builtins[QS_B__COUNT] = {
    { "str", QS_B_STR, "string" },       { "int", QS_B_INT, "int" },
    { "int8", QS_B_INT8, "int" },        { "int16", QS_B_INT16, "int" },
    { "int32", QS_B_INT32, "int" },      { "int64", QS_B_INT64, "int" },
    { "uint8", QS_B_UINT8, "int" },      { "uint16", QS_B_UINT16, "int" },
    { "uint32", QS_B_UINT32, "int" },    { "uint64", QS_B_UINT64, "int" },
    { "size", QS_B_SIZE, "int" },        { "bool", QS_B_BOOL, "boolean" },
    { "number", QS_B_NUMBER, "number" }, { "any", QS_B_ANY, "value" },
    { "null", QS_B_NULL, "null" },
};

/* Loader state: the schema being built and where the first error goes. */
typedef struct loader {
    qmp_schema_t *s; /* the schema being built */
    char *err;       /* message buffer (may be NULL) */
    size_t errlen;   /* its size */
    int r;           /* first error, 0 so far */
} loader_t;

static int fail(loader_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(loader_t *l, const char *fmt, ...)
{
    if (l->r == 0) {
        l->r = -EINVAL;
        if (l->err && l->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(l->err, l->errlen, fmt, ap);
            va_end(ap);
        }
    }
    return l->r;
}

static int nomem(loader_t *l)
{
    if (l->r == 0) {
        l->r = -ENOMEM;
        if (l->err && l->errlen)
            snprintf(l->err, l->errlen, "out of memory");
    }
    return l->r;
}

/* ---- small JSON helpers ----------------------------------------------------------- */

/* Every key of obj must be one of the NULL-terminated list. */
static int only_keys(loader_t *l, json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i])
            return fail(l, "%s: unknown key '%s'", where, key);
    }
    return 0;
}

/* A required (or optional, when opt) string member. */
static int get_str(loader_t *l, json_t *obj, const char *key, bool opt, const char *where,
                   const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (opt)
            return 0;
        return fail(l, "%s: '%s' is missing", where, key);
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return fail(l, "%s: '%s' must be a non-empty string", where, key);
    *out = json_string_value(v);
    return 0;
}

static int get_features(loader_t *l, json_t *obj, const char *where, json_t **out)
{
    json_t *f = json_object_get(obj, "features");
    *out = NULL;
    if (!f)
        return 0;
    size_t i;
    json_t *e;
    if (!json_is_array(f))
        return fail(l, "%s: 'features' must be a list of strings", where);
    json_array_foreach(f, i, e)
        if (!json_is_string(e) || json_string_length(e) == 0)
            return fail(l, "%s: 'features' must be a list of strings", where);
    *out = f;
    return 0;
}

/* ---- types ------------------------------------------------------------------------ */

static qs_type_t *new_type(loader_t *l, qs_kind_t kind, const char *name)
{
    qmp_schema_t *s = l->s;
    if (s->ntypes == s->captypes) {
        size_t cap = s->captypes ? s->captypes * 2 : 64;
        qs_type_t **t = realloc(s->types, cap * sizeof(*t));
        if (!t) {
            nomem(l);
            return NULL;
        }
        s->types = t;
        s->captypes = cap;
    }
    qs_type_t *t = calloc(1, sizeof(*t));
    if (!t) {
        nomem(l);
        return NULL;
    }
    t->kind = kind;
    t->name = name;
    t->index = s->ntypes;
    s->types[s->ntypes++] = t;
    return t;
}

static int cmp_type(const void *a, const void *b)
{
    const qs_type_t *x = *(qs_type_t *const *)a, *y = *(qs_type_t *const *)b;
    return strcmp(x->name, y->name);
}

const qs_type_t *qmp_schema_type(const qmp_schema_t *s, const char *name)
{
    qs_type_t key = { .name = name }, *kp = &key;
    qs_type_t **t = bsearch(&kp, s->named, s->nnamed, sizeof(*s->named), cmp_type);
    return t ? *t : NULL;
}

qs_jkind_t qmp_schema_jkind(const qs_type_t *t)
{
    switch (t->kind) {
    case QS_BUILTIN:
        switch (t->builtin) {
        case QS_B_STR:
            return QS_JK_STRING;
        case QS_B_BOOL:
            return QS_JK_BOOL;
        case QS_B_NULL:
            return QS_JK_NULL;
        case QS_B_ANY:
            return QS_JK_NONE;
        default:
            return QS_JK_NUMBER;
        }
    case QS_ENUM:
        return QS_JK_STRING;
    case QS_STRUCT:
    case QS_UNION:
        return QS_JK_OBJECT;
    case QS_ARRAY:
        return QS_JK_ARRAY;
    case QS_ALTERNATE:
        break;
    }
    return QS_JK_NONE;
}

/* The list type of elem, made once per element type. */
static const qs_type_t *list_of(loader_t *l, const qs_type_t *elem)
{
    for (size_t i = 0; i < l->s->ntypes; i++)
        if (l->s->types[i]->kind == QS_ARRAY && l->s->types[i]->elem == elem)
            return l->s->types[i];
    qs_type_t *t = new_type(l, QS_ARRAY, NULL);
    if (t) {
        t->elem = elem;
        t->defined = true;
    }
    return t;
}

/* A type reference: "Name" or ["Name"]. */
static const qs_type_t *resolve(loader_t *l, json_t *ref, const char *where)
{
    json_t *name = ref;
    if (json_is_array(ref)) {
        if (json_array_size(ref) != 1 || !json_is_string(json_array_get(ref, 0))) {
            fail(l, "%s: a list type is written [\"Name\"]", where);
            return NULL;
        }
        name = json_array_get(ref, 0);
    }
    if (!json_is_string(name)) {
        fail(l, "%s: a type is a name or [\"Name\"]", where);
        return NULL;
    }
    const qs_type_t *t = qmp_schema_type(l->s, json_string_value(name));
    if (!t) {
        fail(l, "%s: unknown type '%s'", where, json_string_value(name));
        return NULL;
    }
    return json_is_array(ref) ? list_of(l, t) : t;
}

static const char *const member_keys[] = { "name", "type", "optional", "since", "doc", "features",
                                           NULL };

/* Append the member definitions of list (an array) to *members. */
static int add_members(loader_t *l, json_t *list, const char *where, qs_member_t **members,
                       size_t *n)
{
    if (!json_is_array(list))
        return fail(l, "%s: members must be a list", where);
    size_t cnt = json_array_size(list);
    if (cnt == 0)
        return 0;
    qs_member_t *m = realloc(*members, (*n + cnt) * sizeof(*m));
    if (!m)
        return nomem(l);
    *members = m;
    size_t i;
    json_t *def;
    json_array_foreach(list, i, def) {
        char w[256];
        snprintf(w, sizeof(w), "%s, member %zu", where, i);
        if (!json_is_object(def))
            return fail(l, "%s: must be an object", w);
        qs_member_t *mm = &m[*n];
        memset(mm, 0, sizeof(*mm));
        json_t *opt = json_object_get(def, "optional");
        if (only_keys(l, def, w, member_keys) < 0 ||
            get_str(l, def, "name", false, w, &mm->name) < 0)
            return l->r;
        snprintf(w, sizeof(w), "%s, member '%s'", where, mm->name);
        if (get_str(l, def, "doc", false, w, &mm->doc) < 0 ||
            get_str(l, def, "since", true, w, &mm->since) < 0 ||
            get_features(l, def, w, &mm->features) < 0)
            return l->r;
        if (opt && !json_is_boolean(opt))
            return fail(l, "%s: 'optional' must be true or false", w);
        mm->optional = json_is_true(opt);
        if (!(mm->type = resolve(l, json_object_get(def, "type"), w)))
            return l->r;
        for (size_t j = 0; j < *n; j++)
            if (strcmp(m[j].name, mm->name) == 0)
                return fail(l, "%s: the name is used twice", w);
        (*n)++;
    }
    return 0;
}

static int define_type(loader_t *l, qs_type_t *t);

/* A struct whose definition is complete (bases are defined on demand). */
static const qs_type_t *need_struct(loader_t *l, json_t *ref, const char *where)
{
    if (!json_is_string(ref)) {
        fail(l, "%s: must name a struct", where);
        return NULL;
    }
    qs_type_t *t = (qs_type_t *)qmp_schema_type(l->s, json_string_value(ref));
    if (!t || t->kind != QS_STRUCT) {
        fail(l, "%s: '%s' is not a struct", where, json_string_value(ref));
        return NULL;
    }
    if (!t->defined && define_type(l, t) < 0)
        return NULL;
    return t;
}

static int copy_members(loader_t *l, const qs_type_t *from, qs_member_t **members, size_t *n)
{
    if (from->nmembers == 0)
        return 0;
    qs_member_t *m = realloc(*members, (*n + from->nmembers) * sizeof(*m));
    if (!m)
        return nomem(l);
    memcpy(m + *n, from->members, from->nmembers * sizeof(*m));
    *members = m;
    *n += from->nmembers;
    return 0;
}

static int define_enum(loader_t *l, qs_type_t *t, json_t *def, const char *w)
{
    static const char *const keys[] = { "enum", "since", "doc", "features", "values", NULL };
    json_t *values = json_object_get(def, "values");
    if (only_keys(l, def, w, keys) < 0)
        return l->r;
    if (!json_is_array(values) || json_array_size(values) == 0)
        return fail(l, "%s: 'values' must be a non-empty list", w);
    t->values = calloc(json_array_size(values), sizeof(*t->values));
    if (!t->values)
        return nomem(l);
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v) {
        static const char *const vkeys[] = { "name", "doc", "features", NULL };
        const char *name = json_string_value(v), *doc;
        json_t *f;
        if (json_is_object(v) &&
            (only_keys(l, v, w, vkeys) < 0 || get_str(l, v, "name", false, w, &name) < 0 ||
             get_str(l, v, "doc", false, w, &doc) < 0 || get_features(l, v, w, &f) < 0))
            return l->r;
        if (!name || !*name)
            return fail(l, "%s: value %zu must be a non-empty string", w, i);
        for (size_t j = 0; j < t->nvalues; j++)
            if (strcmp(t->values[j], name) == 0)
                return fail(l, "%s: value '%s' is listed twice", w, name);
        t->values[t->nvalues++] = name;
    }
    return 0;
}

static int define_struct(loader_t *l, qs_type_t *t, json_t *def, const char *w)
{
    static const char *const keys[] = { "struct", "since", "doc", "features", "base", "members",
                                        NULL };
    if (only_keys(l, def, w, keys) < 0)
        return l->r;
    json_t *base = json_object_get(def, "base");
    if (base) {
        /* QEMU flattens a base's members in front of the struct's own. */
        const qs_type_t *b = need_struct(l, base, w);
        if (!b || copy_members(l, b, &t->members, &t->nmembers) < 0)
            return l->r;
    }
    json_t *members = json_object_get(def, "members");
    if (!members)
        return fail(l, "%s: 'members' is missing", w);
    size_t nbase = t->nmembers;
    if (add_members(l, members, w, &t->members, &t->nmembers) < 0)
        return l->r;
    for (size_t i = nbase; i < t->nmembers; i++)
        for (size_t j = 0; j < nbase; j++)
            if (strcmp(t->members[i].name, t->members[j].name) == 0)
                return fail(l, "%s: member '%s' is also in the base", w, t->members[i].name);
    return 0;
}

static int define_union(loader_t *l, qs_type_t *t, json_t *def, const char *w)
{
    static const char *const keys[] = { "union", "since", "doc", "features", "base",
                                        "discriminator", "branches", NULL };
    const char *disc;
    json_t *base = json_object_get(def, "base"), *branches = json_object_get(def, "branches");
    if (only_keys(l, def, w, keys) < 0 || get_str(l, def, "discriminator", false, w, &disc) < 0)
        return l->r;
    if (json_is_string(base)) {
        const qs_type_t *b = need_struct(l, base, w);
        if (!b || copy_members(l, b, &t->members, &t->nmembers) < 0)
            return l->r;
    } else if (!base || add_members(l, base, w, &t->members, &t->nmembers) < 0) {
        return base ? l->r : fail(l, "%s: 'base' is missing", w);
    }
    for (size_t i = 0; i < t->nmembers && !t->tag; i++)
        if (strcmp(t->members[i].name, disc) == 0)
            t->tag = &t->members[i];
    if (!t->tag || t->tag->optional || t->tag->type->kind != QS_ENUM)
        return fail(l, "%s: the discriminator must be a mandatory enum member of the base", w);
    qs_type_t *e = (qs_type_t *)t->tag->type;
    if (!e->defined && define_type(l, e) < 0)
        return l->r;
    t->branches = calloc(e->nvalues, sizeof(*t->branches));
    if (!t->branches)
        return nomem(l);
    if (!json_is_object(branches))
        return fail(l, "%s: 'branches' must be an object", w);
    const char *key;
    json_t *v;
    json_object_foreach(branches, key, v) {
        size_t i = 0;
        while (i < e->nvalues && strcmp(e->values[i], key) != 0)
            i++;
        if (i == e->nvalues)
            return fail(l, "%s: branch '%s' is not a value of %s", w, key, e->name);
        const qs_type_t *b = need_struct(l, v, w);
        if (!b)
            return l->r;
        for (size_t m = 0; m < b->nmembers; m++)
            for (size_t j = 0; j < t->nmembers; j++)
                if (strcmp(b->members[m].name, t->members[j].name) == 0)
                    return fail(l, "%s: branch '%s' repeats member '%s'", w, key,
                                t->members[j].name);
        t->branches[i] = b;
    }
    return 0;
}

static int define_alternate(loader_t *l, qs_type_t *t, json_t *def, const char *w)
{
    static const char *const keys[] = { "alternate", "since", "doc", "features", "alternatives",
                                        NULL };
    if (only_keys(l, def, w, keys) < 0 ||
        add_members(l, json_object_get(def, "alternatives"), w, &t->members, &t->nmembers) < 0)
        return l->r;
    if (t->nmembers < 2)
        return fail(l, "%s: an alternate needs two alternatives or more", w);
    for (size_t i = 0; i < t->nmembers; i++) {
        const qs_member_t *m = &t->members[i];
        qs_jkind_t k = qmp_schema_jkind(m->type);
        if (m->optional || k == QS_JK_NONE)
            return fail(l, "%s: alternative '%s' cannot be optional, any or an alternate", w,
                        m->name);
        if (t->alt[k])
            return fail(l, "%s: alternatives '%s' and '%s' have the same JSON type", w,
                        t->alt[k]->name, m->name);
        t->alt[k] = m;
    }
    return 0;
}

static int define_type(loader_t *l, qs_type_t *t)
{
    char w[192];
    snprintf(w, sizeof(w), "type '%s'", t->name);
    if (t->resolving)
        return fail(l, "%s: its base chain loops", w);
    t->resolving = true;
    json_t *def = t->def;
    if (get_str(l, def, "since", false, w, &t->since) < 0 ||
        get_str(l, def, "doc", false, w, &t->doc) < 0 ||
        get_features(l, def, w, &t->features) < 0)
        return l->r;
    switch (t->kind) {
    case QS_ENUM:
        define_enum(l, t, def, w);
        break;
    case QS_STRUCT:
        define_struct(l, t, def, w);
        break;
    case QS_UNION:
        define_union(l, t, def, w);
        break;
    case QS_ALTERNATE:
        define_alternate(l, t, def, w);
        break;
    default:
        break;
    }
    t->resolving = false;
    t->defined = true;
    return l->r;
}

/* Pass 1: a shell for every named type, so that definitions may refer to
 * types declared later. */
static int declare_types(loader_t *l, json_t *types)
{
    static const struct {
        const char *key; /* the definition's kind key */
        qs_kind_t kind;  /* what it declares */
    } kinds[] = { { "enum", QS_ENUM },
                  { "struct", QS_STRUCT },
                  { "union", QS_UNION },
                  { "alternate", QS_ALTERNATE } };
    if (!json_is_array(types))
        return fail(l, "'types' must be a list");
    size_t i;
    json_t *def;
    json_array_foreach(types, i, def) {
        const char *name = NULL;
        qs_kind_t kind = QS_STRUCT;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            json_t *n = json_is_object(def) ? json_object_get(def, kinds[k].key) : NULL;
            if (n && name)
                return fail(l, "types[%zu]: declares two kinds", i);
            if (n) {
                name = json_string_value(n);
                kind = kinds[k].kind;
                if (!name || !*name)
                    return fail(l, "types[%zu]: '%s' must name the type", i, kinds[k].key);
            }
        }
        if (!name)
            return fail(l, "types[%zu]: needs one of enum, struct, union, alternate", i);
        if (name[0] == '[' || strchr(name, ' '))
            return fail(l, "types[%zu]: '%s' is not a valid type name", i, name);
        qs_type_t *t = new_type(l, kind, name);
        if (!t)
            return l->r;
        t->def = def;
    }
    return 0;
}

/* Sort the named types and refuse duplicates. */
static int index_types(loader_t *l)
{
    qmp_schema_t *s = l->s;
    s->named = calloc(s->ntypes ? s->ntypes : 1, sizeof(*s->named));
    if (!s->named)
        return nomem(l);
    for (size_t i = 0; i < s->ntypes; i++)
        if (s->types[i]->name)
            s->named[s->nnamed++] = s->types[i];
    qsort(s->named, s->nnamed, sizeof(*s->named), cmp_type);
    for (size_t i = 1; i < s->nnamed; i++)
        if (strcmp(s->named[i - 1]->name, s->named[i]->name) == 0)
            return fail(l, "type '%s' is declared twice", s->named[i]->name);
    return 0;
}

static int load_builtins(loader_t *l, json_t *list)
{
    static const char *const keys[] = { "name", "json-type", "doc", NULL };
    bool seen[QS_B__COUNT] = { false };
    if (!json_is_array(list))
        return fail(l, "'builtins' must be a list");
    size_t i;
    json_t *def;
    json_array_foreach(list, i, def) {
        const char *name, *jt, *doc;
        char w[64];
        snprintf(w, sizeof(w), "builtins[%zu]", i);
        if (!json_is_object(def))
            return fail(l, "%s: must be an object", w);
        if (only_keys(l, def, w, keys) < 0 || get_str(l, def, "name", false, w, &name) < 0 ||
            get_str(l, def, "json-type", false, w, &jt) < 0 ||
            get_str(l, def, "doc", false, w, &doc) < 0)
            return l->r;
        size_t b = 0;
        while (b < QS_B__COUNT && strcmp(builtins[b].name, name) != 0)
            b++;
        if (b == QS_B__COUNT)
            return fail(l, "%s: '%s' is not a builtin vmig implements", w, name);
        if (strcmp(builtins[b].json_type, jt) != 0)
            return fail(l, "%s: the json-type of '%s' is '%s'", w, name, builtins[b].json_type);
        if (seen[b])
            return fail(l, "%s: '%s' is listed twice", w, name);
        seen[b] = true;
        qs_type_t *t = new_type(l, QS_BUILTIN, builtins[b].name);
        if (!t)
            return l->r;
        t->builtin = builtins[b].b;
        t->json_type = builtins[b].json_type;
        t->doc = doc;
        t->defined = true;
    }
    for (size_t b = 0; b < QS_B__COUNT; b++)
        if (!seen[b])
            return fail(l, "builtins: '%s' is missing", builtins[b].name);
    return 0;
}

/* "arguments" or "data": a member list (an implicit struct), a struct name,
 * or absent (the shared empty struct). */
static const qs_type_t *load_object(loader_t *l, json_t *v, const char *w)
{
    if (!v)
        return l->s->empty;
    if (json_is_string(v))
        return need_struct(l, v, w);
    qs_type_t *t = new_type(l, QS_STRUCT, NULL);
    if (!t)
        return NULL;
    t->defined = true;
    if (add_members(l, v, w, &t->members, &t->nmembers) < 0)
        return NULL;
    return t;
}

static int cmp_cmd(const void *a, const void *b)
{
    return strcmp((*(const qs_command_t *const *)a)->name, (*(const qs_command_t *const *)b)->name);
}

static int cmp_ev(const void *a, const void *b)
{
    return strcmp((*(const qs_event_t *const *)a)->name, (*(const qs_event_t *const *)b)->name);
}

static int load_commands(loader_t *l, json_t *list)
{
    static const char *const keys[] = { "command", "since", "doc", "features", "arguments",
                                        "returns", "allow-oob", "boxed", NULL };
    qmp_schema_t *s = l->s;
    if (!json_is_array(list))
        return fail(l, "'commands' must be a list");
    s->cmds = calloc(json_array_size(list) + 1, sizeof(*s->cmds));
    s->cmd_sorted = calloc(json_array_size(list) + 1, sizeof(*s->cmd_sorted));
    if (!s->cmds || !s->cmd_sorted)
        return nomem(l);
    size_t i;
    json_t *def;
    json_array_foreach(list, i, def) {
        qs_command_t *c = &s->cmds[i];
        char w[192];
        snprintf(w, sizeof(w), "commands[%zu]", i);
        if (!json_is_object(def))
            return fail(l, "%s: must be an object", w);
        if (get_str(l, def, "command", false, w, &c->name) < 0)
            return l->r;
        snprintf(w, sizeof(w), "command '%s'", c->name);
        json_t *oob = json_object_get(def, "allow-oob"), *ret = json_object_get(def, "returns");
        if (only_keys(l, def, w, keys) < 0 || get_str(l, def, "since", false, w, &c->since) < 0 ||
            get_str(l, def, "doc", false, w, &c->doc) < 0 ||
            get_features(l, def, w, &c->features) < 0)
            return l->r;
        if (oob && !json_is_boolean(oob))
            return fail(l, "%s: 'allow-oob' must be true or false", w);
        c->allow_oob = json_is_true(oob);
        c->index = i;
        json_t *boxed = json_object_get(def, "boxed");
        if (boxed && !json_is_boolean(boxed))
            return fail(l, "%s: 'boxed' must be true or false", w);
        if (json_is_true(boxed)) {
            /* QEMU's 'boxed': the arguments are one struct or union, flat
             * (object-add: ObjectOptions, a union on qom-type). */
            json_t *a = json_object_get(def, "arguments");
            qs_type_t *t = json_is_string(a)
                               ? (qs_type_t *)qmp_schema_type(s, json_string_value(a))
                               : NULL;
            if (!t || (t->kind != QS_STRUCT && t->kind != QS_UNION))
                return fail(l, "%s: a boxed command's 'arguments' must name a struct or union",
                            w);
            if (!t->defined && define_type(l, t) < 0)
                return l->r;
            c->args = t;
        } else if (!(c->args = load_object(l, json_object_get(def, "arguments"), w))) {
            return l->r;
        }
        if (ret && !(c->ret = resolve(l, ret, w)))
            return l->r;
        s->cmd_sorted[i] = c;
        s->ncmds++;
    }
    qsort(s->cmd_sorted, s->ncmds, sizeof(*s->cmd_sorted), cmp_cmd);
    for (i = 1; i < s->ncmds; i++)
        if (strcmp(s->cmd_sorted[i - 1]->name, s->cmd_sorted[i]->name) == 0)
            return fail(l, "command '%s' is declared twice", s->cmd_sorted[i]->name);
    return 0;
}

static int load_events(loader_t *l, json_t *list)
{
    static const char *const keys[] = { "event", "since", "doc", "features", "data", NULL };
    qmp_schema_t *s = l->s;
    if (!json_is_array(list))
        return fail(l, "'events' must be a list");
    s->events = calloc(json_array_size(list) + 1, sizeof(*s->events));
    s->ev_sorted = calloc(json_array_size(list) + 1, sizeof(*s->ev_sorted));
    if (!s->events || !s->ev_sorted)
        return nomem(l);
    size_t i;
    json_t *def;
    json_array_foreach(list, i, def) {
        qs_event_t *e = &s->events[i];
        char w[192];
        json_t *f;
        snprintf(w, sizeof(w), "events[%zu]", i);
        if (!json_is_object(def))
            return fail(l, "%s: must be an object", w);
        if (get_str(l, def, "event", false, w, &e->name) < 0)
            return l->r;
        snprintf(w, sizeof(w), "event '%s'", e->name);
        if (only_keys(l, def, w, keys) < 0 || get_str(l, def, "since", false, w, &e->since) < 0 ||
            get_str(l, def, "doc", false, w, &e->doc) < 0 || get_features(l, def, w, &f) < 0)
            return l->r;
        if (!(e->data = load_object(l, json_object_get(def, "data"), w)))
            return l->r;
        s->ev_sorted[i] = e;
        s->nevents++;
    }
    qsort(s->ev_sorted, s->nevents, sizeof(*s->ev_sorted), cmp_ev);
    for (i = 1; i < s->nevents; i++)
        if (strcmp(s->ev_sorted[i - 1]->name, s->ev_sorted[i]->name) == 0)
            return fail(l, "event '%s' is declared twice", s->ev_sorted[i]->name);
    return 0;
}

static int load(loader_t *l, json_t *root)
{
    static const char *const keys[] = { "schema", "format", "doc", "builtins", "types",
                                        "commands", "events", NULL };
    const char *kind;
    if (!json_is_object(root))
        return fail(l, "the schema must be a JSON object");
    if (only_keys(l, root, "schema", keys) < 0 ||
        get_str(l, root, "schema", false, "schema", &kind) < 0)
        return l->r;
    if (strcmp(kind, "vmig-qapi") != 0 || json_integer_value(json_object_get(root, "format")) != 1)
        return fail(l, "not a vmig-qapi format 1 schema");
    if (load_builtins(l, json_object_get(root, "builtins")) < 0 ||
        declare_types(l, json_object_get(root, "types")) < 0 || index_types(l) < 0)
        return l->r;
    l->s->empty = new_type(l, QS_STRUCT, NULL);
    if (!l->s->empty)
        return l->r;
    l->s->empty->defined = true;
    /* define_type() may append list types: walk by index. */
    for (size_t i = 0; i < l->s->ntypes; i++)
        if (!l->s->types[i]->defined && define_type(l, l->s->types[i]) < 0)
            return l->r;
    if (load_commands(l, json_object_get(root, "commands")) < 0 ||
        load_events(l, json_object_get(root, "events")) < 0)
        return l->r;
    return 0;
}

int qmp_schema_load(const char *text, size_t len, qmp_schema_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    qmp_schema_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    loader_t l = { .s = s, .err = err, .errlen = errlen };
    json_error_t je;
    s->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!s->root)
        fail(&l, "line %d: %s", je.line, je.text);
    else
        load(&l, s->root);
    if (l.r < 0) {
        qmp_schema_free(s);
        return l.r;
    }
    *out = s;
    return 0;
}

void qmp_schema_free(qmp_schema_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntypes; i++) {
        qs_type_t *t = s->types[i];
        free(t->members);
        free(t->values);
        free(t->branches);
        free(t);
    }
    free(s->types);
    free(s->named);
    free(s->cmds);
    free(s->cmd_sorted);
    free(s->events);
    free(s->ev_sorted);
    json_decref(s->root);
    free(s);
}

const qs_command_t *qmp_schema_command(const qmp_schema_t *s, const char *name)
{
    qs_command_t key = { .name = name };
    const qs_command_t *kp = &key;
    const qs_command_t **c = bsearch(&kp, s->cmd_sorted, s->ncmds, sizeof(*s->cmd_sorted), cmp_cmd);
    return c ? *c : NULL;
}

const qs_event_t *qmp_schema_event(const qmp_schema_t *s, const char *name)
{
    qs_event_t key = { .name = name };
    const qs_event_t *kp = &key;
    const qs_event_t **e = bsearch(&kp, s->ev_sorted, s->nevents, sizeof(*s->ev_sorted), cmp_ev);
    return e ? *e : NULL;
}
