// The one translation unit that provides doctest's main(); every tests/unit/test_<header>.cpp links it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
