// Why: the bodies of detail::core's producer-side cold calls (pushing cold items, interning keys, run names,
// flush requests) and the state they share with the writer, apart from the class so that in compiled mode
// (detail/compiled.hpp) they are compiled once, in the implementation translation unit. The producer's hot
// path (push_point) stays in the class; the writer's bodies are in writer-inl.hpp.
#pragma once

#include "core.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

struct core::live_run {
    run_info info;
    step_counter steps;
    bool seeded = false;  ///< the sinks were asked for a resumed run's steps
};

struct core::wake_state {
    std::mutex m;
    std::condition_variable cv;
    bool flag = false;
};

struct core::writer_state {
    std::mutex intern_m;
    std::unordered_map<std::string, std::uint32_t> interned;
    std::unordered_map<std::string, std::uint32_t> open_runs;  ///< open run names and their ids
    std::mutex close_m;
    std::mutex inline_m;

    // writer-owned
    bool stopped = false;
    std::vector<std::unique_ptr<metric_info>> metrics;
    std::unordered_map<std::uint32_t, std::unique_ptr<live_run>> runs;
    std::optional<nlohmann::json> environment;  ///< writer thread only
    live_run* last_run = nullptr;
    std::vector<event> pending;
    std::vector<std::unique_ptr<cold_item>> held;
    std::vector<std::uint32_t> ended;
    std::chrono::steady_clock::time_point last_flush = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_report{};
    std::uint64_t suppressed = 0;
    bool reported_any = false;
};

MLTRACK_INLINE void core::push_cold(std::unique_ptr<cold_item> c) {
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

MLTRACK_INLINE std::uint32_t core::intern(std::string_view key) {
    if (inert()) {
        validate_key("metric key", key);  // the same errors on every rank
        return 0;
    }
    std::lock_guard<std::mutex> lock(w_->intern_m);
    auto it = w_->interned.find(std::string(key));
    if (it != w_->interned.end()) return it->second;
    validate_key("metric key", key);
    const auto id = static_cast<std::uint32_t>(w_->interned.size());
    auto c = std::make_unique<cold_item>();
    c->operation = op::metric_def;
    c->metric.id = id;
    c->metric.name = std::string(key);
    push_cold(std::move(c));  // under the lock: the definition precedes every use in the queue
    w_->interned.emplace(std::string(key), id);
    return id;
}

MLTRACK_INLINE bool core::claim_run_name(const std::string& name, std::uint32_t id) {
    if (inert()) return true;
    std::lock_guard<std::mutex> lock(w_->intern_m);
    return w_->open_runs.emplace(name, id).second;
}

MLTRACK_INLINE void core::release_run_name(const std::string& name) noexcept {
    if (inert()) return;
    std::lock_guard<std::mutex> lock(w_->intern_m);
    w_->open_runs.erase(name);
}

MLTRACK_INLINE std::size_t core::end_open_runs(run_state state) {
    if (inert() || closed()) return 0;
    std::vector<std::pair<std::string, std::uint32_t>> open;
    {
        std::lock_guard<std::mutex> lock(w_->intern_m);
        open.assign(w_->open_runs.begin(), w_->open_runs.end());
        w_->open_runs.clear();
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

MLTRACK_INLINE void core::flush() {
    if (inert() || closed_.load(std::memory_order_acquire)) return;
    auto c = std::make_unique<cold_item>();
    c->operation = op::flush;
    c->done = std::make_shared<ticket>();
    push_cold(std::move(c));
}

MLTRACK_INLINE bool core::flush_for(std::chrono::nanoseconds timeout) {
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

MLTRACK_INLINE tracker_stats core::stats() const noexcept {
    tracker_stats s;
    s.enqueued = ring_.pushed();
    s.written = written_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.late = late_.load(std::memory_order_relaxed);
    s.sink_errors = sink_errors_.load(std::memory_order_relaxed);
    s.queue_capacity = ring_.capacity();
    return s;
}

MLTRACK_INLINE void core::wake() {
    {
        std::lock_guard<std::mutex> lock(wake_->m);
        wake_->flag = true;
    }
    wake_->cv.notify_one();
}

MLTRACK_INLINE void core::wake_if_asleep() {
    if (writer_asleep_.fetch_add(0, std::memory_order_acq_rel) != 0) wake();
}

MLTRACK_INLINE bool core::push_blocking(const queue_item& item, std::chrono::steady_clock::time_point deadline) noexcept {
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

}  // namespace detail
MLTRACK_NAMESPACE_END
