#include "sinks/influx/line_protocol.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>

namespace nm::influx {
namespace {

// Which characters a name escapes. Measurements leave '=' alone: InfluxDB reads "\=" in a
// measurement as two literal characters.
enum class NameKind { kMeasurement, kKey };

bool needsEscape(char c, NameKind kind) {
  return c == ',' || c == ' ' || (c == '=' && kind == NameKind::kKey);
}

bool isValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p < end) {
    // Device and deployment names are almost always ASCII: check 8 bytes at a time.
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if ((word & 0x8080808080808080ULL) == 0) {
        p += 8;
        continue;
      }
    }
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    ptrdiff_t trail;
    uint32_t cp;
    if (lead >= 0xC2 && lead <= 0xDF) {
      trail = 1;
      cp = lead & 0x1Fu;
    } else if ((lead & 0xF0u) == 0xE0u) {
      trail = 2;
      cp = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      trail = 3;
      cp = lead & 0x07u;
    } else {
      return false;  // continuation byte as lead, overlong 0xC0/0xC1, or beyond U+10FFFF
    }
    if (end - p <= trail) {
      return false;
    }
    for (ptrdiff_t k = 1; k <= trail; ++k) {
      const unsigned char b = p[k];
      if ((b & 0xC0u) != 0x80u) {
        return false;
      }
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (trail == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) {
      return false;  // overlong, or a UTF-16 surrogate
    }
    if (trail == 3 && (cp < 0x10000 || cp > 0x10FFFF)) {
      return false;
    }
    p += trail + 1;
  }
  return true;
}

// Measurement, tag key, tag value or field key. Appends the escaped name; the caller truncates
// `out` on error.
EncodeStatus appendName(std::string& out, std::string_view s, NameKind kind) {
  if (!isValidUtf8(s)) {
    return EncodeStatus::kInvalidUtf8;
  }
  size_t run_start = 0;  // copy unescaped runs in one append
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) < 0x20) {
      return (c == '\n' || c == '\r') ? EncodeStatus::kNewline : EncodeStatus::kControlCharacter;
    }
    if (c == '\\') {
      // The server's scanner treats the byte after any backslash as escaped, so a trailing one
      // swallows the delimiter (InfluxDB 1.6: "invalid tag format"). Before a character we
      // escape, "a\,b" -> a\\,b reads back as a\,b from a 1.x tag, but a 1.x field key skips
      // "\\" as a pair and then splits at the '=', and parsers that take "\\" as an escaped
      // backslash see "a\" + delimiter. No spelling works everywhere: refuse, never guess.
      if (i + 1 == s.size()) {
        return EncodeStatus::kTrailingBackslash;
      }
      if (needsEscape(s[i + 1], kind)) {
        return EncodeStatus::kBackslashBeforeSpecial;
      }
      continue;
    }
    if (needsEscape(c, kind)) {
      out.append(s.data() + run_start, i - run_start);
      out.push_back('\\');
      run_start = i;  // the character itself starts the next run
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
  return EncodeStatus::kOk;
}

EncodeStatus appendStringValue(std::string& out, std::string_view s) {
  if (!isValidUtf8(s)) {
    return EncodeStatus::kInvalidUtf8;
  }
  out.push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\n' || c == '\r') {
      // InfluxDB 1.x keeps a raw newline inside quotes, newer parsers read "\n" as an escape
      // and the reference says string values cannot hold one: no encoding is safe everywhere.
      return EncodeStatus::kNewline;
    }
    if (c == '"' || c == '\\') {
      out.append(s.data() + run_start, i - run_start);
      out.push_back('\\');
      run_start = i;
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
  return EncodeStatus::kOk;
}

// Yields a key's bytes as appendName(kKey) writes them, so tags sort exactly as InfluxDB's
// bytes.Compare over the line orders them (escaping can change order: "a b" < "a!b" raw, but
// "a\ b" > "a!b" escaped).
class EscapedKeyBytes {
 public:
  explicit EscapedKeyBytes(std::string_view s) : s_(s) {}
  int next() {
    if (i_ >= s_.size()) {
      return -1;
    }
    const char c = s_[i_];
    if (!pending_ && needsEscape(c, NameKind::kKey)) {
      pending_ = true;
      return '\\';
    }
    pending_ = false;
    ++i_;
    return static_cast<unsigned char>(c);
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
  bool pending_ = false;
};

int compareEscapedKeys(std::string_view a, std::string_view b) {
  EscapedKeyBytes x(a);
  EscapedKeyBytes y(b);
  for (;;) {
    const int cx = x.next();
    const int cy = y.next();
    if (cx != cy) {
      return cx < cy ? -1 : 1;
    }
    if (cx < 0) {
      return 0;
    }
  }
}

template <typename T>
void appendFormatted(std::string& out, T value) {
  // Longest outputs: "-2.2250738585072014e-308" (24) and "-9223372036854775808" (20).
  std::array<char, 32> buf;
  const char* end = fmt::format_to(buf.data(), FMT_COMPILE("{}"), value);
  out.append(buf.data(), static_cast<size_t>(end - buf.data()));
}

EncodeStatus appendFieldValue(std::string& out, const Field::Value& value) {
  return std::visit(
      [&out](auto v) -> EncodeStatus {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, double>) {
          if (!std::isfinite(v)) {
            return EncodeStatus::kBadFloat;
          }
          // {} is the shortest representation that reads back to the same double.
          appendFormatted(out, v);
        } else if constexpr (std::is_same_v<V, int64_t>) {
          appendFormatted(out, v);
          out.push_back('i');
        } else if constexpr (std::is_same_v<V, bool>) {
          out.append(v ? "true" : "false");
        } else {
          return appendStringValue(out, v);
        }
        return EncodeStatus::kOk;
      },
      value);
}

EncodeStatus encode(std::string& out, std::string_view measurement, std::span<const Tag> tags,
                    std::span<const Field> fields, int64_t timestamp_ns, size_t& omitted) {
  if (measurement.empty()) {
    return EncodeStatus::kEmptyMeasurement;
  }
  if (measurement.front() == '#') {
    return EncodeStatus::kMeasurementStartsWithHash;
  }
  if (fields.empty()) {
    return EncodeStatus::kNoFields;
  }
  if (tags.size() > kMaxTags) {
    return EncodeStatus::kTooManyTags;
  }
  if (timestamp_ns < kMinTimestampNs || timestamp_ns > kMaxTimestampNs) {
    return EncodeStatus::kTimestampOutOfRange;
  }

  // Sort the kept tags on the stack: insertion sort, as points carry a handful of tags. Walking
  // left past every greater key reaches an equal one if there is one: duplicates cost nothing.
  std::array<const Tag*, kMaxTags> sorted;
  size_t n = 0;
  for (const Tag& tag : tags) {
    if (tag.key.empty()) {
      return EncodeStatus::kEmptyTagKey;
    }
    if (tag.key == "time") {
      return EncodeStatus::kReservedKey;
    }
    if (tag.value.empty()) {
      ++omitted;
      continue;
    }
    size_t j = n++;
    for (; j > 0; --j) {
      const int cmp = compareEscapedKeys(sorted[j - 1]->key, tag.key);
      if (cmp == 0) {
        return EncodeStatus::kDuplicateTagKey;
      }
      if (cmp < 0) {
        break;
      }
      sorted[j] = sorted[j - 1];
    }
    sorted[j] = &tag;
  }

  const size_t start = out.size();
  EncodeStatus status = appendName(out, measurement, NameKind::kMeasurement);
  if (status != EncodeStatus::kOk) {
    return status;
  }
  for (size_t i = 0; i < n; ++i) {
    out.push_back(',');
    status = appendName(out, sorted[i]->key, NameKind::kKey);
    if (status != EncodeStatus::kOk) {
      return status;
    }
    out.push_back('=');
    status = appendName(out, sorted[i]->value, NameKind::kKey);
    if (status != EncodeStatus::kOk) {
      return status;
    }
  }
  if (out.size() - start > kMaxSeriesKeyBytes) {
    return EncodeStatus::kSeriesKeyTooLong;
  }

  char separator = ' ';
  for (const Field& field : fields) {
    out.push_back(separator);
    separator = ',';
    if (field.key.empty()) {
      return EncodeStatus::kEmptyFieldKey;
    }
    if (field.key == "time") {
      return EncodeStatus::kReservedKey;
    }
    status = appendName(out, field.key, NameKind::kKey);
    if (status != EncodeStatus::kOk) {
      return status;
    }
    out.push_back('=');
    status = appendFieldValue(out, field.value);
    if (status != EncodeStatus::kOk) {
      return status;
    }
  }
  out.push_back(' ');
  appendFormatted(out, timestamp_ns);
  out.push_back('\n');
  return EncodeStatus::kOk;
}

}  // namespace

const char* encodeStatusName(EncodeStatus status) {
  switch (status) {
    case EncodeStatus::kOk:
      return "ok";
    case EncodeStatus::kEmptyMeasurement:
      return "empty_measurement";
    case EncodeStatus::kMeasurementStartsWithHash:
      return "measurement_starts_with_hash";
    case EncodeStatus::kEmptyTagKey:
      return "empty_tag_key";
    case EncodeStatus::kEmptyFieldKey:
      return "empty_field_key";
    case EncodeStatus::kReservedKey:
      return "reserved_key";
    case EncodeStatus::kDuplicateTagKey:
      return "duplicate_tag_key";
    case EncodeStatus::kTooManyTags:
      return "too_many_tags";
    case EncodeStatus::kNoFields:
      return "no_fields";
    case EncodeStatus::kBadFloat:
      return "bad_float";
    case EncodeStatus::kNewline:
      return "newline";
    case EncodeStatus::kControlCharacter:
      return "control_character";
    case EncodeStatus::kInvalidUtf8:
      return "invalid_utf8";
    case EncodeStatus::kTrailingBackslash:
      return "trailing_backslash";
    case EncodeStatus::kBackslashBeforeSpecial:
      return "backslash_before_special";
    case EncodeStatus::kSeriesKeyTooLong:
      return "series_key_too_long";
    case EncodeStatus::kTimestampOutOfRange:
      return "timestamp_out_of_range";
  }
  return "unknown";
}

EncodeStatus appendPoint(std::string& out, std::string_view measurement, std::span<const Tag> tags,
                         std::span<const Field> fields, int64_t timestamp_ns,
                         size_t* omitted_empty_tags) {
  const size_t start = out.size();
  size_t omitted = 0;
  const EncodeStatus status = encode(out, measurement, tags, fields, timestamp_ns, omitted);
  if (status != EncodeStatus::kOk) {
    out.resize(start);  // all or nothing: a batch never holds half a line
    return status;
  }
  if (omitted_empty_tags != nullptr) {
    *omitted_empty_tags += omitted;
  }
  return EncodeStatus::kOk;
}

}  // namespace nm::influx
