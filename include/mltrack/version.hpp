// The single source of truth for mltrack's version: CMake and meson parse the three defines below,
// and the inline ABI namespace keeps objects built against different versions from linking together.
#pragma once

#define MLTRACK_VERSION_MAJOR 0
#define MLTRACK_VERSION_MINOR 1
#define MLTRACK_VERSION_PATCH 0

#define MLTRACK_VERSION_STRING "0.1.0"

#define MLTRACK_ABI_NAMESPACE v0_1

#define MLTRACK_NAMESPACE_BEGIN \
    namespace mltrack {         \
    inline namespace MLTRACK_ABI_NAMESPACE {
#define MLTRACK_NAMESPACE_END \
    }                         \
    }

namespace mltrack {
inline namespace MLTRACK_ABI_NAMESPACE {
/// The library's version, as "major.minor.patch".
inline constexpr const char* version_string = MLTRACK_VERSION_STRING;
inline constexpr int version_major = MLTRACK_VERSION_MAJOR;
inline constexpr int version_minor = MLTRACK_VERSION_MINOR;
inline constexpr int version_patch = MLTRACK_VERSION_PATCH;
}  // namespace MLTRACK_ABI_NAMESPACE
}  // namespace mltrack
