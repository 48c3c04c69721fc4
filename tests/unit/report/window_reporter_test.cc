#include "report/window_reporter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "support/packets.h"

namespace nm {
namespace {

using testing::packet;
using testing::PacketSpec;
using testing::reply;

class VectorSink : public TaRecordSink {
 public:
  void write(const TaRecord& record) override { records.push_back(record); }
  std::vector<TaRecord> records;
};

// Feeds packets the way the probe loop does.
struct Harness {
  explicit Harness(FlowTableConfig config = {}, int64_t window = 5)
      : table(config), reporter(ReportConfig{window}, table, sink) {}
  void feed(const PacketSpec& s) {
    DecodedPacket p = packet(s);
    reporter.advanceTo(p.ts);
    reporter.countFrame();
    table.observe(p);
  }
  FlowTable table;
  VectorSink sink;
  WindowReporter reporter;
};

TEST(WindowReporterTest, WindowsAlignToMultiplesOfTheLength) {
  Harness h;
  PacketSpec s;
  s.t = 1'600'000'012.3;
  h.feed(s);
  s.t = 1'600'000'014.9;
  h.feed(s);
  EXPECT_TRUE(h.sink.records.empty());
  s.t = 1'600'000'015.0;
  h.feed(s);
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].ts_start, 1'600'000'010);
  EXPECT_EQ(h.sink.records[0].ts_end, 1'600'000'015);
  EXPECT_EQ(h.sink.records[0].pkts_rcvd, 2u);
  h.reporter.finish();
  ASSERT_EQ(h.sink.records.size(), 2u);
  EXPECT_EQ(h.sink.records[1].ts_start, 1'600'000'015);
  EXPECT_EQ(h.sink.records[1].data.at(0).pkts_up, 1u);
}

TEST(WindowReporterTest, EmptyWindowsAreNotWritten) {
  Harness h;
  PacketSpec s;
  s.t = 100;
  h.feed(s);
  s.t = 200;  // 19 silent windows in between
  h.feed(s);
  h.reporter.finish();
  ASSERT_EQ(h.sink.records.size(), 2u);
  EXPECT_EQ(h.sink.records[1].ts_start, 200);
}

TEST(WindowReporterTest, RatesAreBitsPerThousandPerWindowSecond) {
  Harness h;
  PacketSpec s;
  s.t = 10;
  s.len = 96;
  h.feed(s);
  PacketSpec r = reply(s);
  r.len = 1500;
  h.feed(r);
  h.feed(r);
  h.reporter.finish();
  const TaFlowEntry& e = h.sink.records.at(0).data.at(0);
  EXPECT_EQ(e.bytes_up, 96u);
  EXPECT_EQ(e.bytes_dw, 3000u);
  EXPECT_EQ(e.pkts_up, 1u);
  EXPECT_EQ(e.pkts_dw, 2u);
  EXPECT_DOUBLE_EQ(e.kbps_up, 96.0 * 8 / 1000 / 5);
  EXPECT_DOUBLE_EQ(e.kbps_dw, 3000.0 * 8 / 1000 / 5);
  EXPECT_DOUBLE_EQ(e.pps_up, 0.2);
  EXPECT_DOUBLE_EQ(e.pps_dw, 0.4);
  EXPECT_EQ(e.device.toString(), "192.168.1.10");
  EXPECT_EQ(e.sip.toString(), "203.0.113.5");
  EXPECT_EQ(e.lport, 50000);
  EXPECT_EQ(e.sport, 443);
  EXPECT_EQ(e.proto, ipproto::kTcp);
  EXPECT_EQ(e.meta, "Unknown");
  EXPECT_TRUE(e.has_hw_addr);
  EXPECT_EQ(e.hw_addr.toString(), "02:00:00:00:00:01");
  EXPECT_NE(e.flow_hi | e.flow_lo, 0u);
}

TEST(WindowReporterTest, TimeGoingBackwardsStaysInTheCurrentWindow) {
  Harness h;
  PacketSpec s;
  s.t = 1000;
  h.feed(s);
  s.t = 3;  // a zeroed clock mid-capture
  h.feed(s);
  h.reporter.finish();
  ASSERT_EQ(h.sink.records.size(), 1u);
  EXPECT_EQ(h.sink.records[0].data.at(0).pkts_up, 2u);
}

TEST(WindowReporterTest, FlowsEvictedMidWindowStillAppearInIt) {
  FlowTableConfig config;
  config.max_flows = 1;
  Harness h(config);
  PacketSpec a;
  a.t = 10;
  a.sport = 1;
  PacketSpec b = a;
  b.sport = 2;
  h.feed(a);
  h.feed(b);  // evicts a
  h.reporter.finish();
  ASSERT_EQ(h.sink.records.size(), 1u);
  const auto& data = h.sink.records[0].data;
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].lport, 1);
  EXPECT_EQ(data[1].lport, 2);
  EXPECT_EQ(h.sink.records[0].evicted_flows, 1u);
}

TEST(WindowReporterTest, TotalsOverWindowsEqualWhatWasFed) {
  Harness h;
  uint64_t bytes = 0;
  for (int i = 0; i < 1000; ++i) {
    PacketSpec s;
    s.t = 50 + i * 0.037;
    s.len = 60 + static_cast<uint32_t>(i % 1400);
    s.sport = static_cast<uint16_t>(1000 + i % 7);
    bytes += s.len;
    h.feed(i % 3 == 0 ? reply(s) : s);
  }
  h.reporter.finish();
  uint64_t seen_bytes = 0;
  uint64_t seen_pkts = 0;
  for (const TaRecord& r : h.sink.records) {
    for (const TaFlowEntry& e : r.data) {
      seen_bytes += e.bytes_up + e.bytes_dw;
      seen_pkts += e.pkts_up + e.pkts_dw;
    }
  }
  EXPECT_EQ(seen_bytes, bytes);
  EXPECT_EQ(seen_pkts, 1000u);
  EXPECT_EQ(h.sink.records.size(), 8u);  // 50 s .. 86.96 s in 5 s windows
}

TEST(WindowReporterTest, DropsArePerWindowDeltas) {
  Harness h;
  uint64_t drops = 0;
  h.reporter.setDropCounter([&] { return drops; });
  PacketSpec s;
  s.t = 10;
  h.feed(s);
  drops = 7;
  s.t = 16;
  h.feed(s);
  drops = 9;
  h.reporter.finish();
  ASSERT_EQ(h.sink.records.size(), 2u);
  EXPECT_EQ(h.sink.records[0].pkts_drop, 7u);
  EXPECT_EQ(h.sink.records[1].pkts_drop, 2u);
}

TEST(TaJsonTest, KeysKeepTheOriginalOrderAndSpelling) {
  TaRecord r;
  r.ts_start = 1607925011;
  r.ts_end = 1607925016;
  TaFlowEntry e;
  IpAddr::parse("192.168.0.103", e.device);
  IpAddr::parse("2600:1901:1:c36::", e.sip);
  e.proto = ipproto::kTcp;
  e.flow_hi = 0xfdde603dd47c93eeULL;
  e.flow_lo = 0x4a4de49c1b21fc4fULL;
  e.kbps_up = 0.0625;
  e.lport = 55308;
  e.sport = 443;
  e.has_video_info = true;
  UpstreamChunk c;
  c.len = 51;
  c.down_bytes = 31;
  e.upstream_chunks.push_back(c);
  r.data.push_back(e);
  const auto j = nlohmann::ordered_json::parse(toJsonLine(r));
  std::vector<std::string> top;
  for (const auto& [k, v] : j.items()) {
    top.push_back(k);
  }
  EXPECT_EQ(top, (std::vector<std::string>{"Info", "CacheStats", "TrafficData"}));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j["TrafficData"]["Data"][0].items()) {
    keys.push_back(k);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"Meta", "Device", "HwAddr", "Flow", "Domain", "Proto",
                                            "LPort", "SIP", "SPort", "KbpsUp", "KbpsDw", "PpsUp",
                                            "PpsDw", "BytesUp", "BytesDw", "PktsUp", "PktsDw",
                                            "VideoInfo", "VoIPInfo"}));
  EXPECT_EQ(j["Info"]["TsStart"], 1607925011);
  const auto& d = j["TrafficData"]["Data"][0];
  EXPECT_EQ(d["Device"], "192.168.0.103");
  EXPECT_EQ(d["SIP"], "2600:1901:1:c36::");
  EXPECT_EQ(d["HwAddr"], "");
  EXPECT_EQ(d["Proto"], "tcp");
  EXPECT_EQ(d["SPort"], "443");
  EXPECT_EQ(d["Flow"], "fdde603dd47c93ee4a4de49c1b21fc4f");
  EXPECT_EQ(d["KbpsUp"], 0.0625);
  EXPECT_EQ(d["Meta"], "Unknown");
  EXPECT_EQ(j["TrafficData"]["Data"][0]["LPort"], "55308");
  EXPECT_EQ(j["TrafficData"]["Data"][0]["VideoInfo"]["UpstreamChunks"][0]["DonwBytes"], 31);
  EXPECT_TRUE(j["TrafficData"]["Data"][0]["VoIPInfo"].is_null());
  EXPECT_EQ(toJsonLine(r).find('\n'), std::string::npos);
}

TEST(TaJsonTest, StringsAreEscapedAndNumbersRoundTrip) {
  TaRecord r;
  TaFlowEntry e;
  e.meta = "Tab\tQuote\"Back\\slash";
  e.domain = std::string("caf\xc3\xa9.example\x01", 14);
  e.proto = 47;
  e.kbps_dw = 0.1 + 0.2;  // not representable in short form
  e.pps_up = 1e-7;
  r.data.push_back(e);
  const std::string line = toJsonLine(r);
  const auto j = nlohmann::json::parse(line);
  const auto& d = j["TrafficData"]["Data"][0];
  EXPECT_EQ(d["Meta"], e.meta);
  EXPECT_EQ(d["Domain"], e.domain);
  EXPECT_EQ(d["Proto"], "47");
  EXPECT_EQ(d["KbpsDw"].get<double>(), 0.1 + 0.2);
  EXPECT_EQ(d["PpsUp"].get<double>(), 1e-7);
}

TEST(TaJsonTest, EveryDoubleReadsBackExactly) {
  std::mt19937_64 rng(7);
  TaRecord r;
  std::vector<double> values = {0, 1, 0.2, 0.0016, 1234.5678, 1e-7, 3.0 / 7, 1e300, 123456789012.5};
  for (int i = 0; i < 20000; ++i) {
    const auto bytes = rng() % 100'000'000;
    values.push_back(static_cast<double>(bytes * 8) / (1000.0 * static_cast<double>(1 + i % 9)));
    values.push_back(static_cast<double>(rng() % 1000) / static_cast<double>(1 + rng() % 60));
  }
  for (double v : values) {
    TaFlowEntry e;
    e.kbps_dw = v;
    r.data.push_back(e);
  }
  const auto j = nlohmann::json::parse(toJsonLine(r));
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(j["TrafficData"]["Data"][i]["KbpsDw"].get<double>(), values[i]) << i;
  }
}

TEST(TaJsonTest, InvalidUtf8IsReplacedNotThrown) {
  TaRecord r;
  TaFlowEntry e;
  e.domain = "bad\xff\xfe";
  r.data.push_back(e);
  const auto j = nlohmann::json::parse(toJsonLine(r));
  EXPECT_EQ(j["TrafficData"]["Data"][0]["Domain"], "bad\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(TaJsonTest, VideoInfoIsNullWithoutChunks) {
  TaRecord r;
  r.data.emplace_back();
  const auto j = nlohmann::json::parse(toJsonLine(r));
  EXPECT_TRUE(j["TrafficData"]["Data"][0]["VideoInfo"].is_null());
}

}  // namespace
}  // namespace nm
