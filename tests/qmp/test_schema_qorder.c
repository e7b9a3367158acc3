/* test_schema_qorder.c — QEMU 7.2's dictionary orders: the member order of
 * the objects it prints (QDict buckets) and the leftover argument it names as
 * unexpected (its input visitor's GHashTable). Expected values recorded from
 * a running QEMU 7.2. */
#include "dispatch_test.h"

/* Build an object from space-separated keys, in that order. */
static json_t *object_of(const char *keys)
{
    json_t *o = json_object();
    assert_non_null(o);
    char *copy = strdup(keys), *save = NULL;
    assert_non_null(copy);
    for (char *k = strtok_r(copy, " ", &save); k; k = strtok_r(NULL, " ", &save))
        assert_int_equal(json_object_set_new(o, k, json_integer(1)), 0);
    free(copy);
    return o;
}

static void assert_keys(json_t *o, const char *want)
{
    char got[2048] = "";
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (got[0])
            strcat(got, " ");
        strcat(got, key);
    }
    assert_string_equal(got, want);
}

/* Objects as QEMU's output visitor builds them (schema order) and as it
 * prints them. */
static void test_reorder(void **state)
{
    static const struct {
        const char *built;   /* insertion order */
        const char *printed; /* QEMU 7.2's output order */
    } cases[] = {
        { "running singlestep status", "status singlestep running" },
        { "major minor micro", "micro minor major" },
        { "qemu package", "qemu package" },
        { "error id", "id error" },
        { "return id", "return id" },
        { "event data timestamp", "timestamp event data" },
        { "capability state", "state capability" },
        { "name meta-type arg-type ret-type allow-oob",
          "name ret-type allow-oob meta-type arg-type" },
        /* query-migrate-parameters */
        { "announce-initial announce-max announce-rounds announce-step compress-level "
          "compress-threads compress-wait-thread decompress-threads throttle-trigger-threshold "
          "cpu-throttle-initial cpu-throttle-increment cpu-throttle-tailslow tls-creds "
          "tls-hostname tls-authz max-bandwidth downtime-limit x-checkpoint-delay "
          "block-incremental multifd-channels xbzrle-cache-size max-postcopy-bandwidth "
          "max-cpu-throttle multifd-compression multifd-zlib-level multifd-zstd-level",
          "cpu-throttle-tailslow xbzrle-cache-size cpu-throttle-initial announce-max "
          "decompress-threads compress-threads compress-level multifd-channels "
          "multifd-zstd-level announce-initial block-incremental compress-wait-thread "
          "downtime-limit tls-authz multifd-compression announce-rounds announce-step tls-creds "
          "multifd-zlib-level max-cpu-throttle max-postcopy-bandwidth tls-hostname "
          "throttle-trigger-threshold max-bandwidth x-checkpoint-delay cpu-throttle-increment" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *o = object_of(cases[i].built);
        json_t *r = qmp_qdict_reorder(o);
        assert_keys(r, cases[i].printed);
        const char **keys;
        int n = qmp_qdict_keys(o, &keys);
        assert_int_equal(n, (int)json_object_size(o));
        json_t *again = json_object();
        for (int k = 0; k < n; k++)
            json_object_set_new(again, keys[k], json_null());
        assert_keys(again, cases[i].printed);
        free(keys);
        json_decref(again);
        json_decref(r);
        json_decref(o);
    }
    /* Nested: objects inside arrays inside objects. */
    json_t *v = json_pack("{s:[{s:i, s:i}], s:i, s:i}", "b", "y", 1, "x", 2, "a", 1, "id", 3);
    json_t *r = qmp_qdict_reorder(v);
    char *text = json_dumps(r, 0);
    assert_string_equal(text, "{\"a\": 1, \"b\": [{\"x\": 2, \"y\": 1}], \"id\": 3}");
    free(text);
    json_decref(r);
    json_decref(v);
    const char **none;
    json_t *empty = json_object();
    assert_int_equal(qmp_qdict_keys(empty, &none), 0);
    assert_null(none);
    json_decref(empty);
}

/* The 27 members of migrate-set-parameters, in schema order. */
static const char *const msp[] = {
    "announce-initial", "announce-max", "announce-rounds", "announce-step", "compress-level",
    "compress-threads", "compress-wait-thread", "decompress-threads",
    "throttle-trigger-threshold", "cpu-throttle-initial", "cpu-throttle-increment",
    "cpu-throttle-tailslow", "tls-creds", "tls-hostname", "tls-authz", "max-bandwidth",
    "downtime-limit", "x-checkpoint-delay", "block-incremental", "multifd-channels",
    "xbzrle-cache-size", "max-postcopy-bandwidth", "max-cpu-throttle", "multifd-compression",
    "multifd-zlib-level", "multifd-zstd-level", "block-bitmap-mapping",
};

/* migrate-set-parameters with valid members and extra ones, in the order
 * sent; QEMU 7.2 named the second string as unexpected. Sizes from 1 to 58
 * keys, so that glib's table resizes on the way. */
static const struct {
    const char *keys;     /* the arguments' keys in the order sent */
    const char *reported; /* the one QEMU reported */
} leftovers[] = {
    { "block-incremental xbzrle-cache-size x-checkpoint-delay announce-max "
      "announce-rounds compress-level cpu-throttle-tailslow b multifd-compression "
      "announce-step tls-creds",
      "b" },
    { "max-cpu-throttle tls-creds bar announce-max block-incremental "
      "block-bitmap-mapping multifd-zlib-level xbzrle-cache-size",
      "bar" },
    { "max-postcopy-bandwidth _ multifd-zlib-level compress-threads multifd-zstd-level "
      "cpu-throttle-initial k2 block-bitmap-mapping announce-rounds "
      "throttle-trigger-threshold cpu-throttle-increment cpu-throttle-tailslow "
      "announce-step ba x-checkpoint-delay multifd-channels block-incremental "
      "compress-wait-thread max-cpu-throttle announce-max decompress-threads",
      "_" },
    { "max-bandwidth tls-hostname max-postcopy-bandwidth k1 announce-max k8",
      "k8" },
    { "multifd-zlib-level k3 max-bandwidth k8 block-incremental announce-rounds b "
      "decompress-threads x-checkpoint-delay compress-wait-thread announce-initial "
      "block-bitmap-mapping downtime-limit foo announce-max x cpu-throttle-increment "
      "throttle-trigger-threshold tls-authz compress-threads hello "
      "cpu-throttle-tailslow max-cpu-throttle multifd-compression cpu-throttle-initial",
      "b" },
    { "k8 k10 k1 k9 a uri Z long-name-here foo k3 id bar world y k5 b k2 "
      "decompress-threads qux x ba ab max-bandwidth zz - k6 announce-initial baz "
      "max-postcopy-bandwidth name hello",
      "x" },
    { "y tls-authz cpu-throttle-initial max-bandwidth",
      "y" },
    { "max-bandwidth multifd-compression id compress-level max-cpu-throttle "
      "max-postcopy-bandwidth cpu-throttle-tailslow announce-initial compress-threads "
      "announce-max k8 downtime-limit tls-hostname throttle-trigger-threshold "
      "block-bitmap-mapping cpu-throttle-initial block-incremental x-checkpoint-delay "
      "tls-authz tls-creds cpu-throttle-increment world compress-wait-thread "
      "announce-rounds multifd-zlib-level decompress-threads",
      "k8" },
    { "k3 max-bandwidth compress-wait-thread foo decompress-threads hello",
      "k3" },
    { "announce-step decompress-threads cpu-throttle-tailslow x-checkpoint-delay "
      "announce-rounds y compress-level multifd-compression block-bitmap-mapping "
      "announce-initial compress-wait-thread max-cpu-throttle "
      "throttle-trigger-threshold max-postcopy-bandwidth announce-max name k1 "
      "multifd-zstd-level cpu-throttle-initial compress-threads k10 "
      "cpu-throttle-increment k5 tls-hostname a _ long-name-here multifd-zlib-level "
      "tls-creds block-incremental downtime-limit max-bandwidth xbzrle-cache-size",
      "a" },
    { "announce-initial block-incremental announce-step multifd-channels announce-max "
      "compress-wait-thread tls-authz compress-level block-bitmap-mapping "
      "cpu-throttle-increment multifd-zlib-level cpu-throttle-initial compress-threads "
      "cpu-throttle-tailslow throttle-trigger-threshold multifd-compression "
      "x-checkpoint-delay id max-postcopy-bandwidth xbzrle-cache-size tls-creds "
      "downtime-limit ba tls-hostname max-bandwidth announce-rounds multifd-zstd-level "
      "k3 max-cpu-throttle decompress-threads",
      "k3" },
    { "a foo max-postcopy-bandwidth decompress-threads cpu-throttle-initial "
      "compress-wait-thread cpu-throttle-increment ba long-name-here multifd-zlib-level "
      "ab cpu-throttle-tailslow k7 tls-authz max-bandwidth announce-max "
      "max-cpu-throttle x-checkpoint-delay xbzrle-cache-size k3 k1 "
      "throttle-trigger-threshold c - multifd-compression compress-level announce-step "
      "k10 multifd-channels tls-creds announce-rounds id name multifd-zstd-level",
      "k7" },
    { "multifd-zstd-level announce-step multifd-channels block-incremental "
      "max-postcopy-bandwidth throttle-trigger-threshold id xbzrle-cache-size "
      "announce-rounds announce-initial multifd-compression block-bitmap-mapping "
      "max-cpu-throttle decompress-threads",
      "id" },
    { "compress-threads compress-wait-thread downtime-limit cpu-throttle-initial "
      "multifd-zlib-level a tls-authz throttle-trigger-threshold k9 xbzrle-cache-size "
      "multifd-zstd-level",
      "k9" },
    { "max-postcopy-bandwidth tls-authz tls-hostname k10 announce-step Z max-bandwidth "
      "qux multifd-zlib-level world xbzrle-cache-size uri",
      "k10" },
    { "block-bitmap-mapping bar id cpu-throttle-initial announce-step b a "
      "max-postcopy-bandwidth cpu-throttle-increment tls-creds name xbzrle-cache-size "
      "downtime-limit cpu-throttle-tailslow uri multifd-compression max-cpu-throttle "
      "announce-initial block-incremental max-bandwidth throttle-trigger-threshold "
      "compress-wait-thread multifd-zlib-level announce-rounds compress-level - zz "
      "announce-max compress-threads tls-authz multifd-zstd-level decompress-threads "
      "foo tls-hostname multifd-channels",
      "foo" },
    { "multifd-compression xbzrle-cache-size Z cpu-throttle-initial k10 world b "
      "multifd-channels k6",
      "b" },
    { "announce-max x k4 announce-initial - name qux",
      "-" },
    { "tls-hostname xbzrle-cache-size block-incremental downtime-limit announce-initial "
      "tls-authz announce-rounds announce-max max-postcopy-bandwidth max-bandwidth "
      "block-bitmap-mapping x-checkpoint-delay throttle-trigger-threshold "
      "multifd-channels max-cpu-throttle announce-step decompress-threads "
      "cpu-throttle-tailslow compress-level multifd-zlib-level k7",
      "k7" },
    { "k5 max-bandwidth x",
      "k5" },
    { "compress-wait-thread x-checkpoint-delay cpu-throttle-initial c "
      "decompress-threads announce-max multifd-channels - max-bandwidth "
      "max-postcopy-bandwidth announce-initial xbzrle-cache-size compress-level "
      "tls-authz cpu-throttle-increment downtime-limit announce-rounds foo _ "
      "multifd-zlib-level announce-step tls-hostname multifd-zstd-level "
      "max-cpu-throttle throttle-trigger-threshold",
      "foo" },
    { "multifd-zstd-level max-cpu-throttle multifd-compression announce-initial "
      "announce-step xbzrle-cache-size compress-wait-thread long-name-here qux name "
      "tls-creds c cpu-throttle-tailslow multifd-zlib-level tls-authz baz "
      "max-postcopy-bandwidth cpu-throttle-increment",
      "qux" },
    { "announce-max cpu-throttle-initial announce-step tls-hostname tls-authz k4 "
      "multifd-zstd-level downtime-limit compress-threads xbzrle-cache-size "
      "multifd-compression announce-initial announce-rounds x-checkpoint-delay k7 qux "
      "multifd-channels - _ tls-creds max-cpu-throttle max-bandwidth long-name-here "
      "block-incremental uri decompress-threads cpu-throttle-increment hello "
      "compress-level max-postcopy-bandwidth multifd-zlib-level bar "
      "block-bitmap-mapping compress-wait-thread baz",
      "k7" },
    { "k9 cpu-throttle-tailslow cpu-throttle-increment compress-level max-bandwidth Z "
      "throttle-trigger-threshold - qux c max-postcopy-bandwidth baz bar world k5 "
      "multifd-compression downtime-limit k7 ba y k6 k1 ab compress-wait-thread "
      "announce-max _ k4 foo a name k10 uri tls-creds tls-hostname",
      "k4" },
    { "cpu-throttle-initial qux announce-rounds downtime-limit",
      "qux" },
    { "baz uri ba",
      "baz" },
    { "max-cpu-throttle decompress-threads baz announce-max announce-initial "
      "x-checkpoint-delay max-postcopy-bandwidth multifd-zstd-level "
      "compress-wait-thread tls-authz xbzrle-cache-size k5 tls-hostname bar "
      "downtime-limit c cpu-throttle-initial max-bandwidth cpu-throttle-increment",
      "bar" },
    { "uri tls-authz multifd-compression multifd-zlib-level cpu-throttle-initial k8 - "
      "decompress-threads compress-wait-thread Z x",
      "-" },
    { "k6 qux announce-initial ba announce-max Z id tls-hostname max-cpu-throttle "
      "compress-level k7 multifd-channels",
      "k6" },
    { "cpu-throttle-tailslow compress-threads tls-creds tls-authz announce-initial "
      "max-cpu-throttle announce-rounds throttle-trigger-threshold block-bitmap-mapping "
      "compress-wait-thread announce-max cpu-throttle-increment compress-level "
      "multifd-channels multifd-compression xbzrle-cache-size k6 block-incremental "
      "hello x-checkpoint-delay max-postcopy-bandwidth multifd-zlib-level announce-step",
      "k6" },
    { "xbzrle-cache-size cpu-throttle-increment announce-step multifd-zstd-level "
      "cpu-throttle-initial decompress-threads announce-initial cpu-throttle-tailslow "
      "max-cpu-throttle multifd-channels tls-authz tls-creds x-checkpoint-delay "
      "downtime-limit baz block-incremental announce-max compress-threads "
      "max-postcopy-bandwidth announce-rounds multifd-zlib-level k9 "
      "throttle-trigger-threshold max-bandwidth multifd-compression",
      "baz" },
    { "x-checkpoint-delay max-cpu-throttle decompress-threads announce-step "
      "cpu-throttle-tailslow tls-authz cpu-throttle-increment bar block-bitmap-mapping "
      "xbzrle-cache-size compress-threads max-postcopy-bandwidth compress-wait-thread "
      "throttle-trigger-threshold announce-rounds tls-hostname",
      "bar" },
    { "block-bitmap-mapping max-cpu-throttle announce-step x-checkpoint-delay tls-creds "
      "cpu-throttle-increment multifd-compression multifd-zlib-level "
      "throttle-trigger-threshold compress-threads k10 Z cpu-throttle-tailslow "
      "multifd-channels cpu-throttle-initial ba tls-authz announce-initial announce-max "
      "xbzrle-cache-size max-postcopy-bandwidth bar decompress-threads compress-level "
      "multifd-zstd-level compress-wait-thread announce-rounds",
      "bar" },
    { "cpu-throttle-increment throttle-trigger-threshold zz block-bitmap-mapping "
      "compress-wait-thread multifd-compression multifd-zlib-level k3 announce-max "
      "announce-initial tls-hostname uri c multifd-channels compress-level b foo",
      "b" },
    { "block-bitmap-mapping multifd-zstd-level multifd-zlib-level xbzrle-cache-size "
      "multifd-channels k2 compress-wait-thread Z max-cpu-throttle announce-max "
      "announce-initial qux downtime-limit max-postcopy-bandwidth "
      "cpu-throttle-increment x-checkpoint-delay throttle-trigger-threshold "
      "announce-rounds tls-hostname cpu-throttle-initial block-incremental "
      "cpu-throttle-tailslow announce-step tls-creds",
      "qux" },
    { "k10 foo block-bitmap-mapping multifd-zlib-level qux k5 compress-level "
      "compress-threads max-bandwidth x k3 max-postcopy-bandwidth b announce-max k1 - "
      "world cpu-throttle-increment c long-name-here k8 tls-creds zz _ bar hello k9 "
      "cpu-throttle-initial announce-rounds k6 k2 name compress-wait-thread",
      "x" },
    { "throttle-trigger-threshold decompress-threads compress-threads max-cpu-throttle "
      "tls-hostname max-postcopy-bandwidth multifd-zstd-level x-checkpoint-delay "
      "tls-authz cpu-throttle-increment block-incremental compress-wait-thread "
      "announce-max downtime-limit multifd-zlib-level a cpu-throttle-tailslow "
      "announce-rounds multifd-channels announce-initial announce-step compress-level "
      "tls-creds xbzrle-cache-size multifd-compression block-bitmap-mapping "
      "max-bandwidth",
      "a" },
    { "- multifd-zlib-level tls-creds decompress-threads name downtime-limit "
      "long-name-here throttle-trigger-threshold cpu-throttle-increment max-bandwidth "
      "compress-threads announce-max compress-wait-thread compress-level "
      "multifd-channels announce-rounds xbzrle-cache-size cpu-throttle-tailslow "
      "announce-initial max-cpu-throttle x-checkpoint-delay tls-hostname",
      "-" },
    { "xbzrle-cache-size announce-max throttle-trigger-threshold announce-initial "
      "cpu-throttle-initial downtime-limit block-bitmap-mapping block-incremental uri "
      "cpu-throttle-increment y",
      "uri" },
    { "a",
      "a" },
    { "block-bitmap-mapping max-postcopy-bandwidth y multifd-zstd-level "
      "x-checkpoint-delay tls-hostname ba decompress-threads compress-level c k6 k4 x "
      "announce-step downtime-limit announce-rounds max-cpu-throttle xbzrle-cache-size "
      "compress-wait-thread announce-initial cpu-throttle-initial cpu-throttle-tailslow "
      "_ compress-threads block-incremental k5",
      "k5" },
    { "announce-initial announce-max x long-name-here cpu-throttle-increment "
      "multifd-channels multifd-zlib-level cpu-throttle-initial cpu-throttle-tailslow "
      "baz tls-hostname k5 x-checkpoint-delay k7 zz downtime-limit max-cpu-throttle Z "
      "decompress-threads multifd-compression throttle-trigger-threshold ab k4 "
      "max-postcopy-bandwidth - xbzrle-cache-size ba c bar compress-threads "
      "compress-level compress-wait-thread",
      "k7" },
    { "decompress-threads x-checkpoint-delay announce-initial max-bandwidth "
      "multifd-zstd-level downtime-limit xbzrle-cache-size multifd-channels "
      "max-postcopy-bandwidth cpu-throttle-initial max-cpu-throttle qux tls-hostname",
      "qux" },
    { "block-bitmap-mapping announce-initial multifd-zstd-level announce-max "
      "compress-level multifd-channels name multifd-zlib-level k8 xbzrle-cache-size "
      "max-cpu-throttle block-incremental announce-rounds foo",
      "k8" },
    { "cpu-throttle-increment announce-initial x-checkpoint-delay ab "
      "compress-wait-thread cpu-throttle-tailslow k8 throttle-trigger-threshold "
      "max-postcopy-bandwidth announce-rounds world tls-hostname announce-max "
      "block-incremental max-bandwidth a multifd-zlib-level block-bitmap-mapping "
      "announce-step multifd-compression multifd-channels multifd-zstd-level "
      "compress-level tls-creds max-cpu-throttle xbzrle-cache-size decompress-threads "
      "compress-threads downtime-limit cpu-throttle-initial",
      "ab" },
    { "announce-max decompress-threads downtime-limit max-postcopy-bandwidth "
      "max-cpu-throttle announce-step compress-threads k1 block-incremental "
      "compress-wait-thread multifd-compression block-bitmap-mapping uri foo "
      "cpu-throttle-tailslow compress-level cpu-throttle-increment world "
      "multifd-channels throttle-trigger-threshold ab tls-authz announce-initial "
      "tls-hostname multifd-zlib-level cpu-throttle-initial multifd-zstd-level "
      "max-bandwidth x-checkpoint-delay baz tls-creds announce-rounds",
      "ab" },
    { "max-cpu-throttle id multifd-zlib-level block-bitmap-mapping decompress-threads "
      "throttle-trigger-threshold long-name-here foo k5 - cpu-throttle-increment "
      "xbzrle-cache-size multifd-channels bar zz k7 x baz downtime-limit "
      "cpu-throttle-initial compress-level max-postcopy-bandwidth k8 block-incremental "
      "qux compress-wait-thread",
      "k7" },
    { "block-incremental xbzrle-cache-size hello multifd-compression ab y world x k2 "
      "bar tls-creds id k4 decompress-threads Z announce-initial foo k5 name "
      "long-name-here tls-hostname _ ba c k10 zz multifd-channels - k8 k7 b k6",
      "x" },
};

static void test_leftover(void **state)
{
    for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++) {
        json_t *o = object_of(leftovers[i].keys);
        const char *consumed[sizeof(msp) / sizeof(msp[0])];
        size_t n = 0;
        for (size_t m = 0; m < sizeof(msp) / sizeof(msp[0]); m++)
            if (json_object_get(o, msp[m]))
                consumed[n++] = msp[m];
        const char *got = qmp_qdict_leftover(o, consumed, n);
        assert_non_null(got);
        if (strcmp(got, leftovers[i].reported) != 0)
            fprintf(stderr, "case %zu: got '%s'\n", i, got);
        assert_string_equal(got, leftovers[i].reported);
        json_decref(o);
    }
    /* Nothing left: NULL. */
    json_t *o = object_of("announce-max tls-creds");
    const char *both[] = { "announce-max", "tls-creds" };
    assert_null(qmp_qdict_leftover(o, both, 2));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reorder),
        cmocka_unit_test(test_leftover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
