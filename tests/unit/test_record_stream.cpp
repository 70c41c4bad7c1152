// record_stream.hpp: stream_run hands out every record once, in file order, with the state folded so far;
// it shares every line rule with read_run() and scan_run() (the fast metrics path included), and refuses
// what the writer never produces.
#include <mltrack/reader.hpp>
#include <mltrack/record_stream.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/summary.hpp>
#include <mltrack/tracker.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

const std::string start_line =
    R"({"kind":"run_start","time":1764384000.000000,"format":"mltrack.jsonl","format_version":1,"experiment":"exp","run":"r"})"
    "\n";

fs::path make_run(const unit::temp_dir& dir, const std::string& text) {
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    unit::write_file(file, text);
    return file;
}

read_options lenient() {
    read_options o;
    o.strict = false;
    return o;
}

/// What each reader makes of one line after the run_start: "" when accepted, else the message's id or text.
struct verdicts {
    std::string stream, read, scan;
    std::size_t points_read = 0, points_scan = 0;
};

verdicts judge(const unit::temp_dir& dir, const std::string& line) {
    const auto file = make_run(dir, start_line + line + "\n");
    verdicts v;
    auto text = [](const run_data& r) { return r.problems.empty() ? std::string() : r.problems.front().message; };
    v.stream = text(stream_run(file, lenient(), [](const record&, const run_data&, std::size_t) {}));
    const auto rr = read_run(file, lenient());
    v.read = text(rr);
    for (const auto& kv : rr.series) v.points_read += kv.second.size();
    const auto s = scan_run(file, lenient(), [](std::string_view, std::int64_t, std::int64_t, double) {});
    v.scan = text(s.run);
    v.points_scan = s.points;
    return v;
}

}  // namespace

TEST_CASE("stream_run visits each record once, in file order, with its line and the state so far") {
    unit::temp_dir dir;
    const auto file = make_run(
        dir, start_line + R"({"kind":"params","time":1764384000.1,"values":{"lr":0.1}})" "\n" +
                 R"({"kind":"metrics","time":1764384000.2,"step":1,"values":{"loss":0.5,"acc":0.25}})" "\n" +
                 R"({"kind":"oddity","time":1764384000.3})" "\n" +
                 R"({"kind":"metrics","time":1764384000.4,"step":2,"values":{"loss":0.25}})" "\n" +
                 R"({"kind":"run_end","time":1764384001,"state":"COMPLETE"})" "\n");
    std::vector<std::size_t> lines;
    std::vector<record_kind> kinds;
    std::vector<std::size_t> params_seen;
    std::vector<std::string> keys;
    const auto run = stream_run(file, {}, [&](const record& r, const run_data& state, std::size_t line) {
        lines.push_back(line);
        kinds.push_back(r.kind);
        params_seen.push_back(state.params.size());
        if (r.kind == record_kind::metric)
            for (const auto& kv : r.get_values()) keys.push_back(kv.first + "@" + std::to_string(r.step));
    });
    CHECK(lines == std::vector<std::size_t>{1, 2, 3, 5, 6});  // line 4 (unknown kind) is no record
    CHECK(kinds == std::vector<record_kind>{record_kind::run_start, record_kind::params, record_kind::metric,
                                            record_kind::metric, record_kind::run_end});
    CHECK(params_seen == std::vector<std::size_t>{0, 1, 1, 1, 1});
    CHECK(keys == std::vector<std::string>{"loss@1", "acc@1", "loss@2"});
    // The folded state comes back; nothing that grows with the run's length is kept.
    CHECK(run.state == run_state::complete);
    CHECK(run.params.at("lr").as_double() == 0.1);
    CHECK(run.lines == 6);
    CHECK(run.problems.size() == 1);
    CHECK(run.records.empty());
    CHECK(run.series.empty());
    // read_run holds the same records, built on the stream.
    const auto full = read_run(file);
    REQUIRE(full.records.size() == 5);
    CHECK(full.series.at("loss").size() == 2);
}

TEST_CASE("stream_run reports progress per block; errors name file and line") {
    unit::temp_dir dir;
    std::string text = start_line;
    for (int s = 0; s < 40000; ++s)
        text += "{\"kind\":\"metrics\",\"time\":1764384001.000000,\"step\":" + std::to_string(s) +
                ",\"values\":{\"loss\":0.5}}\n";
    const auto file = make_run(dir, text);
    read_options o;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    o.progress = [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); };
    std::size_t records = 0;
    stream_run(file, o, [&](const record&, const run_data&, std::size_t) { ++records; });
    CHECK(records == 40001);
    REQUIRE(calls.size() >= 2);  // about 2.4 MB in 1 MiB blocks
    CHECK(calls.back().first == text.size());
    CHECK(calls.back().second == text.size());
    // strict: the first bad line throws format.1 with file:line
    unit::append_file(file, "{\"kind\":\"metrics\",\"time\":1,\"step\":\"x\",\"values\":{}}\n");
    const auto what = unit::error_of([&] { stream_run(file, {}, [](const record&, const run_data&, std::size_t) {}); });
    CHECK(unit::has_id(what, "format.1"));
    CHECK(what.find(file.string() + ":40002:") != std::string::npos);
}

TEST_CASE("times at the int64 extremes round-trip through the writer and every reader") {
    unit::temp_dir dir;
    const std::int64_t lo = std::numeric_limits<std::int64_t>::min();
    const std::int64_t hi = std::numeric_limits<std::int64_t>::max();
    {
        tracker t{unit::inline_config("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto m = r.metric("x");
        m.log(1.0, 1, lo);
        m.log(2.0, 2, hi);
        m.log(3.0, 3, 0);
    }
    const auto run = read_run(dir.path() / "exp" / "r");  // strict: it must read
    const auto& x = run.series.at("x");
    REQUIRE(x.size() == 3);
    // A double holds about 16 digits: 292 years from 1970 a time is exact to about 2 microseconds.
    CHECK(x[0].time_ns == lo);
    CHECK(x[1].time_ns <= hi);
    CHECK(hi - x[1].time_ns < 4000);
    std::vector<std::int64_t> scanned;
    scan_run(dir.path() / "exp" / "r", {}, [&](std::string_view, std::int64_t, std::int64_t t, double) {
        scanned.push_back(t);
    });
    CHECK(scanned == std::vector<std::int64_t>{x[0].time_ns, x[1].time_ns, x[2].time_ns});
}

TEST_CASE("every reader refuses the same hostile metrics lines, with the same message") {
    unit::temp_dir dir;
    const std::vector<std::string> bad = {
        // a time beyond any int64 instant (the fast path used to overflow here)
        R"({"kind":"metrics","time":1e300,"step":1,"values":{"x":1}})",
        R"({"kind":"metrics","time":-9.3e12,"step":1,"values":{"x":1}})",
        // a step beyond int64
        R"({"kind":"metrics","time":1,"step":9223372036854775808,"values":{"x":1}})",
        R"({"kind":"metrics","time":1,"step":18446744073709551615,"values":{"x":1}})",
        // keys the writer refuses: control characters, too long
        "{\"kind\":\"metrics\",\"time\":1,\"step\":1,\"values\":{\"a\\u0007b\":1}}",
        "{\"kind\":\"metrics\",\"time\":1,\"step\":1,\"values\":{\"" + std::string(257, 'k') + "\":1}}",
        "{\"kind\":\"summary\",\"time\":1,\"values\":{\"a\\u001bb\":1}}",
        "{\"kind\":\"params\",\"time\":1,\"values\":{\"\\n\":1}}",
        // histogram buckets the writer refuses
        R"({"kind":"histogram","time":1,"step":1,"name":"h","buckets":[[2,1,3]]})",
        R"({"kind":"histogram","time":1,"step":1,"name":"h","buckets":[[0,1,-1]]})",
        R"({"kind":"histogram","time":1,"step":1,"name":"h","buckets":[[0,"Infinity",1]]})",
        // classification shapes the writer refuses (sync used to overflow a buffer on these)
        R"({"kind":"classification","time":1,"labels":["a","b"],"matrix":[[1,2],[3]]})",
        R"({"kind":"classification","time":1,"labels":["a","b"],"matrix":[[1,2]]})",
        R"({"kind":"classification","time":1,"fpr":[0,1],"tpr":[0],"thresholds":[1,0]})",
        R"({"kind":"classification","time":1,"labels":["a"],"matrix":[[-1]]})",
    };
    for (const auto& line : bad) {
        CAPTURE(line);
        const auto v = judge(dir, line);
        CHECK_FALSE(v.stream.empty());
        CHECK(v.stream == v.read);
        CHECK(v.stream == v.scan);
        CHECK(v.points_read == 0);
        CHECK(v.points_scan == 0);
    }
    // Good lines the fast path takes or leaves: both agree on the points.
    for (const std::string line : {R"({"kind":"metrics","time":1764384000.5,"step":-3,"values":{"x":1,"y":"NaN"}})",
                                   R"({"kind":"metrics","time":1764384000.5,"step":9223372036854775807,"values":{"x":1}})",
                                   R"({"kind":"metrics","step":1,"time":1,"values":{"x":1}})"}) {
        CAPTURE(line);
        const auto v = judge(dir, line);
        CHECK(v.stream.empty());
        CHECK(v.read.empty());
        CHECK(v.points_read == v.points_scan);
        CHECK(v.points_read >= 1);
    }
}

TEST_CASE("a metrics line with 200,000 keys reads in linear time, and a repeated key is found") {
    unit::temp_dir dir;
    std::string line = R"({"kind":"metrics","time":1764384000.5,"step":1,"values":{)";
    for (int i = 0; i < 200000; ++i) line += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
    line += "}}";
    const auto file = make_run(dir, start_line + line + "\n");
    const auto s = scan_run(file, {}, [](std::string_view, std::int64_t, std::int64_t, double) {});
    CHECK(s.points == 200000);
    CHECK(s.series.size() == 200000);
    // The same line with its first key repeated at the end: the general path decides (last value wins).
    line.insert(line.size() - 2, ",\"k0\":7");
    make_run(dir, start_line + line + "\n");
    const auto r = read_run(file);
    CHECK(r.series.at("k0").back().value == 7);
    const auto s2 = scan_run(file, {}, [](std::string_view, std::int64_t, std::int64_t, double) {});
    CHECK(s2.series.at("k0").last == 7);
    CHECK(s2.points == 200000);
}

TEST_CASE("the fast path reads numbers as the general parse does: -0 is an integer zero, -0.0 keeps its sign") {
    unit::temp_dir dir;
    const auto file = make_run(dir, start_line + R"({"kind":"metrics","time":1,"step":1,"values":{"z":-0,"w":-0.0,"e":-0e0}})" "\n");
    std::vector<double> got;
    stream_run(file, {}, [&](const record& r, const run_data&, std::size_t) {
        if (r.kind == record_kind::metric)
            for (const auto& kv : r.get_values()) got.push_back(kv.second);
    });
    const auto j = nlohmann::json::parse(R"({"z":-0,"w":-0.0,"e":-0e0})");
    REQUIRE(got.size() == 3);
    CHECK(std::signbit(got[0]) == std::signbit(j["z"].get<double>()));
    CHECK_FALSE(std::signbit(got[0]));
    CHECK(std::signbit(got[1]));
    CHECK(std::signbit(got[2]) == std::signbit(j["e"].get<double>()));
}
