#include "sinks/prometheus/metrics_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

namespace nm {
namespace {

TEST(MetricsServer, ServesTheRegistryOnAFreePort) {
  MetricsRegistry registry;
  Counter& records = registry.counter("netmicroscope_ingest_records_total", "Records");
  MetricsServer server(registry);
  std::string error;
  ASSERT_TRUE(server.start("127.0.0.1:0", error)) << error;
  ASSERT_GT(server.port(), 0);

  records.add(41);
  records.add();
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  EXPECT_NE(res->body.find("\nnetmicroscope_ingest_records_total 42\n"), std::string::npos)
      << res->body;
  server.stop();
  EXPECT_FALSE(client.Get("/metrics"));
}

TEST(MetricsServer, RejectsMalformedAddresses) {
  MetricsRegistry registry;
  MetricsServer server(registry);
  std::string error;
  EXPECT_FALSE(server.start("localhost", error));
  EXPECT_NE(error.find("localhost"), std::string::npos);
  EXPECT_FALSE(server.start("127.0.0.1:99999", error));
  EXPECT_FALSE(server.start(":80", error));
}

TEST(MetricsServer, ReportsAPortInUse) {
  MetricsRegistry registry;
  MetricsServer first(registry);
  std::string error;
  ASSERT_TRUE(first.start("127.0.0.1:0", error)) << error;
  MetricsServer second(registry);
  EXPECT_FALSE(second.start("127.0.0.1:" + std::to_string(first.port()), error));
}

TEST(ListenAddress, ParsesHostsAndBracketedV6) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(parseListenAddress("[::1]:9108", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9108);
  ASSERT_TRUE(parseListenAddress("0.0.0.0:0", host, port));
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(parseListenAddress("host:", host, port));
  EXPECT_FALSE(parseListenAddress("host:12x", host, port));
}

}  // namespace
}  // namespace nm
