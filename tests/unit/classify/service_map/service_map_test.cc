// ServiceMap: domain and address matching rules, nDPI name lookup, config validation (every
// problem reported at once, with its line), and the shipped config/services.toml.

#include "classify/service_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace nm {
namespace {

std::string joinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

ServiceMap parseOk(std::string_view text) {
  ServiceMap map;
  std::vector<std::string> errors;
  EXPECT_TRUE(ServiceMap::parse(text, "test.toml", map, errors)) << joinLines(errors);
  EXPECT_TRUE(errors.empty()) << joinLines(errors);
  return map;
}

std::vector<std::string> parseErrors(std::string_view text) {
  ServiceMap map;
  std::vector<std::string> errors;
  EXPECT_FALSE(ServiceMap::parse(text, "test.toml", map, errors));
  EXPECT_EQ(map.size(), 0U) << "a failed parse must leave the output untouched";
  return errors;
}

IpAddr ip(std::string_view text) {
  IpAddr addr;
  EXPECT_TRUE(IpAddr::parse(text, addr)) << text;
  return addr;
}

std::string nameOf(const ServiceMap& map, int id) {
  return id < 0 ? "(none)" : map.service(id).name;
}

constexpr std::string_view kStreaming = R"(
[[service]]
name = "Netflix"
type = "video"
domains = ["netflix.com", "NFLXVideo.NET."]
ndpi = ["NetFlix"]

[[service]]
name = "Google"
type = "web"
domains = ["google.com", "google"]
ndpi = ["Google", "GoogleServices"]

[[service]]
name = "YouTube"
type = "video"
domains = ["youtube.com", "googlevideo.com", "youtube.googleapis.com"]
ndpi = ["YouTube", "YouTubeUpload"]

[[service]]
name = "Google Meet"
type = "voip"
domains = ["meet.google.com"]

[[service]]
name = "Google APIs"
type = "cloud"
domains = ["googleapis.com"]
)";

TEST(ServiceMapDomain, MatchesOnLabelBoundariesOnly) {
  const ServiceMap map = parseOk(kStreaming);
  const int netflix = map.findByName("Netflix");
  ASSERT_GE(netflix, 0);
  EXPECT_EQ(map.matchDomain("netflix.com"), netflix);
  EXPECT_EQ(map.matchDomain("www.netflix.com"), netflix);
  EXPECT_EQ(map.matchDomain("a.b.c.netflix.com"), netflix);
  EXPECT_EQ(map.matchDomain("evilnetflix.com"), -1);
  EXPECT_EQ(map.matchDomain("netflix.com.evil.org"), -1);
  EXPECT_EQ(map.matchDomain("netflix.co"), -1);
  EXPECT_EQ(map.matchDomain("com"), -1);
  EXPECT_EQ(map.matchDomain(""), -1);
  EXPECT_EQ(map.matchDomain("."), -1);
}

TEST(ServiceMapDomain, IgnoresCaseAndOneTrailingDot) {
  const ServiceMap map = parseOk(kStreaming);
  const int netflix = map.findByName("Netflix");
  EXPECT_EQ(map.matchDomain("WWW.NetFlix.COM"), netflix);
  EXPECT_EQ(map.matchDomain("www.netflix.com."), netflix);
  EXPECT_EQ(map.matchDomain("www.netflix.com.."), -1);
  // The config spelled it "NFLXVideo.NET.": stored lower case without the dot.
  EXPECT_EQ(map.matchDomain("ipv4-c001.1.nflxvideo.net"), netflix);
  EXPECT_EQ(map.service(netflix).domains[1], "nflxvideo.net");
}

TEST(ServiceMapDomain, LongestSuffixWinsBetweenServices) {
  const ServiceMap map = parseOk(kStreaming);
  EXPECT_EQ(nameOf(map, map.matchDomain("google.com")), "Google");
  EXPECT_EQ(nameOf(map, map.matchDomain("www.google.com")), "Google");
  EXPECT_EQ(nameOf(map, map.matchDomain("googlevideo.com")), "YouTube");
  EXPECT_EQ(nameOf(map, map.matchDomain("r3---sn-hju7enel.googlevideo.com")), "YouTube");
  EXPECT_EQ(nameOf(map, map.matchDomain("meet.google.com")), "Google Meet");
  EXPECT_EQ(nameOf(map, map.matchDomain("x.meet.google.com")), "Google Meet");
  EXPECT_EQ(nameOf(map, map.matchDomain("meeting.google.com")), "Google");
  EXPECT_EQ(nameOf(map, map.matchDomain("youtube.googleapis.com")), "YouTube");
  EXPECT_EQ(nameOf(map, map.matchDomain("fonts.googleapis.com")), "Google APIs");
  // A single-label domain (a brand TLD) is a suffix like any other.
  EXPECT_EQ(nameOf(map, map.matchDomain("dns.google")), "Google");
}

TEST(ServiceMapDomain, RejectsNamesLongerThanDns) {
  const ServiceMap map = parseOk(kStreaming);
  std::string host;
  while (host.size() + std::string_view(".netflix.com").size() < 253) {
    host += "a.";
  }
  host.resize(253 - std::string_view("netflix.com").size(), 'a');
  host += "netflix.com";
  ASSERT_EQ(host.size(), 253U);
  EXPECT_EQ(nameOf(map, map.matchDomain(host)), "Netflix");
  EXPECT_EQ(nameOf(map, map.matchDomain(host + ".")), "Netflix");
  EXPECT_EQ(map.matchDomain("a" + host), -1);
}

TEST(ServiceMapDomain, EmptyMapMatchesNothing) {
  const ServiceMap map = parseOk(R"(
[[service]]
name = "Only addresses"
type = "cloud"
prefixes = ["192.0.2.0/24"]
)");
  EXPECT_EQ(map.matchDomain("example.com"), -1);
  EXPECT_EQ(map.matchAddress(ip("192.0.2.7")), 0);
}

constexpr std::string_view kNetworks = R"(
[[service]]
name = "Wide"
type = "cloud"
prefixes = ["10.0.0.0/8", "2001:db8::/32"]

[[service]]
name = "Narrow"
type = "cloud"
prefixes = ["10.1.0.0/16", "2001:db8:1::/48", "2001:db8:1:2:3::/80"]

[[service]]
name = "Host"
type = "cloud"
prefixes = ["10.1.2.3", "2001:db8:1:2::5/128"]
)";

TEST(ServiceMapAddress, Ipv4LongestPrefixWins) {
  const ServiceMap map = parseOk(kNetworks);
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("10.9.9.9"))), "Wide");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("10.1.9.9"))), "Narrow");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("10.1.2.3"))), "Host");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("10.1.2.4"))), "Narrow");
  EXPECT_EQ(map.matchAddress(ip("11.0.0.1")), -1);
  EXPECT_EQ(map.matchAddress(ip("9.255.255.255")), -1);
}

TEST(ServiceMapAddress, Ipv6LongestPrefixWins) {
  const ServiceMap map = parseOk(kNetworks);
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("2001:db8:ffff::1"))), "Wide");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("2001:db8:1:ffff::1"))), "Narrow");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("2001:db8:1:2::5"))), "Host");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("2001:db8:1:2::6"))), "Narrow");
  // /80 crosses the 64-bit halves of the key.
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("2001:db8:1:2:3:ffff::1"))), "Narrow");
  EXPECT_EQ(map.matchAddress(ip("2001:db9::1")), -1);
}

TEST(ServiceMapAddress, FamiliesNeverMix) {
  const ServiceMap map = parseOk(R"(
[[service]]
name = "Everything v4"
type = "cloud"
prefixes = ["0.0.0.0/0"]
)");
  EXPECT_EQ(map.matchAddress(ip("203.0.113.9")), 0);
  EXPECT_EQ(map.matchAddress(ip("::ffff:203.0.113.9")), -1);
  EXPECT_EQ(map.matchAddress(ip("::")), -1);
  EXPECT_EQ(map.matchAddress(IpAddr{}), -1) << "an unset address matches nothing";
}

TEST(ServiceMapLookup, NdpiNamesAreCaseSensitiveAndNamesExact) {
  const ServiceMap map = parseOk(kStreaming);
  EXPECT_EQ(nameOf(map, map.findByNdpiName("NetFlix")), "Netflix");
  EXPECT_EQ(nameOf(map, map.findByNdpiName("YouTubeUpload")), "YouTube");
  EXPECT_EQ(nameOf(map, map.findByNdpiName("GoogleServices")), "Google");
  EXPECT_EQ(map.findByNdpiName("netflix"), -1);
  EXPECT_EQ(map.findByNdpiName("TLS"), -1);
  EXPECT_EQ(map.findByName("Netflix"), 0);
  EXPECT_EQ(map.findByName("netflix"), -1);
  ASSERT_EQ(map.size(), 5U);
  const Service& youtube = map.service(map.findByName("YouTube"));
  EXPECT_EQ(youtube.type, "video");
  EXPECT_EQ(youtube.ndpi_names, (std::vector<std::string>{"YouTube", "YouTubeUpload"}));
  EXPECT_EQ(youtube.domains.size(), 3U);
}

TEST(ServiceMapLookup, PrefixesKeptCanonical) {
  const ServiceMap map = parseOk(kNetworks);
  const Service& host = map.service(map.findByName("Host"));
  ASSERT_EQ(host.prefixes.size(), 2U);
  EXPECT_EQ(host.prefixes[0].length, 32);
  EXPECT_EQ(host.prefixes[0].addr.toString(), "10.1.2.3");
  EXPECT_EQ(host.prefixes[1].length, 128);
}

// Every kind of mistake at once; each must come back, with its line, in line order.
constexpr std::string_view kBroken = R"(colour = "blue"
[[service]]
name = "Netflix"
type = "video"
domains = ["netflix.com", "netflix.com"]
ndpi = ["NetFlix"]

[[service]]
name = "Netflix"
type = "movies"
domain = ["example.com"]
domains = ["NETFLIX.com", "*.nflxvideo.net", "bad host.com", 42, ""]
prefixes = ["23.246.0.0/33", "23.246.1.0/18", "2a00:86c0::/32", "2a00:86c0::/32"]

[[service]]
name = ""
type = 7

[[service]]
type = "web"
domains = "example.org"

[[service]]
name = "  Padded"
type = "web"
ndpi = ["NetFlix", ""]

[[service]]
name = "Empty"
type = "web"
)";

TEST(ServiceMapValidation, ReportsEveryProblemWithItsLine) {
  const std::vector<std::string> errors = parseErrors(kBroken);
  const std::vector<std::string> expected = {
      R"(test.toml:1: unknown top-level key "colour" (the file holds only [[service]] tables))",
      R"(test.toml:5: service "Netflix": domain "netflix.com" is listed twice (also on line 5))",
      R"(test.toml:9: service #2 ("Netflix"): duplicate service name (first defined on line 3))",
      R"(test.toml:10: service #2 ("Netflix"): unknown type "movies" (expected one of: video, )",
      R"(test.toml:11: service #2 ("Netflix"): unknown key "domain" (expected name, type, )",
      R"(test.toml:12: service #2 ("Netflix"): domain "netflix.com" is already claimed by )"
      R"(service "Netflix" (line 5))",
      R"(test.toml:12: service #2 ("Netflix"): domain "*.nflxvideo.net" must not start with )"
      R"('*' or '.': write "nflxvideo.net", which already matches every name below it)",
      R"(test.toml:12: service #2 ("Netflix"): domain "bad host.com" may hold only letters)",
      R"(test.toml:12: service #2 ("Netflix"): "domains" entries must be strings, not an )"
      R"(integer)",
      R"(test.toml:12: service #2 ("Netflix"): domain "" is empty)",
      R"(test.toml:13: service #2 ("Netflix"): prefix "23.246.0.0/33" is not an IPv4 or IPv6 )"
      R"(address with an optional /length)",
      R"(test.toml:13: service #2 ("Netflix"): prefix "23.246.1.0/18" has address bits set )"
      R"(past /18 (did you mean 23.246.0.0/18?))",
      R"(test.toml:13: service #2 ("Netflix"): prefix "2a00:86c0::/32" is listed twice (also )"
      R"(on line 13))",
      R"(test.toml:15: service #3: matches nothing: give it domains, prefixes or ndpi names)",
      R"(test.toml:16: service #3: "name" must not be empty)",
      R"(test.toml:17: service #3: "type" must be a string, not an integer)",
      R"(test.toml:19: service #4: missing "name")",
      R"(test.toml:19: service #4: matches nothing)",
      R"(test.toml:21: service #4: "domains" must be an array of strings, not a string)",
      R"(test.toml:24: service #5: "name" has leading or trailing spaces)",
      R"(test.toml:26: service #5: nDPI name "NetFlix" is already claimed by service )"
      R"("Netflix" (line 6))",
      R"(test.toml:26: service #5: empty nDPI name)",
      R"(test.toml:28: service "Empty": matches nothing: give it domains, prefixes or ndpi )"
      R"(names)",
  };
  ASSERT_EQ(errors.size(), expected.size()) << joinLines(errors);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(errors[i].rfind(expected[i], 0), 0U) << "error " << i << "\n  got:      " << errors[i]
                                                   << "\n  expected: " << expected[i] << "...";
  }
}

TEST(ServiceMapValidation, TomlSyntaxErrorHasItsLine) {
  const std::vector<std::string> errors = parseErrors("[[service]]\nname = \"x\"\ntype = \n");
  ASSERT_EQ(errors.size(), 1U) << joinLines(errors);
  EXPECT_EQ(errors[0].rfind("test.toml:3: ", 0), 0U) << errors[0];
}

TEST(ServiceMapValidation, ServiceMustBeAnArrayOfTables) {
  std::vector<std::string> errors = parseErrors("[service]\nname = \"x\"\ntype = \"web\"\n");
  ASSERT_EQ(errors.size(), 1U) << joinLines(errors);
  EXPECT_EQ(errors[0].rfind("test.toml:1: \"service\" must be written as [[service]]", 0), 0U)
      << errors[0];

  errors = parseErrors("# nothing here\n");
  ASSERT_EQ(errors.size(), 1U) << joinLines(errors);
  EXPECT_EQ(errors[0], "test.toml:1: no [[service]] tables");
}

TEST(ServiceMapValidation, FailureLeavesPreviousMapInPlace) {
  ServiceMap map = parseOk(kStreaming);
  std::vector<std::string> errors;
  EXPECT_FALSE(ServiceMap::parse(kBroken, "test.toml", map, errors));
  EXPECT_FALSE(errors.empty());
  EXPECT_EQ(map.size(), 5U);
  EXPECT_EQ(nameOf(map, map.matchDomain("netflix.com")), "Netflix");
}

TEST(ServiceMapValidation, UnreadableFileIsOneError) {
  ServiceMap map;
  std::vector<std::string> errors;
  EXPECT_FALSE(ServiceMap::load("/nonexistent/services.toml", map, errors));
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_EQ(errors[0].rfind("/nonexistent/services.toml: cannot open", 0), 0U) << errors[0];
}

// ---- The shipped map ------------------------------------------------------------------------

const std::string kShipped = std::string(NM_SOURCE_DIR) + "/config/services.toml";

TEST(ShippedServiceMap, LoadsWithoutErrorsAndCoversHomeServices) {
  ServiceMap map;
  std::vector<std::string> errors;
  ASSERT_TRUE(ServiceMap::load(kShipped, map, errors)) << joinLines(errors);
  EXPECT_GE(map.size(), 60U);
  // Comma-separated: some names have spaces.
  const std::string_view kRequired =
      "Netflix,YouTube,Amazon Prime Video,Twitch,Disney+,Hulu,HBO Max,Spotify,Apple Media,"
      "Zoom,Microsoft Teams,Google Meet,WhatsApp,FaceTime,Facebook,Instagram,TikTok,"
      "Snapchat,X (Twitter),Reddit,iCloud,Google,Microsoft,Windows Update,Steam,Xbox Live,"
      "PlayStation Network,Roku,Cloudflare,Akamai,Amazon,Amazon AWS,Alexa,Dropbox,GitHub,"
      "LinkedIn,Pinterest,Discord,Telegram,Signal,Viber,WeChat,Sina Weibo,QQ,Yandex,VK,"
      "Webex,Skype,Microsoft 365,OneDrive,Nintendo,Epic Games,Riot Games,Roblox,EA,Zattoo,"
      "Dailymotion,Vimeo,SoundCloud,Deezer,Pandora,Tidal,Peacock,Paramount+,DAZN,"
      "Crunchyroll,Plex,Sonos,Tuya,Xiaomi,Ring,Nest,Ookla Speedtest,AnyDesk,TeamViewer,"
      "Salesforce,Waze,KakaoTalk,Line,Avast,Encrypted DNS,Google Play,Apple App Store,"
      "Apple Push";
  for (size_t start = 0; start < kRequired.size();) {
    const size_t end = std::min(kRequired.find(',', start), kRequired.size());
    const std::string_view name = kRequired.substr(start, end - start);
    EXPECT_GE(map.findByName(name), 0) << "missing service " << name;
    start = end + 1;
  }
  for (size_t id = 0; id < map.size(); ++id) {
    EXPECT_TRUE(isServiceType(map.service(static_cast<int>(id)).type));
  }
}

TEST(ShippedServiceMap, NdpiNamesFoldIntoServices) {
  ServiceMap map;
  std::vector<std::string> errors;
  ASSERT_TRUE(ServiceMap::load(kShipped, map, errors)) << joinLines(errors);
  const std::pair<const char*, const char*> kFolds[] = {
      {"NetFlix", "Netflix"},        {"YouTubeUpload", "YouTube"},
      {"GoogleServices", "Google"},  {"GMail", "Google"},
      {"GoogleDocs", "Google"},      {"GoogleMaps", "Google"},
      {"PlayStore", "Google Play"},  {"WhatsAppCall", "WhatsApp"},
      {"WhatsAppFiles", "WhatsApp"}, {"FbookReelStory", "Facebook"},
      {"Messenger", "Facebook"},     {"Skype_TeamsCall", "Microsoft Teams"},
      {"Teams", "Microsoft Teams"},  {"TelegramVoip", "Telegram"},
      {"SignalVoip", "Signal"},      {"AmazonAlexa", "Alexa"},
      {"AmazonAWS", "Amazon AWS"},   {"AmazonVideo", "Amazon Prime Video"},
      {"AppleiCloud", "iCloud"},     {"ApplePush", "Apple Push"},
      {"DisneyPlus", "Disney+"},     {"DoH_DoT", "Encrypted DNS"},
      {"Sina", "Sina Weibo"},        {"TuyaLP", "Tuya"},
      {"Outlook", "Microsoft 365"},  {"Microsoft365", "Microsoft 365"},
  };
  for (const auto& [ndpi, service] : kFolds) {
    EXPECT_EQ(nameOf(map, map.findByNdpiName(ndpi)), service) << ndpi;
  }
  for (const char* protocol :
       {"TLS", "HTTP", "DNS", "QUIC", "STUN", "ICMP", "NTP", "MDNS", "DHCP", "OCSP", "Unknown"}) {
    EXPECT_EQ(map.findByNdpiName(protocol), -1) << protocol << " is a protocol, not a service";
  }
}

TEST(ShippedServiceMap, DomainsAndPrefixesSpotChecks) {
  ServiceMap map;
  std::vector<std::string> errors;
  ASSERT_TRUE(ServiceMap::load(kShipped, map, errors)) << joinLines(errors);
  EXPECT_EQ(nameOf(map, map.matchDomain("googlevideo.com")), "YouTube");
  EXPECT_EQ(nameOf(map, map.matchDomain("www.google.com")), "Google");
  EXPECT_EQ(nameOf(map, map.matchDomain("meet.google.com")), "Google Meet");
  EXPECT_EQ(nameOf(map, map.matchDomain("dns.google")), "Encrypted DNS");
  EXPECT_EQ(nameOf(map, map.matchDomain("occ-0-1-2.1.nflxso.net")), "Netflix");
  EXPECT_EQ(map.matchDomain("evilnetflix.com"), -1);
  EXPECT_EQ(nameOf(map, map.matchDomain("teams.microsoft.com")), "Microsoft Teams");
  EXPECT_EQ(nameOf(map, map.matchDomain("www.microsoft.com")), "Microsoft");
  EXPECT_EQ(nameOf(map, map.matchDomain("3.tlu.dl.delivery.mp.microsoft.com")), "Windows Update");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("17.253.144.10"))), "Apple");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("23.246.11.141"))), "Netflix");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("74.125.250.129"))), "Google Meet");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("74.125.24.100"))), "Google");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("2a03:2880:f12f:83:face:b00c::25de"))), "Facebook");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("1.1.1.1"))), "Encrypted DNS");
  EXPECT_EQ(nameOf(map, map.matchAddress(ip("104.16.1.1"))), "Cloudflare");
  EXPECT_EQ(map.matchAddress(ip("192.168.1.1")), -1);
}

}  // namespace
}  // namespace nm
