/* lstmkit C API: LSTM inference on CPUs from C and from any language with a
 * foreign-function interface.
 *
 * A quick tour:
 *
 *   lstmkit_model_config config;
 *   memset(&config, 0, sizeof config);
 *   config.struct_size = sizeof config;
 *   config.input_size = 3;   (I)
 *   config.hidden_size = 64; (H)
 *   config.num_layers = 2;   (L)
 *   config.output_size = 1;  (O; 0 = no head, the output is the top h)
 *
 *   lstmkit_model* model = NULL;
 *   if (lstmkit_model_create(&config, 42, &model) != LSTMKIT_OK) {
 *     fprintf(stderr, "%s\n", lstmkit_last_error());
 *   }
 *   lstmkit_model_forward(model, x, seq_len, batch, y);
 *   lstmkit_model_free(model);
 *
 * Conventions that hold for every function below:
 *
 * - Errors. Every function returns an lstmkit_status, LSTMKIT_OK (0) on
 *   success, except the *_free functions and the functions that return a
 *   string. On failure the function leaves its outputs unchanged (pointers
 *   it would have set stay as they were) and records a message for
 *   lstmkit_last_error(). NULL pointers, wrong sizes, bad configurations and
 *   bad files are reported this way; no function aborts or lets a C++
 *   exception escape.
 * - Layout. Tensors are contiguous float32 in row-major order. Sequences are
 *   time-major: x[t][b][i] is x[(t * batch + b) * I + i].
 * - Threads. A model can serve any number of threads at once through the
 *   functions that take a const lstmkit_model*; the functions that take a
 *   non-const one (set_threads, set_weight_precision, set_parameter) must not
 *   run while anything else uses that model. A stream is used by one thread
 *   at a time; different streams of one model may step concurrently.
 * - Parameters use PyTorch's nn.LSTM names, shapes and gate order (i, f, g,
 *   o): weight_ih_l{k} [4H][I_k] (I_0 = I, I_k = H for k > 0), weight_hh_l{k}
 *   [4H][H], bias_ih_l{k} [4H], bias_hh_l{k} [4H], and with a head
 *   head.weight [O][H] and head.bias [O].
 * - Versioned structs. Each struct passed in starts with size_t struct_size.
 *   Set it to sizeof the struct (from the header you compiled against) after
 *   zeroing the struct: a zero field takes its default. The library reads
 *   only the first struct_size bytes, so a program built against an older
 *   header keeps working with a newer library (the fields it does not know
 *   about take their defaults), and a newer program works with an older
 *   library as long as the fields that library does not know about are zero
 *   (otherwise LSTMKIT_ERROR_INVALID_ARGUMENT). A struct_size of 0 means the
 *   struct's first published version. Fields are only ever added at the end;
 *   the reserved fields keep the structs free of padding and must be 0.
 */
#ifndef LSTMKIT_LSTMKIT_H_
#define LSTMKIT_LSTMKIT_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define LSTMKIT_C_API
#else
#define LSTMKIT_C_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; lstmkit_version() gives the library's. */
#define LSTMKIT_VERSION_MAJOR 0
#define LSTMKIT_VERSION_MINOR 1
#define LSTMKIT_VERSION_PATCH 0

/* ---- Status codes and errors ------------------------------------------- */

typedef enum lstmkit_status {
  LSTMKIT_OK = 0,
  /* A NULL pointer, a size that does not fit, a value out of range, an
   * unknown parameter name or struct fields this library does not know. */
  LSTMKIT_ERROR_INVALID_ARGUMENT = 1,
  /* A file could not be opened, read or written. */
  LSTMKIT_ERROR_IO = 2,
  /* A file or buffer is not a valid model: damaged, truncated, of another
   * format, or of a newer format version. */
  LSTMKIT_ERROR_BAD_FILE = 3,
  /* Memory ran out, or the sizes asked for are more than can be allocated. */
  LSTMKIT_ERROR_OUT_OF_MEMORY = 4,
  /* Anything else: a bug in lstmkit. The message says what happened. */
  LSTMKIT_ERROR_INTERNAL = 5
} lstmkit_status;

/* The library's version, "MAJOR.MINOR.PATCH". Never NULL. */
LSTMKIT_C_API const char* lstmkit_version(void);

/* A short English name for a status, such as "invalid argument"; "unknown
 * status" for values not listed above. Never NULL; static storage. */
LSTMKIT_C_API const char* lstmkit_status_string(lstmkit_status status);

/* The message of the last call that failed on the calling thread, such as
 * "lstmkit_model_create: config.hidden_size must be in [1, 1048576], got 0",
 * or "" when none has failed yet. Successful calls leave it as it is, so
 * check the status first. Each thread has its own message; the pointer stays
 * valid until the next failing call on the same thread. Never NULL. */
LSTMKIT_C_API const char* lstmkit_last_error(void);

/* ---- Models ------------------------------------------------------------- */

typedef struct lstmkit_model lstmkit_model;

/* Values of lstmkit_model_config.output_activation. */
enum {
  LSTMKIT_OUTPUT_IDENTITY = 0, /* regression */
  LSTMKIT_OUTPUT_SOFTMAX = 1   /* probabilities; needs output_size > 0 */
};

/* Values of lstmkit_model_config.output_steps. */
enum {
  LSTMKIT_OUTPUT_EVERY_STEP = 0, /* forward's y is [seq_len][batch][O] */
  LSTMKIT_OUTPUT_LAST_STEP = 1   /* forward's y is [batch][O] */
};

/* Values of lstmkit_model_config.weight_precision. */
enum {
  LSTMKIT_PRECISION_F32 = 0,
  /* Weight matrices rounded to bfloat16 (to nearest, ties to even) for
   * computing; biases, activations, states and accumulation stay float32, and
   * the parameters read, written and saved stay float32. Faster at small
   * batches, at a small cost in accuracy. */
  LSTMKIT_PRECISION_BF16 = 1
};

/* A model's shape and settings. Zero every field, set struct_size and the
 * sizes; every other zero field takes the default noted beside it. */
typedef struct lstmkit_model_config {
  size_t struct_size;  /* sizeof(lstmkit_model_config) */
  int32_t input_size;  /* I, features per time step; >= 1 */
  int32_t hidden_size; /* H, units per layer; >= 1 */
  int32_t num_layers;  /* L, stacked layers; 0 = 1 */
  int32_t output_size; /* O of a dense head on top; 0 = no head (O = D * P) */
  int32_t num_threads; /* 0 = all cores, 1 = the calling thread only,
                          n = at most n */
  int32_t output_activation; /* LSTMKIT_OUTPUT_IDENTITY (default) or _SOFTMAX */
  int32_t output_steps;      /* LSTMKIT_OUTPUT_EVERY_STEP (default) or
                                _LAST_STEP */
  int32_t weight_precision;  /* LSTMKIT_PRECISION_F32 (default) or _BF16 */
  /* At creation only (reads back as 0): nonzero starts bias_ih's forget
   * block at 1 (bias_hh's at 0) so that the forget gate starts open. */
  int32_t forget_bias_one;
  /* As torch.nn.LSTM's, where this version of the library supports them
   * (otherwise LSTMKIT_ERROR_INVALID_ARGUMENT says so). D below is 2 with
   * bidirectional layers, else 1; P is proj_size, or H without a
   * projection. */
  int32_t bidirectional; /* nonzero: each layer also runs backwards; 0 = no */
  int32_t proj_size;     /* P < H: an LSTMP projection of h; 0 = none */
  int32_t reserved;      /* must be 0 */
} lstmkit_model_config;

/* Creates a model with parameters drawn, as PyTorch does, from
 * U(-1/sqrt(H), 1/sqrt(H)); the same seed gives the same parameters on every
 * machine. On success *out receives the model; free it with
 * lstmkit_model_free. */
LSTMKIT_C_API lstmkit_status lstmkit_model_create(
    const lstmkit_model_config* config, uint64_t seed, lstmkit_model** out);

/* Loads a model file written by lstmkit_model_save (or by lstmkit's C++ API,
 * or a plain safetensors file of a PyTorch nn.LSTM state dict). The whole
 * file is validated before it is used: LSTMKIT_ERROR_IO when it cannot be
 * opened or read, LSTMKIT_ERROR_BAD_FILE when it is damaged or not a model.
 * The loaded model computes in float32 on all cores; see
 * lstmkit_model_set_threads and lstmkit_model_set_weight_precision. */
LSTMKIT_C_API lstmkit_status lstmkit_model_load(const char* path,
                                                lstmkit_model** out);

/* The same from the `size` bytes of a model file at `data`, which the call
 * does not keep. */
LSTMKIT_C_API lstmkit_status lstmkit_model_load_buffer(const void* data,
                                                       size_t size,
                                                       lstmkit_model** out);

/* Writes the model to `path` (a safetensors file holding the config, the
 * parameters in float32 and a checksum). The write is atomic: the bytes go
 * to a temporary file next to `path` that is renamed over it, so a crash
 * leaves either the old file or the new one. */
LSTMKIT_C_API lstmkit_status lstmkit_model_save(const lstmkit_model* model,
                                                const char* path);

/* Values of lstmkit_save_options.file_dtype. */
enum {
  LSTMKIT_FILE_F32 = 0, /* exact */
  LSTMKIT_FILE_BF16 = 1 /* half the size; values rounded to bfloat16 */
};

typedef struct lstmkit_save_options {
  size_t struct_size; /* sizeof(lstmkit_save_options) */
  int32_t file_dtype; /* LSTMKIT_FILE_F32 (default) or LSTMKIT_FILE_BF16 */
  int32_t reserved;   /* must be 0 */
} lstmkit_save_options;

/* lstmkit_model_save with options; NULL options are the defaults. */
LSTMKIT_C_API lstmkit_status
lstmkit_model_save_ex(const lstmkit_model* model, const char* path,
                      const lstmkit_save_options* options);

/* Frees a model. NULL is allowed and does nothing. Free the model's streams
 * first. */
LSTMKIT_C_API void lstmkit_model_free(lstmkit_model* model);

/* Fills the first config->struct_size bytes of *config (struct_size itself
 * is left as the caller set it) with the model's settings. */
LSTMKIT_C_API lstmkit_status lstmkit_model_get_config(
    const lstmkit_model* model, lstmkit_model_config* config);

/* Sets how many threads the model's calls use: 0 = all cores, 1 = the
 * calling thread only, n = at most n. Results are bitwise the same for every
 * thread count. */
LSTMKIT_C_API lstmkit_status lstmkit_model_set_threads(lstmkit_model* model,
                                                       int32_t num_threads);

/* Sets LSTMKIT_PRECISION_F32 or LSTMKIT_PRECISION_BF16 (see above). */
LSTMKIT_C_API lstmkit_status lstmkit_model_set_weight_precision(
    lstmkit_model* model, int32_t weight_precision);

/* O, the width of one step's output: output_size, or without a head the
 * top layer's output, D * P (H for a plain LSTM). */
LSTMKIT_C_API lstmkit_status
lstmkit_model_output_width(const lstmkit_model* model, int32_t* width);

/* The number of floats forward writes to y for a batch of that shape:
 * seq_len * batch * O, or batch * O for an LSTMKIT_OUTPUT_LAST_STEP model. */
LSTMKIT_C_API lstmkit_status lstmkit_model_output_count(
    const lstmkit_model* model, int32_t seq_len, int32_t batch, size_t* count);

/* ---- Batch inference ---------------------------------------------------- */

/* Runs the model over `batch` sequences of `seq_len` steps each, starting
 * from zero states. x is [seq_len][batch][I]; y receives
 * [seq_len][batch][O], or [batch][O] for an LSTMKIT_OUTPUT_LAST_STEP model
 * (lstmkit_model_output_count gives the size); with a softmax head the
 * outputs are probabilities. */
LSTMKIT_C_API lstmkit_status lstmkit_model_forward(const lstmkit_model* model,
                                                   const float* x,
                                                   int32_t seq_len,
                                                   int32_t batch, float* y);

/* Optional inputs and outputs of lstmkit_model_forward_ex; NULL pointers are
 * left out. Hidden states are [L * D][batch][P], cell states
 * [L * D][batch][H], layer by layer with the forward direction first, as in
 * PyTorch; for a plain LSTM both are [L][batch][H]. */
typedef struct lstmkit_forward_options {
  size_t struct_size; /* sizeof(lstmkit_forward_options) */
  /* [batch] lengths, each in [1, seq_len]; NULL: all run seq_len steps. A
   * sequence stops at its length: no compute goes to its padding, its
   * outputs past the end are zero and its final state is the one at its own
   * last step. */
  const int32_t* seq_lens;
  const float* h0; /* initial hidden states; NULL: zeros */
  const float* c0; /* initial cell states; NULL: zeros */
  float* h_n;      /* receives the final hidden states, or NULL */
  float* c_n;      /* receives the final cell states, or NULL */
} lstmkit_forward_options;

/* lstmkit_model_forward with per-sequence lengths, initial states and final
 * states; NULL options make it lstmkit_model_forward. */
LSTMKIT_C_API lstmkit_status lstmkit_model_forward_ex(
    const lstmkit_model* model, const float* x, int32_t seq_len, int32_t batch,
    float* y, const lstmkit_forward_options* options);

/* ---- Parameters --------------------------------------------------------- */

/* The largest rank of a parameter; shapes are written to arrays this long. */
#define LSTMKIT_MAX_RANK 4

/* How many named parameters the model has. */
LSTMKIT_C_API lstmkit_status
lstmkit_model_parameter_count(const lstmkit_model* model, size_t* count);

/* The name of parameter `index` (0 <= index < count), in the order of
 * PyTorch's state dict. *name points into the model and stays valid until
 * the model is freed. */
LSTMKIT_C_API lstmkit_status lstmkit_model_parameter_name(
    const lstmkit_model* model, size_t index, const char** name);

/* The shape of a parameter: *rank dimensions in dims[0..*rank) (dims holds
 * LSTMKIT_MAX_RANK entries; the rest are set to 0), and *count, their
 * product, the number of floats it holds. */
LSTMKIT_C_API lstmkit_status lstmkit_model_parameter_shape(
    const lstmkit_model* model, const char* name, int32_t* rank,
    int64_t dims[LSTMKIT_MAX_RANK], size_t* count);

/* Copies a parameter into values, which holds `count` floats: exactly the
 * parameter's size. */
LSTMKIT_C_API lstmkit_status lstmkit_model_get_parameter(
    const lstmkit_model* model, const char* name, float* values, size_t count);

/* Overwrites a parameter with `count` floats, exactly its size. */
LSTMKIT_C_API lstmkit_status lstmkit_model_set_parameter(lstmkit_model* model,
                                                         const char* name,
                                                         const float* values,
                                                         size_t count);

/* ---- Streams ------------------------------------------------------------ */

/* The recurrent state of one sequence, stepped through a shared model: for
 * services that get a sequence a step (or a few) at a time. Steps apply the
 * head at every step, whatever the model's output_steps says. A stream
 * allocates memory only when it is created: step, chunk, reset and the
 * state functions do not. */
typedef struct lstmkit_stream lstmkit_stream;

/* Creates a stream at the zero state. The model must outlive the stream and
 * must not change while the stream is in use. Bidirectional models have no
 * streams: a step cannot see the future. */
LSTMKIT_C_API lstmkit_status lstmkit_stream_create(const lstmkit_model* model,
                                                   lstmkit_stream** out);

/* One time step: x [I] in, y [O] out. */
LSTMKIT_C_API lstmkit_status lstmkit_stream_step(lstmkit_stream* stream,
                                                 const float* x, float* y);

/* `steps` time steps: x [steps][I] in, y [steps][O] out; the same results as
 * `steps` calls of lstmkit_stream_step. */
LSTMKIT_C_API lstmkit_status lstmkit_stream_chunk(lstmkit_stream* stream,
                                                  int32_t steps, const float* x,
                                                  float* y);

/* Back to the zero state, as at creation. */
LSTMKIT_C_API lstmkit_status lstmkit_stream_reset(lstmkit_stream* stream);

/* The number of floats in the hidden state, L * P, and in the cell state,
 * L * H (both L * H without a projection). */
LSTMKIT_C_API lstmkit_status lstmkit_stream_state_size(
    const lstmkit_stream* stream, size_t* h_count, size_t* c_count);

/* Copies the state after the last step into h [L][P] and c [L][H], which
 * hold h_count and c_count floats (exactly lstmkit_stream_state_size's).
 * Setting it later, on this stream or on another stream of the same model
 * (in this process or another), resumes the sequence exactly. */
LSTMKIT_C_API lstmkit_status
lstmkit_stream_get_state(const lstmkit_stream* stream, float* h, size_t h_count,
                         float* c, size_t c_count);

/* Replaces the state with h [L][P] and c [L][H]. */
LSTMKIT_C_API lstmkit_status lstmkit_stream_set_state(lstmkit_stream* stream,
                                                      const float* h,
                                                      size_t h_count,
                                                      const float* c,
                                                      size_t c_count);

/* Frees a stream. NULL is allowed and does nothing. */
LSTMKIT_C_API void lstmkit_stream_free(lstmkit_stream* stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LSTMKIT_LSTMKIT_H_ */
