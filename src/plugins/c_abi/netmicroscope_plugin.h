/*
 * NetMicroscope plugin C ABI, version 1.
 *
 * An external plugin is a shared library (built apart from NetMicroscope, in any language that
 * can export a C function) that exports
 *
 *     const nm_plugin_v1* nm_plugin_entry(uint32_t host_abi_version);
 *
 * The daemon dlopen()s the library (RTLD_NOW | RTLD_LOCAL), calls nm_plugin_entry with
 * NM_PLUGIN_ABI_VERSION and refuses the library (closing it again, naming the file and both
 * versions) when the symbol is missing, the entry returns NULL, abi_version is not the host's or
 * struct_size is smaller than the host's sizeof(nm_plugin_v1).
 *
 * Lifecycle, all on the daemon's one ingest thread unless said otherwise:
 *     nm_plugin_entry(1)            once, right after dlopen
 *     create(host, settings, ...)   once; NULL refuses to start the daemon (error text shown)
 *     process(self, summary)*       once per accepted TA record, in plugin order
 *     finish(self)                  once before exit (optional; may be NULL)
 *     destroy(self)                 once, then the library is dlclose()d
 * process() must not block (no network, no disk waits): do slow work on your own threads and
 * let its results join later summaries.
 *
 * Strings are NUL-terminated UTF-8. Every pointer the host passes in is borrowed: valid only
 * during the call that received it, unless said otherwise. Every pointer the plugin passes to a
 * host callback is copied by the host before the callback returns.
 *
 * Compatibility: fields are only ever appended to these structs; the struct_size fields say how
 * much of a struct the other side filled. A host speaking a later ABI may still accept v1
 * plugins; a v1 host accepts exactly abi_version 1.
 *
 * Pure C99; usable from C++ as well.
 */
#ifndef NETMICROSCOPE_PLUGIN_H
#define NETMICROSCOPE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NM_PLUGIN_ABI_VERSION 1u
#define NM_PLUGIN_ENTRY_SYMBOL "nm_plugin_entry"

/* Put before the definition of nm_plugin_entry so it is exported even when the library is
 * built with -fvisibility=hidden (recommended). */
#if defined(__GNUC__) || defined(__clang__)
#define NM_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define NM_PLUGIN_EXPORT
#endif

/* Levels of nm_host_v1.log. */
#define NM_LOG_DEBUG 0
#define NM_LOG_INFO 1
#define NM_LOG_WARN 2
#define NM_LOG_ERROR 3

/* nm_field_v1.type */
#define NM_FIELD_DOUBLE 0 /* double_value */
#define NM_FIELD_INT 1    /* int_value */
#define NM_FIELD_STRING 2 /* string_value */
#define NM_FIELD_BOOL 3   /* int_value: 0 = false, anything else = true */

typedef struct nm_host_v1 nm_host_v1;
typedef struct nm_summary_v1 nm_summary_v1;

/*
 * What the host offers a plugin instance. Passed to create(); the pointer stays valid until
 * destroy() returns, so the plugin may keep it.
 */
struct nm_host_v1 {
  uint32_t abi_version; /* NM_PLUGIN_ABI_VERSION of the host */
  uint32_t struct_size; /* sizeof(nm_host_v1) as the host knows it */
  void* host_data;      /* the host's; do not touch */

  /* The deployment the daemon runs for (NMD_DEPLOYMENT); never NULL. */
  const char* deployment;

  /* Logs `message` (copied) under the plugin's name. Safe from any thread, also from the
   * plugin's own threads, until destroy() returns. */
  void (*log)(const nm_host_v1* host, int level, const char* message);

  /* The plugin's own persistent key-value state (the store's kv table). Ingest thread only
   * (create, process, finish). Keys are NUL-terminated; values are bytes with a length.
   *
   * state_get: returns 1 when `key` holds a value and sets *value_len to its length; the value
   *   is copied into `value` and NUL-terminated only when buffer_len > *value_len (otherwise
   *   call again with a buffer of *value_len + 1 bytes). Returns 0 when absent, -1 when there is
   *   no state (store disabled) or on error.
   * state_put: stores `value_len` bytes under `key`, replacing any; 0 on success, -1 otherwise.
   * state_erase: removes `key`; 0 on success (also when it was absent), -1 otherwise. */
  int (*state_get)(const nm_host_v1* host, const char* key, char* value, size_t buffer_len,
                   size_t* value_len);
  int (*state_put)(const nm_host_v1* host, const char* key, const char* value, size_t value_len);
  int (*state_erase)(const nm_host_v1* host, const char* key);
};

/* One (device, application) of a record. Read-only. */
typedef struct nm_sample_v1 {
  const char* device;      /* the device key: MAC text, else IP text. Never renamed. */
  const char* device_name; /* the name a plugin gave the device so far; "" = none */
  const char* application; /* the TA record's Meta */
  double kbps_dw;          /* the original's plain sums of the entries' rates */
  double kbps_up;
  uint64_t bytes_dw; /* exact when the record carries them, else 0 */
  uint64_t bytes_up;
  uint64_t pkts_dw;
  uint64_t pkts_up;
  uint32_t flows; /* entries of this pair in the record */
} nm_sample_v1;

/* A tag of an extra point: both strings non-NULL, key non-empty. */
typedef struct nm_tag_v1 {
  const char* key;
  const char* value;
} nm_tag_v1;

/* A field of an extra point: key non-NULL and non-empty; `type` says which value is used. */
typedef struct nm_field_v1 {
  const char* key;
  int32_t type; /* NM_FIELD_* */
  double double_value;
  int64_t int_value;
  const char* string_value; /* non-NULL for NM_FIELD_STRING */
} nm_field_v1;

/* A point the plugin adds to the record (e.g. exinfo's "geometric"). The sinks add no tags. */
typedef struct nm_point_v1 {
  const char* measurement; /* non-NULL, non-empty */
  const nm_tag_v1* tags;   /* n_tags entries; may be NULL when n_tags is 0 */
  size_t n_tags;
  const nm_field_v1* fields; /* at least one */
  size_t n_fields;
  int64_t ts_ns; /* nanoseconds since the epoch; 0 = the record's ts_end */
} nm_point_v1;

/*
 * One accepted TA record's summary, as the sinks will see it. Valid only during process():
 * keep no pointer into it (copy what you need).
 */
struct nm_summary_v1 {
  uint32_t struct_size;   /* sizeof(nm_summary_v1) as the host knows it */
  const nm_host_v1* host; /* the same as create() received, for log() */
  void* host_data;        /* the host's; do not touch */
  const char* deployment; /* the probe's deployment */
  int64_t ts_start;       /* seconds since the epoch */
  int64_t ts_end;
  const nm_sample_v1* samples; /* n_samples entries, first-appearance order; read-only */
  size_t n_samples;

  /* Gives `device_key` the display name `name` (copied) for this record: every sample of that
   * device and the `device` tag of its points. Afterwards the samples' device_name pointers
   * are refreshed: read them again from `samples` (an old device_name pointer of a renamed
   * device is no longer valid). Returns 0, or -1 for NULL/empty arguments. Renaming a key
   * that has no sample is not an error. */
  int (*set_device_name)(nm_summary_v1* summary, const char* device_key, const char* name);

  /* Adds an extra point (everything copied). Returns 0, or -1 when the point is invalid (see
   * nm_point_v1, nm_tag_v1, nm_field_v1); an invalid point is dropped, logged and counted. */
  int (*add_point)(nm_summary_v1* summary, const nm_point_v1* point);
};

/*
 * What the plugin exports through nm_plugin_entry. The descriptor must stay valid until the
 * library is closed (a static const object is the usual choice).
 */
typedef struct nm_plugin_v1 {
  uint32_t abi_version; /* NM_PLUGIN_ABI_VERSION the plugin was built against */
  uint32_t struct_size; /* sizeof(nm_plugin_v1) */

  /* Short stable name for logs, metrics and the state namespace: [a-z0-9_] recommended.
   * Must be unique among the daemon's plugins. */
  const char* name;
  /* Plugins run lowest first (the original's init() return value), unless the configuration
   * lists them in an explicit order. */
  int32_t priority;

  /* Makes an instance. `settings_kv` holds n_settings (key, value) pairs flattened:
   * settings_kv[2*i] is a key, settings_kv[2*i + 1] its value; every daemon setting (.env merged
   * with the environment) is there, so read your own (e.g. MYPLUGIN_*). Borrowed: valid only
   * during the call. `host` is valid until destroy() returns. On failure return NULL and write
   * a NUL-terminated reason (naming the setting) into error[0 .. error_len). */
  void* (*create)(const nm_host_v1* host, const char* const* settings_kv, size_t n_settings,
                  char* error, size_t error_len);
  /* Sees one record's summary before the sinks do. */
  void (*process)(void* self, nm_summary_v1* summary);
  /* Frees the instance. Called once for every non-NULL create(). */
  void (*destroy)(void* self);
  /* Optional (NULL = nothing to do): last call before exit; stop threads, flush state. */
  void (*finish)(void* self);
} nm_plugin_v1;

/* The one symbol a plugin exports. Returns the descriptor for `host_abi_version`, or NULL when
 * the plugin cannot work with that host. */
typedef const nm_plugin_v1* (*nm_plugin_entry_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* NETMICROSCOPE_PLUGIN_H */
