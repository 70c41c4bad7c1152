// The Vertex AI quickstart: the same simulated sweep as examples/quickstart, logged at once to JSONL (the
// durable local copy) and live to Vertex AI Experiments + Vertex AI TensorBoard, then read back from
// Vertex like aiplatform.get_experiment_df() and printed.
//
//   vertex_quickstart [--out DIR] [--steps N] [--project P] [--location L] [--staging gs://bucket/prefix]
//
// Credentials come from the usual chain (GOOGLE_OAUTH_ACCESS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS, gcloud's
// application-default login, the metadata server); MLTRACK_VERTEX_ENDPOINT points it at another endpoint
// (the tests' fake server, a private endpoint). Model files go to the staging bucket when one is given
// (--staging or MLTRACK_VERTEX_STAGING_BUCKET); without one, models stay in the JSONL copy only (the Python
// SDK's log_model refuses them too, and the sink reports config.50).
//
// Experiment and run names are used as Vertex AI ids, as the Python SDK uses them: lowercase letters,
// digits and '-' ("lr-0-10-20260101-120000", not "lr-0.10-..."), so aiplatform.ExperimentRun(name,
// experiment) finds each run by the name it shows.
#include <mltrack/mltrack.hpp>
#include <mltrack/sinks/vertex_ai.hpp>

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
    std::string project, location, staging;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--out" && has_value) o.out = argv[++i];
        else if (a == "--steps" && has_value) o.steps = std::strtoll(argv[++i], nullptr, 10);
        else if (a == "--project" && has_value) o.project = argv[++i];
        else if (a == "--location" && has_value) o.location = argv[++i];
        else if (a == "--staging" && has_value) o.staging = argv[++i];
        else if (a == "--help" || a == "-h") {
            std::printf("usage: vertex_quickstart [--out DIR] [--steps N] [--project P] [--location L] "
                        "[--staging gs://bucket/prefix]\n");
            std::exit(0);
        } else {
            std::fprintf(stderr, "vertex_quickstart: unknown argument '%s' (try --help)\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.steps < 1) {
        std::fprintf(stderr, "vertex_quickstart: --steps must be at least 1\n");
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

// One simulated training run, as in examples/quickstart: every kind of record.
void train(mltrack::tracker& tracker, const std::string& run_name, double lr, std::int64_t steps,
           const fs::path& scratch) {
    auto run = tracker.start_run(run_name);
    run.log_params({{"lr", lr}, {"batch", 64}, {"optimizer", "adam"}, {"epochs", 1}});
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
        if (step % 10 == 9) run.log_time_series({{"val/loss", l * 1.1}, {"val/accuracy", a * 0.97}}, step);
    }
    run.log_metrics({{"accuracy", a}, {"loss", l}});
    const auto right = static_cast<std::int64_t>(std::round(100 * a));
    run.log_classification_metrics({"cat", "dog"}, {{right, 100 - right}, {100 - right, right}},
                                   {0.05, 0.2, 0.5}, {0.4, 0.8, 0.95}, {0.9, 0.5, 0.1}, "validation");
    const fs::path model_file = scratch / (run_name + "-model.json");
    std::ofstream(model_file) << "{\"weights\": [" << l << ", " << a << "]}\n";
    auto model = run.log_model(model_file, {"custom", "1.0"}, {"model.json"});
    mltrack::execution exec;
    exec.name = "train";
    exec.inputs.push_back(mltrack::artifact::reference("mnist-train", "gs://example-data/mnist/train"));
    exec.outputs.push_back(model);
    run.log_execution(exec);
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    const fs::path jsonl_root = opt.out / "runs";
    const fs::path scratch = opt.out / "scratch";
    fs::create_directories(scratch);

    mltrack::sinks::vertex_ai_options vo;
    vo.project = opt.project;
    vo.location = opt.location;
    vo.staging_bucket = opt.staging;
    const std::string experiment = "vertex-quickstart";
    std::vector<std::string> names;
    try {
        mltrack::sinks::vertex_ai vertex{vo};
        auto monitor = vertex.monitor();
        std::printf("Vertex AI: project %s, location %s, endpoint %s\ncredentials: %s\n", vertex.project().c_str(),
                    vertex.location().c_str(), vertex.api_base().c_str(), vertex.credentials_source().c_str());
        std::printf("console: %s\n", vertex.console_url(experiment).c_str());
        if (opt.staging.empty() && !std::getenv("MLTRACK_VERTEX_STAGING_BUCKET") && !std::getenv("AIP_MODEL_DIR"))
            std::printf("no staging bucket (--staging): models stay in the JSONL copy only\n");

        mltrack::config cfg{experiment};
        cfg.on_error = [](const mltrack::sink_error& e) {
            std::fprintf(stderr, "vertex_quickstart: %s: %s\n", e.sink.c_str(), e.message.c_str());
        };
        mltrack::tracker tracker{cfg, mltrack::sinks::jsonl{jsonl_root}, std::move(vertex)};
        const std::string stamp = timestamp();
        std::vector<std::thread> sweep;
        for (double lr : {0.1, 0.03}) {
            std::string lr_text = std::to_string(lr).substr(0, 4);  // "0.10": '.' is not allowed in Vertex ids
            for (char& c : lr_text)
                if (c == '.') c = '-';
            names.push_back("lr-" + lr_text + "-" + stamp);
            sweep.emplace_back(train, std::ref(tracker), names.back(), lr, opt.steps, scratch);
        }
        for (auto& t : sweep) t.join();
        tracker.close();  // waits (up to close_timeout) until Vertex has everything
        const auto s = monitor.stats();
        std::printf("sent %llu points in %llu write requests; %llu requests in all, %llu retried; "
                    "%llu points and %llu operations undelivered\n",
                    static_cast<unsigned long long>(s.points_sent), static_cast<unsigned long long>(s.write_requests),
                    static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.retries),
                    static_cast<unsigned long long>(s.undelivered_points),
                    static_cast<unsigned long long>(s.undelivered_operations));

        // Read the experiment back from Vertex AI, like aiplatform.get_experiment_df(experiment).
        mltrack::sinks::vertex_ai_client client{vo};
        for (const auto& row : client.list_runs(experiment)) {
            bool ours = false;
            for (const auto& n : names) ours = ours || n == row.run_name;
            if (!ours) continue;
            std::printf("\nrun %s (%s): %s\n  params: %s\n  metrics: %s\n", row.run_name.c_str(), row.run_id.c_str(),
                        row.state.c_str(), row.params.dump().c_str(), row.metrics.dump().c_str());
            for (const auto& [k, v] : row.time_series) std::printf("  time_series_metric.%s = %.4f\n", k.c_str(), v);
        }
    } catch (const mltrack::error& e) {
        std::fprintf(stderr, "vertex_quickstart: %s\n", e.what());
        return 1;
    }
    std::printf("\nJSONL runs (the local copy) are under %s\n", fs::absolute(jsonl_root).string().c_str());
    return 0;
}
