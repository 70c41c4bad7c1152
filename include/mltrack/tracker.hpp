// Why: the tracker owns the queue, the writer thread and the sinks of one experiment, and starts runs.
// `basic_tracker<Sinks...>` composes sinks statically (a tuple, a fold over the sinks per batch);
// `tracker` takes any sinks at run time (type-erased behind sinks::any). Both share one engine.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "config.hpp"
#include "detail/compiled.hpp"
#include "detail/engine/core.hpp"
#include "detail/engine/sink_set.hpp"
#include "run.hpp"
#include "sinks/any.hpp"

MLTRACK_NAMESPACE_BEGIN

class termination_handler;

class tracker_base {
public:
    tracker_base(tracker_base&&) noexcept = default;
    tracker_base& operator=(tracker_base&& o) noexcept {
        if (this != &o) {
            close();
            core_ = std::move(o.core_);
        }
        return *this;
    }

    /// Starts a run. start_mode::create (default) fails with state.1 when a sink already has the run;
    /// start_mode::resume continues it (steps go on) and fails with state.2 when none has it.
    /// A run name can be open only once at a time per tracker (state.6).
    /// `tags` are set right after the run opens, as run.set_tags() would.
    [[nodiscard]] run start_run(std::string_view name, start_mode mode, nlohmann::json metadata,
                                std::initializer_list<std::pair<std::string_view, std::string_view>> tags);

    [[nodiscard]] run start_run(std::string_view name, start_mode mode = start_mode::create,
                  nlohmann::json metadata = nlohmann::json::object());

    /// start_run's checks on the caller's thread, when every sink that can tell whether a run exists can tell
    /// it here (the JSONL and TensorBoard sinks: their files): whether the opening resumes the run (state.1 /
    /// state.2 thrown as on the writer); nullopt when a sink can tell only on the writer thread. A run to
    /// create is created exclusively by the sinks that can (JSONL: O_EXCL), so that of two processes or
    /// trackers creating one run at once, exactly one succeeds; with create_or_resume the other resumes.
    /// Sinks that cannot tell at all (the memory sink) take a resume at its word, as on the writer.
    std::optional<bool> decide_here(const run_info& info, start_mode mode);

    /// start_run(name, true) continues an existing run, like the Vertex AI SDK's resume=True.
    [[nodiscard]] run start_run(std::string_view name, bool resume) {
        return start_run(name, resume ? start_mode::resume : start_mode::create);
    }

    /// Blocks until everything logged before the call is written and every sink has flushed.
    void flush() {
        if (core_) core_->flush();
    }

    /// Writes what is queued, flushes and closes the sinks, stops the writer. Runs not ended stay RUNNING
    /// in the record (as after a crash). Called by the destructor; further logging is counted as dropped.
    void close() noexcept {
        if (core_) core_->close();
    }

    /// Ends every open run of this tracker with `state` and waits at most `timeout` for the sinks to have
    /// written and flushed it: the termination handler's path, usable directly. True when it finished in time.
    bool end_open_runs(run_state state, std::chrono::nanoseconds timeout) {
        if (!core_) return true;
        core_->end_open_runs(state);
        return core_->flush_for(timeout);
    }

    /// True when this tracker writes nothing: a rank other than 0 under rank_policy::zero, or a forked child.
    bool inert() const noexcept { return core_ && core_->inert(); }
    /// This process's rank and the job's world size, as the tracker resolved them (config, environment).
    const rank_info& rank() const noexcept { return core_->rank(); }
    /// The rank policy in force (config.ranks, or MLTRACK_RANKS when set).
    rank_policy ranks() const noexcept { return core_->policy(); }

    tracker_stats stats() const noexcept { return core_ ? core_->stats() : tracker_stats{}; }
    const std::string& experiment() const noexcept { return core_->cfg().experiment; }

protected:
    friend class termination_handler;

    tracker_base(config cfg, std::unique_ptr<detail::sink_set> sinks)
        : core_(std::make_shared<detail::core>(std::move(cfg), std::move(sinks))) {}
    ~tracker_base() { close(); }

    void require_open() const {
        if (!core_ || core_->closed()) throw error(error_category::state, 4, "the tracker is closed");
    }

    std::shared_ptr<detail::core> core_;
};

/// A tracker whose sinks are fixed at compile time.
template <class... Sinks>
class basic_tracker : public tracker_base {
public:
    explicit basic_tracker(config cfg, Sinks... sinks)
        : tracker_base(std::move(cfg), detail::make_sink_set([t = std::tuple<Sinks...>(std::move(sinks)...)](
                                                                 auto&& f) mutable {
              std::apply([&](auto&... s) { (f(s), ...); }, t);
          })) {}
};

template <class... Sinks>
basic_tracker(config, Sinks...) -> basic_tracker<Sinks...>;

/// A tracker whose sinks are chosen at run time.
class tracker : public tracker_base {
public:
    template <class... Sinks>
    explicit tracker(config cfg, Sinks&&... sinks) : tracker(std::move(cfg), make_list(std::forward<Sinks>(sinks)...)) {}

    tracker(config cfg, std::vector<sinks::any> sinks);

private:
    template <class... Sinks>
    static std::vector<sinks::any> make_list(Sinks&&... sinks) {
        std::vector<sinks::any> v;
        v.reserve(sizeof...(Sinks));
        (v.emplace_back(std::forward<Sinks>(sinks)), ...);
        return v;
    }
};

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "detail/engine/writer-inl.hpp"
#include "tracker-inl.hpp"
#endif
