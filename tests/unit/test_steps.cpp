// detail/engine/steps.hpp: the next step of a metric and of a run, as the writer resolves points logged without a
// step (the Vertex AI SDK's step=None).
#include <mltrack/detail/engine/steps.hpp>

#include <limits>

#include "unit_support.hpp"

using mltrack::detail::step_counter;

TEST_CASE("step_counter: a metric's next step is one more than its highest step, 1 for its first point") {
    step_counter c;
    CHECK(c.next(0, "loss") == 1);
    CHECK(c.next(0, "loss") == 2);
    CHECK(c.next(1, "acc") == 1);  // per metric
    c.saw(0, 10);                  // explicit steps count
    CHECK(c.next(0, "loss") == 11);
    c.saw(0, 4);  // a lower explicit step does not take the counter back
    CHECK(c.next(0, "loss") == 12);
    c.saw(2, -7);
    CHECK(c.next(2, "neg") == -6);
    c.saw(3, std::numeric_limits<std::int64_t>::max());
    CHECK(c.next(3, "top") == std::numeric_limits<std::int64_t>::max());  // saturates, never wraps
}

TEST_CASE("step_counter: the run's next step is one more than the highest step of any metric") {
    step_counter c;
    CHECK(c.next_for_run() == 1);
    c.saw(0, 1);
    c.saw(1, 1);
    CHECK(c.next_for_run() == 2);
    c.saw(5, 40);
    CHECK(c.next_for_run() == 41);
    CHECK(c.next(0, "a") == 2);  // a metric's own counter is not the run's
}

TEST_CASE("step_counter: seeds from the sinks of a resumed run count like steps seen") {
    step_counter c;
    c.seed({{"loss", 20}, {"acc", 5}});
    c.seed({{"loss", 12}, {"lr", 30}});  // two sinks: the highest wins
    CHECK(c.next(0, "loss") == 21);
    CHECK(c.next(1, "acc") == 6);
    CHECK(c.next(2, "new") == 1);
    CHECK(c.next_for_run() == 31);
    c.saw(0, 100);
    CHECK(c.next(0, "loss") == 101);  // steps of this opening above the seed win
}
