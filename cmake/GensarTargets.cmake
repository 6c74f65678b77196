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

# Torch include/link in one place, with a shared precompiled header.
add_library(gensar_torch INTERFACE)
target_link_libraries(gensar_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(gensar_torch INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(gensar_torch INTERFACE -Wno-deprecated-declarations)

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
