// record.hpp: the closed record model, param values and the Vertex rules for classification metrics.
#include <mltrack/record.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack;

namespace {
// What log_params receives: an initializer list of (key, param_value) pairs.
std::vector<std::pair<std::string_view, param_value>> params(
    std::initializer_list<std::pair<std::string_view, param_value>> l) {
    return {l.begin(), l.end()};
}
}  // namespace

TEST_CASE("param_value: literals pick the right alternative") {
    const auto p = params({{"optimizer", "adam"}, {"batch", 64}, {"lr", 0.01}, {"augment", true}, {"f", 1.5f},
                           {"big", std::int64_t{1} << 40}, {"u", 7u}, {"ull", 9ull}, {"neg", -3}, {"zero", 0},
                           {"one_f", 1.0}, {"sv", std::string_view("x")}, {"s", std::string("y")}, {"no", false}});
    CHECK(p[0].second.is_string());  // a string literal is a string, not a bool
    CHECK(p[0].second.as_string() == "adam");
    CHECK(p[1].second.is_int());
    CHECK(p[1].second.as_int() == 64);
    CHECK(p[2].second.is_double());
    CHECK(p[2].second.as_double() == 0.01);
    CHECK(p[3].second.is_bool());
    CHECK(p[3].second.as_bool());
    CHECK(p[4].second.is_double());
    CHECK(p[4].second.as_double() == 1.5);
    CHECK(p[5].second.as_int() == (std::int64_t{1} << 40));
    CHECK(p[6].second.is_int());
    CHECK(p[7].second.is_int());
    CHECK(p[8].second.as_int() == -3);
    CHECK(p[9].second.is_int());
    CHECK(p[10].second.is_double());  // 1.0 stays a float
    CHECK(p[11].second.as_string() == "x");
    CHECK(p[12].second.as_string() == "y");
    CHECK(p[13].second.is_bool());
    CHECK_FALSE(p[13].second.as_bool());
    // as_double widens ints; the wrong accessor throws
    CHECK(p[1].second.as_double() == 64.0);
    CHECK_THROWS_AS((void)p[0].second.as_int(), std::bad_variant_access);
    CHECK_THROWS_AS((void)p[1].second.as_string(), std::bad_variant_access);
    CHECK_THROWS_AS((void)p[3].second.as_double(), std::bad_variant_access);
}

TEST_CASE("param_value: documented edge cases of integral types (docs/errors.md)") {
    CHECK(param_value('a').is_int());  // a char is a number
    CHECK(param_value('a').as_int() == 97);
    CHECK(param_value(std::numeric_limits<std::uint64_t>::max() / 2).as_int() ==
          std::numeric_limits<std::int64_t>::max());
    // above INT64_MAX an unsigned value wraps: documented, log such values as strings or floats
    CHECK(param_value(std::uint64_t{1} << 63).as_int() == std::numeric_limits<std::int64_t>::min());
    CHECK(param_value(static_cast<short>(-2)).as_int() == -2);
    CHECK(param_value(2.5L).is_double());
}

TEST_CASE("param_value: default, equality, to_text") {
    const param_value d;
    CHECK(d.is_int());
    CHECK(d.as_int() == 0);
    CHECK(param_value(1) != param_value(1.0));  // int and float differ
    CHECK(param_value(1) == param_value(std::int64_t{1}));
    CHECK(param_value("a") == param_value(std::string("a")));
    CHECK(param_value(true) != param_value(1));
    CHECK(param_value(64).to_text() == "64");
    CHECK(param_value(-5).to_text() == "-5");
    CHECK(param_value(0.01).to_text() == "0.01");
    CHECK(param_value(1.0).to_text() == "1.0");
    CHECK(param_value(true).to_text() == "true");
    CHECK(param_value(false).to_text() == "false");
    CHECK(param_value("adam").to_text() == "adam");
    CHECK(param_value(std::numeric_limits<std::int64_t>::min()).to_text() == "-9223372036854775808");
}

TEST_CASE("metric_point is the 32-byte trivially copyable hot record") {
    static_assert(std::is_trivially_copyable_v<metric_point>);
    CHECK(sizeof(metric_point) == 32);
}

TEST_CASE("enum spellings and parsers") {
    CHECK(std::strcmp(to_string(record_kind::metric), "metrics") == 0);
    const std::pair<record_kind, const char*> kinds[] = {
        {record_kind::run_start, "run_start"}, {record_kind::run_resume, "run_resume"},
        {record_kind::params, "params"},       {record_kind::metric, "metrics"},
        {record_kind::summary, "summary"},     {record_kind::classification, "classification"},
        {record_kind::artifact, "artifact"},   {record_kind::execution, "execution"},
        {record_kind::run_end, "run_end"}};
    for (const auto& [k, s] : kinds) CHECK(std::strcmp(to_string(k), s) == 0);
    for (auto st : {run_state::running, run_state::complete, run_state::failed, run_state::cancelled}) {
        const auto back = parse_run_state(to_string(st));
        REQUIRE(back.has_value());
        CHECK(*back == st);
    }
    CHECK(std::strcmp(to_string(run_state::complete), "COMPLETE") == 0);
    CHECK_FALSE(parse_run_state("complete").has_value());
    CHECK_FALSE(parse_run_state("").has_value());
    for (auto t : {artifact_type::artifact, artifact_type::model, artifact_type::dataset}) {
        const auto back = parse_artifact_type(to_string(t));
        REQUIRE(back.has_value());
        CHECK(*back == t);
    }
    CHECK_FALSE(parse_artifact_type("Model").has_value());
}

TEST_CASE("artifact::reference") {
    const auto a = artifact::reference("train-set", "gs://bucket/train.csv");
    CHECK(a.type == artifact_type::dataset);
    CHECK(a.name == "train-set");
    CHECK(a.source == "gs://bucket/train.csv");
    CHECK(a.path.empty());
    CHECK(a.sha256.empty());
    CHECK(a.size == 0);
    CHECK(artifact::reference("m", "/x", artifact_type::model).type == artifact_type::model);
}

TEST_CASE("record typed access") {
    record r;
    r.kind = record_kind::run_end;
    r.payload = run_state::failed;
    CHECK(r.get_state() == run_state::failed);
    CHECK_THROWS_AS((void)r.get_params(), std::bad_variant_access);
    r.payload = named_values<double>{{"a", 1.0}};
    CHECK(r.get_values().at(0).second == 1.0);
}

namespace {
classification_metrics good() {
    classification_metrics m;
    m.labels = {"cat", "dog"};
    m.matrix = {{9, 1}, {2, 8}};
    m.fpr = {0.1, 0.5};
    m.tpr = {0.6, 0.9};
    m.thresholds = {0.9, 0.1};
    return m;
}
}  // namespace

TEST_CASE("classification_metrics::validate accepts the Vertex shapes") {
    CHECK_NOTHROW(good().validate());
    auto only_matrix = good();
    only_matrix.fpr.clear();
    only_matrix.tpr.clear();
    only_matrix.thresholds.clear();
    CHECK_NOTHROW(only_matrix.validate());
    auto only_roc = good();
    only_roc.labels.clear();
    only_roc.matrix.clear();
    CHECK_NOTHROW(only_roc.validate());
    auto zeros = good();
    zeros.matrix = {{0, 0}, {0, 0}};
    CHECK_NOTHROW(zeros.validate());
    classification_metrics one;
    one.labels = {"only"};
    one.matrix = {{5}};
    CHECK_NOTHROW(one.validate());
}

TEST_CASE("classification_metrics::validate: every shape error id") {
    {
        auto m = good();
        m.matrix.clear();  // labels without matrix
        CHECK_ERROR_ID("shape.1", m.validate());
        auto n = good();
        n.labels.clear();  // matrix without labels
        CHECK_ERROR_ID("shape.1", n.validate());
    }
    {
        auto m = good();
        m.labels.push_back("bird");  // 3 labels, 2 rows
        CHECK_ERROR_ID("shape.2", m.validate());
        auto n = good();
        n.matrix.push_back({0, 0});  // 2 labels, 3 rows
        CHECK_ERROR_ID("shape.2", n.validate());
    }
    {
        auto m = good();
        m.matrix[1] = {1, 2, 3};  // not square
        const auto what = unit::error_of([&] { m.validate(); });
        CHECK(what == "[mltrack.error.shape.3] confusion matrix row 1 has 3 columns; a square matrix of 2 is required");
        auto n = good();
        n.matrix[0] = {};
        CHECK_ERROR_ID("shape.3", n.validate());
    }
    {
        auto m = good();
        m.matrix[0][1] = -1;
        CHECK_ERROR_ID("shape.4", m.validate());
    }
    {
        auto m = good();
        m.tpr.pop_back();
        CHECK_ERROR_ID("shape.5", m.validate());
        auto n = good();
        n.thresholds.push_back(0.0);
        CHECK_ERROR_ID("shape.5", n.validate());
        auto o = good();
        o.fpr.clear();
        CHECK_ERROR_ID("shape.5", o.validate());
        const auto what = unit::error_of([&] { o.validate(); });
        CHECK(what.find("(got 0, 2, 2)") != std::string::npos);
    }
    {
        const classification_metrics empty;
        CHECK_ERROR_ID("shape.6", empty.validate());
        classification_metrics named;
        named.display_name = "x";
        CHECK_ERROR_ID("shape.6", named.validate());
    }
    for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
        auto m = good();
        m.fpr[1] = bad;
        CHECK_ERROR_ID("value.2", m.validate());
        auto n = good();
        n.tpr[0] = bad;
        CHECK_ERROR_ID("value.2", n.validate());
        auto o = good();
        o.thresholds[0] = bad;
        CHECK_ERROR_ID("value.2", o.validate());
    }
}

TEST_CASE("event and batch views") {
    event evs[3];
    evs[1].step = 7;
    const batch b(evs, 3);
    CHECK(b.size() == 3);
    CHECK_FALSE(b.empty());
    CHECK(b[1].step == 7);
    CHECK(b.end() - b.begin() == 3);
    CHECK(batch().empty());
    CHECK(evs[0].kind == record_kind::metric);
}
