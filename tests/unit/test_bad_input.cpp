// Bad input, end to end: the list of issue 8 (names, values, steps, shapes, files), each through the public
// API with the result docs/reliability.md documents for it: a clear error id before anything is logged, or a
// faithful record read back by an independent reader (nlohmann::json) and by read_run. Cases covered in more
// depth elsewhere (test_names, test_jsonl, test_reader, test_record, test_cli_check) are checked here only
// as far as the table needs.
#include <mltrack/reader.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/tracker.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../../tools/mltrack/check_tensorboard.hpp"
#include "support/tb_decoder.hpp"
#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

config inline_config(const char* experiment = "exp") {
    config c{experiment};
    c.dispatch = dispatch_mode::inline_;
    c.on_error = [](const sink_error& e) { FAIL("unexpected sink error: " << e.message); };
    return c;
}

const std::string nul_name("a\0b", 3);

}  // namespace

TEST_CASE("bad names: experiment and run names are refused before anything is written") {
    unit::temp_dir dir;
    tracker t{inline_config(), sinks::jsonl{dir.path()}};
    const std::vector<std::pair<std::string, const char*>> cases{
        {"", "name.1"},
        {std::string(10 * 1024, 'a'), "name.2"},
        {"..", "name.4"},
        {".hidden", "name.4"},
        {"/", "name.4"},
        {"a/b", "name.3"},
        {"a\\b", "name.3"},
        {"\\", "name.4"},
        {nul_name, "name.3"},
        {"a\tb", "name.3"},
        {"a\x7f", "name.3"},
        {"caf\xc3\xa9", "name.3"},  // valid UTF-8, but names are folder names: [A-Za-z0-9._-]
        {"bad\xff", "name.3"},
    };
    for (const auto& c : cases) {
        INFO("name '" << detail::printable(c.first) << "'");
        CHECK_ERROR_ID(c.second, t.start_run(c.first));
        config cfg = inline_config();
        cfg.experiment = c.first;
        CHECK_ERROR_ID(c.second, tracker(cfg, sinks::jsonl{dir.path()}));
    }
    std::error_code ec;
    CHECK(fs::is_empty(dir.path(), ec));  // nothing was created for any of them
}

TEST_CASE("bad keys: metric, param and artifact keys are free-form UTF-8 without control characters") {
    unit::temp_dir dir;
    tracker t{inline_config(), sinks::jsonl{dir.path()}};
    auto run = t.start_run("r");
    const std::vector<std::pair<std::string, const char*>> bad{
        {"", "name.1"}, {std::string(10 * 1024, 'k'), "name.2"}, {nul_name, "name.6"},
        {"a\nb", "name.6"}, {"a\x1b[31m", "name.6"}, {"bad\xff", "name.5"}, {"\xed\xa0\x80", "name.5"},
        {"\xc0\xaf", "name.5"}};
    for (const auto& c : bad) {
        INFO("key '" << detail::printable(c.first) << "'");
        CHECK_ERROR_ID(c.second, run.metric(c.first));
        CHECK_ERROR_ID(c.second, run.log_params({{c.first, 1}}));
        CHECK_ERROR_ID(c.second, run.log_metrics({{c.first, 1.0}}));
    }
    // Keys that are no file names at all are fine as keys: they never become paths.
    const std::vector<std::string> fine{"..", "/", "\\", "train/loss", "caf\xc3\xa9 \xe6\x97\xa5", "a b"};
    for (std::size_t i = 0; i < fine.size(); ++i) run.log(fine[i], static_cast<double>(i), 0);
    run.end();
    const auto back = read_run(dir / "exp" / "r");
    for (std::size_t i = 0; i < fine.size(); ++i) CHECK(back.series.at(fine[i]).at(0).value == static_cast<double>(i));
    CHECK(fs::exists(dir / "exp" / "r" / "events.jsonl"));
    std::size_t entries = 0;
    for (auto it = fs::recursive_directory_iterator(dir.path()); it != fs::recursive_directory_iterator(); ++it) ++entries;
    CHECK(entries == 3);  // exp/, exp/r/, exp/r/events.jsonl: no key became a path
}

TEST_CASE("names valid for files but not for Vertex ids, and the reverse") {
    // Every Vertex id ([a-z0-9][a-z0-9-]{0,127}) is a valid mltrack name: the reverse case does not exist.
    std::mt19937 rng(8);
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-";
    for (int i = 0; i < 2000; ++i) {
        std::string id(1 + rng() % 128, 'a');
        for (std::size_t k = 0; k < id.size(); ++k) id[k] = alphabet[rng() % (k == 0 ? 36 : 37)];
        CHECK(is_valid_name(id));
    }
    // Valid names that are not Vertex ids (upper case, '.', '_', 128 bytes) are written to files as they are;
    // the Vertex sink maps them to ids (docs/vertex.md, tested in test_vertex_ids and test_vertex_sink).
    unit::temp_dir dir;
    {
        tracker t{inline_config("My_Exp.v2"), sinks::jsonl{dir.path()}};
        t.start_run("Run_A.1").log("x", 1, 0);
        t.start_run(std::string(128, 'R')).log("x", 1, 0);
    }
    CHECK(read_run(dir / "My_Exp.v2" / "Run_A.1").name == "Run_A.1");
    CHECK(read_run(dir / "My_Exp.v2" / std::string(128, 'R')).experiment == "My_Exp.v2");
}

TEST_CASE("bad values: non-finite, signed zero, subnormal, int64 extremes, huge and nested strings") {
    unit::temp_dir dir;
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    const double sub = std::numeric_limits<double>::denorm_min();
    const auto i64min = std::numeric_limits<std::int64_t>::min(), i64max = std::numeric_limits<std::int64_t>::max();
    const std::string nested = R"({"optimizer":{"name":"adam","betas":[0.9,0.999]},"quote":"\"","nl":"\n"})";
    {
        tracker t{inline_config(), sinks::jsonl{dir.path()}, sinks::tensorboard{dir / "tb"}};
        auto run = t.start_run("r");
        // Params: non-finite floats and strings over 64 KiB are refused (nothing of the call is logged).
        CHECK_ERROR_ID("value.1", run.log_params({{"ok", 1}, {"lr", nan}}));
        CHECK_ERROR_ID("value.1", run.log_params({{"lr", -inf}}));
        CHECK_ERROR_ID("value.3", run.log_params({{"text", std::string(65537, 'x')}}));
        run.log_params({{"min", i64min}, {"max", i64max}, {"neg0", -0.0}, {"sub", sub}, {"big", std::string(65536, 'y')},
                        {"nested", nested}});
        // Metrics: every double is kept, NaN and infinities included.
        const double values[] = {nan, inf, -inf, -0.0, sub, 1e308, -1e-308};
        for (int i = 0; i < 7; ++i) run.log("m", values[i], i);
        run.log_metrics({{"summary_nan", nan}});
    }
    const auto lines = unit::parse_jsonl(dir / "exp" / "r" / "events.jsonl");
    CHECK(unit::of_kind(lines, "params").size() == 1);  // the refused calls left nothing
    const auto back = read_run(dir / "exp" / "r");
    CHECK(back.params.count("ok") == 0);
    CHECK(back.params.at("min") == param_value(i64min));
    CHECK(back.params.at("max") == param_value(i64max));
    CHECK(std::signbit(back.params.at("neg0").as_double()));
    CHECK(back.params.at("sub").as_double() == sub);
    CHECK(back.params.at("big").as_string().size() == 65536);
    CHECK(back.params.at("nested").as_string() == nested);  // a string, kept byte for byte
    const auto& m = back.series.at("m");
    REQUIRE(m.size() == 7);
    CHECK(std::isnan(m[0].value));
    CHECK(m[1].value == inf);
    CHECK(m[2].value == -inf);
    CHECK((m[3].value == 0.0 && std::signbit(m[3].value)));
    CHECK(m[4].value == sub);
    CHECK(std::isnan(back.summary.at("summary_nan")));
    // TensorBoard gets the same points (as floats: 1e308 becomes +inf there, as in TensorBoard's own writers).
    std::size_t tb_points = 0;
    for (const auto& e : fs::directory_iterator(dir / "tb" / "exp" / "r"))
        for (const auto& ev : tbdec::decode_file(e.path().string()).events)
            for (const auto& v : ev.values) tb_points += v.tag == "m";
    CHECK(tb_points == 7);
}

TEST_CASE("steps: negative, repeated and decreasing steps are kept as logged, in order") {
    unit::temp_dir dir;
    const std::int64_t steps[] = {5, -3, 5, 5, 2, std::numeric_limits<std::int64_t>::min(),
                                  std::numeric_limits<std::int64_t>::max(), 0};
    {
        tracker t{inline_config(), sinks::jsonl{dir.path()}};
        auto run = t.start_run("r");
        auto m = run.metric("loss");
        for (std::size_t i = 0; i < 8; ++i) m.log(static_cast<double>(i), steps[i]);
    }
    const auto back = read_run(dir / "exp" / "r");
    const auto& s = back.series.at("loss");
    REQUIRE(s.size() == 8);
    for (std::size_t i = 0; i < 8; ++i) {
        CHECK(s[i].step == steps[i]);
        CHECK(s[i].value == static_cast<double>(i));
    }
}

TEST_CASE("shapes: classification metrics are validated before logging") {
    unit::temp_dir dir;
    tracker t{inline_config(), sinks::jsonl{dir.path()}};
    auto run = t.start_run("r");
    classification_metrics c;
    c.labels = {"a", "b"};
    c.matrix = {{1, 2, 3}, {4, 5, 6}};
    CHECK_ERROR_ID("shape.3", run.log_classification_metrics(c));  // not square
    c.matrix = {{1, 2}, {3, 4}, {5, 6}};
    CHECK_ERROR_ID("shape.2", run.log_classification_metrics(c));  // more rows than labels
    c.labels = {"a", "b", "c"};
    CHECK_ERROR_ID("shape.3", run.log_classification_metrics(c));
    c = {};
    c.fpr = {0, 0.5, 1};
    c.tpr = {0, 1};
    c.thresholds = {1, 0.5, 0};
    CHECK_ERROR_ID("shape.5", run.log_classification_metrics(c));  // ROC arrays of different lengths
    c.tpr = {0, 1, 1};
    c.fpr[1] = std::nan("");
    CHECK_ERROR_ID("value.2", run.log_classification_metrics(c));
    run.end();
    CHECK(unit::of_kind(unit::parse_jsonl(dir / "exp" / "r" / "events.jsonl"), "classification").empty());
}

TEST_CASE("shapes: confusion-matrix counts near INT64_MAX reach every sink without overflow") {
    unit::temp_dir dir;
    {
        tracker t{inline_config(), sinks::jsonl{dir.path()}, sinks::tensorboard{dir / "tb"}};
        auto run = t.start_run("r");
        const std::int64_t m = std::numeric_limits<std::int64_t>::max();
        // Row sums (image shading, PR-curve totals) overflowed an int64 sum: UBSan reports it.
        run.log_classification_metrics({"a", "b"}, {{m, m}, {m, m}}, {0.0, 0.5, 1.0}, {0.0, 0.75, 1.0},
                                       {1.0, 0.5, 0.0}, "huge");
    }
    const auto r = read_run(dir / "exp" / "r");
    REQUIRE(r.classifications.size() == 1);
    CHECK(r.classifications[0].matrix[1][1] == std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("files: malformed lines, wrong version, garbage, huge lines, times out of range") {
    unit::temp_dir dir;
    const std::string head =
        R"({"kind":"run_start","time":1.5,"format":"mltrack.jsonl","format_version":1,"experiment":"e","run":"r"})"
        "\n";
    const std::string ok = R"({"kind":"metrics","time":2,"step":1,"values":{"a":1}})"
                           "\n";
    const std::vector<std::pair<std::string, const char*>> cases{
        {head + "{not json\n" + ok, "format.1"},
        {head + "[1,2]\n" + ok, "format.1"},
        {head + R"({"kind":"metrics","step":"x","values":{}})" "\n", "format.1"},
        {head + R"({"kind":"metrics","time":1e300,"step":1,"values":{"a":1}})" "\n", "format.1"},  // fuzz finding
        {head + R"({"kind":"metrics","time":-1e11,"step":1,"values":{"a":1}})" "\n", "format.1"},
        {head + R"({"kind":"metrics","time":1,"step":1,"values":{"a":1e400}})" "\n", "format.1"},
        {head + R"({"kind":"params","time":1,"values":{"p":{"nested":1}}})" "\n", "format.1"},
        {R"({"kind":"run_start","format":"mltrack.jsonl","format_version":99,"experiment":"e","run":"r"})" "\n",
         "format.5"},
        {std::string("\x00\xff\xfe garbage\n", 12), "format.2"},
        {"", "format.3"},
        {head + "{\"kind\":\"summary\",\"values\":{\"s\":\"" + std::string(2000, 'z') + "\"}}\n", "format.6"},
    };
    read_options small;
    small.max_line_bytes = 1000;
    int i = 0;
    for (const auto& c : cases) {
        const fs::path f = dir / ("case" + std::to_string(i++) + ".jsonl");
        unit::write_file(f, c.first);
        INFO(f.filename().string() << " expects " << c.second);
        CHECK_ERROR_ID(c.second, read_run(f, small));
    }
    // Lenient mode keeps the good lines around a bad one.
    unit::write_file(dir / "lenient.jsonl", head + "{not json\n" + ok);
    read_options lenient;
    lenient.strict = false;
    const auto run = read_run(dir / "lenient.jsonl", lenient);
    CHECK(run.problems.size() == 1);
    CHECK(run.series.at("a").size() == 1);
}

TEST_CASE("files: every single-bit flip of a JSONL file reads back or fails with a format error") {
    unit::temp_dir dir;
    {
        tracker t{inline_config(), sinks::jsonl{dir.path()}};
        auto run = t.start_run("r");
        run.log_params({{"lr", 0.5}, {"opt", "adam"}});
        for (int s = 0; s < 3; ++s) run.log("loss", 1.0 / (s + 1), s);
    }
    const std::string good = unit::read_file(dir / "exp" / "r" / "events.jsonl");
    const fs::path f = dir / "flipped.jsonl";
    int read_ok = 0, format_errors = 0;
    for (std::size_t at = 0; at < good.size(); ++at)
        for (int bit = 0; bit < 8; bit += 3) {
            std::string bad = good;
            bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
            unit::write_file(f, bad);
            try {
                read_run(f);
                ++read_ok;
            } catch (const error& e) {
                if (e.category() != error_category::format) FAIL("byte " << at << ": " << e.what());
                ++format_errors;
            }
        }
    MESSAGE("JSONL bit flips: " << read_ok << " read back (a changed value or name), " << format_errors
                                << " format errors");
    CHECK(format_errors > 0);
}

TEST_CASE("files: every single-bit flip of an event file is reported by mltrack check's checker") {
    unit::temp_dir dir;
    {
        sinks::tensorboard_options o;
        o.hostname = "h";
        tracker t{inline_config(), sinks::tensorboard{dir.path(), o}};
        auto run = t.start_run("r");
        for (int s = 0; s < 3; ++s) run.log("loss", 1.0 / (s + 1), s);
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir / "exp" / "r"))
        if (e.path().filename().string().find("mltrack-session") == std::string::npos) files.push_back(e.path());
    REQUIRE(files.size() == 1);
    const std::string good = unit::read_file(files[0]);
    CHECK(mltrack_cli::check_tensorboard(files[0]).problems.empty());
    const fs::path f = dir / "flipped.tfevents";
    std::size_t undetected = 0;
    for (std::size_t at = 0; at < good.size(); ++at) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ (1 << (at % 8)));
        unit::write_file(f, bad);
        if (mltrack_cli::check_tensorboard(f).problems.empty()) ++undetected;
    }
    CHECK(undetected == 0);  // CRC32C catches every single-bit error, in lengths and in payloads
}
