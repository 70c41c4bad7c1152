// Google Benchmark micro-benchmarks of the hot path's parts: the shared MPSC ring against per-thread SPSC
// rings (1 and 4 producers, a consumer thread draining), the clocks a point's time can come from, and the
// whole caller-side log through a tracker whose sink discards (by handle and by string key).
//
//   bench_queue [--benchmark_filter=...] [--benchmark_min_time=...]
#include <benchmark/benchmark.h>

#include <mltrack/mltrack.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

using mltrack::detail::mpsc_ring;
using mltrack::detail::spsc_ring;
using item = mltrack::detail::queue_item;

constexpr int max_producers = 4;
constexpr std::size_t capacity = 1u << 16;

/// A consumer thread that drains the shared ring and every per-thread ring while a benchmark runs.
struct rings {
    mpsc_ring<item> shared{capacity};
    std::vector<std::unique_ptr<spsc_ring<item>>> own;
    std::atomic<bool> stop{false};
    std::thread consumer;

    rings() {
        for (int i = 0; i < max_producers; ++i) own.push_back(std::make_unique<spsc_ring<item>>(capacity));
        consumer = std::thread([this] {
            item out{};
            std::uint64_t sink = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                std::size_t n = 0;
                while (n < 4096 && shared.try_pop(out)) ++n, sink += out.point.step;
                for (auto& r : own)
                    for (std::size_t k = 0; k < 4096 && r->try_pop(out); ++k) ++n, sink += out.point.step;
                if (n == 0) std::this_thread::yield();
            }
            benchmark::DoNotOptimize(sink);
        });
    }
    ~rings() {
        stop = true;
        consumer.join();
    }
};

rings& the_rings() {
    static rings r;
    return r;
}

/// Pushes into `r` until the benchmark stops, spinning while the consumer makes room.
template <class Ring>
void push_loop(benchmark::State& state, Ring& r) {
    item it{};
    std::int64_t step = 0;
    for (auto _ : state) {
        it.point.step = step++;
        while (!r.try_push(it)) {
        }
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_mpsc_push(benchmark::State& state) { push_loop(state, the_rings().shared); }
BENCHMARK(BM_mpsc_push)->Threads(1)->Threads(4)->UseRealTime();

void BM_spsc_push(benchmark::State& state) {
    push_loop(state, *the_rings().own[static_cast<std::size_t>(state.thread_index()) % max_producers]);
}
BENCHMARK(BM_spsc_push)->Threads(1)->Threads(4)->UseRealTime();

/// Caller cost without a consumer in the way: bursts of 256 pushes timed, then drained by the same thread
/// outside the timing (one producer).
template <class Ring>
void push_bursts(benchmark::State& state) {
    Ring r(capacity);
    item it{}, out{};
    std::int64_t step = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 256; ++i) {
            it.point.step = step++;
            r.try_push(it);
        }
        const auto t1 = std::chrono::steady_clock::now();
        state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
        while (r.try_pop(out)) benchmark::DoNotOptimize(out);
    }
    state.SetItemsProcessed(state.iterations() * 256);
    state.counters["ns_per_push"] = benchmark::Counter(static_cast<double>(state.iterations()) * 256,
                                                      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void BM_mpsc_push_uncontended(benchmark::State& state) { push_bursts<mpsc_ring<item>>(state); }
void BM_spsc_push_uncontended(benchmark::State& state) { push_bursts<spsc_ring<item>>(state); }
BENCHMARK(BM_mpsc_push_uncontended)->UseManualTime();
BENCHMARK(BM_spsc_push_uncontended)->UseManualTime();

void BM_clock_system(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(mltrack::detail::system_clock_ns());
}
BENCHMARK(BM_clock_system);

void BM_clock_coarse(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(mltrack::detail::coarse_clock_ns());
}
BENCHMARK(BM_clock_coarse);

void BM_clock_tsc(benchmark::State& state) {
    state.SetLabel(mltrack::detail::process_clock().uses_ticks() ? "tsc" : "system_clock (no invariant TSC)");
    for (auto _ : state) benchmark::DoNotOptimize(mltrack::detail::fast_clock_ns());
}
BENCHMARK(BM_clock_tsc);

/// A sink that only counts: the writer's cost stays off the measurement as far as it can.
struct discard {
    std::shared_ptr<std::atomic<std::uint64_t>> n = std::make_shared<std::atomic<std::uint64_t>>(0);
    void write(const mltrack::batch& b) { n->fetch_add(b.size(), std::memory_order_relaxed); }
    void flush() {}
    std::string_view name() const { return "discard"; }
};

void BM_log_handle(benchmark::State& state) {
    mltrack::config cfg{"bench"};
    cfg.queue_capacity = 1u << 20;
    mltrack::basic_tracker<discard> t{cfg, discard{}};
    auto run = t.start_run("r");
    auto loss = run.metric("train/loss");
    std::int64_t step = 0;
    for (auto _ : state) loss.log(0.5, step++);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_log_handle);

void BM_log_string_key(benchmark::State& state) {
    mltrack::config cfg{"bench"};
    cfg.queue_capacity = 1u << 20;
    mltrack::basic_tracker<discard> t{cfg, discard{}};
    auto run = t.start_run("r");
    std::int64_t step = 0;
    for (auto _ : state) run.log("train/loss", 0.5, step++);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_log_string_key);

/// Four values at one step in one call, against four run.log calls (items: points).
void BM_log_time_series_4(benchmark::State& state) {
    mltrack::config cfg{"bench"};
    cfg.queue_capacity = 1u << 20;
    mltrack::basic_tracker<discard> t{cfg, discard{}};
    auto run = t.start_run("r");
    std::int64_t step = 0;
    for (auto _ : state)
        run.log_time_series(
            {{"train/loss", 0.5}, {"train/lr", 0.1}, {"validation/accuracy", 0.9}, {"train/grad_norm", 2.0}}, step++);
    state.SetItemsProcessed(4 * state.iterations());
}
BENCHMARK(BM_log_time_series_4);

void BM_log_string_key_4(benchmark::State& state) {
    mltrack::config cfg{"bench"};
    cfg.queue_capacity = 1u << 20;
    mltrack::basic_tracker<discard> t{cfg, discard{}};
    auto run = t.start_run("r");
    std::int64_t step = 0;
    for (auto _ : state) {
        run.log("train/loss", 0.5, step);
        run.log("train/lr", 0.1, step);
        run.log("validation/accuracy", 0.9, step);
        run.log("train/grad_norm", 2.0, step++);
    }
    state.SetItemsProcessed(4 * state.iterations());
}
BENCHMARK(BM_log_string_key_4);

}  // namespace

BENCHMARK_MAIN();
