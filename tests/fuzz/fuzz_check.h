// A property check for fuzz targets: a violated property aborts, which
// libFuzzer (and the replay driver) report as a crash with the input.
#ifndef SYNCADMIN_TESTS_FUZZ_FUZZ_CHECK_H_
#define SYNCADMIN_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define SYNCADMIN_FUZZ_CHECK(condition)                                \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      std::abort();                                                    \
    }                                                                  \
  } while (false)

#endif  // SYNCADMIN_TESTS_FUZZ_FUZZ_CHECK_H_
