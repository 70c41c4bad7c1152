// Why: TensorBoard shows images as PNG bytes, and a confusion matrix is worth seeing as one. A valid PNG
// needs only zlib's container, not its compressor: the pixels go into "stored" deflate blocks (no
// compression), framed by a CRC-32 per chunk and an Adler-32 over the raw data. That is a few dozen lines
// and no dependency; confusion-matrix images are small, so the missing compression costs little.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../../error.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// zlib's CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): crc32_ieee("123456789") == 0xCBF43926.
struct crc32_ieee_table_t {
    std::uint32_t t[256];
};
constexpr crc32_ieee_table_t make_crc32_ieee_table() {
    crc32_ieee_table_t tb{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        tb.t[i] = c;
    }
    return tb;
}
inline constexpr crc32_ieee_table_t crc32_ieee_table = make_crc32_ieee_table();

/// Extends a finished CRC-32 (start with 0) over more bytes.
inline std::uint32_t crc32_ieee(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint32_t c = ~crc;
    while (n--) c = (c >> 8) ^ crc32_ieee_table.t[(c ^ *p++) & 0xffu];
    return ~c;
}

/// Adler-32 (RFC 1950), extending `adler` (start with 1).
inline std::uint32_t adler32(std::uint32_t adler, const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint32_t a = adler & 0xffffu, b = adler >> 16;
    while (n > 0) {
        std::size_t k = n < 5552 ? n : 5552;  // the largest run before b can overflow 32 bits
        n -= k;
        while (k--) {
            a += *p++;
            b += a;
        }
        a %= 65521u;
        b %= 65521u;
    }
    return (b << 16) | a;
}

namespace png_impl {
inline void put_be32(std::string& out, std::uint32_t v) {
    out += static_cast<char>(static_cast<unsigned char>(v >> 24));
    out += static_cast<char>(static_cast<unsigned char>(v >> 16));
    out += static_cast<char>(static_cast<unsigned char>(v >> 8));
    out += static_cast<char>(static_cast<unsigned char>(v));
}
/// Appends one chunk: length, type, data, CRC-32 over type and data.
inline void chunk(std::string& out, const char type[4], std::string_view data) {
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    const std::size_t crc_from = out.size();
    out.append(type, 4);
    out.append(data.data(), data.size());
    put_be32(out, crc32_ieee(0, out.data() + crc_from, out.size() - crc_from));
}
}  // namespace png_impl

/// Encodes 8-bit pixels (row-major, `channels` bytes per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) as a
/// PNG. Throws mltrack::error value.20 for a bad size or channel count.
inline std::string png_encode(std::uint32_t width, std::uint32_t height, unsigned channels,
                              const std::uint8_t* pixels) {
    if (width == 0 || height == 0 || width > (1u << 24) || height > (1u << 24))
        throw error(error_category::value, 20,
                    "PNG size " + std::to_string(width) + "x" + std::to_string(height) + " is out of range");
    unsigned color_type = 0;
    switch (channels) {
        case 1: color_type = 0; break;
        case 2: color_type = 4; break;
        case 3: color_type = 2; break;
        case 4: color_type = 6; break;
        default:
            throw error(error_category::value, 20, "PNG needs 1 to 4 channels, not " + std::to_string(channels));
    }
    const std::size_t row = static_cast<std::size_t>(width) * channels;
    const std::size_t raw_size = (row + 1) * height;  // each row starts with its filter byte (0: none)
    std::string out;
    out.reserve(raw_size + raw_size / 65535 * 5 + 128);
    out.append("\x89PNG\r\n\x1a\n", 8);

    std::string ihdr;
    png_impl::put_be32(ihdr, width);
    png_impl::put_be32(ihdr, height);
    ihdr += static_cast<char>(8);  // bit depth
    ihdr += static_cast<char>(color_type);
    ihdr += std::string(3, '\0');  // compression 0, filter 0, interlace none
    png_impl::chunk(out, "IHDR", ihdr);

    // IDAT: a zlib stream of stored deflate blocks, built in place.
    const std::size_t idat_len_at = out.size();
    png_impl::put_be32(out, 0);  // patched below
    const std::size_t crc_from = out.size();
    out.append("IDAT", 4);
    const std::size_t data_from = out.size();
    out += static_cast<char>(0x78);  // CMF: deflate, 32 KiB window
    out += static_cast<char>(0x01);  // FLG: no dictionary, fastest; (0x78 * 256 + 0x01) % 31 == 0
    std::uint32_t adler = 1;
    std::size_t block_left = 0;
    std::size_t total_left = raw_size;
    auto raw = [&](const void* p, std::size_t n) {
        const auto* c = static_cast<const char*>(p);
        while (n > 0) {
            if (block_left == 0) {
                block_left = std::min<std::size_t>(total_left, 65535);
                total_left -= block_left;
                out += static_cast<char>(total_left == 0 ? 1 : 0);  // BFINAL, BTYPE 00 (stored)
                const auto len = static_cast<std::uint16_t>(block_left);
                const auto nlen = static_cast<std::uint16_t>(~len);
                out += static_cast<char>(len & 0xff);
                out += static_cast<char>(len >> 8);
                out += static_cast<char>(nlen & 0xff);
                out += static_cast<char>(nlen >> 8);
            }
            const std::size_t k = std::min(n, block_left);
            out.append(c, k);
            adler = adler32(adler, c, k);
            c += k;
            n -= k;
            block_left -= k;
        }
    };
    const char filter = 0;
    for (std::uint32_t y = 0; y < height; ++y) {
        raw(&filter, 1);
        raw(pixels + static_cast<std::size_t>(y) * row, row);
    }
    png_impl::put_be32(out, adler);
    const std::size_t data_len = out.size() - data_from;
    for (int i = 0; i < 4; ++i)
        out[idat_len_at + static_cast<std::size_t>(i)] =
            static_cast<char>(static_cast<unsigned char>(data_len >> (24 - 8 * i)));
    png_impl::put_be32(out, crc32_ieee(0, out.data() + crc_from, out.size() - crc_from));

    png_impl::chunk(out, "IEND", {});
    return out;
}

/// A 3x5 bitmap font for the digits 0-9 (bit 2 is the left column of each row).
inline constexpr std::uint8_t digit_font[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
};

/// An encoded image and its size.
struct rendered_image {
    std::string png;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
};

/// Renders a confusion matrix (rows: true class, columns: predicted) as an RGB PNG: one square cell per
/// entry, shaded from white to dark blue by the count's share of its row, with the count printed in the
/// cell when it fits. The image is at most about 1024 pixels on a side (empty for an empty matrix).

inline rendered_image render_confusion_matrix(const std::vector<std::vector<std::int64_t>>& m) {
    const std::size_t n = m.size();
    rendered_image img;
    if (n == 0) return img;
    const std::size_t cell = std::max<std::size_t>(2, std::min<std::size_t>(48, 1024 / n));
    const std::size_t border = cell >= 8 ? 1 : 0;
    const std::size_t side = n * cell;
    img.width = img.height = static_cast<std::uint32_t>(side);
    std::vector<std::uint8_t> px(side * side * 3, 255);
    for (std::size_t r = 0; r < n; ++r) {
        double row_sum = 0;  // in double: cells near INT64_MAX would overflow an int64 sum
        for (auto v : m[r]) row_sum += v > 0 ? static_cast<double>(v) : 0.0;
        for (std::size_t c = 0; c < n && c < m[r].size(); ++c) {
            const double share = row_sum > 0 ? static_cast<double>(m[r][c]) / row_sum : 0.0;
            const auto shade = [&](double white, double full) {
                return static_cast<std::uint8_t>(std::lround(white + (full - white) * share));
            };
            const std::uint8_t R = shade(247, 8), G = shade(251, 48), B = shade(255, 107);
            for (std::size_t y = r * cell + border; y < (r + 1) * cell; ++y)
                for (std::size_t x = c * cell + border; x < (c + 1) * cell; ++x) {
                    std::uint8_t* p = &px[(y * side + x) * 3];
                    p[0] = R;
                    p[1] = G;
                    p[2] = B;
                }
            // The count, in white on dark cells and black on light ones, scaled to fit.
            const std::string digits = std::to_string(m[r][c]);
            const std::size_t len = digits.size();
            const std::size_t avail = cell > 4 ? cell - 4 : 0;
            std::size_t scale = avail / (4 * len);  // 3 columns and a space per digit
            scale = std::min<std::size_t>(scale, avail / 6);
            if (scale == 0 || m[r][c] < 0) continue;
            const std::uint8_t ink = share > 0.5 ? 255 : 0;
            const std::size_t text_w = (4 * len - 1) * scale, text_h = 5 * scale;
            const std::size_t x0 = c * cell + (cell - text_w) / 2, y0 = r * cell + (cell - text_h) / 2;
            for (std::size_t d = 0; d < len; ++d) {
                const auto& glyph = digit_font[digits[d] - '0'];
                for (std::size_t gy = 0; gy < 5; ++gy)
                    for (std::size_t gx = 0; gx < 3; ++gx) {
                        if (!((glyph[gy] >> (2 - gx)) & 1)) continue;
                        for (std::size_t sy = 0; sy < scale; ++sy)
                            for (std::size_t sx = 0; sx < scale; ++sx) {
                                const std::size_t x = x0 + (4 * d + gx) * scale + sx, y = y0 + gy * scale + sy;
                                std::uint8_t* p = &px[(y * side + x) * 3];
                                p[0] = p[1] = p[2] = ink;
                            }
                    }
            }
        }
    }
    img.png = png_encode(img.width, img.height, 3, px.data());
    return img;
}

}  // namespace detail
MLTRACK_NAMESPACE_END
