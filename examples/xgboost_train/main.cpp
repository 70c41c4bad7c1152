// XGBoost through its C API, logged with mltrack/autolog/xgboost.hpp: a regression on a synthetic data set
// (deterministic), train and validation metrics per round, early stopping, and the saved model as a model
// artifact. Logs to JSONL (the source of truth) and TensorBoard.
//
//   xgboost_train [--out DIR] [--rounds N] [--rows N] [--run NAME]   (defaults: ./mltrack-out, 20, 4000)
//
// Build: link libxgboost (Debian: libxgboost-dev), e.g. g++ -std=c++17 main.cpp -lxgboost -pthread.
#include <mltrack/autolog/xgboost.hpp>
#include <mltrack/mltrack.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace xgb = mltrack::autolog::xgboost;

namespace {

struct options {
    fs::path out = "mltrack-out";
    int rounds = 20;
    long rows = 4000;
    std::string run;
};

[[noreturn]] void usage_error(const std::string& m) {
    std::fprintf(stderr, "xgboost_train: %s (try --help)\n", m.c_str());
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("usage: xgboost_train [--out DIR] [--rounds N] [--rows N] [--run NAME]\n");
            std::exit(0);
        }
        if (i + 1 >= argc) usage_error("unknown argument or missing value: '" + a + "'");
        const std::string v = argv[++i];
        if (a == "--out") o.out = v;
        else if (a == "--rounds") o.rounds = std::atoi(v.c_str());
        else if (a == "--rows") o.rows = std::atol(v.c_str());
        else if (a == "--run") o.run = v;
        else usage_error("unknown argument '" + a + "'");
    }
    if (o.rounds < 1) usage_error("--rounds must be at least 1");
    if (o.rows < 10) usage_error("--rows must be at least 10");
    if (o.run.empty()) {
        char buf[32];
        const std::time_t t = std::time(nullptr);
        std::strftime(buf, sizeof buf, "xgb-%Y%m%d-%H%M%S", std::gmtime(&t));
        o.run = buf;
    }
    return o;
}

// y = 2 sin(x0) + x1 x2 - x3 + 0.5 x4^2 + noise, 8 features (3 of them pure noise), fixed seed.
struct data_set {
    std::vector<float> x, y;
};
constexpr std::size_t n_features = 8;

void make_data(long rows, data_set& train, data_set& valid) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    std::normal_distribution<float> noise(0.0f, 0.2f);
    for (long i = 0; i < rows; ++i) {
        float f[n_features];
        for (auto& v : f) v = u(rng);
        const float y = 2.0f * std::sin(f[0]) + f[1] * f[2] - f[3] + 0.5f * f[4] * f[4] + noise(rng);
        auto& set = i % 5 == 4 ? valid : train;  // 80/20 split
        set.x.insert(set.x.end(), f, f + n_features);
        set.y.push_back(y);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    try {
        data_set train, valid;
        make_data(opt.rows, train, valid);
        const xgb::dmatrix dtrain(train.x, n_features, train.y), dvalid(valid.x, n_features, valid.y);

        mltrack::tracker tracker{{"xgboost-train"}, mltrack::sinks::jsonl{opt.out / "runs"},
                                 mltrack::sinks::tensorboard{opt.out / "tb"}};
        auto run = tracker.start_run(opt.run);  // ends COMPLETE at scope exit, FAILED on an exception
        run.log_params({{"data/rows", static_cast<std::int64_t>(opt.rows)}, {"data/seed", 42}});

        xgb::train_options o;
        o.params = {{"objective", "reg:squarederror"}, {"max_depth", "4"}, {"eta", "0.2"},
                    {"subsample", "0.9"},          {"eval_metric", "rmse"}, {"eval_metric", "mae"},
                    {"nthread", "2"},              {"seed", "7"}};
        o.num_boost_round = opt.rounds;
        o.evals = {{"train", &dtrain}, {"valid", &dvalid}};  // early stopping watches the last: valid/mae
        o.early_stopping_rounds = 5;
        o.model_path = opt.out / "scratch" / (opt.run + "-model.json");
        const auto res = xgb::train(run, dtrain, o);

        std::printf("xgboost %s: %d rounds%s, best round %lld (valid mae %.4f)\n", xgb::version().c_str(),
                    res.rounds, res.stopped_early ? " (stopped early)" : "",
                    static_cast<long long>(res.best_iteration), res.best_score);
        for (const auto& s : res.skipped)
            std::printf("  skipped evaluation piece '%s': %s\n", s.piece.c_str(), s.reason.c_str());
        if (res.model)
            std::printf("model %s: %llu bytes (framework %s %s)\n", res.model->name.c_str(),
                        static_cast<unsigned long long>(res.model->size), res.model->framework.c_str(),
                        res.model->framework_version.c_str());
    } catch (const mltrack::error& e) {
        std::fprintf(stderr, "xgboost_train: %s\n", e.what());
        return 1;
    }
    std::printf("run %s: JSONL under %s, TensorBoard: tensorboard --logdir %s\n", opt.run.c_str(),
                (opt.out / "runs").string().c_str(), (opt.out / "tb").string().c_str());
    return 0;
}
