// mltrack/autolog/xgboost.hpp: the evaluation-line parser on tricky lines, param conversion, and training
// through the real XGBoost C API into a JSONL run read back with nlohmann (never mltrack's reader).
// Built only where libxgboost is found (tests/CMakeLists.txt and meson.build share the rule).
#include <mltrack/autolog/xgboost.hpp>
#include <mltrack/mltrack.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "unit_support.hpp"

namespace fs = std::filesystem;
namespace xgb = mltrack::autolog::xgboost;
using mltrack::autolog::xgboost::parse_mode;

TEST_CASE("parse_eval_line: rounds, several evals, several metrics") {
    const auto l = xgb::parse_eval_line("[3]\ttrain-rmse:0.12\teval-rmse:0.15\teval-mae:1e-3\n");
    CHECK(l.round == 3);
    REQUIRE(l.metrics.size() == 3);
    CHECK(l.metrics[0].dataset == "train");
    CHECK(l.metrics[0].metric == "rmse");
    CHECK(l.metrics[0].value == 0.12);
    CHECK(l.metrics[1].dataset == "eval");
    CHECK(l.metrics[1].value == 0.15);
    CHECK(l.metrics[2].metric == "mae");
    CHECK(l.metrics[2].value == 0.001);
    CHECK(l.skipped.empty());

    const auto only_round = xgb::parse_eval_line("[12]");
    CHECK(only_round.round == 12);
    CHECK(only_round.metrics.empty());

    // empty pieces (two tabs), spaces around pieces, a CRLF ending
    const auto loose = xgb::parse_eval_line("  [0]\t\ttrain-rmse: 2.5 \t\r\n");
    CHECK(loose.round == 0);
    REQUIRE(loose.metrics.size() == 1);
    CHECK(loose.metrics[0].value == 2.5);

    // duplicates are kept in order
    const auto dup = xgb::parse_eval_line("[1]\ta-rmse:1\ta-rmse:2");
    REQUIRE(dup.metrics.size() == 2);
    CHECK(dup.metrics[1].value == 2.0);
}

TEST_CASE("parse_eval_line: NaN and infinities are kept") {
    const auto l = xgb::parse_eval_line("[0]\ta-m:nan\ta-m:-nan\ta-m:inf\ta-m:-inf\ta-m:Infinity\ta-m:NaN\ta-m:1e999\ta-m:+2");
    REQUIRE(l.metrics.size() == 8);
    CHECK(std::isnan(l.metrics[0].value));
    CHECK(std::isnan(l.metrics[1].value));
    CHECK(l.metrics[2].value == std::numeric_limits<double>::infinity());
    CHECK(l.metrics[3].value == -std::numeric_limits<double>::infinity());
    CHECK(l.metrics[4].value == std::numeric_limits<double>::infinity());
    CHECK(std::isnan(l.metrics[5].value));
    CHECK(l.metrics[6].value == std::numeric_limits<double>::infinity());  // out of range: +inf
    CHECK(l.metrics[7].value == 2.0);
    const auto tiny = xgb::parse_eval_line("[0]\ta-m:1e-999\ta-m:-0");
    CHECK(tiny.metrics[0].value == 0.0);
    CHECK(std::signbit(tiny.metrics[1].value));
}

TEST_CASE("parse_eval_line: metric names with '@', '-', '.' and ':'") {
    const auto l = xgb::parse_eval_line(
        "[7]\tvalid-ndcg@5:0.8\tvalid-map@3-:0.5\tvalid-tweedie-nloglik@1.5:3.25\tvalid-poisson-nloglik:1\tvalid-my:odd:0.25");
    REQUIRE(l.metrics.size() == 5);
    CHECK(l.metrics[0].metric == "ndcg@5");
    CHECK(l.metrics[1].metric == "map@3-");
    CHECK(l.metrics[2].metric == "tweedie-nloglik@1.5");
    CHECK(l.metrics[2].value == 3.25);
    CHECK(l.metrics[3].metric == "poisson-nloglik");
    CHECK(l.metrics[4].metric == "my:odd");  // the value follows the last ':'
    CHECK(l.metrics[4].value == 0.25);
    for (const auto& m : l.metrics) CHECK(m.dataset == "valid");
}

TEST_CASE("parse_eval_line: dataset names with '-' need the list of datasets") {
    const std::string line = "[2]\tmy-valid-rmse:0.5\tmy-valid-set-rmse:0.25\ttrain-logloss:0.1";
    const auto guessed = xgb::parse_eval_line(line);  // first '-' without the list
    CHECK(guessed.metrics[0].dataset == "my");
    CHECK(guessed.metrics[0].metric == "valid-rmse");

    const auto known = xgb::parse_eval_line(line, parse_mode::strict, {"train", "my-valid", "my-valid-set"});
    REQUIRE(known.metrics.size() == 3);
    CHECK(known.metrics[0].dataset == "my-valid");
    CHECK(known.metrics[0].metric == "rmse");
    CHECK(known.metrics[1].dataset == "my-valid-set");  // the longest name wins
    CHECK(known.metrics[1].metric == "rmse");
    CHECK(known.metrics[2].dataset == "train");

    CHECK_ERROR_ID("format.70", xgb::parse_eval_line("[0]\tother-rmse:1", parse_mode::strict, {"train"}));
    CHECK_ERROR_ID("format.70", xgb::parse_eval_line("[0]\ttrain-:1", parse_mode::strict, {"train"}));
}

TEST_CASE("parse_eval_line: malformed pieces throw format.70 (strict) or are skipped (lenient)") {
    const std::vector<std::string> bad_lines = {
        "",                       // no round
        "train-rmse:0.5",         // no round
        "[x]\ttrain-rmse:0.5",    // round not a number
        "[-1]\ttrain-rmse:0.5",   // negative round
        "[1\ttrain-rmse:0.5",     // unclosed
        "[]\ttrain-rmse:0.5",
        "[+1]\ttrain-rmse:0.5",
        "[0]\ttrain-rmse",        // no ':'
        "[0]\ttrain-rmse:",       // no value
        "[0]\ttrain-rmse:abc",
        "[0]\ttrain-rmse:0.5+0.01",  // cross-validation mean+std
        "[0]\ttrain-rmse:0.5x",
        "[0]\ttrain-rmse:--1",
        "[0]\trmse:0.5",          // no dataset
        "[0]\t-rmse:0.5",         // empty dataset
        "[0]\ttrain-:0.5",        // empty metric
    };
    for (const auto& line : bad_lines) {
        CAPTURE(line);
        CHECK_ERROR_ID("format.70", xgb::parse_eval_line(line));
    }

    const std::string what = unit::error_of([] { xgb::parse_eval_line("[0]\ttrain-rmse:0.5\teval-rmse:oops"); });
    CHECK(what.find("eval-rmse:oops") != std::string::npos);
    CHECK(what.find("not a number") != std::string::npos);

    // lenient: the good pieces stay, the bad ones are listed with a reason
    const auto l = xgb::parse_eval_line("[4]\ttrain-rmse:0.5\teval-rmse:oops\tnodash:1\teval-mae:0.25",
                                        parse_mode::lenient);
    CHECK(l.round == 4);
    REQUIRE(l.metrics.size() == 2);
    CHECK(l.metrics[1].metric == "mae");
    REQUIRE(l.skipped.size() == 2);
    CHECK(l.skipped[0].piece == "eval-rmse:oops");
    CHECK(l.skipped[1].piece == "nodash:1");
    CHECK_FALSE(l.skipped[1].reason.empty());

    const auto no_round = xgb::parse_eval_line("train-rmse:0.5", parse_mode::lenient);
    CHECK(no_round.round == -1);
    REQUIRE(no_round.metrics.size() == 1);  // the pieces are still read
    REQUIRE(no_round.skipped.size() == 1);
    CHECK(no_round.skipped[0].piece.empty());
}

TEST_CASE("param values and maximized metrics") {
    CHECK(xgb::to_param_value("6").is_int());
    CHECK(xgb::to_param_value("6").as_int() == 6);
    CHECK(xgb::to_param_value("-3").as_int() == -3);
    CHECK(xgb::to_param_value("0.1").is_double());
    CHECK(xgb::to_param_value("0.1").as_double() == 0.1);
    CHECK(xgb::to_param_value("1e-3").as_double() == 0.001);
    CHECK(xgb::to_param_value("reg:squarederror").is_string());
    CHECK(xgb::to_param_value("nan").is_string());
    CHECK(xgb::to_param_value("1e999").is_string());  // not finite
    CHECK(xgb::to_param_value("true").is_string());
    CHECK(xgb::to_param_value("99999999999999999999").is_string());  // does not fit int64
    CHECK(xgb::to_param_value("").is_string());
    CHECK(xgb::to_param_value("e5").is_string());

    CHECK(xgb::metric_is_maximized("auc"));
    CHECK(xgb::metric_is_maximized("ndcg@5"));
    CHECK(xgb::metric_is_maximized("map@3-"));
    CHECK(xgb::metric_is_maximized("aucpr"));
    CHECK_FALSE(xgb::metric_is_maximized("rmse"));
    CHECK_FALSE(xgb::metric_is_maximized("logloss"));
    CHECK_FALSE(xgb::metric_is_maximized("auc_custom"));
    CHECK(xgb::metric_key("", "train", "rmse") == "train/rmse");
    CHECK(xgb::metric_key("xgb/", "eval", "ndcg@5") == "xgb/eval/ndcg@5");
}

namespace {

// y = 3*x0 - 2*x1 + x2*x3 + noise: a deterministic regression set.
struct synthetic {
    std::vector<float> x, y;
    std::size_t cols = 4;
};

synthetic make_data(std::size_t rows, unsigned seed, bool random_labels = false) {
    synthetic d;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 0.1f);
    for (std::size_t i = 0; i < rows; ++i) {
        float r[4];
        for (auto& v : r) v = u(rng);
        d.x.insert(d.x.end(), r, r + 4);
        d.y.push_back(random_labels ? 5.0f * u(rng) : 3 * r[0] - 2 * r[1] + r[2] * r[3] + noise(rng));
    }
    return d;
}

std::vector<nlohmann::json> events(const unit::temp_dir& dir, const std::string& run) {
    return unit::parse_jsonl(dir.path() / "xgb" / run / "events.jsonl");
}

mltrack::config quiet() {
    mltrack::config c("xgb");
    c.dispatch = mltrack::dispatch_mode::inline_;
    return c;
}

}  // namespace

TEST_CASE("train: params, one point per round per eval metric, the model artifact") {
    unit::temp_dir dir;
    const auto tr = make_data(600, 1), va = make_data(200, 2);
    xgb::dmatrix dtrain(tr.x, tr.cols, tr.y), dvalid(va.x, va.cols, va.y);
    CHECK(dtrain.rows() == 600);

    xgb::train_options o;
    o.params = {{"objective", "reg:squarederror"}, {"max_depth", "3"}, {"eta", "0.3"},
                {"eval_metric", "rmse"}, {"eval_metric", "mae"}, {"nthread", "1"}, {"seed", "7"}};
    o.num_boost_round = 6;
    o.evals = {{"train", &dtrain}, {"valid-set", &dvalid}};
    o.model_path = dir.path() / "scratch" / "model.json";

    double predicted_rmse = 0;
    {
        mltrack::tracker t{quiet(), mltrack::sinks::jsonl{dir.path()}};
        auto run = t.start_run("r1");
        auto res = xgb::train(run, dtrain, o);
        CHECK(res.rounds == 6);
        CHECK(res.booster.boosted_rounds() == 6);
        CHECK_FALSE(res.stopped_early);
        CHECK(res.skipped.empty());
        REQUIRE(res.model.has_value());
        CHECK(res.model->framework == "xgboost");

        // an independent measure of the last round's valid-set rmse: predict and compute it here
        bst_ulong n = 0;
        const float* pred = nullptr;
        xgb::check(XGBoosterPredict(res.booster.handle(), dvalid.handle(), 0, 0, 0, &n, &pred), "XGBoosterPredict");
        REQUIRE(n == va.y.size());
        double se = 0;
        for (bst_ulong i = 0; i < n; ++i) se += (pred[i] - va.y[i]) * (pred[i] - va.y[i]);
        predicted_rmse = std::sqrt(se / static_cast<double>(n));
    }

    const auto lines = events(dir, "r1");
    const auto params = unit::of_kind(lines, "params");
    REQUIRE(params.size() == 1);
    const auto& p = params[0]["values"];
    CHECK(p["objective"] == "reg:squarederror");
    CHECK(p["max_depth"].is_number_integer());
    CHECK(p["max_depth"] == 3);
    CHECK(p["eta"].is_number_float());
    CHECK(p["eta"] == 0.3);
    CHECK(p["eval_metric"] == "rmse,mae");  // repeated key: joined
    CHECK(p["num_boost_round"] == 6);
    CHECK_FALSE(p.contains("early_stopping_rounds"));

    std::map<std::string, std::vector<std::pair<std::int64_t, double>>> series;
    for (const auto& m : unit::of_kind(lines, "metrics"))
        for (const auto& [k, v] : m["values"].items()) series[k].emplace_back(m["step"].get<std::int64_t>(), v.get<double>());
    REQUIRE(series.size() == 4);
    for (const auto* key : {"train/rmse", "train/mae", "valid-set/rmse", "valid-set/mae"}) {
        CAPTURE(key);
        REQUIRE(series.count(key) == 1);
        const auto& s = series[key];
        REQUIRE(s.size() == 6);
        for (std::size_t i = 0; i < s.size(); ++i) CHECK(s[i].first == static_cast<std::int64_t>(i));
    }
    CHECK(series["train/rmse"].back().second < series["train/rmse"].front().second);  // it learned
    CHECK(series["valid-set/rmse"].back().second == doctest::Approx(predicted_rmse).epsilon(1e-4));

    const auto arts = unit::of_kind(lines, "artifact");
    REQUIRE(arts.size() == 1);
    CHECK(arts[0]["type"] == "model");
    CHECK(arts[0]["framework"] == "xgboost");
    CHECK(arts[0]["framework_version"] == xgb::version());
    CHECK(arts[0]["metadata"]["rounds"] == 6);
    CHECK(arts[0]["metadata"]["format"] == "json");
    const auto stored = dir.path() / "xgb" / "r1" / arts[0]["path"].get<std::string>();
    REQUIRE(fs::exists(stored));
    CHECK(fs::file_size(stored) > 100);
    const auto model_json = nlohmann::json::parse(unit::read_file(stored));  // XGBoost's JSON model format
    CHECK(model_json.contains("learner"));

    // the stored copy loads back into XGBoost with every round
    BoosterHandle loaded = nullptr;
    xgb::check(XGBoosterCreate(nullptr, 0, &loaded), "XGBoosterCreate");
    xgb::booster owner(loaded);
    xgb::check(XGBoosterLoadModel(loaded, stored.string().c_str()), "XGBoosterLoadModel");
    CHECK(owner.boosted_rounds() == 6);
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    CHECK(xgb::version() == std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch));
}

TEST_CASE("train: early stopping on a metric that stops improving") {
    unit::temp_dir dir;
    const auto tr = make_data(400, 3), noise = make_data(200, 4, true);  // labels unrelated to the features
    xgb::dmatrix dtrain(tr.x, tr.cols, tr.y), dnoise(noise.x, noise.cols, noise.y);
    xgb::train_options o;
    o.params = {{"max_depth", "6"}, {"eta", "0.5"}, {"nthread", "1"}, {"eval_metric", "rmse"}};
    o.num_boost_round = 200;
    o.evals = {{"train", &dtrain}, {"noise", &dnoise}};
    o.early_stopping_rounds = 3;
    o.model_path = dir.path() / "model.ubj";
    o.metric_prefix = "xgb/";

    std::int64_t best = -1;
    int rounds = 0;
    {
        mltrack::tracker t{quiet(), mltrack::sinks::jsonl{dir.path()}};
        auto run = t.start_run("es");
        auto res = xgb::train(run, dtrain, o);
        CHECK(res.stopped_early);
        CHECK(res.rounds < 200);
        REQUIRE(res.best_iteration >= 0);
        CHECK(res.rounds == res.best_iteration + 1 + 3);
        CHECK(res.booster.attr("best_iteration") == std::to_string(res.best_iteration));
        REQUIRE(res.booster.attr("best_score").has_value());
        CHECK(std::stod(*res.booster.attr("best_score")) == doctest::Approx(res.best_score));
        best = res.best_iteration;
        rounds = res.rounds;
    }
    const auto lines = events(dir, "es");
    CHECK(unit::of_kind(lines, "params")[0]["values"]["early_stopping_rounds"] == 3);
    std::vector<double> watched;
    for (const auto& m : unit::of_kind(lines, "metrics"))
        if (m["values"].contains("xgb/noise/rmse")) watched.push_back(m["values"]["xgb/noise/rmse"].get<double>());
    REQUIRE(watched.size() == static_cast<std::size_t>(rounds));
    // the best round really is the minimum of what was logged, and the last 3 did not beat it
    const auto min_it = std::min_element(watched.begin(), watched.end());
    CHECK(min_it - watched.begin() == best);
    const auto summary = unit::of_kind(lines, "summary");
    REQUIRE(summary.size() == 1);
    CHECK(summary[0]["values"]["xgb/best_iteration"] == static_cast<double>(best));
    CHECK(summary[0]["values"]["xgb/best_score"] == doctest::Approx(*min_it));
    const auto arts = unit::of_kind(lines, "artifact");
    REQUIRE(arts.size() == 1);
    CHECK(arts[0]["metadata"]["format"] == "ubj");
    CHECK(arts[0]["metadata"]["best_iteration"] == best);
}

TEST_CASE("train: explicit early-stopping metric, maximized") {
    unit::temp_dir dir;
    auto tr = make_data(300, 5);
    for (auto& y : tr.y) y = y > 0 ? 1.0f : 0.0f;  // a binary task
    xgb::dmatrix dtrain(tr.x, tr.cols, tr.y);
    xgb::train_options o;
    o.params = {{"objective", "binary:logistic"}, {"eval_metric", "auc"}, {"eval_metric", "logloss"}, {"nthread", "1"}};
    o.num_boost_round = 30;
    o.evals = {{"train", &dtrain}};
    o.early_stopping_rounds = 2;
    o.early_stopping_metric = "auc";  // not the last metric (logloss)
    mltrack::tracker t{quiet(), mltrack::sinks::jsonl{dir.path()}};
    auto run = t.start_run("auc");
    const auto res = xgb::train(run, dtrain, o);
    REQUIRE(res.best_iteration >= 0);
    CHECK(res.best_score > 0.9);  // training AUC of a learnable task
    CHECK(res.best_score <= 1.0);

    o.early_stopping_metric = "nonexistent";
    auto run2 = t.start_run("missing-metric");
    CHECK_ERROR_ID("value.70", xgb::train(run2, dtrain, o));
}

TEST_CASE("train: invalid options are value.70, before any XGBoost call") {
    unit::temp_dir dir;
    const auto tr = make_data(50, 6);
    xgb::dmatrix dtrain(tr.x, tr.cols, tr.y);
    mltrack::tracker t{quiet(), mltrack::sinks::jsonl{dir.path()}};
    auto run = t.start_run("bad");
    const xgb::dmatrix empty;
    const auto base = [&] {
        xgb::train_options o;
        o.num_boost_round = 2;
        o.evals = {{"train", &dtrain}};
        return o;
    };
    CHECK_ERROR_ID("value.70", xgb::train(run, empty, base()));
    auto o = base();
    o.num_boost_round = -1;
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    o = base();
    o.early_stopping_rounds = -2;
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    o = base();
    o.evals.clear();
    o.early_stopping_rounds = 2;
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    o = base();
    o.evals.push_back({"train", &dtrain});
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    o = base();
    o.evals.push_back({"", &dtrain});
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    o = base();
    o.evals.push_back({"x", nullptr});
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    o = base();
    o.early_stopping_rounds = 1;
    o.early_stopping_dataset = "nope";
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    o = base();
    o.model_path = dir.path() / "model.bin";
    CHECK_ERROR_ID("value.70", xgb::train(run, dtrain, o));
    run.end();

    // nothing was logged by the failed calls
    const auto lines = events(dir, "bad");
    CHECK(unit::of_kind(lines, "params").empty());
    CHECK(unit::of_kind(lines, "metrics").empty());
}

TEST_CASE("XGBoost's own errors become config.70 with XGBoost's message") {
    unit::temp_dir dir;
    const auto tr = make_data(50, 7);
    xgb::dmatrix dtrain(tr.x, tr.cols, tr.y);
    mltrack::tracker t{quiet(), mltrack::sinks::jsonl{dir.path()}};
    auto run = t.start_run("xgb-errors");
    xgb::train_options o;
    o.params = {{"objective", "reg:no-such-objective"}, {"nthread", "1"}};
    o.num_boost_round = 2;
    const std::string what = unit::error_of([&] { xgb::train(run, dtrain, o); });
    CHECK(unit::has_id(what, "config.70"));
    CHECK(what.find("XGBoosterUpdateOneIter failed") != std::string::npos);
    CHECK(what.find("no-such-objective") != std::string::npos);  // XGBGetLastError's text

    o.params = {{"eval_metric", "no-such-metric"}, {"nthread", "1"}};
    o.evals = {{"train", &dtrain}};
    CHECK_ERROR_ID("config.70", xgb::train(run, dtrain, o));

    // an unwritable model path: the save fails with XGBoost's message
    unit::write_file(dir.path() / "file", "x");
    o.params = {{"nthread", "1"}};
    o.model_path = dir.path() / "file" / "model.json";
    CHECK_ERROR_ID("config.70", xgb::train(run, dtrain, o));

    CHECK_ERROR_ID("config.70", xgb::check(-1, "test"));
    CHECK_NOTHROW(xgb::check(0, "test"));

    // dmatrix shapes
    CHECK_ERROR_ID("shape.70", xgb::dmatrix(std::vector<float>{1, 2, 3}, 2));
    CHECK_ERROR_ID("shape.70", xgb::dmatrix(std::vector<float>{1, 2, 3, 4}, 2, std::vector<float>{1}));
    CHECK_ERROR_ID("shape.70", xgb::dmatrix(std::vector<float>{1, 2}, 0));
    CHECK_ERROR_ID("shape.70", xgb::dmatrix(std::vector<float>{}, 2));
}
