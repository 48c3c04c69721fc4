#include "plugins/ouimap/oui_registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace nm {
namespace {

namespace fs = std::filesystem;

MacAddr mac(std::string_view text) {
  MacAddr m;
  EXPECT_TRUE(parseMacAddr(text, m)) << text;
  return m;
}

// --- parseMacAddr -------------------------------------------------------------------------

TEST(ParseMacAddr, AcceptsColonsHyphensAndBareHexInAnyCase) {
  MacAddr m;
  ASSERT_TRUE(parseMacAddr("74:d0:2b:00:00:01", m));
  EXPECT_EQ(m.toString(), "74:d0:2b:00:00:01");
  ASSERT_TRUE(parseMacAddr("74-D0-2B-0A-Bc-FF", m));
  EXPECT_EQ(m.toString(), "74:d0:2b:0a:bc:ff");
  ASSERT_TRUE(parseMacAddr("B827EB123456", m));
  EXPECT_EQ(m.toString(), "b8:27:eb:12:34:56");
}

TEST(ParseMacAddr, RejectsEverythingElse) {
  MacAddr m;
  for (std::string_view bad :
       {"", "74:d0:2b:00:00", "74:d0:2b:00:00:01:02", "74:d0-2b:00:00:01", "74:d0:2b:00:00:0g",
        "74d02b00000", "74d02b0000011", " 74:d0:2b:00:00:01", "74:d0:2b:00:00:1 ", "192.168.0.3",
        "74.d0.2b.00.00.01", "fe80::1"}) {
    EXPECT_FALSE(parseMacAddr(bad, m)) << "'" << bad << "'";
  }
}

// --- originalDeviceName: the original's str.replace chain ----------------------------------
// Expected strings are written by hand from the steps documented in oui_registry.h, on vendor
// strings exactly as ieee-data's oui.csv spells them.

struct NameCase {
  const char* vendor;
  const char* mac;
  const char* expected;
};

TEST(OriginalDeviceName, RealVendorStrings) {
  const NameCase cases[] = {
      {"ASUSTek COMPUTER INC.", "74:d0:2b:00:00:01", "ASUSTek_COMPUTER_INC_01"},
      {"Raspberry Pi Foundation", "b8:27:eb:12:34:56", "Raspberry_Pi_Foundation_56"},
      {"Apple, Inc.", "00:1b:63:aa:bb:cc", "Apple_Inc_cc"},
      {"Google, Inc.", "f4:f5:d8:00:00:9a", "Google_Inc_9a"},
      {"REALTEK SEMICONDUCTOR CORP.", "00:e0:4c:68:00:7e", "REALTEK_SEMICONDUCTOR_CORP_7e"},
      // Comma and dot with no space: ",CO.,LTD" -> ",CO_,LTD" -> "_CO__LTD" -> "_CO_LTD".
      {"XIAOMI Electronics,CO.,LTD", "28:6c:07:00:00:10", "XIAOMI_Electronics_CO_LTD_10"},
      {"Cisco Systems, Inc", "00:00:0c:00:00:01", "Cisco_Systems_Inc_01"},
      {"Nintendo Co.,Ltd", "98:e8:fa:01:02:03", "Nintendo_Co_Ltd_03"},
      // " - " becomes "_-_" then "-".
      {"Smartcom - Bulgaria AD", "50:a9:de:00:00:ab", "Smartcom-Bulgaria_AD_ab"},
      {"NASCENT Technology, LLC - RemKon", "2c:01:0b:00:00:02", "NASCENT_Technology_LLC-RemKon_02"},
      {"B15402100 - JANDEI, S.L.", "00:14:89:00:00:03", "B15402100-JANDEI_S_L_03"},
      // Parentheses are kept.
      {"Telink Semiconductor (Shanghai) Co., Ltd.", "c4:19:d1:00:00:04",
       "Telink_Semiconductor_(Shanghai)_Co_Ltd_04"},
      // Quotes: oui.txt (what the original read) prints these names without them.
      {"JSC \"Irbis-T\"", "a0:de:05:00:00:05", "JSC_Irbis-T_05"},
      {"   ZAO \"NPK Rotek\"", "48:29:e4:00:00:06", "_ZAO_NPK_Rotek_06"},
      // The CSV's stray trailing tab is not in oui.txt either.
      {"Shenzhen YOUHUA Technology Co., Ltd\t", "00:bd:82:00:00:07",
       "Shenzhen_YOUHUA_Technology_Co_Ltd_07"},
      // Leading space.
      {" Nanjing Bangzhong Electronic Commerce Limited", "e8:c1:b8:00:00:08",
       "_Nanjing_Bangzhong_Electronic_Commerce_Limited_08"},
      // Seven trailing spaces: "Co___Ltd_______" -> (___->_) "Co_Ltd___" -> (__->_) "Co_Ltd__".
      {"DongGuan Siyoto Electronics Co., Ltd       ", "00:b4:f5:00:00:09",
       "DongGuan_Siyoto_Electronics_Co_Ltd__09"},
      // Five trailing spaces: "_____" -> "___" -> "__": the original kept two.
      {"IEEE PES PSRC/SUB     ", "1c:12:9d:00:00:0a", "IEEE_PES_PSRC/SUB__0a"},
      // Non-ASCII bytes are kept: U+00A0 no-break spaces, U+FF0C fullwidth comma, umlaut.
      {"Sichuan\u00a0AI-Link\u00a0Technology\u00a0Co.,\u00a0Ltd.", "44:b2:95:00:00:0b",
       "Sichuan\u00a0AI-Link\u00a0Technology\u00a0Co_\u00a0Ltd_0b"},
      {"SHENZHEN BILIAN ELECTRONIC CO.\uff0cLTD", "20:32:33:00:00:0c",
       "SHENZHEN_BILIAN_ELECTRONIC_CO_\uff0cLTD_0c"},
      {"BSH Hausger\u00e4te GmbH", "68:a4:0e:00:00:0d", "BSH_Hausger\u00e4te_GmbH_0d"},
      {"\u041e\u041e\u041e \"\u0420\u041e\u041d\u0415\u041a\u0421\"", "70:b3:d5:f3:e0:0e",
       "\u041e\u041e\u041e_\u0420\u041e\u041d\u0415\u041a\u0421_0e"},
      {"Private", "ac:de:48:00:00:0f", "Private_0f"},
      {"IGT", "00:d0:ef:00:00:ff", "IGT_ff"},
      // Already ends with '_' after the replacements: no second one.
      {"Foo Ltd.", "00:00:00:00:00:10", "Foo_Ltd_10"},
  };
  for (const NameCase& c : cases) {
    EXPECT_EQ(originalDeviceName(c.vendor, mac(c.mac)), c.expected) << c.vendor;
  }
}

TEST(OriginalDeviceName, ReplacementsAreSequentialNotARegex) {
  const MacAddr m = mac("00:00:00:00:00:01");
  // "___" then "__" then "_-_": runs of 1-4 collapse, 5 leaves 2, 6 collapse, 7 leaves 2.
  EXPECT_EQ(originalDeviceName("a b", m), "a_b_01");
  EXPECT_EQ(originalDeviceName("a  b", m), "a_b_01");
  EXPECT_EQ(originalDeviceName("a   b", m), "a_b_01");
  EXPECT_EQ(originalDeviceName("a    b", m), "a_b_01");
  EXPECT_EQ(originalDeviceName("a     b", m), "a__b_01");
  EXPECT_EQ(originalDeviceName("a      b", m), "a_b_01");
  EXPECT_EQ(originalDeviceName("a       b", m), "a__b_01");
  // "_-_" is replaced after the collapsing: "a. - b" -> "a__-_b" -> "a_-_b" -> "a-b".
  EXPECT_EQ(originalDeviceName("a. - b", m), "a-b_01");
  // "a-b" alone has no underscores around the hyphen and stays.
  EXPECT_EQ(originalDeviceName("a-b", m), "a-b_01");
  // "_-_-_": the first "_-_" is consumed, the second hyphen keeps its '_'.
  EXPECT_EQ(originalDeviceName("a - - b", m), "a--_b_01");
}

TEST(OriginalDeviceName, LastTwoHexDigitsAreLowerCase) {
  EXPECT_EQ(originalDeviceName("IGT", mac("00:D0:EF:AB:CD:EF")), "IGT_ef");
}

TEST(OriginalDeviceName, EmptyVendorFallsBackToTheUnknownForm) {
  EXPECT_EQ(originalDeviceName("", mac("74:d0:2b:00:00:01")), "74:d0:2b_01");
  EXPECT_EQ(originalDeviceName("\"\"", mac("74:d0:2b:00:00:01")), "74:d0:2b_01");
}

TEST(OriginalUnknownDeviceName, FirstThreeOctetsUnderscoreLastOctet) {
  EXPECT_EQ(originalUnknownDeviceName(mac("74:d0:2b:00:00:01")), "74:d0:2b_01");
  EXPECT_EQ(originalUnknownDeviceName(mac("DA:A1:19:4F:20:3C")), "da:a1:19_3c");
}

TEST(RandomizedDeviceName, LastThreeOctets) {
  EXPECT_EQ(randomizedDeviceName(mac("da:a1:19:4f:20:3c")), "Randomized_MAC_4f203c");
}

// --- The real registries of this machine ---------------------------------------------------

class RealRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new OuiRegistry;
    loaded_ = registry_->load(std::string(kDefaultIeeeDataDir), *error_);
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override {
    if (!fs::exists(fs::path(kDefaultIeeeDataDir) / "oui.csv")) {
      GTEST_SKIP() << "SKIPPED: " << kDefaultIeeeDataDir
                   << "/oui.csv missing; install Debian's ieee-data package";
    }
    ASSERT_TRUE(loaded_) << *error_;
  }
  static OuiRegistry* registry_;
  static bool loaded_;
  static std::string* error_;
};
OuiRegistry* RealRegistry::registry_ = nullptr;
bool RealRegistry::loaded_ = false;
std::string* RealRegistry::error_ = new std::string;

TEST_F(RealRegistry, LoadsEveryRegistryQuickly) {
  const OuiRegistry::LoadStats& s = registry_->stats();
  std::printf(
      "[ figures  ] ieee-data load: %zu MA-L, %zu MA-M, %zu MA-S, %zu IAB blocks, "
      "%zu rows skipped, %.1f ms\n",
      s.ma_l, s.ma_m, s.ma_s, s.iab, s.rows_skipped, s.millis);
  EXPECT_GT(s.ma_l, 20000u);  // tens of thousands (32527 distinct in ieee-data 20220827)
  EXPECT_GT(s.ma_m, 2000u);
  EXPECT_GT(s.ma_s, 2000u);
  EXPECT_EQ(s.rows_skipped, 0u);
  // The budget is 100 ms; loose enough for a loaded CI machine, tight enough to catch a
  // quadratic parser.
  EXPECT_LT(s.millis, 500.0);
}

struct RealCase {
  const char* mac;
  const char* registry;
  const char* prefix;
  const char* vendor;  // as oui.csv / mam.csv / oui36.csv / iab.csv spell it
  const char* device_name;
};

TEST_F(RealRegistry, KnownPrefixes) {
  const RealCase cases[] = {
      {"74:d0:2b:00:00:01", "MA-L", "74:d0:2b:00:00:00/24", "ASUSTek COMPUTER INC.",
       "ASUSTek_COMPUTER_INC_01"},
      {"b8:27:eb:12:34:56", "MA-L", "b8:27:eb:00:00:00/24", "Raspberry Pi Foundation",
       "Raspberry_Pi_Foundation_56"},
      {"dc:a6:32:aa:bb:0f", "MA-L", "dc:a6:32:00:00:00/24", "Raspberry Pi Trading Ltd",
       "Raspberry_Pi_Trading_Ltd_0f"},
      {"00:1b:63:aa:bb:cc", "MA-L", "00:1b:63:00:00:00/24", "Apple, Inc.", "Apple_Inc_cc"},
      {"f4:f5:d8:01:02:9a", "MA-L", "f4:f5:d8:00:00:00/24", "Google, Inc.", "Google_Inc_9a"},
      {"00:e0:4c:68:00:7e", "MA-L", "00:e0:4c:00:00:00/24", "REALTEK SEMICONDUCTOR CORP.",
       "REALTEK_SEMICONDUCTOR_CORP_7e"},
      {"28:6c:07:00:00:10", "MA-L", "28:6c:07:00:00:00/24", "XIAOMI Electronics,CO.,LTD",
       "XIAOMI_Electronics_CO_LTD_10"},
      {"00:00:0c:07:ac:01", "MA-L", "00:00:0c:00:00:00/24", "Cisco Systems, Inc",
       "Cisco_Systems_Inc_01"},
      {"98:e8:fa:01:02:03", "MA-L", "98:e8:fa:00:00:00/24", "Nintendo Co.,Ltd",
       "Nintendo_Co_Ltd_03"},
      {"a0:de:05:00:00:05", "MA-L", "a0:de:05:00:00:00/24", "JSC \"Irbis-T\"", "JSC_Irbis-T_05"},
      {"00:bd:82:00:00:07", "MA-L", "00:bd:82:00:00:00/24", "Shenzhen YOUHUA Technology Co., Ltd\t",
       "Shenzhen_YOUHUA_Technology_Co_Ltd_07"},
      // Listed three times in oui.csv: the last row wins, as in the original's dict.
      {"08:00:30:00:00:11", "MA-L", "08:00:30:00:00:00/24", "CERN", "CERN_11"},
      // MA-M inside the IEEE RA's own MA-L 1C-82-59: the longer block wins ...
      {"1c:82:59:b0:00:42", "MA-M", "1c:82:59:b0:00:00/28", "KeyWest Networks, Inc",
       "KeyWest_Networks_Inc_42"},
      {"20:85:93:d1:23:45", "MA-M", "20:85:93:d0:00:00/28",
       "Shanghai Kenmyond Industrial Network Equipment Co.,Ltd",
       "Shanghai_Kenmyond_Industrial_Network_Equipment_Co_Ltd_45"},
      // ... and where no MA-M block is assigned (1C8259F), the MA-L parent answers.
      {"1c:82:59:f0:00:42", "MA-L", "1c:82:59:00:00:00/24", "IEEE Registration Authority",
       "IEEE_Registration_Authority_42"},
      // MA-S (36 bits) inside 70-B3-D5 and 8C-1F-64.
      {"70:b3:d5:f2:f0:01", "MA-S", "70:b3:d5:f2:f0:00/36", "TELEPLATFORMS", "TELEPLATFORMS_01"},
      {"8c:1f:64:46:0a:07", "MA-S", "8c:1f:64:46:00:00/36", "Solace Systems Inc.",
       "Solace_Systems_Inc_07"},
      {"70:b3:d5:00:00:01", "MA-L", "70:b3:d5:00:00:00/24", "IEEE Registration Authority",
       "IEEE_Registration_Authority_01"},
      // IAB (the MA-S predecessor) inside 00-50-C2.
      {"00:50:c2:7d:50:01", "IAB", "00:50:c2:7d:50:00/36", "DEUTA-WERKE GmbH",
       "DEUTA-WERKE_GmbH_01"},
  };
  for (const RealCase& c : cases) {
    SCOPED_TRACE(c.mac);
    const MacInfo info = registry_->describe(mac(c.mac));
    EXPECT_EQ(info.registry, c.registry);
    EXPECT_EQ(info.prefix, c.prefix);
    EXPECT_EQ(info.vendor, c.vendor);
    EXPECT_EQ(info.device_name, c.device_name);
    EXPECT_FALSE(info.locally_administered);
    EXPECT_FALSE(info.multicast);
  }
}

TEST_F(RealRegistry, LongerBlockOverridesItsParent) {
  OuiRegistry::Match parent;
  ASSERT_TRUE(registry_->findIn(OuiRegistry::Block::kMaL, mac("70:b3:d5:f2:f0:01"), parent));
  EXPECT_EQ(parent.vendor, "IEEE Registration Authority");
  OuiRegistry::Match best;
  ASSERT_TRUE(registry_->find(mac("70:b3:d5:f2:f0:01"), best));
  EXPECT_EQ(best.block, OuiRegistry::Block::kMaS);
  EXPECT_EQ(best.vendor, "TELEPLATFORMS");
  EXPECT_EQ(best.prefix, 0x70b3d5f2fu);
}

TEST_F(RealRegistry, UnknownPrefixGetsTheOriginalUnknownForm) {
  // 00:00:00 is XEROX; FC:FF:FF is not assigned in ieee-data 20220827.
  OuiRegistry::Match match;
  ASSERT_FALSE(registry_->find(mac("fc:ff:ff:00:00:01"), match));
  const MacInfo info = registry_->describe(mac("fc:ff:ff:00:00:01"));
  EXPECT_EQ(info.registry, "none");
  EXPECT_EQ(info.vendor, "");
  EXPECT_EQ(info.prefix, "");
  EXPECT_EQ(info.device_name, "fc:ff:ff_01");
}

TEST_F(RealRegistry, LocallyAdministeredMacsNeverGetAVendor) {
  // Second hex digit 2, 6, A, E: the U/L bit. 02:60:8c and aa:00:03 are historical MA-L blocks
  // (3Com, DEC) with that bit set; they are still not given a vendor.
  for (const char* text : {"02:60:8c:12:34:56", "16:00:00:ab:cd:ef", "aa:00:03:01:02:03",
                           "de:ad:be:ef:00:01", "da:a1:19:4f:20:3c"}) {
    SCOPED_TRACE(text);
    const MacInfo info = registry_->describe(mac(text));
    EXPECT_TRUE(info.locally_administered);
    EXPECT_FALSE(info.multicast);
    EXPECT_EQ(info.vendor, "");
    EXPECT_EQ(info.registry, "none");
    EXPECT_EQ(info.device_name, randomizedDeviceName(mac(text)));
  }
  EXPECT_EQ(registry_->describe(mac("da:a1:19:4f:20:3c")).device_name, "Randomized_MAC_4f203c");
  EXPECT_EQ(registry_->describe(mac("da:a1:19:4f:20:3c"), PrivateMacNames::kOriginal).device_name,
            "da:a1:19_3c");
  EXPECT_EQ(registry_->describe(mac("02:60:8c:12:34:56"), PrivateMacNames::kOriginal).device_name,
            "02:60:8c_56");
}

TEST_F(RealRegistry, MulticastIsNotADevice) {
  for (const char* text :
       {"01:00:5e:00:00:fb", "33:33:00:00:00:01", "ff:ff:ff:ff:ff:ff", "01:80:c2:00:00:00"}) {
    SCOPED_TRACE(text);
    const MacInfo info = registry_->describe(mac(text));
    EXPECT_TRUE(info.multicast);
    EXPECT_EQ(info.device_name, "");
  }
  EXPECT_TRUE(registry_->describe(mac("33:33:00:00:00:01")).locally_administered);
}

// The original read IEEE's oui.txt ("74-D0-2B   (hex)\t\tASUSTek COMPUTER INC."), we read the
// CSV: for every MA-L block both name, the device names must agree (step 0 of
// originalDeviceName). The original's regex: ^(..-..-..).*\t\t(.*)
TEST_F(RealRegistry, DeviceNamesAgreeWithTheOriginalsOuiTxt) {
  std::ifstream txt(fs::path(kDefaultIeeeDataDir) / "oui.txt", std::ios::binary);
  if (!txt) {
    GTEST_SKIP() << "SKIPPED: oui.txt missing from " << kDefaultIeeeDataDir;
  }
  // The original's dict: the last line of a prefix wins.
  std::map<std::string, std::string> original;
  std::string line;
  while (std::getline(txt, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();  // Python's text mode reads CRLF as LF
    }
    const size_t tabs = line.rfind("\t\t");
    if (line.size() < 8 || line[2] != '-' || line[5] != '-' || tabs == std::string::npos) {
      continue;
    }
    original[line.substr(0, 2) + line.substr(3, 2) + line.substr(6, 2)] = line.substr(tabs + 2);
  }
  size_t mismatches = 0;
  for (const auto& [hex, txt_name] : original) {
    const MacAddr m = mac(hex + "0000a1");
    OuiRegistry::Match match;
    ASSERT_TRUE(registry_->findIn(OuiRegistry::Block::kMaL, m, match)) << hex;
    if (originalDeviceName(txt_name, m) != originalDeviceName(match.vendor, m)) {
      ADD_FAILURE() << hex << ": oui.txt '" << txt_name << "', oui.csv '" << match.vendor << "'";
      if (++mismatches > 10) {
        break;
      }
    }
  }
  EXPECT_EQ(original.size(), registry_->stats().ma_l);
  std::printf("[ figures  ] oui.txt MA-L names compared: %zu\n", original.size());
}

// --- Malformed and missing files ------------------------------------------------------------

class TempIeeeDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ouimap_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    write("oui.csv",
          "Registry,Assignment,Organization Name,Organization Address\r\n"
          "MA-L,74D02B,ASUSTek COMPUTER INC.,\"15,Li-Te Rd., Peitou\"\r\n"
          "MA-L,001B63,\"Apple, Inc.\",1 Infinite Loop\r\n"
          "MA-L,A0DE05,\"JSC \"\"Irbis-T\"\"\",\"39, Gorodskoy lane\"\r\n"
          // A quoted address running over two lines.
          "MA-L,B827EB,Raspberry Pi Foundation,\"Mitchell Wood House\r\nCaldecote\"\r\n"
          "MA-L,1C8259,IEEE Registration Authority,445 Hoes Lane\r\n"
          "MA-L,BADHEX,Nobody,\r\n"
          "MA-L,12345,Too Short,\r\n"
          "MA-M,1C8259B,Wrong File,\r\n"
          "\r\n"
          "MA-L,001B63,Apple Again,last row wins\r\n");
    write("mam.csv",
          "Registry,Assignment,Organization Name,Organization Address\n"
          "MA-M,1C8259B,\"KeyWest Networks, Inc\",2200 N Glassell St\n");
    write("oui36.csv",
          "Registry,Assignment,Organization Name,Organization Address\n"
          "MA-S,1C8259B12,Tiny Block Co.,");  // no final newline, empty last field
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << text;
  }
  std::string dir_;
};

TEST_F(TempIeeeDir, ParsesQuotedFieldsAndSkipsMalformedRows) {
  OuiRegistry r;
  std::string error;
  ASSERT_TRUE(r.load(dir_, error)) << error;
  EXPECT_EQ(r.stats().ma_l, 5u);
  EXPECT_EQ(r.stats().ma_m, 1u);
  EXPECT_EQ(r.stats().ma_s, 1u);
  EXPECT_EQ(r.stats().iab, 0u);  // optional file absent
  EXPECT_EQ(r.stats().rows_skipped, 3u);
  EXPECT_EQ(r.describe(mac("74:d0:2b:00:00:01")).vendor, "ASUSTek COMPUTER INC.");
  EXPECT_EQ(r.describe(mac("00:1b:63:00:00:01")).vendor, "Apple Again");
  EXPECT_EQ(r.describe(mac("a0:de:05:00:00:01")).vendor, "JSC \"Irbis-T\"");
  EXPECT_EQ(r.describe(mac("b8:27:eb:00:00:01")).device_name, "Raspberry_Pi_Foundation_01");
  EXPECT_EQ(r.describe(mac("1c:82:59:b0:00:01")).vendor, "KeyWest Networks, Inc");
  const MacInfo tiny = r.describe(mac("1c:82:59:b1:20:01"));
  EXPECT_EQ(tiny.registry, "MA-S");
  EXPECT_EQ(tiny.vendor, "Tiny Block Co.");
  EXPECT_EQ(tiny.device_name, "Tiny_Block_Co_01");
}

TEST_F(TempIeeeDir, MissingDirectoryIsAClearError) {
  OuiRegistry r;
  std::string error;
  EXPECT_FALSE(r.load(dir_ + "/nope", error));
  EXPECT_NE(error.find(dir_ + "/nope"), std::string::npos) << error;
  EXPECT_NE(error.find("ieee-data"), std::string::npos) << error;
  EXPECT_TRUE(r.empty());
}

TEST_F(TempIeeeDir, MissingRequiredFileNamesIt) {
  fs::remove(dir_ + "/oui36.csv");
  OuiRegistry r;
  std::string error;
  EXPECT_FALSE(r.load(dir_, error));
  EXPECT_NE(error.find(dir_ + "/oui36.csv"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST_F(TempIeeeDir, BadHeaderUnterminatedQuoteAndEmptyFileAreErrors) {
  OuiRegistry r;
  std::string error;
  write("mam.csv", "Prefix,Vendor\nMA-M,1C8259B,X,\n");
  EXPECT_FALSE(r.load(dir_, error));
  EXPECT_NE(error.find("mam.csv:1: not an IEEE registry CSV"), std::string::npos) << error;

  write("mam.csv",
        "Registry,Assignment,Organization Name,Organization Address\n"
        "MA-M,1C8259B,X,\n"
        "MA-M,1C8259C,\"unterminated,\n"
        "MA-M,1C8259D,Y,\n");
  EXPECT_FALSE(r.load(dir_, error));
  EXPECT_NE(error.find("mam.csv:3: unterminated quoted field"), std::string::npos) << error;

  write("mam.csv", "Registry,Assignment,Organization Name,Organization Address\n");
  EXPECT_FALSE(r.load(dir_, error));
  EXPECT_NE(error.find("mam.csv: no MA-M entries"), std::string::npos) << error;
}

TEST_F(TempIeeeDir, AFailedLoadKeepsThePreviousRegistries) {
  OuiRegistry r;
  std::string error;
  ASSERT_TRUE(r.load(dir_, error)) << error;
  EXPECT_FALSE(r.load(dir_ + "/nope", error));
  EXPECT_EQ(r.describe(mac("74:d0:2b:00:00:01")).vendor, "ASUSTek COMPUTER INC.");
}

}  // namespace
}  // namespace nm
