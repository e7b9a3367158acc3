/* vmstate.h — declarative device state descriptions (vmsd), QEMU's
 * VMStateDescription: how an embedder describes a device (vCPU registers, a
 * serial port...) so that it travels as one section of the migration stream
 * with QEMU's encoding, a bounds-checked loader and a vmdesc description. */
#ifndef VMIG_VMSTATE_H
#define VMIG_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmig/vmig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque here: the stream a codec reads or writes and the JSON object of a
 * description; only codecs written inside the library use them. */
typedef struct vmig_stream vmig_stream_t;
typedef struct json_t json_t;

/*
 * Model
 * - A vmig_vmsd_t describes a C struct: a table of fields ended by
 *   VMIG_VMSTATE_END_OF_LIST(), hooks, and a NULL-terminated list of
 *   subsections. The wire is the fields' encodings back to back, no tags or
 *   lengths; counts and sizes come from fields loaded earlier.
 * - A field (vmig_vmsd_field_t) says where its data lives (offset, maybe a
 *   pointer), how many elements (1, num, or a count member), how big each is
 *   (size, or a size member for variable buffers) and how to encode one: an
 *   info codec (vmig_vmsd_info_t), a nested vmsd (STRUCT/VSTRUCT), a list
 *   iterator, or a temporary struct (WITH_TMP).
 * - Write tables with the VMIG_VMSTATE_* macros below (they check member
 *   types at compile time) or by hand with designated initializers:
 *     { .name = "x", .offset = offsetof(dev_t, x), .size = 4,
 *       .info = &vmig_vmstate_info_uint32, .flags = VMIG_VMS_SINGLE,
 *       .field_exists = x_present },
 * - Presence: a field is encoded iff field_exists ? field_exists(opaque,
 *   version) : version_id <= version, where version is that of the enclosing
 *   vmsd: the section version at the top, a nested vmsd's own version_id for
 *   STRUCT, struct_version_id for VSTRUCT, the wire version for subsections.
 *
 * Loader guarantees (the input is hostile)
 * - Every count and size taken from the struct (it may have come off the wire
 *   a field earlier) is checked against the field's capacity (`max`) before
 *   use; a negative int32 count or size is rejected; VMIG_VMS_ALLOC sizes are
 *   overflow-checked and limited to `max` (or VMIG_VMSTATE_ALLOC_MAX).
 * - Errors never abort: the first one is kept, with a message, as the
 *   stream's sticky error (vmig_stream_error_msg()); element failures get the
 *   context "Failed to load <vmsd>:<field>: " in front of the cause.
 * - post_load hooks run only after every field and subsection loaded.
 *
 * Memory: VMIG_VMS_ALLOC fields are malloc()ed by the loader; a non-NULL
 * pointer found there is free()d first, so it must be NULL or malloc()ed.
 * The owner frees them (free()) when it is done with the struct.
 */

typedef struct vmig_vmsd vmig_vmsd_t;
typedef struct vmig_vmsd_field vmig_vmsd_field_t;

/* A codec for one element. */
typedef struct vmig_vmsd_info {
    const char *name; /* the JSON "type", e.g. "uint32", "buffer", "timer" */
    /* Decode one element of `size` (bytes; bits for a bitmap) into pv. Returns
     * 0 or a negative errno with a message set by vmig_stream_set_error(). */
    int (*get)(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *field);
    /* Encode one element. desc is the element's JSON object (NULL when no
     * description is built); only codecs that nest (tmp) write into it. */
    int (*put)(vmig_stream_t *s, void *pv, size_t size, const vmig_vmsd_field_t *field,
               json_t *desc);
} vmig_vmsd_info_t;

/* How a list member (QTAILQ-like) is walked and grown; head is the address
 * of the list member inside the struct. */
typedef struct vmig_vmsd_list_ops {
    void *(*first)(void *head);            /* first element, NULL when empty */
    void *(*next)(void *head, void *elem); /* element after elem, NULL at the end */
    /* Load: allocate a zeroed element, link it at the tail, return it; NULL
     * on failure. The list should be empty before a load (pre_load can
     * empty it); elements already there stay in front. */
    void *(*append)(void *head);
} vmig_vmsd_list_ops_t;

/* Field flags; the bit values follow spec/vmstate.md §4. */
enum {
    VMIG_VMS_SINGLE = 0x0001,            /* one element */
    VMIG_VMS_POINTER = 0x0002,           /* member is a pointer; its target is encoded */
    VMIG_VMS_ARRAY = 0x0004,             /* num elements */
    VMIG_VMS_STRUCT = 0x0008,            /* element is a nested vmsd */
    VMIG_VMS_VARRAY_INT32 = 0x0010,      /* count = int32_t at num_offset */
    VMIG_VMS_BUFFER = 0x0020,            /* element is a byte buffer */
    VMIG_VMS_ARRAY_OF_POINTER = 0x0040,  /* elements are pointers; NULL → byte 0x30 */
    VMIG_VMS_VARRAY_UINT16 = 0x0080,     /* count = uint16_t at num_offset */
    VMIG_VMS_VBUFFER = 0x0100,           /* element size = int32_t at size_offset */
    VMIG_VMS_MULTIPLY = 0x0200,          /* VBUFFER size × size */
    VMIG_VMS_VARRAY_UINT8 = 0x0400,      /* count = uint8_t at num_offset */
    VMIG_VMS_VARRAY_UINT32 = 0x0800,     /* count = uint32_t at num_offset */
    VMIG_VMS_MUST_EXIST = 0x1000,        /* absent → error; never in the JSON */
    VMIG_VMS_ALLOC = 0x2000,             /* loader allocates the pointer's target */
    VMIG_VMS_MULTIPLY_ELEMENTS = 0x4000, /* count × num */
    VMIG_VMS_VSTRUCT = 0x8000,           /* STRUCT with struct_version_id */
    VMIG_VMS_END = 0x10000,              /* end of the field table */
    VMIG_VMS_VBUFFER_UINT32 = 0x20000,   /* vmig: with VBUFFER, the size member is uint32_t */
};

struct vmig_vmsd_field {
    const char *name;                 /* JSON name; NULL ends the table too */
    size_t offset;                    /* of the member in the struct */
    size_t size;                      /* element size, or the VBUFFER multiplier */
    size_t start;                     /* buffers: first byte encoded */
    size_t num;                       /* ARRAY count, or MULTIPLY_ELEMENTS factor */
    size_t max;                       /* capacity: most elements (VARRAY), bytes
                                       * (VBUFFER: start + size), bits (bitmap) or
                                       * list entries the local side takes; 0 = none
                                       * declared (only allowed with ALLOC) */
    size_t num_offset;                /* VARRAY: offset of the count member */
    size_t size_offset;               /* VBUFFER: offset of the size member */
    const vmig_vmsd_info_t *info;     /* element codec (not for STRUCT/VSTRUCT) */
    uint32_t flags;                   /* VMIG_VMS_* */
    int version_id;                   /* present from this version on */
    int struct_version_id;            /* VSTRUCT: version used for vmsd */
    const vmig_vmsd_t *vmsd;          /* nested description (STRUCT, VSTRUCT, list, tmp) */
    const vmig_vmsd_list_ops_t *list; /* list fields: walking and growing the list */
    /* Decides presence instead of version_id (both ends must agree). */
    bool (*field_exists)(void *opaque, int version_id);
};

struct vmig_vmsd {
    const char *name;          /* vmsd_name; subsections: "parent/child", the wire name */
    int version_id;            /* version written by the saver */
    int minimum_version_id;    /* oldest incoming version accepted */
    int priority;              /* VMIG_SAVEVM_PRI_*: section order (higher first) */
    bool unmigratable;         /* registering it blocks migration */
    int (*pre_load)(void *opaque);                 /* before fields; non-zero aborts */
    int (*post_load)(void *opaque, int version_id); /* after fields and subsections */
    int (*pre_save)(void *opaque);                 /* before save; non-zero aborts */
    int (*post_save)(void *opaque);                /* after save (also after a failure) */
    /* Subsection: written only when true. Top level: no section when false. */
    bool (*needed)(void *opaque);
    const vmig_vmsd_field_t *fields;           /* ended by VMIG_VMSTATE_END_OF_LIST() */
    const vmig_vmsd_t *const *subsections;     /* NULL-terminated, may be NULL */
};

/* A timer's state as the wire carries it: expiry in ns on the timer's clock,
 * or VMIG_VMSTATE_TIMER_NOT_ARMED. Devices convert in pre_save / post_load. */
#define VMIG_VMSTATE_TIMER_NOT_ARMED INT64_C(-1)
typedef struct vmig_vmstate_timer {
    int64_t expire_ns; /* expiry time, or VMIG_VMSTATE_TIMER_NOT_ARMED */
} vmig_vmstate_timer_t;

/* Most a VMIG_VMS_ALLOC field without its own `max` may allocate, in bytes. */
#define VMIG_VMSTATE_ALLOC_MAX (64u << 20)
/* Most elements a list field without its own `max` loads. */
#define VMIG_VMSTATE_LIST_MAX (1u << 20)
/* The byte written for a NULL element of an ARRAY_OF_POINTER. */
#define VMIG_VMSTATE_NULLPTR_MARKER 0x30
/* The byte that starts a subsection (QEMU_VM_SUBSECTION). */
#define VMIG_VMSTATE_SUBSECTION_MARKER 0x05

/* ---- registering a device with an engine ------------------------------------ */

/* The device described by vmsd, its state in opaque, travels as one FULL
 * section named idstr (1..255 bytes; QEMU's names where a QEMU peer must
 * accept it), instance instance_id, version vmsd->version_id, after the RAM,
 * in registration order (vmsd->priority first). vmsd and opaque must outlive
 * the engine. On an incoming migration the loader checks every count and
 * size against the description and calls post_load last. Returns 0, -EINVAL
 * (bad idstr or vmsd), -EEXIST (idstr and instance taken) or -EBUSY (a
 * migration runs). */
int vmig_engine_register_vmsd(vmig_engine_t *engine, const char *idstr, uint32_t instance_id,
                              const vmig_vmsd_t *vmsd, void *opaque);

/* ---- codecs (spec/vmstate.md §5) ------------------------------------------------ */
extern const vmig_vmsd_info_t vmig_vmstate_info_bool;
extern const vmig_vmsd_info_t vmig_vmstate_info_int8;
extern const vmig_vmsd_info_t vmig_vmstate_info_int16;
extern const vmig_vmsd_info_t vmig_vmstate_info_int32;
extern const vmig_vmsd_info_t vmig_vmstate_info_int64;
extern const vmig_vmsd_info_t vmig_vmstate_info_uint8;
extern const vmig_vmsd_info_t vmig_vmstate_info_uint16;
extern const vmig_vmsd_info_t vmig_vmstate_info_uint32;
extern const vmig_vmsd_info_t vmig_vmstate_info_uint64;
extern const vmig_vmsd_info_t vmig_vmstate_info_int32_equal;  /* "int32 equal" */
extern const vmig_vmsd_info_t vmig_vmstate_info_int32_le;     /* "int32 le": 0 <= v <= local */
extern const vmig_vmsd_info_t vmig_vmstate_info_uint8_equal;  /* "uint8 equal" */
extern const vmig_vmsd_info_t vmig_vmstate_info_uint16_equal; /* "uint16 equal" */
extern const vmig_vmsd_info_t vmig_vmstate_info_uint32_equal; /* "uint32 equal" */
extern const vmig_vmsd_info_t vmig_vmstate_info_uint64_equal; /* "uint64 equal" */
extern const vmig_vmsd_info_t vmig_vmstate_info_float64;      /* double as be64 bits */
extern const vmig_vmsd_info_t vmig_vmstate_info_cpudouble;    /* "CPU_Double_U": double */
extern const vmig_vmsd_info_t vmig_vmstate_info_timer;        /* vmig_vmstate_timer_t */
extern const vmig_vmsd_info_t vmig_vmstate_info_buffer;       /* raw bytes */
extern const vmig_vmsd_info_t vmig_vmstate_info_unused_buffer; /* zeros out, skipped in */
extern const vmig_vmsd_info_t vmig_vmstate_info_nullptr;      /* the 0x30 marker */
extern const vmig_vmsd_info_t vmig_vmstate_info_bitmap;       /* uint64_t words, be64 each */
extern const vmig_vmsd_info_t vmig_vmstate_info_qtailq;       /* 01 elem... 00 */
extern const vmig_vmsd_info_t vmig_vmstate_info_qlist;        /* same scheme, "qlist" */
extern const vmig_vmsd_info_t vmig_vmstate_info_tmp;          /* WITH_TMP */

/* ---- type-checked member offsets ------------------------------------------------- */
/* The member _f of _s has type _t (a compile error otherwise). */
#define VMIG_VMSTATE_OFFSET(_s, _f, _t) \
    (offsetof(_s, _f) + 0 * sizeof(_Generic(&((_s *)0)->_f, _t *: 1)))
/* The member _f of _s is an array of _t, any length, and not a pointer (its
 * length becomes a capacity, which sizeof of a pointer would fake). */
#define VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, _t)                                            \
    (offsetof(_s, _f) +                                                                \
     0 * sizeof(_Generic(&((_s *)0)->_f, _t(*)[VMIG_VMSTATE_ARRAY_SIZE(_s, _f)]: 1)))
/* The member _f of _s is exactly _t[_n]. */
#define VMIG_VMSTATE_OFFSET_ARRAY(_s, _f, _t, _n) \
    (offsetof(_s, _f) + 0 * sizeof(_Generic(&((_s *)0)->_f, _t(*)[_n]: 1)))
/* The member _f of _s is exactly _t[_n1][_n2]. */
#define VMIG_VMSTATE_OFFSET_2DARRAY(_s, _f, _t, _n1, _n2) \
    (offsetof(_s, _f) + 0 * sizeof(_Generic(&((_s *)0)->_f, _t(*)[_n1][_n2]: 1)))
#define VMIG_VMSTATE_SIZEOF(_s, _f) sizeof(((_s *)0)->_f)
#define VMIG_VMSTATE_ARRAY_SIZE(_s, _f) \
    (sizeof(((_s *)0)->_f) / sizeof(((_s *)0)->_f[0]))

/* ---- field macros: generic forms ----------------------------------------------------
 * Arguments: _f member, _s struct type, _v version the field appears in, _test
 * a field_exists predicate (or NULL), _info a codec, _t the element type. */

#define VMIG_VMSTATE_SINGLE_TEST(_f, _s, _v, _test, _info, _t)                           \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .field_exists = (_test), .size = sizeof(_t),  \
        .info = &(_info), .flags = VMIG_VMS_SINGLE,                                    \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, _t),                                     \
    }
#define VMIG_VMSTATE_SINGLE(_f, _s, _v, _info, _t) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, _v, NULL, _info, _t)

/* Member `_t *_f`: the pointed-to element is encoded. */
#define VMIG_VMSTATE_POINTER(_f, _s, _v, _info, _t)                                     \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .size = sizeof(_t), .info = &(_info),         \
        .flags = VMIG_VMS_SINGLE | VMIG_VMS_POINTER,                                   \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, _t *),                                   \
    }

/* Member `_t _f[_n]`. */
#define VMIG_VMSTATE_ARRAY_TEST(_f, _s, _n, _v, _test, _info, _t)                        \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .field_exists = (_test), .num = (_n),         \
        .size = sizeof(_t), .info = &(_info), .flags = VMIG_VMS_ARRAY,                 \
        .offset = VMIG_VMSTATE_OFFSET_ARRAY(_s, _f, _t, _n),                           \
    }
#define VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, _info, _t) \
    VMIG_VMSTATE_ARRAY_TEST(_f, _s, _n, _v, NULL, _info, _t)

/* Member `_t _f[_n1][_n2]`: rows × cols elements, row by row. */
#define VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, _v, _info, _t)                            \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .num = (_n1) * (_n2), .size = sizeof(_t),     \
        .info = &(_info), .flags = VMIG_VMS_ARRAY,                                     \
        .offset = VMIG_VMSTATE_OFFSET_2DARRAY(_s, _f, _t, _n1, _n2),                   \
    }

/* Member `_t *_f[_n]`: NULL elements are written as the 0x30 marker. */
#define VMIG_VMSTATE_ARRAY_OF_POINTER(_f, _s, _n, _v, _info, _t)                         \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .num = (_n), .size = sizeof(_t),              \
        .info = &(_info), .flags = VMIG_VMS_ARRAY | VMIG_VMS_ARRAY_OF_POINTER,         \
        .offset = VMIG_VMSTATE_OFFSET_ARRAY(_s, _f, _t *, _n),                         \
    }

/* Variable arrays: the count is member _count (already loaded) of type _ct
 * with flag _cf. Inline member `_t _f[N]`: capacity N. */
#define VMIG__VMSTATE_VARRAY(_f, _s, _count, _ct, _cf, _v, _info, _t)                    \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .size = sizeof(_t), .info = &(_info),         \
        .flags = (_cf), .num_offset = VMIG_VMSTATE_OFFSET(_s, _count, _ct),            \
        .max = VMIG_VMSTATE_ARRAY_SIZE(_s, _f),                                        \
        .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, _t),                               \
    }
/* Pointer member `_t *_f` to room for _max elements (ALLOC: allocated on load,
 * count limited to _max). */
#define VMIG__VMSTATE_VARRAY_PTR(_f, _s, _count, _ct, _cf, _max, _v, _info, _t)          \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .size = sizeof(_t), .info = &(_info),         \
        .flags = (_cf) | VMIG_VMS_POINTER, .max = (_max),                              \
        .num_offset = VMIG_VMSTATE_OFFSET(_s, _count, _ct),                            \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, _t *),                                   \
    }
#define VMIG_VMSTATE_VARRAY_UINT8(_f, _s, _count, _v, _info, _t) \
    VMIG__VMSTATE_VARRAY(_f, _s, _count, uint8_t, VMIG_VMS_VARRAY_UINT8, _v, _info, _t)
#define VMIG_VMSTATE_VARRAY_UINT16(_f, _s, _count, _v, _info, _t) \
    VMIG__VMSTATE_VARRAY(_f, _s, _count, uint16_t, VMIG_VMS_VARRAY_UINT16, _v, _info, _t)
#define VMIG_VMSTATE_VARRAY_INT32(_f, _s, _count, _v, _info, _t) \
    VMIG__VMSTATE_VARRAY(_f, _s, _count, int32_t, VMIG_VMS_VARRAY_INT32, _v, _info, _t)
#define VMIG_VMSTATE_VARRAY_UINT32(_f, _s, _count, _v, _info, _t) \
    VMIG__VMSTATE_VARRAY(_f, _s, _count, uint32_t, VMIG_VMS_VARRAY_UINT32, _v, _info, _t)
#define VMIG_VMSTATE_VARRAY_UINT8_PTR(_f, _s, _count, _max, _v, _info, _t)                \
    VMIG__VMSTATE_VARRAY_PTR(_f, _s, _count, uint8_t, VMIG_VMS_VARRAY_UINT8, _max, _v,   \
                             _info, _t)
#define VMIG_VMSTATE_VARRAY_UINT16_PTR(_f, _s, _count, _max, _v, _info, _t)               \
    VMIG__VMSTATE_VARRAY_PTR(_f, _s, _count, uint16_t, VMIG_VMS_VARRAY_UINT16, _max, _v, \
                             _info, _t)
#define VMIG_VMSTATE_VARRAY_INT32_PTR(_f, _s, _count, _max, _v, _info, _t)                \
    VMIG__VMSTATE_VARRAY_PTR(_f, _s, _count, int32_t, VMIG_VMS_VARRAY_INT32, _max, _v,   \
                             _info, _t)
#define VMIG_VMSTATE_VARRAY_UINT32_PTR(_f, _s, _count, _max, _v, _info, _t)               \
    VMIG__VMSTATE_VARRAY_PTR(_f, _s, _count, uint32_t, VMIG_VMS_VARRAY_UINT32, _max, _v, \
                             _info, _t)
#define VMIG_VMSTATE_VARRAY_INT32_ALLOC(_f, _s, _count, _max, _v, _info, _t)              \
    VMIG__VMSTATE_VARRAY_PTR(_f, _s, _count, int32_t,                                    \
                             VMIG_VMS_VARRAY_INT32 | VMIG_VMS_ALLOC, _max, _v, _info, _t)
#define VMIG_VMSTATE_VARRAY_UINT32_ALLOC(_f, _s, _count, _max, _v, _info, _t)             \
    VMIG__VMSTATE_VARRAY_PTR(_f, _s, _count, uint32_t,                                   \
                             VMIG_VMS_VARRAY_UINT32 | VMIG_VMS_ALLOC, _max, _v, _info, _t)
/* count × _mul elements of inline `_t _f[N]` (capacity N). */
#define VMIG_VMSTATE_VARRAY_UINT32_MULTIPLY(_f, _s, _count, _mul, _v, _info, _t)           \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .size = sizeof(_t), .info = &(_info),         \
        .flags = VMIG_VMS_VARRAY_UINT32 | VMIG_VMS_MULTIPLY_ELEMENTS, .num = (_mul),   \
        .num_offset = VMIG_VMSTATE_OFFSET(_s, _count, uint32_t),                       \
        .max = VMIG_VMSTATE_ARRAY_SIZE(_s, _f),                                        \
        .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, _t),                               \
    }

/* ---- scalars ---------------------------------------------------------------------- */
#define VMIG_VMSTATE_BOOL_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_bool, bool)
#define VMIG_VMSTATE_BOOL(_f, _s) VMIG_VMSTATE_BOOL_V(_f, _s, 0)
#define VMIG_VMSTATE_BOOL_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_bool, bool)
#define VMIG_VMSTATE_BOOL_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_bool, bool)
#define VMIG_VMSTATE_BOOL_ARRAY(_f, _s, _n) VMIG_VMSTATE_BOOL_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_BOOL_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_bool, bool)

#define VMIG_VMSTATE_INT8_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_int8, int8_t)
#define VMIG_VMSTATE_INT8(_f, _s) VMIG_VMSTATE_INT8_V(_f, _s, 0)
#define VMIG_VMSTATE_INT8_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_int8, int8_t)
#define VMIG_VMSTATE_INT8_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_int8, int8_t)
#define VMIG_VMSTATE_INT8_ARRAY(_f, _s, _n) VMIG_VMSTATE_INT8_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_INT8_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_int8, int8_t)

#define VMIG_VMSTATE_INT16_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_int16, int16_t)
#define VMIG_VMSTATE_INT16(_f, _s) VMIG_VMSTATE_INT16_V(_f, _s, 0)
#define VMIG_VMSTATE_INT16_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_int16, int16_t)
#define VMIG_VMSTATE_INT16_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_int16, int16_t)
#define VMIG_VMSTATE_INT16_ARRAY(_f, _s, _n) VMIG_VMSTATE_INT16_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_INT16_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_int16, int16_t)

#define VMIG_VMSTATE_INT32_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_int32, int32_t)
#define VMIG_VMSTATE_INT32(_f, _s) VMIG_VMSTATE_INT32_V(_f, _s, 0)
#define VMIG_VMSTATE_INT32_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_int32, int32_t)
#define VMIG_VMSTATE_INT32_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_int32, int32_t)
#define VMIG_VMSTATE_INT32_ARRAY(_f, _s, _n) VMIG_VMSTATE_INT32_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_INT32_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_int32, int32_t)

#define VMIG_VMSTATE_INT64_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_int64, int64_t)
#define VMIG_VMSTATE_INT64(_f, _s) VMIG_VMSTATE_INT64_V(_f, _s, 0)
#define VMIG_VMSTATE_INT64_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_int64, int64_t)
#define VMIG_VMSTATE_INT64_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_int64, int64_t)
#define VMIG_VMSTATE_INT64_ARRAY(_f, _s, _n) VMIG_VMSTATE_INT64_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_INT64_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_int64, int64_t)

#define VMIG_VMSTATE_UINT8_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint8, uint8_t)
#define VMIG_VMSTATE_UINT8(_f, _s) VMIG_VMSTATE_UINT8_V(_f, _s, 0)
#define VMIG_VMSTATE_UINT8_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_uint8, uint8_t)
#define VMIG_VMSTATE_UINT8_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_uint8, uint8_t)
#define VMIG_VMSTATE_UINT8_ARRAY(_f, _s, _n) VMIG_VMSTATE_UINT8_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_UINT8_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_uint8, uint8_t)

#define VMIG_VMSTATE_UINT16_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint16, uint16_t)
#define VMIG_VMSTATE_UINT16(_f, _s) VMIG_VMSTATE_UINT16_V(_f, _s, 0)
#define VMIG_VMSTATE_UINT16_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_uint16, uint16_t)
#define VMIG_VMSTATE_UINT16_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_uint16, uint16_t)
#define VMIG_VMSTATE_UINT16_ARRAY(_f, _s, _n) VMIG_VMSTATE_UINT16_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_UINT16_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_uint16, uint16_t)

#define VMIG_VMSTATE_UINT32_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint32, uint32_t)
#define VMIG_VMSTATE_UINT32(_f, _s) VMIG_VMSTATE_UINT32_V(_f, _s, 0)
#define VMIG_VMSTATE_UINT32_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_uint32, uint32_t)
#define VMIG_VMSTATE_UINT32_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_uint32, uint32_t)
#define VMIG_VMSTATE_UINT32_ARRAY(_f, _s, _n) VMIG_VMSTATE_UINT32_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_UINT32_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_uint32, uint32_t)

#define VMIG_VMSTATE_UINT64_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint64, uint64_t)
#define VMIG_VMSTATE_UINT64(_f, _s) VMIG_VMSTATE_UINT64_V(_f, _s, 0)
#define VMIG_VMSTATE_UINT64_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_uint64, uint64_t)
#define VMIG_VMSTATE_UINT64_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_uint64, uint64_t)
#define VMIG_VMSTATE_UINT64_ARRAY(_f, _s, _n) VMIG_VMSTATE_UINT64_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_UINT64_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_uint64, uint64_t)

#define VMIG_VMSTATE_FLOAT64_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_float64, double)
#define VMIG_VMSTATE_FLOAT64(_f, _s) VMIG_VMSTATE_FLOAT64_V(_f, _s, 0)
#define VMIG_VMSTATE_FLOAT64_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_float64, double)
#define VMIG_VMSTATE_FLOAT64_ARRAY_V(_f, _s, _n, _v) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, _v, vmig_vmstate_info_float64, double)
#define VMIG_VMSTATE_FLOAT64_ARRAY(_f, _s, _n) VMIG_VMSTATE_FLOAT64_ARRAY_V(_f, _s, _n, 0)
#define VMIG_VMSTATE_FLOAT64_2DARRAY(_f, _s, _n1, _n2) \
    VMIG_VMSTATE_2DARRAY(_f, _s, _n1, _n2, 0, vmig_vmstate_info_float64, double)

#define VMIG_VMSTATE_UINT8_EQUAL_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint8_equal, uint8_t)
#define VMIG_VMSTATE_UINT8_EQUAL(_f, _s) VMIG_VMSTATE_UINT8_EQUAL_V(_f, _s, 0)
#define VMIG_VMSTATE_UINT16_EQUAL_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint16_equal, uint16_t)
#define VMIG_VMSTATE_UINT16_EQUAL(_f, _s) VMIG_VMSTATE_UINT16_EQUAL_V(_f, _s, 0)
#define VMIG_VMSTATE_UINT32_EQUAL_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint32_equal, uint32_t)
#define VMIG_VMSTATE_UINT32_EQUAL(_f, _s) VMIG_VMSTATE_UINT32_EQUAL_V(_f, _s, 0)
#define VMIG_VMSTATE_UINT64_EQUAL_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_uint64_equal, uint64_t)
#define VMIG_VMSTATE_UINT64_EQUAL(_f, _s) VMIG_VMSTATE_UINT64_EQUAL_V(_f, _s, 0)
#define VMIG_VMSTATE_INT32_EQUAL_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_int32_equal, int32_t)
#define VMIG_VMSTATE_INT32_EQUAL(_f, _s) VMIG_VMSTATE_INT32_EQUAL_V(_f, _s, 0)
#define VMIG_VMSTATE_INT32_LE_V(_f, _s, _v) VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_int32_le, int32_t)
#define VMIG_VMSTATE_INT32_LE(_f, _s) VMIG_VMSTATE_INT32_LE_V(_f, _s, 0)
/* "int32 le": the loaded value must be in 0..local and replaces it (QEMU's
 * INT32_POSITIVE_LE, used to bound counts). */

/* Member double _f[_n] as CPU_Double_U (be32 upper, be32 lower). */
#define VMIG_VMSTATE_CPUDOUBLE_ARRAY(_f, _s, _n) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, 0, vmig_vmstate_info_cpudouble, double)

/* ---- timers: member vmig_vmstate_timer_t (or a pointer to one) --------------------- */
#define VMIG_VMSTATE_TIMER_V(_f, _s, _v) \
    VMIG_VMSTATE_SINGLE(_f, _s, _v, vmig_vmstate_info_timer, vmig_vmstate_timer_t)
#define VMIG_VMSTATE_TIMER(_f, _s) VMIG_VMSTATE_TIMER_V(_f, _s, 0)
#define VMIG_VMSTATE_TIMER_TEST(_f, _s, _test) \
    VMIG_VMSTATE_SINGLE_TEST(_f, _s, 0, _test, vmig_vmstate_info_timer, vmig_vmstate_timer_t)
#define VMIG_VMSTATE_TIMER_PTR(_f, _s) \
    VMIG_VMSTATE_POINTER(_f, _s, 0, vmig_vmstate_info_timer, vmig_vmstate_timer_t)
#define VMIG_VMSTATE_TIMER_ARRAY(_f, _s, _n) \
    VMIG_VMSTATE_ARRAY(_f, _s, _n, 0, vmig_vmstate_info_timer, vmig_vmstate_timer_t)
#define VMIG_VMSTATE_TIMER_PTR_ARRAY(_f, _s, _n) \
    VMIG_VMSTATE_ARRAY_OF_POINTER(_f, _s, _n, 0, vmig_vmstate_info_timer, vmig_vmstate_timer_t)

/* ---- buffers: member uint8_t _f[N] unless said otherwise --------------------------- */
/* All N bytes (or bytes [_start, _start + _size) for the partial forms). */
#define VMIG_VMSTATE_STATIC_BUFFER(_f, _s, _v, _test, _start, _size)                     \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .field_exists = (_test), .size = (_size),     \
        .start = (_start), .info = &vmig_vmstate_info_buffer, .flags = VMIG_VMS_BUFFER, \
        .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, uint8_t)                            \
                  + 0 * sizeof(char[(_start) + (_size) <= VMIG_VMSTATE_SIZEOF(_s, _f)   \
                                        ? 1 : -1]),                                     \
    }
#define VMIG_VMSTATE_BUFFER_V(_f, _s, _v) \
    VMIG_VMSTATE_STATIC_BUFFER(_f, _s, _v, NULL, 0, VMIG_VMSTATE_SIZEOF(_s, _f))
#define VMIG_VMSTATE_BUFFER(_f, _s) VMIG_VMSTATE_BUFFER_V(_f, _s, 0)
#define VMIG_VMSTATE_BUFFER_TEST(_f, _s, _test) \
    VMIG_VMSTATE_STATIC_BUFFER(_f, _s, 0, _test, 0, VMIG_VMSTATE_SIZEOF(_s, _f))
#define VMIG_VMSTATE_PARTIAL_BUFFER(_f, _s, _size) \
    VMIG_VMSTATE_STATIC_BUFFER(_f, _s, 0, NULL, 0, _size)
#define VMIG_VMSTATE_BUFFER_START_MIDDLE(_f, _s, _start) \
    VMIG_VMSTATE_STATIC_BUFFER(_f, _s, 0, NULL, _start, VMIG_VMSTATE_SIZEOF(_s, _f) - (_start))
/* Member `uint8_t *_f` pointing at _size bytes. */
#define VMIG_VMSTATE_BUFFER_POINTER(_f, _s, _v, _size)                                   \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .size = (_size),                              \
        .info = &vmig_vmstate_info_buffer, .flags = VMIG_VMS_BUFFER | VMIG_VMS_POINTER, \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, uint8_t *),                              \
    }
/* Variable size: bytes [_start, _start + size) where size is the int32_t (or,
 * _UINT32, uint32_t) member _size_f; start + size must fit the member. */
#define VMIG_VMSTATE_VBUFFER(_f, _s, _v, _test, _start, _size_f)                         \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .field_exists = (_test), .start = (_start),   \
        .size_offset = VMIG_VMSTATE_OFFSET(_s, _size_f, int32_t),                      \
        .max = VMIG_VMSTATE_SIZEOF(_s, _f), .info = &vmig_vmstate_info_buffer,         \
        .flags = VMIG_VMS_VBUFFER, .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, uint8_t), \
    }
#define VMIG_VMSTATE_VBUFFER_UINT32(_f, _s, _v, _test, _size_f)                          \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .field_exists = (_test),                      \
        .size_offset = VMIG_VMSTATE_OFFSET(_s, _size_f, uint32_t),                     \
        .max = VMIG_VMSTATE_SIZEOF(_s, _f), .info = &vmig_vmstate_info_buffer,         \
        .flags = VMIG_VMS_VBUFFER | VMIG_VMS_VBUFFER_UINT32,                           \
        .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, uint8_t),                          \
    }
/* size = uint32_t member _size_f × _mul bytes. */
#define VMIG_VMSTATE_VBUFFER_MULTIPLY(_f, _s, _mul, _v, _test, _size_f)                  \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .field_exists = (_test), .size = (_mul),      \
        .size_offset = VMIG_VMSTATE_OFFSET(_s, _size_f, uint32_t),                     \
        .max = VMIG_VMSTATE_SIZEOF(_s, _f), .info = &vmig_vmstate_info_buffer,         \
        .flags = VMIG_VMS_VBUFFER | VMIG_VMS_VBUFFER_UINT32 | VMIG_VMS_MULTIPLY,       \
        .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, uint8_t),                          \
    }
/* Member `uint8_t *_f` with room for _max bytes; _ALLOC: malloc()ed on load. */
#define VMIG_VMSTATE_VBUFFER_PTR_UINT32(_f, _s, _v, _size_f, _max)                       \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .max = (_max),                                \
        .size_offset = VMIG_VMSTATE_OFFSET(_s, _size_f, uint32_t),                     \
        .info = &vmig_vmstate_info_buffer,                                             \
        .flags = VMIG_VMS_VBUFFER | VMIG_VMS_VBUFFER_UINT32 | VMIG_VMS_POINTER,        \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, uint8_t *),                              \
    }
#define VMIG_VMSTATE_VBUFFER_ALLOC_UINT32(_f, _s, _v, _size_f, _max)                     \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .max = (_max),                                \
        .size_offset = VMIG_VMSTATE_OFFSET(_s, _size_f, uint32_t),                     \
        .info = &vmig_vmstate_info_buffer,                                             \
        .flags = VMIG_VMS_VBUFFER | VMIG_VMS_VBUFFER_UINT32 | VMIG_VMS_POINTER         \
                 | VMIG_VMS_ALLOC,                                                     \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, uint8_t *),                              \
    }

/* _n bytes that are zeros on the wire and ignored on load (JSON name "unused"). */
#define VMIG_VMSTATE_UNUSED_TEST(_test, _v, _n)                                           \
    {                                                                                  \
        .name = "unused", .version_id = (_v), .field_exists = (_test), .size = (_n),   \
        .info = &vmig_vmstate_info_unused_buffer, .flags = VMIG_VMS_BUFFER,            \
    }
#define VMIG_VMSTATE_UNUSED_V(_v, _n) VMIG_VMSTATE_UNUSED_TEST(NULL, _v, _n)
#define VMIG_VMSTATE_UNUSED(_n) VMIG_VMSTATE_UNUSED_V(0, _n)

/* ---- nested structs --------------------------------------------------------------- */
/* Member `_t _f` described by _vmsd (its own version_id applies). */
#define VMIG_VMSTATE_STRUCT_TEST(_f, _s, _test, _v, _vmsd, _t)                            \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .field_exists = (_test), .vmsd = &(_vmsd),    \
        .size = sizeof(_t), .flags = VMIG_VMS_STRUCT,                                  \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, _t),                                     \
    }
#define VMIG_VMSTATE_STRUCT(_f, _s, _v, _vmsd, _t) \
    VMIG_VMSTATE_STRUCT_TEST(_f, _s, NULL, _v, _vmsd, _t)
/* The same at version _struct_v of _vmsd (JSON type "vstruct"). */
#define VMIG_VMSTATE_VSTRUCT(_f, _s, _v, _vmsd, _t, _struct_v)                            \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .vmsd = &(_vmsd), .size = sizeof(_t),         \
        .struct_version_id = (_struct_v), .flags = VMIG_VMS_VSTRUCT,                   \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, _t),                                     \
    }
/* Member `_t _f[_n]`. */
#define VMIG_VMSTATE_STRUCT_ARRAY(_f, _s, _n, _v, _vmsd, _t)                              \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .num = (_n), .vmsd = &(_vmsd),                \
        .size = sizeof(_t), .flags = VMIG_VMS_STRUCT | VMIG_VMS_ARRAY,                 \
        .offset = VMIG_VMSTATE_OFFSET_ARRAY(_s, _f, _t, _n),                           \
    }
/* Member `_t *_f` (must not be NULL). */
#define VMIG_VMSTATE_STRUCT_POINTER(_f, _s, _v, _vmsd, _t)                                \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .vmsd = &(_vmsd), .size = sizeof(_t),         \
        .flags = VMIG_VMS_STRUCT | VMIG_VMS_POINTER,                                   \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, _t *),                                   \
    }
/* Member `_t *_f[_n]`: NULL elements are the 0x30 marker. */
#define VMIG_VMSTATE_ARRAY_OF_POINTER_TO_STRUCT(_f, _s, _n, _v, _vmsd, _t)                \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .num = (_n), .vmsd = &(_vmsd),                \
        .size = sizeof(_t),                                                            \
        .flags = VMIG_VMS_STRUCT | VMIG_VMS_ARRAY | VMIG_VMS_ARRAY_OF_POINTER,         \
        .offset = VMIG_VMSTATE_OFFSET_ARRAY(_s, _f, _t *, _n),                         \
    }
/* Inline `_t _f[N]`, count member _count of type uint8_t / int32_t / uint32_t. */
#define VMIG__VMSTATE_STRUCT_VARRAY(_f, _s, _count, _ct, _cf, _v, _vmsd, _t)              \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .vmsd = &(_vmsd), .size = sizeof(_t),         \
        .flags = VMIG_VMS_STRUCT | (_cf), .max = VMIG_VMSTATE_ARRAY_SIZE(_s, _f),      \
        .num_offset = VMIG_VMSTATE_OFFSET(_s, _count, _ct),                            \
        .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, _t),                               \
    }
#define VMIG_VMSTATE_STRUCT_VARRAY_UINT8(_f, _s, _count, _v, _vmsd, _t) \
    VMIG__VMSTATE_STRUCT_VARRAY(_f, _s, _count, uint8_t, VMIG_VMS_VARRAY_UINT8, _v, _vmsd, _t)
#define VMIG_VMSTATE_STRUCT_VARRAY_INT32(_f, _s, _count, _v, _vmsd, _t) \
    VMIG__VMSTATE_STRUCT_VARRAY(_f, _s, _count, int32_t, VMIG_VMS_VARRAY_INT32, _v, _vmsd, _t)
#define VMIG_VMSTATE_STRUCT_VARRAY_UINT32(_f, _s, _count, _v, _vmsd, _t) \
    VMIG__VMSTATE_STRUCT_VARRAY(_f, _s, _count, uint32_t, VMIG_VMS_VARRAY_UINT32, _v, _vmsd, _t)
/* Member `_t *_f`, count uint32_t member _count <= _max, malloc()ed on load. */
#define VMIG_VMSTATE_STRUCT_VARRAY_ALLOC_UINT32(_f, _s, _count, _max, _v, _vmsd, _t)      \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .vmsd = &(_vmsd), .size = sizeof(_t),         \
        .flags = VMIG_VMS_STRUCT | VMIG_VMS_VARRAY_UINT32 | VMIG_VMS_POINTER           \
                 | VMIG_VMS_ALLOC,                                                     \
        .max = (_max), .num_offset = VMIG_VMSTATE_OFFSET(_s, _count, uint32_t),        \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, _t *),                                   \
    }

/* ---- bitmaps: bit i = bit (i % 64) of word i / 64, words as be64 ----------------- */
/* Inline `uint64_t _f[N]` (capacity 64·N bits), length in bits in int32_t _nbits_f. */
#define VMIG_VMSTATE_BITMAP(_f, _s, _v, _nbits_f)                                        \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .info = &vmig_vmstate_info_bitmap,            \
        .flags = VMIG_VMS_VBUFFER, .max = 8 * VMIG_VMSTATE_SIZEOF(_s, _f),             \
        .size_offset = VMIG_VMSTATE_OFFSET(_s, _nbits_f, int32_t),                     \
        .offset = VMIG_VMSTATE_OFFSET_ELEMS(_s, _f, uint64_t),                         \
    }
/* Member `uint64_t *_f` with room for _max_bits bits. */
#define VMIG_VMSTATE_BITMAP_PTR(_f, _s, _v, _nbits_f, _max_bits)                          \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .info = &vmig_vmstate_info_bitmap,            \
        .flags = VMIG_VMS_VBUFFER | VMIG_VMS_POINTER, .max = (_max_bits),              \
        .size_offset = VMIG_VMSTATE_OFFSET(_s, _nbits_f, int32_t),                     \
        .offset = VMIG_VMSTATE_OFFSET(_s, _f, uint64_t *),                             \
    }

/* ---- lists: 01 <element> ... 00 ------------------------------------------------- */
/* Member _f is the list head, walked and grown by _ops; elements are described
 * by _vmsd and loaded at version _v (which must be <= _vmsd's version_id); at
 * most _max elements are loaded (0: VMIG_VMSTATE_LIST_MAX). */
#define VMIG_VMSTATE_QTAILQ_V(_f, _s, _v, _vmsd, _ops, _max)                             \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .vmsd = &(_vmsd), .list = &(_ops),            \
        .max = (_max), .info = &vmig_vmstate_info_qtailq, .flags = VMIG_VMS_SINGLE,    \
        .offset = offsetof(_s, _f),                                                    \
    }
#define VMIG_VMSTATE_QLIST_V(_f, _s, _v, _vmsd, _ops, _max)                              \
    {                                                                                  \
        .name = #_f, .version_id = (_v), .vmsd = &(_vmsd), .list = &(_ops),            \
        .max = (_max), .info = &vmig_vmstate_info_qlist, .flags = VMIG_VMS_SINGLE,     \
        .offset = offsetof(_s, _f),                                                    \
    }

/* ---- a temporary struct --------------------------------------------------------- */
/* _tmp_t starts with `_s *parent`; on save a zeroed _tmp_t gets parent set,
 * _vmsd's pre_save fills it and its fields are written inline; on load its
 * fields are read into a fresh _tmp_t whose post_load copies them to parent. */
#define VMIG_VMSTATE_WITH_TMP(_s, _tmp_t, _vmsd)                                         \
    {                                                                                  \
        .name = "tmp", .vmsd = &(_vmsd), .info = &vmig_vmstate_info_tmp,               \
        .flags = VMIG_VMS_SINGLE, .size = sizeof(_tmp_t),                              \
        .offset = 0 * sizeof(_Generic(((_tmp_t *)0)->parent, _s *: 1))                 \
                  + 0 * sizeof(char[offsetof(_tmp_t, parent) == 0 ? 1 : -1]),          \
    }

/* ---- checks and the end ---------------------------------------------------------- */
/* Nothing on the wire; the load fails ("Input validation failed: <vmsd>/_name")
 * when _test(opaque, version) is false (checked where it stands in the table). */
#define VMIG_VMSTATE_VALIDATE(_name, _test)                                              \
    {                                                                                  \
        .name = (_name), .field_exists = (_test),                                      \
        .flags = VMIG_VMS_ARRAY | VMIG_VMS_MUST_EXIST, .num = 0,                       \
    }
#define VMIG_VMSTATE_END_OF_LIST() \
    {                            \
        .flags = VMIG_VMS_END,   \
    }

#ifdef __cplusplus
}
#endif
#endif
