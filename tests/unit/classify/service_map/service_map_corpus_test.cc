// Checks the shipped config/services.toml against nDPI's labels in the corpus: for every flow
// line whose nDPI application maps to one of our services and that carries a host name
// ([Hostname/SNI: X], the DNS query, HTTP Host or TLS/QUIC SNI), matchDomain(X) should name the
// same service. Format of the .out files: ../shared/corpus/README.md. The corpus is not part of
// the repository: without it this test skips, loudly.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "classify/service_map.h"
#include "core/net_types.h"

namespace nm {
namespace {

namespace fs = std::filesystem;

// Agreement below this means the domain lists have drifted from what the services use.
constexpr double kMinAgreement = 0.97;
// Fewer checked flows than this means the .out parsing broke, not that the map is good.
constexpr size_t kMinChecked = 500;

fs::path corpusDir() {
  if (const char* env = std::getenv("NM_CORPUS_DIR"); env != nullptr && *env != '\0') {
    return fs::path(env) / "ndpi";
  }
  return fs::path(NM_SERVICE_MAP_TEST_CORPUS_DIR) / "ndpi";
}

struct Tally {
  size_t checked = 0;
  size_t agreed = 0;
  size_t address_hosts = 0;
  std::vector<std::string> disagreements;
};

// The application part of an nDPI label: "TLS.NetFlix" -> "NetFlix", "NetFlix" -> "NetFlix".
std::string applicationOf(const std::string& label) {
  const size_t dot = label.find('.');
  return dot == std::string::npos ? label : label.substr(dot + 1);
}

void checkFile(const fs::path& out_file, const ServiceMap& map, Tally& tally) {
  // The flow-line expression from the corpus README; group 1 is the label ("TLS.NetFlix").
  static const std::regex kFlow(R"(^\t\d+\t\S+ \S+ (?:<->|->) \S+ (?:\[VLAN: \d+\])?)"
                                R"(\[proto: (?:[A-Za-z0-9_]+:)?[0-9.]+/([^\]]+)\])");
  static const std::string kHostField = "[Hostname/SNI: ";
  std::ifstream in(out_file);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, kFlow)) {
      continue;
    }
    const std::string label = m[1].str();
    const int expected = map.findByNdpiName(applicationOf(label));
    const size_t field = line.find(kHostField);
    if (expected < 0 || field == std::string::npos) {
      continue;
    }
    const size_t start = field + kHostField.size();
    const std::string host = line.substr(start, line.find(']', start) - start);
    // An address written where a name goes is not something a domain list can match.
    if (IpAddr addr; IpAddr::parse(host, addr)) {
      ++tally.address_hosts;
      continue;
    }
    ++tally.checked;
    const int got = map.matchDomain(host);
    if (got == expected) {
      ++tally.agreed;
      continue;
    }
    tally.disagreements.push_back(out_file.filename().string() + ": " + label + " " + host +
                                  " -> " + (got < 0 ? "(none)" : map.service(got).name) +
                                  ", expected " + map.service(expected).name);
  }
}

TEST(ServiceMapCorpus, DomainsAgreeWithNdpiLabels) {
  const fs::path dir = corpusDir();
  if (!fs::is_directory(dir)) {
    GTEST_SKIP() << "\n*** service map corpus test SKIPPED: " << dir
                 << " not found. Set NM_CORPUS_DIR to the folder holding ndpi/. ***\n";
  }
  ServiceMap map;
  std::vector<std::string> errors;
  const std::string config = std::string(NM_SOURCE_DIR) + "/config/services.toml";
  ASSERT_TRUE(ServiceMap::load(config, map, errors)) << errors.front();

  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".out") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  Tally tally;
  for (const auto& file : files) {
    checkFile(file, map, tally);
  }

  ASSERT_GE(tally.checked, kMinChecked) << "too few flows checked: is the .out format intact?";
  const double agreement = static_cast<double>(tally.agreed) / static_cast<double>(tally.checked);
  std::cout << "Service map vs nDPI labels: " << tally.agreed << "/" << tally.checked
            << " flows with a host name agree (" << agreement * 100.0 << "%); "
            << tally.address_hosts << " flows whose host field is an address were skipped\n";
  for (const auto& line : tally.disagreements) {
    std::cout << "  disagree: " << line << "\n";
  }
  EXPECT_GE(agreement, kMinAgreement);
}

}  // namespace
}  // namespace nm
