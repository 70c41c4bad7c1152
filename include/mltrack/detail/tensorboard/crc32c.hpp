// Why: every TFRecord frame carries two masked CRC32C checksums (Castagnoli polynomial, not zlib's CRC-32).
// Events are small, so a portable slicing-by-8 table is plenty; large payloads (images) take the CPU's own
// instruction when it has one: SSE4.2 `crc32` on x86-64, the ARMv8 CRC extension on AArch64. The hardware
// paths are compiled with per-function target attributes and chosen at run time, so no global -msse4.2 or
// -march flag is needed and the header runs on any CPU of the architecture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../../version.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define MLTRACK_CRC32C_X86 1
#endif

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#define MLTRACK_CRC32C_ARM 1
// The builtins, not <arm_acle.h>: clang's header hides __crc32cd unless the whole file is built with +crc.
#if defined(__clang__)
#define MLTRACK_CRC32C_ARM_TARGET __attribute__((target("crc")))
#define MLTRACK_CRC32C_ARM_U64(c, v) __builtin_arm_crc32cd(c, v)
#define MLTRACK_CRC32C_ARM_U8(c, v) __builtin_arm_crc32cb(c, v)
#else
#define MLTRACK_CRC32C_ARM_TARGET __attribute__((target("+crc")))
#define MLTRACK_CRC32C_ARM_U64(c, v) __builtin_aarch64_crc32cx(c, v)
#define MLTRACK_CRC32C_ARM_U8(c, v) __builtin_aarch64_crc32cb(c, v)
#endif
#endif

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The slicing-by-8 tables for the reflected Castagnoli polynomial 0x82F63B78, built at compile time.
struct crc32c_tables {
    std::uint32_t t[8][256];
};

constexpr crc32c_tables make_crc32c_tables() {
    crc32c_tables tb{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        tb.t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
        for (int s = 1; s < 8; ++s) tb.t[s][i] = (tb.t[s - 1][i] >> 8) ^ tb.t[0][tb.t[s - 1][i] & 0xffu];
    return tb;
}

inline constexpr crc32c_tables crc32c_table = make_crc32c_tables();

inline std::uint32_t load_le32(const unsigned char* p) noexcept {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
inline std::uint64_t load_le64(const unsigned char* p) noexcept {
    return static_cast<std::uint64_t>(load_le32(p)) | static_cast<std::uint64_t>(load_le32(p + 4)) << 32;
}

/// Software CRC32C over `n` bytes, continuing from the raw (un-finalized) state `state` (start: 0xFFFFFFFF).
inline std::uint32_t crc32c_update_software(std::uint32_t state, const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    const auto& t = crc32c_table.t;
    while (n >= 8) {
        const std::uint32_t lo = load_le32(p) ^ state;
        const std::uint32_t hi = load_le32(p + 4);
        state = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
                t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) state = (state >> 8) ^ t[0][(state ^ *p++) & 0xff];
    return state;
}

#if defined(MLTRACK_CRC32C_X86)
__attribute__((target("sse4.2"))) inline std::uint32_t crc32c_update_sse42(std::uint32_t state, const void* data,
                                                                           std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t s = state;
    while (n >= 8) {
        s = _mm_crc32_u64(s, load_le64(p));
        p += 8;
        n -= 8;
    }
    auto s32 = static_cast<std::uint32_t>(s);
    while (n--) s32 = _mm_crc32_u8(s32, *p++);
    return s32;
}

inline bool crc32c_cpu_has_hardware() noexcept {
    static const bool has = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse4.2") != 0;
    }();
    return has;
}
#elif defined(MLTRACK_CRC32C_ARM)
MLTRACK_CRC32C_ARM_TARGET inline std::uint32_t crc32c_update_armv8(std::uint32_t state, const void* data,
                                                                   std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    while (n >= 8) {
        state = MLTRACK_CRC32C_ARM_U64(state, load_le64(p));
        p += 8;
        n -= 8;
    }
    while (n--) state = MLTRACK_CRC32C_ARM_U8(state, *p++);
    return state;
}

inline bool crc32c_cpu_has_hardware() noexcept {
#if defined(__ARM_FEATURE_CRC32) || defined(__APPLE__)
    return true;
#elif defined(__linux__) && defined(AT_HWCAP)
    static const bool has = (getauxval(AT_HWCAP) & (1ul << 7)) != 0;  // HWCAP_CRC32
    return has;
#else
    return false;
#endif
}
#else
inline bool crc32c_cpu_has_hardware() noexcept { return false; }
#endif

/// Which implementation crc32c() uses on this machine: "sse4.2", "armv8-crc" or "software".
inline const char* crc32c_implementation() noexcept {
#if defined(MLTRACK_CRC32C_X86)
    return crc32c_cpu_has_hardware() ? "sse4.2" : "software";
#elif defined(MLTRACK_CRC32C_ARM)
    return crc32c_cpu_has_hardware() ? "armv8-crc" : "software";
#else
    return "software";
#endif
}

/// The hardware path when the CPU has one, else software; same contract as crc32c_update_software.
inline std::uint32_t crc32c_update(std::uint32_t state, const void* data, std::size_t n) noexcept {
#if defined(MLTRACK_CRC32C_X86)
    if (crc32c_cpu_has_hardware()) return crc32c_update_sse42(state, data, n);
#elif defined(MLTRACK_CRC32C_ARM)
    if (crc32c_cpu_has_hardware()) return crc32c_update_armv8(state, data, n);
#endif
    return crc32c_update_software(state, data, n);
}

/// The standard CRC32C (init 0xFFFFFFFF, final xor 0xFFFFFFFF): crc32c("123456789") == 0xE3069283.
inline std::uint32_t crc32c(const void* data, std::size_t n) noexcept {
    return ~crc32c_update(0xFFFFFFFFu, data, n);
}

/// Extends a finished CRC32C over more bytes: crc32c_extend(crc32c(a), b) == crc32c(a + b).
inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    return ~crc32c_update(~crc, data, n);
}

/// TFRecord's masking: rotate right by 15 and add a constant, so CRCs of data containing CRCs stay strong.
constexpr std::uint32_t crc32c_mask(std::uint32_t crc) noexcept {
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}
constexpr std::uint32_t crc32c_unmask(std::uint32_t masked) noexcept {
    const std::uint32_t rot = masked - 0xA282EAD8u;
    return (rot >> 17) | (rot << 15);
}

inline std::uint32_t masked_crc32c(const void* data, std::size_t n) noexcept { return crc32c_mask(crc32c(data, n)); }

}  // namespace detail
MLTRACK_NAMESPACE_END
