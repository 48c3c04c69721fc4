#include "plugins/exinfo/geoip.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string_view>

namespace nm {
namespace {

struct MmdbCloser {
  void operator()(MMDB_s* db) const {
    MMDB_close(db);
    delete db;
  }
};
using MmdbHandle = std::unique_ptr<MMDB_s, MmdbCloser>;

// Opens one file; on failure appends a message naming the file to `errors`.
MmdbHandle openOne(std::string_view role, const std::string& path, std::string& errors) {
  auto append = [&](const std::string& msg) {
    if (!errors.empty()) {
      errors += "; ";
    }
    errors += msg;
  };
  auto db = std::make_unique<MMDB_s>();
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, db.get());
  if (status != MMDB_SUCCESS) {
    // MMDB_open frees what it allocated on failure, so the struct is released without close;
    // it keeps errno for I/O failures, which says *why* (missing, permission) better.
    const int saved_errno = errno;
    std::string reason = MMDB_strerror(status);
    if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && saved_errno != 0) {
      reason += fmt::format(" ({})", std::strerror(saved_errno));
    }
    append(fmt::format("GeoIP {} database '{}': {}", role, path, reason));
    return nullptr;
  }
  return MmdbHandle(db.release());
}

GeoIpDatabaseInfo infoOf(const std::string& path, const MMDB_s& db) {
  GeoIpDatabaseInfo info;
  info.path = path;
  info.database_type = db.metadata.database_type != nullptr ? db.metadata.database_type : "";
  info.build_epoch = db.metadata.build_epoch;
  info.ip_version = db.metadata.ip_version;
  return info;
}

bool isAsnType(std::string_view type) {
  return type.find("ASN") != std::string_view::npos;
}

struct Counters {
  Counter& found;
  Counter& not_found;
  Counter& unset_address;
  Counter& ipv6_in_ipv4_db;
  Counter& lookup_failed;
  Counter& bad_field;

  explicit Counters(MetricsRegistry& m)
      : found(lookups(m, "found")),
        not_found(lookups(m, "not_found")),
        unset_address(errors(m, "unset_address")),
        ipv6_in_ipv4_db(errors(m, "ipv6_in_ipv4_database")),
        lookup_failed(errors(m, "lookup_failed")),
        bad_field(errors(m, "bad_field")) {}

  static Counter& lookups(MetricsRegistry& m, const char* result) {
    return m.counter("netmicroscope_exinfo_geoip_lookups_total",
                     "GeoIP lookups by outcome (a record in the City or ASN database, or none)",
                     {{"result", result}});
  }
  static Counter& errors(MetricsRegistry& m, const char* kind) {
    return m.counter("netmicroscope_exinfo_geoip_errors_total",
                     "GeoIP lookups or record fields that could not be read, by kind",
                     {{"kind", kind}});
  }
};

// Reads one record of an opened database. A field that is absent is not an error; one with an
// unexpected type or an unreadable path is counted and treated as absent.
class RecordReader {
 public:
  RecordReader(MMDB_entry_s entry, Counter& bad_field) : entry_(entry), bad_field_(bad_field) {}

  template <size_t N>
  std::string string(const std::array<const char*, N>& path) {
    MMDB_entry_data_s data;
    if (!get(path, data)) {
      return {};
    }
    if (data.type != MMDB_DATA_TYPE_UTF8_STRING) {
      bad_field_.add();
      return {};
    }
    return std::string(data.utf8_string, data.data_size);
  }

  template <size_t N>
  std::optional<double> number(const std::array<const char*, N>& path) {
    MMDB_entry_data_s data;
    if (!get(path, data)) {
      return std::nullopt;
    }
    if (data.type == MMDB_DATA_TYPE_DOUBLE) {
      return data.double_value;
    }
    if (data.type == MMDB_DATA_TYPE_FLOAT) {
      return static_cast<double>(data.float_value);
    }
    bad_field_.add();
    return std::nullopt;
  }

  // Elements in the array at `path`; nullopt when absent or not an array.
  template <size_t N>
  std::optional<uint32_t> arraySize(const std::array<const char*, N>& path) {
    MMDB_entry_data_s data;
    if (!get(path, data)) {
      return std::nullopt;
    }
    if (data.type != MMDB_DATA_TYPE_ARRAY) {
      bad_field_.add();
      return std::nullopt;
    }
    return data.data_size;
  }

  template <size_t N>
  std::optional<uint64_t> unsignedInt(const std::array<const char*, N>& path, uint64_t max) {
    MMDB_entry_data_s data;
    if (!get(path, data)) {
      return std::nullopt;
    }
    uint64_t v = 0;
    switch (data.type) {
      case MMDB_DATA_TYPE_UINT16:
        v = data.uint16;
        break;
      case MMDB_DATA_TYPE_UINT32:
        v = data.uint32;
        break;
      case MMDB_DATA_TYPE_UINT64:
        v = data.uint64;
        break;
      default:
        bad_field_.add();
        return std::nullopt;
    }
    if (v > max) {
      bad_field_.add();
      return std::nullopt;
    }
    return v;
  }

 private:
  // `path` must end with nullptr (MMDB_aget_value's terminator).
  template <size_t N>
  bool get(const std::array<const char*, N>& path, MMDB_entry_data_s& data) {
    static_assert(N >= 2);
    const int status = MMDB_aget_value(&entry_, &data, path.data());
    if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
      // libmaxminddb's answer for a missing map key or array index on the way (no "city" in a
      // country-level record) as well as for a scalar in the middle of the path: absent.
      return false;
    }
    if (status != MMDB_SUCCESS) {
      bad_field_.add();
      return false;
    }
    return data.has_data;
  }

  MMDB_entry_s entry_;
  Counter& bad_field_;
};

template <typename... Keys>
constexpr std::array<const char*, sizeof...(Keys) + 1> path(Keys... keys) {
  return {keys..., nullptr};
}

void readCity(RecordReader& r, GeoInfo& g, Counter& bad_field) {
  g.city = r.string(path("city", "names", "en"));
  // Checked as a whole first: a "subdivisions" that is not a list would otherwise read as absent.
  if (r.arraySize(path("subdivisions")).value_or(0) > 0) {
    g.region = r.string(path("subdivisions", "0", "names", "en"));
  }
  g.country_iso = r.string(path("country", "iso_code"));
  if (!g.country_iso.empty()) {
    g.country_name = r.string(path("country", "names", "en"));
  } else {
    // Anycast and satellite blocks carry only the registrant's country.
    g.country_iso = r.string(path("registered_country", "iso_code"));
    g.country_name = r.string(path("registered_country", "names", "en"));
  }
  g.continent_code = r.string(path("continent", "code"));
  auto lat = r.number(path("location", "latitude"));
  auto lng = r.number(path("location", "longitude"));
  // A half or out-of-range position is worse than none on a map.
  if (lat && lng && std::abs(*lat) <= 90.0 && std::abs(*lng) <= 180.0) {
    g.latitude = lat;
    g.longitude = lng;
  } else if (lat || lng) {
    bad_field.add();
  }
  if (auto radius = r.unsignedInt(path("location", "accuracy_radius"), UINT16_MAX)) {
    g.accuracy_radius_km = static_cast<uint16_t>(*radius);
  }
}

void readAsn(RecordReader& r, GeoInfo& g) {
  if (auto asn = r.unsignedInt(path("autonomous_system_number"), UINT32_MAX)) {
    g.asn = static_cast<uint32_t>(*asn);
  }
  g.as_org = r.string(path("autonomous_system_organization"));
}

}  // namespace

struct GeoIpDatabases::Impl {
  MmdbHandle city;
  MmdbHandle asn;
  GeoIpDatabaseInfo city_info;
  std::optional<GeoIpDatabaseInfo> asn_info;
  Counters counters;

  explicit Impl(MetricsRegistry& m) : counters(m) {}

  // The entry for `sa` in `db`, or nullopt (no record, or a counted error).
  std::optional<MMDB_entry_s> find(const MMDB_s& db, const sockaddr* sa) const {
    int mmdb_error = MMDB_SUCCESS;
    const MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&db, sa, &mmdb_error);
    if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
      counters.ipv6_in_ipv4_db.add();
      return std::nullopt;
    }
    if (mmdb_error != MMDB_SUCCESS) {
      counters.lookup_failed.add();
      return std::nullopt;
    }
    if (!result.found_entry) {
      return std::nullopt;
    }
    return result.entry;
  }
};

GeoIpDatabases::GeoIpDatabases(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GeoIpDatabases::~GeoIpDatabases() = default;

std::unique_ptr<GeoIpDatabases> GeoIpDatabases::open(const GeoIpPaths& paths,
                                                     MetricsRegistry& metrics, std::string& error) {
  error.clear();
  auto impl = std::make_unique<Impl>(metrics);
  if (paths.city.empty()) {
    error = "GeoIP City database: no path configured";
  } else {
    impl->city = openOne("City", paths.city, error);
  }
  if (!paths.asn.empty()) {
    impl->asn = openOne("ASN", paths.asn, error);
  }
  if (impl->city) {
    impl->city_info = infoOf(paths.city, *impl->city);
    if (isAsnType(impl->city_info.database_type)) {
      error +=
          fmt::format("{}GeoIP City database '{}' is a {} database (City and ASN paths swapped?)",
                      error.empty() ? "" : "; ", paths.city, impl->city_info.database_type);
    }
  }
  if (impl->asn) {
    impl->asn_info = infoOf(paths.asn, *impl->asn);
    if (!isAsnType(impl->asn_info->database_type)) {
      error += fmt::format("{}GeoIP ASN database '{}' is a {} database, not an ASN one",
                           error.empty() ? "" : "; ", paths.asn, impl->asn_info->database_type);
    }
  }
  if (!error.empty()) {
    return nullptr;
  }
  return std::unique_ptr<GeoIpDatabases>(new GeoIpDatabases(std::move(impl)));
}

std::optional<GeoInfo> GeoIpDatabases::lookup(const IpAddr& ip) const {
  const Impl& impl = *impl_;
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* sa = nullptr;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip.isV4() || (ip.isV6() && std::memcmp(ip.bytes.data(), kMapped, sizeof kMapped) == 0)) {
    // ::ffff:a.b.c.d is looked up as a.b.c.d: works in IPv4-only databases too, and in IPv6
    // ones whose writer did not alias ::ffff:0:0/96 to the IPv4 subtree.
    v4.sin_family = AF_INET;
    std::memcpy(&v4.sin_addr, ip.bytes.data() + (ip.isV4() ? 0 : 12), 4);
    sa = reinterpret_cast<const sockaddr*>(&v4);
  } else if (ip.isV6()) {
    v6.sin6_family = AF_INET6;
    std::memcpy(&v6.sin6_addr, ip.bytes.data(), 16);
    sa = reinterpret_cast<const sockaddr*>(&v6);
  } else {
    impl.counters.unset_address.add();
    return std::nullopt;
  }

  GeoInfo info;
  bool found = false;
  if (auto entry = impl.find(*impl.city, sa)) {
    RecordReader reader(*entry, impl.counters.bad_field);
    readCity(reader, info, impl.counters.bad_field);
    found = true;
  }
  if (impl.asn) {
    if (auto entry = impl.find(*impl.asn, sa)) {
      RecordReader reader(*entry, impl.counters.bad_field);
      readAsn(reader, info);
      found = true;
    }
  }
  (found ? impl.counters.found : impl.counters.not_found).add();
  if (!found) {
    return std::nullopt;
  }
  return info;
}

const GeoIpDatabaseInfo& GeoIpDatabases::cityInfo() const {
  return impl_->city_info;
}

std::optional<GeoIpDatabaseInfo> GeoIpDatabases::asnInfo() const {
  return impl_->asn_info;
}

std::string formatCoordinate(double degrees) {
  if (!std::isfinite(degrees)) {
    return {};
  }
  std::string text = fmt::format("{:.4f}", degrees);
  // -0.00001 rounds to "-0.0000"; the same place must give the same tag on both sides of 0.
  if (text == "-0.0000") {
    text.erase(0, 1);
  }
  return text;
}

}  // namespace nm
