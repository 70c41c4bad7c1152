// search.hpp: search_runs(root, filter, order_by) and its pieces (the syntax `mltrack ls --filter/--sort`
// shares): parsing with stable error ids, numbers compared as numbers, missing never matching, missing and
// NaN last in both directions, MLflow's spellings.
#include <mltrack/search.hpp>
#include <mltrack/tracker.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {


/// mnist/{a,b,c,d} and cifar/e with params lr/opt, a val/acc series or summary, tags, and states.
void populate(const fs::path& root) {
    {
        tracker t{unit::inline_config("mnist"), sinks::jsonl{root}};
        {
            auto r = t.start_run("a");
            r.log_params({{"lr", 0.01}, {"opt", "adam"}});
            r.log("val/acc", 0.5, 0);
            r.log("val/acc", 0.9, 1);  // the last point is the column's value
            r.set_tag("sweep", "s1");
        }
        {
            auto r = t.start_run("b");
            r.log_params({{"lr", 0.1}, {"opt", "sgd"}});
            r.log("val/acc", std::nan(""), 0);
            r.end(run_state::failed);
        }
        {
            auto r = t.start_run("c");
            r.log_params({{"lr", std::int64_t{1}}});
            r.log("val/acc", 0.99, 0);
            r.log_summary({{"val/acc", 0.5}});  // the summary value wins over the series
        }
        {
            auto r = t.start_run("d");
            r.log_params({{"opt", "adam"}});
            r.log_summary({{"val/acc", 0.95}});
            r.set_tag("sweep", "s2");
        }
    }
    tracker t{unit::inline_config("cifar"), sinks::jsonl{root}};
    auto r = t.start_run("e");
    r.log_params({{"lr", 0.05}, {"depth", std::int64_t{18}}});
}

std::vector<std::string> names(const std::vector<run_summary>& runs) {
    std::vector<std::string> out;
    for (const auto& s : runs) out.push_back(s.run.experiment + "/" + s.run.name);
    return out;
}

using v = std::vector<std::string>;

}  // namespace

TEST_CASE("parse_filter: operators, MLflow spellings, AND, quotes") {
    auto cs = parse_filter("param.lr>0.01, metric.acc>=0.9,state=COMPLETE,run!=x,param.n<=3,param.m<2,param.k==1");
    REQUIRE(cs.size() == 7);
    CHECK(cs[0].key == "param.lr");
    CHECK(cs[0].op == compare_op::gt);
    CHECK(cs[0].value == "0.01");
    CHECK(cs[1].op == compare_op::ge);
    CHECK(cs[2].op == compare_op::eq);
    CHECK(cs[2].value == "COMPLETE");
    CHECK(cs[3].op == compare_op::ne);
    CHECK(cs[4].op == compare_op::le);
    CHECK(cs[5].op == compare_op::lt);
    CHECK(cs[6].op == compare_op::eq);
    CHECK(cs[6].value == "1");
    CHECK(parse_filter("metric.train/loss<0.5")[0].key == "metric.train/loss");
    CHECK(parse_filter("").empty());
    CHECK(parse_filter("  ").empty());
    CHECK(parse_filter("state=COMPLETE,").size() == 1);  // a trailing ',' is fine

    cs = parse_filter("metrics.loss < 0.5 and params.opt = 'adam' AND tags.team=\"vision\"");
    REQUIRE(cs.size() == 3);
    CHECK(cs[0].key == "metric.loss");
    CHECK(cs[1].key == "param.opt");
    CHECK(cs[1].value == "adam");
    CHECK(cs[2].key == "tag.team");
    CHECK(cs[2].value == "vision");
    CHECK(parse_filter("param.note=salt andpepper")[0].value == "salt andpepper");
}

TEST_CASE("parse_filter: a bad filter throws value.8 naming the part") {
    CHECK_ERROR_ID("value.8", parse_filter("lr>1"));
    CHECK_ERROR_ID("value.8", parse_filter("param.lr"));
    CHECK_ERROR_ID("value.8", parse_filter(">1"));
    CHECK_ERROR_ID("value.8", parse_filter("param.lr>1,,state=X"));
    CHECK_ERROR_ID("value.8", parse_filter("param.lr!1"));
    CHECK_ERROR_ID("value.8", parse_filter("param.>1"));
    try {
        parse_filter("param.lr>1,learning_rate<2");
        FAIL("no throw");
    } catch (const error& e) {
        const std::string m = e.what();
        CHECK(m.find("key 'learning_rate' is not a column") != std::string::npos);
        CHECK(m.find("param.KEY") != std::string::npos);
    }
}

TEST_CASE("parse_order_by: KEY, -KEY, KEY ASC, KEY DESC; value.9 otherwise") {
    CHECK(parse_order_by("").key.empty());
    auto o = parse_order_by("metric.loss");
    CHECK(o.key == "metric.loss");
    CHECK(!o.descending);
    o = parse_order_by("-metric.loss");
    CHECK(o.descending);
    o = parse_order_by("metrics.loss DESC");
    CHECK(o.key == "metric.loss");
    CHECK(o.descending);
    o = parse_order_by("params.lr asc");
    CHECK(o.key == "param.lr");
    CHECK(!o.descending);
    CHECK(parse_order_by("+start").key == "start");
    CHECK_ERROR_ID("value.9", parse_order_by("loss"));
    CHECK_ERROR_ID("value.9", parse_order_by("metric.loss UP"));
}

TEST_CASE("search_runs: filters like ls (numbers as numbers, missing never matches, NaN never equal)") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    populate(root);
    CHECK(names(search_runs(root)) == v{"cifar/e", "mnist/a", "mnist/b", "mnist/c", "mnist/d"});
    CHECK(names(search_runs(root, "param.lr>0.05")) == v{"mnist/b", "mnist/c"});  // 0.1 and the integer 1
    CHECK(names(search_runs(root, "param.opt=adam")) == v{"mnist/a", "mnist/d"});
    CHECK(names(search_runs(root, "param.opt!=adam")) == v{"mnist/b"});  // c and e have no opt
    CHECK(names(search_runs(root, "metric.val/acc>=0.9")) == v{"mnist/a", "mnist/d"});
    CHECK(names(search_runs(root, "metric.val/acc=NaN")).empty());
    CHECK(names(search_runs(root, "metric.val/acc=0.5")) == v{"mnist/c"});  // summary over series
    CHECK(names(search_runs(root, "state=FAILED")) == v{"mnist/b"});
    CHECK(names(search_runs(root, "experiment=mnist,tag.sweep=s1")) == v{"mnist/a"});
    CHECK(names(search_runs(root, "tags.sweep!=s9")) == v{"mnist/a", "mnist/d"});
    CHECK(names(search_runs(root, "start>=2000-01-01")).size() == 5);  // ISO 8601 text
    CHECK(names(search_runs(root, "start<2000-01-01")).empty());
    CHECK(names(search_runs(root, "ranks=1")).size() == 5);
    CHECK(names(search_runs(root, "metric.f1>0")).empty());
    CHECK(search_runs(dir.path() / "nothing-here").empty());
}

TEST_CASE("search_runs: order_by, missing and NaN last either way, stable") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    populate(root);
    CHECK(names(search_runs(root, "experiment=mnist", "metric.val/acc")) ==
          v{"mnist/c", "mnist/a", "mnist/d", "mnist/b"});
    CHECK(names(search_runs(root, "experiment=mnist", "metrics.val/acc DESC")) ==
          v{"mnist/d", "mnist/a", "mnist/c", "mnist/b"});
    CHECK(names(search_runs(root, "", "param.lr")) == v{"mnist/a", "cifar/e", "mnist/b", "mnist/c", "mnist/d"});
    CHECK(names(search_runs(root, "", "-param.lr")) == v{"mnist/c", "mnist/b", "cifar/e", "mnist/a", "mnist/d"});
    CHECK(names(search_runs(root, "", "-param.opt")) == v{"mnist/b", "mnist/a", "mnist/d", "cifar/e", "mnist/c"});
    const auto best = search_runs(root, "state=COMPLETE", "metric.val/acc DESC");
    REQUIRE(!best.empty());
    CHECK(best.front().run.name == "d");
    CHECK(best.front().run.summary.at("val/acc") == 0.95);
    const auto a = search_runs(root, "run=a");
    REQUIRE(a.size() == 1);
    CHECK(a[0].series.at("val/acc").last == 0.9);
    CHECK(read_run(a[0].run.dir).series.at("val/acc").size() == 2);  // every point, when wanted
}

TEST_CASE("search_runs: a bad filter or order throws before reading anything") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    unit::write_file(root / "exp" / "broken" / "events.jsonl", "not json\n");
    CHECK_ERROR_ID("value.8", search_runs(root, "lr<1"));
    CHECK_ERROR_ID("value.9", search_runs(root, "", "lr"));
    CHECK_ERROR_ID("format.2", search_runs(root));
}

TEST_CASE("matches and sort_runs work on run_data too") {
    unit::temp_dir dir;
    const auto root = dir.path() / "mlruns";
    populate(root);
    auto runs = read_experiment(root, "mnist");
    const auto cs = parse_filter("param.lr<1");
    CHECK(matches(runs[0], cs));   // a: 0.01
    CHECK(!matches(runs[2], cs));  // c: 1
    CHECK(!matches(runs[3], cs));  // d: no lr
    sort_runs(runs, parse_order_by("metric.val/acc DESC"));
    CHECK(runs[0].name == "d");
    CHECK(runs[1].name == "a");
    CHECK(runs[3].name == "b");  // NaN last
    std::vector<const run_data*> ptrs;
    for (const auto& r : runs) ptrs.push_back(&r);
    sort_runs(ptrs, parse_order_by("run"));
    CHECK(ptrs[0]->name == "a");
    CHECK(exact_text(run_column(runs[0], "start"), column_kind::time).size() == 27);
}
