#include "classify/service_map.h"

#include <absl/container/flat_hash_map.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>

namespace nm {
namespace {

// RFC 1035: 253 characters of text, each label at most 63.
constexpr size_t kMaxHostLength = 253;
constexpr size_t kMaxLabelLength = 63;

constexpr std::string_view kServiceKeys[] = {"name", "type", "domains", "prefixes", "ndpi"};

struct Problem {
  uint32_t line = 0;
  std::string message;
};

uint32_t lineOf(const toml::node& node) {
  return node.source().begin.line;
}
uint32_t lineOf(const toml::key& key) {
  return key.source().begin.line;
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

std::string joined(const std::string_view* begin, const std::string_view* end) {
  std::string out;
  for (const auto* it = begin; it != end; ++it) {
    if (it != begin) {
      out += ", ";
    }
    out += *it;
  }
  return out;
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Debian's abseil has its own string_view type; its maps look keys up by that, not std's.
absl::string_view view(std::string_view s) {
  return {s.data(), s.size()};
}

char asciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Lower-cases `text` into `out` and checks it is a plain domain suffix; on failure `why` says
// what to write instead.
bool normalizeDomain(std::string_view text, std::string& out, std::string& why) {
  if (!text.empty() && text.back() == '.') {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    why = "is empty";
    return false;
  }
  if (text.front() == '*' || text.front() == '.') {
    const size_t rest = text.find_first_not_of("*.");
    why = "must not start with '*' or '.': write " +
          quoted(rest == std::string_view::npos ? std::string_view() : text.substr(rest)) +
          ", which already matches every name below it";
    return false;
  }
  if (text.size() > kMaxHostLength) {
    why = "is longer than 253 characters";
    return false;
  }
  out.clear();
  size_t label = 0;
  for (char c : text) {
    c = asciiLower(c);
    if (c == '.') {
      if (label == 0) {
        why = "has an empty label";
        return false;
      }
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      if (++label > kMaxLabelLength) {
        why = "has a label longer than 63 characters";
        return false;
      }
    } else {
      why = "may hold only letters, digits, '-', '_' and '.'";
      return false;
    }
    out += c;
  }
  return true;
}

using AddressKey = std::pair<uint64_t, uint64_t>;

AddressKey keyOf(const IpAddr& ip) {
  uint64_t hi = 0;
  uint64_t lo = 0;
  for (size_t i = 0; i < 8; ++i) {
    hi = (hi << 8) | ip.bytes[i];
    lo = (lo << 8) | ip.bytes[i + 8];
  }
  return {hi, lo};
}

// Keeps the top `length` bits; IPv4 sits in the top 32 bits, so one rule serves both families.
AddressKey masked(AddressKey key, unsigned length) {
  if (length == 0) {
    return {0, 0};
  }
  if (length <= 64) {
    return {key.first & (~uint64_t{0} << (64 - length)), 0};
  }
  return {key.first, key.second & (~uint64_t{0} << (128 - length))};
}

IpPrefix canonical(IpPrefix prefix) {
  const AddressKey key = masked(keyOf(prefix.addr), prefix.length);
  for (size_t i = 0; i < 8; ++i) {
    prefix.addr.bytes[i] = static_cast<uint8_t>(key.first >> (56 - 8 * i));
    prefix.addr.bytes[i + 8] = static_cast<uint8_t>(key.second >> (56 - 8 * i));
  }
  return prefix;
}

std::string prefixText(const IpPrefix& prefix) {
  return prefix.addr.toString() + "/" + std::to_string(prefix.length);
}

// Where a domain, prefix, nDPI name or service name was first declared.
struct Claim {
  int service = -1;
  uint32_t line = 0;
};

// Turns the parsed document into services, collecting every problem instead of stopping at
// the first: a user fixing the file should see them all at once.
class Validator {
 public:
  explicit Validator(std::vector<Problem>& problems) : problems_(problems) {}

  std::vector<Service> run(const toml::table& root) {
    for (auto&& [key, node] : root) {
      if (key.str() != "service") {
        add(lineOf(key), "unknown top-level key " + quoted(key.str()) +
                             " (the file holds only [[service]] tables)");
      }
    }
    const toml::node* list = root.get("service");
    if (list == nullptr) {
      add(1, "no [[service]] tables");
      return std::move(services_);
    }
    if (!list->is_array_of_tables()) {
      add(lineOf(*list), "\"service\" must be written as [[service]] tables, not as " +
                             std::string(typeName(*list)));
      return std::move(services_);
    }
    for (auto&& element : *list->as_array()) {
      readService(*element.as_table());
    }
    return std::move(services_);
  }

 private:
  void add(uint32_t line, std::string message) { problems_.push_back({line, std::move(message)}); }

  void readService(const toml::table& table) {
    const int id = static_cast<int>(services_.size());
    Service service;
    const uint32_t header_line = lineOf(table);
    const toml::node* name = table.get("name");
    const char* name_problem = name == nullptr ? "missing \"name\"" : nameProblem(*name);
    const std::string ordinal = "service #" + std::to_string(id + 1);
    if (name_problem != nullptr) {
      context_ = ordinal + ": ";
      add(name == nullptr ? header_line : lineOf(*name), context_ + name_problem);
    } else {
      service.name = name->as_string()->get();
      auto [it, inserted] = names_.try_emplace(service.name, Claim{id, lineOf(*name)});
      if (inserted) {
        context_ = "service " + quoted(service.name) + ": ";
      } else {
        // Two services with one name: the ordinal tells which one a message is about.
        context_ = ordinal + " (" + quoted(service.name) + "): ";
        add(lineOf(*name), context_ + "duplicate service name (first defined on line " +
                               std::to_string(it->second.line) + ")");
      }
    }

    for (auto&& [key, node] : table) {
      if (std::find(std::begin(kServiceKeys), std::end(kServiceKeys), key.str()) ==
          std::end(kServiceKeys)) {
        add(lineOf(key), context_ + "unknown key " + quoted(key.str()) + " (expected " +
                             joined(std::begin(kServiceKeys), std::end(kServiceKeys)) + ")");
      }
    }

    const toml::node* type = table.get("type");
    if (type == nullptr) {
      add(header_line, context_ + "missing \"type\"");
    } else if (!type->is_string()) {
      add(lineOf(*type),
          context_ + "\"type\" must be a string, not " + std::string(typeName(*type)));
    } else if (service.type = type->as_string()->get(); !isServiceType(service.type)) {
      add(lineOf(*type), context_ + "unknown type " + quoted(service.type) + " (expected one of: " +
                             joined(std::begin(kServiceTypes), std::end(kServiceTypes)) + ")");
    }

    const bool has_domains =
        readStrings(table, "domains", [&](const std::string& text, uint32_t line) {
          std::string domain;
          std::string why;
          if (!normalizeDomain(text, domain, why)) {
            add(line, context_ + "domain " + quoted(text) + " " + why);
            return;
          }
          claim(domains_, domain, id, line, "domain " + quoted(domain));
          service.domains.push_back(std::move(domain));
        });
    const bool has_prefixes =
        readStrings(table, "prefixes", [&](const std::string& text, uint32_t line) {
          IpPrefix prefix;
          if (!IpPrefix::parse(text, prefix)) {
            add(line, context_ + "prefix " + quoted(text) +
                          " is not an IPv4 or IPv6 address with an optional /length");
            return;
          }
          const IpPrefix exact = canonical(prefix);
          if (exact.addr != prefix.addr) {
            add(line, context_ + "prefix " + quoted(text) + " has address bits set past /" +
                          std::to_string(prefix.length) + " (did you mean " + prefixText(exact) +
                          "?)");
            return;
          }
          claim(prefixes_, prefixText(exact), id, line, "prefix " + quoted(prefixText(exact)));
          service.prefixes.push_back(exact);
        });
    const bool has_ndpi = readStrings(table, "ndpi", [&](const std::string& text, uint32_t line) {
      if (text.empty()) {
        add(line, context_ + "empty nDPI name");
        return;
      }
      claim(ndpi_names_, text, id, line, "nDPI name " + quoted(text));
      service.ndpi_names.push_back(text);
    });
    if (!has_domains && !has_prefixes && !has_ndpi) {
      add(header_line, context_ + "matches nothing: give it domains, prefixes or ndpi names");
    }
    services_.push_back(std::move(service));
  }

  // Why `node` cannot be a service name, or nullptr when it can.
  static const char* nameProblem(const toml::node& node) {
    if (!node.is_string()) {
      return "\"name\" must be a string";
    }
    const std::string& name = node.as_string()->get();
    if (name.find_first_not_of(" \t") == std::string::npos) {
      return "\"name\" must not be empty";
    }
    if (name.front() == ' ' || name.back() == ' ' || name.front() == '\t' || name.back() == '\t') {
      return "\"name\" has leading or trailing spaces";
    }
    if (std::any_of(name.begin(), name.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
      return "\"name\" must not contain control characters";
    }
    return nullptr;
  }

  // An optional array of strings; calls `each(text, line)` per element. True when the key
  // is present and is an array.
  template <typename Each>
  bool readStrings(const toml::table& table, std::string_view key, Each&& each) {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      return false;
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      add(lineOf(*node), context_ + quoted(key) + " must be an array of strings, not " +
                             std::string(typeName(*node)));
      return false;
    }
    for (auto&& element : *array) {
      if (!element.is_string()) {
        add(lineOf(element), context_ + quoted(key) + " entries must be strings, not " +
                                 std::string(typeName(element)));
        continue;
      }
      each(element.as_string()->get(), lineOf(element));
    }
    return true;
  }

  // Records that service `id` declared `what` on `line`; the same thing declared twice, by
  // one service or by two, is an error: a lookup must have exactly one answer.
  void claim(absl::flat_hash_map<std::string, Claim>& claims, const std::string& key, int id,
             uint32_t line, const std::string& what) {
    auto [it, inserted] = claims.try_emplace(key, Claim{id, line});
    if (inserted) {
      return;
    }
    const Claim& first = it->second;
    if (first.service == id) {
      add(line,
          context_ + what + " is listed twice (also on line " + std::to_string(first.line) + ")");
      return;
    }
    const Service& owner = services_[static_cast<size_t>(first.service)];
    const std::string owner_name =
        owner.name.empty() ? "#" + std::to_string(first.service + 1) : quoted(owner.name);
    add(line, context_ + what + " is already claimed by service " + owner_name + " (line " +
                  std::to_string(first.line) + ")");
  }

  std::vector<Problem>& problems_;
  std::vector<Service> services_;
  std::string context_;
  absl::flat_hash_map<std::string, Claim> names_;
  absl::flat_hash_map<std::string, Claim> domains_;
  absl::flat_hash_map<std::string, Claim> prefixes_;
  absl::flat_hash_map<std::string, Claim> ndpi_names_;
};

}  // namespace

bool isServiceType(std::string_view type) {
  return std::find(std::begin(kServiceTypes), std::end(kServiceTypes), type) !=
         std::end(kServiceTypes);
}

bool ServiceMap::parse(std::string_view toml_text, std::string_view source_name, ServiceMap& out,
                       std::vector<std::string>& errors) {
  std::vector<Problem> problems;
  ServiceMap map;
  try {
    toml::table root;
    try {
      root = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
      // toml++ stops at the first syntax error, so this one comes alone.
      std::ostringstream message;
      message << source_name << ":" << e.source().begin.line << ": " << e.description();
      errors.push_back(message.str());
      return false;
    }
    Validator validator(problems);
    map.services_ = validator.run(root);
    if (problems.empty()) {
      map.buildIndex();
    }
  } catch (const std::exception& e) {
    errors.push_back(std::string(source_name) + ": " + e.what());
    return false;
  }
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    for (const auto& problem : problems) {
      errors.push_back(std::string(source_name) + ":" + std::to_string(problem.line) + ": " +
                       problem.message);
    }
    return false;
  }
  out = std::move(map);
  return true;
}

bool ServiceMap::load(const std::string& path, ServiceMap& out, std::vector<std::string>& errors) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    errors.push_back(path + ": cannot open: " + std::strerror(errno));
    return false;
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    errors.push_back(path + ": cannot read: " + std::strerror(errno));
    return false;
  }
  return parse(text.str(), path, out, errors);
}

void ServiceMap::buildIndex() {
  // Per prefix length, one hash map from masked address to service: a lookup costs one probe
  // per distinct length in use (a dozen or so), with no tree to walk and nothing to allocate.
  absl::flat_hash_map<uint8_t, PrefixLevel> v4;
  absl::flat_hash_map<uint8_t, PrefixLevel> v6;
  for (size_t i = 0; i < services_.size(); ++i) {
    const int id = static_cast<int>(i);
    const Service& service = services_[i];
    by_name_.emplace(service.name, id);
    for (const auto& name : service.ndpi_names) {
      by_ndpi_name_.emplace(name, id);
    }
    for (const auto& domain : service.domains) {
      by_domain_.emplace(domain, id);
      max_domain_labels_ =
          std::max<size_t>(max_domain_labels_,
                           1 + static_cast<size_t>(std::count(domain.begin(), domain.end(), '.')));
    }
    for (const auto& prefix : service.prefixes) {
      PrefixLevel& level = (prefix.addr.isV4() ? v4 : v6)[prefix.length];
      level.length = prefix.length;
      level.owners.emplace(masked(keyOf(prefix.addr), prefix.length), id);
    }
  }
  const auto longest_first = [](absl::flat_hash_map<uint8_t, PrefixLevel>& by_length,
                                std::vector<PrefixLevel>& out) {
    for (auto& [length, level] : by_length) {
      out.push_back(std::move(level));
    }
    std::sort(out.begin(), out.end(),
              [](const PrefixLevel& a, const PrefixLevel& b) { return a.length > b.length; });
  };
  longest_first(v4, v4_levels_);
  longest_first(v6, v6_levels_);
}

int ServiceMap::matchDomain(std::string_view host) const {
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  if (host.empty() || host.size() > kMaxHostLength || max_domain_labels_ == 0) {
    return -1;
  }
  char lower[kMaxHostLength];
  size_t labels = 1;
  for (size_t i = 0; i < host.size(); ++i) {
    lower[i] = asciiLower(host[i]);
    labels += lower[i] == '.' ? 1 : 0;
  }
  const std::string_view name(lower, host.size());
  size_t start = 0;
  // Suffixes with more labels than any configured domain cannot match: skip their lookups.
  for (; labels > max_domain_labels_; --labels) {
    start = name.find('.', start) + 1;
  }
  while (true) {
    if (auto it = by_domain_.find(view(name.substr(start))); it != by_domain_.end()) {
      return it->second;
    }
    const size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) {
      return -1;
    }
    start = dot + 1;
  }
}

int ServiceMap::matchAddress(const IpAddr& ip) const {
  const std::vector<PrefixLevel>* levels = nullptr;
  if (ip.isV4()) {
    levels = &v4_levels_;
  } else if (ip.isV6()) {
    levels = &v6_levels_;
  } else {
    return -1;
  }
  const AddressKey key = keyOf(ip);
  for (const auto& level : *levels) {
    if (auto it = level.owners.find(masked(key, level.length)); it != level.owners.end()) {
      return it->second;
    }
  }
  return -1;
}

int ServiceMap::findByNdpiName(std::string_view ndpi_name) const {
  auto it = by_ndpi_name_.find(view(ndpi_name));
  return it == by_ndpi_name_.end() ? -1 : it->second;
}

int ServiceMap::findByName(std::string_view name) const {
  auto it = by_name_.find(view(name));
  return it == by_name_.end() ? -1 : it->second;
}

}  // namespace nm
