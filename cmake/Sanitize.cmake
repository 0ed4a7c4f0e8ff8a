# Sanitizer and fuzzing builds (scripts/run-sanitizers configures one in build-sanitize).
# KVTIER_SANITIZE: every target compiled and linked with AddressSanitizer and UndefinedBehavior-
#   Sanitizer; any UB report ends the program, so a test that triggers one fails.
# KVTIER_FUZZ (clang only, implies KVTIER_SANITIZE): the libFuzzer harnesses of tests/fuzz; the
#   libraries also get libFuzzer's coverage instrumentation (fuzzer-no-link), which the unit tests
#   linked against them simply ignore, so one build serves the fuzzers and the unit tests.
option(KVTIER_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(KVTIER_FUZZ "Build the libFuzzer harnesses (clang; implies KVTIER_SANITIZE)" OFF)
# Empty: every module's unit tests. A list (kv;tokenizer;...) limits which ones a build defines,
# so ctest in a sanitizer build runs exactly the suites that were built.
set(KVTIER_TEST_MODULES "" CACHE STRING "Modules whose unit tests are built (empty: all)")

if(KVTIER_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "KVTIER_FUZZ needs clang (libFuzzer); configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  set(KVTIER_SANITIZE ON)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
endif()
if(KVTIER_SANITIZE)
  set(kvtier_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${kvtier_sanitizers};-fno-omit-frame-pointer>")
  add_link_options(${kvtier_sanitizers})
endif()
