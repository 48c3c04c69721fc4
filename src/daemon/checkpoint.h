#pragma once
// What the daemon needs to resume exactly where its sinks last made data durable: the offsets
// of the TA files it follows and the summarizers' memory (for the original's zero-fill). Saved
// after every successful commit of all sinks; a crash between two saves replays the lines after
// the last one, which the sinks absorb because their writes are keyed (daemon/sink.h).
//
// File format (JSON, version 1):
//   {"version":1,
//    "files":[{"path":"/tmp/tmp.ta.1","dev":2049,"ino":1234,"offset":5678}],
//    "summarizers":{"home":{"has_previous":true,"ts_end":1598050390,
//                           "pairs":[["74:d0:2b:00:00:01","Netflix"]]}}}
// Written to a temporary file, fsynced, renamed over the old one, and the directory fsynced, so
// a crash leaves either the old or the new checkpoint, never a torn one.

#include <map>
#include <string>
#include <vector>

#include "daemon/summary.h"
#include "daemon/ta_tailer.h"

namespace nm {

struct Checkpoint {
  std::vector<TaFilePosition> files;
  std::map<std::string, SummarizerState> summarizers;
};

// false with `error` set on I/O failure (the previous checkpoint stays intact).
bool saveCheckpoint(const std::string& path, const Checkpoint& checkpoint, std::string& error);

// A missing file is an empty checkpoint (first start): true. A file that cannot be read or
// parsed: false with `error` — the caller refuses to start rather than replay from zero silently.
bool loadCheckpoint(const std::string& path, Checkpoint& checkpoint, std::string& error);

}  // namespace nm
