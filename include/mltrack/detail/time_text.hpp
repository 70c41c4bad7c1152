// Why: times and numbers as text, one way everywhere: the Vertex bodies (RFC 3339), search_runs' columns and
// the command line's tables and exports all print the same instant and the same double identically.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// ns since the Unix epoch as whole seconds and the nanoseconds within that second (0 to 999,999,999),
/// also before 1970.
inline std::time_t split_epoch_ns(std::int64_t time_ns, std::int64_t& ns_in_second) noexcept {
    std::int64_t secs = time_ns / 1000000000;
    ns_in_second = time_ns % 1000000000;
    if (ns_in_second < 0) {
        ns_in_second += 1000000000;
        --secs;
    }
    return static_cast<std::time_t>(secs);
}

/// The UTC calendar time of `time_ns` and its microseconds; false when the year is out of range.
inline bool utc_parts(std::int64_t time_ns, std::tm& tm, std::int64_t& micros) noexcept {
    std::int64_t ns = 0;
    const std::time_t t = split_epoch_ns(time_ns, ns);
    micros = ns / 1000;
    return ::gmtime_r(&t, &tm) != nullptr;
}

/// ISO 8601 / RFC 3339 UTC with microseconds: "2023-11-14T22:13:20.001000Z" (empty when out of range).
inline std::string iso_utc(std::int64_t time_ns) {
    std::tm tm{};
    std::int64_t micros = 0;
    if (!utc_parts(time_ns, tm, micros)) return {};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
    return buf;
}

/// The shortest text that reads back to the same double; "NaN", "Infinity", "-Infinity" otherwise.
inline std::string shortest_double(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, static_cast<std::size_t>(r.ptr - buf));
}

}  // namespace detail
MLTRACK_NAMESPACE_END
