#pragma once
// A Prometheus scrape endpoint for the daemon's own counters: GET /metrics returns the registry
// in the text exposition format. Runs its own listener thread; scrapes never touch the ingest
// thread (the registry's values are atomics).

#include <memory>
#include <string>

#include "core/metrics.h"

namespace nm {

class MetricsServer {
 public:
  explicit MetricsServer(const MetricsRegistry& registry);
  ~MetricsServer();  // stops
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on "HOST:PORT" ("127.0.0.1:9108", "[::1]:0"; port 0 picks a free one). false with
  // `error` set when the address is malformed or cannot be bound.
  bool start(const std::string& listen, std::string& error);
  // The bound port (useful with port 0); 0 before start().
  int port() const { return port_; }
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Splits "HOST:PORT" / "[V6]:PORT". false when malformed or the port is outside 0..65535.
bool parseListenAddress(const std::string& listen, std::string& host, int& port);

}  // namespace nm
