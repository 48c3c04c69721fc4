#pragma once
// Helpers for the InfluxDB sink tests: a recording HTTP server on 127.0.0.1 (cpp-httplib), temp
// directories, summaries with known points, and polling with a deadline.

#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "daemon/sink.h"
#include "support/temp_dir.h"

namespace nm::influx_test {

using namespace std::chrono_literals;

// Polls `done` every 5 ms until it holds or `timeout` passes; returns its last value.
inline bool waitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(15000)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) {
      return done();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("nm-influx") {}
};

struct RecordedRequest {
  std::string path;
  httplib::Params params;
  httplib::Headers headers;
  std::string body;  // after httplib undid Content-Encoding
  int status = 0;    // what we answered
  int remote_port = 0;
  std::chrono::steady_clock::time_point at;

  std::string header(const std::string& key) const {
    auto it = headers.find(key);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
  size_t lines() const {
    size_t n = 0;
    for (char c : body) {
      n += c == '\n' ? 1 : 0;
    }
    return n;
  }
};

// Answers every POST with what `respond` sets (204 by default) and records it. Can be stopped and
// started again on the same port, to play a server that goes away.
class RecordingServer {
 public:
  using Responder = std::function<void(const RecordedRequest&, httplib::Response&)>;

  ~RecordingServer() { stop(); }

  // port 0: any free port. Returns false if the port cannot be bound.
  bool start(int port = 0) {
    stop();
    server_ = std::make_unique<httplib::Server>();
    server_->set_keep_alive_timeout(1);
    server_->set_keep_alive_max_count(1000);
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      RecordedRequest rec;
      rec.path = req.path;
      rec.params = req.params;
      rec.headers = req.headers;
      rec.body = req.body;
      rec.remote_port = req.remote_port;
      rec.at = std::chrono::steady_clock::now();
      res.status = 204;
      Responder respond;
      {
        std::lock_guard lock(mu_);
        respond = respond_;
      }
      if (respond) {
        respond(rec, res);
      }
      rec.status = res.status;
      std::lock_guard lock(mu_);
      requests_.push_back(std::move(rec));
    });
    if (port == 0) {
      port = server_->bind_to_any_port("127.0.0.1");
      if (port <= 0) {
        return false;
      }
    } else if (!server_->bind_to_port("127.0.0.1", port)) {
      return false;
    }
    port_ = port;
    thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
    // httplib's stop() does nothing until the accept loop runs: wait for it.
    return waitUntil([&] { return server_->is_running(); }, std::chrono::milliseconds(5000));
  }

  void stop() {
    if (server_) {
      server_->stop();
      if (thread_.joinable()) {
        thread_.join();
      }
      server_.reset();
    }
  }

  int port() const { return port_; }
  void setResponder(Responder respond) {
    std::lock_guard lock(mu_);
    respond_ = std::move(respond);
  }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // Bodies of the 2xx-answered requests, concatenated in arrival order.
  std::string accepted() const {
    std::lock_guard lock(mu_);
    std::string all;
    for (const auto& r : requests_) {
      if (r.status / 100 == 2) {
        all += r.body;
      }
    }
    return all;
  }
  size_t acceptedLines() const {
    std::string all = accepted();
    size_t n = 0;
    for (char c : all) {
      n += c == '\n' ? 1 : 0;
    }
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  Responder respond_;
  std::vector<RecordedRequest> requests_;
};

// A summary of `count` kbpsdw points for one device, applications app<first>..., value i + 0.5,
// timestamps ts_s seconds. The matching line, written out literally from the documented format
// (tags sorted: application, deployment, device; one float field `value`), is expectedLine().
inline RecordSummary makeSummary(int first, int count, int64_t ts_s,
                                 const std::string& device = "aa:bb:cc:00:00:01") {
  RecordSummary s;
  s.deployment = "home";
  s.ts_end = ts_s;
  for (int i = first; i < first + count; ++i) {
    SummaryPoint p;
    p.measurement = "network_traffic_application_kbpsdw";
    p.device = device;
    p.application = "app" + std::to_string(i);
    p.value = i + 0.5;
    p.ts_ns = ts_s * 1000000000;
    s.points.push_back(p);
  }
  return s;
}

inline std::string expectedLines(int first, int count, int64_t ts_s,
                                 const std::string& device = "aa:bb:cc:00:00:01") {
  std::string out;
  for (int i = first; i < first + count; ++i) {
    out += "network_traffic_application_kbpsdw,application=app" + std::to_string(i) +
           ",deployment=home,device=" + device + " value=" + std::to_string(i) + ".5 " +
           std::to_string(ts_s) + "000000000\n";
  }
  return out;
}

// The value of one series of the registry; -1 if absent.
inline double metricValue(const MetricsRegistry& registry, std::string_view name,
                          const MetricLabels& labels = {}) {
  double found = -1;
  registry.forEach([&](const MetricSample& s) {
    if (s.name == name && s.labels == labels) {
      found = s.value;
    }
  });
  return found;
}

}  // namespace nm::influx_test
