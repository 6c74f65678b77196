// The main job's outputs as users meet them, through the gensar binary on configs/tiny.ini:
// `gensar pipeline --json` runs every stage and returns one JSON summary naming the metrics files
// and the report page; the page is self-contained and, rendered by headless Chromium, shows its
// charts (the screenshot is decoded here and must hold the chart colours, not a blank page);
// `gensar train --json` names where its metrics and checkpoints went.
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kWork = fs::path(GENSAR_BINARY_DIR) / "tests/ops/tiny";

// Runs a shell command; returns its stdout (stderr goes to the test log).
std::string run(const std::string& command, int* status) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) {
    *status = -1;
    return out;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// RGBA pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes).
struct Image {
  uint32_t width = 0, height = 0;
  std::vector<std::array<uint8_t, 3>> pixels;
};

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

Image decode_png(const std::string& file) {
  Image img;
  if (file.size() < 33 || file.compare(1, 3, "PNG") != 0) throw std::runtime_error("not a PNG");
  std::string idat;
  int channels = 0;
  for (size_t at = 8; at + 8 <= file.size();) {
    const uint32_t len = be32(file, at);
    const std::string type = file.substr(at + 4, 4);
    if (type == "IHDR") {
      img.width = be32(file, at + 8);
      img.height = be32(file, at + 12);
      const int depth = uint8_t(file[at + 16]), colour = uint8_t(file[at + 17]);
      if (depth != 8 || (colour != 2 && colour != 6) || file[at + 20] != 0)
        throw std::runtime_error("unsupported PNG layout");
      channels = colour == 6 ? 4 : 3;
    } else if (type == "IDAT") {
      idat += file.substr(at + 8, len);
    }
    at += 12 + len;
  }
  const size_t stride = size_t(img.width) * channels;
  std::vector<uint8_t> raw((stride + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size())
    throw std::runtime_error("PNG data does not inflate to its size");
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  img.pixels.reserve(size_t(img.width) * img.height);
  for (uint32_t y = 0; y < img.height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= size_t(channels) ? cur[x - channels] : 0, b = prev[x],
                c = x >= size_t(channels) ? prev[x - channels] : 0;
      const int pred = filter == 0 ? 0 : filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2
                                                                                     : paeth(a, b, c);
      cur[x] = uint8_t(in[x] + pred);
    }
    for (uint32_t x = 0; x < img.width; ++x)
      img.pixels.push_back({cur[x * channels], cur[x * channels + 1], cur[x * channels + 2]});
    std::swap(prev, cur);
  }
  return img;
}

// Pixels within `tol` of a colour.
size_t pixels_near(const Image& img, std::array<int, 3> rgb, int tol = 24) {
  size_t n = 0;
  for (const auto& p : img.pixels)
    n += std::abs(p[0] - rgb[0]) <= tol && std::abs(p[1] - rgb[1]) <= tol && std::abs(p[2] - rgb[2]) <= tol;
  return n;
}

// One pipeline run for the whole binary: it is the slow part (about a minute).
const json& pipeline_summary() {
  static json summary = [] {
    fs::remove_all(kWork);
    fs::create_directories(kWork);
    int rc = 0;
    const std::string out = run(std::string(GENSAR_EXE) + " pipeline --config " + GENSAR_SOURCE_DIR +
                                    "/configs/tiny.ini --workdir " + kWork.string() +
                                    " --json --log-level warn",
                                &rc);
    EXPECT_EQ(rc, 0) << out;
    try {
      return json::parse(out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "stdout is not one JSON document (" << e.what() << "):\n" << out;
      return json::object();
    }
  }();
  return summary;
}

}  // namespace

TEST(OpsReport, PipelineJsonSummaryNamesMetricsAndReport) {
  const json& s = pipeline_summary();
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s.value("exit_code", -1), 0);
  EXPECT_EQ(s.value("workdir", ""), fs::absolute(kWork).lexically_normal().string());
  std::vector<std::string> ran;
  for (const json& st : s["stages"]) ran.push_back(st.value("stage", "") + ":" + st.value("status", ""));
  EXPECT_EQ(ran, (std::vector<std::string>{"ingest:ran", "embed-text:ran", "embed-collab:ran", "index:ran",
                                           "train:ran", "eval:ran", "baseline-popularity:ran",
                                           "baseline-bm25:ran", "baseline-sasrec:ran",
                                           "baseline-transitions:ran",
                                           "baseline-query-clicks:ran"}));
  for (const char* system : {"gensar", "popularity", "bm25", "sasrec", "transitions", "query-clicks"}) {
    ASSERT_TRUE(s["metrics"].contains(system)) << s.dump(2);
    EXPECT_TRUE(fs::is_regular_file(s["metrics"][system].get<std::string>()));
  }
  EXPECT_TRUE(fs::is_regular_file(s.value("training_metrics", "")));
  EXPECT_EQ(s.value("report", ""), (kWork / "report.html").string());
  // The tables carry 95% intervals for every metric of the model (it has per-case results).
  const json& row = s["tables"]["protocols"]["candidates"]["rows"][0];
  EXPECT_EQ(row.value("system", ""), "tiny");
  for (const auto& [col, v] : row["metrics"].items()) {
    ASSERT_TRUE(row["ci"].contains(col)) << col;
    EXPECT_LE(row["ci"][col][0].get<double>(), v.get<double>() + 1e-12) << col;
    EXPECT_GE(row["ci"][col][1].get<double>(), v.get<double>() - 1e-12) << col;
  }

  // A rerun finds everything up to date and prints the text table and where things are.
  int rc = 0;
  const std::string text = run(std::string(GENSAR_EXE) + " pipeline --config " + GENSAR_SOURCE_DIR +
                                   "/configs/tiny.ini --workdir " + kWork.string() + " --log-level warn",
                               &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(text.find("Test metrics, paper protocol"), std::string::npos) << text;
  EXPECT_NE(text.find("report:  " + (kWork / "report.html").string()), std::string::npos) << text;
  EXPECT_NE(text.find("metrics: " + (kWork / "metrics").string()), std::string::npos) << text;
}

TEST(OpsReport, PageIsSelfContainedAndRendersCharts) {
  ASSERT_TRUE(pipeline_summary().is_object());
  const fs::path page = kWork / "report.html";
  const std::string html = read_file(page);
  ASSERT_FALSE(html.empty());
  // Self-contained: no script, nothing fetched.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  // Curves (loss and validation per task), one bar chart per metric column and protocol, the
  // identifier charts (codes used, perplexity, collisions, RQ-VAE history).
  EXPECT_EQ(count(html, "<table class=\"metrics\">"), 4u);  // rec and search per protocol
  EXPECT_GE(count(html, "<svg class=\"chart bars\""), 2u * 16 + 3);
  EXPECT_GE(count(html, "<polyline class=\"series\""), 7u);  // all tasks + 6 tasks
  for (const char* text : {"training loss per task", "validation per task", "codes used per level",
                           "perplexity per level", "collisions, % of items", "reference"})
    EXPECT_NE(html.find(text), std::string::npos) << text;

  const char* chromium = std::getenv("GENSAR_CHROMIUM");
  std::string browser = chromium ? chromium : "chromium";
  int rc = 0;
  run("command -v " + browser + " > /dev/null", &rc);
  if (rc != 0) GTEST_SKIP() << browser << " not installed (scripts/setup.sh installs Debian's chromium)";
  const fs::path shot = kWork / "report.png";
  fs::remove(shot);
  run(browser + " --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
                "--window-size=1400,2400 --screenshot=" + shot.string() + " file://" +
          fs::absolute(page).string() + " 2>&1",
      &rc);
  ASSERT_EQ(rc, 0);
  ASSERT_TRUE(fs::is_regular_file(shot));
  const Image img = decode_png(read_file(shot));
  EXPECT_EQ(img.width, 1400u);
  EXPECT_EQ(img.height, 2400u);
  // Not blank: a good share of the page is drawn (text, tables, bars), and the chart colours are
  // there: the first series colour (bars, curves) and the baselines' grey bars.
  size_t background = pixels_near(img, {250, 250, 250}, 3) + pixels_near(img, {255, 255, 255}, 2);
  const double drawn = 1.0 - double(background) / img.pixels.size();
  EXPECT_GT(drawn, 0.05) << "drawn share " << drawn;
  EXPECT_GT(pixels_near(img, {0x00, 0x72, 0xB2}), 2000u);  // the model's bars
  EXPECT_GT(pixels_near(img, {0x9a, 0x9a, 0x9a}, 6), 2000u);  // baselines' bars
  EXPECT_GT(pixels_near(img, {0x11, 0x11, 0x11}, 40), 2000u);  // text
}

TEST(OpsReport, TrainJsonSummaryNamesItsFiles) {
  ASSERT_TRUE(pipeline_summary().is_object());
  const fs::path out = kWork / "train-json";
  int rc = 0;
  const std::string text =
      run(std::string(GENSAR_EXE) + " train --config " + GENSAR_SOURCE_DIR + "/configs/train-tiny.ini" +
              " --dataset " + (kWork / "dataset").string() + " --identifiers " +
              (kWork / "identifiers.h5").string() + " --out " + out.string() +
              " --max-steps 2 --valid-every -1 --json --log-level warn",
          &rc);
  ASSERT_EQ(rc, 0) << text;
  const json s = json::parse(text);
  EXPECT_EQ(s.value("status", ""), "finished");
  EXPECT_EQ(s.value("step", -1), 2);
  EXPECT_EQ(s.value("exit_code", -1), 0);
  EXPECT_EQ(s.value("metrics", ""), (out / "metrics.jsonl").string());
  EXPECT_TRUE(fs::is_regular_file(s.value("metrics", "")));
  EXPECT_EQ(s.value("latest", ""), (out / "checkpoints" / "step-2").string());
  EXPECT_TRUE(fs::is_directory(s.value("latest", "")));
}
