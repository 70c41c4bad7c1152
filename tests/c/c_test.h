/* A minimal test harness for the C API's tests (C99, no dependencies): CHECK counts failures and prints
 * where; CHECK_FAILS asserts a status code and the stable error id the call left behind. */
#ifndef MLTRACK_TESTS_C_TEST_H
#define MLTRACK_TESTS_C_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mltrack/c/mltrack.h>

static int c_test_failures = 0;
static int c_test_checks = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        ++c_test_checks;                                                              \
        if (!(cond)) {                                                                \
            ++c_test_failures;                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

/* The call succeeds; on failure prints the library's message. */
#define CHECK_OK(call)                                                                                   \
    do {                                                                                                 \
        int c_test_rc_ = (call);                                                                         \
        ++c_test_checks;                                                                                 \
        if (c_test_rc_ != MLTRACK_OK) {                                                                  \
            ++c_test_failures;                                                                           \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #call, c_test_rc_,        \
                    mltrack_last_error());                                                               \
        }                                                                                                \
    } while (0)

/* The call fails with `status` and leaves the error id "mltrack.error.<id>". */
#define CHECK_FAILS(call, status, id)                                                                    \
    do {                                                                                                 \
        int c_test_rc_ = (call);                                                                         \
        ++c_test_checks;                                                                                 \
        if (c_test_rc_ != (status) || strcmp(mltrack_last_error_id(), "mltrack.error." id) != 0) {       \
            ++c_test_failures;                                                                           \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (mltrack.error.%s)\n", __FILE__,     \
                    __LINE__, #call, c_test_rc_, mltrack_last_error(), (int)(status), id);               \
        }                                                                                                \
    } while (0)

static int c_test_report(const char* name) {
    if (c_test_failures == 0) {
        printf("%s: all %d checks passed\n", name, c_test_checks);
        return 0;
    }
    fprintf(stderr, "%s: %d of %d checks failed\n", name, c_test_failures, c_test_checks);
    return 1;
}

#endif
