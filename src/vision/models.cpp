#include "jeffreys/vision/models.h"

#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace jeffreys::vision {
namespace nn = torch::nn;

namespace {

void check_shape(const ImageShape& s) {
  if (s.channels < 1 || s.height < 4 || s.width < 4 || s.height % 4 != 0 || s.width % 4 != 0)
    throw std::invalid_argument("image networks need C >= 1 and height, width multiples of 4 (two stride-2 stages); got " +
                                std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
                                std::to_string(s.width));
}

void check_input(const ImageShape& s, const torch::Tensor& x, const char* who) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == s.channels && x.size(2) == s.height && x.size(3) == s.width, who,
              ": expected images [B, ", s.channels, ", ", s.height, ", ", s.width, "], got ", x.sizes());
}

}  // namespace

ConvAutoencoderImpl::ConvAutoencoderImpl(ImageShape shape_, int64_t latent_dim_, int64_t width_, bool symmetric_range_)
    : shape(shape_), latent_dim(latent_dim_), width(width_), symmetric_range(symmetric_range_) {
  check_shape(shape);
  if (latent_dim < 1 || width < 1) throw std::invalid_argument("autoencoder: latent_dim and width must be >= 1");
  reset();
}

void ConvAutoencoderImpl::reset() {
  const int64_t w = width, h4 = shape.height / 4, w4 = shape.width / 4, flat = 2 * w * h4 * w4;
  // Stride-2 4×4 convolutions halve the size exactly (padding 1) and their transposes double it,
  // so encoder and decoder mirror each other without cropping.
  encoder = register_module(
      "encoder", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(shape.channels, w, 4).stride(2).padding(1)), nn::SiLU(),
                                nn::Conv2d(nn::Conv2dOptions(w, 2 * w, 4).stride(2).padding(1)), nn::SiLU(),
                                nn::Flatten(), nn::Linear(flat, latent_dim)));
  nn::Sequential dec(nn::Linear(latent_dim, flat), nn::SiLU(), nn::Unflatten(nn::UnflattenOptions(1, {2 * w, h4, w4})),
                     nn::ConvTranspose2d(nn::ConvTranspose2dOptions(2 * w, w, 4).stride(2).padding(1)), nn::SiLU(),
                     nn::ConvTranspose2d(nn::ConvTranspose2dOptions(w, shape.channels, 4).stride(2).padding(1)));
  if (symmetric_range)
    dec->push_back(nn::Tanh());
  else
    dec->push_back(nn::Sigmoid());
  decoder = register_module("decoder", dec);
}

torch::Tensor ConvAutoencoderImpl::encode(const torch::Tensor& images) {
  check_input(shape, images, "autoencoder");
  return encoder->forward(images);
}

torch::Tensor ConvAutoencoderImpl::decode(const torch::Tensor& codes) {
  TORCH_CHECK(codes.dim() == 2 && codes.size(1) == latent_dim, "autoencoder: expected codes [B, ", latent_dim, "], got ",
              codes.sizes());
  return decoder->forward(codes);
}

ConvClassifierImpl::ConvClassifierImpl(ImageShape shape_, int64_t classes_, int64_t features_, double dropout_)
    : shape(shape_), classes(classes_), n_features(features_), dropout(dropout_) {
  check_shape(shape);
  if (classes < 2 || n_features < 1 || dropout < 0 || dropout >= 1)
    throw std::invalid_argument("classifier: classes >= 2, features >= 1 and dropout in [0, 1) required");
  reset();
}

void ConvClassifierImpl::reset() {
  const int64_t flat = 64 * (shape.height / 4) * (shape.width / 4);
  body = register_module(
      "body", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(shape.channels, 32, 3).padding(1)), nn::ReLU(),
                             nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)),
                             nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(),
                             nn::Dropout(dropout), nn::Linear(flat, n_features), nn::ReLU()));
  head = register_module("head", nn::Sequential(nn::Dropout(dropout), nn::Linear(n_features, classes)));
}

torch::Tensor ConvClassifierImpl::features(const torch::Tensor& images) {
  check_input(shape, images, "classifier");
  return body->forward(images);
}

torch::Tensor ConvClassifierImpl::forward(const torch::Tensor& images) { return head->forward(features(images)); }

torch::Tensor map_batches(const torch::Tensor& x, int64_t batch,
                          const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  TORCH_CHECK(batch >= 1, "map_batches: batch must be >= 1");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < x.size(0); i += batch) parts.push_back(fn(x.narrow(0, i, std::min(batch, x.size(0) - i))));
  return torch::cat(parts);
}

}  // namespace jeffreys::vision
