// detail/tensorboard/crc32c.hpp: the spec's CRC32C and masked-CRC vectors, the software and hardware paths agreeing on
// every length and alignment, and extend/mask/unmask.
#include <mltrack/detail/tensorboard/crc32c.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "support/tb_decoder.hpp"
#include "unit_support.hpp"

using namespace mltrack::detail;

namespace {
std::uint32_t crc(const std::string& s) { return crc32c(s.data(), s.size()); }
std::string u64le(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}
}  // namespace

TEST_CASE("crc32c: the spec's test vectors (section 2)") {
    CHECK(crc("123456789") == 0xE3069283u);
    CHECK(crc32c_mask(0xE3069283u) == 0xC78AB0E5u);
    CHECK(crc(std::string(32, '\0')) == 0x8A9136AAu);
    CHECK(crc32c_mask(0x8A9136AAu) == 0x0FD7FFFAu);
    const std::string tf_record = std::string("\x1a\x11", 2) + "CRC test, one two";
    CHECK(crc(tf_record) == 0xF2D95A88u);
    CHECK(crc32c_mask(0xF2D95A88u) == 0x5794D08Au);
    CHECK(crc(u64le(0)) == 0x8C28B28Au);
    CHECK(masked_crc32c(u64le(0).data(), 8) == 0x07980329u);
    CHECK(crc(u64le(26)) == 0xD81D45AAu);
    CHECK(masked_crc32c(u64le(26).data(), 8) == 0x2DD89B12u);
    CHECK(crc("") == 0u);
}

TEST_CASE("crc32c: mask and unmask are inverses") {
    std::mt19937 rng(7);
    for (int i = 0; i < 10000; ++i) {
        const std::uint32_t c = rng();
        CHECK(crc32c_unmask(crc32c_mask(c)) == c);
    }
    CHECK(crc32c_unmask(0xC78AB0E5u) == 0xE3069283u);
}

TEST_CASE("crc32c: software, hardware and an independent table agree on every length and alignment") {
    std::mt19937 rng(42);
    std::vector<unsigned char> data(4096 + 16);
    for (auto& b : data) b = static_cast<unsigned char>(rng());
    MESSAGE("crc32c implementation on this machine: " << crc32c_implementation());
    for (std::size_t offset = 0; offset < 8; ++offset) {
        for (std::size_t n = 0; n <= 300; ++n) {
            const void* p = data.data() + offset;
            const std::uint32_t sw = ~crc32c_update_software(0xFFFFFFFFu, p, n);
            const std::uint32_t any = crc32c(p, n);
            const std::uint32_t ref =
                tbdec::crc32c(std::string_view(reinterpret_cast<const char*>(data.data() + offset), n));
            REQUIRE(sw == ref);
            REQUIRE(any == ref);
        }
    }
    // Large inputs (images), both paths.
    const std::string_view big(reinterpret_cast<const char*>(data.data()), 4096);
    CHECK(crc32c(big.data(), big.size()) == tbdec::crc32c(big));
    CHECK(~crc32c_update_software(0xFFFFFFFFu, big.data(), big.size()) == tbdec::crc32c(big));
#if defined(MLTRACK_CRC32C_X86)
    if (crc32c_cpu_has_hardware()) {
        for (std::size_t n = 0; n < 100; ++n)
            REQUIRE(~crc32c_update_sse42(0xFFFFFFFFu, data.data() + 3, n) ==
                    ~crc32c_update_software(0xFFFFFFFFu, data.data() + 3, n));
    }
#endif
}

TEST_CASE("crc32c: extend continues a finished CRC") {
    const std::string a = "hello, ", b = "tensorboard";
    CHECK(crc32c_extend(crc(a), b.data(), b.size()) == crc(a + b));
    CHECK(crc32c_extend(crc(""), a.data(), a.size()) == crc(a));
}
