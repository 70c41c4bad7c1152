// `mltrack ls` through the real binary on the fixed data set (tests/cli/cli_dataset.hpp): --columns (names,
// patterns, MLflow spellings, a typo named with the closest column), a filtered table without the columns
// only other runs have, and the filter and sort syntax it shares with mltrack::search_runs.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace {

struct dataset {
    unit::temp_dir dir;
    std::string root;
    dataset() : root((dir / "root").string()) { cli_dataset::write(root); }
};

/// The CSV header and the run column of `mltrack ls ROOT -f csv ARGS...` (which must exit 0).
struct listing {
    std::vector<std::string> header, runs;
    std::string err;
};

listing ls(const dataset& d, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"ls", d.root, "-f", "csv"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = cli_test::run(args);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const auto rows = cli_test::parse_csv(r.out);
    REQUIRE(!rows.empty());
    listing out{rows[0], {}, r.err};
    for (std::size_t i = 1; i < rows.size(); ++i) out.runs.push_back(rows[i][1]);
    return out;
}

using v = std::vector<std::string>;

}  // namespace

TEST_CASE("ls: a filtered table has only the columns of the runs it lists") {
    if (cli_test::skip_without_binary()) return;
    dataset d;
    const v all_columns{"experiment", "run", "state", "start", "duration", "param.augment", "param.batch_size",
                        "param.lr", "param.note", "param.optimizer", "metric.test/acc", "metric.train/loss",
                        "metric.val/acc"};
    CHECK(ls(d, {}).header == all_columns);
    const v other{"experiment", "run", "state", "start", "duration", "param.lr", "param.note", "metric.val/acc"};
    auto l = ls(d, {"--filter", "experiment=other"});
    CHECK(l.runs == v{"r1"});
    CHECK(l.header == other);
    CHECK(ls(d, {"-e", "other"}).header == other);
    l = ls(d, {"--filter", "state=FAILED"});  // high-lr: no summary metric test/acc, no note
    CHECK(l.runs == v{"high-lr"});
    CHECK(l.header == v{"experiment", "run", "state", "start", "duration", "param.augment", "param.batch_size",
                        "param.lr", "param.optimizer", "metric.train/loss", "metric.val/acc"});
}

TEST_CASE("ls --columns: names, patterns, order, MLflow spellings, typos") {
    if (cli_test::skip_without_binary()) return;
    dataset d;
    auto l = ls(d, {"--columns", "metric.val/acc,param.lr"});
    CHECK(l.header == v{"experiment", "run", "metric.val/acc", "param.lr"});
    CHECK(l.runs == v{"baseline", "high-lr", "wide", "r1"});
    CHECK(l.err.empty());
    CHECK(ls(d, {"-c", "state", "-c", "param.*"}).header ==
          v{"experiment", "run", "state", "param.augment", "param.batch_size", "param.lr", "param.note",
            "param.optimizer"});
    CHECK(ls(d, {"--columns", "*acc"}).header == v{"experiment", "run", "metric.test/acc", "metric.val/acc"});
    CHECK(ls(d, {"--columns", "params.lr, metrics.val/acc, run"}).header ==
          v{"experiment", "run", "param.lr", "metric.val/acc"});
    // With a filter: the columns of the listed runs only.
    CHECK(ls(d, {"-e", "other", "--columns", "param.*"}).header == v{"experiment", "run", "param.lr", "param.note"});

    l = ls(d, {"--columns", "param.lrr,metric.val/acc"});
    CHECK(l.header == v{"experiment", "run", "metric.val/acc"});
    CHECK(l.err.find("mltrack ls: no column 'param.lrr'; did you mean 'param.lr'?") != std::string::npos);

    auto r = cli_test::run({"ls", d.root, "--columns", "nothing.like.this"});
    CHECK(r.status == 1);
    CHECK(r.err.find("no column matched --columns") != std::string::npos);
    CHECK(cli_test::run({"ls", d.root, "--columns", ","}).status == 2);

    // The aligned table too.
    r = cli_test::run({"ls", d.root, "-f", "table", "-c", "param.lr"});
    CHECK(r.status == 0);
    CHECK(r.out.rfind("experiment  run", 0) == 0);
    CHECK(r.out.find("param.lr") != std::string::npos);
    CHECK(r.out.find("state") == std::string::npos);
}

TEST_CASE("ls: the filter and sort syntax of search_runs (MLflow spellings, DESC, typos)") {
    if (cli_test::skip_without_binary()) return;
    dataset d;
    CHECK(ls(d, {"--sort", "metric.val/acc DESC"}).runs == ls(d, {"--sort", "-metric.val/acc"}).runs);
    CHECK(ls(d, {"--sort", "metrics.val/acc ASC"}).runs == ls(d, {"--sort", "metric.val/acc"}).runs);
    CHECK(ls(d, {"--filter", "params.optimizer = 'adam' AND metrics.val/acc > 0.5"}).runs == v{"baseline"});
    CHECK(ls(d, {"--filter", "param.lr>=0.05", "--sort", "-param.lr"}).runs == v{"high-lr", "r1"});

    auto l = ls(d, {"--filter", "metric.val/ac>0.5"});
    CHECK(l.runs.empty());
    CHECK(l.err.find("no run has a column 'metric.val/ac'; did you mean 'metric.val/acc'?") != std::string::npos);

    auto r = cli_test::run({"ls", d.root, "--sort", "param.lrate"});
    CHECK(r.status == 2);
    CHECK(r.err.find("cannot sort by 'param.lrate'") != std::string::npos);
    CHECK(r.err.find("did you mean 'param.lr'?") != std::string::npos);
    r = cli_test::run({"ls", d.root, "--filter", "lr>1"});
    CHECK(r.status == 2);
    CHECK(r.err.find("key 'lr' is not a column") != std::string::npos);
    CHECK(r.err.find("mltrack.error.value.8") != std::string::npos);
    r = cli_test::run({"ls", d.root, "--sort", "metric.acc UP"});
    CHECK(r.status == 2);
    CHECK(r.err.find("mltrack.error.value.9") != std::string::npos);
}
