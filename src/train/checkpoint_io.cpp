#include "checkpoint_io.h"

#include "jeffreys/core/atomic_file.h"

#include <filesystem>
#include <sstream>

namespace jeffreys::train::detail {

void write_model(torch::serialize::OutputArchive& a, const std::string& prefix, const torch::nn::Module* m,
                 const FlatParameters& p, const FlatAdam& opt) {
  if (p.numel() > 0) {
    a.write(prefix + "/values", p.values());
    a.write(prefix + "/exp_avg", opt.exp_avg);
    a.write(prefix + "/exp_avg_sq", opt.exp_avg_sq);
    a.write(prefix + "/adam_step", torch::tensor(opt.step_count));
  }
  if (m != nullptr)
    for (const auto& b : m->named_buffers()) a.write(prefix + "/buffer/" + b.key(), b.value(), /*is_buffer=*/true);
}

CheckpointReader::CheckpointReader(std::string path) : path_(std::move(path)) {
  if (!std::filesystem::exists(path_)) throw CheckpointError("checkpoint '" + path_ + "' does not exist");
  try {
    a_.load_from(path_);
  } catch (const c10::Error& e) {
    throw CheckpointError("cannot read checkpoint '" + path_ + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw CheckpointError("cannot read checkpoint '" + path_ + "': " + e.what());
  }
}

void CheckpointReader::fail(const std::string& what) const { throw CheckpointError("checkpoint '" + path_ + "': " + what); }

torch::Tensor CheckpointReader::read(const std::string& key) {
  torch::Tensor t;
  if (!a_.try_read(key, t)) fail("missing entry '" + key + "'");
  return t;
}

void CheckpointReader::assign(torch::Tensor& dst, const std::string& key) {
  auto src = read(key);
  if (dst.sizes() != src.sizes())
    fail("entry '" + key + "' has shape " + c10::str(src.sizes()) + ", the model has " + c10::str(dst.sizes()));
  torch::NoGradGuard g;
  dst.copy_(src);
}

void CheckpointReader::read_model(const std::string& prefix, torch::nn::Module* m, FlatParameters& p, FlatAdam& opt) {
  if (p.numel() > 0) {
    assign(p.values(), prefix + "/values");
    assign(opt.exp_avg, prefix + "/exp_avg");
    assign(opt.exp_avg_sq, prefix + "/exp_avg_sq");
    opt.step_count = read(prefix + "/adam_step").item<int64_t>();
  }
  if (m != nullptr)
    for (auto& b : m->named_buffers()) assign(b.value(), prefix + "/buffer/" + b.key());
}

void CheckpointReader::load_state(constrained::PrimalDual& primal_dual) {
  try {
    primal_dual.load(a_);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  } catch (const c10::Error&) {
    fail("has no dual variables");
  }
}

void write_version(torch::serialize::OutputArchive& a, int64_t version) {
  a.write("jeffreys_checkpoint_version", torch::tensor(version));
}

void CheckpointReader::require_version(int64_t expected) {
  torch::Tensor t;
  if (a_.try_read("jeffreys_checkpoint_version", t) || a_.try_read("version", t)) {
    if (t.numel() == 1 && t.item<int64_t>() == expected) return;
    fail("format version " + std::to_string(t.numel() == 1 ? t.item<int64_t>() : -1) + ", this build reads " +
         std::to_string(expected));
  }
  fail("no format version (not a jeffreys checkpoint)");
}

void save_archive(torch::serialize::OutputArchive& a, const std::string& path) {
  try {
    // Serialised in memory first: LibTorch's file writer cannot report a full disk cleanly (its
    // destructor throws again and the process aborts); the one atomic writer of the library can.
    std::ostringstream bytes;
    a.save_to(bytes);
    write_file_atomically(path, bytes.str());
  } catch (const std::exception& e) {
    throw CheckpointError(std::string("checkpoint: ") + e.what());
  }
}

}  // namespace jeffreys::train::detail
