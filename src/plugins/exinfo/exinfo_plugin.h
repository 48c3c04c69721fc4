#pragma once
// exinfo: where the remote ends of a device's flows are, as the original daemon's exinfo plugin
// wrote them: one InfluxDB `geometric` point per flow and record whose remote address is public
// and has a location in the local City database (GeoIP only; reverse DNS is not done yet).
//
// Settings (PluginContext::settings):
//   MMGEOIP_CITY_DB   City .mmdb (default /var/lib/GeoIP/GeoLite2-City.mmdb); required.
//   MMGEOIP_ASN_DB    ASN .mmdb (default /var/lib/GeoIP/GeoLite2-ASN.mmdb); used when readable.
//   MMGEOIP_ID/KEY    the original's paid web-service account: accepted, logged as unused.
//   EXINFO_ALLOW      comma-separated device keys (MACs in any usual form, or IPs for devices
//                     without a MAC): when non-empty, only these devices are enriched.
//   EXINFO_DENY       the same; never enriched, even when allowed.
//
// Enablement: the plugin is "explicitly enabled" when NMD_PLUGINS lists `exinfo` or
// MMGEOIP_ENABLE is true. Then a missing City database refuses to start (the error names
// MMGEOIP_CITY_DB). When it only runs as part of the default set (NMD_PLUGINS unset) and the
// City database cannot be opened, init() succeeds, logs a warning and process() does nothing,
// so a daemon without GeoIP data still starts.
//
// Point, per entry (TaFlowEntry) of the record: measurement `geometric`, tags deployment, lat,
// lng (formatCoordinate, 4 decimals), country (ISO code, may be empty), connid (the flow id, 32
// hex digits), device (the device's display name when a plugin set one, else its key), hits
// (records this flow has been enriched in so far, counting this one); field metric = 1.0
// (double); timestamp TsEnd in ns.
//
// Lookups are in-process reads of memory-mapped files (about 2 µs), so process() does them
// inline; no thread, no queue. Results are cached per address (LRU, kMaxCachedAddresses).
//
// Threading: init(), process() and finish() from the daemon's ingest thread only.

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/metrics.h"
#include "core/net_types.h"
#include "plugins/exinfo/geoip.h"
#include "plugins/plugin.h"

namespace nm {

inline constexpr std::string_view kGeometricMeasurement = "geometric";

class ExinfoPlugin : public Plugin {
 public:
  static constexpr int kPriority = 20;  // after ouimap (10), so device names are set
  static constexpr size_t kMaxCachedAddresses = 100'000;
  // The per-flow hit counters are dropped whole at this size (flows end; a full reset only
  // restarts `hits` at 1 for the flows still alive).
  static constexpr size_t kMaxTrackedFlows = 1 << 18;

  ExinfoPlugin();
  ~ExinfoPlugin() override;

  std::string_view name() const override { return "exinfo"; }
  int priority() const override { return kPriority; }
  // Opens the databases and parses the device lists. Errors name the setting; all are reported
  // together, separated by "; ".
  bool init(const PluginContext& context, std::string& error) override;
  // Appends the record's `geometric` points to summary.extra_points. Needs summary.record; a
  // summary without one is left alone.
  void process(RecordSummary& summary) override;

  // false when init() left the plugin inactive (default set, no City database).
  bool active() const { return databases_ != nullptr; }

 private:
  struct Counters;
  struct Location {
    std::string lat;  // formatCoordinate text
    std::string lng;
    std::string country;
  };
  struct IpHash {
    size_t operator()(const IpAddr& ip) const;
  };
  struct FlowId {
    uint64_t hi = 0;
    uint64_t lo = 0;
    bool operator==(const FlowId&) const = default;
  };
  struct FlowHash {
    size_t operator()(const FlowId& f) const;
  };
  using CacheList = std::list<std::pair<IpAddr, std::optional<Location>>>;

  // The location of `ip` (nullopt: none), from the cache or the databases.
  const std::optional<Location>& locate(const IpAddr& ip);
  bool deviceWanted(const std::string& key) const;

  std::string deployment_;
  std::unique_ptr<GeoIpDatabases> databases_;
  std::unordered_set<std::string> allow_;
  std::unordered_set<std::string> deny_;
  CacheList lru_;  // most recently used first
  std::unordered_map<IpAddr, CacheList::iterator, IpHash> cache_;
  std::unordered_map<FlowId, uint64_t, FlowHash> hits_;
  std::unique_ptr<Counters> counters_;
};

// A device-list setting ("aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-01, 10.0.0.5") as device keys
// (lower-case colon MAC text, canonical IP text). false with every bad item in `error`.
bool parseDeviceList(std::string_view text, std::unordered_set<std::string>& out,
                     std::string& error);

// The registry entry (plugins/registry.cc).
std::unique_ptr<Plugin> makeExinfoPlugin();

}  // namespace nm
