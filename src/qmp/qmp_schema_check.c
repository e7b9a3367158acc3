/* qmp_schema_check.c — generic argument checking against the schema, with
 * QEMU 7.2's rules and error texts (its QObject input visitor's). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp/qmp_schema.h"

/*
 * What QEMU 7.2 does, and so what this does (all texts checked live):
 * - Members are visited in schema order: the first missing or badly typed
 *   one is reported; leftover members are reported after all declared ones
 *   passed ("Parameter 'a' is unexpected"; which leftover: qmp_qorder.c).
 * - Most texts name the member by its full path ("a.b[0].c"), but range and
 *   enum errors, and alternates, use the bare member name, "null" for a
 *   list element: "Parameter 'null' does not accept value 'nosuch'".
 * - Unsigned types accept negative integers (they wrap, "for backward
 *   compatibility") and then check the range: -1 for a uint8 is
 *   "Parameter 'x' expects uint8_t", -1 for a uint64 or size is accepted.
 * - A non-integer for an unsigned type is "Parameter 'x' expects uint64";
 *   for a signed one "Invalid parameter type for 'x', expected: integer".
 * jansson cannot hold integers above INT64_MAX; if the transport decodes
 * them as reals, an integral real in [2^63, 2^64] passes as a uint64 (2^64
 * standing for UINT64_MAX, which a double cannot hold).
 */

/* The checker's state: the path of the value being checked and the error. */
typedef struct checker {
    char path[512]; /* full name of the current value, QEMU style */
    size_t plen;    /* strlen(path) */
    char *desc;     /* where the error text goes */
    size_t desclen; /* its size */
} checker_t;

static int fail(checker_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(checker_t *c, const char *fmt, ...)
{
    if (c->desc && c->desclen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->desc, c->desclen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Extend the path; returns the length to restore. */
static size_t push(checker_t *c, const char *name, size_t index, bool is_index)
{
    size_t old = c->plen;
    int n;
    if (is_index)
        n = snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", index);
    else
        n = snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", name);
    if (n > 0)
        c->plen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
    return old;
}

static void pop(checker_t *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static int type_error(checker_t *c, const char *expected)
{
    return fail(c, "Invalid parameter type for '%s', expected: %s", c->path, expected);
}

bool qmp_schema_uint64(const json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Integers past INT64_MAX, rounded to a double by the decoder
         * (every double that large is integral); UINT64_MAX itself
         * arrives as 2^64. */
        if (d >= 9223372036854775808.0 && d <= 18446744073709551616.0) {
            *out = d < 18446744073709551616.0 ? (uint64_t)d : UINT64_MAX;
            return true;
        }
    }
    return false;
}

static int check_builtin(checker_t *c, qs_builtin_t b, json_t *v, const char *bare)
{
    static const struct {
        int64_t min, max; /* signed range */
        const char *c_type; /* QEMU's name in range errors */
    } sranges[] = {
        [QS_B_INT8] = { INT8_MIN, INT8_MAX, "int8_t" },
        [QS_B_INT16] = { INT16_MIN, INT16_MAX, "int16_t" },
        [QS_B_INT32] = { INT32_MIN, INT32_MAX, "int32_t" },
    };
    static const struct {
        uint64_t max;       /* unsigned range */
        const char *c_type; /* QEMU's name in range errors */
    } uranges[] = {
        [QS_B_UINT8] = { UINT8_MAX, "uint8_t" },
        [QS_B_UINT16] = { UINT16_MAX, "uint16_t" },
        [QS_B_UINT32] = { UINT32_MAX, "uint32_t" },
    };
    uint64_t u;
    switch (b) {
    case QS_B_STR:
        return json_is_string(v) ? 0 : type_error(c, "string");
    case QS_B_BOOL:
        return json_is_boolean(v) ? 0 : type_error(c, "boolean");
    case QS_B_NUMBER:
        return json_is_number(v) ? 0 : type_error(c, "number");
    case QS_B_NULL:
        return json_is_null(v) ? 0 : type_error(c, "null");
    case QS_B_ANY:
        return 0;
    case QS_B_INT:
    case QS_B_INT64:
        return json_is_integer(v) ? 0 : type_error(c, "integer");
    case QS_B_INT8:
    case QS_B_INT16:
    case QS_B_INT32:
        if (!json_is_integer(v))
            return type_error(c, "integer");
        if (json_integer_value(v) < sranges[b].min || json_integer_value(v) > sranges[b].max)
            return fail(c, "Parameter '%s' expects %s", bare ? bare : "null", sranges[b].c_type);
        return 0;
    case QS_B_UINT64:
    case QS_B_SIZE:
        return qmp_schema_uint64(v, &u) ? 0 : fail(c, "Parameter '%s' expects uint64", c->path);
    case QS_B_UINT8:
    case QS_B_UINT16:
    case QS_B_UINT32:
        if (!qmp_schema_uint64(v, &u))
            return fail(c, "Parameter '%s' expects uint64", c->path);
        if (u > uranges[b].max)
            return fail(c, "Parameter '%s' expects %s", bare ? bare : "null", uranges[b].c_type);
        return 0;
    case QS_B__COUNT:
        break;
    }
    return fail(c, "Parameter '%s' has a type vmig cannot check", c->path);
}

static int check_value(checker_t *c, const qs_type_t *t, json_t *v, const char *bare);

/* Check the members of one list, recording those present in consumed. */
static int check_members(checker_t *c, const qs_member_t *m, size_t n, json_t *obj,
                         const char **consumed, size_t *nconsumed)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        json_t *v = json_object_get(obj, m[i].name);
        size_t old = push(c, m[i].name, 0, false);
        if (!v && !m[i].optional)
            r = fail(c, "Parameter '%s' is missing", c->path);
        else if (v && (r = check_value(c, m[i].type, v, m[i].name)) == 0)
            consumed[(*nconsumed)++] = m[i].name;
        pop(c, old);
    }
    return r;
}

/* One object: its members (a union: the base's, then those of the branch
 * the tag selects), then the leftovers. */
static int check_object(checker_t *c, const qs_type_t *t, json_t *obj)
{
    size_t cap = t->nmembers, nconsumed = 0;
    if (t->kind == QS_UNION) {
        size_t most = 0;
        for (size_t i = 0; i < t->tag->type->nvalues; i++)
            if (t->branches[i] && t->branches[i]->nmembers > most)
                most = t->branches[i]->nmembers;
        cap += most;
    }
    const char *small[32], **consumed = small;
    if (cap > sizeof(small) / sizeof(small[0]) && !(consumed = malloc(cap * sizeof(*consumed))))
        return fail(c, "Out of memory checking '%s'", c->path);
    int r = check_members(c, t->members, t->nmembers, obj, consumed, &nconsumed);
    if (r == 0 && t->kind == QS_UNION) {
        /* The tag is mandatory and passed its enum check. */
        const char *tag = json_string_value(json_object_get(obj, t->tag->name));
        const qs_type_t *e = t->tag->type;
        for (size_t i = 0; i < e->nvalues; i++)
            if (t->branches[i] && strcmp(e->values[i], tag) == 0)
                r = check_members(c, t->branches[i]->members, t->branches[i]->nmembers, obj,
                                  consumed, &nconsumed);
    }
    if (r == 0 && json_object_size(obj) > nconsumed) {
        const char *left = qmp_qdict_leftover(obj, consumed, nconsumed);
        size_t old = push(c, left ? left : "", 0, false);
        r = fail(c, "Parameter '%s' is unexpected", c->path);
        pop(c, old);
    }
    if (consumed != small)
        free(consumed);
    return r;
}

static int check_value(checker_t *c, const qs_type_t *t, json_t *v, const char *bare)
{
    switch (t->kind) {
    case QS_BUILTIN:
        return check_builtin(c, t->builtin, v, bare);
    case QS_ENUM:
        if (!json_is_string(v))
            return type_error(c, "string");
        for (size_t i = 0; i < t->nvalues; i++)
            if (strcmp(t->values[i], json_string_value(v)) == 0 &&
                strlen(t->values[i]) == json_string_length(v))
                return 0;
        return fail(c, "Parameter '%s' does not accept value '%s'", bare ? bare : "null",
                    json_string_value(v));
    case QS_STRUCT:
    case QS_UNION:
        if (!json_is_object(v))
            return type_error(c, "object");
        return check_object(c, t, v);
    case QS_ALTERNATE: {
        qs_jkind_t k = json_is_string(v) ? QS_JK_STRING
                       : json_is_number(v) ? QS_JK_NUMBER
                       : json_is_boolean(v) ? QS_JK_BOOL
                       : json_is_null(v) ? QS_JK_NULL
                       : json_is_object(v) ? QS_JK_OBJECT
                                           : QS_JK_ARRAY;
        if (!t->alt[k])
            return fail(c, "Invalid parameter type for '%s', expected: %s", bare ? bare : "null",
                        t->name);
        return check_value(c, t->alt[k]->type, v, bare);
    }
    case QS_ARRAY: {
        if (!json_is_array(v))
            return type_error(c, "array");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            size_t old = push(c, NULL, i, true);
            int r = check_value(c, t->elem, e, NULL);
            pop(c, old);
            if (r < 0)
                return r;
        }
        return 0;
    }
    }
    return fail(c, "Parameter '%s' has a type vmig cannot check", c->path);
}

int qmp_schema_check(const qs_type_t *type, json_t *obj, char *desc, size_t desclen)
{
    checker_t c = { .desc = desc, .desclen = desclen };
    if (desc && desclen)
        desc[0] = '\0';
    json_t *empty = NULL;
    if (!obj) {
        empty = json_object();
        if (!empty)
            return fail(&c, "Out of memory");
        obj = empty;
    }
    int r;
    if (!json_is_object(obj))
        r = fail(&c, "QMP input member 'arguments' must be an object");
    else
        r = check_object(&c, type, obj);
    json_decref(empty);
    return r;
}
