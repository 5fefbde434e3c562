/* Arrow columns of one-line IBM Cloud (CADF) service events, straight from their bytes: the
 * optional C fast path of auditlens.cloud.stream (auditlens/cloud/native.py says when it is used).
 *
 * A Builder takes lines and appends, for each line that is one plain IBM event, exactly the
 * values of the row that auditlens.cloud.ibm.row(orjson.loads(line)) gives and the reader stores
 * (``time`` as logged, text; ``raw`` the line without its ending; ``file``, ``line``), as Arrow
 * buffers: no Python object per value. It leaves a line to the Python path whenever it is not
 * sure to agree: not JSON, not an event of IBM's shape (a wrapper, another provider's), a number
 * that is not a 64-bit integer anywhere in it, a value of another JSON type than text where the
 * row reads text, a time of no ISO 8601 shape (the Python path rejects it), an outcome that is
 * not ASCII (str.lower is Unicode's)... The JSON reading is shared with
 * the Kubernetes fast path (auditlens/_json.h); tests/test_cloud_native.py holds the two paths
 * equal on every fixture and on generated events.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "../_columns.h"
#include "../_json.h"

/* -- the members the row reads ------------------------------------------------------------- */

/* An object whose members are picked: its keys, and for each the object spec of its members
 * when the row reads inside it (NULL: the value is only kept). */
typedef struct Spec Spec;
struct Spec {
    const char *const *keys;
    Py_ssize_t *lens;
    int n;
    Spec *const *sub;
};

enum { T_TIME, T_ACTION, T_INITIATOR, T_TARGET, T_REASON, T_SOURCE_CRN, T_OUTCOME, T_SEVERITY,
       T_MESSAGE, T_CORRELATION, T_REQUEST, N_TOP };
static const char *const top_keys[N_TOP] = {
    "eventTime", "action", "initiator", "target", "reason", "logSourceCRN", "outcome",
    "severity", "message", "correlationId", "requestData",
};
enum { I_ID, I_NAME, I_TYPE, I_AUTHN_NAME, I_AUTHN_ID, I_CREDENTIAL, I_HOST, N_INIT };
static const char *const init_keys[N_INIT] = {
    "id", "name", "typeURI", "authnName", "authnId", "credential", "host",
};
enum { G_ID, G_NAME, G_TYPE, N_TARGET };
static const char *const target_keys[N_TARGET] = {"id", "name", "typeURI"};
enum { R_CODE, R_WHY, N_REASON };
static const char *const reason_keys[N_REASON] = {"reasonCode", "reasonForFailure"};
enum { H_ADDRESS, H_AGENT, N_HOST };
static const char *const host_keys[N_HOST] = {"address", "agent"};
enum { C_TYPE, N_CRED };
static const char *const cred_keys[N_CRED] = {"type"};
/* requestData members that name the cluster, in the order ibm._cluster prefers them */
enum { N_CLUSTER_KEYS = 6 };
static const char *const cluster_keys[N_CLUSTER_KEYS] = {
    "cluster", "clusterID", "clusterId", "clusterName", "cluster_id", "idOrName",
};

static Py_ssize_t top_lens[N_TOP], init_lens_[N_INIT], target_lens[N_TARGET],
    reason_lens[N_REASON], host_lens[N_HOST], cred_lens[N_CRED], cluster_lens[N_CLUSTER_KEYS];

static Spec host_spec = {host_keys, host_lens, N_HOST, NULL};
static Spec cred_spec = {cred_keys, cred_lens, N_CRED, NULL};
static Spec *const init_sub[N_INIT] = {NULL, NULL, NULL, NULL, NULL, &cred_spec, &host_spec};
static Spec init_spec = {init_keys, init_lens_, N_INIT, init_sub};
static Spec target_spec = {target_keys, target_lens, N_TARGET, NULL};
static Spec reason_spec = {reason_keys, reason_lens, N_REASON, NULL};
static Spec request_spec = {cluster_keys, cluster_lens, N_CLUSTER_KEYS, NULL};
static Spec *const top_sub[N_TOP] = {NULL, NULL, &init_spec, &target_spec, &reason_spec, NULL,
                                     NULL, NULL, NULL, NULL, &request_spec};
static Spec top_spec = {top_keys, top_lens, N_TOP, top_sub};

/* Where the picked values are: one Val a key of every spec, in a fixed layout. */
typedef struct {
    Val top[N_TOP], init[N_INIT], target[N_TARGET], reason[N_REASON], host[N_HOST],
        cred[N_CRED], request[N_CLUSTER_KEYS];
} Found;

static Val *vals_of(Found *f, const Spec *spec)
{
    if (spec == &top_spec) return f->top;
    if (spec == &init_spec) return f->init;
    if (spec == &target_spec) return f->target;
    if (spec == &reason_spec) return f->reason;
    if (spec == &host_spec) return f->host;
    if (spec == &cred_spec) return f->cred;
    return f->request;
}

typedef struct {
    const Spec *spec;
    Found *found;
} Picking;

static int pick_object(P *s, const Spec *spec, Found *found);

static int pick_nested(P *s, void *arg)
{
    const Picking *pk = arg;
    const Spec *spec = pk->spec;
    int i = key_index(s, spec->keys, spec->lens, spec->n);
    if (i < 0)
        return value_skip(s);
    Val *out = vals_of(pk->found, spec);
    out[i].at = s->p; /* a key logged twice: the last value, as in a dict */
    out[i].kind = kind_of(*s->p);
    if (spec->sub == NULL || spec->sub[i] == NULL || out[i].kind != 'o')
        return value_skip(s);
    return pick_object(s, spec->sub[i], pk->found);
}

/* The members of the object at s->p that `spec` names (and theirs, down its sub-specs), the
 * whole object validated and passed over. A repeated object keeps only its last value's
 * members, as a dict would. */
static int pick_object(P *s, const Spec *spec, Found *found)
{
    Val *out = vals_of(found, spec);
    for (int i = 0; i < spec->n; i++) {
        out[i].kind = 0;
        if (spec->sub != NULL && spec->sub[i] != NULL) /* a nested object: its members too */
            for (int j = 0; j < spec->sub[i]->n; j++)
                vals_of(found, spec->sub[i])[j].kind = 0;
    }
    if (++s->depth > MAX_DEPTH)
        return -1;
    Picking pk = {spec, found};
    if (walk(s, s->p, pick_nested, &pk) < 0)
        return -1;
    s->depth--;
    s->p++; /* past the object's "}" */
    return 0;
}

/* -- texts of the row ---------------------------------------------------------------------- */

/* A text value: its bytes (UTF-8), or none (p == NULL: absent, null, or "" where the row
 * says ``or None``). While the line is read a decoded text lives in `texts` at offset `off`. */
typedef struct {
    const char *p;
    Py_ssize_t n, off;
    int decoded;
} Txt;

static Buf scratch_str, scratch_texts;

/* The text of v into t: 0, or -1 when v is there but not text (the Python path's case). An
 * empty text is none when `or_none`. */
static int get_text(P *s, Val v, Txt *t, int or_none)
{
    t->p = NULL;
    t->n = 0;
    t->decoded = 0;
    if (v.kind == 0 || v.kind == 'n')
        return 0;
    if (v.kind != 's')
        return -1;
    s->p = v.at;
    if (parse_string(s) < 0)
        return -1;
    if (s->text_len == 0 && or_none)
        return 0;
    if (s->plain) {
        t->p = s->text;
    } else { /* s->str is overwritten by the next string: keep a copy */
        t->off = scratch_texts.len;
        t->decoded = 1;
        t->p = ""; /* resolved once every text is read (the buffer may move) */
        if (buf_put(&scratch_texts, s->text, s->text_len) < 0)
            return -1;
    }
    t->n = s->text_len;
    return 0;
}

static void resolve(Txt *t)
{
    if (t->decoded)
        t->p = scratch_texts.p + t->off;
}

static Buf scratch_request, scratch_request_str;

/* The cluster requestData names (into *cluster, none when it names none): `request` is the
 * requestData member (its members picked into f->request when an object). -1: the Python
 * path's line (JSON text this file cannot read as json.loads does). */
static int request_members(P *s, Val request, Found *f, Txt *cluster)
{
    P r, *from = s;
    if (request.kind == 's') { /* ibm._data: JSON text of an object, else {} */
        Txt data;
        if (get_text(s, request, &data, 1) < 0)
            return -1;
        resolve(&data);
        if (data.p == NULL || data.p[0] != '{')
            return 0;
        /* a copy that ends with a NUL (parse_string's scan stops there), apart from the texts */
        scratch_request.len = 0;
        if (buf_put(&scratch_request, data.p, data.n) < 0 || buf_byte(&scratch_request, 0) < 0)
            return -1;
        r.p = (const unsigned char *)scratch_request.p;
        r.end = r.p + data.n;
        r.depth = 0;
        r.str = scratch_request_str;
        r.keys.p = NULL;
        r.keys.len = r.keys.cap = 0;
        int rc = pick_object(&r, &request_spec, f);
        skip_ws(&r);
        scratch_request_str = r.str;
        if (rc < 0 || r.p != r.end)
            return -1;
        from = &r;
    } else if (request.kind != 'o') {
        return 0;
    }
    for (int i = 0; i < N_CLUSTER_KEYS && cluster->p == NULL; i++)
        if (f->request[i].kind == 's' && get_text(from, f->request[i], cluster, 1) < 0)
            return -1;
    if (from == &r)
        scratch_request_str = r.str;
    return 0;
}

static int txt_eq(const Txt *a, const Txt *b)
{
    return a->p != NULL && b->p != NULL && a->n == b->n && memcmp(a->p, b->p, (size_t)a->n) == 0;
}

static int txt_is(const Txt *t, const char *word)
{
    size_t n = strlen(word);
    return t->p != NULL && (size_t)t->n == n && memcmp(t->p, word, n) == 0;
}

static int txt_starts(const Txt *t, const char *word)
{
    size_t n = strlen(word);
    return t->p != NULL && (size_t)t->n >= n && memcmp(t->p, word, n) == 0;
}

/* The first of a, b that is some text (``a or b``). */
static const Txt *either(const Txt *a, const Txt *b)
{
    return a->p != NULL ? a : b;
}

/* Part k (0-based) of a text split at ':' (p == NULL when there are fewer parts), and the
 * number of parts. */
static Py_ssize_t crn_part(const Txt *crn, int k, Txt *part)
{
    const char *p = crn->p, *end = crn->p + crn->n;
    Py_ssize_t parts = 1;
    part->p = NULL;
    part->n = 0;
    part->decoded = 0;
    const char *start = p;
    for (const char *q = p; ; q++) {
        if (q == end || *q == ':') {
            if (parts - 1 == k) {
                part->p = start;
                part->n = q - start;
            }
            if (q == end)
                break;
            parts++;
            start = q + 1;
        }
    }
    return parts;
}

/* ibm.crn_parts: (region, account) of a CRN, each none when the CRN does not say. */
static void crn_region_account(const Txt *crn, Txt *region, Txt *account)
{
    region->p = account->p = NULL;
    region->n = account->n = 0;
    region->decoded = account->decoded = 0;
    if (!txt_starts(crn, "crn:"))
        return;
    Txt part;
    if (crn_part(crn, 0, &part) < 7)
        return;
    crn_part(crn, 5, region);
    crn_part(crn, 6, account);
    if (account->n >= 2 && account->p[1] == '/'
            && (account->p[0] == 'a' || account->p[0] == 'o' || account->p[0] == 's')) {
        account->p += 2;
        account->n -= 2;
    }
    if (region->n == 0)
        region->p = NULL;
    if (account->n == 0)
        account->p = NULL;
}

/* ibm.actor_kind */
static const char *actor_kind(const Txt *type_uri)
{
    static const char *const kinds[][2] = {
        {"service/security/account/user", "user"},
        {"service/security/account/serviceid", "service-id"},
        {"service/security/account/trustedprofile", "trusted-profile"},
        {"service/security/account/profile", "trusted-profile"},
        {"service/security/clientid", "service"},
        {"service/security/account/service", "service"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (txt_is(type_uri, kinds[i][0]))
            return kinds[i][1];
    return txt_starts(type_uri, "service/") ? "service" : "unknown";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int digits(const char **p, const char *end, int n)
{
    for (int i = 0; i < n; i++, (*p)++)
        if (*p >= end || !is_digit(**p))
            return 0;
    return 1;
}

/* stream._TIME_SHAPE with ASCII digits only (a text it refuses goes to the Python path, whose
 * \d also takes other digits):
 * \d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d\d(?::?\d\d)?)? */
static int time_shape(const Txt *t)
{
    const char *p = t->p, *end = t->p + t->n;
    if (!digits(&p, end, 4) || p >= end || *p++ != '-' || !digits(&p, end, 2) || p >= end
            || *p++ != '-' || !digits(&p, end, 2) || p >= end || (*p != 'T' && *p != ' '))
        return 0;
    p++;
    if (!digits(&p, end, 2) || p >= end || *p++ != ':' || !digits(&p, end, 2))
        return 0;
    if (p < end && *p == ':' && end - p >= 3 && is_digit(p[1]) && is_digit(p[2])) {
        p += 3;
        if (p < end && (*p == '.' || *p == ',') && end - p >= 2 && is_digit(p[1])) {
            p++;
            int n = 0;
            while (p < end && is_digit(*p) && n < 9) {
                p++;
                n++;
            }
        }
    }
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        p++;
        if (!digits(&p, end, 2))
            return 0;
        if (p < end && *p == ':')
            p++;
        if (p < end && !digits(&p, end, 2))
            return 0;
        if (p[-1] == ':') /* "+05:" */
            return 0;
    }
    return p == end;
}

/* -- Arrow columns ------------------------------------------------------------------------- */

/* The string columns, in the order of CLOUD_EVENTS (``line`` is a FixCol). */
enum {
    C_TIME, C_PROVIDER, C_SERVICE, C_ACCOUNT, C_REGION, C_ACTION, C_ACTOR, C_ACTOR_ID,
    C_ACTOR_KIND, C_ACTING_FOR, C_CREDENTIAL, C_TARGET, C_TARGET_ID, C_TARGET_KIND, C_CLUSTER,
    C_OUTCOME, C_REASON_CODE, C_REASON, C_SEVERITY, C_MESSAGE, C_ORIGIN, C_USER_AGENT,
    C_CORRELATION, C_RAW, C_FILE, N_STR,
};

typedef struct {
    PyObject_HEAD
    Py_ssize_t rows;
    StrCol str[N_STR];
    FixCol line;
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
    return 0;
}

static int put_txt(StrCol *c, const Txt *t)
{
    return t->p == NULL ? str_end(c, 0) : str_put(c, t->p, t->n);
}

static int put_word(StrCol *c, const char *word)
{
    return word == NULL ? str_end(c, 0) : str_put(c, word, (Py_ssize_t)strlen(word));
}

/* Every text of a row, read before anything is appended. */
enum {
    X_TIME, X_ACTION, X_SOURCE_CRN, X_OUTCOME, X_SEVERITY, X_MESSAGE, X_CORRELATION,
    X_ACTOR_ID, X_ACTOR_NAME, X_TYPE_URI, X_AUTHN_NAME, X_AUTHN_ID, X_CREDENTIAL, X_ORIGIN,
    X_AGENT, X_TARGET_ID, X_TARGET_NAME, X_TARGET_KIND, X_CODE, X_WHY, N_TXT,
};

/* A nested object that is absent, null or an object (ibm._obj); any other type: -1. */
static int is_object_or_none(Val v)
{
    return v.kind == 0 || v.kind == 'n' || v.kind == 'o';
}

/* One line into the builder: 1 when taken, 0 when it is for the Python path, -1 on MemoryError.
 * Nothing is appended before the whole line has been checked, so a line is taken or left whole. */
static int take_line(Builder *b, PyObject *raw, long long number, const char *file,
                     Py_ssize_t file_len)
{
    if (!PyBytes_Check(raw) || PyBytes_GET_SIZE(raw) == 0 || PyBytes_GET_SIZE(raw) > MAX_LINE
            || PyBytes_AS_STRING(raw)[0] != '{')
        return 0;
    const char *line = PyBytes_AS_STRING(raw);
    Py_ssize_t line_len = PyBytes_GET_SIZE(raw);
    P s;
    s.p = (const unsigned char *)line;
    s.end = s.p + line_len;
    s.depth = 0;
    s.str = scratch_str;
    s.keys.p = NULL;
    s.keys.len = s.keys.cap = 0;
    scratch_texts.len = 0;
    Found f;
    memset(&f, 0, sizeof f);
    int rc = 0;

    /* 1. find and validate every value; the whole line is one object */
    if (pick_object(&s, &top_spec, &f) < 0)
        goto out;
    skip_ws(&s);
    if (s.p != s.end)
        goto out;

    /* 2. the Python path's checks: ibm.unwrap takes the value itself (an "action" and an
     * "eventTime" or "initiator"), ibm.row does not raise, the time has the shape it reads */
    const Val *top = f.top;
    if (top[T_ACTION].kind != 's' || (top[T_TIME].kind == 0 && top[T_INITIATOR].kind == 0))
        goto out;
    if (!is_object_or_none(top[T_INITIATOR]) || !is_object_or_none(top[T_TARGET])
            || !is_object_or_none(top[T_REASON]))
        goto out;
    int has_init = top[T_INITIATOR].kind == 'o', has_target = top[T_TARGET].kind == 'o';
    if (has_init && (!is_object_or_none(f.init[I_HOST]) || !is_object_or_none(f.init[I_CREDENTIAL])))
        goto out;
    int has_host = has_init && f.init[I_HOST].kind == 'o';
    int has_cred = has_init && f.init[I_CREDENTIAL].kind == 'o';
    int has_reason = top[T_REASON].kind == 'o';
    const Val none = {NULL, 0};
    Txt x[N_TXT];
    const struct { int slot, or_none; Val v; } texts[N_TXT] = {
        {X_TIME, 0, top[T_TIME]},
        {X_ACTION, 0, top[T_ACTION]},
        {X_SOURCE_CRN, 0, top[T_SOURCE_CRN]},
        {X_OUTCOME, 0, top[T_OUTCOME]},
        {X_SEVERITY, 1, top[T_SEVERITY]},
        {X_MESSAGE, 1, top[T_MESSAGE]},
        {X_CORRELATION, 1, top[T_CORRELATION]},
        {X_ACTOR_ID, 1, has_init ? f.init[I_ID] : none},
        {X_ACTOR_NAME, 1, has_init ? f.init[I_NAME] : none},
        {X_TYPE_URI, 0, has_init ? f.init[I_TYPE] : none},
        {X_AUTHN_NAME, 1, has_init ? f.init[I_AUTHN_NAME] : none},
        {X_AUTHN_ID, 1, has_init ? f.init[I_AUTHN_ID] : none},
        {X_CREDENTIAL, 1, has_cred ? f.cred[C_TYPE] : none},
        {X_ORIGIN, 1, has_host ? f.host[H_ADDRESS] : none},
        {X_AGENT, 1, has_host ? f.host[H_AGENT] : none},
        {X_TARGET_ID, 1, has_target ? f.target[G_ID] : none},
        {X_TARGET_NAME, 1, has_target ? f.target[G_NAME] : none},
        {X_TARGET_KIND, 1, has_target ? f.target[G_TYPE] : none},
        {X_CODE, 1, none}, /* below: an integer too */
        {X_WHY, 1, has_reason ? f.reason[R_WHY] : none},
    };
    for (int i = 0; i < N_TXT; i++)
        if (get_text(&s, texts[i].v, &x[texts[i].slot], texts[i].or_none) < 0)
            goto out;
    /* reasonCode: None or "" → none, an integer → its decimal text (str(code)), text as is */
    char code_digits[24];
    Val code = has_reason ? f.reason[R_CODE] : none;
    if (code.kind == 'i') {
        long long v;
        s.p = code.at;
        if (parse_int(&s, &v) < 0)
            goto out;
        x[X_CODE].p = code_digits;
        x[X_CODE].n = snprintf(code_digits, sizeof code_digits, "%lld", v);
    } else if (get_text(&s, code, &x[X_CODE], 1) < 0) {
        goto out;
    }
    /* the cluster named in requestData (ibm._cluster), read whether or not the row needs it */
    Txt request_cluster = {NULL, 0, 0, 0};
    if (request_members(&s, top[T_REQUEST], &f, &request_cluster) < 0)
        goto out;
    for (int i = 0; i < N_TXT; i++)
        resolve(&x[i]);
    resolve(&request_cluster);
    if (x[X_TIME].p == NULL || !time_shape(&x[X_TIME]))
        goto out;
    /* outcome.lower(): ASCII only here */
    if (x[X_OUTCOME].p != NULL) {
        for (Py_ssize_t i = 0; i < x[X_OUTCOME].n; i++)
            if ((unsigned char)x[X_OUTCOME].p[i] >= 0x80)
                goto out;
    }

    /* 3. the row (ibm.row) */
    const Txt *action = &x[X_ACTION];
    Txt service = *action;
    const char *dot = memchr(action->p, '.', (size_t)action->n);
    if (dot != NULL)
        service.n = dot - action->p;
    if (service.n == 0)
        service.p = NULL;
    const Txt *target_id = &x[X_TARGET_ID];
    Txt region, account, region2;
    crn_region_account(target_id, &region, &account);
    if (account.p == NULL && x[X_SOURCE_CRN].p != NULL) {
        crn_region_account(&x[X_SOURCE_CRN], &region2, &account);
        if (region.p == NULL)
            region = region2;
    }
    const Txt *actor_id = &x[X_ACTOR_ID];
    const Txt *actor = either(&x[X_ACTOR_NAME], actor_id);
    const Txt *behind = either(&x[X_AUTHN_NAME], &x[X_AUTHN_ID]);
    int acting_for = behind->p != NULL && !txt_eq(behind, actor) && !txt_eq(behind, actor_id);
    const char *kind = x[X_TYPE_URI].p != NULL ? actor_kind(&x[X_TYPE_URI]) : NULL;
    const Txt *target = either(&x[X_TARGET_NAME], target_id);
    const Txt *cluster = NULL;
    Txt crn_cluster;
    if (txt_is(&x[X_TARGET_KIND], "containers-kubernetes/cluster")) {
        cluster = target;
    } else if (txt_starts(action, "containers-kubernetes.")) {
        if (request_cluster.p != NULL) {
            cluster = &request_cluster;
        } else if (txt_starts(target_id, "crn:") && crn_part(target_id, 7, &crn_cluster) > 7
                   && crn_cluster.n > 0) {
            cluster = &crn_cluster;
        }
    }
    const Txt *code_txt = &x[X_CODE];

    /* 4. append: from here on only MemoryError can fail */
    rc = -1;
    StrCol *c = b->str;
    Py_ssize_t raw_len = line_len;
    while (raw_len > 0 && (line[raw_len - 1] == '\n' || line[raw_len - 1] == '\r'))
        raw_len--;
    if (put_txt(&c[C_TIME], &x[X_TIME]) < 0 || put_word(&c[C_PROVIDER], "ibm") < 0
            || put_txt(&c[C_SERVICE], &service) < 0 || put_txt(&c[C_ACCOUNT], &account) < 0
            || put_txt(&c[C_REGION], &region) < 0 || put_txt(&c[C_ACTION], action) < 0
            || put_txt(&c[C_ACTOR], actor) < 0 || put_txt(&c[C_ACTOR_ID], actor_id) < 0
            || put_word(&c[C_ACTOR_KIND], kind) < 0
            || (acting_for ? put_txt(&c[C_ACTING_FOR], behind) : str_end(&c[C_ACTING_FOR], 0)) < 0
            || put_txt(&c[C_CREDENTIAL], &x[X_CREDENTIAL]) < 0
            || put_txt(&c[C_TARGET], target) < 0 || put_txt(&c[C_TARGET_ID], target_id) < 0
            || put_txt(&c[C_TARGET_KIND], &x[X_TARGET_KIND]) < 0
            || (cluster ? put_txt(&c[C_CLUSTER], cluster) : str_end(&c[C_CLUSTER], 0)) < 0)
        goto out;
    /* outcome, lowered; "failure" with reason code 401 or 403 is "denied" */
    const Txt *o = &x[X_OUTCOME];
    if (o->p == NULL) {
        if (str_end(&c[C_OUTCOME], 0) < 0)
            goto out;
    } else {
        int fail = o->n == 7;
        if (buf_reserve(&c[C_OUTCOME].data, o->n) < 0)
            goto out;
        char *dst = c[C_OUTCOME].data.p + c[C_OUTCOME].data.len;
        for (Py_ssize_t i = 0; i < o->n; i++) {
            char ch = o->p[i];
            dst[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
        fail = fail && memcmp(dst, "failure", 7) == 0;
        if (fail && (txt_is(code_txt, "401") || txt_is(code_txt, "403"))) {
            if (str_put(&c[C_OUTCOME], "denied", 6) < 0)
                goto out;
        } else {
            c[C_OUTCOME].data.len += o->n;
            if (str_end(&c[C_OUTCOME], 1) < 0)
                goto out;
        }
    }
    if (put_txt(&c[C_REASON_CODE], code_txt) < 0 || put_txt(&c[C_REASON], &x[X_WHY]) < 0
            || put_txt(&c[C_SEVERITY], &x[X_SEVERITY]) < 0
            || put_txt(&c[C_MESSAGE], &x[X_MESSAGE]) < 0
            || put_txt(&c[C_ORIGIN], &x[X_ORIGIN]) < 0
            || put_txt(&c[C_USER_AGENT], &x[X_AGENT]) < 0
            || put_txt(&c[C_CORRELATION], &x[X_CORRELATION]) < 0
            || str_put(&c[C_RAW], line, raw_len) < 0 || str_put(&c[C_FILE], file, file_len) < 0
            || fix_i64(&b->line, number) < 0)
        goto out;
    b->rows++;
    rc = 1;
out:
    scratch_str = s.str;
    if (rc < 0 && !PyErr_Occurred())
        PyErr_SetString(PyExc_SystemError, "auditlens cloud fast path: a checked line did not parse");
    return rc;
}

/* -- the Builder type -------------------------------------------------------------------------- */

static void builder_clear(Builder *b)
{
    b->rows = 0;
    for (int i = 0; i < N_STR; i++)
        str_clear(&b->str[i]);
    fix_clear(&b->line);
}

static void builder_dealloc(Builder *b)
{
    for (int i = 0; i < N_STR; i++)
        str_free(&b->str[i]);
    fix_free(&b->line);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static PyObject *builder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Builder *b = (Builder *)type->tp_alloc(type, 0); /* zeroed */
    if (b == NULL)
        return NULL;
    b->line.width = 8;
    return (PyObject *)b;
}

/* add(lines, start, first_line, file, limit) -> the index of the first line not taken. */
static PyObject *builder_add(Builder *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyList_Check(args[0]) || !PyUnicode_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "add(lines: list, start: int, first_line: int, file: str, limit: int)");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    long long first = PyLong_AsLongLong(args[2]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t file_len;
    const char *file = PyUnicode_AsUTF8AndSize(args[3], &file_len);
    Py_ssize_t i = start, n = PyList_GET_SIZE(args[0]);
    if (file == NULL) { /* a file name with undecodable bytes: Python's turn */
        PyErr_Clear();
        return PyLong_FromSsize_t(i);
    }
    for (; i < n && self->rows < limit && !builder_full(self); i++) {
        int rc = take_line(self, PyList_GET_ITEM(args[0], i), first + i, file, file_len);
        if (rc < 0)
            return NULL;
        if (rc == 0)
            break;
    }
    return PyLong_FromSsize_t(i);
}

/* finish() -> the columns in CLOUD_EVENTS order (``time`` as text; see native.py), and an empty
 * builder. */
static PyObject *builder_columns(Builder *self)
{
    PyObject *cols = PyList_New(N_STR + 1);
    if (cols == NULL)
        return NULL;
    for (int i = 0; i <= N_STR; i++) {
        PyObject *e = i < N_STR ? str_entry(&self->str[i]) : fix_entry(&self->line, "q");
        if (e == NULL) {
            Py_DECREF(cols);
            return NULL;
        }
        PyList_SET_ITEM(cols, i, e);
    }
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
     "add(lines, start, first_line, file, limit) -> index of the first line of lines[start:] "
     "not taken: a line for the Python path, or the builder holds `limit` rows or is full()."},
    {"finish", (PyCFunction)builder_finish, METH_VARARGS,
     "finish(arena=None) -> the columns of the rows taken (see auditlens.cloud.native); empties "
     "builder."},
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
    .tp_name = "auditlens.cloud._fastcloud.Builder",
    .tp_basicsize = sizeof(Builder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Arrow columns of the rows of one-line IBM Cloud events (see auditlens.cloud.native).",
    .tp_new = builder_new,
    .tp_dealloc = (destructor)builder_dealloc,
    .tp_methods = builder_methods,
    .tp_getset = builder_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastcloud",
    "The C fast path for one-line IBM Cloud events (optional; auditlens.cloud.native).", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastcloud(void)
{
    init_stops();
    init_lens(top_keys, top_lens, N_TOP);
    init_lens(init_keys, init_lens_, N_INIT);
    init_lens(target_keys, target_lens, N_TARGET);
    init_lens(reason_keys, reason_lens, N_REASON);
    init_lens(host_keys, host_lens, N_HOST);
    init_lens(cred_keys, cred_lens, N_CRED);
    init_lens(cluster_keys, cluster_lens, N_CLUSTER_KEYS);
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
