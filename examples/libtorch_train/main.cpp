// LibTorch, logged with mltrack: a 2-layer MLP regressing y = sin(3x) + 0.5x + noise on synthetic data
// (CPU, deterministic seed). Logs the loss every step, the learning rate of a StepLR schedule, a validation
// loss, a histogram of the per-parameter gradient norms every --hist-every steps (mltrack/autolog/torch.hpp),
// the weight distributions at the end, and the saved model (torch::save) as a "libtorch" model artifact.
//
//   libtorch_train [--out DIR] [--steps N] [--hist-every N] [--run NAME]   (defaults: ./mltrack-out, 300, 25)
//
// Build: find_package(Torch) and link ${TORCH_LIBRARIES} (Debian: libtorch-dev).
#include <mltrack/autolog/torch.hpp>
#include <mltrack/mltrack.hpp>

#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;
namespace tl = mltrack::autolog::libtorch;

namespace {

struct options {
    fs::path out = "mltrack-out";
    long steps = 300;
    long hist_every = 25;
    std::string run;
};

[[noreturn]] void usage_error(const std::string& m) {
    std::fprintf(stderr, "libtorch_train: %s (try --help)\n", m.c_str());
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("usage: libtorch_train [--out DIR] [--steps N] [--hist-every N] [--run NAME]\n");
            std::exit(0);
        }
        if (i + 1 >= argc) usage_error("unknown argument or missing value: '" + a + "'");
        const std::string v = argv[++i];
        if (a == "--out") o.out = v;
        else if (a == "--steps") o.steps = std::atol(v.c_str());
        else if (a == "--hist-every") o.hist_every = std::atol(v.c_str());
        else if (a == "--run") o.run = v;
        else usage_error("unknown argument '" + a + "'");
    }
    if (o.steps < 1) usage_error("--steps must be at least 1");
    if (o.hist_every < 1) usage_error("--hist-every must be at least 1");
    if (o.run.empty()) {
        char buf[32];
        const std::time_t t = std::time(nullptr);
        std::strftime(buf, sizeof buf, "mlp-%Y%m%d-%H%M%S", std::gmtime(&t));
        o.run = buf;
    }
    return o;
}

struct mlp : torch::nn::Module {
    explicit mlp(long hidden)
        : fc1(register_module("fc1", torch::nn::Linear(1, hidden))),
          fc2(register_module("fc2", torch::nn::Linear(hidden, 1))) {}
    torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::tanh(fc1(x))); }
    torch::nn::Linear fc1, fc2;
};

torch::Tensor target(const torch::Tensor& x) { return torch::sin(3 * x) + 0.5 * x; }

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    constexpr long hidden = 32, batch = 64, step_size = 100;
    constexpr double lr = 0.02, gamma = 0.5;
    torch::manual_seed(0);
    torch::set_num_threads(1);

    // 1024 training and 256 validation points, x uniform in [-2, 2]
    const auto x_train = torch::rand({1024, 1}) * 4 - 2;
    const auto y_train = target(x_train) + 0.1 * torch::randn({1024, 1});
    const auto x_valid = torch::rand({256, 1}) * 4 - 2;
    const auto y_valid = target(x_valid);

    try {
        mltrack::tracker tracker{{"libtorch-train"}, mltrack::sinks::jsonl{opt.out / "runs"},
                                 mltrack::sinks::tensorboard{opt.out / "tb"}};
        auto run = tracker.start_run(opt.run);  // ends COMPLETE at scope exit, FAILED on an exception
        run.log_params({{"hidden", hidden}, {"batch", batch}, {"lr", lr}, {"optimizer", "adam"},
                        {"scheduler", "step_lr"}, {"step_size", step_size}, {"gamma", gamma},
                        {"steps", static_cast<std::int64_t>(opt.steps)}, {"seed", 0}});

        auto model = std::make_shared<mlp>(hidden);
        torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(lr));
        torch::optim::StepLR scheduler(optimizer, step_size, gamma);
        auto loss_metric = run.metric("train/loss");  // interned once: the hot path
        auto lr_metric = run.metric("train/lr");

        double loss_value = 0.0;
        for (long step = 0; step < opt.steps; ++step) {
            const auto idx = torch::randint(0, x_train.size(0), {batch}, torch::kLong);
            optimizer.zero_grad();
            const auto loss = torch::mse_loss(model->forward(x_train.index_select(0, idx)), y_train.index_select(0, idx));
            loss.backward();
            if (step % opt.hist_every == 0 || step + 1 == opt.steps)
                tl::log_grad_norms(run, *model, step, "grad_norm");  // after backward, before the update
            loss_value = loss.item<double>();
            loss_metric.log(loss_value, step);
            lr_metric.log(optimizer.param_groups()[0].options().get_lr(), step);
            optimizer.step();
            scheduler.step();
            if (step % 50 == 49 || step + 1 == opt.steps) {
                torch::NoGradGuard no_grad;
                run.log("valid/loss", torch::mse_loss(model->forward(x_valid), y_valid).item<double>(), step);
            }
        }
        tl::log_parameter_histograms(run, *model, opt.steps - 1);
        run.log_metrics({{"train/loss", loss_value}});

        const fs::path model_file = opt.out / "scratch" / (opt.run + "-model.pt");
        fs::create_directories(model_file.parent_path());
        torch::save(model, model_file.string());
        const auto art = run.log_model(model_file, tl::framework());
        std::printf("libtorch %s: %ld steps, final train loss %.4f; model %s (%llu bytes)\n", TORCH_VERSION,
                    opt.steps, loss_value, art.name.c_str(), static_cast<unsigned long long>(art.size));
    } catch (const mltrack::error& e) {
        std::fprintf(stderr, "libtorch_train: %s\n", e.what());
        return 1;
    }
    std::printf("run %s: JSONL under %s, TensorBoard: tensorboard --logdir %s\n", opt.run.c_str(),
                (opt.out / "runs").string().c_str(), (opt.out / "tb").string().c_str());
    return 0;
}
