/* A C ABI v1 test plugin, built several times under different names (NM_TEST_PLUGIN_NAME,
 * NM_TEST_PLUGIN_PRIORITY). Settings, all prefixed with the name ("alpha.fail"):
 *   <name>.fail     create() fails with this text
 *   <name>.device   the device key to rename (default 10.0.0.2); its name becomes
 *                   "<current name or key>+<name>", so chained renames show the run order
 * Every record gets one point "nm_test" tagged plugin=<name> with one field of each type, and
 * the plugin counts its process() calls in its state under "calls" when it has state.
 * nm_test_live_instances() lets a test see that destroy() ran. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmicroscope_plugin.h"

#ifndef NM_TEST_PLUGIN_NAME
#error "define NM_TEST_PLUGIN_NAME"
#endif
#ifndef NM_TEST_PLUGIN_PRIORITY
#define NM_TEST_PLUGIN_PRIORITY 50
#endif

typedef struct test_plugin {
  const nm_host_v1* host;
  char device[128];
  long calls;
  int finished;
} test_plugin;

static int live_instances = 0;

NM_PLUGIN_EXPORT int nm_test_live_instances(void);
int nm_test_live_instances(void) {
  return live_instances;
}

static const char* setting(const char* const* kv, size_t n, const char* suffix) {
  char key[128];
  size_t i;
  snprintf(key, sizeof key, "%s.%s", NM_TEST_PLUGIN_NAME, suffix);
  for (i = 0; i < n; ++i) {
    if (strcmp(kv[2 * i], key) == 0) {
      return kv[2 * i + 1];
    }
  }
  return NULL;
}

static void* create(const nm_host_v1* host, const char* const* kv, size_t n, char* error,
                    size_t error_len) {
  const char* fail = setting(kv, n, "fail");
  const char* device = setting(kv, n, "device");
  test_plugin* self;
  if (fail != NULL) {
    snprintf(error, error_len, "%s", fail);
    return NULL;
  }
  self = (test_plugin*)calloc(1, sizeof *self);
  if (self == NULL) {
    snprintf(error, error_len, "out of memory");
    return NULL;
  }
  self->host = host;
  snprintf(self->device, sizeof self->device, "%s", device != NULL ? device : "10.0.0.2");
  ++live_instances;
  host->log(host, NM_LOG_INFO, "created " NM_TEST_PLUGIN_NAME);
  return self;
}

static void countCall(test_plugin* self) {
  const nm_host_v1* h = self->host;
  char value[32];
  size_t len = 0;
  long calls = 0;
  int got = h->state_get(h, "calls", value, sizeof value, &len);
  if (got < 0) {
    return; /* no state */
  }
  if (got == 1 && len < sizeof value) {
    calls = strtol(value, NULL, 10);
  }
  snprintf(value, sizeof value, "%ld", calls + 1);
  h->state_put(h, "calls", value, strlen(value));
}

static void process(void* p, nm_summary_v1* s) {
  test_plugin* self = (test_plugin*)p;
  size_t i;
  char name[256];
  nm_tag_v1 tags[2];
  nm_field_v1 fields[4];
  nm_point_v1 point;

  ++self->calls;
  for (i = 0; i < s->n_samples; ++i) {
    const nm_sample_v1* a = &s->samples[i];
    if (strcmp(a->device, self->device) == 0) {
      snprintf(name, sizeof name, "%s+%s", a->device_name[0] != '\0' ? a->device_name : a->device,
               NM_TEST_PLUGIN_NAME);
      s->set_device_name(s, a->device, name);
      break; /* renaming covers every sample of the device */
    }
  }

  tags[0].key = "plugin";
  tags[0].value = NM_TEST_PLUGIN_NAME;
  tags[1].key = "deployment";
  tags[1].value = s->deployment;
  memset(fields, 0, sizeof fields);
  fields[0].key = "calls";
  fields[0].type = NM_FIELD_INT;
  fields[0].int_value = self->calls;
  fields[1].key = "samples";
  fields[1].type = NM_FIELD_DOUBLE;
  fields[1].double_value = (double)s->n_samples;
  fields[2].key = "first_app";
  fields[2].type = NM_FIELD_STRING;
  fields[2].string_value = s->n_samples > 0 ? s->samples[0].application : "";
  fields[3].key = "renamed";
  fields[3].type = NM_FIELD_BOOL;
  fields[3].int_value = 1;
  point.measurement = "nm_test";
  point.tags = tags;
  point.n_tags = 2;
  point.fields = fields;
  point.n_fields = 4;
  point.ts_ns = 0; /* the record's ts_end */
  s->add_point(s, &point);

  /* Invalid on purpose: the host refuses it and counts it. */
  point.n_fields = 0;
  if (s->add_point(s, &point) != -1) {
    s->host->log(s->host, NM_LOG_ERROR, "an empty point was accepted");
  }
  countCall(self);
}

static void finish(void* p) {
  ((test_plugin*)p)->finished = 1;
}

static void destroy(void* p) {
  --live_instances;
  free(p);
}

static const nm_plugin_v1 descriptor = {NM_PLUGIN_ABI_VERSION,
                                        sizeof(nm_plugin_v1),
                                        NM_TEST_PLUGIN_NAME,
                                        NM_TEST_PLUGIN_PRIORITY,
                                        create,
                                        process,
                                        destroy,
                                        finish};

NM_PLUGIN_EXPORT const nm_plugin_v1* nm_plugin_entry(uint32_t host_abi_version);
const nm_plugin_v1* nm_plugin_entry(uint32_t host_abi_version) {
  return host_abi_version == NM_PLUGIN_ABI_VERSION ? &descriptor : NULL;
}
