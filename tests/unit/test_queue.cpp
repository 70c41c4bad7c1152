// detail/queue.hpp: the bounded MPSC ring of the hot path.
#include <mltrack/detail/queue.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "unit_support.hpp"

using mltrack::detail::mpsc_ring;

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
