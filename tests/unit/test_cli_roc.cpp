// roc.hpp (the ROC curve and its AUC, shared by `mltrack show` and `mltrack report`) against curves whose
// area is known: the (0,0) and (1,1) corners are always part of the curve, points are sorted, NaN and
// infinite points are skipped, no point gives NaN. Then through the binary: `show` (text and JSON) and the
// report print the same AUC for a run that logged only two ROC points, and the report's ROC chart spans
// [0,1] on both axes.
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <mltrack/mltrack.hpp>

#include "../../tools/mltrack/report_svg.hpp"
#include "../../tools/mltrack/roc.hpp"
#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace {

using mltrack_cli::roc_auc;
using mltrack_cli::roc_curve;
using curve = std::vector<std::pair<double, double>>;

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

// (0,0) (0.1,0.8) (0.3,0.95) (1,1): 0.1*0.8/2 + 0.2*(0.8+0.95)/2 + 0.7*(0.95+1)/2 = 0.04 + 0.175 + 0.6825.
constexpr double two_point_auc = 0.8975;

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("roc: known curves") {
    CHECK(roc_auc({0.0}, {1.0}) == doctest::Approx(1.0));                      // perfect classifier
    CHECK(roc_auc({0.0, 0.0, 1.0}, {0.0, 1.0, 1.0}) == doctest::Approx(1.0));  // the same, corners logged
    CHECK(roc_auc({1.0}, {0.0}) == doctest::Approx(0.0));                      // always wrong
    CHECK(roc_auc({0.25, 0.5, 0.75}, {0.25, 0.5, 0.75}) == doctest::Approx(0.5));  // guessing
    CHECK(roc_auc({0.0, 1.0}, {0.0, 1.0}) == doctest::Approx(0.5));                // only the corners
    CHECK(roc_auc({0.1, 0.3}, {0.8, 0.95}) == doctest::Approx(two_point_auc));
    // The golden data set's curve, which logs its corners: adding them again changes nothing.
    CHECK(roc_auc({0.0, 0.1, 0.4, 1.0}, {0.0, 0.7, 0.95, 1.0}) == doctest::Approx(0.8675));
}

TEST_CASE("roc: one point is a curve through the corners") {
    // (0,0) (0.2,0.6) (1,1): 0.2*0.6/2 + 0.8*(0.6+1)/2 = 0.06 + 0.64.
    CHECK(roc_auc({0.2}, {0.6}) == doctest::Approx(0.7));
    CHECK(roc_curve({0.2}, {0.6}) == curve{{0.0, 0.0}, {0.2, 0.6}, {1.0, 1.0}});
}

TEST_CASE("roc: points in any order; equal fpr is a vertical step") {
    CHECK(roc_auc({0.3, 0.1}, {0.95, 0.8}) == doctest::Approx(two_point_auc));
    CHECK(roc_auc({1.0, 0.3, 0.0, 0.1}, {1.0, 0.95, 0.0, 0.8}) == doctest::Approx(two_point_auc));
    // Thresholds from high to low, as sklearn's roc_curve returns them, reversed.
    CHECK(roc_curve({0.3, 0.1}, {0.95, 0.8}) == curve{{0.0, 0.0}, {0.1, 0.8}, {0.3, 0.95}, {1.0, 1.0}});
    // (0,0) (0.5,0.2) (0.5,0.9) (1,1): 0.5*0.2/2 + 0 + 0.5*(0.9+1)/2 = 0.05 + 0.475.
    CHECK(roc_auc({0.5, 0.5}, {0.9, 0.2}) == doctest::Approx(0.525));
}

TEST_CASE("roc: NaN and infinite points are skipped; no point gives NaN") {
    CHECK(roc_auc({not_a_number, 0.1, 0.3, 0.3}, {0.5, 0.8, infinity, 0.95}) == doctest::Approx(two_point_auc));
    CHECK(roc_auc({0.1, -infinity, 0.3}, {0.8, 0.2, 0.95}) == doctest::Approx(two_point_auc));
    CHECK(std::isnan(roc_auc({}, {})));
    CHECK(std::isnan(roc_auc({not_a_number}, {0.5})));
    CHECK(std::isnan(roc_auc({0.5}, {})));  // no tpr: no point
    CHECK(roc_curve({}, {}).empty());
    CHECK(roc_curve({not_a_number, 0.2}, {0.1, not_a_number}).empty());
    // Extra entries of the longer vector are ignored.
    CHECK(roc_auc({0.1, 0.3, 0.9}, {0.8, 0.95}) == doctest::Approx(two_point_auc));
}

TEST_CASE("roc: a chart with the unit square as its domain spans [0,1] whatever its points") {
    namespace svg = mltrack_cli::svg;
    const std::string fixed =
        svg::line_chart("roc", "fpr", "tpr", {svg::line{"r", "#000", {{0.1, 0.8}, {0.3, 0.95}}}}, {}, svg::domain{});
    // Ticks 0, 0.2, ..., 1 on both axes (y ticks are anchored at their end, x ticks at their middle).
    for (const char* t : {"0", "0.2", "0.4", "0.6", "0.8", "1"}) {
        CAPTURE(t);
        CHECK(count(fixed, std::string("text-anchor=\"end\">") + t + "</text>") == 1);
        CHECK(count(fixed, std::string("text-anchor=\"middle\">") + t + "</text>") == 1);
    }
    // Without the domain the axes span the data only.
    const std::string free = svg::line_chart("roc", "fpr", "tpr", {svg::line{"r", "#000", {{0.1, 0.8}, {0.3, 0.95}}}});
    CHECK(count(free, "text-anchor=\"middle\">0</text>") == 0);
    // Data outside the domain widens it rather than leaving the plot.
    const std::string wide =
        svg::line_chart("roc", "fpr", "tpr", {svg::line{"r", "#000", {{0.5, 1.5}}}}, {}, svg::domain{});
    CHECK(count(wide, "text-anchor=\"end\">1.5</text>") == 1);
}

TEST_CASE("roc: show and report give the AUC with the corners, and the report's ROC chart spans [0,1]") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    {
        cli_dataset::clock_state() = 1700000000000000000;
        mltrack::tracker t{cli_dataset::make_config("exp"), mltrack::sinks::jsonl(d.path())};
        auto run = t.start_run("two-points");
        run.log_classification_metrics({}, {}, {0.1, 0.3}, {0.8, 0.95}, {0.7, 0.4}, "test");
    }
    const std::string run_file = (d.path() / "exp" / "two-points" / "events.jsonl").string();

    const auto json = cli_test::run({"show", run_file, "--format", "json"});
    REQUIRE(json.status == 0);
    const auto j = nlohmann::json::parse(json.out);
    CHECK(j["classifications"][0]["auc"].get<double>() == doctest::Approx(two_point_auc));

    const auto text = cli_test::run({"show", run_file});
    REQUIRE(text.status == 0);
    CHECK(text.out.find("roc: 2 points, AUC 0.8975") != std::string::npos);

    const auto report = cli_test::run({"report", d.path().string(), "-o", "-"});
    REQUIRE(report.status == 0);
    const std::string& html = report.out;
    CHECK(html.find("ROC AUC 0.8975") != std::string::npos);
    const auto title = html.find("<title>ROC of exp/two-points test</title>");
    REQUIRE(title != std::string::npos);
    const auto begin = html.rfind("<svg", title);
    const auto end = html.find("</svg>", title);
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    const std::string chart = html.substr(begin, end - begin);
    for (const char* t : {"0", "1"}) {
        CAPTURE(t);
        CHECK(count(chart, std::string("text-anchor=\"end\">") + t + "</text>") == 1);
        CHECK(count(chart, std::string("text-anchor=\"middle\">") + t + "</text>") == 1);
    }
    // The curve and the diagonal of a guessing classifier: two paths.
    CHECK(count(chart, "<path class=\"series\"") == 2);
    CHECK(chart.find("<title>chance, AUC 0.5</title>") != std::string::npos);
}
