#pragma once
// exinfo: who is at the other end of a device's flows. As the original daemon's exinfo plugin,
// one InfluxDB `geometric` point per flow and record whose remote address is public and has a
// location in the local City database; beyond it, the AS and the remote's reverse DNS name.
//
// Settings (PluginContext::settings):
//   MMGEOIP_CITY_DB   City .mmdb (default /var/lib/GeoIP/GeoLite2-City.mmdb); required.
//   MMGEOIP_ASN_DB    ASN .mmdb (default /var/lib/GeoIP/GeoLite2-ASN.mmdb); used when readable.
//   MMGEOIP_ID/KEY    the original's paid web-service account: accepted, logged as unused.
//   EXINFO_ALLOW      comma-separated device keys (MACs in any usual form, or IPs for devices
//                     without a MAC): when non-empty, only these devices are enriched.
//   EXINFO_DENY       the same; never enriched, even when allowed.
//   EXINFO_RDNS       reverse DNS of remote addresses: on (default) | off.
//   EXINFO_RDNS_SERVERS  "ip[:port],..." (default: the system's resolvers).
//   EXINFO_RDNS_QPS   new PTR queries per second at most (default 20).
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
// (records this flow has been enriched in so far, counting this one); fields metric = 1.0
// (double, the original's only field), then when known asn (integer), as_org (string) and host
// (the PTR name, string). Fields, not tags: they add no series, so the original's dashboards see
// the same series as before. Timestamp TsEnd in ns.
//
// GeoIP/ASN lookups are in-process reads of memory-mapped files (about 2 µs, cheaper than a
// store read), so process() does them inline. Reverse DNS is not: an RdnsResolver thread asks
// (rate-limited); answers join the points of later records once they arrive, and are kept for
// their TTL in memory and in the plugin's state (the SQLite store, `rdns/<ip>` keys), so a
// restart does not ask again. The per-flow `hits` counters are saved there at finish() and
// restored by init(), so a restart continues them.
//
// Threading: init(), process() and finish() from the daemon's ingest thread only.

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/metrics.h"
#include "core/net_types.h"
#include "plugins/exinfo/geoip.h"
#include "plugins/exinfo/rdns_resolver.h"
#include "plugins/plugin.h"

namespace nm {

inline constexpr std::string_view kGeometricMeasurement = "geometric";

class ExinfoPlugin : public Plugin {
 public:
  static constexpr int kPriority = 20;  // after ouimap (10), so device names are set
  static constexpr size_t kMaxCachedAddresses = 100'000;
  // At this many per-flow hit counters, those of flows not seen for kHitsKeepSeconds are
  // dropped; when that is not enough, all are (which only restarts `hits` at 1).
  static constexpr size_t kMaxTrackedFlows = 1 << 18;

  // Wall-clock seconds since the epoch: DNS TTLs run in real time, not packet time.
  using Clock = std::function<int64_t()>;
  // Flows not seen for this long (packet time) are not saved at finish().
  static constexpr int64_t kHitsKeepSeconds = 600;

  ExinfoPlugin();
  explicit ExinfoPlugin(Clock clock);
  ~ExinfoPlugin() override;

  std::string_view name() const override { return "exinfo"; }
  int priority() const override { return kPriority; }
  // Opens the databases and parses the device lists. Errors name the setting; all are reported
  // together, separated by "; ".
  bool init(const PluginContext& context, std::string& error) override;
  // Appends the record's `geometric` points to summary.extra_points. Needs summary.record; a
  // summary without one is left alone.
  void process(RecordSummary& summary) override;
  // Stops the resolver and saves the live flows' hit counters into the plugin state.
  void finish() override;

  // false when init() left the plugin inactive (default set, no City database).
  bool active() const { return databases_ != nullptr; }

 private:
  struct Counters;
  struct Location {
    std::string lat;  // formatCoordinate text
    std::string lng;
    std::string country;
  };
  enum class HostState : uint8_t { kUnknown, kPending, kKnown };
  // What is known of one remote address.
  struct Endpoint {
    std::optional<Location> location;
    std::optional<uint32_t> asn;
    std::string as_org;
    std::string host;          // PTR name; empty: none (yet)
    int64_t host_expires = 0;  // Clock seconds
    HostState host_state = HostState::kUnknown;
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
  struct FlowHits {
    uint64_t hits = 0;
    int64_t last_ts = 0;  // TsEnd of the last record with the flow
  };
  using CacheList = std::list<std::pair<IpAddr, Endpoint>>;

  // What is known of `ip`, from the cache or the databases (and the rDNS state).
  Endpoint& endpoint(const IpAddr& ip);
  // Asks for ip's PTR when it is unknown or expired (at `now`, Clock seconds) and not pending.
  void wantHost(const IpAddr& ip, Endpoint& e, int64_t now);
  // Applies the resolver's answers to the cache and the plugin state.
  void applyAnswers();
  bool startResolver(const PluginContext& context, std::vector<std::string>& errors);
  // Loads saved PTR answers (into the cache) and hit counters from the plugin state.
  void loadState();
  void forgetOldFlows(int64_t now_ts);
  bool deviceWanted(const std::string& key) const;

  std::string deployment_;
  std::unique_ptr<GeoIpDatabases> databases_;
  std::unordered_set<std::string> allow_;
  std::unordered_set<std::string> deny_;
  CacheList lru_;  // most recently used first
  std::unordered_map<IpAddr, CacheList::iterator, IpHash> cache_;
  std::unordered_map<FlowId, FlowHits, FlowHash> hits_;
  int64_t newest_ts_ = 0;
  Clock clock_;
  PluginState* state_ = nullptr;
  std::unique_ptr<RdnsResolver> resolver_;
  std::vector<RdnsAnswer> answers_;  // drain() buffer, reused
  std::unique_ptr<Counters> counters_;
};

// A device-list setting ("aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-01, 10.0.0.5") as device keys
// (lower-case colon MAC text, canonical IP text). false with every bad item in `error`.
bool parseDeviceList(std::string_view text, std::unordered_set<std::string>& out,
                     std::string& error);

// exinfo's saved PTR answers in its state: key `rdns/<ip>`, value "<expiry, epoch s> <name>"
// (an empty name is a negative answer).
std::string savedHostKey(const IpAddr& ip);
bool decodeSavedHost(std::string_view value, int64_t& expires, std::string& name);

// The registry entry (plugins/registry.cc).
std::unique_ptr<Plugin> makeExinfoPlugin();

}  // namespace nm
