#include "common/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace kvtier {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

void skip_blanks(std::string_view line, size_t& i) {
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
}

bool parse_value(std::string_view text, double& out) {
  if (text == "NaN") {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text == "+Inf" || text == "Inf") {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == "-Inf") {
    out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && !text.empty();
}

// Parses one sample line into `sample`; returns what is wrong, or an empty string.
std::string parse_line(std::string_view line, PrometheusSample& sample) {
  size_t i = 0;
  if (!is_name_start(line[i])) return "metric name expected";
  while (i < line.size() && is_name_char(line[i])) ++i;
  sample.name.assign(line.substr(0, i));
  sample.labels.clear();
  skip_blanks(line, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      skip_blanks(line, i);
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      const size_t name_start = i;
      if (i >= line.size() || !is_name_start(line[i])) return "label name expected";
      while (i < line.size() && is_name_char(line[i])) ++i;
      std::string label_name(line.substr(name_start, i - name_start));
      skip_blanks(line, i);
      if (i >= line.size() || line[i] != '=') return "'=' expected after label " + label_name;
      ++i;
      skip_blanks(line, i);
      if (i >= line.size() || line[i] != '"') return "'\"' expected for label " + label_name;
      ++i;
      std::string value;
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < line.size()) {
          const char e = line[i++];
          value.push_back(e == 'n' ? '\n' : e);
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return "unterminated value of label " + label_name;
      sample.labels.emplace_back(std::move(label_name), std::move(value));
      skip_blanks(line, i);
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      return "',' or '}' expected in labels";
    }
  }
  skip_blanks(line, i);
  size_t end = i;
  while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
  if (end == i) return "value expected";
  if (!parse_value(line.substr(i, end - i), sample.value)) {
    return "bad value '" + std::string(line.substr(i, end - i)) + "'";
  }
  // An optional integer timestamp may follow; readers here sample at their own times.
  return {};
}

std::string_view next_word(std::string_view line, size_t& i) {
  skip_blanks(line, i);
  const size_t start = i;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  return line.substr(start, i - start);
}

PrometheusType parse_type(std::string_view word) {
  static constexpr PrometheusType kAll[] = {
      PrometheusType::kCounter, PrometheusType::kGauge, PrometheusType::kHistogram,
      PrometheusType::kSummary, PrometheusType::kInfo, PrometheusType::kStateset};
  for (PrometheusType t : kAll) {
    if (word == prometheus_type_name(t)) return t;
  }
  return PrometheusType::kUntyped;
}

// The family a sample belongs to: its own name when a `# TYPE` names it, else its name less
// the suffix its family type adds.
PrometheusType family_type(const std::unordered_map<std::string, PrometheusType>& types,
                           const std::string& name) {
  if (types.empty()) return PrometheusType::kUntyped;
  if (auto it = types.find(name); it != types.end()) return it->second;
  for (std::string_view suffix : {"_total", "_bucket", "_sum", "_count", "_created", "_info"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      auto it = types.find(name.substr(0, name.size() - suffix.size()));
      if (it != types.end()) return it->second;
    }
  }
  return PrometheusType::kUntyped;
}

}  // namespace

const char* prometheus_type_name(PrometheusType type) {
  switch (type) {
    case PrometheusType::kCounter:
      return "counter";
    case PrometheusType::kGauge:
      return "gauge";
    case PrometheusType::kHistogram:
      return "histogram";
    case PrometheusType::kSummary:
      return "summary";
    case PrometheusType::kInfo:
      return "info";
    case PrometheusType::kStateset:
      return "stateset";
    case PrometheusType::kUntyped:
      break;
  }
  return "untyped";
}

const std::string* PrometheusSample::label(std::string_view key) const {
  for (const auto& [k, v] : labels) {
    if (k == key) return &v;
  }
  return nullptr;
}

Status for_each_prometheus_sample(std::string_view text,
                                  const std::function<void(const PrometheusSample&)>& visit) {
  PrometheusSample sample;
  std::unordered_map<std::string, PrometheusType> types;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t start = 0;
    skip_blanks(line, start);
    line.remove_prefix(start);
    if (line.empty()) continue;
    if (line.front() == '#') {
      size_t i = 1;
      if (next_word(line, i) == "TYPE") {
        std::string_view family = next_word(line, i);
        if (!family.empty()) types[std::string(family)] = parse_type(next_word(line, i));
      }
      continue;
    }
    if (std::string what = parse_line(line, sample); !what.empty()) {
      return data_loss("metrics line {}: {}: '{}'", line_no, what,
                       line.substr(0, std::min<size_t>(line.size(), 120)));
    }
    sample.type = family_type(types, sample.name);
    visit(sample);
  }
  return Status::ok();
}

Expected<std::vector<PrometheusSample>> parse_prometheus_text(std::string_view text) {
  std::vector<PrometheusSample> samples;
  Status status =
      for_each_prometheus_sample(text, [&](const PrometheusSample& s) { samples.push_back(s); });
  if (!status) return status;
  return samples;
}

}  // namespace kvtier
