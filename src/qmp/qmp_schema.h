/* qmp_schema.h — the QMP schema as the dispatcher uses it: loaded from the
 * compiled-in qapi-schema.json, argument checking, introspection. */
#ifndef VMIG_QMP_SCHEMA_H
#define VMIG_QMP_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The schema file's format is documented in docs/qmp-schema-format.md.
 * Loading resolves every type reference into a pointer, so checking an
 * argument object is a walk over C structs. Every string points into the
 * parsed JSON document, which the schema keeps.
 */

/* The compiled-in src/qmp/qapi-schema.json (generated at build time). */
extern const unsigned char qmp_schema_text[];
extern const size_t qmp_schema_text_len;

typedef enum qs_kind {
    QS_BUILTIN,   /* a scalar the checker knows: str, int, ... */
    QS_ENUM,      /* a string from a list */
    QS_STRUCT,    /* an object with named members */
    QS_UNION,     /* an object whose members depend on a tag member (flat union) */
    QS_ALTERNATE, /* one of several types, chosen by the value's JSON type */
    QS_ARRAY,     /* a list of one element type */
} qs_kind_t;

/* The builtin scalars, in the order of the table in qmp_schema.c. */
typedef enum qs_builtin {
    QS_B_STR,
    QS_B_INT,
    QS_B_INT8,
    QS_B_INT16,
    QS_B_INT32,
    QS_B_INT64,
    QS_B_UINT8,
    QS_B_UINT16,
    QS_B_UINT32,
    QS_B_UINT64,
    QS_B_SIZE,
    QS_B_BOOL,
    QS_B_NUMBER,
    QS_B_ANY,
    QS_B_NULL,
    QS_B__COUNT
} qs_builtin_t;

/* The JSON kinds an alternate tells its alternatives apart by. */
typedef enum qs_jkind {
    QS_JK_STRING, /* str, enums */
    QS_JK_NUMBER, /* integer types, number */
    QS_JK_BOOL,   /* bool */
    QS_JK_NULL,   /* null */
    QS_JK_OBJECT, /* structs, unions */
    QS_JK_ARRAY,  /* lists */
    QS_JK__COUNT,
    QS_JK_NONE = -1 /* any, alternates: not allowed as an alternative */
} qs_jkind_t;

struct qs_type;

/* A member of a struct, union base, command's arguments or event's data;
 * also an alternative of an alternate (name is then the alternative's tag). */
typedef struct qs_member {
    const char *name;            /* the JSON key */
    const struct qs_type *type;  /* resolved type */
    bool optional;               /* may be absent */
    const char *since;           /* version it appeared in, NULL = with its owner */
    const char *doc;             /* one line */
    json_t *features;            /* array of feature names (borrowed), or NULL */
} qs_member_t;

typedef struct qs_type {
    qs_kind_t kind;                  /* what it is */
    size_t index;                    /* position in the schema's types array */
    const char *name;                /* declared name; "[T]" for lists; NULL for implicit objects */
    const char *since;               /* version it appeared in */
    const char *doc;                 /* one line */
    json_t *features;                /* feature names (borrowed), or NULL */
    qs_builtin_t builtin;            /* QS_BUILTIN: which scalar */
    const char *json_type;           /* QS_BUILTIN: introspection json-type */
    qs_member_t *members;            /* STRUCT, UNION (base): members; ALTERNATE: alternatives */
    size_t nmembers;                 /* count of members */
    const char **values;             /* QS_ENUM: the values, in order */
    size_t nvalues;                  /* count of values */
    const qs_member_t *tag;          /* QS_UNION: the discriminator, one of members */
    const struct qs_type **branches; /* QS_UNION: per value of tag's enum, a struct or NULL */
    const struct qs_type *elem;      /* QS_ARRAY: element type */
    const struct qs_member *alt[QS_JK__COUNT]; /* QS_ALTERNATE: the alternative per JSON kind */
    bool defined;                    /* loader: the definition has been read */
    bool resolving;                  /* loader: struct base chain being followed */
    json_t *def;                     /* loader: the type's definition (borrowed) */
} qs_type_t;

typedef struct qs_command {
    const char *name;      /* the command */
    const char *since;     /* version it appeared in */
    const char *doc;       /* one line */
    json_t *features;      /* feature names (borrowed), or NULL */
    const qs_type_t *args; /* a struct (maybe implicit, maybe empty); a union if boxed */
    const qs_type_t *ret;  /* reply type, NULL for {} */
    bool allow_oob;        /* may run with exec-oob */
    size_t index;          /* position in the schema's command list */
} qs_command_t;

typedef struct qs_event {
    const char *name;      /* the event */
    const char *since;     /* version it appeared in */
    const char *doc;       /* one line */
    const qs_type_t *data; /* a struct (maybe implicit, maybe empty) */
} qs_event_t;

typedef struct qmp_schema {
    json_t *root;              /* the parsed document every string points into */
    qs_type_t **types;         /* every type: builtins, named, implicit, lists */
    size_t ntypes;             /* count */
    size_t captypes;           /* allocated slots in types */
    qs_type_t **named;         /* named types sorted by name (lookup) */
    size_t nnamed;             /* count */
    qs_command_t *cmds;        /* commands in schema order */
    size_t ncmds;              /* count */
    const qs_command_t **cmd_sorted; /* commands sorted by name (lookup) */
    qs_event_t *events;        /* events in schema order */
    size_t nevents;            /* count */
    const qs_event_t **ev_sorted;    /* events sorted by name (lookup) */
    qs_type_t *empty;          /* the empty struct: no arguments, no data, reply {} */
} qmp_schema_t;

/* Parse and check a schema document. On failure returns a negative errno
 * value and, when err is not NULL, a message saying what is wrong where. */
int qmp_schema_load(const char *text, size_t len, qmp_schema_t **out, char *err, size_t errlen);
void qmp_schema_free(qmp_schema_t *s);

const qs_command_t *qmp_schema_command(const qmp_schema_t *s, const char *name);
const qs_event_t *qmp_schema_event(const qmp_schema_t *s, const char *name);
const qs_type_t *qmp_schema_type(const qmp_schema_t *s, const char *name);

/* The JSON kind of a value of type t (QS_JK_NONE for any and alternates). */
qs_jkind_t qmp_schema_jkind(const qs_type_t *t);

/* Check obj (an object, or NULL for {}) against a struct or union type the
 * way QEMU 7.2's QObject input visitor does, with its error texts: 0, or
 * -EINVAL with the message in desc. */
int qmp_schema_check(const qs_type_t *type, json_t *obj, char *desc, size_t desclen);

/* A uint64 the way QEMU 7.2's qobject_input_type_uint64() reads it: an
 * integer (a negative one wraps) or, because jansson holds no integer above
 * INT64_MAX, an integral real in [2^63, 2^64] as the transport may decode it
 * (2^64 standing for UINT64_MAX). false for anything else. */
bool qmp_schema_uint64(const json_t *v, uint64_t *out);

/* query-qmp-schema's reply for the commands include() accepts (all when
 * include is NULL), every event and the types they reach; NULL without
 * memory. */
json_t *qmp_schema_introspect(const qmp_schema_t *s,
                              bool (*include)(const qs_command_t *cmd, void *opaque),
                              void *opaque);

/* ---- QEMU's dictionary orders (qmp_qorder.c) ------------------------------------ */

/* The keys of obj in the order QEMU 7.2's QDict iterates them (its hash
 * buckets), which is the order QEMU prints object members and checks request
 * members in. *keys (free() it; NULL when empty) borrows obj's key strings.
 * Returns the count, or -ENOMEM. */
int qmp_qdict_keys(json_t *obj, const char ***keys);
/* A deep copy of v with every object's members in QDict order (new
 * reference; NULL without memory). Messages go through this before they are
 * sent, so that their text matches QEMU's byte for byte. */
json_t *qmp_qdict_reorder(json_t *v);
/* The member of obj QEMU 7.2 reports as unexpected once the members in
 * consumed were visited: the first key left in the GHashTable its input
 * visitor builds (glib's g_str_hash and probing). NULL when none is left. */
const char *qmp_qdict_leftover(json_t *obj, const char *const *consumed, size_t nconsumed);

#endif
