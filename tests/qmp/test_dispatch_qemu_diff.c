/* test_dispatch_qemu_diff.c — differential test against QEMU 7.2: the same
 * few hundred random requests (bad objects, unknown commands, exec-oob,
 * wrong arguments, unions, ids of every JSON kind) go to a live
 * qemu-system-x86_64 and to vmig's dispatcher; every reply QEMU gives before
 * running a command must be vmig's, byte for byte. Skipped without QEMU. */
#include "dispatch_test.h"

#include <sys/wait.h>

#define NREQ 400

/* xorshift64*: the same requests on every run. */
static uint64_t rng_state;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (unsigned)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static const char *pick(const char *const *v, size_t n)
{
    return v[rnd((unsigned)n)];
}
#define PICK(v) pick((v), sizeof(v) / sizeof((v)[0]))

static json_t *rvalue(int depth);

static json_t *robject(int depth)
{
    static const char *const keys[] = { "fdname", "instances", "uri", "a", "b", "enable",
                                        "type", "id", "node-name", "zz" };
    json_t *o = json_object();
    for (unsigned i = rnd(5); i > 0; i--)
        json_object_set_new(o, PICK(keys), rvalue(depth + 1));
    return o;
}

static json_t *rvalue(int depth)
{
    static const char *const strs[] = { "x", "oob", "chardev", "migration", "block-node",
                                        "nosuch", "" };
    unsigned r = rnd(100);
    if (depth < 2 && r < 12) {
        json_t *a = json_array();
        for (unsigned i = rnd(4); i > 0; i--)
            json_array_append_new(a, rvalue(depth + 1));
        return a;
    }
    if (depth < 2 && r < 25)
        return robject(depth + 1);
    switch (rnd(10)) {
    case 0:
        return json_integer((json_int_t)rnd(3) - 1);
    case 1:
        return json_integer(256);
    case 2:
        return json_real(1.5);
    case 3:
        return json_true();
    case 4:
        return json_false();
    case 5:
        return json_null();
    case 6:
        return json_integer(INT64_MAX);
    default:
        return json_string(PICK(strs));
    }
}

static json_t *yank_args(void)
{
    static const char *const types[] = { "chardev", "migration", "block-node", "x" };
    json_t *list = json_array();
    for (unsigned i = rnd(4); i > 0; i--) {
        json_t *inst = json_object();
        if (rnd(10) < 9)
            json_object_set_new(inst, "type", rnd(8) ? json_string(PICK(types)) : json_integer(1));
        if (rnd(2))
            json_object_set_new(inst, "id", rnd(2) ? json_string("c") : json_integer(1));
        if (rnd(3) == 0)
            json_object_set_new(inst, "node-name", rnd(2) ? json_string("n") : json_integer(2));
        if (rnd(5) == 0)
            json_object_set_new(inst, "zz", json_integer(1));
        json_array_append_new(list, inst);
    }
    return json_pack("{s:o}", "instances", rnd(10) ? list : (json_decref(list), rvalue(1)));
}

/* One random request as text (members in random order). */
static char *request(void)
{
    static const char *const cmds[] = { "getfd", "closefd", "yank", "migrate-recover",
                                        "query-yank", "migrate-pause", "qmp_capabilities",
                                        "nosuch", "stop" };
    if (rnd(20) == 0) {
        json_t *v = rvalue(0);
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        json_decref(v);
        return s;
    }
    const char *cmd = PICK(cmds);
    json_t *members[6];
    const char *names[6];
    int n = 0;
    unsigned k = rnd(9); /* 0-4 execute, 5-6 exec-oob, 7 both, 8 neither */
    if (k <= 4 || k == 7) {
        names[n] = "execute";
        members[n++] = rnd(20) ? json_string(cmd) : rvalue(1);
    }
    if (k == 5 || k == 6 || k == 7) {
        names[n] = "exec-oob";
        members[n++] = rnd(20) ? json_string(cmd) : rvalue(1);
    }
    if (rnd(10) < 7) {
        names[n] = "arguments";
        members[n++] = !strcmp(cmd, "yank") && rnd(10) < 7 ? yank_args()
                       : rnd(10)                           ? robject(0)
                                                           : rvalue(0);
    }
    if (rnd(2)) {
        names[n] = "id";
        members[n++] = rvalue(0);
    }
    if (rnd(10) == 0) {
        names[n] = rnd(2) ? "foo" : "arguments2";
        members[n++] = json_integer(1);
    }
    for (int i = n - 1; i > 0; i--) { /* shuffle */
        int j = (int)rnd((unsigned)i + 1);
        json_t *m = members[i];
        const char *nm = names[i];
        members[i] = members[j];
        names[i] = names[j];
        members[j] = m;
        names[j] = nm;
    }
    json_t *o = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(o, names[i], members[i]); /* a repeated name keeps the last */
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* What a handler QEMU ran may answer; vmig's test handlers answer HANDLER. */
static bool ran_handler(json_t *reply)
{
    static const char *const texts[] = {
        "No file descriptor supplied via SCM_RIGHTS", "File descriptor named",
        "Instance not found", "Migrate recover can only be run",
        "migrate-pause is currently only supported", "HANDLER",
    };
    if (json_object_get(reply, "return"))
        return true;
    const char *desc =
        json_string_value(json_object_get(json_object_get(reply, "error"), "desc"));
    for (size_t i = 0; desc && i < sizeof(texts) / sizeof(texts[0]); i++)
        if (strstr(desc, texts[i]))
            return true;
    return false;
}

/* A reply, with handler outcomes reduced to their id (handlers differ). */
static char *normalized(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    if (ran_handler(j)) {
        json_t *id = json_object_get(j, "id");
        json_t *n = json_pack("{s:s, s:O?}", "ran", "handler", "id", id);
        json_decref(j);
        j = n;
    }
    char *s = json_dumps(j, JSON_ENSURE_ASCII | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int handler(vmig_qmp_req_t *req, void *opaque, json_t **ret, vmig_qmp_error_t *err)
{
    return vmig_qmp_error_set(err, VMIG_QMP_ERROR_GENERIC, "HANDLER");
}

static bool have_qemu(void)
{
    return system("command -v qemu-system-x86_64 >/dev/null 2>&1") == 0;
}

/* Run the requests through QEMU: its replies (no greeting, no events), the
 * count of them not counting the two added at the end. */
static size_t run_qemu(const char *dir, char **reqs, size_t n, char **out)
{
    char in_path[300], out_path[300], cmd[1024];
    snprintf(in_path, sizeof(in_path), "%s/in", dir);
    snprintf(out_path, sizeof(out_path), "%s/out", dir);
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", reqs[i]);
    /* Negotiate (if the random requests did not) and quit: two more replies. */
    fprintf(f, "{\"execute\": \"qmp_capabilities\"}\n{\"execute\": \"quit\"}\n");
    fclose(f);
    /* stdin stays open until QEMU has quit: at end of input QEMU drops the
     * requests still queued, as a closed connection's. */
    snprintf(cmd, sizeof(cmd),
             "cd %s && (cat in; while [ ! -e rc ]; do sleep 0.02; done) | "
             "(timeout 60 qemu-system-x86_64 -M none -display none -nodefaults -qmp stdio "
             "> out 2>/dev/null; echo $? > rc)",
             dir);
    assert_int_equal(system(cmd), 0);
    char rc_path[300];
    snprintf(rc_path, sizeof(rc_path), "%s/rc", dir);
    f = fopen(rc_path, "r");
    assert_non_null(f);
    int rc = -1;
    assert_int_equal(fscanf(f, "%d", &rc), 1);
    fclose(f);
    unlink(rc_path);
    assert_int_equal(rc, 0);
    f = fopen(out_path, "r");
    assert_non_null(f);
    size_t got = 0;
    char line[1 << 16];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "{\"QMP\"", 6) == 0 || strstr(line, "\"timestamp\": {"))
            continue;
        if (got < n)
            out[got] = strdup(line);
        got++;
    }
    fclose(f);
    unlink(in_path);
    unlink(out_path);
    return got - 2;
}

static void run_diff(uint64_t seed, int mode)
{
    rng_state = seed;
    char *reqs[NREQ + 1], *q[NREQ + 1], *v[NREQ + 1];
    size_t n = 0;
    /* mode 0: no negotiation first; 1: plain; 2: with oob. */
    if (mode)
        reqs[n++] = strdup(mode == 2 ? "{\"execute\": \"qmp_capabilities\", \"arguments\": "
                                       "{\"enable\": [\"oob\"]}}"
                                     : "{\"execute\": \"qmp_capabilities\"}");
    while (n < NREQ)
        reqs[n++] = request();

    char dir[] = "/tmp/vmig-qmp-diff-XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t nq = run_qemu(dir, reqs, n, q);
    rmdir(dir);
    assert_int_equal(nq, n);

    dt_t t;
    dt_conn_t c;
    dt_init(&t);
    static const char *const cmds[] = { "getfd", "closefd", "yank", "migrate-recover",
                                        "query-yank", "migrate-pause", "stop" };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        assert_int_equal(vmig_qmp_register(t.qmp, cmds[i], handler, NULL), 0);
    dt_open(&t, &c, true);
    for (size_t i = 0; i < n; i++) {
        dt_input(&t, &c, reqs[i]);
        assert_int_equal(dt_pending(&c), 1);
        v[i] = dt_take(&c);
    }
    dt_end(&t, &c);

    for (size_t i = 0; i < n; i++) {
        char *a = normalized(q[i]), *b = normalized(v[i]);
        free(q[i]);
        free(v[i]);
        q[i] = a;
        v[i] = b;
    }
    /* With oob, QEMU's replies to exec-oob overtake: compare as sets. */
    if (mode == 2) {
        qsort(q, n, sizeof(q[0]), cmp_str);
        qsort(v, n, sizeof(v[0]), cmp_str);
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(q[i], v[i]) != 0 && bad++ < 5)
            fprintf(stderr, "%s\n  qemu: %s\n  vmig: %s\n", mode == 2 ? "" : reqs[i], q[i], v[i]);
        free(q[i]);
        free(v[i]);
        free(reqs[i]);
    }
    assert_int_equal(bad, 0);
}

static void test_diff(void **state)
{
    if (!have_qemu())
        skip();
    run_diff(0x1234567u, 0);
    run_diff(0x89abcdefu, 1);
    run_diff(0x2468aceu, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
