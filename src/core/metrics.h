#pragma once
// The process's own counters and gauges, for logs, `--stats` and the Prometheus endpoint.
//
// Names follow Prometheus conventions ("netmicroscope_ingest_records_total"); one metric family
// may carry labels ({"kind", "not_json"}). Registration takes a mutex and returns a reference
// that stays valid for the registry's lifetime; updating it afterwards is one relaxed atomic
// operation, safe from any thread. Register at start-up, not per record.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nm {

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType { kCounter, kGauge };

// What forEach() reports for one series.
struct MetricSample {
  std::string_view name;
  std::string_view help;
  MetricType type;
  const MetricLabels& labels;
  double value;
};

class MetricsRegistry {
 public:
  // Returns the series (name, labels), creating it on first use. A name keeps the type and help
  // it was first registered with; registering it again as the other type is a programming error
  // (aborts).
  Counter& counter(std::string_view name, std::string_view help, MetricLabels labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, MetricLabels labels = {});

  // Visits every series, grouped by name in registration order. Holds the registry's lock.
  void forEach(const std::function<void(const MetricSample&)>& visit) const;

  // Prometheus text exposition format 0.0.4 (# HELP, # TYPE, one line per series).
  std::string renderPrometheus() const;

 private:
  struct Series {
    std::string name;
    std::string help;
    MetricType type;
    MetricLabels labels;
    Counter counter;
    Gauge gauge;
  };
  Series& series(std::string_view name, std::string_view help, MetricType type,
                 MetricLabels labels);

  mutable std::mutex mu_;
  std::deque<Series> series_;  // deque: references stay valid as it grows
};

}  // namespace nm
