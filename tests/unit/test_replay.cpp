// replay.hpp: a run read from JSONL replayed into any sink as the events the live tracker produced.
#include <mltrack/replay.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/tracker.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

std::atomic<std::int64_t> now_ns{0};

config det(const char* experiment) {
    now_ns = 1'764'384'000'000'000'000;
    config c{experiment};
    c.dispatch = dispatch_mode::inline_;
    c.clock = []() noexcept { return now_ns.fetch_add(1'000'000); };  // whole microseconds: exact in JSONL
    c.on_error = [](const sink_error& e) { FAIL("sink error: " << e.message); };
    return c;
}

/// Logs every record kind; keys in alphabetical order (the reader's order within one line).
void log_everything(run& r, const fs::path& scratch) {
    unit::write_file(scratch / "model.bin", "weights");
    r.log_params({{"batch", 64}, {"lr", 0.01}, {"optimizer", "adam"}});
    for (int s = 0; s < 50; ++s) {
        r.log_time_series({{"a/acc", s / 50.0}, {"b/loss", 1.0 / (s + 1)}}, s);
        r.log("c/nan", s % 7 ? s * 0.5 : std::nan(""), s);
    }
    r.log_metrics({{"accuracy", 0.97}, {"f1", -0.0}});
    r.log_classification_metrics({"cat", "dog"}, {{9, 1}, {2, 8}}, {0.1, 0.5}, {0.6, 0.9}, {0.9, 0.1}, "val");
    const auto model = r.log_model(scratch / "model.bin", {"xgboost", "1.7.4"});
    execution e;
    e.name = "train";
    e.inputs.push_back(artifact::reference("data", "gs://b/data.csv"));
    e.outputs.push_back(model);
    r.log_execution(e);
    r.end(run_state::failed);
}

using key = std::tuple<int, std::int64_t, std::int64_t, std::string, std::string>;

/// A comparable summary of one memory entry: kind, time, step, metric and value (or payload as text).
key summarize(const sinks::memory::entry& e) {
    std::string what;
    if (e.kind == record_kind::metric) {
        what = std::isnan(e.value) ? "NaN" : std::to_string(e.value) + (std::signbit(e.value) ? "-" : "+");
    } else if (e.payload) {
        const auto& p = *e.payload;
        switch (p.kind) {
            case record_kind::params:
                for (const auto& kv : p.get_params()) what += kv.first + "=" + kv.second.to_text() + ";";
                break;
            case record_kind::summary:
                for (const auto& kv : p.get_values()) what += kv.first + "=" + std::to_string(kv.second) + ";";
                break;
            case record_kind::classification: what = p.get_classification().display_name; break;
            case record_kind::artifact: what = p.get_artifact().name + "/" + p.get_artifact().sha256; break;
            case record_kind::execution: what = p.get_execution().name; break;
            case record_kind::run_end: what = to_string(p.get_state()); break;
            default: break;
        }
    } else {
        what = e.info.name + "/" + e.info.experiment + "/" + e.info.metadata.dump();
    }
    return {static_cast<int>(e.kind), e.time_ns, e.step, e.metric, what};
}

std::vector<key> summarize_all(const sinks::memory& m) {
    std::vector<key> out;
    for (const auto& e : m.entries()) out.push_back(summarize(e));
    return out;
}

}  // namespace

TEST_CASE("replay into a memory sink reproduces every event the live tracker produced") {
    unit::temp_dir dir;
    sinks::memory live;
    {
        basic_tracker<sinks::memory, sinks::jsonl> t{det("exp"), live, sinks::jsonl{dir.path() / "root"}};
        auto r = t.start_run("r", start_mode::create, {{"seed", 7}});
        log_everything(r, dir.path());
    }
    const auto run = read_run(dir.path() / "root" / "exp" / "r");
    sinks::memory replayed;
    const auto next = replay(run, replayed);
    CHECK(next == run.records.size());
    const auto a = summarize_all(live);
    const auto b = summarize_all(replayed);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        CHECK(a[i] == b[i]);
    }
    // payloads are the same records, field by field for the rich ones
    const auto le = live.entries();
    const auto re = replayed.entries();
    for (std::size_t i = 0; i < le.size(); ++i) {
        if (le[i].kind == record_kind::classification) {
            const auto& x = le[i].payload->get_classification();
            const auto& y = re[i].payload->get_classification();
            CHECK(x.labels == y.labels);
            CHECK(x.matrix == y.matrix);
            CHECK(x.fpr == y.fpr);
            CHECK(x.tpr == y.tpr);
            CHECK(x.thresholds == y.thresholds);
        }
        if (le[i].kind == record_kind::execution) {
            const auto& x = le[i].payload->get_execution();
            const auto& y = re[i].payload->get_execution();
            CHECK(x.inputs.size() == y.inputs.size());
            CHECK(x.outputs.at(0).sha256 == y.outputs.at(0).sha256);
            CHECK(x.outputs.at(0).path == y.outputs.at(0).path);
        }
    }
    CHECK(re.front().info.metadata.at("seed") == 7);
    CHECK_FALSE(re.front().info.resumed);
}

TEST_CASE("replay into a JSONL sink writes the same bytes (one code path for live and sync)") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::jsonl{dir.path() / "a"}};
        auto r = t.start_run("r");
        log_everything(r, dir.path());
    }
    const auto run = read_run(dir.path() / "a" / "exp" / "r");
    {
        sinks::jsonl copy{dir.path() / "b"};
        replay(run, copy);
        copy.close();
    }
    const auto original = unit::read_file(dir.path() / "a" / "exp" / "r" / "events.jsonl");
    const auto replayed = unit::read_file(dir.path() / "b" / "exp" / "r" / "events.jsonl");
    CHECK(original == replayed);
    CHECK(unit::parse_jsonl(dir.path() / "b" / "exp" / "r" / "events.jsonl").size() ==
          unit::parse_jsonl(dir.path() / "a" / "exp" / "r" / "events.jsonl").size());
    CHECK(unit::read_file(dir.path() / "b" / "exp" / "r" / "artifacts" / "model.bin") == "weights");
}

TEST_CASE("from_record: a cursor in the middle emits run_resume first") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        log_everything(r, dir.path());
    }
    const auto run = read_run(dir.path() / "exp" / "r");
    const std::size_t k = 10;
    REQUIRE(run.records[k].kind == record_kind::metric);
    sinks::memory tail;
    replay_options opts;
    opts.from_record = k;
    opts.run_id = 42;
    CHECK(replay(run, tail, opts) == run.records.size());
    const auto e = tail.entries();
    REQUIRE_FALSE(e.empty());
    CHECK(e[0].kind == record_kind::run_resume);
    CHECK(e[0].info.resumed);
    CHECK(e[0].info.id == 42);
    CHECK(e[0].info.name == "r");
    CHECK(e[0].time_ns == run.records[k].time_ns);
    CHECK(e[1].step == run.records[k].step);
    CHECK(tail.count(record_kind::run_start) == 0);
    CHECK(tail.count(record_kind::run_end) == 1);
    // the cursor at the start and past the end
    sinks::memory none;
    opts.from_record = run.records.size();
    CHECK(replay(run, none, opts) == run.records.size());
    CHECK(none.entries().empty());
    opts.from_record = run.records.size() + 100;
    CHECK(replay(run, none, opts) == run.records.size());
    CHECK(none.writes() == 0);
    // head + tail = everything
    sinks::memory full;
    CHECK(replay(run, full) == run.records.size());
    std::size_t head_points = 0;
    for (std::size_t i = 0; i < k; ++i)
        if (run.records[i].kind == record_kind::metric) head_points += run.records[i].get_values().size();
    CHECK(full.count(record_kind::metric) == head_points + tail.count(record_kind::metric));
}

TEST_CASE("a resumed run replays its run_resume as it is; batch_size bounds write() calls") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        for (int s = 0; s < 10; ++s) r.log("x", s, s);
    }
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r", start_mode::resume, {{"attempt", 2}});
        for (int s = 10; s < 20; ++s) r.log("x", s, s);
    }
    const auto run = read_run(dir.path() / "exp" / "r");
    sinks::memory mem;
    replay_options opts;
    opts.batch_size = 3;
    replay(run, mem, opts);
    const auto e = mem.entries();
    CHECK(mem.count(record_kind::run_start) == 1);
    CHECK(mem.count(record_kind::run_resume) == 1);
    CHECK(mem.count(record_kind::run_end) == 2);
    CHECK(mem.count(record_kind::metric) == 20);
    const auto resume = std::find_if(e.begin(), e.end(), [](const auto& x) { return x.kind == record_kind::run_resume; });
    REQUIRE(resume != e.end());
    CHECK(resume->info.resumed);
    CHECK(resume->info.metadata.at("attempt") == 2);
    // run opening events are written alone; other writes carry at most batch_size events
    CHECK(mem.writes() >= 20 / 3);
    // starting exactly at the run_resume record: no synthetic resume before it
    std::size_t at = 0;
    while (run.records[at].kind != record_kind::run_resume) ++at;
    sinks::memory tail;
    opts.from_record = at;
    replay(run, tail, opts);
    CHECK(tail.count(record_kind::run_resume) == 1);
    CHECK(tail.entries().front().kind == record_kind::run_resume);
}

TEST_CASE("replay from the file, streamed, gives the events of replay(read_run), from any cursor") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r", start_mode::create, {{"seed", 7}});
        log_everything(r, dir.path());
    }
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r", start_mode::resume, {{"attempt", 2}});
        for (int s = 50; s < 60; ++s) r.log("x", s, s);
    }
    const fs::path folder = dir.path() / "exp" / "r";
    const auto run = read_run(folder);
    for (std::size_t from : {std::size_t{0}, std::size_t{1}, std::size_t{10}, run.records.size() - 3,
                             run.records.size(), run.records.size() + 5}) {
        CAPTURE(from);
        replay_options opts;
        opts.from_record = from;
        opts.batch_size = 7;
        sinks::memory in_memory, streamed;
        const auto a = replay(run, in_memory, opts);
        const auto b = replay(folder, streamed, opts);
        CHECK(a == b);
        const auto x = summarize_all(in_memory);
        const auto y = summarize_all(streamed);
        REQUIRE(x.size() == y.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            CAPTURE(i);
            if (from >= 1 && from < run.records.size() && i == 0) {
                // A mid-run start: the synthetic run_resume carries the metadata as of the cursor when
                // streamed (the in-memory replay knows the end's); everything else is the same.
                CHECK(std::get<0>(x[i]) == std::get<0>(y[i]));
                CHECK(std::get<1>(x[i]) == std::get<1>(y[i]));
                continue;
            }
            CHECK(x[i] == y[i]);
        }
    }
}

TEST_CASE("a streamed replay skips what the reader refuses (lenient) and counts only records") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::jsonl{dir.path()}};
        auto r = t.start_run("r");
        for (int s = 0; s < 5; ++s) r.log("x", s, s);
    }
    const fs::path file = dir.path() / "exp" / "r" / "events.jsonl";
    unit::append_file(file, "{\"kind\":\"metrics\",\"time\":1,\"step\":18446744073709551615,\"values\":{\"x\":1}}\n");
    unit::append_file(file, "{\"kind\":\"metrics\",\"time\":1,\"step\":9,\"values\":{\"x\":2}}\n{\"kind\":\"metr");
    sinks::memory mem;
    read_options lenient;
    lenient.strict = false;
    const auto next = replay(file, mem, {}, lenient);
    CHECK(next == read_run(file, lenient).records.size());
    CHECK(mem.count(record_kind::metric) == 6);  // the step beyond int64 and the torn tail are not sent
    CHECK_ERROR_ID("format.1", replay(file, mem));  // strict by default
}
