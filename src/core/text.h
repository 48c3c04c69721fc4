#pragma once
// Small text helpers for configuration values, shared by the daemon's .env reader, the plugins
// and the sinks. ASCII only: settings are not localised.

#include <optional>
#include <string>
#include <string_view>

namespace nm {

// `s` without ASCII white space (" \t\n\v\f\r") at either end.
inline std::string_view trimBlank(std::string_view s) {
  constexpr std::string_view kBlank = " \t\n\v\f\r";
  const size_t b = s.find_first_not_of(kBlank);
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(kBlank) - b + 1);
}

inline std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// The original daemon's boolean spellings, in any case: true/1/yes/on and false/0/no/off;
// nullopt for anything else (blanks included: callers trim where their format allows it).
inline std::optional<bool> parseBoolWord(std::string_view s) {
  const std::string v = asciiLower(s);
  if (v == "true" || v == "1" || v == "yes" || v == "on") {
    return true;
  }
  if (v == "false" || v == "0" || v == "no" || v == "off") {
    return false;
  }
  return std::nullopt;
}

}  // namespace nm
