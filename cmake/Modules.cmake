# kvtier_module(NAME DEPS ...) builds every source under src/NAME/ into the static library
# kvtier_NAME, so adding a file needs no edit here. Files under a cuda/ folder (and *.cu files) are
# built only when the CUDA backend is on.
function(kvtier_module name)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS;CUDA_DEPS" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR}/${name})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.cpp ${dir}/*.cu)
  if(KVTIER_HAVE_CUDA)
    list(APPEND M_DEPS ${M_CUDA_DEPS})
  else()
    list(FILTER sources EXCLUDE REGEX "(/cuda/|\\.cu$)")
  endif()
  if(sources)
    add_library(kvtier_${name} STATIC ${sources})
    target_include_directories(kvtier_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(kvtier_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
    if(KVTIER_HAVE_CUDA)
      target_compile_definitions(kvtier_${name} PUBLIC KVTIER_HAVE_CUDA=1)
      set_target_properties(kvtier_${name} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
    endif()
  else()
    add_library(kvtier_${name} INTERFACE)
    target_include_directories(kvtier_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(kvtier_${name} INTERFACE ${M_DEPS} ${M_PRIVATE_DEPS})
  endif()
endfunction()

# kvtier_tests(NAME DEPS ...) builds tests/NAME/*_test.cpp into one GoogleTest binary whose tests
# ctest runs one by one (so `ctest -j` spreads them over the cores).
function(kvtier_tests name)
  cmake_parse_arguments(T "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT sources)
    return()
  endif()
  if(KVTIER_TEST_MODULES AND NOT name IN_LIST KVTIER_TEST_MODULES)
    return()
  endif()
  add_executable(kvtier_${name}_test ${sources})
  target_link_libraries(kvtier_${name}_test PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(kvtier_${name}_test PRIVATE ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(kvtier_${name}_test PRIVATE
    KVTIER_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    KVTIER_BINARY_DIR="${PROJECT_BINARY_DIR}"
    KVTIER_BIN="$<TARGET_FILE:kvtier>")
  if(name STREQUAL "integration")
    add_dependencies(kvtier_${name}_test kvtier)
  endif()
  gtest_discover_tests(kvtier_${name}_test
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT 600)
endfunction()
