// How fast the readers go through one long run, and how much memory the commands built on them take. One
// run of 3 M points by default (one line per point, two metrics, as a training loop writes them; about
// 270 MB), generated with the library's JSONL sink. Each figure is measured in a forked child (CPU seconds
// and peak RSS from wait4), so one reader's memory never counts against another's:
//   - Python's json.loads per line over the same file: the baseline for parsing;
//   - stream_run (every record, constant memory), scan_run (the summary scan behind ls/show/export/report),
//     read_run (every record kept in memory: the old path of sync and check);
//   - the commands themselves: `mltrack sync --to tensorboard:DIR`, `mltrack check`, `mltrack export`.
// Targets (issue "a reader that scales"): parse >= 3x Python, sync >= 2 M points/s, peak memory of
// sync/check/export < 64 MiB whatever the run's length. Figures are with the file in the page cache.
//
//   bench_reader [--points N] [--dir DIR] [--keep]
#include <mltrack/mltrack.hpp>

#include "../tools/mltrack/cmd_check.hpp"
#include "../tools/mltrack/cmd_export.hpp"
#include "../tools/mltrack/cmd_sync.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

struct cost {
    double wall_s = 0, cpu_s = 0, rss_mib = 0;
    bool ok = false;
};

/// Runs `fn` in a forked child with stdout on /dev/null; its wall time, CPU time and peak RSS.
cost in_child(const std::function<int()>& fn) {
    std::fflush(nullptr);
    const auto t0 = clk::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) ::dup2(null, 1);
        int rc = 1;
        try {
            rc = fn();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_reader: %s\n", e.what());
        }
        std::fflush(nullptr);
        ::_exit(rc);
    }
    int status = 0;
    struct rusage ru {};
    ::wait4(pid, &status, 0, &ru);
    cost c;
    c.wall_s = std::chrono::duration<double>(clk::now() - t0).count();
    c.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    c.rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
    c.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return c;
}

/// CPU seconds of Python's json.loads over every line, or a negative number without python3.
double python_seconds(const fs::path& file) {
    const std::string cmd =
        "python3 -c 'import json, sys, time\n"
        "t = time.process_time()\n"
        "for line in open(sys.argv[1], \"rb\"): json.loads(line)\n"
        "print(time.process_time() - t)' '" + file.string() + "' 2>/dev/null";
    std::FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return -1;
    double s = -1;
    if (std::fscanf(p, "%lf", &s) != 1) s = -1;
    return ::pclose(p) == 0 ? s : -1;
}

}  // namespace

int main(int argc, char** argv) {
    long points = 3'000'000;
    fs::path dir;
    bool keep = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--points" && i + 1 < argc) points = std::atol(argv[++i]);
        else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--keep") keep = true;
        else {
            std::fprintf(stderr, "usage: bench_reader [--points N] [--dir DIR] [--keep]\n");
            return 2;
        }
    }
    if (dir.empty()) dir = fs::temp_directory_path() / ("mltrack-bench-reader-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    const fs::path root = dir / "runs";
    const fs::path run_dir = root / "bench" / "long";
    const fs::path file = run_dir / "events.jsonl";

    const cost gen = in_child([&] {
        mltrack::tracker t{mltrack::config{"bench"}, mltrack::sinks::jsonl(root)};
        auto run = t.start_run("long");
        run.log_params({{"lr", 0.001}, {"batch_size", 64}});
        auto loss = run.metric("train/loss");
        auto acc = run.metric("val/accuracy");
        for (long step = 0; step < points / 2; ++step) {
            loss.log(1.0 / (1 + static_cast<double>(step)) + 1e-3 * static_cast<double>(step % 7), step);
            acc.log(1.0 - 1.0 / (2 + static_cast<double>(step)), step);
        }
        return 0;
    });
    if (!gen.ok) return 1;
    const double mb = static_cast<double>(fs::file_size(file)) / 1e6;
    const double n = static_cast<double>(points);

    mltrack::read_options lenient;
    lenient.strict = false;
    const double py = python_seconds(file);
    const cost stream = in_child([&] {
        std::size_t records = 0;
        mltrack::stream_run(file, lenient, [&](const mltrack::record&, const mltrack::run_data&, std::size_t) { ++records; });
        return records > 0 ? 0 : 1;
    });
    const cost scan = in_child([&] {
        auto s = mltrack::scan_run(file, lenient, [](std::string_view, std::int64_t, std::int64_t, double) {});
        return s.points == static_cast<std::size_t>(points) ? 0 : 1;
    });
    const cost read = in_child([&] { return mltrack::read_run(file, lenient).records.empty() ? 1 : 0; });
    const std::string tb = (dir / "tb").string();
    const cost sync = in_child([&] { return mltrack_cli::cmd_sync({root.string(), "--to", "tensorboard:" + tb}); });
    const cost check = in_child([&] { return mltrack_cli::cmd_check({root.string()}); });
    const cost exp = in_child([&] { return mltrack_cli::cmd_export({root.string(), "-o", "/dev/null"}); });

    std::printf("one run of %.1f M points, %.0f MB of JSONL; each row in a forked child (CPU s, peak RSS)\n", n / 1e6, mb);
    std::printf("%-44s %8s %8s %10s %10s %10s\n", "", "CPU s", "wall s", "M pts/s", "MB/s", "peak MiB");
    auto row = [&](const char* name, const cost& c, const char* note) {
        std::printf("%-44s %8.2f %8.2f %10.2f %10.0f %10.1f  %s%s\n", name, c.cpu_s, c.wall_s, n / 1e6 / c.cpu_s,
                    mb / c.cpu_s, c.rss_mib, c.ok ? "" : "(FAILED) ", note);
    };
    std::printf("(M pts/s and MB/s per CPU second; wall time includes waiting for the disk and other load)\n");
    if (py > 0)
        std::printf("%-44s %8.2f %8s %10.2f %10.0f %10s  baseline\n", "python3 json.loads per line", py, "-",
                    n / 1e6 / py, mb / py, "-");
    row("stream_run (every record, constant memory)", stream, "");
    row("scan_run (ls/show/export/report summary)", scan, "");
    row("read_run (every record in memory)", read, "old path of sync/check");
    row("mltrack sync --to tensorboard:DIR", sync, "target >= 2 M pts/s, < 64 MiB");
    row("mltrack check", check, "target < 64 MiB");
    row("mltrack export (CSV)", exp, "target < 64 MiB");
    if (py > 0)
        std::printf("stream_run parses %.1fx as fast as Python's json.loads loop (target >= 3x); read_run %.1fx\n",
                    py / stream.cpu_s, py / read.cpu_s);
    std::printf("reader_parse_x_python=%.2f sync_mpts=%.2f sync_wall_mpts=%.2f sync_peak_mib=%.1f check_peak_mib=%.1f export_peak_mib=%.1f\n",
                py > 0 ? py / stream.cpu_s : 0.0, n / 1e6 / sync.cpu_s, n / 1e6 / sync.wall_s, sync.rss_mib, check.rss_mib, exp.rss_mib);
    if (!keep) fs::remove_all(dir);
    return stream.ok && scan.ok && read.ok && sync.ok && check.ok && exp.ok ? 0 : 1;
}
