// summary.hpp (the streaming reader behind `mltrack ls`, `show`, `export` and `report`) against read_run():
// the same params, summary, state and times, series statistics equal to the statistics of read_run()'s
// points, the same points in the same order through the callback, the same problems and torn tails, the
// same errors in strict mode. Lines are chosen to exercise both the fast path (the sink's own metrics
// lines) and every reason to leave it (escapes, spaces, repeated keys, huge numbers, floats as steps...).
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>
#include <mltrack/summary.hpp>

#include "cli/cli_dataset.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;

const char* const head =
    R"({"kind":"run_start","time":1700000000.000001,"format":"mltrack.jsonl","format_version":1,"experiment":"e","run":"r"})"
    "\n";

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b)); }

/// Checks that scan_run and read_run agree on the file, in lenient mode, and in strict mode on the error.
void check_agree(const fs::path& file) {
    CAPTURE(unit::read_file(file));
    for (bool strict : {false, true}) {
        CAPTURE(strict);
        mltrack::read_options o;
        o.strict = strict;
        std::string err_full, err_sum;
        mltrack::run_data full;
        mltrack::run_summary sum;
        std::vector<std::tuple<std::string, std::int64_t, std::int64_t, double>> points;
        try {
            full = mltrack::read_run(file, o);
        } catch (const std::exception& e) {
            err_full = e.what();
        }
        try {
            sum = mltrack::scan_run(file, o, [&](std::string_view k, std::int64_t s, std::int64_t t, double v) {
                points.emplace_back(std::string(k), s, t, v);
            });
        } catch (const std::exception& e) {
            err_sum = e.what();
        }
        // The messages name the same file, line and problem (nlohmann's parse position may differ).
        CHECK(err_full.substr(0, err_full.find(" at line ")) == err_sum.substr(0, err_sum.find(" at line ")));
        if (!err_full.empty() || !err_sum.empty()) continue;
        const auto& r = sum.run;
        CHECK(r.experiment == full.experiment);
        CHECK(r.name == full.name);
        CHECK(r.state == full.state);
        CHECK(r.start_time_ns == full.start_time_ns);
        CHECK(r.end_time_ns == full.end_time_ns);
        CHECK(r.resumes == full.resumes);
        CHECK(r.metadata == full.metadata);
        CHECK(r.params == full.params);
        REQUIRE(r.summary.size() == full.summary.size());
        for (const auto& kv : full.summary) CHECK(same(r.summary.at(kv.first), kv.second));
        CHECK(r.artifacts.size() == full.artifacts.size());
        CHECK(r.executions.size() == full.executions.size());
        CHECK(r.classifications.size() == full.classifications.size());
        REQUIRE(r.problems.size() == full.problems.size());
        for (std::size_t i = 0; i < r.problems.size(); ++i) {
            CHECK(r.problems[i].line == full.problems[i].line);
            CHECK(r.problems[i].message.substr(0, 40) == full.problems[i].message.substr(0, 40));
        }
        CHECK(r.torn_tail.has_value() == full.torn_tail.has_value());
        if (r.torn_tail && full.torn_tail) CHECK(r.torn_tail->line == full.torn_tail->line);
        CHECK(sum.lines - r.problems.size() - (r.torn_tail ? 1 : 0) == full.records.size());

        // Series: statistics from read_run's points; the callback's points per key in the same order.
        REQUIRE(sum.series.size() == full.series.size());
        std::size_t total = 0;
        for (const auto& kv : full.series) {
            CAPTURE(kv.first);
            const auto& st = sum.series.at(kv.first);
            REQUIRE(st.count == kv.second.size());
            total += st.count;
            CHECK(st.first_step == kv.second.front().step);
            CHECK(st.last_step == kv.second.back().step);
            CHECK(st.first_time_ns == kv.second.front().time_ns);
            CHECK(st.last_time_ns == kv.second.back().time_ns);
            CHECK(same(st.first, kv.second.front().value));
            CHECK(same(st.last, kv.second.back().value));
            double lo = std::nan(""), hi = std::nan("");
            for (const auto& p : kv.second)
                if (!std::isnan(p.value)) {
                    if (std::isnan(lo) || p.value < lo) lo = p.value;
                    if (std::isnan(hi) || p.value > hi) hi = p.value;
                }
            CHECK(same(st.min, lo));
            CHECK(same(st.max, hi));
            std::size_t k = 0;
            for (const auto& p : points) {
                if (std::get<0>(p) != kv.first) continue;
                REQUIRE(k < kv.second.size());
                CHECK(std::get<1>(p) == kv.second[k].step);
                CHECK(std::get<2>(p) == kv.second[k].time_ns);
                CHECK(same(std::get<3>(p), kv.second[k].value));
                ++k;
            }
            CHECK(k == kv.second.size());
        }
        CHECK(points.size() == total);
        CHECK(sum.points == total);
    }
}

}  // namespace

TEST_CASE("summary: the CLI data set reads the same as read_run") {
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    for (const auto* run : {"exp/baseline", "exp/high-lr", "exp/wide", "other/r1"}) {
        CAPTURE(run);
        check_agree(d / "root" / run / "events.jsonl");
    }
}

TEST_CASE("summary: lines off the fast path agree with read_run") {
    const std::vector<std::string> lines = {
        R"({"kind":"metrics","time":1700000000.5,"step":1,"values":{"a":1,"b":-0.0,"c":1e-320}})",
        R"({"kind":"metrics","time":1700000000.5,"step":2,"values":{"a":"NaN","b":"Infinity","c":"-Infinity"}})",
        R"({"kind":"metrics","time":1700000000.5,"step":3,"values":{"a\/b":1,"a\"q":2,"\u00e9":3}})",
        R"({"kind":"metrics","time":1700000000.5,"step":4,"values":{"a":1,"a":2}})",
        R"({"kind":"metrics", "time":1700000000.5,"step":5,"values":{"a":5}})",
        R"({"kind":"metrics","time":1700000000.5,"step":6,"values":{"a":6}} )",
        "{\"kind\":\"metrics\",\"time\":1700000000.5,\"step\":7,\"values\":{\"a\":7}}\r",
        R"({"kind":"metrics","time":1700000000.5,"step":8.0,"values":{"a":8}})",
        R"({"kind":"metrics","time":1700000000.5,"step":9,"values":{"a":1e400}})",
        R"({"kind":"metrics","time":1700000000.5,"step":10,"values":{"a":18446744073709551617}})",
        R"({"kind":"metrics","time":1700000000.5,"step":-9223372036854775808,"values":{"a":12345678901234567890}})",
        R"({"kind":"metrics","time":1700000000.5,"step":9223372036854775808,"values":{"a":1}})",
        R"({"kind":"metrics","time":1700000000.5,"step":12,"values":{"a":01}})",
        R"({"kind":"metrics","time":1700000000.5,"step":013,"values":{"a":1}})",
        R"({"kind":"metrics","time":1700000000.5,"step":14,"values":{"a":"nan"}})",
        R"({"kind":"metrics","time":1700000000.5,"step":15,"values":{}})",
        R"({"kind":"metrics","time":1700000000.5,"step":16,"values":{"a":1.5e+3,"b":2E-2,"c":-7}})",
        R"({"kind":"metrics","time":-1.25,"step":17,"values":{"a":1}})",
        R"({"kind":"metrics","time":1700000000.5,"step":18,"values":{"a":1}}})",
        R"({"kind":"metrics","time":1700000000.5,"step":19,"values":{"":1}})",
        R"({"kind":"metrics","time":1700000000.5,"step":20,"values":{"a":.5}})",
        R"({"kind":"metrics","time":1700000000.5,"step":21,"values":{"a":1.}})",
        "{\"kind\":\"metrics\",\"time\":1700000000.5,\"step\":22,\"values\":{\"\xff\":1}}",
        "{\"kind\":\"metrics\",\"time\":1700000000.5,\"step\":23,\"values\":{\"caf\xc3\xa9\":1}}",
        R"({"kind":"metrics","time":1700000000.5,"values":{"a":1}})",
        R"({"kind":"metricz","time":1700000000.5,"step":25,"values":{"a":1}})",
        R"({"kind":"params","time":1700000000.5,"values":{"lr":0.1,"n":3,"s":"x","b":true}})",
        R"({"kind":"summary","time":1700000000.5,"values":{"acc":0.9,"x":"NaN"}})",
        R"({"kind":"run_end","time":1700000001,"state":"FAILED"})",
        R"({"kind":"run_resume","time":1700000002,"discarded_bytes":0})",
        R"({"kind":"metrics","time":1700000003,"step":26,"values":{"a":26}})",
        "",
        "garbage",
    };
    unit::temp_dir d;
    // Each line alone after the head (strict mode then fails on the bad ones, with the same error).
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CAPTURE(i);
        const auto f = d / ("one" + std::to_string(i) + ".jsonl");
        unit::write_file(f, std::string(head) + lines[i] + "\n");
        check_agree(f);
        // The same line as a torn tail (no newline).
        unit::write_file(f, std::string(head) + lines[i]);
        check_agree(f);
    }
    // All of them in one file, and shuffled.
    std::string all = head;
    for (const auto& l : lines) all += l + "\n";
    unit::write_file(d / "all.jsonl", all);
    check_agree(d / "all.jsonl");
    std::mt19937 rng(7);
    for (int round = 0; round < 20; ++round) {
        auto shuffled = lines;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        std::string text = head;
        for (const auto& l : shuffled) text += l + "\n";
        if (round % 2) text.pop_back();
        unit::write_file(d / "shuffled.jsonl", text);
        check_agree(d / "shuffled.jsonl");
    }
}

TEST_CASE("summary: first-line errors, empty files, long lines and block boundaries") {
    unit::temp_dir d;
    unit::write_file(d / "empty.jsonl", "");
    check_agree(d / "empty.jsonl");
    unit::write_file(d / "nostart.jsonl", "{\"kind\":\"metrics\",\"time\":1,\"step\":1,\"values\":{}}\n");
    check_agree(d / "nostart.jsonl");
    unit::write_file(d / "v9.jsonl",
                     R"({"kind":"run_start","time":1,"format":"mltrack.jsonl","format_version":9,"experiment":"e","run":"r"})"
                     "\n");
    check_agree(d / "v9.jsonl");

    // Lines that straddle the 1 MiB read blocks, and a line over max_line_bytes.
    std::string text = head;
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> len(1, 300);
    for (int step = 0; text.size() < (3u << 20); ++step) {
        const std::string key = "k" + std::string(static_cast<std::size_t>(len(rng)), 'x');
        text += R"({"kind":"metrics","time":1700000000.)" + std::to_string(100000 + step) + R"(,"step":)" +
                std::to_string(step) + R"(,"values":{")" + key + R"(":)" + std::to_string(step * 0.5) + "}}\n";
    }
    unit::write_file(d / "big.jsonl", text);
    check_agree(d / "big.jsonl");

    mltrack::read_options o;
    o.strict = false;
    o.max_line_bytes = 200;
    const auto s = mltrack::read_summary(d / "big.jsonl", o);
    const auto r = mltrack::read_run(d / "big.jsonl", o);
    CHECK(s.run.problems.size() == r.problems.size());
    CHECK(s.points == s.lines - 1 - s.run.problems.size());
}

TEST_CASE("summary: a run written through the tracker, resumed after a crash") {
    unit::temp_dir d;
    {
        mltrack::tracker t{cli_dataset::make_config("e"), mltrack::sinks::jsonl(d.path())};
        auto run = t.start_run("r");
        for (int i = 0; i < 1000; ++i) run.log_time_series({{"a", i * 0.1}, {"b", std::sqrt(i)}}, i);
        t.close();
    }
    unit::append_file(d / "e" / "r" / "events.jsonl", R"({"kind":"metrics","ti)");  // a crash mid-line
    check_agree(d / "e" / "r" / "events.jsonl");
    {
        mltrack::tracker t{cli_dataset::make_config("e"), mltrack::sinks::jsonl(d.path())};
        auto run = t.start_run("r", mltrack::start_mode::resume);
        run.log("a", -1.0, 1000);
        run.end(mltrack::run_state::failed);
    }
    check_agree(d / "e" / "r" / "events.jsonl");
    const auto s = mltrack::read_summary(d / "e" / "r");
    CHECK(s.run.resumes == 1);
    CHECK(s.run.state == mltrack::run_state::failed);
    CHECK(s.series.at("a").count == 1001);
    CHECK(s.series.at("a").min == -1.0);
    CHECK(s.series.at("b").max == std::sqrt(999));
}
