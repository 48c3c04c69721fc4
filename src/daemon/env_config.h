#pragma once
// The daemon's settings: the original Python daemon's `.env` variables (read the way its
// python-dotenv did) plus ours, parsed once into a typed DaemonConfig. Every problem is collected
// and reported together, so an operator fixes a file in one pass, not one restart per variable.
// docs/daemon-configuration.md lists every variable with its meaning, default and valid values.
//
// Precedence (python-dotenv's load_dotenv default, override=False): a variable set in the process
// environment wins over the file. An empty value counts as unset (the original template shipped
// `export INFLUXDB_PORT=` lines), so the default applies. Unknown variables are ignored (one
// `.env` is often shared with docker-compose); a near miss of a known name is a warning.
//
// Pure functions of their arguments apart from reading the `.env` file and checking that files
// named by TLS/GeoIP variables are readable; thread-safe; never throw.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nm {

// One problem. `message` is a whole sentence that names the variable, the bad value (never the
// value of a secret: passwords, tokens, keys) and where it came from.
struct ConfigError {
  std::string variable;  // "INFLUXDB_PORT"; "<file>:<line>" for a syntax error
  std::string message;
};

// One `KEY=VALUE` binding of a dotenv file, value unquoted and unescaped, `${...}` not expanded.
struct EnvEntry {
  std::string name;
  std::string value;
  int line = 0;  // 1-based line of the key
};

struct EnvFile {
  std::vector<EnvEntry> entries;    // in file order; a later duplicate wins
  std::vector<ConfigError> errors;  // lines python-dotenv could not parse either (it skips them)
};

// Parses dotenv text like python-dotenv 1.x: `[export ]KEY=VALUE`, whitespace around `=`, `#`
// comment lines and comments after a value (after whitespace when unquoted: `a#b` stays `a#b`),
// 'single' (escapes \\ \') and "double" quoted values (escapes \\ \' \" \a \b \f \n \r \t \v) that
// may span lines, `'quoted keys'`, LF/CRLF/CR line ends. A key without `=` binds nothing (as
// python-dotenv: not set). `file_name` only labels errors.
EnvFile parseEnvFile(std::string_view text, std::string_view file_name);

enum class DaemonMode {
  kStandalone,  // tail TA files, write the local sinks
  kProducer,    // tail TA files, publish records to RabbitMQ
  kConsumer,    // consume records from RabbitMQ, write the local sinks
};
std::string_view daemonModeName(DaemonMode mode);

enum class InfluxApiVersion { kV1, kV2 };

struct InfluxConfig {
  bool enabled = false;
  std::string scheme = "https";  // "http" | "https"
  std::string host;
  uint16_t port = 0;
  InfluxApiVersion api = InfluxApiVersion::kV2;
  std::string database;  // INFLUXDB_DB: v1 target; the v2 bucket when INFLUXDB_BUCKET is unset
  std::string user;      // INFLUXDB_WRITE_USER (v1 basic auth; v2 token "user:password")
  std::string password;
  std::string org;      // v2; may be empty against InfluxDB 1.8's compatibility endpoint
  std::string bucket;   // v2: INFLUXDB_BUCKET, else INFLUXDB_DB
  std::string token;    // v2: INFLUXDB_TOKEN, else "user:password" (what the original sent)
  std::string ca_file;  // absolute or relative to the working directory; empty = system store
  bool verify_tls = true;
  uint32_t batch_points = 5000;
  bool gzip = true;
};

struct RabbitMqConfig {
  bool enabled = false;  // true in producer and consumer modes
  bool tls = true;
  std::string host;
  uint16_t port = 5671;  // 5672 when tls is false
  std::string user;
  std::string password;
  std::string vhost = "/";
  std::string topic;      // queue name (the original declared a queue named after it)
  std::string cert_file;  // client certificate (PEM); empty = no client certificate
  std::string key_file;   // its private key (PEM)
  std::string key_password;
  std::string ca_file;  // empty = system store
  bool verify = true;   // verify the server's certificate and host name
};

struct GeoIpConfig {
  bool enabled = false;
  std::string city_db;  // GeoLite2/GeoIP2 City .mmdb
  std::string asn_db;   // GeoLite2 ASN .mmdb; empty = no AS lookups
};

struct DaemonSettings {
  std::string ta_glob = "/tmp/tmp.ta.*";
  std::string state_dir;  // checkpoint lives here
  std::string spool_dir;
  bool sqlite_enabled = true;
  std::string sqlite_path;
  std::string log_file = "/tmp/appmonitor.log";
  std::string pid_file = "/tmp/appmonitor.pid";
  bool metrics_enabled = false;  // NMD_METRICS_LISTEN set
  std::string metrics_host;      // "127.0.0.1", "::1" (no brackets), "0.0.0.0" for ":PORT"
  uint16_t metrics_port = 0;     // 0 = pick a free port
  uint32_t commit_interval_ms = 1000;
  // The original's "Application-device {'KbpsDw': ...}" info line per pair and record.
  bool log_summaries = true;
  // NMD_PLUGINS: plugins in the order they run, built-in names or paths of shared libraries;
  // unset = every built-in plugin in priority order; "none" = no plugin.
  std::optional<std::vector<std::string>> plugins;
  // NMD_SQLITE_TIERS: (step_s, keep_s) per store tier, raw (step 0) first.
  std::vector<std::pair<int64_t, int64_t>> sqlite_tiers = {
      {0, 7 * 86400}, {60, 90 * 86400}, {3600, 730 * 86400}};
};

struct DaemonConfig {
  DaemonMode mode = DaemonMode::kStandalone;
  std::string deployment = "default";
  InfluxConfig influx;
  RabbitMqConfig rabbitmq;
  GeoIpConfig geoip;
  DaemonSettings daemon;
};

struct ConfigResult {
  // Always filled: a bad or missing value leaves its default. Run the daemon only when errors is
  // empty; `nmd stop` may still take its pid file from here.
  DaemonConfig config;
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;  // near misses, old names, ignored settings: log them
  // Every non-empty variable after merging file and environment (values expanded, paths not
  // resolved), for plugins that read their own settings (plugins/plugin.h).
  std::map<std::string, std::string> settings;
};

// Where defaults that depend on the user come from. Empty optional = the running process
// (geteuid() == 0; HOME from `environment`, else the password database).
struct ConfigHost {
  std::optional<bool> is_root;
};

// Reads `env_path` (empty = no file; a path that cannot be read is an error), merges it under
// `environment` (which wins), expands `${NAME}` / `${NAME:-default}` in file values as
// python-dotenv does, and checks everything. Relative paths in file values are resolved against
// the file's directory (the original resolved its certificate paths against its install folder,
// where the `.env` lives); relative paths from the environment stay relative to the working
// directory.
ConfigResult loadDaemonConfig(const std::string& env_path,
                              const std::map<std::string, std::string>& environment,
                              const ConfigHost& host = {});

// The process environment as a map, for loadDaemonConfig.
std::map<std::string, std::string> processEnvironment();

// "3 configuration errors:\n  INFLUXDB_PORT: ...\n  ..." (empty string for no errors).
std::string formatConfigErrors(const std::vector<ConfigError>& errors);

// One line for the start-up log; secrets replaced by "***".
std::string describeConfig(const DaemonConfig& config);

// Every variable name the daemon reads (current and old names), for docs and near-miss checks.
const std::vector<std::string_view>& knownConfigVariables();

}  // namespace nm
