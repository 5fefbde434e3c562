/* JSON text read in place, for the C fast paths (auditlens/k8s/_fastrow.c,
 * auditlens/cloud/_fastcloud.c): strings (escapes decoded, UTF-8 validated), 64-bit integers,
 * literals, and walks over the members of objects and arrays that validate what they pass over.
 * It reads a subset of JSON: whatever it refuses (-1: a float, an integer that may not fit 64
 * bits, nesting deeper than MAX_DEPTH, anything malformed) the caller leaves to its Python path,
 * which reads it with orjson. What it accepts it must read exactly as orjson does.
 *
 * Everything here is static: include this header (after _columns.h, which it includes) in the
 * one C file of an extension, and call init_stops() once when the module is made.
 */
#ifndef AUDITLENS_JSON_H
#define AUDITLENS_JSON_H

#include "_columns.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_DEPTH 64

/* Parser state. A failed parse (-1) means "not for the fast path"; a Python error set at the
 * same time (only MemoryError) is passed on by the caller. */
typedef struct {
    const unsigned char *p, *end;
    int depth;
    const char *text; /* the last string's text (see parse_string) */
    Py_ssize_t text_len;
    int plain;
    Buf str;  /* the decoded text of the last string when it had escapes */
    Buf keys; /* key spans of open objects in a body, for the duplicate check */
} P;

static inline void skip_ws(P *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

COL_STATIC int hex4(const unsigned char *p, unsigned *out)
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

COL_STATIC int put_utf8(Buf *b, unsigned cp)
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
COL_STATIC Py_ssize_t utf8_len(const unsigned char *p, const unsigned char *end)
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

COL_STATIC void init_stops(void)
{
    for (int c = 0; c < 256; c++)
        stops[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

/* The first byte at or after p (before end) that is in `stops`, or the NUL after the input's
 * end. Strings are most of an Event's bytes: with SSE2, 16 bytes are looked at a time. */
static inline const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        /* signed: bytes >= 0x80 are negative, so "< 0x20" also finds them */
        __m128i hit = _mm_or_si128(_mm_cmplt_epi8(x, space),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                _mm_cmpeq_epi8(x, backslash)));
        int mask = _mm_movemask_epi8(hit);
        if (mask)
            return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (!stops[*p])
        p++;
    return p;
}

/* The string at s->p (on its opening quote). Its text is left in (s->text, s->text_len): the
 * input bytes themselves when it has no escape (s->plain = 1), else its decoding in s->str. */
COL_STATIC int parse_string(P *s)
{
    const unsigned char *start = ++s->p, *p = start;
    for (;;) {
        p = plain_run(p, s->end);
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
        s->p = plain_run(s->p, s->end);
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
COL_STATIC int parse_int(P *s, long long *out)
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

COL_STATIC int literal(P *s, const char *word, Py_ssize_t n)
{
    if (s->end - s->p < n || memcmp(s->p, word, (size_t)n) != 0)
        return -1;
    s->p += n;
    return 0;
}

/* -- values and members ------------------------------------------------------------------- */

/* A value in the line: where it starts and its JSON kind ('s'tring, 'i'nteger, 'b'ool, 'n'ull,
 * 'o'bject, 'a'rray; 0 when the key is absent). The line is parsed once to find and validate the
 * values; the columns then read each value again from where it starts. */
typedef struct {
    const unsigned char *at;
    char kind;
} Val;

COL_STATIC char kind_of(unsigned char c)
{
    switch (c) {
    case '"': return 's';
    case '{': return 'o';
    case '[': return 'a';
    case 't':
    case 'f': return 'b';
    case 'n': return 'n';
    default: return 'i';
    }
}

static inline int is_key_n(const P *s, const char *key, Py_ssize_t n)
{
    return s->text_len == n && memcmp(s->text, key, (size_t)n) == 0;
}

#define is_key(s, literal) is_key_n((s), (literal), (Py_ssize_t)sizeof(literal) - 1)

/* The index of the current key in `keys` (whose lengths are in `lens`), or -1. */
COL_STATIC int key_index(const P *s, const char *const *keys, const Py_ssize_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        if (lens[i] == s->text_len && memcmp(s->text, keys[i], (size_t)lens[i]) == 0)
            return i;
    return -1;
}

COL_STATIC void init_lens(const char *const *keys, Py_ssize_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        lens[i] = (Py_ssize_t)strlen(keys[i]);
}

/* Walks the members of the object or array at `at`, checking its punctuation: the callback gets
 * each member (for an array, s->text_len is -1) with s->p on its value, and must pass over the
 * value. Stops on the closing bracket; -1 when the walk or a callback fails. */
typedef int (*Member)(P *s, void *arg);

COL_STATIC int walk(P *s, const unsigned char *at, Member each, void *arg)
{
    int object = *at == '{';
    unsigned char close = object ? '}' : ']';
    s->p = at + 1;
    skip_ws(s);
    if (s->p < s->end && *s->p == close)
        return 0;
    for (;;) {
        if (object) {
            if (s->p >= s->end || *s->p != '"' || parse_string(s) < 0)
                return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return -1;
            s->p++;
            skip_ws(s);
        } else {
            s->text_len = -1;
        }
        if (each(s, arg) < 0)
            return -1;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        return s->p < s->end && *s->p == close ? 0 : -1;
    }
}

/* Validate and pass over a value the row does not use: what it accepts, the other parsers of
 * this file accept too, so a line is taken or left whole. */
COL_STATIC int value_skip(P *s);

COL_STATIC int skip_member(P *s, void *arg)
{
    (void)arg;
    return value_skip(s);
}

COL_STATIC int value_skip(P *s)
{
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '"':
        return parse_string(s);
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH || walk(s, s->p, skip_member, NULL) < 0)
            return -1;
        s->p++; /* past the closing bracket, where the walk stopped */
        s->depth--;
        return 0;
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

typedef struct {
    const char *const *keys;
    const Py_ssize_t *lens;
    int n;
    Val *out;
} Pick;

COL_STATIC int pick_member(P *s, void *arg)
{
    Pick *pk = arg;
    int i = key_index(s, pk->keys, pk->lens, pk->n);
    if (i >= 0) { /* a key logged twice: the last value, as in a dict */
        pk->out[i].at = s->p;
        pk->out[i].kind = kind_of(*s->p);
    }
    return value_skip(s);
}

/* The wanted members of the object at s->p, which the walk validates and passes over. */
COL_STATIC int pick(P *s, const char *const *keys, const Py_ssize_t *lens, int n, Val *out)
{
    for (int i = 0; i < n; i++)
        out[i].kind = 0;
    Pick pk = {keys, lens, n, out};
    int depth = s->depth;
    if (walk(s, s->p, pick_member, &pk) < 0)
        return -1;
    s->depth = depth;
    s->p++; /* past the object's "}" */
    return 0;
}

COL_STATIC int is_string_or_null(Val v)
{
    return v.kind == 0 || v.kind == 'n' || v.kind == 's';
}

/* Append the string value v to c (null when v is absent or of another kind). */
COL_STATIC int put_string(P *s, StrCol *c, Val v)
{
    if (v.kind != 's')
        return str_end(c, 0);
    s->p = v.at;
    return parse_string(s) < 0 ? -1 : str_put(c, s->text, s->text_len);
}

#endif /* AUDITLENS_JSON_H */
