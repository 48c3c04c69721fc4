// libFuzzer target for the DNS parsers. Any bytes, as one message and as a DNS-over-TCP stream,
// must parse without a crash, a sanitizer report or a hang; kept records are well-formed, CNAME
// resolution stays within the answers, and the TCP walk agrees with the single-message parser.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "classify/dns/dns_message.h"

namespace {

using nm::DnsAnswer;
using nm::DnsMessage;
using nm::ParseStatus;

void check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

bool hasUpperCase(const std::string& name) {
  return std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

void checkMessage(ParseStatus status, const DnsMessage& msg) {
  check(status != ParseStatus::kNeedMore);
  if (status != ParseStatus::kFound) {
    check(msg.id == 0 && msg.question.empty() && msg.answers.empty() && msg.qtype == 0);
    return;
  }
  check(msg.rcode < 16 && !hasUpperCase(msg.question));
  check(msg.answers.size() <= nm::kMaxDnsAnswers);
  for (const DnsAnswer& a : msg.answers) {
    check(!hasUpperCase(a.name) && !hasUpperCase(a.target) && a.ttl <= 0x7fffffffu);
    switch (a.type) {
      case nm::dnstype::kA:
        check(a.addr.isV4() && a.target.empty());
        break;
      case nm::dnstype::kAaaa:
        check(a.addr.isV6() && a.target.empty());
        break;
      case nm::dnstype::kCname:
        check(a.addr.family == 0);
        break;
      default:
        check(false);
    }
  }
  std::string resolved_for;
  const auto addresses = nm::resolveAddresses(msg, resolved_for);
  check(resolved_for == msg.question && addresses.size() <= msg.answers.size());
  for (const auto& resolved : addresses) {
    check(std::any_of(msg.answers.begin(), msg.answers.end(), [&](const DnsAnswer& a) {
      return a.type != nm::dnstype::kCname && a.addr == resolved.first && a.ttl >= resolved.second;
    }));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  DnsMessage msg;
  checkMessage(nm::parseDnsMessage(input, msg), msg);

  std::vector<DnsMessage> messages;
  size_t consumed = 0;
  const ParseStatus status = nm::parseDnsOverTcp(input, messages, consumed);
  check(consumed <= size);
  if (status == ParseStatus::kFound) {
    check(!messages.empty());
  }
  if (status == ParseStatus::kNeedMore) {
    check(messages.empty() && consumed == 0);
  }
  // Walk the prefixes again by hand: each message must be what parseDnsMessage() makes of it.
  size_t pos = 0;
  for (const DnsMessage& m : messages) {
    check(size - pos >= 2);
    const size_t len = (size_t{data[pos]} << 8) | data[pos + 1];
    DnsMessage again;
    check(nm::parseDnsMessage(input.subspan(pos + 2, len), again) == ParseStatus::kFound);
    check(again.id == m.id && again.question == m.question &&
          again.answers.size() == m.answers.size());
    pos += 2 + len;
  }
  check(pos == consumed);
  return 0;
}
