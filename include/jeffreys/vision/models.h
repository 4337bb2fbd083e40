#pragma once
/// The convolutional networks of the image experiments: an autoencoder whose latent space the flow
/// and energy model learn, and a classifier whose penultimate features score generated images
/// (FID, precision, recall), as Inception features do for natural images.
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>

namespace jeffreys::vision {

/// Image shape [channels, height, width]; height and width must be multiples of 4 (two stride-2 stages).
struct ImageShape {
  int64_t channels = 1, height = 28, width = 28;
};

/// conv(4, stride 2) ×2 → linear to `latent_dim`, and the mirror image back. The decoder's last
/// activation maps to the data's pixel range: sigmoid for [0, 1], tanh for [-1, 1].
class ConvAutoencoderImpl : public torch::nn::Cloneable<ConvAutoencoderImpl> {
 public:
  ConvAutoencoderImpl(ImageShape shape, int64_t latent_dim, int64_t width = 32, bool symmetric_range = false);
  void reset() override;
  /// [B, C, H, W] → [B, latent_dim].
  torch::Tensor encode(const torch::Tensor& images);
  /// [B, latent_dim] → [B, C, H, W] in the pixel range.
  torch::Tensor decode(const torch::Tensor& codes);
  torch::Tensor forward(const torch::Tensor& images) { return decode(encode(images)); }

  ImageShape shape;
  int64_t latent_dim, width;
  bool symmetric_range;
  torch::nn::Sequential encoder{nullptr}, decoder{nullptr};
};
TORCH_MODULE(ConvAutoencoder);

/// conv(3)-pool ×2 → `features` units → classes. `features()` is the penultimate layer (after ReLU).
class ConvClassifierImpl : public torch::nn::Cloneable<ConvClassifierImpl> {
 public:
  ConvClassifierImpl(ImageShape shape, int64_t classes = 10, int64_t features = 128, double dropout = 0.3);
  void reset() override;
  torch::Tensor features(const torch::Tensor& images);
  /// Logits [B, classes].
  torch::Tensor forward(const torch::Tensor& images);

  ImageShape shape;
  int64_t classes, n_features;
  double dropout;
  torch::nn::Sequential body{nullptr}, head{nullptr};
};
TORCH_MODULE(ConvClassifier);

/// Runs `fn` over `x` in chunks of `batch` rows without gradients and concatenates the results:
/// encoding, decoding and feature extraction of 10^4-10^5 images without one huge activation.
torch::Tensor map_batches(const torch::Tensor& x, int64_t batch,
                          const std::function<torch::Tensor(const torch::Tensor&)>& fn);

}  // namespace jeffreys::vision
