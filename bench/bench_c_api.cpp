// The C API's and the Fortran module's hot path against the C++ one, in one run: ns per point logged
// through a metric handle by C++ (metric_handle::log, inlined), by C (mltrack_metric_log, a call into
// libmltrack-c: the handle's registry check, then the same push) and by Fortran (the module's m%log, which
// calls mltrack_metric_log). Each is measured like bench_hot_path's caller cost: the mean of 20
// back-to-back calls (the loop in C or Fortran for those two), sampled many times, the three interleaved,
// each logging into its own tracker with a JSONL sink (the writer drains between samples).
//
//   bench_c_api [--samples N] [--dir DIR]
// Prints one line per language and a machine-readable last line:
//   cxx_ns=<median> c_ns=<median> fortran_ns=<median> c_minus_cxx_ns=<x> fortran_minus_cxx_ns=<y>
#include <mltrack/c/mltrack.h>
#include <mltrack/mltrack.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

extern "C" int bench_c_burst(mltrack_metric metric, int64_t first_step, int count);
#if MLTRACK_BENCH_WITH_FORTRAN
extern "C" void bench_fortran_burst(int64_t id, int64_t first_step, int count);
#endif

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

constexpr int burst = 20;

struct figure {
    std::vector<double> ns;
    double median() {
        std::sort(ns.begin(), ns.end());
        return ns.empty() ? -1 : ns[ns.size() / 2];
    }
    double p99() {
        std::sort(ns.begin(), ns.end());
        return ns.empty() ? -1 : ns[ns.size() * 99 / 100];
    }
};

template <class F>
void sample(figure& fig, std::int64_t& step, F&& burst_of) {
    const auto t0 = clk::now();
    burst_of(step);
    const auto t1 = clk::now();
    step += burst;
    fig.ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / burst);
    const auto until = clk::now() + std::chrono::microseconds(20);  // let the writer drain, as training would
    while (clk::now() < until) {
    }
}

}  // namespace

int main(int argc, char** argv) {
    int samples = 200000;
    fs::path dir = fs::temp_directory_path() / ("mltrack-bench-c-api-" + std::to_string(::getpid()));
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) samples = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else {
            std::fprintf(stderr, "usage: bench_c_api [--samples N] [--dir DIR]\n");
            return 2;
        }
    }
    fs::remove_all(dir);
    fs::create_directories(dir);

    mltrack::config cfg{"bench"};
    cfg.capture_environment = false;
    mltrack::tracker cxx_tracker{cfg, mltrack::sinks::jsonl{dir / "cxx"}};
    auto cxx_run = cxx_tracker.start_run("r");
    auto cxx_metric = cxx_run.metric("train/loss");

    auto open = [&](const char* name, mltrack_tracker& t, mltrack_run& r, mltrack_metric& m) {
        const std::string options =
            "experiment=bench; capture_environment=0; sink=jsonl:" + (dir / name).string();
        if (mltrack_tracker_open_options(options.c_str(), &t) != MLTRACK_OK ||
            mltrack_run_start(t, "r", MLTRACK_START_CREATE, &r, nullptr) != MLTRACK_OK ||
            mltrack_run_metric(r, "train/loss", &m) != MLTRACK_OK) {
            std::fprintf(stderr, "bench_c_api: %s\n", mltrack_last_error());
            std::exit(1);
        }
    };
    mltrack_tracker c_tracker{}, f_tracker{};
    mltrack_run c_run{}, f_run{};
    mltrack_metric c_metric{}, f_metric{};
    open("c", c_tracker, c_run, c_metric);
    open("fortran", f_tracker, f_run, f_metric);

    figure cxx, c, fortran;
    std::int64_t cxx_step = 0, c_step = 0, f_step = 0;
    int bad = 0;
    for (int s = 0; s < samples; ++s) {
        sample(cxx, cxx_step, [&](std::int64_t first) {
            for (int i = 0; i < burst; ++i) cxx_metric.log(0.5, first + i);
        });
        sample(c, c_step, [&](std::int64_t first) { bad += bench_c_burst(c_metric, first, burst); });
#if MLTRACK_BENCH_WITH_FORTRAN
        sample(fortran, f_step, [&](std::int64_t first) { bench_fortran_burst(static_cast<int64_t>(f_metric.id), first, burst); });
#endif
    }
    if (bad) std::fprintf(stderr, "bench_c_api: %d C log calls failed\n", bad);

    cxx_run.end();
    cxx_tracker.close();
    mltrack_run_end(c_run, MLTRACK_STATE_COMPLETE);
    mltrack_run_end(f_run, MLTRACK_STATE_COMPLETE);
    mltrack_tracker_close(c_tracker);
    mltrack_tracker_close(f_tracker);

    std::printf("caller cost per point through a metric handle (mean of %d back-to-back calls, %d samples each)\n",
                burst, samples);
    const double m_cxx = cxx.median(), m_c = c.median(), m_f = fortran.median();
    std::printf("  C++      median %6.2f ns   p99 %6.2f ns\n", m_cxx, cxx.p99());
    std::printf("  C        median %6.2f ns   p99 %6.2f ns   (C - C++: %+.2f ns)\n", m_c, c.p99(), m_c - m_cxx);
#if MLTRACK_BENCH_WITH_FORTRAN
    std::printf("  Fortran  median %6.2f ns   p99 %6.2f ns   (Fortran - C++: %+.2f ns)\n", m_f, fortran.p99(),
                m_f - m_cxx);
#else
    std::printf("  Fortran  not built (no Fortran compiler)\n");
#endif
    std::printf("cxx_ns=%.2f c_ns=%.2f fortran_ns=%.2f c_minus_cxx_ns=%.2f fortran_minus_cxx_ns=%.2f\n", m_cxx, m_c,
                m_f, m_c - m_cxx, m_f - m_cxx);
    fs::remove_all(dir);
    return bad == 0 ? 0 : 1;
}
