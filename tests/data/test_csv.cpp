// Reading CSV tables: a corpus of malformed files, each rejected with a DataError that names the
// file, the line and the column; and valid files in the forms users write them.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "jeffreys/data/csv.h"

namespace dt = jeffreys::data;
namespace fs = std::filesystem;

namespace {

class CsvFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("jeffreys_csv_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  fs::path dir_;
};

struct Malformed {
  std::string file, content;
  /// Substrings the message must hold (after "<path>").
  std::vector<std::string> expected;
  dt::CsvHeader header = dt::CsvHeader::detect;
};

TEST_F(CsvFiles, MalformedInputsNameFileLineAndColumn) {
  using namespace std::string_literals;
  const std::vector<Malformed> corpus = {
      {"wrong_type.csv", "x,y\n1,2\n3,abc\n", {":3: column 2 ('y'): 'abc' is not a number"}},
      {"ragged_long.csv", "1,2\n3,4,5\n", {":2: 3 fields, expected 2 (as on line 1)"}},
      {"ragged_short.csv", "a,b,c\n1,2,3\n4,5\n", {":3: 2 fields, expected 3 (as on line 1)"}},
      {"nan.csv", "1,2\nnan,3\n", {":2: column 1: 'nan' is not a finite number"}},
      {"inf.csv", "x,y\n1,2\n1,-inf\n", {":3: column 2 ('y'): '-inf' is not a finite number"}},
      {"overflow.csv", "1,1e39\n", {":1: column 2: '1e39' is outside +-1e8"}},
      {"huge.csv", "1,1e30\n", {":1: column 2: '1e30' is outside +-1e8 (rescale the data"}},
      {"empty.csv", "", {"empty file"}},
      {"blank.csv", "\n  \n\n", {"empty file"}},
      {"header_only.csv", "x,y\n", {":1: a header line but no data rows"}},
      {"comments_only.csv", "# a\n# b\n", {"no data rows"}},
      {"png.csv", "\x89PNG\r\n\x1a\n"s + std::string(8, '\0') + "IHDR", {":1: column 1: byte 0x89", "binary"}},
      {"nul.csv", "1,2\n3,\0 4\n"s, {":2: column 2: byte 0x00 (NUL)", "binary"}},
      {"bad_utf8.csv", "1,2\n3,4\n5,\xff\n", {":3: column 2: byte 0xFF"}},
      {"empty_field.csv", "1,,2\n", {":1: column 2: empty field"}},
      {"trailing_comma.csv", "1,2,\n", {":1: column 3: empty field"}},
      {"spaces.csv", "1 2\n3 4\n", {":1: column 1: '1 2' is not a number (fields are separated by commas)"}},
      {"counted_lines.csv", "# c\n\nx,y\n1,2\n\n# c\n3,oops\n", {":7: column 2 ('y'): 'oops' is not a number"}},
      {"crlf.csv", "x,y\r\n1,2\r\n3,z\r\n", {":3: column 2 ('y'): 'z' is not a number"}},
      {"not_header.csv", "x,1\n2,3\n", {":1: column 1: 'x' is not a number", "header option"}},
      {"forced_absent.csv", "x,y\n1,2\n", {":1: column 1: 'x' is not a number"}, dt::CsvHeader::absent},
      {"header_ragged.csv", "x,y,z\n1,2\n", {":2: 2 fields, expected 3 (as on line 1)"}},
  };
  ASSERT_GE(corpus.size(), 12u);
  for (const auto& c : corpus) {
    const auto path = write(c.file, c.content);
    try {
      dt::read_csv(path, dt::CsvOptions().header(c.header));
      ADD_FAILURE() << c.file << ": no DataError";
    } catch (const dt::DataError& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(path, 0), 0u) << c.file << ": message should start with the path: " << what;
      for (const auto& s : c.expected) EXPECT_NE(what.find(s), std::string::npos) << c.file << ": '" << s << "' not in: " << what;
    }
  }
}

TEST_F(CsvFiles, MissingFileAndDirectory) {
  const auto missing = (dir_ / "nope.csv").string();
  try {
    dt::read_csv(missing);
    ADD_FAILURE() << "no DataError";
  } catch (const dt::DataError& e) {
    EXPECT_NE(std::string(e.what()).find(missing + ": cannot open file"), std::string::npos) << e.what();
  }
  try {
    dt::read_csv(dir_.string());
    ADD_FAILURE() << "no DataError";
  } catch (const dt::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  // DataError is a std::runtime_error, so generic handlers see it.
  EXPECT_THROW(dt::read_csv(missing), std::runtime_error);
}

TEST_F(CsvFiles, ReadsValidTables) {
  auto expect_table = [&](const std::string& name, const std::string& content, const torch::Tensor& want,
                          dt::CsvOptions options = {}) {
    auto got = dt::read_csv(write(name, content), options);
    EXPECT_EQ(got.scalar_type(), torch::kFloat) << name;
    EXPECT_EQ(got.sizes(), want.sizes()) << name;
    if (got.sizes() == want.sizes()) {
      EXPECT_TRUE(torch::equal(got, want.to(torch::kFloat))) << name << "\n" << got;
    }
  };
  const auto two = torch::tensor({{1.0, 2.0}, {3.5, -0.4}});
  expect_table("header.csv", "x,y\n1,2\n3.5,-4e-1\n", two);
  expect_table("no_header.csv", "1,2\n3.5,-4e-1\n", two);
  expect_table("no_final_newline.csv", "x,y\n1,2\n3.5,-4e-1", two);
  expect_table("comments_spaces.csv", "# made by hand\n  x , y \n\n 1 , 2\n# in between\n\t3.5,\t-0.4 \n\n\n", two);
  expect_table("crlf_bom_quotes.csv", "\xEF\xBB\xBF\"x\",\"y\"\r\n\"1\",2\r\n3.5,-0.4\r\n", two);
  expect_table("one_column.csv", "value\n1\n2\n3\n", torch::tensor({{1.0}, {2.0}, {3.0}}));
  expect_table("one_column_no_header.csv", "1\n-2\n", torch::tensor({{1.0}, {-2.0}}));
  expect_table("forced_header.csv", "1,2\n3.5,-0.4\n", torch::tensor({{3.5, -0.4}}),
               dt::CsvOptions().header(dt::CsvHeader::present));
  expect_table("signs.csv", "+1,1E2,.5,-0,1e-50\n", torch::tensor({{1.0, 100.0, 0.5, 0.0, 0.0}}));
  // Wide rows.
  std::string wide = "a,b,c,d,e,f,g\n", line = "0,1,2,3,4,5,6\n";
  for (int i = 0; i < 50; ++i) wide += line;
  auto w = dt::read_csv(write("wide.csv", wide));
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{50, 7}));
  EXPECT_TRUE(torch::equal(w[49], torch::arange(7, torch::kFloat)));
}

}  // namespace

TEST_F(CsvFiles, GzipCompressedTablesReadAsThePlainOnesAndCorruptOnesAreNamed) {
  const std::string text = "# comment\nx,y\n0.5,-1\n2e-3,4\n";
  const auto plain = write("t.csv", text);
  const auto packed = (dir_ / "t.csv.gz").string();
  gzFile f = gzopen(packed.c_str(), "wb9");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
  EXPECT_TRUE(torch::equal(dt::read_csv(packed), dt::read_csv(plain)));
  // Cut inside the compressed data: zlib's complaint, with the file named.
  std::ifstream in(packed, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto cut = write("cut.csv.gz", bytes.substr(0, bytes.size() / 2));
  try {
    dt::read_csv(cut);
    ADD_FAILURE() << "a truncated gzip file was read";
  } catch (const dt::DataError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(cut + ": ", 0), 0u) << e.what();
  }
}
