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
#include "../../environment.hpp"
#include "../../error.hpp"
#include "../../names.hpp"
#include "../../record.hpp"
#include "clock.hpp"
#include "fork_watch.hpp"
#include "queue.hpp"
#include "queue_items.hpp"
#include "run_open.hpp"
#include "sink_set.hpp"
#include "sink_traits.hpp"
#include "steps.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

class core final : public error_reporter {
public:
    core(config cfg, std::unique_ptr<sink_set> sinks)
        : cfg_(std::move(cfg)), sinks_(std::move(sinks)), ring_(cfg_.queue_capacity ? cfg_.queue_capacity : 2) {
        validate_name("experiment name", cfg_.experiment);
        resolve_rank();
        live_generation_ = inert_ ? inert_generation : watch_forks();
        if (cfg_.dispatch == dispatch_mode::threaded && !inert_) {
            ring_.on_new_ring(
                [](void* self) {
                    try {
                        static_cast<core*>(self)->wake();
                    } catch (...) {  // the writer then finds the ring at its next poll
                    }
                },
                this);
            writer_ = std::thread([this] { writer_loop(); });
        }
    }

    core(const core&) = delete;
    core& operator=(const core&) = delete;

    ~core() {
        close();
        if (forked()) {  // the parent's sinks and writer state: never flushed, closed or destroyed from a child
            (void)sinks_.release();
            (void)wake_.release();
        }
    }

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
    void push_cold(std::unique_ptr<cold_item> c) {
        if (inert()) return;
        if (closed_.load(std::memory_order_acquire))
            throw error(error_category::state, 4, "the tracker is closed");
        auto done = c->done;
        queue_item item{{}, c.release()};
        push_blocking(item);
        if (cfg_.dispatch == dispatch_mode::inline_) {
            drain_inline();
        } else if (done) {
            wake();
        } else {
            wake_if_asleep();
        }
        if (done) {
            done->wait();
            if (done->failure) {
                // A fresh error, not a copy: a copy would share the message buffer (reference counted inside
                // libstdc++, invisible to TSan) with the ticket's error, which the writer thread may free.
                const std::string what = done->failure->what();
                throw error(done->failure->category(), done->failure->id(), what.substr(what.find("] ") + 2));
            }
        }
    }

    /// Interns a metric key: the same id for the same key for the life of the tracker.
    std::uint32_t intern(std::string_view key) {
        if (inert()) {
            validate_key("metric key", key);  // the same errors on every rank
            return 0;
        }
        std::lock_guard<std::mutex> lock(intern_m_);
        auto it = interned_.find(std::string(key));
        if (it != interned_.end()) return it->second;
        validate_key("metric key", key);
        const auto id = static_cast<std::uint32_t>(interned_.size());
        auto c = std::make_unique<cold_item>();
        c->operation = op::metric_def;
        c->metric.id = id;
        c->metric.name = std::string(key);
        push_cold(std::move(c));  // under the lock: the definition precedes every use in the queue
        interned_.emplace(std::string(key), id);
        return id;
    }

    std::uint32_t next_run_id() noexcept { return next_run_id_.fetch_add(1, std::memory_order_relaxed); }

    /// A run name can be open only once at a time in one tracker; false when it already is.
    bool claim_run_name(const std::string& name, std::uint32_t id) {
        if (inert()) return true;
        std::lock_guard<std::mutex> lock(intern_m_);
        return open_runs_.emplace(name, id).second;
    }
    void release_run_name(const std::string& name) noexcept {
        if (inert()) return;
        std::lock_guard<std::mutex> lock(intern_m_);
        open_runs_.erase(name);
    }

    /// Ends every open run with `state` (the termination handler's path); the runs' own end() later finds
    /// them ended and writes nothing more. Returns how many runs it ended.
    std::size_t end_open_runs(run_state state) {
        if (inert() || closed()) return 0;
        std::vector<std::pair<std::string, std::uint32_t>> open;
        {
            std::lock_guard<std::mutex> lock(intern_m_);
            open.assign(open_runs_.begin(), open_runs_.end());
            open_runs_.clear();
        }
        for (const auto& r : open) {
            auto c = std::make_unique<cold_item>();
            c->operation = op::record;
            c->run = r.second;
            c->rec.kind = record_kind::run_end;
            c->rec.time_ns = now();
            c->rec.payload = state;
            push_cold(std::move(c));
        }
        return open.size();
    }

    /// Waits until every record pushed before this call has been written and every sink flushed.
    void flush() {
        if (inert() || closed_.load(std::memory_order_acquire)) return;
        auto c = std::make_unique<cold_item>();
        c->operation = op::flush;
        c->done = std::make_shared<ticket>();
        push_cold(std::move(c));
    }

    /// flush() that gives up after `timeout`; true when everything was written and flushed in time.
    bool flush_for(std::chrono::nanoseconds timeout) {
        if (inert() || closed_.load(std::memory_order_acquire)) return true;
        auto c = std::make_unique<cold_item>();
        c->operation = op::flush;
        auto done = std::make_shared<ticket>();
        c->done = done;
        queue_item item{{}, c.release()};
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        if (!push_blocking(item, deadline)) {  // a full queue counts against the timeout
            delete item.cold;
            return false;
        }
        if (cfg_.dispatch == dispatch_mode::inline_) drain_inline();
        else wake();
        return done->wait_for(deadline - std::chrono::steady_clock::now());
    }

    /// Writes everything queued, flushes and closes the sinks, stops the writer. Idempotent.
    void close() noexcept {
        if (forked()) {  // the writer thread exists only in the parent: never join it, never touch its locks
            closed_.store(true, std::memory_order_release);
            if (writer_.joinable()) new std::thread(std::move(writer_));  // leaked on purpose: no join, no terminate
            return;
        }
        if (inert_) {
            closed_.store(true, std::memory_order_release);
            return;
        }
        std::lock_guard<std::mutex> lock(close_m_);
        if (closed_.exchange(true, std::memory_order_acq_rel)) return;
        try {
            auto c = new cold_item();
            c->operation = op::shutdown;
            push_blocking(queue_item{{}, c});
            if (cfg_.dispatch == dispatch_mode::threaded) {
                wake();
                if (writer_.joinable()) writer_.join();
            } else {
                drain_inline();
            }
        } catch (...) {
        }
    }

    bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

    tracker_stats stats() const noexcept {
        tracker_stats s;
        s.enqueued = ring_.pushed();
        s.written = written_.load(std::memory_order_relaxed);
        s.dropped = dropped_.load(std::memory_order_relaxed);
        s.late = late_.load(std::memory_order_relaxed);
        s.sink_errors = sink_errors_.load(std::memory_order_relaxed);
        s.queue_capacity = ring_.capacity();
        return s;
    }

    // ---------------------------------------------------------------- writer side

    /// start_run's existence checks on the caller's thread (sink_set::claim): whether a sink has the run,
    /// and with `create` each sink that can makes it exclusively; nullopt when a sink can tell only on the
    /// writer thread.
    sink_set::claimed claim_run(const run_info& info, bool create) { return sinks_->claim(info, create); }

    void report(const std::string& sink, const std::string& message) override {
        sink_errors_.fetch_add(1, std::memory_order_relaxed);
        if (cfg_.on_error) {
            cfg_.on_error(sink_error{sink, message});
            return;
        }
        const auto t = std::chrono::steady_clock::now();
        if (reported_any_ && t - last_report_ < std::chrono::seconds(1)) {
            ++suppressed_;
            return;
        }
        if (suppressed_)
            std::fprintf(stderr, "mltrack: %llu more sink errors suppressed\n",
                         static_cast<unsigned long long>(suppressed_));
        std::fprintf(stderr, "mltrack: sink '%s': %s\n", sink.c_str(), message.c_str());
        suppressed_ = 0;
        last_report_ = t;
        reported_any_ = true;
    }

private:
    /// In a child of fork() made after this core (not on a rank that is inert by policy).
    bool forked() const noexcept { return !inert_ && inert(); }

    void resolve_rank() {
        policy_ = rank_policy_from_env(cfg_.ranks);
        rank_ = detect_rank();
        if (cfg_.rank >= 0) {
            rank_.rank = cfg_.rank;
            rank_.source = "config";
            if (rank_.world_size <= cfg_.rank) rank_.world_size = cfg_.rank + 1;
        }
        if (cfg_.world_size > 0) rank_.world_size = cfg_.world_size;
        if (rank_.rank >= rank_.world_size)
            throw error(error_category::config, 4,
                        "rank " + std::to_string(rank_.rank) + " is not below the world size " +
                            std::to_string(rank_.world_size));
        inert_ = policy_ == rank_policy::zero && rank_.rank != 0;
    }

    void wake() {
        {
            std::lock_guard<std::mutex> lock(wake_->m);
            wake_->flag = true;
        }
        wake_->cv.notify_one();
    }

    /// After a control item: wakes the writer if it sleeps. Both sides use read-modify-writes on
    /// writer_asleep_ (no fences, which ThreadSanitizer cannot model): if this RMW comes after the writer's
    /// "asleep" exchange it reads 1 and wakes it; if before, the writer's exchange reads this RMW's value and
    /// so sees the item pushed before it. A control item never waits for the writer's timer. (Points use a
    /// plain load: a point that misses a falling-asleep writer is written when its timer fires.)
    void wake_if_asleep() {
        if (writer_asleep_.fetch_add(0, std::memory_order_acq_rel) != 0) wake();
    }

    static constexpr auto no_deadline = std::chrono::steady_clock::time_point::max();

    /// Pushes until the item fits; false (the item not queued) when `deadline` passes first.
    bool push_blocking(const queue_item& item, std::chrono::steady_clock::time_point deadline = no_deadline) noexcept {
        for (unsigned spins = 0; !ring_.try_push(item); ++spins) {
            if (deadline != no_deadline && std::chrono::steady_clock::now() >= deadline) return false;
            if (cfg_.dispatch == dispatch_mode::inline_) {
                drain_inline();
            } else if (spins < 64) {
                std::this_thread::yield();
            } else {
                wake();
                std::this_thread::sleep_for(std::chrono::microseconds(50));
            }
        }
        return true;
    }

    void drain_inline() noexcept {
        std::lock_guard<std::mutex> lock(inline_m_);
        while (drain_once() > 0) {
        }
        const auto t = std::chrono::steady_clock::now();
        if (t - last_flush_ >= cfg_.flush_interval) {
            sinks_->periodic_flush(*this);
            last_flush_ = t;
        }
    }

    /// The writer: drains the queue, flushes the sinks every flush_interval while something came since the
    /// last flush, ticks them when they ask to be, and otherwise sleeps. It is woken by a control item, by a
    /// thread whose ring filled another eighth (points otherwise wait for its timer: at most poll_interval),
    /// by a full ring, or by its timer (the next flush, a sink's next tick, poll_interval). An idle tracker
    /// so wakes a few times a second instead of polling.
    void writer_loop() noexcept {
        using clock = std::chrono::steady_clock;
        last_flush_ = clock::now();
        bool unflushed = false;  // items reached the sinks since the last flush
        auto tick_at = clock::time_point::min();
        for (;;) {
            const std::size_t n = drain_once();
            if (stopped_) break;
            unflushed = unflushed || n > 0;
            const auto t = clock::now();
            if (unflushed && t - last_flush_ >= cfg_.flush_interval) {
                sinks_->periodic_flush(*this);
                last_flush_ = t;
                unflushed = false;
            }
            if (n > 0 || t >= tick_at) {
                sinks_->tick(t, *this);
                tick_at = sinks_->next_tick(t);
            }
            if (n > 0) continue;
            auto until = std::min(tick_at, t + cfg_.poll_interval);
            if (unflushed) until = std::min(until, last_flush_ + cfg_.flush_interval);
            if (until <= t) continue;
            writer_asleep_.exchange(1, std::memory_order_acq_rel);
            if (!ring_.ready()) {
                std::unique_lock<std::mutex> lock(wake_->m);
                wake_->cv.wait_until(lock, until, [this] { return wake_->flag; });
                wake_->flag = false;
            }
            writer_asleep_.exchange(0, std::memory_order_acq_rel);
        }
    }

    /// A run open on the writer side: what sinks see of it, and its steps.
    struct live_run {
        run_info info;
        step_counter steps;
        bool seeded = false;  ///< the sinks were asked for a resumed run's steps
    };

    live_run* find_run(std::uint32_t id) noexcept {
        for (auto ended : ended_)
            if (ended == id) return nullptr;  // its run_end is in this batch: what follows is late
        if (last_run_ && last_run_->info.id == id) return last_run_;
        auto it = runs_.find(id);
        if (it == runs_.end()) return nullptr;
        last_run_ = it->second.get();
        return last_run_;
    }

    /// A resumed run continues after the steps its sinks already hold (asked once, at its first point
    /// logged without a step).
    void seed_steps(live_run& r) {
        if (r.seeded) return;
        r.seeded = true;
        if (r.info.resumed) r.steps.seed(sinks_->max_steps(r.info, *this));
    }

    void dispatch_pending() noexcept {
        if (!pending_.empty()) {
            sinks_->write(batch(pending_.data(), pending_.size()), *this);
            written_.fetch_add(pending_.size(), std::memory_order_relaxed);
            pending_.clear();
        }
        held_.clear();
        for (auto id : ended_) {
            if (last_run_ && last_run_->info.id == id) last_run_ = nullptr;
            runs_.erase(id);
        }
        ended_.clear();
    }

    /// Drains up to one batch; returns the number of items taken.
    std::size_t drain_once() noexcept {
        if (stopped_) return 0;
        std::size_t n = 0;
        queue_item item;
        try {
            while (n < max_batch && ring_.try_pop(item)) {
                ++n;
                if (!item.cold) {
                    const metric_point& p = item.point;
                    live_run* run = find_run(p.run);
                    const std::uint32_t metric = p.metric & ~auto_step_bit;
                    if (!run || metric >= metrics_.size()) {
                        late_.fetch_add(1, std::memory_order_relaxed);
                        continue;
                    }
                    event e;
                    e.kind = record_kind::metric;
                    e.run = &run->info;
                    e.time_ns = p.time_ns;
                    e.value = p.value;
                    e.metric = metrics_[metric].get();
                    if (p.metric & auto_step_bit) {
                        seed_steps(*run);
                        e.step = run->steps.next(metric, e.metric->name);
                    } else {
                        e.step = p.step;
                        run->steps.saw(metric, p.step);
                    }
                    pending_.push_back(e);
                    continue;
                }
                std::unique_ptr<cold_item> c(item.cold);
                switch (c->operation) {
                    case op::metric_def: {
                        const auto id = c->metric.id;
                        if (metrics_.size() <= id) metrics_.resize(id + 1);
                        metrics_[id] = std::make_unique<metric_info>(std::move(c->metric));
                        break;
                    }
                    case op::record: handle_record(std::move(c)); break;
                    case op::points: handle_points(*c); break;
                    case op::run_open:
                        dispatch_pending();
                        open_run(*c);
                        break;
                    case op::flush:
                        dispatch_pending();
                        sinks_->flush(*this);
                        last_flush_ = std::chrono::steady_clock::now();
                        if (c->done) c->done->complete();
                        break;
                    case op::last_step: answer_last_step(*c); break;
                    case op::shutdown:
                        dispatch_pending();
                        sinks_->flush(*this);
                        sinks_->close(*this);
                        stopped_ = true;
                        fail_remaining();
                        return n;
                }
            }
            dispatch_pending();
        } catch (...) {
            // Only allocation failures can get here; keep the writer alive.
            pending_.clear();
            held_.clear();
        }
        return n;
    }

    /// run::last_step: the highest step of the run, or of one metric (c.metric.id when c.metric.name is set),
    /// counting what a resumed run's sinks hold.
    void answer_last_step(cold_item& c) {
        std::optional<std::int64_t> high;
        if (live_run* run = find_run(c.run)) {
            seed_steps(*run);
            if (c.metric.name.empty()) high = run->steps.highest();
            else high = run->steps.highest(c.metric.id, c.metric.name);
        }
        c.done->complete_with(high);
    }

    /// A log_time_series call without a step: every value at the run's next step, with one wall time.
    void handle_points(const cold_item& c) {
        live_run* run = find_run(c.run);
        if (!run) {
            late_.fetch_add(c.points.size(), std::memory_order_relaxed);
            return;
        }
        seed_steps(*run);
        const std::int64_t step = run->steps.next_for_run();
        for (const auto& mv : c.points) {
            if (mv.first >= metrics_.size()) {
                late_.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            run->steps.saw(mv.first, step);
            event e;
            e.kind = record_kind::metric;
            e.run = &run->info;
            e.time_ns = c.rec.time_ns;
            e.step = step;
            e.value = mv.second;
            e.metric = metrics_[mv.first].get();
            pending_.push_back(e);
        }
    }

    void handle_record(std::unique_ptr<cold_item> c) {
        const live_run* live = find_run(c->run);
        const run_info* run = live ? &live->info : nullptr;
        if (!run) {
            late_.fetch_add(1, std::memory_order_relaxed);
            if (c->done) c->done->fail(error(error_category::state, 3, "the run has already ended"));
            return;
        }
        event e;
        e.kind = c->rec.kind;
        e.run = run;
        e.time_ns = c->rec.time_ns;
        e.step = c->rec.step;
        e.payload = &c->rec;
        auto done = c->done;
        if (done && e.kind == record_kind::artifact) e.receipt = &done->receipt;  // dispatched below, at once
        pending_.push_back(e);
        if (c->rec.kind == record_kind::run_end) ended_.push_back(run->id);
        held_.push_back(std::move(c));
        if (done) {
            dispatch_pending();
            done->complete();
        }
    }

    void open_run(cold_item& c) {
        run_info info = std::get<run_info>(std::move(c.rec.payload));
        if (c.checked) {  // start_run asked the sinks itself and did not wait
            publish_run(c, std::move(info));
            return;
        }
        if (auto failure = decide_on_writer(*sinks_, info, c.mode, *this)) {  // run_open.hpp
            c.done->fail(*failure);
            return;
        }
        // The caller waits only for the checks above; the environment is captured after, off its path.
        c.done->complete(info.resumed);
        publish_run(c, std::move(info));
    }

    /// The run's opening reaches the sinks, with the environment captured here, before anything of the run.
    void publish_run(cold_item& c, run_info info) {
        if (c.capture_environment && !info.metadata.contains("environment"))
            info.metadata["environment"] = environment();
        auto owned = std::make_unique<live_run>();
        owned->info = std::move(info);
        const run_info* run = &owned->info;
        runs_[run->id] = std::move(owned);
        event e;
        e.kind = run->resumed ? record_kind::run_resume : record_kind::run_start;
        e.run = run;
        e.time_ns = run->start_time_ns;
        pending_.push_back(e);
        dispatch_pending();
    }

    /// capture_environment(), once per tracker, on the writer thread (the only caller).
    const nlohmann::json& environment() {
        if (!environment_) environment_ = capture_environment();
        return *environment_;
    }

    /// After shutdown: whatever was pushed concurrently with close() is released, never written.
    void fail_remaining() noexcept {
        queue_item item;
        while (ring_.try_pop(item)) {
            if (!item.cold) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            std::unique_ptr<cold_item> c(item.cold);
            if (c->done) c->done->fail(error(error_category::state, 4, "the tracker is closed"));
        }
    }

    static constexpr std::size_t max_batch = 4096;

    config cfg_;
    std::unique_ptr<sink_set> sinks_;
    using ring_type = thread_rings<queue_item, has_cold_pointer>;
    ring_type ring_;  ///< per-thread point rings + one ordered control ring

    std::atomic<bool> closed_{false};
    std::atomic<std::uint64_t> written_{0}, dropped_{0}, late_{0}, sink_errors_{0};
    std::atomic<std::uint32_t> next_run_id_{1};

    std::mutex intern_m_;
    std::unordered_map<std::string, std::uint32_t> interned_;
    std::unordered_map<std::string, std::uint32_t> open_runs_;  ///< open run names and their ids

    rank_info rank_;
    rank_policy policy_ = rank_policy::zero;
    bool inert_ = false;                  ///< by policy: a rank that does not write
    std::uint32_t live_generation_ = 0;   ///< fork_generation() when made; inert_generation when inert_

    std::mutex close_m_;
    std::mutex inline_m_;
    struct wake_state {
        std::mutex m;
        std::condition_variable cv;
        bool flag = false;
    };
    // On the heap so that a forked child can leak it: destroying a condition variable the parent's writer
    // was waiting on blocks forever in the child (glibc waits for waiters that do not exist there).
    std::unique_ptr<wake_state> wake_ = std::make_unique<wake_state>();
    alignas(64) std::atomic<int> writer_asleep_{0};    ///< the writer waits on wake_ (read on the hot path)
    std::thread writer_;

    // writer-owned state
    bool stopped_ = false;
    std::vector<std::unique_ptr<metric_info>> metrics_;
    std::unordered_map<std::uint32_t, std::unique_ptr<live_run>> runs_;
    std::optional<nlohmann::json> environment_;  ///< writer thread only
    live_run* last_run_ = nullptr;
    std::vector<event> pending_;
    std::vector<std::unique_ptr<cold_item>> held_;
    std::vector<std::uint32_t> ended_;
    std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_report_{};
    std::uint64_t suppressed_ = 0;
    bool reported_any_ = false;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
