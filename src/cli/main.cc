#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_st("netmicroscope");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  // Installed as `nmd` too (a symlink), where `nmd start` means `netmicroscope nmd start`.
  std::vector<char*> args(argv, argv + argc);
  const char* base = std::strrchr(argv[0], '/');
  base = base != nullptr ? base + 1 : argv[0];
  static char nmd[] = "nmd";
  if (std::strcmp(base, "nmd") == 0) {
    args.insert(args.begin() + 1, nmd);
  }

  CLI::App app{"NetMicroscope: which device talks to which service, at what rate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "netmicroscope 0.1.0");
  const std::vector<std::pair<std::string, nm::cli::Runner>> commands = {
      {"probe", nm::cli::addProbeCommand(app)}, {"classify", nm::cli::addClassifyCommand(app)},
      {"run", nm::cli::addRunCommand(app)},     {"daemon", nm::cli::addDaemonCommand(app)},
      {"nmd", nm::cli::addNmdCommand(app)},     {"lookup", nm::cli::addLookupCommand(app)},
  };
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const auto& [name, run] : commands) {
    if (app.got_subcommand(name)) {
      return run();
    }
  }
  return 2;
}
