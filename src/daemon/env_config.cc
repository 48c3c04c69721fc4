#include "daemon/env_config.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "core/text.h"

extern char** environ;

namespace nm {
namespace {

// ---------------------------------------------------------------------------------------------
// dotenv text

bool isLineBreak(char c) {
  return c == '\n' || c == '\r';
}
// Python's \s minus the line breaks ([^\S\r\n]).
bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}
bool isSpace(char c) {
  return isBlank(c) || isLineBreak(c);
}

// A cursor over the text that counts lines the way python-dotenv does (\r\n, \n, \r = one each).
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }
  size_t pos() const { return pos_; }
  int line() const { return line_; }
  std::string_view text() const { return text_; }

  void advanceTo(size_t end) {
    for (; pos_ < end; ++pos_) {
      const char c = text_[pos_];
      if (c == '\n' || (c == '\r' && (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n'))) {
        ++line_;
      }
    }
  }
  void skipWhile(bool (*pred)(char)) {
    size_t end = pos_;
    while (end < text_.size() && pred(text_[end])) {
      ++end;
    }
    advanceTo(end);
  }
  // Consumes the rest of the line and its line break.
  void skipLine() {
    size_t end = pos_;
    while (end < text_.size() && !isLineBreak(text_[end])) {
      ++end;
    }
    if (end < text_.size() && text_[end] == '\r') {
      ++end;
    }
    if (end < text_.size() && text_[end] == '\n') {
      ++end;
    }
    advanceTo(end);
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
};

// The body of a quoted value as python-dotenv's regex '((?:\\'|[^'])*)' finds it: escaped
// quotes are skipped; without an unescaped closing quote, greedy backtracking makes the last
// escaped quote the closing one. Returns the index of the closing quote, or npos.
size_t findClosingQuote(std::string_view text, size_t body_start, char quote) {
  size_t last_escaped = std::string_view::npos;
  for (size_t i = body_start; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == quote) {
      last_escaped = i + 1;
      ++i;
    } else if (text[i] == quote) {
      return i;
    }
  }
  return last_escaped;
}

std::string decodeEscapes(std::string_view body, bool double_quoted) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out.push_back(c);
      continue;
    }
    const char n = body[i + 1];
    char decoded = 0;
    if (n == '\\' || n == '\'') {
      decoded = n;
    } else if (double_quoted) {
      switch (n) {
        case '"':
          decoded = '"';
          break;
        case 'a':
          decoded = '\a';
          break;
        case 'b':
          decoded = '\b';
          break;
        case 'f':
          decoded = '\f';
          break;
        case 'n':
          decoded = '\n';
          break;
        case 'r':
          decoded = '\r';
          break;
        case 't':
          decoded = '\t';
          break;
        case 'v':
          decoded = '\v';
          break;
        default:
          break;
      }
    }
    if (decoded == 0) {
      out.push_back(c);
      continue;
    }
    out.push_back(decoded);
    ++i;
  }
  return out;
}

std::string unquotedValue(std::string_view raw) {
  // re.sub(r"\s+#.*", "", part).rstrip()
  for (size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && isSpace(raw[i - 1])) {
      size_t start = i - 1;
      while (start > 0 && isSpace(raw[start - 1])) {
        --start;
      }
      raw = raw.substr(0, start);
      break;
    }
  }
  while (!raw.empty() && isSpace(raw.back())) {
    raw.remove_suffix(1);
  }
  return std::string(raw);
}

// ---------------------------------------------------------------------------------------------
// The variables

constexpr std::string_view kOldDeployment = "INFLUXDB_DEPLOYMENT";  // the first daemon's name
constexpr std::string_view kOldRabbitCa = "RABBITMQ_SSL_CACERT";    // in the original template

const std::vector<std::string_view> kKnownVariables = {
    "NMD_MODE",
    "NMD_DEPLOYMENT",
    "INFLUXDB_ENABLE",
    "INFLUXDB_SCHEME",
    "INFLUXDB_HOST",
    "INFLUXDB_PORT",
    "INFLUXDB_API",
    "INFLUXDB_DB",
    "INFLUXDB_WRITE_USER",
    "INFLUXDB_WRITE_USER_PASSWORD",
    "INFLUXDB_ORG",
    "INFLUXDB_BUCKET",
    "INFLUXDB_TOKEN",
    "INFLUXDB_CA_FILE",
    "INFLUXDB_VERIFY_TLS",
    "INFLUXDB_BATCH_POINTS",
    "INFLUXDB_GZIP",
    "RABBITMQ_TLS",
    "RABBITMQ_SSL_HOST",
    "RABBITMQ_SSL_PORT",
    "RABBITMQ_SSL_USER",
    "RABBITMQ_SSL_PASS",
    "RABBITMQ_VHOST",
    "RABBITMQ_SSL_TOPIC",
    "RABBITMQ_SSL_CERTFILE",
    "RABBITMQ_SSL_PKEYFILE",
    "RABBITMQ_SSL_CERTPASS",
    "RABBITMQ_SSL_CAFILE",
    "RABBITMQ_SSL_VERIFY",
    "MMGEOIP_ENABLE",
    "MMGEOIP_ID",
    "MMGEOIP_KEY",
    "MMGEOIP_CITY_DB",
    "MMGEOIP_ASN_DB",
    "NMD_TA_GLOB",
    "NMD_STATE_DIR",
    "NMD_SPOOL_DIR",
    "NMD_SQLITE_ENABLE",
    "NMD_LOG_SUMMARIES",
    "NMD_SQLITE_TIERS",
    "NMD_PLUGINS",
    "NMD_SQLITE_PATH",
    "NMD_LOG_FILE",
    "NMD_PID_FILE",
    "NMD_METRICS_LISTEN",
    "NMD_COMMIT_INTERVAL_MS",
    kOldDeployment,
    kOldRabbitCa,
};

bool isSecret(std::string_view name) {
  return name == "INFLUXDB_WRITE_USER_PASSWORD" || name == "INFLUXDB_TOKEN" ||
         name == "RABBITMQ_SSL_PASS" || name == "RABBITMQ_SSL_CERTPASS" || name == "MMGEOIP_KEY";
}

std::string toUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

// Optimal string alignment distance: a swapped pair of letters ("PROT") costs 1.
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string_view prefixOf(std::string_view name) {
  const size_t underscore = name.find('_');
  return underscore == std::string_view::npos ? name : name.substr(0, underscore);
}

// The known name `name` is probably a misspelling of, if any.
std::optional<std::string_view> nearMiss(std::string_view name) {
  const std::string upper = toUpper(name);
  std::optional<std::string_view> best;
  size_t best_distance = 3;
  for (std::string_view known : kKnownVariables) {
    if (known == name || prefixOf(known) != prefixOf(upper)) {
      continue;
    }
    const size_t distance = editDistance(upper, known);
    // Short suffixes ("INFLUXDB_URL" vs "INFLUXDB_ORG") are two edits apart by accident.
    const size_t suffix = known.size() - prefixOf(known).size();
    const size_t allowed = suffix <= 5 ? 1 : 2;
    if (distance <= allowed && distance < best_distance) {
      best = known;
      best_distance = distance;
    }
  }
  return best;
}

// A value as the daemon sees it after merging, with where it came from.
struct Setting {
  std::string value;
  std::string origin;    // "environment" or "<file>:<line>"
  std::string base_dir;  // for relative paths: the file's directory, "" for the environment
};

std::string dirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Expands ${NAME} and ${NAME:-default} (python-dotenv's POSIX subset; `$NAME` stays literal).
std::string expandVariables(std::string_view value,
                            const std::map<std::string, std::string>& environment,
                            const std::map<std::string, std::string>& earlier) {
  std::string out;
  size_t pos = 0;
  while (pos < value.size()) {
    const size_t start = value.find("${", pos);
    if (start == std::string_view::npos) {
      break;
    }
    const size_t close = value.find('}', start + 2);
    if (close == std::string_view::npos) {
      break;
    }
    std::string_view inner = value.substr(start + 2, close - start - 2);
    std::string_view name = inner;
    std::optional<std::string_view> fallback;
    const size_t colon = inner.find(':');
    if (colon != std::string_view::npos) {
      if (inner.substr(colon, 2) != ":-") {
        // Not the pattern: python's regex rejects ':' in the name; keep the text literally.
        out.append(value.substr(pos, close + 1 - pos));
        pos = close + 1;
        continue;
      }
      name = inner.substr(0, colon);
      fallback = inner.substr(colon + 2);
    }
    out.append(value.substr(pos, start - pos));
    const std::string key(name);
    if (auto it = environment.find(key); it != environment.end()) {
      out += it->second;
    } else if (auto e = earlier.find(key); e != earlier.end()) {
      out += e->second;
    } else if (fallback) {
      out.append(*fallback);
    }
    pos = close + 1;
  }
  out.append(value.substr(pos));
  return out;
}

// Reads typed values out of the merged settings and collects every problem.
class Checker {
 public:
  Checker(std::map<std::string, Setting> settings, ConfigResult& result)
      : settings_(std::move(settings)), result_(result) {}

  const Setting* find(std::string_view name) const {
    auto it = settings_.find(std::string(name));
    if (it == settings_.end() || it->second.value.empty()) {
      return nullptr;
    }
    return &it->second;
  }
  bool has(std::string_view name) const { return find(name) != nullptr; }

  std::string text(std::string_view name, std::string_view fallback = {}) const {
    const Setting* s = find(name);
    return s ? s->value : std::string(fallback);
  }

  std::string shown(std::string_view name, const Setting& s) const {
    if (isSecret(name)) {
      return fmt::format("(value hidden) (from {})", s.origin);
    }
    return fmt::format("\"{}\" (from {})", s.value, s.origin);
  }

  void error(std::string_view name, std::string message) {
    result_.errors.push_back({std::string(name), std::move(message)});
  }
  void bad(std::string_view name, std::string_view why) {
    const Setting* s = find(name);
    if (s == nullptr) {
      error(name, fmt::format("{}: {}", name, why));
    } else {
      error(name, fmt::format("{}={}: {}", name, shown(name, *s), why));
    }
  }
  void warn(std::string message) { result_.warnings.push_back(std::move(message)); }

  void require(std::string_view name, std::string_view why) {
    if (!has(name)) {
      error(name, fmt::format("{} is required {}", name, why));
    }
  }

  bool boolean(std::string_view name, bool fallback) {
    const Setting* s = find(name);
    if (s == nullptr) {
      return fallback;
    }
    if (const std::optional<bool> v = parseBoolWord(s->value)) {
      return *v;
    }
    bad(name, "not a boolean; use true or false (also 1/0, yes/no, on/off)");
    return fallback;
  }

  std::optional<uint64_t> parseUnsigned(std::string_view v) const {
    uint64_t out = 0;
    if (v.empty() || v.size() > 19) {
      return std::nullopt;
    }
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || ptr != v.data() + v.size()) {
      return std::nullopt;
    }
    return out;
  }

  uint64_t integer(std::string_view name, uint64_t fallback, uint64_t min, uint64_t max) {
    const Setting* s = find(name);
    if (s == nullptr) {
      return fallback;
    }
    const std::optional<uint64_t> v = parseUnsigned(s->value);
    if (!v || *v < min || *v > max) {
      bad(name, fmt::format("not an integer from {} to {}", min, max));
      return fallback;
    }
    return *v;
  }

  // "raw:7d,1m:90d,1h:730d": the store's tiers, each STEP:KEEP with s/m/h/d/y units (y = 365 d),
  // the first step "raw" (the records' own windows).
  std::vector<std::pair<int64_t, int64_t>> storeTiers(std::string_view name) {
    std::vector<std::pair<int64_t, int64_t>> tiers = {
        {0, 7 * 86400}, {60, 90 * 86400}, {3600, 730 * 86400}};
    const Setting* s = find(name);
    if (s == nullptr) {
      return tiers;
    }
    auto duration = [](std::string_view t) -> std::optional<int64_t> {
      if (t.size() < 2) {
        return std::nullopt;
      }
      const char unit = t.back();
      const int64_t mult = unit == 's'   ? 1
                           : unit == 'm' ? 60
                           : unit == 'h' ? 3600
                           : unit == 'd' ? 86400
                           : unit == 'y' ? 365 * 86400
                                         : 0;
      uint64_t n = 0;
      const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size() - 1, n);
      if (mult == 0 || ec != std::errc() || ptr != t.data() + t.size() - 1 || n == 0 ||
          n > 1'000'000) {
        return std::nullopt;
      }
      return static_cast<int64_t>(n) * mult;
    };
    std::vector<std::pair<int64_t, int64_t>> parsed;
    std::string_view rest = s->value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const size_t colon = item.find(':');
      if (colon == std::string_view::npos) {
        bad(name, fmt::format("\"{}\" is not STEP:KEEP", item));
        return tiers;
      }
      const std::string_view step = item.substr(0, colon);
      const std::optional<int64_t> keep = duration(item.substr(colon + 1));
      const std::optional<int64_t> step_s =
          step == "raw" ? std::optional<int64_t>(0) : duration(step);
      if (!keep || !step_s || (parsed.empty() != (*step_s == 0))) {
        bad(name, "expected raw:KEEP[,STEP:KEEP...] with durations like 90s, 1m, 1h, 7d, 2y");
        return tiers;
      }
      parsed.emplace_back(*step_s, *keep);
    }
    if (parsed.empty()) {
      bad(name, "no tiers");
      return tiers;
    }
    return parsed;
  }

  uint16_t port(std::string_view name, uint16_t fallback) {
    return static_cast<uint16_t>(integer(name, fallback, 1, 65535));
  }

  // One of `choices` (case-insensitive); returns the index, or `fallback` for unset or bad.
  size_t choice(std::string_view name, const std::vector<std::string_view>& choices,
                size_t fallback) {
    const Setting* s = find(name);
    if (s == nullptr) {
      return fallback;
    }
    const std::string v = asciiLower(s->value);
    for (size_t i = 0; i < choices.size(); ++i) {
      if (v == choices[i]) {
        return i;
      }
    }
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i) {
      list += i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ");
      list += choices[i];
    }
    bad(name, fmt::format("must be {}", list));
    return fallback;
  }

  // A path, resolved against the directory of the file that set it.
  std::string path(std::string_view name, std::string fallback) const {
    const Setting* s = find(name);
    if (s == nullptr) {
      return fallback;
    }
    if (s->value.front() == '/' || s->base_dir.empty()) {
      return s->value;
    }
    return s->base_dir + "/" + s->value;
  }

  // `resolved` (the value of `name`) must be a readable regular file.
  bool readable(std::string_view name, const std::string& resolved) {
    struct stat st {};
    std::string why;
    if (::stat(resolved.c_str(), &st) != 0) {
      why = std::strerror(errno);
    } else if (!S_ISREG(st.st_mode)) {
      why = "not a regular file";
    } else if (::access(resolved.c_str(), R_OK) != 0) {
      why = std::strerror(errno);
    } else {
      return true;
    }
    const Setting* s = find(name);
    const std::string shown_path =
        s != nullptr && resolved != s->value ? fmt::format(" (resolved to \"{}\")", resolved) : "";
    bad(name, fmt::format("cannot read the file{}: {}", shown_path, why));
    return false;
  }

  const std::map<std::string, Setting>& settings() const { return settings_; }

 private:
  std::map<std::string, Setting> settings_;
  ConfigResult& result_;
};

bool hasControlCharacters(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string defaultStateDir(const ConfigHost& host,
                            const std::map<std::string, std::string>& environment) {
  const bool root = host.is_root.value_or(::geteuid() == 0);
  if (root) {
    return "/var/lib/netmicroscope";
  }
  std::string home;
  if (auto it = environment.find("HOME"); it != environment.end() && !it->second.empty()) {
    home = it->second;
  } else if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_dir != nullptr) {
    home = pw->pw_dir;
  } else {
    home = "/tmp";
  }
  return home + "/.local/state/netmicroscope";
}

void checkMetricsListen(Checker& c, DaemonSettings& d) {
  const Setting* s = c.find("NMD_METRICS_LISTEN");
  if (s == nullptr) {
    return;
  }
  const std::string_view v = s->value;
  const size_t colon = v.rfind(':');
  std::string_view host;
  std::string_view port_text;
  bool ok = colon != std::string_view::npos;
  if (ok) {
    host = v.substr(0, colon);
    port_text = v.substr(colon + 1);
    if (!host.empty() && host.front() == '[') {
      ok = host.size() > 2 && host.back() == ']';
      host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
      ok = false;  // an IPv6 address needs brackets: [::1]:9100
    }
  }
  const std::optional<uint64_t> port = ok ? c.parseUnsigned(port_text) : std::nullopt;
  if (!port || *port > 65535 || hasControlCharacters(host) ||
      host.find_first_of(" /") != std::string_view::npos) {
    c.bad("NMD_METRICS_LISTEN",
          "must be HOST:PORT (port 0 to 65535, 0 = any free port; [::1]:PORT for IPv6, :PORT "
          "for every interface)");
    return;
  }
  d.metrics_enabled = true;
  d.metrics_host = host.empty() ? "0.0.0.0" : std::string(host);
  d.metrics_port = static_cast<uint16_t>(*port);
}

void checkInflux(Checker& c, InfluxConfig& in) {
  in.enabled = c.boolean("INFLUXDB_ENABLE", false);
  const bool https = c.choice("INFLUXDB_SCHEME", {"http", "https"}, 1) == 1;
  in.scheme = https ? "https" : "http";
  in.api = c.choice("INFLUXDB_API", {"v1", "v2"}, 1) == 0 ? InfluxApiVersion::kV1
                                                          : InfluxApiVersion::kV2;
  in.host = c.text("INFLUXDB_HOST");
  in.port = c.port("INFLUXDB_PORT", 0);
  in.database = c.text("INFLUXDB_DB");
  in.user = c.text("INFLUXDB_WRITE_USER");
  in.password = c.text("INFLUXDB_WRITE_USER_PASSWORD");
  in.org = c.text("INFLUXDB_ORG");
  in.verify_tls = c.boolean("INFLUXDB_VERIFY_TLS", true);
  in.batch_points = static_cast<uint32_t>(c.integer("INFLUXDB_BATCH_POINTS", 5000, 1, 1'000'000));
  in.gzip = c.boolean("INFLUXDB_GZIP", true);
  in.ca_file = c.path("INFLUXDB_CA_FILE", "");
  if (!in.enabled) {
    return;
  }
  constexpr std::string_view kWhenEnabled = "when INFLUXDB_ENABLE is true";
  c.require("INFLUXDB_HOST", kWhenEnabled);
  if (!c.has("INFLUXDB_PORT")) {
    c.require("INFLUXDB_PORT", kWhenEnabled);
  }
  if (c.has("INFLUXDB_HOST") &&
      (hasControlCharacters(in.host) || in.host.find_first_of(" /?#@") != std::string::npos)) {
    c.bad("INFLUXDB_HOST", "must be a host name or address, without scheme, port or path");
  }
  if (!in.ca_file.empty()) {
    if (https) {
      c.readable("INFLUXDB_CA_FILE", in.ca_file);
    } else {
      c.warn("INFLUXDB_CA_FILE is ignored: INFLUXDB_SCHEME is http");
    }
  }
  const bool has_user = c.has("INFLUXDB_WRITE_USER");
  const bool has_password = c.has("INFLUXDB_WRITE_USER_PASSWORD");
  if (in.api == InfluxApiVersion::kV1) {
    c.require("INFLUXDB_DB", "when INFLUXDB_API is v1");
    if (has_user != has_password) {
      c.error(has_user ? "INFLUXDB_WRITE_USER_PASSWORD" : "INFLUXDB_WRITE_USER",
              "INFLUXDB_WRITE_USER and INFLUXDB_WRITE_USER_PASSWORD must be set together");
    }
    return;
  }
  // v2: a real InfluxDB 2.x takes a token and an org; InfluxDB 1.8's compatibility endpoint (what
  // the original daemon wrote to) takes "user:password" as the token, a database as the bucket,
  // and ignores the org.
  in.bucket = c.text("INFLUXDB_BUCKET", in.database);
  if (in.bucket.empty()) {
    c.error("INFLUXDB_BUCKET",
            "INFLUXDB_BUCKET (or INFLUXDB_DB, its fallback) is required when INFLUXDB_API is v2");
  }
  if (c.has("INFLUXDB_TOKEN")) {
    in.token = c.text("INFLUXDB_TOKEN");
    c.require("INFLUXDB_ORG",
              "with INFLUXDB_TOKEN (InfluxDB 2.x); against InfluxDB 1.8 leave INFLUXDB_TOKEN "
              "unset and set INFLUXDB_WRITE_USER and INFLUXDB_WRITE_USER_PASSWORD");
    if (has_user || has_password) {
      c.warn("INFLUXDB_WRITE_USER/INFLUXDB_WRITE_USER_PASSWORD are ignored: INFLUXDB_TOKEN is set");
    }
  } else if (has_user && has_password) {
    in.token = in.user + ":" + in.password;
  } else {
    c.error("INFLUXDB_TOKEN",
            "INFLUXDB_TOKEN, or INFLUXDB_WRITE_USER and INFLUXDB_WRITE_USER_PASSWORD, are "
            "required when INFLUXDB_API is v2");
  }
}

void checkRabbitMq(Checker& c, RabbitMqConfig& rq, DaemonMode mode) {
  rq.enabled = mode != DaemonMode::kStandalone;
  rq.tls = c.boolean("RABBITMQ_TLS", true);
  rq.host = c.text("RABBITMQ_SSL_HOST");
  rq.port = c.port("RABBITMQ_SSL_PORT", rq.tls ? 5671 : 5672);
  rq.user = c.text("RABBITMQ_SSL_USER");
  rq.password = c.text("RABBITMQ_SSL_PASS");
  rq.vhost = c.text("RABBITMQ_VHOST", "/");
  rq.topic = c.text("RABBITMQ_SSL_TOPIC");
  rq.cert_file = c.path("RABBITMQ_SSL_CERTFILE", "");
  rq.key_file = c.path("RABBITMQ_SSL_PKEYFILE", "");
  rq.key_password = c.text("RABBITMQ_SSL_CERTPASS");
  rq.verify = c.boolean("RABBITMQ_SSL_VERIFY", true);
  std::string_view ca_name = "RABBITMQ_SSL_CAFILE";
  if (!c.has(ca_name) && c.has(kOldRabbitCa)) {
    ca_name = kOldRabbitCa;
    c.warn("RABBITMQ_SSL_CACERT is the old name of RABBITMQ_SSL_CAFILE; it is used");
  }
  rq.ca_file = c.path(ca_name, "");
  if (!rq.enabled) {
    return;
  }
  const std::string why = fmt::format("in {} mode", daemonModeName(mode));
  for (std::string_view name :
       {"RABBITMQ_SSL_HOST", "RABBITMQ_SSL_USER", "RABBITMQ_SSL_PASS", "RABBITMQ_SSL_TOPIC"}) {
    c.require(name, why);
  }
  if (!rq.tls) {
    for (std::string_view name : {"RABBITMQ_SSL_CERTFILE", "RABBITMQ_SSL_PKEYFILE",
                                  "RABBITMQ_SSL_CERTPASS", "RABBITMQ_SSL_CAFILE"}) {
      if (c.has(name)) {
        c.warn(fmt::format("{} is ignored: RABBITMQ_TLS is false", name));
      }
    }
    return;
  }
  const bool has_cert = c.has("RABBITMQ_SSL_CERTFILE");
  const bool has_key = c.has("RABBITMQ_SSL_PKEYFILE");
  if (has_cert != has_key) {
    c.error(has_cert ? "RABBITMQ_SSL_PKEYFILE" : "RABBITMQ_SSL_CERTFILE",
            "RABBITMQ_SSL_CERTFILE and RABBITMQ_SSL_PKEYFILE (the client certificate and its key) "
            "must be set together");
  }
  if (has_cert) {
    c.readable("RABBITMQ_SSL_CERTFILE", rq.cert_file);
  }
  if (has_key) {
    c.readable("RABBITMQ_SSL_PKEYFILE", rq.key_file);
  }
  if (!rq.ca_file.empty()) {
    c.readable(ca_name, rq.ca_file);
  }
}

void checkGeoIp(Checker& c, GeoIpConfig& g) {
  constexpr std::string_view kCityDefault = "/var/lib/GeoIP/GeoLite2-City.mmdb";
  constexpr std::string_view kAsnDefault = "/var/lib/GeoIP/GeoLite2-ASN.mmdb";
  g.enabled = c.boolean("MMGEOIP_ENABLE", false);
  g.city_db = c.path("MMGEOIP_CITY_DB", std::string(kCityDefault));
  g.asn_db = c.path("MMGEOIP_ASN_DB", std::string(kAsnDefault));
  if (c.has("MMGEOIP_ID") || c.has("MMGEOIP_KEY")) {
    c.warn(fmt::format(
        "MMGEOIP_ID/MMGEOIP_KEY (MaxMind's paid web service) are no longer used: GeoIP lookups "
        "read local databases (MMGEOIP_CITY_DB={}, MMGEOIP_ASN_DB={})",
        g.city_db, g.asn_db));
  }
  if (!g.enabled) {
    return;
  }
  c.readable("MMGEOIP_CITY_DB", g.city_db);
  if (c.has("MMGEOIP_ASN_DB")) {
    c.readable("MMGEOIP_ASN_DB", g.asn_db);
  } else if (::access(g.asn_db.c_str(), R_OK) != 0) {
    c.warn(fmt::format("{} is not readable: GeoIP runs without AS numbers (set MMGEOIP_ASN_DB)",
                       g.asn_db));
    g.asn_db.clear();
  }
}

void checkDaemon(Checker& c, DaemonSettings& d, const ConfigHost& host,
                 const std::map<std::string, std::string>& environment) {
  d.ta_glob = c.path("NMD_TA_GLOB", "/tmp/tmp.ta.*");
  d.state_dir = c.path("NMD_STATE_DIR", defaultStateDir(host, environment));
  d.spool_dir = c.path("NMD_SPOOL_DIR", d.state_dir + "/spool");
  d.sqlite_enabled = c.boolean("NMD_SQLITE_ENABLE", true);
  d.log_summaries = c.boolean("NMD_LOG_SUMMARIES", true);
  d.sqlite_tiers = c.storeTiers("NMD_SQLITE_TIERS");
  if (c.has("NMD_PLUGINS")) {
    std::vector<std::string> names;
    const std::string text = c.text("NMD_PLUGINS");
    std::string_view rest = text;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      while (!item.empty() && item.front() == ' ') {
        item.remove_prefix(1);
      }
      while (!item.empty() && item.back() == ' ') {
        item.remove_suffix(1);
      }
      if (!item.empty() && item != "none") {
        names.emplace_back(item);
      }
    }
    d.plugins = std::move(names);
  }
  d.sqlite_path = c.path("NMD_SQLITE_PATH", d.state_dir + "/netmicroscope.db");
  d.log_file = c.path("NMD_LOG_FILE", "/tmp/appmonitor.log");
  d.pid_file = c.path("NMD_PID_FILE", "/tmp/appmonitor.pid");
  d.commit_interval_ms =
      static_cast<uint32_t>(c.integer("NMD_COMMIT_INTERVAL_MS", 1000, 1, 3'600'000));
  checkMetricsListen(c, d);
  for (std::string_view name : {"NMD_TA_GLOB", "NMD_STATE_DIR", "NMD_SPOOL_DIR", "NMD_SQLITE_PATH",
                                "NMD_LOG_FILE", "NMD_PID_FILE"}) {
    if (c.has(name) && hasControlCharacters(c.text(name))) {
      c.bad(name, "a path must not contain control characters");
    }
  }
}

void checkNearMisses(Checker& c) {
  for (const auto& [name, setting] : c.settings()) {
    if (std::find(kKnownVariables.begin(), kKnownVariables.end(), name) != kKnownVariables.end()) {
      continue;
    }
    if (std::optional<std::string_view> known = nearMiss(name)) {
      c.warn(fmt::format("{} (from {}) is not a NetMicroscope variable; did you mean {}?", name,
                         setting.origin, *known));
    }
  }
}

bool readFile(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    error = "read error";
    return false;
  }
  out = buffer.str();
  return true;
}

}  // namespace

EnvFile parseEnvFile(std::string_view text, std::string_view file_name) {
  EnvFile file;
  Scanner s(text);
  while (true) {
    s.skipWhile(isSpace);
    if (s.atEnd()) {
      break;
    }
    const int line = s.line();
    const std::string_view t = s.text();
    auto fail = [&](std::string_view why) {
      file.errors.push_back({fmt::format("{}:{}", file_name, line),
                             fmt::format("{}:{}: cannot parse this line ({}); python-dotenv "
                                         "would skip it",
                                         file_name, line, why)});
      s.skipLine();
    };
    // `export ` prefix: only when followed by blanks (a key may be called "export").
    if (t.substr(s.pos(), 6) == "export" && s.pos() + 6 < t.size() && isBlank(t[s.pos() + 6])) {
      s.advanceTo(s.pos() + 6);
      s.skipWhile(isBlank);
    }
    std::optional<std::string> key;
    if (s.peek() == '\'') {
      const size_t close = t.find('\'', s.pos() + 1);
      if (close == std::string_view::npos || close == s.pos() + 1) {
        fail("unterminated quoted key");
        continue;
      }
      key = std::string(t.substr(s.pos() + 1, close - s.pos() - 1));
      s.advanceTo(close + 1);
    } else if (s.peek() != '#') {
      size_t end = s.pos();
      while (end < t.size() && t[end] != '=' && t[end] != '#' && !isSpace(t[end])) {
        ++end;
      }
      if (end == s.pos()) {
        fail("no variable name before '='");
        continue;
      }
      key = std::string(t.substr(s.pos(), end - s.pos()));
      s.advanceTo(end);
    }
    s.skipWhile(isBlank);
    std::optional<std::string> value;
    if (key && s.peek() == '=') {
      s.advanceTo(s.pos() + 1);
      s.skipWhile(isBlank);
      const char q = s.peek();
      if (q == '\'' || q == '"') {
        const size_t close = findClosingQuote(t, s.pos() + 1, q);
        if (close == std::string_view::npos) {
          fail(q == '"' ? "unterminated double quote" : "unterminated single quote");
          continue;
        }
        value = decodeEscapes(t.substr(s.pos() + 1, close - s.pos() - 1), q == '"');
        s.advanceTo(close + 1);
      } else {
        size_t end = s.pos();
        while (end < t.size() && !isLineBreak(t[end])) {
          ++end;
        }
        value = unquotedValue(t.substr(s.pos(), end - s.pos()));
        s.advanceTo(end);
      }
    }
    // Optional comment, then the end of the line.
    size_t p = s.pos();
    while (p < t.size() && isBlank(t[p])) {
      ++p;
    }
    if (p < t.size() && t[p] == '#') {
      while (p < t.size() && !isLineBreak(t[p])) {
        ++p;
      }
    }
    if (p < t.size() && !isLineBreak(t[p])) {
      fail("unexpected text after the value");
      continue;
    }
    s.advanceTo(p);
    s.skipLine();
    if (key && value) {
      file.entries.push_back({std::move(*key), std::move(*value), line});
    }
  }
  return file;
}

std::string_view daemonModeName(DaemonMode mode) {
  switch (mode) {
    case DaemonMode::kStandalone:
      return "standalone";
    case DaemonMode::kProducer:
      return "producer";
    case DaemonMode::kConsumer:
      return "consumer";
  }
  return "standalone";
}

ConfigResult loadDaemonConfig(const std::string& env_path,
                              const std::map<std::string, std::string>& environment,
                              const ConfigHost& host) {
  ConfigResult result;
  std::map<std::string, Setting> settings;
  if (!env_path.empty()) {
    std::string text;
    std::string why;
    if (!readFile(env_path, text, why)) {
      result.errors.push_back(
          {env_path, fmt::format("cannot read the configuration file {}: {}", env_path, why)});
    } else {
      EnvFile file = parseEnvFile(text, env_path);
      for (ConfigError& e : file.errors) {
        result.errors.push_back(std::move(e));
      }
      const std::string base_dir = dirName(env_path);
      std::map<std::string, std::string> earlier;
      for (const EnvEntry& entry : file.entries) {
        std::string value = expandVariables(entry.value, environment, earlier);
        earlier[entry.name] = value;
        settings[entry.name] =
            Setting{std::move(value), fmt::format("{}:{}", env_path, entry.line), base_dir};
      }
    }
  }
  for (const auto& [name, value] : environment) {
    settings[name] = Setting{value, "environment", ""};
  }

  Checker c(std::move(settings), result);
  DaemonConfig& config = result.config;
  const size_t mode = c.choice("NMD_MODE", {"standalone", "producer", "consumer"}, 0);
  config.mode = static_cast<DaemonMode>(mode);

  std::string_view deployment_name = "NMD_DEPLOYMENT";
  if (!c.has(deployment_name) && c.has(kOldDeployment)) {
    deployment_name = kOldDeployment;
    c.warn("INFLUXDB_DEPLOYMENT is the old name of NMD_DEPLOYMENT; it is used");
  } else if (c.has(deployment_name) && c.has(kOldDeployment) &&
             c.text(deployment_name) != c.text(kOldDeployment)) {
    c.warn("INFLUXDB_DEPLOYMENT (old name) is ignored: NMD_DEPLOYMENT is set");
  }
  if (c.has(deployment_name)) {
    config.deployment = c.text(deployment_name);
    if (hasControlCharacters(config.deployment) || config.deployment.size() > 256) {
      c.bad(deployment_name, "must be at most 256 characters without control characters");
    }
  } else if (config.mode == DaemonMode::kProducer) {
    c.require("NMD_DEPLOYMENT", "in producer mode (it tags every record this probe publishes)");
  }

  checkInflux(c, config.influx);
  checkRabbitMq(c, config.rabbitmq, config.mode);
  checkGeoIp(c, config.geoip);
  checkDaemon(c, config.daemon, host, environment);
  checkNearMisses(c);
  for (const auto& [name, setting] : c.settings()) {
    if (!setting.value.empty()) {
      result.settings.emplace(name, setting.value);
    }
  }
  return result;
}

std::map<std::string, std::string> processEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string_view::npos && eq > 0) {
      out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
  }
  return out;
}

std::string formatConfigErrors(const std::vector<ConfigError>& errors) {
  if (errors.empty()) {
    return {};
  }
  std::string out =
      fmt::format("{} configuration error{}:", errors.size(), errors.size() == 1 ? "" : "s");
  for (const ConfigError& e : errors) {
    out += "\n  ";
    out += e.message;
  }
  return out;
}

std::string describeConfig(const DaemonConfig& config) {
  const InfluxConfig& in = config.influx;
  const RabbitMqConfig& rq = config.rabbitmq;
  const DaemonSettings& d = config.daemon;
  std::string out =
      fmt::format("mode={} deployment={} ta_glob={} state_dir={}", daemonModeName(config.mode),
                  config.deployment, d.ta_glob, d.state_dir);
  out += d.sqlite_enabled ? fmt::format(" sqlite={}", d.sqlite_path) : " sqlite=off";
  if (in.enabled) {
    out += fmt::format(" influxdb={}://{}:{} api={} ", in.scheme, in.host, in.port,
                       in.api == InfluxApiVersion::kV1 ? "v1" : "v2");
    out += in.api == InfluxApiVersion::kV1
               ? fmt::format("db={}", in.database)
               : fmt::format("bucket={} org={} token=***", in.bucket, in.org);
  } else {
    out += " influxdb=off";
  }
  if (rq.enabled) {
    out += fmt::format(" rabbitmq={}://{}@{}:{}{} topic={} password=***", rq.tls ? "amqps" : "amqp",
                       rq.user, rq.host, rq.port, rq.vhost, rq.topic);
  }
  out += config.geoip.enabled ? fmt::format(" geoip={}", config.geoip.city_db) : " geoip=off";
  if (d.metrics_enabled) {
    out += fmt::format(" metrics={}:{}", d.metrics_host, d.metrics_port);
  }
  return out;
}

const std::vector<std::string_view>& knownConfigVariables() {
  return kKnownVariables;
}

}  // namespace nm
