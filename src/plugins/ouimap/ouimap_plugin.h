#pragma once
// ouimap: names every MAC-keyed device of a summary after its manufacturer, as the original
// daemon's ouimap plugin did ("ASUSTek_COMPUTER_INC_01"), so its InfluxDB series continue.
//
// Settings (PluginContext::settings):
//   OUIMAP_IEEE_DIR        folder of the IEEE registry CSVs (default /usr/share/ieee-data,
//                          Debian package ieee-data); see oui_registry.h.
//   OUIMAP_NAMES           optional path of a friendly-names file; its names win over vendors.
//   OUIMAP_PRIVATE_NAMES   "randomized" (default: Randomized_MAC_4f203c) or "original"
//                          (da:a1:19_3c, the original's form) for locally administered MACs.
//
// Friendly-names file: UTF-8, one device per line, `MAC name` or `MAC=name`, where MAC is
// "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF" or "aabbccddeeff" and the name is the rest of the line
// with surrounding blanks removed (it may hold spaces, '=' and '#'). Blank lines and lines whose
// first non-blank character is '#' are ignored. A malformed MAC, a missing name or a MAC listed
// twice is an error reported as "path:line: ..."; every error of the file is reported together
// and init() refuses to start.
//
// Naming, per device key (the summary's MAC text; IP-keyed devices are left alone):
//   friendly name > multicast (left unnamed) > locally administered (private form) > vendor
//   (longest IEEE block) > unknown prefix ("74:d0:2b_01"). A name an earlier plugin already gave
//   is kept.
//
// Threading: init(), process() and finish() from the daemon's ingest thread only. describe() is
// const and may be called from any thread once init() returned (it does not use the cache).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/metrics.h"
#include "plugins/ouimap/oui_registry.h"
#include "plugins/plugin.h"

namespace nm {

// Parses a friendly-names file (format above) into MAC -> name. false with every problem in
// `errors`, one "path:line: message" per entry (or "path: cannot open ..." alone).
bool loadFriendlyNames(const std::string& path, std::unordered_map<uint64_t, std::string>& out,
                       std::vector<std::string>& errors);

class OuimapPlugin : public Plugin {
 public:
  static constexpr int kPriority = 10;
  // The device-name cache is dropped whole when it reaches this size (keys are local devices,
  // so reaching it means something odd, e.g. a MAC-spoofing scan; a full rebuild is cheap).
  static constexpr size_t kMaxCachedDevices = 1 << 16;

  OuimapPlugin();
  ~OuimapPlugin() override;

  std::string_view name() const override { return "ouimap"; }
  int priority() const override { return kPriority; }
  // Loads the registries and the friendly names. Errors name the setting; all are reported
  // together, separated by "; ".
  bool init(const PluginContext& context, std::string& error) override;
  // Names the summary's MAC-keyed devices (samples and points, zero-fill included) with
  // setDeviceName(); keys are never changed. One hash lookup per distinct device.
  void process(RecordSummary& summary) override;

  // What the plugin knows about `mac`, friendly name included (device_name is then the
  // friendly name). For `netmicroscope lookup MAC`.
  MacInfo describe(const MacAddr& mac) const;

  const OuiRegistry& registry() const { return registry_; }

 private:
  struct Counters;
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // The name for device key `key`; "" = leave the device unnamed (not a MAC, multicast).
  const std::string& nameFor(std::string_view key);

  OuiRegistry registry_;
  PrivateMacNames private_names_ = PrivateMacNames::kRandomized;
  std::unordered_map<uint64_t, std::string> friendly_;
  std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> cache_;
  std::unordered_map<std::string_view, std::string> names_;  // the current summary's names
  std::unique_ptr<Counters> counters_;
};

// The registry entry (plugins/registry.cc).
std::unique_ptr<Plugin> makeOuimapPlugin();

}  // namespace nm
