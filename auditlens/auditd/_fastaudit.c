/* The optional C fast path of the auditd events reader (see auditlens/auditd/native.py).
 *
 * A Parser takes blocks of lines of one input after another, lexes the kernel records the way
 * auditlens.auditd.lexer does (RAW or ENRICHED), groups records into events exactly as
 * auditlens.auditd.assemble.Assembler does, and for each complete SYSCALL event (its first
 * record) appends the AUDITD_EVENTS row straight into Arrow buffers: event_row() and normalize()
 * of the Python path, transcribed. Everything else is left to Python:
 *
 *   - a line it does not lex (not printable ASCII, another header form, a user-space message,
 *     a numeric type, numbers over 64 bits...) stops add_block(); Python lexes it and gives the
 *     record back with inject() (or rejects the line), so assembly stays here;
 *   - an event of another kind (user space, AVC, a companion record that changes the
 *     normaliser's class...) or with a value it would store differently (an int that does not
 *     fit its column, an argument that is not UTF-8...) is "declined": its records go back to
 *     Python (take_declined()), which makes the row and hands it back in order (put_row()).
 *
 * The assembler pauses whenever the caller has something to take (a declined event, a full
 * batch) and goes on where it stopped, so batches have exactly `limit` rows. Values whose
 * interpretation needs the project's tables (user names, syscall names, hex decoding...) come
 * from a Python callable, memoised here per (kind, key text): the values repeat, so the Python
 * functions that define them run a few thousand times per read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "../_columns.h"

#define MAX_PENDING 10000
#define MAX_RECORDS 10000
#define MEMO_LIMIT 16384
#define MAX_LINE ((Py_ssize_t)1 << 24)
#define MAX_PATHS 256
#define MAX_ARGS 65536
#define FULL_BYTES ((Py_ssize_t)1 << 30)

/* -- records ------------------------------------------------------------------------------ */

typedef struct {
    int32_t k, kn, v, vn; /* offsets into the record's text */
} Field;

typedef struct Rec {
    PyObject *line;   /* the input line (bytes, newline included), owned; NULL for injected */
    PyObject *pyrec;  /* a Record lexed by Python (injected), owned; NULL when lexed here */
    const char *text; /* the line without its newline */
    Py_ssize_t len;
    int32_t type_off, type_len, node_off, node_len; /* node_len < 0: no node */
    int64_t sec, msec, serial;
    PyObject *big;    /* injected records with numbers over int64: (node, serial, sec, msec) */
    int sec_big;      /* ... and the second is one of them (then sec is not set) */
    int32_t file;
    int64_t number;
    int64_t seq;      /* the record's place in the input (tracked reads only) */
    int nfields, nefields;
    Field *fields, *efields; /* efields: the ENRICHED translations after \x1d */
    struct Rec *next;
} Rec;

static inline int rec_is(const Rec *r, const char *type)
{
    size_t n = strlen(type);
    return r->type_len == (int32_t)n && memcmp(r->text + r->type_off, type, n) == 0;
}

static void rec_free(Rec *r)
{
    Py_XDECREF(r->line);
    Py_XDECREF(r->pyrec);
    Py_XDECREF(r->big);
    PyMem_Free(r->fields);
    PyMem_Free(r->efields);
    PyMem_Free(r);
}

/* The first field called name (first value wins, as the lexer keeps it); -1 when absent. */
static int rec_find(const Rec *r, const char *name, Py_ssize_t n)
{
    for (int i = 0; i < r->nfields; i++) {
        const Field *f = &r->fields[i];
        if (f->kn == n && r->text[f->k] == name[0] && memcmp(r->text + f->k, name, (size_t)n) == 0)
            return i;
    }
    return -1;
}

/* -- the lexer: lexer.parse_line for the lines it takes ----------------------------------- */

static int digits64(const char *p, const char *end, const char **stop, int64_t *out)
{
    const char *s = p;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (v > (uint64_t)(INT64_MAX - 9) / 10)
            return -1; /* may not fit: Python's turn */
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s)
        return -1;
    *stop = p;
    *out = (int64_t)v;
    return 0;
}

/* Room for one more of n items in a growing array (capacity doubled from `first`). */
static int grow(void *items, Py_ssize_t *cap, Py_ssize_t n, size_t size, Py_ssize_t first)
{
    if (n < *cap)
        return 0;
    Py_ssize_t ncap = *cap ? *cap * 2 : first;
    void *p = PyMem_Realloc(*(void **)items, size * (size_t)ncap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *(void **)items = p;
    *cap = ncap;
    return 0;
}

/* The fields being lexed; past SCAN_FIELDS of them, a hash set of their keys finds a key
 * logged twice (a scan of all earlier keys made a line of many fields quadratic). */
typedef struct {
    Field *f;
    int n;
    Py_ssize_t cap;
    int32_t *set; /* field index + 1, 0 empty */
    int setcap;
} Fields;

#define SCAN_FIELDS 32

static uint64_t fnv(const char *p, Py_ssize_t n);

static int set_put(const char *text, Fields *fs, int i)
{
    uint64_t h = fnv(text + fs->f[i].k, fs->f[i].kn);
    int m = fs->setcap - 1, j = (int)(h & (uint64_t)m);
    while (fs->set[j])
        j = (j + 1) & m;
    fs->set[j] = i + 1;
    return 0;
}

static int set_grow(const char *text, Fields *fs)
{
    int cap = fs->setcap ? fs->setcap * 2 : 4 * SCAN_FIELDS;
    int32_t *t = PyMem_Calloc((size_t)cap, sizeof(int32_t));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyMem_Free(fs->set);
    fs->set = t;
    fs->setcap = cap;
    for (int i = 0; i < fs->n; i++)
        set_put(text, fs, i);
    return 0;
}

/* whether the key is one of the fields' keys already */
static int seen_key(const char *text, const Fields *fs, const char *key, int32_t kn)
{
    if (fs->set == NULL) {
        for (int i = 0; i < fs->n; i++) {
            const Field *f = &fs->f[i];
            if (f->kn == kn && text[f->k] == key[0] && memcmp(text + f->k, key, (size_t)kn) == 0)
                return 1;
        }
        return 0;
    }
    uint64_t h = fnv(key, kn);
    int m = fs->setcap - 1, j = (int)(h & (uint64_t)m);
    for (; fs->set[j]; j = (j + 1) & m) {
        const Field *f = &fs->f[fs->set[j] - 1];
        if (f->kn == kn && memcmp(text + f->k, key, (size_t)kn) == 0)
            return 1;
    }
    return 0;
}

static int add_field(const char *text, Fields *fs, int32_t k, int32_t kn, int32_t v, int32_t vn)
{
    if (seen_key(text, fs, text + k, kn)) /* a key logged twice keeps its first value */
        return 0;
    if (grow(&fs->f, &fs->cap, fs->n, sizeof(Field), 16) < 0)
        return -1;
    fs->f[fs->n++] = (Field){k, kn, v, vn};
    if (fs->n >= SCAN_FIELDS && 2 * fs->n > fs->setcap)
        return set_grow(text, fs);
    if (fs->set != NULL)
        set_put(text, fs, fs->n - 1);
    return 0;
}

/* The key=value pairs of text[start, end) as the lexer's _KV.findall finds them (the text is
 * printable ASCII: \s is the space), first value of a key kept. */
static int lex_pairs(const char *s, const char *start, const char *end, Fields *fs)
{
    const char *p = start;
    while (p < end) {
        /* a key starts a word: (?<!\S)([^\s=]+)= */
        if (p > start && p[-1] != ' ') {
            p++;
            continue;
        }
        const char *k = p;
        while (p < end && *p != ' ' && *p != '=')
            p++;
        if (p == k || p == end || *p != '=') {
            if (p == k)
                p++;
            continue;
        }
        const char *v = ++p;
        if (p < end && *p == '"') { /* "[^"]*"? */
            p++;
            while (p < end && *p != '"')
                p++;
            if (p < end)
                p++;
        } else if (p < end && *p == '{') { /* \{[^}]*\}? */
            p++;
            while (p < end && *p != '}')
                p++;
            if (p < end)
                p++;
        } else { /* \S* */
            while (p < end && *p != ' ')
                p++;
        }
        if (add_field(s, fs, (int32_t)(k - s), (int32_t)(v - 1 - k), (int32_t)(v - s),
                      (int32_t)(p - v)) < 0)
            return -1;
    }
    return 0;
}

/* Lex one line. 1: a record in *out; 0: a line for Python; -1: MemoryError. The checks keep to
 * what the Python lexer does the same way: printable ASCII only (so \s is the space), the
 * canonical header at the start of the line, a kernel body (no msg=, avc:, ENRICHED part). */
static int lex(PyObject *line, const char *s, Py_ssize_t n, int32_t file, int64_t number,
               Rec **out)
{
    if (n > 0 && s[n - 1] == '\n')
        n -= (n > 1 && s[n - 2] == '\r') ? 2 : 1;
    if (n > MAX_LINE)
        return 0;
    const char *cut = NULL; /* the ENRICHED separator */
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c <= 0x7e)
            continue;
        if (c != 0x1d || cut != NULL)
            return 0; /* \x1d is whitespace to the lexer's regex: a second one is Python's */
        cut = s + i;
    }
    const char *p = s, *end = s + n;
    int32_t node_off = 0, node_len = -1;
    if (n >= 5 && memcmp(p, "node=", 5) == 0) {
        p += 5;
        node_off = (int32_t)(p - s);
        while (p < end && *p != ' ')
            p++;
        node_len = (int32_t)(p - s) - node_off;
        if (p == end)
            return 0;
        if (node_len == 0)
            node_len = -1; /* node or None */
        p++;
    }
    if (end - p < 5 || memcmp(p, "type=", 5) != 0)
        return 0;
    p += 5;
    const char *t = p;
    while (p < end && *p != ' ')
        p++;
    if (p == t || p == end)
        return 0;
    int32_t type_off = (int32_t)(t - s), type_len = (int32_t)(p - t);
    int alldigits = 1;
    for (const char *q = t; q < p; q++)
        if (*q < '0' || *q > '9')
            alldigits = 0;
    if (alldigits)
        return 0; /* a numeric type: the name comes from the tables (Python) */
    p++;
    if (end - p >= 4 && memcmp(p, "msg=", 4) == 0)
        p += 4;
    if (end - p < 6 || memcmp(p, "audit(", 6) != 0)
        return 0;
    p += 6;
    int64_t sec, msec, serial;
    if (digits64(p, end, &p, &sec) < 0 || p == end || *p++ != '.')
        return 0;
    if (digits64(p, end, &p, &msec) < 0 || p == end || *p++ != ':')
        return 0;
    if (digits64(p, end, &p, &serial) < 0 || p == end || *p++ != ')')
        return 0;
    if (p < end && *p == ':')
        p++;
    /* the body: a kernel record's key=value list (the lexer's _shaped / _KV.findall) */
    const char *body = p;
    if (cut != NULL && cut < body)
        return 0; /* a separator in the header, where the regex sees whitespace: Python's */
    for (const char *q = body; q + 3 < end; q++) {
        if ((q[0] == 'm' && q + 4 <= end && memcmp(q, "msg=", 4) == 0) ||
            (q[0] == 'a' && q + 4 <= end && memcmp(q, "avc:", 4) == 0) ||
            (q[0] == '#' && q + 4 <= end && memcmp(q, "#035", 4) == 0))
            return 0;
    }
    Rec *r = PyMem_Calloc(1, sizeof(Rec));
    if (r == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    r->text = s;
    r->len = n;
    r->type_off = type_off;
    r->type_len = type_len;
    r->node_off = node_off;
    r->node_len = node_len;
    r->sec = sec;
    r->msec = msec;
    r->serial = serial;
    r->file = file;
    r->number = number;
    Fields fs = {0}, es = {0};
    int rc = lex_pairs(s, body, cut ? cut : end, &fs) < 0 ||
             (cut && lex_pairs(s, cut + 1, end, &es) < 0);
    PyMem_Free(fs.set);
    PyMem_Free(es.set);
    if (rc) {
        r->fields = fs.f;
        r->efields = es.f;
        rec_free(r);
        return -1;
    }
    r->fields = fs.f;
    r->nfields = fs.n;
    r->efields = es.f;
    r->nefields = es.n;
    Py_INCREF(line);
    r->line = line;
    *out = r;
    return 1;
}

/* -- memo: (kind, key text) -> Python value, asked of the render callable once ------------- */

typedef struct {
    uint64_t hash;
    char *key;
    Py_ssize_t n;
    PyObject *value;
} Slot;

#define MEMO_SLOTS (MEMO_LIMIT * 4)

typedef struct {
    Slot *slots;
    Py_ssize_t used;
} Memo;

static void memo_clear(Memo *m)
{
    if (m->slots == NULL)
        return;
    for (Py_ssize_t i = 0; i < MEMO_SLOTS; i++) {
        if (m->slots[i].key != NULL) {
            PyMem_Free(m->slots[i].key);
            Py_DECREF(m->slots[i].value);
            m->slots[i].key = NULL;
        }
    }
    m->used = 0;
}

/* A hash of a short byte string, eight bytes at a time (the memo's keys and the node names). */
static uint64_t fnv(const char *p, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 32);
}

/* -- the parser ---------------------------------------------------------------------------- */

/* Column order of AUDITD_EVENTS. */
enum {
    C_NODE, C_SERIAL, C_TIME, C_EVENT_TYPE, C_EVENT_KIND, C_SESSION, C_SUBJ_PRIME, C_SUBJ_SEC,
    C_SUBJ_KIND, C_ACTION, C_RESULT, C_OBJ_PRIME, C_OBJ_SEC, C_OBJ_KIND, C_HOW, C_KEY, C_AUID,
    C_AUID_NAME, C_UID, C_UID_NAME, C_EUID, C_EUID_NAME, C_SUID, C_FSUID, C_GID, C_GID_NAME,
    C_EGID, C_PID, C_PPID, C_EXE, C_COMM, C_TTY, C_TERMINAL, C_ADDR, C_HOSTNAME, C_SYSCALL,
    C_SYSCALL_NR, C_ARCH, C_SUCCESS, C_EXIT, C_ERRNO, C_CWD, C_PATHS, C_ARGV, C_PROCTITLE, C_OP,
    C_ACCT, C_CMD, C_UNIT, C_RES, C_SUBJ, C_AVC_RESULT, C_AVC_PERMS, C_SCONTEXT, C_TCONTEXT,
    C_TCLASS, C_PERMISSIVE, C_APPARMOR, C_SADDR_FAMILY, C_SADDR_ADDRESS, C_SADDR_PORT, C_FILE,
    C_LINE, C_RECORD_TYPES, C_RECORD_COUNT, C_ACCESS, N_COLS,
};

/* Column kinds: s string, q int64, i int32, b bool, L list<string>, P paths (list<struct>). */
static const char KINDS[N_COLS + 1] =
    "sqqssqssssssssssqsqsqsqqqsqqqsssssssisbqssPLssssssssLsssbsssisqLiL";

typedef struct {
    char kind;
    StrCol s;
    FixCol f;
    BoolCol b;
    ListCol l;
} Col;

/* The PATH item struct's fields (schema PATH_ITEM). */
enum { P_ITEM, P_NAME, P_NAMETYPE, P_INODE, P_DEV, P_MODE, P_OUID, P_OGID, P_OBJ, N_PATH };
static const char PATH_KINDS[N_PATH + 1] = "issqssqqs";

/* What render() is asked (auditlens.auditd.native.render, same numbers). */
enum {
    R_SINGLE, R_TEXT, R_PATH_TEXT, R_USER, R_GROUP, R_DECODED, R_ARCH, R_SYSCALL, R_ERRNO,
    R_CWD, R_PROCTITLE, R_PATH_NAME, R_HANDLED, R_SADDR, R_ACCESS_FIELD, R_ACCESS,
};

typedef struct Slotq {
    Rec *first, *last;
    int nrec, done, in_heap, out;
    int64_t seq;
    struct Slotq *qnext;
    struct Slotq *onext; /* chain of the open-events hash bucket */
} Ev;

typedef struct {
    int64_t sec;
    PyObject *bigsec; /* NULL unless the event's second does not fit int64 */
    int64_t seq;
    Ev *ev;
} HeapItem;

typedef struct {
    PyObject_HEAD
    /* assembler */
    Ev **open;
    Py_ssize_t open_slots, nopen;
    Ev *qhead, *qtail;
    Py_ssize_t nqueue;
    HeapItem *heap;
    Py_ssize_t nheap, heapcap;
    int64_t seq;
    /* output */
    Py_ssize_t rows;
    Col cols[N_COLS];
    StructListCol paths;
    Bits path_valid;
    Col path[N_PATH];
    PyObject *declined; /* list of (rows before, [Record | (raw, file, line)]) */
    /* interpretation */
    PyObject *render;   /* render(kind, *texts) -> value */
    PyObject *ctx;      /* dict of constants: see native.py */
    Memo memo;
    struct Konst *k;     /* constants of ctx, looked up once */
    PyObject *names[N_COLS], *path_names[N_PATH]; /* the schema's column names (put_row) */
    Py_ssize_t limit;    /* rows to hold at most: the assembler stops handing out events */
    Py_ssize_t coerced;  /* values of put_row() rows that did not fit their column (nulled) */
    int flushed;         /* 1: flush() began; 2: flush(tails=True) began */
    /* a tracked read (a parallel worker's piece): what auditlens.auditd.parallel needs to know */
    int track, big_seen;
    Buf secs, stairs, after; /* every record's second; (line, second) at each new top; suffix max */
    int64_t nrecs, top;
    Py_ssize_t peak;
    PyObject *keep;      /* values render() gave when the memo had no room, kept for the event */
    /* scratch */
    struct EvScratch *e;
    struct RowScratch *row;
    Buf scratch, argbuf;
} Parser;

/* -- memo lookups -------------------------------------------------------------------------- */

typedef struct {
    const char *p;
    Py_ssize_t n; /* n < 0: None */
} Part;

/* The value render(kind, *parts) gives, borrowed (alive until the memo is cleared between
 * events). NULL with an exception set when render raised or memory ran out. */
static PyObject *ask(Parser *P, int kind, const Part *parts, int nparts)
{
    Buf *k = &P->scratch;
    k->len = 0;
    if (buf_byte(k, (char)('A' + kind)) < 0)
        return NULL;
    for (int i = 0; i < nparts; i++) {
        if (buf_byte(k, parts[i].n < 0 ? '\x02' : '\x01') < 0)
            return NULL;
        if (parts[i].n > 0 && buf_put(k, parts[i].p, parts[i].n) < 0)
            return NULL;
    }
    if (P->memo.slots == NULL) {
        P->memo.slots = PyMem_Calloc(MEMO_SLOTS, sizeof(Slot));
        if (P->memo.slots == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
    }
    uint64_t h = fnv(k->p, k->len);
    Py_ssize_t i = (Py_ssize_t)(h & (MEMO_SLOTS - 1));
    Slot *sl = P->memo.slots;
    while (sl[i].key != NULL) {
        if (sl[i].hash == h && sl[i].n == k->len && memcmp(sl[i].key, k->p, (size_t)k->len) == 0)
            return sl[i].value;
        i = (i + 1) & (MEMO_SLOTS - 1);
    }
    PyObject *args = PyTuple_New(nparts + 1);
    if (args == NULL)
        return NULL;
    PyTuple_SET_ITEM(args, 0, PyLong_FromLong(kind));
    for (int j = 0; j < nparts; j++) {
        PyObject *o;
        if (parts[j].n < 0) {
            o = Py_None;
            Py_INCREF(o);
        } else {
            o = PyUnicode_DecodeASCII(parts[j].p, parts[j].n, NULL);
            if (o == NULL) {
                Py_DECREF(args);
                return NULL;
            }
        }
        PyTuple_SET_ITEM(args, j + 1, o);
    }
    PyObject *v = PyObject_Call(P->render, args, NULL);
    Py_DECREF(args);
    if (v == NULL)
        return NULL;
    if (P->memo.used >= MEMO_SLOTS / 2) { /* no room until the next event: keep it alive */
        int rc = PyList_Append(P->keep, v);
        Py_DECREF(v);
        return rc < 0 ? NULL : v;
    }
    char *key = PyMem_Malloc((size_t)k->len + 1);
    if (key == NULL) {
        Py_DECREF(v);
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(key, k->p, (size_t)k->len);
    sl[i] = (Slot){h, key, k->len, v};
    P->memo.used++;
    return v;
}

/* -- Python-compatible integers ------------------------------------------------------------ */

enum { INT_OK, INT_NONE, INT_BIG_POS, INT_BIG_NEG };

/* int(value.strip('"'), base) for printable ASCII: sign, 0o/0O prefix in base 8, underscores
 * between digits. INT_NONE where Python raises ValueError; INT_BIG_* where it gives an int that
 * does not fit int64. */
static int py_int(const char *p, Py_ssize_t n, int base, int64_t *out)
{
    while (n > 0 && *p == '"') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == '"')
        n--;
    while (n > 0 && *p == ' ') { /* int() allows whitespace around the number */
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == ' ')
        n--;
    const char *end = p + n;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    int prefixed = 0;
    if (base == 8 && end - p >= 2 && p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
        p += 2;
        prefixed = 1;
    }
    if (prefixed && p < end && *p == '_')
        p++;
    if (p == end)
        return INT_NONE;
    uint64_t v = 0;
    int big = 0, prev_digit = 0;
    for (; p < end; p++) {
        if (*p == '_') {
            if (!prev_digit || p + 1 == end)
                return INT_NONE;
            prev_digit = 0;
            continue;
        }
        int d = *p - '0';
        if (d < 0 || d >= base)
            return INT_NONE;
        prev_digit = 1;
        if (!big) {
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                big = 1;
            else
                v = v * (uint64_t)base + (uint64_t)d;
        }
    }
    if (big || (!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
        return neg ? INT_BIG_NEG : INT_BIG_POS;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return INT_OK;
}

static int is_unset(const char *p, Py_ssize_t n)
{
    while (n > 0 && *p == '"') {
        p++;
        n--;
    }
    while (n > 0 && p[n - 1] == '"')
        n--;
    return (n == 10 && memcmp(p, "4294967295", 10) == 0) || (n == 2 && memcmp(p, "-1", 2) == 0);
}

/* -- values of a row ----------------------------------------------------------------------- */

typedef struct {
    char state; /* 0 null, 'i' int, 's' text */
    int64_t i;
    const char *p;
    Py_ssize_t n;
} Val;

#define DECLINE 0
#define OK 1
#define FAIL -1

static int val_obj(Val *v, PyObject *o)
{
    if (o == Py_None) {
        v->state = 0;
        return OK;
    }
    if (!PyUnicode_Check(o))
        return DECLINE;
    v->p = PyUnicode_AsUTF8AndSize(o, &v->n);
    if (v->p == NULL) {
        PyErr_Clear();
        return DECLINE;
    }
    v->state = 's';
    return OK;
}

static void val_text(Val *v, const char *p, Py_ssize_t n)
{
    v->state = 's';
    v->p = p;
    v->n = n;
}

/* int column from to_int(): None when malformed; declined when it would not fit. */
static int val_int(Val *v, const char *p, Py_ssize_t n, int base, int bits32)
{
    int64_t x;
    int rc = py_int(p, n, base, &x);
    if (rc == INT_NONE) {
        v->state = 0;
        return OK;
    }
    if (rc != INT_OK || (bits32 && (x < INT32_MIN || x > INT32_MAX)))
        return DECLINE;
    v->state = 'i';
    v->i = x;
    return OK;
}

/* ids.parse_id: None when unset, malformed or negative. */
static int val_id(Val *v, const char *p, Py_ssize_t n)
{
    int64_t x;
    if (is_unset(p, n)) {
        v->state = 0;
        return OK;
    }
    int rc = py_int(p, n, 10, &x);
    if (rc == INT_NONE || rc == INT_BIG_NEG || (rc == INT_OK && (x < 0 || x == 4294967295LL))) {
        v->state = 0;
        return OK;
    }
    if (rc != INT_OK)
        return DECLINE;
    v->state = 'i';
    v->i = x;
    return OK;
}

/* clean(unquote(value)[0]) */
static void val_unquoted(Val *v, const char *p, Py_ssize_t n)
{
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
    }
    if (n == 0 || (n == 6 && memcmp(p, "(null)", 6) == 0) || (n == 1 && *p == '?') ||
        (n == 6 && memcmp(p, "(none)", 6) == 0)) {
        v->state = 0;
        return;
    }
    val_text(v, p, n);
}

/* -- the event: records, cursor, normaliser ------------------------------------------------ */

typedef struct EvScratch {
    Parser *P;
    Rec *recs[MAX_RECORDS];
    int n;            /* records without EOE (the normaliser's) */
    Rec *all[MAX_RECORDS];
    int nall;
    Part node, arch;  /* arch: the SYSCALL record's raw arch= (n < 0: none) */
    Part earch;       /* its ENRICHED ARCH= (n < 0: none) */
    Part cwd;         /* raw cwd= of the first CWD record (n < 0: none) */
    int cr, cf;       /* cursor: record (-1: nowhere) and field (0: the type) */
} E;

typedef struct {
    int r, f; /* r < 0: unset */
} Pos;

static const Pos NOPOS = {-1, 0};

static inline Part fpart(const Rec *r, int f, int value)
{
    const Field *x = &r->fields[f - 1];
    return value ? (Part){r->text + x->v, x->vn} : (Part){r->text + x->k, x->kn};
}

/* The ENRICHED translation of a field (its name in upper case), or n < 0. */
static Part eget(const Rec *r, Part name)
{
    for (int i = 0; i < r->nefields; i++) {
        const Field *f = &r->efields[i];
        if (f->kn != name.n)
            continue;
        const char *k = r->text + f->k;
        Py_ssize_t j = 0;
        while (j < name.n && k[j] == ((name.p[j] >= 'a' && name.p[j] <= 'z') ? name.p[j] - 32 : name.p[j]))
            j++;
        if (j == name.n)
            return (Part){r->text + f->v, f->vn};
    }
    return (Part){NULL, -1};
}

static Part eget_s(const Rec *r, const char *name)
{
    return eget(r, (Part){name, (Py_ssize_t)strlen(name)});
}

static Part raw_at(const E *e, Pos p)
{
    const Rec *r = e->recs[p.r];
    if (p.f == 0)
        return (Part){r->text + r->type_off, r->type_len};
    return fpart(r, p.f, 1);
}


static int part_is(Part p, const char *s)
{
    return p.n == (Py_ssize_t)strlen(s) && memcmp(p.p, s, (size_t)p.n) == 0;
}

static void first_record(E *e)
{
    e->cr = e->n ? 0 : -1;
    e->cf = 0;
}

static int goto_record(E *e, int r)
{
    if (r >= 0 && r < e->n) {
        e->cr = r;
        e->cf = 0;
        return 1;
    }
    return 0;
}

static int next_record(E *e)
{
    if (e->cr < 0)
        return 0;
    if (e->cr + 1 < e->n) {
        e->cr++;
        e->cf = 0;
        return 1;
    }
    e->cr = -1;
    return 0;
}

static void first_field(E *e)
{
    if (e->cr >= 0)
        e->cf = 0;
}

static int goto_field(E *e, int f)
{
    if (e->cr >= 0 && f >= 0 && f <= e->recs[e->cr]->nfields) {
        e->cf = f;
        return 1;
    }
    return 0;
}

static int cur_type_is(const E *e, const char *t)
{
    return e->cr >= 0 && rec_is(e->recs[e->cr], t);
}

/* _Cursor.find: the next field called name from the cursor on (this field included). */
static Pos find(E *e, const char *name)
{
    if (e->cr < 0)
        return NOPOS;
    Py_ssize_t n = (Py_ssize_t)strlen(name);
    int r = e->cr, f = e->cf;
    for (; r < e->n; r++, f = 0) { /* never asked for "type" (names[0]) */
        const Rec *rec = e->recs[r];
        for (int i = f > 0 ? f : 1; i <= rec->nfields; i++) {
            const Field *x = &rec->fields[i - 1];
            if (x->kn == n && memcmp(rec->text + x->k, name, (size_t)n) == 0) {
                e->cr = r;
                e->cf = i;
                return (Pos){r, i};
            }
        }
    }
    e->cr = -1;
    return NOPOS;
}

/* _Ctx.text: a field's value as ausearch shows it (borrowed). Positions come from find(),
 * which is never asked for "type", so p is a field (p.f > 0). */
static PyObject *text(E *e, Pos p)
{
    const Rec *r = e->recs[p.r];
    Part type = {r->text + r->type_off, r->type_len};
    Part name = fpart(r, p.f, 0), raw = fpart(r, p.f, 1);
    Part enriched = eget(r, name);
    if (part_is(name, "name") && enriched.n < 0 && rec_is(r, "PATH"))
        return ask(e->P, R_PATH_TEXT, (Part[]){raw, e->cwd}, 2);
    return ask(e->P, R_TEXT, (Part[]){type, name, raw, enriched, e->node, e->earch, e->arch}, 7);
}

typedef struct {
    Pos session, subj_prime, subj_sec, results, obj_prime, obj_sec, key;
    PyObject *subj_kind, *action, *obj_kind, *how; /* borrowed */
    int success;
} Out;

/* Constants from native.py's context dict, looked up once per parser. */
typedef struct Konst {
    PyObject *evkind, *kinds_privileged, *kinds_unset, *kinds_system, *kinds_user, *kinds_other;
    int64_t privileged_uid, max_system_uid, max_user_uid;
    PyObject *interp; /* tuple of interpreter exe prefixes */
    PyObject *plans;  /* syscall name -> plan tuple */
    PyObject *unknown_plan, *unknown_kind, *triggered, *triggered_unknown, *made_char,
        *made_block, *make_device, *file_kind, *kind_names, *killed_list, *killed_pid,
        *allocated, *allocated_in, *empty;
} K;

static int is_str(PyObject *o, const char *s)
{
    return o != NULL && PyUnicode_Check(o) && PyUnicode_CompareWithASCIIString(o, s) == 0;
}

static int subject_what(E *e, Out *o, const K *k, Pos p)
{
    /* the position is always a uid field here (found by name "uid") */
    Part raw = raw_at(e, p);
    int64_t uid;
    int rc = INT_OK;
    if (is_unset(raw.p, raw.n))
        uid = 4294967295LL;
    else {
        rc = py_int(raw.p, raw.n, 10, &uid);
        if (rc == INT_NONE) {
            uid = 4294967294LL;
            rc = INT_OK;
        }
    }
    if (rc == INT_BIG_POS)
        o->subj_kind = k->kinds_other;
    else if (rc == INT_BIG_NEG)
        o->subj_kind = k->kinds_system;
    else if (uid == k->privileged_uid)
        o->subj_kind = k->kinds_privileged;
    else if (uid == 4294967295LL)
        o->subj_kind = k->kinds_unset;
    else if (uid < k->max_system_uid)
        o->subj_kind = k->kinds_system;
    else if (uid < k->max_user_uid)
        o->subj_kind = k->kinds_user;
    else
        o->subj_kind = k->kinds_other;
    return 1;
}

static int starts_interp(PyObject *how, const K *k)
{
    if (!PyUnicode_Check(how))
        return 0;
    Py_ssize_t n = PyTuple_GET_SIZE(k->interp);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t rc = PyUnicode_Tailmatch(how, PyTuple_GET_ITEM(k->interp, i), 0, PY_SSIZE_T_MAX, -1);
        if (rc != 0)
            return (int)rc; /* 1, or -1 on error */
    }
    return 0;
}

/* The exe field at p, or for a script interpreter (python, sh, bash, perl) the comm found from
 * the field before it on (how_from_exe and program_object). */
static int exe_or_comm(E *e, const K *k, Pos p, Pos *out)
{
    PyObject *exe = text(e, p);
    if (exe == NULL)
        return FAIL;
    int interp = starts_interp(exe, k);
    if (interp < 0)
        return FAIL;
    *out = p;
    if (interp) {
        if (!(p.f > 0 && goto_field(e, p.f - 1)))
            first_record(e);
        Pos c = find(e, "comm");
        if (c.r >= 0)
            *out = c;
    }
    return OK;
}

static int how_from_exe(E *e, Out *o, const K *k, Pos p)
{
    Pos w;
    if (exe_or_comm(e, k, p, &w) < 0 || (o->how = text(e, w)) == NULL)
        return FAIL;
    return OK;
}

static void subj_attr(E *e, const char *name, int rnum)
{
    if (find(e, name).r < 0)
        goto_record(e, rnum);
}

static const int MODE_BITS[7] = {0100000, 0040000, 0020000, 0060000, 0010000, 0120000, 0140000};

/* set_file_object */
static int file_object(E *e, Out *o, const K *k, int adjust)
{
    goto_record(e, 2 + adjust);
    first_field(e);
    int parent = -1;
    Pos p;
    for (;;) {
        p = find(e, "nametype");
        if (p.r < 0)
            break;
        Part v = raw_at(e, p);
        if (!part_is(v, "PARENT"))
            break;
        if (parent < 0)
            parent = p.r;
        if (!next_record(e)) {
            p = NOPOS;
            break;
        }
    }
    if (p.r < 0) {
        if (parent < 0)
            return OK;
        goto_record(e, parent);
    }
    if (cur_type_is(e, "PATH")) {
        first_field(e);
        Pos nm = find(e, "name");
        if (nm.r >= 0)
            o->obj_prime = nm;
        Pos ino = find(e, "inode");
        if (ino.r >= 0)
            o->obj_sec = ino;
        Pos mode = find(e, "mode");
        if (mode.r >= 0) {
            Part raw = raw_at(e, mode);
            int64_t m;
            int rc = py_int(raw.p, raw.n, 8, &m);
            if (rc == INT_BIG_POS || rc == INT_BIG_NEG)
                return DECLINE;
            if (rc == INT_OK) {
                int64_t bits = m & 0170000;
                for (int i = 0; i < 7; i++)
                    if (bits == MODE_BITS[i])
                        o->obj_kind = PyTuple_GET_ITEM(k->kind_names, i);
            }
        }
    }
    return OK;
}

/* Plan codes (native.py _plan): what syscall() does for a class. */
enum { PL_FILE, PL_LDMOD, PL_MOUNT, PL_KIND_ONLY, PL_ELSE, PL_DECLINE, PL_SOCKET, PL_PID,
       PL_PROGRAM, PL_MEMORY };

/* program_object() of an event that starts with its SYSCALL record */
static int program_object(E *e, Out *o, const K *k)
{
    first_record(e);
    Pos p = find(e, "exe");
    if (p.r < 0)
        return OK;
    return exe_or_comm(e, k, p, &o->obj_prime) < 0 ? FAIL : OK;
}

/* _Normalizer.compound() for a SYSCALL event of the records handled here, then syscall(). */
static int normalise(E *e, Out *o, const K *k)
{
    memset(o, 0, sizeof *o);
    o->session = o->subj_prime = o->subj_sec = o->results = o->obj_prime = o->obj_sec = o->key = NOPOS;
    o->success = -1;
    first_record(e);
    int recno = 0;
    PyObject *syscall = NULL;
    Pos p = find(e, "syscall");
    if (p.r >= 0 && (syscall = text(e, p)) == NULL)
        return FAIL;
    p = find(e, "success");
    if (p.r >= 0) {
        o->success = part_is(raw_at(e, p), "no") ? 0 : 1;
        o->results = p;
    } else
        goto_record(e, recno);
    p = find(e, "auid");
    if (p.r >= 0)
        o->subj_prime = p;
    else
        goto_record(e, recno);
    p = find(e, "uid");
    if (p.r >= 0) {
        o->subj_sec = p;
        subject_what(e, o, k, p);
    } else
        goto_record(e, recno);
    first_record(e); /* the first SYSCALL record is record 0 here */
    static const char *const attrs[] = {"ppid", "pid", "gid", "euid", "suid", "fsuid", "egid",
                                        "sgid", "fsgid", "tty"};
    for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++)
        subj_attr(e, attrs[i], 0);
    p = find(e, "ses");
    if (p.r >= 0)
        o->session = p;
    else
        first_record(e);
    subj_attr(e, "subj", 0);
    first_field(e);
    p = find(e, "exe");
    if (p.r >= 0) {
        if (how_from_exe(e, o, k, p) < 0)
            return FAIL;
    } else
        goto_record(e, recno);
    p = find(e, "key");
    if (p.r >= 0 && !part_is(raw_at(e, p), "(null)"))
        o->key = p;

    /* syscall(): no companion record among the types handled here, so the class is the
     * syscall's; the plan says which branch of syscall() that class takes */
    first_record(e);
    e->cr = -1; /* the companion loop walks past the last record */
    PyObject *plan = NULL;
    if (syscall != NULL && PyUnicode_Check(syscall)) {
        plan = PyDict_GetItemWithError(k->plans, syscall);
        if (plan == NULL && PyErr_Occurred())
            return FAIL;
    } else if (syscall != NULL)
        return DECLINE;
    if (plan == NULL)
        plan = k->unknown_plan; /* "" or a name with no class: "unknown" */
    long code = PyLong_AsLong(PyTuple_GET_ITEM(plan, 0));
    PyObject *act = PyTuple_GET_ITEM(plan, 1), *kind = PyTuple_GET_ITEM(plan, 2);
    long offset = PyLong_AsLong(PyTuple_GET_ITEM(plan, 3));
    int rc = OK;
    switch (code) {
    case PL_FILE:
        o->obj_kind = kind;
        rc = file_object(e, o, k, (int)offset);
        if (PyTuple_GET_SIZE(plan) > 4 && PyObject_IsTrue(PyTuple_GET_ITEM(plan, 4))) /* "file" */
            o->obj_kind = k->file_kind;
        else if (PyTuple_GET_SIZE(plan) > 5 && PyObject_IsTrue(PyTuple_GET_ITEM(plan, 5))) { /* make-dev */
            if (is_str(o->obj_kind, "character-device"))
                act = k->made_char;
            else if (is_str(o->obj_kind, "block-device"))
                act = k->made_block;
            else
                act = k->make_device;
        }
        break;
    case PL_LDMOD:
        o->obj_kind = kind;
        goto_record(e, 1);
        p = find(e, "name");
        if (p.r >= 0)
            o->obj_prime = p;
        break;
    case PL_MOUNT:
        o->obj_kind = kind;
        rc = file_object(e, o, k, o->success);
        break;
    case PL_KIND_ONLY:
        o->obj_kind = kind;
        break;
    case PL_SOCKET:
    case PL_PID:
        if (code == PL_PID)
            act = e->n > 2 ? k->killed_list : k->killed_pid;
        goto_record(e, 1);
        first_field(e);
        p = find(e, "saddr");
        if (p.r >= 0)
            o->obj_prime = p;
        o->obj_kind = kind;
        break;
    case PL_PROGRAM:
        o->obj_kind = kind;
        rc = program_object(e, o, k);
        if (o->how != NULL)
            o->how = syscall != NULL ? syscall : k->empty;
        break;
    case PL_MEMORY:
        act = k->allocated;
        if (o->success == 1) {
            act = k->allocated_in;
            first_record(e);
            p = find(e, "comm");
            if (p.r >= 0)
                o->obj_prime = p;
        }
        o->obj_kind = kind;
        break;
    case PL_ELSE:
        first_record(e);
        p = find(e, "key");
        if (p.r >= 0 && !part_is(raw_at(e, p), "(null)")) {
            act = k->triggered;
            o->obj_prime = p;
        } else
            act = k->triggered_unknown;
        o->obj_kind = k->unknown_kind;
        break;
    default:
        return DECLINE;
    }
    if (rc != OK)
        return rc;
    o->action = act;
    return OK;
}

/* -- the row ------------------------------------------------------------------------------- */

typedef struct {
    Val v[N_PATH];
    int has_item;
    int64_t item;
} PathVal;

typedef struct RowScratch {
    Val v[N_COLS];
    PathVal paths[MAX_PATHS];
    int npaths; /* -1: no PATH record (null) */
    int nargs;  /* -1: no EXECVE record (null) */
} Row;

/* A field of a record by name (raw value), or n < 0. */
static Part get(const Rec *r, const char *name)
{
    int i = rec_find(r, name, (Py_ssize_t)strlen(name));
    if (i < 0)
        return (Part){NULL, -1};
    return (Part){r->text + r->fields[i].v, r->fields[i].vn};
}

/* event_row's _SKIPPED: records whose fields are not event fields */
static int skipped(const Rec *r)
{
    return rec_is(r, "PATH") || rec_is(r, "EXECVE") || rec_is(r, "PROCTITLE") || rec_is(r, "EOE") ||
           rec_is(r, "SOCKADDR");
}

/* event_row's _fields: the SYSCALL record first, then the others that are not skipped, in
 * input order (the event has one SYSCALL record, its first). */
static Part fieldof(E *e, const char *name, const Rec **from)
{
    Rec *sc = e->all[0];
    Part v = get(sc, name);
    if (v.n >= 0) {
        *from = sc;
        return v;
    }
    for (int i = 1; i < e->nall; i++) {
        Rec *r = e->all[i];
        if (skipped(r))
            continue;
        v = get(r, name);
        if (v.n >= 0) {
            *from = r;
            return v;
        }
    }
    return (Part){NULL, -1};
}

static int ask_val(E *e, Val *v, int kind, const Part *parts, int n)
{
    PyObject *o = ask(e->P, kind, parts, n);
    if (o == NULL)
        return FAIL;
    return val_obj(v, o);
}

#define TRY(x)                  \
    do {                        \
        int rc_ = (x);          \
        if (rc_ != OK)          \
            return rc_;         \
    } while (0)

static int is_hex(const char *p, Py_ssize_t n)
{
    if (n == 0 || n % 2)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* valid UTF-8 (what bytes.decode accepts without an error handler) */
static int utf8_ok(const unsigned char *s, Py_ssize_t n)
{
    PyObject *o = PyUnicode_DecodeUTF8((const char *)s, n, NULL);
    if (o == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(o);
    return 1;
}

typedef struct {
    int64_t idx, part, seq; /* part -1: a whole argument; seq: the order logged */
    Part value;
} Arg;

/* _arg_key: a(\d+)(?:\[(\d+)\]|(_len))?\Z; 1 whole, 2 part, 0 not an argument, -1 too big */
static int arg_key(Part k, int64_t *idx, int64_t *part)
{
    const char *p = k.p, *end = k.p + k.n;
    if (p == end || *p++ != 'a' || p == end || *p < '0' || *p > '9')
        return 0;
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > MAX_ARGS)
            return -1;
        p++;
    }
    *idx = v;
    if (p == end)
        return 1;
    if (end - p == 4 && memcmp(p, "_len", 4) == 0)
        return 0;
    if (*p != '[' || ++p == end || *p < '0' || *p > '9')
        return 0;
    int64_t w = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        w = w * 10 + (*p - '0');
        if (w > MAX_ARGS)
            return -1;
        p++;
    }
    if (p == end || *p != ']' || p + 1 != end)
        return 0;
    *part = w;
    return 2;
}

/* the bytes an argument value stands for, appended to b */
static int arg_bytes(Buf *b, Part v)
{
    const char *p = v.p;
    Py_ssize_t n = v.n;
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"')
        return buf_put(b, p + 1, n - 2);
    if (!is_hex(p, n))
        return buf_put(b, p, n);
    for (Py_ssize_t i = 0; i < n; i += 2)
        if (buf_byte(b, (char)(hexval(p[i]) << 4 | hexval(p[i + 1]))) < 0)
            return -1;
    return 0;
}

/* by argument, then part (the whole argument first), then the order logged */
static int arg_cmp(const void *a, const void *b)
{
    const Arg *x = a, *y = b;
    if (x->idx != y->idx)
        return x->idx < y->idx ? -1 : 1;
    if (x->part != y->part)
        return x->part < y->part ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* execve_argv into P->argbuf: per argument (start, length) or -1 for None, in argv order. */
static int execve_argv(E *e, Row *row, int64_t **spans)
{
    Parser *P = e->P;
    int64_t argc = 0;
    int has_argc = 0;
    /* the last value of each (idx, part) wins, as dict assignment does */
    Arg *args = NULL;
    Py_ssize_t nargs = 0, cap = 0;
    int seen = 0, rc = OK;
    for (int i = 0; i < e->nall; i++) {
        Rec *r = e->all[i];
        if (!rec_is(r, "EXECVE"))
            continue;
        seen = 1;
        for (int f = 1; f <= r->nfields; f++) {
            Part key = fpart(r, f, 0), value = fpart(r, f, 1);
            if (part_is(key, "argc")) {
                int64_t x;
                int irc = py_int(value.p, value.n, 10, &x);
                if (irc == INT_NONE)
                    has_argc = 0;
                else if (irc != INT_OK) {
                    rc = DECLINE;
                    goto done;
                } else {
                    has_argc = 1;
                    argc = x;
                }
                continue;
            }
            int64_t idx = 0, part = -1;
            int kind = arg_key(key, &idx, &part);
            if (kind < 0) {
                rc = DECLINE;
                goto done;
            }
            if (kind == 0)
                continue;
            if (kind == 1)
                part = -1;
            if (grow(&args, &cap, nargs, sizeof(Arg), 16) < 0) {
                rc = FAIL;
                goto done;
            }
            args[nargs] = (Arg){idx, part, nargs, value};
            nargs++;
        }
    }
    if (!seen) {
        row->nargs = -1;
        goto done;
    }
    int64_t highest = 0;
    for (Py_ssize_t j = 0; j < nargs; j++)
        if (args[j].idx + 1 > highest)
            highest = args[j].idx + 1;
    int64_t n = (has_argc && argc >= highest) ? argc : highest;
    if (n > MAX_ARGS) {
        rc = DECLINE;
        goto done;
    }
    int64_t *sp = PyMem_Malloc(sizeof(int64_t) * 2 * (size_t)(n ? n : 1));
    if (sp == NULL) {
        PyErr_NoMemory();
        rc = FAIL;
        goto done;
    }
    *spans = sp;
    /* sorted, the last value of each (idx, part) is the last of its run (dict assignment) */
    qsort(args, (size_t)nargs, sizeof(Arg), arg_cmp);
    Buf *b = &P->argbuf;
    b->len = 0;
    Py_ssize_t j = 0;
    for (int64_t i = 0; i < n; i++) {
        while (j < nargs && args[j].idx < i)
            j++;
        Py_ssize_t start = b->len, last = j;
        while (last < nargs && args[last].idx == i)
            last++;
        if (j < last && args[j].part < 0) { /* a whole argument: its last value */
            Py_ssize_t w = j;
            while (w + 1 < last && args[w + 1].part < 0)
                w++;
            if (arg_bytes(b, args[w].value) < 0) {
                rc = FAIL;
                goto done;
            }
        } else if (j < last) { /* chunks in part order, the last value of each */
            for (Py_ssize_t q = j; q < last; q++) {
                if (q + 1 < last && args[q + 1].part == args[q].part)
                    continue;
                if (arg_bytes(b, args[q].value) < 0) {
                    rc = FAIL;
                    goto done;
                }
            }
        } else {
            sp[2 * i] = -1;
            sp[2 * i + 1] = 0;
            continue;
        }
        if (!utf8_ok((const unsigned char *)b->p + start, b->len - start)) {
            rc = DECLINE;
            goto done;
        }
        sp[2 * i] = start;
        sp[2 * i + 1] = b->len - start;
    }
    row->nargs = (int)n;
done:
    PyMem_Free(args);
    return rc;
}

static int path_cmp(const void *a, const void *b)
{
    const PathVal *x = a, *y = b;
    /* key (item is None, item): items first by value, then the ones without an item */
    if (x->has_item != y->has_item)
        return x->has_item ? -1 : 1;
    if (x->has_item && x->item != y->item)
        return x->item < y->item ? -1 : 1;
    return 0;
}

/* stable sort (qsort is not): insertion sort over at most MAX_PATHS items */
static void sort_paths(PathVal *p, int n)
{
    for (int i = 1; i < n; i++) {
        PathVal t = p[i];
        int j = i - 1;
        while (j >= 0 && path_cmp(&p[j], &t) > 0) {
            p[j + 1] = p[j];
            j--;
        }
        p[j + 1] = t;
    }
}

static int path_item(E *e, const Rec *r, PathVal *pv)
{
    memset(pv, 0, sizeof *pv);
    Part v = get(r, "item");
    if (v.n >= 0) {
        TRY(val_int(&pv->v[P_ITEM], v.p, v.n, 10, 1));
        pv->has_item = pv->v[P_ITEM].state == 'i';
        pv->item = pv->v[P_ITEM].i;
    }
    v = get(r, "name");
    if (v.n >= 0)
        TRY(ask_val(e, &pv->v[P_NAME], R_PATH_NAME, &v, 1));
    v = get(r, "nametype");
    if (v.n >= 0)
        val_text(&pv->v[P_NAMETYPE], v.p, v.n);
    v = get(r, "inode");
    if (v.n >= 0)
        TRY(val_int(&pv->v[P_INODE], v.p, v.n, 10, 0));
    v = get(r, "dev");
    if (v.n >= 0)
        val_text(&pv->v[P_DEV], v.p, v.n);
    v = get(r, "mode");
    if (v.n >= 0)
        val_text(&pv->v[P_MODE], v.p, v.n);
    v = get(r, "ouid");
    if (v.n >= 0)
        TRY(val_id(&pv->v[P_OUID], v.p, v.n));
    v = get(r, "ogid");
    if (v.n >= 0)
        TRY(val_id(&pv->v[P_OGID], v.p, v.n));
    v = get(r, "obj");
    if (v.n >= 0)
        val_unquoted(&pv->v[P_OBJ], v.p, v.n);
    return OK;
}

static int pos_text(E *e, Val *v, Pos p)
{
    if (p.r < 0)
        return OK;
    PyObject *o = text(e, p);
    if (o == NULL)
        return FAIL;
    return val_obj(v, o);
}

static const char *const ID_NAMES[] = {"auid", "uid", "euid", "suid", "fsuid", "gid", "egid"};
static const int ID_COLS[] = {C_AUID, C_UID, C_EUID, C_SUID, C_FSUID, C_GID, C_EGID};
static const char *const UNQUOTED_NAMES[] = {"tty", "terminal", "addr", "hostname", "op", "unit",
                                             "res", "subj"};
static const int UNQUOTED_COLS[] = {C_TTY, C_TERMINAL, C_ADDR, C_HOSTNAME, C_OP, C_UNIT, C_RES,
                                    C_SUBJ};
static const char *const DECODED_NAMES[] = {"exe", "comm", "acct", "cmd"};
static const int DECODED_COLS[] = {C_EXE, C_COMM, C_ACCT, C_CMD};

/* event_row's _access(): the access column, as "read,write" (append_row splits it). The syscall
 * name says where its open flags are (R_ACCESS_FIELD: "a1", "a2" or none; "oflag" is in an
 * OPENAT2 record, and events with one are declined, so here it is never found). */
static int access_col(E *e, Row *row, const Rec *sc)
{
    const Val *name = &row->v[C_SYSCALL], *arch = &row->v[C_ARCH];
    if (name->state != 's')
        return OK;
    Part syscall = {name->p, name->n};
    PyObject *where = ask(e->P, R_ACCESS_FIELD, &syscall, 1);
    if (where == NULL)
        return FAIL;
    Part flags = {NULL, -1};
    if (where != Py_None) {
        const char *field = PyUnicode_Check(where) ? PyUnicode_AsUTF8(where) : NULL;
        if (field == NULL) {
            PyErr_Clear();
            return DECLINE;
        }
        flags = get(sc, field);
    }
    Part archp = arch->state == 's' ? (Part){arch->p, arch->n} : (Part){NULL, -1};
    return ask_val(e, &row->v[C_ACCESS], R_ACCESS, (Part[]){archp, syscall, flags}, 3);
}

/* event_row() + normalize() into row; OK, DECLINE or FAIL (an exception is set). */
static int make_row(E *e, Row *row, const K *k, int64_t **argspans)
{
    Parser *P = e->P;
    memset(row->v, 0, sizeof row->v);
    row->npaths = -1;
    row->nargs = -1;
    Rec *sc = e->all[0];
    const Rec *from;
    for (size_t i = 0; i < 7; i++) {
        Part v = fieldof(e, ID_NAMES[i], &from);
        if (v.n >= 0)
            TRY(val_id(&row->v[ID_COLS[i]], v.p, v.n));
    }
    static const char *const user_src[] = {"auid", "uid", "euid"};
    static const int user_cols[] = {C_AUID_NAME, C_UID_NAME, C_EUID_NAME};
    for (int i = 0; i < 3; i++) {
        Part v = fieldof(e, user_src[i], &from);
        if (v.n >= 0)
            TRY(ask_val(e, &row->v[user_cols[i]], R_USER,
                        (Part[]){v, eget_s(from, user_src[i]), e->node}, 3));
    }
    Part v = fieldof(e, "gid", &from);
    if (v.n >= 0)
        TRY(ask_val(e, &row->v[C_GID_NAME], R_GROUP, (Part[]){v, eget_s(from, "gid"), e->node}, 3));
    v = fieldof(e, "pid", &from);
    if (v.n >= 0)
        TRY(val_int(&row->v[C_PID], v.p, v.n, 10, 0));
    v = fieldof(e, "ppid", &from);
    if (v.n >= 0)
        TRY(val_int(&row->v[C_PPID], v.p, v.n, 10, 0));
    for (int i = 0; i < 4; i++) {
        v = fieldof(e, DECODED_NAMES[i], &from);
        if (v.n >= 0) {
            Part name = {DECODED_NAMES[i], (Py_ssize_t)strlen(DECODED_NAMES[i])};
            Part type = {from->text + from->type_off, from->type_len};
            TRY(ask_val(e, &row->v[DECODED_COLS[i]], R_DECODED, (Part[]){type, name, v}, 3));
        }
    }
    for (int i = 0; i < 8; i++) {
        v = fieldof(e, UNQUOTED_NAMES[i], &from);
        if (v.n >= 0)
            val_unquoted(&row->v[UNQUOTED_COLS[i]], v.p, v.n);
    }
    /* SYSCALL */
    if (e->earch.n > 0) /* _enriched(sc, "arch") or arch_of(arch) */
        val_text(&row->v[C_ARCH], e->earch.p, e->earch.n);
    else if (e->arch.n > 0)
        TRY(ask_val(e, &row->v[C_ARCH], R_ARCH, &e->arch, 1));
    v = get(sc, "syscall");
    if (v.n >= 0) {
        TRY(val_int(&row->v[C_SYSCALL_NR], v.p, v.n, 10, 1));
        if (row->v[C_SYSCALL_NR].state == 'i')
            TRY(ask_val(e, &row->v[C_SYSCALL], R_SYSCALL,
                        (Part[]){e->earch, e->arch, v, eget_s(sc, "syscall")}, 4));
    }
    v = get(sc, "success");
    if (v.n >= 0) {
        row->v[C_SUCCESS].state = 'i';
        row->v[C_SUCCESS].i = part_is(v, "yes");
    }
    v = get(sc, "exit");
    if (v.n >= 0) {
        TRY(val_int(&row->v[C_EXIT], v.p, v.n, 10, 0));
        Val *x = &row->v[C_EXIT];
        if (x->state == 'i' && x->i < 0 && x->i >= -4095) {
            char num[24];
            int len = snprintf(num, sizeof num, "%lld", (long long)x->i);
            TRY(ask_val(e, &row->v[C_ERRNO], R_ERRNO, (Part[]){{num, len}}, 1));
        }
    }
    TRY(access_col(e, row, sc));
    /* CWD, PATH, EXECVE, PROCTITLE */
    const Rec *cwd = NULL, *pt = NULL;
    for (int i = 0; i < e->nall; i++) {
        if (cwd == NULL && rec_is(e->all[i], "CWD"))
            cwd = e->all[i];
        if (pt == NULL && rec_is(e->all[i], "PROCTITLE"))
            pt = e->all[i];
    }
    if (cwd != NULL) {
        v = get(cwd, "cwd");
        if (v.n >= 0)
            TRY(ask_val(e, &row->v[C_CWD], R_CWD, &v, 1));
    }
    for (int i = 0; i < e->nall; i++) {
        if (!rec_is(e->all[i], "PATH"))
            continue;
        if (row->npaths < 0)
            row->npaths = 0;
        if (row->npaths == MAX_PATHS)
            return DECLINE;
        TRY(path_item(e, e->all[i], &row->paths[row->npaths++]));
    }
    if (row->npaths > 0)
        sort_paths(row->paths, row->npaths);
    TRY(execve_argv(e, row, argspans));
    if (pt != NULL) {
        v = get(pt, "proctitle");
        if (v.n >= 0)
            TRY(ask_val(e, &row->v[C_PROCTITLE], R_PROCTITLE, &v, 1));
    }
    const Rec *sa = NULL;
    for (int i = 0; i < e->nall && sa == NULL; i++)
        if (rec_is(e->all[i], "SOCKADDR"))
            sa = e->all[i];
    if (sa != NULL && (v = get(sa, "saddr")).n >= 0) {
        PyObject *dec = ask(P, R_SADDR, (Part[]){v, e->earch, e->arch}, 3);
        if (dec == NULL)
            return FAIL;
        if (dec != Py_None) {
            if (!PyTuple_Check(dec) || PyTuple_GET_SIZE(dec) != 3)
                return DECLINE;
            TRY(val_obj(&row->v[C_SADDR_FAMILY], PyTuple_GET_ITEM(dec, 0)));
            TRY(val_obj(&row->v[C_SADDR_ADDRESS], PyTuple_GET_ITEM(dec, 1)));
            PyObject *port = PyTuple_GET_ITEM(dec, 2);
            if (port != Py_None) {
                long x = PyLong_AsLong(port);
                if (x == -1 && PyErr_Occurred()) {
                    PyErr_Clear();
                    return DECLINE;
                }
                if (x < INT32_MIN || x > INT32_MAX)
                    return DECLINE;
                row->v[C_SADDR_PORT] = (Val){'i', x, NULL, 0};
            }
        }
    }

    /* who did what */
    Out o;
    TRY(normalise(e, &o, k));
    TRY(val_obj(&row->v[C_EVENT_KIND], k->evkind));
    if (o.session.r >= 0) {
        Part raw = raw_at(e, o.session);
        TRY(val_id(&row->v[C_SESSION], raw.p, raw.n));
    }
    if (o.subj_prime.r >= 0) {
        TRY(pos_text(e, &row->v[C_SUBJ_PRIME], o.subj_prime));
        Val *s = &row->v[C_SUBJ_PRIME];
        if (s->state == 's' && s->n == 5 && memcmp(s->p, "unset", 5) == 0)
            val_text(s, "system", 6);
    }
    TRY(pos_text(e, &row->v[C_SUBJ_SEC], o.subj_sec));
    if (o.subj_kind)
        TRY(val_obj(&row->v[C_SUBJ_KIND], o.subj_kind));
    if (o.action)
        TRY(val_obj(&row->v[C_ACTION], o.action));
    if (o.results.r >= 0) {
        Val t = {0};
        TRY(pos_text(e, &t, o.results));
        if (t.state != 's')
            return DECLINE;
        int ok = (t.n == 3 && memcmp(t.p, "yes", 3) == 0) || (t.n == 1 && t.p[0] == '1') ||
                 (t.n == 7 && memcmp(t.p, "granted", 7) == 0) || (t.n >= 3 && memcmp(t.p, "suc", 3) == 0);
        if (ok)
            val_text(&row->v[C_RESULT], "success", 7);
        else
            val_text(&row->v[C_RESULT], "failed", 6);
    }
    TRY(pos_text(e, &row->v[C_OBJ_PRIME], o.obj_prime));
    TRY(pos_text(e, &row->v[C_OBJ_SEC], o.obj_sec));
    if (o.obj_kind)
        TRY(val_obj(&row->v[C_OBJ_KIND], o.obj_kind));
    if (row->v[C_OBJ_KIND].state != 's' || row->v[C_OBJ_KIND].n == 0)
        val_text(&row->v[C_OBJ_KIND], "unknown", 7); /* o.obj_kind or "unknown" */
    if (o.how)
        TRY(val_obj(&row->v[C_HOW], o.how));
    if (o.key.r >= 0) {
        TRY(pos_text(e, &row->v[C_KEY], o.key));
        if (row->v[C_KEY].state == 's' && row->v[C_KEY].n == 0)
            row->v[C_KEY].state = 0; /* text(key) or None */
    }
    /* provenance and the event's own columns */
    if (sc->node_len >= 0)
        val_text(&row->v[C_NODE], sc->text + sc->node_off, sc->node_len);
    row->v[C_SERIAL] = (Val){'i', sc->serial, NULL, 0};
    if (sc->sec > (INT64_MAX - 999999999) / 1000000 || sc->msec > (INT64_MAX / 1000) - 1)
        return DECLINE;
    int64_t us = sc->sec * 1000000;
    if (sc->msec * 1000 > INT64_MAX - us)
        return DECLINE;
    row->v[C_TIME] = (Val){'i', us + sc->msec * 1000, NULL, 0};
    val_text(&row->v[C_EVENT_TYPE], sc->text + sc->type_off, sc->type_len);
    row->v[C_LINE] = (Val){'i', sc->number, NULL, 0};
    row->v[C_RECORD_COUNT] = (Val){'i', e->nall, NULL, 0};
    return OK;
}

static int put_val(Col *c, const Val *v)
{
    switch (c->kind) {
    case 's':
        return v->state == 's' ? str_put(&c->s, v->p, v->n) : str_end(&c->s, 0);
    case 'q':
        return v->state == 'i' ? fix_i64(&c->f, v->i) : fix_null(&c->f);
    case 'i':
        return v->state == 'i' ? fix_i32(&c->f, (int32_t)v->i) : fix_null(&c->f);
    case 'b':
        return v->state == 'i' ? bool_put(&c->b, (int)v->i) : bool_null(&c->b);
    }
    return 0;
}

static int append_row(Parser *P, E *e, Row *row, const int64_t *spans, PyObject *file)
{
    for (int c = 0; c < N_COLS; c++) {
        Col *col = &P->cols[c];
        if (c == C_PATHS) {
            if (row->npaths < 0) {
                if (slist_end(&P->paths, 0) < 0)
                    return -1;
                continue;
            }
            for (int i = 0; i < row->npaths; i++) {
                for (int f = 0; f < N_PATH; f++)
                    if (put_val(&P->path[f], &row->paths[i].v[f]) < 0)
                        return -1;
                if (bits_put(&P->path_valid, 1) < 0)
                    return -1;
                P->paths.items++;
            }
            if (slist_end(&P->paths, 1) < 0)
                return -1;
            continue;
        }
        if (c == C_ARGV) {
            if (row->nargs < 0) {
                if (list_end(&col->l, 0) < 0)
                    return -1;
                continue;
            }
            for (int i = 0; i < row->nargs; i++) {
                int rc = spans[2 * i] < 0 ? str_end(&col->l.items, 0)
                                          : str_put(&col->l.items, P->argbuf.p + spans[2 * i],
                                                    spans[2 * i + 1]);
                if (rc < 0)
                    return -1;
            }
            if (list_end(&col->l, 1) < 0)
                return -1;
            continue;
        }
        if (c == C_RECORD_TYPES) {
            for (int i = 0; i < e->nall; i++) {
                Rec *r = e->all[i];
                if (str_put(&col->l.items, r->text + r->type_off, r->type_len) < 0)
                    return -1;
            }
            if (list_end(&col->l, 1) < 0)
                return -1;
            continue;
        }
        if (c == C_AVC_PERMS) {
            if (list_end(&col->l, 0) < 0)
                return -1;
            continue;
        }
        if (c == C_ACCESS) { /* "read,write" -> [read, write] */
            const Val *v = &row->v[c];
            if (v->state != 's') {
                if (list_end(&col->l, 0) < 0)
                    return -1;
                continue;
            }
            Py_ssize_t start = 0;
            for (Py_ssize_t i = 0; i <= v->n; i++) {
                if (i < v->n && v->p[i] != ',')
                    continue;
                if (str_put(&col->l.items, v->p + start, i - start) < 0)
                    return -1;
                start = i + 1;
            }
            if (list_end(&col->l, 1) < 0)
                return -1;
            continue;
        }
        if (c == C_FILE) {
            Py_ssize_t n;
            const char *s = PyUnicode_AsUTF8AndSize(file, &n);
            if (s == NULL)
                return -1;
            if (str_put(&col->s, s, n) < 0)
                return -1;
            continue;
        }
        if (put_val(col, &row->v[c]) < 0)
            return -1;
    }
    P->rows++;
    return 0;
}

/* -- events out of the assembler ----------------------------------------------------------- */

static void ev_free(Ev *ev)
{
    Rec *r = ev->first;
    while (r) {
        Rec *n = r->next;
        rec_free(r);
        r = n;
    }
    PyMem_Free(ev);
}

/* Whether an event is one this file makes the row of: every record lexed here, a SYSCALL
 * event (its first record), and no record of a type that changes what the normaliser or the
 * row's AVC columns do (R_HANDLED says, for the types not common enough to test here). */
static int handled(Parser *P, E *e)
{
    if (e->nall == 0 || !rec_is(e->all[0], "SYSCALL"))
        return 0;
    for (int i = 0; i < e->nall; i++) {
        Rec *r = e->all[i];
        if (r->pyrec != NULL || r->big != NULL)
            return 0;
        if (rec_find(r, "apparmor", 8) >= 0)
            return 0;
        if (i == 0 || skipped(r) || rec_is(r, "CWD") || rec_is(r, "BPRM_FCAPS"))
            continue;
        PyObject *ok = ask(P, R_HANDLED, (Part[]){{r->text + r->type_off, r->type_len}}, 1);
        if (ok == NULL)
            return -1;
        if (ok != Py_True)
            return 0;
    }
    return 1;
}

static PyObject *declined_records(Parser *P, Ev *ev)
{
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (Rec *r = ev->first; r; r = r->next) {
        PyObject *item;
        if (r->pyrec != NULL) {
            item = r->pyrec;
            Py_INCREF(item);
        } else {
            item = Py_BuildValue("(y#iL)", r->text, r->len, (int)r->file, (long long)r->number);
        }
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    return list;
}

/* The event goes to Python: declined (Python makes its row) or, tail=1, an event still open at
 * the end of a tracked read (the parallel reader carries it into the next piece). */
static int decline(Parser *P, Ev *ev, int tail)
{
    PyObject *recs = declined_records(P, ev);
    if (recs == NULL)
        return -1;
    PyObject *entry = Py_BuildValue("(nNi)", P->rows, recs, tail);
    if (entry == NULL)
        return -1;
    int rc = PyList_Append(P->declined, entry);
    Py_DECREF(entry);
    return rc;
}

static int load_k(Parser *P, K *k);
static int parser_full(Parser *P);

/* One complete event: its row here, or declined to Python. 0, or -1 with an exception. */
static int emit(Parser *P, Ev *ev, PyObject *files)
{
    E *ep = P->e;
    if (P->memo.used > MEMO_LIMIT)
        memo_clear(&P->memo);
    if (PyList_GET_SIZE(P->keep) && PyList_SetSlice(P->keep, 0, PY_SSIZE_T_MAX, NULL) < 0)
        return -1;
#define e (*ep)
    e.P = P;
    e.n = e.nall = 0;
    for (Rec *r = ev->first; r; r = r->next) {
        e.all[e.nall++] = r;
        if (!rec_is(r, "EOE"))
            e.recs[e.n++] = r;
    }
    int ok = handled(P, &e);
    if (ok < 0)
        return -1;
    if (!ok)
        return decline(P, ev, 0);
    Rec *sc = e.all[0];
    e.node = sc->node_len >= 0 ? (Part){sc->text + sc->node_off, sc->node_len} : (Part){NULL, -1};
    Part a = get(sc, "arch");
    e.arch = a.n > 0 ? a : (Part){NULL, -1};
    e.earch = eget_s(sc, "arch");
    e.cwd = (Part){NULL, -1};
    for (int i = 0; i < e.n; i++)
        if (rec_is(e.recs[i], "CWD")) {
            e.cwd = get(e.recs[i], "cwd");
            break;
        }
    int64_t *spans = NULL;
    int rc = make_row(&e, P->row, P->k, &spans);
    if (rc == FAIL) { /* render raised: Python's row will say why, as it does on its path */
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            PyMem_Free(spans);
            return -1;
        }
        PyErr_Clear();
        rc = DECLINE;
    }
    if (rc == DECLINE) {
        PyMem_Free(spans);
        return decline(P, ev, 0);
    }
    PyObject *file = PyList_GetItem(files, sc->file);
    if (file == NULL || !PyUnicode_Check(file)) {
        PyMem_Free(spans);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "files must be a list of str");
        return -1;
    }
    rc = append_row(P, &e, P->row, spans, file);
    PyMem_Free(spans);
    return rc;
#undef e
}

/* -- the assembler (assemble.Assembler) ---------------------------------------------------- */

static uint64_t key_hash(const Rec *r)
{
    if (r->big != NULL) {
        Py_hash_t h = PyObject_Hash(r->big);
        return (uint64_t)h;
    }
    uint64_t h = fnv(r->node_len >= 0 ? r->text + r->node_off : "\xff", r->node_len >= 0 ? r->node_len : 1);
    h ^= (uint64_t)r->serial * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t)r->sec * 0xC2B2AE3D27D4EB4FULL;
    h ^= (uint64_t)r->msec * 0x165667B19E3779F9ULL;
    return h;
}

/* same (node, serial, sec, msec); -1 on error */
static int same_key(const Rec *a, const Rec *b)
{
    if ((a->big != NULL) != (b->big != NULL))
        return 0;
    if (a->big != NULL)
        return PyObject_RichCompareBool(a->big, b->big, Py_EQ);
    if (a->serial != b->serial || a->sec != b->sec || a->msec != b->msec)
        return 0;
    if (a->node_len != b->node_len)
        return 0;
    return a->node_len < 0 || memcmp(a->text + a->node_off, b->text + b->node_off, (size_t)a->node_len) == 0;
}

static int open_grow(Parser *P)
{
    Py_ssize_t n = P->open_slots ? P->open_slots * 2 : 1024;
    Ev **t = PyMem_Calloc((size_t)n, sizeof(Ev *));
    if (t == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < P->open_slots; i++) {
        Ev *ev = P->open[i];
        while (ev) {
            Ev *next = ev->onext;
            uint64_t h = key_hash(ev->first);
            Py_ssize_t b = (Py_ssize_t)(h & (uint64_t)(n - 1));
            ev->onext = t[b];
            t[b] = ev;
            ev = next;
        }
    }
    PyMem_Free(P->open);
    P->open = t;
    P->open_slots = n;
    return 0;
}

static Ev *open_find(Parser *P, const Rec *r, int *err)
{
    *err = 0;
    if (P->open_slots == 0)
        return NULL;
    uint64_t h = key_hash(r);
    if (PyErr_Occurred()) {
        *err = 1;
        return NULL;
    }
    for (Ev *ev = P->open[h & (uint64_t)(P->open_slots - 1)]; ev; ev = ev->onext) {
        int same = same_key(ev->first, r);
        if (same < 0) {
            *err = 1;
            return NULL;
        }
        if (same)
            return ev;
    }
    return NULL;
}

static int open_add(Parser *P, Ev *ev)
{
    if (P->nopen + 1 > P->open_slots / 2 && open_grow(P) < 0)
        return -1;
    uint64_t h = key_hash(ev->first);
    Py_ssize_t b = (Py_ssize_t)(h & (uint64_t)(P->open_slots - 1));
    ev->onext = P->open[b];
    P->open[b] = ev;
    P->nopen++;
    return 0;
}

static void open_del(Parser *P, Ev *ev)
{
    uint64_t h = key_hash(ev->first);
    PyErr_Clear();
    Ev **pp = &P->open[h & (uint64_t)(P->open_slots - 1)];
    while (*pp) {
        if (*pp == ev) {
            *pp = ev->onext;
            P->nopen--;
            return;
        }
        pp = &(*pp)->onext;
    }
}

/* heap of open events by (sec, seq) */
static int sec_less(const HeapItem *a, const HeapItem *b)
{
    if (a->bigsec == NULL && b->bigsec == NULL) {
        if (a->sec != b->sec)
            return a->sec < b->sec;
    } else if (a->bigsec == NULL || b->bigsec == NULL) {
        return a->bigsec == NULL; /* an int64 second is below any bigger one */
    } else {
        int lt = PyObject_RichCompareBool(a->bigsec, b->bigsec, Py_LT);
        int gt = PyObject_RichCompareBool(b->bigsec, a->bigsec, Py_LT);
        PyErr_Clear();
        if (lt != gt)
            return lt == 1;
    }
    return a->seq < b->seq;
}

static void heap_up(HeapItem *h, Py_ssize_t i)
{
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (!sec_less(&h[i], &h[parent]))
            break;
        HeapItem t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

static void heap_down(HeapItem *h, Py_ssize_t n, Py_ssize_t i)
{
    for (;;) {
        Py_ssize_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && sec_less(&h[l], &h[m]))
            m = l;
        if (r < n && sec_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        HeapItem t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static PyObject *big_sec(const Rec *r)
{
    if (!r->sec_big)
        return NULL;
    PyObject *s = PyTuple_GET_ITEM(r->big, 2);
    Py_INCREF(s);
    return s;
}

static int heap_push(Parser *P, Ev *ev)
{
    if (grow(&P->heap, &P->heapcap, P->nheap, sizeof(HeapItem), 1024) < 0)
        return -1;
    const Rec *r = ev->first;
    P->heap[P->nheap] = (HeapItem){r->sec, big_sec(r), ++P->seq, ev};
    ev->in_heap = 1;
    heap_up(P->heap, P->nheap++);
    return 0;
}

/* an event leaves the heap; freed when it is also out of the queue */
static void heap_release(HeapItem *it)
{
    Py_XDECREF(it->bigsec);
    it->ev->in_heap = 0;
    if (it->ev->out)
        ev_free(it->ev);
}

static void heap_pop(Parser *P)
{
    HeapItem top = P->heap[0];
    P->heap[0] = P->heap[--P->nheap];
    heap_down(P->heap, P->nheap, 0);
    heap_release(&top);
}

static void close_ev(Parser *P, Ev *ev)
{
    if (!ev->done) {
        ev->done = 1;
        open_del(P, ev);
    } else
        ev->done = 1;
}

/* the head event's second is below now - timeout (an event the input's time moved past) */
static int expired(const HeapItem *it, const Rec *now)
{
    if (it->bigsec == NULL && !now->sec_big)
        return it->sec < now->sec - 2;
    if (!now->sec_big) /* the event's second is beyond int64, now is not */
        return 0;
    /* now is beyond int64: sec < now - 2 in Python's integers */
    PyObject *sec = it->bigsec;
    if (sec == NULL)
        sec = PyLong_FromLongLong(it->sec);
    else
        Py_INCREF(sec);
    PyObject *two = PyLong_FromLong(2);
    PyObject *limit = two ? PyNumber_Subtract(PyTuple_GET_ITEM(now->big, 2), two) : NULL;
    int lt = limit && sec ? PyObject_RichCompareBool(sec, limit, Py_LT) : 0;
    Py_XDECREF(two);
    Py_XDECREF(limit);
    Py_XDECREF(sec);
    PyErr_Clear();
    return lt == 1;
}

static int single(Parser *P, const Rec *r);

/* parallel._is_done for an event still queued at the end of a tracked read */
static int tail_done(Parser *P, Ev *ev)
{
    if (rec_is(ev->last, "EOE") || ev->nrec >= MAX_RECORDS)
        return 1;
    int one = single(P, ev->first);
    if (one != 0)
        return one;
    int64_t i = ev->first->seq + 1;
    if (i >= P->nrecs)
        return 0; /* no record after it */
    return ((int64_t *)P->after.p)[i] > ev->first->sec + 2;
}

static int out_event(Parser *P, Ev *ev, PyObject *files)
{
    int rc;
    if (P->flushed == 2) {
        int done = tail_done(P, ev);
        rc = done < 0 ? -1 : done ? emit(P, ev, files) : decline(P, ev, 1);
    } else
        rc = emit(P, ev, files);
    ev->out = 1;
    if (!ev->in_heap)
        ev_free(ev);
    return rc;
}

static Ev *queue_pop(Parser *P)
{
    Ev *ev = P->qhead;
    P->qhead = ev->qnext;
    if (P->qhead == NULL)
        P->qtail = NULL;
    P->nqueue--;
    return ev;
}

/* Whether the caller must take what the parser holds before more events go out: a declined
 * event (its row comes next, from Python), `limit` rows, or a column near full. */
static int stopped(Parser *P)
{
    return PyList_GET_SIZE(P->declined) > 0 || P->rows >= P->limit || parser_full(P);
}

/* The second half of Assembler._ready: events go out in order, as long as the caller takes
 * them; what is left waits for the next call (nothing else happens in between, so the
 * output is the same as without the pause). */
static int drain(Parser *P, PyObject *files)
{
    if (P->qhead && !P->qhead->done && P->nqueue <= MAX_PENDING) {
        if (P->nqueue > P->peak) /* Assembler.pending once a record's events are out */
            P->peak = P->nqueue;
        return 0;
    }
    while (P->qhead) {
        if (stopped(P))
            return 0;
        Ev *head = P->qhead;
        if (!head->done) {
            if (P->nqueue <= MAX_PENDING)
                break;
            close_ev(P, head);
        }
        queue_pop(P);
        if (out_event(P, head, files) < 0)
            return -1;
    }
    if (P->nheap > 2 * P->nopen + 64) { /* drop the entries of events closed by EOE */
        Py_ssize_t j = 0;
        for (Py_ssize_t i = 0; i < P->nheap; i++) {
            if (P->heap[i].ev->done)
                heap_release(&P->heap[i]);
            else
                P->heap[j++] = P->heap[i];
        }
        P->nheap = j;
        for (Py_ssize_t i = j / 2; i >= 0; i--)
            heap_down(P->heap, P->nheap, i);
    }
    if (P->nqueue > P->peak)
        P->peak = P->nqueue;
    return 0;
}

/* Assembler._ready(now): events the input's time moved past are closed, then drained. */
static int ready(Parser *P, const Rec *now, PyObject *files)
{
    while (P->nheap && expired(&P->heap[0], now)) {
        Ev *ev = P->heap[0].ev;
        if (!ev->done)
            close_ev(P, ev);
        heap_pop(P);
    }
    return drain(P, files);
}

/* is_single_record_type(type), asked of Python once per type */
static int single(Parser *P, const Rec *r)
{
    PyObject *v = ask(P, R_SINGLE, (Part[]){{r->text + r->type_off, r->type_len}}, 1);
    if (v == NULL)
        return -1;
    return PyObject_IsTrue(v);
}

/* A tracked read notes every record's second, and the (line, second) where it reaches a new
 * top (parallel.py's stair_lines and stair_max). */
static int track(Parser *P, Rec *r)
{
    if (r->big != NULL) {
        P->big_seen = 1; /* seconds beyond int64: the worker reads the piece in Python */
        return 0;
    }
    r->seq = P->nrecs++;
    if (put_i64(&P->secs, r->sec) < 0)
        return -1;
    if (P->nrecs == 1 || r->sec > P->top) {
        P->top = r->sec;
        if (put_i64(&P->stairs, r->number) < 0 || put_i64(&P->stairs, r->sec) < 0)
            return -1;
    }
    return 0;
}

static int assemble(Parser *P, Rec *r, PyObject *files)
{
    int err;
    if (P->track && track(P, r) < 0) {
        rec_free(r);
        return -1;
    }
    Ev *ev = open_find(P, r, &err);
    if (err) {
        rec_free(r);
        return -1;
    }
    if (ev != NULL) {
        ev->last->next = r;
        ev->last = r;
        ev->nrec++;
        if (rec_is(r, "EOE") || ev->nrec >= MAX_RECORDS)
            close_ev(P, ev);
    } else {
        int one = rec_is(r, "EOE") ? 1 : single(P, r);
        if (one < 0) {
            rec_free(r);
            return -1;
        }
        ev = PyMem_Calloc(1, sizeof(Ev));
        if (ev == NULL) {
            rec_free(r);
            PyErr_NoMemory();
            return -1;
        }
        ev->first = ev->last = r;
        ev->nrec = 1;
        ev->done = one;
        if (!one && (open_add(P, ev) < 0 || heap_push(P, ev) < 0)) {
            ev_free(ev);
            return -1;
        }
        if (P->qtail)
            P->qtail->qnext = ev;
        else
            P->qhead = ev;
        P->qtail = ev;
        P->nqueue++;
    }
    return ready(P, r, files);
}

/* -- the Parser type ----------------------------------------------------------------------- */

static PyObject *str_const(PyObject *ctx, const char *name)
{
    PyObject *v = PyDict_GetItemString(ctx, name);
    if (v == NULL)
        PyErr_Format(PyExc_KeyError, "auditlens auditd fast path: context has no %s", name);
    return v;
}

static int load_k(Parser *P, K *k)
{
    PyObject *c = P->ctx;
#define GET(field, name)                      \
    if ((k->field = str_const(c, name)) == NULL) \
        return -1;
    GET(kinds_privileged, "privileged");
    GET(kinds_unset, "unset");
    GET(kinds_system, "system");
    GET(kinds_user, "user");
    GET(kinds_other, "other");
    GET(interp, "interpreters");
    GET(plans, "plans");
    GET(unknown_plan, "unknown_plan");
    GET(unknown_kind, "unknown_kind");
    GET(triggered, "triggered");
    GET(triggered_unknown, "triggered_unknown");
    GET(made_char, "made_character_device");
    GET(made_block, "made_block_device");
    GET(make_device, "make_device");
    GET(file_kind, "file_kind");
    GET(kind_names, "mode_kinds");
    GET(killed_list, "killed_list");
    GET(killed_pid, "killed_pid");
    GET(allocated, "allocated");
    GET(allocated_in, "allocated_in");
    GET(empty, "empty");
    PyObject *n;
    GET(evkind, "event_kind");
    if ((n = str_const(c, "privileged_uid")) == NULL)
        return -1;
    k->privileged_uid = PyLong_AsLongLong(n);
    if ((n = str_const(c, "max_system_uid")) == NULL)
        return -1;
    k->max_system_uid = PyLong_AsLongLong(n);
    if ((n = str_const(c, "max_user_uid")) == NULL)
        return -1;
    k->max_user_uid = PyLong_AsLongLong(n);
#undef GET
    return PyErr_Occurred() ? -1 : 0;
}

static void cols_init(Parser *P)
{
    for (int c = 0; c < N_COLS; c++) {
        P->cols[c].kind = KINDS[c];
        P->cols[c].f.width = KINDS[c] == 'q' ? 8 : 4;
    }
    for (int f = 0; f < N_PATH; f++) {
        P->path[f].kind = PATH_KINDS[f];
        P->path[f].f.width = PATH_KINDS[f] == 'q' ? 8 : 4;
    }
}

static void col_clear(Col *c)
{
    str_clear(&c->s);
    fix_clear(&c->f);
    bool_clear(&c->b);
    list_clear(&c->l);
}

static void col_free(Col *c)
{
    str_free(&c->s);
    fix_free(&c->f);
    bool_free(&c->b);
    list_free(&c->l);
}

static void parser_clear_rows(Parser *P)
{
    P->rows = 0;
    for (int c = 0; c < N_COLS; c++)
        col_clear(&P->cols[c]);
    for (int f = 0; f < N_PATH; f++)
        col_clear(&P->path[f]);
    slist_clear(&P->paths);
    bits_clear(&P->path_valid);
}

static int parser_full(Parser *P)
{
    for (int c = 0; c < N_COLS; c++)
        if (P->cols[c].s.data.len > FULL_BYTES || P->cols[c].l.items.data.len > FULL_BYTES)
            return 1;
    for (int f = 0; f < N_PATH; f++)
        if (P->path[f].s.data.len > FULL_BYTES)
            return 1;
    return P->argbuf.len > FULL_BYTES;
}

static void parser_dealloc(Parser *P)
{
    while (P->qhead) {
        Ev *ev = queue_pop(P);
        ev->out = 1;
        if (!ev->in_heap)
            ev_free(ev);
    }
    for (Py_ssize_t i = 0; i < P->nheap; i++)
        heap_release(&P->heap[i]);
    PyMem_Free(P->heap);
    PyMem_Free(P->open);
    for (int c = 0; c < N_COLS; c++)
        col_free(&P->cols[c]);
    for (int f = 0; f < N_PATH; f++)
        col_free(&P->path[f]);
    slist_free(&P->paths);
    buf_free(&P->path_valid.bits);
    memo_clear(&P->memo);
    PyMem_Free(P->memo.slots);
    buf_free(&P->scratch);
    buf_free(&P->argbuf);
    buf_free(&P->secs);
    buf_free(&P->stairs);
    buf_free(&P->after);
    Py_XDECREF(P->declined);
    Py_XDECREF(P->keep);
    for (int c = 0; c < N_COLS; c++)
        Py_XDECREF(P->names[c]);
    for (int f = 0; f < N_PATH; f++)
        Py_XDECREF(P->path_names[f]);
    PyMem_Free(P->k);
    PyMem_Free(P->e);
    PyMem_Free(P->row);
    Py_XDECREF(P->render);
    Py_XDECREF(P->ctx);
    Py_TYPE(P)->tp_free((PyObject *)P);
}

static PyObject *parser_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *render, *ctx;
    int track = 0;
    if (!PyArg_ParseTuple(args, "OO!|p:Parser", &render, &PyDict_Type, &ctx, &track))
        return NULL;
    Parser *P = (Parser *)type->tp_alloc(type, 0); /* zeroed */
    if (P == NULL)
        return NULL;
    cols_init(P);
    P->track = track;
    Py_INCREF(render);
    P->render = render;
    Py_INCREF(ctx);
    P->ctx = ctx;
    P->declined = PyList_New(0);
    P->keep = PyList_New(0);
    P->k = PyMem_Calloc(1, sizeof(K));
    P->e = PyMem_Calloc(1, sizeof(E));
    P->row = PyMem_Calloc(1, sizeof(Row));
    if (P->k == NULL || P->e == NULL || P->row == NULL) {
        Py_DECREF(P);
        return PyErr_NoMemory();
    }
    if (P->declined == NULL || P->keep == NULL || load_k(P, P->k) < 0) {
        Py_DECREF(P);
        return NULL;
    }
    P->limit = PY_SSIZE_T_MAX;
    PyObject *cols = PyDict_GetItemString(ctx, "columns");
    PyObject *pcols = PyDict_GetItemString(ctx, "path_fields");
    if (cols == NULL || pcols == NULL || !PyTuple_Check(cols) || !PyTuple_Check(pcols) ||
        PyTuple_GET_SIZE(cols) != N_COLS || PyTuple_GET_SIZE(pcols) != N_PATH) {
        PyErr_SetString(PyExc_ValueError, "ctx: columns and path_fields do not match this build");
        Py_DECREF(P);
        return NULL;
    }
    for (int c = 0; c < N_COLS; c++) {
        P->names[c] = PyTuple_GET_ITEM(cols, c);
        Py_INCREF(P->names[c]);
    }
    for (int f = 0; f < N_PATH; f++) {
        P->path_names[f] = PyTuple_GET_ITEM(pcols, f);
        Py_INCREF(P->path_names[f]);
    }
    return (PyObject *)P;
}

#define YIELD_LINES 1024 /* lines between two checkpoints in add_block (~4 ms; a power of 2) */
/* `lambda: None`: releasing and taking the GIL again in C does not let a waiting thread in (the
 * taking counts as a switch, so the waiter never asks the holder to drop it); the interpreter's
 * own check at the start of a Python function does (CPython's ceval_gil.c, FORCE_SWITCHING) */
static PyObject *checkpoint;

/* add_block(block, pos, end, first_line, file, files, limit) -> (pos, lines): the lines of
 * block[pos:end] (whole lines; the last one may lack its newline); records keep the block alive.
 * The bounds spare the caller a copy of the lines it reads into the block. Returns where it
 * stopped and how many lines it took (the line there is for Python when nothing is held). */
static PyObject *parser_add_block(Parser *P, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyBytes_Check(args[0]) || !PyList_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "add_block(block: bytes, pos: int, end: int, first_line: int, file: int, "
                        "files: list, limit: int)");
        return NULL;
    }
    PyObject *block = args[0];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t size = PyLong_AsSsize_t(args[2]);
    long long first = PyLong_AsLongLong(args[3]);
    long file = PyLong_AsLong(args[4]);
    P->limit = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred())
        return NULL;
    const char *base = PyBytes_AS_STRING(block);
    if (pos < 0 || size < pos || size > PyBytes_GET_SIZE(block)) {
        PyErr_SetString(PyExc_ValueError, "pos and end must be within the block, pos <= end");
        return NULL;
    }
    long long lines = 0;
    for (;;) {
        if (drain(P, args[5]) < 0)
            return NULL;
        if (pos >= size || stopped(P))
            break;
        const char *s = base + pos;
        const char *nl = memchr(s, '\n', (size_t)(size - pos));
        Py_ssize_t n = nl ? (Py_ssize_t)(nl - s) + 1 : size - pos;
        Rec *r = NULL;
        int rc = lex(block, s, n, (int32_t)file, first + lines, &r);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            break;
        if (assemble(P, r, args[5]) < 0)
            return NULL;
        pos += n;
        lines++;
        if ((lines & (YIELD_LINES - 1)) == 0) {
            /* one call can take a whole piece (seconds): run a line of Python now and then, where
             * the interpreter hands the GIL to a thread that asked for it (the process pool's
             * threads that feed the parallel reader's workers) and runs signal handlers (Ctrl-C) */
            PyObject *none = PyObject_CallNoArgs(checkpoint);
            if (none == NULL)
                return NULL;
            Py_DECREF(none);
        }
    }
    return Py_BuildValue("(nL)", pos, lines);
}

/* inject(record, node, type, sec, msec, serial, file_index, line, files): a record Python lexed */
static PyObject *parser_inject(Parser *P, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 10 || !PyList_Check(args[8])) {
        PyErr_SetString(PyExc_TypeError,
                        "inject(record, node, type, sec, msec, serial, file, line, files, limit)");
        return NULL;
    }
    P->limit = PyLong_AsSsize_t(args[9]);
    if (PyErr_Occurred())
        return NULL;
    if (drain(P, args[8]) < 0)
        return NULL;
    if (stopped(P)) {
        PyErr_SetString(PyExc_RuntimeError, "inject() while the parser holds events to take");
        return NULL;
    }
    PyObject *node = args[1], *type = args[2];
    if ((node != Py_None && !PyUnicode_Check(node)) || !PyUnicode_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "node must be str or None, type str");
        return NULL;
    }
    /* the record's text: node and type, for the key and the type tests */
    PyObject *text = PyUnicode_FromFormat("%U %U", node == Py_None ? type : node, type);
    if (text == NULL)
        return NULL;
    PyObject *bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    Py_DECREF(text);
    if (bytes == NULL)
        return NULL;
    Rec *r = PyMem_Calloc(1, sizeof(Rec));
    if (r == NULL) {
        Py_DECREF(bytes);
        return PyErr_NoMemory();
    }
    r->line = bytes;
    r->text = PyBytes_AS_STRING(bytes);
    r->len = PyBytes_GET_SIZE(bytes);
    Py_ssize_t tlen = PyBytes_GET_SIZE(bytes);
    PyObject *tb = PyUnicode_AsEncodedString(type, "utf-8", "surrogatepass");
    if (tb == NULL) {
        rec_free(r);
        return NULL;
    }
    r->type_len = (int32_t)PyBytes_GET_SIZE(tb);
    Py_DECREF(tb);
    r->type_off = (int32_t)(tlen - r->type_len);
    r->node_off = 0;
    r->node_len = node == Py_None ? -1 : r->type_off - 1;
    int overflow = 0;
    r->sec = PyLong_AsLongLongAndOverflow(args[3], &overflow);
    int o2 = 0, o3 = 0;
    r->msec = PyLong_AsLongLongAndOverflow(args[4], &o2);
    r->serial = PyLong_AsLongLongAndOverflow(args[5], &o3);
    if (PyErr_Occurred()) {
        rec_free(r);
        return NULL;
    }
    if (overflow || o2 || o3) {
        r->sec_big = overflow != 0;
        r->big = PyTuple_Pack(4, node, args[5], args[3], args[4]);
        if (r->big == NULL) {
            rec_free(r);
            return NULL;
        }
    }
    r->file = (int32_t)PyLong_AsLong(args[6]);
    r->number = PyLong_AsLongLong(args[7]);
    Py_INCREF(args[0]);
    r->pyrec = args[0];
    if (PyErr_Occurred()) {
        rec_free(r);
        return NULL;
    }
    if (assemble(P, r, args[8]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* flush(files, limit) -> events still held: the end of the input closes every open event
 * (Assembler.flush); call again while it says some are held (the caller takes rows between). */
static PyObject *parser_flush(Parser *P, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "flush(files: list, limit: int, tails: bool)");
        return NULL;
    }
    P->limit = PyLong_AsSsize_t(args[1]);
    int tails = PyObject_IsTrue(args[2]);
    if (PyErr_Occurred() || tails < 0)
        return NULL;
    if (tails && !P->track) {
        PyErr_SetString(PyExc_ValueError, "flush(tails=True) needs a tracked parser");
        return NULL;
    }
    if (!P->flushed) {
        for (Ev *ev = P->qhead; ev; ev = ev->qnext)
            close_ev(P, ev);
        P->flushed = tails ? 2 : 1;
        if (tails) { /* the highest second after each record */
            P->after.len = 0;
            if (buf_reserve(&P->after, (Py_ssize_t)(P->nrecs * 8)) < 0)
                return NULL;
            const int64_t *sec = (const int64_t *)P->secs.p;
            int64_t *after = (int64_t *)P->after.p;
            for (int64_t i = P->nrecs - 1; i >= 0; i--)
                after[i] = (i == P->nrecs - 1 || sec[i] > after[i + 1]) ? sec[i] : after[i + 1];
            P->after.len = (Py_ssize_t)(P->nrecs * 8);
        }
    }
    if (drain(P, args[0]) < 0)
        return NULL;
    if (P->qhead == NULL) {
        for (Py_ssize_t i = 0; i < P->nheap; i++)
            heap_release(&P->heap[i]);
        P->nheap = 0;
    }
    return PyLong_FromSsize_t(P->nqueue);
}

/* -- rows made by Python ------------------------------------------------------------------- */

/* Whether a Python value can be stored in a column of this kind as pa.array stores it. */
static int fits(char kind, PyObject *v)
{
    if (v == Py_None)
        return 1;
    switch (kind) {
    case 's':
        if (!PyUnicode_Check(v))
            return 0;
        if (PyUnicode_AsUTF8AndSize(v, NULL) == NULL) {
            PyErr_Clear();
            return 0;
        }
        return 1;
    case 'q':
    case 'i': {
        if (!PyLong_Check(v) || PyBool_Check(v))
            return 0;
        int over = 0;
        long long x = PyLong_AsLongLongAndOverflow(v, &over);
        if (x == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        return !over && (kind == 'q' || (x >= INT32_MIN && x <= INT32_MAX));
    }
    case 'b':
        return PyBool_Check(v);
    case 'L': {
        if (!PyList_Check(v))
            return 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++)
            if (!fits('s', PyList_GET_ITEM(v, i)))
                return 0;
        return 1;
    }
    }
    return 0;
}

static int put_py(Col *c, PyObject *v)
{
    if (v == Py_None) {
        switch (c->kind) {
        case 's':
            return str_end(&c->s, 0);
        case 'q':
        case 'i':
            return fix_null(&c->f);
        case 'b':
            return bool_null(&c->b);
        case 'L':
            return list_end(&c->l, 0);
        }
        return 0;
    }
    switch (c->kind) {
    case 's': {
        Py_ssize_t n;
        const char *t = PyUnicode_AsUTF8AndSize(v, &n);
        return t == NULL ? -1 : str_put(&c->s, t, n);
    }
    case 'q':
        return fix_i64(&c->f, PyLong_AsLongLong(v));
    case 'i':
        return fix_i32(&c->f, (int32_t)PyLong_AsLong(v));
    case 'b':
        return bool_put(&c->b, v == Py_True);
    case 'L':
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
            PyObject *item = PyList_GET_ITEM(v, i);
            Py_ssize_t n;
            const char *t = item == Py_None ? NULL : PyUnicode_AsUTF8AndSize(item, &n);
            if (item != Py_None && t == NULL)
                return -1;
            if ((t == NULL ? str_end(&c->l.items, 0) : str_put(&c->l.items, t, n)) < 0)
                return -1;
        }
        return list_end(&c->l, 1);
    }
    return 0;
}

static PyObject *item_of(PyObject *dict, PyObject *name)
{
    PyObject *v = PyDict_GetItemWithError(dict, name);
    return v != NULL ? v : (PyErr_Occurred() ? NULL : Py_None);
}

/* the paths value: a list of dicts with the PATH_ITEM fields (a missing key is null) */
static int paths_fit(Parser *P, PyObject *v)
{
    if (v == Py_None)
        return 1;
    if (!PyList_Check(v))
        return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
        PyObject *d = PyList_GET_ITEM(v, i);
        if (!PyDict_Check(d))
            return 0;
        for (int f = 0; f < N_PATH; f++) {
            PyObject *x = item_of(d, P->path_names[f]);
            if (x == NULL) {
                PyErr_Clear();
                return 0;
            }
            if (!fits(P->path[f].kind, x))
                return 0;
        }
    }
    return 1;
}

static int put_paths(Parser *P, PyObject *v)
{
    if (v == Py_None)
        return slist_end(&P->paths, 0);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(v); i++) {
        PyObject *d = PyList_GET_ITEM(v, i);
        for (int f = 0; f < N_PATH; f++) {
            PyObject *x = item_of(d, P->path_names[f]);
            if (x == NULL || put_py(&P->path[f], x) < 0)
                return -1;
        }
        if (bits_put(&P->path_valid, 1) < 0)
            return -1;
        P->paths.items++;
    }
    return slist_end(&P->paths, 1);
}

/* put_row(row): a row of the Python path (a dict by column name, a missing key null) appended
 * in order; a value that does not fit its column is stored as null and counted, as
 * build.safe_array does for the Python path's batches. */
static PyObject *parser_put_row(Parser *P, PyObject *row)
{
    if (!PyDict_Check(row)) {
        PyErr_SetString(PyExc_TypeError, "put_row(row: dict)");
        return NULL;
    }
    PyObject *values[N_COLS];
    for (int c = 0; c < N_COLS; c++) {
        PyObject *v = item_of(row, P->names[c]);
        if (v == NULL)
            return NULL;
        int ok = P->cols[c].kind == 'P' ? paths_fit(P, v) : fits(P->cols[c].kind, v);
        if (!ok) {
            P->coerced++;
            v = Py_None;
        }
        values[c] = v;
    }
    for (int c = 0; c < N_COLS; c++) {
        int rc = P->cols[c].kind == 'P' ? put_paths(P, values[c]) : put_py(&P->cols[c], values[c]);
        if (rc < 0)
            return NULL;
    }
    P->rows++;
    Py_RETURN_NONE;
}

static PyObject *parser_tracked(Parser *P, PyObject *unused)
{
    Py_ssize_t n = P->stairs.len / 16;
    PyObject *lines = PyList_New(n), *secs = PyList_New(n);
    if (lines == NULL || secs == NULL) {
        Py_XDECREF(lines);
        Py_XDECREF(secs);
        return NULL;
    }
    const int64_t *st = (const int64_t *)P->stairs.p;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyList_SET_ITEM(lines, i, PyLong_FromLongLong(st[2 * i]));
        PyList_SET_ITEM(secs, i, PyLong_FromLongLong(st[2 * i + 1]));
    }
    return Py_BuildValue("(nNNO)", P->peak, lines, secs, P->big_seen ? Py_True : Py_False);
}

static PyObject *parser_take_declined(Parser *P, PyObject *unused)
{
    PyObject *out = P->declined;
    P->declined = PyList_New(0);
    if (P->declined == NULL) {
        P->declined = out;
        return NULL;
    }
    return out;
}

/* finish() -> the columns of the rows made (entries for auditlens.fastpath.array_of) */
static PyObject *parser_columns(Parser *P)
{
    PyObject *cols = PyList_New(0);
    if (cols == NULL)
        return NULL;
    for (int c = 0; c < N_COLS; c++) {
        Col *col = &P->cols[c];
        PyObject *entry = NULL;
        switch (col->kind) {
        case 's':
            entry = str_entry(&col->s);
            break;
        case 'q':
            entry = fix_entry(&col->f, "q");
            break;
        case 'i':
            entry = fix_entry(&col->f, "i");
            break;
        case 'b':
            entry = bool_entry(&col->b);
            break;
        case 'L':
            entry = list_entry(&col->l);
            break;
        case 'P': {
            PyObject *children = PyList_New(0);
            for (int f = 0; children && f < N_PATH; f++) {
                Col *pc = &P->path[f];
                PyObject *ce = pc->kind == 's' ? str_entry(&pc->s) : fix_entry(&pc->f, pc->kind == 'q' ? "q" : "i");
                if (ce == NULL || PyList_Append(children, ce) < 0) {
                    Py_XDECREF(ce);
                    Py_CLEAR(children);
                    break;
                }
                Py_DECREF(ce);
            }
            PyObject *item = children ? struct_entry(&P->path_valid, children) : NULL;
            Py_XDECREF(children);
            entry = item ? slist_entry(&P->paths, item) : NULL;
            Py_XDECREF(item);
            break;
        }
        }
        if (entry == NULL || PyList_Append(cols, entry) < 0) {
            Py_XDECREF(entry);
            Py_DECREF(cols);
            return NULL;
        }
        Py_DECREF(entry);
    }
    parser_clear_rows(P);
    return cols;
}

COL_FINISH_WITH_ARENA(parser_finish, Parser, parser_columns)

static PyObject *parser_rows(Parser *P, void *closure)
{
    return PyLong_FromSsize_t(P->rows);
}

static PyObject *parser_pending(Parser *P, void *closure)
{
    return PyLong_FromSsize_t(P->nqueue);
}

static PyObject *parser_coerced(Parser *P, void *closure)
{
    return PyLong_FromSsize_t(P->coerced);
}

static PyObject *parser_has_declined(Parser *P, void *closure)
{
    return PyBool_FromLong(PyList_GET_SIZE(P->declined) > 0);
}

static PyObject *parser_full_py(Parser *P, void *closure)
{
    return PyBool_FromLong(parser_full(P));
}

static PyMethodDef parser_methods[] = {
    {"add_block", (PyCFunction)(void (*)(void))parser_add_block, METH_FASTCALL,
     "add_block(block, pos, end, first_line, file, files, limit) -> (pos, lines taken): stops at a "
     "line for Python (lex it, then inject() or reject it) or when rows + declined reach limit."},
    {"inject", (PyCFunction)(void (*)(void))parser_inject, METH_FASTCALL,
     "inject(record, node, type, sec, msec, serial, file, line, files): a record Python lexed."},
    {"flush", (PyCFunction)(void (*)(void))parser_flush, METH_FASTCALL,
     "flush(files, limit, tails) -> events still held (call again after taking rows): end of "
     "input; with tails (a tracked parser), events not complete go to take_declined() as tails."},
    {"tracked", (PyCFunction)parser_tracked, METH_NOARGS,
     "tracked() -> (peak pending, stair lines, stair seconds, big numbers seen)."},
    {"put_row", (PyCFunction)parser_put_row, METH_O,
     "put_row(row): a row Python made (a declined event's), appended as pa.array would store it."},
    {"take_declined", (PyCFunction)parser_take_declined, METH_NOARGS,
     "take_declined() -> [(rows before it, [Record | (raw, file, line)])] for Python's rows."},
    {"finish", (PyCFunction)parser_finish, METH_VARARGS,
     "finish(arena=None) -> the columns of the rows made; the parser keeps its open events."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef parser_getset[] = {
    {"rows", (getter)parser_rows, NULL, "rows made since the last finish()", NULL},
    {"pending", (getter)parser_pending, NULL, "events held back by the assembler", NULL},
    {"coerced", (getter)parser_coerced, NULL, "put_row() values stored as null", NULL},
    {"has_declined", (getter)parser_has_declined, NULL, "an event waits for take_declined()", NULL},
    {"full", (getter)parser_full_py, NULL, "a column is near what int32 offsets address", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ParserType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auditlens.auditd._fastaudit.Parser",
    .tp_basicsize = sizeof(Parser),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Parser(render, ctx): auditd lines -> AUDITD_EVENTS columns (see auditlens.auditd.native).",
    .tp_new = parser_new,
    .tp_dealloc = (destructor)parser_dealloc,
    .tp_methods = parser_methods,
    .tp_getset = parser_getset,
};

/* -- the records reader: one AUDITD_RECORDS row per line ------------------------------------ */

/* Column order of AUDITD_RECORDS (auditlens.schema.auditd). */
enum { RC_NODE, RC_SERIAL, RC_TIME, RC_TYPE, RC_FIELDS, RC_ENRICHED, RC_FILE, RC_LINE, N_RCOLS };

/* Rows of the records table made from lines lexed by lex() (stream.record_rows of the Python
 * path: the same values, literal strings unquoted) or handed over by Python (put_row). */
typedef struct {
    PyObject_HEAD
    StrCol node, type, file;
    FixCol serial, time, line;
    MapCol fields, enriched;
    Py_ssize_t rows, coerced;
    PyObject *prefixes; /* a tuple of str: the record types kept (read_record_types), or NULL */
} Records;

/* The fields of a record into a map column, the double quotes of literal strings removed
 * (stream._unquoted); or null when there are none and `empty_null`. */
static int put_fields(MapCol *c, const char *text, const Field *fs, int n, int empty_null)
{
    if (n == 0 && empty_null)
        return map_end(c, 0);
    for (int i = 0; i < n; i++) {
        const char *v = text + fs[i].v;
        Py_ssize_t vn = fs[i].vn;
        if (vn > 1 && v[0] == '"' && v[vn - 1] == '"') {
            v++;
            vn -= 2;
        }
        if (str_put(&c->keys, text + fs[i].k, fs[i].kn) < 0 || str_put(&c->strings, v, vn) < 0)
            return -1;
    }
    return map_end(c, 1);
}

static int records_keeps(Records *R, const Rec *r)
{
    if (R->prefixes == NULL)
        return 1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(R->prefixes); i++) {
        Py_ssize_t n;
        const char *p = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(R->prefixes, i), &n);
        if (p == NULL)
            return -1;
        if (n <= r->type_len && memcmp(r->text + r->type_off, p, (size_t)n) == 0)
            return 1;
    }
    return 0;
}

/* The row of a record lexed here; 0, or -1 with MemoryError. */
static int records_put_rec(Records *R, const Rec *r, int64_t time, const char *file,
                           Py_ssize_t file_len)
{
    const char *s = r->text;
    if ((r->node_len < 0 ? str_end(&R->node, 0) : str_put(&R->node, s + r->node_off, r->node_len)) < 0 ||
        fix_i64(&R->serial, r->serial) < 0 || fix_i64(&R->time, time) < 0 ||
        str_put(&R->type, s + r->type_off, r->type_len) < 0 ||
        put_fields(&R->fields, s, r->fields, r->nfields, 0) < 0 ||
        put_fields(&R->enriched, s, r->efields, r->nefields, 1) < 0 ||
        str_put(&R->file, file, file_len) < 0 || fix_i64(&R->line, r->number) < 0)
        return -1;
    R->rows++;
    return 0;
}

/* Whether a column is near what int32 offsets address (the caller takes a batch first). */
static int records_full(const Records *R)
{
    const StrCol *cols[] = {&R->node, &R->type, &R->file, &R->fields.keys, &R->fields.strings,
                            &R->enriched.keys, &R->enriched.strings};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        if (cols[i]->data.len > FULL_BYTES)
            return 1;
    return 0;
}

/* add_block(block, pos, end, first_line, file, limit) -> (pos, lines): the rows of the lines of
 * block[pos:end] (whole lines, the last may lack its newline) numbered from first_line, in
 * input `file` (its name). Stops at a line for Python (lexed there, then put_row() or rejected),
 * or once `limit` rows are held or a column is full; returns where it stopped and the lines
 * it took (a line whose record type is not kept is taken without a row). */
static PyObject *records_add_block(Records *R, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyBytes_Check(args[0]) || !PyUnicode_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "add_block(block: bytes, pos: int, end: int, "
                                         "first_line: int, file: str, limit: int)");
        return NULL;
    }
    PyObject *block = args[0];
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t size = PyLong_AsSsize_t(args[2]);
    long long first = PyLong_AsLongLong(args[3]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[5]);
    if (PyErr_Occurred())
        return NULL;
    if (pos < 0 || size < pos || size > PyBytes_GET_SIZE(block)) {
        PyErr_SetString(PyExc_ValueError, "pos and end must be within the block, pos <= end");
        return NULL;
    }
    Py_ssize_t file_len;
    const char *file = PyUnicode_AsUTF8AndSize(args[4], &file_len);
    if (file == NULL) { /* a name pa.array cannot store (surrogates): every line is Python's */
        PyErr_Clear();
        return Py_BuildValue("(nL)", pos, 0LL);
    }
    const char *base = PyBytes_AS_STRING(block);
    long long lines = 0;
    while (pos < size && R->rows < limit && !records_full(R)) {
        const char *s = base + pos;
        const char *nl = memchr(s, '\n', (size_t)(size - pos));
        Py_ssize_t n = nl ? (Py_ssize_t)(nl - s) + 1 : size - pos;
        Rec *r = NULL;
        int rc = lex(block, s, n, 0, first + lines, &r);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            break;
        int64_t time, ms;
        int keep = records_keeps(R, r);
        if (__builtin_mul_overflow(r->sec, (int64_t)1000000, &time) ||
            __builtin_mul_overflow(r->msec, (int64_t)1000, &ms) ||
            __builtin_add_overflow(time, ms, &time)) {
            rec_free(r); /* a time past int64: Python's (the value is nulled and counted) */
            break;
        }
        rc = keep < 0 ? -1 : keep ? records_put_rec(R, r, time, file, file_len) : 0;
        rec_free(r);
        if (rc < 0)
            return NULL;
        pos += n;
        lines++;
        if ((lines & (YIELD_LINES - 1)) == 0) { /* as in parser_add_block */
            PyObject *none = PyObject_CallNoArgs(checkpoint);
            if (none == NULL)
                return NULL;
            Py_DECREF(none);
        }
    }
    return Py_BuildValue("(nL)", pos, lines);
}

/* A str value of a Python row, as pa.array stores it: NULL for None; *bad when it cannot be
 * stored (not a str, or not encodable as UTF-8). */
static const char *py_text(PyObject *v, Py_ssize_t *n, int *bad)
{
    if (v == Py_None)
        return NULL;
    const char *t = PyUnicode_Check(v) ? PyUnicode_AsUTF8AndSize(v, n) : NULL;
    if (t == NULL) {
        PyErr_Clear();
        *bad = 1;
    }
    return t;
}

static int put_py_text(Records *R, StrCol *c, PyObject *v)
{
    Py_ssize_t n = 0;
    int bad = 0;
    const char *t = py_text(v, &n, &bad);
    R->coerced += bad;
    return t == NULL ? str_end(c, 0) : str_put(c, t, n);
}

static int put_py_int(Records *R, FixCol *c, PyObject *v)
{
    int overflow = 0;
    long long x = v != Py_None && PyLong_Check(v) ? PyLong_AsLongLongAndOverflow(v, &overflow) : 0;
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (v == Py_None || !PyLong_Check(v) || overflow) {
        R->coerced += v != Py_None;
        return fix_null(c);
    }
    return fix_i64(c, x);
}

/* a list of (str, str) pairs, or None */
static int put_py_map(Records *R, MapCol *c, PyObject *v)
{
    if (v == Py_None)
        return map_end(c, 0);
    int bad = !PyList_Check(v);
    Py_ssize_t len = bad ? 0 : PyList_GET_SIZE(v);
    for (Py_ssize_t i = 0; i < len && !bad; i++) { /* all or nothing: a bad pair nulls the map */
        PyObject *kv = PyList_GET_ITEM(v, i);
        Py_ssize_t n;
        if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2 ||
            py_text(PyTuple_GET_ITEM(kv, 0), &n, &bad) == NULL ||
            py_text(PyTuple_GET_ITEM(kv, 1), &n, &bad) == NULL)
            bad = 1;
    }
    if (bad) {
        R->coerced++;
        return map_end(c, 0);
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *kv = PyList_GET_ITEM(v, i);
        Py_ssize_t kn, vn;
        const char *k = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(kv, 0), &kn);
        const char *t = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(kv, 1), &vn);
        if (str_put(&c->keys, k, kn) < 0 || str_put(&c->strings, t, vn) < 0)
            return -1;
    }
    return map_end(c, 1);
}

/* put_row(row): a row of stream.record_rows (a record Python lexed), appended in its place */
static PyObject *records_put_row(Records *R, PyObject *row)
{
    static const char *const names[N_RCOLS] = {"node", "serial", "time", "record_type",
                                               "fields", "enriched", "file", "line"};
    if (!PyDict_Check(row)) {
        PyErr_SetString(PyExc_TypeError, "put_row(row: dict)");
        return NULL;
    }
    PyObject *v[N_RCOLS];
    for (int c = 0; c < N_RCOLS; c++) {
        v[c] = PyDict_GetItemString(row, names[c]);
        if (v[c] == NULL)
            v[c] = Py_None;
    }
    if (put_py_text(R, &R->node, v[RC_NODE]) < 0 || put_py_int(R, &R->serial, v[RC_SERIAL]) < 0 ||
        put_py_int(R, &R->time, v[RC_TIME]) < 0 || put_py_text(R, &R->type, v[RC_TYPE]) < 0 ||
        put_py_map(R, &R->fields, v[RC_FIELDS]) < 0 ||
        put_py_map(R, &R->enriched, v[RC_ENRICHED]) < 0 ||
        put_py_text(R, &R->file, v[RC_FILE]) < 0 || put_py_int(R, &R->line, v[RC_LINE]) < 0)
        return NULL;
    R->rows++;
    Py_RETURN_NONE;
}

static void records_clear_rows(Records *R)
{
    R->rows = 0;
    str_clear(&R->node);
    str_clear(&R->type);
    str_clear(&R->file);
    fix_clear(&R->serial);
    fix_clear(&R->time);
    fix_clear(&R->line);
    map_clear(&R->fields);
    map_clear(&R->enriched);
}

/* Append a column entry (NULL: its error stands) to cols; 0, or -1 with an exception. */
static int append_entry(PyObject *cols, PyObject *entry)
{
    if (entry == NULL)
        return -1;
    int rc = PyList_Append(cols, entry);
    Py_DECREF(entry);
    return rc;
}

/* finish() -> the columns of the rows held (entries for auditlens.fastpath.array_of) */
static PyObject *records_columns(Records *R)
{
    PyObject *cols = PyList_New(0);
    if (cols == NULL || append_entry(cols, str_entry(&R->node)) < 0 ||
        append_entry(cols, fix_entry(&R->serial, "q")) < 0 ||
        append_entry(cols, fix_entry(&R->time, "q")) < 0 ||
        append_entry(cols, str_entry(&R->type)) < 0 ||
        append_entry(cols, map_entry(&R->fields, 0)) < 0 ||
        append_entry(cols, map_entry(&R->enriched, 0)) < 0 ||
        append_entry(cols, str_entry(&R->file)) < 0 ||
        append_entry(cols, fix_entry(&R->line, "q")) < 0) {
        Py_XDECREF(cols);
        return NULL;
    }
    records_clear_rows(R);
    return cols;
}

COL_FINISH_WITH_ARENA(records_finish, Records, records_columns)

static void records_dealloc(Records *R)
{
    str_free(&R->node);
    str_free(&R->type);
    str_free(&R->file);
    fix_free(&R->serial);
    fix_free(&R->time);
    fix_free(&R->line);
    map_free(&R->fields);
    map_free(&R->enriched);
    Py_XDECREF(R->prefixes);
    Py_TYPE(R)->tp_free((PyObject *)R);
}

static PyObject *records_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *prefixes = Py_None;
    if (!PyArg_ParseTuple(args, "|O:Records", &prefixes))
        return NULL;
    if (prefixes != Py_None) {
        int ok = PyTuple_Check(prefixes);
        for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(prefixes); i++)
            ok = PyUnicode_Check(PyTuple_GET_ITEM(prefixes, i));
        if (!ok) {
            PyErr_SetString(PyExc_TypeError, "Records(prefixes): a tuple of str, or None");
            return NULL;
        }
    }
    Records *R = (Records *)type->tp_alloc(type, 0); /* zeroed */
    if (R == NULL)
        return NULL;
    R->serial.width = R->time.width = R->line.width = 8;
    if (prefixes != Py_None) {
        Py_INCREF(prefixes);
        R->prefixes = prefixes;
    }
    return (PyObject *)R;
}

static PyObject *records_rows(Records *R, void *closure)
{
    return PyLong_FromSsize_t(R->rows);
}

static PyObject *records_coerced(Records *R, void *closure)
{
    return PyLong_FromSsize_t(R->coerced);
}

static PyObject *records_full_py(Records *R, void *closure)
{
    return PyBool_FromLong(records_full(R));
}

static PyMethodDef records_methods[] = {
    {"add_block", (PyCFunction)(void (*)(void))records_add_block, METH_FASTCALL,
     "add_block(block, pos, end, first_line, file, limit) -> (pos, lines taken): stops at a line "
     "for Python (lex it, then put_row() or reject it), or when limit rows are held or full."},
    {"put_row", (PyCFunction)records_put_row, METH_O,
     "put_row(row): a row of stream.record_rows, appended as pa.array would store it."},
    {"finish", (PyCFunction)records_finish, METH_VARARGS, "finish(arena=None) -> the columns of the rows held."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef records_getset[] = {
    {"rows", (getter)records_rows, NULL, "rows held since the last finish()", NULL},
    {"coerced", (getter)records_coerced, NULL, "put_row() values stored as null", NULL},
    {"full", (getter)records_full_py, NULL, "a column is near what int32 offsets address", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject RecordsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auditlens.auditd._fastaudit.Records",
    .tp_basicsize = sizeof(Records),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Records(prefixes=None): auditd lines -> AUDITD_RECORDS columns (see "
              "auditlens.auditd.native_records).",
    .tp_new = records_new,
    .tp_dealloc = (destructor)records_dealloc,
    .tp_methods = records_methods,
    .tp_getset = records_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastaudit",
    "The C fast path of the auditd events reader (optional; auditlens.auditd.native).", -1, NULL,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastaudit(void)
{
    if (PyType_Ready(&ParserType) < 0 || PyType_Ready(&RecordsType) < 0)
        return NULL;
    if (checkpoint == NULL) {
        PyObject *globals = Py_BuildValue("{sO}", "__builtins__", PyEval_GetBuiltins());
        if (globals == NULL)
            return NULL;
        checkpoint = PyRun_String("lambda: None", Py_eval_input, globals, globals);
        Py_DECREF(globals);
        if (checkpoint == NULL)
            return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddStringConstant(m, "KINDS", KINDS) < 0 ||
        PyModule_AddStringConstant(m, "PATH_KINDS", PATH_KINDS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ParserType);
    if (PyModule_AddObject(m, "Parser", (PyObject *)&ParserType) < 0) {
        Py_DECREF(&ParserType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&RecordsType);
    if (PyModule_AddObject(m, "Records", (PyObject *)&RecordsType) < 0) {
        Py_DECREF(&RecordsType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
