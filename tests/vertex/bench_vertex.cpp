// Benchmark of the Vertex AI sink against the fake server (started here, on loopback):
//   1. requests per 1000 logged points, for a fast loop and for a paced one (a training step every ms),
//      next to what the Python SDK sends (one :write request per log_time_series_metrics call);
//   2. the logging thread's cost per point with the Vertex sink attached, against the same tracker with a
//      sink that does nothing, measured in the same process (median and p99 of 20-call bursts).
// Prints a table and a final machine-readable line. Not a test: it asserts nothing.
//
//   g++ -std=c++17 -O2 -Iinclude tests/vertex/bench_vertex.cpp -lcurl -lcrypto -pthread -o bench_vertex
//   ./bench_vertex [--points N] [--samples N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <mltrack/sinks/vertex_ai.hpp>

#include "env_guard.hpp"
#include "fake_vertex.hpp"

using clk = std::chrono::steady_clock;
namespace sinks = mltrack::sinks;

namespace {

struct null_sink {
    void write(const mltrack::batch&) {}
    void flush() {}
    std::string_view name() const { return "null"; }
};

struct percentiles {
    double median, p99;
};

template <class F>
percentiles sample(int samples, F&& log_one) {
    std::vector<double> ns;
    std::int64_t step = 0;
    for (int s = 0; s < samples; ++s) {
        const auto t0 = clk::now();
        for (int i = 0; i < 20; ++i) log_one(step++);
        ns.push_back(std::chrono::duration<double, std::nano>(clk::now() - t0).count() / 20);
        const auto until = clk::now() + std::chrono::microseconds(20);
        while (clk::now() < until) {
        }
    }
    std::sort(ns.begin(), ns.end());
    return {ns[ns.size() / 2], ns[ns.size() * 99 / 100]};
}

sinks::vertex_ai_options options(const vertex_test::fake_vertex& s) {
    sinks::vertex_ai_options o;
    o.project = "bench";
    o.endpoint = s.url();
    o.gcs_endpoint = s.url();
    o.access_token = "test-token";
    o.close_timeout = std::chrono::minutes(10);
    return o;
}

struct traffic {
    std::uint64_t points, writes, requests;
    double seconds;
};

/// Logs `points` points of 4 metrics into one run; `pace` > 0 spreads them over pace-long training steps.
traffic run_traffic(vertex_test::fake_vertex& server, const std::string& experiment, std::int64_t points,
                    std::chrono::microseconds pace) {
    sinks::vertex_ai sink{options(server)};
    auto mon = sink.monitor();
    const auto t0 = clk::now();
    {
        mltrack::tracker t{{experiment}, std::move(sink)};
        auto run = t.start_run("r");
        mltrack::metric_handle m[4] = {run.metric("loss"), run.metric("acc"), run.metric("lr"), run.metric("grad")};
        for (std::int64_t s = 0; s < points / 4; ++s) {
            for (auto& h : m) h.log(static_cast<double>(s), s);
            if (pace.count() > 0) {
                const auto until = clk::now() + pace;
                while (clk::now() < until) {
                }
            }
        }
    }
    const auto st = mon.stats();
    return {st.points_sent, st.write_requests, st.requests, std::chrono::duration<double>(clk::now() - t0).count()};
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t points = 400000;
    int samples = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--points") points = std::strtoll(argv[i + 1], nullptr, 10);
        else if (a == "--samples") samples = std::atoi(argv[i + 1]);
    }
    vertex_test::env_guard env("/nonexistent");
    vertex_test::fake_vertex server;

    const auto fast = run_traffic(server, "bench-fast", points, std::chrono::microseconds(0));
    const auto paced = run_traffic(server, "bench-paced", 40000, std::chrono::microseconds(1000));
    std::printf("%-44s %10s %10s %12s %10s\n", "traffic", "points", "writes", "requests", "per 1000");
    auto row = [](const char* what, const traffic& t) {
        std::printf("%-44s %10llu %10llu %12llu %10.3f\n", what, static_cast<unsigned long long>(t.points),
                    static_cast<unsigned long long>(t.writes), static_cast<unsigned long long>(t.requests),
                    1000.0 * static_cast<double>(t.requests) / static_cast<double>(t.points));
    };
    row("fast loop (4 metrics per step)", fast);
    row("paced: a 1 ms step, 4 metrics per step", paced);
    std::printf("%-44s %10s %10s %12s %10.3f\n", "Python SDK, one call per step (4 metrics)", "", "", "", 250.0);
    std::printf("%-44s %10s %10s %12s %10.3f\n", "Python SDK, one call per metric", "", "", "", 1000.0);

    // Caller cost: the same tracker setup with the Vertex sink and with a null sink.
    percentiles with_vertex{}, with_null{};
    {
        mltrack::tracker t{{"bench-cost"}, sinks::vertex_ai{options(server)}};
        auto run = t.start_run("r");
        auto m = run.metric("loss");
        with_vertex = sample(samples, [&](std::int64_t s) { m.log(1.0, s); });
    }
    {
        mltrack::tracker t{{"bench-cost"}, null_sink{}};
        auto run = t.start_run("r");
        auto m = run.metric("loss");
        with_null = sample(samples, [&](std::int64_t s) { m.log(1.0, s); });
    }
    std::printf("\n%-44s %10s %10s\n", "logging thread, ns per point", "median", "p99");
    std::printf("%-44s %10.1f %10.1f\n", "tracker + vertex_ai sink", with_vertex.median, with_vertex.p99);
    std::printf("%-44s %10.1f %10.1f\n", "tracker + null sink (baseline)", with_null.median, with_null.p99);
    std::printf("%-44s %10.2f\n", "ratio (median)", with_vertex.median / with_null.median);
    std::printf("\nRESULT requests_per_1000_fast=%.3f requests_per_1000_paced=%.3f ns_per_point_vertex=%.1f "
                "ns_per_point_null=%.1f ratio=%.2f fast_seconds=%.2f\n",
                1000.0 * static_cast<double>(fast.requests) / static_cast<double>(fast.points),
                1000.0 * static_cast<double>(paced.requests) / static_cast<double>(paced.points), with_vertex.median,
                with_null.median, with_vertex.median / with_null.median, fast.seconds);
    return 0;
}
