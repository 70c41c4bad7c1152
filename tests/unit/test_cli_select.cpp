// The pieces of the `mltrack` command that need no binary: "did you mean", --columns patterns, CSV quoting
// read back by an independent parser, number and time formatting, argument parsing, run discovery, the
// report's curve thinning and SVG axes.
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "../../tools/mltrack/cli.hpp"
#include "../../tools/mltrack/cmd_ls.hpp"
#include "../../tools/mltrack/csv.hpp"
#include "../../tools/mltrack/report_html.hpp"
#include "../../tools/mltrack/report_svg.hpp"
#include "../../tools/mltrack/runs.hpp"
#include "../../tools/mltrack/suggest.hpp"
#include "../../tools/mltrack/text.hpp"
#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

using namespace mltrack_cli;

// Filter parsing, matching and sorting are the library's (tests/unit/test_search.cpp); `ls` is run in
// test_cli_golden.cpp and test_cli_ls.cpp.

TEST_CASE("suggest: edit distance and the closest name") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("val/acc", "VAL/ACC") == 0);  // case does not count
    const std::vector<std::string> names{"mnist-cnn", "cifar10", "val/acc", "train/loss"};
    CHECK(closest_name("mnist-cn", names) == "mnist-cnn");
    CHECK(closest_name("cifar", names) == "cifar10");  // a prefix
    CHECK(closest_name("val/accc", names) == "val/acc");
    CHECK(closest_name("imagenet", names).empty());
    CHECK(did_you_mean("val/ac", names) == "; did you mean 'val/acc'?");
    CHECK(did_you_mean("zzz", {"a", "b"}) == " (known: a, b)");
    CHECK(did_you_mean("zzz", {}).empty());
}

TEST_CASE("ls --columns: glob patterns") {
    CHECK(glob_match("param.lr", "param.lr"));
    CHECK(!glob_match("param.lr", "param.lr2"));
    CHECK(glob_match("param.*", "param.lr"));
    CHECK(glob_match("metric.val/*", "metric.val/acc"));
    CHECK(!glob_match("metric.val/*", "metric.train/loss"));
    CHECK(glob_match("*acc*", "metric.val/acc"));
    CHECK(glob_match("*", ""));
    CHECK(!glob_match("a*b", "acb-"));
}

TEST_CASE("csv: quoting reads back") {
    const std::vector<std::string> fields = {"plain", "a,b", "say \"hi\"", "two\nlines", " padded ", "", "\r"};
    std::string text;
    append_csv_row(text, fields);
    append_csv_row(text, {"x"});
    const auto rows = cli_test::parse_csv(text);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0] == fields);
    CHECK(text.rfind("plain,\"a,b\",\"say \"\"hi\"\"\",", 0) == 0);
}

TEST_CASE("text: numbers, times, durations") {
    CHECK(exact_number(0.1) == "0.1");
    CHECK(exact_number(1.0 / 3) == "0.3333333333333333");
    CHECK(exact_number(std::nan("")) == "NaN");
    CHECK(exact_number(-HUGE_VAL) == "-Infinity");
    CHECK(short_number(1.0 / 3) == "0.333333");
    CHECK(short_number(HUGE_VAL) == "Infinity");
    CHECK(iso_time(1700000000001000000) == "2023-11-14T22:13:20.001000Z");
    CHECK(iso_time(-1) == "1969-12-31T23:59:59.999999Z");
    CHECK(short_time(1700000000001000000) == "2023-11-14 22:13:20");
    CHECK(unix_seconds(1700000000001000000) == "1700000000.001000");
    CHECK(unix_seconds(-1500000000) == "-1.500000");
    CHECK(short_duration(29000000) == "0.029s");
    CHECK(short_duration(185000000000) == "3m05s");
    CHECK(short_duration(7421000000000) == "2h03m41s");
    CHECK(display_width("caf\xc3\xa9") == 4);
    CHECK(one_line("a\tb\nc") == "a b c");
}

TEST_CASE("arguments: options, values, flags, --") {
    const auto a = parse_arguments({"root", "-f", "csv", "--sort=-metric.acc", "--filter", "x=1", "--filter", "y=2",
                                    "--", "--literal"},
                                   {{"--format", "-f", true}, {"--sort", nullptr, true}, {"--filter", nullptr, true}});
    CHECK(a.positional == std::vector<std::string>{"root", "--literal"});
    CHECK(a.get("--format") == "csv");
    CHECK(a.get("--sort") == "-metric.acc");
    CHECK(a.all("--filter") == std::vector<std::string>{"x=1", "y=2"});
    CHECK(!a.has("--help"));
    CHECK(parse_arguments({"-h"}, {}).has("--help"));
    CHECK_THROWS_AS(parse_arguments({"--nope"}, {}), usage_error);
    CHECK_THROWS_AS(parse_arguments({"--format"}, {{"--format", "-f", true}}), usage_error);
    CHECK_THROWS_AS(parse_arguments({"--quiet=1"}, {{"--quiet", nullptr, false}}), usage_error);
}

TEST_CASE("runs: found under a root, an experiment, a run folder and a file") {
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    auto names = [](const std::vector<run_ref>& refs) {
        std::vector<std::string> out;
        for (const auto& r : refs) out.push_back(r.experiment + "/" + r.run);
        return out;
    };
    using v = std::vector<std::string>;
    CHECK(names(find_runs(d / "root")) == v{"exp/baseline", "exp/high-lr", "exp/wide", "other/r1"});
    CHECK(names(find_runs(d / "root", {"other"})) == v{"other/r1"});
    CHECK(names(find_runs(d / "root" / "exp")) == v{"exp/baseline", "exp/high-lr", "exp/wide"});
    CHECK(names(find_runs(d / "root" / "exp" / "wide")) == v{"exp/wide"});
    CHECK(names(find_runs(d / "root" / "exp" / "wide" / "events.jsonl")) == v{"exp/wide"});
    CHECK_THROWS_AS(find_runs(d / "none"), command_error);
    const auto loaded = load_summaries(find_runs(d / "root"));
    CHECK(loaded.errors.empty());
    CHECK(loaded.summaries[2]->series.at("val/acc").last == 0.84);
}

TEST_CASE("runs: natural order") {
    using detail::natural_less;
    CHECK(natural_less("run-2", "run-10"));
    CHECK(!natural_less("run-10", "run-2"));
    CHECK(natural_less("a", "b"));
    CHECK(natural_less("run-9", "run-9a"));
    CHECK(natural_less("lr-0.01", "lr-0.1"));
    CHECK(natural_less("x007", "x7"));  // equal numbers: the text decides, so the order stays total
    CHECK(!natural_less("x7", "x007"));
    CHECK(!natural_less("same", "same"));
}

TEST_CASE("report: curve thinning keeps order, bounds and the last point; axes") {
    decimated_series s;
    for (int i = 0; i < 100001; ++i) s.add(i, i * 2.0, 500);
    const auto pts = s.finish();
    CHECK(pts.size() <= 1001);
    CHECK(pts.size() >= 500);
    CHECK(pts.front().first == 0);
    CHECK(pts.back().first == 100000);
    for (std::size_t i = 1; i < pts.size(); ++i) CHECK(pts[i].first > pts[i - 1].first);

    const auto a = svg::make_axis(0.013, 0.97);
    CHECK(a.lo == 0);
    CHECK(a.hi == doctest::Approx(1));
    CHECK(a.ticks.size() >= 4);
    const auto l = svg::make_axis(1e-5, 0.1, true);
    CHECK(l.log);
    CHECK(l.ticks.size() == 5);
    const auto flat = svg::make_axis(3, 3);
    CHECK(flat.lo < 3);
    CHECK(flat.hi > 3);
    CHECK(svg::escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    CHECK(svg::escape("see https://x.org") == "see https:&#47;&#47;x.org");
}
