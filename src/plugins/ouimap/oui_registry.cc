#include "plugins/ouimap/oui_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/hex.h"

namespace nm {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr size_t kLoggedSkipsPerFile = 5;

uint64_t macValue(const MacAddr& mac) {
  uint64_t v = 0;
  for (uint8_t b : mac.bytes) {
    v = (v << 8) | b;
  }
  return v;
}

// Python's str.replace: non-overlapping occurrences, scanning left to right, no rescan of the
// replacement (so "____" with "___" -> "_" gives "__", exactly as the original did).
void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (;;) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) {
      break;
    }
    out.append(s, pos, hit - pos);
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

void appendLastOctet(std::string& s, const MacAddr& mac) {
  s.push_back(kHexDigits[mac.bytes[5] >> 4]);
  s.push_back(kHexDigits[mac.bytes[5] & 0x0f]);
}

bool readWholeFile(const std::string& path, std::string& out, std::string& error) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return false;
  }
  out.clear();
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    out.append(buf, n);
  }
  if (std::ferror(f.get()) != 0) {
    error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

// Calls on_record(fields, line) for each CSV record of `text` (RFC 4180: quoted fields may hold
// commas, doubled quotes and line breaks; CRLF or LF). Text after a closing quote, or a quote
// inside an unquoted field, is kept literally, as Python's csv module does. false at an
// unterminated quoted field, with the line its record starts on in `bad_line`.
template <typename OnRecord>
bool forEachCsvRecord(std::string_view text, OnRecord&& on_record, size_t& bad_line) {
  std::vector<std::string> fields;
  std::string field;
  size_t line = 1;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    fields.clear();
    const size_t record_line = line;
    for (;;) {
      field.clear();
      if (text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= n) {
            bad_line = record_line;
            return false;
          }
          char c = text[i++];
          if (c == '"') {
            if (i < n && text[i] == '"') {
              field.push_back('"');
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') {
            ++line;
          }
          field.push_back(c);
        }
      }
      while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        field.push_back(text[i++]);
      }
      fields.push_back(field);
      if (i < n && text[i] == ',') {
        ++i;
        if (i < n) {
          continue;
        }
        fields.emplace_back();  // "a,b," at the very end: a last, empty field
      }
      break;
    }
    if (i < n && text[i] == '\r') {
      ++i;
    }
    if (i < n && text[i] == '\n') {
      ++i;
    }
    ++line;
    on_record(fields, record_line);
  }
  return true;
}

int prefixBits(OuiRegistry::Block block) {
  switch (block) {
    case OuiRegistry::Block::kMaL:
      return 24;
    case OuiRegistry::Block::kMaM:
      return 28;
    case OuiRegistry::Block::kMaS:
    case OuiRegistry::Block::kIab:
      return 36;
  }
  return 24;
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string originalDeviceName(std::string_view vendor, const MacAddr& mac) {
  std::string s;
  s.reserve(vendor.size() + 3);
  for (char c : vendor) {
    if (c != '"' && c != '\t') {
      s.push_back(c);
    }
  }
  if (s.empty()) {
    return originalUnknownDeviceName(mac);
  }
  std::replace(s.begin(), s.end(), ' ', '_');
  std::replace(s.begin(), s.end(), '.', '_');
  std::replace(s.begin(), s.end(), ',', '_');
  replaceAll(s, "___", "_");
  replaceAll(s, "__", "_");
  replaceAll(s, "_-_", "-");
  if (s.back() != '_') {
    s.push_back('_');
  }
  appendLastOctet(s, mac);
  return s;
}

std::string originalUnknownDeviceName(const MacAddr& mac) {
  std::string s = mac.toString().substr(0, 8);
  s.push_back('_');
  appendLastOctet(s, mac);
  return s;
}

std::string randomizedDeviceName(const MacAddr& mac) {
  std::string s = "Randomized_MAC_";
  for (size_t i = 3; i < 6; ++i) {
    s.push_back(kHexDigits[mac.bytes[i] >> 4]);
    s.push_back(kHexDigits[mac.bytes[i] & 0x0f]);
  }
  return s;
}

std::string_view OuiRegistry::blockName(Block block) {
  switch (block) {
    case Block::kMaL:
      return "MA-L";
    case Block::kMaM:
      return "MA-M";
    case Block::kMaS:
      return "MA-S";
    case Block::kIab:
      return "IAB";
  }
  return "none";
}

bool OuiRegistry::load(const std::string& dir, std::string& error) {
  const auto start = std::chrono::steady_clock::now();
  if (!isDirectory(dir)) {
    error =
        fmt::format("IEEE registry directory {} does not exist (Debian package ieee-data)", dir);
    return false;
  }
  OuiRegistry fresh;
  const std::string base = dir + "/";
  if (!fresh.loadFile(base + "oui.csv", "MA-L", 6, fresh.ma_l_, error) ||
      !fresh.loadFile(base + "mam.csv", "MA-M", 7, fresh.ma_m_, error) ||
      !fresh.loadFile(base + "oui36.csv", "MA-S", 9, fresh.ma_s_, error)) {
    return false;
  }
  // iab.csv is frozen (IAB became MA-S in 2014) and some packagings leave it out.
  if (fileExists(base + "iab.csv") &&
      !fresh.loadFile(base + "iab.csv", "IAB", 9, fresh.iab_, error)) {
    return false;
  }
  fresh.stats_.ma_l = fresh.ma_l_.size();
  fresh.stats_.ma_m = fresh.ma_m_.size();
  fresh.stats_.ma_s = fresh.ma_s_.size();
  fresh.stats_.iab = fresh.iab_.size();
  fresh.stats_.millis =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  *this = std::move(fresh);
  return true;
}

bool OuiRegistry::loadFile(const std::string& path, std::string_view registry, size_t hex_digits,
                           Table& table, std::string& error) {
  std::string text;
  if (!readWholeFile(path, text, error)) {
    return false;
  }
  std::string_view view = text;
  if (view.substr(0, 3) == "\xEF\xBB\xBF") {
    view.remove_prefix(3);
  }
  bool header_seen = false;
  std::string header_error;
  size_t skipped = 0;
  table.reserve(table.size() + view.size() / 80);
  auto on_record = [&](const std::vector<std::string>& fields, size_t line) {
    if (!header_seen) {
      header_seen = true;
      if (fields.size() < 3 || fields[0] != "Registry" || fields[1] != "Assignment" ||
          fields[2] != "Organization Name") {
        header_error = fmt::format(
            "{}:{}: not an IEEE registry CSV (expected the header "
            "\"Registry,Assignment,Organization Name,...\")",
            path, line);
      }
      return;
    }
    if (!header_error.empty()) {
      return;
    }
    if (fields.size() == 1 && fields[0].empty()) {
      return;  // blank line
    }
    std::string_view why;
    uint64_t prefix = 0;
    if (fields.size() < 3) {
      why = "fewer than 3 fields";
    } else if (fields[0] != registry) {
      why = "wrong registry";
    } else if (fields[1].size() != hex_digits) {
      why = "assignment of the wrong length";
    } else {
      for (char c : fields[1]) {
        int v = hexDigitValue(c);
        if (v < 0) {
          why = "assignment not hexadecimal";
          break;
        }
        prefix = prefix << 4 | static_cast<uint64_t>(v);
      }
    }
    if (!why.empty()) {
      if (++skipped <= kLoggedSkipsPerFile) {
        spdlog::warn("ouimap: {}:{}: skipped row ({})", path, line, why);
      }
      return;
    }
    table.emplace_back(prefix, static_cast<uint32_t>(vendors_.size()));
    vendors_.push_back(fields[2]);
  };
  size_t bad_line = 0;
  if (!forEachCsvRecord(view, on_record, bad_line)) {
    error = fmt::format("{}:{}: unterminated quoted field", path, bad_line);
    return false;
  }
  if (!header_error.empty()) {
    error = header_error;
    return false;
  }
  if (table.empty()) {
    error = fmt::format("{}: no {} entries", path, registry);
    return false;
  }
  stats_.rows_skipped += skipped;
  // Stable, then keep the last row of each prefix: a later row in the file wins.
  std::stable_sort(table.begin(), table.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t kept = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    if (i + 1 < table.size() && table[i + 1].first == table[i].first) {
      continue;
    }
    table[kept++] = table[i];
  }
  table.resize(kept);
  return true;
}

const uint32_t* OuiRegistry::lookup(const Table& table, uint64_t prefix) {
  auto it = std::lower_bound(table.begin(), table.end(), prefix,
                             [](const auto& entry, uint64_t p) { return entry.first < p; });
  if (it == table.end() || it->first != prefix) {
    return nullptr;
  }
  return &it->second;
}

const OuiRegistry::Table& OuiRegistry::tableOf(Block block) const {
  switch (block) {
    case Block::kMaL:
      return ma_l_;
    case Block::kMaM:
      return ma_m_;
    case Block::kMaS:
      return ma_s_;
    case Block::kIab:
      return iab_;
  }
  return ma_l_;
}

bool OuiRegistry::findIn(Block block, const MacAddr& mac, Match& out) const {
  const uint64_t prefix = macValue(mac) >> (48 - prefixBits(block));
  const uint32_t* idx = lookup(tableOf(block), prefix);
  if (idx == nullptr) {
    return false;
  }
  out.vendor = vendors_[*idx];
  out.block = block;
  out.prefix = prefix;
  return true;
}

bool OuiRegistry::find(const MacAddr& mac, Match& out) const {
  // Longest first; an MA-S assignment also listed as IAB is the newer record of the same block.
  for (Block block : {Block::kMaS, Block::kIab, Block::kMaM, Block::kMaL}) {
    if (findIn(block, mac, out)) {
      return true;
    }
  }
  return false;
}

MacInfo OuiRegistry::describe(const MacAddr& mac, PrivateMacNames private_names) const {
  MacInfo info;
  info.multicast = mac.isMulticast();
  info.locally_administered = (mac.bytes[0] & 0x02) != 0;
  info.registry = "none";
  Match match;
  // A locally administered address was not assigned by the IEEE, whatever block it falls in.
  if (!info.locally_administered && find(mac, match)) {
    info.vendor = match.vendor;
    info.registry = blockName(match.block);
    const int bits = prefixBits(match.block);
    const uint64_t first = match.prefix << (48 - bits);
    MacAddr block_start;
    for (size_t i = 0; i < 6; ++i) {
      block_start.bytes[i] = static_cast<uint8_t>(first >> (8 * (5 - i)));
    }
    info.prefix = fmt::format("{}/{}", block_start.toString(), bits);
  }
  if (info.multicast) {
    return info;
  }
  if (info.locally_administered) {
    info.device_name = private_names == PrivateMacNames::kOriginal ? originalUnknownDeviceName(mac)
                                                                   : randomizedDeviceName(mac);
  } else if (!info.vendor.empty()) {
    info.device_name = originalDeviceName(info.vendor, mac);
  } else {
    info.device_name = originalUnknownDeviceName(mac);
  }
  return info;
}

}  // namespace nm
