// Why: the bodies of detail::core's writer (its construction and thread, draining the queue into events,
// runs opening with the environment captured, flush to the sinks, close). Apart from core-inl.hpp (the
// producer's cold calls) because only the code that makes a core (tracker.hpp) calls them: header-only code
// that logs through a run it was given does not compile the writer.
#pragma once

#include "core-inl.hpp"
#include "../../environment.hpp"
#include "run_open.hpp"
#include "sink_set.hpp"
#include "sink_traits.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

MLTRACK_INLINE core::core(config cfg, std::unique_ptr<sink_set> sinks)
    : cfg_(std::move(cfg)),
      sinks_(std::move(sinks)),
      ring_(cfg_.queue_capacity ? cfg_.queue_capacity : 2),
      wake_(std::make_unique<wake_state>()),
      w_(std::make_unique<writer_state>()) {
    drain_inline_ = [](core& c) noexcept { c.drain_inline_body(); };
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

MLTRACK_INLINE core::~core() {
    close();
    if (forked()) {  // the parent's sinks and writer state: never flushed, closed or destroyed from a child
        (void)sinks_.release();
        (void)wake_.release();
    }
}

MLTRACK_INLINE void core::close() noexcept {
    if (forked()) {  // the writer thread exists only in the parent: never join it, never touch its locks
        closed_.store(true, std::memory_order_release);
        if (writer_.joinable()) new std::thread(std::move(writer_));  // leaked on purpose: no join, no terminate
        return;
    }
    if (inert_) {
        closed_.store(true, std::memory_order_release);
        return;
    }
    std::lock_guard<std::mutex> lock(w_->close_m);
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

MLTRACK_INLINE run_claim core::claim_run(const run_info& info, bool create) {
    return sinks_->claim(info, create);
}

MLTRACK_INLINE void core::report(const std::string& sink, const std::string& message) {
    sink_errors_.fetch_add(1, std::memory_order_relaxed);
    if (cfg_.on_error) {
        cfg_.on_error(sink_error{sink, message});
        return;
    }
    const auto t = std::chrono::steady_clock::now();
    if (w_->reported_any && t - w_->last_report < std::chrono::seconds(1)) {
        ++w_->suppressed;
        return;
    }
    if (w_->suppressed)
        std::fprintf(stderr, "mltrack: %llu more sink errors suppressed\n",
                     static_cast<unsigned long long>(w_->suppressed));
    std::fprintf(stderr, "mltrack: sink '%s': %s\n", sink.c_str(), message.c_str());
    w_->suppressed = 0;
    w_->last_report = t;
    w_->reported_any = true;
}

MLTRACK_INLINE void core::resolve_rank() {
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

MLTRACK_INLINE void core::drain_inline_body() noexcept {
    std::lock_guard<std::mutex> lock(w_->inline_m);
    while (drain_once() > 0) {
    }
    const auto t = std::chrono::steady_clock::now();
    if (t - w_->last_flush >= cfg_.flush_interval) {
        sinks_->periodic_flush(*this);
        w_->last_flush = t;
    }
}

MLTRACK_INLINE void core::writer_loop() noexcept {
    using clock = std::chrono::steady_clock;
    w_->last_flush = clock::now();
    bool unflushed = false;  // items reached the sinks since the last flush
    auto tick_at = clock::time_point::min();
    for (;;) {
        const std::size_t n = drain_once();
        if (w_->stopped) break;
        unflushed = unflushed || n > 0;
        const auto t = clock::now();
        if (unflushed && t - w_->last_flush >= cfg_.flush_interval) {
            sinks_->periodic_flush(*this);
            w_->last_flush = t;
            unflushed = false;
        }
        if (n > 0 || t >= tick_at) {
            sinks_->tick(t, *this);
            tick_at = sinks_->next_tick(t);
        }
        if (n > 0) continue;
        auto until = std::min(tick_at, t + cfg_.poll_interval);
        if (unflushed) until = std::min(until, w_->last_flush + cfg_.flush_interval);
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

MLTRACK_INLINE core::live_run* core::find_run(std::uint32_t id) noexcept {
    for (auto ended : w_->ended)
        if (ended == id) return nullptr;  // its run_end is in this batch: what follows is late
    if (w_->last_run && w_->last_run->info.id == id) return w_->last_run;
    auto it = w_->runs.find(id);
    if (it == w_->runs.end()) return nullptr;
    w_->last_run = it->second.get();
    return w_->last_run;
}

MLTRACK_INLINE void core::seed_steps(live_run& r) {
    if (r.seeded) return;
    r.seeded = true;
    if (r.info.resumed) r.steps.seed(sinks_->max_steps(r.info, *this));
}

MLTRACK_INLINE void core::dispatch_pending() noexcept {
    if (!w_->pending.empty()) {
        sinks_->write(batch(w_->pending.data(), w_->pending.size()), *this);
        written_.fetch_add(w_->pending.size(), std::memory_order_relaxed);
        w_->pending.clear();
    }
    w_->held.clear();
    for (auto id : w_->ended) {
        if (w_->last_run && w_->last_run->info.id == id) w_->last_run = nullptr;
        w_->runs.erase(id);
    }
    w_->ended.clear();
}

MLTRACK_INLINE std::size_t core::drain_once() noexcept {
    if (w_->stopped) return 0;
    std::size_t n = 0;
    queue_item item;
    try {
        while (n < max_batch && ring_.try_pop(item)) {
            ++n;
            if (!item.cold) {
                const metric_point& p = item.point;
                live_run* run = find_run(p.run);
                const std::uint32_t metric = p.metric & ~auto_step_bit;
                if (!run || metric >= w_->metrics.size()) {
                    late_.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                event e;
                e.kind = record_kind::metric;
                e.run = &run->info;
                e.time_ns = p.time_ns;
                e.value = p.value;
                e.metric = w_->metrics[metric].get();
                if (p.metric & auto_step_bit) {
                    seed_steps(*run);
                    e.step = run->steps.next(metric, e.metric->name);
                } else {
                    e.step = p.step;
                    run->steps.saw(metric, p.step);
                }
                w_->pending.push_back(e);
                continue;
            }
            std::unique_ptr<cold_item> c(item.cold);
            switch (c->operation) {
                case op::metric_def: {
                    const auto id = c->metric.id;
                    if (w_->metrics.size() <= id) w_->metrics.resize(id + 1);
                    w_->metrics[id] = std::make_unique<metric_info>(std::move(c->metric));
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
                    w_->last_flush = std::chrono::steady_clock::now();
                    if (c->done) c->done->complete();
                    break;
                case op::last_step: answer_last_step(*c); break;
                case op::shutdown:
                    dispatch_pending();
                    sinks_->flush(*this);
                    sinks_->close(*this);
                    w_->stopped = true;
                    fail_remaining();
                    return n;
            }
        }
        dispatch_pending();
    } catch (...) {
        // Only allocation failures can get here; keep the writer alive.
        w_->pending.clear();
        w_->held.clear();
    }
    return n;
}

MLTRACK_INLINE void core::answer_last_step(cold_item& c) {
    std::optional<std::int64_t> high;
    if (live_run* run = find_run(c.run)) {
        seed_steps(*run);
        if (c.metric.name.empty()) high = run->steps.highest();
        else high = run->steps.highest(c.metric.id, c.metric.name);
    }
    c.done->complete_with(high);
}

MLTRACK_INLINE void core::handle_points(const cold_item& c) {
    live_run* run = find_run(c.run);
    if (!run) {
        late_.fetch_add(c.points.size(), std::memory_order_relaxed);
        return;
    }
    seed_steps(*run);
    const std::int64_t step = run->steps.next_for_run();
    for (const auto& mv : c.points) {
        if (mv.first >= w_->metrics.size()) {
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
        e.metric = w_->metrics[mv.first].get();
        w_->pending.push_back(e);
    }
}

MLTRACK_INLINE void core::handle_record(std::unique_ptr<cold_item> c) {
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
    w_->pending.push_back(e);
    if (c->rec.kind == record_kind::run_end) w_->ended.push_back(run->id);
    w_->held.push_back(std::move(c));
    if (done) {
        dispatch_pending();
        done->complete();
    }
}

MLTRACK_INLINE void core::open_run(cold_item& c) {
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

MLTRACK_INLINE void core::publish_run(cold_item& c, run_info info) {
    if (c.capture_environment && !info.metadata.contains("environment"))
        info.metadata["environment"] = environment();
    auto owned = std::make_unique<live_run>();
    owned->info = std::move(info);
    const run_info* run = &owned->info;
    w_->runs[run->id] = std::move(owned);
    event e;
    e.kind = run->resumed ? record_kind::run_resume : record_kind::run_start;
    e.run = run;
    e.time_ns = run->start_time_ns;
    w_->pending.push_back(e);
    dispatch_pending();
}

MLTRACK_INLINE const nlohmann::json& core::environment() {
    if (!w_->environment) w_->environment = capture_environment();
    return *w_->environment;
}

MLTRACK_INLINE void core::fail_remaining() noexcept {
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

}  // namespace detail
MLTRACK_NAMESPACE_END
