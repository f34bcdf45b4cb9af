// Text as a character language model sees it: character ids, one-hot
// inputs, and the truncated-BPTT layout in which each of B streams reads its
// own contiguous slice of the text, chunk after chunk, carrying its state.
#ifndef LSTMKIT_TOOLS_LSTMKIT_CHARLM_DATA_H_
#define LSTMKIT_TOOLS_LSTMKIT_CHARLM_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lstmkit/lstmkit.hpp"
#include "vocabulary.h"

namespace lstmkit::cli {

// The ids of a text's characters. A character outside the vocabulary throws
// "SOURCE:LINE:COLUMN: 'x' (U+0078) is not in the model's vocabulary".
std::vector<int32_t> EncodeText(const std::u32string& text,
                                const Vocabulary& vocabulary,
                                const std::string& source);

// Streams over a text: stream b reads ids[b * length, (b + 1) * length] and
// predicts each next character; chunk k covers steps [k * T, (k + 1) * T).
class StreamLayout {
 public:
  StreamLayout(int text_length, int streams, int chunk_length);
  int streams() const { return streams_; }
  int chunk_length() const { return chunk_length_; }
  int chunks() const { return chunks_; }

  // One-hot inputs x [T][B][V] and the labels [T][B] of chunk k.
  void Gather(const std::vector<int32_t>& ids, int chunk, int vocabulary_size,
              std::vector<float>* x, std::vector<int32_t>* labels) const;

 private:
  int streams_;
  int chunk_length_;
  int stream_length_;
  int chunks_;
};

// Bits per character of `ids`: the mean of -log2 p(next character), read by
// up to 16 streams with their states carried across chunks.
double BitsPerCharacter(const Model& model, const std::vector<int32_t>& ids);

}  // namespace lstmkit::cli

#endif  // LSTMKIT_TOOLS_LSTMKIT_CHARLM_DATA_H_
