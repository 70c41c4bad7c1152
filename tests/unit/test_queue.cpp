// detail/engine/queue.hpp: the bounded MPSC ring of the hot path.
#include <mltrack/detail/engine/queue.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/tracker.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "unit_support.hpp"

using mltrack::detail::mpsc_ring;
using mltrack::detail::zero_pages;

namespace {
struct item {
    std::uint32_t producer;
    std::uint32_t pad;
    std::uint64_t seq;
};
}  // namespace

TEST_CASE("capacity rounds up to a power of two, at least 2") {
    CHECK(mpsc_ring<int>(0).capacity() == 2);
    CHECK(mpsc_ring<int>(1).capacity() == 2);
    CHECK(mpsc_ring<int>(2).capacity() == 2);
    CHECK(mpsc_ring<int>(3).capacity() == 4);
    CHECK(mpsc_ring<int>(1000).capacity() == 1024);
    CHECK(mpsc_ring<int>(65536).capacity() == 65536);
    CHECK(mltrack::detail::spsc_ring<int>(65537).capacity() == 131072);
}

TEST_CASE("single thread: FIFO, full ring refuses, empty ring pops nothing") {
    mpsc_ring<int> r(8);
    int out = -1;
    CHECK_FALSE(r.try_pop(out));
    for (int i = 0; i < 8; ++i) CHECK(r.try_push(i));
    CHECK_FALSE(r.try_push(99));  // full
    CHECK_FALSE(r.try_push(100));
    CHECK(r.pushed() == 8);
    for (int i = 0; i < 8; ++i) {
        REQUIRE(r.try_pop(out));
        CHECK(out == i);
    }
    CHECK_FALSE(r.try_pop(out));
    // wraps around many times
    for (int round = 0; round < 1000; ++round) {
        for (int i = 0; i < 5; ++i) CHECK(r.try_push(round * 10 + i));
        for (int i = 0; i < 5; ++i) {
            REQUIRE(r.try_pop(out));
            CHECK(out == round * 10 + i);
        }
    }
    CHECK(r.pushed() == 8 + 5000);
    // full and empty are still told apart many laps on (the sequence is stored less the slot's index)
    for (int i = 0; i < 8; ++i) CHECK(r.try_push(i));
    CHECK_FALSE(r.try_push(99));
    for (int i = 0; i < 8; ++i) {
        REQUIRE(r.try_pop(out));
        CHECK(out == i);
    }
    CHECK_FALSE(r.try_pop(out));
}

TEST_CASE("zero_pages: zero-filled slots; prefault commits them without touching what is written") {
    zero_pages<std::uint64_t> z(1 << 16);  // 512 KiB
    CHECK(z[0] == 0);
    CHECK(z[(1 << 16) - 1] == 0);
    z[12345] = 42;
    z.prefault();
    CHECK(z[12345] == 42);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < (1 << 16); ++i) sum += z[i];
    CHECK(sum == 42);
}

TEST_CASE("one free slot after one pop") {
    mpsc_ring<int> r(2);
    CHECK(r.try_push(1));
    CHECK(r.try_push(2));
    CHECK_FALSE(r.try_push(3));
    int out;
    CHECK(r.try_pop(out));
    CHECK(r.try_push(3));
    CHECK_FALSE(r.try_push(4));
}

TEST_CASE("8 producers, one consumer: exact counts and per-producer order") {
    constexpr int producers = 8;
    const std::uint64_t per = UNIT_SANITIZED ? 20000 : 200000;
    mpsc_ring<item> r(1024);  // small: producers hit a full ring often
    std::atomic<int> ready{0};
    std::atomic<std::uint64_t> full_seen{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            ready.fetch_add(1);
            while (ready.load() < producers) std::this_thread::yield();
            for (std::uint64_t i = 0; i < per; ++i) {
                const item it{static_cast<std::uint32_t>(p), 0, i};
                while (!r.try_push(it)) {
                    full_seen.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::yield();
                }
            }
        });
    std::vector<std::uint64_t> next(producers, 0);
    std::uint64_t total = 0, out_of_order = 0, bad_producer = 0;
    item it{};
    while (total < per * producers) {
        if (!r.try_pop(it)) {
            std::this_thread::yield();
            continue;
        }
        ++total;
        if (it.producer >= producers) {
            ++bad_producer;
            continue;
        }
        if (it.seq != next[it.producer]) ++out_of_order;
        next[it.producer] = it.seq + 1;
    }
    for (auto& t : threads) t.join();
    CHECK(total == per * producers);
    CHECK(bad_producer == 0);
    CHECK(out_of_order == 0);
    for (int p = 0; p < producers; ++p) CHECK(next[p] == per);
    CHECK_FALSE(r.try_pop(it));  // nothing extra
    CHECK(r.pushed() == per * producers);
    MESSAGE("producers found the ring full " << full_seen.load() << " times");
}

TEST_CASE("a full ring under contention: try_push fails without blocking and loses nothing accepted") {
    mpsc_ring<item> r(64);
    constexpr int producers = 4;
    std::atomic<std::uint64_t> accepted{0}, refused{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (std::uint64_t i = 0; i < 1000; ++i) {
                if (r.try_push(item{static_cast<std::uint32_t>(p), 0, i})) accepted.fetch_add(1);
                else refused.fetch_add(1);
            }
        });
    for (auto& t : threads) t.join();
    CHECK(accepted.load() == 64);  // nobody pops: exactly the capacity is accepted
    CHECK(refused.load() == producers * 1000 - 64);
    std::uint64_t popped = 0;
    item it{};
    std::vector<std::int64_t> last(producers, -1);
    while (r.try_pop(it)) {
        ++popped;
        CHECK(static_cast<std::int64_t>(it.seq) > last[it.producer]);
        last[it.producer] = static_cast<std::int64_t>(it.seq);
    }
    CHECK(popped == 64);
}

// ---- spsc_ring: the per-thread ring measured against mpsc_ring in bench/bench_queue.cpp

using mltrack::detail::spsc_ring;

TEST_CASE("spsc: FIFO, full ring refuses, wraps around many times") {
    spsc_ring<int> r(4);
    CHECK(r.capacity() == 4);
    int out = -1;
    CHECK_FALSE(r.try_pop(out));
    for (int round = 0; round < 10; ++round) {
        for (int i = 0; i < 4; ++i) CHECK(r.try_push(round * 10 + i));
        CHECK_FALSE(r.try_push(-1));
        for (int i = 0; i < 4; ++i) {
            REQUIRE(r.try_pop(out));
            CHECK(out == round * 10 + i);
        }
        CHECK_FALSE(r.try_pop(out));
    }
}

TEST_CASE("spsc: one producer thread, one consumer thread, every item once and in order") {
    spsc_ring<item> r(64);
    constexpr std::uint64_t n = 200000;
    std::thread producer([&] {
        for (std::uint64_t i = 0; i < n; ++i)
            while (!r.try_push(item{1, 0, i})) std::this_thread::yield();
    });
    std::uint64_t expected = 0;
    item out{};
    while (expected < n) {
        if (r.try_pop(out)) {
            REQUIRE(out.seq == expected);
            ++expected;
        } else {
            std::this_thread::yield();
        }
    }
    producer.join();
    CHECK_FALSE(r.try_pop(out));
    CHECK(expected == n);
}

// ---- thread_rings: the tracker's queue (per-thread point rings, control items ordered with them)

using mltrack::detail::thread_rings;

namespace {
struct titem {
    std::uint32_t producer;   ///< producer index; for a control item, the producer whose count it carries
    std::uint32_t control;    ///< 1: a control item
    std::uint64_t seq;        ///< a point's per-producer sequence; a control item's own number (1, 2, ...)
    std::uint64_t known;      ///< a point: controls known pushed before it; a control: points of `producer` before it
};
struct is_ctl {
    bool operator()(const titem& t) const noexcept { return t.control != 0; }
};
}  // namespace

TEST_CASE("thread_rings: one thread, points and control items keep their order") {
    thread_rings<titem, is_ctl> q(8);
    titem out{};
    CHECK_FALSE(q.try_pop(out));
    std::vector<titem> in;
    for (std::uint64_t i = 0; i < 6; ++i) {
        in.push_back({0, i % 3 == 2, i, 0});
        REQUIRE(q.try_push(in.back()));
    }
    CHECK(q.pushed() == 6);
    for (const auto& want : in) {
        REQUIRE(q.try_pop(out));
        CHECK(out.seq == want.seq);
        CHECK(out.control == want.control);
    }
    CHECK_FALSE(q.try_pop(out));
    CHECK(q.rings() == 1);
}

TEST_CASE("thread_rings: a full thread ring refuses points, control items still go in") {
    thread_rings<titem, is_ctl> q(4);
    for (std::uint64_t i = 0; i < 4; ++i) CHECK(q.try_push({0, 0, i, 0}));
    CHECK_FALSE(q.try_push({0, 0, 4, 0}));
    CHECK(q.try_push({0, 1, 1, 0}));  // the shared ring has room
    titem out{};
    for (std::uint64_t i = 0; i < 4; ++i) {
        REQUIRE(q.try_pop(out));
        CHECK(out.seq == i);
    }
    REQUIRE(q.try_pop(out));
    CHECK(out.control == 1);
    CHECK(q.try_push({0, 0, 4, 0}));
}

TEST_CASE("thread_rings: many producers and a control thread, every ordering rule holds") {
    // 20 producers: 16 get a ring of their own, 4 go through the shared ring. Each point carries the
    // number of control items the producer knew were pushed; each control item carries how many points
    // one producer had pushed when the control thread last heard from it. The consumer checks that no
    // point comes before a control item it follows, that no control item comes before a point that
    // preceded it, per-producer order, and exact counts.
    constexpr int producers = 20;
    constexpr std::uint64_t per = 20000;
    thread_rings<titem, is_ctl> q(64);
    std::atomic<std::uint64_t> controls_pushed{0};
    std::vector<std::atomic<std::uint64_t>> points_pushed(producers);
    std::atomic<bool> done{false};
    std::vector<std::thread> ts;
    for (int p = 0; p < producers; ++p)
        ts.emplace_back([&, p] {
            for (std::uint64_t i = 0; i < per; ++i) {
                const titem it{static_cast<std::uint32_t>(p), 0, i, controls_pushed.load()};
                while (!q.try_push(it)) std::this_thread::yield();
                points_pushed[static_cast<std::size_t>(p)].store(i + 1);
            }
        });
    std::uint64_t controls_total = 0;
    std::thread control([&] {
        std::uint64_t k = 0;
        while (!done.load()) {
            const auto p = static_cast<std::uint32_t>(k % producers);
            const titem c{p, 1, k + 1, points_pushed[p].load()};
            if (!q.try_push(c)) {  // full: try again (the consumer may have stopped: then `done` ends this)
                std::this_thread::yield();
                continue;
            }
            ++k;
            controls_pushed.store(k);
            std::this_thread::yield();
        }
        controls_total = k;
    });
    std::vector<std::uint64_t> next(producers, 0);
    std::uint64_t controls_seen = 0, points_seen = 0;
    bool ok = true;
    titem out{};
    auto consume = [&] {
        while (q.try_pop(out)) {
            if (out.control) {
                ok = ok && out.seq == controls_seen + 1;          // control items in their order
                ok = ok && next[out.producer] >= out.known;       // after the points that preceded them
                ++controls_seen;
            } else {
                ok = ok && out.seq == next[out.producer];         // per-producer FIFO, nothing lost
                ok = ok && out.known <= controls_seen;            // after the control items before them
                next[out.producer] = out.seq + 1;
                ++points_seen;
            }
        }
    };
    while (points_seen < per * producers) {
        consume();
        std::this_thread::yield();
    }
    for (auto& t : ts) t.join();
    done = true;
    control.join();
    consume();
    CHECK(ok);
    CHECK(points_seen == per * producers);
    CHECK(controls_seen == controls_total);
    CHECK(q.rings() == decltype(q)::max_rings);
    CHECK(q.pushed() == per * producers + controls_total);
}

TEST_CASE("thread_rings in a tracker: points from many threads, keys interned on the fly, all before run end") {
    // 24 threads (more than max_rings) each intern fresh keys and log through them at once: a point must
    // never reach the writer before its metric's definition, and run end (from another thread, after
    // them) must follow all of them.
    mltrack::sinks::memory mem;
    mltrack::config cfg{"exp"};
    cfg.queue_capacity = 64;
    mltrack::tracker t{cfg, mem};
    auto r = t.start_run("r");
    constexpr int threads = 24, keys = 5, points = 400;
    std::vector<std::thread> ts;
    for (int k = 0; k < threads; ++k)
        ts.emplace_back([&, k] {
            for (int j = 0; j < keys; ++j) {
                auto m = r.metric("t" + std::to_string(k) + "/m" + std::to_string(j));
                for (int i = 0; i < points; ++i) m.log(i, i);
            }
        });
    for (auto& th : ts) th.join();
    std::thread ender([&] { r.end(); });
    ender.join();
    t.flush();
    const auto e = mem.entries();
    REQUIRE(!e.empty());
    CHECK(e.front().kind == mltrack::record_kind::run_start);
    CHECK(e.back().kind == mltrack::record_kind::run_end);
    CHECK(mem.count(mltrack::record_kind::metric) == std::size_t{threads} * keys * points);
    CHECK(t.stats().late == 0);
    for (int k = 0; k < threads; k += 7) {
        const auto s = mem.series("r", "t" + std::to_string(k) + "/m3");
        REQUIRE(s.size() == points);
        for (int i = 0; i < points; ++i) CHECK(s[static_cast<std::size_t>(i)].first == i);
    }
}
