#pragma once
// Loading the service map for a subcommand: one place that knows the default path and reports
// every configuration error together.

#include <string>

#include "classify/service_map.h"

namespace nm::cli {

// The shipped map: /etc/netmicroscope/services.toml when installed, else the source tree's.
std::string defaultServicesPath();

// Loads `path` into `out`; logs every error and returns false on any.
bool loadServices(const std::string& path, ServiceMap& out);

}  // namespace nm::cli
