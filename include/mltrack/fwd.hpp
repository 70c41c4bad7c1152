// Why: declarations only, for headers that pass mltrack types around without including the library.
#pragma once

#include "version.hpp"

MLTRACK_NAMESPACE_BEGIN
class error;
class param_value;
class run;
class metric_handle;
class tracker;
class tracker_base;
template <class... Sinks>
class basic_tracker;
struct config;
struct run_info;
struct event;
class batch;
struct record;
struct artifact;
struct execution;
struct classification_metrics;
struct run_data;
namespace sinks {
class jsonl;
class memory;
class any;
}  // namespace sinks
MLTRACK_NAMESPACE_END
