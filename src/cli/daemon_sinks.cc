#include "cli/daemon_sinks.h"

#include <filesystem>

#include "sinks/influx/influx_sink.h"
#include "sinks/sqlite/sqlite_sink.h"

namespace nm::cli {

std::vector<Sink*> SinkSet::sinks() const {
  std::vector<Sink*> out;
  for (const auto& s : owned) {
    out.push_back(s.get());
  }
  return out;
}

namespace {

bool makeParent(const std::string& path, std::string& error) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
  }
  if (ec) {
    error = "cannot create " + parent.string() + ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace

bool buildSinks(const DaemonConfig& config, const std::string& sqlite_path_override,
                MetricsRegistry& metrics, SinkSet& out, std::string& error) {
  if (config.daemon.sqlite_enabled || !sqlite_path_override.empty()) {
    const std::string path =
        sqlite_path_override.empty() ? config.daemon.sqlite_path : sqlite_path_override;
    if (!makeParent(path, error)) {
      return false;
    }
    SqliteStoreOptions so;
    so.path = path;
    so.tiers.clear();
    for (const auto& [step, keep] : config.daemon.sqlite_tiers) {
      so.tiers.push_back({step, keep});
    }
    std::unique_ptr<Sink> sqlite = openSqliteSink(so, metrics, error);
    if (!sqlite) {
      error = "SQLite store " + path + ": " + error;
      return false;
    }
    out.owned.push_back(std::move(sqlite));
  }
  if (config.influx.enabled) {
    const InfluxConfig& c = config.influx;
    InfluxSettings s;
    s.scheme = c.scheme;
    s.host = c.host;
    s.port = c.port;
    s.api = c.api == InfluxApiVersion::kV1 ? InfluxApi::kV1 : InfluxApi::kV2;
    s.database = c.database;
    s.user = c.user;
    s.password = c.password;
    s.org = c.org;
    s.bucket = c.bucket;
    s.token = c.token;
    s.ca_file = c.ca_file;
    s.verify_tls = c.verify_tls;
    s.batch_points = c.batch_points;
    s.gzip = c.gzip;
    s.spool_dir = config.daemon.spool_dir + "/influxdb";
    std::error_code ec;
    std::filesystem::create_directories(s.spool_dir, ec);
    if (ec) {
      error = "cannot create spool directory " + s.spool_dir + ": " + ec.message();
      return false;
    }
    std::unique_ptr<InfluxSink> influx = InfluxSink::create(s, metrics, &error);
    if (!influx) {
      error = "InfluxDB: " + error;
      return false;
    }
    out.owned.push_back(std::move(influx));
  }
  return true;
}

}  // namespace nm::cli
