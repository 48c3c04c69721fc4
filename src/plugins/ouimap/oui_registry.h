#pragma once
// MAC address -> manufacturer, from the IEEE registries Debian's ieee-data package ships
// (/usr/share/ieee-data), and the original NetMicroscope daemon's device names built from them.
//
// Files read (CSV, "Registry,Assignment,Organization Name,Organization Address", CRLF, quoted
// fields may hold commas, doubled quotes and line breaks):
//   oui.csv    MA-L  24-bit prefixes   required
//   mam.csv    MA-M  28-bit prefixes   required
//   oui36.csv  MA-S  36-bit prefixes   required
//   iab.csv    IAB   36-bit prefixes   optional (the MA-S predecessor)
// The longest prefix wins: MA-S, then IAB, then MA-M, then MA-L. Within one file the last row of
// a repeated assignment wins (as the original's dict built from oui.txt did). Nothing is ever
// fetched from the network.
//
// Threading: load() once; afterwards every const member may be called from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/net_types.h"

namespace nm {

inline constexpr std::string_view kDefaultIeeeDataDir = "/usr/share/ieee-data";

// The original daemon's device name for a MAC whose vendor (MA-L owner) is `vendor`, byte for
// byte, so InfluxDB series it wrote continue. The steps, in order (each a Python str.replace, so
// non-overlapping and left to right, NOT a regex):
//   0. drop every '"' and '\t': the original read IEEE's oui.txt, which prints the names the CSV
//      quotes ('JSC "Irbis-T"') without the quotes and without the CSV's stray trailing tabs
//      (checked against ieee-data's oui.txt for every MA-L entry; a test keeps it so);
//   1. ' ' -> '_'      2. '.' -> '_'      3. ',' -> '_'
//   4. "___" -> "_"    5. "__" -> "_"   (so runs of up to 4 '_' become one; a run of 5 leaves
//                                        "__", as the original did: "Co., Ltd     " keeps "__")
//   6. "_-_" -> "-"
//   7. append '_' unless the text already ends with one;
//   8. append the MAC text's last two hex digits, lower case ("...:01" -> "01").
// Everything else (parentheses, '/', '&', non-ASCII bytes such as U+00A0 or U+FF0C) is kept.
// "ASUSTek COMPUTER INC." + 74:d0:2b:00:00:01 -> "ASUSTek_COMPUTER_INC_01".
// An empty vendor (the original would have crashed) gives originalUnknownDeviceName(mac).
std::string originalDeviceName(std::string_view vendor, const MacAddr& mac);

// The original's name for a MAC with no known vendor: the first three octets, '_', the last
// octet, lower case: 74:d0:2b:00:00:01 -> "74:d0:2b_01".
std::string originalUnknownDeviceName(const MacAddr& mac);

// Our name for a locally administered (randomised, "private Wi-Fi address") MAC, which has no
// vendor: "Randomized_MAC_" + the last three octets, lower case, no separators:
// da:a1:19:4f:20:3c -> "Randomized_MAC_4f203c". Three octets rather than the vendor names' one,
// because every phone of a home shares this "vendor" and one octet would collide.
std::string randomizedDeviceName(const MacAddr& mac);

// How locally administered MACs are named.
enum class PrivateMacNames {
  kRandomized,  // randomizedDeviceName() (default)
  kOriginal,    // originalUnknownDeviceName(): the original's name for them (it knew no vendor for
                // them, bar 20 historical MA-L blocks that have the bit set)
};

// Everything known about one MAC, for `netmicroscope lookup MAC` and the plugin.
struct MacInfo {
  std::string vendor;    // the registry's Organization Name as written there; "" when none
  std::string registry;  // "MA-L", "MA-M", "MA-S", "IAB" or "none"
  // The matching block as "aa:bb:cc:d0:00:00/28" (the block's first address / prefix bits), ""
  // when none.
  std::string prefix;
  bool locally_administered = false;  // bit 0x02 of the first octet: randomised / private
  bool multicast = false;             // bit 0x01: a group address, not a device
  // What ouimap names the device (before friendly names): "" for multicast (left unnamed);
  // the private form for locally administered MACs (never a vendor, even for the 20 historical
  // MA-L blocks with that bit set); originalDeviceName() when a vendor is known; else
  // originalUnknownDeviceName().
  std::string device_name;
};

class OuiRegistry {
 public:
  enum class Block : uint8_t { kMaL, kMaM, kMaS, kIab };
  static std::string_view blockName(Block block);  // "MA-L", ...

  struct LoadStats {
    size_t ma_l = 0;  // distinct prefixes loaded per registry
    size_t ma_m = 0;
    size_t ma_s = 0;
    size_t iab = 0;
    size_t rows_skipped = 0;  // malformed rows (wrong registry, bad assignment, too few fields)
    double millis = 0;        // wall time of load()
  };

  // Loads the registries from `dir`, replacing whatever was loaded. false with `error` (naming
  // the file) when the directory or a required file is missing or unreadable, a header is not
  // the IEEE one, or a file holds no entry; malformed rows are skipped, counted in stats() and
  // the first few logged with file:line.
  bool load(const std::string& dir, std::string& error);

  // The longest registered block holding `mac`; false when none. `vendor` views the registry's
  // storage: valid until the next load() or the registry's destruction.
  struct Match {
    std::string_view vendor;
    Block block;
    uint64_t prefix;  // the block's value, e.g. 0x74d02b for MA-L
  };
  bool find(const MacAddr& mac, Match& out) const;
  // The block of registry `block` holding `mac` (e.g. the MA-L parent of an MA-S block).
  bool findIn(Block block, const MacAddr& mac, Match& out) const;

  MacInfo describe(const MacAddr& mac,
                   PrivateMacNames private_names = PrivateMacNames::kRandomized) const;

  const LoadStats& stats() const { return stats_; }
  bool empty() const { return vendors_.empty(); }

 private:
  // One block per registry, sorted by prefix for binary search; the value indexes vendors_.
  using Table = std::vector<std::pair<uint64_t, uint32_t>>;

  bool loadFile(const std::string& path, std::string_view registry, size_t hex_digits, Table& table,
                std::string& error);
  static const uint32_t* lookup(const Table& table, uint64_t prefix);
  const Table& tableOf(Block block) const;

  std::vector<std::string> vendors_;
  Table ma_l_, ma_m_, ma_s_, iab_;
  LoadStats stats_;
};

}  // namespace nm
