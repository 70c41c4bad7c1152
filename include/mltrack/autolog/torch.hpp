// Why: what a LibTorch training loop logs beyond its loss is mostly the same few things: how large the
// gradients are (per parameter tensor and in total, to spot exploding or vanishing gradients), how the
// weights are distributed, and the saved model with the LibTorch version. These helpers turn a module's
// parameters into mltrack histograms and scalars, so the loop stays a few lines.
//
// Not included by <mltrack/mltrack.hpp>: include <mltrack/autolog/torch.hpp> and link LibTorch
// (CMake: find_package(Torch), target_link_libraries(... ${TORCH_LIBRARIES})).
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../run.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace autolog {
namespace libtorch {

/// The model_info of a LibTorch model: framework "libtorch", version TORCH_VERSION (the headers' version).
inline model_info framework() { return model_info{"libtorch", TORCH_VERSION}; }

/// The L2 norm of each parameter's gradient, in the module's parameter order (recursively). Parameters
/// without a gradient (frozen, or before the first backward) are left out.
inline std::vector<double> grad_norms(const ::torch::nn::Module& module) {
    std::vector<double> out;
    ::torch::NoGradGuard no_grad;
    for (const auto& p : module.parameters(/*recurse=*/true))
        if (p.grad().defined()) out.push_back(p.grad().detach().norm().item<double>());
    return out;
}

/// The global L2 norm of all gradients (what torch::nn::utils::clip_grad_norm_ measures): the square root
/// of the sum of the squared per-parameter norms. 0 when no parameter has a gradient.
inline double total_grad_norm(const std::vector<double>& norms) {
    double sum = 0.0;
    for (double n : norms) sum += n * n;
    return std::sqrt(sum);
}

/// Logs the gradient norms at `step`: a histogram `<key>` of the per-parameter norms (one value per
/// parameter tensor with a gradient) and the scalar `<key>/total`. Call it after backward() and before
/// the optimizer zeroes the gradients. Returns the total norm. Throws what run.log_histogram throws.
inline double log_grad_norms(run& r, const ::torch::nn::Module& module, std::int64_t step,
                             std::string_view key = "grad_norm", std::size_t bucket_count = 30) {
    const auto norms = grad_norms(module);
    const double total = total_grad_norm(norms);
    r.log_histogram(key, norms, step, bucket_count);
    r.log(std::string(key) + "/total", total, step);
    return total;
}

/// Logs one histogram of the values of each named parameter, "<prefix><name>" ("weights/fc1.weight").
inline void log_parameter_histograms(run& r, const ::torch::nn::Module& module, std::int64_t step,
                                     std::string_view prefix = "weights/", std::size_t bucket_count = 30) {
    ::torch::NoGradGuard no_grad;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) {
        const auto flat = item.value().detach().to(::torch::kCPU, ::torch::kDouble).contiguous().view(-1);
        const double* data = flat.data_ptr<double>();
        const std::vector<double> values(data, data + flat.numel());
        r.log_histogram(std::string(prefix) + item.key(), values, step, bucket_count);
    }
}

}  // namespace libtorch
}  // namespace autolog
MLTRACK_NAMESPACE_END
