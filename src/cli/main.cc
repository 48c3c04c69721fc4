#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_st("netmicroscope");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{"NetMicroscope: which device talks to which service, at what rate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "netmicroscope 0.1.0");
  nm::cli::Runner probe = nm::cli::addProbeCommand(app);
  nm::cli::Runner classify = nm::cli::addClassifyCommand(app);

  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("probe")) {
    return probe();
  }
  if (app.got_subcommand("classify")) {
    return classify();
  }
  return 2;
}
