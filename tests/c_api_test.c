/* The C API, compiled as C99 against lstmkit/lstmkit.h alone and linked
 * with liblstmkit.so, as a C program uses it. Every check that fails prints
 * its line and makes the program exit non-zero.
 *
 * Usage: c_api_test <scratch directory> */
#define _POSIX_C_SOURCE 200809L /* pthreads, under -std=c99 */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lstmkit/lstmkit.h"

static int failures = 0;
static int checks = 0;

static void check(int ok, const char* what, int line) {
  ++checks;
  if (!ok) {
    ++failures;
    fprintf(stderr, "c_api_test.c:%d: FAILED: %s\n  last error: %s\n", line,
            what, lstmkit_last_error());
  }
}

#define CHECK(condition) check((condition) != 0, #condition, __LINE__)
#define CHECK_OK(call) check((call) == LSTMKIT_OK, #call, __LINE__)
/* The call fails with `status` and a message that contains `text`. */
#define CHECK_FAILS(call, status, text)                         \
  do {                                                          \
    const lstmkit_status status_ = (call);                      \
    check(status_ == (status), #call " -> " #status, __LINE__); \
    check(strstr(lstmkit_last_error(), (text)) != NULL,         \
          #call ": message contains \"" text "\"", __LINE__);   \
  } while (0)

enum { kInput = 3, kHidden = 7, kLayers = 2, kOutput = 2 };
enum { kSteps = 5, kBatch = 3 };
enum { kStateSize = kLayers * kHidden };

static const char* scratch_dir = ".";

static void scratch_path(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s/%s", scratch_dir, name);
}

/* A deterministic pseudo-random fill in [-1, 1). */
static void fill(float* values, size_t count, unsigned seed) {
  size_t i;
  unsigned state = seed * 2654435761u + 1u;
  for (i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    values[i] = (float)(state >> 8) / 8388608.0f - 1.0f;
  }
}

static int same_floats(const float* a, const float* b, size_t count) {
  return memcmp(a, b, count * sizeof(float)) == 0;
}

static lstmkit_model_config base_config(void) {
  lstmkit_model_config config;
  memset(&config, 0, sizeof config);
  config.struct_size = sizeof config;
  config.input_size = kInput;
  config.hidden_size = kHidden;
  config.num_layers = kLayers;
  config.output_size = kOutput;
  config.num_threads = 1;
  return config;
}

static lstmkit_model* create(const lstmkit_model_config* config,
                             uint64_t seed) {
  lstmkit_model* model = NULL;
  CHECK_OK(lstmkit_model_create(config, seed, &model));
  return model;
}

/* ---- Version, status strings, errors ------------------------------------ */

static void test_version_and_status_strings(void) {
  char header_version[32];
  snprintf(header_version, sizeof header_version, "%d.%d.%d",
           LSTMKIT_VERSION_MAJOR, LSTMKIT_VERSION_MINOR, LSTMKIT_VERSION_PATCH);
  CHECK(strcmp(lstmkit_version(), header_version) == 0);
  CHECK(strcmp(lstmkit_status_string(LSTMKIT_OK), "ok") == 0);
  CHECK(strcmp(lstmkit_status_string(LSTMKIT_ERROR_INVALID_ARGUMENT),
               "invalid argument") == 0);
  CHECK(strcmp(lstmkit_status_string(LSTMKIT_ERROR_IO), "input/output error") ==
        0);
  CHECK(strcmp(lstmkit_status_string(LSTMKIT_ERROR_BAD_FILE),
               "bad model file") == 0);
  CHECK(strcmp(lstmkit_status_string(LSTMKIT_ERROR_OUT_OF_MEMORY),
               "out of memory") == 0);
  CHECK(strcmp(lstmkit_status_string(LSTMKIT_ERROR_INTERNAL),
               "internal error") == 0);
  CHECK(strcmp(lstmkit_status_string((lstmkit_status)99), "unknown status") ==
        0);
}

/* Runs first, on a thread that has not failed yet. */
static void test_last_error_starts_empty_and_survives_success(void) {
  lstmkit_model_config config = base_config();
  lstmkit_model* model;
  CHECK(strcmp(lstmkit_last_error(), "") == 0);
  CHECK_FAILS(lstmkit_model_create(NULL, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT,
              "lstmkit_model_create: config is NULL");
  model = create(&config, 1);
  CHECK(strstr(lstmkit_last_error(), "config is NULL") != NULL);
  lstmkit_model_free(model);
}

/* A failure on another thread leaves this thread's message alone, and a
 * new thread starts with an empty message. */
struct thread_messages {
  char before[256];
  char after[256];
};

static void* fail_on_other_thread(void* arg) {
  struct thread_messages* messages = (struct thread_messages*)arg;
  lstmkit_stream* stream = NULL;
  snprintf(messages->before, sizeof messages->before, "%s",
           lstmkit_last_error());
  lstmkit_stream_create(NULL, &stream);
  snprintf(messages->after, sizeof messages->after, "%s", lstmkit_last_error());
  return NULL;
}

static void test_last_error_is_per_thread(void) {
  struct thread_messages messages;
  pthread_t thread;
  lstmkit_model* model = NULL;
  memset(&messages, 0, sizeof messages);
  CHECK_FAILS(lstmkit_model_load(NULL, &model), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "lstmkit_model_load: path is NULL");
  CHECK(pthread_create(&thread, NULL, fail_on_other_thread, &messages) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(strcmp(messages.before, "") == 0);
  CHECK(strcmp(messages.after, "lstmkit_stream_create: model is NULL") == 0);
  CHECK(strcmp(lstmkit_last_error(), "lstmkit_model_load: path is NULL") == 0);
}

/* ---- Models ---------------------------------------------------------------
 */

static void test_config_defaults_from_zeroed_struct(void) {
  /* memset plus the five fields, struct_size left 0: a valid config. */
  lstmkit_model_config config, read_back;
  lstmkit_model* model;
  int32_t width = 0;
  memset(&config, 0, sizeof config);
  config.input_size = kInput;
  config.hidden_size = kHidden;
  config.num_layers = 0;
  config.output_size = 0;
  config.num_threads = 0;
  model = create(&config, 3);
  if (model == NULL) return;
  memset(&read_back, 0xff, sizeof read_back);
  read_back.struct_size = sizeof read_back;
  CHECK_OK(lstmkit_model_get_config(model, &read_back));
  CHECK(read_back.struct_size == sizeof read_back);
  CHECK(read_back.input_size == kInput);
  CHECK(read_back.hidden_size == kHidden);
  CHECK(read_back.num_layers == 1);
  CHECK(read_back.output_size == 0);
  CHECK(read_back.num_threads == 0);
  CHECK(read_back.output_activation == LSTMKIT_OUTPUT_IDENTITY);
  CHECK(read_back.output_steps == LSTMKIT_OUTPUT_EVERY_STEP);
  CHECK(read_back.weight_precision == LSTMKIT_PRECISION_F32);
  CHECK(read_back.forget_bias_one == 0);
  CHECK(read_back.bidirectional == 0);
  CHECK(read_back.proj_size == 0);
  CHECK(read_back.reserved == 0);
  CHECK_OK(lstmkit_model_output_width(model, &width));
  CHECK(width == kHidden); /* no head: the output is the top layer's h */
  lstmkit_model_free(model);
}

static void test_config_settings_read_back(void) {
  lstmkit_model_config config = base_config(), read_back;
  lstmkit_model* model;
  config.num_threads = 2;
  config.output_activation = LSTMKIT_OUTPUT_SOFTMAX;
  config.output_steps = LSTMKIT_OUTPUT_LAST_STEP;
  config.weight_precision = LSTMKIT_PRECISION_BF16;
  model = create(&config, 3);
  if (model == NULL) return;
  memset(&read_back, 0, sizeof read_back);
  read_back.struct_size = sizeof read_back;
  CHECK_OK(lstmkit_model_get_config(model, &read_back));
  CHECK(read_back.num_threads == 2);
  CHECK(read_back.output_activation == LSTMKIT_OUTPUT_SOFTMAX);
  CHECK(read_back.output_steps == LSTMKIT_OUTPUT_LAST_STEP);
  CHECK(read_back.weight_precision == LSTMKIT_PRECISION_BF16);
  CHECK_OK(lstmkit_model_set_threads(model, 1));
  CHECK_OK(lstmkit_model_set_weight_precision(model, LSTMKIT_PRECISION_F32));
  CHECK_OK(lstmkit_model_get_config(model, &read_back));
  CHECK(read_back.num_threads == 1);
  CHECK(read_back.weight_precision == LSTMKIT_PRECISION_F32);
  lstmkit_model_free(model);
}

/* A program built against a later header passes a bigger struct: accepted
 * while the fields this library does not know are zero. */
static void test_config_struct_size_versions(void) {
  struct {
    lstmkit_model_config known;
    int32_t later_field;
    int32_t later_padding;
  } bigger;
  lstmkit_model* model;
  lstmkit_model_config small = base_config();

  memset(&bigger, 0, sizeof bigger);
  bigger.known = base_config();
  bigger.known.struct_size = sizeof bigger;
  model = create(&bigger.known, 1);
  lstmkit_model_free(model);

  bigger.later_field = 1;
  model = NULL;
  CHECK_FAILS(lstmkit_model_create(&bigger.known, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "does not know");
  CHECK(model == NULL);

  small.struct_size = sizeof(size_t) + 4;
  model = NULL;
  CHECK_FAILS(lstmkit_model_create(&small, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "struct_size");
  CHECK(model == NULL);
}

static void test_bad_configs(void) {
  lstmkit_model* model = NULL;
  lstmkit_model_config config = base_config();
  config.hidden_size = 0;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "hidden_size");
  config = base_config();
  config.input_size = -4;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "input_size");
  config = base_config();
  config.num_layers = -1;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "num_layers");
  config = base_config();
  config.output_size = -1;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "output_size");
  config = base_config();
  config.num_threads = -2;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "num_threads");
  config = base_config();
  config.output_activation = 7;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "output_activation");
  config = base_config();
  config.output_size = 0;
  config.output_activation = LSTMKIT_OUTPUT_SOFTMAX;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "needs a head");
  config = base_config();
  config.output_steps = 2;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "output_steps");
  config = base_config();
  config.weight_precision = 16;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "weight_precision");
  config = base_config();
  config.proj_size = -1;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "proj_size");
  config = base_config();
  config.proj_size = kHidden; /* a projection must be narrower than H */
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "proj_size");
  config = base_config();
  config.reserved = 1;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "reserved");
  config = base_config();
  config.hidden_size = 1 << 30; /* far past the supported sizes */
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "hidden_size");
  config = base_config();
  config.input_size = 1 << 20;
  config.hidden_size = 1 << 20;
  CHECK_FAILS(lstmkit_model_create(&config, 1, &model),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "parameters");
  config = base_config();
  CHECK_FAILS(lstmkit_model_create(&config, 1, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "out is NULL");
  CHECK(model == NULL);
}

static void test_model_setters_reject_bad_values(lstmkit_model* model) {
  CHECK_FAILS(lstmkit_model_set_threads(model, -1),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "num_threads");
  CHECK_FAILS(lstmkit_model_set_threads(NULL, 1),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(lstmkit_model_set_weight_precision(model, 2),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "weight_precision");
  CHECK_FAILS(lstmkit_model_set_weight_precision(NULL, 0),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
}

static void test_model_getters_reject_null(lstmkit_model* model) {
  lstmkit_model_config config;
  int32_t width;
  size_t count;
  memset(&config, 0, sizeof config);
  CHECK_FAILS(lstmkit_model_get_config(NULL, &config),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(lstmkit_model_get_config(model, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "config is NULL");
  config.struct_size = 3;
  CHECK_FAILS(lstmkit_model_get_config(model, &config),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "struct_size");
  CHECK_FAILS(lstmkit_model_output_width(NULL, &width),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(lstmkit_model_output_width(model, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "width is NULL");
  CHECK_FAILS(lstmkit_model_output_count(model, 0, 1, &count),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "seq_len");
  CHECK_FAILS(lstmkit_model_output_count(model, 1, -1, &count),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "batch");
  CHECK_FAILS(lstmkit_model_output_count(model, 1, 1, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "count is NULL");
  CHECK_FAILS(lstmkit_model_output_count(NULL, 1, 1, &count),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
}

static void test_free_accepts_null(void) {
  lstmkit_model_free(NULL);
  lstmkit_stream_free(NULL);
}

/* ---- Forward ----------------------------------------------------------------
 */

/* Softmax rows sum to one; identity outputs do not have to. */
static void test_forward_softmax_rows_sum_to_one(void) {
  lstmkit_model_config config = base_config();
  lstmkit_model* model;
  float x[kSteps * kBatch * kInput], y[kSteps * kBatch * kOutput];
  size_t row, count = 0;
  config.output_activation = LSTMKIT_OUTPUT_SOFTMAX;
  model = create(&config, 5);
  if (model == NULL) return;
  fill(x, sizeof x / sizeof x[0], 1);
  CHECK_OK(lstmkit_model_output_count(model, kSteps, kBatch, &count));
  CHECK(count == kSteps * kBatch * kOutput);
  CHECK_OK(lstmkit_model_forward(model, x, kSteps, kBatch, y));
  for (row = 0; row < kSteps * kBatch; ++row) {
    const float sum = y[row * kOutput] + y[row * kOutput + 1];
    CHECK(fabsf(sum - 1.0f) < 1e-5f && y[row * kOutput] > 0.0f);
  }
  lstmkit_model_free(model);
}

/* The same seed gives the same model; a batch's sequences are independent. */
static void test_forward_is_deterministic_and_per_sequence(void) {
  lstmkit_model_config config = base_config();
  lstmkit_model *a = create(&config, 9), *b = create(&config, 9),
                *c = create(&config, 10);
  float x[kSteps * kBatch * kInput], y_a[kSteps * kBatch * kOutput],
      y_b[kSteps * kBatch * kOutput], y_c[kSteps * kBatch * kOutput];
  float x1[kSteps * kInput], y1[kSteps * kOutput];
  int t;
  if (a == NULL || b == NULL || c == NULL) goto done;
  fill(x, sizeof x / sizeof x[0], 2);
  CHECK_OK(lstmkit_model_forward(a, x, kSteps, kBatch, y_a));
  CHECK_OK(lstmkit_model_forward(b, x, kSteps, kBatch, y_b));
  CHECK_OK(lstmkit_model_forward(c, x, kSteps, kBatch, y_c));
  CHECK(same_floats(y_a, y_b, sizeof y_a / sizeof y_a[0]));
  CHECK(!same_floats(y_a, y_c, sizeof y_a / sizeof y_a[0]));
  /* Sequence 1 of the batch, alone, gives the same outputs. */
  for (t = 0; t < kSteps; ++t) {
    memcpy(x1 + t * kInput, x + (t * kBatch + 1) * kInput,
           kInput * sizeof(float));
  }
  CHECK_OK(lstmkit_model_forward(a, x1, kSteps, 1, y1));
  for (t = 0; t < kSteps; ++t) {
    CHECK(fabsf(y1[t * kOutput] - y_a[(t * kBatch + 1) * kOutput]) < 1e-5f);
  }
done:
  lstmkit_model_free(a);
  lstmkit_model_free(b);
  lstmkit_model_free(c);
}

/* Seq_lens, initial and final states: running the first half, then the
 * second half from the first half's final states, equals the whole. */
static void test_forward_ex_states_and_lengths(lstmkit_model* model) {
  enum { kHalf = 3, kWhole = 2 * kHalf, kStates = kLayers * kBatch * kHidden };
  float x[kWhole * kBatch * kInput], y[kWhole * kBatch * kOutput];
  float y_second[kHalf * kBatch * kOutput];
  float h_mid[kStates], c_mid[kStates], h_n[kStates], c_n[kStates],
      h_end[kStates], c_end[kStates];
  const int32_t full[kBatch] = {kWhole, kWhole, kWhole};
  const int32_t lengths[kBatch] = {kWhole, 2, kWhole};
  lstmkit_forward_options options;
  int i;

  fill(x, sizeof x / sizeof x[0], 3);
  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.h_n = h_n;
  options.c_n = c_n;
  options.seq_lens = full; /* the same as no lengths */
  CHECK_OK(lstmkit_model_forward_ex(model, x, kWhole, kBatch, y, &options));

  options.seq_lens = NULL;
  options.h_n = h_mid;
  options.c_n = c_mid;
  CHECK_OK(
      lstmkit_model_forward_ex(model, x, kHalf, kBatch, y_second, &options));
  options.h0 = h_mid;
  options.c0 = c_mid;
  options.h_n = h_end;
  options.c_n = c_end;
  CHECK_OK(lstmkit_model_forward_ex(model, x + kHalf * kBatch * kInput, kHalf,
                                    kBatch, y_second, &options));
  for (i = 0; i < kHalf * kBatch * kOutput; ++i) {
    CHECK(fabsf(y_second[i] - y[kHalf * kBatch * kOutput + i]) < 1e-5f);
  }
  for (i = 0; i < kStates; ++i) {
    CHECK(fabsf(h_end[i] - h_n[i]) < 1e-5f && fabsf(c_end[i] - c_n[i]) < 1e-5f);
  }

  /* Sequence 1 stops after 2 steps: zeros after, its state from step 2. */
  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.seq_lens = lengths;
  options.h_n = h_end;
  options.c_n = c_end;
  CHECK_OK(lstmkit_model_forward_ex(model, x, kWhole, kBatch, y, &options));
  for (i = 2 * kOutput; i < kWhole * kOutput; ++i) {
    const int t = i / kOutput, unit = i % kOutput;
    CHECK(y[(t * kBatch + 1) * kOutput + unit] == 0.0f);
  }
  options.seq_lens = NULL;
  options.h_n = h_mid;
  options.c_n = c_mid;
  CHECK_OK(lstmkit_model_forward_ex(model, x, 2, kBatch, y_second, &options));
  for (i = 0; i < kLayers * kHidden; ++i) {
    const int layer = i / kHidden, unit = i % kHidden;
    const int at = (layer * kBatch + 1) * kHidden + unit;
    CHECK(fabsf(h_end[at] - h_mid[at]) < 1e-5f &&
          fabsf(c_end[at] - c_mid[at]) < 1e-5f);
  }
  /* NULL options is plain forward. */
  CHECK_OK(lstmkit_model_forward_ex(model, x, kWhole, kBatch, y, NULL));
}

static void test_forward_rejects_bad_arguments(lstmkit_model* model) {
  float x[kSteps * kBatch * kInput], y[kSteps * kBatch * kOutput];
  float h0[kLayers * kBatch * kHidden];
  int32_t lengths[kBatch] = {kSteps, 0, kSteps};
  lstmkit_forward_options options;
  fill(x, sizeof x / sizeof x[0], 4);
  CHECK_FAILS(lstmkit_model_forward(NULL, x, kSteps, kBatch, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(lstmkit_model_forward(model, NULL, kSteps, kBatch, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "x is NULL");
  CHECK_FAILS(lstmkit_model_forward(model, x, kSteps, kBatch, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT,
              "lstmkit_model_forward: y is NULL");
  CHECK_FAILS(lstmkit_model_forward(model, x, 0, kBatch, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "seq_len must be positive");
  CHECK_FAILS(lstmkit_model_forward(model, x, kSteps, -3, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "batch must be positive");
  /* Sizes whose products overflow are refused before any buffer is read. */
  CHECK_FAILS(lstmkit_model_forward(model, x, 2147483647, 2147483647, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "2^31");

  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.h0 = h0;
  CHECK_FAILS(lstmkit_model_forward_ex(model, x, kSteps, kBatch, y, &options),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "lstmkit_model_forward_ex: ");
  CHECK(strstr(lstmkit_last_error(), "h0") != NULL);
  options.h0 = NULL;
  options.seq_lens = lengths;
  CHECK_FAILS(lstmkit_model_forward_ex(model, x, kSteps, kBatch, y, &options),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "seq_lens[1]");
  options.seq_lens = NULL;
  options.struct_size = 1;
  CHECK_FAILS(lstmkit_model_forward_ex(model, x, kSteps, kBatch, y, &options),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "struct_size");
}

/* ---- Parameters --------------------------------------------------------- */

static void test_parameters_by_name(lstmkit_model* model) {
  static const char* const expected_names[] = {
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
      "head.weight",  "head.bias"};
  size_t count = 0, i, size = 0;
  const char* name = NULL;
  int32_t rank = -1;
  int64_t dims[LSTMKIT_MAX_RANK];
  float weights[4 * kHidden * kInput], changed[4 * kHidden * kInput];

  CHECK_OK(lstmkit_model_parameter_count(model, &count));
  CHECK(count == sizeof expected_names / sizeof expected_names[0]);
  for (i = 0; i < count && i < 10; ++i) {
    CHECK_OK(lstmkit_model_parameter_name(model, i, &name));
    CHECK(name != NULL && strcmp(name, expected_names[i]) == 0);
  }
  CHECK_OK(
      lstmkit_model_parameter_shape(model, "weight_ih_l0", &rank, dims, &size));
  CHECK(rank == 2 && dims[0] == 4 * kHidden && dims[1] == kInput &&
        dims[2] == 0 && size == 4 * kHidden * kInput);
  CHECK_OK(
      lstmkit_model_parameter_shape(model, "head.bias", &rank, dims, &size));
  CHECK(rank == 1 && dims[0] == kOutput && dims[1] == 0 && size == kOutput);

  CHECK_OK(lstmkit_model_get_parameter(model, "weight_ih_l0", weights,
                                       sizeof weights / sizeof weights[0]));
  for (i = 0; i < sizeof weights / sizeof weights[0]; ++i) {
    /* PyTorch's initialization: U(-1/sqrt(H), 1/sqrt(H)). */
    CHECK(fabsf(weights[i]) <= 1.0f / sqrtf((float)kHidden));
    changed[i] = weights[i] * 0.5f;
  }
  CHECK_OK(lstmkit_model_set_parameter(model, "weight_ih_l0", changed,
                                       sizeof changed / sizeof changed[0]));
  CHECK_OK(lstmkit_model_get_parameter(model, "weight_ih_l0", weights,
                                       sizeof weights / sizeof weights[0]));
  CHECK(same_floats(weights, changed, sizeof weights / sizeof weights[0]));
}

static void test_parameters_reject_bad_arguments(lstmkit_model* model) {
  float values[4 * kHidden * kInput];
  size_t count, size;
  const char* name = NULL;
  int32_t rank;
  int64_t dims[LSTMKIT_MAX_RANK];
  const size_t n = sizeof values / sizeof values[0];
  memset(values, 0, sizeof values);
  CHECK_FAILS(lstmkit_model_parameter_count(NULL, &count),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(lstmkit_model_parameter_count(model, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "count is NULL");
  CHECK_FAILS(lstmkit_model_parameter_name(model, 10, &name),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "out of range");
  CHECK(name == NULL);
  CHECK_FAILS(lstmkit_model_parameter_name(model, 0, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "name is NULL");
  CHECK_FAILS(
      lstmkit_model_parameter_shape(model, "weight_xx_l0", &rank, dims, &size),
      LSTMKIT_ERROR_INVALID_ARGUMENT, "weight_xx_l0");
  CHECK_FAILS(lstmkit_model_parameter_shape(model, NULL, &rank, dims, &size),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "name is NULL");
  CHECK_FAILS(
      lstmkit_model_parameter_shape(model, "head.bias", NULL, dims, &size),
      LSTMKIT_ERROR_INVALID_ARGUMENT, "rank is NULL");
  CHECK_FAILS(lstmkit_model_get_parameter(model, "weight_ih_l0", values, n - 1),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "count");
  CHECK_FAILS(lstmkit_model_get_parameter(model, "weight_ih_l0", NULL, n),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "values is NULL");
  CHECK_FAILS(lstmkit_model_get_parameter(model, "nope", values, n),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "nope");
  CHECK_FAILS(lstmkit_model_set_parameter(model, "weight_ih_l0", values, n + 1),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "count");
  CHECK_FAILS(lstmkit_model_set_parameter(model, "weight_ih_l0", NULL, n),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "values is NULL");
  CHECK_FAILS(lstmkit_model_set_parameter(NULL, "weight_ih_l0", values, n),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
}

/* ---- Files ------------------------------------------------------------------
 */

static void forward_fixed_input(const lstmkit_model* model, float* y) {
  float x[kSteps * kBatch * kInput];
  fill(x, sizeof x / sizeof x[0], 6);
  CHECK_OK(lstmkit_model_forward(model, x, kSteps, kBatch, y));
}

/* The model loaded from a saved file computes exactly what the original
 * does, from a file and from the file's bytes in memory. */
static void test_save_and_load_round_trip(lstmkit_model* model) {
  char path[1024];
  float y[kSteps * kBatch * kOutput], y_loaded[kSteps * kBatch * kOutput];
  lstmkit_model* loaded = NULL;
  lstmkit_model_config config;
  lstmkit_save_options options;
  FILE* file;
  static unsigned char bytes[1 << 16];
  size_t size;

  scratch_path(path, sizeof path, "c_api_model.safetensors");
  forward_fixed_input(model, y);
  CHECK_OK(lstmkit_model_save(model, path));
  CHECK_OK(lstmkit_model_load(path, &loaded));
  if (loaded == NULL) return;
  memset(&config, 0, sizeof config);
  config.struct_size = sizeof config;
  CHECK_OK(lstmkit_model_get_config(loaded, &config));
  CHECK(config.input_size == kInput && config.hidden_size == kHidden &&
        config.num_layers == kLayers && config.output_size == kOutput);
  forward_fixed_input(loaded, y_loaded);
  CHECK(same_floats(y, y_loaded, sizeof y / sizeof y[0]));
  lstmkit_model_free(loaded);

  file = fopen(path, "rb");
  CHECK(file != NULL);
  if (file == NULL) return;
  size = fread(bytes, 1, sizeof bytes, file);
  fclose(file);
  CHECK(size > 0 && size < sizeof bytes);
  loaded = NULL;
  CHECK_OK(lstmkit_model_load_buffer(bytes, size, &loaded));
  if (loaded == NULL) return;
  forward_fixed_input(loaded, y_loaded);
  CHECK(same_floats(y, y_loaded, sizeof y / sizeof y[0]));
  lstmkit_model_free(loaded);

  /* A bf16 file is smaller and loads to nearly the same model. */
  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.file_dtype = LSTMKIT_FILE_BF16;
  scratch_path(path, sizeof path, "c_api_model_bf16.safetensors");
  CHECK_OK(lstmkit_model_save_ex(model, path, &options));
  loaded = NULL;
  CHECK_OK(lstmkit_model_load(path, &loaded));
  if (loaded == NULL) return;
  forward_fixed_input(loaded, y_loaded);
  {
    size_t i;
    for (i = 0; i < sizeof y / sizeof y[0]; ++i) {
      CHECK(fabsf(y[i] - y_loaded[i]) < 0.05f);
    }
  }
  lstmkit_model_free(loaded);
}

static void write_bytes(const char* path, const unsigned char* bytes,
                        size_t size) {
  FILE* file = fopen(path, "wb");
  CHECK(file != NULL);
  if (file == NULL) return;
  CHECK(fwrite(bytes, 1, size, file) == size);
  fclose(file);
}

static void test_bad_files(lstmkit_model* model) {
  char path[1024], damaged[1024];
  static unsigned char bytes[1 << 16];
  lstmkit_model* loaded = NULL;
  lstmkit_save_options options;
  FILE* file;
  size_t size;

  CHECK_FAILS(lstmkit_model_load("/nonexistent/dir/model.safetensors", &loaded),
              LSTMKIT_ERROR_IO, "/nonexistent/dir/model.safetensors");
  CHECK_FAILS(lstmkit_model_load(scratch_dir, &loaded), LSTMKIT_ERROR_IO,
              "not a regular file");
  CHECK_FAILS(lstmkit_model_load(NULL, &loaded), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "path is NULL");
  CHECK_FAILS(lstmkit_model_load("", &loaded), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "path is empty");

  scratch_path(path, sizeof path, "c_api_original.safetensors");
  CHECK_OK(lstmkit_model_save(model, path));
  CHECK_FAILS(lstmkit_model_load(path, NULL), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "out is NULL");
  file = fopen(path, "rb");
  CHECK(file != NULL);
  if (file == NULL) return;
  size = fread(bytes, 1, sizeof bytes, file);
  fclose(file);

  /* A flipped bit in the parameters: the checksum catches it. */
  scratch_path(damaged, sizeof damaged, "c_api_damaged.safetensors");
  bytes[size - 5] ^= 0x10;
  write_bytes(damaged, bytes, size);
  CHECK_FAILS(lstmkit_model_load(damaged, &loaded), LSTMKIT_ERROR_BAD_FILE,
              "lstmkit_model_load: ");
  bytes[size - 5] ^= 0x10;
  /* Cut short. */
  write_bytes(damaged, bytes, size / 2);
  CHECK_FAILS(lstmkit_model_load(damaged, &loaded), LSTMKIT_ERROR_BAD_FILE, "");
  /* Not a model at all. */
  write_bytes(damaged, (const unsigned char*)"hello", 5);
  CHECK_FAILS(lstmkit_model_load(damaged, &loaded), LSTMKIT_ERROR_BAD_FILE, "");
  write_bytes(damaged, bytes, 0);
  CHECK_FAILS(lstmkit_model_load(damaged, &loaded), LSTMKIT_ERROR_BAD_FILE, "");
  CHECK_FAILS(lstmkit_model_load_buffer(bytes, size - 1, &loaded),
              LSTMKIT_ERROR_BAD_FILE, "lstmkit_model_load_buffer: ");
  CHECK_FAILS(lstmkit_model_load_buffer(NULL, size, &loaded),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "data is NULL");
  CHECK(loaded == NULL);

  CHECK_FAILS(lstmkit_model_save(model, "/nonexistent/dir/model.safetensors"),
              LSTMKIT_ERROR_IO, "/nonexistent/dir");
  CHECK_FAILS(lstmkit_model_save(NULL, path), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "model is NULL");
  CHECK_FAILS(lstmkit_model_save(model, NULL), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "path is NULL");
  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.file_dtype = 3;
  CHECK_FAILS(lstmkit_model_save_ex(model, path, &options),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "file_dtype");
}

/* ---- Streams ----------------------------------------------------------------
 */

/* Batch 1: a stream's steps give bitwise the outputs and final states of
 * forward. */
static void test_stream_steps_equal_forward(lstmkit_model* model) {
  float x[kSteps * kInput], y[kSteps * kOutput], y_step[kOutput];
  float h_n[kStateSize], c_n[kStateSize], h[kStateSize], c[kStateSize];
  lstmkit_forward_options options;
  lstmkit_stream* stream = NULL;
  size_t h_size = 0, c_size = 0;
  int t;

  fill(x, sizeof x / sizeof x[0], 7);
  memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.h_n = h_n;
  options.c_n = c_n;
  CHECK_OK(lstmkit_model_forward_ex(model, x, kSteps, 1, y, &options));
  CHECK_OK(lstmkit_stream_create(model, &stream));
  if (stream == NULL) return;
  CHECK_OK(lstmkit_stream_state_size(stream, &h_size, &c_size));
  CHECK(h_size == kStateSize && c_size == kStateSize);
  for (t = 0; t < kSteps; ++t) {
    CHECK_OK(lstmkit_stream_step(stream, x + t * kInput, y_step));
    CHECK(same_floats(y_step, y + t * kOutput, kOutput));
  }
  CHECK_OK(lstmkit_stream_get_state(stream, h, kStateSize, c, kStateSize));
  CHECK(same_floats(h, h_n, kStateSize) && same_floats(c, c_n, kStateSize));
  lstmkit_stream_free(stream);
}

/* Chunks equal steps; reset returns to the start; a saved state resumes
 * the sequence on another stream. */
static void test_stream_chunk_reset_and_state(lstmkit_model* model) {
  enum { kFirst = 2 };
  float x[kSteps * kInput], y_chunk[kSteps * kOutput],
      y_steps[kSteps * kOutput];
  float y_resumed[kSteps * kOutput], h[kStateSize], c[kStateSize];
  lstmkit_stream *stream = NULL, *other = NULL;
  int t;

  fill(x, sizeof x / sizeof x[0], 8);
  CHECK_OK(lstmkit_stream_create(model, &stream));
  CHECK_OK(lstmkit_stream_create(model, &other));
  if (stream == NULL || other == NULL) goto done;
  CHECK_OK(lstmkit_stream_chunk(stream, kSteps, x, y_chunk));
  CHECK_OK(lstmkit_stream_reset(stream));
  for (t = 0; t < kSteps; ++t) {
    CHECK_OK(
        lstmkit_stream_step(stream, x + t * kInput, y_steps + t * kOutput));
  }
  CHECK(same_floats(y_chunk, y_steps, kSteps * kOutput));

  CHECK_OK(lstmkit_stream_reset(stream));
  CHECK_OK(lstmkit_stream_chunk(stream, kFirst, x, y_resumed));
  CHECK_OK(lstmkit_stream_get_state(stream, h, kStateSize, c, kStateSize));
  CHECK_OK(lstmkit_stream_set_state(other, h, kStateSize, c, kStateSize));
  CHECK_OK(lstmkit_stream_chunk(other, kSteps - kFirst, x + kFirst * kInput,
                                y_resumed + kFirst * kOutput));
  CHECK(same_floats(y_resumed, y_steps, kSteps * kOutput));
done:
  lstmkit_stream_free(stream);
  lstmkit_stream_free(other);
}

static void test_stream_rejects_bad_arguments(lstmkit_model* model) {
  float x[kInput * 2], y[kOutput * 2], h[kStateSize], c[kStateSize];
  lstmkit_stream* stream = NULL;
  size_t count;
  memset(x, 0, sizeof x);
  CHECK_FAILS(lstmkit_stream_create(NULL, &stream),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(lstmkit_stream_create(model, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "out is NULL");
  CHECK_OK(lstmkit_stream_create(model, &stream));
  if (stream == NULL) return;
  CHECK_FAILS(lstmkit_stream_step(NULL, x, y), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "lstmkit_stream_step: stream is NULL");
  CHECK_FAILS(lstmkit_stream_step(stream, NULL, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "x is NULL");
  CHECK_FAILS(lstmkit_stream_step(stream, x, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "y is NULL");
  CHECK_FAILS(lstmkit_stream_chunk(stream, 0, x, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT,
              "lstmkit_stream_chunk: steps must be positive");
  CHECK_FAILS(lstmkit_stream_chunk(stream, -1, x, y),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "steps");
  CHECK_FAILS(lstmkit_stream_reset(NULL), LSTMKIT_ERROR_INVALID_ARGUMENT,
              "stream is NULL");
  CHECK_FAILS(lstmkit_stream_state_size(NULL, &count, &count),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "stream is NULL");
  CHECK_FAILS(lstmkit_stream_state_size(stream, NULL, &count),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "h_count is NULL");
  CHECK_FAILS(lstmkit_stream_state_size(stream, &count, NULL),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "c_count is NULL");
  CHECK_FAILS(
      lstmkit_stream_get_state(stream, h, kStateSize - 1, c, kStateSize),
      LSTMKIT_ERROR_INVALID_ARGUMENT, "h_count");
  CHECK_FAILS(
      lstmkit_stream_get_state(stream, h, kStateSize, c, kStateSize + 1),
      LSTMKIT_ERROR_INVALID_ARGUMENT, "c_count");
  CHECK_FAILS(lstmkit_stream_get_state(stream, NULL, kStateSize, c, kStateSize),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "h is NULL");
  CHECK_FAILS(lstmkit_stream_get_state(NULL, h, kStateSize, c, kStateSize),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "stream is NULL");
  CHECK_FAILS(lstmkit_stream_set_state(stream, h, kStateSize, NULL, kStateSize),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "c is NULL");
  CHECK_FAILS(lstmkit_stream_set_state(stream, h, 0, c, kStateSize),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "h_count");
  CHECK_FAILS(lstmkit_stream_set_state(NULL, h, kStateSize, c, kStateSize),
              LSTMKIT_ERROR_INVALID_ARGUMENT, "stream is NULL");
  lstmkit_stream_free(stream);
}

/* Streams of one model step concurrently, each on its own thread, and each
 * gets what it gets alone. */
enum { kStreamThreads = 4 };

struct stream_job {
  const lstmkit_model* model;
  float x[kSteps * kInput];
  float y[kSteps * kOutput];
  lstmkit_status status;
};

static void* run_stream_job(void* arg) {
  struct stream_job* job = (struct stream_job*)arg;
  lstmkit_stream* stream = NULL;
  int round;
  job->status = lstmkit_stream_create(job->model, &stream);
  for (round = 0; round < 50 && job->status == LSTMKIT_OK; ++round) {
    job->status = lstmkit_stream_reset(stream);
    if (job->status == LSTMKIT_OK) {
      job->status = lstmkit_stream_chunk(stream, kSteps, job->x, job->y);
    }
  }
  lstmkit_stream_free(stream);
  return NULL;
}

static void test_streams_step_concurrently(lstmkit_model* model) {
  static struct stream_job jobs[kStreamThreads];
  pthread_t threads[kStreamThreads];
  float expected[kSteps * kOutput];
  int i;
  for (i = 0; i < kStreamThreads; ++i) {
    jobs[i].model = model;
    fill(jobs[i].x, kSteps * kInput, 20 + (unsigned)i);
    CHECK(pthread_create(&threads[i], NULL, run_stream_job, &jobs[i]) == 0);
  }
  for (i = 0; i < kStreamThreads; ++i) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(jobs[i].status == LSTMKIT_OK);
    CHECK_OK(lstmkit_model_forward(model, jobs[i].x, kSteps, 1, expected));
    CHECK(same_floats(jobs[i].y, expected, kSteps * kOutput));
  }
}

/* A step cannot see the future: a bidirectional model has no streams,
 * whether or not this version of the library makes bidirectional models. */
static void test_bidirectional_models_have_no_streams(void) {
  lstmkit_model_config config = base_config();
  lstmkit_model* model = NULL;
  lstmkit_stream* stream = NULL;
  lstmkit_status status;
  config.bidirectional = 1;
  status = lstmkit_model_create(&config, 1, &model);
  CHECK(status == LSTMKIT_OK || status == LSTMKIT_ERROR_INVALID_ARGUMENT);
  if (status == LSTMKIT_OK) {
    CHECK(lstmkit_stream_create(model, &stream) ==
          LSTMKIT_ERROR_INVALID_ARGUMENT);
    CHECK(stream == NULL);
  }
  CHECK(strstr(lstmkit_last_error(), "bidirectional") != NULL);
  lstmkit_model_free(model);
}

/* A bf16 model stays close to its f32 self, in batches and in streams. */
static void test_bf16_weights(void) {
  lstmkit_model_config config = base_config();
  lstmkit_model *f32 = create(&config, 11), *bf16;
  float x[kSteps * kInput], y[kSteps * kOutput], y_bf16[kSteps * kOutput];
  lstmkit_stream* stream = NULL;
  int i;
  config.weight_precision = LSTMKIT_PRECISION_BF16;
  bf16 = create(&config, 11);
  if (f32 == NULL || bf16 == NULL) goto done;
  fill(x, sizeof x / sizeof x[0], 9);
  CHECK_OK(lstmkit_model_forward(f32, x, kSteps, 1, y));
  CHECK_OK(lstmkit_model_forward(bf16, x, kSteps, 1, y_bf16));
  CHECK(!same_floats(y, y_bf16, kSteps * kOutput));
  for (i = 0; i < kSteps * kOutput; ++i) {
    CHECK(fabsf(y[i] - y_bf16[i]) < 0.02f);
  }
  CHECK_OK(lstmkit_stream_create(bf16, &stream));
  CHECK_OK(lstmkit_stream_chunk(stream, kSteps, x, y));
  CHECK(same_floats(y, y_bf16, kSteps * kOutput));
done:
  lstmkit_stream_free(stream);
  lstmkit_model_free(f32);
  lstmkit_model_free(bf16);
}

static void test_model(void) {
  lstmkit_model_config config = base_config();
  lstmkit_model* model = create(&config, 42);
  if (model == NULL) return;
  test_model_setters_reject_bad_values(model);
  test_model_getters_reject_null(model);
  test_forward_ex_states_and_lengths(model);
  test_forward_rejects_bad_arguments(model);
  test_save_and_load_round_trip(model);
  test_bad_files(model);
  test_stream_steps_equal_forward(model);
  test_stream_chunk_reset_and_state(model);
  test_stream_rejects_bad_arguments(model);
  test_streams_step_concurrently(model);
  test_parameters_by_name(model);
  test_parameters_reject_bad_arguments(model);
  lstmkit_model_free(model);
}

int main(int argc, char** argv) {
  if (argc > 1) scratch_dir = argv[1];
  test_last_error_starts_empty_and_survives_success();
  test_last_error_is_per_thread();
  test_version_and_status_strings();
  test_config_defaults_from_zeroed_struct();
  test_config_settings_read_back();
  test_config_struct_size_versions();
  test_bad_configs();
  test_free_accepts_null();
  test_forward_softmax_rows_sum_to_one();
  test_forward_is_deterministic_and_per_sequence();
  test_bf16_weights();
  test_bidirectional_models_have_no_streams();
  test_model();
  if (failures != 0) {
    fprintf(stderr, "c_api_test: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("c_api_test: all %d checks passed\n", checks);
  return 0;
}
