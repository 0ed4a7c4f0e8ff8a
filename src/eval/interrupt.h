#pragma once
// SIGINT/SIGTERM to eval: the handler only sets a flag; the main thread, which polls its
// children, sees it, stops the running cell's processes and exits.
#include <atomic>

namespace kvtier::eval {

void install_interrupt_handlers();
bool interrupt_requested();
int interrupt_signal();  // the signal that asked, 0 if none

}  // namespace kvtier::eval
