// Why: what the engine's core names of a tracker's sinks without their definition (sink_set.hpp, with the
// sink adapters, is compiled only where the writer's bodies are): the set itself, declared; where sinks'
// failures go; and the answer to start_run's question whether a run exists.
#pragma once

#include <optional>
#include <string>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

class sink_set;

/// Where sinks' failures go (implemented by core).
class error_reporter {
public:
    virtual void report(const std::string& sink, const std::string& message) = 0;

protected:
    ~error_reporter() = default;
};

/// start_run's answer from the sinks on the caller's thread (sink_set::claim). `ask_writer`: a sink can answer
/// only on the writer thread; `exists`: whether any sink has the run (nullopt: none can tell).
struct run_claim {
    bool ask_writer = false;
    std::optional<bool> exists;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
