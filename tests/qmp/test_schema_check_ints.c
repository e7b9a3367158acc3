/* test_schema_check_ints.c — the integer types: their ranges and texts as
 * QEMU 7.2's visitor has them (unsigned ones accept negative values, which
 * wrap; range errors name the bare member; non-integers differ between
 * signed and unsigned types). */
#include "schema_test.h"

static const char *cmds =
    "[{\"command\": \"c\", \"since\": \"1\", \"doc\": \"d\", \"arguments\": ["
    "{\"name\": \"i\", \"type\": \"int\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"i8\", \"type\": \"int8\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"i16\", \"type\": \"int16\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"i32\", \"type\": \"int32\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"i64\", \"type\": \"int64\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"u8\", \"type\": \"uint8\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"u16\", \"type\": \"uint16\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"u32\", \"type\": \"uint32\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"u64\", \"type\": \"uint64\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"sz\", \"type\": \"size\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"n\", \"type\": \"number\", \"optional\": true, \"doc\": \"d\"},"
    "{\"name\": \"l8\", \"type\": [\"uint8\"], \"optional\": true, \"doc\": \"d\"}]}]";

static const st_case_t signed_cases[] = {
    { "{\"i\": -9223372036854775807}", "" },
    { "{\"i\": 1.5}", "Invalid parameter type for 'i', expected: integer" },
    { "{\"i\": 1e3}", "Invalid parameter type for 'i', expected: integer" },
    { "{\"i\": \"1\"}", "Invalid parameter type for 'i', expected: integer" },
    { "{\"i64\": true}", "Invalid parameter type for 'i64', expected: integer" },
    { "{\"i8\": -128, \"i16\": 32767, \"i32\": -2147483648}", "" },
    { "{\"i8\": 128}", "Parameter 'i8' expects int8_t" },
    { "{\"i8\": -129}", "Parameter 'i8' expects int8_t" },
    { "{\"i16\": -32769}", "Parameter 'i16' expects int16_t" },
    { "{\"i32\": 2147483648}", "Parameter 'i32' expects int32_t" },
    { "{\"i32\": null}", "Invalid parameter type for 'i32', expected: integer" },
};

static void test_signed(void **state)
{
    st_expect_all(NULL, cmds, "c", signed_cases, ST_N(signed_cases));
}

static const st_case_t unsigned_cases[] = {
    /* Recorded from QEMU 7.2 (decompress-threads, x-checkpoint-delay,
     * max-bandwidth). */
    { "{\"u8\": 256}", "Parameter 'u8' expects uint8_t" },
    { "{\"u8\": -1}", "Parameter 'u8' expects uint8_t" },
    { "{\"u8\": 1.5}", "Parameter 'u8' expects uint64" },
    { "{\"u8\": \"1\"}", "Parameter 'u8' expects uint64" },
    { "{\"u32\": 4294967296}", "Parameter 'u32' expects uint32_t" },
    { "{\"sz\": -1}", "" },
    { "{\"sz\": 1e3}", "Parameter 'sz' expects uint64" },
    { "{\"u8\": 255, \"u16\": 65535, \"u32\": 4294967295, \"u64\": -1}", "" },
    { "{\"u16\": 65536}", "Parameter 'u16' expects uint16_t" },
    { "{\"u64\": false}", "Parameter 'u64' expects uint64" },
    /* A JSON decoder may give integers above INT64_MAX as reals. */
    { "{\"u64\": 18446744073709551615.0}", "" },
    { "{\"u64\": 18446744073709551616.0}", "" },
    { "{\"u64\": 3e19}", "Parameter 'u64' expects uint64" },
    { "{\"u8\": 9223372036854775808.0}", "Parameter 'u8' expects uint8_t" },
    /* In a list: the range error names no member ("null"), the type error
     * gives the path. */
    { "{\"l8\": [1, 300]}", "Parameter 'null' expects uint8_t" },
    { "{\"l8\": [1, \"x\"]}", "Parameter 'l8[1]' expects uint64" },
};

static void test_unsigned(void **state)
{
    st_expect_all(NULL, cmds, "c", unsigned_cases, ST_N(unsigned_cases));
}

static const st_case_t number_cases[] = {
    { "{\"n\": 1}", "" },
    { "{\"n\": -1.5e300}", "" },
    { "{\"n\": \"1\"}", "Invalid parameter type for 'n', expected: number" },
};

static void test_number(void **state)
{
    st_expect_all(NULL, cmds, "c", number_cases, ST_N(number_cases));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
