#include "classify/quic/gquic.h"

#include <gtest/gtest.h>

#include "support/hex.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nm {
namespace {

using Bytes = std::vector<uint8_t>;

using nm::testing::fromHex;

void append(Bytes& b, std::string_view text) {
  b.insert(b.end(), text.begin(), text.end());
}

void putLe(Bytes& b, uint32_t v, int size) {
  for (int i = 0; i < size; ++i) {
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}

// Client first packets from the corpus (nDPI test captures), up to the end of the CHLO tag table.
// In each, the values start with the PAD value (all '-') and continue with the SNI.
struct CorpusChlo {
  const char* name;
  std::string_view header_and_table;
  size_t pad;
  std::string_view sni;
};

// quic.pcap, 192.168.1.109:57833 -> 216.58.212.101:443, Q024 (little-endian, private flags).
constexpr std::string_view kQ024 =
    "0db2de5df14f5545eb51303234013b6e8986f83cf3b7a6ab5d0501a001000443484c4f1800000050414400870100"
    "00534e49009601000053544b00d001000056455200d401000043435300e40100004e4f4e43040200004d53504308"
    "020000414541440c02000055414944240200005343494434020000544349443802000050444d443c020000535242"
    "46400200004943534c44020000505542536402000053434c53680200004b4558536c020000434f50546c02000043"
    "435254840200004347535488020000495254548c0200004345545630030000434643573403000053464357380300"
    "00";
// quic_q43.pcap, port 49241 -> 443, Q043 (big-endian frames).
constexpr std::string_view kQ043 =
    "0de83c77bd8f8915f95130343301d4a6cc79cf5763921201d4caa001040043484c4f180000005041440028020000"
    "534e49003602000053544b006c020000564552007002000043435300800200004e4f4e43a002000041454144a402"
    "000053434944b402000054434944b802000050444d44bc020000534d484cc00200004943534cc40200004e4f4e50"
    "e402000050554253040300004d4944530803000053434c530c0300004b45585310030000584c4354180300004353"
    "435418030000434f50541c030000434352542c030000495254543003000043464357340300005346435738030000";
// quic046.pcap, port 50587 -> 443, Q046 (IETF-invariant long header).
constexpr std::string_view kQ046 =
    "c35130343650b4a4f9f5f42edd39000000019993d3b3cdfe6d824e9945e5a001040043484c4f1900000050414400"
    "f0010000534e4900fb01000053544b0031020000564552003502000043435300450200004e4f4e43650200004145"
    "414469020000554149449802000053434944a802000054434944ac02000050444d44b0020000534d484cb4020000"
    "4943534cb80200004e4f4e50d802000050554253f80200004d494453fc02000053434c53000300004b4558530403"
    "0000584c43540c030000435343540c030000434f5054140300004343525424030000495254542803000043464357"
    "2c0300005346435730030000";

const CorpusChlo kCorpus[] = {
    {"Q024", kQ024, 391, "mail.google.com"},
    {"Q043", kQ043, 552, "dns.google.com"},
    {"Q046", kQ046, 496, "i.ytimg.com"},
};

// The packet up to the last byte of the SNI value.
Bytes corpusPacket(const CorpusChlo& c) {
  Bytes b = fromHex(c.header_and_table);
  b.insert(b.end(), c.pad, '-');
  append(b, c.sni);
  return b;
}

struct Tag {
  std::string_view tag;  // 3 or 4 characters; padded with NUL
  uint32_t end;
};

// A Q043 client packet: public header, hash, one stream frame on stream 1 holding a CHLO with
// `tags` and `values`. `count` overrides the CHLO's entry count; `frame_length` the frame's.
Bytes q043Packet(const std::vector<Tag>& tags, std::string_view values, int count = -1,
                 int frame_length = -1) {
  Bytes chlo;
  append(chlo, "CHLO");
  putLe(chlo, static_cast<uint32_t>(count >= 0 ? count : static_cast<int>(tags.size())), 2);
  putLe(chlo, 0, 2);
  for (const Tag& t : tags) {
    Bytes tag(t.tag.begin(), t.tag.end());
    tag.resize(4, 0);
    chlo.insert(chlo.end(), tag.begin(), tag.end());
    putLe(chlo, t.end, 4);
  }
  append(chlo, values);
  Bytes b = fromHex("0d0102030405060708513034330100112233445566778899aabb");
  const auto length = static_cast<uint16_t>(frame_length >= 0 ? frame_length : chlo.size());
  b.push_back(0xa0);
  b.push_back(0x01);
  b.push_back(static_cast<uint8_t>(length >> 8));
  b.push_back(static_cast<uint8_t>(length));
  b.insert(b.end(), chlo.begin(), chlo.end());
  return b;
}

ParseStatus parse(const Bytes& b, std::string& sni) {
  return parseGquicChloSni(b, sni);
}

ParseStatus parse(const Bytes& b) {
  std::string sni;
  return parseGquicChloSni(b, sni);
}

TEST(GquicChlo, CorpusClientHellos) {
  for (const CorpusChlo& c : kCorpus) {
    std::string sni;
    EXPECT_EQ(parse(corpusPacket(c), sni), ParseStatus::kFound) << c.name;
    EXPECT_EQ(sni, c.sni) << c.name;
  }
}

TEST(GquicChlo, EveryPrefixNeedsMore) {
  for (const CorpusChlo& c : kCorpus) {
    const Bytes full = corpusPacket(c);
    for (size_t n = 0; n < full.size(); ++n) {
      const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      std::string sni = "untouched";
      EXPECT_EQ(parse(prefix, sni), ParseStatus::kNeedMore) << c.name << " at " << n;
      EXPECT_EQ(sni, "untouched");
    }
  }
}

TEST(GquicChlo, SyntheticChlo) {
  std::string sni;
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}, {"SNI", 16}, {"VER", 20}}, "---Www.Example_1Q043"), sni),
            ParseStatus::kFound);
  EXPECT_EQ(sni, "www.example_1");
  // SNI first in the table.
  EXPECT_EQ(parse(q043Packet({{"SNI", 5}}, "a.b-c"), sni), ParseStatus::kFound);
  EXPECT_EQ(sni, "a.b-c");
}

TEST(GquicChlo, ChloWithoutUsableSni) {
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}, {"VER", 7}}, "---Q043")), ParseStatus::kNotThis);
  EXPECT_EQ(parse(q043Packet({}, "")), ParseStatus::kNotThis);
  // Empty, not a host name, too long.
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}, {"SNI", 3}}, "---")), ParseStatus::kMalformed);
  EXPECT_EQ(parse(q043Packet({{"SNI", 9}}, "bad host!")), ParseStatus::kMalformed);
  EXPECT_EQ(parse(q043Packet({{"SNI", 4}}, std::string_view("a\0bc", 4))), ParseStatus::kMalformed);
  const std::string long_name(254, 'a');
  EXPECT_EQ(parse(q043Packet({{"SNI", 254}}, long_name)), ParseStatus::kMalformed);
  const std::string max_name(253, 'a');
  EXPECT_EQ(parse(q043Packet({{"SNI", 253}}, max_name)), ParseStatus::kFound);
}

TEST(GquicChlo, HostileTagTables) {
  // Offsets going backwards.
  EXPECT_EQ(parse(q043Packet({{"PAD", 8}, {"SNI", 4}}, "--------")), ParseStatus::kMalformed);
  // Offsets beyond the message the stream frame announced.
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}, {"SNI", 1000}}, "---abc")), ParseStatus::kMalformed);
  EXPECT_EQ(parse(q043Packet({{"PAD", 0xFFFFFFFF}, {"SNI", 0xFFFFFFFF}}, "abc")),
            ParseStatus::kMalformed);
  // A huge entry count.
  EXPECT_EQ(parse(q043Packet({{"SNI", 3}}, "abc", 0xFFFF)), ParseStatus::kMalformed);
  EXPECT_EQ(parse(q043Packet({{"SNI", 3}}, "abc", 129)), ParseStatus::kMalformed);
  // A count larger than the table, within the caps: the table is cut short.
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}}, "---", 2, 200)), ParseStatus::kNeedMore);
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}}, "---", 3)), ParseStatus::kMalformed);
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}}, "---", 2, 0)), ParseStatus::kNotThis);
  // The frame announces more than the datagram holds: the rest is in the next packet.
  EXPECT_EQ(parse(q043Packet({{"PAD", 3}, {"SNI", 6}}, "---ab", -1, 400)), ParseStatus::kNeedMore);
}

TEST(GquicChlo, NotGquic) {
  Bytes b = corpusPacket(kCorpus[1]);
  // Encrypted versions and IETF QUIC.
  for (std::string_view version :
       {std::string_view("Q050"), std::string_view("Q099"), std::string_view("Q023"),
        std::string_view("T050"), std::string_view("\0\0\0\1", 4)}) {
    Bytes v = b;
    std::copy(version.begin(), version.end(), v.begin() + 9);
    EXPECT_EQ(parse(v), ParseStatus::kNotThis) << version;
  }
  // quic_q50.pcap: a Q050 client packet's first bytes.
  EXPECT_EQ(parse(fromHex("cb5130353008df4a089e4eff5e7a000045344a1f86ea325a43e59578aa9f561c1e93")),
            ParseStatus::kNotThis);
  // No version flag (a later packet), reset flag, no connection ID.
  for (uint8_t flags : {uint8_t{0x0c}, uint8_t{0x0f}, uint8_t{0x05}}) {
    Bytes v = b;
    v[0] = flags;
    EXPECT_EQ(parse(v), ParseStatus::kNotThis) << int{flags};
  }
  // A frame on another stream, at a non-zero offset, or not a stream frame at all.
  Bytes other = q043Packet({{"SNI", 3}}, "abc");
  other[27] = 0x03;
  EXPECT_EQ(parse(other), ParseStatus::kNotThis);
  Bytes offset = q043Packet({{"SNI", 3}}, "abc");
  offset[26] = 0xa4;  // two-byte offset field: the id and length shift, the offset is nonzero
  EXPECT_EQ(parse(offset), ParseStatus::kNotThis);
  Bytes ack = q043Packet({{"SNI", 3}}, "abc");
  ack[26] = 0x40;
  EXPECT_EQ(parse(ack), ParseStatus::kNotThis);
  // Not a CHLO (a REJ, say).
  Bytes rej = q043Packet({{"SNI", 3}}, "abc");
  std::copy_n("REJ", 3, rej.begin() + 30);
  EXPECT_EQ(parse(rej), ParseStatus::kNotThis);
  // DNS and STUN.
  EXPECT_EQ(parse(fromHex("646f010000010000000000000377777706676f6f676c6503636f6d0000010001")),
            ParseStatus::kNotThis);
  EXPECT_EQ(parse(fromHex("000100002112a442483271554359716e6a344f69")), ParseStatus::kNotThis);
}

TEST(GquicChlo, EveryByteCorruptionStaysInBounds) {
  for (const CorpusChlo& c : kCorpus) {
    const Bytes base = corpusPacket(c);
    const size_t limit = std::min<size_t>(base.size(), 260);
    for (size_t i = 0; i < limit; ++i) {
      for (uint8_t v : {uint8_t{0x00}, uint8_t{0x80}, uint8_t{0xFF}}) {
        Bytes mutated = base;
        mutated[i] = v;
        std::string sni;
        if (parse(mutated, sni) == ParseStatus::kFound) {
          EXPECT_FALSE(sni.empty());
          EXPECT_LE(sni.size(), 253u);
        }
      }
    }
  }
}

}  // namespace
}  // namespace nm
