// Why: a sink is any movable type with write(batch) and flush(); everything else is optional. These traits
// call the optional parts when a sink has them, so static composition, the type-erased `sinks::any` and the
// writer all agree on one definition of "a sink".
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "../record.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

template <class S, class = void>
struct has_exists : std::false_type {};
template <class S>
struct has_exists<S, std::void_t<decltype(std::declval<S&>().exists(std::declval<const run_info&>()))>>
    : std::true_type {};

template <class S, class = void>
struct has_check_run : std::false_type {};
template <class S>
struct has_check_run<S, std::void_t<decltype(std::declval<S&>().check_run(std::declval<const run_info&>()))>>
    : std::true_type {};

template <class S, class = void>
struct has_max_steps : std::false_type {};
template <class S>
struct has_max_steps<S, std::void_t<decltype(std::declval<S&>().max_steps(std::declval<const run_info&>()))>>
    : std::true_type {};

template <class S, class = void>
struct has_tick : std::false_type {};
template <class S>
struct has_tick<S, std::void_t<decltype(std::declval<S&>().tick(std::chrono::steady_clock::now()))>>
    : std::true_type {};

template <class S, class = void>
struct has_close : std::false_type {};
template <class S>
struct has_close<S, std::void_t<decltype(std::declval<S&>().close())>> : std::true_type {};

template <class S, class = void>
struct has_name : std::false_type {};
template <class S>
struct has_name<S, std::void_t<decltype(std::string(std::declval<const S&>().name()))>> : std::true_type {};

/// Whether the sink knows that this run already exists (nullopt: the sink cannot tell). A sink's exists()
/// may return bool or std::optional<bool>.
template <class S>
std::optional<bool> sink_exists(S& s, const run_info& run) {
    if constexpr (has_exists<S>::value) {
        return std::optional<bool>(s.exists(run));
    } else {
        (void)s;
        (void)run;
        return std::nullopt;
    }
}

/// Lets a sink refuse a run before it starts: a sink's check_run() throws mltrack::error for a run it can
/// never hold (a name its service refuses); start_run then throws that error and nothing is written.
template <class S>
void sink_check_run(S& s, const run_info& run) {
    if constexpr (has_check_run<S>::value) s.check_run(run);
    else { (void)s; (void)run; }
}

/// The highest step of each metric key a sink already holds for a resumed run (nullopt: it cannot tell),
/// so that points logged without a step continue after them.
template <class S>
std::optional<std::map<std::string, std::int64_t>> sink_max_steps(S& s, const run_info& run) {
    if constexpr (has_max_steps<S>::value) {
        return s.max_steps(run);
    } else {
        (void)s;
        (void)run;
        return std::nullopt;
    }
}

template <class S>
void sink_tick(S& s, std::chrono::steady_clock::time_point now) {
    if constexpr (has_tick<S>::value) s.tick(now);
    else { (void)s; (void)now; }
}

template <class S>
void sink_close(S& s) {
    if constexpr (has_close<S>::value) s.close();
    else (void)s;
}

template <class S>
std::string sink_name(const S& s) {
    if constexpr (has_name<S>::value) return std::string(s.name());
    else { (void)s; return "sink"; }
}

}  // namespace detail
MLTRACK_NAMESPACE_END
