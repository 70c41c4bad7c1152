// Why: what vertex_ai_client returns, in the shapes the Python SDK returns them (get_experiment_df rows,
// get_classification_metrics() dicts, get_experiment_models(), get_artifacts() and get_executions()), kept
// apart from the calls that fill them so a reader finds the result types in one place.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

/// One row of the experiment table, as aiplatform.get_experiment_df() builds it.
struct vertex_run_row {
    std::string experiment;     ///< the experiment's id
    std::string run_name;       ///< the run context's display name (our run name)
    std::string run_id;         ///< the run context id, "<experiment id>-<run id>"
    std::string run_type;       ///< "system.ExperimentRun", "system.PipelineRun" or (legacy) "system.Run"
    std::string state;          ///< "RUNNING", "COMPLETE", "FAILED", "CANCELLED"...
    nlohmann::json params = nlohmann::json::object();   ///< param.<key> columns
    nlohmann::json metrics = nlohmann::json::object();  ///< metric.<key> columns (summary metrics)
    std::map<std::string, double> time_series;  ///< time_series_metric.<key>: the value at the highest step read
    std::string resource_name;  ///< the run context's full name
};

/// Registration of a logged model in the Vertex AI Model Registry.
struct vertex_model_registration {
    std::string display_name;               ///< default: the artifact's name
    std::string serving_container_image;    ///< default: Vertex AI's prebuilt image for the model's framework and
                                            ///< version, as the SDK picks it (config.51 when there is none)
    std::string description;
};

/// A google.ClassificationMetrics artifact of a run, as ExperimentRun.get_classification_metrics() gives it.
struct vertex_classification_metrics {
    std::string id;            ///< the artifact's resource name
    std::string display_name;
    std::vector<std::string> labels;
    std::vector<std::vector<std::int64_t>> matrix;
    std::vector<double> fpr, tpr, thresholds;
};

/// A google.ExperimentModel artifact of a run (get_experiment_models()).
struct vertex_experiment_model {
    std::string resource_name;
    std::string display_name;
    std::string uri;  ///< the gs:// folder that holds the model file
    std::string framework_name, framework_version, model_file, model_class;
    nlohmann::json metadata = nlohmann::json::object();
};

/// An artifact or execution attributed to a run (get_artifacts(), get_executions()).
struct vertex_metadata_resource {
    std::string resource_name;
    std::string display_name;
    std::string schema_title;
    std::string state;  ///< LIVE/PENDING for artifacts; RUNNING, COMPLETE... for executions
    std::string uri;    ///< artifacts only
    nlohmann::json metadata = nlohmann::json::object();
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
