#include "plugins/ouimap/ouimap_plugin.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/text.h"

namespace nm {

struct OuimapPlugin::Counters {
  Counter* vendor = nullptr;
  Counter* unknown = nullptr;
  Counter* randomized = nullptr;
  Counter* friendly = nullptr;
  Counter* unnamed = nullptr;
};

namespace {

uint64_t macKey(const MacAddr& mac) {
  uint64_t v = 0;
  for (uint8_t b : mac.bytes) {
    v = (v << 8) | b;
  }
  return v;
}

}  // namespace

bool loadFriendlyNames(const std::string& path, std::unordered_map<uint64_t, std::string>& out,
                       std::vector<std::string>& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    return false;
  }
  const size_t errors_before = errors.size();
  std::unordered_map<uint64_t, size_t> first_line;
  std::string raw;
  size_t line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string_view line = raw;
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") {
      line.remove_prefix(3);
    }
    line = trimBlank(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const size_t mac_end = line.find_first_of(" \t=");
    const std::string_view mac_text = line.substr(0, mac_end);
    MacAddr mac;
    if (!parseMacAddr(mac_text, mac)) {
      errors.push_back(fmt::format("{}:{}: '{}' is not a MAC address (aa:bb:cc:dd:ee:ff)", path,
                                   line_no, mac_text));
      continue;
    }
    std::string_view name =
        mac_end == std::string_view::npos ? std::string_view{} : trimBlank(line.substr(mac_end));
    if (!name.empty() && name.front() == '=') {
      name = trimBlank(name.substr(1));
    }
    if (name.empty()) {
      errors.push_back(fmt::format("{}:{}: no name after {}", path, line_no, mac_text));
      continue;
    }
    const uint64_t key = macKey(mac);
    auto [it, inserted] = first_line.emplace(key, line_no);
    if (!inserted) {
      errors.push_back(fmt::format("{}:{}: {} already named on line {}", path, line_no,
                                   mac.toString(), it->second));
      continue;
    }
    out[key] = std::string(name);
  }
  if (in.bad()) {
    errors.push_back(fmt::format("{}: read error: {}", path, std::strerror(errno)));
  }
  return errors.size() == errors_before;
}

OuimapPlugin::OuimapPlugin() = default;
OuimapPlugin::~OuimapPlugin() = default;

bool OuimapPlugin::init(const PluginContext& context, std::string& error) {
  std::vector<std::string> errors;

  const std::string dir = settingOr(context.settings, "OUIMAP_IEEE_DIR", kDefaultIeeeDataDir);
  std::string load_error;
  if (!registry_.load(dir, load_error)) {
    errors.push_back("OUIMAP_IEEE_DIR: " + load_error);
  }

  const std::string private_form =
      settingOr(context.settings, "OUIMAP_PRIVATE_NAMES", "randomized");
  if (private_form == "randomized") {
    private_names_ = PrivateMacNames::kRandomized;
  } else if (private_form == "original") {
    private_names_ = PrivateMacNames::kOriginal;
  } else {
    errors.push_back(fmt::format(
        "OUIMAP_PRIVATE_NAMES: '{}' is neither 'randomized' nor 'original'", private_form));
  }

  friendly_.clear();
  const std::string names_path = settingOr(context.settings, "OUIMAP_NAMES", "");
  if (!names_path.empty()) {
    std::vector<std::string> name_errors;
    if (!loadFriendlyNames(names_path, friendly_, name_errors)) {
      for (const std::string& e : name_errors) {
        errors.push_back("OUIMAP_NAMES: " + e);
      }
    }
  }

  if (!errors.empty()) {
    error.clear();
    for (const std::string& e : errors) {
      if (!error.empty()) {
        error += "; ";
      }
      error += e;
    }
    return false;
  }

  MetricsRegistry& m = context.metrics;
  constexpr std::string_view kName = "netmicroscope_ouimap_devices_total";
  constexpr std::string_view kHelp = "Distinct devices ouimap named, by where the name came from";
  counters_ = std::make_unique<Counters>();
  counters_->vendor = &m.counter(kName, kHelp, {{"kind", "vendor"}});
  counters_->unknown = &m.counter(kName, kHelp, {{"kind", "unknown"}});
  counters_->randomized = &m.counter(kName, kHelp, {{"kind", "randomized"}});
  counters_->friendly = &m.counter(kName, kHelp, {{"kind", "friendly"}});
  counters_->unnamed = &m.counter(kName, kHelp, {{"kind", "multicast"}});
  const OuiRegistry::LoadStats& s = registry_.stats();
  constexpr std::string_view kEntries = "netmicroscope_ouimap_registry_entries";
  constexpr std::string_view kEntriesHelp = "IEEE registry blocks loaded, by registry";
  m.gauge(kEntries, kEntriesHelp, {{"registry", "MA-L"}}).set(static_cast<int64_t>(s.ma_l));
  m.gauge(kEntries, kEntriesHelp, {{"registry", "MA-M"}}).set(static_cast<int64_t>(s.ma_m));
  m.gauge(kEntries, kEntriesHelp, {{"registry", "MA-S"}}).set(static_cast<int64_t>(s.ma_s));
  m.gauge(kEntries, kEntriesHelp, {{"registry", "IAB"}}).set(static_cast<int64_t>(s.iab));
  m.counter("netmicroscope_ouimap_registry_rows_skipped_total",
            "Malformed IEEE registry rows skipped at load")
      .add(s.rows_skipped);

  cache_.clear();
  spdlog::info(
      "ouimap: {} MA-L, {} MA-M, {} MA-S, {} IAB blocks from {} in {:.1f} ms; {} friendly names",
      s.ma_l, s.ma_m, s.ma_s, s.iab, dir, s.millis, friendly_.size());
  return true;
}

MacInfo OuimapPlugin::describe(const MacAddr& mac) const {
  MacInfo info = registry_.describe(mac, private_names_);
  if (auto it = friendly_.find(macKey(mac)); it != friendly_.end()) {
    info.device_name = it->second;
  }
  return info;
}

const std::string& OuimapPlugin::nameFor(std::string_view key) {
  if (auto it = cache_.find(key); it != cache_.end()) {
    return it->second;
  }
  if (cache_.size() >= kMaxCachedDevices) {
    cache_.clear();
  }
  std::string name;
  MacAddr mac;
  // Only the summary's own MAC text ("aa:bb:cc:dd:ee:ff") is a MAC key; IP keys stay as they are.
  if (key.size() == 17 && parseMacAddr(key, mac)) {
    if (auto f = friendly_.find(macKey(mac)); f != friendly_.end()) {
      name = f->second;
      counters_->friendly->add();
    } else {
      MacInfo info = registry_.describe(mac, private_names_);
      name = std::move(info.device_name);
      if (info.multicast) {
        counters_->unnamed->add();
      } else if (info.locally_administered) {
        counters_->randomized->add();
      } else if (!info.vendor.empty()) {
        counters_->vendor->add();
      } else {
        counters_->unknown->add();
      }
    }
  }
  return cache_.emplace(std::string(key), std::move(name)).first->second;
}

void OuimapPlugin::process(RecordSummary& summary) {
  if (!counters_) {
    return;  // init() failed or was never called; the daemon would not have started us
  }
  // One pass over samples and points: each key is named once per summary (a copy, since the
  // cache may be dropped meanwhile); the views point at the summary's own `device` strings.
  // A name an earlier plugin gave is kept.
  names_.clear();
  auto nameOf = [&](const std::string& key) -> const std::string& {
    auto [it, inserted] = names_.try_emplace(key);
    if (inserted) {
      it->second = nameFor(key);
    }
    return it->second;
  };
  for (DeviceApplicationSample& s : summary.samples) {
    if (s.device_name.empty()) {
      s.device_name = nameOf(s.device);
    }
  }
  for (SummaryPoint& p : summary.points) {
    if (p.device_name.empty()) {
      p.device_name = nameOf(p.device);
    }
  }
}

std::unique_ptr<Plugin> makeOuimapPlugin() {
  return std::make_unique<OuimapPlugin>();
}

}  // namespace nm
