// What a tracker costs when training does the work: an idle tracker's wake-ups and CPU, the overhead of
// logging in a compute loop, start and close, each against a baseline measured in the same run (a plain
// sleep, the same loop without logging, fprintf, a tensorboard_logger-like writer), optionally with two busy
// background threads (--busy) so that the writer thread competes for the cores.
//
//   bench_quiet [--quick] [--busy] [--dir DIR]
//   ends with one machine-readable line: idle_wakeups_per_s=.. idle_cpu_pct=.. loop_overhead_pct=..
//                                         start_ms=.. close_ms=.. close_git_ms=..
#include <mltrack/mltrack.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

struct usage {
    double cpu_s = 0;                 ///< user + system CPU of the whole process
    long voluntary = 0, involuntary = 0;  ///< context switches of the whole process
};

usage now_usage() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    usage r;
    r.cpu_s = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
              static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    r.voluntary = u.ru_nvcsw;
    r.involuntary = u.ru_nivcsw;
    return r;
}

/// Two threads that spin until stopped: a machine whose cores are busy.
class busy_threads {
public:
    explicit busy_threads(bool on) {
        if (!on) return;
        for (int i = 0; i < 2; ++i)
            threads_.emplace_back([this] {
                volatile std::uint64_t x = 0;
                while (!stop_.load(std::memory_order_relaxed)) x = x + 1;
            });
    }
    ~busy_threads() {
        stop_ = true;
        for (auto& t : threads_) t.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// Busy work of about `us` microseconds of this thread's CPU (a training step's compute).
void compute(double us) {
    const auto t0 = clk::now();
    volatile double x = 1.0;
    while (std::chrono::duration<double, std::micro>(clk::now() - t0).count() < us) x = x * 1.0000001 + 1e-9;
}


mltrack::config quiet_config(const char* experiment) {
    mltrack::config c{experiment};
    c.capture_environment = false;
    return c;
}

// ---------------------------------------------------------------- idle

struct idle_figure {
    double wakeups_per_s = 0, cpu_pct = 0;
};

/// Wake-ups (voluntary context switches) and CPU of the process over `seconds` of sleep in the main thread;
/// with a tracker holding an open run when `tracker` is set.
idle_figure idle(const fs::path& dir, double seconds, bool tracker) {
    std::unique_ptr<mltrack::tracker> t;
    std::unique_ptr<mltrack::run> run;
    if (tracker) {
        t = std::make_unique<mltrack::tracker>(quiet_config("idle"), mltrack::sinks::jsonl{dir / "idle"},
                                               mltrack::sinks::tensorboard{dir / "idle-tb"});
        run = std::make_unique<mltrack::run>(t->start_run("r" + std::to_string(::getpid())));
        run->log("loss", 1.0, 0);
        t->flush();
        std::this_thread::sleep_for(std::chrono::milliseconds(600));  // let the writer settle
    }
    const usage a = now_usage();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const usage b = now_usage();
    idle_figure f;
    f.wakeups_per_s = static_cast<double>((b.voluntary - a.voluntary) + (b.involuntary - a.involuntary)) / seconds;
    f.cpu_pct = (b.cpu_s - a.cpu_s) / seconds * 100.0;
    return f;
}

// ---------------------------------------------------------------- a compute loop

struct loop_figure {
    double cpu_s = 0;         ///< process CPU for the whole loop
    double in_calls_ns = 0;   ///< time inside the logging calls of a step (median: preemptions aside)
};

/// `steps` steps of `compute_us` of compute, then 4 metrics logged by `log(step)`.
template <class Log>
loop_figure loop(int steps, double compute_us, Log&& log) {
    const usage a = now_usage();
    std::vector<double> in_calls;
    in_calls.reserve(static_cast<std::size_t>(steps));
    for (int s = 0; s < steps; ++s) {
        compute(compute_us);
        const auto t0 = clk::now();
        log(s);
        in_calls.push_back(std::chrono::duration<double, std::nano>(clk::now() - t0).count());
    }
    loop_figure f;
    f.cpu_s = now_usage().cpu_s - a.cpu_s;
    f.in_calls_ns = median(in_calls);
    return f;
}

/// A writer like RustingSword/tensorboard_logger: each call builds its record and writes it with several
/// ofstream writes under a mutex, on the caller's thread.
struct tb_logger_like {
    std::mutex m;
    std::ofstream out;
    explicit tb_logger_like(const fs::path& p) : out(p, std::ios::binary) {}
    void add_scalar(const std::string& tag, std::int64_t step, double v) {
        std::string payload;
        payload.reserve(64);
        payload += '\x10';
        payload.append(reinterpret_cast<const char*>(&step), sizeof step);
        payload += tag;
        const float f = static_cast<float>(v);
        payload.append(reinterpret_cast<const char*>(&f), 4);
        const std::uint64_t len = payload.size();
        const std::uint32_t crc = 0x12345678u ^ static_cast<std::uint32_t>(len);
        std::lock_guard<std::mutex> lock(m);
        out.write(reinterpret_cast<const char*>(&len), 8);
        out.write(reinterpret_cast<const char*>(&crc), 4);
        out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
        out.write(reinterpret_cast<const char*>(&crc), 4);
    }
};

// ---------------------------------------------------------------- start and close, in fresh processes

/// Runs this program again as `bench_quiet --child WHAT DIR CWD [--busy]` (a fresh process: nothing
/// loaded or touched yet, as a job's start) and returns the milliseconds it prints.
double in_child(const char* self, const char* what, const fs::path& dir, const fs::path& cwd, bool busy) {
    std::string cmd = std::string("'") + self + "' --child " + what + " '" + dir.string() + "' '" + cwd.string() + "'" +
                      (busy ? " --busy" : "");
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return -1;
    double ms = -1;
    if (std::fscanf(p, "%lf", &ms) != 1) ms = -1;
    ::pclose(p);
    return ms;
}

double start_ms(const fs::path& dir, int k) {
    const auto t0 = clk::now();
    mltrack::tracker t{quiet_config("start"), mltrack::sinks::jsonl{dir / "start"}};
    auto run = t.start_run("r" + std::to_string(k) + "-" + std::to_string(::getpid()));
    run.log("loss", 1.0, 0);
    const double ms = std::chrono::duration<double, std::milli>(clk::now() - t0).count();
    return ms;
}

/// close() of a tracker with the default environment capture, from the working directory `cwd`.
double close_ms(const fs::path& dir, const fs::path& cwd, int k) {
    fs::current_path(cwd);
    mltrack::tracker t{mltrack::config{"close"}, mltrack::sinks::jsonl{dir / "close"}};
    {
        auto run = t.start_run("r" + std::to_string(k) + "-" + std::to_string(::getpid()));
        run.log("loss", 1.0, 0);
    }
    const auto t0 = clk::now();
    t.close();
    return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 5 && std::string(argv[1]) == "--child") {
        const bool busy = argc >= 6 && std::string(argv[5]) == "--busy";
        busy_threads load(busy);
        if (busy) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const std::string what = argv[2];
        const double ms = what == "start" ? start_ms(argv[3], 0) : close_ms(argv[3], argv[4], 0);
        std::printf("%.4f\n", ms);
        return 0;
    }
    bool quick = false, busy = false;
    fs::path dir = fs::temp_directory_path() / ("mltrack-bench-quiet-" + std::to_string(::getpid()));
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--busy") busy = true;
        else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else {
            std::fprintf(stderr, "usage: %s [--quick] [--busy] [--dir DIR]\n", argv[0]);
            return 2;
        }
    }
    fs::create_directories(dir);
    const double idle_s = quick ? 2.0 : 5.0;
    const int steps = quick ? 1000 : 2000;
    const int samples = quick ? 5 : 9;
    std::printf("bench_quiet: %s, %d CPUs%s\n", quick ? "quick" : "full", static_cast<int>(std::thread::hardware_concurrency()),
                busy ? ", two busy background threads" : "");

    // Idle: a tracker with an open run against a plain sleep, in the same process.
    idle_figure base, ours;
    {
        busy_threads load(busy);
        base = idle(dir, idle_s, false);
        ours = idle(dir, idle_s, true);
    }
    std::printf("%-58s %10s %10s\n", "figure", "mltrack", "baseline");
    std::printf("%-58s %10.1f %10.1f  (a plain sleep)\n", "idle: wake-ups per second (process)", ours.wakeups_per_s,
                base.wakeups_per_s);
    std::printf("%-58s %10.3f %10.3f\n", "idle: CPU, % of a core", ours.cpu_pct, base.cpu_pct);

    // A compute loop: 1 ms of compute and 4 metrics per step.
    loop_figure none, ml, pf, tbl;
    {
        busy_threads load(busy);
        none = loop(steps, 1000.0, [](int) {});
        {
            mltrack::tracker t{quiet_config("loop"), mltrack::sinks::jsonl{dir / "loop"}, mltrack::sinks::tensorboard{dir / "loop-tb"}};
            auto run = t.start_run("r" + std::to_string(::getpid()));
            auto a = run.metric("train/loss"), b = run.metric("train/lr"), c = run.metric("train/acc"),
                 d = run.metric("train/grad_norm");
            ml = loop(steps, 1000.0, [&](int s) {
                a.log(1.0 / (s + 1), s);
                b.log(0.1, s);
                c.log(0.5, s);
                d.log(2.0, s);
            });
            const auto t0 = now_usage();
            t.close();  // the writer's remaining work is the loop's too
            ml.cpu_s += now_usage().cpu_s - t0.cpu_s;
        }
        {
            std::FILE* f = std::fopen((dir / "loop.txt").c_str(), "w");
            pf = loop(steps, 1000.0, [&](int s) {
                for (const char* k : {"train/loss", "train/lr", "train/acc", "train/grad_norm"})
                    std::fprintf(f, "%s %d %.17g\n", k, s, 1.0 / (s + 1));
            });
            std::fclose(f);
        }
        {
            tb_logger_like w(dir / "loop.tfevents");
            tbl = loop(steps, 1000.0, [&](int s) {
                for (const char* k : {"train/loss", "train/lr", "train/acc", "train/grad_norm"}) w.add_scalar(k, s, 1.0 / (s + 1));
            });
        }
    }
    const double overhead = (ml.cpu_s - none.cpu_s) / none.cpu_s * 100.0;
    std::printf("%-58s %10.2f %10.2f  (no logging: %.3f s CPU)\n", "loop: CPU overhead, % (1 ms steps, 4 metrics)", overhead,
                0.0, none.cpu_s);
    std::printf("%-58s %10.0f %10.0f  (fprintf)\n", "loop: ns inside the 4 log calls of a step (median)", ml.in_calls_ns, pf.in_calls_ns);
    std::printf("%-58s %10.0f %10.0f  (tensorboard_logger-like)\n", "", ml.in_calls_ns, tbl.in_calls_ns);
    std::printf("%-58s %10.2f %10.2f  (fprintf)\n", "loop: CPU overhead, %, fprintf and tensorboard_logger-like", overhead,
                (pf.cpu_s - none.cpu_s) / none.cpu_s * 100.0);
    std::printf("%-58s %10.2f %10.2f  (tensorboard_logger-like)\n", "", overhead, (tbl.cpu_s - none.cpu_s) / none.cpu_s * 100.0);

    // Start and close in fresh processes.
    std::vector<double> st, cl, clg;
    const fs::path cwd = fs::current_path();
    const fs::path plain = dir / "not-a-repo";
    fs::create_directories(plain);
    for (int k = 0; k < samples; ++k) {
        (void)k;
        st.push_back(in_child(argv[0], "start", dir, cwd, busy));
        cl.push_back(in_child(argv[0], "close", dir, plain, busy));
        clg.push_back(in_child(argv[0], "close", dir, cwd, busy));
    }
    std::printf("%-58s %10.3f\n", "start: construct + start_run + first point, ms (median)", median(st));
    std::printf("%-58s %10.3f\n", "close with environment capture, outside a repository, ms", median(cl));
    std::printf("%-58s %10.3f\n", "close with environment capture, in this repository, ms", median(clg));
    std::printf("idle_wakeups_per_s=%.1f idle_cpu_pct=%.3f loop_overhead_pct=%.2f start_ms=%.3f close_ms=%.3f close_git_ms=%.3f\n",
                ours.wakeups_per_s - base.wakeups_per_s, ours.cpu_pct - base.cpu_pct, overhead, median(st), median(cl),
                median(clg));
    std::error_code ec;
    fs::remove_all(dir, ec);
    return 0;
}
