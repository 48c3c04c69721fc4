#pragma once
// InfluxDB sink: every summary point reaches InfluxDB (1.x /write or 2.x /api/v2/write), in
// order, at least once, through an on-disk spool (sinks/influx/spool.h documents its format).
//
//   ingest thread:   write() encodes into a memory buffer; commit() appends it to the spool with
//                    fdatasync. commit() is false when the disk fails or the spool is full
//                    (max_spool_bytes): the buffer is kept and the daemon retries later, which is
//                    how a long outage slows the sources instead of dropping points.
//   delivery thread: reads the spool oldest first, POSTs batches of <= batch_points whole lines
//                    (gzip'ed when enabled) and advances the spool cursor only after a 2xx.
//
// Server answers:
//   2xx                       accepted: cursor advances, logs "OK" (as the original daemon did)
//   no answer, 5xx, 429,      retry the same batch after exponential backoff (Retry-After, in
//   401/403, other 4xx, 3xx   seconds, is honoured); 401/403 log that credentials are wrong
//   413                       split the batch in halves (a single line that is too large: rejected)
//   400                       the server refuses the data: logs its message, counts the lines as
//                             rejected and moves on (retrying would loop forever)
// A re-sent batch (crash between delivery and cursor update, or a 2xx lost on the wire) does not
// double-count: InfluxDB overwrites a point with the same series and timestamp.
//
// Metrics (registered at create(), "netmicroscope_influx_" prefix): points_written_total,
// lines_delivered_total, requests_total{class=2xx|3xx|4xx|5xx|none}, retries_total,
// rejected_lines_total, spool_bytes (gauge: undelivered bytes), encode_errors_total{kind},
// commit_failures_total{reason=full|io}.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "daemon/sink.h"
#include "sinks/influx/line_protocol.h"
#include "sinks/influx/spool.h"

namespace nm {

enum class InfluxApi { kV1, kV2 };

struct InfluxSettings {
  std::string scheme = "http";  // "http" or "https"
  std::string host = "127.0.0.1";
  uint16_t port = 8086;
  InfluxApi api = InfluxApi::kV1;
  // v1: database, optional HTTP basic auth (sent when user is not empty).
  std::string database;
  std::string user;
  std::string password;
  // v2: `Authorization: Token <token>`.
  std::string org;
  std::string bucket;
  std::string token;
  // TLS: ca_file empty = the system store.
  std::string ca_file;
  bool verify_tls = true;

  size_t batch_points = 5000;
  bool gzip = true;
  std::chrono::milliseconds request_timeout{10000};
  std::string spool_dir;
  uint64_t max_spool_bytes = uint64_t{1} << 30;
  uint64_t spool_segment_bytes = uint64_t{8} << 20;
  std::chrono::milliseconds retry_backoff_min{1000};
  std::chrono::milliseconds retry_backoff_max{60000};
};

// Every problem with `settings`, all at once; empty when usable.
std::vector<std::string> validateInfluxSettings(const InfluxSettings& settings);

// The write URL: {scheme}://{host}:{port}/write?db=..&precision=ns (v1) or
// /api/v2/write?org=..&bucket=..&precision=ns (v2), query values percent-encoded.
std::string influxWriteUrl(const InfluxSettings& settings);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string urlEncode(std::string_view text);

// gzip (RFC 1952) of `data`; false only if zlib fails.
bool gzipCompress(std::string_view data, std::string& out);

class InfluxSink final : public Sink {
 public:
  // Validates the settings, opens the spool (cutting torn tails) and starts the delivery thread,
  // which begins with whatever an earlier run left spooled. nullptr with *error on failure.
  // `metrics` must outlive the sink.
  static std::unique_ptr<InfluxSink> create(const InfluxSettings& settings,
                                            MetricsRegistry& metrics, std::string* error);

  // Stops the delivery thread at once (an in-flight request is aborted). Committed data stays
  // spooled; data written but not committed is dropped (it was never promised durable).
  ~InfluxSink() override;

  std::string_view name() const override { return "influxdb"; }
  void write(const RecordSummary& summary) override;
  bool commit() override;
  void finish(std::chrono::milliseconds deadline) override;

  // For tests and `--stats`: bytes spooled and not yet delivered.
  uint64_t spoolBacklogBytes() const { return spool_->backlogBytes(); }

 private:
  struct Metrics {
    Counter* points_written;
    Counter* lines_delivered;
    Counter* retries;
    Counter* rejected_lines;
    Counter* commit_full;
    Counter* commit_io;
    Gauge* spool_bytes;
    std::array<Counter*, 5> requests;  // 2xx 3xx 4xx 5xx none
    std::array<Counter*, influx::kEncodeStatusCount> encode_errors;
  };
  enum class Outcome { kAccepted, kRejected, kTooLarge, kStopped };
  struct Response {
    long status = 0;  // 0: no HTTP answer
    std::string error;
    std::string body;
    std::chrono::seconds retry_after{-1};
  };

  InfluxSink(const InfluxSettings& settings, MetricsRegistry& metrics,
             std::unique_ptr<influx::Spool> spool);
  bool initCurl(std::string* error);
  void encodeStatus(influx::EncodeStatus status);
  void run();
  bool deliver(const influx::SpoolBatch& batch);
  Outcome post(std::string_view lines, size_t count);
  Response send(std::string_view body);
  // Sleeps for the backoff of retry `attempt` (or retry_after), waking early to stop; false when
  // the thread must stop.
  bool backoff(int attempt, std::chrono::seconds retry_after);
  bool stopping() const;
  bool waitFor(std::chrono::steady_clock::time_point until);

  static size_t onBody(char* data, size_t size, size_t count, void* self);
  static size_t onHeader(char* data, size_t size, size_t count, void* self);
  static int onProgress(void* self, int64_t, int64_t, int64_t, int64_t);

  const InfluxSettings settings_;
  const std::string url_;
  Metrics metrics_{};
  std::unique_ptr<influx::Spool> spool_;

  // Ingest thread only.
  std::string pending_;
  size_t pending_points_ = 0;
  std::array<bool, influx::kEncodeStatusCount> encode_logged_{};
  bool commit_failing_ = false;

  // Delivery thread only.
  void* curl_ = nullptr;     // CURL*
  void* headers_ = nullptr;  // curl_slist*
  std::string gzip_buffer_;
  Response response_;

  // Shared.
  std::mutex mu_;
  std::condition_variable wake_;
  bool work_ = false;      // guarded by mu_: commit() spooled something
  bool draining_ = false;  // guarded by mu_: finish() called; stop once the spool is empty
  std::chrono::steady_clock::time_point drain_deadline_;  // guarded by mu_
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> abort_at_ns_{INT64_MAX};  // steady clock; in-flight requests abort after
  std::thread thread_;
};

}  // namespace nm
