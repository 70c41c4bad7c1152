// Why: XGBoost's C API reports each boosting round's evaluation as one text line ("[3]\ttrain-rmse:0.12\t
// eval-rmse:0.15") and its failures as -1 plus a thread-local message. This adapter trains through that API
// and turns those into mltrack records: the booster params become run params, every evaluated metric of
// every round becomes a metric point (key "<dataset>/<metric>", step = round), the saved model becomes a
// model artifact (framework "xgboost" and the library's version), and every failing call becomes an
// mltrack::error carrying XGBoost's own message. The evaluation-line parser is exposed on its own.
//
// Not included by <mltrack/mltrack.hpp>: include <mltrack/autolog/xgboost.hpp> and link libxgboost.
#pragma once

#include <xgboost/c_api.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../run.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace autolog {
namespace xgboost {

// ---------------------------------------------------------------------------------------------------------
// Errors and version

/// Throws mltrack::error config.70 when an XGBoost C API call returned non-zero; the message is
/// "<call> failed: <XGBGetLastError()>".
inline void check(int rc, std::string_view call) {
    if (rc == 0) return;
    const char* last = XGBGetLastError();
    throw error(error_category::config, 70,
                "XGBoost " + std::string(call) + " failed: " + (last && *last ? last : "(no message from XGBoost)"));
}

/// The linked XGBoost library's version, "major.minor.patch" (XGBoostVersion()).
inline std::string version() {
    int major = 0, minor = 0, patch = 0;
    XGBoostVersion(&major, &minor, &patch);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

// ---------------------------------------------------------------------------------------------------------
// The evaluation-line parser (pure: no XGBoost call)

/// One "<dataset>-<metric>:<value>" piece of an evaluation line.
struct eval_metric {
    std::string dataset;  ///< "train", "eval", ... (the name given to XGBoosterEvalOneIter)
    std::string metric;   ///< "rmse", "ndcg@5", "map@3-", "tweedie-nloglik@1.5", ...
    double value = 0.0;   ///< NaN and infinities are kept ("nan", "-nan", "inf", "-inf", "infinity")
};

/// A piece of an evaluation line that the lenient parser left out, and why.
struct eval_skipped {
    std::string piece;
    std::string reason;
};

/// A parsed evaluation line.
struct eval_line {
    std::int64_t round = -1;                ///< the "[N]" prefix; -1 when absent (lenient mode only)
    std::vector<eval_metric> metrics;       ///< in the order of the line; duplicates are kept
    std::vector<eval_skipped> skipped;      ///< lenient mode: malformed pieces, left out
};

/// What the parser does with a malformed piece.
enum class parse_mode {
    strict,   ///< throw mltrack::error format.70 naming the piece and the reason
    lenient,  ///< leave the piece out and list it in eval_line::skipped
};

namespace detail {

inline std::string_view trim(std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\r' || c == '\n' || c == '\t' || c == '\v' || c == '\f'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

/// Parses the whole of `s` as a double: decimal or scientific, "nan", "-nan", "inf", "infinity" (any case),
/// with an optional leading '+' or '-'. Returns nullopt when anything is left over or the text is empty.
inline std::optional<double> parse_double(std::string_view s) {
    bool negate = false;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    else if (!s.empty() && s.front() == '-') {
        negate = true;
        s.remove_prefix(1);
    }
    if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
    double v = 0.0;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (res.ptr != s.data() + s.size()) return std::nullopt;
    if (res.ec == std::errc::result_out_of_range) {
        // from_chars leaves v unchanged on overflow/underflow: decide from the exponent's sign
        const auto e = s.find_first_of("eE");
        const bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
        v = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (res.ec != std::errc()) {
        return std::nullopt;
    }
    return negate ? -v : v;
}

inline std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    if (s.empty() || s.front() == '+') return std::nullopt;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace detail

/// Parses one evaluation line as XGBoosterEvalOneIter writes it: "[N]" then tab-separated pieces
/// "<dataset>-<metric>:<value>". Rules:
/// - Leading and trailing white space (a final newline) is ignored; empty pieces (two tabs) are ignored.
/// - The round is the "[N]" first piece (N >= 0). Missing or malformed: strict throws, lenient gives -1.
/// - A piece splits at its last ':' into name and value; the value is a whole number ("0.5", "1e-3",
///   "nan", "-nan", "inf", "-inf"); "0.5+0.01" (a cross-validation mean+std) is malformed.
/// - The name splits into dataset and metric. When `datasets` is given (the eval names the caller passed
///   to XGBoost; names may contain '-'), the longest name followed by '-' wins and a name that matches
///   none is malformed. Otherwise the split is at the first '-' (metric names keep theirs: "map@3-",
///   "poisson-nloglik"). Dataset and metric must both be non-empty.
/// Malformed pieces throw mltrack::error format.70 (strict) or are listed in eval_line::skipped (lenient).
inline eval_line parse_eval_line(std::string_view text, parse_mode mode = parse_mode::strict,
                                 const std::vector<std::string>& datasets = {}) {
    eval_line out;
    const auto fail = [&](std::string_view piece, const std::string& reason) {
        if (mode == parse_mode::strict)
            throw error(error_category::format, 70,
                        "XGBoost evaluation line, piece '" + mltrack::detail::printable(piece) + "': " + reason +
                            " (line: '" + mltrack::detail::printable(text) + "')");
        out.skipped.push_back({std::string(piece), reason});
    };

    std::vector<std::string_view> pieces;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto tab = text.find('\t', start);
        if (tab == std::string_view::npos) tab = text.size();
        const auto piece = detail::trim(text.substr(start, tab - start));
        if (!piece.empty()) pieces.push_back(piece);
        start = tab + 1;
    }

    std::size_t first = 0;
    if (!pieces.empty() && pieces[0].front() == '[') {
        const auto p = pieces[0];
        std::optional<std::int64_t> n;
        if (p.size() >= 3 && p.back() == ']') n = detail::parse_int(p.substr(1, p.size() - 2));
        if (n && *n >= 0) out.round = *n;
        else fail(p, "the round is not '[N]' with a whole number N >= 0");
        first = 1;
    } else {
        fail(std::string_view(), "the line does not start with the round '[N]'");  // its pieces are still read
    }

    for (std::size_t i = first; i < pieces.size(); ++i) {
        const auto piece = pieces[i];
        const auto colon = piece.rfind(':');
        if (colon == std::string_view::npos) {
            fail(piece, "no ':' between the name and the value");
            continue;
        }
        const auto name = detail::trim(piece.substr(0, colon));
        const auto value = detail::parse_double(detail::trim(piece.substr(colon + 1)));
        if (!value) {
            fail(piece, "the value is not a number");
            continue;
        }
        std::size_t dash = std::string_view::npos;
        if (!datasets.empty()) {
            std::size_t best = 0;
            for (const auto& d : datasets)
                if (!d.empty() && d.size() > best && name.size() > d.size() + 1 &&
                    name.compare(0, d.size(), d) == 0 && name[d.size()] == '-')
                    best = d.size();
            if (best == 0) {
                fail(piece, "the name does not start with one of the evaluated datasets followed by '-'");
                continue;
            }
            dash = best;
        } else {
            dash = name.find('-');
            if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) {
                fail(piece, "the name is not '<dataset>-<metric>'");
                continue;
            }
        }
        out.metrics.push_back({std::string(name.substr(0, dash)), std::string(name.substr(dash + 1)), *value});
    }
    return out;
}

/// The metric key an evaluated metric is logged under: prefix + dataset + "/" + metric ("train/rmse",
/// "eval/ndcg@5"). TensorBoard groups the charts by dataset.
inline std::string metric_key(std::string_view prefix, std::string_view dataset, std::string_view metric) {
    std::string k(prefix);
    k += dataset;
    k += '/';
    k += metric;
    return k;
}

/// Whether XGBoost itself treats a larger value of this metric as better (its Python package's rule):
/// auc, aucpr, map, ndcg, pre, with or without "@k" and a trailing "-".
inline bool metric_is_maximized(std::string_view metric) {
    const auto end = metric.find_first_of("@-");
    const auto base = metric.substr(0, end);
    return base == "auc" || base == "aucpr" || base == "map" || base == "ndcg" || base == "pre";
}

/// A booster param value as a run param: a whole number that fits int64 becomes an integer ("6"), a finite
/// number with '.', 'e' or 'E' a float ("0.1", "1e-3"), anything else stays a string ("reg:squarederror",
/// "nan", "true").
inline param_value to_param_value(std::string_view text) {
    if (auto i = detail::parse_int(text)) return *i;
    if (text.find_first_of(".eE") != std::string_view::npos) {
        if (auto d = detail::parse_double(text); d && std::isfinite(*d)) {
            const char c = text.front();
            if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') return *d;
        }
    }
    return std::string(text);
}

// ---------------------------------------------------------------------------------------------------------
// Owning handles

namespace detail {

/// A handle that `Free` releases on destruction (DMatrixHandle, BoosterHandle). Movable, not copyable.
template <class Handle, int (*Free)(Handle)>
class owned_handle {
public:
    owned_handle() = default;
    explicit owned_handle(Handle h) noexcept : h_(h) {}
    owned_handle(const owned_handle&) = delete;
    owned_handle& operator=(const owned_handle&) = delete;
    owned_handle(owned_handle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    owned_handle& operator=(owned_handle&& o) noexcept {
        if (this != &o) {
            if (h_) Free(h_);
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~owned_handle() {
        if (h_) Free(h_);
    }

    Handle handle() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }

protected:
    Handle h_ = nullptr;  ///< also freed when a derived constructor throws after setting it
};

}  // namespace detail

/// An owned DMatrixHandle (XGDMatrixFree on destruction). Movable, not copyable.
class dmatrix : public detail::owned_handle<DMatrixHandle, XGDMatrixFree> {
public:
    dmatrix() = default;
    /// Takes ownership of a handle made with any XGDMatrixCreate* call.
    explicit dmatrix(DMatrixHandle h) noexcept : owned_handle(h) {}
    /// A dense row-major matrix of `data.size() / cols` rows, with one label per row (labels may be empty).
    /// `missing` marks missing values (NaN by default). Throws shape.70 when the sizes do not fit.
    dmatrix(const std::vector<float>& data, std::size_t cols, const std::vector<float>& labels = {},
            float missing = std::numeric_limits<float>::quiet_NaN()) {
        if (cols == 0 || data.empty() || data.size() % cols != 0)
            throw error(error_category::shape, 70,
                        "dmatrix: " + std::to_string(data.size()) + " values do not make whole rows of " +
                            std::to_string(cols) + " columns");
        const auto rows = data.size() / cols;
        if (!labels.empty() && labels.size() != rows)
            throw error(error_category::shape, 70,
                        "dmatrix: " + std::to_string(labels.size()) + " labels for " + std::to_string(rows) +
                            " rows");
        check(XGDMatrixCreateFromMat(data.data(), static_cast<bst_ulong>(rows), static_cast<bst_ulong>(cols), missing,
                                     &h_),
              "XGDMatrixCreateFromMat");
        if (!labels.empty())
            check(XGDMatrixSetFloatInfo(h_, "label", labels.data(), static_cast<bst_ulong>(labels.size())),
                  "XGDMatrixSetFloatInfo(label)");
    }

    std::uint64_t rows() const {
        bst_ulong n = 0;
        check(XGDMatrixNumRow(h_, &n), "XGDMatrixNumRow");
        return n;
    }
};

/// An owned BoosterHandle (XGBoosterFree on destruction). Movable, not copyable.
class booster : public detail::owned_handle<BoosterHandle, XGBoosterFree> {
public:
    booster() = default;
    explicit booster(BoosterHandle h) noexcept : owned_handle(h) {}
    /// Rounds boosted so far (XGBoosterBoostedRounds).
    int boosted_rounds() const {
        int n = 0;
        check(XGBoosterBoostedRounds(h_, &n), "XGBoosterBoostedRounds");
        return n;
    }
    /// A booster attribute, or nullopt when it is not set.
    std::optional<std::string> attr(const std::string& key) const {
        const char* out = nullptr;
        int success = 0;
        check(XGBoosterGetAttr(h_, key.c_str(), &out, &success), "XGBoosterGetAttr");
        if (!success || !out) return std::nullopt;
        return std::string(out);
    }
};

// ---------------------------------------------------------------------------------------------------------
// Training

/// A data set evaluated after every round, under a name ("train", "eval").
struct eval_set {
    std::string name;
    const dmatrix* data = nullptr;
};

struct train_options {
    /// Booster params, in order, as XGBoosterSetParam takes them. A key may repeat ("eval_metric" twice
    /// adds two metrics); the run param then holds the values joined by ','.
    std::vector<std::pair<std::string, std::string>> params;
    int num_boost_round = 10;
    /// Evaluated after every round, in this order (put the training set here too to see its metrics).
    std::vector<eval_set> evals;
    /// Stop when the watched metric has not improved for this many rounds (0: off; needs evals).
    int early_stopping_rounds = 0;
    /// The watched metric: dataset and metric names. Empty: the last eval set and its last metric
    /// (XGBoost's own rule).
    std::string early_stopping_dataset;
    std::string early_stopping_metric;
    /// Larger is better? Default: true for auc, aucpr, map, ndcg, pre (metric_is_maximized), else false.
    std::optional<bool> maximize;
    /// Where to save the model; ".json" or ".ubj" (XGBoost picks the format from the extension). Empty:
    /// the model is neither saved nor logged.
    std::filesystem::path model_path;
    /// The model artifact's name (default: the file name).
    std::string model_name;
    /// Prepended to every metric key ("xgb/" gives "xgb/train/rmse") and to best_iteration / best_score.
    std::string metric_prefix;
    /// Log the booster params (and num_boost_round, early_stopping_rounds) as run params.
    bool log_params = true;
    /// How evaluation lines are parsed; lenient leaves malformed pieces out (train_result::skipped).
    parse_mode parse = parse_mode::lenient;
};

struct train_result {
    xgboost::booster booster;         ///< the trained booster (every round, also past the best one)
    int rounds = 0;                   ///< rounds boosted
    bool stopped_early = false;
    std::int64_t best_iteration = -1; ///< early stopping: the best round (also set without it: -1)
    double best_score = std::numeric_limits<double>::quiet_NaN();
    std::optional<artifact> model;    ///< the model artifact, when model_path was given
    std::vector<eval_skipped> skipped;
};

/// Trains a booster on `dtrain` through the C API and logs to `r`:
/// - params (when options.log_params), before the first round;
/// - every evaluated metric of every round as a point "<prefix><dataset>/<metric>" at step = round;
/// - with early stopping, summary metrics "<prefix>best_iteration" and "<prefix>best_score", also set as
///   booster attributes "best_iteration" / "best_score" (XGBoost's own convention, saved with the model);
/// - the saved model as a model artifact {"xgboost", version()}.
/// Errors: value.70 for invalid options (checked before any XGBoost call), config.70 for a failing XGBoost
/// call (bad param, bad data) with XGBoost's message, format.70 for a malformed evaluation line in strict
/// mode, and whatever the run's own calls throw. Points logged before an error stay logged.
inline train_result train(run& r, const dmatrix& dtrain, const train_options& o) {
    const auto invalid = [](const std::string& m) { return error(error_category::value, 70, "xgboost::train: " + m); };
    if (!dtrain) throw invalid("dtrain is empty");
    if (o.num_boost_round < 0) throw invalid("num_boost_round is negative");
    if (o.early_stopping_rounds < 0) throw invalid("early_stopping_rounds is negative");
    if (o.early_stopping_rounds > 0 && o.evals.empty()) throw invalid("early stopping needs at least one eval set");
    std::vector<std::string> names;
    for (const auto& e : o.evals) {
        if (e.name.empty()) throw invalid("an eval set has an empty name");
        if (!e.data || !*e.data) throw invalid("eval set '" + e.name + "' has no data");
        for (const auto& n : names)
            if (n == e.name) throw invalid("two eval sets are named '" + e.name + "'");
        names.push_back(e.name);
    }
    if (!o.early_stopping_dataset.empty()) {
        bool found = false;
        for (const auto& n : names) found = found || n == o.early_stopping_dataset;
        if (!found) throw invalid("early_stopping_dataset '" + o.early_stopping_dataset + "' is not an eval set");
    }
    if (!o.model_path.empty()) {
        const auto ext = o.model_path.extension().string();
        if (ext != ".json" && ext != ".ubj")
            throw invalid("model_path '" + o.model_path.string() + "' must end in .json or .ubj");
    }

    if (o.log_params) {
        named_values<param_value> logged;
        std::vector<std::pair<std::string, std::string>> joined;
        for (const auto& [k, v] : o.params) {
            bool merged = false;
            for (auto& [jk, jv] : joined)
                if (jk == k) {
                    jv += ',' + v;
                    merged = true;
                }
            if (!merged) joined.emplace_back(k, v);
        }
        for (const auto& [k, v] : joined) logged.emplace_back(k, to_param_value(v));
        logged.emplace_back("num_boost_round", static_cast<std::int64_t>(o.num_boost_round));
        if (o.early_stopping_rounds > 0)
            logged.emplace_back("early_stopping_rounds", static_cast<std::int64_t>(o.early_stopping_rounds));
        r.log_params(logged);
    }

    std::vector<DMatrixHandle> cache{dtrain.handle()};
    for (const auto& e : o.evals) cache.push_back(e.data->handle());
    BoosterHandle raw = nullptr;
    check(XGBoosterCreate(cache.data(), static_cast<bst_ulong>(cache.size()), &raw), "XGBoosterCreate");
    train_result res;
    res.booster = booster(raw);
    for (const auto& [k, v] : o.params)
        check(XGBoosterSetParam(raw, k.c_str(), v.c_str()), "XGBoosterSetParam(" + k + ")");

    std::vector<DMatrixHandle> eval_handles;
    std::vector<const char*> eval_names;
    for (const auto& e : o.evals) {
        eval_handles.push_back(e.data->handle());
        eval_names.push_back(e.name.c_str());
    }
    std::string watch_dataset = o.early_stopping_dataset, watch_metric = o.early_stopping_metric;
    bool maximize = false;
    int since_best = 0;
    named_values<double> points;
    for (int iter = 0; iter < o.num_boost_round; ++iter) {
        check(XGBoosterUpdateOneIter(raw, iter, dtrain.handle()), "XGBoosterUpdateOneIter");
        res.rounds = iter + 1;
        if (o.evals.empty()) continue;
        const char* text = nullptr;
        check(XGBoosterEvalOneIter(raw, iter, eval_handles.data(), eval_names.data(),
                                   static_cast<bst_ulong>(eval_handles.size()), &text),
              "XGBoosterEvalOneIter");
        auto line = parse_eval_line(text ? text : "", o.parse, names);
        for (auto& s : line.skipped) res.skipped.push_back(std::move(s));
        points.clear();
        for (const auto& m : line.metrics) points.emplace_back(metric_key(o.metric_prefix, m.dataset, m.metric), m.value);
        if (!points.empty()) r.log_time_series(points, iter);

        if (o.early_stopping_rounds == 0) continue;
        if (iter == 0) {
            if (watch_dataset.empty()) watch_dataset = names.back();
            if (watch_metric.empty())
                for (const auto& m : line.metrics)
                    if (m.dataset == watch_dataset) watch_metric = m.metric;  // the last one
            maximize = o.maximize ? *o.maximize : metric_is_maximized(watch_metric);
        }
        const eval_metric* watched = nullptr;
        for (const auto& m : line.metrics)
            if (m.dataset == watch_dataset && m.metric == watch_metric) watched = &m;
        if (!watched)
            throw invalid("the early-stopping metric '" + watch_dataset + "-" + watch_metric +
                          "' is not in round " + std::to_string(iter) + "'s evaluation: '" +
                          mltrack::detail::printable(text ? text : "") + "'");
        const double v = watched->value;
        const bool better = !std::isnan(v) && (res.best_iteration < 0 || std::isnan(res.best_score) ||
                                               (maximize ? v > res.best_score : v < res.best_score));
        if (better) {
            res.best_iteration = iter;
            res.best_score = v;
            since_best = 0;
        } else if (++since_best >= o.early_stopping_rounds) {
            res.stopped_early = true;
            break;
        }
    }

    if (o.early_stopping_rounds > 0 && res.best_iteration >= 0) {
        check(XGBoosterSetAttr(raw, "best_iteration", std::to_string(res.best_iteration).c_str()),
              "XGBoosterSetAttr(best_iteration)");
        char score[64];
        std::snprintf(score, sizeof score, "%.17g", res.best_score);
        check(XGBoosterSetAttr(raw, "best_score", score), "XGBoosterSetAttr(best_score)");
        r.log_metrics(named_values<double>{{o.metric_prefix + "best_iteration", static_cast<double>(res.best_iteration)},
                                           {o.metric_prefix + "best_score", res.best_score}});
    }

    if (!o.model_path.empty()) {
        if (o.model_path.has_parent_path()) {
            std::error_code ec;
            std::filesystem::create_directories(o.model_path.parent_path(), ec);  // a failure shows in the save
        }
        check(XGBoosterSaveModel(raw, o.model_path.string().c_str()), "XGBoosterSaveModel");
        artifact_options ao;
        ao.name = o.model_name;
        ao.metadata = {{"rounds", res.rounds}, {"format", o.model_path.extension().string().substr(1)}};
        if (o.early_stopping_rounds > 0) ao.metadata["best_iteration"] = res.best_iteration;
        res.model = r.log_model(o.model_path, model_info{"xgboost", version()}, ao);
    }
    return res;
}

}  // namespace xgboost
}  // namespace autolog
MLTRACK_NAMESPACE_END
