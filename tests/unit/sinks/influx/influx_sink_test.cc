// The InfluxDB sink against a recording HTTP server on 127.0.0.1 (port 0).

#include "sinks/influx/influx_sink.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "influx_test_support.h"

namespace nm {
namespace {

using namespace std::chrono_literals;
using influx_test::expectedLines;
using influx_test::makeSummary;
using influx_test::metricValue;
using influx_test::RecordedRequest;
using influx_test::RecordingServer;
using influx_test::TempDir;
using influx_test::waitUntil;

constexpr std::string_view kPrefix = "netmicroscope_influx_";

std::string metricName(std::string_view n) {
  return std::string(kPrefix) + std::string(n);
}

class InfluxSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()) << "cannot bind 127.0.0.1:0"; }

  InfluxSettings settings() const {
    InfluxSettings s;
    s.host = "127.0.0.1";
    s.port = static_cast<uint16_t>(server_.port());
    s.database = "nm";
    s.gzip = false;
    s.spool_dir = dir_.path() + "/spool";
    s.retry_backoff_min = 20ms;
    s.retry_backoff_max = 100ms;
    s.request_timeout = 5000ms;
    return s;
  }

  std::unique_ptr<InfluxSink> makeSink(const InfluxSettings& s) {
    std::string error;
    auto sink = InfluxSink::create(s, metrics_, &error);
    EXPECT_NE(sink, nullptr) << error;
    return sink;
  }

  double metric(std::string_view n, const MetricLabels& labels = {}) const {
    return metricValue(metrics_, metricName(n), labels);
  }

  TempDir dir_;
  RecordingServer server_;
  MetricsRegistry metrics_;
};

TEST(InfluxSettingsTest, ValidationReportsEveryProblemAtOnce) {
  InfluxSettings s;
  s.scheme = "ftp";
  s.host = "";
  s.database = "";
  s.batch_points = 0;
  s.spool_dir = "";
  const auto errors = validateInfluxSettings(s);
  EXPECT_EQ(errors.size(), 5u);
  MetricsRegistry metrics;
  std::string error;
  EXPECT_EQ(InfluxSink::create(s, metrics, &error), nullptr);
  EXPECT_NE(error.find("scheme"), std::string::npos) << error;
  EXPECT_NE(error.find("spool"), std::string::npos) << error;
}

TEST(InfluxSettingsTest, WriteUrlsAreEncoded) {
  InfluxSettings s;
  s.host = "db.example";
  s.port = 8086;
  s.database = "nm db&x=1";
  EXPECT_EQ(influxWriteUrl(s), "http://db.example:8086/write?db=nm%20db%26x%3D1&precision=ns");
  s.scheme = "https";
  s.api = InfluxApi::kV2;
  s.host = "::1";
  s.org = "my org";
  s.bucket = "b/1";
  EXPECT_EQ(influxWriteUrl(s),
            "https://[::1]:8086/api/v2/write?org=my%20org&bucket=b%2F1&precision=ns");
}

TEST(InfluxGzipTest, CompressedBytesInflateToTheInput) {
  std::string input;
  for (int i = 0; i < 200; ++i) {
    input += expectedLines(i, 1, 1600000000);
  }
  std::string packed;
  ASSERT_TRUE(gzipCompress(input, packed));
  ASSERT_GE(packed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8b);
  EXPECT_LT(packed.size() * 4, input.size());

  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(input.size() + 100, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(packed.data());
  zs.avail_in = static_cast<uInt>(packed.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(out, input);
}

TEST_F(InfluxSinkTest, V1PathQueryAndBasicAuth) {
  auto s = settings();
  s.database = "nm db";
  s.user = "nm";
  s.password = "p@ss word";
  auto sink = makeSink(s);
  sink->write(makeSummary(0, 2, 1598050385));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return server_.acceptedLines() == 2; }));
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/write");
  EXPECT_EQ(reqs[0].param("db"), "nm db");
  EXPECT_EQ(reqs[0].param("precision"), "ns");
  EXPECT_EQ(reqs[0].params.size(), 2u);
  EXPECT_EQ(reqs[0].header("Authorization"), "Basic bm06cEBzcyB3b3Jk");  // base64("nm:p@ss word")
  EXPECT_EQ(reqs[0].header("Content-Encoding"), "");
  EXPECT_EQ(reqs[0].body,
            "network_traffic_application_kbpsdw,application=app0,deployment=home,"
            "device=aa:bb:cc:00:00:01 value=0.5 1598050385000000000\n"
            "network_traffic_application_kbpsdw,application=app1,deployment=home,"
            "device=aa:bb:cc:00:00:01 value=1.5 1598050385000000000\n");
  sink->finish(1s);
}

TEST_F(InfluxSinkTest, V2PathQueryAndTokenHeader) {
  auto s = settings();
  s.api = InfluxApi::kV2;
  s.org = "my org";
  s.bucket = "nm/raw";
  s.token = "t0ken==";
  auto sink = makeSink(s);
  sink->write(makeSummary(0, 1, 1598050385));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return server_.acceptedLines() == 1; }));
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/api/v2/write");
  EXPECT_EQ(reqs[0].param("org"), "my org");
  EXPECT_EQ(reqs[0].param("bucket"), "nm/raw");
  EXPECT_EQ(reqs[0].param("precision"), "ns");
  EXPECT_EQ(reqs[0].header("Authorization"), "Token t0ken==");
  EXPECT_EQ(reqs[0].body, expectedLines(0, 1, 1598050385));
  sink->finish(1s);
}

TEST_F(InfluxSinkTest, GzipBodyDecodesToExactlyTheExpectedLines) {
  auto s = settings();
  s.gzip = true;
  auto sink = makeSink(s);
  RecordSummary summary = makeSummary(0, 3, 1598050385);
  ExtraPoint extra;
  extra.measurement = "geometric";
  extra.tags = {{"host", "h 1"}};
  extra.fields = {{"n", int64_t{3}}, {"ok", true}, {"s", std::string("a \"b\"")}, {"f", 2.25}};
  extra.ts_ns = 1000;
  summary.extra_points.push_back(extra);
  sink->write(summary);
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return server_.acceptedLines() == 4; }));
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  // httplib answers 400 to a body that does not inflate, so 204 + these bytes means valid gzip.
  EXPECT_EQ(reqs[0].header("Content-Encoding"), "gzip");
  EXPECT_EQ(reqs[0].status, 204);
  EXPECT_EQ(reqs[0].body, expectedLines(0, 3, 1598050385) +
                              "geometric,host=h\\ 1 n=3i,ok=true,s=\"a \\\"b\\\"\",f=2.25 1000\n");
  sink->finish(1s);
}

TEST_F(InfluxSinkTest, BatchesHoldAtMostBatchPointsInOrder) {
  auto s = settings();
  s.batch_points = 7;
  s.gzip = true;
  auto sink = makeSink(s);
  // Held back until everything is spooled, so batches are cut by batch_points, not by timing.
  std::mutex gate;
  gate.lock();
  server_.setResponder(
      [&](const RecordedRequest&, httplib::Response&) { std::lock_guard lock(gate); });
  std::string expected;
  for (int c = 0; c < 5; ++c) {
    sink->write(makeSummary(c * 10, 10, 1600000000 + c));
    expected += expectedLines(c * 10, 10, 1600000000 + c);
    ASSERT_TRUE(sink->commit());
  }
  gate.unlock();
  ASSERT_TRUE(waitUntil([&] { return server_.acceptedLines() == 50; }));
  sink->finish(2s);
  const auto reqs = server_.requests();
  size_t full = 0;
  for (const auto& r : reqs) {
    EXPECT_LE(r.lines(), 7u);
    EXPECT_GE(r.lines(), 1u);
    full += r.lines() == 7 ? 1 : 0;
  }
  EXPECT_GE(full, 6u);  // 50 lines: after the first request, whole batches of 7
  for (const auto& r : reqs) {
    EXPECT_EQ(r.remote_port, reqs[0].remote_port) << "one kept-alive connection";
  }
  EXPECT_EQ(server_.accepted(), expected);
  EXPECT_EQ(metric("lines_delivered_total"), 50);
  EXPECT_EQ(metric("points_written_total"), 50);
  EXPECT_EQ(metric("requests_total", {{"class", "2xx"}}), static_cast<double>(reqs.size()));
  EXPECT_EQ(metric("spool_bytes"), 0);
}

TEST_F(InfluxSinkTest, LogsOkAfterEachAcceptedBatchLikeTheOriginal) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_pattern("%l|%v");
  spdlog::set_default_logger(logger);
  auto s = settings();
  s.batch_points = 2;
  auto sink = makeSink(s);
  sink->write(makeSummary(0, 4, 1600000000));
  sink->finish(2s);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(server_.acceptedLines(), 4u);
  EXPECT_EQ(log.str(), "info|OK\ninfo|OK\n");
}

TEST_F(InfluxSinkTest, ServerErrorIsRetriedAndDeliveredOnce) {
  int calls = 0;
  server_.setResponder([&](const RecordedRequest&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 500;
      res.set_content("{\"error\":\"engine busy\"}", "application/json");
    }
  });
  auto sink = makeSink(settings());
  sink->write(makeSummary(0, 3, 1600000000));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return server_.acceptedLines() == 3; }));
  sink->finish(2s);
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].status, 500);
  EXPECT_EQ(reqs[1].status, 204);
  EXPECT_EQ(reqs[0].body, reqs[1].body);  // the SAME batch
  EXPECT_EQ(server_.accepted(), expectedLines(0, 3, 1600000000));
  EXPECT_EQ(metric("retries_total"), 1);
  EXPECT_EQ(metric("requests_total", {{"class", "5xx"}}), 1);
  EXPECT_EQ(metric("requests_total", {{"class", "2xx"}}), 1);
  EXPECT_EQ(metric("lines_delivered_total"), 3);
}

TEST_F(InfluxSinkTest, RetryAfterIsHonoured) {
  int calls = 0;
  server_.setResponder([&](const RecordedRequest&, httplib::Response& res) {
    if (calls++ == 0) {
      res.status = 429;
      res.set_header("Retry-After", "1");
    }
  });
  auto sink = makeSink(settings());  // own backoff: 20..100 ms
  sink->write(makeSummary(0, 1, 1600000000));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return server_.acceptedLines() == 1; }));
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_GE(reqs[1].at - reqs[0].at, 950ms);
  sink->finish(1s);
}

TEST_F(InfluxSinkTest, UnauthorizedIsRetriedUntilCredentialsWork) {
  bool authorized = false;
  std::mutex mu;
  server_.setResponder([&](const RecordedRequest&, httplib::Response& res) {
    std::lock_guard lock(mu);
    if (!authorized) {
      res.status = 401;
      res.set_content("{\"error\":\"authorization failed\"}", "application/json");
    }
  });
  auto sink = makeSink(settings());
  sink->write(makeSummary(0, 2, 1600000000));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return metric("requests_total", {{"class", "4xx"}}) >= 3; }));
  EXPECT_EQ(server_.acceptedLines(), 0u);
  EXPECT_EQ(metric("rejected_lines_total"), 0);  // not dropped
  {
    std::lock_guard lock(mu);
    authorized = true;
  }
  ASSERT_TRUE(waitUntil([&] { return server_.acceptedLines() == 2; }));
  EXPECT_EQ(server_.accepted(), expectedLines(0, 2, 1600000000));
  sink->finish(1s);
}

TEST_F(InfluxSinkTest, ServerDownThenUpDeliversEveryLineOnceInOrder) {
  const int port = server_.port();
  server_.stop();  // nobody listens on the port now
  auto sink = makeSink(settings());
  std::string expected;
  uint64_t last_backlog = 0;
  for (int c = 0; c < 20; ++c) {
    sink->write(makeSummary(c * 5, 5, 1600000000 + c));
    expected += expectedLines(c * 5, 5, 1600000000 + c);
    ASSERT_TRUE(sink->commit()) << "commit " << c;
    const uint64_t backlog = sink->spoolBacklogBytes();
    EXPECT_GT(backlog, last_backlog);  // the spool grows
    last_backlog = backlog;
  }
  EXPECT_EQ(last_backlog, expected.size());
  ASSERT_TRUE(waitUntil([&] { return metric("retries_total") >= 3; }));
  EXPECT_GE(metric("requests_total", {{"class", "none"}}), 3);
  EXPECT_EQ(metric("spool_bytes"), static_cast<double>(expected.size()));
  ASSERT_TRUE(server_.start(port)) << "port " << port << " was taken meanwhile";
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
  sink->finish(2s);
  EXPECT_EQ(server_.accepted(), expected);
  EXPECT_EQ(metric("lines_delivered_total"), 100);
}

TEST_F(InfluxSinkTest, InvalidDataIsRejectedAndLaterBatchesStillGo) {
  server_.setResponder([&](const RecordedRequest& req, httplib::Response& res) {
    if (req.body.find("device=bad") != std::string::npos) {
      res.status = 400;
      res.set_content("{\"error\":\"partial write: field type conflict\"}", "application/json");
    }
  });
  auto s = settings();
  s.batch_points = 2;
  auto sink = makeSink(s);
  sink->write(makeSummary(0, 2, 1600000000));
  sink->write(makeSummary(2, 2, 1600000000, "bad"));
  sink->write(makeSummary(4, 2, 1600000000));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
  sink->finish(1s);
  const auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 3u);  // the refused batch is not retried
  EXPECT_EQ(reqs[1].status, 400);
  EXPECT_EQ(server_.accepted(), expectedLines(0, 2, 1600000000) + expectedLines(4, 2, 1600000000));
  EXPECT_EQ(metric("rejected_lines_total"), 2);
  EXPECT_EQ(metric("lines_delivered_total"), 4);
  EXPECT_EQ(metric("retries_total"), 0);
}

TEST_F(InfluxSinkTest, TooLargeSplitsTheBatch) {
  // 413 for more than 2 lines, and for any body holding the one oversized line.
  server_.setResponder([&](const RecordedRequest& req, httplib::Response& res) {
    if (req.lines() > 2 || req.body.find("app5,") != std::string::npos) {
      res.status = 413;
    }
  });
  auto s = settings();
  s.batch_points = 8;
  auto sink = makeSink(s);
  sink->write(makeSummary(0, 8, 1600000000));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
  sink->finish(1s);
  std::vector<size_t> sizes;
  for (const auto& r : server_.requests()) {
    sizes.push_back(r.lines());
  }
  // 8 -> 4 + 4; 4 -> 2 + 2 (both fine); 4 -> 2 (app4, app5) + 2; 2 -> 1 (fine) + 1 (app5,
  // refused alone); then the last 2.
  EXPECT_EQ(sizes, (std::vector<size_t>{8, 4, 2, 2, 4, 2, 1, 1, 2}));
  EXPECT_EQ(server_.accepted(), expectedLines(0, 5, 1600000000) + expectedLines(6, 2, 1600000000));
  EXPECT_EQ(metric("rejected_lines_total"), 1);
  EXPECT_EQ(metric("requests_total", {{"class", "4xx"}}), 5);
}

TEST_F(InfluxSinkTest, RestartedSinkDeliversLeftoversAndNotWhatWasDelivered) {
  const int port = server_.port();
  auto s = settings();
  {
    auto sink = makeSink(s);
    sink->write(makeSummary(0, 4, 1600000000));
    ASSERT_TRUE(sink->commit());
    ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
    server_.stop();
    sink->write(makeSummary(4, 6, 1600000001));
    ASSERT_TRUE(sink->commit());
    ASSERT_TRUE(waitUntil([&] { return metric("retries_total") >= 1; }));
    // Destroyed without delivering: the leftovers stay spooled.
  }
  ASSERT_TRUE(server_.start(port));
  auto sink = makeSink(s);
  EXPECT_EQ(sink->spoolBacklogBytes(), expectedLines(4, 6, 1600000001).size());
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
  sink->finish(1s);
  EXPECT_EQ(server_.accepted(), expectedLines(0, 4, 1600000000) + expectedLines(4, 6, 1600000001));
}

TEST_F(InfluxSinkTest, TornSpoolTailIsCutNotSent) {
  const int port = server_.port();
  server_.stop();
  auto s = settings();
  {
    auto sink = makeSink(s);
    sink->write(makeSummary(0, 3, 1600000000));
    ASSERT_TRUE(sink->commit());
  }
  const std::string segment = s.spool_dir + "/000000000001.lp";
  ASSERT_TRUE(std::filesystem::exists(segment));
  {
    std::ofstream out(segment, std::ios::app | std::ios::binary);
    out << "network_traffic_application_kbpsdw,application=torn,deployment=home va";
  }
  ASSERT_TRUE(server_.start(port));
  auto sink = makeSink(s);
  EXPECT_EQ(std::filesystem::file_size(segment), expectedLines(0, 3, 1600000000).size());
  sink->write(makeSummary(3, 2, 1600000001));
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
  sink->finish(1s);
  EXPECT_EQ(server_.accepted(), expectedLines(0, 3, 1600000000) + expectedLines(3, 2, 1600000001));
  for (const auto& r : server_.requests()) {
    EXPECT_EQ(r.body.find("torn"), std::string::npos);
  }
}

TEST_F(InfluxSinkTest, FullSpoolRefusesCommitAndLosesNothing) {
  const int port = server_.port();
  server_.stop();
  auto s = settings();
  // Applications app10..app29: every commit has the same size.
  const size_t commit_bytes = expectedLines(10, 5, 1600000000).size();
  s.max_spool_bytes = commit_bytes * 3;
  auto sink = makeSink(s);
  std::string expected;
  int c = 0;
  for (; c < 3; ++c) {
    sink->write(makeSummary(10 + c * 5, 5, 1600000000 + c));
    expected += expectedLines(10 + c * 5, 5, 1600000000 + c);
    ASSERT_TRUE(sink->commit());
  }
  sink->write(makeSummary(10 + c * 5, 5, 1600000000 + c));
  expected += expectedLines(10 + c * 5, 5, 1600000000 + c);
  EXPECT_FALSE(sink->commit());
  EXPECT_FALSE(sink->commit());  // still full: the daemon keeps calling, nothing moves
  EXPECT_EQ(metric("commit_failures_total", {{"reason", "full"}}), 2);
  EXPECT_EQ(sink->spoolBacklogBytes(), commit_bytes * 3);

  ASSERT_TRUE(server_.start(port));
  ASSERT_TRUE(waitUntil([&] { return sink->commit(); }));
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
  sink->finish(1s);
  EXPECT_EQ(server_.accepted(), expected);
}

TEST_F(InfluxSinkTest, EncodeFailuresAreCountedAndSkipped) {
  auto sink = makeSink(settings());
  RecordSummary summary = makeSummary(0, 2, 1600000000);
  summary.points[0].value = std::nan("");
  summary.points.push_back(summary.points[1]);
  summary.points.back().application = "line\nbreak";
  sink->write(summary);
  ASSERT_TRUE(sink->commit());
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));
  sink->finish(1s);
  EXPECT_EQ(server_.accepted(), expectedLines(1, 1, 1600000000));
  EXPECT_EQ(metric("encode_errors_total", {{"kind", "bad_float"}}), 1);
  EXPECT_EQ(metric("encode_errors_total", {{"kind", "newline"}}), 1);
  EXPECT_EQ(metric("points_written_total"), 1);
}

TEST_F(InfluxSinkTest, FinishDeliversWithinTheDeadlineOrLeavesTheRestSpooled) {
  auto s = settings();
  {
    auto sink = makeSink(s);
    sink->write(makeSummary(0, 3, 1600000000));
    sink->finish(5s);  // commits, delivers, returns
    EXPECT_EQ(server_.accepted(), expectedLines(0, 3, 1600000000));
  }
  server_.stop();
  auto sink = makeSink(s);
  sink->write(makeSummary(3, 3, 1600000000));
  const auto start = std::chrono::steady_clock::now();
  sink->finish(300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(sink->spoolBacklogBytes(), expectedLines(3, 3, 1600000000).size());
}

}  // namespace
}  // namespace nm
