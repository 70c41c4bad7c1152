// Why: the shared engine behind every tracker. Callers push 40-byte queue items (a metric point, or a
// pointer to a cold item that owns its payload); one writer thread (or the caller itself, in inline mode)
// drains the queue in order, turns items into events and hands batches to the sinks, each call isolated so
// that one failing sink never stops the others. Control items (run start, flush, shutdown) are never dropped
// and carry a ticket the caller can wait on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <pthread.h>

#include "../../config.hpp"
#include "../compiled.hpp"
#include "../../error.hpp"
#include "../../names.hpp"
#include "../../record.hpp"
#include "clock.hpp"
#include "fork_watch.hpp"
#include "queue.hpp"
#include "queue_items.hpp"
#include "sink_set_fwd.hpp"
#include "steps.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

class core final : public error_reporter {
public:
    core(config cfg, std::unique_ptr<sink_set> sinks);

    core(const core&) = delete;
    core& operator=(const core&) = delete;

    ~core();

    const config& cfg() const noexcept { return cfg_; }

    /// True on a rank that does not write (rank_policy::zero, rank > 0) and in a forked child: every call
    /// then returns at once, touching no thread, lock, file or connection.
    bool inert() const noexcept {
        return fork_generation().load(std::memory_order_relaxed) != live_generation_;
    }
    /// The rank and world size this tracker resolved (config, then the environment), and the policy.
    const rank_info& rank() const noexcept { return rank_; }
    rank_policy policy() const noexcept { return policy_; }

    std::int64_t now() const noexcept { return cfg_.clock ? cfg_.clock() : fast_clock_ns(); }

    // ---------------------------------------------------------------- producer side (any thread)

    /// The hot path: no allocation, lock, syscall or notify unless the queue is full.
    void push_point(const metric_point& p) noexcept {
        if (!inert()) push_live(p);
    }

    /// push_point at the current time; the clock is read only on a live tracker (an inert rank pays ~1 ns).
    void push_point_now(std::uint32_t run, std::uint32_t metric, std::int64_t step, double value) noexcept {
        if (!inert()) push_live(metric_point{run, metric, step, value, now()});
    }

    /// push_point on a tracker known to be live.
    void push_live(const metric_point& p) noexcept {
        if (closed_.load(std::memory_order_relaxed)) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        queue_item item{p, nullptr};
        if (const auto pushed = ring_.push(item); pushed != ring_type::pushed_as::full) {
            if (cfg_.dispatch == dispatch_mode::inline_) drain_inline();
            else if (pushed == ring_type::pushed_as::nudge && writer_asleep_.load(std::memory_order_relaxed) != 0) wake();
            return;
        }
        if (cfg_.overflow == overflow_policy::drop_newest) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        push_blocking(item);
        if (cfg_.dispatch == dispatch_mode::inline_) drain_inline();
    }

    /// Pushes a cold item (never dropped). Waits for its ticket when it has one; rethrows its failure.
    void push_cold(std::unique_ptr<cold_item> c);

    /// Interns a metric key: the same id for the same key for the life of the tracker.
    std::uint32_t intern(std::string_view key);

    std::uint32_t next_run_id() noexcept { return next_run_id_.fetch_add(1, std::memory_order_relaxed); }

    /// A run name can be open only once at a time in one tracker; false when it already is.
    bool claim_run_name(const std::string& name, std::uint32_t id);
    void release_run_name(const std::string& name) noexcept;

    /// Ends every open run with `state` (the termination handler's path); the runs' own end() later finds
    /// them ended and writes nothing more. Returns how many runs it ended.
    std::size_t end_open_runs(run_state state);

    /// Waits until every record pushed before this call has been written and every sink flushed.
    void flush();

    /// flush() that gives up after `timeout`; true when everything was written and flushed in time.
    bool flush_for(std::chrono::nanoseconds timeout);

    /// Writes everything queued, flushes and closes the sinks, stops the writer. Idempotent.
    void close() noexcept;

    bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

    tracker_stats stats() const noexcept;

    // ---------------------------------------------------------------- writer side

    /// start_run's existence checks on the caller's thread (sink_set::claim): whether a sink has the run,
    /// and with `create` each sink that can makes it exclusively; nullopt when a sink can tell only on the
    /// writer thread.
    run_claim claim_run(const run_info& info, bool create);

    void report(const std::string& sink, const std::string& message) override;

private:
    /// In a child of fork() made after this core (not on a rank that is inert by policy).
    bool forked() const noexcept { return !inert_ && inert(); }

    void resolve_rank();

    void wake();

    /// After a control item: wakes the writer if it sleeps. Both sides use read-modify-writes on
    /// writer_asleep_ (no fences, which ThreadSanitizer cannot model): if this RMW comes after the writer's
    /// "asleep" exchange it reads 1 and wakes it; if before, the writer's exchange reads this RMW's value and
    /// so sees the item pushed before it. A control item never waits for the writer's timer. (Points use a
    /// plain load: a point that misses a falling-asleep writer is written when its timer fires.)
    void wake_if_asleep();

    static constexpr auto no_deadline = std::chrono::steady_clock::time_point::max();

    /// Pushes until the item fits; false (the item not queued) when `deadline` passes first.
    bool push_blocking(const queue_item& item, std::chrono::steady_clock::time_point deadline = no_deadline) noexcept;

    /// Inline dispatch: drains the queue on the caller's thread. Called through a pointer that only the
    /// constructor names, so that header-only code that logs through a core it did not make (a run passed
    /// in) does not compile the writer.
    void drain_inline() noexcept { drain_inline_(*this); }
    void drain_inline_body() noexcept;
    void (*drain_inline_)(core&) noexcept = nullptr;

    /// The writer: drains the queue, flushes the sinks every flush_interval while something came since the
    /// last flush, ticks them when they ask to be, and otherwise sleeps. It is woken by a control item, by a
    /// thread whose ring filled another eighth (points otherwise wait for its timer: at most poll_interval),
    /// by a full ring, or by its timer (the next flush, a sink's next tick, poll_interval). An idle tracker
    /// so wakes a few times a second instead of polling.
    void writer_loop() noexcept;

    /// A run open on the writer side (what sinks see of it, and its steps), and the writer's own state:
    /// defined in core-inl.hpp with the writer, so that code logging through a core does not compile them.
    struct live_run;
    struct writer_state;

    live_run* find_run(std::uint32_t id) noexcept;

    /// A resumed run continues after the steps its sinks already hold (asked once, at its first point
    /// logged without a step).
    void seed_steps(live_run& r);

    void dispatch_pending() noexcept;

    /// Drains up to one batch; returns the number of items taken.
    std::size_t drain_once() noexcept;

    /// run::last_step: the highest step of the run, or of one metric (c.metric.id when c.metric.name is set),
    /// counting what a resumed run's sinks hold.
    void answer_last_step(cold_item& c);

    /// A log_time_series call without a step: every value at the run's next step, with one wall time.
    void handle_points(const cold_item& c);

    void handle_record(std::unique_ptr<cold_item> c);

    void open_run(cold_item& c);

    /// The run's opening reaches the sinks, with the environment captured here, before anything of the run.
    void publish_run(cold_item& c, run_info info);

    /// capture_environment(), once per tracker, on the writer thread (the only caller).
    const nlohmann::json& environment();

    /// After shutdown: whatever was pushed concurrently with close() is released, never written.
    void fail_remaining() noexcept;

    static constexpr std::size_t max_batch = 4096;

    config cfg_;
    std::unique_ptr<sink_set> sinks_;
    using ring_type = thread_rings<queue_item, has_cold_pointer>;
    ring_type ring_;  ///< per-thread point rings + one ordered control ring

    std::atomic<bool> closed_{false};
    std::atomic<std::uint64_t> written_{0}, dropped_{0}, late_{0}, sink_errors_{0};
    std::atomic<std::uint32_t> next_run_id_{1};

    rank_info rank_;
    rank_policy policy_ = rank_policy::zero;
    bool inert_ = false;                  ///< by policy: a rank that does not write
    std::uint32_t live_generation_ = 0;   ///< fork_generation() when made; inert_generation when inert_

    // On the heap so that a forked child can leak it: destroying a condition variable the parent's writer
    // was waiting on blocks forever in the child (glibc waits for waiters that do not exist there).
    struct wake_state;
    std::unique_ptr<wake_state> wake_;
    alignas(64) std::atomic<int> writer_asleep_{0};    ///< the writer waits on wake_ (read on the hot path)
    std::thread writer_;
    std::unique_ptr<writer_state> w_;  ///< interned keys, open run names, and what the writer thread owns
};

}  // namespace detail
MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "core-inl.hpp"
#endif
