/* The raw row of a one-line audit Event, straight from its bytes: the optional C fast path of
 * auditlens.k8s.frame (see auditlens/k8s/native.py for when it is used).
 *
 * row(raw, line, ctx) returns exactly the tuple that
 *     auditlens.k8s.event.event_row(orjson.loads(raw), origin, line)
 * returns for a plain Event line, or None whenever it is not sure to: a line that is not JSON,
 * not a plain Event, holds a number that is not a 64-bit integer, a field of an unexpected JSON
 * type, nesting deeper than MAX_DEPTH, an object in a body with a key logged twice, ... The caller
 * then takes the Python path, which decides (and rejects with the reason). So this file accepts a
 * subset of JSON text, and on that subset must agree with orjson value for value; the tests in
 * tests/test_k8s_native.py hold the two paths equal on the corpora and on generated Events.
 *
 * Request/response bodies become the text orjson.dumps would give for them (compact, keys in
 * input order, orjson's escapes: \" \\ \b \t \n \f \r and \u00xx for other control characters,
 * everything else as UTF-8), written while parsing, with no Python object built for them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_KEYS_CHECKED 4096

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t more)
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

static inline int buf_put(Buf *b, const char *s, Py_ssize_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

static inline int buf_byte(Buf *b, char c)
{
    if (b->len >= b->cap && buf_reserve(b, 1) < 0)
        return -1;
    b->p[b->len++] = c;
    return 0;
}

/* Parser state. A failed parse (-1) means "not for the fast path"; a Python error set at the
 * same time (only MemoryError) is passed on by row(). */
typedef struct {
    const unsigned char *p, *end;
    int depth;
    const char *text; /* the last string's text (see parse_string) */
    Py_ssize_t text_len;
    int plain;
    Buf str;  /* the decoded text of the last string when it had escapes */
    Buf keys; /* key spans of open objects in a body, for the duplicate check */
} P;

static Buf scratch_str, scratch_body, scratch_keys;

static inline void skip_ws(P *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static int put_utf8(Buf *b, unsigned cp)
{
    char u[4];
    Py_ssize_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(b, u, n);
}

/* Length of the valid UTF-8 sequence (no overlong forms, no surrogates, at most U+10FFFF) that
 * starts at p with a byte >= 0x80, or 0 when it is not one. */
static Py_ssize_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (end - p >= 2 && (p[1] & 0xC0) == 0x80)
            return 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        if (end - p >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
            if (c == 0xE0 && p[1] < 0xA0)
                return 0; /* overlong */
            if (c == 0xED && p[1] >= 0xA0)
                return 0; /* surrogate */
            return 3;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        if (end - p >= 4 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80
                && (p[3] & 0xC0) == 0x80) {
            if (c == 0xF0 && p[1] < 0x90)
                return 0; /* overlong */
            if (c == 0xF4 && p[1] >= 0x90)
                return 0; /* above U+10FFFF */
            return 4;
        }
    }
    return 0;
}

/* Bytes that end a plain run inside a string: the quote, a backslash, control characters
 * (including the NUL that ends every bytes object, so the scan needs no bounds check) and the
 * first byte of a multi-byte UTF-8 sequence, which is validated. */
static unsigned char stops[256];

static void init_stops(void)
{
    for (int c = 0; c < 256; c++)
        stops[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

/* The string at s->p (on its opening quote). Its text is left in (s->text, s->text_len): the
 * input bytes themselves when it has no escape (s->plain = 1), else its decoding in s->str. */
static int parse_string(P *s)
{
    const unsigned char *start = ++s->p, *p = start;
    for (;;) {
        while (!stops[*p])
            p++;
        if (p >= s->end)
            return -1;
        if (*p == '"') {
            s->text = (const char *)start;
            s->text_len = p - start;
            s->plain = 1;
            s->p = p + 1;
            return 0;
        }
        if (*p < 0x80)
            break; /* a backslash, or a raw control character */
        Py_ssize_t n = utf8_len(p, s->end);
        if (n == 0)
            return -1;
        p += n;
    }
    /* escapes: decode into s->str */
    Buf *b = &s->str;
    b->len = 0;
    if (buf_put(b, (const char *)start, p - start) < 0)
        return -1;
    s->p = p;
    for (;;) {
        const unsigned char *run = s->p;
        while (!stops[*s->p])
            s->p++;
        if (s->p > run && buf_put(b, (const char *)run, s->p - run) < 0)
            return -1;
        if (s->p >= s->end)
            return -1;
        unsigned c = *s->p;
        if (c == '"') {
            s->p++;
            s->text = b->p;
            s->text_len = b->len;
            s->plain = 0;
            return 0;
        }
        if (c < 0x20)
            return -1; /* a raw control character: not JSON */
        if (c >= 0x80) {
            Py_ssize_t n = utf8_len(s->p, s->end);
            if (n == 0 || buf_put(b, (const char *)s->p, n) < 0)
                return -1;
            s->p += n;
            continue;
        }
        /* a backslash escape */
        if (s->end - s->p < 2)
            return -1;
        unsigned e = s->p[1];
        char out;
        switch (e) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (s->end - s->p < 6 || hex4(s->p + 2, &cp) < 0)
                return -1;
            s->p += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return -1; /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u'
                        || hex4(s->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                    return -1; /* a high surrogate without its low half */
                s->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (put_utf8(b, cp) < 0)
                return -1;
            continue;
        }
        default:
            return -1;
        }
        if (buf_byte(b, out) < 0)
            return -1;
        s->p += 2;
    }
}

/* A number that is a 64-bit integer (the only kind taken here: orjson gives floats for the
 * others, and a float's text is not worth reproducing for this fast path). */
static int parse_int(P *s, long long *out)
{
    const unsigned char *p = s->p;
    int neg = 0;
    if (p < s->end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= s->end || *p < '0' || *p > '9')
        return -1;
    const unsigned char *digits = p;
    if (*p == '0')
        p++;
    else
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
    if (p < s->end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
        return -1; /* a float, or a leading zero */
    if (p - digits > 18)
        return -1; /* may not fit in 64 bits */
    long long v = 0;
    for (const unsigned char *q = digits; q < p; q++)
        v = v * 10 + (*q - '0');
    *out = neg ? -v : v;
    s->p = p;
    return 0;
}

static int literal(P *s, const char *word, Py_ssize_t n)
{
    if (s->end - s->p < n || memcmp(s->p, word, (size_t)n) != 0)
        return -1;
    s->p += n;
    return 0;
}

/* -- values as Python objects (the fields the row reads) ---------------------------------------- */

static PyObject *value_obj(P *s);

static PyObject *array_obj(P *s)
{
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return list;
    }
    for (;;) {
        PyObject *item = value_obj(s);
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return list;
        }
        Py_DECREF(list);
        return NULL;
    }
}

static PyObject *object_obj(P *s)
{
    PyObject *dict = PyDict_New();
    if (dict == NULL)
        return NULL;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return dict;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"' || parse_string(s) < 0)
            goto fail;
        PyObject *key = PyUnicode_DecodeUTF8(s->text, s->text_len, NULL);
        if (key == NULL)
            goto fail;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':') {
            Py_DECREF(key);
            goto fail;
        }
        s->p++;
        skip_ws(s);
        PyObject *value = value_obj(s);
        if (value == NULL || PyDict_SetItem(dict, key, value) < 0) { /* last value wins */
            Py_DECREF(key);
            Py_XDECREF(value);
            goto fail;
        }
        Py_DECREF(key);
        Py_DECREF(value);
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            return dict;
        }
        goto fail;
    }
fail:
    Py_DECREF(dict);
    return NULL;
}

static PyObject *value_obj(P *s)
{
    if (s->p >= s->end)
        return NULL;
    PyObject *out;
    switch (*s->p) {
    case '"':
        if (parse_string(s) < 0)
            return NULL;
        return PyUnicode_DecodeUTF8(s->text, s->text_len, NULL);
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH)
            return NULL;
        out = *s->p == '{' ? object_obj(s) : array_obj(s);
        s->depth--;
        return out;
    case 't':
        if (literal(s, "true", 4) < 0)
            return NULL;
        Py_RETURN_TRUE;
    case 'f':
        if (literal(s, "false", 5) < 0)
            return NULL;
        Py_RETURN_FALSE;
    case 'n':
        if (literal(s, "null", 4) < 0)
            return NULL;
        Py_RETURN_NONE;
    default: {
        long long v;
        if (parse_int(s, &v) < 0)
            return NULL;
        return PyLong_FromLongLong(v);
    }
    }
}

/* -- values as orjson.dumps text (the bodies) ---------------------------------------------------- */

/* The last string as orjson writes it: as read when it had no escape (it then holds no
 * character orjson escapes), else its decoding escaped again. */
static int emit_string(Buf *out, const P *s)
{
    static const char hex[] = "0123456789abcdef";
    if (buf_reserve(out, s->text_len + 2) < 0 || buf_byte(out, '"') < 0)
        return -1;
    if (s->plain)
        return buf_put(out, s->text, s->text_len) < 0 ? -1 : buf_byte(out, '"');
    const unsigned char *p = (const unsigned char *)s->text, *end = p + s->text_len;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run && buf_put(out, (const char *)run, p - run) < 0)
            return -1;
        if (p >= end)
            break;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        Py_ssize_t n = 2;
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\t': esc[1] = 't'; break;
        case '\n': esc[1] = 'n'; break;
        case '\f': esc[1] = 'f'; break;
        case '\r': esc[1] = 'r'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 0xF];
            n = 6;
        }
        if (buf_put(out, esc, n) < 0)
            return -1;
        p++;
    }
    return buf_byte(out, '"');
}

static int value_emit(P *s, Buf *out);

/* Key spans (offset, length in out) of the open objects, to refuse a key logged twice: orjson
 * would keep it once, and reproducing which is not worth it here. */
typedef struct {
    Py_ssize_t off, len;
} Span;

static int key_seen(P *s, Py_ssize_t first, const Buf *out, Py_ssize_t off, Py_ssize_t len)
{
    const Span *spans = (const Span *)s->keys.p;
    Py_ssize_t n = s->keys.len / (Py_ssize_t)sizeof(Span);
    if (n - first >= MAX_KEYS_CHECKED)
        return 1; /* a huge object: leave it to the Python path */
    for (Py_ssize_t i = first; i < n; i++)
        if (spans[i].len == len && memcmp(out->p + spans[i].off, out->p + off, (size_t)len) == 0)
            return 1;
    return 0;
}

static int object_emit(P *s, Buf *out)
{
    Py_ssize_t first = s->keys.len / (Py_ssize_t)sizeof(Span);
    int rc = -1;
    s->p++;
    if (buf_byte(out, '{') < 0)
        goto done;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        rc = buf_byte(out, '}');
        goto done;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"' || parse_string(s) < 0)
            goto done;
        Py_ssize_t off = out->len;
        if (emit_string(out, s) < 0)
            goto done;
        Span span = {off, out->len - off};
        if (key_seen(s, first, out, span.off, span.len)
                || buf_put(&s->keys, (const char *)&span, sizeof span) < 0)
            goto done;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':' || buf_byte(out, ':') < 0)
            goto done;
        s->p++;
        skip_ws(s);
        if (value_emit(s, out) < 0)
            goto done;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            if (buf_byte(out, ',') < 0)
                goto done;
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            rc = buf_byte(out, '}');
            goto done;
        }
        goto done;
    }
done:
    s->keys.len = first * (Py_ssize_t)sizeof(Span);
    return rc;
}

static int array_emit(P *s, Buf *out)
{
    s->p++;
    if (buf_byte(out, '[') < 0)
        return -1;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return buf_byte(out, ']');
    }
    for (;;) {
        if (value_emit(s, out) < 0)
            return -1;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            if (buf_byte(out, ',') < 0)
                return -1;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return buf_byte(out, ']');
        }
        return -1;
    }
}

static int value_emit(P *s, Buf *out)
{
    if (s->p >= s->end)
        return -1;
    int rc;
    switch (*s->p) {
    case '"':
        if (parse_string(s) < 0)
            return -1;
        return emit_string(out, s);
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH)
            return -1;
        rc = *s->p == '{' ? object_emit(s, out) : array_emit(s, out);
        s->depth--;
        return rc;
    case 't':
        return literal(s, "true", 4) < 0 ? -1 : buf_put(out, "true", 4);
    case 'f':
        return literal(s, "false", 5) < 0 ? -1 : buf_put(out, "false", 5);
    case 'n':
        return literal(s, "null", 4) < 0 ? -1 : buf_put(out, "null", 4);
    default: {
        long long v;
        char text[24];
        if (parse_int(s, &v) < 0)
            return -1;
        int n = snprintf(text, sizeof text, "%lld", v);
        return buf_put(out, text, n);
    }
    }
}

/* -- the row --------------------------------------------------------------------------------- */

/* The top-level keys the row reads as Python objects, by slot. */
enum {
    K_KIND, K_AUDIT_ID, K_STAGE, K_LEVEL, K_VERB, K_URI, K_STAGE_TS, K_TS, K_RECEIVED_TS,
    K_SOURCE_IPS, K_AGENT, K_USER, K_IMP, K_REF, K_STATUS, K_ANN, N_OBJ,
};
static const char *const obj_keys[N_OBJ] = {
    "kind", "auditID", "stage", "level", "verb", "requestURI", "stageTimestamp", "timestamp",
    "requestReceivedTimestamp", "sourceIPs", "userAgent", "user", "impersonatedUser",
    "objectRef", "responseStatus", "annotations",
};

/* Returns the slot of a key, N_OBJ for a body key (request = N_OBJ, response = N_OBJ + 1),
 * N_OBJ + 2 for a key the row does not read, N_OBJ + 3 for a key that makes the line not a
 * plain Event. */
enum { SLOT_REQUEST = N_OBJ, SLOT_RESPONSE, SLOT_OTHER, SLOT_NOT_EVENT };

static Py_ssize_t obj_key_len[N_OBJ];

static int is_key(const P *s, const char *key, Py_ssize_t n)
{
    return s->text_len == n && memcmp(s->text, key, (size_t)n) == 0;
}

static int slot_of(const P *s)
{
    for (int i = 0; i < N_OBJ; i++)
        if (is_key(s, obj_keys[i], obj_key_len[i]))
            return i;
    if (is_key(s, "requestObject", 13))
        return SLOT_REQUEST;
    if (is_key(s, "responseObject", 14))
        return SLOT_RESPONSE;
    if (is_key(s, "k8s_audit_level", 15) || is_key(s, "log_type", 8))
        return SLOT_NOT_EVENT;
    return SLOT_OTHER;
}

/* Validate and pass over a value the row does not use: what it accepts, the other parsers of
 * this file accept too, so a line is taken or left whole. */
static int value_skip(P *s)
{
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '"':
        return parse_string(s);
    case '{':
    case '[': {
        unsigned char close = *s->p == '{' ? '}' : ']';
        int object = close == '}';
        if (++s->depth > MAX_DEPTH)
            return -1;
        s->p++;
        skip_ws(s);
        if (s->p < s->end && *s->p == close) {
            s->p++;
            s->depth--;
            return 0;
        }
        for (;;) {
            if (object) {
                if (s->p >= s->end || *s->p != '"' || parse_string(s) < 0)
                    return -1;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':')
                    return -1;
                s->p++;
                skip_ws(s);
            }
            if (value_skip(s) < 0)
                return -1;
            skip_ws(s);
            if (s->p < s->end && *s->p == ',') {
                s->p++;
                skip_ws(s);
                continue;
            }
            if (s->p < s->end && *s->p == close) {
                s->p++;
                s->depth--;
                return 0;
            }
            return -1;
        }
    }
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default: {
        long long v;
        return parse_int(s, &v);
    }
    }
}

static PyObject *get(PyObject *dict, PyObject *key)
{
    /* dict.get(key) on a dict or None (missing) */
    if (dict == NULL)
        return NULL;
    return PyDict_GetItemWithError(dict, key);
}

static PyObject *s_username, *s_uid, *s_groups, *s_extra, *s_api_group, *s_api_version,
    *s_resource, *s_subresource, *s_namespace, *s_name, *s_code, *s_status, *s_reason,
    *s_message, *s_decision, *s_authz_reason, *s_truncated, *s_event, *s_true, *s_sa_prefix, *s_colon;

/* The object of a field that must be a JSON object when present; NULL for "absent or falsy"
 * (the Python path's ``g(...) or {}``), and *bad = 1 when it is something else. */
static PyObject *as_object(PyObject *v, int *bad)
{
    if (v == NULL || v == Py_None)
        return NULL;
    if (!PyDict_CheckExact(v)) {
        *bad = 1;
        return NULL;
    }
    return PyDict_GET_SIZE(v) ? v : NULL;
}

#define NEW_OR_NONE(x) ((x) != NULL ? Py_NewRef(x) : Py_NewRef(Py_None))

/* What row() needs of the origin (auditlens.k8s.native.context, in its order). */
typedef struct {
    PyObject *time, *cluster, *wrapper, *file;
    int keep_objects, truncated;
} Ctx;

static int read_ctx(PyObject *ctx, Ctx *c)
{
    if (!PyTuple_Check(ctx) || PyTuple_GET_SIZE(ctx) != 6) {
        PyErr_SetString(PyExc_TypeError, "ctx must be the 6-tuple of auditlens.k8s.native.context");
        return -1;
    }
    c->time = PyTuple_GET_ITEM(ctx, 0);
    c->keep_objects = PyObject_IsTrue(PyTuple_GET_ITEM(ctx, 1));
    c->cluster = PyTuple_GET_ITEM(ctx, 2);
    c->wrapper = PyTuple_GET_ITEM(ctx, 3);
    c->file = PyTuple_GET_ITEM(ctx, 4);
    c->truncated = PyObject_IsTrue(PyTuple_GET_ITEM(ctx, 5));
    return c->keep_objects < 0 || c->truncated < 0 ? -1 : 0;
}

/* The row of one line (a new reference), None when it is not for this path, NULL on MemoryError. */
static PyObject *make_row(PyObject *raw, PyObject *line, const Ctx *c)
{
    PyObject *o_time = c->time, *o_cluster = c->cluster, *o_wrapper = c->wrapper,
             *o_file = c->file;
    int keep_objects = c->keep_objects, o_truncated = c->truncated;
    if (!PyBytes_Check(raw) || PyBytes_GET_SIZE(raw) == 0 || PyBytes_AS_STRING(raw)[0] != '{')
        Py_RETURN_NONE; /* the Python path reads only lines that start with "{" this way */

    P s;
    s.p = (const unsigned char *)PyBytes_AS_STRING(raw);
    s.end = s.p + PyBytes_GET_SIZE(raw);
    s.depth = 1;
    s.str = scratch_str;
    s.keys = scratch_keys;
    s.keys.len = 0;
    Buf body = scratch_body;
    body.len = 0;

    PyObject *obj[N_OBJ] = {NULL};
    Py_ssize_t body_at[2] = {-1, -1}, body_len[2] = {0, 0};
    int ok = 0, seen_audit_id = 0;

    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        goto out;
    s.p++;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '}')
        goto out; /* {} is not an Event */
    for (;;) {
        if (s.p >= s.end || *s.p != '"' || parse_string(&s) < 0)
            goto out;
        int slot = slot_of(&s);
        if (slot == SLOT_NOT_EVENT)
            goto out;
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ':')
            goto out;
        s.p++;
        skip_ws(&s);
        if (slot < N_OBJ) {
            PyObject *v = value_obj(&s);
            if (v == NULL)
                goto out;
            Py_XSETREF(obj[slot], v); /* a key logged twice: the last value, as in a dict */
            if (slot == K_AUDIT_ID)
                seen_audit_id = 1;
        } else if (slot == SLOT_OTHER || !keep_objects) {
            if (value_skip(&s) < 0)
                goto out;
        } else {
            int which = slot - SLOT_REQUEST;
            Py_ssize_t at = body.len;
            if (value_emit(&s, &body) < 0)
                goto out;
            body_at[which] = at;
            body_len[which] = body.len - at;
        }
        skip_ws(&s);
        if (s.p < s.end && *s.p == ',') {
            s.p++;
            skip_ws(&s);
            continue;
        }
        if (s.p < s.end && *s.p == '}') {
            s.p++;
            break;
        }
        goto out;
    }
    skip_ws(&s);
    if (s.p != s.end || !seen_audit_id)
        goto out;
    if (obj[K_KIND] != NULL) { /* obj.get("kind", "Event") == "Event" */
        int eq = PyUnicode_CheckExact(obj[K_KIND])
                 && PyUnicode_Compare(obj[K_KIND], s_event) == 0;
        if (!eq)
            goto out;
    }
    ok = 1;

out:
    scratch_str = s.str;
    scratch_keys = s.keys;
    scratch_body = body;
    PyObject *result = NULL;
    if (!ok)
        goto done;

    int bad = 0;
    PyObject *u = as_object(obj[K_USER], &bad), *ref = as_object(obj[K_REF], &bad),
             *rs = as_object(obj[K_STATUS], &bad), *imp = as_object(obj[K_IMP], &bad),
             *a = as_object(obj[K_ANN], &bad);
    if (bad)
        goto done;
    PyObject *username = get(u, s_username);
    if (username != NULL && username != Py_None && !PyUnicode_CheckExact(username))
        goto done;
    PyObject *sa_ns = NULL, *sa_name = NULL;
    if (username != NULL && username != Py_None && PyUnicode_GET_LENGTH(username) > 0
            && PyUnicode_Tailmatch(username, s_sa_prefix, 0, PY_SSIZE_T_MAX, -1) == 1) {
        PyObject *parts = PyUnicode_Split(username, s_colon, -1);
        if (parts == NULL)
            goto done;
        if (PyList_GET_SIZE(parts) == 4 && PyUnicode_GET_LENGTH(PyList_GET_ITEM(parts, 2))
                && PyUnicode_GET_LENGTH(PyList_GET_ITEM(parts, 3))) {
            sa_ns = Py_NewRef(PyList_GET_ITEM(parts, 2));
            sa_name = Py_NewRef(PyList_GET_ITEM(parts, 3));
        }
        Py_DECREF(parts);
    }
    PyObject *group = get(ref, s_api_group), *version = get(ref, s_api_version);
    PyObject *group_out = NULL, *version_out = NULL;
    if (version != NULL && version != Py_None && !PyUnicode_CheckExact(version))
        goto sa_done;
    if ((group == NULL || group == Py_None) && version != NULL && version != Py_None
            && PyUnicode_GET_LENGTH(version) > 0
            && PyUnicode_FindChar(version, '/', 0, PY_SSIZE_T_MAX, 1) >= 0) {
        Py_ssize_t cut = PyUnicode_FindChar(version, '/', 0, PY_SSIZE_T_MAX, -1);
        group_out = PyUnicode_Substring(version, 0, cut);
        version_out = PyUnicode_Substring(version, cut + 1, PyUnicode_GET_LENGTH(version));
        if (group_out == NULL || version_out == NULL)
            goto versions_done;
    } else {
        group_out = NEW_OR_NONE(group);
        version_out = NEW_OR_NONE(version);
    }
    PyObject *stage_time = obj[K_STAGE_TS], *alt_time = Py_None;
    int truthy = stage_time != NULL ? PyObject_IsTrue(stage_time) : 0;
    if (truthy < 0)
        goto versions_done;
    if (!truthy) {
        PyObject *chain[2] = {obj[K_TS], obj[K_RECEIVED_TS]};
        alt_time = o_time;
        for (int i = 0; i < 2; i++) {
            int t = chain[i] != NULL ? PyObject_IsTrue(chain[i]) : 0;
            if (t < 0)
                goto versions_done;
            if (t) {
                alt_time = chain[i];
                break;
            }
        }
    }
    PyObject *req = Py_None, *resp = Py_None, *texts[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        if (keep_objects && body_at[i] >= 0 && !(body_len[i] == 4
                && memcmp(body.p + body_at[i], "null", 4) == 0)) {
            texts[i] = PyUnicode_DecodeUTF8(body.p + body_at[i], body_len[i], NULL);
            if (texts[i] == NULL)
                goto texts_done;
        }
    }
    if (texts[0] != NULL)
        req = texts[0];
    if (texts[1] != NULL)
        resp = texts[1];
    PyObject *trunc_ann = get(a, s_truncated);
    int truncated = o_truncated;
    if (!truncated && trunc_ann != NULL && PyUnicode_CheckExact(trunc_ann))
        truncated = PyUnicode_Compare(trunc_ann, s_true) == 0;
    if (PyErr_Occurred())
        goto texts_done;

    PyObject *values[39] = {
        stage_time, alt_time, obj[K_RECEIVED_TS], obj[K_AUDIT_ID], obj[K_STAGE],
        obj[K_LEVEL], obj[K_VERB], obj[K_URI],
        username, get(u, s_uid), get(u, s_groups), get(u, s_extra),
        get(imp, s_username), get(imp, s_groups), sa_ns, sa_name,
        obj[K_SOURCE_IPS], obj[K_AGENT],
        group_out, version_out, get(ref, s_resource), get(ref, s_subresource),
        get(ref, s_namespace), get(ref, s_name), get(ref, s_uid),
        get(rs, s_code), get(rs, s_status), get(rs, s_reason), get(rs, s_message),
        get(a, s_decision), get(a, s_authz_reason), obj[K_ANN], req, resp,
        o_cluster, o_wrapper, o_file, line, truncated ? Py_True : Py_False,
    };
    if (PyErr_Occurred())
        goto texts_done;
    result = PyTuple_New(39);
    if (result != NULL)
        for (int i = 0; i < 39; i++)
            PyTuple_SET_ITEM(result, i, NEW_OR_NONE(values[i]));
texts_done:
    Py_XDECREF(texts[0]);
    Py_XDECREF(texts[1]);
versions_done:
    Py_XDECREF(group_out);
    Py_XDECREF(version_out);
sa_done:
    Py_XDECREF(sa_ns);
    Py_XDECREF(sa_name);
done:
    for (int i = 0; i < N_OBJ; i++)
        Py_XDECREF(obj[i]);
    if (result == NULL) {
        if (PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_MemoryError))
                return NULL;
            PyErr_Clear(); /* e.g. a surrogate orjson refuses too: the Python path decides */
        }
        Py_RETURN_NONE;
    }
    return result;
}

static PyObject *row(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Ctx c;
    if (nargs != 3 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "row(raw: bytes, line: int, ctx: tuple)");
        return NULL;
    }
    if (read_ctx(args[2], &c) < 0)
        return NULL;
    return make_row(args[0], args[1], &c);
}

static PyObject *rows(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Ctx c;
    if (nargs != 3 || !PyList_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "rows(lines: list[bytes], first: int, ctx: tuple)");
        return NULL;
    }
    Py_ssize_t first = PyLong_AsSsize_t(args[1]);
    if ((first == -1 && PyErr_Occurred()) || read_ctx(args[2], &c) < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(args[0]);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PyLong_FromSsize_t(first + i);
        PyObject *r = line != NULL ? make_row(PyList_GET_ITEM(args[0], i), line, &c) : NULL;
        Py_XDECREF(line);
        if (r == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, r);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"row", (PyCFunction)(void (*)(void))row, METH_FASTCALL,
     "row(raw, line, ctx) -> the raw row of a one-line audit Event, or None (see the module)."},
    {"rows", (PyCFunction)(void (*)(void))rows, METH_FASTCALL,
     "rows(lines, first, ctx) -> [row(line, first + i, ctx) for i, line in enumerate(lines)]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastrow",
    "The C fast path for one-line audit Events (optional; auditlens.k8s.native).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastrow(void)
{
    init_stops();
    for (int i = 0; i < N_OBJ; i++)
        obj_key_len[i] = (Py_ssize_t)strlen(obj_keys[i]);
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&s_username, "username"}, {&s_uid, "uid"}, {&s_groups, "groups"}, {&s_extra, "extra"},
        {&s_api_group, "apiGroup"}, {&s_api_version, "apiVersion"}, {&s_resource, "resource"},
        {&s_subresource, "subresource"}, {&s_namespace, "namespace"}, {&s_name, "name"},
        {&s_code, "code"}, {&s_status, "status"}, {&s_reason, "reason"},
        {&s_message, "message"}, {&s_decision, "authorization.k8s.io/decision"},
        {&s_authz_reason, "authorization.k8s.io/reason"},
        {&s_truncated, "audit.k8s.io/truncated"}, {&s_event, "Event"}, {&s_true, "true"},
        {&s_sa_prefix, "system:serviceaccount:"}, {&s_colon, ":"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *names[i].slot = PyUnicode_InternFromString(names[i].text);
        if (*names[i].slot == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
