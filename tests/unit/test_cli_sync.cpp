// `mltrack sync --to tensorboard:DIR` through the real binary, read back with the tests' independent event
// file decoder (tests/support/tb_decoder.hpp) under TensorBoard's own reading rule: a SessionLog START at
// step s drops every point read before it with step >= s. Checked: every time-series point arrives, once;
// a second sync sends nothing; a run still being written is sent as far as it goes, then the rest; a sync
// that died after writing but before moving its cursor sends again without duplicates on the charts; a
// destination that already has a run without a cursor (a live TensorBoard sink wrote it) is skipped with a
// note unless --force; --dry-run and --cursors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <mltrack/mltrack.hpp>

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "support/tb_decoder.hpp"
#include "support/tb_model.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;

using scalars = std::map<std::string, std::vector<std::pair<std::int64_t, float>>>;

/// The scalars TensorBoard shows of one run folder, by the model of its reading rules.
scalars read_tensorboard_run(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find("tfevents") != std::string::npos)
            REQUIRE_MESSAGE(tbdec::decode_file(e.path().string()).how == tbdec::stop::end,
                            e.path().string() << " does not decode to its end");
    const auto v = tbmodel::load(dir);
    scalars out;
    auto it = v.runs.find(".");
    if (it == v.runs.end()) return out;
    for (const auto& t : it->second.tags)
        if (t.second.plugin == "scalars") out[t.first] = v.scalars(".", t.first);
    return out;
}

/// Data event files under dir (the HParams session files aside), and staged ones.
std::size_t event_files(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        n += name.rfind("events.out", 0) == 0 && name.find("mltrack-session") == std::string::npos;
    }
    return n;
}

bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

/// Every time-series point of the JSONL run is in the TensorBoard scalars of its tag, in order, and no
/// step of those points appears twice.
void check_run_synced(const fs::path& run_dir, const fs::path& tb_run_dir) {
    CAPTURE(run_dir.string());
    const auto run = mltrack::read_run(run_dir);
    const auto tb = read_tensorboard_run(tb_run_dir);
    for (const auto& kv : run.series) {
        CAPTURE(kv.first);
        REQUIRE(tb.count(kv.first));
        const auto& got = tb.at(kv.first);
        std::size_t at = 0;
        for (const auto& p : kv.second) {
            while (at < got.size() && !(got[at].first == p.step && same(got[at].second, static_cast<float>(p.value))))
                ++at;
            CHECK_MESSAGE(at < got.size(), "point at step " << p.step << " missing");
        }
        std::map<std::int64_t, int> seen;
        for (const auto& p : kv.second) seen[p.step] = 0;
        for (const auto& g : got)
            if (seen.count(g.first)) ++seen[g.first];
        for (const auto& s : seen) CHECK_MESSAGE(s.second >= 1, "step " << s.first);
        // Summary metrics are also scalars on their key (at the run's last step), so a step may hold one
        // time-series point and one summary value; never two copies of a point.
        std::map<std::pair<std::int64_t, float>, int> copies;
        for (const auto& g : got) ++copies[g];
        for (const auto& c : copies) CHECK_MESSAGE(c.second == 1, "step " << c.first.first << " twice");
    }
}

std::vector<std::string> sync_args(const fs::path& root, const fs::path& tb) {
    return {"sync", root.string(), "--to", "tensorboard:" + tb.string()};
}

}  // namespace

TEST_CASE("sync: every point reaches TensorBoard; a second sync sends nothing") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    auto r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 4 runs (35 records, 24 points)") != std::string::npos);
    CHECK(r.err.find("mltrack sync: exp/baseline: 12 records (10 points)") != std::string::npos);
    for (const auto* run : {"exp/baseline", "exp/high-lr", "exp/wide", "other/r1"})
        check_run_synced(d / "root" / run, d / "tb" / run);
    CHECK(read_tensorboard_run(d / "tb" / "other" / "r1").at("val/acc").size() == 1);  // the summary metric

    std::map<std::string, std::string> before;
    for (const auto& e : fs::recursive_directory_iterator(d / "tb"))
        if (e.is_regular_file()) before[e.path().string()] = unit::read_file(e.path());
    r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 0 runs (0 records, 0 points)") != std::string::npos);
    CHECK(r.out.find("4 up to date") != std::string::npos);
    std::map<std::string, std::string> after;
    for (const auto& e : fs::recursive_directory_iterator(d / "tb"))
        if (e.is_regular_file()) after[e.path().string()] = unit::read_file(e.path());
    CHECK(before == after);

    // The cursor: one line of JSON in <run>/.sync/, naming the destination and the records sent.
    std::vector<fs::path> cursors;
    for (const auto& e : fs::directory_iterator(d / "root" / "exp" / "baseline" / ".sync")) cursors.push_back(e.path());
    REQUIRE(cursors.size() == 1);
    const auto c = nlohmann::json::parse(unit::read_file(cursors[0]));
    CHECK(c["records"] == 12);
    CHECK(c["destination"].get<std::string>().rfind("tensorboard:", 0) == 0);
}

TEST_CASE("sync: a run still being written, then finished") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    mltrack::tracker t{cli_dataset::make_config("live"), mltrack::sinks::jsonl(d / "root")};
    auto run = t.start_run("r");
    run.log_params({{"lr", 0.1}});
    for (int s = 0; s < 100; ++s) run.log_time_series({{"loss", 1.0 / (s + 1)}, {"acc", s / 100.0}}, s);
    t.flush();
    unit::append_file(d / "root" / "live" / "r" / "events.jsonl", "{\"kind\":\"metr");  // a line being written
    auto r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.out.find("(102 records, 200 points)") != std::string::npos);
    check_run_synced(d / "root" / "live" / "r", d / "tb" / "live" / "r");

    // The writer goes on (its sink cuts the torn tail when the run resumes; here the test removes it).
    std::string text = unit::read_file(d / "root" / "live" / "r" / "events.jsonl");
    unit::write_file(d / "root" / "live" / "r" / "events.jsonl", text.substr(0, text.rfind('\n') + 1));
    for (int s = 100; s < 150; ++s) run.log_time_series({{"loss", 1.0 / (s + 1)}, {"acc", s / 100.0}}, s);
    run.end();
    t.flush();
    r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.out.find("(51 records, 100 points)") != std::string::npos);
    CHECK(event_files(d / "tb") == 2);
    check_run_synced(d / "root" / "live" / "r", d / "tb" / "live" / "r");
    const auto tb = read_tensorboard_run(d / "tb" / "live" / "r");
    CHECK(tb.at("loss").size() == 150);
    CHECK(cli_test::run(sync_args(d / "root", d / "tb")).out.find("1 up to date") != std::string::npos);
}

TEST_CASE("sync: killed after writing, before or after moving its cursor: nothing lost, nothing twice") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    mltrack::tracker t{cli_dataset::make_config("e"), mltrack::sinks::jsonl(d / "root")};
    auto run = t.start_run("r");
    for (int s = 0; s < 100; ++s) run.log("loss", 1.0 / (s + 1), s);
    t.flush();
    REQUIRE(cli_test::run(sync_args(d / "root", d / "tb")).status == 0);
    fs::path cursor;
    for (const auto& e : fs::directory_iterator(d / "root" / "e" / "r" / ".sync")) cursor = e.path();
    const auto records = [&] { return nlohmann::json::parse(unit::read_file(cursor)).at("records").get<int>(); };
    CHECK(records() == 101);

    // Killed once its files are written (staged), before its cursor moved: they are dropped and sent again.
    for (int s = 100; s < 150; ++s) run.log("loss", 1.0 / (s + 1), s);
    t.flush();
    ::setenv("MLTRACK_TEST_SYNC_DIE", "staged", 1);
    auto r = cli_test::run(sync_args(d / "root", d / "tb"));
    ::unsetenv("MLTRACK_TEST_SYNC_DIE");
    CHECK(r.status == 128 + 9);
    CHECK(records() == 101);
    CHECK(event_files(d / "tb") == 2);  // the first sync's file and a staged one TensorBoard does not read
    CHECK(read_tensorboard_run(d / "tb" / "e" / "r").at("loss").size() == 100);
    r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.out.find("(50 records, 50 points)") != std::string::npos);
    CHECK(records() == 151);
    CHECK(event_files(d / "tb") == 2);

    // Killed after its cursor moved, before renaming its files: the next sync renames them, sends nothing.
    for (int s = 150; s < 200; ++s) run.log("loss", 1.0 / (s + 1), s);
    run.end();
    t.flush();
    ::setenv("MLTRACK_TEST_SYNC_DIE", "cursor", 1);
    r = cli_test::run(sync_args(d / "root", d / "tb"));
    ::unsetenv("MLTRACK_TEST_SYNC_DIE");
    CHECK(r.status == 128 + 9);
    CHECK(records() == 202);
    CHECK(read_tensorboard_run(d / "tb" / "e" / "r").at("loss").size() == 150);
    r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.out.find("1 up to date") != std::string::npos);
    CHECK(event_files(d / "tb") == 3);
    check_run_synced(d / "root" / "e" / "r", d / "tb" / "e" / "r");
    CHECK(read_tensorboard_run(d / "tb" / "e" / "r").at("loss").size() == 200);

    // A cursor ahead of the file (the run was rewritten) is refused.
    auto c = nlohmann::json::parse(unit::read_file(cursor));
    c["records"] = 5000;
    unit::write_file(cursor, c.dump() + "\n");
    auto bad = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(bad.status == 1);
    CHECK(bad.err.find("the cursor says 5000 records were sent") != std::string::npos);
}

TEST_CASE("sync: refuses to send a run twice without a cursor; --force, --dry-run, --cursors") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    auto r = cli_test::run({"sync", (d / "root").string(), "--to", "tensorboard:" + (d / "tb").string(), "--dry-run"});
    CHECK(r.status == 0);
    CHECK(r.out.find("would sync 4 runs (35 records, 24 points)") != std::string::npos);
    CHECK(!fs::exists(d / "tb"));
    CHECK(!fs::exists(d / "root" / "exp" / "baseline" / ".sync"));

    r = cli_test::run({"sync", (d / "root").string(), "--to", "tensorboard:" + (d / "tb").string(), "--cursors",
                       (d / "cursors").string(), "-e", "exp"});
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 3 runs") != std::string::npos);
    CHECK(!fs::exists(d / "root" / "exp" / "baseline" / ".sync"));
    CHECK(fs::exists(d / "cursors" / "exp" / "baseline"));

    // Without the cursors folder, the destination already has these runs (as after logging live to
    // TensorBoard): skipped with one line each naming the run once and --force; the others still go; exit 0.
    r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.err.find("mltrack sync: exp/baseline: skipped: ") != std::string::npos);
    CHECK(r.err.find("--force sends it again") != std::string::npos);
    for (const char* run : {"baseline", "high-lr", "wide"}) {
        CAPTURE(run);
        const auto at = r.err.find(std::string("exp/") + run + ":");
        REQUIRE(at != std::string::npos);
        const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
        CHECK(line.find(run, line.find(':')) == std::string::npos);  // the run named once
    }
    CHECK(r.out.find("synced 1 run ") != std::string::npos);  // other/r1
    CHECK(r.out.find("0 failed") != std::string::npos);
    CHECK(r.out.find("3 skipped (already in TensorBoard; --force sends them)") != std::string::npos);
    r = cli_test::run({"sync", (d / "root").string(), "--to", "tensorboard:" + (d / "tb").string(), "--force"});
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 3 runs") != std::string::npos);
}

TEST_CASE("sync: into the folder a live TensorBoard sink wrote: skipped with a note, exit 0") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    {
        mltrack::tracker t{cli_dataset::make_config("e"), mltrack::sinks::jsonl(d / "root"),
                           mltrack::sinks::tensorboard(d / "tb")};
        auto run = t.start_run("live-run");
        for (int s = 0; s < 10; ++s) run.log("loss", 1.0 / (s + 1), s);
    }
    auto r = cli_test::run(sync_args(d / "root", d / "tb"));
    CHECK(r.status == 0);
    CHECK(r.err.find("e/live-run: skipped: ") != std::string::npos);
    CHECK(r.err.find("live-run", r.err.find("skipped")) == std::string::npos);  // named once
    CHECK(r.out.find("1 skipped") != std::string::npos);
    CHECK(read_tensorboard_run(d / "tb" / "e" / "live-run").at("loss").size() == 10);  // not sent twice
    r = cli_test::run({"sync", (d / "root").string(), "--to", "tensorboard:" + (d / "tb").string(), "--force"});
    CHECK(r.status == 0);
    CHECK(r.out.find("synced 1 run ") != std::string::npos);
}
