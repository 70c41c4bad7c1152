// Histograms as a record kind: run.log_histogram validates and buckets on the caller's thread; the JSONL sink
// stores the buckets (read back with nlohmann and with read_run) and the TensorBoard sink writes them as the
// histograms plugin's tensor (read back with the independent decoder); replay gives the same record.
#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <filesystem>
#include <string>
#include <vector>

#include "support/tb_decoder.hpp"
#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

std::vector<tbdec::value> tb_values(const fs::path& run_dir, const std::string& tag, std::vector<std::int64_t>& steps) {
    std::vector<tbdec::value> out;
    for (const auto& entry : fs::directory_iterator(run_dir)) {
        if (entry.path().filename().string().rfind("events.out.tfevents.", 0) != 0) continue;
        const auto f = tbdec::decode_file(entry.path().string());
        CHECK(f.how == tbdec::stop::end);
        for (const auto& e : f.events)
            for (const auto& v : e.values)
                if (v.tag == tag) {
                    out.push_back(v);
                    steps.push_back(e.step);
                }
    }
    return out;
}

config inline_config(const char* experiment) {
    config c{experiment};
    c.dispatch = dispatch_mode::inline_;
    c.clock = +[]() noexcept -> std::int64_t {
        static std::int64_t t = 1700000000000000000;
        return t += 1000000;
    };
    return c;
}

}  // namespace

TEST_CASE("log_histogram: bucketed values and explicit buckets reach JSONL and TensorBoard") {
    unit::temp_dir dir;
    {
        tracker t{inline_config("exp"), sinks::jsonl{dir / "jsonl"}, sinks::tensorboard{dir / "tb"}};
        auto run = t.start_run("h");
        run.log_histogram("layer1/w", {1, 2, 2, 3, 3, 3}, 10, 3);
        run.log_histogram("layer1/w", std::vector<histogram_bucket>{{0, 1, 4}, {1, 2.5, 0.5}}, 11);
        run.log_histogram("empty", std::vector<double>{}, 12, 2);
        run.log_histogram("with-nan", {std::nan(""), 5.0, HUGE_VAL}, -3, 2);
    }
    // JSONL, read by nlohmann directly.
    const auto lines = unit::of_kind(unit::parse_jsonl(dir / "jsonl" / "exp" / "h" / "events.jsonl"), "histogram");
    REQUIRE(lines.size() == 4);
    CHECK(lines[0]["name"] == "layer1/w");
    CHECK(lines[0]["step"] == 10);
    REQUIRE(lines[0]["buckets"].size() == 3);
    CHECK(lines[0]["buckets"][0][0].get<double>() == 1.0);
    CHECK(lines[0]["buckets"][2][1].get<double>() == 3.0);
    CHECK(lines[0]["buckets"][2][2].get<double>() == 3.0);
    CHECK(lines[1]["buckets"] == nlohmann::json::parse("[[0,1,4],[1,2.5,0.5]]"));
    CHECK(lines[3]["step"] == -3);
    CHECK(lines[3]["buckets"][1][2].get<double>() == 1.0);  // NaN and infinity left out: one value, 5.0

    // The reader folds them per key.
    const auto r = read_run(dir / "jsonl" / "exp" / "h");
    REQUIRE(r.histograms.at("layer1/w").size() == 2);
    CHECK(r.histograms.at("layer1/w")[0].step == 10);
    CHECK(r.histograms.at("layer1/w")[1].buckets[1].right == 2.5);
    CHECK(r.histograms.at("empty")[0].buckets.size() == 2);

    // TensorBoard, read by the independent decoder.
    std::vector<std::int64_t> steps;
    const auto tb = tb_values(dir / "tb" / "exp" / "h", "layer1/w", steps);
    REQUIRE(tb.size() == 2);
    CHECK(steps == std::vector<std::int64_t>{10, 11});
    CHECK(tb[0].plugin == "histograms");
    CHECK(tb[0].t.shape == std::vector<std::int64_t>{3, 3});
    CHECK(tb[1].t.numbers() == std::vector<double>{0, 1, 4, 1, 2.5, 0.5});

    // Replay of the JSONL run gives the same histogram records.
    sinks::memory mem;
    replay(r, mem);
    CHECK(mem.count(record_kind::histogram) == 4);
}

TEST_CASE("log_histogram: bad keys and buckets are refused with their error ids") {
    sinks::memory mem;
    tracker t{inline_config("exp"), mem};
    auto run = t.start_run("bad");
    CHECK_ERROR_ID("name.1", run.log_histogram("", std::vector<double>{1.0}, 0));
    CHECK_ERROR_ID("value.5", run.log_histogram("h", std::vector<histogram_bucket>{{2, 1, 1}}, 0));
    CHECK_ERROR_ID("value.5", run.log_histogram("h", std::vector<histogram_bucket>{{0, 1, -1}}, 0));
    CHECK_ERROR_ID("value.5", run.log_histogram("h", std::vector<histogram_bucket>{{0, HUGE_VAL, 1}}, 0));
    CHECK(mem.count(record_kind::histogram) == 0);
}

TEST_CASE("log_histogram: values up to ±DBL_MAX bucket into valid buckets; a huge bucket_count is value.11") {
    unit::temp_dir dir;
    tracker t{unit::inline_config("exp"), sinks::jsonl{dir.path()}};
    auto r = t.start_run("r");
    const double m = std::numeric_limits<double>::max();
    for (const std::vector<double>& v : {std::vector<double>{-m, m}, std::vector<double>{-m, 0.0, 1.0, m},
                                         std::vector<double>{m / 2, m}, std::vector<double>{-m, -m / 3}}) {
        const auto b = tensorboard_histogram(v, 30);
        double total = 0;
        for (std::size_t i = 0; i < b.size(); ++i) {
            CAPTURE(i);
            CHECK(std::isfinite(b[i].left));
            CHECK(std::isfinite(b[i].right));
            CHECK(b[i].left <= b[i].right);
            if (i) CHECK(b[i].left == b[i - 1].right);
            total += b[i].count;
        }
        CHECK(total == static_cast<double>(v.size()));
        CHECK(b.front().left == *std::min_element(v.begin(), v.end()));
        CHECK(b.back().right == *std::max_element(v.begin(), v.end()));
        CHECK_NOTHROW(r.log_histogram("w", v, 1));
    }
    // {-m, 0, 1, m}: 0 and 1 fall in the middle bucket, not the last
    const auto mid = tensorboard_histogram(std::vector<double>{-m, 0.0, 1.0, m}, 30);
    CHECK(mid[14].count + mid[15].count == 2);
    CHECK(mid.back().count == 1);
    CHECK(mid.front().count == 1);
    CHECK_ERROR_ID("value.11", r.log_histogram("w", std::vector<double>{1, 2}, 2, std::size_t{1'000'000'000'000}));
    CHECK_ERROR_ID("value.11", tensorboard_histogram(std::vector<double>{1, 2}, max_histogram_buckets + 1));
    CHECK(tensorboard_histogram(std::vector<double>{1, 2}, max_histogram_buckets).size() == max_histogram_buckets);
    r.end();
    CHECK(read_run(dir.path() / "exp" / "r").histograms.at("w").size() == 4);
}
