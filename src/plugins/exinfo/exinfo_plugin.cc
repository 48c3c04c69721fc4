#include "plugins/exinfo/exinfo_plugin.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <type_traits>
#include <vector>

#include "core/text.h"
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
  Counter* rdns_sent = nullptr;
  Counter* rdns_refused = nullptr;
  Counter* state_errors = nullptr;
};

namespace {

constexpr std::string_view kCityDefault = "/var/lib/GeoIP/GeoLite2-City.mmdb";
constexpr std::string_view kAsnDefault = "/var/lib/GeoIP/GeoLite2-ASN.mmdb";
constexpr std::string_view kRdnsPrefix = "rdns/";
constexpr std::string_view kHitsKey = "hits";
// Saved PTR answers expired longer ago than this are deleted at start (the state stays small).
constexpr int64_t kForgetHostsAfterSeconds = 7 * 86'400;

int64_t wallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename T>
bool parseNumber(std::string_view text, T& out, int base = 10) {
  const char* end = text.data() + text.size();
  std::from_chars_result r;
  if constexpr (std::is_floating_point_v<T>) {
    r = std::from_chars(text.data(), end, out);
  } else {
    r = std::from_chars(text.data(), end, out, base);
  }
  return r.ec == std::errc() && r.ptr == end && !text.empty();
}

// A saved PTR answer: "<expires, epoch s> <name>"; an empty name is a negative answer.
std::string encodeHost(int64_t expires, std::string_view name) {
  return fmt::format("{} {}", expires, name);
}

bool hasSetting(const std::map<std::string, std::string>& settings, const std::string& key) {
  auto it = settings.find(key);
  return it != settings.end() && !it->second.empty();
}

// NMD_PLUGINS names exinfo: the operator asked for it, so a missing database is an error.
bool listedInPlugins(std::string_view plugins) {
  while (!plugins.empty()) {
    const size_t comma = plugins.find(',');
    if (trimBlank(plugins.substr(0, comma)) == "exinfo") {
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

std::string savedHostKey(const IpAddr& ip) {
  return fmt::format("{}{}", kRdnsPrefix, ip.toString());
}

bool decodeSavedHost(std::string_view value, int64_t& expires, std::string& name) {
  const size_t space = value.find(' ');
  if (space == std::string_view::npos || !parseNumber(value.substr(0, space), expires)) {
    return false;
  }
  name = std::string(value.substr(space + 1));
  return true;
}

bool parseDeviceList(std::string_view text, std::unordered_set<std::string>& out,
                     std::string& error) {
  std::vector<std::string> bad;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = trimBlank(text.substr(0, comma));
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

ExinfoPlugin::ExinfoPlugin() : ExinfoPlugin(wallSeconds) {}
ExinfoPlugin::ExinfoPlugin(Clock clock) : clock_(std::move(clock)) {}
ExinfoPlugin::~ExinfoPlugin() = default;

bool ExinfoPlugin::startResolver(const PluginContext& context, std::vector<std::string>& errors) {
  const auto& settings = context.settings;
  const std::string enabled(trimBlank(settingOr(settings, "EXINFO_RDNS", "on")));
  const std::optional<bool> on = parseBoolWord(enabled);
  if (!on) {
    errors.push_back(fmt::format("EXINFO_RDNS: '{}' is neither on nor off", asciiLower(enabled)));
    return false;
  }
  if (!*on) {
    return true;
  }
  RdnsOptions options;
  options.servers = std::string(trimBlank(settingOr(settings, "EXINFO_RDNS_SERVERS", "")));
  const std::string qps = std::string(trimBlank(settingOr(settings, "EXINFO_RDNS_QPS", "20")));
  double value = 0;
  if (!parseNumber(qps, value) || !(value > 0) || value > 100'000) {
    errors.push_back(fmt::format("EXINFO_RDNS_QPS: '{}' is not a rate in (0, 100000]", qps));
    return false;
  }
  options.queries_per_second = value;
  std::string error;
  resolver_ = RdnsResolver::start(options, context.metrics, error);
  if (!resolver_) {
    errors.push_back(fmt::format("EXINFO_RDNS_SERVERS: {}", error));
    return false;
  }
  spdlog::info("exinfo: reverse DNS via {} at most {} queries/s",
               options.servers.empty() ? std::string("the system's resolvers") : options.servers,
               options.queries_per_second);
  return true;
}

bool ExinfoPlugin::init(const PluginContext& context, std::string& error) {
  const auto& settings = context.settings;
  std::vector<std::string> errors;
  deployment_ = context.deployment;
  databases_.reset();
  lru_.clear();
  cache_.clear();
  hits_.clear();
  newest_ts_ = 0;
  allow_.clear();
  deny_.clear();
  resolver_.reset();
  state_ = context.state;

  // MMGEOIP_ENABLE in the original's boolean spellings, as env_config reads it.
  const bool explicit_enable =
      parseBoolWord(trimBlank(settingOr(settings, "MMGEOIP_ENABLE", ""))).value_or(false) ||
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
  if (!startResolver(context, errors)) {
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
  constexpr std::string_view kRdns = "netmicroscope_exinfo_rdns_requests_total";
  constexpr std::string_view kRdnsHelp = "PTR lookups exinfo asked for, by whether queued";
  counters_->rdns_sent = &m.counter(kRdns, kRdnsHelp, {{"result", "queued"}});
  counters_->rdns_refused = &m.counter(kRdns, kRdnsHelp, {{"result", "queue_full"}});
  counters_->state_errors = &m.counter("netmicroscope_exinfo_state_errors_total",
                                       "Saved exinfo state entries unreadable or not written");
  loadState();

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

ExinfoPlugin::Endpoint& ExinfoPlugin::endpoint(const IpAddr& ip) {
  if (auto it = cache_.find(ip); it != cache_.end()) {
    counters_->cache_hit->add();
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  counters_->cache_miss->add();
  Endpoint ep;
  if (std::optional<GeoInfo> geo = databases_->lookup(ip)) {
    if (geo->hasLocation()) {
      ep.location = Location{formatCoordinate(*geo->latitude), formatCoordinate(*geo->longitude),
                             std::move(geo->country_iso)};
      if (ep.location->lat.empty() || ep.location->lng.empty()) {
        ep.location.reset();  // NaN or infinite coordinates
      }
    }
    ep.asn = geo->asn;
    ep.as_org = std::move(geo->as_org);
  }
  if (cache_.size() >= kMaxCachedAddresses) {
    cache_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(ip, std::move(ep));
  cache_.emplace(ip, lru_.begin());
  return lru_.front().second;
}

void ExinfoPlugin::wantHost(const IpAddr& ip, Endpoint& e, int64_t now) {
  if (!resolver_ || e.host_state == HostState::kPending ||
      (e.host_state == HostState::kKnown && e.host_expires > now)) {
    return;
  }
  if (resolver_->request(ip)) {
    e.host_state = HostState::kPending;
    counters_->rdns_sent->add();
  } else {
    counters_->rdns_refused->add();  // asked again when the address next appears
  }
}

void ExinfoPlugin::applyAnswers() {
  if (!resolver_) {
    return;
  }
  answers_.clear();
  resolver_->drain(answers_);
  if (answers_.empty()) {
    return;
  }
  const int64_t now = clock_();
  for (RdnsAnswer& a : answers_) {
    const int64_t expires = now + a.ttl_s;
    auto it = cache_.find(a.ip);
    Endpoint* e = it != cache_.end() ? &it->second->second : nullptr;
    if (e != nullptr) {
      e->host_state = HostState::kKnown;
      e->host_expires = expires;
    }
    if (a.status == RdnsStatus::kFailed) {
      continue;  // keeps the name it had (stale beats none); asked again after ttl_s
    }
    if (a.status == RdnsStatus::kNoName) {
      a.name.clear();
    }
    if (e != nullptr) {
      e->host = a.name;
    }
    if (state_ != nullptr && !state_->put(savedHostKey(a.ip), encodeHost(expires, a.name))) {
      counters_->state_errors->add();
    }
  }
}

void ExinfoPlugin::loadState() {
  if (state_ == nullptr) {
    return;
  }
  const int64_t now = clock_();
  std::vector<std::string> forget;
  size_t hosts = 0;
  state_->scan(kRdnsPrefix, [&](std::string_view key, std::string_view value) {
    IpAddr ip;
    int64_t expires = 0;
    std::string name;
    if (!IpAddr::parse(key.substr(kRdnsPrefix.size()), ip) ||
        !decodeSavedHost(value, expires, name)) {
      counters_->state_errors->add();
      forget.emplace_back(key);
      return true;
    }
    if (expires < now - kForgetHostsAfterSeconds) {
      forget.emplace_back(key);
      return true;
    }
    if (cache_.size() >= kMaxCachedAddresses) {
      return false;
    }
    Endpoint& e = endpoint(ip);
    e.host = std::move(name);
    e.host_expires = expires;  // an expired one is served until its refresh arrives
    e.host_state = HostState::kKnown;
    ++hosts;
    return true;
  });
  for (const std::string& key : forget) {
    state_->erase(key);
  }
  // "<hi hex> <lo hex> <hits> <last ts>" per line.
  size_t flows = 0;
  if (std::optional<std::string> saved = state_->get(kHitsKey)) {
    std::string_view text = *saved;
    while (!text.empty()) {
      const size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      std::string_view parts[4];
      size_t n = 0;
      for (; n < 4 && !line.empty(); ++n) {
        const size_t sp = line.find(' ');
        parts[n] = line.substr(0, sp);
        line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
      }
      FlowId id;
      FlowHits h;
      if (n != 4 || !line.empty() || !parseNumber(parts[0], id.hi, 16) ||
          !parseNumber(parts[1], id.lo, 16) || !parseNumber(parts[2], h.hits) ||
          !parseNumber(parts[3], h.last_ts)) {
        counters_->state_errors->add();
        continue;
      }
      newest_ts_ = std::max(newest_ts_, h.last_ts);
      hits_[id] = h;
      ++flows;
    }
  }
  if (hosts + flows + forget.size() > 0) {
    spdlog::info(
        "exinfo: restored {} reverse DNS answers and {} flows' hit counters; forgot {} "
        "old answers",
        hosts, flows, forget.size());
  }
}

void ExinfoPlugin::forgetOldFlows(int64_t now_ts) {
  std::erase_if(hits_,
                [&](const auto& kv) { return kv.second.last_ts < now_ts - kHitsKeepSeconds; });
  if (hits_.size() >= kMaxTrackedFlows) {
    hits_.clear();
  }
}

void ExinfoPlugin::finish() {
  applyAnswers();  // what already arrived is saved
  resolver_.reset();
  if (state_ == nullptr || !databases_) {
    return;
  }
  std::string text;
  for (const auto& [id, h] : hits_) {
    if (h.last_ts >= newest_ts_ - kHitsKeepSeconds) {
      fmt::format_to(std::back_inserter(text), "{:x} {:x} {} {}\n", id.hi, id.lo, h.hits,
                     h.last_ts);
    }
  }
  if (!state_->put(kHitsKey, text)) {
    counters_->state_errors->add();
  }
}

void ExinfoPlugin::process(RecordSummary& summary) {
  if (!databases_) {
    return;  // inactive (no database in the default set), or init() failed
  }
  applyAnswers();  // answers that arrived since the last record join this one
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
  const int64_t now = resolver_ ? clock_() : 0;
  newest_ts_ = std::max(newest_ts_, summary.ts_end);
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
      forgetOldFlows(summary.ts_end);
    }
    FlowHits& flow = hits_[FlowId{e.flow_hi, e.flow_lo}];
    const uint64_t hits = ++flow.hits;
    flow.last_ts = summary.ts_end;
    Endpoint& remote = endpoint(e.sip);
    wantHost(e.sip, remote, now);
    const std::optional<Location>& location = remote.location;
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
    if (remote.asn) {
      p.fields.emplace_back("asn", static_cast<int64_t>(*remote.asn));
    }
    if (!remote.as_org.empty()) {
      p.fields.emplace_back("as_org", remote.as_org);
    }
    if (!remote.host.empty()) {
      p.fields.emplace_back("host", remote.host);
    }
    p.ts_ns = ts_ns;
    summary.extra_points.push_back(std::move(p));
    counters_->points->add();
  }
}

std::unique_ptr<Plugin> makeExinfoPlugin() {
  return std::make_unique<ExinfoPlugin>();
}

}  // namespace nm
