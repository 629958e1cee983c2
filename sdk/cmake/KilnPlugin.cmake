# kiln_add_plugin(NAME SOURCES src...)
#
# Builds a Kiln plugin as a MODULE library named NAME.so. The flags matter:
#   -fvisibility=hidden     only the entry symbol is exported
#   -fno-gnu-unique         no STB_GNU_UNIQUE symbols, which would pin the image
#                           in memory forever and defeat hot swap (GCC only:
#                           other compilers do not emit them)
#   -Wl,--no-undefined      every symbol resolves at link time, not at dlopen
#
# This file is used in Kiln's own tree and installed with the CMake package
# (lib/cmake/Kiln), so third-party plugins get exactly the same rules.
function(kiln_add_plugin name)
  cmake_parse_arguments(KP "" "" "SOURCES" ${ARGN})
  if(NOT KP_SOURCES)
    message(FATAL_ERROR "kiln_add_plugin(${name}): no SOURCES given")
  endif()
  add_library(${name} MODULE ${KP_SOURCES})
  target_link_libraries(${name} PRIVATE Kiln::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${name} PRIVATE $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-fno-gnu-unique>)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
endfunction()

# kiln_add_plugin_test(NAME SOURCES src... PLUGIN plugin_target [LIBS lib...])
#
# A GoogleTest executable for a plugin, registered with ctest as NAME. It
# links Kiln::testing (kiln/testing.hpp) and GoogleTest (GTest::gtest_main,
# found on the system), and compiles with
#   KILN_PLUGIN_PATH  "path/to/PLUGIN.so" (the built plugin)
#   KILN_KILNCTL      the kilnctl the kit drives (set by Kiln::testing)
# so the test loads the plugin through the host's real loader and run path.
# Both can be overridden at run time with the environment variables of the
# same names.
function(kiln_add_plugin_test name)
  cmake_parse_arguments(KT "" "PLUGIN" "SOURCES;LIBS" ${ARGN})
  if(NOT KT_SOURCES OR NOT KT_PLUGIN)
    message(FATAL_ERROR "kiln_add_plugin_test(${name}): give SOURCES and PLUGIN <target>")
  endif()
  if(NOT TARGET GTest::gtest_main)
    find_package(GTest REQUIRED)
  endif()
  add_executable(${name} ${KT_SOURCES})
  target_link_libraries(${name} PRIVATE Kiln::testing GTest::gtest GTest::gtest_main ${KT_LIBS})
  target_compile_features(${name} PRIVATE cxx_std_20)  # designated initializers in KILN_CONFORMANCE_TESTS
  target_compile_definitions(${name} PRIVATE KILN_PLUGIN_PATH="$<TARGET_FILE:${KT_PLUGIN}>")
  add_dependencies(${name} ${KT_PLUGIN})
  add_test(NAME ${name} COMMAND ${name})
endfunction()
