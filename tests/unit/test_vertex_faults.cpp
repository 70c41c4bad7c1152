// The Vertex sink under faults, against the fake server: injected 429 (with and without Retry-After),
// 401, 500, 503, connection resets before and after the server applied a request, slow responses past
// the client's timeout, etag conflicts, a server down for a whole run and synced later. The invariants:
// zero points lost, zero duplicated, every resource exactly once (needs -lcurl -lcrypto).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <sys/socket.h>
#include <netinet/in.h>

#include <mltrack/sinks/vertex_ai.hpp>

#include "../vertex/vertex_fixture.hpp"

using namespace vertex_test;
namespace sinks = mltrack::sinks;

namespace {

const int scale = UNIT_SANITIZED ? 4 : 1;

int dead_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

struct logged {
    std::map<std::string, std::map<std::string, std::vector<std::pair<std::int64_t, double>>>> series;  // run -> key
};

/// Two runs, three series each, params and summary metrics logged in several calls, classification
/// metrics, a model and an execution per run.
logged log_workload(mltrack::tracker& t, const unit::temp_dir& dir, int steps) {
    logged out;
    unit::write_file(dir / "model.bin", "weights");
    for (const std::string name : {"run-a", "run-b"}) {
        auto run = t.start_run(name);
        auto loss = run.metric("loss");
        auto acc = run.metric("acc");
        auto lr = run.metric("lr");
        for (int s = 1; s <= steps; ++s) {
            const double v = std::sin(s) + (name == "run-a" ? 0 : 10);
            loss.log(v, s);
            out.series[name]["loss"].emplace_back(s, v);
            if (s % 3 == 0) {
                acc.log(v / 2, s);
                out.series[name]["acc"].emplace_back(s, v / 2);
            }
            if (s % 100 == 0) {
                lr.log(1.0 / s, s);
                out.series[name]["lr"].emplace_back(s, 1.0 / s);
                run.log_params({{"p" + std::to_string(s / 100), s}});
                run.log_metrics({{"best", v}});
            }
        }
        run.log_classification_metrics({"a", "b"}, {{3, 1}, {0, 4}});
        auto model = run.log_model(dir / "model.bin", {"custom", "1"});
        mltrack::execution e;
        e.name = "fit";
        e.inputs.push_back(mltrack::artifact::reference("data", "gs://data/" + name));
        e.outputs.push_back(model);
        run.log_execution(e);
        run.end();
    }
    return out;
}

/// Everything the workload must have produced, exactly once.
void check_workload(nlohmann::json st, const logged& expect, int steps) {
    CHECK(st["validation_errors"].empty());
    CHECK(st["sdk_errors"].empty());
    CHECK(st["unknown"].empty());
    CHECK(st["contexts"].size() == 3);
    CHECK(st["tensorboards"].size() == 1);
    CHECK(st["tb_experiments"].size() == 1);
    CHECK(st["tb_runs"].size() == 2);
    CHECK(st["artifacts"].size() == 8);  // per run: -tb-run, classification, model, dataset
    CHECK(st["executions"].size() == 2);
    CHECK(st["events"].size() == 4);
    CHECK(st["objects"].size() == 2);
    for (const auto& run : expect.series) {
        auto ctx = st["contexts"][store + "/contexts/exp-faults-" + run.first];
        CHECK(ctx["metadata"]["_state"] == "COMPLETE");
        auto params = ctx["metadata"]["_params"];
        params.erase("concurrent_writer");  // another writer's key, kept by the re-read and merge
        CHECK(params.size() == static_cast<std::size_t>(steps / 100));
        CHECK(ctx["metadata"]["_metrics"].contains("best"));
        CHECK(ctx["parentContexts"].size() == 1);
        CHECK(st["context_artifacts"][store + "/contexts/exp-faults-" + run.first].size() == 4);
        const std::string tb = st["tensorboards"].begin().key();
        const auto series = series_by_key(st, tb + "/experiments/exp-faults/runs/" + run.first);
        REQUIRE(series.size() == run.second.size());
        for (const auto& kv : run.second) {
            const auto got = points_of(series.at(kv.first));
            CHECK_MESSAGE(got == kv.second, run.first << " " << kv.first << ": " << got.size() << " points, "
                                                      << kv.second.size() << " logged");
        }
    }
}

std::size_t total_points(const logged& l) {
    std::size_t n = 0;
    for (const auto& r : l.series)
        for (const auto& s : r.second) n += s.second.size();
    return n;
}

}  // namespace

TEST_CASE("vertex faults: 20% of requests fail in every way; nothing is lost or duplicated") {
    fixture f;
    unit::temp_dir dir;
    // Tokens from the metadata server, so token refreshes meet faults too.
    f.env.set("GCE_METADATA_HOST", f.server.host());
    f.server.config({{"expires_in", 3600}});
    f.server.faults(nlohmann::json::parse(R"([
        {"methods": ".", "kind": "status", "status": 429, "retry_after": "0", "probability": 0.03},
        {"methods": ".", "kind": "status", "status": 429, "probability": 0.03},
        {"methods": ".", "kind": "status", "status": 500, "probability": 0.03},
        {"methods": ".", "kind": "status", "status": 503, "probability": 0.03},
        {"methods": ".", "kind": "status", "status": 401, "probability": 0.02},
        {"methods": ".", "kind": "reset", "probability": 0.03},
        {"methods": ".", "kind": "reset_after", "probability": 0.03},
        {"methods": ".", "kind": "slow", "delay": 0.6, "probability": 0.01},
        {"methods": "contexts.patch", "paths": "contexts/exp-faults-run", "kind": "etag_conflict", "probability": 0.3}
    ])"),
                     7);
    auto o = f.options();
    o.access_token.clear();
    o.request_timeout = std::chrono::milliseconds(400);
    o.max_points_per_request = 100;  // more requests, so more of them meet faults
    const int steps = 3000 / scale;
    sinks::vertex_ai sink{o};
    auto mon = sink.monitor();
    logged expect;
    {
        mltrack::tracker t{f.config("exp-faults"), sinks::jsonl{dir / "mlruns"}, std::move(sink)};
        expect = log_workload(t, dir, steps);
    }
    auto st = f.server.state();
    INFO(f.joined_errors());
    const auto stats = mon.stats();
    MESSAGE("faults injected: " << st["faults_injected"].dump() << "; requests " << stats.requests << ", retries "
                                << stats.retries << ", points resent after a lost answer " << st["overwrites"]);
    CHECK(f.joined_errors().find("io.41") == std::string::npos);  // nothing given up
    CHECK(f.joined_errors().find("io.44") == std::string::npos);  // everything delivered at close
    check_workload(st, expect, steps);
    CHECK(stats.points_sent == total_points(expect));
    CHECK(stats.points_dropped == 0);
    CHECK(stats.points_rejected == 0);
    CHECK(stats.points_buffered == 0);
    CHECK(stats.operations_rejected == 0);
    CHECK(stats.retries > 0);
    CHECK(stats.throttled > 0);
    CHECK(stats.aborted > 0);
    CHECK(stats.token_refreshes >= 2);
    CHECK(st["faults_injected"].size() >= 7);
    // Another writer changed a run context between our read and our PATCH: its key survived the re-merge.
    CHECK((st["contexts"][store + "/contexts/exp-faults-run-a"]["metadata"]["_params"].contains("concurrent_writer") ||
           st["contexts"][store + "/contexts/exp-faults-run-b"]["metadata"]["_params"].contains("concurrent_writer")));
}

TEST_CASE("vertex faults: Retry-After is honored") {
    fixture f;
    f.server.faults(nlohmann::json::parse(
        R"([{"methods": "runs.write", "kind": "status", "status": 429, "retry_after": "1", "count": 1}])"));
    {
        mltrack::tracker t{f.config("exp-ra"), sinks::vertex_ai{f.options()}};
        auto run = t.start_run("r");
        run.log("x", 1, 1);
    }
    const auto log = f.server.get("/_control/log");
    std::vector<double> writes;
    for (const auto& e : log)
        if (e["method"] == "tensorboards.experiments.runs.write") writes.push_back(e["t"]);
    REQUIRE(writes.size() == 2);
    CHECK(writes[1] - writes[0] >= 0.95);  // backoff_max is 100 ms: only Retry-After makes it a second
    CHECK(points_of(series_by_key(f.server.state(), f.server.state()["tb_runs"].begin().key()).at("x")).size() == 1);
}

TEST_CASE("vertex faults: the service down for the whole run; a later sync completes it without duplicates") {
    fixture f;
    unit::temp_dir dir;
    auto down = f.options();
    down.endpoint = "http://127.0.0.1:" + std::to_string(dead_port());
    down.gcs_endpoint = down.endpoint;
    down.close_timeout = std::chrono::milliseconds(300);
    down.check_exists = false;
    const int steps = 1200 / scale;
    sinks::vertex_ai sink{down};
    auto mon = sink.monitor();
    logged expect;
    {
        mltrack::tracker t{f.config("exp-faults"), sinks::jsonl{dir / "mlruns"}, std::move(sink)};
        expect = log_workload(t, dir, steps);
    }
    const auto stats = mon.stats();
    CHECK(stats.points_sent == 0);
    CHECK(stats.points_dropped == 0);
    CHECK(stats.undelivered_points == total_points(expect));
    CHECK(stats.undelivered_operations > 0);
    CHECK(f.joined_errors().find("io.44") != std::string::npos);
    CHECK(f.joined_errors().find("io.40") == std::string::npos);  // transport failures are retried, not fatal
    CHECK(f.server.state()["requests_by_method"].empty());

    // `mltrack sync`: replay the JSONL copy into a Vertex sink that can reach the service.
    auto sync = [&](int round) {
        auto o = f.options();
        o.local_root = (dir / "mlruns").string();
        sinks::vertex_ai s{o};
        for (const std::string name : {"run-a", "run-b"}) {
            const auto data = mltrack::read_run(dir / "mlruns", "exp-faults", name);
            mltrack::replay(data, s, {});
        }
        s.close();
        INFO("sync round " << round);
        CHECK(s.stats().points_sent == total_points(expect));
    };
    sync(1);
    auto st = f.server.state();
    check_workload(st, expect, steps);
    CHECK(st["overwrites"] == 0);
    const auto contexts = st["contexts"].size();
    // Syncing again changes nothing but rewrites the same points (same step, same value: overwritten).
    sync(2);
    st = f.server.state();
    check_workload(st, expect, steps);
    CHECK(st["contexts"].size() == contexts);
    CHECK(st["overwrites"].get<std::size_t>() == total_points(expect));
}

TEST_CASE("vertex faults: the service goes away mid-run, comes back, and a sync fills the gap") {
    fixture f;
    unit::temp_dir dir;
    auto o = f.options();
    o.close_timeout = std::chrono::milliseconds(300);
    const int steps = 1200 / scale;
    logged expect;
    {
        mltrack::tracker t{f.config("exp-faults"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{o}};
        auto run = t.start_run("run-a");
        for (int s = 1; s <= steps; ++s) {
            if (s == steps / 2) {
                t.flush();
                wait_until([&] { return f.server.state()["point_writes"].get<int>() >= steps / 2 - 1; });
                f.server.faults(nlohmann::json::parse(R"([{"methods": ".", "kind": "reset"}])"));
            }
            run.log("loss", s, s);
            expect.series["run-a"]["loss"].emplace_back(s, s);
        }
        run.end();
    }
    f.server.clear_faults();
    CHECK(f.joined_errors().find("io.44") != std::string::npos);
    auto st = f.server.state();
    CHECK(st["contexts"][store + "/contexts/exp-faults-run-a"]["metadata"]["_state"] == "RUNNING");
    auto partial = points_of(series_by_key(st, st["tb_runs"].begin().key()).at("loss"));
    CHECK(partial.size() >= static_cast<std::size_t>(steps / 2 - 1));
    CHECK(partial.size() < static_cast<std::size_t>(steps));

    auto so = f.options();
    sinks::vertex_ai s{so};
    mltrack::replay(mltrack::read_run(dir / "mlruns", "exp-faults", "run-a"), s, {});
    s.close();
    st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["contexts"][store + "/contexts/exp-faults-run-a"]["metadata"]["_state"] == "COMPLETE");
    CHECK(points_of(series_by_key(st, st["tb_runs"].begin().key()).at("loss")) == expect.series["run-a"]["loss"]);
    CHECK(st["time_series"].size() == 1);
    CHECK(st["artifacts"].size() == 1);
}

TEST_CASE("vertex faults: syncing runs that never ended, one after the other into one sink, sends them all") {
    fixture f;
    unit::temp_dir dir;
    mltrack::run a, b;
    {
        mltrack::tracker t{f.config("exp-sync-open"), sinks::jsonl{dir / "mlruns"}};
        a = t.start_run("a");
        b = t.start_run("b");
        for (int s = 0; s < 3000; ++s) {
            a.log("x", s, s);
            b.log("y", -s, s);
        }
    }  // the tracker closes first: both runs stay RUNNING, as after a crash
    sinks::vertex_ai s{f.options()};
    for (const char* n : {"a", "b"}) mltrack::replay(mltrack::read_run(dir / "mlruns", "exp-sync-open", n), s);
    s.close();
    const auto st = f.server.state();
    const std::string tb = st["tensorboards"].begin().key();
    CHECK(points_of(series_by_key(st, tb + "/experiments/exp-sync-open/runs/a").at("x")).size() == 3000);
    CHECK(points_of(series_by_key(st, tb + "/experiments/exp-sync-open/runs/b").at("y")).size() == 3000);
    CHECK(st["contexts"][store + "/contexts/exp-sync-open-a"]["metadata"]["_state"] == "RUNNING");
}

TEST_CASE("vertex faults: what waits for the service is bounded, and what does not fit is counted and reported") {
    fixture f;
    auto o = f.options();
    o.endpoint = "http://127.0.0.1:" + std::to_string(dead_port());
    o.max_buffered_points = 1000;
    o.max_queued_requests = 8;
    o.close_timeout = std::chrono::milliseconds(100);
    o.check_exists = false;
    sinks::vertex_ai sink{o};
    auto mon = sink.monitor();
    {
        mltrack::tracker t{f.config("exp-bounds"), std::move(sink)};
        auto run = t.start_run("r");
        for (int s = 0; s < 5000; ++s) run.log("loss", s, s);
        for (int i = 0; i < 20; ++i) run.log_classification_metrics({"a"}, {{1}});
    }
    const auto stats = mon.stats();
    CHECK(stats.points_dropped == 4000);
    CHECK(stats.undelivered_points == 1000);
    CHECK(stats.operations_refused > 0);
    CHECK(f.joined_errors().find("io.43") != std::string::npos);
}

TEST_CASE("vertex faults: a slow service never blocks the writer thread, so logging never waits on it") {
    fake_vertex own;  // its slow requests must not leak into other tests' state
    fixture f;
    own.faults(nlohmann::json::parse(R"([{"methods": ".", "kind": "slow", "delay": 30.0}])"));
    auto o = f.options();
    o.endpoint = own.url();
    o.check_exists = false;
    o.request_timeout = std::chrono::milliseconds(60000);
    o.close_timeout = std::chrono::milliseconds(50);
    const auto t0 = std::chrono::steady_clock::now();
    {
        mltrack::tracker t{f.config("exp-slow"), sinks::vertex_ai{o}};
        auto run = t.start_run("r");
        auto loss = run.metric("loss");
        for (int s = 0; s < 200000; ++s) loss.log(s, s);
        for (int i = 0; i < 5; ++i) t.flush();  // each waits for the writer: it must not be inside a request
        run.log_params({{"a", 1}});
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // A liveness bound, not a benchmark: one request alone takes 30 s on this server, so a writer that
    // waited on the network even once could not get here in 20 s (generous for sanitizer builds).
    CHECK(secs < 20.0);
}

TEST_CASE("vertex faults: permanent refusals are reported once and counted, the rest goes on") {
    fixture f;
    f.server.faults(nlohmann::json::parse(
        R"([{"methods": "artifacts.create", "paths": "artifactId=cm-", "kind": "status", "status": 403}])"));
    sinks::vertex_ai sink{f.options()};
    auto mon = sink.monitor();
    {
        mltrack::tracker t{f.config("exp-403"), std::move(sink)};
        auto run = t.start_run("r");
        run.log_classification_metrics({"a"}, {{1}});
        run.log_params({{"a", 1}});
    }
    CHECK(mon.stats().operations_rejected == 1);
    CHECK(f.joined_errors().find("io.41") != std::string::npos);
    CHECK(f.joined_errors().find("403") != std::string::npos);
    const auto st = f.server.state();
    CHECK(st["contexts"][store + "/contexts/exp-403-r"]["metadata"]["_params"]["a"] == 1);
    CHECK(st["contexts"][store + "/contexts/exp-403-r"]["metadata"]["_state"] == "COMPLETE");
}

TEST_CASE("vertex faults: steps the writer picks, histograms, string metrics and a live execution survive 20% faults") {
    fixture f;
    unit::temp_dir dir;
    f.server.faults(nlohmann::json::parse(R"([
        {"methods": ".", "kind": "status", "status": 429, "retry_after": "0", "probability": 0.04},
        {"methods": ".", "kind": "status", "status": 503, "probability": 0.04},
        {"methods": ".", "kind": "reset", "probability": 0.04},
        {"methods": ".", "kind": "reset_after", "probability": 0.05},
        {"methods": "patch", "kind": "etag_conflict", "probability": 0.2}
    ])"),
                    11);
    auto o = f.options();
    o.request_timeout = std::chrono::milliseconds(400);
    o.max_points_per_request = 50;
    const int steps = 600 / scale;
    unit::write_file(dir / "model.bin", "weights");
    std::string exec_id;
    {
        mltrack::tracker t{f.config("exp-faults2"), sinks::jsonl{dir / "mlruns"}, sinks::vertex_ai{o}};
        auto run = t.start_run("run-x");
        auto ex = run.start_execution("train", {}, {mltrack::artifact::reference("data", "gs://data/x")});
        exec_id = ex.id();
        auto loss = run.metric("loss");
        for (int s = 0; s < steps; ++s) {
            loss.log(s * 0.5);  // steps 1..steps
            if (s % 50 == 0) {
                run.log_time_series({{"val", -s}});
                run.log_histogram("w", {0.1 * s, 0.2, 0.3}, s, 3);
                run.log_metrics({{"best", s}, {"phase", "step " + std::to_string(s)}});
                ex.update({{"at", s}});
            }
        }
        ex.add_outputs({run.log_model(dir / "model.bin", {"custom", "1"})});
    }
    const auto st = f.server.state();
    INFO(f.joined_errors());
    MESSAGE("faults injected: " << st["faults_injected"].dump() << "; points resent after a lost answer: "
                                << st["overwrites"]);
    CHECK(f.joined_errors().find("io.41") == std::string::npos);
    CHECK(f.joined_errors().find("io.44") == std::string::npos);
    CHECK(st["validation_errors"].empty());
    CHECK(st["sdk_errors"].empty());
    const auto jsonl = mltrack::read_run(dir / "mlruns" / "exp-faults2" / "run-x");
    const std::string tb = st["tensorboards"].begin().key();
    const auto series = series_by_key(st, tb + "/experiments/exp-faults2/runs/run-x");
    for (const auto& kv : jsonl.series) {  // every point once, at the step the JSONL copy has
        std::vector<std::pair<std::int64_t, double>> want;
        for (const auto& p : kv.second) want.emplace_back(p.step, p.value);
        std::sort(want.begin(), want.end());
        CHECK_MESSAGE(points_of(series.at(kv.first)) == want, kv.first);
    }
    CHECK(jsonl.series.at("loss").back().step == steps);
    REQUIRE(series.at("w")["points"].size() == jsonl.histograms.at("w").size());
    const auto& md = st["contexts"][store + "/contexts/exp-faults2-run-x"]["metadata"];
    CHECK(md["_metrics"]["phase"] == jsonl.summary_text.at("phase"));
    CHECK(md["_metrics"]["best"] == jsonl.summary.at("best"));
    REQUIRE(st["executions"].size() == 1);
    const auto& ex = st["executions"][store + "/executions/" + exec_id];
    CHECK(ex["state"] == "COMPLETE");
    CHECK(ex["metadata"]["at"] == ((steps - 1) / 50) * 50);
    CHECK(st["events"].size() == 2);  // one INPUT, one OUTPUT: never twice
}
