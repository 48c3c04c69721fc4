// ta_parse_bench: the daemon's hot path, parseTaLine() over realistic TA records (Google
// Benchmark).
//
//   BM_ParseTaLine             one TaRecord reused across lines, as Pipeline::ingestLine does
//   BM_ParseTaLineFreshRecord  a new TaRecord per line (allocates every entry's strings)
//   BM_NlohmannDomOnly         baseline: nlohmann::json::parse of the same lines, no typed record —
//                              the floor the former (nlohmann) parser could not go below
//
// Input: `python3 bench/make_ta.py FILE 2000 100` (2000 records of 100 flow entries), written to
// $NM_BENCH_TA_FILE or /tmp/nm_ta_bench_2000x100.jsonl when absent. Each benchmark reports flow
// entries/s ("entries"), records/s (items) and bytes/s; after the run a table gives each one's
// entries/s as a ratio to BM_NlohmannDomOnly measured in the same run.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/ta_parser.h"

namespace {

struct Corpus {
  std::vector<std::string> lines;
  size_t entries = 0;
  size_t bytes = 0;
};

std::string corpusPath() {
  const char* env = std::getenv("NM_BENCH_TA_FILE");
  return env != nullptr ? env : "/tmp/nm_ta_bench_2000x100.jsonl";
}

const Corpus& corpus() {
  static const Corpus c = [] {
    Corpus out;
    const std::string path = corpusPath();
    if (!std::ifstream(path).good()) {
      const std::string cmd = "python3 '" NM_BENCH_MAKE_TA "' '" + path + "' 2000 100";
      if (std::system(cmd.c_str()) != 0) {
        std::fprintf(stderr, "ta_parse_bench: `%s` failed\n", cmd.c_str());
        std::exit(1);
      }
    }
    std::ifstream in(path);
    std::string line;
    nm::TaRecord record;
    while (std::getline(in, line)) {
      if (nm::parseTaLine(line, record) != nm::TaParseError::kNone) {
        std::fprintf(stderr, "ta_parse_bench: %s holds a line the parser rejects\n", path.c_str());
        std::exit(1);
      }
      out.entries += record.data.size();
      out.bytes += line.size();
      out.lines.push_back(std::move(line));
    }
    if (out.lines.empty()) {
      std::fprintf(stderr, "ta_parse_bench: %s is empty\n", path.c_str());
      std::exit(1);
    }
    return out;
  }();
  return c;
}

void report(benchmark::State& state, const Corpus& c) {
  const auto passes = static_cast<double>(state.iterations());
  state.counters["entries"] =
      benchmark::Counter(passes * static_cast<double>(c.entries), benchmark::Counter::kIsRate);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(c.lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(c.bytes));
}

// One iteration parses the whole corpus once.
void BM_ParseTaLine(benchmark::State& state) {
  const Corpus& c = corpus();
  nm::TaRecord record;
  for (auto _ : state) {
    for (const std::string& line : c.lines) {
      benchmark::DoNotOptimize(nm::parseTaLine(line, record));
    }
    benchmark::ClobberMemory();
  }
  report(state, c);
}
BENCHMARK(BM_ParseTaLine)->Unit(benchmark::kMillisecond);

void BM_ParseTaLineFreshRecord(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    for (const std::string& line : c.lines) {
      nm::TaRecord record;
      benchmark::DoNotOptimize(nm::parseTaLine(line, record));
      benchmark::DoNotOptimize(record.data.data());
    }
  }
  report(state, c);
}
BENCHMARK(BM_ParseTaLineFreshRecord)->Unit(benchmark::kMillisecond);

void BM_NlohmannDomOnly(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    for (const std::string& line : c.lines) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      benchmark::DoNotOptimize(j.is_discarded());
    }
  }
  report(state, c);
}
BENCHMARK(BM_NlohmannDomOnly)->Unit(benchmark::kMillisecond);

// Collects entries/s per benchmark for the ratio table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      const auto it = run.counters.find("entries");
      if (it != run.counters.end() && run.run_type == Run::RT_Iteration) {
        rates_[run.benchmark_name()] = it->second.value;
      }
    }
  }

  void printRatios() const {
    const auto base = rates_.find("BM_NlohmannDomOnly");
    if (base == rates_.end() || base->second <= 0) {
      return;
    }
    std::printf("\nflow entries/s, and ratio to BM_NlohmannDomOnly (same run):\n");
    for (const auto& [name, rate] : rates_) {
      std::printf("  %-28s %12.0f  %5.2fx\n", name.c_str(), rate, rate / base->second);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  std::fprintf(stderr, "corpus: %s, %zu records, %zu flow entries, %zu bytes\n",
               corpusPath().c_str(), corpus().lines.size(), corpus().entries, corpus().bytes);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.printRatios();
  benchmark::Shutdown();
  return 0;
}
