// How long `mltrack ls` takes over a large root: by default 1,000 runs of 10,000 points each (two metrics,
// 5,000 steps, one line per point as a live training loop writes them), generated with the library's JSONL
// sink in a temporary folder. Times the command's own code path (find the runs, read each run's streaming
// summary on every core, build and print the table to /dev/null), the same on one thread, and the baseline
// that reads every run with read_run() (all records in memory) on one thread. Figures are with the files in
// the page cache (the generator just wrote them). Prints a table and a final machine-readable line.
//
//   bench_ls [--runs N] [--points N] [--dir DIR] [--keep]
#include <mltrack/mltrack.hpp>

#include "../tools/mltrack/cmd_ls.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

std::uintmax_t tree_bytes(const fs::path& root) {
    std::uintmax_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file()) n += e.file_size();
    return n;
}

void generate(const fs::path& root, int runs, int points) {
    mltrack::tracker t{mltrack::config{"bench"}, mltrack::sinks::jsonl(root)};
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> u(0, 1);
    for (int r = 0; r < runs; ++r) {
        auto run = t.start_run("run-" + std::to_string(r));
        run.log_params({{"lr", 0.001 * (1 + r % 10)}, {"batch_size", 32 << (r % 3)}, {"optimizer", r % 2 ? "adam" : "sgd"}});
        auto loss = run.metric("train/loss");
        auto acc = run.metric("val/acc");
        for (int step = 0; step < points / 2; ++step) {
            loss.log(1.0 / (1 + step) + 0.01 * u(rng), step);
            acc.log(1.0 - 1.0 / (2 + step) - 0.01 * u(rng), step);
        }
        run.log_metrics({{"test/acc", u(rng)}});
    }
    t.flush();
}

/// The `ls` code path with the table written to /dev/null; returns the rows.
std::size_t ls_path(const fs::path& root, unsigned threads) {
    using namespace mltrack_cli;
    auto loaded = load_summaries(find_runs(root), threads);
    std::vector<const mltrack::run_summary*> runs;
    for (const auto& s : loaded.summaries)
        if (s) runs.push_back(&*s);
    mltrack::sort_runs(runs, mltrack::parse_order_by("-metric.val/acc"));
    auto table = build_table(runs);
    std::FILE* null = std::fopen("/dev/null", "w");
    {
        output out(null);
        write_aligned(out, table);
    }
    std::fclose(null);
    return table.rows.size();
}

/// Baseline: read_run() every run (every record kept), one thread, latest value per metric.
std::size_t read_run_path(const fs::path& root) {
    std::size_t rows = 0;
    mltrack::read_options options;
    options.strict = false;
    for (const auto& ref : mltrack_cli::find_runs(root)) {
        auto run = mltrack::read_run(ref.dir, options);
        std::map<std::string, double> latest;
        for (const auto& kv : run.series)
            if (!kv.second.empty()) latest[kv.first] = kv.second.back().value;
        rows += !latest.empty();
    }
    return rows;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 1000, points = 10000;
    fs::path dir;
    bool keep = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (a == "--points" && i + 1 < argc) points = std::atoi(argv[++i]);
        else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--keep") keep = true;
        else {
            std::fprintf(stderr, "usage: bench_ls [--runs N] [--points N] [--dir DIR] [--keep]\n");
            return 2;
        }
    }
    const bool own_dir = dir.empty();
    if (own_dir) dir = fs::temp_directory_path() / ("mltrack-bench-ls-" + std::to_string(::getpid()));
    fs::create_directories(dir);

    auto t0 = clk::now();
    generate(dir, runs, points);
    const double gen_s = seconds_since(t0);
    const double mib = static_cast<double>(tree_bytes(dir)) / (1 << 20);
    std::printf("data set: %d runs x %d points, %.0f MiB, generated in %.2f s\n", runs, points, mib, gen_s);

    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    ls_path(dir, cores);  // warm-up (page cache, allocator)
    t0 = clk::now();
    const std::size_t rows = ls_path(dir, cores);
    const double ls_s = seconds_since(t0);
    t0 = clk::now();
    ls_path(dir, 1);
    const double ls1_s = seconds_since(t0);
    t0 = clk::now();
    const std::size_t base_rows = read_run_path(dir);
    const double base_s = seconds_since(t0);

    const double pts = static_cast<double>(runs) * points;
    std::printf("%-44s %10s %14s %10s\n", "path", "seconds", "points/s", "vs base");
    std::printf("%-44s %10.3f %14.3g %9.1fx\n", ("mltrack ls (" + std::to_string(cores) + " threads)").c_str(), ls_s,
                pts / ls_s, base_s / ls_s);
    std::printf("%-44s %10.3f %14.3g %9.1fx\n", "mltrack ls (1 thread)", ls1_s, pts / ls1_s, base_s / ls1_s);
    std::printf("%-44s %10.3f %14.3g %9.1fx\n", "baseline: read_run() per run, 1 thread", base_s, pts / base_s, 1.0);
    std::printf("BENCH ls runs=%d points=%d mib=%.0f rows=%zu ls_s=%.3f ls_1thread_s=%.3f read_run_s=%.3f\n", runs,
                points, mib, rows, ls_s, ls1_s, base_s);
    if (rows != static_cast<std::size_t>(runs) || base_rows != static_cast<std::size_t>(runs)) {
        std::fprintf(stderr, "bench_ls: expected %d rows, got %zu and %zu\n", runs, rows, base_rows);
        return 1;
    }
    if (own_dir && !keep) fs::remove_all(dir);
    else std::printf("data kept in %s\n", dir.string().c_str());
    return 0;
}
