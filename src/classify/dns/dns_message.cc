#include "classify/dns/dns_message.h"
#include "core/byte_order.h"

#include <algorithm>
#include <limits>
#include <string_view>

namespace nm {
namespace {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kQuestionFixedBytes = 4;                  // QTYPE, QCLASS
constexpr size_t kRecordFixedBytes = 10;                   // TYPE, CLASS, TTL, RDLENGTH
constexpr size_t kMinRecordBytes = 1 + kRecordFixedBytes;  // root owner, empty RDATA
constexpr size_t kMaxNameWireLength = 255;
constexpr size_t kTcpLengthPrefixBytes = 2;
constexpr uint16_t kClassIn = 1;
constexpr uint8_t kOpcodeQuery = 0;

constexpr uint8_t kLabelTypeMask = 0xc0;
constexpr uint8_t kLabelTypePointer = 0xc0;
constexpr uint8_t kLabelTypeNormal = 0x00;

void appendEscapedLabel(std::span<const uint8_t> label, std::string& name) {
  static constexpr char kDigits[] = "0123456789";
  for (const uint8_t c : label) {
    if (c >= 'A' && c <= 'Z') {
      name += static_cast<char>(c + ('a' - 'A'));
    } else if (c == '.' || c == '\\') {
      name += '\\';
      name += static_cast<char>(c);
    } else if (c > 0x20 && c < 0x7f) {
      name += static_cast<char>(c);
    } else {
      name += '\\';
      name += kDigits[c / 100];
      name += kDigits[(c / 10) % 10];
      name += kDigits[c % 10];
    }
  }
}

// Steps over the name at `pos` without following pointers: its own bytes end at the root label
// or at the first pointer. `next` is the offset after them. For records that are not kept.
bool skipName(std::span<const uint8_t> msg, size_t pos, size_t& next) {
  size_t wire_length = 0;
  while (pos < msg.size()) {
    const uint8_t len = msg[pos];
    if ((len & kLabelTypeMask) == kLabelTypePointer) {
      if (msg.size() - pos < 2) {
        return false;
      }
      next = pos + 2;
      return true;
    }
    if ((len & kLabelTypeMask) != kLabelTypeNormal) {
      return false;
    }
    wire_length += 1 + size_t{len};
    if (wire_length > kMaxNameWireLength || msg.size() - pos - 1 < len) {
      return false;
    }
    pos += 1 + size_t{len};
    if (len == 0) {
      next = pos;
      return true;
    }
  }
  return false;
}

// Reads the possibly compressed name at `pos` into `name`; `next` is the offset after the
// name's own bytes. Every pointer must land before the start of the stretch of labels it
// ends, so the read positions strictly decrease from jump to jump: no loop can form, whatever
// the jump cap.
bool readName(std::span<const uint8_t> msg, size_t pos, std::string& name, size_t& next) {
  name.clear();
  size_t stretch_start = pos;
  size_t wire_length = 0;
  int jumps = 0;
  bool jumped = false;
  while (pos < msg.size()) {
    const uint8_t len = msg[pos];
    if ((len & kLabelTypeMask) == kLabelTypePointer) {
      if (msg.size() - pos < 2) {
        return false;
      }
      const size_t target = (size_t{len & 0x3fu} << 8) | msg[pos + 1];
      if (target >= stretch_start || target < kHeaderBytes || ++jumps > kMaxDnsPointerJumps) {
        return false;
      }
      if (!jumped) {
        next = pos + 2;
        jumped = true;
      }
      pos = target;
      stretch_start = target;
      continue;
    }
    // A normal label's length has 6 bits (63 at most); 0x40 and 0x80 are the extended and
    // binary label types, never deployed (RFC 6891 section 5).
    if ((len & kLabelTypeMask) != kLabelTypeNormal) {
      return false;
    }
    wire_length += 1 + size_t{len};
    if (wire_length > kMaxNameWireLength || msg.size() - pos - 1 < len) {
      return false;
    }
    if (len == 0) {
      if (!jumped) {
        next = pos + 1;
      }
      return true;
    }
    if (!name.empty()) {
      name += '.';
    }
    appendEscapedLabel(msg.subspan(pos + 1, len), name);
    pos += 1 + size_t{len};
  }
  return false;
}

// One answer-section record at `pos`. Kept in `answers` when it is an IN A/AAAA/CNAME and
// there is room. False when the record is cut off or its RDATA is inconsistent.
bool parseAnswer(std::span<const uint8_t> msg, size_t& pos, std::vector<DnsAnswer>& answers) {
  const size_t owner = pos;
  size_t fixed = 0;
  if (!skipName(msg, owner, fixed) || msg.size() - fixed < kRecordFixedBytes) {
    return false;
  }
  const uint16_t type = be16(msg.data() + fixed);
  const uint16_t klass = be16(msg.data() + fixed + 2);
  const uint32_t ttl = be32(msg.data() + fixed + 4);
  const size_t rdlength = be16(msg.data() + fixed + 8);
  const size_t rdata = fixed + kRecordFixedBytes;
  if (msg.size() - rdata < rdlength) {
    return false;
  }
  pos = rdata + rdlength;

  const bool wanted = klass == kClassIn &&
                      (type == dnstype::kA || type == dnstype::kAaaa || type == dnstype::kCname);
  if (!wanted) {
    return true;
  }
  if ((type == dnstype::kA && rdlength != 4) || (type == dnstype::kAaaa && rdlength != 16)) {
    return false;
  }
  DnsAnswer answer;
  size_t after = 0;
  if (type == dnstype::kCname &&
      (!readName(msg, rdata, answer.target, after) || after != rdata + rdlength)) {
    return false;
  }
  if (answers.size() >= kMaxDnsAnswers) {
    return true;
  }
  if (!readName(msg, owner, answer.name, after)) {
    return false;
  }
  answer.type = type;
  // RFC 2181 section 8: a TTL with the top bit set is treated as zero.
  answer.ttl = (ttl & 0x80000000u) != 0 ? 0 : ttl;
  if (type == dnstype::kA) {
    answer.addr = IpAddr::v4(msg.data() + rdata);
  } else if (type == dnstype::kAaaa) {
    answer.addr = IpAddr::v6(msg.data() + rdata);
  }
  answers.push_back(std::move(answer));
  return true;
}

ParseStatus parseMessage(std::span<const uint8_t> msg, DnsMessage& out) {
  if (msg.size() < kHeaderBytes) {
    return ParseStatus::kMalformed;
  }
  const uint16_t flags = be16(msg.data() + 2);
  if (((flags >> 11) & 0x0f) != kOpcodeQuery) {
    return ParseStatus::kNotThis;
  }
  out.id = be16(msg.data());
  out.is_response = (flags & 0x8000) != 0;
  out.truncated = (flags & 0x0200) != 0;
  out.rcode = static_cast<uint8_t>(flags & 0x0f);
  const size_t qdcount = be16(msg.data() + 4);
  const size_t ancount = be16(msg.data() + 6);

  // A count that lies runs out of message: every question and record takes at least 5 bytes.
  size_t pos = kHeaderBytes;
  for (size_t i = 0; i < qdcount; ++i) {
    if (out.truncated && pos == msg.size()) {
      return ParseStatus::kFound;
    }
    size_t fixed = 0;
    const bool first = i == 0;
    const bool ok = first ? readName(msg, pos, out.question, fixed) : skipName(msg, pos, fixed);
    if (!ok || msg.size() - fixed < kQuestionFixedBytes) {
      return ParseStatus::kMalformed;
    }
    if (first) {
      out.qtype = be16(msg.data() + fixed);
    }
    pos = fixed + kQuestionFixedBytes;
  }
  // Reserve for what the bytes can hold, not for what the count claims.
  out.answers.reserve(std::min({ancount, kMaxDnsAnswers, (msg.size() - pos) / kMinRecordBytes}));
  for (size_t i = 0; i < ancount; ++i) {
    if (out.truncated && pos == msg.size()) {
      return ParseStatus::kFound;
    }
    if (!parseAnswer(msg, pos, out.answers)) {
      return ParseStatus::kMalformed;
    }
  }
  return ParseStatus::kFound;
}

}  // namespace

ParseStatus parseDnsMessage(std::span<const uint8_t> msg, DnsMessage& out) {
  out = DnsMessage{};
  const ParseStatus status = parseMessage(msg, out);
  if (status != ParseStatus::kFound) {
    out = DnsMessage{};
  }
  return status;
}

ParseStatus parseDnsOverTcp(std::span<const uint8_t> stream, std::vector<DnsMessage>& out,
                            size_t& consumed) {
  out.clear();
  consumed = 0;
  ParseStatus status = ParseStatus::kNeedMore;
  while (stream.size() - consumed >= kTcpLengthPrefixBytes) {
    const size_t len = be16(stream.data() + consumed);
    if (len < kHeaderBytes) {
      return ParseStatus::kMalformed;
    }
    if (stream.size() - consumed - kTcpLengthPrefixBytes < len) {
      break;
    }
    DnsMessage msg;
    const ParseStatus one =
        parseDnsMessage(stream.subspan(consumed + kTcpLengthPrefixBytes, len), msg);
    if (one != ParseStatus::kFound) {
      return one;
    }
    out.push_back(std::move(msg));
    consumed += kTcpLengthPrefixBytes + len;
    status = ParseStatus::kFound;
  }
  return status;
}

std::vector<std::pair<IpAddr, uint32_t>> resolveAddresses(const DnsMessage& msg,
                                                          std::string& resolved_for) {
  resolved_for = msg.question;
  std::vector<std::pair<IpAddr, uint32_t>> addresses;
  if (!msg.is_response || msg.question.empty()) {
    return addresses;
  }
  std::string_view name = msg.question;
  uint32_t chain_ttl = std::numeric_limits<uint32_t>::max();
  for (int hop = 0; hop <= kMaxCnameHops; ++hop) {
    for (const DnsAnswer& a : msg.answers) {
      if ((a.type == dnstype::kA || a.type == dnstype::kAaaa) && a.name == name) {
        addresses.emplace_back(a.addr, std::min(chain_ttl, a.ttl));
      }
    }
    if (!addresses.empty()) {
      return addresses;
    }
    const auto cname = std::find_if(
        msg.answers.begin(), msg.answers.end(),
        [&](const DnsAnswer& a) { return a.type == dnstype::kCname && a.name == name; });
    if (cname == msg.answers.end()) {
      return addresses;
    }
    chain_ttl = std::min(chain_ttl, cname->ttl);
    name = cname->target;
  }
  return addresses;
}

}  // namespace nm
