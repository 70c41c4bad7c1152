// The quickstart: a small simulated training sweep (two learning rates trained in parallel threads) that
// logs every kind of record mltrack has, then reads the runs back and prints what was stored.
//
//   quickstart [--out DIR] [--steps N]     (defaults: ./mltrack-out, 200 steps)
#include <mltrack/mltrack.hpp>

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
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--out" || a == "--steps") && i + 1 < argc) {
            const std::string v = argv[++i];
            if (a == "--out") o.out = v;
            else o.steps = std::strtoll(v.c_str(), nullptr, 10);
        } else if (a == "--help" || a == "-h") {
            std::printf("usage: quickstart [--out DIR] [--steps N]\n");
            std::exit(0);
        } else {
            std::fprintf(stderr, "quickstart: unknown argument '%s' (try --help)\n", a.c_str());
            std::exit(2);
        }
    }
    if (o.steps < 1) {
        std::fprintf(stderr, "quickstart: --steps must be at least 1\n");
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

// One simulated training run: a noisy decaying loss, validation every 10 steps, a model at the end.
void train(mltrack::tracker& tracker, const std::string& run_name, double lr, std::int64_t steps,
           const fs::path& scratch) {
    auto run = tracker.start_run(run_name);  // ends COMPLETE at scope exit, FAILED on an exception
    run.log_params({{"lr", lr}, {"batch", 64}, {"optimizer", "adam"}, {"epochs", 1}});

    auto loss = run.metric("train/loss");  // interned once: logging through it is the hot path
    auto acc = run.metric("train/accuracy");
    std::mt19937 rng(static_cast<unsigned>(lr * 1e6));
    std::normal_distribution<double> noise(0.0, 0.02);
    double l = 2.3, a = 0.1;
    for (std::int64_t step = 0; step < steps; ++step) {
        l = 2.3 * std::exp(-lr * 30.0 * static_cast<double>(step) / static_cast<double>(steps)) + 0.05 + noise(rng);
        a = 1.0 - l / 2.5;
        loss.log(l, step);
        acc.log(a, step);
        if (step % 10 == 9) run.log_time_series({{"val/loss", l * 1.1}, {"val/accuracy", a * 0.97}}, step);
        if (step % 50 == 0) {  // a histogram of (simulated) weights, bucketed like TensorBoard's
            std::vector<double> weights(256);
            for (auto& w : weights) w = noise(rng) * 10.0 * l;
            run.log_histogram("layer1/weights", weights, step);
        }
    }
    run.log_metrics({{"accuracy", a}, {"loss", l}});

    // Classification metrics with the Vertex AI SDK's semantics: labels + confusion matrix, ROC points.
    const auto right = static_cast<std::int64_t>(std::round(100 * a));
    run.log_classification_metrics({"cat", "dog"}, {{right, 100 - right}, {100 - right, right}},
                                   {0.05, 0.2, 0.5}, {0.4, 0.8, 0.95}, {0.9, 0.5, 0.1}, "validation");

    // A model file, copied into the run's artifacts/ folder, and the execution that produced it (lineage).
    const fs::path model_file = scratch / (run_name + "-model.json");
    std::ofstream(model_file) << "{\"weights\": [" << l << ", " << a << "]}\n";
    auto model = run.log_model(model_file, {"custom", "1.0"}, {"model.json"});
    mltrack::execution exec;
    exec.name = "train";
    exec.inputs.push_back(mltrack::artifact::reference("mnist-train", "file:///data/mnist/train"));
    exec.outputs.push_back(model);
    run.log_execution(exec);
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    const fs::path jsonl_root = opt.out / "runs";
    const fs::path scratch = opt.out / "scratch";
    fs::create_directories(scratch);

    const std::string stamp = timestamp();
    std::vector<std::string> names;
    try {
        mltrack::tracker tracker{{"quickstart"}, mltrack::sinks::jsonl{jsonl_root},
                                 mltrack::sinks::tensorboard{opt.out / "tb"}};  // the same records, as event files
        std::vector<std::thread> sweep;
        for (double lr : {0.1, 0.03}) {
            names.push_back("lr-" + std::to_string(lr).substr(0, 4) + "-" + stamp);
            sweep.emplace_back(train, std::ref(tracker), names.back(), lr, opt.steps, scratch);
        }
        for (auto& t : sweep) t.join();
        tracker.close();
        const auto s = tracker.stats();
        std::printf("logged %llu records (%llu dropped, %llu sink errors)\n",
                    static_cast<unsigned long long>(s.written), static_cast<unsigned long long>(s.dropped),
                    static_cast<unsigned long long>(s.sink_errors));
    } catch (const mltrack::error& e) {
        std::fprintf(stderr, "quickstart: %s\n", e.what());
        return 1;
    }

    // Read the runs back from the JSONL files: the source of truth.
    for (const auto& name : names) {
        const auto run = mltrack::read_run(jsonl_root, "quickstart", name);
        std::printf("\nrun %s/%s: %s\n  files: %s\n", run.experiment.c_str(), run.name.c_str(),
                    mltrack::to_string(run.state), run.dir.string().c_str());
        std::printf("  params:");
        for (const auto& [k, v] : run.params) std::printf(" %s=%s", k.c_str(), v.to_text().c_str());
        std::printf("\n  summary:");
        for (const auto& [k, v] : run.summary) std::printf(" %s=%.4f", k.c_str(), v);
        std::printf("\n");
        for (const auto& [k, points] : run.series)
            std::printf("  series %-16s %5zu points, last %.4f at step %lld\n", k.c_str(), points.size(),
                        points.back().value, static_cast<long long>(points.back().step));
        for (const auto& [k, hs] : run.histograms)
            std::printf("  histogram %-13s %5zu steps, %zu buckets each\n", k.c_str(), hs.size(),
                        hs.back().buckets.size());
        for (const auto& c : run.classifications)
            std::printf("  classification '%s': %zu labels, %zu ROC points\n", c.display_name.c_str(),
                        c.labels.size(), c.fpr.size());
        for (const auto& a : run.artifacts)
            std::printf("  %s %s: %llu bytes, sha256 %.12s..., stored at %s\n", mltrack::to_string(a.type),
                        a.name.c_str(), static_cast<unsigned long long>(a.size), a.sha256.c_str(),
                        run.artifact_path(a).string().c_str());
        for (const auto& e : run.executions)
            std::printf("  execution %s: %zu inputs -> %zu outputs, %s\n", e.name.c_str(), e.inputs.size(),
                        e.outputs.size(), mltrack::to_string(e.state));
        if (run.torn_tail) std::printf("  note: %s\n", run.torn_tail->message.c_str());
    }
    std::printf("\nJSONL runs are under %s\n", fs::absolute(jsonl_root).string().c_str());
    std::printf("TensorBoard: tensorboard --logdir %s\n", fs::absolute(opt.out / "tb" / "quickstart").string().c_str());
    return 0;
}
