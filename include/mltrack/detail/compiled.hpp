// Why: the opt-in compiled mode. Header-only (the default) defines every function in the headers, `inline`.
// With MLTRACK_COMPILED_LIB defined in every translation unit, the cold code (run start and end, the sinks'
// formatting and I/O, the writer, the reader...) is only declared; its bodies are compiled once, by the
// mltrack::compiled library (CMake; meson: the `compiled` dependency) or by one translation unit of the
// program's own that defines MLTRACK_IMPLEMENTATION before including <mltrack/mltrack.hpp> (the single
// header too). Every translation unit then compiles and optimizes far less. The hot path (metric handles,
// the queue push, the clock) and templates stay in the headers, inline, in every mode.
//
//   MLTRACK_INLINE          `inline` in header-only mode; nothing in compiled mode (one definition, in the
//                           implementation translation unit), on declarations and definitions alike
//   MLTRACK_DEFINE_BODIES   1 where the cold bodies are compiled: header-only mode, the implementation TU
//
// A header with bodies under MLTRACK_DEFINE_BODIES (at its end, or in the `*-inl.hpp` beside it) must be
// reached from mltrack.hpp, which is what the implementation translation unit compiles.
#pragma once

#if defined(MLTRACK_IMPLEMENTATION) && !defined(MLTRACK_COMPILED_LIB)
#define MLTRACK_COMPILED_LIB  // the implementation TU is the compiled mode's, whatever else it defines
#endif

#if defined(MLTRACK_COMPILED_LIB)
#define MLTRACK_INLINE
#if defined(MLTRACK_IMPLEMENTATION)
#define MLTRACK_DEFINE_BODIES 1
#else
#define MLTRACK_DEFINE_BODIES 0
#endif
#else
#define MLTRACK_INLINE inline
#define MLTRACK_DEFINE_BODIES 1
#endif

