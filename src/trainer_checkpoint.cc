// Trainer checkpoints: saving and restoring everything a run needs to go on
// exactly where it stopped.
#include "atomic_file.h"
#include "byte_source.h"
#include "check.h"
#include "checkpoint_file.h"
#include "model_file.h"
#include "training_progress.h"

namespace lstmkit {

using internal::Require;

namespace {

bool SameConfig(const ModelConfig& a, const ModelConfig& b) {
  return a.input_size == b.input_size && a.hidden_size == b.hidden_size &&
         a.num_layers == b.num_layers && a.output_size == b.output_size &&
         a.output_activation == b.output_activation &&
         a.output_steps == b.output_steps &&
         a.bidirectional == b.bidirectional && a.proj_size == b.proj_size &&
         a.dropout == b.dropout && a.batch_first == b.batch_first;
}

const char* KindName(OptimizerConfig::Kind kind) {
  return kind == OptimizerConfig::Kind::kSgd ? "sgd" : "adam";
}

}  // namespace

void Trainer::SaveCheckpoint(const std::string& path,
                             const FileMetadata& metadata) const {
  Require(!path.empty(), "path must not be empty");
  internal::CheckpointContents c;
  c.config = model_->config();
  const Span<const float> parameters = model_->parameters();
  c.parameters.assign(parameters.begin(), parameters.end());
  c.optimizer_config = optimizer_.config();
  c.optimizer_state = optimizer_.state();
  c.batch_size = config_.batch_size;
  c.shuffle_state = shuffle_state_;
  c.progress = *progress_;
  c.extra_metadata = metadata;
  const std::vector<uint8_t> bytes = internal::EncodeCheckpoint(c);
  internal::WriteFileAtomically(path, bytes.data(), bytes.size());
}

void Trainer::LoadCheckpoint(const std::string& path, FileMetadata* metadata) {
  internal::FileSource source(path);
  internal::CheckpointContents c = internal::DecodeCheckpoint(source);
  Require(SameConfig(c.config, model_->config()), path,
          ": the checkpoint's model (", internal::DescribeConfig(c.config),
          ") is not this trainer's (",
          internal::DescribeConfig(model_->config()), ")");
  Require(c.optimizer_config.kind == optimizer_.config().kind, path,
          ": the checkpoint's optimizer is ", KindName(c.optimizer_config.kind),
          ", this trainer's ", KindName(optimizer_.config().kind));
  Require(c.batch_size == config_.batch_size, path,
          ": the checkpoint was taken with batch_size ", c.batch_size,
          ", this trainer has ", config_.batch_size,
          "; its position counts batches of that size");
  Require(!c.progress.in_run || c.progress.epoch <= config_.epochs, path,
          ": the checkpoint is in epoch ", c.progress.epoch,
          ", beyond this trainer's config.epochs = ", config_.epochs);
  // Checked on a fresh optimizer, so that a state that does not fit leaves
  // this trainer as it was.
  Optimizer restored(optimizer_.config());
  restored.set_state(std::move(c.optimizer_state));
  Require(c.parameters.size() == model_->parameters().size(),
          "internal error: the checkpoint's parameters do not fit the model");
  std::copy(c.parameters.begin(), c.parameters.end(),
            model_->parameters().begin());
  model_->parameters_changed();
  optimizer_ = std::move(restored);
  shuffle_state_ = c.shuffle_state;
  *progress_ = std::move(c.progress);
  progress_->stopped = false;
  if (metadata != nullptr) *metadata = std::move(c.extra_metadata);
}

bool Trainer::stopped() const { return progress_->stopped; }

TrainingPosition Trainer::position() const {
  TrainingPosition position;
  if (progress_->in_run) {
    position.epoch = progress_->epoch;
    position.batch = progress_->next_batch;
  }
  position.steps = optimizer_.steps();
  return position;
}

void Trainer::SaveCheckpointIfDue(bool stopping) {
  if (config_.checkpoint_path.empty()) return;
  const bool scheduled = config_.checkpoint_every > 0 &&
                         optimizer_.steps() % config_.checkpoint_every == 0;
  if (scheduled || stopping) SaveCheckpoint(config_.checkpoint_path);
}

}  // namespace lstmkit
