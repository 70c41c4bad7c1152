// sinks/jsonl.hpp and detail/jsonl/jsonl_format.hpp: the lossless source of truth. Every file written here is
// parsed line by line with nlohmann::json, and read back with mltrack::read_run.
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/tracker.hpp>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

std::atomic<std::int64_t> clock_ns{0};
std::int64_t test_clock() noexcept { return clock_ns.fetch_add(1'000'000); }  // +1 ms per reading

/// An inline (deterministic) tracker config with the test clock starting at `start`.
config det(const char* experiment, std::vector<std::string>* errors = nullptr,
           std::int64_t start = 1'764'384'000'000'000'000) {
    clock_ns = start;
    config c{experiment};
    c.dispatch = dispatch_mode::inline_;
    c.clock = test_clock;
    c.capture_environment = false;  // exact bytes and metadata: nothing from the machine
    c.on_error = [errors](const sink_error& e) {
        if (errors) errors->push_back(e.sink + ": " + e.message);
    };
    return c;
}

std::uint64_t bits(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

/// A metric value as stored: a number or one of the three strings.
double value_of(const nlohmann::json& v) {
    if (v.is_string()) {
        if (v == "NaN") return std::nan("");
        if (v == "Infinity") return HUGE_VAL;
        if (v == "-Infinity") return -HUGE_VAL;
    }
    REQUIRE(v.is_number());
    return v.get<double>();
}

/// The lines of a text, without their '\n'.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::int64_t micros(const nlohmann::json& line) { return std::llround(line.at("time").get<double>() * 1e6); }

}  // namespace

TEST_CASE("golden file: the exact bytes of a small run (injected clock)") {
    unit::temp_dir dir;
    {
        tracker t{det("golden"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("run-1", start_mode::create, {{"host", "node-1"}});
        r.log_params({{"lr", 0.01}, {"batch", 64}, {"optimizer", "adam"}, {"augment", true}, {"decay", 1.0}});
        r.log_time_series({{"val/loss", 0.25}, {"val/acc", std::nan("")}}, 3);
        r.log("train/loss", -HUGE_VAL, -1);
        r.log_metrics({{"accuracy", 0.97}, {"inf", HUGE_VAL}});
        r.log_classification_metrics({"cat", "dog"}, {{9, 1}, {2, 8}}, {0.1, 0.5}, {0.6, 0.9}, {0.9, 0.1}, "val");
        r.log_model("gs://bucket/model.bst", {"xgboost", "1.7.4"});
        execution e;
        e.name = "train";
        e.inputs.push_back(artifact::reference("train-set", "gs://bucket/train.csv"));
        r.log_execution(e);
        r.end(run_state::cancelled);
    }
    const std::string expected =
        R"({"kind":"run_start","time":1764384000.000000,"format":"mltrack.jsonl","format_version":1,"mltrack_version":")" MLTRACK_VERSION_STRING R"(","experiment":"golden","run":"run-1","metadata":{"host":"node-1"}})" "\n"
        R"({"kind":"params","time":1764384000.001000,"values":{"lr":0.01,"batch":64,"optimizer":"adam","augment":true,"decay":1.0}})" "\n"
        R"({"kind":"metrics","time":1764384000.002000,"step":3,"values":{"val/loss":0.25,"val/acc":"NaN"}})" "\n"
        R"({"kind":"metrics","time":1764384000.003000,"step":-1,"values":{"train/loss":"-Infinity"}})" "\n"
        R"({"kind":"summary","time":1764384000.004000,"values":{"accuracy":0.97,"inf":"Infinity"}})" "\n"
        R"({"kind":"classification","time":1764384000.005000,"name":"val","labels":["cat","dog"],"matrix":[[9,1],[2,8]],"fpr":[0.1,0.5],"tpr":[0.6,0.9],"thresholds":[0.9,0.1]})" "\n"
        R"({"kind":"artifact","time":1764384000.006000,"type":"model","name":"model.bst","source":"gs://bucket/model.bst","directory":false,"size":0,"framework":"xgboost","framework_version":"1.7.4"})" "\n"
        R"({"kind":"execution","time":1764384000.007000,"name":"train","schema_title":"system.ContainerExecution","state":"COMPLETE","inputs":[{"type":"dataset","name":"train-set","source":"gs://bucket/train.csv","directory":false,"size":0}],"outputs":[]})" "\n"
        R"({"kind":"run_end","time":1764384000.008000,"state":"CANCELLED"})" "\n";
    const auto text = unit::read_file(dir.path() / "golden" / "run-1" / "events.jsonl");
    CHECK(text == expected);
    const auto lines = unit::parse_jsonl(dir.path() / "golden" / "run-1" / "events.jsonl");
    CHECK(lines.size() == 9);
}

TEST_CASE("every record kind round-trips through the sink and read_run, field by field") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    unit::write_file(dir.path() / "model.bin", "model-bytes");
    const std::int64_t t0 = 1'700'000'000'123'456'000;
    {
        tracker t{det("exp", nullptr, t0), sinks::jsonl{root}};
        auto r = t.start_run("r", start_mode::create, {{"user", "me"}, {"n", 1}});
        r.log_params({{"lr", 0.01}, {"batch", 64}, {"optimizer", "adam"}, {"augment", false}, {"one", 1.0},
                      {"neg", -7}, {"big", std::numeric_limits<std::int64_t>::max()}, {"tiny", 5e-324}});
        r.log_params({{"lr", 0.02}});  // latest wins
        auto loss = r.metric("train/loss");
        loss.log(0.5, 0);
        loss.log(0.25, 1);
        r.log_time_series({{"val/loss", 0.3}, {"val/acc", 0.9}}, 1);
        r.log_metrics({{"accuracy", 0.9}});
        r.log_metrics({{"accuracy", 0.95}, {"f1", 0.8}});
        r.log_classification_metrics({"a", "b", "c"}, {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, {}, {}, {}, "test");
        r.log_classification_metrics({}, {}, {0.0, 1.0}, {0.0, 1.0}, {1.0, 0.0});
        r.log_model(dir.path() / "model.bin", {"onnx", "1.15"}, {"", true, {{"k", "v"}}});
        r.log_artifact("gs://b/data.csv", {}, artifact_type::dataset);
        execution e;
        e.name = "fit";
        e.schema_title = "system.CustomJobExecution";
        e.state = run_state::running;
        e.inputs.push_back(artifact::reference("data.csv", "gs://b/data.csv"));
        e.metadata = {{"x", 1}};
        r.log_execution(e);
        r.end(run_state::failed);
    }
    const auto path = root / "exp" / "r";
    const auto lines = unit::parse_jsonl(path / "events.jsonl");
    // independent reader: every line's kind and time
    const char* kinds[] = {"run_start", "params",  "params",         "metrics",        "metrics",  "metrics",
                           "summary",   "summary", "classification", "classification", "artifact", "artifact",
                           "execution", "run_end"};
    REQUIRE(lines.size() == std::size(kinds));
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CHECK(lines[i].at("kind") == kinds[i]);
        CHECK(micros(lines[i]) == (t0 + static_cast<std::int64_t>(i) * 1'000'000) / 1000);
    }
    CHECK(lines[5].at("values").size() == 2);  // one line for log_time_series
    CHECK(lines[1].at("values").at("tiny").is_number_float());
    CHECK(lines[1].at("values").at("big") == std::numeric_limits<std::int64_t>::max());

    const auto run = read_run(path);
    CHECK(run.dir == path);
    CHECK(run.experiment == "exp");
    CHECK(run.name == "r");
    CHECK(run.format_version == 1);
    CHECK(run.state == run_state::failed);
    CHECK(run.start_time_ns == t0);
    CHECK(run.end_time_ns == t0 + 13 * 1'000'000);
    CHECK(run.resumes == 0);
    CHECK(run.metadata == nlohmann::json{{"user", "me"}, {"n", 1}});
    CHECK_FALSE(run.torn_tail.has_value());
    CHECK(run.problems.empty());
    // params: types and latest values
    REQUIRE(run.params.size() == 8);
    CHECK(run.params.at("lr") == param_value(0.02));
    CHECK(run.params.at("batch") == param_value(64));
    CHECK(run.params.at("optimizer") == param_value("adam"));
    CHECK(run.params.at("augment") == param_value(false));
    CHECK(run.params.at("one") == param_value(1.0));
    CHECK(run.params.at("one").is_double());
    CHECK(run.params.at("neg") == param_value(-7));
    CHECK(run.params.at("big") == param_value(std::numeric_limits<std::int64_t>::max()));
    CHECK(bits(run.params.at("tiny").as_double()) == bits(5e-324));
    // series
    REQUIRE(run.series.at("train/loss").size() == 2);
    CHECK(run.series.at("train/loss")[1].step == 1);
    CHECK(run.series.at("train/loss")[1].value == 0.25);
    CHECK(run.series.at("train/loss")[1].time_ns == t0 + 4'000'000);
    CHECK(run.series.at("val/acc").at(0).value == 0.9);
    CHECK(run.series.at("val/acc").at(0).time_ns == t0 + 5'000'000);
    // summary: latest per key
    CHECK(run.summary.at("accuracy") == 0.95);
    CHECK(run.summary.at("f1") == 0.8);
    // classification
    REQUIRE(run.classifications.size() == 2);
    CHECK(run.classifications[0].display_name == "test");
    CHECK(run.classifications[0].labels == std::vector<std::string>{"a", "b", "c"});
    CHECK(run.classifications[0].matrix[2][1] == 8);
    CHECK(run.classifications[0].fpr.empty());
    CHECK(run.classifications[1].labels.empty());
    CHECK(run.classifications[1].thresholds == std::vector<double>{1.0, 0.0});
    // artifacts
    REQUIRE(run.artifacts.size() == 2);
    const auto* m = run.find_artifact("model.bin");
    REQUIRE(m != nullptr);
    CHECK(m->type == artifact_type::model);
    CHECK(m->framework == "onnx");
    CHECK(m->framework_version == "1.15");
    CHECK(m->size == 11);
    CHECK(m->sha256 == detail::sha256::of("model-bytes"));
    CHECK(m->metadata.at("k") == "v");
    CHECK(unit::read_file(run.artifact_path(*m)) == "model-bytes");
    const auto* d = run.find_artifact("data.csv");
    REQUIRE(d != nullptr);
    CHECK(d->type == artifact_type::dataset);
    CHECK(run.artifact_path(*d) == fs::path("gs://b/data.csv"));
    CHECK(run.find_artifact("missing") == nullptr);
    // executions
    REQUIRE(run.executions.size() == 1);
    CHECK(run.executions[0].schema_title == "system.CustomJobExecution");
    CHECK(run.executions[0].state == run_state::running);
    CHECK(run.executions[0].metadata.at("x") == 1);
    // records, in file order
    REQUIRE(run.records.size() == lines.size());
    const record_kind rk[] = {record_kind::run_start,      record_kind::params,   record_kind::params,
                              record_kind::metric,         record_kind::metric,   record_kind::metric,
                              record_kind::summary,        record_kind::summary,  record_kind::classification,
                              record_kind::classification, record_kind::artifact, record_kind::artifact,
                              record_kind::execution,      record_kind::run_end};
    for (std::size_t i = 0; i < run.records.size(); ++i) {
        CHECK(run.records[i].kind == rk[i]);
        CHECK(run.records[i].time_ns == t0 + static_cast<std::int64_t>(i) * 1'000'000);
    }
    CHECK(run.records[0].get_run().name == "r");
    CHECK(run.records[4].step == 1);
    CHECK(run.records[13].get_state() == run_state::failed);
}

TEST_CASE("NaN and infinities are stored as strings and read back") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto m = r.metric("m");
        m.log(std::nan(""), 0);
        m.log(HUGE_VAL, 1);
        m.log(-HUGE_VAL, 2);
        m.log(std::numeric_limits<double>::signaling_NaN(), 3);
        r.log_metrics({{"s_nan", std::nan("")}, {"s_inf", HUGE_VAL}, {"s_ninf", -HUGE_VAL}});
    }
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    const auto metrics = unit::of_kind(lines, "metrics");
    REQUIRE(metrics.size() == 4);
    CHECK(metrics[0].at("values").at("m") == "NaN");
    CHECK(metrics[1].at("values").at("m") == "Infinity");
    CHECK(metrics[2].at("values").at("m") == "-Infinity");
    CHECK(metrics[3].at("values").at("m") == "NaN");
    const auto summary = unit::of_kind(lines, "summary").at(0).at("values");
    CHECK(summary.at("s_nan") == "NaN");
    CHECK(summary.at("s_inf") == "Infinity");
    CHECK(summary.at("s_ninf") == "-Infinity");
    const auto run = read_run(dir.path() / "exp" / "r");
    const auto& s = run.series.at("m");
    CHECK(std::isnan(s[0].value));
    CHECK(s[1].value == HUGE_VAL);
    CHECK(s[2].value == -HUGE_VAL);
    CHECK(std::isnan(s[3].value));
    CHECK(std::isnan(run.summary.at("s_nan")));
    CHECK(run.summary.at("s_ninf") == -HUGE_VAL);
}

TEST_CASE("extreme steps, -0.0 and subnormals round-trip exactly") {
    unit::temp_dir dir;
    const std::int64_t steps[] = {std::numeric_limits<std::int64_t>::min(), -1, 0, 1,
                                  std::numeric_limits<std::int64_t>::max(), 5, 5, 3};  // repeated, decreasing
    const double values[] = {-0.0,
                             0.0,
                             5e-324,
                             -5e-324,
                             std::numeric_limits<double>::denorm_min() * 3,
                             2.2250738585072009e-308,
                             std::numeric_limits<double>::max(),
                             0.1 + 0.2};
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto m = r.metric("m");
        for (std::size_t i = 0; i < 8; ++i) m.log(values[i], steps[i]);
        r.log_metrics({{"negzero", -0.0}, {"sub", 5e-324}});
    }
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    const auto metrics = unit::of_kind(lines, "metrics");
    REQUIRE(metrics.size() == 8);
    for (std::size_t i = 0; i < 8; ++i) {
        CAPTURE(i);
        CHECK(metrics[i].at("step").get<std::int64_t>() == steps[i]);
        CHECK(bits(value_of(metrics[i].at("values").at("m"))) == bits(values[i]));
    }
    const auto run = read_run(dir.path() / "exp" / "r");
    const auto& s = run.series.at("m");
    REQUIRE(s.size() == 8);
    for (std::size_t i = 0; i < 8; ++i) {
        CAPTURE(i);
        CHECK(s[i].step == steps[i]);
        CHECK(bits(s[i].value) == bits(values[i]));
    }
    CHECK(bits(run.summary.at("negzero")) == bits(-0.0));
    CHECK(bits(run.summary.at("sub")) == bits(5e-324));
}

TEST_CASE("the same metric twice at one step and one time: both points are kept") {
    // With an injected clock (or log_time_series repeating a key) two points can share step and time; the
    // sink groups values of one step into one line and must not write a key twice in one JSON object.
    unit::temp_dir dir;
    static std::int64_t frozen = 1'000'000'000;
    auto cfg = det("exp");
    cfg.clock = []() noexcept { return frozen; };
    {
        tracker t{cfg, sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto a = r.metric("a");
        auto b = r.metric("b");
        a.log(1.0, 7);
        b.log(2.0, 7);  // joins the line
        a.log(3.0, 7);  // same key again: a new line
        r.log_time_series({{"c", 4.0}, {"c", 5.0}}, 8);
    }
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    std::vector<double> a_values, c_values;
    for (const auto& j : unit::of_kind(lines, "metrics")) {
        // nlohmann keeps the last of duplicate keys, so count raw occurrences too
        if (j.at("values").contains("a")) a_values.push_back(j.at("values").at("a").get<double>());
        if (j.at("values").contains("c")) c_values.push_back(j.at("values").at("c").get<double>());
    }
    CHECK(a_values == std::vector<double>{1.0, 3.0});
    CHECK(c_values == std::vector<double>{4.0, 5.0});
    const auto text = unit::read_file(dir.path() / "exp" / "r" / "events.jsonl");
    CHECK(text.find(R"("a":1,"b":2})") != std::string::npos);
    const auto run = read_run(dir.path() / "exp" / "r");
    CHECK(run.series.at("a").size() == 2);
    CHECK(run.series.at("b").size() == 1);
    CHECK(run.series.at("c").size() == 2);
}

TEST_CASE("resume continues: steps go on, a run_resume line, state follows the last end") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        auto m = r.metric("loss");
        for (int s = 0; s < 5; ++s) m.log(1.0 / (s + 1), s);
        r.end(run_state::failed);  // e.g. preempted
    }
    {
        tracker t{det("exp", nullptr, 1'800'000'000'000'000'000), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r", start_mode::resume, {{"attempt", 2}});
        CHECK(r.resumed());
        auto m = r.metric("loss");
        for (int s = 5; s < 10; ++s) m.log(1.0 / (s + 1), s);
    }
    const auto lines = unit::parse_jsonl(dir.path() / "exp" / "r" / "events.jsonl");
    REQUIRE(lines.size() == 1 + 5 + 1 + 1 + 5 + 1);
    CHECK(lines[0].at("kind") == "run_start");
    CHECK(lines[6].at("kind") == "run_end");
    const auto& resume = lines[7];
    CHECK(resume.at("kind") == "run_resume");
    CHECK(resume.at("discarded_bytes") == 0);
    CHECK(resume.at("metadata").at("attempt") == 2);
    CHECK(micros(resume) == 1'800'000'000'000'000);
    CHECK_FALSE(resume.contains("format_version"));
    CHECK(lines[8].at("step") == 5);
    CHECK(lines.back().at("state") == "COMPLETE");
    const auto run = read_run(dir.path() / "exp" / "r");
    CHECK(run.resumes == 1);
    CHECK(run.state == run_state::complete);
    CHECK(run.series.at("loss").size() == 10);
    for (int s = 0; s < 10; ++s) CHECK(run.series.at("loss")[s].step == s);
    CHECK(run.metadata.at("attempt") == 2);
    CHECK(run.start_time_ns == 1'764'384'000'000'000'000);
}

TEST_CASE("a torn last line is cut on resume, never glued to new data") {
    unit::temp_dir dir;
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        for (int s = 0; s < 3; ++s) r.log("loss", s, s);
        t.close();  // a crash: no run_end
    }
    const std::string garbage = R"({"kind":"metrics","time":1764384000.0,"step":3,"val)";
    unit::append_file(file, garbage);
    {
        const auto before = read_run(dir.path() / "exp" / "r");
        REQUIRE(before.torn_tail.has_value());
        CHECK(before.torn_tail->line == 5);
        CHECK(before.series.at("loss").size() == 3);
        CHECK(before.state == run_state::running);
    }
    std::vector<std::string> errors;
    {
        tracker t{det("exp", &errors), sinks::jsonl{dir.path()}};
        CHECK_ERROR_ID("state.1", t.start_run("r"));  // the file exists
        auto r = t.start_run("r", start_mode::resume);
        r.log("loss", 3, 3);
    }
    CHECK(errors.empty());
    const auto lines = unit::parse_jsonl(file);  // every line parses: nothing glued
    REQUIRE(lines.size() == 1 + 3 + 1 + 1 + 1);
    CHECK(lines[4].at("kind") == "run_resume");
    CHECK(lines[4].at("discarded_bytes") == garbage.size());
    const auto run = read_run(dir.path() / "exp" / "r");
    CHECK_FALSE(run.torn_tail.has_value());
    CHECK(run.series.at("loss").size() == 4);
    CHECK(run.state == run_state::complete);
}

TEST_CASE("a last line without its newline is torn even when it parses, for the reader and for resume") {
    unit::temp_dir dir;
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        r.log("loss", 1, 1);
        t.close();
    }
    const std::string unterminated = R"({"kind":"run_end","time":1764384001.000000,"state":"COMPLETE"})";
    unit::append_file(file, unterminated);  // the write stopped just before its '\n'
    const auto before = read_run(dir.path() / "exp" / "r");
    CHECK(before.torn_tail.has_value());
    CHECK(before.state == run_state::running);  // what resume will keep
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r", true);
        r.end(run_state::cancelled);
    }
    const auto lines = unit::parse_jsonl(file);
    CHECK(unit::of_kind(lines, "run_resume").at(0).at("discarded_bytes") == unterminated.size());
    CHECK(unit::of_kind(lines, "run_end").size() == 1);
    CHECK(read_run(dir.path() / "exp" / "r").state == run_state::cancelled);
}

TEST_CASE("a file that is only a torn line: resume starts it over with a run_start") {
    unit::temp_dir dir;
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    unit::write_file(file, R"({"kind":"run_st)");
    CHECK_ERROR_ID("format.3", read_run(file));
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r", start_mode::resume);
        r.log("x", 1, 1);
    }
    const auto lines = unit::parse_jsonl(file);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].at("kind") == "run_start");
    CHECK(lines[0].at("format_version") == 1);
    CHECK(read_run(file).state == run_state::complete);
}

TEST_CASE("disk full at the opening: one error to the handler, nothing of the run written, the tracker keeps running") {
    unit::temp_dir dir;
    const auto run_dir = dir.path() / "exp" / "r";
    fs::create_directories(run_dir);
    fs::create_symlink("/dev/full", run_dir / "events.jsonl");
    std::vector<std::string> errors;
    sinks::memory mem;
    {
        auto cfg = det("exp", &errors);
        tracker t{cfg, sinks::jsonl{dir.path()}, mem};
        auto r = t.start_run("r", start_mode::create_or_resume);
        auto m = r.metric("loss");
        for (int s = 0; s < 100; ++s) m.log(s, s);
        r.log_params({{"a", 1}});
        t.flush();
        r.end();
        CHECK(t.stats().sink_errors == 1);  // the opening; the run's later lines are only counted
        CHECK(t.stats().sink_errors == errors.size());
    }
    REQUIRE(errors.size() == 1);
    for (const auto& e : errors) {
        CHECK(e.rfind("jsonl: [mltrack.error.io.14] cannot write ", 0) == 0);
        CHECK(e.find((run_dir / "events.jsonl").string()) != std::string::npos);
        CHECK(e.find(std::strerror(ENOSPC)) != std::string::npos);
        CHECK(e.find("(1 lines lost)") != std::string::npos);
        CHECK(e.find("opening line is missing") != std::string::npos);
    }
    CHECK(mem.count(record_kind::metric) == 100);  // the other sink got everything
    CHECK(mem.count(record_kind::run_end) == 1);
}

TEST_CASE("disk full, sink used directly: lines_lost counts every line") {
    unit::temp_dir dir;
    const auto run_dir = dir.path() / "exp" / "r";
    fs::create_directories(run_dir);
    fs::create_symlink("/dev/full", run_dir / "events.jsonl");
    sinks::jsonl sink{dir.path()};
    run_info info;
    info.id = 1;
    info.experiment = "exp";
    info.name = "r";
    metric_info metric{0, "loss"};
    std::vector<event> events(4);
    events[0].kind = record_kind::run_start;
    for (int i = 1; i < 4; ++i) {
        events[i].kind = record_kind::metric;
        events[i].step = i;
        events[i].metric = &metric;
    }
    for (auto& e : events) e.run = &info;
    CHECK_THROWS_WITH_AS(sink.write(batch(events.data(), 1)), doctest::Contains("[mltrack.error.io.14]"),
                         std::exception);
    CHECK(sink.lines_lost() == 1);
    CHECK_NOTHROW(sink.write(batch(events.data() + 1, 3)));  // the run never opened: counted, not written
    CHECK_NOTHROW(sink.flush());
    CHECK(sink.lines_lost() == 4);
    CHECK_NOTHROW(sink.flush());  // nothing buffered any more
    record end;
    end.kind = record_kind::run_end;
    end.payload = run_state::complete;
    event e;
    e.kind = record_kind::run_end;
    e.run = &info;
    e.payload = &end;
    CHECK_NOTHROW(sink.write(batch(&e, 1)));
    CHECK(sink.lines_lost() == 5);
    CHECK_NOTHROW(sink.close());
}

TEST_CASE("a partial write (file size limit) is cut back to the last complete line") {
    unit::temp_dir dir;
    sinks::jsonl sink{dir.path(), sinks::jsonl_options{false, 1u << 20}};
    run_info info;
    info.id = 1;
    info.experiment = "exp";
    info.name = "r";
    info.start_time_ns = 1'764'384'000'000'000'000;
    metric_info metric{0, "loss"};
    event start;
    start.kind = record_kind::run_start;
    start.run = &info;
    start.time_ns = info.start_time_ns;
    sink.write(batch(&start, 1));  // written at once
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    const auto committed = fs::file_size(file);
    std::vector<event> points(50);
    for (int i = 0; i < 50; ++i) {
        points[i].kind = record_kind::metric;
        points[i].run = &info;
        points[i].step = i;
        points[i].value = i * 0.5;
        points[i].time_ns = info.start_time_ns + i * 1000;
        points[i].metric = &metric;
    }
    sink.write(batch(points.data(), points.size()));
    // Allow 300 more bytes: write() stores a part of the buffer, then fails with EFBIG.
    struct rlimit old {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = committed + 300;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string what;
    try {
        sink.flush();
    } catch (const std::exception& e) {
        what = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    CHECK(what.find("[mltrack.error.io.14]") != std::string::npos);
    CHECK(what.find("(50 lines lost)") != std::string::npos);
    CHECK(sink.lines_lost() == 50);
    CHECK(fs::file_size(file) == committed);  // the partial bytes were cut off
    // the sink goes on; the next lines follow complete lines
    sink.write(batch(points.data(), 2));
    sink.flush();
    const auto lines = unit::parse_jsonl(file);
    REQUIRE(lines.size() == 3);
    CHECK(lines[1].at("step") == 0);
    CHECK(lines[2].at("step") == 1);
    sink.close();
}

TEST_CASE("small buffers, fsync and many runs: the same content") {
    unit::temp_dir dir;
    {
        sinks::jsonl_options opts;
        opts.fsync = true;
        opts.buffer_bytes = 64;  // written out almost every line
        tracker t{det("exp"), sinks::jsonl{dir.path(), opts}};
        auto a = t.start_run("a");
        auto b = t.start_run("b");
        for (int s = 0; s < 200; ++s) {
            a.log("x", s, s);
            b.log("y", -s, s);
        }
        t.flush();
        a.end();
    }
    for (const char* name : {"a", "b"}) {
        const auto lines = unit::parse_jsonl(dir.path() / "exp" / name / "events.jsonl");
        CHECK(unit::of_kind(lines, "metrics").size() == 200);
        CHECK(lines.back().at("kind") == "run_end");
    }
}

TEST_CASE("layout: <root>/<experiment>/<run>/events.jsonl, created on start") {
    unit::temp_dir dir;
    const auto root = dir.path() / "deep" / "root";
    tracker t{det("exp"), sinks::jsonl{root}};
    auto r = t.start_run("r");
    // the run exists on disk at once, before any flush
    CHECK(fs::exists(root / "exp" / "r" / "events.jsonl"));
    CHECK(unit::parse_jsonl(root / "exp" / "r" / "events.jsonl").size() == 1);
    CHECK(sinks::jsonl::run_dir("/x", "e", "r") == fs::path("/x/e/r"));
    CHECK_ERROR_ID("name.4", sinks::jsonl::run_dir("/x", "..", "r"));
    CHECK_ERROR_ID("name.3", sinks::jsonl::run_dir("/x", "e", "a/b"));
    sinks::jsonl s{root};
    CHECK(s.name() == "jsonl");
    CHECK(s.root() == root);
}

TEST_CASE("a root that cannot be created: io.11 to the handler, other runs unaffected") {
    unit::temp_dir dir;
    unit::write_file(dir.path() / "file", "not a folder");
    std::vector<std::string> errors;
    sinks::memory mem;
    {
        tracker t{det("exp", &errors), sinks::jsonl{dir.path() / "file" / "root"}, mem};
        auto r = t.start_run("r");
        r.log("x", 1, 1);
    }
    REQUIRE(errors.size() == 1);  // reported once, at the run's opening
    CHECK(errors[0].rfind("jsonl: [mltrack.error.io.11] cannot create run folder ", 0) == 0);
    CHECK(mem.count(record_kind::metric) == 1);
}

TEST_CASE("an artifact that cannot be copied: io.13 to the caller and the handler, recorded as a reference") {
    unit::temp_dir dir;
    unit::write_file(dir.path() / "m.bin", "x");
    std::vector<std::string> errors;
    {
        tracker t{det("exp", &errors), sinks::jsonl{dir.path() / "root"}};
        auto r = t.start_run("r");
        // make artifacts/ impossible to create: a file in its place
        unit::write_file(dir.path() / "root" / "exp" / "r" / "artifacts", "blocker");
        CHECK_THROWS_WITH_AS(r.log_model(dir.path() / "m.bin"),
                             doctest::Contains("[mltrack.error.io.13] cannot copy artifact 'm.bin'"), error);
    }
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind("jsonl: [mltrack.error.io.13] cannot copy artifact 'm.bin'", 0) == 0);
    const auto lines = unit::parse_jsonl(dir.path() / "root" / "exp" / "r" / "events.jsonl");
    const auto art = unit::of_kind(lines, "artifact").at(0);
    CHECK_FALSE(art.contains("path"));
    CHECK(art.at("metadata").contains("copy_error"));
    CHECK(art.at("sha256") == detail::sha256::of("x"));
}

TEST_CASE("no line over the readers' limit: 1,200 params of 60 KB are split into lines read_run accepts") {
    CHECK(detail::jsonl_max_line_bytes == read_options{}.max_line_bytes);  // writer and readers agree
    unit::temp_dir dir;
    const std::string big(60 * 1000, 'p');
    std::map<std::string, std::string> params;
    for (int i = 0; i < 1200; ++i) params["p" + std::to_string(i)] = big + std::to_string(i);  // 72 MB in one call
    std::vector<std::string> errors;
    {
        tracker t{det("exp", &errors), sinks::jsonl{dir.path()}};
        auto run = t.start_run("r");
        run.log_params(params);
        run.log("loss", 1.0, 0);
    }
    CHECK(errors.empty());
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    std::size_t params_lines = 0, longest = 0;
    for (const auto& l : split_lines(unit::read_file(file))) {
        longest = std::max(longest, l.size() + 1);
        params_lines += l.rfind("{\"kind\":\"params\"", 0) == 0;
    }
    CHECK(longest <= detail::jsonl_max_line_bytes);
    CHECK(params_lines >= 2);
    const auto back = read_run(file);  // the library's reader, at its default limit
    REQUIRE(back.params.size() == 1200);
    for (const auto& kv : params) CHECK(back.params.at(kv.first) == param_value(kv.second));
}

TEST_CASE("the line limit: summary and tags split, metrics lines stop joining, other records refused (io.18)") {
    unit::temp_dir dir;
    sinks::jsonl_options o;
    o.max_line_bytes = 4096;
    std::vector<std::string> errors;
    {
        tracker t{det("exp", &errors), sinks::jsonl{dir.path(), o}};
        auto run = t.start_run("r");
        std::map<std::string, double> summary;
        std::map<std::string, std::string> tags;
        for (int i = 0; i < 300; ++i) {
            summary["s" + std::to_string(i)] = i;
            tags["t" + std::to_string(i)] = std::string(40, 't');
        }
        run.log_summary(summary);
        run.set_tags(tags);
        for (int i = 0; i < 300; ++i) run.log("m" + std::to_string(i), i, 7);  // one step, one time: joined lines
        std::vector<std::vector<std::int64_t>> matrix(40, std::vector<std::int64_t>(40, 123456));
        std::vector<std::string> labels;
        for (int i = 0; i < 40; ++i) labels.push_back("c" + std::to_string(i));
        run.log_classification_metrics(labels, matrix);  // ~12 KB in one line: refused
        run.log("after", 1.0, 0);
    }
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind("jsonl: [mltrack.error.io.18] a classification record of run 'r' is longer than 4096", 0) == 0);
    CHECK(errors[0].find("(1 lines lost)") != std::string::npos);
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    for (const auto& l : split_lines(unit::read_file(file))) CHECK(l.size() + 1 <= 4096);
    read_options small;
    small.max_line_bytes = 4096;
    const auto back = read_run(file, small);
    CHECK(back.summary.size() == 300);
    CHECK(back.tags.size() == 300);
    std::size_t points = 0;
    for (int i = 0; i < 300; ++i) points += back.series.at("m" + std::to_string(i)).size();
    CHECK(points == 300);
    CHECK(back.classifications.empty());
    CHECK(back.series.at("after").size() == 1);
}
