/* Arrow columns appended to value by value, for the C fast paths (auditlens/k8s/_fastrow.c, and
 * others): growable buffers, bitmaps, and columns of strings, lists, maps, fixed-width values,
 * bools, structs and lists of structs. A zeroed column struct is an empty column; every put/end
 * function appends one value (or null) and returns 0, or -1 with MemoryError set. Offsets are
 * int32: the caller keeps a column's data (and a list's items) below 2**31.
 *
 * A column is handed to Python by its *_entry function as a tuple, turned into an Arrow array by
 * auditlens.fastpath.array_of(entry, type):
 *     (kind, length, null count, validity bitmap, buffers..., children...)
 * with kind  "s" string     ..., offsets, data
 *            "l" list       ..., offsets, item entry
 *            "m" map        ..., offsets, key entry, value entry
 *            "i" "q" ...    ..., values (int32, int64, or any fixed-width type: a FixCol)
 *            "b" bool       ..., values bitmap
 *            "t" struct     ..., [child entry, ...] (in the order of the struct's fields)
 * The validity bitmap is only read when the null count is not 0 (it may then be None). Buffers are
 * bytes objects, or slices of the arena that finish() was given (see bytes_of).
 *
 * Everything here is static: include this header in the one C file of an extension.
 */
#ifndef AUDITLENS_COLUMNS_H
#define AUDITLENS_COLUMNS_H

#ifndef PY_SSIZE_T_CLEAN
#define PY_SSIZE_T_CLEAN
#endif
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Functions a file may not use (the small hot ones are static inline instead). */
#if defined(__GNUC__) || defined(__clang__)
#define COL_STATIC static __attribute__((unused))
#else
#define COL_STATIC static
#endif

/* -- buffers and bitmaps --------------------------------------------------------------------- */

/* A growable byte buffer (PyMem memory). */
typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

/* Room for `more` bytes after b->len. */
COL_STATIC int buf_reserve(Buf *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more)
        cap *= 2;
    char *p = PyMem_Realloc(b->p, (size_t)cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Append n bytes. */
static inline int buf_put(Buf *b, const char *s, Py_ssize_t n)
{
    if (n == 0) /* b->p may still be NULL: memcpy must not see it */
        return 0;
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

/* Append one byte. */
static inline int buf_byte(Buf *b, char c)
{
    if (b->len >= b->cap && buf_reserve(b, 1) < 0)
        return -1;
    b->p[b->len++] = c;
    return 0;
}

/* Release the memory; the buffer is empty again. */
COL_STATIC void buf_free(Buf *b)
{
    PyMem_Free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Where finish() writes the buffers it hands over (the ``finish(arena)`` argument), borrowed for
 * the length of the call; NULL (no arena): new bytes objects. A worker process hands its pieces
 * to the parent through shared memory (auditlens/scheduler/arena.py): written there once, a
 * column needs no second copy at the hand-over. */
#if defined(__GNUC__) || defined(__clang__)
static __thread PyObject *col_arena; /* per thread: arena.write() may let another thread run */
#else
static _Thread_local PyObject *col_arena;
#endif

/* finish(arena=None): `columns` (the extension's function that makes a finish()'s entries) with
 * col_arena set to the arena for the length of the call. */
#define COL_FINISH_WITH_ARENA(name, type, columns)                                                 \
    static PyObject *name(type *self, PyObject *args)                                             \
    {                                                                                              \
        PyObject *arena = Py_None;                                                                 \
        if (!PyArg_ParseTuple(args, "|O:finish", &arena))                                          \
            return NULL;                                                                           \
        PyObject *saved = col_arena;                                                               \
        col_arena = arena == Py_None ? NULL : arena;                                               \
        PyObject *cols = columns(self);                                                            \
        col_arena = saved;                                                                         \
        return cols;                                                                               \
    }

/* The buffer's bytes as a new object with the buffer protocol: written into the arena
 * (``arena.write(view)`` gives a read-only view of the copy there, or bytes of their own when
 * the arena cannot grow), or a new bytes object. The view of b's memory that the arena reads is
 * released before returning: an arena that kept it (b's memory is reused) is an error. */
COL_STATIC PyObject *bytes_of(const Buf *b)
{
    if (col_arena == NULL || b->len == 0)
        return PyBytes_FromStringAndSize(b->p ? b->p : "", b->len);
    PyObject *view = PyMemoryView_FromMemory(b->p, b->len, PyBUF_READ);
    if (view == NULL)
        return NULL;
    PyObject *out = PyObject_CallMethod(col_arena, "write", "O", view);
    PyObject *released = PyObject_CallMethod(view, "release", NULL);
    Py_DECREF(view);
    if (released == NULL) {
        Py_XDECREF(out);
        return NULL;
    }
    Py_DECREF(released);
    return out;
}

/* A bitmap being appended to: validity (1 = a value, 0 = null) or bool values. */
typedef struct {
    Buf bits;
    Py_ssize_t n, zeros;
} Bits;

/* Append one bit (on: 1). */
static inline int bits_put(Bits *b, int on)
{
    if ((b->n & 7) == 0 && buf_byte(&b->bits, 0) < 0)
        return -1;
    if (on)
        b->bits.p[b->n >> 3] |= (char)(1 << (b->n & 7));
    else
        b->zeros++;
    b->n++;
    return 0;
}

/* Empty the bitmap (its memory is kept). */
COL_STATIC void bits_clear(Bits *b)
{
    b->bits.len = 0;
    b->n = b->zeros = 0;
}

/* Append an int32 (native byte order, as Arrow reads it). */
static inline int put_i32(Buf *b, int32_t v)
{
    if (b->len + (Py_ssize_t)sizeof v > b->cap && buf_reserve(b, sizeof v) < 0)
        return -1;
    memcpy(b->p + b->len, &v, sizeof v);
    b->len += (Py_ssize_t)sizeof v;
    return 0;
}

/* Append an int64 (native byte order). */
static inline int put_i64(Buf *b, int64_t v)
{
    if (b->len + (Py_ssize_t)sizeof v > b->cap && buf_reserve(b, sizeof v) < 0)
        return -1;
    memcpy(b->p + b->len, &v, sizeof v);
    b->len += (Py_ssize_t)sizeof v;
    return 0;
}

/* -- string -------------------------------------------------------------------------------- */

/* string: validity, int32 offsets, UTF-8 data */
typedef struct {
    Bits valid;
    Buf offsets, data;
} StrCol;

/* End the value whose bytes were appended to c->data (on), or append a null (!on). */
COL_STATIC int str_end(StrCol *c, int on)
{
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return -1;
    return bits_put(&c->valid, on) < 0 || put_i32(&c->offsets, (int32_t)c->data.len) < 0 ? -1 : 0;
}

/* Append a value of n bytes (valid UTF-8: not checked). */
COL_STATIC int str_put(StrCol *c, const char *text, Py_ssize_t n)
{
    return buf_put(&c->data, text, n) < 0 ? -1 : str_end(c, 1);
}

COL_STATIC void str_clear(StrCol *c)
{
    bits_clear(&c->valid);
    c->offsets.len = c->data.len = 0;
}

COL_STATIC void str_free(StrCol *c)
{
    buf_free(&c->valid.bits);
    buf_free(&c->offsets);
    buf_free(&c->data);
}

/* ("s", length, null count, validity, offsets, data) */
COL_STATIC PyObject *str_entry(StrCol *c)
{
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return NULL;
    return Py_BuildValue("(snnNNN)", "s", c->valid.n, c->valid.zeros, bytes_of(&c->valid.bits),
                         bytes_of(&c->offsets), bytes_of(&c->data));
}

/* -- list<string> -------------------------------------------------------------------------- */

/* list<string>: validity, int32 offsets into the items */
typedef struct {
    Bits valid;
    Buf offsets;
    StrCol items;
} ListCol;

/* End the list whose items were appended to c->items (on), or append a null (!on). */
COL_STATIC int list_end(ListCol *c, int on)
{
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return -1;
    return bits_put(&c->valid, on) < 0 || put_i32(&c->offsets, (int32_t)c->items.valid.n) < 0
           ? -1 : 0;
}

COL_STATIC void list_clear(ListCol *c)
{
    bits_clear(&c->valid);
    c->offsets.len = 0;
    str_clear(&c->items);
}

COL_STATIC void list_free(ListCol *c)
{
    buf_free(&c->valid.bits);
    buf_free(&c->offsets);
    str_free(&c->items);
}

/* ("l", length, null count, validity, offsets, items' "s" entry) */
COL_STATIC PyObject *list_entry(ListCol *c)
{
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return NULL;
    PyObject *items = str_entry(&c->items);
    if (items == NULL)
        return NULL;
    return Py_BuildValue("(snnNNN)", "l", c->valid.n, c->valid.zeros, bytes_of(&c->valid.bits),
                         bytes_of(&c->offsets), items);
}

/* -- map<string, string> and map<string, list<string>> --------------------------------------- */

/* map<string, string> (values in `strings`) or map<string, list<string>> (in `lists`); for
 * each entry the caller appends a key to `keys` and a value to the one it uses. */
typedef struct {
    Bits valid;
    Buf offsets;
    StrCol keys, strings;
    ListCol lists;
    int list_values;
} MapCol;

/* End the map whose entries were appended (on), or append a null (!on). */
COL_STATIC int map_end(MapCol *c, int on)
{
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return -1;
    return bits_put(&c->valid, on) < 0 || put_i32(&c->offsets, (int32_t)c->keys.valid.n) < 0
           ? -1 : 0;
}

COL_STATIC void map_clear(MapCol *c)
{
    bits_clear(&c->valid);
    c->offsets.len = 0;
    str_clear(&c->keys);
    str_clear(&c->strings);
    list_clear(&c->lists);
}

COL_STATIC void map_free(MapCol *c)
{
    buf_free(&c->valid.bits);
    buf_free(&c->offsets);
    str_free(&c->keys);
    str_free(&c->strings);
    list_free(&c->lists);
}

/* ("m", length, null count, validity, offsets, keys' "s" entry, values' entry: the "l" entry of
 * `lists` when list_values, else the "s" entry of `strings`) */
COL_STATIC PyObject *map_entry(MapCol *c, int list_values)
{
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return NULL;
    PyObject *keys = str_entry(&c->keys);
    PyObject *values = list_values ? list_entry(&c->lists) : str_entry(&c->strings);
    if (keys == NULL || values == NULL) {
        Py_XDECREF(keys);
        Py_XDECREF(values);
        return NULL;
    }
    return Py_BuildValue("(snnNNNN)", "m", c->valid.n, c->valid.zeros, bytes_of(&c->valid.bits),
                         bytes_of(&c->offsets), keys, values);
}

/* -- fixed-width values -------------------------------------------------------------------- */

/* Fixed-width values: validity and `width` bytes a value (4: int32, 8: int64 or a timestamp);
 * set width before the first value, and append with the put function of that width. */
typedef struct {
    Bits valid;
    Buf data;
    int width;
} FixCol;

/* Append an int64 value (a column of width 8). */
COL_STATIC int fix_i64(FixCol *c, int64_t v)
{
    return put_i64(&c->data, v) < 0 || bits_put(&c->valid, 1) < 0 ? -1 : 0;
}

/* Append an int32 value (a column of width 4). */
COL_STATIC int fix_i32(FixCol *c, int32_t v)
{
    return put_i32(&c->data, v) < 0 || bits_put(&c->valid, 1) < 0 ? -1 : 0;
}

/* Append a null: `width` zero bytes and a 0 validity bit. */
COL_STATIC int fix_null(FixCol *c)
{
    if (buf_reserve(&c->data, c->width) < 0)
        return -1;
    memset(c->data.p + c->data.len, 0, (size_t)c->width);
    c->data.len += c->width;
    return bits_put(&c->valid, 0);
}

/* Empty the column (width and memory are kept). */
COL_STATIC void fix_clear(FixCol *c)
{
    bits_clear(&c->valid);
    c->data.len = 0;
}

COL_STATIC void fix_free(FixCol *c)
{
    buf_free(&c->valid.bits);
    buf_free(&c->data);
}

/* (kind, length, null count, validity, values): kind "i" for int32, "q" for int64 (a timestamp
 * too: fastpath.array_of takes its type from the caller); SystemError if a value of another width
 * was appended. */
COL_STATIC PyObject *fix_entry(FixCol *c, const char *kind)
{
    if (c->data.len != c->valid.n * (Py_ssize_t)c->width) {
        PyErr_Format(PyExc_SystemError, "FixCol %s: %zd bytes for %zd values of width %d", kind,
                     c->data.len, c->valid.n, c->width);
        return NULL;
    }
    return Py_BuildValue("(snnNN)", kind, c->valid.n, c->valid.zeros, bytes_of(&c->valid.bits),
                         bytes_of(&c->data));
}

/* -- bool ---------------------------------------------------------------------------------- */

/* bool: validity and a bitmap of values */
typedef struct {
    Bits valid;
    Bits values;
} BoolCol;

/* Append a value (v != 0: true). */
COL_STATIC int bool_put(BoolCol *c, int v)
{
    return bits_put(&c->values, v != 0) < 0 || bits_put(&c->valid, 1) < 0 ? -1 : 0;
}

/* Append a null (a 0 value bit and a 0 validity bit). */
COL_STATIC int bool_null(BoolCol *c)
{
    return bits_put(&c->values, 0) < 0 || bits_put(&c->valid, 0) < 0 ? -1 : 0;
}

COL_STATIC void bool_clear(BoolCol *c)
{
    bits_clear(&c->valid);
    bits_clear(&c->values);
}

COL_STATIC void bool_free(BoolCol *c)
{
    buf_free(&c->valid.bits);
    buf_free(&c->values.bits);
}

/* ("b", length, null count, validity, values bitmap) */
COL_STATIC PyObject *bool_entry(BoolCol *c)
{
    return Py_BuildValue("(snnNN)", "b", c->valid.n, c->valid.zeros, bytes_of(&c->valid.bits),
                         bytes_of(&c->values.bits));
}

/* -- struct and list<struct> --------------------------------------------------------------- */

/* ("t", length, null count, validity, children): a struct column of validity `valid` (one bit a
 * row) and the entries of its child columns, one per field in order, each as long as `valid`
 * (a null row has a value or null in every child too). `children` (a list) is borrowed: the
 * caller still releases its reference; NULL (an error set while making it) gives NULL. */
COL_STATIC PyObject *struct_entry(Bits *valid, PyObject *children)
{
    if (children == NULL)
        return NULL;
    return Py_BuildValue("(snnNO)", "t", valid->n, valid->zeros, bytes_of(&valid->bits),
                         children);
}

/* list<struct>: validity and int32 offsets; the caller appends each item to its own child
 * columns (and their struct validity) and counts it in `items`. */
typedef struct {
    Bits valid;
    Buf offsets;
    Py_ssize_t items;
} StructListCol;

/* End the list whose items were counted in c->items (on), or append a null (!on). */
COL_STATIC int slist_end(StructListCol *c, int on)
{
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return -1;
    return bits_put(&c->valid, on) < 0 || put_i32(&c->offsets, (int32_t)c->items) < 0 ? -1 : 0;
}

COL_STATIC void slist_clear(StructListCol *c)
{
    bits_clear(&c->valid);
    c->offsets.len = 0;
    c->items = 0;
}

COL_STATIC void slist_free(StructListCol *c)
{
    buf_free(&c->valid.bits);
    buf_free(&c->offsets);
}

/* ("l", length, null count, validity, offsets, item entry): `item_entry` is that of the items
 * (usually struct_entry's, c->items long), borrowed as in struct_entry; NULL gives NULL. */
COL_STATIC PyObject *slist_entry(StructListCol *c, PyObject *item_entry)
{
    if (item_entry == NULL)
        return NULL;
    if (c->offsets.len == 0 && put_i32(&c->offsets, 0) < 0)
        return NULL;
    return Py_BuildValue("(snnNNO)", "l", c->valid.n, c->valid.zeros, bytes_of(&c->valid.bits),
                         bytes_of(&c->offsets), item_entry);
}

#endif /* AUDITLENS_COLUMNS_H */
