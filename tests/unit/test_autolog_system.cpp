// autolog/system.hpp: the system metrics sampler. A fake /proc tree and an injected clock give exact expected
// values; the run's events.jsonl is read back with nlohmann. NVML is checked on its "absent" path only (a
// library name that does not exist): no GPU here.
#include <mltrack/autolog/system.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/tracker.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::atomic<std::int64_t> fake_now{0};
std::int64_t fake_clock() noexcept { return fake_now.load(); }

constexpr std::int64_t t0 = 1764384000LL * 1000000000LL;  // 2025-11-29T02:40:00Z

config quiet(std::vector<std::string>* errors = nullptr) {
    config c{"exp"};
    c.on_error = [errors](const sink_error& e) {
        if (errors) errors->push_back(e.sink + ": " + e.message);
    };
    return c;
}

/// Collects the sampler's reports (called on the sampler thread).
struct reports {
    std::mutex m;
    std::vector<std::string> lines;
    std::function<void(const std::string&)> handler() {
        return [this](const std::string& s) {
            std::lock_guard<std::mutex> lock(m);
            lines.push_back(s);
        };
    }
    std::vector<std::string> get() {
        std::lock_guard<std::mutex> lock(m);
        return lines;
    }
};

std::string stat_line(unsigned long long utime, unsigned long long stime) {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime ...
    return "4242 (a (weird) prog) S 1 4242 4242 0 -1 4194560 500 0 0 0 " + std::to_string(utime) + " " +
           std::to_string(stime) + " 7 8 20 0 3 0 100 123456789 250 18446744073709551615\n";
}

/// A fake /proc with the given values (pages for statm, kB for meminfo, bytes for io).
void write_proc(const fs::path& root, unsigned long long utime, unsigned long long stime, unsigned long long resident,
                unsigned long long total_kb, unsigned long long available_kb, unsigned long long read_bytes,
                unsigned long long write_bytes, bool with_io = true) {
    unit::write_file(root / "self" / "stat", stat_line(utime, stime));
    unit::write_file(root / "self" / "statm", "9000 " + std::to_string(resident) + " 300 10 0 800 0\n");
    unit::write_file(root / "meminfo", "MemTotal:       " + std::to_string(total_kb) +
                                           " kB\nMemFree:         1000 kB\nMemAvailable:   " +
                                           std::to_string(available_kb) + " kB\nBuffers:          20 kB\n");
    if (with_io)
        unit::write_file(root / "self" / "io", "rchar: 111\nwchar: 222\nsyscr: 3\nsyscw: 4\nread_bytes: " +
                                                   std::to_string(read_bytes) + "\nwrite_bytes: " +
                                                   std::to_string(write_bytes) + "\ncancelled_write_bytes: 0\n");
}

/// The samples in the run's file: its "metrics" lines, with consecutive lines of the same step and time merged
/// (the writer may split one sample's points over two lines when it flushes between them).
std::vector<json> metric_lines(const fs::path& root) {
    std::vector<json> out;
    for (const auto& l : unit::of_kind(unit::parse_jsonl(root / "exp" / "r1" / "events.jsonl"), "metrics")) {
        if (!out.empty() && out.back().at("step") == l.at("step") && out.back().at("time") == l.at("time")) {
            for (const auto& item : l.at("values").items()) {
                const std::string key = item.key();
                CHECK_MESSAGE(!out.back()["values"].contains(key), "a key twice in one sample: " << key);
                out.back()["values"][key] = item.value();
            }
            continue;
        }
        out.push_back(l);
    }
    return out;
}

/// key -> number of points in the run's file.
std::map<std::string, int> point_counts(const std::vector<json>& lines) {
    std::map<std::string, int> n;
    for (const auto& l : lines)
        for (const auto& [k, v] : l.at("values").items()) ++n[k];
    return n;
}

const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));

}  // namespace

TEST_CASE("samples from a fake /proc: exact values, steps in whole seconds, the sample's wall time") {
    unit::temp_dir dir;
    const fs::path proc = dir / "proc";
    write_proc(proc, 1000, 500, 2500, 16000000, 12000000, 4096, 8192);
    reports errs;
    fake_now = t0;
    {
        tracker t{quiet(), sinks::jsonl{dir / "runs"}};
        auto r = t.start_run("r1");
        autolog::system_metrics_options o;
        o.period = std::chrono::milliseconds(0);
        o.proc_root = proc;
        o.gpu = false;
        o.clock = fake_clock;
        o.on_error = errs.handler();
        autolog::system_metrics s{r, o};

        fake_now = t0 + 250000000;  // 0.25 s: step 0
        CHECK(s.sample());
        write_proc(proc, 1100, 600, 3000, 16000000, 11000000, 8192, 16384);  // +200 ticks
        fake_now = t0 + 4250000000;                                           // +4 s: step 4
        CHECK(s.sample());
        write_proc(proc, 1100, 600, 3000, 16000000, 11000000, 8192, 16384);  // idle
        fake_now = t0 + 6250000000;                                           // +2 s: step 6
        CHECK(s.sample());
        CHECK(s.samples() == 3);
        CHECK(!s.running());
    }
    CHECK(errs.get().empty());
    const auto lines = metric_lines(dir / "runs");
    REQUIRE(lines.size() == 3);  // every point of a sample shares its step and time

    CHECK(lines[0].at("step") == 0);
    CHECK(lines[0].at("time").get<double>() == 1764384000.25);
    CHECK(lines[0].at("values") == json{{"system/rss_bytes", 2500 * page},
                                        {"system/memory_used_bytes", 4000000.0 * 1024},
                                        {"system/memory_available_bytes", 12000000.0 * 1024},
                                        {"system/io_read_bytes", 4096.0},
                                        {"system/io_write_bytes", 8192.0}});  // no CPU %: no interval yet

    CHECK(lines[1].at("step") == 4);
    CHECK(lines[1].at("time").get<double>() == 1764384004.25);
    const auto& v = lines[1].at("values");
    CHECK(v.size() == 6);
    CHECK(v.at("system/cpu_percent").get<double>() == doctest::Approx(200 / tick / 4.0 * 100).epsilon(1e-12));
    CHECK(v.at("system/rss_bytes") == 3000 * page);
    CHECK(v.at("system/memory_used_bytes") == 5000000.0 * 1024);
    CHECK(v.at("system/memory_available_bytes") == 11000000.0 * 1024);
    CHECK(v.at("system/io_read_bytes") == 8192.0);
    CHECK(v.at("system/io_write_bytes") == 16384.0);

    CHECK(lines[2].at("step") == 6);
    CHECK(lines[2].at("values").at("system/cpu_percent") == 0.0);
    if (tick == 100) CHECK(v.at("system/cpu_percent").get<double>() == doctest::Approx(50.0));
}

TEST_CASE("unreadable or malformed sources are skipped and reported once each") {
    unit::temp_dir dir;
    const fs::path proc = dir / "proc";
    write_proc(proc, 10, 10, 100, 1000, 500, 0, 0, /*with_io=*/false);
    unit::write_file(proc / "self" / "stat", "4242 no parenthesis here\n");
    reports errs;
    {
        tracker t{quiet(), sinks::jsonl{dir / "runs"}};
        auto r = t.start_run("r1");
        autolog::system_metrics_options o;
        o.period = std::chrono::milliseconds(0);
        o.proc_root = proc;
        o.gpu = false;
        o.on_error = errs.handler();
        autolog::system_metrics s{r, o};
        for (int i = 0; i < 3; ++i) CHECK(s.sample());
        unit::write_file(proc / "meminfo", "MemTotal: 1000 kB\n");  // no MemAvailable (kernels before 3.14)
        CHECK(s.sample());
        CHECK(s.sample());
    }
    const auto e = errs.get();
    REQUIRE(e.size() == 3);
    CHECK(e[0].find((proc / "self" / "stat").string()) != std::string::npos);
    CHECK(e[0].find("system/cpu_percent") != std::string::npos);
    CHECK(e[1].find((proc / "self" / "io").string()) != std::string::npos);
    CHECK(e[2].find("MemAvailable") != std::string::npos);
    const auto counts = point_counts(metric_lines(dir / "runs"));
    CHECK(counts == std::map<std::string, int>{
                        {"system/rss_bytes", 5}, {"system/memory_used_bytes", 3}, {"system/memory_available_bytes", 3}});
}

TEST_CASE("parsers") {
    unsigned long long ticks = 0;
    CHECK(autolog::detail::parse_proc_stat_ticks(stat_line(12, 30), ticks));
    CHECK(ticks == 42);
    CHECK(!autolog::detail::parse_proc_stat_ticks("1 (x) S 1 2 3", ticks));           // too short
    CHECK(!autolog::detail::parse_proc_stat_ticks("1 (x) S 1 2 3 4 5 6 7 8 9 10 x 5", ticks));  // not a number
    CHECK(!autolog::detail::parse_proc_stat_ticks("", ticks));
    double v = 0;
    CHECK(autolog::detail::parse_named_number("A: 1\nMemAvailableX: 5\nMemAvailable: 7 kB\n", "MemAvailable", 1024, v));
    CHECK(v == 7 * 1024.0);
    CHECK(!autolog::detail::parse_named_number("MemAvailable: kB\n", "MemAvailable", 1, v));
    CHECK(!autolog::detail::parse_named_number("Other: 1", "MemAvailable", 1, v));
}

TEST_CASE("NVML absent: reported once, then no GPU metrics and the rest goes on") {
    unit::temp_dir dir;
    reports errs;
    std::uint64_t taken = 0;
    {
        tracker t{quiet(), sinks::jsonl{dir / "runs"}};
        auto r = t.start_run("r1");
        autolog::system_metrics_options o;
        o.period = std::chrono::milliseconds(0);
        o.nvml_library = "libmltrack-test-no-such-nvml.so.1";
        o.on_error = errs.handler();
        autolog::system_metrics s{r, o};  // the real /proc
        for (int i = 0; i < 4; ++i) CHECK(s.sample());
        taken = s.samples();
    }
    const auto e = errs.get();
    REQUIRE(e.size() == 1);
    CHECK(e[0].find("NVML not available") != std::string::npos);
    CHECK(e[0].find("libmltrack-test-no-such-nvml.so.1") != std::string::npos);
    const auto lines = metric_lines(dir / "runs");
    CHECK(lines.size() == taken);
    const auto counts = point_counts(lines);
    for (const auto& kn : counts) {
        const std::string key = kn.first;
        CHECK_MESSAGE(key.find("gpu") == std::string::npos, key);
    }
    CHECK(counts.at("system/rss_bytes") == 4);
    CHECK(counts.at("system/cpu_percent") == 3);
    CHECK(counts.at("system/memory_available_bytes") == 4);
    for (const auto& l : lines) CHECK(l.at("values").at("system/rss_bytes").get<double>() > 0);
}

TEST_CASE("the thread samples until destroyed; destruction does not wait for the period") {
    unit::temp_dir dir;
    reports errs;
    std::uint64_t taken = 0;
    {
        tracker t{quiet(), sinks::jsonl{dir / "runs"}};
        auto r = t.start_run("r1");
        {
            autolog::system_metrics_options o;
            o.period = std::chrono::milliseconds(5);
            o.gpu = false;
            o.on_error = errs.handler();
            autolog::system_metrics s{r, o};
            CHECK(s.running());
            for (int i = 0; i < 60000 && s.samples() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            REQUIRE(s.samples() >= 3);
        }
        {
            // An hour's period: the destructor wakes the thread through the condition variable (with a sleep
            // this test would not finish within ctest's timeout).
            autolog::system_metrics_options o;
            o.period = std::chrono::hours(1);
            o.gpu = false;
            autolog::system_metrics s{r, o};
            for (int i = 0; i < 60000 && s.samples() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            taken = s.samples();
        }
        r.end();
    }
    CHECK(errs.get().empty());
    CHECK(taken == 1);
    const auto lines = metric_lines(dir / "runs");
    CHECK(lines.size() >= 4);
    for (const auto& l : lines) {
        CHECK(l.at("values").at("system/rss_bytes").get<double>() > 0);
        CHECK(l.at("values").at("system/memory_available_bytes").get<double>() > 0);
    }
}

TEST_CASE("the sampler stops when the run ends or the tracker closes, and logs nothing after") {
    unit::temp_dir dir;
    std::vector<std::string> sink_errors;
    tracker t{quiet(&sink_errors), sinks::jsonl{dir / "runs"}};
    auto r = t.start_run("r1");
    autolog::system_metrics_options o;
    o.gpu = false;

    SUBCASE("run ended: the thread stops by itself") {
        o.period = std::chrono::milliseconds(2);
        autolog::system_metrics s{r, o};
        for (int i = 0; i < 60000 && s.samples() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        r.end();
        for (int i = 0; i < 60000 && s.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        CHECK(!s.running());
        const auto taken = s.samples();
        CHECK(!s.sample());
        CHECK(s.samples() == taken);
        t.close();
        const auto all = unit::parse_jsonl(dir / "runs" / "exp" / "r1" / "events.jsonl");
        CHECK(all.back().at("kind") == "run_end");
        const auto logged = metric_lines(dir / "runs").size();  // a sample racing end() is counted late
        CHECK(logged >= 2);
        CHECK(logged <= taken);
    }
    SUBCASE("manual sampler, tracker closed") {
        o.period = std::chrono::milliseconds(0);
        autolog::system_metrics s{r, o};
        CHECK(s.sample());
        t.close();
        CHECK(!s.sample());
        CHECK(s.samples() == 1);
        CHECK(metric_lines(dir / "runs").size() == 1);
    }
    CHECK(sink_errors.empty());
}

TEST_CASE("a forked child stops its copy of the sampler without touching the parent's thread") {
    unit::temp_dir dir;
    tracker t{quiet(), sinks::jsonl{dir / "runs"}};
    auto r = t.start_run("r1");
    autolog::system_metrics_options o;
    o.period = std::chrono::microseconds(1);  // the thread is nearly always inside a lock when the fork happens
    o.gpu = false;
    autolog::system_metrics s{r, o};
    for (int i = 0; i < 60000 && s.samples() < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child has no sampling thread, and the parent's may have held a lock at the fork: sample() and
        // stop() must return without taking any.
        const bool sampled = s.sample();
        s.stop();
        s.~system_metrics();  // and its destructor neither joins nor hangs (the child then _exits: no second one)
        ::_exit(sampled ? 1 : 7);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 7);
    const auto before = s.samples();
    for (int i = 0; i < 60000 && s.samples() < before + 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(s.samples() >= before + 2);  // the parent's sampler goes on
    CHECK(s.running());
}

TEST_CASE("bad construction: negative period, ended run, empty run") {
    unit::temp_dir dir;
    tracker t{quiet(), sinks::jsonl{dir / "runs"}};
    auto r = t.start_run("r1");
    autolog::system_metrics_options o;
    o.period = std::chrono::milliseconds(-1);
    CHECK_ERROR_ID("config.60", autolog::system_metrics(r, o));
    r.end();
    CHECK_ERROR_ID("state.3", autolog::system_metrics(r, {}));
    run empty;
    CHECK_ERROR_ID("state.5", autolog::system_metrics(empty, {}));
    auto r2 = t.start_run("r2");
    t.close();
    CHECK_ERROR_ID("state.4", autolog::system_metrics(r2, {}));
    CHECK(metric_lines(dir / "runs").empty());
}

TEST_CASE("on an inert tracker (a rank that does not write) the sampler starts no thread") {
    unit::temp_dir dir;
    config c = quiet();
    c.rank = 1;
    c.world_size = 2;  // rank 1 of 2 under the default rank_policy::zero
    tracker t{c, sinks::jsonl{dir / "runs"}};
    auto r = t.start_run("r");
    REQUIRE(r.inert());
    autolog::system_metrics_options o;
    o.period = std::chrono::microseconds(1);
    o.gpu = false;
    autolog::system_metrics s{r, o};
    CHECK_FALSE(s.running());
    CHECK_FALSE(fs::exists(dir / "runs"));
}
