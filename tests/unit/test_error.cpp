// error.hpp: one exception type with a stable id "[mltrack.error.<category>.<n>]" at the start of what().
#include <mltrack/error.hpp>
#include <mltrack/version.hpp>

#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "unit_support.hpp"

using mltrack::error;
using mltrack::error_category;

TEST_CASE("what() starts with the stable id") {
    const error e(error_category::name, 3, "run name 'a b' has a bad character");
    CHECK(std::string(e.what()) == "[mltrack.error.name.3] run name 'a b' has a bad character");
    CHECK(e.category() == error_category::name);
    CHECK(e.id() == 3);
}

TEST_CASE("every category spells its id") {
    const std::pair<error_category, const char*> all[] = {
        {error_category::name, "name"},     {error_category::value, "value"}, {error_category::shape, "shape"},
        {error_category::state, "state"},   {error_category::io, "io"},       {error_category::format, "format"},
        {error_category::config, "config"},
    };
    for (const auto& [c, text] : all) {
        CHECK(std::strcmp(mltrack::to_string(c), text) == 0);
        const error e(c, 12, "m");
        CHECK(std::string(e.what()) == std::string("[mltrack.error.") + text + ".12] m");
        CHECK(unit::has_id(e.what(), std::string(text) + ".12"));
        CHECK_FALSE(unit::has_id(e.what(), std::string(text) + ".1"));  // ids are matched whole
    }
    CHECK(std::strcmp(mltrack::to_string(static_cast<error_category>(200)), "unknown") == 0);
}

TEST_CASE("it is a std::runtime_error, copyable, catchable as std::exception") {
    static_assert(std::is_base_of_v<std::runtime_error, error>);
    static_assert(std::is_copy_constructible_v<error>);
    try {
        throw error(error_category::state, 4, "the tracker is closed");
    } catch (const std::exception& e) {
        CHECK(std::string(e.what()) == "[mltrack.error.state.4] the tracker is closed");
    }
    const error a(error_category::io, 2, "x");
    const error b = a;  // NOLINT(performance-unnecessary-copy-initialization)
    CHECK(std::string(b.what()) == a.what());
    CHECK(b.id() == 2);
    CHECK(b.category() == error_category::io);
}

TEST_CASE("an empty message keeps the id and a trailing space") {
    const error e(error_category::value, 1, "");
    CHECK(std::string(e.what()) == "[mltrack.error.value.1] ");
}

TEST_CASE("version") {
    CHECK(std::string(mltrack::version_string) == std::to_string(mltrack::version_major) + "." +
                                                      std::to_string(mltrack::version_minor) + "." +
                                                      std::to_string(mltrack::version_patch));
    CHECK(std::string(MLTRACK_VERSION_STRING) == mltrack::version_string);
}
