/* qmp_json_split.c — cut QMP input into top-level JSON values with QEMU's
 * framing, resynchronisation and limits, and parse each one with jansson. */
#include "qmp/qmp_json_split.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum split_state {
    ST_IDLE,      /* between values: whitespace is skipped */
    ST_CONTAINER, /* inside {} or [], outside any string */
    ST_STRING,    /* inside a string (sp->quote says which kind) */
    ST_ESCAPE,    /* just after a backslash inside a string */
    ST_BARE,      /* a number or keyword at the top level */
    ST_RECOVER,   /* after a lexical error: skipping to a resync point */
};

/* A buffer that grew past this for one big value is given back once that
 * value is done: thousands of idle connections must stay cheap. */
#define SPLIT_KEEP_CAP (16u * 1024u)
#define SPLIT_MIN_CAP 256u
/* An error message shows at most this many bytes of the offending token. */
#define STRAY_SHOW 64u

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_structural(unsigned char c)
{
    return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':';
}

/* Bytes QEMU's lexer rejects outside strings: ASCII control bytes other than
 * whitespace, and 0xFE/0xFF, which never occur in UTF-8. Clients send them on
 * purpose to reset the parser (qmp-spec: "Forcing the JSON parser into
 * known-good state"). */
static bool is_bad(unsigned char c)
{
    return (c < 0x20 && !is_ws(c)) || c >= 0xFE;
}

/* Inside a string every control byte is an error, newlines included. */
static bool is_bad_in_string(unsigned char c)
{
    return c < 0x20 || c >= 0xFE;
}

void qmp_json_split_init(qmp_json_split_t *sp, size_t max_size, unsigned max_depth)
{
    memset(sp, 0, sizeof(*sp));
    sp->max_size = max_size ? max_size : QMP_JSON_DEFAULT_MAX_SIZE;
    sp->max_depth = max_depth ? max_depth : QMP_JSON_DEFAULT_MAX_DEPTH;
    sp->state = ST_IDLE;
}

void qmp_json_split_free(qmp_json_split_t *sp)
{
    free(sp->buf);
    sp->buf = NULL;
    sp->len = sp->cap = 0;
}

bool qmp_json_split_pending(const qmp_json_split_t *sp)
{
    return sp->state != ST_IDLE && sp->state != ST_RECOVER;
}

/* Forget the value in progress, and the memory of a big one. */
static void reset_value(qmp_json_split_t *sp)
{
    sp->len = 0;
    sp->tok = 0;
    if (sp->cap > SPLIT_KEEP_CAP) {
        free(sp->buf);
        sp->buf = NULL;
        sp->cap = 0;
    }
}

static bool set_error(qmp_json_split_t *sp, qmp_json_item_t *item, const char *msg)
{
    snprintf(sp->errbuf, sizeof(sp->errbuf), "%s", msg);
    item->kind = QMP_JSON_ERROR;
    item->error = sp->errbuf;
    return true;
}

/* The value in progress crossed a limit: report it now, then follow the
 * value to its end without keeping its bytes. */
static bool limit_error(qmp_json_split_t *sp, qmp_json_item_t *item, const char *msg)
{
    sp->discarding = true;
    reset_value(sp);
    return set_error(sp, item, msg);
}

static int grow(qmp_json_split_t *sp)
{
    size_t cap = sp->cap ? sp->cap * 2 : SPLIT_MIN_CAP;
    if (cap > sp->max_size)
        cap = sp->max_size; /* len < max_size here, so this still has room */
    char *b = realloc(sp->buf, cap);
    if (!b)
        return -1;
    sp->buf = b;
    sp->cap = cap;
    return 0;
}

/* Keep one byte of the value; returns true when that produced an error item. */
static bool put(qmp_json_split_t *sp, char c, qmp_json_item_t *item)
{
    if (sp->discarding)
        return false;
    if (sp->len >= sp->max_size)
        return limit_error(sp, item, "JSON token size limit exceeded");
    if (sp->len == sp->cap && grow(sp) < 0)
        return limit_error(sp, item, "JSON parse error, out of memory");
    sp->buf[sp->len++] = c;
    return false;
}

static bool put2(qmp_json_split_t *sp, char a, char b, qmp_json_item_t *item)
{
    return put(sp, a, item) || put(sp, b, item);
}

/* `{` or `[`: one level deeper. */
static bool open_nest(qmp_json_split_t *sp, char c, qmp_json_item_t *item)
{
    bool done = put(sp, c, item);
    sp->depth++;
    if (!sp->discarding && sp->depth > sp->max_depth)
        done = limit_error(sp, item, "JSON nesting depth limit exceeded");
    return done;
}

/* The top-level value ends here: hand it out, unless it was over a limit
 * (its error has been given already). */
static bool end_value(qmp_json_split_t *sp, qmp_json_item_t *item)
{
    sp->state = ST_IDLE;
    sp->depth = 0;
    if (sp->discarding) {
        sp->discarding = false;
        reset_value(sp);
        return false;
    }
    item->kind = QMP_JSON_VALUE;
    item->data = sp->buf;
    item->len = sp->len;
    sp->emitted = true;
    return true;
}

/* Length of the valid UTF-8 sequence at s (as strict as jansson: no
 * overlong forms, surrogates or code points past U+10FFFF), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n <= need)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        return 0;
    if (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))
        return 0;
    return need + 1;
}

/* Append in[0..n) to out as valid UTF-8 (the message becomes a JSON string,
 * which jansson refuses otherwise): bad bytes become U+FFFD as in QEMU's
 * output, NUL bytes are dropped as QEMU's C string drops them. */
static size_t put_text(char *out, size_t pos, size_t cap, const unsigned char *in, size_t n)
{
    for (size_t i = 0; i < n && pos + 4 < cap;) {
        size_t k = in[i] < 0x80 ? 1 : utf8_seq(in + i, n - i);
        if (in[i] == 0) {
            i++;
        } else if (k) {
            memcpy(out + pos, in + i, k);
            pos += k;
            i += k;
        } else {
            memcpy(out + pos, "\xEF\xBF\xBD", 3);
            pos += 3;
            i++;
        }
    }
    out[pos] = '\0';
    return pos;
}

/* A byte the lexer cannot take: drop the value in progress, report it the way
 * QEMU does ("stray" and the token being lexed), then resynchronise. */
static bool lex_error(qmp_json_split_t *sp, unsigned char c, qmp_json_item_t *item)
{
    const unsigned char *tok = NULL;
    size_t toklen = 0;
    bool in_token = sp->state == ST_STRING || sp->state == ST_ESCAPE || sp->state == ST_BARE;
    if (in_token && !sp->discarding) {
        tok = (const unsigned char *)sp->buf + sp->tok;
        toklen = sp->len - sp->tok;
    }
    char *out = sp->errbuf;
    size_t cap = sizeof(sp->errbuf);
    size_t pos = (size_t)snprintf(out, cap, "JSON parse error, stray '");
    if (toklen > STRAY_SHOW) {
        size_t skip = toklen - STRAY_SHOW;
        while (skip < toklen && (tok[skip] & 0xC0) == 0x80)
            skip++; /* start on a character boundary */
        pos = put_text(out, pos, cap, (const unsigned char *)"...", 3);
        tok += skip;
        toklen -= skip;
    }
    if (toklen)
        pos = put_text(out, pos, cap, tok, toklen);
    if (sp->state == ST_ESCAPE && !sp->discarding)
        pos = put_text(out, pos, cap, (const unsigned char *)"\\", 1);
    pos = put_text(out, pos, cap, &c, 1);
    put_text(out, pos, cap, (const unsigned char *)"'", 1);

    sp->state = ST_RECOVER;
    sp->depth = 0;
    sp->discarding = false;
    reset_value(sp);
    item->kind = QMP_JSON_ERROR;
    item->error = sp->errbuf;
    return true;
}

/* A string opens at the top level or inside a container. */
static bool open_string(qmp_json_split_t *sp, char quote, qmp_json_item_t *item)
{
    sp->state = ST_STRING;
    sp->quote = quote;
    sp->tok = sp->len;
    return put(sp, '"', item); /* single-quoted strings are copied as JSON strings */
}

size_t qmp_json_split_feed(qmp_json_split_t *sp, const char *data, size_t len,
                           qmp_json_item_t *item)
{
    item->kind = QMP_JSON_NONE;
    item->data = NULL;
    item->len = 0;
    item->error = NULL;
    if (sp->emitted) {
        sp->emitted = false;
        reset_value(sp);
    }

    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)data[i];
        bool done = false;    /* item is filled: return after this byte */
        bool consumed = true; /* false: the byte is looked at again in the new state */
        switch (sp->state) {
        case ST_IDLE:
            if (is_ws(c))
                break;
            if (c == '{' || c == '[') {
                sp->state = ST_CONTAINER;
                done = open_nest(sp, (char)c, item);
            } else if (c == '}' || c == ']' || c == ',' || c == ':') {
                done = set_error(sp, item, "JSON parse error, expecting value");
            } else if (c == '"' || c == '\'') {
                done = open_string(sp, (char)c, item);
            } else if (is_bad(c)) {
                done = lex_error(sp, c, item);
            } else {
                sp->state = ST_BARE;
                sp->tok = sp->len;
                done = put(sp, (char)c, item);
            }
            break;
        case ST_CONTAINER:
            if (is_bad(c)) {
                done = lex_error(sp, c, item);
            } else if (c == '{' || c == '[') {
                done = open_nest(sp, (char)c, item);
            } else if (c == '}' || c == ']') {
                /* A mismatched closer also ends the value; jansson rejects it. */
                done = put(sp, (char)c, item);
                if (--sp->depth == 0)
                    done = end_value(sp, item) || done;
            } else if (c == '"' || c == '\'') {
                done = open_string(sp, (char)c, item);
            } else {
                done = put(sp, (char)c, item);
            }
            break;
        case ST_STRING:
            if (is_bad_in_string(c)) {
                done = lex_error(sp, c, item);
            } else if (c == '\\') {
                sp->state = ST_ESCAPE; /* kept once we know what it escapes */
            } else if (c == (unsigned char)sp->quote) {
                done = put(sp, '"', item);
                sp->state = ST_CONTAINER;
                if (sp->depth == 0)
                    done = end_value(sp, item) || done;
            } else if (c == '"') {
                done = put2(sp, '\\', '"', item); /* a '"' inside '...' */
            } else {
                done = put(sp, (char)c, item);
            }
            break;
        case ST_ESCAPE:
            if (is_bad_in_string(c)) {
                done = lex_error(sp, c, item);
            } else {
                sp->state = ST_STRING;
                /* QEMU accepts \' in both kinds of strings; JSON has no such escape. */
                done = c == '\'' ? put(sp, '\'', item) : put2(sp, '\\', (char)c, item);
            }
            break;
        case ST_BARE:
            if (is_ws(c) || is_structural(c) || c == '"' || c == '\'' || is_bad(c)) {
                consumed = false;
                done = end_value(sp, item);
            } else {
                done = put(sp, (char)c, item);
            }
            break;
        case ST_RECOVER:
        default:
            /* QEMU resumes at structural characters and control bytes. */
            if (c >= 0x20 && c < 0xFE && !is_structural(c))
                break;
            sp->state = ST_IDLE;
            consumed = false;
            break;
        }
        if (consumed)
            i++;
        if (done)
            break;
    }
    return i;
}

/* Letters only: what QEMU's lexer takes as a keyword. */
static bool is_keyword(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return false;
    return true;
}

json_t *qmp_json_parse(const char *data, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    /* QEMU rejects duplicate keys and accepts \u0000 in strings. */
    json_t *v = json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                           &je);
    if (v)
        return v;
    /* QEMU's texts where they are easy to tell apart; clients must not parse
     * them anyway. */
#if JANSSON_VERSION_HEX >= 0x020b00
    if (json_error_code(&je) == json_error_duplicate_key) {
        snprintf(err, errlen, "JSON parse error, duplicate key");
        return NULL;
    }
#endif
    if (is_keyword(data, len))
        snprintf(err, errlen, "JSON parse error, invalid keyword '%.*s'", (int)len, data);
    else
        snprintf(err, errlen, "JSON parse error, expecting value");
    return NULL;
}
