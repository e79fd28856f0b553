# Shared build helpers for hubgate modules, tests and fuzz targets.

# Warnings and sanitizers for one target.
function(hubgate_target_defaults target)
  if(HUBGATE_DEV)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  endif()
  if(HUBGATE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(HUBGATE_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
endfunction()

# hubgate_module(NAME SOURCES ... DEPS ...): a static library `hubgate_NAME` whose public
# headers are included as "NAME/header.hpp" (the include root is src/).
function(hubgate_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(hubgate_${name} STATIC ${M_SOURCES})
  target_include_directories(hubgate_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(hubgate_${name} PUBLIC ${M_DEPS})
  hubgate_target_defaults(hubgate_${name})
endfunction()

# A module that contributes subcommands to the `hubgate` binary adds itself here.
add_library(hubgate_cli_modules INTERFACE)
function(hubgate_cli_module name)
  target_link_libraries(hubgate_cli_modules INTERFACE hubgate_${name})
endfunction()

# hubgate_unit_test(NAME SOURCES ... DEPS ...): one GoogleTest executable, tests discovered.
function(hubgate_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main)
  hubgate_target_defaults(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()

# hubgate_fuzzer(NAME SOURCES ... DEPS ... [SECONDS n] [CORPUS dir]): a libFuzzer-style target
# (defines LLVMFuzzerTestOneInput). Under clang with -DHUBGATE_LIBFUZZER=ON it links libFuzzer;
# otherwise it links tests/fuzz/driver.cpp, a self-contained mutation driver, and is registered
# as a ctest that fuzzes for a bounded time (default 20 s) after replaying its seed corpus.
function(hubgate_fuzzer name)
  cmake_parse_arguments(F "" "SECONDS;CORPUS" "SOURCES;DEPS" ${ARGN})
  if(NOT F_SECONDS)
    set(F_SECONDS 20)
  endif()
  add_executable(${name} ${F_SOURCES})
  target_link_libraries(${name} PRIVATE ${F_DEPS})
  hubgate_target_defaults(${name})
  if(HUBGATE_LIBFUZZER)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  else()
    target_sources(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz/driver.cpp)
    set(args --seconds ${F_SECONDS})
    if(F_CORPUS)
      list(APPEND args --corpus ${F_CORPUS})
    endif()
    add_test(NAME fuzz.${name} COMMAND ${name} ${args})
    set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 300)
  endif()
endfunction()

# Test data made by other implementations (signatures from the reference model-signing, …)
# lives in tests/testdata/, with its README and provenance.
set(HUBGATE_TESTDATA_DIR "${CMAKE_SOURCE_DIR}/tests/testdata")
