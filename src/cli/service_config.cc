#include "cli/service_config.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace nm::cli {

std::string defaultServicesPath() {
  const std::string installed = "/etc/netmicroscope/services.toml";
  if (::access(installed.c_str(), R_OK) == 0) {
    return installed;
  }
  return NM_SOURCE_SERVICES;
}

bool loadServices(const std::string& path, ServiceMap& out) {
  std::vector<std::string> errors;
  if (!ServiceMap::load(path, out, errors)) {
    for (const std::string& e : errors) {
      spdlog::error("{}", e);
    }
    spdlog::error("{}: {} error(s) in the service map", path, errors.size());
    return false;
  }
  return true;
}

}  // namespace nm::cli
