// Caller cost of logging one metric point, measured quill-style: the mean of 20 back-to-back calls,
// sampled many times, median and p99 reported. Baselines in the same process: a loop that builds an
// nlohmann::json object per point and writes it as a line (what users write by hand today), and fprintf
// of the same values. Also sustained throughput to the JSONL sink. Prints one table and a final
// machine-readable line.
//
//   bench_hot_path [--samples N] [--points N] [--dir DIR]
#include <mltrack/mltrack.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

constexpr int burst = 20;

struct percentiles {
    double median, p99;
};

percentiles summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v[v.size() * 99 / 100]};
}

template <class F>
percentiles sample(int samples, F&& log_one) {
    std::vector<double> ns;
    ns.reserve(static_cast<std::size_t>(samples));
    std::int64_t step = 0;
    for (int s = 0; s < samples; ++s) {
        const auto t0 = clk::now();
        for (int i = 0; i < burst; ++i) log_one(step++);
        const auto t1 = clk::now();
        ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / burst);
        // Let a background writer drain, as a training step between logs would.
        const auto until = clk::now() + std::chrono::microseconds(20);
        while (clk::now() < until) {
        }
    }
    return summarize(std::move(ns));
}

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
    int samples = 20000;
    std::int64_t points = 5'000'000;
    fs::path dir = fs::temp_directory_path() / ("mltrack-bench-" + std::to_string(::getpid()));
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--samples") samples = std::atoi(argv[i + 1]);
        else if (a == "--points") points = std::atoll(argv[i + 1]);
        else if (a == "--dir") dir = argv[i + 1];
    }
    fs::create_directories(dir);

    // 1. mltrack: interned handle into the JSONL sink (writer thread).
    percentiles ours{}, ours_key{};
    double ours_rate = 0;
    {
        mltrack::config cfg{"bench"};
        cfg.queue_capacity = 1u << 20;
        mltrack::tracker tracker{cfg, mltrack::sinks::jsonl{dir / "mltrack"}};
        auto run = tracker.start_run("hot-path");
        auto loss = run.metric("train/loss");
        ours = sample(samples, [&](std::int64_t step) { loss.log(0.5 + 1e-9 * static_cast<double>(step), step); });
        ours_key = sample(samples, [&](std::int64_t step) { run.log("train/key", 0.25, step); });
        tracker.flush();
        const auto t0 = clk::now();
        for (std::int64_t i = 0; i < points; ++i) loss.log(static_cast<double>(i) * 1e-7, i);
        tracker.flush();
        ours_rate = static_cast<double>(points) / seconds_since(t0);
    }

    // 2. Baseline: nlohmann::json per point, dumped and written as a line.
    percentiles nl{};
    double nl_rate = 0;
    {
        std::ofstream out(dir / "nlohmann.jsonl");
        auto log_one = [&](std::int64_t step) {
            nlohmann::json j;
            j["kind"] = "metrics";
            j["step"] = step;
            j["time"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
            j["values"]["train/loss"] = 0.5;
            out << j.dump() << '\n';
        };
        nl = sample(samples, log_one);
        const std::int64_t n = points / 5;
        const auto t0 = clk::now();
        for (std::int64_t i = 0; i < n; ++i) log_one(i);
        out.flush();
        nl_rate = static_cast<double>(n) / seconds_since(t0);
    }

    // 3. Baseline: fprintf of the same values.
    percentiles pf{};
    double pf_rate = 0;
    {
        std::FILE* f = std::fopen((dir / "fprintf.txt").c_str(), "w");
        auto log_one = [&](std::int64_t step) {
            std::fprintf(f, "train/loss %lld %.17g\n", static_cast<long long>(step), 0.5);
        };
        pf = sample(samples, log_one);
        const auto t0 = clk::now();
        for (std::int64_t i = 0; i < points; ++i) log_one(i);
        std::fflush(f);
        pf_rate = static_cast<double>(points) / seconds_since(t0);
        std::fclose(f);
    }

    std::error_code ec;
    const auto bytes = fs::file_size(dir / "mltrack" / "bench" / "hot-path" / "events.jsonl", ec);
    fs::remove_all(dir, ec);

    std::printf("%-38s %12s %12s %12s\n", "figure", "mltrack", "nlohmann", "fprintf");
    std::printf("%-38s %12.1f %12.1f %12.1f\n", "caller ns/point, median (handle)", ours.median, nl.median, pf.median);
    std::printf("%-38s %12.1f %12.1f %12.1f\n", "caller ns/point, p99 (handle)", ours.p99, nl.p99, pf.p99);
    std::printf("%-38s %12.1f %12s %12s\n", "caller ns/point, median (string key)", ours_key.median, "-", "-");
    std::printf("%-38s %12.2f %12.2f %12.2f\n", "sustained M points/s to file", ours_rate / 1e6, nl_rate / 1e6,
                pf_rate / 1e6);
    std::printf("%-38s %12.1f %12s %12s\n", "JSONL bytes/point", static_cast<double>(bytes) / double(points + 2 * samples * burst), "-", "-");
    std::printf("ratios: caller median nlohmann/mltrack = %.1fx, fprintf/mltrack = %.1fx; throughput mltrack/nlohmann = %.1fx\n",
                nl.median / ours.median, pf.median / ours.median, ours_rate / nl_rate);
    std::printf("hot_path_ns=%.1f hot_path_p99_ns=%.1f string_key_ns=%.1f nlohmann_ns=%.1f fprintf_ns=%.1f jsonl_mpts=%.2f\n",
                ours.median, ours.p99, ours_key.median, nl.median, pf.median, ours_rate / 1e6);
    return 0;
}
