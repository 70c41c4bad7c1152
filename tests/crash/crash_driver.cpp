// The program tests/crash/crash_kill.cpp starts and kills with SIGKILL: a training loop that logs two metrics
// per step into one run through one sink, flushes every few steps and, each time flush() has returned,
// appends the last step logged to a progress file (so the killer knows what must be on disk).
//
//   crash_driver SINK ROOT PROGRESS MODE SEED
//     SINK      jsonl | tensorboard
//     ROOT      the sink's root folder (the run is ROOT/crash/r)
//     PROGRESS  a file the driver appends "<step>\n" to after each completed flush
//     MODE      forever (log until killed) | finish (log 200 more steps, end the run COMPLETE, exit 0)
//     SEED      picks the flush cadence, the flush interval and the sink's buffer size
//
// A resume reads what is already on disk (mltrack::read_run for JSONL, the test's independent decoder for
// TensorBoard) and continues each metric at its next step, so a kill loses nothing that was written and a
// resume duplicates nothing: what a training loop restarted from the record does.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include <mltrack/mltrack.hpp>

#include "support/tb_decoder.hpp"

namespace fs = std::filesystem;

namespace {

const char* const metric_names[] = {"loss", "acc"};

/// The value of a metric at a step: exact in a float (TensorBoard stores floats), so readers compare exactly.
double value_of(int metric, std::int64_t step) { return static_cast<double>(step % 4096) + (metric ? 0.5 : 0.25); }

/// Next step of each metric, from what the run already holds on disk.
std::map<std::string, std::int64_t> next_steps(const std::string& sink, const fs::path& run_dir) {
    std::map<std::string, std::int64_t> next{{"loss", 0}, {"acc", 0}};
    std::error_code ec;
    if (!fs::is_directory(run_dir, ec)) return next;
    if (sink == "jsonl") {
        const fs::path file = run_dir / "events.jsonl";
        if (!fs::exists(file, ec) || fs::file_size(file, ec) == 0) return next;
        mltrack::run_data run;
        try {
            run = mltrack::read_run(file);
        } catch (const mltrack::error& e) {
            // Only a file whose one line is torn (killed while writing the run_start) has no run_start.
            if (e.id() != 3 || e.category() != mltrack::error_category::format) throw;
            return next;
        }
        for (auto& kv : next) {
            auto it = run.series.find(kv.first);
            if (it != run.series.end() && !it->second.empty()) kv.second = it->second.back().step + 1;
        }
        return next;
    }
    for (const auto& entry : fs::directory_iterator(run_dir)) {
        if (entry.path().filename().string().find("tfevents") == std::string::npos) continue;
        for (const auto& ev : tbdec::decode_file(entry.path().string()).events)
            for (const auto& v : ev.values) {
                auto it = next.find(v.tag);
                if (it != next.end()) it->second = std::max(it->second, ev.step + 1);
            }
    }
    return next;
}

void write_all(int fd, const std::string& s) {
    const char* p = s.data();
    std::size_t left = s.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) std::exit(4);
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: crash_driver jsonl|tensorboard ROOT PROGRESS forever|finish SEED\n");
        return 2;
    }
    const std::string sink = argv[1];
    const fs::path root = argv[2];
    const int progress = ::open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const bool finish = std::strcmp(argv[4], "finish") == 0;
    std::mt19937_64 rng(std::strtoull(argv[5], nullptr, 10));
    if (progress < 0 || (sink != "jsonl" && sink != "tensorboard")) return 2;

    try {
        const auto next = next_steps(sink, root / "crash" / "r");
        const std::int64_t first = std::min(next.at("loss"), next.at("acc"));
        const std::int64_t last = finish ? first + 200 : INT64_MAX;
        const int flush_every = 1 + static_cast<int>(rng() % 32);
        const auto buffer = std::size_t{1} << (8 + rng() % 10);  // 256 B to 128 KiB

        mltrack::config cfg{"crash"};
        cfg.flush_interval = std::chrono::milliseconds(1 + static_cast<int>(rng() % 50));
        cfg.queue_capacity = std::size_t{1} << (6 + rng() % 10);
        std::vector<mltrack::sinks::any> sinks;
        if (sink == "jsonl") {
            mltrack::sinks::jsonl_options o;
            o.buffer_bytes = buffer;
            sinks.emplace_back(mltrack::sinks::jsonl{root, o});
        } else {
            mltrack::sinks::tensorboard_options o;
            o.buffer_bytes = buffer;
            o.hostname = "crash";
            sinks.emplace_back(mltrack::sinks::tensorboard{root, o});
        }
        mltrack::tracker t{cfg, std::move(sinks)};
        auto run = t.start_run("r", mltrack::start_mode::create_or_resume);
        if (!run.resumed()) run.log_params({{"flush_every", flush_every}, {"buffer", static_cast<std::int64_t>(buffer)}});
        const mltrack::metric_handle metrics[] = {run.metric(metric_names[0]), run.metric(metric_names[1])};
        for (std::int64_t step = first; step <= last; ++step) {
            for (int m = 0; m < 2; ++m)
                if (step >= next.at(metric_names[m])) metrics[m].log(value_of(m, step), step);
            if ((step + 1) % flush_every == 0) {
                t.flush();
                write_all(progress, std::to_string(step) + "\n");
            }
            if (!finish) std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
        run.end();
        t.flush();
        write_all(progress, std::to_string(last) + "\n");
        t.close();
        write_all(progress, "done\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "crash_driver: %s\n", e.what());
        return 3;
    }
    return 0;
}
