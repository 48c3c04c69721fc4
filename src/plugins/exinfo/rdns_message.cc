// The DNS side of reverse lookups: PTR question names and the parse of PTR responses
// (rdns_resolver.h). Pure functions over bytes; the resolver thread is in rdns_resolver.cc.
#include "plugins/exinfo/rdns_resolver.h"

#include <ares.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace nm {
namespace {

constexpr int kClassIn = 1;
constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypePtr = 12;
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxMessageSize = 65'535;  // the DNS-over-TCP length prefix's limit
constexpr int kRcodeNoError = 0;
constexpr int kRcodeNxDomain = 3;

uint16_t read16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t read32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// RFC 2181 §8: a TTL with the top bit set is treated as zero.
uint32_t ttlValue(uint32_t raw) {
  return raw > 0x7fff'ffffu ? 0 : raw;
}

// Moves `pos` past the name at `pos` without following compression pointers: on the wire a name
// ends at its first pointer or at the root label, so skipping cannot loop. false when the name
// runs past `end` or uses the obsolete 0x40/0x80 label types.
bool skipName(const uint8_t* data, size_t end, size_t& pos) {
  size_t wire_length = 0;
  while (true) {
    if (pos >= end) {
      return false;
    }
    const uint8_t len = data[pos];
    if ((len & 0xc0) == 0xc0) {
      if (end - pos < 2) {
        return false;
      }
      pos += 2;
      return true;
    }
    if ((len & 0xc0) != 0) {
      return false;
    }
    ++pos;
    if (len == 0) {
      return true;
    }
    wire_length += size_t{len} + 1;
    if (end - pos < len || wire_length > 255) {
      return false;
    }
    pos += len;
  }
}

struct ResourceRecord {
  uint16_t type = 0;
  uint16_t rr_class = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;  // offset in the message
  size_t rdlength = 0;
};

bool readRecord(const uint8_t* data, size_t size, size_t& pos, ResourceRecord& rr) {
  if (!skipName(data, size, pos) || size - pos < 10) {
    return false;
  }
  rr.type = read16(data + pos);
  rr.rr_class = read16(data + pos + 2);
  rr.ttl = read32(data + pos + 4);
  rr.rdlength = read16(data + pos + 8);
  pos += 10;
  if (size - pos < rr.rdlength) {
    return false;
  }
  rr.rdata = pos;
  pos += rr.rdlength;
  return true;
}

RdnsAnswer failedAnswer(std::string error) {
  RdnsAnswer a;
  a.status = RdnsStatus::kFailed;
  a.error = std::move(error);
  return a;
}

RdnsAnswer malformed(const char* what) {
  return failedAnswer(fmt::format("{}: {}", ares_strerror(ARES_EBADRESP), what));
}

// The c-ares status for an error rcode, so both paths to kFailed speak the same words.
int rcodeStatus(int rcode) {
  switch (rcode) {
    case 1:
      return ARES_EFORMERR;
    case 2:
      return ARES_ESERVFAIL;
    case 4:
      return ARES_ENOTIMP;
    case 5:
      return ARES_EREFUSED;
    default:
      return ARES_EBADRESP;
  }
}

bool isHostnameByte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// True when the name at `pos` (pointers followed, at most kMaxJumps of them) is made of host-name
// labels only. c-ares escapes other bytes ("\.", "\000"), which is not a name to show, and
// 1.18 loses a label holding a single NUL byte, which would turn "a.\0" into "a".
bool hostnameLabels(const uint8_t* data, size_t size, size_t pos) {
  constexpr int kMaxJumps = 128;
  int jumps = 0;
  size_t wire_length = 0;
  while (pos < size) {
    const uint8_t len = data[pos];
    if ((len & 0xc0) == 0xc0) {
      if (size - pos < 2 || ++jumps > kMaxJumps) {
        return false;
      }
      pos = size_t{read16(data + pos)} & 0x3fff;
      continue;
    }
    if ((len & 0xc0) != 0) {
      return false;
    }
    if (len == 0) {
      return wire_length > 0;
    }
    wire_length += size_t{len} + 1;
    if (size - pos - 1 < len || wire_length > 255 ||
        !std::all_of(data + pos + 1, data + pos + 1 + len, isHostnameByte)) {
      return false;
    }
    pos += size_t{len} + 1;
  }
  return false;
}

// The PTR target at `rdata`, expanded by c-ares (compression pointers followed, loops refused).
bool expandPtrName(const uint8_t* data, size_t size, const ResourceRecord& rr, std::string& name) {
  if (rr.rdlength == 0 || !hostnameLabels(data, size, rr.rdata)) {
    return false;
  }
  char* expanded = nullptr;
  long encoded_length = 0;
  if (ares_expand_name(data + rr.rdata, data, static_cast<int>(size), &expanded, &encoded_length) !=
      ARES_SUCCESS) {
    return false;
  }
  name = expanded;
  ares_free_string(expanded);
  if (encoded_length <= 0 || static_cast<size_t>(encoded_length) != rr.rdlength) {
    return false;
  }
  if (!name.empty() && name.back() == '.') {
    name.pop_back();
  }
  return !name.empty();
}

}  // namespace

std::string reverseName(const IpAddr& ip) {
  const auto& b = ip.bytes;
  if (ip.isV4()) {
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
  }
  if (!ip.isV6()) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name;
  name.reserve(64 + 8);
  for (size_t i = 16; i-- > 0;) {
    name += kHex[b[i] & 0x0f];
    name += '.';
    name += kHex[b[i] >> 4];
    name += '.';
  }
  name += "ip6.arpa";
  return name;
}

RdnsAnswer parsePtrResponse(const uint8_t* data, size_t size, uint32_t negative_ttl_s) {
  if (data == nullptr || size < kHeaderSize) {
    return malformed("shorter than a DNS header");
  }
  if (size > kMaxMessageSize) {
    return malformed("longer than a DNS message can be");
  }
  if ((data[2] & 0x80) == 0) {
    return malformed("not a response (QR bit clear)");
  }
  const int rcode = data[3] & 0x0f;
  if (rcode != kRcodeNoError && rcode != kRcodeNxDomain) {
    return failedAnswer(ares_strerror(rcodeStatus(rcode)));
  }
  const size_t questions = read16(data + 4);
  const size_t answers = read16(data + 6);
  const size_t authorities = read16(data + 8);
  const size_t additionals = read16(data + 10);

  size_t pos = kHeaderSize;
  for (size_t i = 0; i < questions; ++i) {
    if (!skipName(data, size, pos) || size - pos < 4) {
      return malformed("truncated question");
    }
    pos += 4;
  }

  // Every section is walked to its end, even after the PTR is found: a message cut short is
  // malformed however much of it looked good.
  bool found = false;
  std::string name;
  uint32_t ttl = UINT32_MAX;
  ResourceRecord rr;
  for (size_t i = 0; i < answers; ++i) {
    if (!readRecord(data, size, pos, rr)) {
      return malformed("truncated answer record");
    }
    // RFC 2317 delegations answer with a CNAME first: any PTR in the section counts.
    if (rr.type != kTypePtr || rr.rr_class != kClassIn) {
      continue;
    }
    if (!found) {
      if (!expandPtrName(data, size, rr, name)) {
        return malformed("PTR target is not a host name");
      }
      found = true;
    }
    ttl = std::min(ttl, ttlValue(rr.ttl));
  }

  bool have_soa = false;
  uint32_t negative_ttl = negative_ttl_s;
  for (size_t i = 0; i < authorities; ++i) {
    if (!readRecord(data, size, pos, rr)) {
      return malformed("truncated authority record");
    }
    if (have_soa || rr.type != kTypeSoa || rr.rr_class != kClassIn) {
      continue;
    }
    // SOA rdata: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (32 bits each).
    const size_t end = rr.rdata + rr.rdlength;
    size_t p = rr.rdata;
    if (!skipName(data, end, p) || !skipName(data, end, p) || end - p < 20) {
      return malformed("bad SOA record");
    }
    negative_ttl = std::min(ttlValue(rr.ttl), ttlValue(read32(data + end - 4)));  // RFC 2308 §5
    have_soa = true;
  }
  for (size_t i = 0; i < additionals; ++i) {
    if (!readRecord(data, size, pos, rr)) {
      return malformed("truncated additional record");
    }
  }

  RdnsAnswer a;
  if (found) {
    a.status = RdnsStatus::kName;
    a.name = std::move(name);
    a.ttl_s = ttl;
  } else {
    a.status = RdnsStatus::kNoName;
    a.ttl_s = negative_ttl;
  }
  return a;
}

}  // namespace nm
