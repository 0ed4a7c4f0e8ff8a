#pragma once
// The real PCP tools, found on PATH, run on archives the tests write. pmrep is a Python script
// run by pmpython, which runs the first python3 on PATH: the tool's own folder goes first so
// that python3 is the one PCP's Python module was installed for.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kvtier::monitor::testing {

inline std::string find_on_path(const std::string& tool) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const auto candidate = std::filesystem::path(dir) / tool;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

struct ToolResult {
  int status = -1;
  std::string out;  // stdout and stderr together
};

// Runs `tool args` through the shell with the environment the PCP tools need here.
inline ToolResult run_tool(const std::string& tool, const std::string& args) {
  const std::string exe = find_on_path(tool);
  if (exe.empty()) {
    ADD_FAILURE() << tool << " is not on PATH: install PCP (Debian: apt-get install pcp) to run "
                  << "the monitor tests";
    return {};
  }
  const std::string dir = std::filesystem::path(exe).parent_path().string();
  // No derived metrics: the default set names metrics these archives lack and fills stderr.
  const std::string cmd = "env PCP_DERIVED_CONFIG= PATH='" + dir + ":" +
                          (std::getenv("PATH") ? std::getenv("PATH") : "") + "' " + exe + " " +
                          args + " 2>&1";
  ToolResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int rc = pclose(pipe);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kvtier-monitor-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The CSV rows pmrep prints for `metrics` (raw values: -r), without the header line.
inline std::vector<std::vector<std::string>> pmrep_csv(const std::string& archive,
                                                       const std::string& metrics,
                                                       const std::string& extra = "-r") {
  ToolResult r = run_tool("pmrep", "-a " + archive + " -o csv " + extra + " " + metrics);
  EXPECT_EQ(r.status, 0) << r.out;
  std::vector<std::vector<std::string>> rows;
  std::stringstream lines(r.out);
  std::string line;
  bool header = true;
  while (std::getline(lines, line)) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> cells;
    std::stringstream cs(line);
    std::string cell;
    while (std::getline(cs, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

// The value of `metric` (its instance named `instance`, or the singular value) in each record
// of a pmdumplog listing, "" where the record has none.
inline std::vector<std::string> dumped_values(const std::string& dump, const std::string& metric,
                                              const std::string& instance = "") {
  std::vector<std::string> values;
  std::stringstream lines(dump);
  bool in_metric = false;
  const std::string tag = "(" + metric + "):";
  auto take = [&](const std::string& text) {
    if (!instance.empty() && text.find("\"" + instance + "\"]") == std::string::npos) return;
    const size_t v = text.find("value ");
    if (v != std::string::npos && !values.empty()) values.back() = text.substr(v + 6);
  };
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
        line.find(" metric") != std::string::npos) {
      values.emplace_back();  // a record's header: "HH:MM:SS.uuuuuu N metrics"
      in_metric = false;
      continue;
    }
    if (const size_t at = line.find(tag); at != std::string::npos) {
      const std::string rest = line.substr(at + tag.size());
      in_metric = rest.find("value") == std::string::npos;
      if (!in_metric) take(rest);
    } else if (line.find("):") != std::string::npos) {
      in_metric = false;
    } else if (in_metric && line.find("inst [") != std::string::npos) {
      take(line);
    }
  }
  return values;
}

}  // namespace kvtier::monitor::testing
