// detail/engine/core.hpp's writer and tracker.hpp's start_run: the writer sleeps until there is work (a control
// item, a thread's ring passing another eighth, its timer) instead of polling; start_run decides create or
// resume on the caller's thread when the sinks can tell there (JSONL, TensorBoard), creating a new run
// exclusively, so it never waits for the writer's scheduling. No timing is asserted: counts and outcomes.
#include <mltrack/reader.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/tracker.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// Counts what the writer does, and which thread it is; write() can be held closed. Its next_tick() is
/// "never": the writer ticks it only when work arrives.
struct counting_sink {
    struct state {
        std::atomic<int> ticks{0}, points{0}, writes{0};
        std::atomic<long> writer_tid{0};
        std::mutex m;
        std::condition_variable cv;
        bool hold = false, held = false;
    };
    std::shared_ptr<state> s = std::make_shared<state>();

    void write(const batch& b) {
        s->writer_tid = static_cast<long>(::syscall(SYS_gettid));
        for (const auto& e : b) s->points += e.kind == record_kind::metric;
        ++s->writes;
        std::unique_lock<std::mutex> lock(s->m);
        if (s->hold) {
            s->held = true;
            s->cv.notify_all();
            s->cv.wait(lock, [&] { return !s->hold; });
        }
    }
    void flush() {}
    void tick(std::chrono::steady_clock::time_point) { ++s->ticks; }
    std::chrono::steady_clock::time_point next_tick() { return std::chrono::steady_clock::time_point::max(); }
    void hold_writes() {
        std::lock_guard<std::mutex> lock(s->m);
        s->hold = true;
    }
    void wait_until_held() {
        std::unique_lock<std::mutex> lock(s->m);
        s->cv.wait(lock, [&] { return s->held; });
    }
    void release() {
        std::lock_guard<std::mutex> lock(s->m);
        s->hold = false;
        s->cv.notify_all();
    }
};

/// A thread's voluntary context switches so far (its wake-ups from sleep), from /proc.
long voluntary_switches(long tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0) return std::stol(line.substr(24));
    return -1;
}

template <class F>
bool eventually(F&& f) {  // true as soon as f() is (polls for up to 20 s: an outcome, not a time)
    for (int i = 0; i < 2000; ++i) {
        if (f()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return f();
}

config sleepy(const char* experiment, std::chrono::microseconds poll) {
    config c{experiment};
    c.capture_environment = false;
    c.poll_interval = poll;
    c.flush_interval = std::chrono::milliseconds(std::chrono::duration_cast<std::chrono::milliseconds>(poll).count() + 1);
    return c;
}

}  // namespace

TEST_CASE("an idle writer sleeps: a few wake-ups over half a second, not one per millisecond") {
    counting_sink sink;
    basic_tracker<counting_sink> t{sleepy("exp", 200ms), sink};
    auto run = t.start_run("r");
    run.log("x", 1, 0);
    t.flush();
    std::this_thread::sleep_for(50ms);
    const long tid = sink.s->writer_tid;
    const long before = voluntary_switches(tid);
    REQUIRE(before >= 0);
    std::this_thread::sleep_for(500ms);
    const long woke = voluntary_switches(tid) - before;
    CHECK(woke <= 10);  // its timer (200 ms) about 3 times; polling every millisecond was about 500
    CHECK(woke >= 1);   // it does wake: a point logged while it sleeps would otherwise wait for ever
}

TEST_CASE("a point logged while the writer sleeps arrives when its timer wakes it") {
    counting_sink sink;
    basic_tracker<counting_sink> t{sleepy("exp", 50ms), sink};
    auto run = t.start_run("r");
    t.flush();
    std::this_thread::sleep_for(100ms);  // the writer is asleep now
    run.log("x", 1, 0);                  // no nudge: one point
    CHECK(eventually([&] { return sink.s->points == 1; }));
}

TEST_CASE("a writer asleep for an hour is woken by a control call and by a ring passing an eighth") {
    counting_sink sink;
    config c = sleepy("exp", std::chrono::hours(1));
    c.queue_capacity = 64;  // a nudge every 8 points of a thread
    basic_tracker<counting_sink> t{c, sink};
    auto run = t.start_run("r");
    t.flush();  // a control call: answered although the writer sleeps for an hour
    auto x = run.metric("x");
    for (int i = 0; i < 8; ++i) x.log(i, i);  // the ring's 8th point: a nudge
    CHECK(eventually([&] { return sink.s->points == 8; }));
    std::this_thread::sleep_for(50ms);
    for (int i = 8; i < 15; ++i) x.log(i, i);
    std::this_thread::sleep_for(100ms);
    CHECK(sink.s->points == 8);  // 7 more: no nudge, the writer sleeps on
    x.log(15, 15);               // the 16th: a nudge
    CHECK(eventually([&] { return sink.s->points == 16; }));
    run.log_params({{"a", 1}});  // any control item wakes it
    run.log("y", 1, 0);
    CHECK(eventually([&] { return sink.s->writes >= 3; }));
}

TEST_CASE("start_run returns while the writer is busy: JSONL and TensorBoard answer on the caller's thread") {
    unit::temp_dir dir;
    counting_sink gate;
    tracker t{sleepy("exp", 10ms), sinks::jsonl{dir / "jsonl"}, sinks::tensorboard{dir / "tb"}, gate};
    auto first = t.start_run("first");
    t.flush();
    gate.hold_writes();
    first.log("x", 1, 0);  // the writer takes it within 10 ms, and blocks in the gate
    gate.wait_until_held();
    // The writer is stuck: a start_run that waited for it would hang here.
    auto second = t.start_run("second");
    CHECK(!second.resumed());
    CHECK(fs::exists(dir / "jsonl" / "exp" / "second" / "events.jsonl"));  // made (exclusively) by start_run
    CHECK_ERROR_ID("state.2", t.start_run("never", start_mode::resume));  // decided here too
    {
        tracker other{sleepy("exp", 10ms), sinks::jsonl{dir / "jsonl"}};
        CHECK_ERROR_ID("state.1", other.start_run("first"));
    }
    gate.release();
    second.log("y", 2, 0);
    second.end();
    t.flush();
    const auto lines = unit::parse_jsonl(dir / "jsonl" / "exp" / "second" / "events.jsonl");
    REQUIRE(lines.size() >= 3);
    CHECK(lines.front().at("kind") == "run_start");  // the claimed empty file got its opening line first
    CHECK(lines.back().at("kind") == "run_end");
}

TEST_CASE("two trackers creating one run at once: exactly one succeeds; create_or_resume resumes instead") {
    unit::temp_dir dir;
    const int trials = UNIT_SANITIZED ? 10 : 40;
    for (int k = 0; k < trials; ++k) {
        const std::string name = "r" + std::to_string(k);
        std::atomic<int> created{0}, refused{0}, go{0};
        auto attempt = [&] {
            tracker t{sleepy("exp", 10ms), sinks::jsonl{dir.path()}};
            ++go;
            while (go < 2) {
            }
            try {
                auto r = t.start_run(name);
                ++created;
                r.log("x", 1, 0);
            } catch (const error& e) {
                if (std::string(e.what()).find("[mltrack.error.state.1]") == 0) ++refused;
            }
        };
        std::thread a(attempt), b(attempt);
        a.join();
        b.join();
        CHECK(created == 1);
        CHECK(refused == 1);
        const auto lines = unit::parse_jsonl(dir / "exp" / name / "events.jsonl");
        CHECK(unit::of_kind(lines, "run_start").size() == 1);
    }
    // create_or_resume from two trackers at once: one creates, the other resumes; one file, readable.
    std::atomic<int> resumed{0}, go{0};
    auto either = [&] {
        tracker t{sleepy("exp", 10ms), sinks::jsonl{dir.path()}};
        ++go;
        while (go < 2) {
        }
        auto r = t.start_run("both", start_mode::create_or_resume);
        resumed += r.resumed();
        r.log("x", 1, 0);
    };
    std::thread a(either), b(either);
    a.join();
    b.join();
    CHECK(resumed == 1);
    const auto lines = unit::parse_jsonl(dir / "exp" / "both" / "events.jsonl");
    CHECK(lines.front().at("kind") == "run_start");
    CHECK(unit::of_kind(lines, "run_start").size() == 1);
    CHECK(unit::of_kind(lines, "run_resume").size() == 1);
}

namespace {

/// A sink that can tell whether a run exists only on the writer thread (it has exists() and no claim()): a
/// tracker with it decides create or resume on the writer, not on the caller's thread.
struct writer_answers_sink {
    void write(const batch&) {}
    void flush() {}
    bool exists(const run_info&) const { return false; }
};

enum outcome : int { created = 0, resumed = 5, refused = 1, other = 2 };

/// Two processes start run `name` at once (released together through a pipe) with `mode`; returns their
/// outcomes, sorted.
std::vector<int> race_processes(const fs::path& root, const std::string& name, start_mode mode, bool writer_decides) {
    int go[2];
    REQUIRE(::pipe(go) == 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < 2; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::alarm(60);
            ::close(go[1]);
            int rc = other;
            try {
                config c = sleepy("exp", 10ms);
                c.capture_environment = i == 0;  // one slow opening (the environment), one fast
                auto attempt = [&](auto& t) {
                    char byte = 0;
                    if (::read(go[0], &byte, 1) != 1) return;
                    try {
                        auto r = t.start_run(name, mode);
                        rc = r.resumed() ? resumed : created;
                        r.log("x", 1, i);
                    } catch (const error& e) {
                        rc = std::string(e.what()).rfind("[mltrack.error.state.1]", 0) == 0 ? refused : other;
                    }
                };
                if (writer_decides) {
                    tracker t{c, sinks::jsonl{root}, writer_answers_sink{}};
                    attempt(t);
                } else {
                    tracker t{c, sinks::jsonl{root}};
                    attempt(t);
                }
            } catch (...) {
                rc = other;
            }
            ::_exit(rc);
        }
        REQUIRE(pid > 0);
        pids.push_back(pid);
    }
    ::close(go[0]);
    REQUIRE(::write(go[1], "gg", 2) == 2);
    ::close(go[1]);
    std::vector<int> out;
    for (const pid_t pid : pids) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        out.push_back(WEXITSTATUS(status));
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("two processes creating one run at once: exactly one wins, the other gets state.1 (fork, many trials)") {
    unit::temp_dir dir;
    const int trials = UNIT_SANITIZED ? 6 : 25;
    for (const bool writer_decides : {false, true}) {
        CAPTURE(writer_decides);
        for (int k = 0; k < trials; ++k) {
            const std::string name = std::string(writer_decides ? "w" : "c") + std::to_string(k);
            const auto got = race_processes(dir.path(), name, start_mode::create, writer_decides);
            INFO("outcomes " << got[0] << " " << got[1]);
            CHECK(got == std::vector<int>{created, refused});
            const auto lines = unit::parse_jsonl(dir / "exp" / name / "events.jsonl");
            CHECK(lines.front().at("kind") == "run_start");
            CHECK(unit::of_kind(lines, "run_start").size() == 1);
            CHECK(unit::of_kind(lines, "run_resume").empty());
            CHECK_NOTHROW(read_run(dir / "exp" / name));
        }
        // create_or_resume from both: one creates, the other resumes; one run_start, then one run_resume.
        for (int k = 0; k < trials / 5 + 1; ++k) {
            const std::string name = std::string(writer_decides ? "wb" : "cb") + std::to_string(k);
            CHECK(race_processes(dir.path(), name, start_mode::create_or_resume, writer_decides) ==
                  std::vector<int>{created, resumed});
            const auto lines = unit::parse_jsonl(dir / "exp" / name / "events.jsonl");
            CHECK(lines.front().at("kind") == "run_start");
            CHECK(unit::of_kind(lines, "run_start").size() == 1);
            CHECK(unit::of_kind(lines, "run_resume").size() == 1);
            CHECK(read_run(dir / "exp" / name).series.at("x").size() == 2);
        }
    }
    // Two resumers at once: both resume; each writes its run_resume and its lines, whole, in one readable file.
    {
        tracker t{sleepy("exp", 10ms), sinks::jsonl{dir.path()}};
        t.start_run("both").end();
    }
    CHECK(race_processes(dir.path(), "both", start_mode::resume, false) == std::vector<int>{resumed, resumed});
    const auto lines = unit::parse_jsonl(dir / "exp" / "both" / "events.jsonl");
    CHECK(unit::of_kind(lines, "run_start").size() == 1);
    CHECK(unit::of_kind(lines, "run_resume").size() == 2);
    CHECK(read_run(dir / "exp" / "both").series.at("x").size() == 2);
}
