// The MLflow quickstart: the same simulated sweep as examples/quickstart, logged at once to JSONL (the
// durable local copy) and live to an MLflow tracking server, then read back from the server with its REST
// reads (runs/search, metrics/get-history) and printed.
//
//   MLFLOW_TRACKING_URI=http://127.0.0.1:5000 mlflow_quickstart [--out DIR] [--steps N] [--register NAME]
//
// Credentials and TLS settings come from MLflow's own variables (MLFLOW_TRACKING_TOKEN,
// MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_INSECURE_TLS...; docs/mlflow.md).
// Models and classification metrics go to the run's artifacts through the server's mlflow-artifacts proxy
// (start it with --artifacts-destination); --register NAME also registers each model as a version of NAME.
#include <mltrack/mltrack.hpp>
#include <mltrack/sinks/mlflow.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct options {
    fs::path out = "mltrack-out";
    std::int64_t steps = 200;
    std::string register_as;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--out" && has_value) o.out = argv[++i];
        else if (a == "--steps" && has_value) o.steps = std::strtoll(argv[++i], nullptr, 10);
        else if (a == "--register" && has_value) o.register_as = argv[++i];
        else if (a == "--help" || a == "-h") {
            std::printf("usage: MLFLOW_TRACKING_URI=http://host:port mlflow_quickstart [--out DIR] [--steps N] "
                        "[--register NAME]\n");
            std::exit(0);
        } else {
            std::fprintf(stderr, "mlflow_quickstart: unknown argument '%s' (try --help)\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.steps < 1) {
        std::fprintf(stderr, "mlflow_quickstart: --steps must be at least 1\n");
        std::exit(2);
    }
    return o;
}

std::string timestamp() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::gmtime(&t));
    return buf;
}

// One simulated training run, as in examples/quickstart: params, two curves at every step, summary metrics,
// classification metrics and a model.
void train(mltrack::tracker& tracker, const std::string& run_name, double lr, std::int64_t steps,
           const fs::path& scratch) {
    auto run = tracker.start_run(run_name);
    run.log_params({{"lr", lr}, {"batch", 64}, {"optimizer", "adam"}, {"epochs", 1}});
    run.set_tag("example", "mlflow_quickstart");
    auto loss = run.metric("train/loss");
    auto acc = run.metric("train/accuracy");
    std::mt19937 rng(static_cast<unsigned>(lr * 1e6));
    std::normal_distribution<double> noise(0.0, 0.02);
    double l = 2.3, a = 0.1;
    for (std::int64_t step = 0; step < steps; ++step) {
        l = 2.3 * std::exp(-lr * 30.0 * static_cast<double>(step) / static_cast<double>(steps)) + 0.05 + noise(rng);
        a = 1.0 - l / 2.5;
        loss.log(l, step);  // never waits for the network: the sink sends batches from the writer thread
        acc.log(a, step);
    }
    run.log_metrics({{"accuracy", a}, {"loss", l}});
    const auto right = static_cast<std::int64_t>(std::round(100 * a));
    run.log_classification_metrics({"cat", "dog"}, {{right, 100 - right}, {100 - right, right}},
                                   {0.05, 0.2, 0.5}, {0.4, 0.8, 0.95}, {0.9, 0.5, 0.1}, "validation");
    const fs::path model_dir = scratch / (run_name + "-model");
    fs::create_directories(model_dir);
    std::ofstream(model_dir / "model.json") << "{\"weights\": [" << l << ", " << a << "]}\n";
    (void)run.log_model(model_dir, {"custom", "1.0"});
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    const fs::path jsonl_root = opt.out / "runs";
    const fs::path scratch = opt.out / "scratch";
    fs::create_directories(scratch);

    mltrack::sinks::mlflow_options mo;  // the tracking URI and credentials: MLflow's variables
    mo.register_model_as = opt.register_as;
    const std::string experiment = "mlflow-quickstart";
    std::vector<std::string> names;
    int problems = 0;
    try {
        mltrack::sinks::mlflow sink{mo};
        auto monitor = sink.monitor();
        const std::string uri = sink.tracking_uri();
        std::printf("MLflow: %s\ncredentials: %s\n", uri.c_str(), sink.credentials_source().c_str());

        mltrack::config cfg{experiment};
        cfg.on_error = [&problems](const mltrack::sink_error& e) {
            ++problems;
            std::fprintf(stderr, "mlflow_quickstart: %s: %s\n", e.sink.c_str(), e.message.c_str());
        };
        mltrack::tracker tracker{cfg, mltrack::sinks::jsonl{jsonl_root}, std::move(sink)};
        const std::string stamp = timestamp();
        std::vector<std::thread> sweep;
        for (double lr : {0.1, 0.03}) {
            names.push_back("lr-" + std::to_string(lr).substr(0, 4) + "-" + stamp);
            sweep.emplace_back(train, std::ref(tracker), names.back(), lr, opt.steps, scratch);
        }
        for (auto& t : sweep) t.join();
        tracker.close();  // waits (up to close_timeout) until the server has everything
        const auto s = monitor.stats();
        std::printf("sent %llu points in %llu log-batch requests; %llu requests in all, %llu retried; "
                    "%llu points and %llu operations undelivered\n",
                    static_cast<unsigned long long>(s.points_sent), static_cast<unsigned long long>(s.batch_requests),
                    static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.retries),
                    static_cast<unsigned long long>(s.undelivered_points),
                    static_cast<unsigned long long>(s.undelivered_operations));

        // Read the runs back with MLflow's REST reads: runs/search by name, metrics/get-history.
        mltrack::detail::http_client http;
        auto call = [&](mltrack::detail::http_request r) {
            r.plain_http_host = mltrack::detail::url_scheme_host(uri).second;
            r.headers.push_back("Content-Type: application/json");
            auto res = http.perform(r);
            if (!res.ok || res.response.status != 200)
                throw std::runtime_error(r.url + ": " + (res.ok ? res.response.body : res.error));
            return nlohmann::json::parse(res.response.body);
        };
        mltrack::detail::http_request get;
        get.url = uri + "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + experiment;
        const std::string eid = call(get)["experiment"]["experiment_id"];
        for (const auto& n : names) {
            mltrack::detail::http_request search;
            search.method = "POST";
            search.url = uri + "/api/2.0/mlflow/runs/search";
            search.body = nlohmann::json{{"experiment_ids", {eid}}, {"filter", "tags.mlflow.runName = '" + n + "'"}}.dump();
            const auto runs = call(search)["runs"];
            if (runs.size() != 1) {
                std::printf("\nrun %s: %zu MLflow runs of that name\n", n.c_str(), runs.size());
                ++problems;
                continue;
            }
            const auto& r = runs[0];
            const std::string id = r["info"]["run_id"];
            std::printf("\nrun %s (%s): %s\n", n.c_str(), id.c_str(), r["info"]["status"].get<std::string>().c_str());
            for (const auto& p : r["data"]["params"])
                std::printf("  param %s = %s\n", p["key"].get<std::string>().c_str(), p["value"].get<std::string>().c_str());
            for (const char* key : {"train/loss", "train/accuracy", "accuracy"}) {
                mltrack::detail::http_request h;
                h.url = uri + "/api/2.0/mlflow/metrics/get-history?run_id=" + id +
                        "&metric_key=" + mltrack::detail::url_encode(key) + "&max_results=100000";
                const auto hist = call(h)["metrics"];
                std::printf("  metric %s: %zu points, last %s\n", key, hist.size(),
                            hist.empty() ? "-" : hist.back()["value"].dump().c_str());
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mlflow_quickstart: %s\n", e.what());
        return 1;
    }
    std::printf("\nJSONL runs (the local copy) are under %s\n", fs::absolute(jsonl_root).string().c_str());
    return problems ? 1 : 0;
}
