/* co_test.h — what every coroutine test includes: cmocka and the runtime. */
#ifndef CO_TEST_H
#define CO_TEST_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmig/co.h"
#endif
