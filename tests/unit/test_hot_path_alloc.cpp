// The hot path allocates nothing: the global operator new is replaced by one that counts the allocations
// made by the thread under test while it is armed (the writer thread's allocations are not counted).
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/tracker.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "unit_support.hpp"

namespace {
thread_local bool armed = false;
std::atomic<long> counted{0};

void* counted_alloc(std::size_t n) {
    if (armed) counted.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}

/// Counts allocations made by this thread inside its lifetime.
struct counting {
    counting() {
        counted.store(0);
        armed = true;
    }
    ~counting() { armed = false; }
    long count() const { return counted.load(); }
};
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace mltrack;

TEST_CASE("the counting operator new sees an allocation (the check can fail)") {
    long n = 0;
    {
        counting c;
        auto* v = new std::vector<int>(100);
        n = c.count();
        delete v;
    }
    CHECK(n >= 1);
}

TEST_CASE("logging through a metric handle or a known string key allocates nothing") {
    unit::temp_dir dir;
    config cfg{"alloc"};
    cfg.queue_capacity = 1u << 16;
    tracker t{cfg, sinks::jsonl{dir.path()}};
    auto r = t.start_run("r");
    auto loss = r.metric("train/loss");
    // Warm-up: the first use of each key on this thread fills its cache (and interns the key).
    r.log("train/acc", 0.5, 0);
    r.log("a/much/longer/metric/key/than/the/small/string/buffer", 0.5, 0);
    loss.log(1.0, 0);
    t.flush();

    long by_handle = -1, by_key = -1;
    {
        counting c;
        for (int i = 1; i <= 20000; ++i) loss.log(1.0 / i, i);
        by_handle = c.count();
    }
    {
        counting c;
        for (int i = 1; i <= 20000; ++i) {
            r.log("train/acc", 0.5, i);
            r.log("a/much/longer/metric/key/than/the/small/string/buffer", 0.25, i);
        }
        by_key = c.count();
    }
    CHECK(by_handle == 0);
    CHECK(by_key == 0);

    // A new key does allocate (it is interned): the count is real.
    long new_key = 0;
    {
        counting c;
        r.log("train/new_key", 1.0, 1);
        new_key = c.count();
    }
    CHECK(new_key > 0);

    t.flush();
    r.end();
    t.close();
    // Everything logged was written, and read back independently.
    std::size_t points = 0, acc = 0;
    for (const auto& line : unit::parse_jsonl(dir.path() / "alloc" / "r" / "events.jsonl")) {
        if (line.value("kind", "") != "metrics") continue;
        for (auto it = line["values"].begin(); it != line["values"].end(); ++it) {
            ++points;
            if (it.key() == "train/acc") ++acc;
        }
    }
    CHECK(acc == 20001);
    CHECK(points == 20001 + 20001 + 20001 + 1);
}

TEST_CASE("log_time_series with known keys allocates nothing (the same key cache as log by key)") {
    unit::temp_dir dir;
    config cfg{"alloc"};
    cfg.queue_capacity = 1u << 16;
    tracker t{cfg, sinks::jsonl{dir.path()}};
    auto r = t.start_run("r");
    const char* long_key = "a/much/longer/metric/key/than/the/small/string/buffer";
    r.log_time_series({{"train/acc", 0.5}, {long_key, 0.5}}, 0);  // warm-up: interns both keys
    t.flush();
    long count = -1;
    {
        counting c;
        for (int i = 1; i <= 20000; ++i) r.log_time_series({{"train/acc", 0.5}, {long_key, 0.25}}, i);
        count = c.count();
    }
    CHECK(count == 0);
    r.end();
    t.close();
    std::size_t points = 0;
    for (const auto& line : unit::parse_jsonl(dir.path() / "alloc" / "r" / "events.jsonl"))
        if (line.value("kind", "") == "metrics") points += line["values"].size();
    CHECK(points == 2 * 20001);
}

TEST_CASE("string keys cached on one thread stay right when trackers come and go") {
    // Two trackers intern the same keys in different orders: a cache keyed by address alone would mix
    // them up when the second reuses the first's memory.
    for (int round = 0; round < 3; ++round) {
        sinks::memory mem;
        tracker t{config{"exp"}, mem};
        auto r = t.start_run("r");
        if (round % 2) (void)r.metric("b");  // shift the ids
        r.log("a", 1.0 + round, 1);
        r.log("b", 2.0 + round, 1);
        t.flush();
        auto a = mem.series("r", "a");
        auto b = mem.series("r", "b");
        REQUIRE(a.size() == 1);
        REQUIRE(b.size() == 1);
        CHECK(a[0].second == 1.0 + round);
        CHECK(b[0].second == 2.0 + round);
    }
}

TEST_CASE("a bad key by string still throws, on every call, and logs nothing") {
    sinks::memory mem;
    tracker t{config{"exp"}, mem};
    auto r = t.start_run("r");
    CHECK_ERROR_ID("name.1", r.log("", 1.0, 1));
    CHECK_ERROR_ID("name.1", r.log("", 1.0, 2));
    r.end();
    CHECK_ERROR_ID("state.3", r.log("ok", 1.0, 3));
    t.flush();
    CHECK(mem.count(record_kind::metric) == 0);
}
