#pragma once
// Subcommands of the netmicroscope binary. Each registers its options on the CLI11 app and
// returns a runner invoked after parsing.

#include <CLI/CLI.hpp>

#include <functional>

namespace nm::cli {

using Runner = std::function<int()>;

Runner addProbeCommand(CLI::App& app);
Runner addClassifyCommand(CLI::App& app);
Runner addRunCommand(CLI::App& app);
Runner addDaemonCommand(CLI::App& app);
Runner addNmdCommand(CLI::App& app);
Runner addLookupCommand(CLI::App& app);

}  // namespace nm::cli
