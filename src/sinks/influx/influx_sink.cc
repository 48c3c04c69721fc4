#include "sinks/influx/influx_sink.h"

#include <curl/curl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/text.h"

namespace nm {
namespace {

using Clock = std::chrono::steady_clock;

// Uncompressed bytes per request beyond which a batch is cut short of batch_points (InfluxDB
// 1.x refuses bodies over its max-body-size, 25 MB by default).
constexpr size_t kMaxBatchBytes = size_t{4} << 20;
constexpr size_t kMaxErrorBody = 4096;
// A Retry-After beyond this is treated as this (a typo on the server should not park us a day).
constexpr std::chrono::seconds kMaxRetryAfter{3600};

constexpr std::array<const char*, 5> kStatusClasses = {"2xx", "3xx", "4xx", "5xx", "none"};

void globalCurlInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t statusClass(long status) {
  if (status >= 200 && status < 600) {
    return static_cast<size_t>(status / 100 - 2);
  }
  return 4;
}

int64_t toNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string influxWriteUrl(const InfluxSettings& s) {
  // An IPv6 literal needs brackets in a URL.
  const bool bracket = s.host.find(':') != std::string::npos && s.host.front() != '[';
  std::string base = fmt::format("{}://{}{}{}:{}", s.scheme, bracket ? "[" : "", s.host,
                                 bracket ? "]" : "", s.port);
  if (s.api == InfluxApi::kV1) {
    return fmt::format("{}/write?db={}&precision=ns", base, urlEncode(s.database));
  }
  return fmt::format("{}/api/v2/write?org={}&bucket={}&precision=ns", base, urlEncode(s.org),
                     urlEncode(s.bucket));
}

std::vector<std::string> validateInfluxSettings(const InfluxSettings& s) {
  std::vector<std::string> errors;
  if (s.scheme != "http" && s.scheme != "https") {
    errors.push_back(fmt::format("influxdb scheme must be http or https, not \"{}\"", s.scheme));
  }
  if (s.host.empty()) {
    errors.emplace_back("influxdb host is empty");
  }
  if (s.port == 0) {
    errors.emplace_back("influxdb port is 0");
  }
  if (s.api == InfluxApi::kV1) {
    if (s.database.empty()) {
      errors.emplace_back("influxdb v1 needs a database");
    }
    if (s.user.empty() && !s.password.empty()) {
      errors.emplace_back("influxdb password given without a user");
    }
  } else {
    if (s.org.empty()) {
      errors.emplace_back("influxdb v2 needs an org");
    }
    if (s.bucket.empty()) {
      errors.emplace_back("influxdb v2 needs a bucket");
    }
    if (s.token.empty()) {
      errors.emplace_back("influxdb v2 needs a token");
    }
  }
  if (!s.ca_file.empty() && ::access(s.ca_file.c_str(), R_OK) != 0) {
    errors.push_back(fmt::format("influxdb CA file {} is not readable", s.ca_file));
  }
  if (s.batch_points == 0) {
    errors.emplace_back("influxdb batch_points must be at least 1");
  }
  if (s.request_timeout.count() <= 0) {
    errors.emplace_back("influxdb request timeout must be positive");
  }
  if (s.spool_dir.empty()) {
    errors.emplace_back("influxdb spool directory is empty");
  }
  if (s.max_spool_bytes == 0) {
    errors.emplace_back("influxdb max spool bytes is 0");
  }
  if (s.spool_segment_bytes == 0) {
    errors.emplace_back("influxdb spool segment bytes is 0");
  }
  if (s.retry_backoff_min.count() <= 0 || s.retry_backoff_max < s.retry_backoff_min) {
    errors.emplace_back("influxdb retry backoff needs 0 < min <= max");
  }
  return errors;
}

bool gzipCompress(std::string_view data, std::string& out) {
  z_stream zs{};
  // 15 + 16: a gzip wrapper rather than zlib's. Level 1: line protocol is repetitive enough that
  // the fastest level already shrinks it several times, and the CPU is shared with capture.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

std::unique_ptr<InfluxSink> InfluxSink::create(const InfluxSettings& settings,
                                               MetricsRegistry& metrics, std::string* error) {
  if (auto errors = validateInfluxSettings(settings); !errors.empty()) {
    *error = fmt::format("{}", fmt::join(errors, "; "));
    return nullptr;
  }
  influx::SpoolOptions options;
  options.dir = settings.spool_dir;
  options.max_bytes = settings.max_spool_bytes;
  options.segment_bytes = settings.spool_segment_bytes;
  auto spool = influx::Spool::open(options, error);
  if (spool == nullptr) {
    return nullptr;
  }
  std::unique_ptr<InfluxSink> sink(new InfluxSink(settings, metrics, std::move(spool)));
  if (!sink->initCurl(error)) {
    return nullptr;
  }
  const uint64_t backlog = sink->spool_->backlogBytes();
  sink->metrics_.spool_bytes->set(static_cast<int64_t>(backlog));
  if (backlog > 0) {
    spdlog::info("influxdb: resuming delivery of {} spooled bytes to {}", backlog, sink->url_);
  }
  sink->thread_ = std::thread([s = sink.get()] { s->run(); });
  return sink;
}

InfluxSink::InfluxSink(const InfluxSettings& settings, MetricsRegistry& metrics,
                       std::unique_ptr<influx::Spool> spool)
    : settings_(settings), url_(influxWriteUrl(settings)), spool_(std::move(spool)) {
  constexpr std::string_view p = "netmicroscope_influx_";
  auto name = [&](std::string_view n) { return fmt::format("{}{}", p, n); };
  metrics_.points_written =
      &metrics.counter(name("points_written_total"), "Points encoded and committed to the spool");
  metrics_.lines_delivered =
      &metrics.counter(name("lines_delivered_total"), "Lines accepted by InfluxDB (2xx)");
  metrics_.retries =
      &metrics.counter(name("retries_total"), "Write requests repeated after a failure");
  metrics_.rejected_lines = &metrics.counter(name("rejected_lines_total"),
                                             "Lines InfluxDB refused as invalid (400) and skipped");
  metrics_.commit_full = &metrics.counter(
      name("commit_failures_total"), "commit() calls that spooled nothing", {{"reason", "full"}});
  metrics_.commit_io = &metrics.counter(name("commit_failures_total"),
                                        "commit() calls that spooled nothing", {{"reason", "io"}});
  metrics_.spool_bytes =
      &metrics.gauge(name("spool_bytes"), "Bytes spooled on disk and not yet delivered");
  for (size_t i = 0; i < kStatusClasses.size(); ++i) {
    metrics_.requests[i] = &metrics.counter(name("requests_total"),
                                            "Write requests by HTTP status class (none: no answer)",
                                            {{"class", kStatusClasses[i]}});
  }
  for (size_t i = 1; i < influx::kEncodeStatusCount; ++i) {
    metrics_.encode_errors[i] = &metrics.counter(
        name("encode_errors_total"), "Points skipped because line protocol cannot carry them",
        {{"kind", influx::encodeStatusName(static_cast<influx::EncodeStatus>(i))}});
  }
}

InfluxSink::~InfluxSink() {
  stop_.store(true);
  {
    std::lock_guard lock(mu_);
    wake_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  if (headers_ != nullptr) {
    curl_slist_free_all(static_cast<curl_slist*>(headers_));
  }
  if (curl_ != nullptr) {
    curl_easy_cleanup(static_cast<CURL*>(curl_));
  }
}

bool InfluxSink::initCurl(std::string* error) {
  globalCurlInit();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    *error = "curl_easy_init failed";
    return false;
  }
  curl_ = curl;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: text/plain; charset=utf-8");
  // No "Expect: 100-continue" round trip before large bodies.
  headers = curl_slist_append(headers, "Expect:");
  if (settings_.gzip) {
    headers = curl_slist_append(headers, "Content-Encoding: gzip");
  }
  if (settings_.api == InfluxApi::kV2) {
    headers =
        curl_slist_append(headers, fmt::format("Authorization: Token {}", settings_.token).c_str());
  }
  headers_ = headers;
  if (headers == nullptr) {
    *error = "curl_slist_append failed";
    return false;
  }
  bool ok = true;
  auto set = [&](CURLcode rc) { ok = ok && rc == CURLE_OK; };
  set(curl_easy_setopt(curl, CURLOPT_URL, url_.c_str()));
  set(curl_easy_setopt(curl, CURLOPT_POST, 1L));
  set(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers));
  set(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L));
  set(curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(
      curl, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min<int64_t>(settings_.request_timeout.count(), 10000))));
  set(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &InfluxSink::onBody));
  set(curl_easy_setopt(curl, CURLOPT_WRITEDATA, this));
  set(curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &InfluxSink::onHeader));
  set(curl_easy_setopt(curl, CURLOPT_HEADERDATA, this));
  set(curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L));
  set(curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &InfluxSink::onProgress));
  set(curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this));
  if (settings_.api == InfluxApi::kV1 && !settings_.user.empty()) {
    set(curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC)));
    set(curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.user.c_str()));
    set(curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str()));
  }
  if (!settings_.ca_file.empty()) {
    set(curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.ca_file.c_str()));
  }
  if (!settings_.verify_tls) {
    set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L));
    set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L));
  }
  if (!ok) {
    *error = "libcurl refused an option (built without HTTPS?)";
  }
  return ok;
}

void InfluxSink::encodeStatus(influx::EncodeStatus status) {
  const auto i = static_cast<size_t>(status);
  metrics_.encode_errors[i]->add();
  if (!encode_logged_[i]) {
    encode_logged_[i] = true;
    spdlog::warn(
        "influxdb: skipping a point line protocol cannot carry ({}); further points of "
        "this kind are only counted",
        influx::encodeStatusName(status));
  }
}

void InfluxSink::write(const RecordSummary& summary) {
  for (const SummaryPoint& point : summary.points) {
    const influx::Tag tags[] = {{"deployment", summary.deployment},
                                {"device", point.deviceTag()},
                                {"application", point.application}};
    const influx::Field fields[] = {{"value", point.value}};
    const auto status = influx::appendPoint(pending_, point.measurement, tags, fields, point.ts_ns);
    if (status == influx::EncodeStatus::kOk) {
      ++pending_points_;
    } else {
      encodeStatus(status);
    }
  }
  std::vector<influx::Tag> tags;
  std::vector<influx::Field> fields;
  for (const ExtraPoint& point : summary.extra_points) {
    tags.clear();
    fields.clear();
    for (const auto& [key, value] : point.tags) {
      tags.push_back({key, value});
    }
    for (const auto& [key, value] : point.fields) {
      std::visit(
          [&](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
              fields.push_back({key, std::string_view(v)});
            } else {
              fields.push_back({key, v});
            }
          },
          value);
    }
    const auto status = influx::appendPoint(pending_, point.measurement, tags, fields, point.ts_ns);
    if (status == influx::EncodeStatus::kOk) {
      ++pending_points_;
    } else {
      encodeStatus(status);
    }
  }
}

bool InfluxSink::commit() {
  if (pending_.empty()) {
    return true;
  }
  std::string error;
  const auto result = spool_->append(pending_, &error);
  if (result != influx::Spool::AppendResult::kOk) {
    (result == influx::Spool::AppendResult::kFull ? metrics_.commit_full : metrics_.commit_io)
        ->add();
    if (!commit_failing_) {
      spdlog::error("influxdb: cannot spool {} bytes ({}); holding them and retrying later",
                    pending_.size(), error);
      commit_failing_ = true;
    }
    return false;
  }
  if (commit_failing_) {
    spdlog::info("influxdb: spooling again");
    commit_failing_ = false;
  }
  metrics_.points_written->add(pending_points_);
  metrics_.spool_bytes->set(static_cast<int64_t>(spool_->backlogBytes()));
  pending_.clear();
  pending_points_ = 0;
  std::lock_guard lock(mu_);
  work_ = true;
  wake_.notify_all();
  return true;
}

void InfluxSink::finish(std::chrono::milliseconds deadline) {
  if (!commit()) {
    spdlog::error("influxdb: {} bytes written since the last commit could not be spooled",
                  pending_.size());
  }
  abort_at_ns_.store(toNs(Clock::now() + deadline));
  {
    std::lock_guard lock(mu_);
    draining_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  const uint64_t left = spool_->backlogBytes();
  metrics_.spool_bytes->set(static_cast<int64_t>(left));
  if (left > 0) {
    spdlog::warn("influxdb: {} bytes stay spooled in {} for the next start", left,
                 settings_.spool_dir);
  }
}

bool InfluxSink::stopping() const {
  return stop_.load() || toNs(Clock::now()) >= abort_at_ns_.load();
}

bool InfluxSink::waitFor(Clock::time_point until) {
  std::unique_lock lock(mu_);
  // finish() may bring the deadline forward while we sleep: re-read it on every wake-up.
  while (!stopping() && Clock::now() < until) {
    const auto abort_at = Clock::time_point(std::chrono::nanoseconds(abort_at_ns_.load()));
    wake_.wait_until(lock, std::min(until, abort_at));
  }
  return !stopping();
}

bool InfluxSink::backoff(int attempt, std::chrono::seconds retry_after) {
  auto delay = settings_.retry_backoff_min;
  for (int i = 0; i < attempt && delay < settings_.retry_backoff_max; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, settings_.retry_backoff_max);
  if (retry_after.count() >= 0) {
    delay = std::max<std::chrono::milliseconds>(delay, std::min(retry_after, kMaxRetryAfter));
  }
  return waitFor(Clock::now() + delay);
}

void InfluxSink::run() {
  influx::SpoolBatch batch;
  int read_failures = 0;
  while (!stopping()) {
    {
      std::lock_guard lock(mu_);
      work_ = false;
    }
    std::string error;
    if (!spool_->readBatch(settings_.batch_points, kMaxBatchBytes, batch, &error)) {
      spdlog::error("influxdb: cannot read the spool: {}", error);
      if (!backoff(read_failures++, std::chrono::seconds(-1))) {
        break;
      }
      continue;
    }
    read_failures = 0;
    if (batch.lines() == 0) {
      std::unique_lock lock(mu_);
      if (draining_) {
        break;
      }
      wake_.wait(lock, [&] { return work_ || draining_ || stop_.load(); });
      continue;
    }
    if (!deliver(batch)) {
      break;
    }
  }
}

bool InfluxSink::deliver(const influx::SpoolBatch& batch) {
  struct Range {
    size_t begin;
    size_t end;
  };
  // A stack: the earlier half of a split is on top, so lines still go out in spool order.
  std::vector<Range> ranges{{0, batch.lines()}};
  while (!ranges.empty()) {
    const Range r = ranges.back();
    const size_t from = r.begin == 0 ? 0 : batch.line_ends[r.begin - 1];
    const size_t to = batch.line_ends[r.end - 1];
    const size_t count = r.end - r.begin;
    const Outcome outcome = post(std::string_view(batch.data).substr(from, to - from), count);
    if (outcome == Outcome::kStopped) {
      return false;
    }
    ranges.pop_back();
    if (outcome == Outcome::kTooLarge) {
      if (count == 1) {
        spdlog::error("influxdb: a single {}-byte line is too large for the server; skipped",
                      to - from);
        metrics_.rejected_lines->add(1);
      } else {
        const size_t mid = r.begin + count / 2;
        ranges.push_back({mid, r.end});
        ranges.push_back({r.begin, mid});
      }
    }
  }
  std::string error;
  for (int attempt = 0; !spool_->advance(batch.end, &error); ++attempt) {
    spdlog::error("influxdb: cannot record delivery in the spool: {}", error);
    if (!backoff(attempt, std::chrono::seconds(-1))) {
      return false;
    }
  }
  metrics_.spool_bytes->set(static_cast<int64_t>(spool_->backlogBytes()));
  return true;
}

InfluxSink::Outcome InfluxSink::post(std::string_view lines, size_t count) {
  std::string_view body = lines;
  if (settings_.gzip) {
    if (!gzipCompress(lines, gzip_buffer_)) {
      // zlib fails only without memory; the lines are still good, so wait and try again.
      spdlog::error("influxdb: gzip failed");
      return backoff(0, std::chrono::seconds(-1)) ? post(lines, count) : Outcome::kStopped;
    }
    body = gzip_buffer_;
  }
  for (int attempt = 0;; ++attempt) {
    if (stopping()) {
      return Outcome::kStopped;
    }
    const Response& r = send(body);
    metrics_.requests[statusClass(r.status)]->add();
    if (r.status >= 200 && r.status < 300) {
      metrics_.lines_delivered->add(count);
      spdlog::info("OK");
      return Outcome::kAccepted;
    }
    if (r.status == 413) {
      spdlog::warn("influxdb: {} lines ({} bytes) too large for the server; splitting", count,
                   body.size());
      return Outcome::kTooLarge;
    }
    if (r.status == 400) {
      spdlog::error("influxdb: server refused {} lines as invalid; skipping them: {}", count,
                    trimBlank(r.body));
      metrics_.rejected_lines->add(count);
      return Outcome::kRejected;
    }
    if (stopping()) {
      return Outcome::kStopped;
    }
    if (r.status == 401 || r.status == 403) {
      spdlog::error(
          "influxdb: HTTP {} from {}: the server refuses our credentials (check the "
          "user/password or token); retrying: {}",
          r.status, url_, trimBlank(r.body));
    } else if (r.status == 0) {
      spdlog::warn("influxdb: no answer from {}: {}; retrying", url_, r.error);
    } else {
      spdlog::warn("influxdb: HTTP {} from {}; retrying: {}", r.status, url_, trimBlank(r.body));
    }
    metrics_.retries->add();
    if (!backoff(attempt, r.retry_after)) {
      return Outcome::kStopped;
    }
  }
}

InfluxSink::Response InfluxSink::send(std::string_view body) {
  CURL* curl = static_cast<CURL*>(curl_);
  response_ = Response{};
  auto timeout = settings_.request_timeout;
  const int64_t abort_at = abort_at_ns_.load();
  if (abort_at != INT64_MAX) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds(abort_at - toNs(Clock::now())));
    timeout = std::clamp(left, std::chrono::milliseconds(1), timeout);
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  const CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    response_.status = 0;
    response_.error = curl_easy_strerror(rc);
    return response_;
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response_.status = status;
  return response_;
}

size_t InfluxSink::onBody(char* data, size_t size, size_t count, void* self) {
  auto& body = static_cast<InfluxSink*>(self)->response_.body;
  const size_t n = size * count;
  body.append(data, std::min(n, kMaxErrorBody - std::min(kMaxErrorBody, body.size())));
  return n;
}

size_t InfluxSink::onHeader(char* data, size_t size, size_t count, void* self) {
  auto& response = static_cast<InfluxSink*>(self)->response_;
  const size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    bool match = true;
    for (size_t i = 0; i < kRetryAfter.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kRetryAfter[i];
    }
    if (match) {
      // Delta-seconds only; an HTTP-date falls back to our own backoff.
      const std::string_view value = trimBlank(line.substr(kRetryAfter.size()));
      int64_t seconds = 0;
      bool digits = !value.empty() && value.size() < 10;
      for (char c : value) {
        digits = digits && c >= '0' && c <= '9';
        seconds = seconds * 10 + (c - '0');
      }
      if (digits) {
        response.retry_after = std::chrono::seconds(seconds);
      }
    }
  }
  return n;
}

int InfluxSink::onProgress(void* self, int64_t, int64_t, int64_t, int64_t) {
  return static_cast<InfluxSink*>(self)->stopping() ? 1 : 0;
}

}  // namespace nm
