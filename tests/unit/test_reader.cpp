// reader.hpp: read_run / read_experiment on hand-written files, good and bad.
#include <mltrack/reader.hpp>

#include <cmath>
#include <random>
#include <string>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

const std::string start_line =
    R"({"kind":"run_start","time":1764384000.000000,"format":"mltrack.jsonl","format_version":1,"mltrack_version":"0.1.0","experiment":"exp","run":"r"})"
    "\n";
const std::string metric_line = R"({"kind":"metrics","time":1764384000.500000,"step":1,"values":{"loss":0.5}})" "\n";
const std::string end_line = R"({"kind":"run_end","time":1764384001.000000,"state":"COMPLETE"})" "\n";

/// Writes <dir>/exp/r/events.jsonl and returns the file's path.
fs::path make_run(const unit::temp_dir& dir, const std::string& text) {
    const auto file = dir.path() / "exp" / "r" / "events.jsonl";
    unit::write_file(file, text);
    return file;
}

}  // namespace

TEST_CASE("a minimal run reads back; the folder or the file can be given") {
    unit::temp_dir dir;
    const auto file = make_run(dir, start_line + metric_line + end_line);
    for (const auto& p : {file, file.parent_path()}) {
        const auto run = read_run(p);
        CHECK(run.dir == file.parent_path());
        CHECK(run.experiment == "exp");
        CHECK(run.name == "r");
        CHECK(run.state == run_state::complete);
        CHECK(run.start_time_ns == 1'764'384'000'000'000'000);
        CHECK(run.end_time_ns == 1'764'384'001'000'000'000);
        CHECK(run.series.at("loss").at(0).time_ns == 1'764'384'000'500'000'000);
        CHECK(run.records.size() == 3);
    }
}

TEST_CASE("missing file: io.4") {
    unit::temp_dir dir;
    CHECK_ERROR_ID("io.4", read_run(dir.path() / "nope"));
    CHECK_ERROR_ID("io.4", read_run(dir.path()));  // a folder without events.jsonl
}

TEST_CASE("empty file: format.3") {
    unit::temp_dir dir;
    const auto file = make_run(dir, "");
    CHECK_ERROR_ID("format.3", read_run(file));
    const auto what = unit::error_of([&] { read_run(file); });
    CHECK(what.find(file.string()) != std::string::npos);
}

TEST_CASE("the first line must be a run_start of format mltrack.jsonl: format.2") {
    unit::temp_dir dir;
    CHECK_ERROR_ID("format.2", read_run(make_run(dir, metric_line + start_line)));
    CHECK_ERROR_ID("format.2", read_run(make_run(dir, "\n" + start_line)));
    CHECK_ERROR_ID("format.2", read_run(make_run(dir, "[1,2]\n")));
    CHECK_ERROR_ID("format.2", read_run(make_run(dir, "not json\n")));
    CHECK_ERROR_ID("format.2",
                   read_run(make_run(dir, R"({"kind":"run_start","format":"other","format_version":1,"experiment":"e","run":"r"})" "\n")));
    CHECK_ERROR_ID("format.2",
                   read_run(make_run(dir, R"({"kind":"run_start","format":"mltrack.jsonl","experiment":"e","run":"r"})" "\n")));
    CHECK_ERROR_ID("format.2",
                   read_run(make_run(dir, R"({"kind":"run_start","format":"mltrack.jsonl","format_version":1,"run":"r"})" "\n")));
    // even in lenient mode: without a valid first line there is no run
    read_options lenient;
    lenient.strict = false;
    CHECK_ERROR_ID("format.2", read_run(make_run(dir, metric_line + start_line), lenient));
    const auto what = unit::error_of([&] { read_run(make_run(dir, metric_line)); });
    CHECK(what.find("events.jsonl:1: ") != std::string::npos);
}

TEST_CASE("unsupported format_version: format.5") {
    unit::temp_dir dir;
    for (const char* v : {"2", "0", "-1", "1000"}) {
        CAPTURE(v);
        const std::string line = std::string(R"({"kind":"run_start","format":"mltrack.jsonl","format_version":)") + v +
                                 R"(,"experiment":"e","run":"r"})" "\n";
        CHECK_ERROR_ID("format.5", read_run(make_run(dir, line + metric_line)));
        read_options lenient;
        lenient.strict = false;
        CHECK_ERROR_ID("format.5", read_run(make_run(dir, line + metric_line), lenient));
    }
    const auto what = unit::error_of([&] {
        read_run(make_run(dir, R"({"kind":"run_start","format":"mltrack.jsonl","format_version":2,"experiment":"e","run":"r"})" "\n"));
    });
    CHECK(what.find("format_version 2 is not supported") != std::string::npos);
}

TEST_CASE("a torn last line is reported and skipped; earlier lines are kept") {
    unit::temp_dir dir;
    const auto file = make_run(dir, start_line + metric_line + R"({"kind":"metrics","time":17643)");
    const auto run = read_run(file);
    REQUIRE(run.torn_tail.has_value());
    CHECK(run.torn_tail->line == 3);
    CHECK(run.torn_tail->message == "torn last line (30 bytes) skipped");
    CHECK(run.records.size() == 2);
    CHECK(run.series.at("loss").size() == 1);
    CHECK(run.problems.empty());
    // a torn run_end: the run reads as still RUNNING
    const auto cut = start_line + end_line.substr(0, end_line.size() - 5);
    const auto r2 = read_run(make_run(dir, cut));
    CHECK(r2.torn_tail.has_value());
    CHECK(r2.state == run_state::running);
}

TEST_CASE("a malformed line in the middle: format.1 with file:line") {
    unit::temp_dir dir;
    const auto file = make_run(dir, start_line + metric_line + "{\"kind\":\"metrics\",,}\n" + metric_line + end_line);
    CHECK_ERROR_ID("format.1", read_run(file));
    const auto what = unit::error_of([&] { read_run(file); });
    CHECK(what.find(file.string() + ":3: malformed JSON") != std::string::npos);
    // a torn line followed by more lines is not a torn tail: it is malformed
    const auto glued = make_run(dir, start_line + R"({"kind":"metr)" "\n" + metric_line);
    CHECK_ERROR_ID("format.1", read_run(glued));
}

TEST_CASE("well-formed JSON with wrong content: format.1") {
    unit::temp_dir dir;
    const std::vector<std::string> bad = {
        R"({"kind":"metrics","step":1,"values":{"loss":"nan"}})",      // not one of the three strings
        R"({"kind":"metrics","step":1,"values":{"loss":null}})",       //
        R"({"kind":"metrics","step":1.5,"values":{"loss":1}})",        // step is an integer
        R"({"kind":"metrics","values":{"loss":1}})",                   // no step
        R"({"kind":"metrics","step":1,"values":[1]})",                 // values is an object
        R"({"kind":"summary","values":{"a":[1]}})",                    //
        R"({"kind":"params","values":{"a":null}})",                    // params: number, bool or string
        R"({"kind":"params","values":{"a":{"b":1}}})",                 //
        R"({"kind":"run_end","state":"DONE"})",                        // unknown state
        R"({"kind":"run_end"})",                                       //
        R"({"kind":"run_start","format":"mltrack.jsonl","format_version":1,"experiment":"e","run":"r"})",  // twice
        R"({"kind":"artifact","type":"weird","name":"a"})",            // unknown artifact type
        R"({"kind":"artifact","type":"model"})",                       // no name
        R"({"kind":"execution","name":"x","state":"??"})",             //
        R"({"kind":"classification","matrix":[[1.5]]})",               // cells are integers
        R"({"kind":"classification","labels":[1]})",                   //
        R"({"kind":"classification","fpr":"x"})",                      //
        R"({"kind":"metrics","time":"now","step":1,"values":{}})",     // time is a number
        R"({"kind":5})",                                               //
        R"({"no_kind":1})",                                            //
        R"("a string")",                                               // not an object
        R"({"kind":"params","values":{"a":1}} trailing)",              //
    };
    for (const auto& line : bad) {
        CAPTURE(line);
        const auto file = make_run(dir, start_line + line + "\n" + end_line);
        const auto what = unit::error_of([&] { read_run(file); });
        CHECK(unit::has_id(what, "format.1"));
        CHECK(what.find(":2: ") != std::string::npos);
        read_options lenient;
        lenient.strict = false;
        const auto run = read_run(file, lenient);
        REQUIRE(run.problems.size() == 1);
        CHECK(run.problems[0].line == 2);
        CHECK(run.state == run_state::complete);  // the lines after it were read
    }
}

TEST_CASE("lenient mode collects problems and keeps going") {
    unit::temp_dir dir;
    const auto file = make_run(dir, start_line + metric_line + "garbage\n" + metric_line + "{}\n" + end_line +
                                        "{\"kind\":\"met");
    read_options lenient;
    lenient.strict = false;
    const auto run = read_run(file, lenient);
    REQUIRE(run.problems.size() == 2);
    CHECK(run.problems[0].line == 3);
    CHECK(run.problems[0].message.rfind("malformed JSON", 0) == 0);
    CHECK(run.problems[1].line == 5);
    CHECK(run.problems[1].message == "missing \"kind\"");
    CHECK(run.series.at("loss").size() == 2);
    CHECK(run.state == run_state::complete);
    REQUIRE(run.torn_tail.has_value());
    CHECK(run.torn_tail->line == 7);
}

TEST_CASE("unknown kinds are skipped with a problem, in strict mode too (forward compatibility)") {
    unit::temp_dir dir;
    const auto file = make_run(dir, start_line + R"({"kind":"hologram","time":1.0,"data":[1,2,3]})" "\n" + metric_line);
    const auto run = read_run(file);
    REQUIRE(run.problems.size() == 1);
    CHECK(run.problems[0].line == 2);
    CHECK(run.problems[0].message == "unknown kind 'hologram' skipped");
    CHECK(run.records.size() == 2);
    // unknown fields are ignored
    const auto extra = make_run(dir, start_line +
                                         R"({"kind":"metrics","time":1.0,"step":2,"values":{"a":1},"future":{"x":1}})" "\n");
    CHECK(read_run(extra).series.at("a").at(0).step == 2);
}

TEST_CASE("binary garbage") {
    unit::temp_dir dir;
    std::mt19937 rng(9);
    for (int round = 0; round < 200; ++round) {
        std::string bytes(1 + rng() % 300, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng());
        if (round % 2) bytes = start_line + bytes;  // garbage after a valid first line
        const auto file = make_run(dir, bytes);
        try {
            const auto run = read_run(file);
            CHECK(run.name == "r");  // only possible with the valid first line
        } catch (const error& e) {
            const std::string what = e.what();
            CHECK((unit::has_id(what, "format.1") || unit::has_id(what, "format.2") || unit::has_id(what, "format.3")));
        }
        read_options lenient;
        lenient.strict = false;
        try {
            (void)read_run(file, lenient);
        } catch (const error& e) {
            CHECK(e.category() == error_category::format);
        }
    }
    // NUL bytes and invalid UTF-8 inside a line
    CHECK_ERROR_ID("format.1", read_run(make_run(dir, start_line + std::string("{\"kind\":\"x\0\"}\n", 14))));
    CHECK_ERROR_ID("format.1", read_run(make_run(dir, start_line + "{\"kind\":\"metrics\",\"step\":1,\"values\":{\"\xff\":1}}\n")));
}

TEST_CASE("a line longer than max_line_bytes: format.6") {
    unit::temp_dir dir;
    read_options small;
    small.max_line_bytes = 1000;
    const std::string huge = R"({"kind":"params","values":{"notes":")" + std::string(5000, 'x') + "\"}}\n";
    const auto file = make_run(dir, start_line + huge + end_line);
    CHECK_NOTHROW(read_run(file));  // the default limit is 64 MiB
    const auto what = unit::error_of([&] { read_run(file, small); });
    CHECK(unit::has_id(what, "format.6"));
    CHECK(what.find(":2: line longer than 1000 bytes") != std::string::npos);
    // longer than the reader's 64 KiB chunks
    const std::string bigger = R"({"kind":"params","values":{"notes":")" + std::string(300000, 'y') + "\"}}\n";
    small.max_line_bytes = 100000;
    CHECK_ERROR_ID("format.6", read_run(make_run(dir, start_line + bigger + end_line), small));
    small.strict = false;
    const auto run = read_run(make_run(dir, start_line + bigger + end_line), small);
    REQUIRE(run.problems.size() == 1);
    CHECK(run.problems[0].line == 2);
    CHECK(run.state == run_state::complete);  // the line after the huge one is read
    small.max_line_bytes = 1 << 20;
    small.strict = true;
    CHECK(read_run(make_run(dir, start_line + bigger + end_line), small).params.at("notes").as_string().size() ==
          300000);
}

TEST_CASE("artifact paths that could escape the run folder are rejected") {
    unit::temp_dir dir;
    for (const char* p : {"../x", "/etc/passwd", "artifacts/../../x", "artifacts/a/../../../x", "other/x", "artifacts",
                          "artifacts/..", "x/artifacts/y"}) {
        CAPTURE(p);
        const std::string line = std::string(R"({"kind":"artifact","type":"model","name":"m","source":"/s","path":")") + p +
                                 R"(","size":1})" "\n";
        const auto what = unit::error_of([&] { read_run(make_run(dir, start_line + line)); });
        CHECK(unit::has_id(what, "format.1"));
        CHECK(what.find("is not under artifacts/") != std::string::npos);
        // also inside executions
        const std::string ex = std::string(R"({"kind":"execution","name":"e","state":"COMPLETE","outputs":[{"type":"model","name":"m","path":")") +
                               p + R"("}]})" "\n";
        CHECK_ERROR_ID("format.1", read_run(make_run(dir, start_line + ex)));
    }
    for (const char* p : {"artifacts/m", "artifacts/m..v2", "artifacts/sub/dir/file", "artifacts/.hidden"}) {
        CAPTURE(p);
        const std::string line = std::string(R"({"kind":"artifact","type":"model","name":"m","source":"/s","path":")") + p +
                                 R"(","size":1})" "\n";
        const auto run = read_run(make_run(dir, start_line + line));
        REQUIRE(run.artifacts.size() == 1);
        CHECK(run.artifact_path(run.artifacts[0]) == dir.path() / "exp" / "r" / p);
    }
}

TEST_CASE("run_resume lines reset the state and merge metadata") {
    unit::temp_dir dir;
    const auto file = make_run(
        dir, R"({"kind":"run_start","time":1.0,"format":"mltrack.jsonl","format_version":1,"experiment":"exp","run":"r","metadata":{"a":1,"b":1}})" "\n" +
                 std::string(R"({"kind":"run_end","time":2.0,"state":"FAILED"})" "\n") +
                 R"({"kind":"run_resume","time":3.0,"discarded_bytes":12,"metadata":{"b":2}})" "\n" + metric_line);
    const auto run = read_run(file);
    CHECK(run.resumes == 1);
    CHECK(run.state == run_state::running);
    CHECK(run.end_time_ns == 0);
    CHECK(run.metadata == nlohmann::json{{"a", 1}, {"b", 2}});
    REQUIRE(run.records.size() == 4);
    CHECK(run.records[2].kind == record_kind::run_resume);
    CHECK(run.records[2].get_run().resumed);
    CHECK(run.records[2].get_run().name == "r");
    CHECK(run.records[2].time_ns == 3'000'000'000);
}

TEST_CASE("values: NaN strings, integers as floats, negative and missing times") {
    unit::temp_dir dir;
    const auto file = make_run(
        dir, start_line +
                 R"({"kind":"metrics","time":-1.5,"step":-9223372036854775808,"values":{"a":"NaN","b":"Infinity","c":"-Infinity","d":3,"e":-0.0}})" "\n" +
                 R"({"kind":"params","values":{"i":3,"f":3.0,"big":9223372036854775807,"s":"x","b":false}})" "\n");
    const auto run = read_run(file);
    const auto& m = run.records.at(1);
    CHECK(m.time_ns == -1'500'000'000);
    CHECK(m.step == std::numeric_limits<std::int64_t>::min());
    CHECK(std::isnan(run.series.at("a")[0].value));
    CHECK(run.series.at("b")[0].value == HUGE_VAL);
    CHECK(run.series.at("c")[0].value == -HUGE_VAL);
    CHECK(run.series.at("d")[0].value == 3.0);
    CHECK(std::signbit(run.series.at("e")[0].value));
    CHECK(run.records.at(2).time_ns == 0);            // no "time"
    CHECK(run.params.at("i").is_int());
    CHECK(run.params.at("f").is_double());
    CHECK(run.params.at("big").as_int() == std::numeric_limits<std::int64_t>::max());
    CHECK(run.params.at("b") == param_value(false));
}

TEST_CASE("a number that overflows a double is a malformed line, not another exception type") {
    unit::temp_dir dir;
    const auto file = make_run(dir, start_line + R"({"kind":"metrics","time":1.0,"step":1,"values":{"f":1e400}})" "\n");
    CHECK_ERROR_ID("format.1", read_run(file));
}

TEST_CASE("read_experiment: runs sorted by name; foreign folders skipped; io.5 when missing") {
    unit::temp_dir dir;
    for (const char* name : {"b", "a", "c"}) {
        const std::string line = std::string(R"({"kind":"run_start","time":1.0,"format":"mltrack.jsonl","format_version":1,"experiment":"exp","run":")") +
                                 name + "\"}\n";
        unit::write_file(dir.path() / "exp" / name / "events.jsonl", line);
    }
    fs::create_directories(dir.path() / "exp" / "no-events");
    unit::write_file(dir.path() / "exp" / ".hidden" / "events.jsonl", "junk\n");
    unit::write_file(dir.path() / "exp" / "stray-file", "x");
    const auto runs = read_experiment(dir.path(), "exp");
    REQUIRE(runs.size() == 3);
    CHECK(runs[0].name == "a");
    CHECK(runs[1].name == "b");
    CHECK(runs[2].name == "c");
    CHECK_ERROR_ID("io.5", read_experiment(dir.path(), "missing"));
    CHECK_ERROR_ID("name.4", read_experiment(dir.path(), ".."));
    CHECK_ERROR_ID("name.3", read_experiment(dir.path(), "exp/a"));
}
