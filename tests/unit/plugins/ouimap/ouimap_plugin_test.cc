#include "plugins/ouimap/ouimap_plugin.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "daemon/sink.h"

namespace nm {
namespace {

namespace fs = std::filesystem;

uint64_t key(std::string_view text) {
  MacAddr m;
  EXPECT_TRUE(parseMacAddr(text, m)) << text;
  uint64_t v = 0;
  for (uint8_t b : m.bytes) {
    v = v << 8 | b;
  }
  return v;
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ouimap_plugin_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string dir_;
};

// --- Friendly-names file ----------------------------------------------------------------

using FriendlyNames = TempDir;

TEST_F(FriendlyNames, BothFormsCommentsAndBlankLines) {
  const std::string path = write("names",
                                 "\xEF\xBB\xBF# my devices\n"
                                 "\n"
                                 "74:d0:2b:00:00:01 Living room TV\n"
                                 "  B8-27-EB-12-34-56=Pi-hole # not a comment\r\n"
                                 "da:a1:19:4f:20:3c   =   Anna's phone  \n"
                                 "   # indented comment\n"
                                 "001b63aabbcc\tKitchen = speaker\n");
  std::unordered_map<uint64_t, std::string> names;
  std::vector<std::string> errors;
  ASSERT_TRUE(loadFriendlyNames(path, names, errors));
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[key("74:d0:2b:00:00:01")], "Living room TV");
  EXPECT_EQ(names[key("b8:27:eb:12:34:56")], "Pi-hole # not a comment");
  EXPECT_EQ(names[key("da:a1:19:4f:20:3c")], "Anna's phone");
  EXPECT_EQ(names[key("00:1b:63:aa:bb:cc")], "Kitchen = speaker");
}

TEST_F(FriendlyNames, EveryErrorWithItsLine) {
  const std::string path = write("names",
                                 "# header\n"
                                 "74:d0:2b:00:00:01 TV\n"
                                 "74:d0:2b:00:00 Short MAC\n"
                                 "b8:27:eb:12:34:56\n"
                                 "b8:27:eb:12:34:57 =  \n"
                                 "74-D0-2B-00-00-01 Again\n"
                                 "TV 74:d0:2b:00:00:02\n");
  std::unordered_map<uint64_t, std::string> names;
  std::vector<std::string> errors;
  EXPECT_FALSE(loadFriendlyNames(path, names, errors));
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0], path + ":3: '74:d0:2b:00:00' is not a MAC address (aa:bb:cc:dd:ee:ff)");
  EXPECT_EQ(errors[1], path + ":4: no name after b8:27:eb:12:34:56");
  EXPECT_EQ(errors[2], path + ":5: no name after b8:27:eb:12:34:57");
  EXPECT_EQ(errors[3], path + ":6: 74:d0:2b:00:00:01 already named on line 2");
  EXPECT_EQ(errors[4], path + ":7: 'TV' is not a MAC address (aa:bb:cc:dd:ee:ff)");
}

TEST_F(FriendlyNames, MissingFile) {
  std::unordered_map<uint64_t, std::string> names;
  std::vector<std::string> errors;
  EXPECT_FALSE(loadFriendlyNames(dir_ + "/absent", names, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(dir_ + "/absent: cannot open"), std::string::npos) << errors[0];
}

// --- The plugin -------------------------------------------------------------------------

class OuimapPluginTest : public TempDir {
 protected:
  void SetUp() override {
    TempDir::SetUp();
    if (!fs::exists(fs::path(kDefaultIeeeDataDir) / "oui.csv")) {
      GTEST_SKIP() << "SKIPPED: " << kDefaultIeeeDataDir
                   << "/oui.csv missing; install Debian's ieee-data package";
    }
  }
  bool init(std::string& error) {
    PluginContext context{settings_, metrics_, nullptr, "home"};
    return plugin_.init(context, error);
  }
  uint64_t devices(const char* kind) {
    return metrics_.counter("netmicroscope_ouimap_devices_total", "", {{"kind", std::string(kind)}})
        .value();
  }

  std::map<std::string, std::string> settings_;
  MetricsRegistry metrics_;
  OuimapPlugin plugin_;
};

void addSample(RecordSummary& s, const std::string& device, const std::string& app) {
  DeviceApplicationSample a;
  a.device = device;
  a.application = app;
  a.kbps_dw = 1;
  s.samples.push_back(a);
  for (std::string_view m : {kKbpsDwMeasurement, kKbpsUpMeasurement}) {
    SummaryPoint p;
    p.measurement = std::string(m);
    p.device = device;
    p.application = app;
    p.value = 1;
    p.ts_ns = 1'600'000'000'000'000'000;
    s.points.push_back(p);
  }
}

RecordSummary sampleSummary() {
  RecordSummary s;
  s.deployment = "home";
  s.ts_end = 1'600'000'000;
  addSample(s, "74:d0:2b:00:00:01", "Netflix");
  addSample(s, "74:d0:2b:00:00:01", "YouTube");  // same device again
  addSample(s, "b8:27:eb:12:34:56", "DNS");      // friendly
  addSample(s, "da:a1:19:4f:20:3c", "Zoom");     // randomised
  addSample(s, "fc:ff:ff:00:00:01", "Other");    // unknown prefix
  addSample(s, "192.168.0.3", "Other");          // IP key: left alone
  addSample(s, "01:00:5e:00:00:fb", "mDNS");     // multicast: left unnamed
  // Zero-fill points of a device absent from this record's samples.
  SummaryPoint zero;
  zero.measurement = std::string(kKbpsDwMeasurement);
  zero.device = "00:1b:63:aa:bb:cc";
  zero.application = "Spotify";
  s.points.push_back(zero);
  return s;
}

TEST_F(OuimapPluginTest, NamesDevicesKeepsKeysAndRenamesPointTags) {
  settings_["OUIMAP_NAMES"] = write("names", "b8:27:eb:12:34:56 Pi-hole\n");
  std::string error;
  ASSERT_TRUE(init(error)) << error;
  EXPECT_EQ(plugin_.priority(), 10);
  EXPECT_EQ(plugin_.name(), "ouimap");

  RecordSummary s = sampleSummary();
  plugin_.process(s);

  const std::map<std::string, std::string> expected = {
      {"74:d0:2b:00:00:01", "ASUSTek_COMPUTER_INC_01"},
      {"b8:27:eb:12:34:56", "Pi-hole"},
      {"da:a1:19:4f:20:3c", "Randomized_MAC_4f203c"},
      {"fc:ff:ff:00:00:01", "fc:ff:ff_01"},
      {"192.168.0.3", ""},
      {"01:00:5e:00:00:fb", ""},
      {"00:1b:63:aa:bb:cc", "Apple_Inc_cc"},
  };
  const RecordSummary original = sampleSummary();
  ASSERT_EQ(s.samples.size(), original.samples.size());
  for (size_t i = 0; i < s.samples.size(); ++i) {
    EXPECT_EQ(s.samples[i].device, original.samples[i].device);  // keys never change
    EXPECT_EQ(s.samples[i].device_name, expected.at(s.samples[i].device)) << s.samples[i].device;
  }
  ASSERT_EQ(s.points.size(), original.points.size());
  for (size_t i = 0; i < s.points.size(); ++i) {
    const SummaryPoint& p = s.points[i];
    EXPECT_EQ(p.device, original.points[i].device);
    const std::string& name = expected.at(p.device);
    EXPECT_EQ(p.deviceTag(), name.empty() ? p.device : name) << p.device;
  }

  EXPECT_EQ(devices("vendor"), 2u);  // ASUSTek, Apple (zero-fill only)
  EXPECT_EQ(devices("friendly"), 1u);
  EXPECT_EQ(devices("randomized"), 1u);
  EXPECT_EQ(devices("unknown"), 1u);
  EXPECT_EQ(devices("multicast"), 1u);

  // The next record hits the cache: same names, devices not counted again.
  RecordSummary again = sampleSummary();
  plugin_.process(again);
  EXPECT_EQ(again.samples[0].device_name, "ASUSTek_COMPUTER_INC_01");
  EXPECT_EQ(again.points.back().deviceTag(), "Apple_Inc_cc");
  EXPECT_EQ(devices("vendor"), 2u);
  EXPECT_EQ(devices("friendly"), 1u);
}

TEST_F(OuimapPluginTest, FriendlyNamesWinOverVendorRandomizedAndMulticast) {
  settings_["OUIMAP_NAMES"] = write("names",
                                    "74:d0:2b:00:00:01=Living room TV\n"
                                    "da:a1:19:4f:20:3c=Anna's phone\n"
                                    "01:00:5e:00:00:fb=mDNS group\n");
  std::string error;
  ASSERT_TRUE(init(error)) << error;
  RecordSummary s = sampleSummary();
  plugin_.process(s);
  EXPECT_EQ(s.samples[0].device_name, "Living room TV");
  EXPECT_EQ(s.samples[1].device_name, "Living room TV");
  EXPECT_EQ(s.samples[3].device_name, "Anna's phone");
  EXPECT_EQ(s.samples[6].device_name, "mDNS group");
  EXPECT_EQ(s.points[0].deviceTag(), "Living room TV");
  EXPECT_EQ(devices("friendly"), 3u);

  const MacInfo info = plugin_.describe(MacAddr{{0x74, 0xd0, 0x2b, 0, 0, 1}});
  EXPECT_EQ(info.device_name, "Living room TV");
  EXPECT_EQ(info.vendor, "ASUSTek COMPUTER INC.");
  EXPECT_EQ(info.registry, "MA-L");
}

TEST_F(OuimapPluginTest, ANameFromAnEarlierPluginIsKept) {
  std::string error;
  ASSERT_TRUE(init(error)) << error;
  RecordSummary s = sampleSummary();
  setDeviceName(s, "74:d0:2b:00:00:01", "named-before");
  plugin_.process(s);
  EXPECT_EQ(s.samples[0].device_name, "named-before");
  EXPECT_EQ(s.points[0].deviceTag(), "named-before");
  EXPECT_EQ(s.samples[2].device_name, "Raspberry_Pi_Foundation_56");
}

TEST_F(OuimapPluginTest, OriginalPrivateNames) {
  settings_["OUIMAP_PRIVATE_NAMES"] = "original";
  std::string error;
  ASSERT_TRUE(init(error)) << error;
  RecordSummary s = sampleSummary();
  plugin_.process(s);
  EXPECT_EQ(s.samples[3].device_name, "da:a1:19_3c");
  EXPECT_EQ(devices("randomized"), 1u);
}

TEST_F(OuimapPluginTest, InitReportsEveryErrorNamingItsSetting) {
  settings_["OUIMAP_IEEE_DIR"] = dir_ + "/no-such-dir";
  settings_["OUIMAP_PRIVATE_NAMES"] = "hidden";
  const std::string names = write("names", "74:d0:2b:00:00:01 TV\nnot-a-mac Kitchen\n");
  settings_["OUIMAP_NAMES"] = names;
  std::string error;
  EXPECT_FALSE(init(error));
  EXPECT_NE(error.find("OUIMAP_IEEE_DIR: IEEE registry directory " + dir_ + "/no-such-dir"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("OUIMAP_PRIVATE_NAMES: 'hidden'"), std::string::npos) << error;
  EXPECT_NE(error.find("OUIMAP_NAMES: " + names + ":2: 'not-a-mac' is not a MAC address"),
            std::string::npos)
      << error;

  // A plugin that failed init() leaves summaries untouched.
  RecordSummary s = sampleSummary();
  plugin_.process(s);
  EXPECT_EQ(s.samples[0].device_name, "");
}

TEST_F(OuimapPluginTest, MissingNamesFileIsAnError) {
  settings_["OUIMAP_NAMES"] = dir_ + "/absent.txt";
  std::string error;
  EXPECT_FALSE(init(error));
  EXPECT_NE(error.find("OUIMAP_NAMES: " + dir_ + "/absent.txt: cannot open"), std::string::npos)
      << error;
}

TEST_F(OuimapPluginTest, RegistryGaugesAreExported) {
  std::string error;
  ASSERT_TRUE(init(error)) << error;
  const int64_t ma_l =
      metrics_.gauge("netmicroscope_ouimap_registry_entries", "", {{"registry", "MA-L"}}).value();
  EXPECT_EQ(static_cast<size_t>(ma_l), plugin_.registry().stats().ma_l);
  EXPECT_GT(ma_l, 20000);
}

TEST(OuimapRegistryEntry, MakesAnUninitialisedPlugin) {
  std::unique_ptr<Plugin> p = makeOuimapPlugin();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name(), "ouimap");
  RecordSummary s = sampleSummary();
  p->process(s);  // before init(): no-op, no crash
  EXPECT_EQ(s.samples[0].device_name, "");
}

}  // namespace
}  // namespace nm
