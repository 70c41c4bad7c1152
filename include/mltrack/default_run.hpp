// Why: code deep in a library or a legacy code base often cannot be handed a `run&`. As spdlog::info logs to
// a default logger, mltrack::log logs to a default run, set once where the run is started. It costs one
// atomic load on top of run.log(key, ...) (a per-thread key cache: ~10 ns), and does nothing when no default
// run is set. The run stays owned by its scope: it clears itself as the default when it ends or is destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "run.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Makes `r` the process's default run, until another is set, set_default_run(nullptr), or `r` ends (a run
/// that ends or is destroyed stops being the default; a moved run stays it). Keep the run alive while other
/// threads log through the default run, as for any run&. Safe from any thread.
inline void set_default_run(run& r) noexcept { detail::default_run_slot().store(&r, std::memory_order_release); }
inline void set_default_run(std::nullptr_t) noexcept { detail::default_run_slot().store(nullptr, std::memory_order_release); }

/// The default run, or nullptr.
inline run* default_run() noexcept { return detail::default_run_slot().load(std::memory_order_acquire); }

/// run::log(key, value, step) on the default run; nothing without one. Throws as run::log does (a bad key,
/// an ended run).
inline void log(std::string_view key, double value, std::int64_t step) {
    if (run* r = default_run()) r->log(key, value, step);
}
/// run::log(key, value): the metric's next step.
inline void log(std::string_view key, double value) {
    if (run* r = default_run()) r->log(key, value);
}
/// run::log({{key, value}...}, step).
inline void log(std::initializer_list<std::pair<std::string_view, double>> values, std::int64_t step) {
    if (run* r = default_run()) r->log(values, step);
}
inline void log(std::initializer_list<std::pair<std::string_view, double>> values) {
    if (run* r = default_run()) r->log(values);
}
/// run::log_params on the default run.
inline void log_params(std::initializer_list<std::pair<std::string_view, param_value>> params) {
    if (run* r = default_run()) r->log_params(params);
}
/// run::log_summary on the default run.
inline void log_summary(std::initializer_list<std::pair<std::string_view, summary_value>> metrics) {
    if (run* r = default_run()) r->log_summary(metrics);
}
/// run::set_tag on the default run.
inline void set_tag(std::string_view key, std::string_view value) {
    if (run* r = default_run()) r->set_tag(key, value);
}

MLTRACK_NAMESPACE_END
