# kiln_add_plugin(NAME SOURCES src...)
#
# Builds a Kiln plugin as a MODULE library named NAME.so. The flags matter:
#   -fvisibility=hidden     only the entry symbol is exported
#   -fno-gnu-unique         no STB_GNU_UNIQUE symbols, which would pin the image
#                           in memory forever and defeat hot swap
#   -Wl,--no-undefined      every symbol resolves at link time, not at dlopen
function(kiln_add_plugin name)
  cmake_parse_arguments(KP "" "" "SOURCES" ${ARGN})
  add_library(${name} MODULE ${KP_SOURCES})
  target_link_libraries(${name} PRIVATE Kiln::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-fno-gnu-unique>)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
endfunction()
