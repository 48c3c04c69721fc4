/* A minimal NetMicroscope plugin, built apart from NetMicroscope (see CMakeLists.txt here and
 * docs/plugins.md). It gives devices fixed names from one setting and counts named devices:
 *
 *   STATIC_NAMES=10.0.0.2=Laptop,aa:bb:cc:dd:ee:ff=Television
 *
 * Enable it with the path of the built library in the daemon's plugin list. */
/* strtok_r is POSIX, not C99. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmicroscope_plugin.h"

#define MAX_NAMES 64

typedef struct static_names {
  const nm_host_v1* host;
  size_t n;
  char* keys[MAX_NAMES];
  char* names[MAX_NAMES];
  char* text; /* the setting, cut into keys and names in place */
} static_names;

static void destroy(void* p) {
  static_names* self = (static_names*)p;
  free(self->text);
  free(self);
}

static void* create(const nm_host_v1* host, const char* const* kv, size_t n_settings, char* error,
                    size_t error_len) {
  const char* spec = NULL;
  char* item;
  char* save = NULL;
  size_t i;
  static_names* self;
  for (i = 0; i < n_settings; ++i) {
    if (strcmp(kv[2 * i], "STATIC_NAMES") == 0) {
      spec = kv[2 * i + 1];
    }
  }
  if (spec == NULL) {
    snprintf(error, error_len, "STATIC_NAMES is not set (e.g. STATIC_NAMES=10.0.0.2=Laptop)");
    return NULL;
  }
  self = (static_names*)calloc(1, sizeof *self);
  if (self == NULL || (self->text = (char*)malloc(strlen(spec) + 1)) == NULL) {
    free(self);
    snprintf(error, error_len, "out of memory");
    return NULL;
  }
  strcpy(self->text, spec);
  self->host = host;
  for (item = strtok_r(self->text, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    char* eq = strchr(item, '=');
    if (eq == NULL || eq == item || eq[1] == '\0' || self->n == MAX_NAMES) {
      snprintf(error, error_len, "STATIC_NAMES: bad entry '%s' (want key=name, at most %d)", item,
               MAX_NAMES);
      destroy(self);
      return NULL;
    }
    *eq = '\0';
    self->keys[self->n] = item;
    self->names[self->n] = eq + 1;
    ++self->n;
  }
  return self;
}

static void process(void* p, nm_summary_v1* s) {
  static_names* self = (static_names*)p;
  size_t i, j;
  int64_t named = 0;
  nm_tag_v1 tag;
  nm_field_v1 field;
  nm_point_v1 point;
  for (j = 0; j < self->n; ++j) {
    for (i = 0; i < s->n_samples; ++i) {
      if (strcmp(s->samples[i].device, self->keys[j]) == 0) {
        s->set_device_name(s, self->keys[j], self->names[j]);
        ++named;
        break;
      }
    }
  }
  tag.key = "plugin";
  tag.value = "static_names";
  memset(&field, 0, sizeof field);
  field.key = "named_devices";
  field.type = NM_FIELD_INT;
  field.int_value = named;
  point.measurement = "plugin_stats";
  point.tags = &tag;
  point.n_tags = 1;
  point.fields = &field;
  point.n_fields = 1;
  point.ts_ns = 0; /* the record's end */
  s->add_point(s, &point);
}

static const nm_plugin_v1 kDescriptor = {
    NM_PLUGIN_ABI_VERSION, /* abi_version */
    sizeof(nm_plugin_v1),  /* struct_size */
    "static_names",        /* name */
    10,                    /* priority: before most */
    create,
    process,
    destroy,
    NULL, /* finish: nothing to flush */
};

NM_PLUGIN_EXPORT const nm_plugin_v1* nm_plugin_entry(uint32_t host_abi_version);
const nm_plugin_v1* nm_plugin_entry(uint32_t host_abi_version) {
  return host_abi_version == NM_PLUGIN_ABI_VERSION ? &kDescriptor : NULL;
}
