#include "decode/decode.h"
#include "core/byte_order.h"

#include <algorithm>
#include <cstring>

namespace nm {
namespace {

// Caps on repeated headers. Real traffic stays far below them; they bound the work one crafted
// frame can cause and keep every loop finite whatever the bytes say.
constexpr int kMaxVlanTags = 8;
constexpr int kMaxMplsLabels = 16;
constexpr int kMaxIpv6ExtHeaders = 8;
constexpr int kMaxTunnelLayers = 4;

// LINKTYPE_* values as stored in pcap files and returned by pcap_datalink().
namespace linktype {
constexpr uint32_t kNull = 0;
constexpr uint32_t kEthernet = 1;
constexpr uint32_t kPpp = 9;
constexpr uint32_t kRaw = 12;         // DLT_RAW on most systems
constexpr uint32_t kRawOpenBsd = 14;  // DLT_RAW on OpenBSD
constexpr uint32_t kRawPcap = 101;    // LINKTYPE_RAW, what pcap files store for DLT_RAW
constexpr uint32_t kCiscoHdlc = 104;
constexpr uint32_t kLoop = 108;
constexpr uint32_t kLinuxSll = 113;
constexpr uint32_t kPpi = 192;
constexpr uint32_t kIpv4 = 228;
constexpr uint32_t kIpv6 = 229;
constexpr uint32_t kLinuxSll2 = 276;
}  // namespace linktype

namespace ethertype {
constexpr uint16_t kIpv4 = 0x0800;
constexpr uint16_t kIpv6 = 0x86dd;
constexpr uint16_t kVlan = 0x8100;
constexpr uint16_t kQinQ = 0x88a8;
constexpr uint16_t kQinQLegacy = 0x9100;
constexpr uint16_t kPppoeSession = 0x8864;
constexpr uint16_t kMplsUnicast = 0x8847;
constexpr uint16_t kMplsMulticast = 0x8848;
}  // namespace ethertype

namespace pppproto {
constexpr uint16_t kIpv4 = 0x0021;
constexpr uint16_t kIpv6 = 0x0057;
}  // namespace pppproto

// IPv6 extension headers we step over. Mobility, HIP and Shim6 share the generic layout.
namespace exthdr {
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kAuthentication = 51;
constexpr uint8_t kDestinationOptions = 60;
constexpr uint8_t kMobility = 135;
constexpr uint8_t kHip = 139;
constexpr uint8_t kShim6 = 140;
}  // namespace exthdr

// AF_INET is 2 everywhere; AF_INET6 differs per OS (Linux 10, Net/OpenBSD 24, FreeBSD 28,
// macOS 30), and a capture may come from any of them.
constexpr uint32_t kAfInet = 2;

bool isAfInet6(uint32_t af) {
  return af == 10 || af == 24 || af == 28 || af == 30;
}

// IpAddr::v4() builds a temporary with a 4-byte store and copies it with 16-byte loads, which
// stalls store forwarding on the hot path; write the address in place instead.
void setIpv4(IpAddr& addr, const uint8_t* p) {
  addr = IpAddr{};
  std::memcpy(addr.bytes.data(), p, 4);
  addr.family = 4;
}

struct Frame {
  const uint8_t* data;
  uint32_t caplen;
  uint32_t wirelen;  // never below caplen
};

// Where the IP header starts, and which version the link layer announced.
struct NetworkStart {
  uint32_t offset = 0;
  uint8_t version = 0;
};

// An IP packet's payload as absolute frame offsets: [offset, cap_end) was captured,
// [offset, wire_end) is what the IP header claims, clamped to the frame on the wire.
// Invariant: offset <= cap_end <= wire_end.
struct IpPayload {
  uint32_t offset = 0;
  uint32_t cap_end = 0;
  uint32_t wire_end = 0;
  uint8_t proto = 0;
  bool has_transport = true;  // false for a non-first fragment
};

// All link decoders share one precondition: off <= f.caplen, so `f.caplen - off` never wraps.
DecodeStatus networkFromVersion(const Frame& f, uint32_t off, DecodeStatus truncated,
                                NetworkStart& net) {
  if (f.caplen - off < 1) {
    return truncated;
  }
  const uint8_t version = f.data[off] >> 4;
  if (version != 4 && version != 6) {
    return DecodeStatus::kNotIp;
  }
  net = {off, version};
  return DecodeStatus::kOk;
}

DecodeStatus decodePppoe(const Frame& f, uint32_t off, NetworkStart& net) {
  // version/type, code, session id, length, then the 2-byte PPP protocol.
  if (f.caplen - off < 8) {
    return DecodeStatus::kTruncatedPppoe;
  }
  switch (be16(f.data + off + 6)) {
    case pppproto::kIpv4:
      net = {off + 8, 4};
      return DecodeStatus::kOk;
    case pppproto::kIpv6:
      net = {off + 8, 6};
      return DecodeStatus::kOk;
    default:
      return DecodeStatus::kNotIp;  // LCP, IPCP, ...
  }
}

DecodeStatus decodeMpls(const Frame& f, uint32_t off, NetworkStart& net) {
  for (int labels = 1;; ++labels) {
    if (labels > kMaxMplsLabels) {
      return DecodeStatus::kTooManyMplsLabels;
    }
    if (f.caplen - off < 4) {
      return DecodeStatus::kTruncatedMpls;
    }
    const bool bottom_of_stack = (f.data[off + 2] & 0x01) != 0;
    off += 4;
    if (bottom_of_stack) {
      break;
    }
  }
  // MPLS does not say what it carries; the first nibble does for IP (a pseudowire control word
  // starts with 0 and falls to kNotIp).
  return networkFromVersion(f, off, DecodeStatus::kTruncatedMpls, net);
}

// Dispatches on an ethertype whose payload starts at `off`, stepping over VLAN tags.
DecodeStatus decodeEthertype(const Frame& f, uint16_t type, uint32_t off, DecodedPacket& out,
                             NetworkStart& net) {
  int tags = 0;
  while (type == ethertype::kVlan || type == ethertype::kQinQ || type == ethertype::kQinQLegacy) {
    if (++tags > kMaxVlanTags) {
      return DecodeStatus::kTooManyVlanTags;
    }
    if (f.caplen - off < 4) {
      return DecodeStatus::kTruncatedVlan;
    }
    out.vlan_id = be16(f.data + off) & 0x0fff;
    type = be16(f.data + off + 2);
    off += 4;
  }
  switch (type) {
    case ethertype::kIpv4:
      net = {off, 4};
      return DecodeStatus::kOk;
    case ethertype::kIpv6:
      net = {off, 6};
      return DecodeStatus::kOk;
    case ethertype::kPppoeSession:
      return decodePppoe(f, off, net);
    case ethertype::kMplsUnicast:
    case ethertype::kMplsMulticast:
      return decodeMpls(f, off, net);
    default:
      return DecodeStatus::kNotIp;  // ARP, LLDP, 802.3 length fields, ...
  }
}

DecodeStatus decodeEthernet(const Frame& f, uint32_t off, DecodedPacket& out, NetworkStart& net) {
  if (f.caplen - off < 14) {
    return DecodeStatus::kTruncatedLink;
  }
  const uint8_t* eth = f.data + off;
  out.has_mac = true;
  out.dst_mac = MacAddr::fromBytes(eth);
  out.src_mac = MacAddr::fromBytes(eth + 6);
  return decodeEthertype(f, be16(eth + 12), off + 14, out, net);
}

// SLL: packet type(2) ARPHRD(2) address length(2) address(8) protocol(2).
DecodeStatus decodeLinuxSll(const Frame& f, uint32_t off, DecodedPacket& out, NetworkStart& net) {
  if (f.caplen - off < 16) {
    return DecodeStatus::kTruncatedLink;
  }
  const uint8_t* sll = f.data + off;
  // The address is the sender's, whatever the packet's direction.
  if (be16(sll + 4) == 6) {
    out.has_mac = true;
    out.src_mac = MacAddr::fromBytes(sll + 6);
  }
  return decodeEthertype(f, be16(sll + 14), off + 16, out, net);
}

// SLL2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8).
DecodeStatus decodeLinuxSll2(const Frame& f, uint32_t off, DecodedPacket& out, NetworkStart& net) {
  if (f.caplen - off < 20) {
    return DecodeStatus::kTruncatedLink;
  }
  const uint8_t* sll = f.data + off;
  if (sll[11] == 6) {
    out.has_mac = true;
    out.src_mac = MacAddr::fromBytes(sll + 12);
  }
  return decodeEthertype(f, be16(sll), off + 20, out, net);
}

// BSD loopback: a 4-byte address family, in the capturing host's byte order (DLT_NULL) or in
// network order (DLT_LOOP).
DecodeStatus decodeLoopback(const Frame& f, uint32_t off, bool host_order, NetworkStart& net) {
  if (f.caplen - off < 4) {
    return DecodeStatus::kTruncatedLink;
  }
  const uint32_t af_be = be32(f.data + off);
  const uint32_t af_le = host_order ? le32(f.data + off) : af_be;
  if (af_be == kAfInet || af_le == kAfInet) {
    net = {off + 4, 4};
    return DecodeStatus::kOk;
  }
  if (isAfInet6(af_be) || isAfInet6(af_le)) {
    net = {off + 4, 6};
    return DecodeStatus::kOk;
  }
  return DecodeStatus::kNotIp;
}

// PPP: optional 0xff 0x03 address/control, then a 1-byte (compressed, odd) or 2-byte protocol.
DecodeStatus decodePpp(const Frame& f, uint32_t off, NetworkStart& net) {
  if (f.caplen - off >= 2 && f.data[off] == 0xff && f.data[off + 1] == 0x03) {
    off += 2;
  }
  if (f.caplen - off < 1) {
    return DecodeStatus::kTruncatedLink;
  }
  uint16_t proto = f.data[off];
  if ((proto & 0x01) != 0) {
    off += 1;
  } else {
    if (f.caplen - off < 2) {
      return DecodeStatus::kTruncatedLink;
    }
    proto = be16(f.data + off);
    off += 2;
  }
  switch (proto) {
    case pppproto::kIpv4:
      net = {off, 4};
      return DecodeStatus::kOk;
    case pppproto::kIpv6:
      net = {off, 6};
      return DecodeStatus::kOk;
    default:
      return DecodeStatus::kNotIp;
  }
}

DecodeStatus decodeLink(const Frame& f, uint32_t linktype, uint32_t off, bool inside_ppi,
                        DecodedPacket& out, NetworkStart& net);

// PPI: version(1) flags(1) header length(2, LE) DLT(4, LE), fields, then the wrapped frame.
DecodeStatus decodePpi(const Frame& f, uint32_t off, DecodedPacket& out, NetworkStart& net) {
  if (f.caplen - off < 8) {
    return DecodeStatus::kTruncatedLink;
  }
  const uint32_t header_len = le16(f.data + off + 2);
  if (header_len < 8) {
    return DecodeStatus::kBadPpiHeader;
  }
  if (f.caplen - off < header_len) {
    return DecodeStatus::kTruncatedLink;
  }
  return decodeLink(f, le32(f.data + off + 4), off + header_len, /*inside_ppi=*/true, out, net);
}

DecodeStatus decodeLink(const Frame& f, uint32_t linktype, uint32_t off, bool inside_ppi,
                        DecodedPacket& out, NetworkStart& net) {
  switch (linktype) {
    case linktype::kEthernet:
      return decodeEthernet(f, off, out, net);
    case linktype::kLinuxSll:
      return decodeLinuxSll(f, off, out, net);
    case linktype::kLinuxSll2:
      return decodeLinuxSll2(f, off, out, net);
    case linktype::kRaw:
    case linktype::kRawOpenBsd:
    case linktype::kRawPcap:
      return networkFromVersion(f, off, DecodeStatus::kTruncatedLink, net);
    case linktype::kIpv4:
      net = {off, 4};
      return DecodeStatus::kOk;
    case linktype::kIpv6:
      net = {off, 6};
      return DecodeStatus::kOk;
    case linktype::kNull:
      return decodeLoopback(f, off, /*host_order=*/true, net);
    case linktype::kLoop:
      return decodeLoopback(f, off, /*host_order=*/false, net);
    case linktype::kPpp:
      return decodePpp(f, off, net);
    case linktype::kCiscoHdlc:
      // address(1) control(1) protocol(2, an ethertype)
      if (f.caplen - off < 4) {
        return DecodeStatus::kTruncatedLink;
      }
      return decodeEthertype(f, be16(f.data + off + 2), off + 4, out, net);
    case linktype::kPpi:
      // One level only: a PPI inside PPI is not something a capture tool writes.
      if (inside_ppi) {
        return DecodeStatus::kUnsupportedLinkType;
      }
      return decodePpi(f, off, out, net);
    default:
      return DecodeStatus::kUnsupportedLinkType;
  }
}

// The IP decoders take the bounds of the packet that contains this header: the frame for the
// outermost one, the outer IP payload for a tunnelled one. Precondition: off <= cap_end.
DecodeStatus decodeIpv4(const Frame& f, uint32_t off, uint32_t cap_end, uint32_t wire_end,
                        DecodedPacket& out, IpPayload& payload) {
  if (cap_end - off < 20) {
    return DecodeStatus::kTruncatedIpv4;
  }
  const uint8_t* ip = f.data + off;
  const uint32_t header_len = (ip[0] & 0x0fu) * 4;
  if ((ip[0] >> 4) != 4 || header_len < 20) {
    return DecodeStatus::kBadIpv4Header;
  }
  if (cap_end - off < header_len) {
    return DecodeStatus::kTruncatedIpv4;
  }
  const uint32_t total_len = be16(ip + 2);
  if (total_len != 0 && total_len < header_len) {
    return DecodeStatus::kBadIpv4Header;
  }
  // Total length 0 is what TSO captures show; otherwise the header is authoritative when it is
  // smaller (Ethernet padding) and the wire when it is larger (a lie or a cut frame).
  const uint32_t on_wire = wire_end - off;
  const uint32_t ip_len = total_len == 0 ? on_wire : std::min(total_len, on_wire);

  setIpv4(out.src_ip, ip + 12);
  setIpv4(out.dst_ip, ip + 16);
  out.ip_version = 4;
  out.l3 = ip;
  out.l3_caplen = std::min(cap_end - off, ip_len);
  out.l4_proto = ip[9];

  const uint16_t flags_offset = be16(ip + 6);
  const bool more_fragments = (flags_offset & 0x2000) != 0;
  const bool first = (flags_offset & 0x1fff) == 0;
  out.is_fragment = more_fragments || !first;
  out.is_first_fragment = out.is_fragment && first;
  out.frag_id = out.is_fragment ? be16(ip + 4) : 0;

  payload.offset = off + header_len;
  payload.wire_end = off + ip_len;
  payload.cap_end = std::min(cap_end, payload.wire_end);
  payload.proto = ip[9];
  payload.has_transport = first;
  return DecodeStatus::kOk;
}

bool isIpv6ExtHeader(uint8_t next) {
  switch (next) {
    case exthdr::kHopByHop:
    case exthdr::kRouting:
    case exthdr::kFragment:
    case exthdr::kAuthentication:
    case exthdr::kDestinationOptions:
    case exthdr::kMobility:
    case exthdr::kHip:
    case exthdr::kShim6:
      return true;
    default:
      return false;
  }
}

DecodeStatus decodeIpv6(const Frame& f, uint32_t off, uint32_t cap_end, uint32_t wire_end,
                        DecodedPacket& out, IpPayload& payload) {
  if (cap_end - off < 40) {
    return DecodeStatus::kTruncatedIpv6;
  }
  const uint8_t* ip = f.data + off;
  if ((ip[0] >> 4) != 6) {
    return DecodeStatus::kBadIpv6Header;
  }
  // Payload length 0 is a jumbogram or a TSO capture: use what the frame holds.
  const uint32_t declared = be16(ip + 4);
  const uint32_t on_wire = wire_end - off - 40;
  const uint32_t payload_len = declared == 0 ? on_wire : std::min(declared, on_wire);

  out.src_ip = IpAddr::v6(ip + 8);
  out.dst_ip = IpAddr::v6(ip + 24);
  out.ip_version = 6;
  out.l3 = ip;
  out.l3_caplen = std::min(cap_end - off, 40 + payload_len);
  out.is_fragment = false;
  out.is_first_fragment = false;
  out.frag_id = 0;

  const uint32_t end_wire = off + 40 + payload_len;
  const uint32_t end_cap = std::min(cap_end, end_wire);
  uint32_t cur = off + 40;
  uint8_t next = ip[6];
  bool has_transport = true;
  int count = 0;
  while (isIpv6ExtHeader(next)) {
    if (++count > kMaxIpv6ExtHeaders) {
      return DecodeStatus::kTooManyIpv6ExtHeaders;
    }
    if (end_cap - cur < 2) {
      return DecodeStatus::kTruncatedIpv6ExtHeader;
    }
    const uint8_t* ext = f.data + cur;
    uint32_t ext_len = (ext[1] + 1u) * 8;
    if (next == exthdr::kAuthentication) {
      ext_len = (ext[1] + 2u) * 4;
    } else if (next == exthdr::kFragment) {
      ext_len = 8;
    }
    if (end_cap - cur < ext_len) {
      return DecodeStatus::kTruncatedIpv6ExtHeader;
    }
    if (next == exthdr::kFragment) {
      const uint16_t frag_offset = be16(ext + 2) >> 3;
      const bool more_fragments = (ext[3] & 0x01) != 0;
      // An atomic fragment (offset 0, no M flag) is a whole packet.
      if (frag_offset != 0 || more_fragments) {
        out.is_fragment = true;
        out.is_first_fragment = frag_offset == 0;
        out.frag_id = be32(ext + 4);
      }
      if (frag_offset != 0) {
        has_transport = false;
      }
    }
    next = ext[0];
    cur += ext_len;
    if (!has_transport) {
      break;  // the fragment data is the middle of the original payload, not a header
    }
  }
  out.l4_proto = next;

  payload.offset = cur;
  payload.cap_end = end_cap;
  payload.wire_end = end_wire;
  payload.proto = next;
  payload.has_transport = has_transport;
  return DecodeStatus::kOk;
}

void setPayload(const Frame& f, const IpPayload& ip, uint32_t header_len, DecodedPacket& out) {
  out.l4_header_len = static_cast<uint16_t>(header_len);
  out.payload = f.data + ip.offset + header_len;
  out.payload_caplen = ip.cap_end - ip.offset - header_len;
  out.payload_wire_len = ip.wire_end - ip.offset - header_len;
}

DecodeStatus decodeTransport(const Frame& f, const IpPayload& ip, DecodedPacket& out) {
  const uint8_t* l4 = f.data + ip.offset;
  const uint32_t captured = ip.cap_end - ip.offset;
  switch (ip.proto) {
    case ipproto::kTcp: {
      if (captured < 4) {
        return DecodeStatus::kTruncatedTcp;
      }
      out.has_l4 = true;
      out.src_port = be16(l4);
      out.dst_port = be16(l4 + 2);
      if (captured < 13) {
        return DecodeStatus::kTruncatedTcp;
      }
      const uint32_t header_len = (l4[12] >> 4) * 4u;
      if (header_len < 20) {
        return DecodeStatus::kBadTcpHeader;
      }
      if (captured < header_len) {
        return DecodeStatus::kTruncatedTcp;
      }
      out.tcp_seq = be32(l4 + 4);
      out.tcp_ack = be32(l4 + 8);
      out.tcp_flags = l4[13];
      setPayload(f, ip, header_len, out);
      return DecodeStatus::kOk;
    }
    case ipproto::kUdp:
      if (captured < 4) {
        return DecodeStatus::kTruncatedUdp;
      }
      out.has_l4 = true;
      out.src_port = be16(l4);
      out.dst_port = be16(l4 + 2);
      if (captured < 8) {
        return DecodeStatus::kTruncatedUdp;
      }
      // The UDP length field is not consulted: the IP length already bounds the datagram.
      setPayload(f, ip, 8, out);
      return DecodeStatus::kOk;
    case ipproto::kIcmp:
    case ipproto::kIcmpv6:
      if (captured < 4) {
        return DecodeStatus::kTruncatedIcmp;
      }
      out.has_l4 = true;
      setPayload(f, ip, 4, out);
      return DecodeStatus::kOk;
    default:
      // GRE, ESP, SCTP, No Next Header, ...: an IP flow without ports.
      setPayload(f, ip, 0, out);
      return DecodeStatus::kOk;
  }
}

DecodeStatus decodeIp(const Frame& f, NetworkStart net, DecodedPacket& out) {
  uint32_t off = net.offset;
  uint8_t version = net.version;
  uint32_t cap_end = f.caplen;
  uint32_t wire_end = f.wirelen;
  for (;;) {
    IpPayload ip;
    const DecodeStatus status = version == 4 ? decodeIpv4(f, off, cap_end, wire_end, out, ip)
                                             : decodeIpv6(f, off, cap_end, wire_end, out, ip);
    if (status != DecodeStatus::kOk) {
      return status;
    }
    if (!ip.has_transport) {
      setPayload(f, ip, 0, out);
      return DecodeStatus::kOk;
    }
    if (ip.proto != ipproto::kIpInIp && ip.proto != ipproto::kIpv6) {
      return decodeTransport(f, ip, out);
    }
    if (out.tunnel_depth >= kMaxTunnelLayers) {
      return DecodeStatus::kTooManyTunnelLayers;
    }
    ++out.tunnel_depth;
    off = ip.offset;
    version = ip.proto == ipproto::kIpInIp ? 4 : 6;
    cap_end = ip.cap_end;
    wire_end = ip.wire_end;
  }
}

}  // namespace

const char* decodeStatusName(DecodeStatus status) {
  // No default: -Wswitch flags a new status without a name.
  switch (status) {
    case DecodeStatus::kOk:
      return "decode.ok";
    case DecodeStatus::kNotIp:
      return "decode.not_ip";
    case DecodeStatus::kUnsupportedLinkType:
      return "decode.unsupported_link_type";
    case DecodeStatus::kTruncatedLink:
      return "decode.truncated_link";
    case DecodeStatus::kTruncatedVlan:
      return "decode.truncated_vlan";
    case DecodeStatus::kTooManyVlanTags:
      return "decode.too_many_vlan_tags";
    case DecodeStatus::kTruncatedIpv4:
      return "decode.truncated_ipv4";
    case DecodeStatus::kBadIpv4Header:
      return "decode.bad_ipv4_header";
    case DecodeStatus::kTruncatedIpv6:
      return "decode.truncated_ipv6";
    case DecodeStatus::kBadIpv6Header:
      return "decode.bad_ipv6_header";
    case DecodeStatus::kTruncatedIpv6ExtHeader:
      return "decode.truncated_ipv6_ext_header";
    case DecodeStatus::kTooManyIpv6ExtHeaders:
      return "decode.too_many_ipv6_ext_headers";
    case DecodeStatus::kTooManyTunnelLayers:
      return "decode.too_many_tunnel_layers";
    case DecodeStatus::kTruncatedTcp:
      return "decode.truncated_tcp";
    case DecodeStatus::kBadTcpHeader:
      return "decode.bad_tcp_header";
    case DecodeStatus::kTruncatedUdp:
      return "decode.truncated_udp";
    case DecodeStatus::kTruncatedIcmp:
      return "decode.truncated_icmp";
    case DecodeStatus::kTruncatedPppoe:
      return "decode.truncated_pppoe";
    case DecodeStatus::kTruncatedMpls:
      return "decode.truncated_mpls";
    case DecodeStatus::kTooManyMplsLabels:
      return "decode.too_many_mpls_labels";
    case DecodeStatus::kBadPpiHeader:
      return "decode.bad_ppi_header";
    case DecodeStatus::kCount:
      break;
  }
  return "decode.invalid_status";
}

DecodeStatus decode(const RawPacket& raw, DecodedPacket& out) {
  out = DecodedPacket{};
  out.ts = raw.ts;
  out.wire_len = raw.wirelen;
  const uint32_t caplen = raw.data != nullptr ? raw.caplen : 0;
  const Frame frame{raw.data, caplen, std::max(raw.wirelen, caplen)};
  NetworkStart net;
  const DecodeStatus status = decodeLink(frame, static_cast<uint32_t>(raw.linktype), 0,
                                         /*inside_ppi=*/false, out, net);
  if (status != DecodeStatus::kOk) {
    return status;
  }
  return decodeIp(frame, net, out);
}

}  // namespace nm
