#pragma once
// The daemon's log in the original's line format, so `tail -f /tmp/appmonitor.log` reads as
// before:
//   2020-08-21T17:53:05.272 INFO {appmonitor} [printF] Unknown-192.168.0.3 {'KbpsDw': ...}

#include <string>

namespace nm::cli {

// Replaces the default logger. `log_file` empty: stderr only; otherwise the file (appended,
// flushed per line so tail -f is live), plus stderr when `also_stderr`. false with `error` set
// when the file cannot be opened.
bool setupDaemonLogging(const std::string& log_file, bool also_stderr, std::string& error);

}  // namespace nm::cli
