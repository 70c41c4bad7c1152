// The `mltrack` binary and the paths and names people type: ./mlruns when no ROOT is given (as MLflow), a
// root that holds no runs but a runs/ folder below it (an error naming that folder), and a warning with the
// closest name for an unknown -e, -k or --metric, with exit status 1 when nothing matched.
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace fs = std::filesystem;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("no ROOT: ./mlruns, for ls, export, report, check and sync") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    fs::create_directories(d / "work" / "elsewhere");
    cli_dataset::write(d / "work" / "mlruns");
    const fs::path cwd = d / "work";
    auto r = cli_test::run({"ls", "-f", "csv"}, cwd);
    CHECK(r.status == 0);
    CHECK(cli_test::parse_csv(r.out).size() == 5);  // header and 4 runs
    CHECK(r.out == cli_test::run({"ls", "mlruns", "-f", "csv"}, cwd).out);
    r = cli_test::run({"export", "-k", "val/acc"}, cwd);
    CHECK(r.status == 0);
    CHECK(has(r.out, "exp,baseline,0,val/acc,"));
    r = cli_test::run({"check", "-q"}, cwd);
    CHECK(r.status == 0);
    r = cli_test::run({"report", "-o", "r.html"}, cwd);
    CHECK(r.status == 0);
    CHECK(fs::exists(cwd / "r.html"));
    r = cli_test::run({"sync", "--to", "tensorboard:tb", "--dry-run"}, cwd);
    CHECK(r.status == 0);
    CHECK(has(r.out, "would sync 4 runs"));

    // No ./mlruns here: a clear message, exit 1.
    for (const char* cmd : {"ls", "export", "check"}) {
        CAPTURE(cmd);
        r = cli_test::run({cmd}, cwd / "elsewhere");
        CHECK(r.status == 1);
        CHECK(has(r.err, std::string("no ROOT given and no ./mlruns folder here (mltrack ") + cmd + " ROOT)"));
    }
    CHECK(cli_test::run({"ls", "a", "b"}, cwd).status == 2);
}

TEST_CASE("a root without runs but with runs/ below it: 'did you mean X/runs?', exit 1") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "mltrack-out" / "runs");
    fs::create_directories(d / "mltrack-out" / "tb" / "exp");
    fs::create_directories(d / "empty");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"ls", "mltrack-out"}, {"export", "mltrack-out"},
          {"report", "mltrack-out", "-o", "r.html"}, {"sync", "mltrack-out", "--to", "tensorboard:tb2"}}) {
        CAPTURE(args[0]);
        const auto r = cli_test::run(args, d.path());
        CHECK(r.status == 1);
        CHECK(has(r.err, "no runs under mltrack-out; did you mean mltrack-out/runs?"));
        CHECK(r.out.empty());
    }
    CHECK(!fs::exists(d / "r.html"));
    // Truly empty: a note, an empty table, exit 0.
    const auto r = cli_test::run({"ls", "empty", "-f", "csv"}, d.path());
    CHECK(r.status == 0);
    CHECK(has(r.err, "mltrack ls: no runs under empty"));
    CHECK(r.out == "experiment,run,state,start,duration\n");
}

TEST_CASE("unknown -e, -k, --metric: did you mean, exit 1 when nothing matched") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    const std::string root = (d / "root").string();

    auto r = cli_test::run({"ls", root, "-f", "csv", "-e", "exp", "-e", "ohter"});
    CHECK(r.status == 0);  // exp matched
    CHECK(has(r.err, "mltrack ls: no experiment 'ohter' under " + root + "; did you mean 'other'?"));
    CHECK(cli_test::parse_csv(r.out).size() == 4);
    r = cli_test::run({"ls", root, "-e", "exq"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "no experiment 'exq' under " + root + "; did you mean 'exp'?"));
    CHECK(has(r.err, "mltrack ls: no run matched --experiment"));
    r = cli_test::run({"ls", root, "-e", "imagenet"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "no experiment 'imagenet' under " + root + " (known: exp, other)"));
    for (const char* cmd : {"export", "sync"}) {
        CAPTURE(cmd);
        std::vector<std::string> args{cmd, root, "-e", "Other"};
        if (std::string(cmd) == "sync") args.insert(args.end(), {"--to", "tensorboard:" + (d / "tb").string()});
        r = cli_test::run(args);
        CHECK(r.status == 1);
        CHECK(has(r.err, "did you mean 'other'?"));
    }

    r = cli_test::run({"export", root, "-k", "val/acc", "-k", "train/los"});
    CHECK(r.status == 0);
    CHECK(has(r.err, "mltrack export: no run has a series 'train/los'; did you mean 'train/loss'?"));
    CHECK(has(r.out, "val/acc"));
    r = cli_test::run({"export", root, "-k", "loss"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "no run has a series 'loss'"));
    CHECK(has(r.err, "no series matched --key"));
    CHECK(r.out == "experiment,run,rank,key,step,time,value\n");

    r = cli_test::run({"report", root, "-o", (d / "r.html").string(), "--metric", "val/ac"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "no run has a metric 'val/ac'; did you mean 'val/acc'? (nothing written)"));
    CHECK(!fs::exists(d / "r.html"));
    r = cli_test::run({"report", root, "-o", (d / "r.html").string(), "--metric", "metric.val/acc"});
    CHECK(r.status == 0);
    CHECK(fs::exists(d / "r.html"));
}
