#pragma once
// DNS message parsing for classification: which name a client asked for and which addresses
// the answer bound to it, so later flows to those addresses can be named.
//
// All functions are pure: they read only their arguments, keep no state between calls, throw
// nothing of their own (std::string and std::vector may still throw bad_alloc) and may be called
// from any thread. Output arguments are overwritten on every call. No count or length in the
// message is trusted; compression pointers must point backwards (before the name being read,
// RFC 1035 4.1.4 "a prior occurrence") and at most kMaxDnsPointerJumps are followed per name.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "classify/parse_status.h"
#include "core/net_types.h"

namespace nm {

namespace dnstype {
inline constexpr uint16_t kA = 1;
inline constexpr uint16_t kCname = 5;
inline constexpr uint16_t kAaaa = 28;
}  // namespace dnstype

// Answer records kept per message; further records are still checked but not stored. Large
// answers are round-robin pools whose first 64 addresses are plenty to name a service.
inline constexpr size_t kMaxDnsAnswers = 64;
inline constexpr int kMaxDnsPointerJumps = 32;
// CNAME hops resolveAddresses() follows before giving up (a loop or an absurd chain).
inline constexpr int kMaxCnameHops = 16;

// Names are in presentation form: labels joined by '.', lower-cased, no trailing dot, the root
// is "". Label bytes other than printable ASCII are escaped as \DDD, and '.' and '\' inside a
// label as "\." and "\\" (RFC 1035 section 5.1), so distinct wire names stay distinct.
struct DnsAnswer {
  std::string name;    // owner name
  uint16_t type = 0;   // dnstype::kA, kAaaa or kCname
  uint32_t ttl = 0;    // seconds; a value with the top bit set reads as 0 (RFC 2181 section 8)
  IpAddr addr;         // A and AAAA only
  std::string target;  // CNAME only
};

struct DnsMessage {
  uint16_t id = 0;
  bool is_response = false;  // QR bit
  bool truncated = false;    // TC bit
  uint8_t rcode = 0;         // header RCODE (4 bits; the EDNS extension is not read)
  std::string question;      // first question's name; "" when there is no question
  uint16_t qtype = 0;        // first question's type
  // Class IN records of type A, AAAA and CNAME from the answer section, in message order, at
  // most kMaxDnsAnswers. Other types and classes are skipped. The authority and additional
  // sections are not read.
  std::vector<DnsAnswer> answers;
};

// Parses one complete DNS message (a UDP payload, or one message of a TCP stream without its
// 2-byte length prefix).
//   kFound     header, every question and every answer record are well-formed. The first
//              question's name and the names of kept records are followed through their
//              pointers; other names are only stepped over up to their first pointer.
//   kNotThis   the opcode is not QUERY (NOTIFY, UPDATE, ...): nothing to learn from it.
//   kMalformed shorter than the 12-byte header, a count larger than the records present, a
//              record or name cut off, a label over 63 bytes, a name over 255 bytes, a pointer
//              that is forward, into the header or one jump too many, an A/AAAA of the wrong
//              size, a CNAME whose name does not fill its RDATA exactly.
// A message with the TC bit set may end at a record boundary before its counts are met (a
// truncated UDP answer); it is kFound with the records present. kNeedMore is never returned:
// the message is complete by contract.
ParseStatus parseDnsMessage(std::span<const uint8_t> msg, DnsMessage& out);

// Walks the length-prefixed messages of a DNS-over-TCP byte stream (RFC 1035 4.2.2).
// `stream` must start at a message boundary. Every complete message is parsed and appended to
// `out` (cleared first); `consumed` is the byte count of those messages with their prefixes, so
// the caller can drop them and call again from the next boundary with more bytes.
//   kFound     at least one message was parsed; stream.size() - consumed bytes of a partial
//              message may follow.
//   kNeedMore  no complete message yet.
//   kNotThis, kMalformed  as parseDnsMessage() for the first complete message that is not
//              kFound, or kMalformed for a length prefix under 12. Messages before it are in
//              `out` and covered by `consumed`; the stream should not be parsed further.
ParseStatus parseDnsOverTcp(std::span<const uint8_t> stream, std::vector<DnsMessage>& out,
                            size_t& consumed);

// The addresses a response binds to the name the client asked for. Follows the CNAME chain
// from msg.question (at most kMaxCnameHops hops) and returns the A/AAAA addresses of the first
// name on it that has any, each with the smallest TTL along the chain (address record
// included): the time the client may rely on the whole binding. Records for names off the
// chain are ignored. Empty for queries, without a question, or when the chain loops, is too
// long or ends without addresses. `resolved_for` is set to msg.question in every case.
std::vector<std::pair<IpAddr, uint32_t>> resolveAddresses(const DnsMessage& msg,
                                                          std::string& resolved_for);

}  // namespace nm
