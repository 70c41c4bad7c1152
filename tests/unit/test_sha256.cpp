// detail/sha256.hpp: FIPS 180-4 SHA-256, checked against the standard's test vectors.
#include <mltrack/detail/sha256.hpp>

#include <random>
#include <string>

#include "unit_support.hpp"

using mltrack::detail::sha256;

TEST_CASE("FIPS 180-4 vectors") {
    CHECK(sha256::of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256::of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256::of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    CHECK(sha256::of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
                     "nopqrstu") == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    CHECK(sha256::of(std::string(1000000, 'a')) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("the million 'a' vector fed in odd pieces gives the same digest") {
    sha256 h;
    const std::string chunk(997, 'a');
    std::size_t left = 1000000;
    std::mt19937 rng(5);
    while (left) {
        const std::size_t n = std::min<std::size_t>(left, 1 + rng() % chunk.size());
        h.update(chunk.data(), n);
        left -= n;
    }
    CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("padding edges: 55, 56, 63, 64 and 65 bytes, byte by byte or at once") {
    // digests of 'a' * n, from a reference implementation (coreutils sha256sum)
    const std::pair<std::size_t, const char*> cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
    };
    for (const auto& c : cases) {
        const std::size_t n = c.first;  // not a structured binding: clang 14 cannot capture those
        const std::string digest = c.second;
        CAPTURE(n);
        CHECK(sha256::of(std::string(n, 'a')) == digest);
        sha256 h;
        for (std::size_t i = 0; i < n; ++i) h.update("a");
        CHECK(h.hex_digest() == digest);
    }
}

TEST_CASE("hex_digest resets the object") {
    sha256 h;
    h.update("abc");
    CHECK(h.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(h.hex_digest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    h.update("ab");
    h.reset();
    h.update("abc");
    CHECK(h.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
