#pragma once
// The probe (capture -> decode -> flows -> classification -> TA records) as a reusable runner:
// `probe` writes the records as TA lines, `run` also hands them to the in-process daemon.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "report/window_reporter.h"

namespace nm::cli {

struct ProbeOptions {
  std::string read_file;
  std::string interface;
  std::string filter;
  std::string ta_path;
  std::string stats_path;
  int64_t window_seconds = 5;
  std::vector<std::string> local_cidrs;
  uint32_t max_flows = 500'000;
  int64_t tcp_timeout = 300;
  int64_t tcp_closed_timeout = 10;
  int64_t udp_timeout = 60;
  uint32_t chunk_min_payload = 1;
  int snaplen = 65535;
  bool summary = false;
  std::string services;
  bool no_classify = false;
  bool ndpi = false;
};

// Registers the probe's options (-r/-i, --window, timeouts, ...) on `cmd`; `o` must outlive it.
void addProbeOptions(CLI::App* cmd, ProbeOptions& o);

// Runs the probe to the end of the file or until SIGINT/SIGTERM. Every record goes to the TA
// output (o.ta_path; with a `tap` and no --ta, none) and then to `tap` (may be null), on this
// thread. Returns the process exit code.
int runProbe(const ProbeOptions& o, TaRecordSink* tap);

}  // namespace nm::cli
