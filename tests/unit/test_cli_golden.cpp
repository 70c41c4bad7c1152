// The `mltrack` binary on the fixed data set (tests/cli/cli_dataset.hpp): `ls` as table, CSV and JSON and
// `show` compared with golden files in tests/data/cli/ (MLTRACK_UPDATE_GOLDEN=1 rewrites them), the CSV and
// JSON read back independently, --help for every command, and exit codes for usage errors.
#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace {

struct dataset {
    unit::temp_dir dir;
    std::string root;
    dataset() : root((dir / "root").string()) { cli_dataset::write(root); }
};

}  // namespace

TEST_CASE("ls: table, csv and json match the golden files") {
    if (cli_test::skip_without_binary()) return;
    dataset d;
    for (const auto& fg : std::vector<std::pair<std::string, std::string>>{
             {"table", "ls.table.txt"}, {"csv", "ls.csv"}, {"json", "ls.json"}}) {
        const std::string& format = fg.first;
        const std::string& golden = fg.second;
        CAPTURE(format);
        const auto r = cli_test::run({"ls", d.root, "--format", format});
        CHECK(r.status == 0);
        CHECK(r.err == "");
        cli_test::check_golden(golden, r.out);
    }
    // Not a terminal and no --format: CSV.
    CHECK(cli_test::run({"ls", d.root}).out == cli_test::run({"ls", d.root, "-f", "csv"}).out);
}

TEST_CASE("ls: sort and filter") {
    if (cli_test::skip_without_binary()) return;
    dataset d;
    auto r = cli_test::run({"ls", d.root, "-f", "table", "--sort", "-metric.val/acc", "--filter", "state!=RUNNING"});
    CHECK(r.status == 0);
    cli_test::check_golden("ls.sorted.txt", r.out);

    auto names = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args{"ls", d.root, "-f", "csv"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto res = cli_test::run(args);
        REQUIRE(res.status == 0);
        std::vector<std::string> out;
        const auto rows = cli_test::parse_csv(res.out);
        for (std::size_t i = 1; i < rows.size(); ++i) out.push_back(rows[i][1]);
        return out;
    };
    using v = std::vector<std::string>;
    CHECK(names({"--filter", "param.lr>0.01"}) == v{"high-lr", "r1"});
    CHECK(names({"--filter", "param.lr>=0.01,metric.val/acc>=0.9"}) == v{"baseline"});
    CHECK(names({"--filter", "state=COMPLETE"}) == v{"baseline"});
    CHECK(names({"--filter", "param.batch_size=32", "--filter", "param.augment=false"}) == v{"high-lr"});
    CHECK(names({"--sort", "param.lr"}) == v{"wide", "baseline", "r1", "high-lr"});
    CHECK(names({"--sort", "-param.lr"}) == v{"high-lr", "r1", "baseline", "wide"});
    CHECK(names({"--sort", "metric.train/loss"}) == v{"baseline", "wide", "high-lr", "r1"});  // missing last
    CHECK(names({"--sort", "-duration"}) == v{"baseline", "high-lr", "r1", "wide"});          // RUNNING: none
    CHECK(names({"--experiment", "other"}) == v{"r1"});
    CHECK(names({"--filter", "start>=2023-11-14T22:13:20.020000Z"}) == v{"wide", "r1"});

    // ',' always separates conditions: "nesterov" alone is not a condition.
    CHECK(cli_test::run({"ls", d.root, "--filter", "param.optimizer=adam, nesterov"}).status == 2);

    r = cli_test::run({"ls", d.root, "--filter", "metric.nope>1"});
    CHECK(r.status == 0);
    CHECK(r.err.find("no run has a column 'metric.nope'") != std::string::npos);
}

TEST_CASE("ls: csv and json read back") {
    if (cli_test::skip_without_binary()) return;
    dataset d;
    const auto csv = cli_test::parse_csv(cli_test::run({"ls", d.root, "-f", "csv"}).out);
    REQUIRE(csv.size() == 5);
    for (const auto& row : csv) CHECK(row.size() == csv[0].size());
    CHECK(csv[0][0] == "experiment");
    CHECK(csv[3][1] == "wide");
    const auto opt = std::find(csv[0].begin(), csv[0].end(), "param.optimizer") - csv[0].begin();
    CHECK(csv[3][static_cast<std::size_t>(opt)] == "adam, nesterov");
    const auto note = std::find(csv[0].begin(), csv[0].end(), "param.note") - csv[0].begin();
    CHECK(csv[4][static_cast<std::size_t>(note)] == "a \"quoted\" note");

    const auto j = nlohmann::json::parse(cli_test::run({"ls", d.root, "-f", "json"}).out);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 4);
    CHECK(j[0]["run"] == "baseline");
    CHECK(j[0]["param.lr"] == 0.01);
    CHECK(j[0]["param.batch_size"] == 32);
    CHECK(j[0]["param.augment"] == true);
    CHECK(j[0]["metric.val/acc"] == 0.91);       // the summary value wins over the series' last (0.9)
    CHECK(j[0]["metric.train/loss"] == 0.2);     // the series' last value
    CHECK(j[0]["duration"] == doctest::Approx(0.011));
    CHECK(j[1]["metric.train/loss"] == "Infinity");
    CHECK(j[2]["state"] == "RUNNING");
    CHECK(j[2]["duration"].is_null());
    CHECK(j[3]["state"] == "CANCELLED");
    CHECK(j[3]["param.batch_size"].is_null());
}

TEST_CASE("show: text and json match the golden files") {
    if (cli_test::skip_without_binary()) return;
    dataset d;
    for (const std::string run : {"baseline", "high-lr", "wide"}) {
        CAPTURE(run);
        const auto r = cli_test::run({"show", d.root + "/exp/" + run});
        CHECK(r.status == 0);
        CHECK(r.err == "");
        cli_test::check_golden(std::string("show.") + run + ".txt", r.out);
    }
    const auto r = cli_test::run({"show", d.root + "/exp/baseline/events.jsonl", "--format", "json"});
    CHECK(r.status == 0);
    cli_test::check_golden("show.baseline.json", r.out);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["series"]["train/loss"]["count"] == 5);
    CHECK(j["series"]["train/loss"]["min"] == 0.2);
    CHECK(j["metadata"]["host"] == "node-1");
    CHECK(j["classifications"][0]["matrix"][1][2] == 6);
    CHECK(j["artifacts"][0]["framework"] == "xgboost");
    CHECK(j["executions"][0]["inputs"][0]["name"] == "train-data");
}

TEST_CASE("every command has --help; usage errors exit 2, failures 1") {
    if (cli_test::skip_without_binary()) return;
    for (const char* cmd : {"ls", "show", "export", "check", "report", "sync"}) {
        CAPTURE(cmd);
        const auto r = cli_test::run({cmd, "--help"});
        CHECK(r.status == 0);
        CHECK(r.out.rfind(std::string("usage: mltrack ") + cmd, 0) == 0);
        CHECK(cli_test::run({"help", cmd}).out == r.out);
    }
    CHECK(cli_test::run({"--help"}).status == 0);
    CHECK(cli_test::run({}).status == 2);
    CHECK(cli_test::run({"frobnicate"}).status == 2);

    dataset d;
    auto r = cli_test::run({"ls", d.root, d.root});
    CHECK(r.status == 2);
    CHECK(r.err.find("Try 'mltrack ls --help'") != std::string::npos);
    CHECK(cli_test::run({"ls", d.root, "--format", "xml"}).status == 2);
    CHECK(cli_test::run({"ls", d.root, "--bogus"}).status == 2);
    CHECK(cli_test::run({"ls", d.root, "--sort", "metric.nope"}).status == 2);
    CHECK(cli_test::run({"ls", d.root, "--filter", "lr>1"}).status == 2);
    CHECK(cli_test::run({"ls", d.root, "--filter", "param.lr~1"}).status == 2);
    CHECK(cli_test::run({"report", d.root}).status == 2);
    CHECK(cli_test::run({"show", d.root}).status == 2);  // a root, not a run
    CHECK(cli_test::run({"sync", d.root, "--to", "ftp:x"}).status == 2);
    // (a real vertex:PROJECT/LOCATION would reach for the network: test_cli_sync_vertex uses the fake service)
    r = cli_test::run({"sync", d.root, "--to", "vertex:proj"});
    CHECK(r.status == 2);
    CHECK(r.err.find("vertex:PROJECT/LOCATION") != std::string::npos);
    r = cli_test::run({"ls", d.root + "/missing"});
    CHECK(r.status == 1);
    CHECK(r.err.find("missing: no such file or folder") != std::string::npos);

    // A run that cannot be read is left out, named on stderr, and the exit status says so.
    unit::write_file(std::filesystem::path(d.root) / "exp" / "broken" / "events.jsonl", "not json\n");
    r = cli_test::run({"ls", d.root, "-f", "csv"});
    CHECK(r.status == 1);
    CHECK(r.err.find("broken/events.jsonl:1: ") != std::string::npos);
    CHECK(cli_test::parse_csv(r.out).size() == 5);
}
