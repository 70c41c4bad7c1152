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

#include "../../record.hpp"

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
struct has_claim : std::false_type {};
template <class S>
struct has_claim<S, std::void_t<decltype(bool(std::declval<const S&>().claim(std::declval<const run_info&>(), true)))>>
    : std::true_type {};

enum class claim_answer : std::uint8_t;
template <class S, class = void>
struct has_claim_answer : std::false_type {};  ///< a type-erased sink (sinks::any) forwards the answer
template <class S>
struct has_claim_answer<
    S, std::void_t<decltype(claim_answer(std::declval<const S&>().claim_answer(std::declval<const run_info&>(), true)))>>
    : std::true_type {};

template <class S, class = void>
struct has_next_tick : std::false_type {};
template <class S>
struct has_next_tick<S, std::void_t<decltype(std::chrono::steady_clock::time_point(std::declval<S&>().next_tick()))>>
    : std::true_type {};

template <class S, class = void>
struct has_periodic_flush : std::false_type {};
template <class S>
struct has_periodic_flush<S, std::void_t<decltype(std::declval<S&>().periodic_flush())>> : std::true_type {};

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

/// What a sink says of a run when start_run asks on the caller's thread (see core::claim_run).
enum class claim_answer : std::uint8_t { absent, present, cannot_tell, ask_writer };

/// A sink's claim(run, create) when it has one (it may be called from any thread, concurrently with the
/// writer: it reads the filesystem and its own settings only); a sink that can tell whether a run exists
/// only on the writer thread (exists() without claim()), or may refuse a run (check_run()), makes start_run
/// wait for the writer.
template <class S>
claim_answer sink_claim(const S& s, const run_info& run, bool create) {
    if constexpr (has_claim_answer<S>::value) {
        return s.claim_answer(run, create);
    } else if constexpr (has_check_run<S>::value) {  // it may refuse the run: only on the writer
        (void)s, (void)run, (void)create;
        return claim_answer::ask_writer;
    } else if constexpr (has_claim<S>::value) {
        return s.claim(run, create) ? claim_answer::present : claim_answer::absent;
    } else if constexpr (has_exists<S>::value) {
        (void)s, (void)run, (void)create;
        return claim_answer::ask_writer;
    } else {
        (void)s, (void)run, (void)create;
        return claim_answer::cannot_tell;
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

/// When the sink next needs tick(): its next_tick() (time_point::max(): not before work arrives); a sink with
/// tick() but no next_tick() is ticked every millisecond; a sink without tick() never.
template <class S>
std::chrono::steady_clock::time_point sink_next_tick(S& s, std::chrono::steady_clock::time_point now) {
    if constexpr (has_next_tick<S>::value) {
        (void)now;
        return s.next_tick();
    } else if constexpr (has_tick<S>::value) {
        (void)s;
        return now + std::chrono::milliseconds(1);
    } else {
        (void)s;
        (void)now;
        return std::chrono::steady_clock::time_point::max();
    }
}

/// The writer's timed flush (every flush_interval while something came): the sink's periodic_flush() when it
/// keeps its own schedule (the Vertex sink batches requests at its own interval), else flush().
template <class S>
void sink_periodic_flush(S& s) {
    if constexpr (has_periodic_flush<S>::value) s.periodic_flush();
    else s.flush();
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
