#pragma once
// `kvtier serve`: starts the HTTP server (answering 503 while the engine loads), the engine, the
// API, and shuts down gracefully on SIGTERM/SIGINT: stop accepting, finish accepted requests
// (up to --shutdown-timeout), abort the rest, exit 0.
#include <string>
#include <vector>

namespace kvtier::server {

// args: everything after `serve`. Returns the process exit code.
int run_serve(const std::vector<std::string>& args);

}  // namespace kvtier::server
