// `netmicroscope lookup MAC|IP`: what the plugins know — vendor and device name for a MAC;
// address scope, reverse DNS, GeoIP and ASN for an IP — for auditing names and locations on
// dashboards.

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/net_types.h"
#include "core/text.h"
#include "daemon/env_config.h"
#include "plugins/exinfo/address_scope.h"
#include "plugins/exinfo/exinfo_plugin.h"
#include "plugins/exinfo/geoip.h"
#include "plugins/exinfo/rdns_resolver.h"
#include "plugins/ouimap/ouimap_plugin.h"
#include "sinks/sqlite/store_reader.h"

namespace nm::cli {
namespace {

struct LookupOptions {
  std::string what;
  std::string env_file;
  std::string db;  // the store; empty: NMD_SQLITE_PATH's when that file exists
  bool json = false;
  bool rdns = true;
};

// The PTR answer for `ip` from EXINFO_RDNS_SERVERS (else the system's resolvers), as exinfo
// would get it; text for people and a JSON value.
struct HostLookup {
  std::string text;
  nlohmann::ordered_json json;
};

// exinfo's saved answer for `ip` in the store, as the daemon would use it after a restart.
std::optional<HostLookup> savedHost(const IpAddr& ip, const std::string& db) {
  std::string error;
  auto reader = StoreReader::open(db, error);
  std::optional<std::string> value;
  if (reader) {
    value = reader->value("plugin.exinfo", savedHostKey(ip), error);
  }
  if (!error.empty()) {
    return HostLookup{fmt::format("(store {}: {})", db, error), {{"error", error}}};
  }
  int64_t expires = 0;
  std::string name;
  if (!value || !decodeSavedHost(*value, expires, name)) {
    return std::nullopt;
  }
  const std::string until = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::time_t{expires}));
  nlohmann::ordered_json j = {{"name", name}, {"expires", expires}};
  return HostLookup{
      fmt::format("{} (saved by exinfo, valid until {})", name.empty() ? "(no name)" : name, until),
      std::move(j)};
}

HostLookup lookupHost(const IpAddr& ip, const ConfigResult& cr) {
  RdnsOptions options;
  if (auto it = cr.settings.find("EXINFO_RDNS_SERVERS"); it != cr.settings.end()) {
    options.servers = it->second;
  }
  std::string error;
  const std::optional<RdnsAnswer> a = RdnsResolver::resolveNow(ip, options, error);
  if (!a) {
    return {fmt::format("(not asked: {})", error), {{"status", "error"}, {"error", error}}};
  }
  switch (a->status) {
    case RdnsStatus::kName:
      return {fmt::format("{} (TTL {} s)", a->name, a->ttl_s),
              {{"status", "name"}, {"name", a->name}, {"ttl_s", a->ttl_s}}};
    case RdnsStatus::kNoName:
      return {fmt::format("(no name; TTL {} s)", a->ttl_s),
              {{"status", "no_name"}, {"ttl_s", a->ttl_s}}};
    case RdnsStatus::kFailed:
      break;
  }
  return {fmt::format("(failed: {})", a->error), {{"status", "failed"}, {"error", a->error}}};
}

int lookupMac(const MacAddr& mac, const ConfigResult& cr, const LookupOptions& o) {
  MetricsRegistry metrics;
  OuimapPlugin ouimap;
  std::string error;
  if (!ouimap.init(PluginContext{cr.settings, metrics, nullptr, cr.config.deployment}, error)) {
    spdlog::error("ouimap: {}", error);
    return 1;
  }
  const MacInfo info = ouimap.describe(mac);
  if (o.json) {
    const nlohmann::ordered_json j = {{"mac", mac.toString()},
                                      {"vendor", info.vendor},
                                      {"registry", info.registry},
                                      {"prefix", info.prefix},
                                      {"locally_administered", info.locally_administered},
                                      {"multicast", info.multicast},
                                      {"device_name", info.device_name}};
    fmt::print("{}\n", j.dump());
    return 0;
  }
  fmt::print("mac          {}\n", mac.toString());
  fmt::print("vendor       {}\n", info.vendor.empty() ? "(none)" : info.vendor);
  fmt::print("registry     {}{}\n", info.registry, info.prefix.empty() ? "" : " " + info.prefix);
  std::string flags;
  flags += info.locally_administered ? "locally-administered " : "";
  flags += info.multicast ? "multicast " : "";
  fmt::print("flags        {}\n", flags.empty() ? "(none)" : flags.substr(0, flags.size() - 1));
  fmt::print("device name  {}\n", info.device_name.empty() ? "(not a device)" : info.device_name);
  return 0;
}

int lookupIp(const IpAddr& ip, const ConfigResult& cr, const LookupOptions& o) {
  const AddressScope scope = classify(ip);
  std::optional<GeoInfo> geo;
  std::string geo_note;
  MetricsRegistry metrics;
  if (scope != AddressScope::kPublic) {
    geo_note = "not looked up: not a public address";
  } else if (cr.config.geoip.city_db.empty() ||
             ::access(cr.config.geoip.city_db.c_str(), R_OK) != 0) {
    geo_note = fmt::format("no database ({}): set MMGEOIP_CITY_DB (and MMGEOIP_ASN_DB)",
                           cr.config.geoip.city_db.empty() ? "none" : cr.config.geoip.city_db);
  } else {
    std::string error;
    // The ASN database is optional: used when present.
    const std::string asn =
        ::access(cr.config.geoip.asn_db.c_str(), R_OK) == 0 ? cr.config.geoip.asn_db : "";
    auto dbs = GeoIpDatabases::open({cr.config.geoip.city_db, asn}, metrics, error);
    if (!dbs) {
      spdlog::error("{}", error);
      return 1;
    }
    geo = dbs->lookup(ip);
    if (!geo) {
      geo_note = "not in the database";
    }
  }
  std::optional<HostLookup> host;
  std::optional<HostLookup> saved;
  if (!o.db.empty()) {
    saved = savedHost(ip, o.db);
  }
  // The plugin's own reading of EXINFO_RDNS (exinfo_plugin.cc), so lookup asks when it would.
  const std::optional<bool> rdns_on =
      parseBoolWord(trimBlank(settingOr(cr.settings, "EXINFO_RDNS", "on")));
  const bool rdns_off = rdns_on.has_value() && !*rdns_on;
  if (o.rdns && !rdns_off) {
    host = lookupHost(ip, cr);
  }
  if (o.json) {
    nlohmann::ordered_json j = {{"ip", ip.toString()}, {"scope", addressScopeName(scope)}};
    if (host) {
      j["rdns"] = host->json;
    }
    if (saved) {
      j["rdns_saved"] = saved->json;
    }
    if (geo) {
      j["city"] = geo->city;
      j["region"] = geo->region;
      j["country"] = geo->country_iso;
      j["country_name"] = geo->country_name;
      j["continent"] = geo->continent_code;
      j["latitude"] = geo->latitude ? nlohmann::json(*geo->latitude) : nlohmann::json();
      j["longitude"] = geo->longitude ? nlohmann::json(*geo->longitude) : nlohmann::json();
      j["asn"] = geo->asn ? nlohmann::json(*geo->asn) : nlohmann::json();
      j["as_org"] = geo->as_org;
    } else {
      j["geoip"] = geo_note;
    }
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  }
  fmt::print("ip           {}\n", ip.toString());
  fmt::print("scope        {}\n", addressScopeName(scope));
  if (host) {
    fmt::print("rdns         {}\n", host->text);
  }
  if (saved) {
    fmt::print("rdns saved   {}\n", saved->text);
  }
  if (!geo) {
    fmt::print("geoip        {}\n", geo_note);
    return 0;
  }
  fmt::print("location     {}, {}, {} ({}), {}\n", geo->city, geo->region, geo->country_name,
             geo->country_iso, geo->continent_code);
  if (geo->latitude && geo->longitude) {
    fmt::print("coordinates  {}, {}\n", formatCoordinate(*geo->latitude),
               formatCoordinate(*geo->longitude));
  }
  if (geo->asn) {
    fmt::print("asn          AS{} {}\n", *geo->asn, geo->as_org);
  }
  return 0;
}

int runLookup(const LookupOptions& o) {
  const ConfigResult cr = loadDaemonConfig(o.env_file, processEnvironment());
  if (!cr.errors.empty()) {
    std::fprintf(stderr, "%s", formatConfigErrors(cr.errors).c_str());
    return 2;
  }
  MacAddr mac;
  if (parseMacAddr(o.what, mac)) {
    return lookupMac(mac, cr, o);
  }
  IpAddr ip;
  if (IpAddr::parse(o.what, ip)) {
    LookupOptions with_store = o;
    const std::string& path = cr.config.daemon.sqlite_path;
    if (with_store.db.empty() && !path.empty() && ::access(path.c_str(), R_OK) == 0) {
      with_store.db = path;
    }
    return lookupIp(ip, cr, with_store);
  }
  spdlog::error("{}: neither a MAC address (aa:bb:cc:dd:ee:ff) nor an IP address", o.what);
  return 2;
}

}  // namespace

Runner addLookupCommand(CLI::App& app) {
  auto opts = std::make_shared<LookupOptions>();
  CLI::App* cmd = app.add_subcommand("lookup",
                                     "What the plugins know about a MAC (vendor, device name) or "
                                     "an IP (scope, reverse DNS, GeoIP, ASN)");
  cmd->add_option("address", opts->what, "MAC or IP address")->required();
  cmd->add_option("--env", opts->env_file, "The .env file (OUIMAP_*, MMGEOIP_* settings)");
  cmd->add_flag("--json", opts->json, "One JSON object");
  cmd->add_option("--db", opts->db,
                  "The SQLite store whose saved reverse DNS answers to show (default: "
                  "NMD_SQLITE_PATH's, when it exists)");
  cmd->add_flag("!--no-rdns", opts->rdns,
                "Do not ask DNS for the IP's name (asked of EXINFO_RDNS_SERVERS, else the "
                "system's resolvers, unless EXINFO_RDNS=off)");
  return [opts] { return runLookup(*opts); };
}

}  // namespace nm::cli
