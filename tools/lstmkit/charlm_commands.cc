#include "charlm_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_case.h"
#include "charlm_data.h"
#include "charlm_training.h"
#include "input_file.h"
#include "interrupt.h"
#include "progress.h"
#include "sampler.h"
#include "training_flags.h"
#include "utf8.h"
#include "vocabulary.h"

namespace lstmkit::cli {
namespace {

constexpr char kDefaultCorpus[] = LSTMKIT_DATA_DIR "/devils_dictionary.txt";

constexpr char kTrainFooter[] = R"(
The vocabulary is every character of the file, stored in the model. The
last --validation of the text is held out: its bits per character are
reported after each epoch and choose the model that is kept.

Examples:
  lstmkit train charlm --time-limit 120 --model devil.lstm
  lstmkit train charlm --data my_text.txt --hidden 256 --epochs 30 --model my.lstm)";

struct CharLmFlags {
  TrainingFlags training;
  std::string data_path = kDefaultCorpus;
  double validation = 0.1;
  int bptt = 64;
};

std::string Fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

std::u32string ReadUtf8File(const std::string& path) {
  return DecodeUtf8(ReadInputFile(path), path);
}

int RunTrainCharLm(CharLmFlags& flags, CommandIo& io) {
  ValidateTrainingFlags(&flags.training);
  if (!(flags.validation >= 0 && flags.validation < 1)) {
    throw UsageError("--validation must be a fraction in [0, 1), got " +
                     Fixed(flags.validation, 3));
  }
  if (flags.bptt < 1) throw UsageError("--bptt must be at least 1");
  const std::u32string text = ReadUtf8File(flags.data_path);
  const Vocabulary vocabulary = Vocabulary::FromText(text);
  const std::vector<int32_t> ids =
      EncodeText(text, vocabulary, flags.data_path);
  const size_t held_out = static_cast<size_t>(ids.size() * flags.validation);
  const std::vector<int32_t> train(ids.begin(), ids.end() - held_out);
  const std::vector<int32_t> validation(ids.end() - held_out, ids.end());
  io.out << "character model of " << flags.data_path << ": " << ids.size()
         << " characters, " << vocabulary.size() << " distinct\n"
         << "  train      the first " << train.size() << " characters\n";
  if (held_out > 0) {
    io.out << "  held out   the last " << held_out << " ("
           << Fixed(100 * flags.validation, 0) << " %)\n";
  }
  io.out << std::flush;

  CharLmJob job;
  job.settings = {{"vocabulary", vocabulary.ToJson()},
                  {"bptt", flags.bptt},
                  {"validation", flags.validation}};
  job.train = &train;
  job.validation = &validation;
  job.bptt = flags.bptt;
  const ModelConfig config =
      ModelConfigFromFlags(flags.training, vocabulary.size(), vocabulary.size(),
                           OutputActivation::kSoftmax, OutputSteps::kEveryStep);
  Model model(config, InitOptions{flags.training.seed});
  const auto start = std::chrono::steady_clock::now();
  const TrainingOutcome outcome = TrainCharLm(&model, job, flags.training, io);
  if (outcome.interrupted) return kExitInterrupted;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  io.out << "\n"
         << outcome.stop_reason << " after " << FormatDuration(seconds)
         << "; kept the model of epoch " << outcome.best_epoch << ", saved to "
         << flags.training.model_path << "\n";
  if (validation.size() > 1) {
    io.out << "held-out bits per character: "
           << Fixed(BitsPerCharacter(model, validation), 3) << " (the last "
           << validation.size() << " characters)\n";
  }
  WriteLossCurve(outcome.curve, flags.training, "Bits per character", io);
  return kExitOk;
}

Vocabulary ModelVocabulary(const TaskModel& model, const std::string& path) {
  try {
    return Vocabulary::FromJson(model.settings.at("vocabulary"));
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": the model's vocabulary is damaged (" +
                             e.what() + ")");
  }
}

struct GenerateFlags {
  std::string model_path;
  std::string prompt = "The ";
  int length = 400;
  double temperature = 0.8;
  int top_k = 0;
  uint64_t seed = 1;
  int threads = 1;
};

// The prompt's character ids; every character must be in the vocabulary.
std::vector<int32_t> PromptIds(const std::string& prompt,
                               const Vocabulary& vocabulary) {
  const std::u32string text = DecodeUtf8(prompt, "--prompt");
  if (text.empty()) throw UsageError("--prompt must not be empty");
  std::vector<int32_t> ids;
  for (size_t i = 0; i < text.size(); ++i) {
    const int id = vocabulary.IdOf(text[i]);
    if (id < 0) {
      throw UsageError("--prompt: " + DescribeCharacter(text[i]) +
                       ", character " + std::to_string(i + 1) +
                       ", is not in the model's vocabulary of " +
                       std::to_string(vocabulary.size()) + " characters");
    }
    ids.push_back(id);
  }
  return ids;
}

int RunGenerate(const GenerateFlags& flags, CommandIo& io) {
  if (flags.length < 0) throw UsageError("--length must be at least 0");
  if (!(flags.temperature > 0) || !std::isfinite(flags.temperature)) {
    throw UsageError("--temperature must be a positive number");
  }
  if (flags.top_k < 0) throw UsageError("--top-k must be at least 0 (0 = all)");
  TaskModel model =
      LoadTaskModel(flags.model_path, Task::kCharLm, "lstmkit generate");
  model.model.set_threads(flags.threads);
  const Vocabulary vocabulary = ModelVocabulary(model, flags.model_path);
  const std::vector<int32_t> prompt = PromptIds(flags.prompt, vocabulary);
  Stream stream(model.model);
  std::vector<float> x(vocabulary.size(), 0.0f), y(vocabulary.size());
  auto feed = [&](int32_t id) {
    x[id] = 1.0f;
    stream.Step(x, y);
    x[id] = 0.0f;
  };
  for (int32_t id : prompt) feed(id);
  Sampler sampler(flags.temperature, flags.top_k, flags.seed);
  std::u32string generated;
  for (int i = 0; i < flags.length; ++i) {
    const int id = sampler.Sample(y);
    generated += vocabulary.SymbolOf(id);
    feed(id);
  }
  io.out << flags.prompt << EncodeUtf8(generated) << "\n";
  return kExitOk;
}

}  // namespace

Command AddTrainCharLmCommand(CLI::App* train) {
  CLI::App* app = train->add_subcommand(
      "charlm", "Train a character language model on a UTF-8 text file");
  auto flags = std::make_shared<CharLmFlags>();
  flags->training.hidden = 128;
  flags->training.epochs = 20;
  flags->training.batch = 16;
  flags->training.learning_rate = 0.01f;
  flags->training.patience = 3;
  app->add_option("--data", flags->data_path, "a UTF-8 text file")
      ->capture_default_str();
  app->add_option("--validation", flags->validation,
                  "the fraction at the end of the text held out")
      ->capture_default_str();
  app->add_option("--bptt", flags->bptt,
                  "characters per chunk of truncated backpropagation through "
                  "time (the state carries on across chunks)")
      ->capture_default_str();
  AddTrainingFlags(app, &flags->training);
  RefuseBidirectionalFlag(
      app,
      "`lstmkit generate` feeds a character model one character at a "
      "time through a stream, and streams run forward only");
  app->footer(kTrainFooter);
  return {app, [flags](CommandIo& io) { return RunTrainCharLm(*flags, io); }};
}

Command AddGenerateCommand(CLI::App* parent) {
  CLI::App* app =
      parent->add_subcommand("generate", "Write text with a charlm model");
  auto flags = std::make_shared<GenerateFlags>();
  app->add_option("--model,-m", flags->model_path,
                  "a model from 'lstmkit train charlm'")
      ->required();
  app->add_option("--prompt", flags->prompt, "the text to continue")
      ->capture_default_str();
  app->add_option("--length", flags->length, "characters to write")
      ->capture_default_str();
  app->add_option("--temperature", flags->temperature,
                  "below 1: safer choices; above 1: wilder ones")
      ->capture_default_str();
  app->add_option("--top-k", flags->top_k,
                  "choose among the k likeliest characters only; 0 = all")
      ->capture_default_str();
  app->add_option("--seed", flags->seed, "the same seed writes the same text")
      ->capture_default_str();
  app->add_option("--threads", flags->threads, "threads to use; 0 = all cores")
      ->capture_default_str();
  app->footer(R"(
Examples:
  lstmkit generate --model devil.lstm --prompt "LAWYER, n. " --length 300
  lstmkit generate --model devil.lstm --temperature 0.5 --top-k 5 --seed 7)");
  return {app, [flags](CommandIo& io) { return RunGenerate(*flags, io); }};
}

int EvalCharLm(const TaskModel& model, const UseFlags& flags, CommandIo& io) {
  if (!(flags.tail > 0 && flags.tail <= 1)) {
    throw UsageError("--tail must be a fraction in (0, 1], got " +
                     Fixed(flags.tail, 3));
  }
  const Vocabulary vocabulary = ModelVocabulary(model, flags.model_path);
  const std::u32string text = ReadUtf8File(flags.data_path);
  const std::vector<int32_t> ids =
      EncodeText(text, vocabulary, flags.data_path);
  // Truncated as training truncates its held-out count, so that --tail
  // matching --validation measures the same characters.
  const size_t count = static_cast<size_t>(ids.size() * flags.tail);
  if (count < 2) {
    throw std::runtime_error(flags.data_path +
                             ": too little text to measure (fewer than 2 "
                             "characters in --tail)");
  }
  const std::vector<int32_t> measured(ids.end() - count, ids.end());
  io.out << "bits per character: "
         << Fixed(BitsPerCharacter(model.model, measured), 3)
         << " over the last " << count << " characters of " << flags.data_path
         << "\n";
  return kExitOk;
}

}  // namespace lstmkit::cli
