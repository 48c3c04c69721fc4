#pragma once
// Local GeoIP/ASN lookups for the exinfo plugin, in MaxMind DB (.mmdb) files read with
// libmaxminddb: a City database (GeoLite2-City or DB-IP City Lite layout) and, optionally, an ASN
// database (GeoLite2-ASN layout). Names are the English ("en") ones.
//
// Ownership and threads: GeoIpDatabases owns both memory-mapped files for its lifetime. lookup()
// is const and may run concurrently from any number of threads (libmaxminddb reads an opened
// database without shared mutable state); open() and destruction must not race with lookups.
// Errors on the lookup path are not exceptions: they yield std::nullopt or a partial GeoInfo and
// are counted by kind in netmicroscope_exinfo_geoip_errors_total.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/metrics.h"
#include "core/net_types.h"

namespace nm {

// What the databases know about one address. Empty strings / nullopt mean "not in the record".
struct GeoInfo {
  // From the City database.
  std::string city;            // city.names.en
  std::string region;          // subdivisions[0].names.en (most general subdivision)
  std::string country_iso;     // country.iso_code, else registered_country.iso_code
  std::string country_name;    // the same country's names.en
  std::string continent_code;  // continent.code ("EU")
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::optional<uint16_t> accuracy_radius_km;  // location.accuracy_radius
  // From the ASN database.
  std::optional<uint32_t> asn;  // autonomous_system_number
  std::string as_org;           // autonomous_system_organization

  bool hasLocation() const { return latitude.has_value() && longitude.has_value(); }
};

struct GeoIpPaths {
  std::string city;  // required
  std::string asn;   // optional: empty = no ASN database
};

// A database's metadata, for the start-up log.
struct GeoIpDatabaseInfo {
  std::string path;
  std::string database_type;  // "GeoLite2-City", "DBIP-City-Lite", ...
  uint64_t build_epoch = 0;   // seconds since the Unix epoch
  uint16_t ip_version = 0;    // 4 or 6
};

class GeoIpDatabases {
 public:
  // Opens the databases (MMDB_MODE_MMAP). On failure returns null and sets `error` to one message
  // per failed file, each naming its path and libmaxminddb's reason (MMDB_strerror; errno text
  // for I/O errors); both files are checked so a start-up reports every problem at once. A City
  // slot holding an ASN database, or the reverse, is rejected (swapped settings). Counters are
  // registered in `metrics`, which must outlive the returned object.
  static std::unique_ptr<GeoIpDatabases> open(const GeoIpPaths& paths, MetricsRegistry& metrics,
                                              std::string& error);

  ~GeoIpDatabases();
  GeoIpDatabases(const GeoIpDatabases&) = delete;
  GeoIpDatabases& operator=(const GeoIpDatabases&) = delete;

  // Everything known about `ip`, or nullopt when no database has a record for it (or the address
  // cannot be looked up: unset family, IPv6 in an IPv4-only database). IPv4-mapped IPv6
  // addresses are looked up as IPv4. Thread-safe; no allocation beyond the returned strings.
  std::optional<GeoInfo> lookup(const IpAddr& ip) const;

  const GeoIpDatabaseInfo& cityInfo() const;
  // nullopt when no ASN database was configured.
  std::optional<GeoIpDatabaseInfo> asnInfo() const;

 private:
  struct Impl;
  explicit GeoIpDatabases(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A coordinate as tag text with a fixed 4 decimals (~11 m), so equal positions give equal tags:
// 51.5142 -> "51.5142", -0.0931 -> "-0.0931", -0.00001 -> "0.0000" (no negative zero). Empty
// for NaN or infinity.
std::string formatCoordinate(double degrees);

}  // namespace nm
