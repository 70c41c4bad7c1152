// Why: everything a tracker can be tuned with, in one aggregate, so `tracker t{{"my-experiment"}, sink}`
// works and every knob has a documented default.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "ranks.hpp"
#include "version.hpp"

MLTRACK_NAMESPACE_BEGIN

/// What a hot-path log does when the queue is full.
enum class overflow_policy : std::uint8_t {
    block,        ///< wait until the writer frees a slot (default: nothing is lost)
    drop_newest,  ///< drop the point and count it in stats().dropped (cold records are never dropped)
};

/// How records reach the sinks.
enum class dispatch_mode : std::uint8_t {
    threaded,  ///< one writer thread per tracker (default)
    inline_,   ///< no thread: the calling thread writes to the sinks (embedded code, deterministic tests)
};

/// How start_run treats a run that may already exist (sinks that keep runs, like JSONL, can tell).
enum class start_mode : std::uint8_t {
    create,            ///< a new run; error state.1 when it exists (default)
    resume,            ///< continue an existing run; error state.2 when no sink has it
    create_or_resume,  ///< continue it when it exists, else create it
};

/// Counters of a tracker, readable from any thread at any time.
struct tracker_stats {
    std::uint64_t enqueued = 0;     ///< records accepted into the queue
    std::uint64_t written = 0;      ///< records the writer handed to the sinks
    std::uint64_t dropped = 0;      ///< metric points dropped by overflow_policy::drop_newest or after close()
    std::uint64_t late = 0;         ///< records for a run that had already ended (not written)
    std::uint64_t sink_errors = 0;  ///< failures reported by sinks (see config::on_error)
    std::size_t queue_capacity = 0;
};

/// A failure inside a sink, reported on the writer thread.
struct sink_error {
    std::string sink;     ///< the sink's name ("jsonl", "tensorboard", ...)
    std::string message;  ///< what went wrong, with the path or URL involved
};

/// Tracker configuration. Only `experiment` is required: `tracker t{{"mnist-cnn"}, sink}` or
/// `config c{"mnist-cnn"}; c.flush_interval = ...;`.
struct config {
    config() = default;
    config(std::string experiment_name) : experiment(std::move(experiment_name)) {}
    config(const char* experiment_name) : experiment(experiment_name) {}

    std::string experiment;                            ///< experiment name (validated: see names.hpp)
    std::size_t queue_capacity = 1u << 16;             ///< slots in the queue, rounded up to a power of two
    overflow_policy overflow = overflow_policy::block;  ///< what a full queue does to hot-path logs
    dispatch_mode dispatch = dispatch_mode::threaded;  ///< writer thread or inline
    std::chrono::milliseconds flush_interval{250};     ///< sinks are flushed this often while records arrive
    /// The writer's longest sleep: a point logged while it sleeps reaches the sinks when it wakes (sooner
    /// when a thread logs an eighth of queue_capacity points, or on any control call: flush, run end...).
    std::chrono::microseconds poll_interval{250000};
    std::function<void(const sink_error&)> on_error;   ///< default: stderr, at most one line per second
    std::int64_t (*clock)() noexcept = nullptr;        ///< wall clock in ns since the epoch; default: detail/engine/clock.hpp
    rank_policy ranks = rank_policy::zero;             ///< who writes in a job of several ranks (MLTRACK_RANKS wins)
    int rank = -1;                                     ///< this process's rank; -1: from the environment (ranks.hpp)
    int world_size = -1;                               ///< ranks in the job; -1: from the environment
    bool capture_environment = true;                   ///< host, git commit, SLURM ids... in run metadata
};

MLTRACK_NAMESPACE_END
