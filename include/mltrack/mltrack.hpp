// mltrack: experiment tracking for C++ (params, metrics, time series, classification metrics, models,
// artifacts and lineage of runs), through pluggable sinks. This umbrella header includes everything except
// the Vertex AI sink (which needs libcurl): include <mltrack/sinks/vertex_ai.hpp> for that.
#pragma once

#include "version.hpp"
#include "error.hpp"
#include "names.hpp"
#include "config.hpp"
#include "ranks.hpp"
#include "histogram.hpp"
#include "record.hpp"
#include "run.hpp"
#include "default_run.hpp"
#include "tracker.hpp"
#include "termination.hpp"
#include "reader.hpp"
#include "record_stream.hpp"
#include "replay.hpp"
#include "store.hpp"
#include "summary.hpp"
#include "search.hpp"
#include "sinks/any.hpp"
#include "sinks/jsonl.hpp"
#include "sinks/memory.hpp"
#include "sinks/tensorboard.hpp"
