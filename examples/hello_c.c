/* hello_c: the smallest complete lstmkit program in C. It creates a model,
 * runs one sequence through it as a batch and again step by step through a
 * stream, and prints both: a stream computes exactly what forward does. */
#include <stdio.h>
#include <string.h>

#include "lstmkit/lstmkit.h"

#define STEPS 6
#define FEATURES 2

/* Prints the failure and says whether there was one. */
static int failed(lstmkit_status status) {
  if (status == LSTMKIT_OK) return 0;
  fprintf(stderr, "%s: %s\n", lstmkit_status_string(status),
          lstmkit_last_error());
  return 1;
}

static int run(lstmkit_model* model, lstmkit_stream* stream) {
  float x[STEPS * FEATURES];
  float batch_y[STEPS];
  int t;
  int mismatches = 0;
  for (t = 0; t < STEPS; ++t) {
    x[t * FEATURES] = 0.1f * (float)t;
    x[t * FEATURES + 1] = 1.0f - 0.1f * (float)t;
  }
  if (failed(lstmkit_model_forward(model, x, STEPS, 1, batch_y))) return 1;
  for (t = 0; t < STEPS; ++t) {
    float y;
    if (failed(lstmkit_stream_step(stream, x + t * FEATURES, &y))) return 1;
    printf("step %d   forward %+.6f   stream %+.6f\n", t, batch_y[t], y);
    if (y != batch_y[t]) ++mismatches;
  }
  return mismatches == 0 ? 0 : 1;
}

int main(void) {
  lstmkit_model_config config;
  lstmkit_model* model = NULL;
  lstmkit_stream* stream = NULL;
  int result = 1;

  memset(&config, 0, sizeof config);
  config.struct_size = sizeof config;
  config.input_size = FEATURES;
  config.hidden_size = 16;
  config.num_layers = 2;
  config.output_size = 1;
  printf("lstmkit %s (C API)\n", lstmkit_version());
  if (!failed(lstmkit_model_create(&config, 7, &model)) &&
      !failed(lstmkit_stream_create(model, &stream))) {
    result = run(model, stream);
  }
  lstmkit_stream_free(stream);
  lstmkit_model_free(model);
  return result;
}
