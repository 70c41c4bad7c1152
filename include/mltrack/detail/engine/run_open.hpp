// Why: whether start_run creates or resumes a run is decided once, by one rule, on whichever thread can tell:
// the caller's (tracker.hpp's decide_here, when every sink answers there) or the writer's (a sink that can
// answer only there, or may refuse the run). Either way a run to create is created exclusively by the sinks
// that can (JSONL: O_EXCL), so that of two processes or trackers creating one run at once exactly one gets
// it; the other gets state.1 (create) or resumes it (create_or_resume).
#pragma once

#include <optional>
#include <string>

#include "../../config.hpp"
#include "../../error.hpp"
#include "../../record.hpp"
#include "sink_set.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

inline error run_exists_error(const run_info& info) {
    return error(error_category::state, 1,
                 "run '" + info.name + "' already exists in experiment '" + info.experiment +
                     "'; start it with start_mode::resume to continue it");
}

inline error run_missing_error(const run_info& info) {
    return error(error_category::state, 2,
                 "run '" + info.name + "' does not exist in experiment '" + info.experiment + "'; nothing to resume");
}

/// The writer's decision for a run that start_run could not decide on its thread: sets info.resumed, or
/// returns the error start_run throws (a sink's refusal, state.1, state.2).
inline std::optional<error> decide_on_writer(sink_set& sinks, run_info& info, start_mode mode, error_reporter& r) {
    if (auto refusal = sinks.check(info, r)) return refusal;  // a sink that can never hold this run (its name)
    const auto exists = sinks.exists(info, r);
    if (mode == start_mode::create && exists && *exists) return run_exists_error(info);
    if (mode == start_mode::resume && exists && !*exists) return run_missing_error(info);
    info.resumed = mode == start_mode::resume || (exists && *exists);
    if (!info.resumed && sinks.claim(info, true).exists.value_or(false)) {  // made by another process just now
        if (mode == start_mode::create) return run_exists_error(info);
        info.resumed = true;
    }
    return std::nullopt;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
