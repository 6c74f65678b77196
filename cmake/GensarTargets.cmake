# gensar_library(NAME SOURCES ... DEPS ...): one static library per module folder.
# Torch-heavy libraries share one precompiled header so each file does not re-parse torch.h.
function(gensar_library name)
  cmake_parse_arguments(ARG "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  if(ARG_TORCH)
    target_link_libraries(${name} PUBLIC gensar_torch)
  endif()
endfunction()

# Torch include/link in one place.
add_library(gensar_torch INTERFACE)
target_link_libraries(gensar_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(gensar_torch INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(gensar_torch INTERFACE -Wno-deprecated-declarations)

# One precompiled torch header for the whole tree: parsing torch/torch.h is ~80% of a typical
# translation unit's compile time, so every target that links torch reuses this one PCH
# (gensar_apply_torch_pch, called once all targets exist). -fPIC everywhere keeps the flags of the
# PCH and its users identical (GCC rejects a PCH built with other PIC/PIE settings).
option(GENSAR_TORCH_PCH "Precompile torch/torch.h once and reuse it in every torch target" ON)
add_compile_options(-fPIC)
if(GENSAR_TORCH_PCH)
  add_library(gensar_torch_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cpp)
  target_link_libraries(gensar_torch_pch PRIVATE gensar_torch fmt::fmt)
  target_precompile_headers(gensar_torch_pch PRIVATE <torch/torch.h> <fmt/format.h> <string> <vector>)
endif()

# True when `target` links gensar_torch directly or through one of our own targets.
function(_gensar_links_torch target out)
  set(result OFF)
  get_target_property(libs ${target} LINK_LIBRARIES)
  get_target_property(ilibs ${target} INTERFACE_LINK_LIBRARIES)
  foreach(lib IN LISTS libs ilibs)
    if(lib STREQUAL "gensar_torch")
      set(result ON)
    elseif(TARGET ${lib} AND lib MATCHES "^gensar_" AND NOT lib STREQUAL "gensar_torch_pch")
      get_target_property(type ${lib} TYPE)
      if(NOT type STREQUAL "INTERFACE_LIBRARY")
        _gensar_links_torch(${lib} sub)
        if(sub)
          set(result ON)
        endif()
      endif()
    endif()
    if(result)
      break()
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# Gives every torch-linking C++ target under `dir` the shared PCH.
function(gensar_apply_torch_pch dir)
  if(NOT GENSAR_TORCH_PCH)
    return()
  endif()
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(NOT t STREQUAL "gensar_torch_pch" AND (type STREQUAL "STATIC_LIBRARY" OR
       type STREQUAL "EXECUTABLE" OR type STREQUAL "OBJECT_LIBRARY"))
      _gensar_links_torch(${t} uses)
      if(uses)
        target_precompile_headers(${t} REUSE_FROM gensar_torch_pch)
      endif()
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    gensar_apply_torch_pch(${sub})
  endforeach()
endfunction()

# gensar_test(NAME SOURCES ... DEPS ... [NP n] [LABELS ...] [TIMEOUT s])
# NP > 1 runs the test binary under mpirun with that many ranks.
function(gensar_test name)
  cmake_parse_arguments(ARG "" "NP;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    GENSAR_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    GENSAR_DATASETS_DIR="${PROJECT_SOURCE_DIR}/../shared/datasets"
    GENSAR_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  if(ARG_NP AND ARG_NP GREATER 1)
    add_test(NAME ${name}
      COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe -np ${ARG_NP}
              --bind-to none $<TARGET_FILE:${name}>)
    set(labels mpi ${ARG_LABELS})
  else()
    add_test(NAME ${name} COMMAND ${name})
    set(labels ${ARG_LABELS})
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${labels}"
    ENVIRONMENT "OMP_NUM_THREADS=1;GENSAR_LOG_LEVEL=warn")
endfunction()
