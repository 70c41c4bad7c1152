// Why: the value types of a declared TensorBoard hparams experiment (sinks::tensorboard_options::experiment),
// apart from the event-file encoders so that code naming the sink's options does not compile those.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../record.hpp"

MLTRACK_NAMESPACE_BEGIN

/// The hparams plugin's value types (its DataType enum).
enum class tensorboard_hparam_type : std::uint8_t { unset = 0, string = 1, boolean = 2, float64 = 3 };

/// A declared hyperparameter: its type and domain (an interval, or a list of discrete values).
struct tensorboard_hparam {
    std::string name;
    tensorboard_hparam_type type = tensorboard_hparam_type::unset;
    std::optional<std::pair<double, double>> interval;  ///< [min, max]; takes precedence over `values`
    std::vector<param_value> values;                    ///< a discrete domain
    std::string display_name;
    std::string description;
};

/// The hparams plugin's dataset types.
enum class tensorboard_dataset : std::uint8_t { unknown = 0, training = 1, validation = 2 };

/// A declared metric column of the HParams dashboard: a scalar tag, read from run `<session>/<group>`
/// (group "" is the run itself).
struct tensorboard_metric {
    std::string tag;
    std::string group;
    std::string display_name;
    std::string description;
    tensorboard_dataset dataset = tensorboard_dataset::unknown;
};

/// A declared hparams experiment. Without one TensorBoard infers the columns from every run (recommended);
/// declare one to fix the columns, their order and domains.
struct tensorboard_experiment {
    std::string name;
    std::string description;
    std::string user;
    double time_created_secs = 0.0;
    std::vector<tensorboard_hparam> hparams;
    std::vector<tensorboard_metric> metrics;
};

MLTRACK_NAMESPACE_END
