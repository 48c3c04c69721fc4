#include "daemon/pipeline.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "support/recording_sink.h"
#include "support/ta_line.h"

namespace nm {
namespace {

using test::RecordingSink;
using test::taLine;

uint64_t counterValue(MetricsRegistry& m, const std::string& name, MetricLabels labels = {}) {
  return m.counter(name, "", std::move(labels)).value();
}

TEST(Pipeline, SummarisesPerDeviceAndApplicationWithExactSums) {
  MetricsRegistry metrics;
  RecordingSink sink;
  Pipeline p({"home", false}, {&sink}, metrics);
  ASSERT_EQ(p.ingestLine(taLine(
                100, {{"10.0.0.2", "Netflix"}, {"10.0.0.2", "Netflix"}, {"10.0.0.3", "YouTube"}})),
            TaParseError::kNone);
  ASSERT_TRUE(p.commit());
  ASSERT_EQ(sink.committed.size(), 1u);
  const RecordSummary& s = sink.committed[0];
  EXPECT_EQ(s.deployment, "home");
  EXPECT_EQ(s.ts_start, 95);
  EXPECT_EQ(s.ts_end, 100);
  ASSERT_EQ(s.samples.size(), 2u);
  EXPECT_EQ(s.samples[0].device, "10.0.0.2");
  EXPECT_EQ(s.samples[0].application, "Netflix");
  EXPECT_EQ(s.samples[0].kbps_dw, 3.0);
  EXPECT_EQ(s.samples[0].kbps_up, 1.0);
  EXPECT_EQ(s.samples[0].bytes_dw, 1800u);
  EXPECT_EQ(s.samples[0].bytes_up, 200u);
  EXPECT_EQ(s.samples[0].pkts_dw, 8u);
  EXPECT_EQ(s.samples[0].pkts_up, 6u);
  EXPECT_EQ(s.samples[0].flows, 2u);
  EXPECT_EQ(s.samples[1].flows, 1u);
  EXPECT_EQ(s.points.size(), 4u);  // dw + up per pair, no zero-fill for the first record
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_records_total"), 1u);
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_flow_entries_total"), 3u);
}

TEST(Pipeline, CountsBadLinesByKindAndKeepsGoing) {
  MetricsRegistry metrics;
  RecordingSink sink;
  Pipeline p({"home", false}, {&sink}, metrics);
  EXPECT_EQ(p.ingestLine("not json"), TaParseError::kNotJson);
  EXPECT_EQ(p.ingestLine("{\"x\":1}"), TaParseError::kMissingTrafficData);
  EXPECT_EQ(p.ingestLine("[1]"), TaParseError::kNotObject);
  EXPECT_EQ(p.ingestLine("{\"TrafficData\""), TaParseError::kNotJson);
  p.countTooLong();
  EXPECT_EQ(p.ingestLine(taLine(100, {{"10.0.0.2", "Zoom"}})), TaParseError::kNone);
  ASSERT_TRUE(p.commit());
  EXPECT_EQ(sink.committed.size(), 1u);
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_errors_total", {{"kind", "not_json"}}), 2u);
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_errors_total", {{"kind", "not_object"}}),
            1u);
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_errors_total",
                         {{"kind", "missing_traffic_data"}}),
            1u);
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_errors_total", {{"kind", "too_long"}}), 1u);
}

TEST(Pipeline, FailedCommitKeepsCountingUntilASuccess) {
  MetricsRegistry metrics;
  RecordingSink good;
  RecordingSink bad;
  bad.fail = true;
  Pipeline p({"home", false}, {&good, &bad}, metrics);
  p.ingestLine(taLine(100, {{"10.0.0.2", "Zoom"}}));
  p.ingestLine(taLine(105, {{"10.0.0.2", "Zoom"}}));
  EXPECT_FALSE(p.commit());
  EXPECT_EQ(p.uncommittedRecords(), 2u);
  EXPECT_EQ(
      counterValue(metrics, "netmicroscope_sink_commit_failures_total", {{"sink", "recording"}}),
      1u);
  bad.fail = false;
  EXPECT_TRUE(p.commit());
  EXPECT_EQ(p.uncommittedRecords(), 0u);
  EXPECT_EQ(bad.committed.size(), 2u);
  EXPECT_EQ(good.committed.size(), 2u);
  p.finish(std::chrono::milliseconds(10));
  EXPECT_TRUE(good.finished);
  EXPECT_TRUE(bad.finished);
}

TEST(Pipeline, DeploymentsHaveTheirOwnZeroFill) {
  MetricsRegistry metrics;
  RecordingSink sink;
  Pipeline p({"home", false}, {&sink}, metrics);
  p.ingestLine(taLine(100, {{"10.0.0.2", "Zoom"}}), "a");
  p.ingestLine(taLine(100, {{"10.0.0.9", "Netflix"}}), "b");
  p.ingestLine(taLine(105, {{"10.0.0.2", "Zoom"}}), "a");
  ASSERT_TRUE(p.commit());
  ASSERT_EQ(sink.committed.size(), 3u);
  // Deployment b's first record does not zero-fill a's pairs, and a's second has nothing to fill.
  EXPECT_EQ(sink.committed[1].points.size(), 2u);
  EXPECT_EQ(sink.committed[2].points.size(), 2u);
  EXPECT_EQ(sink.committed[2].deployment, "a");
}

TEST(Pipeline, SkipsDuplicateAndOutOfOrderRecordsPerDeployment) {
  MetricsRegistry metrics;
  RecordingSink sink;
  Pipeline p({"home", false}, {&sink}, metrics);
  p.ingestLine(taLine(100, {{"10.0.0.2", "Zoom"}}));
  p.ingestLine(taLine(105, {{"10.0.0.3", "Zoom"}}));
  p.ingestLine(taLine(105, {{"10.0.0.3", "Zoom"}}));           // a redelivery
  p.ingestLine(taLine(100, {{"10.0.0.2", "Zoom"}}));           // a late republish
  p.ingestLine(taLine(100, {{"10.0.0.2", "Zoom"}}), "other");  // another deployment's stream
  ASSERT_TRUE(p.commit());
  EXPECT_EQ(sink.committed.size(), 3u);
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_errors_total", {{"kind", "out_of_order"}}),
            2u);
  EXPECT_EQ(counterValue(metrics, "netmicroscope_ingest_records_total"), 3u);
}

TEST(Pipeline, DeviceNamesRetagPointsAndLogLinesButKeepKeys) {
  class Namer final : public RecordProcessor {
   public:
    std::string_view name() const override { return "namer"; }
    void process(RecordSummary& s) override { setDeviceName(s, "10.0.0.2", "Living room"); }
  } namer;
  MetricsRegistry metrics;
  RecordingSink sink;
  Pipeline p({"home", false}, {&sink}, metrics);
  p.addProcessor(&namer);
  p.ingestLine(taLine(100, {{"10.0.0.2", "Zoom"}, {"10.0.0.3", "Zoom"}}));
  p.ingestLine(taLine(105, {{"10.0.0.3", "Zoom"}}));  // 10.0.0.2 zero-filled at 105
  ASSERT_TRUE(p.commit());
  ASSERT_EQ(sink.committed.size(), 2u);
  const RecordSummary& first = sink.committed[0];
  EXPECT_EQ(first.samples[0].device, "10.0.0.2");
  EXPECT_EQ(first.samples[0].device_name, "Living room");
  EXPECT_EQ(first.samples[1].device_name, "");
  EXPECT_EQ(first.points[0].deviceTag(), "Living room");
  EXPECT_EQ(first.points[2].deviceTag(), "10.0.0.3");
  // The zero-fill point of the renamed device carries the name too.
  bool zero_filled = false;
  for (const SummaryPoint& pt : sink.committed[1].points) {
    if (pt.device == "10.0.0.2") {
      EXPECT_EQ(pt.deviceTag(), "Living room");
      EXPECT_EQ(pt.value, 0.0);
      zero_filled = true;
    }
  }
  EXPECT_TRUE(zero_filled);
}

// A restart that restores the checkpointed summarizer state must produce exactly the points of a
// run that never stopped.
TEST(Pipeline, RestoredSummarizersContinueTheStreamExactly) {
  std::mt19937 rng(7);
  const std::vector<std::string> ips = {"10.0.0.2", "10.0.0.3", "10.0.0.4"};
  const std::vector<std::string> apps = {"Zoom", "Netflix", "Unknown"};
  std::vector<std::string> lines;
  for (int i = 0; i < 40; ++i) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (int k = 0; k < 3; ++k) {
      if (rng() % 2 == 0) {
        pairs.emplace_back(ips[rng() % 3], apps[rng() % 3]);
      }
    }
    lines.push_back(taLine(1000 + 5 * i, pairs, 0.25 * static_cast<double>(rng() % 9)));
  }
  MetricsRegistry metrics;
  RecordingSink whole;
  {
    Pipeline p({"home", false}, {&whole}, metrics);
    for (const auto& l : lines) {
      p.ingestLine(l);
    }
    ASSERT_TRUE(p.commit());
  }
  RecordingSink split;
  std::map<std::string, SummarizerState> saved;
  {
    Pipeline p({"home", false}, {&split}, metrics);
    for (size_t i = 0; i < 17; ++i) {
      p.ingestLine(lines[i]);
    }
    ASSERT_TRUE(p.commit());
    saved = p.summarizerStates();
  }
  {
    Pipeline p({"home", false}, {&split}, metrics);
    p.restoreSummarizers(saved);
    for (size_t i = 17; i < lines.size(); ++i) {
      p.ingestLine(lines[i]);
    }
    ASSERT_TRUE(p.commit());
  }
  ASSERT_EQ(whole.committed.size(), split.committed.size());
  for (size_t i = 0; i < whole.committed.size(); ++i) {
    const auto& a = whole.committed[i].points;
    const auto& b = split.committed[i].points;
    ASSERT_EQ(a.size(), b.size()) << "record " << i;
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(a[k].measurement, b[k].measurement);
      EXPECT_EQ(a[k].device, b[k].device);
      EXPECT_EQ(a[k].application, b[k].application);
      EXPECT_EQ(a[k].value, b[k].value);
      EXPECT_EQ(a[k].ts_ns, b[k].ts_ns);
    }
  }
}

}  // namespace
}  // namespace nm
