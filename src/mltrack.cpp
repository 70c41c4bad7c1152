// The implementation translation unit of the compiled mode (include/mltrack/detail/compiled.hpp): the
// mltrack::compiled library (CMake; meson: the `compiled` dependency) is this file. A program that uses the
// headers alone compiles the same two lines in one of its own files instead.
#define MLTRACK_IMPLEMENTATION
#include <mltrack/mltrack.hpp>
