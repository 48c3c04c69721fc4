#pragma once
// Hex fixtures for tests: "16 03 01" or "160301" -> bytes. Characters that are not hex digits
// (spaces, line breaks in wrapped fixtures) are skipped.

#include <cstdint>
#include <string_view>
#include <vector>

namespace nm::testing {

inline std::vector<uint8_t> fromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  int high = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

}  // namespace nm::testing
