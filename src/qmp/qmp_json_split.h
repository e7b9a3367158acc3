/* qmp_json_split.h — the QMP input framer: cuts a byte stream into top-level
 * JSON values the way QEMU's JSON lexer does, with size and depth limits. */
#ifndef VMIG_QMP_JSON_SPLIT_H
#define VMIG_QMP_JSON_SPLIT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * How input is cut (QEMU 7.2's json-lexer/json-streamer, as seen from a client)
 * - Whitespace (space, tab, CR, LF) between values is skipped.
 * - `{...}` and `[...]` end when the nesting returns to zero (strings and
 *   their escapes are tracked, so braces inside strings do not count); a
 *   string ends at its closing quote; a bare token (number, keyword) at the
 *   top level ends at the first byte that cannot belong to it.
 * - QEMU's single-quoted strings ('...', with \' escapes) are rewritten as
 *   JSON strings while they are copied, so jansson can parse them.
 * - A stray `}`, `]`, `,` or `:` between values is one error.
 * - A lexical error (an ASCII control byte other than whitespace, a control
 *   byte inside a string, or a 0xFE/0xFF byte) drops the value in progress
 *   and gives one error; input is then skipped up to the next structural
 *   character or control byte, as QEMU resynchronises.
 * - A value longer than max_size bytes or deeper than max_depth gives one
 *   error as soon as the limit is crossed; the rest of that value is skipped
 *   (its nesting still tracked) and the next value is read normally.
 */

/* Default limits, the ones vmig_qmp_opts_t documents. */
#define QMP_JSON_DEFAULT_MAX_SIZE ((size_t)1 << 20)
#define QMP_JSON_DEFAULT_MAX_DEPTH 64u

/* What one call to qmp_json_split_feed() produced. */
typedef enum qmp_json_item_kind {
    QMP_JSON_NONE,  /* every byte consumed, no value complete yet */
    QMP_JSON_VALUE, /* data/len hold one complete value (not yet parsed) */
    QMP_JSON_ERROR, /* error holds the message of one bad value */
} qmp_json_item_kind_t;

typedef struct qmp_json_item {
    qmp_json_item_kind_t kind; /* which of the above */
    const char *data;          /* VALUE: the value's bytes, valid until the next feed */
    size_t len;                /* VALUE: their count */
    const char *error;         /* ERROR: message for the client, valid until the next feed */
} qmp_json_item_t;

/* The splitter's state; embed it and call init/free. */
typedef struct qmp_json_split {
    size_t max_size;     /* longest value kept, bytes */
    unsigned max_depth;  /* deepest nesting kept */
    int state;           /* where in the grammar we are (qmp_json_split.c) */
    char quote;          /* inside a string: its quote, '"' or '\'' */
    bool discarding;     /* over a limit: follow the value to its end, keep nothing */
    bool emitted;        /* the last feed returned a VALUE: reset buf on the next */
    size_t depth;        /* open braces and brackets of the value in progress */
    size_t tok;          /* offset in buf where the current string or bare token starts */
    char *buf;           /* the value in progress (NUL-free not guaranteed) */
    size_t len;          /* bytes in buf */
    size_t cap;          /* bytes allocated for buf */
    char errbuf[256];    /* the last error message */
} qmp_json_split_t;

/* Limits of 0 take the defaults above. */
void qmp_json_split_init(qmp_json_split_t *sp, size_t max_size, unsigned max_depth);
void qmp_json_split_free(qmp_json_split_t *sp);

/* Consume bytes of data until one value or one error is complete, or all of
 * it is used; returns the count consumed and fills item. Call again with the
 * rest until it has all been consumed. The count is 0 only when an item came
 * out (a bare token ends at the first byte given, which is looked at again). */
size_t qmp_json_split_feed(qmp_json_split_t *sp, const char *data, size_t len,
                           qmp_json_item_t *item);

/* True while part of a value has been received. */
bool qmp_json_split_pending(const qmp_json_split_t *sp);

/* Parse one value the splitter produced, the way QEMU would accept it
 * (any JSON value, duplicate keys rejected, \u0000 allowed). Returns a new
 * reference, or NULL with a QEMU-style message in err. */
json_t *qmp_json_parse(const char *data, size_t len, char *err, size_t errlen);

#endif
