#include "daemon/env_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace nm {
namespace {

using Env = std::map<std::string, std::string>;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("nm_env") {}
};

// A user who is not root, with a known home, so defaults are predictable.
ConfigResult load(const std::string& env_path, Env env = {}) {
  env.emplace("HOME", "/home/alice");
  return loadDaemonConfig(env_path, env, ConfigHost{false});
}

ConfigResult loadText(const TempDir& dir, const std::string& text, Env env = {}) {
  return load(dir.write(".env", text), std::move(env));
}

std::string joined(const ConfigResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) {
    out += e.variable + " | " + e.message + "\n";
  }
  for (const std::string& w : r.warnings) {
    out += "warning | " + w + "\n";
  }
  return out;
}

const ConfigError* errorFor(const ConfigResult& r, std::string_view variable) {
  for (const ConfigError& e : r.errors) {
    if (e.variable == variable) {
      return &e;
    }
  }
  return nullptr;
}

bool warned(const ConfigResult& r, std::string_view needle) {
  for (const std::string& w : r.warnings) {
    if (w.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::map<std::string, std::string> entries(const EnvFile& f) {
  std::map<std::string, std::string> out;
  for (const EnvEntry& e : f.entries) {
    out[e.name] = e.value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// dotenv syntax

TEST(EnvFileTest, ParsesTheFormsPythonDotenvAccepts) {
  const EnvFile f = parseEnvFile(
      "# a comment line\n"
      "\n"
      "PLAIN=value\n"
      "export EXPORTED=yes\n"
      "  SPACED  =  padded value   \n"
      "TRAILING=abc # a comment\n"
      "HASH=a#b\n"
      "SINGLE='it\\'s # not a comment'\n"
      "DOUBLE=\"line1\\nline2 \\\"q\\\" back\\\\slash\"  # comment\n"
      "EMPTY=\n"
      "EMPTY_QUOTED=\"\"\n"
      "NO_EQUALS\n"
      "'QUOTED_KEY'=k\n"
      "MULTI=\"first\n"
      "second\"\n"
      "export=plainkey\n"
      "LAST=end",
      ".env");
  EXPECT_TRUE(f.errors.empty()) << (f.errors.empty() ? "" : f.errors[0].message);
  const auto m = entries(f);
  EXPECT_EQ(m.at("PLAIN"), "value");
  EXPECT_EQ(m.at("EXPORTED"), "yes");
  EXPECT_EQ(m.at("SPACED"), "padded value");
  EXPECT_EQ(m.at("TRAILING"), "abc");
  EXPECT_EQ(m.at("HASH"), "a#b");
  EXPECT_EQ(m.at("SINGLE"), "it's # not a comment");
  EXPECT_EQ(m.at("DOUBLE"), "line1\nline2 \"q\" back\\slash");
  EXPECT_EQ(m.at("EMPTY"), "");
  EXPECT_EQ(m.at("EMPTY_QUOTED"), "");
  EXPECT_EQ(m.count("NO_EQUALS"), 0u);
  EXPECT_EQ(m.at("QUOTED_KEY"), "k");
  EXPECT_EQ(m.at("MULTI"), "first\nsecond");
  EXPECT_EQ(m.at("export"), "plainkey");
  EXPECT_EQ(m.at("LAST"), "end");
}

TEST(EnvFileTest, CrlfLineEndsAndLineNumbers) {
  const EnvFile f = parseEnvFile("A=1\r\n\r\nexport B=\"two\"\r\nC=three # c\r\n", "x.env");
  ASSERT_TRUE(f.errors.empty());
  ASSERT_EQ(f.entries.size(), 3u);
  EXPECT_EQ(f.entries[0].value, "1");
  EXPECT_EQ(f.entries[1].value, "two");
  EXPECT_EQ(f.entries[1].line, 3);
  EXPECT_EQ(f.entries[2].value, "three");
  EXPECT_EQ(f.entries[2].line, 4);
}

TEST(EnvFileTest, BadLinesAreReportedWithTheirLineAndTheRestIsRead) {
  const EnvFile f = parseEnvFile("A=1\nB = \"q\" junk\n=nokey\nC=\"unterminated\nD=4\n", "my.env");
  ASSERT_EQ(f.errors.size(), 3u);
  EXPECT_EQ(f.errors[0].variable, "my.env:2");
  EXPECT_NE(f.errors[0].message.find("my.env:2"), std::string::npos);
  EXPECT_EQ(f.errors[1].variable, "my.env:3");
  EXPECT_EQ(f.errors[2].variable, "my.env:4");
  const auto m = entries(f);
  EXPECT_EQ(m.at("A"), "1");
  EXPECT_EQ(m.at("D"), "4");
  EXPECT_EQ(m.count("B"), 0u);
}

// The same text through python-dotenv itself, when it is installed: same bindings, and the same
// statements rejected.
TEST(EnvFileTest, AgreesWithPythonDotenv) {
  if (std::system("python3 -c 'import dotenv' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 with python-dotenv is not installed; cross-check skipped";
  }
  TempDir dir;
  const std::string text =
      "export A=1 # c\nB = ' x '\nC=\"t\\tab\\\\\"\nD=a #b\nE=a#b\r\nF='multi\nline'\n"
      "G=\"say \\\"hi\\\"\"#c\nH\n I=\tlead\nJ=trail   \nK=\"\\x41\"\nL='\\n'\n"
      "M = 'q' junk\nN=\"open\nO=after\n";
  const std::string env_path = dir.write("t.env", text);
  const std::string out_path = dir.path() + "/out.json";
  const std::string err_path = dir.path() + "/err.txt";
  const std::string cmd =
      "python3 -c \"import json,sys; from dotenv import dotenv_values; "
      "json.dump({k: v for k, v in dotenv_values(sys.argv[1], interpolate=False).items() "
      "if v is not None}, open(sys.argv[2], 'w'))\" '" +
      env_path + "' '" + out_path + "' 2>'" + err_path + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(out_path);
  const nlohmann::json expected = nlohmann::json::parse(in);
  std::map<std::string, std::string> want;
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    want[it.key()] = it.value().get<std::string>();
  }
  std::ifstream err(err_path);
  std::vector<std::string> want_errors;
  for (std::string line; std::getline(err, line);) {
    const size_t at = line.find("at line ");
    if (at != std::string::npos) {
      want_errors.push_back("t.env:" + line.substr(at + 8));
    }
  }
  const EnvFile f = parseEnvFile(text, "t.env");
  EXPECT_EQ(entries(f), want);
  std::vector<std::string> got_errors;
  for (const ConfigError& e : f.errors) {
    got_errors.push_back(e.variable);
  }
  EXPECT_EQ(got_errors, want_errors);
  EXPECT_FALSE(want_errors.empty());  // the fixture does exercise the error path
}

// ---------------------------------------------------------------------------------------------
// Defaults, precedence, expansion

TEST(DaemonConfigTest, DefaultsWithoutAnyFile) {
  const ConfigResult r = load("");
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  const DaemonConfig& c = r.config;
  EXPECT_EQ(c.mode, DaemonMode::kStandalone);
  EXPECT_EQ(c.deployment, "default");
  EXPECT_FALSE(c.influx.enabled);
  EXPECT_EQ(c.influx.scheme, "https");
  EXPECT_EQ(c.influx.api, InfluxApiVersion::kV2);
  EXPECT_FALSE(c.rabbitmq.enabled);
  EXPECT_FALSE(c.geoip.enabled);
  EXPECT_EQ(c.daemon.ta_glob, "/tmp/tmp.ta.*");
  EXPECT_EQ(c.daemon.state_dir, "/home/alice/.local/state/netmicroscope");
  EXPECT_EQ(c.daemon.spool_dir, "/home/alice/.local/state/netmicroscope/spool");
  EXPECT_TRUE(c.daemon.sqlite_enabled);
  EXPECT_EQ(c.daemon.sqlite_path, "/home/alice/.local/state/netmicroscope/netmicroscope.db");
  EXPECT_EQ(c.daemon.log_file, "/tmp/appmonitor.log");
  EXPECT_EQ(c.daemon.pid_file, "/tmp/appmonitor.pid");
  EXPECT_FALSE(c.daemon.metrics_enabled);
  EXPECT_EQ(c.daemon.commit_interval_ms, 1000u);
  EXPECT_TRUE(r.warnings.empty()) << joined(r);
}

TEST(DaemonConfigTest, RootKeepsStateInVarLib) {
  const ConfigResult r = loadDaemonConfig("", {}, ConfigHost{true});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.daemon.state_dir, "/var/lib/netmicroscope");
  EXPECT_EQ(r.config.daemon.sqlite_path, "/var/lib/netmicroscope/netmicroscope.db");
}

TEST(DaemonConfigTest, StateDirMovesItsDependentsUnlessTheyAreSet) {
  const ConfigResult r =
      load("", {{"NMD_STATE_DIR", "/srv/nm"}, {"NMD_SQLITE_PATH", "/data/x.db"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.daemon.spool_dir, "/srv/nm/spool");
  EXPECT_EQ(r.config.daemon.sqlite_path, "/data/x.db");
}

TEST(DaemonConfigTest, EnvironmentOverridesTheFile) {
  TempDir dir;
  const ConfigResult r = loadText(dir, "NMD_DEPLOYMENT=from_file\nNMD_LOG_FILE=/f.log\n",
                                  {{"NMD_DEPLOYMENT", "from_env"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.deployment, "from_env");
  EXPECT_EQ(r.config.daemon.log_file, "/f.log");
}

TEST(DaemonConfigTest, EmptyValueMeansUnset) {
  TempDir dir;
  // The original template shipped "export X=" lines for the user to fill in.
  const ConfigResult r = loadText(dir, "export NMD_MODE=\nexport MMGEOIP_ENABLE=\nNMD_LOG_FILE=\n");
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.mode, DaemonMode::kStandalone);
  EXPECT_FALSE(r.config.geoip.enabled);
  EXPECT_EQ(r.config.daemon.log_file, "/tmp/appmonitor.log");
}

TEST(DaemonConfigTest, ExpandsVariablesLikePythonDotenv) {
  TempDir dir;
  const ConfigResult r = loadText(dir,
                                  "BASE=/opt/nm\n"
                                  "NMD_STATE_DIR=${BASE}/state\n"
                                  "NMD_LOG_FILE=${LOGDIR:-/var/log}/nm.log\n"
                                  "NMD_PID_FILE=${RUN}/nm.pid\n",
                                  {{"RUN", "/run"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.daemon.state_dir, "/opt/nm/state");
  EXPECT_EQ(r.config.daemon.log_file, "/var/log/nm.log");
  EXPECT_EQ(r.config.daemon.pid_file, "/run/nm.pid");
}

TEST(DaemonConfigTest, MissingFileIsAnError) {
  const ConfigResult r = load("/nonexistent/dir/.env");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("/nonexistent/dir/.env"), std::string::npos);
}

TEST(DaemonConfigTest, SyntaxErrorsAreConfigErrors) {
  TempDir dir;
  const ConfigResult r = loadText(dir, "NMD_MODE=standalone\nOOPS = 'a' b\n");
  ASSERT_EQ(r.errors.size(), 1u) << joined(r);
  EXPECT_NE(r.errors[0].variable.find(":2"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Values

TEST(DaemonConfigTest, BooleansAcceptTheUsualSpellings) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"true", true}, {"True", true}, {"TRUE", true},   {"1", true},
      {"yes", true},  {"On", true},   {"false", false}, {"False", false},
      {"0", false},   {"no", false},  {"OFF", false}};
  for (const auto& [text, want] : cases) {
    const ConfigResult r = load("", {{"NMD_SQLITE_ENABLE", text}});
    ASSERT_TRUE(r.errors.empty()) << text << ": " << joined(r);
    EXPECT_EQ(r.config.daemon.sqlite_enabled, want) << text;
  }
  const ConfigResult bad = load("", {{"NMD_SQLITE_ENABLE", "maybe"}});
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].variable, "NMD_SQLITE_ENABLE");
  EXPECT_NE(bad.errors[0].message.find("NMD_SQLITE_ENABLE"), std::string::npos);
  EXPECT_NE(bad.errors[0].message.find("\"maybe\""), std::string::npos);
  EXPECT_NE(bad.errors[0].message.find("environment"), std::string::npos);
}

TEST(DaemonConfigTest, ModeValues) {
  EXPECT_EQ(load("", {{"NMD_MODE", "Standalone"}}).config.mode, DaemonMode::kStandalone);
  const ConfigResult bad = load("", {{"NMD_MODE", "server"}});
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].message.find("\"server\""), std::string::npos);
  EXPECT_NE(bad.errors[0].message.find("standalone, producer or consumer"), std::string::npos);
}

TEST(DaemonConfigTest, EveryErrorIsReportedTogether) {
  TempDir dir;
  const ConfigResult r = loadText(dir,
                                  "NMD_MODE=standalone\n"
                                  "NMD_COMMIT_INTERVAL_MS=soon\n"
                                  "NMD_SQLITE_ENABLE=perhaps\n"
                                  "INFLUXDB_SCHEME=ftp\n");
  ASSERT_EQ(r.errors.size(), 3u) << joined(r);
  EXPECT_NE(errorFor(r, "NMD_COMMIT_INTERVAL_MS"), nullptr);
  EXPECT_NE(errorFor(r, "NMD_SQLITE_ENABLE"), nullptr);
  ASSERT_NE(errorFor(r, "INFLUXDB_SCHEME"), nullptr);
  // Each message names the value and the line it came from.
  EXPECT_NE(errorFor(r, "INFLUXDB_SCHEME")->message.find("\"ftp\""), std::string::npos);
  EXPECT_NE(errorFor(r, "INFLUXDB_SCHEME")->message.find(".env:4"), std::string::npos);
  const std::string text = formatConfigErrors(r.errors);
  EXPECT_EQ(text.rfind("3 configuration errors:", 0), 0u) << text;
  EXPECT_NE(text.find("\"soon\""), std::string::npos);
  EXPECT_NE(text.find("\"perhaps\""), std::string::npos);
  EXPECT_EQ(formatConfigErrors({}), "");
}

TEST(DaemonConfigTest, IntegersAreRangeChecked) {
  for (const char* bad : {"0", "3600001", "-5", "1e3", "10 ", "99999999999999999999999"}) {
    const ConfigResult r = load("", {{"NMD_COMMIT_INTERVAL_MS", bad}});
    EXPECT_EQ(r.errors.size(), 1u) << bad;
  }
  EXPECT_EQ(load("", {{"NMD_COMMIT_INTERVAL_MS", "250"}}).config.daemon.commit_interval_ms, 250u);
}

Env influxV2Compat() {
  return {{"INFLUXDB_ENABLE", "true"},
          {"INFLUXDB_HOST", "influx.example.org"},
          {"INFLUXDB_PORT", "8086"},
          {"INFLUXDB_WRITE_USER", "writer"},
          {"INFLUXDB_WRITE_USER_PASSWORD", "s3cret"},
          {"INFLUXDB_DB", "nm"}};
}

TEST(DaemonConfigTest, PortsAreChecked) {
  for (const char* bad : {"0", "65536", "80a", "-1", "http"}) {
    Env env = influxV2Compat();
    env["INFLUXDB_PORT"] = bad;
    const ConfigResult r = load("", env);
    ASSERT_EQ(r.errors.size(), 1u) << bad << ": " << joined(r);
    EXPECT_EQ(r.errors[0].variable, "INFLUXDB_PORT");
    EXPECT_NE(r.errors[0].message.find(std::string("\"") + bad + "\""), std::string::npos);
  }
  for (const char* good : {"1", "65535"}) {
    Env env = influxV2Compat();
    env["INFLUXDB_PORT"] = good;
    EXPECT_TRUE(load("", env).errors.empty()) << good;
  }
}

// What the original daemon did: https, /api/v2/write, Token user:password, bucket from the DB.
TEST(DaemonConfigTest, InfluxV2FromTheOriginalVariables) {
  const ConfigResult r = load("", influxV2Compat());
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  const InfluxConfig& in = r.config.influx;
  EXPECT_TRUE(in.enabled);
  EXPECT_EQ(in.scheme, "https");
  EXPECT_EQ(in.api, InfluxApiVersion::kV2);
  EXPECT_EQ(in.host, "influx.example.org");
  EXPECT_EQ(in.port, 8086);
  EXPECT_EQ(in.bucket, "nm");
  EXPECT_EQ(in.token, "writer:s3cret");
  EXPECT_TRUE(in.org.empty());
  EXPECT_TRUE(in.verify_tls);
  EXPECT_TRUE(in.gzip);
  EXPECT_EQ(in.batch_points, 5000u);
}

TEST(DaemonConfigTest, InfluxEnabledNeedsHostAndPort) {
  const ConfigResult r = load("", {{"INFLUXDB_ENABLE", "True"},
                                   {"INFLUXDB_DB", "nm"},
                                   {"INFLUXDB_WRITE_USER", "u"},
                                   {"INFLUXDB_WRITE_USER_PASSWORD", "p"}});
  ASSERT_EQ(r.errors.size(), 2u) << joined(r);
  EXPECT_NE(errorFor(r, "INFLUXDB_HOST"), nullptr);
  EXPECT_NE(errorFor(r, "INFLUXDB_PORT"), nullptr);
  // Disabled: nothing is required.
  EXPECT_TRUE(load("", {{"INFLUXDB_ENABLE", "false"}}).errors.empty());
}

TEST(DaemonConfigTest, InfluxV2NeedsCredentialsAndBucket) {
  const ConfigResult r =
      load("", {{"INFLUXDB_ENABLE", "true"}, {"INFLUXDB_HOST", "h"}, {"INFLUXDB_PORT", "8086"}});
  ASSERT_EQ(r.errors.size(), 2u) << joined(r);
  EXPECT_NE(errorFor(r, "INFLUXDB_BUCKET"), nullptr);
  EXPECT_NE(errorFor(r, "INFLUXDB_TOKEN"), nullptr);

  // A real InfluxDB 2.x token needs its org.
  Env env = {{"INFLUXDB_ENABLE", "true"},
             {"INFLUXDB_HOST", "h"},
             {"INFLUXDB_PORT", "8086"},
             {"INFLUXDB_TOKEN", "tok"},
             {"INFLUXDB_BUCKET", "b"}};
  const ConfigResult no_org = load("", env);
  ASSERT_EQ(no_org.errors.size(), 1u) << joined(no_org);
  EXPECT_EQ(no_org.errors[0].variable, "INFLUXDB_ORG");
  env["INFLUXDB_ORG"] = "lab";
  const ConfigResult ok = load("", env);
  ASSERT_TRUE(ok.errors.empty()) << joined(ok);
  EXPECT_EQ(ok.config.influx.token, "tok");
  EXPECT_EQ(ok.config.influx.bucket, "b");
  EXPECT_EQ(ok.config.influx.org, "lab");
}

TEST(DaemonConfigTest, InfluxV1NeedsTheDatabaseAndBothCredentials) {
  Env env = {{"INFLUXDB_ENABLE", "true"}, {"INFLUXDB_HOST", "h"},
             {"INFLUXDB_PORT", "8086"},   {"INFLUXDB_API", "v1"},
             {"INFLUXDB_SCHEME", "http"}, {"INFLUXDB_WRITE_USER", "u"}};
  const ConfigResult r = load("", env);
  ASSERT_EQ(r.errors.size(), 2u) << joined(r);
  EXPECT_NE(errorFor(r, "INFLUXDB_DB"), nullptr);
  EXPECT_NE(errorFor(r, "INFLUXDB_WRITE_USER_PASSWORD"), nullptr);
  env["INFLUXDB_DB"] = "nm";
  env.erase("INFLUXDB_WRITE_USER");
  const ConfigResult ok = load("", env);
  ASSERT_TRUE(ok.errors.empty()) << joined(ok);
  EXPECT_EQ(ok.config.influx.api, InfluxApiVersion::kV1);
  EXPECT_EQ(ok.config.influx.scheme, "http");
  EXPECT_EQ(ok.config.influx.database, "nm");
}

TEST(DaemonConfigTest, InfluxOptionalSettings) {
  TempDir dir;
  const std::string ca = dir.write("ca.pem", "not really a certificate");
  Env env = influxV2Compat();
  env["INFLUXDB_CA_FILE"] = ca;
  env["INFLUXDB_VERIFY_TLS"] = "no";
  env["INFLUXDB_BATCH_POINTS"] = "100";
  env["INFLUXDB_GZIP"] = "off";
  env["INFLUXDB_BUCKET"] = "nm/rp";
  const ConfigResult r = load("", env);
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.influx.ca_file, ca);
  EXPECT_FALSE(r.config.influx.verify_tls);
  EXPECT_EQ(r.config.influx.batch_points, 100u);
  EXPECT_FALSE(r.config.influx.gzip);
  EXPECT_EQ(r.config.influx.bucket, "nm/rp");

  env["INFLUXDB_CA_FILE"] = dir.path() + "/missing.pem";
  env["INFLUXDB_BATCH_POINTS"] = "0";
  env["INFLUXDB_API"] = "v3";
  const ConfigResult bad = load("", env);
  ASSERT_EQ(bad.errors.size(), 3u) << joined(bad);
  ASSERT_NE(errorFor(bad, "INFLUXDB_CA_FILE"), nullptr);
  EXPECT_NE(errorFor(bad, "INFLUXDB_CA_FILE")->message.find("missing.pem"), std::string::npos);
  EXPECT_NE(errorFor(bad, "INFLUXDB_BATCH_POINTS"), nullptr);
  EXPECT_NE(errorFor(bad, "INFLUXDB_API"), nullptr);
}

Env rabbit() {
  return {{"RABBITMQ_SSL_HOST", "mq.example.org"},
          {"RABBITMQ_SSL_USER", "nm"},
          {"RABBITMQ_SSL_PASS", "hunter2"},
          {"RABBITMQ_SSL_TOPIC", "ta"}};
}

TEST(DaemonConfigTest, RabbitMqIsRequiredOnlyWhenRecordsTravel) {
  EXPECT_TRUE(load("", {{"NMD_MODE", "standalone"}}).errors.empty());
  const ConfigResult consumer = load("", {{"NMD_MODE", "consumer"}});
  ASSERT_EQ(consumer.errors.size(), 4u) << joined(consumer);
  for (const char* name :
       {"RABBITMQ_SSL_HOST", "RABBITMQ_SSL_USER", "RABBITMQ_SSL_PASS", "RABBITMQ_SSL_TOPIC"}) {
    ASSERT_NE(errorFor(consumer, name), nullptr) << name;
    EXPECT_NE(errorFor(consumer, name)->message.find("consumer mode"), std::string::npos);
  }
  Env env = rabbit();
  env["NMD_MODE"] = "consumer";
  const ConfigResult ok = load("", env);
  ASSERT_TRUE(ok.errors.empty()) << joined(ok);
  const RabbitMqConfig& rq = ok.config.rabbitmq;
  EXPECT_TRUE(rq.enabled);
  EXPECT_TRUE(rq.tls);
  EXPECT_EQ(rq.port, 5671);
  EXPECT_EQ(rq.vhost, "/");
  EXPECT_EQ(rq.topic, "ta");
  EXPECT_TRUE(rq.verify);
  EXPECT_TRUE(rq.cert_file.empty());
}

TEST(DaemonConfigTest, ProducerNeedsItsDeployment) {
  Env env = rabbit();
  env["NMD_MODE"] = "producer";
  const ConfigResult r = load("", env);
  ASSERT_EQ(r.errors.size(), 1u) << joined(r);
  EXPECT_EQ(r.errors[0].variable, "NMD_DEPLOYMENT");
  env["NMD_DEPLOYMENT"] = "home-17";
  const ConfigResult ok = load("", env);
  ASSERT_TRUE(ok.errors.empty()) << joined(ok);
  EXPECT_EQ(ok.config.deployment, "home-17");
  EXPECT_EQ(ok.config.mode, DaemonMode::kProducer);
}

TEST(DaemonConfigTest, OldDeploymentNameStillWorks) {
  const ConfigResult r = load("", {{"INFLUXDB_DEPLOYMENT", "lab"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.deployment, "lab");
  EXPECT_TRUE(warned(r, "INFLUXDB_DEPLOYMENT"));
  const ConfigResult both = load("", {{"INFLUXDB_DEPLOYMENT", "lab"}, {"NMD_DEPLOYMENT", "home"}});
  EXPECT_EQ(both.config.deployment, "home");
  EXPECT_TRUE(warned(both, "ignored"));
  EXPECT_EQ(load("", {{"NMD_DEPLOYMENT", "a\tb"}}).errors.size(), 1u);
}

TEST(DaemonConfigTest, RabbitMqTlsFiles) {
  TempDir dir;
  const std::string cert = dir.write("client.pem", "c");
  const std::string key = dir.write("client.key", "k");
  const std::string ca = dir.write("ca.pem", "a");
  Env env = rabbit();
  env["NMD_MODE"] = "consumer";
  env["RABBITMQ_SSL_CERTFILE"] = cert;
  env["RABBITMQ_SSL_PKEYFILE"] = key;
  env["RABBITMQ_SSL_CERTPASS"] = "pw";
  env["RABBITMQ_SSL_CAFILE"] = ca;
  env["RABBITMQ_SSL_VERIFY"] = "false";
  env["RABBITMQ_VHOST"] = "nm";
  env["RABBITMQ_SSL_PORT"] = "15671";
  const ConfigResult ok = load("", env);
  ASSERT_TRUE(ok.errors.empty()) << joined(ok);
  EXPECT_EQ(ok.config.rabbitmq.cert_file, cert);
  EXPECT_EQ(ok.config.rabbitmq.key_file, key);
  EXPECT_EQ(ok.config.rabbitmq.key_password, "pw");
  EXPECT_EQ(ok.config.rabbitmq.ca_file, ca);
  EXPECT_FALSE(ok.config.rabbitmq.verify);
  EXPECT_EQ(ok.config.rabbitmq.vhost, "nm");
  EXPECT_EQ(ok.config.rabbitmq.port, 15671);

  env["RABBITMQ_SSL_CERTFILE"] = dir.path() + "/nope.pem";
  env["RABBITMQ_SSL_CAFILE"] = dir.path();  // a directory, not a file
  const ConfigResult bad = load("", env);
  ASSERT_EQ(bad.errors.size(), 2u) << joined(bad);
  EXPECT_NE(errorFor(bad, "RABBITMQ_SSL_CERTFILE"), nullptr);
  EXPECT_NE(errorFor(bad, "RABBITMQ_SSL_CAFILE"), nullptr);

  env = rabbit();
  env["NMD_MODE"] = "consumer";
  env["RABBITMQ_SSL_CERTFILE"] = cert;
  const ConfigResult half = load("", env);
  ASSERT_EQ(half.errors.size(), 1u) << joined(half);
  EXPECT_EQ(half.errors[0].variable, "RABBITMQ_SSL_PKEYFILE");
}

TEST(DaemonConfigTest, RabbitMqWithoutTlsForLabs) {
  Env env = rabbit();
  env["NMD_MODE"] = "consumer";
  env["RABBITMQ_TLS"] = "false";
  env["RABBITMQ_SSL_CERTFILE"] = "/does/not/matter.pem";
  const ConfigResult r = load("", env);
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_FALSE(r.config.rabbitmq.tls);
  EXPECT_EQ(r.config.rabbitmq.port, 5672);
  EXPECT_TRUE(warned(r, "RABBITMQ_SSL_CERTFILE is ignored"));
}

TEST(DaemonConfigTest, OldRabbitCaName) {
  TempDir dir;
  Env env = rabbit();
  env["NMD_MODE"] = "producer";
  env["NMD_DEPLOYMENT"] = "d";
  env["RABBITMQ_SSL_CACERT"] = dir.write("ca.pem", "a");
  const ConfigResult r = load("", env);
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.rabbitmq.ca_file, dir.path() + "/ca.pem");
  EXPECT_TRUE(warned(r, "RABBITMQ_SSL_CACERT"));
}

TEST(DaemonConfigTest, RelativePathsFollowTheFileThatSetThem) {
  TempDir dir;
  dir.write("client.pem", "c");
  dir.write("client.key", "k");
  const ConfigResult r = loadText(dir,
                                  "NMD_MODE=consumer\nRABBITMQ_SSL_HOST=h\nRABBITMQ_SSL_USER=u\n"
                                  "RABBITMQ_SSL_PASS=p\nRABBITMQ_SSL_TOPIC=t\n"
                                  "RABBITMQ_SSL_CERTFILE=client.pem\n"
                                  "RABBITMQ_SSL_PKEYFILE=./client.key\n",
                                  {{"NMD_SQLITE_PATH", "rel/x.db"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_EQ(r.config.rabbitmq.cert_file, dir.path() + "/client.pem");
  EXPECT_EQ(r.config.rabbitmq.key_file, dir.path() + "/./client.key");
  EXPECT_EQ(r.config.daemon.sqlite_path, "rel/x.db");  // from the environment: as given
}

TEST(DaemonConfigTest, GeoIp) {
  TempDir dir;
  const ConfigResult legacy = load("", {{"MMGEOIP_ID", "123"}, {"MMGEOIP_KEY", "secretkey"}});
  ASSERT_TRUE(legacy.errors.empty()) << joined(legacy);
  EXPECT_TRUE(warned(legacy, "no longer used"));
  EXPECT_EQ(joined(legacy).find("secretkey"), std::string::npos);

  const ConfigResult missing = load("", {{"MMGEOIP_ENABLE", "true"},
                                         {"MMGEOIP_CITY_DB", dir.path() + "/city.mmdb"},
                                         {"MMGEOIP_ASN_DB", dir.path() + "/asn.mmdb"}});
  ASSERT_EQ(missing.errors.size(), 2u) << joined(missing);
  EXPECT_NE(errorFor(missing, "MMGEOIP_CITY_DB"), nullptr);
  EXPECT_NE(errorFor(missing, "MMGEOIP_ASN_DB"), nullptr);

  const std::string city = dir.write("city.mmdb", "x");
  const ConfigResult ok = load("", {{"MMGEOIP_ENABLE", "yes"}, {"MMGEOIP_CITY_DB", city}});
  EXPECT_TRUE(ok.errors.empty()) << joined(ok);
  EXPECT_TRUE(ok.config.geoip.enabled);
  EXPECT_EQ(ok.config.geoip.city_db, city);
}

TEST(DaemonConfigTest, MetricsListen) {
  struct Case {
    const char* text;
    bool ok;
    const char* host;
    uint16_t port;
  };
  const std::vector<Case> cases = {{"127.0.0.1:0", true, "127.0.0.1", 0},
                                   {"localhost:9100", true, "localhost", 9100},
                                   {"[::1]:9100", true, "::1", 9100},
                                   {":9100", true, "0.0.0.0", 9100},
                                   {"localhost", false, "", 0},
                                   {"::1:9100", false, "", 0},
                                   {"127.0.0.1:65536", false, "", 0},
                                   {"127.0.0.1:", false, "", 0},
                                   {"[::1:9100", false, "", 0}};
  for (const Case& c : cases) {
    const ConfigResult r = load("", {{"NMD_METRICS_LISTEN", c.text}});
    EXPECT_EQ(r.errors.empty(), c.ok) << c.text << ": " << joined(r);
    if (c.ok && r.errors.empty()) {
      EXPECT_TRUE(r.config.daemon.metrics_enabled);
      EXPECT_EQ(r.config.daemon.metrics_host, c.host);
      EXPECT_EQ(r.config.daemon.metrics_port, c.port);
    }
  }
}

TEST(DaemonConfigTest, NearMissesAreWarnedUnknownNamesIgnored) {
  TempDir dir;
  const ConfigResult r = loadText(dir,
                                  "INFLUXDB_PROT=8086\n"
                                  "NMD_DEPLOYMNET=x\n"
                                  "COMPOSE_PROJECT_NAME=nm\n"
                                  "INFLUXDB_URL=http://x\n"
                                  "RABBITMQ_SSL_KEYFILE=k\n",
                                  {{"nmd_mode", "producer"}, {"PATH", "/usr/bin"}});
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_TRUE(warned(r, "INFLUXDB_PROT (from ")) << joined(r);
  EXPECT_TRUE(warned(r, "did you mean INFLUXDB_PORT?")) << joined(r);
  EXPECT_TRUE(warned(r, "did you mean NMD_DEPLOYMENT?")) << joined(r);
  EXPECT_TRUE(warned(r, "did you mean RABBITMQ_SSL_PKEYFILE?")) << joined(r);
  EXPECT_TRUE(warned(r, "did you mean NMD_MODE?")) << joined(r);
  EXPECT_FALSE(warned(r, "COMPOSE_PROJECT_NAME"));
  EXPECT_FALSE(warned(r, "INFLUXDB_URL"));
  EXPECT_FALSE(warned(r, "PATH"));
  EXPECT_EQ(r.warnings.size(), 4u) << joined(r);
}

TEST(DaemonConfigTest, SecretsNeverAppearInMessages) {
  Env env = influxV2Compat();
  env["INFLUXDB_WRITE_USER_PASSWORD"] = "pa55word";
  env["NMD_MODE"] = "consumer";
  env["RABBITMQ_SSL_PASS"] = "rabbitpass";
  env["RABBITMQ_SSL_CERTPASS"] = "certpass";
  env["INFLUXDB_PORT"] = "bad";
  const ConfigResult r = load("", env);
  EXPECT_FALSE(r.errors.empty());
  const std::string all = joined(r) + describeConfig(r.config);
  EXPECT_EQ(all.find("pa55word"), std::string::npos) << all;
  EXPECT_EQ(all.find("rabbitpass"), std::string::npos) << all;
  EXPECT_EQ(all.find("certpass"), std::string::npos) << all;
}

// The original template, filled in as its README told users to.
TEST(DaemonConfigTest, TheOriginalTemplateFilledIn) {
  TempDir dir;
  dir.write("client.pem", "c");
  dir.write("client.key", "k");
  const ConfigResult r = loadText(dir,
                                  "#export NMD_MODE=standalone # consumer | producer | standalone\n"
                                  "export NMD_MODE=consumer # consumer | producer | standalone\n"
                                  "export NMD_DEPLOYMENT=martins\n"
                                  "#export RABBITMQ_SSL_CACERT=cert/ca_certificate.pem\n"
                                  "export RABBITMQ_SSL_CERTFILE=client.pem\n"
                                  "export RABBITMQ_SSL_PKEYFILE=client.key\n"
                                  "export RABBITMQ_SSL_CERTPASS=\n"
                                  "export RABBITMQ_SSL_HOST=mq.example.org\n"
                                  "export RABBITMQ_SSL_PORT=5671\n"
                                  "export RABBITMQ_SSL_USER=nm\n"
                                  "export RABBITMQ_SSL_PASS=pw\n"
                                  "export RABBITMQ_SSL_TOPIC=netmicroscope\n"
                                  "export INFLUXDB_ENABLE=true\n"
                                  "export INFLUXDB_HOST=influx.example.org\n"
                                  "export INFLUXDB_PORT=443\n"
                                  "export INFLUXDB_WRITE_USER=writer\n"
                                  "export INFLUXDB_WRITE_USER_PASSWORD=pw2\n"
                                  "export INFLUXDB_DB=nm\n"
                                  "export MMGEOIP_ENABLE=\n"
                                  "export MMGEOIP_ID=\n"
                                  "export MMGEOIP_KEY=\n");
  ASSERT_TRUE(r.errors.empty()) << joined(r);
  EXPECT_TRUE(r.warnings.empty()) << joined(r);
  const DaemonConfig& c = r.config;
  EXPECT_EQ(c.mode, DaemonMode::kConsumer);
  EXPECT_EQ(c.deployment, "martins");
  EXPECT_EQ(c.rabbitmq.cert_file, dir.path() + "/client.pem");
  EXPECT_EQ(c.influx.token, "writer:pw2");
  EXPECT_EQ(c.influx.bucket, "nm");
  EXPECT_NE(describeConfig(c).find("mode=consumer"), std::string::npos);
}

// docs/daemon-configuration.md must describe every variable the code reads.
TEST(DaemonConfigTest, ReferenceDocumentsEveryVariable) {
  std::ifstream in(std::string(NM_SOURCE_DIR) + "/docs/daemon-configuration.md");
  ASSERT_TRUE(in) << "docs/daemon-configuration.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  for (std::string_view name : knownConfigVariables()) {
    EXPECT_NE(text.str().find("`" + std::string(name) + "`"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace nm

namespace nm {
namespace {

// One variable; spelled out because {{"A", "b"}} can also pick map's iterator-pair constructor.
std::map<std::string, std::string> one(const char* name, const char* value) {
  return {{std::string(name), std::string(value)}};
}

TEST(DaemonConfigTest, StoreTiersParseWithUnits) {
  const ConfigResult r =
      loadDaemonConfig("", one("NMD_SQLITE_TIERS", "raw:2d,5m:30d,1h:1y"), ConfigHost{false});
  ASSERT_TRUE(r.errors.empty()) << formatConfigErrors(r.errors);
  const std::vector<std::pair<int64_t, int64_t>> want = {
      {0, 2 * 86400}, {300, 30 * 86400}, {3600, 365 * 86400}};
  EXPECT_EQ(r.config.daemon.sqlite_tiers, want);
  const ConfigResult d = loadDaemonConfig("", {}, ConfigHost{false});
  EXPECT_EQ(d.config.daemon.sqlite_tiers.size(), 3u);
  EXPECT_EQ(d.config.daemon.sqlite_tiers[2].second, 730 * 86400);
}

TEST(DaemonConfigTest, StoreTiersRejectMalformedLists) {
  for (const char* bad : {"1m:90d", "raw:7d,raw:9d", "raw:7x", "raw:7d,1m", "raw:0d", "raw"}) {
    const ConfigResult r = loadDaemonConfig("", one("NMD_SQLITE_TIERS", bad), ConfigHost{false});
    ASSERT_EQ(r.errors.size(), 1u) << bad;
    EXPECT_EQ(r.errors[0].variable, "NMD_SQLITE_TIERS");
    EXPECT_NE(r.errors[0].message.find(bad), std::string::npos) << r.errors[0].message;
  }
}

}  // namespace
}  // namespace nm

namespace nm {
namespace {

TEST(DaemonConfigTest, PluginListKeepsOrderAndNoneMeansNone) {
  const ConfigResult unset = loadDaemonConfig("", {}, ConfigHost{false});
  EXPECT_FALSE(unset.config.daemon.plugins.has_value());
  const ConfigResult list = loadDaemonConfig(
      "", one("NMD_PLUGINS", " exinfo, ouimap ,/opt/nm/libmine.so"), ConfigHost{false});
  ASSERT_TRUE(list.config.daemon.plugins.has_value());
  EXPECT_EQ(*list.config.daemon.plugins,
            (std::vector<std::string>{"exinfo", "ouimap", "/opt/nm/libmine.so"}));
  const ConfigResult none = loadDaemonConfig("", one("NMD_PLUGINS", "none"), ConfigHost{false});
  ASSERT_TRUE(none.config.daemon.plugins.has_value());
  EXPECT_TRUE(none.config.daemon.plugins->empty());
  // Plugins read their own variables from the merged settings.
  const ConfigResult s = loadDaemonConfig(
      "",
      std::map<std::string, std::string>{{std::string("OUIMAP_NAMES"), std::string("/etc/names")},
                                         {std::string("EMPTY"), std::string()}},
      ConfigHost{false});
  EXPECT_EQ(s.settings.at("OUIMAP_NAMES"), "/etc/names");
  EXPECT_EQ(s.settings.count("EMPTY"), 0u);
}

}  // namespace
}  // namespace nm
