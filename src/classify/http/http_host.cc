#include "classify/http/http_host.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/net_types.h"

namespace nm {
namespace {

constexpr std::array<std::string_view, 9> kMethods = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE"};

constexpr std::string_view kConnect = "CONNECT";
constexpr std::string_view kVersionPrefix = "HTTP/1.";
constexpr size_t kMaxHostNameLength = 253;

char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return toLower(x) == toLower(y);
         });
}

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equalsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool isHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '-' || c == '.' ||
         c == '_';
}

bool isIpv6LiteralChar(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// Control bytes never appear in a request line; their presence is the cheapest sign that a
// stream starting with "GET " is not HTTP after all.
bool isControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool isOws(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isOws(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lowerCase(std::string_view s) {
  std::string out(s.size(), '\0');
  std::transform(s.begin(), s.end(), out.begin(), toLower);
  return out;
}

// "host", "host:port", "[v6]" or "[v6]:port" -> lower-case host without port or brackets.
// False when the value is none of these.
bool normalizeHost(std::string_view value, std::string& host) {
  std::string_view name;
  std::string_view port;
  bool bracketed = false;
  if (!value.empty() && value.front() == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    name = value.substr(1, close - 1);
    std::string_view after = value.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return false;
      }
      port = after.substr(1);
    }
    bracketed = true;
  } else {
    const size_t colon = value.find(':');
    name = value.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = value.substr(colon + 1);
    }
  }
  if (!std::all_of(port.begin(), port.end(), isDigit)) {
    return false;
  }
  if (bracketed) {
    // inet_pton stops at a NUL, so "[::\0junk]" would pass it: check the characters first.
    IpAddr addr;
    if (!std::all_of(name.begin(), name.end(), isIpv6LiteralChar) || !IpAddr::parse(name, addr) ||
        !addr.isV6()) {
      return false;
    }
  } else if (name.empty() || name.size() > kMaxHostNameLength ||
             !std::all_of(name.begin(), name.end(), isHostNameChar)) {
    return false;
  }
  host = lowerCase(name);
  return true;
}

// The authority a request line names when it has no Host header to go by: CONNECT's
// authority-form target, or the authority of an absolute-form target (proxy requests).
bool hostFromTarget(std::string_view method, std::string_view target, std::string& host) {
  if (method == kConnect) {
    return normalizeHost(target, host);
  }
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (startsWithIgnoreCase(target, scheme)) {
      std::string_view authority = target.substr(scheme.size());
      authority = authority.substr(0, authority.find_first_of("/?#"));
      const size_t at = authority.rfind('@');
      if (at != std::string_view::npos) {
        authority.remove_prefix(at + 1);
      }
      return normalizeHost(authority, host);
    }
  }
  return false;
}

enum class MethodMatch { kMatch, kPrefix, kNone };

// Compares the start of the stream with "METHOD ". kPrefix: the stream is too short to tell.
MethodMatch matchMethod(std::string_view text, std::string_view& method) {
  bool prefix = false;
  for (const std::string_view m : kMethods) {
    const size_t n = std::min(text.size(), m.size());
    if (text.substr(0, n) != m.substr(0, n)) {
      continue;
    }
    if (text.size() <= m.size()) {
      prefix = true;
    } else if (text[m.size()] == ' ') {
      method = m;
      return MethodMatch::kMatch;
    }
  }
  return prefix ? MethodMatch::kPrefix : MethodMatch::kNone;
}

// "target SP HTTP/1.d" after the method and its space. False for anything else.
bool splitRequestLine(std::string_view rest, std::string_view& target) {
  const size_t space = rest.find(' ');
  if (space == 0 || space == std::string_view::npos) {
    return false;
  }
  target = rest.substr(0, space);
  const std::string_view version = rest.substr(space + 1);
  return version.size() == kVersionPrefix.size() + 1 &&
         version.substr(0, kVersionPrefix.size()) == kVersionPrefix && isDigit(version.back());
}

// The line starting at `pos`, without its LF and an optional CR before it; false when no LF
// follows within `text`.
bool nextLine(std::string_view text, size_t& pos, std::string_view& line) {
  const size_t lf = text.find('\n', pos);
  if (lf == std::string_view::npos) {
    return false;
  }
  line = text.substr(pos, lf - pos);
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  pos = lf + 1;
  return true;
}

ParseStatus findHost(std::span<const uint8_t> stream, std::string& host) {
  // Everything is judged on the first kMaxHttpHeaderBytes only, so a longer stream can never
  // change an answer already given.
  const bool at_cap = stream.size() >= kMaxHttpHeaderBytes;
  const std::string_view text(reinterpret_cast<const char*>(stream.data()),
                              std::min(stream.size(), kMaxHttpHeaderBytes));
  const ParseStatus incomplete = at_cap ? ParseStatus::kMalformed : ParseStatus::kNeedMore;

  std::string_view method;
  switch (matchMethod(text, method)) {
    case MethodMatch::kNone:
      return ParseStatus::kNotThis;
    case MethodMatch::kPrefix:
      return ParseStatus::kNeedMore;
    case MethodMatch::kMatch:
      break;
  }

  size_t pos = 0;
  std::string_view request_line;
  if (!nextLine(text, pos, request_line)) {
    // Reject binary early rather than buffer 8 KiB of it. A CR may be the first half of CRLF.
    const std::string_view partial = text.substr(method.size() + 1);
    if (std::any_of(partial.begin(), partial.end(),
                    [](char c) { return isControl(c) && c != '\r'; })) {
      return ParseStatus::kNotThis;
    }
    return incomplete;
  }
  std::string_view target;
  if (std::any_of(request_line.begin(), request_line.end(), isControl) ||
      !splitRequestLine(request_line.substr(method.size() + 1), target)) {
    return ParseStatus::kNotThis;
  }

  std::string_view line;
  while (nextLine(text, pos, line)) {
    if (line.empty()) {
      return hostFromTarget(method, target, host) ? ParseStatus::kFound : ParseStatus::kMalformed;
    }
    const size_t colon = line.find(':');
    // Folded continuation lines start with whitespace and so never match "Host".
    if (colon == std::string_view::npos ||
        !equalsIgnoreCase(trimOws(line.substr(0, colon)), "host") || isOws(line.front())) {
      continue;
    }
    if (normalizeHost(trimOws(line.substr(colon + 1)), host)) {
      return ParseStatus::kFound;
    }
  }
  return incomplete;
}

}  // namespace

ParseStatus parseHttpRequestHost(std::span<const uint8_t> stream, std::string& host) {
  host.clear();
  const ParseStatus status = findHost(stream, host);
  if (status != ParseStatus::kFound) {
    host.clear();
  }
  return status;
}

}  // namespace nm
