// detail/vertex/prebuilt_containers.hpp: the serving image the Python SDK's register_model picks for a
// model without one (helpers._get_closest_match_prebuilt_container_uri), and its refusals (config.51).
#include <doctest/doctest.h>

#include <mltrack/detail/vertex/prebuilt_containers.hpp>

#include "unit_support.hpp"

using mltrack::detail::parse_version;
using mltrack::detail::prebuilt_serving_image;

TEST_CASE("vertex prebuilt containers: versions compare as Python's packaging compares them") {
    CHECK(parse_version("1.7.4") == std::vector<std::int64_t>{1, 7, 4});
    CHECK(parse_version("1.7.0") == std::vector<std::int64_t>{1, 7});
    CHECK(parse_version("0.90") == std::vector<std::int64_t>{0, 90});
    CHECK(parse_version("2.15.0rc1") == std::vector<std::int64_t>{2, 15});
    CHECK(parse_version("x").empty());
}

TEST_CASE("vertex prebuilt containers: the closest version at or above the model's, same major, region's repository") {
    CHECK(prebuilt_serving_image("xgboost", "1.7", "us-central1") ==
          "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.1-7:latest");
    CHECK(prebuilt_serving_image("xgboost", "1.6.2", "europe-west4") ==
          "europe-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.1-7:latest");
    CHECK(prebuilt_serving_image("sklearn", "1.1", "asia-east1") ==
          "asia-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-2:latest");
    CHECK(prebuilt_serving_image("tensorflow", "2.13.1", "us-east1") ==
          "us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-14:latest");
    CHECK(prebuilt_serving_image("tensorflow", "1.15", "us-east1") ==
          "us-docker.pkg.dev/vertex-ai/prediction/tf-cpu.1-15:latest");
    CHECK(prebuilt_serving_image("PyTorch", "2.0", "us-central1") ==
          "us-docker.pkg.dev/vertex-ai/prediction/pytorch-cpu.2-0:latest");
    CHECK(prebuilt_serving_image("xgboost", "0.85", "us-central1") ==
          "us-docker.pkg.dev/vertex-ai/prediction/xgboost-cpu.0-90:latest");
}

TEST_CASE("vertex prebuilt containers: no image is config.51, naming the option") {
    CHECK(unit::error_of([] { prebuilt_serving_image("xgboost", "1.7.4", "us-central1"); }) ==
          "[mltrack.error.config.51] no prebuilt serving container for xgboost 1.7.4 (the prebuilt ones stop at 2.1 and "
          "the SDK assumes no forward compatibility); set vertex_model_registration::serving_container_image "
          "(prebuilt containers: https://cloud.google.com/vertex-ai/docs/predictions/pre-built-containers)");
    CHECK_ERROR_ID("config.51", prebuilt_serving_image("xgboost", "3.0", "us-central1"));
    CHECK_ERROR_ID("config.51", prebuilt_serving_image("libtorch", "2.1", "us-central1"));
    CHECK_ERROR_ID("config.51", prebuilt_serving_image("xgboost", "2.0", "southamerica-east1"));
    CHECK_ERROR_ID("config.51", prebuilt_serving_image("xgboost", "", "us-central1"));
}
