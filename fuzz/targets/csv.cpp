// The CSV reader (data.csv, data.test_csv, sbibm tables) on arbitrary bytes, in each header mode.
#include <torch/torch.h>

#include "fuzz_target.h"
#include "jeffreys/data/csv.h"

namespace {
using namespace jeffreys;

void fuzz_csv(const uint8_t* data, size_t size) {
  const auto dir = fuzz::scratch_dir();
  const auto path = fuzz::write_file(dir, "input.csv", {reinterpret_cast<const char*>(data), size});
  for (auto header : {data::CsvHeader::detect, data::CsvHeader::present, data::CsvHeader::absent}) {
    fuzz::expect_clean(
        [&] {
          const auto t = data::read_csv(path, data::CsvOptions().header(header));
          if (t.dim() != 2 || t.size(0) < 1 || t.size(1) < 1) fuzz::finding("read_csv accepted a table with no cells");
          if (!torch::isfinite(t).all().item<bool>()) fuzz::finding("read_csv accepted a value that is not finite");
        },
        {"input.csv"});
  }
}
}  // namespace

JEFFREYS_FUZZ_TARGET("csv", fuzz_csv)
