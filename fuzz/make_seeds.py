#!/usr/bin/env python3
"""Writes fuzz/seeds/: one valid frame per supported link type, in fuzz_decode's input layout
(byte 0 = index into kLinkTypes in fuzz_frame.h, byte 1 = wire-length selector, then the frame).
The unit test DecodeFuzzSeeds.EverySeedDecodes checks that each one decodes to kOk."""

import pathlib

# Must match nm::fuzz::kLinkTypes.
LINK_TYPES = [1, 113, 276, 12, 14, 101, 228, 229, 0, 108, 9, 104, 192, 105]

MACS = bytes.fromhex("001122334455 66778899aabb")
IPV4_TCP = bytes.fromhex(
    "45000039123440004006 0000c0a800035db8d822"  # IPv4 192.168.0.3 -> 93.184.216.34
    "c73801bb1122334455667788 8018ffff00000000"  # TCP 51000 -> 443, data offset 8
    "0101080a0000000100000002") + b"hello"
IPV6_UDP = bytes.fromhex(
    "60000000000c1140"
    "20010db8000000000000000000000001"
    "20010db8000000000000000000000002"
    "14e90035000c0000") + b"abcd"
IPV6_EXT_FRAG_UDP = bytes.fromhex(
    "6000000000340040"  # next header Hop-by-Hop, payload length 52
    "20010db8000000000000000000000001"
    "20010db8000000000000000000000002"
    "2c00010400000000"  # Hop-by-Hop -> Fragment
    "3300000100000007"  # Fragment (first, M) -> AH
    "1104000000001001 00000001aaaaaaaaaaaaaaaaaaaaaaaa"  # AH -> UDP
    "14e90035000c0000") + b"abcd"


def ipv4(proto, payload):
    total = 20 + len(payload)
    return bytes([0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0,
                  10, 0, 0, 1, 10, 0, 0, 2]) + payload


SEEDS = {
    "ethernet_ipv4_tcp": (1, MACS + b"\x08\x00" + IPV4_TCP),
    "ethernet_qinq_ipv6_ext":
        (1, MACS + bytes.fromhex("88a800c8 8100 0064 86dd") + IPV6_EXT_FRAG_UDP),
    "ethernet_pppoe_ipv4": (1, MACS + bytes.fromhex("8864 1100 0001 003b 0021") + IPV4_TCP),
    "ethernet_mpls_ipv6": (1, MACS + bytes.fromhex("8847 00064040 000c8140") + IPV6_UDP),
    "ethernet_6in4": (1, MACS + b"\x08\x00" + ipv4(41, IPV6_UDP)),
    "sll_ipv4": (113, bytes.fromhex("0000 0001 0006 66778899aabb0000 0800") + IPV4_TCP),
    "sll2_ipv6": (276, bytes.fromhex("86dd 0000 00000002 0001 00 06 66778899aabb0000") + IPV6_UDP),
    "raw12_ipv4": (12, IPV4_TCP),
    "raw14_ipv6": (14, IPV6_UDP),
    "raw101_4in6": (101, IPV6_UDP[:4] + bytes([0, len(IPV4_TCP), 4]) + IPV6_UDP[7:40] + IPV4_TCP),
    "linktype_ipv4": (228, ipv4(1, bytes.fromhex("0800f7fe00010001"))),
    "linktype_ipv6": (229, IPV6_EXT_FRAG_UDP),
    "null_ipv6": (0, bytes([30, 0, 0, 0]) + IPV6_UDP),
    "loop_ipv4": (108, bytes([0, 0, 0, 2]) + IPV4_TCP),
    "ppp_ipv4": (9, bytes.fromhex("ff030021") + IPV4_TCP),
    "ppp_compressed_ipv6": (9, b"\x57" + IPV6_UDP),
    "chdlc_ipv4": (104, bytes.fromhex("0f000800") + IPV4_TCP),
    "ppi_ethernet": (192, bytes.fromhex("0000080001000000") + MACS + b"\x08\x00" + IPV4_TCP),
}


def main():
    out = pathlib.Path(__file__).resolve().parent / "seeds"
    out.mkdir(exist_ok=True)
    for name, (linktype, frame) in SEEDS.items():
        (out / name).write_bytes(bytes([LINK_TYPES.index(linktype), 0]) + frame)


if __name__ == "__main__":
    main()
