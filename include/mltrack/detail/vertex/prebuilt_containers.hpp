// Why: registering a logged model needs a serving container. The Python SDK's register_model, given none,
// picks Vertex AI's prebuilt prediction container for the model's framework and version
// (helpers/container_uri_builders.py, _get_closest_match_prebuilt_container_uri): the region's multi-region
// repository (us, europe, asia), the CPU image, and the closest version at or above the model's with the
// same major version. This header holds the same table of images (constants/prediction.py) and the same
// choice, so a C++ registration gets the image a Python one would.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "../../error.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// A version as a list of numbers, "1.7.4" -> {1, 7, 4}; trailing zeros dropped (1.7 == 1.7.0, as Python's
/// packaging compares them). Empty when it does not start with a number.
inline std::vector<std::int64_t> parse_version(const std::string& v) {
    std::vector<std::int64_t> out;
    std::size_t i = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
        std::int64_t n = 0;
        while (i < v.size() && v[i] >= '0' && v[i] <= '9' && n < 100000000) n = n * 10 + (v[i++] - '0');
        out.push_back(n);
        if (i < v.size() && v[i] == '.') ++i;
        else break;
    }
    while (out.size() > 1 && out.back() == 0) out.pop_back();
    return out;
}

/// The CPU prediction images Vertex AI publishes, by framework: "<major>.<minor>" and the image's name.
struct prebuilt_image {
    const char* version;
    const char* image;  ///< "xgboost-cpu.1-7": the part after ".../vertex-ai/prediction/"
};

inline std::vector<prebuilt_image> prebuilt_images(const std::string& framework) {
    if (framework == "xgboost")
        return {{"0.82", "xgboost-cpu.0-82"}, {"0.90", "xgboost-cpu.0-90"}, {"1.1", "xgboost-cpu.1-1"},
                {"1.2", "xgboost-cpu.1-2"},   {"1.3", "xgboost-cpu.1-3"},   {"1.4", "xgboost-cpu.1-4"},
                {"1.5", "xgboost-cpu.1-5"},   {"1.6", "xgboost-cpu.1-6"},   {"1.7", "xgboost-cpu.1-7"},
                {"2.0", "xgboost-cpu.2-0"},   {"2.1", "xgboost-cpu.2-1"}};
    if (framework == "sklearn" || framework == "scikit-learn")
        return {{"0.20", "sklearn-cpu.0-20"}, {"0.22", "sklearn-cpu.0-22"}, {"0.23", "sklearn-cpu.0-23"},
                {"0.24", "sklearn-cpu.0-24"}, {"1.0", "sklearn-cpu.1-0"},   {"1.2", "sklearn-cpu.1-2"},
                {"1.3", "sklearn-cpu.1-3"},   {"1.4", "sklearn-cpu.1-4"},   {"1.5", "sklearn-cpu.1-5"},
                {"1.6", "sklearn-cpu.1-6"}};
    if (framework == "tensorflow")
        return {{"1.15", "tf-cpu.1-15"}, {"2.1", "tf2-cpu.2-1"},   {"2.2", "tf2-cpu.2-2"},   {"2.3", "tf2-cpu.2-3"},
                {"2.4", "tf2-cpu.2-4"},  {"2.5", "tf2-cpu.2-5"},   {"2.6", "tf2-cpu.2-6"},   {"2.7", "tf2-cpu.2-7"},
                {"2.8", "tf2-cpu.2-8"},  {"2.9", "tf2-cpu.2-9"},   {"2.10", "tf2-cpu.2-10"}, {"2.11", "tf2-cpu.2-11"},
                {"2.12", "tf2-cpu.2-12"}, {"2.13", "tf2-cpu.2-13"}, {"2.14", "tf2-cpu.2-14"}, {"2.15", "tf2-cpu.2-15"}};
    if (framework == "pytorch")
        return {{"1.11", "pytorch-cpu.1-11"}, {"1.12", "pytorch-cpu.1-12"}, {"1.13", "pytorch-cpu.1-13"},
                {"2.0", "pytorch-cpu.2-0"},   {"2.1", "pytorch-cpu.2-1"},   {"2.2", "pytorch-cpu.2-2"},
                {"2.3", "pytorch-cpu.2-3"},   {"2.4", "pytorch-cpu.2-4"}};
    return {};
}

/// The prebuilt serving image for a model, as the SDK picks it: "<region>-docker.pkg.dev/vertex-ai/
/// prediction/<image>:latest" with the closest version >= the model's of the same major version.
/// Throws config.51 naming vertex_model_registration::serving_container_image when there is none.
inline std::string prebuilt_serving_image(const std::string& framework, const std::string& framework_version,
                                          const std::string& location) {
    const std::string hint =
        "; set vertex_model_registration::serving_container_image (prebuilt containers: "
        "https://cloud.google.com/vertex-ai/docs/predictions/pre-built-containers)";
    const std::string region = location.substr(0, location.find('-'));
    if (region != "us" && region != "europe" && region != "asia")
        throw error(error_category::config, 51,
                    "no prebuilt serving container for location '" + location + "' (us, europe and asia only)" + hint);
    std::string fw;
    for (char c : framework) fw += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    const auto images = prebuilt_images(fw);
    if (images.empty())
        throw error(error_category::config, 51,
                    "no prebuilt serving container for framework '" + framework +
                        "' (sklearn, xgboost, tensorflow and pytorch have some)" + hint);
    const auto want = parse_version(framework_version);
    if (want.empty())
        throw error(error_category::config, 51,
                    "model framework version '" + framework_version + "' is not a version number" + hint);
    const prebuilt_image* best = nullptr;
    std::vector<std::int64_t> best_v;
    for (const auto& im : images) {
        const auto v = parse_version(im.version);
        if (v.empty() || v[0] != want[0] || v < want) continue;
        if (!best || v < best_v) {
            best = &im;
            best_v = v;
        }
    }
    if (!best)
        throw error(error_category::config, 51,
                    "no prebuilt serving container for " + framework + " " + framework_version +
                        " (the prebuilt ones stop at " + images.back().version + " and the SDK assumes no forward "
                        "compatibility)" + hint);
    return region + "-docker.pkg.dev/vertex-ai/prediction/" + best->image + ":latest";
}

}  // namespace detail
MLTRACK_NAMESPACE_END
