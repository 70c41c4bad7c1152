// detail/time_text.hpp: instants and doubles as text, shared by the Vertex bodies, search_runs and the CLI.
#include <doctest/doctest.h>

#include <mltrack/detail/time_text.hpp>

#include <cmath>
#include <limits>
#include <string>

using namespace mltrack::detail;

TEST_CASE("split_epoch_ns: whole seconds and the ns within them, also before 1970") {
    std::int64_t ns = 0;
    CHECK(split_epoch_ns(1500000000, ns) == 1);
    CHECK(ns == 500000000);
    CHECK(split_epoch_ns(-1, ns) == -1);
    CHECK(ns == 999999999);
    CHECK(split_epoch_ns(-1000000000, ns) == -1);
    CHECK(ns == 0);
}

TEST_CASE("iso_utc: RFC 3339 UTC with microseconds; empty out of range") {
    CHECK(iso_utc(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(iso_utc(1700000000001000000) == "2023-11-14T22:13:20.001000Z");
    CHECK(iso_utc(-1000) == "1969-12-31T23:59:59.999999Z");
    CHECK(iso_utc(999) == "1970-01-01T00:00:00.000000Z");  // below a microsecond: cut, not rounded
    std::tm tm{};
    std::int64_t us = 0;
    REQUIRE(utc_parts(1700000000001000000, tm, us));
    CHECK(tm.tm_hour == 22);
    CHECK(us == 1000);
}

TEST_CASE("shortest_double: reads back to the same value; non-finite values by name") {
    CHECK(shortest_double(0.1) == "0.1");
    CHECK(shortest_double(1e300) == "1e+300");
    CHECK(std::stod(shortest_double(1.0 / 3)) == 1.0 / 3);
    CHECK(shortest_double(std::nan("")) == "NaN");
    CHECK(shortest_double(std::numeric_limits<double>::infinity()) == "Infinity");
    CHECK(shortest_double(-std::numeric_limits<double>::infinity()) == "-Infinity");
}
