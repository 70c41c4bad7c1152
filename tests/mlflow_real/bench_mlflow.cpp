// Benchmark of the MLflow sink against a tracking server (MLFLOW_TRACKING_URI; run.sh starts a real one):
//   1. a training loop logging 4 metrics per step at 1000 steps/s for --seconds: the caller's cost per point
//      (median and p99 of one step's 4 calls), how many log-batch requests per 1000 points, the most points
//      the sink held at once (bounded memory), whether it kept up (the time close() needed after the loop);
//   2. the same loop with a sink that does nothing, in the same process: the baseline of the caller's cost;
//   3. a loop logging as fast as it can (--fast points), with the sink attached.
// Prints one line per figure and a final machine-readable line. Not a test: it asserts nothing.
//
//   g++ -std=c++17 -O2 -Iinclude tests/mlflow_real/bench_mlflow.cpp -lcurl -pthread -o bench_mlflow
//   MLFLOW_TRACKING_URI=http://127.0.0.1:5000 ./bench_mlflow [--seconds S] [--fast N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <mltrack/sinks/mlflow.hpp>

using clk = std::chrono::steady_clock;
namespace sinks = mltrack::sinks;

namespace {

struct null_sink {
    void write(const mltrack::batch&) {}
    void flush() {}
    std::string_view name() const { return "null"; }
};

struct paced_result {
    double median_ns = 0, p99_ns = 0;  ///< per point, over one step's 4 calls
    std::uint64_t points = 0;
};

/// 4 metrics per step at `steps_per_s` for `seconds`; the caller's time per point of each step.
paced_result paced(mltrack::tracker& t, const std::string& run_name, double seconds, int steps_per_s) {
    auto run = t.start_run(run_name);
    auto a = run.metric("train/loss"), b = run.metric("train/accuracy"), c = run.metric("val/loss"),
         d = run.metric("lr");
    const auto period = std::chrono::nanoseconds(1000000000LL / steps_per_s);
    const auto steps = static_cast<std::int64_t>(seconds * steps_per_s);
    std::vector<double> ns;
    ns.reserve(static_cast<std::size_t>(steps));
    auto next = clk::now();
    for (std::int64_t s = 0; s < steps; ++s) {
        const double x = 1.0 / static_cast<double>(s + 1);
        const auto t0 = clk::now();
        a.log(x, s);
        b.log(1 - x, s);
        c.log(x * 1.1, s);
        d.log(0.001, s);
        ns.push_back(std::chrono::duration<double, std::nano>(clk::now() - t0).count() / 4);
        next += period;
        while (clk::now() < next) {
        }
    }
    run.end();
    std::sort(ns.begin(), ns.end());
    return {ns[ns.size() / 2], ns[ns.size() * 99 / 100], static_cast<std::uint64_t>(steps) * 4};
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 10;
    std::int64_t fast = 200000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--seconds") seconds = std::atof(argv[i + 1]);
        else if (a == "--fast") fast = std::atoll(argv[i + 1]);
    }
    const std::string stamp = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() / 1000000);
    mltrack::config cfg{"mltrack-bench"};
    cfg.on_error = [](const mltrack::sink_error& e) { std::fprintf(stderr, "bench_mlflow: %s\n", e.message.c_str()); };

    // 1. The MLflow sink, paced: 4 metrics/step at 1000 steps/s.
    sinks::mlflow_options o;
    o.close_timeout = std::chrono::minutes(10);
    sinks::mlflow sink{o};
    const auto monitor = sink.monitor();
    std::atomic<bool> sampling{true};
    std::atomic<std::uint64_t> max_buffered{0};
    std::thread sampler([&] {
        while (sampling) {
            const auto b = monitor.stats().points_buffered;
            if (b > max_buffered) max_buffered = b;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    paced_result with_sink;
    double close_s = 0;
    {
        mltrack::tracker t{cfg, std::move(sink)};
        with_sink = paced(t, "paced-" + stamp, seconds, 1000);
        const auto t0 = clk::now();
        t.close();
        close_s = std::chrono::duration<double>(clk::now() - t0).count();
    }
    sampling = false;
    sampler.join();
    const auto st = monitor.stats();
    const double req_per_1000 = 1000.0 * static_cast<double>(st.batch_requests) / static_cast<double>(with_sink.points);

    // 2. The same loop with a sink that does nothing.
    paced_result with_null;
    {
        mltrack::tracker t{cfg, null_sink{}};
        with_null = paced(t, "null-" + stamp, seconds, 1000);
    }

    // 3. As fast as the caller can, with the sink attached.
    double fast_ns = 0;
    double fast_close_s = 0;
    {
        sinks::mlflow s2{o};
        mltrack::tracker t{cfg, std::move(s2)};
        auto run = t.start_run("fast-" + stamp);
        auto m = run.metric("train/loss");
        const auto t0 = clk::now();
        for (std::int64_t i = 0; i < fast; ++i) m.log(static_cast<double>(i), i);
        fast_ns = std::chrono::duration<double, std::nano>(clk::now() - t0).count() / static_cast<double>(fast);
        run.end();
        const auto t1 = clk::now();
        t.close();
        fast_close_s = std::chrono::duration<double>(clk::now() - t1).count();
    }

    std::printf("paced loop, 4 metrics/step at 1000 steps/s for %.0f s (%llu points):\n", seconds,
                static_cast<unsigned long long>(with_sink.points));
    std::printf("  caller ns/point with the MLflow sink: median %.1f, p99 %.1f\n", with_sink.median_ns, with_sink.p99_ns);
    std::printf("  caller ns/point with a do-nothing sink: median %.1f, p99 %.1f\n", with_null.median_ns, with_null.p99_ns);
    std::printf("  log-batch requests per 1000 points: %.2f (%llu requests, %llu in all, %llu retried)\n", req_per_1000,
                static_cast<unsigned long long>(st.batch_requests), static_cast<unsigned long long>(st.requests),
                static_cast<unsigned long long>(st.retries));
    std::printf("  most points held by the sink at once: %llu; close() after the loop took %.2f s; undelivered %llu, "
                "dropped %llu\n",
                static_cast<unsigned long long>(max_buffered.load()), close_s,
                static_cast<unsigned long long>(st.undelivered_points), static_cast<unsigned long long>(st.points_dropped));
    std::printf("fast loop, %lld points of one metric: caller %.1f ns/point; close() then took %.2f s to deliver\n",
                static_cast<long long>(fast), fast_ns, fast_close_s);
    std::printf("bench_mlflow: sink_median_ns=%.1f sink_p99_ns=%.1f null_median_ns=%.1f null_p99_ns=%.1f "
                "requests_per_1000=%.2f max_buffered=%llu close_s=%.2f fast_ns=%.1f\n",
                with_sink.median_ns, with_sink.p99_ns, with_null.median_ns, with_null.p99_ns, req_per_1000,
                static_cast<unsigned long long>(max_buffered.load()), close_s, fast_ns);
    return 0;
}
