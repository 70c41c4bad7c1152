// detail/tensorboard/png.hpp: the PNG encoder, read back by an independent decoder in this file (its own CRC-32 and
// Adler-32, chunk parsing and stored-block inflation), plus the confusion-matrix renderer.
#include <mltrack/detail/tensorboard/png.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "unit_support.hpp"

using namespace mltrack::detail;

namespace {

std::uint32_t ref_crc32(std::string_view s) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

std::uint32_t ref_adler(std::string_view s) {
    std::uint64_t a = 1, b = 0;
    for (unsigned char c : s) {
        a = (a + c) % 65521;
        b = (b + a) % 65521;
    }
    return static_cast<std::uint32_t>((b << 16) | a);
}

std::uint32_t be32(std::string_view s, std::size_t at) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

struct decoded_png {
    std::uint32_t width = 0, height = 0;
    int color_type = -1;
    std::vector<std::uint8_t> pixels;  // filter bytes removed
};

/// Reads a PNG whose IDAT holds only stored deflate blocks and whose rows use filter 0.
decoded_png read_png(const std::string& png) {
    if (png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) throw std::runtime_error("signature");
    decoded_png out;
    std::string zlib;
    std::size_t at = 8;
    bool ended = false;
    while (at < png.size()) {
        const std::uint32_t len = be32(png, at);
        const std::string type = png.substr(at + 4, 4);
        const std::string data = png.substr(at + 8, len);
        if (be32(png, at + 8 + len) != ref_crc32(png.substr(at + 4, 4 + len))) throw std::runtime_error("chunk CRC " + type);
        if (type == "IHDR") {
            out.width = be32(data, 0);
            out.height = be32(data, 4);
            if (data[8] != 8) throw std::runtime_error("bit depth");
            out.color_type = static_cast<unsigned char>(data[9]);
        } else if (type == "IDAT") {
            zlib += data;
        } else if (type == "IEND") {
            ended = true;
        }
        at += 12 + len;
    }
    if (!ended || at != png.size()) throw std::runtime_error("no IEND at the end");
    if ((static_cast<unsigned char>(zlib[0]) * 256 + static_cast<unsigned char>(zlib[1])) % 31 != 0)
        throw std::runtime_error("zlib header check");
    if ((zlib[0] & 0x0f) != 8) throw std::runtime_error("not deflate");
    std::string raw;
    std::size_t p = 2;
    for (;;) {
        const auto hdr = static_cast<unsigned char>(zlib[p++]);
        if ((hdr >> 1) != 0) throw std::runtime_error("not a stored block");
        const unsigned len = static_cast<unsigned char>(zlib[p]) | static_cast<unsigned char>(zlib[p + 1]) << 8;
        const unsigned nlen = static_cast<unsigned char>(zlib[p + 2]) | static_cast<unsigned char>(zlib[p + 3]) << 8;
        if ((len ^ 0xffffu) != nlen) throw std::runtime_error("LEN/NLEN");
        raw += zlib.substr(p + 4, len);
        p += 4 + len;
        if (hdr & 1) break;
    }
    if (be32(zlib, p) != ref_adler(raw)) throw std::runtime_error("Adler-32");
    if (p + 4 != zlib.size()) throw std::runtime_error("bytes after the zlib stream");
    const int channels = out.color_type == 0 ? 1 : out.color_type == 4 ? 2 : out.color_type == 2 ? 3 : 4;
    const std::size_t row = static_cast<std::size_t>(out.width) * static_cast<std::size_t>(channels);
    if (raw.size() != (row + 1) * out.height) throw std::runtime_error("raw size");
    for (std::uint32_t y = 0; y < out.height; ++y) {
        if (raw[y * (row + 1)] != 0) throw std::runtime_error("filter byte");
        for (std::size_t x = 0; x < row; ++x) out.pixels.push_back(static_cast<std::uint8_t>(raw[y * (row + 1) + 1 + x]));
    }
    return out;
}

}  // namespace

TEST_CASE("png: CRC-32 and Adler-32 reference values") {
    CHECK(crc32_ieee(0, "123456789", 9) == 0xCBF43926u);
    CHECK(crc32_ieee(crc32_ieee(0, "1234", 4), "56789", 5) == 0xCBF43926u);
    CHECK(adler32(1, "Wikipedia", 9) == 0x11E60398u);
    std::string big(200000, '\xff');  // long runs of 0xff exercise the modulo deferral
    CHECK(adler32(1, big.data(), big.size()) == ref_adler(big));
}

TEST_CASE("png: a 1x1 gray image is byte-exact") {
    const std::uint8_t px[] = {0x80};
    const std::string png = png_encode(1, 1, 1, px);
    // signature, IHDR (13 bytes), IDAT (zlib: 78 01, one final stored block of 2 bytes, Adler-32), IEND
    CHECK(png.size() == 8 + 25 + (12 + 2 + 5 + 2 + 4) + 12);
    const auto d = read_png(png);
    CHECK(d.width == 1);
    CHECK(d.height == 1);
    CHECK(d.color_type == 0);
    CHECK(d.pixels == std::vector<std::uint8_t>{0x80});
}

TEST_CASE("png: every channel count, and images spanning several stored blocks") {
    std::mt19937 rng(3);
    for (unsigned channels : {1u, 2u, 3u, 4u}) {
        for (auto wh : {std::pair<std::uint32_t, std::uint32_t>{3, 2}, {300, 300}, {1, 70000}}) {
            CAPTURE(channels);
            CAPTURE(wh.first);
            std::vector<std::uint8_t> px(static_cast<std::size_t>(wh.first) * wh.second * channels);
            for (auto& b : px) b = static_cast<std::uint8_t>(rng());
            const auto d = read_png(png_encode(wh.first, wh.second, channels, px.data()));
            CHECK(d.width == wh.first);
            CHECK(d.height == wh.second);
            CHECK(d.pixels == px);
        }
    }
}

TEST_CASE("png: a raw size that is an exact multiple of the block size") {
    // (row + 1) * height == 65535 * 2: the second block is the final one, no empty block after it.
    std::vector<std::uint8_t> px(65534 * 2, 7);
    const auto d = read_png(png_encode(65534, 2, 1, px.data()));
    CHECK(d.pixels == px);
}

TEST_CASE("png: bad sizes and channel counts are errors") {
    const std::uint8_t px[4] = {};
    CHECK_ERROR_ID("value.20", png_encode(0, 1, 1, px));
    CHECK_ERROR_ID("value.20", png_encode(1, 1, 5, px));
}

TEST_CASE("png: confusion matrix rendering") {
    const auto img = render_confusion_matrix({{90, 10}, {5, 95}});
    REQUIRE(!img.png.empty());
    const auto d = read_png(img.png);
    CHECK(d.width == img.width);
    CHECK(d.height == img.height);
    CHECK(d.width == 96);  // 2 cells of 48 pixels
    CHECK(d.color_type == 2);
    // The diagonal is darker than the off-diagonal cells: sample cell corners away from the digits.
    auto px = [&](std::size_t x, std::size_t y) { return d.pixels[(y * d.width + x) * 3]; };
    CHECK(px(3, 3) < px(48 + 3, 3));
    CHECK(px(48 + 3, 48 + 3) < px(3, 48 + 3));
    // Some ink was drawn (the counts).
    bool black = false, white = false;
    for (std::size_t i = 0; i < d.pixels.size(); i += 3) {
        black |= d.pixels[i] == 0 && d.pixels[i + 1] == 0 && d.pixels[i + 2] == 0;
        white |= d.pixels[i] == 255 && d.pixels[i + 1] == 255 && d.pixels[i + 2] == 255;
    }
    CHECK(black);
    CHECK(white);

    const auto big = render_confusion_matrix(std::vector<std::vector<std::int64_t>>(100, std::vector<std::int64_t>(100, 1)));
    CHECK(big.width == 1000);
    CHECK(read_png(big.png).pixels.size() == 1000u * 1000u * 3u);
    CHECK(render_confusion_matrix({}).png.empty());
    const auto zeros = render_confusion_matrix({{0, 0}, {0, 0}});
    CHECK(read_png(zeros.png).width == 96);
}
