#pragma once
// ServiceMap: the user-editable table that says which host names, addresses and nDPI
// application names belong to which service ("Netflix", "Zoom", ...). It is read once at
// startup from TOML (format: docs/configuration.md; shipped copy: config/services.toml) and is
// immutable afterwards.
//
// Threads: parse() and load() build a new map; every const member may then be called from any
// number of threads at once without locking.
// Lookups never allocate and never throw; they are meant for the packet path (one call per new
// flow and per DNS answer).

#include <absl/container/flat_hash_map.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/net_types.h"

namespace nm {

// The service kinds a [[service]] may declare in `type`; anything else is a config error.
// Their meaning is documented in docs/configuration.md.
inline constexpr std::string_view kServiceTypes[] = {
    "video",   "audio", "voip",         "gaming",   "social",  "messaging", "email",
    "storage", "cloud", "cdn",          "web",      "iot",     "shopping",  "software",
    "remote",  "vpn",   "productivity", "security", "network", "navigation"};

bool isServiceType(std::string_view type);

struct Service {
  std::string name;                     // e.g. "Netflix": what TA records show as Meta
  std::string type;                     // one of kServiceTypes
  std::vector<std::string> ndpi_names;  // nDPI application names meaning this service ("NetFlix")
  std::vector<std::string> domains;     // lower case, no trailing dot, as matched by matchDomain
  std::vector<IpPrefix> prefixes;       // as matched by matchAddress
};

class ServiceMap {
 public:
  // Parses TOML text. `source_name` (usually the file path) prefixes every error message.
  // On success returns true and replaces `out`. On failure returns false, leaves `out`
  // untouched and appends every problem found to `errors`, one "source:line: message" each,
  // ordered by line. Never throws.
  static bool parse(std::string_view toml_text, std::string_view source_name, ServiceMap& out,
                    std::vector<std::string>& errors);
  // Reads `path` and parses it as above; an unreadable file is one error.
  static bool load(const std::string& path, ServiceMap& out, std::vector<std::string>& errors);

  // The service owning the longest domain suffix of `host` that ends on a label boundary:
  // with "netflix.com" configured, "netflix.com" and "a.b.netflix.com" match and
  // "evilnetflix.com" does not. `host` may be in any case and may end in one dot.
  // Returns -1 when nothing matches or `host` is longer than a DNS name can be.
  int matchDomain(std::string_view host) const;
  // The service owning the longest prefix that contains `ip` (IPv4 or IPv6); -1 when none.
  int matchAddress(const IpAddr& ip) const;
  // The service an nDPI application name maps to, compared exactly as nDPI prints it
  // ("NetFlix", "Skype_TeamsCall"); -1 when none.
  int findByNdpiName(std::string_view ndpi_name) const;
  // The service with exactly this name; -1 when none.
  int findByName(std::string_view name) const;

  // Requires 0 <= id < size(). The reference lives as long as this map is not reassigned.
  const Service& service(int id) const { return services_[static_cast<size_t>(id)]; }
  size_t size() const { return services_.size(); }

 private:
  // Domains: one hash map from suffix to service; matchDomain probes the host's suffixes from
  // the longest (at most max_domain_labels_ labels) down, so the first hit is the answer.
  // Addresses: one hash map per family and prefix length in use, from the address masked to
  // that length (two big-endian 64-bit halves; IPv4 in the top 32 bits) to service, probed
  // from the longest length down.
  using AddressKey = std::pair<uint64_t, uint64_t>;
  struct PrefixLevel {
    uint8_t length = 0;
    absl::flat_hash_map<AddressKey, int> owners;
  };

  std::vector<Service> services_;
  absl::flat_hash_map<std::string, int> by_domain_;
  absl::flat_hash_map<std::string, int> by_ndpi_name_;
  absl::flat_hash_map<std::string, int> by_name_;
  size_t max_domain_labels_ = 0;
  std::vector<PrefixLevel> v4_levels_;  // longest length first
  std::vector<PrefixLevel> v6_levels_;  // longest length first

  // Fills the lookup tables from services_, which parse() has already validated.
  void buildIndex();
};

}  // namespace nm
