#include "plugins/exinfo/exinfo_plugin.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <vector>

#include "plugins/exinfo/address_scope.h"

namespace nm {

struct ExinfoPlugin::Counters {
  Counter* cache_hit = nullptr;
  Counter* cache_miss = nullptr;
  Counter* points = nullptr;
  Counter* skipped_not_public = nullptr;
  Counter* skipped_denied = nullptr;
  Counter* skipped_no_location = nullptr;
  Counter* no_record = nullptr;
};

namespace {

constexpr std::string_view kCityDefault = "/var/lib/GeoIP/GeoLite2-City.mmdb";
constexpr std::string_view kAsnDefault = "/var/lib/GeoIP/GeoLite2-ASN.mmdb";

std::string_view trim(std::string_view s) {
  const char* kBlank = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(kBlank);
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(kBlank) - b + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string settingOr(const std::map<std::string, std::string>& settings, const std::string& key,
                      std::string_view fallback) {
  auto it = settings.find(key);
  if (it == settings.end() || it->second.empty()) {
    return std::string(fallback);
  }
  return it->second;
}

bool hasSetting(const std::map<std::string, std::string>& settings, const std::string& key) {
  auto it = settings.find(key);
  return it != settings.end() && !it->second.empty();
}

// The original's boolean spellings, as env_config reads MMGEOIP_ENABLE.
bool truthy(std::string_view value) {
  const std::string v = lower(trim(value));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

// NMD_PLUGINS names exinfo: the operator asked for it, so a missing database is an error.
bool listedInPlugins(std::string_view plugins) {
  while (!plugins.empty()) {
    const size_t comma = plugins.find(',');
    if (trim(plugins.substr(0, comma)) == "exinfo") {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    plugins.remove_prefix(comma + 1);
  }
  return false;
}

std::string deviceKey(const TaFlowEntry& e) {
  return e.has_hw_addr ? e.hw_addr.toString() : e.device.toString();
}

std::string flowIdText(uint64_t hi, uint64_t lo) {
  return fmt::format("{:016x}{:016x}", hi, lo);
}

}  // namespace

bool parseDeviceList(std::string_view text, std::unordered_set<std::string>& out,
                     std::string& error) {
  std::vector<std::string> bad;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    if (!item.empty()) {
      MacAddr mac;
      IpAddr ip;
      if (parseMacAddr(item, mac)) {
        out.insert(mac.toString());
      } else if (IpAddr::parse(item, ip)) {
        out.insert(ip.toString());
      } else {
        bad.push_back(fmt::format("'{}'", item));
      }
    }
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  if (!bad.empty()) {
    error = fmt::format("{} {} neither a MAC (aa:bb:cc:dd:ee:ff) nor an IP address",
                        fmt::join(bad, ", "), bad.size() == 1 ? "is" : "are");
    return false;
  }
  return true;
}

size_t ExinfoPlugin::IpHash::operator()(const IpAddr& ip) const {
  // FNV-1a over family and bytes: addresses are not attacker-chosen keys of a shared table.
  uint64_t h = 1469598103934665603ull ^ ip.family;
  for (uint8_t b : ip.bytes) {
    h = (h ^ b) * 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

size_t ExinfoPlugin::FlowHash::operator()(const FlowId& f) const {
  return static_cast<size_t>(f.hi ^ (f.lo * 0x9E3779B97F4A7C15ull));
}

ExinfoPlugin::ExinfoPlugin() = default;
ExinfoPlugin::~ExinfoPlugin() = default;

bool ExinfoPlugin::init(const PluginContext& context, std::string& error) {
  const auto& settings = context.settings;
  std::vector<std::string> errors;
  deployment_ = context.deployment;
  databases_.reset();
  lru_.clear();
  cache_.clear();
  hits_.clear();
  allow_.clear();
  deny_.clear();

  const bool explicit_enable = truthy(settingOr(settings, "MMGEOIP_ENABLE", "")) ||
                               listedInPlugins(settingOr(settings, "NMD_PLUGINS", ""));

  GeoIpPaths paths;
  paths.city = settingOr(settings, "MMGEOIP_CITY_DB", kCityDefault);
  paths.asn = settingOr(settings, "MMGEOIP_ASN_DB", kAsnDefault);
  // The default ASN path is a suggestion; an ASN path the operator set must be readable.
  if (!hasSetting(settings, "MMGEOIP_ASN_DB") && ::access(paths.asn.c_str(), R_OK) != 0) {
    paths.asn.clear();
  }

  if (hasSetting(settings, "MMGEOIP_ID") || hasSetting(settings, "MMGEOIP_KEY")) {
    spdlog::warn(
        "exinfo: MMGEOIP_ID/MMGEOIP_KEY (MaxMind's paid web service) are not used; GeoIP "
        "lookups read the local databases MMGEOIP_CITY_DB={} MMGEOIP_ASN_DB={}",
        paths.city, paths.asn.empty() ? "(none)" : paths.asn);
  }

  for (auto [key, set] : {std::pair{"EXINFO_ALLOW", &allow_}, std::pair{"EXINFO_DENY", &deny_}}) {
    std::string list_error;
    if (!parseDeviceList(settingOr(settings, key, ""), *set, list_error)) {
      errors.push_back(fmt::format("{}: {}", key, list_error));
    }
  }

  std::string open_error;
  std::unique_ptr<GeoIpDatabases> db = GeoIpDatabases::open(paths, context.metrics, open_error);
  if (!db) {
    if (!explicit_enable && ::access(paths.city.c_str(), F_OK) != 0) {
      // Part of the default set only: no database means no GeoIP, not a daemon that won't start.
      spdlog::warn(
          "exinfo: inactive: no City database at MMGEOIP_CITY_DB={} (enable it explicitly with "
          "NMD_PLUGINS=ouimap,exinfo once the database is installed)",
          paths.city);
      if (errors.empty()) {
        return true;
      }
    } else {
      // Name the setting(s) to fix; open() says which file failed.
      const bool city = open_error.find("GeoIP City database") != std::string::npos;
      const bool asn = open_error.find("GeoIP ASN database") != std::string::npos;
      const char* setting = city && asn ? "MMGEOIP_CITY_DB/MMGEOIP_ASN_DB"
                            : asn       ? "MMGEOIP_ASN_DB"
                                        : "MMGEOIP_CITY_DB";
      errors.push_back(fmt::format("{}: {}", setting, open_error));
    }
  }

  if (!errors.empty()) {
    error = fmt::format("{}", fmt::join(errors, "; "));
    return false;
  }
  databases_ = std::move(db);

  MetricsRegistry& m = context.metrics;
  counters_ = std::make_unique<Counters>();
  constexpr std::string_view kCache = "netmicroscope_exinfo_cache_total";
  constexpr std::string_view kCacheHelp = "Address locations asked of exinfo's cache, by result";
  counters_->cache_hit = &m.counter(kCache, kCacheHelp, {{"result", "hit"}});
  counters_->cache_miss = &m.counter(kCache, kCacheHelp, {{"result", "miss"}});
  counters_->points =
      &m.counter("netmicroscope_exinfo_points_total", "geometric points exinfo added to records");
  constexpr std::string_view kSkipped = "netmicroscope_exinfo_skipped_total";
  constexpr std::string_view kSkippedHelp = "Flow entries exinfo did not turn into points, by why";
  counters_->skipped_not_public = &m.counter(kSkipped, kSkippedHelp, {{"reason", "not_public"}});
  counters_->skipped_denied = &m.counter(kSkipped, kSkippedHelp, {{"reason", "device_list"}});
  counters_->skipped_no_location = &m.counter(kSkipped, kSkippedHelp, {{"reason", "no_location"}});
  counters_->no_record = &m.counter("netmicroscope_exinfo_summaries_without_record_total",
                                    "Summaries exinfo got without their TA record");

  const GeoIpDatabaseInfo& city = databases_->cityInfo();
  const std::optional<GeoIpDatabaseInfo> asn = databases_->asnInfo();
  spdlog::info("exinfo: City {} ({}, built {}); ASN {}; allow {} / deny {} devices", city.path,
               city.database_type, city.build_epoch, asn ? asn->path : std::string("none"),
               allow_.size(), deny_.size());
  return true;
}

bool ExinfoPlugin::deviceWanted(const std::string& key) const {
  if (deny_.contains(key)) {
    return false;
  }
  return allow_.empty() || allow_.contains(key);
}

const std::optional<ExinfoPlugin::Location>& ExinfoPlugin::locate(const IpAddr& ip) {
  if (auto it = cache_.find(ip); it != cache_.end()) {
    counters_->cache_hit->add();
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  counters_->cache_miss->add();
  std::optional<Location> location;
  if (std::optional<GeoInfo> geo = databases_->lookup(ip); geo && geo->hasLocation()) {
    location = Location{formatCoordinate(*geo->latitude), formatCoordinate(*geo->longitude),
                        std::move(geo->country_iso)};
    if (location->lat.empty() || location->lng.empty()) {
      location.reset();  // NaN or infinite coordinates
    }
  }
  if (cache_.size() >= kMaxCachedAddresses) {
    cache_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(ip, std::move(location));
  cache_.emplace(ip, lru_.begin());
  return lru_.front().second;
}

void ExinfoPlugin::process(RecordSummary& summary) {
  if (!databases_) {
    return;  // inactive (no database in the default set), or init() failed
  }
  if (summary.record == nullptr) {
    counters_->no_record->add();
    return;
  }
  // Display names plugins gave (ouimap runs first): key -> name, for this summary only.
  std::unordered_map<std::string_view, std::string_view> names;
  for (const DeviceApplicationSample& s : summary.samples) {
    if (!s.device_name.empty()) {
      names.emplace(s.device, s.device_name);
    }
  }
  const int64_t ts_ns = summary.ts_end * kNanosPerSecond;
  for (const TaFlowEntry& e : summary.record->data) {
    if (!isPublic(e.sip)) {
      counters_->skipped_not_public->add();
      continue;
    }
    // The key text costs an allocation: built only when a list needs it or a point is made.
    std::string key;
    if (!allow_.empty() || !deny_.empty()) {
      key = deviceKey(e);
      if (!deviceWanted(key)) {
        counters_->skipped_denied->add();
        continue;
      }
    }
    if (hits_.size() >= kMaxTrackedFlows) {
      hits_.clear();
    }
    const uint64_t hits = ++hits_[FlowId{e.flow_hi, e.flow_lo}];
    const std::optional<Location>& location = locate(e.sip);
    if (!location) {
      counters_->skipped_no_location->add();
      continue;
    }
    if (key.empty()) {
      key = deviceKey(e);
    }
    auto name = names.find(key);
    ExtraPoint p;
    p.measurement = std::string(kGeometricMeasurement);
    p.tags = {{"deployment", summary.deployment.empty() ? deployment_ : summary.deployment},
              {"lat", location->lat},
              {"lng", location->lng},
              {"country", location->country},
              {"connid", flowIdText(e.flow_hi, e.flow_lo)},
              {"device", name != names.end() ? std::string(name->second) : key},
              {"hits", std::to_string(hits)}};
    p.fields = {{"metric", 1.0}};
    p.ts_ns = ts_ns;
    summary.extra_points.push_back(std::move(p));
    counters_->points->add();
  }
}

std::unique_ptr<Plugin> makeExinfoPlugin() {
  return std::make_unique<ExinfoPlugin>();
}

}  // namespace nm
