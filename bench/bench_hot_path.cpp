// Whole-program benchmark of logging metric points, with its baselines run in the same process (or, for
// memory, in child processes of the same binary): fprintf of the same values, a loop that builds an
// nlohmann::json per point and writes it as a line (what users write by hand today), and spdlog's async
// logger writing the same points as text (built when CMake finds spdlog: MLTRACK_BENCH_WITH_SPDLOG).
//
// Figures: caller cost (quill-style: the mean of 20 back-to-back calls, sampled many times; median and
// p99), sustained throughput with 1 and 4 producer threads to JSONL and to TensorBoard files (writer to the
// page cache), bytes per point (one metric per step, and 4 metrics logged by separate calls at each step),
// peak RSS while logging N points minus that of an empty run of this program, start (construct + first
// point) and stop (close with an empty queue). Every figure is printed with each baseline and the ratio "how
// many times better mltrack is" (>1: better).
//
//   bench_hot_path [--quick] [--guard] [--samples N] [--points N] [--rss-points N] [--dir DIR]
//   --guard: a short run for CI; exits 1 when a ratio to an in-run baseline falls below its floor.
#include <mltrack/mltrack.hpp>
#include <mltrack/sinks/tensorboard.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#if MLTRACK_BENCH_WITH_SPDLOG
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#endif

extern char** environ;

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

constexpr int burst = 20;
constexpr double none = -1;  ///< a figure a baseline does not have

struct percentiles {
    double median = none, p99 = none;
};

percentiles summarize(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v[v.size() * 99 / 100]};
}

/// Quill-style caller cost: the mean of `burst` back-to-back calls, sampled `samples` times.
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
double ms_since(clk::time_point t0) { return seconds_since(t0) * 1e3; }

std::uint64_t bytes_under(const fs::path& dir, const char* name_prefix) {
    std::uint64_t n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file() && it->path().filename().string().rfind(name_prefix, 0) == 0)
            n += it->file_size();
    return n;
}

mltrack::config bench_config() {
    mltrack::config cfg{"bench"};
    cfg.queue_capacity = 1u << 16;  // the default
    return cfg;
}

// ------------------------------------------------------------------ the loggers, each as "log one point"

struct nlohmann_logger {
    std::ofstream out;
    explicit nlohmann_logger(const fs::path& p) : out(p) {}
    void operator()(std::int64_t step, double v) {
        nlohmann::json j;
        j["kind"] = "metrics";
        j["time"] = mltrack::detail::system_clock_ns();
        j["step"] = step;
        j["values"]["train/loss"] = v;
        out << j.dump() << '\n';
    }
};

struct fprintf_logger {
    std::FILE* f;
    explicit fprintf_logger(const fs::path& p) : f(std::fopen(p.c_str(), "w")) {}
    ~fprintf_logger() { std::fclose(f); }
    void operator()(std::int64_t step, double v) {
        std::fprintf(f, "%lld train/loss %lld %.17g\n", static_cast<long long>(mltrack::detail::system_clock_ns()),
                     static_cast<long long>(step), v);
    }
};

#if MLTRACK_BENCH_WITH_SPDLOG
/// spdlog's async logger (its own thread pool, blocking when its queue is full), writing the point as text.
struct spdlog_logger {
    std::shared_ptr<spdlog::logger> log;
    explicit spdlog_logger(const fs::path& p) {
        spdlog::init_thread_pool(1u << 16, 1);
        log = spdlog::create_async<spdlog::sinks::basic_file_sink_mt>("bench", p.string(), true);
        log->set_pattern("%v");
    }
    void operator()(std::int64_t step, double v) { log->info("{} train/loss {} {}", mltrack::detail::system_clock_ns(), step, v); }
    /// Waits until everything is written: drops the logger and joins the thread pool (drains its queue).
    void finish() {
        log.reset();
        spdlog::drop_all();
        spdlog::shutdown();
    }
};
#endif

// ------------------------------------------------------------------ figures

struct row {
    std::string figure;
    double ours, fprintf_, nlohmann, spdlog;
    bool lower_is_better;
};

void print_table(const std::vector<row>& rows) {
    std::printf("%-40s %10s %10s %10s %10s   %s\n", "figure", "mltrack", "fprintf", "nlohmann", "spdlog",
                "mltrack better by (x): fprintf / nlohmann / spdlog");
    auto cell = [](double v) {
        static char buf[8][32];
        static int k = 0;
        char* b = buf[k++ % 8];
        if (v == none) std::snprintf(b, 32, "%10s", "-");
        else std::snprintf(b, 32, "%10.2f", v);
        return b;
    };
    auto ratio = [](const row& r, double base) {
        static char buf[8][32];
        static int k = 0;
        char* b = buf[k++ % 8];
        if (base == none || r.ours == none || r.ours <= 0 || base <= 0) std::snprintf(b, 32, "%6s", "-");
        else std::snprintf(b, 32, "%6.2f", r.lower_is_better ? base / r.ours : r.ours / base);
        return b;
    };
    for (const auto& r : rows)
        std::printf("%-40s %s %s %s %s   %s / %s / %s\n", r.figure.c_str(), cell(r.ours), cell(r.fprintf_),
                    cell(r.nlohmann), cell(r.spdlog), ratio(r, r.fprintf_), ratio(r, r.nlohmann),
                    ratio(r, r.spdlog));
}

/// This process's peak RSS in KiB (VmHWM: per address space, so not inherited from the parent at exec,
/// unlike getrusage's ru_maxrss).
long peak_rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}

/// Peak RSS (MiB) of this program run as `--rss-child KIND N DIR` (the child writes it to DIR/peak_kib).
double child_peak_rss_mib(const char* self, const std::string& kind, std::int64_t n, const fs::path& dir) {
    const std::string ns = std::to_string(n), ds = dir.string();
    std::vector<char*> argv{const_cast<char*>(self), const_cast<char*>("--rss-child"), const_cast<char*>(kind.c_str()),
                            const_cast<char*>(ns.c_str()), const_cast<char*>(ds.c_str()), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, self, nullptr, nullptr, argv.data(), environ) != 0) return none;
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return none;
    std::ifstream in(dir / "peak_kib");
    long kib = -1;
    if (!(in >> kib) || kib < 0) return none;
    return static_cast<double>(kib) / 1024.0;
}

int rss_child_run(const std::string& kind, std::int64_t n, const fs::path& dir);

int rss_child(const std::string& kind, std::int64_t n, const fs::path& dir) {
    fs::create_directories(dir);
    const int rc = rss_child_run(kind, n, dir);
    std::ofstream(dir / "peak_kib") << peak_rss_kib() << '\n';
    return rc;
}

int rss_child_run(const std::string& kind, std::int64_t n, const fs::path& dir) {
    if (kind == "empty") return 0;
    if (kind == "mltrack") {
        mltrack::tracker t{bench_config(), mltrack::sinks::jsonl{dir}};
        auto run = t.start_run("rss");
        auto loss = run.metric("train/loss");
        for (std::int64_t i = 0; i < n; ++i) loss.log(static_cast<double>(i) * 1e-7, i);
        run.end();
        t.close();
        return 0;
    }
    if (kind == "start") {  // construct + first point as the first thing a fresh process does
        const auto t0 = clk::now();
        mltrack::tracker t{bench_config(), mltrack::sinks::jsonl{dir}};
        auto run = t.start_run("start");
        run.log("train/loss", 1.0, 0);
        std::ofstream(dir / "start_ms") << ms_since(t0) << '\n';
        return 0;
    }
    if (kind == "fprintf") {
        fprintf_logger l(dir / "fprintf.txt");
        for (std::int64_t i = 0; i < n; ++i) l(i, static_cast<double>(i) * 1e-7);
        return 0;
    }
    if (kind == "nlohmann") {
        nlohmann_logger l(dir / "nlohmann.jsonl");
        for (std::int64_t i = 0; i < n; ++i) l(i, static_cast<double>(i) * 1e-7);
        return 0;
    }
#if MLTRACK_BENCH_WITH_SPDLOG
    if (kind == "spdlog") {
        spdlog_logger l(dir / "spdlog.txt");
        for (std::int64_t i = 0; i < n; ++i) l(i, static_cast<double>(i) * 1e-7);
        l.finish();
        return 0;
    }
#endif
    return 2;
}

/// Points per second through `log_one(step, value)` over n points, `finish()` included.
template <class Log, class Finish>
double rate(std::int64_t n, Log&& log_one, Finish&& finish) {
    const auto t0 = clk::now();
    for (std::int64_t i = 0; i < n; ++i) log_one(i, static_cast<double>(i) * 1e-7);
    finish();
    return static_cast<double>(n) / seconds_since(t0);
}

/// mltrack's throughput with `threads` producers into a tracker with `sink`; returns points/s.
template <class Sink>
double mltrack_rate(std::int64_t n, int threads, Sink sink) {
    mltrack::tracker t{bench_config(), std::move(sink)};
    auto run = t.start_run("rate");
    std::vector<mltrack::metric_handle> h;
    for (int k = 0; k < threads; ++k) h.push_back(run.metric("train/loss" + std::to_string(k)));
    const auto t0 = clk::now();
    std::vector<std::thread> ts;
    for (int k = 0; k < threads; ++k)
        ts.emplace_back([&, k] {
            const std::int64_t m = n / threads;
            for (std::int64_t i = 0; i < m; ++i) h[static_cast<std::size_t>(k)].log(static_cast<double>(i) * 1e-7, i);
        });
    for (auto& th : ts) th.join();
    t.flush();
    const double r = static_cast<double>(n / threads * threads) / seconds_since(t0);
    run.end();
    t.close();
    return r;
}

/// Bytes per point of the files under `dir` whose names start with `prefix`, when a training loop logs 4
/// metrics by separate handle calls at each of `steps` steps (loss, lr, accuracy, gradient norm in turn).
template <class Sink>
double bytes_4_metrics_per_step(std::int64_t steps, Sink sink, const fs::path& dir, const char* prefix) {
    {
        mltrack::tracker t{bench_config(), std::move(sink)};
        auto run = t.start_run("multi");
        auto loss = run.metric("train/loss"), lr = run.metric("train/lr"), acc = run.metric("train/acc"),
             grad = run.metric("train/grad_norm");
        for (std::int64_t i = 0; i < steps; ++i) {
            const double x = static_cast<double>(i) * 1e-7;
            loss.log(1.0 - x, i);
            lr.log(1e-3, i);
            acc.log(x, i);
            grad.log(0.5 + x, i);
        }
        run.end();
        t.close();
    }
    return static_cast<double>(bytes_under(dir, prefix)) / static_cast<double>(4 * steps);
}

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "--rss-child") == 0) return rss_child(argv[2], std::atoll(argv[3]), argv[4]);

    bool quick = false, guard = false;
    int samples = 20000;
    std::int64_t points = 10'000'000, rss_points = 100'000'000;
    fs::path dir = fs::temp_directory_path() / ("mltrack-bench-" + std::to_string(::getpid()));
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has = i + 1 < argc;
        if (a == "--quick") quick = true;
        else if (a == "--guard") guard = true;
        else if (a == "--samples" && has) samples = std::atoi(argv[++i]);
        else if (a == "--points" && has) points = std::atoll(argv[++i]);
        else if (a == "--rss-points" && has) rss_points = std::atoll(argv[++i]);
        else if (a == "--dir" && has) dir = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--quick] [--guard] [--samples N] [--points N] [--rss-points N] [--dir DIR]\n", argv[0]);
            return 2;
        }
    }
    if (quick) {
        samples = std::min(samples, 20000);
        points = std::min<std::int64_t>(points, 4'000'000);
        rss_points = std::min<std::int64_t>(rss_points, 20'000'000);
    }
    if (guard) {
        samples = std::min(samples, 10000);
        points = std::min<std::int64_t>(points, 1'000'000);
    }
    fs::create_directories(dir);
    std::vector<row> rows;

    // ---- caller cost
    percentiles ours, ours_key, pf, nl, sp;
    {
        mltrack::tracker t{bench_config(), mltrack::sinks::jsonl{dir / "caller"}};
        auto run = t.start_run("caller");
        auto loss = run.metric("train/loss");
        run.log("train/key", 0.25, 0);
        ours = sample(samples, [&](std::int64_t step) { loss.log(0.5 + 1e-9 * static_cast<double>(step), step); });
        ours_key = sample(samples, [&](std::int64_t step) { run.log("train/key", 0.25, step); });
    }
    {
        fprintf_logger l(dir / "fprintf-caller.txt");
        pf = sample(samples, [&](std::int64_t step) { l(step, 0.5); });
    }
    {
        nlohmann_logger l(dir / "nlohmann-caller.jsonl");
        nl = sample(samples, [&](std::int64_t step) { l(step, 0.5); });
    }
#if MLTRACK_BENCH_WITH_SPDLOG
    {
        spdlog_logger l(dir / "spdlog-caller.txt");
        sp = sample(samples, [&](std::int64_t step) { l(step, 0.5); });
        l.finish();
    }
#endif
    rows.push_back({"caller ns/point, median (handle)", ours.median, pf.median, nl.median, sp.median, true});
    rows.push_back({"caller ns/point, p99 (handle)", ours.p99, pf.p99, nl.p99, sp.p99, true});
    rows.push_back({"caller ns/point, median (string key)", ours_key.median, pf.median, nl.median, sp.median, true});

    // ---- sustained throughput (M points/s), writer to the page cache
    const double jsonl1 = mltrack_rate(points, 1, mltrack::sinks::jsonl{dir / "jsonl1"}) / 1e6;
    const auto jsonl_bytes = static_cast<double>(bytes_under(dir / "jsonl1", "events")) / static_cast<double>(points);
    const double jsonl4 = guard ? none : mltrack_rate(points, 4, mltrack::sinks::jsonl{dir / "jsonl4"}) / 1e6;
    const double tb1 = mltrack_rate(points, 1, mltrack::sinks::tensorboard{dir / "tb1"}) / 1e6;
    const auto tb_bytes = static_cast<double>(bytes_under(dir / "tb1", "events.out.tfevents")) / static_cast<double>(points);
    const double tb4 = guard ? none : mltrack_rate(points, 4, mltrack::sinks::tensorboard{dir / "tb4"}) / 1e6;
    const std::int64_t multi_steps = points / 4;
    const double jsonl_multi_bytes =
        guard ? none : bytes_4_metrics_per_step(multi_steps, mltrack::sinks::jsonl{dir / "jsonl-multi"}, dir / "jsonl-multi", "events");
    const double tb_multi_bytes =
        guard ? none
              : bytes_4_metrics_per_step(multi_steps, mltrack::sinks::tensorboard{dir / "tb-multi"}, dir / "tb-multi",
                                         "events.out.tfevents");
    double pf_rate = 0, nl_rate = 0, sp_rate = none;
    {
        fprintf_logger l(dir / "fprintf.txt");
        pf_rate = rate(points, l, [&] { std::fflush(l.f); }) / 1e6;
    }
    const auto pf_bytes = static_cast<double>(fs::file_size(dir / "fprintf.txt")) / static_cast<double>(points);
    {
        nlohmann_logger l(dir / "nlohmann.jsonl");
        nl_rate = rate(points / 5, l, [&] { l.out.flush(); }) / 1e6;
    }
    const auto nl_bytes = static_cast<double>(fs::file_size(dir / "nlohmann.jsonl")) / static_cast<double>(points / 5);
    double sp_bytes = none;
#if MLTRACK_BENCH_WITH_SPDLOG
    {
        spdlog_logger l(dir / "spdlog.txt");
        sp_rate = rate(points, l, [&] { l.finish(); }) / 1e6;
    }
    sp_bytes = static_cast<double>(fs::file_size(dir / "spdlog.txt")) / static_cast<double>(points);
#endif
    rows.push_back({"JSONL M points/s, 1 producer", jsonl1, pf_rate, nl_rate, sp_rate, false});
    rows.push_back({"JSONL M points/s, 4 producers", jsonl4, pf_rate, nl_rate, sp_rate, false});
    rows.push_back({"TensorBoard M points/s, 1 producer", tb1, pf_rate, nl_rate, sp_rate, false});
    rows.push_back({"TensorBoard M points/s, 4 producers", tb4, pf_rate, nl_rate, sp_rate, false});
    rows.push_back({"JSONL bytes/point, 1 metric/step", jsonl_bytes, pf_bytes, nl_bytes, sp_bytes, true});
    rows.push_back({"JSONL bytes/point, 4 metrics/step", jsonl_multi_bytes, none, none, none, true});
    rows.push_back({"TensorBoard bytes/point, 1 metric/step", tb_bytes, pf_bytes, nl_bytes, sp_bytes, true});
    rows.push_back({"TensorBoard bytes/point, 4 metrics/step", tb_multi_bytes, none, none, none, true});

    // ---- start (construct + first point) and stop (close with an empty queue), ms, median of 5
    double start_ms = none, close_ms = none, pf_start = none, pf_close = none, sp_start = none, sp_close = none;
    double start_noenv_ms = none, start_fresh_ms = none;
    {
        std::vector<double> s, c, ps, pc, ss, sc, sn;
        for (int k = 0; k < 5; ++k) {
            const fs::path d = dir / ("start" + std::to_string(k));
            auto t0 = clk::now();
            {
                // Without the environment capture (a git probe and /proc reads, on by default).
                auto cfg = bench_config();
                cfg.capture_environment = false;
                mltrack::tracker t{cfg, mltrack::sinks::jsonl{dir / ("start-noenv" + std::to_string(k))}};
                auto run = t.start_run("start");
                run.log("train/loss", 1.0, 0);
                sn.push_back(ms_since(t0));
            }
            t0 = clk::now();
            {
                mltrack::tracker t{bench_config(), mltrack::sinks::jsonl{d}};
                auto run = t.start_run("start");
                run.log("train/loss", 1.0, 0);
                s.push_back(ms_since(t0));
                run.end();
                t.flush();
                t0 = clk::now();
                t.close();
                c.push_back(ms_since(t0));
            }
            t0 = clk::now();
            {
                fprintf_logger l(dir / ("fprintf-start" + std::to_string(k)));
                l(0, 1.0);
                ps.push_back(ms_since(t0));
                std::fflush(l.f);
                t0 = clk::now();
            }
            pc.push_back(ms_since(t0));
#if MLTRACK_BENCH_WITH_SPDLOG
            t0 = clk::now();
            {
                spdlog_logger l(dir / ("spdlog-start" + std::to_string(k)));
                l(0, 1.0);
                ss.push_back(ms_since(t0));
                l.log->flush();
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                t0 = clk::now();
                l.finish();
                sc.push_back(ms_since(t0));
            }
#endif
        }
        start_ms = median_of(s);
        std::vector<double> fresh;  // the same in a new process: nothing warm (heap, code pages, clock)
        for (int k = 0; k < 5; ++k) {
            const fs::path d = dir / ("start-fresh" + std::to_string(k));
            if (child_peak_rss_mib(argv[0], "start", 0, d) == none) continue;
            std::ifstream in(d / "start_ms");
            double ms = 0;
            if (in >> ms) fresh.push_back(ms);
        }
        if (!fresh.empty()) start_fresh_ms = median_of(fresh);
        start_noenv_ms = median_of(sn);
        close_ms = median_of(c);
        pf_start = median_of(ps);
        pf_close = median_of(pc);
        if (!ss.empty()) {
            sp_start = median_of(ss);
            sp_close = median_of(sc);
        }
    }
    rows.push_back({"start ms (construct + first point)", start_ms, pf_start, none, sp_start, true});
    rows.push_back({"start ms, capture_environment = false", start_noenv_ms, pf_start, none, sp_start, true});
    rows.push_back({"start ms, in a fresh process", start_fresh_ms, none, none, none, true});
    rows.push_back({"stop ms (close, empty queue)", close_ms, pf_close, none, sp_close, true});

    // ---- memory: peak RSS while logging rss_points, minus an empty run of this program
    double rss_ours = none, rss_pf = none, rss_nl = none, rss_sp = none;
    if (!guard) {
        const double empty = child_peak_rss_mib(argv[0], "empty", 0, dir / "rss-empty");
        auto over = [&](const char* kind, std::int64_t n) {
            const double r = child_peak_rss_mib(argv[0], kind, n, dir / (std::string("rss-") + kind));
            std::error_code ec;
            fs::remove_all(dir / (std::string("rss-") + kind), ec);
            return r == none || empty == none ? none : r - empty;
        };
        rss_ours = over("mltrack", rss_points);
        const std::int64_t base_n = std::min<std::int64_t>(rss_points, 10'000'000);
        rss_pf = over("fprintf", base_n);
        rss_nl = over("nlohmann", base_n / 5);
#if MLTRACK_BENCH_WITH_SPDLOG
        rss_sp = over("spdlog", base_n);
#endif
        char fig[64];
        std::snprintf(fig, sizeof fig, "peak RSS MiB over empty (%lldM points)", static_cast<long long>(rss_points / 1'000'000));
        rows.push_back({fig, rss_ours, rss_pf, rss_nl, rss_sp, true});
    }

    std::error_code ec;
    fs::remove_all(dir, ec);

    std::printf("mltrack %s; %lld points per throughput figure (nlohmann: a fifth), %d x %d caller samples%s\n",
                MLTRACK_VERSION_STRING, static_cast<long long>(points), samples, burst,
                mltrack::detail::process_clock().uses_ticks() ? "; TSC clock" : "; system_clock");
    print_table(rows);
    std::printf("hot_path_ns=%.1f jsonl_mpts=%.2f tensorboard_mpts=%.2f rss_mib=%.1f close_ms=%.2f\n", ours.median,
                jsonl1, tb1, rss_ours, close_ms);

    if (guard) {
        // Floors far below today's ratios (see docs/performance.md): only a large regression fails, and
        // never an absolute time, since every ratio is to a baseline run in this same process.
        const double caller_vs_fprintf = pf.median / ours.median;
        const double key_vs_fprintf = pf.median / ours_key.median;
        const double jsonl_vs_fprintf = jsonl1 / pf_rate;
        const double tb_vs_fprintf = tb1 / pf_rate;
        std::printf("guard: caller %.2fx fprintf (floor 1.0), string key %.2fx (floor 0.7), JSONL %.2fx fprintf's rate "
                    "(floor 0.4), TensorBoard %.2fx (floor 0.6)\n",
                    caller_vs_fprintf, key_vs_fprintf, jsonl_vs_fprintf, tb_vs_fprintf);
        if (caller_vs_fprintf < 1.0 || key_vs_fprintf < 0.7 || jsonl_vs_fprintf < 0.4 || tb_vs_fprintf < 0.6) {
            std::printf("guard: FAILED (a ratio fell below its floor)\n");
            return 1;
        }
        std::printf("guard: ok\n");
    }
    return 0;
}
