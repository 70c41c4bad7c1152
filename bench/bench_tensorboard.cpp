// Throughput of the TensorBoard sink: metric points per second written to event files and bytes per point,
// measured in one process against two baselines: the JSONL sink given the same events, and a naive
// TensorBoard writer that builds each event the straightforward way (a std::vector per message, a
// byte-at-a-time CRC32C, four fwrite calls per record, as small C++ loggers do; one Event per point, so its
// bytes per point are not like for like with the sink's, which puts the points of one step in one Event).
// Also CRC32C speed, software against the CPU's instruction, and the end-to-end rate through a threaded
// tracker. Best of --repeat runs.
// Prints a table and ratios; a final machine-readable line.
//
//   bench_tensorboard [--points N] [--repeat R] [--dir DIR]
#include <mltrack/mltrack.hpp>
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/detail/tensorboard/crc32c.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

constexpr std::int64_t t0 = 1'764'384'000'000'000'000;
const char* const names[] = {"train/loss", "train/accuracy", "train/learning_rate", "val/loss"};

double seconds_since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

std::uint64_t bytes_under(const fs::path& dir) {
    std::uint64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) n += e.file_size();
    return n;
}

/// The same stream for every writer: one run, four metrics, one point per metric per step, 1 us apart.
struct stream {
    mltrack::run_info info;
    std::vector<std::unique_ptr<mltrack::metric_info>> metrics;
    std::vector<mltrack::event> events;

    explicit stream(std::int64_t points) {
        info.id = 1;
        info.experiment = "bench";
        info.name = "tb";
        info.start_time_ns = t0;
        for (std::uint32_t i = 0; i < 4; ++i)
            metrics.push_back(std::make_unique<mltrack::metric_info>(mltrack::metric_info{i, names[i]}));
        events.reserve(static_cast<std::size_t>(points) + 1);
        mltrack::event open;
        open.kind = mltrack::record_kind::run_start;
        open.run = &info;
        open.time_ns = t0;
        events.push_back(open);
        for (std::int64_t i = 0; i < points; ++i) {
            mltrack::event e;
            e.kind = mltrack::record_kind::metric;
            e.run = &info;
            e.metric = metrics[static_cast<std::size_t>(i % 4)].get();
            e.step = i / 4;
            e.value = 1.0 / static_cast<double>(i + 1);
            e.time_ns = t0 + i * 1000;
            events.push_back(e);
        }
    }
};

struct result {
    double seconds = 1e300;
    std::uint64_t bytes = 0;
};

template <class Sink>
result run_sink(const stream& s, const fs::path& dir, Sink sink) {
    result r;
    const auto t = clk::now();
    sink.write(mltrack::batch(s.events.data(), 1));
    for (std::size_t i = 1; i < s.events.size(); i += 4096) {
        const std::size_t n = std::min<std::size_t>(4096, s.events.size() - i);
        sink.write(mltrack::batch(s.events.data() + i, n));
    }
    sink.flush();
    sink.close();
    r.seconds = seconds_since(t);
    r.bytes = bytes_under(dir);
    return r;
}

// ------------------------------------------------------------------ the naive baseline

std::uint32_t naive_crc32c(const std::vector<std::uint8_t>& d, std::size_t from, std::size_t n) {
    static std::uint32_t table[256];
    static bool ready = false;
    if (!ready) {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = from; i < from + n; ++i) c = table[(c ^ d[i]) & 0xff] ^ (c >> 8);
    c ^= 0xFFFFFFFFu;
    return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

void put_varint(std::vector<std::uint8_t>& v, std::uint64_t x) {
    while (x >= 0x80) {
        v.push_back(static_cast<std::uint8_t>(x | 0x80));
        x >>= 7;
    }
    v.push_back(static_cast<std::uint8_t>(x));
}

void put_bytes(std::vector<std::uint8_t>& v, int field, const std::vector<std::uint8_t>& b) {
    put_varint(v, static_cast<std::uint64_t>(field << 3 | 2));
    put_varint(v, b.size());
    v.insert(v.end(), b.begin(), b.end());
}

template <class T>
void put_raw(std::vector<std::uint8_t>& v, T x) {
    std::uint8_t b[sizeof(T)];
    std::memcpy(b, &x, sizeof(T));
    v.insert(v.end(), b, b + sizeof(T));
}

result run_naive(const stream& s, const fs::path& dir) {
    result r;
    const auto t = clk::now();
    fs::create_directories(dir);
    std::FILE* f = std::fopen((dir / "events.out.tfevents.naive").c_str(), "wb");
    if (!f) {
        std::perror("naive");
        std::exit(1);
    }
    for (std::size_t i = 1; i < s.events.size(); ++i) {
        const mltrack::event& e = s.events[i];
        std::vector<std::uint8_t> value, summary, event;
        const std::string& tag = e.metric->name;
        put_bytes(value, 1, std::vector<std::uint8_t>(tag.begin(), tag.end()));
        value.push_back(0x15);
        put_raw(value, static_cast<float>(e.value));
        put_bytes(summary, 1, value);
        event.push_back(0x09);
        put_raw(event, static_cast<double>(e.time_ns) / 1e9);
        event.push_back(0x10);
        put_varint(event, static_cast<std::uint64_t>(e.step));
        put_bytes(event, 5, summary);
        std::vector<std::uint8_t> header;
        put_raw(header, static_cast<std::uint64_t>(event.size()));
        const std::uint32_t len_crc = naive_crc32c(header, 0, 8), data_crc = naive_crc32c(event, 0, event.size());
        std::fwrite(header.data(), 1, 8, f);
        std::fwrite(&len_crc, 4, 1, f);
        std::fwrite(event.data(), 1, event.size(), f);
        std::fwrite(&data_crc, 4, 1, f);
    }
    std::fclose(f);
    r.seconds = seconds_since(t);
    r.bytes = bytes_under(dir);
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t points = 2'000'000;
    int repeat = 3;
    fs::path dir = fs::temp_directory_path() / ("mltrack-bench-tb-" + std::to_string(::getpid()));
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--points") points = std::atoll(argv[i + 1]);
        else if (a == "--repeat") repeat = std::atoi(argv[i + 1]);
        else if (a == "--dir") dir = argv[i + 1];
    }
    const stream s(points);
    result tb, jsonl, naive;
    for (int k = 0; k < repeat; ++k) {
        fs::remove_all(dir);
        auto x = run_sink(s, dir / "tb", mltrack::sinks::tensorboard{dir / "tb"});
        if (x.seconds < tb.seconds) tb = x;
        x = run_sink(s, dir / "jsonl", mltrack::sinks::jsonl{dir / "jsonl"});
        if (x.seconds < jsonl.seconds) jsonl = x;
        x = run_naive(s, dir / "naive");
        if (x.seconds < naive.seconds) naive = x;
    }

    // End to end: a threaded tracker, the caller logging through interned handles.
    double tracker_rate = 0;
    {
        fs::remove_all(dir / "tracker");
        mltrack::config cfg{"bench"};
        cfg.queue_capacity = 1u << 20;
        const auto t = clk::now();
        {
            mltrack::tracker tracker{cfg, mltrack::sinks::tensorboard{dir / "tracker"}};
            auto run = tracker.start_run("tb");
            mltrack::metric_handle h[4];
            for (int i = 0; i < 4; ++i) h[i] = run.metric(names[i]);
            for (std::int64_t i = 0; i < points; ++i) h[i % 4].log(1.0 / static_cast<double>(i + 1), i / 4);
        }  // run end, tracker close: everything written
        tracker_rate = static_cast<double>(points) / seconds_since(t);
    }

    // CRC32C over 1 MiB.
    std::vector<unsigned char> big(1 << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<unsigned char>(i * 131);
    auto crc_rate = [&](bool software) {
        double best = 1e300;
        std::uint32_t sink = 0;
        for (int k = 0; k < 20; ++k) {
            const auto t = clk::now();
            sink ^= software ? mltrack::detail::crc32c_update_software(0xFFFFFFFFu, big.data(), big.size())
                             : mltrack::detail::crc32c_update(0xFFFFFFFFu, big.data(), big.size());
            best = std::min(best, seconds_since(t));
        }
        if (sink == 0x12345678u) std::printf(" ");
        return static_cast<double>(big.size()) / best / 1e9;
    };
    const double crc_sw = crc_rate(true), crc_any = crc_rate(false);
    fs::remove_all(dir);

    const double n = static_cast<double>(points);
    auto row = [&](const char* what, const result& r) {
        std::printf("%-44s %8.2f M points/s %8.1f bytes/point\n", what, n / r.seconds / 1e6,
                    static_cast<double>(r.bytes) / n);
    };
    std::printf("%lld metric points, best of %d\n", static_cast<long long>(points), repeat);
    row("tensorboard sink (event files)", tb);
    row("jsonl sink", jsonl);
    row("naive event writer (vectors, 4 fwrites/record)", naive);
    std::printf("%-44s %8.2f M points/s (caller to file, threaded)\n", "tracker + tensorboard sink", tracker_rate / 1e6);
    std::printf("ratios: tensorboard/jsonl speed %.2fx, tensorboard/naive speed %.2fx, "
                "bytes tensorboard/jsonl %.2f\n",
                jsonl.seconds / tb.seconds, naive.seconds / tb.seconds,
                static_cast<double>(tb.bytes) / static_cast<double>(jsonl.bytes));
    std::printf("crc32c over 1 MiB: software %.2f GB/s, %s %.2f GB/s (%.1fx)\n", crc_sw,
                mltrack::detail::crc32c_implementation(), crc_any, crc_any / crc_sw);
    std::printf("RESULT tb_mpps=%.3f jsonl_mpps=%.3f naive_mpps=%.3f tb_bytes=%.2f jsonl_bytes=%.2f naive_bytes=%.2f "
                "tracker_mpps=%.3f crc_sw_gbps=%.2f crc_gbps=%.2f\n",
                n / tb.seconds / 1e6, n / jsonl.seconds / 1e6, n / naive.seconds / 1e6,
                static_cast<double>(tb.bytes) / n, static_cast<double>(jsonl.bytes) / n,
                static_cast<double>(naive.bytes) / n, tracker_rate / 1e6, crc_sw, crc_any);
    return 0;
}
