// The InfluxDB sink against a real influxd (1.x) started by tests/servers/influxdb.sh: points
// come back with their tags, values and timestamps, and an outage mid-stream loses nothing and
// duplicates nothing.

#include <gtest/gtest.h>
#include <stdio.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "influx_test_support.h"
#include "sinks/influx/influx_sink.h"

namespace nm {
namespace {

using namespace std::chrono_literals;
using influx_test::metricValue;
using influx_test::TempDir;
using influx_test::waitUntil;
using Json = nlohmann::json;

// Runs the server script; returns its exit status and stdout.
int runScript(const std::string& command, const std::string& dir, std::string* out) {
  const std::string line =
      std::string("bash '") + NM_INFLUXDB_SCRIPT + "' " + command + " '" + dir + "'";
  FILE* pipe = ::popen(line.c_str(), "r");
  if (pipe == nullptr) {
    return -1;
  }
  char buf[256];
  std::string text;
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) {
    text.append(buf, n);
  }
  const int status = ::pclose(pipe);
  if (out != nullptr) {
    *out = text;
  }
  return status;
}

class InfluxdbServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("command -v influxd >/dev/null 2>&1") != 0) {
      skip_reason_ = "influxd is not installed (InfluxDB 1.x server binary not in PATH)";
      return;
    }
    dir_ = new TempDir;
    std::string out;
    const int status = runScript("start", dir_->path() + "/influxd", &out);
    if (status == 0) {
      port_ = std::atoi(out.c_str());
    }
    start_error_ = "influxdb.sh start failed (status " + std::to_string(status) +
                   "), output: " + out + "; see " + dir_->path() + "/influxd/influxd.log";
  }

  static void TearDownTestSuite() {
    if (dir_ != nullptr) {
      runScript("stop", dir_->path() + "/influxd", nullptr);
      delete dir_;
      dir_ = nullptr;
    }
  }

  void SetUp() override {
    if (!skip_reason_.empty()) {
      GTEST_SKIP() << "SKIPPED: " << skip_reason_;
    }
    ASSERT_GT(port_, 0) << start_error_;
    database_ =
        std::string("nm_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(post("CREATE DATABASE \"" + database_ + "\""));
  }

  static bool post(const std::string& q) {
    httplib::Client client("127.0.0.1", port_);
    auto res = client.Post("/query", httplib::Params{{"q", q}});
    return res && res->status == 200;
  }

  // Runs a SELECT; returns the "series" array of its first result (empty when none).
  Json query(const std::string& q) const {
    httplib::Client client("127.0.0.1", port_);
    auto res = client.Get("/query", httplib::Params{{"db", database_}, {"q", q}, {"epoch", "ns"}},
                          httplib::Headers{});
    EXPECT_TRUE(res) << "query failed: " << q;
    if (!res) {
      return Json::array();
    }
    EXPECT_EQ(res->status, 200) << res->body;
    Json body = Json::parse(res->body, nullptr, false);
    if (!body.contains("results") || !body["results"][0].contains("series")) {
      EXPECT_FALSE(body.contains("results") && body["results"][0].contains("error")) << res->body;
      return Json::array();
    }
    return body["results"][0]["series"];
  }

  InfluxSettings settings() const {
    InfluxSettings s;
    s.host = "127.0.0.1";
    s.port = static_cast<uint16_t>(port_);
    s.database = database_;
    s.spool_dir = spool_.path() + "/spool";
    s.retry_backoff_min = 50ms;
    s.retry_backoff_max = 400ms;
    s.request_timeout = 5000ms;
    return s;
  }

  std::unique_ptr<InfluxSink> makeSink() {
    std::string error;
    auto sink = InfluxSink::create(settings(), metrics_, &error);
    EXPECT_NE(sink, nullptr) << error;
    return sink;
  }

  static inline TempDir* dir_ = nullptr;
  static inline int port_ = 0;
  static inline std::string skip_reason_;
  static inline std::string start_error_;
  std::string database_;
  TempDir spool_;
  MetricsRegistry metrics_;
};

SummaryPoint point(std::string_view measurement, std::string device, std::string application,
                   double value, int64_t ts_s) {
  SummaryPoint p;
  p.measurement = std::string(measurement);
  p.device = std::move(device);
  p.application = std::move(application);
  p.value = value;
  p.ts_ns = ts_s * 1000000000;
  return p;
}

TEST_F(InfluxdbServerTest, SummariesComeBackWithTheirTagsValuesAndTimestamps) {
  auto sink = makeSink();
  ASSERT_NE(sink, nullptr);
  RecordSummary first;
  first.deployment = "home lab";
  first.points = {
      point(kKbpsDwMeasurement, "aa:bb:cc:dd:ee:01", "YouTube", 0.6875, 1598050385),
      point(kKbpsUpMeasurement, "aa:bb:cc:dd:ee:01", "YouTube", 0.65625, 1598050385),
      point(kKbpsDwMeasurement, "192.168.0.3", "Google Meet, HD=1", 0.1 + 0.2, 1598050385)};
  ExtraPoint extra;
  extra.measurement = "geometric";
  extra.tags = {{"device", "aa:bb:cc:dd:ee:01"}};
  extra.fields = {{"n", int64_t{-42}}, {"ok", true}, {"s", std::string("say \"hi\"")}};
  extra.ts_ns = 1598050385123456789;
  first.extra_points.push_back(extra);
  RecordSummary second;
  second.deployment = "home lab";
  second.points = {point(kKbpsDwMeasurement, "aa:bb:cc:dd:ee:01", "YouTube", 1e21, 1598050390),
                   point(kKbpsDwMeasurement, "192.168.0.3", "Google Meet, HD=1", 0, 1598050390)};
  sink->write(first);
  ASSERT_TRUE(sink->commit());
  sink->write(second);
  sink->finish(10s);
  EXPECT_EQ(sink->spoolBacklogBytes(), 0u);

  using Row = std::tuple<int64_t, std::string, std::string, std::string, double>;
  std::set<Row> rows;
  for (const Json& series : query("SELECT * FROM \"network_traffic_application_kbpsdw\"")) {
    const Json& cols = series["columns"];
    ASSERT_EQ(cols, Json({"time", "application", "deployment", "device", "value"}));
    for (const Json& v : series["values"]) {
      rows.emplace(v[0].get<int64_t>(), v[1].get<std::string>(), v[2].get<std::string>(),
                   v[3].get<std::string>(), v[4].get<double>());
    }
  }
  const std::set<Row> expected = {
      {1598050385000000000, "YouTube", "home lab", "aa:bb:cc:dd:ee:01", 0.6875},
      {1598050385000000000, "Google Meet, HD=1", "home lab", "192.168.0.3", 0.1 + 0.2},
      {1598050390000000000, "YouTube", "home lab", "aa:bb:cc:dd:ee:01", 1e21},
      {1598050390000000000, "Google Meet, HD=1", "home lab", "192.168.0.3", 0.0}};
  EXPECT_EQ(rows, expected);

  const Json up = query("SELECT * FROM \"network_traffic_application_kbpsup\"");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0]["values"], Json::parse(R"([[1598050385000000000, "YouTube", "home lab",
                                              "aa:bb:cc:dd:ee:01", 0.65625]])"));

  const Json geo = query("SELECT * FROM \"geometric\"");
  ASSERT_EQ(geo.size(), 1u);
  EXPECT_EQ(geo[0]["columns"], Json({"time", "device", "n", "ok", "s"}));
  EXPECT_EQ(geo[0]["values"], Json::parse(R"([[1598050385123456789, "aa:bb:cc:dd:ee:01", -42,
                                               true, "say \"hi\""]])"));
  EXPECT_EQ(metricValue(metrics_, "netmicroscope_influx_lines_delivered_total"), 6);
  EXPECT_EQ(metricValue(metrics_, "netmicroscope_influx_rejected_lines_total"), 0);
}

TEST_F(InfluxdbServerTest, OutageMidStreamLosesAndDuplicatesNothing) {
  auto sink = makeSink();
  ASSERT_NE(sink, nullptr);
  const std::vector<std::string> devices = {"aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02", "10.0.0.7"};
  const std::vector<std::string> apps = {"YouTube", "Netflix"};
  constexpr int64_t kTs0 = 1600000000;
  constexpr int kRecords = 45;
  auto record = [&](int i) {
    RecordSummary s;
    s.deployment = "site";
    for (const auto& d : devices) {
      for (const auto& a : apps) {
        s.points.push_back(point(kKbpsDwMeasurement, d, a, i * 1.25 + static_cast<double>(a.size()),
                                 kTs0 + i * 5));
      }
    }
    return s;
  };
  int i = 0;
  for (; i < 10; ++i) {
    sink->write(record(i));
    ASSERT_TRUE(sink->commit());
  }
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }));

  ASSERT_EQ(runScript("stop", dir_->path() + "/influxd", nullptr), 0);
  // Commits go on during the outage, at a record every 100 ms (pacing, not synchronisation).
  for (; i < 35; ++i) {
    sink->write(record(i));
    ASSERT_TRUE(sink->commit()) << "record " << i;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(sink->spoolBacklogBytes(), 0u);
  EXPECT_GT(metricValue(metrics_, "netmicroscope_influx_retries_total"), 0);
  std::string out;
  ASSERT_EQ(runScript("restart", dir_->path() + "/influxd", &out), 0);
  ASSERT_EQ(std::atoi(out.c_str()), port_);  // same port, same data

  for (; i < kRecords; ++i) {
    sink->write(record(i));
    ASSERT_TRUE(sink->commit());
  }
  ASSERT_TRUE(waitUntil([&] { return sink->spoolBacklogBytes() == 0; }, 30s));
  sink->finish(5s);

  // Every series has every timestamp exactly once, with its value.
  const Json counts = query(
      "SELECT COUNT(value) FROM \"network_traffic_application_kbpsdw\" "
      "GROUP BY *");
  ASSERT_EQ(counts.size(), devices.size() * apps.size());
  for (const Json& series : counts) {
    EXPECT_EQ(series["values"][0][1].get<int64_t>(), kRecords) << series.dump();
  }
  const Json all = query(
      "SELECT value FROM \"network_traffic_application_kbpsdw\" GROUP BY device, "
      "application");
  ASSERT_EQ(all.size(), devices.size() * apps.size());
  for (const Json& series : all) {
    const std::string app = series["tags"]["application"].get<std::string>();
    std::map<int64_t, int> seen;
    for (const Json& v : series["values"]) {
      const int64_t ts = v[0].get<int64_t>();
      ++seen[ts];
      const int n = static_cast<int>((ts / 1000000000 - kTs0) / 5);
      EXPECT_EQ(v[1].get<double>(), n * 1.25 + static_cast<double>(app.size())) << ts;
    }
    ASSERT_EQ(seen.size(), static_cast<size_t>(kRecords)) << series["tags"].dump();
    int n = 0;
    for (const auto& [ts, times] : seen) {
      EXPECT_EQ(ts, (kTs0 + n * 5) * 1000000000) << series["tags"].dump();
      EXPECT_EQ(times, 1);
      ++n;
    }
  }
  EXPECT_GE(metricValue(metrics_, "netmicroscope_influx_lines_delivered_total"),
            static_cast<double>(kRecords * devices.size() * apps.size()));
}

}  // namespace
}  // namespace nm
