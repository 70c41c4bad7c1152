// `mltrack sync ROOT --to vertex:PROJECT/LOCATION`: runs logged offline to JSONL reach the fake Vertex AI
// service through the real command and libcurl, a second sync sends nothing, and points logged after the
// first sync are sent by the next one, into the same run.
#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>
#include <mltrack/sinks/vertex_ai.hpp>

#include <string>

#include "../vertex/vertex_fixture.hpp"
#include "cli/cli_support.hpp"

using namespace vertex_test;
namespace fs = std::filesystem;

namespace {

mltrack::config offline(const std::string& experiment) {
    mltrack::config c{experiment};
    c.dispatch = mltrack::dispatch_mode::inline_;
    return c;
}

void log_steps(const fs::path& root, mltrack::start_mode mode, int first, int last) {
    mltrack::tracker t{offline("exp-sync"), mltrack::sinks::jsonl{root}};
    auto run = t.start_run("run-1", mode);
    if (mode == mltrack::start_mode::create) run.log_params({{"lr", 0.5}, {"optimizer", "sgd"}});
    auto loss = run.metric("loss");
    for (int s = first; s <= last; ++s) loss.log(1.0 / s, s);
    run.log_metrics({{"final", 1.0 / last}});
}

std::size_t loss_points(fixture& f) {
    const auto st = f.server.state();
    if (st["tensorboards"].empty()) return 0;
    const std::string tb = st["tensorboards"].begin().key();
    const auto series = series_by_key(st, tb + "/experiments/exp-sync/runs/run-1");
    return series.count("loss") ? points_of(series.at("loss")).size() : 0;
}

}  // namespace

TEST_CASE("mltrack sync --to vertex: idempotent and incremental") {
    if (cli_test::skip_without_binary()) return;
    fixture f;
    unit::temp_dir dir;
    const fs::path root = dir / "mlruns";
    log_steps(root, mltrack::start_mode::create, 1, 50);

    f.env.set("GOOGLE_OAUTH_ACCESS_TOKEN", "test-token");
    f.env.set("MLTRACK_VERTEX_STAGING_BUCKET", "gs://staging-bucket/mltrack");
    const std::string dest = "vertex:test-project/us-central1";
    f.env.set("MLTRACK_VERTEX_ENDPOINT", f.server.url());
    f.env.set("MLTRACK_GCS_ENDPOINT", f.server.url());
    auto r = cli_test::run({"sync", root.string(), "--to", dest});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("synced 1 run") != std::string::npos);
    CHECK(loss_points(f) == 50);
    const auto st = f.server.state();
    const auto& md = st["contexts"][store + "/contexts/exp-sync-run-1"]["metadata"];
    CHECK(md["_params"] == nlohmann::json({{"lr", 0.5}, {"optimizer", "sgd"}}));
    CHECK(md["_metrics"]["final"] == 1.0 / 50);
    CHECK(md["_state"] == "COMPLETE");

    // Again: nothing new is sent.
    const auto writes_before = f.server.state()["requests_by_method"].dump();
    r = cli_test::run({"sync", root.string(), "--to", dest});
    REQUIRE(r.status == 0);
    CHECK(r.out.find("synced 0 runs") != std::string::npos);
    CHECK(f.server.state()["requests_by_method"].dump() == writes_before);

    // The run goes on offline; the next sync sends only the new points, as a resumed run.
    log_steps(root, mltrack::start_mode::resume, 51, 80);
    r = cli_test::run({"sync", root.string(), "--to", dest});
    REQUIRE(r.status == 0);
    CHECK(loss_points(f) == 80);
    CHECK(f.server.state()["contexts"][store + "/contexts/exp-sync-run-1"]["metadata"]["_metrics"]["final"] ==
          1.0 / 80);

    // Usage errors name the expected form.
    r = cli_test::run({"sync", root.string(), "--to", "vertex:only-project"});
    CHECK(r.status == 2);
    CHECK(r.err.find("vertex:PROJECT/LOCATION") != std::string::npos);
}

TEST_CASE("mltrack sync --to vertex --vertex-ids: exact skips names outside the id rule, hashed sends them") {
    if (cli_test::skip_without_binary()) return;
    fixture f;
    unit::temp_dir dir;
    const fs::path root = dir / "mlruns";
    {
        mltrack::tracker t{offline("MNIST_cnn"), mltrack::sinks::jsonl{root}};
        auto run = t.start_run("lr-0.01");
        run.log("loss", 0.5, 1);
    }
    f.env.set("GOOGLE_OAUTH_ACCESS_TOKEN", "test-token");
    f.env.set("MLTRACK_VERTEX_ENDPOINT", f.server.url());
    f.env.set("MLTRACK_GCS_ENDPOINT", f.server.url());
    const std::string dest = "vertex:test-project/us-central1";

    // Exact ids (the default): the names are reported with their rule and nothing is created.
    auto r = cli_test::run({"sync", root.string(), "--to", dest});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("name.4") != std::string::npos);
    CHECK(f.server.state()["contexts"].size() <= 1);  // at most the metadata store's default context, no run

    // Hashed ids: the run arrives under its hashed id with its name as display name.
    r = cli_test::run({"sync", root.string(), "--to", dest, "--vertex-ids", "hashed"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    const std::string eid = "mnist-cnn-" + mltrack::detail::sha256::of("MNIST_cnn").substr(0, 6);
    const std::string rid = "lr-0-01-" + mltrack::detail::sha256::of("lr-0.01").substr(0, 6);
    const auto st = f.server.state();
    CHECK(st["validation_errors"].empty());
    CHECK(st["contexts"][store + "/contexts/" + eid + "-" + rid]["displayName"] == "lr-0.01");
    // A second hashed sync sends nothing; exact and hashed keep separate cursors.
    r = cli_test::run({"sync", root.string(), "--to", dest, "--vertex-ids", "hashed"});
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 0 runs") != std::string::npos);

    r = cli_test::run({"sync", root.string(), "--to", "tensorboard:" + (dir / "tb").string(), "--vertex-ids", "hashed"});
    CHECK(r.status == 2);
    r = cli_test::run({"sync", root.string(), "--to", dest, "--vertex-ids", "short"});
    CHECK(r.status == 2);
    CHECK(r.err.find("exact or hashed") != std::string::npos);
}
