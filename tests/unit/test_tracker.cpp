// tracker.hpp and detail/engine/core.hpp: the queue, the writer, static and runtime composition, stats, errors.
#include <mltrack/tracker.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/sinks/any.hpp>
#include <mltrack/reader.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;
using unit::fs::path;

namespace {

/// A sink whose write() can be held closed, to make queue overflow deterministic.
struct gate_sink {
    struct state {
        std::mutex m;
        std::condition_variable cv;
        bool closed_gate = false;
        bool waiting = false;
        std::uint64_t points = 0;
    };
    std::shared_ptr<state> s = std::make_shared<state>();

    void write(const batch& b) {
        std::unique_lock<std::mutex> lock(s->m);
        for (const auto& e : b) s->points += e.kind == record_kind::metric;
        if (s->closed_gate) {
            s->waiting = true;
            s->cv.notify_all();
            s->cv.wait(lock, [&] { return !s->closed_gate; });
            s->waiting = false;
        }
    }
    void flush() {}
    void close_gate() {
        std::lock_guard<std::mutex> lock(s->m);
        s->closed_gate = true;
    }
    void wait_until_writer_blocked() {
        std::unique_lock<std::mutex> lock(s->m);
        s->cv.wait(lock, [&] { return s->waiting; });
    }
    void open_gate() {
        std::lock_guard<std::mutex> lock(s->m);
        s->closed_gate = false;
        s->cv.notify_all();
    }
};

/// A sink with only write and flush: no exists/close/tick/name.
struct minimal_sink {
    std::shared_ptr<std::atomic<int>> events = std::make_shared<std::atomic<int>>(0);
    void write(const batch& b) { events->fetch_add(static_cast<int>(b.size())); }
    void flush() {}
};

/// Collects the errors reported on the writer thread.
struct error_log {
    std::mutex m;
    std::vector<sink_error> errors;
    std::function<void(const sink_error&)> handler() {
        return [this](const sink_error& e) {
            std::lock_guard<std::mutex> lock(m);
            errors.push_back(e);
        };
    }
    std::vector<sink_error> get() {
        std::lock_guard<std::mutex> lock(m);
        return errors;
    }
};

std::atomic<std::int64_t> fake_now{1'700'000'000'000'000'000};
std::int64_t fake_clock() noexcept { return fake_now.fetch_add(1'000'000); }  // +1 ms per call

config quiet(const char* experiment, error_log* log = nullptr) {
    config c{experiment};
    if (log) c.on_error = log->handler();
    else c.on_error = [](const sink_error&) {};
    return c;
}

}  // namespace

TEST_CASE("the experiment name is validated by the tracker") {
    sinks::memory mem;
    CHECK_ERROR_ID("name.1", tracker(config{""}, mem));
    CHECK_ERROR_ID("name.4", tracker(config{".."}, mem));
    CHECK_ERROR_ID("name.3", tracker(config{"a/b"}, mem));
    CHECK_ERROR_ID("name.4", basic_tracker<sinks::memory>(config{"/abs"}, mem));
}

TEST_CASE("8 threads x 100k points into one run: exact counts, per-thread order") {
    sinks::memory mem;
    const std::int64_t per = UNIT_SANITIZED ? 10000 : 100000;
    constexpr int threads = 8;
    tracker_stats stats;
    {
        tracker t{quiet("exp"), mem};
        auto r = t.start_run("r");
        std::vector<metric_handle> handles;
        for (int i = 0; i < threads; ++i) handles.push_back(r.metric("thread/" + std::to_string(i)));
        std::atomic<int> ready{0};
        std::vector<std::thread> pool;
        for (int i = 0; i < threads; ++i)
            pool.emplace_back([&, i] {
                ready.fetch_add(1);
                while (ready.load() < threads) std::this_thread::yield();
                for (std::int64_t s = 0; s < per; ++s) handles[i].log(static_cast<double>(s) * 0.5 + i, s);
            });
        for (auto& th : pool) th.join();
        t.flush();
        CHECK(mem.count(record_kind::metric) == static_cast<std::size_t>(per * threads));
        r.end();
        t.close();
        stats = t.stats();
    }
    CHECK(stats.dropped == 0);
    CHECK(stats.late == 0);
    CHECK(stats.sink_errors == 0);
    CHECK(stats.written == static_cast<std::uint64_t>(per * threads + 2));  // + run_start + run_end
    // enqueued: run_open + 8 metric definitions + points + run_end + flush + shutdown
    CHECK(stats.enqueued == static_cast<std::uint64_t>(per * threads + 1 + threads + 1 + 1 + 1));
    for (int i = 0; i < threads; ++i) {
        const auto series = mem.series("r", "thread/" + std::to_string(i));
        REQUIRE(series.size() == static_cast<std::size_t>(per));
        std::int64_t bad = 0;
        for (std::int64_t s = 0; s < per; ++s)
            bad += series[s].first != s || series[s].second != static_cast<double>(s) * 0.5 + i;
        CHECK(bad == 0);
    }
    CHECK(mem.closed());
}

TEST_CASE("8 threads x 25k points into one JSONL run: every line parses, nothing lost") {
    unit::temp_dir dir;
    const std::int64_t per = UNIT_SANITIZED ? 5000 : 25000;  // 200k lines, each parsed by nlohmann
    constexpr int threads = 8;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        std::vector<std::thread> pool;
        for (int i = 0; i < threads; ++i)
            pool.emplace_back([&, i] {
                auto m = r.metric("m" + std::to_string(i));
                for (std::int64_t s = 0; s < per; ++s) m.log(static_cast<double>(s), s);
            });
        for (auto& th : pool) th.join();
    }
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    std::map<std::string, std::int64_t> next;
    std::int64_t points = 0, out_of_order = 0, wrong_value = 0;
    for (const auto& j : unit::of_kind(lines, "metrics"))
        for (const auto& kv : j.at("values").items()) {
            ++points;
            const auto step = j.at("step").get<std::int64_t>();
            out_of_order += step != next[kv.key()];
            next[kv.key()] = step + 1;
            wrong_value += kv.value().get<double>() != static_cast<double>(step);
        }
    CHECK(points == per * threads);
    CHECK(out_of_order == 0);
    CHECK(wrong_value == 0);
    CHECK(lines.front().at("kind") == "run_start");
    CHECK(lines.back().at("kind") == "run_end");
    CHECK(lines.back().at("state") == "COMPLETE");
}

TEST_CASE("flush() returns after every earlier record is written and the sinks flushed") {
    sinks::memory mem;
    tracker t{quiet("exp"), mem};
    auto r = t.start_run("r");
    auto m = r.metric("loss");
    const auto flushes_before = mem.flushes();
    for (int round = 0; round < 20; ++round) {
        for (int i = 0; i < 1000; ++i) m.log(i, round * 1000 + i);
        t.flush();  // no sleep: the points must be there now
        CHECK(mem.count(record_kind::metric) == static_cast<std::size_t>((round + 1) * 1000));
    }
    CHECK(mem.flushes() >= flushes_before + 20);
}

TEST_CASE("overflow_policy::drop_newest with a tiny queue: exact stats") {
    gate_sink gate;
    auto cfg = quiet("exp");
    cfg.queue_capacity = 2;
    cfg.overflow = overflow_policy::drop_newest;
    tracker t{cfg, gate};
    CHECK(t.stats().queue_capacity == 2);
    auto r = t.start_run("r");
    t.flush();  // the run_start is written: the gate below holds the first point
    auto m = r.metric("x");
    gate.close_gate();
    m.log(0, 0);  // the writer takes it and blocks inside write()
    gate.wait_until_writer_blocked();
    constexpr int n = 1000;
    for (int i = 1; i < n; ++i) m.log(i, i);  // 2 fit in the ring, the rest are dropped
    auto s = t.stats();
    CHECK(s.dropped == n - 3);
    CHECK(s.enqueued == 1 + 1 + 1 + 3);  // run_open, flush, metric definition, 3 points
    gate.open_gate();
    t.flush();
    s = t.stats();
    CHECK(s.dropped == n - 3);
    CHECK(gate.s->points == 3);
    CHECK(s.written == 1 + 3);  // run_start + points
    // control records are never dropped, even with a full queue and drop_newest
    gate.close_gate();
    m.log(0, 0);
    gate.wait_until_writer_blocked();
    m.log(1, 1);
    m.log(2, 2);
    m.log(3, 3);  // dropped: the ring is full
    std::thread ender([&] { r.end(); });  // blocks until the writer frees a slot
    gate.open_gate();
    ender.join();
    t.flush();
    CHECK(t.stats().dropped == n - 3 + 1);
}

TEST_CASE("overflow_policy::block (default) loses nothing with a tiny queue") {
    sinks::memory mem;
    auto cfg = quiet("exp");
    cfg.queue_capacity = 4;
    tracker t{cfg, mem};
    auto r = t.start_run("r");
    std::vector<std::thread> pool;
    for (int i = 0; i < 4; ++i)
        pool.emplace_back([&, i] {
            auto m = r.metric("m" + std::to_string(i));
            for (int s = 0; s < 5000; ++s) m.log(s, s);
        });
    for (auto& th : pool) th.join();
    t.flush();
    CHECK(mem.count(record_kind::metric) == 20000);
    CHECK(t.stats().dropped == 0);
}

TEST_CASE("inline dispatch: deterministic, no thread, visible at once") {
    sinks::memory mem;
    auto cfg = quiet("exp");
    cfg.dispatch = dispatch_mode::inline_;
    cfg.clock = fake_clock;
    tracker t{cfg, mem};
    auto r = t.start_run("r");
    auto m = r.metric("loss");
    m.log(0.5, 1);
    auto e = mem.entries();  // no flush: the calling thread wrote it
    REQUIRE(e.size() == 2);
    CHECK(e[0].kind == record_kind::run_start);
    CHECK(e[1].kind == record_kind::metric);
    CHECK(e[1].metric == "loss");
    CHECK(e[1].value == 0.5);
    CHECK(e[1].step == 1);
    r.log_params({{"lr", 0.1}});
    r.log_metrics({{"acc", 0.9}});
    m.log(0.25, 2);
    r.end(run_state::cancelled);
    e = mem.entries();
    REQUIRE(e.size() == 6);
    const record_kind expected[] = {record_kind::run_start, record_kind::metric, record_kind::params,
                                    record_kind::summary,   record_kind::metric, record_kind::run_end};
    for (std::size_t i = 0; i < 6; ++i) CHECK(e[i].kind == expected[i]);
    CHECK(e[5].payload->get_state() == run_state::cancelled);
    // entries carry the injected clock's times, strictly increasing
    for (std::size_t i = 1; i < 6; ++i) CHECK(e[i].time_ns > e[i - 1].time_ns);
    t.close();
    CHECK(mem.closed());
}

TEST_CASE("inline dispatch from several threads loses nothing") {
    sinks::memory mem;
    auto cfg = quiet("exp");
    cfg.dispatch = dispatch_mode::inline_;
    cfg.queue_capacity = 8;
    tracker t{cfg, mem};
    auto r = t.start_run("r");
    std::vector<std::thread> pool;
    for (int i = 0; i < 4; ++i)
        pool.emplace_back([&, i] {
            auto m = r.metric("m" + std::to_string(i));
            for (int s = 0; s < 5000; ++s) m.log(s, s);
        });
    for (auto& th : pool) th.join();
    CHECK(mem.count(record_kind::metric) == 20000);
    for (int i = 0; i < 4; ++i) {
        const auto s = mem.series("r", "m" + std::to_string(i));
        REQUIRE(s.size() == 5000);
        for (int k = 0; k < 5000; ++k) CHECK(s[k].first == k);
    }
}

TEST_CASE("basic_tracker<sinks::memory, sinks::jsonl>: static composition, both sinks see everything") {
    unit::temp_dir dir;
    sinks::memory mem;
    {
        basic_tracker<sinks::memory, sinks::jsonl> t{quiet("exp"), mem, sinks::jsonl{dir.path()}};
        static_assert(std::is_base_of_v<tracker_base, decltype(t)>);
        CHECK(t.experiment() == "exp");
        auto r = t.start_run("r");
        auto m = r.metric("loss");
        for (int i = 0; i < 100; ++i) m.log(1.0 / (i + 1), i);
        r.log_params({{"lr", 0.01}});
    }
    CHECK(mem.count(record_kind::metric) == 100);
    CHECK(mem.count(record_kind::params) == 1);
    CHECK(mem.count(record_kind::run_end) == 1);
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    std::size_t points = 0;
    for (const auto& j : unit::of_kind(lines, "metrics")) points += j.at("values").size();
    CHECK(points == 100);
    CHECK(unit::of_kind(lines, "params").size() == 1);
    CHECK(lines.back().at("state") == "COMPLETE");
}

TEST_CASE("class template argument deduction and the runtime tracker with type-erased sinks") {
    unit::temp_dir dir;
    sinks::memory mem;
    minimal_sink minimal;
    {
        basic_tracker t{quiet("exp"), mem, minimal};  // CTAD: basic_tracker<memory, minimal_sink>
        auto r = t.start_run("a");
        r.log("x", 1, 0);
    }
    CHECK(minimal.events->load() == 3);  // run_start, point, run_end
    {
        std::vector<sinks::any> list;
        list.emplace_back(mem);
        list.emplace_back(sinks::jsonl{dir.path()});
        list.emplace_back(minimal);
        CHECK(list[0].name() == "memory");
        CHECK(list[1].name() == "jsonl");
        CHECK(list[2].name() == "sink");
        CHECK(list[1].get<sinks::jsonl>() != nullptr);
        CHECK(list[1].get<sinks::memory>() == nullptr);
        tracker t{quiet("exp"), std::move(list)};
        auto r = t.start_run("b");
        r.log("x", 2, 0);
    }
    CHECK(minimal.events->load() == 6);
    CHECK(mem.count(record_kind::run_start) == 2);
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "b" / "events.jsonl");
    CHECK(lines.size() == 3);
}

TEST_CASE("a failing sink does not stop the others; the error is counted and handled") {
    // Inline dispatch: one record per write() call, so the failures hit known records.
    unit::temp_dir dir;
    sinks::memory mem;
    error_log log;
    mem.fail_next_writes(1);  // the run_start batch is lost for this sink only
    {
        auto cfg = quiet("exp", &log);
        cfg.dispatch = dispatch_mode::inline_;
        tracker t{cfg, mem, sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto m = r.metric("loss");
        for (int i = 0; i < 10; ++i) m.log(i, i);
        CHECK(t.stats().sink_errors == 1);
        mem.fail_next_writes(3);
        r.log_params({{"a", 1}});  // lost for memory
        r.log_metrics({{"b", 2.0}});
        r.log_params({{"c", 3}});
        CHECK(t.stats().sink_errors == 4);
        r.log_params({{"d", 4}});
        CHECK(t.stats().sink_errors == 4);
    }
    const auto errors = log.get();
    REQUIRE(errors.size() == 4);
    for (const auto& e : errors) {
        CHECK(e.sink == "memory");
        CHECK(e.message == "injected write failure");
    }
    CHECK(mem.count(record_kind::run_start) == 0);
    CHECK(mem.count(record_kind::metric) == 10);
    CHECK(mem.count(record_kind::params) == 1);
    CHECK(mem.count(record_kind::summary) == 0);
    CHECK(mem.count(record_kind::run_end) == 1);
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    CHECK(unit::of_kind(lines, "run_start").size() == 1);
    CHECK(unit::of_kind(lines, "params").size() == 3);
    CHECK(unit::of_kind(lines, "summary").size() == 1);
    CHECK(unit::of_kind(lines, "run_end").size() == 1);
    std::size_t points = 0;
    for (const auto& j : unit::of_kind(lines, "metrics")) points += j.at("values").size();
    CHECK(points == 10);
}

TEST_CASE("a failing sink on the writer thread: every failure reaches the handler, JSONL is complete") {
    unit::temp_dir dir;
    sinks::memory mem;
    error_log log;
    {
        tracker t{quiet("exp", &log), sinks::jsonl{dir.path()}, mem};
        auto r = t.start_run("r");
        t.flush();                      // run_start reaches the sinks once the writer has opened the run
        mem.fail_next_writes(1000000);  // memory fails from now on
        auto m = r.metric("loss");
        for (int i = 0; i < 5000; ++i) m.log(i, i);
        r.log_params({{"a", 1}});
        t.flush();
        const auto s = t.stats();
        CHECK(s.sink_errors >= 1);
        CHECK(s.sink_errors == log.get().size());
    }
    CHECK(mem.count(record_kind::run_start) == 1);
    CHECK(mem.count(record_kind::metric) == 0);
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    std::size_t points = 0;
    for (const auto& j : unit::of_kind(lines, "metrics")) points += j.at("values").size();
    CHECK(points == 5000);
    CHECK(lines.back().at("state") == "COMPLETE");
}

TEST_CASE("a sink that throws from flush and close is isolated too") {
    struct bad_sink {
        void write(const batch&) {}
        void flush() { throw std::runtime_error("flush failed"); }
        void close() { throw 42; }
        std::string name() const { return "bad"; }
    };
    sinks::memory mem;
    error_log log;
    {
        tracker t{quiet("exp", &log), bad_sink{}, mem};
        auto r = t.start_run("r");
        r.log("x", 1, 1);
        t.flush();
        r.end();
    }
    CHECK(mem.count(record_kind::metric) == 1);
    CHECK(mem.closed());
    const auto errors = log.get();
    REQUIRE(errors.size() >= 2);
    CHECK(errors.front().sink == "bad");
    CHECK(errors.front().message == "flush failed");
    CHECK(errors.back().message == "unknown exception");
}

TEST_CASE("several runs at once from several threads (a parallel sweep)") {
    unit::temp_dir dir;
    sinks::memory mem;
    constexpr int runs = 6;
    {
        tracker t{quiet("sweep"), mem, sinks::jsonl{dir.path()}};
        std::vector<std::thread> pool;
        for (int i = 0; i < runs; ++i)
            pool.emplace_back([&, i] {
                auto r = t.start_run("lr-" + std::to_string(i));
                r.log_params({{"lr", 0.1 * (i + 1)}, {"index", i}});
                auto loss = r.metric("loss");  // the same key in every run: one interned id
                for (int s = 0; s < 2000; ++s) loss.log(1.0 / (s + 1) + i, s);
                r.log_metrics({{"final", static_cast<double>(i)}});
                if (i % 2) r.end(run_state::failed);
            });
        for (auto& th : pool) th.join();
    }
    for (int i = 0; i < runs; ++i) {
        const std::string name = "lr-" + std::to_string(i);
        CHECK(mem.series(name, "loss").size() == 2000);
        const auto lines = unit::parse_jsonl(dir.path() / "sweep" / name / "events.jsonl");
        CHECK(lines.front().at("run") == name);
        CHECK(lines.front().at("experiment") == "sweep");
        std::size_t points = 0;
        for (const auto& j : unit::of_kind(lines, "metrics")) {
            points += j.at("values").size();
            CHECK(j.at("values").at("loss").get<double>() == 1.0 / (j.at("step").get<int>() + 1) + i);
        }
        CHECK(points == 2000);
        CHECK(unit::of_kind(lines, "params").at(0).at("values").at("index") == i);
        CHECK(lines.back().at("state") == (i % 2 ? "FAILED" : "COMPLETE"));
    }
}

TEST_CASE("run lifecycle errors: state.1, state.2, state.4, state.6") {
    unit::temp_dir dir;
    {
        tracker t{quiet("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        CHECK_ERROR_ID("state.6", t.start_run("r"));                       // open twice
        CHECK_ERROR_ID("state.6", t.start_run("r", start_mode::resume));  //
        auto other = t.start_run("other");                                 // another name is fine
        r.end();
        CHECK_ERROR_ID("state.1", t.start_run("r"));  // ended, but it exists
        const auto what = unit::error_of([&] { (void)t.start_run("r"); });
        CHECK(what ==
              "[mltrack.error.state.1] run 'r' already exists in experiment 'exp'; start it with start_mode::resume "
              "to continue it");
        CHECK_ERROR_ID("state.2", t.start_run("missing", start_mode::resume));
        CHECK_ERROR_ID("state.2", t.start_run("missing", true));
        // a failed start does not keep the name claimed
        auto resumed = t.start_run("r", true);
        CHECK(resumed.resumed());
        CHECK(resumed.active());
        resumed.end();
        auto created = t.start_run("fresh", start_mode::create_or_resume);
        CHECK_FALSE(created.resumed());
        created.end();
        auto again = t.start_run("fresh", start_mode::create_or_resume);
        CHECK(again.resumed());
        CHECK_ERROR_ID("name.3", t.start_run("bad name"));
        CHECK_ERROR_ID("name.4", t.start_run(".."));
        t.close();
        CHECK_FALSE(again.active());
        CHECK_ERROR_ID("state.4", t.start_run("after-close"));
        CHECK_ERROR_ID("state.4", again.log_params({{"a", 1}}));
        CHECK_ERROR_ID("state.4", again.metric("m"));
        CHECK_NOTHROW(t.flush());  // a closed tracker's flush does nothing
        CHECK_NOTHROW(t.close());  // idempotent
        CHECK_NOTHROW(again.end());
    }
    CHECK_FALSE(unit::fs::exists(dir.path() / "exp" / "missing"));
    CHECK_FALSE(unit::fs::exists(dir.path() / "exp" / "after-close"));
    // the run left open when the tracker closed stays RUNNING in its file
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "fresh" / "events.jsonl");
    CHECK(lines.back().at("kind") == "run_resume");
}

TEST_CASE("a sink that cannot tell whether a run exists: resume is taken at its word") {
    sinks::memory mem;
    tracker t{quiet("exp"), mem};
    auto r = t.start_run("r", start_mode::resume);
    CHECK(r.resumed());
    r.end();
    auto c = t.start_run("r");  // create: nobody can say it exists
    CHECK_FALSE(c.resumed());
    t.flush();  // start_run does not wait for the writer
    const auto e = mem.entries();
    CHECK(e.at(0).kind == record_kind::run_resume);
    CHECK(e.at(0).info.resumed);
}

TEST_CASE("the injected clock stamps every record") {
    unit::temp_dir dir;
    sinks::memory mem;
    auto cfg = quiet("exp");
    static std::atomic<std::int64_t> now{1'764'384'000'000'000'000};
    cfg.clock = []() noexcept { return now.fetch_add(1'500'000); };  // 1.5 ms per call
    const auto t0 = now.load();
    {
        tracker t{cfg, mem, sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        r.log("x", 1.0, 0);
        r.log_params({{"p", 1}});
        auto m = r.metric("y");
        m.log(2.0, 1, 42'000'000);  // an explicit time wins
    }
    const auto e = mem.entries();
    REQUIRE(e.size() == 5);
    CHECK(e[0].time_ns == t0);
    CHECK(e[0].info.start_time_ns == t0);
    CHECK(e[1].time_ns == t0 + 1'500'000);
    CHECK(e[2].time_ns == t0 + 3'000'000);
    CHECK(e[3].time_ns == 42'000'000);
    CHECK(e[4].time_ns == t0 + 4'500'000);
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    REQUIRE(lines.size() == 5);
    // "time" is seconds with microseconds; compare the exact text through nlohmann's dump
    CHECK(lines[0].at("time").dump() == "1764384000.0");
    CHECK(std::llround(lines[1].at("time").get<double>() * 1e6) == 1764384000001500);
    CHECK(std::llround(lines[2].at("time").get<double>() * 1e6) == 1764384000003000);
    CHECK(std::llround(lines[3].at("time").get<double>() * 1e6) == 42000);
    CHECK(std::llround(lines[4].at("time").get<double>() * 1e6) == 1764384000004500);
}

TEST_CASE("after end and after close: late and dropped are counted, nothing is written") {
    sinks::memory mem;
    tracker t{quiet("exp"), mem};
    auto r = t.start_run("r");
    auto m = r.metric("x");
    m.log(1, 1);
    r.end();
    m.log(2, 2);  // the run ended: counted as late
    m.log(3, 3);
    t.flush();
    CHECK(t.stats().late == 2);
    CHECK_ERROR_ID("state.3", r.log_params({{"a", 1}}));
    CHECK_ERROR_ID("state.3", r.metric("y"));
    CHECK_ERROR_ID("state.3", r.log("y", 1, 1));
    CHECK_ERROR_ID("state.3", r.log_metrics({{"y", 1.0}}));
    t.close();
    m.log(4, 4);  // the tracker closed: counted as dropped; the handle keeps the engine alive
    CHECK(t.stats().dropped == 1);
    CHECK(mem.series("r", "x").size() == 1);
}

TEST_CASE("metric handles: interned once, default handle is inert, invalid keys throw") {
    sinks::memory mem;
    auto cfg = quiet("exp");
    cfg.dispatch = dispatch_mode::inline_;
    tracker t{cfg, mem};
    auto r = t.start_run("r");
    metric_handle none;
    CHECK_FALSE(none);
    none.log(1, 1);  // nothing happens
    auto a = r.metric("a");
    auto a2 = r.metric("a");
    CHECK(a);
    a.log(1, 1);
    a2.log(2, 2);
    CHECK(mem.series("r", "a").size() == 2);
    CHECK_ERROR_ID("name.1", r.metric(""));
    CHECK_ERROR_ID("name.6", r.metric("a\nb"));
    CHECK_ERROR_ID("name.5", r.metric("\xff"));
    CHECK_ERROR_ID("name.2", r.metric(std::string(300, 'k')));
    CHECK(t.stats().enqueued == 1 + 1 + 2);  // run_open, one definition, two points
}

TEST_CASE("trackers move; the moved-to tracker keeps working") {
    sinks::memory mem;
    tracker a{quiet("exp"), mem};
    tracker b = std::move(a);
    auto r = b.start_run("r");
    r.log("x", 1, 1);
    b.flush();
    CHECK(mem.count(record_kind::metric) == 1);
    CHECK(a.stats().enqueued == 0);  // moved-from: empty stats
    a.flush();                       // and harmless
    a.close();
}

TEST_CASE("the default error handler writes to stderr without throwing") {
    sinks::memory mem;
    mem.fail_next_writes(100);
    tracker t{config{"exp"}, mem};  // no on_error
    auto r = t.start_run("r");
    for (int i = 0; i < 5; ++i) {
        r.log_params({{"a", i}});
        t.flush();  // one batch per record
    }
    CHECK(t.stats().sink_errors == 6);  // run_start + 5 params; stderr shows the first only (rate limit)
}

namespace {

/// A sink that can never hold runs whose name starts with "no", and knows steps of a run.
struct picky_sink {
    int checks = 0;
    void write(const batch&) {}
    void flush() {}
    void check_run(const run_info& run) {
        ++checks;
        if (run.name.rfind("no", 0) == 0) throw error(error_category::name, 40, "picky: '" + run.name + "' refused");
    }
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info&) {
        return std::map<std::string, std::int64_t>{{"loss", 99}};
    }
};

}  // namespace

TEST_CASE("a sink's check_run refuses a run at start_run: the caller gets its error, no sink sees the run") {
    unit::temp_dir dir;
    sinks::memory mem;
    tracker t{config{"exp"}, sinks::jsonl{dir.path()}, picky_sink{}, mem};
    CHECK_ERROR_ID("name.40", t.start_run("no-way"));
    CHECK_FALSE(unit::fs::exists(dir / "exp" / "no-way"));
    auto ok = t.start_run("fine");
    ok.log("loss", 1.0);
    ok.end();
    t.flush();
    CHECK(mem.count(record_kind::run_start) == 1);
    // Through sinks::any too, and its steps count for a resumed run.
    std::vector<sinks::any> dynamic;
    dynamic.emplace_back(picky_sink{});
    dynamic.emplace_back(sinks::jsonl{dir.path()});
    tracker d{config{"exp"}, std::move(dynamic)};
    CHECK_ERROR_ID("name.40", d.start_run("nope"));
    auto resumed = d.start_run("fine", start_mode::resume);
    resumed.log("loss", 2.0);
    resumed.end();
    d.close();
    const auto run = read_run(dir / "exp" / "fine");
    REQUIRE(run.series.at("loss").size() == 2);
    CHECK(run.series.at("loss")[0].step == 1);
    CHECK(run.series.at("loss")[1].step == 100);
}
