// Why: one validator for every name that mltrack accepts. Experiment and run names become folder names,
// so they are held to a small portable alphabet that can never escape the store's root ("..", "/", "\",
// NUL, absolute paths, leading dots are all impossible). Metric, param and artifact keys are free-form
// UTF-8 (TensorBoard tags like "train/loss") but never contain control characters or invalid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "detail/compiled.hpp"
#include "error.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Longest experiment or run name, in bytes.
inline constexpr std::size_t max_name_length = 128;
/// Longest metric, param or artifact key, in bytes.
inline constexpr std::size_t max_key_length = 256;

namespace detail {

/// A printable rendering of arbitrary bytes for error messages: at most 64 characters, escapes \xNN.
MLTRACK_INLINE std::string printable(std::string_view s);

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid (overlong forms,
/// surrogates and code points above U+10FFFF are invalid).
MLTRACK_INLINE std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

}  // namespace detail

/// True when `name` is a valid experiment or run name: 1 to 128 bytes of [A-Za-z0-9._-], starting with
/// a letter or digit.
MLTRACK_INLINE bool is_valid_name(std::string_view name) noexcept;

/// Throws mltrack::error (category name, ids 1-4) unless `name` is a valid experiment or run name.
/// `what` names the thing in the message ("experiment name", "run name").
MLTRACK_INLINE void validate_name(std::string_view what, std::string_view name);

/// Throws mltrack::error (category name, ids 1, 2, 5, 6) unless `key` is a valid metric, param or artifact
/// key: 1 to 256 bytes of valid UTF-8 without control characters.
MLTRACK_INLINE void validate_key(std::string_view what, std::string_view key);

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "names-inl.hpp"
#endif
