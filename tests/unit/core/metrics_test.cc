#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace nm {
namespace {

TEST(MetricsRegistry, SameNameAndLabelsIsTheSameSeries) {
  MetricsRegistry r;
  Counter& a = r.counter("x_total", "help", {{"kind", "a"}});
  Counter& b = r.counter("x_total", "help", {{"kind", "b"}});
  Counter& a2 = r.counter("x_total", "other help", {{"kind", "a"}});
  EXPECT_EQ(&a, &a2);
  EXPECT_NE(&a, &b);
  a.add(3);
  a2.add();
  EXPECT_EQ(a.value(), 4u);
  EXPECT_EQ(b.value(), 0u);
}

TEST(MetricsRegistry, ReferencesSurviveGrowth) {
  MetricsRegistry r;
  Counter& first = r.counter("first_total", "h");
  for (int i = 0; i < 1000; ++i) {
    r.gauge("g" + std::to_string(i), "h").set(i);
  }
  first.add(7);
  EXPECT_EQ(r.counter("first_total", "h").value(), 7u);
}

TEST(MetricsRegistry, RendersPrometheusTextGroupedByName) {
  MetricsRegistry r;
  r.counter("errors_total", "Errors by kind", {{"kind", "not_json"}}).add(2);
  r.gauge("spool_bytes", "Spool size").set(-5);
  r.counter("errors_total", "Errors by kind", {{"kind", "a\"b\\c\nd"}}).add(1);
  EXPECT_EQ(r.renderPrometheus(),
            "# HELP errors_total Errors by kind\n"
            "# TYPE errors_total counter\n"
            "errors_total{kind=\"not_json\"} 2\n"
            "errors_total{kind=\"a\\\"b\\\\c\\nd\"} 1\n"
            "# HELP spool_bytes Spool size\n"
            "# TYPE spool_bytes gauge\n"
            "spool_bytes -5\n");
}

TEST(MetricsRegistry, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry r;
  Counter& c = r.counter("c_total", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 100000; ++i) {
        c.add();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(c.value(), 400000u);
}

}  // namespace
}  // namespace nm
