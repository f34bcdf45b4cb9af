#include "charlm_data.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "bench_case.h"
#include "input_file.h"
#include "utf8.h"

namespace lstmkit::cli {
namespace {

constexpr int kEvaluationStreams = 16;
constexpr int kEvaluationChunk = 128;

}  // namespace

std::vector<int32_t> EncodeText(const std::u32string& text,
                                const Vocabulary& vocabulary,
                                const std::string& source) {
  std::vector<int32_t> ids(text.size());
  int line = 1, column = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    ids[i] = vocabulary.IdOf(text[i]);
    if (ids[i] < 0) {
      throw std::runtime_error(
          Place(source, line, column) + DescribeCharacter(text[i]) +
          " is not in the model's vocabulary of " +
          std::to_string(vocabulary.size()) + " characters");
    }
    if (text[i] == U'\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return ids;
}

StreamLayout::StreamLayout(int text_length, int streams, int chunk_length)
    : streams_(streams),
      chunk_length_(chunk_length),
      stream_length_((text_length - 1) / streams),
      chunks_(stream_length_ / chunk_length) {
  if (chunks_ < 1) {
    throw UsageError(
        "the text is too short for --batch " + std::to_string(streams) +
        " streams of --bptt " + std::to_string(chunk_length) +
        " characters: " + std::to_string(text_length) + " characters, needs " +
        std::to_string(streams * chunk_length + 1));
  }
}

void StreamLayout::Gather(const std::vector<int32_t>& ids, int chunk,
                          int vocabulary_size, std::vector<float>* x,
                          std::vector<int32_t>* labels) const {
  const size_t steps = static_cast<size_t>(chunk_length_) * streams_;
  x->assign(steps * vocabulary_size, 0.0f);
  labels->resize(steps);
  for (int t = 0; t < chunk_length_; ++t) {
    for (int b = 0; b < streams_; ++b) {
      const size_t at = static_cast<size_t>(b) * stream_length_ +
                        static_cast<size_t>(chunk) * chunk_length_ + t;
      const size_t row = static_cast<size_t>(t) * streams_ + b;
      (*x)[row * vocabulary_size + ids[at]] = 1.0f;
      (*labels)[row] = ids[at + 1];
    }
  }
}

double BitsPerCharacter(const Model& model, const std::vector<int32_t>& ids) {
  const int streams = std::max(
      1, std::min<int>(kEvaluationStreams,
                       static_cast<int>(ids.size() - 1) / kEvaluationChunk));
  const int stream_length = static_cast<int>(ids.size() - 1) / streams;
  const int vocabulary = model.config().input_size;
  const ModelConfig& config = model.config();
  // h has P values per layer and stream (proj_size, or H), c has H.
  const size_t state_size =
      static_cast<size_t>(config.num_layers) * streams * config.hidden_size;
  const size_t h_size =
      config.proj_size > 0
          ? static_cast<size_t>(config.num_layers) * streams * config.proj_size
          : state_size;
  std::vector<float> h(h_size, 0.0f), c(state_size, 0.0f), x;
  double nats = 0;
  long long count = 0;
  Output out;
  for (int first = 0; first < stream_length; first += kEvaluationChunk) {
    const int steps = std::min(kEvaluationChunk, stream_length - first);
    x.assign(static_cast<size_t>(steps) * streams * vocabulary, 0.0f);
    for (int t = 0; t < steps; ++t) {
      for (int b = 0; b < streams; ++b) {
        const size_t at = static_cast<size_t>(b) * stream_length + first + t;
        x[(static_cast<size_t>(t) * streams + b) * vocabulary + ids[at]] = 1.0f;
      }
    }
    Input input;
    input.seq_len = steps;
    input.batch = streams;
    input.x = x;
    input.h0 = h;
    input.c0 = c;
    model.Forward(input, &out);
    for (int t = 0; t < steps; ++t) {
      for (int b = 0; b < streams; ++b) {
        const size_t at = static_cast<size_t>(b) * stream_length + first + t;
        const float p =
            out.y[(static_cast<size_t>(t) * streams + b) * vocabulary +
                  ids[at + 1]];
        nats -= std::log(std::max(p, 1e-30f));
        ++count;
      }
    }
    h = out.h_n;
    c = out.c_n;
  }
  return nats / count / std::log(2.0);
}

}  // namespace lstmkit::cli
