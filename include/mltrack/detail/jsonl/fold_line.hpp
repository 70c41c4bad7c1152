// Why: every reader (read_run, the streaming reader, the summary scan, `mltrack check`) turns a parsed JSONL
// line into a record and folds it into the run's state with these functions, so they accept and refuse the
// same lines, and refuse what the writer never produces (the writer's own key, shape and range rules).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../compiled.hpp"
#include "../../error.hpp"
#include "../../names.hpp"
#include "../../record.hpp"
#include "../../run_data.hpp"
#include "jsonl_format.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

struct line_error {
    std::string message;
};

/// A line's "time" (seconds since 1970, microseconds exact) as nanoseconds. The writer spells any int64
/// nanosecond instant, the extremes included; a time beyond that range (by more than the double's rounding)
/// is malformed, and returns false. Shared by the general and the fast path, so both agree on every value.
MLTRACK_INLINE bool seconds_to_ns(double seconds, std::int64_t& out) noexcept;

MLTRACK_INLINE std::int64_t parse_time(const nlohmann::json& j);

/// A line's "step": an integer of int64 range (the writer's steps are int64).
MLTRACK_INLINE std::int64_t parse_step(const nlohmann::json& j);

/// The writer's rule for keys (validate_key: 1 to 256 bytes of UTF-8 without control characters).
MLTRACK_INLINE void check_key(const char* what, const std::string& key);

MLTRACK_INLINE double parse_metric_value(const nlohmann::json& v);

MLTRACK_INLINE const nlohmann::json& need(const nlohmann::json& j, const char* key, nlohmann::json::value_t type);

MLTRACK_INLINE std::string opt_string(const nlohmann::json& j, const char* key);

MLTRACK_INLINE artifact parse_artifact(const nlohmann::json& j);

template <class T, class F>
std::vector<T> parse_array(const nlohmann::json& j, const char* key, F&& f) {
    std::vector<T> out;
    auto it = j.find(key);
    if (it == j.end()) return out;
    if (!it->is_array()) throw line_error{std::string("\"") + key + "\" is not an array"};
    for (const auto& x : *it) out.push_back(f(x));
    return out;
}

/// A live execution's records fold into one execution (by id): the latest state and metadata, and
/// every input and output artifact added over its records.
MLTRACK_INLINE void fold_execution(std::vector<execution>& executions, const execution& e);

/// Turns one parsed line into `r` and folds it into the run's state (params, summary, tags, state, times,
/// metadata, artifacts, executions). Points, histograms, classifications and the record itself are left to
/// the caller (keep_record, or a streaming visitor). Returns false for a line of an unknown kind (reported
/// in run.problems and skipped); throws line_error (or error) for a malformed one.
MLTRACK_INLINE bool fold_line(run_data& run, const nlohmann::json& j, std::size_t line_no, record& r);

/// What read_run() keeps of each record besides the folded state: its points, histograms and
/// classification metrics, and the record itself.
MLTRACK_INLINE void keep_record(run_data& run, record&& r);

}  // namespace detail

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "fold_line-inl.hpp"
#endif
