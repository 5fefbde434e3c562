/* Arrow columns of one-line audit Events, straight from their bytes: the optional C fast path
 * of auditlens.k8s.frame (auditlens/k8s/native.py says when it is used).
 *
 * A Builder takes lines and appends, for each plain Event line, exactly the values of the raw row
 * that auditlens.k8s.event.event_row(orjson.loads(line), origin, line) gives and that
 * pa.array(rows, RAW_STRUCT) would store, as Arrow buffers: no Python object per value. It leaves
 * a line to the Python path whenever it is not sure to agree: not JSON, not a plain Event, a
 * number that is not a 64-bit integer, a value of another JSON type than its column (the Python
 * path nulls and counts those), a key twice in a map or a body, nesting deeper than MAX_DEPTH...
 * So this file accepts a subset of JSON text and must agree with orjson + pyarrow on it; the tests
 * in tests/test_k8s_native.py hold the two paths equal on the corpora and on generated Events.
 *
 * Request/response bodies become the text orjson.dumps would give for them (compact, keys in
 * input order, orjson's escapes: \" \\ \b \t \n \f \r and \u00xx for other control characters,
 * everything else as UTF-8), written while parsing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "../_columns.h"
#include "../_json.h"

#define MAX_KEYS_CHECKED 4096

static Buf scratch_str, scratch_body, scratch_keys;

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

/* -- one Event line: where its values are --------------------------------------------------- */

/* The top-level keys the row reads, by slot. */
enum {
    K_KIND, K_AUDIT_ID, K_STAGE, K_LEVEL, K_VERB, K_URI, K_STAGE_TS, K_TS, K_RECEIVED_TS,
    K_SOURCE_IPS, K_AGENT, K_USER, K_IMP, K_REF, K_STATUS, K_ANN, N_TOP,
};
static const char *const top_keys[N_TOP] = {
    "kind", "auditID", "stage", "level", "verb", "requestURI", "stageTimestamp", "timestamp",
    "requestReceivedTimestamp", "sourceIPs", "userAgent", "user", "impersonatedUser",
    "objectRef", "responseStatus", "annotations",
};
/* Other top-level keys: a body, a key the row does not read, and the keys that tell an OpenShift
 * ViaQ record (an Event flattened with log_type, k8s_audit_level, openshift.cluster_id...) and
 * a docker json-file record ("log") from an Event. */
enum {
    SLOT_REQUEST = N_TOP, SLOT_RESPONSE, SLOT_OTHER, SLOT_LOG_TYPE, SLOT_OPENSHIFT, SLOT_LOG,
};

/* Keys of the nested objects. */
enum { U_USERNAME, U_UID, U_GROUPS, U_EXTRA, N_USER };
static const char *const user_keys[N_USER] = {"username", "uid", "groups", "extra"};
enum { R_GROUP, R_VERSION, R_RESOURCE, R_SUBRESOURCE, R_NAMESPACE, R_NAME, R_UID, N_REF };
static const char *const ref_keys[N_REF] = {
    "apiGroup", "apiVersion", "resource", "subresource", "namespace", "name", "uid",
};
enum { S_CODE, S_STATUS, S_REASON, S_MESSAGE, N_STATUS };
static const char *const status_keys[N_STATUS] = {"code", "status", "reason", "message"};
enum { A_DECISION, A_REASON, A_TRUNCATED, N_ANN };
static const char *const ann_keys[N_ANN] = {
    "authorization.k8s.io/decision", "authorization.k8s.io/reason", "audit.k8s.io/truncated",
};


static Py_ssize_t top_lens[N_TOP], user_lens[N_USER], ref_lens[N_REF], status_lens[N_STATUS],
    ann_lens[N_ANN];


static int slot_of(const P *s)
{
    int i = key_index(s, top_keys, top_lens, N_TOP);
    if (i >= 0)
        return i;
    if (is_key(s, "requestObject"))
        return SLOT_REQUEST;
    if (is_key(s, "responseObject"))
        return SLOT_RESPONSE;
    if (is_key(s, "log_type"))
        return SLOT_LOG_TYPE;
    if (is_key(s, "openshift"))
        return SLOT_OPENSHIFT;
    if (is_key(s, "log"))
        return SLOT_LOG;
    return SLOT_OTHER;
}

/* ViaQ moves the Event's level to k8s_audit_level, openshift_audit_level, oauth_audit_level... */
static int is_audit_level_key(const P *s)
{
    static const char suffix[] = "_audit_level";
    const Py_ssize_t n = (Py_ssize_t)sizeof suffix - 1;
    return s->text_len >= n && memcmp(s->text + s->text_len - n, suffix, (size_t)n) == 0;
}


static int string_item(P *s, void *arg)
{
    (void)arg;
    return *s->p == '"' || *s->p == 'n' ? value_skip(s) : -1;
}

/* An array of strings and nulls (list<string>), or absent, or null. */
static int is_string_list(P *s, Val v)
{
    if (v.kind == 0 || v.kind == 'n')
        return 1;
    s->depth = 1;
    return v.kind == 'a' && walk(s, v.at, string_item, NULL) == 0;
}

/* Map members: keys must be unique (a dict would keep one, the column would keep both). */
static Buf scratch_seen;

static int new_key(P *s)
{
    Py_ssize_t at = scratch_seen.len;
    const Span *spans = (const Span *)s->keys.p;
    Py_ssize_t n = s->keys.len / (Py_ssize_t)sizeof(Span);
    if (n >= MAX_KEYS_CHECKED)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++)
        if (spans[i].len == s->text_len
                && memcmp(scratch_seen.p + spans[i].off, s->text, (size_t)s->text_len) == 0)
            return -1;
    Span span = {at, s->text_len};
    if (buf_put(&scratch_seen, s->text, s->text_len) < 0
            || buf_put(&s->keys, (const char *)&span, sizeof span) < 0)
        return -1;
    return 0;
}

static int map_member(P *s, void *arg)
{
    int list_values = *(int *)arg;
    if (new_key(s) < 0)
        return -1;
    if (!list_values || *s->p == 'n')
        return string_item(s, NULL);
    Val v = {s->p, 'a'};
    if (*s->p != '[' || !is_string_list(s, v))
        return -1;
    s->p++; /* past the array's "]", where the walk of its items stopped */
    return 0;
}

/* An object of unique keys whose values are strings or nulls (``list_values``: arrays of those,
 * or nulls), or absent, or null. */
static int is_string_map(P *s, Val v, int list_values)
{
    if (v.kind == 0 || v.kind == 'n')
        return 1;
    if (v.kind != 'o')
        return 0;
    scratch_seen.len = 0;
    s->keys.len = 0;
    s->depth = 1;
    int rc = walk(s, v.at, map_member, &list_values);
    s->keys.len = 0;
    return rc == 0;
}

/* -- Arrow columns --------------------------------------------------------------------------- */

/* (The column types, StrCol, ListCol, MapCol..., and their entries for native.py are in
 * auditlens/_columns.h.) */

/* The string columns, in the order of RAW_FIELDS. */
enum {
    C_STAGE_TIME, C_ALT_TIME, C_RECEIVED, C_AUDIT_ID, C_STAGE, C_LEVEL, C_VERB, C_URI, C_USER,
    C_USER_UID, C_IMP_USER, C_SA_NS, C_SA_NAME, C_AGENT, C_API_GROUP, C_API_VERSION,
    C_RESOURCE, C_SUBRESOURCE, C_NAMESPACE, C_NAME, C_OBJECT_UID, C_STATUS, C_REASON,
    C_MESSAGE, C_DECISION, C_AUTHZ_REASON, C_REQUEST, C_RESPONSE, C_CLUSTER, C_WRAPPER, C_FILE,
    N_STR,
};

typedef struct {
    PyObject_HEAD
    Py_ssize_t rows;
    StrCol str[N_STR];
    ListCol groups, imp_groups, source_ips;
    MapCol extra, annotations;
    Bits code_valid;
    Buf code, line;
    Bits truncated;
} Builder;

/* A builder stops taking lines when a string column holds this much (int32 offsets). */
#define FULL_BYTES ((Py_ssize_t)1 << 30)
/* Longer lines are left to the Python path, so one line cannot overflow a column. */
#define MAX_LINE ((Py_ssize_t)1 << 28)

static int builder_full(const Builder *b)
{
    for (int i = 0; i < N_STR; i++)
        if (b->str[i].data.len > FULL_BYTES)
            return 1;
    const StrCol *more[] = {&b->groups.items, &b->imp_groups.items, &b->source_ips.items,
                            &b->extra.keys, &b->extra.lists.items, &b->annotations.keys,
                            &b->annotations.strings};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        if (more[i]->data.len > FULL_BYTES)
            return 1;
    return 0;
}

/* -- values into columns (the line is valid and every value of the right kind by now) --------- */


static int put_item(P *s, void *arg)
{
    StrCol *c = arg;
    if (*s->p == 'n') {
        s->p += 4;
        return str_end(c, 0);
    }
    return parse_string(s) < 0 ? -1 : str_put(c, s->text, s->text_len);
}

static int put_list(P *s, ListCol *c, Val v)
{
    if (v.kind != 'a')
        return list_end(c, 0);
    s->depth = 1;
    return walk(s, v.at, put_item, &c->items) < 0 ? -1 : list_end(c, 1);
}

static int put_map_member(P *s, void *arg)
{
    MapCol *c = arg;
    if (str_put(&c->keys, s->text, s->text_len) < 0)
        return -1;
    if (!c->list_values)
        return put_item(s, &c->strings);
    Val v = {s->p, *s->p == '[' ? 'a' : 'n'};
    if (v.kind == 'n') {
        s->p += 4;
        return list_end(&c->lists, 0);
    }
    if (put_list(s, &c->lists, v) < 0)
        return -1;
    s->p++; /* past the array's "]" */
    return 0;
}

static int put_map(P *s, MapCol *c, Val v)
{
    if (v.kind != 'o')
        return map_end(c, 0);
    s->depth = 1;
    return walk(s, v.at, put_map_member, c) < 0 ? -1 : map_end(c, 1);
}

static int nonempty(Val v)
{
    return v.kind == 's' && v.at[1] != '"';
}

/* What the builder needs of the origin (auditlens.k8s.native.context, in its order), as UTF-8. */
enum { X_TIME, X_CLUSTER, X_WRAPPER, X_VIAQ_WRAPPER, X_FILE, N_TEXT };
typedef struct {
    const char *text[N_TEXT]; /* NULL: None */
    Py_ssize_t len[N_TEXT];
    int keep_objects, truncated;
} Ctx;

static int read_ctx(PyObject *ctx, Ctx *c)
{
    if (!PyTuple_Check(ctx) || PyTuple_GET_SIZE(ctx) != 7) {
        PyErr_SetString(PyExc_TypeError, "ctx must be the tuple of auditlens.k8s.native.context");
        return -1;
    }
    static const int at[N_TEXT] = {0, 2, 3, 4, 5};
    for (int i = 0; i < N_TEXT; i++) {
        PyObject *v = PyTuple_GET_ITEM(ctx, at[i]);
        c->text[i] = NULL;
        c->len[i] = 0;
        if (v == Py_None)
            continue;
        if (!PyUnicode_Check(v))
            return 1;
        c->text[i] = PyUnicode_AsUTF8AndSize(v, &c->len[i]);
        if (c->text[i] == NULL) { /* e.g. a file name with undecodable bytes: Python's turn */
            PyErr_Clear();
            return 1;
        }
    }
    c->keep_objects = PyObject_IsTrue(PyTuple_GET_ITEM(ctx, 1));
    c->truncated = PyObject_IsTrue(PyTuple_GET_ITEM(ctx, 6));
    return c->keep_objects < 0 || c->truncated < 0 ? -1 : 0;
}

static int put_ctx(StrCol *c, const Ctx *ctx, int i)
{
    return ctx->text[i] == NULL ? str_end(c, 0) : str_put(c, ctx->text[i], ctx->len[i]);
}

/* One line into the builder: 1 when taken, 0 when it is for the Python path, -1 on MemoryError.
 * Nothing is appended before the whole line has been checked, so a line is taken or left whole. */
static int take_line(Builder *b, PyObject *raw, long long number, const Ctx *ctx)
{
    if (!PyBytes_Check(raw) || PyBytes_GET_SIZE(raw) == 0 || PyBytes_GET_SIZE(raw) > MAX_LINE
            || PyBytes_AS_STRING(raw)[0] != '{')
        return 0; /* the Python path reads only lines that start with "{" this way */
    P s;
    s.p = (const unsigned char *)PyBytes_AS_STRING(raw);
    s.end = s.p + PyBytes_GET_SIZE(raw);
    s.depth = 1;
    s.str = scratch_str;
    s.keys = scratch_keys;
    s.keys.len = 0;
    Buf body = scratch_body;
    body.len = 0;
    Val top[N_TOP] = {{NULL, 0}};
    Val user[N_USER] = {{NULL, 0}}, imp[N_USER] = {{NULL, 0}}, ref[N_REF] = {{NULL, 0}},
        status[N_STATUS] = {{NULL, 0}}, ann[N_ANN] = {{NULL, 0}};
    Py_ssize_t body_at[2] = {-1, -1}, body_len[2] = {0, 0};
    int rc = 0;
    /* ViaQ: the first *_audit_level key (its name kept to match a repeat), log_type, openshift */
    Val level = {NULL, 0}, log_type = {NULL, 0}, openshift = {NULL, 0}, cluster_id = {NULL, 0};
    char level_name[64];
    Py_ssize_t level_name_len = -1;
    int k8s_level = 0, has_log = 0;

    /* 1. find and validate every value */
    s.p++;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '}')
        goto out; /* {} is not an Event */
    for (;;) {
        if (s.p >= s.end || *s.p != '"' || parse_string(&s) < 0)
            goto out;
        int slot = slot_of(&s);
        int take_level = 0;
        if (is_audit_level_key(&s)) {
            k8s_level |= is_key(&s, "k8s_audit_level");
            if (level_name_len < 0) {
                if (s.text_len > (Py_ssize_t)sizeof level_name)
                    goto out;
                memcpy(level_name, s.text, (size_t)s.text_len);
                level_name_len = s.text_len;
            }
            take_level = is_key_n(&s, level_name, level_name_len);
        }
        skip_ws(&s);
        if (s.p >= s.end || *s.p != ':')
            goto out;
        s.p++;
        skip_ws(&s);
        if (take_level) { /* the first such key's value; its last one if logged twice */
            level.at = s.p;
            level.kind = kind_of(*s.p);
        }
        if (slot == SLOT_LOG_TYPE || slot == SLOT_OPENSHIFT || slot == SLOT_LOG) {
            Val *v = slot == SLOT_LOG_TYPE ? &log_type : &openshift;
            has_log |= slot == SLOT_LOG;
            v->at = s.p;
            v->kind = kind_of(*s.p);
            if (slot == SLOT_OPENSHIFT && v->kind == 'o') {
                static const char *const keys[] = {"cluster_id"};
                static const Py_ssize_t lens[] = {10};
                if (pick(&s, keys, lens, 1, &cluster_id) < 0)
                    goto out;
            } else if (value_skip(&s) < 0) {
                goto out;
            }
        } else if (slot < N_TOP) {
            top[slot].at = s.p; /* a key logged twice: the last value, as in a dict */
            top[slot].kind = kind_of(*s.p);
            Val *members = NULL;
            const char *const *keys = NULL;
            const Py_ssize_t *lens = NULL;
            int n = 0;
            switch (slot) {
            case K_USER: members = user; keys = user_keys; lens = user_lens; n = N_USER; break;
            case K_IMP: members = imp; keys = user_keys; lens = user_lens; n = N_USER; break;
            case K_REF: members = ref; keys = ref_keys; lens = ref_lens; n = N_REF; break;
            case K_STATUS:
                members = status; keys = status_keys; lens = status_lens; n = N_STATUS;
                break;
            case K_ANN: members = ann; keys = ann_keys; lens = ann_lens; n = N_ANN; break;
            }
            if (members != NULL) {
                for (int i = 0; i < n; i++)
                    members[i].kind = 0; /* a second "user": its members only, as in a dict */
                if (top[slot].kind == 'o' ? pick(&s, keys, lens, n, members) < 0
                                          : value_skip(&s) < 0)
                    goto out;
            } else if (value_skip(&s) < 0) {
                goto out;
            }
        } else if ((slot == SLOT_REQUEST || slot == SLOT_RESPONSE) && ctx->keep_objects) {
            int which = slot - SLOT_REQUEST;
            Py_ssize_t at = body.len;
            if (value_emit(&s, &body) < 0)
                goto out;
            body_at[which] = at;
            body_len[which] = body.len - at;
        } else if (value_skip(&s) < 0) {
            goto out;
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
    if (s.p != s.end || top[K_AUDIT_ID].kind == 0)
        goto out;

    /* 2. the checks of the Python path (frame, wrappers, event.event_row) and of the column types.
     * A ViaQ record is one with k8s_audit_level or log_type "audit" (wrappers.WRAPPERS["viaq"]);
     * its level is the first *_audit_level and its cluster openshift.cluster_id. */
    int viaq = 0;
    if (k8s_level || log_type.kind != 0) {
        if (log_type.kind == 's') {
            s.p = log_type.at;
            if (parse_string(&s) < 0)
                goto out;
            viaq = is_key(&s, "audit");
        }
        viaq |= k8s_level;
        if (!viaq || has_log) /* another wrapper's, or a docker record's: Python decides */
            goto out;
        top[K_LEVEL] = level;
        if (openshift.kind != 'o')
            cluster_id.kind = 0;
        if (!is_string_or_null(cluster_id))
            goto out;
    } else if (top[K_KIND].kind != 0) { /* obj.get("kind", "Event") == "Event" */
        s.p = top[K_KIND].at;
        if (top[K_KIND].kind != 's' || parse_string(&s) < 0 || !is_key(&s, "Event"))
            goto out;
    }
    static const int strings[] = {K_AUDIT_ID, K_STAGE, K_LEVEL, K_VERB, K_URI, K_STAGE_TS, K_TS,
                                  K_RECEIVED_TS, K_AGENT};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (!is_string_or_null(top[strings[i]]))
            goto out;
    static const int objects[] = {K_USER, K_IMP, K_REF, K_STATUS, K_ANN};
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++) {
        char k = top[objects[i]].kind;
        if (k != 0 && k != 'n' && k != 'o')
            goto out; /* the Python path fails on (or nulls) these: it decides */
    }
    const Val plain[] = {user[U_USERNAME], user[U_UID], imp[U_USERNAME], ref[R_GROUP],
                         ref[R_VERSION], ref[R_RESOURCE], ref[R_SUBRESOURCE], ref[R_NAMESPACE],
                         ref[R_NAME], ref[R_UID], status[S_STATUS], status[S_REASON],
                         status[S_MESSAGE]};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!is_string_or_null(plain[i]))
            goto out;
    if (!is_string_list(&s, user[U_GROUPS]) || !is_string_list(&s, imp[U_GROUPS])
            || !is_string_list(&s, top[K_SOURCE_IPS])
            || !is_string_map(&s, user[U_EXTRA], 1) || !is_string_map(&s, top[K_ANN], 0))
        goto out;
    long long code = 0;
    Val cv = status[S_CODE];
    if (cv.kind == 'i') {
        s.p = cv.at;
        if (parse_int(&s, &code) < 0 || code < INT32_MIN || code > INT32_MAX)
            goto out;
    } else if (cv.kind != 0 && cv.kind != 'n') {
        goto out;
    }

    /* 3. append: from here on only MemoryError can fail */
    rc = -1;
    static const struct { int col, key; } direct[] = {
        {C_STAGE_TIME, K_STAGE_TS}, {C_RECEIVED, K_RECEIVED_TS}, {C_AUDIT_ID, K_AUDIT_ID},
        {C_STAGE, K_STAGE}, {C_LEVEL, K_LEVEL}, {C_VERB, K_VERB}, {C_URI, K_URI},
        {C_AGENT, K_AGENT},
    };
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++)
        if (put_string(&s, &b->str[direct[i].col], top[direct[i].key]) < 0)
            goto out;
    /* time: stageTimestamp, else timestamp or requestReceivedTimestamp or the wrapper's time */
    if (nonempty(top[K_STAGE_TS])) {
        if (str_end(&b->str[C_ALT_TIME], 0) < 0)
            goto out;
    } else if (nonempty(top[K_TS]) || nonempty(top[K_RECEIVED_TS])) {
        Val alt = nonempty(top[K_TS]) ? top[K_TS] : top[K_RECEIVED_TS];
        if (put_string(&s, &b->str[C_ALT_TIME], alt) < 0)
            goto out;
    } else if (put_ctx(&b->str[C_ALT_TIME], ctx, X_TIME) < 0) {
        goto out;
    }
    /* user, and the service account it names: system:serviceaccount:NS:NAME */
    if (put_string(&s, &b->str[C_USER], user[U_USERNAME]) < 0)
        goto out;
    const char *ns = NULL, *name = NULL;
    Py_ssize_t ns_len = 0, name_len = 0;
    static const char sa[] = "system:serviceaccount:";
    const Py_ssize_t sa_len = (Py_ssize_t)sizeof sa - 1;
    if (user[U_USERNAME].kind == 's' && s.text_len > sa_len && memcmp(s.text, sa, sa_len) == 0) {
        const char *rest = s.text + sa_len, *end = s.text + s.text_len;
        const char *colon = memchr(rest, ':', (size_t)(end - rest));
        if (colon != NULL && colon > rest && colon + 1 < end
                && memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
            ns = rest;
            ns_len = colon - rest;
            name = colon + 1;
            name_len = end - name;
        }
    }
    if ((ns ? str_put(&b->str[C_SA_NS], ns, ns_len) : str_end(&b->str[C_SA_NS], 0)) < 0
            || (name ? str_put(&b->str[C_SA_NAME], name, name_len)
                     : str_end(&b->str[C_SA_NAME], 0)) < 0)
        goto out;
    if (put_string(&s, &b->str[C_USER_UID], user[U_UID]) < 0
            || put_list(&s, &b->groups, user[U_GROUPS]) < 0
            || put_map(&s, &b->extra, user[U_EXTRA]) < 0
            || put_string(&s, &b->str[C_IMP_USER], imp[U_USERNAME]) < 0
            || put_list(&s, &b->imp_groups, imp[U_GROUPS]) < 0
            || put_list(&s, &b->source_ips, top[K_SOURCE_IPS]) < 0)
        goto out;
    /* v1alpha1: objectRef.apiVersion is "group/version" when there is no apiGroup */
    int split = 0;
    if (ref[R_GROUP].kind != 's' && nonempty(ref[R_VERSION])) {
        s.p = ref[R_VERSION].at;
        if (parse_string(&s) < 0)
            goto out;
        const char *slash = NULL;
        for (const char *q = s.text; q < s.text + s.text_len; q++)
            if (*q == '/')
                slash = q;
        if (slash != NULL) {
            split = 1;
            if (str_put(&b->str[C_API_GROUP], s.text, slash - s.text) < 0
                    || str_put(&b->str[C_API_VERSION], slash + 1,
                               s.text + s.text_len - slash - 1) < 0)
                goto out;
        }
    }
    if (!split && (put_string(&s, &b->str[C_API_GROUP], ref[R_GROUP]) < 0
                   || put_string(&s, &b->str[C_API_VERSION], ref[R_VERSION]) < 0))
        goto out;
    static const struct { int col, key; } refs[] = {
        {C_RESOURCE, R_RESOURCE}, {C_SUBRESOURCE, R_SUBRESOURCE}, {C_NAMESPACE, R_NAMESPACE},
        {C_NAME, R_NAME}, {C_OBJECT_UID, R_UID},
    };
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        if (put_string(&s, &b->str[refs[i].col], ref[refs[i].key]) < 0)
            goto out;
    if (bits_put(&b->code_valid, cv.kind == 'i') < 0 || put_i32(&b->code, (int32_t)code) < 0
            || put_string(&s, &b->str[C_STATUS], status[S_STATUS]) < 0
            || put_string(&s, &b->str[C_REASON], status[S_REASON]) < 0
            || put_string(&s, &b->str[C_MESSAGE], status[S_MESSAGE]) < 0
            || put_string(&s, &b->str[C_DECISION], ann[A_DECISION]) < 0
            || put_string(&s, &b->str[C_AUTHZ_REASON], ann[A_REASON]) < 0
            || put_map(&s, &b->annotations, top[K_ANN]) < 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        StrCol *c = &b->str[i ? C_RESPONSE : C_REQUEST];
        int absent = body_at[i] < 0 || (body_len[i] == 4 && !memcmp(body.p + body_at[i], "null", 4));
        if ((absent ? str_end(c, 0) : str_put(c, body.p + body_at[i], body_len[i])) < 0)
            goto out;
    }
    int truncated = ctx->truncated;
    if (!truncated && ann[A_TRUNCATED].kind == 's') {
        s.p = ann[A_TRUNCATED].at;
        if (parse_string(&s) < 0)
            goto out;
        truncated = is_key(&s, "true");
    }
    int64_t line = number;
    int own_cluster = viaq && nonempty(cluster_id); /* cluster_id or the origin's cluster */
    if ((own_cluster ? put_string(&s, &b->str[C_CLUSTER], cluster_id)
                     : put_ctx(&b->str[C_CLUSTER], ctx, X_CLUSTER)) < 0
            || put_ctx(&b->str[C_WRAPPER], ctx, viaq ? X_VIAQ_WRAPPER : X_WRAPPER) < 0
            || put_ctx(&b->str[C_FILE], ctx, X_FILE) < 0
            || buf_put(&b->line, (const char *)&line, sizeof line) < 0
            || bits_put(&b->truncated, truncated) < 0)
        goto out;
    b->rows++;
    rc = 1;
out:
    scratch_str = s.str;
    scratch_keys = s.keys;
    scratch_body = body;
    if (rc < 0 && !PyErr_Occurred())
        PyErr_SetString(PyExc_SystemError, "auditlens k8s fast path: a checked line did not parse");
    return rc;
}

/* -- the Builder type -------------------------------------------------------------------------- */

static void builder_clear(Builder *b)
{
    b->rows = 0;
    for (int i = 0; i < N_STR; i++)
        str_clear(&b->str[i]);
    list_clear(&b->groups);
    list_clear(&b->imp_groups);
    list_clear(&b->source_ips);
    map_clear(&b->extra);
    map_clear(&b->annotations);
    bits_clear(&b->code_valid);
    b->code.len = b->line.len = 0;
    bits_clear(&b->truncated);
}

static void builder_dealloc(Builder *b)
{
    for (int i = 0; i < N_STR; i++)
        str_free(&b->str[i]);
    list_free(&b->groups);
    list_free(&b->imp_groups);
    list_free(&b->source_ips);
    map_free(&b->extra);
    map_free(&b->annotations);
    buf_free(&b->code_valid.bits);
    buf_free(&b->code);
    buf_free(&b->line);
    buf_free(&b->truncated.bits);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static PyObject *builder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Builder *b = (Builder *)type->tp_alloc(type, 0); /* zeroed */
    if (b == NULL)
        return NULL;
    builder_clear(b);
    b->extra.list_values = 1;
    return (PyObject *)b;
}

/* add(lines, start, first_line, ctx, limit) -> the index of the first line not taken. */
static PyObject *builder_add(Builder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "add(lines: list, start: int, first_line: int, ctx, limit)");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    long long first = PyLong_AsLongLong(args[2]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    Ctx ctx;
    int bad = read_ctx(args[3], &ctx);
    if (bad < 0)
        return NULL;
    Py_ssize_t i = start, n = PyList_GET_SIZE(args[0]);
    if (bad == 0) {
        for (; i < n && self->rows < limit && !builder_full(self); i++) {
            int rc = take_line(self, PyList_GET_ITEM(args[0], i), first + i, &ctx);
            if (rc < 0)
                return NULL;
            if (rc == 0)
                break;
        }
    }
    return PyLong_FromSsize_t(i);
}

/* finish() -> the columns in RAW_FIELDS order (see native.py), and an empty builder. */
static PyObject *builder_columns(Builder *self)
{
    PyObject *cols = PyList_New(0);
    if (cols == NULL)
        return NULL;
#define ADD(expr)                                                   \
    do {                                                            \
        PyObject *e_ = (expr);                                      \
        if (e_ == NULL || PyList_Append(cols, e_) < 0) {            \
            Py_XDECREF(e_);                                         \
            Py_DECREF(cols);                                        \
            return NULL;                                            \
        }                                                           \
        Py_DECREF(e_);                                              \
    } while (0)
    for (int i = C_STAGE_TIME; i <= C_USER_UID; i++)
        ADD(str_entry(&self->str[i]));
    ADD(list_entry(&self->groups));
    ADD(map_entry(&self->extra, 1));
    ADD(str_entry(&self->str[C_IMP_USER]));
    ADD(list_entry(&self->imp_groups));
    ADD(str_entry(&self->str[C_SA_NS]));
    ADD(str_entry(&self->str[C_SA_NAME]));
    ADD(list_entry(&self->source_ips));
    for (int i = C_AGENT; i <= C_OBJECT_UID; i++)
        ADD(str_entry(&self->str[i]));
    ADD(Py_BuildValue("(snnNN)", "i", self->code_valid.n, self->code_valid.zeros,
                      bytes_of(&self->code_valid.bits), bytes_of(&self->code)));
    for (int i = C_STATUS; i <= C_AUTHZ_REASON; i++)
        ADD(str_entry(&self->str[i]));
    ADD(map_entry(&self->annotations, 0));
    for (int i = C_REQUEST; i <= C_FILE; i++)
        ADD(str_entry(&self->str[i]));
    ADD(Py_BuildValue("(snnON)", "q", self->rows, (Py_ssize_t)0, Py_None, bytes_of(&self->line)));
    ADD(Py_BuildValue("(snnON)", "b", self->rows, (Py_ssize_t)0, Py_None,
                      bytes_of(&self->truncated.bits)));
#undef ADD
    builder_clear(self);
    return cols;
}

COL_FINISH_WITH_ARENA(builder_finish, Builder, builder_columns)

static PyObject *builder_full_py(Builder *self, PyObject *unused)
{
    return PyBool_FromLong(builder_full(self));
}

static PyObject *builder_rows(Builder *self, void *closure)
{
    return PyLong_FromSsize_t(self->rows);
}

static PyMethodDef builder_methods[] = {
    {"add", (PyCFunction)(void (*)(void))builder_add, METH_FASTCALL,
     "add(lines, start, first_line, ctx, limit) -> index of the first line of lines[start:] not "
     "taken: a line for the Python path, or the builder holds `limit` rows or is full()."},
    {"finish", (PyCFunction)builder_finish, METH_VARARGS,
     "finish(arena=None) -> the columns of the rows taken (see auditlens.k8s.native); empties "
     "the builder."},
    {"full", (PyCFunction)builder_full_py, METH_NOARGS,
     "full() -> whether a column is near what int32 offsets can address."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef builder_getset[] = {
    {"rows", (getter)builder_rows, NULL, "rows taken since the last finish()", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject BuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "auditlens.k8s._fastrow.Builder",
    .tp_basicsize = sizeof(Builder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Arrow columns of the raw rows of one-line audit Events (see auditlens.k8s.native).",
    .tp_new = builder_new,
    .tp_dealloc = (destructor)builder_dealloc,
    .tp_methods = builder_methods,
    .tp_getset = builder_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastrow",
    "The C fast path for one-line audit Events (optional; auditlens.k8s.native).", -1, NULL,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastrow(void)
{
    init_stops();
    init_lens(top_keys, top_lens, N_TOP);
    init_lens(user_keys, user_lens, N_USER);
    init_lens(ref_keys, ref_lens, N_REF);
    init_lens(status_keys, status_lens, N_STATUS);
    init_lens(ann_keys, ann_lens, N_ANN);
    if (PyType_Ready(&BuilderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&BuilderType);
    if (PyModule_AddObject(m, "Builder", (PyObject *)&BuilderType) < 0) {
        Py_DECREF(&BuilderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
