// Crash and preemption: starts tests/crash/crash_driver, kills it with SIGKILL at random moments, and checks
// what is on disk with readers that share no code with the sinks (nlohmann::json line by line for JSONL,
// tests/support/tb_decoder.hpp for TensorBoard):
//   - every file parses; the only damage allowed is a torn last line (JSONL) or record (TensorBoard);
//   - every point logged before the last completed flush (the driver's progress file) is there;
//   - each metric's steps are 0, 1, 2, ... with no gap and no duplicate, with the right values;
//   - a resume after the kill (killed again, then run to the end) continues the run without losing or
//     duplicating a point, and the run ends COMPLETE.
// One trial: kill, resume + kill, resume to the end. Half the kills land at a random time after the start
// (startup, run creation, logging), half at a random time after the first flush was reported.
// Environment: MLTRACK_CRASH_TRIALS (trials per sink, default 8; the full suite uses 50),
// MLTRACK_CRASH_SEED (default: random; printed, so a failure can be replayed).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mltrack/reader.hpp>

#include "support/tb_decoder.hpp"
#include "unit/unit_support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

double value_of(int metric, std::int64_t step) { return static_cast<double>(step % 4096) + (metric ? 0.5 : 0.25); }

struct totals {
    int kills = 0;
    int kills_after_flush = 0;   ///< kills with at least one flush reported
    int torn_tails = 0;          ///< kills that left a torn last line or record
    std::int64_t points_checked = 0;
};

/// What the independent reader finds in a run: each metric's steps in file order.
struct seen_run {
    std::map<std::string, std::vector<std::int64_t>> steps;
    bool torn = false;
    std::string end_state;  ///< JSONL: the last run_end's state; TensorBoard: "COMPLETE" when a session end is there
};

seen_run read_jsonl(const fs::path& run_dir, bool allow_torn) {
    seen_run out;
    const fs::path file = run_dir / "events.jsonl";
    std::error_code ec;
    if (!fs::exists(file, ec)) return out;
    const std::string text = unit::read_file(file);
    std::size_t start = 0, line_no = 0;
    while (start < text.size()) {
        ++line_no;
        const auto nl = text.find('\n', start);
        if (nl == std::string::npos) {  // a torn last line: allowed after a kill, never after a clean end
            REQUIRE_MESSAGE(allow_torn, file.string() << ": torn last line after a clean end");
            out.torn = true;
            break;
        }
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text.substr(start, nl - start));
        } catch (const std::exception& e) {
            FAIL(file.string() << ":" << line_no << " does not parse: " << e.what());
        }
        if (line_no == 1 && j.at("kind") != "run_start") FAIL(file.string() << ": line 1 is not a run_start");
        if (j.at("kind") == "metrics") {
            for (const auto& kv : j.at("values").items()) {
                const auto step = j.at("step").get<std::int64_t>();
                const int m = kv.key() == "acc" ? 1 : 0;
                if (kv.value().get<double>() != value_of(m, step))
                    FAIL(file.string() << ":" << line_no << ": " << kv.key() << " has the wrong value");
                out.steps[kv.key()].push_back(step);
            }
        } else if (j.at("kind") == "run_end") {
            out.end_state = j.at("state").get<std::string>();
        } else if (j.at("kind") == "run_resume") {
            out.end_state.clear();
        }
        start = nl + 1;
    }
    return out;
}

seen_run read_tensorboard(const fs::path& run_dir, bool allow_torn) {
    seen_run out;
    std::error_code ec;
    if (!fs::is_directory(run_dir, ec)) return out;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(run_dir))
        if (e.path().filename().string().find("tfevents") != std::string::npos) files.push_back(e.path());
    std::sort(files.begin(), files.end());  // the sink names files so that they sort in writing order
    for (const auto& f : files) {
        tbdec::file decoded;
        try {
            decoded = tbdec::decode_file(f.string());
        } catch (const std::exception& e) {
            FAIL(f.string() << ": a record with valid CRCs does not parse: " << e.what());
        }
        if (decoded.how != tbdec::stop::end) {
            // The only damage a kill may leave is a record cut short at the end of a file.
            REQUIRE_MESSAGE(decoded.how == tbdec::stop::truncated,
                            f.string() << ": a CRC mismatch at offset " << decoded.stopped_at);
            REQUIRE_MESSAGE(allow_torn, f.string() << ": torn record after a clean end");
            out.torn = true;
        }
        if (!decoded.events.empty()) CHECK(decoded.events[0].file_version == "brain.Event:2");
        for (const auto& ev : decoded.events)
            for (const auto& v : ev.values) {
                if (v.tag == "loss" || v.tag == "acc") {
                    const int m = v.tag == "acc" ? 1 : 0;
                    if (static_cast<double>(v.simple) != value_of(m, ev.step))
                        FAIL(f.string() << ": " << v.tag << " at step " << ev.step << " has the wrong value");
                    out.steps[v.tag].push_back(ev.step);
                } else if (v.tag == "_hparams_/session_end_info") {
                    out.end_state = "COMPLETE";
                }
            }
    }
    return out;
}

/// The last step the driver reported as flushed (-1 when none).
std::int64_t last_flushed(const fs::path& progress) {
    std::error_code ec;
    if (!fs::exists(progress, ec)) return -1;
    const std::string text = unit::read_file(progress);
    std::int64_t last = -1;
    std::size_t start = 0;
    while (true) {
        const auto nl = text.find('\n', start);
        if (nl == std::string::npos) break;  // a line the kill cut short says nothing
        const std::string line = text.substr(start, nl - start);
        if (line != "done") last = std::max(last, static_cast<std::int64_t>(std::stoll(line)));
        start = nl + 1;
    }
    return last;
}

/// Every metric's steps are exactly 0..n-1 in order, and cover every flushed step. Returns the points seen.
std::int64_t check_points(const seen_run& s, std::int64_t flushed, const std::string& where) {
    std::int64_t points = 0;
    for (const std::string m : {"loss", "acc"}) {
        auto it = s.steps.find(m);
        const std::vector<std::int64_t> none;
        const auto& steps = it == s.steps.end() ? none : it->second;
        for (std::size_t i = 0; i < steps.size(); ++i)
            if (steps[i] != static_cast<std::int64_t>(i))
                FAIL(where << ": metric " << m << ": point " << i << " has step " << steps[i]
                           << " (a gap or a duplicate)");
        const auto have = static_cast<std::int64_t>(steps.size()) - 1;
        if (have < flushed)
            FAIL(where << ": metric " << m << " ends at step " << have << " but step " << flushed
                       << " was flushed before the kill");
        points += static_cast<std::int64_t>(steps.size());
    }
    return points;
}

pid_t spawn_driver(const std::string& sink, const fs::path& root, const fs::path& progress, const char* mode,
                   std::uint64_t seed, const fs::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const std::string seed_text = std::to_string(seed);
    const std::string root_text = root.string(), progress_text = progress.string();
    std::vector<char*> args{const_cast<char*>(MLTRACK_CRASH_DRIVER), const_cast<char*>(sink.c_str()),
                            const_cast<char*>(root_text.c_str()), const_cast<char*>(progress_text.c_str()),
                            const_cast<char*>(mode), const_cast<char*>(seed_text.c_str()), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, MLTRACK_CRASH_DRIVER, &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "cannot start " << MLTRACK_CRASH_DRIVER);
    return pid;
}

int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

std::string log_of(const fs::path& log) {
    std::error_code ec;
    return fs::exists(log, ec) ? unit::read_file(log) : std::string();
}

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

void crash_trials(const std::string& sink) {
    const int trials = env_int("MLTRACK_CRASH_TRIALS", 8);
    const char* seed_env = std::getenv("MLTRACK_CRASH_SEED");
    const std::uint64_t base = seed_env && *seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
    MESSAGE("sink " << sink << ": " << trials << " trials, MLTRACK_CRASH_SEED=" << base);
    totals t;
    for (int trial = 0; trial < trials; ++trial) {
        const std::uint64_t seed = base + static_cast<std::uint64_t>(trial);
        std::mt19937_64 rng(seed);
        unit::temp_dir dir;
        const fs::path root = dir / "root", progress = dir / "progress", log = dir / "driver.log";
        const fs::path run_dir = root / "crash" / "r";
        auto read = [&](bool allow_torn) {
            return sink == "jsonl" ? read_jsonl(run_dir, allow_torn) : read_tensorboard(run_dir, allow_torn);
        };
        for (int kill_no = 0; kill_no < 2; ++kill_no) {
            const std::string where = sink + " trial " + std::to_string(trial) + " (seed " + std::to_string(seed) +
                                      ") kill " + std::to_string(kill_no);
            const std::int64_t before = last_flushed(progress);
            const pid_t pid = spawn_driver(sink, root, progress, "forever", rng(), log);
            const bool after_flush = rng() % 2 == 1;
            if (after_flush)  // wait for a flush this process reported, then a little more
                for (int i = 0; i < 20000 && last_flushed(progress) == before; ++i)
                    std::this_thread::sleep_for(std::chrono::microseconds(500));
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % (after_flush ? 20000 : 100000)));
            ::kill(pid, SIGKILL);
            const int status = wait_for(pid);
            REQUIRE_MESSAGE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL),
                            where << ": the driver ended before the kill: " << log_of(log));
            const std::int64_t flushed = last_flushed(progress);
            const seen_run s = read(true);
            t.points_checked += check_points(s, flushed, where);
            ++t.kills;
            if (flushed > before) ++t.kills_after_flush;
            if (s.torn) ++t.torn_tails;
            if (sink == "jsonl" && fs::exists(run_dir / "events.jsonl") && fs::file_size(run_dir / "events.jsonl") > 0) {
                // mltrack's own reader accepts the file too, reporting a torn tail rather than failing.
                try {
                    const auto run = mltrack::read_run(run_dir);
                    CHECK(run.state == mltrack::run_state::running);
                    CHECK(run.torn_tail.has_value() == s.torn);
                } catch (const mltrack::error& e) {
                    // Only a file whose single line is torn (killed writing the run_start) has no run_start.
                    CHECK_MESSAGE(unit::has_id(e.what(), "format.3"), where << ": " << e.what());
                }
            }
        }
        // Resume to the end: nothing lost, nothing duplicated, the run ends COMPLETE.
        const pid_t pid = spawn_driver(sink, root, progress, "finish", rng(), log);
        const int status = wait_for(pid);
        REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0),
                        sink << " trial " << trial << ": the resumed driver failed: " << log_of(log));
        const std::int64_t flushed = last_flushed(progress);
        const seen_run s = read(sink == "tensorboard");  // old TensorBoard files keep their torn tail
        t.points_checked += check_points(s, flushed, sink + " trial " + std::to_string(trial) + " final");
        for (const char* m : {"loss", "acc"}) CHECK(static_cast<std::int64_t>(s.steps.at(m).size()) == flushed + 1);
        CHECK(s.end_state == "COMPLETE");
        if (sink == "jsonl") {
            const auto run = mltrack::read_run(run_dir);
            CHECK(run.state == mltrack::run_state::complete);
            CHECK_FALSE(run.torn_tail.has_value());
            CHECK(static_cast<std::int64_t>(run.series.at("loss").size()) == flushed + 1);
        }
    }
    MESSAGE("sink " << sink << ": " << t.kills << " kills (" << t.kills_after_flush << " after a reported flush, "
                    << t.torn_tails << " left a torn tail), " << t.points_checked << " points checked");
}

}  // namespace

TEST_CASE("crash: SIGKILL at random moments, JSONL sink") { crash_trials("jsonl"); }

TEST_CASE("crash: SIGKILL at random moments, TensorBoard sink") { crash_trials("tensorboard"); }
