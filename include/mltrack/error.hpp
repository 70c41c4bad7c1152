// Why: every mistake a caller can make on a cold call (a bad name, a mismatched shape, a run that already
// exists) surfaces as one exception type whose message starts with a stable id, "[mltrack.error.<cat>.<n>]",
// so tests and users can match on it. Hot-path calls never throw; sink I/O failures never reach the caller
// as exceptions but go to the tracker's error handler (see config.hpp).
#pragma once

#include <stdexcept>
#include <string>

#include "detail/compiled.hpp"
#include "version.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Error categories; the full list of ids is in docs/errors.md.
enum class error_category {
    name,    ///< invalid experiment, run, metric, param or artifact name
    value,   ///< invalid value (non-finite param, huge string, ...)
    shape,   ///< mismatched lengths or shapes (classification metrics)
    state,   ///< operation not allowed in the run's state (ended run, run exists, run missing)
    io,      ///< file system error (on reads and store operations; sink writes go to the error handler)
    format,  ///< malformed input file (JSONL reader)
    config,  ///< invalid configuration
};

inline const char* to_string(error_category c) noexcept {
    switch (c) {
        case error_category::name: return "name";
        case error_category::value: return "value";
        case error_category::shape: return "shape";
        case error_category::state: return "state";
        case error_category::io: return "io";
        case error_category::format: return "format";
        case error_category::config: return "config";
    }
    return "unknown";
}

/// The one exception type mltrack throws. what() is "[mltrack.error.<category>.<id>] <message>".
class error : public std::runtime_error {
public:
    error(error_category category, int id, const std::string& message);

    error_category category() const noexcept { return category_; }
    int id() const noexcept { return id_; }

private:
    error_category category_;
    int id_;
};

#if MLTRACK_DEFINE_BODIES
// Out of line: every cold call that can fail constructs one, and the message is built here once.
MLTRACK_INLINE error::error(error_category category, int id, const std::string& message)
    : std::runtime_error("[mltrack.error." + std::string(to_string(category)) + "." + std::to_string(id) + "] " +
                         message),
      category_(category),
      id_(id) {}
#endif

MLTRACK_NAMESPACE_END
