#pragma once
// InfluxDB line protocol encoder: the ONLY place in NetMicroscope that writes line protocol.
// Every sink that talks to InfluxDB (v1 /write and v2 /api/v2/write share the format) builds its
// request body by calling appendPoint() once per point.
//
// What a line looks like:
//   measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] ts_ns\n
//
// Escaping (InfluxDB line protocol reference, "Special characters"):
//   measurement                        ','  ' '        are preceded by '\'
//   tag key, tag value, field key      ','  ' '  '='   are preceded by '\'
//   string field value                 '"'  '\'        are preceded by '\', value in double quotes
//   A backslash anywhere else in a name passes through literally ("a\b" stays "a\b"): outside
//   string field values InfluxDB does not treat "\\" as an escape.
//
// Choices made where the protocol cannot carry a value (all tested in
// tests/unit/sinks/line_protocol_test.cc):
//   - Empty tag value: the tag is OMITTED, as the reference prescribes ("tag values cannot be
//     empty; instead, omit the tag"), and counted in *omitted_empty_tags. The point is kept.
//   - Everything else unrepresentable REJECTS THE WHOLE POINT with a named status, never a
//     silently altered value: empty measurement/key, '\n' or '\r' anywhere (line protocol has no
//     escape for a line break; replacing it would change the value), other C0 control characters
//     in names (InfluxDB strips leading tabs/NULs), NaN and +-Inf, invalid UTF-8, duplicate tag
//     keys, a measurement starting with '#' (the line would be a comment), the key "time", and
//     a name that ends in a backslash or has one right before a character we escape ("a\,b"):
//     servers read those differently from what we meant (reasons in line_protocol.cc).
//   - Tags are written sorted by their escaped key bytes, exactly as Go's bytes.Compare orders
//     them: InfluxDB otherwise re-sorts every line on ingest (its documented performance tip).
//     Fields keep the caller's order.
//   - Floats are written in the shortest form that parses back to the identical double
//     (0.1 + 0.2 -> 0.30000000000000004, 1e21 -> 1e+21, -0.0 -> -0); integers as 123i;
//     booleans as true/false. Non-ASCII UTF-8 passes through unchanged.
//
// Threading and cost: pure functions, safe from any thread. appendPoint() allocates nothing
// beyond the growth of `out` (reuse one buffer per batch) and throws nothing except what
// std::string growth may throw (std::bad_alloc).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace nm::influx {

// Views borrowed for the duration of the call only.
struct Tag {
  std::string_view key;
  std::string_view value;
};

struct Field {
  using Value = std::variant<double, int64_t, bool, std::string_view>;
  std::string_view key;
  // A string literal or string_view is a string field; int and unsigned pick int64_t (write 123i);
  // uint64_t does not compile (no unsigned fields in InfluxDB 1.x): convert it explicitly.
  Value value;
};

enum class EncodeStatus : uint8_t {
  kOk,
  kEmptyMeasurement,
  kMeasurementStartsWithHash,  // the line would be read as a comment
  kEmptyTagKey,
  kEmptyFieldKey,
  kReservedKey,  // tag or field key "time"
  kDuplicateTagKey,
  kTooManyTags,  // more than kMaxTags
  kNoFields,
  kBadFloat,          // NaN or +-Inf
  kNewline,           // '\n' or '\r' in any name or string value
  kControlCharacter,  // another byte < 0x20 in measurement, key or tag value
  kInvalidUtf8,
  kTrailingBackslash,       // name ends in '\': it would escape the delimiter after it
  kBackslashBeforeSpecial,  // "\," "\ " "\=" in a name: not carried the same by all servers
  kSeriesKeyTooLong,        // measurement + tags over kMaxSeriesKeyBytes once escaped
  kTimestampOutOfRange,     // outside [kMinTimestampNs, kMaxTimestampNs]
};
inline constexpr size_t kEncodeStatusCount = 17;
static_assert(static_cast<size_t>(EncodeStatus::kTimestampOutOfRange) + 1 == kEncodeStatusCount);

// Stable snake_case names for counters ("ok", "empty_measurement", ...).
const char* encodeStatusName(EncodeStatus status);

inline constexpr size_t kMaxTags = 64;
inline constexpr size_t kMaxSeriesKeyBytes = 65535;  // InfluxDB's MaxKeyLength
inline constexpr int64_t kMinTimestampNs = -9223372036854775806;
inline constexpr int64_t kMaxTimestampNs = 9223372036854775806;

// Appends one point as one line, terminated by '\n', to `out`. On any status other than kOk,
// `out` is left exactly as it was. Tags with an empty value are left out; if
// `omitted_empty_tags` is non-null, the number left out is added to it (on kOk only).
EncodeStatus appendPoint(std::string& out, std::string_view measurement, std::span<const Tag> tags,
                         std::span<const Field> fields, int64_t timestamp_ns,
                         size_t* omitted_empty_tags = nullptr);

}  // namespace nm::influx
