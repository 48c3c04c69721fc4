#include "plugins/loader.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "daemon/pipeline.h"
#include "plugins/c_abi/netmicroscope_plugin.h"
#include "plugins/registry.h"
#include "support/map_plugin_state.h"
#include "support/recording_sink.h"
#include "support/ta_line.h"

namespace nm {
namespace {

using test::RecordingSink;

using MapState = test::MapPluginState;

using test::taLine;

// Whether `path` is still mapped in this process (RTLD_NOLOAD never loads it).
bool isLoaded(const char* path) {
  void* h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) {
    return false;
  }
  dlclose(h);
  return true;
}

// The test plugin's live instance count (create() minus destroy()); -1 when not loaded.
int liveInstances(const char* path) {
  void* h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) {
    return -1;
  }
  auto fn = reinterpret_cast<int (*)()>(dlsym(h, "nm_test_live_instances"));
  const int n = fn != nullptr ? fn() : -2;
  dlclose(h);
  return n;
}

// A C++ built-in for the registry tests: appends "+<name>" to 10.0.0.2's name, logs its life.
std::vector<std::string> g_events;

class TestBuiltin final : public Plugin {
 public:
  TestBuiltin(std::string name, int priority, bool fail)
      : name_(std::move(name)), priority_(priority), fail_(fail) {}
  ~TestBuiltin() override { g_events.push_back("destroy:" + name_); }
  std::string_view name() const override { return name_; }
  int priority() const override { return priority_; }
  bool init(const PluginContext& context, std::string& error) override {
    g_events.push_back("init:" + name_);
    if (fail_) {
      error = "TEST_SETTING is not a number";
      return false;
    }
    has_state_ = context.state != nullptr;
    return true;
  }
  void process(RecordSummary& s) override {
    for (const DeviceApplicationSample& a : s.samples) {
      if (a.device == "10.0.0.2") {
        setDeviceName(s, "10.0.0.2",
                      (a.device_name.empty() ? a.device : a.device_name) + "+" + name_);
        break;
      }
    }
  }
  void finish() override { g_events.push_back("finish:" + name_); }

 private:
  std::string name_;
  int priority_;
  bool fail_;
  bool has_state_ = false;
};

std::unique_ptr<Plugin> makeLate() {
  return std::make_unique<TestBuiltin>("late", 30, false);
}
std::unique_ptr<Plugin> makeEarly() {
  return std::make_unique<TestBuiltin>("early", 5, false);
}
std::unique_ptr<Plugin> makeAlphaBuiltin() {
  return std::make_unique<TestBuiltin>("alpha", 1, false);
}
std::unique_ptr<Plugin> makeBroken() {
  return std::make_unique<TestBuiltin>("broken", 1, true);
}

// Registry order differs from priority order on purpose.
constexpr BuiltinPlugin kTestBuiltins[] = {
    {"late", &makeLate}, {"early", &makeEarly}, {"broken", &makeBroken}};
constexpr BuiltinPlugin kGoodBuiltins[] = {{"late", &makeLate}, {"early", &makeEarly}};

class PluginsTest : public ::testing::Test {
 protected:
  void SetUp() override { g_events.clear(); }

  PluginContext context(PluginState* state = nullptr) {
    return PluginContext{settings, metrics, state, "home"};
  }

  // Runs one record through a real pipeline with `plugins` and returns what the sink got.
  RecordSummary run(const PluginSet& plugins, int64_t ts_end = 100) {
    if (!pipeline_) {
      pipeline_ = std::make_unique<Pipeline>(PipelineOptions{"home", false},
                                             std::vector<Sink*>{&sink}, metrics);
      for (RecordProcessor* p : plugins.processors()) {
        pipeline_->addProcessor(p);
      }
    }
    EXPECT_EQ(
        pipeline_->ingestLine(taLine(
            ts_end, {{"10.0.0.2", "Netflix"}, {"10.0.0.3", "YouTube"}, {"10.0.0.2", "Zoom"}})),
        TaParseError::kNone);
    EXPECT_FALSE(sink.pending.empty());
    return sink.pending.empty() ? RecordSummary{} : sink.pending.back();
  }

  std::string deviceName(const RecordSummary& s, const std::string& device) {
    for (const DeviceApplicationSample& a : s.samples) {
      if (a.device == device) {
        return a.device_name;
      }
    }
    return "<no sample>";
  }

  std::map<std::string, std::string> settings;
  MetricsRegistry metrics;
  RecordingSink sink;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PluginsTest, CPluginRenamesDeviceAndAddsPointThroughPipeline) {
  MapState state;
  std::string error;
  {
    PluginSet plugins = loadPlugins({{NM_TEST_PLUGIN_ALPHA}, {}, {}}, context(&state), error);
    ASSERT_EQ(error, "");
    ASSERT_EQ(plugins.size(), 1u);
    EXPECT_EQ(plugins.plugins()[0]->name(), "alpha");
    EXPECT_EQ(plugins.plugins()[0]->priority(), 20);
    EXPECT_EQ(liveInstances(NM_TEST_PLUGIN_ALPHA), 1);

    const RecordSummary s = run(plugins);
    ASSERT_EQ(s.samples.size(), 3u);
    // Every sample of the device is renamed, the key stays; other devices untouched.
    EXPECT_EQ(s.samples[0].device, "10.0.0.2");
    EXPECT_EQ(s.samples[0].device_name, "10.0.0.2+alpha");
    EXPECT_EQ(s.samples[2].device_name, "10.0.0.2+alpha");
    EXPECT_EQ(s.samples[1].device_name, "");
    int renamed_points = 0;
    for (const SummaryPoint& p : s.points) {
      if (p.device == "10.0.0.2") {
        EXPECT_EQ(p.device_name, "10.0.0.2+alpha");
        ++renamed_points;
      } else {
        EXPECT_EQ(p.device_name, "");
      }
    }
    EXPECT_GT(renamed_points, 0);

    // The valid point arrives copied; the plugin's deliberately empty one is refused.
    ASSERT_EQ(s.extra_points.size(), 1u);
    const ExtraPoint& e = s.extra_points[0];
    EXPECT_EQ(e.measurement, "nm_test");
    using Tags = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(e.tags, (Tags{{"plugin", "alpha"}, {"deployment", "home"}}));
    ASSERT_EQ(e.fields.size(), 4u);
    EXPECT_EQ(e.fields[0].first, "calls");
    EXPECT_EQ(std::get<int64_t>(e.fields[0].second), 1);
    EXPECT_EQ(std::get<double>(e.fields[1].second), 3.0);
    EXPECT_EQ(std::get<std::string>(e.fields[2].second), "Netflix");
    EXPECT_EQ(std::get<bool>(e.fields[3].second), true);
    EXPECT_EQ(e.ts_ns, 100'000'000'000);
    EXPECT_EQ(metrics
                  .counter("netmicroscope_plugin_errors_total", "",
                           {{"plugin", "alpha"}, {"kind", "invalid_point"}})
                  .value(),
              1u);

    // State goes through the host's callbacks.
    EXPECT_EQ(state.kv["calls"], "1");
    const RecordSummary s2 = run(plugins, 105);
    EXPECT_EQ(state.kv["calls"], "2");
    ASSERT_EQ(s2.extra_points.size(), 1u);
    EXPECT_EQ(std::get<int64_t>(s2.extra_points[0].fields[0].second), 2);
    pipeline_.reset();
  }
  // destroy() ran and the library is closed.
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_ALPHA));
}

TEST_F(PluginsTest, CPluginWithoutStateStillRuns) {
  std::string error;
  PluginSet plugins = loadPlugins({{NM_TEST_PLUGIN_ALPHA}, {}, {}}, context(), error);
  ASSERT_EQ(error, "");
  const RecordSummary s = run(plugins);
  EXPECT_EQ(deviceName(s, "10.0.0.2"), "10.0.0.2+alpha");
  pipeline_.reset();
}

TEST_F(PluginsTest, ExplicitOrderWinsOverPriority) {
  std::string error;
  // beta has the lower priority (10) but the list puts alpha (20) first.
  PluginSet plugins =
      loadPlugins({{NM_TEST_PLUGIN_ALPHA, NM_TEST_PLUGIN_BETA}, {}, {}}, context(), error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(deviceName(run(plugins), "10.0.0.2"), "10.0.0.2+alpha+beta");
  pipeline_.reset();
  sink.pending.clear();

  PluginSet reversed =
      loadPlugins({{NM_TEST_PLUGIN_BETA, NM_TEST_PLUGIN_ALPHA}, {}, {}}, context(), error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(deviceName(run(reversed), "10.0.0.2"), "10.0.0.2+beta+alpha");
  pipeline_.reset();
}

TEST_F(PluginsTest, BuiltinsRunByPriorityWhenNoListIsGiven) {
  std::string error;
  {
    PluginSet plugins = loadPlugins({}, context(), kGoodBuiltins, error);
    ASSERT_EQ(error, "");
    ASSERT_EQ(plugins.size(), 2u);
    EXPECT_EQ(plugins.plugins()[0]->name(), "early");
    EXPECT_EQ(deviceName(run(plugins), "10.0.0.2"), "10.0.0.2+early+late");
    pipeline_.reset();
  }
  // Finished once, then destroyed in reverse run order.
  EXPECT_EQ(g_events, (std::vector<std::string>{"init:early", "init:late", "finish:early",
                                                "finish:late", "destroy:late", "destroy:early"}));
}

TEST_F(PluginsTest, DisabledBuiltinDoesNotRun) {
  std::string error;
  PluginSet plugins = loadPlugins({{}, {"early", "broken"}, {}}, context(), kTestBuiltins, error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(deviceName(run(plugins), "10.0.0.2"), "10.0.0.2+late");
  pipeline_.reset();
}

TEST_F(PluginsTest, BuiltinAndLibraryMixInListedOrder) {
  std::string error;
  PluginSet plugins = loadPlugins({{"late", NM_TEST_PLUGIN_BETA, "early"}, {}, {}}, context(),
                                  kTestBuiltins, error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(deviceName(run(plugins), "10.0.0.2"), "10.0.0.2+late+beta+early");
  pipeline_.reset();
}

TEST_F(PluginsTest, EachPluginGetsItsOwnStateWhenAsked) {
  std::map<std::string, MapState> states;
  PluginConfig config{{NM_TEST_PLUGIN_ALPHA, NM_TEST_PLUGIN_BETA}, {}, {}};
  config.state_for = [&](std::string_view name) { return &states[std::string(name)]; };
  std::string error;
  PluginSet plugins = loadPlugins(config, context(), error);
  ASSERT_EQ(error, "");
  run(plugins);
  run(plugins, 105);
  EXPECT_EQ(states["alpha"].kv["calls"], "2");
  EXPECT_EQ(states["beta"].kv["calls"], "2");
  EXPECT_EQ(states.size(), 2u);
  pipeline_.reset();
}

TEST_F(PluginsTest, FinishRunsOnceAndDestructionAfterIt) {
  std::string error;
  PluginSet plugins = loadPlugins({{"early"}, {}, {}}, context(), kTestBuiltins, error);
  ASSERT_EQ(error, "");
  plugins.finish();
  plugins.finish();
  PluginSet moved = std::move(plugins);
  EXPECT_TRUE(plugins.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  moved = PluginSet();
  EXPECT_EQ(g_events, (std::vector<std::string>{"init:early", "finish:early", "destroy:early"}));
}

// --- refusals ---------------------------------------------------------------------------------

TEST_F(PluginsTest, WrongAbiVersionNamesFileAndBothVersions) {
  std::string error;
  PluginSet plugins = loadPlugins({{NM_TEST_PLUGIN_BAD_ABI}, {}, {}}, context(), error);
  EXPECT_TRUE(plugins.empty());
  EXPECT_NE(error.find(NM_TEST_PLUGIN_BAD_ABI), std::string::npos) << error;
  EXPECT_NE(error.find("ABI v99"), std::string::npos) << error;
  EXPECT_NE(error.find("ABI v1"), std::string::npos) << error;
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_BAD_ABI));
}

TEST_F(PluginsTest, TooSmallDescriptorIsRefused) {
  std::string error;
  EXPECT_EQ(openPluginLibrary(NM_TEST_PLUGIN_SMALL_STRUCT, error), nullptr);
  EXPECT_NE(error.find(NM_TEST_PLUGIN_SMALL_STRUCT), std::string::npos) << error;
  EXPECT_NE(error.find("smaller than the " + std::to_string(sizeof(nm_plugin_v1))),
            std::string::npos)
      << error;
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_SMALL_STRUCT));
}

TEST_F(PluginsTest, MissingEntrySymbolIsRefused) {
  std::string error;
  EXPECT_EQ(openPluginLibrary(NM_TEST_PLUGIN_NO_ENTRY, error), nullptr);
  EXPECT_NE(error.find(NM_TEST_PLUGIN_NO_ENTRY), std::string::npos) << error;
  EXPECT_NE(error.find("exports no nm_plugin_entry()"), std::string::npos) << error;
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_NO_ENTRY));
}

TEST_F(PluginsTest, EntryReturningNullIsRefused) {
  std::string error;
  EXPECT_EQ(openPluginLibrary(NM_TEST_PLUGIN_NULL_ENTRY, error), nullptr);
  EXPECT_NE(error.find(NM_TEST_PLUGIN_NULL_ENTRY), std::string::npos) << error;
  EXPECT_NE(error.find("returned no descriptor"), std::string::npos) << error;
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_NULL_ENTRY));
}

TEST_F(PluginsTest, NonExistentPathIsRefused) {
  std::string error;
  const std::string path = "/nonexistent/dir/libnothing.so";
  PluginSet plugins = loadPlugins({{path}, {}, {}}, context(), error);
  EXPECT_TRUE(plugins.empty());
  EXPECT_EQ(error.rfind("plugin " + path + ": cannot load: ", 0), 0u) << error;
}

TEST_F(PluginsTest, FileThatIsNotALibraryIsRefused) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("nm_not_a_plugin_" + std::to_string(getpid()) + ".so");
  std::ofstream(path) << "not an ELF file\n";
  std::string error;
  EXPECT_EQ(openPluginLibrary(path.string(), error), nullptr);
  EXPECT_NE(error.find(path.string() + ": cannot load"), std::string::npos) << error;
  std::filesystem::remove(path);
}

TEST_F(PluginsTest, CreateFailurePassesItsMessageThrough) {
  settings["alpha.fail"] = "ALPHA_DB=/nope: no such file";
  std::string error;
  PluginSet plugins = loadPlugins({{NM_TEST_PLUGIN_ALPHA}, {}, {}}, context(), error);
  EXPECT_TRUE(plugins.empty());
  EXPECT_EQ(error, std::string("plugin 'alpha' (") + NM_TEST_PLUGIN_ALPHA +
                       "): ALPHA_DB=/nope: no such file");
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_ALPHA));
}

TEST_F(PluginsTest, EveryFailureIsReportedTogether) {
  settings["alpha.fail"] = "alpha refuses";
  settings["beta.fail"] = "beta refuses";
  std::string error;
  PluginSet plugins = loadPlugins({{NM_TEST_PLUGIN_ALPHA, "early", NM_TEST_PLUGIN_BAD_ABI, "broken",
                                    "nosuch", NM_TEST_PLUGIN_BETA},
                                   {},
                                   {}},
                                  context(), kTestBuiltins, error);
  EXPECT_TRUE(plugins.empty());
  EXPECT_EQ(error.rfind("5 plugin errors:\n", 0), 0u) << error;
  for (const std::string& part :
       {std::string("plugin 'alpha' (") + NM_TEST_PLUGIN_ALPHA + "): alpha refuses",
        std::string("plugin 'beta' (") + NM_TEST_PLUGIN_BETA + "): beta refuses",
        std::string("plugin ") + NM_TEST_PLUGIN_BAD_ABI + ": built for plugin ABI v99",
        std::string("plugin 'broken': TEST_SETTING is not a number"),
        std::string("plugin 'nosuch': unknown (built-ins: late, early, broken;")}) {
    EXPECT_NE(error.find(part), std::string::npos) << part << "\nnot in:\n" << error;
  }
  // The one that started was stopped and destroyed; nothing stays loaded.
  EXPECT_EQ(g_events, (std::vector<std::string>{"init:early", "init:broken", "destroy:broken",
                                                "finish:early", "destroy:early"}));
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_ALPHA));
  EXPECT_FALSE(isLoaded(NM_TEST_PLUGIN_BETA));
}

TEST_F(PluginsTest, ConfigurationMistakesAreReported) {
  std::string error;
  loadPlugins({{"early", "early", "late"}, {"late", "ghost"}, {}}, context(), kTestBuiltins, error);
  EXPECT_NE(error.find("plugin 'early': listed twice"), std::string::npos) << error;
  EXPECT_NE(error.find("plugin 'late': both enabled and disabled"), std::string::npos) << error;
  EXPECT_NE(error.find("plugin 'ghost': cannot disable it, no such built-in"), std::string::npos)
      << error;
}

TEST_F(PluginsTest, TwoPluginsWithOneNameAreRefused) {
  const BuiltinPlugin alpha_builtin[] = {{"alpha", &makeAlphaBuiltin}};
  std::string error;
  PluginSet plugins =
      loadPlugins({{"alpha", NM_TEST_PLUGIN_ALPHA}, {}, {}}, context(), alpha_builtin, error);
  EXPECT_TRUE(plugins.empty());
  EXPECT_EQ(error, std::string("plugin 'alpha' and plugin 'alpha' (") + NM_TEST_PLUGIN_ALPHA +
                       "): both are named 'alpha'");
}

TEST_F(PluginsTest, UnknownNameWithoutBuiltinsSaysSo) {
  std::string error;
  loadPlugins({{"ouimap"}, {}, {}}, context(), std::span<const BuiltinPlugin>(), error);
  EXPECT_EQ(error,
            "plugin 'ouimap': unknown (built-ins: none in this build; a library is given by a "
            "path with '/' or ending in .so)");
}

TEST(PluginRegistry, BuiltinsHaveUniqueNamesAndFactories) {
  const std::span<const BuiltinPlugin> builtins = builtinPlugins();
  for (size_t i = 0; i < builtins.size(); ++i) {
    EXPECT_FALSE(builtins[i].name.empty());
    ASSERT_NE(builtins[i].create, nullptr);
    std::unique_ptr<Plugin> p = builtins[i].create();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->name(), builtins[i].name);
    for (size_t j = 0; j < i; ++j) {
      EXPECT_NE(builtins[i].name, builtins[j].name);
    }
  }
}

TEST(PluginPaths, PathsAreTellFromBuiltinNames) {
  EXPECT_TRUE(isPluginPath("/opt/nm/libgeo.so"));
  EXPECT_TRUE(isPluginPath("./libgeo.so.1"));
  EXPECT_TRUE(isPluginPath("libgeo.so"));
  EXPECT_FALSE(isPluginPath("ouimap"));
}

// --- the example, built as a separate project -----------------------------------------------

TEST_F(PluginsTest, ExamplePluginBuiltApartNamesDevices) {
  settings["STATIC_NAMES"] = "10.0.0.2=Laptop,10.0.0.3=Television";
  std::string error;
  PluginSet plugins = loadPlugins({{NM_EXAMPLE_PLUGIN}, {}, {}}, context(), error);
  ASSERT_EQ(error, "");
  const RecordSummary s = run(plugins);
  EXPECT_EQ(deviceName(s, "10.0.0.2"), "Laptop");
  EXPECT_EQ(deviceName(s, "10.0.0.3"), "Television");
  ASSERT_EQ(s.extra_points.size(), 1u);
  EXPECT_EQ(s.extra_points[0].measurement, "plugin_stats");
  EXPECT_EQ(std::get<int64_t>(s.extra_points[0].fields[0].second), 2);
  pipeline_.reset();
}

TEST_F(PluginsTest, ExamplePluginWithoutItsSettingRefusesToStart) {
  std::string error;
  PluginSet plugins = loadPlugins({{NM_EXAMPLE_PLUGIN}, {}, {}}, context(), error);
  EXPECT_TRUE(plugins.empty());
  EXPECT_NE(error.find("STATIC_NAMES is not set"), std::string::npos) << error;
}

}  // namespace
}  // namespace nm
