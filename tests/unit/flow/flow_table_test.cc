#include "flow/flow_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/packets.h"

namespace nm {
namespace {

using testing::packet;
using testing::PacketSpec;
using testing::reply;

class RecordingListener : public EvictionListener {
 public:
  void onFlowRemoved(Flow& flow) override {
    removed.push_back({flow.localIp().toString(), flow.localPort(), flow.window});
  }
  struct Removed {
    std::string local;
    uint16_t lport;
    WindowCounters window;
  };
  std::vector<Removed> removed;
};

IpPrefix prefix(const char* text) {
  IpPrefix p;
  EXPECT_TRUE(IpPrefix::parse(text, p));
  return p;
}

TEST(FlowOrientationTest, PrivateSideIsLocalWhicheverSendsFirst) {
  FlowTable table({});
  PacketSpec s;                               // 192.168.1.10 -> 203.0.113.5
  Flow& f = table.observe(packet(reply(s)));  // the server's packet arrives first
  EXPECT_EQ(f.localIp().toString(), "192.168.1.10");
  EXPECT_EQ(f.localPort(), 50000);
  EXPECT_EQ(f.remoteIp().toString(), "203.0.113.5");
  EXPECT_EQ(f.remotePort(), 443);
  EXPECT_EQ(f.window.pkts_dw, 1u);
  EXPECT_EQ(f.window.pkts_up, 0u);
}

TEST(FlowOrientationTest, CgnatUlaAndLinkLocalAreLocal) {
  for (const char* local : {"100.64.3.4", "fd00::23", "fe80::1", "169.254.1.1"}) {
    FlowTable table({});
    PacketSpec s;
    s.src = "2001:db8::5";
    if (std::string(local).find(':') == std::string::npos) {
      s.src = "198.51.100.7";
    }
    s.dst = local;
    Flow& f = table.observe(packet(s));
    EXPECT_EQ(f.localIp().toString(), local);
  }
}

TEST(FlowOrientationTest, BothPrivateMeansTheInitiatorIsLocal) {
  FlowTable table({});
  PacketSpec s;
  s.src = "192.168.1.50";
  s.dst = "192.168.1.1";
  s.dport = 53;
  s.proto = ipproto::kUdp;
  Flow& f = table.observe(packet(s));
  EXPECT_EQ(f.localIp().toString(), "192.168.1.50");
  Flow& g = table.observe(packet(reply(s)));
  EXPECT_EQ(&f, &g);
  EXPECT_EQ(g.window.pkts_up, 1u);
  EXPECT_EQ(g.window.pkts_dw, 1u);
}

TEST(FlowOrientationTest, NeitherPrivateAndSynAckFirstMeansTheReceiverIsLocal) {
  FlowTable table({});
  PacketSpec s;
  s.src = "198.51.100.20";  // client, public
  s.dst = "203.0.113.5";
  PacketSpec synack = reply(s);
  synack.flags = tcpflag::kSyn | tcpflag::kAck;
  Flow& f = table.observe(packet(synack));
  EXPECT_EQ(f.localIp().toString(), "198.51.100.20");
  EXPECT_EQ(f.remotePort(), 443);
}

TEST(FlowOrientationTest, NeitherPrivateAndSynFirstMeansTheSenderIsLocal) {
  FlowTable table({});
  PacketSpec s;
  s.src = "203.0.113.5";
  s.sport = 40000;
  s.dst = "198.51.100.20";
  s.dport = 22;
  s.flags = tcpflag::kSyn;
  Flow& f = table.observe(packet(s));
  EXPECT_EQ(f.localIp().toString(), "203.0.113.5");
}

TEST(FlowOrientationTest, ConfiguredLocalPrefixesWinOverPrivateRanges) {
  FlowTableConfig config;
  config.local_prefixes = {prefix("198.51.100.0/24")};
  FlowTable table(config);
  PacketSpec s;
  s.src = "10.0.0.1";  // private, but not in --local
  s.dst = "198.51.100.9";
  Flow& f = table.observe(packet(s));
  EXPECT_EQ(f.localIp().toString(), "198.51.100.9");
  EXPECT_EQ(f.window.pkts_dw, 1u);
}

TEST(FlowTableTest, LocalMacComesFromTheLocalSide) {
  FlowTable table({});
  PacketSpec s;
  s.src_mac = "74:d0:2b:00:00:01";
  s.dst_mac = "00:11:22:33:44:55";
  Flow& f = table.observe(packet(reply(s)));  // downstream: the local MAC is the destination
  ASSERT_TRUE(f.has_mac);
  EXPECT_EQ(f.local_mac.toString(), "74:d0:2b:00:00:01");
}

TEST(FlowTableTest, NoMacWithoutALinkLayerAddress) {
  FlowTable table({});
  PacketSpec s;
  s.src_mac = nullptr;
  EXPECT_FALSE(table.observe(packet(s)).has_mac);
}

TEST(FlowTableTest, CountsBytesAndPacketsPerDirectionAndWindow) {
  FlowTable table({});
  PacketSpec s;
  s.len = 60;
  table.observe(packet(s));
  table.observe(packet(s));
  PacketSpec r = reply(s);
  r.len = 1500;
  Flow& f = table.observe(packet(r));
  EXPECT_EQ(f.window.bytes_up, 120u);
  EXPECT_EQ(f.window.bytes_dw, 1500u);
  EXPECT_EQ(f.total_bytes, 1620u);
  EXPECT_EQ(f.total_pkts, 3u);
  table.resetWindow();
  EXPECT_TRUE(f.window.empty());
  EXPECT_EQ(f.total_pkts, 3u);
  int touched = 0;
  table.forEachWindowFlow([&](const Flow&) { ++touched; });
  EXPECT_EQ(touched, 0);
}

TEST(FlowTableTest, ForEachWindowFlowVisitsTouchedFlowsOnceInOrder) {
  FlowTable table({});
  PacketSpec a;
  PacketSpec b;
  b.sport = 50001;
  table.observe(packet(a));
  table.observe(packet(b));
  table.observe(packet(a));
  std::vector<uint16_t> ports;
  table.forEachWindowFlow([&](const Flow& f) { ports.push_back(f.localPort()); });
  EXPECT_EQ(ports, (std::vector<uint16_t>{50000, 50001}));
}

TEST(FlowTableTest, DistinctFlowsHaveDistinctIds) {
  FlowTable table({});
  PacketSpec a;
  PacketSpec b;
  b.sport = 50001;
  Flow& fa = table.observe(packet(a));
  const auto a_id = fa.id();
  Flow& fb = table.observe(packet(b));
  EXPECT_NE(a_id, fb.id());
  EXPECT_EQ(fb.id(), fb.id());  // stable
}

TEST(FlowFragmentTest, LaterFragmentsJoinTheirFirstFragmentsFlow) {
  FlowTable table({});
  PacketSpec s;
  s.proto = ipproto::kUdp;
  s.dport = 4500;
  DecodedPacket first = packet(s);
  first.is_fragment = first.is_first_fragment = true;
  first.frag_id = 77;
  table.observe(first);
  DecodedPacket later = packet(s);
  later.is_fragment = true;
  later.has_l4 = false;
  later.src_port = later.dst_port = 0;
  later.frag_id = 77;
  later.wire_len = 700;
  Flow& f = table.observe(later);
  EXPECT_EQ(f.localPort(), 50000);
  EXPECT_EQ(f.remotePort(), 4500);
  EXPECT_EQ(f.window.pkts_up, 2u);
  EXPECT_EQ(f.window.bytes_up, 800u);
  EXPECT_EQ(table.stats().fragments_attributed, 1u);
  EXPECT_EQ(table.activeFlows(), 1u);
}

TEST(FlowFragmentTest, OrphanFragmentsAreCountedOnAPortlessFlow) {
  FlowTable table({});
  PacketSpec s;
  s.proto = ipproto::kUdp;
  DecodedPacket later = packet(s);
  later.is_fragment = true;
  later.has_l4 = false;
  later.frag_id = 9;
  Flow& f = table.observe(later);
  EXPECT_EQ(f.localPort(), 0);
  EXPECT_EQ(f.remotePort(), 0);
  EXPECT_EQ(f.window.pkts_up, 1u);
  EXPECT_EQ(table.stats().fragments_unattributed, 1u);
}

TEST(FlowExpiryTest, UdpExpiresAfterItsIdleTimeout) {
  RecordingListener listener;
  FlowTable table({}, &listener);
  PacketSpec s;
  s.proto = ipproto::kUdp;
  table.observe(packet(s));
  table.resetWindow();
  table.expire(static_cast<Timestamp>(59.9 * 1e9));
  EXPECT_EQ(table.activeFlows(), 1u);
  table.expire(61 * kNanosPerSecond);
  EXPECT_EQ(table.activeFlows(), 0u);
  EXPECT_EQ(table.stats().flows_expired, 1u);
  ASSERT_EQ(listener.removed.size(), 1u);
}

TEST(FlowExpiryTest, ClosedTcpExpiresSoonerThanOpenTcp) {
  FlowTable table({});
  PacketSpec open;
  open.sport = 1111;
  table.observe(packet(open));
  PacketSpec closed;
  closed.sport = 2222;
  closed.flags = tcpflag::kFin | tcpflag::kAck;
  table.observe(packet(closed));
  table.observe(packet(reply(closed)));
  table.resetWindow();
  table.expire(11 * kNanosPerSecond);
  ASSERT_EQ(table.activeFlows(), 1u);
  table.forEachWindowFlow([](const Flow&) { FAIL() << "window was reset"; });
  table.expire(299 * kNanosPerSecond);
  EXPECT_EQ(table.activeFlows(), 1u);
  table.expire(301 * kNanosPerSecond);
  EXPECT_EQ(table.activeFlows(), 0u);
}

TEST(FlowExpiryTest, RstClosesAtOnce) {
  FlowTable table({});
  PacketSpec s;
  s.flags = tcpflag::kRst;
  table.observe(packet(s));
  table.expire(11 * kNanosPerSecond);
  EXPECT_EQ(table.activeFlows(), 0u);
}

TEST(FlowEvictionTest, LeastRecentlyUsedFlowIsEvictedAndReported) {
  RecordingListener listener;
  FlowTableConfig config;
  config.max_flows = 2;
  FlowTable table(config, &listener);
  PacketSpec a;
  a.sport = 1;
  PacketSpec b;
  b.sport = 2;
  PacketSpec c;
  c.sport = 3;
  table.observe(packet(a));
  table.observe(packet(b));
  table.observe(packet(a));  // b is now the least recently used
  table.observe(packet(c));
  EXPECT_EQ(table.activeFlows(), 2u);
  EXPECT_EQ(table.stats().flows_evicted_lru, 1u);
  ASSERT_EQ(listener.removed.size(), 1u);
  EXPECT_EQ(listener.removed[0].lport, 2);
  EXPECT_EQ(listener.removed[0].window.pkts_up, 1u);
  std::vector<uint16_t> ports;
  table.forEachWindowFlow([&](const Flow& f) { ports.push_back(f.localPort()); });
  EXPECT_EQ(ports, (std::vector<uint16_t>{1, 3}));
}

TEST(FlowEvictionTest, SlotsAreReusedAfterEviction) {
  FlowTableConfig config;
  config.max_flows = 3;
  FlowTable table(config);
  for (uint16_t port = 1; port <= 1000; ++port) {
    PacketSpec s;
    s.sport = port;
    table.observe(packet(s));
  }
  EXPECT_EQ(table.activeFlows(), 3u);
  EXPECT_EQ(table.stats().flows_evicted_lru, 997u);
  EXPECT_EQ(table.stats().active_peak, 3u);
}

TEST(FlowChunkTest, RequestsOpenChunksAndDownstreamDataFillsThem) {
  FlowTable table({});
  PacketSpec req;
  req.t = 1.0;
  req.payload = 300;
  req.seq = 1000;
  table.observe(packet(req));
  PacketSpec data = reply(req);
  for (int i = 0; i < 3; ++i) {
    data.t = 1.1 + i * 0.1;
    data.payload = 1400;
    data.seq = 5000 + static_cast<uint32_t>(i) * 1400;
    table.observe(packet(data));
  }
  PacketSpec ack = req;
  ack.t = 1.5;
  ack.payload = 0;  // pure ACKs do not open chunks
  table.observe(packet(ack));
  PacketSpec req2 = req;
  req2.t = 2.0;
  req2.seq = 1300;
  Flow& f = table.observe(packet(req2));
  ASSERT_TRUE(f.chunks);
  ASSERT_EQ(f.chunks->closed_in_window.size(), 1u);
  const UpstreamChunk& c = f.chunks->closed_in_window[0];
  EXPECT_EQ(c.len, 320u);  // TCP header + payload
  EXPECT_EQ(c.seq, 1000u);
  EXPECT_EQ(c.ts_start, 1'000'000'000);
  EXPECT_EQ(c.down_pkts, 3u);
  EXPECT_EQ(c.down_bytes, 4200u);
  EXPECT_EQ(c.max_dseq, 5000u + 2 * 1400);
  EXPECT_EQ(c.ts_end, c.last_pkt);
  EXPECT_EQ(c.last_pkt, static_cast<Timestamp>(1.3 * 1e9));
  ASSERT_TRUE(f.chunks->has_open);
  EXPECT_EQ(f.chunks->open.seq, 1300u);
  EXPECT_EQ(f.chunks->open.ts_end, 0);
  table.resetWindow();
  EXPECT_TRUE(f.chunks->closed_in_window.empty());
  EXPECT_TRUE(f.chunks->has_open);
}

TEST(FlowChunkTest, ThresholdAndWrappingSequenceNumbers) {
  FlowTableConfig config;
  config.chunk_min_payload = 100;
  FlowTable table(config);
  PacketSpec small;
  small.payload = 99;
  EXPECT_FALSE(table.observe(packet(small)).chunks);
  PacketSpec req = small;
  req.payload = 100;
  table.observe(packet(req));
  PacketSpec d = reply(req);
  d.payload = 10;
  d.seq = 0xfffffff0u;
  table.observe(packet(d));
  d.seq = 0x10;  // wrapped: later in sequence space
  Flow& f = table.observe(packet(d));
  EXPECT_EQ(f.chunks->open.max_dseq, 0x10u);
}

TEST(FlowChunkTest, UdpFlowsHaveNoChunks) {
  FlowTable table({});
  PacketSpec s;
  s.proto = ipproto::kUdp;
  s.payload = 500;
  EXPECT_FALSE(table.observe(packet(s)).chunks);
}

}  // namespace
}  // namespace nm
