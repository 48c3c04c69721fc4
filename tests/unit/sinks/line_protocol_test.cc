// Expected lines are written out by hand from the InfluxDB line protocol reference
// ("Special characters", "Escaping rules", "Naming restrictions"), not produced by the encoder.

#include "sinks/influx/line_protocol.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace nm::influx {
namespace {

constexpr int64_t kTs = 1556813561098000000;

std::string encodeOk(std::string_view measurement, std::vector<Tag> tags, std::vector<Field> fields,
                     int64_t ts = kTs) {
  std::string out;
  const EncodeStatus status = appendPoint(out, measurement, tags, fields, ts);
  EXPECT_EQ(status, EncodeStatus::kOk) << encodeStatusName(status);
  return out;
}

// Encodes `value` as the "device" tag of a one-field point and returns the whole line.
std::string withDevice(std::string_view value) {
  return encodeOk("flows", {{"device", value}}, {{"kbps", 1.5}});
}

EncodeStatus statusOf(std::string_view measurement, std::vector<Tag> tags,
                      std::vector<Field> fields, int64_t ts = kTs) {
  std::string out = "previous line\n";
  const EncodeStatus status = appendPoint(out, measurement, tags, fields, ts);
  if (status != EncodeStatus::kOk) {
    EXPECT_EQ(out, "previous line\n") << "a rejected point must leave the buffer untouched";
  }
  return status;
}

TEST(LineProtocol, MinimalPoint) {
  EXPECT_EQ(encodeOk("cpu", {}, {{"value", 1.0}}), "cpu value=1 1556813561098000000\n");
}

TEST(LineProtocol, DeviceNamesFromRealData) {
  EXPECT_EQ(withDevice("ASUSTek COMPUTER INC."),
            "flows,device=ASUSTek\\ COMPUTER\\ INC. kbps=1.5 1556813561098000000\n");
  EXPECT_EQ(withDevice("Apple, Inc."),
            "flows,device=Apple\\,\\ Inc. kbps=1.5 1556813561098000000\n");
  EXPECT_EQ(withDevice("TP-LINK=TECHNOLOGIES"),
            "flows,device=TP-LINK\\=TECHNOLOGIES kbps=1.5 1556813561098000000\n");
  EXPECT_EQ(withDevice("a=b,c d"), "flows,device=a\\=b\\,c\\ d kbps=1.5 1556813561098000000\n");
}

TEST(LineProtocol, BackslashInsideANamePassesThroughLiterally) {
  // Outside string field values InfluxDB does not read "\\" as an escape, so "\U" stays "\U".
  EXPECT_EQ(withDevice("CORP\\laptop"), "flows,device=CORP\\laptop kbps=1.5 1556813561098000000\n");
  EXPECT_EQ(withDevice("a\\\\b"), "flows,device=a\\\\b kbps=1.5 1556813561098000000\n");
  EXPECT_EQ(encodeOk("m\\x", {}, {{"f\\g", int64_t{1}}}), "m\\x f\\g=1i 1556813561098000000\n");
  // '=' is not special in a measurement, so a backslash before it is just two characters.
  EXPECT_EQ(encodeOk("a\\=b", {}, {{"f", true}}), "a\\=b f=true 1556813561098000000\n");
}

TEST(LineProtocol, TrailingBackslashRejected) {
  // "t=C:\ f=1" would escape the space that ends the tag set.
  EXPECT_EQ(statusOf("flows", {{"device", "C:\\"}}, {{"f", 1.0}}),
            EncodeStatus::kTrailingBackslash);
  EXPECT_EQ(statusOf("flows", {{"dev\\", "x"}}, {{"f", 1.0}}), EncodeStatus::kTrailingBackslash);
  EXPECT_EQ(statusOf("flows\\", {}, {{"f", 1.0}}), EncodeStatus::kTrailingBackslash);
  EXPECT_EQ(statusOf("flows", {}, {{"f\\", 1.0}}), EncodeStatus::kTrailingBackslash);
}

TEST(LineProtocol, BackslashBeforeEscapedCharacterRejected) {
  EXPECT_EQ(statusOf("flows", {{"device", "a\\,b"}}, {{"f", 1.0}}),
            EncodeStatus::kBackslashBeforeSpecial);
  EXPECT_EQ(statusOf("flows", {{"device", "a\\ b"}}, {{"f", 1.0}}),
            EncodeStatus::kBackslashBeforeSpecial);
  EXPECT_EQ(statusOf("flows", {{"device", "a\\=b"}}, {{"f", 1.0}}),
            EncodeStatus::kBackslashBeforeSpecial);
  EXPECT_EQ(statusOf("flows", {}, {{"a\\=b", 1.0}}), EncodeStatus::kBackslashBeforeSpecial);
  EXPECT_EQ(statusOf("a\\,b", {}, {{"f", 1.0}}), EncodeStatus::kBackslashBeforeSpecial);
}

TEST(LineProtocol, NonAsciiPassesThroughUnchanged) {
  EXPECT_EQ(withDevice("Café Zürich"), "flows,device=Café\\ Zürich kbps=1.5 1556813561098000000\n");
  EXPECT_EQ(withDevice("東京"), "flows,device=東京 kbps=1.5 1556813561098000000\n");
  EXPECT_EQ(encodeOk("🍭", {{"ключ", "значение"}}, {{"note", std::string_view{"Launch 🚀"}}}),
            "🍭,ключ=значение note=\"Launch 🚀\" 1556813561098000000\n");
}

TEST(LineProtocol, DeploymentNamesWithSpaces) {
  EXPECT_EQ(encodeOk("flows", {{"deployment", "Lab 3, Building B"}, {"device", "Roku Ultra"}},
                     {{"kbps", 2.25}}),
            "flows,deployment=Lab\\ 3\\,\\ Building\\ B,device=Roku\\ Ultra kbps=2.25 "
            "1556813561098000000\n");
}

TEST(LineProtocol, MeasurementEscapesCommaAndSpaceOnly) {
  EXPECT_EQ(encodeOk("net flows,v2", {}, {{"f", 1.0}}),
            "net\\ flows\\,v2 f=1 1556813561098000000\n");
  EXPECT_EQ(encodeOk("a=b", {}, {{"f", 1.0}}), "a=b f=1 1556813561098000000\n");
  EXPECT_EQ(encodeOk(" lead", {}, {{"f", 1.0}}), "\\ lead f=1 1556813561098000000\n");
}

TEST(LineProtocol, TagAndFieldKeysEscapeCommaEqualsSpace) {
  EXPECT_EQ(encodeOk("m", {{"my key,=", "v"}}, {{"field key,=", 1.0}}),
            "m,my\\ key\\,\\==v field\\ key\\,\\==1 1556813561098000000\n");
}

TEST(LineProtocol, StringFieldsQuoteAndEscapeQuotesAndBackslashes) {
  EXPECT_EQ(encodeOk("m", {}, {{"s", std::string_view{"say \"hi\" \\ bye"}}}),
            "m s=\"say \\\"hi\\\" \\\\ bye\" 1556813561098000000\n");
  EXPECT_EQ(encodeOk("m", {}, {{"s", std::string_view{"C:\\"}}}),
            "m s=\"C:\\\\\" 1556813561098000000\n");
  EXPECT_EQ(encodeOk("m", {}, {{"s", std::string_view{""}}}), "m s=\"\" 1556813561098000000\n");
  // A string literal is a string field, not a bool.
  EXPECT_EQ(encodeOk("m", {}, {{"s", "text"}}), "m s=\"text\" 1556813561098000000\n");
  // Commas, spaces, equals signs and tabs need nothing inside quotes.
  EXPECT_EQ(encodeOk("m", {}, {{"s", std::string_view{"a, b=c\td"}}}),
            "m s=\"a, b=c\td\" 1556813561098000000\n");
}

TEST(LineProtocol, FloatsUseShortestRoundTripForm) {
  const auto line = [](double v) {
    std::string out;
    const Field field{"v", v};
    EXPECT_EQ(appendPoint(out, "m", {}, std::span(&field, 1), 0), EncodeStatus::kOk);
    return out;
  };
  EXPECT_EQ(line(0.1 + 0.2), "m v=0.30000000000000004 0\n");
  EXPECT_EQ(line(1e-7), "m v=1e-07 0\n");
  EXPECT_EQ(line(1e21), "m v=1e+21 0\n");
  EXPECT_EQ(line(-0.0), "m v=-0 0\n");
  EXPECT_EQ(line(0.0), "m v=0 0\n");
  EXPECT_EQ(line(100.0), "m v=100 0\n");
  EXPECT_EQ(line(2.5), "m v=2.5 0\n");
  EXPECT_EQ(line(5e-324), "m v=5e-324 0\n");
  EXPECT_EQ(line(std::numeric_limits<double>::max()), "m v=1.7976931348623157e+308 0\n");
  EXPECT_EQ(line(-std::numeric_limits<double>::min()), "m v=-2.2250738585072014e-308 0\n");
}

TEST(LineProtocol, FloatsNeverLoseBits) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    const double v = std::bit_cast<double>(rng());
    if (!std::isfinite(v)) {
      continue;
    }
    std::string out;
    const Field field{"v", v};
    ASSERT_EQ(appendPoint(out, "m", {}, std::span(&field, 1), 0), EncodeStatus::kOk);
    const std::string text = out.substr(4, out.size() - 4 - 3);  // "m v=" ... " 0\n"
    EXPECT_EQ(std::bit_cast<uint64_t>(std::strtod(text.c_str(), nullptr)),
              std::bit_cast<uint64_t>(v))
        << text;
  }
}

TEST(LineProtocol, IntegersBooleansAndTimestamps) {
  EXPECT_EQ(encodeOk("m", {},
                     {{"n", int64_t{123}},
                      {"neg", std::numeric_limits<int64_t>::min()},
                      {"max", std::numeric_limits<int64_t>::max()},
                      {"up", true},
                      {"down", false}},
                     -1),
            "m n=123i,neg=-9223372036854775808i,max=9223372036854775807i,up=true,down=false -1\n");
  EXPECT_EQ(encodeOk("m", {}, {{"f", int64_t{0}}}, kMinTimestampNs),
            "m f=0i -9223372036854775806\n");
  EXPECT_EQ(encodeOk("m", {}, {{"f", int64_t{0}}}, kMaxTimestampNs),
            "m f=0i 9223372036854775806\n");
}

TEST(LineProtocol, TagsSortedByEscapedKeyBytes) {
  EXPECT_EQ(
      encodeOk("m", {{"zone", "z"}, {"Device", "D"}, {"app", "a"}, {"device", "d"}}, {{"f", 1.0}}),
      "m,Device=D,app=a,device=d,zone=z f=1 1556813561098000000\n");
  // Raw "a b" < "a!b", but InfluxDB compares the escaped bytes: "a!b" < "a\ b".
  EXPECT_EQ(encodeOk("m", {{"a b", "1"}, {"a!b", "2"}}, {{"f", 1.0}}),
            "m,a!b=2,a\\ b=1 f=1 1556813561098000000\n");
  // A prefix sorts first.
  EXPECT_EQ(encodeOk("m", {{"ab", "2"}, {"a", "1"}}, {{"f", 1.0}}),
            "m,a=1,ab=2 f=1 1556813561098000000\n");
}

TEST(LineProtocol, FieldsKeepCallerOrder) {
  EXPECT_EQ(encodeOk("m", {}, {{"z", 1.0}, {"a", 2.0}}), "m z=1,a=2 1556813561098000000\n");
}

TEST(LineProtocol, EmptyTagValueIsOmittedAndCounted) {
  std::string out;
  const std::vector<Tag> tags = {{"device", ""}, {"app", "Netflix"}, {"domain", ""}};
  const std::vector<Field> fields = {{"kbps", 1.0}};
  size_t omitted = 5;  // added to, not overwritten
  ASSERT_EQ(appendPoint(out, "flows", tags, fields, kTs, &omitted), EncodeStatus::kOk);
  EXPECT_EQ(out, "flows,app=Netflix kbps=1 1556813561098000000\n");
  EXPECT_EQ(omitted, 7u);

  out.clear();
  const std::vector<Tag> only_empty = {{"device", ""}};
  ASSERT_EQ(appendPoint(out, "flows", only_empty, fields, kTs), EncodeStatus::kOk);
  EXPECT_EQ(out, "flows kbps=1 1556813561098000000\n");
}

TEST(LineProtocol, AppendsAfterExistingLines) {
  std::string out;
  const std::vector<Field> fields = {{"f", int64_t{1}}};
  ASSERT_EQ(appendPoint(out, "a", {}, fields, 1), EncodeStatus::kOk);
  ASSERT_EQ(appendPoint(out, "b", {}, fields, 2), EncodeStatus::kOk);
  EXPECT_EQ(out, "a f=1i 1\nb f=1i 2\n");
}

TEST(LineProtocol, EveryRejection) {
  const std::vector<Field> one = {{"f", 1.0}};
  EXPECT_EQ(statusOf("", {}, one), EncodeStatus::kEmptyMeasurement);
  EXPECT_EQ(statusOf("#flows", {}, one), EncodeStatus::kMeasurementStartsWithHash);
  EXPECT_EQ(statusOf("m", {{"", "v"}}, one), EncodeStatus::kEmptyTagKey);
  EXPECT_EQ(statusOf("m", {{"", ""}}, one), EncodeStatus::kEmptyTagKey);
  EXPECT_EQ(statusOf("m", {}, {{"", 1.0}}), EncodeStatus::kEmptyFieldKey);
  EXPECT_EQ(statusOf("m", {{"time", "v"}}, one), EncodeStatus::kReservedKey);
  EXPECT_EQ(statusOf("m", {}, {{"time", 1.0}}), EncodeStatus::kReservedKey);
  EXPECT_EQ(statusOf("m", {{"a", "1"}, {"b", "2"}, {"a", "3"}}, one),
            EncodeStatus::kDuplicateTagKey);
  EXPECT_EQ(statusOf("m", {}, {}), EncodeStatus::kNoFields);
  EXPECT_EQ(statusOf("m", {}, {{"f", std::numeric_limits<double>::quiet_NaN()}}),
            EncodeStatus::kBadFloat);
  EXPECT_EQ(statusOf("m", {}, {{"f", std::numeric_limits<double>::infinity()}}),
            EncodeStatus::kBadFloat);
  EXPECT_EQ(statusOf("m", {}, {{"ok", 1.0}, {"f", -std::numeric_limits<double>::infinity()}}),
            EncodeStatus::kBadFloat);
  EXPECT_EQ(statusOf("m", {}, one, std::numeric_limits<int64_t>::min()),
            EncodeStatus::kTimestampOutOfRange);
  EXPECT_EQ(statusOf("m", {}, one, std::numeric_limits<int64_t>::max()),
            EncodeStatus::kTimestampOutOfRange);
}

TEST(LineProtocol, NewlinesRejectedEverywhere) {
  const std::vector<Field> one = {{"f", 1.0}};
  EXPECT_EQ(statusOf("a\nb", {}, one), EncodeStatus::kNewline);
  EXPECT_EQ(statusOf("m", {{"k\n", "v"}}, one), EncodeStatus::kNewline);
  EXPECT_EQ(statusOf("m", {{"k", "line1\nline2"}}, one), EncodeStatus::kNewline);
  EXPECT_EQ(statusOf("m", {{"k", "v\r"}}, one), EncodeStatus::kNewline);
  EXPECT_EQ(statusOf("m", {}, {{"a\nb", 1.0}}), EncodeStatus::kNewline);
  EXPECT_EQ(statusOf("m", {}, {{"s", std::string_view{"two\nlines"}}}), EncodeStatus::kNewline);
  EXPECT_EQ(statusOf("m", {}, {{"s", std::string_view{"crlf\r"}}}), EncodeStatus::kNewline);
}

TEST(LineProtocol, ControlCharactersRejectedInNames) {
  const std::vector<Field> one = {{"f", 1.0}};
  EXPECT_EQ(statusOf("\tm", {}, one), EncodeStatus::kControlCharacter);
  EXPECT_EQ(statusOf("m", {{"k", std::string_view("a\0b", 3)}}, one),
            EncodeStatus::kControlCharacter);
  EXPECT_EQ(statusOf("m", {}, {{"\x1b", 1.0}}), EncodeStatus::kControlCharacter);
}

TEST(LineProtocol, InvalidUtf8Rejected) {
  const std::vector<Field> one = {{"f", 1.0}};
  for (const char* bad :
       {"\xC3", "caf\xC3", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
        "\xF5\x80\x80\x80", "\x80", "ab\xFF", "abcdefgh\xE6\x9D", "\xE6\x9D\x41"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(statusOf(bad, {}, one), EncodeStatus::kInvalidUtf8);
    EXPECT_EQ(statusOf("m", {{"k", bad}}, one), EncodeStatus::kInvalidUtf8);
    EXPECT_EQ(statusOf("m", {{bad, "v"}}, one), EncodeStatus::kInvalidUtf8);
    EXPECT_EQ(statusOf("m", {}, {{bad, 1.0}}), EncodeStatus::kInvalidUtf8);
    EXPECT_EQ(statusOf("m", {}, {{"s", std::string_view{bad}}}), EncodeStatus::kInvalidUtf8);
  }
  // Boundaries that are valid: U+007F, U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF.
  EXPECT_EQ(
      statusOf("m\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF", {},
               one),
      EncodeStatus::kOk);
}

TEST(LineProtocol, LimitsRejected) {
  const std::vector<Field> one = {{"f", 1.0}};
  std::vector<std::string> keys;
  for (size_t i = 0; i <= kMaxTags; ++i) {
    keys.push_back("k" + std::to_string(i));
  }
  std::vector<Tag> tags;
  for (const auto& key : keys) {
    tags.push_back({key, "v"});
  }
  EXPECT_EQ(statusOf("m", tags, one), EncodeStatus::kTooManyTags);
  tags.pop_back();
  EXPECT_EQ(statusOf("m", tags, one), EncodeStatus::kOk);

  const std::string huge(kMaxSeriesKeyBytes, 'a');
  EXPECT_EQ(statusOf("m", {{"k", huge}}, one), EncodeStatus::kSeriesKeyTooLong);
  // Escaping counts: 30000 spaces become 60000 bytes.
  const std::string spaces(33000, ' ');
  EXPECT_EQ(statusOf("m", {{"k", spaces}}, one), EncodeStatus::kSeriesKeyTooLong);
}

TEST(LineProtocol, StatusNamesAreDistinct) {
  std::set<std::string> names;
  for (size_t i = 0; i < kEncodeStatusCount; ++i) {
    const std::string name = encodeStatusName(static_cast<EncodeStatus>(i));
    EXPECT_NE(name, "unknown") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kEncodeStatusCount);
  EXPECT_STREQ(encodeStatusName(EncodeStatus::kOk), "ok");
  EXPECT_STREQ(encodeStatusName(EncodeStatus::kNewline), "newline");
  EXPECT_STREQ(encodeStatusName(static_cast<EncodeStatus>(kEncodeStatusCount)), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Independent check: a reader following InfluxDB 1.x's models/points.go rules (a byte after a
// backslash is escaped when scanning; only "\," "\ " "\=" are unescaped in tags, only "\," "\ "
// in measurements). Secondary to the exact strings above.

struct ParsedPoint {
  std::string measurement;
  std::map<std::string, std::string> tags;
  std::vector<std::pair<std::string, std::string>> fields;  // raw value text
  std::string timestamp;
};

std::string unescapeName(std::string_view s, bool with_equals) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() &&
        (s[i + 1] == ',' || s[i + 1] == ' ' || (with_equals && s[i + 1] == '='))) {
      ++i;
    }
    r.push_back(s[i]);
  }
  return r;
}

// Splits at the first `stop` byte not preceded by a backslash (the server's look-back rule).
size_t scanTo(std::string_view s, size_t i, std::string_view stops) {
  for (; i < s.size(); ++i) {
    if (stops.find(s[i]) != std::string_view::npos && (i == 0 || s[i - 1] != '\\')) {
      return i;
    }
  }
  return s.size();
}

std::optional<ParsedPoint> parseLine(std::string_view line) {
  if (line.empty() || line.back() != '\n') {
    return std::nullopt;
  }
  line.remove_suffix(1);
  ParsedPoint p;
  size_t i = scanTo(line, 0, ", ");
  p.measurement = unescapeName(line.substr(0, i), false);
  while (i < line.size() && line[i] == ',') {
    const size_t eq = scanTo(line, i + 1, "=");
    const size_t end = scanTo(line, eq + 1, ", ");
    p.tags[unescapeName(line.substr(i + 1, eq - i - 1), true)] =
        unescapeName(line.substr(eq + 1, end - eq - 1), true);
    i = end;
  }
  const size_t ts = line.rfind(' ');
  p.timestamp = std::string(line.substr(ts + 1));
  std::string_view body = line.substr(i + 1, ts - i - 1);
  size_t j = 0;
  while (j < body.size()) {
    const size_t eq = scanTo(body, j, "=");
    size_t end = eq + 1;
    if (end < body.size() && body[end] == '"') {
      for (++end; body[end] != '"'; ++end) {
        if (body[end] == '\\') {
          ++end;
        }
      }
      ++end;
    } else {
      end = body.find(',', end);
      end = end == std::string_view::npos ? body.size() : end;
    }
    p.fields.emplace_back(unescapeName(body.substr(j, eq - j), true),
                          std::string(body.substr(eq + 1, end - eq - 1)));
    j = end + 1;
  }
  return p;
}

TEST(LineProtocol, ReadsBackWithInfluxScanningRules) {
  const std::vector<std::string_view> names = {"ASUSTek COMPUTER INC.",
                                               "Apple, Inc.",
                                               "a=b",
                                               "CORP\\laptop",
                                               "Café Zürich",
                                               "東京",
                                               " leading",
                                               "trailing ",
                                               ",=, =",
                                               "x\\y\\z",
                                               "\"quoted\"",
                                               "'single'"};
  for (std::string_view name : names) {
    SCOPED_TRACE(name);
    const std::string line =
        encodeOk(name, {{name, name}, {"k", "v"}}, {{name, std::string_view{name}}});
    const auto parsed = parseLine(line);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->measurement, name);
    EXPECT_EQ(parsed->tags.at(std::string(name)), name);
    EXPECT_EQ(parsed->tags.at("k"), "v");
    ASSERT_EQ(parsed->fields.size(), 1u);
    EXPECT_EQ(parsed->fields[0].first, name);
    EXPECT_EQ(parsed->timestamp, "1556813561098000000");
  }
}

}  // namespace
}  // namespace nm::influx
